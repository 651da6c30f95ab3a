/* The kernels behind native/jsimd.c, compiled for AVX2 (names suffixed by K()).
 * Every kernel is the integer arithmetic of the libjpeg-turbo C routine it replaces
 * (named beside it): the arithmetic is written over 8 lanes of 32 bits with
 * GCC/Clang vector extensions, loads, stores and byte shuffles with intrinsics;
 * edges and odd widths use the same formulas one sample at a time. */

/* ---- loads, stores, clamps, shuffles (AVX2 intrinsics) ------------------- */

static inline __m128i v128(i32x8 v, int hi) {
  __m256i x = (__m256i)v;
  return hi ? _mm256_extracti128_si256(x, 1) : _mm256_castsi256_si128(x);
}

/* 8 bytes -> 8 lanes. */
static inline i32x8 K(widen8)(__m128i bytes) {
  return (i32x8)_mm256_cvtepu8_epi32(bytes);
}

static inline i32x8 K(load8)(const JSAMPLE *p) {
  return K(widen8)(_mm_loadl_epi64((const __m128i *)p));
}

static inline i32x8 K(load16s)(const short *p) {
  return (i32x8)_mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *)p));
}

/* (short) of each lane: the low 16 bits, as C's conversion does. */
static inline __m128i K(narrow16)(i32x8 v) {
  const __m256i low = _mm256_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1,
                                       -1, -1, 0, 1, 4, 5, 8, 9, 12, 13, -1, -1, -1, -1,
                                       -1, -1, -1, -1);
  __m256i x = _mm256_shuffle_epi8((__m256i)v, low);
  return _mm256_castsi256_si128(_mm256_permute4x64_epi64(x, 0x08));
}

static inline void K(store16s)(short *p, i32x8 v) {
  _mm_storeu_si128((__m128i *)p, K(narrow16)(v));
}

/* (DCTELEM) cast of an int: keep the low 16 bits, sign-extended. */
static inline i32x8 K(wrap16)(i32x8 v) {
  return (i32x8)_mm256_srai_epi32(_mm256_slli_epi32((__m256i)v, 16), 16);
}

