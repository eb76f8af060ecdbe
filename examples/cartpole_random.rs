//! Runs CartPole-v1 with random actions on a threaded vector env of 4 and prints the
//! returns of the episodes that finish: `cargo run --release --example cartpole_random`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vlmgym::envs::{make_vec, Options, Value, VectorizationMode};

fn main() -> vlmgym::envs::Result<()> {
    let n = 4;
    let mut venv = make_vec("CartPole-v1", n, &Options::new(), VectorizationMode::Threaded { threads: 0 })?;
    venv.reset(Some(0), &Options::new())?;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut returns = vec![0.0; n];
    let mut finished = Vec::new();
    while finished.len() < 10 {
        let actions: Vec<Value> = (0..n).map(|_| Value::Discrete(rng.random_range(0..2))).collect();
        let out = venv.step(&actions)?;
        for (i, ret) in returns.iter_mut().enumerate() {
            *ret += out.rewards[i];
            if out.terminations[i] || out.truncations[i] {
                finished.push(*ret);
                *ret = 0.0;
            }
        }
    }
    println!("returns of 10 random-policy episodes: {finished:?}");
    Ok(())
}
