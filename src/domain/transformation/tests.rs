//! Tests of the parser and the canonical form: what is accepted, what is refused and
//! with which parameter named, and that every accepted string round-trips.

use super::*;

fn parse(s: &str) -> Transformation {
    s.parse()
        .unwrap_or_else(|e| panic!("{s:?} should parse, got {e}"))
}

fn step(s: &str) -> Step {
    let t = parse(s);
    assert_eq!(t.steps.len(), 1, "{s:?} should be one step");
    t.steps[0].clone()
}

/// The `param` named by the error for `s`.
fn refused(s: &str) -> String {
    match s.parse::<Transformation>() {
        Ok(t) => panic!("{s:?} should be refused, parsed as {t:?}"),
        Err(e) => {
            assert!(!e.message.is_empty(), "{s:?} has an empty message");
            e.param
        }
    }
}

fn canonical(s: &str) -> String {
    parse(s).to_string()
}

const RED: Color = Color {
    r: 255,
    g: 0,
    b: 0,
    a: 255,
};

// ---- structure ---------------------------------------------------------------

#[test]
fn steps_are_split_on_slashes_and_kept_in_order() {
    let t = parse("w_100/e_grayscale/q_80");
    assert_eq!(t.steps.len(), 3);
    assert_eq!(t.steps[0].width, Some(Size::Pixels(100)));
    assert_eq!(t.steps[1].effect, Some(Effect::Grayscale));
    assert_eq!(t.steps[2].quality, Some(Quality::Value(80)));
}

#[test]
fn surrounding_whitespace_is_trimmed() {
    assert_eq!(parse(" \t w_100,h_50 \n"), parse("w_100,h_50"));
}

#[test]
fn whitespace_inside_is_refused() {
    for s in [
        "w_100, h_50",
        "w_ 100",
        "w_100 /q_80",
        "w_100,\th_50",
        "e_blur:\u{a0}5",
    ] {
        assert_eq!(refused(s), "transformation", "{s:?}");
    }
}

#[test]
fn empty_strings_steps_and_parameters_are_refused() {
    for s in [
        "",
        "   ",
        "/",
        "w_100/",
        "/w_100",
        "w_100//q_80",
        "w_100,,h_10",
        ",w_100",
        "w_100,",
        "w_100/,",
    ] {
        assert_eq!(refused(s), "transformation", "{s:?}");
    }
}

#[test]
fn at_most_ten_steps() {
    let ten = ["e_negate"; 10].join("/");
    assert_eq!(parse(&ten).steps.len(), 10);
    let eleven = ["e_negate"; 11].join("/");
    assert_eq!(refused(&eleven), "transformation");
}

#[test]
fn at_most_five_hundred_characters() {
    // Leading zeros are allowed, which makes a long but valid string easy to build.
    let long = format!("w_{}100", "0".repeat(495));
    assert_eq!(long.len(), 500);
    assert_eq!(step(&long).width, Some(Size::Pixels(100)));
    assert_eq!(
        refused(&format!("w_{}100", "0".repeat(496))),
        "transformation"
    );
    // Trimmed whitespace does not count.
    assert_eq!(step(&format!("  {long}  ")).width, Some(Size::Pixels(100)));
}

#[test]
fn unknown_keys_are_named() {
    assert_eq!(refused("zz_3"), "zz");
    assert_eq!(refused("crop_fill"), "crop");
    assert_eq!(refused("w_100,width_100"), "width");
    assert_eq!(refused("W_100"), "W");
    assert_eq!(refused("l_sample"), "l");
}

#[test]
fn parameters_without_an_underscore_are_named() {
    assert_eq!(refused("w100"), "w100");
    assert_eq!(refused("w_100,grayscale"), "grayscale");
    assert_eq!(refused("_100"), "_100");
}

#[test]
fn a_key_twice_in_one_step_is_named() {
    assert_eq!(refused("w_100,w_200"), "w");
    assert_eq!(refused("e_grayscale,e_blur"), "e");
    assert_eq!(refused("q_80,h_10,q_80"), "q");
    // ...but the same key in different steps is fine.
    assert_eq!(parse("w_100/w_50").steps.len(), 2);
}

