/*
 * smtp_sched: the transaction scheduler (sans-I/O), above smtp_client_t.
 *
 * The driver submits messages (envelope, body pieces, atomic flag); the
 * scheduler decides which commands go out in which order and when, by
 * calling the client's verbs, and turns the client's events into
 * per-message outcomes, given back in submission order:
 *
 *   - PIPELINING and CHUNKING: up to `window` transactions in flight, each
 *     [RSET] MAIL, RCPT..., BDAT n LAST, written without waiting;
 *   - PIPELINING alone: MAIL, RCPT..., DATA as one group; the message after
 *     the 354; its end of data goes out with the next message's group
 *     (DATA ends a group: RFC 2920 3.1);
 *   - neither: one command at a time;
 *   - atomic: every envelope reply is awaited before any of the content; a
 *     refusal sends RSET and nothing of the message.
 *
 * RSET goes in front of a MAIL whenever the server may still hold an earlier
 * transaction of this connection (its final reply not yet known as a
 * success), so that a refused transaction never makes the next MAIL a
 * nested one; and in front of a message flagged `liveness` (a session
 * reused after idling): when that RSET is answered by end of stream or 421
 * with nothing else outstanding before it, the server was gone and every
 * message behind it is SMTP_SCHED_REPLAY.
 *
 * One scheduler serves one connection. The driver:
 *
 *   while messages remain or smtp_sched_in_flight():
 *       while smtp_sched_can_submit() and messages remain: smtp_sched_submit()
 *       write smtp_client_output()
 *       while smtp_sched_pop(): report the outcome
 *       if smtp_sched_waiting(): read; smtp_sched_feed() (or
 *           smtp_client_feed() + smtp_sched_event()); on end of stream or
 *           an error, smtp_sched_lost(), pop everything, and send the
 *           SMTP_SCHED_REPLAY ones on a new connection with a new scheduler.
 *
 * The scheduler borrows the client and every pointer of a submitted message
 * (addresses, parameters, body pieces) until that message is popped.
 */
#ifndef SMTP_SCHED_H
#define SMTP_SCHED_H

#include "smtp_client.h"

/* One recipient: address (without <>) and ESMTP parameters (may be empty). */
typedef struct {
	const char *addr;
	size_t len;
	const char *params;
	size_t params_len;
} smtp_sched_rcpt_t;

/*
 * A message's content pulled piece by piece (a stream), instead of pieces
 * given up front: called while the scheduler writes the content (after the
 * 354, or as BDAT chunks, one chunk per piece), as long as the client's
 * output holds less than SMTP_SCHED_OUT_MAX octets (then the driver writes
 * and calls smtp_sched_pump()). Sets *data, *len to the next piece
 * (borrowed until the next call) and returns 1; returns 0 at the end of the
 * message; a negative SMTP_E_* when the content cannot be had: the message
 * ends as SMTP_SCHED_LOCAL with that rc, nothing of it delivered (with BDAT
 * an RSET ends its transaction; with DATA, whose end cannot be withheld,
 * the scheduler returns SMTP_E_ABORTED: see smtp_sched_pump()).
 */
typedef int (*smtp_sched_body_fn)(void *msg_ud, const char **data, size_t *len);

/* Octets of queued output above which a pulled body waits for the driver to write. */
#define SMTP_SCHED_OUT_MAX 65536

/* A message to send. Every pointer is borrowed until the message is popped. */
typedef struct {
	const char *from;            /* reverse path without <>; may be empty */
	size_t from_len;
	const char *mail_params;     /* "SIZE=10 BODY=8BITMIME" or empty */
	size_t mail_params_len;
	const smtp_sched_rcpt_t *rcpts;
	size_t nrcpt;                /* at least 1 */
	const smtp_piece_t *body;    /* the message, in pieces, as given to DATA/BDAT (not yet CRLF-normalised) */
	size_t nbody;
	smtp_sched_body_fn body_fn;  /* when set: the content is pulled through it (body, nbody unused) */
	int atomic;                  /* every envelope reply before the content; any refusal: RSET, nothing sent */
	int checked;                 /* the driver has made sure that from, mail_params and every recipient and
	                              * its parameters hold no NUL, CR or LF (nor '<', '>' in an address):
	                              * submit does not scan them again (lengths are still checked) */
	int liveness;                /* RSET in front, whose end of stream / 421 means the server was gone */
	void *ud;                    /* the driver's tag, given back with every reply and the outcome */
} smtp_sched_msg_t;

