//! Episode bookkeeping: the time limit and the episode statistics.

use std::collections::VecDeque;
use std::time::Instant;

use super::{inner_accessors, Wrapper};
use crate::env::{Env, Info, Options, Step};
use crate::error::Result;
use crate::spaces::Value;

/// Truncates episodes after `max_episode_steps` steps (Gymnasium's `TimeLimit`).
pub struct TimeLimit<E> {
    env: E,
    max_episode_steps: u64,
    elapsed_steps: u64,
}

impl<E: Env> TimeLimit<E> {
    /// Wraps `env`; `max_episode_steps` must be positive.
    pub fn new(env: E, max_episode_steps: u64) -> Self {
        assert!(max_episode_steps > 0, "max_episode_steps must be positive");
        TimeLimit { env, max_episode_steps, elapsed_steps: 0 }
    }

    /// The step limit.
    pub fn max_episode_steps(&self) -> u64 {
        self.max_episode_steps
    }

    /// Steps taken in the current episode.
    pub fn elapsed_steps(&self) -> u64 {
        self.elapsed_steps
    }

    inner_accessors!();
}

impl<E: Env> Wrapper for TimeLimit<E> {
    inner_accessors!(Wrapper);

    fn reset(&mut self, seed: Option<u64>, options: &Options) -> Result<(Value, Info)> {
        self.elapsed_steps = 0;
        self.env.reset(seed, options)
    }

    fn step(&mut self, action: &Value) -> Result<Step> {
        let mut step = self.env.step(action)?;
        self.elapsed_steps += 1;
        if self.elapsed_steps >= self.max_episode_steps {
            step.truncated = true;
        }
        Ok(step)
    }
}
crate::impl_env_for_wrapper!(TimeLimit);

/// One finished episode's statistics.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpisodeStats {
    /// Undiscounted return.
    pub r: f64,
    /// Length in steps.
    pub l: u64,
    /// Wall-clock duration in seconds.
    pub t: f64,
}

/// Adds `info["episode"] = {"r": return, "l": length, "t": seconds}` on the step that
/// ends an episode and keeps the last `buffer_length` episodes (Gymnasium's
/// `RecordEpisodeStatistics`).
pub struct RecordEpisodeStatistics<E> {
    env: E,
    episode_return: f64,
    episode_length: u64,
    episode_start: Instant,
    episode_count: u64,
    history: VecDeque<EpisodeStats>,
    buffer_length: usize,
}

impl<E: Env> RecordEpisodeStatistics<E> {
    /// Wraps `env`, remembering the last 100 episodes.
    pub fn new(env: E) -> Self {
        Self::with_buffer_length(env, 100)
    }

    /// Wraps `env`, remembering the last `buffer_length` episodes.
    pub fn with_buffer_length(env: E, buffer_length: usize) -> Self {
        RecordEpisodeStatistics {
            env,
            episode_return: 0.0,
            episode_length: 0,
            episode_start: Instant::now(),
            episode_count: 0,
            history: VecDeque::with_capacity(buffer_length),
            buffer_length,
        }
    }

    /// The most recent finished episodes, oldest first.
    pub fn history(&self) -> &VecDeque<EpisodeStats> {
        &self.history
    }

    /// Number of finished episodes.
    pub fn episode_count(&self) -> u64 {
        self.episode_count
    }

    inner_accessors!();
}

impl<E: Env> Wrapper for RecordEpisodeStatistics<E> {
    inner_accessors!(Wrapper);

    fn reset(&mut self, seed: Option<u64>, options: &Options) -> Result<(Value, Info)> {
        let out = self.env.reset(seed, options)?;
        self.episode_return = 0.0;
        self.episode_length = 0;
        self.episode_start = Instant::now();
        Ok(out)
    }

    fn step(&mut self, action: &Value) -> Result<Step> {
        let mut step = self.env.step(action)?;
        self.episode_return += step.reward;
        self.episode_length += 1;
        if step.done() {
            let stats = EpisodeStats {
                r: self.episode_return,
                l: self.episode_length,
                t: self.episode_start.elapsed().as_secs_f64(),
            };
            step.info.insert("episode".into(), serde_json::json!({"r": stats.r, "l": stats.l, "t": stats.t}));
            if self.history.len() == self.buffer_length {
                self.history.pop_front();
            }
            if self.buffer_length > 0 {
                self.history.push_back(stats);
            }
            self.episode_count += 1;
            self.episode_return = 0.0;
            self.episode_length = 0;
            self.episode_start = Instant::now();
        }
        Ok(step)
    }
}
crate::impl_env_for_wrapper!(RecordEpisodeStatistics);