#[test]
fn parameters_split_at_the_first_underscore() {
    assert_eq!(
        step("c_fill,w_10,g_north_east").gravity,
        Some(Gravity::NorthEast)
    );
    assert_eq!(
        step("bo_4px_solid_red").border,
        Some(Border {
            width: 4,
            color: RED
        })
    );
    assert_eq!(step("b_rgb:ff0000").background, Some(RED));
}

#[test]
fn errors_display_param_and_message() {
    let e = "w_0".parse::<Transformation>().unwrap_err();
    assert_eq!(e.param, "w");
    assert_eq!(e.to_string(), format!("w: {}", e.message));
}

// ---- c, w, h, ar ---------------------------------------------------------------

#[test]
fn every_crop_mode_parses() {
    for (text, crop) in [
        ("scale", Crop::Scale),
        ("fit", Crop::Fit),
        ("limit", Crop::Limit),
        ("fill", Crop::Fill),
        ("thumb", Crop::Thumb),
        ("crop", Crop::Crop),
        ("pad", Crop::Pad),
    ] {
        assert_eq!(step(&format!("c_{text},w_100")).crop, Some(crop), "{text}");
    }
    for bad in ["c_", "c_FILL", "c_lfill", "c_fill_pad"] {
        assert_eq!(refused(&format!("{bad},w_100")), "c", "{bad}");
    }
}

#[test]
fn sizes_are_pixels_or_fractions() {
    let s = step("w_1,h_20000");
    assert_eq!(s.width, Some(Size::Pixels(1)));
    assert_eq!(s.height, Some(Size::Pixels(20000)));
    assert_eq!(step("w_0.5").width, Some(Size::Fraction(0.5)));
    assert_eq!(step("h_1.0").height, Some(Size::Fraction(1.0)));
    assert_eq!(step("w_.25").width, Some(Size::Fraction(0.25)));
    assert_eq!(step("w_1.").width, Some(Size::Fraction(1.0)));
    assert_eq!(step("w_0100").width, Some(Size::Pixels(100)));
}

#[test]
fn bad_sizes_are_named() {
    for bad in [
        "0",
        "20001",
        "-5",
        "1.5",
        "0.0",
        "0.",
        "abc",
        "",
        "1e3",
        "+5",
        "0.5.5",
        ".",
        "99999999999999999999",
        "inf",
        "NaN",
        "-0.5",
    ] {
        assert_eq!(refused(&format!("w_{bad}")), "w", "w_{bad}");
        assert_eq!(refused(&format!("h_{bad}")), "h", "h_{bad}");
    }
}

#[test]
fn size_without_crop_means_scale_but_keeps_crop_unset() {
    let s = step("w_100");
    assert_eq!(s.crop, None);
    assert_eq!(s.width, Some(Size::Pixels(100)));
    assert_eq!(canonical("w_100"), "w_100");
}

#[test]
fn aspect_ratios_parse_rounded_to_six_digits() {
    assert_eq!(step("w_100,ar_16:9").aspect_ratio, Some(1.77778));
    assert_eq!(step("w_100,ar_1.5").aspect_ratio, Some(1.5));
    assert_eq!(step("h_100,ar_2").aspect_ratio, Some(2.0));
    assert_eq!(step("h_100,ar_1:100").aspect_ratio, Some(0.01));
    assert_eq!(step("h_100,ar_100").aspect_ratio, Some(100.0));
    assert_eq!(step("c_fill,w_100,ar_4:3").aspect_ratio, Some(1.33333));
}

#[test]
fn bad_aspect_ratios_are_named() {
    for bad in [
        "0:9", "16:0", "-1", "0", "0.001", "101", "1:101", "abc", "16:9:1", "16:", ":9", "1.5:1",
        "-16:9", "", "1e2",
    ] {
        assert_eq!(refused(&format!("w_100,ar_{bad}")), "ar", "ar_{bad}");
    }
}

