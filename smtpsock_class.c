/*
 * smtpsock_class.c: class SmtpSocket and SmtpSocketException. Every method:
 * parse arguments, guard the state, call the core verb, pump, map the result.
 */
#ifdef HAVE_CONFIG_H
# include "config.h"
#endif

#include "php_smtpsock.h"
#include "smtp_core/smtp_addr.h"
#include "zend_exceptions.h"
#include "zend_smart_str.h"
#include "ext/standard/file.h"
#include "ext/spl/spl_exceptions.h"

zend_class_entry *php_smtpsock_ce;
zend_class_entry *php_smtpsock_exception_ce;
static zend_object_handlers php_smtpsock_handlers;

/* send()'s result keys, interned once (MINIT): the result array is built
 * without hashing or allocating a key per message */
static zend_string *key_accepted, *key_rejected, *key_reply, *key_queue_id;

typedef struct {
	php_smtpsock_session *sess;
	zend_object std;
} php_smtpsock_obj;

static inline php_smtpsock_obj *php_smtpsock_from_obj(zend_object *obj)
{
	return (php_smtpsock_obj *)((char *)obj - php_smtpsock_offsetof(php_smtpsock_obj, std));
}

#define Z_SMTPSOCK_P(zv) php_smtpsock_from_obj(Z_OBJ_P(zv))

static zend_object *php_smtpsock_create(zend_class_entry *ce)
{
	php_smtpsock_obj *o = zend_object_alloc(sizeof(php_smtpsock_obj), ce);

	zend_object_std_init(&o->std, ce);
	object_properties_init(&o->std, ce);
	o->std.handlers = &php_smtpsock_handlers;
	return &o->std;
}

/* Destructor phase: user code may still run, so QUIT politely here. */
static void php_smtpsock_dtor(zend_object *obj)
{
	php_smtpsock_obj *o = php_smtpsock_from_obj(obj);

	if (o->sess && !o->sess->in_logger && !o->sess->in_many) {
		php_smtpsock_session_free(o->sess, true);
		o->sess = NULL;
	}
	zend_objects_destroy_object(obj);
}

/* Free phase: no user code; just drop the connection. */
static void php_smtpsock_free(zend_object *obj)
{
	php_smtpsock_obj *o = php_smtpsock_from_obj(obj);

	php_smtpsock_session_free(o->sess, false);
	o->sess = NULL;
	zend_object_std_dtor(obj);
}

static HashTable *php_smtpsock_get_gc(zend_object *obj, zval **table, int *n)
{
	php_smtpsock_obj *o = php_smtpsock_from_obj(obj);
	zend_get_gc_buffer *buf = zend_get_gc_buffer_create();

	if (o->sess) {
		zend_get_gc_buffer_add_zval(buf, &o->sess->cfg.logger);
		zend_get_gc_buffer_add_zval(buf, &o->sess->cfg.context);
	}
	zend_get_gc_buffer_use(buf, table, n);
	return zend_std_get_properties(obj);
}

/* ---- errors ------------------------------------------------------------- */

/* Throw the session's last failure as SmtpSocketException. */
static void throw_session_error(php_smtpsock_session *s)
{
	zend_object *ex;
	zval zex, tmp;

	ex = zend_throw_exception(php_smtpsock_exception_ce,
		s->err.message ? ZSTR_VAL(s->err.message) : "SMTP operation failed", s->err.code);
	if (!ex) {
		return;
	}
	ZVAL_OBJ(&zex, ex);
	if (s->err.status[0]) {
		zend_update_property_string(php_smtpsock_exception_ce, ex, "enhancedStatus",
			sizeof("enhancedStatus") - 1, s->err.status);
	}
	if (s->err.has_reply) {
		php_smtpsock_reply_to_array(&s->err.reply, &tmp);
		zend_update_property(php_smtpsock_exception_ce, ex, "reply", sizeof("reply") - 1, &tmp);
		zval_ptr_dtor(&tmp);
	}
	(void)zex;
}

#define SESSION(s) \
	php_smtpsock_session *s = Z_SMTPSOCK_P(ZEND_THIS)->sess; \
	if (!s) { \
		zend_throw_error(NULL, "SmtpSocket object is not initialized"); \
		RETURN_THROWS(); \
	} \
	if (s->in_logger) { \
		zend_throw_error(NULL, "SmtpSocket cannot be used from its own logger"); \
		RETURN_THROWS(); \
	} \
	if (s->in_many) { \
		zend_throw_error(NULL, "SmtpSocket cannot be used while its sendMany() runs (from on_result or the iterable)"); \
		RETURN_THROWS(); \
	} \
	php_smtpsock_error_clear(&s->err)

#define CHECK(expr) \
	do { \
		if ((expr) == FAILURE) { \
			throw_session_error(s); \
			RETURN_THROWS(); \
		} \
	} while (0)

/* A ValueError unless str carries no CR, LF or NUL. */
static bool check_line_arg(zend_string *str, uint32_t arg)
{
	if (strpbrk(ZSTR_VAL(str), "\r\n") || strlen(ZSTR_VAL(str)) != ZSTR_LEN(str)) {
		zend_argument_value_error(arg, "must not contain CR, LF or NUL characters");
		return false;
	}
	return true;
}

