//! Momentum of MJCF models: rapier's multibody integrator creates horizontal momentum while
//! joints move; `MjcfModel::step_conserving_momentum` keeps it to what the contacts give,
//! and `MjcfModel::contact_impulse` reports those contacts' impulses.

use std::path::PathBuf;

use vlmgym_physics::{BodyDesc, ColliderDesc, MjcfModel, World, WorldConfig};

const G: f32 = 9.81;

/// rapier's default solver (4 substeps of 1 sweep) and the locomotion envs' (1 substep of 8
/// sweeps, `GYMNASIUM_SOLVER`): the correction must hold on both.
const SOLVERS: [(usize, usize); 2] = [(4, 1), (1, 8)];

/// Gymnasium's half_cheetah (5 substeps of 0.01 s a step, rapier's `solver` substeps and
/// sweeps in each), its torso `lift` metres above its initial height, over a floor of
/// friction 0.4 when `floor`.
fn cheetah(lift: f64, floor: bool, solver: (usize, usize)) -> (World, MjcfModel) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets/robots/gymnasium/half_cheetah.xml");
    let mut world = World::new(WorldConfig { control_dt: 0.05, substeps: 5, gravity: G, z_up: true }, 0);
    world.set_solver_iterations(solver.0, solver.1);
    let model = MjcfModel::load(&mut world, &path).unwrap();
    if floor {
        let ground = world.add_body(&BodyDesc::fixed().position([0.0, 0.0, -0.5]));
        world.add_collider(&ColliderDesc::cuboid([100.0, 100.0, 0.5]).friction(0.4).friction_max(true), Some(ground));
    }
    let mut qpos = model.qpos(&world);
    qpos[1] += lift; // rootz
    let qvel = vec![0.0; model.nv()];
    model.set_state(&mut world, &qpos, &qvel).unwrap();
    (world, model)
}

/// Horizontal drift of the centre of mass of a cheetah falling freely for 5 s under random
/// controls.
fn free_fall_drift(conserve: bool, solver: (usize, usize)) -> f32 {
    let (mut world, model) = cheetah(200.0, false, solver);
    // Pseudo-random controls in [-1, 1] from a linear congruential generator.
    let mut state = 12345u64;
    let mut uniform = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    };
    world.step(); // masses exist from the first step on
    let x0 = model.center_of_mass(&world)[0];
    for _ in 0..100 {
        let ctrl: Vec<f32> = (0..6).map(|_| uniform()).collect();
        model.apply_controls(&mut world, &ctrl).unwrap();
        if conserve {
            model.step_conserving_momentum(&mut world);
        } else {
            world.step();
        }
    }
    model.center_of_mass(&world)[0] - x0
}

#[test]
fn a_falling_cheetah_keeps_its_centre_of_mass_over_the_same_spot() {
    for solver in SOLVERS {
        let raw = free_fall_drift(false, solver);
        let kept = free_fall_drift(true, solver);
        // rapier alone drifts (this is what the correction is for)...
        assert!(raw.abs() > 0.05, "{solver:?}: rapier's drift was expected to be large: {raw} m");
        // ...and with the correction the centre of mass stays put.
        assert!(kept.abs() < 1e-3, "{solver:?}: drift with the correction: {kept} m");
    }
}

#[test]
fn the_contact_impulse_of_a_resting_cheetah_carries_its_weight() {
    for solver in SOLVERS {
        let (mut world, model) = cheetah(0.0, true, solver);
        let zero = vec![0.0; 6];
        model.apply_controls(&mut world, &zero).unwrap();
        for _ in 0..40 {
            model.step_conserving_momentum(&mut world);
        }
        // At rest the floor's impulse over one substep is the weight times the substep.
        let impulse = model.contact_impulse(&world);
        let weight_dt = model.mass(&world) * G * world.substep_dt();
        assert!((impulse[2] - weight_dt).abs() < 0.05 * weight_dt, "{solver:?}: {impulse:?}, weight x dt {weight_dt}");
        assert!(impulse[0].abs() < 0.05 * weight_dt, "{solver:?}: a resting body gets no net friction: {impulse:?}");
    }
}

