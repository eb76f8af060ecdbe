//! vlmgym-reward: vision-language reward models.
//!
//! - [`backend`]: the [`Backend`] trait (texts and frames to unit-length embeddings), the
//!   [`Embeddings`] type, a per-text embedding cache and an image-throughput bench;
//! - [`score`]: VLM-RL's contrasting-language-goal reward ([`ClgScore`]), VLM-RMs'
//!   goal-baseline projection reward ([`VlmRmScore`]) and cosine similarity, as one
//!   [`GoalScore`] batched over frame embeddings;
//! - [`goal`]: goal specs in TOML ([`GoalSpec`]);
//! - [`synthesis`]: declarative reward synthesis in TOML ([`RewardSpec`], [`Synthesizer`]);
//! - [`pipeline`]: the one language-reward pipeline (frames -> embeddings -> goal score ->
//!   synthesis) that training, the viewer and `reward-check` share ([`RewardPipeline`]);
//! - [`diagnostics`]: correlations, EPIC distance, ROC AUC, histograms, CLG calibration;
//! - [`dataset`]: caption datasets of rendered frames (`frames.safetensors` + `meta.json`).
//!
//! With the `models` feature (on by default), the models that run on candle:
//! - [`text_head`]: a residual map on the text side, trained against a frozen tower so goals
//!   in words it never learnt land where their facts' frames are ([`TextHead`]);
//! - [`simlit`]: the all-MiniLM-L6-v2 text encoder and the [`SimlitBackend`];
//! - [`tower`]: the simlit image tower ([`tower_cpu`]: its inference laid out for the CPU); [`train`]: its LiT-style contrastive training and
//!   retrieval evaluation;
//! - [`clip`]: CLIP (OpenAI QuickGELU and LAION GELU configs) as a backend;
//! - [`device`]: `cpu` / `cuda:N` device selection (CUDA with the `cuda` feature).

pub mod backend;
#[cfg(feature = "models")]
pub mod clip;
pub mod dataset;
#[cfg(feature = "models")]
pub mod device;
pub mod diagnostics;
pub mod goal;
pub mod pipeline;
pub mod score;
#[cfg(feature = "models")]
pub mod simlit;
pub mod synthesis;
#[cfg(feature = "models")]
pub mod text_head;
#[cfg(feature = "models")]
pub mod tower;
#[cfg(all(feature = "models", target_arch = "x86_64", target_os = "linux"))]
mod tower_amx;
#[cfg(feature = "models")]
pub mod tower_cpu;
#[cfg(feature = "models")]
pub mod train;

pub use backend::{bench_embed_images, Backend, Embeddings, Frames, ImageBench, TextEmbeddingCache};
#[cfg(feature = "models")]
pub use clip::{ClipBackend, ClipConfig, ClipImpl};
pub use dataset::{Caption, Dataset, DatasetWriter, Sample, Split};
#[cfg(feature = "models")]
pub use device::parse_device;
pub use goal::{ClgSpec, GoalSpec, VlmRmSpec};
pub use pipeline::{RewardPipeline, ScoredStep};
pub use score::{ClgScore, GoalScore, VlmRmScore, DEFAULT_CLG_WINDOW};
#[cfg(feature = "models")]
pub use simlit::{SimlitBackend, SimlitEncoder};
pub use synthesis::{Evaluation, RewardSpec, StepInput, Synthesizer};
#[cfg(feature = "models")]
pub use text_head::{head_path, HeadConfig, TextHead};
#[cfg(feature = "models")]
pub use tower::{ImageTower, TowerConfig};
#[cfg(feature = "models")]
pub use train::{evaluate_retrieval, train_tower, TrainConfig, TrainReport};
