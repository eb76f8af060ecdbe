//! The multibody mass matrix of the Gymnasium bodies against a dense reference.
//!
//! rapier3d is built with vlmgym's patch (patches/rapier3d-0.36.1.patch), which forms each
//! link's share of the mass matrix on the columns of the link's own and its ancestors'
//! degrees of freedom only, and skips links without mass. Here the matrix rapier factorises
//! is rebuilt from its LU factors and compared with the textbook dense sum
//! `sum_links J^T diag(m, m, m, I_world) J + diag(armature)` over every column, in poses that
//! random controls reach.

use std::path::PathBuf;

use vlmgym_physics::rapier3d::na::DMatrix;
use vlmgym_physics::rapier3d::prelude::RigidBodyHandle;
use vlmgym_physics::rapier3d::utils::AngularInertiaOps;
use vlmgym_physics::{MjcfModel, World, WorldConfig};

/// Loads `assets/robots/gymnasium/<file>` lifted 1 m above the origin (no floor), steps it
/// `steps` times under pseudo-random controls, and returns the world and the handle of one
/// of its bodies.
fn posed(file: &str, steps: usize) -> (World, RigidBodyHandle) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets/robots/gymnasium").join(file);
    let dt = MjcfModel::file_timestep(&path).unwrap();
    let mut world = World::new(WorldConfig { control_dt: dt, substeps: 1, gravity: 9.81, z_up: true }, 0);
    world.set_solver_iterations(1, 8);
    let model = MjcfModel::load(&mut world, &path).unwrap();
    let mut state = 7u64;
    for _ in 0..steps {
        let ctrl: Vec<f32> = (0..model.actuators().len())
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
            })
            .collect();
        model.apply_controls(&mut world, &ctrl).unwrap();
        world.step();
    }
    (world, model.links()[0].body.0)
}

/// The largest entry of |rapier's matrix - the dense reference|, relative to the largest
/// entry of the reference, and the number of degrees of freedom.
fn mass_matrix_error(file: &str, steps: usize) -> (f32, usize) {
    let (mut world, body) = posed(file, steps);
    let pw = world.rapier_mut();
    let link = *pw.multibody_joints.rigid_body_link(body).expect("the body is a multibody link");
    let mb = pw.multibody_joints.get_multibody_mut(link.multibody).unwrap();
    // Reassembles the matrix at the current pose with no time-step terms: M + armature.
    let inv_inertia = mb.dof_inverse_inertia(&pw.bodies);
    let n = mb.ndofs();
    assert_eq!(inv_inertia.len(), n);

    let lu = mb.inv_augmented_mass();
    let mut rapier = lu.l() * lu.u();
    lu.p().inv_permute_rows(&mut rapier);

    let mut dense = DMatrix::<f32>::zeros(n, n);
    for (i, l) in mb.links().enumerate() {
        let mprops = pw.bodies[l.rigid_body_handle()].mass_properties();
        let mass = mprops.effective_mass();
        let inertia = mprops.effective_angular_inertia().into_matrix();
        let mut block = DMatrix::<f32>::zeros(6, 6);
        for k in 0..3 {
            block[(k, k)] = mass[k];
            for c in 0..3 {
                block[(3 + k, 3 + c)] = inertia.col(c)[k];
            }
        }
        let j = mb.body_jacobian(i);
        let j = DMatrix::from_iterator(6, n, j.iter().copied());
        dense += j.transpose() * block * j;
    }
    for k in 0..n {
        dense[(k, k)] += mb.armature()[k];
    }
    let scale = dense.amax();
    assert!(scale > 0.0);
    ((rapier - dense).amax() / scale, n)
}

#[test]
fn the_humanoid_mass_matrix_matches_the_dense_sum_over_every_link() {
    // The free root and 17 hinges, some of them on massless links between multi-hinge bodies.
    for steps in [1, 25, 60] {
        let (err, n) = mass_matrix_error("humanoid.xml", steps);
        assert_eq!(n, 6 + 17);
        eprintln!("humanoid after {steps} steps: relative error {err:e}");
        assert!(err < 1e-5, "after {steps} steps: relative error {err}");
    }
}

#[test]
fn the_ant_and_the_cheetah_mass_matrices_match_the_dense_sum() {
    // The ant's free root and 8 hinges; the planar bodies' root as rapier3d-mjcf builds it
    // (a free joint of 6 and the file's root hinge, or its three slide and hinge joints).
    for (file, ndofs) in [("ant.xml", 6 + 8), ("half_cheetah.xml", 10), ("walker2d_v5.xml", 10)] {
        let (err, n) = mass_matrix_error(file, 40);
        assert_eq!(n, ndofs, "{file}");
        eprintln!("{file}: {n} dofs, relative error {err:e}");
        assert!(err < 1e-5, "{file}: relative error {err}");
    }
}
