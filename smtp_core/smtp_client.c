/*
 * smtp_client: the SMTP client state machine. See smtp_client.h.
 *
 * Every state change goes through set_state(); every command line goes out
 * through emit(), the one place that checks arguments and line length.
 */
#include <string.h>
#include <stdio.h>

#include "smtp_client.h"

/* One command whose reply is outstanding. */
typedef struct {
	unsigned char cmd;      /* smtp_cmd_t */
	unsigned char last;     /* BDAT LAST */
	unsigned char barrier;  /* nothing may follow until its reply arrives */
	unsigned index;         /* RCPT / BDAT ordinal */
	unsigned tx;            /* the transaction it belongs to (smtp_client.tx when sent) */
} smtp_pending_t;

struct smtp_client {
	smtp_state_t st;
	int error;               /* sticky fatal error */
	int pipelining;          /* caller allows several commands in flight */
	int esmtp;               /* EHLO accepted */
	int tls;                 /* TLS handshake done */
	int secret_out;          /* out has carried AUTH secrets: wipe what is consumed or freed */

	smtp_reply_parser_t parser;
	smtp_caps_t caps;
	smtp_buf_t out;          /* bytes for the server */
	smtp_data_enc_t enc;     /* message encoder for DATA / BDAT */

	smtp_pending_t *pend;    /* ring of outstanding commands */
	size_t pend_head, pend_count, pend_cap;
	size_t barriers;         /* outstanding commands that must be answered first */

	/* the open transaction; tx counts transactions begun (MAIL, RSET): a
	 * reply to a command of an earlier one (pipelined across transactions)
	 * leaves the open one alone */
	unsigned tx;
	unsigned rcpt_sent, rcpt_accepted, rcpt_answered, bdat_sent;
	int mail_failed;         /* MAIL refused */
	int bdat_failed;         /* a BDAT chunk refused */

	/* the open BDAT chunk (state CHUNK) */
	size_t chunk_in;                 /* octets of its pieces still to be given */
	unsigned long long chunk_end;    /* enc.out_bytes once it is complete */
	int chunk_last;                  /* it is the LAST chunk */

	char *helo;              /* domain of the last EHLO/HELO, for EHLO after STARTTLS */
	size_t helo_len;

	smtp_trace_fn trace;
	void *trace_ud;
};

static const char *const state_names[SMTP_ST__COUNT] = {
	"GREETING", "GREETED", "READY", "TLS", "AUTH", "MAIL", "RCPT", "DATA",
	"BODY", "DOT", "BDAT", "BDAT_LAST", "QUIT", "CLOSED", "CHUNK"
};

static const char *const cmd_names[SMTP_CMD__COUNT] = {
	"greeting", "EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA",
	"end of data", "BDAT", "RSET", "VRFY", "NOOP", "QUIT", "none"
};

#define ST(s) (1u << (s))

const char *smtp_state_name(smtp_state_t st)
{
	return (unsigned)st < SMTP_ST__COUNT ? state_names[st] : "?";
}

const char *smtp_cmd_name(smtp_cmd_t cmd)
{
	return (unsigned)cmd < SMTP_CMD__COUNT ? cmd_names[cmd] : "?";
}

/* The one function that changes state. */
static void set_state(smtp_client_t *c, smtp_state_t st)
{
	c->st = st;
}

static void tx_reset(smtp_client_t *c)
{
	c->rcpt_sent = c->rcpt_accepted = c->rcpt_answered = c->bdat_sent = 0;
	c->mail_failed = c->bdat_failed = 0;
}

static int fail(smtp_client_t *c, int err)
{
	if (!c->error) {
		c->error = err;
	}
	set_state(c, SMTP_ST_CLOSED);
	return c->error;
}

static void trace(smtp_client_t *c, int dir, const char *line, size_t len)
{
	if (c->trace) {
		c->trace(c->trace_ud, dir, line, len);
	}
}

static int pend_push(smtp_client_t *c, smtp_cmd_t cmd, unsigned index, int last, int barrier)
{
	smtp_pending_t *p;

	if (c->pend_count == c->pend_cap) {
		size_t ncap = c->pend_cap ? c->pend_cap * 2 : 16, i;
		smtp_pending_t *n;

		if (ncap > ((size_t)-1) / sizeof(*n)) {
			return SMTP_E_NOMEM;
		}
		n = smtp_malloc(ncap * sizeof(*n));
		if (!n) {
			return SMTP_E_NOMEM;
		}
		for (i = 0; i < c->pend_count; i++) {
			n[i] = c->pend[(c->pend_head + i) % c->pend_cap];
		}
		smtp_free(c->pend);
		c->pend = n;
		c->pend_cap = ncap;
		c->pend_head = 0;
	}
	p = &c->pend[(c->pend_head + c->pend_count) % c->pend_cap];
	p->cmd = (unsigned char)cmd;
	p->index = index;
	p->last = (unsigned char)(last != 0);
	p->barrier = (unsigned char)(barrier != 0);
	p->tx = c->tx;
	c->pend_count++;
	if (barrier) {
		c->barriers++;
	}
	return SMTP_OK;
}

