/*
 * smtpsock_auth.c: SMTP AUTH in the driver. The SASL exchanges live in the
 * core (smtp_core/smtp_sasl.c); this file fills the core's crypto table with
 * PHP's own APIs (hash(), hash_hmac(), hash_pbkdf2(), base64, the CSPRNG),
 * applies the policy (no credentials in clear to a non-loopback peer, the
 * mechanism choice), tells OAUTHBEARER which host and port it is talking to,
 * pumps the exchange and reports its outcome (with the status of an
 * OAUTHBEARER error challenge).
 */
#ifdef HAVE_CONFIG_H
# include "config.h"
#endif

#include "php_smtpsock.h"
#include "ext/standard/base64.h"
#include "ext/random/php_random.h"
#include "zend_smart_str.h"
#include "smtp_core/smtp_sasl.h"

/* ---- crypto from PHP ---------------------------------------------------- */

static const char *hash_name(smtp_hash_t alg)
{
	return alg == SMTP_HASH_MD5 ? "md5" : "sha256";
}

/* Call a PHP function by name; retval must be released by the caller. */
static bool call_php(const char *fname, zval *retval, uint32_t argc, zval *argv)
{
	zend_function *fn = zend_hash_str_find_ptr(EG(function_table), fname, strlen(fname));

	ZVAL_UNDEF(retval);
	if (!fn || EG(exception)) {
		return false;
	}
	zend_call_known_function(fn, NULL, NULL, retval, argc, argv, NULL);
	return !EG(exception) && Z_TYPE_P(retval) == IS_STRING;
}

static int copy_digest(zval *rv, unsigned char *out, size_t *out_len)
{
	if (Z_STRLEN_P(rv) > SMTP_HASH_MAX) {
		return -1;
	}
	memcpy(out, Z_STRVAL_P(rv), Z_STRLEN_P(rv));
	*out_len = Z_STRLEN_P(rv);
	return 0;
}

static int php_hash_cb(void *ud, smtp_hash_t alg, const unsigned char *msg, size_t len,
                       unsigned char *out, size_t *out_len)
{
	zval args[3], rv;
	int r = -1;

	(void)ud;
	ZVAL_STRING(&args[0], hash_name(alg));
	ZVAL_STRINGL(&args[1], (const char *)msg, len);
	ZVAL_TRUE(&args[2]);
	if (call_php("hash", &rv, 3, args)) {
		r = copy_digest(&rv, out, out_len);
	}
	zval_ptr_dtor(&rv);
	zval_ptr_dtor(&args[0]);
	zval_ptr_dtor(&args[1]);
	return r;
}

static int php_hmac_cb(void *ud, smtp_hash_t alg, const unsigned char *key, size_t key_len,
                       const unsigned char *msg, size_t len, unsigned char *out, size_t *out_len)
{
	zval args[4], rv;
	int r = -1;

	(void)ud;
	ZVAL_STRING(&args[0], hash_name(alg));
	ZVAL_STRINGL(&args[1], (const char *)msg, len);
	ZVAL_STRINGL(&args[2], (const char *)key, key_len);
	ZVAL_TRUE(&args[3]);
	if (call_php("hash_hmac", &rv, 4, args)) {
		r = copy_digest(&rv, out, out_len);
	}
	zval_ptr_dtor(&rv);
	zval_ptr_dtor(&args[0]);
	zval_ptr_dtor(&args[1]);
	/* the key is a secret: wipe the copy PHP made */
	ZEND_SECURE_ZERO(Z_STRVAL(args[2]), Z_STRLEN(args[2]));
	zval_ptr_dtor(&args[2]);
	return r;
}

static int php_pbkdf2_cb(void *ud, smtp_hash_t alg, const char *pw, size_t pw_len,
                         const unsigned char *salt, size_t salt_len, unsigned iterations,
                         unsigned char *out, size_t out_len)
{
	zval args[6], rv;
	int r = -1;

	(void)ud;
	ZVAL_STRING(&args[0], hash_name(alg));
	ZVAL_STRINGL(&args[1], pw, pw_len);
	ZVAL_STRINGL(&args[2], (const char *)salt, salt_len);
	ZVAL_LONG(&args[3], (zend_long)iterations);
	ZVAL_LONG(&args[4], (zend_long)out_len);
	ZVAL_TRUE(&args[5]);
	if (call_php("hash_pbkdf2", &rv, 6, args) && Z_STRLEN(rv) == out_len) {
		memcpy(out, Z_STRVAL(rv), out_len);
		r = 0;
	}
	if (Z_TYPE(rv) == IS_STRING) {
		ZEND_SECURE_ZERO(Z_STRVAL(rv), Z_STRLEN(rv));
	}
	zval_ptr_dtor(&rv);
	zval_ptr_dtor(&args[0]);
	ZEND_SECURE_ZERO(Z_STRVAL(args[1]), Z_STRLEN(args[1]));
	zval_ptr_dtor(&args[1]);
	zval_ptr_dtor(&args[2]);
	return r;
}

