/*
 * smtp_queueid: the queue id in a final reply, by a table of known wordings.
 *
 * Each form is a pattern over one line's text (after "250 " and "2.0.0 "):
 *
 *   ^       (first)  the pattern starts where the line's text starts
 *   *       (first)  the pattern may start anywhere in the line
 *   %i      the id: a run of the form's alphabet, at most the form's maximum
 *           (a longer run is no id), trailing '.', '!', '?' not included,
 *           at least the form's minimum, of the form's shape if it has
 *           one (Exim's dashes); when %i ends the pattern, the octet
 *           after it must not be a letter or digit
 *   %d      1..QID_NUM_MAX digits
 *   %w      1..QID_WORD_MAX printable octets other than space (a host name)
 *   ' '     1..QID_SPACE_MAX SP or HTAB
 *   $       the end of the line, after at most QID_SPACE_MAX SP, HTAB or
 *           trailing punctuation ('.', '!', '?')
 *   other   that octet, ASCII letters in either case
 *
 * Every element consumes a bounded run and nothing is retried, so one
 * attempt costs at most a constant; a '*' form makes at most one attempt per
 * octet of the line. The whole search is therefore linear in the text.
 *
 * Where each wording comes from is cited beside its test reply in
 * tests/test_queueid.c.
 */
#include "smtp_queueid.h"

#include <string.h>

#define QID_SPACE_MAX 16
#define QID_NUM_MAX   20
#define QID_WORD_MAX  255

#ifdef SMTP_QUEUEID_TEST_HOOKS
unsigned long smtp_queue_id_test_steps;
# define QID_STEP() (smtp_queue_id_test_steps++)
#else
# define QID_STEP() ((void)0)
#endif

/* Octet classes; an id alphabet is a union of them. */
#define QC_DIGIT  0x01u   /* 0-9 */
#define QC_HEXLET 0x02u   /* a-f A-F */
#define QC_LETTER 0x04u   /* a-z A-Z */
#define QC_DASH   0x08u   /* - */
#define QC_DOT    0x10u   /* . */
#define QC_UNDER  0x20u   /* _ */
#define QC_AT     0x40u   /* @ */
#define QC_B64    0x80u   /* + / = */
#define QC_ATEXT  0x100u  /* ! # $ % & * + - / = ? ^ _ ~ (RFC 5322 atext, quotes and braces left out) */

#define QS_ALNUM  (QC_DIGIT | QC_LETTER)
#define QS_HEX    (QC_DIGIT | QC_HEXLET)
#define QS_TOKEN  (QS_ALNUM | QC_DASH | QC_DOT | QC_UNDER | QC_AT | QC_B64)
#define QS_MSGID  (QS_ALNUM | QC_ATEXT | QC_DOT | QC_AT)   /* a Message-ID's id-left "@" id-right */

typedef struct {
	const char *pattern;
	unsigned set;            /* the id's alphabet */
	unsigned char min, max;  /* the id's length; max <= SMTP_QUEUE_ID_MAX */
	int (*shape)(const char *id, size_t len);   /* a further check of the id, or NULL */
	unsigned char least;     /* the fewest octets a match takes from where the pattern
	                          * starts: shorter text is not tried (checked against the
	                          * pattern by smtp_queue_id_test_table()) */
} qid_form_t;

/* Exim's message ids: 6-6-2 (to 4.96) or 6-11-4 (4.97 on) letters and digits. */
static int qid_exim_shape(const char *id, size_t len)
{
	size_t second = len == 16 ? 13 : 18, i;

	if (len != 16 && len != 23) {
		return 0;
	}
	for (i = 0; i < len; i++) {
		if ((id[i] == '-') != (i == 6 || i == second)) {
			return 0;
		}
	}
	return 1;
}

