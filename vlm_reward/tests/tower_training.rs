//! End to end: a synthetic caption dataset written and read back, a tiny image tower trained
//! against a frozen bag-of-words text encoder, held-out retrieval from chance to >= 0.9, and
//! byte-identical tower files from two runs with the same seed.

use std::collections::BTreeMap;

use anyhow::Result;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vlmgym_reward::dataset::{Caption, Dataset, DatasetWriter, Sample, Split};
use vlmgym_reward::tower::{ConvSpec, ImageTower, TowerConfig};
use vlmgym_reward::train::{evaluate_retrieval, train_tower, TowerBackend, TrainConfig};
use vlmgym_reward::{Backend, Embeddings, Frames};

const DIM: usize = 16;

/// Frozen toy text encoder: the sum of a fixed random vector per word (seeded by the word),
/// so phrasings sharing a word ("red") are close.
struct BagOfWords;

impl Backend for BagOfWords {
    fn embed_texts(&self, texts: &[String]) -> Result<Embeddings> {
        anyhow::ensure!(!texts.is_empty(), "no texts");
        let rows: Vec<Vec<f32>> = texts
            .iter()
            .map(|t| {
                let mut v = vec![0f32; DIM];
                for w in t.split_whitespace() {
                    let seed =
                        w.bytes().fold(1469598103934665603u64, |h, b| (h ^ b as u64).wrapping_mul(1099511628211));
                    let mut rng = ChaCha8Rng::seed_from_u64(seed);
                    v.iter_mut().for_each(|x| *x += rng.random_range(-1.0f32..1.0));
                }
                v
            })
            .collect();
        Embeddings::from_vecs(&rows)
    }
    fn embed_images(&self, _frames: &Frames) -> Result<Embeddings> {
        anyhow::bail!("text only")
    }
    fn dim(&self) -> usize {
        DIM
    }
}

const SIZE: usize = 24;

fn caption(fact: &str, phrasings: &[&str]) -> Caption {
    Caption { fact: fact.into(), phrasings: phrasings.iter().map(|s| s.to_string()).collect() }
}

/// Env "Squares": a red or blue square on the left or right half of a noisy grey frame
/// (two facts per frame). Env "Bars": a horizontal or vertical white bar.
fn synthetic(dir: &std::path::Path) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut w = DatasetWriter::new(dir, SIZE, SIZE).unwrap();
    for seed in 0..10u64 {
        for step in 0..24u64 {
            let mut img: Vec<u8> = (0..SIZE * SIZE * 3).map(|_| rng.random_range(90..130)).collect();
            let (env, captions) = if step % 2 == 0 {
                let red = rng.random_bool(0.5);
                let left = rng.random_bool(0.5);
                let side = rng.random_range(5..9);
                let x0 =
                    if left { rng.random_range(0..SIZE / 2 - side) } else { rng.random_range(SIZE / 2..SIZE - side) };
                let y0 = rng.random_range(0..SIZE - side);
                for y in y0..y0 + side {
                    for x in x0..x0 + side {
                        let p = 3 * (y * SIZE + x);
                        img[p..p + 3].copy_from_slice(if red { &[220, 30, 30] } else { &[30, 40, 220] });
                    }
                }
                let colour = if red {
                    caption("square.red", &["a red square", "the block is red", "red shape"])
                } else {
                    caption("square.blue", &["a blue square", "the block is blue", "blue shape"])
                };
                let place = if left {
                    caption("square.left", &["on the left", "left side", "the square is at the left"])
                } else {
                    caption("square.right", &["on the right", "right side", "the square is at the right"])
                };
                ("Squares", vec![colour, place])
            } else {
                let horizontal = rng.random_bool(0.5);
                let c = rng.random_range(4..SIZE - 4);
                for i in 2..SIZE - 2 {
                    for t in 0..3 {
                        let (x, y) = if horizontal { (i, c + t - 1) } else { (c + t - 1, i) };
                        let p = 3 * (y * SIZE + x);
                        img[p..p + 3].copy_from_slice(&[250, 250, 250]);
                    }
                }
                let cap = if horizontal {
                    caption("bar.horizontal", &["a horizontal bar", "the line lies flat", "flat stripe"])
                } else {
                    caption("bar.vertical", &["a vertical bar", "the line stands up", "upright stripe"])
                };
                ("Bars", vec![cap])
            };
            let sample = Sample {
                env: env.into(),
                seed,
                episode: seed,
                step,
                split: Split::for_seed(seed, &[8, 9]),
                captions,
                reward: 0.0,
                success: false,
                state: BTreeMap::new(),
            };
            w.push(&img, sample).unwrap();
        }
    }
    Dataset::load(&w.finish().unwrap()).unwrap()
}

