//! The locomotion family: Gymnasium's MuJoCo bodies loaded from their MJCF files, with
//! Gymnasium v5's spaces, reward terms, termination and determinism.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vlmgym_envs::checker::check_env;
use vlmgym_envs::locomotion::{Body, Legged, LeggedConfig};
use vlmgym_envs::{make, make_with, Env, Options, Space, Value};

const IDS: [&str; 6] = ["Ant-v0", "HalfCheetah-v0", "Hopper-v0", "Walker2d-v0", "Humanoid-v0", "HumanoidPose-v0"];

fn random_action(space: &Space, rng: &mut ChaCha8Rng) -> Value {
    let Space::Box(b) = space else { panic!("continuous actions") };
    Value::Box(b.low().iter().zip(b.high()).map(|(&l, &h)| rng.random_range(l..h)).collect())
}

#[test]
fn spaces_are_gymnasium_v5s_without_the_optional_contact_and_inertia_terms() {
    // (id, observation size, action size, action bound)
    for (id, obs, act, bound) in [
        ("Ant-v0", 27, 8, 1.0),
        ("HalfCheetah-v0", 17, 6, 1.0),
        ("Hopper-v0", 11, 3, 1.0),
        ("Walker2d-v0", 17, 6, 1.0),
        ("Humanoid-v0", 45, 17, 0.4),
    ] {
        let env = make(id).unwrap();
        assert_eq!(env.observation_space().flatdim(), obs, "{id}");
        let Space::Box(b) = env.action_space() else { panic!() };
        assert_eq!(b.shape(), [act], "{id}");
        assert!(b.low().iter().all(|&l| l == -bound) && b.high().iter().all(|&h| h == bound), "{id}");
    }
    let mut kw = Options::new();
    kw.insert("exclude_current_positions_from_observation".into(), false.into());
    assert_eq!(make_with("Ant-v0", &kw).unwrap().observation_space().flatdim(), 29);
}

#[test]
fn every_body_passes_the_env_checker_and_stays_finite_under_random_play() {
    for id in IDS {
        let mut env = make(id).unwrap();
        check_env(env.as_mut(), 3, 50).unwrap_or_else(|e| panic!("{id}: {e}"));
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        env.reset(Some(1), &Options::new()).unwrap();
        for t in 0..1500 {
            let s = env.step(&random_action(env.action_space(), &mut rng)).unwrap();
            assert!(s.reward.is_finite(), "{id} step {t}");
            assert!(s.obs.as_box().unwrap().iter().all(|v| v.is_finite()), "{id} step {t}");
            if s.terminated || s.truncated {
                env.reset(Some(t as u64), &Options::new()).unwrap();
            }
        }
    }
}

#[test]
fn same_seed_same_trajectory_another_seed_another() {
    for id in IDS {
        let run = |seed: u64| {
            let mut env = make(id).unwrap();
            let (first, _) = env.reset(Some(seed), &Options::new()).unwrap();
            let mut rng = ChaCha8Rng::seed_from_u64(9);
            let mut out = vec![first];
            for _ in 0..30 {
                let s = env.step(&random_action(env.action_space(), &mut rng)).unwrap();
                out.push(s.obs);
                if s.terminated {
                    break;
                }
            }
            out
        };
        assert_eq!(run(4), run(4), "{id}");
        assert_ne!(run(4)[0], run(5)[0], "{id}: the reset noise depends on the seed");
    }
}

#[test]
fn rewards_are_v5s_terms() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    // HalfCheetah: forward velocity - 0.1 |a|^2, never terminates.
    let mut env = make("HalfCheetah-v0").unwrap();
    env.reset(Some(0), &Options::new()).unwrap();
    for _ in 0..40 {
        let a = random_action(env.action_space(), &mut rng);
        let s = env.step(&a).unwrap();
        let sq: f64 = a.as_box().unwrap().iter().map(|&v| (v as f64).powi(2)).sum();
        let vx = s.info["x_velocity"].as_f64().unwrap();
        assert!((s.reward - (vx - 0.1 * sq)).abs() < 1e-9, "{} vs {}", s.reward, vx - 0.1 * sq);
        assert!(!s.terminated);
    }
    // Ant: forward + 1 healthy - 0.5 |a|^2 - contact; the terms in info add up.
    let mut env = make("Ant-v0").unwrap();
    env.reset(Some(0), &Options::new()).unwrap();
    for _ in 0..20 {
        let a = random_action(env.action_space(), &mut rng);
        let s = env.step(&a).unwrap();
        let term = |k: &str| s.info[k].as_f64().unwrap();
        let sq: f64 = a.as_box().unwrap().iter().map(|&v| (v as f64).powi(2)).sum();
        assert!((term("reward_ctrl") + 0.5 * sq).abs() < 1e-9);
        assert!(term("reward_contact") <= 0.0);
        let sum = term("reward_forward") + term("reward_survive") + term("reward_ctrl") + term("reward_contact");
        assert!((s.reward - sum).abs() < 1e-9);
        if s.terminated {
            assert_eq!(term("reward_survive"), 0.0, "v5 pays the healthy reward only while healthy");
            break;
        }
        assert_eq!(term("reward_survive"), 1.0);
    }
}

