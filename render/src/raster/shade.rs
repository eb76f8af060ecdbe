//! Colour: sRGB <-> linear tables, materials with the lighting folded in, mipmapped
//! textures and the sky.

use std::sync::{Arc, OnceLock};

use anyhow::Result;
use vlmgym_envs::scene::Material;

use super::math::{dot, floor_i32, normalize, V3};
use crate::textures;

/// bevy's default camera exposure (EV100 9.7): `2^-9.7 / 1.2`.
const EXPOSURE: f32 = 1.0019e-3;
/// What the bevy backend's ambient light (brightness 400) adds, times the albedo: the
/// brightness times the exposure times bevy's diffuse environment BRDF for a rough surface
/// (about 0.45).
pub(crate) const AMBIENT: f32 = 400.0 * EXPOSURE * 0.452;
/// What the bevy backend's sun (8000 lux) adds at normal incidence, times the albedo: the
/// illuminance times the exposure times Lambert's `1/pi`.
pub(crate) const SUN: f32 = 8000.0 * EXPOSURE / std::f32::consts::PI;

/// Entries of the linear -> sRGB byte table (linear values are quantised to 1/16383).
const ENCODE_STEPS: usize = 16384;

struct Tables {
    decode: [f32; 256],
    encode: Vec<u8>,
}

fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| {
        let mut decode = [0.0f32; 256];
        for (i, d) in decode.iter_mut().enumerate() {
            *d = srgb_to_linear(i as f32 / 255.0);
        }
        let encode = (0..ENCODE_STEPS)
            .map(|i| (linear_to_srgb(i as f32 / (ENCODE_STEPS - 1) as f32) * 255.0).round() as u8)
            .collect();
        Tables { decode, encode }
    })
}

/// The sRGB transfer function, inverse.
pub(crate) fn srgb_to_linear(c: f32) -> f32 {
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// The sRGB transfer function.
pub(crate) fn linear_to_srgb(c: f32) -> f32 {
    if c <= 0.003_130_8 {
        c * 12.92
    } else {
        1.055 * c.powf(1.0 / 2.4) - 0.055
    }
}

/// A linear value (clamped to 0..=1) as an sRGB byte.
#[inline(always)]
pub(crate) fn encode(table: &[u8], c: f32) -> u8 {
    // `as usize` saturates (NaN -> 0), so the index is always in range after the min.
    let i = (c * (ENCODE_STEPS - 1) as f32 + 0.5) as usize;
    table[i.min(ENCODE_STEPS - 1)]
}

/// The sRGB encoding table for [`encode`].
pub(crate) fn encode_table() -> &'static [u8] {
    &tables().encode
}

/// The sRGB byte -> linear table.
pub(crate) fn decode_table() -> &'static [f32; 256] {
    &tables().decode
}

/// An sRGB colour (0..=1) as bytes.
pub(crate) fn srgb_bytes(c: [f32; 3]) -> [u8; 3] {
    c.map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
}

/// One mip level: linear RGB texels (padded to 4 floats), row-major.
#[derive(Debug)]
pub(crate) struct Level {
    pub w: u32,
    pub h: u32,
    pub texels: Vec<[f32; 4]>,
    /// Both sides powers of two: coordinates wrap with a mask, not a division.
    pow2: bool,
}

impl Level {
    /// Texel `(x, y)`, repeating.
    #[inline(always)]
    fn at(&self, x: i32, y: i32) -> [f32; 4] {
        let (w, h) = (self.w as i32, self.h as i32);
        let (x, y) = if self.pow2 { (x & (w - 1), y & (h - 1)) } else { (x.rem_euclid(w), y.rem_euclid(h)) };
        self.texels[y as usize * self.w as usize + x as usize]
    }
}

/// A texture's mip chain in linear RGB, level 0 first.
#[derive(Debug)]
pub(crate) struct Texture {
    pub levels: Vec<Level>,
}

impl Texture {
    /// The named texture (see [`textures::mip_chain`]).
    pub(crate) fn load(name: &str) -> Result<Self> {
        let (w, h, chain) = textures::mip_chain(name)?;
        let dec = decode_table();
        let (mut lw, mut lh) = (w, h);
        let mut levels = Vec::with_capacity(chain.len());
        for data in chain {
            let texels =
                data.chunks_exact(4).map(|p| [dec[p[0] as usize], dec[p[1] as usize], dec[p[2] as usize], 1.0]);
            levels.push(Level {
                w: lw,
                h: lh,
                texels: texels.collect(),
                pow2: lw.is_power_of_two() && lh.is_power_of_two(),
            });
            (lw, lh) = ((lw / 2).max(1), (lh / 2).max(1));
        }
        Ok(Texture { levels })
    }

    /// The mip level for a footprint of `rho2` (squared texels of level 0 per pixel).
    #[inline(always)]
    pub(crate) fn level_for(&self, rho2: f32) -> usize {
        // log2(rho) rounded to the nearest level: log2(rho2) / 2 + 0.5, from the float's
        // exponent and mantissa (a piecewise-linear log2, within 0.09).
        let log2 = (rho2.max(1e-30).to_bits() as f32) * (1.0 / (1u32 << 23) as f32) - 127.0;
        let l = (0.5 * log2 + 0.5).max(0.0) as usize;
        l.min(self.levels.len() - 1)
    }

