/* Unit tests: smtp_data (the DATA/BDAT encoder) and smtp_data_measure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_data.h"
#include "tap.h"
#include "smtp_core_config.h"

/* The live bytes of b ("" when it owns no storage). */
static const char *bufp(const smtp_buf_t *b)
{
	return b->data != NULL ? b->data + b->off : "";
}

/* Encode msg in one write (cuts == NULL) or split at the ascending cut points. */
static int encode(const char *msg, size_t len, int dot, const size_t *cuts, size_t ncuts,
                  smtp_buf_t *out, smtp_data_enc_t *e)
{
	size_t i, prev = 0;

	smtp_data_enc_init(e, dot);
	for (i = 0; i <= ncuts; i++) {
		size_t next = (cuts != NULL && i < ncuts) ? cuts[i] : len;
		int rc = smtp_data_enc_write(e, out, msg + prev, next - prev);

		if (rc != SMTP_OK) {
			return rc;
		}
		prev = next;
	}
	return smtp_data_enc_finish(e, out);
}

/* CRLF-normalised msg ending in a line end (a reference written octet by octet). */
static char *normalise(const char *m, size_t len, size_t *olen)
{
	char *o = (char *)malloc(2 * len + 3);
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		if (m[i] == '\r') {
			o[n++] = '\r';
			o[n++] = '\n';
			if (i + 1 < len && m[i + 1] == '\n') {
				i++;
			}
		} else if (m[i] == '\n') {
			o[n++] = '\r';
			o[n++] = '\n';
		} else {
			o[n++] = m[i];
		}
	}
	if (n > 0 && !(n >= 2 && o[n - 2] == '\r' && o[n - 1] == '\n')) {
		o[n++] = '\r';
		o[n++] = '\n';
	}
	*olen = n;
	return o;
}

/* Undo DATA encoding: the output must end with ".\r\n", every line must end
 * with CRLF, no bare CR or LF; drop the terminator and the first '.' of lines
 * starting with '.'. Returns NULL when the output is malformed. */
static char *unstuff(const char *d, size_t len, size_t *olen)
{
	char *o;
	size_t i = 0, n = 0;

	if (len < 3 || memcmp(d + len - 3, ".\r\n", 3) != 0) {
		return NULL;
	}
	if (len > 3 && (len < 5 || d[len - 5] != '\r' || d[len - 4] != '\n')) {
		return NULL;   /* the terminator starts a line */
	}
	len -= 3;
	o = (char *)malloc(len + 1);
	while (i < len) {
		const char *lf = (const char *)memchr(d + i, '\n', len - i);
		size_t end;

		if (lf == NULL || lf == d + i || lf[-1] != '\r') {
			free(o);
			return NULL;
		}
		end = (size_t)(lf - d) + 1;
		if (memchr(d + i, '\r', end - 2 - i) != NULL) {
			free(o);
			return NULL;   /* bare CR inside */
		}
		if (d[i] == '.') {
			if (end - i < 4 || d[i + 1] != '.') {
				free(o);
				return NULL;   /* an unstuffed dot line would end the data */
			}
			i++;
		}
		memcpy(o + n, d + i, end - i);
		n += end - i;
		i = end;
	}
	*olen = n;
	return o;
}

