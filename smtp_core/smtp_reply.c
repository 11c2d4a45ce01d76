/*
 * smtp_reply: incremental parser of SMTP replies.
 *
 * A line is taken whole from the input when it is all there (memchr for the
 * LF, then memchr for NUL and CR over the line), and only a line split across
 * feeds is collected in p->line. Every octet is judged by its position in the
 * line, in one fixed order (NUL, CR, code and separator, line length, reply
 * size), so that the first offending octet decides the error however the
 * input is split.
 */
#include "smtp_reply.h"

#include <string.h>
#include <stdint.h>

#define SMTP_REPLY_TEXT_MIN 256
#define SMTP_REPLY_LINES_MIN 8

void smtp_reply_init(smtp_reply_t *r)
{
	r->code = 0;
	r->status[0] = '\0';
	r->text = NULL;
	r->text_len = 0;
	r->lines = NULL;
	r->nlines = 0;
	r->lines_cap = 0;
	r->text_cap = 0;
}

void smtp_reply_free(smtp_reply_t *r)
{
	if (r->text != NULL) {
		smtp_free(r->text);
	}
	if (r->lines != NULL) {
		smtp_free(r->lines);
	}
	smtp_reply_init(r);
}

/* Empty the reply, keeping its storage. */
static void smtp_reply_clear(smtp_reply_t *r)
{
	r->code = 0;
	r->status[0] = '\0';
	r->text_len = 0;
	r->nlines = 0;
	if (r->text != NULL) {
		r->text[0] = '\0';
	}
}

/* Make text hold at least need octets. */
static int smtp_reply_text_reserve(smtp_reply_t *r, size_t need)
{
	size_t ncap;
	char *nt;

	if (r->text_cap >= need) {
		return SMTP_OK;
	}
	ncap = r->text_cap < SMTP_REPLY_TEXT_MIN ? SMTP_REPLY_TEXT_MIN : r->text_cap;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2) {
			ncap = need;
			break;
		}
		ncap *= 2;
	}
	/* The parser never needs more than a full reply and its NUL. */
	if (need <= SMTP_REPLY_MAX_SIZE + 1 && ncap > SMTP_REPLY_MAX_SIZE + 1) {
		ncap = SMTP_REPLY_MAX_SIZE + 1;
	}
	nt = (char *)smtp_realloc(r->text, ncap);
	if (nt == NULL) {
		return SMTP_E_NOMEM;
	}
	r->text = nt;
	r->text_cap = ncap;
	return SMTP_OK;
}

/* Make lines hold at least need spans. */
static int smtp_reply_lines_reserve(smtp_reply_t *r, size_t need)
{
	size_t ncap;
	smtp_span_t *nl;

	if (r->lines_cap >= need) {
		return SMTP_OK;
	}
	ncap = r->lines_cap < SMTP_REPLY_LINES_MIN ? SMTP_REPLY_LINES_MIN : r->lines_cap;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / sizeof(smtp_span_t)) {
			ncap = need;
			break;
		}
		ncap *= 2;
	}
	if (ncap > SIZE_MAX / sizeof(smtp_span_t)) {
		return SMTP_E_NOMEM;
	}
	nl = (smtp_span_t *)smtp_realloc(r->lines, ncap * sizeof(smtp_span_t));
	if (nl == NULL) {
		return SMTP_E_NOMEM;
	}
	r->lines = nl;
	r->lines_cap = ncap;
	return SMTP_OK;
}

int smtp_reply_copy(smtp_reply_t *dst, const smtp_reply_t *src)
{
	int rc;

	if (dst == src) {
		return SMTP_OK;
	}
	/* Reserve everything first so that a failure leaves dst as it was. */
	if (src->text != NULL) {
		rc = smtp_reply_text_reserve(dst, src->text_len + 1);
		if (rc != SMTP_OK) {
			return rc;
		}
	}
	if (src->nlines > 0) {
		rc = smtp_reply_lines_reserve(dst, src->nlines);
		if (rc != SMTP_OK) {
			return rc;
		}
	}
	if (src->text != NULL) {
		memcpy(dst->text, src->text, src->text_len);
		dst->text[src->text_len] = '\0';
		dst->text_len = src->text_len;
	} else {
		dst->text_len = 0;
		if (dst->text != NULL) {
			dst->text[0] = '\0';
		}
	}
	if (src->nlines > 0) {
		memcpy(dst->lines, src->lines, src->nlines * sizeof(smtp_span_t));
	}
	dst->nlines = src->nlines;
	dst->code = src->code;
	memcpy(dst->status, src->status, sizeof(dst->status));
	dst->status[sizeof(dst->status) - 1] = '\0';
	return SMTP_OK;
}

#define IS_DIGIT(c) ((unsigned char)((c) - '0') <= 9)

/* Length of the run of 1 to 3 digits at s[i..len) followed by end (len) or
 * by stop, 0 when it is not that. */
