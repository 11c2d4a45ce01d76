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

#endif
