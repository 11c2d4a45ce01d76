/*
 * test_sasl.c: the SASL client mechanisms against the RFC test vectors
 * (RFC 4616 PLAIN, RFC 2195 CRAM-MD5, RFC 7677 SCRAM-SHA-256, RFC 7628
 * OAUTHBEARER), LOGIN, XOAUTH2 at the max_line boundary, OAUTHBEARER's
 * escaping and error challenges (its JSON scanner against well-formed and
 * malformed objects), hostile challenges, the step limits, every crypto
 * failure and every allocation failure point.
 *
 * smtp_crypto_t is implemented with OpenSSL's libcrypto. Its random()
 * can be scripted (test_rand_script); RFC 7677's 20-character client nonce
 * cannot come out of base64(24 octets), so that vector uses
 * smtp_sasl_test_set_nonce(), which exists only in builds with
 * SMTP_SASL_TEST_HOOKS (this Makefile), never in the extension.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "tap.h"
#include "../smtp_sasl.h"
#include "../smtp_caps.h"
#include "smtp_core_config.h"

/* ---- smtp_crypto_t over libcrypto, with failure injection ----------------- */

typedef struct {
	long calls;              /* crypto calls so far */
	long fail_at;            /* the call (0-based) that fails; -1: none */
	int bad_digest_len;      /* hash/hmac report a wrong size */
	int bad_encode_len;      /* b64_encode appends one octet too many */
	int bad_encode_char;     /* b64_encode puts a ',' first */
	int bad_decode_len;      /* b64_decode appends one octet too few */
	int decode_refuses;      /* b64_decode fails on everything */
	const unsigned char *rand_script;   /* random() output, when set */
	size_t rand_script_len;
	unsigned last_iterations;
} test_crypto_ud;

static int tick(test_crypto_ud *u)
{
	return u->fail_at >= 0 && u->calls++ == u->fail_at;
}

static const EVP_MD *md_of(smtp_hash_t alg)
{
	return alg == SMTP_HASH_MD5 ? EVP_md5() : EVP_sha256();
}

static int t_hash(void *ud, smtp_hash_t alg, const unsigned char *msg, size_t len,
                  unsigned char *out, size_t *out_len)
{
	test_crypto_ud *u = (test_crypto_ud *)ud;
	unsigned n = 0;

	if (tick(u) || !EVP_Digest(msg, len, out, &n, md_of(alg), NULL)) {
		return -1;
	}
	*out_len = n + (u->bad_digest_len ? 1 : 0);
	return 0;
}

static int t_hmac(void *ud, smtp_hash_t alg, const unsigned char *key, size_t key_len,
                  const unsigned char *msg, size_t len, unsigned char *out, size_t *out_len)
{
	test_crypto_ud *u = (test_crypto_ud *)ud;
	unsigned n = 0;
	static const unsigned char nothing = 0;

	if (tick(u) || HMAC(md_of(alg), key_len ? key : &nothing, (int)key_len, msg, len, out, &n) == NULL) {
		return -1;
	}
	*out_len = n - (u->bad_digest_len ? 1 : 0);
	return 0;
}

static int t_pbkdf2(void *ud, smtp_hash_t alg, const char *pw, size_t pw_len,
                    const unsigned char *salt, size_t salt_len, unsigned iterations,
                    unsigned char *out, size_t out_len)
{
	test_crypto_ud *u = (test_crypto_ud *)ud;

	u->last_iterations = iterations;
	if (tick(u) || !PKCS5_PBKDF2_HMAC(pw, (int)pw_len, salt, (int)salt_len, (int)iterations,
	                                  md_of(alg), (int)out_len, out)) {
		return -1;
	}
	return 0;
}

static int t_random(void *ud, unsigned char *out, size_t len)
{
	test_crypto_ud *u = (test_crypto_ud *)ud;

	if (tick(u)) {
		return -1;
	}
	if (u->rand_script != NULL) {
		size_t i;

		for (i = 0; i < len; i++) {
			out[i] = u->rand_script[i % u->rand_script_len];
		}
		return 0;
	}
	return RAND_bytes(out, (int)len) == 1 ? 0 : -1;
}

static int t_b64_encode(void *ud, const unsigned char *in, size_t len, smtp_buf_t *out)
{
	test_crypto_ud *u = (test_crypto_ud *)ud;
	unsigned char tmp[40000];
	int n;

	if (tick(u) || len > 29000) {
		return -1;
	}
	n = EVP_EncodeBlock(tmp, in, (int)len);
	if (u->bad_encode_len) {
		tmp[n++] = 'A';
	}
	if (u->bad_encode_char && n > 0) {
		tmp[0] = ',';
	}
	return smtp_buf_append(out, tmp, (size_t)n) == SMTP_OK ? 0 : -1;
}

/* Strict: only the alphabet, padded, length a multiple of 4. */
static int t_b64_decode(void *ud, const char *in, size_t len, smtp_buf_t *out)
{
	test_crypto_ud *u = (test_crypto_ud *)ud;
	unsigned char tmp[40000];
	size_t i, pad = 0;
	int n;

	if (tick(u) || u->decode_refuses || len % 4 != 0 || len > 50000) {
		return -1;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';

		if (c == '=' && i + 2 >= len) {
			pad++;
		} else if (!ok || pad > 0) {
			return -1;
		}
	}
	if (len == 0) {
		return 0;
	}
	n = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)len);
	if (n < 0) {
		return -1;
	}
	n -= (int)pad;
	if (u->bad_decode_len && n > 0) {
		n--;
	}
	return smtp_buf_append(out, tmp, (size_t)n) == SMTP_OK ? 0 : -1;
}

static test_crypto_ud cud;
static const smtp_crypto_t crypto = {
	&cud, t_hash, t_hmac, t_pbkdf2, t_random, t_b64_encode, t_b64_decode
};

static void crypto_reset(void)
{
	memset(&cud, 0, sizeof(cud));
	cud.fail_at = -1;
}

/* ---- helpers --------------------------------------------------------------- */

static char b64_tmp[40000];

/* base64 of a string (the test's own, via libcrypto). */
static const char *b64(const char *raw, size_t len)
{
	EVP_EncodeBlock((unsigned char *)b64_tmp, (const unsigned char *)raw, (int)len);
	return b64_tmp;
}
#define B64S(lit) b64((lit), sizeof(lit) - 1)

/* Length of the base64 text for n octets. */
static size_t b64_len_of(size_t n)
{
	return (n + 2) / 3 * 4;
}

static char dec_tmp[40000];
static size_t dec_len;

/* Decode a line the module produced (the test's own decoder). */
static const char *unb64(const smtp_buf_t *line)
{
	size_t n = smtp_buf_size(line), pad = 0;
	int r;

	if (n == 0) {
		dec_len = 0;
		return dec_tmp;
	}
	if (line->data[line->off + n - 1] == '=') pad++;
	if (n > 1 && line->data[line->off + n - 2] == '=') pad++;
	r = EVP_DecodeBlock((unsigned char *)dec_tmp, (const unsigned char *)line->data + line->off, (int)n);
	dec_len = r < 0 ? 0 : (size_t)r - pad;
	return dec_tmp;
}

#define LINE_IS(line, lit) CHECK_MEM((line).data + (line).off, smtp_buf_size(&(line)), (lit), strlen(lit))
#define DECODED_IS(line, lit) do { const char *d_ = unb64(&(line)); CHECK_MEM(d_, dec_len, (lit), sizeof(lit) - 1); } while (0)

static smtp_sasl_t *mk(unsigned mech, const char *user, const char *pass)
{
	return smtp_sasl_new(mech, user, strlen(user), pass, strlen(pass), &crypto);
}

static int step_s(smtp_sasl_t *s, const char *text, smtp_buf_t *line, const char **tt)
{
	return smtp_sasl_step(s, text, strlen(text), line, tt);
}

/* ---- choose, names ------------------------------------------------------------ */

#define ALL (SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN | SMTP_AUTH_CRAM_MD5 | SMTP_AUTH_XOAUTH2 | SMTP_AUTH_SCRAM_SHA_256 | \
             SMTP_AUTH_OAUTHBEARER)
#define ALL_BUT_X (ALL & ~SMTP_AUTH_XOAUTH2)
#define OB SMTP_AUTH_OAUTHBEARER
#define TOKENS (SMTP_AUTH_XOAUTH2 | SMTP_AUTH_OAUTHBEARER)

static void test_choose(void)
{
	CHECK_INT(smtp_sasl_choose(ALL, ALL_BUT_X), SMTP_AUTH_SCRAM_SHA_256);
	CHECK_INT(smtp_sasl_choose(ALL, ALL), SMTP_AUTH_SCRAM_SHA_256);
	CHECK_INT(smtp_sasl_choose(SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN | SMTP_AUTH_CRAM_MD5, ALL_BUT_X), SMTP_AUTH_CRAM_MD5);
	CHECK_INT(smtp_sasl_choose(SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN, ALL_BUT_X), SMTP_AUTH_PLAIN);
	CHECK_INT(smtp_sasl_choose(SMTP_AUTH_LOGIN | SMTP_AUTH_XOAUTH2, ALL_BUT_X), SMTP_AUTH_LOGIN);
	CHECK_INT(smtp_sasl_choose(SMTP_AUTH_XOAUTH2, ALL_BUT_X), 0);
	CHECK_INT(smtp_sasl_choose(SMTP_AUTH_XOAUTH2, ALL), 0);   /* never automatically */
	CHECK_INT(smtp_sasl_choose(SMTP_AUTH_XOAUTH2 | SMTP_AUTH_PLAIN, SMTP_AUTH_XOAUTH2), SMTP_AUTH_XOAUTH2);
	CHECK_INT(smtp_sasl_choose(SMTP_AUTH_PLAIN, SMTP_AUTH_XOAUTH2), 0);
	CHECK_INT(smtp_sasl_choose(SMTP_AUTH_XOAUTH2, SMTP_AUTH_XOAUTH2 | SMTP_AUTH_PLAIN), 0);
	CHECK_INT(smtp_sasl_choose(ALL, SMTP_AUTH_LOGIN), SMTP_AUTH_LOGIN);
	CHECK_INT(smtp_sasl_choose(SMTP_AUTH_PLAIN | SMTP_AUTH_SCRAM_SHA_256, SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN), SMTP_AUTH_PLAIN);
	CHECK_INT(smtp_sasl_choose(0, ALL), 0);
	CHECK_INT(smtp_sasl_choose(ALL, 0), 0);
	CHECK_INT(smtp_sasl_choose(SMTP_AUTH_XOAUTH2, SMTP_AUTH_XOAUTH2 | 0x8000u), SMTP_AUTH_XOAUTH2);
	/* OAUTHBEARER: like XOAUTH2 only when named, and preferred to it */
	CHECK_INT(smtp_sasl_choose(OB, ALL_BUT_X), 0);
	CHECK_INT(smtp_sasl_choose(OB, ALL), 0);
	CHECK_INT(smtp_sasl_choose(ALL, OB), OB);
	CHECK_INT(smtp_sasl_choose(ALL, TOKENS), OB);
	CHECK_INT(smtp_sasl_choose(OB | SMTP_AUTH_PLAIN, TOKENS), OB);
	CHECK_INT(smtp_sasl_choose(SMTP_AUTH_XOAUTH2 | SMTP_AUTH_PLAIN, TOKENS), SMTP_AUTH_XOAUTH2);
	CHECK_INT(smtp_sasl_choose(SMTP_AUTH_PLAIN, TOKENS), 0);
	CHECK_INT(smtp_sasl_choose(SMTP_AUTH_XOAUTH2, OB), 0);
	CHECK_INT(smtp_sasl_choose(OB, SMTP_AUTH_XOAUTH2), 0);
	CHECK_INT(smtp_sasl_choose(ALL, OB | SMTP_AUTH_PLAIN), SMTP_AUTH_PLAIN);   /* a password mechanism allowed: no token */
	CHECK_INT(smtp_sasl_choose(OB, OB | SMTP_AUTH_PLAIN), 0);
	CHECK_INT(smtp_sasl_choose(OB, OB | 0x8000u), OB);
	CHECK_INT(smtp_sasl_choose(OB, 0x8000u), 0);

	CHECK_STR(smtp_sasl_mech_name(SMTP_AUTH_PLAIN), "PLAIN");
	CHECK_STR(smtp_sasl_mech_name(SMTP_AUTH_LOGIN), "LOGIN");
	CHECK_STR(smtp_sasl_mech_name(SMTP_AUTH_CRAM_MD5), "CRAM-MD5");
	CHECK_STR(smtp_sasl_mech_name(SMTP_AUTH_XOAUTH2), "XOAUTH2");
	CHECK_STR(smtp_sasl_mech_name(SMTP_AUTH_SCRAM_SHA_256), "SCRAM-SHA-256");
	CHECK_STR(smtp_sasl_mech_name(OB), "OAUTHBEARER");
	CHECK(smtp_sasl_mech_name(OB | SMTP_AUTH_XOAUTH2) == NULL);
	CHECK(smtp_sasl_mech_name(0) == NULL);
	CHECK(smtp_sasl_mech_name(SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN) == NULL);
}

