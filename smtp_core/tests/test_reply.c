/*
 * Unit tests: smtp_reply. Every transcript is fed whole, byte by byte, and
 * split at every position (short ones also at every pair of positions); all
 * must give the same events, and the whole feed must give the expected ones.
 *
 * Events are written as text: a reply as "code|status|text|line0|line1...\n",
 * an error as "E<code>\n", and "B\n" when the parser is still busy at the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_reply.h"
#include "tap.h"
#include "smtp_core_config.h"

/* A growing string; or, with ref set, a checker that compares what is
 * added against ref instead of storing it (mismatch set on a difference). */
typedef struct {
	char *p;
	size_t len, cap;
	const char *ref;
	size_t ref_len;
	int mismatch;
} sb_t;

#define SB_INIT { NULL, 0, 0, NULL, 0, 0 }

static void sb_add(sb_t *s, const char *p, size_t n)
{
	if (s->ref != NULL) {
		if (s->len + n > s->ref_len || (n > 0 && memcmp(s->ref + s->len, p, n) != 0)) {
			s->mismatch = 1;
		}
		s->len += n;
		return;
	}
	if (s->len + n + 1 > s->cap) {
		size_t ncap = s->cap ? s->cap : 256;
		char *np;

		while (ncap < s->len + n + 1) {
			ncap *= 2;
		}
		np = (char *)realloc(s->p, ncap);
		if (np == NULL) {
			abort();
		}
		s->p = np;
		s->cap = ncap;
	}
	if (n > 0) {
		memcpy(s->p + s->len, p, n);
	}
	s->len += n;
	s->p[s->len] = '\0';
}

static void sb_adds(sb_t *s, const char *p)
{
	sb_add(s, p, strlen(p));
}

static void sb_addi(sb_t *s, long v)
{
	char tmp[32];

	snprintf(tmp, sizeof(tmp), "%ld", v);
	sb_adds(s, tmp);
}

static void sb_free(sb_t *s)
{
	free(s->p);
	s->p = NULL;
	s->len = s->cap = 0;
}

/* Invariants every complete reply must satisfy; failures are written into the record. */
static void record_reply(sb_t *out, const smtp_reply_t *r)
{
	size_t i;

	if (r->text == NULL || r->text[r->text_len] != '\0' || strlen(r->text) != r->text_len) {
		sb_adds(out, "BADTEXT");
	}
	if (r->code < 200 || r->code > 599 || r->nlines < 1 || r->nlines > SMTP_REPLY_MAX_LINES ||
	    r->text_len > SMTP_REPLY_MAX_SIZE) {
		sb_adds(out, "BADSHAPE");
	}
	sb_addi(out, r->code);
	sb_adds(out, "|");
	sb_adds(out, r->status);
	sb_adds(out, "|");
	if (r->text != NULL) {
		sb_add(out, r->text, r->text_len);
	}
	for (i = 0; i < r->nlines; i++) {
		const smtp_span_t *sp = &r->lines[i];

		if (sp->off > r->text_len || sp->len > r->text_len - sp->off) {
			sb_adds(out, "|BADSPAN");
			continue;
		}
		sb_adds(out, "|");
		sb_add(out, r->text + sp->off, sp->len);
	}
	sb_adds(out, "\n");
}

/* Feed n bytes, in as many calls as replies need; dead once an error was seen. */
static void feed_all(smtp_reply_parser_t *p, const char *d, size_t n, sb_t *out, int *dead)
{
	size_t pos = 0;

	while (!*dead && pos < n) {
		size_t used = (size_t)-1;
		int rc = smtp_reply_parser_feed(p, d + pos, n - pos, &used);

		if (rc < 0) {
			sb_adds(out, "E");
			sb_addi(out, rc);
			sb_adds(out, "\n");
			*dead = 1;
			return;
		}
		if (used > n - pos || (rc == 1 && used == 0) || (rc == 0 && used != n - pos)) {
			sb_adds(out, "BADCONSUMED\n");
			*dead = 1;
			return;
		}
		pos += used;
		if (rc == 1) {
			record_reply(out, &p->reply);
		}
	}
}

