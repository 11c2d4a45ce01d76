/*
 * smtp_addr: RFC 5322 address lists and header blocks.
 *
 * Both walks run twice: once to check the whole input, then to report, so
 * that a callback is never called for input that turns out to be malformed.
 */
#include "smtp_addr.h"

#include <string.h>

static int smtp_addr_wsp(int c)
{
	return c == ' ' || c == '\t';
}

/* atext (RFC 5322 3.2.3), octets >= 0x80 (RFC 6532) and '.', which both
 * dot-atoms and the obsolete phrase allow. */
static int smtp_addr_atext(int c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80) {
		return 1;
	}
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL;
}

/* At a CR or LF: step over a fold (CRLF or LF followed by SP/HTAB; the
 * white space itself is left for the caller). */
static int smtp_addr_fold(const char *s, size_t len, size_t *i)
{
	size_t j = *i;

	if (s[j] == '\r') {
		j++;
		if (j >= len || s[j] != '\n') {
			return SMTP_E_SYNTAX;
		}
	}
	j++;
	if (j >= len || !smtp_addr_wsp((unsigned char)s[j])) {
		return SMTP_E_SYNTAX;
	}
	*i = j;
	return SMTP_OK;
}

/* At the opening delimiter (one of '"', '(', '['): step past the matching
 * closing one, honouring backslash escapes, folds and (for comments) nesting. */
static int smtp_addr_delimited(const char *s, size_t len, size_t *i, char open, char close)
{
	size_t j = *i + 1;
	int depth = 1;

	while (j < len) {
		unsigned char c = (unsigned char)s[j];

		if (c == '\\') {
			if (j + 1 >= len || s[j + 1] == '\0' || s[j + 1] == '\r' || s[j + 1] == '\n') {
				return SMTP_E_SYNTAX;
			}
			j += 2;
			continue;
		}
		if (c == '\0') {
			return SMTP_E_SYNTAX;
		}
		if (c == '\r' || c == '\n') {
			if (smtp_addr_fold(s, len, &j) != SMTP_OK) {
				return SMTP_E_SYNTAX;
			}
			continue;
		}
		if (c == (unsigned char)close) {
			if (--depth == 0) {
				*i = j + 1;
				return SMTP_OK;
			}
		} else if (c == (unsigned char)open && open != close) {
			if (open == '[') {
				return SMTP_E_SYNTAX;   /* no '[' inside a domain literal */
			}
			depth++;
		}
		j++;
	}
	return SMTP_E_SYNTAX;   /* unterminated */
}

/* Skip white space, folds and comments. */
static int smtp_addr_cfws(const char *s, size_t len, size_t *i)
{
	while (*i < len) {
		unsigned char c = (unsigned char)s[*i];

		if (smtp_addr_wsp(c)) {
			(*i)++;
		} else if (c == '\r' || c == '\n') {
			if (smtp_addr_fold(s, len, i) != SMTP_OK) {
				return SMTP_E_SYNTAX;
			}
		} else if (c == '(') {
			if (smtp_addr_delimited(s, len, i, '(', ')') != SMTP_OK) {
				return SMTP_E_SYNTAX;
			}
		} else {
			break;
		}
	}
	return SMTP_OK;
}

/* At an addr-spec octet: step over one token (a run of atext/'.'/'@', a
 * quoted string or a domain literal). 0 when s[*i] starts none. */
static int smtp_addr_token(const char *s, size_t len, size_t *i, int *rc)
{
	unsigned char c = (unsigned char)s[*i];

	*rc = SMTP_OK;
	if (c == '"') {
		*rc = smtp_addr_delimited(s, len, i, '"', '"');
		return 1;
	}
	if (c == '[') {
		*rc = smtp_addr_delimited(s, len, i, '[', ']');
		return 1;
	}
	if (c == '@' || smtp_addr_atext(c)) {
		while (*i < len && (s[*i] == '@' || smtp_addr_atext((unsigned char)s[*i]))) {
			(*i)++;
		}
		return 1;
	}
	return 0;
}