static bool check_path_arg(zend_string *str, uint32_t arg, bool allow_empty)
{
	/* the usual case in one pass: no NUL, CR, LF, '<' or '>' */
	if (ZSTR_LEN(str) > 0 && smtp_arg_clean(ZSTR_VAL(str), ZSTR_LEN(str), 1)) {
		if (!smtp_utf8_valid(ZSTR_VAL(str), ZSTR_LEN(str))) {
			zend_argument_value_error(arg, "must be valid UTF-8");
			return false;
		}
		return true;
	}
	/* which rule it breaks, in this order */
	if (!check_line_arg(str, arg)) {
		return false;
	}
	if (!allow_empty && ZSTR_LEN(str) == 0) {
		zend_argument_value_error(arg, "must not be empty");
		return false;
	}
	if (strpbrk(ZSTR_VAL(str), "<>")) {
		zend_argument_value_error(arg, "must be a bare address, without angle brackets");
		return false;
	}
	if (!smtp_utf8_valid(ZSTR_VAL(str), ZSTR_LEN(str))) {
		zend_argument_value_error(arg, "must be valid UTF-8");
		return false;
	}
	return true;
}

/*
 * ESMTP parameters: ['SIZE' => 1234, 'BODY' => '8BITMIME', 'SMTPUTF8' => true]
 * or list entries ['SMTPUTF8'] -> "SIZE=1234 BODY=8BITMIME SMTPUTF8".
 * what names the argument in errors. Throws and returns FAILURE on bad input.
 */
zend_result php_smtpsock_build_params(HashTable *ht, const char *what, smart_str *out)
{
	zend_string *key;
	zend_ulong idx;
	zval *val;

	ZEND_HASH_FOREACH_KEY_VAL(ht, idx, key, val) {
		zend_string *kw = key, *v = NULL;
		size_t i;
		bool bare = false;

		(void)idx;
		ZVAL_DEREF(val);
		if (!key) {
			if (Z_TYPE_P(val) != IS_STRING) {
				zend_type_error("%s: a parameter without a name must be a string keyword, %s given",
					what, zend_zval_type_name(val));
				return FAILURE;
			}
			kw = Z_STR_P(val);
			bare = true;
		}
		if (ZSTR_LEN(kw) == 0 || !isalnum((unsigned char)ZSTR_VAL(kw)[0])) {
			zend_value_error("%s: invalid ESMTP keyword \"%s\"", what, ZSTR_VAL(kw));
			return FAILURE;
		}
		for (i = 0; i < ZSTR_LEN(kw); i++) {
			unsigned char ch = (unsigned char)ZSTR_VAL(kw)[i];
			if (!isalnum(ch) && ch != '-') {
				zend_value_error("%s: invalid ESMTP keyword \"%s\"", what, ZSTR_VAL(kw));
				return FAILURE;
			}
		}
		if (!bare) {
			switch (Z_TYPE_P(val)) {
			case IS_FALSE:
				continue;
			case IS_TRUE:
			case IS_NULL:
				bare = true;
				break;
			case IS_LONG:
				v = zend_long_to_str(Z_LVAL_P(val));
				break;
			case IS_STRING:
				v = zend_string_copy(Z_STR_P(val));
				break;
			default:
				zend_type_error("%s: parameter \"%s\" must be of type string|int|bool|null, %s given",
					what, ZSTR_VAL(kw), zend_zval_type_name(val));
				return FAILURE;
			}
		}
		if (v) {
			for (i = 0; i < ZSTR_LEN(v); i++) {
				unsigned char ch = (unsigned char)ZSTR_VAL(v)[i];
				if (ch < 33 || ch > 126 || ch == '=') {
					zend_value_error("%s: the value of parameter \"%s\" must be printable ASCII without spaces or '='",
						what, ZSTR_VAL(kw));
					zend_string_release(v);
					return FAILURE;
				}
			}
			if (ZSTR_LEN(v) == 0) {
				zend_value_error("%s: the value of parameter \"%s\" must not be empty", what, ZSTR_VAL(kw));
				zend_string_release(v);
				return FAILURE;
			}
		}
		if (out->s && ZSTR_LEN(out->s)) {
			smart_str_appendc(out, ' ');
		}
		smart_str_append(out, kw);
		if (v) {
			smart_str_appendc(out, '=');
			smart_str_append(out, v);
			zend_string_release(v);
		}
	} ZEND_HASH_FOREACH_END();
	smart_str_0(out);
	return SUCCESS;
}

/* A message argument: a string, or a readable stream resource. */
static bool message_arg(zval *zmsg, uint32_t arg, php_smtpsock_body *body)
{
	memset(body, 0, sizeof(*body));
	if (Z_TYPE_P(zmsg) == IS_STRING) {
		body->parts[0] = Z_STRVAL_P(zmsg);
		body->lens[0] = Z_STRLEN_P(zmsg);
		body->nparts = 1;
		return true;
	}
	if (Z_TYPE_P(zmsg) == IS_RESOURCE) {
		php_stream *stream = (php_stream *)zend_fetch_resource2_ex(zmsg, NULL, php_file_le_stream(), php_file_le_pstream());
		if (stream) {
			if (!strpbrk(stream->mode, "r+")) {
				zend_argument_value_error(arg, "must be a readable stream");
				return false;
			}
			body->stream = stream;
			return true;
		}
	}
	zend_argument_type_error(arg, "must be of type string or a stream resource, %s given", zend_zval_type_name(zmsg));
	return false;
}

