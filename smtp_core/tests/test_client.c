/*
 * test_client.c: transcripts through the client state machine: calls ->
 * wire bytes, server bytes -> events, fed whole, byte by byte and split at
 * every position; the state guards; STARTTLS; 421; allocation failures.
 */
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "../smtp_client.h"
#include "smtp_core_config.h"

typedef struct {
	int cmd;
	unsigned index;
	int ok;
	int code;
	int closing;
	int intermediate;
} ev_rec;

#define MAX_EV 64

typedef struct {
	ev_rec ev[MAX_EV];
	int n;
	int err;
} ev_log;

/* Feed len bytes in pieces of at most step (0: whole), recording events. */
static void feed_steps(smtp_client_t *c, const char *data, size_t len, size_t step, ev_log *log)
{
	size_t pos = 0;

	while (pos < len && !log->err) {
		size_t piece = step ? (len - pos < step ? len - pos : step) : len - pos;
		size_t off = 0;
		while (off < piece) {
			smtp_event_t ev;
			size_t used = 0;
			int rc = smtp_client_feed(c, data + pos + off, piece - off, &used, &ev);
			if (rc < 0) {
				log->err = rc;
				return;
			}
			off += used;
			if (rc == 1 && log->n < MAX_EV) {
				ev_rec *r = &log->ev[log->n++];
				r->cmd = ev.cmd;
				r->index = ev.index;
				r->ok = ev.ok;
				r->code = ev.reply->code;
				r->closing = ev.closing;
				r->intermediate = ev.intermediate;
			}
			if (rc == 0) {
				break;
			}
		}
		pos += piece;
	}
}

#define feed_lit(c, lit, step, log) feed_steps((c), (lit), sizeof(lit) - 1, (step), (log))

/* Everything queued for the server, drained. */
static size_t drain(smtp_client_t *c, char *buf, size_t cap)
{
	const char *p;
	size_t n = smtp_client_output(c, &p), total = 0;

	while (n > 0 && total + n <= cap) {
		memcpy(buf + total, p, n);
		total += n;
		smtp_client_output_consumed(c, n);
		n = smtp_client_output(c, &p);
	}
	return total;
}

#define CHECK_WIRE(c, want) do { \
	char wire_[8192]; \
	size_t wn_ = drain((c), wire_, sizeof(wire_)); \
	CHECK_MEM(wire_, wn_, (want), strlen(want)); \
} while (0)

static const char EHLO_REPLY[] =
	"250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n"
	"250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 CHUNKING\r\n";

/* A client past EHLO, pipelining on. */
static smtp_client_t *ready_client(void)
{
	smtp_client_t *c = smtp_client_new();
	ev_log log = {0};
	char buf[256];

	smtp_client_set_pipelining(c, 1);
	CHECK_INT(smtp_client_awaiting(c), SMTP_CMD_GREETING);
	feed_lit(c, "220 mx ESMTP\r\n", 0, &log);
	CHECK_INT(smtp_client_awaiting(c), SMTP_CMD_NONE);
	smtp_client_ehlo(c, "client.example", 14);
	CHECK_INT(smtp_client_awaiting(c), SMTP_CMD_EHLO);
	drain(c, buf, sizeof(buf));
	feed_steps(c, EHLO_REPLY, sizeof(EHLO_REPLY) - 1, 0, &log);
	return c;
}

/* The pipelined transaction: the same events however the replies are split. */
static void test_pipelined_transaction(void)
{
	static const char replies[] =
		"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 <b@x>: Recipient address rejected\r\n"
		"250-2.1.5 Ok\r\n250 2.1.5 still ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n";
	size_t len = sizeof(replies) - 1, split, step;

	for (split = 0; split <= len + 2; split++) {
		smtp_client_t *c = ready_client();
		ev_log log = {0};
		int pass = 1;

		CHECK_INT(smtp_client_state(c), SMTP_ST_READY);
		CHECK(smtp_client_caps(c)->flags & SMTP_CAP_PIPELINING);
		CHECK_INT(smtp_client_mail(c, "s@x", 3, "SIZE=10", 7), SMTP_OK);
		CHECK_INT(smtp_client_rcpt(c, "a@x", 3, "", 0), SMTP_OK);
		CHECK_INT(smtp_client_rcpt(c, "b@x", 3, "NOTIFY=NEVER", 12), SMTP_OK);
		CHECK_INT(smtp_client_rcpt(c, "c@x", 3, "", 0), SMTP_OK);
		CHECK_INT(smtp_client_data(c), SMTP_OK);
		CHECK_WIRE(c, "MAIL FROM:<s@x> SIZE=10\r\nRCPT TO:<a@x>\r\nRCPT TO:<b@x> NOTIFY=NEVER\r\n"
		              "RCPT TO:<c@x>\r\nDATA\r\n");
		CHECK_INT(smtp_client_pending(c), 5);
		CHECK_INT(smtp_client_awaiting(c), SMTP_CMD_MAIL);
		if (split <= len) {
			feed_steps(c, replies, split, 0, &log);
			feed_steps(c, replies + split, len - split, 0, &log);
		} else {
			step = split - len;   /* 1 and 2: byte by byte, two by two */
			feed_steps(c, replies, len, step, &log);
		}
		pass &= CHECK_INT(log.err, 0);
		pass &= CHECK_INT(log.n, 5);
		if (log.n == 5) {
			CHECK_INT(log.ev[0].cmd, SMTP_CMD_MAIL);
			CHECK(log.ev[0].ok);
			CHECK_INT(log.ev[1].cmd, SMTP_CMD_RCPT);
			CHECK_INT(log.ev[1].index, 0);
			CHECK(log.ev[1].ok);
			CHECK_INT(log.ev[2].index, 1);
			CHECK(!log.ev[2].ok);
			CHECK_INT(log.ev[2].code, 550);
			CHECK_INT(log.ev[3].index, 2);
			CHECK(log.ev[3].ok);
			CHECK_INT(log.ev[4].cmd, SMTP_CMD_DATA);
			CHECK(log.ev[4].ok);
		}
		CHECK_INT(smtp_client_state(c), SMTP_ST_BODY);
		CHECK_INT(smtp_client_rcpt_accepted(c), 2);
		CHECK_INT(smtp_client_body(c, ".first\nx\r\n.", 11), SMTP_OK);
		CHECK_INT(smtp_client_body_end(c), SMTP_OK);
		CHECK_WIRE(c, "..first\r\nx\r\n..\r\n.\r\n");
		CHECK_INT(smtp_client_awaiting(c), SMTP_CMD_DOT);
		log.n = 0;
		feed_lit(c, "250 2.0.0 queued\r\n", 0, &log);
		CHECK_INT(smtp_client_awaiting(c), SMTP_CMD_NONE);
		CHECK_INT(log.n, 1);
		CHECK_INT(log.ev[0].cmd, SMTP_CMD_DOT);
		CHECK(log.ev[0].ok);
		CHECK_INT(smtp_client_state(c), SMTP_ST_READY);
		smtp_client_free(c);
		if (!pass) {
			fprintf(stderr, "  (split %lu)\n", (unsigned long)split);
			break;
		}
	}
}

