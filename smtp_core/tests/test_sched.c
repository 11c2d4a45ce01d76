/*
 * test_sched.c: the transaction scheduler by transcripts. A simulated driver
 * submits messages as the scheduler allows, writes what it queued (a '|' in
 * the transcript marks each time it had to wait for the server after
 * writing), and feeds the server's replies whole, byte by byte, and split at
 * every position; the transcript and the outcomes must not change. The
 * connection is cut after every byte of the replies, and each message must
 * get the class the number of complete replies calls for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "../smtp_sched.h"
#include "smtp_core_config.h"

#define OUT_CAP 65536
#define RES_CAP 1024

typedef struct {
	const char *from;
	const char *to[3];
	const char *body;
	int atomic;
	int liveness;
	const char *const *pull;   /* pulled body: pieces up to NULL; "!" fails */
} tmsg;

typedef struct {
	size_t idx;
	const char *const *pull;
	size_t at;
	smtp_sched_rcpt_t rcpts[3];
	smtp_piece_t piece;
	smtp_sched_msg_t m;
} tmsg_built;

typedef struct {
	char out[OUT_CAP];
	size_t out_len;
	size_t marked;        /* out_len at the last '|' */
	char res[RES_CAP];
	char replies[RES_CAP];
	int stuck;
} sim_result;

static int pull_fn(void *msg_ud, const char **data, size_t *len)
{
	tmsg_built *b = msg_ud;
	const char *p = b->pull[b->at];

	if (!p) {
		return 0;
	}
	b->at++;
	if (strcmp(p, "!") == 0) {
		return SMTP_E_ARG;
	}
	*data = p;
	*len = strlen(p);
	return 1;
}

static void build(const tmsg *t, tmsg_built *b, size_t idx)
{
	size_t n = 0;

	memset(b, 0, sizeof(*b));
	b->idx = idx;
	b->pull = t->pull;
	while (n < 3 && t->to[n]) {
		b->rcpts[n].addr = t->to[n];
		b->rcpts[n].len = strlen(t->to[n]);
		n++;
	}
	b->piece.data = t->body;
	b->piece.len = strlen(t->body);
	b->m.from = t->from;
	b->m.from_len = strlen(t->from);
	b->m.rcpts = b->rcpts;
	b->m.nrcpt = n;
	b->m.body = &b->piece;
	b->m.nbody = 1;
	b->m.atomic = t->atomic;
	b->m.liveness = t->liveness;
	b->m.ud = b;
	if (t->pull) {
		b->m.body_fn = pull_fn;
	}
}

static void app(char *buf, size_t cap, const char *s)
{
	size_t n = strlen(buf), k = strlen(s);

	if (n + k + 1 < cap) {
		memcpy(buf + n, s, k + 1);
	}
}

static void on_reply(void *ud, void *msg_ud, smtp_sched_reply_t what, unsigned index, const smtp_event_t *ev)
{
	sim_result *r = ud;
	static const char *const names[] = { "front", "mail", "rcpt", "data", "final", "reset", "chunk" };
	char line[64];

	snprintf(line, sizeof(line), "%d.%s%u=%d ", (int)((tmsg_built *)msg_ud)->idx, names[what], index, ev->reply->code);
	app(r->replies, sizeof(r->replies), line);
}

static const char *why_name(smtp_sched_why_t w)
{
	static const char *const names[] = { "", ".mail", ".rcpt", ".atomic", ".data", ".content" };

	return names[w];
}

static void drain(smtp_client_t *c, sim_result *r)
{
	const char *p;
	size_t n;

	while ((n = smtp_client_output(c, &p)) > 0) {
		if (r->out_len + n < OUT_CAP) {
			memcpy(r->out + r->out_len, p, n);
			r->out_len += n;
		}
		smtp_client_output_consumed(c, n);
	}
}

static void pop_all(smtp_sched_t *s, sim_result *r)
{
	smtp_sched_outcome_t o;

	while (smtp_sched_pop(s, &o)) {
		static const char *const cls[] = { "A", "R", "P", "M", "L" };
		char item[32];
		snprintf(item, sizeof(item), "%s%s ", cls[o.cls],
			o.cls == SMTP_SCHED_REFUSED || o.cls == SMTP_SCHED_LOCAL ? why_name(o.why) : "");
		app(r->res, sizeof(r->res), item);
	}
}

/* A client in READY after a greeting and EHLO. */
static smtp_client_t *ready_client(void)
{
	static const char srv[] = "220 hi\r\n250-x\r\n250-PIPELINING\r\n250 CHUNKING\r\n";
	smtp_client_t *c = smtp_client_new();
	smtp_event_t ev;
	size_t pos = 0, used;
	const char *p;

	smtp_client_feed(c, srv, 8, &used, &ev);
	smtp_client_ehlo(c, "me", 2);
	smtp_client_output_consumed(c, smtp_client_output(c, &p));
	pos = 8;
	smtp_client_feed(c, srv + pos, sizeof(srv) - 1 - pos, &used, &ev);
	return c;
}