/* ---- constructor -------------------------------------------------------- */

static bool opt_bool(zend_string *key, zval *val, bool *out)
{
	if (Z_TYPE_P(val) != IS_TRUE && Z_TYPE_P(val) != IS_FALSE) {
		zend_argument_type_error(3, "option \"%s\" must be of type bool, %s given", ZSTR_VAL(key), zend_zval_type_name(val));
		return false;
	}
	*out = Z_TYPE_P(val) == IS_TRUE;
	return true;
}

static bool opt_string(zend_string *key, zval *val, zend_string **out)
{
	if (Z_TYPE_P(val) != IS_STRING) {
		zend_argument_type_error(3, "option \"%s\" must be of type string, %s given", ZSTR_VAL(key), zend_zval_type_name(val));
		return false;
	}
	if (strlen(Z_STRVAL_P(val)) != Z_STRLEN_P(val) || strpbrk(Z_STRVAL_P(val), "\r\n")) {
		zend_argument_value_error(3, "option \"%s\" must not contain CR, LF or NUL characters", ZSTR_VAL(key));
		return false;
	}
	if (*out) {
		zend_string_release(*out);
	}
	*out = zend_string_copy(Z_STR_P(val));
	return true;
}

static bool parse_options(HashTable *opts, php_smtpsock_config *cfg)
{
	zend_string *key;
	zval *val;

	ZEND_HASH_FOREACH_STR_KEY_VAL(opts, key, val) {
		ZVAL_DEREF(val);
		if (!key) {
			zend_argument_value_error(3, "must be an array with string keys");
			return false;
		}
		if (zend_string_equals_literal(key, "timeout")) {
			double t;
			if (Z_TYPE_P(val) == IS_LONG) {
				t = (double)Z_LVAL_P(val);
			} else if (Z_TYPE_P(val) == IS_DOUBLE) {
				t = Z_DVAL_P(val);
			} else {
				zend_argument_type_error(3, "option \"timeout\" must be of type float, %s given", zend_zval_type_name(val));
				return false;
			}
			if (!(t > 0) || t > 86400) {
				zend_argument_value_error(3, "option \"timeout\" must be greater than 0 and at most 86400 seconds");
				return false;
			}
			cfg->timeout = t;
		} else if (zend_string_equals_literal(key, "security")) {
			int sec;
			if (Z_TYPE_P(val) != IS_STRING) {
				zend_argument_type_error(3, "option \"security\" must be of type string, %s given", zend_zval_type_name(val));
				return false;
			}
			sec = php_smtpsock_security_parse(Z_STRVAL_P(val), Z_STRLEN_P(val));
			if (sec < 0) {
				zend_argument_value_error(3, "option \"security\" must be one of \"auto\", \"starttls\", \"tls\" or \"none\"");
				return false;
			}
			cfg->security = (php_smtpsock_security)sec;
		} else if (zend_string_equals_literal(key, "username")) {
			if (!opt_string(key, val, &cfg->username)) return false;
		} else if (zend_string_equals_literal(key, "password")) {
			if (!opt_string(key, val, &cfg->password)) return false;
		} else if (zend_string_equals_literal(key, "helo")) {
			if (!opt_string(key, val, &cfg->helo)) return false;
			if (ZSTR_LEN(cfg->helo) == 0 || strpbrk(ZSTR_VAL(cfg->helo), " \t")) {
				zend_argument_value_error(3, "option \"helo\" must be a domain or address literal without spaces");
				return false;
			}
		} else if (zend_string_equals_literal(key, "auth")) {
			smart_str list = {0};
			const char *bad;
			size_t bad_len;
			if (Z_TYPE_P(val) == IS_STRING) {
				smart_str_append(&list, Z_STR_P(val));
			} else if (Z_TYPE_P(val) == IS_ARRAY) {
				zval *m;
				ZEND_HASH_FOREACH_VAL(Z_ARRVAL_P(val), m) {
					ZVAL_DEREF(m);
					if (Z_TYPE_P(m) != IS_STRING) {
						smart_str_free(&list);
						zend_argument_type_error(3, "option \"auth\" must list mechanism names as strings");
						return false;
					}
					if (list.s) smart_str_appendc(&list, ' ');
					smart_str_append(&list, Z_STR_P(m));
				} ZEND_HASH_FOREACH_END();
			} else {
				zend_argument_type_error(3, "option \"auth\" must be of type array|string, %s given", zend_zval_type_name(val));
				return false;
			}
			smart_str_0(&list);
			cfg->auth_mechs = 0;
			if (list.s && php_smtpsock_mechs_parse(ZSTR_VAL(list.s), ZSTR_LEN(list.s), &cfg->auth_mechs, &bad, &bad_len) == FAILURE) {
				zend_argument_value_error(3, "option \"auth\" names an unknown mechanism \"%.*s\" (known: SCRAM-SHA-256, CRAM-MD5, PLAIN, LOGIN, XOAUTH2, OAUTHBEARER)", (int)bad_len, bad);
				smart_str_free(&list);
				return false;
			}
			if (cfg->auth_mechs == 0) {
				zend_argument_value_error(3, "option \"auth\" must name at least one mechanism");
				smart_str_free(&list);
				return false;
			}
			smart_str_free(&list);
		} else if (zend_string_equals_literal(key, "context")) {
			if (Z_TYPE_P(val) != IS_RESOURCE || !zend_fetch_resource_ex(val, NULL, php_le_stream_context())) {
				zend_argument_type_error(3, "option \"context\" must be a stream context resource, %s given", zend_zval_type_name(val));
				return false;
			}
			zval_ptr_dtor(&cfg->context);
			ZVAL_COPY(&cfg->context, val);
		} else if (zend_string_equals_literal(key, "logger")) {
			if (!zend_is_callable(val, 0, NULL)) {
				zend_argument_type_error(3, "option \"logger\" must be a valid callback");
				return false;
			}
			zval_ptr_dtor(&cfg->logger);
			ZVAL_COPY(&cfg->logger, val);
		} else if (zend_string_equals_literal(key, "persistent")) {
			if (!opt_bool(key, val, &cfg->persistent)) return false;
		} else if (zend_string_equals_literal(key, "pipelining")) {
			if (!opt_bool(key, val, &cfg->pipelining)) return false;
		} else if (zend_string_equals_literal(key, "chunking")) {
			if (!opt_bool(key, val, &cfg->chunking)) return false;
		} else if (zend_string_equals_literal(key, "busy_poll")) {
			if (Z_TYPE_P(val) != IS_LONG) {
				zend_argument_type_error(3, "option \"busy_poll\" must be of type int, %s given", zend_zval_type_name(val));
				return false;
			}
			if (Z_LVAL_P(val) < 0 || Z_LVAL_P(val) > PHP_SMTPSOCK_BUSY_POLL_MAX) {
				zend_argument_value_error(3, "option \"busy_poll\" must be between 0 and %d microseconds", PHP_SMTPSOCK_BUSY_POLL_MAX);
				return false;
			}
			cfg->busy_poll = Z_LVAL_P(val);
		} else if (zend_string_equals_literal(key, "allow_insecure_auth")) {
			if (!opt_bool(key, val, &cfg->allow_insecure_auth)) return false;
		} else {
			zend_argument_value_error(3, "contains unknown option \"%s\"", ZSTR_VAL(key));
			return false;
		}
	} ZEND_HASH_FOREACH_END();
	return true;
}