/* Transactions pipelined one behind another (smtp_sched): MAIL and RSET
 * after the end of a message with pipelining only; the replies to the
 * earlier transaction tell their own outcome and leave the open one alone. */
static void test_across_transactions(void)
{
	smtp_client_t *c = ready_client();
	ev_log log = {0};

	CHECK_INT(smtp_client_mail(c, "s@x", 3, "", 0), SMTP_OK);
	CHECK_INT(smtp_client_rcpt(c, "a@x", 3, "", 0), SMTP_OK);
	CHECK_INT(smtp_client_bdat(c, "m1\r\n", 4, 1), SMTP_OK);
	CHECK_INT(smtp_client_state(c), SMTP_ST_BDAT_LAST);
	/* the next transaction behind it, with RSET in front */
	CHECK_INT(smtp_client_rset(c), SMTP_OK);
	CHECK_INT(smtp_client_mail(c, "s@x", 3, "", 0), SMTP_OK);
	CHECK_INT(smtp_client_rcpt(c, "b@x", 3, "", 0), SMTP_OK);
	CHECK_INT(smtp_client_rcpt(c, "c@x", 3, "", 0), SMTP_OK);
	CHECK_INT(smtp_client_bdat(c, "m2\r\n", 4, 1), SMTP_OK);
	/* and one more without RSET */
	CHECK_INT(smtp_client_mail(c, "s@x", 3, "", 0), SMTP_OK);
	CHECK_INT(smtp_client_rcpt(c, "d@x", 3, "", 0), SMTP_OK);
	CHECK_WIRE(c, "MAIL FROM:<s@x>\r\nRCPT TO:<a@x>\r\nBDAT 4 LAST\r\nm1\r\n"
	              "RSET\r\nMAIL FROM:<s@x>\r\nRCPT TO:<b@x>\r\nRCPT TO:<c@x>\r\nBDAT 4 LAST\r\nm2\r\n"
	              "MAIL FROM:<s@x>\r\nRCPT TO:<d@x>\r\n");
	/* the first transaction refused entirely, the second's MAIL refused: the third is untouched */
	feed_lit(c, "550 no\r\n550 no\r\n554 no valid recipients\r\n250 reset\r\n550 no\r\n503 a\r\n503 b\r\n503 c\r\n", 0, &log);
	CHECK_INT(log.err, 0);
	CHECK_INT(log.n, 8);
	CHECK_INT(log.ev[2].cmd, SMTP_CMD_BDAT);
	CHECK(!log.ev[2].ok);
	CHECK_INT(log.ev[3].cmd, SMTP_CMD_RSET);
	CHECK(log.ev[3].ok);
	CHECK_INT(log.ev[5].cmd, SMTP_CMD_RCPT);
	CHECK_INT(log.ev[5].index, 0);
	CHECK_INT(log.ev[6].index, 1);
	CHECK_INT(log.ev[7].cmd, SMTP_CMD_BDAT);
	CHECK_INT(smtp_client_state(c), SMTP_ST_RCPT);
	CHECK_INT(smtp_client_rcpt_sent(c), 1);
	CHECK_INT(smtp_client_rcpt_answered(c), 0);
	log.n = 0;
	feed_lit(c, "250 ok\r\n250 ok\r\n", 0, &log);
	CHECK_INT(smtp_client_rcpt_accepted(c), 1);
	CHECK_INT(smtp_client_bdat(c, "m3\r\n", 4, 1), SMTP_OK);
	feed_lit(c, "250 queued\r\n", 0, &log);
	CHECK_INT(smtp_client_state(c), SMTP_ST_READY);
	smtp_client_free(c);

	/* without pipelining: nothing follows the end of a message before its reply */
	c = ready_client();
	smtp_client_set_pipelining(c, 0);
	CHECK_INT(smtp_client_mail(c, "s@x", 3, "", 0), SMTP_OK);
	feed_lit(c, "250 ok\r\n", 0, &log);
	CHECK_INT(smtp_client_rcpt(c, "a@x", 3, "", 0), SMTP_OK);
	feed_lit(c, "250 ok\r\n", 0, &log);
	CHECK_INT(smtp_client_bdat(c, "m1\r\n", 4, 1), SMTP_OK);
	CHECK_INT(smtp_client_mail(c, "s@x", 3, "", 0), SMTP_E_STATE);
	CHECK_INT(smtp_client_rset(c), SMTP_E_STATE);
	smtp_client_set_pipelining(c, 1);
	smtp_client_set_pipelining(c, 0);
	feed_lit(c, "250 queued\r\n", 0, &log);
	CHECK_INT(smtp_client_mail(c, "s@x", 3, "", 0), SMTP_OK);
	smtp_client_free(c);
}

/* Nothing is queued when a verb comes in the wrong state or with bad arguments. */
static void test_guards(void)
{
	smtp_client_t *c = smtp_client_new();
	ev_log log = {0};
	char big[3000];
	const char *p;

	CHECK_INT(smtp_client_ehlo(c, "x", 1), SMTP_E_STATE);         /* before the greeting */
	CHECK_INT(smtp_client_quit(c), SMTP_E_STATE);
	feed_lit(c, "220 hi\r\n", 0, &log);
	CHECK_INT(smtp_client_state(c), SMTP_ST_GREETED);
	CHECK_INT(smtp_client_mail(c, "a@x", 3, "", 0), SMTP_E_STATE); /* before EHLO */
	CHECK_INT(smtp_client_ehlo(c, "", 0), SMTP_E_ARG);
	CHECK_INT(smtp_client_ehlo(c, "a\r\nRSET", 7), SMTP_E_ARG);
	CHECK_INT(smtp_client_ehlo(c, "a\0b", 3), SMTP_E_ARG);
	CHECK_INT(smtp_client_ehlo(c, "h", 1), SMTP_OK);
	CHECK_INT(smtp_client_noop(c), SMTP_E_STATE);                 /* EHLO outstanding: a barrier */
	CHECK_WIRE(c, "EHLO h\r\n");
	feed_lit(c, "250 h\r\n", 0, &log);
	CHECK_INT(smtp_client_state(c), SMTP_ST_READY);
	CHECK_INT(smtp_client_rcpt(c, "a@x", 3, "", 0), SMTP_E_STATE); /* before MAIL */
	CHECK_INT(smtp_client_data(c), SMTP_E_STATE);
	CHECK_INT(smtp_client_body(c, "x", 1), SMTP_E_STATE);
	CHECK_INT(smtp_client_body_end(c), SMTP_E_STATE);
	CHECK_INT(smtp_client_bdat(c, "x", 1, 1), SMTP_E_STATE);
	CHECK_INT(smtp_client_mail(c, "a>@x", 4, "", 0), SMTP_E_ARG);
	CHECK_INT(smtp_client_mail(c, "a@x", 3, "X=1\r\nRSET", 10), SMTP_E_ARG);
	memset(big, 'a', sizeof(big));
	CHECK_INT(smtp_client_mail(c, big, sizeof(big), "", 0), SMTP_E_TOO_LONG);
	CHECK_INT(smtp_client_vrfy(c, big, 2045), SMTP_E_TOO_LONG);   /* 5 + 2045 + 2 > 2048 */
	CHECK_INT(smtp_client_vrfy(c, big, 2041), SMTP_OK);           /* exactly 2048 */
	CHECK_INT(smtp_client_output(c, &p), 2048);
	drain(c, big, sizeof(big));
	feed_lit(c, "252 maybe\r\n", 0, &log);
	CHECK_INT(log.ev[log.n - 1].cmd, SMTP_CMD_VRFY);
	CHECK(log.ev[log.n - 1].ok);
	CHECK_INT(smtp_client_mail(c, "", 0, "", 0), SMTP_OK);         /* null reverse-path */
	CHECK_INT(smtp_client_rcpt(c, "b@x", 3, "", 0), SMTP_E_STATE); /* no pipelining: wait */
	CHECK_WIRE(c, "MAIL FROM:<>\r\n");
	feed_lit(c, "250 ok\r\n", 0, &log);
	CHECK_INT(smtp_client_rcpt(c, "", 0, "", 0), SMTP_E_ARG);
	CHECK_INT(smtp_client_rcpt(c, "b@x", 3, "", 0), SMTP_OK);
	CHECK_WIRE(c, "RCPT TO:<b@x>\r\n");
	feed_lit(c, "550 5.1.1 no\r\n", 0, &log);
	CHECK_INT(smtp_client_data(c), SMTP_E_STATE);                 /* every RCPT refused */
	CHECK_INT(smtp_client_bdat(c, "x", 1, 1), SMTP_E_STATE);
	CHECK_INT(smtp_client_rset(c), SMTP_OK);
	CHECK_INT(smtp_client_state(c), SMTP_ST_READY);
	CHECK_WIRE(c, "RSET\r\n");
	feed_lit(c, "250 2.0.0 Ok\r\n", 0, &log);
	CHECK_INT(log.err, 0);
	smtp_client_free(c);
}

