/* smtpsock: SMTP mail for PHP over PHP streams. The binding's shared header. */
#ifndef PHP_SMTPSOCK_H
#define PHP_SMTPSOCK_H

#include "php.h"
#include "php_streams.h"
#include "php_network.h"
#include "zend_smart_str_public.h"
#include "php_smtpsock_compat.h"
#include "smtp_core/smtp_client.h"

extern zend_module_entry smtpsock_module_entry;
#define phpext_smtpsock_ptr &smtpsock_module_entry

#define PHP_SMTPSOCK_VERSION "0.2.0"

#if defined(ZTS) && defined(COMPILE_DL_SMTPSOCK)
ZEND_TSRMLS_CACHE_EXTERN()
#endif

/* smtpsock.security / the "security" option */
typedef enum {
	PHP_SMTPSOCK_SEC_AUTO = 0,   /* STARTTLS when offered */
	PHP_SMTPSOCK_SEC_STARTTLS,   /* STARTTLS required */
	PHP_SMTPSOCK_SEC_TLS,        /* implicit TLS */
	PHP_SMTPSOCK_SEC_NONE        /* never TLS */
} php_smtpsock_security;

/* How a session is configured: from php.ini (smtp_mail) or from the
 * SmtpSocket constructor. Strings are owned (NULL when empty). */
typedef struct {
	zend_string *hosts;          /* host or ';'-separated failover list */
	zend_long port;              /* port for hosts without one */
	php_smtpsock_security security;
	zend_string *username;       /* AUTH user; NULL: no AUTH */
	zend_string *password;       /* AUTH secret */
	unsigned auth_mechs;         /* allowed SMTP_AUTH_* mechanisms, 0: all but the token ones */
	zend_string *helo;           /* EHLO name; NULL: FQDN or address literal */
	double timeout;              /* seconds for connect and each reply */
	bool verify_peer;            /* verify the TLS certificate and name */
	bool allow_insecure_auth;    /* AUTH on a plain, non-loopback connection */
	bool persistent;             /* keep the connection across requests */
	bool pipelining;             /* use PIPELINING when offered */
	bool chunking;               /* use CHUNKING (BDAT) when offered */
	zend_long busy_poll;         /* microseconds to poll for a reply before sleeping; 0: never */
	zval context;                /* stream context resource or UNDEF */
	zval logger;                 /* callable or UNDEF */
} php_smtpsock_config;

/* A failure, as the binding reports it (exception or warning). */
typedef struct {
	int code;                    /* SMTP reply code, 0 without a reply */
	char status[16];             /* enhanced status, "" when none */
	zend_string *message;        /* what went wrong, never a secret */
	bool has_reply;              /* reply below is valid */
	smtp_reply_t reply;
} php_smtpsock_error;

#define PHP_SMTPSOCK_RBUF 16384
#define PHP_SMTPSOCK_BUSY_POLL_MAX 10000 /* microseconds */
#define PHP_SMTPSOCK_BUSY_POLL_DEFAULT 50

