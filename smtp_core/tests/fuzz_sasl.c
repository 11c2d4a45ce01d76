/*
 * libFuzzer target: the SASL client mechanisms against a hostile server.
 *
 * Input: byte 0 picks the mechanism (and OAUTHBEARER's port), byte 1 the
 * max_line, byte 2 a crypto call to fail (0: none); the rest is split at '\n'
 * into the user name, the password, for OAUTHBEARER the host (empty: none),
 * and then one 334 challenge per piece. A piece's first octet says how its
 * remainder becomes the challenge:
 *   0  as is (any octets)
 *   1  base64 of it
 *   2  SCRAM server-first: base64("r=" client-nonce remainder), so that the
 *      parser gets past the nonce check
 *   3  SCRAM server-final: base64("v=" correct-signature remainder), the
 *      signature computed here from the transcript
 *   4  the server says 235: smtp_sasl_finish(), end
 *   5  OAUTHBEARER's error object: base64('{"status":"' remainder '"}')
 * Properties: no crash, leak or UB; every result is a documented code; a
 * response line is base64 within SMTP_MAX_AUTH_LINE; errors are sticky and
 * leave the line empty; no mechanism answers more challenges than it has;
 * SCRAM finishes successfully only after the correct server signature.
 * OAUTHBEARER: the credentials are exactly RFC 7628's initial response for
 * the user, token, host and port given (',' and '=' escaped); any challenge
 * after them is answered with "AQ==" (traced as it is) and leaves a status
 * that is short printable ASCII, or a reason it was malformed; a status
 * that is such a string comes out unchanged; 235 after it is refused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "smtp_sasl.h"
#include "smtp_caps.h"

static void fail(void)
{
	abort();
}

/* ---- crypto over libcrypto ------------------------------------------------ */

static long calls;
static long fail_at;                 /* -1: none */
static unsigned char last_salted[32];
static int have_salted;

static int tick(void)
{
	return fail_at >= 0 && calls++ == fail_at;
}

static const EVP_MD *md_of(smtp_hash_t alg)
{
	return alg == SMTP_HASH_MD5 ? EVP_md5() : EVP_sha256();
}

static int f_hash(void *ud, smtp_hash_t alg, const unsigned char *msg, size_t len,
                  unsigned char *out, size_t *out_len)
{
	unsigned n = 0;

	(void)ud;
	if (tick() || !EVP_Digest(msg, len, out, &n, md_of(alg), NULL)) {
		return -1;
	}
	*out_len = n;
	return 0;
}

static int f_hmac(void *ud, smtp_hash_t alg, const unsigned char *key, size_t key_len,
                  const unsigned char *msg, size_t len, unsigned char *out, size_t *out_len)
{
	static const unsigned char nothing = 0;
	unsigned n = 0;

	(void)ud;
	if (tick() || HMAC(md_of(alg), key_len ? key : &nothing, (int)key_len, msg, len, out, &n) == NULL) {
		return -1;
	}
	*out_len = n;
	return 0;
}

/* The iteration count is capped at 2: the fuzzer looks for parser bugs,
 * not for PBKDF2 cost (the core passes the count through unchanged). */
static int f_pbkdf2(void *ud, smtp_hash_t alg, const char *pw, size_t pw_len,
                    const unsigned char *salt, size_t salt_len, unsigned iterations,
                    unsigned char *out, size_t out_len)
{
	(void)ud;
	if (iterations < 1 || iterations > 1000000 || salt_len == 0 || out_len != 32) {
		fail();   /* the core must have refused these */
	}
	if (tick() || !PKCS5_PBKDF2_HMAC(pw, (int)pw_len, salt, (int)salt_len, iterations > 2 ? 2 : (int)iterations,
	                                  md_of(alg), (int)out_len, out)) {
		return -1;
	}
	memcpy(last_salted, out, 32);
	have_salted = 1;
	return 0;
}

static int f_random(void *ud, unsigned char *out, size_t len)
{
	size_t i;

	(void)ud;
	if (tick()) {
		return -1;
	}
	for (i = 0; i < len; i++) {
		out[i] = (unsigned char)(i * 37 + 11);
	}
	return 0;
}

