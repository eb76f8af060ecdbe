//! The `clip` backend: CLIP image and text towers on candle, weights by Hugging Face names.
//!
//! A model folder holds `model.safetensors` (Hugging Face `CLIPModel` tensor names:
//! `text_model.*`, `vision_model.*`, `text_projection.weight`, `visual_projection.weight`),
//! `tokenizer.json`, and optionally `config.json` (Hugging Face `CLIPConfig`); without
//! `config.json` pass a named config ([`ClipConfig::named`]).
//!
//! Two implementations compute the same function:
//! - [`ClipImpl::Candle`]: candle-transformers 0.11's `ClipModel`. It only knows QuickGELU
//!   (its text tower hard-codes it) and a layer-norm epsilon of 1e-5, which fits the OpenAI
//!   models (ViT-B/32, ViT-B/16, ViT-L/14).
//! - [`ClipImpl::Native`]: the same transformer written here with a configurable activation
//!   (QuickGELU, exact GELU, tanh GELU) and epsilon, for the LAION models (ViT-H/14, ViT-g/14,
//!   ViT-bigG/14 use GELU). A test checks both give the same embeddings on QuickGELU weights.
//!
//! - [`ClipImpl::NativeBf16`]: the native transformer with its layers' matrix products in bf16
//!   on Intel AMX tiles or AVX-512 BF16, where the CPU has them (the simlit tower's kernels).
//!
//! [`ClipImpl::best`] (the default) picks the bf16 one where it runs, else candle where it
//! can ([`ClipImpl::auto`]). Preprocessing follows vlmrm / VLM-RL:
//! bicubic (Catmull-Rom) squash of the whole frame to the input size (no crop, aspect not
//! kept), then OpenAI's mean/std. Texts: `tokenizer.json` with its start/end tokens,
//! truncated to the context length (the end token kept), padded with id 0, pooled at the
//! end-of-text token (the largest id, as OpenAI/Hugging Face take the argmax). A causal mask
//! means the padding never changes a text's embedding. Outputs are L2-normalised.
//!
//! The model runs on the candle [`Device`] passed to the `_on` constructors
//! ([`ClipBackend::load_on`], [`ClipBackend::from_tensors_on`], [`ClipBackend::random_on`])
//! or, for [`ClipBackend::from_varbuilder`], the var builder's device; the others use the CPU.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, bail, ensure, Context, Result};
use candle_core::{DType, Device, IndexOp, Module, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, Embedding, LayerNorm, Linear, VarBuilder};
use candle_transformers::models::clip as cclip;
use image::imageops::FilterType;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tokenizers::Tokenizer;

use crate::backend::{Backend, Embeddings, Frames};
use crate::tower_cpu::Kernel;

/// OpenAI CLIP pixel mean (RGB).
pub const CLIP_MEAN: [f32; 3] = [0.481_454_66, 0.457_827_5, 0.408_210_73];
/// OpenAI CLIP pixel standard deviation (RGB).
#[allow(clippy::excessive_precision)] // the published constants, digit for digit
pub const CLIP_STD: [f32; 3] = [0.268_629_54, 0.261_302_58, 0.275_777_11];
/// Frames and texts are embedded in chunks of this many.
const CHUNK: usize = 64;

/// MLP activation of a tower.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// `x * sigmoid(1.702 x)` (OpenAI models).
    QuickGelu,
    /// Exact (erf) GELU (Hugging Face `gelu`; LAION models).
    Gelu,
    /// Tanh-approximated GELU (Hugging Face `gelu_new` / `gelu_pytorch_tanh`).
    GeluTanh,
}

impl Activation {
    /// Parses a Hugging Face `hidden_act` name.
    pub fn from_hf(name: &str) -> Result<Self> {
        Ok(match name {
            "quick_gelu" => Self::QuickGelu,
            "gelu" => Self::Gelu,
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Self::GeluTanh,
            other => bail!("clip: activation `{other}` not supported (quick_gelu, gelu, gelu_new)"),
        })
    }

    /// The Hugging Face `hidden_act` name.
    pub fn hf_name(self) -> &'static str {
        match self {
            Self::QuickGelu => "quick_gelu",
            Self::Gelu => "gelu",
            Self::GeluTanh => "gelu_new",
        }
    }

    fn apply(self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Self::QuickGelu => x * candle_nn::ops::sigmoid(&(x * 1.702f64)?)?,
            Self::Gelu => x.gelu_erf(),
            Self::GeluTanh => x.gelu(),
        }
    }
}

/// The text tower's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClipTextSpec {
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Width.
    pub hidden_size: usize,
    /// MLP width.
    pub intermediate_size: usize,
    /// Transformer layers.
    pub num_layers: usize,
    /// Attention heads.
    pub num_heads: usize,
    /// Context length in tokens (77 for every released CLIP).
    pub context_length: usize,
    /// MLP activation.
    pub activation: Activation,
}

/// The vision tower's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClipVisionSpec {
    /// Width.
    pub hidden_size: usize,
    /// MLP width.
    pub intermediate_size: usize,
    /// Transformer layers.
    pub num_layers: usize,
    /// Attention heads.
    pub num_heads: usize,
    /// Input side in pixels (224 for the named configs).
    pub image_size: usize,
    /// Patch side in pixels.
    pub patch_size: usize,
    /// MLP activation.
    pub activation: Activation,
}

/// A CLIP model's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClipConfig {
    /// Text tower.
    pub text: ClipTextSpec,
    /// Vision tower.
    pub vision: ClipVisionSpec,
    /// Shared embedding dimension (both projections' output).
    pub projection_dim: usize,
    /// Layer-norm epsilon (1e-5 in every released CLIP).
    pub layer_norm_eps: f64,
}

/// Names accepted by [`ClipConfig::named`].
pub const NAMED_CONFIGS: [&str; 6] = ["ViT-B-32", "ViT-B-16", "ViT-L-14", "ViT-H-14", "ViT-g-14", "ViT-bigG-14"];

