/* The JPEG calls the engine makes, over libjpeg's API: read a header, decode at
 * M/8 scale to RGB or to luma, encode RGB or grey. Errors come back as a return
 * code and libjpeg's message (its error_exit would otherwise call exit()); warnings
 * about corrupt data are not fatal, as with TurboJPEG's defaults, and nothing is
 * printed. Rust calls these through src/media/codec/ffi.rs. */

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jpeglib.h"
#include "jerror.h"

#define PS_MSG_LEN 200
/* A file with more scans than this is refused: each scan re-reads the whole
 * coefficient buffer, so thousands of tiny scans make a small file cost minutes. */
#define PS_MAX_SCANS 500

typedef struct {
  int width;
  int height;
  int components;
  int gray;
  int progressive;
} ps_jpeg_info;

struct ps_error {
  struct jpeg_error_mgr pub;
  jmp_buf jump;
  char *msg;
};

static void ps_error_exit(j_common_ptr cinfo) {
  struct ps_error *err = (struct ps_error *)cinfo->err;
  if (err->msg) (*cinfo->err->format_message)(cinfo, err->msg);
  longjmp(err->jump, 1);
}

static void ps_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void ps_init_error(struct ps_error *err, char *msg) {
  jpeg_std_error(&err->pub);
  err->pub.error_exit = ps_error_exit;
  err->pub.output_message = ps_output_message;
  err->msg = msg;
  if (msg) msg[0] = 0;
}

struct ps_progress {
  struct jpeg_progress_mgr pub;
  j_decompress_ptr cinfo;
};

static void ps_progress_monitor(j_common_ptr cinfo) {
  j_decompress_ptr d = (j_decompress_ptr)cinfo;
  if (d->is_decompressor && d->input_scan_number > PS_MAX_SCANS) {
    struct ps_error *err = (struct ps_error *)cinfo->err;
    if (err->msg) snprintf(err->msg, PS_MSG_LEN, "more than %d scans", PS_MAX_SCANS);
    longjmp(err->jump, 1);
  }
}

int ps_jpeg_read_info(const unsigned char *data, size_t len, ps_jpeg_info *info,
                      char *msg) {
  struct jpeg_decompress_struct cinfo;
  struct ps_error err;
  ps_init_error(&err, msg);
  cinfo.err = &err.pub;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return -1;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, (unsigned long)len);
  jpeg_read_header(&cinfo, TRUE);
  info->width = (int)cinfo.image_width;
  info->height = (int)cinfo.image_height;
  info->components = cinfo.num_components;
  info->gray = cinfo.jpeg_color_space == JCS_GRAYSCALE;
  info->progressive = cinfo.progressive_mode;
  jpeg_destroy_decompress(&cinfo);
  return 0;
}

/* Asked for the output buffer once the scaled size is known; returns NULL to give up
 * (the size is too large). Rows are `width * channels` bytes, no padding. */
typedef unsigned char *(*ps_alloc_fn)(void *ctx, size_t width, size_t height,
                                      size_t channels);

/* `warnings` (may be NULL) gets how many warnings libjpeg raised: data that ends
 * early, corrupt entropy data, ... The pixels are still delivered (missing parts
 * grey), as TurboJPEG does; callers that must know the file is whole check it. */
