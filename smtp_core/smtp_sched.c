/*
 * smtp_sched: the transaction scheduler. See smtp_sched.h.
 *
 * Messages live in a ring in submission order. At most one of them is being
 * written (s->cur): its commands go out as the client's gate and the rules
 * allow; once its content is written (or it is decided without content) the
 * next one may start. Replies arrive in command order, so each one belongs
 * to the oldest message that still owes replies.
 */
#include <string.h>

#include "smtp_sched.h"

/* How far a message has been written. */
enum {
	ST_NEW = 0,      /* nothing written */
	ST_FRONT,        /* RSET in front written */
	ST_MAIL,         /* MAIL written */
	ST_RCPT,         /* RCPTs being written (next_rcpt of them so far) */
	ST_ENVELOPE,     /* every RCPT written: the content may follow (or waits for replies) */
	ST_DATA,         /* DATA written, waiting for 354 */
	ST_PULL,         /* a pulled body being written (more to come) */
	ST_WRITTEN       /* nothing more to write (content, RSET, or decided) */
};

typedef struct {
	smtp_sched_msg_t m;
	unsigned char stage;
	unsigned char front;          /* RSET in front written */
	unsigned char front_answered;
	unsigned char front_gone;     /* the RSET in front was answered 421 */
	unsigned char mail_answered, mail_ok;
	unsigned char content;        /* content written */
	unsigned char decided;        /* cls/why set */
	unsigned char reset_owed;     /* RSET after a refusal written, reply outstanding */
	unsigned char pull_data;      /* ST_PULL with DATA (else BDAT chunks) */
	unsigned char chunk_failed;   /* a BDAT chunk before LAST was refused */
	unsigned chunks;              /* BDAT chunks written before LAST (pulled bodies) */
	unsigned next_rcpt;           /* RCPTs written */
	unsigned rcpt_answered, rcpt_ok;
	unsigned owed;                /* replies outstanding */
	unsigned long long seq;       /* its number in submission order, from 1 */
	smtp_sched_class_t cls;
	smtp_sched_why_t why;
	int rc;
} ent_t;

struct smtp_sched {
	smtp_client_t *c;             /* NULL once lost */
	unsigned window;
	int pipelining, chunking;
	int lost;
	int dirty;                    /* the server may hold a transaction of ours: RSET before the next MAIL */
	unsigned long long seq;       /* messages submitted */
	unsigned long long dirty_seq; /* the message whose MAIL made it dirty */
	ent_t *ring;
	size_t head, count, cap;
	size_t cur;                   /* ring offset from head of the message being written, count when none */
	smtp_sched_reply_fn fn;
	void *fn_ud;
	smtp_sched_direct_fn direct;  /* zero-copy writer, or NULL */
	void *direct_ud;
	size_t direct_min;
};

/* The ring's capacity is a power of two (8, doubled as it grows). */
static ent_t *ent_at(smtp_sched_t *s, size_t i)
{
	return &s->ring[(s->head + i) & (s->cap - 1)];
}

void smtp_sched_reset(smtp_sched_t *s, smtp_client_t *c, unsigned window, int pipelining, int chunking)
{
	ent_t *ring = s->ring;
	size_t cap = s->cap;

	if (window < 1 || !pipelining) {
		window = 1;
	}
	memset(s, 0, sizeof(*s));
	s->ring = ring;
	s->cap = cap;
	s->c = c;
	s->window = window;
	s->pipelining = pipelining != 0;
	s->chunking = chunking != 0;
	smtp_client_set_pipelining(c, s->pipelining);
}

smtp_sched_t *smtp_sched_new(smtp_client_t *c, unsigned window, int pipelining, int chunking)
{
	smtp_sched_t *s = smtp_malloc(sizeof(*s));

	if (!s) {
		return NULL;
	}
	s->cap = 8;
	s->ring = smtp_malloc(s->cap * sizeof(*s->ring));
	if (!s->ring) {
		smtp_free(s);
		return NULL;
	}
	smtp_sched_reset(s, c, window, pipelining, chunking);
	return s;
}

