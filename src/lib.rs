//! vlmgym: embodied reinforcement-learning environments whose rewards come from a
//! vision-language model reading a natural-language goal.
//!
//! This crate holds the `vlmgym` command-line tool and re-exports the workspace's crates:
//! [`envs`] (the Gymnasium-style core and every environment) and [`agents`] (PPO).

pub mod bench;
pub mod dataset;
pub mod language_reward;
pub mod render;
pub mod results;
pub mod reward_model;
pub mod rollout;
pub mod train;
#[cfg(feature = "bevy")]
pub mod view;

pub use vlmgym_agents as agents;
pub use vlmgym_envs as envs;
pub use vlmgym_render as render_backend;
pub use vlmgym_reward as reward;
