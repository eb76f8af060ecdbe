//! Driving-v0: determinism, checker, captions against constructed states, episode ends,
//! the reward formula and option errors.

use vlmgym_envs::driving::{Driving, DrivingConfig, MapKind};
use vlmgym_envs::{check_env, make, make_with, Env, Options, Value};

fn opts(json: &str) -> Options {
    serde_json::from_str(json).unwrap()
}

fn drive(env: &mut dyn Env, steer: f32, tb: f32, steps: usize) -> Vec<vlmgym_envs::Step> {
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

#[test]
fn smoke() {
    for map in ["loop", "town", "country"] {
        let mut env = make_with("Driving-v0", &opts(&format!(r#"{{"map": "{map}"}}"#))).unwrap();
        let (obs, _) = env.reset(Some(0), &Options::new()).unwrap();
        println!("{map}: obs {:?}", obs);
        let steps = drive(env.as_mut(), 0.0, 0.5, 60);
        let last = steps.last().unwrap();
        println!("{map}: {} steps, reward {}, info {:?}", steps.len(), last.reward, last.info);
        println!("{:?}", env.captions().iter().map(|c| c.fact.clone()).collect::<Vec<_>>());
    }
}
