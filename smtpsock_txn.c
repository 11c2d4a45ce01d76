/*
 * smtpsock_txn.c: one message. php_smtpsock_send() routes international
 * addresses, declares SIZE/SMTPUTF8/BODY, and hands the message to the
 * core's transaction scheduler (smtp_core/smtp_sched.h), which decides the
 * commands: the liveness RSET in front when php_smtpsock_ensure() asked for
 * it, the envelope pipelined, the body as BDAT chunks or DATA, all or nothing
 * with atomic. This file writes and reads for it, turns its replies into
 * per-recipient results and errors, and runs a transaction once more on a new
 * connection only when the server had gone before it answered any of it and
 * nothing of the message was written. Also SmtpSocket::data()'s body writer,
 * and the PHP arrays results and replies are given as.
 */
#ifdef HAVE_CONFIG_H
# include "config.h"
#endif

#include "php_smtpsock.h"
#include "smtpsock_driver.h"
#include "php_network.h"
#include "ext/standard/file.h"
#include "zend_smart_str.h"
#include "ext/standard/php_string.h"
#include "zend_exceptions.h"
#include "smtp_core/smtp_queueid.h"
#include "smtp_core/smtp_addr.h"
#include "smtp_core/smtp_sched.h"

#ifndef PHP_WIN32
# include <netinet/in.h>
# include <netinet/tcp.h>
# include <arpa/inet.h>
# include <netdb.h>
# include <unistd.h>
# include <sched.h>
# include <sys/socket.h>
# include <sys/uio.h>
#endif

#define BODY_CHUNK  (32 * 1024)     /* message octets encoded per step */
#define PULL_PIECE  (1024 * 1024)   /* octets of a stream message read at a time for BDAT (one chunk each) */
#define DIRECT_MIN  (64 * 1024)     /* string bodies at least this long may bypass the buffer */
#define ADDRS_ON_STACK 16           /* recipients a transaction keeps without allocating */

/* Message octets as DATA content (dot-stuffed, line ends made CRLF): long
 * clean runs straight from the caller's buffer (zero-copy), the rest encoded
 * into the output in steps, written once FLUSH_AT has gathered. A failure
 * leaves a message half sent: the session is closed. */
static zend_result write_octets(php_smtpsock_session *s, const char *p, size_t left)
{
	int rc;

	while (left) {
		size_t n = 0;
		if (left >= DIRECT_MIN) {
			n = smtp_client_body_passthrough(s->core, p, left);
		}
		if (n > 0) {
			if (php_smtpsock_flush_then_write(s, p, n) == FAILURE) {
				return FAILURE;
			}
			p += n;
			left -= n;
			continue;
		}
		n = left < BODY_CHUNK ? left : BODY_CHUNK;
		rc = smtp_client_body(s->core, p, n);
		if (rc != SMTP_OK) {
			php_smtpsock_fail_core(s, "DATA", rc);
			php_smtpsock_session_close(s);
			return FAILURE;
		}
		p += n;
		left -= n;
		if (php_smtpsock_maybe_flush(s) == FAILURE) {
			return FAILURE;
		}
	}
	return SUCCESS;
}

/* Read up to want octets of the message stream into buf; *eof when the
 * stream has ended. FAILURE on a read error (the message cannot be whole). */
static zend_result read_stream(php_smtpsock_session *s, php_stream *stream, char *buf, size_t want,
                               size_t *got, bool *eof)
{
	*got = 0;
	*eof = false;
	while (*got < want) {
		ssize_t n = php_stream_read(stream, buf + *got, want - *got);
		if (n < 0) {
			php_smtpsock_fail(s, "could not read the message stream; the message was not sent");
			return FAILURE;
		}
		if (n == 0) {
			if (php_stream_eof(stream)) {
				*eof = true;
				break;
			}
			continue;
		}
		*got += (size_t)n;
	}
	return SUCCESS;
}

