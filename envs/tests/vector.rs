//! Vector envs: sync and threaded agree, and the autoreset modes behave as Gymnasium
//! documents them (checked against single envs driven by hand).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vlmgym_envs::{make, make_vec, AutoresetMode, Env, EnvError, Options, Value, VecEnv, VectorizationMode};

const ID: &str = "CartPole-v1";

fn actions(rng: &mut ChaCha8Rng, n: usize) -> Vec<Value> {
    (0..n).map(|_| Value::Discrete(rng.random_range(0..2))).collect()
}

fn envs(n: usize) -> Vec<Box<dyn Env>> {
    (0..n).map(|_| make(ID).unwrap()).collect()
}

/// Short episodes so that the runs below cross many episode ends.
fn short_envs(n: usize) -> Vec<Box<dyn Env>> {
    let mut k = Options::new();
    k.insert("max_episode_steps".into(), 15.into());
    (0..n).map(|_| vlmgym_envs::make_with(ID, &k).unwrap()).collect()
}

#[test]
fn sync_and_threaded_are_identical() {
    for mode in [AutoresetMode::NextStep, AutoresetMode::SameStep] {
        let mut a = VecEnv::sync(short_envs(8)).unwrap().with_autoreset_mode(mode);
        let mut b = VecEnv::threaded(short_envs(8), 3).unwrap().with_autoreset_mode(mode);
        assert_eq!(b.num_threads(), 3);
        assert_eq!(a.reset(Some(11), &Options::new()).unwrap(), b.reset(Some(11), &Options::new()).unwrap());
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..200 {
            let acts = actions(&mut rng, 8);
            assert_eq!(a.step(&acts).unwrap(), b.step(&acts).unwrap());
        }
    }
}

/// Drives single envs by hand with Gymnasium's rules and compares every row of the batch.
#[test]
fn next_step_autoreset_matches_gymnasium_semantics() {
    let n = 4;
    let mut venv = VecEnv::threaded(short_envs(n), 2).unwrap();
    let mut singles = short_envs(n);
    let (obs, _) = venv.reset(Some(5), &Options::new()).unwrap();
    let dim = venv.obs_dim();
    for (i, e) in singles.iter_mut().enumerate() {
        let (o, _) = e.reset(Some(5 + i as u64), &Options::new()).unwrap();
        assert_eq!(&obs[i * dim..(i + 1) * dim], o.as_box().unwrap());
    }
    let mut pending_reset = vec![false; n];
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut resets_seen = 0;
    for _ in 0..100 {
        let acts = actions(&mut rng, n);
        let out = venv.step(&acts).unwrap();
        for i in 0..n {
            let (o, r, term, trunc) = if pending_reset[i] {
                resets_seen += 1;
                let (o, _) = singles[i].reset(None, &Options::new()).unwrap();
                (o, 0.0, false, false)
            } else {
                let s = singles[i].step(&acts[i]).unwrap();
                (s.obs, s.reward, s.terminated, s.truncated)
            };
            assert_eq!(&out.obs[i * dim..(i + 1) * dim], o.as_box().unwrap());
            assert_eq!((out.rewards[i], out.terminations[i], out.truncations[i]), (r, term, trunc));
            assert!(out.final_obs[i].is_none());
            pending_reset[i] = term || trunc;
        }
    }
    assert!(resets_seen >= 10, "only {resets_seen} autoresets happened");
}

#[test]
fn same_step_autoreset_keeps_final_observation() {
    let n = 3;
    let mut venv = VecEnv::sync(short_envs(n)).unwrap().with_autoreset_mode(AutoresetMode::SameStep);
    let mut singles = short_envs(n);
    venv.reset(Some(9), &Options::new()).unwrap();
    for (i, e) in singles.iter_mut().enumerate() {
        e.reset(Some(9 + i as u64), &Options::new()).unwrap();
    }
    let dim = venv.obs_dim();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut finals = 0;
    for _ in 0..100 {
        let acts = actions(&mut rng, n);
        let out = venv.step(&acts).unwrap();
        for i in 0..n {
            let s = singles[i].step(&acts[i]).unwrap();
            assert_eq!(
                (out.rewards[i], out.terminations[i], out.truncations[i]),
                (s.reward, s.terminated, s.truncated)
            );
            if s.done() {
                finals += 1;
                assert_eq!(out.final_obs[i].as_deref(), s.obs.as_box(), "final_obs is the episode's last obs");
                assert!(out.final_info[i].is_some());
                let (o, _) = singles[i].reset(None, &Options::new()).unwrap();
                assert_eq!(&out.obs[i * dim..(i + 1) * dim], o.as_box().unwrap(), "obs is the new episode's first");
            } else {
                assert!(out.final_obs[i].is_none());
                assert_eq!(&out.obs[i * dim..(i + 1) * dim], s.obs.as_box().unwrap());
            }
        }
    }
    assert!(finals >= 10);
}

#[test]
fn disabled_autoreset_resets_only_masked_envs() {
    let mut venv = VecEnv::sync(short_envs(2)).unwrap().with_autoreset_mode(AutoresetMode::Disabled);
    let (first, _) = venv.reset(Some(1), &Options::new()).unwrap();
    let mut last = first.clone();
    for _ in 0..15 {
        let out = venv.step(&[Value::Discrete(1), Value::Discrete(1)]).unwrap();
        last = out.obs;
    }
    let (obs, _) = venv.reset_envs(&[true, false], Some(1), &Options::new()).unwrap();
    assert_eq!(&obs[..4], &first[..4], "env 0 reset with seed 1 + 0");
    assert_eq!(&obs[4..], &last[4..], "env 1 untouched");
}

#[test]
fn bad_batches_are_clear_errors() {
    let mut venv = make_vec(ID, 2, &Options::new(), VectorizationMode::Threaded { threads: 0 }).unwrap();
    venv.reset(Some(0), &Options::new()).unwrap();
    let err = venv.step(&[Value::Discrete(0)]).unwrap_err().to_string();
    assert_eq!(err, "invalid action for Discrete(2): expected 2 actions (one per env), got 1");
    let err = venv.step(&[Value::Discrete(0), Value::Box(vec![0.0])]).unwrap_err().to_string();
    assert_eq!(err, "invalid action for Discrete(2): expected a Discrete value, got Box");
    let mixed: Vec<Box<dyn Env>> = vec![make(ID).unwrap(), make("Acrobot-v1").unwrap()];
    assert!(matches!(VecEnv::sync(mixed), Err(EnvError::SpaceMismatch { .. })));
    assert!(make_vec(ID, 0, &Options::new(), VectorizationMode::Sync).is_err());
    let err = make_vec("CartPol-v1", 2, &Options::new(), VectorizationMode::Sync).err().unwrap();
    assert!(matches!(err, EnvError::UnknownEnv { .. }));
}

#[test]
fn batch_is_row_major_per_env_and_seeded() {
    let mut a = VecEnv::sync(envs(3)).unwrap();
    let (obs, infos) = a.reset(Some(100), &Options::new()).unwrap();
    assert_eq!((obs.len(), infos.len()), (12, 3));
    for i in 0..3 {
        let (o, _) = make(ID).unwrap().reset(Some(100 + i as u64), &Options::new()).unwrap();
        assert_eq!(&obs[i * 4..i * 4 + 4], o.as_box().unwrap());
    }
    let (again, _) = a.reset(Some(100), &Options::new()).unwrap();
    assert_eq!(obs, again);
    let (other, _) = a.reset(Some(101), &Options::new()).unwrap();
    assert_ne!(obs, other);
}
