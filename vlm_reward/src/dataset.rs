//! Caption datasets of rendered frames, on disk.
//!
//! A dataset is a folder with two files:
//! - `frames.safetensors`: one tensor `frames`, u8, shape `[N, H, W, 3]` (RGB, row-major);
//! - `meta.json`: `{"version": 1, "width": W, "height": H, "cameras": {...}, "samples": [...]}`
//!   with the scene camera each env was rendered from (env id to camera name; absent in
//!   datasets written before it was recorded) and one [`Sample`] per frame, in frame order:
//!   env id, seed, episode, step, split, the captions (facts true of the frame, each with
//!   several phrasings), the env reward, success flag and named state values.
//!
//! [`DatasetWriter`] collects frames and samples and writes both files atomically (temporary
//! file, then rename; `meta.json` last, so a folder with a `meta.json` is complete).
//! [`Dataset::load`] reads and checks them. Splits are by seed: [`Split::for_seed`] puts
//! held-out seeds in the test split, so no episode contributes frames to both splits.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};

use crate::backend::Frames;

/// Version written to and accepted from `meta.json`.
pub const DATASET_VERSION: u32 = 1;
/// Name of the frames file inside a dataset folder.
pub const FRAMES_FILE: &str = "frames.safetensors";
/// Name of the metadata file inside a dataset folder.
pub const META_FILE: &str = "meta.json";
/// Name of the frames tensor inside [`FRAMES_FILE`].
pub const FRAMES_TENSOR: &str = "frames";

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, then a rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create folder {}", dir.display()))?;
    let name = path.file_name().with_context(|| format!("{} has no file name", path.display()))?;
    let tmp = dir.join(format!(".{}.tmp{}", name.to_string_lossy(), std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))?;
    Ok(())
}

/// Train or test split of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Used for training.
    Train,
    /// Held out (its seeds never appear in training).
    Test,
}

impl Split {
    /// [`Split::Test`] when `seed` is one of `held_out`, else [`Split::Train`].
    pub fn for_seed(seed: u64, held_out: &[u64]) -> Self {
        if held_out.contains(&seed) {
            Split::Test
        } else {
            Split::Train
        }
    }
}

/// A fact true of a frame and ways of saying it (the envs' own caption type).
pub use vlmgym_envs::Caption;

/// What is known about one frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Env id, e.g. `CartPole-v1`.
    pub env: String,
    /// Seed of the episode's reset.
    pub seed: u64,
    /// Episode index within the generating run.
    pub episode: u64,
    /// Step index within the episode.
    pub step: u64,
    /// Train or test.
    pub split: Split,
    /// Facts true of the frame (may be empty: the frame then only serves as a negative).
    pub captions: Vec<Caption>,
    /// Env reward of the step that produced the frame.
    pub reward: f64,
    /// Whether the env counts this state as a success.
    pub success: bool,
    /// Named state values (e.g. `x`, `theta`).
    #[serde(default)]
    pub state: BTreeMap<String, f64>,
}

impl Sample {
    /// Errors naming the problem when the sample is malformed (empty env, empty or
    /// duplicated facts, facts without phrasings, empty phrasings, non-finite numbers).
    pub fn validate(&self) -> Result<()> {
        ensure!(!self.env.trim().is_empty(), "sample: empty env id");
        ensure!(
            self.reward.is_finite(),
            "sample ({} seed {}): reward {} is not finite",
            self.env,
            self.seed,
            self.reward
        );
        for (k, v) in &self.state {
            ensure!(v.is_finite(), "sample ({} seed {}): state value {k} = {v} is not finite", self.env, self.seed);
        }
        for (i, c) in self.captions.iter().enumerate() {
            ensure!(
                !c.fact.trim().is_empty(),
                "sample ({} seed {}): caption {i} has an empty fact",
                self.env,
                self.seed
            );
            ensure!(!c.phrasings.is_empty(), "sample ({}): fact {} has no phrasings", self.env, c.fact);
            ensure!(
                c.phrasings.iter().all(|p| !p.trim().is_empty()),
                "sample ({}): fact {} has an empty phrasing",
                self.env,
                c.fact
            );
            ensure!(
                !self.captions[..i].iter().any(|o| o.fact == c.fact),
                "sample ({}): fact {} listed twice",
                self.env,
                c.fact
            );
        }
        Ok(())
    }