/// The step at which a zero-action humanoid's episode ends (torso below 1.0 m), on rapier's
/// `solver` (kwargs `solver_iterations`, `pgs_iterations`; None: the env's default).
fn zero_action_humanoid_falls_at(solver: Option<(usize, usize)>) -> usize {
    let mut kw = Options::new();
    if let Some((substeps, sweeps)) = solver {
        kw.insert("solver_iterations".into(), substeps.into());
        kw.insert("pgs_iterations".into(), sweeps.into());
    }
    let mut env = Legged::from_kwargs(Body::Humanoid, &kw).unwrap();
    env.reset(Some(0), &Options::new()).unwrap();
    let z0 = env.qpos().unwrap()[2];
    assert!((z0 - 1.4).abs() < 0.02, "starts at the model's height: {z0}");
    let zero = Value::Box(vec![0.0; 17]);
    for t in 1..=200 {
        let s = env.step(&zero).unwrap();
        let z = env.qpos().unwrap()[2];
        if t <= 10 {
            assert!(z > 1.2 && !s.terminated, "{solver:?}: still standing at step {t}: z {z}");
        }
        if s.terminated {
            assert!(z < 1.0, "{solver:?}: ends when the torso drops below 1.0: {z}");
            return t;
        }
    }
    panic!("{solver:?}: a humanoid without torques falls within 200 steps");
}

/// MuJoCo (Gymnasium's Humanoid-v5, no reset noise, zero actions) ends the episode at step
/// 40; rapier's default solver and the env's both fall within a quarter of that.
#[test]
fn a_zero_action_humanoid_stands_at_first_then_falls_as_in_mujoco() {
    for solver in [None, Some((4, 1))] {
        let t = zero_action_humanoid_falls_at(solver);
        assert!((30..=50).contains(&t), "{solver:?}: fell at step {t}, MuJoCo at 40");
    }
}

#[test]
fn the_solver_kwargs_set_rapiers_substeps_and_sweeps() {
    let env = Legged::from_kwargs(Body::Ant, &Options::new()).unwrap();
    assert_eq!(env.config().solver, vlmgym_envs::locomotion::GYMNASIUM_SOLVER);
    let pose = LeggedConfig::humanoid_pose(&Options::new()).unwrap();
    assert_eq!(pose.solver, vlmgym_envs::locomotion::HUMANOID_POSE_SOLVER);
    let mut kw = Options::new();
    kw.insert("solver_iterations".into(), 2.into());
    let env = Legged::from_kwargs(Body::Hopper, &kw).unwrap();
    assert_eq!(env.config().solver, (2, vlmgym_envs::locomotion::GYMNASIUM_SOLVER.1));
    for key in ["solver_iterations", "pgs_iterations"] {
        let mut kw = Options::new();
        kw.insert(key.into(), 0.into());
        let e = make_with("Ant-v0", &kw).err().unwrap().to_string();
        assert!(e.contains(key) && e.contains("at least 1"), "{e}");
    }
}

#[test]
fn bad_input_is_a_clear_error() {
    let mut env = make("Ant-v0").unwrap();
    let e = env.step(&Value::Box(vec![0.0; 8])).unwrap_err().to_string();
    assert!(e.contains("reset"), "{e}");
    env.reset(Some(0), &Options::new()).unwrap();
    let e = env.step(&Value::Box(vec![0.0; 3])).unwrap_err().to_string();
    assert!(e.contains('8') || e.contains("shape"), "{e}");
    let e = env.step(&Value::Box(vec![f32::NAN; 8])).unwrap_err().to_string();
    assert!(e.to_lowercase().contains("nan") || e.contains("finite"), "{e}");
    let mut kw = Options::new();
    kw.insert("ctrl_cost_weight".into(), (-1.0).into());
    let e = make_with("Ant-v0", &kw).err().unwrap().to_string();
    assert!(e.contains("ctrl_cost_weight"), "{e}");
    kw.clear();
    kw.insert("healthy_z_rang".into(), 1.into());
    let e = make_with("Hopper-v0", &kw).err().unwrap().to_string();
    assert!(e.contains("healthy_z_rang"), "{e}");
}

