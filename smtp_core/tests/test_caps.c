/* Unit tests: smtp_caps. */
#include <stdio.h>
#include <string.h>

#include "smtp_caps.h"
#include "tap.h"
#include "smtp_core_config.h"

/* Parse the EHLO reply in wire form (must be one complete reply) into caps. */
static int parse_ehlo(smtp_caps_t *caps, const char *wire)
{
	smtp_reply_parser_t p;
	size_t used;
	int rc;

	smtp_reply_parser_init(&p);
	rc = smtp_reply_parser_feed(&p, wire, strlen(wire), &used);
	if (!CHECK_INT(rc, 1) || !CHECK_INT(used, strlen(wire))) {
		smtp_reply_parser_free(&p);
		return -100;
	}
	rc = smtp_caps_parse(caps, &p.reply);
	smtp_reply_parser_free(&p);
	return rc;
}

static void check_entry(const smtp_caps_t *caps, size_t i, const char *kw, const char *params, int line)
{
	if (!tap_ok(i < caps->count, __FILE__, line, "entry exists")) {
		return;
	}
	tap_mem(caps->entries[i].keyword, strlen(caps->entries[i].keyword), kw, strlen(kw), __FILE__, line, "keyword");
	tap_mem(caps->entries[i].params, strlen(caps->entries[i].params), params, strlen(params), __FILE__, line, "params");
}
#define ENTRY(caps, i, kw, params) check_entry((caps), (i), (kw), (params), __LINE__)

static void test_postfix(void)
{
	smtp_caps_t caps;

	smtp_caps_init(&caps);
	CHECK_INT(parse_ehlo(&caps,
		"250-mail.example.org\r\n"
		"250-PIPELINING\r\n"
		"250-SIZE 10240000\r\n"
		"250-VRFY\r\n"
		"250-ETRN\r\n"
		"250-STARTTLS\r\n"
		"250-ENHANCEDSTATUSCODES\r\n"
		"250-8BITMIME\r\n"
		"250-DSN\r\n"
		"250-SMTPUTF8\r\n"
		"250 CHUNKING\r\n"), SMTP_OK);
	CHECK_INT(caps.flags, SMTP_CAP_PIPELINING | SMTP_CAP_SIZE | SMTP_CAP_STARTTLS |
	          SMTP_CAP_ENHANCEDSTATUSCODES | SMTP_CAP_8BITMIME | SMTP_CAP_DSN |
	          SMTP_CAP_SMTPUTF8 | SMTP_CAP_CHUNKING);
	CHECK_INT(caps.auth, 0);
	CHECK(caps.size_limit == 10240000ULL);
	CHECK_INT(caps.count, 10);
	ENTRY(&caps, 0, "PIPELINING", "");
	ENTRY(&caps, 1, "SIZE", "10240000");
	ENTRY(&caps, 2, "VRFY", "");
	ENTRY(&caps, 3, "ETRN", "");
	ENTRY(&caps, 4, "STARTTLS", "");
	ENTRY(&caps, 5, "ENHANCEDSTATUSCODES", "");
	ENTRY(&caps, 6, "8BITMIME", "");
	ENTRY(&caps, 7, "DSN", "");
	ENTRY(&caps, 8, "SMTPUTF8", "");
	ENTRY(&caps, 9, "CHUNKING", "");
	CHECK_STR(smtp_caps_get(&caps, "size"), "10240000");
	CHECK_STR(smtp_caps_get(&caps, "Vrfy"), "");
	CHECK(smtp_caps_get(&caps, "AUTH") == NULL);
	CHECK(smtp_caps_get(&caps, "mail.example.org") == NULL);   /* the greeting line is no capability */
	CHECK(smtp_caps_get(&caps, "SIZ") == NULL);
	CHECK(smtp_caps_get(&caps, "SIZEX") == NULL);
	CHECK(smtp_caps_get(&caps, "") == NULL);
	CHECK(smtp_caps_get(&caps, NULL) == NULL);
	CHECK(smtp_caps_get(NULL, "SIZE") == NULL);

	/* parsing again replaces everything */
	CHECK_INT(parse_ehlo(&caps, "250-mx\r\n250 AUTH PLAIN\r\n"), SMTP_OK);
	CHECK_INT(caps.flags, SMTP_CAP_AUTH);
	CHECK_INT(caps.auth, SMTP_AUTH_PLAIN);
	CHECK(caps.size_limit == 0);
	CHECK_INT(caps.count, 1);
	smtp_caps_free(&caps);
	CHECK_INT(caps.count, 0);
	CHECK(caps.entries == NULL);
	smtp_caps_free(&caps);
}