/* In priority order: on one line, the first form that matches wins. */
static const qid_form_t qid_forms[] = {
	/* Brevo (Sendinblue): "OK: queued as <msgid>" */
	{ "*queued as <%i>$", QS_MSGID, 1, SMTP_QUEUE_ID_MAX, NULL, 13 },
	/* Postfix (and Zimbra, amavisd-new relaying it): "Ok: queued as X", after
	 * BDAT "Ok: N bytes queued as X"; SendGrid "Ok: queued as X"; Mailjet
	 * "OK queued as X"; ZoneMTA "Message queued as X" */
	{ "*queued as %i$", QS_TOKEN, 4, SMTP_QUEUE_ID_MAX, NULL, 14 },
	/* Yandex: "Ok: queued on host as X" */
	{ "*queued on %w as %i$", QS_TOKEN, 4, SMTP_QUEUE_ID_MAX, NULL, 19 },
	/* Exim: "OK id=X", X shaped 6-6-2 (to 4.96) or 6-11-4 (4.97 on) */
	{ "*OK id=%i$", QS_ALNUM | QC_DASH, 16, 23, qid_exim_shape, 22 },
	/* Exchange 2010 on, Microsoft 365: "<msgid> [InternalId=N, Hostname=...] ..." */
	{ "*[InternalId=%i", QC_DIGIT, 1, 20, NULL, 13 },
	/* Haraka: "Message Queued (UUID.N)" */
	{ "*Message Queued (%i)", QS_ALNUM | QC_DASH | QC_DOT, 8, SMTP_QUEUE_ID_MAX, NULL, 25 },
	/* Sendmail, OpenSMTPD: "X Message accepted for delivery" */
	{ "^%i Message accepted for delivery", QS_ALNUM, 6, 32, NULL, 36 },
	/* Gmail, Google Workspace: "OK  <time> X - gsmtp" */
	{ "^OK %d %i - gsmtp$", QS_ALNUM | QC_DASH | QC_DOT | QC_UNDER, 4, SMTP_QUEUE_ID_MAX, NULL, 17 },
	/* Amazon SES: "Ok <message id>" */
	{ "^Ok %i$", QS_HEX | QC_DASH, 40, SMTP_QUEUE_ID_MAX, NULL, 43 },
	/* qmail: "ok <time> qp N" (and "... qp N by host") */
	{ "^ok %d qp %i", QC_DIGIT, 1, 10, NULL, 9 },
	/* Courier: "Ok. <time>.<pid>" in hexadecimal */
	{ "^Ok. %i", QS_HEX | QC_DOT, 8, 64, NULL, 12 },
	/* Campaign Monitor: "OK:X", 48 letters and digits */
	{ "^OK:%i$", QS_ALNUM, 48, 48, NULL, 51 },
	/* MDaemon: "Ok, message saved <Message-ID: msgid>" */
	{ "*message saved <Message-ID: <%i>>", QS_MSGID, 1, SMTP_QUEUE_ID_MAX, NULL, 31 },
	{ "*message saved <Message-ID: %i>", QS_MSGID, 1, SMTP_QUEUE_ID_MAX, NULL, 29 },
	/* Exchange 2007 and 2010 without InternalId: "<msgid> Queued mail for delivery" */
	{ "^<%i> Queued mail for delivery$", QS_MSGID, 1, SMTP_QUEUE_ID_MAX, NULL, 28 }
};

static unsigned qid_class(unsigned char c)
{
	if (c >= '0' && c <= '9') {
		return QC_DIGIT;
	}
	if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) {
		return QC_HEXLET | QC_LETTER;
	}
	if ((c >= 'g' && c <= 'z') || (c >= 'G' && c <= 'Z')) {
		return QC_LETTER;
	}
	switch (c) {
	case '-':
		return QC_DASH | QC_ATEXT;
	case '.':
		return QC_DOT;
	case '_':
		return QC_UNDER | QC_ATEXT;
	case '@':
		return QC_AT;
	case '+':
	case '/':
	case '=':
		return QC_B64 | QC_ATEXT;
	case '!':
	case '#':
	case '$':
	case '%':
	case '&':
	case '*':
	case '?':
	case '^':
	case '~':
		return QC_ATEXT;
	default:
		return 0;
	}
}