fn config(steps: usize) -> TrainConfig {
    TrainConfig {
        steps,
        batch_size: 32,
        lr: 2e-3,
        input_size: SIZE,
        checkpoint_every: 100,
        max_shift: 1,
        tower: Some(TowerConfig {
            input_size: SIZE,
            convs: vec![
                ConvSpec { out_channels: 8, kernel: 4, stride: 2 },
                ConvSpec { out_channels: 16, kernel: 3, stride: 2 },
            ],
            hidden: 64,
            dim: DIM,
        }),
        ..TrainConfig::default()
    }
}

#[test]
fn tiny_tower_learns_captions_and_is_reproducible() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = synthetic(&tmp.path().join("ds"));
    assert_eq!(ds.len(), 240);
    assert_eq!(ds.indices(Split::Test).len(), 48);

    let out = tmp.path().join("tower.safetensors");
    let mut seen = Vec::new();
    let report =
        train_tower(&ds, &BagOfWords, &config(300), &out, &mut |p| seen.push((p.step, p.checkpointed))).unwrap();
    assert_eq!(seen.len(), 300);
    assert_eq!(seen.iter().filter(|(_, c)| *c).count(), 2, "checkpoints at 100 and 200");
    let before = report.test_before.clone().unwrap();
    let after = report.test_after.clone().unwrap();
    eprintln!(
        "before: c2f {:.3} f2c {:.3}; after: c2f {:.3} f2c {:.3}; loss {:.3} -> {:.3}, tau {:.4}, {:.1}s",
        before.caption_to_frame,
        before.frame_to_caption,
        after.caption_to_frame,
        after.frame_to_caption,
        report.first_loss,
        report.final_loss,
        report.temperature,
        report.seconds
    );
    assert_eq!((report.facts, report.phrasings), (6, 18));
    assert!(report.final_loss < report.first_loss);
    assert!(after.caption_to_frame >= 0.9 && after.frame_to_caption >= 0.9, "{after:?}");
    assert!(before.frame_to_caption < 0.8, "an untrained tower should be near chance: {before:?}");

    // The saved tower reproduces the report through the public backend path.
    let tower = ImageTower::load(&out).unwrap();
    let again = evaluate_retrieval(&TowerBackend { text: &BagOfWords, tower: &tower }, &ds, Split::Test).unwrap();
    assert_eq!(again, after);

    // Same seed, same bytes; another seed, other bytes.
    let out2 = tmp.path().join("tower2.safetensors");
    train_tower(&ds, &BagOfWords, &config(300), &out2, &mut |_| {}).unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&out2).unwrap());
    let out3 = tmp.path().join("tower3.safetensors");
    train_tower(&ds, &BagOfWords, &TrainConfig { seed: 1, ..config(20) }, &out3, &mut |_| {}).unwrap();
    assert_ne!(std::fs::read(&out).unwrap(), std::fs::read(&out3).unwrap());
}

#[test]
fn training_errors_are_clear() {
    let tmp = tempfile::tempdir().unwrap();
    let mut w = DatasetWriter::new(tmp.path().join("one"), 4, 4).unwrap();
    let s = Sample {
        env: "A".into(),
        seed: 0,
        episode: 0,
        step: 0,
        split: Split::Train,
        captions: vec![caption("only", &["only fact"])],
        reward: 0.0,
        success: true,
        state: BTreeMap::new(),
    };
    w.push(&[0; 48], s).unwrap();
    let ds = Dataset::load(&w.finish().unwrap()).unwrap();
    let cfg = TrainConfig { input_size: 4, max_shift: 0, ..config(1) };
    let e = train_tower(&ds, &BagOfWords, &cfg, &tmp.path().join("t.safetensors"), &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("need at least 2"), "{e}");

    // Frames of another size than the tower's input: refused, and nothing is written.
    let ds = synthetic(&tmp.path().join("squares"));
    let out = tmp.path().join("wrong_size.safetensors");
    let e = train_tower(&ds, &BagOfWords, &TrainConfig { input_size: 32, ..config(1) }, &out, &mut |_| {}).unwrap_err();
    let e = e.to_string();
    assert!(e.contains("frames are 24x24 but the config's input_size is 32") && e.contains("--size 32"), "{e}");
    assert!(!out.exists());
}

