//! A text head: a small residual map on the sentence encoder's embeddings, trained so that
//! many phrasings of a fact land where the frozen image tower puts that fact's frames.
//!
//! The simlit image tower learns to meet a few phrasings per fact. The frozen sentence
//! encoder places other wordings of the same fact nearby, but not on the same point, and it
//! reads negation weakly ("the car has not hit anything" sits close to "the car hit
//! something"). The head `h(e) = normalise(e + W e + b)` (`W`, `b` zero at the start, so an
//! untrained head is the identity) is trained contrastively against the tower's frame
//! embeddings, with the tower frozen, on every phrasing of every fact (templated synonyms,
//! passive and negated shapes, compound facts): only the text side moves, so what the tower
//! sees is untouched, and weight decay keeps `W` small so wordings the head never saw move
//! the way their neighbours do.
//!
//! A head may also carry a *fact memory* ([`HeadConfig::memory_temperature`]): every
//! phrasing's sentence embedding, with the fact it names, and per fact where that fact's
//! frames lie. A goal is then also read by retrieval: its sentence embedding is compared with
//! the phrasings (text against text, what the sentence encoder was trained for), each fact
//! scores its nearest phrasing, and the goal becomes the softmax-weighted mean of the facts'
//! places, mixed with the residual map's output ([`HeadConfig::memory_mix`]).
//!
//! A head lives next to its tower as `<tower>.text_head.safetensors` ([`head_path`]):
//! tensors `w` (`d x d`) and `b` (`d`), and the training settings, report and the SHA-256 of
//! the tower file it was trained against as JSON in the metadata key `vlmgym_text_head`.

use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::optim::{AdamW, Optimizer, ParamsAdamW};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};

use crate::backend::{normalise_in_place, Backend, Embeddings};
use crate::dataset::{Dataset, Split};
use crate::score::dot;
use crate::tower::ImageTower;
use crate::train::intern;

/// Safetensors metadata key of the head's JSON ([`HeadMeta`]).
const META_KEY: &str = "vlmgym_text_head";

/// Where the text head of the tower at `tower` lives: `<tower stem>.text_head.safetensors`.
pub fn head_path(tower: &Path) -> PathBuf {
    tower.with_extension("text_head.safetensors")
}

/// How a text head trains (keys of `assets/configs/reward_model/text_head.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HeadConfig {
    /// Gradient steps.
    pub steps: usize,
    /// Frames per step.
    pub batch_size: usize,
    /// AdamW learning rate.
    pub lr: f64,
    /// AdamW weight decay (pulls `W` and `b` to zero: the identity head).
    pub weight_decay: f64,
    /// Softmax temperature of the contrastive loss (the tower's learnt temperature is a
    /// good choice).
    pub temperature: f64,
    /// Share of batches drawn from one env alone (its facts then compete only with each
    /// other, as a goal for that env does).
    pub same_env_fraction: f64,
    /// Standard deviation of Gaussian noise added to each component of the phrasings'
    /// embeddings while training (then renormalised): the head then maps a neighbourhood
    /// of each phrasing, as a wording it never saw falls near, not on, one it did. 0: none.
    pub input_noise: f64,
    /// Probability that each word of a phrasing is swapped for a word that only other
    /// envs' captions use, in the extra training copies (`swap_variants` per phrasing, embedded once
    /// before training; at least one word swapped per copy): the head then learns that a
    /// fact survives a word it does not know ("the needle points up"), not only the
    /// phrasings it was given. 0: no copies.
    pub word_swap: f64,
    /// Copies per phrasing made by `word_swap`.
    pub swap_variants: usize,
    /// Seed of the batch draws.
    pub seed: u64,
    /// Softmax temperature over facts of the fact memory (see the module docs): a goal's
    /// weight on a fact is `exp(s / t)` normalised, `s` the cosine between the goal's and
    /// the fact's nearest phrasing's sentence embeddings. 0: no memory.
    pub memory_temperature: f64,
    /// Share of the memory's reading in a goal's embedding: `normalise((1 - m) residual +
    /// m memory)`. 1: the memory alone.
    pub memory_mix: f64,
}

impl Default for HeadConfig {
    fn default() -> Self {
        Self {
            steps: 1500,
            batch_size: 256,
            lr: 1e-3,
            weight_decay: 1e-2,
            temperature: 0.0135,
            same_env_fraction: 0.75,
            input_noise: 0.0,
            word_swap: 0.0,
            swap_variants: 4,
            seed: 0,
            memory_temperature: 0.0,
            memory_mix: 1.0,
        }
    }
}