void smtp_sched_free(smtp_sched_t *s)
{
	if (!s) {
		return;
	}
	smtp_free(s->ring);
	smtp_free(s);
}

void smtp_sched_set_reply_fn(smtp_sched_t *s, smtp_sched_reply_fn fn, void *ud)
{
	s->fn = fn;
	s->fn_ud = ud;
}

void smtp_sched_set_direct_fn(smtp_sched_t *s, smtp_sched_direct_fn fn, void *ud, size_t min)
{
	s->direct = fn;
	s->direct_ud = ud;
	s->direct_min = min ? min : 1;
}

int smtp_sched_is_lost(const smtp_sched_t *s) { return s->lost; }
int smtp_sched_holds_transaction(const smtp_sched_t *s) { return !s->lost && s->dirty; }
size_t smtp_sched_in_flight(const smtp_sched_t *s) { return s->count; }

int smtp_sched_waiting(const smtp_sched_t *s)
{
	return !s->lost && s->c && smtp_client_pending(s->c) > 0;
}

const char *smtp_sched_class_name(smtp_sched_class_t cls)
{
	static const char *const names[] = { "ACCEPTED", "REFUSED", "REPLAY", "MAYBE", "LOCAL" };

	return (unsigned)cls < sizeof(names) / sizeof(names[0]) ? names[cls] : "?";
}

/* ---- checks before anything of a message is written -------------------- */

/* SMTP_OK when the client will take every command of m (as smtp_client_mail()
 * and smtp_client_rcpt() check their arguments); else the SMTP_E_*, and *why
 * names the command that would have failed: SMTP_SCHED_WHY_MAIL (the sender
 * or its parameters), SMTP_SCHED_WHY_RCPT (no recipient, or one of them or
 * its parameters), SMTP_SCHED_WHY_NONE (the body). */
static int check_msg(const smtp_sched_msg_t *m, smtp_sched_why_t *why)
{
	size_t i, total = 0;

	*why = SMTP_SCHED_WHY_MAIL;
	if ((m->from_len && !m->from) || (m->mail_params_len && !m->mail_params)) {
		return SMTP_E_ARG;
	}
	if (!m->checked && (!smtp_arg_clean(m->from, m->from_len, 1) || !smtp_arg_clean(m->mail_params, m->mail_params_len, 0))) {
		return SMTP_E_ARG;
	}
	if (m->from_len > SMTP_MAX_CMD_LINE || m->mail_params_len > SMTP_MAX_CMD_LINE
	    || 11 + m->from_len + 1 + (m->mail_params_len ? 1 + m->mail_params_len : 0) + 2 > SMTP_MAX_CMD_LINE) {
		return SMTP_E_TOO_LONG;
	}
	*why = SMTP_SCHED_WHY_RCPT;
	if (m->nrcpt == 0 || !m->rcpts) {
		return SMTP_E_ARG;
	}
	for (i = 0; i < m->nrcpt; i++) {
		const smtp_sched_rcpt_t *r = &m->rcpts[i];
		if (r->len == 0 || !r->addr || (r->params_len && !r->params)
		    || (!m->checked && (!smtp_arg_clean(r->addr, r->len, 1) || !smtp_arg_clean(r->params, r->params_len, 0)))) {
			return SMTP_E_ARG;
		}
		if (r->len > SMTP_MAX_CMD_LINE || r->params_len > SMTP_MAX_CMD_LINE
		    || 9 + r->len + 1 + (r->params_len ? 1 + r->params_len : 0) + 2 > SMTP_MAX_CMD_LINE) {
			return SMTP_E_TOO_LONG;
		}
	}
	*why = SMTP_SCHED_WHY_NONE;
	if (m->nbody && !m->body) {
		return SMTP_E_ARG;
	}
	for (i = 0; i < m->nbody; i++) {
		if (m->body[i].len && !m->body[i].data) {
			return SMTP_E_ARG;
		}
		if (m->body[i].len > (size_t)-1 - total) {
			return SMTP_E_ARG;
		}
		total += m->body[i].len;
	}
	return SMTP_OK;
}

