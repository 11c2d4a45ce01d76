/* The failing allocator behind smtp_core_config.h (unit tests only). */
#include <stdlib.h>

#include "smtp_core_config.h"

long smtp_test_alloc_budget = -1;
long smtp_test_alloc_refused = 0;

static int smtp_test_refuse(void)
{
	if (smtp_test_alloc_budget < 0) {
		return 0;
	}
	if (smtp_test_alloc_budget == 0) {
		smtp_test_alloc_refused++;
		return 1;
	}
	smtp_test_alloc_budget--;
	return 0;
}

void *smtp_test_malloc(size_t n)
{
	return smtp_test_refuse() ? NULL : malloc(n);
}

void *smtp_test_realloc(void *p, size_t n)
{
	return smtp_test_refuse() ? NULL : realloc(p, n);
}

void smtp_test_free(void *p)
{
	free(p);
}