    /// True when `fact` is one of this sample's captions.
    pub fn has_fact(&self, fact: &str) -> bool {
        self.captions.iter().any(|c| c.fact == fact)
    }
}

/// The contents of `meta.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetMeta {
    /// Format version ([`DATASET_VERSION`]).
    pub version: u32,
    /// Frame width in pixels.
    pub width: usize,
    /// Frame height in pixels.
    pub height: usize,
    /// The scene camera each env was rendered from (env id to camera name); empty when not
    /// recorded (older datasets).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cameras: BTreeMap<String, String>,
    /// The renderer the frames came from (`raster` or `bevy`); None when not recorded
    /// (datasets from before the CPU rasteriser, all drawn by bevy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renderer: Option<String>,
    /// One sample per frame, in frame order.
    pub samples: Vec<Sample>,
}

impl DatasetMeta {
    /// The facts of each env (in order of first appearance) with every distinct phrasing any
    /// sample gives them (in order of first appearance).
    pub fn facts(&self) -> Vec<EnvFacts> {
        let mut out: Vec<EnvFacts> = Vec::new();
        for s in &self.samples {
            let pos = match out.iter().position(|e| e.env == s.env) {
                Some(p) => p,
                None => {
                    out.push(EnvFacts { env: s.env.clone(), facts: Vec::new() });
                    out.len() - 1
                }
            };
            let env = &mut out[pos];
            for c in &s.captions {
                let fact = match env.facts.iter().position(|f| f.fact == c.fact) {
                    Some(p) => &mut env.facts[p],
                    None => {
                        env.facts.push(Caption { fact: c.fact.clone(), phrasings: Vec::new() });
                        env.facts.last_mut().expect("just pushed")
                    }
                };
                for p in &c.phrasings {
                    if !fact.phrasings.contains(p) {
                        fact.phrasings.push(p.clone());
                    }
                }
            }
        }
        out
    }
}

/// Collects frames and their samples, then writes a dataset folder.
#[derive(Debug)]
pub struct DatasetWriter {
    dir: PathBuf,
    width: usize,
    height: usize,
    frames: Vec<u8>,
    samples: Vec<Sample>,
    cameras: BTreeMap<String, String>,
    renderer: Option<String>,
}

impl DatasetWriter {
    /// A writer for `width x height` RGB frames into folder `dir` (created by
    /// [`finish`](Self::finish) if missing). Errors when a dimension is 0.
    pub fn new(dir: impl Into<PathBuf>, width: usize, height: usize) -> Result<Self> {
        ensure!(width > 0 && height > 0, "dataset: frame size {width}x{height} has a zero dimension");
        Ok(Self {
            dir: dir.into(),
            width,
            height,
            frames: Vec::new(),
            samples: Vec::new(),
            cameras: BTreeMap::new(),
            renderer: None,
        })
    }

    /// Appends one frame (`height * width * 3` RGB bytes, row-major) and what is known about
    /// it. Errors (and appends nothing) on a wrong byte count or a malformed sample.
    pub fn push(&mut self, frame: &[u8], sample: Sample) -> Result<()> {
        let expected = self.width * self.height * 3;
        ensure!(
            frame.len() == expected,
            "dataset: frame {} has {} bytes, expected {expected} ({}x{} RGB)",
            self.samples.len(),
            frame.len(),
            self.width,
            self.height
        );
        sample.validate().with_context(|| format!("dataset: frame {}", self.samples.len()))?;
        self.frames.extend_from_slice(frame);
        self.samples.push(sample);
        Ok(())
    }

    /// Records the scene camera each env was rendered from (env id to camera name).
    pub fn set_cameras(&mut self, cameras: BTreeMap<String, String>) {
        self.cameras = cameras;
    }

    /// Records the renderer the frames came from (`raster` or `bevy`).
    pub fn set_renderer(&mut self, renderer: impl Into<String>) {
        self.renderer = Some(renderer.into());
    }

