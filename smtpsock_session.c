/*
 * smtpsock_session.c: the driver. The only place with I/O: it opens the PHP
 * stream, pumps bytes between it and the sans-I/O core, applies deadlines,
 * upgrades to TLS, and runs the set-up and the transaction that both
 * SmtpSocket and smtp_mail() use.
 */
#ifdef HAVE_CONFIG_H
# include "config.h"
#endif

#include "php_smtpsock.h"
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

#define BODY_CHUNK  (32 * 1024)     /* message octets encoded per step */
#define BDAT_CHUNK  (1024 * 1024)   /* most octets of a string message framed per BDAT */
#define FLUSH_AT    (32 * 1024)     /* write once this much is queued */
#define DIRECT_MIN  (64 * 1024)     /* string bodies at least this long may bypass the buffer */
#define PHP_SMTPSOCK_IDLE_CHECK 10.0 /* seconds idle before a NOOP checks a reused session */

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

/* What a persistent stream's SMTP session had reached, kept beside the stream
 * in EG(persistent_list) under "smtpsock-info:" + the stream's persistent id. */
typedef struct {
	char *ehlo_text;     /* EHLO reply as received, NULL after HELO */
	size_t ehlo_len;
	bool tls;
	bool authed;
	bool in_use;         /* a session of this process holds the stream now */
	char host[300];
	char local_literal[64];
} pinfo_t;

static int le_pinfo;

