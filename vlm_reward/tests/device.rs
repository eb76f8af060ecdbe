//! The device-taking constructors (`*_on`) on the CPU compute exactly what the CPU defaults
//! compute: same weights, same embeddings, same trained tower files, bit for bit. The device
//! comes from `parse_device("cpu")`, as the CLI's `--device` does.

use std::collections::BTreeMap;

use vlmgym_reward::clip::{random_weights, tiny_config, word_level_tokenizer_json, Activation, ClipBackend, ClipImpl};
use vlmgym_reward::dataset::{Caption, Dataset, Sample, Split};
use vlmgym_reward::device::Device;
use vlmgym_reward::tower::{ConvSpec, ImageTower, TowerConfig};
use vlmgym_reward::train::{train_tower, train_tower_on, TrainConfig};
use vlmgym_reward::{parse_device, Backend, Embeddings, Frames, SimlitEncoder};

fn cpu() -> Device {
    let d = parse_device("cpu").unwrap();
    assert!(d.is_cpu());
    d
}

fn bits(e: &Embeddings) -> Vec<u32> {
    e.as_slice().iter().map(|x| x.to_bits()).collect()
}

fn frames() -> Frames {
    Frames::new((0..3 * 40 * 30 * 3).map(|i| (i * 7 % 256) as u8).collect(), 3, 40, 30).unwrap()
}

fn tiny_tower() -> TowerConfig {
    TowerConfig {
        input_size: 16,
        convs: vec![
            ConvSpec { out_channels: 4, kernel: 4, stride: 2 },
            ConvSpec { out_channels: 8, kernel: 3, stride: 2 },
        ],
        hidden: 16,
        dim: 8,
    }
}

#[test]
fn towers_on_an_explicit_cpu_device_are_bit_identical() {
    let dev = cpu();
    let (a, b) = (ImageTower::init(&tiny_tower(), 3).unwrap(), ImageTower::init_on(&tiny_tower(), 3, &dev).unwrap());
    assert!(b.device().is_cpu());
    assert_eq!(a.to_bytes().unwrap(), b.to_bytes().unwrap());
    assert_eq!(bits(&a.embed(&frames()).unwrap()), bits(&b.embed(&frames()).unwrap()));
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.safetensors");
    a.save(&p).unwrap();
    let (la, lb) = (ImageTower::load(&p).unwrap(), ImageTower::load_on(&p, &dev).unwrap());
    let lc = ImageTower::from_bytes_on(&std::fs::read(&p).unwrap(), &dev).unwrap();
    let want = bits(&a.embed(&frames()).unwrap());
    for t in [&la, &lb, &lc] {
        assert_eq!(bits(&t.embed(&frames()).unwrap()), want);
    }
    // The default architecture too (conv2d inference path at 84x84).
    let (a, b) = (
        ImageTower::init(&TowerConfig::default(), 0).unwrap(),
        ImageTower::init_on(&TowerConfig::default(), 0, &dev).unwrap(),
    );
    assert_eq!(bits(&a.embed(&frames()).unwrap()), bits(&b.embed(&frames()).unwrap()));
}

/// A frozen toy text encoder (8-d, a function of the text's bytes).
struct Words;

impl Backend for Words {
    fn embed_texts(&self, texts: &[String]) -> anyhow::Result<Embeddings> {
        let rows: Vec<Vec<f32>> = texts
            .iter()
            .map(|t| {
                (0..8)
                    .map(|i| ((t.len() * 7 + i * 13 + t.as_bytes()[i % t.len()] as usize) % 17) as f32 - 8.0)
                    .collect()
            })
            .collect();
        Embeddings::from_vecs(&rows)
    }
    fn embed_images(&self, _: &Frames) -> anyhow::Result<Embeddings> {
        anyhow::bail!("text only")
    }
    fn dim(&self) -> usize {
        8
    }
}