/* msg must encode to want (DATA when dot, BDAT otherwise) however it is split. */
static void enc_case(const char *msg, size_t len, int dot, const char *want, size_t want_len, int line)
{
	smtp_buf_t out;
	smtp_data_enc_t e;
	size_t k, j, cuts[2];
	int same = 1;
	size_t ref_len;
	char *ref;

	smtp_buf_init(&out);
	tap_long(encode(msg, len, dot, NULL, 0, &out, &e), SMTP_OK, __FILE__, line, "encode", "SMTP_OK");
	tap_mem(bufp(&out), smtp_buf_size(&out), want, want_len, __FILE__, line, "one write");
	tap_long((long long)e.in_bytes, (long long)len, __FILE__, line, "in_bytes", "len");
	tap_long((long long)e.out_bytes, (long long)want_len, __FILE__, line, "out_bytes", "want_len");

	/* every split into two and three chunks, and octet by octet */
	for (k = 0; k <= len && same; k++) {
		for (j = k; j <= len && same; j++) {
			cuts[0] = k;
			cuts[1] = j;
			smtp_buf_reset(&out);
			encode(msg, len, dot, cuts, 2, &out, &e);
			if (smtp_buf_size(&out) != want_len || memcmp(bufp(&out), want, want_len) != 0 ||
			    e.out_bytes != want_len || e.in_bytes != len) {
				fprintf(stderr, "  split at %lu,%lu differs\n", (unsigned long)k, (unsigned long)j);
				same = 0;
			}
		}
	}
	tap_ok(same, __FILE__, line, "every split");
	{
		size_t *all = (size_t *)malloc((len + 1) * sizeof(size_t));

		for (k = 0; k < len; k++) {
			all[k] = k + 1;
		}
		smtp_buf_reset(&out);
		encode(msg, len, dot, all, len, &out, &e);
		tap_mem(bufp(&out), smtp_buf_size(&out), want, want_len, __FILE__, line, "octet by octet");
		free(all);
	}

	/* the size declared is the BDAT size */
	ref = normalise(msg, len, &ref_len);
	tap_long((long long)smtp_data_measure(msg, len), (long long)ref_len, __FILE__, line, "measure", "normalised length");
	if (dot) {
		size_t ul = 0;
		char *u = unstuff(want, want_len, &ul);

		tap_ok(u != NULL, __FILE__, line, "unstuffable");
		if (u != NULL) {
			tap_mem(u, ul, ref, ref_len, __FILE__, line, "unstuff(encode(x)) == normalise(x)");
		}
		free(u);
	} else {
		tap_mem(want, want_len, ref, ref_len, __FILE__, line, "BDAT output == normalise(x)");
	}
	free(ref);
	smtp_buf_free(&out);
}

#define D(msg, want) enc_case((msg), sizeof(msg) - 1, 1, (want), sizeof(want) - 1, __LINE__)
#define B(msg, want) enc_case((msg), sizeof(msg) - 1, 0, (want), sizeof(want) - 1, __LINE__)

static void test_cases(void)
{
	/* empty message */
	D("", ".\r\n");
	B("", "");
	/* no final line end */
	D("abc", "abc\r\n.\r\n");
	B("abc", "abc\r\n");
	/* line ends kept / normalised */
	D("a\r\nb\r\n", "a\r\nb\r\n.\r\n");
	D("a\nb\n", "a\r\nb\r\n.\r\n");
	D("a\rb\r", "a\r\nb\r\n.\r\n");
	D("a\n\nb", "a\r\n\r\nb\r\n.\r\n");
	D("a\r\rb", "a\r\n\r\nb\r\n.\r\n");
	D("a\r\r\nb", "a\r\n\r\nb\r\n.\r\n");
	D("a\n\rb", "a\r\n\r\nb\r\n.\r\n");
	D("a\r\n\r\n", "a\r\n\r\n.\r\n");
	D("\n", "\r\n.\r\n");
	D("\r", "\r\n.\r\n");
	D("\r\n", "\r\n.\r\n");
	D("\n\r", "\r\n\r\n.\r\n");
	B("a\rb\nc\r\nd", "a\r\nb\r\nc\r\nd\r\n");
	/* dot-stuffing: first line, after LF, after CR, after CRLF */
	D(".", "..\r\n.\r\n");
	D(".\r\n", "..\r\n.\r\n");
	D(".foo", "..foo\r\n.\r\n");
	D("a\n.b", "a\r\n..b\r\n.\r\n");
	D("a\r.b", "a\r\n..b\r\n.\r\n");
	D("a\r\n.b\r\n", "a\r\n..b\r\n.\r\n");
	D("a\r\n.\r\nb", "a\r\n..\r\nb\r\n.\r\n");
	D("...", "....\r\n.\r\n");
	D("..\n..", "...\r\n...\r\n.\r\n");
	D("a.b\n a.\n", "a.b\r\n a.\r\n.\r\n");   /* only at the start of a line */
	D("\n.\n.\n", "\r\n..\r\n..\r\n.\r\n");
	D("\r.\r.", "\r\n..\r\n..\r\n.\r\n");
	/* BDAT does not stuff */
	B(".", ".\r\n");
	B("a\n.\n", "a\r\n.\r\n");
	/* other octets pass through */
	D("\0\x01\xff\t \x7f", "\0\x01\xff\t \x7f\r\n.\r\n");
	D("caf\xc3\xa9\n", "caf\xc3\xa9\r\n.\r\n");
}

