/* This is a generated file, edit smtpsock.stub.php instead.
 * Stub hash: 8bee8bf168aedc0e3b114511cb93aa41f699d540 */

#include "zend_attributes.h"

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_smtp_mail, 0, 3, _IS_BOOL, 0)
	ZEND_ARG_TYPE_INFO(0, to, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, subject, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, message, IS_STRING, 0)
	ZEND_ARG_TYPE_MASK(0, additional_headers, MAY_BE_ARRAY|MAY_BE_STRING, "[]")
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, additional_params, IS_STRING, 0, "\"\"")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_INFO_EX(arginfo_class_SmtpSocket___construct, 0, 0, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, host, IS_STRING, 0, "\"localhost\"")
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, port, IS_LONG, 0, "25")
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, options, IS_ARRAY, 0, "[]")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_SmtpSocket_connect, 0, 0, IS_STRING, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_SmtpSocket_ehlo, 0, 0, IS_ARRAY, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, domain, IS_STRING, 1, "null")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_SmtpSocket_helo, 0, 0, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, domain, IS_STRING, 1, "null")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_SmtpSocket_startTls, 0, 0, IS_VOID, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_SmtpSocket_auth, 0, 2, IS_VOID, 0)
	ZEND_ARG_TYPE_INFO(0, username, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, password, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, mechanism, IS_STRING, 1, "null")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_SmtpSocket_mailFrom, 0, 1, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, sender, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, params, IS_ARRAY, 0, "[]")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_SmtpSocket_rcptTo, 0, 1, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, recipient, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, params, IS_ARRAY, 0, "[]")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_SmtpSocket_data, 0, 1, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, message, IS_MIXED, 0)
ZEND_END_ARG_INFO()

#define arginfo_class_SmtpSocket_rset arginfo_class_SmtpSocket_connect

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_SmtpSocket_vrfy, 0, 1, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, address, IS_STRING, 0)
ZEND_END_ARG_INFO()

#define arginfo_class_SmtpSocket_noop arginfo_class_SmtpSocket_connect

#define arginfo_class_SmtpSocket_quit arginfo_class_SmtpSocket_startTls

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_SmtpSocket_send, 0, 3, IS_ARRAY, 0)
	ZEND_ARG_TYPE_INFO(0, from, IS_STRING, 0)
	ZEND_ARG_TYPE_MASK(0, recipients, MAY_BE_ARRAY|MAY_BE_STRING, NULL)
	ZEND_ARG_TYPE_INFO(0, message, IS_MIXED, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, options, IS_ARRAY, 0, "[]")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_SmtpSocket_sendMany, 0, 1, IS_ARRAY, 0)
	ZEND_ARG_OBJ_TYPE_MASK(0, messages, Traversable, MAY_BE_ARRAY, NULL)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, options, IS_ARRAY, 0, "[]")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_SmtpSocket_getCapabilities, 0, 0, IS_ARRAY, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_SmtpSocket_getLastReply, 0, 0, IS_ARRAY, 1)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_SmtpSocket_isConnected, 0, 0, _IS_BOOL, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_SmtpSocketException_getSmtpCode, 0, 0, IS_LONG, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_SmtpSocketException_getEnhancedStatus, 0, 0, IS_STRING, 1)
ZEND_END_ARG_INFO()

#define arginfo_class_SmtpSocketException_getReply arginfo_class_SmtpSocket_getLastReply

#define arginfo_class_SmtpSocketException_getRejected arginfo_class_SmtpSocket_getCapabilities

