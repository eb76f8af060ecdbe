//! The CLIP backend on tiny random-weight models written to safetensors: load round trip,
//! shapes, determinism, EOS pooling (padding changes nothing), candle vs native parity,
//! GELU configs, clear errors; and a full-size random ViT-B/32 built in memory.

use std::path::Path;

use vlmgym_reward::clip::{
    random_weights, tiny_config, word_level_tokenizer_json, write_random_model, Activation, ClipBackend, ClipConfig,
    ClipImpl,
};
use vlmgym_reward::tower_cpu::Kernel;
use vlmgym_reward::{bench_embed_images, Backend, Frames};

const WORDS: [&str; 8] = ["a", "red", "blue", "square", "the", "car", "is", "crashed"];

fn vocab() -> usize {
    WORDS.len() + 4
}

fn tokenizer() -> tokenizers::Tokenizer {
    word_level_tokenizer_json(&WORDS).parse().unwrap()
}

fn write_model(dir: &Path, config: &ClipConfig, seed: u64) {
    let t = random_weights(config, seed).unwrap();
    candle_core::safetensors::save(&t, dir.join("model.safetensors")).unwrap();
    std::fs::write(dir.join("tokenizer.json"), word_level_tokenizer_json(&WORDS)).unwrap();
}

fn frames(n: usize, h: usize, w: usize) -> Frames {
    Frames::new((0..n * h * w * 3).map(|i| (i * 31 % 251) as u8).collect(), n, h, w).unwrap()
}