/* Feed d split at the given cut points (ascending, 0..n) into p, returning
 * the events. Returns 1 when p may be used again for the next transcript (it
 * ended neither in an error nor in the middle of a reply). */
static int run_cuts_with(smtp_reply_parser_t *p, const char *d, size_t n, const size_t *cuts, size_t ncuts, sb_t *out)
{
	size_t i, prev = 0;
	int dead = 0;

	for (i = 0; i <= ncuts; i++) {
		size_t next = i < ncuts ? cuts[i] : n;

		feed_all(p, d + prev, next - prev, out, &dead);
		prev = next;
	}
	if (!dead && smtp_reply_parser_busy(p)) {
		sb_adds(out, "B\n");
		return 0;
	}
	return !dead;
}

static void run_cuts(const char *d, size_t n, const size_t *cuts, size_t ncuts, sb_t *out)
{
	smtp_reply_parser_t p;

	smtp_reply_parser_init(&p);
	run_cuts_with(&p, d, n, cuts, ncuts, out);
	smtp_reply_parser_free(&p);
}

static void run_bytes(const char *d, size_t n, sb_t *out)
{
	smtp_reply_parser_t p;
	size_t i;
	int dead = 0;

	smtp_reply_parser_init(&p);
	for (i = 0; i < n && !dead; i++) {
		feed_all(&p, d + i, 1, out, &dead);
	}
	if (!dead && smtp_reply_parser_busy(&p)) {
		sb_adds(out, "B\n");
	}
	smtp_reply_parser_free(&p);
}

/* The transcript d[0..n) must give expect however it is split. */
static void transcript_n(const char *d, size_t n, const char *expect, size_t expect_len, int line)
{
	sb_t whole = SB_INIT, other = SB_INIT;
	smtp_reply_parser_t pp;
	size_t k, cuts[2];
	int same = 1;

	run_cuts(d, n, NULL, 0, &whole);
	sb_add(&whole, "", 0);
	if (!tap_mem(whole.p, whole.len, expect, expect_len, __FILE__, line, "whole feed")) {
		sb_free(&whole);
		return;
	}

	run_bytes(d, n, &other);
	sb_add(&other, "", 0);
	tap_mem(other.p, other.len, whole.p, whole.len, __FILE__, line, "byte by byte");
	sb_free(&other);

	/* One parser for every split while it stays reusable: a parser that has
	 * delivered a reply must start the next transcript as a new one. */
	smtp_reply_parser_init(&pp);
	for (k = 1; k < n && same; k++) {
		sb_t cmp = SB_INIT;

		cmp.ref = whole.p;
		cmp.ref_len = whole.len;
		cuts[0] = k;
		if (!run_cuts_with(&pp, d, n, cuts, 1, &cmp)) {
			smtp_reply_parser_free(&pp);
			smtp_reply_parser_init(&pp);
		}
		if (cmp.mismatch || cmp.len != whole.len) {
			fprintf(stderr, "  split at %lu differs\n", (unsigned long)k);
			same = 0;
			other.len = 0;
			run_cuts(d, n, cuts, 1, &other);
			sb_add(&other, "", 0);
		}
	}
	smtp_reply_parser_free(&pp);
	tap_mem(same ? whole.p : other.p, same ? whole.len : other.len, whole.p, whole.len,
	        __FILE__, line, "every split");

	if (n <= 80) {
		same = 1;
		for (k = 1; k < n && same; k++) {
			size_t j;

			for (j = k + 1; j < n && same; j++) {
				cuts[0] = k;
				cuts[1] = j;
				other.len = 0;
				run_cuts(d, n, cuts, 2, &other);
				sb_add(&other, "", 0);
				if (other.len != whole.len || memcmp(other.p, whole.p, whole.len) != 0) {
					fprintf(stderr, "  split at %lu,%lu differs\n", (unsigned long)k, (unsigned long)j);
					same = 0;
				}
			}
		}
		tap_mem(same ? whole.p : other.p, same ? whole.len : other.len, whole.p, whole.len,
		        __FILE__, line, "every two splits");
	}
	sb_free(&other);
	sb_free(&whole);
}

#define T(data, expect) transcript_n((data), sizeof(data) - 1, (expect), strlen(expect), __LINE__)

