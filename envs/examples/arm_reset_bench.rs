//! Times `reset` and `step` of ArmPushCube-v0: `--example arm_reset_bench`.
use std::time::Instant;
use vlmgym_envs::{make, Options, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut env = make("ArmPushCube-v0")?;
    let t = Instant::now();
    for s in 0..200 {
        env.reset(Some(s), &Options::new())?;
    }
    println!("reset: {:.2} ms", t.elapsed().as_secs_f64() * 1e3 / 200.0);
    let t = Instant::now();
    for _ in 0..1000 {
        env.step(&Value::Box(vec![0.1, 0.0, -0.1, 1.0]))?;
    }
    println!("step: {:.3} ms", t.elapsed().as_secs_f64() * 1e3 / 1000.0);
    Ok(())
}
