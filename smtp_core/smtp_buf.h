/* smtp_buf: a growable byte buffer with a read offset (consumed from the front). */
#ifndef SMTP_BUF_H
#define SMTP_BUF_H

#include "smtp_core.h"

typedef struct {
	char *data;   /* storage; live bytes are data[off .. len) */
	size_t off;   /* first unconsumed byte */
	size_t len;   /* end of the live bytes */
	size_t cap;   /* allocated size of data */
} smtp_buf_t;

/* Make b an empty buffer that owns no storage. */
void smtp_buf_init(smtp_buf_t *b);
/* Release b's storage and make it empty. */
void smtp_buf_free(smtp_buf_t *b);
/* Drop all live bytes, keep the storage. */
void smtp_buf_reset(smtp_buf_t *b);
/* Number of live bytes (inline: the reply parser asks at every feed). */
static inline size_t smtp_buf_size(const smtp_buf_t *b)
{
	return b->len - b->off;
}
/* Make room for extra more bytes at the end (may compact consumed space). SMTP_OK or SMTP_E_NOMEM. */
int smtp_buf_reserve(smtp_buf_t *b, size_t extra);
/* Append n bytes. SMTP_OK or SMTP_E_NOMEM. */
int smtp_buf_append(smtp_buf_t *b, const void *p, size_t n);
/* Append a NUL-terminated string. SMTP_OK or SMTP_E_NOMEM. */
int smtp_buf_appends(smtp_buf_t *b, const char *s);
/* Consume n live bytes from the front (n <= size); resets offsets when empty. */
void smtp_buf_consume(smtp_buf_t *b, size_t n);

#endif
