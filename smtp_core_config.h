/* Maps smtp_core's allocator to the Zend memory manager, so that the core's
 * allocations are request-bound and leak-checked by debug builds (the way
 * ext/date maps timelib's allocator). Included by smtp_core.h when
 * SMTP_HAVE_CONFIG_H is defined. */
#ifndef SMTP_CORE_CONFIG_H
#define SMTP_CORE_CONFIG_H

#include "zend.h"

#define smtp_malloc(n) emalloc(n)
#define smtp_realloc(p, n) erealloc((p), (n))
#define smtp_free(p) do { void *smtp_free_p_ = (p); if (smtp_free_p_) { efree(smtp_free_p_); } } while (0)

#endif