static void test_long_lines(void)
{
	size_t n = 5000, i;
	char *msg = (char *)malloc(n + 10), *want = (char *)malloc(n + 20);
	smtp_buf_t out;
	smtp_data_enc_t e;

	/* a 2500-octet line and a 2498-octet line starting with '.': never wrapped */
	for (i = 0; i < n; i++) {
		msg[i] = (char)('a' + i % 26);
	}
	msg[0] = 'X';
	msg[2500] = '\n';
	msg[2501] = '.';
	memcpy(want, msg, 2500);
	memcpy(want + 2500, "\r\n..", 4);
	memcpy(want + 2504, msg + 2502, n - 2502);
	memcpy(want + 2504 + n - 2502, "\r\n.\r\n", 5);
	smtp_buf_init(&out);
	CHECK_INT(encode(msg, n, 1, NULL, 0, &out, &e), SMTP_OK);
	CHECK_MEM(bufp(&out), smtp_buf_size(&out), want, n + 7);
	CHECK(e.out_bytes == n + 7);
	smtp_buf_free(&out);
	free(msg);
	free(want);
}

/* A tiny deterministic generator for the property checks. */
static unsigned long rng_state = 12345;
static unsigned long rng(void)
{
	rng_state = rng_state * 6364136223846793005UL + 1442695040888963407UL;
	return (rng_state >> 33) & 0x7fffffffUL;
}

static void test_property(void)
{
	static const char alphabet[] = ".\r\n a.";
	char msg[64];
	int iter, bad = 0;

	for (iter = 0; iter < 20000 && !bad; iter++) {
		size_t len = rng() % sizeof(msg), i, ncuts = 0, cuts[8];
		smtp_buf_t out, one;
		smtp_data_enc_t e;
		int dot = (int)(rng() & 1);
		char *ref;
		size_t ref_len, ul;

		for (i = 0; i < len; i++) {
			msg[i] = alphabet[rng() % (sizeof(alphabet) - 1)];
		}
		while (ncuts < 8 && len > 0 && (rng() % 3) != 0) {
			size_t c = rng() % (len + 1);

			if (ncuts > 0 && c < cuts[ncuts - 1]) {
				c = cuts[ncuts - 1];
			}
			cuts[ncuts++] = c;
		}
		smtp_buf_init(&out);
		smtp_buf_init(&one);
		encode(msg, len, dot, cuts, ncuts, &out, &e);
		encode(msg, len, dot, NULL, 0, &one, &e);
		ref = normalise(msg, len, &ref_len);
		if (smtp_buf_size(&out) != smtp_buf_size(&one) ||
		    memcmp(bufp(&out), bufp(&one), smtp_buf_size(&one)) != 0) {
			bad = 1;
		}
		if (dot) {
			char *u = unstuff(bufp(&out), smtp_buf_size(&out), &ul);

			if (u == NULL || ul != ref_len || memcmp(u, ref, ul) != 0) {
				bad = 2;
			}
			free(u);
		} else if (smtp_buf_size(&out) != ref_len || memcmp(bufp(&out), ref, ref_len) != 0) {
			bad = 3;
		}
		if (smtp_data_measure(msg, len) != ref_len || e.out_bytes != smtp_buf_size(&one)) {
			bad = 4;
		}
		if (bad) {
			fprintf(stderr, "  property failed (%d) for ", bad);
			tap_show(msg, len);
			fputc('\n', stderr);
		}
		free(ref);
		smtp_buf_free(&out);
		smtp_buf_free(&one);
	}
	CHECK_INT(bad, 0);
}

/* A few MB with every kind of line end, in odd-sized chunks into a buffer
 * that is drained as it goes (so reserve compacts), against the reference. */
