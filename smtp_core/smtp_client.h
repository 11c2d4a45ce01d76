/*
 * smtp_client: the SMTP client state machine (sans-I/O).
 *
 * The driver connects, then feeds every byte the server sends to
 * smtp_client_feed(), which returns one event per complete reply, matched to
 * the command it answers (pipelining bookkeeping lives here). Verbs validate
 * their arguments and the state at one choke point, then queue command bytes;
 * the driver drains them with smtp_client_output() and writes them in as few
 * writes as it likes. A verb refused for its state or arguments queues nothing.
 *
 * States (SMTP_ST_*) reflect the commands sent so far; replies move them back
 * when a command fails (a refused MAIL ends the transaction, etc.).
 *
 * STARTTLS is a pause: once its 220 arrives the client is in SMTP_ST_TLS and
 * accepts nothing until the driver has run the handshake and called
 * smtp_client_tls_done(), which drops the capabilities and queues EHLO again.
 * Bytes that followed the 220 are SMTP_E_TLS_INJECTION.
 */
#ifndef SMTP_CLIENT_H
#define SMTP_CLIENT_H

#include "smtp_core.h"
#include "smtp_buf.h"
#include "smtp_reply.h"
#include "smtp_caps.h"
#include "smtp_data.h"

typedef enum {
	SMTP_ST_GREETING = 0, /* connected, waiting for the 220 greeting */
	SMTP_ST_GREETED,      /* greeting received: EHLO/HELO next */
	SMTP_ST_READY,        /* EHLO/HELO accepted, no transaction open */
	SMTP_ST_TLS,          /* STARTTLS accepted: paused for the handshake */
	SMTP_ST_AUTH,         /* an AUTH exchange is in progress */
	SMTP_ST_MAIL,         /* MAIL sent */
	SMTP_ST_RCPT,         /* at least one RCPT sent */
	SMTP_ST_DATA,         /* DATA sent, waiting for 354 */
	SMTP_ST_BODY,         /* 354 received: the message may be written */
	SMTP_ST_DOT,          /* end of data sent, waiting for the final reply */
	SMTP_ST_BDAT,         /* BDAT chunks sent, LAST not yet */
	SMTP_ST_BDAT_LAST,    /* BDAT LAST sent, waiting for the final reply */
	SMTP_ST_QUIT,         /* QUIT sent */
	SMTP_ST_CLOSED,       /* closed: 221, 421, or a fatal error */
	SMTP_ST_CHUNK,        /* a BDAT line framed: its octets are being given (smtp_client_chunk_*) */
	SMTP_ST__COUNT
} smtp_state_t;

/* Which command a reply answers. */
typedef enum {
	SMTP_CMD_GREETING = 0,
	SMTP_CMD_EHLO,
	SMTP_CMD_HELO,
	SMTP_CMD_STARTTLS,
	SMTP_CMD_AUTH,        /* AUTH and each SASL response line */
	SMTP_CMD_MAIL,
	SMTP_CMD_RCPT,
	SMTP_CMD_DATA,
	SMTP_CMD_DOT,         /* the end of the DATA body */
	SMTP_CMD_BDAT,
	SMTP_CMD_RSET,
	SMTP_CMD_VRFY,
	SMTP_CMD_NOOP,
	SMTP_CMD_QUIT,
	SMTP_CMD_NONE,        /* unsolicited reply (only 421 is accepted) */
	SMTP_CMD__COUNT
} smtp_cmd_t;

typedef struct {
	smtp_cmd_t cmd;             /* the command this reply answers */
	unsigned index;             /* RCPT ordinal in the transaction, BDAT chunk ordinal (0-based) */
	int ok;                     /* the reply is the final success cmd expects */
	int intermediate;           /* a 334 to AUTH: a SASL continuation */
	int closing;                /* the server ends the session (421, or the reply to QUIT) */
	int last;                   /* for BDAT: the reply to the LAST chunk */
	const smtp_reply_t *reply;  /* valid until the next feed */
} smtp_event_t;

/* Trace hook: dir '>' for a line sent, '<' for a line received; the line has
 * no line end. AUTH secrets are shown as "***"; a message body is one summary
 * line. */
typedef void (*smtp_trace_fn)(void *ud, int dir, const char *line, size_t len);

typedef struct smtp_client smtp_client_t;

/* A new client in SMTP_ST_GREETING, or NULL when out of memory. */
smtp_client_t *smtp_client_new(void);
/* Free a client and everything it owns. */
void smtp_client_free(smtp_client_t *c);
/* Install the trace hook (NULL to remove). */
void smtp_client_set_trace(smtp_client_t *c, smtp_trace_fn fn, void *ud);
/* Allow (1) or forbid (0, the default) queuing a command while replies are outstanding. */
void smtp_client_set_pipelining(smtp_client_t *c, int on);

