//! The environment contract, after Gymnasium 1.x's `Env`.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value as Json;

use crate::error::{EnvError, Result};
use crate::scene::{Caption, Scene};
use crate::spaces::{Space, Value};

/// Free-form per-step or per-reset information (Gymnasium's `info` dict).
pub type Info = serde_json::Map<String, Json>;

/// Reset options or constructor kwargs (Gymnasium's `options` dict and `**kwargs`).
pub type Options = serde_json::Map<String, Json>;

/// The `info` key under which every env puts its named state quantities: a JSON object of
/// numbers (the same names on `reset` and on every `step`), read by reward synthesis
/// (`vlmgym_reward::synthesis`) and documented in each env's module doc.
pub const STATE_KEY: &str = "state";

/// The JSON object of named state quantities for [`STATE_KEY`]. A non-finite number
/// becomes `null` (JSON has no NaN), which readers report as a non-finite input.
pub fn state_object(quantities: &[(&str, f64)]) -> Json {
    Json::Object(quantities.iter().map(|&(k, v)| (k.to_string(), Json::from(v))).collect())
}

/// An `info` holding only the named state quantities under [`STATE_KEY`].
pub fn state_info(quantities: &[(&str, f64)]) -> Info {
    let mut info = Info::new();
    info.insert(STATE_KEY.to_string(), state_object(quantities));
    info
}

/// What `step` returns: Gymnasium's `(obs, reward, terminated, truncated, info)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The observation after the action.
    pub obs: Value,
    /// The reward for the transition.
    pub reward: f64,
    /// The episode reached a terminal state of the MDP (success or failure).
    pub terminated: bool,
    /// The episode was cut short by something outside the MDP (a time limit).
    pub truncated: bool,
    /// Extra information.
    pub info: Info,
}

impl Step {
    /// True when the episode is over, by termination or truncation.
    pub fn done(&self) -> bool {
        self.terminated || self.truncated
    }
}

/// A reinforcement-learning environment with Gymnasium 1.x semantics.
///
/// * `reset(Some(seed), ..)` reseeds the env's random generator; `reset(None, ..)` keeps
///   drawing from it. The same seed and the same actions give bit-identical trajectories.
/// * `step` before the first `reset` is [`EnvError::ResetNeeded`]; an action of the wrong
///   shape or kind, or with NaN, is [`EnvError::InvalidAction`].
pub trait Env: Send {
    /// The space every observation lies in.
    fn observation_space(&self) -> &Space;

    /// The space actions are drawn from.
    fn action_space(&self) -> &Space;

    /// Starts a new episode and returns the first observation.
    fn reset(&mut self, seed: Option<u64>, options: &Options) -> Result<(Value, Info)>;

    /// Advances the episode by one action.
    fn step(&mut self, action: &Value) -> Result<Step>;

    /// Releases resources; the env may not be used afterwards.
    fn close(&mut self) {}

    /// What the current state looks like, for the renderer (None for envs without one).
    fn scene(&self) -> Option<Scene> {
        None
    }

    /// The true facts of the current state in plain English (empty before the first reset).
    fn captions(&self) -> Vec<Caption> {
        Vec::new()
    }

    /// The env's scripted expert's action for the current state, in this env's action
    /// space (the arm tasks and NavGoTo have one; `vlmgym dataset --expert-frames` renders
    /// the states it visits). `Ok(None)` for an env without an expert.
    fn expert_action(&self) -> Result<Option<Value>> {
        Ok(None)
    }
}

impl<E: Env + ?Sized> Env for Box<E> {
    fn observation_space(&self) -> &Space {
        (**self).observation_space()
    }
    fn action_space(&self) -> &Space {
        (**self).action_space()
    }
    fn reset(&mut self, seed: Option<u64>, options: &Options) -> Result<(Value, Info)> {
        (**self).reset(seed, options)
    }
    fn step(&mut self, action: &Value) -> Result<Step> {
        (**self).step(action)
    }
    fn close(&mut self) {
        (**self).close()
    }
    fn scene(&self) -> Option<Scene> {
        (**self).scene()
    }
    fn captions(&self) -> Vec<Caption> {
        (**self).captions()
    }
    fn expert_action(&self) -> Result<Option<Value>> {
        (**self).expert_action()
    }
}

/// An env's random generator, seeded like Gymnasium's `np_random`: a seed passed to
/// `reset` replaces it; without one, the first reset seeds it from the OS.
#[derive(Clone, Debug, Default)]
pub struct EnvRng {
    rng: Option<ChaCha8Rng>,
}

