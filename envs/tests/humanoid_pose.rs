//! HumanoidPose-v0 (issue 20, VLM-RMs' humanoid): pose facts measured from the body, the
//! sampler's postures, the pose reward, no early end, clear errors.

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use vlmgym_envs::registry::spec;
use vlmgym_envs::{make, make_with, Options, Value};

fn facts(info: &vlmgym_envs::Info) -> Vec<String> {
    serde_json::from_value(info["pose_facts"].clone()).unwrap()
}

#[test]
fn the_sampler_draws_every_main_posture_and_labels_kneeling() {
    let sampler = spec("HumanoidPose-v0").unwrap().metadata.sampler.unwrap();
    let mut env = make("HumanoidPose-v0").unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    let (mut pos, mut neg) = (0, 0);
    for i in 0..120 {
        let plan = sampler.plan(&mut rng, true);
        let (_, info) = env.reset(Some(i), &plan.options).unwrap();
        for f in facts(&info) {
            *count.entry(f).or_default() += 1;
        }
        let keys = facts(&info);
        let keys: Vec<&str> = keys.iter().map(|s| s.as_str()).collect();
        let kneeling = keys.contains(&"pose.kneeling");
        assert_eq!(sampler.label(&keys, sampler.success(&info, false)), Some(kneeling));
        assert_eq!(info["success"].as_bool(), Some(kneeling), "success is the kneeling goal");
        if kneeling {
            pos += 1
        } else {
            neg += 1
        }
    }
    for (fact, least) in [("pose.kneeling", 15), ("pose.standing", 4), ("pose.lying", 8), ("pose.sitting", 8)] {
        assert!(count.get(fact).copied().unwrap_or(0) >= least, "{fact}: {count:?}");
    }
    assert!(count.contains_key("pose.lotus") && count.contains_key("pose.one_leg"), "{count:?}");
    assert!(pos >= 15 && neg >= 60, "{pos} kneeling, {neg} not");
}

#[test]
fn the_reward_is_the_goal_pose_and_episodes_run_100_steps() {
    // Kneel the body on the floor: rewarded with the default goal, not with `pose.standing`.
    let mut q = vec![0.0; 24];
    q[2] = 1.0;
    q[3] = 1.0;
    for knee in [13, 17] {
        q[knee] = -95f64.to_radians();
    }
    let mut opts = Options::new();
    opts.insert("qpos".into(), serde_json::json!(q));
    opts.insert("on_floor".into(), serde_json::json!(true));
    let zero = Value::Box(vec![0.0; 17]);
    let mut env = make("HumanoidPose-v0").unwrap();
    let (_, info) = env.reset(Some(0), &opts).unwrap();
    assert!(facts(&info).contains(&"pose.kneeling".to_string()), "{info:?}");
    let step = env.step(&zero).unwrap();
    assert_eq!(step.reward, 1.0, "{:?}", step.info);
    assert_eq!(step.info["reward_pose"], 1.0);
    let mut kw = Options::new();
    kw.insert("pose".into(), "pose.standing".into());
    let mut standing = make_with("HumanoidPose-v0", &kw).unwrap();
    standing.reset(Some(0), &opts).unwrap();
    assert_eq!(standing.step(&zero).unwrap().reward, 0.0);

    // From the standing start, no torque: it stands a moment, falls, and never ends early.
    let (_, info) = env.reset(Some(3), &Options::new()).unwrap();
    assert!(facts(&info).contains(&"pose.standing".to_string()), "{info:?}");
    let mut steps = 0;
    let last = loop {
        let s = env.step(&zero).unwrap();
        steps += 1;
        assert!(!s.terminated, "HumanoidPose never terminates");
        if s.truncated {
            break s.info;
        }
    };
    assert_eq!(steps, 100);
    assert!(!facts(&last).contains(&"pose.standing".to_string()), "{last:?}");
    assert!(last["state"]["head_height"].as_f64().unwrap() < 0.8, "fallen: {last:?}");
}

#[test]
fn bad_pose_goals_and_start_states_are_clear_errors() {
    let mut kw = Options::new();
    kw.insert("pose".into(), "flying".into());
    let err = make_with("HumanoidPose-v0", &kw).err().unwrap().to_string();
    assert!(err.contains("pose") && err.contains("pose.kneeling") && err.contains("flying"), "{err}");
    let mut env = make("HumanoidPose-v0").unwrap();
    let mut opts = Options::new();
    opts.insert("qpos".into(), serde_json::json!([0.0, 1.0]));
    let err = env.reset(Some(0), &opts).unwrap_err().to_string();
    assert!(err.contains("qpos") && err.contains("24"), "{err}");
    let mut opts = Options::new();
    opts.insert("on_floor".into(), serde_json::json!(1));
    assert!(env.reset(Some(0), &opts).unwrap_err().to_string().contains("on_floor"));
}

/// With another `pose` kwarg the sampler's label follows that pose (as `eval
/// --score-visited` labels a run's states), not kneeling.
#[test]
fn the_label_follows_the_envs_pose() {
    let sampler = spec("HumanoidPose-v0").unwrap().metadata.sampler.unwrap();
    let mut kw = Options::new();
    kw.insert("pose".into(), "pose.lying".into());
    let mut env = make_with("HumanoidPose-v0", &kw).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let (mut lying, mut kneeling) = (0, 0);
    for i in 0..60 {
        let plan = sampler.plan(&mut rng, false);
        let (_, info) = env.reset(Some(i), &plan.options).unwrap();
        let keys = facts(&info);
        let keys: Vec<&str> = keys.iter().map(|s| s.as_str()).collect();
        let is_lying = keys.contains(&"pose.lying");
        assert_eq!(sampler.label(&keys, sampler.success(&info, false)), Some(is_lying));
        lying += usize::from(is_lying);
        kneeling += usize::from(keys.contains(&"pose.kneeling") && !is_lying);
    }
    assert!(lying >= 4 && kneeling >= 4, "{lying} lying, {kneeling} kneeling");
}
