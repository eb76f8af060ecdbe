//! Helpers over the envs' [`Frames`] batch that need the renderers' formats.

use anyhow::{bail, Result};

pub use vlmgym_envs::Frames;

/// Frames from GPU readbacks: RGBA rows padded to 256 bytes, one buffer per frame.
pub fn from_padded_rgba(buffers: &[Vec<u8>], width: u32, height: u32) -> Result<Frames> {
    let (w, h) = (width as usize, height as usize);
    let row = w * 4;
    let padded = row.div_ceil(256) * 256;
    let mut data = Vec::with_capacity(buffers.len() * w * h * 3);
    for (i, b) in buffers.iter().enumerate() {
        if b.len() < padded * (h - 1) + row {
            bail!("readback {i} has {} bytes, a {w}x{h} image needs {}", b.len(), padded * (h - 1) + row);
        }
        for y in 0..h {
            for px in b[y * padded..y * padded + row].chunks_exact(4) {
                data.extend_from_slice(&px[..3]);
            }
        }
    }
    Ok(Frames::new(data, buffers.len(), h, w)?)
}

/// Frame `i` of `frames` as an image; panics when `i` is out of range.
pub fn image(frames: &Frames, i: usize) -> image::RgbImage {
    let frame = frames.frame(i).expect("frame index in range");
    image::RgbImage::from_raw(frames.width() as u32, frames.height() as u32, frame.to_vec())
        .expect("frame size matches")
}
