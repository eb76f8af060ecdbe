//! Contrastive (InfoNCE, locked text) training of the image tower, LiT-style.
//!
//! The text side is frozen: every distinct phrasing of every fact in the training split is
//! embedded once up front with the text encoder (all-MiniLM-L6-v2 for simlit). Only the
//! [`ImageTower`] (and, optionally, the temperature) learns.
//!
//! **Batches.** With probability [`TrainConfig::same_env_fraction`] a batch is drawn from one
//! env only, so the texts it contrasts against are that env's other facts (hard negatives:
//! "pole upright" vs "pole falling" on the same-looking CartPole frames); otherwise it is
//! drawn from all training frames. The candidate texts of a batch are *all* facts of the envs
//! in it, not only those true of some frame. With [`TrainConfig::hard_negative_fraction`],
//! part of every batch is pairs of frames one fact apart (see [`nearest_contrasts`]), so
//! the loss keeps asking for the one difference that matters between two similar frames.
//!
//! **Multi-positive InfoNCE.** A frame usually has several true facts, each with several
//! phrasings. Every fact true of a frame is a positive for it. Each (frame, positive fact)
//! pair contributes `-log(e^{s l_p} / (e^{s l_p} + sum_{n in negatives} e^{s l_n}))`, where the
//! negatives are the candidate facts *not* true of that frame (other positives are left out
//! of the denominator, as in SupCon's "out" form, so two true facts never compete). The
//! text-to-image term is the same over columns: for a fact, each frame showing it against the
//! batch frames not showing it. The loss is the mean of the two terms.
//!
//! **Phrasings.** Each step draws one phrasing per fact (uniformly) instead of averaging the
//! phrasing embeddings. Goals are scored with single phrasings that the captions never used;
//! sampling makes the objective the expected loss over phrasings, so the tower learns to
//! sit close to every phrasing's embedding rather than to a centroid that no real sentence
//! embeds to, and it acts as text-side augmentation at no cost (embeddings are precomputed).
//!
//! **Images.** Frames are squashed once to the tower's input size; each step applies a small
//! random shift (edge-replicated, up to [`TrainConfig::max_shift`] pixels) and a brightness
//! jitter (`1 +- jitter`, one factor per frame, so colours keep their hue).
//!
//! Everything random comes from ChaCha8 seeded with [`TrainConfig::seed`], and candle's CPU
//! kernels are deterministic, so the same dataset, text encoder and config write
//! byte-identical tower files. Checkpoints (the tower so far) are written atomically to the
//! output path every [`TrainConfig::checkpoint_every`] steps; training does not resume from
//! them (the optimiser state is not saved).
//!
//! **Device.** The tower, the temperature and every batch live on the candle [`Device`]
//! passed to [`train_tower_on`] ([`train_tower`] trains on the CPU). The device is an
//! argument, not part of the serialised [`TrainConfig`]. Determinism across runs is
//! promised for the CPU; other devices' kernels may not be deterministic.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, ensure, Context, Result};
use candle_core::{Device, Tensor, Var};
use candle_nn::optim::{AdamW, Optimizer, ParamsAdamW};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::backend::{Backend, Embeddings, Frames};
use crate::dataset::{Dataset, Split};
use crate::diagnostics::{retrieval_accuracy, Retrieval};
use crate::tower::{frames_to_input, ImageTower, TowerConfig};

