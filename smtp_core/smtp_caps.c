/* smtp_caps: the capabilities an EHLO reply advertises. */
#include "smtp_caps.h"

#include <string.h>
#include <stdint.h>
#include <limits.h>

static int smtp_caps_upper(int c)
{
	return (c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c;
}

static int smtp_caps_alnum(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Case-insensitive equality of s[0..len) and the NUL-terminated upper-case word. */
static int smtp_caps_eq(const char *s, size_t len, const char *word)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (word[i] == '\0' || smtp_caps_upper((unsigned char)s[i]) != word[i]) {
			return 0;
		}
	}
	return word[len] == '\0';
}

void smtp_caps_init(smtp_caps_t *caps)
{
	caps->flags = 0;
	caps->auth = 0;
	caps->size_limit = 0;
	caps->entries = NULL;
	caps->count = 0;
}

void smtp_caps_free(smtp_caps_t *caps)
{
	size_t i;

	for (i = 0; i < caps->count; i++) {
		smtp_free(caps->entries[i].keyword);
		smtp_free(caps->entries[i].params);
	}
	if (caps->entries != NULL) {
		smtp_free(caps->entries);
	}
	smtp_caps_init(caps);
}

unsigned smtp_auth_mech_bit(const char *name, size_t len)
{
	static const struct {
		const char *name;
		unsigned bit;
	} mechs[] = {
		{ "PLAIN", SMTP_AUTH_PLAIN },
		{ "LOGIN", SMTP_AUTH_LOGIN },
		{ "CRAM-MD5", SMTP_AUTH_CRAM_MD5 },
		{ "XOAUTH2", SMTP_AUTH_XOAUTH2 },
		{ "SCRAM-SHA-256", SMTP_AUTH_SCRAM_SHA_256 },
		{ "OAUTHBEARER", SMTP_AUTH_OAUTHBEARER }
	};
	size_t i;

	if (name == NULL) {
		return 0;
	}
	for (i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++) {
		if (smtp_caps_eq(name, len, mechs[i].name)) {
			return mechs[i].bit;
		}
	}
	return 0;
}

static unsigned smtp_caps_flag(const char *kw, size_t len)
{
	static const struct {
		const char *name;
		unsigned flag;
	} known[] = {
		{ "PIPELINING", SMTP_CAP_PIPELINING },
		{ "CHUNKING", SMTP_CAP_CHUNKING },
		{ "SIZE", SMTP_CAP_SIZE },
		{ "STARTTLS", SMTP_CAP_STARTTLS },
		{ "8BITMIME", SMTP_CAP_8BITMIME },
		{ "SMTPUTF8", SMTP_CAP_SMTPUTF8 },
		{ "DSN", SMTP_CAP_DSN },
		{ "ENHANCEDSTATUSCODES", SMTP_CAP_ENHANCEDSTATUSCODES },
		{ "BINARYMIME", SMTP_CAP_BINARYMIME },
		{ "AUTH", SMTP_CAP_AUTH }
	};
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (smtp_caps_eq(kw, len, known[i].name)) {
			return known[i].flag;
		}
	}
	return 0;
}

/* The SASL mechanisms named in params, space separated. */
static unsigned smtp_caps_auth_bits(const char *s, size_t len)
{
	unsigned bits = 0;
	size_t i = 0;

	while (i < len) {
		size_t start;

		while (i < len && s[i] == ' ') {
			i++;
		}
		start = i;
		while (i < len && s[i] != ' ') {
			i++;
		}
		if (i > start) {
			bits |= smtp_auth_mech_bit(s + start, i - start);
		}
	}
	return bits;
}

/* SIZE parameter: decimal digits (spaces around allowed); 0 when absent,
 * not a number, or too large. */
static unsigned long long smtp_caps_size(const char *s, size_t len)
{
	unsigned long long v = 0;
	size_t i = 0;
	int digits = 0;

	while (i < len && s[i] == ' ') {
		i++;
	}
	while (i < len && s[i] >= '0' && s[i] <= '9') {
		unsigned d = (unsigned)(s[i] - '0');

		if (v > (ULLONG_MAX - d) / 10) {
			return 0;
		}
		v = v * 10 + d;
		digits = 1;
		i++;
	}
	while (i < len && s[i] == ' ') {
		i++;
	}
	return (digits && i == len) ? v : 0;
}

static char *smtp_caps_strndup(const char *s, size_t len)
{
	char *d;

	if (len == SIZE_MAX) {
		return NULL;
	}
	d = (char *)smtp_malloc(len + 1);
	if (d == NULL) {
		return NULL;
	}
	if (len > 0) {
		memcpy(d, s, len);
	}
	d[len] = '\0';
	return d;
}