/* Lanes clamped to 0..255, as 8 bytes (the low half of the result). */
static inline __m128i K(clamp8)(i32x8 v) {
  __m256i w = _mm256_packus_epi32((__m256i)v, (__m256i)v);
  w = _mm256_packus_epi16(w, w);
  return _mm_unpacklo_epi32(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
}

static inline void K(store8)(JSAMPLE *p, i32x8 v) {
  _mm_storel_epi64((__m128i *)p, K(clamp8)(v));
}

/* 8 RGB pixels (24 bytes) -> three planes of 8 bytes (low halves). */
static inline void K(split_rgb)(const JSAMPLE *p, __m128i *r, __m128i *g, __m128i *b) {
  __m128i a = _mm_loadu_si128((const __m128i *)p);
  __m128i c = _mm_loadl_epi64((const __m128i *)(p + 16));
  *r = _mm_or_si128(
    _mm_shuffle_epi8(a, _mm_setr_epi8(0, 3, 6, 9, 12, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1)),
    _mm_shuffle_epi8(c, _mm_setr_epi8(-1, -1, -1, -1, -1, -1, 2, 5, -1, -1, -1, -1, -1, -1, -1, -1)));
  *g = _mm_or_si128(
    _mm_shuffle_epi8(a, _mm_setr_epi8(1, 4, 7, 10, 13, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1)),
    _mm_shuffle_epi8(c, _mm_setr_epi8(-1, -1, -1, -1, -1, 0, 3, 6, -1, -1, -1, -1, -1, -1, -1, -1)));
  *b = _mm_or_si128(
    _mm_shuffle_epi8(a, _mm_setr_epi8(2, 5, 8, 11, 14, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1)),
    _mm_shuffle_epi8(c, _mm_setr_epi8(-1, -1, -1, -1, -1, 1, 4, 7, -1, -1, -1, -1, -1, -1, -1, -1)));
}

/* Three planes of 8 bytes (low halves) -> 8 RGB pixels (24 bytes). */
static inline void K(store_rgb)(JSAMPLE *p, __m128i r, __m128i g, __m128i b) {
  __m128i rg = _mm_unpacklo_epi64(r, g);
  __m128i lo = _mm_or_si128(
    _mm_shuffle_epi8(rg, _mm_setr_epi8(0, 8, -1, 1, 9, -1, 2, 10, -1, 3, 11, -1, 4, 12, -1, 5)),
    _mm_shuffle_epi8(b, _mm_setr_epi8(-1, -1, 0, -1, -1, 1, -1, -1, 2, -1, -1, 3, -1, -1, 4, -1)));
  __m128i hi = _mm_or_si128(
    _mm_shuffle_epi8(rg, _mm_setr_epi8(13, -1, 6, 14, -1, 7, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1)),
    _mm_shuffle_epi8(b, _mm_setr_epi8(-1, 5, -1, -1, 6, -1, -1, 7, -1, -1, -1, -1, -1, -1, -1, -1)));
  _mm_storeu_si128((__m128i *)p, lo);
  _mm_storel_epi64((__m128i *)(p + 16), hi);
}

static inline __attribute__((always_inline)) void K(transpose)(i32x8 m[8]) {
  __m256i t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_epi32((__m256i)m[i], (__m256i)m[i + 1]);
    t[i + 1] = _mm256_unpackhi_epi32((__m256i)m[i], (__m256i)m[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]);
    u[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);
    u[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]);
    u[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  for (int i = 0; i < 4; i++) {
    m[i] = (i32x8)_mm256_permute2x128_si256(u[i], u[i + 4], 0x20);
    m[i + 4] = (i32x8)_mm256_permute2x128_si256(u[i], u[i + 4], 0x31);
  }
}

/* ---- forward DCT (jcdctmgr.c convsamp, jfdctint.c, jcdctmgr.c quantize) --- */

static void K(convsamp)(JSAMPARRAY sample_data, JDIMENSION start_col,
                        DCTELEM *workspace) {
  for (int r = 0; r < DCTSIZE; r++)
    K(store16s)(workspace + r * DCTSIZE, K(load8)(sample_data[r] + start_col) - CENTERJSAMPLE);
}

#define F_0_298 2446
#define F_0_390 3196
#define F_0_541 4433
#define F_0_765 6270
#define F_0_899 7373
#define F_1_175 9633
#define F_1_501 12299
#define F_1_847 15137
#define F_1_961 16069
#define F_2_053 16819
#define F_2_562 20995
#define F_3_072 25172
#define CONST_BITS 13
#define PASS1_BITS 2

static inline __attribute__((always_inline)) void K(transpose16)(__m128i a[8]) {
  __m128i t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm_unpacklo_epi16(a[i], a[i + 1]);
    t[i + 1] = _mm_unpackhi_epi16(a[i], a[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm_unpacklo_epi32(t[i], t[i + 2]);
    u[i + 1] = _mm_unpackhi_epi32(t[i], t[i + 2]);
    u[i + 2] = _mm_unpacklo_epi32(t[i + 1], t[i + 3]);
    u[i + 3] = _mm_unpackhi_epi32(t[i + 1], t[i + 3]);
  }
  for (int i = 0; i < 4; i++) {
    a[2 * i] = _mm_unpacklo_epi64(u[i], u[i + 4]);
    a[2 * i + 1] = _mm_unpackhi_epi64(u[i], u[i + 4]);
  }
}

#define PAIR(a, b) _mm_set1_epi32((int)(((unsigned)(b) << 16) | ((a) & 0xFFFF)))

/* a*ka + b*kb (+ c*kc + d*kd), rounded and shifted right by `down`, back to 16
 * bits: jfdctint.c's products and sums, exact in 32 bits. */
static inline __m128i K(dot2)(__m128i a, __m128i b, __m128i k, __m128i round, int down) {
  __m128i lo = _mm_madd_epi16(_mm_unpacklo_epi16(a, b), k);
  __m128i hi = _mm_madd_epi16(_mm_unpackhi_epi16(a, b), k);
  return _mm_packs_epi32(_mm_srai_epi32(_mm_add_epi32(lo, round), down),
                         _mm_srai_epi32(_mm_add_epi32(hi, round), down));
}

static inline __m128i K(dot4)(__m128i a, __m128i b, __m128i k1, __m128i c, __m128i d,
                              __m128i k2, __m128i round, int down) {
  __m128i lo = _mm_add_epi32(_mm_madd_epi16(_mm_unpacklo_epi16(a, b), k1),
                             _mm_madd_epi16(_mm_unpacklo_epi16(c, d), k2));
  __m128i hi = _mm_add_epi32(_mm_madd_epi16(_mm_unpackhi_epi16(a, b), k1),
                             _mm_madd_epi16(_mm_unpackhi_epi16(c, d), k2));
  return _mm_packs_epi32(_mm_srai_epi32(_mm_add_epi32(lo, round), down),
                         _mm_srai_epi32(_mm_add_epi32(hi, round), down));
}

/* One pass of jfdctint.c on 8 lanes of 16 bits, its rotations expanded into
 * per-input constants (z1 = (a + b) * c is a * c + b * c, exactly). */
static inline __attribute__((always_inline)) void K(fdct16_pass)(__m128i x[8], int pass1) {
  __m128i tmp0 = _mm_add_epi16(x[0], x[7]), tmp7 = _mm_sub_epi16(x[0], x[7]);
  __m128i tmp1 = _mm_add_epi16(x[1], x[6]), tmp6 = _mm_sub_epi16(x[1], x[6]);
  __m128i tmp2 = _mm_add_epi16(x[2], x[5]), tmp5 = _mm_sub_epi16(x[2], x[5]);
  __m128i tmp3 = _mm_add_epi16(x[3], x[4]), tmp4 = _mm_sub_epi16(x[3], x[4]);
  __m128i tmp10 = _mm_add_epi16(tmp0, tmp3), tmp13 = _mm_sub_epi16(tmp0, tmp3);
  __m128i tmp11 = _mm_add_epi16(tmp1, tmp2), tmp12 = _mm_sub_epi16(tmp1, tmp2);
  int down = pass1 ? CONST_BITS - PASS1_BITS : CONST_BITS + PASS1_BITS;
  __m128i round = _mm_set1_epi32(1 << (down - 1));
  if (pass1) {
    x[0] = _mm_slli_epi16(_mm_add_epi16(tmp10, tmp11), PASS1_BITS);
    x[4] = _mm_slli_epi16(_mm_sub_epi16(tmp10, tmp11), PASS1_BITS);
  } else {
    /* the sum of a whole column can reach 2^15: add in 32 bits */
    __m128i half = _mm_set1_epi32(1 << (PASS1_BITS - 1));
    x[0] = K(dot2)(tmp10, tmp11, PAIR(1, 1), half, PASS1_BITS);
    x[4] = K(dot2)(tmp10, tmp11, PAIR(1, -1), half, PASS1_BITS);
  }
  x[2] = K(dot2)(tmp12, tmp13, PAIR(F_0_541, F_0_541 + F_0_765), round, down);
  x[6] = K(dot2)(tmp12, tmp13, PAIR(F_0_541 - F_1_847, F_0_541), round, down);
  x[7] = K(dot4)(tmp4, tmp5, PAIR(F_0_298 - F_0_899 - F_1_961 + F_1_175, F_1_175),
                 tmp6, tmp7, PAIR(F_1_175 - F_1_961, F_1_175 - F_0_899), round, down);
  x[5] = K(dot4)(tmp4, tmp5, PAIR(F_1_175, F_2_053 - F_2_562 - F_0_390 + F_1_175),
                 tmp6, tmp7, PAIR(F_1_175 - F_2_562, F_1_175 - F_0_390), round, down);
  x[3] = K(dot4)(tmp4, tmp5, PAIR(F_1_175 - F_1_961, F_1_175 - F_2_562),
                 tmp6, tmp7, PAIR(F_3_072 - F_2_562 - F_1_961 + F_1_175, F_1_175), round, down);
  x[1] = K(dot4)(tmp4, tmp5, PAIR(F_1_175 - F_0_899, F_1_175 - F_0_390),
                 tmp6, tmp7, PAIR(F_1_175, F_1_501 - F_0_899 - F_0_390 + F_1_175), round, down);
}

static void K(fdct_islow)(DCTELEM *data) {
  __m128i m[8];
  for (int r = 0; r < 8; r++) m[r] = _mm_loadu_si128((const __m128i *)(data + r * 8));
  /* Pass 1 runs along each row: lanes are rows. */
  K(transpose16)(m);
  K(fdct16_pass)(m, 1);
  /* Pass 2 runs down each column: lanes are columns. */
  K(transpose16)(m);
  K(fdct16_pass)(m, 0);
  for (int r = 0; r < 8; r++) _mm_storeu_si128((__m128i *)(data + r * 8), m[r]);
}

/* jcdctmgr.c's quantize: ((|x| + corr) * recip) >> (16 + shift), sign restored. The
 * two unsigned high-half products (by recip, then by scale = 2^(16 - shift)) give
 * the same floor, as long as |x| + corr fits 16 bits (it does for any FDCT output). */
static void K(quantize)(JCOEFPTR coef_block, DCTELEM *divisors, DCTELEM *workspace) {
  const __m256i *d = (const __m256i *)divisors;
  for (int i = 0; i < DCTSIZE2 / 16; i++) {
    __m256i x = _mm256_loadu_si256((const __m256i *)workspace + i);
    __m256i mag = _mm256_abs_epi16(x);
    mag = _mm256_add_epi16(mag, _mm256_loadu_si256(d + DCTSIZE2 / 16 + i));
    mag = _mm256_mulhi_epu16(mag, _mm256_loadu_si256(d + i));
    mag = _mm256_mulhi_epu16(mag, _mm256_loadu_si256(d + DCTSIZE2 / 8 + i));
    _mm256_storeu_si256((__m256i *)coef_block + i, _mm256_sign_epi16(mag, x));
  }
}

/* ---- inverse DCT (jidctint.c) ---------------------------------------------- */

/* One 1-D pass of jidctint.c over 8 lanes; x[k] is input k, results replace x. */
static inline void K(idct_pass)(i32x8 x[8], int down) {
  i32x8 round = (i32x8){} + (1 << (down - 1));
  i32x8 z2 = x[2], z3 = x[6];
  i32x8 z1 = (z2 + z3) * F_0_541;
  i32x8 tmp2 = z1 + z3 * -F_1_847;
  i32x8 tmp3 = z1 + z2 * F_0_765;
  i32x8 tmp0 = (x[0] + x[4]) << CONST_BITS;
  i32x8 tmp1 = (x[0] - x[4]) << CONST_BITS;
  i32x8 tmp10 = tmp0 + tmp3, tmp13 = tmp0 - tmp3;
  i32x8 tmp11 = tmp1 + tmp2, tmp12 = tmp1 - tmp2;

  tmp0 = x[7];
  tmp1 = x[5];
  tmp2 = x[3];
  tmp3 = x[1];
  z1 = tmp0 + tmp3;
  z2 = tmp1 + tmp2;
  z3 = tmp0 + tmp2;
  i32x8 z4 = tmp1 + tmp3;
  i32x8 z5 = (z3 + z4) * F_1_175;
  tmp0 *= F_0_298;
  tmp1 *= F_2_053;
  tmp2 *= F_3_072;
  tmp3 *= F_1_501;
  z1 *= -F_0_899;
  z2 *= -F_2_562;
  z3 = z3 * -F_1_961 + z5;
  z4 = z4 * -F_0_390 + z5;
  tmp0 += z1 + z3;
  tmp1 += z2 + z4;
  tmp2 += z2 + z3;
  tmp3 += z1 + z4;

  x[0] = (tmp10 + tmp3 + round) >> down;
  x[7] = (tmp10 - tmp3 + round) >> down;
  x[1] = (tmp11 + tmp2 + round) >> down;
  x[6] = (tmp11 - tmp2 + round) >> down;
  x[2] = (tmp12 + tmp1 + round) >> down;
  x[5] = (tmp12 - tmp1 + round) >> down;
  x[3] = (tmp13 + tmp0 + round) >> down;
  x[4] = (tmp13 - tmp0 + round) >> down;
}

static void K(idct_islow)(jpeg_component_info *compptr, JCOEFPTR coef_block,
                          JSAMPARRAY output_buf, JDIMENSION output_col) {
  const short *quant = (const short *)compptr->dct_table;
  i32x8 m[8];
  /* Pass 1 runs down each column: lanes are columns. */
  for (int k = 0; k < 8; k++)
    m[k] = K(load16s)(coef_block + k * 8) * K(load16s)(quant + k * 8);
  K(idct_pass)(m, CONST_BITS - PASS1_BITS);
  /* Pass 2 runs along each row: lanes are rows. */
  K(transpose)(m);
  K(idct_pass)(m, CONST_BITS + PASS1_BITS + 3);
  for (int k = 0; k < 8; k++) m[k] += CENTERJSAMPLE;
  K(transpose)(m);
  for (int r = 0; r < 8; r++) K(store8)(output_buf[r] + output_col, m[r]);
}

/* Pass 2 and the output of jidctint.c's scaled NxN IDCTs (the generated
 * jsimd_scaled_idct.h): `ws` holds pass 1's N rows (lanes are columns); `rows`
 * runs pass 2 on 8 rows at a time (lanes are rows) into out[0..N). */
static inline __attribute__((always_inline)) void K(scaled_rows)(
  i32x8 ws[16], i32x8 out[16], int n, void (*rows)(const i32x8 *, i32x8 *),
  JSAMPARRAY output_buf, JDIMENSION output_col) {
  for (int first = 0; first < n; first += 8) {
    i32x8 w[8];
    for (int k = 0; k < 8; k++) w[k] = ws[first + k];
    K(transpose)(w);
    rows(w, out);
    int nrows = n - first < 8 ? n - first : 8;
    for (int c0 = 0; c0 < n; c0 += 8) {
      i32x8 m[8];
      for (int j = 0; j < 8; j++) m[j] = c0 + j < n ? out[c0 + j] + CENTERJSAMPLE : (i32x8){};
      K(transpose)(m);
      int ncols = n - c0 < 8 ? n - c0 : 8;
      for (int r = 0; r < nrows; r++) {
        unsigned char px[16];
        _mm_storeu_si128((__m128i *)px, K(clamp8)(m[r]));
        memcpy(output_buf[first + r] + output_col + c0, px, ncols);
      }
    }
  }
}

#include "jsimd_scaled_idct.h"

/* jidctred.c's 4x4 (scale 1/2) and 2x2 (scale 1/4) outputs of a block. */
#define F_0_211 1730
#define F_0_509 4176
#define F_0_601 4926
#define F_0_720 5906
#define F_0_850 6967
#define F_1_061 8697
#define F_1_272 10426
#define F_1_451 11893
#define F_2_172 17799
#define F_3_624 29692

/* Dequantised coefficients are taken as 16-bit here and in idct_2x2, as
 * libjpeg-turbo's own SIMD does: they fit for every file a JPEG encoder writes
 * (|coef * q| < 2^12 for 8-bit data). */
static void K(idct_4x4)(jpeg_component_info *compptr, JCOEFPTR coef_block,
                        JSAMPARRAY output_buf, JDIMENSION output_col) {
  const __m128i *c = (const __m128i *)coef_block;
  const __m128i *q = (const __m128i *)compptr->dct_table;
#define DQ(k) _mm_mullo_epi16(_mm_loadu_si128(c + (k)), _mm_loadu_si128(q + (k)))
  __m128i d0 = DQ(0), d1 = DQ(1), d2 = DQ(2), d3 = DQ(3), d5 = DQ(5), d6 = DQ(6), d7 = DQ(7);
#undef DQ
  __m128i zero = _mm_setzero_si128();
  __m128i ws[4];
  for (int h = 0; h < 2; h++) {
    /* h = 0: columns 0-3, h = 1: columns 4-7, as pairs for madd */
#define UNP(a, b) (h ? _mm_unpackhi_epi16(a, b) : _mm_unpacklo_epi16(a, b))
    __m128i tmp0 = _mm_madd_epi16(UNP(d0, zero), PAIR(1 << (CONST_BITS + 1), 0));
    __m128i tmp2 = _mm_madd_epi16(UNP(d2, d6), PAIR(F_1_847, -F_0_765));
    __m128i tmp10 = _mm_add_epi32(tmp0, tmp2), tmp12 = _mm_sub_epi32(tmp0, tmp2);
    __m128i p75 = UNP(d7, d5), p31 = UNP(d3, d1);
    tmp0 = _mm_add_epi32(_mm_madd_epi16(p75, PAIR(-F_0_211, F_1_451)),
                         _mm_madd_epi16(p31, PAIR(-F_2_172, F_1_061)));
    tmp2 = _mm_add_epi32(_mm_madd_epi16(p75, PAIR(-F_0_509, -F_0_601)),
                         _mm_madd_epi16(p31, PAIR(F_0_899, F_2_562)));
#undef UNP
    const int down = CONST_BITS - PASS1_BITS + 1;
    __m128i rnd = _mm_set1_epi32(1 << (down - 1));
    __m128i r0 = _mm_srai_epi32(_mm_add_epi32(_mm_add_epi32(tmp10, tmp2), rnd), down);
    __m128i r3 = _mm_srai_epi32(_mm_add_epi32(_mm_sub_epi32(tmp10, tmp2), rnd), down);
    __m128i r1 = _mm_srai_epi32(_mm_add_epi32(_mm_add_epi32(tmp12, tmp0), rnd), down);
    __m128i r2 = _mm_srai_epi32(_mm_add_epi32(_mm_sub_epi32(tmp12, tmp0), rnd), down);
    if (h == 0) {
      ws[0] = r0; ws[1] = r1; ws[2] = r2; ws[3] = r3;
    } else {
      ws[0] = _mm_packs_epi32(ws[0], r0);
      ws[1] = _mm_packs_epi32(ws[1], r1);
      ws[2] = _mm_packs_epi32(ws[2], r2);
      ws[3] = _mm_packs_epi32(ws[3], r3);
    }
  }
  /* Pass 2, per row: each output is a dot product of the row's 8 entries (entry 4
   * is not used; jidctred.c skips that column). */
  const __m128i k0 = _mm_setr_epi16(1 << (CONST_BITS + 1), F_2_562, F_1_847, F_0_899, 0,
                                    -F_0_601, -F_0_765, -F_0_509);
  const __m128i k3 = _mm_setr_epi16(1 << (CONST_BITS + 1), -F_2_562, F_1_847, -F_0_899, 0,
                                    F_0_601, -F_0_765, F_0_509);
  const __m128i k1 = _mm_setr_epi16(1 << (CONST_BITS + 1), F_1_061, -F_1_847, -F_2_172, 0,
                                    F_1_451, F_0_765, -F_0_211);
  const __m128i k2 = _mm_setr_epi16(1 << (CONST_BITS + 1), -F_1_061, -F_1_847, F_2_172, 0,
                                    -F_1_451, F_0_765, F_0_211);
  const int down = CONST_BITS + PASS1_BITS + 3 + 1;
  __m128i rnd = _mm_set1_epi32((1 << (down - 1)) + (CENTERJSAMPLE << down));
  for (int r = 0; r < 4; r++) {
    __m128i s01 = _mm_hadd_epi32(_mm_madd_epi16(ws[r], k0), _mm_madd_epi16(ws[r], k1));
    __m128i s23 = _mm_hadd_epi32(_mm_madd_epi16(ws[r], k2), _mm_madd_epi16(ws[r], k3));
    __m128i o = _mm_srai_epi32(_mm_add_epi32(_mm_hadd_epi32(s01, s23), rnd), down);
    o = _mm_packs_epi32(o, o);
    int px = _mm_cvtsi128_si32(_mm_packus_epi16(o, o));
    memcpy(output_buf[r] + output_col, &px, 4);
  }
}

static void K(idct_2x2)(jpeg_component_info *compptr, JCOEFPTR coef_block,
                        JSAMPARRAY output_buf, JDIMENSION output_col) {
  const __m128i *c = (const __m128i *)coef_block;
  const __m128i *q = (const __m128i *)compptr->dct_table;
#define DQ(k) _mm_mullo_epi16(_mm_loadu_si128(c + (k)), _mm_loadu_si128(q + (k)))
  __m128i d0 = DQ(0), d1 = DQ(1), d3 = DQ(3), d5 = DQ(5), d7 = DQ(7);
#undef DQ
  const __m128i k75 = _mm_setr_epi16(-F_0_720, F_0_850, -F_0_720, F_0_850, -F_0_720,
                                     F_0_850, -F_0_720, F_0_850);
  const __m128i k31 = _mm_setr_epi16(-F_1_272, F_3_624, -F_1_272, F_3_624, -F_1_272,
                                     F_3_624, -F_1_272, F_3_624);
  i32x8 tmp0 = (i32x8)_mm256_add_epi32(
    _mm256_set_m128i(_mm_madd_epi16(_mm_unpackhi_epi16(d7, d5), k75),
                     _mm_madd_epi16(_mm_unpacklo_epi16(d7, d5), k75)),
    _mm256_set_m128i(_mm_madd_epi16(_mm_unpackhi_epi16(d3, d1), k31),
                     _mm_madd_epi16(_mm_unpacklo_epi16(d3, d1), k31)));
  i32x8 tmp10 = (i32x8)_mm256_cvtepi16_epi32(d0) << (CONST_BITS + 2);
  i32x8 round = (i32x8){} + (1 << (CONST_BITS - PASS1_BITS + 1));
  i32x8 w0 = (tmp10 + tmp0 + round) >> (CONST_BITS - PASS1_BITS + 2);
  i32x8 w1 = (tmp10 - tmp0 + round) >> (CONST_BITS - PASS1_BITS + 2);
  /* Pass 2: each row's odd terms are a dot product across its lanes. */
  const i32x8 odd = {0, F_3_624, 0, -F_1_272, 0, F_0_850, 0, -F_0_720};
  __m256i d = _mm256_hadd_epi32((__m256i)(w0 * odd), (__m256i)(w1 * odd));
  d = _mm256_hadd_epi32(d, d);
  /* lanes 0, 4: row 0's halves; lanes 1, 5: row 1's. */
  __m128i t0 = _mm_add_epi32(_mm256_castsi256_si128(d), _mm256_extracti128_si256(d, 1));
  __m128i t10 = _mm_slli_epi32(_mm_unpacklo_epi32(_mm256_castsi256_si128((__m256i)w0),
                                                  _mm256_castsi256_si128((__m256i)w1)),
                               CONST_BITS + 2);
  const int down = CONST_BITS + PASS1_BITS + 3 + 2;
  __m128i rnd = _mm_set1_epi32((1 << (down - 1)) + (CENTERJSAMPLE << down));
  /* (a0, a1, b0, b1): rows' first and second outputs. */
  __m128i ab = _mm_srai_epi32(
    _mm_add_epi32(_mm_unpacklo_epi64(_mm_add_epi32(t10, t0), _mm_sub_epi32(t10, t0)), rnd),
    down);
  ab = _mm_packus_epi16(_mm_packs_epi32(ab, ab), ab);
  int px = _mm_cvtsi128_si32(ab);
  output_buf[0][output_col] = (JSAMPLE)px;
  output_buf[0][output_col + 1] = (JSAMPLE)(px >> 16);
  output_buf[1][output_col] = (JSAMPLE)(px >> 8);
  output_buf[1][output_col + 1] = (JSAMPLE)(px >> 24);
}

/* ---- colour (jccolext.c, jdcolext.c, jdmrgext.c) ------------------------- */

#define Y_R 19595
#define Y_G 38470
#define Y_B 7471
#define CB_R 11059
#define CB_G 21709
#define CR_G 27439
#define CR_B 5329
#define HALF 32768
#define CBCR_OFF ((128 << 16) + HALF - 1)

static void K(rgb_ycc_row)(const JSAMPLE *in, JSAMPLE *y, JSAMPLE *cb, JSAMPLE *cr,
                           JDIMENSION n) {
  /* jccolor.c's products, paired for madd: 0.587 = 0.337 + 0.25, and the 0.5 terms
   * are shifts. */
  const __m256i k_y_rg = _mm256_set1_epi32((22086 << 16) | Y_R);
  const __m256i k_y_bg = _mm256_set1_epi32((16384 << 16) | Y_B);
  const __m256i k_cb_rg = _mm256_set1_epi32((int)((unsigned)(-CB_G) << 16) | (-CB_R & 0xFFFF));
  const __m256i k_cr_bg = _mm256_set1_epi32((int)((unsigned)(-CR_G) << 16) | (-CR_B & 0xFFFF));
  const __m256i half = _mm256_set1_epi32(HALF), off = _mm256_set1_epi32(CBCR_OFF);
  JDIMENSION col = 0;
  for (; col + 16 <= n; col += 16) {
    __m128i r0, g0, b0, r1, g1, b1;
    K(split_rgb)(in + col * 3, &r0, &g0, &b0);
    K(split_rgb)(in + col * 3 + 24, &r1, &g1, &b1);
    __m256i r = _mm256_cvtepu8_epi16(_mm_unpacklo_epi64(r0, r1));
    __m256i g = _mm256_cvtepu8_epi16(_mm_unpacklo_epi64(g0, g1));
    __m256i b = _mm256_cvtepu8_epi16(_mm_unpacklo_epi64(b0, b1));
    __m256i rg_lo = _mm256_unpacklo_epi16(r, g), rg_hi = _mm256_unpackhi_epi16(r, g);
    __m256i bg_lo = _mm256_unpacklo_epi16(b, g), bg_hi = _mm256_unpackhi_epi16(b, g);
    /* x << 15, from x in the high half of a 32-bit lane */
    __m256i r15_lo = _mm256_srli_epi32(_mm256_unpacklo_epi16(_mm256_setzero_si256(), r), 1);
    __m256i r15_hi = _mm256_srli_epi32(_mm256_unpackhi_epi16(_mm256_setzero_si256(), r), 1);
    __m256i b15_lo = _mm256_srli_epi32(_mm256_unpacklo_epi16(_mm256_setzero_si256(), b), 1);
    __m256i b15_hi = _mm256_srli_epi32(_mm256_unpackhi_epi16(_mm256_setzero_si256(), b), 1);
#define OUT(lo, hi, dst) { \
      __m256i w = _mm256_packus_epi32(_mm256_srli_epi32(lo, 16), _mm256_srli_epi32(hi, 16)); \
      w = _mm256_packus_epi16(w, w); \
      _mm_storeu_si128((__m128i *)(dst), \
                       _mm_unpacklo_epi64(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1))); }
    __m256i ylo = _mm256_add_epi32(_mm256_add_epi32(_mm256_madd_epi16(rg_lo, k_y_rg),
                                                    _mm256_madd_epi16(bg_lo, k_y_bg)), half);
    __m256i yhi = _mm256_add_epi32(_mm256_add_epi32(_mm256_madd_epi16(rg_hi, k_y_rg),
                                                    _mm256_madd_epi16(bg_hi, k_y_bg)), half);
    OUT(ylo, yhi, y + col)
    __m256i cblo = _mm256_add_epi32(_mm256_add_epi32(_mm256_madd_epi16(rg_lo, k_cb_rg), b15_lo), off);
    __m256i cbhi = _mm256_add_epi32(_mm256_add_epi32(_mm256_madd_epi16(rg_hi, k_cb_rg), b15_hi), off);
    OUT(cblo, cbhi, cb + col)
    __m256i crlo = _mm256_add_epi32(_mm256_add_epi32(_mm256_madd_epi16(bg_lo, k_cr_bg), r15_lo), off);
    __m256i crhi = _mm256_add_epi32(_mm256_add_epi32(_mm256_madd_epi16(bg_hi, k_cr_bg), r15_hi), off);
    OUT(crlo, crhi, cr + col)
#undef OUT
  }
  for (; col < n; col++) {
    int r = in[col * 3], g = in[col * 3 + 1], b = in[col * 3 + 2];
    y[col] = (JSAMPLE)((r * Y_R + g * Y_G + b * Y_B + HALF) >> 16);
    cb[col] = (JSAMPLE)((b * HALF - r * CB_R - g * CB_G + CBCR_OFF) >> 16);
    cr[col] = (JSAMPLE)((r * HALF - g * CR_G - b * CR_B + CBCR_OFF) >> 16);
  }
}

