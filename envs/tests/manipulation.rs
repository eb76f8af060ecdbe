//! The Panda arm tasks: the env contract, determinism, the scripted experts' success,
//! ManiSkill3's reward semantics, grasp detection and clear errors.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vlmgym_envs::manipulation::{Arm, ArmConfig, ControlMode, RewardMode, Task};
use vlmgym_envs::{check_env, make, make_with, Env, Options, Value};

const IDS: [&str; 3] = ["ArmReach-v0", "ArmPushCube-v0", "ArmPickCube-v0"];

fn config(task: Task, control_mode: ControlMode) -> ArmConfig {
    ArmConfig { task, control_mode, reward_mode: RewardMode::Dense, qpos_noise: 0.02, terminate_on_success: true }
}

/// The push sampler's label of `env`'s current state, from its captions' facts and `info`.
fn label(env: &dyn Env, sampler: &dyn vlmgym_envs::StateSampler, info: &vlmgym_envs::Info) -> Option<bool> {
    let facts: Vec<String> = env.captions().into_iter().map(|c| c.fact).collect();
    let facts: Vec<&str> = facts.iter().map(|s| s.as_str()).collect();
    sampler.label(&facts, sampler.success(info, false))
}

fn random_action(rng: &mut ChaCha8Rng, dim: usize) -> Value {
    Value::Box((0..dim).map(|_| rng.random_range(-1.0..1.0f32)).collect())
}

#[test]
fn every_arm_env_passes_the_checker_with_maniskill_shapes() {
    for (id, obs, act) in [("ArmReach-v0", 31, 4), ("ArmPushCube-v0", 35, 4), ("ArmPickCube-v0", 42, 4)] {
        let mut env = make(id).unwrap();
        check_env(env.as_mut(), 3, 60).unwrap_or_else(|e| panic!("{id}: {e}"));
        let (o, info) = env.reset(Some(1), &Options::new()).unwrap();
        assert_eq!(o.as_box().unwrap().len(), obs, "{id}");
        assert_eq!(env.action_space().flatdim(), act, "{id}");
        assert_eq!(info["success"], false, "{id}");
    }
    let mut kw = Options::new();
    kw.insert("control_mode".into(), "pd_joint_delta_pos".into());
    assert_eq!(make_with("ArmPushCube-v0", &kw).unwrap().action_space().flatdim(), 8);
}

#[test]
fn same_seed_same_trajectory_and_random_play_stays_finite() {
    for id in IDS {
        let run = |seed: u64| {
            let mut env = make(id).unwrap();
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let (mut obs, _) = env.reset(Some(seed), &Options::new()).unwrap();
            let mut trace = vec![obs.as_box().unwrap().to_vec()];
            for _ in 0..400 {
                let s = env.step(&random_action(&mut rng, 4)).unwrap();
                assert!(s.reward.is_finite(), "{id}: reward {}", s.reward);
                let done = s.done();
                obs = s.obs;
                let o = obs.as_box().unwrap();
                assert!(o.iter().all(|x| x.is_finite()), "{id}: non-finite obs {o:?}");
                trace.push(o.to_vec());
                if done {
                    obs = env.reset(None, &Options::new()).unwrap().0;
                    trace.push(obs.as_box().unwrap().to_vec());
                }
            }
            trace
        };
        let a = run(7);
        assert_eq!(a, run(7), "{id}: same seed, same trajectory");
        assert_ne!(a, run(8), "{id}: another seed, another trajectory");
    }
}

fn expert_success(task: Task, control_mode: ControlMode, seeds: u64) -> (u64, Vec<Vec<bool>>) {
    let mut env = Arm::new(config(task, control_mode)).unwrap();
    let mut wins = 0;
    let mut grasps = Vec::new();
    for seed in 0..seeds {
        env.reset(Some(1000 + seed), &Options::new()).unwrap();
        let mut g = Vec::new();
        for _ in 0..50 {
            let s = env.step(&env.expert_action().unwrap()).unwrap();
            g.push(s.info["is_grasped"] == true);
            if s.terminated {
                assert_eq!(s.info["success"], true);
                wins += 1;
                break;
            }
        }
        grasps.push(g);
    }
    (wins, grasps)
}

