/*
 * smtp_sasl: SMTP AUTH client mechanisms (see smtp_sasl.h).
 *
 * Every challenge is untrusted: it is bounded, checked to be base64 here
 * (before the embedding program's decoder sees it) and parsed strictly
 * (OAUTHBEARER's JSON error object by a bounded scanner of its own).
 * Buffers that hold a secret are sized once before the secret is written
 * (so that no realloc leaves a copy behind) and wiped before release.
 *
 * Limitation: SCRAM-SHA-256 uses the password as given (its UTF-8 octets);
 * there is no SASLprep (RFC 4013) normalisation. ASCII passwords and
 * passwords already in NFKC form work; a server that stored a SASLprep'd
 * form of a password whose normalisation differs will refuse it.
 */
#include "smtp_sasl.h"
#include "smtp_caps.h"

#include <string.h>

#define ALL_MECHS (SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN | SMTP_AUTH_CRAM_MD5 | SMTP_AUTH_XOAUTH2 | \
                   SMTP_AUTH_SCRAM_SHA_256 | SMTP_AUTH_OAUTHBEARER)
/* The mechanisms whose secret is a bearer token rather than a password. */
#define TOKEN_MECHS (SMTP_AUTH_XOAUTH2 | SMTP_AUTH_OAUTHBEARER)

/* Octets of random input to the SCRAM client nonce (32 base64 characters). */
#define SCRAM_NONCE_RAW 24
#define SCRAM_NONCE_MAX 64
#define SCRAM_KEY_LEN   32
#define SCRAM_MAX_ITER  1000000u

/* OAUTHBEARER: the longest host sent as "host=" (a DNS name has at most 253). */
#define OAUTH_HOST_MAX 255
/* OAUTHBEARER: how deeply the error challenge's JSON may nest. */
#define JSON_MAX_DEPTH 16

/* Where an exchange stands. */
enum {
	ST_NEW = 0,      /* smtp_sasl_start() not called yet */
	ST_RUN,          /* exchange running */
	ST_DONE,         /* the client said everything it has to say */
	ST_FAILED        /* an error was returned; it sticks */
};

struct smtp_sasl {
	unsigned mech;
	const smtp_crypto_t *crypto;
	char *user;              /* copies of the credentials, NUL-terminated */
	size_t user_len;
	char *pass;
	size_t pass_len;
	int bad_creds;           /* an error for smtp_sasl_start(): NULL or oversized credentials */
	int state;
	int err;                 /* the sticky error (ST_FAILED) */
	int sent_ir;             /* the AUTH line carried the initial response */
	unsigned steps;          /* 334 challenges answered */
	int creds_sent;          /* the response carrying the credentials went out */
	/* SCRAM */
	char nonce[SCRAM_NONCE_MAX + 1];
	size_t nonce_len;
	int have_test_nonce;     /* smtp_sasl_test_set_nonce() (test builds only) */
	char *first_bare;        /* client-first-message-bare */
	size_t first_bare_len;
	unsigned char server_sig[SCRAM_KEY_LEN];
	int verified;            /* server-final v= matched */
	/* OAUTHBEARER */
	char *host;              /* "host=" value, NUL-terminated; NULL: none */
	size_t host_len;
	unsigned port;           /* "port=" value; 0: none */
	smtp_sasl_oauth_t oauth; /* what the error challenge said (NONE: no error challenge) */
	const char *oauth_problem;               /* static text when MALFORMED */
	char status[SMTP_SASL_STATUS_MAX + 1];   /* the status when STATUS, NUL-terminated */
};

/* ---- helpers ------------------------------------------------------------ */

/* Zero n octets in a way the compiler may not drop (stores through a
 * volatile pointer are observable behaviour). */
static void wipe(void *p, size_t n)
{
	volatile unsigned char *v = (volatile unsigned char *)p;

	while (n-- > 0) {
		*v++ = 0;
	}
}

/* Wipe a buffer's whole storage, then release it. */
static void buf_wipe_free(smtp_buf_t *b)
{
	if (b->data != NULL) {
		wipe(b->data, b->cap);
	}
	smtp_buf_free(b);
}

/* Wipe the caller's line buffer and make it empty with room for n octets. */
static int line_prepare(smtp_buf_t *line, size_t n)
{
	if (line->data != NULL) {
		wipe(line->data, line->cap);
	}
	smtp_buf_reset(line);
	return smtp_buf_reserve(line, n);
}

static void free_secret(char **p, size_t *len)
{
	if (*p != NULL) {
		wipe(*p, *len + 1);
		smtp_free(*p);
		*p = NULL;
	}
	*len = 0;
}

/* Length of the base64 text for n octets (n is bounded by the callers). */
static size_t b64_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

static int is_b64_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

static unsigned b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z') {
		return (unsigned)(c - 'A');
	}
	if (c >= 'a' && c <= 'z') {
		return (unsigned)(c - 'a' + 26);
	}
	if (c >= '0' && c <= '9') {
		return (unsigned)(c - '0' + 52);
	}
	return c == '+' ? 62u : 63u;
}

/* Is in[0..len) canonical standard padded base64 (RFC 4648 section 4, no
 * line breaks or white space)? On success *raw gets the decoded size. */
static int b64_valid(const char *in, size_t len, size_t *raw)
{
	size_t i, pad = 0;

	if (len % 4 != 0) {
		return 0;
	}
	if (len > 0 && in[len - 1] == '=') {
		pad = (len > 1 && in[len - 2] == '=') ? 2 : 1;
	}
	for (i = 0; i < len - pad; i++) {
		if (!is_b64_char((unsigned char)in[i])) {
			return 0;
		}
	}
	/* canonical: the bits beyond the data in the last character are zero */
	if (pad > 0 && (b64_value((unsigned char)in[len - pad - 1]) & (pad == 2 ? 0x0f : 0x03)) != 0) {
		return 0;
	}
	*raw = len / 4 * 3 - pad;
	return 1;
}

/* Append base64(in) to out; out must already have room (no realloc then). */
static int b64_encode(smtp_sasl_t *s, const unsigned char *in, size_t len, smtp_buf_t *out)
{
	size_t before = smtp_buf_size(out);

	if (s->crypto->b64_encode(s->crypto->ud, in, len, out) != 0) {
		return SMTP_E_SASL_CRYPTO;
	}
	if (smtp_buf_size(out) - before != b64_len(len)) {
		return SMTP_E_SASL_CRYPTO;
	}
	return SMTP_OK;
}

/* Decode a challenge into out (replaced): syntax checked here first, then the
 * embedding program's decoder, whose result must have the expected size. */
