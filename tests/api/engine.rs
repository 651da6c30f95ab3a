//! The JPEG kernels (native/jsimd.c) against libjpeg-turbo's own C: the same
//! `photoshare transform` runs with them and with `JSIMD_FORCENONE=1`, and the
//! output files must be identical byte for byte. The inputs cover every chroma
//! layout, greyscale, progressive files and sizes that do not divide by 8 or 16;
//! the transformations cover every decode scale M/8, luma-only decodes, full-size
//! decodes (fancy upsampling) and both encoders (grey and 4:2:0 colour).

use std::path::Path;
use std::process::Command;

use photoshare::media::libjpeg::{self, Chroma, Encode};

/// A photo-like test image: smooth gradients plus noise, so every DCT band has data.
fn pixels(w: u32, h: u32, channels: u8) -> Vec<u8> {
    let mut seed = 0x9e37_79b9_u32;
    let mut out = Vec::with_capacity((w * h) as usize * usize::from(channels));
    for y in 0..h {
        for x in 0..w {
            for c in 0..u32::from(channels) {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                let smooth = (x * 255 / w + y * 97 / h + c * 60) % 256;
                out.push((smooth as u8).wrapping_add((seed % 48) as u8));
            }
        }
    }
    out
}

fn transform(input: &Path, output: &Path, t: &str, simd: bool) -> Vec<u8> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_photoshare"));
    cmd.args(["transform"]).arg(input).arg(output).arg(t);
    if !simd {
        cmd.env("JSIMD_FORCENONE", "1");
    }
    let status = cmd.status().expect("photoshare runs");
    assert!(status.success(), "{t} on {}", input.display());
    std::fs::read(output).expect("the output was written")
}

#[test]
fn jpeg_kernels_give_the_same_bytes_as_libjpeg_turbos_c() {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("bmi2")
        && std::is_x86_feature_detected!("lzcnt")
    {
        assert!(libjpeg::kernels_active(), "this CPU runs the kernels");
    }
    let dir = tempfile::tempdir().unwrap();
    let inputs = [
        ("420", 1001, 749, 3, Chroma::Half, false),
        ("422", 997, 750, 3, Chroma::HalfAcross, false),
        ("444", 640, 483, 3, Chroma::Full, false),
        ("grey", 803, 600, 1, Chroma::Half, false),
        ("progressive", 1000, 752, 3, Chroma::Half, true),
    ];
    // Widths 1/8 .. 7/8 of 1000 pick each decode scale; no resize decodes at 8/8.
    let transformations = [
        "c_scale,w_125",
        "c_scale,w_250",
        "c_scale,w_375",
        "c_scale,w_500",
        "c_scale,w_625",
        "c_scale,w_750",
        "c_scale,w_875",
        "c_scale,w_300/e_grayscale",
        "c_fill,w_333,h_333/e_grayscale/q_70",
        "e_grayscale",
        "a_90",
        "c_limit,w_2000/q_95",
    ];
    let mut compared = 0;
    for (name, w, h, channels, chroma, progressive) in inputs {
        let opts = Encode {
            quality: 88,
            progressive,
            chroma,
        };
        let jpeg = libjpeg::encode(&pixels(w, h, channels), w, h, channels, opts).unwrap();
        let input = dir.path().join(format!("{name}.jpg"));
        std::fs::write(&input, jpeg).unwrap();
        for t in transformations {
            let output = dir.path().join("out.jpg");
            let with = transform(&input, &output, t, true);
            let without = transform(&input, &output, t, false);
            assert!(with.len() > 100, "{name} {t}: an image came out");
            assert!(
                with == without,
                "{name} {t}: the kernels changed the output"
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 60);
}