/* A refused MAIL ends the transaction; so does a refused DATA reply's successor. */
static void test_refusals(void)
{
	smtp_client_t *c = ready_client();
	ev_log log = {0};
	char buf[512];

	smtp_client_set_pipelining(c, 0);
	CHECK_INT(smtp_client_mail(c, "bad@x", 5, "", 0), SMTP_OK);
	drain(c, buf, sizeof(buf));
	feed_lit(c, "553 5.7.1 sender refused\r\n", 0, &log);
	CHECK(!log.ev[0].ok);
	CHECK_INT(smtp_client_state(c), SMTP_ST_READY);
	CHECK_INT(smtp_client_rcpt(c, "a@x", 3, "", 0), SMTP_E_STATE);

	/* pipelined: MAIL refused while RCPT and DATA are in flight */
	smtp_client_set_pipelining(c, 1);
	log.n = 0;
	CHECK_INT(smtp_client_mail(c, "bad@x", 5, "", 0), SMTP_OK);
	CHECK_INT(smtp_client_rcpt(c, "a@x", 3, "", 0), SMTP_OK);
	CHECK_INT(smtp_client_data(c), SMTP_OK);
	drain(c, buf, sizeof(buf));
	feed_lit(c, "553 no\r\n503 5.5.1 need MAIL\r\n554 5.5.1 no valid recipients\r\n", 0, &log);
	CHECK_INT(log.err, 0);
	CHECK_INT(log.n, 3);
	CHECK(!log.ev[2].ok);
	CHECK_INT(smtp_client_state(c), SMTP_ST_READY);

	/* a refused final reply ends the transaction too */
	CHECK_INT(smtp_client_mail(c, "s@x", 3, "", 0), SMTP_OK);
	CHECK_INT(smtp_client_rcpt(c, "a@x", 3, "", 0), SMTP_OK);
	CHECK_INT(smtp_client_data(c), SMTP_OK);
	drain(c, buf, sizeof(buf));
	log.n = 0;
	feed_lit(c, "250 ok\r\n250 ok\r\n354 go\r\n", 0, &log);
	CHECK_INT(smtp_client_state(c), SMTP_ST_BODY);
	CHECK_INT(smtp_client_rset(c), SMTP_E_STATE);                  /* mid-message */
	CHECK_INT(smtp_client_quit(c), SMTP_E_STATE);
	CHECK_INT(smtp_client_body_end(c), SMTP_OK);
	CHECK_WIRE(c, ".\r\n");
	feed_lit(c, "552 5.3.4 too big\r\n", 0, &log);
	CHECK(!log.ev[log.n - 1].ok);
	CHECK_INT(log.ev[log.n - 1].cmd, SMTP_CMD_DOT);
	CHECK_INT(smtp_client_state(c), SMTP_ST_READY);
	smtp_client_free(c);
}

static void test_bdat(void)
{
	smtp_client_t *c = ready_client();
	ev_log log = {0};
	char buf[512];

	CHECK_INT(smtp_client_mail(c, "s@x", 3, "", 0), SMTP_OK);
	CHECK_INT(smtp_client_rcpt(c, "a@x", 3, "", 0), SMTP_OK);
	CHECK_INT(smtp_client_bdat(c, ".a\nb\r", 5, 0), SMTP_OK);
	CHECK_INT(smtp_client_state(c), SMTP_ST_BDAT);
	CHECK_INT(smtp_client_bdat(c, "\nc", 2, 1), SMTP_OK);
	CHECK_INT(smtp_client_state(c), SMTP_ST_BDAT_LAST);
	CHECK_WIRE(c, "MAIL FROM:<s@x>\r\nRCPT TO:<a@x>\r\nBDAT 7\r\n.a\r\nb\r\nBDAT 3 LAST\r\nc\r\n");
	feed_lit(c, "250 a\r\n250 b\r\n250 2.0.0 chunk\r\n250 2.0.0 done\r\n", 1, &log);
	CHECK_INT(log.err, 0);
	CHECK_INT(log.n, 4);
	CHECK_INT(log.ev[3].cmd, SMTP_CMD_BDAT);
	CHECK(log.ev[3].ok);
	CHECK_INT(smtp_client_state(c), SMTP_ST_READY);

	/* an empty message is one empty LAST chunk */
	CHECK_INT(smtp_client_mail(c, "s@x", 3, "", 0), SMTP_OK);
	CHECK_INT(smtp_client_rcpt(c, "a@x", 3, "", 0), SMTP_OK);
	CHECK_INT(smtp_client_bdat(c, "", 0, 1), SMTP_OK);
	drain(c, buf, sizeof(buf));
	CHECK(strstr(buf, "BDAT 0 LAST\r\n") != NULL);
	smtp_client_free(c);
}