static void test_auth(void)
{
	smtp_caps_t caps;

	smtp_caps_init(&caps);
	/* both forms: mechanisms merged, one AUTH entry */
	CHECK_INT(parse_ehlo(&caps,
		"250-smtp.example.com Hello\r\n"
		"250-AUTH LOGIN PLAIN\r\n"
		"250-AUTH=LOGIN PLAIN CRAM-MD5\r\n"
		"250 HELP\r\n"), SMTP_OK);
	CHECK_INT(caps.flags, SMTP_CAP_AUTH);
	CHECK_INT(caps.auth, SMTP_AUTH_LOGIN | SMTP_AUTH_PLAIN | SMTP_AUTH_CRAM_MD5);
	CHECK_INT(caps.count, 2);
	ENTRY(&caps, 0, "AUTH", "LOGIN PLAIN CRAM-MD5");
	ENTRY(&caps, 1, "HELP", "");

	/* old form first, then the new one */
	CHECK_INT(parse_ehlo(&caps, "250-x\r\n250-AUTH=LOGIN\r\n250 AUTH PLAIN LOGIN\r\n"), SMTP_OK);
	CHECK_INT(caps.auth, SMTP_AUTH_LOGIN | SMTP_AUTH_PLAIN);
	CHECK_INT(caps.count, 1);
	ENTRY(&caps, 0, "AUTH", "LOGIN PLAIN");

	/* only the old form */
	CHECK_INT(parse_ehlo(&caps, "250-x\r\n250 AUTH=LOGIN\r\n"), SMTP_OK);
	CHECK_INT(caps.flags, SMTP_CAP_AUTH);
	CHECK_INT(caps.auth, SMTP_AUTH_LOGIN);
	CHECK_STR(smtp_caps_get(&caps, "auth"), "LOGIN");

	/* lower case keyword and mechanisms; unknown mechanisms ignored; extra spaces */
	CHECK_INT(parse_ehlo(&caps, "250-x\r\n250 auth  gssapi plain  xoauth2 scram-sha-256 NTLM scram-sha-1\r\n"), SMTP_OK);
	CHECK_INT(caps.flags, SMTP_CAP_AUTH);
	CHECK_INT(caps.auth, SMTP_AUTH_PLAIN | SMTP_AUTH_XOAUTH2 | SMTP_AUTH_SCRAM_SHA_256);
	ENTRY(&caps, 0, "AUTH", " gssapi plain  xoauth2 scram-sha-256 NTLM scram-sha-1");

	/* AUTH without mechanisms */
	CHECK_INT(parse_ehlo(&caps, "250-x\r\n250 AUTH\r\n"), SMTP_OK);
	CHECK_INT(caps.flags, SMTP_CAP_AUTH);
	CHECK_INT(caps.auth, 0);
	ENTRY(&caps, 0, "AUTH", "");

	/* '=' only makes sense after AUTH */
	CHECK_INT(parse_ehlo(&caps, "250-x\r\n250 SIZE=1000\r\n"), SMTP_OK);
	CHECK_INT(caps.flags, 0);
	CHECK_INT(caps.count, 0);

	CHECK_INT(smtp_auth_mech_bit("PLAIN", 5), SMTP_AUTH_PLAIN);
	CHECK_INT(smtp_auth_mech_bit("plain", 5), SMTP_AUTH_PLAIN);
	CHECK_INT(smtp_auth_mech_bit("Login", 5), SMTP_AUTH_LOGIN);
	CHECK_INT(smtp_auth_mech_bit("cram-md5", 8), SMTP_AUTH_CRAM_MD5);
	CHECK_INT(smtp_auth_mech_bit("XOAUTH2", 7), SMTP_AUTH_XOAUTH2);
	CHECK_INT(smtp_auth_mech_bit("SCRAM-SHA-256", 13), SMTP_AUTH_SCRAM_SHA_256);
	CHECK_INT(smtp_auth_mech_bit("oauthbearer", 11), SMTP_AUTH_OAUTHBEARER);
	CHECK_INT(smtp_auth_mech_bit("SCRAM-SHA-256-PLUS", 18), 0);
	CHECK_INT(smtp_auth_mech_bit("PLAINX", 5), SMTP_AUTH_PLAIN);   /* length decides */
	CHECK_INT(smtp_auth_mech_bit("PLAIN", 4), 0);
	CHECK_INT(smtp_auth_mech_bit("", 0), 0);
	CHECK_INT(smtp_auth_mech_bit(NULL, 0), 0);
	CHECK_INT(smtp_auth_mech_bit("GSSAPI", 6), 0);
	smtp_caps_free(&caps);
}