#[test]
fn scripted_experts_solve_every_task() {
    for task in [Task::Reach, Task::PushCube, Task::PickCube] {
        let (wins, _) = expert_success(task, ControlMode::EeDeltaPos, 30);
        assert!(wins >= 29, "{task:?} with pd_ee_delta_pos: {wins}/30");
    }
    let (wins, _) = expert_success(Task::PickCube, ControlMode::JointDeltaPos, 20);
    assert!(wins >= 19, "PickCube with pd_joint_delta_pos: {wins}/20");
}

#[test]
fn a_pick_grasps_before_it_lifts_and_a_push_never_grasps() {
    let (_, grasps) = expert_success(Task::PickCube, ControlMode::EeDeltaPos, 5);
    for g in &grasps {
        let first = g.iter().position(|&x| x).expect("the expert grasps the cube");
        assert!(first >= 3, "not grasped at the start: {g:?}");
        assert!(g[first..].iter().filter(|&&x| x).count() >= 3, "the grasp holds: {g:?}");
    }
    let (_, grasps) = expert_success(Task::PushCube, ControlMode::EeDeltaPos, 5);
    assert!(grasps.iter().flatten().all(|&x| !x), "pushing with closed fingers is no grasp");
}

#[test]
fn rewards_follow_maniskill_semantics() {
    // Reach: 1 - tanh(5 d) before success, the maximum 2 on success.
    let mut env = Arm::new(config(Task::Reach, ControlMode::EeDeltaPos)).unwrap();
    env.reset(Some(4), &Options::new()).unwrap();
    let s = env.step(&Value::Box(vec![0.0; 4])).unwrap();
    let d = s.info["state"]["tcp_to_goal"].as_f64().unwrap();
    assert!((s.reward - (1.0 - (5.0 * d).tanh())).abs() < 1e-4, "{} vs d {d}", s.reward);
    let mut last = s;
    for _ in 0..50 {
        last = env.step(&env.expert_action().unwrap()).unwrap();
        if last.terminated {
            break;
        }
    }
    assert!(last.terminated && last.reward == 2.0);
    // Normalised dense (the default) divides by the maximum; sparse is the success flag.
    let mut kw = Options::new();
    let mut env = make("ArmPushCube-v0").unwrap();
    env.reset(Some(4), &Options::new()).unwrap();
    let s = env.step(&Value::Box(vec![0.0; 4])).unwrap();
    let reaching = s.info["reward_reaching"].as_f64().unwrap();
    assert!((s.reward - reaching / 4.0).abs() < 1e-9 && s.reward > 0.0 && s.reward < 1.0 / 4.0);
    kw.insert("reward_mode".into(), "sparse".into());
    let mut env = make_with("ArmPushCube-v0", &kw).unwrap();
    env.reset(Some(4), &Options::new()).unwrap();
    assert_eq!(env.step(&Value::Box(vec![0.0; 4])).unwrap().reward, 0.0);
    kw.insert("reward_mode".into(), "dense".into());
    let mut env = make_with("ArmPushCube-v0", &kw).unwrap();
    env.reset(Some(4), &Options::new()).unwrap();
    let s = env.step(&Value::Box(vec![0.0; 4])).unwrap();
    assert_eq!(s.reward, s.info["reward_reaching"].as_f64().unwrap(), "far from the push point only reaching counts");
}

#[test]
fn bad_actions_and_kwargs_are_clear_errors() {
    let mut env = make("ArmReach-v0").unwrap();
    let err = env.step(&Value::Box(vec![0.0; 4])).unwrap_err();
    assert!(err.to_string().contains("reset"), "{err}");
    env.reset(Some(0), &Options::new()).unwrap();
    let err = env.step(&Value::Box(vec![0.0; 3])).unwrap_err();
    assert!(err.to_string().contains("expected 4 elements"), "{err}");
    let err = env.step(&Value::Box(vec![0.0, f32::NAN, 0.0, 0.0])).unwrap_err();
    assert!(err.to_string().contains("NaN"), "{err}");
    let mut kw = Options::new();
    kw.insert("control_mode".into(), "pd_ee_pose".into());
    let err = make_with("ArmReach-v0", &kw).err().expect("an unknown controller is an error");
    assert!(err.to_string().contains("control_mode") && err.to_string().contains("pd_ee_delta_pos"), "{err}");
    // The episode goes on after a rejected action.
    assert!(env.step(&Value::Box(vec![0.1; 4])).is_ok());
}

