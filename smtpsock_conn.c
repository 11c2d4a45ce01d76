/*
 * smtpsock_conn.c: bringing a session to where a transaction can start:
 * the host list and failover, the stream and its context, a persistent
 * connection picked up from an earlier request, EHLO/HELO, STARTTLS, AUTH
 * (smtpsock_auth.c), and the check that a reused connection is still alive.
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

#define PHP_SMTPSOCK_IDLE_CHECK 10.0 /* seconds idle before a reused session is checked with a round trip */
#define PHP_SMTPSOCK_IDLE_RSET  1.0  /* seconds idle before a transaction gets an RSET in front (pipelining) */

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
	s->attached++;
	s->core = smtp_client_new();
	if (Z_TYPE(s->cfg.logger) != IS_UNDEF) {
		smtp_client_set_trace(s->core, php_smtpsock_trace_to_logger, s);
	}
}

/* Pick up the persistent stream an earlier request left READY: its state
 * from the info saved beside it. Whether the server is still there is left
 * to the first use (unverified): an RSET in front of the first transaction,
 * or a round trip before anything else (php_smtpsock_ensure()). FAILURE
 * (nothing left behind, or found closed) means: connect afresh. */
#define RESUME_BUSY 2   /* another session of this process holds the stream */

static int resume(php_smtpsock_session *s)
{
	php_stream *stream = NULL;
	php_smtpsock_pinfo *pi;

	if (php_stream_from_persistent_id(ZSTR_VAL(s->pid), &stream) != PHP_STREAM_PERSISTENT_SUCCESS) {
		return FAILURE;
	}
	pi = php_smtpsock_pinfo_find(s);
	if (pi && pi->in_use) {
		return RESUME_BUSY;
	}
	/* no info: an orphan left by an aborted request; dead: gone. Close either. */
	if (!pi || php_stream_set_option(stream, PHP_STREAM_OPTION_CHECK_LIVENESS, 0, NULL) != PHP_STREAM_OPTION_RETURN_OK) {
		php_smtpsock_pinfo_forget(s);
		php_stream_pclose(stream);
		return FAILURE;
	}
	pi->in_use = true;
	attach(s, stream);
	s->tls = pi->tls;
	s->authed = pi->authed;
	memcpy(s->local_literal, pi->local_literal, sizeof(s->local_literal));
	s->ehlo_text = pi->ehlo_text ? zend_string_init(pi->ehlo_text, pi->ehlo_len, 0) : NULL;
	if (smtp_client_resume(s->core, pi->ehlo_text ? pi->ehlo_text : "", pi->ehlo_len, pi->tls) != SMTP_OK) {
		/* confused: drop it */
		php_smtpsock_pinfo_forget(s);
		php_stream_pclose(s->stream);
		s->stream = NULL;
		smtp_client_free(s->core);
		s->core = NULL;
		if (s->ehlo_text) {
			zend_string_release(s->ehlo_text);
			s->ehlo_text = NULL;
		}
		s->tls = s->authed = false;
		php_smtpsock_error_clear(&s->err);
		return FAILURE;
	}
	s->unverified = true;
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
		php_smtpsock_capture cap;
		zend_string *warning;
		php_smtpsock_capture_begin(&cap);
		s->stream = php_stream_xport_create(uri, urilen, 0, STREAM_XPORT_CLIENT | STREAM_XPORT_CONNECT,
			s->pid ? ZSTR_VAL(s->pid) : NULL, &tv, ctx, &errstr, &errcode);
		warning = php_smtpsock_capture_end(&cap);
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
		php_smtpsock_quit_quietly(s);
		php_smtpsock_session_close(s);
		return FAILURE;
	}
	if (s->greeting) {
		zend_string_release(s->greeting);
	}
	s->greeting = zend_string_init(ev.reply->text, ev.reply->text_len, 0);
	if (s->pid) {
		php_smtpsock_pinfo_save(s, true);
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
	php_smtpsock_capture cap;
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
	php_smtpsock_set_timeout(s, s->cfg.timeout);
	php_smtpsock_capture_begin(&cap);
	ok = php_stream_xport_crypto_setup(s->stream, STREAM_CRYPTO_METHOD_TLS_ANY_CLIENT, NULL) >= 0
		&& php_stream_xport_crypto_enable(s->stream, 1) > 0;
	detail = php_smtpsock_capture_end(&cap);
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

	if (!php_smtpsock_session_connected(s) && connect_any(s) == FAILURE) {
		return FAILURE;
	}
	s->check_in_front = false;
	if (php_smtpsock_session_connected(s) && smtp_client_state(s->core) == SMTP_ST_READY
			&& smtp_client_pending(s->core) == 0) {
		/* A session reused after idling: the server may have closed it. An
		 * RSET in front of the caller's transaction checks that at no cost
		 * in round trips where the server pipelines; otherwise a round trip
		 * now, before anything else is written, which can always be redone
		 * on a new connection. */
		double idle = s->last_io > 0 ? php_smtpsock_now() - s->last_io : 0;
		bool pipe = s->cfg.pipelining && (smtp_client_caps(s->core)->flags & SMTP_CAP_PIPELINING);
		bool signalled = php_smtpsock_peer_spoke(s);   /* a 421, an end of stream or a reset is waiting */

		if (level == PHP_SMTPSOCK_LVL_TXN && pipe && (s->unverified || signalled || idle > PHP_SMTPSOCK_IDLE_RSET)) {
			s->check_in_front = true;
		} else if (s->unverified || signalled || idle > PHP_SMTPSOCK_IDLE_CHECK) {
			smtp_event_t ev;
			if (smtp_client_rset(s->core) != SMTP_OK || php_smtpsock_next_event(s, &ev) == FAILURE || !ev.ok) {
				php_smtpsock_session_close(s);
				php_smtpsock_error_clear(&s->err);
			}
		}
	}
	/* a connection found dead just now: a new one (nothing of the caller's was written) */
	if (!php_smtpsock_session_connected(s) && connect_any(s) == FAILURE) {
		return FAILURE;
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