/* Resume a session another client left READY on the same connection (a
 * persistent stream): state READY without a greeting, capabilities from the
 * EHLO reply text given as received (lines joined by LF, or empty after
 * HELO), tls as it was. SMTP_OK, SMTP_E_STATE unless the client is new, or
 * SMTP_E_SYNTAX / SMTP_E_NOMEM. */
int smtp_client_resume(smtp_client_t *c, const char *ehlo_text, size_t len, int tls);

/* Current state. */
smtp_state_t smtp_client_state(const smtp_client_t *c);
/* Name of a state, e.g. "READY". */
const char *smtp_state_name(smtp_state_t st);
/* Name of a command, e.g. "RCPT". */
const char *smtp_cmd_name(smtp_cmd_t cmd);
/* Sticky fatal error (negative SMTP_E_*), 0 when none. */
int smtp_client_error(const smtp_client_t *c);
/* Commands sent whose replies have not arrived. */
size_t smtp_client_pending(const smtp_client_t *c);
/* The command the next reply answers; SMTP_CMD_NONE when none is pending. */
smtp_cmd_t smtp_client_awaiting(const smtp_client_t *c);
/* Capabilities from the last accepted EHLO (empty after HELO or STARTTLS). */
const smtp_caps_t *smtp_client_caps(const smtp_client_t *c);
/* 1 after the EHLO (not HELO) was accepted. */
int smtp_client_esmtp(const smtp_client_t *c);
/* RCPTs of the open transaction: sent, accepted, answered. */
unsigned smtp_client_rcpt_sent(const smtp_client_t *c);
unsigned smtp_client_rcpt_accepted(const smtp_client_t *c);
unsigned smtp_client_rcpt_answered(const smtp_client_t *c);

/* Feed bytes received. Parses at most one reply; *consumed tells the bytes
 * used (feed the rest again). Returns 1 with *ev filled when a reply
 * completed, 0 when all bytes were consumed without one, or a negative
 * SMTP_E_* (sticky: the session is unusable, state SMTP_ST_CLOSED). */
int smtp_client_feed(smtp_client_t *c, const char *data, size_t len, size_t *consumed, smtp_event_t *ev);
/* After smtp_client_feed() returned 1: move the reply it reported into
 * *keep (an initialised or zeroed reply) without copying it, by exchanging
 * storage: keep's old storage becomes the client's, for replies to come.
 * *keep then holds the reply until the next take, however much is fed
 * meanwhile; the event's reply pointer is left on the client's storage,
 * emptied now: use keep instead. Nothing happens unless a reply was completed and not
 * taken yet. */
void smtp_client_take_reply(smtp_client_t *c, smtp_reply_t *keep);
/* The server closed the connection; returns SMTP_E_CLOSED and closes the client. */
int smtp_client_eof(smtp_client_t *c);
/* Nonzero when part of a reply is buffered (a close now is a close mid-reply). */
int smtp_client_mid_reply(const smtp_client_t *c);

/* Bytes queued for the server: *data points at them (valid until the next
 * verb or consume). Returns their count (0: nothing to write). */
size_t smtp_client_output(smtp_client_t *c, const char **data);
/* n bytes of the output were written. */
void smtp_client_output_consumed(smtp_client_t *c, size_t n);

/* Verbs. Each returns SMTP_OK, SMTP_E_STATE (wrong state, or a reply still
 * outstanding without pipelining), SMTP_E_ARG, SMTP_E_TOO_LONG, SMTP_E_CLOSED
 * or SMTP_E_NOMEM; on error nothing is queued. Arguments are (pointer,
 * length): a NUL, CR or LF inside is SMTP_E_ARG. */

/* EHLO / HELO domain (states GREETED, READY). The domain is kept for the EHLO after STARTTLS. */
int smtp_client_ehlo(smtp_client_t *c, const char *domain, size_t len);
int smtp_client_helo(smtp_client_t *c, const char *domain, size_t len);
/* STARTTLS (state READY, not yet TLS). */
int smtp_client_starttls(smtp_client_t *c);
/* The TLS handshake succeeded: capabilities dropped, state GREETED, EHLO queued again. */
int smtp_client_tls_done(smtp_client_t *c);
/* 1 after smtp_client_tls_done(). */
int smtp_client_tls_active(const smtp_client_t *c);
/* MAIL FROM:<from> [SP params] (state READY; with pipelining also DOT and
 * BDAT_LAST: the next transaction pipelined behind the end of a message,
 * whose final reply still comes as its own event). from may be empty (null reverse-path);
 * '<' or '>' in it is SMTP_E_ARG. params: "SIZE=1 BODY=8BITMIME" or empty. */
