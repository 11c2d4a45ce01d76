/* Unit tests: smtp_addr (address lists and header blocks). */
#include <stdio.h>
#include <string.h>

#include "smtp_addr.h"
#include "tap.h"
#include "smtp_core_config.h"

typedef struct {
	char out[4096];
	size_t len;
	int calls;
	int stop_at;   /* return 7 on this call (1-based); 0: never */
} collect_t;

static void put(collect_t *c, const char *p, size_t n)
{
	if (c->len + n < sizeof(c->out)) {
		memcpy(c->out + c->len, p, n);
		c->len += n;
	}
	c->out[c->len] = '\0';
}

static int on_addr(void *ud, const char *addr, size_t len)
{
	collect_t *c = (collect_t *)ud;

	c->calls++;
	if (c->len > 0) {
		put(c, "|", 1);
	}
	put(c, addr, len);
	return c->calls == c->stop_at ? 7 : 0;
}

static void addr_case(const char *s, size_t len, int want_rc, const char *want, int line)
{
	collect_t c;
	int rc;

	memset(&c, 0, sizeof(c));
	rc = smtp_addr_list_parse(s, len, on_addr, &c);
	tap_long(rc, want_rc, __FILE__, line, "smtp_addr_list_parse", "want_rc");
	tap_mem(c.out, c.len, want, strlen(want), __FILE__, line, "addresses");
	/* without a callback: same verdict */
	tap_long(smtp_addr_list_parse(s, len, NULL, NULL), want_rc, __FILE__, line, "no callback", "want_rc");
	/* one pass: same verdict, and on success the same addresses */
	memset(&c, 0, sizeof(c));
	rc = smtp_addr_list_scan(s, len, on_addr, &c);
	tap_long(rc, want_rc, __FILE__, line, "smtp_addr_list_scan", "want_rc");
	if (want_rc == SMTP_OK) {
		tap_mem(c.out, c.len, want, strlen(want), __FILE__, line, "addresses (scan)");
	}
}

#define A(s, want) addr_case((s), sizeof(s) - 1, SMTP_OK, (want), __LINE__)
#define AE(s) addr_case((s), sizeof(s) - 1, SMTP_E_SYNTAX, "", __LINE__)

static void test_addr_ok(void)
{
	A("", "");
	A("   ", "");
	A("a@b", "a@b");
	A("ann@example.org, bob@example.org", "ann@example.org|bob@example.org");
	A("\"Ann Lee\" <ann@example.org>, bob@example.org", "ann@example.org|bob@example.org");
	A("\"Lee, Ann\" <ann@example.org>, \"Doe; John\" <john@example.org>",
	  "ann@example.org|john@example.org");
	A("Ann Lee <ann@example.org>", "ann@example.org");
	A("Ann B. Lee <ann@example.org>", "ann@example.org");   /* obs-phrase */
	A("<ann@example.org>", "ann@example.org");
	A("  < ann@example.org >  ", "ann@example.org");
	A("<(c)ann@example.org(c)>", "ann@example.org");
	A("ann@example.org (Ann Lee)", "ann@example.org");
	A("(Ann (the \\) boss) Lee) ann@example.org", "ann@example.org");
	A("Ann (x) <ann@example.org> (y), (z) bob@x", "ann@example.org|bob@x");
	A("\"Ann \\\"The\\\" Lee\" <ann@example.org>", "ann@example.org");
	A("\"a b\"@example.org", "\"a b\"@example.org");   /* quoted local part as written */
	A("\"a\\\"b\"@x, <\"c,d\"@y>", "\"a\\\"b\"@x|\"c,d\"@y");
	A("ann@[192.0.2.1]", "ann@[192.0.2.1]");
	A("Ann <ann@[IPv6:2001:db8::1]>", "ann@[IPv6:2001:db8::1]");
	A("first.last+tag@sub.example.org", "first.last+tag@sub.example.org");
	A("!#$%&'*+-/=?^_`{|}~@x", "!#$%&'*+-/=?^_`{|}~@x");
	A("\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a",
	  "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a");
	A("root", "root");
	/* empty elements */
	A(",", "");
	A(", , a@b ,, c@d,", "a@b|c@d");
	/* groups */
	A("Friends: a@b, C <c@d>;, e@f", "a@b|c@d|e@f");
	A("undisclosed-recipients:;", "");
	A("undisclosed-recipients: ;", "");
	A("\"My Group\": a@b ; , x@y", "a@b|x@y");
	A("G: a@b, , c@d;", "a@b|c@d");
	A("G:a@b;,H:c@d;", "a@b|c@d");
	A("G: a@b (c);  (end)", "a@b");
	/* obsolete route */
	A("<@relay.example,@other.example:ann@example.org>", "ann@example.org");
	A("Ann <@relay.example: ann@example.org>", "ann@example.org");
	/* folding is white space */
	A("Ann <ann@example.org>,\r\n Bob <bob@example.org>", "ann@example.org|bob@example.org");
	A("a@b,\n\tc@d", "a@b|c@d");
	A("\"Ann\r\n Lee\" <a@b>", "a@b");
	A("(multi\r\n line) a@b", "a@b");
	A("Ann\r\n <a@b>", "a@b");
}

