/*
 * Unit tests: smtp_queueid (the queue id in a final reply).
 *
 * Every recognised wording is tested with a reply as the relay sends it; the
 * comment above each names where that wording comes from (the product's
 * source or documentation, or a published transcript or log). Ids in replies
 * built from a source's format string rather than copied are marked
 * "constructed".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_queueid.h"
#include "tap.h"
#include "smtp_core_config.h"

/* One search; checks the result and the contract (id inside the text, of the
 * id alphabet, not ending in punctuation, on one line). */
static void qid_one(const char *text, size_t len, const char *want, int line, const char *what)
{
	const char *id = text;
	size_t n = 12345, i;
	int rc = smtp_queue_id(text, len, &id, &n);

	if (want == NULL) {
		tap_long(rc, 0, __FILE__, line, what, "0");
		tap_ok(id == NULL && n == 0, __FILE__, line, "no id: NULL, 0");
		return;
	}
	tap_long(rc, 1, __FILE__, line, what, "1");
	tap_mem(id, id != NULL ? n : 0, want, strlen(want), __FILE__, line, what);
	if (id == NULL) {
		return;
	}
	tap_ok(id >= text && n <= len && (size_t)(id - text) <= len - n, __FILE__, line, "id inside the text");
	tap_ok(n >= 1 && n <= SMTP_QUEUE_ID_MAX, __FILE__, line, "id length");
	for (i = 0; i < n; i++) {
		if (!smtp_queue_id_octet((unsigned char)id[i])) {
			break;
		}
	}
	tap_ok(i == n, __FILE__, line, "id alphabet");
	tap_ok(id[n - 1] != '.' && id[n - 1] != '!' && id[n - 1] != '?', __FILE__, line, "no trailing punctuation");
}

/* The text as given, with CRLF line ends, with a final line end, and (for a
 * reply with a code) behind a first line that carries no id: same answer. */
static void qid_case(const char *text, size_t len, const char *want, int line)
{
	char buf[1024];
	size_t i, n = 0;

	qid_one(text, len, want, line, "as given");
	if (len * 2 + 64 > sizeof(buf)) {
		return;
	}
	if (memchr(text, '\r', len) != NULL) {
		return;   /* line ends chosen by the test itself */
	}
	for (i = 0; i < len; i++) {
		if (text[i] == '\n') {
			buf[n++] = '\r';
		}
		buf[n++] = text[i];
	}
	buf[n++] = '\r';
	buf[n++] = '\n';
	qid_one(buf, n, want, line, "CRLF line ends");
	if (len >= 4 && text[0] == '2' && text[3] == ' ') {
		static const char first[] = "250-relay.example.org at your service\n";

		memcpy(buf, first, sizeof(first) - 1);
		memcpy(buf + sizeof(first) - 1, text, len);
		qid_one(buf, sizeof(first) - 1 + len, want, line, "behind a first line");
	}
}

#define QID(text, want) qid_case((text), sizeof(text) - 1, (want), __LINE__)
#define NOID(text) qid_case((text), sizeof(text) - 1, NULL, __LINE__)

static void test_postfix(void)
{
	/* Postfix 3.7.11 (Debian 12), observed here: smtpd's reply after DATA
	 * ("Ok: queued as %s", src/smtpd/smtpd.c) and after BDAT LAST
	 * ("Ok: %ld bytes queued as %s"), short (hexadecimal) queue ids ... */
	QID("250 2.0.0 Ok: queued as B95DDA74071", "B95DDA74071");
	QID("250 2.0.0 Ok: 17 bytes queued as BCBF3A74092", "BCBF3A74092");
	/* ... and with enable_long_queue_ids = yes (postconf(5)) */
	QID("250 2.0.0 Ok: queued as 4jfmzK2qP4z1bcDH", "4jfmzK2qP4z1bcDH");
	QID("250 2.0.0 Ok: 17 bytes queued as 4jfmzK312Tz1bcDJ", "4jfmzK312Tz1bcDJ");
	/* this project's README send() example (Postfix over BDAT) */
	QID("250 2.0.0 Ok: 201 bytes queued as 3A0C2A7250C", "3A0C2A7250C");
	/* Postfix before ENHANCEDSTATUSCODES (2.2 and older): no status code */
	QID("250 Ok: queued as 1F2E3D4C5B", "1F2E3D4C5B");
	/* Postfix behind amavisd-new (after-queue content filter), as logged by
	 * many sites, e.g. "status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025):
	 * 250 2.0.0 Ok: queued as E6806280D72)"; with long ids (mailroute.net log) */
	QID("250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as E6806280D72", "E6806280D72");
	QID("250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 3pJjgB6dpKz1JBPW",
	    "3pJjgB6dpKz1JBPW");
}

