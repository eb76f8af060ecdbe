//! The rendering vector-env wrapper: pixel observations in CHW, frames of the current state,
//! the last frame of each ended episode, Driving's car on the road, and PPO's CNN policy
//! training on rendered frames.

use vlmgym_agents::{PpoConfig, RunSpec};
use vlmgym_envs::{make_vec, AutoresetMode, Options, Value, VectorEnv, VectorizationMode};
use vlmgym_render::vector::chw;
use vlmgym_render::{ObsMode, RenderConfig, RenderedVecEnv};

fn cartpole(n: usize, size: u32, mode: ObsMode) -> RenderedVecEnv {
    let venv = make_vec("CartPole-v1", n, &Options::new(), VectorizationMode::Sync)
        .unwrap()
        .with_autoreset_mode(AutoresetMode::SameStep);
    let cfg = RenderConfig { width: size, height: size, camera: None };
    RenderedVecEnv::new(venv, cfg, mode).expect("renderer (needs mesa-vulkan-drivers)")
}

#[test]
fn pixel_observations_are_the_rendered_frames_in_chw_and_repeat_under_a_seed() {
    let mut env = cartpole(2, 36, ObsMode::Pixels);
    match env.single_observation_space() {
        vlmgym_envs::Space::Box(b) => assert_eq!(b.shape(), &[3, 36, 36]),
        other => panic!("pixel observations are a Box, not {other}"),
    }
    let (obs, _) = env.reset(Some(7), &Options::new()).unwrap();
    assert_eq!(obs.len(), 2 * 3 * 36 * 36);
    let f = env.frames().unwrap();
    assert_eq!(&obs[..3 * 36 * 36], chw(f.frame(0).unwrap(), 36, 36).as_slice());
    // Channel planes: the first pixel's red, green and blue are 36*36 apart.
    assert_eq!(obs[0], f32::from(f.frame(0).unwrap()[0]));
    assert_eq!(obs[36 * 36], f32::from(f.frame(0).unwrap()[1]));
    let run = |env: &mut RenderedVecEnv| {
        env.reset(Some(3), &Options::new()).unwrap();
        let mut all = Vec::new();
        for t in 0..12 {
            let s = env.step(&[Value::Discrete(t % 2), Value::Discrete(1)]).unwrap();
            all.extend(s.obs);
        }
        all
    };
    let a = run(&mut env);
    let b = run(&mut cartpole(2, 36, ObsMode::Pixels));
    assert!(a == b, "same seed, same pixels");
    assert!(a.iter().any(|&v| v != a[0]), "frames are not blank");
}

#[test]
fn ended_episodes_keep_their_last_frame() {
    let mut env = cartpole(2, 64, ObsMode::State);
    env.reset(Some(1), &Options::new()).unwrap();
    // Pushing right forever topples the pole within ~10 steps in every episode.
    for t in 0..200 {
        let s = env.step(&[Value::Discrete(1), Value::Discrete(1)]).unwrap();
        assert_eq!(s.obs.len(), 2 * 4, "state mode keeps the state observation");
        let ended: Vec<bool> = s.terminations.iter().zip(&s.truncations).map(|(a, b)| *a || *b).collect();
        for (i, e) in ended.iter().enumerate() {
            assert_eq!(env.final_frames()[i].is_some(), *e, "step {t} env {i}");
        }
        if let Some(i) = ended.iter().position(|e| *e) {
            let last = env.final_frames()[i].clone().unwrap();
            let now = env.frames().unwrap().frame(i).unwrap().to_vec();
            assert_ne!(last, now, "the last frame shows the fallen pole, not the new episode");
            // The final frame is the fallen state: re-render it alone and compare.
            let theta = s.final_obs[i].as_ref().unwrap()[2];
            assert!(theta.abs() > 0.2, "terminal pole angle {theta}");
            return;
        }
    }
    panic!("no episode ended in 200 steps");
}