/* How a message ended. */
typedef enum {
	SMTP_SCHED_ACCEPTED = 0,     /* final success, for at least one recipient (atomic: every one) */
	SMTP_SCHED_REFUSED,          /* the server refused it (see smtp_sched_why_t); nothing delivered */
	SMTP_SCHED_REPLAY,           /* the connection was lost before any of its content was written (or
	                              * the liveness RSET in front showed the server gone): send it again */
	SMTP_SCHED_MAYBE,            /* content written, final reply never came: may have been delivered, never resend */
	SMTP_SCHED_LOCAL             /* not sent because of a local failure (rc): refused by the client before
	                              * anything of it was written, its pulled body failed, or the connection
	                              * was lost while its body was written, before its end (not delivered) */
} smtp_sched_class_t;

/* Which reply decided a refusal. */
typedef enum {
	SMTP_SCHED_WHY_NONE = 0,
	SMTP_SCHED_WHY_MAIL,         /* MAIL refused */
	SMTP_SCHED_WHY_RCPT,         /* every recipient refused */
	SMTP_SCHED_WHY_ATOMIC,       /* a recipient refused with atomic */
	SMTP_SCHED_WHY_DATA,         /* DATA refused */
	SMTP_SCHED_WHY_CONTENT       /* the end of data or a BDAT chunk refused */
} smtp_sched_why_t;

/* What a reply given to the reply hook answered. */
typedef enum {
	SMTP_SCHED_R_FRONT = 0,      /* the RSET written in front of the message */
	SMTP_SCHED_R_MAIL,
	SMTP_SCHED_R_RCPT,           /* index: the recipient's position in the message */
	SMTP_SCHED_R_DATA,
	SMTP_SCHED_R_FINAL,          /* end of data or BDAT LAST: the message's final reply */
	SMTP_SCHED_R_RESET,          /* the RSET after a refusal */
	SMTP_SCHED_R_CHUNK           /* a BDAT chunk before the LAST one (pulled bodies); index: its ordinal */
} smtp_sched_reply_t;

/* Called for each reply, in the order received, with the message it belongs
 * to; ev (and its reply) is valid during the call only. */
typedef void (*smtp_sched_reply_fn)(void *ud, void *msg_ud, smtp_sched_reply_t what, unsigned index,
                                    const smtp_event_t *ev);

/* A message's outcome (smtp_sched_pop()). */
typedef struct {
	void *ud;                    /* the message's tag */
	smtp_sched_class_t cls;
	smtp_sched_why_t why;        /* for SMTP_SCHED_REFUSED; for SMTP_SCHED_LOCAL from the checks of
	                              * smtp_sched_submit(): MAIL (the sender or its parameters), RCPT
	                              * (a recipient or its parameters, or none), else NONE */
	int rc;                      /* for SMTP_SCHED_LOCAL: the SMTP_E_* */
	unsigned rcpt_accepted;      /* recipients whose RCPT was accepted */
	int content_written;         /* any of its content went to the client's output */
} smtp_sched_outcome_t;

typedef struct smtp_sched smtp_sched_t;

/* A scheduler over client c (state READY, nothing outstanding) for up to
 * window (>= 1) messages between submit and pop; pipelining / chunking: use
 * them (the driver has checked the server offers them and they are wanted).
 * Sets the client's pipelining switch. NULL when out of memory. */
smtp_sched_t *smtp_sched_new(smtp_client_t *c, unsigned window, int pipelining, int chunking);
/* Make s as smtp_sched_new(c, window, pipelining, chunking) would, keeping
 * its memory (a driver that sends one message at a time reuses one
 * scheduler for every message of a connection). Messages not popped and the
 * hooks are forgotten. */
void smtp_sched_reset(smtp_sched_t *s, smtp_client_t *c, unsigned window, int pipelining, int chunking);
/* Free the scheduler (not the client). Messages not popped are forgotten. */
void smtp_sched_free(smtp_sched_t *s);
/* Install the reply hook (NULL to remove). */
void smtp_sched_set_reply_fn(smtp_sched_t *s, smtp_sched_reply_fn fn, void *ud);

/*
 * Zero-copy (optional): a run of a message's content that goes on the wire
 * unchanged (no dot to stuff, no bare line end to mend) need not be copied
 * into the client's output. With a writer installed, the scheduler hands
 * every such run of at least min octets of a message given in pieces (not a
 * pulled one) to it: the writer writes the client's output queued so far,
 * then the run, before anything queued later; called with (NULL, 0) it
 * writes the queued output only (the scheduler does so while it encodes a
 * long piece, so the output stays near SMTP_SCHED_OUT_MAX). It returns SMTP_OK, or a
 * negative SMTP_E_* when the write failed (the scheduler returns that rc: the
 * connection is lost). Without a writer every octet is copied.
 */
typedef int (*smtp_sched_direct_fn)(void *ud, const char *data, size_t len);
void smtp_sched_set_direct_fn(smtp_sched_t *s, smtp_sched_direct_fn fn, void *ud, size_t min);

