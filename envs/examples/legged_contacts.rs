//! Replays the actions of a trace (`vlmgym eval --trace FILE.jsonl`, or any JSON-lines file
//! with an `action` per line) in a locomotion env from the same reset seed and prints, at
//! the chosen steps, every contact with the floor: the link, the contact normal, the
//! normal and friction impulses and the contact point's velocity, with the body's
//! velocity. For comparing rapier's contacts with what the physics should do.
//!
//!   cargo run --release -p vlmgym-envs --example legged_contacts -- ENV TRACE SEED STEP[,STEP...]

use std::io::BufRead;

use vlmgym_envs::locomotion::{Body, Legged};
use vlmgym_envs::{Env, Options, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, id, trace, seed, steps] = args.as_slice() else {
        return Err("usage: legged_contacts ENV TRACE SEED STEP[,STEP...]".into());
    };
    let body = Body::from_env_id(id).ok_or_else(|| format!("not a locomotion env: {id}"))?;
    let show: Vec<usize> = steps.split(',').map(|s| s.parse()).collect::<Result<_, _>>()?;
    let mut actions = Vec::new();
    for line in std::io::BufReader::new(std::fs::File::open(trace)?).lines() {
        let v: serde_json::Value = serde_json::from_str(&line?)?;
        let a: Vec<f32> = serde_json::from_value(v["action"].clone())?;
        actions.push(a);
    }
    let mut env = Legged::from_kwargs(body, &Options::new())?;
    env.reset(Some(seed.parse()?), &Options::new())?;
    for (t, a) in actions.iter().enumerate() {
        let s = env.step(&Value::Box(a.clone()))?;
        if !show.contains(&t) {
            continue;
        }
        let (world, model) = env.sim().expect("reset");
        let pw = world.rapier();
        let qvel = model.qvel(world);
        println!("step {t}: x_velocity {:.3}  qvel {:?}", s.info["x_velocity"], &qvel[..3]);
        let name = |h| model.links().iter().find(|l| l.body.0 == h).map(|l| l.name.clone()).unwrap_or("floor".into());
        for pair in pw.narrow_phase.contact_pairs() {
            let (Some(c1), Some(c2)) = (pw.colliders.get(pair.collider1), pw.colliders.get(pair.collider2)) else {
                continue;
            };
            for m in pair.manifolds() {
                if m.points.is_empty() {
                    continue;
                }
                let (b1, b2) = (c1.parent().unwrap(), c2.parent().unwrap());
                let n = m.data.normal;
                let imp: f32 = m.points.iter().map(|p| p.data.impulse).sum();
                let tan: Vec<String> = m.points.iter().map(|p| format!("{:?}", p.data.tangent_impulse)).collect();
                let pts: Vec<String> = m
                    .data
                    .solver_contacts
                    .iter()
                    .map(|c| {
                        let p = pw.bodies[b1].center_of_mass() + c.anchor1;
                        let v1 = pw.bodies[b1].velocity_at_point(p);
                        let v2 = pw.bodies[b2].velocity_at_point(p);
                        format!(
                            "p ({:.3},{:.3},{:.3}) dist {:.4} relvel ({:.3},{:.3},{:.3}) tanvel {:?}",
                            p.x,
                            p.y,
                            p.z,
                            c.dist,
                            v1.x - v2.x,
                            v1.y - v2.y,
                            v1.z - v2.z,
                            c.tangent_velocity
                        )
                    })
                    .collect();
                println!(
                    "  {} / {}: normal ({:.3},{:.3},{:.3}) friction {:.2} normal impulse {imp:.4} tangent {tan:?}\n    {}",
                    name(b1),
                    name(b2),
                    n.x,
                    n.y,
                    n.z,
                    m.data.friction,
                    pts.join("\n    ")
                );
            }
        }
    }
    Ok(())
}