static void test_odd(void)
{
	smtp_caps_t caps;

	smtp_caps_init(&caps);
	/* unknown keywords are kept; garbage lines ignored; duplicates keep the first */
	CHECK_INT(parse_ehlo(&caps,
		"250-mx.example.net at your service\r\n"
		"250-X-EXPS GSSAPI NTLM\r\n"
		"250-\r\n"
		"250--BAD\r\n"
		"250-!!!\r\n"
		"250- PIPELINING\r\n"
		"250-SIZE\t100\r\n"
		"250-8bitmime\r\n"
		"250-XFORWARD NAME ADDR\r\n"
		"250-size 2000\r\n"
		"250-SIZE 3000\r\n"
		"250-binarymime\r\n"
		"250-Dsn junk\r\n"
		"250-PIPELINING\r\n"
		"250-STARTTLS\r\n"
		"250-STARTTLS extra\r\n"
		"250 \xc3\xa9T\r\n"), SMTP_OK);
	CHECK_INT(caps.flags, SMTP_CAP_8BITMIME | SMTP_CAP_SIZE | SMTP_CAP_BINARYMIME | SMTP_CAP_DSN |
	          SMTP_CAP_PIPELINING | SMTP_CAP_STARTTLS);
	CHECK(caps.size_limit == 2000);
	CHECK_INT(caps.count, 8);
	ENTRY(&caps, 0, "X-EXPS", "GSSAPI NTLM");
	ENTRY(&caps, 1, "8BITMIME", "");
	ENTRY(&caps, 2, "XFORWARD", "NAME ADDR");
	ENTRY(&caps, 3, "SIZE", "2000");
	ENTRY(&caps, 4, "BINARYMIME", "");
	ENTRY(&caps, 5, "DSN", "junk");
	ENTRY(&caps, 6, "PIPELINING", "");
	ENTRY(&caps, 7, "STARTTLS", "");
	CHECK_INT(caps.auth, 0);

	/* a one-line reply advertises nothing */
	CHECK_INT(parse_ehlo(&caps, "250 mx.example.net\r\n"), SMTP_OK);
	CHECK_INT(caps.flags, 0);
	CHECK_INT(caps.count, 0);
	CHECK(caps.entries == NULL);

	/* an empty reply structure is fine too */
	{
		smtp_reply_t r;

		smtp_reply_init(&r);
		CHECK_INT(smtp_caps_parse(&caps, &r), SMTP_OK);
		CHECK_INT(caps.count, 0);
		CHECK_INT(smtp_caps_parse(&caps, NULL), SMTP_OK);
	}
	/* regression (fuzz_caps): a reply not made by the parser may carry a NUL;
	 * such a line is ignored rather than stored with its params cut short */
	{
		static char text[] = "250-x\n250-AUTH=PL\0 LOGIN\n250-SIZE 5\0\n250 DSN";
		smtp_span_t spans[4] = { { 4, 1 }, { 10, 14 }, { 29, 7 }, { 41, 3 } };
		smtp_reply_t r;

		smtp_reply_init(&r);
		r.code = 250;
		r.text = text;
		r.text_len = sizeof(text) - 1;
		r.lines = spans;
		r.nlines = 4;
		CHECK_INT(smtp_caps_parse(&caps, &r), SMTP_OK);
		CHECK_INT(caps.flags, SMTP_CAP_DSN);
		CHECK_INT(caps.auth, 0);
		CHECK(caps.size_limit == 0);
		CHECK_INT(caps.count, 1);
		ENTRY(&caps, 0, "DSN", "");
	}
	smtp_caps_free(&caps);
}

