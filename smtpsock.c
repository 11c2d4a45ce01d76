/*
 * smtpsock.c: the module: INI settings bound to typed globals, start-up and
 * shutdown, phpinfo(), and the mail() override.
 */
#ifdef HAVE_CONFIG_H
# include "config.h"
#endif

#include "php_smtpsock.h"
#include "php_ini.h"
#include "ext/standard/info.h"
#include "zend_attributes.h"
#include "ext/spl/spl_exceptions.h"
#include "smtpsock_arginfo.h"

ZEND_DECLARE_MODULE_GLOBALS(smtpsock)

/* ---- INI ---------------------------------------------------------------- */

static ZEND_INI_MH(OnUpdateSmtpsockHost)
{
	if (ZSTR_LEN(new_value) == 0 || strpbrk(ZSTR_VAL(new_value), "\r\n")) {
		return FAILURE;
	}
	return OnUpdateString(entry, new_value, mh_arg1, mh_arg2, mh_arg3, stage);
}

static ZEND_INI_MH(OnUpdateSmtpsockPort)
{
	zend_long port = ZEND_STRTOL(ZSTR_VAL(new_value), NULL, 10);

	if (port < 1 || port > 65535) {
		return FAILURE;
	}
	return OnUpdateLong(entry, new_value, mh_arg1, mh_arg2, mh_arg3, stage);
}

static ZEND_INI_MH(OnUpdateSmtpsockSecurity)
{
	/* php.ini reads a bare `none` as the empty string */
	int sec = ZSTR_LEN(new_value) == 0 ? (int)PHP_SMTPSOCK_SEC_NONE
		: php_smtpsock_security_parse(ZSTR_VAL(new_value), ZSTR_LEN(new_value));

	if (sec < 0) {
		return FAILURE;
	}
	SMTPSOCK_G(security) = sec;
	return SUCCESS;
}

static ZEND_INI_MH(OnUpdateSmtpsockTimeout)
{
	double t = zend_strtod(ZSTR_VAL(new_value), NULL);

	if (!(t > 0) || t > 86400) {
		return FAILURE;
	}
	SMTPSOCK_G(timeout) = t;
	return SUCCESS;
}

static ZEND_INI_MH(OnUpdateSmtpsockBusyPoll)
{
	char *end;
	zend_long us = ZEND_STRTOL(ZSTR_VAL(new_value), &end, 10);

	/* php.ini reads a bare off/no/none as the empty string: off */
	if ((end == ZSTR_VAL(new_value) && ZSTR_LEN(new_value)) || *end || us < 0 || us > PHP_SMTPSOCK_BUSY_POLL_MAX) {
		return FAILURE;
	}
	SMTPSOCK_G(busy_poll) = us;
	return SUCCESS;
}

static ZEND_INI_MH(OnUpdateSmtpsockLine)
{
	if (strpbrk(ZSTR_VAL(new_value), "\r\n")) {
		return FAILURE;
	}
	return OnUpdateString(entry, new_value, mh_arg1, mh_arg2, mh_arg3, stage);
}

/* phpinfo() and ini_get_all() display: never show the password itself. */
static ZEND_INI_DISP(display_secret)
{
	zend_string *v = (type == ZEND_INI_DISPLAY_ORIG && ini_entry->modified) ? ini_entry->orig_value : ini_entry->value;

	PUTS(v && ZSTR_LEN(v) ? "********" : "no value");
}

static ZEND_INI_MH(OnUpdateSmtpsockAuth)
{
	unsigned mechs = 0;
	const char *bad;
	size_t bad_len;

	if (ZSTR_LEN(new_value) && php_smtpsock_mechs_parse(ZSTR_VAL(new_value), ZSTR_LEN(new_value), &mechs, &bad, &bad_len) == FAILURE) {
		return FAILURE;
	}
	return OnUpdateString(entry, new_value, mh_arg1, mh_arg2, mh_arg3, stage);
}

PHP_INI_BEGIN()
	STD_PHP_INI_ENTRY("smtpsock.host", "localhost", PHP_INI_ALL, OnUpdateSmtpsockHost, host, zend_smtpsock_globals, smtpsock_globals)
	STD_PHP_INI_ENTRY("smtpsock.port", "25", PHP_INI_ALL, OnUpdateSmtpsockPort, port, zend_smtpsock_globals, smtpsock_globals)
	PHP_INI_ENTRY("smtpsock.security", "auto", PHP_INI_ALL, OnUpdateSmtpsockSecurity)
	STD_PHP_INI_ENTRY("smtpsock.username", "", PHP_INI_ALL, OnUpdateSmtpsockLine, username, zend_smtpsock_globals, smtpsock_globals)
	STD_PHP_INI_ENTRY_EX("smtpsock.password", "", PHP_INI_ALL, OnUpdateSmtpsockLine, password, zend_smtpsock_globals, smtpsock_globals, display_secret)
	STD_PHP_INI_ENTRY("smtpsock.auth", "", PHP_INI_ALL, OnUpdateSmtpsockAuth, auth, zend_smtpsock_globals, smtpsock_globals)
	STD_PHP_INI_ENTRY("smtpsock.helo", "", PHP_INI_ALL, OnUpdateSmtpsockLine, helo, zend_smtpsock_globals, smtpsock_globals)
	STD_PHP_INI_ENTRY("smtpsock.from", "", PHP_INI_ALL, OnUpdateSmtpsockLine, from, zend_smtpsock_globals, smtpsock_globals)
	PHP_INI_ENTRY("smtpsock.timeout", "30", PHP_INI_ALL, OnUpdateSmtpsockTimeout)
	STD_PHP_INI_BOOLEAN("smtpsock.verify_peer", "1", PHP_INI_ALL, OnUpdateBool, verify_peer, zend_smtpsock_globals, smtpsock_globals)
	STD_PHP_INI_BOOLEAN("smtpsock.allow_insecure_auth", "0", PHP_INI_ALL, OnUpdateBool, allow_insecure_auth, zend_smtpsock_globals, smtpsock_globals)
	STD_PHP_INI_BOOLEAN("smtpsock.persistent", "0", PHP_INI_ALL, OnUpdateBool, persistent, zend_smtpsock_globals, smtpsock_globals)
	PHP_INI_ENTRY("smtpsock.busy_poll", ZEND_TOSTR(PHP_SMTPSOCK_BUSY_POLL_DEFAULT), PHP_INI_ALL, OnUpdateSmtpsockBusyPoll)
	STD_PHP_INI_BOOLEAN("smtpsock.override_mail", "0", PHP_INI_SYSTEM, OnUpdateBool, override_mail, zend_smtpsock_globals, smtpsock_globals)
