/* jconfig.h for PhotoShare's build of libjpeg-turbo 3.1.0 (build.rs, the cc crate;
 * stands in for the one CMake would generate). */
#define JPEG_LIB_VERSION  62
#define LIBJPEG_TURBO_VERSION  3.1.0
#define LIBJPEG_TURBO_VERSION_NUMBER  3001000
#define C_ARITH_CODING_SUPPORTED 1
#define D_ARITH_CODING_SUPPORTED 1
#define MEM_SRCDST_SUPPORTED  1
/* The jsimd_* kernels are native/jsimd.c, PhotoShare's own (C, no assembler). */
#define WITH_SIMD 1
#ifndef BITS_IN_JSAMPLE
#define BITS_IN_JSAMPLE  8
#endif