impl EnvRng {
    /// Reseeds when `seed` is given (or when never seeded) and returns the generator.
    pub fn reseed(&mut self, seed: Option<u64>) -> &mut ChaCha8Rng {
        match seed {
            Some(s) => self.rng = Some(ChaCha8Rng::seed_from_u64(s)),
            None if self.rng.is_none() => self.rng = Some(ChaCha8Rng::from_os_rng()),
            None => {}
        }
        self.rng.as_mut().expect("seeded above")
    }

    /// The generator (seeded from the OS if no reset has seeded it yet).
    pub fn get(&mut self) -> &mut ChaCha8Rng {
        self.reseed(None)
    }
}

/// Reads typed values out of kwargs or options and rejects keys nobody asked for, so a
/// misspelt argument is an error that lists the accepted ones instead of being ignored.
pub struct ArgReader<'a> {
    map: &'a Options,
    what: &'static str,
    known: Vec<&'static str>,
}

impl<'a> ArgReader<'a> {
    /// A reader over constructor kwargs.
    pub fn kwargs(map: &'a Options) -> Self {
        ArgReader { map, what: "kwarg", known: Vec::new() }
    }

    /// A reader over reset options.
    pub fn options(map: &'a Options) -> Self {
        ArgReader { map, what: "option", known: Vec::new() }
    }

    fn err(&self, key: &str, reason: String) -> EnvError {
        EnvError::InvalidArgument { what: self.what, key: key.to_string(), reason }
    }

    /// A number, or `default` when absent.
    pub fn f64(&mut self, key: &'static str, default: f64) -> Result<f64> {
        Ok(self.opt_f64(key)?.unwrap_or(default))
    }

    /// A number, if present.
    pub fn opt_f64(&mut self, key: &'static str) -> Result<Option<f64>> {
        self.known.push(key);
        match self.map.get(key) {
            None | Some(Json::Null) => Ok(None),
            Some(v) => match v.as_f64() {
                Some(x) if x.is_finite() => Ok(Some(x)),
                _ => Err(self.err(key, format!("expected a finite number, got `{v}`"))),
            },
        }
    }

    /// A boolean, or `default` when absent.
    pub fn bool(&mut self, key: &'static str, default: bool) -> Result<bool> {
        self.known.push(key);
        match self.map.get(key) {
            None | Some(Json::Null) => Ok(default),
            Some(v) => v.as_bool().ok_or_else(|| self.err(key, format!("expected true or false, got `{v}`"))),
        }
    }

