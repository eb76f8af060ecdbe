//! `vlmgym train --algo sac` / `vlmgym eval` on SAC runs as a user runs them, on tiny runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use vlmgym::reward::tower::{ImageTower, TowerConfig};

fn vlmgym(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vlmgym")).args(args).output().expect("run vlmgym")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const TINY: &str = "total_timesteps = 600\nlearning_starts = 100\nbatch_size = 32\nhidden = [32, 32]\nlog_every = 100\ncheckpoint_every = 200\n";

fn write_config(dir: &Path, text: &str) -> PathBuf {
    let cfg = dir.join("sac.toml");
    std::fs::write(&cfg, text).unwrap();
    cfg
}

fn tiny_run(dir: &Path, name: &str) -> PathBuf {
    let cfg = write_config(dir, TINY);
    let out = dir.join(name);
    let o = vlmgym(&[
        "train",
        "--algo",
        "sac",
        "--env",
        "Pendulum-v1",
        "--seed",
        "3",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    out
}

/// The rows of a CSV without its `sps` column (the only one that depends on timing).
fn rows_without_sps(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let sps = header.iter().position(|c| *c == "sps");
    text.lines()
        .map(|l| {
            l.split(',').enumerate().filter(|(i, _)| Some(*i) != sps).map(|(_, c)| c).collect::<Vec<_>>().join(",")
        })
        .collect()
}

#[test]
fn sac_writes_a_complete_run_directory_and_resumes_bit_identically() {
    let dir = tempfile::tempdir().unwrap();
    let out = tiny_run(dir.path(), "run");
    let config = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(config.contains("algo = \"sac\"") && config.contains("batch_size = 32"), "{config}");
    let metrics = rows_without_sps(&out.join("metrics.csv"));
    assert_eq!(
        metrics[0],
        "global_step,updates,episodes,episodic_return,episode_length,qf1_loss,qf2_loss,qf1_values,qf2_values,actor_loss,alpha,alpha_loss,updates_total"
    );
    assert_eq!(metrics.len(), 7, "one row per 100 steps");
    // Learning starts after step 100: 100 steps, one update each after the first.
    assert!(metrics[1].starts_with("100,0,0,,,,,,,,1,,0"), "{}", metrics[1]);
    assert!(metrics[2].starts_with("200,99,1,"), "{}", metrics[2]);
    assert!(metrics[6].starts_with("600,100,1,"), "{}", metrics[6]);
    let episodes = std::fs::read_to_string(out.join("episodes.csv")).unwrap();
    assert_eq!(episodes.lines().next().unwrap(), "global_step,return,length");
    assert_eq!(episodes.lines().count(), 4, "three 200-step episodes: {episodes}");
    assert!(episodes.lines().nth(1).unwrap().starts_with("200,") && episodes.lines().nth(1).unwrap().ends_with(",200"));
    let png = std::fs::read(out.join("curves.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    // Resume from step 400: the step-600 checkpoint and the CSVs come out identical.
    let last = out.join("checkpoints/step_000000600.safetensors");
    let full = std::fs::read(&last).unwrap();
    let full_episodes = std::fs::read_to_string(out.join("episodes.csv")).unwrap();
    std::fs::remove_file(&last).unwrap();
    let o = vlmgym(&["train", "--resume", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("resuming SAC on Pendulum-v1 from"), "{}", stderr(&o));
    assert!(std::fs::read(&last).unwrap() == full, "the resumed run's final checkpoint differs");
    assert_eq!(rows_without_sps(&out.join("metrics.csv")), metrics);
    assert_eq!(std::fs::read_to_string(out.join("episodes.csv")).unwrap(), full_episodes);
}

#[test]
fn sac_learns_from_a_text_goal_logs_each_term_and_resumes_bit_identically() {
    let dir = tempfile::tempdir().unwrap();
    let tower = dir.path().join("tower.safetensors");
    ImageTower::init(&TowerConfig::with_input_size(36), 7).unwrap().save(&tower).unwrap();
    // Updates every 3 vector steps (the hook scores the 6 held-back transitions of 2 envs).
    let cfg = write_config(dir.path(), &format!("{TINY}num_envs = 2\ntrain_freq = 3\ngradient_steps = 2\n"));
    let out = dir.path().join("text");
    let o = vlmgym(&[
        "train",
        "--algo",
        "sac",
        "--env",
        "MountainCarContinuous-v0",
        "--reward",
        "clg",
        "--goal",
        "the car is at the flag",
        "--negative",
        "the car is in the valley",
        "--tower",
        tower.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let config = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(config.contains("[reward]") && config.contains("kind = \"clg\""), "{config}");
    let metrics = rows_without_sps(&out.join("metrics.csv"));
    let header: Vec<&str> = metrics[0].split(',').collect();
    for col in ["env_reward", "semantic_score", "synth_reward", "term_r_sem", "term_progress"] {
        assert!(header.contains(&col), "no {col} in {header:?}");
    }
    assert_eq!(metrics.len(), 7, "one row per 100 steps");
    let col = |name: &str| header.iter().position(|c| *c == name).unwrap();
    for row in &metrics[1..] {
        let v: Vec<f64> = row.split(',').map(|c| c.parse().unwrap_or(f64::NAN)).collect();
        // The CLG score is in [0, 1], and the reward learnt from is MountainCarContinuous's
        // default synthesis: a step cost of one minus the score, plus shaping on it.
        assert!((0.0..=1.0).contains(&v[col("semantic_score")]), "{row}");
        assert!((v[col("term_r_sem")] - v[col("semantic_score")]).abs() < 1e-9, "{row}");
        let want = v[col("term_r_sem")] - 1.0 + v[col("term_progress")];
        assert!((v[col("synth_reward")] - want).abs() < 1e-6, "{row}");
        // MountainCarContinuous's own reward is minus the action's square: never above 0.
        assert!(v[col("env_reward")] <= 0.0, "{row}");
    }
    assert!(metrics[2].split(',').nth(1).unwrap().parse::<u64>().unwrap() > 0, "updates ran: {}", metrics[2]);

    // Resume from step 400: the rebuilt language reward gives an identical final checkpoint.
    let last = out.join("checkpoints/step_000000600.safetensors");
    let full = std::fs::read(&last).unwrap();
    std::fs::remove_file(&last).unwrap();
    let o = vlmgym(&["train", "--resume", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read(&last).unwrap() == full, "the resumed text-goal run's final checkpoint differs");
    assert_eq!(rows_without_sps(&out.join("metrics.csv")), metrics);
}

#[test]
fn eval_runs_a_sac_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let out = tiny_run(dir.path(), "run");
    let eval = |extra: &[&str]| {
        let mut args = vec!["eval", "--checkpoint", out.to_str().unwrap(), "--episodes", "2"];
        args.extend_from_slice(extra);
        let o = vlmgym(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let det = eval(&["--deterministic"]);
    assert_eq!(det["env_id"], "Pendulum-v1");
    assert_eq!(det["global_step"], 600);
    assert_eq!(det["mean_length"], 200.0);
    assert_eq!(det["lengths"], serde_json::json!([200, 200]), "every episode's length");
    // Both episodes' last info has the state's angle, so its mean is over 2.
    assert_eq!(det["metric_episodes"]["state.theta"], 2, "{}", det["metric_episodes"]);
    let r = det["mean_return"].as_f64().unwrap();
    assert!((-2000.0..=0.0).contains(&r), "{r}");
    assert_eq!(eval(&["--deterministic"])["returns"], det["returns"], "deterministic eval repeats");
    let sampled = eval(&[]);
    assert_ne!(sampled["returns"], det["returns"]);

    let o = vlmgym(&["eval", "--checkpoint", out.to_str().unwrap(), "--env", "MountainCarContinuous-v0"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("takes 3 observation and gives 1 action numbers; the env has 2 and 1"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn sac_config_and_checkpoint_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let out = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let train_pendulum = |cfg: &std::path::Path, out: &str| {
        vlmgym(&["train", "--algo", "sac", "--env", "Pendulum-v1", "--config", cfg.to_str().unwrap(), "--out", out])
    };
    let o = vlmgym(&["train", "--algo", "sac", "--env", "CartPole-v1", "--out", &out("d")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("SAC needs a continuous (Box) action space with one axis; CartPole-v1 has Discrete(2)"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.path().join("d").exists(), "a failed start leaves no run directory");

    let cfg = write_config(dir.path(), "batch_size = 512\nbuffer_size = 256\n");
    let o = train_pendulum(&cfg, &out("b"));
    assert!(
        stderr(&o).contains("invalid SAC config: batch_size (512) must not exceed buffer_size (256)"),
        "{}",
        stderr(&o)
    );
    let cfg = write_config(dir.path(), "batch_sise = 64\n");
    let o = train_pendulum(&cfg, &out("u"));
    assert!(stderr(&o).contains("batch_sise"), "{}", stderr(&o));

    let cfg = write_config(dir.path(), &format!("{TINY}q_lr = 1e12\npolicy_lr = 1e12\n"));
    let o = train_pendulum(&cfg, &out("n"));
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("SAC: the ") && err.contains(" is not finite ") && err.contains("at global step "), "{err}");

    // A truncated checkpoint: resume and eval both say it is corrupt.
    let run = tiny_run(dir.path(), "run");
    let last = run.join("checkpoints/step_000000600.safetensors");
    let bytes = std::fs::read(&last).unwrap();
    std::fs::write(&last, &bytes[..bytes.len() / 2]).unwrap();
    for args in
        [vec!["train", "--resume", "--out", run.to_str().unwrap()], vec!["eval", "--checkpoint", run.to_str().unwrap()]]
    {
        let o = vlmgym(&args);
        assert_eq!(o.status.code(), Some(1));
        assert!(
            stderr(&o).contains("step_000000600.safetensors is corrupt or not a vlmgym checkpoint"),
            "{}",
            stderr(&o)
        );
    }
}