static void test_zimbra(void)
{
	/* Zimbra: the Zimbra MTA is Postfix with amavisd-new (Zimbra
	 * Collaboration administrator guide, "Zimbra MTA"), so a Zimbra server
	 * answers with Postfix's words; the id is constructed */
	QID("250 2.0.0 Ok: queued as 0A1B2C3D4E5", "0A1B2C3D4E5");
}

static void test_exim(void)
{
	/* Exim: receive.c answers "250 OK id=%s" with the message id; published
	 * telnet transcripts show e.g. "250 OK id=1UuMnI-0001SM-Pe" and
	 * "250 OK id=1sMrpq-0001Ah-UT" (16 octets: 6-6-2) */
	QID("250 OK id=1UuMnI-0001SM-Pe", "1UuMnI-0001SM-Pe");
	QID("250 OK id=1sMrpq-0001Ah-UT", "1sMrpq-0001Ah-UT");
	/* Exim 4.97 and later: 23-octet ids (6-11-4, ChangeLog 4.97), observed as
	 * "250 OK id=1wLWNN-00000002g1x-0ye6" */
	QID("250 OK id=1wLWNN-00000002g1x-0ye6", "1wLWNN-00000002g1x-0ye6");
	/* relayed by Postfix's smtp client, as logged: "status=sent (250 OK
	 * id=1dtiA9-0000co-1B)" is the same reply */
	QID("250 OK id=1dtiA9-0000co-1B", "1dtiA9-0000co-1B");
	/* lengths other than Exim's are no Exim id */
	NOID("250 OK id=1UuMnI-0001SM-P");
	NOID("250 OK id=1wLWNN-00000002g1x-0ye6X");
	NOID("250 OK id=life-project-e2e");      /* a test server's reply: not Exim's shape */
	NOID("250 OK id=1UuMnI00001SMxPe");
	NOID("250 OK id=1UuMnI-0001SMP-e");
	NOID("250 OK id=1wLWNN-00000002g1x0-ye6");
	/* amavisd-new's own "Ok, id=..." is not Exim's and names no queue */
	NOID("250 2.0.0 Ok, id=12345-01");
}

static void test_sendmail_opensmtpd(void)
{
	/* Sendmail: srvrsmtp.c, message("250 2.0.0 %s Message accepted for
	 * delivery", id); ids like u8KCl7Ro015637 (constructed) */
	QID("250 2.0.0 u8KCl7Ro015637 Message accepted for delivery", "u8KCl7Ro015637");
	QID("250 2.0.0 x1ABCdef012345 Message accepted for delivery", "x1ABCdef012345");
	/* Sendmail 8.9 and older: "250 %s Message accepted for delivery" */
	QID("250 KAA01234 Message accepted for delivery", "KAA01234");
	/* OpenSMTPD: smtp_session.c, "250 %s %08x Message accepted for delivery"
	 * (current), "250 %s: %08x ..." (6.x) and "250 %08x ..." (5.x) */
	QID("250 2.0.0 9f8e7d6c Message accepted for delivery", "9f8e7d6c");
	QID("250 2.0.0: 9f8e7d6c Message accepted for delivery", "9f8e7d6c");
	QID("250 9f8e7d6c Message accepted for delivery", "9f8e7d6c");
	/* the id comes first: a word before it is no id */
	NOID("250 2.0.0 Your 9f8e7d6c Message accepted for delivery");
	NOID("250 2.0.0 Message accepted for delivery");
}

