/*
 * smtpsock_txn.c: one message. php_smtpsock_send() routes international
 * addresses, declares SIZE/SMTPUTF8/BODY, writes the envelope pipelined (with
 * the liveness RSET in front when php_smtpsock_ensure() asked for it), the
 * body as BDAT chunks or DATA, reads the replies in order into per-recipient
 * results, and runs a transaction once more on a new connection only when
 * the server had gone before it answered any of it. Also the PHP arrays
 * results and replies are given as.
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

#define BODY_CHUNK  (32 * 1024)     /* message octets encoded per step */
#define BDAT_CHUNK  (1024 * 1024)   /* most octets of a string message framed per BDAT */
#define DIRECT_MIN  (64 * 1024)     /* string bodies at least this long may bypass the buffer */
#define ADDRS_ON_STACK 16           /* recipients a transaction keeps without allocating */

/* Message octets, as DATA content (bdat false: dot-stuffed, line ends made
 * CRLF) or as the open BDAT chunk's (bdat true): long clean runs straight
 * from the caller's buffer (zero-copy), the rest encoded into the output in
 * steps, written once FLUSH_AT has gathered. A failure leaves a message half
 * sent: the session is closed. */
static zend_result write_octets(php_smtpsock_session *s, const char *p, size_t left, bool bdat)
{
	int rc;

	while (left) {
		size_t n = 0;
		if (left >= DIRECT_MIN) {
			n = bdat ? smtp_client_chunk_passthrough(s->core, p, left) : smtp_client_body_passthrough(s->core, p, left);
		}
		if (n > 0) {
			if (php_smtpsock_flush_then_write(s, p, n) == FAILURE) {
				return FAILURE;
			}
			p += n;
			left -= n;
			continue;
		}
		n = left < BODY_CHUNK ? left : BODY_CHUNK;
		rc = bdat ? smtp_client_chunk_write(s->core, p, n) : smtp_client_body(s->core, p, n);
		if (rc != SMTP_OK) {
			php_smtpsock_fail_core(s, bdat ? "BDAT" : "DATA", rc);
			php_smtpsock_session_close(s);
			return FAILURE;
		}
		p += n;
		left -= n;
		if (php_smtpsock_maybe_flush(s) == FAILURE) {
			return FAILURE;
		}
	}
	return SUCCESS;
}

/* Read up to want octets of the message stream into buf; *eof when the
 * stream has ended. FAILURE on a read error (the message cannot be whole). */
static zend_result read_stream(php_smtpsock_session *s, php_stream *stream, char *buf, size_t want,
                               size_t *got, bool *eof)
{
	*got = 0;
	*eof = false;
	while (*got < want) {
		ssize_t n = php_stream_read(stream, buf + *got, want - *got);
		if (n < 0) {
			php_smtpsock_fail(s, "could not read the message stream; the message was not sent");
			return FAILURE;
		}
		if (n == 0) {
			if (php_stream_eof(stream)) {
				*eof = true;
				break;
			}
			continue;
		}
		*got += (size_t)n;
	}
	return SUCCESS;
}