static int f_b64_encode(void *ud, const unsigned char *in, size_t len, smtp_buf_t *out)
{
	unsigned char *tmp;
	int n, r;

	(void)ud;
	if (tick()) {
		return -1;
	}
	tmp = (unsigned char *)malloc(len / 3 * 4 + 8);
	if (tmp == NULL) {
		return -1;
	}
	n = EVP_EncodeBlock(tmp, in, (int)len);
	r = smtp_buf_append(out, tmp, (size_t)n) == SMTP_OK ? 0 : -1;
	free(tmp);
	return r;
}

static int f_b64_decode(void *ud, const char *in, size_t len, smtp_buf_t *out)
{
	unsigned char *tmp;
	size_t pad = 0;
	int n, r;

	(void)ud;
	if (tick()) {
		return -1;
	}
	if (len == 0) {
		return 0;
	}
	if (len % 4 != 0) {
		fail();   /* the core checks the syntax before calling */
	}
	if (in[len - 1] == '=') pad++;
	if (in[len - 2] == '=') pad++;
	tmp = (unsigned char *)malloc(len / 4 * 3 + 4);
	if (tmp == NULL) {
		return -1;
	}
	n = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)len);
	r = n < 0 ? -1 : (smtp_buf_append(out, tmp, (size_t)n - pad) == SMTP_OK ? 0 : -1);
	free(tmp);
	return r;
}

static const smtp_crypto_t crypto = {
	NULL, f_hash, f_hmac, f_pbkdf2, f_random, f_b64_encode, f_b64_decode
};

/* ---- helpers ------------------------------------------------------------------ */

static const unsigned mechs[] = {
	SMTP_AUTH_PLAIN, SMTP_AUTH_LOGIN, SMTP_AUTH_CRAM_MD5, SMTP_AUTH_XOAUTH2, SMTP_AUTH_SCRAM_SHA_256,
	SMTP_AUTH_OAUTHBEARER
};
#define NMECHS (sizeof(mechs) / sizeof(mechs[0]))
static const unsigned max_steps[] = { 1, 2, 1, 2, 3, 2 };

static char *b64_alloc(const unsigned char *in, size_t len, size_t *olen)
{
	char *o = (char *)malloc(len / 3 * 4 + 8);

	if (o == NULL) {
		fail();
	}
	*olen = (size_t)EVP_EncodeBlock((unsigned char *)o, in, (int)len);
	return o;
}

/* Decode a base64 line the core produced (must be valid). */
static unsigned char *unb64(const char *in, size_t len, size_t *olen)
{
	unsigned char *o = (unsigned char *)malloc(len / 4 * 3 + 4);
	size_t pad = 0;
	int n;

	if (o == NULL) {
		fail();
	}
	if (len == 0) {
		*olen = 0;
		return o;
	}
	if (in[len - 1] == '=') pad++;
	if (len > 1 && in[len - 2] == '=') pad++;
	n = EVP_DecodeBlock(o, (const unsigned char *)in, (int)len);
	if (n < 0) {
		fail();
	}
	*olen = (size_t)n - pad;
	return o;
}

static void check_b64_line(const char *p, size_t n)
{
	size_t i;

	if (n % 4 != 0 || n + 2 > SMTP_MAX_AUTH_LINE) {
		fail();
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
		      c == '/' || (c == '=' && i + 2 >= n))) {
			fail();
		}
	}
}

static int known_error(int rc)
{
	switch (rc) {
	case SMTP_E_SASL_CHALLENGE:
	case SMTP_E_SASL_SERVER:
	case SMTP_E_SASL_CRYPTO:
	case SMTP_E_SASL_STEP:
	case SMTP_E_SASL_INCOMPLETE:
	case SMTP_E_SASL_AFTER_ERROR:
	case SMTP_E_TOO_LONG:
	case SMTP_E_ARG:
		return 1;
	default:
		return 0;
	}
}

/* SCRAM transcript, kept to compute the correct server signature. */
typedef struct {
	char *first_bare;
	size_t first_bare_len;
	char *server_first;
	size_t server_first_len;
	char *final_wo_proof;
	size_t final_wo_proof_len;
	int correct_v_sent;
} transcript_t;

