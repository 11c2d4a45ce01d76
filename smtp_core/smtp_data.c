/*
 * smtp_data: the streaming DATA/BDAT encoder.
 *
 * Runs of ordinary octets are copied with one memcpy; the next CR and LF are
 * found with memchr and remembered, so each octet is looked at a bounded
 * number of times. Output space is reserved once per write (with a second
 * reservation, covering the worst case of the rest, only when the first
 * guess runs out).
 */
#include "smtp_data.h"

#include <string.h>
#include <stdint.h>

static int enc_write_general(smtp_data_enc_t *e, smtp_buf_t *out, const char *in, size_t len);

/* Where the next CR or LF at or after i is (len when none). Positions found
 * by an earlier call are reused, so each octet is scanned at most twice. */
typedef struct {
	size_t nl, cr;
	int have_nl, have_cr;
} eol_scan_t;

static size_t next_eol(eol_scan_t *sc, const char *in, size_t len, size_t i)
{
	if (!sc->have_nl || sc->nl < i) {
		const char *q = (const char *)memchr(in + i, '\n', len - i);
		sc->nl = q != NULL ? (size_t)(q - in) : len;
		sc->have_nl = 1;
	}
	if (!sc->have_cr || sc->cr < i) {
		const char *q = (const char *)memchr(in + i, '\r', len - i);
		sc->cr = q != NULL ? (size_t)(q - in) : len;
		sc->have_cr = 1;
	}
	return sc->nl < sc->cr ? sc->nl : sc->cr;
}


void smtp_data_enc_init(smtp_data_enc_t *e, int dot_stuff)
{
	e->dot_stuff = dot_stuff ? 1 : 0;
	e->line_start = 1;
	e->after_cr = 0;
	e->in_bytes = 0;
	e->out_bytes = 0;
}

/* The first CR or LF at or after i (len when none). */
#if defined(__SSE2__) && (defined(__GNUC__) || defined(__clang__)) && !defined(SMTP_DATA_NO_SIMD)
# include <emmintrin.h>

/* 16 octets per step. */
static size_t find_cr_or_lf(const char *in, size_t i, size_t len)
{
	const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');

	while (len - i >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(in + i));
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)));
		if (m != 0) {
			return i + (size_t)__builtin_ctz(m);
		}
		i += 16;
	}
	while (i < len && in[i] != '\r' && in[i] != '\n') {
		i++;
	}
	return i;
}
#else
/* Portable: two memchr, the second only up to the first one's find (each
 * stops at the end of the current line, so a scan stays linear). */
static size_t find_cr_or_lf(const char *in, size_t i, size_t len)
{
	const char *cr = (const char *)memchr(in + i, '\r', len - i);
	size_t end = cr != NULL ? (size_t)(cr - in) : len;
	const char *lf = (const char *)memchr(in + i, '\n', end - i);

	return lf != NULL ? (size_t)(lf - in) : end;
}
#endif

/* The clean prefix line by line from i (ls: i is a line's start): each
 * line's first CR or LF must be the CR of its CR LF, and with stuffing no
 * line may start with '.'. */
static size_t clean_lines(const smtp_data_enc_t *e, const char *in, size_t len, size_t i, int ls)
{
	while (i < len) {
		size_t k;
		if (ls && e->dot_stuff && in[i] == '.') {
			break;
		}
		k = find_cr_or_lf(in, i, len);
		if (len - k < 2 || in[k] != '\r' || in[k + 1] != '\n') {
			break;
		}
		i = k + 2;
		ls = 1;
	}
	return i;
}

#if defined(__SSE2__) && (defined(__GNUC__) || defined(__clang__)) && !defined(SMTP_DATA_NO_SIMD)
/*
 * 64 octets at a time: bit b of cr (lf) says octet b of the block is CR (LF).
 * The block holds only CR LF pairs exactly when lf equals cr shifted up by
 * one with the previous block's last CR carried in (a CR at the block's end
 * is checked against the next block's first octet). Only the octet after
 * each LF, a line's first, is looked at for '.'. A block that fails, and the
 * last partial block, go to clean_lines() from the end of the last good line.
 */