impl HeadConfig {
    /// Errors naming the bad value.
    pub fn validate(&self) -> Result<()> {
        ensure!(
            self.steps > 0 || self.memory_temperature > 0.0,
            "text head: steps must be at least 1 (0 only with a fact memory)"
        );
        ensure!(
            self.memory_temperature.is_finite() && self.memory_temperature >= 0.0,
            "text head: memory_temperature must be >= 0, got {}",
            self.memory_temperature
        );
        ensure!(
            (0.0..=1.0).contains(&self.memory_mix),
            "text head: memory_mix must be in [0, 1], got {}",
            self.memory_mix
        );
        ensure!(self.batch_size >= 2, "text head: batch_size must be at least 2");
        ensure!(self.lr.is_finite() && self.lr > 0.0, "text head: lr must be positive, got {}", self.lr);
        ensure!(self.weight_decay >= 0.0, "text head: weight_decay must be >= 0, got {}", self.weight_decay);
        ensure!(
            self.temperature.is_finite() && self.temperature > 0.0,
            "text head: temperature must be positive, got {}",
            self.temperature
        );
        ensure!(
            self.input_noise.is_finite() && self.input_noise >= 0.0,
            "text head: input_noise must be >= 0, got {}",
            self.input_noise
        );
        ensure!(
            (0.0..=1.0).contains(&self.word_swap),
            "text head: word_swap must be in [0, 1], got {}",
            self.word_swap
        );
        ensure!(
            self.word_swap == 0.0 || self.swap_variants > 0,
            "text head: swap_variants must be at least 1 when word_swap is set"
        );
        ensure!(
            (0.0..=1.0).contains(&self.same_env_fraction),
            "text head: same_env_fraction must be in [0, 1], got {}",
            self.same_env_fraction
        );
        Ok(())
    }
}

/// What training a text head did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadReport {
    /// The settings it trained with.
    pub config: HeadConfig,
    /// Training frames.
    pub frames: usize,
    /// Distinct (env, fact) pairs, compound facts included.
    pub facts: usize,
    /// Distinct phrasings.
    pub phrasings: usize,
    /// Mean loss of the first 50 steps.
    pub first_loss: f64,
    /// Mean loss of the last 50 steps.
    pub final_loss: f64,
    /// Test-split frame-to-fact top-1 accuracy without the head: each frame picks the
    /// nearest of its env's facts, a fact being the mean embedding of all its phrasings.
    pub test_accuracy_before: f64,
    /// The same accuracy with the head.
    pub test_accuracy_after: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct HeadMeta {
    dim: usize,
    report: Option<HeadReport>,
    #[serde(default)]
    tower_sha256: Option<String>,
    /// The fact memory's temperature and mix, when the head has one (its tables are the
    /// tensors `memory_keys`, `memory_key_fact`, `memory_values`).
    #[serde(default)]
    memory: Option<(f32, f32)>,
}

/// A head's fact memory (see the module docs).
#[derive(Debug, Clone, PartialEq)]
struct Memory {
    /// Row-major `n x d`: every phrasing's unit sentence embedding.
    keys: Vec<f32>,
    /// The fact (row of `values`) each key names.
    key_fact: Vec<u32>,
    /// Row-major `m x d`: each fact's unit place.
    values: Vec<f32>,
    temperature: f32,
    mix: f32,
}

impl Memory {
    /// The memory's reading of the unit sentence embedding `e`: the facts' places weighted
    /// by a softmax over each fact's nearest phrasing.
    fn read(&self, e: &[f32]) -> Vec<f32> {
        let d = e.len();
        let m = self.values.len() / d;
        let mut best = vec![f32::NEG_INFINITY; m];
        for (key, &f) in self.keys.chunks_exact(d).zip(&self.key_fact) {
            let s = dot(key, e);
            if s > best[f as usize] {
                best[f as usize] = s;
            }
        }
        let top = best.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let weights: Vec<f32> = best.iter().map(|&s| ((s - top) / self.temperature).exp()).collect();
        let total: f32 = weights.iter().sum();
        let mut out = vec![0f32; d];
        for (value, w) in self.values.chunks_exact(d).zip(weights) {
            out.iter_mut().zip(value).for_each(|(o, v)| *o += w / total * v);
        }
        out
    }
}

/// SHA-256 (hex) of the tower file at `path`: what a head records of the tower it was
/// trained against.
pub fn tower_digest(path: &Path) -> Result<String> {
    file_digest(path, "tower")
}

/// SHA-256 (hex) of the text head file at `path`: what a run's settings record of the head
/// its goals were read through, so a later head at the same path cannot change it.
pub fn head_digest(path: &Path) -> Result<String> {
    file_digest(path, "text head")
}

fn file_digest(path: &Path, what: &str) -> Result<String> {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {what} {}", path.display()))?;
    Ok(Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect())
}

/// The trained map `e -> normalise(e + W e + b)` (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct TextHead {
    dim: usize,
    /// Row-major `d x d`: `(W e)_i = sum_j w[i * d + j] e_j`.
    w: Vec<f32>,
    b: Vec<f32>,
    report: Option<HeadReport>,
    tower_sha256: Option<String>,
    memory: Option<Memory>,
}