/* ---- writing ------------------------------------------------------------ */

/* A command may be queued now: with pipelining always, else when nothing is outstanding. */
static int can_write(const smtp_sched_t *s)
{
	return s->c && !s->lost && (s->pipelining || smtp_client_pending(s->c) == 0);
}

static void decide(ent_t *e, smtp_sched_class_t cls, smtp_sched_why_t why)
{
	if (!e->decided) {
		e->decided = 1;
		e->cls = cls;
		e->why = why;
	}
}

/* Every envelope reply of e is in. */
static int envelope_answered(const ent_t *e)
{
	return e->mail_answered && e->rcpt_answered == e->m.nrcpt;
}

/* The envelope has failed for good (MAIL refused, every RCPT refused, or
 * with atomic any refused); *why tells which. */
static int envelope_failed(const ent_t *e, smtp_sched_why_t *why)
{
	if (e->mail_answered && !e->mail_ok) {
		*why = SMTP_SCHED_WHY_MAIL;
		return 1;
	}
	if (e->m.atomic && e->rcpt_ok < e->rcpt_answered) {
		*why = SMTP_SCHED_WHY_ATOMIC;
		return 1;
	}
	if (e->rcpt_answered == e->m.nrcpt && e->rcpt_ok == 0) {
		*why = SMTP_SCHED_WHY_RCPT;
		return 1;
	}
	return 0;
}

/* End the writing of e without content: RSET so the server holds nothing of it. */
static int write_reset(smtp_sched_t *s, ent_t *e)
{
	int rc = smtp_client_rset(s->c);

	if (rc != SMTP_OK) {
		return rc;
	}
	e->owed++;
	e->reset_owed = 1;
	e->stage = ST_WRITTEN;
	s->dirty = 0;
	return SMTP_OK;
}

/* Octets of a piece of the open BDAT chunk (bdat) or of the DATA content:
 * runs the client would pass unchanged go to the zero-copy writer, the rest
 * is encoded into the output. */
static int write_piece(smtp_sched_t *s, const char *p, size_t len, int bdat)
{
	const char *q;
	int rc;

	while (len > 0) {
		size_t n = 0;

		if (s->direct && len >= s->direct_min) {
			n = bdat ? smtp_client_chunk_passthrough(s->c, p, len) : smtp_client_body_passthrough(s->c, p, len);
		}
		if (n > 0) {
			if ((rc = s->direct(s->direct_ud, p, n)) != SMTP_OK) {
				return rc;
			}
		} else {
			/* up to the next run worth passing through (or all of it) */
			n = s->direct && len > SMTP_SCHED_OUT_MAX ? SMTP_SCHED_OUT_MAX : len;
			rc = bdat ? smtp_client_chunk_write(s->c, p, n) : smtp_client_body(s->c, p, n);
			if (rc != SMTP_OK) {
				return rc;
			}
			/* with a writer, the output is written as it fills (bounded memory) */
			if (s->direct && len > n && smtp_client_output(s->c, &q) >= SMTP_SCHED_OUT_MAX
			    && (rc = s->direct(s->direct_ud, NULL, 0)) != SMTP_OK) {
				return rc;
			}
		}
		p += n;
		len -= n;
	}
	return SMTP_OK;
}