/// Training hyper-parameters (TOML; every field optional, defaults below).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Optimiser steps (default 3000).
    pub steps: usize,
    /// Frames per batch (default 64).
    pub batch_size: usize,
    /// AdamW learning rate (default 3e-4).
    pub lr: f64,
    /// AdamW weight decay (default 1e-4; not applied to the temperature).
    pub weight_decay: f64,
    /// Initial softmax temperature `tau` (logits are `cos / tau`; default 0.07 as CLIP).
    pub temperature: f64,
    /// Learn the temperature (as CLIP/LiT: `log(1/tau)` is a parameter, `1/tau <= 100`).
    pub learn_temperature: bool,
    /// Seed of the initial weights, batches and augmentation (default 0).
    pub seed: u64,
    /// Tower input size (frames are squashed to it; default 84).
    pub input_size: usize,
    /// Write the tower every this many steps (0: only at the end; default 500).
    pub checkpoint_every: usize,
    /// Fraction of batches drawn from a single env (hard negatives; default 0.75).
    pub same_env_fraction: f64,
    /// Fraction of each batch given over to nearest-contrast pairs (default 0: none): half
    /// of it are frames drawn as usual, the other half one partner each, a frame of the
    /// same env whose facts differ from its anchor's in as few facts as any frame's do
    /// (centred vs rear-ended, upright vs slightly tilted). Compound facts (`a+b`) are not
    /// counted in that difference.
    pub hard_negative_fraction: f64,
    /// Largest random shift in pixels at the input size (0 disables; default 4).
    pub max_shift: usize,
    /// Brightness jitter: each frame is scaled by a factor in `[1 - jitter, 1 + jitter]`
    /// (0 disables; default 0.1).
    pub jitter: f64,
    /// Tower architecture; `None` uses [`TowerConfig::default`]. Its `input_size` is
    /// replaced by [`input_size`](Self::input_size) and its `dim` by the text encoder's.
    pub tower: Option<TowerConfig>,
    /// Start from this tower's weights instead of fresh ones (fine-tuning a shipped tower
    /// on a dataset that adds envs). Its architecture must be the one this config trains
    /// (same input size, text dimension and layers); `seed` then only draws batches and
    /// augmentation. A relative path is taken from the working directory.
    pub init: Option<PathBuf>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            steps: 3000,
            batch_size: 64,
            lr: 3e-4,
            weight_decay: 1e-4,
            temperature: 0.07,
            learn_temperature: true,
            seed: 0,
            input_size: 84,
            checkpoint_every: 500,
            same_env_fraction: 0.75,
            hard_negative_fraction: 0.0,
            max_shift: 4,
            jitter: 0.1,
            tower: None,
            init: None,
        }
    }
}

impl TrainConfig {
    /// Parses a TOML config (unknown keys are errors) and validates it.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        let c: Self = toml::from_str(text).context("train config: bad TOML")?;
        c.validate()?;
        Ok(c)
    }

    /// Reads and parses a TOML config file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("train config: cannot read {}", path.display()))?;
        Self::from_toml_str(&text).with_context(|| format!("train config {}", path.display()))
    }

    /// Errors naming the first out-of-range field.
    pub fn validate(&self) -> Result<()> {
        ensure!(self.steps > 0, "train config: steps must be at least 1");
        ensure!(self.batch_size >= 2, "train config: batch_size must be at least 2 (contrastive loss)");
        ensure!(self.lr.is_finite() && self.lr > 0.0, "train config: lr must be finite and > 0, got {}", self.lr);
        ensure!(
            self.weight_decay.is_finite() && self.weight_decay >= 0.0,
            "train config: weight_decay must be finite and >= 0, got {}",
            self.weight_decay
        );
        ensure!(
            self.temperature.is_finite() && self.temperature >= 0.01,
            "train config: temperature must be finite and >= 0.01, got {}",
            self.temperature
        );
        ensure!(self.input_size > 0, "train config: input_size must be at least 1");
        ensure!(
            (0.0..=1.0).contains(&self.same_env_fraction),
            "train config: same_env_fraction must be in [0, 1], got {}",
            self.same_env_fraction
        );
        ensure!(
            (0.0..=1.0).contains(&self.hard_negative_fraction),
            "train config: hard_negative_fraction must be in [0, 1], got {}",
            self.hard_negative_fraction
        );
        ensure!(
            self.max_shift < self.input_size,
            "train config: max_shift {} must be smaller than input_size {}",
            self.max_shift,
            self.input_size
        );
        ensure!(
            self.jitter.is_finite() && (0.0..1.0).contains(&self.jitter),
            "train config: jitter must be in [0, 1), got {}",
            self.jitter
        );
        Ok(())
    }

    /// The tower architecture used for a text encoder of dimension `dim`.
    pub fn tower_config(&self, dim: usize) -> TowerConfig {
        let mut t = self.tower.clone().unwrap_or_default();
        t.input_size = self.input_size;
        t.dim = dim;
        t
    }
}

