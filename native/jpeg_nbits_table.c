/* libjpeg-turbo's x86 SIMD build takes its bit-count table from its assembly
 * Huffman encoder; ours has none, so the table comes from its C source. */
#define PS_NO_SIMD_HERE 1
#include "jpeg_nbits.c"