    /// A non-negative integer, or `default` when absent.
    pub fn usize(&mut self, key: &'static str, default: usize) -> Result<usize> {
        self.known.push(key);
        match self.map.get(key) {
            None | Some(Json::Null) => Ok(default),
            Some(v) => v
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| self.err(key, format!("expected a non-negative integer, got `{v}`"))),
        }
    }

    /// One of the strings in `accepted`, or `default` when absent.
    pub fn choice(
        &mut self,
        key: &'static str,
        default: &'static str,
        accepted: &[&'static str],
    ) -> Result<&'static str> {
        self.known.push(key);
        match self.map.get(key) {
            None | Some(Json::Null) => Ok(default),
            Some(v) => v
                .as_str()
                .and_then(|s| accepted.iter().find(|a| **a == s).copied())
                .ok_or_else(|| self.err(key, format!("expected one of {}, got `{v}`", accepted.join(", ")))),
        }
    }

    /// A string, if present.
    pub fn opt_str(&mut self, key: &'static str) -> Result<Option<&'a str>> {
        self.known.push(key);
        match self.map.get(key) {
            None | Some(Json::Null) => Ok(None),
            Some(v) => v.as_str().map(Some).ok_or_else(|| self.err(key, format!("expected a string, got `{v}`"))),
        }
    }

    /// A list of exactly `len` finite numbers, if present.
    pub fn opt_vec(&mut self, key: &'static str, len: usize) -> Result<Option<Vec<f64>>> {
        self.known.push(key);
        let Some(v) = self.map.get(key) else { return Ok(None) };
        let arr = v.as_array().ok_or_else(|| self.err(key, format!("expected a list of {len} numbers, got `{v}`")))?;
        if arr.len() != len {
            return Err(self.err(key, format!("expected {len} numbers, got {}", arr.len())));
        }
        arr.iter()
            .map(|x| {
                x.as_f64()
                    .filter(|f| f.is_finite())
                    .ok_or_else(|| self.err(key, format!("`{x}` is not a finite number")))
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// Fails on any key that was not read.
    pub fn finish(self) -> Result<()> {
        if let Some(key) = self.map.keys().find(|k| !self.known.contains(&k.as_str())) {
            let mut known = self.known.clone();
            known.sort_unstable();
            known.dedup();
            let list = if known.is_empty() { "none".to_string() } else { known.join(", ") };
            return Err(self.err(key, format!("not accepted here (accepted: {list})")));
        }
        Ok(())
    }
}

/// Gymnasium's `maybe_parse_reset_bounds` plus vlmgym's explicit start state: reads the
/// options `low`/`high` (bounds of the uniform initial-state distribution) and
/// `init_state` (exactly this state, `len` numbers). Returns the bounds and the explicit
/// state, if any.
pub fn parse_reset_options(
    options: &Options,
    default_low: f64,
    default_high: f64,
    len: usize,
) -> Result<(f64, f64, Option<Vec<f64>>)> {
    let mut r = ArgReader::options(options);
    let low = r.f64("low", default_low)?;
    let high = r.f64("high", default_high)?;
    let init = r.opt_vec("init_state", len)?;
    r.finish()?;
    if low > high {
        return Err(EnvError::option("low", format!("lower bound ({low}) must be lower than higher bound ({high})")));
    }
    Ok((low, high, init))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arg_reader_rejects_unknown_and_mistyped_keys() {
        let m: Options = serde_json::from_str(r#"{"g": 9.81, "gravty": 1}"#).unwrap();
        let mut r = ArgReader::kwargs(&m);
        assert_eq!(r.f64("g", 10.0).unwrap(), 9.81);
        let err = r.finish().unwrap_err().to_string();
        assert_eq!(err, "invalid kwarg `gravty`: not accepted here (accepted: g)");
        let m: Options = serde_json::from_str(r#"{"g": "high"}"#).unwrap();
        let err = ArgReader::kwargs(&m).f64("g", 1.0).unwrap_err().to_string();
        assert_eq!(err, "invalid kwarg `g`: expected a finite number, got `\"high\"`");
    }

    #[test]
    fn reset_options_bounds_and_init_state() {
        let m: Options = serde_json::from_str(r#"{"low": -0.2, "init_state": [1, 2]}"#).unwrap();
        assert_eq!(parse_reset_options(&m, -0.05, 0.05, 2).unwrap(), (-0.2, 0.05, Some(vec![1.0, 2.0])));
        let m: Options = serde_json::from_str(r#"{"init_state": [1, 2, 3]}"#).unwrap();
        let err = parse_reset_options(&m, -0.05, 0.05, 2).unwrap_err().to_string();
        assert_eq!(err, "invalid option `init_state`: expected 2 numbers, got 3");
        let m: Options = serde_json::from_str(r#"{"low": 1, "high": 0}"#).unwrap();
        assert!(parse_reset_options(&m, -0.05, 0.05, 2).is_err());
    }

    #[test]
    fn arg_reader_integers_and_choices() {
        let m: Options = serde_json::from_str(r#"{"n": 3, "map": "town", "bad": 1.5, "b2": "x"}"#).unwrap();
        let mut r = ArgReader::kwargs(&m);
        assert_eq!(r.usize("n", 1).unwrap(), 3);
        assert_eq!(r.usize("absent", 7).unwrap(), 7);
        assert_eq!(r.choice("map", "loop", &["loop", "town"]).unwrap(), "town");
        let err = r.usize("bad", 1).unwrap_err().to_string();
        assert_eq!(err, "invalid kwarg `bad`: expected a non-negative integer, got `1.5`");
        let err = r.choice("b2", "loop", &["loop", "town"]).unwrap_err().to_string();
        assert_eq!(err, "invalid kwarg `b2`: expected one of loop, town, got `\"x\"`");
    }

    #[test]
    fn env_rng_reseeds_only_with_a_seed() {
        use rand::Rng;
        let mut a = EnvRng::default();
        let x: u64 = a.reseed(Some(3)).random();
        let y: u64 = a.reseed(None).random();
        let mut b = EnvRng::default();
        assert_eq!(b.reseed(Some(3)).random::<u64>(), x);
        assert_eq!(b.reseed(None).random::<u64>(), y);
        assert_ne!(x, y);
    }
}