/* A client in state RCPT (pipelining as given), its output drained. */
static smtp_client_t *rcpt_client(int pipelining)
{
	smtp_client_t *c = ready_client();
	char buf[256];

	smtp_client_set_pipelining(c, pipelining);
	CHECK_INT(smtp_client_mail(c, "s@x", 3, "", 0), SMTP_OK);
	if (!pipelining) {
		ev_log log = {0};
		drain(c, buf, sizeof(buf));
		feed_lit(c, "250 ok\r\n", 0, &log);
	}
	CHECK_INT(smtp_client_rcpt(c, "a@x", 3, "", 0), SMTP_OK);
	drain(c, buf, sizeof(buf));
	return c;
}

/* One BDAT chunk framed over several pieces (headers made by the binding,
 * the caller's headers, the body), given in any split: one BDAT line, the
 * size of the whole, the same octets as one smtp_client_bdat() of the
 * concatenation. */
static void test_chunk_pieces(void)
{
	static const char p1[] = "To: a\r";                 /* CR LF split across pieces */
	static const char p2[] = "\nX-A: 1\n\n";
	static const char p3[] = ".body\rend";              /* no final line end */
	static const char all[] = "To: a\r\nX-A: 1\n\n.body\rend";
	static const char want[] = "BDAT 29 LAST\r\nTo: a\r\nX-A: 1\r\n\r\n.body\r\nend\r\n";
	smtp_piece_t pieces[3] = {{p1, 6}, {p2, 9}, {p3, 9}};
	size_t step;

	for (step = 1; step <= sizeof(all); step++) {
		smtp_client_t *c = rcpt_client(1);
		ev_log log = {0};
		char wire[256];
		size_t pos = 0, wn;
		int pass = 1;

		pass &= CHECK_INT(smtp_client_chunk_size(c, pieces, 3, 1), 29);
		pass &= CHECK_INT(smtp_client_chunk_size(c, pieces, 3, 0), 27);
		pass &= CHECK_INT(smtp_client_chunk_open(c, pieces, 3, 1), SMTP_OK);
		pass &= CHECK_INT(smtp_client_state(c), SMTP_ST_CHUNK);
		pass &= CHECK_INT(smtp_client_chunk_left(c), 24);
		/* nothing else while the chunk is open */
		pass &= CHECK_INT(smtp_client_noop(c), SMTP_E_STATE);
		pass &= CHECK_INT(smtp_client_rset(c), SMTP_E_STATE);
		pass &= CHECK_INT(smtp_client_quit(c), SMTP_E_STATE);
		pass &= CHECK_INT(smtp_client_bdat(c, "x", 1, 1), SMTP_E_STATE);
		pass &= CHECK_INT(smtp_client_chunk_open(c, pieces, 3, 1), SMTP_E_STATE);
		/* the octets in pieces of any size, regardless of the pieces' bounds */
		while (pos < sizeof(all) - 1) {
			size_t n = sizeof(all) - 1 - pos < step ? sizeof(all) - 1 - pos : step;
			pass &= CHECK_INT(smtp_client_chunk_write(c, all + pos, n), SMTP_OK);
			pos += n;
			if (pos < sizeof(all) - 1) {
				pass &= CHECK_INT(smtp_client_state(c), SMTP_ST_CHUNK);
			}
		}
		pass &= CHECK_INT(smtp_client_state(c), SMTP_ST_BDAT_LAST);
		pass &= CHECK_INT(smtp_client_chunk_left(c), 0);
		wn = drain(c, wire, sizeof(wire));
		pass &= CHECK_MEM(wire, wn, want, sizeof(want) - 1);
		feed_lit(c, "250 a\r\n250 b\r\n250 2.0.0 Ok: queued\r\n", 0, &log);
		pass &= CHECK_INT(log.err, 0);
		pass &= CHECK_INT(log.n, 3);
		pass &= CHECK_INT(log.ev[2].cmd, SMTP_CMD_BDAT);
		pass &= CHECK(log.ev[2].ok);
		pass &= CHECK_INT(smtp_client_state(c), SMTP_ST_READY);
		smtp_client_free(c);
		if (!pass) {
			fprintf(stderr, "  (chunk written in steps of %lu)\n", (unsigned long)step);
			break;
		}
	}

	/* the same octets as one smtp_client_bdat() of the whole */
	{
		smtp_client_t *c = rcpt_client(1);
		CHECK_INT(smtp_client_bdat(c, all, sizeof(all) - 1, 1), SMTP_OK);
		CHECK_WIRE(c, want);
		smtp_client_free(c);
	}
}

/* smtp_arg_clean() (the check behind every command argument) against an
 * octet-by-octet one: every refused octet at every position of every length
 * up to a few words, from every alignment, and octets that are allowed
 * beside them (high ones, 0x01, '=' and the neighbours of each). */
static void test_arg_clean(void)
{
	static const char refused[] = { '\0', '\r', '\n', '<', '>' };
	static const unsigned char fill[] = { 'a', 0x80, 0xff, 0x01, 0x0b, 0x0e, '=', ';', '?', 0x8d };
	char buf[64];
	size_t len, pos, r, f, align;
	int bad = 0, checks = 0;

	for (f = 0; f < sizeof(fill); f++) {
		for (align = 0; align < 8; align++) {
			for (len = 0; len + align <= sizeof(buf) && len <= 40; len++) {
				memset(buf, fill[f], sizeof(buf));
				bad += smtp_arg_clean(buf + align, len, 0) != 1 || smtp_arg_clean(buf + align, len, 1) != 1;
				for (pos = 0; pos < len; pos++) {
					for (r = 0; r < sizeof(refused); r++) {
						int path_only = refused[r] == '<' || refused[r] == '>';
						buf[align + pos] = refused[r];
						bad += smtp_arg_clean(buf + align, len, 1) != 0;
						bad += smtp_arg_clean(buf + align, len, 0) != (path_only ? 1 : 0);
						checks += 2;
					}
					buf[align + pos] = (char)fill[f];
				}
			}
		}
	}
	CHECK_INT(bad, 0);
	CHECK(checks > 100000);
}

/* Zero-copy: clean lines are taken as written, the rest encoded. */
static void test_chunk_passthrough(void)
{
	static const char head[] = "Subject: s\r\n\r\n";
	static const char body[] = "line 1\r\nline 2\r\nbare\nend";
	smtp_piece_t pieces[2] = {{head, sizeof(head) - 1}, {body, sizeof(body) - 1}};
	smtp_client_t *c = rcpt_client(1);
	const char *p;
	size_t n;

	CHECK_INT(smtp_client_chunk_passthrough(c, body, 8), 0);       /* no chunk open */
	CHECK_INT(smtp_client_chunk_open(c, pieces, 2, 1), SMTP_OK);
	CHECK_INT(smtp_client_chunk_write(c, head, sizeof(head) - 1), SMTP_OK);
	CHECK_WIRE(c, "BDAT 41 LAST\r\nSubject: s\r\n\r\n");
	n = smtp_client_chunk_passthrough(c, body, sizeof(body) - 1);
	CHECK_INT(n, 16);                                               /* two clean lines */
	CHECK_INT(smtp_client_output(c, &p), 0);                       /* the caller writes them */
	CHECK_INT(smtp_client_chunk_passthrough(c, body + n, sizeof(body) - 1 - n), 0);
	CHECK_INT(smtp_client_chunk_write(c, body + n, sizeof(body) - 1 - n), SMTP_OK);
	CHECK_WIRE(c, "bare\r\nend\r\n");
	CHECK_INT(smtp_client_state(c), SMTP_ST_BDAT_LAST);
	smtp_client_free(c);

	/* a passthrough that completes a LAST chunk ends it, adding nothing */
	c = rcpt_client(1);
	pieces[0].data = body;
	pieces[0].len = 16;
	CHECK_INT(smtp_client_chunk_open(c, pieces, 1, 1), SMTP_OK);
	CHECK_WIRE(c, "BDAT 16 LAST\r\n");
	CHECK_INT(smtp_client_chunk_passthrough(c, body, sizeof(body) - 1), 16); /* no further than the chunk */
	CHECK_INT(smtp_client_state(c), SMTP_ST_BDAT_LAST);
	CHECK_INT(smtp_client_output(c, &p), 0);
	smtp_client_free(c);
}