#[test]
fn crop_needs_a_size() {
    for mode in ["scale", "fit", "limit", "fill", "thumb", "crop", "pad"] {
        assert_eq!(refused(&format!("c_{mode}")), "c", "{mode}");
    }
    assert_eq!(refused("c_fill,ar_16:9"), "c");
    assert_eq!(refused("c_fill,g_north"), "c");
    for ok in [
        "c_crop,w_10",
        "c_fill,h_10",
        "c_thumb,w_10",
        "c_pad,h_10",
        "c_limit,w_10",
    ] {
        assert!(ok.parse::<Transformation>().is_ok(), "{ok}");
    }
}

#[test]
fn aspect_ratio_needs_exactly_one_side() {
    assert_eq!(refused("w_100,h_100,ar_1.5"), "ar");
    assert_eq!(refused("c_fill,w_100,h_100,ar_1.5"), "ar");
    assert_eq!(refused("ar_1.5"), "ar");
    assert_eq!(refused("ar_16:9,e_grayscale"), "ar");
    assert!("c_pad,h_100,ar_1.5".parse::<Transformation>().is_ok());
}

// ---- g, x, y -------------------------------------------------------------------

#[test]
fn every_gravity_parses() {
    for (text, gravity) in [
        ("center", Gravity::Center),
        ("north", Gravity::North),
        ("south", Gravity::South),
        ("east", Gravity::East),
        ("west", Gravity::West),
        ("north_east", Gravity::NorthEast),
        ("north_west", Gravity::NorthWest),
        ("south_east", Gravity::SouthEast),
        ("south_west", Gravity::SouthWest),
        ("auto", Gravity::Auto),
    ] {
        assert_eq!(
            step(&format!("c_fill,w_10,g_{text}")).gravity,
            Some(gravity)
        );
    }
    for bad in ["g_", "g_northeast", "g_North", "g_face", "g_north_"] {
        assert_eq!(refused(&format!("c_fill,w_10,{bad}")), "g", "{bad}");
    }
}

#[test]
fn gravity_needs_a_cropping_mode() {
    assert_eq!(refused("w_10,g_north"), "g");
    for mode in ["scale", "fit", "limit"] {
        assert_eq!(refused(&format!("c_{mode},w_10,g_north")), "g", "{mode}");
    }
    for mode in ["fill", "thumb", "crop", "pad"] {
        assert_eq!(
            step(&format!("c_{mode},w_10,g_north")).gravity,
            Some(Gravity::North)
        );
    }
}

#[test]
fn auto_gravity_is_not_for_pad() {
    assert_eq!(refused("c_pad,w_10,g_auto"), "g");
    for mode in ["fill", "thumb", "crop"] {
        assert_eq!(
            step(&format!("c_{mode},w_10,g_auto")).gravity,
            Some(Gravity::Auto)
        );
    }
}

#[test]
fn offsets_parse_with_crop() {
    let s = step("c_crop,w_100,h_100,x_-10,y_20000");
    assert_eq!((s.x, s.y), (Some(-10), Some(20000)));
    assert_eq!(step("c_crop,w_10,x_-20000").x, Some(-20000));
    assert_eq!(step("c_crop,w_10,y_0").y, Some(0));
}

#[test]
fn offsets_need_crop_and_a_valid_integer() {
    assert_eq!(refused("w_100,x_10"), "x");
    assert_eq!(refused("c_fill,w_100,y_10"), "y");
    assert_eq!(refused("c_pad,w_100,x_0,y_0"), "x");
    for bad in ["20001", "-20001", "1.5", "abc", "", "+5", "--5"] {
        assert_eq!(refused(&format!("c_crop,w_10,x_{bad}")), "x", "{bad}");
        assert_eq!(refused(&format!("c_crop,w_10,y_{bad}")), "y", "{bad}");
    }
}

// ---- colours -------------------------------------------------------------------