static void test_microsoft(void)
{
	/* Microsoft 365 (Exchange Online Protection), as logged by Postfix:
	 * "status=sent (250 2.6.0 <JIRA...@Atlassian.JIRA> [InternalId=105849469029151,
	 * Hostname=AS8PR07MB7669.eurprd07.prod.outlook.com] 29353 bytes in 0.060,
	 * 472.320 KB/sec Queued mail for delivery)". The id reported is the
	 * InternalId: the number the server gave the message (Exchange's message
	 * tracking log calls it InternalMessageId); the <...> is the message's own
	 * Message-ID header, which the sender already knows. */
	QID("250 2.6.0 <JIRA.938152.1690810170000.3399613.1691573583862@Atlassian.JIRA> "
	    "[InternalId=105849469029151, Hostname=AS8PR07MB7669.eurprd07.prod.outlook.com] 29353 bytes in "
	    "0.060, 472.320 KB/sec Queued mail for delivery",
	    "105849469029151");
	/* the same wording reported by Amazon SES delivering to Microsoft 365 */
	QID("250 2.6.0 <0100017b0e35a8c6-2021949e-71e7-4802-aa95-ae62b696b836-000000@email.amazonses.com> "
	    "[InternalId=95992519094146, Hostname=HE1EUR04HT112.eop-eur04.prod.protection.outlook.com] "
	    "13478 bytes in 0.277, 47.373 KB/sec Queued mail for delivery",
	    "95992519094146");
	/* Exchange 2010, as logged in 2011: InternalId without Hostname */
	QID("250 2.6.0 <20111025103822.7F94E1C0299@ASTNAGIOS> [InternalId=274498] Queued mail for delivery",
	    "274498");
	/* Exchange 2007 and 2010 without InternalId (Microsoft's "Use Telnet to
	 * test SMTP communication": "250 2.6.0 <GUID> Queued mail for
	 * delivery"): the only id given is the Message-ID, reported without its
	 * angle brackets. Observed in a 2013 log: */
	QID("250 2.6.0 <WEB01JswFCHOzyfyz5b000015ac@smtprelay.eqonline.com> Queued mail for delivery",
	    "WEB01JswFCHOzyfyz5b000015ac@smtprelay.eqonline.com");
	/* SendGrid's list of delivery responses quotes it without a status code */
	QID("250 <4798911130a2069f3483fda756b8e81c@www.example.com> Queued mail for delivery",
	    "4798911130a2069f3483fda756b8e81c@www.example.com");
	/* an InternalId that is not a number is none */
	NOID("250 2.6.0 [InternalId=12ab, Hostname=x]");
	NOID("250 2.6.0 [InternalId=, Hostname=x]");
	NOID("250 2.6.0 <> Queued mail for delivery");
	NOID("250 Queued mail for delivery");
}

static void test_ses(void)
{
	/* Amazon SES: "250 Ok <message id>"; docker-mailserver's AWS SES page
	 * shows "status=sent (250 Ok 01000154dc729264-93fdd7ea-f039-43d6-91ed-
	 * 653e8547867c-000000)", a published openssl s_client session ends
	 * "250 Ok 010001870dbae81e-35118332-f389-474c-8b37-69ce1e1934ae-000000" */
	QID("250 Ok 01000154dc729264-93fdd7ea-f039-43d6-91ed-653e8547867c-000000",
	    "01000154dc729264-93fdd7ea-f039-43d6-91ed-653e8547867c-000000");
	QID("250 Ok 010001870dbae81e-35118332-f389-474c-8b37-69ce1e1934ae-000000",
	    "010001870dbae81e-35118332-f389-474c-8b37-69ce1e1934ae-000000");
	/* "Ok" with anything else after it is not SES's id */
	NOID("250 Ok");
	NOID("250 Ok thanks");
	NOID("250 Ok 0100019a1b2c3d4e");
	NOID("250 Ok 01000154dc729264-93fdd7ea-f039-43d6-91ed-653e8547867c-000000 extra");
}

static void test_sendgrid_mailjet_brevo(void)
{
	/* SendGrid: "250 Ok: queued as nhIMmON9SFOPcT0ii4nt2A" (sendgrid/docs
	 * issue #2638); "status=sent (250 Ok: queued as bdT3qimVR7SSpBEKunexIg)"
	 * in a postfix-sendgrid log */
	QID("250 Ok: queued as nhIMmON9SFOPcT0ii4nt2A", "nhIMmON9SFOPcT0ii4nt2A");
	QID("250 Ok: queued as bdT3qimVR7SSpBEKunexIg", "bdT3qimVR7SSpBEKunexIg");
	/* Mailjet (in-v3.mailjet.com), observed: "250 OK queued as
	 * 2b7b9869-0e44-42d4-9246-1039ef6b95ee" (PHPMailer's pattern list has
	 * the same "OK queued as") */
	QID("250 OK queued as 2b7b9869-0e44-42d4-9246-1039ef6b95ee", "2b7b9869-0e44-42d4-9246-1039ef6b95ee");
	/* Brevo (Sendinblue), observed in several transcripts: the id is a
	 * Message-ID in angle brackets, reported without them */
	QID("250 2.0.0 OK: queued as <202508020358.47907466195@smtp-relay.sendinblue.com>",
	    "202508020358.47907466195@smtp-relay.sendinblue.com");
	/* Yandex: "250 2.0.0 Ok: queued on smtp3m.mail.yandex.net as
	 * 1430081058-6ltgNFKSir-iHEKdOrm" (nodemailer issue #422) */
	QID("250 2.0.0 Ok: queued on smtp3m.mail.yandex.net as 1430081058-6ltgNFKSir-iHEKdOrm",
	    "1430081058-6ltgNFKSir-iHEKdOrm");
	/* ZoneMTA: lib/mail-drop.js, "Message queued as " + id (constructed id) */
	QID("250 Message queued as 18b2c3d4e5f0001a2b", "18b2c3d4e5f0001a2b");
}