# define BLOCK_SCAN(masks)                                                     \
	size_t i = 0, good = 0;                                                    \
	uint64_t carry = 0;                                                        \
	while (len - i >= 64) {                                                    \
		uint64_t cr, lf, l;                                                    \
		masks;                                                                 \
		if (((cr << 1) | carry) != lf) {                                       \
			break;                                                             \
		}                                                                      \
		if (lf != 0) {                                                         \
			if (e->dot_stuff) {                                                \
				for (l = lf; l != 0; l &= l - 1) {                             \
					size_t at = i + (size_t)__builtin_ctzll(l) + 1;            \
					if (at < len && in[at] == '.') {                           \
						return clean_lines(e, in, len, good, good ? 1 : e->line_start); \
					}                                                          \
				}                                                              \
			}                                                                  \
			good = i + 64 - (size_t)__builtin_clzll(lf);                       \
		}                                                                      \
		carry = cr >> 63;                                                      \
		i += 64;                                                               \
	}                                                                          \
	return clean_lines(e, in, len, good, good ? 1 : e->line_start)

static inline uint64_t mask16(__m128i v, __m128i k)
{
	return (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, k));
}

static size_t clean_blocks_sse2(const smtp_data_enc_t *e, const char *in, size_t len)
{
	const __m128i kcr = _mm_set1_epi8('\r'), klf = _mm_set1_epi8('\n');

	BLOCK_SCAN({
		__m128i a = _mm_loadu_si128((const __m128i *)(const void *)(in + i));
		__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(in + i + 16));
		__m128i c = _mm_loadu_si128((const __m128i *)(const void *)(in + i + 32));
		__m128i d = _mm_loadu_si128((const __m128i *)(const void *)(in + i + 48));
		cr = mask16(a, kcr) | mask16(b, kcr) << 16 | mask16(c, kcr) << 32 | mask16(d, kcr) << 48;
		lf = mask16(a, klf) | mask16(b, klf) << 16 | mask16(c, klf) << 32 | mask16(d, klf) << 48;
	});
}

# if defined(__x86_64__) && (defined(__clang__) || __GNUC__ >= 5) && !defined(SMTP_DATA_NO_AVX2)
#  include <immintrin.h>
#  define SMTP_DATA_AVX2 1

/* Whether this CPU has AVX2: asked once; every thread that races here
 * writes the same value. */
static int have_avx2(void)
{
	static int avx2 = -1;

	if (avx2 < 0) {
		__builtin_cpu_init();
		avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
	}
	return avx2;
}

__attribute__((target("avx2")))
static inline uint64_t mask32(__m256i v, __m256i k)
{
	return (uint64_t)(unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, k));
}

/* The same with 32-octet vectors, on a CPU that has AVX2 (checked at run time). */
__attribute__((target("avx2")))
static size_t clean_blocks_avx2(const smtp_data_enc_t *e, const char *in, size_t len)
{
	const __m256i kcr = _mm256_set1_epi8('\r'), klf = _mm256_set1_epi8('\n');

	BLOCK_SCAN({
		__m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(in + i));
		__m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(in + i + 32));
		cr = mask32(a, kcr) | mask32(b, kcr) << 32;
		lf = mask32(a, klf) | mask32(b, klf) << 32;
	});
}
# endif
#endif

/*
 * The longest prefix of in that the encoder would copy unchanged: complete
 * lines that end in CR LF, hold no other CR or LF, and (when stuffing) do
 * not start with '.'. Most messages are all such lines, so they are checked
 * 64 octets at a time and copied with one memcpy.
 */
static size_t clean_prefix(const smtp_data_enc_t *e, const char *in, size_t len)
{
	if (e->after_cr || len == 0 || (e->line_start && e->dot_stuff && in[0] == '.')) {
		return 0;
	}
#if defined(SMTP_DATA_AVX2)
	if (have_avx2()) {
		return clean_blocks_avx2(e, in, len);
	}
#endif
#if defined(__SSE2__) && (defined(__GNUC__) || defined(__clang__)) && !defined(SMTP_DATA_NO_SIMD)
	return clean_blocks_sse2(e, in, len);
#else
	return clean_lines(e, in, len, 0, e->line_start);
#endif
}

size_t smtp_data_enc_passthrough(smtp_data_enc_t *e, const char *in, size_t len)
{
	size_t n = clean_prefix(e, in, len);

	if (n) {
		e->line_start = 1;
		e->in_bytes += n;
		e->out_bytes += n;
	}
	return n;
}

