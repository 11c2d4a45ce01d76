/*
 * smtpsock_io.c: the only place that reads and writes the session's PHP
 * stream. Pumps bytes between it and the sans-I/O core (php_smtpsock_flush(),
 * php_smtpsock_next_event()), applies deadlines, polls briefly before it
 * would sleep (busy polling), acknowledges at once where a server waits for
 * it, writes zero-copy bodies, and keeps the stream layer's warnings from the
 * user.
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

#include <limits.h>

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

#define FLUSH_AT    (32 * 1024)     /* write once this much is queued */

/* ---- captured warnings and I/O ------------------------------------------ */

/* Why warnings are captured: see php_smtpsock_capture in smtpsock_driver.h. */
void php_smtpsock_capture_begin(php_smtpsock_capture *c)
{
	c->prior = EG(exception);
	zend_replace_error_handling(EH_THROW, zend_ce_error_exception, &c->eh);
}

/* The captured message ("func(): " prefix dropped, one line), or NULL. */
zend_string *php_smtpsock_capture_end(php_smtpsock_capture *c)
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
ssize_t php_smtpsock_io_write(php_smtpsock_session *s, const char *p, size_t n)
{
	php_smtpsock_capture cap;
	zend_string *warning;
	ssize_t w;

	if (!s->tls) {
		return php_stream_write(s->stream, p, n);
	}
	php_smtpsock_capture_begin(&cap);
	w = php_stream_write(s->stream, p, n);
	if ((warning = php_smtpsock_capture_end(&cap))) {
		zend_string_release(warning);
	}
	return w;
}

