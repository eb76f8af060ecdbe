//! The simlit backend end to end (the real all-MiniLM-L6-v2 text encoder from
//! `simlit::model_dir()` plus an image tower): shapes, a CLG score over frames, dimension
//! checks; and, ignored by default, the throughput figures quoted in the README
//! (`cargo test --release -p vlmgym-reward --test simlit_backend -- --ignored --nocapture`).

use std::collections::BTreeMap;

use vlmgym_reward::clip::{ClipBackend, ClipConfig};
use vlmgym_reward::dataset::{Caption, Dataset, Sample, Split};
use vlmgym_reward::tower::{ImageTower, TowerConfig};
use vlmgym_reward::train::{train_tower, TrainConfig};
use vlmgym_reward::{bench_embed_images, Backend, ClgScore, Frames, SimlitBackend, SimlitEncoder};

fn encoder() -> SimlitEncoder {
    SimlitEncoder::load_default().unwrap_or_else(|e| panic!("{e:#}"))
}

#[test]
fn simlit_backend_embeds_frames_and_texts() {
    let tower = ImageTower::init(&TowerConfig::default(), 0).unwrap();
    let b = SimlitBackend::new(encoder(), tower).unwrap();
    assert_eq!(b.dim(), 384);
    let frames = Frames::new((0..2 * 60 * 90 * 3).map(|i| (i % 256) as u8).collect(), 2, 60, 90).unwrap();
    let img = b.embed_images(&frames).unwrap();
    assert_eq!((img.len(), img.dim()), (2, 384));
    let pos = b.embed_texts(&["the pole is upright".to_string()]).unwrap();
    let neg = b.embed_texts(&["the pole has fallen".to_string()]).unwrap();
    let clg = ClgScore::new(&pos, &neg, 0.2).unwrap();
    let r = clg.score_batch(&img).unwrap();
    assert!(r.iter().all(|x| (0.0..=1.0).contains(x)), "{r:?}");
    let e = b.encoder().embed_images(&frames).unwrap_err().to_string();
    assert!(e.contains("SimlitBackend"), "{e}");

    let small = TowerConfig { dim: 16, ..TowerConfig::default() };
    let e = SimlitBackend::new(encoder(), ImageTower::init(&small, 0).unwrap()).unwrap_err().to_string();
    assert!(e.contains("16-d") && e.contains("384-d"), "{e}");
}

/// Throughput figures: simlit tower (default, 84x84 input) and a random-weight ViT-B/32,
/// batch 64 of 160x240 frames; training steps/s of the default tower at batch 64.
#[test]
#[ignore]
fn throughput_figures() {
    let tower = ImageTower::init(&TowerConfig::default(), 0).unwrap();
    let simlit = SimlitBackend::new(encoder(), tower).unwrap();
    let r = bench_embed_images(&simlit, 64, 10, 160, 240).unwrap();
    println!("{}", serde_json::json!({"backend": "simlit-tower", "result": r}));

    let clip = ClipBackend::random(ClipConfig::named("ViT-B-32").unwrap(), 0, None).unwrap();
    let r = bench_embed_images(&clip, 64, 2, 160, 240).unwrap();
    println!("{}", serde_json::json!({"backend": "clip-vit-b32-random", "result": r}));

    // Training speed: 256 random 84x84 frames, two facts, 20 steps of batch 64.
    let cap = |f: &str| Caption { fact: f.into(), phrasings: vec![format!("the frame is {f}")] };
    let samples: Vec<Sample> = (0..256u64)
        .map(|i| Sample {
            env: "E".into(),
            seed: i,
            episode: 0,
            step: i,
            split: Split::Train,
            captions: vec![cap(if i % 2 == 0 { "even" } else { "odd" })],
            reward: 0.0,
            success: false,
            state: BTreeMap::new(),
        })
        .collect();
    let frames: Vec<u8> = (0..256 * 84 * 84 * 3).map(|i| (i * 7 % 253) as u8).collect();
    let ds = Dataset::from_parts(84, 84, frames, samples).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = TrainConfig { steps: 20, checkpoint_every: 0, ..TrainConfig::default() };
    let rep = train_tower(&ds, simlit.encoder(), &cfg, &dir.path().join("t.safetensors"), &mut |_| {}).unwrap();
    println!(
        "{}",
        serde_json::json!({"train_steps_per_second": 20.0 / rep.seconds, "batch": 64, "params": rep.params})
    );
}
