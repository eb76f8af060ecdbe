//! The simlit text encoder: all-MiniLM-L6-v2 (a 6-layer, 384-d BERT sentence encoder) on
//! candle-transformers' BERT, mean pooling over the attention mask, L2 normalisation —
//! what sentence-transformers computes for this model.
//!
//! The model files (`config.json`, `tokenizer.json`, `model.safetensors`) are put by
//! `scripts/setup.sh` into
//! `${VLMGYM_MODEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vlmgym/models}/all-MiniLM-L6-v2/`;
//! nothing is downloaded at run time.
//!
//! [`SimlitEncoder`] is the text side only (its `embed_images` is an error);
//! [`SimlitBackend`] pairs it with a trained [`ImageTower`] so that texts and frames land
//! in the same 384-d space.
//!
//! The model runs on the candle [`Device`] passed to the `_on` loaders
//! ([`SimlitEncoder::load_on`], [`SimlitBackend::load_on`]); the others use the CPU.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, ensure, Context, Result};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use crate::backend::{Backend, Embeddings, Frames};
use crate::text_head::TextHead;
use crate::tower::ImageTower;

/// Folder name of the model inside the model cache root.
pub const MODEL_NAME: &str = "all-MiniLM-L6-v2";

/// Files the encoder needs inside the model folder.
pub const MODEL_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

/// Longest input in tokens (sentence-transformers' `max_seq_length` for this model);
/// longer texts are truncated, as there.
pub const MAX_SEQ_LEN: usize = 256;

/// Resolves the model folder from an environment lookup: `VLMGYM_MODEL_DIR`, else
/// `$XDG_CACHE_HOME/vlmgym/models`, else `$HOME/.cache/vlmgym/models`, then
/// `all-MiniLM-L6-v2`. Empty variables count as unset (as `${VAR:-...}` in the shell).
pub fn model_dir_from(env: impl Fn(&str) -> Option<String>) -> Result<PathBuf> {
    let get = |k: &str| env(k).filter(|v| !v.is_empty());
    let root = if let Some(dir) = get("VLMGYM_MODEL_DIR") {
        PathBuf::from(dir)
    } else if let Some(cache) = get("XDG_CACHE_HOME") {
        PathBuf::from(cache).join("vlmgym").join("models")
    } else if let Some(home) = get("HOME") {
        PathBuf::from(home).join(".cache").join("vlmgym").join("models")
    } else {
        bail!("simlit: none of VLMGYM_MODEL_DIR, XDG_CACHE_HOME, HOME is set; cannot find the model cache")
    };
    Ok(root.join(MODEL_NAME))
}

/// The model folder from the process environment (see [`model_dir_from`]).
pub fn model_dir() -> Result<PathBuf> {
    model_dir_from(|k| std::env::var(k).ok())
}

/// Errors naming every missing model file in `dir`, and how to get them.
pub fn check_model_dir(dir: &Path) -> Result<()> {
    let missing: Vec<&str> = MODEL_FILES.iter().copied().filter(|f| !dir.join(f).is_file()).collect();
    ensure!(missing.is_empty(), "simlit: {} missing in {} (run scripts/setup.sh)", missing.join(", "), dir.display());
    Ok(())
}

/// all-MiniLM-L6-v2 on a candle device: texts to unit-length 384-d embeddings.
pub struct SimlitEncoder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
    dim: usize,
}

impl std::fmt::Debug for SimlitEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimlitEncoder").field("dim", &self.dim).finish_non_exhaustive()
    }
}

impl SimlitEncoder {
    /// Loads the encoder from the default model folder ([`model_dir`]) onto the CPU.
    pub fn load_default() -> Result<Self> {
        Self::load_default_on(&Device::Cpu)
    }

    /// Loads the encoder from the default model folder ([`model_dir`]) onto `device`.
    pub fn load_default_on(device: &Device) -> Result<Self> {
        Self::load_on(&model_dir()?, device)
    }

    /// Loads `config.json`, `tokenizer.json` and `model.safetensors` from `dir` onto the CPU.
    pub fn load(dir: &Path) -> Result<Self> {
        Self::load_on(dir, &Device::Cpu)
    }