static int write_content(smtp_sched_t *s, ent_t *e)
{
	int rc;

	if (s->chunking && e->m.body_fn) {
		e->stage = ST_PULL;
		e->pull_data = 0;
		return SMTP_OK;
	}
	if (s->chunking) {
		size_t i;

		if ((rc = smtp_client_chunk_open(s->c, e->m.body, e->m.nbody, 1)) != SMTP_OK) {
			return rc;
		}
		e->content = 1;
		e->owed++;
		for (i = 0; i < e->m.nbody; i++) {
			if (e->m.body[i].len && (rc = write_piece(s, e->m.body[i].data, e->m.body[i].len, 1)) != SMTP_OK) {
				return rc;
			}
		}
		e->stage = ST_WRITTEN;
		return SMTP_OK;
	}
	if ((rc = smtp_client_data(s->c)) != SMTP_OK) {
		return rc;
	}
	e->owed++;
	e->stage = ST_DATA;
	return SMTP_OK;
}

/* After the 354: the message (or, with nobody to deliver to, an empty one). */
static int write_body(smtp_sched_t *s, ent_t *e)
{
	smtp_sched_why_t why;
	int rc;

	if (envelope_failed(e, &why)) {
		decide(e, SMTP_SCHED_REFUSED, why);
	} else if (e->m.body_fn) {
		e->stage = ST_PULL;
		e->pull_data = 1;
		return SMTP_OK;
	} else {
		size_t i;

		e->content = 1;
		for (i = 0; i < e->m.nbody; i++) {
			if (e->m.body[i].len && (rc = write_piece(s, e->m.body[i].data, e->m.body[i].len, 0)) != SMTP_OK) {
				return rc;
			}
		}
	}
	if ((rc = smtp_client_body_end(s->c)) != SMTP_OK) {
		return rc;
	}
	e->owed++;
	e->stage = ST_WRITTEN;
	return SMTP_OK;
}

static size_t out_size(const smtp_sched_t *s)
{
	const char *p;

	return smtp_client_output(s->c, &p);
}

/* The pulled body failed (rc): the message ends LOCAL, nothing delivered. */
static int pull_failed(smtp_sched_t *s, ent_t *e, int rc)
{
	e->decided = 1;
	e->cls = SMTP_SCHED_LOCAL;
	e->why = SMTP_SCHED_WHY_NONE;
	e->rc = rc;
	e->stage = ST_WRITTEN;
	if (e->pull_data) {
		/* the end of data would deliver what was written: drop the connection */
		return SMTP_E_ABORTED;
	}
	/* BDAT without LAST: RSET ends the transaction */
	rc = smtp_client_rset(s->c);
	if (rc != SMTP_OK) {
		return rc;
	}
	e->owed++;
	e->reset_owed = 1;
	s->dirty = 0;
	return SMTP_OK;
}

/* Write more of a pulled body, up to SMTP_SCHED_OUT_MAX octets queued. */
static int pull(smtp_sched_t *s, ent_t *e)
{
	for (;;) {
		const char *p = NULL;
		size_t n = 0;
		int rc;

		if (e->chunk_failed) {
			/* a chunk was refused: no more chunks (RFC 3030), end the transaction */
			decide(e, SMTP_SCHED_REFUSED, SMTP_SCHED_WHY_CONTENT);
			if ((rc = smtp_client_rset(s->c)) != SMTP_OK) {
				return rc;
			}
			e->owed++;
			e->reset_owed = 1;
			e->stage = ST_WRITTEN;
			s->dirty = 0;
			return SMTP_OK;
		}
		if (out_size(s) >= SMTP_SCHED_OUT_MAX || (!e->pull_data && !can_write(s))) {
			return SMTP_OK;
		}
		rc = e->m.body_fn(e->m.ud, &p, &n);
		if (rc < 0) {
			return pull_failed(s, e, rc);
		}
		if (rc == 0) {
			/* the end */
			if (e->pull_data) {
				rc = smtp_client_body_end(s->c);
			} else {
				rc = smtp_client_bdat(s->c, "", 0, 1);
			}
			if (rc != SMTP_OK) {
				return rc;
			}
			e->owed++;
			e->content = 1;
			e->stage = ST_WRITTEN;
			return SMTP_OK;
		}
		if (n == 0) {
			continue;
		}
		if (!p) {
			return pull_failed(s, e, SMTP_E_ARG);
		}
		e->content = 1;
		if (e->pull_data) {
			rc = smtp_client_body(s->c, p, n);
		} else {
			size_t before = smtp_client_pending(s->c);

			rc = smtp_client_bdat(s->c, p, n, 0);
			if (rc == SMTP_OK && smtp_client_pending(s->c) > before) {
				/* a chunk went out (a lone LF after a CR may frame none) */
				e->owed++;
				e->chunks++;
			}
		}
		if (rc != SMTP_OK) {
			return rc;
		}
	}
}