#define CR_R 91881
#define CB_B 116130
#define CB_GD 22554
#define CR_GD 46802

/* Chroma contributions of jdcolor.c's tables: (cred, cgreen, cblue). */
static inline void K(chroma)(i32x8 cb, i32x8 cr, i32x8 *red, i32x8 *green,
                             i32x8 *blue) {
  cb -= 128;
  cr -= 128;
  *red = (cr * CR_R + HALF) >> 16;
  *blue = (cb * CB_B + HALF) >> 16;
  *green = (cb * -CB_GD + HALF + cr * -CR_GD) >> 16;
}

static inline void K(chroma1)(int cb, int cr, int *red, int *green, int *blue) {
  cb -= 128;
  cr -= 128;
  *red = (cr * CR_R + HALF) >> 16;
  *blue = (cb * CB_B + HALF) >> 16;
  *green = (cb * -CB_GD + HALF + cr * -CR_GD) >> 16;
}

static inline JSAMPLE K(limit)(int v) { return (JSAMPLE)(v < 0 ? 0 : v > 255 ? 255 : v); }

static void K(ycc_rgb_row)(const JSAMPLE *y, const JSAMPLE *cb, const JSAMPLE *cr,
                           JSAMPLE *out, JDIMENSION n) {
  JDIMENSION col = 0;
  for (; col + 8 <= n; col += 8) {
    i32x8 red, green, blue, vy = K(load8)(y + col);
    K(chroma)(K(load8)(cb + col), K(load8)(cr + col), &red, &green, &blue);
    K(store_rgb)(out + col * 3, K(clamp8)(vy + red), K(clamp8)(vy + green),
                 K(clamp8)(vy + blue));
  }
  for (; col < n; col++) {
    int red, green, blue;
    K(chroma1)(cb[col], cr[col], &red, &green, &blue);
    out[col * 3] = K(limit)(y[col] + red);
    out[col * 3 + 1] = K(limit)(y[col] + green);
    out[col * 3 + 2] = K(limit)(y[col] + blue);
  }
}