static size_t smtp_status_digits(const char *s, size_t i, size_t len, char stop)
{
	size_t n = 0;

	while (n < 3 && i + n < len && IS_DIGIT(s[i + n])) {
		n++;
	}
	if (n == 0 || (i + n < len && s[i + n] != stop)) {
		return 0;
	}
	return n;
}

size_t smtp_status_parse(const char *s, size_t len)
{
	size_t i, n;

	if (s == NULL || len < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') {
		return 0;
	}
	/* "c.s.d": the usual one-digit subject and detail at once */
	if (IS_DIGIT(s[2]) && s[3] == '.' && IS_DIGIT(s[4]) && (len == 5 || s[5] == ' ')) {
		return 5;
	}
	n = smtp_status_digits(s, 2, len, '.');
	if (n == 0 || 2 + n >= len) {
		return 0;
	}
	i = 2 + n + 1;
	n = smtp_status_digits(s, i, len, ' ');
	return n == 0 ? 0 : i + n;
}

void smtp_reply_parser_init(smtp_reply_parser_t *p)
{
	smtp_reply_init(&p->reply);
	smtp_buf_init(&p->line);
	p->complete = 0;
	p->error = 0;
}

void smtp_reply_parser_free(smtp_reply_parser_t *p)
{
	smtp_reply_free(&p->reply);
	smtp_buf_free(&p->line);
	p->complete = 0;
	p->error = 0;
}

int smtp_reply_parser_take(smtp_reply_parser_t *p, smtp_reply_t *keep)
{
	smtp_reply_t held;

	if (!p->complete || keep == &p->reply) {
		return 0;
	}
	held = p->reply;
	p->reply = *keep;
	*keep = held;
	smtp_reply_clear(&p->reply);
	p->complete = 0;
	return 1;
}

int smtp_reply_parser_busy(const smtp_reply_parser_t *p)
{
	if (smtp_buf_size(&p->line) > 0) {
		return 1;
	}
	return !p->complete && p->reply.nlines > 0;
}

/* Judge octet c (not NUL, not CR) at position k < 4 of a line: three digits
 * (first 2..5, equal to the first line's code on later lines), then SP or '-'. */
static int smtp_reply_check_prefix(const smtp_reply_parser_t *p, size_t k, unsigned char c)
{
	if (k < 3) {
		if (c < '0' || c > '9' || (k == 0 && (c < '2' || c > '5'))) {
			return SMTP_E_SYNTAX;
		}
		if (p->reply.nlines > 0 && (char)c != p->reply.text[k]) {
			return SMTP_E_SYNTAX;
		}
		return SMTP_OK;
	}
	return (c == ' ' || c == '-') ? SMTP_OK : SMTP_E_SYNTAX;
}

/* s[0..3] as a line starts: a code of 2..5 and two digits (the first
 * line's code on later lines), then SP or '-'. */
static int prefix_ok(const smtp_reply_parser_t *p, const unsigned char *s)
{
	if (s[0] < '2' || s[0] > '5' || s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9'
			|| (s[3] != ' ' && s[3] != '-')) {
		return 0;
	}
	return p->reply.nlines == 0 || memcmp(p->reply.text, s, 3) == 0;
}

/* A whole line (line end removed, prefix already checked) of len octets:
 * add it to the reply. Returns 1 when it was the last line, 0 when more
 * lines follow, or a negative SMTP_E_*. */
static int smtp_reply_finish_line(smtp_reply_parser_t *p, const char *line, size_t len)
{
	smtp_reply_t *r = &p->reply;
	smtp_span_t *span;
	int last, rc;

	if (len < 3) {
		return SMTP_E_SYNTAX;
	}
	last = (len == 3 || line[3] == ' ');
	/* room is there already but for the first replies and long ones */
	if (r->text_cap < r->text_len + len + 1 && (rc = smtp_reply_text_reserve(r, r->text_len + len + 1)) != SMTP_OK) {
		return rc;
	}
	if (r->lines_cap < r->nlines + 1 && (rc = smtp_reply_lines_reserve(r, r->nlines + 1)) != SMTP_OK) {
		return rc;
	}
	if (r->nlines == 0) {
		r->code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	}
	span = &r->lines[r->nlines++];
	span->off = r->text_len + (len > 3 ? 4 : 3);
	span->len = len > 3 ? len - 4 : 0;
	memcpy(r->text + r->text_len, line, len);
	r->text_len += len;
	if (last) {
		const char *t = r->text + r->lines[0].off;
		size_t n = smtp_status_parse(t, r->lines[0].len);

		r->text[r->text_len] = '\0';
		if (n > 0 && n < sizeof(r->status) && t[0] - '0' == r->code / 100) {
			memcpy(r->status, t, n);
			r->status[n] = '\0';
		} else {
			r->status[0] = '\0';
		}
		p->complete = 1;
		return 1;
	}
	/* More lines follow: one more line, and at least the '\n' joining it. */
	if (r->nlines >= SMTP_REPLY_MAX_LINES || r->text_len + 1 > SMTP_REPLY_MAX_SIZE) {
		return SMTP_E_REPLY_TOO_LONG;
	}
	r->text[r->text_len++] = '\n';
	return 0;
}

