//! A batch of RGB frames: what the renderers write and the reward models read.

use crate::error::{EnvError, Result};

/// `N x H x W x 3` RGB bytes, row-major (frame, row, column, channel), one frame per env.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frames {
    data: Vec<u8>,
    n: usize,
    height: usize,
    width: usize,
}

impl Frames {
    /// Wraps `n` frames of `height x width` RGB pixels; errors when a dimension is 0 or the
    /// byte count is not `n * height * width * 3`.
    pub fn new(data: Vec<u8>, n: usize, height: usize, width: usize) -> Result<Self> {
        if n == 0 || height == 0 || width == 0 {
            return Err(EnvError::BadFrames(format!("shape {n} x {height} x {width} x 3 has a zero dimension")));
        }
        let expected = n.checked_mul(height).and_then(|v| v.checked_mul(width)).and_then(|v| v.checked_mul(3));
        if expected != Some(data.len()) {
            return Err(EnvError::BadFrames(format!(
                "{} bytes do not form {n} x {height} x {width} x 3 RGB frames",
                data.len()
            )));
        }
        Ok(Self { data, n, height, width })
    }

    /// `n` black frames of `height x width` (a renderer's output buffer).
    pub fn zeroed(n: usize, height: usize, width: usize) -> Self {
        Self { data: vec![0; n * height * width * 3], n, height, width }
    }

    /// Number of frames `N`.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True when the batch holds no frame.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Frame height `H` in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Frame width `W` in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The bytes of frame `i` (`H * W * 3`), or `None` when out of range.
    pub fn frame(&self, i: usize) -> Option<&[u8]> {
        let size = self.height * self.width * 3;
        (i < self.n).then(|| &self.data[i * size..(i + 1) * size])
    }

    /// All bytes, `N * H * W * 3`.
    pub fn as_slice(&self) -> &[u8] {
        &self.data
    }

    /// All bytes, to draw into.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.data
    }

    /// The bytes, `N * H * W * 3`.
    pub fn into_data(self) -> Vec<u8> {
        self.data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_errors_name_the_problem_and_frames_slice_right() {
        let err = Frames::new(vec![0; 10], 1, 2, 2).unwrap_err().to_string();
        assert_eq!(err, "frames: 10 bytes do not form 1 x 2 x 2 x 3 RGB frames");
        let err = Frames::new(vec![], 0, 2, 2).unwrap_err().to_string();
        assert!(err.contains("zero dimension"), "{err}");
        let f = Frames::new((0..24).collect(), 2, 2, 2).unwrap();
        assert_eq!(f.frame(1).unwrap(), &(12..24).collect::<Vec<u8>>()[..]);
        assert_eq!(f.frame(2), None);
        assert_eq!((f.len(), f.height(), f.width()), (2, 2, 2));
    }
}