PHP_METHOD(SmtpSocket, __construct)
{
	zend_string *host = NULL;
	zend_long port = 25;
	HashTable *options = NULL;
	php_smtpsock_obj *o = Z_SMTPSOCK_P(ZEND_THIS);
	php_smtpsock_config cfg;

	ZEND_PARSE_PARAMETERS_START(0, 3)
		Z_PARAM_OPTIONAL
		Z_PARAM_STR(host)
		Z_PARAM_LONG(port)
		Z_PARAM_ARRAY_HT(options)
	ZEND_PARSE_PARAMETERS_END();

	if (o->sess) {
		zend_throw_error(NULL, "SmtpSocket object is already constructed");
		RETURN_THROWS();
	}
	if (host && (!check_line_arg(host, 1))) {
		RETURN_THROWS();
	}
	if (host && (ZSTR_LEN(host) == 0 || strspn(ZSTR_VAL(host), " \t;") == ZSTR_LEN(host))) {
		zend_argument_value_error(1, "must name at least one host");
		RETURN_THROWS();
	}
	if (port < 1 || port > 65535) {
		zend_argument_value_error(2, "must be between 1 and 65535");
		RETURN_THROWS();
	}
	php_smtpsock_config_init(&cfg);
	cfg.port = port;
	cfg.hosts = host ? zend_string_copy(host) : zend_string_init("localhost", sizeof("localhost") - 1, 0);
	if (options && !parse_options(options, &cfg)) {
		php_smtpsock_config_dtor(&cfg);
		RETURN_THROWS();
	}
	o->sess = php_smtpsock_session_new(&cfg);
}

/* ---- verbs -------------------------------------------------------------- */

PHP_METHOD(SmtpSocket, connect)
{
	ZEND_PARSE_PARAMETERS_NONE();
	SESSION(s);
	CHECK(php_smtpsock_ensure(s, PHP_SMTPSOCK_LVL_GREETED));
	RETURN_STR_COPY(s->greeting);
}

PHP_METHOD(SmtpSocket, ehlo)
{
	zend_string *domain = NULL;

	ZEND_PARSE_PARAMETERS_START(0, 1)
		Z_PARAM_OPTIONAL
		Z_PARAM_STR_OR_NULL(domain)
	ZEND_PARSE_PARAMETERS_END();
	SESSION(s);
	if (domain && (!check_line_arg(domain, 1))) {
		RETURN_THROWS();
	}
	if (domain && (ZSTR_LEN(domain) == 0 || strpbrk(ZSTR_VAL(domain), " \t"))) {
		zend_argument_value_error(1, "must be a domain or address literal without spaces");
		RETURN_THROWS();
	}
	CHECK(php_smtpsock_ensure(s, PHP_SMTPSOCK_LVL_GREETED));
	CHECK(php_smtpsock_hello(s, domain, true, false));
	php_smtpsock_caps_to_array(smtp_client_caps(s->core), return_value);
}