    /// Loads `config.json`, `tokenizer.json` and `model.safetensors` from `dir` onto
    /// `device`.
    pub fn load_on(dir: &Path, device: &Device) -> Result<Self> {
        check_model_dir(dir)?;
        let device = device.clone();
        let config_path = dir.join("config.json");
        let config: Config = serde_json::from_str(
            &std::fs::read_to_string(&config_path)
                .with_context(|| format!("simlit: cannot read {}", config_path.display()))?,
        )
        .with_context(|| format!("simlit: bad BERT config {}", config_path.display()))?;
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| anyhow!("simlit: cannot load tokenizer.json in {}: {e}", dir.display()))?;
        // Pad each batch to its longest text; truncate as sentence-transformers does.
        tokenizer.with_padding(Some(PaddingParams { strategy: PaddingStrategy::BatchLongest, ..Default::default() }));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_SEQ_LEN.min(config.max_position_embeddings),
                ..Default::default()
            }))
            .map_err(|e| anyhow!("simlit: cannot set truncation: {e}"))?;
        let weights = dir.join("model.safetensors");
        // SAFETY: the file is memory-mapped read-only; it must not be modified while the
        // encoder lives (the model cache is written only by scripts/setup.sh).
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, &device) }
            .with_context(|| format!("simlit: cannot read {}", weights.display()))?;
        let model = BertModel::load(vb, &config)
            .with_context(|| format!("simlit: {} is not a BERT model", weights.display()))?;
        Ok(Self { model, tokenizer, device, dim: config.hidden_size })
    }

    /// The device the model runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    fn embed_batch(&self, texts: &[String]) -> Result<Embeddings> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| anyhow!("simlit: tokenization failed: {e}"))?;
        let n = encodings.len();
        let len = encodings.first().map_or(0, |e| e.get_ids().len());
        ensure!(len > 0, "simlit: tokenizer produced empty sequences");
        let mut ids = Vec::with_capacity(n * len);
        let mut types = Vec::with_capacity(n * len);
        let mut mask = Vec::with_capacity(n * len);
        for e in &encodings {
            ensure!(e.get_ids().len() == len, "simlit: batch not padded evenly");
            ids.extend_from_slice(e.get_ids());
            types.extend_from_slice(e.get_type_ids());
            mask.extend_from_slice(e.get_attention_mask());
        }
        let ids = Tensor::from_vec(ids, (n, len), &self.device)?;
        let types = Tensor::from_vec(types, (n, len), &self.device)?;
        let mask = Tensor::from_vec(mask, (n, len), &self.device)?;
        let hidden = self.model.forward(&ids, &types, Some(&mask))?; // n x len x d
        let maskf = mask.to_dtype(DType::F32)?.unsqueeze(2)?; // n x len x 1
        let summed = hidden.broadcast_mul(&maskf)?.sum(1)?; // n x d
        let counts = maskf.sum(1)?.clamp(1e-9f32, f32::MAX)?; // n x 1
        let pooled = summed.broadcast_div(&counts)?;
        let dim = pooled.dim(1)?;
        let data = pooled.flatten_all()?.to_vec1::<f32>()?;
        Embeddings::from_rows(data, n, dim)
    }
}

/// Texts are embedded in chunks of this many, each padded to its longest text.
const BATCH: usize = 64;

impl Backend for SimlitEncoder {
    fn embed_texts(&self, texts: &[String]) -> Result<Embeddings> {
        ensure!(!texts.is_empty(), "simlit: no texts to embed");
        let mut rows = Vec::with_capacity(texts.len() * self.dim);
        for chunk in texts.chunks(BATCH) {
            rows.extend_from_slice(self.embed_batch(chunk)?.as_slice());
        }
        Embeddings::from_rows(rows, texts.len(), self.dim)
    }

    fn embed_images(&self, frames: &Frames) -> Result<Embeddings> {
        bail!(
            "simlit: the text encoder alone cannot embed {} frames; use SimlitBackend (encoder + trained image tower)",
            frames.len()
        )
    }