static int b64_decode(smtp_sasl_t *s, const char *in, size_t len, smtp_buf_t *out)
{
	size_t raw;
	int rc;

	smtp_buf_reset(out);
	if (len > SMTP_REPLY_MAX_LINE || !b64_valid(in, len, &raw)) {
		return SMTP_E_SASL_CHALLENGE;
	}
	if (len == 0) {
		return SMTP_OK;
	}
	if ((rc = smtp_buf_reserve(out, raw + 1)) != SMTP_OK) {
		return rc;
	}
	if (s->crypto->b64_decode(s->crypto->ud, in, len, out) != 0) {
		/* the text was checked above: the decoder is at fault */
		return SMTP_E_SASL_CRYPTO;
	}
	if (smtp_buf_size(out) != raw) {
		return SMTP_E_SASL_CRYPTO;
	}
	return SMTP_OK;
}

static int do_hmac(smtp_sasl_t *s, smtp_hash_t alg, const unsigned char *key, size_t key_len,
                   const unsigned char *msg, size_t len, unsigned char *out, size_t want)
{
	size_t got = 0;

	if (s->crypto->hmac(s->crypto->ud, alg, key, key_len, msg, len, out, &got) != 0 || got != want) {
		return SMTP_E_SASL_CRYPTO;
	}
	return SMTP_OK;
}

static int do_hash(smtp_sasl_t *s, smtp_hash_t alg, const unsigned char *msg, size_t len,
                   unsigned char *out, size_t want)
{
	size_t got = 0;

	if (s->crypto->hash(s->crypto->ud, alg, msg, len, out, &got) != 0 || got != want) {
		return SMTP_E_SASL_CRYPTO;
	}
	return SMTP_OK;
}

/* Record an error; it sticks. */
static int fail(smtp_sasl_t *s, int rc)
{
	s->state = ST_FAILED;
	s->err = rc;
	return rc;
}

/* A response line: base64(raw), with the whole line checked against the
 * AUTH line limit (CRLF included). */
static int respond_b64(smtp_sasl_t *s, const unsigned char *raw, size_t len, smtp_buf_t *line)
{
	size_t n = b64_len(len);
	int rc;

	if (n + 2 > SMTP_MAX_AUTH_LINE) {
		return SMTP_E_TOO_LONG;
	}
	if ((rc = line_prepare(line, n + 1)) != SMTP_OK) {
		return rc;
	}
	return b64_encode(s, raw, len, line);
}

static int respond_empty(smtp_buf_t *line)
{
	return line_prepare(line, 0);
}

/* ---- mechanism selection -------------------------------------------------- */

unsigned smtp_sasl_choose(unsigned offered, unsigned allowed)
{
	static const unsigned order[] = {
		SMTP_AUTH_SCRAM_SHA_256, SMTP_AUTH_CRAM_MD5, SMTP_AUTH_PLAIN, SMTP_AUTH_LOGIN
	};
	unsigned usable = offered & allowed;
	size_t i;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (usable & order[i]) {
			return order[i];
		}
	}
	/* a token is not a password: token mechanisms only when nothing else is allowed */
	if ((allowed & ALL_MECHS) != 0 && (allowed & ALL_MECHS & ~TOKEN_MECHS) == 0) {
		if (usable & SMTP_AUTH_OAUTHBEARER) {
			return SMTP_AUTH_OAUTHBEARER;
		}
		if (usable & SMTP_AUTH_XOAUTH2) {
			return SMTP_AUTH_XOAUTH2;
		}
	}
	return 0;
}

const char *smtp_sasl_mech_name(unsigned mech)
{
	switch (mech) {
	case SMTP_AUTH_PLAIN:         return "PLAIN";
	case SMTP_AUTH_LOGIN:         return "LOGIN";
	case SMTP_AUTH_CRAM_MD5:      return "CRAM-MD5";
	case SMTP_AUTH_XOAUTH2:       return "XOAUTH2";
	case SMTP_AUTH_SCRAM_SHA_256: return "SCRAM-SHA-256";
	case SMTP_AUTH_OAUTHBEARER:   return "OAUTHBEARER";
	default:                      return NULL;
	}
}

/* ---- life cycle ------------------------------------------------------------ */

static char *copy_secret(const char *p, size_t len)
{
	char *c = (char *)smtp_malloc(len + 1);

	if (c != NULL) {
		if (len > 0) {
			memcpy(c, p, len);
		}
		c[len] = '\0';
	}
	return c;
}

smtp_sasl_t *smtp_sasl_new(unsigned mech, const char *user, size_t user_len,
                           const char *pass, size_t pass_len, const smtp_crypto_t *crypto)
{
	smtp_sasl_t *s = (smtp_sasl_t *)smtp_malloc(sizeof(*s));

	if (s == NULL) {
		return NULL;
	}
	memset(s, 0, sizeof(*s));
	s->mech = mech;
	s->crypto = crypto;
	if (user == NULL || pass == NULL || user_len > SMTP_MAX_AUTH_LINE || pass_len > SMTP_MAX_AUTH_LINE) {
		/* refused by smtp_sasl_start(); nothing is copied */
		s->bad_creds = (user == NULL || pass == NULL) ? SMTP_E_ARG : SMTP_E_TOO_LONG;
		user_len = 0;
		pass_len = 0;
	}
	s->user = copy_secret(user, user_len);
	s->user_len = user_len;
	s->pass = copy_secret(pass, pass_len);
	s->pass_len = pass_len;
	if (s->user == NULL || s->pass == NULL) {
		smtp_sasl_free(s);
		return NULL;
	}
	return s;
}

void smtp_sasl_free(smtp_sasl_t *s)
{
	if (s == NULL) {
		return;
	}
	free_secret(&s->user, &s->user_len);
	free_secret(&s->pass, &s->pass_len);
	free_secret(&s->first_bare, &s->first_bare_len);
	free_secret(&s->host, &s->host_len);
	wipe(s, sizeof(*s));
	smtp_free(s);
}

/* Printable ASCII without space: VCHAR (RFC 5234). */
static int is_vchar(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e;
}

int smtp_sasl_set_server(smtp_sasl_t *s, const char *host, size_t host_len, unsigned port)
{
	char *copy = NULL;
	size_t i;

	if (s == NULL) {
		return SMTP_E_NOMEM;
	}
	if (s->state == ST_FAILED) {
		return s->err;
	}
	if (s->state != ST_NEW) {
		return SMTP_E_STATE;
	}
	if (port > 65535 || (host == NULL && host_len > 0) ||
	    (host != NULL && (host_len == 0 || host_len > OAUTH_HOST_MAX))) {
		return fail(s, SMTP_E_ARG);
	}
	for (i = 0; host != NULL && i < host_len; i++) {
		if (!is_vchar((unsigned char)host[i])) {
			return fail(s, SMTP_E_ARG);
		}
	}
	if (host != NULL && (copy = copy_secret(host, host_len)) == NULL) {
		return fail(s, SMTP_E_NOMEM);
	}
	free_secret(&s->host, &s->host_len);
	s->host = copy;
	s->host_len = copy != NULL ? host_len : 0;
	s->port = port;
	return SMTP_OK;
}