static void size_case(const char *params, unsigned long long want, int line)
{
	smtp_caps_t caps;
	char wire[200];

	snprintf(wire, sizeof(wire), "250-x\r\n250 SIZE%s\r\n", params);
	smtp_caps_init(&caps);
	parse_ehlo(&caps, wire);
	tap_ok(caps.size_limit == want, __FILE__, line, params);
	tap_ok((caps.flags & SMTP_CAP_SIZE) != 0, __FILE__, line, "SIZE flag");
	smtp_caps_free(&caps);
}

static void test_size(void)
{
	size_case(" 10240000", 10240000ULL, __LINE__);
	size_case("", 0, __LINE__);
	size_case(" ", 0, __LINE__);
	size_case(" 0", 0, __LINE__);
	size_case(" abc", 0, __LINE__);
	size_case(" 12abc", 0, __LINE__);
	size_case(" -5", 0, __LINE__);
	size_case(" 1 2", 0, __LINE__);
	size_case("  52428800 ", 52428800ULL, __LINE__);
	size_case(" 18446744073709551615", 18446744073709551615ULL, __LINE__);
	size_case(" 18446744073709551616", 0, __LINE__);
	size_case(" 99999999999999999999999999", 0, __LINE__);
	size_case(" 000000000000000000000000000042", 42, __LINE__);
}

static void test_many(void)
{
	/* many keywords: the entry array grows */
	char wire[40000];
	size_t n = 0, i;
	smtp_caps_t caps;

	n += (size_t)snprintf(wire + n, sizeof(wire) - n, "250-x\r\n");
	for (i = 0; i < 900; i++) {
		n += (size_t)snprintf(wire + n, sizeof(wire) - n, "250-X%lu p%lu\r\n", (unsigned long)i, (unsigned long)i);
	}
	snprintf(wire + n, sizeof(wire) - n, "250 LAST\r\n");
	smtp_caps_init(&caps);
	CHECK_INT(parse_ehlo(&caps, wire), SMTP_OK);
	CHECK_INT(caps.count, 901);
	CHECK_STR(smtp_caps_get(&caps, "x899"), "p899");
	CHECK_STR(smtp_caps_get(&caps, "LAST"), "");
	smtp_caps_free(&caps);
}

static void test_nomem(void)
{
	const char *wire = "250-mx\r\n250-SIZE 100\r\n250-AUTH PLAIN\r\n250-AUTH=LOGIN\r\n250 PIPELINING\r\n";
	smtp_reply_parser_t p;
	smtp_caps_t caps;
	size_t used;
	long budget;
	int done = 0;

	smtp_reply_parser_init(&p);
	CHECK_INT(smtp_reply_parser_feed(&p, wire, strlen(wire), &used), 1);
	smtp_caps_init(&caps);
	for (budget = 0; budget < 40 && !done; budget++) {
		int rc;

		smtp_test_alloc_budget = budget;
		rc = smtp_caps_parse(&caps, &p.reply);
		smtp_test_alloc_budget = -1;
		if (rc == SMTP_OK) {
			done = 1;
			CHECK_INT(caps.count, 3);
			CHECK_INT(caps.auth, SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN);
			CHECK_STR(smtp_caps_get(&caps, "AUTH"), "PLAIN LOGIN");
		} else {
			/* caps empty after a failure */
			CHECK_INT(rc, SMTP_E_NOMEM);
			CHECK(caps.count == 0 && caps.flags == 0 && caps.auth == 0 && caps.size_limit == 0 &&
			      caps.entries == NULL);
		}
	}
	CHECK(done);
	smtp_caps_free(&caps);
	smtp_reply_parser_free(&p);
}

int main(void)
{
	test_postfix();
	test_auth();
	test_odd();
	test_size();
	test_many();
	test_nomem();
	return tap_done("test_caps");
}