static void test_basic(void)
{
	T("220 mail.example.org ESMTP Postfix\r\n",
	  "220||220 mail.example.org ESMTP Postfix|mail.example.org ESMTP Postfix\n");
	T("250-mail.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 CHUNKING\r\n",
	  "250||250-mail.example.org\n250-PIPELINING\n250-SIZE 10240000\n250 CHUNKING"
	  "|mail.example.org|PIPELINING|SIZE 10240000|CHUNKING\n");
	/* LF-only and mixed line ends */
	T("250-a\n250-b\r\n250 c\n", "250||250-a\n250-b\n250 c|a|b|c\n");
	/* bare code lines: a final line with empty text */
	T("250\r\n", "250||250|\n");
	T("354\n", "354||354|\n");
	T("250-first\r\n250\r\n", "250||250-first\n250|first|\n");
	T("250-\r\n250 \r\n", "250||250-\n250 ||\n");
	/* text kept as sent: inner spaces, trailing spaces, '-' and digits */
	T("550 5.7.1  two  spaces \r\n", "550|5.7.1|550 5.7.1  two  spaces |5.7.1  two  spaces \n");
	T("250 250-x 250 y\r\n", "250||250 250-x 250 y|250-x 250 y\n");
	/* 8-bit and control octets (not NUL, not CR) pass */
	T("250 caf\xc3\xa9 \t\x01\x7f\r\n", "250||250 caf\xc3\xa9 \t\x01\x7f|caf\xc3\xa9 \t\x01\x7f\n");
	/* every class */
	T("200 a\r\n", "200||200 a|a\n");
	T("599 z\r\n", "599||599 z|z\n");
	T("334 VXNlcm5hbWU6\r\n", "334||334 VXNlcm5hbWU6|VXNlcm5hbWU6\n");
	/* several replies in a row (pipelined answers) */
	T("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 <x@y>: unknown\r\n354 End data with <CR><LF>.<CR><LF>\r\n",
	  "250|2.1.0|250 2.1.0 Ok|2.1.0 Ok\n"
	  "250|2.1.5|250 2.1.5 Ok|2.1.5 Ok\n"
	  "550|5.1.1|550 5.1.1 <x@y>: unknown|5.1.1 <x@y>: unknown\n"
	  "354||354 End data with <CR><LF>.<CR><LF>|End data with <CR><LF>.<CR><LF>\n");
	/* an incomplete reply at the end stays buffered */
	T("250 ok\r\n250-a\r\n", "250||250 ok|ok\nB\n");
	T("250 ok\r\n25", "250||250 ok|ok\nB\n");
	T("250 ok\r", "B\n");
	T("", "");
}

/* The enhanced status code rule (RFC 3463) octet by octet: class 2, 4 or 5,
 * '.', 1 to 3 digits, '.', 1 to 3 digits, then the end or SP. */
static size_t ref_status(const char *s, size_t len)
{
	size_t i = 2, n;

	if (len < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') {
		return 0;
	}
	for (n = 0; i + n < len && s[i + n] >= '0' && s[i + n] <= '9'; n++) {
	}
	if (n < 1 || n > 3 || i + n >= len || s[i + n] != '.') {
		return 0;
	}
	i += n + 1;
	for (n = 0; i + n < len && s[i + n] >= '0' && s[i + n] <= '9'; n++) {
	}
	if (n < 1 || n > 3 || (i + n < len && s[i + n] != ' ')) {
		return 0;
	}
	return i + n;
}

/* smtp_status_parse() against ref_status() on every string of up to 7
 * octets over the octets that matter. */
static void test_status_all(void)
{
	static const char abc[] = "2450.9 x";
	char buf[7];
	unsigned long total = 1, k, v;
	size_t len, i, base = sizeof(abc) - 1;
	int bad = 0, hits = 0;

	for (len = 0; len <= sizeof(buf); len++) {
		for (total = 1, i = 0; i < len; i++) {
			total *= base;
		}
		for (k = 0; k < total; k++) {
			for (v = k, i = 0; i < len; i++, v /= base) {
				buf[i] = abc[v % base];
			}
			if (smtp_status_parse(buf, len) != ref_status(buf, len)) {
				bad++;
			}
			hits += ref_status(buf, len) > 0;
		}
	}
	CHECK_INT(bad, 0);
	CHECK(hits > 1000);
}