/* One SMTP session: a stream, the core driving it, and what it learnt. */
typedef struct {
	php_smtpsock_config cfg;
	php_stream *stream;          /* NULL when disconnected */
	smtp_client_t *core;         /* NULL when disconnected */
	zend_string *host;           /* the host[:port] actually connected */
	zend_string *greeting;       /* greeting text */
	bool tls;                    /* the connection is encrypted */
	bool peer_loopback;          /* the peer is 127.0.0.0/8 or ::1 */
	bool authed;                 /* AUTH done */
	unsigned long replies;       /* replies received so far */
	unsigned long attached;      /* connections taken up so far (new or resumed) */
	double last_io;              /* when the last reply arrived (idle check) */
	zend_string *ehlo_text;      /* the accepted EHLO reply, kept for persistent reuse */
	zend_string *pid;            /* persistent id of the stream, NULL when not persistent */
	bool resumed;                /* the stream came from an earlier request */
	bool unverified;             /* resumed, and no reply has shown the server is still there */
	bool check_in_front;         /* php_smtpsock_ensure() left the liveness check to the caller:
	                              * an RSET written in front of its transaction (pipelining) */
	bool gone;                   /* the last failure was the server's doing: end of stream,
	                              * reset, or a 421 (not a timeout, not a local error) */
	char local_literal[64];      /* our end as an address literal, "[192.0.2.1]" */
	smtp_reply_t last;           /* last reply received */
	bool has_last;
	php_smtpsock_error err;      /* the last failure */
	zend_fcall_info_cache logger_fcc;
	bool logger_failed;          /* the logger threw: stop calling it */
	bool in_logger;              /* the logger is running: the session must not be re-entered */
	char *rbuf;                  /* bytes read but not yet fed */
	size_t roff, rlen;
	double stream_timeout;       /* the stream's I/O timeout as last set, 0: unknown */
	php_socket_t fd;             /* the stream's socket, for busy polling */
	signed char fd_state;        /* fd: 0 not looked up yet, 1 valid, -1 none */
	bool ack_owed;               /* bytes read since our last write: not acknowledged by data of ours */
	bool own_context;            /* cfg.context is the session's own copy (session_context()) */
	/* busy polling, per command a reply answers: consecutive misses, and
	 * how many waits to sleep through before polling again */
	unsigned char spin_miss[SMTP_CMD__COUNT];
	unsigned char spin_skip[SMTP_CMD__COUNT];
	bool in_many;                /* sendMany() is running (its iterable or on_result may call back): not re-entered */
	struct smtp_sched *sched;    /* send()'s transaction scheduler, made once and bound to the
	                              * connection of each message (smtp_sched_reset()); freed with the session */
} php_smtpsock_session;

/* Where a message comes from: a string, or a readable stream. */
typedef struct {
	const char *parts[3];        /* string pieces sent one after another */
	size_t lens[3];
	int nparts;
	php_stream *stream;          /* read after the pieces; NULL when none */
} php_smtpsock_body;

/* The outcome of php_smtpsock_send(). */
typedef struct {
	zval accepted;               /* list of recipient strings (the shared empty array while empty) */
	zval rejected;               /* recipient => reply text (likewise) */
	zend_string *reply;          /* final reply text (NULL on failure before it) */
	zend_string *queue_id;       /* the queue id in the final reply (smtp_reply_queue_id()), NULL when none */
} php_smtpsock_result;

ZEND_BEGIN_MODULE_GLOBALS(smtpsock)
	char *host;                  /* smtpsock.host */
	zend_long port;              /* smtpsock.port */
	zend_long security;          /* smtpsock.security, as php_smtpsock_security */
	char *username;              /* smtpsock.username */
	char *password;              /* smtpsock.password */
	char *helo;                  /* smtpsock.helo */
	char *from;                  /* smtpsock.from */
	char *auth;                  /* smtpsock.auth: mechanism list, empty: strongest offered */
	double timeout;              /* smtpsock.timeout, seconds */
	bool verify_peer;            /* smtpsock.verify_peer */
	bool allow_insecure_auth;    /* smtpsock.allow_insecure_auth */
	bool persistent;             /* smtpsock.persistent */
	zend_long busy_poll;         /* smtpsock.busy_poll, microseconds */
	bool override_mail;          /* smtpsock.override_mail (system) */
	php_smtpsock_session *mail_session; /* smtp_mail()'s session for this request */
	zend_string *mail_session_key;      /* smtpsock.auth as it was when the session opened */
	zend_string *date_value;            /* Date: value cached for date_time */
	time_t date_time;                   /* the second date_value was formatted for */
	zend_string *from_raw;              /* smtpsock.from as last looked up */
	zend_string *from_addr;             /* its address (NULL: none) */
	zend_ini_entry *mail_log_entry;     /* mail.log's entry, looked up once a request (NULL: not yet) */
	char fqdn[256];                     /* this host's FQDN, looked up once; "" when it has none */
	bool fqdn_done;                     /* fqdn was looked up */
ZEND_END_MODULE_GLOBALS(smtpsock)

ZEND_EXTERN_MODULE_GLOBALS(smtpsock)
#define SMTPSOCK_G(v) ZEND_MODULE_GLOBALS_ACCESSOR(smtpsock, v)

