/* Unit tests: smtp_buf. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_buf.h"
#include "tap.h"
#include "smtp_core_config.h"

static void test_empty(void)
{
	smtp_buf_t b;

	smtp_buf_init(&b);
	CHECK(b.data == NULL);
	CHECK_INT(smtp_buf_size(&b), 0);
	CHECK_INT(smtp_buf_append(&b, NULL, 0), SMTP_OK);
	CHECK(b.data == NULL);
	CHECK_INT(smtp_buf_reserve(&b, 0), SMTP_OK);
	smtp_buf_consume(&b, 0);
	smtp_buf_reset(&b);
	smtp_buf_free(&b);
	CHECK(b.data == NULL);
	smtp_buf_free(&b);   /* twice is harmless */
	CHECK_INT(b.cap, 0);
}

static void test_append_consume(void)
{
	smtp_buf_t b;

	smtp_buf_init(&b);
	CHECK_INT(smtp_buf_appends(&b, "hello "), SMTP_OK);
	CHECK_INT(smtp_buf_append(&b, "world!", 5), SMTP_OK);
	CHECK_INT(smtp_buf_size(&b), 11);
	CHECK_MEM(b.data + b.off, smtp_buf_size(&b), "hello world", 11);
	CHECK(b.cap >= b.len);

	smtp_buf_consume(&b, 6);
	CHECK_INT(smtp_buf_size(&b), 5);
	CHECK_INT(b.off, 6);
	CHECK_MEM(b.data + b.off, smtp_buf_size(&b), "world", 5);

	smtp_buf_consume(&b, 5);
	CHECK_INT(smtp_buf_size(&b), 0);
	CHECK_INT(b.off, 0);   /* offsets reset when empty */
	CHECK_INT(b.len, 0);
	CHECK(b.data != NULL); /* storage kept */

	CHECK_INT(smtp_buf_appends(&b, "abc"), SMTP_OK);
	smtp_buf_reset(&b);
	CHECK_INT(smtp_buf_size(&b), 0);
	CHECK(b.data != NULL);
	smtp_buf_free(&b);
	CHECK(b.data == NULL);
	CHECK_INT(b.len, 0);
}

static void test_growth(void)
{
	smtp_buf_t b;
	size_t i, reallocs = 0, cap = 0;
	char chunk[37];
	int ok = 1;

	memset(chunk, 'x', sizeof(chunk));
	smtp_buf_init(&b);
	for (i = 0; i < 100000; i++) {
		chunk[0] = (char)('a' + i % 26);
		if (smtp_buf_append(&b, chunk, sizeof(chunk)) != SMTP_OK) {
			ok = 0;
			break;
		}
		if (b.cap != cap) {
			reallocs++;
			cap = b.cap;
		}
	}
	CHECK(ok);
	CHECK_INT(smtp_buf_size(&b), 100000 * sizeof(chunk));
	/* geometric: about log2(3.7 MB / 64) growths */
	CHECK(reallocs < 30);
	ok = 1;
	for (i = 0; i < 100000; i++) {
		if (b.data[i * sizeof(chunk)] != (char)('a' + i % 26)) {
			ok = 0;
		}
	}
	CHECK(ok);
	smtp_buf_free(&b);
}

static void test_reserve_compacts(void)
{
	smtp_buf_t b;
	char *before;
	size_t cap;
	static char big[4096];

	memset(big, 'q', sizeof(big));
	smtp_buf_init(&b);
	CHECK_INT(smtp_buf_reserve(&b, 100), SMTP_OK);
	cap = b.cap;
	CHECK(cap >= 100 && cap <= sizeof(big));
	/* Fill to the brim, consume most, then ask for what fits only after compaction. */
	CHECK_INT(smtp_buf_append(&b, big, cap - 10), SMTP_OK);
	CHECK_INT(smtp_buf_append(&b, "0123456789", 10), SMTP_OK);
	CHECK_INT(b.len, cap);
	smtp_buf_consume(&b, cap - 10);
	before = b.data;
	CHECK_INT(smtp_buf_reserve(&b, cap - 20), SMTP_OK);
	CHECK(b.data == before);   /* no new storage */
	CHECK_INT(b.cap, cap);
	CHECK_INT(b.off, 0);
	CHECK_MEM(b.data, smtp_buf_size(&b), "0123456789", 10);

	/* More than fits even compacted: grows, keeps the live bytes. */
	smtp_buf_consume(&b, 4);
	CHECK_INT(smtp_buf_reserve(&b, cap), SMTP_OK);
	CHECK(b.cap >= cap + 6);
	CHECK_INT(b.cap - b.len >= cap, 1);
	CHECK_MEM(b.data + b.off, smtp_buf_size(&b), "456789", 6);

	/* Enough room at the end already: nothing moves. */
	before = b.data;
	smtp_buf_consume(&b, 1);
	CHECK_INT(smtp_buf_reserve(&b, 1), SMTP_OK);
	CHECK(b.data == before);
	CHECK_INT(b.off, 1);
	smtp_buf_free(&b);
}

static void test_overflow(void)
{
	smtp_buf_t b;

	smtp_buf_init(&b);
	CHECK_INT(smtp_buf_appends(&b, "abc"), SMTP_OK);
	CHECK_INT(smtp_buf_reserve(&b, SIZE_MAX), SMTP_E_NOMEM);
	CHECK_INT(smtp_buf_reserve(&b, SIZE_MAX - 2), SMTP_E_NOMEM);
	CHECK_MEM(b.data + b.off, smtp_buf_size(&b), "abc", 3);   /* untouched */
	CHECK_INT(smtp_buf_append(&b, "d", 1), SMTP_OK);
	CHECK_MEM(b.data + b.off, smtp_buf_size(&b), "abcd", 4);
	smtp_buf_free(&b);
}

static void test_nomem(void)
{
	smtp_buf_t b;
	char chunk[1000];

	memset(chunk, 'z', sizeof(chunk));
	smtp_buf_init(&b);
	smtp_test_alloc_budget = 0;
	CHECK_INT(smtp_buf_append(&b, "abc", 3), SMTP_E_NOMEM);
	CHECK(b.data == NULL);
	CHECK_INT(smtp_buf_size(&b), 0);
	smtp_test_alloc_budget = 1;
	CHECK_INT(smtp_buf_append(&b, "abc", 3), SMTP_OK);
	CHECK_INT(smtp_buf_append(&b, chunk, sizeof(chunk)), SMTP_E_NOMEM);
	CHECK_MEM(b.data + b.off, smtp_buf_size(&b), "abc", 3);   /* unchanged on failure */
	smtp_test_alloc_budget = -1;
	CHECK_INT(smtp_buf_append(&b, chunk, sizeof(chunk)), SMTP_OK);
	CHECK_INT(smtp_buf_size(&b), 1003);
	smtp_buf_free(&b);
}

int main(void)
{
	test_empty();
	test_append_consume();
	test_growth();
	test_reserve_compacts();
	test_overflow();
	test_nomem();
	return tap_done("test_buf");
}
