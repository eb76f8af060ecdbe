//! The device-taking API (`Ppo::new_on`, `Checkpoint::resume_on`, `load_policy_on`) on
//! `Device::Cpu` computes exactly what the CPU defaults (`Ppo::new`, `Checkpoint::resume`,
//! `load_policy`) compute: same seed, bit-identical numbers.

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use vlmgym_agents::checkpoint::Checkpoint;
use vlmgym_agents::{load_policy, load_policy_on, Device, IterationStats, Ppo, PpoConfig, RunSpec};

fn small_spec(env_id: &str, discrete: bool) -> RunSpec {
    let cfg = PpoConfig {
        num_envs: 2,
        num_steps: 32,
        num_minibatches: 2,
        update_epochs: 2,
        total_timesteps: 64 * 4,
        checkpoint_every: 2,
        norm_obs: true,
        ..PpoConfig::for_actions(discrete)
    };
    let mut kwargs = toml::Table::new();
    kwargs.insert("max_episode_steps".into(), toml::Value::Integer(20));
    RunSpec {
        env_id: env_id.into(),
        env_kwargs: kwargs,
        seed: 11,
        ppo: cfg,
        reward: Default::default(),
        observation: Default::default(),
    }
}

/// Every number of an update's statistics, as bits (so NaN equals NaN), and its episodes.
fn bits(s: &IterationStats) -> (Vec<u64>, String) {
    let nums = [s.policy_loss, s.value_loss, s.entropy, s.approx_kl, s.clipfrac, s.explained_variance];
    (nums.iter().map(|x| x.to_bits()).collect(), format!("{:?} {} {}", s.episodes, s.iteration, s.global_step))
}

/// Every parameter of the policy as f32 bits.
fn param_bits(ppo: &Ppo) -> BTreeMap<String, Vec<u32>> {
    ppo.policy()
        .params()
        .tensors()
        .into_iter()
        .map(|(k, v)| (k, v.flatten_all().unwrap().to_vec1::<f32>().unwrap().iter().map(|x| x.to_bits()).collect()))
        .collect()
}

fn train(ppo: &mut Ppo) -> Vec<(Vec<u64>, String)> {
    let mut out = Vec::new();
    while !ppo.finished() {
        out.push(bits(&ppo.train_iteration(None).unwrap()));
    }
    out
}

#[test]
fn ppo_on_an_explicit_cpu_device_is_bit_identical_to_the_default_path() {
    for (id, discrete) in [("CartPole-v1", true), ("Pendulum-v1", false)] {
        let mut old = Ppo::new(small_spec(id, discrete)).unwrap();
        let mut new = Ppo::new_on(small_spec(id, discrete), &Device::Cpu).unwrap();
        assert!(new.device().is_cpu() && new.policy().device().is_cpu());
        assert_eq!(param_bits(&old), param_bits(&new), "{id}: initial weights");
        let (a, b) = (train(&mut old), train(&mut new));
        assert_eq!(a.len(), 4);
        assert_eq!(a, b, "{id}: training curves");
        assert_eq!(param_bits(&old), param_bits(&new), "{id}: trained weights");

        // Checkpoints: the same bytes, resumed by either path to the same state.
        let dir = tempfile::tempdir().unwrap();
        let (pa, pb) = (dir.path().join("a.safetensors"), dir.path().join("b.safetensors"));
        Checkpoint::save(&old, &pa).unwrap();
        Checkpoint::save(&new, &pb).unwrap();
        assert_eq!(std::fs::read(&pa).unwrap(), std::fs::read(&pb).unwrap(), "{id}: checkpoint bytes");
        let (ra, rb) = (Checkpoint::resume(&pa).unwrap(), Checkpoint::resume_on(&pa, &Device::Cpu).unwrap());
        assert_eq!(param_bits(&ra), param_bits(&rb));
        assert_eq!(param_bits(&ra), param_bits(&old), "{id}: resumed weights");
        let (_, ta) = Checkpoint::read(&pa).unwrap();
        let (_, tb) = Checkpoint::read_on(&pa, &Device::Cpu).unwrap();
        assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());

        // Evaluation: the loaded policies act identically.
        let env = vlmgym_envs::make(id).unwrap();
        let la = load_policy(&pa, env.observation_space(), env.action_space()).unwrap();
        let lb = load_policy_on(&pa, env.observation_space(), env.action_space(), &Device::Cpu).unwrap();
        let obs: Vec<f32> = (0..3 * la.policy.obs_dim()).map(|i| (i as f32 * 0.37).sin()).collect();
        let oa = la.policy.act(&obs, &mut ChaCha8Rng::seed_from_u64(5), false).unwrap();
        let ob = lb.policy.act(&obs, &mut ChaCha8Rng::seed_from_u64(5), false).unwrap();
        let b32 = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(b32(&oa.actions), b32(&ob.actions));
        assert_eq!(b32(&oa.logprobs), b32(&ob.logprobs));
        assert_eq!(b32(&oa.values), b32(&ob.values));
    }
}

#[test]
fn a_run_resumed_on_an_explicit_cpu_device_continues_bit_identically() {
    let spec = small_spec("CartPole-v1", true);
    let mut straight = Ppo::new(spec.clone()).unwrap();
    let curve = train(&mut straight);
    let mut first = Ppo::new_on(spec, &Device::Cpu).unwrap();
    first.train_iteration(None).unwrap();
    first.train_iteration(None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mid = dir.path().join("mid.safetensors");
    Checkpoint::save(&first, &mid).unwrap();
    let mut resumed = Checkpoint::resume_on(&mid, &Device::Cpu).unwrap();
    assert_eq!(train(&mut resumed), curve[2..]);
    assert_eq!(param_bits(&resumed), param_bits(&straight));
}