    /// Number of frames pushed so far.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// True when nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Writes `frames.safetensors` then `meta.json` (each atomically) and returns the folder.
    /// Errors when no frame was pushed or a file cannot be written.
    pub fn finish(self) -> Result<PathBuf> {
        ensure!(!self.samples.is_empty(), "dataset: no frames were added; nothing to write to {}", self.dir.display());
        std::fs::create_dir_all(&self.dir).with_context(|| format!("dataset: cannot create {}", self.dir.display()))?;
        let shape = vec![self.samples.len(), self.height, self.width, 3];
        let view = TensorView::new(Dtype::U8, shape, &self.frames).context("dataset: frames tensor")?;
        let bytes =
            safetensors::serialize([(FRAMES_TENSOR, view)], None).context("dataset: cannot serialise frames")?;
        write_atomic(&self.dir.join(FRAMES_FILE), &bytes)?;
        let meta = DatasetMeta {
            version: DATASET_VERSION,
            width: self.width,
            height: self.height,
            cameras: self.cameras,
            renderer: self.renderer,
            samples: self.samples,
        };
        let json = serde_json::to_vec(&meta).context("dataset: cannot serialise meta.json")?;
        write_atomic(&self.dir.join(META_FILE), &json)?;
        Ok(self.dir)
    }
}

/// A dataset in memory: metadata and all frames.
#[derive(Debug, Clone)]
pub struct Dataset {
    meta: DatasetMeta,
    frames: Vec<u8>,
}

impl Dataset {
    /// Builds a dataset in memory from `width x height` frames (concatenated) and their
    /// samples, with the same checks as [`load`](Self::load).
    pub fn from_parts(width: usize, height: usize, frames: Vec<u8>, samples: Vec<Sample>) -> Result<Self> {
        let meta =
            DatasetMeta { version: DATASET_VERSION, width, height, cameras: BTreeMap::new(), renderer: None, samples };
        Self::check(meta, frames, Path::new("<memory>"))
    }

    fn check(meta: DatasetMeta, frames: Vec<u8>, dir: &Path) -> Result<Self> {
        let d = dir.display();
        ensure!(
            meta.version == DATASET_VERSION,
            "dataset {d}: version {} not supported (expected {DATASET_VERSION})",
            meta.version
        );
        ensure!(
            meta.width > 0 && meta.height > 0,
            "dataset {d}: frame size {}x{} has a zero dimension",
            meta.width,
            meta.height
        );
        ensure!(!meta.samples.is_empty(), "dataset {d}: no samples");
        let n = meta.samples.len();
        let size = meta.width * meta.height * 3;
        ensure!(
            frames.len() == n * size,
            "dataset {d}: {} frame bytes for {n} samples of {}x{} RGB (expected {})",
            frames.len(),
            meta.width,
            meta.height,
            n * size
        );
        for (i, s) in meta.samples.iter().enumerate() {
            s.validate().with_context(|| format!("dataset {d}: sample {i}"))?;
        }
        for (env, camera) in &meta.cameras {
            ensure!(!camera.trim().is_empty(), "dataset {d}: empty camera name for {env}");
        }
        Ok(Self { meta, frames })
    }