/*
 * Run msgs through a scheduler; the server's replies are srv[0..cut) (then
 * end of stream), fed in pieces of step octets (0: as much as there is), or,
 * with split, first split octets then the rest.
 */
static void sim(const tmsg *msgs, size_t n, unsigned window, int pipe, int chunk,
                const char *srv, size_t cut, size_t step, size_t split, sim_result *r)
{
	smtp_client_t *c = ready_client();
	smtp_sched_t *s = smtp_sched_new(c, window, pipe, chunk);
	tmsg_built *b = calloc(n ? n : 1, sizeof(*b));
	size_t next = 0, spos = 0, i;

	memset(r, 0, sizeof(*r));
	smtp_sched_set_reply_fn(s, on_reply, r);
	for (;;) {
		pop_all(s, r);
		while (next < n && smtp_sched_can_submit(s)) {
			build(&msgs[next], &b[next], next);
			if (smtp_sched_submit(s, &b[next].m) != SMTP_OK) {
				app(r->res, sizeof(r->res), "SUBMIT-FAILED ");
			}
			next++;
		}
		drain(c, r);
		pop_all(s, r);
		if (smtp_sched_is_lost(s) || (next == n && smtp_sched_in_flight(s) == 0)) {
			break;
		}
		if (!smtp_sched_waiting(s)) {
			r->stuck = 1;
			break;
		}
		if (r->out_len > r->marked && r->out_len + 1 < OUT_CAP) {
			r->out[r->out_len++] = '|';
			r->marked = r->out_len;
		}
		if (spos >= cut) {
			smtp_sched_lost(s);
			continue;
		}
		{
			size_t piece = cut - spos, used = 0;
			int rc;
			if (split && spos < split && split < cut) {
				piece = split - spos;
			} else if (step && piece > step) {
				piece = step;
			}
			rc = smtp_sched_feed(s, srv + spos, piece, &used);
			spos += used;
			if (rc < 0) {
				smtp_sched_lost(s);
			}
		}
	}
	pop_all(s, r);
	for (i = next; i < n; i++) {
		app(r->res, sizeof(r->res), "- ");
	}
	smtp_sched_free(s);
	smtp_client_free(c);
	free(b);
}

/* Complete replies in srv[0..len). */
static unsigned replies_in(const char *srv, size_t len)
{
	size_t i, start = 0;
	unsigned k = 0;

	for (i = 0; i + 1 < len; i++) {
		if (srv[i] == '\r' && srv[i + 1] == '\n') {
			if (i - start >= 4 && srv[start + 3] == ' ') {
				k++;
			}
			start = i + 2;
		}
	}
	return k;
}

/* The transcript and outcomes of one scenario, whatever the feeding. */
static void check_scenario(const char *name, const tmsg *msgs, size_t n, unsigned window, int pipe, int chunk,
                           const char *srv, const char *want_out, const char *want_res)
{
	static sim_result r0, r1;
	size_t len = strlen(srv), p;
	int bad = 0;

	sim(msgs, n, window, pipe, chunk, srv, len, 0, 0, &r0);
	if (!CHECK_MEM(r0.out, r0.out_len, want_out, strlen(want_out)) || !CHECK_STR(r0.res, want_res)
	    || !CHECK_INT(r0.stuck, 0)) {
		fprintf(stderr, "  in scenario %s (replies: %s)\n", name, r0.replies);
		return;
	}
	sim(msgs, n, window, pipe, chunk, srv, len, 1, 0, &r1);
	CHECK_MEM(r1.out, r1.out_len, want_out, strlen(want_out));
	CHECK_STR(r1.res, want_res);
	CHECK_STR(r1.replies, r0.replies);
	for (p = 1; p < len && !bad; p++) {
		sim(msgs, n, window, pipe, chunk, srv, len, 0, p, &r1);
		if (r1.out_len != r0.out_len || memcmp(r1.out, r0.out, r0.out_len) != 0 || strcmp(r1.res, r0.res) != 0) {
			bad = 1;
			fprintf(stderr, "  scenario %s split at %lu differs\n", name, (unsigned long)p);
		}
	}
	CHECK_INT(bad, 0);
}

/* Cut the connection after every octet of srv: want[k] is the outcome string
 * after k complete replies. */