static int php_random_cb(void *ud, unsigned char *out, size_t len)
{
	(void)ud;
	return php_random_bytes(out, len, false) == SUCCESS ? 0 : -1;
}

static int php_b64_encode_cb(void *ud, const unsigned char *in, size_t len, smtp_buf_t *out)
{
	zend_string *b64 = php_base64_encode(in, len);
	int r;

	(void)ud;
	r = smtp_buf_append(out, ZSTR_VAL(b64), ZSTR_LEN(b64)) == SMTP_OK ? 0 : -1;
	ZEND_SECURE_ZERO(ZSTR_VAL(b64), ZSTR_LEN(b64));
	zend_string_efree(b64);
	return r;
}

static int php_b64_decode_cb(void *ud, const char *in, size_t len, smtp_buf_t *out)
{
	zend_string *raw = php_base64_decode_ex((const unsigned char *)in, len, true);
	int r;

	(void)ud;
	if (!raw) {
		return -1;
	}
	r = smtp_buf_append(out, ZSTR_VAL(raw), ZSTR_LEN(raw)) == SMTP_OK ? 0 : -1;
	zend_string_efree(raw);
	return r;
}

static const smtp_crypto_t php_crypto = {
	NULL, php_hash_cb, php_hmac_cb, php_pbkdf2_cb, php_random_cb, php_b64_encode_cb, php_b64_decode_cb
};

/* ---- mechanism names ---------------------------------------------------- */

/* Without an "auth" list: the password mechanisms (a bearer token mechanism
 * only when named). */
#define PASSWORD_MECHS (SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN | SMTP_AUTH_CRAM_MD5 | SMTP_AUTH_SCRAM_SHA_256)
#define LAST_MECH SMTP_AUTH_OAUTHBEARER

int php_smtpsock_mechs_parse(const char *list, size_t len, unsigned *out, const char **bad, size_t *bad_len)
{
	const char *p = list, *end = list + len;
	unsigned mechs = 0;

	while (p < end) {
		const char *b;
		unsigned bit;
		while (p < end && (*p == ' ' || *p == ',' || *p == '\t')) p++;
		b = p;
		while (p < end && *p != ' ' && *p != ',' && *p != '\t') p++;
		if (b == p) {
			continue;
		}
		bit = smtp_auth_mech_bit(b, (size_t)(p - b));
		if (!bit) {
			*bad = b;
			*bad_len = (size_t)(p - b);
			return FAILURE;
		}
		mechs |= bit;
	}
	*out = mechs;
	return SUCCESS;
}

static void mech_list(unsigned mechs, smart_str *out)
{
	unsigned bit;

	for (bit = 1; bit <= LAST_MECH; bit <<= 1) {
		if (mechs & bit) {
			if (out->s && ZSTR_LEN(out->s)) {
				smart_str_appendc(out, ' ');
			}
			smart_str_appends(out, smtp_sasl_mech_name(bit));
		}
	}
	if (!out->s) {
		smart_str_appends(out, "none");
	}
	smart_str_0(out);
}

/* ---- the exchange ------------------------------------------------------- */

/* The host and port of s->host ("name:port", "[v6addr]:port") for
 * OAUTHBEARER's host= and port=; false when it has no such form. */
static bool split_host(const php_smtpsock_session *s, const char **host, size_t *host_len, unsigned *port)
{
	const char *h, *colon, *d;
	zend_ulong p = 0;

	if (!s->host) {
		return false;
	}
	h = ZSTR_VAL(s->host);
	colon = zend_memrchr(h, ':', ZSTR_LEN(s->host));
	if (!colon || colon == h || colon[1] == '\0') {
		return false;
	}
	for (d = colon + 1; *d; d++) {
		if (*d < '0' || *d > '9' || p > 65535) {
			return false;
		}
		p = p * 10 + (zend_ulong)(*d - '0');
	}
	if (p == 0 || p > 65535) {
		return false;
	}
	*host = h;
	*host_len = (size_t)(colon - h);
	if (*host_len >= 2 && h[0] == '[' && colon[-1] == ']') {
		(*host)++;
		*host_len -= 2;
	}
	*port = (unsigned)p;
	return *host_len > 0;
}

/* "AUTH MECH failed" for a failure reply, with what an OAUTHBEARER error
 * challenge said (its status, or why it could not be read). */
static void fail_auth_reply(php_smtpsock_session *s, smtp_sasl_t *sasl, unsigned mech, const smtp_reply_t *r)
{
	const char *text = NULL;
	char what[192];

	switch (smtp_sasl_oauth_error(sasl, &text)) {
	case SMTP_SASL_OAUTH_STATUS:
		snprintf(what, sizeof(what), "AUTH %s failed (status \"%s\")", smtp_sasl_mech_name(mech), text);
		break;
	case SMTP_SASL_OAUTH_MALFORMED:
		snprintf(what, sizeof(what), "AUTH %s failed (malformed error challenge: %s)", smtp_sasl_mech_name(mech), text);
		break;
	default:
		snprintf(what, sizeof(what), "AUTH %s failed", smtp_sasl_mech_name(mech));
		break;
	}
	php_smtpsock_fail_reply(s, what, r);
}