#[allow(clippy::too_many_arguments)]
fn spec(
    text: (usize, usize, usize, usize),
    vision: (usize, usize, usize, usize),
    patch: usize,
    proj: usize,
    act: Activation,
) -> ClipConfig {
    ClipConfig {
        text: ClipTextSpec {
            vocab_size: 49408,
            hidden_size: text.0,
            intermediate_size: text.1,
            num_layers: text.2,
            num_heads: text.3,
            context_length: 77,
            activation: act,
        },
        vision: ClipVisionSpec {
            hidden_size: vision.0,
            intermediate_size: vision.1,
            num_layers: vision.2,
            num_heads: vision.3,
            image_size: 224,
            patch_size: patch,
            activation: act,
        },
        projection_dim: proj,
        layer_norm_eps: 1e-5,
    }
}

impl ClipConfig {
    /// A released architecture by name: OpenAI `ViT-B-32`, `ViT-B-16`, `ViT-L-14`
    /// (QuickGELU) or LAION `ViT-H-14`, `ViT-g-14`, `ViT-bigG-14` (GELU). `/` may replace
    /// `-` and case is ignored (`vit-b/32`).
    pub fn named(name: &str) -> Result<Self> {
        use Activation::{Gelu, QuickGelu};
        let key = name.to_ascii_lowercase().replace('/', "-");
        // (width, mlp, layers, heads) per tower, as in the Hugging Face configs.
        Ok(match key.as_str() {
            "vit-b-32" => spec((512, 2048, 12, 8), (768, 3072, 12, 12), 32, 512, QuickGelu),
            "vit-b-16" => spec((512, 2048, 12, 8), (768, 3072, 12, 12), 16, 512, QuickGelu),
            "vit-l-14" => spec((768, 3072, 12, 12), (1024, 4096, 24, 16), 14, 768, QuickGelu),
            "vit-h-14" => spec((1024, 4096, 24, 16), (1280, 5120, 32, 16), 14, 1024, Gelu),
            "vit-g-14" => spec((1024, 4096, 24, 16), (1408, 6144, 40, 16), 14, 1024, Gelu),
            "vit-bigg-14" => spec((1280, 5120, 32, 20), (1664, 8192, 48, 16), 14, 1280, Gelu),
            _ => bail!("clip: unknown config `{name}` (known: {})", NAMED_CONFIGS.join(", ")),
        })
    }

    /// Parses a Hugging Face `CLIPConfig` (`config.json`), with Hugging Face's defaults for
    /// missing fields.
    pub fn from_hf_json(text: &str) -> Result<Self> {
        let hf: HfConfig = serde_json::from_str(text).context("clip: bad config.json")?;
        let c = Self {
            text: ClipTextSpec {
                vocab_size: hf.text_config.vocab_size,
                hidden_size: hf.text_config.hidden_size,
                intermediate_size: hf.text_config.intermediate_size,
                num_layers: hf.text_config.num_hidden_layers,
                num_heads: hf.text_config.num_attention_heads,
                context_length: hf.text_config.max_position_embeddings,
                activation: Activation::from_hf(&hf.text_config.hidden_act)?,
            },
            vision: ClipVisionSpec {
                hidden_size: hf.vision_config.hidden_size,
                intermediate_size: hf.vision_config.intermediate_size,
                num_layers: hf.vision_config.num_hidden_layers,
                num_heads: hf.vision_config.num_attention_heads,
                image_size: hf.vision_config.image_size,
                patch_size: hf.vision_config.patch_size,
                activation: Activation::from_hf(&hf.vision_config.hidden_act)?,
            },
            projection_dim: hf.projection_dim,
            layer_norm_eps: hf.vision_config.layer_norm_eps,
        };
        c.validate()?;
        Ok(c)
    }

    /// As a Hugging Face `CLIPConfig` (`config.json`), which [`from_hf_json`](Self::from_hf_json)
    /// reads back to the same config.
    pub fn to_hf_json(&self) -> String {
        let (t, v) = (&self.text, &self.vision);
        serde_json::json!({
            "projection_dim": self.projection_dim,
            "text_config": {
                "vocab_size": t.vocab_size, "hidden_size": t.hidden_size,
                "intermediate_size": t.intermediate_size, "num_hidden_layers": t.num_layers,
                "num_attention_heads": t.num_heads, "max_position_embeddings": t.context_length,
                "hidden_act": t.activation.hf_name(), "layer_norm_eps": self.layer_norm_eps,
            },
            "vision_config": {
                "hidden_size": v.hidden_size, "intermediate_size": v.intermediate_size,
                "num_hidden_layers": v.num_layers, "num_attention_heads": v.num_heads,
                "image_size": v.image_size, "patch_size": v.patch_size,
                "hidden_act": v.activation.hf_name(), "layer_norm_eps": self.layer_norm_eps,
            }
        })
        .to_string()
    }

    /// Errors when a size is 0, a width is not divisible by its head count or the image
    /// size by the patch size.
    pub fn validate(&self) -> Result<()> {
        let t = &self.text;
        let v = &self.vision;
        ensure!(
            [t.vocab_size, t.hidden_size, t.intermediate_size, t.num_heads, t.context_length, self.projection_dim]
                .iter()
                .all(|&x| x > 0),
            "clip config: a text size or the projection dimension is 0"
        );
        ensure!(
            [v.hidden_size, v.intermediate_size, v.num_heads, v.image_size, v.patch_size].iter().all(|&x| x > 0),
            "clip config: a vision size is 0"
        );
        ensure!(
            t.hidden_size.is_multiple_of(t.num_heads),
            "clip config: text width {} not divisible by {} heads",
            t.hidden_size,
            t.num_heads
        );
        ensure!(
            v.hidden_size.is_multiple_of(v.num_heads),
            "clip config: vision width {} not divisible by {} heads",
            v.hidden_size,
            v.num_heads
        );
        ensure!(
            v.image_size.is_multiple_of(v.patch_size),
            "clip config: image size {} not divisible by patch {}",
            v.image_size,
            v.patch_size
        );
        ensure!(
            self.layer_norm_eps > 0.0 && self.layer_norm_eps.is_finite(),
            "clip config: layer_norm_eps must be > 0"
        );
        Ok(())
    }