PHP_INI_END()

static PHP_GINIT_FUNCTION(smtpsock)
{
#if defined(COMPILE_DL_SMTPSOCK) && defined(ZTS)
	ZEND_TSRMLS_CACHE_UPDATE();
#endif
	memset(smtpsock_globals, 0, sizeof(*smtpsock_globals));
	smtpsock_globals->port = 25;
	smtpsock_globals->timeout = 30.0;
	smtpsock_globals->busy_poll = PHP_SMTPSOCK_BUSY_POLL_DEFAULT;
}

/* ---- the mail() override ------------------------------------------------ */

static zif_handler original_mail_handler;

static void override_mail(bool on)
{
	zend_function *fn = zend_hash_str_find_ptr(CG(function_table), "mail", sizeof("mail") - 1);

	if (!fn || fn->type != ZEND_INTERNAL_FUNCTION) {
		return;
	}
	if (on) {
		original_mail_handler = fn->internal_function.handler;
		fn->internal_function.handler = php_smtpsock_mail_override;
	} else if (original_mail_handler) {
		fn->internal_function.handler = original_mail_handler;
		original_mail_handler = NULL;
	}
}

/* ---- module ------------------------------------------------------------- */

PHP_MINIT_FUNCTION(smtpsock)
{
	REGISTER_INI_ENTRIES();
	php_smtpsock_ce = register_class_SmtpSocket();
	php_smtpsock_exception_ce = register_class_SmtpSocketException(spl_ce_RuntimeException);
	php_smtpsock_class_minit();
	php_smtpsock_session_minit(module_number);
	if (SMTPSOCK_G(override_mail)) {
		override_mail(true);
	}
	return SUCCESS;
}

PHP_MSHUTDOWN_FUNCTION(smtpsock)
{
	override_mail(false);
	UNREGISTER_INI_ENTRIES();
	return SUCCESS;
}

PHP_RINIT_FUNCTION(smtpsock)
{
#if defined(COMPILE_DL_SMTPSOCK) && defined(ZTS)
	ZEND_TSRMLS_CACHE_UPDATE();
#endif
	SMTPSOCK_G(mail_session) = NULL;
	SMTPSOCK_G(mail_session_key) = NULL;
	SMTPSOCK_G(date_value) = NULL;
	SMTPSOCK_G(mail_log_entry) = NULL;
	return SUCCESS;
}

PHP_RSHUTDOWN_FUNCTION(smtpsock)
{
	php_smtpsock_mail_rshutdown();
	return SUCCESS;
}

PHP_MINFO_FUNCTION(smtpsock)
{
	php_info_print_table_start();
	php_info_print_table_row(2, "smtpsock support", "enabled");
	php_info_print_table_row(2, "Version", PHP_SMTPSOCK_VERSION);
	php_info_print_table_row(2, "TLS (STARTTLS, implicit TLS)",
		php_stream_xport_get_hash() && zend_hash_str_exists(php_stream_xport_get_hash(), "ssl", sizeof("ssl") - 1)
			? "available" : "unavailable (PHP built without openssl)");
	php_info_print_table_row(2, "SMTP extensions used", "PIPELINING, CHUNKING, SIZE, STARTTLS, ENHANCEDSTATUSCODES, AUTH");
	php_info_print_table_row(2, "AUTH mechanisms", "SCRAM-SHA-256, CRAM-MD5, PLAIN, LOGIN; XOAUTH2, OAUTHBEARER (only when named)");
	php_info_print_table_row(2, "mail() routed through SMTP", SMTPSOCK_G(override_mail) ? "yes" : "no");
	php_info_print_table_end();
	DISPLAY_INI_ENTRIES();
}

static const zend_module_dep smtpsock_deps[] = {
	ZEND_MOD_REQUIRED("standard")
	ZEND_MOD_REQUIRED("date")
	ZEND_MOD_REQUIRED("spl")
	ZEND_MOD_OPTIONAL("openssl")
	ZEND_MOD_END
};

zend_module_entry smtpsock_module_entry = {
	STANDARD_MODULE_HEADER_EX,
	NULL,
	smtpsock_deps,
	"smtpsock",
	ext_functions,
	PHP_MINIT(smtpsock),
	PHP_MSHUTDOWN(smtpsock),
	PHP_RINIT(smtpsock),
	PHP_RSHUTDOWN(smtpsock),
	PHP_MINFO(smtpsock),
	PHP_SMTPSOCK_VERSION,
	PHP_MODULE_GLOBALS(smtpsock),
	PHP_GINIT(smtpsock),
	NULL,
	NULL,
	STANDARD_MODULE_PROPERTIES_EX
};

#ifdef COMPILE_DL_SMTPSOCK
# ifdef ZTS
ZEND_TSRMLS_CACHE_DEFINE()
# endif
ZEND_GET_MODULE(smtpsock)
#endif