static smtp_pending_t pend_pop(smtp_client_t *c)
{
	smtp_pending_t p = c->pend[c->pend_head];

	c->pend_head = (c->pend_head + 1) % c->pend_cap;
	c->pend_count--;
	if (p.barrier) {
		c->barriers--;
	}
	return p;
}

/* Overwrite n octets so that no copy of a secret outlives its use. */
static void wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n--) {
		*v++ = 0;
	}
}

smtp_client_t *smtp_client_new(void)
{
	smtp_client_t *c = smtp_malloc(sizeof(*c));

	if (!c) {
		return NULL;
	}
	memset(c, 0, sizeof(*c));
	smtp_reply_parser_init(&c->parser);
	smtp_caps_init(&c->caps);
	smtp_buf_init(&c->out);
	set_state(c, SMTP_ST_GREETING);
	/* The greeting answers the connection: nothing may be sent before it. */
	if (pend_push(c, SMTP_CMD_GREETING, 0, 0, 1) != SMTP_OK) {
		smtp_client_free(c);
		return NULL;
	}
	return c;
}

int smtp_client_resume(smtp_client_t *c, const char *ehlo_text, size_t len, int tls)
{
	smtp_reply_parser_t p;
	size_t used = 0;
	int rc = SMTP_OK;

	if (c->error || c->st != SMTP_ST_GREETING || c->pend_count != 1 || smtp_buf_size(&c->out)) {
		return SMTP_E_STATE;
	}
	if (len) {
		char *buf = smtp_malloc(len + 2);
		if (!buf) {
			return SMTP_E_NOMEM;
		}
		/* the stored text joins lines with LF: feed it back as CRLF lines */
		memcpy(buf, ehlo_text, len);
		buf[len] = '\r';
		buf[len + 1] = '\n';
		if (memchr(buf, '\r', len) != NULL) {
			rc = SMTP_E_SYNTAX;
		}
		smtp_reply_parser_init(&p);
		if (rc == SMTP_OK) {
			rc = smtp_reply_parser_feed(&p, buf, len + 2, &used);
			if (rc == 1 && used == len + 2 && p.reply.code == 250) {
				rc = smtp_caps_parse(&c->caps, &p.reply);
			} else if (rc >= 0) {
				rc = SMTP_E_SYNTAX;
			}
		}
		smtp_reply_parser_free(&p);
		smtp_free(buf);
		if (rc != SMTP_OK) {
			return rc;
		}
		c->esmtp = 1;
	}
	pend_pop(c);
	c->tls = tls != 0;
	set_state(c, SMTP_ST_READY);
	return SMTP_OK;
}

void smtp_client_free(smtp_client_t *c)
{
	if (!c) {
		return;
	}
	smtp_reply_parser_free(&c->parser);
	smtp_caps_free(&c->caps);
	if (c->secret_out && c->out.data) {
		wipe(c->out.data, c->out.cap);
	}
	smtp_buf_free(&c->out);
	smtp_free(c->pend);
	smtp_free(c->helo);
	smtp_free(c);
}

void smtp_client_set_trace(smtp_client_t *c, smtp_trace_fn fn, void *ud)
{
	c->trace = fn;
	c->trace_ud = ud;
}

void smtp_client_set_pipelining(smtp_client_t *c, int on)
{
	c->pipelining = on != 0;
}

smtp_state_t smtp_client_state(const smtp_client_t *c) { return c->st; }
int smtp_client_error(const smtp_client_t *c) { return c->error; }
size_t smtp_client_pending(const smtp_client_t *c) { return c->pend_count; }
smtp_cmd_t smtp_client_awaiting(const smtp_client_t *c)
{
	return c->pend_count ? (smtp_cmd_t)c->pend[c->pend_head].cmd : SMTP_CMD_NONE;
}
const smtp_caps_t *smtp_client_caps(const smtp_client_t *c) { return &c->caps; }
int smtp_client_esmtp(const smtp_client_t *c) { return c->esmtp; }
int smtp_client_tls_active(const smtp_client_t *c) { return c->tls; }
unsigned smtp_client_rcpt_sent(const smtp_client_t *c) { return c->rcpt_sent; }
unsigned smtp_client_rcpt_accepted(const smtp_client_t *c) { return c->rcpt_accepted; }
unsigned smtp_client_rcpt_answered(const smtp_client_t *c) { return c->rcpt_answered; }

int smtp_client_mid_reply(const smtp_client_t *c)
{
	return smtp_reply_parser_busy(&c->parser);
}

size_t smtp_client_output(smtp_client_t *c, const char **data)
{
	*data = c->out.data ? c->out.data + c->out.off : "";
	return smtp_buf_size(&c->out);
}