#[test]
fn every_colour_name_parses_in_any_case() {
    for (name, (r, g, b)) in [
        ("white", (255, 255, 255)),
        ("black", (0, 0, 0)),
        ("red", (255, 0, 0)),
        ("green", (0, 128, 0)),
        ("lime", (0, 255, 0)),
        ("blue", (0, 0, 255)),
        ("yellow", (255, 255, 0)),
        ("cyan", (0, 255, 255)),
        ("magenta", (255, 0, 255)),
        ("gray", (128, 128, 128)),
        ("grey", (128, 128, 128)),
        ("orange", (255, 165, 0)),
        ("purple", (128, 0, 128)),
        ("pink", (255, 192, 203)),
        ("brown", (165, 42, 42)),
        ("navy", (0, 0, 128)),
        ("teal", (0, 128, 128)),
        ("silver", (192, 192, 192)),
    ] {
        let expected = Some(Color { r, g, b, a: 255 });
        assert_eq!(step(&format!("b_{name}")).background, expected, "{name}");
        let upper = name.to_uppercase();
        assert_eq!(step(&format!("b_{upper}")).background, expected, "{upper}");
    }
    assert_eq!(
        step("b_Transparent").background,
        Some(Color {
            r: 0,
            g: 0,
            b: 0,
            a: 0
        })
    );
}

#[test]
fn hex_colours_parse() {
    assert_eq!(step("b_rgb:ff0000").background, Some(RED));
    assert_eq!(step("b_rgb:FF0000").background, Some(RED));
    assert_eq!(step("b_RGB:Ff0000").background, Some(RED));
    assert_eq!(step("b_rgb:f00").background, Some(RED));
    assert_eq!(
        step("b_rgb:1a2B3c").background,
        Some(Color {
            r: 0x1a,
            g: 0x2b,
            b: 0x3c,
            a: 255
        })
    );
    assert_eq!(
        step("b_rgb:a5c").background,
        Some(Color {
            r: 0xaa,
            g: 0x55,
            b: 0xcc,
            a: 255
        })
    );
}

#[test]
fn bad_colours_are_named() {
    for bad in [
        "",
        "notacolor",
        "rgb:",
        "rgb:ff00",
        "rgb:ff00000",
        "rgb:gg0000",
        "rgb:+f0000",
        "rgb:ff0000ff",
        "#ff0000",
        "ff0000",
        "rgb:ff_000",
        "red:1",
    ] {
        assert_eq!(refused(&format!("b_{bad}")), "b", "b_{bad}");
    }
}

// ---- effects -------------------------------------------------------------------

#[test]
fn effects_have_their_defaults() {
    for (text, effect) in [
        ("grayscale", Effect::Grayscale),
        ("negate", Effect::Negate),
        ("sepia", Effect::Sepia(80)),
        ("blur", Effect::Blur(100)),
        ("sharpen", Effect::Sharpen(100)),
        ("pixelate", Effect::Pixelate(5)),
        ("brightness", Effect::Brightness(80)),
        ("contrast", Effect::Contrast(0)),
    ] {
        assert_eq!(step(&format!("e_{text}")).effect, Some(effect), "{text}");
    }
}

#[test]
fn effects_take_values_within_their_ranges() {
    for (text, effect) in [
        ("sepia:1", Effect::Sepia(1)),
        ("sepia:100", Effect::Sepia(100)),
        ("blur:1", Effect::Blur(1)),
        ("blur:2000", Effect::Blur(2000)),
        ("sharpen:1", Effect::Sharpen(1)),
        ("sharpen:2000", Effect::Sharpen(2000)),
        ("pixelate:1", Effect::Pixelate(1)),
        ("pixelate:200", Effect::Pixelate(200)),
        ("brightness:-99", Effect::Brightness(-99)),
        ("brightness:100", Effect::Brightness(100)),
        ("contrast:-100", Effect::Contrast(-100)),
        ("contrast:100", Effect::Contrast(100)),
    ] {
        assert_eq!(step(&format!("e_{text}")).effect, Some(effect), "{text}");
    }
}