zend_result php_smtpsock_write_body(php_smtpsock_session *s, php_smtpsock_body *body)
{
	int i, rc;

	for (i = 0; i < body->nparts; i++) {
		if (write_octets(s, body->parts[i], body->lens[i]) == FAILURE) {
			return FAILURE;
		}
	}
	if (body->stream) {
		char *buf = emalloc(BODY_CHUNK);
		bool eof = false;
		while (!eof) {
			size_t got;
			/* never end a half-read message with the terminator: read_stream()
			 * failing closes the session */
			if (read_stream(s, body->stream, buf, BODY_CHUNK, &got, &eof) == FAILURE) {
				efree(buf);
				php_smtpsock_session_close(s);
				return FAILURE;
			}
			if (write_octets(s, buf, got) == FAILURE) {
				efree(buf);
				return FAILURE;
			}
		}
		efree(buf);
	}
	if ((rc = smtp_client_body_end(s->core)) != SMTP_OK) {
		php_smtpsock_fail_core(s, "DATA", rc);
		php_smtpsock_session_close(s);
		return FAILURE;
	}
	return php_smtpsock_flush(s);
}

/* A result array, made at its first entry (it starts as the shared empty array). */
static zval *result_array(zval *zv)
{
	if (!Z_REFCOUNTED_P(zv)) {
		array_init(zv);
	}
	return zv;
}

static void record_rcpt(php_smtpsock_result *res, zend_string **addrs, unsigned index, const smtp_event_t *ev)
{
	zend_string *addr = addrs[index];

	if (ev->ok) {
		add_next_index_str(result_array(&res->accepted), zend_string_copy(addr));
	} else {
		zval text;
		ZVAL_STRINGL(&text, ev->reply->text, ev->reply->text_len);
		zend_symtable_update(Z_ARRVAL_P(result_array(&res->rejected)), addr, &text);
	}
}

/* The final reply of an accepted message, and the queue id in it. */
static void set_final(php_smtpsock_result *res, const smtp_reply_t *r)
{
	const char *id;
	size_t id_len;

	res->reply = zend_string_init(r->text, r->text_len, 0);
	if (smtp_reply_queue_id(r, &id, &id_len)) {
		res->queue_id = zend_string_init(id, id_len, 0);
	}
}

#define ATOMIC_REFUSED "a recipient was refused; with atomic, nothing was sent"

static unsigned long long body_size(const php_smtpsock_body *body)
{
	unsigned long long n = 0;
	int i;

	for (i = 0; i < body->nparts; i++) {
		n += smtp_data_measure(body->parts[i], body->lens[i]);
	}
	return n;
}

/* 1 when the ESMTP parameter kw (upper case) is among params ("K=V K2 ..."),
 * compared without regard to case. */
static bool has_param(const char *params, const char *kw)
{
	size_t n = strlen(kw);
	const char *p = params;

	while (p && *p) {
		while (*p == ' ') {
			p++;
		}
		if (strncasecmp(p, kw, n) == 0 && (p[n] == '\0' || p[n] == ' ' || p[n] == '=')) {
			return true;
		}
		p = strchr(p, ' ');
	}
	return false;
}

static void append_param(smart_str *out, const char *param)
{
	if (out->s && ZSTR_LEN(out->s)) {
		smart_str_appendc(out, ' ');
	}
	smart_str_appends(out, param);
}

/* ext/intl's idn_to_ascii(), when loaded. */
static bool have_idn_to_ascii(void)
{
	return zend_hash_str_find_ptr(EG(function_table), "idn_to_ascii", sizeof("idn_to_ascii") - 1) != NULL;
}

static zend_long intl_constant(const char *name, zend_long fallback)
{
	zval *c = zend_get_constant_str(name, strlen(name));

	return c && Z_TYPE_P(c) == IS_LONG ? Z_LVAL_P(c) : fallback;
}

/* addr with its domain (from offset dom) as IDNA A-labels, through
 * idn_to_ascii() (UTS #46, nontransitional, with the bidi and CONTEXTJ
 * checks: idn_to_ascii()'s own default is IDNA_DEFAULT, i.e. none of them).
 * NULL when the domain is not a valid IDN. */
