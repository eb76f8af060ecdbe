//! vlmgym-agents: PPO (then SAC) on candle, rollout buffers, checkpoints and logging.
//!
//! This crate is laid out by the workspace issue and filled by the agents issue; it has no
//! public items yet.
