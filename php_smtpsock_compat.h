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

#endif /* PHP_SMTPSOCK_COMPAT_H */