zend_result php_smtpsock_auth(php_smtpsock_session *s, zend_string *user, zend_string *pass, unsigned allowed)
{
	const smtp_caps_t *caps = smtp_client_caps(s->core);
	smtp_sasl_t *sasl;
	smtp_buf_t line;
	smtp_event_t ev;
	const char *trace_text;
	unsigned mech;
	int rc;
	zend_result result = FAILURE;

	if (!s->tls && !s->peer_loopback && !s->cfg.allow_insecure_auth) {
		php_smtpsock_fail(s, "refusing to send credentials to %s over an unencrypted connection "
			"(use STARTTLS or implicit TLS, or set allow_insecure_auth)", ZSTR_VAL(s->host));
		return FAILURE;
	}
	if (!(caps->flags & SMTP_CAP_AUTH)) {
		php_smtpsock_fail(s, "%s does not offer AUTH%s", ZSTR_VAL(s->host),
			s->tls ? "" : " on this unencrypted connection");
		return FAILURE;
	}
	mech = smtp_sasl_choose(caps->auth, allowed ? allowed : PASSWORD_MECHS);
	if (!mech) {
		smart_str off = {0}, al = {0};
		mech_list(caps->auth, &off);
		mech_list(allowed ? allowed : PASSWORD_MECHS, &al);
		php_smtpsock_fail(s, "no usable AUTH mechanism: %s offers %s; allowed: %s",
			ZSTR_VAL(s->host), ZSTR_VAL(off.s), ZSTR_VAL(al.s));
		smart_str_free(&off);
		smart_str_free(&al);
		return FAILURE;
	}
	sasl = smtp_sasl_new(mech, ZSTR_VAL(user), ZSTR_LEN(user), ZSTR_VAL(pass), ZSTR_LEN(pass), &php_crypto);
	smtp_buf_init(&line);
	rc = SMTP_OK;
	if (mech == SMTP_AUTH_OAUTHBEARER) {
		/* RFC 7628 host= and port=: the server as connected to */
		const char *host;
		size_t host_len;
		unsigned port;
		if (split_host(s, &host, &host_len, &port)
			&& (rc = smtp_sasl_set_server(sasl, host, host_len, port)) == SMTP_E_ARG) {
			php_smtpsock_fail(s, "AUTH OAUTHBEARER: the host name %.*s cannot be sent as host= (RFC 7628)",
				(int)host_len, host);
			goto out;
		}
	}
	if (rc == SMTP_OK) {
		rc = smtp_sasl_start(sasl, 512, &line, &trace_text);
	}
	if (rc == SMTP_OK) {
		rc = smtp_client_auth(s->core, line.data + line.off, smtp_buf_size(&line), trace_text);
	}
	if (rc != SMTP_OK) {
		php_smtpsock_fail(s, "AUTH %s: %s%s", smtp_sasl_mech_name(mech), smtp_strerror(rc),
			rc == SMTP_E_ARG && mech == SMTP_AUTH_OAUTHBEARER
				? " (the token must be printable ASCII without spaces, the user name without ^A)" : "");
		goto out;
	}
	for (;;) {
		if (line.data) {
			ZEND_SECURE_ZERO(line.data, line.cap);
		}
		if (php_smtpsock_next_event(s, &ev) == FAILURE) {
			goto out;
		}
		if (ev.intermediate) {
			const char *text = ev.reply->nlines ? ev.reply->text + ev.reply->lines[0].off : "";
			size_t tlen = ev.reply->nlines ? ev.reply->lines[0].len : 0;
			rc = smtp_sasl_step(sasl, text, tlen, &line, &trace_text);
			if (rc == SMTP_OK) {
				rc = smtp_client_auth_response(s->core, line.data ? line.data + line.off : "",
					smtp_buf_size(&line), trace_text);
			}
			if (rc != SMTP_OK) {
				/* a bad challenge: the server is not trusted any more, drop the session */
				php_smtpsock_fail(s, "AUTH %s with %s failed: %s", smtp_sasl_mech_name(mech),
					ZSTR_VAL(s->host), smtp_strerror(rc));
				php_smtpsock_session_close(s);
				goto out;
			}
			continue;
		}
		if (!ev.ok) {
			fail_auth_reply(s, sasl, mech, ev.reply);
			goto out;
		}
		rc = smtp_sasl_finish(sasl);
		if (rc != SMTP_OK) {
			/* 235 without proof that the server knows the password: not the server we meant */
			php_smtpsock_fail(s, "AUTH %s with %s: %s", smtp_sasl_mech_name(mech), ZSTR_VAL(s->host),
				smtp_strerror(rc));
			php_smtpsock_session_close(s);
			goto out;
		}
		s->authed = true;
		result = SUCCESS;
		break;
	}
out:
	if (line.data) {
		ZEND_SECURE_ZERO(line.data, line.cap);
	}
	smtp_buf_free(&line);
	smtp_sasl_free(sasl);
	return result;
}