/* One output row of a merged (h2) upsample: each chroma sample colours 2 pixels. */
static void K(merged_row)(const JSAMPLE *y, const JSAMPLE *cb, const JSAMPLE *cr,
                          JSAMPLE *out, JDIMENSION width) {
  JDIMENSION pairs = width >> 1, i = 0;
  for (; i + 8 <= pairs; i += 8) {
    i32x8 red, green, blue;
    K(chroma)(K(load8)(cb + i), K(load8)(cr + i), &red, &green, &blue);
    __m128i yy = _mm_shuffle_epi8(
      _mm_loadu_si128((const __m128i *)(y + 2 * i)),
      _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15));
    i32x8 ye = K(widen8)(yy), yo = K(widen8)(_mm_srli_si128(yy, 8));
    __m128i r = _mm_unpacklo_epi8(K(clamp8)(ye + red), K(clamp8)(yo + red));
    __m128i g = _mm_unpacklo_epi8(K(clamp8)(ye + green), K(clamp8)(yo + green));
    __m128i b = _mm_unpacklo_epi8(K(clamp8)(ye + blue), K(clamp8)(yo + blue));
    K(store_rgb)(out + 6 * i, r, g, b);
    K(store_rgb)(out + 6 * i + 24, _mm_srli_si128(r, 8), _mm_srli_si128(g, 8),
                 _mm_srli_si128(b, 8));
  }
  for (JDIMENSION col = 2 * i; col < width; col++) {
    int red, green, blue;
    K(chroma1)(cb[col >> 1], cr[col >> 1], &red, &green, &blue);
    out[col * 3] = K(limit)(y[col] + red);
    out[col * 3 + 1] = K(limit)(y[col] + green);
    out[col * 3 + 2] = K(limit)(y[col] + blue);
  }
}