/// Share of `pixels` that look like asphalt (dark, grey) and like grass (green).
fn asphalt_and_grass(frame: &[u8], w: usize, pixels: &[(usize, usize)]) -> (f32, f32) {
    let (mut a, mut g) = (0.0, 0.0);
    for &(x, y) in pixels {
        let p = &frame[(y * w + x) * 3..(y * w + x) * 3 + 3];
        let (r, gr, b) = (p[0] as i32, p[1] as i32, p[2] as i32);
        if r < 120 && gr < 120 && b < 125 && (r - gr).abs() < 25 {
            a += 1.0;
        } else if gr > r + 25 && gr > b + 25 {
            g += 1.0;
        }
    }
    (a / pixels.len() as f32, g / pixels.len() as f32)
}

#[test]
fn driving_frames_show_the_car_on_the_road() {
    let mut kwargs = Options::new();
    kwargs.insert("npcs".into(), 0.into());
    let venv = make_vec("Driving-v0", 2, &kwargs, VectorizationMode::Sync)
        .unwrap()
        .with_autoreset_mode(AutoresetMode::SameStep);
    let size = 96usize;
    let cfg = RenderConfig { width: size as u32, height: size as u32, camera: Some("bev".into()) };
    let mut env = RenderedVecEnv::new(venv, cfg, ObsMode::State).unwrap();
    env.reset(Some(5), &Options::new()).unwrap();
    for _ in 0..20 {
        env.step(&[Value::Box(vec![0.0, 0.5]), Value::Box(vec![0.0, 0.5])]).unwrap();
    }
    let frames = env.frames().unwrap();
    let px_per_m = size as f32 / 40.0; // bev: orthographic, 40 m tall
    let c = size as f32 / 2.0;
    for i in 0..2 {
        let f = frames.frame(i).unwrap();
        // The ego car (red) is at the image centre.
        let p = &f[(size / 2 * size + size / 2) * 3..(size / 2 * size + size / 2) * 3 + 3];
        assert!(
            p[0] > 150 && p[1] < 130 && p[2] < 130 && p[0] > p[1] + 80,
            "env {i}: centre pixel {p:?} is not the red car"
        );
        // Ahead of and behind it (the car faces up the image) is asphalt; 9 m to one side
        // of it the road has ended in grass.
        let m = |d: f32| (c + d * px_per_m) as usize;
        let along: Vec<(usize, usize)> = [-5.0, -4.0, -3.0, 3.0, 4.0, 5.0].iter().map(|&d| (size / 2, m(d))).collect();
        let (asphalt, grass) = asphalt_and_grass(f, size, &along);
        let sides =
            |sign: f32| -> Vec<(usize, usize)> { [-2.0, 0.0, 2.0].iter().map(|&d| (m(sign * 9.0), m(d))).collect() };
        let side_grass = asphalt_and_grass(f, size, &sides(1.0)).1.max(asphalt_and_grass(f, size, &sides(-1.0)).1);
        assert!(side_grass > 0.6, "env {i}: no grass beside the road ({side_grass})");
        assert!(asphalt > 0.8 && grass == 0.0, "env {i}: along the car {asphalt} asphalt, {grass} grass");
    }
}

#[test]
fn ppo_trains_a_cnn_policy_on_rendered_frames() {
    let mut ppo = PpoConfig::discrete();
    ppo.num_envs = 2;
    ppo.num_steps = 16;
    ppo.num_minibatches = 2;
    ppo.update_epochs = 1;
    ppo.total_timesteps = 64;
    ppo.policy = "cnn".into();
    let spec = RunSpec {
        env_id: "CartPole-v1".into(),
        env_kwargs: Default::default(),
        seed: 1,
        ppo,
        reward: Default::default(),
        observation: Default::default(),
    };
    let env = cartpole(2, 36, ObsMode::Pixels);
    let mut run = vlmgym_agents::Ppo::with_env(spec.clone(), Box::new(env)).unwrap();
    let mut losses = Vec::new();
    while !run.finished() {
        let stats = run.train_iteration(None).unwrap();
        assert!(stats.value_loss.is_finite() && stats.policy_loss.is_finite());
        losses.push(stats.value_loss);
    }
    assert_eq!(losses.len(), 2);
    assert_eq!(run.global_step(), 64);
    // A state-sized env is refused for a CNN policy, and the env count must match.
    let wrong = cartpole(3, 36, ObsMode::Pixels);
    let err = vlmgym_agents::Ppo::with_env(spec, Box::new(wrong)).err().unwrap().to_string();
    assert!(err.contains("3 envs") && err.contains("num_envs = 2"), "{err}");
}