static void test_addr_errors(void)
{
	AE("\"unterminated <a@b>");
	AE("<a@b");
	AE("a@b>");
	AE("<a@b> <c@d>");
	AE("<a@b> x");
	AE("(unbalanced a@b");
	AE("((a) a@b");
	AE("a@b)");
	AE("<>");
	AE("Ann <>");
	AE("< >");
	AE("Ann Lee");           /* white space inside a bare address */
	AE("ann @example.org");
	AE("ann@ example.org");
	AE("a@b c@d");
	AE("a(x)@b");
	AE("<a b@c>");
	AE("<a@b c>");
	AE("a@b\r\nc@d");        /* line end without folding */
	AE("a@b\nc@d");
	AE("a@b\r\n");
	AE("a@b\n");
	AE("a@b\r");
	AE("a@b\r c@d");
	AE("a\0@b");
	AE("a@b\0");
	AE("\"a\0\"@b");
	AE("a@b\x01");
	AE("a@b;");              /* ';' outside a group */
	AE("G: a@b");            /* group not closed */
	AE("G: H: a@b;;");       /* nested group */
	AE(":a@b;");             /* group without a name */
	AE("G: a@b; c@d");
	AE("\"a\r\n b\"@x");     /* an address may not carry a line end */
	AE("a@[1.2[3]");
	AE("a@[1.2");
	AE("\\a@b");
	AE("a@b]");
	AE("<@route a@b>");
	AE("<@route>");
	AE("\"x\\");
	AE("a@b, (bad");
}

static void test_addr_callback(void)
{
	collect_t c;
	const char *s = "a@b, c@d, e@f";

	memset(&c, 0, sizeof(c));
	c.stop_at = 2;
	CHECK_INT(smtp_addr_list_parse(s, strlen(s), on_addr, &c), 7);
	CHECK_INT(c.calls, 2);
	CHECK_STR(c.out, "a@b|c@d");

	/* nothing is reported for a list that turns out to be malformed */
	memset(&c, 0, sizeof(c));
	s = "a@b, c@d, <e@f";
	CHECK_INT(smtp_addr_list_parse(s, strlen(s), on_addr, &c), SMTP_E_SYNTAX);
	CHECK_INT(c.calls, 0);

	/* length honoured: no reading past len */
	memset(&c, 0, sizeof(c));
	s = "a@b, c@dXXXX";
	CHECK_INT(smtp_addr_list_parse(s, 8, on_addr, &c), SMTP_OK);
	CHECK_STR(c.out, "a@b|c@d");
	CHECK_INT(smtp_addr_list_parse(NULL, 0, on_addr, &c), SMTP_OK);
}

static int on_header(void *ud, const char *name, size_t name_len, const char *value, size_t value_len,
                     const char *field, size_t field_len)
{
	collect_t *c = (collect_t *)ud;

	c->calls++;
	put(c, name, name_len);
	put(c, "=[", 2);
	put(c, value, value_len);
	put(c, "]{", 2);
	put(c, field, field_len);
	put(c, "}\n", 2);
	return c->calls == c->stop_at ? 7 : 0;
}

static void hdr_case(const char *s, size_t len, int want_rc, const char *want, int line)
{
	collect_t c;
	int rc;

	memset(&c, 0, sizeof(c));
	rc = smtp_headers_parse(s, len, on_header, &c);
	tap_long(rc, want_rc, __FILE__, line, "smtp_headers_parse", "want_rc");
	tap_mem(c.out, c.len, want, strlen(want), __FILE__, line, "fields");
	tap_long(smtp_headers_parse(s, len, NULL, NULL), want_rc, __FILE__, line, "no callback", "want_rc");
}

#define H(s, want) hdr_case((s), sizeof(s) - 1, SMTP_OK, (want), __LINE__)
#define HE(s) hdr_case((s), sizeof(s) - 1, SMTP_E_SYNTAX, "", __LINE__)

