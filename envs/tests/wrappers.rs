//! Wrappers: each checked against the unwrapped env it wraps.

use vlmgym_envs::classic::{CartPole, MountainCarContinuous, Pendulum};
use vlmgym_envs::wrappers::{
    ClipAction, FrameStack, NormalizeObservation, NormalizeReward, RecordEpisodeStatistics, RescaleAction, TimeLimit,
    TransformReward,
};
use vlmgym_envs::{impl_env_for_wrapper, make, Env, Options, Result, Space, Step, Value};

fn opts() -> Options {
    Options::new()
}

#[test]
fn registered_time_limit_truncates_at_the_limit() {
    let mut env = make("Pendulum-v1").unwrap();
    env.reset(Some(0), &opts()).unwrap();
    for i in 1..=200 {
        let s = env.step(&Value::Box(vec![0.0])).unwrap();
        assert_eq!(s.truncated, i == 200, "step {i}");
        assert!(!s.terminated);
    }
    let mut env = TimeLimit::new(CartPole::new(false), 3);
    env.reset(Some(0), &opts()).unwrap();
    let flags: Vec<bool> = (0..3).map(|_| env.step(&Value::Discrete(0)).unwrap().truncated).collect();
    assert_eq!(flags, [false, false, true]);
    env.reset(None, &opts()).unwrap();
    assert_eq!(env.elapsed_steps(), 0);
}

#[test]
fn episode_statistics_sum_the_episode() {
    let mut env = RecordEpisodeStatistics::new(make("CartPole-v1").unwrap());
    env.reset(Some(3), &opts()).unwrap();
    let (mut ret, mut len) = (0.0, 0);
    loop {
        let s = env.step(&Value::Discrete(1)).unwrap();
        ret += s.reward;
        len += 1;
        if s.done() {
            let ep = &s.info["episode"];
            assert_eq!(ep["r"].as_f64().unwrap(), ret);
            assert_eq!(ep["l"].as_u64().unwrap(), len);
            assert!(ep["t"].as_f64().unwrap() >= 0.0);
            break;
        }
        assert!(!s.info.contains_key("episode"));
    }
    assert_eq!(env.episode_count(), 1);
    assert_eq!(env.history()[0].l, len);
    // Always pushing right topples the pole in well under 100 steps.
    assert!((5..100).contains(&len), "{len}");
}

#[test]
fn normalize_observation_uses_running_statistics() {
    let mut env = NormalizeObservation::new(Pendulum::new(10.0)).unwrap();
    let mut raw = Pendulum::new(10.0);
    let (o, _) = env.reset(Some(4), &opts()).unwrap();
    let (r, _) = raw.reset(Some(4), &opts()).unwrap();
    // After one sample with the 1e-4 prior count: mean = x / (1 + 1e-4), var = x^2 * 1e-4
    // / (1 + 1e-4)^2 + 1e-4 / (1 + 1e-4).
    for (n, x) in o.as_box().unwrap().iter().zip(r.as_box().unwrap()) {
        let x = *x as f64;
        let c = 1.0 + 1e-4;
        let mean = x / c;
        let var = (1e-4 + x * x * 1e-4 / c) / c;
        assert!((*n as f64 - (x - mean) / (var + 1e-8).sqrt()).abs() < 1e-4);
    }
    let mut sum = [0.0f64; 3];
    let mut sq = [0.0f64; 3];
    let steps = 4000;
    for i in 0..steps {
        let a = Value::Box(vec![if (i / 20) % 2 == 0 { 2.0 } else { -2.0 }]);
        let s = env.step(&a).unwrap();
        for (k, v) in s.obs.as_box().unwrap().iter().enumerate() {
            sum[k] += *v as f64;
            sq[k] += (*v as f64).powi(2);
        }
    }
    for k in 0..3 {
        let mean = sum[k] / steps as f64;
        let std = (sq[k] / steps as f64 - mean * mean).sqrt();
        assert!(mean.abs() < 0.3 && (0.6..1.4).contains(&std), "dim {k}: mean {mean}, std {std}");
    }
    assert!(matches!(env.observation_space(), Space::Box(b) if b.low()[0] == f32::NEG_INFINITY));
}