static void test_big(void)
{
	size_t len = 3 * 1024 * 1024 + 17, i, pos = 0, got_len = 0, ref_len, ul;
	char *msg = (char *)malloc(len), *got = (char *)malloc(2 * len + 8), *ref, *u;
	smtp_buf_t out;
	smtp_data_enc_t e;

	for (i = 0; i < len; i++) {
		unsigned long r = rng() % 100;

		msg[i] = r < 2 ? '\n' : r < 3 ? '\r' : r < 5 ? '.' : (char)('a' + r % 26);
	}
	smtp_buf_init(&out);
	smtp_data_enc_init(&e, 1);
	while (pos < len) {
		size_t n = 1 + rng() % 70000;

		if (n > len - pos) {
			n = len - pos;
		}
		if (smtp_data_enc_write(&e, &out, msg + pos, n) != SMTP_OK) {
			break;
		}
		pos += n;
		/* drain part of the output, as a socket would */
		n = smtp_buf_size(&out) / 2;
		memcpy(got + got_len, bufp(&out), n);
		got_len += n;
		smtp_buf_consume(&out, n);
	}
	CHECK_INT(smtp_data_enc_finish(&e, &out), SMTP_OK);
	memcpy(got + got_len, bufp(&out), smtp_buf_size(&out));
	got_len += smtp_buf_size(&out);
	CHECK(pos == len);
	CHECK(e.in_bytes == len);
	CHECK(e.out_bytes == got_len);
	ref = normalise(msg, len, &ref_len);
	u = unstuff(got, got_len, &ul);
	CHECK(u != NULL);
	if (u != NULL) {
		CHECK(ul == ref_len && memcmp(u, ref, ul) == 0);
	}
	CHECK(smtp_data_measure(msg, len) == ref_len);
	/* output space is not wildly over-reserved for ordinary text */
	CHECK(out.cap <= 4 * 70000 + 1024 * 1024);
	free(u);
	free(ref);
	free(got);
	free(msg);
	smtp_buf_free(&out);
}

static void test_measure(void)
{
	CHECK(smtp_data_measure(NULL, 0) == 0);
	CHECK(smtp_data_measure("", 0) == 0);
	CHECK(smtp_data_measure("a", 1) == 3);
	CHECK(smtp_data_measure("a\n", 2) == 3);
	CHECK(smtp_data_measure("a\r", 2) == 3);
	CHECK(smtp_data_measure("a\r\n", 3) == 3);
	CHECK(smtp_data_measure("\n\n", 2) == 4);
	CHECK(smtp_data_measure("\r\r\n\n", 4) == 6);
	CHECK(smtp_data_measure(".\n", 2) == 3);   /* stuffing not counted */
}

static void test_nomem(void)
{
	smtp_buf_t out;
	smtp_data_enc_t e;
	char big[3000];
	long budget;

	memset(big, '\n', sizeof(big));   /* needs the second reservation */
	for (budget = 0; budget < 4; budget++) {
		int rc;

		smtp_buf_init(&out);
		smtp_data_enc_init(&e, 1);
		smtp_test_alloc_budget = budget;
		rc = smtp_data_enc_write(&e, &out, big, sizeof(big));
		if (rc == SMTP_OK) {
			rc = smtp_data_enc_finish(&e, &out);
		}
		smtp_test_alloc_budget = -1;
		if (budget < 2) {
			CHECK_INT(rc, SMTP_E_NOMEM);
			/* what was produced is accounted for */
			CHECK(e.out_bytes == smtp_buf_size(&out));
			CHECK(e.out_bytes == 2 * e.in_bytes);
		} else {
			CHECK_INT(rc, SMTP_OK);
			CHECK(smtp_buf_size(&out) == 2 * sizeof(big) + 3);
		}
		smtp_buf_free(&out);
	}
	/* finish on a full buffer */
	smtp_buf_init(&out);
	smtp_data_enc_init(&e, 1);
	smtp_test_alloc_budget = 0;
	CHECK_INT(smtp_data_enc_write(&e, &out, "x", 1), SMTP_E_NOMEM);
	CHECK_INT(smtp_data_enc_finish(&e, &out), SMTP_E_NOMEM);
	smtp_test_alloc_budget = -1;
	smtp_buf_free(&out);
}

/* smtp_data_enc_size() predicts exactly what write (+ finish) produces, from
 * any encoder state: every split of every sample, with and without stuffing. */
