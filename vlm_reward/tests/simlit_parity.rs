//! all-MiniLM-L6-v2 on candle against sentence-transformers' embeddings.
//!
//! The fixture is written by `scripts/gen_simlit_fixture.py`; the model files come from
//! `scripts/setup.sh` (the test fails with a message saying so when they are missing).

use std::path::Path;

use vlmgym_reward::simlit::model_dir;
use vlmgym_reward::{Backend, SimlitEncoder};

struct Fixture {
    sentences: Vec<String>,
    embeddings: Vec<Vec<f32>>,
}

fn fixture() -> Fixture {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/simlit_embeddings.json");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("read fixture")).unwrap();
    let sentences = v["sentences"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect();
    let embeddings = v["embeddings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect())
        .collect();
    Fixture { sentences, embeddings }
}

fn encoder() -> SimlitEncoder {
    let dir = model_dir().unwrap();
    SimlitEncoder::load(&dir).unwrap_or_else(|e| panic!("{e:#}"))
}

fn cos(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn matches_sentence_transformers() {
    let fx = fixture();
    assert_eq!(fx.sentences.len(), 6);
    let enc = encoder();
    assert_eq!(enc.dim(), 384);
    // As one padded batch, and one text at a time (no padding): both must match.
    let batch = enc.embed_texts(&fx.sentences).unwrap();
    assert_eq!(batch.len(), fx.sentences.len());
    let mut worst = 0.0f32;
    for (i, want) in fx.embeddings.iter().enumerate() {
        let single = enc.embed_texts(&fx.sentences[i..=i]).unwrap();
        for got in [batch.row(i).unwrap(), single.row(0).unwrap()] {
            assert_eq!(got.len(), want.len());
            let diff = got.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            assert!(diff < 1e-4, "sentence {i} {:?}: max abs diff {diff}", fx.sentences[i]);
            worst = worst.max(diff);
        }
    }
    println!("simlit parity: max abs diff {worst:e}");
}

#[test]
fn close_sentences_are_closer_than_unrelated_ones() {
    let enc = encoder();
    let t = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let e = enc
        .embed_texts(&t(&[
            "the car drives in the centre of its lane",
            "a vehicle driving in the middle of the road lane",
            "pole vertically upright on top of the cart",
            "the pole stands straight up on the cart",
        ]))
        .unwrap();
    let (car, car2, pole, pole2) = (e.row(0).unwrap(), e.row(1).unwrap(), e.row(2).unwrap(), e.row(3).unwrap());
    assert!(cos(car, car2) > cos(car, pole) + 0.1);
    assert!(cos(pole, pole2) > cos(pole, car2) + 0.1);
    for r in e.iter() {
        assert!((cos(r, r) - 1.0).abs() < 1e-5);
    }
}