#[test]
fn normalize_reward_divides_by_return_std() {
    let mut env = NormalizeReward::new(CartPole::new(false), 0.99);
    env.reset(Some(0), &opts()).unwrap();
    // Hand-computed: G_1 = 1; rms after one update of x = 1 from (0, 1, 1e-4).
    let s = env.step(&Value::Discrete(0)).unwrap();
    let c: f64 = 1.0 + 1e-4;
    let var = (1e-4 + 1e-4 / c) / c;
    assert!((s.reward - 1.0 / (var + 1e-8).sqrt()).abs() < 1e-9, "{}", s.reward);
    let s = env.step(&Value::Discrete(0)).unwrap();
    let rms = env.return_rms();
    assert!((s.reward - 1.0 / (rms.var[0] + 1e-8).sqrt()).abs() < 1e-12);
    assert!((rms.count - (2.0 + 1e-4)).abs() < 1e-12);
}

#[test]
fn clip_and_rescale_actions_map_onto_env_bounds() {
    let mut clipped = ClipAction::new(Pendulum::new(10.0)).unwrap();
    let mut raw = Pendulum::new(10.0);
    clipped.reset(Some(1), &opts()).unwrap();
    raw.reset(Some(1), &opts()).unwrap();
    assert_eq!(clipped.step(&Value::Box(vec![50.0])).unwrap(), raw.step(&Value::Box(vec![2.0])).unwrap());
    assert!(clipped.action_space().contains(&Value::Box(vec![1e9])));
    assert!(clipped.step(&Value::Box(vec![f32::NAN])).is_err());

    let mut rescaled = RescaleAction::new(MountainCarContinuous::new(0.0), 0.0, 1.0).unwrap();
    let mut raw = MountainCarContinuous::new(0.0);
    rescaled.reset(Some(2), &opts()).unwrap();
    raw.reset(Some(2), &opts()).unwrap();
    for (a, b) in [(0.0, -1.0), (1.0, 1.0), (0.5, 0.0), (0.75, 0.5)] {
        assert_eq!(rescaled.step(&Value::Box(vec![a])).unwrap(), raw.step(&Value::Box(vec![b])).unwrap(), "{a} -> {b}");
    }
    assert!(RescaleAction::new(CartPole::new(false), 0.0, 1.0).is_err(), "Discrete actions cannot be rescaled");
    assert!(RescaleAction::new(Pendulum::new(10.0), 1.0, 1.0).is_err());
}

#[test]
fn frame_stack_shifts_oldest_first() {
    let mut env = FrameStack::new(CartPole::new(false), 3).unwrap();
    let mut raw = CartPole::new(false);
    match env.observation_space() {
        Space::Box(b) => assert_eq!(b.shape(), &[3, 4]),
        s => panic!("{s}"),
    }
    let (o, _) = env.reset(Some(7), &opts()).unwrap();
    let (r0, _) = raw.reset(Some(7), &opts()).unwrap();
    let r0 = r0.as_box().unwrap().to_vec();
    assert_eq!(o.as_box().unwrap(), [r0.clone(), r0.clone(), r0.clone()].concat());
    let s = env.step(&Value::Discrete(1)).unwrap();
    let r1 = raw.step(&Value::Discrete(1)).unwrap().obs.as_box().unwrap().to_vec();
    assert_eq!(s.obs.as_box().unwrap(), [r0.clone(), r0, r1.clone()].concat());
    let s = env.step(&Value::Discrete(0)).unwrap();
    let r2 = raw.step(&Value::Discrete(0)).unwrap().obs.as_box().unwrap().to_vec();
    assert_eq!(s.obs.as_box().unwrap()[4..], [r1, r2].concat());
    assert!(env.observation_space().contains(&s.obs));
    assert!(FrameStack::new(CartPole::new(false), 0).is_err());
}