/// Progress of one training step, handed to the callback.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainProgress {
    /// Step just done (1-based).
    pub step: usize,
    /// Total steps.
    pub steps: usize,
    /// Loss of this step.
    pub loss: f64,
    /// Current temperature `tau`.
    pub temperature: f64,
    /// Whether a checkpoint was written after this step.
    pub checkpointed: bool,
}

/// Top-1 retrieval per env on one split, and the means over envs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetrievalReport {
    /// Split evaluated.
    pub split: Split,
    /// Per env (in dataset order) retrieval accuracies.
    pub per_env: BTreeMap<String, Retrieval>,
    /// Mean caption-to-frame accuracy over envs.
    pub caption_to_frame: f64,
    /// Mean frame-to-caption accuracy over envs (envs without scored frames left out).
    pub frame_to_caption: f64,
}

/// What a training run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainReport {
    /// Steps trained.
    pub steps: usize,
    /// Training frames.
    pub train_frames: usize,
    /// Distinct (env, fact) pairs.
    pub facts: usize,
    /// Distinct phrasings embedded.
    pub phrasings: usize,
    /// Tower parameter count.
    pub params: usize,
    /// Loss of the first step.
    pub first_loss: f64,
    /// Mean loss over the last (up to) 50 steps.
    pub final_loss: f64,
    /// Final temperature.
    pub temperature: f64,
    /// Held-out retrieval before training (None without test samples).
    pub test_before: Option<RetrievalReport>,
    /// Held-out retrieval after training (None without test samples).
    pub test_after: Option<RetrievalReport>,
    /// Wall-clock seconds of the whole run.
    pub seconds: f64,
    /// The scene camera each env's frames were rendered from (the dataset's; empty when it
    /// did not record them): the camera a reward model built on this tower should see.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cameras: BTreeMap<String, String>,
    /// The renderer the training frames came from (the dataset's; None when it did not
    /// record one: bevy, the only renderer before the CPU rasteriser). A reward model scores
    /// frames of this renderer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renderer: Option<String>,
}

/// A text backend paired with an image tower (for evaluation before a [`crate::SimlitBackend`]
/// exists, or with any text encoder).
pub struct TowerBackend<'a> {
    /// Text encoder (frozen).
    pub text: &'a dyn Backend,
    /// Image tower.
    pub tower: &'a ImageTower,
}

impl Backend for TowerBackend<'_> {
    fn embed_texts(&self, texts: &[String]) -> Result<Embeddings> {
        self.text.embed_texts(texts)
    }
    fn embed_images(&self, frames: &Frames) -> Result<Embeddings> {
        self.tower.embed(frames)
    }
    fn dim(&self) -> usize {
        self.tower.dim()
    }
}

/// Top-1 caption-to-frame and frame-to-caption accuracy of `backend` per env on the samples
/// of `split` (see [`retrieval_accuracy`]): queries are every phrasing of every fact of the
/// env, a fact's embedding for frame-to-caption is the normalised mean of its phrasings, and
/// the env's facts are all facts the dataset knows for it. Errors when the split is empty.
pub fn evaluate_retrieval(backend: &dyn Backend, dataset: &Dataset, split: Split) -> Result<RetrievalReport> {
    let idx = dataset.indices(split);
    ensure!(!idx.is_empty(), "retrieval: no {split:?} samples in the dataset");
    let mut per_env = BTreeMap::new();
    for env in dataset.facts() {
        if env.facts.is_empty() {
            continue;
        }
        let frames_idx: Vec<usize> = idx.iter().copied().filter(|&i| dataset.samples()[i].env == env.env).collect();
        if frames_idx.is_empty() {
            continue;
        }
        let frames = backend.embed_images(&dataset.frames(&frames_idx)?)?;
        let frame_facts: Vec<Vec<usize>> = frames_idx
            .iter()
            .map(|&i| {
                let s = &dataset.samples()[i];
                (0..env.facts.len()).filter(|&f| s.has_fact(&env.facts[f].fact)).collect()
            })
            .collect();
        let mut texts = Vec::new();
        let mut query_facts = Vec::new();
        for (f, c) in env.facts.iter().enumerate() {
            for p in &c.phrasings {
                texts.push(p.clone());
                query_facts.push(f);
            }
        }
        let queries = backend.embed_texts(&texts)?;
        let mut fact_rows = Vec::new();
        for f in 0..env.facts.len() {
            let rows: Vec<Vec<f32>> = (0..texts.len())
                .filter(|&j| query_facts[j] == f)
                .map(|j| queries.row(j).unwrap_or(&[]).to_vec())
                .collect();
            fact_rows.push(Embeddings::from_vecs(&rows)?.normalised_mean()?);
        }
        let facts = Embeddings::from_vecs(&fact_rows)?;
        let r = retrieval_accuracy(&frames, &frame_facts, &facts, &queries, &query_facts)
            .with_context(|| format!("retrieval for {}", env.env))?;
        per_env.insert(env.env.clone(), r);
    }
    ensure!(!per_env.is_empty(), "retrieval: no env has both {split:?} frames and facts");
    let c2f = per_env.values().map(|r| r.caption_to_frame).sum::<f64>() / per_env.len() as f64;
    let f2c: Vec<f64> = per_env.values().map(|r| r.frame_to_caption).filter(|v| v.is_finite()).collect();
    let f2c = if f2c.is_empty() { f64::NAN } else { f2c.iter().sum::<f64>() / f2c.len() as f64 };
    Ok(RetrievalReport { split, per_env, caption_to_frame: c2f, frame_to_caption: f2c })
}