#ifdef SMTP_SASL_TEST_HOOKS
int smtp_sasl_test_set_nonce(smtp_sasl_t *s, const char *nonce, size_t len)
{
	if (s == NULL || len == 0 || len > SCRAM_NONCE_MAX) {
		return SMTP_E_ARG;
	}
	memcpy(s->nonce, nonce, len);
	s->nonce[len] = '\0';
	s->nonce_len = len;
	s->have_test_nonce = 1;
	return SMTP_OK;
}
#endif

/* ---- credentials check ------------------------------------------------- */

static int has_octet(const char *p, size_t len, char c)
{
	return len > 0 && memchr(p, c, len) != NULL;
}

/* SMTP_OK when the mechanism can carry these credentials. */
static int check_creds(const smtp_sasl_t *s)
{
	if (smtp_sasl_mech_name(s->mech) == NULL || s->crypto == NULL) {
		return SMTP_E_ARG;
	}
	if (s->bad_creds != SMTP_OK) {
		return s->bad_creds;
	}
	if (s->user_len == 0 || has_octet(s->user, s->user_len, '\0')) {
		return SMTP_E_ARG;
	}
	switch (s->mech) {
	case SMTP_AUTH_PLAIN:
		/* RFC 4616: NUL separates the fields */
		if (has_octet(s->pass, s->pass_len, '\0')) {
			return SMTP_E_ARG;
		}
		break;
	case SMTP_AUTH_XOAUTH2:
		/* ^A separates the fields; a token is printable */
		if (s->pass_len == 0 || has_octet(s->user, s->user_len, '\x01') ||
		    has_octet(s->pass, s->pass_len, '\x01') || has_octet(s->pass, s->pass_len, '\0')) {
			return SMTP_E_ARG;
		}
		break;
	case SMTP_AUTH_OAUTHBEARER: {
		/* ^A separates the fields; a bearer token is a b64token (RFC 6750
		 * section 2.1): printable ASCII, no space */
		size_t i;

		if (s->pass_len == 0 || has_octet(s->user, s->user_len, '\x01')) {
			return SMTP_E_ARG;
		}
		for (i = 0; i < s->pass_len; i++) {
			if (!is_vchar((unsigned char)s->pass[i])) {
				return SMTP_E_ARG;
			}
		}
		break;
	}
	default:
		break;
	}
	return SMTP_OK;
}

/* ---- PLAIN, XOAUTH2, OAUTHBEARER: the client's message -------------------- */

/* Decimal digits of port (1 to 65535) into out; their number. */
static size_t port_digits(unsigned port, char out[5])
{
	char tmp[5];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + port % 10);
		port /= 10;
	} while (port > 0 && n < sizeof(tmp));
	for (i = 0; i < n; i++) {
		out[i] = tmp[n - 1 - i];
	}
	return n;
}

/* Size of the user name as an RFC 5801 saslname: ',' and '=' become "=2C"
 * and "=3D". */
static size_t saslname_len(const char *p, size_t len)
{
	size_t i, n = len;

	for (i = 0; i < len; i++) {
		if (p[i] == ',' || p[i] == '=') {
			n += 2;
		}
	}
	return n;
}

/* Size of the OAUTHBEARER initial client response (RFC 7628 section 3.1). */
static size_t oauth_message_len(const smtp_sasl_t *s)
{
	size_t n = 4 + saslname_len(s->user, s->user_len) + 2;   /* "n,a=" user "," ^A */

	if (s->host != NULL) {
		n += 5 + s->host_len + 1;                             /* "host=" host ^A */
	}
	if (s->port != 0) {
		char digits[5];

		n += 5 + port_digits(s->port, digits) + 1;            /* "port=" port ^A */
	}
	return n + 12 + s->pass_len + 2;                          /* "auth=Bearer " token ^A ^A */
}

/* The OAUTHBEARER initial client response into raw (sized once):
 * gs2-header "n,a=" saslname "," (no channel binding; the user name as
 * authorization identity), ^A, then "key=value" ^A for host, port and auth,
 * then a closing ^A. */
static int oauth_message(const smtp_sasl_t *s, smtp_buf_t *raw)
{
	size_t i, start;
	int rc;

	if ((rc = smtp_buf_reserve(raw, oauth_message_len(s))) != SMTP_OK) {
		return rc;
	}
	smtp_buf_append(raw, "n,a=", 4);
	for (i = start = 0; i <= s->user_len; i++) {
		if (i == s->user_len || s->user[i] == ',' || s->user[i] == '=') {
			smtp_buf_append(raw, s->user + start, i - start);
			if (i < s->user_len) {
				smtp_buf_append(raw, s->user[i] == ',' ? "=2C" : "=3D", 3);
			}
			start = i + 1;
		}
	}
	smtp_buf_append(raw, ",\x01", 2);
	if (s->host != NULL) {
		smtp_buf_append(raw, "host=", 5);
		smtp_buf_append(raw, s->host, s->host_len);
		smtp_buf_append(raw, "\x01", 1);
	}
	if (s->port != 0) {
		char digits[5];
		size_t nd = port_digits(s->port, digits);

		smtp_buf_append(raw, "port=", 5);
		smtp_buf_append(raw, digits, nd);
		smtp_buf_append(raw, "\x01", 1);
	}
	smtp_buf_append(raw, "auth=Bearer ", 12);
	smtp_buf_append(raw, s->pass, s->pass_len);
	smtp_buf_append(raw, "\x01\x01", 2);
	return SMTP_OK;
}

/* The raw (not yet base64) message of PLAIN, XOAUTH2 or OAUTHBEARER into raw
 * (sized once). */
static int build_message(const smtp_sasl_t *s, smtp_buf_t *raw)
{
	static const char nul = '\0';
	int rc;

	if (s->mech == SMTP_AUTH_PLAIN) {
		if ((rc = smtp_buf_reserve(raw, s->user_len + s->pass_len + 2)) != SMTP_OK) {
			return rc;
		}
		/* authzid empty: "" NUL authcid NUL passwd (RFC 4616 section 2) */
		smtp_buf_append(raw, &nul, 1);
		smtp_buf_append(raw, s->user, s->user_len);
		smtp_buf_append(raw, &nul, 1);
		smtp_buf_append(raw, s->pass, s->pass_len);
		return SMTP_OK;
	}
	if (s->mech == SMTP_AUTH_OAUTHBEARER) {
		return oauth_message(s, raw);
	}
	/* XOAUTH2: "user=" user ^A "auth=Bearer " token ^A ^A */
	if ((rc = smtp_buf_reserve(raw, s->user_len + s->pass_len + 20)) != SMTP_OK) {
		return rc;
	}
	smtp_buf_append(raw, "user=", 5);
	smtp_buf_append(raw, s->user, s->user_len);
	smtp_buf_append(raw, "\x01" "auth=Bearer ", 13);
	smtp_buf_append(raw, s->pass, s->pass_len);
	smtp_buf_append(raw, "\x01\x01", 2);
	return SMTP_OK;
}

/* ---- SCRAM-SHA-256: client-first ----------------------------------------- */

/* A nonce character: printable ASCII but ',' (RFC 5802 "printable"). */
static int is_printable(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e && c != ',';
}