/* 1 when a message may be submitted now: the window has room, the previous
 * message is written out (up to its content; with DATA, after its 354), no
 * atomic message awaits its envelope replies, with no pipelining nothing is
 * in flight, and the connection is not lost. */
int smtp_sched_can_submit(const smtp_sched_t *s);
/* Submit a message; its commands are queued in the client as far as the
 * rules allow. SMTP_OK when taken (a message the client could not send, such
 * as an address with CR/LF/<>, an empty recipient list or an over-long line,
 * is taken and ends as SMTP_SCHED_LOCAL with nothing written);
 * SMTP_E_STATE when smtp_sched_can_submit() is 0; SMTP_E_NOMEM. */
int smtp_sched_submit(smtp_sched_t *s, const smtp_sched_msg_t *m);
/* Give the scheduler an event from smtp_client_feed(): the reply hook runs,
 * and the commands that were waiting for it are queued. SMTP_OK, or a
 * negative SMTP_E_* when the connection cannot go on (a 421 or other closing
 * reply: SMTP_E_CLOSED; a reply no message expects: SMTP_E_UNEXPECTED;
 * SMTP_E_NOMEM): call smtp_sched_lost() then. */
int smtp_sched_event(smtp_sched_t *s, const smtp_event_t *ev);
/* smtp_client_feed() and smtp_sched_event() together: 1 after a reply, 0
 * when all of data was taken without one, negative SMTP_E_* as either
 * returns (then call smtp_sched_lost()). *consumed: the octets used. */
int smtp_sched_feed(smtp_sched_t *s, const char *data, size_t len, size_t *consumed);
/* The connection is gone (end of stream, reset, 421, timeout, protocol
 * error): the client is not touched again (it may already be freed). Every
 * message without an outcome gets one: SMTP_SCHED_MAYBE when any of its
 * content was written (SMTP_SCHED_REFUSED when its envelope had already
 * failed), else SMTP_SCHED_REPLAY; all SMTP_SCHED_REPLAY from a liveness
 * RSET that was not answered or answered 421 with nothing before it
 * outstanding. */
void smtp_sched_lost(smtp_sched_t *s);
/* 1 after smtp_sched_lost(). */
int smtp_sched_is_lost(const smtp_sched_t *s);
/* 1 when the server may still hold a transaction of this connection (a MAIL
 * whose transaction did not end in a success and was not reset): a MAIL
 * written now, other than through this scheduler, needs an RSET first. */
int smtp_sched_holds_transaction(const smtp_sched_t *s);
/* Messages submitted and not yet popped. */
size_t smtp_sched_in_flight(const smtp_sched_t *s);
/* 1 when progress needs a reply from the server (replies are outstanding). */
int smtp_sched_waiting(const smtp_sched_t *s);
/* 1 when a pulled body has more to write now (it stops at
 * SMTP_SCHED_OUT_MAX octets of output): write the client's output, then
 * call smtp_sched_pump(). 0 when nothing is pulled, or it waits for a reply
 * (a chunk's, without pipelining). */
int smtp_sched_wants_write(const smtp_sched_t *s);
/* Write more of what is waiting (a pulled body after the driver wrote the
 * output). SMTP_OK; SMTP_E_ABORTED when a DATA body's source failed: the
 * connection must be dropped (the end of data is never written, so the
 * message is not delivered; call smtp_sched_lost()); another negative
 * SMTP_E_* from the client (then call smtp_sched_lost()). smtp_sched_event()
 * and smtp_sched_submit() return the same. */
int smtp_sched_pump(smtp_sched_t *s);
/* What the driver does next for the messages in flight, in this order:
 * SMTP_SCHED_STEP_WRITE (a pulled body wants more: write the output, then
 * smtp_sched_pump()), SMTP_SCHED_STEP_READ (write the output, read a reply
 * for smtp_sched_event()), SMTP_SCHED_STEP_POP (an outcome is ready),
 * SMTP_SCHED_STEP_IDLE (nothing in flight, or lost). */
typedef enum {
	SMTP_SCHED_STEP_IDLE = 0,
	SMTP_SCHED_STEP_WRITE,
	SMTP_SCHED_STEP_READ,
	SMTP_SCHED_STEP_POP
} smtp_sched_step_t;
smtp_sched_step_t smtp_sched_step(const smtp_sched_t *s);
/* The oldest message's outcome once it is known: 1 with *out filled (the
 * message is forgotten), 0 when none is ready. Outcomes come in submission
 * order. */
int smtp_sched_pop(smtp_sched_t *s, smtp_sched_outcome_t *out);
/* Name of a class, e.g. "REPLAY". */
const char *smtp_sched_class_name(smtp_sched_class_t cls);

#endif