/* ---- PLAIN (RFC 4616) ----------------------------------------------------------- */

static void test_plain(void)
{
	smtp_sasl_t *s;
	smtp_buf_t line;
	const char *tt = NULL;
	/* "AUTH PLAIN " + 28 + CRLF */
	size_t need = 11 + 28 + 2;

	crypto_reset();
	smtp_buf_init(&line);

	/* RFC 4616 section 4: "\0tim\0tanstaaftanstaaf" as the initial response */
	s = mk(SMTP_AUTH_PLAIN, "tim", "tanstaaftanstaaf");
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_OK);
	LINE_IS(line, "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
	CHECK_STR(tt, "AUTH PLAIN ***");
	CHECK_INT(smtp_sasl_finish(s), SMTP_OK);
	smtp_sasl_free(s);

	/* exactly at the boundary, and one octet short */
	s = mk(SMTP_AUTH_PLAIN, "tim", "tanstaaftanstaaf");
	CHECK_INT(smtp_sasl_start(s, need, &line, &tt), SMTP_OK);
	LINE_IS(line, "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
	smtp_sasl_free(s);

	s = mk(SMTP_AUTH_PLAIN, "tim", "tanstaaftanstaaf");
	CHECK_INT(smtp_sasl_start(s, need - 1, &line, &tt), SMTP_OK);
	LINE_IS(line, "AUTH PLAIN");
	CHECK_STR(tt, "AUTH PLAIN");
	CHECK_INT(smtp_sasl_finish(s), SMTP_E_SASL_INCOMPLETE);   /* 235 before the credentials */
	smtp_sasl_free(s);

	s = mk(SMTP_AUTH_PLAIN, "tim", "tanstaaftanstaaf");
	CHECK_INT(smtp_sasl_start(s, need - 1, &line, &tt), SMTP_OK);
	CHECK_INT(step_s(s, "", &line, &tt), SMTP_OK);
	LINE_IS(line, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
	CHECK_STR(tt, "***");
	CHECK_INT(smtp_sasl_finish(s), SMTP_OK);
	CHECK_INT(step_s(s, "", &line, &tt), SMTP_E_SASL_STEP);   /* too many steps */
	CHECK_INT(smtp_sasl_finish(s), SMTP_E_SASL_STEP);          /* sticky */
	smtp_sasl_free(s);

	/* RFC 4616's second example without its authzid (this client sends none) */
	s = mk(SMTP_AUTH_PLAIN, "Kurt", "xipj3plmq");
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_OK);
	LINE_IS(line, "AUTH PLAIN AEt1cnQAeGlwajNwbG1x");
	/* a 334 after the initial response: PLAIN has nothing more to say */
	CHECK_INT(step_s(s, "", &line, &tt), SMTP_E_SASL_STEP);
	CHECK_INT(smtp_buf_size(&line), 0);
	smtp_sasl_free(s);

	/* PLAIN's 334 carries nothing */
	s = mk(SMTP_AUTH_PLAIN, "tim", "tanstaaftanstaaf");
	CHECK_INT(smtp_sasl_start(s, 0, &line, &tt), SMTP_OK);
	CHECK_INT(step_s(s, "Z28gYWhlYWQ=", &line, &tt), SMTP_E_SASL_CHALLENGE);
	smtp_sasl_free(s);

	/* credentials PLAIN cannot carry */
	s = smtp_sasl_new(SMTP_AUTH_PLAIN, "tim", 3, "a\0b", 3, &crypto);
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_E_ARG);
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_E_ARG);   /* sticky */
	smtp_sasl_free(s);
	s = smtp_sasl_new(SMTP_AUTH_PLAIN, "t\0m", 3, "x", 1, &crypto);
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_E_ARG);
	smtp_sasl_free(s);
	s = mk(SMTP_AUTH_PLAIN, "", "x");
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_E_ARG);
	smtp_sasl_free(s);

	/* an empty password is sent (the server judges it) */
	s = mk(SMTP_AUTH_PLAIN, "tim", "");
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_OK);
	LINE_IS(line, "AUTH PLAIN AHRpbQA=");
	smtp_sasl_free(s);

	smtp_buf_free(&line);
}

/* ---- LOGIN ---------------------------------------------------------------------- */

static void test_login(void)
{
	smtp_sasl_t *s;
	smtp_buf_t line;
	const char *tt = NULL;

	crypto_reset();
	smtp_buf_init(&line);

	s = mk(SMTP_AUTH_LOGIN, "tim", "tanstaaftanstaaf");
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_OK);
	LINE_IS(line, "AUTH LOGIN");
	CHECK_STR(tt, "AUTH LOGIN");
	CHECK_INT(step_s(s, "VXNlcm5hbWU6", &line, &tt), SMTP_OK);   /* "Username:" */
	LINE_IS(line, "dGlt");
	CHECK_STR(tt, "***");
	CHECK_INT(step_s(s, "UGFzc3dvcmQ6", &line, &tt), SMTP_OK);   /* "Password:" */
	LINE_IS(line, "dGFuc3RhYWZ0YW5zdGFhZg==");
	CHECK_STR(tt, "***");
	CHECK_INT(smtp_sasl_finish(s), SMTP_OK);
	smtp_sasl_free(s);

	/* the prompt text is ignored: any (valid base64) challenge, even empty */
	s = mk(SMTP_AUTH_LOGIN, "tim", "pw");
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_OK);
	CHECK_INT(step_s(s, "", &line, &tt), SMTP_OK);
	LINE_IS(line, "dGlt");
	CHECK_INT(smtp_sasl_finish(s), SMTP_E_SASL_INCOMPLETE);   /* 235 after the user name only */
	smtp_sasl_free(s);

	s = mk(SMTP_AUTH_LOGIN, "tim", "pw");
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_OK);
	CHECK_INT(step_s(s, B64S("who are you?"), &line, &tt), SMTP_OK);
	CHECK_INT(step_s(s, "", &line, &tt), SMTP_OK);
	LINE_IS(line, "cHc=");
	CHECK_INT(step_s(s, "", &line, &tt), SMTP_E_SASL_STEP);   /* a third prompt */
	CHECK_INT(smtp_buf_size(&line), 0);
	smtp_sasl_free(s);

	/* a prompt that is not base64 */
	s = mk(SMTP_AUTH_LOGIN, "tim", "pw");
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_OK);
	CHECK_INT(step_s(s, "Username:", &line, &tt), SMTP_E_SASL_CHALLENGE);
	CHECK_INT(step_s(s, "VXNlcm5hbWU6", &line, &tt), SMTP_E_SASL_CHALLENGE);   /* sticky */
	smtp_sasl_free(s);

	/* an empty password is an empty line, traced as "***" all the same */
	s = mk(SMTP_AUTH_LOGIN, "tim", "");
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_OK);
	CHECK_INT(step_s(s, "", &line, &tt), SMTP_OK);
	CHECK_INT(step_s(s, "", &line, &tt), SMTP_OK);
	CHECK_INT(smtp_buf_size(&line), 0);
	CHECK_STR(tt, "***");
	smtp_sasl_free(s);

	smtp_buf_free(&line);
}

/* ---- CRAM-MD5 (RFC 2195) --------------------------------------------------------- */

static void test_cram(void)
{
	smtp_sasl_t *s;
	smtp_buf_t line;
	const char *tt = NULL;

	crypto_reset();
	smtp_buf_init(&line);

	s = mk(SMTP_AUTH_CRAM_MD5, "tim", "tanstaaftanstaaf");
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_OK);
	LINE_IS(line, "AUTH CRAM-MD5");
	CHECK_STR(tt, "AUTH CRAM-MD5");
	CHECK_INT(smtp_sasl_finish(s), SMTP_E_SASL_INCOMPLETE);
	smtp_sasl_free(s);

	s = mk(SMTP_AUTH_CRAM_MD5, "tim", "tanstaaftanstaaf");
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_OK);
	CHECK_INT(step_s(s, "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+", &line, &tt), SMTP_OK);
	LINE_IS(line, "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
	CHECK_STR(tt, "***");
	CHECK_INT(smtp_sasl_finish(s), SMTP_OK);
	smtp_sasl_free(s);

	/* a second challenge; an empty one; bad base64 */
	s = mk(SMTP_AUTH_CRAM_MD5, "tim", "tanstaaftanstaaf");
	smtp_sasl_start(s, 512, &line, &tt);
	CHECK_INT(step_s(s, "PDE+", &line, &tt), SMTP_OK);
	CHECK_INT(step_s(s, "PDE+", &line, &tt), SMTP_E_SASL_STEP);
	smtp_sasl_free(s);

	s = mk(SMTP_AUTH_CRAM_MD5, "tim", "tanstaaftanstaaf");
	smtp_sasl_start(s, 512, &line, &tt);
	CHECK_INT(step_s(s, "", &line, &tt), SMTP_E_SASL_CHALLENGE);
	smtp_sasl_free(s);

	s = mk(SMTP_AUTH_CRAM_MD5, "tim", "tanstaaftanstaaf");
	smtp_sasl_start(s, 512, &line, &tt);
	CHECK_INT(step_s(s, "<1896.697170952@postoffice.reston.mci.net>", &line, &tt), SMTP_E_SASL_CHALLENGE);
	CHECK_INT(smtp_sasl_finish(s), SMTP_E_SASL_CHALLENGE);
	smtp_sasl_free(s);

	smtp_buf_free(&line);
}

/* ---- XOAUTH2 ---------------------------------------------------------------------- */

