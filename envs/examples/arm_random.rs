//! Steps every arm task with uniform random actions (both controllers) and counts
//! non-finite observations and rewards: `--example arm_random -- [STEPS]` (default 100000
//! per task and controller). `fingerprint` hashes the bits of every observation and reward:
//! two builds print the same one exactly when they simulate bit-identical trajectories (as
//! `legged_random`'s, used to check that patches/rapier3d-0.36.1.patch changes no result).

use std::hash::{DefaultHasher, Hash, Hasher};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vlmgym_envs::{make_with, Options, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let steps: u64 = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(100_000);
    for id in ["ArmReach-v0", "ArmPushCube-v0", "ArmPickCube-v0"] {
        for mode in ["pd_ee_delta_pos", "pd_joint_delta_pos"] {
            let mut kwargs = Options::new();
            kwargs.insert("control_mode".into(), mode.into());
            let mut env = make_with(id, &kwargs)?;
            let dim = env.action_space().flatdim();
            let mut rng = ChaCha8Rng::seed_from_u64(0);
            env.reset(Some(0), &Options::new())?;
            let (mut bad, mut episodes) = (0u64, 0u64);
            let mut fingerprint = DefaultHasher::new();
            for _ in 0..steps {
                let a = Value::Box((0..dim).map(|_| rng.random_range(-1.0..1.0f32)).collect());
                let s = env.step(&a)?;
                let obs = s.obs.as_box().unwrap_or(&[]);
                if !s.reward.is_finite() || obs.iter().any(|x| !x.is_finite()) {
                    bad += 1;
                }
                obs.iter().for_each(|x| x.to_bits().hash(&mut fingerprint));
                s.reward.to_bits().hash(&mut fingerprint);
                if s.done() {
                    episodes += 1;
                    env.reset(None, &Options::new())?;
                }
            }
            println!(
                "{id} {mode}: {steps} random steps, {episodes} episodes, {bad} with a non-finite value, fingerprint {:016x}",
                fingerprint.finish()
            );
        }
    }
    Ok(())
}
