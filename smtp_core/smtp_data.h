/*
 * smtp_data: the streaming message encoder for DATA and BDAT.
 *
 * Bare LF and bare CR become CRLF (a CR LF pair stays one line end); with
 * dot-stuffing on (DATA), a "." at the start of any line, the first included,
 * is doubled. Correct however the message is split into chunks: a CR at the
 * end of one chunk followed by LF at the start of the next is one line end.
 * Lines are never wrapped or truncated.
 */
#ifndef SMTP_DATA_H
#define SMTP_DATA_H

#include "smtp_core.h"
#include "smtp_buf.h"

typedef struct {
	int dot_stuff;                /* 1 for DATA, 0 for BDAT */
	int line_start;               /* next octet starts a line */
	int after_cr;                 /* last octet was a CR (already emitted as CRLF) */
	unsigned long long in_bytes;  /* octets taken */
	unsigned long long out_bytes; /* octets produced, terminator included */
} smtp_data_enc_t;

/* Start a message. dot_stuff: 1 for DATA, 0 for BDAT. */
void smtp_data_enc_init(smtp_data_enc_t *e, int dot_stuff);
/* Encode len octets of the message, appending to out. SMTP_OK or SMTP_E_NOMEM. */
int smtp_data_enc_write(smtp_data_enc_t *e, smtp_buf_t *out, const char *in, size_t len);
/* Zero-copy helper: the length of the longest prefix of in that encodes to
 * itself (whole CR LF lines, no bare CR, no '.' to stuff), taken as written:
 * the caller sends those octets itself, after what was encoded before. */
size_t smtp_data_enc_passthrough(smtp_data_enc_t *e, const char *in, size_t len);
/* End the message: CRLF when it does not end with a line end, then, with
 * dot_stuff, the ".\r\n" terminator. SMTP_OK or SMTP_E_NOMEM. */
int smtp_data_enc_finish(smtp_data_enc_t *e, smtp_buf_t *out);
/* Octets smtp_data_enc_write() would append for in (and, with last, what
 * smtp_data_enc_finish() would add), from e's state, leaving e unchanged: the
 * size of a BDAT chunk before it is encoded. */
unsigned long long smtp_data_enc_size(const smtp_data_enc_t *e, const char *in, size_t len, int last);
/* Octets the message will have once CRLF-normalised and ended with a line end,
 * without stuffing or terminator: the SIZE= value (RFC 1870). */
unsigned long long smtp_data_measure(const char *in, size_t len);
/* 1 when any octet of in is above 127: a message that needs 8BITMIME
 * (RFC 6152) to be declared as BODY=8BITMIME. */
int smtp_data_is_8bit(const char *in, size_t len);

#endif