static void pinfo_dtor(zend_resource *res)
{
	pinfo_t *pi = res->ptr;

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

static pinfo_t *pinfo_find(const php_smtpsock_session *s)
{
	zend_string *key = pinfo_key(s);
	zend_resource *le = zend_hash_find_ptr(&EG(persistent_list), key);

	zend_string_release(key);
	return le && le->type == le_pinfo ? le->ptr : NULL;
}

static void pinfo_forget(const php_smtpsock_session *s)
{
	zend_string *key = pinfo_key(s);

	zend_hash_del(&EG(persistent_list), key);
	zend_string_release(key);
}

/* Record the session's state: in use now, or left for the next request. */
static void pinfo_save(const php_smtpsock_session *s, bool in_use)
{
	zend_string *key = pinfo_key(s);
	pinfo_t *pi = pecalloc(1, sizeof(*pi), 1);

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

/* ---- captured warnings and I/O ------------------------------------------ */

/*
 * PHP's stream layer reports TLS and connect problems as warnings. While it
 * works for us, those warnings must reach neither the user's error handler
 * nor error_get_last(): the first one is captured (EH_THROW turns it into an
 * exception we take apart) and becomes the detail of our own error.
 */
typedef struct {
	zend_error_handling eh;
	zend_object *prior;       /* an exception already pending: left alone */
} capture_t;

static void capture_begin(capture_t *c)
{
	c->prior = EG(exception);
	zend_replace_error_handling(EH_THROW, zend_ce_error_exception, &c->eh);
}

/* The captured message ("func(): " prefix dropped, one line), or NULL. */
static zend_string *capture_end(capture_t *c)
{
	zend_string *detail = NULL;

	zend_restore_error_handling(&c->eh);
	if (EG(exception) && EG(exception) != c->prior) {
		zval rv, *msg = zend_read_property_ex(EG(exception)->ce, EG(exception), ZSTR_KNOWN(ZEND_STR_MESSAGE), 1, &rv);
		if (Z_TYPE_P(msg) == IS_STRING) {
			const char *p = Z_STRVAL_P(msg), *colon = strstr(p, "(): ");
			char *q;
			if (colon) {
				p = colon + 4;
			}
			detail = zend_string_init(p, strlen(p), 0);
			for (q = ZSTR_VAL(detail); (q = strpbrk(q, "\r\n")); ) {
				*q = ' ';
			}
		}
		zend_clear_exception();
	}
	return detail;
}

/* Stream I/O for the session. On TLS the stream layer warns by itself
 * (reset, bad record): such warnings are kept from the user, the failure is
 * reported by the caller. */
static ssize_t io_write(php_smtpsock_session *s, const char *p, size_t n)
{
	capture_t cap;
	zend_string *warning;
	ssize_t w;

	if (!s->tls) {
		return php_stream_write(s->stream, p, n);
	}
	capture_begin(&cap);
	w = php_stream_write(s->stream, p, n);
	if ((warning = capture_end(&cap))) {
		zend_string_release(warning);
	}
	return w;
}

static ssize_t io_read(php_smtpsock_session *s, char *buf, size_t n)
{
	capture_t cap;
	zend_string *warning;
	ssize_t r;

	if (!s->tls) {
		return php_stream_read(s->stream, buf, n);
	}
	capture_begin(&cap);
	r = php_stream_read(s->stream, buf, n);
	if ((warning = capture_end(&cap))) {
		zend_string_release(warning);
	}
	return r;
}

/* ---- the session -------------------------------------------------------- */

static void trace_to_logger(void *ud, int dir, const char *line, size_t len)
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
			pinfo_forget(s);
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
	s->resumed = false;
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
static void quit_quietly(php_smtpsock_session *s)
{
	const char *p;
	size_t n;

	if (!php_smtpsock_session_connected(s) || smtp_client_quit(s->core) != SMTP_OK) {
		return;
	}
	while ((n = smtp_client_output(s->core, &p)) > 0) {
		ssize_t w = io_write(s, p, n);
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
		pinfo_save(s, false);
		s->stream = NULL;
	} else if (polite && !(EG(flags) & EG_FLAGS_IN_RESOURCE_SHUTDOWN)) {
		/* During resource shutdown the stream may already be freed: no QUIT then
		 * (PHP itself ignores the close). */
		quit_quietly(s);
	}
	php_smtpsock_session_close(s);
	php_smtpsock_error_clear(&s->err);
	smtp_reply_free(&s->last);
	if (s->greeting) {
		zend_string_release(s->greeting);
	}
	php_smtpsock_config_dtor(&s->cfg);
	efree(s->rbuf);
	efree(s);
}

/* ---- busy polling --------------------------------------------------------
 *
 * A reply from a server on the same machine (a local relay, a sidecar MTA)
 * comes back within tens of microseconds, but a process that sleeps in the
 * kernel to wait for it pays a wake-up on top, and on virtual machines that
 * costs more than the reply itself. So before sleeping, the driver polls the
 * socket without blocking for up to busy_poll microseconds (yielding the CPU
 * between polls, so that a server on the same CPU is not held up). Whether a
 * reply arrived within that time is remembered per kind of command: after a
 * miss, that kind sleeps at once for the next 1, 3, 7, ... 63 waits, so a
 * slow or distant server costs at most one poll period per 64 waits; a sleep
 * that ended within the period, or a poll that saw the reply, makes the next
 * wait poll again. Never on a process confined to one CPU. */

#define SPIN_MISS_MAX 6

static int usable_cpus(void)
{
	static int cpus = 0;

	if (cpus == 0) {
		int n = 0;
#if defined(__linux__) && defined(CPU_COUNT)
		cpu_set_t set;
		if (sched_getaffinity(0, sizeof(set), &set) == 0) {
			n = CPU_COUNT(&set);
		}
#elif defined(PHP_WIN32)
		DWORD_PTR proc_mask, sys_mask;
		if (GetProcessAffinityMask(GetCurrentProcess(), &proc_mask, &sys_mask)) {
			for (; proc_mask; proc_mask &= proc_mask - 1) {
				n++;
			}
		}
#endif
#if !defined(PHP_WIN32) && defined(_SC_NPROCESSORS_ONLN)
		if (n <= 0) {
			n = (int)sysconf(_SC_NPROCESSORS_ONLN);
		}
#endif
		cpus = n > 0 ? n : 1;
	}
	return cpus;
}

static void yield_cpu(void)
{
#ifdef PHP_WIN32
	SwitchToThread();
#else
	sched_yield();
#endif
}

static bool session_fd(php_smtpsock_session *s)
{
	if (s->fd_state == 0) {
		php_socket_t fd;
		s->fd_state = -1;
		if (php_stream_cast(s->stream, PHP_STREAM_AS_FD_FOR_SELECT | PHP_STREAM_CAST_INTERNAL, (void **)&fd, 0) == SUCCESS
				&& fd != SOCK_ERR) {
			s->fd = fd;
			s->fd_state = 1;
		}
	}
	return s->fd_state == 1;
}

/* Before a read that would sleep: poll for up to busy_poll microseconds.
 * Returns the time the wait began when the read will sleep without having
 * polled (for busy_poll_slept()), else 0. */
static php_smtpsock_hrtime_t busy_poll(php_smtpsock_session *s)
{
	smtp_cmd_t cmd;
	php_smtpsock_hrtime_t start, until;

	if (s->cfg.busy_poll <= 0 || usable_cpus() < 2 || !session_fd(s)) {
		return 0;
	}
	cmd = smtp_client_awaiting(s->core);
	start = php_smtpsock_hrtime();
	if (s->spin_skip[cmd] > 0) {
		s->spin_skip[cmd]--;
		return start;
	}
	until = start + (php_smtpsock_hrtime_t)s->cfg.busy_poll * 1000;
	do {
		if (php_pollfd_for_ms(s->fd, PHP_POLLREADABLE, 0) != 0) {
			s->spin_miss[cmd] = 0;   /* readable, or an error the read will report */
			return 0;
		}
		yield_cpu();
	} while (php_smtpsock_hrtime() < until);
	if (s->spin_miss[cmd] < SPIN_MISS_MAX) {
		s->spin_miss[cmd]++;
	}
	s->spin_skip[cmd] = (unsigned char)((1u << s->spin_miss[cmd]) - 1);
	return 0;
}

/* A read that slept without polling first got its bytes: when they came
 * within the poll period, poll again next time. */
static void busy_poll_slept(php_smtpsock_session *s, php_smtpsock_hrtime_t start)
{
	smtp_cmd_t cmd = smtp_client_awaiting(s->core);

	if (php_smtpsock_hrtime() - start <= (php_smtpsock_hrtime_t)s->cfg.busy_poll * 1000) {
		s->spin_miss[cmd] = 0;
		s->spin_skip[cmd] = 0;
	}
}

/* ---- the pump ----------------------------------------------------------- */

/*
 * Before waiting again for a reply when part of the server's answer has
 * already been read and nothing of ours went out since (so no data segment
 * of ours carried the acknowledgement): acknowledge at once.
 *
 * A server that answers pipelined commands in several writes sends the
 * later ones, being small, only once the earlier ones are acknowledged
 * (Nagle; Postfix's smtpd keeps it on). Postfix flushes its pending replies
 * whenever it needs more input, so the replies to MAIL and RCPT go out as
 * soon as it starts reading a BDAT chunk longer than its read buffer, and
 * the chunk's own reply later as a second write. This side, with nothing
 * more to send, would acknowledge the first write only when its delayed-ACK
 * timer fires: a stall of about 40 ms per message. TCP_QUICKACK (Linux)
 * sends the owed acknowledgement now; it does nothing where nothing is owed,
 * so a reply read in one piece costs no extra packet or system call.
 */
static void ack_now(php_smtpsock_session *s)
{
	s->ack_owed = false;
#ifdef TCP_QUICKACK
	if (session_fd(s)) {
		int one = 1;
		setsockopt(s->fd, IPPROTO_TCP, TCP_QUICKACK, (char *)&one, sizeof(one));
	}
#endif
}



static double now_seconds(void)
{
	return (double)php_smtpsock_hrtime() / 1e9;
}

/* The stream's I/O timeout; set only when it changes (a stream option call
 * per read and write adds up on a busy connection). */
static void set_timeout(php_smtpsock_session *s, double seconds)
{
	struct timeval tv;

	if (seconds < 0.001) {
		seconds = 0.001;
	}
	if (s->stream_timeout == seconds) {
		return;
	}
	s->stream_timeout = seconds;
	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
	php_stream_set_option(s->stream, PHP_STREAM_OPTION_READ_TIMEOUT, 0, &tv);
}

zend_result php_smtpsock_flush(php_smtpsock_session *s)
{
	const char *p;
	size_t n;

	if (!s->stream) {
		php_smtpsock_fail(s, "not connected");
		return FAILURE;
	}
	if ((n = smtp_client_output(s->core, &p)) == 0) {
		return SUCCESS;
	}
	set_timeout(s, s->cfg.timeout);
	while ((n = smtp_client_output(s->core, &p)) > 0) {
		ssize_t w = io_write(s, p, n);
		if (w <= 0) {
			php_smtpsock_fail(s, "could not write to %s: connection closed or timed out after %g s",
				s->host ? ZSTR_VAL(s->host) : "the server", s->cfg.timeout);
			php_smtpsock_session_close(s);
			return FAILURE;
		}
		smtp_client_output_consumed(s->core, (size_t)w);
		s->ack_owed = false;
	}
	return SUCCESS;
}

zend_result php_smtpsock_next_event(php_smtpsock_session *s, smtp_event_t *ev)
{
	double deadline;

	if (!php_smtpsock_session_connected(s)) {
		php_smtpsock_fail(s, "not connected");
		return FAILURE;
	}
	if (php_smtpsock_flush(s) == FAILURE) {
		return FAILURE;
	}
	deadline = 0;   /* set when a read is first needed */
	for (;;) {
		double left;
		ssize_t n;
		php_smtpsock_hrtime_t wait_start;

		if (s->roff < s->rlen) {
			size_t used = 0;
			int rc = smtp_client_feed(s->core, s->rbuf + s->roff, s->rlen - s->roff, &used, ev);

			s->roff += used;
			if (rc == 1) {
				s->replies++;
				s->has_last = smtp_reply_copy(&s->last, ev->reply) == SMTP_OK;
				if (ev->closing && ev->cmd != SMTP_CMD_QUIT) {
					php_smtpsock_fail_reply(s, "server closed the session", ev->reply);
					php_smtpsock_session_close(s);
					return FAILURE;
				}
				return SUCCESS;
			}
			if (rc < 0) {
				php_smtpsock_fail(s, "protocol error from %s: %s",
					s->host ? ZSTR_VAL(s->host) : "the server", smtp_strerror(rc));
				php_smtpsock_session_close(s);
				return FAILURE;
			}
			s->roff = s->rlen = 0;
		}
		if (deadline == 0) {
			/* the first read of this reply: the whole timeout */
			deadline = now_seconds() + s->cfg.timeout;
			left = s->cfg.timeout;
		} else {
			left = deadline - now_seconds();
		}
		if (left <= 0) {
			php_smtpsock_fail(s, "timed out after %g s waiting for a reply from %s",
				s->cfg.timeout, s->host ? ZSTR_VAL(s->host) : "the server");
			php_smtpsock_session_close(s);
			return FAILURE;
		}
		if (s->ack_owed) {
			ack_now(s);
		}
		wait_start = busy_poll(s);
		set_timeout(s, left);
		n = io_read(s, s->rbuf, PHP_SMTPSOCK_RBUF);
		if (wait_start && n > 0) {
			busy_poll_slept(s, wait_start);
		}
		if (n > 0) {
			s->ack_owed = true;
			s->last_io = now_seconds();
			s->roff = 0;
			s->rlen = (size_t)n;
			continue;
		}
		if (s->stream->eof) {
			bool mid = smtp_client_mid_reply(s->core);
			smtp_client_eof(s->core);
			php_smtpsock_fail(s, "connection closed by %s%s",
				s->host ? ZSTR_VAL(s->host) : "the server", mid ? " in the middle of a reply" : "");
			php_smtpsock_session_close(s);
			return FAILURE;
		}
		/* timeout slice or transient: the deadline check above decides */
	}
}

zend_result php_smtpsock_roundtrip(php_smtpsock_session *s, const char *what, smtp_event_t *ev)
{
	if (php_smtpsock_next_event(s, ev) == FAILURE) {
		return FAILURE;
	}
	if (!ev->ok && !ev->intermediate) {
		php_smtpsock_fail_reply(s, what, ev->reply);
		return FAILURE;
	}
	return SUCCESS;
}

/* ---- connecting --------------------------------------------------------- */

typedef struct {
	char host[256];
	zend_long port;
	bool tls;
	bool v6;
} host_spec;

/* Parse one entry of a host list: [tls:// | ssl:// | tcp://] (name | IPv4 |
 * [IPv6] | IPv6) [:port]. */
static bool parse_host(const char *p, size_t len, zend_long default_port, host_spec *h)
{
	const char *colon;
	size_t hlen;

	memset(h, 0, sizeof(*h));
	h->port = default_port;
	if (len > 6 && (zend_binary_strncasecmp(p, len, "tls://", 6, 6) == 0
			|| zend_binary_strncasecmp(p, len, "ssl://", 6, 6) == 0)) {
		h->tls = true;
		p += 6;
		len -= 6;
	} else if (len > 6 && zend_binary_strncasecmp(p, len, "tcp://", 6, 6) == 0) {
		p += 6;
		len -= 6;
	}
	if (len == 0) {
		return false;
	}
	if (p[0] == '[') {
		const char *close = memchr(p, ']', len);
		if (!close) {
			return false;
		}
		hlen = (size_t)(close - p - 1);
		if (hlen == 0 || hlen >= sizeof(h->host)) {
			return false;
		}
		memcpy(h->host, p + 1, hlen);
		h->v6 = true;
		p = close + 1;
		len -= hlen + 2;
		if (len > 0 && p[0] != ':') {
			return false;
		}
		colon = len > 0 ? p : NULL;
	} else {
		colon = memchr(p, ':', len);
		if (colon && memchr(colon + 1, ':', len - (size_t)(colon - p) - 1)) {
			/* a bare IPv6 address: no port */
			if (len >= sizeof(h->host)) {
				return false;
			}
			memcpy(h->host, p, len);
			h->v6 = true;
			colon = NULL;
		} else {
			hlen = colon ? (size_t)(colon - p) : len;
			if (hlen == 0 || hlen >= sizeof(h->host)) {
				return false;
			}
			memcpy(h->host, p, hlen);
		}
		len = colon ? len - (size_t)(colon - p) : 0;
		p = colon ? colon : p + len;
	}
	if (colon) {
		zend_long port = 0;
		size_t i;
		if (len < 2) {
			return false;
		}
		for (i = 1; i < len; i++) {
			if (p[i] < '0' || p[i] > '9' || port > 65535) {
				return false;
			}
			port = port * 10 + (p[i] - '0');
		}
		h->port = port;
	}
	if (h->port < 1 || h->port > 65535) {
		return false;
	}
	for (hlen = 0; h->host[hlen]; hlen++) {
		unsigned char ch = (unsigned char)h->host[hlen];
		if (ch <= ' ' || ch == '/' || ch == '@' || ch >= 0x7f) {
			return false;
		}
	}
	return true;
}

/* A copy of a context's options, two levels deep (wrapper => options), so
 * that what the session sets on its copy never reaches the original. */
static void copy_context_options(php_stream_context *to, const php_stream_context *from)
{
	zend_string *wrapper;
	zval *opts;

	if (Z_TYPE(from->options) != IS_ARRAY) {
		return;
	}
	ZEND_HASH_FOREACH_STR_KEY_VAL(Z_ARRVAL(from->options), wrapper, opts) {
		zval copy;
		if (!wrapper) {
			continue;
		}
		ZVAL_DEREF(opts);
		if (Z_TYPE_P(opts) == IS_ARRAY) {
			ZVAL_ARR(&copy, zend_array_dup(Z_ARRVAL_P(opts)));
		} else {
			ZVAL_COPY(&copy, opts);
		}
		zend_hash_update(Z_ARRVAL(to->options), wrapper, &copy);
	} ZEND_HASH_FOREACH_END();
}

/* The session's stream context, made at its first connection: a copy of the
 * user's context option (its ssl options apply; the user's own context is
 * never changed), or a new one with verify_peer from the settings. Either way
 * the stream layer reports problems on it as warnings, which the driver
 * captures (php_smtpsock_context_errors_as_warnings: PHP 8.6's error_mode
 * and error_store). It replaces cfg.context, which holds its reference. */
static php_stream_context *session_context(php_smtpsock_session *s)
{
	php_stream_context *ctx, *user = NULL;
	zval v;

	if (s->own_context) {
		return php_stream_context_from_zval(&s->cfg.context, 0);
	}
	if (Z_TYPE(s->cfg.context) == IS_RESOURCE) {
		user = php_stream_context_from_zval(&s->cfg.context, 0);
	}
	ctx = php_stream_context_alloc();
	if (user) {
		copy_context_options(ctx, user);
	} else if (!s->cfg.verify_peer) {
		ZVAL_FALSE(&v);
		php_stream_context_set_option(ctx, "ssl", "verify_peer", &v);
		php_stream_context_set_option(ctx, "ssl", "verify_peer_name", &v);
	}
	php_smtpsock_context_errors_as_warnings(ctx);
	/* the session's zval owns the new context's one reference */
	zval_ptr_dtor(&s->cfg.context);
	ZVAL_RES(&s->cfg.context, ctx->res);
	s->own_context = true;
	return ctx;
}

/* Learn the peer's and our own address: loopback check and address literal. */
static void inspect_addresses(php_smtpsock_session *s, char *literal, size_t literal_size)
{
	struct sockaddr *sa = NULL;
	socklen_t salen = 0;
	char buf[INET6_ADDRSTRLEN];

	literal[0] = '\0';
	s->peer_loopback = false;
	if (php_stream_xport_get_name(s->stream, 1, NULL, (void **)&sa, &salen) == 0 && sa) {
		if (sa->sa_family == AF_INET) {
			const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
			s->peer_loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
		}
#ifdef HAVE_IPV6
		else if (sa->sa_family == AF_INET6) {
			const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
			s->peer_loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)
				|| (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127);
		}
#endif
		efree(sa);
	}
	sa = NULL;
	if (php_stream_xport_get_name(s->stream, 0, NULL, (void **)&sa, &salen) == 0 && sa) {
		if (sa->sa_family == AF_INET
				&& inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, sizeof(buf))) {
			snprintf(literal, literal_size, "[%s]", buf);
		}
#ifdef HAVE_IPV6
		else if (sa->sa_family == AF_INET6
				&& inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, sizeof(buf))) {
			snprintf(literal, literal_size, "[IPv6:%s]", buf);
		}
#endif
		efree(sa);
	}
}

