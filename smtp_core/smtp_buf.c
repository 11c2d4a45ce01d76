/* smtp_buf: a growable byte buffer with a read offset. */
#include "smtp_buf.h"

#include <string.h>
#include <stdint.h>

#define SMTP_BUF_MIN_CAP 64

void smtp_buf_init(smtp_buf_t *b)
{
	b->data = NULL;
	b->off = 0;
	b->len = 0;
	b->cap = 0;
}

void smtp_buf_free(smtp_buf_t *b)
{
	if (b->data != NULL) {
		smtp_free(b->data);
	}
	smtp_buf_init(b);
}

void smtp_buf_reset(smtp_buf_t *b)
{
	b->off = 0;
	b->len = 0;
}

/* Move the live bytes to the front of the storage. */
static void smtp_buf_compact(smtp_buf_t *b)
{
	size_t live = b->len - b->off;

	if (b->off == 0) {
		return;
	}
	if (live > 0) {
		memmove(b->data, b->data + b->off, live);
	}
	b->off = 0;
	b->len = live;
}

int smtp_buf_reserve(smtp_buf_t *b, size_t extra)
{
	size_t live, need, ncap;
	char *nd;

	if (b->cap - b->len >= extra) {
		return SMTP_OK;
	}
	live = b->len - b->off;
	if (extra > SIZE_MAX - live) {
		return SMTP_E_NOMEM;
	}
	need = live + extra;
	if (need <= b->cap) {
		/* Dropping the consumed front is enough. */
		smtp_buf_compact(b);
		return SMTP_OK;
	}
	ncap = b->cap < SMTP_BUF_MIN_CAP ? SMTP_BUF_MIN_CAP : b->cap;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2) {
			ncap = need;
			break;
		}
		ncap *= 2;
	}
	/* Compact first so that realloc copies only live bytes. */
	smtp_buf_compact(b);
	nd = (char *)smtp_realloc(b->data, ncap);
	if (nd == NULL) {
		return SMTP_E_NOMEM;
	}
	b->data = nd;
	b->cap = ncap;
	return SMTP_OK;
}

int smtp_buf_append(smtp_buf_t *b, const void *p, size_t n)
{
	int rc;

	if (n == 0) {
		return SMTP_OK;
	}
	rc = smtp_buf_reserve(b, n);
	if (rc != SMTP_OK) {
		return rc;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return SMTP_OK;
}

int smtp_buf_appends(smtp_buf_t *b, const char *s)
{
	return smtp_buf_append(b, s, strlen(s));
}

void smtp_buf_consume(smtp_buf_t *b, size_t n)
{
	size_t live = b->len - b->off;

	if (n >= live) {
		b->off = 0;
		b->len = 0;
		return;
	}
	b->off += n;
}