impl TextHead {
    /// The identity head of dimension `dim`.
    pub fn identity(dim: usize) -> Self {
        Self { dim, w: vec![0.0; dim * dim], b: vec![0.0; dim], report: None, tower_sha256: None, memory: None }
    }

    /// Embedding dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The training report, when the head was trained.
    pub fn report(&self) -> Option<&HeadReport> {
        self.report.as_ref()
    }

    /// The head, recording that it belongs to the tower file at `tower`.
    pub fn for_tower(mut self, tower: &Path) -> Result<Self> {
        self.tower_sha256 = Some(tower_digest(tower)?);
        Ok(self)
    }

    /// Errors when the head records another tower file than the one at `tower` (a head is
    /// trained against one tower's frame embeddings and means nothing for another).
    pub fn check_tower(&self, tower: &Path) -> Result<()> {
        if let Some(want) = &self.tower_sha256 {
            ensure!(
                *want == tower_digest(tower)?,
                "the text head was trained against another tower than {}; train one for it with \
                 `vlmgym reward-model text-head --tower {}`",
                tower.display(),
                tower.display()
            );
        }
        Ok(())
    }

    /// Maps every row of `texts` (unit-length sentence embeddings): unit-length rows.
    pub fn apply(&self, texts: &Embeddings) -> Result<Embeddings> {
        let d = self.dim;
        ensure!(texts.dim() == d, "text head is {d}-d but the text embeddings {}-d", texts.dim());
        let mut out = Vec::with_capacity(texts.len() * d);
        for r in 0..texts.len() {
            let e = texts.row(r).expect("in range");
            let mut v: Vec<f32> = (0..d).map(|i| e[i] + self.b[i] + dot(&self.w[i * d..(i + 1) * d], e)).collect();
            normalise_in_place(&mut v, "text head output")?;
            if let Some(memory) = &self.memory {
                // The reading is a mean of unit places: shorter the more the goal's nearest
                // facts disagree, so the residual map's output counts for more there.
                let read = memory.read(e);
                v.iter_mut().zip(&read).for_each(|(a, b)| *a = (1.0 - memory.mix) * *a + memory.mix * b);
                normalise_in_place(&mut v, "text head output")?;
            }
            out.extend_from_slice(&v);
        }
        Embeddings::from_rows(out, texts.len(), d)
    }