void smtp_client_output_consumed(smtp_client_t *c, size_t n)
{
	if (c->secret_out && n) {
		wipe(c->out.data + c->out.off, n);
	}
	smtp_buf_consume(&c->out, n);
}

/* ---- the choke point for everything sent ------------------------------- */

typedef struct {
	const char *p;
	size_t len;
} part_t;

#define ARG_PLAIN 0
#define ARG_PATH  1   /* a mail path: '<' and '>' refused as well */

/* SMTP_OK when the argument carries no NUL, CR or LF (nor '<', '>' in a path). */
static int check_arg(const char *p, size_t len, int kind)
{
	return smtp_arg_clean(p, len, kind == ARG_PATH) ? SMTP_OK : SMTP_E_ARG;
}

/* Gate every verb: sticky errors, the allowed states, and commands in flight. */
static int gate(const smtp_client_t *c, unsigned allowed)
{
	if (c->error) {
		return c->error;
	}
	if (c->st == SMTP_ST_CLOSED) {
		return SMTP_E_CLOSED;
	}
	if (!(allowed & ST(c->st))) {
		return SMTP_E_STATE;
	}
	if (c->barriers || (c->pend_count && !c->pipelining)) {
		return SMTP_E_STATE;
	}
	return SMTP_OK;
}

/*
 * Queue one command line made of parts, CRLF added, and remember which reply
 * answers it. The trace shows trace_text instead of the line when given.
 */
static int emit(smtp_client_t *c, smtp_cmd_t cmd, unsigned index, int last, int barrier,
                size_t max_line, const part_t *parts, size_t nparts, const char *trace_text)
{
	size_t i, total = 2;
	size_t start;
	int rc;

	for (i = 0; i < nparts; i++) {
		if (parts[i].len > max_line) {
			return SMTP_E_TOO_LONG;
		}
		total += parts[i].len;
	}
	if (total > max_line) {
		return SMTP_E_TOO_LONG;
	}
	if ((rc = smtp_buf_reserve(&c->out, total)) != SMTP_OK) {
		return rc;
	}
	start = c->out.len;
	for (i = 0; i < nparts; i++) {
		if (parts[i].len) {
			memcpy(c->out.data + c->out.len, parts[i].p, parts[i].len);
			c->out.len += parts[i].len;
		}
	}
	if ((rc = pend_push(c, cmd, index, last, barrier)) != SMTP_OK) {
		c->out.len = start;
		return rc;
	}
	if (c->trace) {
		if (trace_text) {
			trace(c, '>', trace_text, strlen(trace_text));
		} else {
			trace(c, '>', c->out.data + start, c->out.len - start);
		}
	}
	c->out.data[c->out.len++] = '\r';
	c->out.data[c->out.len++] = '\n';
	return SMTP_OK;
}

static int simple(smtp_client_t *c, smtp_cmd_t cmd, const char *verb, unsigned allowed, int barrier)
{
	part_t part;
	int rc = gate(c, allowed);

	if (rc != SMTP_OK) {
		return rc;
	}
	part.p = verb;
	part.len = strlen(verb);
	return emit(c, cmd, 0, 0, barrier, SMTP_MAX_CMD_LINE, &part, 1, NULL);
}

/* ---- verbs --------------------------------------------------------------- */

static int hello(smtp_client_t *c, smtp_cmd_t cmd, const char *domain, size_t len)
{
	part_t parts[2];
	char *copy;
	int rc = gate(c, ST(SMTP_ST_GREETED) | ST(SMTP_ST_READY));

	if (rc != SMTP_OK) {
		return rc;
	}
	if (len == 0 || check_arg(domain, len, ARG_PLAIN) != SMTP_OK) {
		return SMTP_E_ARG;
	}
	parts[0].p = cmd == SMTP_CMD_EHLO ? "EHLO " : "HELO ";
	parts[0].len = 5;
	parts[1].p = domain;
	parts[1].len = len;
	if (c->helo && c->helo_len == len && memcmp(c->helo, domain, len) == 0) {
		copy = NULL;
	} else {
		if (!(copy = smtp_malloc(len + 1))) {
			return SMTP_E_NOMEM;
		}
		memcpy(copy, domain, len);
		copy[len] = '\0';
	}
	if ((rc = emit(c, cmd, 0, 0, 1, SMTP_MAX_CMD_LINE, parts, 2, NULL)) != SMTP_OK) {
		smtp_free(copy);
		return rc;
	}
	if (copy) {
		smtp_free(c->helo);
		c->helo = copy;
		c->helo_len = len;
	}
	return SMTP_OK;
}

int smtp_client_ehlo(smtp_client_t *c, const char *domain, size_t len)
{
	return hello(c, SMTP_CMD_EHLO, domain, len);
}

int smtp_client_helo(smtp_client_t *c, const char *domain, size_t len)
{
	return hello(c, SMTP_CMD_HELO, domain, len);
}

int smtp_client_starttls(smtp_client_t *c)
{
	if (c->tls && !c->error && c->st != SMTP_ST_CLOSED) {
		return SMTP_E_STATE;
	}
	return simple(c, SMTP_CMD_STARTTLS, "STARTTLS", ST(SMTP_ST_READY), 1);
}