static void test_mailgun(void)
{
	/* Mailgun: "250 Great success", no id (PHPMailer issue #1253, where the
	 * reported reply is exactly that) */
	NOID("250 Great success");
	NOID("250 2.0.0 Great success");
}

static void test_gmail(void)
{
	/* Gmail and Google Workspace: "250 2.0.0 OK  <time> <id> - gsmtp", as
	 * logged by nodemailer ("250 2.0.0 OK  1653776100
	 * r33-20020a056870582100b000f169cbbb32sm1847208oap.43 - gsmtp") and by
	 * Postfix ("status=sent (250 2.0.0 OK 1388614951 l5si833481qaf.133 -
	 * gsmtp)", one space); the id is the token before " - gsmtp" */
	QID("250 2.0.0 OK  1653776100 r33-20020a056870582100b000f169cbbb32sm1847208oap.43 - gsmtp",
	    "r33-20020a056870582100b000f169cbbb32sm1847208oap.43");
	QID("250 2.0.0 OK 1388614951 l5si833481qaf.133 - gsmtp", "l5si833481qaf.133");
	QID("250 2.0.0 OK  1701234567 a1b2c3d4e5f6.123 - gsmtp", "a1b2c3d4e5f6.123");
	/* trailing white space is fine */
	QID("250 2.0.0 OK  1701234567 a1b2c3d4e5f6.123 - gsmtp  ", "a1b2c3d4e5f6.123");
	/* the same suffix on a reply that is not the acceptance */
	NOID("250 2.1.5 OK ffacd0b85a97d-36d2728ab0fsi1176860f8f.752 - gsmtp");
	NOID("250 2.0.0 OK 1726 - gsmtp");
	NOID("250 2.0.0 OK  1701234567 a1b2c3d4e5f6.123 - gsmtp trailing");
}

static void test_haraka(void)
{
	/* Haraka: connection.js answers 'Message Queued (' + transaction.uuid +
	 * ')', the uuid being the connection's UUID plus ".N" (constructed) */
	QID("250 Message Queued (3F8C1A2B-5D6E-4F70-8192-A3B4C5D6E7F8.1)", "3F8C1A2B-5D6E-4F70-8192-A3B4C5D6E7F8.1");
	QID("250 2.0.0 Message Queued (3F8C1A2B-5D6E-4F70-8192-A3B4C5D6E7F8.12)",
	    "3F8C1A2B-5D6E-4F70-8192-A3B4C5D6E7F8.12");
	NOID("250 Message Queued ()");
	NOID("250 Message Queued (3F8C1A2B-5D6E");
}

static void test_qmail(void)
{
	/* qmail: qmail-smtpd.c acceptmessage(), "250 ok <time> qp <pid>"; some
	 * patched qmail-smtpd add " by <host>". The id is the qp number (the
	 * qmail-queue process id that qmail-send's "info msg N: ... qp <pid>"
	 * log line repeats); the time alone identifies nothing. */
	QID("250 ok 1701234567 qp 12345", "12345");
	QID("250 ok 1701234567 qp 12345 by mail.example.org", "12345");
	NOID("250 ok 1701234567 qp x12345");
	NOID("250 ok 1701234567");
	NOID("250 ok dirdel");   /* quoted in SendGrid's list of delivery responses */
}

static void test_courier(void)
{
	/* Courier: submit2.C, okmsg "250 Ok. " + basemsgid, the submission time
	 * and process id in hexadecimal joined by '.' (constructed values) */
	QID("250 Ok. 000000006575A1B2.0000000000003039", "000000006575A1B2.0000000000003039");
	QID("250 Ok. 6575A1B2.00003039", "6575A1B2.00003039");
	NOID("250 Ok.");
}

