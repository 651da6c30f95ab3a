/* PhotoShare's jsimd_* kernels for libjpeg-turbo (built by build.rs without NASM).
 *
 * libjpeg-turbo asks `jsimd_can_X()` once per image and, when it answers 1, calls
 * `jsimd_X()` instead of its own C routine. The kernels here compute exactly what
 * libjpeg-turbo's C routines compute (same integer formulas, same rounding): they are
 * written as plain loops over independent lanes, which the compiler vectorises, and
 * compiled twice (AVX2 and the baseline) with the better one chosen at run time.
 * `JSIMD_FORCENONE=1` in the environment turns them all off, as it does upstream;
 * tests use it to check the outputs are bit-identical either way. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define JPEG_INTERNALS
#include "jinclude.h"
#include "jpeglib.h"
#include "jdct.h"
#include "jsimddct.h"
#include "jsimd.h"
#include "jerror.h"

/* The kernels need x86-64 with AVX2 (checked at run time) and GCC or Clang;
 * anywhere else libjpeg-turbo's own C runs. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define PS_KERNELS 1
#endif

#ifdef PS_KERNELS

#include <immintrin.h>

typedef int32_t i32x8 __attribute__((vector_size(32)));
typedef uint32_t u32x8 __attribute__((vector_size(32)));

/* The zigzag index of each natural-order position (the inverse of
 * jpeg_natural_order). */
static const unsigned char zigzag_of[DCTSIZE2] = {
  0,  1,  5,  6,  14, 15, 27, 28, 2,  4,  7,  13, 16, 26, 29, 42,
  3,  8,  12, 17, 25, 30, 41, 43, 9,  11, 18, 24, 31, 40, 44, 53,
  10, 19, 23, 32, 39, 45, 52, 54, 20, 22, 33, 38, 46, 51, 55, 60,
  21, 34, 37, 47, 50, 56, 59, 61, 35, 36, 48, 49, 57, 58, 62, 63};

/* jcsample.c's: replicate each row's last sample out to `output_cols`. */
static void expand_right_edge(JSAMPARRAY image_data, int num_rows,
                              JDIMENSION input_cols, JDIMENSION output_cols) {
  if (output_cols <= input_cols) return;
  for (int row = 0; row < num_rows; row++) {
    JSAMPROW ptr = image_data[row] + input_cols;
    memset(ptr, ptr[-1], output_cols - input_cols);
  }
}

#define K(name) name##_avx2
#ifdef __clang__
#pragma clang attribute push(__attribute__((target("avx2,bmi,bmi2,lzcnt"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,bmi,bmi2,lzcnt")
#endif
#include "jsimd_kernels.h"
#ifdef __clang__
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

static int state = -1; /* -1 not asked yet, 0 off, 1 on */

static int level(void) {
  if (state < 0) {
    const char *env = getenv("JSIMD_FORCENONE");
    state = !(env && env[0] == '1') && __builtin_cpu_supports("avx2") &&
            __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("lzcnt");
  }
  return state;
}

#define DISPATCH(name, ...) name##_avx2(__VA_ARGS__)

#else
static int level(void) { return 0; }
#define DISPATCH(name, ...) ((void)0)
#endif

/* Whether a colour layout is plain 3-byte R, G, B (the one the kernels handle). */
static int plain_rgb(J_COLOR_SPACE cs) {
  return rgb_pixelsize[cs] == 3 && rgb_red[cs] == 0 && rgb_green[cs] == 1 &&
         rgb_blue[cs] == 2;
}

/* ---- accelerated ---------------------------------------------------------- */

GLOBAL(int) jsimd_can_convsamp(void) { return level() > 0; }
GLOBAL(void) jsimd_convsamp(JSAMPARRAY sample_data, JDIMENSION start_col,
                            DCTELEM *workspace) {
  DISPATCH(convsamp, sample_data, start_col, workspace);
}

GLOBAL(int) jsimd_can_fdct_islow(void) { return level() > 0; }
GLOBAL(void) jsimd_fdct_islow(DCTELEM *data) { DISPATCH(fdct_islow, data); }

