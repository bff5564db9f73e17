/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* POLYVAL (RFC 8452 section 3): S_j = dot(S_{j-1} ^ X_j, H), where
 * dot(a, b) = a * b * x^-128 in GF(2^128) modulo
 * P(x) = x^128 + x^127 + x^126 + x^121 + 1, bytes read little-endian.
 *
 * Two implementations, both free of secret-dependent branches and memory
 * addresses: PCLMULQDQ on x86 (chosen at run time by CPUID), and a portable
 * carry-less multiply built from ordinary integer multiplications whose
 * operands are masked so that carries cannot reach the bits that are kept.
 *
 * The reduction is a Montgomery reduction by x^128 done in two 64-bit steps.
 * Because P(x) = 1 mod x^64, the Montgomery digit of each step is simply the
 * lowest remaining word q, and adding q * P(x) = q + q*x^121 + q*x^126 +
 * q*x^127 + q*x^128 clears that word; only shifts are needed. */
#include <stdatomic.h>
#include <string.h>

#include "polyval.h"
#include "sotto/aes.h"
#include "sotto/util.h"

/* SOTTO_POLYVAL_PORTABLE_ONLY builds without the intrinsics (toolchains that
 * lack them, or to compile-check the non-x86 configuration on x86). */
#if (defined(__x86_64__) || defined(__i386__)) && !defined(SOTTO_POLYVAL_PORTABLE_ONLY)
#define PV_HAVE_X86 1
#include <cpuid.h>
#include <emmintrin.h>
#include <wmmintrin.h>
#else
#define PV_HAVE_X86 0
#endif