static void test_mdaemon(void)
{
	/* MDaemon: "250 Ok, message saved <Message-ID: ...>", echoing the
	 * message's Message-ID (a published MDaemon 7.1.2 transcript shows
	 * "250 Ok, message saved <Message-ID: >" for a message without one);
	 * newer versions add the status code. With a Message-ID (constructed): */
	QID("250 2.6.0 Ok, message saved <Message-ID: 5F3A9C2E.1B4D@mail.example.org>", "5F3A9C2E.1B4D@mail.example.org");
	QID("250 Ok, message saved <Message-ID: <5F3A9C2E.1B4D@mail.example.org>>", "5F3A9C2E.1B4D@mail.example.org");
	NOID("250 Ok, message saved <Message-ID: >");
	/* observed with no id at all */
	NOID("250 2.6.0 Ok, message saved");
}

static void test_campaign_monitor(void)
{
	/* Campaign Monitor: "250 2.0.0 OK:" and 48 letters and digits, the form
	 * PHPMailer's $smtp_transaction_id_patterns lists (no first-hand
	 * transcript found; the id is constructed) */
	QID("250 2.0.0 OK:0123456789abcdefghijABCDEFGHIJ0123456789abcdefgh", "0123456789abcdefghijABCDEFGHIJ0123456789abcdefgh");
	NOID("250 2.0.0 OK:0123456789abcdef");
}

static void test_none(void)
{
	/* replies that accept a message without naming it */
	NOID("250 OK");
	NOID("250 2.0.0 Ok");
	NOID("250 2.0.0 OK");
	NOID("250 Accepted");             /* MailerSend (listmonk issue #2206) */
	NOID("250 Message received");     /* nodemailer issue #373 */
	NOID("250 ok:  Message 256429218 accepted");   /* a relay's reply in a published Postfix log */
	/* QQ Mail, observed: "250 OK: queued as." names nothing */
	NOID("250 OK: queued as.");
	NOID("250 OK: queued as");
	NOID("250 Ok: queued as ");
	NOID("250");
	NOID("250 ");
	NOID("");
	{
		const char *id = "x";
		size_t n = 1;

		CHECK_INT(smtp_queue_id(NULL, 0, &id, &n), 0);
		CHECK(id == NULL && n == 0);
	}
	/* a refusal names no accepted message, whatever its words */
	NOID("550 5.7.1 Ok: queued as B95DDA74071");
	NOID("451 4.3.0 OK id=1UuMnI-0001SM-Pe");
	NOID("554-5.7.1 rejected\n554 5.7.1 Ok: queued as B95DDA74071");
	/* text without a code is searched as it is */
	QID("Ok: queued as B95DDA74071", "B95DDA74071");
	QID("2.0.0 Ok: queued as B95DDA74071", "B95DDA74071");
}