/// `softplus(x) = log(1 + e^x)`, computed stably as `relu(x) + log(1 + e^{-|x|})`.
fn softplus(x: &Tensor) -> candle_core::Result<Tensor> {
    x.relu()? + x.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?
}

/// Multi-positive InfoNCE over rows of `logits` (`B x F`) with 0/1 `pos` of the same shape:
/// the mean over positive pairs of `-log(e^{l_p} / (e^{l_p} + sum_neg e^{l_n}))`, other
/// positives left out of the denominator. Rows without negatives contribute ~0; returns the
/// mean and the number of positive pairs.
pub(crate) fn multi_positive_nce(logits: &Tensor, pos: &Tensor) -> candle_core::Result<Tensor> {
    let masked = (logits + (pos * -1.0e4)?)?;
    let m = masked.max_keepdim(1)?.detach();
    let lse = (masked.broadcast_sub(&m)?.exp()?.sum_keepdim(1)?.log()? + &m)?;
    let per_pair = softplus(&lse.broadcast_sub(logits)?)?;
    let count = pos.sum_all()?.clamp(1.0f32, f32::MAX)?;
    (per_pair * pos)?.sum_all()?.broadcast_div(&count)
}

/// Squashes every training frame once to `size x size` RGB bytes (HWC).
fn resize_all(dataset: &Dataset, idx: &[usize], size: usize) -> Result<Vec<Vec<u8>>> {
    idx.iter()
        .map(|&i| {
            let f = dataset.frames(&[i])?;
            let v = frames_to_input(&f, size)?; // HWC in [-1, 1]
            Ok(v.iter().map(|x| ((x + 1.0) * 127.5).round().clamp(0.0, 255.0) as u8).collect())
        })
        .collect()
}

/// Writes one augmented frame (shift by `(dx, dy)`, edge-replicated; brightness `gain`) as
/// HWC values in [-1, 1] into `out`.
fn augment_into(src: &[u8], size: usize, dx: i64, dy: i64, gain: f32, out: &mut [f32]) {
    let s = size as i64;
    for y in 0..size {
        let sy = (y as i64 + dy).clamp(0, s - 1) as usize;
        for x in 0..size {
            let sx = (x as i64 + dx).clamp(0, s - 1) as usize;
            let p = 3 * (sy * size + sx);
            for c in 0..3 {
                let v = (src[p + c] as f32 * gain).min(255.0);
                out[3 * (y * size + x) + c] = v / 127.5 - 1.0;
            }
        }
    }
}

/// [`train_tower_on`] on the CPU.
pub fn train_tower(
    dataset: &Dataset,
    text_encoder: &dyn Backend,
    config: &TrainConfig,
    out_path: &Path,
    progress: &mut dyn FnMut(&TrainProgress),
) -> Result<TrainReport> {
    train_tower_on(dataset, text_encoder, config, out_path, progress, &Device::Cpu)
}