/* With pipelining: [RSET] MAIL and every RCPT of e, one after another. */
static int write_envelope(smtp_sched_t *s, ent_t *e)
{
	unsigned i;
	int rc;

	if (e->m.liveness || s->dirty) {
		if ((rc = smtp_client_rset(s->c)) != SMTP_OK) {
			return rc;
		}
		e->front = 1;
		e->owed++;
	}
	if ((rc = smtp_client_mail(s->c, e->m.from, e->m.from_len, e->m.mail_params, e->m.mail_params_len)) != SMTP_OK) {
		return rc;
	}
	e->owed++;
	s->dirty = 1;
	s->dirty_seq = e->seq;
	for (i = 0; i < e->m.nrcpt; i++) {
		const smtp_sched_rcpt_t *r = &e->m.rcpts[i];
		if ((rc = smtp_client_rcpt(s->c, r->addr, r->len, r->params, r->params_len)) != SMTP_OK) {
			return rc;
		}
		e->next_rcpt++;
		e->owed++;
	}
	e->stage = ST_ENVELOPE;
	return SMTP_OK;
}

/* Write what may be written of the current message. SMTP_OK, or a core
 * error after which the connection cannot be trusted. */
static int pump(smtp_sched_t *s)
{
	ent_t *e;
	smtp_sched_why_t why;
	int rc;

	while (s->cur < s->count) {
		e = ent_at(s, s->cur);
		switch (e->stage) {
		case ST_NEW:
			if (s->pipelining && !e->m.atomic && !e->front) {
				/* the whole envelope at once: nothing in it waits for a reply */
				if ((rc = write_envelope(s, e)) != SMTP_OK) {
					return rc;
				}
				break;
			}
			if ((e->m.liveness || s->dirty) && !e->front) {
				if (!can_write(s)) {
					return SMTP_OK;
				}
				if ((rc = smtp_client_rset(s->c)) != SMTP_OK) {
					return rc;
				}
				e->front = 1;
				e->owed++;
				s->dirty = 0;
			}
			e->stage = ST_FRONT;
			break;
		case ST_FRONT:
			if (!can_write(s)) {
				return SMTP_OK;
			}
			if ((rc = smtp_client_mail(s->c, e->m.from, e->m.from_len, e->m.mail_params, e->m.mail_params_len)) != SMTP_OK) {
				return rc;
			}
			e->owed++;
			e->stage = ST_RCPT;
			s->dirty = 1;
			s->dirty_seq = e->seq;
			break;
		case ST_RCPT:
			if (e->mail_answered && !e->mail_ok) {
				/* without pipelining: no RCPT after a refused MAIL */
				decide(e, SMTP_SCHED_REFUSED, SMTP_SCHED_WHY_MAIL);
				e->stage = ST_WRITTEN;
				break;
			}
			if (e->next_rcpt == e->m.nrcpt) {
				e->stage = ST_ENVELOPE;
				break;
			}
			if (!can_write(s)) {
				return SMTP_OK;
			}
			{
				const smtp_sched_rcpt_t *r = &e->m.rcpts[e->next_rcpt];
				if ((rc = smtp_client_rcpt(s->c, r->addr, r->len, r->params, r->params_len)) != SMTP_OK) {
					return rc;
				}
			}
			e->next_rcpt++;
			e->owed++;
			break;
		case ST_ENVELOPE:
			if (e->m.atomic || !s->pipelining) {
				/* the content only once every envelope reply is in */
				if (!envelope_answered(e)) {
					return SMTP_OK;
				}
				if (envelope_failed(e, &why)) {
					decide(e, SMTP_SCHED_REFUSED, why);
					if (!can_write(s)) {
						return SMTP_OK;
					}
					if ((rc = write_reset(s, e)) != SMTP_OK) {
						return rc;
					}
					break;
				}
			}
			if (!can_write(s)) {
				return SMTP_OK;
			}
			if ((rc = write_content(s, e)) != SMTP_OK) {
				return rc;
			}
			break;
		case ST_DATA:
			/* the body goes when the 354 arrives (smtp_sched_event) */
			return SMTP_OK;
		case ST_PULL:
			if ((rc = pull(s, e)) != SMTP_OK) {
				return rc;
			}
			if (e->stage == ST_PULL) {
				return SMTP_OK;
			}
			break;
		case ST_WRITTEN:
		default:
			s->cur++;
			break;
		}
	}
	return SMTP_OK;
}

