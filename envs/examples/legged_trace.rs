//! Prints a locomotion env's torso height and joint positions over a zero-action episode.
//!
//!   cargo run --release -p vlmgym-envs --example legged_trace -- [ENV, default Ant-v0] [STEPS, default 60]

use vlmgym_envs::locomotion::{Body, Legged};
use vlmgym_envs::{Env, Options, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let id = std::env::args().nth(1).unwrap_or_else(|| "Ant-v0".into());
    let steps: usize = std::env::args().nth(2).map(|s| s.parse()).transpose()?.unwrap_or(60);
    let body = Body::from_env_id(&id).ok_or_else(|| format!("not a locomotion env: {id}"))?;
    let mut env = Legged::from_kwargs(body, &Options::new())?;
    env.reset(Some(0), &Options::new())?;
    let dim = env.action_space().flatdim();
    for t in 0..steps {
        let s = env.step(&Value::Box(vec![0.0; dim]))?;
        let q = env.qpos().unwrap_or_default();
        let q: Vec<String> = q.iter().map(|v| format!("{v:.3}")).collect();
        println!("{t:3} r {:+.3} term {} qpos {}", s.reward, s.terminated, q.join(" "));
        if s.terminated {
            break;
        }
    }
    Ok(())
}
