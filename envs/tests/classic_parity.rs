//! Replays trajectories recorded with Gymnasium 1.4 (see `scripts/gen_classic_fixtures.py`)
//! and checks observations and rewards to 1e-5 and the termination/truncation flags
//! exactly.

use serde_json::Value as Json;
use vlmgym_envs::{make_with, Options, Value};

const TOL: f64 = 1e-5;

fn fixture(name: &str) -> Json {
    let path = format!("{}/tests/fixtures/classic/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    serde_json::from_str(&text).expect("fixture is valid JSON")
}

fn floats(v: &Json) -> Vec<f64> {
    v.as_array().expect("array").iter().map(|x| x.as_f64().expect("number")).collect()
}

fn assert_close(got: &[f32], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((*g as f64 - w).abs() <= TOL, "{what}[{i}]: got {g}, Gymnasium {w}");
    }
}

/// Replays every trajectory of a fixture and returns the number of steps checked.
fn replay(name: &str) -> usize {
    let fx = fixture(name);
    let id = fx["env_id"].as_str().unwrap();
    let kwargs: Options = fx["kwargs"].as_object().cloned().unwrap_or_default();
    let mut checked = 0;
    for (t, traj) in fx["trajectories"].as_array().unwrap().iter().enumerate() {
        let mut env = make_with(id, &kwargs).unwrap();
        let mut options = Options::new();
        options.insert("init_state".into(), traj["init_state"].clone());
        let (obs, _) = env.reset(Some(0), &options).unwrap();
        assert_close(obs.as_box().unwrap(), &floats(&traj["initial_obs"]), &format!("{name} traj {t} initial obs"));
        let actions = traj["actions"].as_array().unwrap();
        for (i, a) in actions.iter().enumerate() {
            let action = env.action_space().value_from_json(a).unwrap();
            let step = env.step(&action).unwrap();
            let what = format!("{name} traj {t} step {i}");
            let Value::Box(obs) = &step.obs else { panic!("{what}: not a Box observation") };
            assert_close(obs, &floats(&traj["observations"][i]), &format!("{what} obs"));
            let want_r = traj["rewards"][i].as_f64().unwrap();
            assert!((step.reward - want_r).abs() <= TOL, "{what} reward: got {}, Gymnasium {want_r}", step.reward);
            assert_eq!(step.terminated, traj["terminated"][i].as_bool().unwrap(), "{what} terminated");
            assert_eq!(step.truncated, traj["truncated"][i].as_bool().unwrap(), "{what} truncated");
            checked += 1;
        }
    }
    checked
}

#[test]
fn cartpole_matches_gymnasium() {
    assert_eq!(replay("CartPole-v1"), 1100);
    assert_eq!(replay("CartPole-v1-sutton_barto"), 30);
}

#[test]
fn mountain_car_matches_gymnasium() {
    assert!(replay("MountainCar-v0") > 900);
}

#[test]
fn mountain_car_continuous_matches_gymnasium() {
    assert!(replay("MountainCarContinuous-v0") > 1000);
}

#[test]
fn pendulum_matches_gymnasium() {
    assert_eq!(replay("Pendulum-v1"), 660);
    assert_eq!(replay("Pendulum-v1-g9.81"), 100);
}

#[test]
fn acrobot_matches_gymnasium() {
    assert!(replay("Acrobot-v1") > 500);
}

/// The fixtures cover what the dynamics must get right: terminations, truncations at the
/// registered limit, and CartPole's zero reward after termination.
#[test]
fn fixtures_cover_episode_ends() {
    let ends = |name: &str, key: &str| -> usize {
        fixture(name)["trajectories"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t[key].as_array().unwrap().iter().any(|b| b.as_bool().unwrap()))
            .count()
    };
    for name in ["CartPole-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Acrobot-v1"] {
        assert!(ends(name, "terminated") >= 1, "{name} has no terminating trajectory");
    }
    assert!(ends("MountainCar-v0", "truncated") >= 1);
    assert!(ends("CartPole-v1", "truncated") >= 1);
    let cp = fixture("CartPole-v1");
    let zero_after_end = cp["trajectories"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["rewards"].as_array().unwrap().contains(&Json::from(0.0)));
    assert!(zero_after_end, "no CartPole trajectory steps past its termination");
}