/// A cheetah that stood 1 s on the floor with zero controls, just pushed to 1 m/s along x.
fn cheetah_pushed(solver: (usize, usize)) -> (World, MjcfModel) {
    let (mut world, model) = cheetah(0.0, true, solver);
    model.apply_controls(&mut world, &[0.0; 6]).unwrap();
    for _ in 0..20 {
        world.step();
    }
    let mut qvel = model.qvel(&world);
    qvel[0] = 1.0;
    let qpos = model.qpos(&world);
    model.set_state(&mut world, &qpos, &qvel).unwrap();
    (world, model)
}

/// The speed (centre of mass, m/s) over 10 steps of a pushed cheetah.
fn pushed(conserve: bool, solver: (usize, usize)) -> Vec<f32> {
    let (mut world, model) = cheetah_pushed(solver);
    let mass = model.mass(&world);
    let mut speeds = vec![model.momentum(&world)[0] / mass];
    for _ in 0..10 {
        if conserve {
            model.step_conserving_momentum(&mut world);
        } else {
            world.step();
        }
        speeds.push(model.momentum(&world)[0] / mass);
    }
    speeds
}

#[test]
fn the_correction_keeps_what_the_floor_does_to_a_pushed_cheetah() {
    for solver in SOLVERS {
        let raw = pushed(false, solver);
        let kept = pushed(true, solver);
        assert!((raw[0] - 1.0).abs() < 0.05, "set_state gives the bodies the new velocity at once: {raw:?}");
        // The floor slows it down at mu g = 3.9 m/s^2 while its feet slide (0.2 s: to 0.22
        // m/s; before the cross-plane slide the sideways friction row took the whole cone
        // and the cheetah still moved at 0.9 m/s)...
        assert!((0.12..0.32).contains(&raw[4]), "{solver:?}: rapier alone: {raw:?}");
        // ...and the correction keeps the floor's impulses (a wrong sign on the friction
        // impulse would double or cancel the slowing).
        for (r, k) in raw.iter().zip(&kept) {
            assert!((r - k).abs() < 0.05, "{solver:?}: speeds without {raw:?} and with the correction {kept:?}");
        }
    }
}

#[test]
fn a_planar_model_has_no_sideways_friction_and_keeps_its_layout() {
    let (mut world, model) = cheetah_pushed(SOLVERS[1]);
    // The hidden cross-plane slide is not part of qpos / qvel (Gymnasium's 9 and 9).
    assert_eq!((model.nq(), model.nv()), (9, 9));
    assert_eq!(model.joints()[..3].iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["rootx", "rootz", "rooty"]);
    world.step();
    let j = model.contact_impulse(&world);
    // Sliding along x: friction along x at the cone's limit, none across the plane.
    assert!((j[0] + 0.4 * j[2]).abs() < 0.1 * j[2], "impulse {j:?}");
    assert!(j[1].abs() < 1e-3, "impulse {j:?}");
}

#[test]
fn set_state_moves_a_free_root_at_the_velocity_asked() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets/robots/gymnasium/ant.xml");
    let mut world = World::new(WorldConfig { control_dt: 0.05, substeps: 5, gravity: 0.0, z_up: true }, 0);
    let model = MjcfModel::load(&mut world, &path).unwrap();
    world.step(); // masses are computed at the first step
    let qpos = model.qpos(&world);
    let mut qvel = vec![0.0; model.nv()];
    qvel[0] = 0.5;
    qvel[1] = -0.25;
    model.set_state(&mut world, &qpos, &qvel).unwrap();
    let m = model.mass(&world);
    let p = model.momentum(&world);
    assert!((p[0] / m - 0.5).abs() < 1e-4 && (p[1] / m + 0.25).abs() < 1e-4, "momentum {p:?}, mass {m}");
    // The multibody carries it on: one second later the ant is half a metre along x.
    let x0 = model.center_of_mass(&world)[0];
    for _ in 0..20 {
        world.step();
    }
    let dx = model.center_of_mass(&world)[0] - x0;
    assert!((dx - 0.5).abs() < 0.01, "moved {dx} m in 1 s");
    assert!((model.qvel(&world)[0] - 0.5).abs() < 1e-3, "qvel {:?}", &model.qvel(&world)[..3]);
}