static void test_boundaries(void)
{
	char buf[512];
	char want[200];
	size_t n;

	/* case does not matter in the wording */
	QID("250 2.0.0 OK: QUEUED AS B95DDA74071", "B95DDA74071");
	QID("250 ok ID=1UuMnI-0001SM-Pe", "1UuMnI-0001SM-Pe");
	/* trailing punctuation and brackets are not part of the id */
	QID("250 2.0.0 Ok: queued as B95DDA74071.", "B95DDA74071");
	QID("250 2.0.0 Ok: queued as B95DDA74071!", "B95DDA74071");
	QID("250 2.0.0 Ok: queued as B95DDA74071...", "B95DDA74071");
	QID("250 2.0.0 Ok: queued as <B95DDA74071>", "B95DDA74071");
	QID("250 2.0.0 Ok: queued as B95DDA74071   ", "B95DDA74071");
	QID("250 2.0.0 Ok: queued as\tB95DDA74071", "B95DDA74071");
	/* the id ends the reply: more words after it are another wording */
	NOID("250 2.0.0 Ok: queued as B95DDA74071 (mx2)");
	NOID("250 2.0.0 Ok: queued as B95DDA74071, thanks");
	NOID("250 2.0.0 Ok: queued as B95D\"DA74071");
	/* too short */
	NOID("250 2.0.0 Ok: queued as ABC");
	QID("250 2.0.0 Ok: queued as ABCD", "ABCD");
	/* the shortest text a form takes, at the end of the line and at its start */
	QID("250 queued as ABCD", "ABCD");
	QID("250 ok 1 qp 7", "7");
	NOID("250 ok 1 qp ");
	QID("250 OK 1 ABCD - gsmtp", "ABCD");

	/* SMTP_QUEUE_ID_MAX octets are an id, one more is none */
	memcpy(buf, "250 2.0.0 Ok: queued as ", 24);
	memset(want, 'A', SMTP_QUEUE_ID_MAX);
	want[SMTP_QUEUE_ID_MAX] = '\0';
	memcpy(buf + 24, want, SMTP_QUEUE_ID_MAX);
	n = 24 + SMTP_QUEUE_ID_MAX;
	qid_case(buf, n, want, __LINE__);
	buf[n] = 'A';
	qid_case(buf, n + 1, NULL, __LINE__);
	/* ... also with the extra octet being trailing punctuation? No: '.' is
	 * read as part of the run first, then left out */
	buf[n] = '.';
	qid_case(buf, n + 1, NULL, __LINE__);
	/* a Message-ID of 128 octets in brackets, and 129 */
	memcpy(buf, "250 Ok: queued as <", 19);
	memset(want, 'b', SMTP_QUEUE_ID_MAX);
	want[60] = '@';
	want[SMTP_QUEUE_ID_MAX] = '\0';
	memcpy(buf + 19, want, SMTP_QUEUE_ID_MAX);
	buf[19 + SMTP_QUEUE_ID_MAX] = '>';
	qid_case(buf, 20 + SMTP_QUEUE_ID_MAX, want, __LINE__);
	memcpy(buf + 19, want, SMTP_QUEUE_ID_MAX);
	buf[19 + SMTP_QUEUE_ID_MAX] = 'b';
	buf[20 + SMTP_QUEUE_ID_MAX] = '>';
	qid_case(buf, 21 + SMTP_QUEUE_ID_MAX, NULL, __LINE__);
	/* the InternalId is a number of at most 20 digits */
	QID("250 2.6.0 <a@b> [InternalId=12345678901234567890, Hostname=x] Queued mail for delivery",
	    "12345678901234567890");
	/* with 21 digits the InternalId is none, and the Message-ID form does not
	 * apply to this wording either */
	NOID("250 2.6.0 <a@b> [InternalId=123456789012345678901, Hostname=x] Queued mail for delivery");
	/* white space runs are bounded: at most 16 octets where one is written */
	memcpy(buf, "250 Ok: queued as", 17);
	memset(buf + 17, ' ', 16);
	memcpy(buf + 33, "B95DDA74071", 11);
	qid_case(buf, 44, "B95DDA74071", __LINE__);
	memcpy(buf, "250 Ok: queued as", 17);
	memset(buf + 17, ' ', 17);
	memcpy(buf + 34, "B95DDA74071", 11);
	qid_case(buf, 45, NULL, __LINE__);
	/* trailing white space and punctuation, up to 16 octets */
	QID("250 Ok: queued as B95DDA74071 . ", "B95DDA74071");
	memcpy(buf, "250 Ok: queued as B95DDA74071", 29);
	memset(buf + 29, ' ', 16);
	qid_case(buf, 45, "B95DDA74071", __LINE__);
	memset(buf + 29, ' ', 17);
	qid_case(buf, 46, NULL, __LINE__);
}

static void test_lines(void)
{
	/* every line is looked at; the first line with an id wins */
	QID("250-mx.example.org\n250 2.0.0 Ok: queued as B95DDA74071", "B95DDA74071");
	QID("250-Ok: queued as B95DDA74071\n250 OK id=1UuMnI-0001SM-Pe", "B95DDA74071");
	QID("250-thanks\n250-OK id=1UuMnI-0001SM-Pe\n250 Ok: queued as B95DDA74071", "1UuMnI-0001SM-Pe");
	/* on one line, the earlier wording in the table wins: Postfix's id
	 * behind amavisd-new's own, Microsoft's InternalId before the Message-ID */
	QID("250 2.0.0 Ok, id=12345-01, from MTA([127.0.0.1]:10025): 250 2.0.0 Ok: queued as 9C3F6A0B1D",
	    "9C3F6A0B1D");
	/* a wording split over two lines is none, and no id spans a line end */
	NOID("250-2.0.0 Ok: queued\n250 as B95DDA74071");
	NOID("250-2.0.0 Ok: queued as\n250 B95DDA74071");
	QID("250-Ok: queued as B95D\n250 DA74071", "B95D");
	NOID("250-OK id=1UuMnI-\n250 0001SM-Pe");
	/* an id ends at a CR before LF, not at a bare CR */
	QID("250 Ok: queued as B95DDA74071\r\n", "B95DDA74071");
	NOID("250 Ok: queued as B95DDA74071\r");
	NOID("250 Ok: queued as B95DDA74071\rX");
	/* an empty line in between */
	QID("250-a\n\n250 Ok: queued as B95DDA74071", "B95DDA74071");
}