int smtp_sched_wants_write(const smtp_sched_t *s)
{
	const ent_t *e;

	if (s->lost || !s->c || s->cur >= s->count) {
		return 0;
	}
	e = &s->ring[(s->head + s->cur) & (s->cap - 1)];
	/* more of a pulled body, and nothing but the driver's writing holds it back */
	return e->stage == ST_PULL && (e->pull_data || e->chunk_failed || can_write(s));
}

int smtp_sched_pump(smtp_sched_t *s)
{
	if (s->lost || !s->c) {
		return SMTP_E_CLOSED;
	}
	return pump(s);
}

int smtp_sched_can_submit(const smtp_sched_t *s)
{
	if (s->lost || !s->c || s->cur < s->count || s->count >= s->window) {
		return 0;
	}
	if (!s->pipelining && smtp_client_pending(s->c) > 0) {
		return 0;
	}
	return 1;
}

static int ring_grow(smtp_sched_t *s)
{
	size_t ncap = s->cap * 2, i;
	ent_t *n;

	if (ncap > ((size_t)-1) / sizeof(*n)) {
		return SMTP_E_NOMEM;
	}
	n = smtp_malloc(ncap * sizeof(*n));
	if (!n) {
		return SMTP_E_NOMEM;
	}
	for (i = 0; i < s->count; i++) {
		n[i] = *ent_at(s, i);
	}
	smtp_free(s->ring);
	s->ring = n;
	s->cap = ncap;
	s->head = 0;
	return SMTP_OK;
}

int smtp_sched_submit(smtp_sched_t *s, const smtp_sched_msg_t *m)
{
	ent_t *e;
	smtp_sched_why_t why;
	int rc;

	if (!smtp_sched_can_submit(s)) {
		return SMTP_E_STATE;
	}
	if (s->count == s->cap && (rc = ring_grow(s)) != SMTP_OK) {
		return rc;
	}
	e = ent_at(s, s->count);
	memset(e, 0, sizeof(*e));
	e->m = *m;
	s->count++;
	e->seq = ++s->seq;
	if ((rc = check_msg(m, &why)) != SMTP_OK) {
		e->decided = 1;
		e->cls = SMTP_SCHED_LOCAL;
		e->why = why;
		e->rc = rc;
		e->stage = ST_WRITTEN;
		s->cur = s->count;
		return SMTP_OK;
	}
	return pump(s);
}

/* ---- replies ------------------------------------------------------------ */

static void report(smtp_sched_t *s, ent_t *e, smtp_sched_reply_t what, unsigned index, const smtp_event_t *ev)
{
	if (s->fn) {
		s->fn(s->fn_ud, e->m.ud, what, index, ev);
	}
}