    /// Reads `DIR/meta.json` and `DIR/frames.safetensors`, checking the version, that the
    /// frames tensor is u8 `[N, H, W, 3]` with `N` = number of samples and `H, W` as in the
    /// metadata, and every sample.
    pub fn load(dir: &Path) -> Result<Self> {
        let d = dir.display();
        let meta_path = dir.join(META_FILE);
        let frames_path = dir.join(FRAMES_FILE);
        ensure!(meta_path.is_file(), "dataset {d}: {META_FILE} is missing");
        ensure!(frames_path.is_file(), "dataset {d}: {FRAMES_FILE} is missing");
        let meta_text = std::fs::read_to_string(&meta_path)
            .with_context(|| format!("dataset: cannot read {}", meta_path.display()))?;
        let meta: DatasetMeta =
            serde_json::from_str(&meta_text).with_context(|| format!("dataset: bad {}", meta_path.display()))?;
        let bytes =
            std::fs::read(&frames_path).with_context(|| format!("dataset: cannot read {}", frames_path.display()))?;
        let st = SafeTensors::deserialize(&bytes)
            .with_context(|| format!("dataset: {} is not a valid safetensors file", frames_path.display()))?;
        let view = st
            .tensor(FRAMES_TENSOR)
            .with_context(|| format!("dataset: {} has no tensor `{FRAMES_TENSOR}`", frames_path.display()))?;
        ensure!(view.dtype() == Dtype::U8, "dataset {d}: frames tensor is {:?}, expected U8", view.dtype());
        let shape = view.shape();
        ensure!(
            shape.len() == 4 && shape[3] == 3,
            "dataset {d}: frames tensor has shape {shape:?}, expected [N, H, W, 3]"
        );
        ensure!(
            shape[1] == meta.height && shape[2] == meta.width,
            "dataset {d}: frames are {}x{} but meta.json says {}x{}",
            shape[2],
            shape[1],
            meta.width,
            meta.height
        );
        ensure!(
            shape[0] == meta.samples.len(),
            "dataset {d}: {} frames but {} samples in meta.json",
            shape[0],
            meta.samples.len()
        );
        let frames = view.data().to_vec();
        drop(st);
        Self::check(meta, frames, dir)
    }

    /// One dataset of `parts`' frames and samples, in order (e.g. a dataset of a policy's
    /// visited states added to a sampled one). Errors name the problem when the parts differ
    /// in frame size or renderer, or render one env from two cameras; an empty list is an
    /// error too.
    pub fn merge(parts: Vec<Dataset>) -> Result<Self> {
        let mut parts = parts.into_iter();
        let Some(mut out) = parts.next() else { bail!("dataset merge: no datasets given") };
        for (i, part) in parts.enumerate() {
            let i = i + 1;
            ensure!(
                (part.width(), part.height()) == (out.width(), out.height()),
                "dataset merge: part {i} has {}x{} frames, part 0 has {}x{}",
                part.width(),
                part.height(),
                out.width(),
                out.height()
            );
            ensure!(
                part.meta.renderer == out.meta.renderer,
                "dataset merge: part {i} was drawn by {}, part 0 by {}",
                part.meta.renderer.as_deref().unwrap_or("an unrecorded renderer"),
                out.meta.renderer.as_deref().unwrap_or("an unrecorded renderer")
            );
            for (env, camera) in &part.meta.cameras {
                match out.meta.cameras.get(env) {
                    Some(c) if c != camera => {
                        bail!("dataset merge: part {i} renders {env} from camera `{camera}`, part 0 from `{c}`")
                    }
                    Some(_) => {}
                    None => {
                        out.meta.cameras.insert(env.clone(), camera.clone());
                    }
                }
            }
            out.frames.extend_from_slice(&part.frames);
            out.meta.samples.extend(part.meta.samples);
        }
        Ok(out)
    }

    /// Number of frames (= samples).
    pub fn len(&self) -> usize {
        self.meta.samples.len()
    }

    /// Always false for a loaded dataset.
    pub fn is_empty(&self) -> bool {
        self.meta.samples.is_empty()
    }

    /// Frame width.
    pub fn width(&self) -> usize {
        self.meta.width
    }

    /// Frame height.
    pub fn height(&self) -> usize {
        self.meta.height
    }

    /// All samples, in frame order.
    pub fn samples(&self) -> &[Sample] {
        &self.meta.samples
    }

    /// The scene camera each env was rendered from (empty for datasets that did not record it).
    pub fn cameras(&self) -> &BTreeMap<String, String> {
        &self.meta.cameras
    }

    /// The renderer the frames came from, when the dataset recorded it.
    pub fn renderer(&self) -> Option<&str> {
        self.meta.renderer.as_deref()
    }

    /// The metadata.
    pub fn meta(&self) -> &DatasetMeta {
        &self.meta
    }

