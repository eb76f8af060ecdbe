//! PPO end to end on small runs: exact resume, the reward hook, and clear errors.

use std::collections::BTreeMap;

use candle_core::Tensor;
use vlmgym_agents::checkpoint::Checkpoint;
use vlmgym_agents::{Ppo, PpoConfig, Rollout, RunSpec};

fn small_spec(env_id: &str, discrete: bool) -> RunSpec {
    let cfg = PpoConfig {
        num_envs: 2,
        num_steps: 32,
        num_minibatches: 2,
        update_epochs: 2,
        total_timesteps: 64 * 8,
        checkpoint_every: 2,
        ..PpoConfig::for_actions(discrete)
    };
    let mut kwargs = toml::Table::new();
    kwargs.insert("max_episode_steps".into(), toml::Value::Integer(20));
    RunSpec {
        env_id: env_id.into(),
        env_kwargs: kwargs,
        seed: 3,
        ppo: cfg,
        reward: Default::default(),
        observation: Default::default(),
    }
}

fn tensors(path: &std::path::Path) -> BTreeMap<String, Vec<f32>> {
    let (_, t) = Checkpoint::read(path).unwrap();
    t.into_iter()
        .map(|(k, v): (String, Tensor)| {
            (k, v.flatten_all().unwrap().to_dtype(candle_core::DType::F32).unwrap().to_vec1().unwrap())
        })
        .collect()
}

#[test]
fn resume_continues_bit_identically() {
    for (id, discrete) in [("CartPole-v1", true), ("Pendulum-v1", false)] {
        let dir = tempfile::tempdir().unwrap();
        let straight = dir.path().join("straight.safetensors");
        let mut a = Ppo::new(small_spec(id, discrete)).unwrap();
        let mut a_stats = Vec::new();
        while !a.finished() {
            a_stats.push(a.train_iteration(None).unwrap());
        }
        Checkpoint::save(&a, &straight).unwrap();

        let mid = dir.path().join("mid.safetensors");
        let mut b = Ppo::new(small_spec(id, discrete)).unwrap();
        for _ in 0..4 {
            b.train_iteration(None).unwrap();
        }
        assert!(b.at_boundary());
        Checkpoint::save(&b, &mid).unwrap();
        drop(b);
        let mut c = Checkpoint::resume(&mid).unwrap();
        assert_eq!((c.iteration(), c.global_step()), (4, 256));
        let mut c_stats = Vec::new();
        while !c.finished() {
            c_stats.push(c.train_iteration(None).unwrap());
        }
        let resumed = dir.path().join("resumed.safetensors");
        Checkpoint::save(&c, &resumed).unwrap();
        assert_eq!(tensors(&straight), tensors(&resumed), "{id}: weights, optimizer and statistics");
        for (x, y) in a_stats[4..].iter().zip(&c_stats) {
            assert_eq!(
                (x.policy_loss, x.value_loss, x.approx_kl, &x.episodes),
                (y.policy_loss, y.value_loss, y.approx_kl, &y.episodes)
            );
        }
    }
}

#[test]
fn the_hook_replaces_every_reward_and_sees_truncations() {
    let mut ppo = Ppo::new(small_spec("CartPole-v1", true)).unwrap();
    let mut calls = 0;
    let mut truncated_with_value = 0;
    let mut hook = |ro: &mut Rollout| -> anyhow::Result<()> {
        calls += 1;
        assert_eq!(ro.rewards.len(), 64);
        assert_eq!(ro.raw_obs.len(), 64 * 4);
        for (k, t) in ro.truncations.iter().enumerate() {
            if *t && !ro.terminations[k] {
                assert!(ro.final_values[k].is_some());
                truncated_with_value += 1;
            }
        }
        // Reward upright poles only (|theta| < 0.05), from the raw state.
        for k in 0..ro.rewards.len() {
            ro.rewards[k] = if ro.raw_obs_at(k)[2].abs() < 0.05 { 1.0 } else { 0.0 };
        }
        Ok(())
    };
    for _ in 0..3 {
        ppo.train_iteration(Some(&mut hook)).unwrap();
    }
    assert_eq!(calls, 3);
    assert!(truncated_with_value > 0, "the 20-step limit truncates episodes");
}