static void test_status(void)
{
	T("250 2.1.5 Ok\r\n", "250|2.1.5|250 2.1.5 Ok|2.1.5 Ok\n");
	T("550 5.1.1 x\r\n", "550|5.1.1|550 5.1.1 x|5.1.1 x\n");
	T("451 4.3.0 try later\r\n", "451|4.3.0|451 4.3.0 try later|4.3.0 try later\n");
	T("250 2.0\r\n", "250||250 2.0|2.0\n");                 /* not a status */
	T("250 2.0.0\r\n", "250|2.0.0|250 2.0.0|2.0.0\n");       /* status at the end of text */
	T("250 2.0.0Ok\r\n", "250||250 2.0.0Ok|2.0.0Ok\n");      /* not followed by SP */
	T("250 2.0.0\tOk\r\n", "250||250 2.0.0\tOk|2.0.0\tOk\n");
	T("550 2.1.1 x\r\n", "550||550 2.1.1 x|2.1.1 x\n");      /* class does not match the code */
	T("250 5.1.1 x\r\n", "250||250 5.1.1 x|5.1.1 x\n");
	T("354 3.0.0 x\r\n", "354||354 3.0.0 x|3.0.0 x\n");      /* class 3 does not exist */
	T("250 2.123.456 x\r\n", "250|2.123.456|250 2.123.456 x|2.123.456 x\n");
	T("250 2.1234.5 x\r\n", "250||250 2.1234.5 x|2.1234.5 x\n");
	T("250 2.1.5678 x\r\n", "250||250 2.1.5678 x|2.1.5678 x\n");
	T("250 2..5 x\r\n", "250||250 2..5 x|2..5 x\n");
	T("250 2.1. x\r\n", "250||250 2.1. x|2.1. x\n");
	T("250  2.1.5 x\r\n", "250||250  2.1.5 x| 2.1.5 x\n");    /* must start the text */
	T("250-2.1.5 first\r\n250 4.0.0 last\r\n",
	  "250|2.1.5|250-2.1.5 first\n250 4.0.0 last|2.1.5 first|4.0.0 last\n");
	T("250-first\r\n250 2.0.0 last\r\n", "250||250-first\n250 2.0.0 last|first|2.0.0 last\n");
	T("250\r\n", "250||250|\n");

	CHECK_INT(smtp_status_parse("2.1.5", 5), 5);
	CHECK_INT(smtp_status_parse("2.1.5 Ok", 8), 5);
	CHECK_INT(smtp_status_parse("4.12.123 x", 10), 8);
	CHECK_INT(smtp_status_parse("5.1.1", 4), 0);      /* length honoured */
	CHECK_INT(smtp_status_parse("2.1.5x", 6), 0);
	CHECK_INT(smtp_status_parse("3.1.5", 5), 0);
	CHECK_INT(smtp_status_parse("2.0", 3), 0);
	CHECK_INT(smtp_status_parse("2.0000.0", 8), 0);
	CHECK_INT(smtp_status_parse("", 0), 0);
	CHECK_INT(smtp_status_parse(NULL, 0), 0);
	CHECK_INT(smtp_status_parse("2.1.5\t", 6), 0);
}

