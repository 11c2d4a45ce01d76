/*
 * libFuzzer target: the DATA/BDAT encoder.
 *
 * The first octets choose the chunk sizes, the rest is the message. The
 * property: for any chunking, unstuff(DATA encoding) == normalise(message)
 * == BDAT encoding, smtp_data_measure() == its length, and the counters
 * match what was produced.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_data.h"

static void fail(void)
{
	abort();
}

/* Reference: CRLF-normalised, ended with a line end when not empty. */
static char *normalise(const uint8_t *m, size_t len, size_t *olen)
{
	char *o = (char *)malloc(2 * len + 3);
	size_t i, n = 0;

	if (o == NULL) {
		abort();
	}
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
			o[n++] = (char)m[i];
		}
	}
	if (n > 0 && !(n >= 2 && o[n - 2] == '\r' && o[n - 1] == '\n')) {
		o[n++] = '\r';
		o[n++] = '\n';
	}
	*olen = n;
	return o;
}

/* Remove the terminator and the stuffed dots; every line must end in CRLF
 * with no CR or LF inside, and no line may be a lone '.'. */
static char *unstuff(const char *d, size_t len, size_t *olen)
{
	char *o;
	size_t i = 0, n = 0;

	if (len < 3 || memcmp(d + len - 3, ".\r\n", 3) != 0) {
		fail();
	}
	if (len > 3 && (len < 5 || d[len - 5] != '\r' || d[len - 4] != '\n')) {
		fail();
	}
	len -= 3;
	o = (char *)malloc(len + 1);
	if (o == NULL) {
		abort();
	}
	while (i < len) {
		const char *lf = (const char *)memchr(d + i, '\n', len - i);
		size_t end;

		if (lf == NULL || lf == d + i || lf[-1] != '\r') {
			fail();
		}
		end = (size_t)(lf - d) + 1;
		if (memchr(d + i, '\r', end - 2 - i) != NULL) {
			fail();
		}
		if (d[i] == '.') {
			if (end - i < 4 || d[i + 1] != '.') {
				fail();
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

/* Encode into acc, through a buffer drained by halves now and then (as a
 * socket would), so that reserve has consumed space to compact. */
static void encode(const uint8_t *msg, size_t len, int dot, const uint8_t *sizes, size_t nsizes,
                   smtp_buf_t *acc, smtp_data_enc_t *e)
{
	smtp_buf_t out;
	size_t pos = 0, k = 0;

	smtp_buf_init(&out);
	smtp_data_enc_init(e, dot);
	while (pos < len) {
		size_t chunk = len - pos;

		if (nsizes > 0) {
			chunk = (size_t)sizes[k % nsizes] % 17;   /* 0-length writes too, */
			if (chunk == 0 && (k & 1)) {
				chunk = 1;                             /* but never two in a row */
			}
			k++;
			if (chunk > len - pos) {
				chunk = len - pos;
			}
		}
		if (smtp_data_enc_write(e, &out, (const char *)msg + pos, chunk) != SMTP_OK) {
			fail();
		}
		pos += chunk;
		if (k % 3 == 1) {
			size_t half = smtp_buf_size(&out) / 2;

			if (half > 0) {
				if (smtp_buf_append(acc, out.data + out.off, half) != SMTP_OK) {
					abort();
				}
				smtp_buf_consume(&out, half);
			}
		}
	}
	if (smtp_data_enc_finish(e, &out) != SMTP_OK) {
		fail();
	}
	if (smtp_buf_size(&out) > 0 && smtp_buf_append(acc, out.data + out.off, smtp_buf_size(&out)) != SMTP_OK) {
		abort();
	}
	if (e->in_bytes != len || e->out_bytes != smtp_buf_size(acc)) {
		fail();
	}
	smtp_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t nsizes = size > 0 ? data[0] % 8 : 0, ref_len, ul;
	const uint8_t *sizes, *msg;
	size_t len;
	smtp_buf_t a, b, c;
	smtp_data_enc_t e;
	char *ref, *u;

	if (size < 1 + nsizes) {
		return 0;
	}
	sizes = data + 1;
	msg = data + 1 + nsizes;
	len = size - 1 - nsizes;

	smtp_buf_init(&a);
	smtp_buf_init(&b);
	smtp_buf_init(&c);
	encode(msg, len, 1, NULL, 0, &a, &e);
	encode(msg, len, 1, sizes, nsizes, &b, &e);
	encode(msg, len, 0, sizes, nsizes, &c, &e);
	if (smtp_buf_size(&a) != smtp_buf_size(&b) ||
	    memcmp(a.data + a.off, b.data + b.off, smtp_buf_size(&a)) != 0) {
		fail();
	}
	ref = normalise(msg, len, &ref_len);
	u = unstuff(a.data + a.off, smtp_buf_size(&a), &ul);
	if (ul != ref_len || memcmp(u, ref, ul) != 0) {
		fail();
	}
	if (smtp_buf_size(&c) != ref_len || (ref_len > 0 && memcmp(c.data + c.off, ref, ref_len) != 0)) {
		fail();
	}
	if (smtp_data_measure((const char *)msg, len) != ref_len) {
		fail();
	}
	free(u);
	free(ref);
	smtp_buf_free(&a);
	smtp_buf_free(&b);
	smtp_buf_free(&c);
	return 0;
}