#[test]
fn bad_rewards_and_corrupt_checkpoints_are_clear_errors() {
    let mut ppo = Ppo::new(small_spec("CartPole-v1", true)).unwrap();
    let mut nan = |ro: &mut Rollout| -> anyhow::Result<()> {
        ro.rewards[5] = f64::NAN;
        Ok(())
    };
    let err = ppo.train_iteration(Some(&mut nan)).unwrap_err().to_string();
    assert_eq!(err, "the reward hook produced a non-finite reward at step 2 of env 1");
    let mut huge = |ro: &mut Rollout| -> anyhow::Result<()> {
        ro.rewards.iter_mut().for_each(|r| *r = 1e30);
        Ok(())
    };
    let err = ppo.train_iteration(Some(&mut huge)).unwrap_err().to_string();
    assert!(err.starts_with("the loss became non-finite"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.safetensors");
    std::fs::write(&bad, b"definitely not a checkpoint").unwrap();
    let err = Checkpoint::read(&bad).unwrap_err().to_string();
    assert!(err.contains("is corrupt or not a vlmgym checkpoint"), "{err}");
    // A truncated real checkpoint is also caught.
    let good = dir.path().join("good.safetensors");
    Checkpoint::save(&Ppo::new(small_spec("CartPole-v1", true)).unwrap(), &good).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(&bad, &bytes[..bytes.len() / 2]).unwrap();
    let err = Checkpoint::read(&bad).unwrap_err().to_string();
    assert!(err.contains("is corrupt"), "{err}");
    assert!(Checkpoint::read(&dir.path().join("missing.safetensors"))
        .unwrap_err()
        .to_string()
        .contains("cannot read checkpoint"));
}

/// CartPole seen as a 1 x 36 x 36 image: a bright column at the cart's position whose top
/// leans with the pole. Exercises the Nature-CNN policy end to end without a renderer.
fn register_pixel_cartpole() {
    use vlmgym_envs::wrappers::TransformObservation;
    use vlmgym_envs::{register, BoxSpace, EnvSpec, Space, Value};
    let spec = EnvSpec::new("PixelCartPole-test-v0", "CartPole drawn as pixels (test)", |_| {
        let space = Space::Box(BoxSpace::uniform(0.0, 255.0, vec![1, 36, 36]));
        let env = vlmgym_envs::make("CartPole-v1")?;
        let draw = |obs: Value| {
            let s = obs.as_box().unwrap().to_vec();
            let mut img = vec![0.0f32; 36 * 36];
            let col = |x: f32| ((x / 4.8 + 0.5) * 35.0).round().clamp(0.0, 35.0) as usize;
            for row in 0..36 {
                let lean = s[2] * (36 - row) as f32 * 2.0;
                img[row * 36 + col(s[0] + lean * 0.1)] = 255.0;
            }
            Value::Box(img)
        };
        Ok(Box::new(TransformObservation::new(env, space, draw)) as Box<dyn vlmgym_envs::Env>)
    });
    let _ = register(spec);
}

#[test]
fn cnn_policy_trains_on_pixel_observations() {
    register_pixel_cartpole();
    let mut spec = small_spec("PixelCartPole-test-v0", true);
    spec.env_kwargs.clear();
    spec.ppo.policy = "cnn".into();
    spec.ppo.total_timesteps = 64 * 2;
    let mut ppo = Ppo::new(spec.clone()).unwrap();
    assert!(ppo.policy().params().iter().any(|(k, _)| k == "trunk.conv0.weight"));
    let before = ppo.policy().params().tensors()["trunk.conv0.weight"].flatten_all().unwrap().to_vec1::<f32>().unwrap();
    while !ppo.finished() {
        let s = ppo.train_iteration(None).unwrap();
        assert!(s.value_loss.is_finite() && s.policy_loss.is_finite());
    }
    let after = ppo.policy().params().tensors()["trunk.conv0.weight"].flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert_ne!(before, after, "the convolutional trunk is trained");
    spec.env_id = "CartPole-v1".into();
    let err = Ppo::new(spec).err().unwrap().to_string();
    assert!(err.contains("policy = \"cnn\" needs image observations"), "{err}");
}

/// Every PPO config shipped in assets/configs/ppo reads (no unknown key, valid values), for
/// either action kind, so a typo in one fails here rather than in a user's run.
#[test]
fn every_shipped_ppo_config_reads() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/configs/ppo");
    let mut read = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for discrete in [false, true] {
            let cfg = PpoConfig::from_toml(&text, discrete).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(cfg.total_timesteps > 0, "{}", path.display());
        }
        read += 1;
    }
    assert!(read >= 10, "read {read} configs from {}", dir.display());
}
