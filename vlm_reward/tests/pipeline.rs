//! The one language-reward pipeline with a deterministic stand-in backend: frames scored in
//! batches equal frames scored one by one, scores go through the goal score, and synthesis
//! turns them into rewards with every term.

use anyhow::Result;
use serde_json::json;
use vlmgym_reward::synthesis::RewardSpec;
use vlmgym_reward::{Backend, Embeddings, Frames, GoalScore, RewardPipeline};

/// Texts embed by their first letter (r: red, g: green, b: blue, else grey); a frame
/// embeds as its mean colour plus a small constant.
struct ColourBackend;

impl Backend for ColourBackend {
    fn embed_texts(&self, texts: &[String]) -> Result<Embeddings> {
        let rows: Vec<Vec<f32>> = texts
            .iter()
            .map(|t| match t.chars().next() {
                Some('r') => vec![1.0, 0.0, 0.0],
                Some('g') => vec![0.0, 1.0, 0.0],
                Some('b') => vec![0.0, 0.0, 1.0],
                _ => vec![1.0, 1.0, 1.0],
            })
            .collect();
        Embeddings::from_vecs(&rows)
    }

    fn embed_images(&self, frames: &Frames) -> Result<Embeddings> {
        let rows: Vec<Vec<f32>> = (0..frames.len())
            .map(|i| {
                let f = frames.frame(i).unwrap();
                let mut m = [0.01f32; 3];
                for px in f.chunks_exact(3) {
                    for c in 0..3 {
                        m[c] += px[c] as f32 / 255.0;
                    }
                }
                m.to_vec()
            })
            .collect();
        Embeddings::from_vecs(&rows)
    }

    fn dim(&self) -> usize {
        3
    }
}

fn frames(colours: &[[u8; 3]], side: usize) -> Frames {
    let mut data = Vec::new();
    for c in colours {
        for _ in 0..side * side {
            data.extend_from_slice(c);
        }
    }
    Frames::new(data, colours.len(), side, side).unwrap()
}

fn pipeline(spec: &str) -> RewardPipeline {
    let score = GoalScore::from_texts(&ColourBackend, "red car", Some("blue car"), None, 0.5, 0.5).unwrap();
    RewardPipeline::new(Box::new(ColourBackend), score, RewardSpec::from_toml_str(spec).unwrap(), "top", 4)
}

const SEMANTIC: &str =
    "name = \"s\"\noutput = \"semantic\"\n[[term]]\nname = \"semantic\"\nop = \"semantic\"\nscore = \"semantic\"\n";

#[test]
fn batches_score_like_single_frames_and_rank_the_goal_first() {
    let p = pipeline(SEMANTIC);
    assert_eq!((p.camera(), p.size(), p.score().name()), ("top", 4, "clg"));
    // 600 frames: more than one embedding batch.
    let colours: Vec<[u8; 3]> = (0..600).map(|i| [(i % 256) as u8, 40, (255 - i % 256) as u8]).collect();
    let all = p.score_frames(&frames(&colours, 4)).unwrap();
    assert_eq!(all.len(), 600);
    for (i, c) in colours.iter().enumerate().step_by(37) {
        let one = p.score_frames(&frames(&[*c], 4)).unwrap();
        assert_eq!(one[0].to_bits(), all[i].to_bits(), "frame {i}");
    }
    let s = p.score_frames(&frames(&[[255, 0, 0], [0, 0, 255], [128, 0, 128]], 4)).unwrap();
    assert_eq!(s[0], 1.0, "a red frame is the goal");
    assert_eq!(s[1], 0.0, "a blue frame is the negative");
    assert_eq!(s[2], 1.0, "purple is as far from red as from blue: z = 0, inside the window");
    let s = p.score_frames(&frames(&[[200, 0, 150]], 4)).unwrap();
    assert!(s[0] == 1.0, "closer to the goal: z < 0 clips to 1");
    let s = p.score_frames(&frames(&[[150, 0, 200]], 4)).unwrap();
    assert!(s[0] > 0.0 && s[0] < 1.0, "a little closer to the negative: inside the window, {s:?}");
    // CLG's contrast is reported, negative for the goal.
    let e = p.embed(&frames(&[[255, 0, 0]], 4)).unwrap();
    assert!(p.contrast(&e).unwrap().unwrap()[0] < 0.0);
}

#[test]
fn frames_of_another_size_are_an_error() {
    let p = pipeline(SEMANTIC);
    let err = p.score_frames(&frames(&[[1, 2, 3]], 5)).unwrap_err().to_string();
    assert!(err.contains("scores 4x4 frames, got 5x5"), "{err}");
}

#[test]
fn steps_are_synthesized_with_every_term() {
    let spec = "name = \"t\"\noutput = \"r\"\n\
        [[term]]\nname = \"semantic\"\nop = \"semantic\"\nscore = \"semantic\"\n\
        [[term]]\nname = \"speed\"\nop = \"state\"\nquantity = \"v\"\n\
        [[term]]\nname = \"r\"\nop = \"product\"\nargs = [\"semantic\", \"speed\"]\n";
    let p = pipeline(spec);
    let mut synth = p.synthesizer(1);
    let info = json!({"state": {"v": 0.5}}).as_object().unwrap().clone();
    let steps = p.score_steps(&mut synth, &frames(&[[255, 0, 0]], 4), &[info], &[false], &[false]).unwrap();
    let step = &steps[0];
    assert_eq!(step.semantic, 1.0);
    assert_eq!(step.evaluation.reward, 0.5);
    assert_eq!(&*step.evaluation.names, &["semantic".to_string(), "speed".into(), "r".into()]);
    // Cosine and VLM-RM scores go through the same pipeline.
    let cos = GoalScore::from_texts(&ColourBackend, "green", None, None, 0.5, 0.5).unwrap();
    assert_eq!(cos.name(), "cosine");
    let vlmrm = GoalScore::from_texts(&ColourBackend, "green", None, Some("x"), 0.5, 0.5).unwrap();
    assert_eq!(vlmrm.name(), "vlmrm");
    let err = GoalScore::from_texts(&ColourBackend, " ", None, None, 0.5, 0.5).unwrap_err().to_string();
    assert!(err.contains("goal text is empty"), "{err}");
    let err = GoalScore::from_texts(&ColourBackend, "g", Some("a"), Some("b"), 0.5, 0.5).unwrap_err().to_string();
    assert!(err.contains("not both"), "{err}");
}