int smtp_client_tls_done(smtp_client_t *c)
{
	part_t parts[2];

	if (c->error) {
		return c->error;
	}
	if (c->st != SMTP_ST_TLS || !c->helo) {
		return SMTP_E_STATE;
	}
	/* Nothing learnt before the handshake is trusted after it. */
	smtp_caps_free(&c->caps);
	c->esmtp = 0;
	c->tls = 1;
	set_state(c, SMTP_ST_GREETED);
	parts[0].p = "EHLO ";
	parts[0].len = 5;
	parts[1].p = c->helo;
	parts[1].len = c->helo_len;
	return emit(c, SMTP_CMD_EHLO, 0, 0, 1, SMTP_MAX_CMD_LINE, parts, 2, NULL);
}

static int with_params(part_t *parts, size_t *n, const char *params, size_t params_len)
{
	if (params_len) {
		if (check_arg(params, params_len, ARG_PLAIN) != SMTP_OK) {
			return SMTP_E_ARG;
		}
		parts[*n].p = " ";
		parts[*n].len = 1;
		(*n)++;
		parts[*n].p = params;
		parts[*n].len = params_len;
		(*n)++;
	}
	return SMTP_OK;
}

int smtp_client_mail(smtp_client_t *c, const char *from, size_t from_len, const char *params, size_t params_len)
{
	part_t parts[5];
	size_t n = 0;
	int rc = gate(c, ST(SMTP_ST_READY) | (c->pipelining ? ST(SMTP_ST_DOT) | ST(SMTP_ST_BDAT_LAST) : 0));

	if (rc != SMTP_OK) {
		return rc;
	}
	if (check_arg(from, from_len, ARG_PATH) != SMTP_OK) {
		return SMTP_E_ARG;
	}
	parts[n].p = "MAIL FROM:<"; parts[n++].len = 11;
	parts[n].p = from; parts[n++].len = from_len;
	parts[n].p = ">"; parts[n++].len = 1;
	if (with_params(parts, &n, params, params_len) != SMTP_OK) {
		return SMTP_E_ARG;
	}
	c->tx++;
	if ((rc = emit(c, SMTP_CMD_MAIL, 0, 0, 0, SMTP_MAX_CMD_LINE, parts, n, NULL)) != SMTP_OK) {
		c->tx--;
		return rc;
	}
	tx_reset(c);
	set_state(c, SMTP_ST_MAIL);
	return SMTP_OK;
}

int smtp_client_rcpt(smtp_client_t *c, const char *to, size_t to_len, const char *params, size_t params_len)
{
	part_t parts[5];
	size_t n = 0;
	int rc = gate(c, ST(SMTP_ST_MAIL) | ST(SMTP_ST_RCPT));

	if (rc != SMTP_OK) {
		return rc;
	}
	if (c->mail_failed) {
		return SMTP_E_STATE;
	}
	if (to_len == 0 || check_arg(to, to_len, ARG_PATH) != SMTP_OK) {
		return SMTP_E_ARG;
	}
	parts[n].p = "RCPT TO:<"; parts[n++].len = 9;
	parts[n].p = to; parts[n++].len = to_len;
	parts[n].p = ">"; parts[n++].len = 1;
	if (with_params(parts, &n, params, params_len) != SMTP_OK) {
		return SMTP_E_ARG;
	}
	if ((rc = emit(c, SMTP_CMD_RCPT, c->rcpt_sent, 0, 0, SMTP_MAX_CMD_LINE, parts, n, NULL)) != SMTP_OK) {
		return rc;
	}
	c->rcpt_sent++;
	set_state(c, SMTP_ST_RCPT);
	return SMTP_OK;
}

/* A message may start: a recipient may still be accepted, MAIL not refused. */
static int can_send_message(const smtp_client_t *c)
{
	if (c->mail_failed) {
		return 0;
	}
	return c->rcpt_accepted > 0 || c->rcpt_answered < c->rcpt_sent;
}

int smtp_client_data(smtp_client_t *c)
{
	int rc = gate(c, ST(SMTP_ST_RCPT));

	if (rc != SMTP_OK) {
		return rc;
	}
	if (!can_send_message(c)) {
		return SMTP_E_STATE;
	}
	if ((rc = simple(c, SMTP_CMD_DATA, "DATA", ST(SMTP_ST_RCPT), 0)) != SMTP_OK) {
		return rc;
	}
	set_state(c, SMTP_ST_DATA);
	return SMTP_OK;
}

int smtp_client_body(smtp_client_t *c, const char *data, size_t len)
{
	int rc = gate(c, ST(SMTP_ST_BODY));

	if (rc != SMTP_OK) {
		return rc;
	}
	return smtp_data_enc_write(&c->enc, &c->out, data, len);
}