PHP_METHOD(SmtpSocket, helo)
{
	zend_string *domain = NULL;

	ZEND_PARSE_PARAMETERS_START(0, 1)
		Z_PARAM_OPTIONAL
		Z_PARAM_STR_OR_NULL(domain)
	ZEND_PARSE_PARAMETERS_END();
	SESSION(s);
	if (domain && (!check_line_arg(domain, 1))) {
		RETURN_THROWS();
	}
	if (domain && (ZSTR_LEN(domain) == 0 || strpbrk(ZSTR_VAL(domain), " \t"))) {
		zend_argument_value_error(1, "must be a domain or address literal without spaces");
		RETURN_THROWS();
	}
	CHECK(php_smtpsock_ensure(s, PHP_SMTPSOCK_LVL_GREETED));
	CHECK(php_smtpsock_hello(s, domain, false, false));
	RETURN_STRINGL(s->last.text, s->last.text_len);
}

PHP_METHOD(SmtpSocket, startTls)
{
	ZEND_PARSE_PARAMETERS_NONE();
	SESSION(s);
	CHECK(php_smtpsock_ensure(s, PHP_SMTPSOCK_LVL_GREETED));
	if (smtp_client_state(s->core) == SMTP_ST_GREETED) {
		CHECK(php_smtpsock_hello(s, NULL, true, true));
	}
	if (s->tls) {
		php_smtpsock_fail(s, "the connection is already encrypted");
		throw_session_error(s);
		RETURN_THROWS();
	}
	CHECK(php_smtpsock_starttls(s, false));
}

PHP_METHOD(SmtpSocket, auth)
{
	zend_string *user, *pass, *mech = NULL;
	unsigned allowed = 0;

	ZEND_PARSE_PARAMETERS_START(2, 3)
		Z_PARAM_STR(user)
		Z_PARAM_STR(pass)
		Z_PARAM_OPTIONAL
		Z_PARAM_STR_OR_NULL(mech)
	ZEND_PARSE_PARAMETERS_END();
	SESSION(s);
	if (!check_line_arg(user, 1) || !check_line_arg(pass, 2)) {
		RETURN_THROWS();
	}
	if (mech) {
		const char *bad = ZSTR_VAL(mech);
		size_t bad_len = ZSTR_LEN(mech);
		if (php_smtpsock_mechs_parse(ZSTR_VAL(mech), ZSTR_LEN(mech), &allowed, &bad, &bad_len) == FAILURE || !allowed) {
			zend_argument_value_error(3, "must be one of SCRAM-SHA-256, CRAM-MD5, PLAIN, LOGIN, XOAUTH2 or OAUTHBEARER, \"%.*s\" given",
				(int)bad_len, bad);
			RETURN_THROWS();
		}
	} else {
		allowed = s->cfg.auth_mechs;
	}
	CHECK(php_smtpsock_ensure(s, PHP_SMTPSOCK_LVL_SECURED));
	if (s->authed) {
		php_smtpsock_fail(s, "already authenticated in this session");
		throw_session_error(s);
		RETURN_THROWS();
	}
	CHECK(php_smtpsock_auth(s, user, pass, allowed));
}

/* Verbs of an open transaction do not connect on demand: without a
 * connection they are simply in the wrong state. */
static bool in_transaction(php_smtpsock_session *s, const char *verb)
{
	if (!php_smtpsock_session_connected(s)) {
		php_smtpsock_fail(s, "%s is not allowed now: no transaction is open (call mailFrom() first)", verb);
		return false;
	}
	return true;
}

PHP_METHOD(SmtpSocket, mailFrom)
{
	zend_string *sender;
	HashTable *params = NULL;
	smart_str p = {0};
	smtp_event_t ev;
	int rc;

	ZEND_PARSE_PARAMETERS_START(1, 2)
		Z_PARAM_STR(sender)
		Z_PARAM_OPTIONAL
		Z_PARAM_ARRAY_HT(params)
	ZEND_PARSE_PARAMETERS_END();
	SESSION(s);
	if (!check_path_arg(sender, 1, true)) {
		RETURN_THROWS();
	}
	if (params && php_smtpsock_build_params(params, "SmtpSocket::mailFrom(): Argument #2 ($params)", &p) == FAILURE) {
		smart_str_free(&p);
		RETURN_THROWS();
	}
	if (php_smtpsock_ensure(s, PHP_SMTPSOCK_LVL_READY) == FAILURE) {
		smart_str_free(&p);
		throw_session_error(s);
		RETURN_THROWS();
	}
	rc = smtp_client_mail(s->core, ZSTR_VAL(sender), ZSTR_LEN(sender),
		p.s ? ZSTR_VAL(p.s) : "", p.s ? ZSTR_LEN(p.s) : 0);
	smart_str_free(&p);
	if (rc != SMTP_OK) {
		php_smtpsock_fail_core(s, "MAIL", rc);
		throw_session_error(s);
		RETURN_THROWS();
	}
	CHECK(php_smtpsock_roundtrip(s, "sender refused", &ev));
	RETURN_STRINGL(ev.reply->text, ev.reply->text_len);
}

