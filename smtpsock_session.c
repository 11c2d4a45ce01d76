/*
 * smtpsock_session.c: a session's life. Its configuration, its errors, the
 * registry of persistent connections a later request may pick up, and
 * making, closing and freeing a session. The driver's other files:
 * smtpsock_io.c (the stream: reads, writes, deadlines, busy polling),
 * smtpsock_conn.c (connecting, EHLO, STARTTLS, AUTH, the liveness check) and
 * smtpsock_txn.c (a message: envelope, body, per-recipient result).
 */
#ifdef HAVE_CONFIG_H
# include "config.h"
#endif

#include "php_smtpsock.h"
#include "smtp_core/smtp_sched.h"
#include "smtpsock_driver.h"
#include "php_network.h"
#include "ext/standard/file.h"
#include "zend_smart_str.h"
#include "ext/standard/php_string.h"
#include "zend_exceptions.h"
#include "smtp_core/smtp_queueid.h"
#include "smtp_core/smtp_addr.h"

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

/* ---- config ------------------------------------------------------------- */

void php_smtpsock_config_init(php_smtpsock_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->port = 25;
	cfg->security = PHP_SMTPSOCK_SEC_AUTO;
	cfg->timeout = 30.0;
	cfg->verify_peer = true;
	cfg->pipelining = true;
	cfg->chunking = true;
	cfg->busy_poll = PHP_SMTPSOCK_BUSY_POLL_DEFAULT;
	ZVAL_UNDEF(&cfg->context);
	ZVAL_UNDEF(&cfg->logger);
}

void php_smtpsock_config_dtor(php_smtpsock_config *cfg)
{
	zend_string **strs[] = { &cfg->hosts, &cfg->username, &cfg->password, &cfg->helo };
	size_t i;

	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if (*strs[i]) {
			zend_string_release(*strs[i]);
			*strs[i] = NULL;
		}
	}
	zval_ptr_dtor(&cfg->context);
	ZVAL_UNDEF(&cfg->context);
	zval_ptr_dtor(&cfg->logger);
	ZVAL_UNDEF(&cfg->logger);
}

int php_smtpsock_security_parse(const char *s, size_t len)
{
	static const char *const names[] = { "auto", "starttls", "tls", "none" };
	int i;

	for (i = 0; i < 4; i++) {
		if (strlen(names[i]) == len && zend_binary_strcasecmp(s, len, names[i], len) == 0) {
			return i;
		}
	}
	return -1;
}

/* ---- errors ------------------------------------------------------------- */

void php_smtpsock_error_clear(php_smtpsock_error *e)
{
	if (e->message) {
		zend_string_release(e->message);
		e->message = NULL;
	}
	if (e->has_reply) {
		smtp_reply_free(&e->reply);
		e->has_reply = false;
	}
	e->code = 0;
	e->status[0] = '\0';
}

void php_smtpsock_fail(php_smtpsock_session *s, const char *fmt, ...)
{
	va_list ap;

	php_smtpsock_error_clear(&s->err);
	va_start(ap, fmt);
	s->err.message = vstrpprintf(0, fmt, ap);
	va_end(ap);
}

void php_smtpsock_fail_reply(php_smtpsock_session *s, const char *what, const smtp_reply_t *r)
{
	php_smtpsock_error_clear(&s->err);
	s->err.code = r->code;
	memcpy(s->err.status, r->status, sizeof(s->err.status));
	s->err.message = strpprintf(0, "%s: %s", what, r->text);
	smtp_reply_init(&s->err.reply);
	s->err.has_reply = smtp_reply_copy(&s->err.reply, r) == SMTP_OK;
}