    /// Serialises the head to safetensors bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let meta = HeadMeta {
            dim: self.dim,
            report: self.report.clone(),
            tower_sha256: self.tower_sha256.clone(),
            memory: self.memory.as_ref().map(|m| (m.temperature, m.mix)),
        };
        let meta = std::collections::HashMap::from([(META_KEY.to_string(), serde_json::to_string(&meta)?)]);
        let le = |x: &[f32]| -> Vec<u8> { x.iter().flat_map(|v| v.to_le_bytes()).collect() };
        let (w, b) = (le(&self.w), le(&self.b));
        let mut tensors = vec![
            ("b", TensorView::new(Dtype::F32, vec![self.dim], &b)?),
            ("w", TensorView::new(Dtype::F32, vec![self.dim, self.dim], &w)?),
        ];
        let memory = self.memory.as_ref().map(|m| {
            let key_fact: Vec<u8> = m.key_fact.iter().flat_map(|v| v.to_le_bytes()).collect();
            (m.key_fact.len(), m.values.len() / self.dim, le(&m.keys), key_fact, le(&m.values))
        });
        if let Some((n, facts, keys, key_fact, values)) = &memory {
            let d = self.dim;
            tensors.push(("memory_keys", TensorView::new(Dtype::F32, vec![*n, d], keys)?));
            tensors.push(("memory_key_fact", TensorView::new(Dtype::U32, vec![*n], key_fact)?));
            tensors.push(("memory_values", TensorView::new(Dtype::F32, vec![*facts, d], values)?));
        }
        Ok(safetensors::serialize(tensors, Some(meta))?)
    }

    /// Reads a head from safetensors bytes; errors name what is wrong.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (_, header) =
            SafeTensors::read_metadata(bytes).context("not a valid safetensors file (corrupt or truncated)")?;
        let json = header
            .metadata()
            .as_ref()
            .and_then(|m| m.get(META_KEY))
            .with_context(|| format!("no `{META_KEY}` metadata: not a vlmgym text head file"))?;
        let meta: HeadMeta = serde_json::from_str(json).context("bad text head metadata")?;
        let st = SafeTensors::deserialize(bytes).context("not a valid safetensors file (corrupt or truncated)")?;
        let read = |name: &str, shape: &[usize]| -> Result<Vec<f32>> {
            let v = st.tensor(name).with_context(|| format!("no `{name}` tensor"))?;
            ensure!(v.dtype() == Dtype::F32, "tensor `{name}` is {:?}, expected F32", v.dtype());
            ensure!(v.shape() == shape, "tensor `{name}` has shape {:?}, expected {shape:?}", v.shape());
            let x: Vec<f32> = v.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
            ensure!(x.iter().all(|v| v.is_finite()), "tensor `{name}` holds a non-finite value");
            Ok(x)
        };
        let d = meta.dim;
        let memory = match meta.memory {
            None => None,
            Some((temperature, mix)) => {
                let rows = |name: &str| -> Result<usize> {
                    Ok(st
                        .tensor(name)
                        .with_context(|| format!("no `{name}` tensor"))?
                        .shape()
                        .first()
                        .copied()
                        .unwrap_or(0))
                };
                let (n, m) = (rows("memory_keys")?, rows("memory_values")?);
                let v = st.tensor("memory_key_fact").context("no `memory_key_fact` tensor")?;
                ensure!(
                    v.dtype() == Dtype::U32 && v.shape() == [n],
                    "tensor `memory_key_fact` is {:?} {:?}, expected U32 [{n}]",
                    v.dtype(),
                    v.shape()
                );
                let key_fact: Vec<u32> =
                    v.data().chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
                ensure!(key_fact.iter().all(|&f| (f as usize) < m), "tensor `memory_key_fact` names a fact past {m}");
                ensure!(
                    temperature > 0.0 && (0.0..=1.0).contains(&mix),
                    "bad memory temperature {temperature} or mix {mix}"
                );
                Some(Memory {
                    keys: read("memory_keys", &[n, d])?,
                    key_fact,
                    values: read("memory_values", &[m, d])?,
                    temperature,
                    mix,
                })
            }
        };
        Ok(Self {
            dim: d,
            w: read("w", &[d, d])?,
            b: read("b", &[d])?,
            report: meta.report,
            tower_sha256: meta.tower_sha256,
            memory,
        })
    }

    /// Writes the head to `path` (atomically).
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::dataset::write_atomic(path, &self.to_bytes()?)
    }

    /// Reads a head from `path`; errors name the file.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read text head {}", path.display()))?;
        Self::from_bytes(&bytes).with_context(|| format!("text head {}", path.display()))
    }

    /// Trains a head for `tower` (frozen) on `dataset`: its training-split frames, and
    /// every phrasing of every fact its captions give (compound facts too: a frame shows a
    /// compound when it shows both parts). `encoder` embeds the phrasings. `progress` is
    /// called after every step with (step, loss).
    pub fn train(
        encoder: &dyn Backend,
        tower: &ImageTower,
        dataset: &Dataset,
        config: &HeadConfig,
        device: &Device,
        mut progress: impl FnMut(usize, f64),
    ) -> Result<Self> {
        config.validate()?;
        let table = FactTable::new(dataset, Split::Train)?;
        let text = encoder.embed_texts(&table.phrasings).context("text head: embedding the captions")?;
        let d = text.dim();
        ensure!(d == tower.dim(), "text head: the encoder is {d}-d but the tower {}-d", tower.dim());
        let images = embed_frames(tower, dataset, &table.frames)?;

        // The test split's frames, embedded once; its facts and phrasings are the training
        // table's (both come from every split's captions), so `text` serves it too.
        let test = match FactTable::new(dataset, Split::Test) {
            Ok(t) => Some((embed_frames(tower, dataset, &t.frames)?, t)),
            Err(_) => None,
        };
        let accuracy = |head: &TextHead| -> Result<f64> {
            match &test {
                Some((images, t)) => t.accuracy(&head.apply(&text)?, images),
                None => Ok(f64::NAN),
            }
        };
        let test_accuracy_before = accuracy(&TextHead::identity(d))?;

        let w = Var::zeros((d, d), DType::F32, device)?;
        let b = Var::zeros((1, d), DType::F32, device)?;
        let mut opt = AdamW::new(
            vec![w.clone(), b.clone()],
            ParamsAdamW { lr: config.lr, weight_decay: config.weight_decay, ..Default::default() },
        )?;
        // The rows training draws from: every phrasing, then the word-swapped copies.
        let (copies, copy_rows) = swapped_copies(&table, config);
        let text_t = if copies.is_empty() {
            Tensor::from_slice(text.as_slice(), (text.len(), d), device)?
        } else {
            let extra = encoder.embed_texts(&copies).context("text head: embedding the word-swapped copies")?;
            let rows: Vec<f32> = text.as_slice().iter().chain(extra.as_slice()).copied().collect();
            Tensor::from_vec(rows, (text.len() + extra.len(), d), device)?
        };
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x7e47_4ead);
        let scale = 1.0 / config.temperature;
        let mut losses = Vec::with_capacity(config.steps);
        for step in 1..=config.steps {
            let pool: &[usize] = if table.envs.len() > 1 && rng.random::<f64>() < config.same_env_fraction {
                &table.frames_of_env[rng.random_range(0..table.envs.len())]
            } else {
                &[]
            };
            let picks: Vec<usize> = (0..config.batch_size)
                .map(|_| {
                    if pool.is_empty() {
                        rng.random_range(0..table.frames.len())
                    } else {
                        pool[rng.random_range(0..pool.len())]
                    }
                })
                .collect();
            let mut present = vec![false; table.envs.len()];
            picks.iter().for_each(|&k| present[table.frame_env[k]] = true);
            let cands: Vec<usize> = (0..table.facts.len()).filter(|&f| present[table.fact_env[f]]).collect();
            let rows: Vec<u32> = cands
                .iter()
                .map(|&f| {
                    let ph = &table.fact_phrasings[f];
                    let extra = &copy_rows[f];
                    let k = rng.random_range(0..ph.len() + extra.len());
                    (if k < ph.len() { ph[k] } else { text.len() + extra[k - ph.len()] }) as u32
                })
                .collect();
            let mut pos = vec![0f32; picks.len() * cands.len()];
            for (i, &k) in picks.iter().enumerate() {
                for (j, f) in cands.iter().enumerate() {
                    if table.frame_facts[k].contains(f) {
                        pos[i * cands.len() + j] = 1.0;
                    }
                }
            }
            let mut img = Vec::with_capacity(picks.len() * d);
            for &k in &picks {
                img.extend_from_slice(images.row(k).expect("in range"));
            }
            let img = Tensor::from_vec(img, (picks.len(), d), device)?;
            let mut e = text_t.index_select(&Tensor::from_vec(rows, cands.len(), device)?, 0)?;
            if config.input_noise > 0.0 {
                let normal = rand_distr::Normal::new(0.0, config.input_noise as f32)?;
                let noise: Vec<f32> = (0..cands.len() * d).map(|_| rng.sample(normal)).collect();
                e = (e + Tensor::from_vec(noise, (cands.len(), d), device)?)?;
                e = e.broadcast_div(&e.sqr()?.sum_keepdim(1)?.sqrt()?)?;
            }
            let h = (&e + e.matmul(&w.as_tensor().t()?)?)?.broadcast_add(b.as_tensor())?;
            let h = h.broadcast_div(&h.sqr()?.sum_keepdim(1)?.sqrt()?)?;
            let logits = (img.matmul(&h.t()?)? * scale)?;
            let pos = Tensor::from_vec(pos, (picks.len(), cands.len()), device)?;
            let i2t = crate::train::multi_positive_nce(&logits, &pos)?;
            let t2i = crate::train::multi_positive_nce(&logits.t()?.contiguous()?, &pos.t()?.contiguous()?)?;
            let loss = ((i2t + t2i)? * 0.5)?;
            let value = loss.to_scalar::<f32>()? as f64;
            if !value.is_finite() {
                bail!("text head: loss is {value} at step {step} (training diverged; lower lr)");
            }
            opt.backward_step(&loss)?;
            losses.push(value);
            progress(step, value);
        }
        let mut head = TextHead {
            dim: d,
            w: w.as_tensor().flatten_all()?.to_vec1::<f32>()?,
            b: b.as_tensor().flatten_all()?.to_vec1::<f32>()?,
            report: None,
            tower_sha256: None,
            memory: None,
        };
        if config.memory_temperature > 0.0 {
            head.memory = Some(table.memory(&text, &images, config)?);
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        let report = HeadReport {
            config: config.clone(),
            frames: table.frames.len(),
            facts: table.facts.len(),
            phrasings: table.phrasings.len(),
            first_loss: mean(&losses[..losses.len().min(50)]),
            final_loss: mean(&losses[losses.len().saturating_sub(50)..]),
            test_accuracy_before,
            test_accuracy_after: accuracy(&head)?,
        };
        head.report = Some(report);
        Ok(head)
    }
}