static void test_syntax(void)
{
	char e_syn[16], e_nul[16];

	snprintf(e_syn, sizeof(e_syn), "E%d\n", SMTP_E_SYNTAX);
	snprintf(e_nul, sizeof(e_nul), "E%d\n", SMTP_E_NUL);

	/* NUL anywhere */
	T("250 a\0b\r\n", e_nul);
	T("\0", e_nul);
	T("2\0", e_nul);
	T("250\0", e_nul);
	T("250 ok\r\n250 a\0", "250||250 ok|ok\nE-8\n");
	/* bare CR */
	T("250 a\rb\r\n", e_syn);
	T("250 a\r\r\n", e_syn);
	T("250 a\r\0\n", e_syn);   /* the CR is judged first */
	T("250\rx", e_syn);
	T("\r\n", e_syn);
	T("2\r\n", e_syn);
	/* empty and short lines */
	T("\n", e_syn);
	T("25\r\n", e_syn);
	T("250-a\r\n\r\n", e_syn);
	/* non-numeric codes */
	T("abc def\r\n", e_syn);
	T("25a ok\r\n", e_syn);
	T("2x0 ok\r\n", e_syn);
	T("HTTP/1.1 400 Bad Request\r\n", e_syn);
	T(" 250 ok\r\n", e_syn);
	T("+OK POP3\r\n", e_syn);
	/* codes outside 200..599 */
	T("199 x\r\n", e_syn);
	T("100 x\r\n", e_syn);
	T("099 x\r\n", e_syn);
	T("600 x\r\n", e_syn);
	T("999 x\r\n", e_syn);
	/* bad separators */
	T("250_x\r\n", e_syn);
	T("250\tx\r\n", e_syn);
	T("2500 x\r\n", e_syn);
	T("250x\r\n", e_syn);
	/* mixed codes in one reply */
	T("250-a\r\n251 b\r\n", e_syn);
	T("250-a\r\n350 b\r\n", e_syn);
	T("250-a\r\n250-b\r\n252-c\r\n", e_syn);
	T("250-a\r\n25\r\n", e_syn);
	/* a good reply, then garbage: the reply is delivered, then the error */
	T("250 ok\r\nXYZ\r\n", "250||250 ok|ok\nE-5\n");
	/* a different code after a complete reply is a new reply, not an error */
	T("250-a\r\n250 b\r\n354 go\r\n", "250||250-a\n250 b|a|b\n354||354 go|go\n");
}

/* A line of exactly n octets (code and separator included), then end. */
static char *make_line(const char *prefix, size_t n, const char *end)
{
	size_t pl = strlen(prefix), el = strlen(end);
	char *s = (char *)malloc(n + el + 1);
	size_t i;

	memcpy(s, prefix, pl);
	for (i = pl; i < n; i++) {
		s[i] = (char)('a' + i % 26);
	}
	memcpy(s + n, end, el);
	s[n + el] = '\0';
	return s;
}

static void expect_one(sb_t *e, const char *text, size_t text_len)
{
	/* single-line reply record for text (code 250, no status) */
	sb_adds(e, "250||");
	sb_add(e, text, text_len);
	sb_adds(e, "|");
	sb_add(e, text + 4, text_len - 4);
	sb_adds(e, "\n");
}

