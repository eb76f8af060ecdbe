//! A batch of RGB frames.

use anyhow::{bail, Result};

/// `N x H x W x 3` RGB bytes, row-major, one frame per env.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frames {
    /// Number of frames.
    pub n: usize,
    /// Height, pixels.
    pub height: u32,
    /// Width, pixels.
    pub width: u32,
    /// The bytes.
    pub data: Vec<u8>,
}

impl Frames {
    /// From GPU readbacks: RGBA rows padded to 256 bytes, one buffer per frame.
    pub fn from_padded_rgba(buffers: &[Vec<u8>], width: u32, height: u32) -> Result<Self> {
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
        Ok(Frames { n: buffers.len(), height, width, data })
    }

    /// Frame `i` as `H x W x 3` bytes.
    pub fn frame(&self, i: usize) -> &[u8] {
        let len = self.width as usize * self.height as usize * 3;
        &self.data[i * len..(i + 1) * len]
    }

    /// Frame `i` as an image.
    pub fn image(&self, i: usize) -> image::RgbImage {
        image::RgbImage::from_raw(self.width, self.height, self.frame(i).to_vec()).expect("frame size matches")
    }
}
