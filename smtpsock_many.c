/*
 * smtpsock_many.c: SmtpSocket::sendMany(), the driver that pumps the core's
 * transaction scheduler (smtp_core/smtp_sched.h) over a session's stream.
 *
 * Messages are taken from the iterable one at a time, kept in a ring of
 * `window` entries in input order, submitted to the scheduler as it allows,
 * and reported in input order as their outcomes are known. A connection lost
 * mid-window: messages none of whose content was written go again on a new
 * connection (at most MANY_MAX_REPLAYS times each); the others are reported
 * as "may have been delivered", never sent again.
 */
#ifdef HAVE_CONFIG_H
# include "config.h"
#endif

#include "php_smtpsock.h"
#include "smtp_core/smtp_sched.h"
#include "smtp_core/smtp_addr.h"
#include "smtp_core/smtp_queueid.h"
#include "zend_exceptions.h"
#include "zend_interfaces.h"
#include "zend_smart_str.h"
#include "ext/standard/file.h"

#define MANY_WINDOW_DEFAULT 32
#define MANY_WINDOW_MAX 1000
#define MANY_MAX_REPLAYS 2
#define ATOMIC_REFUSED "a recipient was refused; with atomic, nothing was sent"
#define MANY_PULL_SIZE 131072   /* octets read from a stream message at a time (one BDAT chunk each) */

enum { M_NEW = 0, M_SENT, M_DONE };

typedef struct {
	zval key;
	int state;
	unsigned replays;
	/* the element, as given */
	zend_string *from;
	zend_string **to;
	uint32_t nto;
	zend_string *mail_params;   /* from options, or NULL */
	zend_string *rcpt_params;   /* from options, or NULL */
	zend_string *body;           /* a string message, or NULL for a stream */
	zval stream_zv;              /* a stream message's resource (kept alive), or UNDEF */
	php_stream *stream;
	char *pull_buf;              /* the piece last read from the stream */
	bool atomic;
	/* as submitted on the current connection */
	zend_string *wire_from;
	zend_string **wire;
	zend_string *mparams;
	smtp_sched_rcpt_t *rcpts;
	smtp_piece_t piece;
	smtp_sched_msg_t sm;
	/* the result */
	zval accepted, rejected;
	zend_string *reply, *queue_id;
	php_smtpsock_error err;      /* the failure, by the first reply that decided it */
	php_smtpsock_error rcpt_err; /* "every recipient was refused": the last refusal */
	zval error;                  /* an exception object, or UNDEF */
} many_msg;

typedef struct {
	php_smtpsock_session *s;
	unsigned window;
	bool has_cb;
	zend_fcall_info fci;
	zend_fcall_info_cache fcc;
	zval *collect;               /* results by key, when there is no callback */
	many_msg *ring;
	size_t head, count, cap;
	smtp_sched_t *sched;
	bool first_on_conn;          /* the next submission is the first on this connection */
	bool reused;                 /* this connection was open before sendMany() took it: liveness RSET in front */
	bool conn_failed;            /* no connection could be made: every message gets conn_err */
	php_smtpsock_error conn_err;
	php_smtpsock_error lost_err; /* why the last connection was lost */
	bool stop;                   /* the iterable or on_result threw: report nothing more */
} many_ctx;

static many_msg *at(many_ctx *c, size_t i)
{
	return &c->ring[(c->head + i) % c->cap];
}

/* ---- errors ------------------------------------------------------------- */

static void err_reply(php_smtpsock_error *e, const char *what, const smtp_reply_t *r)
{
	php_smtpsock_error_clear(e);
	e->code = r->code;
	memcpy(e->status, r->status, sizeof(e->status));
	e->message = strpprintf(0, "%s: %s", what, r->text);
	smtp_reply_init(&e->reply);
	e->has_reply = smtp_reply_copy(&e->reply, r) == SMTP_OK;
}

static void err_copy(php_smtpsock_error *to, const php_smtpsock_error *from)
{
	php_smtpsock_error_clear(to);
	to->code = from->code;
	memcpy(to->status, from->status, sizeof(to->status));
	to->message = from->message ? zend_string_copy(from->message) : NULL;
	if (from->has_reply) {
		smtp_reply_init(&to->reply);
		to->has_reply = smtp_reply_copy(&to->reply, &from->reply) == SMTP_OK;
	}
}

static void err_text(php_smtpsock_error *e, const char *fmt, const char *detail)
{
	php_smtpsock_error_clear(e);
	e->message = strpprintf(0, fmt, detail ? detail : "connection lost");
}

/* The SmtpSocketException send() would throw for e, as a value. */
static void make_exception(const php_smtpsock_error *e, zval *rejected, zval *out)
{
	zval tmp;

	object_init_ex(out, php_smtpsock_exception_ce);
	zend_update_property_string(zend_ce_exception, Z_OBJ_P(out), "message", sizeof("message") - 1,
		e->message ? ZSTR_VAL(e->message) : "SMTP operation failed");
	zend_update_property_long(zend_ce_exception, Z_OBJ_P(out), "code", sizeof("code") - 1, e->code);
	if (e->status[0]) {
		zend_update_property_string(php_smtpsock_exception_ce, Z_OBJ_P(out), "enhancedStatus",
			sizeof("enhancedStatus") - 1, e->status);
	}
	if (e->has_reply) {
		php_smtpsock_reply_to_array(&e->reply, &tmp);
		zend_update_property(php_smtpsock_exception_ce, Z_OBJ_P(out), "reply", sizeof("reply") - 1, &tmp);
		zval_ptr_dtor(&tmp);
	}
	if (rejected && Z_TYPE_P(rejected) == IS_ARRAY && zend_hash_num_elements(Z_ARRVAL_P(rejected)) > 0) {
		zend_update_property(php_smtpsock_exception_ce, Z_OBJ_P(out), "rejected", sizeof("rejected") - 1, rejected);
	}
}