static void set_nodelay(php_stream *stream)
{
	php_socket_t fd;
	int one = 1;

	if (php_stream_cast(stream, PHP_STREAM_AS_SOCKETD, (void **)&fd, 0) == SUCCESS && fd != SOCK_ERR) {
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, (char *)&one, sizeof(one));
	}
}


/* A stream (new or picked up) becomes the session's: a fresh core (traced
 * only when there is a logger), nothing read yet, its timeout and socket
 * not known yet. */
static void attach(php_smtpsock_session *s, php_stream *stream)
{
	s->stream = stream;
	s->stream_timeout = 0;
	s->fd_state = 0;
	s->ack_owed = false;
	s->roff = s->rlen = 0;
	s->core = smtp_client_new();
	if (Z_TYPE(s->cfg.logger) != IS_UNDEF) {
		smtp_client_set_trace(s->core, trace_to_logger, s);
	}
}

/* Pick up the persistent stream an earlier request left READY: its state
 * from the info saved beside it, then a NOOP proves the session alive.
 * FAILURE (nothing left behind) means: connect afresh. */
#define RESUME_BUSY 2   /* another session of this process holds the stream */

static int resume(php_smtpsock_session *s)
{
	php_stream *stream = NULL;
	pinfo_t *pi;
	smtp_event_t ev;

	if (php_stream_from_persistent_id(ZSTR_VAL(s->pid), &stream) != PHP_STREAM_PERSISTENT_SUCCESS) {
		return FAILURE;
	}
	pi = pinfo_find(s);
	if (pi && pi->in_use) {
		return RESUME_BUSY;
	}
	/* no info: an orphan left by an aborted request; dead: gone. Close either. */
	if (!pi || php_stream_set_option(stream, PHP_STREAM_OPTION_CHECK_LIVENESS, 0, NULL) != PHP_STREAM_OPTION_RETURN_OK) {
		pinfo_forget(s);
		php_stream_pclose(stream);
		return FAILURE;
	}
	pi->in_use = true;
	attach(s, stream);
	s->tls = pi->tls;
	s->authed = pi->authed;
	memcpy(s->local_literal, pi->local_literal, sizeof(s->local_literal));
	s->ehlo_text = pi->ehlo_text ? zend_string_init(pi->ehlo_text, pi->ehlo_len, 0) : NULL;
	if (smtp_client_resume(s->core, pi->ehlo_text ? pi->ehlo_text : "", pi->ehlo_len, pi->tls) != SMTP_OK
			|| smtp_client_noop(s->core) != SMTP_OK
			|| php_smtpsock_flush(s) == FAILURE
			|| php_smtpsock_next_event(s, &ev) == FAILURE || !ev.ok) {
		/* dead or confused: drop it (next_event may have closed it already) */
		if (s->stream) {
			pinfo_forget(s);
			php_stream_pclose(s->stream);
			s->stream = NULL;
		}
		if (s->core) {
			smtp_client_free(s->core);
			s->core = NULL;
		}
		if (s->ehlo_text) {
			zend_string_release(s->ehlo_text);
			s->ehlo_text = NULL;
		}
		s->tls = s->authed = false;
		php_smtpsock_error_clear(&s->err);
		return FAILURE;
	}
	/* the info stays marked in use until this session leaves it clean */
	s->resumed = true;
	return SUCCESS;
}