PHP_METHOD(SmtpSocket, rcptTo)
{
	zend_string *rcpt;
	HashTable *params = NULL;
	smart_str p = {0};
	smtp_event_t ev;
	int rc;

	ZEND_PARSE_PARAMETERS_START(1, 2)
		Z_PARAM_STR(rcpt)
		Z_PARAM_OPTIONAL
		Z_PARAM_ARRAY_HT(params)
	ZEND_PARSE_PARAMETERS_END();
	SESSION(s);
	if (!check_path_arg(rcpt, 1, false)) {
		RETURN_THROWS();
	}
	if (params && php_smtpsock_build_params(params, "SmtpSocket::rcptTo(): Argument #2 ($params)", &p) == FAILURE) {
		smart_str_free(&p);
		RETURN_THROWS();
	}
	if (!in_transaction(s, "RCPT")) {
		smart_str_free(&p);
		throw_session_error(s);
		RETURN_THROWS();
	}
	rc = smtp_client_rcpt(s->core, ZSTR_VAL(rcpt), ZSTR_LEN(rcpt), p.s ? ZSTR_VAL(p.s) : "", p.s ? ZSTR_LEN(p.s) : 0);
	smart_str_free(&p);
	if (rc != SMTP_OK) {
		php_smtpsock_fail_core(s, "RCPT", rc);
		throw_session_error(s);
		RETURN_THROWS();
	}
	CHECK(php_smtpsock_roundtrip(s, "recipient refused", &ev));
	RETURN_STRINGL(ev.reply->text, ev.reply->text_len);
}

PHP_METHOD(SmtpSocket, data)
{
	zval *zmsg;
	php_smtpsock_body body;
	smtp_event_t ev;
	int rc;

	ZEND_PARSE_PARAMETERS_START(1, 1)
		Z_PARAM_ZVAL(zmsg)
	ZEND_PARSE_PARAMETERS_END();
	SESSION(s);
	if (!message_arg(zmsg, 1, &body)) {
		RETURN_THROWS();
	}
	if (!in_transaction(s, "DATA")) {
		throw_session_error(s);
		RETURN_THROWS();
	}
	if ((rc = smtp_client_data(s->core)) != SMTP_OK) {
		php_smtpsock_fail_core(s, "DATA", rc);
		throw_session_error(s);
		RETURN_THROWS();
	}
	CHECK(php_smtpsock_roundtrip(s, "DATA refused", &ev));
	CHECK(php_smtpsock_write_body(s, &body));
	CHECK(php_smtpsock_roundtrip(s, "message refused", &ev));
	RETURN_STRINGL(ev.reply->text, ev.reply->text_len);
}

/* A verb without arguments that needs a ready session. */
static void simple_verb(INTERNAL_FUNCTION_PARAMETERS, int (*verb)(smtp_client_t *), const char *name, const char *what)
{
	smtp_event_t ev;
	int rc;

	ZEND_PARSE_PARAMETERS_NONE();
	SESSION(s);
	CHECK(php_smtpsock_ensure(s, PHP_SMTPSOCK_LVL_READY));
	if ((rc = verb(s->core)) != SMTP_OK) {
		php_smtpsock_fail_core(s, name, rc);
		throw_session_error(s);
		RETURN_THROWS();
	}
	CHECK(php_smtpsock_roundtrip(s, what, &ev));
	RETURN_STRINGL(ev.reply->text, ev.reply->text_len);
}

PHP_METHOD(SmtpSocket, rset)
{
	simple_verb(INTERNAL_FUNCTION_PARAM_PASSTHRU, smtp_client_rset, "RSET", "RSET refused");
}

PHP_METHOD(SmtpSocket, noop)
{
	simple_verb(INTERNAL_FUNCTION_PARAM_PASSTHRU, smtp_client_noop, "NOOP", "NOOP refused");
}

PHP_METHOD(SmtpSocket, vrfy)
{
	zend_string *addr;
	smtp_event_t ev;
	int rc;

	ZEND_PARSE_PARAMETERS_START(1, 1)
		Z_PARAM_STR(addr)
	ZEND_PARSE_PARAMETERS_END();
	SESSION(s);
	if (!check_line_arg(addr, 1)) {
		RETURN_THROWS();
	}
	if (ZSTR_LEN(addr) == 0) {
		zend_argument_value_error(1, "must not be empty");
		RETURN_THROWS();
	}
	CHECK(php_smtpsock_ensure(s, PHP_SMTPSOCK_LVL_READY));
	if ((rc = smtp_client_vrfy(s->core, ZSTR_VAL(addr), ZSTR_LEN(addr))) != SMTP_OK) {
		php_smtpsock_fail_core(s, "VRFY", rc);
		throw_session_error(s);
		RETURN_THROWS();
	}
	CHECK(php_smtpsock_roundtrip(s, "VRFY refused", &ev));
	RETURN_STRINGL(ev.reply->text, ev.reply->text_len);
}