/// Trains an image tower on `device` on the training split of `dataset` against the frozen
/// embeddings of `text_encoder` (which may run on any device), writes it to `out_path`
/// (atomically; also every `checkpoint_every` steps) and returns a report with held-out
/// retrieval before and after training (when the dataset has test samples). `progress` is
/// called after every step.
///
/// Errors on a bad config, a dataset without training frames or with fewer than two facts,
/// a text encoder failure, or a non-finite loss (divergence; lower the learning rate).
pub fn train_tower_on(
    dataset: &Dataset,
    text_encoder: &dyn Backend,
    config: &TrainConfig,
    out_path: &Path,
    progress: &mut dyn FnMut(&TrainProgress),
    device: &Device,
) -> Result<TrainReport> {
    let start = Instant::now();
    config.validate()?;
    let (w, h, s) = (dataset.width(), dataset.height(), config.input_size);
    ensure!(
        w == s && h == s,
        "train: the dataset's frames are {w}x{h} but the config's input_size is {s}; render the dataset at \
         that size (`vlmgym dataset ... --size {s}`) or set input_size = {w} in the config (a tower sees \
         frames at its input size when it scores rewards, so it must train on them too)"
    );
    let train_idx = dataset.indices(Split::Train);
    ensure!(!train_idx.is_empty(), "train: the dataset has no training samples");

    // Facts (env, fact) -> id; phrasings -> row in the text table; embedded once.
    let mut fact_keys: Vec<(String, String)> = Vec::new();
    let mut fact_phrasings: Vec<Vec<usize>> = Vec::new();
    let mut phrasings: Vec<String> = Vec::new();
    let mut phrasing_row = std::collections::HashMap::new();
    let mut sample_facts: Vec<Vec<usize>> = Vec::with_capacity(train_idx.len());
    for &i in &train_idx {
        let s = &dataset.samples()[i];
        let mut ids = Vec::new();
        for c in &s.captions {
            let (id, new) = intern(&mut fact_keys, (s.env.clone(), c.fact.clone()));
            if new {
                fact_phrasings.push(Vec::new());
            }
            for p in &c.phrasings {
                let row = *phrasing_row.entry(p.clone()).or_insert_with(|| {
                    phrasings.push(p.clone());
                    phrasings.len() - 1
                });
                if !fact_phrasings[id].contains(&row) {
                    fact_phrasings[id].push(row);
                }
            }
            ids.push(id);
        }
        sample_facts.push(ids);
    }
    ensure!(fact_keys.len() >= 2, "train: the training split has {} distinct facts; need at least 2", fact_keys.len());
    let text = text_encoder.embed_texts(&phrasings).context("train: embedding the captions")?;
    let dim = text.dim();
    ensure!(
        text.len() == phrasings.len(),
        "train: text encoder returned {} rows for {} texts",
        text.len(),
        phrasings.len()
    );

    let envs: Vec<String> = {
        let mut e: Vec<String> = Vec::new();
        for &i in &train_idx {
            let env = &dataset.samples()[i].env;
            if !e.contains(env) {
                e.push(env.clone());
            }
        }
        e
    };
    let env_of = |k: usize| envs.iter().position(|e| *e == dataset.samples()[train_idx[k]].env).unwrap_or(0);
    let by_env: Vec<Vec<usize>> =
        (0..envs.len()).map(|e| (0..train_idx.len()).filter(|&k| env_of(k) == e).collect()).collect();
    let facts_of_env: Vec<Vec<usize>> =
        envs.iter().map(|e| (0..fact_keys.len()).filter(|&f| fact_keys[f].0 == *e).collect()).collect();

    let base_facts: Vec<Vec<usize>> = sample_facts
        .iter()
        .map(|ids| ids.iter().copied().filter(|&f| !fact_keys[f].1.contains('+')).collect())
        .collect();
    let sample_env: Vec<usize> = (0..train_idx.len()).map(env_of).collect();
    let contrasts = nearest_contrasts(&sample_env, &base_facts);
    let pairs = (config.hard_negative_fraction * config.batch_size as f64 / 2.0).round() as usize;

    let tower_config = config.tower_config(dim);
    let tower = match &config.init {
        None => ImageTower::init_on(&tower_config, config.seed, device)?,
        Some(path) => {
            let t = ImageTower::load_on(path, device).context("train: the config's `init` tower")?;
            ensure!(
                *t.config() == tower_config,
                "train: the `init` tower {} has architecture {:?}, but this config trains {:?} \
                 (match input_size and [tower] to the tower being fine-tuned)",
                path.display(),
                t.config(),
                tower_config
            );
            t
        }
    };
    let s = config.input_size;
    let images = resize_all(dataset, &train_idx, s)?;

    let test_before = if dataset.indices(Split::Test).is_empty() {
        None
    } else {
        Some(evaluate_retrieval(&TowerBackend { text: text_encoder, tower: &tower }, dataset, Split::Test)?)
    };

    let log_scale = Var::new(&[(1.0 / config.temperature).ln() as f32], device)?;
    let mut opt = AdamW::new(
        tower.vars().to_vec(),
        ParamsAdamW { lr: config.lr, weight_decay: config.weight_decay, ..Default::default() },
    )?;
    let mut opt_scale =
        AdamW::new(vec![log_scale.clone()], ParamsAdamW { lr: config.lr, weight_decay: 0.0, ..Default::default() })?;

    let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x9e37_79b9_7f4a_7c15);
    let b = config.batch_size;
    let mut batch = vec![0f32; b * 3 * s * s];
    let mut losses = Vec::with_capacity(config.steps);
    for step in 1..=config.steps {
        // Batch of training positions (into train_idx), with replacement.
        let pool: &[usize] = if envs.len() > 1 && rng.random::<f64>() < config.same_env_fraction {
            &by_env[rng.random_range(0..envs.len())]
        } else {
            &[]
        };
        let mut picks: Vec<usize> = (0..b - pairs)
            .map(|_| {
                if pool.is_empty() {
                    rng.random_range(0..train_idx.len())
                } else {
                    pool[rng.random_range(0..pool.len())]
                }
            })
            .collect();
        // Nearest-contrast partners of the first `pairs` frames.
        for p in 0..pairs {
            let partners = &contrasts[picks[p]];
            let partner = if partners.is_empty() {
                picks[rng.random_range(0..b - pairs)]
            } else {
                let group = &partners[rng.random_range(0..partners.len())];
                group[rng.random_range(0..group.len())]
            };
            picks.push(partner);
        }
        // Candidate facts: all facts of the envs in the batch (ascending ids).
        let mut present = vec![false; envs.len()];
        picks.iter().for_each(|&k| present[env_of(k)] = true);
        let cands: Vec<usize> =
            (0..envs.len()).filter(|&e| present[e]).flat_map(|e| facts_of_env[e].iter().copied()).collect();
        let mut text_rows = Vec::with_capacity(cands.len() * dim);
        for &f in &cands {
            let ph = &fact_phrasings[f];
            let row = ph[rng.random_range(0..ph.len())];
            text_rows.extend_from_slice(text.row(row).context("text row")?);
        }
        let mut pos = vec![0f32; b * cands.len()];
        for (i, &k) in picks.iter().enumerate() {
            for (j, f) in cands.iter().enumerate() {
                if sample_facts[k].contains(f) {
                    pos[i * cands.len() + j] = 1.0;
                }
            }
        }
        for (i, &k) in picks.iter().enumerate() {
            let m = config.max_shift as i64;
            let (dx, dy) = if m > 0 { (rng.random_range(-m..=m), rng.random_range(-m..=m)) } else { (0, 0) };
            let j = config.jitter as f32;
            let gain = if j > 0.0 { rng.random_range(1.0 - j..=1.0 + j) } else { 1.0 };
            augment_into(&images[k], s, dx, dy, gain, &mut batch[i * 3 * s * s..(i + 1) * 3 * s * s]);
        }
        let x = Tensor::from_slice(&batch, (b, s, s, 3), device)?;
        let t = Tensor::from_vec(text_rows, (cands.len(), dim), device)?;
        let pos = Tensor::from_vec(pos, (b, cands.len()), device)?;
        let img = tower.forward(&x)?;
        let scale = log_scale.as_tensor().exp()?.clamp(1.0f32, 100.0f32)?;
        let logits = img.matmul(&t.t()?)?.broadcast_mul(&scale)?;
        let i2t = multi_positive_nce(&logits, &pos)?;
        let t2i = multi_positive_nce(&logits.t()?.contiguous()?, &pos.t()?.contiguous()?)?;
        let loss = ((i2t + t2i)? * 0.5)?;
        let loss_value = loss.to_scalar::<f32>()? as f64;
        if !loss_value.is_finite() {
            bail!("train: loss is {loss_value} at step {step} (training diverged; lower lr)");
        }
        let grads = loss.backward()?;
        opt.step(&grads)?;
        if config.learn_temperature {
            opt_scale.step(&grads)?;
        }
        losses.push(loss_value);
        let checkpointed = config.checkpoint_every > 0 && step % config.checkpoint_every == 0 && step < config.steps;
        if checkpointed {
            tower.save(out_path).with_context(|| format!("train: checkpoint at step {step}"))?;
        }
        let temperature = 1.0 / (log_scale.as_tensor().exp()?.clamp(1.0f32, 100.0f32)?.to_vec1::<f32>()?[0] as f64);
        progress(&TrainProgress { step, steps: config.steps, loss: loss_value, temperature, checkpointed });
    }
    tower.save(out_path)?;
    let temperature = 1.0 / (log_scale.as_tensor().exp()?.clamp(1.0f32, 100.0f32)?.to_vec1::<f32>()?[0] as f64);
    let test_after = if test_before.is_some() {
        Some(evaluate_retrieval(&TowerBackend { text: text_encoder, tower: &tower }, dataset, Split::Test)?)
    } else {
        None
    };
    let tail = &losses[losses.len().saturating_sub(50)..];
    Ok(TrainReport {
        steps: config.steps,
        train_frames: train_idx.len(),
        facts: fact_keys.len(),
        phrasings: phrasings.len(),
        params: tower.num_params(),
        first_loss: losses[0],
        final_loss: tail.iter().sum::<f64>() / tail.len() as f64,
        temperature,
        test_before,
        test_after,
        seconds: start.elapsed().as_secs_f64(),
        cameras: dataset.cameras().clone(),
        renderer: dataset.renderer().map(str::to_string),
    })
}