#[test]
fn bad_effect_values_name_the_effect() {
    for (bad, param) in [
        ("grayscale:1", "e_grayscale"),
        ("negate:5", "e_negate"),
        ("negate:", "e_negate"),
        ("sepia:0", "e_sepia"),
        ("sepia:101", "e_sepia"),
        ("sepia:", "e_sepia"),
        ("blur:0", "e_blur"),
        ("blur:2001", "e_blur"),
        ("blur:abc", "e_blur"),
        ("blur:1.5", "e_blur"),
        ("blur:5:5", "e_blur"),
        ("sharpen:0", "e_sharpen"),
        ("sharpen:2001", "e_sharpen"),
        ("pixelate:0", "e_pixelate"),
        ("pixelate:201", "e_pixelate"),
        ("brightness:-100", "e_brightness"),
        ("brightness:101", "e_brightness"),
        ("contrast:-101", "e_contrast"),
        ("contrast:101", "e_contrast"),
    ] {
        assert_eq!(refused(&format!("e_{bad}")), param, "e_{bad}");
    }
}

#[test]
fn unknown_effects_are_named_e() {
    for bad in [
        "e_",
        "e_foo",
        "e_foo:3",
        "e_Grayscale",
        "e_:5",
        "e_vignette",
    ] {
        assert_eq!(refused(bad), "e", "{bad}");
    }
}

// ---- a, r, bo, q, f --------------------------------------------------------------

#[test]
fn angles_parse() {
    assert_eq!(step("a_90").angle, Some(Angle::Degrees(90)));
    assert_eq!(step("a_-360").angle, Some(Angle::Degrees(-360)));
    assert_eq!(step("a_360").angle, Some(Angle::Degrees(360)));
    assert_eq!(step("a_0").angle, Some(Angle::Degrees(0)));
    assert_eq!(step("a_hflip").angle, Some(Angle::HFlip));
    assert_eq!(step("a_vflip").angle, Some(Angle::VFlip));
    for bad in ["361", "-361", "abc", "", "45.5", "hflip:1", "auto"] {
        assert_eq!(refused(&format!("a_{bad}")), "a", "a_{bad}");
    }
}

#[test]
fn radii_parse() {
    assert_eq!(step("r_max").radius, Some(Radius::Max));
    assert_eq!(step("r_1").radius, Some(Radius::Pixels(1)));
    assert_eq!(step("r_10000").radius, Some(Radius::Pixels(10000)));
    for bad in ["0", "10001", "-5", "MAX", "", "2.5"] {
        assert_eq!(refused(&format!("r_{bad}")), "r", "r_{bad}");
    }
}

#[test]
fn borders_parse() {
    assert_eq!(
        step("bo_4px_solid_red").border,
        Some(Border {
            width: 4,
            color: RED
        })
    );
    assert_eq!(
        step("bo_1000px_solid_rgb:00ff00").border,
        Some(Border {
            width: 1000,
            color: Color {
                r: 0,
                g: 255,
                b: 0,
                a: 255
            }
        })
    );
    assert_eq!(
        step("bo_1px_solid_transparent").border,
        Some(Border {
            width: 1,
            color: Color {
                r: 0,
                g: 0,
                b: 0,
                a: 0
            }
        })
    );
    for bad in [
        "0px_solid_red",
        "1001px_solid_red",
        "4px_dashed_red",
        "4_solid_red",
        "4px_solid_notacolor",
        "px_solid_red",
        "4px_solid_",
        "4px",
        "-4px_solid_red",
        "4px_solid_red_blue",
    ] {
        assert_eq!(refused(&format!("bo_{bad}")), "bo", "bo_{bad}");
    }
}

#[test]
fn qualities_parse() {
    assert_eq!(step("q_1").quality, Some(Quality::Value(1)));
    assert_eq!(step("q_100").quality, Some(Quality::Value(100)));
    assert_eq!(step("q_auto").quality, Some(Quality::Auto));
    for bad in ["0", "101", "auto:good", "", "AUTO", "50.5"] {
        assert_eq!(refused(&format!("q_{bad}")), "q", "q_{bad}");
    }
}

