//! Runs a locomotion env from its initial state (no reset noise) under a fixed open-loop
//! action sequence and prints x position, torso height and return every 10 steps; the same
//! sequence and printout as `scripts/legged_peer_compare.py` on MuJoCo.
//!
//!   cargo run --release -p vlmgym-envs --example legged_compare -- [ENV, default HalfCheetah-v0] [STEPS, default 200]
//!
//! `AMPLITUDE` scales the gait (default 0.8; 0 plays zero actions, as the peer script's
//! `AMPLITUDE`); `KWARGS='{"solver_iterations": 4, "pgs_iterations": 1}'` adds
//! constructor kwargs.

use vlmgym_envs::{make_with, Options, Space, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let id = std::env::args().nth(1).unwrap_or_else(|| "HalfCheetah-v0".into());
    let steps: usize = std::env::args().nth(2).map(|s| s.parse()).transpose()?.unwrap_or(200);
    let amplitude: f32 = std::env::var("AMPLITUDE").ok().map(|s| s.parse()).transpose()?.unwrap_or(0.8);
    let mut kw: Options = match std::env::var("KWARGS") {
        Ok(text) => serde_json::from_str(&text)?,
        Err(_) => Options::new(),
    };
    kw.insert("reset_noise_scale".into(), 0.0.into());
    let mut env = make_with(&id, &kw)?;
    env.reset(Some(0), &Options::new())?;
    let Space::Box(b) = env.action_space().clone() else { return Err("continuous actions expected".into()) };
    let n = b.shape()[0];
    let mut ret = 0.0;
    for t in 0..steps {
        let a: Vec<f32> = (0..n)
            .map(|i| {
                let v = amplitude * (0.4 * t as f64 + 1.3 * i as f64).sin() as f32 * b.high()[i];
                v.clamp(b.low()[i], b.high()[i])
            })
            .collect();
        let s = env.step(&Value::Box(a))?;
        ret += s.reward;
        if t % 10 == 9 || s.terminated {
            let o = s.obs.as_box().unwrap();
            // Observations leave x (and y) out, so the first entry is the torso's height.
            let z = o[0];
            let x = s.info["x_position"].as_f64().unwrap_or(f64::NAN);
            println!("{:4} x {x:8.3} z {z:6.3} return {ret:9.2}", t + 1);
        }
        if s.terminated {
            break;
        }
    }
    Ok(())
}