static void check_cuts(const char *name, const tmsg *msgs, size_t n, unsigned window, int pipe, int chunk,
                       const char *srv, const char *const *want, size_t nwant)
{
	static sim_result r;
	size_t len = strlen(srv), p;
	int bad = 0;

	for (p = 0; p <= len && !bad; p++) {
		unsigned k = replies_in(srv, p);
		const char *w = k < nwant ? want[k] : want[nwant - 1];
		sim(msgs, n, window, pipe, chunk, srv, p, p % 3, 0, &r);
		if (strcmp(r.res, w) != 0 || r.stuck) {
			bad = 1;
			fprintf(stderr, "FAIL cut %s at %lu (%u replies): got \"%s\", want \"%s\"\n",
				name, (unsigned long)p, k, r.res, w);
		}
	}
	CHECK_INT(bad, 0);
}

static const tmsg three[] = {
	{ "a@x", { "b@y", NULL }, "hi\r\n", 0, 0, NULL },
	{ "a@x", { "c@y", NULL }, "yo\n", 0, 0, NULL },
	{ "a@x", { "d@y", NULL }, "", 0, 0, NULL },
};

static void test_chunking_window(void)
{
	static const char srv[] =
		"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok: 7 bytes queued as AAA\r\n"
		"250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok: queued as BBB\r\n"
		"250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250-2.0.0 Ok\r\n250 queued as CCC\r\n";
	static const char *const cuts[] = {
		"M M M ", "M M M ", "M M M ",
		"A M M ", "A M M ", "A M M ", "A M M ",
		"A A M ", "A A M ", "A A M ", "A A M ",
		"A A A ",
	};

	/* the whole window in one write: RSET in front of each later MAIL */
	check_scenario("chunking w32", three, 3, 32, 1, 1, srv,
		"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nBDAT 4 LAST\r\nhi\r\n"
		"RSET\r\nMAIL FROM:<a@x>\r\nRCPT TO:<c@y>\r\nBDAT 4 LAST\r\nyo\r\n"
		"RSET\r\nMAIL FROM:<a@x>\r\nRCPT TO:<d@y>\r\nBDAT 0 LAST\r\n|",
		"A A A ");
	check_cuts("chunking w32", three, 3, 32, 1, 1, srv, cuts, sizeof(cuts) / sizeof(cuts[0]));
}

static void test_chunking_window1(void)
{
	static const char srv[] =
		"250 Ok\r\n250 Ok\r\n250 Ok: queued as AAA\r\n"
		"250 Ok\r\n250 Ok\r\n250 Ok: queued as BBB\r\n"
		"250 Ok\r\n250 Ok\r\n250 Ok: queued as CCC\r\n";
	static const char *const cuts[] = {
		"M - - ", "M - - ", "M - - ",
		"A M - ", "A M - ", "A M - ",
		"A A M ", "A A M ", "A A M ",
		"A A A ",
	};

	/* window 1: one transaction at a time, no RSET after a success */
	check_scenario("chunking w1", three, 3, 1, 1, 1, srv,
		"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nBDAT 4 LAST\r\nhi\r\n|"
		"MAIL FROM:<a@x>\r\nRCPT TO:<c@y>\r\nBDAT 4 LAST\r\nyo\r\n|"
		"MAIL FROM:<a@x>\r\nRCPT TO:<d@y>\r\nBDAT 0 LAST\r\n|",
		"A A A ");
	check_cuts("chunking w1", three, 3, 1, 1, 1, srv, cuts, sizeof(cuts) / sizeof(cuts[0]));
}

static void test_data_pipelined(void)
{
	static const char srv[] =
		"250 Ok\r\n250 Ok\r\n354 go\r\n250 Ok: queued as AAA\r\n"
		"250 Ok\r\n250 Ok\r\n250 Ok\r\n354 go\r\n250 Ok: queued as BBB\r\n"
		"250 Ok\r\n250 Ok\r\n250 Ok\r\n354 go\r\n250 Ok: queued as CCC\r\n";
	static const char *const cuts[] = {
		"P - - ", "P - - ", "P - - ",
		"M P - ",
		"A P - ", "A P - ", "A P - ", "A P - ",
		"A M P ",
		"A A P ", "A A P ", "A A P ", "A A P ",
		"A A M ",
		"A A A ",
	};

	/* the end of data goes in the same write as the next MAIL, RCPT, DATA;
	 * DATA ends each group. */
	check_scenario("data pipelined", three, 3, 32, 1, 0, srv,
		"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n|"
		"hi\r\n.\r\nRSET\r\nMAIL FROM:<a@x>\r\nRCPT TO:<c@y>\r\nDATA\r\n|"
		"yo\r\n.\r\nRSET\r\nMAIL FROM:<a@x>\r\nRCPT TO:<d@y>\r\nDATA\r\n|"
		".\r\n|",
		"A A A ");
	check_cuts("data pipelined", three, 3, 32, 1, 0, srv, cuts, sizeof(cuts) / sizeof(cuts[0]));
}