static zend_string *domain_to_alabels(const char *addr, size_t len, size_t dom)
{
	zval fname, args[3], ret;
	zend_string *out = NULL;

	ZVAL_STRINGL(&fname, "idn_to_ascii", sizeof("idn_to_ascii") - 1);
	ZVAL_STRINGL(&args[0], addr + dom, len - dom);
	ZVAL_LONG(&args[1], intl_constant("IDNA_NONTRANSITIONAL_TO_ASCII", 16)
		| intl_constant("IDNA_CHECK_BIDI", 4) | intl_constant("IDNA_CHECK_CONTEXTJ", 8));
	ZVAL_LONG(&args[2], intl_constant("INTL_IDNA_VARIANT_UTS46", 1));
	ZVAL_UNDEF(&ret);
	if (call_user_function(NULL, NULL, &fname, &ret, 3, args) == SUCCESS && !EG(exception)
	    && Z_TYPE(ret) == IS_STRING && Z_STRLEN(ret) > 0) {
		out = zend_string_alloc(dom + Z_STRLEN(ret), 0);
		memcpy(ZSTR_VAL(out), addr, dom);
		memcpy(ZSTR_VAL(out) + dom, Z_STRVAL(ret), Z_STRLEN(ret));
		ZSTR_VAL(out)[ZSTR_LEN(out)] = '\0';
	}
	if (EG(exception)) {
		zend_clear_exception();
	}
	zval_ptr_dtor(&ret);
	zval_ptr_dtor(&args[0]);
	zval_ptr_dtor(&fname);
	return out;
}

/*
 * How one envelope address goes to this server (smtp_addr_route_for()):
 * *wire is set to the address to send (a new reference, or the A-label
 * form), *utf8 to true when MAIL FROM must carry SMTPUTF8. FAILURE (with the
 * session error set, naming the address) when it cannot be sent.
 */
static zend_result route_address(php_smtpsock_session *s, const char *addr, size_t len, bool smtputf8,
                                 const char *role, zend_string **wire, bool *utf8)
{
	smtp_addr_kind kind = smtp_addr_classify(addr, len);
	bool idn = kind == SMTP_ADDR_INTL_DOMAIN && !smtputf8 && have_idn_to_ascii();

	*wire = NULL;
	switch (smtp_addr_route_for(kind, smtputf8, idn)) {
	case SMTP_ADDR_AS_IS:
		return SUCCESS;
	case SMTP_ADDR_WITH_SMTPUTF8:
		*utf8 = true;
		return SUCCESS;
	case SMTP_ADDR_TO_ALABELS:
		*wire = domain_to_alabels(addr, len, smtp_addr_domain_offset(addr, len));
		if (*wire) {
			return SUCCESS;
		}
		php_smtpsock_fail(s, "%s \"%s\": its domain is not a valid internationalised domain name; message not sent", role, addr);
		return FAILURE;
	case SMTP_ADDR_UNSENDABLE:
	default:
		if (kind == SMTP_ADDR_BAD_UTF8) {
			php_smtpsock_fail(s, "%s \"%s\" is not valid UTF-8; message not sent", role, addr);
		} else if (kind == SMTP_ADDR_INTL_DOMAIN) {
			php_smtpsock_fail(s, "%s \"%s\" has a non-ASCII domain: the server does not offer SMTPUTF8 and ext/intl (idn_to_ascii()) is not loaded; message not sent", role, addr);
		} else {
			php_smtpsock_fail(s, "%s \"%s\" has a non-ASCII local part and the server does not offer SMTPUTF8; message not sent", role, addr);
		}
		return FAILURE;
	}
}

/* RSET after a failed transaction so the session is ready for the next one;
 * a failure here only closes the session, the caller's error stands. */
