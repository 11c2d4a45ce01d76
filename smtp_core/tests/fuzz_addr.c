/*
 * libFuzzer target: address lists and header blocks.
 *
 * Both parsers run on the input. Reported pieces must lie inside the input
 * in order, addresses must be non-empty without CR, LF or NUL, field names
 * must be printable; a callback is never called for input that is refused,
 * and a stopping callback stops the walk.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_addr.h"

static void fail(void)
{
	abort();
}

typedef struct {
	const char *base;
	size_t size;
	const char *last_end;
	int calls;
	int stop_at;
} ctx_t;

static int inside(const ctx_t *c, const char *p, size_t n)
{
	return p >= c->base && n <= c->size && (size_t)(p - c->base) <= c->size - n;
}

static int on_addr(void *ud, const char *addr, size_t len)
{
	ctx_t *c = (ctx_t *)ud;

	c->calls++;
	if (len == 0 || !inside(c, addr, len) || addr < c->last_end) {
		fail();
	}
	if (memchr(addr, '\r', len) || memchr(addr, '\n', len) || memchr(addr, '\0', len)) {
		fail();
	}
	if (addr[0] == ' ' || addr[0] == '\t' || addr[len - 1] == ' ' || addr[len - 1] == '\t') {
		fail();
	}
	c->last_end = addr + len;
	return c->calls == c->stop_at ? 77 : 0;
}

static int on_header(void *ud, const char *name, size_t name_len, const char *value, size_t value_len,
                     const char *field, size_t field_len)
{
	ctx_t *c = (ctx_t *)ud;
	size_t i;

	c->calls++;
	if (name_len == 0 || name != field || !inside(c, field, field_len) || field < c->last_end ||
	    name_len >= field_len || field[name_len] != ':' || !inside(c, value, value_len) ||
	    value < field + name_len + 1 || value + value_len != field + field_len) {
		fail();
	}
	for (i = 0; i < name_len; i++) {
		if ((unsigned char)name[i] < 33 || (unsigned char)name[i] > 126) {
			fail();
		}
	}
	if (memchr(field, '\0', field_len) != NULL) {
		fail();
	}
	if (value_len > 0 && (value[0] == ' ' || value[0] == '\t' || value[0] == '\r' || value[0] == '\n')) {
		fail();
	}
	/* every line end inside a field is a fold */
	for (i = 0; i < field_len; i++) {
		if (field[i] == '\r' && (i + 1 >= field_len || field[i + 1] != '\n')) {
			fail();
		}
		if (field[i] == '\n' && (i + 1 >= field_len || (field[i + 1] != ' ' && field[i + 1] != '\t'))) {
			fail();
		}
	}
	c->last_end = field + field_len;
	return c->calls == c->stop_at ? 77 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	ctx_t c;
	int rc, calls;

	/* address list */
	memset(&c, 0, sizeof(c));
	c.base = s;
	c.size = size;
	c.last_end = s;
	rc = smtp_addr_list_parse(s, size, on_addr, &c);
	if (rc != SMTP_OK && rc != SMTP_E_SYNTAX) {
		fail();
	}
	if (rc != SMTP_OK && c.calls != 0) {
		fail();
	}
	if (smtp_addr_list_parse(s, size, NULL, NULL) != rc) {
		fail();
	}
	calls = c.calls;
	{
		/* the one-pass scan: same verdict, same addresses when valid */
		ctx_t d;
		memset(&d, 0, sizeof(d));
		d.base = s;
		d.size = size;
		d.last_end = s;
		if (smtp_addr_list_scan(s, size, on_addr, &d) != rc || (rc == SMTP_OK && d.calls != calls)) {
			fail();
		}
	}
	if (calls > 0) {
		memset(&c, 0, sizeof(c));
		c.base = s;
		c.size = size;
		c.last_end = s;
		c.stop_at = (calls + 1) / 2;
		if (smtp_addr_list_parse(s, size, on_addr, &c) != 77 || c.calls != c.stop_at) {
			fail();
		}
	}

	/* header block */
	memset(&c, 0, sizeof(c));
	c.base = s;
	c.size = size;
	c.last_end = s;
	rc = smtp_headers_parse(s, size, on_header, &c);
	if (rc != SMTP_OK && rc != SMTP_E_SYNTAX) {
		fail();
	}
	if (rc != SMTP_OK && c.calls != 0) {
		fail();
	}
	if (rc == SMTP_OK && size > 0 && c.calls == 0) {
		fail();
	}
	if (smtp_headers_parse(s, size, NULL, NULL) != rc) {
		fail();
	}
	calls = c.calls;
	if (calls > 0) {
		memset(&c, 0, sizeof(c));
		c.base = s;
		c.size = size;
		c.last_end = s;
		c.stop_at = calls;
		if (smtp_headers_parse(s, size, on_header, &c) != 77 || c.calls != calls) {
			fail();
		}
	}
	return 0;
}
