//! The textures Scenes name by file stem: `assets/textures/*.png`, made by
//! `scripts/gen_textures.py` and built into the binary, so rendering needs no asset path.
//! Both backends sample a full mipmap chain ([`mip_chain`], box-filtered) that repeats, so
//! ground and road stay smooth, not noisy, in small frames far from the camera.

use anyhow::{bail, Context, Result};
#[cfg(feature = "bevy")]
use bevy::asset::RenderAssetUsages;
#[cfg(feature = "bevy")]
use bevy::image::{Image, ImageAddressMode, ImageSampler, ImageSamplerDescriptor};
#[cfg(feature = "bevy")]
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat};

/// Every texture name a Scene material may use.
pub const NAMES: [&str; 6] = ["grass", "asphalt", "concrete", "dirt", "facade", "checker"];

fn png(name: &str) -> Option<&'static [u8]> {
    Some(match name {
        "grass" => include_bytes!("../../assets/textures/grass.png"),
        "asphalt" => include_bytes!("../../assets/textures/asphalt.png"),
        "concrete" => include_bytes!("../../assets/textures/concrete.png"),
        "dirt" => include_bytes!("../../assets/textures/dirt.png"),
        "facade" => include_bytes!("../../assets/textures/facade.png"),
        "checker" => include_bytes!("../../assets/textures/checker.png"),
        _ => return None,
    })
}

/// The RGBA8 mip chain of a texture: level 0 first, each level half the last (box filter).
pub fn mip_chain(name: &str) -> Result<(u32, u32, Vec<Vec<u8>>)> {
    let Some(bytes) = png(name) else {
        bail!("unknown texture `{name}` (known: {})", NAMES.join(", "));
    };
    let base = image::load_from_memory(bytes).with_context(|| format!("texture `{name}` is not a readable PNG"))?;
    let base = base.to_rgba8();
    let (w, h) = base.dimensions();
    let mut levels = vec![base.into_raw()];
    let (mut lw, mut lh) = (w, h);
    while lw > 1 || lh > 1 {
        let (nw, nh) = ((lw / 2).max(1), (lh / 2).max(1));
        let prev = levels.last().expect("level 0 exists");
        let mut next = vec![0u8; (nw * nh * 4) as usize];
        for y in 0..nh {
            for x in 0..nw {
                for c in 0..4 {
                    let mut sum = 0u32;
                    for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                        let (sx, sy) = ((2 * x + dx).min(lw - 1), (2 * y + dy).min(lh - 1));
                        sum += u32::from(prev[((sy * lw + sx) * 4 + c) as usize]);
                    }
                    next[((y * nw + x) * 4 + c) as usize] = ((sum + 2) / 4) as u8;
                }
            }
        }
        levels.push(next);
        (lw, lh) = (nw, nh);
    }
    Ok((w, h, levels))
}

/// A texture as a bevy image: sRGB, mipmapped, repeating, trilinear.
#[cfg(feature = "bevy")]
pub fn image(name: &str) -> Result<Image> {
    let (w, h, levels) = mip_chain(name)?;
    let mut img = Image::new_uninit(
        Extent3d { width: w, height: h, depth_or_array_layers: 1 },
        TextureDimension::D2,
        TextureFormat::Rgba8UnormSrgb,
        RenderAssetUsages::RENDER_WORLD,
    );
    img.texture_descriptor.mip_level_count = levels.len() as u32;
    img.data = Some(levels.concat());
    img.sampler = ImageSampler::Descriptor(ImageSamplerDescriptor {
        address_mode_u: ImageAddressMode::Repeat,
        address_mode_v: ImageAddressMode::Repeat,
        ..ImageSamplerDescriptor::linear()
    });
    Ok(img)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_texture_decodes_with_a_full_mip_chain() {
        for name in NAMES {
            let (w, h, levels) = mip_chain(name).unwrap();
            assert_eq!((w, h), (128, 128), "{name}");
            assert_eq!(levels.len(), 8, "{name}: 128 -> 1 is 8 levels");
            assert_eq!(levels.last().unwrap().len(), 4);
            // The 1x1 level is the texture's mean colour.
            let mean: f64 = levels[0].iter().step_by(4).map(|&v| f64::from(v)).sum::<f64>() / (128.0 * 128.0);
            assert!((f64::from(levels[7][0]) - mean).abs() < 2.0, "{name}: {} vs {mean}", levels[7][0]);
        }
    }

    #[test]
    fn unknown_texture_is_a_clear_error() {
        let err = mip_chain("marble").unwrap_err().to_string();
        assert!(err.contains("unknown texture `marble`") && err.contains("grass"), "{err}");
    }
}
