/*
 * php_smtpsock_compat.h: every difference between the PHP versions smtpsock
 * builds on (8.2 to 8.6) lives here, so that the rest of the code reads as one
 * PHP. Included by php_smtpsock.h; nothing else tests PHP_VERSION_ID.
 *
 * Add a shim here, named after the newest API, when a PHP release removes or
 * renames something (read its UPGRADING.INTERNALS), never an #if in a .c file.
 */
#ifndef PHP_SMTPSOCK_COMPAT_H
#define PHP_SMTPSOCK_COMPAT_H

#include "php.h"
#include "php_streams.h"
#include <stddef.h>

/* High-resolution monotonic clock in nanoseconds.
 * 8.3 added Zend/zend_hrtime.h (zend_hrtime()); 8.4 removed
 * ext/standard/hrtime.h (php_hrtime_current()). */
#if PHP_VERSION_ID >= 80300
# include "zend_hrtime.h"
typedef zend_hrtime_t php_smtpsock_hrtime_t;
# define php_smtpsock_hrtime() zend_hrtime()
#else
# include "ext/standard/hrtime.h"
typedef php_hrtime_t php_smtpsock_hrtime_t;
# define php_smtpsock_hrtime() php_hrtime_current()
#endif

/* The value of a php.ini setting (a string literal name) as a C string, or
 * NULL when the setting does not exist or has no value. 8.6 removed INI_STR();
 * zend_ini_string_ex() has the same arguments on every version (8.6 made its
 * result const). */
#define php_smtpsock_ini_string(name) \
	((const char *)zend_ini_string_ex((name), sizeof("" name) - 1, 0, NULL))

/* The zend_object embedded in a custom object: C's offsetof() (8.6 removed
 * the XtOffsetOf() alias, which every version before it had). */
#define php_smtpsock_offsetof(type, member) offsetof(type, member)

/* Make the stream layer report problems on a context as warnings, which the
 * driver captures and turns into its own errors. PHP 8.6 added the stream
 * errors API: a context's "stream" options error_mode (Error, Exception,
 * Silent) and error_store decide whether a TLS or connect failure is a
 * warning, a StreamException or nothing, and whether it is kept for
 * stream_last_errors(). The driver's context (a copy of the user's) gets
 * error_mode Error and error_store None, so that the failure detail reaches
 * SmtpSocketException whatever the user's context says, no StreamException
 * escapes, and nothing of ours lands in stream_last_errors(). Before 8.6
 * there is nothing to do. */
#if PHP_VERSION_ID >= 80600
# include "zend_enum.h"
static inline void php_smtpsock_context_errors_as_warnings(php_stream_context *ctx)
{
	static const struct { const char *option, *enum_name, *case_name; } want[] = {
		{ "error_mode", "streamerrormode", "Error" },
		{ "error_store", "streamerrorstore", "None" },
	};
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		zend_class_entry *ce = zend_hash_str_find_ptr(EG(class_table), want[i].enum_name, strlen(want[i].enum_name));
		zend_object *c = ce ? zend_enum_get_case_cstr(ce, want[i].case_name) : NULL;
		zval v;
		if (c) {
			ZVAL_OBJ(&v, c);
			php_stream_context_set_option(ctx, "stream", want[i].option, &v);
		}
	}
}
#else
static inline void php_smtpsock_context_errors_as_warnings(php_stream_context *ctx)
{
	(void)ctx;
}
#endif

#endif /* PHP_SMTPSOCK_COMPAT_H */
