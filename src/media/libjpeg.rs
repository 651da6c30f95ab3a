//! libjpeg-turbo, built from source by `build.rs` (no CMake, no NASM), through the
//! four calls of `native/jpeg.c`: read a header, decode at M/8 scale to RGB or luma,
//! encode RGB or grey, free what the encoder returned. libjpeg's fatal errors come
//! back as `JpegError` with its message; nothing is printed.

use std::ffi::{c_char, c_int, c_uchar, c_void, CStr};

const MSG_LEN: usize = 200;

#[repr(C)]
#[derive(Default)]
struct RawInfo {
    width: c_int,
    height: c_int,
    components: c_int,
    gray: c_int,
    progressive: c_int,
}

type AllocFn = extern "C" fn(*mut c_void, usize, usize, usize) -> *mut c_uchar;

extern "C" {
    fn ps_jpeg_read_info(
        data: *const c_uchar,
        len: usize,
        info: *mut RawInfo,
        msg: *mut c_char,
    ) -> c_int;
    fn ps_jpeg_decode(
        data: *const c_uchar,
        len: usize,
        eighths: c_int,
        luma: c_int,
        fast_upsample: c_int,
        alloc: AllocFn,
        ctx: *mut c_void,
        msg: *mut c_char,
        warnings: *mut std::ffi::c_long,
    ) -> c_int;
    fn ps_jpeg_encode(
        pixels: *const c_uchar,
        width: c_int,
        height: c_int,
        channels: c_int,
        quality: c_int,
        progressive: c_int,
        h_samp: c_int,
        v_samp: c_int,
        out: *mut *mut c_uchar,
        out_len: *mut usize,
        msg: *mut c_char,
    ) -> c_int;
    fn ps_jpeg_baseline(
        data: *const c_uchar,
        len: usize,
        out: *mut *mut c_uchar,
        out_len: *mut usize,
        msg: *mut c_char,
    ) -> c_int;
    fn ps_jpeg_free(p: *mut c_uchar);
    fn ps_jsimd_active() -> c_int;
}

/// Whether native/jsimd.c's kernels run in this process: an x86-64 CPU with AVX2,
/// BMI2 and LZCNT, and `JSIMD_FORCENONE` unset. Otherwise libjpeg-turbo's C runs.
pub fn kernels_active() -> bool {
    // SAFETY: reads a flag; no arguments.
    unsafe { ps_jsimd_active() != 0 }
}

#[derive(Debug, thiserror::Error)]
#[error("JPEG: {0}")]
pub struct JpegError(String);

fn error(msg: &[c_char; MSG_LEN]) -> JpegError {
    // SAFETY: the buffer is zeroed before each call and libjpeg writes at most
    // JMSG_LENGTH_MAX (200) bytes including the terminating NUL.
    let text = unsafe { CStr::from_ptr(msg.as_ptr()) };
    JpegError(text.to_string_lossy().into_owned())
}

/// What a JPEG's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    pub width: u32,
    pub height: u32,
    /// Greyscale colour space (one component).
    pub gray: bool,
    pub progressive: bool,
}

/// Reads the header only (no copy of the data).
pub fn info(data: &[u8]) -> Result<Info, JpegError> {
    let mut raw = RawInfo::default();
    let mut msg = [0 as c_char; MSG_LEN];
    // SAFETY: `data` outlives the call; `raw` and `msg` are valid for writes.
    let rc = unsafe { ps_jpeg_read_info(data.as_ptr(), data.len(), &mut raw, msg.as_mut_ptr()) };
    if rc != 0 {
        return Err(error(&msg));
    }
    Ok(Info {
        width: raw.width as u32,
        height: raw.height as u32,
        gray: raw.gray != 0,
        progressive: raw.progressive != 0,
    })
}

/// Decoded pixels: `channels` bytes per pixel (1 luma, 3 RGB), rows packed.
#[derive(Debug)]
pub struct Decoded {
    pub width: u32,
    pub height: u32,
    pub channels: u8,
    pub pixels: Vec<u8>,
    /// Warnings libjpeg raised (data ending early, corrupt data): the pixels are
    /// there, grey where the data was missing.
    pub warnings: u32,
}

struct Output {
    decoded: Option<Decoded>,
    max_pixels: u64,
}

extern "C" fn allocate(ctx: *mut c_void, w: usize, h: usize, channels: usize) -> *mut c_uchar {
    // SAFETY: ctx is the `Output` that `decode` passed, alive for the whole call.
    let out = unsafe { &mut *ctx.cast::<Output>() };
    let (Ok(width), Ok(height), Ok(ch)) =
        (u32::try_from(w), u32::try_from(h), u8::try_from(channels))
    else {
        return std::ptr::null_mut();
    };
    if u64::from(width) * u64::from(height) > out.max_pixels {
        return std::ptr::null_mut();
    }
    let Some(len) = w.checked_mul(h).and_then(|n| n.checked_mul(channels)) else {
        return std::ptr::null_mut();
    };
    let decoded = out.decoded.insert(Decoded {
        width,
        height,
        channels: ch,
        pixels: vec![0; len],
        warnings: 0,
    });
    decoded.pixels.as_mut_ptr()
}