static zend_result connect_one(php_smtpsock_session *s, const host_spec *h)
{
	php_stream_context *ctx = session_context(s);
	zend_string *errstr = NULL;
	int errcode = 0;
	struct timeval tv;
	char *uri;
	size_t urilen;
	smtp_event_t ev;
	bool implicit_tls = h->tls || s->cfg.security == PHP_SMTPSOCK_SEC_TLS;

	if (h->v6 && !php_stream_context_get_option(ctx, "ssl", "peer_name")) {
		/* PHP would check the certificate against "[::1]", brackets included */
		zval pn;
		ZVAL_STRING(&pn, h->host);
		php_stream_context_set_option(ctx, "ssl", "peer_name", &pn);
		zval_ptr_dtor(&pn);
	}
	tv.tv_sec = (time_t)s->cfg.timeout;
	tv.tv_usec = (suseconds_t)((s->cfg.timeout - (double)tv.tv_sec) * 1e6);
	urilen = spprintf(&uri, 0, h->v6 ? "%s://[%s]:" ZEND_LONG_FMT : "%s://%s:" ZEND_LONG_FMT,
		implicit_tls ? "ssl" : "tcp", h->host, h->port);
	if (s->host) {
		zend_string_release(s->host);
	}
	s->host = strpprintf(0, h->v6 ? "[%s]:" ZEND_LONG_FMT : "%s:" ZEND_LONG_FMT, h->host, h->port);

	if (s->pid) {
		zend_string_release(s->pid);
		s->pid = NULL;
	}
	if (s->cfg.persistent) {
		/* one persistent stream per destination and credentials */
		zend_string *pid = strpprintf(0, "smtpsock:%s|%s|%lx|%d|%d|%s", uri,
			s->cfg.username ? ZSTR_VAL(s->cfg.username) : "",
			(unsigned long)(s->cfg.password ? ZSTR_HASH(s->cfg.password) : 0),
			(int)s->cfg.security, (int)s->cfg.verify_peer, s->cfg.helo ? ZSTR_VAL(s->cfg.helo) : "");
		int r;
		s->pid = zend_string_copy(pid);
		r = resume(s);
		if (r == SUCCESS) {
			zend_string_release(pid);
			efree(uri);
			return SUCCESS;
		}
		if (r == RESUME_BUSY) {
			/* this process already uses that stream: a plain connection for this session */
			zend_string_release(s->pid);
			s->pid = NULL;
			zend_string_release(pid);
			pid = NULL;
		}
		if (pid) {
			/* a failed resume may have gone through close(): restore what it dropped */
			if (!s->pid) {
				s->pid = zend_string_copy(pid);
			}
			zend_string_release(pid);
		}
		if (!s->host) {
			s->host = strpprintf(0, h->v6 ? "[%s]:" ZEND_LONG_FMT : "%s:" ZEND_LONG_FMT, h->host, h->port);
		}
	}
	{
		capture_t cap;
		zend_string *warning;
		capture_begin(&cap);
		s->stream = php_stream_xport_create(uri, urilen, 0, STREAM_XPORT_CLIENT | STREAM_XPORT_CONNECT,
			s->pid ? ZSTR_VAL(s->pid) : NULL, &tv, ctx, &errstr, &errcode);
		warning = capture_end(&cap);
		if (!s->stream && warning) {
			/* the warning (e.g. the certificate problem) says more than errstr */
			if (errstr) {
				zend_string_release(errstr);
			}
			errstr = warning;
		} else if (warning) {
			zend_string_release(warning);
		}
	}
	efree(uri);
	if (!s->stream) {
		zend_string *detail = errstr ? zend_string_copy(errstr) : NULL;
		php_smtpsock_fail(s, "could not connect to %s: %s", ZSTR_VAL(s->host),
			detail ? ZSTR_VAL(detail) : "unknown error");
		if (detail) {
			zend_string_release(detail);
		}
		if (errstr) {
			zend_string_release(errstr);
		}
		return FAILURE;
	}
	if (errstr) {
		zend_string_release(errstr);
	}
	s->stream->flags |= PHP_STREAM_FLAG_SUPPRESS_ERRORS;
	php_stream_set_option(s->stream, PHP_STREAM_OPTION_READ_BUFFER, PHP_STREAM_BUFFER_NONE, NULL);
	set_nodelay(s->stream);
	s->tls = implicit_tls;
	inspect_addresses(s, s->local_literal, sizeof(s->local_literal));

	attach(s, s->stream);
	if (php_smtpsock_next_event(s, &ev) == FAILURE) {
		return FAILURE;
	}
	if (!ev.ok) {
		php_smtpsock_fail_reply(s, "greeting refused", ev.reply);
		quit_quietly(s);
		php_smtpsock_session_close(s);
		return FAILURE;
	}
	if (s->greeting) {
		zend_string_release(s->greeting);
	}
	s->greeting = zend_string_init(ev.reply->text, ev.reply->text_len, 0);
	if (s->pid) {
		pinfo_save(s, true);
	}
	return SUCCESS;
}