static ssize_t io_read(php_smtpsock_session *s, char *buf, size_t n)
{
	php_smtpsock_capture cap;
	zend_string *warning;
	ssize_t r;

	if (!s->tls) {
		return php_stream_read(s->stream, buf, n);
	}
	php_smtpsock_capture_begin(&cap);
	r = php_stream_read(s->stream, buf, n);
	if ((warning = php_smtpsock_capture_end(&cap))) {
		zend_string_release(warning);
	}
	return r;
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

/* Whether the server has sent something while nobody asked: between
 * transactions that can only be a 421, an end of stream or a reset (or, on
 * TLS, a record such as a session ticket). Does not read. */
bool php_smtpsock_peer_spoke(php_smtpsock_session *s)
{
	if (s->roff < s->rlen) {
		return true;
	}
	if (!session_fd(s)) {
		return false;
	}
	return php_pollfd_for_ms(s->fd, POLLIN, 0) > 0;
}

/* Before a read that would sleep: poll for up to busy_poll microseconds
 * from start (php_smtpsock_hrtime(), now). Returns start when the read will
 * sleep without having polled (for busy_poll_slept()), else 0; *ready: a
 * poll saw the socket readable (or in error), so the read will not wait. */
static php_smtpsock_hrtime_t busy_poll(php_smtpsock_session *s, php_smtpsock_hrtime_t start, bool *ready)
{
	smtp_cmd_t cmd;
	php_smtpsock_hrtime_t until;

	*ready = false;
	if (s->cfg.busy_poll <= 0 || usable_cpus() < 2 || !session_fd(s)) {
		return 0;
	}
	cmd = smtp_client_awaiting(s->core);
	if (s->spin_skip[cmd] > 0) {
		s->spin_skip[cmd]--;
		return start;
	}
	until = start + (php_smtpsock_hrtime_t)s->cfg.busy_poll * 1000;
	do {
		if (php_pollfd_for_ms(s->fd, PHP_POLLREADABLE, 0) != 0) {
			s->spin_miss[cmd] = 0;   /* readable, or an error the read will report */
			*ready = true;
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

/* A read that slept without polling first got its bytes at now: when they
 * came within the poll period, poll again next time. */
static void busy_poll_slept(php_smtpsock_session *s, php_smtpsock_hrtime_t start, php_smtpsock_hrtime_t now)
{
	smtp_cmd_t cmd = smtp_client_awaiting(s->core);

	if (now - start <= (php_smtpsock_hrtime_t)s->cfg.busy_poll * 1000) {
		s->spin_miss[cmd] = 0;
		s->spin_skip[cmd] = 0;
	}
}

/* ---- plain TCP: the socket itself ----------------------------------------
 *
 * On a plain TCP connection (no TLS: the stream reads and writes nothing but
 * the socket, and it has no read buffer, see connect_to()) the driver reads
 * and writes the socket itself, without blocking, and waits in poll() with
 * its own deadline: the stream layer would poll before every read and write
 * (the wait for data that busy polling has just seen), and take its timeout
 * from a stream option set again for every read. End of stream and errors
 * mark the stream as its own read would (stream->eof). TLS streams, and
 * platforms without MSG_DONTWAIT, go through the stream. */

#if !defined(PHP_WIN32) && defined(MSG_DONTWAIT)
# define SMTPSOCK_DIRECT_IO 1
# ifdef MSG_NOSIGNAL
#  define SMTPSOCK_SEND_FLAGS (MSG_DONTWAIT | MSG_NOSIGNAL)
# else
#  define SMTPSOCK_SEND_FLAGS MSG_DONTWAIT
# endif
#endif

static bool direct_io(php_smtpsock_session *s)
{
#ifdef SMTPSOCK_DIRECT_IO
	return s->stream && !s->tls && session_fd(s);
#else
	(void)s;
	return false;
#endif
}

#ifdef SMTPSOCK_DIRECT_IO
/* poll()'s timeout for seconds left, rounded up (never wakes before the deadline). */
static int timeout_ms(double left)
{
	if (left <= 0) {
		return 0;
	}
	return left >= (double)(INT_MAX / 1000 - 1) ? INT_MAX : (int)(left * 1000) + 1;
}

/* Up to n octets from the socket, waiting at most left seconds (not at all
 * when ready: busy polling saw it readable). As the stream's own read: > 0
 * octets read; 0 with stream->eof set at the end of the stream or on an
 * error; 0 without it when nothing came in time (the caller's deadline
 * decides). */
static ssize_t direct_read(php_smtpsock_session *s, char *buf, size_t n, double left, bool ready)
{
	ssize_t got;

	if (!ready && php_pollfd_for_ms(s->fd, PHP_POLLREADABLE, timeout_ms(left)) <= 0) {
		return 0;   /* timed out or interrupted */
	}
	got = recv(s->fd, buf, n, MSG_DONTWAIT);
	if (got > 0) {
		return got;
	}
	if (got < 0 && (PHP_IS_TRANSIENT_ERROR(errno) || errno == EINTR)) {
		return 0;
	}
	s->stream->eof = 1;   /* closed by the peer, or reset */
	return 0;
}
#endif

/*
 * Plain TCP: everything the core has queued, then n octets of the caller's
 * (none: p may be NULL), in vectored non-blocking writes, waiting for room
 * in poll() up to the timeout. FAILURE: the session is closed, s->gone says
 * whether the peer closed it.
 */
static zend_result direct_write(php_smtpsock_session *s, const char *p, size_t n)
{
#ifdef SMTPSOCK_DIRECT_IO
	double deadline = 0;   /* set at the first wait */

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
		w = sendmsg(s->fd, &mh, SMTPSOCK_SEND_FLAGS);
		if (w < 0) {
			double left;
			if (errno == EINTR) {
				continue;
			}
			if (deadline == 0) {
				deadline = php_smtpsock_now() + s->cfg.timeout;
			}
			left = deadline - php_smtpsock_now();
			if (PHP_IS_TRANSIENT_ERROR(errno) && left > 0
					&& php_pollfd_for_ms(s->fd, POLLOUT, timeout_ms(left)) > 0) {
				continue;
			}
			s->gone = !PHP_IS_TRANSIENT_ERROR(errno);
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
		if (took) {
			p += took;   /* p may be NULL, with n and took 0 */
			n -= took;
		}
	}
#else
	(void)s;
	(void)p;
	(void)n;
	return FAILURE;
#endif
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



double php_smtpsock_now(void)
{
	return (double)php_smtpsock_hrtime() / 1e9;
}

/* The stream's I/O timeout; set only when it changes (a stream option call
 * per read and write adds up on a busy connection). */
void php_smtpsock_set_timeout(php_smtpsock_session *s, double seconds)
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
	if (direct_io(s)) {
		return direct_write(s, NULL, 0);
	}
	php_smtpsock_set_timeout(s, s->cfg.timeout);
	while ((n = smtp_client_output(s->core, &p)) > 0) {
		ssize_t w = php_smtpsock_io_write(s, p, n);
		if (w <= 0) {
			php_smtpsock_fail(s, "could not write to %s: connection closed or timed out after %g s",
				s->host ? ZSTR_VAL(s->host) : "the server", s->cfg.timeout);
			s->gone = w < 0;   /* 0: timed out */
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
		php_smtpsock_hrtime_t wait_start, t;
		bool ready;

		if (s->roff < s->rlen) {
			size_t used = 0;
			int rc = smtp_client_feed(s->core, s->rbuf + s->roff, s->rlen - s->roff, &used, ev);

			s->roff += used;
			if (rc == 1) {
				s->replies++;
				/* the reply moves into s->last (no copy): it outlives later feeds */
				smtp_client_take_reply(s->core, &s->last);
				ev->reply = &s->last;
				s->has_last = true;
				s->unverified = false;
				if (ev->closing && ev->cmd != SMTP_CMD_QUIT) {
					s->gone = true;
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
		/* one clock reading for the deadline and the start of busy polling */
		t = php_smtpsock_hrtime();
		if (deadline == 0) {
			/* the first read of this reply: the whole timeout */
			deadline = (double)t / 1e9 + s->cfg.timeout;
			left = s->cfg.timeout;
		} else {
			left = deadline - (double)t / 1e9;
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
		wait_start = busy_poll(s, t, &ready);
#ifdef SMTPSOCK_DIRECT_IO
		if (direct_io(s)) {
			n = direct_read(s, s->rbuf, PHP_SMTPSOCK_RBUF, left, ready);
		} else
#endif
		{
			php_smtpsock_set_timeout(s, left);
			n = io_read(s, s->rbuf, PHP_SMTPSOCK_RBUF);
		}
		if (n > 0) {
			/* when the bytes came: busy polling saw them within busy_poll
			 * microseconds of t (close enough for the idle check), else now */
			php_smtpsock_hrtime_t came = ready ? t : php_smtpsock_hrtime();
			if (wait_start) {
				busy_poll_slept(s, wait_start, came);
			}
			s->ack_owed = true;
			s->last_io = (double)came / 1e9;
			s->roff = 0;
			s->rlen = (size_t)n;
			continue;
		}
		if (s->stream->eof) {
			bool mid = smtp_client_mid_reply(s->core);
			smtp_client_eof(s->core);
			php_smtpsock_fail(s, "connection closed by %s%s",
				s->host ? ZSTR_VAL(s->host) : "the server", mid ? " in the middle of a reply" : "");
			/* part of a reply: the server was there, working on what was sent */
			s->gone = !mid;
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

/* ---- messages ----------------------------------------------------------- */

/* Write queued output once enough has gathered. */
zend_result php_smtpsock_maybe_flush(php_smtpsock_session *s)
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
	php_smtpsock_set_timeout(s, s->cfg.timeout);
	while (n > 0) {
		ssize_t w = php_smtpsock_io_write(s, p, n);
		if (w <= 0) {
			php_smtpsock_fail(s, "could not write to %s: connection closed or timed out after %g s",
				s->host ? ZSTR_VAL(s->host) : "the server", s->cfg.timeout);
			s->gone = w < 0;
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
zend_result php_smtpsock_flush_then_write(php_smtpsock_session *s, const char *p, size_t n)
{
	if (direct_io(s)) {
		return direct_write(s, p, n);
	}
	if (php_smtpsock_flush(s) == FAILURE) {
		return FAILURE;
	}
	return write_all(s, p, n);
}