size_t smtp_client_body_passthrough(smtp_client_t *c, const char *data, size_t len)
{
	if (gate(c, ST(SMTP_ST_BODY)) != SMTP_OK) {
		return 0;
	}
	return smtp_data_enc_passthrough(&c->enc, data, len);
}

int smtp_client_body_end(smtp_client_t *c)
{
	size_t before;
	int rc = gate(c, ST(SMTP_ST_BODY));

	if (rc != SMTP_OK) {
		return rc;
	}
	before = c->out.len;
	if ((rc = smtp_data_enc_finish(&c->enc, &c->out)) != SMTP_OK) {
		return rc;
	}
	if ((rc = pend_push(c, SMTP_CMD_DOT, 0, 0, 0)) != SMTP_OK) {
		c->out.len = before;
		return rc;
	}
	if (c->trace) {
		char line[64];
		snprintf(line, sizeof(line), "[message: %llu octets]", c->enc.in_bytes);
		trace(c, '>', line, strlen(line));
		trace(c, '>', ".", 1);
	}
	set_state(c, SMTP_ST_DOT);
	return SMTP_OK;
}

/* ---- BDAT ---------------------------------------------------------------- */

/* The encoder's state once it has taken len octets ending with p[len - 1]
 * (BDAT does no dot-stuffing, so the last octet tells it all). */
static void enc_advance(smtp_data_enc_t *e, const char *p, size_t len)
{
	if (len) {
		char last = p[len - 1];
		e->after_cr = last == '\r';
		e->line_start = last == '\r' || last == '\n';
	}
}

/* The encoder the next chunk starts from: the message's, or a new one for
 * the first chunk. */
static void chunk_encoder(const smtp_client_t *c, smtp_data_enc_t *e)
{
	if (c->st == SMTP_ST_BDAT || c->st == SMTP_ST_CHUNK) {
		*e = c->enc;
	} else {
		smtp_data_enc_init(e, 0);
	}
}

unsigned long long smtp_client_chunk_size(const smtp_client_t *c, const smtp_piece_t *pieces, size_t n, int last)
{
	smtp_data_enc_t e;
	unsigned long long size = 0;
	size_t i;

	chunk_encoder(c, &e);
	for (i = 0; i < n; i++) {
		size += smtp_data_enc_size(&e, pieces[i].data, pieces[i].len, 0);
		enc_advance(&e, pieces[i].data, pieces[i].len);
	}
	if (last) {
		size += smtp_data_enc_size(&e, "", 0, 1);
	}
	return size;
}

/* The chunk's octets have all been given: end the message with last. */
static int chunk_complete(smtp_client_t *c)
{
	if (c->chunk_last) {
		int rc = smtp_data_enc_finish(&c->enc, &c->out);
		if (rc != SMTP_OK) {
			return rc;
		}
	}
	if (c->enc.out_bytes != c->chunk_end) {
		return SMTP_E_ARG;
	}
	c->bdat_sent++;
	set_state(c, c->chunk_last ? SMTP_ST_BDAT_LAST : SMTP_ST_BDAT);
	return SMTP_OK;
}

int smtp_client_chunk_open(smtp_client_t *c, const smtp_piece_t *pieces, size_t n, int last)
{
	char head[48];
	part_t part;
	unsigned long long size;
	size_t total = 0, i;
	int rc = gate(c, ST(SMTP_ST_RCPT) | ST(SMTP_ST_BDAT));

	if (rc != SMTP_OK) {
		return rc;
	}
	if (c->st == SMTP_ST_RCPT ? !can_send_message(c) : c->bdat_failed) {
		return SMTP_E_STATE;
	}
	for (i = 0; i < n; i++) {
		if (pieces[i].len > (size_t)-1 - total) {
			return SMTP_E_ARG;
		}
		total += pieces[i].len;
	}
	size = smtp_client_chunk_size(c, pieces, n, last);
	if (size == 0 && !last) {
		return SMTP_E_ARG;
	}
	part.p = head;
	part.len = (size_t)snprintf(head, sizeof(head), "BDAT %llu%s", size, last ? " LAST" : "");
	if ((rc = emit(c, SMTP_CMD_BDAT, c->bdat_sent, last, 0, SMTP_MAX_CMD_LINE, &part, 1, NULL)) != SMTP_OK) {
		return rc;
	}
	if (c->st == SMTP_ST_RCPT) {
		smtp_data_enc_init(&c->enc, 0);
	}
	c->chunk_in = total;
	c->chunk_end = c->enc.out_bytes + size;
	c->chunk_last = last != 0;
	set_state(c, SMTP_ST_CHUNK);
	if (total == 0 && (rc = chunk_complete(c)) != SMTP_OK) {
		/* only the final line end of a LAST chunk: cannot fail but for memory */
		return fail(c, rc);
	}
	return SMTP_OK;
}

/* Gate for the octets of the open chunk: replies may be outstanding (the
 * BDAT itself), pipelining or not. */