/* ---- smtpsock_session.c: the driver ---- */

/* Zero a config (security auto, port 25, timeout 30, verify on, pipelining/chunking on,
 * busy_poll 50 microseconds). */
void php_smtpsock_config_init(php_smtpsock_config *cfg);
/* Release what a config owns. */
void php_smtpsock_config_dtor(php_smtpsock_config *cfg);
/* Parse a security name ("auto", "starttls", "tls", "none"); -1 when unknown. */
int php_smtpsock_security_parse(const char *s, size_t len);
/* A new disconnected session that takes over cfg (cfg is zeroed). */
php_smtpsock_session *php_smtpsock_session_new(php_smtpsock_config *cfg);
/* QUIT (when polite and connected), close and free. */
void php_smtpsock_session_free(php_smtpsock_session *s, bool polite);
/* Register the persistent-session list type (MINIT). */
void php_smtpsock_session_minit(int module_number);
/* Close the connection without QUIT; the session can connect again. */
void php_smtpsock_session_close(php_smtpsock_session *s);
/* Connected, and the core not closed. */
bool php_smtpsock_session_connected(const php_smtpsock_session *s);
/* Clear s->err. */
void php_smtpsock_error_clear(php_smtpsock_error *e);

/* Session set-up levels for php_smtpsock_ensure(). */
#define PHP_SMTPSOCK_LVL_GREETED 1   /* connected, greeting read */
#define PHP_SMTPSOCK_LVL_SECURED 2   /* EHLO/HELO done, TLS as configured */
#define PHP_SMTPSOCK_LVL_READY   3   /* and AUTH when configured */
#define PHP_SMTPSOCK_LVL_TXN     4   /* READY, for a transaction that will carry the liveness
                                      * RSET in front when check_in_front is set */

/* Do what is missing to reach level: connect (failover), EHLO with HELO
 * fallback, STARTTLS per security, AUTH when configured. A connection reused
 * after idling (or resumed from an earlier request, or that the server has
 * written to unasked) is checked first: at LVL_TXN on a pipelining server by
 * setting s->check_in_front (the caller writes an RSET in front of its
 * transaction), otherwise with an RSET round trip now; a dead one is replaced
 * by a new connection. FAILURE with s->err set. */
zend_result php_smtpsock_ensure(php_smtpsock_session *s, int level);
/* EHLO (use_ehlo) or HELO with domain (NULL: the configured/default name);
 * fallback: HELO after a 5xx to EHLO. FAILURE with s->err set. */
zend_result php_smtpsock_hello(php_smtpsock_session *s, zend_string *domain, bool use_ehlo, bool fallback);
/* STARTTLS, the handshake (stream context's ssl options), EHLO again.
 * tolerate_refusal: a 454 keeps the plain connection. */
zend_result php_smtpsock_starttls(php_smtpsock_session *s, bool tolerate_refusal);
/* Write everything the core queued. FAILURE (s->err set, session closed) on a transport error. */
zend_result php_smtpsock_flush(php_smtpsock_session *s);
/* Flush, then read until the next reply event. FAILURE (s->err set) on
 * transport/protocol error, timeout or 421 (session closed then). */
zend_result php_smtpsock_next_event(php_smtpsock_session *s, smtp_event_t *ev);
/* Record a failure from a reply: "<what>: <reply text>". */
void php_smtpsock_fail_reply(php_smtpsock_session *s, const char *what, const smtp_reply_t *r);
/* Record a failure without a reply (code 0). */
void php_smtpsock_fail(php_smtpsock_session *s, const char *fmt, ...) ZEND_ATTRIBUTE_FORMAT(printf, 2, 3);
/* Map a core error from a verb to s->err (state errors name the verb). */
void php_smtpsock_fail_core(php_smtpsock_session *s, const char *verb, int rc);
/* Send one queued command and wait for its reply; FAILURE unless ev->ok. */
zend_result php_smtpsock_roundtrip(php_smtpsock_session *s, const char *what, smtp_event_t *ev);
/* Run one transaction: MAIL, RCPTs, DATA or BDAT, pipelined when offered.
 * checked: the caller has made sure from and every recipient hold no NUL,
 * CR, LF, '<' or '>', and the parameters no NUL, CR or LF (SmtpSocket's
 * argument checks), so they are not scanned again.
 * SUCCESS when the message was accepted for at least one recipient (res
 * filled); FAILURE with s->err when nothing was sent. The session is left
 * ready for the next message. */