/* The pending exception becomes the message's error (a malformed element). */
static void take_exception(many_msg *m)
{
	if (EG(exception)) {
		ZVAL_OBJ_COPY(&m->error, EG(exception));
		zend_clear_exception();
	}
	m->state = M_DONE;
}

/* ---- one message -------------------------------------------------------- */

/* Forget what was built for a connection. */
static void msg_unwire(many_msg *m)
{
	uint32_t i;

	if (m->wire) {
		for (i = 0; i < m->nto; i++) {
			if (m->wire[i]) {
				zend_string_release(m->wire[i]);
			}
		}
		efree(m->wire);
		m->wire = NULL;
	}
	if (m->rcpts) {
		efree(m->rcpts);
		m->rcpts = NULL;
	}
	if (m->wire_from) {
		zend_string_release(m->wire_from);
		m->wire_from = NULL;
	}
	if (m->mparams) {
		zend_string_release(m->mparams);
		m->mparams = NULL;
	}
}

/* Back to unsent (to go again on a new connection): wire form and partial result dropped. */
static void msg_unsend(many_msg *m)
{
	msg_unwire(m);
	zend_hash_clean(Z_ARRVAL(m->accepted));
	zend_hash_clean(Z_ARRVAL(m->rejected));
	if (m->reply) {
		zend_string_release(m->reply);
		m->reply = NULL;
	}
	if (m->queue_id) {
		zend_string_release(m->queue_id);
		m->queue_id = NULL;
	}
	php_smtpsock_error_clear(&m->err);
	php_smtpsock_error_clear(&m->rcpt_err);
}

static void msg_free(many_msg *m)
{
	uint32_t i;

	msg_unwire(m);
	if (m->reply) {
		zend_string_release(m->reply);
	}
	if (m->queue_id) {
		zend_string_release(m->queue_id);
	}
	php_smtpsock_error_clear(&m->err);
	php_smtpsock_error_clear(&m->rcpt_err);
	zval_ptr_dtor(&m->key);
	zval_ptr_dtor(&m->accepted);
	zval_ptr_dtor(&m->rejected);
	zval_ptr_dtor(&m->error);
	if (m->from) {
		zend_string_release(m->from);
	}
	if (m->to) {
		for (i = 0; i < m->nto; i++) {
			zend_string_release(m->to[i]);
		}
		efree(m->to);
	}
	if (m->mail_params) {
		zend_string_release(m->mail_params);
	}
	if (m->rcpt_params) {
		zend_string_release(m->rcpt_params);
	}
	if (m->body) {
		zend_string_release(m->body);
	}
	zval_ptr_dtor(&m->stream_zv);
	if (m->pull_buf) {
		efree(m->pull_buf);
	}
	memset(m, 0, sizeof(*m));
}

/* A ValueError unless addr is a bare address (no CR, LF, NUL, <, >; valid UTF-8). */
static bool check_addr(zend_string *addr, const char *what, zval *key, bool allow_empty)
{
	(void)key;
	if (strpbrk(ZSTR_VAL(addr), "\r\n<>") || strlen(ZSTR_VAL(addr)) != ZSTR_LEN(addr)) {
		zend_value_error("SmtpSocket::sendMany(): %s must be a bare address without CR, LF, NUL or angle brackets", what);
		return false;
	}
	if (!allow_empty && ZSTR_LEN(addr) == 0) {
		zend_value_error("SmtpSocket::sendMany(): %s must not be empty", what);
		return false;
	}
	if (!smtp_utf8_valid(ZSTR_VAL(addr), ZSTR_LEN(addr))) {
		zend_value_error("SmtpSocket::sendMany(): %s must be valid UTF-8", what);
		return false;
	}
	return true;
}

/* Fill m from one element; on a malformed element m is done with the
 * ValueError/TypeError as its error. */
