//! Random play in every locomotion env: episode lengths, returns, steps/s, and a check
//! that no observation or reward is ever non-finite (episodes ended by the divergence
//! check are counted apart). `fingerprint` hashes the bits of every observation and reward:
//! two builds print the same one exactly when they simulate bit-identical trajectories (used
//! to check that patches/rapier3d-0.36.1.patch changes no result).
//!
//!   cargo run --release -p vlmgym-envs --example legged_random -- [STEPS per env, default 10000] [ENV,ENV...]
//!
//! `KWARGS='{"contact_frequency": 8}'` passes constructor kwargs to every env.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vlmgym_envs::{make_with, Options, Space, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let steps: usize = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(10_000);
    let ids: Vec<String> = match std::env::args().nth(2) {
        Some(list) => list.split(',').map(str::to_string).collect(),
        None => ["Ant-v0", "HalfCheetah-v0", "Hopper-v0", "Walker2d-v0", "Humanoid-v0"].map(String::from).to_vec(),
    };
    let kwargs: Options = match std::env::var("KWARGS") {
        Ok(text) => serde_json::from_str(&text)?,
        Err(_) => Options::new(),
    };
    for id in &ids {
        let mut env = make_with(id, &kwargs)?;
        let Space::Box(b) = env.action_space().clone() else { unreachable!() };
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let (obs, _) = env.reset(Some(0), &Options::new())?;
        let dim = obs.as_box().map(|o| o.len()).unwrap_or(0);
        let (mut episodes, mut ret, mut returns, mut lengths, mut len) = (0, 0.0, Vec::new(), Vec::new(), 0);
        let mut final_x = Vec::new();
        let (mut bad, mut unstable) = (0usize, 0usize);
        let mut fingerprint = DefaultHasher::new();
        let start = Instant::now();
        for t in 0..steps {
            let a: Vec<f32> = b.low().iter().zip(b.high()).map(|(&l, &h)| rng.random_range(l..h)).collect();
            let s = env.step(&Value::Box(a))?;
            for v in s.obs.as_box().unwrap() {
                bad += usize::from(!v.is_finite());
                v.to_bits().hash(&mut fingerprint);
            }
            bad += usize::from(!s.reward.is_finite());
            s.reward.to_bits().hash(&mut fingerprint);
            ret += s.reward;
            len += 1;
            if s.terminated || s.truncated {
                if std::env::var_os("SHOW_END").is_some() {
                    let o = s.obs.as_box().unwrap();
                    println!("  {id} ends at step {len}: first obs entries {:?}", &o[..o.len().min(5)]);
                }
                episodes += 1;
                if s.info.contains_key("physics_unstable") {
                    // Ended by the divergence check: no position to report.
                    unstable += 1;
                } else {
                    final_x.push(s.info["x_position"].as_f64().unwrap_or(f64::NAN));
                }
                returns.push(ret);
                lengths.push(len);
                (ret, len) = (0.0, 0);
                env.reset(Some(t as u64 + 1), &Options::new())?;
            }
        }
        let secs = start.elapsed().as_secs_f64();
        let mean = |v: &[f64]| if v.is_empty() { f64::NAN } else { v.iter().sum::<f64>() / v.len() as f64 };
        let lens: Vec<f64> = lengths.iter().map(|&l| l as f64).collect();
        println!(
            "{id:15} obs {dim:3}  {steps} steps {:7.0} steps/s  episodes {episodes:4}  mean length {:6.1}  mean return {:8.2}  mean final x {:7.3}  non-finite {bad}  diverged {unstable}  fingerprint {:016x}",
            steps as f64 / secs,
            mean(&lens),
            mean(&returns),
            mean(&final_x),
            fingerprint.finish()
        );
    }
    Ok(())
}