static void test_headers(void)
{
	H("", "");
	H("From: a@b", "From=[a@b]{From: a@b}\n");
	H("From: a@b\r\nTo: c@d", "From=[a@b]{From: a@b}\nTo=[c@d]{To: c@d}\n");
	H("From: a@b\r\nTo: c@d\r\n", "From=[a@b]{From: a@b}\nTo=[c@d]{To: c@d}\n");
	H("From: a@b\nTo: c@d\n", "From=[a@b]{From: a@b}\nTo=[c@d]{To: c@d}\n");
	H("A: 1\r\nB: 2\nC: 3", "A=[1]{A: 1}\nB=[2]{B: 2}\nC=[3]{C: 3}\n");
	/* folding kept as given */
	H("Subject: a\r\n b\r\n\tc\r\nX: y",
	  "Subject=[a\r\n b\r\n\tc]{Subject: a\r\n b\r\n\tc}\nX=[y]{X: y}\n");
	H("To: a@b,\n c@d\n", "To=[a@b,\n c@d]{To: a@b,\n c@d}\n");
	/* leading white space skipped, trailing kept */
	H("X:   v  ", "X=[v  ]{X:   v  }\n");
	H("X:\tv", "X=[v]{X:\tv}\n");
	H("X:v", "X=[v]{X:v}\n");
	H("X:", "X=[]{X:}\n");
	H("X:   ", "X=[]{X:   }\n");
	H("X:\r\n v", "X=[v]{X:\r\n v}\n");
	H("X: \r\n \r\n v", "X=[v]{X: \r\n \r\n v}\n");
	H("X-Weird!#$%: a:b: c", "X-Weird!#$%=[a:b: c]{X-Weird!#$%: a:b: c}\n");
	H("X: caf\xc3\xa9", "X=[caf\xc3\xa9]{X: caf\xc3\xa9}\n");

	HE("\r\n");
	HE("\n");
	HE("\r\nA: b");
	HE("A: b\r\n\r\n");
	HE("A: b\n\nC: d");
	HE(" A: b");              /* continuation first */
	HE("\tA: b");
	HE("A b");                /* no colon */
	HE("A: b\r\nc d");
	HE("A b: c");             /* octet outside 33..126 in the name */
	HE("A\x80: b");
	HE("A\x7f: b");
	HE(": v");                /* empty name */
	HE("A: b\rc");            /* bare CR */
	HE("A: b\r");
	HE("A: b\r\r\n");
	HE("A: b\0");             /* NUL */
	HE("A\0: b");
	HE("A: b\r\n \0");
}

static void test_headers_callback(void)
{
	collect_t c;
	const char *s = "A: 1\r\nB: 2\r\nC: 3\r\n";

	memset(&c, 0, sizeof(c));
	c.stop_at = 2;
	CHECK_INT(smtp_headers_parse(s, strlen(s), on_header, &c), 7);
	CHECK_INT(c.calls, 2);

	memset(&c, 0, sizeof(c));
	s = "A: 1\r\nB: 2\r\nbad";
	CHECK_INT(smtp_headers_parse(s, strlen(s), on_header, &c), SMTP_E_SYNTAX);
	CHECK_INT(c.calls, 0);

	memset(&c, 0, sizeof(c));
	CHECK_INT(smtp_headers_parse(s, 10, on_header, &c), SMTP_OK);   /* "A: 1\r\nB: 2" */
	CHECK_STR(c.out, "A=[1]{A: 1}\nB=[2]{B: 2}\n");
	CHECK_INT(smtp_headers_parse(NULL, 0, on_header, &c), SMTP_OK);
}

