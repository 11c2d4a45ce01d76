/*
 * smtp_sasl: the client side of SMTP AUTH (RFC 4954) for PLAIN (RFC 4616),
 * LOGIN, CRAM-MD5 (RFC 2195), XOAUTH2, OAUTHBEARER (RFC 7628) and
 * SCRAM-SHA-256 (RFC 5802, 7677).
 *
 * Sans-I/O like the rest of the core: it turns the server's 334 challenges
 * into response lines. No crypto is written here: hashing, HMAC, PBKDF2,
 * base64 and random nonces come from the embedding program through
 * smtp_crypto_t (the PHP extension fills it with PHP's own APIs; the unit
 * tests with OpenSSL's libcrypto).
 *
 * Secrets (password, token, salted password, keys) are wiped before their
 * memory is released. Lines produced here are never traced: the caller traces
 * the returned trace text instead ("AUTH PLAIN ***", "***").
 */
#ifndef SMTP_SASL_H
#define SMTP_SASL_H

#include "smtp_core.h"
#include "smtp_buf.h"

/* Hash algorithms the mechanisms need. */
typedef enum {
	SMTP_HASH_MD5 = 0,     /* 16-octet digest */
	SMTP_HASH_SHA256 = 1   /* 32-octet digest */
} smtp_hash_t;

#define SMTP_HASH_MAX 32   /* largest digest size */

/* Crypto provided by the embedding program. Each returns 0 on success. */
typedef struct {
	void *ud;
	/* out = H(msg); *out_len set to the digest size. */
	int (*hash)(void *ud, smtp_hash_t alg, const unsigned char *msg, size_t len,
	            unsigned char *out, size_t *out_len);
	/* out = HMAC-H(key, msg). */
	int (*hmac)(void *ud, smtp_hash_t alg, const unsigned char *key, size_t key_len,
	            const unsigned char *msg, size_t len, unsigned char *out, size_t *out_len);
	/* out = PBKDF2-HMAC-H(password, salt, iterations), out_len octets. */
	int (*pbkdf2)(void *ud, smtp_hash_t alg, const char *pw, size_t pw_len,
	              const unsigned char *salt, size_t salt_len, unsigned iterations,
	              unsigned char *out, size_t out_len);
	/* len octets from a cryptographically secure source. */
	int (*random)(void *ud, unsigned char *out, size_t len);
	/* Standard base64 (RFC 4648, with padding) of in, appended to out. */
	int (*b64_encode)(void *ud, const unsigned char *in, size_t len, smtp_buf_t *out);
	/* Strict decode of standard base64 appended to out; nonzero on bad input. */
	int (*b64_decode)(void *ud, const char *in, size_t len, smtp_buf_t *out);
} smtp_crypto_t;

/* SASL-specific errors (continue the SMTP_E_* numbering). */
#define SMTP_E_SASL_CHALLENGE  (-20)  /* a challenge that is not valid base64 or not valid for the mechanism */
#define SMTP_E_SASL_SERVER     (-21)  /* SCRAM: server nonce, salt, iteration count or signature wrong */
#define SMTP_E_SASL_CRYPTO     (-22)  /* a crypto callback failed */
#define SMTP_E_SASL_STEP       (-23)  /* more challenges than the mechanism has */
#define SMTP_E_SASL_INCOMPLETE (-24)  /* success (235) before the exchange was complete (SCRAM unverified) */
#define SMTP_E_SASL_AFTER_ERROR (-25) /* OAUTHBEARER: success (235) after the server's error challenge */

typedef struct smtp_sasl smtp_sasl_t;

/* Mechanism bits are SMTP_AUTH_* from smtp_caps.h. */

/* Preference among those offered and allowed: SCRAM-SHA-256, CRAM-MD5,
 * PLAIN, LOGIN. The bearer token mechanisms (OAUTHBEARER, then XOAUTH2) only
 * when nothing but them is allowed: the secret is then a token, not a
 * password. Returns one SMTP_AUTH_* bit, or 0 when none fits. */
unsigned smtp_sasl_choose(unsigned offered, unsigned allowed);
/* Name of one SMTP_AUTH_* bit, e.g. "CRAM-MD5"; NULL for anything else. */
const char *smtp_sasl_mech_name(unsigned mech);

/* A new exchange for one mechanism, or NULL when out of memory. The
 * credentials are copied; crypto must outlive the exchange. For XOAUTH2 and
 * OAUTHBEARER the password is the bearer token (OAUTHBEARER sends the user
 * name as the authorization identity, ',' and '=' escaped). An unknown
 * mechanism or credentials the mechanism cannot carry are reported by
 * smtp_sasl_start(). SCRAM uses the password's octets as given (no SASLprep). */
smtp_sasl_t *smtp_sasl_new(unsigned mech, const char *user, size_t user_len,
                           const char *pass, size_t pass_len, const smtp_crypto_t *crypto);
/* Wipe and free (NULL is allowed). */
void smtp_sasl_free(smtp_sasl_t *s);