static void test_xoauth2(void)
{
	static const char google[] =
		"dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==";
	static const char json_err[] = "{\"status\":\"401\",\"schemes\":\"bearer\",\"scope\":\"https://mail.google.com/\"}";
	char token[9400], want[9500];
	smtp_sasl_t *s;
	smtp_buf_t line;
	const char *tt = NULL;
	size_t tlen;

	crypto_reset();
	smtp_buf_init(&line);

	/* Google's documented example */
	s = mk(SMTP_AUTH_XOAUTH2, "someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg");
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_OK);
	CHECK_INT(smtp_buf_size(&line), 13 + strlen(google));
	CHECK(memcmp(line.data, "AUTH XOAUTH2 ", 13) == 0);
	CHECK(memcmp(line.data + 13, google, strlen(google)) == 0);
	CHECK_STR(tt, "AUTH XOAUTH2 ***");
	/* the server's error challenge is acknowledged with an empty line */
	CHECK_INT(step_s(s, b64(json_err, strlen(json_err)), &line, &tt), SMTP_OK);
	CHECK_INT(smtp_buf_size(&line), 0);
	CHECK_STR(tt, "");
	CHECK_INT(step_s(s, "", &line, &tt), SMTP_E_SASL_STEP);
	smtp_sasl_free(s);

	/* a long token: the initial response exactly at max_line, then one short */
	memset(token, 'T', sizeof(token));
	for (tlen = 400; tlen <= 403; tlen++) {
		size_t raw = 5 + 3 + 13 + tlen + 2;   /* user=abc ^A auth=Bearer token ^A ^A */
		size_t need = 13 + (raw + 2) / 3 * 4 + 2;
		s = smtp_sasl_new(SMTP_AUTH_XOAUTH2, "abc", 3, token, tlen, &crypto);
		CHECK_INT(smtp_sasl_start(s, need, &line, &tt), SMTP_OK);
		CHECK_INT(smtp_buf_size(&line) + 2, need);
		smtp_sasl_free(s);

		s = smtp_sasl_new(SMTP_AUTH_XOAUTH2, "abc", 3, token, tlen, &crypto);
		CHECK_INT(smtp_sasl_start(s, need - 1, &line, &tt), SMTP_OK);
		LINE_IS(line, "AUTH XOAUTH2");
		CHECK_STR(tt, "AUTH XOAUTH2");
		CHECK_INT(smtp_sasl_finish(s), SMTP_E_SASL_INCOMPLETE);
		smtp_sasl_free(s);
	}

	/* 512 (RFC 4954) with a 2 KiB token: no initial response; the response
	 * answers the first (empty) 334, an error challenge follows */
	tlen = 2048;
	memcpy(want, "user=abc\x01" "auth=Bearer ", 21);
	memcpy(want + 21, token, tlen);
	memcpy(want + 21 + tlen, "\x01\x01", 2);
	s = smtp_sasl_new(SMTP_AUTH_XOAUTH2, "abc", 3, token, tlen, &crypto);
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_OK);
	LINE_IS(line, "AUTH XOAUTH2");
	CHECK_INT(step_s(s, "", &line, &tt), SMTP_OK);
	CHECK_STR(tt, "***");
	unb64(&line);
	CHECK_MEM(dec_tmp, dec_len, want, 21 + tlen + 2);
	CHECK_INT(step_s(s, "eyJzdGF0dXMiOiI0MDEifQ==", &line, &tt), SMTP_OK);
	CHECK_INT(smtp_buf_size(&line), 0);
	CHECK_STR(tt, "");
	CHECK_INT(step_s(s, "", &line, &tt), SMTP_E_SASL_STEP);
	smtp_sasl_free(s);

	/* the same, the server says 235 to the response */
	s = smtp_sasl_new(SMTP_AUTH_XOAUTH2, "abc", 3, token, tlen, &crypto);
	smtp_sasl_start(s, 512, &line, &tt);
	CHECK_INT(step_s(s, "", &line, &tt), SMTP_OK);
	CHECK_INT(smtp_sasl_finish(s), SMTP_OK);
	smtp_sasl_free(s);

	/* the first 334 without an initial response must be empty */
	s = smtp_sasl_new(SMTP_AUTH_XOAUTH2, "abc", 3, token, tlen, &crypto);
	smtp_sasl_start(s, 512, &line, &tt);
	CHECK_INT(step_s(s, "eyJzdGF0dXMiOiI0MDEifQ==", &line, &tt), SMTP_E_SASL_CHALLENGE);
	smtp_sasl_free(s);

	/* an error challenge that is not base64 */
	s = mk(SMTP_AUTH_XOAUTH2, "abc", "tok");
	smtp_sasl_start(s, 512, &line, &tt);
	CHECK_INT(step_s(s, "{\"status\":\"401\"}", &line, &tt), SMTP_E_SASL_CHALLENGE);
	smtp_sasl_free(s);

	/* a max_line beyond SMTP_MAX_AUTH_LINE is held to it */
	tlen = 8000;
	s = smtp_sasl_new(SMTP_AUTH_XOAUTH2, "abc", 3, token, tlen, &crypto);
	CHECK_INT(smtp_sasl_start(s, 100000, &line, &tt), SMTP_OK);
	CHECK_INT(smtp_buf_size(&line), 13 + (21 + tlen + 2 + 2) / 3 * 4);
	smtp_sasl_free(s);
	tlen = 9190;   /* response 12284 + CRLF fits; with "AUTH XOAUTH2 " it does not */
	s = smtp_sasl_new(SMTP_AUTH_XOAUTH2, "abc", 3, token, tlen, &crypto);
	CHECK_INT(smtp_sasl_start(s, 100000, &line, &tt), SMTP_OK);
	LINE_IS(line, "AUTH XOAUTH2");
	CHECK_INT(step_s(s, "", &line, &tt), SMTP_OK);
	CHECK_INT(smtp_buf_size(&line), (21 + tlen + 2 + 2) / 3 * 4);
	smtp_sasl_free(s);
	/* a response that could never fit an AUTH line: refused up front */
	tlen = 9191;
	s = smtp_sasl_new(SMTP_AUTH_XOAUTH2, "abc", 3, token, tlen, &crypto);
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_E_TOO_LONG);
	smtp_sasl_free(s);

	/* credentials XOAUTH2 cannot carry */
	s = mk(SMTP_AUTH_XOAUTH2, "a\x01" "b", "tok");
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_E_ARG);
	smtp_sasl_free(s);
	s = mk(SMTP_AUTH_XOAUTH2, "ab", "to\x01k");
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_E_ARG);
	smtp_sasl_free(s);
	s = mk(SMTP_AUTH_XOAUTH2, "ab", "");
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_E_ARG);
	smtp_sasl_free(s);

	smtp_buf_free(&line);
}

/* ---- OAUTHBEARER (RFC 7628) ---------------------------------------------------------- */

/* RFC 7628 section 4.1: the IMAP example's initial client response */
static const char OB_RFC_RAW[] =
	"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01"
	"auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01";
static const char OB_RFC_B64[] =
	"bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52"
	"YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB";
static const char OB_RFC_TOKEN[] = "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==";
/* RFC 7628 section 4.3: the server's error challenge */
static const char OB_RFC_ERROR[] =
	"eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJleGFtcGxlX3Njb3BlIiwib3BlbmlkLWNvbmZpZ3VyYXRpb24iOiJodHRwczovL2V4"
	"YW1wbGUuY29tLy53ZWxsLWtub3duL29wZW5pZC1jb25maWd1cmF0aW9uIn0=";

/* An OAUTHBEARER exchange for the RFC's server, started with max_line. */
static smtp_sasl_t *ob_rfc(size_t max_line, smtp_buf_t *line, const char **tt)
{
	smtp_sasl_t *s = mk(OB, "user@example.com", OB_RFC_TOKEN);

	CHECK_INT(smtp_sasl_set_server(s, "server.example.com", 18, 143), SMTP_OK);
	CHECK_INT(smtp_sasl_start(s, max_line, line, tt), SMTP_OK);
	return s;
}

/* The initial response for user/token/host/port, decoded; compares with want. */
static void ob_ir_is(const char *user, const char *token, const char *host, unsigned port,
                     const char *want, size_t want_len)
{
	smtp_sasl_t *s = mk(OB, user, token);
	smtp_buf_t line, ir;
	const char *tt = NULL;

	smtp_buf_init(&line);
	smtp_buf_init(&ir);
	CHECK_INT(smtp_sasl_set_server(s, host, host != NULL ? strlen(host) : 0, port), SMTP_OK);
	CHECK_INT(smtp_sasl_start(s, 100000, &line, &tt), SMTP_OK);
	CHECK_STR(tt, "AUTH OAUTHBEARER ***");
	if (CHECK(smtp_buf_size(&line) > 17 && memcmp(line.data + line.off, "AUTH OAUTHBEARER ", 17) == 0)) {
		smtp_buf_append(&ir, line.data + line.off + 17, smtp_buf_size(&line) - 17);
		unb64(&ir);
		if (!CHECK_MEM(dec_tmp, dec_len, want, want_len)) {
			fprintf(stderr, "  user %s\n", user);
		}
	}
	smtp_sasl_free(s);
	smtp_buf_free(&line);
	smtp_buf_free(&ir);
}
#define OB_IR_IS(user, token, host, port, lit) ob_ir_is((user), (token), (host), (port), (lit), sizeof(lit) - 1)

/* The outcome of one error challenge (its base64 text given) after the RFC
 * example's initial response: it is answered with ^A whatever it holds. */
static smtp_sasl_oauth_t ob_error_b64(const char *challenge, size_t len, const char **text)
{
	static char keep[128];
	smtp_buf_t line;
	const char *tt = NULL, *t = NULL;
	smtp_sasl_t *s;
	smtp_sasl_oauth_t r;

	smtp_buf_init(&line);
	s = ob_rfc(512, &line, &tt);
	CHECK_INT(smtp_sasl_oauth_error(s, &t), SMTP_SASL_OAUTH_NONE);
	CHECK(t == NULL);
	CHECK_INT(smtp_sasl_step(s, challenge, len, &line, &tt), SMTP_OK);
	LINE_IS(line, "AQ==");
	CHECK_STR(tt, "AQ==");
	r = smtp_sasl_oauth_error(s, &t);
	CHECK(r == SMTP_SASL_OAUTH_NONE ? t == NULL : t != NULL);
	snprintf(keep, sizeof(keep), "%s", t != NULL ? t : "");
	*text = keep;
	/* the exchange is over: a further 334 is refused, 235 is not believed */
	CHECK_INT(smtp_sasl_finish(s), SMTP_E_SASL_AFTER_ERROR);
	CHECK_INT(step_s(s, "", &line, &tt), SMTP_E_SASL_AFTER_ERROR);   /* sticky */
	smtp_sasl_free(s);
	smtp_buf_free(&line);
	return r;
}

static smtp_sasl_oauth_t ob_error_json(const char *json, size_t len, const char **text)
{
	const char *enc = b64(json, len);

	return ob_error_b64(enc, strlen(enc), text);
}

#define OB_STATUS(lit, want) do { \
	const char *t_; \
	if (!CHECK_INT(ob_error_json((lit), sizeof(lit) - 1, &t_), SMTP_SASL_OAUTH_STATUS) || !CHECK_STR(t_, (want))) { \
		fprintf(stderr, "  json %s\n", (lit)); \
	} \
} while (0)
#define OB_MALFORMED(lit, why) do { \
	const char *t_; \
	if (!CHECK_INT(ob_error_json((lit), sizeof(lit) - 1, &t_), SMTP_SASL_OAUTH_MALFORMED) || !CHECK_STR(t_, (why))) { \
		fprintf(stderr, "  json %s\n", (lit)); \
	} \
} while (0)

