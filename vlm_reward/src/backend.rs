//! Backends: anything that maps texts and frames into one normalised embedding space.
//!
//! [`Embeddings`] holds `n x d` row embeddings, each row L2-normalised; [`Frames`] holds a
//! batch of RGB frames `N x H x W x 3` (u8, row-major). [`TextEmbeddingCache`] computes each
//! goal text once per backend and hands out rows in the order they were asked for.

use std::collections::HashMap;

use anyhow::{bail, ensure, Result};

/// `n x d` row embeddings, every row L2-normalised (unit length).
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    data: Vec<f32>,
    rows: usize,
    dim: usize,
}

/// L2-normalises `v` in place; errors (naming `what`) on non-finite values or a zero vector.
pub(crate) fn normalise_in_place(v: &mut [f32], what: &str) -> Result<()> {
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        bail!("{what}: component {i} is not finite ({})", v[i]);
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    ensure!(norm > 0.0 && norm.is_finite(), "{what}: vector has zero (or non-finite) length and cannot be normalised");
    v.iter_mut().for_each(|x| *x /= norm);
    Ok(())
}

impl Embeddings {
    /// Builds embeddings from `rows x dim` row-major values, L2-normalising every row.
    ///
    /// Errors when the length does not match `rows * dim`, when `dim` is 0, or when a row
    /// holds a NaN/infinite value or is all zeros.
    pub fn from_rows(data: Vec<f32>, rows: usize, dim: usize) -> Result<Self> {
        ensure!(dim > 0, "embeddings: dimension must be at least 1");
        ensure!(
            rows.checked_mul(dim) == Some(data.len()),
            "embeddings: {} values do not form {rows} rows of dimension {dim}",
            data.len()
        );
        let mut data = data;
        for (i, row) in data.chunks_mut(dim).enumerate() {
            normalise_in_place(row, &format!("embedding row {i}"))?;
        }
        Ok(Self { data, rows, dim })
    }

    /// Builds embeddings from a list of equally long vectors, L2-normalising each.
    pub fn from_vecs(vecs: &[Vec<f32>]) -> Result<Self> {
        let Some(first) = vecs.first() else {
            bail!("embeddings: no vectors given");
        };
        let dim = first.len();
        if let Some(i) = vecs.iter().position(|v| v.len() != dim) {
            bail!("embeddings: vector {i} has dimension {}, vector 0 has {dim}", vecs[i].len());
        }
        Self::from_rows(vecs.concat(), vecs.len(), dim)
    }

    /// Number of rows (embedded items).
    pub fn len(&self) -> usize {
        self.rows
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Embedding dimension `d`.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Row `i` (unit length), or `None` when out of range.
    pub fn row(&self, i: usize) -> Option<&[f32]> {
        (i < self.rows).then(|| &self.data[i * self.dim..(i + 1) * self.dim])
    }

    /// Iterator over all rows in order.
    pub fn iter(&self) -> impl Iterator<Item = &[f32]> {
        self.data.chunks(self.dim)
    }

    /// All values, row-major (`len() * dim()`).
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// Mean of the rows, renormalised to unit length (errors if the mean is zero).
    pub fn normalised_mean(&self) -> Result<Vec<f32>> {
        let mut mean = self.mean()?;
        normalise_in_place(&mut mean, "mean embedding")?;
        Ok(mean)
    }

    /// Mean of the rows, not renormalised (errors when there are no rows).
    pub fn mean(&self) -> Result<Vec<f32>> {
        ensure!(self.rows > 0, "embeddings: mean of zero rows");
        let mut mean = vec![0.0f32; self.dim];
        for row in self.iter() {
            mean.iter_mut().zip(row).for_each(|(m, x)| *m += x);
        }
        let n = self.rows as f32;
        mean.iter_mut().for_each(|m| *m /= n);
        Ok(mean)
    }
}

pub use vlmgym_envs::Frames;

/// A vision-language backend: texts and frames into one space of unit-length embeddings.
pub trait Backend {
    /// Embeds `texts` (one row per text, same order); errors on an empty list.
    fn embed_texts(&self, texts: &[String]) -> Result<Embeddings>;
    /// Embeds every frame (one row per frame, same order).
    fn embed_images(&self, frames: &Frames) -> Result<Embeddings>;
    /// Embedding dimension shared by texts and images.
    fn dim(&self) -> usize;
}

/// Caches text embeddings by exact text, so each goal string is embedded once.
///
/// Use one cache per backend: the key is the text only. Misses are embedded in the order
/// they first appear in a request, so results never depend on hash order.
#[derive(Debug, Default, Clone)]
pub struct TextEmbeddingCache {
    map: HashMap<String, Vec<f32>>,
}

impl TextEmbeddingCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of cached texts.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Embeds `texts` through the cache: rows in the order of `texts`, calling the backend
    /// once for all texts not seen before. Errors on an empty list or a backend failure.
    pub fn embed(&mut self, backend: &dyn Backend, texts: &[String]) -> Result<Embeddings> {
        ensure!(!texts.is_empty(), "text embedding: no texts given");
        let mut missing: Vec<String> = Vec::new();
        for t in texts {
            if !self.map.contains_key(t) && !missing.contains(t) {
                missing.push(t.clone());
            }
        }
        if !missing.is_empty() {
            let emb = backend.embed_texts(&missing)?;
            ensure!(
                emb.len() == missing.len(),
                "text embedding: backend returned {} rows for {} texts",
                emb.len(),
                missing.len()
            );
            for (t, row) in missing.into_iter().zip(emb.iter()) {
                self.map.insert(t, row.to_vec());
            }
        }
        let rows: Vec<Vec<f32>> = texts.iter().map(|t| self.map[t].clone()).collect();
        Embeddings::from_vecs(&rows)
    }
}