/* Several chunks: the encoder's state carries from one to the next. */
static void test_chunk_sequence(void)
{
	smtp_piece_t a = {"a\r", 2}, b = {"\nb", 2}, none = {NULL, 0};
	smtp_client_t *c = rcpt_client(1);
	ev_log log = {0};

	CHECK_INT(smtp_client_chunk_open(c, &a, 1, 0), SMTP_OK);
	CHECK_INT(smtp_client_chunk_write(c, "a\r", 2), SMTP_OK);
	CHECK_INT(smtp_client_state(c), SMTP_ST_BDAT);
	CHECK_INT(smtp_client_chunk_size(c, &b, 1, 1), 3);            /* the LF ends the CR's line end */
	CHECK_INT(smtp_client_chunk_open(c, &b, 1, 1), SMTP_OK);
	CHECK_INT(smtp_client_chunk_write(c, "\nb", 2), SMTP_OK);
	CHECK_WIRE(c, "BDAT 3\r\na\r\nBDAT 3 LAST\r\nb\r\n");
	feed_lit(c, "250 a\r\n250 b\r\n250 2.0.0 chunk\r\n250 2.0.0 done\r\n", 3, &log);
	CHECK_INT(log.err, 0);
	CHECK_INT(log.n, 4);
	CHECK_INT(log.ev[2].index, 0);
	CHECK_INT(log.ev[3].index, 1);
	CHECK_INT(smtp_client_state(c), SMTP_ST_READY);
	smtp_client_free(c);

	/* a LAST chunk of no octets after a line left open: its line end only,
	 * complete at once; a non-LAST chunk of nothing is refused */
	c = rcpt_client(1);
	a.data = "abc";
	a.len = 3;
	CHECK_INT(smtp_client_chunk_open(c, &a, 1, 0), SMTP_OK);
	CHECK_INT(smtp_client_chunk_write(c, "abc", 3), SMTP_OK);
	CHECK_INT(smtp_client_chunk_open(c, &none, 1, 0), SMTP_E_ARG);
	CHECK_INT(smtp_client_chunk_open(c, NULL, 0, 0), SMTP_E_ARG);
	CHECK_INT(smtp_client_chunk_open(c, NULL, 0, 1), SMTP_OK);
	CHECK_INT(smtp_client_state(c), SMTP_ST_BDAT_LAST);
	CHECK_WIRE(c, "BDAT 3\r\nabcBDAT 2 LAST\r\n\r\n");
	smtp_client_free(c);

	/* an empty message */
	c = rcpt_client(1);
	CHECK_INT(smtp_client_chunk_open(c, NULL, 0, 1), SMTP_OK);
	CHECK_WIRE(c, "BDAT 0 LAST\r\n");
	CHECK_INT(smtp_client_state(c), SMTP_ST_BDAT_LAST);
	smtp_client_free(c);
}

/* Misuse and a server out of step: refused without a half frame, or fatal. */
static void test_chunk_guards(void)
{
	smtp_piece_t p = {"ab\n", 3};
	smtp_client_t *c = rcpt_client(1);
	ev_log log = {0};
	const char *out;
	size_t before;

	CHECK_INT(smtp_client_chunk_write(c, "x", 1), SMTP_E_STATE);  /* no chunk open */
	CHECK_INT(smtp_client_chunk_open(c, &p, 1, 1), SMTP_OK);
	before = smtp_client_output(c, &out);
	CHECK_INT(smtp_client_chunk_write(c, "ab\nc", 4), SMTP_E_ARG);  /* past the chunk: refused */
	CHECK_INT(smtp_client_output(c, &out), before);
	CHECK_INT(smtp_client_error(c), 0);
	CHECK_INT(smtp_client_chunk_write(c, "a", 1), SMTP_OK);
	/* other octets than measured: "b\n" was measured, "\n\n" comes out longer */
	CHECK_INT(smtp_client_chunk_write(c, "\n\n", 2), SMTP_E_ARG);
	CHECK_INT(smtp_client_error(c), SMTP_E_ARG);
	CHECK_INT(smtp_client_state(c), SMTP_ST_CLOSED);
	CHECK_INT(smtp_client_chunk_write(c, "b\n", 2), SMTP_E_ARG);    /* sticky */
	smtp_client_free(c);

	/* ...or shorter: found when the chunk's last octet is given */
	c = rcpt_client(1);
	p.data = "a\n\n";
	CHECK_INT(smtp_client_chunk_open(c, &p, 1, 0), SMTP_OK);
	CHECK_INT(smtp_client_chunk_write(c, "ab\n", 3), SMTP_E_ARG);
	CHECK_INT(smtp_client_error(c), SMTP_E_ARG);
	smtp_client_free(c);

	/* without pipelining, the octets follow the BDAT line before its reply */
	c = rcpt_client(0);
	feed_lit(c, "250 ok\r\n", 0, &log);
	p.data = "ab\n";
	CHECK_INT(smtp_client_chunk_open(c, &p, 1, 1), SMTP_OK);
	CHECK_INT(smtp_client_chunk_write(c, "ab\n", 3), SMTP_OK);
	CHECK_WIRE(c, "BDAT 4 LAST\r\nab\r\n");
	CHECK_INT(smtp_client_state(c), SMTP_ST_BDAT_LAST);
	smtp_client_free(c);

	/* a reply to the chunk before its octets were all given: out of step */
	c = rcpt_client(1);
	memset(&log, 0, sizeof(log));
	CHECK_INT(smtp_client_chunk_open(c, &p, 1, 1), SMTP_OK);
	CHECK_INT(smtp_client_chunk_write(c, "a", 1), SMTP_OK);
	feed_lit(c, "250 a\r\n250 b\r\n", 0, &log);                    /* MAIL, RCPT: fine */
	CHECK_INT(log.err, 0);
	CHECK_INT(smtp_client_state(c), SMTP_ST_CHUNK);
	feed_lit(c, "250 2.0.0 early\r\n", 0, &log);
	CHECK_INT(log.err, SMTP_E_UNEXPECTED);
	CHECK_INT(smtp_client_state(c), SMTP_ST_CLOSED);
	CHECK_INT(smtp_client_chunk_write(c, "b\n", 2), SMTP_E_UNEXPECTED);
	smtp_client_free(c);

	/* ...except 421: the server closes, the event says so */
	c = rcpt_client(1);
	memset(&log, 0, sizeof(log));
	CHECK_INT(smtp_client_chunk_open(c, &p, 1, 0), SMTP_OK);
	feed_lit(c, "250 a\r\n250 b\r\n421 4.3.0 going down\r\n", 0, &log);
	CHECK_INT(log.err, 0);
	CHECK_INT(log.n, 3);
	CHECK(log.ev[2].closing);
	CHECK_INT(smtp_client_state(c), SMTP_ST_CLOSED);
	CHECK_INT(smtp_client_chunk_write(c, "ab\n", 3), SMTP_E_CLOSED);
	smtp_client_free(c);

	/* a refused MAIL while the chunk is open: the chunk is still completed */
	c = rcpt_client(1);
	memset(&log, 0, sizeof(log));
	CHECK_INT(smtp_client_chunk_open(c, &p, 1, 1), SMTP_OK);
	feed_lit(c, "553 5.7.1 no\r\n550 5.1.1 no\r\n", 0, &log);
	CHECK_INT(smtp_client_state(c), SMTP_ST_CHUNK);
	CHECK_INT(smtp_client_chunk_write(c, "ab\n", 3), SMTP_OK);
	feed_lit(c, "554 5.5.1 no valid recipients\r\n", 0, &log);
	CHECK_INT(log.err, 0);
	CHECK_INT(log.n, 3);
	CHECK(!log.ev[2].ok);
	CHECK_INT(smtp_client_state(c), SMTP_ST_READY);
	smtp_client_free(c);
}