    /// Every tensor of a Hugging Face `CLIPModel` checkpoint for this config (name, shape),
    /// `logit_scale` included.
    pub fn tensor_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let mut out: Vec<(String, Vec<usize>)> = Vec::new();
        let layers = |out: &mut Vec<(String, Vec<usize>)>, prefix: &str, d: usize, m: usize, n: usize| {
            for i in 0..n {
                let p = format!("{prefix}.encoder.layers.{i}");
                for proj in ["q_proj", "k_proj", "v_proj", "out_proj"] {
                    out.push((format!("{p}.self_attn.{proj}.weight"), vec![d, d]));
                    out.push((format!("{p}.self_attn.{proj}.bias"), vec![d]));
                }
                for ln in ["layer_norm1", "layer_norm2"] {
                    out.push((format!("{p}.{ln}.weight"), vec![d]));
                    out.push((format!("{p}.{ln}.bias"), vec![d]));
                }
                out.push((format!("{p}.mlp.fc1.weight"), vec![m, d]));
                out.push((format!("{p}.mlp.fc1.bias"), vec![m]));
                out.push((format!("{p}.mlp.fc2.weight"), vec![d, m]));
                out.push((format!("{p}.mlp.fc2.bias"), vec![d]));
            }
        };
        let t = &self.text;
        out.push(("text_model.embeddings.token_embedding.weight".into(), vec![t.vocab_size, t.hidden_size]));
        out.push(("text_model.embeddings.position_embedding.weight".into(), vec![t.context_length, t.hidden_size]));
        layers(&mut out, "text_model", t.hidden_size, t.intermediate_size, t.num_layers);
        out.push(("text_model.final_layer_norm.weight".into(), vec![t.hidden_size]));
        out.push(("text_model.final_layer_norm.bias".into(), vec![t.hidden_size]));
        let v = &self.vision;
        let positions = (v.image_size / v.patch_size).pow(2) + 1;
        out.push(("vision_model.embeddings.class_embedding".into(), vec![v.hidden_size]));
        out.push((
            "vision_model.embeddings.patch_embedding.weight".into(),
            vec![v.hidden_size, 3, v.patch_size, v.patch_size],
        ));
        out.push(("vision_model.embeddings.position_embedding.weight".into(), vec![positions, v.hidden_size]));
        out.push(("vision_model.pre_layrnorm.weight".into(), vec![v.hidden_size]));
        out.push(("vision_model.pre_layrnorm.bias".into(), vec![v.hidden_size]));
        layers(&mut out, "vision_model", v.hidden_size, v.intermediate_size, v.num_layers);
        out.push(("vision_model.post_layernorm.weight".into(), vec![v.hidden_size]));
        out.push(("vision_model.post_layernorm.bias".into(), vec![v.hidden_size]));
        out.push(("visual_projection.weight".into(), vec![self.projection_dim, v.hidden_size]));
        out.push(("text_projection.weight".into(), vec![self.projection_dim, t.hidden_size]));
        out.push(("logit_scale".into(), vec![]));
        out
    }

    /// Number of parameters.
    pub fn num_params(&self) -> usize {
        self.tensor_shapes().iter().map(|(_, s)| s.iter().product::<usize>()).sum()
    }

    fn to_candle(&self) -> cclip::ClipConfig {
        cclip::ClipConfig {
            text_config: cclip::text_model::ClipTextConfig {
                vocab_size: self.text.vocab_size,
                embed_dim: self.text.hidden_size,
                activation: cclip::text_model::Activation::QuickGelu,
                intermediate_size: self.text.intermediate_size,
                max_position_embeddings: self.text.context_length,
                pad_with: None,
                num_hidden_layers: self.text.num_layers,
                num_attention_heads: self.text.num_heads,
                projection_dim: self.projection_dim,
            },
            vision_config: cclip::vision_model::ClipVisionConfig {
                embed_dim: self.vision.hidden_size,
                activation: cclip::text_model::Activation::QuickGelu,
                intermediate_size: self.vision.intermediate_size,
                num_hidden_layers: self.vision.num_layers,
                num_attention_heads: self.vision.num_heads,
                projection_dim: self.projection_dim,
                num_channels: 3,
                image_size: self.vision.image_size,
                patch_size: self.vision.patch_size,
            },
            logit_scale_init_value: 2.6592,
            image_size: self.vision.image_size,
        }
    }
}

fn d_vocab() -> usize {
    49408
}
fn d_512() -> usize {
    512
}
fn d_2048() -> usize {
    2048
}
fn d_768() -> usize {
    768
}
fn d_3072() -> usize {
    3072
}
fn d_12() -> usize {
    12
}
fn d_8() -> usize {
    8
}
fn d_77() -> usize {
    77
}
fn d_224() -> usize {
    224
}
fn d_32() -> usize {
    32
}
fn d_act() -> String {
    "quick_gelu".into()
}
fn d_eps() -> f64 {
    1e-5
}

#[derive(Deserialize)]
struct HfText {
    #[serde(default = "d_vocab")]
    vocab_size: usize,
    #[serde(default = "d_512")]
    hidden_size: usize,
    #[serde(default = "d_2048")]
    intermediate_size: usize,
    #[serde(default = "d_12")]
    num_hidden_layers: usize,
    #[serde(default = "d_8")]
    num_attention_heads: usize,
    #[serde(default = "d_77")]
    max_position_embeddings: usize,
    #[serde(default = "d_act")]
    hidden_act: String,
}

#[derive(Deserialize)]
struct HfVision {
    #[serde(default = "d_768")]
    hidden_size: usize,
    #[serde(default = "d_3072")]
    intermediate_size: usize,
    #[serde(default = "d_12")]
    num_hidden_layers: usize,
    #[serde(default = "d_12")]
    num_attention_heads: usize,
    #[serde(default = "d_224")]
    image_size: usize,
    #[serde(default = "d_32")]
    patch_size: usize,
    #[serde(default = "d_act")]
    hidden_act: String,
    #[serde(default = "d_eps")]
    layer_norm_eps: f64,
}

#[derive(Deserialize)]
struct HfConfig {
    text_config: HfText,
    vision_config: HfVision,
    #[serde(default = "d_512")]
    projection_dim: usize,
}