static void test_line_limit(void)
{
	sb_t e = SB_INIT;
	char *s;
	char err[16];

	/* exactly SMTP_REPLY_MAX_LINE octets: accepted, with CRLF or LF */
	s = make_line("250 ", SMTP_REPLY_MAX_LINE, "\r\n");
	expect_one(&e, s, SMTP_REPLY_MAX_LINE);
	transcript_n(s, strlen(s), e.p, e.len, __LINE__);
	free(s);
	s = make_line("250 ", SMTP_REPLY_MAX_LINE, "\n");
	transcript_n(s, strlen(s), e.p, e.len, __LINE__);
	free(s);
	/* ... and as a continuation line */
	s = make_line("250-", SMTP_REPLY_MAX_LINE, "\r\n250 end\r\n");
	e.len = 0;
	sb_adds(&e, "250||");
	sb_add(&e, s, SMTP_REPLY_MAX_LINE);
	sb_adds(&e, "\n250 end|");
	sb_add(&e, s + 4, SMTP_REPLY_MAX_LINE - 4);
	sb_adds(&e, "|end\n");
	transcript_n(s, strlen(s), e.p, e.len, __LINE__);
	free(s);

	/* one octet more: refused, whatever follows, even with no line end at all */
	snprintf(err, sizeof(err), "E%d\n", SMTP_E_LINE_TOO_LONG);
	s = make_line("250 ", SMTP_REPLY_MAX_LINE + 1, "\r\n");
	transcript_n(s, strlen(s), err, strlen(err), __LINE__);
	free(s);
	s = make_line("250 ", SMTP_REPLY_MAX_LINE + 1, "");
	transcript_n(s, strlen(s), err, strlen(err), __LINE__);
	free(s);
	s = make_line("250-", SMTP_REPLY_MAX_LINE + 1, "\n250 x\n");
	transcript_n(s, strlen(s), err, strlen(err), __LINE__);
	free(s);
	/* a NUL after the limit does not matter: the length is exceeded first */
	s = make_line("250 ", SMTP_REPLY_MAX_LINE + 10, "\r\n");
	s[SMTP_REPLY_MAX_LINE + 5] = '\0';
	transcript_n(s, SMTP_REPLY_MAX_LINE + 12, err, strlen(err), __LINE__);
	/* ... but a NUL before it does */
	s[SMTP_REPLY_MAX_LINE + 5] = 'x';
	s[100] = '\0';
	snprintf(err, sizeof(err), "E%d\n", SMTP_E_NUL);
	transcript_n(s, SMTP_REPLY_MAX_LINE + 12, err, strlen(err), __LINE__);
	free(s);
	/* a CR right at the limit followed by LF is the line end; by anything else a bare CR */
	s = make_line("250 ", SMTP_REPLY_MAX_LINE, "\rx\n");
	snprintf(err, sizeof(err), "E%d\n", SMTP_E_SYNTAX);
	transcript_n(s, strlen(s), err, strlen(err), __LINE__);
	free(s);

	/* refused as soon as the limit is passed: no LF needed, nothing buffered past it */
	{
		smtp_reply_parser_t p;
		size_t used;

		s = make_line("250 ", SMTP_REPLY_MAX_LINE, "");
		smtp_reply_parser_init(&p);
		CHECK_INT(smtp_reply_parser_feed(&p, s, SMTP_REPLY_MAX_LINE, &used), 0);
		CHECK_INT(used, SMTP_REPLY_MAX_LINE);
		CHECK(smtp_reply_parser_busy(&p));
		CHECK_INT(smtp_reply_parser_feed(&p, "x", 1, &used), SMTP_E_LINE_TOO_LONG);
		CHECK(p.line.cap <= 2 * SMTP_REPLY_MAX_LINE);
		smtp_reply_parser_free(&p);
		free(s);
	}
	sb_free(&e);
}

/* A reply of nlines lines "250-xN" ... "250 xN". */
static char *make_lines(size_t nlines, size_t *len, sb_t *e)
{
	sb_t s = SB_INIT, lines = SB_INIT;
	size_t i;

	sb_adds(e, "250||");
	for (i = 0; i < nlines; i++) {
		char tmp[32];

		snprintf(tmp, sizeof(tmp), "250%cx%lu", i + 1 < nlines ? '-' : ' ', (unsigned long)i);
		sb_adds(&s, tmp);
		sb_adds(&s, (i % 2) ? "\n" : "\r\n");
		sb_adds(e, tmp);
		if (i + 1 < nlines) {
			sb_adds(e, "\n");
		}
		sb_adds(&lines, "|");
		sb_adds(&lines, tmp + 4);
	}
	sb_add(e, lines.p, lines.len);
	sb_adds(e, "\n");
	sb_free(&lines);
	*len = s.len;
	return s.p;
}

static void test_lines_limit(void)
{
	sb_t e = SB_INIT;
	size_t len;
	char *s;
	char err[16];

	s = make_lines(SMTP_REPLY_MAX_LINES, &len, &e);
	transcript_n(s, len, e.p, e.len, __LINE__);
	free(s);

	e.len = 0;
	s = make_lines(SMTP_REPLY_MAX_LINES + 1, &len, &e);
	snprintf(err, sizeof(err), "E%d\n", SMTP_E_REPLY_TOO_LONG);
	transcript_n(s, len, err, strlen(err), __LINE__);
	free(s);
	sb_free(&e);

	/* an endless multi-line reply ends in the error, not in a hang or a huge buffer */
	{
		smtp_reply_parser_t p;
		size_t i, used;
		int rc = 0;

		smtp_reply_parser_init(&p);
		for (i = 0; i < 5000 && rc == 0; i++) {
			rc = smtp_reply_parser_feed(&p, "250-more\r\n", 10, &used);
		}
		CHECK_INT(rc, SMTP_E_REPLY_TOO_LONG);
		CHECK_INT(i, SMTP_REPLY_MAX_LINES);
		smtp_reply_parser_free(&p);
	}
}