/// The facts, phrasings and frames of one split of a dataset, compound facts added to the
/// frames that show both parts.
struct FactTable {
    envs: Vec<String>,
    /// (env, fact) per fact id.
    facts: Vec<(String, String)>,
    fact_env: Vec<usize>,
    fact_phrasings: Vec<Vec<usize>>,
    phrasings: Vec<String>,
    /// Dataset indices of the split's frames.
    frames: Vec<usize>,
    frame_env: Vec<usize>,
    frame_facts: Vec<Vec<usize>>,
    frames_of_env: Vec<Vec<usize>>,
}

impl FactTable {
    fn new(dataset: &Dataset, split: Split) -> Result<Self> {
        let frames = dataset.indices(split);
        ensure!(!frames.is_empty(), "text head: the dataset has no {split:?} frames");
        let mut t = FactTable {
            envs: Vec::new(),
            facts: Vec::new(),
            fact_env: Vec::new(),
            fact_phrasings: Vec::new(),
            phrasings: Vec::new(),
            frame_env: Vec::new(),
            frame_facts: Vec::new(),
            frames_of_env: Vec::new(),
            frames: Vec::new(),
        };
        // Every fact and phrasing the dataset names (all splits: a phrasing is text, not a
        // frame), so the test split is judged on the same facts.
        for env_facts in dataset.facts() {
            let (env, new) = intern(&mut t.envs, env_facts.env.clone());
            if new {
                t.frames_of_env.push(Vec::new());
            }
            for c in env_facts.facts {
                let (id, new) = intern(&mut t.facts, (env_facts.env.clone(), c.fact.clone()));
                if new {
                    t.fact_env.push(env);
                    t.fact_phrasings.push(Vec::new());
                }
                for p in c.phrasings {
                    let (row, _) = intern(&mut t.phrasings, p);
                    if !t.fact_phrasings[id].contains(&row) {
                        t.fact_phrasings[id].push(row);
                    }
                }
            }
        }
        for &i in &frames {
            let s = &dataset.samples()[i];
            let env = t.envs.iter().position(|e| *e == s.env).context("env of a frame")?;
            let base: Vec<&str> = s.captions.iter().map(|c| c.fact.as_str()).collect();
            let ids: Vec<usize> = (0..t.facts.len())
                .filter(|&f| t.fact_env[f] == env && t.facts[f].1.split('+').all(|part| base.contains(&part)))
                .collect();
            t.frames_of_env[env].push(t.frames.len());
            t.frames.push(i);
            t.frame_env.push(env);
            t.frame_facts.push(ids);
        }
        Ok(t)
    }