/* OAUTHBEARER: the server the client connected to, sent as "host=" and
 * "port=" in the initial response (RFC 7628 section 3.1). host (copied) is
 * 1 to 255 printable ASCII octets without spaces (a name or an address, no
 * port, no brackets) or NULL to send no host; port is 1 to 65535, or 0 to send
 * no port. Other mechanisms ignore it. Call before smtp_sasl_start(); calling
 * again replaces the values. SMTP_OK; SMTP_E_ARG for a host or port out of
 * those bounds; SMTP_E_STATE after start; SMTP_E_NOMEM (also for s == NULL).
 * Errors are sticky as with smtp_sasl_start(). */
int smtp_sasl_set_server(smtp_sasl_t *s, const char *host, size_t host_len, unsigned port);

/* The AUTH command line, without CRLF, into line (replaced): "AUTH MECH" or,
 * where the mechanism has one and the whole line stays within max_line octets
 * (CRLF included; 512 per RFC 4954 section 4), "AUTH MECH initial-response".
 * PLAIN, XOAUTH2, OAUTHBEARER and SCRAM-SHA-256 have one. *trace_text gets a
 * static text for the trace ("AUTH PLAIN ***"). SMTP_OK; SMTP_E_ARG for an
 * unknown mechanism, an empty user name, a NUL in the user name, a NUL in a
 * PLAIN password, an empty XOAUTH2 token or a ^A or NUL in XOAUTH2
 * credentials, an OAUTHBEARER token that is empty or not printable ASCII
 * without spaces (RFC 6750 b64token octets) or a ^A in its user name;
 * SMTP_E_TOO_LONG when a response could not fit SMTP_MAX_AUTH_LINE;
 * SMTP_E_NOMEM (also for s == NULL); SMTP_E_SASL_CRYPTO; SMTP_E_STATE when
 * called twice (SMTP_E_ARG for line == NULL). Errors of start, step and
 * finish are sticky: later calls return the same error. line's old content
 * is wiped before it is replaced; it may hold base64 secrets, so the caller
 * wipes it before releasing it. */
int smtp_sasl_start(smtp_sasl_t *s, size_t max_line, smtp_buf_t *line, const char **trace_text);

/* Answer a 334 challenge: text is the reply text after "334 " (base64, may be
 * empty). The response line (base64, or empty; without CRLF) goes into line
 * (replaced); *trace_text as above ("***", "" for an empty response, or the
 * line itself when it carries no secret). SCRAM verifies the server signature
 * here when the server sends it in a 334; XOAUTH2 answers an error challenge
 * with an empty line. OAUTHBEARER answers any 334 after its credentials, the
 * server's error challenge (RFC 7628 section 3.2.2), with "AQ==" (a single
 * ^A) whatever the challenge holds, even when it is malformed (not base64,
 * not JSON): the exchange then ends with the server's failure reply, in step,
 * and smtp_sasl_oauth_error() says what the challenge held. Errors:
 * SMTP_E_SASL_CHALLENGE, SMTP_E_SASL_SERVER, SMTP_E_SASL_STEP,
 * SMTP_E_SASL_CRYPTO, SMTP_E_TOO_LONG, SMTP_E_NOMEM, SMTP_E_STATE (before
 * start), SMTP_E_ARG (line NULL); on an error line is wiped and left empty.
 * After an error the exchange is over: cancel it with "*" (RFC 4954)
 * or close the connection. */
int smtp_sasl_step(smtp_sasl_t *s, const char *text, size_t len, smtp_buf_t *line, const char **trace_text);

/* The server said 235. SMTP_OK when the exchange is complete (the
 * credentials were sent; for SCRAM: the server signature was received and
 * matched), else SMTP_E_SASL_INCOMPLETE, SMTP_E_SASL_AFTER_ERROR
 * (OAUTHBEARER: the server had sent an error challenge) or the sticky error. */
int smtp_sasl_finish(smtp_sasl_t *s);

/* What an OAUTHBEARER error challenge said (RFC 7628 section 3.2.2: base64 of
 * a JSON object whose "status" member names the error, e.g. "invalid_token").
 * The JSON is read by a bounded scanner that checks the whole object's syntax
 * and takes only the top-level "status" string. */
typedef enum {
	SMTP_SASL_OAUTH_NONE = 0,    /* no error challenge was answered (or another mechanism) */
	SMTP_SASL_OAUTH_STATUS,      /* *text: the status, NUL-terminated, 1 to SMTP_SASL_STATUS_MAX
	                              * octets of printable ASCII without '"' and '\' (safe to show) */
	SMTP_SASL_OAUTH_MALFORMED    /* *text: a static text saying what was wrong ("not JSON", ...) */
} smtp_sasl_oauth_t;

#define SMTP_SASL_STATUS_MAX 64

/* The error challenge's outcome; *text as above (NULL with SMTP_SASL_OAUTH_NONE
 * or s == NULL; text may be NULL). Valid until smtp_sasl_free(). */
smtp_sasl_oauth_t smtp_sasl_oauth_error(const smtp_sasl_t *s, const char **text);

#ifdef SMTP_SASL_TEST_HOOKS
/* Unit tests only (defined by smtp_core/tests/Makefile, never by the
 * extension's build): the SCRAM client nonce for the next smtp_sasl_start()
 * instead of base64(24 random octets); the random callback is still called.
 * Lets the tests reproduce RFC 7677's example, whose nonce has 20 characters. */
int smtp_sasl_test_set_nonce(smtp_sasl_t *s, const char *nonce, size_t len);
#endif

#endif