/* An address to report: never empty, never with a line end inside. */
static int smtp_addr_emit(const char *s, size_t start, size_t end, smtp_addr_cb cb, void *ud)
{
	if (end <= start || memchr(s + start, '\r', end - start) != NULL ||
	    memchr(s + start, '\n', end - start) != NULL) {
		return SMTP_E_SYNTAX;
	}
	return cb != NULL ? cb(ud, s + start, end - start) : SMTP_OK;
}

/* After '<': the addr-spec up to '>' (optional obsolete route "@a,@b:"),
 * white space and comments allowed only around it. *i ends after '>'. */
static int smtp_addr_angle(const char *s, size_t len, size_t *i, size_t *start, size_t *end)
{
	int rc;

	if (smtp_addr_cfws(s, len, i) != SMTP_OK) {
		return SMTP_E_SYNTAX;
	}
	if (*i < len && s[*i] == '@') {
		/* obs-route: "@domain *("," [CFWS] ["@" domain]) ':'" */
		while (*i < len && s[*i] != ':') {
			unsigned char c = (unsigned char)s[*i];

			if (c == ',') {
				(*i)++;
			} else if (smtp_addr_wsp(c) || c == '\r' || c == '\n' || c == '(') {
				if (smtp_addr_cfws(s, len, i) != SMTP_OK) {
					return SMTP_E_SYNTAX;
				}
			} else if (!smtp_addr_token(s, len, i, &rc) || rc != SMTP_OK || c == '"') {
				return SMTP_E_SYNTAX;
			}
		}
		if (*i >= len) {
			return SMTP_E_SYNTAX;
		}
		(*i)++;
		if (smtp_addr_cfws(s, len, i) != SMTP_OK) {
			return SMTP_E_SYNTAX;
		}
	}
	*start = *i;
	while (*i < len && smtp_addr_token(s, len, i, &rc)) {
		if (rc != SMTP_OK) {
			return SMTP_E_SYNTAX;
		}
	}
	*end = *i;
	if (smtp_addr_cfws(s, len, i) != SMTP_OK) {
		return SMTP_E_SYNTAX;
	}
	if (*i >= len || s[*i] != '>' || *end == *start) {
		return SMTP_E_SYNTAX;   /* unclosed, white space inside, or empty "<>" */
	}
	(*i)++;
	return SMTP_OK;
}

