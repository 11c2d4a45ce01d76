/*
 * smtpsock_driver.h: what the driver's files (smtpsock_session.c,
 * smtpsock_io.c, smtpsock_conn.c, smtpsock_txn.c) give each other and nobody
 * else. The extension's interface between the driver and SmtpSocket /
 * smtp_mail() is php_smtpsock.h.
 */
#ifndef SMTPSOCK_DRIVER_H
#define SMTPSOCK_DRIVER_H

#include "php_smtpsock.h"

/* ---- smtpsock_session.c ---- */

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
} php_smtpsock_pinfo;

/* The info saved beside s's persistent stream, or NULL. */
php_smtpsock_pinfo *php_smtpsock_pinfo_find(const php_smtpsock_session *s);
/* Drop the info saved beside s's persistent stream (the stream is going). */
void php_smtpsock_pinfo_forget(const php_smtpsock_session *s);
/* Save (or update) what s's persistent stream has reached; in_use marks it
 * held by a session of this process. */
void php_smtpsock_pinfo_save(const php_smtpsock_session *s, bool in_use);
/* The core's trace callback: hands a protocol line to the user's logger
 * (ud is the session); a logger that throws is not called again. */
void php_smtpsock_trace_to_logger(void *ud, int dir, const char *line, size_t len);
/* QUIT written without waiting for its reply (the session is being dropped). */
void php_smtpsock_quit_quietly(php_smtpsock_session *s);

/* ---- smtpsock_io.c ---- */

/*
 * PHP's stream layer reports TLS and connect problems as warnings. While it
 * works for us, those warnings must reach neither the user's error handler
 * nor error_get_last(): the first one is captured (EH_THROW turns it into an
 * exception we take apart) and becomes the detail of our own error.
 */
typedef struct {
	zend_error_handling eh;
	zend_object *prior;       /* an exception already pending: left alone */
} php_smtpsock_capture;

/* Start capturing the stream layer's warnings. */
void php_smtpsock_capture_begin(php_smtpsock_capture *c);
/* Stop capturing; the first warning's text (caller releases), or NULL. */
zend_string *php_smtpsock_capture_end(php_smtpsock_capture *c);
/* One write to the stream (TLS warnings kept from the user): as php_stream_write(). */
ssize_t php_smtpsock_io_write(php_smtpsock_session *s, const char *p, size_t n);
/* Whether the server has sent something nobody asked for (between
 * transactions: a 421, an end of stream, a reset; on TLS maybe a record).
 * Does not read. */
bool php_smtpsock_peer_spoke(php_smtpsock_session *s);
/* A monotonic-enough clock in seconds (deadlines, idle time). */
double php_smtpsock_now(void);
/* The stream's I/O timeout, set only when it changes. */
void php_smtpsock_set_timeout(php_smtpsock_session *s, double seconds);
/* Write what the core has queued once FLUSH_AT octets have gathered. */
zend_result php_smtpsock_maybe_flush(php_smtpsock_session *s);
/* Everything the core has queued, then n octets of the caller's that go on
 * the wire unchanged (zero-copy; one vectored write on plain TCP). FAILURE:
 * the session is closed, s->gone says whether the peer closed it. */
zend_result php_smtpsock_flush_then_write(php_smtpsock_session *s, const char *p, size_t n);

#endif
