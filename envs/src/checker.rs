//! The environment checker, after `gymnasium.utils.env_checker.check_env`: spaces,
//! the reset/step contract, seeded determinism and finiteness.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::env::{Env, Options, Step};
use crate::error::{EnvError, Result};
use crate::spaces::{Space, Value};

/// Runs every check on `env` (which may already have been used) and returns the first
/// violation as [`EnvError::CheckFailed`]. It samples actions with a generator seeded by
/// `seed` and runs up to `steps` steps per trajectory.
pub fn check_env(env: &mut dyn Env, seed: u64, steps: usize) -> Result<()> {
    check_spaces(env.observation_space(), "observation", seed)?;
    check_spaces(env.action_space(), "action", seed)?;

    // Reset: observation in the space, finite.
    let (obs, _) = env.reset(Some(seed), &Options::new())?;
    check_obs(env, &obs, "reset")?;

    // Determinism: the same seed and actions give bit-identical trajectories.
    let a = rollout(env, seed, steps)?;
    let b = rollout(env, seed, steps)?;
    if a != b {
        let at = a.iter().zip(&b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
        return fail(format!("reset(seed={seed}) with the same actions diverged at step {at}: not deterministic"));
    }
    // Another seed must still give a valid trajectory.
    rollout(env, seed.wrapping_add(1), steps)?;
    // reset(None) continues the generator: it must work after a seeded reset.
    let (obs, _) = env.reset(None, &Options::new())?;
    check_obs(env, &obs, "reset(seed=None)")?;
    Ok(())
}

fn fail<T>(msg: String) -> Result<T> {
    Err(EnvError::CheckFailed(msg))
}

fn check_spaces(space: &Space, what: &str, seed: u64) -> Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for _ in 0..100 {
        let v = space.sample(&mut rng);
        if !space.contains(&v) {
            return fail(format!("{what} space {space} sampled {v:?}, which it does not contain"));
        }
        let flat = space.flatten(&v)?;
        if space.unflatten(&flat)? != v && !matches!(space, Space::Box(_)) {
            return fail(format!("{what} space {space}: flatten/unflatten does not round-trip {v:?}"));
        }
    }
    Ok(())
}

fn check_obs(env: &dyn Env, obs: &Value, when: &str) -> Result<()> {
    if !env.observation_space().contains(obs) {
        return fail(format!("{when} returned {obs:?}, not in the observation space {}", env.observation_space()));
    }
    Ok(())
}

/// (observation, reward bits, terminated, truncated) of each step, then the reset obs.
type Trace = Vec<(Value, u64, bool, bool)>;

fn rollout(env: &mut dyn Env, seed: u64, steps: usize) -> Result<Trace> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let (obs, _) = env.reset(Some(seed), &Options::new())?;
    check_obs(env, &obs, "reset")?;
    let mut trace = vec![(obs, 0, false, false)];
    for i in 0..steps {
        let action = env.action_space().sample(&mut rng);
        let Step { obs, reward, terminated, truncated, .. } = env.step(&action)?;
        check_obs(env, &obs, &format!("step {i}"))?;
        if !reward.is_finite() {
            return fail(format!("step {i} returned a non-finite reward {reward}"));
        }
        trace.push((obs, reward.to_bits(), terminated, truncated));
        if terminated || truncated {
            let (obs, _) = env.reset(None, &Options::new())?;
            check_obs(env, &obs, "reset after an episode")?;
            trace.push((obs, 0, false, false));
        }
    }
    Ok(trace)
}