/* Try each host of the list in order until one greets with 220. */
static zend_result connect_any(php_smtpsock_session *s)
{
	const char *list = s->cfg.hosts ? ZSTR_VAL(s->cfg.hosts) : "localhost";
	const char *end = list + strlen(list);
	smart_str errors = {0};
	bool tried = false;

	php_smtpsock_session_close(s);
	while (list < end) {
		const char *semi = memchr(list, ';', (size_t)(end - list));
		const char *e = semi ? semi : end;
		const char *b = list;
		host_spec h;

		list = semi ? semi + 1 : end;
		while (b < e && (*b == ' ' || *b == '\t')) b++;
		while (e > b && (e[-1] == ' ' || e[-1] == '\t')) e--;
		if (b == e) {
			continue;
		}
		tried = true;
		if (!parse_host(b, (size_t)(e - b), s->cfg.port, &h)) {
			php_smtpsock_fail(s, "invalid host \"%.*s\"", (int)(e - b), b);
		} else if (connect_one(s, &h) == SUCCESS) {
			smart_str_free(&errors);
			return SUCCESS;
		}
		if (errors.s) {
			smart_str_appends(&errors, "; ");
		}
		smart_str_append(&errors, s->err.message);
	}
	if (!tried) {
		php_smtpsock_fail(s, "no SMTP host configured");
		smart_str_free(&errors);
		return FAILURE;
	}
	smart_str_0(&errors);
	if (errors.s && s->err.message && !zend_string_equals(errors.s, s->err.message)) {
		/* several hosts failed: name them all, keep the last reply's code */
		zend_string_release(s->err.message);
		s->err.message = errors.s;
	} else {
		smart_str_free(&errors);
	}
	return FAILURE;
}

/* This host's fully qualified name, or "" when it has none (a name with a
 * dot): looked up once per process (per thread with ZTS), not per connection. */
static const char *host_fqdn(void)
{
	char name[256];

	if (SMTPSOCK_G(fqdn_done)) {
		return SMTPSOCK_G(fqdn);
	}
	SMTPSOCK_G(fqdn_done) = true;
	SMTPSOCK_G(fqdn)[0] = '\0';
	if (gethostname(name, sizeof(name) - 1) != 0) {
		return SMTPSOCK_G(fqdn);
	}
	name[sizeof(name) - 1] = '\0';
	if (strchr(name, '.') && name[strlen(name) - 1] != '.') {
		snprintf(SMTPSOCK_G(fqdn), sizeof(SMTPSOCK_G(fqdn)), "%s", name);
		return SMTPSOCK_G(fqdn);
	}
#ifndef PHP_WIN32
	{
		struct addrinfo hints, *res = NULL;
		memset(&hints, 0, sizeof(hints));
		hints.ai_flags = AI_CANONNAME;
		if (getaddrinfo(name, NULL, &hints, &res) == 0 && res) {
			if (res->ai_canonname && strchr(res->ai_canonname, '.')) {
				snprintf(SMTPSOCK_G(fqdn), sizeof(SMTPSOCK_G(fqdn)), "%s", res->ai_canonname);
			}
			freeaddrinfo(res);
		}
	}
#endif
	return SMTPSOCK_G(fqdn);
}

/* The EHLO name: configured, else the FQDN, else our address literal. */
static zend_string *helo_name(php_smtpsock_session *s)
{
	const char *fqdn;

	if (s->cfg.helo && ZSTR_LEN(s->cfg.helo)) {
		return zend_string_copy(s->cfg.helo);
	}
	fqdn = host_fqdn();
	if (*fqdn) {
		return zend_string_init(fqdn, strlen(fqdn), 0);
	}
	if (s->local_literal[0]) {
		return zend_string_init(s->local_literal, strlen(s->local_literal), 0);
	}
	return zend_string_init("[127.0.0.1]", sizeof("[127.0.0.1]") - 1, 0);
}

/* Keep the accepted EHLO reply (persistent sessions resume from it). */
static void remember_ehlo(php_smtpsock_session *s)
{
	if (s->ehlo_text) {
		zend_string_release(s->ehlo_text);
		s->ehlo_text = NULL;
	}
	if (smtp_client_esmtp(s->core) && s->has_last) {
		s->ehlo_text = zend_string_init(s->last.text, s->last.text_len, 0);
	}
}

zend_result php_smtpsock_hello(php_smtpsock_session *s, zend_string *domain, bool use_ehlo, bool fallback)
{
	zend_string *name = domain ? zend_string_copy(domain) : helo_name(s);
	smtp_event_t ev;
	int rc = use_ehlo ? smtp_client_ehlo(s->core, ZSTR_VAL(name), ZSTR_LEN(name))
	                  : smtp_client_helo(s->core, ZSTR_VAL(name), ZSTR_LEN(name));

	if (rc != SMTP_OK) {
		php_smtpsock_fail_core(s, use_ehlo ? "EHLO" : "HELO", rc);
		zend_string_release(name);
		return FAILURE;
	}
	if (php_smtpsock_next_event(s, &ev) == FAILURE) {
		zend_string_release(name);
		return FAILURE;
	}
	if (!ev.ok) {
		if (!use_ehlo || !fallback || ev.reply->code < 500) {
			php_smtpsock_fail_reply(s, use_ehlo ? "EHLO refused" : "HELO refused", ev.reply);
			zend_string_release(name);
			return FAILURE;
		}
		rc = smtp_client_helo(s->core, ZSTR_VAL(name), ZSTR_LEN(name));
		if (rc != SMTP_OK) {
			php_smtpsock_fail_core(s, "HELO", rc);
			zend_string_release(name);
			return FAILURE;
		}
		if (php_smtpsock_roundtrip(s, "HELO refused", &ev) == FAILURE) {
			zend_string_release(name);
			return FAILURE;
		}
	}
	zend_string_release(name);
	remember_ehlo(s);
	return SUCCESS;
}