static int chunk_gate(const smtp_client_t *c)
{
	if (c->error) {
		return c->error;
	}
	if (c->st == SMTP_ST_CLOSED) {
		return SMTP_E_CLOSED;
	}
	return c->st == SMTP_ST_CHUNK ? SMTP_OK : SMTP_E_STATE;
}

int smtp_client_chunk_write(smtp_client_t *c, const char *data, size_t len)
{
	smtp_data_enc_t saved = c->enc;
	size_t live = smtp_buf_size(&c->out);
	int rc = chunk_gate(c);

	if (rc != SMTP_OK) {
		return rc;
	}
	if (len > c->chunk_in) {
		return SMTP_E_ARG;
	}
	rc = smtp_data_enc_write(&c->enc, &c->out, data, len);
	if (rc == SMTP_OK && c->enc.out_bytes > c->chunk_end) {
		rc = SMTP_E_ARG;
	}
	if (rc == SMTP_OK && len == c->chunk_in) {
		c->chunk_in = 0;
		if ((rc = chunk_complete(c)) != SMTP_OK) {
			c->chunk_in = len;
			set_state(c, SMTP_ST_CHUNK);
		}
	} else if (rc == SMTP_OK) {
		c->chunk_in -= len;
	}
	if (rc != SMTP_OK) {
		/* queue nothing of a write that failed */
		c->out.len = c->out.off + live;
		c->enc = saved;
		/* octets other than the ones framed: the frame cannot be kept */
		return rc == SMTP_E_ARG ? fail(c, rc) : rc;
	}
	return SMTP_OK;
}

size_t smtp_client_chunk_passthrough(smtp_client_t *c, const char *data, size_t len)
{
	smtp_data_enc_t saved = c->enc;
	size_t n;

	if (chunk_gate(c) != SMTP_OK) {
		return 0;
	}
	if (len > c->chunk_in) {
		len = c->chunk_in;
	}
	n = smtp_data_enc_passthrough(&c->enc, data, len);
	if (n == 0) {
		return 0;
	}
	if (c->enc.out_bytes > c->chunk_end) {
		c->enc = saved;
		fail(c, SMTP_E_ARG);
		return 0;
	}
	c->chunk_in -= n;
	/* complete lines only: a LAST chunk's end adds nothing after them */
	if (c->chunk_in == 0 && chunk_complete(c) != SMTP_OK) {
		c->enc = saved;
		c->chunk_in = n;
		fail(c, SMTP_E_ARG);
		return 0;
	}
	return n;
}

unsigned long long smtp_client_chunk_left(const smtp_client_t *c)
{
	return c->st == SMTP_ST_CHUNK ? c->chunk_in : 0;
}

int smtp_client_bdat(smtp_client_t *c, const char *data, size_t len, int last)
{
	smtp_piece_t piece;
	unsigned long long size;
	size_t live, pending;
	unsigned bdat_sent;
	smtp_state_t st;
	int rc = gate(c, ST(SMTP_ST_RCPT) | ST(SMTP_ST_BDAT));

	if (rc != SMTP_OK) {
		return rc;
	}
	piece.data = data;
	piece.len = len;
	size = smtp_client_chunk_size(c, &piece, 1, last);
	if (size == 0 && !last) {
		/* nothing to frame yet (e.g. the LF of a CR LF split across chunks) */
		if (c->st == SMTP_ST_RCPT ? !can_send_message(c) : c->bdat_failed) {
			return SMTP_E_STATE;
		}
		if (c->st == SMTP_ST_RCPT) {
			smtp_data_enc_init(&c->enc, 0);
		}
		return smtp_data_enc_write(&c->enc, &c->out, data, len);
	}
	if (size > (unsigned long long)((size_t)-1 / 2)) {
		return SMTP_E_NOMEM;
	}
	/* The chunk is encoded straight into the output, after its BDAT line:
	 * room for both first, so that a failure leaves no half frame. */
	if ((rc = smtp_buf_reserve(&c->out, 48 + (size_t)size)) != SMTP_OK) {
		return rc;
	}
	live = smtp_buf_size(&c->out);
	pending = c->pend_count;
	bdat_sent = c->bdat_sent;
	st = c->st;
	if ((rc = smtp_client_chunk_open(c, &piece, 1, last)) != SMTP_OK) {
		return rc;
	}
	if (c->st == SMTP_ST_CHUNK && (rc = smtp_client_chunk_write(c, data, len)) != SMTP_OK) {
		if (c->error) {
			return rc;
		}
		/* out of memory after all: take the BDAT line back */
		c->out.len = c->out.off + live;
		c->pend_count = pending;
		c->bdat_sent = bdat_sent;
		set_state(c, st);
		return rc;
	}
	return SMTP_OK;
}