GLOBAL(int) jsimd_can_quantize(void) { return level() > 0; }
GLOBAL(void) jsimd_quantize(JCOEFPTR coef_block, DCTELEM *divisors,
                            DCTELEM *workspace) {
  DISPATCH(quantize, coef_block, divisors, workspace);
}

GLOBAL(int) jsimd_can_idct_islow(void) { return level() > 0; }
GLOBAL(void) jsimd_idct_islow(j_decompress_ptr cinfo, jpeg_component_info *compptr,
                              JCOEFPTR coef_block, JSAMPARRAY output_buf,
                              JDIMENSION output_col) {
  (void)cinfo;
  DISPATCH(idct_islow, compptr, coef_block, output_buf, output_col);
}

/* jidctint.c's scaled sizes, reached through PhotoShare's patch of jddctmgr.c
 * (libjpeg-turbo itself hooks SIMD only for 1/4, 1/2 and full size). */
#define SCALED(n) \
  static void idct_##n##x##n(j_decompress_ptr cinfo, jpeg_component_info *compptr, \
                             JCOEFPTR coef_block, JSAMPARRAY output_buf, \
                             JDIMENSION output_col) { \
    (void)cinfo; \
    DISPATCH(idct_##n##x##n, compptr, coef_block, output_buf, output_col); \
  }
SCALED(3) SCALED(5) SCALED(6) SCALED(7) SCALED(10) SCALED(12) SCALED(14)
#undef SCALED

GLOBAL(inverse_DCT_method_ptr) ps_jsimd_idct_scaled(int size) {
  if (!level()) return NULL;
  switch (size) {
  case 3: return idct_3x3;
  case 5: return idct_5x5;
  case 6: return idct_6x6;
  case 7: return idct_7x7;
  case 10: return idct_10x10;
  case 12: return idct_12x12;
  case 14: return idct_14x14;
  default: return NULL;
  }
}

GLOBAL(int) jsimd_can_idct_6x6(void) { return 0; }
GLOBAL(void) jsimd_idct_6x6(j_decompress_ptr cinfo, jpeg_component_info *compptr,
                            JCOEFPTR coef_block, JSAMPARRAY output_buf,
                            JDIMENSION output_col) {}

GLOBAL(int) jsimd_can_idct_4x4(void) { return level() > 0; }
GLOBAL(void) jsimd_idct_4x4(j_decompress_ptr cinfo, jpeg_component_info *compptr,
                            JCOEFPTR coef_block, JSAMPARRAY output_buf,
                            JDIMENSION output_col) {
  (void)cinfo;
  DISPATCH(idct_4x4, compptr, coef_block, output_buf, output_col);
}

GLOBAL(int) jsimd_can_idct_2x2(void) { return level() > 0; }
GLOBAL(void) jsimd_idct_2x2(j_decompress_ptr cinfo, jpeg_component_info *compptr,
                            JCOEFPTR coef_block, JSAMPARRAY output_buf,
                            JDIMENSION output_col) {
  (void)cinfo;
  DISPATCH(idct_2x2, compptr, coef_block, output_buf, output_col);
}

/* Colour conversion is asked for once per image, before the layout is known: the
 * kernels take 3-byte RGB, any other layout gets the same formulas here. */
GLOBAL(int) jsimd_can_rgb_ycc(void) { return level() > 0; }
GLOBAL(void) jsimd_rgb_ycc_convert(j_compress_ptr cinfo, JSAMPARRAY input_buf,
                                   JSAMPIMAGE output_buf, JDIMENSION output_row,
                                   int num_rows) {
  J_COLOR_SPACE cs = cinfo->in_color_space;
  int ps = rgb_pixelsize[cs], ro = rgb_red[cs], go = rgb_green[cs], bo = rgb_blue[cs];
  JDIMENSION n = cinfo->image_width;
  for (int row = 0; row < num_rows; row++, output_row++) {
    JSAMPROW in = input_buf[row], y = output_buf[0][output_row],
             cb = output_buf[1][output_row], cr = output_buf[2][output_row];
    if (plain_rgb(cs)) {
      DISPATCH(rgb_ycc_row, in, y, cb, cr, n);
      continue;
    }
    for (JDIMENSION col = 0; col < n; col++, in += ps) {
      int r = in[ro], g = in[go], b = in[bo];
      y[col] = (JSAMPLE)((r * 19595 + g * 38470 + b * 7471 + 32768) >> 16);
      cb[col] = (JSAMPLE)((b * 32768 - r * 11059 - g * 21709 + (128 << 16) + 32767) >> 16);
      cr[col] = (JSAMPLE)((r * 32768 - g * 27439 - b * 5329 + (128 << 16) + 32767) >> 16);
    }
  }
}

static JSAMPLE clamp255(int v) { return (JSAMPLE)(v < 0 ? 0 : v > 255 ? 255 : v); }

/* Any layout but plain RGB: one pixel at a time, alpha/padding bytes opaque. */
static void ycc_rgb_pixel(J_COLOR_SPACE cs, JSAMPROW out, int y, int cb, int cr) {
  cb -= 128;
  cr -= 128;
  out[rgb_red[cs]] = clamp255(y + ((cr * 91881 + 32768) >> 16));
  out[rgb_green[cs]] = clamp255(y + ((cb * -22554 + 32768 + cr * -46802) >> 16));
  out[rgb_blue[cs]] = clamp255(y + ((cb * 116130 + 32768) >> 16));
  if (rgb_pixelsize[cs] == 4)
    out[6 - rgb_red[cs] - rgb_green[cs] - rgb_blue[cs]] = 0xFF;
}

GLOBAL(int) jsimd_can_ycc_rgb(void) { return level() > 0; }
GLOBAL(void) jsimd_ycc_rgb_convert(j_decompress_ptr cinfo, JSAMPIMAGE input_buf,
                                   JDIMENSION input_row, JSAMPARRAY output_buf,
                                   int num_rows) {
  J_COLOR_SPACE cs = cinfo->out_color_space;
  JDIMENSION n = cinfo->output_width;
  for (int row = 0; row < num_rows; row++, input_row++) {
    JSAMPROW y = input_buf[0][input_row], cb = input_buf[1][input_row],
             cr = input_buf[2][input_row], out = output_buf[row];
    if (plain_rgb(cs)) {
      DISPATCH(ycc_rgb_row, y, cb, cr, out, n);
      continue;
    }
    for (JDIMENSION col = 0; col < n; col++)
      ycc_rgb_pixel(cs, out + col * rgb_pixelsize[cs], y[col], cb[col], cr[col]);
  }
}

static void merged_row(j_decompress_ptr cinfo, JSAMPROW y, JSAMPROW cb, JSAMPROW cr,
                       JSAMPROW out) {
  J_COLOR_SPACE cs = cinfo->out_color_space;
  JDIMENSION n = cinfo->output_width;
  if (plain_rgb(cs)) {
    DISPATCH(merged_row, y, cb, cr, out, n);
    return;
  }
  for (JDIMENSION col = 0; col < n; col++)
    ycc_rgb_pixel(cs, out + col * rgb_pixelsize[cs], y[col], cb[col >> 1], cr[col >> 1]);
}

GLOBAL(int) jsimd_can_h2v1_merged_upsample(void) { return level() > 0; }
GLOBAL(void) jsimd_h2v1_merged_upsample(j_decompress_ptr cinfo, JSAMPIMAGE input_buf,
                                        JDIMENSION in_row_group_ctr,
                                        JSAMPARRAY output_buf) {
  merged_row(cinfo, input_buf[0][in_row_group_ctr], input_buf[1][in_row_group_ctr],
             input_buf[2][in_row_group_ctr], output_buf[0]);
}

GLOBAL(int) jsimd_can_h2v2_merged_upsample(void) { return level() > 0; }
GLOBAL(void) jsimd_h2v2_merged_upsample(j_decompress_ptr cinfo, JSAMPIMAGE input_buf,
                                        JDIMENSION in_row_group_ctr,
                                        JSAMPARRAY output_buf) {
  JSAMPROW cb = input_buf[1][in_row_group_ctr], cr = input_buf[2][in_row_group_ctr];
  merged_row(cinfo, input_buf[0][in_row_group_ctr * 2], cb, cr, output_buf[0]);
  merged_row(cinfo, input_buf[0][in_row_group_ctr * 2 + 1], cb, cr, output_buf[1]);
}

GLOBAL(int) jsimd_can_h2v2_downsample(void) { return level() > 0; }
GLOBAL(void) jsimd_h2v2_downsample(j_compress_ptr cinfo, jpeg_component_info *compptr,
                                   JSAMPARRAY input_data, JSAMPARRAY output_data) {
  DISPATCH(h2v2_downsample, cinfo->image_width, cinfo->max_v_samp_factor,
           compptr->v_samp_factor, compptr->width_in_blocks, input_data, output_data);
}

GLOBAL(int) jsimd_can_h2v1_downsample(void) { return level() > 0; }
GLOBAL(void) jsimd_h2v1_downsample(j_compress_ptr cinfo, jpeg_component_info *compptr,
                                   JSAMPARRAY input_data, JSAMPARRAY output_data) {
  DISPATCH(h2v1_downsample, cinfo->image_width, cinfo->max_v_samp_factor,
           compptr->v_samp_factor, compptr->width_in_blocks, input_data, output_data);
}

GLOBAL(int) jsimd_can_h2v1_fancy_upsample(void) { return level() > 0; }
GLOBAL(void) jsimd_h2v1_fancy_upsample(j_decompress_ptr cinfo,
                                       jpeg_component_info *compptr,
                                       JSAMPARRAY input_data,
                                       JSAMPARRAY *output_data_ptr) {
  JSAMPARRAY out = *output_data_ptr;
  for (int r = 0; r < cinfo->max_v_samp_factor; r++)
    DISPATCH(fancy_row, input_data[r], input_data[r], out[r],
             compptr->downsampled_width, 0);
}

GLOBAL(int) jsimd_can_h2v2_fancy_upsample(void) { return level() > 0; }
GLOBAL(void) jsimd_h2v2_fancy_upsample(j_decompress_ptr cinfo,
                                       jpeg_component_info *compptr,
                                       JSAMPARRAY input_data,
                                       JSAMPARRAY *output_data_ptr) {
  JSAMPARRAY out = *output_data_ptr;
  for (int inrow = 0, outrow = 0; outrow < cinfo->max_v_samp_factor; inrow++) {
    DISPATCH(fancy_row, input_data[inrow], input_data[inrow - 1], out[outrow++],
             compptr->downsampled_width, 1);
    DISPATCH(fancy_row, input_data[inrow], input_data[inrow + 1], out[outrow++],
             compptr->downsampled_width, 1);
  }
}

GLOBAL(int) jsimd_can_huff_encode_one_block(void) { return level() > 0; }
GLOBAL(JOCTET *) jsimd_huff_encode_one_block(void *state, JOCTET *buffer,
                                             JCOEFPTR block, int last_dc_val,
                                             c_derived_tbl *dctbl,
                                             c_derived_tbl *actbl) {
#ifdef PS_KERNELS
  return huff_block_avx2(state, buffer, block, last_dc_val, dctbl, actbl);
#else
  return buffer;
#endif
}

/* ---- left to libjpeg-turbo's C ----------------------------------------------- */

GLOBAL(int) jsimd_can_rgb_gray(void) { return 0; }
GLOBAL(int) jsimd_can_ycc_rgb565(void) { return 0; }
GLOBAL(int) jsimd_c_can_null_convert(void) { return 0; }
GLOBAL(void) jsimd_rgb_gray_convert(j_compress_ptr cinfo, JSAMPARRAY input_buf,
                                    JSAMPIMAGE output_buf, JDIMENSION output_row,
                                    int num_rows) {}
GLOBAL(void) jsimd_ycc_rgb565_convert(j_decompress_ptr cinfo, JSAMPIMAGE input_buf,
                                      JDIMENSION input_row, JSAMPARRAY output_buf,
                                      int num_rows) {}
GLOBAL(void) jsimd_c_null_convert(j_compress_ptr cinfo, JSAMPARRAY input_buf,
                                  JSAMPIMAGE output_buf, JDIMENSION output_row,
                                  int num_rows) {}
GLOBAL(int) jsimd_can_h2v2_smooth_downsample(void) { return 0; }
GLOBAL(void) jsimd_h2v2_smooth_downsample(j_compress_ptr cinfo,
                                          jpeg_component_info *compptr,
                                          JSAMPARRAY input_data,
                                          JSAMPARRAY output_data) {}
GLOBAL(int) jsimd_can_h2v2_upsample(void) { return 0; }
GLOBAL(int) jsimd_can_h2v1_upsample(void) { return 0; }
GLOBAL(int) jsimd_can_int_upsample(void) { return 0; }
GLOBAL(void) jsimd_h2v2_upsample(j_decompress_ptr cinfo, jpeg_component_info *compptr,
                                 JSAMPARRAY input_data, JSAMPARRAY *output_data_ptr) {}
GLOBAL(void) jsimd_h2v1_upsample(j_decompress_ptr cinfo, jpeg_component_info *compptr,
                                 JSAMPARRAY input_data, JSAMPARRAY *output_data_ptr) {}
GLOBAL(void) jsimd_int_upsample(j_decompress_ptr cinfo, jpeg_component_info *compptr,
                                JSAMPARRAY input_data, JSAMPARRAY *output_data_ptr) {}
GLOBAL(int) jsimd_can_h1v2_fancy_upsample(void) { return 0; }
GLOBAL(void) jsimd_h1v2_fancy_upsample(j_decompress_ptr cinfo,
                                       jpeg_component_info *compptr,
                                       JSAMPARRAY input_data,
                                       JSAMPARRAY *output_data_ptr) {}
GLOBAL(int) jsimd_can_encode_mcu_AC_first_prepare(void) { return 0; }
GLOBAL(void) jsimd_encode_mcu_AC_first_prepare(const JCOEF *block,
                                               const int *jpeg_natural_order_start,
                                               int Sl, int Al, UJCOEF *values,
                                               size_t *zerobits) {}
GLOBAL(int) jsimd_can_encode_mcu_AC_refine_prepare(void) { return 0; }
GLOBAL(int) jsimd_encode_mcu_AC_refine_prepare(const JCOEF *block,
                                               const int *jpeg_natural_order_start,
                                               int Sl, int Al, UJCOEF *absvalues,
                                               size_t *bits) {
  return 0;
}
GLOBAL(int) jsimd_can_convsamp_float(void) { return 0; }
GLOBAL(void) jsimd_convsamp_float(JSAMPARRAY sample_data, JDIMENSION start_col,
                                  FAST_FLOAT *workspace) {}
GLOBAL(int) jsimd_can_fdct_ifast(void) { return 0; }
GLOBAL(int) jsimd_can_fdct_float(void) { return 0; }
GLOBAL(void) jsimd_fdct_ifast(DCTELEM *data) {}
GLOBAL(void) jsimd_fdct_float(FAST_FLOAT *data) {}
GLOBAL(int) jsimd_can_quantize_float(void) { return 0; }
GLOBAL(void) jsimd_quantize_float(JCOEFPTR coef_block, FAST_FLOAT *divisors,
                                  FAST_FLOAT *workspace) {}
GLOBAL(int) jsimd_can_idct_12x12(void) { return 0; }
GLOBAL(void) jsimd_idct_12x12(j_decompress_ptr cinfo, jpeg_component_info *compptr,
                              JCOEFPTR coef_block, JSAMPARRAY output_buf,
                              JDIMENSION output_col) {}
GLOBAL(int) jsimd_can_idct_ifast(void) { return 0; }
GLOBAL(int) jsimd_can_idct_float(void) { return 0; }
GLOBAL(void) jsimd_idct_ifast(j_decompress_ptr cinfo, jpeg_component_info *compptr,
                              JCOEFPTR coef_block, JSAMPARRAY output_buf,
                              JDIMENSION output_col) {}
GLOBAL(void) jsimd_idct_float(j_decompress_ptr cinfo, jpeg_component_info *compptr,
                              JCOEFPTR coef_block, JSAMPARRAY output_buf,
                              JDIMENSION output_col) {}

/* Whether the kernels run in this process (AVX2 present, JSIMD_FORCENONE unset). */
int ps_jsimd_active(void) { return level() > 0; }