/* A reply whose text is exactly total octets long, in lines of at most the line limit. */
static char *make_total(size_t total, int last_dash, size_t *len, sb_t *e)
{
	sb_t s = SB_INIT, text = SB_INIT, lines = SB_INIT;
	size_t left = total;

	while (left > 0) {
		int last = left <= SMTP_REPLY_MAX_LINE;
		size_t n = left;
		const char *prefix = "250-";
		char *l;

		if (!last) {
			/* a full line, leaving room for a last line of at least 4 octets */
			n = left - SMTP_REPLY_MAX_LINE < 5 ? left - 5 : SMTP_REPLY_MAX_LINE;
		} else if (!last_dash) {
			prefix = "250 ";
		}
		l = make_line(prefix, n, "\r\n");
		sb_add(&s, l, n + 2);
		sb_add(&text, l, n);
		sb_adds(&lines, "|");
		sb_add(&lines, l + 4, n - 4);
		free(l);
		left -= n;
		if (!last) {
			sb_adds(&text, "\n");
			left--;
		}
	}
	if (e != NULL) {
		sb_adds(e, "250||");
		sb_add(e, text.p, text.len);
		sb_add(e, lines.p, lines.len);
		sb_adds(e, "\n");
	}
	sb_free(&text);
	sb_free(&lines);
	*len = s.len;
	return s.p;
}

static void test_size_limit(void)
{
	sb_t e = SB_INIT;
	size_t len;
	char *s;
	char err[16];

	snprintf(err, sizeof(err), "E%d\n", SMTP_E_REPLY_TOO_LONG);

	s = make_total(SMTP_REPLY_MAX_SIZE, 0, &len, &e);
	transcript_n(s, len, e.p, e.len, __LINE__);
	free(s);

	s = make_total(SMTP_REPLY_MAX_SIZE + 1, 0, &len, NULL);
	transcript_n(s, len, err, strlen(err), __LINE__);
	free(s);

	/* exactly full, but announcing more lines: there is no room for them */
	s = make_total(SMTP_REPLY_MAX_SIZE, 1, &len, NULL);
	transcript_n(s, len, err, strlen(err), __LINE__);
	free(s);
	sb_free(&e);
}

static void test_sticky(void)
{
	smtp_reply_parser_t p;
	size_t used = 99;

	smtp_reply_parser_init(&p);
	CHECK_INT(smtp_reply_parser_feed(&p, "250-a\r\n", 7, &used), 0);
	CHECK_INT(smtp_reply_parser_feed(&p, "251 b\r\n", 7, &used), SMTP_E_SYNTAX);
	CHECK_INT(p.error, SMTP_E_SYNTAX);
	CHECK_INT(smtp_reply_parser_feed(&p, "250 fine\r\n", 10, &used), SMTP_E_SYNTAX);
	CHECK_INT(used, 0);
	CHECK_INT(smtp_reply_parser_feed(&p, "", 0, &used), SMTP_E_SYNTAX);
	CHECK_INT(smtp_reply_parser_feed(&p, "\0", 1, &used), SMTP_E_SYNTAX);
	smtp_reply_parser_free(&p);

	smtp_reply_parser_init(&p);
	CHECK_INT(smtp_reply_parser_feed(&p, "2\0", 2, &used), SMTP_E_NUL);
	CHECK_INT(smtp_reply_parser_feed(&p, "250 fine\r\n", 10, &used), SMTP_E_NUL);
	smtp_reply_parser_free(&p);
}