static void test_no_pipelining(void)
{
	{
		static const char srv2[] =
			"250 Ok\r\n250 Ok\r\n354 go\r\n250 Ok: queued as AAA\r\n"
			"250 Ok\r\n250 Ok\r\n354 go\r\n250 Ok\r\n";
		static const char *const cuts3[] = {
			"P - ", "P - ", "P - ",
			"M - ",
			"A P ", "A P ", "A P ",
			"A M ",
			"A A ",
		};
		check_scenario("no pipelining data", three, 2, 32, 0, 0, srv2,
			"MAIL FROM:<a@x>\r\n|RCPT TO:<b@y>\r\n|DATA\r\n|hi\r\n.\r\n|"
			"MAIL FROM:<a@x>\r\n|RCPT TO:<c@y>\r\n|DATA\r\n|yo\r\n.\r\n|",
			"A A ");
		check_cuts("no pipelining data", three, 2, 32, 0, 0, srv2, cuts3, sizeof(cuts3) / sizeof(cuts3[0]));
	}
	{
		static const char srv3[] = "250 Ok\r\n250 Ok\r\n250 Ok: queued as AAA\r\n";
		/* CHUNKING without PIPELINING: BDAT after the envelope replies */
		check_scenario("bdat no pipelining", three, 1, 32, 0, 1, srv3,
			"MAIL FROM:<a@x>\r\n|RCPT TO:<b@y>\r\n|BDAT 4 LAST\r\nhi\r\n|", "A ");
	}
}

static void test_refusals(void)
{
	static const tmsg msgs[] = {
		{ "bad@x", { "b@y", NULL }, "1\r\n", 0, 0, NULL },            /* MAIL refused */
		{ "a@x", { "n1@y", "n2@y", NULL }, "2\r\n", 0, 0, NULL },      /* every RCPT refused */
		{ "a@x", { "ok@y", "no@y", NULL }, "3\r\n", 0, 0, NULL },      /* one of two: accepted */
		{ "a@x", { "ok@y", NULL }, "4\r\n", 0, 0, NULL },              /* content refused */
		{ "a@x", { "ok@y", NULL }, "5\r\n", 0, 0, NULL },
	};
	static const char srv[] =
		"550 5.1.0 sender\r\n503 5.5.1 no rcpt\r\n554 5.5.1 no valid recipients\r\n"
		"250 Ok\r\n250 Ok\r\n550 no\r\n550 no\r\n554 no valid recipients\r\n"
		"250 Ok\r\n250 Ok\r\n250 Ok\r\n550 no\r\n250 Ok: queued as C\r\n"
		"250 Ok\r\n250 Ok\r\n250 Ok\r\n552 5.3.4 too big\r\n"
		"250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok: queued as E\r\n";

	check_scenario("refusals chunking", msgs, 5, 32, 1, 1, srv,
		"MAIL FROM:<bad@x>\r\nRCPT TO:<b@y>\r\nBDAT 3 LAST\r\n1\r\n"
		"RSET\r\nMAIL FROM:<a@x>\r\nRCPT TO:<n1@y>\r\nRCPT TO:<n2@y>\r\nBDAT 3 LAST\r\n2\r\n"
		"RSET\r\nMAIL FROM:<a@x>\r\nRCPT TO:<ok@y>\r\nRCPT TO:<no@y>\r\nBDAT 3 LAST\r\n3\r\n"
		"RSET\r\nMAIL FROM:<a@x>\r\nRCPT TO:<ok@y>\r\nBDAT 3 LAST\r\n4\r\n"
		"RSET\r\nMAIL FROM:<a@x>\r\nRCPT TO:<ok@y>\r\nBDAT 3 LAST\r\n5\r\n|",
		"R.mail R.rcpt A R.content A ");
	{
		/* a lost connection: a message whose envelope had failed is refused, not "maybe" */
		static sim_result r;
		sim(msgs, 5, 32, 1, 1, srv, 100, 0, 0, &r);
		CHECK_STR(r.res, "R.mail R.rcpt M M M ");
	}
}

static void test_refusals_data(void)
{
	static const tmsg msgs[] = {
		{ "a@x", { "n1@y", NULL }, "1\r\n", 0, 0, NULL },             /* RCPT refused: DATA refused */
		{ "a@x", { "ok@y", NULL }, "2\r\n", 0, 0, NULL },             /* DATA refused after a good envelope: RSET */
		{ "a@x", { "ok@y", NULL }, "3\r\n", 0, 0, NULL },             /* end of data refused */
		{ "a@x", { "n1@y", NULL }, "4\r\n", 0, 0, NULL },             /* 354 with nobody: empty message */
	};
	static const char srv[] =
		"250 Ok\r\n550 no\r\n554 no valid recipients\r\n"
		"250 Ok\r\n250 Ok\r\n250 Ok\r\n451 not now\r\n250 reset\r\n"
		"250 Ok\r\n250 Ok\r\n354 go\r\n554 spam\r\n"
		"250 Ok\r\n250 Ok\r\n550 no\r\n354 go\r\n554 no\r\n";

	check_scenario("refusals data", msgs, 4, 32, 1, 0, srv,
		"MAIL FROM:<a@x>\r\nRCPT TO:<n1@y>\r\nDATA\r\n|"
		"RSET\r\nMAIL FROM:<a@x>\r\nRCPT TO:<ok@y>\r\nDATA\r\n|"
		"RSET\r\nMAIL FROM:<a@x>\r\nRCPT TO:<ok@y>\r\nDATA\r\n|"
		"3\r\n.\r\nRSET\r\nMAIL FROM:<a@x>\r\nRCPT TO:<n1@y>\r\nDATA\r\n|"
		".\r\n|",
		"R.rcpt R.data R.content R.rcpt ");
}