static int scram_make_nonce(smtp_sasl_t *s)
{
	unsigned char rnd[SCRAM_NONCE_RAW];
	smtp_buf_t b;
	int rc;

	if (s->crypto->random(s->crypto->ud, rnd, sizeof(rnd)) != 0) {
		wipe(rnd, sizeof(rnd));
		return SMTP_E_SASL_CRYPTO;
	}
	if (s->have_test_nonce) {
		wipe(rnd, sizeof(rnd));
		return SMTP_OK;
	}
	smtp_buf_init(&b);
	rc = smtp_buf_reserve(&b, b64_len(sizeof(rnd)) + 1);
	if (rc == SMTP_OK) {
		rc = b64_encode(s, rnd, sizeof(rnd), &b);
	}
	wipe(rnd, sizeof(rnd));
	if (rc == SMTP_OK) {
		size_t i;

		/* base64 of 24 octets has no padding: all printable, no ',' */
		for (i = 0; i < smtp_buf_size(&b); i++) {
			if (!is_printable((unsigned char)b.data[i]) || b.data[i] == '=') {
				rc = SMTP_E_SASL_CRYPTO;
			}
		}
	}
	if (rc == SMTP_OK) {
		memcpy(s->nonce, b.data, smtp_buf_size(&b));
		s->nonce_len = smtp_buf_size(&b);
		s->nonce[s->nonce_len] = '\0';
	}
	buf_wipe_free(&b);
	return rc;
}

/* client-first-message-bare: "n=" saslname ",r=" nonce. */
static int scram_client_first(smtp_sasl_t *s)
{
	size_t i, n = 2 + 3 * s->user_len + 3 + s->nonce_len;
	char *p, *o;

	p = (char *)smtp_malloc(n + 1);
	if (p == NULL) {
		return SMTP_E_NOMEM;
	}
	o = p;
	*o++ = 'n';
	*o++ = '=';
	for (i = 0; i < s->user_len; i++) {
		char c = s->user[i];

		if (c == '=') {
			memcpy(o, "=3D", 3);
			o += 3;
		} else if (c == ',') {
			memcpy(o, "=2C", 3);
			o += 3;
		} else {
			*o++ = c;
		}
	}
	memcpy(o, ",r=", 3);
	o += 3;
	memcpy(o, s->nonce, s->nonce_len);
	o += s->nonce_len;
	*o = '\0';
	s->first_bare = p;
	s->first_bare_len = (size_t)(o - p);
	return SMTP_OK;
}

/* The client's first message (PLAIN, XOAUTH2, OAUTHBEARER, SCRAM) into raw, not yet base64. */
static int client_message(const smtp_sasl_t *s, smtp_buf_t *raw)
{
	int rc;

	if (s->mech != SMTP_AUTH_SCRAM_SHA_256) {
		return build_message(s, raw);
	}
	/* gs2-header "n,," (no channel binding, no authzid) + client-first-message-bare */
	if ((rc = smtp_buf_reserve(raw, 3 + s->first_bare_len)) != SMTP_OK) {
		return rc;
	}
	smtp_buf_append(raw, "n,,", 3);
	smtp_buf_append(raw, s->first_bare, s->first_bare_len);
	return SMTP_OK;
}

/* Size of client_message(). */
static size_t client_message_len(const smtp_sasl_t *s)
{
	switch (s->mech) {
	case SMTP_AUTH_PLAIN:         return s->user_len + s->pass_len + 2;
	case SMTP_AUTH_XOAUTH2:       return s->user_len + s->pass_len + 20;
	case SMTP_AUTH_SCRAM_SHA_256: return 3 + s->first_bare_len;
	case SMTP_AUTH_OAUTHBEARER:   return oauth_message_len(s);
	default:                      return 0;
	}
}

/* The client's first message as a response line. */
static int message_response(smtp_sasl_t *s, smtp_buf_t *line)
{
	smtp_buf_t raw;
	int rc;

	smtp_buf_init(&raw);
	rc = client_message(s, &raw);
	if (rc == SMTP_OK) {
		rc = respond_b64(s, (const unsigned char *)raw.data, smtp_buf_size(&raw), line);
	}
	buf_wipe_free(&raw);
	return rc;
}

/* ---- start ------------------------------------------------------------------- */

int smtp_sasl_start(smtp_sasl_t *s, size_t max_line, smtp_buf_t *line, const char **trace_text)
{
	static const struct {
		unsigned mech;
		const char *bare;      /* "AUTH MECH" */
		const char *with_ir;   /* trace text with an initial response */
	} texts[] = {
		{ SMTP_AUTH_PLAIN, "AUTH PLAIN", "AUTH PLAIN ***" },
		{ SMTP_AUTH_LOGIN, "AUTH LOGIN", "AUTH LOGIN ***" },
		{ SMTP_AUTH_CRAM_MD5, "AUTH CRAM-MD5", "AUTH CRAM-MD5 ***" },
		{ SMTP_AUTH_XOAUTH2, "AUTH XOAUTH2", "AUTH XOAUTH2 ***" },
		{ SMTP_AUTH_SCRAM_SHA_256, "AUTH SCRAM-SHA-256", "AUTH SCRAM-SHA-256 ***" },
		{ SMTP_AUTH_OAUTHBEARER, "AUTH OAUTHBEARER", "AUTH OAUTHBEARER ***" }
	};
	const char *bare = "AUTH", *with_ir = "AUTH ***";
	size_t i, bare_len, ir_len = 0, longest;
	int rc, has_ir;
	smtp_buf_t raw;

	if (trace_text != NULL) {
		*trace_text = "AUTH ***";
	}
	if (s == NULL) {
		return SMTP_E_NOMEM;   /* smtp_sasl_new() returned NULL */
	}
	if (s->state == ST_FAILED) {
		return s->err;
	}
	if (s->state != ST_NEW) {
		return SMTP_E_STATE;
	}
	if (line == NULL) {
		return SMTP_E_ARG;
	}
	if ((rc = check_creds(s)) != SMTP_OK) {
		return fail(s, rc);
	}
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		if (texts[i].mech == s->mech) {
			bare = texts[i].bare;
			with_ir = texts[i].with_ir;
		}
	}
	bare_len = strlen(bare);
	if (max_line > SMTP_MAX_AUTH_LINE) {
		max_line = SMTP_MAX_AUTH_LINE;
	}
	if (s->mech == SMTP_AUTH_SCRAM_SHA_256 &&
	    ((rc = scram_make_nonce(s)) != SMTP_OK || (rc = scram_client_first(s)) != SMTP_OK)) {
		return fail(s, rc);
	}

	/* the longest response the exchange will send must fit a line: refuse now
	 * rather than after a round trip */
	switch (s->mech) {
	case SMTP_AUTH_LOGIN:
		longest = b64_len(s->user_len > s->pass_len ? s->user_len : s->pass_len);
		break;
	case SMTP_AUTH_CRAM_MD5:
		longest = b64_len(s->user_len + 33);
		break;
	default:
		ir_len = b64_len(client_message_len(s));
		longest = ir_len;
		break;
	}
	if (longest + 2 > SMTP_MAX_AUTH_LINE) {
		return fail(s, SMTP_E_TOO_LONG);
	}
	has_ir = ir_len > 0 && bare_len + 1 + ir_len + 2 <= max_line;

	if ((rc = line_prepare(line, bare_len + (has_ir ? 1 + ir_len : 0) + 1)) != SMTP_OK) {
		return fail(s, rc);
	}
	smtp_buf_append(line, bare, bare_len);
	if (has_ir) {
		smtp_buf_append(line, " ", 1);
		smtp_buf_init(&raw);
		rc = client_message(s, &raw);
		if (rc == SMTP_OK) {
			rc = b64_encode(s, (const unsigned char *)raw.data, smtp_buf_size(&raw), line);
		}
		buf_wipe_free(&raw);
		if (rc != SMTP_OK) {
			wipe(line->data, line->cap);
			smtp_buf_reset(line);
			return fail(s, rc);
		}
		s->sent_ir = 1;
		if (s->mech != SMTP_AUTH_SCRAM_SHA_256) {
			s->creds_sent = 1;
		}
	}
	if (trace_text != NULL) {
		*trace_text = has_ir ? with_ir : bare;
	}
	s->state = ST_RUN;
	return SMTP_OK;
}

