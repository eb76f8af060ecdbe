//! Every env puts its named state quantities into `info["state"]` on reset and on every
//! step: a JSON object of finite numbers, with the same names each time.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value as Json;
use vlmgym_envs::env::STATE_KEY;
use vlmgym_envs::{make, Info, Options, Space, Value};

fn names(info: &Info, what: &str) -> Vec<String> {
    let obj = info
        .get(STATE_KEY)
        .and_then(Json::as_object)
        .unwrap_or_else(|| panic!("{what}: info has no `state` object: {info:?}"));
    for (k, v) in obj {
        let x = v.as_f64().unwrap_or_else(|| panic!("{what}: state `{k}` is not a number: {v}"));
        assert!(x.is_finite(), "{what}: state `{k}` = {x}");
    }
    obj.keys().cloned().collect()
}

fn random_action(space: &Space, rng: &mut ChaCha8Rng) -> Value {
    space.sample(rng)
}

fn check(id: &str, expected: &[&str], steps: usize) {
    let mut env = make(id).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (_, info) = env.reset(Some(3), &Options::new()).unwrap();
    let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    want.sort();
    let mut got = names(&info, &format!("{id} reset"));
    got.sort();
    assert_eq!(got, want, "{id}: names on reset");
    for t in 0..steps {
        let a = random_action(env.action_space(), &mut rng);
        let step = env.step(&a).unwrap();
        let mut got = names(&step.info, &format!("{id} step {t}"));
        got.sort();
        assert_eq!(got, want, "{id}: names on step {t}");
        if step.done() {
            env.reset(None, &Options::new()).unwrap();
        }
    }
}

#[test]
fn classic_envs_expose_their_named_state() {
    check("CartPole-v1", &["x", "x_dot", "theta", "theta_dot", "theta_deg"], 300);
    check("MountainCar-v0", &["position", "velocity"], 300);
    check("MountainCarContinuous-v0", &["position", "velocity"], 300);
    check("Pendulum-v1", &["theta", "theta_dot"], 300);
    check("Acrobot-v1", &["theta1", "theta2", "dtheta1", "dtheta2", "tip_height"], 300);
}

#[test]
fn driving_exposes_its_named_state() {
    let names = [
        "speed_kmh",
        "speed",
        "lateral_offset",
        "heading_error",
        "lateral_offset_std",
        "route_completion",
        "progress",
        "route_length",
        "distance_to_goal",
        "steer",
        "dist_left_edge",
        "dist_right_edge",
        "gap_ahead",
        "in_junction",
        "collision",
    ];
    check("Driving-v0", &names, 200);
    check("Driving-Discrete-v0", &names, 50);
}

#[test]
fn state_values_agree_with_the_dynamics() {
    // CartPole: the state is the observation, theta_deg is theta in degrees.
    let mut env = make("CartPole-v1").unwrap();
    let opts: Options = serde_json::from_str(r#"{"init_state": [0.1, 0.2, 0.03, -0.4]}"#).unwrap();
    let (_, info) = env.reset(Some(0), &opts).unwrap();
    let s = &info[STATE_KEY];
    assert_eq!(s["x"], 0.1);
    assert_eq!(s["theta_dot"], -0.4);
    assert!((s["theta_deg"].as_f64().unwrap() - 0.03f64.to_degrees()).abs() < 1e-12);
    let step = env.step(&Value::Discrete(1)).unwrap();
    let obs = step.obs.as_box().unwrap().to_vec();
    for (i, k) in ["x", "x_dot", "theta", "theta_dot"].iter().enumerate() {
        assert_eq!(step.info[STATE_KEY][k].as_f64().unwrap() as f32, obs[i], "{k}");
    }

    // Pendulum: theta is normalised to [-pi, pi).
    let mut env = make("Pendulum-v1").unwrap();
    let opts: Options = serde_json::from_str(r#"{"init_state": [7.0, 0.0]}"#).unwrap();
    let (_, info) = env.reset(Some(0), &opts).unwrap();
    let th = info[STATE_KEY]["theta"].as_f64().unwrap();
    assert!((th - (7.0 - 2.0 * std::f64::consts::PI)).abs() < 1e-12, "{th}");

    // Acrobot: hanging straight down, the tip is 2 link lengths below the pivot.
    let mut env = make("Acrobot-v1").unwrap();
    let opts: Options = serde_json::from_str(r#"{"init_state": [0, 0, 0, 0]}"#).unwrap();
    let (_, info) = env.reset(Some(0), &opts).unwrap();
    assert_eq!(info[STATE_KEY]["tip_height"], -2.0);
}

#[test]
fn driving_state_matches_the_reward_components() {
    // f_center, f_angle and f_std in info are functions of the named state, so a reward
    // synthesised from info["state"] can reproduce them exactly.
    let mut env = make("Driving-v0").unwrap();
    let opts: Options = serde_json::from_str(r#"{"lateral_offset": 0.8, "heading_error": 0.1}"#).unwrap();
    let (_, info) = env.reset(Some(1), &opts).unwrap();
    assert_eq!(info[STATE_KEY]["lateral_offset_std"], 0.0);
    for t in 0..60 {
        let steer = if t % 20 < 10 { 0.3 } else { -0.3 };
        let step = env.step(&Value::Box(vec![steer, 0.6])).unwrap();
        let s = &step.info[STATE_KEY];
        let f = |k: &str| s[k].as_f64().unwrap();
        assert_eq!(f("speed_kmh"), step.info["speed_kmh"].as_f64().unwrap());
        assert_eq!((1.0 - f("lateral_offset").abs() / 3.0).max(0.0), step.info["f_center"].as_f64().unwrap());
        let f_angle = (1.0 - f("heading_error").abs() / std::f64::consts::FRAC_PI_2).max(0.0);
        assert_eq!(f_angle, step.info["f_angle"].as_f64().unwrap());
        assert_eq!((1.0 - f("lateral_offset_std") / 0.4).max(0.0), step.info["f_std"].as_f64().unwrap());
        assert!((f("distance_to_goal") - (f("route_length") - f("progress"))).abs() < 1e-9);
        if step.done() {
            break;
        }
    }
}
