/*
 * smtp_caps: the capabilities an EHLO reply advertises (RFC 5321 4.1.1.1).
 *
 * Lines after the first are "keyword [SP params]"; keywords are matched case
 * insensitively and stored upper case. The old "AUTH=mech ..." form counts as
 * AUTH (mechanisms from both forms are merged). Lines whose keyword is not
 * [A-Za-z0-9][A-Za-z0-9-]* are ignored; a keyword seen twice keeps its first
 * parameters.
 */
#ifndef SMTP_CAPS_H
#define SMTP_CAPS_H

#include "smtp_core.h"
#include "smtp_reply.h"

/* Flags for the extensions the client acts on. */
#define SMTP_CAP_PIPELINING          (1u << 0)
#define SMTP_CAP_CHUNKING            (1u << 1)
#define SMTP_CAP_SIZE                (1u << 2)
#define SMTP_CAP_STARTTLS            (1u << 3)
#define SMTP_CAP_8BITMIME            (1u << 4)
#define SMTP_CAP_SMTPUTF8            (1u << 5)
#define SMTP_CAP_DSN                 (1u << 6)
#define SMTP_CAP_ENHANCEDSTATUSCODES (1u << 7)
#define SMTP_CAP_BINARYMIME          (1u << 8)
#define SMTP_CAP_AUTH                (1u << 9)

/* SASL mechanisms (the AUTH parameters the client knows). */
#define SMTP_AUTH_PLAIN          (1u << 0)
#define SMTP_AUTH_LOGIN          (1u << 1)
#define SMTP_AUTH_CRAM_MD5       (1u << 2)
#define SMTP_AUTH_XOAUTH2        (1u << 3)
#define SMTP_AUTH_SCRAM_SHA_256  (1u << 4)
#define SMTP_AUTH_OAUTHBEARER    (1u << 5)

typedef struct {
	char *keyword;   /* upper case, NUL-terminated */
	char *params;    /* parameters as sent after the keyword (and its SP or '='), "" when none */
} smtp_cap_entry_t;

typedef struct {
	unsigned flags;                 /* SMTP_CAP_* advertised */
	unsigned auth;                  /* SMTP_AUTH_* advertised */
	unsigned long long size_limit;  /* SIZE parameter; 0 when absent, not a number, or 0 */
	smtp_cap_entry_t *entries;      /* in the order advertised */
	size_t count;
} smtp_caps_t;

/* Initialise an empty set. */
void smtp_caps_init(smtp_caps_t *caps);
/* Release the set and make it empty. */
void smtp_caps_free(smtp_caps_t *caps);
/* Replace caps with what the EHLO reply advertises. SMTP_OK or SMTP_E_NOMEM (caps empty then). */
int smtp_caps_parse(smtp_caps_t *caps, const smtp_reply_t *ehlo);
/* Parameters of keyword (any case), or NULL when not advertised. */
const char *smtp_caps_get(const smtp_caps_t *caps, const char *keyword);
/* SMTP_AUTH_* bit for a mechanism name (any case), 0 when unknown. */
unsigned smtp_auth_mech_bit(const char *name, size_t len);

#endif