    /// The texel at `(u, v)` repeats (nearest), at `level`.
    #[inline(always)]
    pub(crate) fn nearest(&self, level: usize, u: f32, v: f32) -> [f32; 4] {
        let l = &self.levels[level];
        l.at(floor_i32(u * l.w as f32), floor_i32(v * l.h as f32))
    }

    /// The texel at `(u, v)` repeats (bilinear), at `level`.
    #[inline(always)]
    pub(crate) fn bilinear(&self, level: usize, u: f32, v: f32) -> [f32; 4] {
        let l = &self.levels[level];
        let (fx, fy) = (u * l.w as f32 - 0.5, v * l.h as f32 - 0.5);
        let (x0, y0) = (floor_i32(fx), floor_i32(fy));
        let (tx, ty) = (fx - x0 as f32, fy - y0 as f32);
        let (a, b, c, d) = (l.at(x0, y0), l.at(x0 + 1, y0), l.at(x0, y0 + 1), l.at(x0 + 1, y0 + 1));
        let mut out = [0.0; 4];
        for k in 0..3 {
            let top = a[k] + (b[k] - a[k]) * tx;
            let bottom = c[k] + (d[k] - c[k]) * tx;
            out[k] = top + (bottom - top) * ty;
        }
        out
    }
}

/// A Scene material ready to shade: linear colour, how light scales it, the texture.
#[derive(Clone, Debug)]
pub(crate) struct Shader {
    /// Linear base colour (the texture is tinted by it).
    pub color: [f32; 3],
    /// Opacity; below 1 the colour is blended over what is behind (no depth write).
    pub alpha: f32,
    /// Light is `ambient + diffuse * max(n . l, 0)` (unlit: 1 and 0).
    pub ambient: f32,
    pub diffuse: f32,
    pub texture: Option<Arc<Texture>>,
}

impl Shader {
    /// The shader of `m`, textures from `load`.
    pub(crate) fn new(m: &Material, load: &mut impl FnMut(&str) -> Result<Arc<Texture>>) -> Result<Self> {
        let [r, g, b, a] = m.color;
        let texture = match &m.texture {
            Some(name) => Some(load(name)?),
            None => None,
        };
        let (ambient, diffuse) = if m.unlit { (1.0, 0.0) } else { (AMBIENT, SUN * (1.0 - m.metallic.clamp(0.0, 1.0))) };
        Ok(Shader {
            color: [
                srgb_to_linear(r.clamp(0.0, 1.0)),
                srgb_to_linear(g.clamp(0.0, 1.0)),
                srgb_to_linear(b.clamp(0.0, 1.0)),
            ],
            alpha: a.clamp(0.0, 1.0),
            ambient,
            diffuse,
            texture,
        })
    }

    /// The light factor for a surface whose normal makes `ndl` with the direction to the
    /// sun.
    #[inline(always)]
    pub(crate) fn light(&self, ndl: f32) -> f32 {
        self.ambient + self.diffuse * ndl.max(0.0)
    }
}

/// The unit direction towards the sun from a Scene's `sun_direction` (the way light
/// travels).
pub(crate) fn to_sun(sun_direction: V3) -> V3 {
    normalize([-sun_direction[0], -sun_direction[1], -sun_direction[2]]).unwrap_or([0.0, 1.0, 0.0])
}

/// `n . to_sun`.
pub(crate) fn ndl(n: V3, to_sun: V3) -> f32 {
    dot(n, to_sun)
}

/// Entries of a sky gradient table (elevation 0..=1 of the view ray).
pub(crate) const SKY_STEPS: usize = 256;

/// The bevy backend's sky dome as seen along a ray of elevation `h` (the ray's y, 0 at the
/// horizon and below): hazy at the horizon, the sky colour a quarter of the way up, a
/// little deeper at the zenith. `SKY_STEPS` sRGB colours for h in 0..=1.
pub(crate) fn sky_gradient(sky: [f32; 3]) -> Vec<[u8; 3]> {
    let haze = [0.5 * sky[0] + 0.45, 0.5 * sky[1] + 0.45, 0.5 * sky[2] + 0.45];
    let zenith = [0.8 * sky[0], 0.85 * sky[1], 0.95 * sky[2]];
    (0..SKY_STEPS)
        .map(|i| {
            let h = i as f32 / (SKY_STEPS - 1) as f32;
            let (low, high) = (h.min(0.25) / 0.25, ((h - 0.25) / 0.75).max(0.0));
            let mut c = [0.0; 3];
            for k in 0..3 {
                let mid = haze[k] + (sky[k] - haze[k]) * low;
                c[k] = mid + (zenith[k] - mid) * high;
            }
            srgb_bytes(c)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srgb_round_trips_through_the_tables() {
        let (dec, enc) = (decode_table(), encode_table());
        for i in 0..=255u8 {
            assert_eq!(encode(enc, dec[i as usize]), i);
        }
        assert_eq!((encode(enc, -1.0), encode(enc, 7.0), encode(enc, f32::NAN)), (0, 255, 0));
    }

    #[test]
    fn mip_level_follows_the_footprint() {
        let t = Texture::load("grass").unwrap();
        assert_eq!(t.levels.len(), 8);
        assert_eq!(t.level_for(1.0), 0);
        assert_eq!(t.level_for(0.01), 0);
        assert_eq!(t.level_for(16.0), 2);
        assert_eq!(t.level_for(64.0 * 64.0), 6);
        assert_eq!(t.level_for(1e12), 7);
    }
}
