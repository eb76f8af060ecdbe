//! Momentum check: a locomotion body dropped from high above the floor under random
//! actions. With no contact, the only external force is gravity, so the centre of mass
//! must keep its horizontal position; prints its drift every 20 steps, with the envs'
//! momentum correction (`conserve_momentum`, the default) and without it (rapier as is).
//!
//!   cargo run --release -p vlmgym-envs --example legged_momentum -- [ENV] [HEIGHT, default 200]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use vlmgym_envs::locomotion::{Body, Legged};
use vlmgym_envs::{Env, Options, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let id = std::env::args().nth(1).unwrap_or_else(|| "HalfCheetah-v0".into());
    let height: f64 = std::env::args().nth(2).map(|s| s.parse()).transpose()?.unwrap_or(200.0);
    let body = Body::from_env_id(&id).ok_or_else(|| format!("not a locomotion env: {id}"))?;
    for conserve in [true, false] {
        println!("{id}, conserve_momentum={conserve}");
        drop_test(body, height, conserve)?;
    }
    Ok(())
}

fn drop_test(body: Body, height: f64, conserve: bool) -> Result<(), Box<dyn std::error::Error>> {
    let mut kw = Options::new();
    kw.insert("reset_noise_scale".into(), json!(0.0));
    kw.insert("terminate_when_unhealthy".into(), json!(false));
    kw.insert("conserve_momentum".into(), json!(conserve));
    let mut env = Legged::from_kwargs(body, &kw)?;
    env.reset(Some(0), &Options::new())?;
    let mut qpos = env.qpos().unwrap();
    let z = if matches!(body, Body::Ant | Body::Humanoid) { 2 } else { 1 };
    qpos[z] += height;
    let mut o = Options::new();
    o.insert("qpos".into(), json!(qpos));
    env.reset(Some(0), &o)?;
    let n = env.action_space().flatdim();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let com0 = {
        let (w, m) = env.sim().unwrap();
        m.center_of_mass(w)
    };
    for t in 0..100 {
        let a: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
        env.step(&Value::Box(a))?;
        if t % 20 == 19 {
            let (w, m) = env.sim().unwrap();
            let c = m.center_of_mass(w);
            println!("{:4} com drift x {:+.4} y {:+.4}  height {:.1}", t + 1, c[0] - com0[0], c[1] - com0[1], c[2]);
        }
    }
    Ok(())
}