/// Which implementation runs the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClipImpl {
    /// candle-transformers' `ClipModel` (QuickGELU, epsilon 1e-5 only).
    Candle,
    /// This module's transformer (any [`Activation`], any epsilon).
    Native,
    /// [`Native`](Self::Native) with every matrix product of the transformer layers in bf16
    /// (f32 accumulation) on Intel AMX tiles or AVX-512 BF16 ([`Kernel::best`]; CPUs with one
    /// of them only). Embeddings agree with the f32 ones to bf16 precision.
    NativeBf16,
}

impl ClipImpl {
    /// Candle where it can run the config, else native.
    pub fn auto(config: &ClipConfig) -> Self {
        let quick =
            config.text.activation == Activation::QuickGelu && config.vision.activation == Activation::QuickGelu;
        if quick && (config.layer_norm_eps - 1e-5).abs() < 1e-12 {
            Self::Candle
        } else {
            Self::Native
        }
    }

    /// The fastest for `config` on `device`: [`NativeBf16`](Self::NativeBf16) on a CPU with
    /// a bf16 kernel, else [`auto`](Self::auto).
    pub fn best(config: &ClipConfig, device: &Device) -> Self {
        if device.is_cpu() && Kernel::best().is_bf16() {
            Self::NativeBf16
        } else {
            Self::auto(config)
        }
    }
}

// ---- native transformer (Hugging Face CLIP layout) ----

/// A linear layer of the native transformer: candle's, or (with a bf16 [`Kernel`]) the same
/// weights packed for the AMX tiles or AVX-512 BF16, run in bf16 with f32 accumulation.
#[derive(Debug, Clone)]
struct Proj {
    linear: Linear,
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    amx: Option<std::sync::Arc<crate::tower_amx::Dense>>,
}

impl Proj {
    fn new(linear: Linear, kernel: Kernel) -> candle_core::Result<Self> {
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        {
            let (outputs, inputs) = linear.weight().dims2()?;
            let amx = match kernel.engine() {
                Some(engine) if crate::tower_amx::Dense::fits(outputs) => {
                    let w = linear.weight().to_device(&Device::Cpu)?.flatten_all()?.to_vec1::<f32>()?;
                    let b = linear.bias().map(|b| b.to_device(&Device::Cpu)?.to_vec1::<f32>()).transpose()?;
                    Some(std::sync::Arc::new(crate::tower_amx::Dense::new(engine, &w, b.as_deref(), outputs, inputs)))
                }
                _ => None,
            };
            Ok(Proj { linear, amx })
        }
        #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
        {
            let _ = kernel;
            Ok(Proj { linear })
        }
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.forward_then(x, None)
    }

    /// `act(x W^T + b)`; on the bf16 kernels a QuickGELU is applied in place on the product
    /// (no three whole-tensor candle ops, each a fresh allocation), other activations by
    /// candle.
    fn forward_act(&self, x: &Tensor, act: Activation) -> candle_core::Result<Tensor> {
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        if self.amx.is_some() && act == Activation::QuickGelu {
            return self.forward_then(x, Some(act));
        }
        act.apply(&self.forward(x)?)
    }

    fn forward_then(&self, x: &Tensor, act: Option<Activation>) -> candle_core::Result<Tensor> {
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        if let Some(d) = &self.amx {
            let x = x.contiguous()?;
            let mut dims = x.dims().to_vec();
            let k = dims.pop().unwrap_or(0);
            let m = x.elem_count() / k.max(1);
            let mut out = vec![0f32; m * d.outputs()];
            {
                let (storage, layout) = x.storage_and_layout();
                let candle_core::Storage::Cpu(cpu) = &*storage else {
                    candle_core::bail!("clip: the bf16 kernels run on the CPU only");
                };
                let (a, b) = layout.contiguous_offsets().ok_or_else(|| candle_core::Error::msg("not contiguous"))?;
                d.forward(&cpu.as_slice::<f32>()?[a..b], m, &mut out);
            }
            if act == Some(Activation::QuickGelu) {
                use rayon::prelude::*;
                out.par_chunks_mut(4096).for_each(|c| {
                    c.iter_mut().for_each(|v| *v /= 1.0 + (-1.702 * *v).exp());
                });
            }
            dims.push(d.outputs());
            return Tensor::from_vec(out, dims, x.device());
        }
        self.linear.forward(x)
    }
}

#[derive(Debug, Clone)]
struct Attention {
    q: Proj,
    k: Proj,
    v: Proj,
    out: Proj,
    heads: usize,
    scale: f64,
}

impl Attention {
    fn new(vb: VarBuilder, d: usize, heads: usize, kernel: Kernel) -> candle_core::Result<Self> {
        let proj = |name: &str| Proj::new(candle_nn::linear(d, d, vb.pp(name))?, kernel);
        Ok(Self {
            q: proj("q_proj")?,
            k: proj("k_proj")?,
            v: proj("v_proj")?,
            out: proj("out_proj")?,
            heads,
            scale: ((d / heads) as f64).powf(-0.5),
        })
    }

    fn forward(&self, x: &Tensor, mask: Option<&Tensor>) -> candle_core::Result<Tensor> {
        let (b, n, d) = x.dims3()?;
        let split = |t: Tensor| t.reshape((b, n, self.heads, d / self.heads))?.transpose(1, 2)?.contiguous();
        let q = split((self.q.forward(x)? * self.scale)?)?;
        let k = split(self.k.forward(x)?)?;
        let v = split(self.v.forward(x)?)?;
        let mut att = q.matmul(&k.t()?)?;
        if let Some(m) = mask {
            att = att.broadcast_add(m)?;
        }
        let att = candle_nn::ops::softmax_last_dim(&att)?;
        let o = att.matmul(&v)?.transpose(1, 2)?.reshape((b, n, d))?;
        self.out.forward(&o)
    }
}

#[derive(Debug, Clone)]
struct EncoderLayer {
    ln1: LayerNorm,
    attn: Attention,
    ln2: LayerNorm,
    fc1: Proj,
    fc2: Proj,
    act: Activation,
}

impl EncoderLayer {
    fn forward(&self, x: &Tensor, mask: Option<&Tensor>) -> candle_core::Result<Tensor> {
        let h = (self.attn.forward(&self.ln1.forward(x)?, mask)? + x)?;
        let m = self.fc2.forward(&self.fc1.forward_act(&self.ln2.forward(&h)?, self.act)?)?;
        m + h
    }
}

