/*
 * smtp_addr: the RFC 5322 parsing behind smtp_mail(): address lists and
 * header blocks. Pure functions over caller-owned bytes.
 */
#ifndef SMTP_ADDR_H
#define SMTP_ADDR_H

#include "smtp_core.h"

/* Called with each addr-spec of a list (angle brackets, display name and
 * comments removed). A nonzero return stops the walk and is returned. */
typedef int (*smtp_addr_cb)(void *ud, const char *addr, size_t len);

/* Walk an RFC 5322 address-list: mailboxes separated by commas, display names
 * (atoms or quoted strings), "<addr>" forms, comments in parentheses (nested),
 * groups "name: a@b, c@d;" (members reported), empty elements skipped, folding
 * (CRLF or LF followed by SP/HTAB) treated as white space. A quoted local part
 * ("a b"@x) is reported as written. Returns SMTP_OK, the callback's nonzero
 * value, or SMTP_E_SYNTAX for unbalanced quotes, brackets or comments, a CR, LF
 * or NUL outside folding, or a mailbox without a usable address (white space
 * inside a bare address, empty "<>"). */
int smtp_addr_list_parse(const char *s, size_t len, smtp_addr_cb cb, void *ud);

/* As smtp_addr_list_parse() in one pass: the callback may already have seen
 * the addresses before an error later in the list (for callers that discard
 * what they collected on error). Same return values. */
int smtp_addr_list_scan(const char *s, size_t len, smtp_addr_cb cb, void *ud);

/* Called with each header field of a block: name (no colon), value (after the
 * colon, leading white space skipped, folding kept as given, no final line
 * end), and the whole field (name through value, folding kept, no final line
 * end). A nonzero return stops the walk and is returned. */
typedef int (*smtp_header_cb)(void *ud, const char *name, size_t name_len,
                              const char *value, size_t value_len,
                              const char *field, size_t field_len);

/* Walk a header block whose fields are separated by CRLF or LF, a line that
 * starts with SP or HTAB continuing the previous field. One trailing line end
 * is allowed. Returns SMTP_OK, the callback's nonzero value, or SMTP_E_SYNTAX
 * for: a first line that is a continuation, an empty line, a line without a
 * colon, a field name with octets outside 33..126, a bare CR, a NUL. */
int smtp_headers_parse(const char *s, size_t len, smtp_header_cb cb, void *ud);

/* What an envelope address (a bare path, no angle brackets) needs on the
 * wire (RFC 6531). The domain is what follows the last '@'. */
typedef enum {
	SMTP_ADDR_ASCII = 0,        /* US-ASCII only: goes as it is */
	SMTP_ADDR_INTL_DOMAIN,      /* valid UTF-8, non-ASCII only in the domain:
	                             * SMTPUTF8, or the domain as IDNA A-labels */
	SMTP_ADDR_INTL_LOCAL,       /* valid UTF-8, non-ASCII in the local part:
	                             * needs SMTPUTF8 */
	SMTP_ADDR_BAD_UTF8          /* non-ASCII octets that are not UTF-8 */
} smtp_addr_kind;

/* 1 when s is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF), else 0. */
int smtp_utf8_valid(const char *s, size_t len);
/* The kind of envelope address s is. */
smtp_addr_kind smtp_addr_classify(const char *s, size_t len);
/* How an address of a kind goes to a server (RFC 6531 section 3.2). */
typedef enum {
	SMTP_ADDR_AS_IS = 0,        /* ASCII: unchanged */
	SMTP_ADDR_WITH_SMTPUTF8,    /* unchanged, MAIL FROM carries SMTPUTF8 */
	SMTP_ADDR_TO_ALABELS,       /* the domain converted to IDNA A-labels */
	SMTP_ADDR_UNSENDABLE        /* cannot go to this server (or is not UTF-8) */
} smtp_addr_route;

/* The route for an address of kind k: smtputf8 is 1 when the server offers
 * SMTPUTF8, alabels 1 when the caller can convert a domain to A-labels. */
smtp_addr_route smtp_addr_route_for(smtp_addr_kind k, int smtputf8, int alabels);
/* Offset of the domain in s (after the last '@'), or len when there is none. */
size_t smtp_addr_domain_offset(const char *s, size_t len);

#endif
