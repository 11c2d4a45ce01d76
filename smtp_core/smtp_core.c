/* smtp_core: what every module shares (error texts). */
#include "smtp_core.h"
#include "smtp_sasl.h"

/* An octet equal to one of the refused ones shows as a zero byte of the word
 * XORed with that octet repeated. */
#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL
#define HAS_ZERO(x) (((x) - ONES) & ~(x) & HIGHS)

static int word_clean(const char *p, int path)
{
	uint64_t w;

	memcpy(&w, p, 8);
	if (HAS_ZERO(w) | HAS_ZERO(w ^ (ONES * '\r')) | HAS_ZERO(w ^ (ONES * '\n'))) {
		return 0;
	}
	return !path || !(HAS_ZERO(w ^ (ONES * '<')) | HAS_ZERO(w ^ (ONES * '>')));
}

#if defined(__SSE2__) && (defined(__GNUC__) || defined(__clang__))
# include <emmintrin.h>

static int vec_clean(const char *p, int path)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i bad = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_setzero_si128()),
		_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\r')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'))));

	if (path) {
		bad = _mm_or_si128(bad, _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('<')), _mm_cmpeq_epi8(v, _mm_set1_epi8('>'))));
	}
	return _mm_movemask_epi8(bad) == 0;
}
#endif

/* Whole words (16 octets with SSE2, else 8), the last one overlapping the one
 * before so that no octet past the end is read; under 8 octets, one at a time. */
int smtp_arg_clean(const char *p, size_t len, int path)
{
	size_t i;

#if defined(__SSE2__) && (defined(__GNUC__) || defined(__clang__))
	if (len >= 16) {
		for (i = 0; len - i > 16; i += 16) {
			if (!vec_clean(p + i, path)) {
				return 0;
			}
		}
		return vec_clean(p + len - 16, path);
	}
#endif
	if (len >= 8) {
		for (i = 0; len - i > 8; i += 8) {
			if (!word_clean(p + i, path)) {
				return 0;
			}
		}
		return word_clean(p + len - 8, path);
	}
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch == '\0' || ch == '\r' || ch == '\n' || (path && (ch == '<' || ch == '>'))) {
			return 0;
		}
	}
	return 1;
}

const char *smtp_strerror(int err)
{
	switch (err) {
	case SMTP_OK:               return "success";
	case SMTP_E_NOMEM:          return "out of memory";
	case SMTP_E_STATE:          return "command not allowed in this state";
	case SMTP_E_ARG:            return "invalid argument";
	case SMTP_E_TOO_LONG:       return "command line too long";
	case SMTP_E_SYNTAX:         return "malformed reply";
	case SMTP_E_LINE_TOO_LONG:  return "reply line too long";
	case SMTP_E_REPLY_TOO_LONG: return "reply too long";
	case SMTP_E_NUL:            return "nul octet in reply";
	case SMTP_E_UNEXPECTED:     return "unexpected reply";
	case SMTP_E_TLS_INJECTION:  return "data received before tls handshake";
	case SMTP_E_CLOSED:         return "connection closed";
	case SMTP_E_ABORTED:        return "message content failed mid-message";
	case SMTP_E_SASL_CHALLENGE:
		return "invalid AUTH challenge from the server";
	case SMTP_E_SASL_SERVER:
		return "the server failed SCRAM verification (wrong nonce, salt, iteration count or signature)";
	case SMTP_E_SASL_CRYPTO:
		return "a cryptographic function failed";
	case SMTP_E_SASL_STEP:
		return "more AUTH challenges than the mechanism has";
	case SMTP_E_SASL_INCOMPLETE:
		return "the server accepted AUTH without proving it knows the password";
	case SMTP_E_SASL_AFTER_ERROR:
		return "the server accepted AUTH after reporting an error";
	default:                    return "unknown error";
	}
}