static char *dup_mem(const void *p, size_t n)
{
	char *c = (char *)malloc(n + 1);

	if (c == NULL) {
		fail();
	}
	if (n > 0) {
		memcpy(c, p, n);
	}
	c[n] = '\0';
	return c;
}

/* Record what a SCRAM response says (client-first or client-final). */
static void note_response(transcript_t *t, const char *b64, size_t n)
{
	size_t rl, i;
	unsigned char *raw = unb64(b64, n, &rl);

	if (rl >= 3 && memcmp(raw, "n,,", 3) == 0) {
		free(t->first_bare);
		t->first_bare = dup_mem(raw + 3, rl - 3);
		t->first_bare_len = rl - 3;
	} else if (rl >= 7 && memcmp(raw, "c=biws,", 7) == 0) {
		for (i = rl; i >= 3; i--) {
			if (memcmp(raw + i - 3, ",p=", 3) == 0) {
				free(t->final_wo_proof);
				t->final_wo_proof = dup_mem(raw, i - 3);
				t->final_wo_proof_len = i - 3;
				break;
			}
		}
		if (t->final_wo_proof == NULL) {
			fail();
		}
	}
	free(raw);
}

/* The signature the core must accept: HMAC(HMAC(salted, "Server Key"), AuthMessage). */
static int server_signature(const transcript_t *t, unsigned char sig[32])
{
	unsigned char key[32];
	unsigned n = 0;
	size_t len;
	char *am;

	if (!have_salted || t->first_bare == NULL || t->server_first == NULL || t->final_wo_proof == NULL) {
		return 0;
	}
	len = t->first_bare_len + 1 + t->server_first_len + 1 + t->final_wo_proof_len;
	am = (char *)malloc(len);
	if (am == NULL) {
		fail();
	}
	memcpy(am, t->first_bare, t->first_bare_len);
	am[t->first_bare_len] = ',';
	memcpy(am + t->first_bare_len + 1, t->server_first, t->server_first_len);
	am[t->first_bare_len + 1 + t->server_first_len] = ',';
	memcpy(am + t->first_bare_len + 2 + t->server_first_len, t->final_wo_proof, t->final_wo_proof_len);
	HMAC(EVP_sha256(), last_salted, 32, (const unsigned char *)"Server Key", 10, key, &n);
	HMAC(EVP_sha256(), key, 32, (const unsigned char *)am, len, sig, &n);
	free(am);
	return 1;
}

/* The client nonce from client-first-bare. */
static const char *client_nonce(const transcript_t *t, size_t *n)
{
	const char *r;

	if (t->first_bare == NULL || (r = strstr(t->first_bare, ",r=")) == NULL) {
		*n = 0;
		return "";
	}
	*n = strlen(r + 3);
	return r + 3;
}

/* smtp_sasl_choose(): one usable bit, the most preferred; the token
 * mechanisms (OAUTHBEARER before XOAUTH2) only when nothing else is allowed. */
static void check_choose(unsigned offered, unsigned allowed)
{
	static const unsigned pref[] = {
		SMTP_AUTH_SCRAM_SHA_256, SMTP_AUTH_CRAM_MD5, SMTP_AUTH_PLAIN, SMTP_AUTH_LOGIN
	};
	unsigned tokens = SMTP_AUTH_XOAUTH2 | SMTP_AUTH_OAUTHBEARER;
	unsigned all = SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN | SMTP_AUTH_CRAM_MD5 | SMTP_AUTH_SCRAM_SHA_256 | tokens;
	unsigned got = smtp_sasl_choose(offered, allowed), want = 0;
	size_t i;

	for (i = 0; i < 4 && want == 0; i++) {
		if (offered & allowed & pref[i]) {
			want = pref[i];
		}
	}
	if (want == 0 && (allowed & all) != 0 && (allowed & all & ~tokens) == 0) {
		if (offered & allowed & SMTP_AUTH_OAUTHBEARER) {
			want = SMTP_AUTH_OAUTHBEARER;
		} else if (offered & allowed & SMTP_AUTH_XOAUTH2) {
			want = SMTP_AUTH_XOAUTH2;
		}
	}
	if (got != want || (got != 0 && smtp_sasl_mech_name(got) == NULL)) {
		fail();
	}
}

