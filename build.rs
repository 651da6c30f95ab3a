//! Builds libjpeg-turbo 3.1.0 (vendored under native/libjpeg-turbo) with the `cc`
//! crate: a C compiler is all it needs, no CMake or NASM. Its SIMD kernels are
//! PhotoShare's own C (native/jsimd.c), and native/jpeg.c is the small API the engine
//! calls. libjpeg-turbo compiles part of itself three times, for 8-, 12- and 16-bit
//! samples, as its CMake build does.

const CORE: &[&str] = &[
    "jcapistd", "jccolor", "jcdiffct", "jclossls", "jcmainct", "jcprepct", "jcsample", "jdapistd",
    "jdcolor", "jddiffct", "jdlossls", "jdmainct", "jdpostct", "jdsample", "jutils",
];
const LOSSY: &[&str] = &[
    "jccoefct", "jcdctmgr", "jdcoefct", "jddctmgr", "jdmerge", "jfdctfst", "jfdctint", "jidctflt",
    "jidctfst", "jidctint", "jidctred", "jquant1", "jquant2",
];
const EIGHT_BIT_ONLY: &[&str] = &[
    "jcapimin", "jchuff", "jcicc", "jcinit", "jclhuff", "jcmarker", "jcmaster", "jcomapi",
    "jcparam", "jcphuff", "jctrans", "jdapimin", "jdatadst", "jdatasrc", "jdhuff", "jdicc",
    "jdinput", "jdlhuff", "jdmarker", "jdmaster", "jdphuff", "jdtrans", "jerror", "jfdctflt",
    "jmemmgr", "jmemnobs", "jaricom", "jcarith", "jdarith",
];

fn main() {
    println!("cargo:rerun-if-changed=native");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let src = std::path::Path::new("native/libjpeg-turbo")
        .canonicalize()
        .expect("native/libjpeg-turbo is in the repository");
    let mut build = cc::Build::new();
    build
        .include("native/config")
        .include(&src)
        .opt_level(3)
        .warnings(false);
    for unit in CORE.iter().chain(LOSSY).chain(EIGHT_BIT_ONLY) {
        build.file(src.join(format!("{unit}.c")));
    }
    build
        .file("native/jsimd.c")
        .file("native/jpeg.c")
        .file("native/jpeg_nbits_table.c");
    // 12- and 16-bit copies: one wrapper file each, in a folder per precision, so
    // the object files do not collide.
    for (bits, units) in [(12, [CORE, LOSSY].concat()), (16, CORE.to_vec())] {
        let dir = out.join(format!("b{bits}"));
        std::fs::create_dir_all(&dir).expect("OUT_DIR is writable");
        for unit in units {
            let wrapper = dir.join(format!("{unit}.c"));
            let text = format!(
                "#define BITS_IN_JSAMPLE {bits}\n#include \"{}\"\n",
                src.join(format!("{unit}.c")).display()
            );
            std::fs::write(&wrapper, text).expect("OUT_DIR is writable");
            build.file(wrapper);
        }
    }
    build.compile("psjpeg");
}