/* ---- chroma down- and upsampling (jcsample.c, jdsample.c) ----------------- */

static void K(h2v2_downsample)(JDIMENSION image_width, int max_v_samp, int v_samp,
                               JDIMENSION width_in_blocks, JSAMPARRAY in,
                               JSAMPARRAY out) {
  JDIMENSION out_cols = width_in_blocks * DCTSIZE;
  expand_right_edge(in, max_v_samp, image_width, out_cols * 2);
  const __m128i ones = _mm_set1_epi8(1), bias = _mm_setr_epi16(1, 2, 1, 2, 1, 2, 1, 2);
  for (int r = 0; r < v_samp; r++) {
    const JSAMPLE *a = in[2 * r], *b = in[2 * r + 1];
    for (JDIMENSION c = 0; c < out_cols; c += 8) {
      __m128i s = _mm_add_epi16(
        _mm_maddubs_epi16(_mm_loadu_si128((const __m128i *)(a + 2 * c)), ones),
        _mm_maddubs_epi16(_mm_loadu_si128((const __m128i *)(b + 2 * c)), ones));
      s = _mm_srli_epi16(_mm_add_epi16(s, bias), 2);
      _mm_storel_epi64((__m128i *)(out[r] + c), _mm_packus_epi16(s, s));
    }
  }
}