ZEND_FUNCTION(smtp_mail);
ZEND_METHOD(SmtpSocket, __construct);
ZEND_METHOD(SmtpSocket, connect);
ZEND_METHOD(SmtpSocket, ehlo);
ZEND_METHOD(SmtpSocket, helo);
ZEND_METHOD(SmtpSocket, startTls);
ZEND_METHOD(SmtpSocket, auth);
ZEND_METHOD(SmtpSocket, mailFrom);
ZEND_METHOD(SmtpSocket, rcptTo);
ZEND_METHOD(SmtpSocket, data);
ZEND_METHOD(SmtpSocket, rset);
ZEND_METHOD(SmtpSocket, vrfy);
ZEND_METHOD(SmtpSocket, noop);
ZEND_METHOD(SmtpSocket, quit);
ZEND_METHOD(SmtpSocket, send);
ZEND_METHOD(SmtpSocket, sendMany);
ZEND_METHOD(SmtpSocket, getCapabilities);
ZEND_METHOD(SmtpSocket, getLastReply);
ZEND_METHOD(SmtpSocket, isConnected);
ZEND_METHOD(SmtpSocketException, getSmtpCode);
ZEND_METHOD(SmtpSocketException, getEnhancedStatus);
ZEND_METHOD(SmtpSocketException, getReply);
ZEND_METHOD(SmtpSocketException, getRejected);

static const zend_function_entry ext_functions[] = {
	ZEND_FE(smtp_mail, arginfo_smtp_mail)
	ZEND_FE_END
};

static const zend_function_entry class_SmtpSocket_methods[] = {
	ZEND_ME(SmtpSocket, __construct, arginfo_class_SmtpSocket___construct, ZEND_ACC_PUBLIC)
	ZEND_ME(SmtpSocket, connect, arginfo_class_SmtpSocket_connect, ZEND_ACC_PUBLIC)
	ZEND_ME(SmtpSocket, ehlo, arginfo_class_SmtpSocket_ehlo, ZEND_ACC_PUBLIC)
	ZEND_ME(SmtpSocket, helo, arginfo_class_SmtpSocket_helo, ZEND_ACC_PUBLIC)
	ZEND_ME(SmtpSocket, startTls, arginfo_class_SmtpSocket_startTls, ZEND_ACC_PUBLIC)
	ZEND_ME(SmtpSocket, auth, arginfo_class_SmtpSocket_auth, ZEND_ACC_PUBLIC)
	ZEND_ME(SmtpSocket, mailFrom, arginfo_class_SmtpSocket_mailFrom, ZEND_ACC_PUBLIC)
	ZEND_ME(SmtpSocket, rcptTo, arginfo_class_SmtpSocket_rcptTo, ZEND_ACC_PUBLIC)
	ZEND_ME(SmtpSocket, data, arginfo_class_SmtpSocket_data, ZEND_ACC_PUBLIC)
	ZEND_ME(SmtpSocket, rset, arginfo_class_SmtpSocket_rset, ZEND_ACC_PUBLIC)
	ZEND_ME(SmtpSocket, vrfy, arginfo_class_SmtpSocket_vrfy, ZEND_ACC_PUBLIC)
	ZEND_ME(SmtpSocket, noop, arginfo_class_SmtpSocket_noop, ZEND_ACC_PUBLIC)
	ZEND_ME(SmtpSocket, quit, arginfo_class_SmtpSocket_quit, ZEND_ACC_PUBLIC)
	ZEND_ME(SmtpSocket, send, arginfo_class_SmtpSocket_send, ZEND_ACC_PUBLIC)
	ZEND_ME(SmtpSocket, sendMany, arginfo_class_SmtpSocket_sendMany, ZEND_ACC_PUBLIC)
	ZEND_ME(SmtpSocket, getCapabilities, arginfo_class_SmtpSocket_getCapabilities, ZEND_ACC_PUBLIC)
	ZEND_ME(SmtpSocket, getLastReply, arginfo_class_SmtpSocket_getLastReply, ZEND_ACC_PUBLIC)
	ZEND_ME(SmtpSocket, isConnected, arginfo_class_SmtpSocket_isConnected, ZEND_ACC_PUBLIC)
	ZEND_FE_END
};