static void test_consumed(void)
{
	smtp_reply_parser_t p;
	const char two[] = "250 first\r\n251-second\r\n251 done\r\n";
	size_t used = 0;
	smtp_reply_t keep;

	smtp_reply_parser_init(&p);
	smtp_reply_init(&keep);
	CHECK(!smtp_reply_parser_busy(&p));
	CHECK_INT(smtp_reply_parser_feed(&p, two, sizeof(two) - 1, &used), 1);
	CHECK_INT(used, 11);   /* stops right after the first reply */
	CHECK_INT(p.reply.code, 250);
	CHECK_STR(p.reply.text, "250 first");
	CHECK(!smtp_reply_parser_busy(&p));
	CHECK_INT(smtp_reply_copy(&keep, &p.reply), SMTP_OK);

	CHECK_INT(smtp_reply_parser_feed(&p, two + 11, 12, &used), 0);
	CHECK_INT(used, 12);
	CHECK(smtp_reply_parser_busy(&p));   /* earlier lines of a multi-line reply */
	CHECK_INT(smtp_reply_parser_feed(&p, two + 23, 5, &used), 0);
	CHECK(smtp_reply_parser_busy(&p));   /* and a partial line */
	CHECK_INT(smtp_reply_parser_feed(&p, two + 28, sizeof(two) - 1 - 28, &used), 1);
	CHECK_INT(used, sizeof(two) - 1 - 28);
	CHECK_INT(p.reply.code, 251);
	CHECK_STR(p.reply.text, "251-second\n251 done");
	CHECK_INT(p.reply.nlines, 2);
	CHECK(!smtp_reply_parser_busy(&p));

	/* the copy is independent of the parser */
	CHECK_STR(keep.text, "250 first");
	CHECK_INT(keep.code, 250);
	CHECK_INT(keep.nlines, 1);
	CHECK_MEM(keep.text + keep.lines[0].off, keep.lines[0].len, "first", 5);

	/* copying again reuses dst; copying an empty reply empties it */
	CHECK_INT(smtp_reply_copy(&keep, &p.reply), SMTP_OK);
	CHECK_STR(keep.text, "251-second\n251 done");
	CHECK_INT(keep.nlines, 2);
	CHECK_MEM(keep.text + keep.lines[1].off, keep.lines[1].len, "done", 4);
	{
		smtp_reply_t empty;

		smtp_reply_init(&empty);
		CHECK_INT(smtp_reply_copy(&keep, &empty), SMTP_OK);
		CHECK_INT(keep.nlines, 0);
		CHECK_INT(keep.text_len, 0);
		CHECK_STR(keep.text, "");
		CHECK_INT(smtp_reply_copy(&keep, &keep), SMTP_OK);
	}

	/* a zero-length feed after a complete reply starts the next one */
	CHECK_INT(smtp_reply_parser_feed(&p, "", 0, &used), 0);
	CHECK_INT(p.reply.nlines, 0);
	CHECK_INT(used, 0);
	CHECK_INT(smtp_reply_parser_feed(&p, "221 2.0.0 Bye\n", 14, NULL), 1);
	CHECK_STR(p.reply.status, "2.0.0");
	smtp_reply_free(&keep);
	smtp_reply_free(&keep);
	smtp_reply_parser_free(&p);
}

static void test_nomem(void)
{
	const char in[] = "250-mail.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 CHUNKING\r\n";
	long budget;
	int done = 0;

	for (budget = 0; budget < 50 && !done; budget++) {
		smtp_reply_parser_t p;
		smtp_reply_t copy;
		size_t used, i;
		int rc = 0;

		smtp_reply_parser_init(&p);
		smtp_reply_init(&copy);
		smtp_test_alloc_budget = budget;
		/* byte by byte, so the line buffer is used too */
		for (i = 0; i < sizeof(in) - 1 && rc == 0; i++) {
			rc = smtp_reply_parser_feed(&p, in + i, 1, &used);
		}
		if (rc == 1) {
			rc = smtp_reply_copy(&copy, &p.reply);
			if (rc == SMTP_OK) {
				done = 1;
				CHECK_STR(copy.text, "250-mail.example.org\n250-PIPELINING\n250-SIZE 10240000\n250 CHUNKING");
			} else {
				CHECK_INT(rc, SMTP_E_NOMEM);
			}
		} else {
			CHECK_INT(rc, SMTP_E_NOMEM);
			CHECK_INT(smtp_reply_parser_feed(&p, "x", 1, &used), SMTP_E_NOMEM);   /* sticky */
		}
		smtp_test_alloc_budget = -1;
		smtp_reply_free(&copy);
		smtp_reply_parser_free(&p);
	}
	CHECK(done);
}

int main(void)
{
	test_basic();
	test_status();
	test_status_all();
	test_syntax();
	test_line_limit();
	test_lines_limit();
	test_size_limit();
	test_sticky();
	test_consumed();
	test_nomem();
	return tap_done("test_reply");
}