int smtp_reply_parser_feed(smtp_reply_parser_t *p, const char *data, size_t len, size_t *consumed)
{
	size_t pos = 0;
	int rc;

	if (consumed != NULL) {
		*consumed = 0;
	}
	if (p->error != 0) {
		return p->error;
	}
	if (p->complete) {
		smtp_reply_clear(&p->reply);
		p->complete = 0;
	}

	while (pos < len) {
		const char *s = data + pos;
		size_t avail = len - pos;
		size_t k = smtp_buf_size(&p->line);   /* octets of a partial line */
		const char *lf, *nul, *cr;
		size_t seg, lim, tot, m, i, content;
		int too_long;

		if (k > 0 && p->line.data[p->line.len - 1] == '\r') {
			/* A CR ended the previous feed: only an LF may follow it. */
			if (s[0] != '\n') {
				rc = SMTP_E_SYNTAX;
				goto fail;
			}
			pos++;
			rc = smtp_reply_finish_line(p, p->line.data + p->line.off, k - 1);
			smtp_buf_reset(&p->line);
			if (rc < 0) {
				goto fail;
			}
			if (rc == 1) {
				if (consumed != NULL) {
					*consumed = pos;
				}
				return 1;
			}
			continue;
		}

		lf = (const char *)memchr(s, '\n', avail);
		seg = lf != NULL ? (size_t)(lf - s) : avail;

		/* Octets this line may still take: k + lim <= SMTP_REPLY_MAX_LINE
		 * and text_len + k + lim <= SMTP_REPLY_MAX_SIZE. */
		lim = SMTP_REPLY_MAX_LINE - k;
		too_long = SMTP_E_LINE_TOO_LONG;
		tot = SMTP_REPLY_MAX_SIZE - p->reply.text_len - k;
		if (tot < lim) {
			lim = tot;
			too_long = SMTP_E_REPLY_TOO_LONG;
		}

		/* Code and separator: a whole line's first four octets that are
		 * right (the usual case) at once, anything else octet by octet,
		 * which finds the first one that is wrong. */
		i = 0;
		if (k == 0 && seg >= 4 && lim >= 4 && prefix_ok(p, (const unsigned char *)s)) {
			i = 4;
		}
		for (; i < seg && k + i < 4; i++) {
			unsigned char c = (unsigned char)s[i];

			if (c == '\0') {
				rc = SMTP_E_NUL;
				goto fail;
			}
			if (c == '\r') {
				break;
			}
			rc = smtp_reply_check_prefix(p, k + i, c);
			if (rc != SMTP_OK) {
				goto fail;
			}
			if (i >= lim) {
				rc = too_long;
				goto fail;
			}
		}

		/* The rest: nothing past the first octet over the limit matters. */
		m = seg > lim ? lim + 1 : seg;
		nul = (const char *)memchr(s, '\0', m);
		cr = (const char *)memchr(s, '\r', m);
		if (nul != NULL && (cr == NULL || nul < cr)) {
			rc = SMTP_E_NUL;
			goto fail;
		}
		if (cr != NULL) {
			/* Only the last octet before the LF (or a CR ending this feed) may be a CR. */
			if ((size_t)(cr - s) != seg - 1) {
				rc = SMTP_E_SYNTAX;
				goto fail;
			}
			content = seg - 1;
		} else {
			if (seg > lim) {
				rc = too_long;
				goto fail;
			}
			content = seg;
		}

		if (lf == NULL) {
			/* A partial line (a final CR is kept as the pending CR). */
			if (smtp_buf_append(&p->line, s, seg) != SMTP_OK) {
				rc = SMTP_E_NOMEM;
				goto fail;
			}
			pos = len;
			break;
		}

		if (k == 0) {
			rc = smtp_reply_finish_line(p, s, content);
		} else if (smtp_buf_append(&p->line, s, content) != SMTP_OK) {
			rc = SMTP_E_NOMEM;
		} else {
			rc = smtp_reply_finish_line(p, p->line.data + p->line.off, k + content);
			smtp_buf_reset(&p->line);
		}
		pos += seg + 1;
		if (rc < 0) {
			goto fail;
		}
		if (rc == 1) {
			if (consumed != NULL) {
				*consumed = pos;
			}
			return 1;
		}
	}
	if (consumed != NULL) {
		*consumed = pos;
	}
	return 0;

fail:
	p->error = rc;
	if (consumed != NULL) {
		*consumed = pos;
	}
	return rc;
}
