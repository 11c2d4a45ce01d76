/*
 * smtp_queueid: the queue id a server gives an accepted message in its final
 * reply (the 250 after the end of DATA or after BDAT LAST), e.g. Postfix's
 * "250 2.0.0 Ok: queued as 4XyZ1abcDE" or Exim's "250 OK id=1abcDE-000123-Fg".
 *
 * A pure function over the reply text: a small table of known wordings (see
 * smtp_queueid.c and the README's "Queue ids"), each a fixed pattern with an
 * id of a given alphabet and length, tried line by line, the first line with
 * a match winning and, on one line, the earlier table entry. Nothing
 * backtracks: every attempt is bounded by a constant, so the time is linear
 * in the length of the text, whatever it holds (NULs, non-ASCII, 8 KiB lines
 * of keywords). No allocation; the id points into the text.
 *
 * An id is 1..SMTP_QUEUE_ID_MAX octets of [A-Za-z0-9] and !#$%&*+-./=?@^_~
 * (no space, control, quote, bracket, comma, colon or semicolon, nothing
 * outside ASCII), never ending in '.', '!' or '?' (trailing punctuation is
 * not part of the id), and never spans a line.
 */
#ifndef SMTP_QUEUEID_H
#define SMTP_QUEUEID_H

#include "smtp_core.h"
#include "smtp_reply.h"

#define SMTP_QUEUE_ID_MAX 128   /* octets of an id; a longer candidate is no id */

/* Find the queue id in a final reply's text: one or more lines separated by
 * LF (a CR before the LF is ignored), each optionally starting with its reply
 * code ("250 " / "250-") and an enhanced status code ("2.0.0 "), as
 * smtp_reply_t.text holds them. A text whose first line carries a code other
 * than 2xx has no id. Returns 1 and points *id (length *id_len) into text
 * when an id is found; else 0 with *id = NULL, *id_len = 0. text may be NULL
 * when len is 0; id and id_len must not be NULL. */
int smtp_queue_id(const char *text, size_t len, const char **id, size_t *id_len);

/* smtp_queue_id() over a parsed reply (its text); 0 unless r->code is 2xx.
 * The id points into r->text. */
int smtp_reply_queue_id(const smtp_reply_t *r, const char **id, size_t *id_len);

/* Nonzero when the octet may appear in an id (the alphabet above). */
int smtp_queue_id_octet(unsigned char c);

#ifdef SMTP_QUEUEID_TEST_HOOKS
/* Unit tests only (defined by smtp_core/tests/Makefile, never by the
 * extension's build): octets examined by smtp_queue_id() since the program
 * started, so that a test can show the work stays linear. */
extern unsigned long smtp_queue_id_test_steps;
/* 0 when every form's least length is the one its pattern gives and the
 * smallest of them is QID_LEAST_OF_ALL; else the 1-based index of the first
 * form whose length is wrong, or -1. */
int smtp_queue_id_test_table(void);
#endif

#endif