int smtp_client_mail(smtp_client_t *c, const char *from, size_t from_len, const char *params, size_t params_len);
/* RCPT TO:<to> [SP params] (states MAIL, RCPT; to not empty). */
int smtp_client_rcpt(smtp_client_t *c, const char *to, size_t to_len, const char *params, size_t params_len);
/* DATA (state RCPT, unless every RCPT was answered and none accepted). */
int smtp_client_data(smtp_client_t *c);
/* Message octets (state BODY): CRLF-normalised and dot-stuffed into the output. */
int smtp_client_body(smtp_client_t *c, const char *data, size_t len);
/* Zero-copy (state BODY): the length of the longest prefix of data that goes
 * on the wire unchanged, taken as written; the caller writes those octets
 * itself, after everything queued so far. 0 in any other state. */
size_t smtp_client_body_passthrough(smtp_client_t *c, const char *data, size_t len);
/* End of the message: final line end and "." (state BODY -> DOT). */
int smtp_client_body_end(smtp_client_t *c);
/* BDAT chunk (states RCPT, BDAT): CRLF-normalised octets framed as
 * "BDAT n[ LAST]"; last ends the message (-> BDAT_LAST). A chunk that
 * normalises to nothing is allowed only with last. The whole chunk is
 * copied into the output. */
int smtp_client_bdat(smtp_client_t *c, const char *data, size_t len, int last);

/*
 * One BDAT chunk made of several pieces, its size framed up front, so that
 * a message kept in pieces (headers built here, the caller's body) goes as
 * one chunk, and its octets can go out without being copied:
 *
 *   smtp_client_chunk_open(c, pieces, n, last)   queue "BDAT size[ LAST]"
 *   for each piece, in order, all of its octets:
 *       smtp_client_chunk_write(c, p, len)       encode into the output, or
 *       smtp_client_chunk_passthrough(c, p, len) take a prefix the caller
 *                                                writes itself (zero-copy)
 *
 * The chunk is complete (state BDAT, or BDAT_LAST with last) once exactly the
 * octets measured at open were given; until then the state is CHUNK and no
 * other verb is accepted. The octets given must be the ones measured: a
 * chunk that comes out at another size is a fatal SMTP_E_ARG.
 */
typedef struct {
	const char *data;
	size_t len;
} smtp_piece_t;

/* Octets the pieces come to as the next BDAT chunk (CRLF-normalised, with
 * last the final line end), from the encoder's state now. */
unsigned long long smtp_client_chunk_size(const smtp_client_t *c, const smtp_piece_t *pieces, size_t n, int last);
/* Open a chunk of the pieces (states RCPT, BDAT; as smtp_client_bdat()): the
 * BDAT line is queued, state CHUNK. A chunk of no octets is allowed only with
 * last (its LAST line completes it at once). SMTP_E_ARG when the pieces
 * total more than SIZE_MAX octets. */
int smtp_client_chunk_open(smtp_client_t *c, const smtp_piece_t *pieces, size_t n, int last);
/* The next len octets of the open chunk, encoded into the output (state
 * CHUNK). SMTP_E_ARG (nothing queued) when len goes past the pieces given to
 * open; fatal SMTP_E_ARG when the chunk does not come out at its framed size. */
int smtp_client_chunk_write(smtp_client_t *c, const char *data, size_t len);
/* Zero-copy (state CHUNK): the length of the longest prefix of data (within
 * the chunk) that goes on the wire unchanged, taken as written; the caller
 * writes those octets itself, after everything queued so far and before
 * anything queued later. 0 in any other state. */
size_t smtp_client_chunk_passthrough(smtp_client_t *c, const char *data, size_t len);
/* Octets of the open chunk's pieces still to be given (0 when none is open). */
unsigned long long smtp_client_chunk_left(const smtp_client_t *c);
/* RSET (states GREETED, READY, MAIL, RCPT, BDAT; with pipelining also DOT
 * and BDAT_LAST): ends the transaction. Replies to commands of a transaction
 * that a later MAIL or RSET followed report their own outcome (ok, last) and
 * leave the open transaction's state alone. */
int smtp_client_rset(smtp_client_t *c);
/* VRFY / NOOP (states GREETED, READY, MAIL, RCPT). */
int smtp_client_vrfy(smtp_client_t *c, const char *arg, size_t len);
int smtp_client_noop(smtp_client_t *c);
/* QUIT (any state but GREETING, TLS, BODY, QUIT, CLOSED). */
int smtp_client_quit(smtp_client_t *c);
/* AUTH mech [SP initial] (state READY). trace_text replaces the line in the
 * trace (e.g. "AUTH PLAIN ***"). */
int smtp_client_auth(smtp_client_t *c, const char *line, size_t len, const char *trace_text);
/* A SASL response line (state AUTH, after a 334): trace shows "***" unless trace_text. */
int smtp_client_auth_response(smtp_client_t *c, const char *line, size_t len, const char *trace_text);

#endif
