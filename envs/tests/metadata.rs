//! Per-env metadata: every registered env declares what the tools need, the driving
//! sampler's plans are valid resets, and a missing piece is a clear error.

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use vlmgym_envs::metadata::{keymaps, Keys};
use vlmgym_envs::registry::{ids, spec};
use vlmgym_envs::{make, make_with, EnvError, EnvSpec, Options, ResetPlan, Value};

fn state_numbers(info: &vlmgym_envs::Info) -> BTreeMap<String, f64> {
    info["state"].as_object().unwrap().iter().filter_map(|(k, v)| v.as_f64().map(|x| (k.clone(), x))).collect()
}

/// The legged bodies: drawable, with no keyboard (17 torques do not map to arrows); of them
/// only HumanoidPose-v0 has a sampler and reward config (its pose facts).
const LOCOMOTION: [&str; 6] =
    ["Ant-v0", "HalfCheetah-v0", "Hopper-v0", "Walker2d-v0", "Humanoid-v0", "HumanoidPose-v0"];

#[test]
fn every_env_with_a_scene_declares_render_rate_keys_sampler_and_reward_config() {
    for id in ids() {
        let s = spec(&id).unwrap();
        let m = &s.metadata;
        assert!(m.require_render_fps(&id, "test").unwrap() > 0.0, "{id}");
        let mut env = make(&id).unwrap();
        env.reset(Some(0), &Options::new()).unwrap();
        let Some(scene) = env.scene() else { continue };
        if LOCOMOTION.contains(&id.as_str()) {
            // Drawn for checkpoint playback (issue 20: "keyboard-free"); the sampler and
            // reward config come with the humanoid's pose facts. Asking for a missing one is
            // a clear error, not a panic.
            let Err(e) = m.require_keyboard(&id, "test") else { panic!("{id} has a keyboard map") };
            assert!(e.to_string().contains(&format!("{id} does not declare a keyboard map")), "{e}");
            if id == "HumanoidPose-v0" {
                m.require_sampler(&id, "test").unwrap();
                m.require_reward_config(&id, "test").unwrap();
                let cam = m.reward_camera.as_deref().unwrap();
                assert!(scene.camera(cam).is_some(), "{id}'s reward camera `{cam}` is not in its scene");
            } else {
                assert!(m.require_sampler(&id, "test").is_err(), "{id}");
            }
            continue;
        }
        {
            // The keyboard acts in every drawable env's action space.
            let keys = m.require_keyboard(&id, "test").unwrap();
            let a = keys(env.action_space(), Keys { right: true, ..Keys::default() }).unwrap();
            env.action_space().check_action(&a).unwrap();
            m.require_sampler(&id, "test").unwrap();
            m.require_reward_config(&id, "test").unwrap();
            if let Some(cam) = &m.reward_camera {
                assert!(scene.camera(cam).is_some(), "{id}'s reward camera `{cam}` is not in its scene");
            }
        }
    }
}

#[test]
fn missing_metadata_is_an_error_naming_env_and_need() {
    let s = EnvSpec::new("Bare-v0", "no metadata", |k| {
        vlmgym_envs::registry::boxed(vlmgym_envs::classic::Pendulum::from_kwargs(k))
    });
    let err = s.metadata.require_sampler(&s.id, "`vlmgym dataset`").err().unwrap();
    assert!(matches!(err, EnvError::MissingMetadata { .. }));
    assert_eq!(
        err.to_string(),
        "Bare-v0 does not declare a state sampler (reward metadata), which `vlmgym dataset` needs"
    );
}

#[test]
fn keyboard_maps_follow_the_arrows() {
    let keys = |l, r, u, d| Keys { left: l, right: r, up: u, down: d, ..Keys::default() };
    let act = |id: &str, k: Keys| {
        let env = make(id).unwrap();
        (spec(id).unwrap().metadata.keyboard.unwrap())(env.action_space(), k).unwrap()
    };
    assert_eq!(act("CartPole-v1", keys(true, false, false, false)), Value::Discrete(0));
    assert_eq!(act("CartPole-v1", keys(false, true, false, false)), Value::Discrete(1));
    assert_eq!(act("MountainCar-v0", Keys::default()), Value::Discrete(1), "no key: the no-op");
    assert_eq!(act("MountainCar-v0", keys(false, true, false, false)), Value::Discrete(2));
    assert_eq!(act("Driving-v0", keys(true, false, true, false)), Value::Box(vec![1.0, 1.0]), "left steers +");
    assert_eq!(act("Driving-v0", keys(false, true, false, true)), Value::Box(vec![-1.0, -1.0]));
    assert_eq!(act("Driving-Discrete-v0", Keys::default()), Value::Discrete(7), "straight, coasting");
    assert_eq!(act("Driving-Discrete-v0", keys(true, false, true, false)), Value::Discrete(14));
    assert_eq!(act("Pendulum-v1", keys(true, false, false, false)), Value::Box(vec![-2.0]));
    // The navigation robot: arrows turn and go forward, down stops, nothing held waits.
    assert_eq!(act("NavGoTo-v0", keys(true, false, true, false)), Value::Discrete(0), "turning wins over forward");
    assert_eq!(act("NavGoTo-v0", keys(false, false, true, false)), Value::Discrete(2));
    assert_eq!(act("NavGoTo-v0", keys(false, false, false, true)), Value::Discrete(3));
    assert_eq!(act("NavGoTo-v0", Keys::default()), Value::Discrete(4));
    let env = make("Driving-v0").unwrap();
    let err = keymaps::left_right(env.action_space(), Keys::default()).unwrap_err().to_string();
    assert!(err.contains("keyboard cannot act"), "{err}");
}