static void reset_quietly(php_smtpsock_session *s)
{
	php_smtpsock_error saved = s->err;
	bool gone = s->gone;
	smtp_event_t ev;

	memset(&s->err, 0, sizeof(s->err));
	smtp_client_set_pipelining(s->core, 0);
	if (smtp_client_rset(s->core) != SMTP_OK || php_smtpsock_next_event(s, &ev) == FAILURE || !ev.ok) {
		if (php_smtpsock_session_connected(s)) {
			php_smtpsock_session_close(s);
		}
	}
	php_smtpsock_error_clear(&s->err);
	s->err = saved;
	s->gone = gone;
}

/* ---- one transaction through the core's scheduler ----------------------- */

/* What the scheduler's reply hook and body source need for one send(). */
typedef struct {
	php_smtpsock_session *s;
	php_smtpsock_result *res;
	zend_string **addrs;        /* the recipients as given: the result's keys */
	uint32_t n;
	bool atomic;
	bool mail_ok;
	bool front_answered;        /* the liveness RSET in front had a reply (a 421 never gets here) */
	bool reset_refused;         /* the RSET after a refusal was refused: the session is closed */
	/* a stream message, pulled piece by piece */
	php_smtpsock_body *body;
	int part;                   /* the next string part */
	size_t part_off;            /* octets of it already given */
	char *buf;                  /* the stream's buffer, piece octets */
	size_t piece;               /* octets given at a time: PULL_PIECE as BDAT chunks, BODY_CHUNK as DATA */
	bool eof;
} txn_ctx;

/* Each reply, in order, as the scheduler matched it to its command: the
 * per-recipient results, and the first reply that decided a failure as the
 * session error (with its wording: "sender refused", "every recipient was
 * refused", ...). */
static void txn_reply(void *ud, void *msg_ud, smtp_sched_reply_t what, unsigned index, const smtp_event_t *ev)
{
	txn_ctx *t = ud;
	php_smtpsock_session *s = t->s;
	const smtp_reply_t *r = ev->reply;

	(void)msg_ud;
	switch (what) {
	case SMTP_SCHED_R_FRONT:
		t->front_answered = true;
		break;
	case SMTP_SCHED_R_MAIL:
		if (!ev->ok) {
			t->mail_ok = false;
			php_smtpsock_fail_reply(s, "sender refused", r);
		}
		break;
	case SMTP_SCHED_R_RCPT:
		if (!t->mail_ok || index >= t->n) {
			break;
		}
		record_rcpt(t->res, t->addrs, index, ev);
		if (t->atomic && !ev->ok && !s->err.message) {
			php_smtpsock_fail_reply(s, ATOMIC_REFUSED, r);
		}
		if (index + 1 == t->n && !t->atomic && !s->err.message
		    && zend_hash_num_elements(Z_ARRVAL(t->res->accepted)) == 0) {
			php_smtpsock_fail_reply(s, "every recipient was refused", r);
		}
		break;
	case SMTP_SCHED_R_DATA:
		if (!ev->ok && !s->err.message) {
			php_smtpsock_fail_reply(s, "DATA refused", r);
		}
		break;
	case SMTP_SCHED_R_CHUNK:
		if (!ev->ok && !s->err.message) {
			php_smtpsock_fail_reply(s, "message refused", r);
		}
		break;
	case SMTP_SCHED_R_FINAL:
		if (ev->ok) {
			if (!t->res->reply) {
				set_final(t->res, r);
			}
		} else if (!s->err.message) {
			php_smtpsock_fail_reply(s, "message refused", r);
		}
		break;
	case SMTP_SCHED_R_RESET:
		if (!ev->ok) {
			t->reset_refused = true;
		}
		break;
	}
}

/* The scheduler's body source for a stream message (smtp_sched_body_fn):
 * the string parts before it, then the stream, t->piece octets at a time
 * (constant memory whatever its size: the scheduler encodes each piece into
 * the output and has it written before it asks for the next once the output
 * holds SMTP_SCHED_OUT_MAX). With BDAT each piece is one chunk (1 MiB: few
 * chunk headers), with DATA 32 KiB; the end is BDAT 0 LAST, or the end of
 * data. A read error: the message ends unsent (s->err says why). */
