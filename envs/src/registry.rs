//! The environment registry: ids like `CartPole-v1` mapped to constructors, with the
//! registered time limit and reward threshold, after `gymnasium.make`.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock, RwLock};

use crate::classic;
use crate::driving;
use crate::env::{Env, Options};
use crate::error::{EnvError, Result};
use crate::metadata::EnvMetadata;
use crate::wrappers::TimeLimit;
use crate::{locomotion, manipulation, navigation};

/// Builds an env from its kwargs.
pub type EnvFactory = Arc<dyn Fn(&Options) -> Result<Box<dyn Env>> + Send + Sync>;

/// How to make a registered env (Gymnasium's `EnvSpec`).
#[derive(Clone)]
pub struct EnvSpec {
    /// The id, e.g. `CartPole-v1`.
    pub id: String,
    /// Makes the unwrapped env from kwargs.
    pub entry_point: EnvFactory,
    /// Episodes are truncated after this many steps (a `TimeLimit` is applied by `make`).
    pub max_episode_steps: Option<u64>,
    /// The return at which the task counts as solved.
    pub reward_threshold: Option<f64>,
    /// Default kwargs, overridden by those passed to `make_with`.
    pub kwargs: Options,
    /// One line on what the env is.
    pub description: String,
    /// What tools need to know about the env beyond `reset`/`step` (render rate, reward
    /// camera, keyboard map, default reward config, state sampler).
    pub metadata: EnvMetadata,
}

impl std::fmt::Debug for EnvSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvSpec")
            .field("id", &self.id)
            .field("max_episode_steps", &self.max_episode_steps)
            .field("reward_threshold", &self.reward_threshold)
            .field("kwargs", &self.kwargs)
            .field("metadata", &self.metadata)
            .finish()
    }
}

impl EnvSpec {
    /// A spec with no time limit, threshold or default kwargs.
    pub fn new<F>(id: &str, description: &str, entry_point: F) -> Self
    where
        F: Fn(&Options) -> Result<Box<dyn Env>> + Send + Sync + 'static,
    {
        EnvSpec {
            id: id.to_string(),
            entry_point: Arc::new(entry_point),
            max_episode_steps: None,
            reward_threshold: None,
            kwargs: Options::new(),
            description: description.to_string(),
            metadata: EnvMetadata::default(),
        }
    }

    /// Sets the step limit.
    pub fn max_episode_steps(mut self, steps: u64) -> Self {
        self.max_episode_steps = Some(steps);
        self
    }

    /// Sets the reward threshold.
    pub fn reward_threshold(mut self, threshold: f64) -> Self {
        self.reward_threshold = Some(threshold);
        self
    }

    /// Sets the metadata.
    pub fn metadata(mut self, metadata: EnvMetadata) -> Self {
        self.metadata = metadata;
        self
    }
}

/// Boxes an env made by a constructor, for an [`EnvSpec`]'s entry point.
pub fn boxed<E: Env + 'static>(env: Result<E>) -> Result<Box<dyn Env>> {
    env.map(|e| Box::new(e) as Box<dyn Env>)
}

/// Every built-in env: each family registers its own ids (see docs/adding-an-env.md).
fn builtin_specs() -> Vec<EnvSpec> {
    let mut specs = classic::specs();
    specs.extend(driving::specs());
    specs.extend(manipulation::specs());
    specs.extend(locomotion::specs());
    specs.extend(navigation::specs());
    specs
}

static REGISTRY: LazyLock<RwLock<BTreeMap<String, EnvSpec>>> =
    LazyLock::new(|| RwLock::new(builtin_specs().into_iter().map(|s| (s.id.clone(), s)).collect()));

/// Adds an env to the registry; its id must be new.
pub fn register(spec: EnvSpec) -> Result<()> {
    let mut reg = REGISTRY.write().expect("registry lock poisoned");
    if reg.contains_key(&spec.id) {
        return Err(EnvError::AlreadyRegistered(spec.id));
    }
    reg.insert(spec.id.clone(), spec);
    Ok(())
}

/// Every registered id, sorted.
pub fn ids() -> Vec<String> {
    REGISTRY.read().expect("registry lock poisoned").keys().cloned().collect()
}