#[allow(clippy::too_many_arguments)]
fn encoder(
    vb: VarBuilder,
    d: usize,
    m: usize,
    n: usize,
    heads: usize,
    act: Activation,
    eps: f64,
    kernel: Kernel,
) -> candle_core::Result<Vec<EncoderLayer>> {
    (0..n)
        .map(|i| {
            let vb = vb.pp("encoder.layers").pp(i.to_string());
            Ok(EncoderLayer {
                ln1: candle_nn::layer_norm(d, eps, vb.pp("layer_norm1"))?,
                attn: Attention::new(vb.pp("self_attn"), d, heads, kernel)?,
                ln2: candle_nn::layer_norm(d, eps, vb.pp("layer_norm2"))?,
                fc1: Proj::new(candle_nn::linear(d, m, vb.pp("mlp.fc1"))?, kernel)?,
                fc2: Proj::new(candle_nn::linear(m, d, vb.pp("mlp.fc2"))?, kernel)?,
                act,
            })
        })
        .collect()
}

#[derive(Debug, Clone)]
struct NativeClip {
    tok: Embedding,
    tpos: Tensor,
    tlayers: Vec<EncoderLayer>,
    tfinal: LayerNorm,
    tproj: Linear,
    cls: Tensor,
    patch: Conv2d,
    vpos: Tensor,
    pre: LayerNorm,
    vlayers: Vec<EncoderLayer>,
    post: LayerNorm,
    vproj: Linear,
}

impl NativeClip {
    fn new(vb: VarBuilder, c: &ClipConfig, kernel: Kernel) -> candle_core::Result<Self> {
        let (t, v, eps) = (&c.text, &c.vision, c.layer_norm_eps);
        let tv = vb.pp("text_model");
        let vv = vb.pp("vision_model");
        let positions = (v.image_size / v.patch_size).pow(2) + 1;
        Ok(Self {
            tok: candle_nn::embedding(t.vocab_size, t.hidden_size, tv.pp("embeddings.token_embedding"))?,
            tpos: tv.get((t.context_length, t.hidden_size), "embeddings.position_embedding.weight")?,
            tlayers: encoder(
                tv.clone(),
                t.hidden_size,
                t.intermediate_size,
                t.num_layers,
                t.num_heads,
                t.activation,
                eps,
                kernel,
            )?,
            tfinal: candle_nn::layer_norm(t.hidden_size, eps, tv.pp("final_layer_norm"))?,
            tproj: candle_nn::linear_no_bias(t.hidden_size, c.projection_dim, vb.pp("text_projection"))?,
            cls: vv.get(v.hidden_size, "embeddings.class_embedding")?,
            patch: candle_nn::conv2d_no_bias(
                3,
                v.hidden_size,
                v.patch_size,
                Conv2dConfig { stride: v.patch_size, ..Default::default() },
                vv.pp("embeddings.patch_embedding"),
            )?,
            vpos: vv.get((positions, v.hidden_size), "embeddings.position_embedding.weight")?,
            pre: candle_nn::layer_norm(v.hidden_size, eps, vv.pp("pre_layrnorm"))?,
            vlayers: encoder(
                vv.clone(),
                v.hidden_size,
                v.intermediate_size,
                v.num_layers,
                v.num_heads,
                v.activation,
                eps,
                kernel,
            )?,
            post: candle_nn::layer_norm(v.hidden_size, eps, vv.pp("post_layernorm"))?,
            vproj: candle_nn::linear_no_bias(v.hidden_size, c.projection_dim, vb.pp("visual_projection"))?,
        })
    }

    fn text_features(&self, ids: &Tensor, eos: &[usize]) -> candle_core::Result<Tensor> {
        let (_, n) = ids.dims2()?;
        let mut x = self.tok.forward(ids)?.broadcast_add(&self.tpos.narrow(0, 0, n)?)?;
        let mask: Vec<f32> = (0..n).flat_map(|i| (0..n).map(move |j| if j > i { f32::MIN } else { 0.0 })).collect();
        let mask = Tensor::from_vec(mask, (n, n), ids.device())?;
        for l in &self.tlayers {
            x = l.forward(&x, Some(&mask))?;
        }
        let x = self.tfinal.forward(&x)?;
        let pooled: Vec<Tensor> =
            eos.iter().enumerate().map(|(b, &p)| x.i((b, p))).collect::<candle_core::Result<_>>()?;
        self.tproj.forward(&Tensor::stack(&pooled, 0)?)
    }

    fn image_features(&self, pixels: &Tensor) -> candle_core::Result<Tensor> {
        let b = pixels.dim(0)?;
        let patches = self.patch.forward(pixels)?.flatten_from(2)?.transpose(1, 2)?;
        let d = self.cls.dim(0)?;
        let cls = self.cls.reshape((1, 1, d))?.broadcast_as((b, 1, d))?;
        let mut x = Tensor::cat(&[&cls, &patches], 1)?.broadcast_add(&self.vpos)?;
        x = self.pre.forward(&x)?;
        for l in &self.vlayers {
            x = l.forward(&x, None)?;
        }
        self.vproj.forward(&self.post.forward(&x.i((.., 0, ..))?)?)
    }
}

enum Model {
    Candle(Box<cclip::ClipModel>),
    Native(Box<NativeClip>),
}

/// Squashes every frame to `size x size` with a Catmull-Rom (bicubic) filter (no crop,
/// aspect not kept) and normalises with [`CLIP_MEAN`] / [`CLIP_STD`]; returns NCHW values.
pub fn clip_preprocess(frames: &Frames, size: usize) -> Result<Vec<f32>> {
    ensure!(size > 0, "clip: input size must be at least 1");
    let mut out = Vec::with_capacity(frames.len() * 3 * size * size);
    for i in 0..frames.len() {
        let bytes = frames.frame(i).context("clip: frame index")?;
        let img = image::RgbImage::from_raw(frames.width() as u32, frames.height() as u32, bytes.to_vec())
            .context("clip: frame bytes do not match its size")?;
        let img = if frames.width() == size && frames.height() == size {
            img
        } else {
            image::imageops::resize(&img, size as u32, size as u32, FilterType::CatmullRom)
        };
        let raw = img.as_raw();
        for c in 0..3 {
            out.extend(raw.iter().skip(c).step_by(3).map(|&v| (v as f32 / 255.0 - CLIP_MEAN[c]) / CLIP_STD[c]));
        }
    }
    Ok(out)
}

