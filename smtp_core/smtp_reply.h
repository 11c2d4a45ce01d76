/*
 * smtp_reply: incremental parser of SMTP replies (RFC 5321 section 4.2).
 *
 * Reply-line = *( Reply-code "-" [ text ] CRLF ) Reply-code [ SP text ] CRLF.
 * Lines end at LF; a CR right before the LF is dropped. A bare CR inside a
 * line, a NUL, a code outside 200..599, a separator other than SP/"-"/end of
 * line, or a continuation line whose code differs from the first line's is
 * SMTP_E_SYNTAX (or SMTP_E_NUL). Bounded by SMTP_REPLY_MAX_LINE,
 * SMTP_REPLY_MAX_LINES and SMTP_REPLY_MAX_SIZE: an over-long line is refused
 * as soon as its length is exceeded, without buffering the rest. Errors are
 * sticky. The result is the same however the input is split.
 */
#ifndef SMTP_REPLY_H
#define SMTP_REPLY_H

#include "smtp_core.h"
#include "smtp_buf.h"

typedef struct {
	size_t off;   /* offset into smtp_reply_t.text */
	size_t len;
} smtp_span_t;

typedef struct {
	int code;              /* 200..599 */
	char status[16];       /* enhanced status code of the first line, e.g. "2.1.5", or "" when
	                          it has none or its class does not match the code's first digit */
	char *text;            /* the lines as received, code included, joined by '\n', no trailing
	                          newline, NUL-terminated; e.g. "250-a\n250 b" */
	size_t text_len;
	smtp_span_t *lines;    /* each line's text after "ddd-" / "ddd " (empty for a bare "ddd") */
	size_t nlines;
	size_t lines_cap;      /* private */
	size_t text_cap;       /* private */
} smtp_reply_t;

typedef struct {
	smtp_reply_t reply;    /* the reply being built; complete after feed returned 1 */
	smtp_buf_t line;       /* private: the partial line */
	int complete;          /* private: reply holds a complete reply not yet replaced */
	int error;             /* sticky error, 0 when none */
} smtp_reply_parser_t;

/* Initialise an empty parser. */
void smtp_reply_parser_init(smtp_reply_parser_t *p);
/* Release everything the parser owns. */
void smtp_reply_parser_free(smtp_reply_parser_t *p);
/* Feed len bytes. Parses until one reply is complete or the bytes run out;
 * *consumed is set to the bytes used. Returns 1 when p->reply holds a complete
 * reply (valid until the next feed), 0 when all bytes were consumed without
 * completing one, or a negative SMTP_E_* (sticky). */
int smtp_reply_parser_feed(smtp_reply_parser_t *p, const char *data, size_t len, size_t *consumed);
/* After feed returned 1: move the complete reply into *keep (an initialised
 * or zeroed reply, not p->reply) by exchanging storage, without copying;
 * the parser keeps keep's old storage, emptied, for the next reply. Returns
 * 1, or 0 (nothing done) when no complete reply is held. */
int smtp_reply_parser_take(smtp_reply_parser_t *p, smtp_reply_t *keep);
/* Nonzero when part of a reply (a partial line or earlier lines of a
 * multi-line reply) is buffered. */
int smtp_reply_parser_busy(const smtp_reply_parser_t *p);

/* Copy src into dst (dst initialised with smtp_reply_init or zeroed). SMTP_OK or SMTP_E_NOMEM. */
int smtp_reply_copy(smtp_reply_t *dst, const smtp_reply_t *src);
/* Initialise an empty reply. */
void smtp_reply_init(smtp_reply_t *r);
/* Release a reply's storage. */
void smtp_reply_free(smtp_reply_t *r);
/* Parse an enhanced status code ("2.1.5") at the start of s (len octets), followed by SP
 * or the end; class must be 2, 4 or 5. Returns its length (0 when there is none). */
size_t smtp_status_parse(const char *s, size_t len);

#endif