/* ---- OAUTHBEARER ---------------------------------------------------------------- */

/* RFC 7628's initial client response, built here independently of the core. */
static char *oauth_expected(const char *user, size_t ulen, const char *tok, size_t tlen,
                            const char *host, size_t hlen, unsigned port, size_t *olen)
{
	char *o = (char *)malloc(3 * ulen + hlen + tlen + 64), *w = o;
	size_t i;

	if (o == NULL) {
		fail();
	}
	memcpy(w, "n,a=", 4);
	w += 4;
	for (i = 0; i < ulen; i++) {
		if (user[i] == ',' || user[i] == '=') {
			memcpy(w, user[i] == ',' ? "=2C" : "=3D", 3);
			w += 3;
		} else {
			*w++ = user[i];
		}
	}
	*w++ = ',';
	*w++ = 1;
	if (host != NULL) {
		memcpy(w, "host=", 5);
		memcpy(w + 5, host, hlen);
		w += 5 + hlen;
		*w++ = 1;
	}
	if (port != 0) {
		w += sprintf(w, "port=%u", port);
		*w++ = 1;
	}
	memcpy(w, "auth=Bearer ", 12);
	memcpy(w + 12, tok, tlen);
	w += 12 + tlen;
	*w++ = 1;
	*w++ = 1;
	*olen = (size_t)(w - o);
	return o;
}

/* The base64 response b64[0..n) decodes to want[0..wn)? */
static void check_decodes_to(const char *b64, size_t n, const char *want, size_t wn)
{
	size_t rl;
	unsigned char *raw = unb64(b64, n, &rl);

	if (rl != wn || memcmp(raw, want, wn) != 0) {
		fail();
	}
	free(raw);
}

/* A status the core may report: 1 to 64 octets of NQSCHAR. */
static int status_shape_ok(const char *t, size_t n)
{
	size_t i;

	if (n == 0 || n > SMTP_SASL_STATUS_MAX) {
		return 0;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t[i];

		if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
			return 0;
		}
	}
	return 1;
}