/* Add the mechanisms of add[0..len) that params does not name yet. */
static int smtp_caps_merge_auth(smtp_cap_entry_t *e, const char *add, size_t len)
{
	size_t plen = strlen(e->params), i = 0, n;
	char *np;

	if (len > SIZE_MAX - plen - 2) {
		return SMTP_E_NOMEM;
	}
	np = (char *)smtp_malloc(plen + len + 2);
	if (np == NULL) {
		return SMTP_E_NOMEM;
	}
	memcpy(np, e->params, plen);
	n = plen;
	while (i < len) {
		size_t start, j;
		int found = 0;

		while (i < len && add[i] == ' ') {
			i++;
		}
		start = i;
		while (i < len && add[i] != ' ') {
			i++;
		}
		if (i == start) {
			continue;
		}
		/* Already named (any case)? */
		j = 0;
		while (j < n && !found) {
			size_t ws;

			while (j < n && np[j] == ' ') {
				j++;
			}
			ws = j;
			while (j < n && np[j] != ' ') {
				j++;
			}
			if (j - ws == i - start) {
				size_t q;

				found = 1;
				for (q = 0; q < i - start; q++) {
					if (smtp_caps_upper((unsigned char)np[ws + q]) !=
					    smtp_caps_upper((unsigned char)add[start + q])) {
						found = 0;
						break;
					}
				}
			}
		}
		if (!found) {
			if (n > 0) {
				np[n++] = ' ';
			}
			memcpy(np + n, add + start, i - start);
			n += i - start;
		}
	}
	np[n] = '\0';
	smtp_free(e->params);
	e->params = np;
	return SMTP_OK;
}

/* One capability line. */
static int smtp_caps_line(smtp_caps_t *caps, size_t *cap_entries, const char *s, size_t len)
{
	size_t kw_len = 0, i, plen;
	const char *params;
	unsigned flag;
	smtp_cap_entry_t *e;

	if (len > 0 && memchr(s, '\0', len) != NULL) {
		return SMTP_OK;   /* not from the reply parser: a NUL would cut the params short */
	}
	while (kw_len < len && (smtp_caps_alnum((unsigned char)s[kw_len]) || (kw_len > 0 && s[kw_len] == '-'))) {
		kw_len++;
	}
	if (kw_len == 0) {
		return SMTP_OK;
	}
	if (kw_len < len) {
		/* SP, or '=' for the old "AUTH=mech" form; anything else: not a keyword. */
		if (!(s[kw_len] == ' ' || (s[kw_len] == '=' && smtp_caps_eq(s, kw_len, "AUTH")))) {
			return SMTP_OK;
		}
		params = s + kw_len + 1;
		plen = len - kw_len - 1;
	} else {
		params = s + len;
		plen = 0;
	}

	flag = smtp_caps_flag(s, kw_len);
	caps->flags |= flag;
	if (flag == SMTP_CAP_AUTH) {
		caps->auth |= smtp_caps_auth_bits(params, plen);
	}

	for (i = 0; i < caps->count; i++) {
		if (smtp_caps_eq(s, kw_len, caps->entries[i].keyword)) {
			if (flag == SMTP_CAP_AUTH) {
				return smtp_caps_merge_auth(&caps->entries[i], params, plen);
			}
			return SMTP_OK;   /* a keyword seen twice keeps its first parameters */
		}
	}

	if (flag == SMTP_CAP_SIZE) {
		caps->size_limit = smtp_caps_size(params, plen);
	}

	if (caps->count == *cap_entries) {
		size_t ncap = *cap_entries ? *cap_entries * 2 : 16;
		smtp_cap_entry_t *ne;

		if (ncap > SIZE_MAX / sizeof(smtp_cap_entry_t)) {
			return SMTP_E_NOMEM;
		}
		ne = (smtp_cap_entry_t *)smtp_realloc(caps->entries, ncap * sizeof(smtp_cap_entry_t));
		if (ne == NULL) {
			return SMTP_E_NOMEM;
		}
		caps->entries = ne;
		*cap_entries = ncap;
	}
	e = &caps->entries[caps->count];
	e->keyword = smtp_caps_strndup(s, kw_len);
	if (e->keyword == NULL) {
		return SMTP_E_NOMEM;
	}
	e->params = smtp_caps_strndup(params, plen);
	if (e->params == NULL) {
		smtp_free(e->keyword);
		return SMTP_E_NOMEM;
	}
	for (i = 0; i < kw_len; i++) {
		e->keyword[i] = (char)smtp_caps_upper((unsigned char)e->keyword[i]);
	}
	caps->count++;
	return SMTP_OK;
}

int smtp_caps_parse(smtp_caps_t *caps, const smtp_reply_t *ehlo)
{
	size_t i, cap_entries = 0;

	smtp_caps_free(caps);
	if (ehlo == NULL || ehlo->text == NULL) {
		return SMTP_OK;
	}
	/* Line 0 is the greeting ("domain [text]"). */
	for (i = 1; i < ehlo->nlines; i++) {
		const smtp_span_t *sp = &ehlo->lines[i];
		int rc;

		if (sp->off > ehlo->text_len || sp->len > ehlo->text_len - sp->off) {
			continue;
		}
		rc = smtp_caps_line(caps, &cap_entries, ehlo->text + sp->off, sp->len);
		if (rc != SMTP_OK) {
			smtp_caps_free(caps);
			return rc;
		}
	}
	return SMTP_OK;
}

const char *smtp_caps_get(const smtp_caps_t *caps, const char *keyword)
{
	size_t i, len;

	if (caps == NULL || keyword == NULL) {
		return NULL;
	}
	len = strlen(keyword);
	for (i = 0; i < caps->count; i++) {
		if (smtp_caps_eq(keyword, len, caps->entries[i].keyword)) {
			return caps->entries[i].params;
		}
	}
	return NULL;
}