zend_result php_smtpsock_write_body(php_smtpsock_session *s, php_smtpsock_body *body)
{
	int i, rc;

	for (i = 0; i < body->nparts; i++) {
		if (write_octets(s, body->parts[i], body->lens[i], false) == FAILURE) {
			return FAILURE;
		}
	}
	if (body->stream) {
		char *buf = emalloc(BODY_CHUNK);
		bool eof = false;
		while (!eof) {
			size_t got;
			/* never end a half-read message with the terminator: read_stream()
			 * failing closes the session */
			if (read_stream(s, body->stream, buf, BODY_CHUNK, &got, &eof) == FAILURE) {
				efree(buf);
				php_smtpsock_session_close(s);
				return FAILURE;
			}
			if (write_octets(s, buf, got, false) == FAILURE) {
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

/* Frame the body as BDAT chunks. The parts (smtp_mail()'s generated
 * headers, the caller's headers, the body) are one stream of octets: a
 * message up to BDAT_CHUNK is one LAST chunk, a longer one is cut into equal
 * chunks of at most BDAT_CHUNK (no small last chunk whose reply would come
 * alone). Each chunk's size is framed up front, so its octets need no copy
 * of their own; nothing is written per chunk, only once FLUSH_AT has
 * gathered and when the caller waits for the replies, so a message of
 * ordinary size goes out with its envelope in one write. With pipelining the
 * chunks follow each other without waiting; otherwise each waits for its 250. */
static zend_result send_chunk(php_smtpsock_session *s, const smtp_piece_t *pieces, size_t np, bool last,
                              bool pipe, size_t *sent, smtp_event_t *final_ev, bool *have_final)
{
	size_t j;
	int rc;

	if ((rc = smtp_client_chunk_open(s->core, pieces, np, last)) != SMTP_OK) {
		php_smtpsock_fail_core(s, "BDAT", rc);
		return FAILURE;
	}
	(*sent)++;
	for (j = 0; j < np; j++) {
		if (write_octets(s, pieces[j].data, pieces[j].len, true) == FAILURE) {
			return FAILURE;
		}
	}
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
		}
	}
	return SUCCESS;
}

static zend_result write_bdat(php_smtpsock_session *s, php_smtpsock_body *body, bool pipe,
                              size_t *sent, smtp_event_t *final_ev, bool *have_final)
{
	size_t total = 0, nchunks, k, off = 0;
	int i, part = 0;

	for (i = 0; i < body->nparts; i++) {
		total += body->lens[i];
	}
	nchunks = total ? (total - 1) / BDAT_CHUNK + 1 : 1;
	for (k = 0; k < nchunks && !*have_final; k++) {
		smtp_piece_t pieces[sizeof(body->parts) / sizeof(body->parts[0])];
		size_t need = total / nchunks + (k < total % nchunks ? 1 : 0), np = 0;
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
		if (send_chunk(s, pieces, np, k + 1 == nchunks, pipe, sent, final_ev, have_final) == FAILURE) {
			return FAILURE;
		}
		part = pi;
		off = po;
	}
	return SUCCESS;
}

/* A stream message as BDAT chunks of BDAT_CHUNK octets read one at a time
 * (constant memory whatever the message's size); the parts before the stream
 * go in the first chunk. One octet is read ahead so that the last chunk is
 * known to be the last when it is framed (no empty BDAT 0 LAST). A read error
 * leaves a chunk sequence without LAST: the session is closed, nothing is
 * delivered. */
static zend_result write_bdat_stream(php_smtpsock_session *s, php_smtpsock_body *body, bool pipe,
                                     size_t *sent, smtp_event_t *final_ev, bool *have_final)
{
	char *buf = emalloc(BDAT_CHUNK + 1);
	size_t have = 0, got;
	bool eof = false, first = true;
	zend_result r = FAILURE;

	while (!*have_final) {
		smtp_piece_t pieces[sizeof(body->parts) / sizeof(body->parts[0]) + 1];
		size_t np = 0;
		int i;

		/* fill the chunk, then read one octet past it to learn whether it is the last */
		if (!eof) {
			if (read_stream(s, body->stream, buf + have, BDAT_CHUNK - have, &got, &eof) == FAILURE) {
				php_smtpsock_session_close(s);
				goto out;
			}
			have += got;
		}
		if (!eof && read_stream(s, body->stream, buf + have, 1, &got, &eof) == FAILURE) {
			php_smtpsock_session_close(s);
			goto out;
		}
		if (first) {
			for (i = 0; i < body->nparts; i++) {
				if (body->lens[i]) {
					pieces[np].data = body->parts[i];
					pieces[np++].len = body->lens[i];
				}
			}
			first = false;
		}
		if (have) {
			pieces[np].data = buf;
			pieces[np++].len = have;
		}
		if (send_chunk(s, pieces, np, eof, pipe, sent, final_ev, have_final) == FAILURE) {
			goto out;
		}
		if (eof) {
			break;
		}
		/* the octet read ahead starts the next chunk */
		buf[0] = buf[have];
		have = 1;
	}
	r = SUCCESS;
out:
	efree(buf);
	return r;
}

/* RSET after a failed transaction so the session is ready for the next one;
 * a failure here only closes the session, the caller's error stands. */
static void reset_quietly(php_smtpsock_session *s)
{
	php_smtpsock_error saved = s->err;
	bool gone = s->gone;
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
	s->gone = gone;
}

/* The reply to the liveness RSET written in front of a transaction. Any
 * reply shows the server is there (*answered); FAILURE (with s->gone when it
 * was an end of stream, a reset or a 421) when it had left. */
static zend_result read_check(php_smtpsock_session *s, bool *answered)
{
	smtp_event_t ev;

	if (php_smtpsock_next_event(s, &ev) == FAILURE) {
		return FAILURE;
	}
	*answered = true;
	return SUCCESS;
}

/* A result array, made at its first entry (it starts as the shared empty array). */
static zval *result_array(zval *zv)
{
	if (!Z_REFCOUNTED_P(zv)) {
		array_init(zv);
	}
	return zv;
}

static void record_rcpt(php_smtpsock_result *res, zend_string **addrs, const smtp_event_t *ev)
{
	zend_string *addr = addrs[ev->index];

	if (ev->ok) {
		add_next_index_str(result_array(&res->accepted), zend_string_copy(addr));
	} else {
		zval text;
		ZVAL_STRINGL(&text, ev->reply->text, ev->reply->text_len);
		zend_symtable_update(Z_ARRVAL_P(result_array(&res->rejected)), addr, &text);
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
	/* the recipients and their wire forms: on the stack for up to
	 * ADDRS_ON_STACK of them, else allocated */
	zend_string *addrs_stack[ADDRS_ON_STACK], *wire_stack[ADDRS_ON_STACK];
	zend_string **addrs, **wire = NULL, *wire_from = NULL;
	uint32_t slots;
	zval *zv;
	smart_str mparams = {0};
	uint32_t n = 0, i;
	bool pipe, chunk, mail_ok = true, have_final = false, utf8 = false, smtputf8;
	bool reused, check, rset_answered = false, replayed = false, content = false;
	unsigned long replies_at_start, attached;
	size_t bdat_pending = 0;
	int rc;
	zend_result result = FAILURE;
	const char *given_from = from;
	size_t given_from_len = from_len;

again:
	from = given_from;
	from_len = given_from_len;
	ZVAL_EMPTY_ARRAY(&res->accepted);
	ZVAL_EMPTY_ARRAY(&res->rejected);
	res->reply = NULL;
	res->queue_id = NULL;
	php_smtpsock_error_clear(&s->err);
	s->gone = false;

	reused = php_smtpsock_session_connected(s);
	attached = s->attached;
	if (php_smtpsock_ensure(s, PHP_SMTPSOCK_LVL_TXN) == FAILURE) {
		return FAILURE;
	}
	check = s->check_in_front;
	s->check_in_front = false;
	/* the connection this transaction runs on was made before this call
	 * (or by an earlier request) */
	reused = (reused && attached == s->attached) || s->resumed;
	replies_at_start = s->replies;
	if (smtp_client_state(s->core) != SMTP_ST_READY) {
		php_smtpsock_fail_core(s, "MAIL", SMTP_E_STATE);
		return FAILURE;
	}
	caps = smtp_client_caps(s->core);
	pipe = s->cfg.pipelining && (caps->flags & SMTP_CAP_PIPELINING);
	chunk = s->cfg.chunking && (caps->flags & SMTP_CAP_CHUNKING);
	smtputf8 = (caps->flags & SMTP_CAP_SMTPUTF8) != 0;

	/* international addresses (RFC 6531): decided before anything of the message is written */
	slots = zend_hash_num_elements(rcpts) + 1;
	if (slots <= ADDRS_ON_STACK) {
		addrs = addrs_stack;
		wire = wire_stack;
		memset(wire, 0, slots * sizeof(*wire));
	} else {
		addrs = safe_emalloc(slots, sizeof(*addrs), 0);
		wire = ecalloc(slots, sizeof(*wire));
	}
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
	if (check && (rc = smtp_client_rset(s->core)) != SMTP_OK) {
		/* the liveness check, written in front of the transaction */
		php_smtpsock_fail_core(s, "RSET", rc);
		goto done;
	}
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
		if (php_smtpsock_flush(s) == FAILURE || (check && read_check(s, &rset_answered) == FAILURE)
				|| read_envelope(s, res, addrs, n, true, &mail_ok) == FAILURE) {
			goto done;
		}
		if (!mail_ok || zend_hash_num_elements(Z_ARRVAL(res->rejected)) > 0) {
			goto fail_reset;
		}
	}
	if (chunk) {
		/* BDAT goes out with the envelope when pipelining: from here on the
		 * server may have the whole message */
		content = true;
		if ((body->stream ? write_bdat_stream : write_bdat)(s, body, pipe, &bdat_pending, &ev, &have_final) == FAILURE) {
			goto fail_reset;
		}
	} else if ((rc = smtp_client_data(s->core)) != SMTP_OK) {
		php_smtpsock_fail_core(s, "DATA", rc);
		goto fail_reset;
	}
	if (pipe && !atomic) {
		if ((check && read_check(s, &rset_answered) == FAILURE)
				|| read_envelope(s, res, addrs, n, false, &mail_ok) == FAILURE) {
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
	if (addrs != addrs_stack) {
		efree(wire);
		efree(addrs);
	}
	smart_str_free(&mparams);
	n = 0;
	wire = addrs = NULL;
	wire_from = NULL;
	if (result == FAILURE && !replayed && s->gone && !php_smtpsock_session_connected(s)
			&& (check ? !rset_answered : reused && s->replies == replies_at_start && !content)) {
		/* The reused connection had gone before the server answered anything
		 * of this transaction (the RSET in front, or MAIL when not
		 * pipelining, got an end of stream, a reset or a 421): nothing of it
		 * was accepted. Once more on a new connection; never a third time.
		 * Without the RSET in front, only when none of the message had been
		 * written: a server that took a whole message and went before its
		 * reply may have delivered it. */
		replayed = true;
		check = rset_answered = content = false;
		mail_ok = true;
		have_final = utf8 = false;
		bdat_pending = 0;
		php_smtpsock_result_dtor(res);
		goto again;
	}
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