static void msg_parse(many_msg *m, zval *elem)
{
	zval *zv, *opt;
	zend_string *k;
	HashTable *ht;

	array_init(&m->accepted);
	array_init(&m->rejected);
	ZVAL_UNDEF(&m->error);
	ZVAL_UNDEF(&m->stream_zv);
	ZVAL_DEREF(elem);
	if (Z_TYPE_P(elem) != IS_ARRAY) {
		zend_type_error("SmtpSocket::sendMany(): each message must be of type array, %s given", zend_zval_type_name(elem));
		take_exception(m);
		return;
	}
	ht = Z_ARRVAL_P(elem);
	ZEND_HASH_FOREACH_STR_KEY(ht, k) {
		if (!k || (!zend_string_equals_literal(k, "from") && !zend_string_equals_literal(k, "to")
		           && !zend_string_equals_literal(k, "message") && !zend_string_equals_literal(k, "options"))) {
			zend_value_error("SmtpSocket::sendMany(): a message has the unknown key \"%s\" (known: from, to, message, options)",
				k ? ZSTR_VAL(k) : "(numeric key)");
			take_exception(m);
			return;
		}
	} ZEND_HASH_FOREACH_END();

	zv = zend_hash_str_find_deref(ht, "from", sizeof("from") - 1);
	if (!zv || Z_TYPE_P(zv) != IS_STRING) {
		zend_type_error("SmtpSocket::sendMany(): message key \"from\" must be of type string, %s given",
			zv ? zend_zval_type_name(zv) : "none");
		take_exception(m);
		return;
	}
	if (!check_addr(Z_STR_P(zv), "message key \"from\"", &m->key, true)) {
		take_exception(m);
		return;
	}
	m->from = zend_string_copy(Z_STR_P(zv));

	zv = zend_hash_str_find_deref(ht, "to", sizeof("to") - 1);
	if (zv && Z_TYPE_P(zv) == IS_STRING) {
		if (!check_addr(Z_STR_P(zv), "message key \"to\"", &m->key, false)) {
			take_exception(m);
			return;
		}
		m->to = emalloc(sizeof(*m->to));
		m->to[0] = zend_string_copy(Z_STR_P(zv));
		m->nto = 1;
	} else if (zv && Z_TYPE_P(zv) == IS_ARRAY) {
		zval *r;
		uint32_t n = zend_hash_num_elements(Z_ARRVAL_P(zv));
		if (n == 0) {
			zend_value_error("SmtpSocket::sendMany(): message key \"to\" must not be empty");
			take_exception(m);
			return;
		}
		m->to = safe_emalloc(n, sizeof(*m->to), 0);
		ZEND_HASH_FOREACH_VAL(Z_ARRVAL_P(zv), r) {
			ZVAL_DEREF(r);
			if (Z_TYPE_P(r) != IS_STRING) {
				zend_type_error("SmtpSocket::sendMany(): message key \"to\" must contain only strings, %s found",
					zend_zval_type_name(r));
				take_exception(m);
				return;
			}
			if (!check_addr(Z_STR_P(r), "each recipient", &m->key, false)) {
				take_exception(m);
				return;
			}
			m->to[m->nto++] = zend_string_copy(Z_STR_P(r));
		} ZEND_HASH_FOREACH_END();
	} else {
		zend_type_error("SmtpSocket::sendMany(): message key \"to\" must be of type array|string, %s given",
			zv ? zend_zval_type_name(zv) : "none");
		take_exception(m);
		return;
	}

	zv = zend_hash_str_find_deref(ht, "message", sizeof("message") - 1);
	if (zv && Z_TYPE_P(zv) == IS_STRING) {
		m->body = zend_string_copy(Z_STR_P(zv));
	} else if (zv && Z_TYPE_P(zv) == IS_RESOURCE) {
		php_stream *stream = (php_stream *)zend_fetch_resource2_ex(zv, NULL, php_file_le_stream(), php_file_le_pstream());
		if (!stream) {
			if (!EG(exception)) {
				zend_type_error("SmtpSocket::sendMany(): message key \"message\" must be a string or a stream resource");
			}
			take_exception(m);
			return;
		}
		if (!strpbrk(stream->mode, "r+")) {
			zend_value_error("SmtpSocket::sendMany(): message key \"message\" must be a readable stream");
			take_exception(m);
			return;
		}
		/* read piece by piece as it is written (many_pull) */
		ZVAL_COPY(&m->stream_zv, zv);
		m->stream = stream;
	} else {
		zend_type_error("SmtpSocket::sendMany(): message key \"message\" must be of type string or a stream resource, %s given",
			zv ? zend_zval_type_name(zv) : "none");
		take_exception(m);
		return;
	}

	opt = zend_hash_str_find_deref(ht, "options", sizeof("options") - 1);
	if (opt && Z_TYPE_P(opt) != IS_ARRAY) {
		zend_type_error("SmtpSocket::sendMany(): message key \"options\" must be of type array, %s given", zend_zval_type_name(opt));
		take_exception(m);
		return;
	}
	if (opt) {
		zend_string *key;
		ZEND_HASH_FOREACH_STR_KEY_VAL(Z_ARRVAL_P(opt), key, zv) {
			smart_str out = {0};
			ZVAL_DEREF(zv);
			if (key && zend_string_equals_literal(key, "atomic")) {
				if (Z_TYPE_P(zv) != IS_TRUE && Z_TYPE_P(zv) != IS_FALSE) {
					zend_type_error("SmtpSocket::sendMany(): option \"atomic\" must be of type bool, %s given", zend_zval_type_name(zv));
					take_exception(m);
					return;
				}
				m->atomic = Z_TYPE_P(zv) == IS_TRUE;
				continue;
			}
			if (!key || (!zend_string_equals_literal(key, "mail_params") && !zend_string_equals_literal(key, "rcpt_params"))) {
				zend_value_error("SmtpSocket::sendMany(): a message's options contain the unknown option \"%s\"",
					key ? ZSTR_VAL(key) : "(numeric key)");
				take_exception(m);
				return;
			}
			if (Z_TYPE_P(zv) != IS_ARRAY) {
				zend_type_error("SmtpSocket::sendMany(): option \"%s\" must be of type array, %s given", ZSTR_VAL(key), zend_zval_type_name(zv));
				take_exception(m);
				return;
			}
			if (php_smtpsock_build_params(Z_ARRVAL_P(zv), zend_string_equals_literal(key, "mail_params")
			        ? "SmtpSocket::sendMany(): mail_params" : "SmtpSocket::sendMany(): rcpt_params", &out) == FAILURE) {
				smart_str_free(&out);
				take_exception(m);
				return;
			}
			if (out.s && ZSTR_LEN(out.s)) {
				zend_string **dst = zend_string_equals_literal(key, "mail_params") ? &m->mail_params : &m->rcpt_params;
				if (*dst) {
					zend_string_release(*dst);
				}
				*dst = smart_str_extract(&out);
			} else {
				smart_str_free(&out);
			}
		} ZEND_HASH_FOREACH_END();
	}
	m->state = M_NEW;
}

