//! The navigation envs: the env contract, determinism, long random play, the planner
//! expert's success and SPL, the facts the captions state, goal splits and clear errors.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vlmgym_envs::navigation::{held_out, Nav, NavConfig, OBS_DIM};
use vlmgym_envs::{check_env, make, make_with, Env, Options, Value};

const IDS: [&str; 2] = ["NavGoTo-v0", "NavRooms-v0"];

fn kwargs(pairs: &[(&str, serde_json::Value)]) -> Options {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

#[test]
fn every_navigation_env_passes_the_checker() {
    for id in IDS {
        let mut env = make(id).unwrap();
        check_env(env.as_mut(), 3, 100).unwrap_or_else(|e| panic!("{id}: {e}"));
        let (o, info) = env.reset(Some(1), &Options::new()).unwrap();
        assert_eq!(o.as_box().unwrap().len(), OBS_DIM, "{id}");
        assert_eq!(env.action_space().to_string(), "Discrete(5)", "{id}");
        assert_eq!(info["success"], false);
        assert_eq!(info["target"], "red ball");
        let scene = env.scene().unwrap();
        for cam in ["ego", "follow", "top"] {
            assert!(scene.camera(cam).is_some(), "{id}: no `{cam}` camera");
        }
        assert!(scene.object("object_0").is_some() && scene.object("robot").is_some(), "{id}");
    }
    let mut env = make_with("NavGoTo-v0", &kwargs(&[("continuous", true.into()), ("layout", "maze".into())])).unwrap();
    check_env(env.as_mut(), 3, 100).unwrap();
    assert_eq!(env.action_space().flatdim(), 2);
}

fn random_run(id: &str, kw: &Options, seed: u64, steps: usize) -> Vec<Vec<f32>> {
    let mut env = make_with(id, kw).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (obs, _) = env.reset(Some(seed), &Options::new()).unwrap();
    let mut trace = vec![obs.as_box().unwrap().to_vec()];
    for _ in 0..steps {
        let a = env.action_space().sample(&mut rng);
        let s = env.step(&a).unwrap();
        assert!(s.reward.is_finite(), "{id}: reward {}", s.reward);
        let o = s.obs.as_box().unwrap();
        assert!(o.iter().all(|x| x.is_finite()), "{id}: non-finite obs {o:?}");
        let d = s.info["distance_to_goal"].as_f64().unwrap();
        assert!(d.is_finite() && d >= 0.0, "{id}: distance {d}");
        trace.push(o.to_vec());
        if s.done() {
            trace.push(env.reset(None, &Options::new()).unwrap().0.as_box().unwrap().to_vec());
        }
    }
    trace
}

#[test]
fn same_seed_same_trajectory() {
    for id in IDS {
        let a = random_run(id, &Options::new(), 7, 300);
        assert_eq!(a, random_run(id, &Options::new(), 7, 300), "{id}: same seed, same trajectory");
        assert_ne!(a, random_run(id, &Options::new(), 8, 300), "{id}: another seed, another trajectory");
    }
}

#[test]
fn a_hundred_thousand_random_steps_stay_finite() {
    // Every layout, both action kinds: 1e5 steps in all.
    let runs = [
        ("NavGoTo-v0", kwargs(&[])),
        ("NavGoTo-v0", kwargs(&[("layout", "maze".into()), ("target", "random".into())])),
        ("NavGoTo-v0", kwargs(&[("layout", "two_rooms".into()), ("continuous", true.into())])),
        ("NavRooms-v0", kwargs(&[])),
    ];
    for (i, (id, kw)) in runs.iter().enumerate() {
        random_run(id, kw, 100 + i as u64, 25_000);
    }
}

/// The planner expert over `episodes` seeds: (success rate, mean SPL).
fn expert(id: &str, kw: &Options, episodes: u64) -> (f64, f64) {
    let mut env = make_with(id, kw).unwrap();
    let (mut wins, mut spl) = (0u64, 0.0);
    for seed in 0..episodes {
        env.reset(Some(5000 + seed), &Options::new()).unwrap();
        let mut nav = Nav::new(NavConfig::from_kwargs(base(id), kw).unwrap());
        nav.reset(Some(5000 + seed), &Options::new()).unwrap();
        loop {
            let a = nav.expert_action().unwrap();
            let s = nav.step(&a).unwrap();
            // The registered env (with its time limit) takes the same steps.
            let r = env.step(&a).unwrap();
            assert_eq!(s.obs, r.obs);
            if r.done() {
                if r.info["success"] == true {
                    wins += 1;
                    spl += r.info["spl"].as_f64().unwrap();
                }
                break;
            }
        }
    }
    (wins as f64 / episodes as f64, spl / episodes as f64)
}

/// The registered envs' settings (the expert steps a bare env beside the registered one).
fn base(id: &str) -> NavConfig {
    if id == "NavRooms-v0" {
        NavConfig::rooms()
    } else {
        NavConfig::goto()
    }
}

#[test]
fn the_planner_expert_succeeds_on_shortest_paths() {
    for (id, kw) in [
        ("NavGoTo-v0", kwargs(&[])),
        ("NavGoTo-v0", kwargs(&[("layout", "maze".into())])),
        ("NavGoTo-v0", kwargs(&[("continuous", true.into())])),
        ("NavRooms-v0", kwargs(&[])),
    ] {
        let (success, spl) = expert(id, &kw, 100);
        eprintln!("expert {id} {kw:?}: success {success:.2}, SPL {spl:.3}");
        assert!(success >= 0.98, "{id} {kw:?}: expert success {success}");
        assert!(spl >= 0.9, "{id} {kw:?}: expert SPL {spl}");
    }
}

fn facts(env: &dyn Env) -> Vec<String> {
    env.captions().into_iter().map(|c| c.fact).collect()
}

#[test]
fn captions_say_where_the_target_is() {
    let mut env = make("NavGoTo-v0").unwrap();
    let mut reached = 0;
    for seed in 0..20 {
        let view = |d: f64, b: f64| kwargs(&[("agent_view", serde_json::json!([d, b]))]);
        let (_, info) = env.reset(Some(seed), &view(2.0, 0.0)).unwrap();
        let f = facts(env.as_ref());
        let state = &info["state"];
        assert!((state["target_distance"].as_f64().unwrap() - 2.0).abs() < 1e-3, "seed {seed}: {state}");
        // Another object may stand in the line of sight; otherwise the target is ahead.
        if state["target_visible"] == 1.0 {
            assert!(f.contains(&"target.in_front".to_string()), "seed {seed}: {f:?}");
            let c = env.captions();
            assert!(c[0].phrasings.contains(&"the red ball is right in front of the robot".to_string()));
        } else {
            assert!(f.contains(&"target.not_in_view".to_string()), "seed {seed}: {f:?}");
        }
        env.reset(Some(seed), &view(2.0, 150.0)).unwrap();
        let f = facts(env.as_ref());
        assert!(f.contains(&"target.not_in_view".to_string()) && !f.contains(&"target.in_front".to_string()), "{f:?}");
        let (_, info) = env.reset(Some(seed), &view(0.7, 0.0)).unwrap();
        let f = facts(env.as_ref());
        if info["state"]["target_visible"] == 1.0 {
            assert!(f.contains(&"target.reached".to_string()), "seed {seed}: {f:?} {info:?}");
            reached += 1;
        }
        // Turning 90 degrees left puts a target that was ahead on the right, out of view.
        env.reset(Some(seed), &view(2.0, 0.0)).unwrap();
        for _ in 0..6 {
            env.step(&Value::Discrete(0)).unwrap();
        }
        let s = env.step(&Value::Discrete(4)).unwrap();
        let b = s.info["state"]["target_bearing"].as_f64().unwrap();
        assert!((b + 90f64.to_radians()).abs() < 1e-3, "bearing {b}");
        assert!(facts(env.as_ref()).contains(&"target.not_in_view".to_string()));
    }
    assert!(reached >= 15, "the target 0.7 m ahead was seen in {reached} of 20 seeds");
    // Rooms: the robot starts in another room than the target.
    let mut env = make("NavRooms-v0").unwrap();
    for seed in 0..10 {
        env.reset(Some(seed), &Options::new()).unwrap();
        assert!(facts(env.as_ref()).contains(&"room.other".to_string()), "seed {seed}");
    }
}

#[test]
fn stopping_by_the_target_succeeds_and_elsewhere_fails() {
    let mut env = make("NavGoTo-v0").unwrap();
    let view = |d: f64| kwargs(&[("agent_view", serde_json::json!([d, 0.0]))]);
    env.reset(Some(3), &view(0.8)).unwrap();
    let s = env.step(&Value::Discrete(3)).unwrap();
    assert!(s.terminated && s.info["success"] == true);
    assert!((s.reward - (2.5 - 0.01)).abs() < 1e-6, "reward {}", s.reward);
    assert_eq!(s.info["spl"], 1.0, "no path needed: SPL 1");
    env.reset(Some(3), &view(3.0)).unwrap();
    let s = env.step(&Value::Discrete(3)).unwrap();
    assert!(s.terminated && s.info["success"] == false && s.info["spl"] == 0.0);
    assert!(env.step(&Value::Discrete(2)).is_err(), "a step after the end needs a reset");
    // Forward toward the target: the geodesic distance falls by the step, the reward is it.
    env.reset(Some(3), &view(3.0)).unwrap();
    let s = env.step(&Value::Discrete(2)).unwrap();
    assert!((s.reward - (0.15 - 0.01)).abs() < 0.03, "progress reward {}", s.reward);
}

#[test]
fn walls_stop_the_robot() {
    let mut env = make("NavGoTo-v0").unwrap();
    env.reset(Some(1), &kwargs(&[("agent_pose", serde_json::json!([0.5, 0.5, 180.0]))])).unwrap();
    let mut last = None;
    for _ in 0..10 {
        last = Some(env.step(&Value::Discrete(2)).unwrap());
    }
    let s = last.unwrap();
    let x = s.info["state"]["x"].as_f64().unwrap();
    assert!((x - (0.05 + 0.2)).abs() < 0.03, "the robot stops at the wall (x {x})");
    assert!(s.info["collisions"].as_u64().unwrap() >= 1);
}

#[test]
fn goal_splits_keep_held_out_pairs_apart() {
    for (split, want_held) in [("train", false), ("heldout", true)] {
        let mut env =
            make_with("NavGoTo-v0", &kwargs(&[("target", "random".into()), ("goal_split", split.into())])).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..60 {
            let (obs, info) = env.reset(Some(rng.random()), &Options::new()).unwrap();
            let o = obs.as_box().unwrap();
            let kind = o[OBS_DIM - 10..OBS_DIM - 5].iter().position(|v| *v == 1.0).unwrap();
            let colour = o[OBS_DIM - 5..].iter().position(|v| *v == 1.0).unwrap();
            assert_eq!(held_out(kind, colour), want_held, "{split}: {}", info["target"]);
            seen.insert(info["target"].as_str().unwrap().to_string());
        }
        assert_eq!(seen.len(), if want_held { 5 } else { 20 }, "{split}: {seen:?}");
    }
}

#[test]
fn bad_input_is_a_clear_error() {
    let err = |id: &str, kw: Options| make_with(id, &kw).err().unwrap().to_string();
    let e = err("NavGoTo-v0", kwargs(&[("target", "pink ball".into())]));
    assert!(e.contains("`pink ball` is not a colour and a kind"), "{e}");
    let e = err("NavGoTo-v0", kwargs(&[("layout", "castle".into())]));
    assert!(e.contains("castle") && e.contains("four_rooms"), "{e}");
    let e = err("NavGoTo-v0", kwargs(&[("continuous", true.into()), ("success", "stop".into())]));
    assert!(e.contains("use success=reach"), "{e}");
    let mut env = make("NavGoTo-v0").unwrap();
    let e = env.reset(Some(0), &kwargs(&[("agent_pose", serde_json::json!([-1.0, 0.5, 0.0]))])).unwrap_err();
    assert!(e.to_string().contains("inside a wall or an object, or off the floor"), "{e}");
    let both = kwargs(&[("agent_pose", serde_json::json!([1.0, 1.0, 0.0])), ("agent_view", serde_json::json!([2, 0]))]);
    assert!(env.reset(Some(0), &both).unwrap_err().to_string().contains("not both"));
    let e = env.reset(Some(0), &kwargs(&[("agent_view", serde_json::json!([1.0]))])).unwrap_err();
    assert!(e.to_string().contains("agent_view"), "{e}");
    env.reset(Some(0), &Options::new()).unwrap();
    assert!(env.step(&Value::Discrete(7)).is_err());
    assert!(env.step(&Value::Box(vec![f32::NAN, 0.0])).is_err());
}

#[test]
fn every_seed_gives_a_start_that_reaches_the_target() {
    // Distractors can wall the target in; such placements are drawn again.
    for (id, kw) in [
        ("NavGoTo-v0", kwargs(&[])),
        ("NavGoTo-v0", kwargs(&[("layout", "maze".into())])),
        ("NavRooms-v0", kwargs(&[])),
    ] {
        let mut env = make_with(id, &kw).unwrap();
        for seed in 0..1500 {
            let (_, info) = env.reset(Some(seed), &Options::new()).unwrap_or_else(|e| panic!("{id} seed {seed}: {e}"));
            let d = info["distance_to_goal"].as_f64().unwrap();
            assert!(d.is_finite() && d > 0.0, "{id} seed {seed}: distance {d}");
        }
    }
}
