/*
 * smtpsock_mail.c: smtp_mail(), the drop-in for mail(), and the handler that
 * routes mail() through it. Argument rules are mail()'s; the SMTP work is the
 * shared session code (one SMTP implementation).
 */
#ifdef HAVE_CONFIG_H
# include "config.h"
#endif

#include "php_smtpsock.h"
#include "php_ini.h"
#include "SAPI.h"
#include "zend_smart_str.h"
#include "ext/standard/file.h"
#include "ext/standard/php_string.h"
#include "ext/standard/php_mail.h"
#include "ext/standard/basic_functions.h"
#include "ext/date/php_date.h"
#include "ext/random/php_random.h"
#include "smtp_core/smtp_addr.h"

#ifdef HAVE_SYSLOG_H
# include "php_syslog.h"
#endif

/* ---- helpers ------------------------------------------------------------ */

/* s without trailing white space (as mail() trims it): another reference
 * to s when there is none. */
static zend_string *rtrim_ws(zend_string *s)
{
	size_t len = ZSTR_LEN(s);

	while (len && isspace((unsigned char)ZSTR_VAL(s)[len - 1])) {
		len--;
	}
	return len == ZSTR_LEN(s) ? zend_string_copy(s) : zend_string_init(ZSTR_VAL(s), len, 0);
}

/* What breaks the folding rules in a header value: the first CR, LF or NUL
 * that is not part of a fold (CRLF, or with lf_fold also a lone LF,
 * followed by SP or HTAB). The kinds are the ones mail() reports. */
typedef enum { FOLD_OK = 0, FOLD_CR, FOLD_CRLF, FOLD_LF, FOLD_NUL } fold_error;

static fold_error check_folding(const char *v, size_t n, bool lf_fold)
{
	size_t i;

	for (i = 0; i < n; i++) {
		/* to the next CR, LF or NUL (v's own terminating NUL ends the search) */
		i += strcspn(v + i, "\r\n");
		if (i >= n) {
			break;
		}
		if (v[i] == '\r') {
			if (v[i + 1] != '\n') {
				return FOLD_CR;
			}
			if (n - i >= 3 && (v[i + 2] == ' ' || v[i + 2] == '\t')) {
				i += 2;
				continue;
			}
			return FOLD_CRLF;
		}
		if (v[i] == '\n') {
			if (lf_fold && n - i >= 2 && (v[i + 1] == ' ' || v[i + 1] == '\t')) {
				i++;
				continue;
			}
			return FOLD_LF;
		}
		return FOLD_NUL;
	}
	return FOLD_OK;
}

/* true when every CR/LF in s (NUL-terminated) is part of CRLF + WSP folding. */
static bool folding_only(const char *s, size_t len)
{
	return check_folding(s, len, false) == FOLD_OK;
}

/* mail() accepts LF folding in array header values; smtp_mail() does not:
 * a LF must be part of CRLF. ValueError in mail()'s wording. */
