//! `vlmgym rollout`: run an env with a random or scripted policy and write one JSON line
//! per step.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value as Json};
use vlmgym_envs::{make_with, Options, Value};

use crate::language_reward::{LiveReward, RewardSettings};

/// Where the actions come from.
pub enum Policy {
    /// Uniform samples from the action space, seeded from the rollout seed.
    Random,
    /// These actions, in order (JSON values read against the action space).
    Scripted(Vec<Json>),
}

/// What to roll out.
pub struct RolloutArgs<'a> {
    /// Registered env id.
    pub env_id: &'a str,
    /// Constructor kwargs.
    pub kwargs: Options,
    /// Seed of the first reset (later episodes continue the env's generator).
    pub seed: u64,
    /// Number of steps to take (episodes that end are reset and continued).
    pub steps: usize,
    /// Exact start state of the first episode.
    pub init_state: Option<Vec<f64>>,
    /// The policy.
    pub policy: Policy,
    /// A language reward to score each step with (on the CPU).
    pub reward: Option<RewardSettings>,
}

/// Summary of a finished rollout.
#[derive(Debug, PartialEq)]
pub struct RolloutSummary {
    /// Steps written.
    pub steps: usize,
    /// Undiscounted return of each episode that ended.
    pub episode_returns: Vec<f64>,
}

/// Reads a JSON array of actions from a file.
pub fn read_actions(path: &Path) -> Result<Vec<Json>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read actions file {}", path.display()))?;
    let json: Json =
        serde_json::from_str(&text).with_context(|| format!("actions file {} is not valid JSON", path.display()))?;
    match json {
        Json::Array(a) => Ok(a),
        _ => bail!("actions file {} must hold a JSON array of actions, one per step", path.display()),
    }
}

/// A checked rollout, ready to run: the env is made and reset and every scripted action
/// has been validated, so bad input fails before any output file is created.
pub struct Rollout {
    env: Box<dyn vlmgym_envs::Env>,
    actions: Option<Vec<Value>>,
    steps: usize,
    rng: ChaCha8Rng,
    reward: Option<LiveReward>,
}

impl Rollout {
    /// Makes and resets the env and validates the arguments.
    pub fn prepare(args: RolloutArgs<'_>) -> Result<Self> {
        if args.steps == 0 {
            bail!("--steps must be at least 1");
        }
        let mut env = make_with(args.env_id, &args.kwargs)?;
        let actions = match &args.policy {
            Policy::Random => None,
            Policy::Scripted(a) => {
                if a.len() < args.steps {
                    bail!("the actions file has {} actions but --steps asks for {}", a.len(), args.steps);
                }
                let space = env.action_space();
                let parsed = a[..args.steps]
                    .iter()
                    .enumerate()
                    .map(|(i, x)| {
                        space
                            .value_from_json(x)
                            .and_then(|v| space.check_action(&v).map(|()| v))
                            .with_context(|| format!("action {i} (`{x}`) of the actions file"))
                    })
                    .collect::<Result<Vec<Value>>>()?;
                Some(parsed)
            }
        };
        let mut options = Options::new();
        if let Some(s) = &args.init_state {
            options.insert("init_state".into(), json!(s));
        }
        let reward = args
            .reward
            .as_ref()
            .map(|s| LiveReward::new(s, args.env_id, &args.kwargs, &vlmgym_agents::Device::Cpu))
            .transpose()?;
        env.reset(Some(args.seed), &options)?;
        let rng = ChaCha8Rng::seed_from_u64(args.seed.wrapping_add(0x9e37_79b9_7f4a_7c15));
        Ok(Rollout { env, actions, steps: args.steps, rng, reward })
    }

    /// Runs it, writing one JSON object per step to `out`:
    /// `{"step", "episode", "obs", "action", "reward", "terminated", "truncated", "info"}`,
    /// where `obs` is the observation the step returned; with a language reward also
    /// `language_reward` and `language_terms` (each term by name, `semantic_score` first).
    /// Episodes that end are reset and continued. Lines already written stay written if a
    /// later step fails.
    pub fn run(mut self, out: &mut impl Write) -> Result<RolloutSummary> {
        let (mut episode, mut ret) = (0u64, 0.0);
        let mut summary = RolloutSummary { steps: 0, episode_returns: Vec::new() };
        for i in 0..self.steps {
            let action = match &self.actions {
                Some(a) => a[i].clone(),
                None => self.env.action_space().sample(&mut self.rng),
            };
            let step = self
                .env
                .step(&action)
                .with_context(|| format!("step {i} failed; the {i} steps before it were written"))?;
            let mut line = json!({
                "step": i,
                "episode": episode,
                "obs": step.obs.to_json(),
                "action": action.to_json(),
                "reward": step.reward,
                "terminated": step.terminated,
                "truncated": step.truncated,
                "info": step.info,
            });
            if let Some(live) = &mut self.reward {
                let scene = self.env.scene().context("a language reward needs an env with a Scene")?;
                let (reward, terms) = live
                    .score(scene, &step.info, step.terminated, step.truncated)
                    .with_context(|| format!("scoring step {i}; the {i} steps before it were written"))?;
                line["language_reward"] = json!(reward);
                line["language_terms"] = Json::Object(terms.into_iter().map(|(k, v)| (k, json!(v))).collect());
            }
            writeln!(out, "{line}")?;
            summary.steps += 1;
            ret += step.reward;
            if step.done() {
                summary.episode_returns.push(ret);
                ret = 0.0;
                episode += 1;
                self.env.reset(None, &Options::new())?;
                if let Some(live) = &mut self.reward {
                    live.start_episode()?;
                }
            }
        }
        out.flush()?;
        Ok(summary)
    }
}