static void K(h2v1_downsample)(JDIMENSION image_width, int max_v_samp, int v_samp,
                               JDIMENSION width_in_blocks, JSAMPARRAY in,
                               JSAMPARRAY out) {
  JDIMENSION out_cols = width_in_blocks * DCTSIZE;
  expand_right_edge(in, max_v_samp, image_width, out_cols * 2);
  const __m128i ones = _mm_set1_epi8(1), bias = _mm_setr_epi16(0, 1, 0, 1, 0, 1, 0, 1);
  for (int r = 0; r < v_samp; r++) {
    const JSAMPLE *a = in[r];
    for (JDIMENSION c = 0; c < out_cols; c += 8) {
      __m128i s = _mm_maddubs_epi16(_mm_loadu_si128((const __m128i *)(a + 2 * c)), ones);
      s = _mm_srli_epi16(_mm_add_epi16(s, bias), 1);
      _mm_storel_epi64((__m128i *)(out[r] + c), _mm_packus_epi16(s, s));
    }
  }
}

/* jdsample.c's triangle filter along a row of `n` samples, whose weights come from
 * `cur` (3x) and its neighbours, edges repeated. h2v1: cur = the row, round 1/2 and
 * shift 2. h2v2: cur = column sums (3 * near row + far row), round 8/7 and shift 4. */