int smtp_sched_event(smtp_sched_t *s, const smtp_event_t *ev)
{
	ent_t *e = NULL;
	smtp_sched_why_t why;
	int rc;

	if (s->lost || !s->c) {
		return SMTP_E_CLOSED;
	}
	if (ev->cmd == SMTP_CMD_NONE) {
		/* unsolicited: only a 421 is, and it ends the connection */
		return SMTP_E_CLOSED;
	}
	/* the oldest message that still owes replies: nearly always the head */
	if (s->count > 0 && s->ring[s->head].owed > 0) {
		e = &s->ring[s->head];
	} else {
		size_t i;
		for (i = 1; i < s->count; i++) {
			if (ent_at(s, i)->owed > 0) {
				e = ent_at(s, i);
				break;
			}
		}
	}
	if (!e) {
		return ev->closing ? SMTP_E_CLOSED : SMTP_E_UNEXPECTED;
	}
	e->owed--;
	switch (ev->cmd) {
	case SMTP_CMD_RSET:
		if (e->front && !e->front_answered) {
			e->front_answered = 1;
			e->front_gone = ev->reply->code == 421;
			report(s, e, SMTP_SCHED_R_FRONT, 0, ev);
		} else {
			e->reset_owed = 0;
			report(s, e, SMTP_SCHED_R_RESET, 0, ev);
		}
		break;
	case SMTP_CMD_MAIL:
		e->mail_answered = 1;
		e->mail_ok = ev->ok != 0;
		report(s, e, SMTP_SCHED_R_MAIL, 0, ev);
		if (!ev->ok) {
			decide(e, SMTP_SCHED_REFUSED, SMTP_SCHED_WHY_MAIL);
		}
		break;
	case SMTP_CMD_RCPT:
		e->rcpt_answered++;
		if (ev->ok) {
			e->rcpt_ok++;
		}
		report(s, e, SMTP_SCHED_R_RCPT, e->rcpt_answered - 1, ev);
		break;
	case SMTP_CMD_DATA:
		report(s, e, SMTP_SCHED_R_DATA, 0, ev);
		if (ev->ok && !ev->closing) {
			if (e->stage != ST_DATA) {
				return SMTP_E_UNEXPECTED;
			}
			if ((rc = write_body(s, e)) != SMTP_OK) {
				return rc;
			}
		} else {
			if (!envelope_failed(e, &why)) {
				why = SMTP_SCHED_WHY_DATA;
			}
			decide(e, SMTP_SCHED_REFUSED, why);
			e->stage = ST_WRITTEN;
			if (!ev->closing && envelope_answered(e) && e->mail_ok) {
				/* the server may still hold the envelope */
				if ((rc = write_reset(s, e)) != SMTP_OK) {
					return rc;
				}
			}
		}
		break;
	case SMTP_CMD_BDAT:
		if (!ev->last) {
			report(s, e, SMTP_SCHED_R_CHUNK, ev->index, ev);
			if (!ev->ok) {
				e->chunk_failed = 1;
				if (!envelope_failed(e, &why)) {
					why = SMTP_SCHED_WHY_CONTENT;
				}
				decide(e, SMTP_SCHED_REFUSED, why);
			}
			break;
		}
		/* fall through */
	case SMTP_CMD_DOT:
		report(s, e, SMTP_SCHED_R_FINAL, 0, ev);
		if (ev->ok && !envelope_failed(e, &why) && e->rcpt_ok > 0) {
			decide(e, SMTP_SCHED_ACCEPTED, SMTP_SCHED_WHY_NONE);
			if (s->dirty && s->dirty_seq == e->seq) {
				/* the last MAIL written ended in a success: nothing held */
				s->dirty = 0;
			}
		} else {
			if (!envelope_failed(e, &why)) {
				why = SMTP_SCHED_WHY_CONTENT;
			}
			decide(e, SMTP_SCHED_REFUSED, why);
		}
		break;
	default:
		return SMTP_E_UNEXPECTED;
	}
	if (ev->closing) {
		return SMTP_E_CLOSED;
	}
	/* a message waiting for its 354 cannot move on before it */
	if (s->cur < s->count && ent_at(s, s->cur)->stage != ST_DATA) {
		return pump(s);
	}
	return SMTP_OK;
}