zend_result php_smtpsock_send(php_smtpsock_session *s, const char *from, size_t from_len,
                              HashTable *rcpts, const char *mail_params, const char *rcpt_params,
                              php_smtpsock_body *body, bool atomic, bool checked, php_smtpsock_result *res);
/* Stream a message through DATA (state RCPT or DATA accepted): body, end, final reply. */
zend_result php_smtpsock_write_body(php_smtpsock_session *s, php_smtpsock_body *body);
/* Release a result. */
void php_smtpsock_result_dtor(php_smtpsock_result *res);
/* How one envelope address goes to this server, as php_smtpsock_send() does
 * it: *wire = NULL (send addr as is) or a new string (its domain as IDNA
 * A-labels); *utf8 set to true when MAIL FROM must carry SMTPUTF8 (left
 * alone otherwise). smtputf8: the server offers SMTPUTF8. role ("sender",
 * "recipient") names it in errors. FAILURE with s->err set (code 0, naming
 * the address) when it cannot be sent to this server. */
zend_result php_smtpsock_route_address(php_smtpsock_session *s, const char *addr, size_t len, bool smtputf8,
                                       const char *role, zend_string **wire, bool *utf8);
/* The reply as a PHP array ['code', 'status', 'lines']. */
void php_smtpsock_reply_to_array(const smtp_reply_t *r, zval *out);
/* Capabilities as keyword => params. */
void php_smtpsock_caps_to_array(const smtp_caps_t *caps, zval *out);

/* ---- smtpsock_auth.c ---- */
/* Parse mechanism names ("PLAIN LOGIN", commas allowed) into SMTP_AUTH_* bits;
 * FAILURE with *bad naming the unknown one. */
int php_smtpsock_mechs_parse(const char *list, size_t len, unsigned *out, const char **bad, size_t *bad_len);
/* AUTH with the strongest mechanism offered and allowed (0: all but XOAUTH2 and
 * OAUTHBEARER); refuses a plain, non-loopback connection unless allow_insecure_auth. */
zend_result php_smtpsock_auth(php_smtpsock_session *s, zend_string *user, zend_string *pass, unsigned allowed);

/* ---- smtpsock_class.c ---- */
extern zend_class_entry *php_smtpsock_ce, *php_smtpsock_exception_ce;
/* ESMTP parameters from an array (['SIZE' => 1, 'SMTPUTF8'] style) appended
 * to out as "SIZE=1 SMTPUTF8"; what names the argument in errors. Throws a
 * ValueError/TypeError and returns FAILURE on bad input. */
zend_result php_smtpsock_build_params(HashTable *ht, const char *what, smart_str *out);

/* ---- smtpsock_many.c ---- */
/* SmtpSocket::sendMany() on session s (SPEC 6): options validated first
 * (throws before anything is sent), then every message of the iterable sent
 * through the core's scheduler; return_value: the results by key, or [] with
 * on_result. An exception from on_result stops the batch: nothing more is
 * taken or sent, the messages already written are seen to their end (their
 * outcomes not reported), then it propagates. An exception from the
 * iterable: the messages taken before it are sent and reported, then it
 * propagates. */
void php_smtpsock_send_many(php_smtpsock_session *s, zval *messages, HashTable *options, zval *return_value);
/* Object handlers of SmtpSocket (classes registered by MINIT first). */
void php_smtpsock_class_minit(void);

/* ---- smtpsock_mail.c ---- */
/* smtp_mail() and, with the override, mail(). */
PHP_FUNCTION(smtp_mail);
/* The mail() override's handler. */
void php_smtpsock_mail_override(INTERNAL_FUNCTION_PARAMETERS);
/* End of request: close (QUIT) smtp_mail()'s session unless persistent. */
void php_smtpsock_mail_rshutdown(void);

#endif