int smtp_queue_id_octet(unsigned char c)
{
	return qid_class(c) != 0;
}

static int qid_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int qid_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static int qid_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int qid_alnum(unsigned char c)
{
	return (qid_class(c) & QS_ALNUM) != 0;
}

/* Trailing punctuation, never the last octet of an id. */
static int qid_trailing(unsigned char c)
{
	return c == '.' || c == '!' || c == '?';
}

/* Match f's pattern (after its '^' or '*') against s[i..len). */
static int qid_match(const qid_form_t *f, const char *s, size_t len, size_t i, const char **id, size_t *id_len)
{
	const char *p = f->pattern + 1;
	const char *found = NULL;
	size_t found_len = 0;

	while (*p != '\0') {
		size_t start = i;

		if (*p == '%') {
			char kind = p[1];

			p += 2;
			if (kind == 'i') {
				size_t end;

				while (i < len && i - start <= f->max && (qid_class((unsigned char)s[i]) & f->set) != 0) {
					QID_STEP();
					i++;
				}
				if (i - start > f->max) {
					return 0;
				}
				end = i;
				while (end > start && qid_trailing((unsigned char)s[end - 1])) {
					end--;
				}
				if (end - start < f->min || end == start ||
				    (f->shape != NULL && !f->shape(s + start, end - start))) {
					return 0;
				}
				found = s + start;
				found_len = end - start;
				if (*p == '\0' && i < len && qid_alnum((unsigned char)s[i])) {
					return 0;
				}
			} else if (kind == 'd') {
				while (i < len && i - start <= QID_NUM_MAX && qid_digit((unsigned char)s[i])) {
					QID_STEP();
					i++;
				}
				if (i == start || i - start > QID_NUM_MAX) {
					return 0;
				}
			} else { /* 'w' */
				while (i < len && i - start <= QID_WORD_MAX && (unsigned char)s[i] > 0x20 &&
				       (unsigned char)s[i] < 0x7f) {
					QID_STEP();
					i++;
				}
				if (i == start || i - start > QID_WORD_MAX) {
					return 0;
				}
			}
		} else if (*p == ' ' || *p == '$') {
			while (i < len && i - start <= QID_SPACE_MAX &&
			       (qid_wsp((unsigned char)s[i]) || (*p == '$' && qid_trailing((unsigned char)s[i])))) {
				QID_STEP();
				i++;
			}
			if (i - start > QID_SPACE_MAX || (*p == ' ' ? i == start : i != len)) {
				return 0;
			}
			p++;
		} else {
			QID_STEP();
			if (i >= len || qid_lower((unsigned char)s[i]) != qid_lower((unsigned char)*p)) {
				return 0;
			}
			i++;
			p++;
		}
	}
	if (found == NULL) {
		return 0;
	}
	*id = found;
	*id_len = found_len;
	return 1;
}

/* Length of a reply code at the start of a line ("250", then SP, '-' or the
 * end), 0 when there is none. */
static size_t qid_code(const char *s, size_t len)
{
	if (len >= 3 && qid_digit((unsigned char)s[0]) && qid_digit((unsigned char)s[1]) &&
	    qid_digit((unsigned char)s[2]) && (len == 3 || s[3] == ' ' || s[3] == '-')) {
		return 3;
	}
	return 0;
}

/* After an enhanced status code (RFC 3463: digit "." 1*3digit "." 1*3digit)
 * at s[i] followed by SP, HTAB, ':' (OpenSMTPD) or the end; i when there is
 * none. */
static size_t qid_status(const char *s, size_t len, size_t i)
{
	size_t j = i, part, n;

	if (j >= len || !qid_digit((unsigned char)s[j])) {
		return i;
	}
	j++;
	for (part = 0; part < 2; part++) {
		if (j >= len || s[j] != '.') {
			return i;
		}
		j++;
		for (n = 0; n < 3 && j < len && qid_digit((unsigned char)s[j]); n++) {
			j++;
		}
		if (n == 0) {
			return i;
		}
	}
	if (j == len || qid_wsp((unsigned char)s[j])) {
		return j;
	}
	return s[j] == ':' ? j + 1 : i;
}