zend_result php_smtpsock_starttls(php_smtpsock_session *s, bool tolerate_refusal)
{
	smtp_event_t ev;
	zend_string *detail;
	capture_t cap;
	int rc = smtp_client_starttls(s->core), ok;

	if (rc != SMTP_OK) {
		php_smtpsock_fail_core(s, "STARTTLS", rc);
		return FAILURE;
	}
	if (php_smtpsock_next_event(s, &ev) == FAILURE) {
		return FAILURE;
	}
	if (!ev.ok) {
		if (tolerate_refusal && ev.reply->code == 454) {
			return SUCCESS;
		}
		php_smtpsock_fail_reply(s, "STARTTLS refused", ev.reply);
		if (s->cfg.security == PHP_SMTPSOCK_SEC_STARTTLS) {
			/* TLS is required: not another byte in clear, not even QUIT */
			php_smtpsock_session_close(s);
		}
		return FAILURE;
	}
	/* Nothing the server sent before the handshake may be read after it. */
	if (s->roff != s->rlen) {
		php_smtpsock_fail(s, "protocol error from %s: %s", ZSTR_VAL(s->host),
			smtp_strerror(SMTP_E_TLS_INJECTION));
		php_smtpsock_session_close(s);
		return FAILURE;
	}
	set_timeout(s, s->cfg.timeout);
	capture_begin(&cap);
	ok = php_stream_xport_crypto_setup(s->stream, STREAM_CRYPTO_METHOD_TLS_ANY_CLIENT, NULL) >= 0
		&& php_stream_xport_crypto_enable(s->stream, 1) > 0;
	detail = capture_end(&cap);
	if (!ok) {
		php_smtpsock_fail(s, "TLS handshake with %s failed: %s", ZSTR_VAL(s->host),
			detail ? ZSTR_VAL(detail) : "the server closed the connection or did not answer with TLS");
		if (detail) {
			zend_string_release(detail);
		}
		php_smtpsock_session_close(s);
		return FAILURE;
	}
	if (detail) {
		zend_string_release(detail);
	}
	s->tls = true;
	if ((rc = smtp_client_tls_done(s->core)) != SMTP_OK) {
		php_smtpsock_fail_core(s, "EHLO", rc);
		return FAILURE;
	}
	if (php_smtpsock_roundtrip(s, "EHLO after STARTTLS refused", &ev) == FAILURE) {
		return FAILURE;
	}
	remember_ehlo(s);
	return SUCCESS;
}

zend_result php_smtpsock_ensure(php_smtpsock_session *s, int level)
{
	smtp_state_t st;

	if (php_smtpsock_session_connected(s) && s->last_io > 0 && now_seconds() - s->last_io > PHP_SMTPSOCK_IDLE_CHECK
			&& smtp_client_state(s->core) == SMTP_ST_READY && smtp_client_pending(s->core) == 0) {
		/* idle for a while: the server may have timed the session out */
		smtp_event_t ev;
		if (smtp_client_noop(s->core) != SMTP_OK || php_smtpsock_next_event(s, &ev) == FAILURE || !ev.ok) {
			php_smtpsock_session_close(s);
			php_smtpsock_error_clear(&s->err);
		}
	}
	if (!php_smtpsock_session_connected(s)) {
		if (connect_any(s) == FAILURE) {
			return FAILURE;
		}
	}
	if (level < PHP_SMTPSOCK_LVL_SECURED) {
		return SUCCESS;
	}
	st = smtp_client_state(s->core);
	if (st == SMTP_ST_GREETED && php_smtpsock_hello(s, NULL, true, true) == FAILURE) {
		return FAILURE;
	}
	if (!s->tls && s->cfg.security != PHP_SMTPSOCK_SEC_NONE) {
		bool offered = (smtp_client_caps(s->core)->flags & SMTP_CAP_STARTTLS) != 0;
		if (s->cfg.security == PHP_SMTPSOCK_SEC_STARTTLS && !offered) {
			php_smtpsock_fail(s, "%s does not offer STARTTLS, which security=starttls requires",
				ZSTR_VAL(s->host));
			/* nothing more in clear, not even QUIT */
			php_smtpsock_session_close(s);
			return FAILURE;
		}
		if (offered && smtp_client_state(s->core) == SMTP_ST_READY
				&& php_smtpsock_starttls(s, s->cfg.security == PHP_SMTPSOCK_SEC_AUTO) == FAILURE) {
			return FAILURE;
		}
	}
	if (level < PHP_SMTPSOCK_LVL_READY) {
		return SUCCESS;
	}
	if (s->cfg.username && ZSTR_LEN(s->cfg.username) && !s->authed) {
		zend_string *pass = s->cfg.password ? zend_string_copy(s->cfg.password) : ZSTR_EMPTY_ALLOC();
		zend_result r = php_smtpsock_auth(s, s->cfg.username, pass, s->cfg.auth_mechs);
		zend_string_release(pass);
		if (r == FAILURE) {
			return FAILURE;
		}
	}
	return SUCCESS;
}

/* ---- messages ----------------------------------------------------------- */

/* Write queued output once enough has gathered. */
static zend_result maybe_flush(php_smtpsock_session *s)
{
	const char *p;

	if (smtp_client_output(s->core, &p) >= FLUSH_AT) {
		return php_smtpsock_flush(s);
	}
	return SUCCESS;
}

/* Write octets that bypass the core's buffer (zero-copy body). */
static zend_result write_all(php_smtpsock_session *s, const char *p, size_t n)
{
	set_timeout(s, s->cfg.timeout);
	while (n > 0) {
		ssize_t w = io_write(s, p, n);
		if (w <= 0) {
			php_smtpsock_fail(s, "could not write to %s: connection closed or timed out after %g s",
				s->host ? ZSTR_VAL(s->host) : "the server", s->cfg.timeout);
			php_smtpsock_session_close(s);
			return FAILURE;
		}
		p += w;
		n -= (size_t)w;
		s->ack_owed = false;
	}
	return SUCCESS;
}

/*
 * Everything the core has queued, then n octets of the caller's message that
 * go on the wire unchanged (zero-copy). On a plain TCP stream both go in one
 * vectored write: the envelope, the headers and a long body leave in one
 * system call, as one stream of segments, with no copy of the body. A TLS
 * stream (the record layer is PHP's) writes them one after the other.
 */