static void test_intl(void)
{
	CHECK_INT(smtp_utf8_valid("", 0), 1);
	CHECK_INT(smtp_utf8_valid("abc", 3), 1);
	CHECK_INT(smtp_utf8_valid("\xc3\xa9", 2), 1);
	CHECK_INT(smtp_utf8_valid("\xe2\x82\xac", 3), 1);
	CHECK_INT(smtp_utf8_valid("\xf0\x9f\x98\x80", 4), 1);
	CHECK_INT(smtp_utf8_valid("\xc3", 1), 0);            /* truncated */
	CHECK_INT(smtp_utf8_valid("\xc3\x28", 2), 0);        /* bad continuation */
	CHECK_INT(smtp_utf8_valid("\xa9", 1), 0);            /* lone continuation */
	CHECK_INT(smtp_utf8_valid("\xc0\xaf", 2), 0);        /* overlong */
	CHECK_INT(smtp_utf8_valid("\xe0\x80\xaf", 3), 0);    /* overlong */
	CHECK_INT(smtp_utf8_valid("\xed\xa0\x80", 3), 0);    /* surrogate */
	CHECK_INT(smtp_utf8_valid("\xf4\x90\x80\x80", 4), 0); /* above U+10FFFF */
	CHECK_INT(smtp_utf8_valid("\xff", 1), 0);

	CHECK_INT(smtp_addr_classify("a@b.example", 11), SMTP_ADDR_ASCII);
	CHECK_INT(smtp_addr_classify("", 0), SMTP_ADDR_ASCII);
	CHECK_INT(smtp_addr_classify("a@b\xc3\xbc.example", 14), SMTP_ADDR_INTL_DOMAIN);
	CHECK_INT(smtp_addr_classify("\xc3\xbc@b.example", 12), SMTP_ADDR_INTL_LOCAL);
	CHECK_INT(smtp_addr_classify("\xc3\xbc@b\xc3\xbc", 6), SMTP_ADDR_INTL_LOCAL);
	CHECK_INT(smtp_addr_classify("\"x@\xc3\xbc\"@b", 8), SMTP_ADDR_INTL_LOCAL);  /* last '@' */
	CHECK_INT(smtp_addr_classify("\xc3\xbc", 2), SMTP_ADDR_INTL_LOCAL);           /* no domain */
	CHECK_INT(smtp_addr_classify("a@b\xc3", 4), SMTP_ADDR_BAD_UTF8);
	CHECK_INT(smtp_addr_domain_offset("a@b@c", 5), 4);
	CHECK_INT(smtp_addr_domain_offset("abc", 3), 3);

	CHECK_INT(smtp_addr_route_for(SMTP_ADDR_ASCII, 0, 0), SMTP_ADDR_AS_IS);
	CHECK_INT(smtp_addr_route_for(SMTP_ADDR_INTL_DOMAIN, 1, 0), SMTP_ADDR_WITH_SMTPUTF8);
	CHECK_INT(smtp_addr_route_for(SMTP_ADDR_INTL_DOMAIN, 0, 1), SMTP_ADDR_TO_ALABELS);
	CHECK_INT(smtp_addr_route_for(SMTP_ADDR_INTL_DOMAIN, 0, 0), SMTP_ADDR_UNSENDABLE);
	CHECK_INT(smtp_addr_route_for(SMTP_ADDR_INTL_LOCAL, 1, 0), SMTP_ADDR_WITH_SMTPUTF8);
	CHECK_INT(smtp_addr_route_for(SMTP_ADDR_INTL_LOCAL, 0, 1), SMTP_ADDR_UNSENDABLE);
	CHECK_INT(smtp_addr_route_for(SMTP_ADDR_BAD_UTF8, 1, 1), SMTP_ADDR_UNSENDABLE);
}

/* The ASCII runs are skipped eight octets at a time: a multi-octet or a
 * bad sequence at every position of a longer address, and an 8-bit octet
 * at every position for classify(), from every alignment. */
static void test_intl_positions(void)
{
	char buf[64];
	size_t len, pos, align;
	int bad = 0;

	for (align = 0; align < 8; align++) {
		for (len = 2; len + align <= 40; len++) {
			for (pos = 0; pos + 2 <= len; pos++) {
				char *s = buf + align;
				memset(buf, 'a', sizeof(buf));
				s[pos] = (char)0xc3;
				s[pos + 1] = (char)0xa9;                          /* valid: e acute */
				bad += smtp_utf8_valid(s, len) != 1;
				bad += smtp_addr_classify(s, len) != SMTP_ADDR_INTL_LOCAL;
				s[pos + 1] = 'a';                                  /* 0xc3 then ASCII */
				bad += smtp_utf8_valid(s, len) != 0;
				bad += smtp_addr_classify(s, len) != SMTP_ADDR_BAD_UTF8;
				s[pos] = 'a';
				bad += smtp_utf8_valid(s, len) != 1;
				bad += smtp_addr_classify(s, len) != SMTP_ADDR_ASCII;
			}
			/* a truncated sequence as the very last octet */
			memset(buf, 'a', sizeof(buf));
			buf[align + len - 1] = (char)0xe2;
			bad += smtp_utf8_valid(buf + align, len) != 0;
			/* just past the end: not part of it */
			buf[align + len - 1] = 'a';
			buf[align + len] = (char)0xff;
			bad += smtp_utf8_valid(buf + align, len) != 1;
			bad += smtp_addr_classify(buf + align, len) != SMTP_ADDR_ASCII;
		}
	}
	CHECK_INT(bad, 0);
}

int main(void)
{
	test_intl_positions();
	test_intl();
	test_addr_ok();
	test_addr_errors();
	test_addr_callback();
	test_headers();
	test_headers_callback();
	return tap_done("test_addr");
}