/// Options of one decode.
#[derive(Debug, Clone, Copy)]
pub struct Decode {
    /// Scale M/8, M in 1..=8: libjpeg-turbo's scaled inverse DCTs.
    pub eighths: u8,
    /// Luma only (also what a greyscale JPEG gives).
    pub luma: bool,
    /// Nearest-neighbour chroma upsampling (cheaper; invisible when shrinking).
    pub fast_upsample: bool,
    /// Largest output (width x height) to allocate.
    pub max_pixels: u64,
}

pub fn decode(data: &[u8], opts: Decode) -> Result<Decoded, JpegError> {
    let mut out = Output {
        decoded: None,
        max_pixels: opts.max_pixels,
    };
    let mut msg = [0 as c_char; MSG_LEN];
    let mut warnings: std::ffi::c_long = 0;
    // SAFETY: `data` and `out` outlive the call; `allocate` only touches `out`, and
    // libjpeg writes at most the rows of the buffer `allocate` returned.
    let rc = unsafe {
        ps_jpeg_decode(
            data.as_ptr(),
            data.len(),
            c_int::from(opts.eighths.clamp(1, 8)),
            c_int::from(opts.luma),
            c_int::from(opts.fast_upsample),
            allocate,
            (&mut out as *mut Output).cast(),
            msg.as_mut_ptr(),
            &mut warnings,
        )
    };
    match (rc, out.decoded) {
        (0, Some(mut decoded)) => {
            decoded.warnings = u32::try_from(warnings).unwrap_or(u32::MAX);
            Ok(decoded)
        }
        _ => Err(error(&msg)),
    }
}

/// How colour JPEGs sample chroma against luma.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chroma {
    /// 4:2:0, half in both directions: what cameras and PhotoShare write.
    Half,
    /// 4:2:2, half across.
    HalfAcross,
    /// 4:4:4, every pixel.
    Full,
}

/// Options of one encode.
#[derive(Debug, Clone, Copy)]
pub struct Encode {
    pub quality: u8,
    pub progressive: bool,
    pub chroma: Chroma,
}

impl Encode {
    /// Baseline, 4:2:0, at `quality`.
    pub fn quality(quality: u8) -> Self {
        Encode {
            quality,
            progressive: false,
            chroma: Chroma::Half,
        }
    }
}

/// Encodes packed pixels, 1 (grey) or 3 (RGB) bytes each.
pub fn encode(
    pixels: &[u8],
    width: u32,
    height: u32,
    channels: u8,
    opts: Encode,
) -> Result<Vec<u8>, JpegError> {
    let expected = width as usize * height as usize * usize::from(channels);
    if !matches!(channels, 1 | 3) || pixels.len() != expected || width == 0 || height == 0 {
        return Err(JpegError(format!(
            "{width}x{height}x{channels} does not fit {} bytes",
            pixels.len()
        )));
    }
    let (Ok(w), Ok(h)) = (c_int::try_from(width), c_int::try_from(height)) else {
        return Err(JpegError("image too large".into()));
    };
    let mut out: *mut c_uchar = std::ptr::null_mut();
    let mut len = 0usize;
    let mut msg = [0 as c_char; MSG_LEN];
    let (h_samp, v_samp) = match opts.chroma {
        Chroma::Half => (2, 2),
        Chroma::HalfAcross => (2, 1),
        Chroma::Full => (1, 1),
    };
    // SAFETY: `pixels` holds exactly width*height*channels bytes (checked above);
    // on success `out` is a malloc'ed buffer of `len` bytes that we copy and free.
    unsafe {
        let rc = ps_jpeg_encode(
            pixels.as_ptr(),
            w,
            h,
            c_int::from(channels),
            c_int::from(opts.quality.clamp(1, 100)),
            c_int::from(opts.progressive),
            h_samp,
            v_samp,
            &mut out,
            &mut len,
            msg.as_mut_ptr(),
        );
        take_output(rc, out, len, &msg)
    }
}

/// What an encoding call returned: its malloc'ed output copied and freed, or
/// libjpeg's message.
///
/// # Safety
/// On `rc == 0`, a non-null `out` must point to `len` bytes malloc'ed by native/jpeg.c.
unsafe fn take_output(
    rc: c_int,
    out: *mut c_uchar,
    len: usize,
    msg: &[c_char; MSG_LEN],
) -> Result<Vec<u8>, JpegError> {
    if rc != 0 || out.is_null() {
        return Err(error(msg));
    }
    // SAFETY: as the caller promises.
    let bytes = unsafe { std::slice::from_raw_parts(out, len) }.to_vec();
    // SAFETY: malloc'ed by native/jpeg.c and not used after this.
    unsafe { ps_jpeg_free(out) };
    Ok(bytes)
}