static int txn_pull(void *msg_ud, const char **data, size_t *len)
{
	txn_ctx *t = msg_ud;
	php_smtpsock_body *b = t->body;
	size_t got;

	while (t->part < b->nparts) {
		size_t left = b->lens[t->part] - t->part_off;
		if (left == 0) {
			t->part++;
			t->part_off = 0;
			continue;
		}
		*data = b->parts[t->part] + t->part_off;
		*len = left < t->piece ? left : t->piece;
		t->part_off += *len;
		return 1;
	}
	if (!b->stream || t->eof) {
		return 0;
	}
	if (!t->buf) {
		t->buf = emalloc(t->piece);
	}
	if (read_stream(t->s, b->stream, t->buf, t->piece, &got, &t->eof) == FAILURE) {
		return SMTP_E_ARG;
	}
	if (got == 0) {
		return 0;
	}
	*data = t->buf;
	*len = got;
	return 1;
}

/* The scheduler's zero-copy writer (smtp_sched_direct_fn): what is queued,
 * then data straight from the caller's string; (NULL, 0): what is queued. */
static int txn_direct(void *ud, const char *data, size_t len)
{
	php_smtpsock_session *s = ud;

	if ((data ? php_smtpsock_flush_then_write(s, data, len) : php_smtpsock_flush(s)) == FAILURE) {
		return SMTP_E_CLOSED;
	}
	return SMTP_OK;
}