static void test_atomic(void)
{
	static const tmsg msgs[] = {
		{ "a@x", { "ok@y", "no@y", NULL }, "1\r\n", 1, 0, NULL },
		{ "a@x", { "ok@y", "ok2@y", NULL }, "2\r\n", 1, 0, NULL },
		{ "a@x", { "ok@y", NULL }, "3\r\n", 0, 0, NULL },
	};
	static const char srv[] =
		"250 Ok\r\n250 Ok\r\n550 no\r\n250 reset\r\n"
		"250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok: queued as B\r\n"
		"250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok: queued as C\r\n";
	static const char srv_data[] =
		"250 Ok\r\n250 Ok\r\n550 no\r\n250 reset\r\n"
		"250 Ok\r\n250 Ok\r\n250 Ok\r\n354 go\r\n250 Ok: queued as B\r\n"
		"250 Ok\r\n250 Ok\r\n250 Ok\r\n354 go\r\n250 Ok: queued as C\r\n";
	static const char *const cuts[] = {
		"P - - ", "P - - ", "P - - ",
		"R.atomic P - ", "R.atomic P - ", "R.atomic P - ", "R.atomic P - ",
		"R.atomic M M ",
		"R.atomic A M ", "R.atomic A M ", "R.atomic A M ", "R.atomic A M ",
		"R.atomic A A ",
	};

	/* envelope replies awaited; a refusal: RSET and no content */
	check_scenario("atomic chunking", msgs, 3, 32, 1, 1, srv,
		"MAIL FROM:<a@x>\r\nRCPT TO:<ok@y>\r\nRCPT TO:<no@y>\r\n|"
		"RSET\r\nMAIL FROM:<a@x>\r\nRCPT TO:<ok@y>\r\nRCPT TO:<ok2@y>\r\n|"
		"BDAT 3 LAST\r\n2\r\nRSET\r\nMAIL FROM:<a@x>\r\nRCPT TO:<ok@y>\r\nBDAT 3 LAST\r\n3\r\n|",
		"R.atomic A A ");
	check_cuts("atomic chunking", msgs, 3, 32, 1, 1, srv, cuts, sizeof(cuts) / sizeof(cuts[0]));
	check_scenario("atomic data", msgs, 3, 32, 1, 0, srv_data,
		"MAIL FROM:<a@x>\r\nRCPT TO:<ok@y>\r\nRCPT TO:<no@y>\r\n|"
		"RSET\r\nMAIL FROM:<a@x>\r\nRCPT TO:<ok@y>\r\nRCPT TO:<ok2@y>\r\n|"
		"DATA\r\n|2\r\n.\r\nRSET\r\nMAIL FROM:<a@x>\r\nRCPT TO:<ok@y>\r\nDATA\r\n|3\r\n.\r\n|",
		"R.atomic A A ");
}

static void test_local(void)
{
	static const tmsg msgs[] = {
		{ "a@x", { "b<c@y", NULL }, "1\r\n", 0, 0, NULL },
		{ "a\r\n@x", { "b@y", NULL }, "1\r\n", 0, 0, NULL },
		{ "a@x", { NULL }, "1\r\n", 0, 0, NULL },
		{ "a@x", { "ok@y", NULL }, "2\r\n", 0, 0, NULL },
	};
	static const char srv[] = "250 Ok\r\n250 Ok\r\n250 Ok: queued as B\r\n";
	static char longaddr[3000];

	check_scenario("local errors", msgs, 4, 32, 1, 1, srv,
		"MAIL FROM:<a@x>\r\nRCPT TO:<ok@y>\r\nBDAT 3 LAST\r\n2\r\n|", "L.rcpt L.mail L.rcpt A ");
	{
		tmsg m = { "a@x", { NULL, NULL }, "x", 0, 0, NULL };
		static sim_result r;
		memset(longaddr, 'a', sizeof(longaddr) - 1);
		m.to[0] = longaddr;
		sim(&m, 1, 4, 1, 1, "", 0, 0, 0, &r);
		CHECK_STR(r.res, "L.rcpt ");
		CHECK_INT(r.out_len, 0);
		/* a sender too long for its line: MAIL */
		m.to[0] = "b@y";
		m.from = longaddr;
		sim(&m, 1, 4, 1, 1, "", 0, 0, 0, &r);
		CHECK_STR(r.res, "L.mail ");
		CHECK_INT(r.out_len, 0);
	}
}