static int smtp_addr_walk(const char *s, size_t len, smtp_addr_cb cb, void *ud)
{
	size_t i = 0;
	int in_group = 0, rc;

	for (;;) {
		size_t tok_start = 0, tok_end = 0, ntok = 0;
		int gap = 0, inner_gap = 0, angle = 0;

		if (smtp_addr_cfws(s, len, &i) != SMTP_OK) {
			return SMTP_E_SYNTAX;
		}
		if (i >= len) {
			break;
		}
		if (s[i] == ',') {
			i++;          /* empty element */
			continue;
		}
		if (s[i] == ';') {
			if (!in_group) {
				return SMTP_E_SYNTAX;
			}
			in_group = 0;
			i++;
			if (smtp_addr_cfws(s, len, &i) != SMTP_OK) {
				return SMTP_E_SYNTAX;
			}
			if (i < len) {
				if (s[i] != ',') {
					return SMTP_E_SYNTAX;
				}
				i++;
			}
			continue;
		}

		/* One mailbox, or the name of a group: words until a delimiter. */
		while (i < len) {
			unsigned char c = (unsigned char)s[i];
			size_t t = i;

			if (smtp_addr_wsp(c) || c == '\r' || c == '\n' || c == '(') {
				if (smtp_addr_cfws(s, len, &i) != SMTP_OK) {
					return SMTP_E_SYNTAX;
				}
				if (ntok > 0) {
					gap = 1;
				}
				continue;
			}
			if (smtp_addr_token(s, len, &i, &rc)) {
				if (rc != SMTP_OK) {
					return SMTP_E_SYNTAX;
				}
				if (ntok == 0) {
					tok_start = t;
				}
				if (gap) {
					inner_gap = 1;
				}
				gap = 0;
				tok_end = i;
				ntok++;
				continue;
			}
			break;
		}

		if (i < len && s[i] == '<') {
			size_t a_start, a_end;

			i++;
			if (smtp_addr_angle(s, len, &i, &a_start, &a_end) != SMTP_OK) {
				return SMTP_E_SYNTAX;
			}
			rc = smtp_addr_emit(s, a_start, a_end, cb, ud);
			if (rc != SMTP_OK) {
				return rc;
			}
			if (smtp_addr_cfws(s, len, &i) != SMTP_OK) {
				return SMTP_E_SYNTAX;
			}
			angle = 1;
		} else if (i < len && s[i] == ':') {
			if (in_group || ntok == 0) {
				return SMTP_E_SYNTAX;   /* nested group, or a group without a name */
			}
			in_group = 1;
			i++;
			continue;
		}

		if (!angle) {
			/* A bare addr-spec: its tokens must touch each other. */
			if (ntok == 0 || inner_gap) {
				return SMTP_E_SYNTAX;
			}
			rc = smtp_addr_emit(s, tok_start, tok_end, cb, ud);
			if (rc != SMTP_OK) {
				return rc;
			}
		}

		/* After a mailbox: the end, a comma, or the ';' closing its group. */
		if (i >= len) {
			break;
		}
		if (s[i] == ',') {
			i++;
		} else if (!(s[i] == ';' && in_group)) {
			return SMTP_E_SYNTAX;
		}
	}
	return in_group ? SMTP_E_SYNTAX : SMTP_OK;
}

int smtp_addr_list_parse(const char *s, size_t len, smtp_addr_cb cb, void *ud)
{
	int rc;

	if (s == NULL) {
		return len == 0 ? SMTP_OK : SMTP_E_SYNTAX;
	}
	rc = smtp_addr_walk(s, len, NULL, NULL);
	if (rc != SMTP_OK || cb == NULL) {
		return rc;
	}
	return smtp_addr_walk(s, len, cb, ud);
}

int smtp_addr_list_scan(const char *s, size_t len, smtp_addr_cb cb, void *ud)
{
	if (s == NULL) {
		return len == 0 ? SMTP_OK : SMTP_E_SYNTAX;
	}
	return smtp_addr_walk(s, len, cb, ud);
}

/* Report one field: s[start..end) with the colon at colon. */
static int smtp_header_emit(const char *s, size_t start, size_t colon, size_t end,
                            smtp_header_cb cb, void *ud)
{
	size_t v = colon + 1;

	/* Leading white space, folds included, is not part of the value. */
	while (v < end) {
		if (smtp_addr_wsp((unsigned char)s[v])) {
			v++;
		} else if (s[v] == '\r' && v + 1 < end && s[v + 1] == '\n') {
			v += 2;
		} else if (s[v] == '\n') {
			v++;
		} else {
			break;
		}
	}
	return cb(ud, s + start, colon - start, s + v, end - v, s + start, end - start);
}