zend_result php_smtpsock_send(php_smtpsock_session *s, const char *from, size_t from_len,
                              HashTable *rcpts, const char *mail_params, const char *rcpt_params,
                              php_smtpsock_body *body, bool atomic, bool checked, php_smtpsock_result *res)
{
	const smtp_caps_t *caps;
	smtp_event_t ev;
	/* the recipients and their wire forms: on the stack for up to
	 * ADDRS_ON_STACK of them, else allocated */
	zend_string *addrs_stack[ADDRS_ON_STACK], *wire_stack[ADDRS_ON_STACK];
	smtp_sched_rcpt_t rl_stack[ADDRS_ON_STACK];
	zend_string **addrs, **wire = NULL, *wire_from = NULL;
	smtp_sched_rcpt_t *rl = NULL;
	uint32_t slots;
	zval *zv;
	smart_str mparams = {0};
	uint32_t n = 0, i;
	bool pipe, chunk, utf8 = false, smtputf8, lost;
	bool reused, check, replayed = false;
	unsigned long replies_at_start, attached;
	int rc;
	smtp_sched_t *sched = NULL;
	smtp_sched_msg_t m;
	smtp_sched_outcome_t out;
	smtp_piece_t pieces[sizeof(body->parts) / sizeof(body->parts[0])];
	txn_ctx t;
	zend_result result = FAILURE;
	const char *given_from = from;
	size_t given_from_len = from_len;

again:
	from = given_from;
	from_len = given_from_len;
	ZVAL_EMPTY_ARRAY(&res->accepted);
	ZVAL_EMPTY_ARRAY(&res->rejected);
	res->reply = NULL;
	res->queue_id = NULL;
	php_smtpsock_error_clear(&s->err);
	s->gone = false;
	memset(&t, 0, sizeof(t));
	out.cls = SMTP_SCHED_LOCAL;

	reused = php_smtpsock_session_connected(s);
	attached = s->attached;
	if (php_smtpsock_ensure(s, PHP_SMTPSOCK_LVL_TXN) == FAILURE) {
		return FAILURE;
	}
	check = s->check_in_front;
	s->check_in_front = false;
	/* the connection this transaction runs on was made before this call
	 * (or by an earlier request) */
	reused = (reused && attached == s->attached) || s->resumed;
	replies_at_start = s->replies;
	if (smtp_client_state(s->core) != SMTP_ST_READY) {
		php_smtpsock_fail_core(s, "MAIL", SMTP_E_STATE);
		return FAILURE;
	}
	caps = smtp_client_caps(s->core);
	pipe = s->cfg.pipelining && (caps->flags & SMTP_CAP_PIPELINING);
	chunk = s->cfg.chunking && (caps->flags & SMTP_CAP_CHUNKING);
	smtputf8 = (caps->flags & SMTP_CAP_SMTPUTF8) != 0;

	/* international addresses (RFC 6531): decided before anything of the message is written */
	slots = zend_hash_num_elements(rcpts) + 1;
	if (slots <= ADDRS_ON_STACK) {
		addrs = addrs_stack;
		wire = wire_stack;
		rl = rl_stack;
		memset(wire, 0, slots * sizeof(*wire));
	} else {
		addrs = safe_emalloc(slots, sizeof(*addrs), 0);
		wire = ecalloc(slots, sizeof(*wire));
		rl = safe_emalloc(slots, sizeof(*rl), 0);
	}
	ZEND_HASH_FOREACH_VAL(rcpts, zv) {
		addrs[n] = Z_STR_P(zv);
		if (route_address(s, ZSTR_VAL(addrs[n]), ZSTR_LEN(addrs[n]), smtputf8, "recipient", &wire[n], &utf8) == FAILURE) {
			n++;
			goto done;
		}
		n++;
	} ZEND_HASH_FOREACH_END();
	if (route_address(s, from, from_len, smtputf8, "sender", &wire_from, &utf8) == FAILURE) {
		goto done;
	}
	if (wire_from) {
		from = ZSTR_VAL(wire_from);
		from_len = ZSTR_LEN(wire_from);
	}

	if (mail_params && *mail_params) {
		smart_str_appends(&mparams, mail_params);
	}
	if (utf8 && !has_param(mail_params, "SMTPUTF8")) {
		append_param(&mparams, "SMTPUTF8");
	}
	/* 8-bit octets in a string message: BODY=8BITMIME when offered (RFC 6152).
	 * A stream is not read ahead: it is declared only by the caller's mail_params. */
	if ((caps->flags & SMTP_CAP_8BITMIME) && !body->stream && !has_param(mail_params, "BODY")) {
		for (i = 0; i < (uint32_t)body->nparts; i++) {
			if (smtp_data_is_8bit(body->parts[i], body->lens[i])) {
				append_param(&mparams, "BODY=8BITMIME");
				break;
			}
		}
	}
	if ((caps->flags & SMTP_CAP_SIZE) && !body->stream) {
		unsigned long long size = body_size(body);
		if (caps->size_limit && size > caps->size_limit) {
			php_smtpsock_fail(s, "message of %llu octets exceeds the server's SIZE limit of %llu octets; not sent",
				size, caps->size_limit);
			goto done;
		}
		if (!mail_params || !strstr(mail_params, "SIZE=")) {
			if (mparams.s) {
				smart_str_appendc(&mparams, ' ');
			}
			smart_str_append_printf(&mparams, "SIZE=%llu", size);
		}
	}
	smart_str_0(&mparams);

	/* the message, as the core's scheduler takes it: it decides the order of
	 * the commands (the liveness RSET in front, MAIL, RCPTs, BDAT or DATA,
	 * pipelined or one at a time, all or nothing with atomic) and how the
	 * message ended; this loop only writes and reads for it */
	t.s = s;
	t.res = res;
	t.addrs = addrs;
	t.n = n;
	t.atomic = atomic;
	t.mail_ok = true;
	t.body = body;
	t.piece = chunk ? PULL_PIECE : BODY_CHUNK;
	memset(&m, 0, sizeof(m));
	m.from = from;
	m.from_len = from_len;
	m.mail_params = mparams.s ? ZSTR_VAL(mparams.s) : "";
	m.mail_params_len = mparams.s ? ZSTR_LEN(mparams.s) : 0;
	for (i = 0; i < n; i++) {
		zend_string *to = wire[i] ? wire[i] : addrs[i];
		rl[i].addr = ZSTR_VAL(to);
		rl[i].len = ZSTR_LEN(to);
		rl[i].params = rcpt_params ? rcpt_params : "";
		rl[i].params_len = rcpt_params ? strlen(rcpt_params) : 0;
	}
	m.rcpts = rl;
	m.nrcpt = n;
	if (body->stream) {
		/* read piece by piece: constant memory whatever the stream's size */
		m.body_fn = txn_pull;
	} else {
		size_t np = 0;
		for (i = 0; i < (uint32_t)body->nparts; i++) {
			if (body->lens[i]) {
				pieces[np].data = body->parts[i];
				pieces[np++].len = body->lens[i];
			}
		}
		m.body = pieces;
		m.nbody = np;
	}
	m.atomic = atomic;
	m.checked = checked;
	m.liveness = check;
	m.ud = &t;

	/* one scheduler per session, bound to this connection, reused message after message */
	if (s->sched) {
		smtp_sched_reset(s->sched, s->core, 1, pipe, chunk);
	} else if (!(s->sched = smtp_sched_new(s->core, 1, pipe, chunk))) {
		php_smtpsock_fail(s, "out of memory");
		goto done;
	}
	sched = s->sched;
	smtp_sched_set_reply_fn(sched, txn_reply, &t);
	smtp_sched_set_direct_fn(sched, txn_direct, s, DIRECT_MIN);
	lost = false;
	rc = smtp_sched_submit(sched, &m);
	while (rc == SMTP_OK) {
		smtp_sched_step_t step = smtp_sched_step(sched);

		if (step == SMTP_SCHED_STEP_READ) {
			/* next_event() writes what is queued first */
			if (php_smtpsock_next_event(s, &ev) == FAILURE) {
				lost = true;
				break;
			}
			rc = smtp_sched_event(sched, &ev);
		} else if (step == SMTP_SCHED_STEP_WRITE) {
			/* more of a stream: write what is queued, then pull more */
			if (php_smtpsock_flush(s) == FAILURE) {
				lost = true;
				break;
			}
			rc = smtp_sched_pump(sched);
		} else if (step == SMTP_SCHED_STEP_POP && smtp_sched_pop(sched, &out)) {
			break;
		} else {
			/* nothing to write, nothing to read, no outcome: cannot happen */
			rc = SMTP_E_STATE;
		}
	}
	if (rc != SMTP_OK || lost) {
		/* the connection cannot go on: the I/O layer said why (and closed
		 * it), or the scheduler did */
		if (!lost) {
			if (rc == SMTP_E_ABORTED) {
				/* the stream failed in the middle of DATA: read_stream() said why;
				 * the end of data is never written, so nothing is delivered */
			} else if (rc == SMTP_E_UNEXPECTED) {
				php_smtpsock_fail(s, "unexpected reply from %s", s->host ? ZSTR_VAL(s->host) : "the server");
			} else if (rc != SMTP_E_CLOSED || !s->err.message) {
				php_smtpsock_fail_core(s, "MAIL", rc);
			}
		}
		smtp_sched_lost(sched);
		if (!smtp_sched_pop(sched, &out)) {
			out.cls = SMTP_SCHED_MAYBE;
		}
		if (php_smtpsock_session_connected(s)) {
			php_smtpsock_session_close(s);
		}
	}
	switch (out.cls) {
	case SMTP_SCHED_ACCEPTED:
		result = SUCCESS;
		break;
	case SMTP_SCHED_REFUSED:
		if (!s->err.message) {
			php_smtpsock_fail_reply(s, "message refused", &s->last);
		}
		break;
	case SMTP_SCHED_LOCAL:
		if (!s->err.message) {
			/* the scheduler's checks name the command that would have failed */
			php_smtpsock_fail_core(s, out.why == SMTP_SCHED_WHY_MAIL ? "MAIL" : "RCPT", out.rc);
		}
		break;
	default:
		/* REPLAY, MAYBE: the connection was lost; s->err says how */
		if (!s->err.message) {
			php_smtpsock_fail(s, "connection lost");
		}
		break;
	}
	if (result == FAILURE && res->reply) {
		zend_string_release(res->reply);
		res->reply = NULL;
		if (res->queue_id) {
			zend_string_release(res->queue_id);
			res->queue_id = NULL;
		}
	}
	if (php_smtpsock_session_connected(s) && t.reset_refused) {
		/* the server refused to drop the transaction */
		php_smtpsock_session_close(s);
	} else if (php_smtpsock_session_connected(s)
	           && (smtp_sched_holds_transaction(sched) || smtp_client_state(s->core) != SMTP_ST_READY)) {
		/* the server may still hold the failed transaction: RSET now, so
		 * that the next MAIL (ours or the caller's verbs) is not nested */
		reset_quietly(s);
	}

done:
	if (sched) {
		/* kept for the next message; forget the hooks into this call's frame */
		smtp_sched_set_reply_fn(sched, NULL, NULL);
		smtp_sched_set_direct_fn(sched, NULL, NULL, 0);
		sched = NULL;
	}
	if (t.buf) {
		efree(t.buf);
		t.buf = NULL;
	}
	if (php_smtpsock_session_connected(s)) {
		smtp_client_set_pipelining(s->core, 0);
	}
	for (i = 0; i < n; i++) {
		if (wire[i]) {
			zend_string_release(wire[i]);
		}
	}
	if (wire_from) {
		zend_string_release(wire_from);
	}
	if (addrs != addrs_stack) {
		efree(wire);
		efree(addrs);
		efree(rl);
	}
	smart_str_free(&mparams);
	n = 0;
	wire = addrs = NULL;
	rl = NULL;
	wire_from = NULL;
	if (result == FAILURE && !replayed && s->gone && !php_smtpsock_session_connected(s)
			&& out.cls == SMTP_SCHED_REPLAY
			&& (check ? !t.front_answered : reused && s->replies == replies_at_start)) {
		/* The reused connection had gone before the server answered anything
		 * of this transaction (the RSET in front, or MAIL when not
		 * pipelining, got an end of stream, a reset or a 421), and none of
		 * the message had been written: nothing of it was accepted. Once more
		 * on a new connection; never a third time. */
		replayed = true;
		php_smtpsock_result_dtor(res);
		goto again;
	}
	return result;
}