/* ---- SCRAM-SHA-256: server-first and server-final -------------------------- */

typedef struct {
	const char *p;
	size_t len;
} span_t;

/* Is [p, p+len) one attribute "a=value" with value made of value-chars
 * (any octet but NUL and ','; the caller split at ',')? */
static int attr_ok(const char *p, size_t len)
{
	size_t i;

	if (len < 2 || !((p[0] >= 'a' && p[0] <= 'z') || (p[0] >= 'A' && p[0] <= 'Z')) || p[1] != '=') {
		return 0;
	}
	for (i = 2; i < len; i++) {
		if (p[i] == '\0') {
			return 0;
		}
	}
	return 1;
}

/* Split msg at ',' into at most max attributes; 0 when there are more or one
 * is malformed. */
static size_t split_attrs(const char *msg, size_t len, span_t *out, size_t max)
{
	size_t n = 0, start = 0, i;

	for (i = 0; i <= len; i++) {
		if (i == len || msg[i] == ',') {
			if (n == max || !attr_ok(msg + start, i - start)) {
				return 0;
			}
			out[n].p = msg + start;
			out[n].len = i - start;
			n++;
			start = i + 1;
		}
	}
	return n;
}

/* Extensions after the mandatory attributes: must not be "m" (RFC 5802
 * section 5.1: a mandatory extension this client does not know). */
static int extensions_ok(const span_t *a, size_t from, size_t n)
{
	size_t i;

	for (i = from; i < n; i++) {
		if (a[i].p[0] == 'm') {
			return 0;
		}
	}
	return 1;
}

/* Iteration count: posit-number, 1 .. SCRAM_MAX_ITER. */
static int parse_iter(const char *p, size_t len, unsigned *out)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > 7 || p[0] < '1' || p[0] > '9') {
		return 0;
	}
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9') {
			return 0;
		}
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	if (v < 1 || v > SCRAM_MAX_ITER) {
		return 0;
	}
	*out = (unsigned)v;
	return 1;
}

#define SCRAM_MAX_ATTRS 32

/* server-first-message -> client-final-message (into raw_final). */
static int scram_server_first(smtp_sasl_t *s, const char *msg, size_t len, smtp_buf_t *line)
{
	span_t a[SCRAM_MAX_ATTRS];
	size_t n, i;
	span_t nonce, salt_b64;
	unsigned iter = 0;
	smtp_buf_t salt, authmsg, final;
	unsigned char salted[SCRAM_KEY_LEN], client_key[SCRAM_KEY_LEN], stored_key[SCRAM_KEY_LEN];
	unsigned char client_sig[SCRAM_KEY_LEN], server_key[SCRAM_KEY_LEN];
	size_t without_proof_len, proof_b64 = b64_len(SCRAM_KEY_LEN);
	int rc;

	n = split_attrs(msg, len, a, SCRAM_MAX_ATTRS);
	if (n == 0) {
		return SMTP_E_SASL_CHALLENGE;
	}
	if (a[0].p[0] == 'm') {
		/* reserved-mext: a mandatory extension this client does not support */
		return SMTP_E_SASL_SERVER;
	}
	if (n < 3 || a[0].p[0] != 'r' || a[1].p[0] != 's' || a[2].p[0] != 'i') {
		return SMTP_E_SASL_CHALLENGE;
	}
	if (!extensions_ok(a, 3, n)) {
		return SMTP_E_SASL_SERVER;
	}
	nonce.p = a[0].p + 2;
	nonce.len = a[0].len - 2;
	salt_b64.p = a[1].p + 2;
	salt_b64.len = a[1].len - 2;
	/* the nonce: printable, the client's nonce followed by the server's part */
	for (i = 0; i < nonce.len; i++) {
		if (!is_printable((unsigned char)nonce.p[i])) {
			return SMTP_E_SASL_SERVER;
		}
	}
	if (nonce.len <= s->nonce_len || memcmp(nonce.p, s->nonce, s->nonce_len) != 0) {
		return SMTP_E_SASL_SERVER;
	}
	if (!parse_iter(a[2].p + 2, a[2].len - 2, &iter)) {
		return SMTP_E_SASL_SERVER;
	}
	smtp_buf_init(&salt);
	smtp_buf_init(&authmsg);
	smtp_buf_init(&final);
	rc = b64_decode(s, salt_b64.p, salt_b64.len, &salt);
	if (rc == SMTP_E_SASL_CHALLENGE || (rc == SMTP_OK && smtp_buf_size(&salt) == 0)) {
		rc = SMTP_E_SASL_SERVER;
	}
	/* client-final-message-without-proof: "c=biws,r=" nonce */
	without_proof_len = 9 + nonce.len;
	if (rc == SMTP_OK) {
		rc = smtp_buf_reserve(&final, without_proof_len + 3 + proof_b64);
	}
	if (rc == SMTP_OK) {
		smtp_buf_append(&final, "c=biws,r=", 9);
		smtp_buf_append(&final, nonce.p, nonce.len);
		/* AuthMessage = client-first-bare "," server-first "," client-final-without-proof */
		rc = smtp_buf_reserve(&authmsg, s->first_bare_len + 1 + len + 1 + without_proof_len);
	}
	if (rc == SMTP_OK) {
		smtp_buf_append(&authmsg, s->first_bare, s->first_bare_len);
		smtp_buf_append(&authmsg, ",", 1);
		smtp_buf_append(&authmsg, msg, len);
		smtp_buf_append(&authmsg, ",", 1);
		smtp_buf_append(&authmsg, final.data, without_proof_len);
		/* SaltedPassword := Hi(password, salt, i) */
		if (s->crypto->pbkdf2(s->crypto->ud, SMTP_HASH_SHA256, s->pass, s->pass_len,
		                      (const unsigned char *)salt.data, smtp_buf_size(&salt), iter,
		                      salted, sizeof(salted)) != 0) {
			rc = SMTP_E_SASL_CRYPTO;
		}
	}
	if (rc == SMTP_OK) {
		rc = do_hmac(s, SMTP_HASH_SHA256, salted, sizeof(salted),
		             (const unsigned char *)"Client Key", 10, client_key, SCRAM_KEY_LEN);
	}
	if (rc == SMTP_OK) {
		rc = do_hash(s, SMTP_HASH_SHA256, client_key, sizeof(client_key), stored_key, SCRAM_KEY_LEN);
	}
	if (rc == SMTP_OK) {
		rc = do_hmac(s, SMTP_HASH_SHA256, stored_key, sizeof(stored_key),
		             (const unsigned char *)authmsg.data, smtp_buf_size(&authmsg), client_sig, SCRAM_KEY_LEN);
	}
	if (rc == SMTP_OK) {
		rc = do_hmac(s, SMTP_HASH_SHA256, salted, sizeof(salted),
		             (const unsigned char *)"Server Key", 10, server_key, SCRAM_KEY_LEN);
	}
	if (rc == SMTP_OK) {
		rc = do_hmac(s, SMTP_HASH_SHA256, server_key, sizeof(server_key),
		             (const unsigned char *)authmsg.data, smtp_buf_size(&authmsg), s->server_sig, SCRAM_KEY_LEN);
	}
	if (rc == SMTP_OK) {
		/* ClientProof := ClientKey XOR ClientSignature */
		for (i = 0; i < SCRAM_KEY_LEN; i++) {
			client_key[i] ^= client_sig[i];
		}
		smtp_buf_append(&final, ",p=", 3);
		rc = b64_encode(s, client_key, SCRAM_KEY_LEN, &final);
	}
	if (rc == SMTP_OK) {
		rc = respond_b64(s, (const unsigned char *)final.data, smtp_buf_size(&final), line);
	}
	wipe(salted, sizeof(salted));
	wipe(client_key, sizeof(client_key));
	wipe(stored_key, sizeof(stored_key));
	wipe(client_sig, sizeof(client_sig));
	wipe(server_key, sizeof(server_key));
	buf_wipe_free(&salt);
	buf_wipe_free(&authmsg);
	buf_wipe_free(&final);
	if (rc == SMTP_OK) {
		/* the password is not needed any more */
		free_secret(&s->pass, &s->pass_len);
	}
	return rc;
}