    /// The fact memory: every fact that has training frames, its phrasings' sentence
    /// embeddings (`text`) as keys, and as its place the mean of its frames (`images`, this
    /// table's frames embedded).
    fn memory(&self, text: &Embeddings, images: &Embeddings, config: &HeadConfig) -> Result<Memory> {
        let d = text.dim();
        let mut memory = Memory {
            keys: Vec::new(),
            key_fact: Vec::new(),
            values: Vec::new(),
            temperature: config.memory_temperature as f32,
            mix: config.memory_mix as f32,
        };
        // Every fact's sum of its frames' embeddings, in one pass over the frames.
        let mut places = vec![vec![0f32; d]; self.facts.len()];
        for (k, facts) in self.frame_facts.iter().enumerate() {
            let row = images.row(k).expect("in range");
            for &f in facts {
                places[f].iter_mut().zip(row).for_each(|(a, b)| *a += b);
            }
        }
        for (rows, mut place) in self.fact_phrasings.iter().zip(places) {
            // A fact no training frame shows (a compound never seen together) has no place.
            if rows.is_empty() || place.iter().all(|&x| x == 0.0) {
                continue;
            }
            normalise_in_place(&mut place, "fact memory place")?;
            let id = (memory.values.len() / d) as u32;
            memory.values.extend_from_slice(&place);
            for &r in rows {
                memory.keys.extend_from_slice(text.row(r).expect("in range"));
                memory.key_fact.push(id);
            }
        }
        ensure!(!memory.values.is_empty(), "text head: no fact has training frames for the memory");
        Ok(memory)
    }

    /// Top-1 accuracy of frames (`images`, this table's frames embedded) picking one of
    /// their facts among their env's facts, each fact's text the mean of its phrasings'
    /// embeddings (`text`, one row per phrasing, head applied).
    fn accuracy(&self, text: &Embeddings, images: &Embeddings) -> Result<f64> {
        let d = text.dim();
        let mut fact_vecs = Vec::with_capacity(self.facts.len());
        for rows in &self.fact_phrasings {
            let mut v = vec![0f32; d];
            for &r in rows {
                v.iter_mut().zip(text.row(r).expect("in range")).for_each(|(a, b)| *a += b);
            }
            normalise_in_place(&mut v, "fact embedding")?;
            fact_vecs.push(v);
        }
        let mut right = 0usize;
        let mut judged = 0usize;
        for k in 0..self.frames.len() {
            if self.frame_facts[k].is_empty() {
                continue;
            }
            let img = images.row(k).expect("in range");
            let best = (0..self.facts.len())
                .filter(|&f| self.fact_env[f] == self.frame_env[k])
                .max_by(|&a, &b| dot(img, &fact_vecs[a]).total_cmp(&dot(img, &fact_vecs[b])))
                .expect("the frame's env has facts");
            judged += 1;
            right += usize::from(self.frame_facts[k].contains(&best));
        }
        Ok(right as f64 / judged.max(1) as f64)
    }
}