static void K(fancy_row)(const JSAMPLE *near, const JSAMPLE *far, JSAMPLE *out,
                         JDIMENSION n, int v2) {
  int shift = v2 ? 4 : 2, r_even = v2 ? 8 : 1, r_odd = v2 ? 7 : 2;
#define SUM(i) (v2 ? near[i] * 3 + far[i] : near[i])
  JDIMENSION i = 0;
  if (n >= 10) {
    for (i = 1; i + 9 <= n; i += 8) {
      i32x8 left = K(load8)(near + i - 1), cur = K(load8)(near + i),
            right = K(load8)(near + i + 1);
      if (v2) {
        left = left * 3 + K(load8)(far + i - 1);
        cur = cur * 3 + K(load8)(far + i);
        right = right * 3 + K(load8)(far + i + 1);
      }
      __m128i even = K(clamp8)((cur * 3 + left + r_even) >> shift);
      __m128i odd = K(clamp8)((cur * 3 + right + r_odd) >> shift);
      _mm_storeu_si128((__m128i *)(out + 2 * i), _mm_unpacklo_epi8(even, odd));
    }
  }
  JDIMENSION done = i;
  for (JDIMENSION j = 0; j < n; j++) {
    if (j >= 1 && j < done) continue;
    int cur = SUM(j);
    int left = j > 0 ? SUM(j - 1) : cur, right = j + 1 < n ? SUM(j + 1) : cur;
    out[2 * j] = (JSAMPLE)((cur * 3 + left + r_even) >> shift);
    out[2 * j + 1] = (JSAMPLE)((cur * 3 + right + r_odd) >> shift);
  }
#undef SUM
}

