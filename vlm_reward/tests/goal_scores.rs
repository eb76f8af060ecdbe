//! The shipped goal specs scored with the simlit text encoder, using caption embeddings in
//! place of frame embeddings (the image tower is not in this slice): captions that meet the
//! goal must score higher than captions that do not.

use std::path::Path;

use vlmgym_reward::{Backend, GoalScore, GoalSpec, SimlitEncoder, TextEmbeddingCache};

fn spec(name: &str) -> GoalSpec {
    GoalSpec::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/goals").join(name)).unwrap()
}

fn scores(enc: &SimlitEncoder, score: &GoalScore, captions: &[&str]) -> Vec<f32> {
    let texts: Vec<String> = captions.iter().map(|s| s.to_string()).collect();
    score.score_batch(&enc.embed_texts(&texts).unwrap()).unwrap()
}

#[test]
fn shipped_specs_rank_captions() {
    let enc = SimlitEncoder::load_default().unwrap_or_else(|e| panic!("{e:#}"));
    let mut cache = TextEmbeddingCache::new();

    let cart = GoalScore::from_spec(&spec("cartpole_upright.toml"), &enc, &mut cache).unwrap();
    let r = scores(&enc, &cart, &["the pole stands upright on the cart", "the pole has fallen over"]);
    assert!(r[0] > r[1], "cartpole rewards {r:?}");

    let lane = GoalScore::from_spec(&spec("driving_lane_centre.toml"), &enc, &mut cache).unwrap();
    let r = scores(&enc, &lane, &["the car has crashed", "the car drives in the centre of its lane"]);
    assert!(r.iter().all(|x| (0.0..=1.0).contains(x)), "{r:?}");
    assert!(r[1] > r[0], "lane rewards {r:?}");
    assert_eq!(r[1], 1.0);
    assert_eq!(r[0], 0.0);
    // Four distinct prompts were embedded once each.
    assert_eq!(cache.len(), 4);
}