/// The spec of a registered id; an unknown id is an error naming the close matches.
pub fn spec(id: &str) -> Result<EnvSpec> {
    let reg = REGISTRY.read().expect("registry lock poisoned");
    reg.get(id)
        .cloned()
        .ok_or_else(|| EnvError::UnknownEnv { id: id.to_string(), suggestions: close_matches(id, reg.keys()) })
}

fn close_matches<'a>(id: &str, known: impl Iterator<Item = &'a String>) -> Vec<String> {
    let lower = id.to_lowercase();
    let mut scored: Vec<(f64, &String)> = known
        .map(|k| {
            let k_lower = k.to_lowercase();
            let score = if k_lower.starts_with(&lower) || lower.starts_with(k_lower.split('-').next().unwrap_or("")) {
                1.0
            } else {
                strsim::jaro_winkler(&lower, &k_lower)
            };
            (score, k)
        })
        .filter(|(s, _)| *s >= 0.8)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored.into_iter().take(3).map(|(_, k)| k.clone()).collect()
}

/// `gymnasium.make(id)`: the env with its registered `TimeLimit`.
pub fn make(id: &str) -> Result<Box<dyn Env>> {
    make_with(id, &Options::new())
}

/// `gymnasium.make(id, **kwargs)`: kwargs override the spec's defaults and reach the
/// env's constructor, except `max_episode_steps` (a number, or null for no limit), which
/// replaces the registered time limit.
pub fn make_with(id: &str, kwargs: &Options) -> Result<Box<dyn Env>> {
    let spec = spec(id)?;
    let mut merged = spec.kwargs.clone();
    let mut max_steps = spec.max_episode_steps;
    for (k, v) in kwargs {
        if k == "max_episode_steps" {
            max_steps = match v {
                serde_json::Value::Null => None,
                v => Some(v.as_u64().filter(|n| *n > 0).ok_or_else(|| {
                    EnvError::kwarg("max_episode_steps", format!("expected a positive integer or null, got `{v}`"))
                })?),
            };
        } else {
            merged.insert(k.clone(), v.clone());
        }
    }
    let env = (spec.entry_point)(&merged)?;
    Ok(match max_steps {
        Some(n) => Box::new(TimeLimit::new(env, n)),
        None => env,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_id_lists_close_matches() {
        let err = make("CartPole-v2").err().expect("unknown id").to_string();
        assert!(
            err.starts_with("unknown environment id `CartPole-v2`; did you mean `CartPole-v0`, `CartPole-v1`"),
            "{err}"
        );
        let err = make("cartpole").err().unwrap().to_string();
        assert!(err.contains("`CartPole-v1`"), "{err}");
        let err = make("Zebra-v9").err().unwrap().to_string();
        assert_eq!(err, "unknown environment id `Zebra-v9`; run `vlmgym list` to see the registered ids");
    }

    #[test]
    fn spec_knows_limits_and_thresholds() {
        let s = spec("CartPole-v1").unwrap();
        assert_eq!(s.max_episode_steps, Some(500));
        assert_eq!(s.reward_threshold, Some(475.0));
        assert_eq!(spec("Pendulum-v1").unwrap().reward_threshold, None);
        for id in ["CartPole-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1", "Acrobot-v1"] {
            assert!(ids().contains(&id.to_string()));
        }
    }

    #[test]
    fn bad_kwargs_are_errors() {
        let k: Options = serde_json::from_str(r#"{"gravity": 3}"#).unwrap();
        let err = make_with("Pendulum-v1", &k).err().unwrap().to_string();
        assert_eq!(err, "invalid kwarg `gravity`: not accepted here (accepted: g)");
        let k: Options = serde_json::from_str(r#"{"max_episode_steps": -1}"#).unwrap();
        assert!(make_with("Pendulum-v1", &k).is_err());
    }

    #[test]
    fn register_rejects_duplicates_and_accepts_new_ids() {
        let s =
            EnvSpec::new(
                "Test-Acrobot-v0",
                "test",
                |k| Ok(Box::new(classic::Acrobot::from_kwargs(k)?) as Box<dyn Env>),
            );
        register(s.clone()).unwrap();
        assert_eq!(register(s).unwrap_err(), EnvError::AlreadyRegistered("Test-Acrobot-v0".into()));
        assert!(make("Test-Acrobot-v0").is_ok());
    }
}