    /// Bytes of frame `i` (`H * W * 3`), or `None` when out of range.
    pub fn frame(&self, i: usize) -> Option<&[u8]> {
        let size = self.meta.width * self.meta.height * 3;
        (i < self.len()).then(|| &self.frames[i * size..(i + 1) * size])
    }

    /// The frames with the given indices as a batch; errors on an empty list or an index
    /// out of range.
    pub fn frames(&self, indices: &[usize]) -> Result<Frames> {
        ensure!(!indices.is_empty(), "dataset: no frame indices given");
        let mut data = Vec::with_capacity(indices.len() * self.meta.width * self.meta.height * 3);
        for &i in indices {
            let Some(f) = self.frame(i) else { bail!("dataset: frame index {i} out of range (0..{})", self.len()) };
            data.extend_from_slice(f);
        }
        Ok(Frames::new(data, indices.len(), self.meta.height, self.meta.width)?)
    }

    /// Indices of the samples in `split`, in order.
    pub fn indices(&self, split: Split) -> Vec<usize> {
        (0..self.len()).filter(|&i| self.meta.samples[i].split == split).collect()
    }

    /// Env ids in order of first appearance.
    pub fn envs(&self) -> Vec<String> {
        let mut envs: Vec<String> = Vec::new();
        for s in &self.meta.samples {
            if !envs.contains(&s.env) {
                envs.push(s.env.clone());
            }
        }
        envs
    }

    /// The facts of each env (in order of first appearance) with every distinct phrasing any
    /// sample gives them (in order of first appearance).
    pub fn facts(&self) -> Vec<EnvFacts> {
        self.meta.facts()
    }
}