static bool has_param(const zend_string *params, const char *kw)
{
	size_t n = strlen(kw);
	const char *p = params ? ZSTR_VAL(params) : NULL;

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

/* The scheduler's body source for a stream message: the next piece read. */
static int many_pull(void *msg_ud, const char **data, size_t *len)
{
	many_msg *m = msg_ud;
	ssize_t n;

	if (!m->pull_buf) {
		m->pull_buf = emalloc(MANY_PULL_SIZE);
	}
	n = php_stream_read(m->stream, m->pull_buf, MANY_PULL_SIZE);
	if (n < 0) {
		php_smtpsock_error_clear(&m->err);
		m->err.message = zend_string_init("could not read the message stream; the message was not sent",
			sizeof("could not read the message stream; the message was not sent") - 1, 0);
		return SMTP_E_ARG;
	}
	if (n == 0) {
		efree(m->pull_buf);
		m->pull_buf = NULL;
		return 0;
	}
	*data = m->pull_buf;
	*len = (size_t)n;
	return 1;
}

/* Build what goes on this connection (routing per its capabilities, SIZE,
 * BODY, SMTPUTF8). FAILURE: m is done with the error. */
static zend_result msg_prepare(many_ctx *c, many_msg *m, bool liveness)
{
	php_smtpsock_session *s = c->s;
	const smtp_caps_t *caps = smtp_client_caps(s->core);
	bool smtputf8 = (caps->flags & SMTP_CAP_SMTPUTF8) != 0, utf8 = false;
	smart_str mp = {0};
	uint32_t i;
	unsigned long long size;

	m->wire = ecalloc(m->nto, sizeof(*m->wire));
	m->rcpts = ecalloc(m->nto, sizeof(*m->rcpts));
	for (i = 0; i < m->nto; i++) {
		if (php_smtpsock_route_address(s, ZSTR_VAL(m->to[i]), ZSTR_LEN(m->to[i]), smtputf8, "recipient", &m->wire[i], &utf8) == FAILURE) {
			goto failed;
		}
	}
	if (php_smtpsock_route_address(s, ZSTR_VAL(m->from), ZSTR_LEN(m->from), smtputf8, "sender", &m->wire_from, &utf8) == FAILURE) {
		goto failed;
	}
	if (m->mail_params) {
		smart_str_append(&mp, m->mail_params);
	}
	if (utf8 && !has_param(m->mail_params, "SMTPUTF8")) {
		append_param(&mp, "SMTPUTF8");
	}
	/* a stream is not read ahead: neither BODY nor SIZE is declared for it (as send()) */
	if (m->body && (caps->flags & SMTP_CAP_8BITMIME) && !has_param(m->mail_params, "BODY")
	    && smtp_data_is_8bit(ZSTR_VAL(m->body), ZSTR_LEN(m->body))) {
		append_param(&mp, "BODY=8BITMIME");
	}
	if (m->body && (caps->flags & SMTP_CAP_SIZE)) {
		size = smtp_data_measure(ZSTR_VAL(m->body), ZSTR_LEN(m->body));
		if (caps->size_limit && size > caps->size_limit) {
			php_smtpsock_fail(s, "message of %llu octets exceeds the server's SIZE limit of %llu octets; not sent",
				size, caps->size_limit);
			smart_str_free(&mp);
			goto failed;
		}
		if (!has_param(m->mail_params, "SIZE")) {
			if (mp.s && ZSTR_LEN(mp.s)) {
				smart_str_appendc(&mp, ' ');
			}
			smart_str_append_printf(&mp, "SIZE=%llu", size);
		}
	}
	smart_str_0(&mp);
	m->mparams = mp.s ? smart_str_extract(&mp) : NULL;

	for (i = 0; i < m->nto; i++) {
		zend_string *to = m->wire[i] ? m->wire[i] : m->to[i];
		m->rcpts[i].addr = ZSTR_VAL(to);
		m->rcpts[i].len = ZSTR_LEN(to);
		m->rcpts[i].params = m->rcpt_params ? ZSTR_VAL(m->rcpt_params) : "";
		m->rcpts[i].params_len = m->rcpt_params ? ZSTR_LEN(m->rcpt_params) : 0;
	}
	memset(&m->sm, 0, sizeof(m->sm));
	if (m->body) {
		m->piece.data = ZSTR_VAL(m->body);
		m->piece.len = ZSTR_LEN(m->body);
		m->sm.body = &m->piece;
		m->sm.nbody = 1;
	} else {
		m->sm.body_fn = many_pull;
	}
	m->sm.from = m->wire_from ? ZSTR_VAL(m->wire_from) : ZSTR_VAL(m->from);
	m->sm.from_len = m->wire_from ? ZSTR_LEN(m->wire_from) : ZSTR_LEN(m->from);
	m->sm.mail_params = m->mparams ? ZSTR_VAL(m->mparams) : "";
	m->sm.mail_params_len = m->mparams ? ZSTR_LEN(m->mparams) : 0;
	m->sm.rcpts = m->rcpts;
	m->sm.nrcpt = m->nto;
	m->sm.atomic = m->atomic;
	m->sm.liveness = liveness;
	m->sm.ud = m;
	return SUCCESS;

failed:
	err_copy(&m->err, &s->err);
	php_smtpsock_error_clear(&s->err);
	m->state = M_DONE;
	return FAILURE;
}

/* ---- replies and outcomes ----------------------------------------------- */

static void on_reply(void *ud, void *msg_ud, smtp_sched_reply_t what, unsigned index, const smtp_event_t *ev)
{
	many_msg *m = msg_ud;
	const smtp_reply_t *r = ev->reply;

	(void)ud;
	switch (what) {
	case SMTP_SCHED_R_MAIL:
		if (!ev->ok) {
			err_reply(&m->err, "sender refused", r);
		}
		break;
	case SMTP_SCHED_R_RCPT:
		if (index >= m->nto || (m->err.message && !m->atomic)) {
			break;
		}
		if (ev->ok) {
			add_next_index_str(&m->accepted, zend_string_copy(m->to[index]));
		} else {
			zval text;
			ZVAL_STRINGL(&text, r->text, r->text_len);
			zend_symtable_update(Z_ARRVAL(m->rejected), m->to[index], &text);
			if (m->atomic && !m->err.message) {
				err_reply(&m->err, ATOMIC_REFUSED, r);
			}
			err_reply(&m->rcpt_err, "every recipient was refused", r);
		}
		break;
	case SMTP_SCHED_R_DATA:
		if (!ev->ok && !m->err.message) {
			err_reply(&m->err, "DATA refused", r);
		}
		break;
	case SMTP_SCHED_R_FINAL:
		if (ev->ok) {
			const char *id;
			size_t id_len;
			if (m->reply) {
				zend_string_release(m->reply);
			}
			m->reply = zend_string_init(r->text, r->text_len, 0);
			if (!m->queue_id && smtp_reply_queue_id(r, &id, &id_len)) {
				m->queue_id = zend_string_init(id, id_len, 0);
			}
		} else if (!m->err.message) {
			err_reply(&m->err, "message refused", r);
		}
		break;
	default:
		break;
	}
}

/* Apply an outcome the scheduler gave. */
static void apply_outcome(many_ctx *c, const smtp_sched_outcome_t *o)
{
	many_msg *m = o->ud;

	switch (o->cls) {
	case SMTP_SCHED_ACCEPTED:
		php_smtpsock_error_clear(&m->err);
		m->state = M_DONE;
		break;
	case SMTP_SCHED_REFUSED:
		if (o->why == SMTP_SCHED_WHY_RCPT && m->rcpt_err.message) {
			err_copy(&m->err, &m->rcpt_err);
		} else if (!m->err.message) {
			err_text(&m->err, "message refused: %s", NULL);
		}
		if (m->reply) {
			zend_string_release(m->reply);
			m->reply = NULL;
		}
		m->state = M_DONE;
		break;
	case SMTP_SCHED_MAYBE:
		err_text(&m->err, "the connection was lost after the message was written and before its final reply (%s): "
			"it may have been delivered; it was not sent again",
			c->lost_err.message ? ZSTR_VAL(c->lost_err.message) : NULL);
		m->state = M_DONE;
		break;
	case SMTP_SCHED_LOCAL:
		if (m->err.message && o->rc == SMTP_E_ARG && m->stream) {
			/* many_pull() said why */
		} else if (o->rc == SMTP_E_CLOSED) {
			err_text(&m->err, "the connection was lost while the message was written, before its end (%s): "
				"it was not delivered; it was not sent again", c->lost_err.message ? ZSTR_VAL(c->lost_err.message) : NULL);
		} else if (o->rc == SMTP_E_TOO_LONG) {
			php_smtpsock_error_clear(&m->err);
			m->err.message = strpprintf(0, "message not sent: a command line would be longer than %d octets", SMTP_MAX_CMD_LINE);
		} else if (o->rc == SMTP_E_ARG) {
			php_smtpsock_error_clear(&m->err);
			m->err.message = strpprintf(0, "message not sent: an address or parameter contains CR, LF, NUL or an angle bracket");
		} else {
			php_smtpsock_error_clear(&m->err);
			m->err.message = strpprintf(0, "message not sent: %s", smtp_strerror(o->rc));
		}
		m->state = M_DONE;
		break;
	case SMTP_SCHED_REPLAY:
	default:
		msg_unsend(m);
		if (++m->replays > MANY_MAX_REPLAYS) {
			err_text(&m->err, "the connection was lost before the message was written (%s); not sent",
				c->lost_err.message ? ZSTR_VAL(c->lost_err.message) : NULL);
			m->state = M_DONE;
		} else {
			m->state = M_NEW;
		}
		break;
	}
}

static void pop_outcomes(many_ctx *c)
{
	smtp_sched_outcome_t o;

	while (c->sched && smtp_sched_pop(c->sched, &o)) {
		apply_outcome(c, &o);
	}
}

/* The connection is gone: classify what was in flight, close, forget the scheduler. */
static void conn_lost(many_ctx *c)
{
	php_smtpsock_session *s = c->s;

	err_copy(&c->lost_err, &s->err);
	if (c->sched) {
		smtp_sched_lost(c->sched);
		pop_outcomes(c);
		smtp_sched_free(c->sched);
		c->sched = NULL;
	}
	if (s->stream || s->core) {
		php_smtpsock_session_close(s);
	}
}

/* Report the finished messages at the head, in order. */
static void deliver(many_ctx *c)
{
	while (c->count > 0 && at(c, 0)->state == M_DONE) {
		many_msg *m = at(c, 0);
		zval result;

		if (!c->stop) {
			array_init_size(&result, 5);
			add_assoc_zval(&result, "accepted", &m->accepted);
			ZVAL_UNDEF(&m->accepted);
			Z_TRY_ADDREF(m->rejected);
			add_assoc_zval(&result, "rejected", &m->rejected);
			if (m->reply && Z_TYPE(m->error) == IS_UNDEF && !m->err.message) {
				add_assoc_str(&result, "reply", zend_string_copy(m->reply));
			} else {
				add_assoc_null(&result, "reply");
			}
			if (m->queue_id && Z_TYPE(m->error) == IS_UNDEF && !m->err.message) {
				add_assoc_str(&result, "queue_id", zend_string_copy(m->queue_id));
			} else {
				add_assoc_null(&result, "queue_id");
			}
			if (Z_TYPE(m->error) != IS_UNDEF) {
				add_assoc_zval(&result, "error", &m->error);
				ZVAL_UNDEF(&m->error);
			} else if (m->err.message) {
				zval ex;
				make_exception(&m->err, &m->rejected, &ex);
				add_assoc_zval(&result, "error", &ex);
			} else {
				add_assoc_null(&result, "error");
			}
			if (c->has_cb) {
				zval args[2], rv;
				ZVAL_COPY(&args[0], &m->key);
				args[1] = result;
				ZVAL_UNDEF(&rv);
				c->fci.retval = &rv;
				c->fci.params = args;
				c->fci.param_count = 2;
				if (zend_call_function(&c->fci, &c->fcc) == FAILURE && !EG(exception)) {
					zend_throw_error(NULL, "SmtpSocket::sendMany(): on_result could not be called");
				}
				zval_ptr_dtor(&rv);
				zval_ptr_dtor(&args[0]);
				zval_ptr_dtor(&result);
				if (EG(exception)) {
					c->stop = true;
				}
			} else {
				if (array_set_zval_key(Z_ARRVAL_P(c->collect), &m->key, &result) == FAILURE || EG(exception)) {
					c->stop = true;
				}
				zval_ptr_dtor(&result);
			}
		}
		msg_free(m);
		c->head = (c->head + 1) % c->cap;
		c->count--;
	}
}

/* Connect (or not) for the messages waiting to be sent. */
static bool conn_ready(many_ctx *c)
{
	php_smtpsock_session *s = c->s;
	const smtp_caps_t *caps;
	unsigned long replies;
	bool pipe, chunk, was, check;

	if (c->sched) {
		return true;
	}
	if (c->conn_failed) {
		return false;
	}
	php_smtpsock_error_clear(&s->err);
	was = php_smtpsock_session_connected(s);
	replies = s->replies;
	if (php_smtpsock_ensure(s, PHP_SMTPSOCK_LVL_TXN) == FAILURE) {
		err_copy(&c->conn_err, &s->err);
		c->conn_failed = true;
		return false;
	}
	/* ensure() leaves the check of an idle or resumed connection to us when
	 * the server pipelines: the RSET in front of the first transaction */
	check = s->check_in_front;
	s->check_in_front = false;
	if (smtp_client_state(s->core) != SMTP_ST_READY || smtp_client_pending(s->core) > 0) {
		php_smtpsock_fail_core(s, "MAIL", SMTP_E_STATE);
		err_copy(&c->conn_err, &s->err);
		c->conn_failed = true;
		return false;
	}
	caps = smtp_client_caps(s->core);
	pipe = s->cfg.pipelining && (caps->flags & SMTP_CAP_PIPELINING);
	chunk = s->cfg.chunking && (caps->flags & SMTP_CAP_CHUNKING);
	c->sched = smtp_sched_new(s->core, c->window, pipe, chunk);
	if (!c->sched) {
		php_smtpsock_fail(s, "out of memory");
		err_copy(&c->conn_err, &s->err);
		c->conn_failed = true;
		return false;
	}
	smtp_sched_set_reply_fn(c->sched, on_reply, c);
	c->first_on_conn = true;
	/* a connection that was there before and that ensure() neither
	 * replaced nor checked (no reply read): where the server pipelines, an
	 * RSET in front of the first transaction checks it is alive at no cost.
	 * Without PIPELINING that RSET would cost a round trip per call, and it
	 * is not needed: ensure() checks a session idle for long, and a
	 * connection found gone at the first MAIL had nothing of the message
	 * (its content goes only after the 354) and gives SMTP_SCHED_REPLAY,
	 * so the message is sent on the next connection, once. */
	c->reused = check || (pipe && was && s->replies == replies);
	return true;
}

/* Submit the waiting messages as far as the scheduler takes them. */
static void submit(many_ctx *c)
{
	size_t i;

	for (i = 0; i < c->count && !c->stop; i++) {
		many_msg *m = at(c, i);
		if (m->state != M_NEW) {
			continue;
		}
		if (!conn_ready(c)) {
			err_copy(&m->err, &c->conn_err);
			m->state = M_DONE;
			continue;
		}
		if (!smtp_sched_can_submit(c->sched)) {
			break;
		}
		if (msg_prepare(c, m, c->first_on_conn && c->reused) == FAILURE) {
			continue;
		}
		{
			size_t before = smtp_sched_in_flight(c->sched);
			int rc = smtp_sched_submit(c->sched, &m->sm);

			if (rc != SMTP_OK) {
				php_smtpsock_fail(c->s, "%s", rc == SMTP_E_ABORTED
					? "a message's stream failed in the middle of the message: the connection was dropped"
					: smtp_strerror(rc));
				if (smtp_sched_in_flight(c->sched) == before) {
					/* not taken: it ends here */
					msg_unwire(m);
					err_copy(&m->err, &c->s->err);
					m->state = M_DONE;
				} else {
					m->state = M_SENT;
				}
				conn_lost(c);
				break;
			}
		}
		c->first_on_conn = false;
		m->state = M_SENT;
	}
}

/* One step: submit, write, and when block (or nothing else can be done)
 * wait for one reply; deliver what is finished. */
static void progress(many_ctx *c, bool block)
{
	php_smtpsock_session *s = c->s;
	smtp_event_t ev;

	submit(c);
	pop_outcomes(c);
	deliver(c);
	if (!c->sched) {
		return;
	}
	if (php_smtpsock_flush(s) == FAILURE) {
		conn_lost(c);
		deliver(c);
		return;
	}
	/* a stream message: write, read more, write... */
	while (c->sched && smtp_sched_wants_write(c->sched)) {
		int rc = smtp_sched_pump(c->sched);

		if (rc != SMTP_OK || php_smtpsock_flush(s) == FAILURE) {
			if (rc != SMTP_OK) {
				php_smtpsock_fail(s, "%s", rc == SMTP_E_ABORTED
					? "a message's stream failed in the middle of the message: the connection was dropped"
					: smtp_strerror(rc));
			}
			conn_lost(c);
			deliver(c);
			return;
		}
	}
	if (!block && c->count < c->cap && smtp_sched_can_submit(c->sched)) {
		return;
	}
	if (!smtp_sched_waiting(c->sched)) {
		return;
	}
	if (php_smtpsock_next_event(s, &ev) == FAILURE) {
		conn_lost(c);
	} else {
		int rc = smtp_sched_event(c->sched, &ev);
		if (rc != SMTP_OK) {
			php_smtpsock_fail(s, "%s", rc == SMTP_E_ABORTED
				? "a message's stream failed in the middle of the message: the connection was dropped"
				: "unexpected reply from the server");
			conn_lost(c);
		}
	}
	pop_outcomes(c);
	deliver(c);
}

/* ---- the iterable ------------------------------------------------------- */

typedef struct {
	HashTable *ht;
	HashPosition pos;
	zend_object_iterator *it;
	bool started;
	zend_ulong index;
} source_t;

/* The next element: 1 (key and value copied into *key, *val), 0 at the end,
 * -1 when the iterable threw. */
static int source_next(source_t *src, zval *key, zval *val)
{
	zval *v;

	if (src->ht) {
		if (src->started) {
			zend_hash_move_forward_ex(src->ht, &src->pos);
		}
		src->started = true;
		v = zend_hash_get_current_data_ex(src->ht, &src->pos);
		if (!v) {
			return 0;
		}
		zend_hash_get_current_key_zval_ex(src->ht, key, &src->pos);
		ZVAL_COPY_DEREF(val, v);
		return 1;
	}
	if (!src->started) {
		src->started = true;
		if (src->it->funcs->rewind) {
			src->it->funcs->rewind(src->it);
		}
	} else {
		src->it->funcs->move_forward(src->it);
		src->index++;
	}
	if (EG(exception)) {
		return -1;
	}
	if (src->it->funcs->valid(src->it) != SUCCESS) {
		return EG(exception) ? -1 : 0;
	}
	v = src->it->funcs->get_current_data(src->it);
	if (EG(exception) || !v) {
		return EG(exception) ? -1 : 0;
	}
	ZVAL_COPY_DEREF(val, v);
	if (src->it->funcs->get_current_key) {
		src->it->funcs->get_current_key(src->it, key);
		if (EG(exception)) {
			zval_ptr_dtor(val);
			return -1;
		}
	} else {
		ZVAL_LONG(key, (zend_long)src->index);
	}
	return 1;
}

/* ---- the method --------------------------------------------------------- */

void php_smtpsock_send_many(php_smtpsock_session *s, zval *messages, HashTable *options, zval *return_value)
{
	many_ctx c;
	source_t src;
	zval *zv, key, val;
	zend_string *k;
	zend_long window = MANY_WINDOW_DEFAULT;
	zval *cb = NULL;
	zend_object *iter_ex = NULL;    /* the iterable's exception, thrown once the messages taken are reported */

	memset(&c, 0, sizeof(c));
	memset(&src, 0, sizeof(src));
	if (options) {
		ZEND_HASH_FOREACH_STR_KEY_VAL(options, k, zv) {
			ZVAL_DEREF(zv);
			if (k && zend_string_equals_literal(k, "window")) {
				if (Z_TYPE_P(zv) != IS_LONG) {
					zend_argument_type_error(2, "option \"window\" must be of type int, %s given", zend_zval_type_name(zv));
					return;
				}
				window = Z_LVAL_P(zv);
				if (window < 1 || window > MANY_WINDOW_MAX) {
					zend_argument_value_error(2, "option \"window\" must be between 1 and %d", MANY_WINDOW_MAX);
					return;
				}
			} else if (k && zend_string_equals_literal(k, "on_result")) {
				char *error = NULL;
				if (Z_TYPE_P(zv) == IS_NULL) {
					continue;
				}
				if (zend_fcall_info_init(zv, 0, &c.fci, &c.fcc, NULL, &error) == FAILURE) {
					zend_argument_type_error(2, "option \"on_result\" must be a valid callback%s%s",
						error ? ", " : "", error ? error : "");
					if (error) {
						efree(error);
					}
					return;
				}
				if (error) {
					efree(error);
				}
				cb = zv;
				c.has_cb = true;
			} else {
				zend_argument_value_error(2, "contains unknown option \"%s\" (known: window, on_result)",
					k ? ZSTR_VAL(k) : "(numeric key)");
				return;
			}
		} ZEND_HASH_FOREACH_END();
	}
	if (Z_TYPE_P(messages) == IS_ARRAY) {
		src.ht = Z_ARRVAL_P(messages);
		zend_hash_internal_pointer_reset_ex(src.ht, &src.pos);
	} else {
		zend_class_entry *ce = Z_OBJCE_P(messages);
		src.it = ce->get_iterator(ce, messages, 0);
		if (!src.it || EG(exception)) {
			if (src.it) {
				zend_iterator_dtor(src.it);
			}
			return;
		}
	}
	(void)cb;
	if (c.has_cb) {
		/* keep the callable alive while user code runs */
		Z_TRY_ADDREF(c.fci.function_name);
		if (c.fcc.object) {
			GC_ADDREF(c.fcc.object);
		}
	}

	array_init(return_value);
	s->in_many = true;
	c.s = s;
	c.window = (unsigned)window;
	c.cap = (size_t)window;
	c.ring = ecalloc(c.cap, sizeof(*c.ring));
	c.collect = return_value;

	for (;;) {
		int got;
		many_msg *m;

		while (!c.stop && c.count == c.cap) {
			progress(&c, true);
		}
		if (c.stop) {
			break;
		}
		got = source_next(&src, &key, &val);
		if (got <= 0) {
			if (got < 0 && EG(exception)) {
				/* report every message taken so far, then throw it */
				iter_ex = EG(exception);
				GC_ADDREF(iter_ex);
				zend_clear_exception();
			}
			break;
		}
		m = at(&c, c.count);
		memset(m, 0, sizeof(*m));
		ZVAL_COPY_VALUE(&m->key, &key);
		c.count++;
		msg_parse(m, &val);
		zval_ptr_dtor(&val);
		progress(&c, false);
	}
	if (!c.stop) {
		while (c.count > 0 && !c.stop) {
			progress(&c, true);
		}
	}
	if (c.stop) {
		/* the iterable or on_result threw: nothing more is sent; what was
		 * written is seen to its end, so that the connection stays usable
		 * and nothing is left half sent; those outcomes are not reported */
		size_t i;
		for (i = 0; i < c.count; i++) {
			if (at(&c, i)->state == M_NEW) {
				at(&c, i)->state = M_DONE;
			}
		}
		while (c.sched && smtp_sched_in_flight(c.sched) > 0) {
			smtp_event_t ev;
			if (!smtp_sched_waiting(c.sched)) {
				break;
			}
			if (php_smtpsock_next_event(s, &ev) == FAILURE || smtp_sched_event(c.sched, &ev) != SMTP_OK) {
				conn_lost(&c);
				break;
			}
			pop_outcomes(&c);
		}
		if (c.sched && smtp_sched_in_flight(c.sched) > 0) {
			conn_lost(&c);
		}
		pop_outcomes(&c);
		while (c.count > 0) {
			msg_free(at(&c, 0));
			c.head = (c.head + 1) % c.cap;
			c.count--;
		}
	}
	if (c.sched) {
		smtp_sched_free(c.sched);
		c.sched = NULL;
	}
	if (php_smtpsock_session_connected(s)) {
		smtp_client_set_pipelining(s->core, 0);
	}
	efree(c.ring);
	php_smtpsock_error_clear(&c.conn_err);
	php_smtpsock_error_clear(&c.lost_err);
	if (src.it) {
		zend_iterator_dtor(src.it);
	}
	if (c.has_cb) {
		zval_ptr_dtor(&c.fci.function_name);
		if (c.fcc.object) {
			OBJ_RELEASE(c.fcc.object);
		}
	}
	s->in_many = false;
	if (iter_ex) {
		if (EG(exception)) {
			/* on_result threw as well: the iterable's exception comes before it */
			zend_exception_set_previous(EG(exception), iter_ex);
		} else {
			zval zex;
			ZVAL_OBJ(&zex, iter_ex);
			zend_throw_exception_object(&zex);
		}
	}
	if (EG(exception)) {
		zval_ptr_dtor(return_value);
		ZVAL_UNDEF(return_value);
		return;
	}
	if (c.has_cb) {
		zend_hash_clean(Z_ARRVAL_P(return_value));
	}
}