static void test_hostile(void)
{
	/* NULs and octets outside ASCII are ordinary text to the search */
	static const char nul_before[] = "250 \0 Ok: queued as B95DDA74071";
	static const char nul_in[] = "250 Ok: queued as B95D\0DA74071";
	static const char nul_after[] = "250 Ok: queued as B95DDA74071\0";
	static const char latin[] = "250 Ok: queued as \xc3\x84" "B95DDA74071";
	static const char latin_after[] = "250 Ok: queued as B95DDA74071\xc3\xa4";
	static const char high[] = "250 Ok: queued as B95D\xff" "DA74071";

	qid_case(nul_before, sizeof(nul_before) - 1, "B95DDA74071", __LINE__);
	qid_case(nul_in, sizeof(nul_in) - 1, NULL, __LINE__);
	qid_case(nul_after, sizeof(nul_after) - 1, NULL, __LINE__);
	qid_case(latin, sizeof(latin) - 1, NULL, __LINE__);
	qid_case(latin_after, sizeof(latin_after) - 1, NULL, __LINE__);
	qid_case(high, sizeof(high) - 1, NULL, __LINE__);
	/* keywords as ids */
	QID("250 Ok: queued as queued as queued as B95DDA74071", "B95DDA74071");
	NOID("250 Ok: queued as queued as queued as");
	QID("250 OK id=OK id=1UuMnI-0001SM-Pe", "1UuMnI-0001SM-Pe");
	QID("250 [InternalId=[InternalId=42, Hostname=x]", "42");
}

/* Big hostile texts: the answer is right and the work stays within a
 * constant per octet (the core counts the octets it examines). */
static void hostile_big(const char *unit, size_t ulen, size_t lines, size_t line_len, const char *tail, const char *want,
                        int line)
{
	size_t tlen = tail != NULL ? strlen(tail) : 0;
	size_t cap = lines * (line_len + 5) + tlen + 8, n = 0, l, k;
	char *buf = malloc(cap);
	const char *id = NULL;
	size_t id_len = 0;
	unsigned long before;
	int rc;

	if (!tap_ok(buf != NULL, __FILE__, line, "malloc")) {
		return;
	}
	for (l = 0; l < lines; l++) {
		memcpy(buf + n, l + 1 < lines || tail != NULL ? "250-" : "250 ", 4);
		n += 4;
		for (k = 0; k < line_len; k++) {
			buf[n++] = unit[k % ulen];
		}
		buf[n++] = '\n';
	}
	if (tail != NULL) {
		memcpy(buf + n, tail, tlen);
		n += tlen;
	}
	before = smtp_queue_id_test_steps;
	rc = smtp_queue_id(buf, n, &id, &id_len);
	tap_long(rc, want != NULL, __FILE__, line, "found", "want");
	if (want != NULL) {
		tap_mem(id, id_len, want, strlen(want), __FILE__, line, "id");
	}
	tap_ok(smtp_queue_id_test_steps - before <= 64UL * n, __FILE__, line, "at most 64 steps an octet");
	if (smtp_queue_id_test_steps - before > 64UL * n) {
		fprintf(stderr, "  %lu steps for %lu octets\n", smtp_queue_id_test_steps - before, (unsigned long)n);
	}
	free(buf);
}

#define HB(unit, lines, line_len, tail, want, line) \
	hostile_big((unit), sizeof(unit) - 1, (lines), (line_len), (tail), (want), (line))