int smtp_client_rset(smtp_client_t *c)
{
	int rc;

	c->tx++;
	rc = simple(c, SMTP_CMD_RSET, "RSET",
	            ST(SMTP_ST_GREETED) | ST(SMTP_ST_READY) | ST(SMTP_ST_MAIL) | ST(SMTP_ST_RCPT) | ST(SMTP_ST_BDAT)
	            | (c->pipelining ? ST(SMTP_ST_DOT) | ST(SMTP_ST_BDAT_LAST) : 0), 0);
	if (rc != SMTP_OK) {
		c->tx--;
		return rc;
	}
	tx_reset(c);
	if (c->st != SMTP_ST_GREETED) {
		set_state(c, SMTP_ST_READY);
	}
	return SMTP_OK;
}

int smtp_client_vrfy(smtp_client_t *c, const char *arg, size_t len)
{
	part_t parts[2];
	int rc = gate(c, ST(SMTP_ST_GREETED) | ST(SMTP_ST_READY) | ST(SMTP_ST_MAIL) | ST(SMTP_ST_RCPT));

	if (rc != SMTP_OK) {
		return rc;
	}
	if (len == 0 || check_arg(arg, len, ARG_PLAIN) != SMTP_OK) {
		return SMTP_E_ARG;
	}
	parts[0].p = "VRFY ";
	parts[0].len = 5;
	parts[1].p = arg;
	parts[1].len = len;
	return emit(c, SMTP_CMD_VRFY, 0, 0, 0, SMTP_MAX_CMD_LINE, parts, 2, NULL);
}

int smtp_client_noop(smtp_client_t *c)
{
	return simple(c, SMTP_CMD_NOOP, "NOOP",
	              ST(SMTP_ST_GREETED) | ST(SMTP_ST_READY) | ST(SMTP_ST_MAIL) | ST(SMTP_ST_RCPT), 0);
}

int smtp_client_quit(smtp_client_t *c)
{
	int rc = simple(c, SMTP_CMD_QUIT, "QUIT",
	                ST(SMTP_ST_GREETED) | ST(SMTP_ST_READY) | ST(SMTP_ST_MAIL) | ST(SMTP_ST_RCPT)
	                | ST(SMTP_ST_BDAT) | ST(SMTP_ST_AUTH), 1);

	if (rc == SMTP_OK) {
		set_state(c, SMTP_ST_QUIT);
	}
	return rc;
}

static int auth_line(smtp_client_t *c, unsigned allowed, const char *line, size_t len, const char *trace_text)
{
	part_t part;
	int rc = gate(c, allowed);

	if (rc != SMTP_OK) {
		return rc;
	}
	if (check_arg(line, len, ARG_PLAIN) != SMTP_OK) {
		return SMTP_E_ARG;
	}
	part.p = line;
	part.len = len;
	c->secret_out = 1;
	if ((rc = emit(c, SMTP_CMD_AUTH, 0, 0, 1, SMTP_MAX_AUTH_LINE, &part, 1, trace_text)) != SMTP_OK) {
		return rc;
	}
	set_state(c, SMTP_ST_AUTH);
	return SMTP_OK;
}

int smtp_client_auth(smtp_client_t *c, const char *line, size_t len, const char *trace_text)
{
	if (len == 0) {
		return SMTP_E_ARG;
	}
	return auth_line(c, ST(SMTP_ST_READY), line, len, trace_text ? trace_text : "AUTH ***");
}

int smtp_client_auth_response(smtp_client_t *c, const char *line, size_t len, const char *trace_text)
{
	return auth_line(c, ST(SMTP_ST_AUTH), line, len, trace_text ? trace_text : "***");
}

/* ---- replies ------------------------------------------------------------- */

static void trace_reply(smtp_client_t *c, const smtp_reply_t *r)
{
	const char *p = r->text, *end = r->text + r->text_len;

	if (!c->trace) {
		return;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		trace(c, '<', p, n);
		p += n + (nl ? 1 : 0);
	}
}