static void test_enc_size(void)
{
	static const char *const samples[] = {
		"", ".", "..\r\n", "a\rb\nc\r\nd", "\r\n.\r\n", "x\r", "\n\n.\r\r\n.x", ".a\nb\r", "no line end",
		"\r\r\n\n\r.", "line\n.\n..\n"
	};
	size_t k, split;
	int stuff, mismatches = 0;

	for (stuff = 0; stuff <= 1; stuff++) {
		for (k = 0; k < sizeof(samples) / sizeof(samples[0]); k++) {
			const char *m = samples[k];
			size_t len = strlen(m);
			for (split = 0; split <= len; split++) {
				smtp_data_enc_t e;
				smtp_buf_t out;
				unsigned long long want1, want2;
				size_t got1;

				smtp_buf_init(&out);
				smtp_data_enc_init(&e, stuff);
				want1 = smtp_data_enc_size(&e, m, split, 0);
				smtp_data_enc_write(&e, &out, m, split);
				got1 = smtp_buf_size(&out);
				want2 = smtp_data_enc_size(&e, m + split, len - split, 1);
				smtp_data_enc_write(&e, &out, m + split, len - split);
				smtp_data_enc_finish(&e, &out);
				if (want1 != got1 || want1 + want2 != smtp_buf_size(&out)) {
					mismatches++;
				}
				smtp_buf_free(&out);
			}
		}
	}
	CHECK_INT(mismatches, 0);
}

/* Passing a clean prefix through and encoding the rest gives the same
 * octets as encoding everything, for every split of every sample. */
static void test_passthrough(void)
{
	static const char *const samples[] = {
		"a\r\nb\r\n", ".x\r\ny\r\n", "x\r\n.y\r\n", "x\ny\r\n", "x\r\ny\rz\r\n", "\r\n\r\n", "ab", "a\r\nb",
		"line one\r\nline two\r\n.dot\r\n", "\r", "\n"
	};
	size_t k, split;
	int stuff, bad = 0, passed_some = 0;

	for (stuff = 0; stuff <= 1; stuff++) {
		for (k = 0; k < sizeof(samples) / sizeof(samples[0]); k++) {
			const char *m = samples[k];
			size_t len = strlen(m);
			for (split = 0; split <= len; split++) {
				smtp_data_enc_t e1, e2;
				smtp_buf_t all, part;
				size_t n;

				smtp_buf_init(&all);
				smtp_buf_init(&part);
				smtp_data_enc_init(&e1, stuff);
				smtp_data_enc_write(&e1, &all, m, len);
				smtp_data_enc_finish(&e1, &all);
				smtp_data_enc_init(&e2, stuff);
				smtp_data_enc_write(&e2, &part, m, split);
				n = smtp_data_enc_passthrough(&e2, m + split, len - split);
				smtp_buf_append(&part, m + split, n);   /* what the caller sends itself */
				passed_some += n > 0;
				smtp_data_enc_write(&e2, &part, m + split + n, len - split - n);
				smtp_data_enc_finish(&e2, &part);
				if (smtp_buf_size(&all) != smtp_buf_size(&part)
						|| memcmp(all.data + all.off, part.data + part.off, smtp_buf_size(&all)) != 0) {
					bad++;
				}
				smtp_buf_free(&all);
				smtp_buf_free(&part);
			}
		}
	}
	CHECK_INT(bad, 0);
	CHECK(passed_some > 20);
}

/* The clean prefix as the encoder defines it, octet by octet: whole lines
 * ending in CR LF with no other CR or LF, none starting with '.' when
 * stuffing; line_start: the first octet starts a line. */
static size_t ref_clean_prefix(const char *m, size_t len, int stuff, int line_start)
{
	size_t i = 0, clean = 0;
	int ls = line_start;

	while (i < len) {
		if (ls && stuff && m[i] == '.') {
			break;
		}
		while (i < len && m[i] != '\r' && m[i] != '\n') {
			i++;
		}
		if (i + 1 >= len || m[i] != '\r' || m[i + 1] != '\n') {
			break;
		}
		i += 2;
		clean = i;
		ls = 1;
	}
	return clean;
}

