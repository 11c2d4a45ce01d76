/*
 * tap.h: the smallest assertion kit for the smtp_core unit tests.
 *
 * CHECK* macros count a pass or print the failure (file:line and what
 * differed) and count a failure; the test goes on. tap_done() prints the
 * summary line the Makefile adds up ("# <name>: N passed, M failed") and
 * returns the process exit status.
 */
#ifndef SMTP_TAP_H
#define SMTP_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_passed;
static int tap_failed;

static inline void tap_show(const char *p, size_t n)
{
	size_t i;

	if (p == NULL) {
		fputs("(null)", stderr);
		return;
	}
	fputc('"', stderr);
	for (i = 0; i < n && i < 200; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\r') {
			fputs("\\r", stderr);
		} else if (c == '\n') {
			fputs("\\n", stderr);
		} else if (c == '\\' || c == '"') {
			fprintf(stderr, "\\%c", c);
		} else if (c < 32 || c > 126) {
			fprintf(stderr, "\\x%02x", c);
		} else {
			fputc(c, stderr);
		}
	}
	if (n > 200) {
		fprintf(stderr, "...(%lu octets)", (unsigned long)n);
	}
	fputc('"', stderr);
}

static inline int tap_ok(int cond, const char *file, int line, const char *what)
{
	if (cond) {
		tap_passed++;
		return 1;
	}
	tap_failed++;
	fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what);
	return 0;
}

static inline int tap_long(long long a, long long b, const char *file, int line, const char *ea, const char *eb)
{
	if (a == b) {
		tap_passed++;
		return 1;
	}
	tap_failed++;
	fprintf(stderr, "FAIL %s:%d: %s == %s: got %lld, want %lld\n", file, line, ea, eb, a, b);
	return 0;
}

static inline int tap_mem(const char *a, size_t an, const char *b, size_t bn,
                   const char *file, int line, const char *ea)
{
	if (an == bn && (an == 0 || (a != NULL && b != NULL && memcmp(a, b, an) == 0))) {
		tap_passed++;
		return 1;
	}
	tap_failed++;
	fprintf(stderr, "FAIL %s:%d: %s\n  got:  ", file, line, ea);
	tap_show(a, an);
	fputs("\n  want: ", stderr);
	tap_show(b, bn);
	fputc('\n', stderr);
	return 0;
}

#define CHECK(cond) tap_ok((cond) ? 1 : 0, __FILE__, __LINE__, #cond)
#define CHECK_INT(a, b) tap_long((long long)(a), (long long)(b), __FILE__, __LINE__, #a, #b)
#define CHECK_MEM(a, an, b, bn) tap_mem((a), (an), (b), (bn), __FILE__, __LINE__, #a)
#define CHECK_STR(a, b) tap_mem((a), (a) ? strlen(a) : 0, (b), strlen(b), __FILE__, __LINE__, #a)

static inline int tap_done(const char *name)
{
	printf("# %s: %d passed, %d failed\n", name, tap_passed, tap_failed);
	return tap_failed ? 1 : 0;
}

#endif