void php_smtpsock_result_dtor(php_smtpsock_result *res)
{
	zval_ptr_dtor(&res->accepted);
	zval_ptr_dtor(&res->rejected);
	if (res->reply) {
		zend_string_release(res->reply);
		res->reply = NULL;
	}
	if (res->queue_id) {
		zend_string_release(res->queue_id);
		res->queue_id = NULL;
	}
}

void php_smtpsock_reply_to_array(const smtp_reply_t *r, zval *out)
{
	zval lines;
	size_t i;

	array_init_size(out, 3);
	add_assoc_long(out, "code", r->code);
	if (r->status[0]) {
		add_assoc_string(out, "status", r->status);
	} else {
		add_assoc_null(out, "status");
	}
	array_init_size(&lines, (uint32_t)r->nlines);
	for (i = 0; i < r->nlines; i++) {
		add_next_index_stringl(&lines, r->text + r->lines[i].off, r->lines[i].len);
	}
	add_assoc_zval(out, "lines", &lines);
}

void php_smtpsock_caps_to_array(const smtp_caps_t *caps, zval *out)
{
	size_t i;

	array_init_size(out, (uint32_t)caps->count);
	for (i = 0; i < caps->count; i++) {
		add_assoc_string(out, caps->entries[i].keyword, caps->entries[i].params);
	}
}

/* ---- for other drivers (smtpsock_many.c) -------------------------------- */

zend_result php_smtpsock_route_address(php_smtpsock_session *s, const char *addr, size_t len, bool smtputf8,
                                       const char *role, zend_string **wire, bool *utf8)
{
	return route_address(s, addr, len, smtputf8, role, wire, utf8);
}