#[test]
fn wrappers_compose_over_boxed_envs() {
    let env = make("Pendulum-v1").unwrap();
    let env = ClipAction::new(env).unwrap();
    let env = NormalizeObservation::new(env).unwrap();
    let mut env = TransformReward::new(env, |r| 2.0 * r);
    let mut raw = make("Pendulum-v1").unwrap();
    env.reset(Some(5), &opts()).unwrap();
    raw.reset(Some(5), &opts()).unwrap();
    for i in 0..200 {
        let s = env.step(&Value::Box(vec![10.0])).unwrap();
        let r = raw.step(&Value::Box(vec![2.0])).unwrap();
        assert_eq!(s.reward, 2.0 * r.reward);
        assert_eq!(s.truncated, r.truncated, "step {i}");
    }
}

#[test]
fn wrappers_forward_scene_and_captions() {
    let env = make("CartPole-v1").unwrap();
    let env = NormalizeObservation::new(env).unwrap();
    let mut env = FrameStack::new(RecordEpisodeStatistics::new(env), 2).unwrap();
    assert!(env.scene().is_none() && env.captions().is_empty(), "nothing to draw before reset");
    let mut o = opts();
    o.insert("init_state".into(), serde_json::json!([1.0, 0.0, 0.1, 0.0]));
    env.reset(Some(0), &o).unwrap();
    let scene = env.scene().expect("CartPole draws a scene through four wrappers");
    assert_eq!(scene.object("cart").unwrap().pose.translation[0], 1.0);
    let facts: Vec<String> = env.captions().into_iter().map(|c| c.fact).collect();
    assert_eq!(facts, ["pole.leaning_right", "cart.right"]);
}

/// A wrapper written the way the `wrappers` module doc describes: it implements only
/// `step` (negating the reward) and gets everything else from `Wrapper`'s defaults.
struct NegateReward<E> {
    env: E,
}

impl<E: Env> vlmgym_envs::wrappers::Wrapper for NegateReward<E> {
    type Inner = E;

    fn inner(&self) -> &E {
        &self.env
    }

    fn inner_mut(&mut self) -> &mut E {
        &mut self.env
    }

    fn step(&mut self, action: &Value) -> Result<Step> {
        let mut step = self.env.step(action)?;
        step.reward = -step.reward;
        Ok(step)
    }
}
impl_env_for_wrapper!(NegateReward);

#[test]
fn wrapper_stacks_pass_scene_and_captions_through_after_reset() {
    let mut raw = make("CartPole-v1").unwrap();
    let mut env =
        TimeLimit::new(NegateReward { env: NormalizeObservation::new(make("CartPole-v1").unwrap()).unwrap() }, 5);
    assert_eq!(env.scene(), None);
    assert!(env.captions().is_empty());
    let mut o = opts();
    o.insert("init_state".into(), serde_json::json!([-1.0, 0.0, -0.1, 0.0]));
    env.reset(Some(1), &o).unwrap();
    raw.reset(Some(1), &o).unwrap();
    assert!(env.scene().is_some());
    assert_eq!(env.scene(), raw.scene(), "the scene is the inner env's, through three wrappers");
    assert_eq!(env.captions(), raw.captions());
    let facts: Vec<String> = env.captions().into_iter().map(|c| c.fact).collect();
    assert_eq!(facts, ["pole.leaning_left", "cart.left"]);
    // Untouched methods pass through too; the overridden one changes only the reward.
    assert_eq!(env.action_space(), raw.action_space());
    let s = env.step(&Value::Discrete(1)).unwrap();
    let r = raw.step(&Value::Discrete(1)).unwrap();
    assert_eq!(s.reward, -r.reward);
    assert_eq!(env.scene(), raw.scene(), "and stays in step with it");
    assert_eq!(env.captions(), raw.captions());
    assert_eq!(env.inner().env.inner().scene(), raw.scene());
    env.close();
}
