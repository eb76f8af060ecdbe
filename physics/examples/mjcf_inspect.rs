//! Prints what a MuJoCo MJCF file loads as: bodies, masses, joints, actuators, and the
//! multibody's per-DoF armature and damping.
//!
//!   cargo run --release -p vlmgym-physics --example mjcf_inspect -- assets/robots/gymnasium/ant.xml

use std::path::PathBuf;

use vlmgym_physics::{MjcfModel, World, WorldConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "assets/robots/gymnasium/ant.xml".into()));
    let mut world = World::new(WorldConfig { z_up: true, ..WorldConfig::default() }, 0);
    let model = MjcfModel::load(&mut world, &path)?;
    // Mass properties are computed by the first step.
    world.step();
    println!(
        "{}: timestep {}, nq {}, nv {}, mass {:.3} kg",
        model.name(),
        model.timestep(),
        model.nq(),
        model.nv(),
        model.mass(&world)
    );
    for l in model.links() {
        let b = &world.rapier().bodies[l.body.0];
        println!("  body {:20} mass {:.4}  shapes {}", l.name, b.mass(), l.shapes.len());
    }
    println!("  joints {:?}", model.joints());
    for a in model.actuators() {
        println!("  actuator {:12} joint {:12} gear {} ctrl {:?}", a.name, a.joint, a.gear, a.ctrl_range);
    }
    for mb in world.rapier().multibody_joints.multibodies() {
        println!("  multibody: {} links, {} dofs", mb.num_links(), mb.ndofs());
        println!("    armature {:?}", mb.armature().as_slice());
        println!("    damping  {:?}", mb.damping().as_slice());
    }
    println!("  qpos {:?}", model.qpos(&world));
    Ok(())
}