/* Apply the effect of a reply to the command it answers; sets ev->ok. */
static int apply_reply(smtp_client_t *c, const smtp_pending_t *p, smtp_event_t *ev)
{
	int code = ev->reply->code;

	if (p->tx != c->tx) {
		/* a reply to a transaction already followed by another (pipelined
		 * across transactions): it tells its own outcome only */
		switch (p->cmd) {
		case SMTP_CMD_MAIL:
		case SMTP_CMD_DOT:
		case SMTP_CMD_RSET:
		case SMTP_CMD_NOOP:
			ev->ok = code == 250;
			return SMTP_OK;
		case SMTP_CMD_RCPT:
			ev->ok = code == 250 || code == 251;
			return SMTP_OK;
		case SMTP_CMD_BDAT:
			ev->ok = code == 250;
			ev->last = p->last;
			return SMTP_OK;
		default:
			break;
		}
	}
	switch (p->cmd) {
	case SMTP_CMD_GREETING:
		ev->ok = code == 220;
		set_state(c, SMTP_ST_GREETED);
		break;
	case SMTP_CMD_EHLO:
	case SMTP_CMD_HELO:
		ev->ok = code == 250;
		if (ev->ok) {
			if (p->cmd == SMTP_CMD_EHLO) {
				int rc = smtp_caps_parse(&c->caps, ev->reply);
				if (rc != SMTP_OK) {
					return rc;
				}
			} else {
				smtp_caps_free(&c->caps);
			}
			c->esmtp = p->cmd == SMTP_CMD_EHLO;
			tx_reset(c);
			set_state(c, SMTP_ST_READY);
		}
		break;
	case SMTP_CMD_STARTTLS:
		ev->ok = code == 220;
		if (ev->ok) {
			set_state(c, SMTP_ST_TLS);
		}
		break;
	case SMTP_CMD_AUTH:
		if (code == 334) {
			ev->intermediate = 1;
		} else {
			ev->ok = code == 235;
			set_state(c, SMTP_ST_READY);
		}
		break;
	case SMTP_CMD_MAIL:
		ev->ok = code == 250;
		if (!ev->ok) {
			c->mail_failed = 1;
		}
		break;
	case SMTP_CMD_RCPT:
		ev->ok = code == 250 || code == 251;
		c->rcpt_answered++;
		if (ev->ok) {
			c->rcpt_accepted++;
		}
		break;
	case SMTP_CMD_DATA:
		ev->ok = code == 354;
		if (ev->ok) {
			smtp_data_enc_init(&c->enc, 1);
			set_state(c, SMTP_ST_BODY);
		} else {
			set_state(c, SMTP_ST_RCPT);
		}
		break;
	case SMTP_CMD_DOT:
		ev->ok = code == 250;
		tx_reset(c);
		set_state(c, SMTP_ST_READY);
		break;
	case SMTP_CMD_BDAT:
		if (c->st == SMTP_ST_CHUNK && c->pend_count == 0 && code != 421) {
			/* the reply to the chunk whose octets are still being given */
			return SMTP_E_UNEXPECTED;
		}
		ev->ok = code == 250;
		ev->last = p->last;
		if (!ev->ok) {
			c->bdat_failed = 1;
		}
		if (p->last) {
			tx_reset(c);
			set_state(c, SMTP_ST_READY);
		}
		break;
	case SMTP_CMD_RSET:
	case SMTP_CMD_NOOP:
		ev->ok = code == 250;
		break;
	case SMTP_CMD_VRFY:
		ev->ok = code == 250 || code == 251 || code == 252;
		break;
	case SMTP_CMD_QUIT:
		ev->ok = code == 221;
		ev->closing = 1;
		set_state(c, SMTP_ST_CLOSED);
		break;
	default:
		break;
	}
	/* A refused MAIL with nothing else in flight ends the transaction. */
	if (c->mail_failed && c->pend_count == 0 && (c->st == SMTP_ST_MAIL || c->st == SMTP_ST_RCPT)) {
		tx_reset(c);
		set_state(c, SMTP_ST_READY);
	}
	return SMTP_OK;
}

int smtp_client_feed(smtp_client_t *c, const char *data, size_t len, size_t *consumed, smtp_event_t *ev)
{
	smtp_pending_t p;
	int rc;

	*consumed = 0;
	if (c->error) {
		return c->error;
	}
	if (c->st == SMTP_ST_CLOSED) {
		return len ? fail(c, SMTP_E_CLOSED) : 0;
	}
	if (c->st == SMTP_ST_TLS) {
		/* Only the TLS handshake may follow the 220 to STARTTLS. */
		return len ? fail(c, SMTP_E_TLS_INJECTION) : 0;
	}
	rc = smtp_reply_parser_feed(&c->parser, data, len, consumed);
	if (rc < 0) {
		return fail(c, rc);
	}
	if (rc == 0) {
		return 0;
	}
	memset(ev, 0, sizeof(*ev));
	ev->reply = &c->parser.reply;
	trace_reply(c, ev->reply);

	if (c->pend_count == 0) {
		if (ev->reply->code == 421) {
			ev->cmd = SMTP_CMD_NONE;
			ev->closing = 1;
			set_state(c, SMTP_ST_CLOSED);
			return 1;
		}
		return fail(c, SMTP_E_UNEXPECTED);
	}
	p = pend_pop(c);
	ev->cmd = (smtp_cmd_t)p.cmd;
	ev->index = p.index;
	if ((rc = apply_reply(c, &p, ev)) != SMTP_OK) {
		return fail(c, rc);
	}
	if (ev->reply->code == 421) {
		/* Service closing, whatever it answers. */
		ev->ok = 0;
		ev->intermediate = 0;
		ev->closing = 1;
		set_state(c, SMTP_ST_CLOSED);
	}
	if (c->st == SMTP_ST_TLS && *consumed < len) {
		return fail(c, SMTP_E_TLS_INJECTION);
	}
	return 1;
}

void smtp_client_take_reply(smtp_client_t *c, smtp_reply_t *keep)
{
	smtp_reply_parser_take(&c->parser, keep);
}

int smtp_client_eof(smtp_client_t *c)
{
	return fail(c, SMTP_E_CLOSED);
}
