//! The env checker passes every registered env and catches broken ones.

use rand::Rng;
use vlmgym_envs::env::EnvRng;
use vlmgym_envs::registry::{ids, make};
use vlmgym_envs::{check_env, BoxSpace, Discrete, Env, EnvError, Info, Options, Space, Step, Value};

#[test]
fn every_registered_env_passes_the_checker() {
    for id in ids() {
        let mut env = make(&id).unwrap();
        check_env(env.as_mut(), 42, 600).unwrap_or_else(|e| panic!("{id}: {e}"));
    }
}

#[test]
fn step_before_reset_and_bad_actions_are_errors() {
    for id in ids() {
        let mut env = make(&id).unwrap();
        let action = env.action_space().sample(&mut rand::rng());
        assert_eq!(env.step(&action).unwrap_err(), EnvError::ResetNeeded, "{id}");
        env.reset(Some(0), &Options::new()).unwrap();
        let bad = match env.action_space() {
            Space::Discrete(_) => Value::Discrete(99),
            _ => Value::Box(vec![f32::NAN]),
        };
        assert!(matches!(env.step(&bad), Err(EnvError::InvalidAction { .. })), "{id}");
        assert!(matches!(env.step(&Value::MultiDiscrete(vec![1])), Err(EnvError::InvalidAction { .. })), "{id}");
    }
}

#[test]
fn seeded_resets_are_deterministic_and_seeds_differ() {
    for id in ids() {
        let mut a = make(&id).unwrap();
        let mut b = make(&id).unwrap();
        let (x, _) = a.reset(Some(123), &Options::new()).unwrap();
        let (y, _) = b.reset(Some(123), &Options::new()).unwrap();
        assert_eq!(x, y, "{id}");
        let (z, _) = b.reset(Some(456), &Options::new()).unwrap();
        assert_ne!(x, z, "{id}: different seeds gave the same start");
    }
}

/// Ignores its seed: every reset draws from the OS.
struct Unseeded {
    obs: Space,
    act: Space,
}

impl Env for Unseeded {
    fn observation_space(&self) -> &Space {
        &self.obs
    }
    fn action_space(&self) -> &Space {
        &self.act
    }
    fn reset(&mut self, _seed: Option<u64>, _o: &Options) -> vlmgym_envs::Result<(Value, Info)> {
        Ok((Value::Box(vec![rand::rng().random()]), Info::new()))
    }
    fn step(&mut self, _a: &Value) -> vlmgym_envs::Result<Step> {
        Ok(Step {
            obs: Value::Box(vec![rand::rng().random()]),
            reward: 0.0,
            terminated: false,
            truncated: false,
            info: Info::new(),
        })
    }
}

/// Returns observations outside its space.
struct OutOfBounds {
    obs: Space,
    act: Space,
    rng: EnvRng,
}

impl Env for OutOfBounds {
    fn observation_space(&self) -> &Space {
        &self.obs
    }
    fn action_space(&self) -> &Space {
        &self.act
    }
    fn reset(&mut self, seed: Option<u64>, _o: &Options) -> vlmgym_envs::Result<(Value, Info)> {
        self.rng.reseed(seed);
        Ok((Value::Box(vec![0.5]), Info::new()))
    }
    fn step(&mut self, _a: &Value) -> vlmgym_envs::Result<Step> {
        Ok(Step {
            obs: Value::Box(vec![3.0]),
            reward: f64::NAN,
            terminated: false,
            truncated: false,
            info: Info::new(),
        })
    }
}

#[test]
fn checker_catches_broken_envs() {
    let space = || Space::Box(BoxSpace::uniform(0.0, 1.0, vec![1]));
    let act = || Space::Discrete(Discrete::new(2));
    let err = check_env(&mut Unseeded { obs: space(), act: act() }, 0, 10).unwrap_err().to_string();
    assert!(err.contains("not deterministic"), "{err}");
    let err = check_env(&mut OutOfBounds { obs: space(), act: act(), rng: EnvRng::default() }, 0, 10)
        .unwrap_err()
        .to_string();
    assert!(err.contains("step 0 returned Box([3.0]), not in the observation space"), "{err}");
}