static void test_starttls(void)
{
	smtp_client_t *c;
	ev_log log = {0};
	char buf[512];

	/* bytes injected after the 220 in the same read */
	c = ready_client();
	CHECK_INT(smtp_client_starttls(c), SMTP_OK);
	CHECK_INT(smtp_client_noop(c), SMTP_E_STATE);                  /* STARTTLS is a barrier */
	CHECK_WIRE(c, "STARTTLS\r\n");
	feed_lit(c, "220 go\r\n250-evil\r\n250 AUTH PLAIN\r\n", 0, &log);
	CHECK_INT(log.err, SMTP_E_TLS_INJECTION);
	CHECK_INT(smtp_client_state(c), SMTP_ST_CLOSED);
	CHECK_INT(smtp_client_noop(c), SMTP_E_TLS_INJECTION);          /* sticky */
	smtp_client_free(c);

	/* bytes arriving later, before the handshake */
	c = ready_client();
	memset(&log, 0, sizeof(log));
	smtp_client_starttls(c);
	drain(c, buf, sizeof(buf));
	feed_lit(c, "220 go\r\n", 0, &log);
	CHECK_INT(log.err, 0);
	CHECK_INT(smtp_client_state(c), SMTP_ST_TLS);
	CHECK_INT(smtp_client_mail(c, "a@x", 3, "", 0), SMTP_E_STATE);
	feed_lit(c, "2", 0, &log);
	CHECK_INT(log.err, SMTP_E_TLS_INJECTION);
	smtp_client_free(c);

	/* the clean case: capabilities dropped, EHLO again with the same name */
	c = ready_client();
	memset(&log, 0, sizeof(log));
	smtp_client_starttls(c);
	drain(c, buf, sizeof(buf));
	feed_lit(c, "220 2.0.0 Ready to start TLS\r\n", 0, &log);
	CHECK_INT(smtp_client_tls_done(c), SMTP_OK);
	CHECK_INT(smtp_client_caps(c)->count, 0);
	CHECK_INT(smtp_client_state(c), SMTP_ST_GREETED);
	CHECK(smtp_client_tls_active(c));
	CHECK_WIRE(c, "EHLO client.example\r\n");
	feed_lit(c, "250-mx\r\n250 AUTH PLAIN\r\n", 0, &log);
	CHECK_INT(smtp_client_state(c), SMTP_ST_READY);
	CHECK(smtp_client_caps(c)->auth & SMTP_AUTH_PLAIN);
	CHECK(!(smtp_client_caps(c)->flags & SMTP_CAP_STARTTLS));
	CHECK_INT(smtp_client_starttls(c), SMTP_E_STATE);              /* only once */
	smtp_client_free(c);

	/* 454: stays plain, READY */
	c = ready_client();
	memset(&log, 0, sizeof(log));
	smtp_client_starttls(c);
	drain(c, buf, sizeof(buf));
	feed_lit(c, "454 4.7.0 TLS not available\r\n", 0, &log);
	CHECK(!log.ev[0].ok);
	CHECK_INT(smtp_client_state(c), SMTP_ST_READY);
	smtp_client_free(c);
}

static void test_421_and_unexpected(void)
{
	smtp_client_t *c = ready_client();
	ev_log log = {0};
	char buf[256];

	/* unsolicited 421 */
	feed_lit(c, "421 4.4.2 idle timeout\r\n", 0, &log);
	CHECK_INT(log.n, 1);
	CHECK_INT(log.ev[0].cmd, SMTP_CMD_NONE);
	CHECK(log.ev[0].closing);
	CHECK_INT(smtp_client_state(c), SMTP_ST_CLOSED);
	CHECK_INT(smtp_client_noop(c), SMTP_E_CLOSED);
	smtp_client_free(c);

	/* 421 as the answer to MAIL */
	c = ready_client();
	memset(&log, 0, sizeof(log));
	smtp_client_mail(c, "a@x", 3, "", 0);
	drain(c, buf, sizeof(buf));
	feed_lit(c, "421 shutting down\r\n", 0, &log);
	CHECK(log.ev[0].closing);
	CHECK(!log.ev[0].ok);
	CHECK_INT(smtp_client_state(c), SMTP_ST_CLOSED);
	smtp_client_free(c);

	/* 421 greeting */
	c = smtp_client_new();
	memset(&log, 0, sizeof(log));
	feed_lit(c, "421 busy\r\n", 0, &log);
	CHECK(log.ev[0].closing);
	smtp_client_free(c);

	/* a reply nobody asked for */
	c = ready_client();
	memset(&log, 0, sizeof(log));
	feed_lit(c, "250 surprise\r\n", 0, &log);
	CHECK_INT(log.err, SMTP_E_UNEXPECTED);
	smtp_client_free(c);

	/* a malformed reply is fatal and sticky */
	c = ready_client();
	memset(&log, 0, sizeof(log));
	smtp_client_noop(c);
	drain(c, buf, sizeof(buf));
	feed_lit(c, "25O ok\r\n", 0, &log);
	CHECK_INT(log.err, SMTP_E_SYNTAX);
	CHECK_INT(smtp_client_state(c), SMTP_ST_CLOSED);
	CHECK_INT(smtp_client_error(c), SMTP_E_SYNTAX);
	smtp_client_free(c);

	/* eof mid-reply */
	c = ready_client();
	memset(&log, 0, sizeof(log));
	smtp_client_noop(c);
	drain(c, buf, sizeof(buf));
	feed_lit(c, "250-part", 0, &log);
	CHECK(smtp_client_mid_reply(c));
	CHECK_INT(smtp_client_eof(c), SMTP_E_CLOSED);
	smtp_client_free(c);
}