static const char NOT_JSON[] = "not JSON";
static const char NOT_OBJECT[] = "not a JSON object";
static const char NO_STATUS[] = "no \"status\" member";
static const char BAD_STATUS[] = "\"status\" is empty, longer than 64 octets or not printable ASCII";

static void test_oauthbearer(void)
{
	smtp_sasl_t *s;
	smtp_buf_t line;
	const char *tt = NULL, *t = NULL;
	char token[9400];
	size_t tlen, n;

	crypto_reset();
	smtp_buf_init(&line);

	/* RFC 7628 section 4.1, byte for byte */
	s = ob_rfc(512, &line, &tt);
	CHECK_INT(smtp_buf_size(&line), 17 + strlen(OB_RFC_B64));
	CHECK(memcmp(line.data, "AUTH OAUTHBEARER ", 17) == 0);
	CHECK(memcmp(line.data + 17, OB_RFC_B64, strlen(OB_RFC_B64)) == 0);
	CHECK_STR(tt, "AUTH OAUTHBEARER ***");
	CHECK_INT(smtp_sasl_oauth_error(s, &t), SMTP_SASL_OAUTH_NONE);
	CHECK_INT(smtp_sasl_finish(s), SMTP_OK);   /* 235 */
	CHECK_INT(smtp_sasl_oauth_error(s, &t), SMTP_SASL_OAUTH_NONE);
	smtp_sasl_free(s);
	OB_IR_IS("user@example.com", OB_RFC_TOKEN, "server.example.com", 143, OB_RFC_RAW);

	/* RFC 7628 section 4.3: the error challenge, answered with ^A, its status kept */
	s = ob_rfc(512, &line, &tt);
	CHECK_INT(step_s(s, OB_RFC_ERROR, &line, &tt), SMTP_OK);
	LINE_IS(line, "AQ==");
	CHECK_STR(tt, "AQ==");
	CHECK_INT(smtp_sasl_oauth_error(s, &t), SMTP_SASL_OAUTH_STATUS);
	CHECK_STR(t, "invalid_token");
	CHECK_INT(smtp_sasl_oauth_error(s, NULL), SMTP_SASL_OAUTH_STATUS);
	CHECK_INT(step_s(s, OB_RFC_ERROR, &line, &tt), SMTP_E_SASL_STEP);   /* one error challenge only */
	CHECK_INT(smtp_buf_size(&line), 0);
	CHECK_INT(smtp_sasl_finish(s), SMTP_E_SASL_STEP);
	CHECK_INT(smtp_sasl_oauth_error(s, &t), SMTP_SASL_OAUTH_STATUS);   /* still known for the report */
	CHECK_STR(t, "invalid_token");
	smtp_sasl_free(s);
	CHECK_INT(smtp_sasl_oauth_error(NULL, &t), SMTP_SASL_OAUTH_NONE);
	CHECK(t == NULL);

	/* the authorization identity escaped as an RFC 5801 saslname */
	OB_IR_IS("a,b=c", "tok", "h", 25, "n,a=a=2Cb=3Dc,\x01host=h\x01port=25\x01" "auth=Bearer tok\x01\x01");
	OB_IR_IS(",=,", "tok", "h", 25, "n,a==2C=3D=2C,\x01host=h\x01port=25\x01" "auth=Bearer tok\x01\x01");
	OB_IR_IS("=3D", "tok", "h", 25, "n,a==3D3D,\x01host=h\x01port=25\x01" "auth=Bearer tok\x01\x01");
	OB_IR_IS("J\xc3\xb6rg@example.org", "tok", "h", 25,
	         "n,a=J\xc3\xb6rg@example.org,\x01host=h\x01port=25\x01" "auth=Bearer tok\x01\x01");
	/* host and port as given, each left out when not set */
	OB_IR_IS("u", "tok", "::1", 65535, "n,a=u,\x01host=::1\x01port=65535\x01" "auth=Bearer tok\x01\x01");
	OB_IR_IS("u", "tok", "smtp.gmail.com", 1, "n,a=u,\x01host=smtp.gmail.com\x01port=1\x01" "auth=Bearer tok\x01\x01");
	OB_IR_IS("u", "tok", "h", 0, "n,a=u,\x01host=h\x01" "auth=Bearer tok\x01\x01");
	OB_IR_IS("u", "tok", NULL, 587, "n,a=u,\x01port=587\x01" "auth=Bearer tok\x01\x01");
	OB_IR_IS("u", "tok", NULL, 0, "n,a=u,\x01" "auth=Bearer tok\x01\x01");
	OB_IR_IS("u", "a-._~+/Z09==", NULL, 0, "n,a=u,\x01" "auth=Bearer a-._~+/Z09==\x01\x01");
	s = mk(OB, "u", "tok");   /* never set at all */
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_OK);
	LINE_IS(line, "AUTH OAUTHBEARER bixhPXUsAWF1dGg9QmVhcmVyIHRvawEB");
	smtp_sasl_free(s);
	s = mk(OB, "u", "tok");   /* set twice: the second wins; NULL clears the host */
	CHECK_INT(smtp_sasl_set_server(s, "first.example", 13, 25), SMTP_OK);
	CHECK_INT(smtp_sasl_set_server(s, NULL, 0, 0), SMTP_OK);
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_OK);
	LINE_IS(line, "AUTH OAUTHBEARER bixhPXUsAWF1dGg9QmVhcmVyIHRvawEB");
	CHECK_INT(smtp_sasl_set_server(s, "h", 1, 25), SMTP_E_STATE);   /* after start */
	smtp_sasl_free(s);

	/* a host or port the response cannot carry: refused, and the error sticks */
	{
		static const struct {
			const char *host;
			size_t len;
			unsigned port;
		} bad[] = {
			{ "h", 1, 65536 }, { "", 0, 25 }, { "a b", 3, 25 }, { "a\x01" "b", 3, 25 }, { "a\0b", 3, 25 },
			{ "a\tb", 3, 25 }, { "h\x7f", 2, 25 }, { "h\xc3\xa9", 3, 25 }, { NULL, 1, 25 }
		};
		char big[256];
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			s = mk(OB, "u", "tok");
			if (!CHECK_INT(smtp_sasl_set_server(s, bad[i].host, bad[i].len, bad[i].port), SMTP_E_ARG)) {
				fprintf(stderr, "  bad host %lu\n", (unsigned long)i);
			}
			CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_E_ARG);
			smtp_sasl_free(s);
		}
		memset(big, 'h', 256);
		s = mk(OB, "u", "tok");
		CHECK_INT(smtp_sasl_set_server(s, big, 256, 25), SMTP_E_ARG);
		smtp_sasl_free(s);
		s = mk(OB, "u", "tok");
		CHECK_INT(smtp_sasl_set_server(s, big, 255, 25), SMTP_OK);
		CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_OK);
		smtp_sasl_free(s);
		CHECK_INT(smtp_sasl_set_server(NULL, "h", 1, 25), SMTP_E_NOMEM);
		/* other mechanisms ignore it */
		s = mk(SMTP_AUTH_PLAIN, "tim", "tanstaaftanstaaf");
		CHECK_INT(smtp_sasl_set_server(s, "h", 1, 25), SMTP_OK);
		CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_OK);
		LINE_IS(line, "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
		smtp_sasl_free(s);
	}

	/* credentials OAUTHBEARER cannot carry: the token is a b64token (no
	 * space, control or non-ASCII octet), the user name has no ^A */
	{
		static const char *bad_tokens[] = { "", "to k", "tok\n", "to\x01k", "\ttok", "tok\x7f", "t\xc3\xb6k" };
		size_t i;

		for (i = 0; i < sizeof(bad_tokens) / sizeof(bad_tokens[0]); i++) {
			s = mk(OB, "u", bad_tokens[i]);
			if (!CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_E_ARG)) {
				fprintf(stderr, "  bad token %lu\n", (unsigned long)i);
			}
			smtp_sasl_free(s);
		}
		s = smtp_sasl_new(OB, "u", 1, "to\0k", 4, &crypto);
		CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_E_ARG);
		smtp_sasl_free(s);
		s = mk(OB, "a\x01" "b", "tok");
		CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_E_ARG);
		smtp_sasl_free(s);
		s = mk(OB, "", "tok");
		CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_E_ARG);
		smtp_sasl_free(s);
	}

	/* without an initial response (max_line): the empty 334 gets the
	 * credentials, then the error challenge gets ^A */
	s = ob_rfc(100, &line, &tt);
	LINE_IS(line, "AUTH OAUTHBEARER");
	CHECK_STR(tt, "AUTH OAUTHBEARER");
	CHECK_INT(step_s(s, "", &line, &tt), SMTP_OK);
	LINE_IS(line, OB_RFC_B64);
	CHECK_STR(tt, "***");
	CHECK_INT(smtp_sasl_oauth_error(s, &t), SMTP_SASL_OAUTH_NONE);
	CHECK_INT(step_s(s, OB_RFC_ERROR, &line, &tt), SMTP_OK);
	LINE_IS(line, "AQ==");
	CHECK_STR(tt, "AQ==");
	CHECK_INT(smtp_sasl_oauth_error(s, &t), SMTP_SASL_OAUTH_STATUS);
	CHECK_STR(t, "invalid_token");
	CHECK_INT(smtp_sasl_finish(s), SMTP_E_SASL_AFTER_ERROR);
	smtp_sasl_free(s);
	/* ... 235 to the credentials */
	s = ob_rfc(100, &line, &tt);
	CHECK_INT(smtp_sasl_finish(s), SMTP_E_SASL_INCOMPLETE);   /* before them */
	smtp_sasl_free(s);
	s = ob_rfc(100, &line, &tt);
	CHECK_INT(step_s(s, "", &line, &tt), SMTP_OK);
	CHECK_INT(smtp_sasl_finish(s), SMTP_OK);
	smtp_sasl_free(s);
	/* ... the first 334 must be empty (it is not an error challenge yet) */
	s = ob_rfc(100, &line, &tt);
	CHECK_INT(step_s(s, OB_RFC_ERROR, &line, &tt), SMTP_E_SASL_CHALLENGE);
	CHECK_INT(smtp_buf_size(&line), 0);
	CHECK_INT(smtp_sasl_oauth_error(s, &t), SMTP_SASL_OAUTH_NONE);
	smtp_sasl_free(s);
	s = ob_rfc(100, &line, &tt);
	CHECK_INT(step_s(s, "not base64!", &line, &tt), SMTP_E_SASL_CHALLENGE);
	smtp_sasl_free(s);

	/* the initial response exactly at max_line, then one octet short */
	memset(token, 'T', sizeof(token));
	for (tlen = 400; tlen <= 403; tlen++) {
		size_t raw = 6 + 1 + 7 + 9 + 12 + tlen + 2;   /* n,a=u, ^A host=h ^A port=587 ^A auth=Bearer token ^A ^A */
		size_t need = 17 + (raw + 2) / 3 * 4 + 2;

		s = smtp_sasl_new(OB, "u", 1, token, tlen, &crypto);
		smtp_sasl_set_server(s, "h", 1, 587);
		CHECK_INT(smtp_sasl_start(s, need, &line, &tt), SMTP_OK);
		CHECK_INT(smtp_buf_size(&line) + 2, need);
		CHECK_STR(tt, "AUTH OAUTHBEARER ***");
		smtp_sasl_free(s);
		s = smtp_sasl_new(OB, "u", 1, token, tlen, &crypto);
		smtp_sasl_set_server(s, "h", 1, 587);
		CHECK_INT(smtp_sasl_start(s, need - 1, &line, &tt), SMTP_OK);
		LINE_IS(line, "AUTH OAUTHBEARER");
		CHECK_INT(step_s(s, "", &line, &tt), SMTP_OK);
		CHECK_INT(smtp_buf_size(&line) + 2, need - 17);
		smtp_sasl_free(s);
	}
	/* a response that could never fit an AUTH line: refused up front; the
	 * escaped user name counts (3 octets for each ',') */
	n = (SMTP_MAX_AUTH_LINE - 2) / 4 * 3 - (7 + 12 + 2);   /* the largest token whose response fits */
	s = smtp_sasl_new(OB, "u", 1, token, n, &crypto);
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_OK);
	CHECK_INT(step_s(s, "", &line, &tt), SMTP_OK);
	CHECK_INT(smtp_buf_size(&line), (SMTP_MAX_AUTH_LINE - 2) / 4 * 4);   /* the longest response there can be */
	smtp_sasl_free(s);
	s = smtp_sasl_new(OB, "u", 1, token, n + 1, &crypto);
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_E_TOO_LONG);
	smtp_sasl_free(s);
	s = smtp_sasl_new(OB, ",", 1, token, n - 2, &crypto);
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_OK);
	smtp_sasl_free(s);
	s = smtp_sasl_new(OB, ",", 1, token, n - 1, &crypto);
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_E_TOO_LONG);
	smtp_sasl_free(s);

	/* ---- the error challenge's JSON */
	OB_STATUS("{\"status\":\"invalid_token\"}", "invalid_token");
	OB_STATUS("{\"status\":\"401\",\"schemes\":\"bearer\",\"scope\":\"https://mail.google.com/\"}", "401");
	OB_STATUS(" \t\r\n{ \"scope\" : \"a b\" , \"status\" : \"insufficient_scope\" } \r\n", "insufficient_scope");
	OB_STATUS("{\"openid-configuration\":\"https:\\/\\/example.com\\/.well-known\",\"status\":\"invalid_token\"}",
	          "invalid_token");
	OB_STATUS("{\"st\\u0061tus\":\"invalid\\u005ftoken\"}", "invalid_token");   /* escapes decoded */
	OB_STATUS("{\"x\":[1,-0.5e+3,2E-2,0,true,false,null,{\"status\":\"inner\"},[[]],{}],\"status\":\"outer\"}", "outer");
	OB_STATUS("{\"scope\":\"\\\"status\\\":\\\"fake\\\"\",\"status\":\"real\"}", "real");
	OB_STATUS("{\"status\":\"a b!#$%&'()*+,-./:;<=>?@[]^_`{|}~\"}", "a b!#$%&'()*+,-./:;<=>?@[]^_`{|}~");
	OB_STATUS("{\"status\":\"\\/\"}", "/");
	OB_STATUS("{\"\\u00e9\":\"\\ud83d\\ude00\",\"status\":\"x\",\"\xc3\xa9\":\"\xc3\xa9\"}", "x");   /* non-ASCII elsewhere */
	OB_STATUS("{\"status\":\"0123456789012345678901234567890123456789012345678901234567890123\"}",
	          "0123456789012345678901234567890123456789012345678901234567890123");   /* 64 octets */
	OB_STATUS("{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{\"i\":{\"j\":{\"k\":{\"l\":{\"m\":{\"n\":[[1]]}}}}}}}}}}}}},"
	          "\"status\":\"deep\"}", "deep");   /* 16 levels, the top object included */

	OB_MALFORMED("{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{\"i\":{\"j\":{\"k\":{\"l\":{\"m\":{\"n\":[[[1]]]}}}}}}}}}}}}},"
	             "\"status\":\"deep\"}", "JSON nested too deeply");
	OB_MALFORMED("{}", NO_STATUS);
	OB_MALFORMED("{\"Status\":\"x\",\"STATUS\":\"y\",\"status \":\"z\",\"statusx\":\"w\"}", NO_STATUS);
	OB_MALFORMED("{\"scope\":\"\\\"status\\\":\\\"x\\\"\"}", NO_STATUS);   /* inside a string */
	OB_MALFORMED("{\"error\":{\"status\":\"x\"}}", NO_STATUS);               /* not at the top level */
	OB_MALFORMED("{\"a\":[{\"status\":\"x\"}]}", NO_STATUS);
	OB_MALFORMED("{\"status\":401}", "\"status\" is not a string");
	OB_MALFORMED("{\"status\":null}", "\"status\" is not a string");
	OB_MALFORMED("{\"status\":{\"code\":\"x\"}}", "\"status\" is not a string");
	OB_MALFORMED("{\"status\":[\"x\"]}", "\"status\" is not a string");
	OB_MALFORMED("{\"status\":\"x\",\"status\":\"y\"}", "\"status\" given twice");
	OB_MALFORMED("{\"status\":\"x\",\"status\":1}", "\"status\" given twice");
	OB_MALFORMED("{\"status\":\"\"}", BAD_STATUS);
	OB_MALFORMED("{\"status\":\"01234567890123456789012345678901234567890123456789012345678901234\"}", BAD_STATUS);
	OB_MALFORMED("{\"status\":\"caf\xc3\xa9\"}", BAD_STATUS);
	OB_MALFORMED("{\"status\":\"caf\\u00e9\"}", BAD_STATUS);
	OB_MALFORMED("{\"status\":\"a\\\"b\"}", BAD_STATUS);
	OB_MALFORMED("{\"status\":\"a\\\\b\"}", BAD_STATUS);
	OB_MALFORMED("{\"status\":\"a\\nb\"}", BAD_STATUS);
	OB_MALFORMED("{\"status\":\"a\\u0000b\"}", BAD_STATUS);
	OB_MALFORMED("{\"status\":\"a\\u007fb\"}", BAD_STATUS);
	OB_MALFORMED("", "empty");
	OB_MALFORMED("   ", NOT_OBJECT);
	OB_MALFORMED("status=invalid_token", NOT_OBJECT);
	OB_MALFORMED("[{\"status\":\"x\"}]", NOT_OBJECT);
	OB_MALFORMED("\"status\"", NOT_OBJECT);
	OB_MALFORMED("{", NOT_JSON);
	OB_MALFORMED("{\"status\":\"invalid_token\"", NOT_JSON);
	OB_MALFORMED("{\"status\":\"invalid_token}", NOT_JSON);
	OB_MALFORMED("{\"status\":\"invalid_token\"} x", NOT_JSON);
	OB_MALFORMED("{\"status\":\"invalid_token\"}}", NOT_JSON);
	OB_MALFORMED("{\"status\":\"x\",}", NOT_JSON);
	OB_MALFORMED("{,\"status\":\"x\"}", NOT_JSON);
	OB_MALFORMED("{\"status\" \"x\"}", NOT_JSON);
	OB_MALFORMED("{\"status\":\"x\" \"a\":1}", NOT_JSON);
	OB_MALFORMED("{status:\"x\"}", NOT_JSON);
	OB_MALFORMED("{'status':'x'}", NOT_JSON);
	OB_MALFORMED("{\"status\":\"x\",\"a\":tru}", NOT_JSON);
	OB_MALFORMED("{\"status\":\"x\",\"a\":nul}", NOT_JSON);
	OB_MALFORMED("{\"status\":\"x\",\"a\":01}", NOT_JSON);
	OB_MALFORMED("{\"status\":\"x\",\"a\":1.}", NOT_JSON);
	OB_MALFORMED("{\"status\":\"x\",\"a\":.5}", NOT_JSON);
	OB_MALFORMED("{\"status\":\"x\",\"a\":1e}", NOT_JSON);
	OB_MALFORMED("{\"status\":\"x\",\"a\":-}", NOT_JSON);
	OB_MALFORMED("{\"status\":\"x\",\"a\":+1}", NOT_JSON);
	OB_MALFORMED("{\"status\":\"x\",\"a\":[1,]}", NOT_JSON);
	OB_MALFORMED("{\"status\":\"x\",\"a\":[1 2]}", NOT_JSON);
	OB_MALFORMED("{\"status\":\"x\",\"a\":{\"b\"}}", NOT_JSON);
	OB_MALFORMED("{\"status\":\"x\",\"a\":\"\\x\"}", NOT_JSON);
	OB_MALFORMED("{\"status\":\"x\",\"a\":\"\\u12\"}", NOT_JSON);
	OB_MALFORMED("{\"status\":\"x\",\"a\":\"\\u12g4\"}", NOT_JSON);
	OB_MALFORMED("{\"status\":\"x\",\"a\":\"tab\there\"}", NOT_JSON);   /* raw control character */
	OB_MALFORMED("{\"status\":\"x\\", NOT_JSON);
	OB_MALFORMED("{\"status\":\"x\",\"a\":\"\\u00", NOT_JSON);
	OB_MALFORMED("{\"status\":\"inv\\", NOT_JSON);
	{
		/* NUL octets, in and out of strings */
		static const char nul_in[] = "{\"status\":\"a\0b\"}";
		static const char nul_out[] = "{\"status\":\"x\"}\0";

		CHECK_INT(ob_error_json(nul_in, sizeof(nul_in) - 1, &t), SMTP_SASL_OAUTH_MALFORMED);
		CHECK_STR(t, NOT_JSON);
		CHECK_INT(ob_error_json(nul_out, sizeof(nul_out) - 1, &t), SMTP_SASL_OAUTH_MALFORMED);
		CHECK_STR(t, NOT_JSON);
	}
	/* the challenge itself not base64, or over the line limit */
	CHECK_INT(ob_error_b64("{\"status\":\"invalid_token\"}", 26, &t), SMTP_SASL_OAUTH_MALFORMED);
	CHECK_STR(t, "not valid base64");
	CHECK_INT(ob_error_b64("eyJzdGF0dXMiOiJ4In0", 19, &t), SMTP_SASL_OAUTH_MALFORMED);
	CHECK_STR(t, "not valid base64");
	CHECK_INT(ob_error_b64("eyJzdGF0dXMiOiJ4In0=\r\n", 22, &t), SMTP_SASL_OAUTH_MALFORMED);
	CHECK_STR(t, "not valid base64");
	CHECK_INT(ob_error_b64("eyJzdGF0dXMiOiJ4In0=", 20, &t), SMTP_SASL_OAUTH_STATUS);
	CHECK_STR(t, "x");
	CHECK_INT(ob_error_b64("", 0, &t), SMTP_SASL_OAUTH_MALFORMED);
	CHECK_STR(t, "empty");
	{
		/* large: a 6 KiB object (8 KiB of base64, the reply line limit) is
		 * read to its status; a longer challenge is not decoded at all */
		static char json[6200];
		static char text[SMTP_REPLY_MAX_LINE + 8];

		n = (size_t)sprintf(json, "{\"scope\":\"");
		memset(json + n, 's', 6107);
		n += 6107;
		n += (size_t)sprintf(json + n, "\",\"status\":\"invalid_token\"}");
		CHECK(b64_len_of(n) == SMTP_REPLY_MAX_LINE);
		CHECK_INT(ob_error_json(json, n, &t), SMTP_SASL_OAUTH_STATUS);
		CHECK_STR(t, "invalid_token");
		memset(text, 'A', sizeof(text));
		CHECK_INT(ob_error_b64(text, SMTP_REPLY_MAX_LINE + 4, &t), SMTP_SASL_OAUTH_MALFORMED);
		CHECK_STR(t, "too long");
		/* a status of 5000 octets: refused, bounded */
		n = (size_t)sprintf(json, "{\"status\":\"");
		memset(json + n, 'x', 5000);
		n += 5000;
		n += (size_t)sprintf(json + n, "\"}");
		CHECK_INT(ob_error_json(json, n, &t), SMTP_SASL_OAUTH_MALFORMED);
		CHECK_STR(t, BAD_STATUS);
		/* 4000 nested arrays: refused at the depth limit, no deep recursion */
		n = (size_t)sprintf(json, "{\"a\":");
		memset(json + n, '[', 4000);
		n += 4000;
		CHECK_INT(ob_error_json(json, n, &t), SMTP_SASL_OAUTH_MALFORMED);
		CHECK_STR(t, "JSON nested too deeply");
	}

	/* the status is never a secret: the token does not appear in anything the
	 * exchange reports */
	s = ob_rfc(512, &line, &tt);
	step_s(s, B64S("{\"status\":\"vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\"}"), &line, &tt);
	CHECK_INT(smtp_sasl_oauth_error(s, &t), SMTP_SASL_OAUTH_STATUS);   /* what the server said, as it said it */
	smtp_sasl_free(s);

	smtp_buf_free(&line);
}