void php_smtpsock_fail_core(php_smtpsock_session *s, const char *verb, int rc)
{
	switch (rc) {
	case SMTP_E_STATE: {
		smtp_state_t st = s->core ? smtp_client_state(s->core) : SMTP_ST_CLOSED;
		const char *why;
		if (!s->core) {
			why = "not connected";
		} else if (st == SMTP_ST_READY || st == SMTP_ST_GREETED) {
			why = "no transaction is open (call mailFrom() first)";
		} else if (st == SMTP_ST_MAIL) {
			why = "no recipient yet (call rcptTo() first)";
		} else if (st == SMTP_ST_RCPT && smtp_client_rcpt_accepted(s->core) == 0) {
			why = "no recipient was accepted";
		} else if (st == SMTP_ST_RCPT || st == SMTP_ST_BDAT) {
			why = "a transaction is open (send the message or call rset() first)";
		} else {
			why = NULL;
		}
		if (why) {
			php_smtpsock_fail(s, "%s is not allowed now: %s", verb, why);
		} else {
			php_smtpsock_fail(s, "%s is not allowed now: the session is in state %s", verb, smtp_state_name(st));
		}
		break;
	}
	case SMTP_E_ARG:
		php_smtpsock_fail(s, "%s: argument contains CR, LF, NUL or an angle bracket", verb);
		break;
	case SMTP_E_TOO_LONG:
		php_smtpsock_fail(s, "%s: command line longer than %d octets", verb, SMTP_MAX_CMD_LINE);
		break;
	default:
		php_smtpsock_fail(s, "%s: %s", verb, smtp_strerror(rc));
		break;
	}
}

/* ---- persistent sessions ------------------------------------------------- */

/* php_smtpsock_pinfo (smtpsock_driver.h) resources */
static int le_pinfo;

static void pinfo_dtor(zend_resource *res)
{
	php_smtpsock_pinfo *pi = res->ptr;

	if (pi) {
		pefree(pi->ehlo_text, 1);
		pefree(pi, 1);
	}
}

void php_smtpsock_session_minit(int module_number)
{
	le_pinfo = zend_register_list_destructors_ex(NULL, pinfo_dtor, "smtpsock persistent session", module_number);
}

static zend_string *pinfo_key(const php_smtpsock_session *s)
{
	return strpprintf(0, "smtpsock-info:%s", ZSTR_VAL(s->pid));
}

php_smtpsock_pinfo *php_smtpsock_pinfo_find(const php_smtpsock_session *s)
{
	zend_string *key = pinfo_key(s);
	zend_resource *le = zend_hash_find_ptr(&EG(persistent_list), key);

	zend_string_release(key);
	return le && le->type == le_pinfo ? le->ptr : NULL;
}

void php_smtpsock_pinfo_forget(const php_smtpsock_session *s)
{
	zend_string *key = pinfo_key(s);

	zend_hash_del(&EG(persistent_list), key);
	zend_string_release(key);
}

/* Record the session's state: in use now, or left for the next request. */
void php_smtpsock_pinfo_save(const php_smtpsock_session *s, bool in_use)
{
	zend_string *key = pinfo_key(s);
	php_smtpsock_pinfo *pi = pecalloc(1, sizeof(*pi), 1);

	if (s->ehlo_text) {
		pi->ehlo_text = pemalloc(ZSTR_LEN(s->ehlo_text) + 1, 1);
		memcpy(pi->ehlo_text, ZSTR_VAL(s->ehlo_text), ZSTR_LEN(s->ehlo_text) + 1);
		pi->ehlo_len = ZSTR_LEN(s->ehlo_text);
	}
	pi->tls = s->tls;
	pi->authed = s->authed;
	pi->in_use = in_use;
	snprintf(pi->host, sizeof(pi->host), "%s", s->host ? ZSTR_VAL(s->host) : "");
	memcpy(pi->local_literal, s->local_literal, sizeof(pi->local_literal));
	zend_hash_del(&EG(persistent_list), key);
	/* the process-wide list needs a persistent copy of the key */
	zend_register_persistent_resource(ZSTR_VAL(key), ZSTR_LEN(key), pi, le_pinfo);
	zend_string_release(key);
}

/* ---- the session -------------------------------------------------------- */

void php_smtpsock_trace_to_logger(void *ud, int dir, const char *line, size_t len)
{
	php_smtpsock_session *s = ud;
	zval args[2], rv;

	if (s->logger_failed || Z_TYPE(s->cfg.logger) == IS_UNDEF) {
		return;
	}
	if (EG(exception)) {
		s->logger_failed = true;
		return;
	}
	ZVAL_STRINGL(&args[0], dir == '>' ? ">" : "<", 1);
	ZVAL_STRINGL(&args[1], line, len);
	ZVAL_UNDEF(&rv);
	s->in_logger = true;
	zend_call_known_function(s->logger_fcc.function_handler, s->logger_fcc.object,
		s->logger_fcc.called_scope, &rv, 2, args, NULL);
	s->in_logger = false;
	zval_ptr_dtor(&rv);
	zval_ptr_dtor(&args[0]);
	zval_ptr_dtor(&args[1]);
	if (EG(exception)) {
		s->logger_failed = true;
	}
}