static uint64_t load64le(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void store64le(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- portable ---------------------------------------------------------- */

/* Carry-less 32x32 -> 64 multiply. Each operand is split into four parts that
 * keep every fourth bit; in the integer product of two parts, each bit
 * position receives at most 8 partial products, and those sums (< 16) never
 * carry into the next position that the part's mask keeps, so the kept bits
 * are exactly the XOR of the partial products. */
static uint64_t clmul32(uint32_t x, uint32_t y)
{
	const uint64_t m0 = 0x1111111111111111u, m1 = m0 << 1, m2 = m0 << 2, m3 = m0 << 3;
	uint64_t x0 = x & m0, x1 = x & m1, x2 = x & m2, x3 = x & m3;
	uint64_t y0 = y & m0, y1 = y & m1, y2 = y & m2, y3 = y & m3;
	uint64_t z0 = (x0 * y0) ^ (x1 * y3) ^ (x2 * y2) ^ (x3 * y1);
	uint64_t z1 = (x0 * y1) ^ (x1 * y0) ^ (x2 * y3) ^ (x3 * y2);
	uint64_t z2 = (x0 * y2) ^ (x1 * y1) ^ (x2 * y0) ^ (x3 * y3);
	uint64_t z3 = (x0 * y3) ^ (x1 * y2) ^ (x2 * y1) ^ (x3 * y0);
	return (z0 & m0) | (z1 & m1) | (z2 & m2) | (z3 & m3);
}

/* Carry-less 64x64 -> 128 by Karatsuba over 32-bit halves. */
static void clmul64(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo)
{
	uint32_t a0 = (uint32_t)a, a1 = (uint32_t)(a >> 32);
	uint32_t b0 = (uint32_t)b, b1 = (uint32_t)(b >> 32);
	uint64_t l = clmul32(a0, b0);
	uint64_t h = clmul32(a1, b1);
	uint64_t m = clmul32(a0 ^ a1, b0 ^ b1) ^ l ^ h;
	*lo = l ^ (m << 32);
	*hi = h ^ (m >> 32);
}

/* r = a * b * x^-128 mod P. */
static void dot_portable(uint64_t r[2], const uint64_t a[2], const uint64_t b[2])
{
	uint64_t lh, ll, hh, hl, mh, ml;
	clmul64(a[0], b[0], &lh, &ll);
	clmul64(a[1], b[1], &hh, &hl);
	clmul64(a[0] ^ a[1], b[0] ^ b[1], &mh, &ml);
	mh ^= lh ^ hh;
	ml ^= ll ^ hl;
	uint64_t p0 = ll, p1 = lh ^ ml, p2 = hl ^ mh, p3 = hh;
	/* Montgomery step 1: q = p0. */
	p1 ^= (p0 << 57) ^ (p0 << 62) ^ (p0 << 63);
	p2 ^= p0 ^ (p0 >> 7) ^ (p0 >> 2) ^ (p0 >> 1);
	/* Step 2: q = p1. */
	p2 ^= (p1 << 57) ^ (p1 << 62) ^ (p1 << 63);
	p3 ^= p1 ^ (p1 >> 7) ^ (p1 >> 2) ^ (p1 >> 1);
	r[0] = p2;
	r[1] = p3;
}

static void blocks_portable(sotto__polyval *pv, const uint8_t *in, size_t nblocks)
{
	uint64_t s[2] = { pv->s[0], pv->s[1] };
	for (size_t i = 0; i < nblocks; i++, in += 16) {
		s[0] ^= load64le(in);
		s[1] ^= load64le(in + 8);
		dot_portable(s, s, pv->h[0]);
	}
	pv->s[0] = s[0];
	pv->s[1] = s[1];
}

/* ---- PCLMULQDQ ---------------------------------------------------------- */

#if PV_HAVE_X86
#define PV_TARGET __attribute__((target("pclmul,sse2")))

/* The 256-bit product of a and b as lo (bits 0..127) and hi, unreduced;
 * the middle term is left apart so that several products can be summed
 * before it is folded in. */
PV_TARGET static inline void mul_acc(__m128i a, __m128i b, __m128i *lo, __m128i *mid, __m128i *hi)
{
	*lo = _mm_xor_si128(*lo, _mm_clmulepi64_si128(a, b, 0x00));
	*hi = _mm_xor_si128(*hi, _mm_clmulepi64_si128(a, b, 0x11));
	*mid = _mm_xor_si128(*mid, _mm_xor_si128(_mm_clmulepi64_si128(a, b, 0x01),
						 _mm_clmulepi64_si128(a, b, 0x10)));
}

/* The two Montgomery steps of dot_portable, with q * (x^121 + x^126 +
 * x^127) computed as a carry-less product by 0xc200000000000000 (bits 57,
 * 62, 63) placed one word up, and q * x^128 as a word swap. */
PV_TARGET static inline __m128i reduce(__m128i lo, __m128i mid, __m128i hi)
{
	const __m128i c = _mm_set_epi64x(0, (long long)UINT64_C(0xc200000000000000));
	lo = _mm_xor_si128(lo, _mm_slli_si128(mid, 8));
	hi = _mm_xor_si128(hi, _mm_srli_si128(mid, 8));
	__m128i m = _mm_xor_si128(_mm_shuffle_epi32(lo, 0x4e), _mm_clmulepi64_si128(lo, c, 0x00));
	hi = _mm_xor_si128(hi, _mm_clmulepi64_si128(m, c, 0x00));
	return _mm_xor_si128(hi, _mm_shuffle_epi32(m, 0x4e));
}

PV_TARGET static __m128i load128(const uint64_t v[2])
{
	return _mm_loadu_si128((const __m128i *)(const void *)v);
}

PV_TARGET static void store128(uint64_t v[2], __m128i x)
{
	_mm_storeu_si128((__m128i *)(void *)v, x);
}

PV_TARGET static void powers_clmul(sotto__polyval *pv)
{
	__m128i h = load128(pv->h[0]), p = h;
	for (int k = 1; k < SOTTO__POLYVAL_POWERS; k++) {
		__m128i lo = _mm_setzero_si128(), mid = lo, hi = lo;
		mul_acc(p, h, &lo, &mid, &hi);
		p = reduce(lo, mid, hi);
		store128(pv->h[k], p);
	}
}

PV_TARGET static void blocks_clmul(sotto__polyval *pv, const uint8_t *in, size_t nblocks)
{
	__m128i s = load128(pv->s);
	__m128i h1 = load128(pv->h[0]);
#if SOTTO__POLYVAL_POWERS != 4
#error "blocks_clmul is written for four powers"
#endif
	if (nblocks >= 4) {
		__m128i h2 = load128(pv->h[1]), h3 = load128(pv->h[2]), h4 = load128(pv->h[3]);
		/* S' = dot(S ^ X1, H^4) ^ dot(X2, H^3) ^ dot(X3, H^2) ^ dot(X4, H), all
		 * summed before one reduction since dot is linear. */
		for (; nblocks >= 4; nblocks -= 4, in += 64) {
			__m128i lo = _mm_setzero_si128(), mid = lo, hi = lo;
			__m128i x0 = _mm_xor_si128(s, _mm_loadu_si128((const __m128i *)(const void *)in));
			mul_acc(x0, h4, &lo, &mid, &hi);
			mul_acc(_mm_loadu_si128((const __m128i *)(const void *)(in + 16)), h3, &lo,
				&mid, &hi);
			mul_acc(_mm_loadu_si128((const __m128i *)(const void *)(in + 32)), h2, &lo,
				&mid, &hi);
			mul_acc(_mm_loadu_si128((const __m128i *)(const void *)(in + 48)), h1, &lo,
				&mid, &hi);
			s = reduce(lo, mid, hi);
		}
	}
	for (; nblocks > 0; nblocks--, in += 16) {
		__m128i lo = _mm_setzero_si128(), mid = lo, hi = lo;
		__m128i x = _mm_xor_si128(s, _mm_loadu_si128((const __m128i *)(const void *)in));
		mul_acc(x, h1, &lo, &mid, &hi);
		s = reduce(lo, mid, hi);
	}
	store128(pv->s, s);
}

static int cpu_has_clmul(void)
{
	unsigned int a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	/* CPUID.1: ECX bit 1 is PCLMULQDQ, EDX bit 26 is SSE2. */
	return (c & (1u << 1)) != 0 && (d & (1u << 26)) != 0;
}
#else
static int cpu_has_clmul(void)
{
	return 0;
}
#endif

/* ---- dispatch ----------------------------------------------------------- */

/* -1 until the first use: CPUID is cheap on bare metal but traps to the
 * hypervisor in many VMs, so it runs once. */
static atomic_int detected = -1;
static atomic_int forced = SOTTO__POLYVAL_AUTO;

static int have_clmul(void)
{
	int d = atomic_load_explicit(&detected, memory_order_relaxed);
	if (d < 0) {
		d = cpu_has_clmul();
		atomic_store_explicit(&detected, d, memory_order_relaxed);
	}
	return d;
}

int sotto__polyval_set_impl(enum sotto__polyval_impl impl)
{
	if (impl != SOTTO__POLYVAL_AUTO && impl != SOTTO__POLYVAL_PORTABLE &&
	    impl != SOTTO__POLYVAL_CLMUL)
		return -1;
	if (impl == SOTTO__POLYVAL_CLMUL && !have_clmul())
		return -1;
	atomic_store_explicit(&forced, (int)impl, memory_order_relaxed);
	return 0;
}

enum sotto__polyval_impl sotto__polyval_get_impl(void)
{
	int f = atomic_load_explicit(&forced, memory_order_relaxed);
	if (f != SOTTO__POLYVAL_AUTO)
		return (enum sotto__polyval_impl)f;
	return have_clmul() ? SOTTO__POLYVAL_CLMUL : SOTTO__POLYVAL_PORTABLE;
}

void sotto__polyval_init(sotto__polyval *pv, const uint8_t h[16])
{
	memset(pv, 0, sizeof(*pv));
	pv->h[0][0] = load64le(h);
	pv->h[0][1] = load64le(h + 8);
	pv->impl = (int)sotto__polyval_get_impl();
#if PV_HAVE_X86
	if (pv->impl == SOTTO__POLYVAL_CLMUL)
		powers_clmul(pv);
#endif
}

void sotto__polyval_blocks(sotto__polyval *pv, const uint8_t *in, size_t nblocks)
{
	if (nblocks == 0)
		return;
#if PV_HAVE_X86
	if (pv->impl == SOTTO__POLYVAL_CLMUL) {
		blocks_clmul(pv, in, nblocks);
		return;
	}
#endif
	blocks_portable(pv, in, nblocks);
}

void sotto__polyval_padded(sotto__polyval *pv, const uint8_t *in, size_t len)
{
	sotto__polyval_blocks(pv, in, len / 16);
	size_t rest = len % 16;
	if (rest != 0) {
		uint8_t last[16] = { 0 };
		memcpy(last, in + (len - rest), rest);
		sotto__polyval_blocks(pv, last, 1);
		sotto_memzero(last, sizeof(last));
	}
}

void sotto__polyval_final(sotto__polyval *pv, uint8_t out[16])
{
	store64le(out, pv->s[0]);
	store64le(out + 8, pv->s[1]);
	sotto_memzero(pv, sizeof(*pv));
}

void sotto_polyval(uint8_t out[16], const uint8_t h[16], const uint8_t *data, size_t len)
{
	sotto__polyval pv;
	sotto__polyval_init(&pv, h);
	sotto__polyval_blocks(&pv, data, len / 16);
	sotto__polyval_final(&pv, out);
}