#[test]
fn fine_tuning_starts_from_the_init_tower_and_refuses_another_architecture() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = synthetic(&tmp.path().join("ds"));
    let base = tmp.path().join("base.safetensors");
    let trained = train_tower(&ds, &BagOfWords, &config(300), &base, &mut |_| {}).unwrap();
    let trained_after = trained.test_after.unwrap();

    // One step from the trained tower starts where it ended (a fresh tower starts near chance).
    let tuned = tmp.path().join("tuned.safetensors");
    let cfg = TrainConfig { init: Some(base.clone()), seed: 5, ..config(1) };
    let r = train_tower(&ds, &BagOfWords, &cfg, &tuned, &mut |_| {}).unwrap();
    assert_eq!(r.test_before.unwrap(), trained_after, "retrieval before fine-tuning is the init tower's");
    assert!(r.first_loss < trained.first_loss * 0.5, "{} vs {}", r.first_loss, trained.first_loss);

    // Another input size or trunk: a clear error naming the init tower; nothing written.
    let bad = tmp.path().join("bad.safetensors");
    let mut other = config(1);
    other.tower.as_mut().unwrap().hidden = 32;
    let cfg = TrainConfig { init: Some(base.clone()), ..other };
    let e = format!("{:#}", train_tower(&ds, &BagOfWords, &cfg, &bad, &mut |_| {}).unwrap_err());
    assert!(e.contains("`init` tower") && e.contains("base.safetensors"), "{e}");
    assert!(!bad.exists());
    let cfg = TrainConfig { init: Some(tmp.path().join("missing.safetensors")), ..config(1) };
    let e = format!("{:#}", train_tower(&ds, &BagOfWords, &cfg, &bad, &mut |_| {}).unwrap_err());
    assert!(e.contains("missing.safetensors") && e.contains("does not exist"), "{e}");
}