/* A LF in v not preceded by CR. */
static bool has_bare_lf(const zend_string *v)
{
	const char *p = ZSTR_VAL(v), *end = p + ZSTR_LEN(v), *lf;

	while ((lf = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (lf == ZSTR_VAL(v) || lf[-1] != '\r') {
			return true;
		}
		p = lf + 1;
	}
	return false;
}

static bool check_bare_lf(HashTable *headers)
{
	zend_string *key;
	zval *val, *v;

	ZEND_HASH_FOREACH_STR_KEY_VAL(headers, key, val) {
		bool bad = false;
		ZVAL_DEREF(val);
		if (!key) {
			continue;   /* scan_header_array() reports it */
		}
		if (Z_TYPE_P(val) == IS_STRING) {
			bad = has_bare_lf(Z_STR_P(val));
		} else if (Z_TYPE_P(val) == IS_ARRAY) {
			ZEND_HASH_FOREACH_VAL(Z_ARRVAL_P(val), v) {
				ZVAL_DEREF(v);
				if (Z_TYPE_P(v) == IS_STRING && has_bare_lf(Z_STR_P(v))) {
					bad = true;
					break;
				}
			} ZEND_HASH_FOREACH_END();
		}
		if (bad) {
			zend_value_error("Header \"%s\" contains LF character that is not allowed in the header", ZSTR_VAL(key));
			return false;
		}
	} ZEND_HASH_FOREACH_END();
	return true;
}

/* Collects envelope recipients, de-duplicated case-insensitively (ASCII
 * case): compared with the list itself while it is short, through a set of
 * the lower-cased addresses once it is longer. */
typedef struct {
	zval list;      /* list of address strings */
	zval seen;      /* lower-cased address => true; UNDEF while the list is short */
} rcpt_set;

#define RCPT_LIST_SCAN_MAX 8   /* recipients compared one by one before the set is made */

/* Add addr's lower-cased form to the set: true when it was not there. */
static bool rcpt_seen_add(rcpt_set *set, zend_string *addr)
{
	/* tolower returns a new string or another reference to addr */
	zend_string *lc = zend_string_tolower(addr);
	bool added = zend_hash_add_empty_element(Z_ARRVAL(set->seen), lc) != NULL;

	zend_string_release(lc);
	return added;
}

static int add_rcpt(void *ud, const char *addr, size_t len)
{
	rcpt_set *set = ud;
	HashTable *list = Z_ARRVAL(set->list);
	zend_string *a;
	zval *v;

	if (Z_TYPE(set->seen) == IS_UNDEF && zend_hash_num_elements(list) < RCPT_LIST_SCAN_MAX) {
		ZEND_HASH_FOREACH_VAL(list, v) {
			if (Z_STRLEN_P(v) == len && zend_binary_strncasecmp(Z_STRVAL_P(v), len, addr, len, len) == 0) {
				return 0;
			}
		} ZEND_HASH_FOREACH_END();
		add_next_index_stringl(&set->list, addr, len);
		return 0;
	}
	if (Z_TYPE(set->seen) == IS_UNDEF) {
		/* the list has grown: the set of what it holds so far */
		array_init(&set->seen);
		ZEND_HASH_FOREACH_VAL(list, v) {
			rcpt_seen_add(set, Z_STR_P(v));
		} ZEND_HASH_FOREACH_END();
	}
	a = zend_string_init(addr, len, 0);
	if (rcpt_seen_add(set, a)) {
		add_next_index_str(&set->list, a);   /* not seen before */
	} else {
		zend_string_release(a);
	}
	return 0;
}

static int first_addr(void *ud, const char *addr, size_t len)
{
	zend_string **out = ud;

	if (!*out) {
		*out = zend_string_init(addr, len, 0);
	}
	return 1;   /* stop at the first */
}

/* The first address of an address list, or NULL. */
static zend_string *address_of(const char *s, size_t len)
{
	zend_string *addr = NULL;

	smtp_addr_list_parse(s, len, first_addr, &addr);
	return addr;
}

/* The address of smtpsock.from, looked up once per value and request. */
static zend_string *configured_sender(void)
{
	const char *from = SMTPSOCK_G(from);

	if (!SMTPSOCK_G(from_raw) || strcmp(ZSTR_VAL(SMTPSOCK_G(from_raw)), from) != 0) {
		if (SMTPSOCK_G(from_raw)) {
			zend_string_release(SMTPSOCK_G(from_raw));
		}
		if (SMTPSOCK_G(from_addr)) {
			zend_string_release(SMTPSOCK_G(from_addr));
		}
		SMTPSOCK_G(from_raw) = zend_string_init(from, strlen(from), 0);
		SMTPSOCK_G(from_addr) = address_of(from, strlen(from));
	}
	return SMTPSOCK_G(from_addr) ? zend_string_copy(SMTPSOCK_G(from_addr)) : NULL;
}

/* What the additional headers say. */
typedef struct {
	smart_str out;             /* fields to transmit (no Bcc), CRLF after each */
	rcpt_set *rcpts;
	const char *from_val;      /* value of the first From: (its address is looked up only when needed) */
	size_t from_len;
	bool has_date;
	bool has_msgid;
	const char *bad_field;     /* set when an address list does not parse */
} header_scan;

/* What one field means for the envelope: recipients (To, Cc, Bcc), the From
 * address, whether Date and Message-ID are present. Returns 1 (bad_field
 * set) when a recipient list does not parse; *bcc tells a Bcc field. */
static int note_field(header_scan *h, const char *name, size_t name_len, const char *value, size_t value_len, bool *bcc)
{
	*bcc = false;
	switch (name_len) {
	case 2:
		if (strncasecmp(name, "to", 2) == 0 || strncasecmp(name, "cc", 2) == 0) {
			break;
		}
		return 0;
	case 3:
		if (strncasecmp(name, "bcc", 3) == 0) {
			*bcc = true;
			break;
		}
		return 0;
	case 4:
		if (strncasecmp(name, "from", 4) == 0) {
			if (!h->from_val) {
				h->from_val = value;
				h->from_len = value_len;
			}
		} else if (strncasecmp(name, "date", 4) == 0) {
			h->has_date = true;
		}
		return 0;
	case 10:
		if (strncasecmp(name, "message-id", 10) == 0) {
			h->has_msgid = true;
		}
		return 0;
	default:
		return 0;
	}
	/* one pass: on error the caller drops every recipient collected */
	if (smtp_addr_list_scan(value, value_len, add_rcpt, h->rcpts) != SMTP_OK) {
		h->bad_field = *bcc ? "Bcc" : (name[0] == 'c' || name[0] == 'C') ? "Cc" : "To";
		return 1;
	}
	return 0;
}

static int scan_field(void *ud, const char *name, size_t name_len, const char *value, size_t value_len,
                      const char *field, size_t field_len)
{
	header_scan *h = ud;
	bool bcc;

	if (note_field(h, name, name_len, value, value_len, &bcc)) {
		return 1;
	}
	if (!bcc) {
		/* folding is re-emitted as CRLF by the DATA encoder */
		smart_str_appendl(&h->out, field, field_len);
		smart_str_appendl(&h->out, "\r\n", 2);
	}
	return 0;
}

/* Header names mail() accepts only once, as a string (lower case, as its
 * error message names them). */
static const char *single_header(const zend_string *key)
{
	static const char *const names[] = { "orig-date", "from", "sender", "reply-to", "cc", "bcc",
		"message-id", "references", "in-reply-to" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (ZSTR_LEN(key) == strlen(names[i]) && strncasecmp(ZSTR_VAL(key), names[i], ZSTR_LEN(key)) == 0) {
			return names[i];
		}
	}
	return NULL;
}

/* One name: value pair of the headers array. Without h: checked as mail()
 * checks it (false with the same exception). With h (after that check):
 * noted and queued (false with h->bad_field set). */
static bool array_field(header_scan *h, zend_string *key, zend_string *val)
{
	const unsigned char *k = (const unsigned char *)ZSTR_VAL(key);
	const char *v = ZSTR_VAL(val);
	size_t i, n = ZSTR_LEN(val);
	bool bcc;

	if (h) {
		/* checked before, by the pass without h */
		if (note_field(h, ZSTR_VAL(key), ZSTR_LEN(key), v, n, &bcc)) {
			return false;
		}
		if (!bcc) {
			smart_str_append(&h->out, key);
			smart_str_appendl(&h->out, ": ", 2);
			smart_str_append(&h->out, val);
			smart_str_appendl(&h->out, "\r\n", 2);
		}
		return true;
	}
	for (i = 0; i < ZSTR_LEN(key); i++) {
		if (k[i] < 33 || k[i] > 126 || k[i] == ':') {
			zend_value_error("Header name \"%s\" contains invalid characters", ZSTR_VAL(key));
			return false;
		}
	}
	switch (check_folding(v, n, true)) {
	case FOLD_OK:
		return true;
	case FOLD_CR:
		zend_value_error("Header \"%s\" contains CR character that is not allowed in the header", ZSTR_VAL(key));
		break;
	case FOLD_CRLF:
		zend_value_error("Header \"%s\" contains CRLF characters that are used as a line separator and are not allowed in the header", ZSTR_VAL(key));
		break;
	case FOLD_LF:
		zend_value_error("Header \"%s\" contains LF character that is not allowed in the header", ZSTR_VAL(key));
		break;
	case FOLD_NUL:
		zend_value_error("Header \"%s\" contains NULL character that is not allowed in the header", ZSTR_VAL(key));
		break;
	}
	return false;
}

/* The headers array of smtp_mail(), field by field, without building a
 * header string and parsing it again. Without h: checked as mail() checks
 * it (the same exception for the same input, found in the same order).
 * With h: each field noted and queued (false with h->bad_field set). */
static bool scan_header_array(HashTable *ht, header_scan *h)
{
	zend_ulong idx;
	zend_string *key;
	zval *val;

	ZEND_HASH_FOREACH_KEY_VAL(ht, idx, key, val) {
		const char *single;
		zend_string *ikey;
		zval *iv;

		if (!key) {
			zend_type_error("Header name cannot be numeric, " ZEND_LONG_FMT " given", (zend_long)idx);
			return false;
		}
		ZVAL_DEREF(val);
		if (zend_string_equals_literal_ci(key, "to")) {
			zend_value_error("The additional headers cannot contain the \"To\" header");
			return false;
		}
		if (zend_string_equals_literal_ci(key, "subject")) {
			zend_value_error("The additional headers cannot contain the \"Subject\" header");
			return false;
		}
		if (Z_TYPE_P(val) == IS_STRING) {
			if (!array_field(h, key, Z_STR_P(val))) {
				return false;
			}
			continue;
		}
		if (Z_TYPE_P(val) != IS_ARRAY) {
			zend_type_error("Header \"%s\" must be of type array|string, %s given", ZSTR_VAL(key), zend_zval_type_name(val));
			return false;
		}
		if ((single = single_header(key)) != NULL) {
			zend_type_error("Header \"%s\" must be of type string, array given", single);
			return false;
		}
		ZEND_HASH_FOREACH_STR_KEY_VAL(Z_ARRVAL_P(val), ikey, iv) {
			if (ikey) {
				zend_type_error("Header \"%s\" must only contain numeric keys, \"%s\" found", ZSTR_VAL(key), ZSTR_VAL(ikey));
				return false;
			}
			ZVAL_DEREF(iv);
			if (Z_TYPE_P(iv) != IS_STRING) {
				zend_type_error("Header \"%s\" must only contain values of type string, %s found", ZSTR_VAL(key), zend_zval_type_name(iv));
				return false;
			}
			if (!array_field(h, key, Z_STR_P(iv))) {
				return false;
			}
		} ZEND_HASH_FOREACH_END();
	} ZEND_HASH_FOREACH_END();
	return true;
}

/* The address of a "-f sender" / "-fsender" flag, or NULL. */
static zend_string *sender_from_params(const char *p, size_t len)
{
	const char *end = p + len;

	while (p < end) {
		const char *tok, *tend;
		while (p < end && isspace((unsigned char)*p)) p++;
		tok = p;
		while (p < end && !isspace((unsigned char)*p)) p++;
		tend = p;
		if (tend - tok >= 2 && tok[0] == '-' && tok[1] == 'f') {
			const char *a = tok + 2, *b = tend;
			if (a == b) {
				while (p < end && isspace((unsigned char)*p)) p++;
				a = p;
				while (p < end && !isspace((unsigned char)*p)) p++;
				b = p;
			}
			while (a < b && (*a == '\'' || *a == '"' || *a == '<')) a++;
			while (b > a && (b[-1] == '\'' || b[-1] == '"' || b[-1] == '>')) b--;
			return zend_string_init(a, (size_t)(b - a), 0);
		}
	}
	return NULL;
}

/* mail.log as it is set now (NULL or "" when it is not): its ini entry is
 * looked up once a request, its value read at every call (ini_set() changes
 * the value, not the entry). */
static const char *mail_log_setting(void)
{
	zend_ini_entry *e = SMTPSOCK_G(mail_log_entry);

	if (!e) {
		e = zend_hash_str_find_ptr(EG(ini_directives), "mail.log", sizeof("mail.log") - 1);
		if (!e) {
			return NULL;
		}
		SMTPSOCK_G(mail_log_entry) = e;
	}
	return e->value ? ZSTR_VAL(e->value) : NULL;
}

/* mail.log: the same line mail() writes, naming the function, and the
 * server's queue id for the message when it gave one. */
static void log_mail(const char *fname, const char *to, const char *subject, const char *hdr,
                     const zend_string *queue_id)
{
	const char *mail_log = mail_log_setting();
	char *line, *p;

	if (!mail_log || !*mail_log) {
		return;
	}
	spprintf(&line, 0, "%s on [%s:%d]: To: %s -- Headers: %s -- Subject: %s%s%s", fname,
		zend_get_executed_filename(), zend_get_executed_lineno(), to, hdr ? hdr : "", subject,
		queue_id ? " -- Queue-ID: " : "", queue_id ? ZSTR_VAL(queue_id) : "");
	for (p = line; (p = strpbrk(p, "\r\n")); ) {
		*p = ' ';
	}
	if (!strcmp(mail_log, "syslog")) {
#ifdef HAVE_SYSLOG_H
		php_syslog(LOG_NOTICE, "%s", line);
#endif
	} else {
		zend_string *date = php_format_date("d-M-Y H:i:s e", 13, time(NULL), 1);
		char *tmp;
		size_t len = spprintf(&tmp, 0, "[%s] %s%s", ZSTR_VAL(date), line, PHP_EOL);
		php_stream *stream = php_stream_open_wrapper(mail_log, "a", REPORT_ERRORS | STREAM_DISABLE_OPEN_BASEDIR, NULL);
		if (stream) {
			php_stream_write(stream, tmp, len);
			php_stream_close(stream);
		}
		zend_string_release(date);
		efree(tmp);
	}
	efree(line);
}

/* ---- the request's session ---------------------------------------------- */

static zend_string *ini_string(const char *v)
{
	return v && *v ? zend_string_init(v, strlen(v), 0) : NULL;
}

/* The ini value v equals the session's copy (NULL and "" alike). */
static bool same_str(const char *v, const zend_string *cur)
{
	if (!v || !*v) {
		return !cur || ZSTR_LEN(cur) == 0;
	}
	return cur && strcmp(v, ZSTR_VAL(cur)) == 0;
}

/* The session was opened with the current settings (ini_set() may change
 * them between calls: then it is closed and opened anew). */
static bool settings_unchanged(const php_smtpsock_session *s)
{
	const php_smtpsock_config *c = &s->cfg;

	return same_str(SMTPSOCK_G(host), c->hosts) && SMTPSOCK_G(port) == c->port
		&& SMTPSOCK_G(security) == (zend_long)c->security
		&& same_str(SMTPSOCK_G(username), c->username) && same_str(SMTPSOCK_G(password), c->password)
		&& same_str(SMTPSOCK_G(helo), c->helo) && same_str(SMTPSOCK_G(auth), SMTPSOCK_G(mail_session_key))
		&& SMTPSOCK_G(timeout) == c->timeout && SMTPSOCK_G(verify_peer) == c->verify_peer
		&& SMTPSOCK_G(allow_insecure_auth) == c->allow_insecure_auth && SMTPSOCK_G(persistent) == c->persistent;
}

static php_smtpsock_session *mail_session(void)
{
	php_smtpsock_config cfg;

	if (SMTPSOCK_G(mail_session)) {
		if (settings_unchanged(SMTPSOCK_G(mail_session))) {
			/* not part of the connection: follows the setting at once */
			SMTPSOCK_G(mail_session)->cfg.busy_poll = SMTPSOCK_G(busy_poll);
			return SMTPSOCK_G(mail_session);
		}
		php_smtpsock_mail_rshutdown();
	}
	php_smtpsock_config_init(&cfg);
	cfg.hosts = ini_string(SMTPSOCK_G(host));
	cfg.port = SMTPSOCK_G(port);
	cfg.security = (php_smtpsock_security)SMTPSOCK_G(security);
	cfg.username = ini_string(SMTPSOCK_G(username));
	cfg.password = ini_string(SMTPSOCK_G(password));
	cfg.helo = ini_string(SMTPSOCK_G(helo));
	if (SMTPSOCK_G(auth) && *SMTPSOCK_G(auth)) {
		const char *bad;
		size_t bad_len;
		php_smtpsock_mechs_parse(SMTPSOCK_G(auth), strlen(SMTPSOCK_G(auth)), &cfg.auth_mechs, &bad, &bad_len);
	}
	cfg.timeout = SMTPSOCK_G(timeout);
	cfg.verify_peer = SMTPSOCK_G(verify_peer);
	cfg.allow_insecure_auth = SMTPSOCK_G(allow_insecure_auth);
	cfg.persistent = SMTPSOCK_G(persistent);
	cfg.busy_poll = SMTPSOCK_G(busy_poll);
	SMTPSOCK_G(mail_session) = php_smtpsock_session_new(&cfg);
	/* the mechanism list as set (compared by settings_unchanged) */
	SMTPSOCK_G(mail_session_key) = ini_string(SMTPSOCK_G(auth));
	return SMTPSOCK_G(mail_session);
}

void php_smtpsock_mail_rshutdown(void)
{
	if (SMTPSOCK_G(mail_session)) {
		php_smtpsock_session_free(SMTPSOCK_G(mail_session), true);
		SMTPSOCK_G(mail_session) = NULL;
	}
	if (SMTPSOCK_G(mail_session_key)) {
		zend_string_release(SMTPSOCK_G(mail_session_key));
		SMTPSOCK_G(mail_session_key) = NULL;
	}
	if (SMTPSOCK_G(date_value)) {
		zend_string_release(SMTPSOCK_G(date_value));
		SMTPSOCK_G(date_value) = NULL;
	}
	if (SMTPSOCK_G(from_raw)) {
		zend_string_release(SMTPSOCK_G(from_raw));
		SMTPSOCK_G(from_raw) = NULL;
	}
	if (SMTPSOCK_G(from_addr)) {
		zend_string_release(SMTPSOCK_G(from_addr));
		SMTPSOCK_G(from_addr) = NULL;
	}
}

/* ---- smtp_mail() -------------------------------------------------------- */

/* The owner of the main script, as mail()'s X-PHP-Originating-Script names it
 * (php_getuid() is not exported by every PHP build). */
static zend_long script_uid(void)
{
	zend_stat_t sb;
	const char *path = SG(request_info).path_translated;

	if (path && VCWD_STAT(path, &sb) == 0) {
		return (zend_long)sb.st_uid;
	}
#ifndef PHP_WIN32
	return (zend_long)getuid();
#else
	return 0;
#endif
}

static zend_string *make_message_id(const char *sender)
{
	static const char hexd[] = "0123456789abcdef";
	unsigned char rnd[12];
	const char *at = sender ? strrchr(sender, '@') : NULL;
	const char *domain = at && at[1] ? at + 1 : "localhost";
	size_t dlen = strlen(domain), i, tlen = 0;
	char digits[24];
	zend_ulong t = (zend_ulong)time(NULL);
	zend_string *id;
	char *p;

	if (php_random_bytes_silent(rnd, sizeof(rnd)) == FAILURE) {
		memset(rnd, 0, sizeof(rnd));
	}
	do {
		digits[sizeof(digits) - 1 - tlen++] = (char)('0' + t % 10);
		t /= 10;
	} while (t);
	/* <hex.time@domain> */
	id = zend_string_alloc(2 * sizeof(rnd) + tlen + dlen + 4, 0);
	p = ZSTR_VAL(id);
	*p++ = '<';
	for (i = 0; i < sizeof(rnd); i++) {
		*p++ = hexd[rnd[i] >> 4];
		*p++ = hexd[rnd[i] & 15];
	}
	*p++ = '.';
	memcpy(p, digits + sizeof(digits) - tlen, tlen);
	p += tlen;
	*p++ = '@';
	memcpy(p, domain, dlen);
	p += dlen;
	*p++ = '>';
	*p = '\0';
	return id;
}

/* The Date: value for now, formatted once per second (date.timezone as set). */
static zend_string *date_header(void)
{
	time_t now = time(NULL);

	if (!SMTPSOCK_G(date_value) || SMTPSOCK_G(date_time) != now) {
		if (SMTPSOCK_G(date_value)) {
			zend_string_release(SMTPSOCK_G(date_value));
		}
		SMTPSOCK_G(date_value) = php_format_date("r", 1, now, 1);
		SMTPSOCK_G(date_time) = now;
	}
	return zend_string_copy(SMTPSOCK_G(date_value));
}

static void do_mail(INTERNAL_FUNCTION_PARAMETERS, const char *fname)
{
	zend_string *to, *subject;
	char *message;
	size_t message_len;
	zend_string *headers_str = NULL, *extra = NULL, *hdrs = NULL, *log_hdrs = NULL;
	HashTable *headers_ht = NULL;
	zend_string *to_r = NULL, *subject_r = NULL, *sender = NULL, *msgid = NULL, *head = NULL, *queue_id = NULL;
	header_scan scan;
	rcpt_set rcpts;
	php_smtpsock_session *s;
	php_smtpsock_body body;
	php_smtpsock_result res;
	smart_str hb = {0};
	bool log_pending = false;
	zend_result r;

	ZEND_PARSE_PARAMETERS_START(3, 5)
		Z_PARAM_PATH_STR(to)
		Z_PARAM_PATH_STR(subject)
		Z_PARAM_PATH(message, message_len)
		Z_PARAM_OPTIONAL
		Z_PARAM_ARRAY_HT_OR_STR(headers_ht, headers_str)
		Z_PARAM_PATH_STR(extra)
	ZEND_PARSE_PARAMETERS_END();

	if (headers_str) {
		if (strlen(ZSTR_VAL(headers_str)) != ZSTR_LEN(headers_str)) {
			zend_argument_value_error(4, "must not contain any null bytes");
			RETURN_THROWS();
		}
		hdrs = php_trim(headers_str, NULL, 0, 2);
	} else if (headers_ht) {
		if (!check_bare_lf(headers_ht) || !scan_header_array(headers_ht, NULL)) {
			RETURN_THROWS();
		}
		const char *mail_log = mail_log_setting();
		if (mail_log && *mail_log) {
			/* the log line shows the headers as mail() would pass them on */
			log_hdrs = php_mail_build_headers(headers_ht);
		}
	}

	memset(&scan, 0, sizeof(scan));
	array_init(&rcpts.list);
	ZVAL_UNDEF(&rcpts.seen);
	scan.rcpts = &rcpts;
	RETVAL_FALSE;

	to_r = rtrim_ws(to);
	subject_r = rtrim_ws(subject);
	/* the mail.log line is written when the outcome is known (at out:) */
	log_pending = true;

	if (!folding_only(ZSTR_VAL(to_r), ZSTR_LEN(to_r))) {
		php_error_docref(NULL, E_WARNING, "The to argument contains a CR or LF character that is not folding; refused (header injection)");
		goto out;
	}
	if (!folding_only(ZSTR_VAL(subject_r), ZSTR_LEN(subject_r))) {
		php_error_docref(NULL, E_WARNING, "The subject argument contains a CR or LF character that is not folding; refused (header injection)");
		goto out;
	}
	if (smtp_addr_list_scan(ZSTR_VAL(to_r), ZSTR_LEN(to_r), add_rcpt, &rcpts) != SMTP_OK) {
		php_error_docref(NULL, E_WARNING, "The to argument is not a valid address list: \"%s\"", ZSTR_VAL(to_r));
		goto out;
	}
	if (hdrs && ZSTR_LEN(hdrs)) {
		int rc = smtp_headers_parse(ZSTR_VAL(hdrs), ZSTR_LEN(hdrs), scan_field, &scan);
		if (scan.bad_field) {
			php_error_docref(NULL, E_WARNING, "The %s header is not a valid address list", scan.bad_field);
			goto out;
		}
		if (rc != SMTP_OK) {
			php_error_docref(NULL, E_WARNING, "Multiple or malformed newlines found in additional_header: every line must be a \"Name: value\" field or its folded continuation; refused (header injection)");
			goto out;
		}
	} else if (headers_ht && !scan_header_array(headers_ht, &scan)) {
		php_error_docref(NULL, E_WARNING, "The %s header is not a valid address list", scan.bad_field);
		goto out;
	}
	if (zend_hash_num_elements(Z_ARRVAL(rcpts.list)) == 0) {
		php_error_docref(NULL, E_WARNING, "No recipient: the to argument and the Cc/Bcc headers name no address");
		goto out;
	}

	/* envelope sender: -f, smtpsock.from, sendmail_from, the From: header */
	if (extra && ZSTR_LEN(extra)) {
		sender = sender_from_params(ZSTR_VAL(extra), ZSTR_LEN(extra));
	}
	if (!sender && SMTPSOCK_G(from) && *SMTPSOCK_G(from)) {
		sender = configured_sender();
	}
	if (!sender) {
		const char *sendmail_from = php_smtpsock_ini_string("sendmail_from");
		if (sendmail_from && *sendmail_from) {
			sender = address_of(sendmail_from, strlen(sendmail_from));
		}
	}
	if (!sender && scan.from_val) {
		sender = address_of(scan.from_val, scan.from_len);
	}
	if (!sender) {
		php_error_docref(NULL, E_WARNING, "No envelope sender: pass \"-f address\", or set smtpsock.from, sendmail_from or a From: header");
		goto out;
	}
	if (strpbrk(ZSTR_VAL(sender), "\r\n<> ")) {
		php_error_docref(NULL, E_WARNING, "The envelope sender \"%s\" is not a valid address", ZSTR_VAL(sender));
		goto out;
	}
	/* non-ASCII addresses must be UTF-8 (RFC 6531); like any other bad
	 * address here, a warning and false (mail() would not throw either) */
	if (!smtp_utf8_valid(ZSTR_VAL(sender), ZSTR_LEN(sender))) {
		php_error_docref(NULL, E_WARNING, "The envelope sender \"%s\" is not valid UTF-8", ZSTR_VAL(sender));
		goto out;
	}
	{
		zval *rv;
		bool bad = false;
		ZEND_HASH_FOREACH_VAL(Z_ARRVAL(rcpts.list), rv) {
			if (!smtp_utf8_valid(Z_STRVAL_P(rv), Z_STRLEN_P(rv))) {
				php_error_docref(NULL, E_WARNING, "The recipient \"%s\" is not valid UTF-8", Z_STRVAL_P(rv));
				bad = true;
				break;
			}
		} ZEND_HASH_FOREACH_END();
		if (bad) {
			goto out;
		}
	}

	/* the header block: the fields made here, then the caller's */
	smart_str_alloc(&hb, ZSTR_LEN(to_r) + ZSTR_LEN(subject_r) + 192, 0);
	if (PG(mail_x_header)) {
		const char *file = zend_get_executed_filename();
		zend_string *base = php_basename(file, strlen(file), NULL, 0);
		smart_str_append_printf(&hb, "X-PHP-Originating-Script: " ZEND_LONG_FMT ":%s\r\n", script_uid(), ZSTR_VAL(base));
		zend_string_release(base);
	}
	smart_str_appends(&hb, "To: ");
	smart_str_append(&hb, to_r);
	smart_str_appends(&hb, "\r\nSubject: ");
	smart_str_append(&hb, subject_r);
	smart_str_appends(&hb, "\r\n");
	if (!scan.has_date) {
		zend_string *date = date_header();
		smart_str_appends(&hb, "Date: ");
		smart_str_append(&hb, date);
		smart_str_appends(&hb, "\r\n");
		zend_string_release(date);
	}
	if (!scan.has_msgid) {
		msgid = make_message_id(ZSTR_VAL(sender));
		smart_str_appends(&hb, "Message-ID: ");
		smart_str_append(&hb, msgid);
		smart_str_appends(&hb, "\r\n");
	}
	smart_str_0(&hb);
	head = hb.s;
	hb.s = NULL;
	/* the caller's fields and the empty line that ends the header */
	smart_str_appendl(&scan.out, "\r\n", 2);
	smart_str_0(&scan.out);

	memset(&body, 0, sizeof(body));
	body.parts[0] = ZSTR_VAL(head);
	body.lens[0] = ZSTR_LEN(head);
	body.parts[1] = ZSTR_VAL(scan.out.s);
	body.lens[1] = ZSTR_LEN(scan.out.s);
	body.parts[2] = message;
	body.lens[2] = message_len;
	body.nparts = 3;

	s = mail_session();
	/* a connection reused from an earlier call or request is checked, and
	 * replaced if it had gone, by php_smtpsock_send() itself */
	r = php_smtpsock_send(s, ZSTR_VAL(sender), ZSTR_LEN(sender), Z_ARRVAL(rcpts.list), NULL, NULL, &body, false, false, &res);
	if (r == FAILURE) {
		php_error_docref(NULL, E_WARNING, "%s", s->err.message ? ZSTR_VAL(s->err.message) : "sending failed");
	} else if (zend_hash_num_elements(Z_ARRVAL(res.rejected)) > 0) {
		smart_str list = {0};
		zend_string *addr;
		zval *text;
		ZEND_HASH_FOREACH_STR_KEY_VAL(Z_ARRVAL(res.rejected), addr, text) {
			if (list.s) {
				smart_str_appends(&list, "; ");
			}
			smart_str_append(&list, addr);
			smart_str_appends(&list, ": ");
			smart_str_append(&list, Z_STR_P(text));
		} ZEND_HASH_FOREACH_END();
		smart_str_0(&list);
		php_error_docref(NULL, E_WARNING, "The message was sent to the accepted recipients, but some were refused: %s",
			ZSTR_VAL(list.s));
		smart_str_free(&list);
	} else {
		RETVAL_TRUE;
	}
	if (r == SUCCESS && res.queue_id) {
		queue_id = zend_string_copy(res.queue_id);
	}
	php_smtpsock_result_dtor(&res);

out:
	if (log_pending) {
		log_mail(fname, ZSTR_VAL(to_r), ZSTR_VAL(subject_r), hdrs ? ZSTR_VAL(hdrs) : log_hdrs ? ZSTR_VAL(log_hdrs) : NULL,
			queue_id);
	}
	if (queue_id) zend_string_release(queue_id);
	if (hdrs) zend_string_release(hdrs);
	if (to_r) zend_string_release(to_r);
	if (subject_r) zend_string_release(subject_r);
	if (sender) zend_string_release(sender);
	if (msgid) zend_string_release(msgid);
	if (head) zend_string_release(head);
	if (log_hdrs) zend_string_release(log_hdrs);
	smart_str_free(&scan.out);
	smart_str_free(&hb);
	zval_ptr_dtor(&rcpts.list);
	zval_ptr_dtor(&rcpts.seen);
}

PHP_FUNCTION(smtp_mail)
{
	do_mail(INTERNAL_FUNCTION_PARAM_PASSTHRU, "smtp_mail()");
}

void php_smtpsock_mail_override(INTERNAL_FUNCTION_PARAMETERS)
{
	do_mail(INTERNAL_FUNCTION_PARAM_PASSTHRU, "mail()");
}