/// `config.swap_variants` copies of every phrasing with words swapped for words that only
/// other envs' phrasings use (see [`HeadConfig::word_swap`]), and per fact the indices of
/// its copies in that list. Empty when `word_swap` is 0 or the table has one env.
fn swapped_copies(table: &FactTable, config: &HeadConfig) -> (Vec<String>, Vec<Vec<usize>>) {
    let mut copy_rows = vec![Vec::new(); table.facts.len()];
    if config.word_swap == 0.0 || table.envs.len() < 2 {
        return (Vec::new(), copy_rows);
    }
    // Each env's words (sorted, so the copies do not depend on hash order).
    let mut words: Vec<std::collections::BTreeSet<String>> = vec![Default::default(); table.envs.len()];
    for (f, rows) in table.fact_phrasings.iter().enumerate() {
        for &r in rows {
            for w in table.phrasings[r].split_whitespace() {
                let w = w.trim_matches(|c: char| !c.is_alphabetic()).to_lowercase();
                if w.len() >= 3 {
                    words[table.fact_env[f]].insert(w);
                }
            }
        }
    }
    // Per env, the words of other envs that its captions never use ("the" is everyone's).
    let foreign_of_env: Vec<Vec<&String>> = (0..words.len())
        .map(|env| {
            let other: std::collections::BTreeSet<&String> =
                words.iter().enumerate().filter(|(e, _)| *e != env).flat_map(|(_, w)| w).collect();
            other.into_iter().filter(|w| !words[env].contains(*w)).collect()
        })
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x5a4b_0bad);
    let mut copies = Vec::new();
    for (f, rows) in table.fact_phrasings.iter().enumerate() {
        let foreign = &foreign_of_env[table.fact_env[f]];
        if foreign.is_empty() {
            continue;
        }
        for &r in rows {
            let base: Vec<&str> = table.phrasings[r].split_whitespace().collect();
            if base.is_empty() {
                continue;
            }
            for _ in 0..config.swap_variants {
                let mut swap: Vec<bool> = base.iter().map(|_| rng.random::<f64>() < config.word_swap).collect();
                if !swap.contains(&true) {
                    swap[rng.random_range(0..base.len())] = true;
                }
                let copy: Vec<&str> = base
                    .iter()
                    .zip(&swap)
                    .map(|(w, &s)| if s { foreign[rng.random_range(0..foreign.len())].as_str() } else { w })
                    .collect();
                copy_rows[f].push(copies.len());
                copies.push(copy.join(" "));
            }
        }
    }
    (copies, copy_rows)
}

