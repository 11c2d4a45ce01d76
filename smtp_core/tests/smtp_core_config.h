/*
 * The unit tests' allocator mapping (compiled with -DSMTP_HAVE_CONFIG_H):
 * every smtp_malloc/smtp_realloc of the core can be made to fail, so that
 * the SMTP_E_NOMEM paths run under the sanitizers too.
 */
#ifndef SMTP_TEST_CORE_CONFIG_H
#define SMTP_TEST_CORE_CONFIG_H

#include <stddef.h>

/* Allocations still allowed to succeed; negative (the default): no limit. */
extern long smtp_test_alloc_budget;
/* Allocations that were refused since the program started. */
extern long smtp_test_alloc_refused;

void *smtp_test_malloc(size_t n);
void *smtp_test_realloc(void *p, size_t n);
void smtp_test_free(void *p);

#define smtp_malloc(n) smtp_test_malloc(n)
#define smtp_realloc(p, n) smtp_test_realloc((p), (n))
#define smtp_free(p) smtp_test_free(p)

#endif