/* ---- SCRAM-SHA-256 (RFC 5802, RFC 7677) -------------------------------------------- */

static const char RFC_NONCE[] = "rOprNGfwEbeRWgbNEkqO";
static const char RFC_SFIRST[] = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
static const char RFC_CFINAL[] =
	"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
static const char RFC_SFINAL[] = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

/* A SCRAM exchange with RFC 7677's nonce and credentials, past the initial response. */
static smtp_sasl_t *scram_rfc(smtp_buf_t *line)
{
	const char *tt;
	smtp_sasl_t *s = mk(SMTP_AUTH_SCRAM_SHA_256, "user", "pencil");

	smtp_sasl_test_set_nonce(s, RFC_NONCE, strlen(RFC_NONCE));
	smtp_sasl_start(s, 512, line, &tt);
	return s;
}

/* Server-first text -> the step's result (after the RFC client-first). */
static int scram_first_with(const char *server_first)
{
	smtp_buf_t line;
	const char *tt;
	smtp_sasl_t *s;
	int rc;

	smtp_buf_init(&line);
	s = scram_rfc(&line);
	rc = step_s(s, b64(server_first, strlen(server_first)), &line, &tt);
	smtp_sasl_free(s);
	smtp_buf_free(&line);
	return rc;
}

/* Server-final text -> the step's result (after the RFC exchange). */
static int scram_final_with(const char *server_final)
{
	smtp_buf_t line;
	const char *tt;
	smtp_sasl_t *s;
	int rc;

	smtp_buf_init(&line);
	s = scram_rfc(&line);
	step_s(s, B64S(RFC_SFIRST), &line, &tt);
	rc = step_s(s, b64(server_final, strlen(server_final)), &line, &tt);
	if (rc == SMTP_OK) {
		CHECK_INT(smtp_sasl_finish(s), SMTP_OK);
	} else {
		CHECK_INT(smtp_sasl_finish(s), rc);
	}
	smtp_sasl_free(s);
	smtp_buf_free(&line);
	return rc;
}