static int smtp_headers_walk(const char *s, size_t len, smtp_header_cb cb, void *ud)
{
	size_t pos = 0, f_start = 0, f_colon = 0, f_end = 0;
	int open = 0, rc;

	while (pos < len) {
		const char *lf = (const char *)memchr(s + pos, '\n', len - pos);
		size_t line_end = lf != NULL ? (size_t)(lf - s) : len;
		size_t next = lf != NULL ? line_end + 1 : len;
		size_t end = line_end;

		if (lf != NULL && end > pos && s[end - 1] == '\r') {
			end--;
		}
		if (end == pos) {
			return SMTP_E_SYNTAX;   /* empty line */
		}
		if (memchr(s + pos, '\0', end - pos) != NULL || memchr(s + pos, '\r', end - pos) != NULL) {
			return SMTP_E_SYNTAX;   /* NUL or bare CR */
		}
		if (smtp_addr_wsp((unsigned char)s[pos])) {
			if (!open) {
				return SMTP_E_SYNTAX;   /* continuation without a field */
			}
			f_end = end;
		} else {
			const char *colon = (const char *)memchr(s + pos, ':', end - pos);
			size_t j;

			if (colon == NULL || colon == s + pos) {
				return SMTP_E_SYNTAX;
			}
			for (j = pos; j < (size_t)(colon - s); j++) {
				unsigned char c = (unsigned char)s[j];

				if (c < 33 || c > 126) {
					return SMTP_E_SYNTAX;
				}
			}
			if (open && cb != NULL) {
				rc = smtp_header_emit(s, f_start, f_colon, f_end, cb, ud);
				if (rc != 0) {
					return rc;
				}
			}
			open = 1;
			f_start = pos;
			f_colon = (size_t)(colon - s);
			f_end = end;
		}
		pos = next;
	}
	if (open && cb != NULL) {
		rc = smtp_header_emit(s, f_start, f_colon, f_end, cb, ud);
		if (rc != 0) {
			return rc;
		}
	}
	return SMTP_OK;
}

int smtp_headers_parse(const char *s, size_t len, smtp_header_cb cb, void *ud)
{
	int rc;

	if (s == NULL) {
		return len == 0 ? SMTP_OK : SMTP_E_SYNTAX;
	}
	rc = smtp_headers_walk(s, len, NULL, NULL);
	if (rc != SMTP_OK || cb == NULL) {
		return rc;
	}
	return smtp_headers_walk(s, len, cb, ud);
}

int smtp_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
		unsigned char c = *p;
		size_t n, i;
		unsigned long cp;

		if (c < 0x80) {
			p += smtp_ascii_prefix((const char *)p, (size_t)(end - p));
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			n = 1;
			cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			n = 2;
			cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;   /* continuation byte first, C0/C1, F5..FF */
		}
		if ((size_t)(end - p) <= n) {
			return 0;
		}
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xC0) != 0x80) {
				return 0;
			}
			cp = (cp << 6) | (p[i] & 0x3F);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF)) {
			return 0;
		}
		p += n + 1;
	}
	return 1;
}

size_t smtp_addr_domain_offset(const char *s, size_t len)
{
	size_t i = len;

	while (i > 0) {
		if (s[i - 1] == '@') {
			return i;
		}
		i--;
	}
	return len;
}

static int smtp_has_8bit(const char *s, size_t len)
{
	return smtp_ascii_prefix(s, len) < len;
}

smtp_addr_kind smtp_addr_classify(const char *s, size_t len)
{
	size_t dom;

	if (s == NULL || !smtp_has_8bit(s, len)) {
		return SMTP_ADDR_ASCII;
	}
	if (!smtp_utf8_valid(s, len)) {
		return SMTP_ADDR_BAD_UTF8;
	}
	dom = smtp_addr_domain_offset(s, len);
	/* no '@' at all: the whole address is local part */
	if (dom == len || smtp_has_8bit(s, dom)) {
		return SMTP_ADDR_INTL_LOCAL;
	}
	return SMTP_ADDR_INTL_DOMAIN;
}

smtp_addr_route smtp_addr_route_for(smtp_addr_kind k, int smtputf8, int alabels)
{
	switch (k) {
	case SMTP_ADDR_ASCII:
		return SMTP_ADDR_AS_IS;
	case SMTP_ADDR_INTL_DOMAIN:
		if (smtputf8) {
			return SMTP_ADDR_WITH_SMTPUTF8;
		}
		return alabels ? SMTP_ADDR_TO_ALABELS : SMTP_ADDR_UNSENDABLE;
	case SMTP_ADDR_INTL_LOCAL:
		return smtputf8 ? SMTP_ADDR_WITH_SMTPUTF8 : SMTP_ADDR_UNSENDABLE;
	default:
		return SMTP_ADDR_UNSENDABLE;
	}
}