/// The facts known for one env, each with all its phrasings.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvFacts {
    /// Env id.
    pub env: String,
    /// Facts with every phrasing seen in the dataset.
    pub facts: Vec<Caption>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(env: &str, seed: u64, facts: &[&str]) -> Sample {
        Sample {
            env: env.into(),
            seed,
            episode: 0,
            step: 1,
            split: Split::for_seed(seed, &[9]),
            captions: facts
                .iter()
                .map(|f| Caption { fact: f.to_string(), phrasings: vec![format!("{f} one"), format!("{f} two")] })
                .collect(),
            reward: 1.0,
            success: false,
            state: BTreeMap::from([("x".to_string(), 0.5)]),
        }
    }

    #[test]
    fn round_trip_and_checks() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = DatasetWriter::new(dir.path().join("ds"), 4, 2).unwrap();
        assert!(w.push(&[0; 5], sample("A", 1, &["a"])).unwrap_err().to_string().contains("5 bytes"));
        w.push(&[1; 24], sample("A", 1, &["a", "b"])).unwrap();
        w.push(&[2; 24], sample("B", 9, &["c"])).unwrap();
        w.set_cameras(BTreeMap::from([("A".to_string(), "bev".to_string())]));
        w.set_renderer("raster");
        let mut bad = sample("A", 1, &["a"]);
        bad.reward = f64::NAN;
        assert!(w.push(&[0; 24], bad).unwrap_err().to_string().contains("frame 2"));
        assert_eq!(w.len(), 2);
        let out = w.finish().unwrap();
        let ds = Dataset::load(&out).unwrap();
        assert_eq!((ds.len(), ds.width(), ds.height()), (2, 4, 2));
        assert_eq!(ds.frame(1).unwrap(), &[2; 24]);
        assert_eq!(ds.samples()[1].split, Split::Test);
        assert_eq!(ds.indices(Split::Train), vec![0]);
        assert_eq!(ds.envs(), vec!["A", "B"]);
        assert_eq!(ds.cameras(), &BTreeMap::from([("A".to_string(), "bev".to_string())]));
        assert_eq!(ds.renderer(), Some("raster"));
        let facts = ds.facts();
        assert_eq!(facts[0].facts.len(), 2);
        assert_eq!(facts[0].facts[0].phrasings, vec!["a one", "a two"]);
        let f = ds.frames(&[1, 0]).unwrap();
        assert_eq!(f.frame(0).unwrap(), &[2; 24]);
        assert!(ds.frames(&[5]).is_err());
        let json = std::fs::read_to_string(out.join(META_FILE)).unwrap();
        assert!(json.contains("\"split\":\"test\"") && json.contains("\"version\":1"), "{json}");
        assert!(json.contains("\"cameras\":{\"A\":\"bev\"}"), "{json}");
        // A meta.json written before cameras were recorded still loads, with no cameras.
        let mut old: serde_json::Value = serde_json::from_str(&json).unwrap();
        old.as_object_mut().unwrap().remove("cameras");
        old.as_object_mut().unwrap().remove("renderer");
        std::fs::write(out.join(META_FILE), old.to_string()).unwrap();
        let ds = Dataset::load(&out).unwrap();
        assert!(ds.cameras().is_empty());
        assert_eq!(ds.renderer(), None);
        assert_eq!(ds.len(), 2);
    }

    #[test]
    fn merge_appends_and_checks_the_parts_agree() {
        let part = |frames: &[u8], samples: Vec<Sample>, camera: &str, renderer: Option<&str>| {
            let mut d = Dataset::from_parts(2, 1, frames.to_vec(), samples).unwrap();
            d.meta.cameras = BTreeMap::from([("A".to_string(), camera.to_string())]);
            d.meta.renderer = renderer.map(str::to_string);
            d
        };
        let a = part(&[1; 6], vec![sample("A", 1, &["a"])], "bev", Some("raster"));
        let b = part(&[2; 12], vec![sample("A", 2, &["b"]), sample("A", 9, &["a"])], "bev", Some("raster"));
        let m = Dataset::merge(vec![a.clone(), b]).unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!((m.frame(0).unwrap(), m.frame(2).unwrap()), (&[1u8; 6][..], &[2u8; 6][..]));
        assert_eq!(m.samples()[1].captions[0].fact, "b");
        assert_eq!(m.indices(Split::Test), vec![2]);
        assert_eq!(m.renderer(), Some("raster"));
        let e = |parts: Vec<Dataset>| Dataset::merge(parts).unwrap_err().to_string();
        assert!(e(vec![]).contains("no datasets"));
        let other_camera = part(&[2; 6], vec![sample("A", 2, &["b"])], "chase", Some("raster"));
        assert!(e(vec![a.clone(), other_camera]).contains("renders A from camera `chase`, part 0 from `bev`"));
        let other_renderer = part(&[2; 6], vec![sample("A", 2, &["b"])], "bev", Some("bevy"));
        assert!(e(vec![a.clone(), other_renderer]).contains("part 1 was drawn by bevy, part 0 by raster"));
        let wide = Dataset::from_parts(3, 1, vec![0; 9], vec![sample("A", 3, &["a"])]).unwrap();
        assert!(e(vec![a, wide]).contains("part 1 has 3x1 frames, part 0 has 2x1"));
    }

    #[test]
    fn load_errors_name_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let e = Dataset::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("meta.json is missing"), "{e}");
        let mut w = DatasetWriter::new(dir.path(), 2, 2).unwrap();
        w.push(&[0; 12], sample("A", 1, &["a"])).unwrap();
        w.push(&[0; 12], sample("A", 2, &["a"])).unwrap();
        w.finish().unwrap();
        // One sample too few in meta.json.
        let meta_path = dir.path().join(META_FILE);
        let mut meta: DatasetMeta = serde_json::from_str(&std::fs::read_to_string(&meta_path).unwrap()).unwrap();
        meta.samples.pop();
        std::fs::write(&meta_path, serde_json::to_vec(&meta).unwrap()).unwrap();
        let e = Dataset::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("2 frames but 1 samples"), "{e}");
        meta.width = 3;
        std::fs::write(&meta_path, serde_json::to_vec(&meta).unwrap()).unwrap();
        let e = Dataset::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("meta.json says 3x2"), "{e}");
        std::fs::write(dir.path().join(FRAMES_FILE), b"garbage").unwrap();
        let e = format!("{:#}", Dataset::load(dir.path()).unwrap_err());
        assert!(e.contains("not a valid safetensors"), "{e}");
        assert!(DatasetWriter::new(dir.path(), 2, 2).unwrap().finish().is_err());
    }
}