/// The tower's embeddings of the dataset frames at `idx`, in batches.
fn embed_frames(tower: &ImageTower, dataset: &Dataset, idx: &[usize]) -> Result<Embeddings> {
    let mut rows = Vec::with_capacity(idx.len() * tower.dim());
    for chunk in idx.chunks(256) {
        rows.extend_from_slice(tower.embed(&dataset.frames(chunk)?)?.as_slice());
    }
    Embeddings::from_rows(rows, idx.len(), tower.dim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_head_keeps_embeddings_and_bytes_round_trip() {
        let e = Embeddings::from_vecs(&[vec![0.3, -0.2, 0.9], vec![1.0, 0.0, 0.0]]).unwrap();
        let id = TextHead::identity(3);
        assert_eq!(id.apply(&e).unwrap(), e);
        let mut h = TextHead::identity(3);
        h.w[1] = 0.5; // out_0 += 0.5 e_1
        h.b[2] = 0.1;
        let back = TextHead::from_bytes(&h.to_bytes().unwrap()).unwrap();
        assert_eq!(back, h);
        let out = h.apply(&Embeddings::from_vecs(&[vec![0.0, 1.0, 0.0]]).unwrap()).unwrap();
        let want = [0.5f32, 1.0, 0.1];
        let n = want.iter().map(|x| x * x).sum::<f32>().sqrt();
        for (a, b) in out.row(0).unwrap().iter().zip(want) {
            assert!((a - b / n).abs() < 1e-6);
        }
        let e = TextHead::from_bytes(b"nope").unwrap_err().to_string();
        assert!(e.contains("not a valid safetensors"), "{e}");
        assert!(id.apply(&Embeddings::from_vecs(&[vec![1.0, 0.0]]).unwrap()).is_err());
    }

    #[test]
    fn a_fact_memory_reads_a_goal_as_its_nearest_facts_places_and_round_trips() {
        // Two facts in 3-d: fact 0 phrased along x (and x+y), fact 1 along z; their places
        // are y and -y.
        let s = std::f32::consts::FRAC_1_SQRT_2;
        let memory = Memory {
            keys: vec![1.0, 0.0, 0.0, s, s, 0.0, 0.0, 0.0, 1.0],
            key_fact: vec![0, 0, 1],
            values: vec![0.0, 1.0, 0.0, 0.0, -1.0, 0.0],
            temperature: 0.05,
            mix: 1.0,
        };
        let mut head = TextHead { memory: Some(memory), ..TextHead::identity(3) };
        let goals = Embeddings::from_vecs(&[vec![0.9, 0.0, 0.1], vec![0.1, 0.0, 0.9], vec![s, 0.0, s]]).unwrap();
        let out = head.apply(&Embeddings::from_vecs(&[vec![0.9, 0.0, 0.1], vec![0.1, 0.0, 0.9]]).unwrap()).unwrap();
        // Nearest fact 0: its place, +y, almost alone (weights e^{(0.11 - 0.99) / 0.05}).
        assert!(out.row(0).unwrap()[1] > 0.999, "{:?}", out.row(0));
        assert!(out.row(1).unwrap()[1] < -0.999, "{:?}", out.row(1));
        // Equally near both: the places cancel, and the residual map's output is all that
        // is left (here the identity's; with the memory alone this goal has no direction and
        // is refused). Near one: half each.
        head.memory.as_mut().unwrap().mix = 0.5;
        let out = head.apply(&goals).unwrap();
        let r = out.row(2).unwrap();
        assert!((r[0] - s).abs() < 1e-4 && r[1].abs() < 1e-4 && (r[2] - s).abs() < 1e-4, "{r:?}");
        let r = out.row(0).unwrap();
        let want = [0.5 * 0.9 / 0.9055, 0.5, 0.5 * 0.1 / 0.9055];
        let n = want.iter().map(|x| x * x).sum::<f32>().sqrt();
        for (a, b) in r.iter().zip(want) {
            assert!((a - b / n).abs() < 1e-3, "{r:?}");
        }
        let back = TextHead::from_bytes(&head.to_bytes().unwrap()).unwrap();
        assert_eq!(back, head);
        // A key naming a fact past the table is refused.
        head.memory.as_mut().unwrap().key_fact[2] = 7;
        let e = TextHead::from_bytes(&head.to_bytes().unwrap()).unwrap_err().to_string();
        assert!(e.contains("past 2"), "{e}");
    }

    #[test]
    fn bad_configs_say_why() {
        let e = HeadConfig { steps: 0, ..Default::default() }.validate().unwrap_err().to_string();
        assert!(e.contains("steps"), "{e}");
        let e = HeadConfig { temperature: -1.0, ..Default::default() }.validate().unwrap_err().to_string();
        assert!(e.contains("temperature"), "{e}");
        let e = HeadConfig { input_noise: -0.1, ..Default::default() }.validate().unwrap_err().to_string();
        assert!(e.contains("input_noise"), "{e}");
        let e = HeadConfig { word_swap: 1.5, ..Default::default() }.validate().unwrap_err().to_string();
        assert!(e.contains("word_swap"), "{e}");
        let e = HeadConfig { memory_mix: 1.5, ..Default::default() }.validate().unwrap_err().to_string();
        assert!(e.contains("memory_mix"), "{e}");
        let e = HeadConfig { memory_temperature: -1.0, ..Default::default() }.validate().unwrap_err().to_string();
        assert!(e.contains("memory_temperature"), "{e}");
        let e = HeadConfig { steps: 0, ..Default::default() }.validate().unwrap_err().to_string();
        assert!(e.contains("0 only with a fact memory"), "{e}");
        HeadConfig { steps: 0, memory_temperature: 0.05, ..Default::default() }.validate().unwrap();
    }

    #[test]
    fn word_swapped_copies_take_words_from_other_envs() {
        let table = FactTable {
            envs: vec!["A".into(), "B".into()],
            facts: vec![("A".into(), "a.up".into()), ("B".into(), "b.crash".into())],
            fact_env: vec![0, 1],
            fact_phrasings: vec![vec![0, 1], vec![2]],
            phrasings: vec!["the pole is upright".into(), "a vertical pole".into(), "the car crashed hard".into()],
            frames: Vec::new(),
            frame_env: Vec::new(),
            frame_facts: Vec::new(),
            frames_of_env: Vec::new(),
        };
        let off = swapped_copies(&table, &HeadConfig::default());
        assert!(off.0.is_empty() && off.1.iter().all(|r| r.is_empty()));
        let config = HeadConfig { word_swap: 0.3, swap_variants: 3, ..Default::default() };
        let (copies, rows) = swapped_copies(&table, &config);
        assert_eq!(copies.len(), 9);
        assert_eq!(rows, vec![(0..6).collect::<Vec<_>>(), (6..9).collect()]);
        let b_words = ["the", "car", "crashed", "hard"];
        let a_words = ["the", "pole", "upright", "vertical"];
        for (k, copy) in copies.iter().enumerate() {
            let (own, other, base) = if k < 6 {
                (&a_words, &b_words, &table.phrasings[k / 3])
            } else {
                (&b_words, &a_words, &table.phrasings[2])
            };
            let words: Vec<&str> = copy.split(' ').collect();
            assert_eq!(words.len(), base.split(' ').count(), "{copy}");
            // At least one word differs from the phrasing, and a changed word is one the
            // other env says and this one never does ("the" is both's).
            assert!(words.iter().zip(base.split(' ')).any(|(w, b)| *w != b), "{copy}");
            for (w, b) in words.iter().zip(base.split(' ')) {
                assert!(*w == b || (other.contains(w) && !own.contains(w)), "{copy}");
            }
        }
        assert_eq!(swapped_copies(&table, &config), (copies, rows), "deterministic under the seed");
    }
}