/// Throughput of [`Backend::embed_images`] measured by [`bench_embed_images`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ImageBench {
    /// Frames per call.
    pub batch: usize,
    /// Timed calls (after one untimed warm-up call).
    pub repeats: usize,
    /// Frame height and width fed to the backend.
    pub frame_size: (usize, usize),
    /// Frames embedded per second over the timed calls.
    pub frames_per_second: f64,
    /// Mean milliseconds per call.
    pub ms_per_batch: f64,
}

/// Times `backend.embed_images` on `batch` frames of `height x width` pseudo-random pixels
/// (fixed pattern): one warm-up call, then `repeats` timed calls. Errors when `batch` or
/// `repeats` is 0 or the backend fails.
pub fn bench_embed_images(
    backend: &dyn Backend,
    batch: usize,
    repeats: usize,
    height: usize,
    width: usize,
) -> Result<ImageBench> {
    ensure!(batch > 0 && repeats > 0, "bench: batch and repeats must be at least 1");
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let data: Vec<u8> = (0..batch * height * width * 3)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 56) as u8
        })
        .collect();
    let frames = Frames::new(data, batch, height, width)?;
    backend.embed_images(&frames)?;
    let start = std::time::Instant::now();
    for _ in 0..repeats {
        let e = backend.embed_images(&frames)?;
        ensure!(e.len() == batch, "bench: backend returned {} rows for {batch} frames", e.len());
    }
    let secs = start.elapsed().as_secs_f64();
    Ok(ImageBench {
        batch,
        repeats,
        frame_size: (height, width),
        frames_per_second: (batch * repeats) as f64 / secs,
        ms_per_batch: secs * 1000.0 / repeats as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[test]
    fn rows_are_normalised() {
        let e = Embeddings::from_rows(vec![3.0, 4.0, 0.0, -2.0], 2, 2).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e.dim(), 2);
        let r0 = e.row(0).unwrap();
        assert!((r0[0] - 0.6).abs() < 1e-6 && (r0[1] - 0.8).abs() < 1e-6);
        assert_eq!(e.row(1).unwrap(), &[0.0, -1.0]);
        assert!(e.row(2).is_none());
    }

    #[test]
    fn bad_embeddings_are_errors() {
        let err = Embeddings::from_rows(vec![1.0, 2.0, 3.0], 2, 2).unwrap_err();
        assert!(err.to_string().contains("do not form"), "{err}");
        let err = Embeddings::from_rows(vec![1.0, f32::NAN], 1, 2).unwrap_err();
        assert!(err.to_string().contains("not finite"), "{err}");
        let err = Embeddings::from_rows(vec![0.0, 0.0], 1, 2).unwrap_err();
        assert!(err.to_string().contains("zero"), "{err}");
        let err = Embeddings::from_vecs(&[vec![1.0, 0.0], vec![1.0]]).unwrap_err();
        assert!(err.to_string().contains("vector 1"), "{err}");
    }

    #[test]
    fn means() {
        let e = Embeddings::from_vecs(&[vec![1.0, 0.0], vec![0.0, 1.0]]).unwrap();
        assert_eq!(e.mean().unwrap(), vec![0.5, 0.5]);
        let m = e.normalised_mean().unwrap();
        let s = std::f32::consts::FRAC_1_SQRT_2;
        assert!((m[0] - s).abs() < 1e-6 && (m[1] - s).abs() < 1e-6);
        let opposite = Embeddings::from_vecs(&[vec![1.0, 0.0], vec![-1.0, 0.0]]).unwrap();
        assert!(opposite.normalised_mean().is_err());
    }

    #[test]
    fn frames_shape_checks() {
        let f = Frames::new(vec![0; 2 * 3 * 4 * 3], 2, 3, 4).unwrap();
        assert_eq!((f.len(), f.height(), f.width()), (2, 3, 4));
        assert_eq!(f.frame(1).unwrap().len(), 36);
        assert!(f.frame(2).is_none());
        let err = Frames::new(vec![0; 10], 1, 2, 2).unwrap_err();
        assert!(err.to_string().contains("10 bytes"), "{err}");
        let err = Frames::new(vec![], 0, 2, 2).unwrap_err();
        assert!(err.to_string().contains("zero dimension"), "{err}");
    }

    /// Counts calls and embeds a text as (length, number of 'a's + 1).
    struct Counting {
        calls: RefCell<Vec<Vec<String>>>,
    }

    impl Backend for Counting {
        fn embed_texts(&self, texts: &[String]) -> Result<Embeddings> {
            self.calls.borrow_mut().push(texts.to_vec());
            let v: Vec<Vec<f32>> =
                texts.iter().map(|t| vec![t.len() as f32, t.matches('a').count() as f32 + 1.0]).collect();
            Embeddings::from_vecs(&v)
        }
        fn embed_images(&self, _frames: &Frames) -> Result<Embeddings> {
            bail!("no images")
        }
        fn dim(&self) -> usize {
            2
        }
    }

    #[test]
    fn cache_embeds_each_text_once_in_order() {
        let b = Counting { calls: RefCell::new(vec![]) };
        let mut cache = TextEmbeddingCache::new();
        let t = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let e1 = cache.embed(&b, &t(&["bb", "a", "bb"])).unwrap();
        assert_eq!(e1.len(), 3);
        assert_eq!(e1.row(0), e1.row(2));
        let e2 = cache.embed(&b, &t(&["a", "ccc"])).unwrap();
        assert_eq!(e2.row(0), e1.row(1));
        assert_eq!(*b.calls.borrow(), vec![t(&["bb", "a"]), t(&["ccc"])]);
        assert_eq!(cache.len(), 3);
        assert!(cache.embed(&b, &[]).is_err());
    }
}