/// The same JPEG as one baseline scan: its coefficients copied, not decoded to
/// pixels, so the copy decodes to exactly the same pixels at every scale, without
/// the progressive entropy decoder's cost or its whole-image coefficient buffer.
/// ICC profiles are kept.
pub fn baseline(data: &[u8]) -> Result<Vec<u8>, JpegError> {
    let mut out: *mut c_uchar = std::ptr::null_mut();
    let mut len = 0usize;
    let mut msg = [0 as c_char; MSG_LEN];
    // SAFETY: `data` outlives the call; on success `out` is a malloc'ed buffer of
    // `len` bytes that we copy and free.
    unsafe {
        let rc = ps_jpeg_baseline(
            data.as_ptr(),
            data.len(),
            &mut out,
            &mut len,
            msg.as_mut_ptr(),
        );
        take_output(rc, out, len, &msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: u32, h: u32) -> Vec<u8> {
        (0..h)
            .flat_map(|y| (0..w).flat_map(move |x| [(x * 255 / w) as u8, (y * 255 / h) as u8, 128]))
            .collect()
    }

    #[test]
    fn a_baseline_copy_decodes_to_the_same_pixels_at_every_scale() {
        let (w, h) = (203, 141);
        let noisy: Vec<u8> = gradient(w, h)
            .iter()
            .enumerate()
            .map(|(i, v)| v.wrapping_add((i * 7919 % 61) as u8))
            .collect();
        let progressive = Encode {
            progressive: true,
            ..Encode::quality(85)
        };
        let original = encode(&noisy, w, h, 3, progressive).unwrap();
        let copy = baseline(&original).unwrap();
        assert!(info(&original).unwrap().progressive);
        let i = info(&copy).unwrap();
        assert_eq!((i.width, i.height, i.progressive), (w, h, false));
        for eighths in 1..=8 {
            for luma in [false, true] {
                let opts = Decode {
                    eighths,
                    luma,
                    fast_upsample: false,
                    max_pixels: 1 << 20,
                };
                let a = decode(&original, opts).unwrap();
                let b = decode(&copy, opts).unwrap();
                assert_eq!((a.width, a.height), (b.width, b.height));
                assert!(a.pixels == b.pixels, "{eighths}/8, luma {luma}");
            }
        }
        assert!(baseline(b"not a jpeg").is_err());
        assert!(
            baseline(&original[..original.len() / 2]).is_ok(),
            "cut short: grey, as decoding"
        );
    }

    #[test]
    fn an_encoded_image_decodes_to_its_size_and_colours() {
        let jpeg = encode(&gradient(64, 48), 64, 48, 3, Encode::quality(90)).unwrap();
        let i = info(&jpeg).unwrap();
        assert_eq!(
            (i.width, i.height, i.gray, i.progressive),
            (64, 48, false, false)
        );
        let opts = Decode {
            eighths: 8,
            luma: false,
            fast_upsample: false,
            max_pixels: 1 << 20,
        };
        let d = decode(&jpeg, opts).unwrap();
        assert_eq!((d.width, d.height, d.channels), (64, 48, 3));
        assert_eq!(d.warnings, 0, "a whole file decodes without warnings");
        let px = |x: usize, y: usize| &d.pixels[(y * 64 + x) * 3..][..3];
        assert!(
            px(63, 0)[0] > 230 && px(0, 47)[1] > 230,
            "{:?} {:?}",
            px(63, 0),
            px(0, 47)
        );
        let half = decode(
            &jpeg,
            Decode {
                eighths: 4,
                luma: true,
                ..opts
            },
        )
        .unwrap();
        assert_eq!((half.width, half.height, half.channels), (32, 24, 1));
    }

    #[test]
    fn broken_data_and_oversized_outputs_are_errors_not_crashes() {
        let opts = Encode {
            progressive: true,
            ..Encode::quality(80)
        };
        let jpeg = encode(&gradient(256, 256), 256, 256, 3, opts).unwrap();
        assert!(info(&jpeg).unwrap().progressive);
        assert!(info(b"not a jpeg").is_err());
        let e = decode(
            &jpeg[..jpeg.len() / 2],
            Decode {
                eighths: 8,
                luma: false,
                fast_upsample: false,
                max_pixels: 1 << 20,
            },
        );
        assert!(
            e.is_ok_and(|d| d.warnings > 0),
            "data cut short inside the scans decodes, with a warning"
        );
        let small = Decode {
            eighths: 8,
            luma: false,
            fast_upsample: false,
            max_pixels: 100,
        };
        assert!(decode(&jpeg, small)
            .unwrap_err()
            .to_string()
            .contains("refused"));
        assert!(encode(&[0; 5], 2, 2, 3, Encode::quality(80)).is_err());
    }
}
