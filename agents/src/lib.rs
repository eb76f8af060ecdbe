//! vlmgym-agents: PPO and SAC on candle with CleanRL's defaults and details, trained on any
//! registered env through the threaded vector env, with a hook that replaces a rollout's
//! rewards before advantages are computed (where the language reward plugs in),
//! checkpoints that resume bit-identically, and metrics and plots.
//!
//! PPO's networks run on the candle [`Device`] the caller passes ([`Ppo::new_on`],
//! [`Checkpoint::resume_on`], [`load_policy_on`]); the functions without `_on` use the CPU.
//! With the `cuda` feature candle is built with CUDA support. SAC's small MLPs run on the
//! host ([`host_nn`]: hand-written backward passes over `gemm`), where they are fastest.

pub mod checkpoint;
pub mod config;
pub mod host_nn;
pub mod metrics;
pub mod nn;
pub mod normalize;
pub mod policy;
pub mod ppo;
pub mod rollout;
pub mod sac;
pub mod sac_config;

/// The candle device type, re-exported so callers need not depend on candle.
pub use candle_core::Device;
pub use checkpoint::{load_policy, load_policy_on, Checkpoint, PolicyBundle};
pub use config::PpoConfig;
pub use policy::{ActionKind, ActorCritic, Arch};
pub use ppo::{EpisodeRecord, IterationStats, Ppo, RunSpec};
pub use rollout::{RewardHook, Rollout};
pub use sac::{Sac, SacSpec, SacStats};
pub use sac_config::SacConfig;