PHP_METHOD(SmtpSocket, quit)
{
	smtp_event_t ev;
	zend_result r;
	int rc;

	ZEND_PARSE_PARAMETERS_NONE();
	SESSION(s);
	if (!php_smtpsock_session_connected(s)) {
		php_smtpsock_session_close(s);
		return;
	}
	smtp_client_set_pipelining(s->core, 0);
	if ((rc = smtp_client_quit(s->core)) != SMTP_OK) {
		/* mid-message or otherwise unable to QUIT: just drop the connection */
		php_smtpsock_session_close(s);
		return;
	}
	r = php_smtpsock_roundtrip(s, "QUIT refused", &ev);
	php_smtpsock_session_close(s);
	CHECK(r);
}

PHP_METHOD(SmtpSocket, send)
{
	zend_string *from;
	zend_string *rcpt_str = NULL;
	HashTable *rcpt_ht = NULL, *options = NULL;
	zval *zmsg, rcpts, *zv, tmp;
	php_smtpsock_body body;
	php_smtpsock_result res;
	smart_str mp = {0}, rp = {0};
	zend_string *key;
	zend_result r;
	bool atomic = false;

	ZEND_PARSE_PARAMETERS_START(3, 4)
		Z_PARAM_STR(from)
		Z_PARAM_ARRAY_HT_OR_STR(rcpt_ht, rcpt_str)
		Z_PARAM_ZVAL(zmsg)
		Z_PARAM_OPTIONAL
		Z_PARAM_ARRAY_HT(options)
	ZEND_PARSE_PARAMETERS_END();
	SESSION(s);
	if (!check_path_arg(from, 1, true)) {
		RETURN_THROWS();
	}
	/* the recipients as a list of strings: the caller's array itself when it
	 * holds nothing but strings (send() holds a reference to it until it
	 * returns), a list of their values when references are among them */
	ZVAL_UNDEF(&rcpts);
	if (rcpt_str) {
		if (!check_path_arg(rcpt_str, 2, false)) {
			RETURN_THROWS();
		}
		array_init_size(&rcpts, 1);
		add_next_index_str(&rcpts, zend_string_copy(rcpt_str));
	} else {
		bool refs = false;
		ZEND_HASH_FOREACH_VAL(rcpt_ht, zv) {
			refs = refs || Z_ISREF_P(zv);
			ZVAL_DEREF(zv);
			if (Z_TYPE_P(zv) != IS_STRING) {
				zend_argument_type_error(2, "must contain only strings, %s found", zend_zval_type_name(zv));
				RETURN_THROWS();
			}
			if (!check_path_arg(Z_STR_P(zv), 2, false)) {
				RETURN_THROWS();
			}
		} ZEND_HASH_FOREACH_END();
		if (zend_hash_num_elements(rcpt_ht) == 0) {
			zend_argument_value_error(2, "must not be empty");
			RETURN_THROWS();
		}
		if (refs) {
			array_init_size(&rcpts, zend_hash_num_elements(rcpt_ht));
			ZEND_HASH_FOREACH_VAL(rcpt_ht, zv) {
				ZVAL_DEREF(zv);
				add_next_index_str(&rcpts, zend_string_copy(Z_STR_P(zv)));
			} ZEND_HASH_FOREACH_END();
		}
	}
	if (!message_arg(zmsg, 3, &body)) {
		zval_ptr_dtor(&rcpts);
		RETURN_THROWS();
	}
	if (options) {
		ZEND_HASH_FOREACH_STR_KEY_VAL(options, key, zv) {
			smart_str *dst;
			ZVAL_DEREF(zv);
			if (key && zend_string_equals_literal(key, "atomic")) {
				if (Z_TYPE_P(zv) != IS_TRUE && Z_TYPE_P(zv) != IS_FALSE) {
					zend_argument_type_error(4, "option \"atomic\" must be of type bool, %s given", zend_zval_type_name(zv));
					goto bad_args;
				}
				atomic = Z_TYPE_P(zv) == IS_TRUE;
				continue;
			}
			if (key && zend_string_equals_literal(key, "mail_params")) {
				dst = &mp;
			} else if (key && zend_string_equals_literal(key, "rcpt_params")) {
				dst = &rp;
			} else {
				zend_argument_value_error(4, "contains unknown option \"%s\"", key ? ZSTR_VAL(key) : "(numeric key)");
				goto bad_args;
			}
			if (Z_TYPE_P(zv) != IS_ARRAY) {
				zend_argument_type_error(4, "option \"%s\" must be of type array, %s given", ZSTR_VAL(key), zend_zval_type_name(zv));
				goto bad_args;
			}
			if (php_smtpsock_build_params(Z_ARRVAL_P(zv), dst == &mp ? "SmtpSocket::send(): mail_params" : "SmtpSocket::send(): rcpt_params", dst) == FAILURE) {
				goto bad_args;
			}
		} ZEND_HASH_FOREACH_END();
	}
	r = php_smtpsock_send(s, ZSTR_VAL(from), ZSTR_LEN(from), Z_TYPE(rcpts) == IS_ARRAY ? Z_ARRVAL(rcpts) : rcpt_ht,
		mp.s ? ZSTR_VAL(mp.s) : NULL, rp.s ? ZSTR_VAL(rp.s) : NULL, &body, atomic, true, &res);
	zval_ptr_dtor(&rcpts);
	smart_str_free(&mp);
	smart_str_free(&rp);
	if (r == FAILURE) {
		throw_session_error(s);
		if (EG(exception) && zend_hash_num_elements(Z_ARRVAL(res.rejected)) > 0) {
			/* every refusal known, for getRejected() */
			zend_update_property(php_smtpsock_exception_ce, EG(exception), "rejected", sizeof("rejected") - 1, &res.rejected);
		}
		php_smtpsock_result_dtor(&res);
		RETURN_THROWS();
	}
	/* four new interned keys appended in place: no lookups */
	array_init_size(return_value, 4);
	zend_hash_real_init_mixed(Z_ARRVAL_P(return_value));
	_zend_hash_append_ex(Z_ARRVAL_P(return_value), key_accepted, &res.accepted, 1);
	_zend_hash_append_ex(Z_ARRVAL_P(return_value), key_rejected, &res.rejected, 1);
	ZVAL_STR(&tmp, res.reply);
	_zend_hash_append_ex(Z_ARRVAL_P(return_value), key_reply, &tmp, 1);
	if (res.queue_id) {
		ZVAL_STR(&tmp, res.queue_id);
	} else {
		ZVAL_NULL(&tmp);
	}
	_zend_hash_append_ex(Z_ARRVAL_P(return_value), key_queue_id, &tmp, 1);
	return;

bad_args:
	zval_ptr_dtor(&rcpts);
	smart_str_free(&mp);
	smart_str_free(&rp);
	RETURN_THROWS();
}

