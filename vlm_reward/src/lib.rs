//! vlmgym-reward: vision-language reward models.
//!
//! This first slice has:
//! - [`backend`]: the [`Backend`] trait (texts and frames to unit-length embeddings), the
//!   [`Embeddings`] and [`Frames`] types and a per-text embedding cache;
//! - [`score`]: VLM-RL's contrasting-language-goal reward ([`ClgScore`]) and VLM-RMs'
//!   goal-baseline projection reward ([`VlmRmScore`]), batched over frame embeddings;
//! - [`goal`]: goal specs in TOML ([`GoalSpec`]);
//! - [`simlit`]: the all-MiniLM-L6-v2 text encoder on candle ([`SimlitEncoder`]).
//!
//! Image towers (CLIP, the simlit image tower), calibration and reward-model training are
//! not here yet.

pub mod backend;
pub mod clip;
pub mod dataset;
pub mod diagnostics;
pub mod goal;
pub mod score;
pub mod simlit;
pub mod synthesis;
pub mod tower;
pub mod train;

pub use backend::{bench_embed_images, Backend, Embeddings, Frames, ImageBench, TextEmbeddingCache};
pub use clip::{ClipBackend, ClipConfig, ClipImpl};
pub use dataset::{Caption, Dataset, DatasetWriter, Sample, Split};
pub use goal::{ClgSpec, GoalSpec, VlmRmSpec};
pub use score::{ClgScore, GoalScore, VlmRmScore, DEFAULT_CLG_WINDOW};
pub use simlit::{SimlitBackend, SimlitEncoder};
pub use synthesis::{Evaluation, RewardSpec, StepInput, Synthesizer};
pub use tower::{ImageTower, TowerConfig};
pub use train::{evaluate_retrieval, train_tower, TrainConfig, TrainReport};