static void test_hostile_big(void)
{
	/* 8 KiB lines (the reply parser's line limit), 64 KiB in all (its reply
	 * limit), of keywords that start matches which then fail */
	HB("queued as ", 8, 8192, NULL, NULL, __LINE__);
	HB("queued as ", 8, 8192, "250 Ok: queued as B95DDA74071", "B95DDA74071", __LINE__);
	HB("queued on queued as ", 8, 8192, NULL, NULL, __LINE__);
	HB("OK id=", 8, 8192, NULL, NULL, __LINE__);
	HB("OK id=1UuMnI-0001SM-", 8, 8192, NULL, NULL, __LINE__);
	HB("[InternalId=", 8, 8192, NULL, NULL, __LINE__);
	HB("[InternalId=123456789012345678901", 8, 8192, NULL, NULL, __LINE__);
	HB("message saved <Message-ID: <", 8, 8192, NULL, NULL, __LINE__);
	HB("Message Queued (", 8, 8192, NULL, NULL, __LINE__);
	HB("queued as <aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 8, 8192, NULL, NULL, __LINE__);
	HB("A", 8, 8192, NULL, NULL, __LINE__);
	HB(" ", 8, 8192, NULL, NULL, __LINE__);
	HB("\0", 8, 8192, NULL, NULL, __LINE__);
	HB("\xff", 8, 8192, NULL, NULL, __LINE__);
	/* many short lines */
	HB("queued as ", 6000, 10, "250 Ok: queued as B95DDA74071", "B95DDA74071", __LINE__);
	/* one id-alphabet run after a keyword, as long as a line */
	{
		static const char head[] = "250 Ok: queued as ";
		size_t n = sizeof(head) - 1 + 8192;
		char *buf = malloc(n);
		const char *id;
		size_t id_len;
		unsigned long before = smtp_queue_id_test_steps;

		if (CHECK(buf != NULL)) {
			memcpy(buf, head, sizeof(head) - 1);
			memset(buf + sizeof(head) - 1, 'A', 8192);
			CHECK_INT(smtp_queue_id(buf, n, &id, &id_len), 0);
			CHECK(smtp_queue_id_test_steps - before <= 64UL * n);
			free(buf);
		}
	}
}

static void test_reply(void)
{
	smtp_reply_parser_t p;
	smtp_reply_t empty;
	const char *id = "x";
	size_t n = 1, used;
	static const char wire[] = "250-mx.example.org\r\n250 2.0.0 Ok: queued as B95DDA74071\r\n";
	static const char refused[] = "554 5.7.1 Ok: queued as B95DDA74071\r\n";

	smtp_reply_parser_init(&p);
	if (CHECK_INT(smtp_reply_parser_feed(&p, wire, sizeof(wire) - 1, &used), 1)) {
		CHECK_INT(smtp_reply_queue_id(&p.reply, &id, &n), 1);
		CHECK_MEM(id, n, "B95DDA74071", 11);
		CHECK(id >= p.reply.text && id + n <= p.reply.text + p.reply.text_len);
	}
	smtp_reply_parser_free(&p);
	smtp_reply_parser_init(&p);
	if (CHECK_INT(smtp_reply_parser_feed(&p, refused, sizeof(refused) - 1, &used), 1)) {
		CHECK_INT(smtp_reply_queue_id(&p.reply, &id, &n), 0);
		CHECK(id == NULL && n == 0);
	}
	smtp_reply_parser_free(&p);
	/* an empty reply, and none */
	smtp_reply_init(&empty);
	CHECK_INT(smtp_reply_queue_id(&empty, &id, &n), 0);
	CHECK_INT(smtp_reply_queue_id(NULL, &id, &n), 0);
	CHECK(id == NULL && n == 0);
	smtp_reply_free(&empty);
}

static void test_alphabet(void)
{
	static const char yes[] = "09azAZ!#$%&*+-./=?@^_~";
	static const char no[] = " \t\r\n\"'(),:;<>[\\]`{|}";
	size_t i;
	int c, count = 0;

	for (i = 0; i < sizeof(yes) - 1; i++) {
		CHECK(smtp_queue_id_octet((unsigned char)yes[i]));
	}
	for (i = 0; i < sizeof(no) - 1; i++) {
		CHECK(!smtp_queue_id_octet((unsigned char)no[i]));
	}
	for (c = 0; c < 256; c++) {
		count += smtp_queue_id_octet((unsigned char)c) != 0;
		if (c < 0x21 || c > 0x7e) {
			CHECK(!smtp_queue_id_octet((unsigned char)c));
		}
	}
	CHECK_INT(count, 62 + 16);
}

int main(void)
{
	test_postfix();
	test_zimbra();
	test_exim();
	test_sendmail_opensmtpd();
	test_microsoft();
	test_ses();
	test_sendgrid_mailjet_brevo();
	test_mailgun();
	test_gmail();
	test_haraka();
	test_qmail();
	test_courier();
	test_mdaemon();
	test_campaign_monitor();
	test_none();
	test_boundaries();
	test_lines();
	test_hostile();
	test_hostile_big();
	test_reply();
	test_alphabet();
	CHECK_INT(smtp_queue_id_test_table(), 0);
	return tap_done("test_queueid");
}
