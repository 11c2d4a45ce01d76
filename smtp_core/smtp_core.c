/* smtp_core: what every module shares (error texts). */
#include "smtp_core.h"

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
	default:                    return "unknown error";
	}
}