/* Where the line's text starts: after the reply code and its separator, the
 * enhanced status code and white space. */
static size_t qid_text_start(const char *s, size_t len)
{
	size_t i = qid_code(s, len);

	if (i > 0 && i < len) {
		i++;
	}
	i = qid_status(s, len, i);
	while (i < len && qid_wsp((unsigned char)s[i])) {
		QID_STEP();
		i++;
	}
	return i;
}

/* The smallest least of qid_forms (checked by smtp_queue_id_test_table()):
 * a line's text shorter than this holds no id at all. */
#define QID_LEAST_OF_ALL 9

static int qid_line(const char *s, size_t len, const char **id, size_t *id_len)
{
	size_t start = qid_text_start(s, len), f, j;

	if (len - start < QID_LEAST_OF_ALL) {
		return 0;
	}
	for (f = 0; f < sizeof(qid_forms) / sizeof(qid_forms[0]); f++) {
		const qid_form_t *form = &qid_forms[f];

		if (len - start < form->least) {
			continue;   /* too short for this form, wherever it starts */
		}
		if (form->pattern[0] == '^') {
			if (qid_match(form, s, len, start, id, id_len)) {
				return 1;
			}
			continue;
		}
		/* '*': try where the first octet of the pattern occurs, as long as
		 * the rest of the line can hold a match */
		for (j = start; len - j >= form->least; j++) {
			QID_STEP();
			if (qid_lower((unsigned char)s[j]) == qid_lower((unsigned char)form->pattern[1]) &&
			    qid_match(form, s, len, j, id, id_len)) {
				return 1;
			}
		}
	}
	return 0;
}

int smtp_queue_id(const char *text, size_t len, const char **id, size_t *id_len)
{
	size_t start = 0;

	*id = NULL;
	*id_len = 0;
	if (text == NULL) {
		return 0;
	}
	while (start < len) {
		const char *nl = memchr(text + start, '\n', len - start);
		size_t end = nl != NULL ? (size_t)(nl - text) : len;
		size_t line_end = end;

		if (nl != NULL && line_end > start && text[line_end - 1] == '\r') {
			line_end--;
		}
		/* a reply other than 2xx accepted nothing */
		if (start == 0 && qid_code(text, line_end) > 0 && text[0] != '2') {
			return 0;
		}
		if (qid_line(text + start, line_end - start, id, id_len)) {
			return 1;
		}
		start = end + 1;
	}
	return 0;
}

#ifdef SMTP_QUEUEID_TEST_HOOKS
/* The fewest octets f's pattern can match, element by element as
 * qid_match() takes them. */
static size_t qid_least(const qid_form_t *f)
{
	const char *p = f->pattern + 1;
	size_t n = 0;

	while (*p != '\0') {
		if (*p == '%') {
			n += p[1] == 'i' ? f->min : 1;
			p += 2;
		} else {
			n += *p == '$' ? 0 : 1;
			p++;
		}
	}
	return n;
}

int smtp_queue_id_test_table(void)
{
	size_t f, least = (size_t)-1;

	for (f = 0; f < sizeof(qid_forms) / sizeof(qid_forms[0]); f++) {
		if (qid_forms[f].least != qid_least(&qid_forms[f])) {
			return (int)f + 1;
		}
		if (qid_forms[f].least < least) {
			least = qid_forms[f].least;
		}
	}
	return least == QID_LEAST_OF_ALL ? 0 : -1;
}
#endif

int smtp_reply_queue_id(const smtp_reply_t *r, const char **id, size_t *id_len)
{
	*id = NULL;
	*id_len = 0;
	if (r == NULL || r->code < 200 || r->code > 299 || r->text == NULL) {
		return 0;
	}
	return smtp_queue_id(r->text, r->text_len, id, id_len);
}