static void test_helo_fallback_and_quit(void)
{
	smtp_client_t *c = smtp_client_new();
	ev_log log = {0};
	char buf[256];

	feed_lit(c, "220 old\r\n", 0, &log);
	smtp_client_ehlo(c, "me", 2);
	drain(c, buf, sizeof(buf));
	feed_lit(c, "502 5.5.2 command not recognized\r\n", 0, &log);
	CHECK_INT(smtp_client_state(c), SMTP_ST_GREETED);
	CHECK_INT(smtp_client_helo(c, "me", 2), SMTP_OK);
	CHECK_WIRE(c, "HELO me\r\n");
	feed_lit(c, "250 old\r\n", 0, &log);
	CHECK_INT(smtp_client_state(c), SMTP_ST_READY);
	CHECK(!smtp_client_esmtp(c));
	CHECK_INT(smtp_client_quit(c), SMTP_OK);
	CHECK_WIRE(c, "QUIT\r\n");
	feed_lit(c, "221 bye\r\n", 0, &log);
	CHECK(log.ev[log.n - 1].closing);
	CHECK(log.ev[log.n - 1].ok);
	CHECK_INT(smtp_client_state(c), SMTP_ST_CLOSED);
	smtp_client_free(c);
}

/* The trace shows protocol lines, masks AUTH secrets and summarises bodies. */
static char trace_buf[4096];
static size_t trace_len;

static const void *find(const void *hay, size_t n, const void *needle, size_t m)
{
	const char *h = hay;
	size_t i;

	for (i = 0; m <= n && i <= n - m; i++) {
		if (memcmp(h + i, needle, m) == 0) {
			return h + i;
		}
	}
	return NULL;
}

static void trace_fn(void *ud, int dir, const char *line, size_t len)
{
	(void)ud;
	if (trace_len + len + 3 < sizeof(trace_buf)) {
		trace_buf[trace_len++] = (char)dir;
		memcpy(trace_buf + trace_len, line, len);
		trace_len += len;
		trace_buf[trace_len++] = '|';
	}
}

static void test_trace(void)
{
	smtp_client_t *c = smtp_client_new();
	ev_log log = {0};
	char buf[512];

	trace_len = 0;
	smtp_client_set_trace(c, trace_fn, NULL);
	feed_lit(c, "220-a\r\n220 b\r\n", 0, &log);
	smtp_client_ehlo(c, "me", 2);
	feed_lit(c, "250 x\r\n", 0, &log);
	CHECK_INT(smtp_client_auth(c, "AUTH PLAIN c2VjcmV0", 19, "AUTH PLAIN ***"), SMTP_OK);
	feed_lit(c, "334 \r\n", 0, &log);
	CHECK(log.ev[log.n - 1].intermediate);
	CHECK_INT(smtp_client_state(c), SMTP_ST_AUTH);
	CHECK_INT(smtp_client_auth_response(c, "c2VjcmV0Mg==", 12, NULL), SMTP_OK);
	feed_lit(c, "235 2.7.0 ok\r\n", 0, &log);
	CHECK(log.ev[log.n - 1].ok);
	CHECK_INT(smtp_client_state(c), SMTP_ST_READY);
	smtp_client_mail(c, "s@x", 3, "", 0);
	feed_lit(c, "250 ok\r\n", 0, &log);
	smtp_client_rcpt(c, "r@x", 3, "", 0);
	feed_lit(c, "250 ok\r\n", 0, &log);
	smtp_client_data(c);
	feed_lit(c, "354 go\r\n", 0, &log);
	smtp_client_body(c, "line one\nline two\n", 18);
	smtp_client_body_end(c);
	drain(c, buf, sizeof(buf));
	CHECK(strstr(buf, "c2VjcmV0") != NULL);                      /* sent on the wire... */
	CHECK(find(trace_buf, trace_len, "c2VjcmV0", 8) == NULL);   /* ...never traced */
	CHECK(find(trace_buf, trace_len, "line one", 8) == NULL);
	CHECK(find(trace_buf, trace_len, ">AUTH PLAIN ***|", 16) != NULL);
	CHECK(find(trace_buf, trace_len, ">***|", 5) != NULL);
	CHECK(find(trace_buf, trace_len, "<220-a|<220 b|>EHLO me|<250 x|", 30) != NULL);
	CHECK(find(trace_buf, trace_len, ">[message: 18 octets]|>.|", 25) != NULL);
	smtp_client_free(c);
}

/* Every allocation failure point: an error, never a crash or a leak (ASan). */
static void test_nomem(void)
{
	long budget;
	int completed = 0;

	for (budget = 0; budget < 200 && !completed; budget++) {
		smtp_client_t *c;
		ev_log log = {0};
		int rc = SMTP_OK;

		smtp_test_alloc_budget = budget;
		c = smtp_client_new();
		if (!c) {
			continue;
		}
		smtp_client_set_pipelining(c, 1);
		feed_lit(c, "220 mx\r\n", 0, &log);
		if (!log.err) rc = smtp_client_ehlo(c, "me", 2);
		if (!log.err && rc == SMTP_OK) feed_steps(c, EHLO_REPLY, sizeof(EHLO_REPLY) - 1, 0, &log);
		if (!log.err && rc == SMTP_OK) rc = smtp_client_mail(c, "s@x", 3, "", 0);
		if (!log.err && rc == SMTP_OK) rc = smtp_client_rcpt(c, "r@x", 3, "", 0);
		if (!log.err && rc == SMTP_OK) rc = smtp_client_bdat(c, "hello\n", 6, 1);
		if (!log.err && rc == SMTP_OK) {
			const char *p;
			size_t n = smtp_client_output(c, &p);
			smtp_client_output_consumed(c, n);
			feed_lit(c, "250 a\r\n250 b\r\n250 c\r\n", 0, &log);
			completed = !log.err && smtp_client_state(c) == SMTP_ST_READY;
		}
		CHECK(log.err == 0 || log.err == SMTP_E_NOMEM);
		CHECK(rc == SMTP_OK || rc == SMTP_E_NOMEM);
		smtp_client_free(c);
	}
	smtp_test_alloc_budget = -1;
	CHECK(completed);
}

/* The same for a chunk of pieces: out of memory refuses a step (nothing
 * queued by it) or completes; never a crash, a leak or a half frame kept. */
