dnl config.m4 for extension smtpsock

PHP_ARG_ENABLE([smtpsock],
  [whether to enable smtpsock support],
  [AS_HELP_STRING([--enable-smtpsock], [Enable smtpsock (SMTP mail over PHP streams)])],
  [no])

if test "$PHP_SMTPSOCK" != "no"; then
  SMTP_CORE_SOURCES="smtp_core/smtp_core.c smtp_core/smtp_buf.c smtp_core/smtp_reply.c smtp_core/smtp_caps.c smtp_core/smtp_data.c smtp_core/smtp_addr.c smtp_core/smtp_client.c smtp_core/smtp_sasl.c smtp_core/smtp_queueid.c smtp_core/smtp_sched.c"
  SMTPSOCK_CFLAGS="-DSMTP_HAVE_CONFIG_H -DZEND_ENABLE_STATIC_TSRMLS_CACHE=1"
  dnl Nothing but get_module() (ZEND_DLEXPORT) leaves the shared object: the
  dnl calls between its own files (driver to core) are direct, not through the PLT.
  AX_CHECK_COMPILE_FLAG([-fvisibility=hidden], [SMTPSOCK_CFLAGS="$SMTPSOCK_CFLAGS -fvisibility=hidden"])
  PHP_NEW_EXTENSION(smtpsock,
    [smtpsock.c smtpsock_session.c smtpsock_io.c smtpsock_conn.c smtpsock_txn.c smtpsock_class.c smtpsock_mail.c smtpsock_auth.c smtpsock_many.c $SMTP_CORE_SOURCES],
    $ext_shared,, [$SMTPSOCK_CFLAGS])
  PHP_ADD_BUILD_DIR([$ext_builddir/smtp_core])
  PHP_ADD_INCLUDE([$ext_srcdir])
  PHP_ADD_INCLUDE([$ext_srcdir/smtp_core])
  PHP_ADD_EXTENSION_DEP(smtpsock, date)
  PHP_ADD_EXTENSION_DEP(smtpsock, standard)
  PHP_ADD_EXTENSION_DEP(smtpsock, spl)
fi