/* smtp_data_enc_passthrough() on long messages (the 64-octet block scan and
 * where it hands over to the line scan) against ref_clean_prefix(): lines
 * of random length, mostly clean, now and then a bare CR or LF, a CR LF
 * across a block boundary, a '.' at or after a line start; from the start
 * of a line and from inside one (after "x"). */
static void test_passthrough_long(void)
{
	char m[400];
	int iter, bad = 0, long_ones = 0, cut_ones = 0;

	for (iter = 0; iter < 40000 && bad < 5; iter++) {
		size_t len = 0, want, got;
		int stuff = (int)(rng() & 1), mid = (int)(rng() % 4 == 0);
		smtp_data_enc_t e;
		smtp_buf_t out;

		while (len < sizeof(m)) {
			size_t line = rng() % 90, j;
			unsigned r = (unsigned)(rng() % 100);
			for (j = 0; j < line && len < sizeof(m); j++) {
				m[len++] = (j == 0 && r < 3) ? '.' : (rng() % 40 == 0 ? '.' : 'a');
			}
			if (len < sizeof(m)) {
				m[len++] = r == 97 ? '\n' : '\r';     /* 97: a bare LF */
			}
			if (len < sizeof(m) && r != 98) {        /* 98: a bare CR */
				m[len++] = r == 99 ? 'b' : '\n';      /* 99: CR then text */
			}
		}
		len = 64 + rng() % (sizeof(m) - 63);
		smtp_data_enc_init(&e, stuff);
		smtp_buf_init(&out);
		if (mid) {
			smtp_data_enc_write(&e, &out, "x", 1);
		}
		want = ref_clean_prefix(m, len, stuff, !mid);
		got = smtp_data_enc_passthrough(&e, m, len);
		long_ones += want >= 128;
		cut_ones += want > 0 && want < len;
		if (got != want) {
			bad++;
			fprintf(stderr, "  passthrough %lu, want %lu (len %lu, stuff %d, mid %d) for ", (unsigned long)got,
				(unsigned long)want, (unsigned long)len, stuff, mid);
			tap_show(m, len);
			fputc('\n', stderr);
		}
		smtp_buf_free(&out);
	}
	CHECK_INT(bad, 0);
	CHECK(long_ones > 1000);
	CHECK(cut_ones > 1000);
}

/* smtp_data_is_8bit() against a byte-by-byte check, for every length up to
 * a few blocks and an 8-bit octet at every position (and none), from every
 * alignment: the block loops, their tails and where they meet. */
static void test_is_8bit(void)
{
	char buf[300];
	size_t len, pos, align;
	int bad = 0;

	for (align = 0; align < 8; align++) {
		for (len = 0; len + align <= sizeof(buf) && len <= 200; len++) {
			memset(buf, 'a', sizeof(buf));
			if (smtp_data_is_8bit(buf + align, len) != 0) {
				bad++;
			}
			for (pos = 0; pos < len; pos++) {
				buf[align + pos] = (char)0x80;
				if (smtp_data_is_8bit(buf + align, len) != 1) {
					bad++;
				}
				buf[align + pos] = (char)0xff;
				if (smtp_data_is_8bit(buf + align, len) != 1) {
					bad++;
				}
				buf[align + pos] = 'a';
			}
			/* an 8-bit octet just past the end is not part of it */
			if (align + len < sizeof(buf)) {
				buf[align + len] = (char)0xc3;
				if (smtp_data_is_8bit(buf + align, len) != 0) {
					bad++;
				}
			}
		}
	}
	CHECK_INT(bad, 0);
}

int main(void)
{
	test_passthrough();
	test_enc_size();
	test_cases();
	test_long_lines();
	test_property();
	test_big();
	test_measure();
	test_nomem();
	test_is_8bit();
	test_passthrough_long();
	CHECK_INT(smtp_data_is_8bit("plain\r\n", 7), 0);
	CHECK_INT(smtp_data_is_8bit(NULL, 0), 0);
	CHECK_INT(smtp_data_is_8bit("caf\xc3\xa9", 5), 1);
	CHECK_INT(smtp_data_is_8bit("\x80", 1), 1);
	return tap_done("test_data");
}