php_smtpsock_session *php_smtpsock_session_new(php_smtpsock_config *cfg)
{
	php_smtpsock_session *s = ecalloc(1, sizeof(*s));

	s->cfg = *cfg;
	php_smtpsock_config_init(cfg);   /* ownership moved */
	if (Z_TYPE(s->cfg.logger) != IS_UNDEF) {
		if (!zend_is_callable_ex(&s->cfg.logger, NULL, 0, NULL, &s->logger_fcc, NULL)) {
			zval_ptr_dtor(&s->cfg.logger);
			ZVAL_UNDEF(&s->cfg.logger);
		}
	}
	smtp_reply_init(&s->last);
	s->rbuf = emalloc(PHP_SMTPSOCK_RBUF);
	return s;
}

bool php_smtpsock_session_connected(const php_smtpsock_session *s)
{
	return s->stream && s->core && smtp_client_state(s->core) != SMTP_ST_CLOSED;
}

void php_smtpsock_session_close(php_smtpsock_session *s)
{
	if (s->stream) {
		if (s->pid) {
			php_smtpsock_pinfo_forget(s);
			php_stream_pclose(s->stream);
		} else {
			php_stream_close(s->stream);
		}
		s->stream = NULL;
	}
	if (s->pid) {
		zend_string_release(s->pid);
		s->pid = NULL;
	}
	if (s->ehlo_text) {
		zend_string_release(s->ehlo_text);
		s->ehlo_text = NULL;
	}
	s->resumed = s->unverified = s->check_in_front = false;
	if (s->core) {
		smtp_client_free(s->core);
		s->core = NULL;
	}
	if (s->host) {
		zend_string_release(s->host);
		s->host = NULL;
	}
	s->tls = s->authed = s->peer_loopback = false;
	s->roff = s->rlen = 0;
	s->stream_timeout = 0;
	s->fd_state = 0;
	memset(s->spin_miss, 0, sizeof(s->spin_miss));
	memset(s->spin_skip, 0, sizeof(s->spin_skip));
}

/* QUIT without waiting long: used when the session is being thrown away. */
void php_smtpsock_quit_quietly(php_smtpsock_session *s)
{
	const char *p;
	size_t n;

	if (!php_smtpsock_session_connected(s) || smtp_client_quit(s->core) != SMTP_OK) {
		return;
	}
	while ((n = smtp_client_output(s->core, &p)) > 0) {
		ssize_t w = php_smtpsock_io_write(s, p, n);
		if (w <= 0) {
			break;
		}
		smtp_client_output_consumed(s->core, (size_t)w);
	}
}

void php_smtpsock_session_free(php_smtpsock_session *s, bool polite)
{
	if (!s) {
		return;
	}
	if (s->pid && s->stream && !(EG(flags) & EG_FLAGS_IN_RESOURCE_SHUTDOWN)
			&& php_smtpsock_session_connected(s) && smtp_client_state(s->core) == SMTP_ST_READY
			&& smtp_client_pending(s->core) == 0 && s->roff == s->rlen) {
		/* a clean persistent session: leave the stream open for the next request */
		php_smtpsock_pinfo_save(s, false);
		s->stream = NULL;
	} else if (polite && !(EG(flags) & EG_FLAGS_IN_RESOURCE_SHUTDOWN)) {
		/* During resource shutdown the stream may already be freed: no QUIT then
		 * (PHP itself ignores the close). */
		php_smtpsock_quit_quietly(s);
	}
	php_smtpsock_session_close(s);
	if (s->sched) {
		smtp_sched_free(s->sched);
		s->sched = NULL;
	}
	php_smtpsock_error_clear(&s->err);
	smtp_reply_free(&s->last);
	if (s->greeting) {
		zend_string_release(s->greeting);
	}
	php_smtpsock_config_dtor(&s->cfg);
	efree(s->rbuf);
	efree(s);
}