static void test_liveness(void)
{
	static const tmsg msgs[] = {
		{ "a@x", { "b@y", NULL }, "hi\r\n", 0, 1, NULL },
		{ "a@x", { "c@y", NULL }, "yo\r\n", 0, 0, NULL },
	};
	static sim_result r;
	static const char ok[] = "250 reset\r\n250 Ok\r\n250 Ok\r\n250 Ok: queued as A\r\n"
		"250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok: queued as B\r\n";
	static const char *const cuts[] = {
		"P P ",                 /* the RSET unanswered: the server was gone */
		"M M ", "M M ", "M M ",
		"A M ", "A M ", "A M ", "A M ",
		"A A ",
	};

	check_scenario("liveness", msgs, 2, 32, 1, 1, ok,
		"RSET\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nBDAT 4 LAST\r\nhi\r\n"
		"RSET\r\nMAIL FROM:<a@x>\r\nRCPT TO:<c@y>\r\nBDAT 4 LAST\r\nyo\r\n|", "A A ");
	check_cuts("liveness", msgs, 2, 32, 1, 1, ok, cuts, sizeof(cuts) / sizeof(cuts[0]));
	/* 421 to the RSET: gone, replay both */
	sim(msgs, 2, 32, 1, 1, "421 4.4.2 idle timeout\r\n", 24, 0, 0, &r);
	CHECK_STR(r.res, "P P ");
	/* the same in DATA mode: the first message waits for 354, the second not begun */
	sim(msgs, 2, 32, 1, 0, "", 0, 0, 0, &r);
	CHECK_STR(r.res, "P - ");
	CHECK_MEM(r.out, r.out_len, "RSET\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n|", 45);
	/* a 421 after the RSET was answered is an ordinary loss */
	sim(msgs, 2, 32, 1, 1, "250 reset\r\n421 bye\r\n", 20, 0, 0, &r);
	CHECK_STR(r.res, "R.mail M ");
}

static void test_pulled(void)
{
	static const char *const pieces[] = { "hel", "lo\r\n", "", "bye", NULL };
	static const char *const failing[] = { "hel", "!", NULL };
	static const tmsg msgs[] = {
		{ "a@x", { "b@y", NULL }, "", 0, 0, pieces },
		{ "a@x", { "c@y", NULL }, "", 0, 0, pieces },
	};
	static const tmsg bad[] = {
		{ "a@x", { "b@y", NULL }, "", 0, 0, failing },
		{ "a@x", { "c@y", NULL }, "yo\r\n", 0, 0, NULL },
	};
	static sim_result r;
	static const char srv[] =
		"250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok: queued as A\r\n"
		"250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok: queued as B\r\n";
	static const char *const cuts[] = {
		"M M ", "M M ", "M M ", "M M ", "M M ", "M M ",   /* every chunk and LAST written at once */
		"A M ", "A M ", "A M ", "A M ", "A M ", "A M ", "A M ",
		"A A ",
	};

	/* one BDAT chunk per piece, then BDAT 0 LAST ("bye" has no line end: the LAST adds it) */
	check_scenario("pulled bdat", msgs, 2, 32, 1, 1, srv,
		"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nBDAT 3\r\nhelBDAT 4\r\nlo\r\nBDAT 3\r\nbyeBDAT 2 LAST\r\n\r\n"
		"RSET\r\nMAIL FROM:<a@x>\r\nRCPT TO:<c@y>\r\nBDAT 3\r\nhelBDAT 4\r\nlo\r\nBDAT 3\r\nbyeBDAT 2 LAST\r\n\r\n|",
		"A A ");
	check_cuts("pulled bdat", msgs, 2, 32, 1, 1, srv, cuts, sizeof(cuts) / sizeof(cuts[0]));
	/* DATA: the pieces after the 354 */
	check_scenario("pulled data", msgs, 1, 32, 1, 0, "250 Ok\r\n250 Ok\r\n354 go\r\n250 Ok\r\n",
		"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n|hello\r\nbye\r\n.\r\n|", "A ");
	/* a chunk refused: no more chunks, RSET */
	sim(msgs, 1, 32, 1, 1, "250 Ok\r\n250 Ok\r\n554 no\r\n554 no\r\n554 no\r\n554 no\r\n", 48, 0, 0, &r);
	CHECK_STR(r.res, "R.content ");
	/* the source fails: with BDAT an RSET ends the transaction, the next message goes on */
	check_scenario("pulled bdat fails", bad, 2, 32, 1, 1,
		"250 Ok\r\n250 Ok\r\n250 Ok\r\n250 reset\r\n250 Ok\r\n250 Ok\r\n250 Ok: queued as B\r\n",
		"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nBDAT 3\r\nhelRSET\r\n"
		"MAIL FROM:<a@x>\r\nRCPT TO:<c@y>\r\nBDAT 4 LAST\r\nyo\r\n|", "L A ");
	/* with DATA the connection must go: the end of data would deliver half a message */
	sim(bad, 2, 32, 1, 0, "250 Ok\r\n250 Ok\r\n354 go\r\n", 26, 0, 0, &r);
	CHECK_STR(r.res, "L - ");
	CHECK_MEM(r.out, r.out_len, "MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n|hel", 42);
	/* cut while the body is written (no pipelining: one chunk at a time) */
	sim(msgs, 1, 32, 0, 1, "250 Ok\r\n250 Ok\r\n250 Ok\r\n", 24, 0, 0, &r);
	CHECK_STR(r.res, "L ");
}