int ps_jpeg_decode(const unsigned char *data, size_t len, int eighths, int luma,
                   int fast_upsample, ps_alloc_fn alloc, void *ctx, char *msg,
                   long *warnings) {
  struct jpeg_decompress_struct cinfo;
  struct ps_error err;
  struct ps_progress progress;
  ps_init_error(&err, msg);
  cinfo.err = &err.pub;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return -1;
  }
  jpeg_create_decompress(&cinfo);
  progress.pub.progress_monitor = ps_progress_monitor;
  progress.cinfo = &cinfo;
  cinfo.progress = &progress.pub;
  jpeg_mem_src(&cinfo, data, (unsigned long)len);
  jpeg_read_header(&cinfo, TRUE);
  cinfo.scale_num = (unsigned int)eighths;
  cinfo.scale_denom = 8;
  cinfo.dct_method = JDCT_ISLOW;
  /* Block smoothing only guesses the AC of a progressive file whose scans are
   * missing (a preview of a partial download): for a whole file it never runs,
   * and for one the engine cut on purpose (src/media/engine/decode.rs) it would
   * undo the saving. */
  cinfo.do_block_smoothing = FALSE;
  cinfo.do_fancy_upsampling = fast_upsample ? FALSE : TRUE;
  if (luma || cinfo.jpeg_color_space == JCS_GRAYSCALE)
    cinfo.out_color_space = JCS_GRAYSCALE;
  else
    cinfo.out_color_space = JCS_EXT_RGB;
  jpeg_calc_output_dimensions(&cinfo);
  size_t width = cinfo.output_width, height = cinfo.output_height;
  size_t channels = (size_t)cinfo.out_color_components;
  unsigned char *out = alloc(ctx, width, height, channels);
  if (!out) {
    if (msg) snprintf(msg, PS_MSG_LEN, "output of %zux%zu refused", width, height);
    jpeg_destroy_decompress(&cinfo);
    return -2;
  }
  jpeg_start_decompress(&cinfo);
  size_t pitch = width * channels;
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW rows[4];
    int n = 0;
    while (n < 4 && cinfo.output_scanline + n < cinfo.output_height) {
      rows[n] = out + (cinfo.output_scanline + n) * pitch;
      n++;
    }
    jpeg_read_scanlines(&cinfo, rows, (JDIMENSION)n);
  }
  jpeg_finish_decompress(&cinfo);
  if (warnings) *warnings = err.pub.num_warnings;
  jpeg_destroy_decompress(&cinfo);
  return 0;
}

/* A destination that grows one malloc'ed buffer, owned here until it is handed
 * out (libjpeg's jpeg_mem_dest frees and replaces buffers behind the caller's
 * pointer, which an error half-way would turn into a double free). */
struct ps_dest {
  struct jpeg_destination_mgr pub;
  unsigned char *buf;
  size_t cap;
};

static void ps_dest_init(j_compress_ptr cinfo) { (void)cinfo; }

static boolean ps_dest_grow(j_compress_ptr cinfo) {
  struct ps_dest *d = (struct ps_dest *)cinfo->dest;
  size_t cap = d->cap * 2;
  unsigned char *next = realloc(d->buf, cap);
  if (!next) ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 10);
  d->pub.next_output_byte = next + d->cap;
  d->pub.free_in_buffer = cap - d->cap;
  d->buf = next;
  d->cap = cap;
  return TRUE;
}

static void ps_dest_term(j_compress_ptr cinfo) { (void)cinfo; }

/* Makes `dest` (its buffer already malloc'ed) the encoder's destination. */
static void ps_dest_attach(j_compress_ptr cinfo, struct ps_dest *dest) {
  dest->pub.init_destination = ps_dest_init;
  dest->pub.empty_output_buffer = ps_dest_grow;
  dest->pub.term_destination = ps_dest_term;
  dest->pub.next_output_byte = dest->buf;
  dest->pub.free_in_buffer = dest->cap;
  cinfo->dest = &dest->pub;
}

/* Baseline (or progressive) JPEG of `channels` 1 (grey) or 3 (RGB, with chroma
 * sampled 2x2 (4:2:0), 2x1 (4:2:2) or 1x1 (4:4:4) as `h_samp` x `v_samp` of luma).
 * The output is malloc'ed; free it with ps_jpeg_free. */