static const zend_function_entry class_SmtpSocketException_methods[] = {
	ZEND_ME(SmtpSocketException, getSmtpCode, arginfo_class_SmtpSocketException_getSmtpCode, ZEND_ACC_PUBLIC)
	ZEND_ME(SmtpSocketException, getEnhancedStatus, arginfo_class_SmtpSocketException_getEnhancedStatus, ZEND_ACC_PUBLIC)
	ZEND_ME(SmtpSocketException, getReply, arginfo_class_SmtpSocketException_getReply, ZEND_ACC_PUBLIC)
	ZEND_ME(SmtpSocketException, getRejected, arginfo_class_SmtpSocketException_getRejected, ZEND_ACC_PUBLIC)
	ZEND_FE_END
};

static zend_class_entry *register_class_SmtpSocket(void)
{
	zend_class_entry ce, *class_entry;

	INIT_CLASS_ENTRY(ce, "SmtpSocket", class_SmtpSocket_methods);
#if (PHP_VERSION_ID >= 80400)
	class_entry = zend_register_internal_class_with_flags(&ce, NULL, ZEND_ACC_FINAL|ZEND_ACC_NO_DYNAMIC_PROPERTIES|ZEND_ACC_NOT_SERIALIZABLE);
#else
	class_entry = zend_register_internal_class_ex(&ce, NULL);
	class_entry->ce_flags |= ZEND_ACC_FINAL|ZEND_ACC_NO_DYNAMIC_PROPERTIES|ZEND_ACC_NOT_SERIALIZABLE;
#endif


	zend_add_parameter_attribute(zend_hash_str_find_ptr(&class_entry->function_table, "__construct", sizeof("__construct") - 1), 2, ZSTR_KNOWN(ZEND_STR_SENSITIVEPARAMETER), 0);

	zend_add_parameter_attribute(zend_hash_str_find_ptr(&class_entry->function_table, "auth", sizeof("auth") - 1), 1, ZSTR_KNOWN(ZEND_STR_SENSITIVEPARAMETER), 0);

	return class_entry;
}

static zend_class_entry *register_class_SmtpSocketException(zend_class_entry *class_entry_RuntimeException)
{
	zend_class_entry ce, *class_entry;

	INIT_CLASS_ENTRY(ce, "SmtpSocketException", class_SmtpSocketException_methods);
#if (PHP_VERSION_ID >= 80400)
	class_entry = zend_register_internal_class_with_flags(&ce, class_entry_RuntimeException, 0);
#else
	class_entry = zend_register_internal_class_ex(&ce, class_entry_RuntimeException);
#endif

	zval property_enhancedStatus_default_value;
	ZVAL_NULL(&property_enhancedStatus_default_value);
	zend_string *property_enhancedStatus_name = zend_string_init("enhancedStatus", sizeof("enhancedStatus") - 1, true);
	zend_declare_typed_property(class_entry, property_enhancedStatus_name, &property_enhancedStatus_default_value, ZEND_ACC_PRIVATE, NULL, (zend_type) ZEND_TYPE_INIT_MASK(MAY_BE_STRING|MAY_BE_NULL));
	zend_string_release_ex(property_enhancedStatus_name, true);

	zval property_reply_default_value;
	ZVAL_NULL(&property_reply_default_value);
	zend_string *property_reply_name = zend_string_init("reply", sizeof("reply") - 1, true);
	zend_declare_typed_property(class_entry, property_reply_name, &property_reply_default_value, ZEND_ACC_PRIVATE, NULL, (zend_type) ZEND_TYPE_INIT_MASK(MAY_BE_ARRAY|MAY_BE_NULL));
	zend_string_release_ex(property_reply_name, true);

	zval property_rejected_default_value;
	ZVAL_EMPTY_ARRAY(&property_rejected_default_value);
	zend_string *property_rejected_name = zend_string_init("rejected", sizeof("rejected") - 1, true);
	zend_declare_typed_property(class_entry, property_rejected_name, &property_rejected_default_value, ZEND_ACC_PRIVATE, NULL, (zend_type) ZEND_TYPE_INIT_MASK(MAY_BE_ARRAY));
	zend_string_release_ex(property_rejected_name, true);

	return class_entry;
}