static void test_api_guards(void)
{
	smtp_client_t *c = ready_client();
	smtp_sched_t *s = smtp_sched_new(c, 2, 1, 1);
	smtp_sched_outcome_t o;
	smtp_event_t ev;
	smtp_reply_t rep;
	tmsg_built b[3];
	int i;

	CHECK(s != NULL);
	CHECK_INT(smtp_sched_waiting(s), 0);
	CHECK_INT(smtp_sched_pop(s, &o), 0);
	for (i = 0; i < 3; i++) {
		build(&three[i], &b[i], (size_t)i);
	}
	CHECK_INT(smtp_sched_submit(s, &b[0].m), SMTP_OK);
	CHECK_INT(smtp_sched_submit(s, &b[1].m), SMTP_OK);
	/* the window is full */
	CHECK_INT(smtp_sched_can_submit(s), 0);
	CHECK_INT(smtp_sched_submit(s, &b[2].m), SMTP_E_STATE);
	CHECK_INT(smtp_sched_in_flight(s), 2);
	CHECK_INT(smtp_sched_waiting(s), 1);
	/* an unsolicited closing reply: the connection ends */
	memset(&ev, 0, sizeof(ev));
	memset(&rep, 0, sizeof(rep));
	rep.code = 421;
	ev.cmd = SMTP_CMD_NONE;
	ev.closing = 1;
	ev.reply = &rep;
	CHECK_INT(smtp_sched_event(s, &ev), SMTP_E_CLOSED);
	smtp_sched_lost(s);
	smtp_sched_lost(s);
	CHECK_INT(smtp_sched_event(s, &ev), SMTP_E_CLOSED);
	CHECK_INT(smtp_sched_can_submit(s), 0);
	CHECK_INT(smtp_sched_pop(s, &o), 1);
	CHECK_INT(o.cls, SMTP_SCHED_MAYBE);
	CHECK_INT(o.content_written, 1);
	CHECK_INT(smtp_sched_pop(s, &o), 1);
	CHECK_INT(smtp_sched_pop(s, &o), 0);
	CHECK_STR(smtp_sched_class_name(SMTP_SCHED_REPLAY), "REPLAY");
	CHECK_STR(smtp_sched_class_name((smtp_sched_class_t)99), "?");
	smtp_sched_free(s);
	smtp_sched_free(NULL);
	smtp_client_free(c);
}

static void test_nomem(void)
{
	int budget, done = 0;

	for (budget = 0; budget < 40 && !done; budget++) {
		smtp_client_t *c = ready_client();
		smtp_sched_t *s;
		tmsg_built b[3];
		int i, rc = SMTP_OK;

		smtp_test_alloc_budget = budget;
		s = smtp_sched_new(c, 32, 1, 1);
		if (s) {
			for (i = 0; i < 3 && rc == SMTP_OK; i++) {
				build(&three[i], &b[i], (size_t)i);
				rc = smtp_sched_submit(s, &b[i].m);
			}
			if (rc == SMTP_OK) {
				done = 1;
			} else {
				smtp_sched_outcome_t o;
				smtp_sched_lost(s);
				while (smtp_sched_pop(s, &o)) {
				}
			}
		}
		smtp_test_alloc_budget = -1;
		smtp_sched_free(s);
		smtp_client_free(c);
	}
	CHECK_INT(done, 1);
}

/* ---- the zero-copy writer ------------------------------------------------ */

typedef struct {
	smtp_client_t *c;
	char *wire;            /* what went out, queued output and direct runs in order */
	size_t len, cap;
	size_t direct_octets;  /* octets handed to the writer */
	size_t flushes;        /* (NULL, 0) calls */
	size_t max_queued;     /* most output queued when the writer was called */
	int fail;              /* return SMTP_E_CLOSED */
} dsink;

