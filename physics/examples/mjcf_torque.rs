//! Checks a `<motor>`'s torque: the ant floating without gravity, one hip driven at full
//! control for one 10 ms step. With the joint's armature of 1 kg m^2 (far above the leg's
//! own inertia) and damping 1, the hip's rate after the step is about gear x ctrl x dt.
//!
//!   cargo run --release -p vlmgym-physics --example mjcf_torque

use std::path::Path;

use vlmgym_physics::{MjcfModel, World, WorldConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = WorldConfig { control_dt: 0.01, substeps: 1, gravity: 0.0, z_up: true };
    for ctrl in [1.0f32, 0.5, 0.1] {
        let mut world = World::new(config, 0);
        let model = MjcfModel::load(&mut world, Path::new("assets/robots/gymnasium/ant.xml"))?;
        let mut u = vec![0.0; 8];
        u[2] = ctrl; // hip_1
        for _ in 0..1 {
            model.apply_controls(&mut world, &u)?;
            world.step();
        }
        let qvel = model.qvel(&world);
        let joints = model.joints();
        let i = joints.iter().position(|(n, _)| n == "hip_1").unwrap() - 1 + 6;
        println!(
            "ctrl {ctrl}: hip_1 rate {:.4} rad/s after 10 ms (gear x ctrl x dt = {:.4})",
            qvel[i],
            150.0 * ctrl * 0.01
        );
    }
    Ok(())
}
