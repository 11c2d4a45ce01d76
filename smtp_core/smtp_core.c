/* smtp_core: what every module shares (error texts). */
#include "smtp_core.h"
#include "smtp_sasl.h"

/* Eight octets a step: an octet equal to one of the refused ones shows as a
 * zero byte of the word XORed with that octet repeated. */
#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL
#define HAS_ZERO(x) (((x) - ONES) & ~(x) & HIGHS)

int smtp_arg_clean(const char *p, size_t len, int path)
{
	size_t i = 0;

	for (; len - i >= 8; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		if (HAS_ZERO(w) | HAS_ZERO(w ^ (ONES * '\r')) | HAS_ZERO(w ^ (ONES * '\n'))) {
			return 0;
		}
		if (path && (HAS_ZERO(w ^ (ONES * '<')) | HAS_ZERO(w ^ (ONES * '>')))) {
			return 0;
		}
	}
	for (; i < len; i++) {
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