static void test_scram_rfc7677(void)
{
	smtp_sasl_t *s;
	smtp_buf_t line;
	const char *tt = NULL;

	crypto_reset();
	smtp_buf_init(&line);

	/* with the initial response */
	s = mk(SMTP_AUTH_SCRAM_SHA_256, "user", "pencil");
	CHECK_INT(smtp_sasl_test_set_nonce(s, RFC_NONCE, strlen(RFC_NONCE)), SMTP_OK);
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_OK);
	LINE_IS(line, "AUTH SCRAM-SHA-256 biwsbj11c2VyLHI9ck9wck5HZndFYmVSV2diTkVrcU8=");
	CHECK_STR(tt, "AUTH SCRAM-SHA-256 ***");
	CHECK_INT(step_s(s, B64S(RFC_SFIRST), &line, &tt), SMTP_OK);
	DECODED_IS(line, RFC_CFINAL);
	CHECK_STR(tt, "***");
	CHECK_INT(cud.last_iterations, 4096);
	CHECK_INT(smtp_sasl_finish(s), SMTP_E_SASL_INCOMPLETE);   /* 235 before v= */
	smtp_sasl_free(s);

	s = mk(SMTP_AUTH_SCRAM_SHA_256, "user", "pencil");
	smtp_sasl_test_set_nonce(s, RFC_NONCE, strlen(RFC_NONCE));
	smtp_sasl_start(s, 512, &line, &tt);
	CHECK_INT(step_s(s, B64S(RFC_SFIRST), &line, &tt), SMTP_OK);
	CHECK_INT(step_s(s, B64S(RFC_SFINAL), &line, &tt), SMTP_OK);
	CHECK_INT(smtp_buf_size(&line), 0);
	CHECK_STR(tt, "");
	CHECK_INT(smtp_sasl_finish(s), SMTP_OK);
	CHECK_INT(step_s(s, "", &line, &tt), SMTP_E_SASL_STEP);   /* nothing after server-final */
	smtp_sasl_free(s);

	/* without room for the initial response: client-first answers an empty 334 */
	s = mk(SMTP_AUTH_SCRAM_SHA_256, "user", "pencil");
	smtp_sasl_test_set_nonce(s, RFC_NONCE, strlen(RFC_NONCE));
	CHECK_INT(smtp_sasl_start(s, 20, &line, &tt), SMTP_OK);
	LINE_IS(line, "AUTH SCRAM-SHA-256");
	CHECK_STR(tt, "AUTH SCRAM-SHA-256");
	CHECK_INT(step_s(s, "", &line, &tt), SMTP_OK);
	DECODED_IS(line, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
	CHECK_INT(step_s(s, B64S(RFC_SFIRST), &line, &tt), SMTP_OK);
	DECODED_IS(line, RFC_CFINAL);
	CHECK_INT(step_s(s, B64S(RFC_SFINAL), &line, &tt), SMTP_OK);
	CHECK_INT(smtp_sasl_finish(s), SMTP_OK);
	smtp_sasl_free(s);

	/* that first 334 must be empty */
	s = mk(SMTP_AUTH_SCRAM_SHA_256, "user", "pencil");
	smtp_sasl_start(s, 20, &line, &tt);
	CHECK_INT(step_s(s, B64S(RFC_SFIRST), &line, &tt), SMTP_E_SASL_CHALLENGE);
	smtp_sasl_free(s);

	smtp_buf_free(&line);
}

static void test_scram_nonce(void)
{
	static const unsigned char seq[24] = {
		0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23
	};
	smtp_sasl_t *s;
	smtp_buf_t line, line2;
	const char *tt = NULL;

	crypto_reset();
	smtp_buf_init(&line);
	smtp_buf_init(&line2);

	/* production path: base64 of 24 octets from random() */
	cud.rand_script = seq;
	cud.rand_script_len = sizeof(seq);
	s = mk(SMTP_AUTH_SCRAM_SHA_256, "user", "pencil");
	CHECK_INT(smtp_sasl_start(s, 10, &line, &tt), SMTP_OK);
	CHECK_INT(step_s(s, "", &line, &tt), SMTP_OK);
	DECODED_IS(line, "n,,n=user,r=AAECAwQFBgcICQoLDA0ODxAREhMUFRYX");
	/* the server's nonce must extend it */
	CHECK_INT(step_s(s, B64S("r=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXsrv,s=QSXCR+Q6sek8bf92,i=4096"), &line, &tt), SMTP_OK);
	unb64(&line);
	CHECK(dec_len > 45 && memcmp(dec_tmp, "c=biws,r=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXsrv,p=", 47) == 0);
	smtp_sasl_free(s);
	cud.rand_script = NULL;

	/* two real random nonces differ */
	s = mk(SMTP_AUTH_SCRAM_SHA_256, "user", "pencil");
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_OK);
	smtp_sasl_free(s);
	s = mk(SMTP_AUTH_SCRAM_SHA_256, "user", "pencil");
	CHECK_INT(smtp_sasl_start(s, 512, &line2, &tt), SMTP_OK);
	smtp_sasl_free(s);
	CHECK_INT(smtp_buf_size(&line), 19 + 60);   /* base64("n,,n=user,r=" + 32) */
	CHECK(smtp_buf_size(&line) != smtp_buf_size(&line2) || memcmp(line.data, line2.data, smtp_buf_size(&line)) != 0);

	/* saslname escaping: '=' -> "=3D", ',' -> "=2C"; other octets as given */
	s = mk(SMTP_AUTH_SCRAM_SHA_256, "a=b,c\xc3\xa9", "pencil");
	smtp_sasl_test_set_nonce(s, "abc", 3);
	CHECK_INT(smtp_sasl_start(s, 10, &line, &tt), SMTP_OK);
	CHECK_INT(step_s(s, "", &line, &tt), SMTP_OK);
	DECODED_IS(line, "n,,n=a=3Db=2Cc\xc3\xa9,r=abc");
	smtp_sasl_free(s);

	/* an encoder that makes a nonce with a ',' */
	cud.bad_encode_char = 1;
	s = mk(SMTP_AUTH_SCRAM_SHA_256, "user", "pencil");
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_E_SASL_CRYPTO);
	smtp_sasl_free(s);
	crypto_reset();

	/* a random() failure */
	cud.fail_at = 0;
	s = mk(SMTP_AUTH_SCRAM_SHA_256, "user", "pencil");
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_E_SASL_CRYPTO);
	smtp_sasl_free(s);
	crypto_reset();

	smtp_buf_free(&line);
	smtp_buf_free(&line2);
}