/// The index of `key` in `keys`, appending it if absent; `true` when it was appended.
pub(crate) fn intern<K: PartialEq>(keys: &mut Vec<K>, key: K) -> (usize, bool) {
    match keys.iter().position(|k| *k == key) {
        Some(i) => (i, false),
        None => {
            keys.push(key);
            (keys.len() - 1, true)
        }
    }
}

/// For each sample, the groups of samples nearest in facts but not equal: same env, and the
/// smallest non-zero symmetric difference between fact sets that any sample of that env
/// has with it. Samples are grouped by (env, fact set) first, so the work grows with the
/// number of distinct fact sets, not of samples. Groups are shared (`Rc`), in first-seen
/// order, so the result is deterministic.
pub(crate) fn nearest_contrasts(env: &[usize], facts: &[Vec<usize>]) -> Vec<Vec<std::rc::Rc<Vec<usize>>>> {
    let mut keys: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    let mut group_of = Vec::with_capacity(env.len());
    for (k, (&e, f)) in env.iter().zip(facts).enumerate() {
        let mut f = f.clone();
        f.sort_unstable();
        f.dedup();
        let (g, new) = intern(&mut keys, (e, f));
        if new {
            members.push(Vec::new());
        }
        members[g].push(k);
        group_of.push(g);
    }
    let members: Vec<std::rc::Rc<Vec<usize>>> = members.into_iter().map(std::rc::Rc::new).collect();
    let distance = |a: &[usize], b: &[usize]| {
        a.iter().filter(|x| !b.contains(x)).count() + b.iter().filter(|x| !a.contains(x)).count()
    };
    let nearest: Vec<Vec<std::rc::Rc<Vec<usize>>>> = (0..keys.len())
        .map(|g| {
            let others = (0..keys.len()).filter(|&h| h != g && keys[h].0 == keys[g].0);
            let d: Vec<(usize, usize)> = others.map(|h| (h, distance(&keys[g].1, &keys[h].1))).collect();
            let best = d.iter().map(|x| x.1).min().unwrap_or(0);
            d.iter().filter(|x| x.1 == best).map(|x| members[x.0].clone()).collect()
        })
        .collect();
    group_of.iter().map(|&g| nearest[g].clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_contrasts_differ_in_the_fewest_facts() {
        // Env 0: {1,2} x2, {1,3}, {4,5}; env 1: {1,2} alone.
        let env = [0, 0, 0, 0, 1];
        let facts = [vec![1, 2], vec![2, 1], vec![1, 3], vec![4, 5], vec![1, 2]];
        let c = nearest_contrasts(&env, &facts);
        let flat = |k: usize| c[k].iter().map(|g| g.as_slice().to_vec()).collect::<Vec<_>>();
        assert_eq!(flat(0), [vec![2]]);
        assert_eq!(flat(1), [vec![2]]);
        assert_eq!(flat(2), [vec![0, 1]]);
        // {4,5} is 4 facts from {1,2} and from {1,3}: both are nearest.
        assert_eq!(flat(3), [vec![0, 1], vec![2]]);
        assert!(c[4].is_empty(), "no other fact set in env 1");
    }

    #[test]
    fn config_toml_and_validation() {
        let c = TrainConfig::from_toml_str("steps = 10\nbatch_size = 8\nlr = 0.001\n").unwrap();
        assert_eq!((c.steps, c.batch_size, c.input_size), (10, 8, 84));
        let e = format!("{:#}", TrainConfig::from_toml_str("stepz = 3").unwrap_err());
        assert!(e.contains("stepz"), "{e}");
        let e = TrainConfig::from_toml_str("batch_size = 1").unwrap_err().to_string();
        assert!(e.contains("batch_size"), "{e}");
        let e = TrainConfig::from_toml_str("lr = nan").unwrap_err().to_string();
        assert!(e.contains("lr"), "{e}");
        let t = TrainConfig { input_size: 48, ..Default::default() }.tower_config(16);
        assert_eq!((t.input_size, t.dim), (48, 16));
    }

    #[test]
    fn the_shipped_config_file_is_the_default_recipe_trained_longer_on_larger_frames_with_hard_pairs() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/configs/reward_model/simlit_tower.toml");
        let c = TrainConfig::from_file(&path).unwrap();
        let want = TrainConfig { steps: 6000, input_size: 112, hard_negative_fraction: 0.5, ..TrainConfig::default() };
        assert_eq!(c, want);
        let e = TrainConfig::from_toml_str("hard_negative_fraction = 1.5").unwrap_err().to_string();
        assert!(e.contains("hard_negative_fraction"), "{e}");
        // Uncommenting the [tower] table at the end gives the default architecture.
        let text = std::fs::read_to_string(&path).unwrap();
        let (head, tail) = text.split_at(text.find("# [tower]").expect("a commented [tower] table"));
        let uncommented: String = tail.lines().map(|l| format!("{}\n", l.strip_prefix("# ").unwrap_or(l))).collect();
        let arch = TrainConfig::from_toml_str(&format!("{head}{uncommented}")).unwrap().tower.unwrap();
        assert_eq!(arch, TowerConfig::default(), "the commented [tower] table is the default architecture");
    }

    #[test]
    fn nce_by_hand() {
        let dev = Device::Cpu;
        // One row, logits [2, 0, 1], positives {0, 2}: pairs -log(e^2/(e^2+e^0)) and -log(e^1/(e^1+e^0)).
        let l = Tensor::new(&[[2f32, 0.0, 1.0]], &dev).unwrap();
        let p = Tensor::new(&[[1f32, 0.0, 1.0]], &dev).unwrap();
        let v = multi_positive_nce(&l, &p).unwrap().to_scalar::<f32>().unwrap() as f64;
        let want = ((1.0 + (-2f64).exp()).ln() + (1.0 + (-1f64).exp()).ln()) / 2.0;
        assert!((v - want).abs() < 1e-5, "{v} vs {want}");
        // No negatives: ~0.
        let p = Tensor::new(&[[1f32, 1.0, 1.0]], &dev).unwrap();
        assert!(multi_positive_nce(&l, &p).unwrap().to_scalar::<f32>().unwrap().abs() < 1e-6);
    }
}
