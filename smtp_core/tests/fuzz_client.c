/*
 * fuzz_client: the client state machine driven by arbitrary server bytes.
 *
 * The input is a sequence of steps. Each step's first octet picks a verb to
 * call (any verb, in any state: the state guards must refuse what does not
 * fit), or says "the server sends the next N octets", fed in fuzzer-chosen
 * pieces. Invariants checked: no crash, leak or UB (ASan/UBSan); a refused
 * verb queues nothing; after a fatal error every verb and feed keep failing;
 * the pending count and state stay consistent.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../smtp_client.h"

static void drain(smtp_client_t *c)
{
	const char *p;
	size_t n;

	while ((n = smtp_client_output(c, &p)) > 0) {
		smtp_client_output_consumed(c, n);
	}
}

static int verb(smtp_client_t *c, unsigned op, const uint8_t *arg, size_t arg_len)
{
	const char *a = (const char *)arg;
	smtp_piece_t pieces[2];

	switch (op % 21) {
	case 0: return smtp_client_ehlo(c, "fuzz.example", 12);
	case 1: return smtp_client_helo(c, a, arg_len);
	case 2: return smtp_client_starttls(c);
	case 3: return smtp_client_tls_done(c);
	case 4: return smtp_client_mail(c, "s@example.org", 13, "SIZE=10", 7);
	case 5: return smtp_client_rcpt(c, "r@example.org", 13, "", 0);
	case 6: return smtp_client_rcpt(c, a, arg_len, "", 0);
	case 7: return smtp_client_data(c);
	case 8: return smtp_client_body(c, a, arg_len);
	case 9: return smtp_client_body_end(c);
	case 10: return smtp_client_bdat(c, a, arg_len, 0);
	case 11: return smtp_client_bdat(c, a, arg_len, 1);
	case 12: return smtp_client_rset(c);
	case 13: return smtp_client_noop(c);
	case 14: return smtp_client_vrfy(c, a, arg_len);
	case 15: return smtp_client_quit(c);
	case 16: return smtp_client_auth(c, "AUTH PLAIN AHUAcA==", 19, "AUTH PLAIN ***");
	case 17: return smtp_client_auth_response(c, a, arg_len, NULL);
	case 18:
		/* a chunk of two pieces (the argument cut in two), LAST when odd */
		pieces[0].data = a;
		pieces[0].len = arg_len / 2;
		pieces[1].data = a + arg_len / 2;
		pieces[1].len = arg_len - arg_len / 2;
		return smtp_client_chunk_open(c, pieces, 2, op & 1);
	case 19: return smtp_client_chunk_write(c, a, arg_len);
	default: {
		/* zero-copy never queues anything itself */
		const char *p;
		size_t before = smtp_client_output(c, &p);
		size_t n = smtp_client_chunk_passthrough(c, a, arg_len);
		if (smtp_client_output(c, &p) != before || n > arg_len) {
			abort();
		}
		return n ? SMTP_OK : SMTP_E_STATE;   /* "refused" when nothing was taken */
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	smtp_client_t *c = smtp_client_new();
	size_t i = 0;
	int fatal = 0;

	if (!c) {
		return 0;
	}
	smtp_client_set_pipelining(c, size > 0 && (data[0] & 1));
	i = size > 0 ? 1 : 0;
	while (i + 2 <= size) {
		unsigned op = data[i];
		size_t len = data[i + 1];
		const uint8_t *arg = data + i + 2;

		if (len > size - i - 2) {
			len = size - i - 2;
		}
		i += 2 + len;
		if (op >= 0x80) {
			/* the server sends len octets, in pieces of 1 + (op & 7) */
			size_t off = 0, piece = 1 + (op & 7);
			while (off < len) {
				size_t n = len - off < piece ? len - off : piece, used = 0;
				smtp_event_t ev;
				int rc = smtp_client_feed(c, (const char *)arg + off, n, &used, &ev);
				if (rc < 0) {
					fatal = rc;
					break;
				}
				if (used > n || (rc == 0 && used != n)) {
					abort();   /* consumed more than given, or stopped without a reason */
				}
				if (rc == 1 && (ev.reply == NULL || ev.reply->code < 200 || ev.reply->code > 599)) {
					abort();
				}
				off += used;
			}
			if (fatal && smtp_client_error(c) == 0) {
				abort();   /* a fatal feed error must be sticky */
			}
		} else {
			const char *p;
			size_t before = smtp_client_output(c, &p), pending = smtp_client_pending(c);
			int rc = verb(c, op, arg, len);
			if (rc != SMTP_OK) {
				size_t after = smtp_client_output(c, &p);
				if (after != before) {
					abort();   /* a refused verb must queue nothing */
				}
				if (rc == SMTP_E_STATE && smtp_client_pending(c) != pending) {
					abort();
				}
			}
			if (smtp_client_error(c) && rc == SMTP_OK) {
				abort();   /* nothing succeeds after a fatal error */
			}
			if (op & 0x40) {
				drain(c);
			}
			if ((smtp_client_state(c) == SMTP_ST_CHUNK) != (smtp_client_chunk_left(c) > 0)) {
				abort();   /* an open chunk always has octets to come */
			}
		}
	}
	smtp_client_free(c);
	return 0;
}