    fn dim(&self) -> usize {
        self.dim
    }
}

/// The full simlit backend: the frozen all-MiniLM-L6-v2 text encoder plus an image tower
/// trained into its space ([`crate::train::train_tower`]), optionally mapping goals through a
/// text head ([`SimlitBackend::with_head`]).
#[derive(Debug)]
pub struct SimlitBackend {
    encoder: SimlitEncoder,
    tower: ImageTower,
    head: Option<TextHead>,
}

impl SimlitBackend {
    /// Pairs an encoder and a tower; errors when their dimensions differ.
    pub fn new(encoder: SimlitEncoder, tower: ImageTower) -> Result<Self> {
        ensure!(
            encoder.dim == tower.dim(),
            "simlit: image tower outputs {}-d embeddings but the text encoder {}-d",
            tower.dim(),
            encoder.dim
        );
        Ok(Self { encoder, tower, head: None })
    }

    /// Loads the text encoder from `model_dir` and the tower from `tower_path`, both onto
    /// the CPU.
    pub fn load(model_dir: &Path, tower_path: &Path) -> Result<Self> {
        Self::load_on(model_dir, tower_path, &Device::Cpu)
    }

    /// Loads the text encoder from `model_dir` and the tower from `tower_path`, both onto
    /// `device`.
    pub fn load_on(model_dir: &Path, tower_path: &Path, device: &Device) -> Result<Self> {
        Self::new(SimlitEncoder::load_on(model_dir, device)?, ImageTower::load_on(tower_path, device)?)
    }

    /// Maps every goal's embedding through `head` (trained against this tower; see
    /// [`crate::text_head`]), or not with `None`. Errors when the head's
    /// dimension is not the encoder's.
    pub fn with_head(mut self, head: Option<TextHead>) -> Result<Self> {
        if let Some(h) = &head {
            ensure!(
                h.dim() == self.encoder.dim,
                "simlit: the text head is {}-d but the encoder {}-d",
                h.dim(),
                self.encoder.dim
            );
        }
        self.head = head;
        Ok(self)
    }

    /// The text head goals are mapped through, if any.
    pub fn head(&self) -> Option<&TextHead> {
        self.head.as_ref()
    }

    /// The text encoder.
    pub fn encoder(&self) -> &SimlitEncoder {
        &self.encoder
    }

    /// The image tower.
    pub fn tower(&self) -> &ImageTower {
        &self.tower
    }
}

impl Backend for SimlitBackend {
    fn embed_texts(&self, texts: &[String]) -> Result<Embeddings> {
        let raw = self.encoder.embed_texts(texts)?;
        match &self.head {
            Some(h) => h.apply(&raw),
            None => Ok(raw),
        }
    }

    fn embed_images(&self, frames: &Frames) -> Result<Embeddings> {
        self.tower.embed(frames)
    }

    fn dim(&self) -> usize {
        self.encoder.dim
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn model_dir_order() {
        let all = [("VLMGYM_MODEL_DIR", "/m"), ("XDG_CACHE_HOME", "/x"), ("HOME", "/h")];
        assert_eq!(model_dir_from(env(&all)).unwrap(), Path::new("/m/all-MiniLM-L6-v2"));
        let no_m = [("VLMGYM_MODEL_DIR", ""), ("XDG_CACHE_HOME", "/x"), ("HOME", "/h")];
        assert_eq!(model_dir_from(env(&no_m)).unwrap(), Path::new("/x/vlmgym/models/all-MiniLM-L6-v2"));
        let home = [("HOME", "/h")];
        assert_eq!(model_dir_from(env(&home)).unwrap(), Path::new("/h/.cache/vlmgym/models/all-MiniLM-L6-v2"));
        assert!(model_dir_from(env(&[])).is_err());
    }

    #[test]
    fn missing_files_say_run_setup() {
        let dir = std::env::temp_dir().join("vlmgym-simlit-missing-model-test");
        let e = SimlitEncoder::load(&dir).unwrap_err().to_string();
        assert!(e.contains("run scripts/setup.sh"), "{e}");
        assert!(e.contains("model.safetensors"), "{e}");
    }
}