int smtp_sched_feed(smtp_sched_t *s, const char *data, size_t len, size_t *consumed)
{
	smtp_event_t ev;
	int rc;

	*consumed = 0;
	if (s->lost || !s->c) {
		return SMTP_E_CLOSED;
	}
	rc = smtp_client_feed(s->c, data, len, consumed, &ev);
	if (rc != 1) {
		return rc;
	}
	rc = smtp_sched_event(s, &ev);
	return rc == SMTP_OK ? 1 : rc;
}

void smtp_sched_lost(smtp_sched_t *s)
{
	size_t i, first_owing = s->count;
	int gone = 0;

	if (s->lost) {
		return;
	}
	s->lost = 1;
	s->c = NULL;
	for (i = 0; i < s->count; i++) {
		if (ent_at(s, i)->owed > 0) {
			first_owing = i;
			break;
		}
	}
	if (first_owing < s->count) {
		ent_t *e = ent_at(s, first_owing);
		/* the liveness RSET in front had no answer, or 421, and nothing before it was outstanding */
		gone = e->m.liveness && e->front && (!e->front_answered || e->front_gone);
	}
	for (i = 0; i < s->count; i++) {
		ent_t *e = ent_at(s, i);
		smtp_sched_why_t why;

		if (gone && i >= first_owing && !(e->decided && e->cls == SMTP_SCHED_LOCAL)) {
			/* nothing behind the unanswered liveness RSET was taken */
			e->decided = 0;
			decide(e, SMTP_SCHED_REPLAY, SMTP_SCHED_WHY_NONE);
		} else if (e->decided) {
			/* known already */
		} else if (e->stage == ST_PULL) {
			/* its end never went out: not delivered, and it cannot be pulled again */
			e->decided = 1;
			e->cls = SMTP_SCHED_LOCAL;
			e->rc = SMTP_E_CLOSED;
		} else if (e->content) {
			if (envelope_failed(e, &why)) {
				decide(e, SMTP_SCHED_REFUSED, why);
			} else {
				decide(e, SMTP_SCHED_MAYBE, SMTP_SCHED_WHY_NONE);
			}
		} else {
			decide(e, SMTP_SCHED_REPLAY, SMTP_SCHED_WHY_NONE);
		}
		e->owed = 0;
		e->stage = ST_WRITTEN;
	}
	s->cur = s->count;
}

smtp_sched_step_t smtp_sched_step(const smtp_sched_t *s)
{
	const ent_t *e;

	if (s->count == 0 || s->lost || !s->c) {
		return SMTP_SCHED_STEP_IDLE;
	}
	if (s->cur < s->count) {
		/* as smtp_sched_wants_write() */
		e = &s->ring[(s->head + s->cur) & (s->cap - 1)];
		if (e->stage == ST_PULL && (e->pull_data || e->chunk_failed || can_write(s))) {
			return SMTP_SCHED_STEP_WRITE;
		}
	}
	if (smtp_client_pending(s->c) > 0) {
		return SMTP_SCHED_STEP_READ;
	}
	e = &s->ring[s->head];
	if (e->decided && e->owed == 0 && e->stage == ST_WRITTEN) {
		return SMTP_SCHED_STEP_POP;
	}
	return SMTP_SCHED_STEP_IDLE;
}

int smtp_sched_pop(smtp_sched_t *s, smtp_sched_outcome_t *out)
{
	ent_t *e;

	if (s->count == 0) {
		return 0;
	}
	e = ent_at(s, 0);
	if (!e->decided || e->owed > 0 || e->stage != ST_WRITTEN) {
		return 0;
	}
	out->ud = e->m.ud;
	out->cls = e->cls;
	out->why = e->why;
	out->rc = e->rc;
	out->rcpt_accepted = e->rcpt_ok;
	out->content_written = e->content;
	s->head = (s->head + 1) & (s->cap - 1);
	s->count--;
	if (s->cur > 0) {
		s->cur--;
	}
	return 1;
}