/* ---- Huffman coding of one block (jchuff.c encode_one_block) -------------- */

/* jchuff.c's private state, as its SIMD path hands it to jsimd: a 64-bit bit buffer
 * and the count of free bits in it (x86's convention, the same as its C path). */
typedef struct {
  union {
    size_t c;
    unsigned long long simd;
  } put_buffer;
  int free_bits;
  int last_dc_val[MAX_COMPS_IN_SCAN];
} K(savable_state);

typedef struct {
  JOCTET *next_output_byte;
  size_t free_in_buffer;
  K(savable_state) cur;
  j_compress_ptr cinfo;
  int simd;
} K(working_state);

#define EMIT_BYTE(b) { \
  buffer[0] = (JOCTET)(b); \
  buffer[1] = 0; \
  buffer -= -2 + ((JOCTET)(b) < 0xFF); \
}

#define PUT_BITS(code, size) { \
  free_bits -= (size); \
  if (free_bits < 0) { \
    put_buffer = (put_buffer << ((size) + free_bits)) | ((code) >> -free_bits); \
    if (put_buffer & 0x8080808080808080ULL & ~(put_buffer + 0x0101010101010101ULL)) { \
      for (int sh = 56; sh >= 0; sh -= 8) EMIT_BYTE(put_buffer >> sh) \
    } else { \
      unsigned long long be = __builtin_bswap64(put_buffer); \
      memcpy(buffer, &be, 8); \
      buffer += 8; \
    } \
    free_bits += 64; \
    put_buffer = (code); \
  } else { \
    put_buffer = (put_buffer << (size)) | (code); \
  } \
}

/* Bits of a coefficient's magnitude: 0 for 0. */
static inline int K(nbits)(unsigned int v) { return v ? 32 - __builtin_clz(v) : 0; }

/* The same symbols and bits as encode_one_block, but the AC loop visits only the
 * nonzero coefficients (a 64-bit mask in zigzag order) instead of all 63. */
static JOCTET *K(huff_block)(void *opaque, JOCTET *buffer, JCOEFPTR block,
                             int last_dc_val, c_derived_tbl *dctbl,
                             c_derived_tbl *actbl) {
  K(working_state) *state = opaque;
  int free_bits = state->cur.free_bits;
  unsigned long long put_buffer = state->cur.put_buffer.simd;
  int max_coef_bits = state->cinfo->data_precision + 2;
  /* Nonzero coefficients in natural order, then moved to zigzag positions: a
   * block has few, so this loops over them, not over all 64. */
  unsigned long long natural = 0;
  for (int k = 0; k < DCTSIZE2; k += 16) {
    __m256i v = _mm256_loadu_si256((const __m256i *)(block + k));
    __m256i zero = _mm256_cmpeq_epi16(v, _mm256_setzero_si256());
    __m128i packed = _mm_packs_epi16(_mm256_castsi256_si128(zero),
                                     _mm256_extracti128_si256(zero, 1));
    natural |= (unsigned long long)(~_mm_movemask_epi8(packed) & 0xFFFF) << k;
  }
  unsigned long long nonzero = 0;
  for (natural &= ~1ULL; natural; natural &= natural - 1)
    nonzero |= 1ULL << zigzag_of[__builtin_ctzll(natural)];
  int temp = block[0] - last_dc_val;
  int sign = temp >> 31;
  temp += sign;
  int nbits = K(nbits)((unsigned int)(temp ^ sign));
  if (nbits > max_coef_bits + 1) ERREXIT(state->cinfo, JERR_BAD_DCT_COEF);
  {
    unsigned long long code = ((unsigned long long)dctbl->ehufco[nbits] << nbits) |
                              ((unsigned int)temp & ((1U << nbits) - 1));
    int size = dctbl->ehufsi[nbits] + nbits;
    PUT_BITS(code, size)
  }

  int last = 0;
  while (nonzero) {
    int k = __builtin_ctzll(nonzero);
    nonzero &= nonzero - 1;
    int run = k - last - 1;
    last = k;
    temp = block[jpeg_natural_order[k]];
    sign = temp >> 31;
    temp += sign;
    nbits = K(nbits)((unsigned int)(temp ^ sign));
    if (nbits > max_coef_bits) ERREXIT(state->cinfo, JERR_BAD_DCT_COEF);
    while (run >= 16) {
      run -= 16;
      PUT_BITS((unsigned long long)actbl->ehufco[0xf0], actbl->ehufsi[0xf0])
    }
    int symbol = (run << 4) + nbits;
    unsigned long long code = ((unsigned long long)actbl->ehufco[symbol] << nbits) |
                              ((unsigned int)temp & ((1U << nbits) - 1));
    int size = actbl->ehufsi[symbol] + nbits;
    PUT_BITS(code, size)
  }
  if (last < DCTSIZE2 - 1)
    PUT_BITS((unsigned long long)actbl->ehufco[0], actbl->ehufsi[0])

  state->cur.put_buffer.simd = put_buffer;
  state->cur.free_bits = free_bits;
  return buffer;
}

#undef EMIT_BYTE
#undef PUT_BITS