static zend_result flush_then_write(php_smtpsock_session *s, const char *p, size_t n)
{
#if !defined(PHP_WIN32) && defined(MSG_DONTWAIT)
	if (s->stream && !s->tls && session_fd(s)) {
		double deadline = now_seconds() + s->cfg.timeout;
		for (;;) {
			const char *q;
			size_t qn = smtp_client_output(s->core, &q), took;
			struct iovec iov[2];
			struct msghdr mh;
			ssize_t w;
			int cnt = 0;

			if (qn == 0 && n == 0) {
				return SUCCESS;
			}
			if (qn) {
				iov[cnt].iov_base = (void *)q;
				iov[cnt++].iov_len = qn;
			}
			if (n) {
				iov[cnt].iov_base = (void *)p;
				iov[cnt++].iov_len = n;
			}
			memset(&mh, 0, sizeof(mh));
			mh.msg_iov = iov;
			mh.msg_iovlen = cnt;
# ifdef MSG_NOSIGNAL
			w = sendmsg(s->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
# else
			w = sendmsg(s->fd, &mh, MSG_DONTWAIT);
# endif
			if (w < 0) {
				double left = deadline - now_seconds();
				if (errno == EINTR) {
					continue;
				}
				if ((errno == EAGAIN || errno == EWOULDBLOCK) && left > 0
						&& php_pollfd_for_ms(s->fd, POLLOUT, (int)(left * 1000) + 1) > 0) {
					continue;
				}
				php_smtpsock_fail(s, "could not write to %s: connection closed or timed out after %g s",
					s->host ? ZSTR_VAL(s->host) : "the server", s->cfg.timeout);
				php_smtpsock_session_close(s);
				return FAILURE;
			}
			took = (size_t)w;
			s->ack_owed = false;
			if (qn) {
				size_t k = took < qn ? took : qn;
				smtp_client_output_consumed(s->core, k);
				took -= k;
			}
			p += took;
			n -= took;
		}
	}
#endif
	if (php_smtpsock_flush(s) == FAILURE) {
		return FAILURE;
	}
	return write_all(s, p, n);
}

zend_result php_smtpsock_write_body(php_smtpsock_session *s, php_smtpsock_body *body)
{
	int i, rc;

	for (i = 0; i < body->nparts; i++) {
		const char *p = body->parts[i];
		size_t left = body->lens[i];
		while (left) {
			size_t n;
			if (left >= DIRECT_MIN && (n = smtp_client_body_passthrough(s->core, p, left)) > 0) {
				/* zero-copy: what needs no change goes from the caller's string to the socket */
				if (flush_then_write(s, p, n) == FAILURE) {
					return FAILURE;
				}
				p += n;
				left -= n;
				continue;
			}
			n = left < BODY_CHUNK ? left : BODY_CHUNK;
			if ((rc = smtp_client_body(s->core, p, n)) != SMTP_OK) {
				php_smtpsock_fail_core(s, "DATA", rc);
				php_smtpsock_session_close(s);
				return FAILURE;
			}
			p += n;
			left -= n;
			if (maybe_flush(s) == FAILURE) {
				return FAILURE;
			}
		}
	}
	if (body->stream) {
		char *buf = emalloc(BODY_CHUNK);
		for (;;) {
			ssize_t n = php_stream_read(body->stream, buf, BODY_CHUNK);
			if (n < 0 || (n == 0 && !php_stream_eof(body->stream))) {
				if (n == 0) {
					continue;
				}
				efree(buf);
				/* Never end a half-read message with the terminator: drop the session. */
				php_smtpsock_fail(s, "could not read the message stream; the message was not sent");
				php_smtpsock_session_close(s);
				return FAILURE;
			}
			if (n == 0) {
				break;
			}
			if ((rc = smtp_client_body(s->core, buf, (size_t)n)) != SMTP_OK) {
				efree(buf);
				php_smtpsock_fail_core(s, "DATA", rc);
				php_smtpsock_session_close(s);
				return FAILURE;
			}
			if (maybe_flush(s) == FAILURE) {
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

/* The octets of one piece of the open BDAT chunk: long clean runs straight
 * from the caller's string (zero-copy), the rest encoded into the output in
 * steps, written once FLUSH_AT has gathered. A failure here leaves a chunk
 * half sent: the session is closed. */
static zend_result write_chunk_piece(php_smtpsock_session *s, const char *p, size_t left)
{
	int rc;

	while (left) {
		size_t n;
		if (left >= DIRECT_MIN && (n = smtp_client_chunk_passthrough(s->core, p, left)) > 0) {
			if (flush_then_write(s, p, n) == FAILURE) {
				return FAILURE;
			}
			p += n;
			left -= n;
			continue;
		}
		n = left < BODY_CHUNK ? left : BODY_CHUNK;
		if ((rc = smtp_client_chunk_write(s->core, p, n)) != SMTP_OK) {
			php_smtpsock_fail_core(s, "BDAT", rc);
			php_smtpsock_session_close(s);
			return FAILURE;
		}
		p += n;
		left -= n;
		if (maybe_flush(s) == FAILURE) {
			return FAILURE;
		}
	}
	return SUCCESS;
}

/* Frame the body as BDAT chunks. The parts (smtp_mail()'s generated
 * headers, the caller's headers, the body) are one stream of octets: a
 * message up to BDAT_CHUNK is one LAST chunk, a longer one is cut into equal
 * chunks of at most BDAT_CHUNK (no small last chunk whose reply would come
 * alone). Each chunk's size is framed up front, so its octets need no copy
 * of their own; nothing is written per chunk, only once FLUSH_AT has
 * gathered and when the caller waits for the replies, so a message of
 * ordinary size goes out with its envelope in one write. With pipelining the
 * chunks follow each other without waiting; otherwise each waits for its 250. */
static zend_result write_bdat(php_smtpsock_session *s, php_smtpsock_body *body, bool pipe,
                              size_t *sent, smtp_event_t *final_ev, bool *have_final)
{
	size_t total = 0, nchunks, k, off = 0;
	int i, part = 0, rc;

	for (i = 0; i < body->nparts; i++) {
		total += body->lens[i];
	}
	nchunks = total ? (total - 1) / BDAT_CHUNK + 1 : 1;
	for (k = 0; k < nchunks; k++) {
		smtp_piece_t pieces[sizeof(body->parts) / sizeof(body->parts[0])];
		size_t need = total / nchunks + (k < total % nchunks ? 1 : 0), np = 0, j;
		bool last = k + 1 == nchunks;
		int pi = part;
		size_t po = off;

		/* the chunk's pieces: need octets from where the last chunk ended */
		while (need > 0 && pi < body->nparts) {
			size_t take = body->lens[pi] - po < need ? body->lens[pi] - po : need;
			if (take > 0) {
				pieces[np].data = body->parts[pi] + po;
				pieces[np].len = take;
				np++;
				need -= take;
				po += take;
			}
			if (po == body->lens[pi]) {
				pi++;
				po = 0;
			}
		}
		if ((rc = smtp_client_chunk_open(s->core, pieces, np, last)) != SMTP_OK) {
			php_smtpsock_fail_core(s, "BDAT", rc);
			return FAILURE;
		}
		(*sent)++;
		for (j = 0; j < np; j++) {
			if (write_chunk_piece(s, pieces[j].data, pieces[j].len) == FAILURE) {
				return FAILURE;
			}
		}
		part = pi;
		off = po;
		if (!pipe) {
			if (php_smtpsock_next_event(s, final_ev) == FAILURE) {
				return FAILURE;
			}
			(*sent)--;
			if (!final_ev->ok) {
				php_smtpsock_fail_reply(s, "message refused", final_ev->reply);
				return FAILURE;
			}
			if (final_ev->last) {
				*have_final = true;
				return SUCCESS;
			}
		}
	}
	return SUCCESS;
}

/* RSET after a failed transaction so the session is ready for the next one;
 * a failure here only closes the session, the caller's error stands. */
static void reset_quietly(php_smtpsock_session *s)
{
	php_smtpsock_error saved = s->err;
	smtp_event_t ev;

	if (!php_smtpsock_session_connected(s)) {
		return;
	}
	memset(&s->err, 0, sizeof(s->err));
	smtp_client_set_pipelining(s->core, 0);
	while (smtp_client_pending(s->core) > 0) {
		if (php_smtpsock_next_event(s, &ev) == FAILURE) {
			break;
		}
	}
	if (php_smtpsock_session_connected(s) && smtp_client_rset(s->core) == SMTP_OK) {
		if (php_smtpsock_next_event(s, &ev) == FAILURE || !ev.ok) {
			php_smtpsock_session_close(s);
		}
	}
	php_smtpsock_error_clear(&s->err);
	s->err = saved;
}

static void record_rcpt(php_smtpsock_result *res, zend_string **addrs, const smtp_event_t *ev)
{
	zend_string *addr = addrs[ev->index];

	if (ev->ok) {
		add_next_index_str(&res->accepted, zend_string_copy(addr));
	} else {
		zval text;
		ZVAL_STRINGL(&text, ev->reply->text, ev->reply->text_len);
		zend_symtable_update(Z_ARRVAL(res->rejected), addr, &text);
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

/* The replies to a pipelined MAIL and its RCPTs, in order. A refused MAIL
 * clears *mail_ok and is the error; refused recipients go to res->rejected.
 * atomic: the first refusal is the error; else it is an error only that no
 * recipient was accepted. */
static zend_result read_envelope(php_smtpsock_session *s, php_smtpsock_result *res,
                                 zend_string **addrs, uint32_t n, bool atomic, bool *mail_ok)
{
	smtp_event_t ev;
	uint32_t i;

	if (php_smtpsock_next_event(s, &ev) == FAILURE) {
		return FAILURE;
	}
	if (!ev.ok) {
		*mail_ok = false;
		php_smtpsock_fail_reply(s, "sender refused", ev.reply);
	}
	for (i = 0; i < n; i++) {
		if (php_smtpsock_next_event(s, &ev) == FAILURE) {
			return FAILURE;
		}
		if (*mail_ok) {
			record_rcpt(res, addrs, &ev);
			if (atomic && !ev.ok && !s->err.message) {
				php_smtpsock_fail_reply(s, ATOMIC_REFUSED, ev.reply);
			}
		}
	}
	if (*mail_ok && !atomic && zend_hash_num_elements(Z_ARRVAL(res->accepted)) == 0) {
		php_smtpsock_fail_reply(s, "every recipient was refused", &s->last);
	}
	return SUCCESS;
}

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

zend_result php_smtpsock_send(php_smtpsock_session *s, const char *from, size_t from_len,
                              HashTable *rcpts, const char *mail_params, const char *rcpt_params,
                              php_smtpsock_body *body, bool atomic, php_smtpsock_result *res)
{
	const smtp_caps_t *caps;
	smtp_event_t ev;
	zend_string **addrs, **wire = NULL, *wire_from = NULL;
	zval *zv;
	smart_str mparams = {0};
	uint32_t n = 0, i;
	bool pipe, chunk, mail_ok = true, have_final = false, utf8 = false, smtputf8;
	size_t bdat_pending = 0;
	int rc;
	zend_result result = FAILURE;

	array_init(&res->accepted);
	array_init(&res->rejected);
	res->reply = NULL;
	res->queue_id = NULL;
	php_smtpsock_error_clear(&s->err);

	if (php_smtpsock_ensure(s, PHP_SMTPSOCK_LVL_READY) == FAILURE) {
		return FAILURE;
	}
	if (smtp_client_state(s->core) != SMTP_ST_READY) {
		php_smtpsock_fail_core(s, "MAIL", SMTP_E_STATE);
		return FAILURE;
	}
	caps = smtp_client_caps(s->core);
	pipe = s->cfg.pipelining && (caps->flags & SMTP_CAP_PIPELINING);
	chunk = s->cfg.chunking && (caps->flags & SMTP_CAP_CHUNKING) && !body->stream;
	smtputf8 = (caps->flags & SMTP_CAP_SMTPUTF8) != 0;

	/* international addresses (RFC 6531): decided before anything of the message is written */
	addrs = safe_emalloc(zend_hash_num_elements(rcpts) + 1, sizeof(*addrs), 0);
	wire = ecalloc(zend_hash_num_elements(rcpts) + 1, sizeof(*wire));
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

	smtp_client_set_pipelining(s->core, pipe);
	rc = smtp_client_mail(s->core, from, from_len, mparams.s ? ZSTR_VAL(mparams.s) : "",
		mparams.s ? ZSTR_LEN(mparams.s) : 0);
	if (rc != SMTP_OK) {
		php_smtpsock_fail_core(s, "MAIL", rc);
		goto done;
	}
	if (!pipe) {
		if (php_smtpsock_roundtrip(s, "sender refused", &ev) == FAILURE) {
			goto fail_reset;
		}
	}
	for (i = 0; i < n; i++) {
		zend_string *to = wire[i] ? wire[i] : addrs[i];
		rc = smtp_client_rcpt(s->core, ZSTR_VAL(to), ZSTR_LEN(to),
			rcpt_params ? rcpt_params : "", rcpt_params ? strlen(rcpt_params) : 0);
		if (rc != SMTP_OK) {
			php_smtpsock_fail_core(s, "RCPT", rc);
			goto fail_reset;
		}
		if (!pipe) {
			if (php_smtpsock_next_event(s, &ev) == FAILURE) {
				goto done;
			}
			record_rcpt(res, addrs, &ev);
			if (atomic && !ev.ok && !s->err.message) {
				php_smtpsock_fail_reply(s, ATOMIC_REFUSED, ev.reply);
			}
		}
	}
	if (!pipe && atomic && zend_hash_num_elements(Z_ARRVAL(res->rejected)) > 0) {
		goto fail_reset;
	}
	if (!pipe && zend_hash_num_elements(Z_ARRVAL(res->accepted)) == 0) {
		php_smtpsock_fail_reply(s, "every recipient was refused", &s->last);
		goto fail_reset;
	}
	if (pipe && atomic) {
		/* all or nothing: every envelope reply before any of the message */
		if (php_smtpsock_flush(s) == FAILURE || read_envelope(s, res, addrs, n, true, &mail_ok) == FAILURE) {
			goto done;
		}
		if (!mail_ok || zend_hash_num_elements(Z_ARRVAL(res->rejected)) > 0) {
			goto fail_reset;
		}
	}
	if (chunk) {
		/* BDAT goes out with the envelope when pipelining */
		if (write_bdat(s, body, pipe, &bdat_pending, &ev, &have_final) == FAILURE) {
			goto fail_reset;
		}
	} else if ((rc = smtp_client_data(s->core)) != SMTP_OK) {
		php_smtpsock_fail_core(s, "DATA", rc);
		goto fail_reset;
	}
	if (pipe && !atomic) {
		if (read_envelope(s, res, addrs, n, false, &mail_ok) == FAILURE) {
			goto done;
		}
	}
	if (chunk) {
		bool failed = false;
		while (bdat_pending > 0) {
			if (php_smtpsock_next_event(s, &ev) == FAILURE) {
				goto done;
			}
			bdat_pending--;
			if (!ev.ok && !failed && mail_ok && zend_hash_num_elements(Z_ARRVAL(res->accepted)) > 0) {
				php_smtpsock_fail_reply(s, "message refused", ev.reply);
			}
			failed = failed || !ev.ok;
			if (ev.last) {
				have_final = true;
			}
		}
		if (failed || !have_final || !mail_ok || zend_hash_num_elements(Z_ARRVAL(res->accepted)) == 0) {
			if (!s->err.message) {
				php_smtpsock_fail_reply(s, "message refused", &s->last);
			}
			if (php_smtpsock_session_connected(s) && smtp_client_state(s->core) != SMTP_ST_READY) {
				goto fail_reset;
			}
			goto done;
		}
		set_final(res, &s->last);
		result = SUCCESS;
		goto done;
	}
	/* DATA */
	if (php_smtpsock_next_event(s, &ev) == FAILURE) {
		goto done;
	}
	if (!mail_ok || zend_hash_num_elements(Z_ARRVAL(res->accepted)) == 0) {
		if (ev.ok) {
			/* 354 with nobody to deliver to: end an empty message at once */
			if (smtp_client_body_end(s->core) != SMTP_OK || php_smtpsock_next_event(s, &ev) == FAILURE) {
				goto done;
			}
		}
		goto fail_reset;
	}
	if (!ev.ok) {
		php_smtpsock_fail_reply(s, "DATA refused", ev.reply);
		goto fail_reset;
	}
	if (php_smtpsock_write_body(s, body) == FAILURE) {
		goto done;
	}
	if (php_smtpsock_next_event(s, &ev) == FAILURE) {
		goto done;
	}
	if (!ev.ok) {
		php_smtpsock_fail_reply(s, "message refused", ev.reply);
		goto done;
	}
	set_final(res, ev.reply);
	result = SUCCESS;
	goto done;

fail_reset:
	reset_quietly(s);
done:
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
	efree(wire);
	efree(addrs);
	smart_str_free(&mparams);
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