fn driving_plans(hard: bool) -> Vec<ResetPlan> {
    let sampler = spec("Driving-v0").unwrap().metadata.sampler.unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    (0..400).map(|_| sampler.plan(&mut rng, hard)).collect()
}

#[test]
fn hard_cases_add_dense_close_calls_and_leave_the_plain_plans_alone() {
    let plain = driving_plans(false);
    assert!(plain.iter().all(|p| p.record_every == 8 && !p.options.contains_key("npc_ahead_speed")));
    let extra = driving_plans(true);
    let dense: Vec<&ResetPlan> = extra.iter().filter(|p| p.record_every == 3).collect();
    assert!((100..200).contains(&dense.len()), "{} of 400 plans are extra groups", dense.len());
    assert!(dense.iter().any(|p| p.options.contains_key("npc_ahead_speed")));
    assert!(dense.iter().any(|p| p.options.contains_key("npc_ahead") && !p.options.contains_key("npc_ahead_speed")));
    assert!(dense.iter().any(|p| !p.options.contains_key("npc_ahead")), "no drift-to-barrier groups");
    // Every extra group's reset options are valid for the env.
    let mut env = make_with("Driving-v0", &Options::new()).unwrap();
    for (i, p) in dense.iter().enumerate() {
        env.reset(Some(i as u64), &p.options).unwrap_or_else(|e| panic!("{:?}: {e}", p.options));
    }
}

#[test]
fn only_touching_frames_without_contact_are_ambiguous() {
    // Drive into a stopped car: every frame until contact is clear, the crash is not
    // ambiguous (it is captioned as what it is).
    let sampler = spec("Driving-v0").unwrap().metadata.sampler.unwrap();
    let mut env = make_with("Driving-v0", &Options::new()).unwrap();
    let mut opts = Options::new();
    opts.insert("speed".into(), json!(8.0));
    opts.insert("npc_ahead".into(), json!(6.0));
    env.reset(Some(5), &opts).unwrap();
    let full = Value::Box(vec![0.0, 1.0]);
    let mut crashed = false;
    for _ in 0..60 {
        let step = env.step(&full).unwrap();
        let state = state_numbers(&step.info);
        if state["gap_ahead"] > 1.0 {
            assert!(!sampler.ambiguous(&state), "{state:?}");
        }
        if step.terminated {
            assert_eq!(state["collision"], 1.0, "the run ends in a rear-end crash");
            assert!(!sampler.ambiguous(&state));
            assert!(!sampler.success(&step.info, true));
            assert_eq!(sampler.label(&["collision.car", "lane.centre"], false), Some(false));
            crashed = true;
            break;
        }
    }
    assert!(crashed, "never reached the car 6 m ahead");
    let near: BTreeMap<String, f64> = [("collision".into(), 0.0), ("gap_ahead".into(), 0.1)].into();
    assert!(sampler.ambiguous(&near));
    let cartpole = spec("CartPole-v1").unwrap().metadata.sampler.unwrap();
    assert!(!cartpole.ambiguous(&near), "only Driving frames are filtered");
}

#[test]
fn labels_come_from_facts() {
    let driving = spec("Driving-v0").unwrap().metadata.sampler.unwrap();
    assert_eq!(driving.label(&["lane.centre", "collision.none"], true), Some(true));
    assert_eq!(driving.label(&["lane.left", "collision.none"], true), None);
    assert_eq!(driving.label(&["lane.centre", "collision.barrier"], false), Some(false));
    let cartpole = spec("CartPole-v1").unwrap().metadata.sampler.unwrap();
    assert_eq!(cartpole.label(&["pole.upright"], true), Some(true));
    assert_eq!(cartpole.label(&["pole.fallen"], false), Some(false));
    assert_eq!(cartpole.label(&["pole.tilted"], true), None);
    let mc = spec("MountainCar-v0").unwrap().metadata.sampler.unwrap();
    // At the flag or not, whatever the step's flag says (a state at the flag moving left
    // has not terminated, one in the valley has not either).
    assert_eq!(mc.label(&["car.at_goal", "motion.left"], true), Some(true));
    assert_eq!(mc.label(&["car.at_goal", "motion.right"], false), Some(true));
    assert_eq!(mc.label(&["car.bottom", "motion.still"], true), Some(false));
    assert_eq!(mc.label(&["car.right_slope", "motion.right"], true), Some(false));
}
