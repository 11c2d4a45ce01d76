/*
 * fuzz_sched: the transaction scheduler driven by arbitrary server bytes.
 *
 * Input: octet 0 chooses pipelining, chunking and the window; octet 1 the
 * size of the pieces the server's bytes are fed in; then message
 * descriptions up to a 0xff octet (each octet one message: atomic,
 * liveness, recipients, body, a bad address), then the server's bytes.
 * The simulated driver submits as allowed, drains the output, feeds the
 * bytes, and at their end (or on any error) declares the connection lost.
 * Invariants: no crash, leak or UB; every message submitted comes out
 * exactly once, in order; SMTP_SCHED_MAYBE only with content written;
 * SMTP_SCHED_REPLAY with content written only behind a liveness RSET;
 * smtp_sched_step() says POP only when an outcome is there. With octet 1's
 * top bit the zero-copy writer is installed (it drains the client's output,
 * then takes the run, as a driver's would), its minimum run from bit 6.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../smtp_sched.h"

#define MAX_MSGS 64

typedef struct {
	size_t idx;
	int pull_fail;        /* the pulled body fails at its second piece */
	size_t at;
	smtp_sched_rcpt_t rcpts[3];
	smtp_piece_t body[2];
	smtp_sched_msg_t m;
} fmsg;

static const char *const addrs[] = { "a@example.org", "b@example.org", "bad<@x", "" };
static const char *const bodies[] = { "", "hi\r\n", "line\nbare\r.dot\r\n.\r\n", "no end" };

static const char *const pulled[] = { "part\r", "\n.x", "", "end" };

static int pull_fn(void *msg_ud, const char **data, size_t *len)
{
	fmsg *f = msg_ud;

	if (f->at == 1 && f->pull_fail) {
		return SMTP_E_ARG;
	}
	if (f->at >= sizeof(pulled) / sizeof(pulled[0])) {
		return 0;
	}
	*data = pulled[f->at];
	*len = strlen(pulled[f->at]);
	f->at++;
	return 1;
}

/* The zero-copy writer: what the client queued goes first, then the run. */
static int direct_fn(void *ud, const char *data, size_t len)
{
	smtp_client_t *c = ud;
	const char *p;
	size_t n;

	while ((n = smtp_client_output(c, &p)) > 0) {
		smtp_client_output_consumed(c, n);
	}
	if (len > 0 && (!data || data[len - 1] != '\n')) {
		/* a run that goes out unchanged is whole lines */
		abort();
	}
	return SMTP_OK;
}

static void build(fmsg *f, uint8_t d, size_t idx)
{
	size_t i, n = 1 + (d >> 2) % 3;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < n; i++) {
		const char *a = addrs[(d & 0x80) && i == 1 ? 2 + ((d >> 6) & 1) : i % 2];
		f->rcpts[i].addr = a;
		f->rcpts[i].len = strlen(a);
	}
	f->body[0].data = bodies[(d >> 4) & 3];
	f->body[0].len = strlen(f->body[0].data);
	f->body[1].data = bodies[1];
	f->body[1].len = 4;
	f->m.from = "s@example.org";
	f->m.from_len = 13;
	f->m.mail_params = (d & 0x40) ? "SIZE=10" : "";
	f->m.mail_params_len = strlen(f->m.mail_params);
	f->m.rcpts = f->rcpts;
	f->m.nrcpt = n;
	f->m.body = f->body;
	f->m.nbody = 1 + (d & 1);
	f->m.atomic = (d >> 1) & 1;
	f->m.liveness = idx == 0 && (d & 0x20);
	f->m.ud = f;
	f->idx = idx;
	if (d & 0x08) {
		f->m.body_fn = pull_fn;
		f->pull_fail = d & 0x01;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char greet[] = "220 x\r\n250-x\r\n250-PIPELINING\r\n250 CHUNKING\r\n";
	fmsg *msgs;
	size_t nmsgs = 0, pos = 2, next = 0, popped = 0, step, used;
	smtp_client_t *c;
	smtp_sched_t *s;
	smtp_event_t ev;
	smtp_sched_outcome_t o;
	const char *p;
	size_t n;

	if (size < 2) {
		return 0;
	}
	msgs = calloc(MAX_MSGS, sizeof(*msgs));
	while (pos < size && data[pos] != 0xff && nmsgs < MAX_MSGS) {
		build(&msgs[nmsgs], data[pos], nmsgs);
		nmsgs++;
		pos++;
	}
	pos++;
	step = 1 + data[1] % 64;

	c = smtp_client_new();
	smtp_client_feed(c, greet, 7, &used, &ev);
	smtp_client_ehlo(c, "me", 2);
	smtp_client_feed(c, greet + 7, sizeof(greet) - 8, &used, &ev);
	while ((n = smtp_client_output(c, &p)) > 0) {
		smtp_client_output_consumed(c, n);
	}
	s = smtp_sched_new(c, 1 + (data[0] >> 2) % 40, data[0] & 1, (data[0] >> 1) & 1);
	if (!s) {
		smtp_client_free(c);
		free(msgs);
		return 0;
	}
	if (data[1] & 0x80) {
		smtp_sched_set_direct_fn(s, direct_fn, c, (data[1] & 0x40) ? 4 : 1);
	}
	for (;;) {
		size_t before = popped + next;

		size_t popped_before = popped;
		int want_pop = smtp_sched_step(s) == SMTP_SCHED_STEP_POP;

		while (smtp_sched_pop(s, &o)) {
			if (((fmsg *)o.ud)->idx != popped) {
				abort();
			}
			if (o.cls == SMTP_SCHED_MAYBE && !o.content_written) {
				abort();
			}
			if (o.cls == SMTP_SCHED_REPLAY && o.content_written && !msgs[0].m.liveness) {
				abort();
			}
			popped++;
		}
		if (want_pop && popped == popped_before) {
			abort();
		}
		while (next < nmsgs && smtp_sched_can_submit(s)) {
			if (smtp_sched_submit(s, &msgs[next].m) != SMTP_OK) {
				smtp_sched_lost(s);
				break;
			}
			next++;
		}
		while (!smtp_sched_is_lost(s)) {
			while ((n = smtp_client_output(c, &p)) > 0) {
				smtp_client_output_consumed(c, n);
			}
			if (!smtp_sched_wants_write(s)) {
				break;
			}
			if (smtp_sched_pump(s) != SMTP_OK) {
				smtp_sched_lost(s);
			}
		}
		if (smtp_sched_is_lost(s)) {
			while (smtp_sched_pop(s, &o)) {
				if (((fmsg *)o.ud)->idx != popped) {
					abort();
				}
				popped++;
			}
			break;
		}
		if (next == nmsgs && smtp_sched_in_flight(s) == 0) {
			break;
		}
		if (!smtp_sched_waiting(s)) {
			/* nothing to wait for, yet not done: the scheduler is stuck */
			if (popped + next == before) {
				abort();
			}
			continue;
		}
		if (pos >= size) {
			smtp_sched_lost(s);
			continue;
		}
		{
			size_t piece = size - pos < step ? size - pos : step;
			int rc = smtp_sched_feed(s, (const char *)data + pos, piece, &used);
			pos += used;
			if (rc < 0) {
				smtp_sched_lost(s);
			}
		}
	}
	if (popped != next || smtp_sched_in_flight(s) != 0) {
		abort();
	}
	smtp_sched_free(s);
	smtp_client_free(c);
	free(msgs);
	return 0;
}
