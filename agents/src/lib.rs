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

/// Sets `RAYON_NUM_THREADS`, when it is unset, to the thread count candle picks by default.
///
/// candle asks for its thread count on every CPU matrix product, and without
/// `RAYON_NUM_THREADS` it counts physical cores by parsing `/proc/cpuinfo` each time: a fifth
/// of PPO's time on CartPole. Call it at the start of `main`, before any thread starts (it
/// sets an environment variable). Rayon's global pool then gets that many threads too (the
/// same number wherever cores have one hardware thread each).
pub fn cache_thread_count() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let n = candle_core::utils::get_num_threads();
        std::env::set_var("RAYON_NUM_THREADS", n.to_string());
    }
}