/// Random weights for `config` by Hugging Face names (uniform `+-0.02 * sqrt(3)`, i.e. std
/// 0.02, from ChaCha8 seeded with `seed`; layer norms 1 and 0; `logit_scale` ln(100)), as
/// host (CPU) tensors. For tests and benchmarks: save with `candle_core::safetensors::save`
/// or build a [`ClipBackend`] on any device with [`ClipBackend::from_tensors_on`].
pub fn random_weights(config: &ClipConfig, seed: u64) -> Result<HashMap<String, Tensor>> {
    config.validate()?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let dev = Device::Cpu; // host tensors; a backend copies them to its device
    let bound = 0.02f32 * 3f32.sqrt();
    let mut out = HashMap::new();
    for (name, shape) in config.tensor_shapes() {
        let n: usize = shape.iter().product();
        let is_norm = name.contains("layer_norm") || name.contains("layrnorm") || name.contains("layernorm");
        let values: Vec<f32> = if name == "logit_scale" {
            vec![100f32.ln()]
        } else if is_norm && name.ends_with(".weight") {
            vec![1.0; n]
        } else if is_norm {
            vec![0.0; n]
        } else {
            (0..n).map(|_| rng.random_range(-bound..bound)).collect()
        };
        out.insert(name, Tensor::from_vec(values, shape, &dev)?);
    }
    Ok(out)
}

/// Builds a `tokenizer.json` text for a whitespace word-level vocabulary (lower-cased), with
/// CLIP's `<|startoftext|>` / `<|endoftext|>` added around every text. Ids: `!` (the pad
/// id 0, as OpenAI pads), the words in order, `<unk>`, start, end (end is the largest id, as
/// in CLIP's vocabulary, so argmax pooling finds it). For tests and benchmarks.
pub fn word_level_tokenizer_json(words: &[&str]) -> String {
    let mut vocab = serde_json::Map::new();
    let mut add = |w: &str| {
        if !vocab.contains_key(w) {
            let id = vocab.len();
            vocab.insert(w.to_string(), id.into());
        }
    };
    add("!");
    words.iter().for_each(|w| add(&w.to_lowercase()));
    add("<unk>");
    add("<|startoftext|>");
    add("<|endoftext|>");
    let sot = vocab.len() - 2;
    let eot = vocab.len() - 1;
    let special = |id: usize, s: &str| {
        serde_json::json!({"id": id, "content": s, "single_word": false, "lstrip": false, "rstrip": false,
            "normalized": false, "special": true})
    };
    let seq = |k: &str| serde_json::json!({"Sequence": {"id": k, "type_id": 0}});
    let tok = |s: &str| serde_json::json!({"SpecialToken": {"id": s, "type_id": 0}});
    serde_json::json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [special(sot, "<|startoftext|>"), special(eot, "<|endoftext|>")],
        "normalizer": {"type": "Lowercase"},
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [tok("<|startoftext|>"), seq("A"), tok("<|endoftext|>")],
            "pair": [tok("<|startoftext|>"), seq("A"), seq("B"), tok("<|endoftext|>")],
            "special_tokens": {
                "<|startoftext|>": {"id": "<|startoftext|>", "ids": [sot], "tokens": ["<|startoftext|>"]},
                "<|endoftext|>": {"id": "<|endoftext|>", "ids": [eot], "tokens": ["<|endoftext|>"]}
            }
        },
        "decoder": null,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "<unk>"}
    })
    .to_string()
}

/// The CLIP backend: texts and frames into CLIP's shared space.
pub struct ClipBackend {
    model: Model,
    tokenizer: Option<Tokenizer>,
    config: ClipConfig,
    implementation: ClipImpl,
    device: Device,
}

impl std::fmt::Debug for ClipBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClipBackend")
            .field("config", &self.config)
            .field("implementation", &self.implementation)
            .finish_non_exhaustive()
    }
}

impl ClipBackend {
    /// Loads `model.safetensors` and `tokenizer.json` from `dir` onto the CPU
    /// ([`load_on`](Self::load_on)).
    pub fn load(dir: &Path, config: Option<ClipConfig>) -> Result<Self> {
        Self::load_on(dir, config, &Device::Cpu)
    }

    /// Loads `model.safetensors` and `tokenizer.json` from `dir` onto `device`. The shape
    /// comes from `config` when given, else from `dir/config.json` (Hugging Face
    /// `CLIPConfig`). Errors name the missing file or the tensor that does not fit.
    pub fn load_on(dir: &Path, config: Option<ClipConfig>, device: &Device) -> Result<Self> {
        let d = dir.display();
        let weights = dir.join("model.safetensors");
        let tok_path = dir.join("tokenizer.json");
        ensure!(weights.is_file(), "clip: model.safetensors is missing in {d} (no CLIP weights ship with vlmgym)");
        ensure!(tok_path.is_file(), "clip: tokenizer.json is missing in {d}");
        let config = match config {
            Some(c) => c,
            None => {
                let p = dir.join("config.json");
                ensure!(p.is_file(), "clip: no config.json in {d}; pass a named config (e.g. ViT-B-32)");
                let text = std::fs::read_to_string(&p).with_context(|| format!("clip: cannot read {}", p.display()))?;
                ClipConfig::from_hf_json(&text).with_context(|| format!("clip: {}", p.display()))?
            }
        };
        config.validate()?;
        let tokenizer =
            Tokenizer::from_file(&tok_path).map_err(|e| anyhow!("clip: cannot load {}: {e}", tok_path.display()))?;
        // SAFETY: the file is memory-mapped read-only and must not change while the model lives.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, device) }
            .with_context(|| format!("clip: cannot read {} (corrupt or not safetensors?)", weights.display()))?;
        Self::from_varbuilder(vb, config, Some(tokenizer), None)
            .with_context(|| format!("clip: {} does not hold this CLIP config", weights.display()))
    }

