/*
 * libFuzzer target: the queue id in a final reply.
 *
 * The input is searched as reply text. A found id must lie inside the input,
 * within one line, be 1..SMTP_QUEUE_ID_MAX octets of the id alphabet and not
 * end in '.', '!' or '?'; nothing found means NULL and 0. The answer must not
 * change when the input is cut right after the line holding the id (the
 * first line with an id wins), a text whose first line has a non-2xx code has
 * no id, and the input parsed as replies gives, for each reply,
 * smtp_reply_queue_id() == smtp_queue_id() over its text (0 unless 2xx).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_queueid.h"

static void fail(void)
{
	abort();
}

static void check_id(const char *base, size_t size, const char *id, size_t n)
{
	size_t i;

	if (id < base || n == 0 || n > SMTP_QUEUE_ID_MAX || n > size || (size_t)(id - base) > size - n) {
		fail();
	}
	for (i = 0; i < n; i++) {
		if (!smtp_queue_id_octet((unsigned char)id[i])) {
			fail();
		}
	}
	if (id[n - 1] == '.' || id[n - 1] == '!' || id[n - 1] == '?') {
		fail();
	}
}

static void check_replies(const char *s, size_t size)
{
	smtp_reply_parser_t p;
	size_t off = 0;

	smtp_reply_parser_init(&p);
	while (off < size) {
		size_t used = 0;
		int rc = smtp_reply_parser_feed(&p, s + off, size - off, &used);
		const char *a, *b;
		size_t an, bn;
		int ra, rb;

		if (rc != 1) {
			break;
		}
		off += used;
		ra = smtp_reply_queue_id(&p.reply, &a, &an);
		rb = smtp_queue_id(p.reply.text, p.reply.text_len, &b, &bn);
		if (p.reply.code < 200 || p.reply.code > 299) {
			if (ra != 0 || a != NULL || an != 0 || rb != 0) {
				fail();
			}
		} else if (ra != rb || a != b || an != bn) {
			fail();
		}
		if (ra) {
			check_id(p.reply.text, p.reply.text_len, a, an);
		}
		if (used == 0) {
			break;
		}
	}
	smtp_reply_parser_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *id = s, *id2 = s;
	size_t n = 7, n2 = 7;
	int rc = smtp_queue_id(s, size, &id, &n);

	if (rc != 0 && rc != 1) {
		fail();
	}
	if (rc == 0) {
		if (id != NULL || n != 0) {
			fail();
		}
	} else {
		const char *nl;

		check_id(s, size, id, n);
		/* within one line */
		if (memchr(id, '\n', n) != NULL) {
			fail();
		}
		/* the same answer from the input cut after the id's line */
		nl = memchr(id + n, '\n', size - (size_t)(id + n - s));
		if (nl != NULL) {
			size_t cut = (size_t)(nl - s) + 1;

			if (smtp_queue_id(s, cut, &id2, &n2) != 1 || id2 != id || n2 != n) {
				fail();
			}
		}
	}
	/* the same answer twice */
	if (smtp_queue_id(s, size, &id2, &n2) != rc || id2 != id || n2 != n) {
		fail();
	}
	/* a refusal names nothing */
	if (size >= 4 && s[0] >= '0' && s[0] <= '9' && s[0] != '2' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' &&
	    s[2] <= '9' && (s[3] == ' ' || s[3] == '-' || s[3] == '\n') && rc != 0) {
		fail();
	}
	check_replies(s, size);
	return 0;
}
