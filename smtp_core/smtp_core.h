/*
 * smtp_core: a sans-I/O SMTP client core in C99.
 *
 * Bytes from the server are fed in, complete replies come out as events;
 * verbs queue command bytes that the caller drains and writes. Nothing here
 * opens a socket, reads a clock or includes php.h.
 *
 * This header holds what every module shares: error codes, limits and the
 * allocator mapping.
 */
#ifndef SMTP_CORE_H
#define SMTP_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The embedding program may map allocation to its own allocator by defining
 * SMTP_HAVE_CONFIG_H and providing smtp_core_config.h with smtp_malloc,
 * smtp_realloc and smtp_free (the PHP extension maps them to emalloc). */
#ifdef SMTP_HAVE_CONFIG_H
# include "smtp_core_config.h"
#endif
#ifndef smtp_malloc
# include <stdlib.h>
# define smtp_malloc(n) malloc(n)
# define smtp_realloc(p, n) realloc((p), (n))
# define smtp_free(p) free(p)
#endif

/* Error codes: 0 is success, every error is negative. */
typedef enum {
	SMTP_OK = 0,
	SMTP_E_NOMEM = -1,           /* allocation failed */
	SMTP_E_STATE = -2,           /* verb not allowed in the session's state */
	SMTP_E_ARG = -3,             /* argument carries CR, LF, NUL (or <, > in a path), or is empty */
	SMTP_E_TOO_LONG = -4,        /* command line over SMTP_MAX_CMD_LINE */
	SMTP_E_SYNTAX = -5,          /* malformed reply (code, separator, mixed codes, bare CR) */
	SMTP_E_LINE_TOO_LONG = -6,   /* reply line over SMTP_REPLY_MAX_LINE */
	SMTP_E_REPLY_TOO_LONG = -7,  /* reply over SMTP_REPLY_MAX_LINES or SMTP_REPLY_MAX_SIZE */
	SMTP_E_NUL = -8,             /* NUL octet in a reply */
	SMTP_E_UNEXPECTED = -9,      /* a reply arrived with no command outstanding */
	SMTP_E_TLS_INJECTION = -10,  /* bytes followed the 220 to STARTTLS before the handshake */
	SMTP_E_CLOSED = -11,         /* the session is closed (421, QUIT, or an earlier fatal error) */
	SMTP_E_ABORTED = -12         /* a message's content failed mid-DATA: drop the connection (smtp_sched) */
} smtp_err_t;

/* Limits on what the server may send (SPEC section 4). */
#define SMTP_REPLY_MAX_LINE  8192   /* octets of one reply line, line end excluded */
#define SMTP_REPLY_MAX_LINES 1000   /* lines of one reply */
#define SMTP_REPLY_MAX_SIZE  65536  /* octets of one reply's text */

/* Limits on what the client sends. */
#define SMTP_MAX_CMD_LINE    2048   /* one command line, CRLF included */
#define SMTP_MAX_AUTH_LINE   12288  /* an AUTH line or SASL response, CRLF included (RFC 4954) */

/* Text for an error code, e.g. "reply line too long". */
const char *smtp_strerror(int err);

/* 1 when none of the len octets at p (NULL when len is 0) is NUL, CR or LF,
 * nor, when path is set, '<' or '>': what a command argument may not hold,
 * or it would end the line or the path early. 0 otherwise. */
int smtp_arg_clean(const char *p, size_t len, int path);

/* The length of the longest prefix of s (len octets) that is all ASCII (no
 * octet above 127): eight octets a step, then one at a time. */
static inline size_t smtp_ascii_prefix(const char *s, size_t len)
{
	size_t i = 0;

	for (; len - i >= 8; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, sizeof(w));
		if (w & 0x8080808080808080ULL) {
			break;
		}
	}
	while (i < len && !((unsigned char)s[i] & 0x80)) {
		i++;
	}
	return i;
}

#endif