static void test_scram_hostile(void)
{
	crypto_reset();

	/* server-first: the nonce */
	CHECK_INT(scram_first_with(RFC_SFIRST), SMTP_OK);
	CHECK_INT(scram_first_with("r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"), SMTP_E_SASL_SERVER);
	CHECK_INT(scram_first_with("r=xOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"), SMTP_E_SASL_SERVER);
	CHECK_INT(scram_first_with("r=rOprNGfwEbeRWgbNEkq,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"), SMTP_E_SASL_SERVER);
	CHECK_INT(scram_first_with("r=hvYDpWUa2RaTCArOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"), SMTP_E_SASL_SERVER);
	CHECK_INT(scram_first_with("r=rOprNGfwEbeRWgbNEkqO\x7f,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"), SMTP_E_SASL_SERVER);
	CHECK_INT(scram_first_with("r=rOprNGfwEbeRWgbNEkqO\xc3\xa9,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"), SMTP_E_SASL_SERVER);
	CHECK_INT(scram_first_with("r=,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"), SMTP_E_SASL_SERVER);
	/* the salt */
	CHECK_INT(scram_first_with("r=rOprNGfwEbeRWgbNEkqOx,s=,i=4096"), SMTP_E_SASL_SERVER);
	CHECK_INT(scram_first_with("r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ,i=4096"), SMTP_E_SASL_SERVER);
	CHECK_INT(scram_first_with("r=rOprNGfwEbeRWgbNEkqOx,s=W22Z*J0SNY7soEsUEjb6gQ==,i=4096"), SMTP_E_SASL_SERVER);
	CHECK_INT(scram_first_with("r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gR==,i=4096"), SMTP_E_SASL_SERVER);
	CHECK_INT(scram_first_with("r=rOprNGfwEbeRWgbNEkqOx,s=QQ==,i=1"), SMTP_OK);
	/* the iteration count */
	CHECK_INT(scram_first_with("r=rOprNGfwEbeRWgbNEkqOx,s=QQ==,i=0"), SMTP_E_SASL_SERVER);
	CHECK_INT(scram_first_with("r=rOprNGfwEbeRWgbNEkqOx,s=QQ==,i=01"), SMTP_E_SASL_SERVER);
	CHECK_INT(scram_first_with("r=rOprNGfwEbeRWgbNEkqOx,s=QQ==,i=-1"), SMTP_E_SASL_SERVER);
	CHECK_INT(scram_first_with("r=rOprNGfwEbeRWgbNEkqOx,s=QQ==,i="), SMTP_E_SASL_SERVER);
	CHECK_INT(scram_first_with("r=rOprNGfwEbeRWgbNEkqOx,s=QQ==,i=4096x"), SMTP_E_SASL_SERVER);
	CHECK_INT(scram_first_with("r=rOprNGfwEbeRWgbNEkqOx,s=QQ==,i= 4096"), SMTP_E_SASL_SERVER);
	CHECK_INT(scram_first_with("r=rOprNGfwEbeRWgbNEkqOx,s=QQ==,i=1000001"), SMTP_E_SASL_SERVER);
	CHECK_INT(scram_first_with("r=rOprNGfwEbeRWgbNEkqOx,s=QQ==,i=4294967297"), SMTP_E_SASL_SERVER);
	CHECK_INT(scram_first_with("r=rOprNGfwEbeRWgbNEkqOx,s=QQ==,i=18446744073709555712"), SMTP_E_SASL_SERVER);   /* 2^64 + 4096 */
	CHECK_INT(scram_first_with("r=rOprNGfwEbeRWgbNEkqOx,s=QQ==,i=0001"), SMTP_E_SASL_SERVER);
	CHECK_INT(scram_first_with("r=rOprNGfwEbeRWgbNEkqOx,s=QQ==,i=1000000"), SMTP_OK);
	CHECK_INT(cud.last_iterations, 1000000);
	/* the mandatory extension "m" is refused; other extensions are ignored */
	CHECK_INT(scram_first_with("m=x,r=rOprNGfwEbeRWgbNEkqOx,s=QQ==,i=4096"), SMTP_E_SASL_SERVER);
	CHECK_INT(scram_first_with("r=rOprNGfwEbeRWgbNEkqOx,s=QQ==,i=4096,m=x"), SMTP_E_SASL_SERVER);
	CHECK_INT(scram_first_with("r=rOprNGfwEbeRWgbNEkqOx,s=QQ==,i=4096,x=ext,y="), SMTP_OK);
	/* grammar */
	CHECK_INT(scram_first_with("s=QQ==,r=rOprNGfwEbeRWgbNEkqOx,i=4096"), SMTP_E_SASL_CHALLENGE);
	CHECK_INT(scram_first_with("r=rOprNGfwEbeRWgbNEkqOx,s=QQ=="), SMTP_E_SASL_CHALLENGE);
	CHECK_INT(scram_first_with("r=rOprNGfwEbeRWgbNEkqOx,s=QQ==,i=4096,"), SMTP_E_SASL_CHALLENGE);
	CHECK_INT(scram_first_with("r=rOprNGfwEbeRWgbNEkqOx,,s=QQ==,i=4096"), SMTP_E_SASL_CHALLENGE);
	CHECK_INT(scram_first_with("r=rOprNGfwEbeRWgbNEkqOx,s=QQ==,i=4096,ext"), SMTP_E_SASL_CHALLENGE);
	CHECK_INT(scram_first_with("r=rOprNGfwEbeRWgbNEkqOx,s=QQ==,i=4096,1=x"), SMTP_E_SASL_CHALLENGE);
	CHECK_INT(scram_first_with("e=other-error"), SMTP_E_SASL_CHALLENGE);
	CHECK_INT(scram_first_with(""), SMTP_E_SASL_CHALLENGE);
	{
		/* a NUL inside the decoded message */
		static const char nul_msg[] = "r=rOprNGfwEbeRWgbNEkqOx,s=QQ==,i=4096,x=a\0b";
		smtp_buf_t line;
		const char *tt;
		smtp_sasl_t *s;

		smtp_buf_init(&line);
		s = scram_rfc(&line);
		CHECK_INT(step_s(s, b64(nul_msg, sizeof(nul_msg) - 1), &line, &tt), SMTP_E_SASL_CHALLENGE);
		smtp_sasl_free(s);
		smtp_buf_free(&line);
	}
	{
		/* many attributes, and a very long one */
		char big[7000];
		size_t n;

		n = (size_t)sprintf(big, "r=rOprNGfwEbeRWgbNEkqOx,s=QQ==,i=1");
		while (n + 4 < 3000) {
			memcpy(big + n, ",x=y", 4);
			n += 4;
		}
		big[n] = '\0';
		CHECK_INT(scram_first_with(big), SMTP_E_SASL_CHALLENGE);   /* over the attribute count */
		n = (size_t)sprintf(big, "r=rOprNGfwEbeRWgbNEkqO");
		memset(big + n, 'q', 5500);
		n += 5500;
		strcpy(big + n, ",s=QQ==,i=1");
		CHECK_INT(scram_first_with(big), SMTP_OK);   /* base64 of it is under 8 KiB */
		n = (size_t)sprintf(big, "r=rOprNGfwEbeRWgbNEkqO");
		memset(big + n, 'q', 6200);
		n += 6200;
		strcpy(big + n, ",s=QQ==,i=1");
		CHECK_INT(scram_first_with(big), SMTP_E_SASL_CHALLENGE);   /* challenge over 8 KiB */
	}

	/* server-final */
	CHECK_INT(scram_final_with(RFC_SFINAL), SMTP_OK);
	CHECK_INT(scram_final_with("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5="), SMTP_E_SASL_SERVER);
	CHECK_INT(scram_final_with("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="), SMTP_E_SASL_SERVER);
	CHECK_INT(scram_final_with("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4"), SMTP_E_SASL_SERVER);
	CHECK_INT(scram_final_with("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl9"), SMTP_E_SASL_SERVER);
	CHECK_INT(scram_final_with("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4AAAA"), SMTP_E_SASL_SERVER);
	CHECK_INT(scram_final_with("v="), SMTP_E_SASL_SERVER);
	CHECK_INT(scram_final_with("e=invalid-proof"), SMTP_E_SASL_SERVER);
	CHECK_INT(scram_final_with("e=other-error,v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="), SMTP_E_SASL_SERVER);
	CHECK_INT(scram_final_with("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=,x=1"), SMTP_OK);
	CHECK_INT(scram_final_with("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=,m=1"), SMTP_E_SASL_SERVER);
	CHECK_INT(scram_final_with("x=1,v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="), SMTP_E_SASL_CHALLENGE);
	CHECK_INT(scram_final_with(""), SMTP_E_SASL_CHALLENGE);
	CHECK_INT(scram_final_with("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=,"), SMTP_E_SASL_CHALLENGE);

	/* the server-final challenge itself not base64 */
	{
		smtp_buf_t line;
		const char *tt;
		smtp_sasl_t *s;

		smtp_buf_init(&line);
		s = scram_rfc(&line);
		CHECK_INT(step_s(s, B64S(RFC_SFIRST), &line, &tt), SMTP_OK);
		CHECK_INT(step_s(s, RFC_SFINAL, &line, &tt), SMTP_E_SASL_CHALLENGE);
		CHECK_INT(smtp_buf_size(&line), 0);
		CHECK_INT(smtp_sasl_finish(s), SMTP_E_SASL_CHALLENGE);
		smtp_sasl_free(s);

		/* server-first not base64 */
		s = scram_rfc(&line);
		CHECK_INT(step_s(s, RFC_SFIRST, &line, &tt), SMTP_E_SASL_CHALLENGE);
		smtp_sasl_free(s);

		/* a wrong password gives a proof the RFC server would refuse, and
		 * the RFC's server signature no longer matches */
		s = mk(SMTP_AUTH_SCRAM_SHA_256, "user", "pencil2");
		smtp_sasl_test_set_nonce(s, RFC_NONCE, strlen(RFC_NONCE));
		smtp_sasl_start(s, 512, &line, &tt);
		CHECK_INT(step_s(s, B64S(RFC_SFIRST), &line, &tt), SMTP_OK);
		unb64(&line);
		CHECK(dec_len == sizeof(RFC_CFINAL) - 1 && memcmp(dec_tmp, RFC_CFINAL, dec_len) != 0);
		CHECK_INT(step_s(s, B64S(RFC_SFINAL), &line, &tt), SMTP_E_SASL_SERVER);
		CHECK_INT(smtp_sasl_finish(s), SMTP_E_SASL_SERVER);
		smtp_sasl_free(s);
		smtp_buf_free(&line);
	}
	crypto_reset();
}

/* ---- base64 strictness, API misuse ------------------------------------------------ */