    /// Builds the backend on the CPU from named tensors in memory
    /// ([`from_tensors_on`](Self::from_tensors_on)).
    pub fn from_tensors(
        tensors: HashMap<String, Tensor>,
        config: ClipConfig,
        tokenizer: Option<Tokenizer>,
        implementation: Option<ClipImpl>,
    ) -> Result<Self> {
        Self::from_tensors_on(tensors, config, tokenizer, implementation, &Device::Cpu)
    }

    /// Builds the backend on `device` from named tensors in memory on any device (e.g.
    /// [`random_weights`]); they are copied to `device` as the model takes them.
    pub fn from_tensors_on(
        tensors: HashMap<String, Tensor>,
        config: ClipConfig,
        tokenizer: Option<Tokenizer>,
        implementation: Option<ClipImpl>,
        device: &Device,
    ) -> Result<Self> {
        let vb = VarBuilder::from_tensors(tensors, DType::F32, device);
        Self::from_varbuilder(vb, config, tokenizer, implementation)
    }

    /// Builds the backend from a var builder with Hugging Face names, on the var builder's
    /// device. `implementation`
    /// `None` picks [`ClipImpl::auto`]; asking for [`ClipImpl::Candle`] with a config it
    /// cannot run is an error. Without a tokenizer, [`Backend::embed_texts`] errors (images
    /// and [`embed_token_ids`](Self::embed_token_ids) still work).
    pub fn from_varbuilder(
        vb: VarBuilder,
        config: ClipConfig,
        tokenizer: Option<Tokenizer>,
        implementation: Option<ClipImpl>,
    ) -> Result<Self> {
        config.validate()?;
        let implementation = implementation.unwrap_or_else(|| ClipImpl::best(&config, vb.device()));
        ensure!(
            !(implementation == ClipImpl::Candle && ClipImpl::auto(&config) != ClipImpl::Candle),
            "clip: candle's ClipModel only runs QuickGELU with layer-norm epsilon 1e-5; use the native implementation"
        );
        ensure!(
            implementation != ClipImpl::NativeBf16 || (vb.device().is_cpu() && Kernel::best().is_bf16()),
            "clip: the native-bf16 implementation needs a CPU with AMX or AVX-512 BF16 (this device has neither); use native"
        );
        // Check every tensor up front so a wrong checkpoint names the first misfit.
        for (name, shape) in config.tensor_shapes() {
            if name == "logit_scale" {
                continue;
            }
            ensure!(vb.contains_tensor(&name), "clip: tensor `{name}` is missing");
            vb.get(shape.clone(), &name)
                .with_context(|| format!("clip: tensor `{name}` should have shape {shape:?}"))?;
        }
        let device = vb.device().clone();
        let model = match implementation {
            ClipImpl::Candle => Model::Candle(Box::new(cclip::ClipModel::new(vb, &config.to_candle())?)),
            ClipImpl::Native => Model::Native(Box::new(NativeClip::new(vb, &config, Kernel::F32Gemm)?)),
            ClipImpl::NativeBf16 => Model::Native(Box::new(NativeClip::new(vb, &config, Kernel::best())?)),
        };
        Ok(Self { model, tokenizer, config, implementation, device })
    }

    /// A backend on the CPU with [`random_weights`] ([`random_on`](Self::random_on)).
    pub fn random(config: ClipConfig, seed: u64, tokenizer: Option<Tokenizer>) -> Result<Self> {
        Self::random_on(config, seed, tokenizer, &Device::Cpu)
    }

    /// A backend on `device` with [`random_weights`] (for benchmarks and tests).
    pub fn random_on(config: ClipConfig, seed: u64, tokenizer: Option<Tokenizer>, device: &Device) -> Result<Self> {
        let t = random_weights(&config, seed)?;
        Self::from_tensors_on(t, config, tokenizer, None, device)
    }

    /// The device the model runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The model's config.
    pub fn config(&self) -> &ClipConfig {
        &self.config
    }

    /// Which implementation runs the model.
    pub fn implementation(&self) -> ClipImpl {
        self.implementation
    }

    /// Token ids of each text with start/end tokens, truncated to the context length (the
    /// last id, the end token, kept). Errors without a tokenizer or on an empty list.
    pub fn tokenize(&self, texts: &[String]) -> Result<Vec<Vec<u32>>> {
        ensure!(!texts.is_empty(), "clip: no texts to embed");
        let tok = self.tokenizer.as_ref().context("clip: no tokenizer.json loaded; cannot embed texts")?;
        let ctx = self.config.text.context_length;
        texts
            .iter()
            .map(|t| {
                let enc = tok.encode(t.as_str(), true).map_err(|e| anyhow!("clip: cannot tokenize {t:?}: {e}"))?;
                let mut ids = enc.get_ids().to_vec();
                ensure!(!ids.is_empty(), "clip: {t:?} tokenized to nothing");
                if ids.len() > ctx {
                    let last = *ids.last().unwrap_or(&0);
                    ids.truncate(ctx);
                    ids[ctx - 1] = last;
                }
                Ok(ids)
            })
            .collect()
    }