#[test]
fn every_body_draws_its_geoms_on_a_floor_from_cameras_that_follow_it() {
    for id in IDS {
        let mut env = make(id).unwrap();
        assert!(env.scene().is_none(), "{id}: no scene before the first reset");
        env.reset(Some(3), &Options::new()).unwrap();
        let first = env.scene().unwrap();
        let names: Vec<&str> = first.cameras.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["track", "side", "front", "top"], "{id}");
        assert_eq!(first.objects[0].name, "floor");
        assert!(first.objects.len() >= 5, "{id}: {} objects", first.objects.len());
        // Z up in the world is Y up in the Scene: every geom of a body resting on the floor
        // is above it and below 2 m.
        for o in &first.objects[1..] {
            let h = o.pose.translation[1];
            assert!((-0.05..2.0).contains(&h), "{id}: {} at height {h}", o.name);
        }
        // After random play the objects keep their names, the fixed side camera stays and
        // the tracking camera aims at the torso (whose x is `x_position`, except for the
        // humanoid, whose progress is its centre of mass).
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut x = 0.0;
        for _ in 0..30 {
            let a = random_action(env.action_space(), &mut rng);
            let step = env.step(&a).unwrap();
            x = step.info["x_position"].as_f64().unwrap() as f32;
            if step.done() {
                break;
            }
        }
        let later = env.scene().unwrap();
        let object_names = |s: &vlmgym_envs::Scene| s.objects.iter().map(|o| o.name.clone()).collect::<Vec<_>>();
        assert_eq!(object_names(&first), object_names(&later), "{id}");
        assert_eq!(first.camera("side"), later.camera("side"), "{id}");
        let track = later.camera("track").unwrap();
        // The humanoids' progress is the centre of mass, up to 0.4 m from a falling torso.
        let tolerance = if id.starts_with("Humanoid") { 0.4 } else { 1e-3 };
        assert!(
            (track.target[0] - x).abs() < tolerance,
            "{id}: track aims at x {} with the torso at {x}",
            track.target[0]
        );
        assert_eq!(later.camera("front").unwrap().target, track.target, "{id}");
    }
}

/// rapier can diverge (bang-bang torques on the humanoid put a hip at 1e32 rad/s, then NaN
/// inside its solver, which panicked). Started at a speed no sound simulation reaches, the
/// env must not panic or hand out garbage: the step ends the episode, truncated, with the
/// last good observation, no reward and `physics_unstable`, and the next step asks for a
/// reset. A sane start does not trip it.
#[test]
fn a_diverging_simulation_ends_the_episode_cleanly() {
    for body in [Body::Humanoid, Body::HalfCheetah, Body::Ant] {
        let mut env = Legged::from_kwargs(body, &Options::new()).unwrap();
        let zero = Value::Box(vec![0.0; env.action_space().flatdim()]);
        env.reset(Some(0), &Options::new()).unwrap();
        let s = env.step(&zero).unwrap();
        assert!(s.info.get("physics_unstable").is_none(), "{body:?}: a sane start tripped the check");
        // The last joint at 100,000 rad/s.
        let mut qvel = vec![0.0; env.qvel().unwrap().len()];
        *qvel.last_mut().unwrap() = 1e5;
        let mut opts = Options::new();
        opts.insert("qvel".into(), serde_json::json!(qvel));
        let (first, _) = env.reset(Some(0), &opts).unwrap();
        let s = env.step(&zero).unwrap();
        assert_eq!(s.info.get("physics_unstable"), Some(&serde_json::json!(true)), "{body:?}: {:?}", s.info);
        assert!(s.truncated && !s.terminated && s.reward == 0.0);
        assert_eq!(s.obs, first, "{body:?}: the last good observation");
        let again = env.step(&zero).unwrap_err().to_string();
        assert!(again.contains("reset"), "{again}");
    }
}

/// `contact_frequency` softens every contact: an ant resting on its legs sinks into the
/// floor by some centimetres (a spring of 3 Hz gives g / (2 pi f)^2 = 27 mm; the legs'
/// slant adds to it, and rapier's soft constraint is softer on the Gymnasium solver's one
/// 10 ms substep than on four of 2.5 ms: 6.8 cm against 3.5), where rapier's stiff default
/// holds it; bad values name the kwarg.
#[test]
fn softer_contacts_let_a_resting_body_sink_deeper() {
    let rest = |kw: Options| {
        let mut env = Legged::from_kwargs(Body::Ant, &kw).unwrap();
        env.reset(Some(0), &Options::new()).unwrap();
        for _ in 0..100 {
            env.step(&Value::Box(vec![0.0; 8])).unwrap();
        }
        env.qpos().unwrap()[2]
    };
    let stiff = rest(Options::new());
    let mut kw = Options::new();
    kw.insert("contact_frequency".into(), 3.0.into());
    let soft = rest(kw.clone());
    assert!((0.01..0.1).contains(&(stiff - soft)), "stiff rests at {stiff}, 3 Hz at {soft}");
    kw.insert("contact_frequency".into(), 0.0.into());
    let e = make_with("Ant-v0", &kw).err().unwrap().to_string();
    assert!(e.contains("contact_frequency"), "{e}");
    kw.insert("contact_frequency".into(), 8.0.into());
    kw.insert("contact_damping_ratio".into(), (-1.0).into());
    let e = make_with("Ant-v0", &kw).err().unwrap().to_string();
    assert!(e.contains("contact_damping_ratio"), "{e}");
}