static void dsink_put(dsink *d, const char *p, size_t n)
{
	if (d->len + n > d->cap) {
		d->cap = (d->len + n) * 2;
		d->wire = realloc(d->wire, d->cap);
	}
	memcpy(d->wire + d->len, p, n);
	d->len += n;
}

static void dsink_drain(dsink *d)
{
	const char *p;
	size_t n;

	while ((n = smtp_client_output(d->c, &p)) > 0) {
		if (n > d->max_queued) {
			d->max_queued = n;
		}
		dsink_put(d, p, n);
		smtp_client_output_consumed(d->c, n);
	}
}

static int direct_fn(void *ud, const char *data, size_t len)
{
	dsink *d = ud;

	if (d->fail) {
		return SMTP_E_CLOSED;
	}
	dsink_drain(d);
	if (data) {
		dsink_put(d, data, len);
		d->direct_octets += len;
	} else {
		d->flushes++;
	}
	return SMTP_OK;
}

/* One message through a scheduler (pipelining, chunking as given), with or
 * without the writer; the wire up to the content's end (plus, for DATA, the
 * body after a 354). */
static int direct_run(const char *body, size_t blen, int chunk, int with_writer, int fail, dsink *d)
{
	static const char rcpt_ok[] = "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n";
	smtp_sched_rcpt_t r = { "b@y", 3, "", 0 };
	smtp_piece_t piece = { body, blen };
	smtp_sched_msg_t m;
	smtp_sched_t *s;
	int rc;

	memset(d, 0, sizeof(*d));
	d->c = ready_client();
	d->fail = fail;
	s = smtp_sched_new(d->c, 1, 1, chunk);
	if (with_writer) {
		smtp_sched_set_direct_fn(s, direct_fn, d, 65536);
	}
	memset(&m, 0, sizeof(m));
	m.from = "a@x";
	m.from_len = 3;
	m.rcpts = &r;
	m.nrcpt = 1;
	m.body = &piece;
	m.nbody = 1;
	rc = smtp_sched_submit(s, &m);
	if (rc == SMTP_OK && !chunk) {
		size_t pos = 0, used;
		while (rc == SMTP_OK && pos < sizeof(rcpt_ok) - 1) {
			rc = smtp_sched_feed(s, rcpt_ok + pos, sizeof(rcpt_ok) - 1 - pos, &used);
			pos += used;
			rc = rc < 0 ? rc : SMTP_OK;
		}
	}
	if (rc == SMTP_OK) {
		dsink_drain(d);
	}
	smtp_sched_free(s);
	smtp_client_free(d->c);
	return rc;
}

static void test_direct(void)
{
	size_t n = 200000, i;
	char *clean = malloc(n), *lf = malloc(n);
	dsink a, b;
	int chunk;

	/* clean CRLF lines, one starting with a dot in the DATA case */
	for (i = 0; i < n; i++) {
		clean[i] = (i % 50 == 48) ? '\r' : (i % 50 == 49) ? '\n' : (char)('a' + i % 26);
		lf[i] = (i % 2) ? '\n' : 'x';
	}
	clean[100050] = '.';
	for (chunk = 0; chunk <= 1; chunk++) {
		/* the same octets on the wire with and without the writer, most of them not copied */
		CHECK_INT(direct_run(clean, n, chunk, 0, 0, &a), SMTP_OK);
		CHECK_INT(direct_run(clean, n, chunk, 1, 0, &b), SMTP_OK);
		CHECK_MEM(b.wire, b.len, a.wire, a.len);
		if (!CHECK(b.direct_octets >= n / 2)) {
			fprintf(stderr, "  chunk %d: %lu octets passed through\n", chunk, (unsigned long)b.direct_octets);
		}
		CHECK_INT((int)a.direct_octets, 0);
		free(a.wire);
		free(b.wire);
		/* nothing to pass through (bare LFs): written as it fills, never all queued */
		CHECK_INT(direct_run(lf, n, chunk, 0, 0, &a), SMTP_OK);
		CHECK_INT(direct_run(lf, n, chunk, 1, 0, &b), SMTP_OK);
		CHECK_MEM(b.wire, b.len, a.wire, a.len);
		CHECK_INT((int)b.direct_octets, 0);
		CHECK(b.flushes >= 2);
		CHECK(b.max_queued < 3 * 65536);
		CHECK(a.max_queued > n);
		free(a.wire);
		free(b.wire);
		/* the writer fails: the scheduler says so */
		CHECK_INT(direct_run(clean, n, chunk, 1, 1, &b), SMTP_E_CLOSED);
		free(b.wire);
	}
	free(clean);
	free(lf);
}

int main(void)
{
	test_chunking_window();
	test_chunking_window1();
	test_data_pipelined();
	test_no_pipelining();
	test_refusals();
	test_refusals_data();
	test_atomic();
	test_local();
	test_liveness();
	test_pulled();
	test_api_guards();
	test_nomem();
	test_direct();
	return tap_done("test_sched");
}