/* Constant-time comparison of n octets. */
static int ct_equal(const unsigned char *a, const unsigned char *b, size_t n)
{
	unsigned char d = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		d |= (unsigned char)(a[i] ^ b[i]);
	}
	return d == 0;
}

/* server-final-message: "v=" base64(ServerSignature), or "e=" error. */
static int scram_server_final(smtp_sasl_t *s, const char *msg, size_t len)
{
	span_t a[SCRAM_MAX_ATTRS];
	smtp_buf_t sig;
	size_t n;
	int rc;

	n = split_attrs(msg, len, a, SCRAM_MAX_ATTRS);
	if (n == 0) {
		return SMTP_E_SASL_CHALLENGE;
	}
	if (a[0].p[0] == 'e') {
		return SMTP_E_SASL_SERVER;
	}
	if (a[0].p[0] != 'v') {
		return SMTP_E_SASL_CHALLENGE;
	}
	if (!extensions_ok(a, 1, n)) {
		return SMTP_E_SASL_SERVER;
	}
	smtp_buf_init(&sig);
	rc = b64_decode(s, a[0].p + 2, a[0].len - 2, &sig);
	if (rc == SMTP_E_SASL_CHALLENGE ||
	    (rc == SMTP_OK && (smtp_buf_size(&sig) != SCRAM_KEY_LEN ||
	                       !ct_equal((const unsigned char *)sig.data, s->server_sig, SCRAM_KEY_LEN)))) {
		rc = SMTP_E_SASL_SERVER;
	}
	buf_wipe_free(&sig);
	if (rc == SMTP_OK) {
		s->verified = 1;
	}
	return rc;
}

/* ---- mechanism steps ---------------------------------------------------------- */

/* CRAM-MD5: base64(user SP hex(HMAC-MD5(password, challenge))). */
static int cram_response(smtp_sasl_t *s, const char *challenge, size_t challenge_len, smtp_buf_t *line)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[SMTP_HASH_MAX];   /* room for any digest a callback might write */
	const size_t mac_len = 16;
	smtp_buf_t raw;
	int rc;

	rc = do_hmac(s, SMTP_HASH_MD5, (const unsigned char *)s->pass, s->pass_len,
	             (const unsigned char *)challenge, challenge_len, mac, mac_len);
	if (rc != SMTP_OK) {
		wipe(mac, sizeof(mac));
		return rc;
	}
	smtp_buf_init(&raw);
	rc = smtp_buf_reserve(&raw, s->user_len + 1 + 2 * mac_len);
	if (rc == SMTP_OK) {
		size_t i;

		smtp_buf_append(&raw, s->user, s->user_len);
		smtp_buf_append(&raw, " ", 1);
		for (i = 0; i < mac_len; i++) {
			char h[2];

			h[0] = hex[mac[i] >> 4];
			h[1] = hex[mac[i] & 15];
			smtp_buf_append(&raw, h, 2);
		}
		rc = respond_b64(s, (const unsigned char *)raw.data, smtp_buf_size(&raw), line);
	}
	wipe(mac, sizeof(mac));
	buf_wipe_free(&raw);
	return rc;
}

/* One 334 for the mechanism; ch is the decoded challenge. *empty is set when
 * the response is an empty line. */