int smtp_data_enc_write(smtp_data_enc_t *e, smtp_buf_t *out, const char *in, size_t len)
{
	size_t clean = clean_prefix(e, in, len);

	if (clean) {
		int rc = smtp_buf_append(out, in, clean);
		if (rc != SMTP_OK) {
			return rc;
		}
		e->line_start = 1;
		e->in_bytes += clean;
		e->out_bytes += clean;
		in += clean;
		len -= clean;
	}
	return enc_write_general(e, out, in, len);
}

/* The general encoder: every rule, octet runs copied with memcpy. */
static int enc_write_general(smtp_data_enc_t *e, smtp_buf_t *out, const char *in, size_t len)
{
	size_t i = 0, base, want;
	eol_scan_t sc = {0, 0, 0, 0};
	int rc = SMTP_OK;
	int line_start = e->line_start, after_cr = e->after_cr;
	unsigned long long produced = 0;
	char *w, *wend;

	if (len == 0) {
		return SMTP_OK;
	}
	/* First guess: the input plus a little for line ends and stuffing. */
	want = len / 16 + 16;
	want = len > SIZE_MAX - want ? len : len + want;
	rc = smtp_buf_reserve(out, want);
	if (rc != SMTP_OK) {
		return rc;
	}
	base = out->len;
	w = out->data + out->len;
	wend = out->data + out->cap;

	while (i < len) {
		unsigned char c = (unsigned char)in[i];
		size_t stop, run;

		if ((size_t)(wend - w) < 3) {
			goto grow;
		}
		if (c == '\r') {
			*w++ = '\r';
			*w++ = '\n';
			after_cr = 1;
			line_start = 1;
			i++;
			continue;
		}
		if (c == '\n') {
			if (!after_cr) {
				*w++ = '\r';
				*w++ = '\n';
			}
			after_cr = 0;
			line_start = 1;
			i++;
			continue;
		}
		/* An ordinary octet starts a run that ends at the next CR or LF. */
		stop = next_eol(&sc, in, len, i);
		run = stop - i;
		if ((size_t)(wend - w) < run + 1) {
			goto grow;
		}
		if (line_start && e->dot_stuff && c == '.') {
			*w++ = '.';
		}
		memcpy(w, in + i, run);
		w += run;
		i = stop;
		after_cr = 0;
		line_start = 0;
		continue;

	grow:
		/* Worst case for the rest: two octets out per octet in. */
		if (len - i > (SIZE_MAX - 3) / 2) {
			rc = SMTP_E_NOMEM;
			break;
		}
		out->len = (size_t)(w - out->data);
		produced += out->len - base;
		rc = smtp_buf_reserve(out, (len - i) * 2 + 3);
		base = out->len;   /* reserve may have moved the live bytes */
		w = out->data + out->len;
		wend = out->data + out->cap;
		if (rc != SMTP_OK) {
			break;
		}
	}

	out->len = (size_t)(w - out->data);
	produced += out->len - base;
	e->line_start = line_start;
	e->after_cr = after_cr;
	e->in_bytes += i;
	e->out_bytes += produced;
	return rc;
}

int smtp_data_enc_finish(smtp_data_enc_t *e, smtp_buf_t *out)
{
	char tail[5];
	size_t n = 0;
	int rc;

	if (!e->line_start) {
		tail[n++] = '\r';
		tail[n++] = '\n';
	}
	if (e->dot_stuff) {
		tail[n++] = '.';
		tail[n++] = '\r';
		tail[n++] = '\n';
	}
	rc = smtp_buf_append(out, tail, n);
	if (rc != SMTP_OK) {
		return rc;
	}
	e->out_bytes += n;
	e->line_start = 1;
	e->after_cr = 0;
	return SMTP_OK;
}

unsigned long long smtp_data_enc_size(const smtp_data_enc_t *e, const char *in, size_t len, int last)
{
	unsigned long long n = 0;
	int line_start = e->line_start, after_cr = e->after_cr;
	size_t i = 0;
	eol_scan_t sc = {0, 0, 0, 0};

	while (i < len) {
		unsigned char c = (unsigned char)in[i];
		size_t stop;

		if (c == '\r') {
			n += 2;
			after_cr = 1;
			line_start = 1;
			i++;
			continue;
		}
		if (c == '\n') {
			n += after_cr ? 0 : 2;
			after_cr = 0;
			line_start = 1;
			i++;
			continue;
		}
		stop = next_eol(&sc, in, len, i);
		if (line_start && e->dot_stuff && c == '.') {
			n++;
		}
		n += stop - i;
		i = stop;
		after_cr = 0;
		line_start = 0;
	}
	if (last) {
		n += line_start ? 0 : 2;
		n += e->dot_stuff ? 3 : 0;
	}
	return n;
}