static void test_base64_and_misuse(void)
{
	static const char *bad[] = {
		"QQ", "QQ=", "Q===", "=QQQ", "QQ==QQ==", "QUJD\r\n", "QU JD", " QUJD", "QUJD ", "QR==", "QUI=x",
		"QUJ-", "QUJ_", "====", "QUJD=", "\xc3\xa9QU", "Q+==", "Q/==", "QUJ/=", "QU+="
	};
	smtp_sasl_t *s;
	smtp_buf_t line;
	const char *tt = NULL;
	size_t i;

	crypto_reset();
	smtp_buf_init(&line);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = mk(SMTP_AUTH_LOGIN, "tim", "pw");
		smtp_sasl_start(s, 512, &line, &tt);
		if (!CHECK_INT(step_s(s, bad[i], &line, &tt), SMTP_E_SASL_CHALLENGE)) {
			fprintf(stderr, "  challenge %s\n", bad[i]);
		}
		smtp_sasl_free(s);
	}
	/* NUL inside the text */
	s = mk(SMTP_AUTH_LOGIN, "tim", "pw");
	smtp_sasl_start(s, 512, &line, &tt);
	CHECK_INT(smtp_sasl_step(s, "QU\0D", 4, &line, &tt), SMTP_E_SASL_CHALLENGE);
	smtp_sasl_free(s);
	/* good ones */
	s = mk(SMTP_AUTH_LOGIN, "tim", "pw");
	smtp_sasl_start(s, 512, &line, &tt);
	CHECK_INT(step_s(s, "QQ==", &line, &tt), SMTP_OK);
	CHECK_INT(step_s(s, "QUI=", &line, &tt), SMTP_OK);
	smtp_sasl_free(s);
	s = mk(SMTP_AUTH_LOGIN, "tim", "pw");
	smtp_sasl_start(s, 512, &line, &tt);
	CHECK_INT(step_s(s, "+w==", &line, &tt), SMTP_OK);
	CHECK_INT(step_s(s, "QU/+", &line, &tt), SMTP_OK);
	smtp_sasl_free(s);

	/* API misuse */
	s = mk(SMTP_AUTH_LOGIN, "tim", "pw");
	CHECK_INT(step_s(s, "", &line, &tt), SMTP_E_STATE);       /* before start */
	CHECK_INT(smtp_sasl_finish(s), SMTP_E_STATE);
	CHECK_INT(smtp_sasl_start(s, 512, NULL, &tt), SMTP_E_ARG);
	CHECK_INT(smtp_sasl_start(s, 512, &line, NULL), SMTP_OK);
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_E_STATE);   /* twice */
	CHECK_INT(smtp_sasl_step(s, NULL, 0, &line, NULL), SMTP_OK);
	CHECK_INT(smtp_sasl_step(s, "", 0, NULL, &tt), SMTP_E_ARG);
	CHECK_INT(smtp_sasl_step(s, NULL, 4, &line, &tt), SMTP_E_ARG);
	CHECK_INT(smtp_sasl_test_set_nonce(s, "", 0), SMTP_E_ARG);
	smtp_sasl_free(s);
	CHECK_INT(smtp_sasl_start(NULL, 512, &line, &tt), SMTP_E_NOMEM);
	CHECK_INT(step_s(NULL, "", &line, &tt), SMTP_E_NOMEM);
	CHECK_INT(smtp_sasl_finish(NULL), SMTP_E_NOMEM);
	smtp_sasl_free(NULL);

	s = smtp_sasl_new(0, "tim", 3, "pw", 2, &crypto);
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_E_ARG);
	smtp_sasl_free(s);
	s = smtp_sasl_new(SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN, "tim", 3, "pw", 2, &crypto);
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_E_ARG);
	smtp_sasl_free(s);
	s = smtp_sasl_new(SMTP_AUTH_PLAIN, "tim", 3, "pw", 2, NULL);
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_E_ARG);
	smtp_sasl_free(s);
	s = smtp_sasl_new(SMTP_AUTH_PLAIN, NULL, 3, "pw", 2, &crypto);
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_E_ARG);
	smtp_sasl_free(s);
	s = smtp_sasl_new(SMTP_AUTH_LOGIN, "tim", 3, "pw", (size_t)-1, &crypto);
	CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_E_TOO_LONG);
	smtp_sasl_free(s);
	{
		/* LOGIN / CRAM-MD5 with a user name whose response cannot fit */
		static char big[9300];

		memset(big, 'u', sizeof(big));
		s = smtp_sasl_new(SMTP_AUTH_LOGIN, big, sizeof(big), "pw", 2, &crypto);
		CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_E_TOO_LONG);
		smtp_sasl_free(s);
		s = smtp_sasl_new(SMTP_AUTH_CRAM_MD5, big, 9181, "pw", 2, &crypto);
		CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_E_TOO_LONG);
		smtp_sasl_free(s);
		s = smtp_sasl_new(SMTP_AUTH_CRAM_MD5, big, 9180, "pw", 2, &crypto);
		CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_OK);
		CHECK_INT(step_s(s, "PDE+", &line, &tt), SMTP_OK);
		CHECK(smtp_buf_size(&line) + 2 <= SMTP_MAX_AUTH_LINE);
		smtp_sasl_free(s);
		s = smtp_sasl_new(SMTP_AUTH_SCRAM_SHA_256, big, 9173, "pw", 2, &crypto);
		CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_OK);
		smtp_sasl_free(s);
		s = smtp_sasl_new(SMTP_AUTH_SCRAM_SHA_256, big, 9174, "pw", 2, &crypto);
		CHECK_INT(smtp_sasl_start(s, 512, &line, &tt), SMTP_E_TOO_LONG);
		smtp_sasl_free(s);
	}

	/* an error wipes the line's storage and leaves it empty */
	s = mk(SMTP_AUTH_LOGIN, "tim", "secret-password");
	smtp_sasl_start(s, 512, &line, &tt);
	step_s(s, "", &line, &tt);
	step_s(s, "", &line, &tt);
	LINE_IS(line, "c2VjcmV0LXBhc3N3b3Jk");
	CHECK_INT(step_s(s, "", &line, &tt), SMTP_E_SASL_STEP);
	CHECK_INT(smtp_buf_size(&line), 0);
	{
		size_t k, nonzero = 0;

		for (k = 0; k < line.cap; k++) {
			nonzero += line.data[k] != 0;
		}
		CHECK_INT(nonzero, 0);
	}
	smtp_sasl_free(s);

	smtp_buf_free(&line);
}

/* ---- crypto failures ---------------------------------------------------------------- */

/* Runs a full successful exchange for mech; returns the first error. */
static int run_exchange(unsigned mech, size_t max_line)
{
	smtp_sasl_t *s;
	smtp_buf_t line;
	const char *tt;
	int rc = SMTP_E_NOMEM;

	smtp_buf_init(&line);
	switch (mech) {
	case SMTP_AUTH_PLAIN:
		s = mk(mech, "tim", "tanstaaftanstaaf");
		if (s && (rc = smtp_sasl_start(s, max_line, &line, &tt)) == SMTP_OK && max_line < 100) {
			rc = step_s(s, "", &line, &tt);
		}
		break;
	case SMTP_AUTH_LOGIN:
		s = mk(mech, "tim", "tanstaaftanstaaf");
		if (s && (rc = smtp_sasl_start(s, max_line, &line, &tt)) == SMTP_OK &&
		    (rc = step_s(s, "VXNlcm5hbWU6", &line, &tt)) == SMTP_OK) {
			rc = step_s(s, "UGFzc3dvcmQ6", &line, &tt);
		}
		break;
	case SMTP_AUTH_CRAM_MD5:
		s = mk(mech, "tim", "tanstaaftanstaaf");
		if (s && (rc = smtp_sasl_start(s, max_line, &line, &tt)) == SMTP_OK) {
			rc = step_s(s, "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+", &line, &tt);
		}
		break;
	case SMTP_AUTH_XOAUTH2:
		s = mk(mech, "someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg");
		if (s && (rc = smtp_sasl_start(s, max_line, &line, &tt)) == SMTP_OK && max_line < 100) {
			rc = step_s(s, "", &line, &tt);
		}
		if (rc == SMTP_OK) {
			rc = step_s(s, "eyJzdGF0dXMiOiI0MDEifQ==", &line, &tt);
		}
		break;
	case SMTP_AUTH_OAUTHBEARER:
		/* to the end of the error flow: the status must come out */
		s = mk(mech, "user@example.com", OB_RFC_TOKEN);
		if (s && (rc = smtp_sasl_set_server(s, "server.example.com", 18, 143)) == SMTP_OK &&
		    (rc = smtp_sasl_start(s, max_line, &line, &tt)) == SMTP_OK && max_line < 100) {
			rc = step_s(s, "", &line, &tt);
		}
		if (rc == SMTP_OK) {
			rc = step_s(s, OB_RFC_ERROR, &line, &tt);
		}
		if (rc == SMTP_OK) {
			const char *t = NULL;

			CHECK_INT(smtp_sasl_oauth_error(s, &t), SMTP_SASL_OAUTH_STATUS);
			CHECK_STR(t, "invalid_token");
			CHECK_INT(smtp_sasl_finish(s), SMTP_E_SASL_AFTER_ERROR);
			smtp_sasl_free(s);
			smtp_buf_free(&line);
			return SMTP_OK;
		}
		break;
	default:
		s = mk(mech, "user", "pencil");
		if (s && (rc = smtp_sasl_test_set_nonce(s, RFC_NONCE, strlen(RFC_NONCE))) == SMTP_OK &&
		    (rc = smtp_sasl_start(s, max_line, &line, &tt)) == SMTP_OK && max_line < 100) {
			rc = step_s(s, "", &line, &tt);
		}
		if (rc == SMTP_OK) {
			rc = step_s(s, B64S(RFC_SFIRST), &line, &tt);
		}
		if (rc == SMTP_OK) {
			rc = step_s(s, B64S(RFC_SFINAL), &line, &tt);
		}
		break;
	}
	if (rc == SMTP_OK) {
		rc = smtp_sasl_finish(s);
	} else if (s != NULL) {
		CHECK_INT(smtp_sasl_finish(s), rc);   /* sticky */
	}
	smtp_sasl_free(s);
	smtp_buf_free(&line);
	return rc;
}

static const unsigned all_mechs[] = {
	SMTP_AUTH_PLAIN, SMTP_AUTH_LOGIN, SMTP_AUTH_CRAM_MD5, SMTP_AUTH_XOAUTH2, SMTP_AUTH_SCRAM_SHA_256,
	SMTP_AUTH_OAUTHBEARER
};

static void test_crypto_failures(void)
{
	size_t m, ml;

	for (m = 0; m < sizeof(all_mechs) / sizeof(all_mechs[0]); m++) {
		for (ml = 0; ml < 2; ml++) {
			size_t max_line = ml ? 512 : 10;
			long at, total;
			int ok;

			crypto_reset();
			cud.fail_at = 1000000;
			ok = CHECK_INT(run_exchange(all_mechs[m], max_line), SMTP_OK);
			total = cud.calls;
			if (!ok) {
				fprintf(stderr, "  mechanism %s\n", smtp_sasl_mech_name(all_mechs[m]));
			}
			CHECK(total > 0);
			for (at = 0; at < total; at++) {
				crypto_reset();
				cud.fail_at = at;
				if (!CHECK_INT(run_exchange(all_mechs[m], max_line), SMTP_E_SASL_CRYPTO)) {
					fprintf(stderr, "  mechanism %s, crypto call %ld\n", smtp_sasl_mech_name(all_mechs[m]), at);
				}
			}
			/* callbacks that lie about sizes */
			crypto_reset();
			cud.bad_encode_len = 1;
			CHECK_INT(run_exchange(all_mechs[m], max_line), SMTP_E_SASL_CRYPTO);
			if (all_mechs[m] == SMTP_AUTH_CRAM_MD5 || all_mechs[m] == SMTP_AUTH_SCRAM_SHA_256) {
				crypto_reset();
				cud.bad_digest_len = 1;
				CHECK_INT(run_exchange(all_mechs[m], max_line), SMTP_E_SASL_CRYPTO);
			}
			if (all_mechs[m] != SMTP_AUTH_PLAIN) {
				crypto_reset();
				cud.bad_decode_len = 1;
				CHECK_INT(run_exchange(all_mechs[m], max_line), SMTP_E_SASL_CRYPTO);
				crypto_reset();
				cud.decode_refuses = 1;
				CHECK_INT(run_exchange(all_mechs[m], max_line), SMTP_E_SASL_CRYPTO);
			}
		}
	}
	crypto_reset();
}

/* ---- allocation failures -------------------------------------------------------------- */

static void test_nomem(void)
{
	size_t m, ml;

	for (m = 0; m < sizeof(all_mechs) / sizeof(all_mechs[0]); m++) {
		for (ml = 0; ml < 2; ml++) {
			size_t max_line = ml ? 512 : 10;
			long budget;
			int completed = 0, refused_any = 0;

			for (budget = 0; budget < 500 && !completed; budget++) {
				long before = smtp_test_alloc_refused;
				int rc;

				crypto_reset();
				smtp_test_alloc_budget = budget;
				rc = run_exchange(all_mechs[m], max_line);
				smtp_test_alloc_budget = -1;
				if (smtp_test_alloc_refused != before) {
					refused_any = 1;
					if (!CHECK_INT(rc, SMTP_E_NOMEM)) {
						fprintf(stderr, "  mechanism %s, budget %ld: %d\n",
						        smtp_sasl_mech_name(all_mechs[m]), budget, rc);
					}
				} else {
					completed = CHECK_INT(rc, SMTP_OK);
				}
			}
			if (!CHECK(completed && refused_any)) {
				fprintf(stderr, "  mechanism %s\n", smtp_sasl_mech_name(all_mechs[m]));
			}
		}
	}
	crypto_reset();
}

int main(void)
{
	crypto_reset();
	test_choose();
	test_plain();
	test_login();
	test_cram();
	test_xoauth2();
	test_oauthbearer();
	test_scram_rfc7677();
	test_scram_nonce();
	test_scram_hostile();
	test_base64_and_misuse();
	test_crypto_failures();
	test_nomem();
	return tap_done("test_sasl");
}