/// A text head trained against a frozen tower that learnt one phrasing per fact brings the
/// other phrasings onto their facts' frames; same seed, same head; a head refuses another
/// tower file.
#[test]
fn a_text_head_reads_phrasings_the_tower_never_learnt() {
    use vlmgym_reward::text_head::{HeadConfig, TextHead};
    let tmp = tempfile::tempdir().unwrap();
    let ds = synthetic(&tmp.path().join("ds"));
    // The tower learns the first phrasing of each fact alone.
    let first_only: Vec<Sample> = ds
        .samples()
        .iter()
        .map(|s| {
            let mut s = s.clone();
            s.captions.iter_mut().for_each(|c| c.phrasings.truncate(1));
            s
        })
        .collect();
    let frames: Vec<u8> = (0..ds.len()).flat_map(|i| ds.frame(i).unwrap().to_vec()).collect();
    let narrow = Dataset::from_parts(SIZE, SIZE, frames, first_only).unwrap();
    let tower_path = tmp.path().join("tower.safetensors");
    train_tower(&narrow, &BagOfWords, &config(300), &tower_path, &mut |_| {}).unwrap();
    let tower = ImageTower::load(&tower_path).unwrap();

    let cfg = HeadConfig { steps: 300, batch_size: 32, temperature: 0.07, ..HeadConfig::default() };
    let mut losses = Vec::new();
    let head =
        TextHead::train(&BagOfWords, &tower, &ds, &cfg, &candle_core::Device::Cpu, |_, l| losses.push(l)).unwrap();
    assert_eq!(losses.len(), 300);
    let r = head.report().unwrap().clone();
    eprintln!(
        "text head: accuracy {:.3} -> {:.3}, loss {:.3} -> {:.3}",
        r.test_accuracy_before, r.test_accuracy_after, r.first_loss, r.final_loss
    );
    assert_eq!((r.facts, r.phrasings), (6, 18));
    assert!(r.final_loss < r.first_loss, "{r:?}");
    assert!(r.test_accuracy_after >= r.test_accuracy_before, "{r:?}");
    assert!(r.test_accuracy_after >= 0.9, "{r:?}");

    // Phrasings the tower never saw: each one's test frames score higher against it
    // than against the other fact of its pair, more often with the head than without.
    let unseen = [("a horizontal bar", "upright stripe"), ("the line lies flat", "the line stands up")];
    let test: Vec<usize> = ds.indices(Split::Test).into_iter().filter(|&i| ds.samples()[i].env == "Bars").collect();
    let img = tower.embed(&ds.frames(&test).unwrap()).unwrap();
    let right = |texts: &Embeddings| {
        let mut n = 0;
        for (k, &i) in test.iter().enumerate() {
            let flat = ds.samples()[i].has_fact("bar.horizontal");
            let row = img.row(k).unwrap();
            let dot = |t: &[f32]| row.iter().zip(t).map(|(a, b)| a * b).sum::<f32>();
            let (h, v) = (dot(texts.row(0).unwrap()), dot(texts.row(1).unwrap()));
            n += usize::from((h > v) == flat);
        }
        n
    };
    for (h, v) in unseen {
        let raw = BagOfWords.embed_texts(&[h.to_string(), v.to_string()]).unwrap();
        let (without, with) = (right(&raw), right(&head.apply(&raw).unwrap()));
        eprintln!("{h:?} vs {v:?}: {without} -> {with} of {}", test.len());
        assert!(with >= without && with as f64 >= 0.9 * test.len() as f64, "{h:?}: {without} -> {with}");
    }

    // With a fact memory too (goals also read by their nearest phrasings, each fact placed
    // at the mean of its frames): the unseen phrasings still land on their facts; same
    // settings, same head; it survives a save and load.
    let remembering = HeadConfig { memory_temperature: 0.1, memory_mix: 0.5, ..cfg.clone() };
    let mem = TextHead::train(&BagOfWords, &tower, &ds, &remembering, &candle_core::Device::Cpu, |_, _| {}).unwrap();
    assert_ne!(mem, head);
    for (h, v) in unseen {
        let raw = BagOfWords.embed_texts(&[h.to_string(), v.to_string()]).unwrap();
        let with = right(&mem.apply(&raw).unwrap());
        assert!(with as f64 >= 0.9 * test.len() as f64, "{h:?} with the memory: {with} of {}", test.len());
    }
    // (Compared by what they do: the report's mean loss can differ in its last bit, and
    // in its JSON.)
    let probe = BagOfWords.embed_texts(&unseen.iter().map(|(h, _)| h.to_string()).collect::<Vec<_>>()).unwrap();
    let twin = TextHead::train(&BagOfWords, &tower, &ds, &remembering, &candle_core::Device::Cpu, |_, _| {}).unwrap();
    assert_eq!(twin.apply(&probe).unwrap(), mem.apply(&probe).unwrap());
    let mem_path = tmp.path().join("memory.safetensors");
    mem.save(&mem_path).unwrap();
    assert_eq!(TextHead::load(&mem_path).unwrap().apply(&probe).unwrap(), mem.apply(&probe).unwrap());

    // Same seed, same head (with input noise too); saved and loaded, it refuses another tower.
    let again = TextHead::train(&BagOfWords, &tower, &ds, &cfg, &candle_core::Device::Cpu, |_, _| {}).unwrap();
    assert_eq!(again, head);
    let noisy = HeadConfig { input_noise: 0.05, steps: 50, ..cfg.clone() };
    let a = TextHead::train(&BagOfWords, &tower, &ds, &noisy, &candle_core::Device::Cpu, |_, _| {}).unwrap();
    let b = TextHead::train(&BagOfWords, &tower, &ds, &noisy, &candle_core::Device::Cpu, |_, _| {}).unwrap();
    assert_eq!(a, b);
    assert_ne!(
        a,
        TextHead::train(
            &BagOfWords,
            &tower,
            &ds,
            &HeadConfig { input_noise: 0.0, ..noisy },
            &candle_core::Device::Cpu,
            |_, _| {}
        )
        .unwrap()
    );
    // Word-swapped copies of the phrasings (words of the other env): same seed, same
    // head, and not the head trained without them.
    let swapped = HeadConfig { word_swap: 0.3, steps: 50, ..cfg.clone() };
    let c = TextHead::train(&BagOfWords, &tower, &ds, &swapped, &candle_core::Device::Cpu, |_, _| {}).unwrap();
    assert_eq!(c, TextHead::train(&BagOfWords, &tower, &ds, &swapped, &candle_core::Device::Cpu, |_, _| {}).unwrap());
    let plain = HeadConfig { word_swap: 0.0, ..swapped.clone() };
    assert_ne!(c, TextHead::train(&BagOfWords, &tower, &ds, &plain, &candle_core::Device::Cpu, |_, _| {}).unwrap());
    assert!(c.report().unwrap().final_loss.is_finite());
    let path = tmp.path().join("head.safetensors");
    head.for_tower(&tower_path).unwrap().save(&path).unwrap();
    let loaded = TextHead::load(&path).unwrap();
    loaded.check_tower(&tower_path).unwrap();
    let other = tmp.path().join("other.safetensors");
    train_tower(&narrow, &BagOfWords, &TrainConfig { seed: 3, ..config(5) }, &other, &mut |_| {}).unwrap();
    let e = loaded.check_tower(&other).unwrap_err().to_string();
    assert!(e.contains("trained against another tower"), "{e}");
}