unsigned long long smtp_data_measure(const char *in, size_t len)
{
	unsigned long long n = len;
	const char *p, *end;

	if (in == NULL || len == 0) {
		return 0;
	}
	end = in + len;
	/* A bare LF or a bare CR grows by one octet; a CR LF pair stays. */
	for (p = in; (p = (const char *)memchr(p, '\n', (size_t)(end - p))) != NULL; p++) {
		if (p == in || p[-1] != '\r') {
			n++;
		}
	}
	for (p = in; (p = (const char *)memchr(p, '\r', (size_t)(end - p))) != NULL; p++) {
		if (p + 1 == end || p[1] != '\n') {
			n++;
		}
	}
	if (end[-1] != '\n' && end[-1] != '\r') {
		n += 2;
	}
	return n;
}

/* Whole blocks at a time, the octets ORed together and their top bits tested
 * once per 64 octets: a clean message costs a few instructions per 16
 * octets, an 8-bit one stops within 64 octets of its first such octet. */
#if defined(__SSE2__) && (defined(__GNUC__) || defined(__clang__)) && !defined(SMTP_DATA_NO_SIMD)
# if defined(SMTP_DATA_AVX2)
/* 128 octets a step with 32-octet vectors. */
__attribute__((target("avx2")))
static int any_high_bit_avx2(const char *in, size_t len, size_t *done)
{
	size_t i = 0;

	for (; len - i >= 128; i += 128) {
		__m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(in + i));
		__m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(in + i + 32));
		__m256i c = _mm256_loadu_si256((const __m256i *)(const void *)(in + i + 64));
		__m256i d = _mm256_loadu_si256((const __m256i *)(const void *)(in + i + 96));
		if (_mm256_movemask_epi8(_mm256_or_si256(_mm256_or_si256(a, b), _mm256_or_si256(c, d))) != 0) {
			return 1;
		}
	}
	for (; len - i >= 32; i += 32) {
		if (_mm256_movemask_epi8(_mm256_loadu_si256((const __m256i *)(const void *)(in + i))) != 0) {
			return 1;
		}
	}
	if (len - i >= 16 && _mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(const void *)(in + i))) != 0) {
		return 1;
	}
	*done = len - i >= 16 ? i + 16 : i;
	return 0;
}
# endif

static int any_high_bit(const char *in, size_t len, size_t *done)
{
	size_t i = 0;

# if defined(SMTP_DATA_AVX2)
	if (have_avx2()) {
		return any_high_bit_avx2(in, len, done);
	}
# endif
	for (; len - i >= 64; i += 64) {
		__m128i a = _mm_loadu_si128((const __m128i *)(const void *)(in + i));
		__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(in + i + 16));
		__m128i c = _mm_loadu_si128((const __m128i *)(const void *)(in + i + 32));
		__m128i d = _mm_loadu_si128((const __m128i *)(const void *)(in + i + 48));
		if (_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d))) != 0) {
			return 1;
		}
	}
	for (; len - i >= 16; i += 16) {
		if (_mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(const void *)(in + i))) != 0) {
			return 1;
		}
	}
	*done = i;
	return 0;
}
#else
static int any_high_bit(const char *in, size_t len, size_t *done)
{
	const uint64_t high = 0x8080808080808080ULL;
	size_t i = 0;

	for (; len - i >= 64; i += 64) {
		uint64_t w[8];
		memcpy(w, in + i, sizeof(w));
		if (((w[0] | w[1] | w[2] | w[3]) | (w[4] | w[5] | w[6] | w[7])) & high) {
			return 1;
		}
	}
	for (; len - i >= 8; i += 8) {
		uint64_t w;
		memcpy(&w, in + i, sizeof(w));
		if (w & high) {
			return 1;
		}
	}
	*done = i;
	return 0;
}
#endif

int smtp_data_is_8bit(const char *in, size_t len)
{
	size_t i = 0;

	if (in == NULL) {
		return 0;
	}
	if (any_high_bit(in, len, &i)) {
		return 1;
	}
	for (; i < len; i++) {
		if ((unsigned char)in[i] & 0x80) {
			return 1;
		}
	}
	return 0;
}