static int step_mech(smtp_sasl_t *s, unsigned k, const smtp_buf_t *ch, smtp_buf_t *line, int *empty)
{
	size_t chlen = smtp_buf_size(ch);
	const char *chp = ch->data != NULL ? ch->data + ch->off : "";

	*empty = 0;
	switch (s->mech) {
	case SMTP_AUTH_PLAIN:
		/* only without an initial response: an empty 334, then the response */
		if (s->sent_ir || k > 0) {
			return SMTP_E_SASL_STEP;
		}
		if (chlen != 0) {
			return SMTP_E_SASL_CHALLENGE;
		}
		s->creds_sent = 1;
		s->state = ST_DONE;
		return message_response(s, line);

	case SMTP_AUTH_LOGIN:
		/* two prompts (usually "Username:", "Password:"), their text ignored */
		if (k == 0) {
			return respond_b64(s, (const unsigned char *)s->user, s->user_len, line);
		}
		if (k == 1) {
			s->creds_sent = 1;
			s->state = ST_DONE;
			return respond_b64(s, (const unsigned char *)s->pass, s->pass_len, line);
		}
		return SMTP_E_SASL_STEP;

	case SMTP_AUTH_CRAM_MD5:
		if (k > 0) {
			return SMTP_E_SASL_STEP;
		}
		if (chlen == 0) {
			return SMTP_E_SASL_CHALLENGE;
		}
		s->creds_sent = 1;
		s->state = ST_DONE;
		return cram_response(s, chp, chlen, line);

	case SMTP_AUTH_XOAUTH2:
		if (!s->sent_ir && k == 0) {
			if (chlen != 0) {
				return SMTP_E_SASL_CHALLENGE;
			}
			s->creds_sent = 1;
			return message_response(s, line);
		}
		/* after the credentials: the server's JSON error, acknowledged with
		 * an empty line; 535 follows (a further 334 is refused as ST_DONE) */
		*empty = 1;
		s->state = ST_DONE;
		return respond_empty(line);

	case SMTP_AUTH_OAUTHBEARER:
		/* only the empty 334 that asks for the credentials comes here (the
		 * error challenge after them goes to oauth_error_step()) */
		if (s->sent_ir || k > 0) {
			return SMTP_E_SASL_STEP;
		}
		if (chlen != 0) {
			return SMTP_E_SASL_CHALLENGE;
		}
		s->creds_sent = 1;
		return message_response(s, line);

	case SMTP_AUTH_SCRAM_SHA_256: {
		/* the stages: [empty 334 -> client-first], server-first, server-final */
		unsigned stage = s->sent_ir ? k + 1 : k;

		if (stage == 0) {
			if (chlen != 0) {
				return SMTP_E_SASL_CHALLENGE;
			}
			return message_response(s, line);
		}
		if (stage == 1) {
			return scram_server_first(s, chp, chlen, line);
		}
		if (stage == 2) {
			int rc = scram_server_final(s, chp, chlen);

			if (rc != SMTP_OK) {
				return rc;
			}
			*empty = 1;
			s->creds_sent = 1;
			s->state = ST_DONE;
			return respond_empty(line);
		}
		return SMTP_E_SASL_STEP;
	}

	default:
		return SMTP_E_STATE;
	}
}

/* ---- OAUTHBEARER: the error challenge ---------------------------------------- */

/* A bounded JSON scanner (RFC 8259) for the server's error object: it checks
 * the syntax of the whole text, nesting at most JSON_MAX_DEPTH deep, and
 * copies out nothing but the top-level "status" string. Every step advances
 * p towards end, so the work is linear in the (line-bounded) input. The
 * octets of strings are not checked to be UTF-8. */
typedef struct {
	const unsigned char *p, *end;
	unsigned depth;
	int too_deep;
} json_t;

static void json_ws(json_t *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) {
		j->p++;
	}
}

static int json_hex(unsigned char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

static int json_digit(const json_t *j)
{
	return j->p < j->end && *j->p >= '0' && *j->p <= '9';
}

/* A string at p. Its decoded octets go to out[0..cap) when out is not NULL,
 * *out_len gets their number (cap + 1 when they did not fit); every
 * character beyond U+007F (raw or escaped) is stored as 0x80, which is
 * enough to compare with an ASCII name and to refuse as a status. 1 when
 * well-formed. */
static int json_string(json_t *j, char *out, size_t cap, size_t *out_len)
{
	size_t n = 0;

	if (j->p >= j->end || *j->p != '"') {
		return 0;
	}
	j->p++;
	while (j->p < j->end) {
		unsigned c = *j->p++;

		if (c == '"') {
			if (out_len != NULL) {
				*out_len = n;
			}
			return 1;
		}
		if (c < 0x20) {
			return 0;   /* control characters must be escaped */
		}
		if (c == '\\') {
			if (j->p >= j->end) {
				return 0;
			}
			c = *j->p++;
			switch (c) {
			case '"': case '\\': case '/': break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u': {
				unsigned v = 0;
				int i;

				if (j->end - j->p < 4) {
					return 0;
				}
				for (i = 0; i < 4; i++) {
					int h = json_hex(j->p[i]);

					if (h < 0) {
						return 0;
					}
					v = v << 4 | (unsigned)h;
				}
				j->p += 4;
				c = v < 0x80 ? v : 0x80;
				break;
			}
			default:
				return 0;
			}
		} else if (c >= 0x80) {
			c = 0x80;
		}
		if (out != NULL) {
			if (n < cap) {
				out[n] = (char)c;
			}
			if (n <= cap) {
				n++;
			}
		}
	}
	return 0;   /* unterminated */
}

static int json_number(json_t *j)
{
	if (j->p < j->end && *j->p == '-') {
		j->p++;
	}
	if (!json_digit(j)) {
		return 0;
	}
	if (*j->p++ != '0') {
		while (json_digit(j)) {
			j->p++;
		}
	}
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (!json_digit(j)) {
			return 0;
		}
		while (json_digit(j)) {
			j->p++;
		}
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-')) {
			j->p++;
		}
		if (!json_digit(j)) {
			return 0;
		}
		while (json_digit(j)) {
			j->p++;
		}
	}
	return 1;
}

static int json_literal(json_t *j, const char *word, size_t n)
{
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0) {
		return 0;
	}
	j->p += n;
	return 1;
}

static int json_value(json_t *j);

/* An object or array at p (the caller saw '{' or '['). */
static int json_container(json_t *j)
{
	unsigned char close = *j->p == '{' ? '}' : ']';

	if (j->depth >= JSON_MAX_DEPTH) {
		j->too_deep = 1;
		return 0;
	}
	j->depth++;
	j->p++;
	json_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		j->depth--;
		return 1;
	}
	for (;;) {
		if (close == '}') {
			if (!json_string(j, NULL, 0, NULL)) {
				return 0;
			}
			json_ws(j);
			if (j->p >= j->end || *j->p != ':') {
				return 0;
			}
			j->p++;
			json_ws(j);
		}
		if (!json_value(j)) {
			return 0;
		}
		json_ws(j);
		if (j->p >= j->end) {
			return 0;
		}
		if (*j->p == close) {
			j->p++;
			j->depth--;
			return 1;
		}
		if (*j->p++ != ',') {
			return 0;
		}
		json_ws(j);
	}
}

static int json_value(json_t *j)
{
	if (j->p >= j->end) {
		return 0;
	}
	switch (*j->p) {
	case '"':
		return json_string(j, NULL, 0, NULL);
	case '{':
	case '[':
		return json_container(j);
	case 't':
		return json_literal(j, "true", 4);
	case 'f':
		return json_literal(j, "false", 5);
	case 'n':
		return json_literal(j, "null", 4);
	default:
		return json_number(j);
	}
}

/* A status as RFC 6749 error codes are: NQSCHAR (%x20-21 / %x23-5B / %x5D-7E). */
static int status_ok(const char *p, size_t n)
{
	size_t i;

	if (n == 0 || n > SMTP_SASL_STATUS_MAX) {
		return 0;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
			return 0;
		}
	}
	return 1;
}

