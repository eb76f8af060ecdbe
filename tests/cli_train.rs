//! `vlmgym train` / `vlmgym eval` as a user runs them, on tiny runs.

use std::path::Path;
use std::process::{Command, Output};

fn vlmgym(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vlmgym")).args(args).output().expect("run vlmgym")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const TINY: &str = "num_envs = 2\nnum_steps = 32\nnum_minibatches = 2\nupdate_epochs = 2\ntotal_timesteps = 640\ncheckpoint_every = 5\n";

fn tiny_run(dir: &Path, name: &str) -> std::path::PathBuf {
    tiny_run_of(dir, name, "CartPole-v1")
}

/// A tiny PPO run of `env_id` (seed 5) in `dir/name`.
fn tiny_run_of(dir: &Path, name: &str, env_id: &str) -> std::path::PathBuf {
    let cfg = dir.join("tiny.toml");
    std::fs::write(&cfg, TINY).unwrap();
    let out = dir.join(name);
    let o = vlmgym(&[
        "train",
        "--env",
        env_id,
        "--seed",
        "5",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    out
}

#[test]
fn train_writes_a_complete_run_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = tiny_run(dir.path(), "run");
    let config = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(config.contains("env_id = \"CartPole-v1\"") && config.contains("num_steps = 32"), "{config}");
    let metrics = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    let mut lines = metrics.lines();
    assert_eq!(
        lines.next().unwrap(),
        "global_step,iteration,episodes,episodic_return,episode_length,policy_loss,value_loss,entropy,approx_kl,clipfrac,explained_variance,learning_rate,sps"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 10, "one row per update");
    assert!(rows[9].starts_with("640,10,"), "{}", rows[9]);
    for ckpt in ["iter_000005.safetensors", "iter_000010.safetensors"] {
        assert!(out.join("checkpoints").join(ckpt).is_file(), "{ckpt}");
    }
    let png = std::fs::read(out.join("curves.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    let o = vlmgym(&["train", "--env", "CartPole-v1", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("already holds a run; pass --resume"), "{}", stderr(&o));
}

/// An interrupted run (its last checkpoint lost) resumed from the one before ends with a
/// checkpoint byte-identical to the uninterrupted run's, and metrics.csv has no duplicate rows.
#[test]
fn resume_reproduces_the_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = tiny_run(dir.path(), "run");
    let full = std::fs::read(out.join("checkpoints/iter_000010.safetensors")).unwrap();
    let rows_before = std::fs::read_to_string(out.join("metrics.csv")).unwrap().lines().count();
    std::fs::remove_file(out.join("checkpoints/iter_000010.safetensors")).unwrap();
    let o = vlmgym(&["train", "--resume", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("resuming CartPole-v1 from"), "{}", stderr(&o));
    assert_eq!(std::fs::read(out.join("checkpoints/iter_000010.safetensors")).unwrap(), full);
    assert_eq!(std::fs::read_to_string(out.join("metrics.csv")).unwrap().lines().count(), rows_before);
    let o = vlmgym(&["train", "--resume", "--env", "Acrobot-v1", "--out", out.to_str().unwrap()]);
    assert!(stderr(&o).contains("is a run of CartPole-v1, not Acrobot-v1"), "{}", stderr(&o));
}

/// An env that reports `success` gets it per episode, in the order of the episodes' seeds:
/// a MountainCar-v0 episode succeeds exactly when it ends before its 200 steps of reward -1.
#[test]
fn eval_reports_each_episodes_success() {
    let dir = tempfile::tempdir().unwrap();
    let out = tiny_run_of(dir.path(), "mc", "MountainCar-v0");
    let o = vlmgym(&["eval", "--checkpoint", out.to_str().unwrap(), "--episodes", "4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let successes: Vec<bool> = report["successes"].as_array().unwrap().iter().map(|s| s.as_bool().unwrap()).collect();
    let returns: Vec<f64> = report["returns"].as_array().unwrap().iter().map(|r| r.as_f64().unwrap()).collect();
    assert_eq!(successes.len(), 4);
    for (s, r) in successes.iter().zip(&returns) {
        assert_eq!(*s, *r > -200.0, "success {s} with return {r}");
    }
    let rate = successes.iter().filter(|s| **s).count() as f64 / 4.0;
    assert_eq!(report["success_rate"].as_f64().unwrap(), rate);
}

#[test]
fn eval_prints_json_and_rejects_mismatched_or_corrupt_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let out = tiny_run(dir.path(), "run");
    let o = vlmgym(&["eval", "--checkpoint", out.to_str().unwrap(), "--episodes", "3", "--deterministic"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["episodes"], 3);
    assert_eq!(report["returns"].as_array().unwrap().len(), 3);
    assert_eq!(report["global_step"], 640);
    assert_eq!(report["reward_threshold"], 475.0);
    let mean = report["mean_return"].as_f64().unwrap();
    assert!((1.0..=500.0).contains(&mean), "{mean}");
    assert!(report.get("successes").is_none() && report["success_rate"].is_null(), "CartPole reports no success");

    // --trace writes the first episode step by step, and it adds up to the reported return.
    let trace = dir.path().join("trace.jsonl");
    let args = ["eval", "--checkpoint", out.to_str().unwrap(), "--episodes", "1", "--deterministic", "--trace"];
    let o = vlmgym(&[&args[..], &[trace.to_str().unwrap()]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let lines: Vec<serde_json::Value> =
        std::fs::read_to_string(&trace).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len() as f64, report["mean_length"].as_f64().unwrap());
    assert_eq!(lines[0]["step"], 0);
    assert_eq!(lines[0]["obs"].as_array().unwrap().len(), 4);
    assert!(lines[0]["action"].is_number(), "{}", lines[0]);
    let total: f64 = lines.iter().map(|l| l["reward"].as_f64().unwrap()).sum();
    assert!((total - report["returns"][0].as_f64().unwrap()).abs() < 1e-9);
    let o = vlmgym(&["eval", "--checkpoint", out.to_str().unwrap(), "--trace", "/nonexistent/dir/t.jsonl"]);
    assert!(stderr(&o).contains("cannot create the trace file /nonexistent/dir/t.jsonl"), "{}", stderr(&o));

    let o = vlmgym(&["eval", "--checkpoint", out.to_str().unwrap(), "--env", "Acrobot-v1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("takes observations of 4 numbers but the env gives 6"), "{}", stderr(&o));
    let bad = dir.path().join("bad.safetensors");
    std::fs::write(&bad, b"\x08\x00\x00\x00\x00\x00\x00\x00{}").unwrap();
    let o = vlmgym(&["eval", "--checkpoint", bad.to_str().unwrap()]);
    assert!(stderr(&o).contains("is corrupt or not a vlmgym checkpoint"), "{}", stderr(&o));
    let o = vlmgym(&["train", "--env", "CartPol-v1", "--out", dir.path().join("x").to_str().unwrap()]);
    assert!(stderr(&o).contains("did you mean `CartPole-v1`"), "{}", stderr(&o));
    assert!(!dir.path().join("x").exists(), "a failed start leaves no run directory");
}

#[test]
fn env_kwargs_reach_the_run_and_bad_ones_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("tiny.toml");
    std::fs::write(&cfg, TINY).unwrap();
    let out = dir.path().join("pendulum");
    let (c, o) = (cfg.to_str().unwrap(), out.to_str().unwrap());
    let r = vlmgym(&["train", "--env", "Pendulum-v1", "--kwarg", "g=9.81", "--config", c, "--out", o]);
    assert!(r.status.success(), "{}", stderr(&r));
    let config = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(config.contains("[env_kwargs]\ng = 9.81"), "{config}");
    let bad = dir.path().join("bad");
    let r = vlmgym(&[
        "train",
        "--env",
        "Pendulum-v1",
        "--kwarg",
        "gravity=3",
        "--config",
        c,
        "--out",
        bad.to_str().unwrap(),
    ]);
    assert!(stderr(&r).contains("invalid kwarg `gravity`: not accepted here (accepted: g)"), "{}", stderr(&r));
    assert!(!bad.exists());
    // eval --kwarg replaces the run's own kwargs (an unseen scenario): the run's value gives
    // the run's result, another gravity another one, and a bad key the same error.
    let eval = |extra: &[&str]| {
        let r = vlmgym(&[&["eval", "--checkpoint", o, "--episodes", "2", "--deterministic"][..], extra].concat());
        assert!(r.status.success(), "{}", stderr(&r));
        serde_json::from_slice::<serde_json::Value>(&r.stdout).unwrap()["mean_return"].as_f64().unwrap()
    };
    let (own, same, light) = (eval(&[]), eval(&["--kwarg", "g=9.81"]), eval(&["--kwarg", "g=2.0"]));
    assert_eq!(own, same);
    assert_ne!(own, light, "g=2 changed nothing");
    let r = vlmgym(&["eval", "--checkpoint", o, "--kwarg", "gravity=3"]);
    assert!(stderr(&r).contains("invalid kwarg `gravity`"), "{}", stderr(&r));
}

#[test]
fn a_policys_visited_states_make_a_dataset_that_trains_with_another() {
    let dir = tempfile::tempdir().unwrap();
    let run = tiny_run(dir.path(), "run");
    let out = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let dataset = |extra: &[&str], name: &str| {
        let mut args = vec!["dataset", "--envs", "CartPole-v1"];
        args.extend_from_slice(extra);
        let o = out(name);
        args.extend_from_slice(&["--out", &o]);
        vlmgym(&args)
    };
    let policy =
        ["--size", "48", "--frames", "0", "--policy", run.to_str().unwrap(), "--policy-frames", "12", "--seed", "100"];
    let o = dataset(&policy, "pol");
    assert!(o.status.success(), "{}", stderr(&o));
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("pol/meta.json")).unwrap()).unwrap();
    let samples = meta["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 12);
    // Every 5th step of each episode, or its last; seeds from --seed on.
    for (i, s) in samples.iter().enumerate() {
        let step = s["step"].as_u64().unwrap();
        let last_of_episode = samples.get(i + 1).is_none_or(|n| n["episode"] != s["episode"]);
        assert!(step > 0 && (step % 5 == 0 || last_of_episode), "{s}");
        assert!(s["seed"].as_u64().unwrap() >= 100);
        assert!(!s["captions"].as_array().unwrap().is_empty());
    }
    // Same seed, same frames.
    assert!(dataset(&policy, "pol2").status.success());
    assert_eq!(
        std::fs::read(dir.path().join("pol/frames.safetensors")).unwrap(),
        std::fs::read(dir.path().join("pol2/frames.safetensors")).unwrap()
    );
    // A sampled dataset and the policy's train as one.
    assert!(dataset(&["--size", "48", "--frames", "8"], "sampled").status.success());
    let train = |data: &[&str], tower: &str| {
        let mut args = vec!["reward-model", "train", "--out", tower, "--steps", "2"];
        data.iter().for_each(|d| args.extend_from_slice(&["--data", d]));
        vlmgym(&args)
    };
    let o = train(&[&out("sampled"), &out("pol")], &out("t.safetensors"));
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["steps"], 2);
    // Its training frames are both datasets' train splits.
    let train_frames = |name: &str| {
        let meta: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join(name).join("meta.json")).unwrap()).unwrap();
        meta["samples"].as_array().unwrap().iter().filter(|s| s["split"] == "train").count()
    };
    assert_eq!(report["train_frames"], train_frames("sampled") + train_frames("pol"), "{report}");

    // Errors name the problem.
    let o = dataset(&["--size", "48", "--frames", "0"], "none");
    assert!(
        !o.status.success() && stderr(&o).contains("--frames must be at least 1 (or give --policy"),
        "{}",
        stderr(&o)
    );
    let o = vlmgym(&["dataset", "--envs", "MountainCar-v0", "--policy", run.to_str().unwrap(), "--out", &out("mc")]);
    let e = stderr(&o);
    assert!(
        !o.status.success() && e.contains("was trained on CartPole-v1, which is not one of --envs (MountainCar-v0)"),
        "{e}"
    );
    assert!(dataset(&["--frames", "4", "--size", "24"], "small").status.success());
    let o = train(&[&out("sampled"), &out("small")], &out("u.safetensors"));
    let e = stderr(&o);
    assert!(!o.status.success() && e.contains("part 1 has 24x24 frames, part 0 has 48x48"), "{e}");
}

/// `--expert-frames`: the states an env's scripted expert passes through on its way to a
/// push's goal, from the env's own starts, seeded; an env without an expert is refused.
#[test]
fn an_experts_episodes_make_a_dataset_of_the_task_being_solved() {
    let dir = tempfile::tempdir().unwrap();
    let out = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let dataset = |env: &str, name: &str| {
        let o = out(name);
        let args = ["dataset", "--envs", env, "--frames", "0", "--expert-frames", "40", "--size", "32"];
        vlmgym(&[&args[..], &["--seed", "7", "--out", &o]].concat())
    };
    let o = dataset("ArmPushCube-v0", "expert");
    assert!(o.status.success(), "{}", stderr(&o));
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("expert/meta.json")).unwrap()).unwrap();
    let samples = meta["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 40);
    let facts = |s: &serde_json::Value| -> Vec<String> {
        s["captions"].as_array().unwrap().iter().map(|c| c["fact"].as_str().unwrap().to_string()).collect()
    };
    // Every episode starts where the env spawns (the cube 0.2 m from its goal); the exact
    // half (even episodes) push it onto the goal, which ends the episode.
    for s in samples {
        assert!(s["step"].as_u64().unwrap() > 0 && s["seed"].as_u64().unwrap() >= 7, "{s}");
    }
    let solved = samples.iter().filter(|s| s["episode"].as_u64().unwrap() % 2 == 0 && s["success"] == true).count();
    assert!(solved >= 2, "{solved} exact expert episodes ended on the target");
    assert!(samples.iter().filter(|s| s["success"] == true).all(|s| facts(s).contains(&"cube.on_target".to_string())));
    assert!(samples.iter().any(|s| facts(s).contains(&"gripper.touching_cube".to_string())), "the expert pushes");
    assert!(dataset("ArmPushCube-v0", "again").status.success());
    assert_eq!(
        std::fs::read(dir.path().join("expert/frames.safetensors")).unwrap(),
        std::fs::read(dir.path().join("again/frames.safetensors")).unwrap(),
        "same seed, same frames"
    );
    let o = dataset("CartPole-v1", "none");
    assert!(stderr(&o).contains("--expert-frames: CartPole-v1 has no scripted expert"), "{}", stderr(&o));
}

#[test]
fn pixel_runs_train_a_cnn_on_camera_frames_and_eval_on_the_same_frames() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("cnn.toml");
    std::fs::write(&cfg, format!("{TINY}policy = \"cnn\"\nnorm_obs = false\n")).unwrap();
    let out = dir.path().join("pix");
    let train = |extra: &[&str], out: &Path, cfg: &Path| {
        let mut args = vec!["train", "--env", "NavGoTo-v0", "--config", cfg.to_str().unwrap()];
        args.extend_from_slice(&["--out", out.to_str().unwrap()]);
        args.extend_from_slice(extra);
        vlmgym(&args)
    };
    let o = train(&["--pixels", "ego", "--pixel-size", "36x36"], &out, &cfg);
    assert!(o.status.success(), "{}", stderr(&o));
    let config = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(config.contains("[observation]") && config.contains("camera = \"ego\"") && config.contains("width = 36"));
    // eval renders the same 36 x 36 frames for the CNN (a state observation would not fit it).
    let o = vlmgym(&["eval", "--checkpoint", out.to_str().unwrap(), "--episodes", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["episodes"], 2);
    assert!(report["metrics"]["spl"].as_f64().is_some(), "{report}");
    // Clear errors: an MLP config, a camera the scene lacks, a size the CNN cannot tile.
    let mlp = dir.path().join("mlp.toml");
    std::fs::write(&mlp, TINY).unwrap();
    let o = train(&["--pixels", "ego"], &dir.path().join("a"), &mlp);
    assert!(stderr(&o).contains("--pixels needs a CNN policy"), "{}", stderr(&o));
    let o = train(&["--pixels", "nope", "--pixel-size", "36x36"], &dir.path().join("b"), &cfg);
    assert!(!o.status.success() && stderr(&o).contains("nope"), "{}", stderr(&o));
    let o = train(&["--pixels", "ego", "--pixel-size", "40x40"], &dir.path().join("c"), &cfg);
    assert!(stderr(&o).contains("36 + 8k"), "{}", stderr(&o));
}

/// `render --checkpoint RUN` lets the run's policy act (the env id and kwargs come from the
/// run): the same frames each time, other frames than random actions give, and a checkpoint
/// of another env's spaces is refused by name.
#[test]
fn render_plays_a_checkpoints_policy() {
    let dir = tempfile::tempdir().unwrap();
    let run = tiny_run(dir.path(), "cp");
    let frame = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let args =
            ["render", "--steps", "12", "--size", "48x48", "--renderer", "raster", "--out", out.to_str().unwrap()];
        let o = vlmgym(&[&args[..], extra].concat());
        assert!(o.status.success(), "{}", stderr(&o));
        std::fs::read(out).unwrap()
    };
    let policy = frame("p1.png", &["--checkpoint", run.to_str().unwrap()]);
    assert_eq!(policy, frame("p2.png", &["--checkpoint", run.to_str().unwrap(), "CartPole-v1"]));
    assert_ne!(policy, frame("random.png", &["CartPole-v1"]));
    let sampled = frame("s.png", &["--checkpoint", run.to_str().unwrap(), "--stochastic"]);
    assert_eq!(&sampled[..8], b"\x89PNG\r\n\x1a\n");
    let o = vlmgym(&["render", "MountainCar-v0", "--checkpoint", run.to_str().unwrap(), "--out", "x.png"]);
    assert!(!o.status.success() && stderr(&o).contains("trained on CartPole-v1"), "{}", stderr(&o));
    let o = vlmgym(&["render", "--out", "x.png"]);
    assert!(!o.status.success() && stderr(&o).contains("name an env id"), "{}", stderr(&o));
}
