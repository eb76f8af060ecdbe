//! vlmgym-agents: PPO on candle with CleanRL's defaults and details, trained on any
//! registered env through the threaded vector env, with a hook that replaces a rollout's
//! rewards before advantages are computed (where the language reward plugs in),
//! checkpoints that resume bit-identically, and metrics and plots.

pub mod checkpoint;
pub mod config;
pub mod metrics;
pub mod nn;
pub mod normalize;
pub mod policy;
pub mod ppo;
pub mod rollout;

pub use checkpoint::{load_policy, Checkpoint, PolicyBundle};
pub use config::PpoConfig;
pub use policy::{ActionKind, ActorCritic, Arch};
pub use ppo::{EpisodeRecord, IterationStats, Ppo, RunSpec};
pub use rollout::{RewardHook, Rollout};