#[test]
fn the_scene_draws_the_arm_meshes_and_captions_follow_the_state() {
    let mut env = Arm::new(config(Task::PickCube, ControlMode::EeDeltaPos)).unwrap();
    assert!(env.scene().is_none(), "no scene before reset");
    env.reset(Some(2), &Options::new()).unwrap();
    let scene = env.scene().unwrap();
    let meshes: Vec<&str> = scene
        .objects
        .iter()
        .filter_map(|o| match &o.shape {
            vlmgym_envs::Shape::Mesh { name, .. } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(meshes.len(), 9, "link0-7 and the hand: {meshes:?}");
    for name in &meshes {
        let mesh = vlmgym_envs::scene::meshes::get(name).unwrap_or_else(|| panic!("{name} is registered"));
        assert!(mesh.triangles.len() > 50);
    }
    let names: Vec<String> = scene.objects.iter().map(|o| o.name.clone()).collect();
    assert!(names.contains(&"cube".to_string()) && names.contains(&"goal".to_string()));
    for cam in ["front", "workspace", "base", "side", "top"] {
        assert!(scene.camera(cam).is_some(), "{cam}");
    }
    // The cube is drawn where the state says, in the Y-up scene frame.
    let s = env.state().unwrap().clone();
    let cube = scene.object("cube").unwrap().pose.translation;
    assert!(
        (cube[0] - s.cube[0]).abs() < 1e-5 && (cube[1] - s.cube[2]).abs() < 1e-5 && (cube[2] + s.cube[1]).abs() < 1e-5
    );
    let facts = |env: &Arm| env.captions().into_iter().map(|c| c.fact).collect::<Vec<_>>();
    let start = facts(&env);
    assert!(start.contains(&"gripper.open".into()) && start.contains(&"cube.on_table".into()), "{start:?}");
    let mut held = false;
    for _ in 0..50 {
        let step = env.step(&env.expert_action().unwrap()).unwrap();
        let f = facts(&env);
        held |= f.contains(&"gripper.holding_cube".into()) && f.contains(&"cube.lifted".into());
        if step.terminated {
            assert!(f.contains(&"cube.on_target".into()), "{f:?}");
            break;
        }
    }
    assert!(held, "the expert's lift is captioned as holding a lifted cube");
    let after = env.scene().unwrap();
    assert_eq!(after.objects.iter().map(|o| o.name.clone()).collect::<Vec<_>>(), names, "names stay the same");
}

#[test]
fn reset_options_place_the_cube_and_goal_and_the_push_sampler_labels_both_sides() {
    let mut env = make("ArmPushCube-v0").unwrap();
    let mut opts = Options::new();
    opts.insert("cube_xy".into(), serde_json::json!([0.05, -0.02]));
    opts.insert("goal_xy".into(), serde_json::json!([0.08, 0.0]));
    let (obs, info) = env.reset(Some(1), &opts).unwrap();
    let o = obs.as_box().unwrap();
    assert_eq!(&o[25..27], &[0.08, 0.0], "goal position in the observation");
    assert!((o[28] - 0.05).abs() < 1e-6 && (o[29] + 0.02).abs() < 1e-6, "cube position {:?}", &o[28..31]);
    assert_eq!(info["state"]["success"], 1.0, "a cube placed in the disc is a success");
    opts.insert("cube_xy".into(), serde_json::json!([0.9, 0.0]));
    let err = env.reset(Some(1), &opts).unwrap_err().to_string();
    assert!(err.contains("cube_xy") && err.contains("0.5 m"), "{err}");
    let mut reach = make("ArmReach-v0").unwrap();
    let mut opts = Options::new();
    opts.insert("cube_xy".into(), serde_json::json!([0.0, 0.0]));
    assert!(reach.reset(Some(1), &opts).unwrap_err().to_string().contains("no cube"));

    let spec = vlmgym_envs::registry::spec("ArmPushCube-v0").unwrap();
    let sampler = spec.metadata.require_sampler("ArmPushCube-v0", "test").unwrap();
    assert!(
        env.reset(Some(1), &serde_json::from_str(r#"{"goal_z": 0.1}"#).unwrap()).is_err(),
        "a push goal has no height"
    );
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let (mut on, mut far) = (0, 0);
    for _ in 0..40 {
        let plan = sampler.plan(&mut rng, false);
        let (_, info) = env.reset(Some(3), &plan.options).unwrap();
        match label(env.as_ref(), sampler, &info) {
            Some(true) => on += 1,
            Some(false) => far += 1,
            None => {}
        }
    }
    assert!(on >= 10 && far >= 10, "both labels drawn: {on} on target, {far} far");
}

#[test]
fn the_push_sampler_lays_scenes_out_as_the_task_does_out_to_the_arms_stretch() {
    // PushCube's goal is 0.2 m ahead of the spawn in +x, so half its successes lie past
    // x = 0.2; a reward model judged only on goals around the spawn square misses them.
    let spec = vlmgym_envs::registry::spec("ArmPushCube-v0").unwrap();
    let sampler = spec.metadata.require_sampler("ArmPushCube-v0", "test").unwrap();
    let mut env = make("ArmPushCube-v0").unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let (mut far_goals, mut far_on, mut far_off) = (0, 0, 0);
    for i in 0..60 {
        let plan = sampler.plan(&mut rng, false);
        let goal = plan.options["goal_xy"].as_array().unwrap()[0].as_f64().unwrap();
        let (_, info) = env.reset(Some(i), &plan.options).unwrap();
        if goal > 0.2 {
            far_goals += 1;
            match label(env.as_ref(), sampler, &info) {
                Some(true) => far_on += 1,
                Some(false) => far_off += 1,
                None => {}
            }
        }
    }
    assert!((10..=30).contains(&far_goals), "{far_goals} of 60 goals past x = 0.2");
    assert!(far_on >= 3 && far_off >= 3, "far goals with the cube on ({far_on}) and far from ({far_off}) them");
}

#[test]
fn the_push_samplers_hard_cases_hover_the_gripper_over_the_goal_with_the_cube_elsewhere() {
    // The state text-goal policies faked success with (the gripper covering the goal
    // marker): only in hard cases, labelled "far from the target".
    let spec = vlmgym_envs::registry::spec("ArmPushCube-v0").unwrap();
    let sampler = spec.metadata.require_sampler("ArmPushCube-v0", "test").unwrap();
    let mut env = make("ArmPushCube-v0").unwrap();
    let hovering = |o: &[f32]| {
        let d = |a: usize, b: usize| ((o[a] - o[b]).powi(2) + (o[a + 1] - o[b + 1]).powi(2)).sqrt();
        d(18, 25) < 0.035 && o[20] < 0.11 && d(28, 25) > 0.15
    };
    let mut count = |hard: bool| {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut n = 0;
        for i in 0..60 {
            let plan = sampler.plan(&mut rng, hard);
            let (obs, info) = env.reset(Some(i), &plan.options).unwrap();
            let o = obs.as_box().unwrap().to_vec();
            if hovering(&o) {
                assert_eq!(label(env.as_ref(), sampler, &info), Some(false), "{:?}", env.captions());
                n += 1;
            }
        }
        n
    };
    let (plain, hard) = (count(false), count(true));
    assert!(plain <= 1, "{plain} of 60 plain plans hover over the goal");
    assert!((6..=24).contains(&hard), "{hard} of 60 hard plans hover over the goal");
}

#[test]
fn the_keyboard_moves_the_gripper() {
    use vlmgym_envs::Keys;
    let spec = vlmgym_envs::registry::spec("ArmReach-v0").unwrap();
    let keys = spec.metadata.require_keyboard("ArmReach-v0", "test").unwrap();
    let mut env = make("ArmReach-v0").unwrap();
    let tcp = |o: &Value| o.as_box().unwrap()[18..21].to_vec();
    let (start, _) = env.reset(Some(0), &Options::new()).unwrap();
    let mut last = start.clone();
    for _ in 0..5 {
        let a = keys(env.action_space(), Keys { up: true, raise: true, grip: true, ..Keys::default() }).unwrap();
        assert_eq!(a.as_box().unwrap(), &[0.5, 0.0, 0.5, -1.0]);
        last = env.step(&a).unwrap().obs;
    }
    let (a, b) = (tcp(&start), tcp(&last));
    // Five steps of 5 cm commands: the PD drives lag a little behind.
    assert!(b[0] - a[0] > 0.07 && b[2] - a[2] > 0.07 && (b[1] - a[1]).abs() < 0.02, "{a:?} -> {b:?}");
    assert!(last.as_box().unwrap()[7] < 0.01, "G closed the fingers");
    let mut kw = Options::new();
    kw.insert("control_mode".into(), "pd_joint_delta_pos".into());
    let joint = make_with("ArmReach-v0", &kw).unwrap();
    assert!(keys(joint.action_space(), Keys::default()).is_err(), "joint control has no key map");
}

#[test]
fn a_push_is_captioned_as_touching_the_cube_not_holding_it() {
    let mut env = Arm::new(config(Task::PushCube, ControlMode::EeDeltaPos)).unwrap();
    env.reset(Some(1001), &Options::new()).unwrap();
    let facts = |env: &Arm| env.captions().into_iter().map(|c| c.fact).collect::<Vec<_>>();
    assert!(!facts(&env).contains(&"gripper.touching_cube".into()), "the gripper starts away from the cube");
    let (mut touching, mut holding) = (0, 0);
    for _ in 0..50 {
        let step = env.step(&env.expert_action().unwrap()).unwrap();
        let f = facts(&env);
        touching += f.contains(&"gripper.touching_cube".into()) as usize;
        holding += f.contains(&"gripper.holding_cube".into()) as usize;
        if step.terminated {
            break;
        }
    }
    assert!(touching >= 3, "the push is captioned as touching on {touching} steps");
    assert_eq!(holding, 0);
}

#[test]
fn the_tcp_xyz_option_starts_the_gripper_there_and_refuses_bad_places() {
    let mut env = Arm::new(config(Task::PushCube, ControlMode::EeDeltaPos)).unwrap();
    let opts = |v: serde_json::Value| -> Options { serde_json::from_value(v).unwrap() };
    env.reset(Some(2), &opts(serde_json::json!({"cube_xy": [0.0, 0.0], "tcp_xyz": [-0.04, 0.01, 0.03]}))).unwrap();
    let tcp = env.state().unwrap().tcp;
    let err = ((tcp[0] + 0.04).powi(2) + (tcp[1] - 0.01).powi(2) + (tcp[2] - 0.03).powi(2)).sqrt();
    assert!(err < 0.005, "TCP at {tcp:?}");
    let e = env
        .reset(Some(2), &opts(serde_json::json!({"cube_xy": [0.0, 0.0], "tcp_xyz": [0.0, 0.005, 0.02]})))
        .unwrap_err()
        .to_string();
    assert!(e.contains("tcp_xyz") && e.contains("inside the cube"), "{e}");
    let e = env.reset(Some(2), &opts(serde_json::json!({"tcp_xyz": [0.39, 0.39, 0.0]}))).unwrap_err().to_string();
    assert!(e.contains("tcp_xyz") && e.contains("reach"), "{e}");
    let e = env.reset(Some(2), &opts(serde_json::json!({"tcp_xyz": [0.0, 0.0, 0.9]}))).unwrap_err().to_string();
    assert!(e.contains("tcp_xyz") && e.contains("0.5 m"), "{e}");
}

#[test]
fn the_expert_reaches_through_the_registry_and_action_wrappers() {
    // `Env::expert_action` on a registered (wrapped, boxed) env is the arm's own expert;
    // RescaleAction maps it into its range; an env without an expert says so.
    use vlmgym_envs::wrappers::RescaleAction;
    let mut env = make("ArmPushCube-v0").unwrap();
    assert!(Env::expert_action(&env).is_err(), "no state before the first reset");
    env.reset(Some(4), &Options::new()).unwrap();
    let mut arm = Arm::new(config(Task::PushCube, ControlMode::EeDeltaPos)).unwrap();
    arm.reset(Some(4), &Options::new()).unwrap();
    let own = arm.expert_action().unwrap();
    assert_eq!(Env::expert_action(&env).unwrap(), Some(own.clone()));
    let rescaled = RescaleAction::new(env, 0.0, 1.0).unwrap();
    let Some(Value::Box(a)) = Env::expert_action(&rescaled).unwrap() else { panic!("a Box action") };
    let Value::Box(b) = own else { panic!("a Box action") };
    for (x, y) in a.iter().zip(&b) {
        assert!((x - (y + 1.0) / 2.0).abs() < 1e-6, "{a:?} from {b:?}");
    }
    let mut cartpole = make("CartPole-v1").unwrap();
    cartpole.reset(Some(0), &Options::new()).unwrap();
    assert_eq!(Env::expert_action(&cartpole).unwrap(), None);
}