fn texts(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn load_round_trip_shapes_and_determinism() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_config(vocab(), Activation::QuickGelu);
    write_model(dir.path(), &config, 1);
    let b = ClipBackend::load(dir.path(), Some(config.clone())).unwrap();
    let amx = Kernel::best().is_bf16();
    assert_eq!(b.implementation(), if amx { ClipImpl::NativeBf16 } else { ClipImpl::Candle });
    assert_eq!(b.dim(), 16);
    let f = frames(3, 40, 60);
    let e = b.embed_images(&f).unwrap();
    assert_eq!((e.len(), e.dim()), (3, 16));
    assert_eq!(b.embed_images(&f).unwrap(), e);
    let t = b.embed_texts(&texts(&["a red square", "the car is crashed"])).unwrap();
    assert_eq!((t.len(), t.dim()), (2, 16));
    assert_ne!(t.row(0), t.row(1));
    for r in e.iter().chain(t.iter()) {
        assert!((r.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-5);
    }
    // Same weights in memory give the same embeddings.
    let mem = ClipBackend::from_tensors(random_weights(&config, 1).unwrap(), config.clone(), Some(tokenizer()), None)
        .unwrap();
    assert_eq!(mem.embed_images(&f).unwrap(), e);
    assert_eq!(mem.embed_texts(&texts(&["a red square", "the car is crashed"])).unwrap(), t);
    // A Hugging Face config.json instead of a named config.
    let hf = serde_json::json!({
        "projection_dim": 16,
        "text_config": {"vocab_size": vocab(), "hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 4,
                        "num_hidden_layers": 2, "max_position_embeddings": 16},
        "vision_config": {"hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 4,
                          "num_hidden_layers": 2, "image_size": 32, "patch_size": 8}
    });
    std::fs::write(dir.path().join("config.json"), hf.to_string()).unwrap();
    let from_json = ClipBackend::load(dir.path(), None).unwrap();
    assert_eq!(from_json.config(), &config);
    assert_eq!(from_json.embed_images(&f).unwrap(), e);
}

#[test]
fn padding_does_not_change_text_embeddings() {
    for act in [Activation::QuickGelu, Activation::Gelu] {
        let config = tiny_config(vocab(), act);
        let b = ClipBackend::random(config, 3, Some(tokenizer())).unwrap();
        let ids = b.tokenize(&texts(&["a red square", "the car"])).unwrap();
        assert_eq!(ids[0].len(), 5);
        let tight = b.embed_token_ids(&ids, Some(5)).unwrap();
        let full = b.embed_token_ids(&ids, None).unwrap();
        assert!(max_diff(tight.as_slice(), full.as_slice()) < 1e-5, "{act:?}");
        // Alone or in a batch: the same.
        let alone = b.embed_texts(&texts(&["the car"])).unwrap();
        assert!(max_diff(alone.row(0).unwrap(), full.row(1).unwrap()) < 1e-5);
        // Texts longer than the context (16) are truncated, keeping the end token.
        let long = vec!["a"; 40].join(" ");
        let ids = b.tokenize(&texts(&[&long])).unwrap();
        assert_eq!(ids[0].len(), 16);
        assert_eq!(*ids[0].last().unwrap() as usize, vocab() - 1);
        assert!(b.embed_texts(&texts(&[&long])).is_ok());
    }
}

#[test]
fn candle_and_native_agree_and_gelu_runs_native() {
    let config = tiny_config(vocab(), Activation::QuickGelu);
    let w = random_weights(&config, 5).unwrap();
    let c = ClipBackend::from_tensors(w.clone(), config.clone(), Some(tokenizer()), Some(ClipImpl::Candle)).unwrap();
    let n = ClipBackend::from_tensors(w, config, Some(tokenizer()), Some(ClipImpl::Native)).unwrap();
    let f = frames(2, 32, 32);
    let t = texts(&["a blue square", "crashed"]);
    assert!(max_diff(c.embed_images(&f).unwrap().as_slice(), n.embed_images(&f).unwrap().as_slice()) < 1e-4);
    assert!(max_diff(c.embed_texts(&t).unwrap().as_slice(), n.embed_texts(&t).unwrap().as_slice()) < 1e-4);

    let gelu = tiny_config(vocab(), Activation::Gelu);
    let w = random_weights(&gelu, 5).unwrap();
    let e = ClipBackend::from_tensors(w.clone(), gelu.clone(), None, Some(ClipImpl::Candle)).unwrap_err();
    assert!(e.to_string().contains("QuickGELU"), "{e}");
    let g = ClipBackend::from_tensors(w, gelu, None, Some(ClipImpl::Native)).unwrap();
    assert_eq!(g.implementation(), ClipImpl::Native);
    assert_eq!(g.embed_images(&f).unwrap().len(), 2);
    // GELU and QuickGELU differ on the same weights.
    assert!(max_diff(g.embed_images(&f).unwrap().as_slice(), n.embed_images(&f).unwrap().as_slice()) > 1e-4);
    let e = g.embed_texts(&t).unwrap_err();
    assert!(e.to_string().contains("no tokenizer"), "{e}");
}

#[test]
fn the_bf16_kernel_agrees_with_f32_to_bf16_precision() {
    // QuickGELU is fused into the bf16 product's write-back; GELU runs on candle after it.
    for act in [Activation::Gelu, Activation::QuickGelu] {
        let config = tiny_config(vocab(), act);
        let w = random_weights(&config, 6).unwrap();
        let f32_model =
            ClipBackend::from_tensors(w.clone(), config.clone(), Some(tokenizer()), Some(ClipImpl::Native)).unwrap();
        let bf16 = ClipBackend::from_tensors(w, config, Some(tokenizer()), Some(ClipImpl::NativeBf16));
        if !Kernel::best().is_bf16() {
            let e = bf16.unwrap_err();
            assert!(e.to_string().contains("AVX-512 BF16"), "{e}");
            return;
        }
        let bf16 = bf16.unwrap();
        let f = frames(5, 48, 40);
        let t = texts(&["a blue square", "the car is crashed", "crashed"]);
        let cos = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        for (a, b) in [
            (f32_model.embed_images(&f).unwrap(), bf16.embed_images(&f).unwrap()),
            (f32_model.embed_texts(&t).unwrap(), bf16.embed_texts(&t).unwrap()),
        ] {
            assert_ne!(a, b, "bf16 products round differently from f32 ones");
            for (x, y) in a.iter().zip(b.iter()) {
                assert!(cos(x, y) > 0.999, "{act:?}: cosine {} between the f32 and bf16 embeddings", cos(x, y));
            }
        }
        assert_eq!(bf16.embed_images(&f).unwrap(), bf16.embed_images(&f).unwrap(), "deterministic");
    }
}

#[test]
fn a_written_random_model_loads_with_its_own_config_json() {
    let dir = tempfile::tempdir().unwrap();
    for act in [Activation::QuickGelu, Activation::Gelu, Activation::GeluTanh] {
        let config = tiny_config(vocab(), act);
        assert_eq!(ClipConfig::from_hf_json(&config.to_hf_json()).unwrap(), config);
    }
    let config = tiny_config(vocab(), Activation::Gelu);
    let folder = dir.path().join("clip");
    write_random_model(&folder, &config, 4, &WORDS).unwrap();
    let loaded = ClipBackend::load(&folder, None).unwrap();
    assert_eq!(loaded.config(), &config);
    let mem = ClipBackend::from_tensors(random_weights(&config, 4).unwrap(), config.clone(), Some(tokenizer()), None)
        .unwrap();
    let t = texts(&["the car is crashed"]);
    assert_eq!(loaded.embed_texts(&t).unwrap(), mem.embed_texts(&t).unwrap());
    let e = write_random_model(&folder, &config, 4, &WORDS[..3]).unwrap_err();
    assert!(e.to_string().contains("vocabulary of 12"), "{e}");
}

#[test]
fn errors_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_config(vocab(), Activation::QuickGelu);
    let e = ClipBackend::load(dir.path(), Some(config.clone())).unwrap_err();
    assert!(e.to_string().contains("model.safetensors is missing"), "{e}");
    write_model(dir.path(), &config, 1);
    let e = ClipBackend::load(dir.path(), None).unwrap_err();
    assert!(e.to_string().contains("config.json"), "{e}");
    let mut wider = config.clone();
    wider.vision.intermediate_size = 128;
    let e = format!("{:#}", ClipBackend::load(dir.path(), Some(wider)).unwrap_err());
    assert!(e.contains("vision_model.encoder.layers.0.mlp.fc1.weight"), "{e}");
    std::fs::write(dir.path().join("model.safetensors"), b"corrupt").unwrap();
    let e = format!("{:#}", ClipBackend::load(dir.path(), Some(config.clone())).unwrap_err());
    assert!(e.contains("corrupt"), "{e}");
    let b = ClipBackend::random(config, 0, Some(tokenizer())).unwrap();
    assert!(b.embed_texts(&[]).unwrap_err().to_string().contains("no texts"));
}

#[test]
fn full_size_vit_b32_builds_in_memory_and_benches() {
    let config = ClipConfig::named("ViT-B-32").unwrap();
    let b = ClipBackend::random(config, 0, None).unwrap();
    assert_eq!(b.dim(), 512);
    let r = bench_embed_images(&b, 2, 1, 96, 128).unwrap();
    assert!(r.frames_per_second > 0.0);
    eprintln!("random ViT-B/32: {:.1} frames/s (batch 2, 96x128 frames)", r.frames_per_second);
}