/* The status of the error object in text (decoded from the challenge); sets
 * s->oauth and s->status or s->oauth_problem. */
static void oauth_parse_error(smtp_sasl_t *s, const char *text, size_t len)
{
	json_t j;
	const char *problem = NULL;
	char key[8];
	size_t klen = 0, slen = 0;
	unsigned seen = 0;
	int syntax_ok = 0;

	j.p = (const unsigned char *)text;
	j.end = j.p + len;
	j.depth = 1;
	j.too_deep = 0;
	memset(s->status, 0, sizeof(s->status));
	json_ws(&j);
	if (j.p >= j.end || *j.p != '{') {
		s->oauth = SMTP_SASL_OAUTH_MALFORMED;
		s->oauth_problem = len == 0 ? "empty" : "not a JSON object";
		return;
	}
	j.p++;
	json_ws(&j);
	if (j.p < j.end && *j.p == '}') {
		j.p++;
		syntax_ok = 1;
	}
	while (!syntax_ok) {
		if (!json_string(&j, key, sizeof(key), &klen)) {
			break;
		}
		json_ws(&j);
		if (j.p >= j.end || *j.p != ':') {
			break;
		}
		j.p++;
		json_ws(&j);
		if (klen == 6 && memcmp(key, "status", 6) == 0) {
			if (++seen > 1) {
				problem = "\"status\" given twice";
			}
			if (j.p < j.end && *j.p == '"') {
				if (!json_string(&j, s->status, SMTP_SASL_STATUS_MAX, &slen)) {
					break;
				}
				if (seen == 1 && !status_ok(s->status, slen)) {
					problem = "\"status\" is empty, longer than 64 octets or not printable ASCII";
				}
			} else {
				if (!json_value(&j)) {
					break;
				}
				if (seen == 1) {
					problem = "\"status\" is not a string";
				}
			}
		} else if (!json_value(&j)) {
			break;
		}
		json_ws(&j);
		if (j.p < j.end && *j.p == '}') {
			j.p++;
			syntax_ok = 1;
		} else if (j.p >= j.end || *j.p++ != ',') {
			break;
		} else {
			json_ws(&j);
		}
	}
	if (syntax_ok) {
		json_ws(&j);
		syntax_ok = j.p == j.end;
	}
	if (!syntax_ok) {
		problem = j.too_deep ? "JSON nested too deeply" : "not JSON";
	} else if (seen == 0) {
		problem = "no \"status\" member";
	}
	if (problem != NULL) {
		wipe(s->status, sizeof(s->status));
		s->oauth = SMTP_SASL_OAUTH_MALFORMED;
		s->oauth_problem = problem;
		return;
	}
	s->status[slen] = '\0';
	s->oauth = SMTP_SASL_OAUTH_STATUS;
}

/* Any 334 after the credentials is the server's error challenge (RFC 7628
 * section 3.2.2): note what it says, answer with a single ^A (section
 * 3.2.3) even when it is malformed, so that the exchange ends in step with
 * the server's failure reply. */
static int oauth_error_step(smtp_sasl_t *s, const char *text, size_t len, smtp_buf_t *line)
{
	static const unsigned char kvsep = 0x01;
	smtp_buf_t json;
	int rc = SMTP_OK;

	smtp_buf_init(&json);
	if (len > SMTP_REPLY_MAX_LINE) {
		s->oauth = SMTP_SASL_OAUTH_MALFORMED;
		s->oauth_problem = "too long";
	} else {
		rc = b64_decode(s, text, len, &json);
		if (rc == SMTP_E_SASL_CHALLENGE) {
			s->oauth = SMTP_SASL_OAUTH_MALFORMED;
			s->oauth_problem = "not valid base64";
			rc = SMTP_OK;
		} else if (rc == SMTP_OK) {
			oauth_parse_error(s, json.data != NULL ? json.data + json.off : "", smtp_buf_size(&json));
		}
	}
	buf_wipe_free(&json);
	if (rc != SMTP_OK) {
		return rc;
	}
	s->state = ST_DONE;
	return respond_b64(s, &kvsep, 1, line);
}

smtp_sasl_oauth_t smtp_sasl_oauth_error(const smtp_sasl_t *s, const char **text)
{
	smtp_sasl_oauth_t r = s != NULL ? s->oauth : SMTP_SASL_OAUTH_NONE;

	if (text != NULL) {
		*text = r == SMTP_SASL_OAUTH_STATUS ? s->status : r == SMTP_SASL_OAUTH_MALFORMED ? s->oauth_problem : NULL;
	}
	return r;
}

/* ---- step, finish ------------------------------------------------------------- */

int smtp_sasl_step(smtp_sasl_t *s, const char *text, size_t len, smtp_buf_t *line, const char **trace_text)
{
	smtp_buf_t ch;
	const char *plain = NULL;   /* a response traced as it is */
	int rc, empty = 0;

	if (trace_text != NULL) {
		*trace_text = "***";
	}
	if (s == NULL) {
		return SMTP_E_NOMEM;
	}
	if (s->state == ST_FAILED) {
		return s->err;
	}
	if (s->state == ST_NEW) {
		return SMTP_E_STATE;
	}
	if (line == NULL || (text == NULL && len > 0)) {
		return SMTP_E_ARG;
	}
	smtp_buf_init(&ch);
	if (s->state == ST_DONE) {
		rc = SMTP_E_SASL_STEP;   /* the mechanism has said everything */
	} else if (s->mech == SMTP_AUTH_OAUTHBEARER && s->creds_sent) {
		rc = oauth_error_step(s, text != NULL ? text : "", len, line);
		plain = "AQ==";          /* no secret: traced as sent */
	} else {
		rc = b64_decode(s, text != NULL ? text : "", len, &ch);
		if (rc == SMTP_OK) {
			rc = step_mech(s, s->steps, &ch, line, &empty);
		}
	}
	buf_wipe_free(&ch);
	if (rc != SMTP_OK) {
		if (line->data != NULL) {
			wipe(line->data, line->cap);
		}
		smtp_buf_reset(line);
		return fail(s, rc);
	}
	s->steps++;
	if (trace_text != NULL) {
		*trace_text = plain != NULL ? plain : empty ? "" : "***";
	}
	return SMTP_OK;
}

int smtp_sasl_finish(smtp_sasl_t *s)
{
	if (s == NULL) {
		return SMTP_E_NOMEM;
	}
	if (s->state == ST_FAILED) {
		return s->err;
	}
	if (s->state == ST_NEW) {
		return SMTP_E_STATE;
	}
	if (s->mech == SMTP_AUTH_SCRAM_SHA_256 ? !s->verified : !s->creds_sent) {
		return fail(s, SMTP_E_SASL_INCOMPLETE);
	}
	if (s->oauth != SMTP_SASL_OAUTH_NONE) {
		/* RFC 7628 section 3.2.2: an error challenge ends in a failure */
		return fail(s, SMTP_E_SASL_AFTER_ERROR);
	}
	s->state = ST_DONE;
	return SMTP_OK;
}
