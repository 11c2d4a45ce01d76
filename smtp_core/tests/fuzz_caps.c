/*
 * libFuzzer target: EHLO capability parsing.
 *
 * The input becomes a reply twice: through the reply parser (when it is a
 * complete reply) and as raw lines split at '\n' (any octets at all). The
 * capability set must keep its documented shape.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_caps.h"

static void fail(void)
{
	abort();
}

static void check_caps(const smtp_caps_t *caps)
{
	size_t i, j;
	unsigned flags = 0;

	if (caps->count > 0 && caps->entries == NULL) {
		fail();
	}
	for (i = 0; i < caps->count; i++) {
		const char *kw = caps->entries[i].keyword;
		size_t n = strlen(kw);

		if (n == 0 || caps->entries[i].params == NULL || kw[0] == '-') {
			fail();
		}
		for (j = 0; j < n; j++) {
			int c = (unsigned char)kw[j];

			if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) {
				fail();
			}
		}
		for (j = 0; j < i; j++) {
			if (strcmp(caps->entries[j].keyword, kw) == 0) {
				fail();   /* one entry per keyword */
			}
		}
		if (smtp_caps_get(caps, kw) != caps->entries[i].params) {
			fail();
		}
		{
			char lower[64];

			if (n < sizeof(lower)) {
				for (j = 0; j <= n; j++) {
					lower[j] = (char)((kw[j] >= 'A' && kw[j] <= 'Z') ? kw[j] - 'A' + 'a' : kw[j]);
				}
				if (smtp_caps_get(caps, lower) != caps->entries[i].params) {
					fail();
				}
			}
		}
		if (strcmp(kw, "PIPELINING") == 0) flags |= SMTP_CAP_PIPELINING;
		if (strcmp(kw, "CHUNKING") == 0) flags |= SMTP_CAP_CHUNKING;
		if (strcmp(kw, "SIZE") == 0) flags |= SMTP_CAP_SIZE;
		if (strcmp(kw, "STARTTLS") == 0) flags |= SMTP_CAP_STARTTLS;
		if (strcmp(kw, "8BITMIME") == 0) flags |= SMTP_CAP_8BITMIME;
		if (strcmp(kw, "SMTPUTF8") == 0) flags |= SMTP_CAP_SMTPUTF8;
		if (strcmp(kw, "DSN") == 0) flags |= SMTP_CAP_DSN;
		if (strcmp(kw, "ENHANCEDSTATUSCODES") == 0) flags |= SMTP_CAP_ENHANCEDSTATUSCODES;
		if (strcmp(kw, "BINARYMIME") == 0) flags |= SMTP_CAP_BINARYMIME;
		if (strcmp(kw, "AUTH") == 0) flags |= SMTP_CAP_AUTH;
	}
	if (flags != caps->flags) {
		fail();
	}
	if (!(caps->flags & SMTP_CAP_SIZE) && caps->size_limit != 0) {
		fail();
	}
	if (!(caps->flags & SMTP_CAP_AUTH) && caps->auth != 0) {
		fail();
	}
	if (caps->auth & ~(unsigned)(SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN | SMTP_AUTH_CRAM_MD5 |
	                             SMTP_AUTH_XOAUTH2 | SMTP_AUTH_SCRAM_SHA_256 | SMTP_AUTH_OAUTHBEARER)) {
		fail();
	}
	/* every mechanism bit is named in the AUTH parameters */
	if (caps->auth != 0) {
		const char *p = smtp_caps_get(caps, "AUTH");
		unsigned seen = 0;

		while (p != NULL && *p != '\0') {
			size_t n;

			while (*p == ' ') {
				p++;
			}
			n = strcspn(p, " ");
			seen |= smtp_auth_mech_bit(p, n);
			p += n;
		}
		if (seen != caps->auth) {
			fail();
		}
	}
}

static void parse_raw(const uint8_t *data, size_t size)
{
	smtp_reply_t r;
	smtp_span_t spans[512];
	smtp_caps_t caps;
	size_t i, start = 0, n = 0;
	char *text = (char *)malloc(size + 1);

	if (text == NULL) {
		return;
	}
	if (size > 0) {
		memcpy(text, data, size);
	}
	text[size] = '\0';
	for (i = 0; i <= size && n < 512; i++) {
		if (i == size || data[i] == '\n') {
			spans[n].off = start;
			spans[n].len = i - start;
			n++;
			start = i + 1;
		}
	}
	smtp_reply_init(&r);
	r.code = 250;
	r.text = text;
	r.text_len = size;
	r.lines = spans;
	r.nlines = n;
	smtp_caps_init(&caps);
	if (smtp_caps_parse(&caps, &r) != SMTP_OK) {
		fail();
	}
	check_caps(&caps);
	/* parsing again replaces, same result */
	{
		size_t count = caps.count;
		unsigned flags = caps.flags, auth = caps.auth;
		unsigned long long sl = caps.size_limit;

		if (smtp_caps_parse(&caps, &r) != SMTP_OK || caps.count != count || caps.flags != flags ||
		    caps.auth != auth || caps.size_limit != sl) {
			fail();
		}
	}
	smtp_caps_free(&caps);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	smtp_reply_parser_t p;
	size_t used;

	smtp_reply_parser_init(&p);
	if (smtp_reply_parser_feed(&p, (const char *)data, size, &used) == 1) {
		smtp_caps_t caps;

		smtp_caps_init(&caps);
		if (smtp_caps_parse(&caps, &p.reply) != SMTP_OK) {
			fail();
		}
		check_caps(&caps);
		smtp_caps_free(&caps);
	}
	smtp_reply_parser_free(&p);
	parse_raw(data, size);
	return 0;
}