    /// Embeds token id sequences (each ending in the end-of-text token, the largest id),
    /// padded with id 0 to `pad_to` tokens (`None`: the context length). Pooling is at the
    /// first largest id of each sequence.
    pub fn embed_token_ids(&self, ids: &[Vec<u32>], pad_to: Option<usize>) -> Result<Embeddings> {
        ensure!(!ids.is_empty(), "clip: no token sequences");
        let ctx = self.config.text.context_length;
        let longest = ids.iter().map(Vec::len).max().unwrap_or(0);
        let len = pad_to.unwrap_or(ctx);
        ensure!(longest > 0, "clip: empty token sequence");
        ensure!(
            longest <= len && len <= ctx,
            "clip: sequences of {longest} tokens cannot be padded to {len} (context {ctx})"
        );
        let vocab = self.config.text.vocab_size as u32;
        if let Some(bad) = ids.iter().flatten().find(|&&i| i >= vocab) {
            bail!("clip: token id {bad} outside the vocabulary of {vocab}");
        }
        let mut rows = Vec::with_capacity(ids.len() * self.config.projection_dim);
        for chunk in ids.chunks(CHUNK) {
            let mut flat = Vec::with_capacity(chunk.len() * len);
            let mut eos = Vec::with_capacity(chunk.len());
            for s in chunk {
                let max = *s.iter().max().unwrap_or(&0);
                eos.push(s.iter().position(|&i| i == max).unwrap_or(0));
                flat.extend_from_slice(s);
                flat.extend(std::iter::repeat_n(0u32, len - s.len()));
            }
            let t = Tensor::from_vec(flat, (chunk.len(), len), &self.device)?;
            let f = match &self.model {
                Model::Candle(m) => m.get_text_features(&t)?,
                Model::Native(m) => m.text_features(&t, &eos)?,
            };
            rows.extend(f.flatten_all()?.to_vec1::<f32>()?);
        }
        Embeddings::from_rows(rows, ids.len(), self.config.projection_dim).context("clip: text embeddings")
    }
}

impl Backend for ClipBackend {
    fn embed_texts(&self, texts: &[String]) -> Result<Embeddings> {
        let ids = self.tokenize(texts)?;
        self.embed_token_ids(&ids, None)
    }

    fn embed_images(&self, frames: &Frames) -> Result<Embeddings> {
        let s = self.config.vision.image_size;
        let per = 3 * s * s;
        let pixels = clip_preprocess(frames, s)?;
        let mut rows = Vec::with_capacity(frames.len() * self.config.projection_dim);
        for chunk in pixels.chunks(CHUNK * per) {
            let t = Tensor::from_slice(chunk, (chunk.len() / per, 3, s, s), &self.device)?;
            let f = match &self.model {
                Model::Candle(m) => m.get_image_features(&t)?,
                Model::Native(m) => m.image_features(&t)?,
            };
            rows.extend(f.flatten_all()?.to_vec1::<f32>()?);
        }
        Embeddings::from_rows(rows, frames.len(), self.config.projection_dim).context("clip: image embeddings")
    }

    fn dim(&self) -> usize {
        self.config.projection_dim
    }
}

/// Writes a model folder [`ClipBackend::load`] reads: [`random_weights`] of `config` drawn
/// from `seed` (`model.safetensors`), a word-level tokenizer of `words`
/// ([`word_level_tokenizer_json`]) and `config.json`. The same compute as a pretrained model
/// of that shape, for trying the `--clip` commands and for tests (no pretrained CLIP ships
/// with vlmgym). The vocabulary must fit `config` (`words.len() + 4` tokens).
pub fn write_random_model(dir: &Path, config: &ClipConfig, seed: u64, words: &[&str]) -> Result<()> {
    ensure!(
        words.len() + 4 == config.text.vocab_size,
        "clip: {} words make {} tokens, the config has a vocabulary of {}",
        words.len(),
        words.len() + 4,
        config.text.vocab_size
    );
    std::fs::create_dir_all(dir).with_context(|| format!("clip: cannot create {}", dir.display()))?;
    candle_core::safetensors::save(&random_weights(config, seed)?, dir.join("model.safetensors"))?;
    std::fs::write(dir.join("tokenizer.json"), word_level_tokenizer_json(words))?;
    std::fs::write(dir.join("config.json"), config.to_hf_json())?;
    Ok(())
}

/// A 2-layer CLIP with 32-px images, 16-d projections and the given activation (tests).
pub fn tiny_config(vocab_size: usize, activation: Activation) -> ClipConfig {
    ClipConfig {
        text: ClipTextSpec {
            vocab_size,
            hidden_size: 32,
            intermediate_size: 64,
            num_layers: 2,
            num_heads: 4,
            context_length: 16,
            activation,
        },
        vision: ClipVisionSpec {
            hidden_size: 32,
            intermediate_size: 64,
            num_layers: 2,
            num_heads: 4,
            image_size: 32,
            patch_size: 8,
            activation,
        },
        projection_dim: 16,
        layer_norm_eps: 1e-5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_configs() {
        for n in NAMED_CONFIGS {
            ClipConfig::named(n).unwrap().validate().unwrap();
        }
        let b32 = ClipConfig::named("vit-b/32").unwrap();
        // ViT-B/32 has 151,277,313 parameters (OpenAI's count).
        assert_eq!(b32.num_params(), 151_277_313);
        assert_eq!(ClipImpl::auto(&b32), ClipImpl::Candle);
        assert_eq!(ClipImpl::auto(&ClipConfig::named("ViT-H-14").unwrap()), ClipImpl::Native);
        assert!(ClipConfig::named("ViT-X").unwrap_err().to_string().contains("ViT-bigG-14"));
    }

    #[test]
    fn hf_config_json() {
        let json = r#"{"projection_dim": 1024,
            "text_config": {"hidden_size": 1024, "intermediate_size": 4096, "num_attention_heads": 16,
                            "num_hidden_layers": 24, "hidden_act": "gelu"},
            "vision_config": {"hidden_size": 1280, "intermediate_size": 5120, "num_attention_heads": 16,
                              "num_hidden_layers": 32, "patch_size": 14, "hidden_act": "gelu"}}"#;
        assert_eq!(ClipConfig::from_hf_json(json).unwrap(), ClipConfig::named("ViT-H-14").unwrap());
        let bad = json.replace("\"gelu\"", "\"relu\"");
        assert!(ClipConfig::from_hf_json(&bad).unwrap_err().to_string().contains("relu"));
    }

    #[test]
    fn preprocess_squashes_and_normalises() {
        // A uniform 10x30 frame stays uniform after the squash; value 255 -> (1 - mean) / std.
        let f = Frames::new(vec![255; 10 * 30 * 3], 1, 10, 30).unwrap();
        let v = clip_preprocess(&f, 8).unwrap();
        assert_eq!(v.len(), 3 * 64);
        for c in 0..3 {
            let want = (1.0 - CLIP_MEAN[c]) / CLIP_STD[c];
            assert!(v[c * 64..(c + 1) * 64].iter().all(|x| (x - want).abs() < 1e-5));
        }
    }
}