#[test]
fn formats_parse() {
    for (text, format) in [
        ("jpg", OutputFormat::Jpg),
        ("jpeg", OutputFormat::Jpg),
        ("png", OutputFormat::Png),
        ("webp", OutputFormat::Webp),
        ("gif", OutputFormat::Gif),
        ("auto", OutputFormat::Auto),
    ] {
        assert_eq!(step(&format!("f_{text}")).format, Some(format), "{text}");
    }
    for bad in ["tiff", "JPG", "", "avif"] {
        assert_eq!(refused(&format!("f_{bad}")), "f", "f_{bad}");
    }
}

#[test]
fn a_full_step_parses_every_field() {
    let s = step(
        "c_crop,w_0.5,h_300,g_north_west,x_-10,y_5,b_navy,e_blur:20,a_hflip,r_15,bo_2px_solid_black,q_auto,f_webp",
    );
    assert_eq!(
        s,
        Step {
            crop: Some(Crop::Crop),
            width: Some(Size::Fraction(0.5)),
            height: Some(Size::Pixels(300)),
            aspect_ratio: None,
            gravity: Some(Gravity::NorthWest),
            x: Some(-10),
            y: Some(5),
            background: Some(Color {
                r: 0,
                g: 0,
                b: 128,
                a: 255
            }),
            effect: Some(Effect::Blur(20)),
            angle: Some(Angle::HFlip),
            radius: Some(Radius::Pixels(15)),
            border: Some(Border {
                width: 2,
                color: Color {
                    r: 0,
                    g: 0,
                    b: 0,
                    a: 255
                }
            }),
            quality: Some(Quality::Auto),
            format: Some(OutputFormat::Webp),
        }
    );
}

// ---- format() and quality() ----------------------------------------------------

#[test]
fn format_and_quality_come_from_the_last_step_that_has_them() {
    let t = parse("f_png,q_50/w_100/f_webp/e_negate");
    assert_eq!(t.format(), Some(OutputFormat::Webp));
    assert_eq!(t.quality(), Some(Quality::Value(50)));
    let t = parse("q_50/q_auto,f_jpeg");
    assert_eq!(t.quality(), Some(Quality::Auto));
    assert_eq!(t.format(), Some(OutputFormat::Jpg));
    let t = parse("w_100/e_grayscale");
    assert_eq!(t.format(), None);
    assert_eq!(t.quality(), None);
}

// ---- canonical form --------------------------------------------------------------

#[test]
fn canonical_examples() {
    for (input, expected) in [
        (
            "c_fill,w_800,h_600/e_grayscale/q_80",
            "c_fill,h_600,w_800/e_grayscale/q_80",
        ),
        (
            "c_thumb,w_200,h_200/r_max/f_png",
            "c_thumb,h_200,w_200/r_max/f_png",
        ),
        ("c_limit,w_1600/q_85", "c_limit,w_1600/q_85"),
        ("w_0.5", "w_0.5"),
        ("w_.5", "w_0.5"),
        ("h_1.", "h_1.0"),
        ("w_0.50", "w_0.5"),
        ("w_0100", "w_100"),
        ("w_100,ar_16:9", "ar_1.77778,w_100"),
        ("w_100,ar_1.5", "ar_1.5,w_100"),
        ("w_100,ar_2", "ar_2,w_100"),
        ("w_100,ar_2.0", "ar_2,w_100"),
        ("w_100,ar_1:100", "ar_0.01,w_100"),
        (
            "c_crop,w_10,g_north_east,x_-10,y_3",
            "c_crop,g_north_east,w_10,x_-10,y_3",
        ),
        ("b_red,c_pad,w_10", "b_rgb:ff0000,c_pad,w_10"),
        ("b_rgb:F00,c_pad,w_10", "b_rgb:ff0000,c_pad,w_10"),
        ("b_TRANSPARENT,c_pad,w_10", "b_transparent,c_pad,w_10"),
        ("e_sepia", "e_sepia:80"),
        ("e_contrast", "e_contrast:0"),
        ("e_brightness:-20", "e_brightness:-20"),
        ("e_pixelate", "e_pixelate:5"),
        ("a_90", "a_90"),
        ("a_-90", "a_-90"),
        ("a_vflip", "a_vflip"),
        ("r_20", "r_20"),
        ("bo_4px_solid_red", "bo_4px_solid_rgb:ff0000"),
        ("q_auto", "q_auto"),
        ("f_jpeg", "f_jpg"),
        (
            "bo_1px_solid_red,b_blue,c_pad,w_5",
            "b_rgb:0000ff,bo_1px_solid_rgb:ff0000,c_pad,w_5",
        ),
    ] {
        assert_eq!(canonical(input), expected, "{input}");
    }
}

