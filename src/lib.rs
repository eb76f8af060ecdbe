//! vlmgym: embodied reinforcement-learning environments whose rewards come from a
//! vision-language model reading a natural-language goal.
//!
//! This crate holds the `vlmgym` command-line tool and re-exports the workspace's crates:
//! [`envs`] (the Gymnasium-style core and every environment).

pub mod bench;
pub mod rollout;

pub use vlmgym_envs as envs;