#[test]
fn tower_training_on_an_explicit_cpu_device_is_bit_identical() {
    let cap = |f: &str| Caption { fact: f.into(), phrasings: vec![format!("the frame is {f}"), format!("{f} it is")] };
    let samples: Vec<Sample> = (0..40u64)
        .map(|i| Sample {
            env: if i % 3 == 0 { "A".into() } else { "B".into() },
            seed: i,
            episode: 0,
            step: i,
            split: if i % 5 == 0 { Split::Test } else { Split::Train },
            captions: vec![cap(if i % 2 == 0 { "even" } else { "odd" })],
            reward: 0.0,
            success: false,
            state: BTreeMap::new(),
        })
        .collect();
    let pixels: Vec<u8> = (0..40 * 16 * 16 * 3).map(|i| (i * 7 % 253) as u8).collect();
    let ds = Dataset::from_parts(16, 16, pixels, samples).unwrap();
    let cfg = TrainConfig {
        steps: 30,
        batch_size: 8,
        input_size: 16,
        checkpoint_every: 0,
        max_shift: 2,
        tower: Some(tiny_tower()),
        ..TrainConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let (pa, pb) = (dir.path().join("a.safetensors"), dir.path().join("b.safetensors"));
    let (mut la, mut lb) = (Vec::new(), Vec::new());
    let ra = train_tower(&ds, &Words, &cfg, &pa, &mut |p| la.push(p.loss.to_bits())).unwrap();
    let rb = train_tower_on(&ds, &Words, &cfg, &pb, &mut |p| lb.push(p.loss.to_bits()), &cpu()).unwrap();
    assert_eq!(la.len(), 30);
    assert_eq!(la, lb, "loss curves");
    assert_eq!(std::fs::read(&pa).unwrap(), std::fs::read(&pb).unwrap(), "tower files");
    assert_eq!(ra.temperature.to_bits(), rb.temperature.to_bits());
    assert_eq!((&ra.test_before, &ra.test_after), (&rb.test_before, &rb.test_after));
}

#[test]
fn clip_on_an_explicit_cpu_device_is_bit_identical() {
    let dev = cpu();
    let words = ["a", "red", "square", "blue", "pole"];
    let tok = || word_level_tokenizer_json(&words).parse::<tokenizers::Tokenizer>().unwrap();
    let texts: Vec<String> = vec!["a red square".into(), "blue pole".into()];
    for (act, imp) in [
        (Activation::QuickGelu, ClipImpl::Candle),
        (Activation::QuickGelu, ClipImpl::Native),
        (Activation::Gelu, ClipImpl::Native),
    ] {
        let config = tiny_config(words.len() + 4, act);
        let w = random_weights(&config, 5).unwrap();
        let a = ClipBackend::from_tensors(w.clone(), config.clone(), Some(tok()), Some(imp)).unwrap();
        let b = ClipBackend::from_tensors_on(w, config.clone(), Some(tok()), Some(imp), &dev).unwrap();
        assert!(b.device().is_cpu());
        assert_eq!(bits(&a.embed_texts(&texts).unwrap()), bits(&b.embed_texts(&texts).unwrap()), "{act:?} {imp:?}");
        assert_eq!(bits(&a.embed_images(&frames()).unwrap()), bits(&b.embed_images(&frames()).unwrap()));

        let a = ClipBackend::random(config.clone(), 2, None).unwrap();
        let b = ClipBackend::random_on(config.clone(), 2, None, &dev).unwrap();
        assert_eq!(bits(&a.embed_images(&frames()).unwrap()), bits(&b.embed_images(&frames()).unwrap()));

        let dir = tempfile::tempdir().unwrap();
        candle_core::safetensors::save(&random_weights(&config, 9).unwrap(), dir.path().join("model.safetensors"))
            .unwrap();
        std::fs::write(dir.path().join("tokenizer.json"), word_level_tokenizer_json(&words)).unwrap();
        let a = ClipBackend::load(dir.path(), Some(config.clone())).unwrap();
        let b = ClipBackend::load_on(dir.path(), Some(config), &dev).unwrap();
        assert_eq!(bits(&a.embed_texts(&texts).unwrap()), bits(&b.embed_texts(&texts).unwrap()));
        assert_eq!(bits(&a.embed_images(&frames()).unwrap()), bits(&b.embed_images(&frames()).unwrap()));
    }
}

/// Needs all-MiniLM-L6-v2 in the model cache (scripts/setup.sh).
#[test]
fn simlit_on_an_explicit_cpu_device_is_bit_identical() {
    let a = SimlitEncoder::load_default().unwrap_or_else(|e| panic!("{e:#}"));
    let b = SimlitEncoder::load_default_on(&cpu()).unwrap_or_else(|e| panic!("{e:#}"));
    assert!(b.device().is_cpu());
    let texts: Vec<String> =
        ["the pole is upright", "a red square on the left", "x"].iter().map(|s| s.to_string()).collect();
    assert_eq!(bits(&a.embed_texts(&texts).unwrap()), bits(&b.embed_texts(&texts).unwrap()));
}