#[test]
fn parameter_order_does_not_matter() {
    assert_eq!(canonical("w_100,c_fill"), canonical("c_fill,w_100"));
    assert_eq!(canonical("w_100,c_fill"), "c_fill,w_100");
    assert_eq!(
        canonical("q_80,f_png,e_negate,h_10"),
        canonical("h_10,e_negate,f_png,q_80")
    );
}

#[test]
fn equivalent_spellings_have_one_canonical_form() {
    assert_eq!(parse("c_pad,w_10,b_red"), parse("c_pad,w_10,b_rgb:ff0000"));
    assert_eq!(
        canonical("c_pad,w_10,b_red"),
        canonical("c_pad,w_10,b_rgb:FF0000")
    );
    assert_eq!(canonical("b_grey,c_pad,w_1"), canonical("b_gray,c_pad,w_1"));
    assert_eq!(canonical("w_100,ar_16:9"), canonical("w_100,ar_1.77778"));
    assert_eq!(canonical("e_blur"), canonical("e_blur:100"));
    assert_eq!(canonical("f_jpeg"), canonical("f_jpg"));
    // Step order does matter.
    assert_ne!(
        canonical("e_grayscale/w_100"),
        canonical("w_100/e_grayscale")
    );
}

#[test]
fn canonical_form_round_trips() {
    for input in [
        "c_fill,w_800,h_600/e_grayscale/q_80",
        "c_thumb,w_200,h_200,g_auto/r_max/f_png",
        "c_limit,w_1600/q_85",
        "w_0.5",
        "h_0.333333333333",
        "w_1.0,h_0.1",
        "w_0.000001",
        "c_fill,w_100,ar_16:9,g_south",
        "c_pad,h_300,ar_0.3333333,b_transparent,g_west",
        "h_50,ar_99.99999",
        "c_crop,w_400,h_300,x_-20000,y_20000,g_center",
        "c_pad,w_500,h_500,b_rgb:AbC",
        "e_sepia/e_blur:2000/e_sharpen/e_pixelate:200/e_negate/e_brightness:-99/e_contrast:-100",
        "a_-45,r_10000,bo_1000px_solid_PINK",
        "a_hflip/a_vflip/a_0",
        "q_auto,f_auto",
        "f_jpeg,q_1",
        "f_webp,q_100/f_gif",
        "c_scale,w_20000,h_1",
        "c_fit,w_0.75,h_1/c_fill,w_100,h_100,g_north_east/bo_2px_solid_teal",
        "e_brightness/e_contrast:55,b_silver",
        "w_00042,ar_3:2",
    ] {
        let first = parse(input);
        let text = first.to_string();
        let second = parse(&text);
        assert_eq!(second, first, "{input} -> {text}");
        assert_eq!(second.to_string(), text, "{input} -> {text}");
    }
}

#[test]
fn canonical_params_are_sorted_within_each_step() {
    let text = canonical(
        "f_png,q_9,bo_3px_solid_red,r_4,a_5,e_negate,b_red,y_1,x_1,g_south,h_2,w_1,c_crop",
    );
    let params: Vec<&str> = text.split(',').collect();
    let mut sorted = params.clone();
    sorted.sort_unstable();
    assert_eq!(params, sorted);
    assert_eq!(params.len(), 13);
}
