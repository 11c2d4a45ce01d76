/*
 * libFuzzer target: the reply parser.
 *
 * The input is fed whole and in chunks whose sizes come from the input's
 * first octets; both must give the same replies and the same error. Every
 * reply must be the bytes it consumed with CR LF / LF turned into '\n' and
 * the final line end dropped, and keep the documented shape and limits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_reply.h"

#define MAX_REPLIES 4096

typedef struct {
	size_t end;        /* input offset just after the reply */
	int code;
	char status[16];
	size_t text_len;
	unsigned long sum; /* a digest of text and spans */
} rec_t;

static void fail(void)
{
	abort();
}

static unsigned long digest(const smtp_reply_t *r)
{
	unsigned long h = 5381;
	size_t i;

	for (i = 0; i < r->text_len; i++) {
		h = h * 33 + (unsigned char)r->text[i];
	}
	for (i = 0; i < r->nlines; i++) {
		h = h * 33 + r->lines[i].off;
		h = h * 33 + r->lines[i].len;
	}
	return h;
}

/* The reply must be exactly what in[0..n) says. */
static void check_reply(const smtp_reply_t *r, const uint8_t *in, size_t n)
{
	size_t i, t = 0, line = 0, line_start = 0;

	if (r->code < 200 || r->code > 599 || r->nlines < 1 || r->nlines > SMTP_REPLY_MAX_LINES ||
	    r->text_len > SMTP_REPLY_MAX_SIZE || r->text == NULL || r->text[r->text_len] != '\0') {
		fail();
	}
	if (n == 0 || in[n - 1] != '\n') {
		fail();
	}
	/* text == input with line ends normalised, last one dropped */
	for (i = 0; i < n; i++) {
		uint8_t c = in[i];

		if (c == '\0') {
			fail();
		}
		if (c == '\r') {
			if (i + 1 >= n || in[i + 1] != '\n') {
				fail();
			}
			continue;
		}
		if (c == '\n') {
			size_t len = t - line_start;
			const smtp_span_t *sp;

			if (len > SMTP_REPLY_MAX_LINE || line >= r->nlines || len < 3) {
				fail();
			}
			sp = &r->lines[line];
			if (len == 3 ? (sp->off != line_start + 3 || sp->len != 0)
			             : (sp->off != line_start + 4 || sp->len != len - 4)) {
				fail();
			}
			if (memcmp(r->text + line_start, r->text, 3) != 0) {
				fail();
			}
			/* '-' on all lines but the last */
			if ((line + 1 < r->nlines) != (len > 3 && r->text[line_start + 3] == '-')) {
				fail();
			}
			line++;
			if (i + 1 < n) {
				if (t >= r->text_len || r->text[t] != '\n') {
					fail();
				}
				t++;
				line_start = t;
			}
			continue;
		}
		if (t >= r->text_len || (uint8_t)r->text[t] != c) {
			fail();
		}
		t++;
	}
	if (t != r->text_len || line != r->nlines) {
		fail();
	}
	if (r->text[0] - '0' != r->code / 100) {
		fail();
	}
	/* status: what smtp_status_parse finds on line 0, when its class matches */
	{
		size_t sl = smtp_status_parse(r->text + r->lines[0].off, r->lines[0].len);

		if (sl > 0 && r->text[r->lines[0].off] - '0' == r->code / 100) {
			if (strlen(r->status) != sl || memcmp(r->status, r->text + r->lines[0].off, sl) != 0) {
				fail();
			}
		} else if (r->status[0] != '\0') {
			fail();
		}
	}
}

/* Feed data in chunks of the given sizes (cycled; 0 = whole). Returns the error (0 if none). */
static int run(const uint8_t *data, size_t size, const uint8_t *sizes, size_t nsizes,
               rec_t *recs, size_t *nrecs, int check)
{
	smtp_reply_parser_t p;
	size_t pos = 0, k = 0, reply_start = 0;
	int err = 0;

	*nrecs = 0;
	smtp_reply_parser_init(&p);
	while (pos < size && err == 0) {
		size_t chunk = size - pos, off = 0;

		if (nsizes > 0) {
			chunk = (size_t)sizes[k++ % nsizes] + 1;
			if (chunk > size - pos) {
				chunk = size - pos;
			}
		}
		while (off < chunk) {
			size_t used = (size_t)-1;
			int rc = smtp_reply_parser_feed(&p, (const char *)data + pos + off, chunk - off, &used);

			if (rc < 0) {
				err = rc;
				if (smtp_reply_parser_feed(&p, "250 x\r\n", 7, &used) != rc) {
					fail();   /* sticky */
				}
				break;
			}
			if (used > chunk - off || (rc == 0 && used != chunk - off) || (rc == 1 && used == 0)) {
				fail();
			}
			off += used;
			if (rc == 1) {
				size_t end = pos + off;

				if (smtp_reply_parser_busy(&p)) {
					fail();
				}
				if (check) {
					check_reply(&p.reply, data + reply_start, end - reply_start);
				}
				if (*nrecs < MAX_REPLIES) {
					rec_t *r = &recs[(*nrecs)++];

					r->end = end;
					r->code = p.reply.code;
					memcpy(r->status, p.reply.status, sizeof(r->status));
					r->text_len = p.reply.text_len;
					r->sum = digest(&p.reply);
				}
				reply_start = end;
			} else {
				break;
			}
		}
		pos += chunk;
	}
	if (err == 0 && (smtp_reply_parser_busy(&p) != 0) != (reply_start < size)) {
		fail();
	}
	smtp_reply_parser_free(&p);
	return err;
}

static rec_t recs_a[MAX_REPLIES], recs_b[MAX_REPLIES];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t na, nb, i;
	int ea, eb;
	const uint8_t *sizes = data;
	size_t nsizes = size < 4 ? size : 4;

	ea = run(data, size, NULL, 0, recs_a, &na, 1);
	eb = run(data, size, sizes, nsizes, recs_b, &nb, 0);
	if (ea != eb || na != nb) {
		fail();
	}
	for (i = 0; i < na; i++) {
		if (recs_a[i].end != recs_b[i].end || recs_a[i].code != recs_b[i].code ||
		    strcmp(recs_a[i].status, recs_b[i].status) != 0 || recs_a[i].text_len != recs_b[i].text_len ||
		    recs_a[i].sum != recs_b[i].sum) {
			fail();
		}
	}
	/* byte by byte too, for short inputs */
	if (size <= 512) {
		static const uint8_t one[1] = { 0 };

		eb = run(data, size, one, 1, recs_b, &nb, 0);
		if (ea != eb || na != nb || (na > 0 && recs_a[na - 1].sum != recs_b[nb - 1].sum)) {
			fail();
		}
	}
	return 0;
}