static void test_chunk_nomem(void)
{
	static const char head[] = "To: a@x\r\nSubject: s\r\n";
	static const char body[] = "one\ntwo\r\n.three\rfour";
	smtp_piece_t pieces[2] = {{head, sizeof(head) - 1}, {body, sizeof(body) - 1}};
	long budget;
	int completed = 0;

	for (budget = 0; budget < 200 && !completed; budget++) {
		smtp_client_t *c;
		ev_log log = {0};
		int rc = SMTP_OK;

		smtp_test_alloc_budget = budget;
		c = smtp_client_new();
		if (!c) {
			continue;
		}
		smtp_client_set_pipelining(c, 1);
		feed_lit(c, "220 mx\r\n", 0, &log);
		if (!log.err) rc = smtp_client_ehlo(c, "me", 2);
		if (!log.err && rc == SMTP_OK) feed_steps(c, EHLO_REPLY, sizeof(EHLO_REPLY) - 1, 0, &log);
		if (!log.err && rc == SMTP_OK) rc = smtp_client_mail(c, "s@x", 3, "", 0);
		if (!log.err && rc == SMTP_OK) rc = smtp_client_rcpt(c, "r@x", 3, "", 0);
		if (!log.err && rc == SMTP_OK) rc = smtp_client_chunk_open(c, pieces, 2, 1);
		if (!log.err && rc == SMTP_OK) rc = smtp_client_chunk_write(c, head, sizeof(head) - 1);
		if (!log.err && rc == SMTP_OK) rc = smtp_client_chunk_write(c, body, sizeof(body) - 1);
		if (!log.err && rc == SMTP_OK) {
			char wire[512];
			size_t n = drain(c, wire, sizeof(wire));
			CHECK(n > 0 && find(wire, n, "BDAT 45 LAST\r\nTo: a@x\r\nSubject: s\r\none\r\ntwo\r\n.three\r\nfour\r\n", 59) != NULL);
			feed_lit(c, "250 a\r\n250 b\r\n250 c\r\n", 0, &log);
			completed = !log.err && smtp_client_state(c) == SMTP_ST_READY;
		}
		CHECK(log.err == 0 || log.err == SMTP_E_NOMEM);
		CHECK(rc == SMTP_OK || rc == SMTP_E_NOMEM);
		smtp_client_free(c);
	}
	smtp_test_alloc_budget = -1;
	CHECK(completed);
}

/* A persistent connection picked up again: READY at once, capabilities restored. */
static void test_resume(void)
{
	smtp_client_t *c = smtp_client_new();
	ev_log log = {0};
	static const char ehlo_text[] = "250-mx\n250-PIPELINING\n250-SIZE 1000\n250 AUTH PLAIN";

	CHECK_INT(smtp_client_resume(c, ehlo_text, sizeof(ehlo_text) - 1, 1), SMTP_OK);
	CHECK_INT(smtp_client_state(c), SMTP_ST_READY);
	CHECK_INT(smtp_client_pending(c), 0);
	CHECK(smtp_client_tls_active(c));
	CHECK(smtp_client_esmtp(c));
	CHECK(smtp_client_caps(c)->flags & SMTP_CAP_PIPELINING);
	CHECK_INT(smtp_client_caps(c)->size_limit, 1000);
	CHECK_INT(smtp_client_resume(c, ehlo_text, sizeof(ehlo_text) - 1, 1), SMTP_E_STATE);  /* only once */
	CHECK_INT(smtp_client_noop(c), SMTP_OK);
	CHECK_WIRE(c, "NOOP\r\n");
	feed_lit(c, "250 2.0.0 Ok\r\n", 0, &log);
	CHECK_INT(log.n, 1);
	CHECK_INT(log.ev[0].cmd, SMTP_CMD_NOOP);
	smtp_client_free(c);

	c = smtp_client_new();
	CHECK_INT(smtp_client_resume(c, "250-a\r\n250 b", 13, 0), SMTP_E_SYNTAX);
	CHECK_INT(smtp_client_resume(c, "550 no", 6, 0), SMTP_E_SYNTAX);
	CHECK_INT(smtp_client_resume(c, "", 0, 0), SMTP_OK);                      /* after HELO */
	CHECK(!smtp_client_esmtp(c));
	smtp_client_free(c);
}

/* smtp_client_take_reply(): the reply moves into the caller's keep and
 * stays there while later replies (a multi-line one split across feeds
 * among them) are parsed in the storage keep gave up. */
static void test_take_reply(void)
{
	smtp_client_t *c = smtp_client_new();
	smtp_reply_t keep;
	smtp_event_t ev;
	size_t used = 0;
	static const char ehlo_text[] = "250-mx\n250 PIPELINING";
	static const char replies[] = "250 2.1.0 first\r\n250-2.1.5 second\r\n250 2.1.5 more\r\n";
	size_t split = sizeof("250 2.1.0 first\r\n250-2.1") - 1;

	smtp_reply_init(&keep);
	smtp_client_take_reply(c, &keep);                       /* no reply yet: nothing */
	CHECK(keep.text == NULL);
	CHECK_INT(smtp_client_resume(c, ehlo_text, sizeof(ehlo_text) - 1, 0), SMTP_OK);
	smtp_client_set_pipelining(c, 1);
	CHECK_INT(smtp_client_mail(c, "a@b", 3, "", 0), SMTP_OK);
	CHECK_INT(smtp_client_rcpt(c, "c@d", 3, "", 0), SMTP_OK);
	CHECK_INT(smtp_client_feed(c, replies, split, &used, &ev), 1);
	smtp_client_take_reply(c, &keep);
	CHECK_STR(keep.text, "250 2.1.0 first");
	CHECK_STR(keep.status, "2.1.0");
	CHECK_INT(keep.code, 250);
	/* the second reply, its first line split across feeds */
	CHECK_INT(smtp_client_feed(c, replies + used, split - used, &used, &ev), 0);
	CHECK_STR(keep.text, "250 2.1.0 first");
	CHECK_INT(smtp_client_feed(c, replies + split, sizeof(replies) - 1 - split, &used, &ev), 1);
	CHECK_INT(ev.cmd, SMTP_CMD_RCPT);
	CHECK_STR(keep.text, "250 2.1.0 first");
	CHECK_STR(ev.reply->text, "250-2.1.5 second\n250 2.1.5 more");
	smtp_client_take_reply(c, &keep);
	CHECK_STR(keep.text, "250-2.1.5 second\n250 2.1.5 more");
	CHECK_INT(keep.nlines, 2);
	CHECK_MEM(keep.text + keep.lines[1].off, keep.lines[1].len, "2.1.5 more", 10);
	smtp_client_take_reply(c, &keep);                       /* taken already: nothing */
	CHECK_STR(keep.text, "250-2.1.5 second\n250 2.1.5 more");
	smtp_client_free(c);
	smtp_reply_free(&keep);
}

int main(void)
{
	test_take_reply();
	test_resume();
	test_pipelined_transaction();
	test_across_transactions();
	test_guards();
	test_refusals();
	test_bdat();
	test_chunk_pieces();
	test_chunk_passthrough();
	test_arg_clean();
	test_chunk_sequence();
	test_chunk_guards();
	test_starttls();
	test_421_and_unexpected();
	test_helo_fallback_and_quit();
	test_trace();
	test_nomem();
	test_chunk_nomem();
	return tap_done("client");
}