/* ---- the target ------------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *pieces[64];
	size_t plen[64], npieces = 0, i, start, max_line, first_ch = 2;
	unsigned mi, steps_ok = 0;
	transcript_t t;
	smtp_sasl_t *s;
	smtp_buf_t line;
	const char *tt = NULL;
	int rc, sticky = SMTP_OK, finished = 0, oauth = 0, oauth_error_seen = 0;
	int creds_out = 0;   /* OAUTHBEARER: its credentials went out */
	char *expect_ir = NULL;
	size_t expect_ir_len = 0;

	if (size < 3) {
		return 0;
	}
	check_choose(data[0], data[1]);
	check_choose((unsigned)data[0] << 8 | data[2], (unsigned)data[1] << 8 | data[2]);
	mi = data[0] % (unsigned)NMECHS;
	oauth = mechs[mi] == SMTP_AUTH_OAUTHBEARER;
	switch (data[1] % 4u) {
	case 0: max_line = 0; break;
	case 1: max_line = 512; break;
	case 2: max_line = 100000; break;
	default: max_line = 20 + data[1]; break;
	}
	calls = 0;
	fail_at = data[2] == 0 ? -1 : (long)(data[2] - 1) % 24;
	have_salted = 0;
	memset(&t, 0, sizeof(t));

	for (start = i = 3; i <= size && npieces < 64; i++) {
		if (i == size || data[i] == '\n') {
			pieces[npieces] = (const char *)data + start;
			plen[npieces] = i - start;
			npieces++;
			start = i + 1;
		}
	}
	if (npieces < 2) {
		return 0;
	}

	s = smtp_sasl_new(mechs[mi], pieces[0], plen[0], pieces[1], plen[1], &crypto);
	if (s == NULL) {
		fail();
	}
	smtp_buf_init(&line);
	if (oauth && npieces > 2) {
		/* the host from the third piece (none when empty), a port from byte 0 */
		const char *host = plen[2] > 0 ? pieces[2] : NULL;
		size_t hlen = plen[2], k;
		unsigned port;
		int host_ok = host == NULL || hlen <= 255;

		first_ch = 3;
		port = (unsigned)(data[0] / NMECHS) * 1543u % 65537u;
		for (k = 0; host != NULL && k < hlen; k++) {
			if ((unsigned char)host[k] < 0x21 || (unsigned char)host[k] > 0x7e) {
				host_ok = 0;
			}
		}
		rc = smtp_sasl_set_server(s, host, hlen, port);
		if (rc != (host_ok && port <= 65535 ? SMTP_OK : SMTP_E_ARG)) {
			fail();
		}
		if (rc != SMTP_OK) {
			sticky = rc;
		} else {
			expect_ir = oauth_expected(pieces[0], plen[0], pieces[1], plen[1], host, hlen, port, &expect_ir_len);
		}
	} else if (oauth) {
		expect_ir = oauth_expected(pieces[0], plen[0], pieces[1], plen[1], NULL, 0, 0, &expect_ir_len);
	}
	rc = smtp_sasl_start(s, max_line, &line, &tt);
	if (sticky != SMTP_OK && rc != sticky) {
		fail();
	}
	if (rc != SMTP_OK) {
		if (!known_error(rc) || smtp_buf_size(&line) != 0) {
			fail();
		}
		sticky = rc;
	} else {
		size_t n = smtp_buf_size(&line);
		const char *name = smtp_sasl_mech_name(mechs[mi]);
		size_t nl = strlen(name);

		if (n < 5 + nl || memcmp(line.data, "AUTH ", 5) != 0 || memcmp(line.data + 5, name, nl) != 0) {
			fail();
		}
		if (n > 5 + nl) {
			/* with an initial response: within max_line, trace hides it */
			if (line.data[5 + nl] != ' ' || n + 2 > max_line || n + 2 > SMTP_MAX_AUTH_LINE ||
			    strstr(tt, "***") == NULL) {
				fail();
			}
			check_b64_line(line.data + 6 + nl, n - 6 - nl);
			if (mechs[mi] == SMTP_AUTH_SCRAM_SHA_256) {
				note_response(&t, line.data + 6 + nl, n - 6 - nl);
			}
			if (oauth) {
				check_decodes_to(line.data + 6 + nl, n - 6 - nl, expect_ir, expect_ir_len);
				creds_out = 1;
			}
		} else if (strlen(tt) != n || memcmp(tt, line.data, n) != 0) {
			fail();   /* without an initial response the trace is the line */
		}
	}

	for (i = first_ch; i < npieces && !finished; i++) {
		const char *p = pieces[i];
		size_t n = plen[i];
		char *ch = NULL, *raw = NULL;
		size_t chlen = 0;
		int mode = n > 0 ? (unsigned char)p[0] % 6 : 0;
		int error_ch;   /* OAUTHBEARER: this is the error challenge */
		const char *want_status = NULL;   /* mode 5: the status the core must report */
		size_t want_status_len = 0;

		if (n > 0) {
			p++;
			n--;
		}
		switch (mode) {
		case 0:
			ch = dup_mem(p, n);
			chlen = n;
			break;
		case 1:
			ch = b64_alloc((const unsigned char *)p, n, &chlen);
			break;
		case 2: {
			size_t cn;
			const char *nonce = client_nonce(&t, &cn);

			raw = (char *)malloc(2 + cn + n + 1);
			if (raw == NULL) {
				fail();
			}
			memcpy(raw, "r=", 2);
			memcpy(raw + 2, nonce, cn);
			memcpy(raw + 2 + cn, p, n);
			free(t.server_first);
			t.server_first = dup_mem(raw, 2 + cn + n);
			t.server_first_len = 2 + cn + n;
			ch = b64_alloc((const unsigned char *)raw, 2 + cn + n, &chlen);
			break;
		}
		case 3: {
			unsigned char sig[32];
			char sig64[64];
			size_t sl;

			if (!server_signature(&t, sig)) {
				memset(sig, 0, sizeof(sig));
			}
			sl = (size_t)EVP_EncodeBlock((unsigned char *)sig64, sig, 32);
			raw = (char *)malloc(2 + sl + n + 1);
			if (raw == NULL) {
				fail();
			}
			memcpy(raw, "v=", 2);
			memcpy(raw + 2, sig64, sl);
			memcpy(raw + 2 + sl, p, n);
			if (server_signature(&t, sig)) {
				t.correct_v_sent = 1;
			}
			ch = b64_alloc((const unsigned char *)raw, 2 + sl + n, &chlen);
			break;
		}
		case 5:
			raw = (char *)malloc(n + 16);
			if (raw == NULL) {
				fail();
			}
			memcpy(raw, "{\"status\":\"", 11);
			memcpy(raw + 11, p, n);
			memcpy(raw + 11 + n, "\"}", 2);
			ch = b64_alloc((const unsigned char *)raw, n + 13, &chlen);
			want_status = status_shape_ok(p, n) ? p : NULL;
			want_status_len = n;
			break;
		default:
			finished = 1;
			break;
		}
		if (finished) {
			break;
		}
		error_ch = oauth && creds_out;
		rc = smtp_sasl_step(s, ch, chlen, &line, &tt);
		if (sticky != SMTP_OK) {
			if (rc != sticky) {
				fail();
			}
		} else if (rc != SMTP_OK) {
			if (!known_error(rc) || rc == SMTP_E_SASL_INCOMPLETE || rc == SMTP_E_ARG) {
				fail();
			}
			sticky = rc;
		} else {
			steps_ok++;
			if (steps_ok > max_steps[mi]) {
				fail();
			}
			if (error_ch) {
				/* answered with ^A whatever the challenge held; a status or a reason */
				const char *text = NULL;
				smtp_sasl_oauth_t r = smtp_sasl_oauth_error(s, &text);

				if (smtp_buf_size(&line) != 4 || memcmp(line.data + line.off, "AQ==", 4) != 0 ||
				    tt == NULL || strcmp(tt, "AQ==") != 0 || text == NULL) {
					fail();
				}
				if (r == SMTP_SASL_OAUTH_STATUS) {
					if (!status_shape_ok(text, strlen(text))) {
						fail();
					}
				} else if (r != SMTP_SASL_OAUTH_MALFORMED || text[0] == '\0') {
					fail();
				}
				if (want_status != NULL && (r != SMTP_SASL_OAUTH_STATUS || strlen(text) != want_status_len ||
				                            memcmp(text, want_status, want_status_len) != 0)) {
					fail();
				}
				oauth_error_seen = 1;
			} else if (tt == NULL || (tt[0] == '\0' && smtp_buf_size(&line) != 0) ||
			           (tt[0] != '\0' && strcmp(tt, "***") != 0)) {
				fail();
			} else if (oauth) {
				/* the credentials, asked for by an empty 334 */
				if (smtp_sasl_oauth_error(s, NULL) != SMTP_SASL_OAUTH_NONE) {
					fail();
				}
				check_decodes_to(line.data + line.off, smtp_buf_size(&line), expect_ir, expect_ir_len);
				creds_out = 1;
			}
			check_b64_line(line.data ? line.data + line.off : "", smtp_buf_size(&line));
			if (mechs[mi] == SMTP_AUTH_SCRAM_SHA_256 && smtp_buf_size(&line) > 0) {
				note_response(&t, line.data + line.off, smtp_buf_size(&line));
			}
		}
		if (rc != SMTP_OK && smtp_buf_size(&line) != 0) {
			fail();
		}
		free(ch);
		free(raw);
	}

	rc = smtp_sasl_finish(s);
	if (sticky != SMTP_OK) {
		if (rc != sticky) {
			fail();
		}
	} else if (oauth_error_seen ? rc != SMTP_E_SASL_AFTER_ERROR : rc != SMTP_OK && rc != SMTP_E_SASL_INCOMPLETE) {
		fail();   /* after an error challenge, 235 is never believed */
	}
	if (rc == SMTP_OK && mechs[mi] == SMTP_AUTH_SCRAM_SHA_256 && !t.correct_v_sent) {
		fail();   /* SCRAM accepted a server that did not prove the password */
	}
	smtp_sasl_free(s);
	smtp_buf_free(&line);
	free(t.first_bare);
	free(t.server_first);
	free(t.final_wo_proof);
	free(expect_ir);
	return 0;
}