PHP_METHOD(SmtpSocket, sendMany)
{
	zval *messages;
	HashTable *options = NULL;

	ZEND_PARSE_PARAMETERS_START(1, 2)
		Z_PARAM_ITERABLE(messages)
		Z_PARAM_OPTIONAL
		Z_PARAM_ARRAY_HT(options)
	ZEND_PARSE_PARAMETERS_END();
	SESSION(s);
	php_smtpsock_send_many(s, messages, options, return_value);
}

PHP_METHOD(SmtpSocket, getCapabilities)
{
	ZEND_PARSE_PARAMETERS_NONE();
	SESSION(s);
	if (!php_smtpsock_session_connected(s)) {
		RETURN_EMPTY_ARRAY();
	}
	php_smtpsock_caps_to_array(smtp_client_caps(s->core), return_value);
}

PHP_METHOD(SmtpSocket, getLastReply)
{
	ZEND_PARSE_PARAMETERS_NONE();
	SESSION(s);
	if (!s->has_last) {
		RETURN_NULL();
	}
	php_smtpsock_reply_to_array(&s->last, return_value);
}

PHP_METHOD(SmtpSocket, isConnected)
{
	ZEND_PARSE_PARAMETERS_NONE();
	SESSION(s);
	RETURN_BOOL(php_smtpsock_session_connected(s));
}

/* ---- SmtpSocketException ------------------------------------------------ */

PHP_METHOD(SmtpSocketException, getSmtpCode)
{
	zval *code, rv;

	ZEND_PARSE_PARAMETERS_NONE();
	code = zend_read_property(zend_ce_exception, Z_OBJ_P(ZEND_THIS), "code", sizeof("code") - 1, 1, &rv);
	RETURN_LONG(zval_get_long(code));
}

PHP_METHOD(SmtpSocketException, getEnhancedStatus)
{
	zval *v, rv;

	ZEND_PARSE_PARAMETERS_NONE();
	v = zend_read_property(php_smtpsock_exception_ce, Z_OBJ_P(ZEND_THIS), "enhancedStatus", sizeof("enhancedStatus") - 1, 1, &rv);
	RETURN_COPY_DEREF(v);
}

PHP_METHOD(SmtpSocketException, getReply)
{
	zval *v, rv;

	ZEND_PARSE_PARAMETERS_NONE();
	v = zend_read_property(php_smtpsock_exception_ce, Z_OBJ_P(ZEND_THIS), "reply", sizeof("reply") - 1, 1, &rv);
	RETURN_COPY_DEREF(v);
}

PHP_METHOD(SmtpSocketException, getRejected)
{
	zval *v, rv;

	ZEND_PARSE_PARAMETERS_NONE();
	v = zend_read_property(php_smtpsock_exception_ce, Z_OBJ_P(ZEND_THIS), "rejected", sizeof("rejected") - 1, 1, &rv);
	RETURN_COPY_DEREF(v);
}

void php_smtpsock_class_minit(void)
{
	php_smtpsock_ce->create_object = php_smtpsock_create;
	memcpy(&php_smtpsock_handlers, zend_get_std_object_handlers(), sizeof(zend_object_handlers));
	php_smtpsock_handlers.offset = php_smtpsock_offsetof(php_smtpsock_obj, std);
	php_smtpsock_handlers.dtor_obj = php_smtpsock_dtor;
	php_smtpsock_handlers.free_obj = php_smtpsock_free;
	php_smtpsock_handlers.clone_obj = NULL;
	php_smtpsock_handlers.get_gc = php_smtpsock_get_gc;
	key_accepted = zend_string_init_interned("accepted", sizeof("accepted") - 1, 1);
	key_rejected = zend_string_init_interned("rejected", sizeof("rejected") - 1, 1);
	key_reply = zend_string_init_interned("reply", sizeof("reply") - 1, 1);
	key_queue_id = zend_string_init_interned("queue_id", sizeof("queue_id") - 1, 1);
}
