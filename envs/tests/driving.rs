//! Driving-v0: determinism, the checker, captions against constructed states, episode ends,
//! the reward formula, option errors, observation layout and the scene.

use vlmgym_envs::driving::{Driving, DrivingState};
use vlmgym_envs::{check_env, make_with, Env, Options, Step, Value};

fn opts(json: &str) -> Options {
    serde_json::from_str(json).unwrap()
}

fn env(kwargs: &str) -> Driving {
    Driving::from_kwargs(&opts(kwargs), false).unwrap()
}

fn drive(env: &mut dyn Env, steer: f32, tb: f32, steps: usize) -> Vec<Step> {
    let mut out = vec![];
    for _ in 0..steps {
        let s = env.step(&Value::Box(vec![steer, tb])).unwrap();
        let done = s.done();
        out.push(s);
        if done {
            break;
        }
    }
    out
}

fn facts(env: &dyn Env) -> Vec<String> {
    env.captions().into_iter().map(|c| c.fact).collect()
}

fn state(env: &Driving) -> &DrivingState {
    env.state().unwrap()
}

#[test]
fn same_seed_gives_bit_identical_trajectories() {
    use rand::{Rng, SeedableRng};
    for map in ["loop", "town", "country"] {
        let run = |seed: u64| {
            let mut e = make_with("Driving-v0", &opts(&format!(r#"{{"map": "{map}"}}"#))).unwrap();
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
            let (obs, _) = e.reset(Some(seed), &Options::new()).unwrap();
            let mut trace = vec![obs.as_box().unwrap().iter().map(|x| x.to_bits()).collect::<Vec<_>>()];
            for _ in 0..300 {
                let a = Value::Box(vec![rng.random_range(-0.3..0.3), rng.random_range(-0.2..1.0)]);
                let s = e.step(&a).unwrap();
                let mut row: Vec<u32> = s.obs.as_box().unwrap().iter().map(|x| x.to_bits()).collect();
                row.push(s.reward.to_bits() as u32);
                trace.push(row);
                if s.done() {
                    e.reset(None, &Options::new()).unwrap();
                }
            }
            trace
        };
        let a = run(3);
        assert_eq!(a, run(3), "{map}: same seed diverged");
        assert_ne!(a, run(4), "{map}: different seeds gave the same trajectory");
    }
}

#[test]
fn checker_passes_for_both_ids() {
    for id in ["Driving-v0", "Driving-Discrete-v0"] {
        for map in ["loop", "town"] {
            let mut e = make_with(id, &opts(&format!(r#"{{"map": "{map}"}}"#))).unwrap();
            check_env(e.as_mut(), 0, 300).unwrap_or_else(|err| panic!("{id} {map}: {err}"));
        }
    }
}

#[test]
fn lane_speed_heading_captions_match_constructed_states() {
    let mut e = env(r#"{"npcs": 0}"#);
    // Centred, aligned and untouched is also `driving.safe`, the summary fact.
    let cases: [(&str, &[&str]); 5] = [
        (r#"{}"#, &["lane.centre", "speed.stopped", "collision.none", "heading.aligned", "ahead.none", "driving.safe"]),
        (
            r#"{"lateral_offset": 1.0, "speed": 3.0}"#,
            &["lane.drifting_left", "speed.slow", "collision.none", "heading.aligned", "ahead.none"],
        ),
        (
            r#"{"lateral_offset": -1.0, "speed": 6.0, "heading_error": 0.3}"#,
            &["lane.drifting_right", "speed.cruising", "collision.none", "heading.skewed_left", "ahead.none"],
        ),
        (
            r#"{"lateral_offset": -2.1, "speed": 12.0, "heading_error": -0.3}"#,
            &["lane.off_road", "speed.fast", "collision.none", "heading.skewed_right", "ahead.none"],
        ),
        (
            r#"{"lateral_offset": 0.3, "heading_error": 0.1, "route_progress": 100}"#,
            &["lane.centre", "speed.stopped", "collision.none", "heading.aligned", "ahead.none", "driving.safe"],
        ),
    ];
    for (o, want) in cases {
        e.reset(Some(1), &opts(o)).unwrap();
        assert_eq!(facts(&e), want, "options {o}");
        for c in e.captions() {
            assert!(c.phrasings.len() >= 10, "{}", c.fact);
        }
    }
    // The constructed state is what the options asked for.
    e.reset(Some(1), &opts(r#"{"lateral_offset": -1.0, "speed": 6.0, "heading_error": 0.3}"#)).unwrap();
    let s = state(&e);
    assert!((s.lateral_offset + 1.0).abs() < 1e-3 && (s.heading_error - 0.3).abs() < 1e-4, "{s:?}");
    assert!((s.speed - 6.0).abs() < 1e-4 && s.progress.abs() < 1.5);
}

#[test]
fn car_ahead_captions() {
    let mut e = env(r#"{"npcs": 3}"#);
    e.reset(Some(2), &opts(r#"{"npc_ahead": 8}"#)).unwrap();
    assert!(facts(&e).contains(&"ahead.close".to_string()), "{:?}", facts(&e));
    let gap = state(&e).gap_ahead.unwrap();
    assert!((gap - 8.0).abs() < 0.5, "{gap}");
    e.reset(Some(2), &opts(r#"{"npc_ahead": 25}"#)).unwrap();
    assert!(facts(&e).contains(&"ahead.far".to_string()), "{:?}", facts(&e));
    e.reset(Some(2), &opts(r#"{"npc_ahead": 60}"#)).unwrap();
    assert!(facts(&e).contains(&"ahead.none".to_string()), "{:?}", facts(&e));
}

#[test]
fn junction_caption_in_town() {
    let mut e = env(r#"{"map": "town", "npcs": 0}"#);
    e.reset(Some(5), &Options::new()).unwrap();
    assert!(!facts(&e).contains(&"junction.inside".to_string()));
    let (s0, s1, j) = e.route().unwrap().junction_spans[0];
    let mid = (s0 + s1) / 2.0;
    e.reset(Some(5), &opts(&format!(r#"{{"route_progress": {mid}}}"#))).unwrap();
    assert!(facts(&e).contains(&"junction.inside".to_string()), "{:?}", facts(&e));
    let s = state(&e);
    assert_eq!(s.junction, Some(j));
    assert!(e.map().junctions[j].contains(s.position, 0.0));
}

#[test]
fn driving_into_the_barrier_terminates_with_a_collision() {
    let mut e = env(r#"{"npcs": 0, "map": "country"}"#);
    e.reset(Some(0), &opts(r#"{"heading_error": -0.35, "speed": 8.0}"#)).unwrap();
    let steps = drive(&mut e, 0.0, 0.5, 100);
    let last = steps.last().unwrap();
    assert!(last.terminated && !last.truncated);
    assert_eq!(last.info["termination"], "collision");
    assert_eq!(last.info["collision"], "barrier");
    assert_eq!(last.reward, -10.0);
    assert!(state(&e).lateral_offset.abs() < 3.0);
    assert!(facts(&e).contains(&"collision.barrier".to_string()));
    assert_eq!(last.info["metrics"]["collisions"], 1);
}

#[test]
fn hitting_a_car_terminates_with_a_car_collision() {
    let mut e = env(r#"{"npcs": 1}"#);
    e.reset(Some(0), &opts(r#"{"npc_ahead": 10, "speed": 10.0}"#)).unwrap();
    let steps = drive(&mut e, 0.0, 1.0, 100);
    let last = steps.last().unwrap();
    assert_eq!(last.info["termination"], "collision");
    assert_eq!(last.info["collision"], "car");
    assert!(facts(&e).contains(&"collision.car".to_string()));
}

#[test]
fn leaving_the_route_terminates() {
    let mut e = env(r#"{"npcs": 0, "map": "country"}"#);
    e.reset(Some(0), &opts(r#"{"lateral_offset": 2.0, "heading_error": 0.4, "speed": 6.0}"#)).unwrap();
    let steps = drive(&mut e, 0.0, 0.3, 100);
    let last = steps.last().unwrap();
    assert!(last.terminated);
    assert_eq!(last.info["termination"], "off_route");
    assert!(state(&e).lateral_offset > 3.0 && state(&e).lateral_offset < 3.6);
    assert_eq!(last.reward, -10.0);
}

#[test]
fn standing_still_for_90_seconds_is_stuck() {
    let mut e = env(r#"{"npcs": 0}"#);
    e.reset(Some(0), &Options::new()).unwrap();
    let steps = drive(&mut e, 0.0, -1.0, 2000);
    assert_eq!(steps.len(), 1350);
    assert_eq!(steps.last().unwrap().info["termination"], "stuck");
}

#[test]
fn reaching_the_end_is_success() {
    let mut e = env(r#"{"npcs": 0, "map": "country"}"#);
    e.reset(Some(0), &Options::new()).unwrap();
    let len = state(&e).route_length;
    e.reset(Some(0), &opts(&format!(r#"{{"route_progress": {}, "speed": 5.0}}"#, len - 12.0))).unwrap();
    let steps = drive(&mut e, 0.0, 0.2, 100);
    let last = steps.last().unwrap();
    assert_eq!(last.info["termination"], "success");
    assert_eq!(last.info["success"], true);
    assert!(last.reward > 0.0);
    assert_eq!(last.info["metrics"]["success"], true);
}

#[test]
fn vlm_rl_reward_matches_hand_computation() {
    let mut e = env(r#"{"npcs": 0, "map": "country"}"#);
    e.reset(Some(0), &opts(r#"{"lateral_offset": 0.6, "heading_error": 0.1, "speed": 5.0}"#)).unwrap();
    let mut ds = vec![];
    for s in drive(&mut e, 0.0, 0.3, 40) {
        let v = s.info["speed_kmh"].as_f64().unwrap();
        let d = s.info["lateral_offset"].as_f64().unwrap();
        let th = s.info["heading_error"].as_f64().unwrap();
        ds.push(d);
        let w = &ds[ds.len().saturating_sub(30)..];
        let mean = w.iter().sum::<f64>() / w.len() as f64;
        let std = (w.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / w.len() as f64).sqrt();
        let want = [
            1.0 - (v - 25.0).abs() / 25.0,
            (1.0 - d.abs() / 3.0).max(0.0),
            (1.0 - th.abs() / std::f64::consts::FRAC_PI_2).max(0.0),
            (1.0 - std / 0.4).max(0.0),
        ];
        let got = ["r_speed", "f_center", "f_angle", "f_std"].map(|k| s.info[k].as_f64().unwrap());
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-9, "{got:?} vs {want:?}");
        }
        assert!((s.reward - want.iter().product::<f64>()).abs() < 1e-9);
    }
}

#[test]
fn route_completion_reward_sums_to_progress() {
    let mut e = env(r#"{"npcs": 0, "map": "country", "reward": "route-completion"}"#);
    e.reset(Some(0), &Options::new()).unwrap();
    let mut steps = vec![];
    for _ in 0..150 {
        let st = state(&e);
        let steer = (-0.3 * st.lateral_offset - 1.5 * st.heading_error).clamp(-1.0, 1.0) as f32;
        steps.push(e.step(&Value::Box(vec![steer, 0.6])).unwrap());
    }
    assert!(steps.iter().all(|s| s.info["collision"].is_null()));
    let total: f64 = steps.iter().map(|s| s.reward).sum();
    let rc = state(&e).route_completion;
    assert!(rc > 0.02, "{rc}");
    // Each gain is scaled by 1 (in lane) or 0.9 (outside the own lane).
    assert!(total <= 100.0 * rc + 1e-9 && total >= 0.9 * 100.0 * rc - 1e-9, "{total} vs {rc}");
}

#[test]
fn bad_kwargs_and_options_are_clear_errors() {
    let err = |k: &str| Driving::from_kwargs(&opts(k), false).unwrap_err().to_string();
    assert_eq!(err(r#"{"map": "mars"}"#), "invalid kwarg `map`: expected one of loop, town, country, got `\"mars\"`");
    assert_eq!(
        err(r#"{"reward": "speed"}"#),
        "invalid kwarg `reward`: expected one of vlm-rl, route-completion, got `\"speed\"`"
    );
    assert_eq!(err(r#"{"npcs": -1}"#), "invalid kwarg `npcs`: expected a non-negative integer, got `-1`");
    assert!(err(r#"{"waypoints": 0}"#).contains("expected 1 to 100 waypoints"));
    assert!(err(r#"{"maps": "town"}"#).starts_with("invalid kwarg `maps`: not accepted here (accepted: map, map_seed,"));
    let mut e = env(r#"{"npcs": 0}"#);
    let oerr = |e: &mut Driving, o: &str| e.reset(Some(0), &opts(o)).unwrap_err().to_string();
    assert!(oerr(&mut e, r#"{"lateral_offset": 5}"#).contains("within +-3 m"));
    assert!(oerr(&mut e, r#"{"npc_ahead": 10}"#).contains("needs at least one NPC"));
    assert!(
        oerr(&mut e, r#"{"route_progress": 99999}"#).starts_with("invalid option `route_progress`: must be less than")
    );
    assert!(oerr(&mut e, r#"{"sped": 3}"#).contains("not accepted here (accepted: heading_error, lateral_offset,"));
    assert_eq!(
        e.step(&Value::Box(vec![0.0, 0.0])).unwrap_err().to_string(),
        "cannot call step() before reset(): call reset() first"
    );
    e.reset(Some(0), &Options::new()).unwrap();
    // Out-of-range continuous actions are clipped (Gymnasium's convention), non-finite ones rejected.
    assert!(e.step(&Value::Box(vec![0.0, 2.0])).is_ok());
    assert!(e.step(&Value::Box(vec![f32::NAN, 0.0])).is_err());
    assert!(e.step(&Value::Discrete(1)).is_err());
}

#[test]
fn observation_layout_follows_k_and_m() {
    let mut e = env(r#"{"waypoints": 4, "vehicles": 2, "npcs": 2}"#);
    let (obs, _) = e.reset(Some(0), &opts(r#"{"npc_ahead": 20, "speed": 4.0, "lateral_offset": 0.5}"#)).unwrap();
    let o = obs.as_box().unwrap();
    assert_eq!(o.len(), 6 + 2 * 4 + 5 * 2);
    assert!((o[0] - 4.0).abs() < 1e-3 && (o[1] - 0.5).abs() < 1e-3);
    // First waypoint ~3 m ahead, ~0.5 m to the right.
    assert!((o[4] - 3.0).abs() < 0.2 && (o[5] + 0.5).abs() < 0.2, "{o:?}");
    // The nearest vehicle is the one placed ~24.5 m ahead (centre to centre).
    assert_eq!(o[12], 1.0);
    assert!((o[13] - 24.5).abs() < 1.0, "{o:?}");
    // Road edges: 5.25 - 0.5 to the left, 1.75 + 0.5 to the right.
    assert!((o[22] - 4.75).abs() < 1e-3 && (o[23] - 2.25).abs() < 1e-3, "{o:?}");
}

#[test]
fn scene_has_every_object_and_the_three_cameras() {
    let mut e = env(r#"{"map": "town", "npcs": 20}"#);
    assert!(e.scene().is_none());
    e.reset(Some(0), &Options::new()).unwrap();
    let a = e.scene().unwrap();
    for cam in ["chase", "bev", "hood"] {
        assert!(a.camera(cam).is_some());
    }
    assert_eq!(a.camera("bev").unwrap().ortho_height, Some(40.0));
    for name in [
        "ego",
        "npc_0",
        "npc_19",
        "ground",
        "road_0",
        "centre_line_0",
        "kerb_0_left",
        "barrier_0",
        "building_0",
        "tree_0_crown",
        "junction_0",
    ] {
        assert!(a.object(name).is_some(), "{name}");
    }
    drive(&mut e, 0.0, 0.5, 20);
    let b = e.scene().unwrap();
    let names = |s: &vlmgym_envs::Scene| s.objects.iter().map(|o| o.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&a), names(&b));
    assert_ne!(a.object("ego").unwrap().pose, b.object("ego").unwrap().pose);
    assert_eq!(a.object("barrier_0"), b.object("barrier_0"));
}

#[test]
fn loop_scene_strips_are_closed_without_a_repeated_point() {
    let mut e = env(r#"{"npcs": 0}"#);
    e.reset(Some(0), &Options::new()).unwrap();
    let scene = e.scene().unwrap();
    match &scene.object("road_0").unwrap().shape {
        vlmgym_envs::Shape::Strip { points, width, closed } => {
            assert!(*closed && *width == 7.0);
            let (a, b) = (points[0], points[points.len() - 1]);
            assert!((a[0] - b[0]).hypot(a[1] - b[1]) > 0.1);
        }
        other => panic!("road_0 is {other:?}"),
    }
    // The ego car sits on the road (y up, map y = -z).
    let ego = scene.object("ego").unwrap().pose.translation;
    let s = e.state().unwrap();
    assert!((ego[0] as f64 - s.position[0]).abs() < 1e-3 && (-(ego[2] as f64) - s.position[1]).abs() < 1e-3);
    assert!(ego[1] > 0.5 && ego[1] < 1.5);
}

#[test]
fn discrete_actions_drive() {
    let mut e = make_with("Driving-Discrete-v0", &opts(r#"{"npcs": 0}"#)).unwrap();
    e.reset(Some(0), &Options::new()).unwrap();
    // Index 8: steer 0, throttle 0.6.
    for _ in 0..30 {
        e.step(&Value::Discrete(8)).unwrap();
    }
    let s = e.step(&Value::Discrete(8)).unwrap();
    assert!(s.info["speed_kmh"].as_f64().unwrap() > 10.0);
    assert!(e.step(&Value::Discrete(15)).is_err());
}

/// `cargo test --release -p vlmgym-envs --test driving -- --ignored --nocapture`
#[test]
#[ignore]
fn no_nan_in_a_million_random_steps() {
    use rand::SeedableRng;
    let mut steps = 0u64;
    let mut episodes = 0u64;
    let mut bad = 0u64;
    let mut terminations = std::collections::BTreeMap::new();
    for (k, map) in ["loop", "town", "country"].iter().enumerate() {
        let mut e = make_with("Driving-v0", &opts(&format!(r#"{{"map": "{map}"}}"#))).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(k as u64);
        e.reset(Some(k as u64), &Options::new()).unwrap();
        let n = if k == 2 { 1_000_000 - 2 * 333_333 } else { 333_333 };
        for _ in 0..n {
            let a = e.action_space().sample(&mut rng);
            let s = e.step(&a).unwrap();
            steps += 1;
            if !s.reward.is_finite() || s.obs.as_box().unwrap().iter().any(|x| !x.is_finite()) {
                bad += 1;
            }
            if s.done() {
                episodes += 1;
                let t = s.info["termination"].as_str().unwrap_or("time_limit").to_string();
                *terminations.entry(t).or_insert(0u64) += 1;
                e.reset(None, &Options::new()).unwrap();
            }
        }
    }
    println!("{steps} random steps, {episodes} episodes, {bad} steps with NaN/inf, ends: {terminations:?}");
    assert_eq!(bad, 0);
    assert_eq!(terminations.get("physics_error"), None);
}