int ps_jpeg_encode(const unsigned char *pixels, int width, int height, int channels,
                   int quality, int progressive, int h_samp, int v_samp,
                   unsigned char **out, size_t *out_len, char *msg) {
  struct jpeg_compress_struct cinfo;
  struct ps_error err;
  struct ps_dest dest;
  ps_init_error(&err, msg);
  cinfo.err = &err.pub;
  *out = NULL;
  *out_len = 0;
  dest.cap = 16384 + (size_t)width * (size_t)height * (size_t)channels / 8;
  dest.buf = malloc(dest.cap);
  if (!dest.buf) return -1;
  if (setjmp(err.jump)) {
    jpeg_destroy_compress(&cinfo);
    free(dest.buf);
    return -1;
  }
  jpeg_create_compress(&cinfo);
  ps_dest_attach(&cinfo, &dest);
  cinfo.image_width = (JDIMENSION)width;
  cinfo.image_height = (JDIMENSION)height;
  cinfo.input_components = channels;
  cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_EXT_RGB;
  jpeg_set_defaults(&cinfo);
  cinfo.dct_method = JDCT_ISLOW;
  jpeg_set_quality(&cinfo, quality, TRUE);
  if (channels != 1) {
    cinfo.comp_info[0].h_samp_factor = h_samp;
    cinfo.comp_info[0].v_samp_factor = v_samp;
  }
  if (progressive) jpeg_simple_progression(&cinfo);
  jpeg_start_compress(&cinfo, TRUE);
  size_t pitch = (size_t)width * (size_t)channels;
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = (JSAMPROW)(pixels + (size_t)cinfo.next_scanline * pitch);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  *out_len = dest.cap - dest.pub.free_in_buffer;
  *out = dest.buf;
  jpeg_destroy_compress(&cinfo);
  return 0;
}

/* The same coefficients written again as one baseline (sequential) scan with
 * optimised Huffman tables: a lossless copy that decodes to the very same pixels,
 * with no whole-image coefficient buffer and none of the progressive entropy
 * decoder's cost. ICC profiles (APP2) go with it; the rest was stripped at upload.
 * The output is malloc'ed; free it with ps_jpeg_free. */
int ps_jpeg_baseline(const unsigned char *data, size_t len, unsigned char **out,
                     size_t *out_len, char *msg) {
  struct jpeg_decompress_struct src;
  struct jpeg_compress_struct dst;
  struct ps_error err;
  struct ps_progress progress;
  struct ps_dest dest;
  memset(&src, 0, sizeof src);
  memset(&dst, 0, sizeof dst);
  ps_init_error(&err, msg);
  src.err = &err.pub;
  dst.err = &err.pub;
  *out = NULL;
  *out_len = 0;
  dest.cap = 65536 + len;
  dest.buf = malloc(dest.cap);
  if (!dest.buf) return -1;
  if (setjmp(err.jump)) {
    jpeg_destroy_compress(&dst);
    jpeg_destroy_decompress(&src);
    free(dest.buf);
    return -1;
  }
  jpeg_create_decompress(&src);
  jpeg_create_compress(&dst);
  progress.pub.progress_monitor = ps_progress_monitor;
  progress.cinfo = &src;
  src.progress = &progress.pub;
  jpeg_mem_src(&src, data, (unsigned long)len);
  jpeg_save_markers(&src, JPEG_APP0 + 2, 0xFFFF);
  jpeg_read_header(&src, TRUE);
  jvirt_barray_ptr *coefficients = jpeg_read_coefficients(&src);
  ps_dest_attach(&dst, &dest);
  jpeg_copy_critical_parameters(&src, &dst);
  dst.optimize_coding = TRUE;
  jpeg_write_coefficients(&dst, coefficients);
  for (jpeg_saved_marker_ptr m = src.marker_list; m; m = m->next)
    jpeg_write_marker(&dst, m->marker, m->data, m->data_length);
  jpeg_finish_compress(&dst);
  jpeg_finish_decompress(&src);
  *out_len = dest.cap - dest.pub.free_in_buffer;
  *out = dest.buf;
  jpeg_destroy_compress(&dst);
  jpeg_destroy_decompress(&src);
  return 0;
}

void ps_jpeg_free(unsigned char *p) { free(p); }
