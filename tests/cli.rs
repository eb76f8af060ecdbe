//! The `vlmgym` binary as a user runs it.

use std::process::{Command, Output};

fn vlmgym(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vlmgym")).args(args).output().expect("run vlmgym")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn read_jsonl(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn list_shows_the_classic_ids_with_spaces() {
    let o = vlmgym(&["list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for (id, action) in [
        ("CartPole-v1", "Discrete(2)"),
        ("MountainCar-v0", "Discrete(3)"),
        ("MountainCarContinuous-v0", "Box(-1.0, 1.0, (1,), float32)"),
        ("Pendulum-v1", "Box(-2.0, 2.0, (1,), float32)"),
        ("Acrobot-v1", "Discrete(3)"),
    ] {
        let line =
            out.lines().find(|l| l.starts_with(&format!("{id} "))).unwrap_or_else(|| panic!("{id} missing:\n{out}"));
        assert!(line.contains(&format!("action {action}")), "{line}");
        assert!(line.contains("obs Box("), "{line}");
    }
}

#[test]
fn rollout_is_seeded_and_writes_one_line_per_step() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.jsonl");
    let b = dir.path().join("nested/b.jsonl");
    for p in [&a, &b] {
        let o = vlmgym(&["rollout", "CartPole-v1", "--seed", "7", "--steps", "120", "--out", p.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap(), "same seed, same file");
    let lines = read_jsonl(&a);
    assert_eq!(lines.len(), 120);
    for key in ["obs", "action", "reward", "terminated", "truncated", "info", "step", "episode"] {
        assert!(lines[0].get(key).is_some(), "missing {key}");
    }
    // 120 random CartPole steps cross episode ends: the episode counter advances after one.
    let first_end = lines.iter().position(|l| l["terminated"] == true).expect("a random policy drops the pole");
    assert_eq!(lines[first_end + 1]["episode"], 1);
    let c = dir.path().join("c.jsonl");
    vlmgym(&["rollout", "CartPole-v1", "--seed", "8", "--steps", "120", "--out", c.to_str().unwrap()]);
    assert_ne!(std::fs::read(&a).unwrap(), std::fs::read(&c).unwrap(), "another seed, another file");
}

/// `rollout --goal` scores every step with the language reward: the semantic score is high
/// while the pole stands and falls once it has fallen, the same seed gives the same file,
/// and a goal where it cannot apply is an error that names the problem.
#[test]
fn rollout_scores_each_step_with_a_language_reward() {
    let dir = tempfile::tempdir().unwrap();
    let out = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let (a, b) = (out("a.jsonl"), out("b.jsonl"));
    let goal = ["--goal", "the pole is balanced upright on the cart", "--negative", "the pole has fallen over"];
    for p in [&a, &b] {
        let mut args = vec!["rollout", "CartPole-v1", "--seed", "3", "--steps", "60", "--policy", "random", "--out", p];
        args.extend(goal);
        let o = vlmgym(&args);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap(), "same seed, same scores");
    let lines = read_jsonl(std::path::Path::new(&a));
    let score = |l: &serde_json::Value| l["language_terms"]["semantic_score"].as_f64().unwrap();
    assert!(lines.iter().all(|l| l["language_reward"].as_f64().is_some_and(f64::is_finite)));
    // The first step's pole stands; a terminal step's pole has fallen past 12 degrees.
    let end = lines.iter().position(|l| l["terminated"] == true).expect("a random policy drops the pole");
    assert!(score(&lines[0]) > score(&lines[end]) + 0.2, "{} vs {}", score(&lines[0]), score(&lines[end]));
    let o = vlmgym(&["rollout", "Pendulum-v1", "--steps", "5", "--out", &out("p.jsonl"), "--goal", "upright"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("Pendulum-v1 does not describe a scene"), "{}", stderr(&o));
    assert!(!dir.path().join("p.jsonl").exists(), "no output file for bad input");
    let o = vlmgym(&["rollout", "CartPole-v1", "--steps", "5", "--out", &out("q.jsonl"), "--reward", "clg"]);
    assert!(stderr(&o).contains("needs --goal"), "{}", stderr(&o));
}

/// Replays the first Pendulum trajectory recorded with Gymnasium through the CLI.
#[test]
fn rollout_with_actions_and_init_state_reproduces_gymnasium() {
    let fx: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/envs/tests/fixtures/classic/Pendulum-v1.json"))
            .unwrap(),
    )
    .unwrap();
    let traj = &fx["trajectories"][0];
    let dir = tempfile::tempdir().unwrap();
    let actions = dir.path().join("actions.json");
    std::fs::write(&actions, traj["actions"].to_string()).unwrap();
    let init: Vec<String> = traj["init_state"].as_array().unwrap().iter().map(|x| x.to_string()).collect();
    let out = dir.path().join("out.jsonl");
    let n = traj["actions"].as_array().unwrap().len().to_string();
    let o = vlmgym(&[
        "rollout",
        "Pendulum-v1",
        "--steps",
        &n,
        "--init-state",
        &init.join(","),
        "--actions",
        actions.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines = read_jsonl(&out);
    for (i, line) in lines.iter().enumerate() {
        let want_r = traj["rewards"][i].as_f64().unwrap();
        assert!((line["reward"].as_f64().unwrap() - want_r).abs() < 1e-5, "step {i}");
        for (g, w) in line["obs"].as_array().unwrap().iter().zip(traj["observations"][i].as_array().unwrap()) {
            assert!((g.as_f64().unwrap() - w.as_f64().unwrap()).abs() < 1e-5, "step {i}");
        }
    }
    assert_eq!(lines.last().unwrap()["truncated"], true, "Pendulum's 200-step limit");
}

#[test]
fn bad_arguments_get_clear_errors_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.jsonl");
    let o_s = out.to_str().unwrap();
    let bad_actions = dir.path().join("bad.json");
    std::fs::write(&bad_actions, "[0, 1, 7]").unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["rollout", "CartPol-v1", "--steps", "3"],
            "unknown environment id `CartPol-v1`; did you mean `CartPole-v1`",
        ),
        (
            vec!["rollout", "CartPole-v1", "--steps", "3", "--init-state", "0,0,0"],
            "invalid option `init_state`: expected 4 numbers, got 3",
        ),
        (
            vec!["rollout", "CartPole-v1", "--steps", "3", "--init-state", "0,a,0,0"],
            "--init-state: `a` is not a finite number",
        ),
        (
            vec!["rollout", "CartPole-v1", "--steps", "3", "--actions", bad_actions.to_str().unwrap()],
            "action 2 (`7`) of the actions file: invalid action for Discrete(2): 7 is not in 0..2",
        ),
        (
            vec!["rollout", "CartPole-v1", "--steps", "4", "--actions", bad_actions.to_str().unwrap()],
            "the actions file has 3 actions but --steps asks for 4",
        ),
        (
            vec!["rollout", "Pendulum-v1", "--steps", "3", "--kwarg", "gravity=3"],
            "invalid kwarg `gravity`: not accepted here (accepted: g)",
        ),
        (vec!["rollout", "CartPole-v1", "--steps", "0"], "--steps must be at least 1"),
    ];
    for (mut args, want) in cases {
        args.extend(["--out", o_s]);
        let o = vlmgym(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"));
        assert!(!out.exists(), "{args:?} created the output file");
    }
}

#[test]
fn bench_classic_prints_json() {
    let o = vlmgym(&["bench", "classic", "--seconds", "0.05"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let names: Vec<&str> = json["results"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    let want: Vec<String> = std::iter::once("single_env".to_string())
        .chain([1, 2, 8, 32].into_iter().flat_map(|n| [format!("sync_vecenv_{n}"), format!("threaded_vecenv_{n}")]))
        .collect();
    assert_eq!(names, want);
    assert!(json["results"].as_array().unwrap().iter().all(|r| r["steps_per_sec"].as_f64().unwrap() > 0.0));
}

#[test]
fn bench_locomotion_measures_every_body_and_the_pose_envs_reward_frames() {
    let o = vlmgym(&["bench", "locomotion", "--seconds", "0.05"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let rows: Vec<(String, String)> = json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["env_id"].as_str().unwrap().to_string(), r["name"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(rows.len(), 9, "{rows:?}");
    for id in ["Ant-v0", "HalfCheetah-v0", "Hopper-v0", "Walker2d-v0", "Humanoid-v0", "HumanoidPose-v0"] {
        assert!(rows.contains(&(id.to_string(), "state_obs".to_string())), "{id}: {rows:?}");
    }
    // The Ant and the Humanoid again on rapier's default solver, with the kwargs that say so.
    for r in json["results"].as_array().unwrap().iter().filter(|r| r["name"] == "state_obs_rapier_default_solver") {
        assert!(["Ant-v0", "Humanoid-v0"].contains(&r["env_id"].as_str().unwrap()), "{r}");
        assert_eq!(r["kwargs"], serde_json::json!({"solver_iterations": 4, "pgs_iterations": 1}), "{r}");
    }
    assert!(rows.contains(&("HumanoidPose-v0".to_string(), "state_obs_and_front_112px_raster_frame".to_string())));
    assert!(json["results"].as_array().unwrap().iter().all(|r| r["steps_per_sec"].as_f64().unwrap() > 0.0));
}

#[test]
fn bench_navigation_measures_state_steps_and_ego_frames_at_miniworlds_size() {
    let o = vlmgym(&["bench", "navigation", "--seconds", "0.05"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let rows: Vec<(String, String)> = json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["env_id"].as_str().unwrap().to_string(), r["name"].as_str().unwrap().to_string()))
        .collect();
    for id in ["NavGoTo-v0", "NavRooms-v0"] {
        for name in ["state_obs", "state_obs_and_ego_80x60px_raster_frame"] {
            assert!(rows.contains(&(id.to_string(), name.to_string())), "{id} {name}: {rows:?}");
        }
    }
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert!(json["results"].as_array().unwrap().iter().all(|r| r["steps_per_sec"].as_f64().unwrap() > 0.0));
}

#[test]
fn render_writes_png_and_gif_and_rejects_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("cp.png");
    let o = vlmgym(&["render", "CartPole-v1", "--steps", "5", "--size", "64x48", "--out", png.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    // IHDR: width and height, big-endian, at bytes 16..24.
    assert_eq!(&bytes[16..24], &[0, 0, 0, 64, 0, 0, 0, 48]);
    let gif = dir.path().join("cp.gif");
    let o = vlmgym(&["render", "CartPole-v1", "--steps", "3", "--size", "32x32", "--out", gif.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(&std::fs::read(&gif).unwrap()[..6], b"GIF89a");
    // The CPU rasteriser draws the same run: a PNG of the size asked, the same bytes again.
    let raster = |name: &str| {
        let path = dir.path().join(name);
        let o = vlmgym(&[
            "render",
            "CartPole-v1",
            "--steps",
            "5",
            "--size",
            "64x48",
            "--renderer",
            "raster",
            "--out",
            path.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        std::fs::read(&path).unwrap()
    };
    let (a, b) = (raster("r1.png"), raster("r2.png"));
    assert_eq!(&a[16..24], &[0, 0, 0, 64, 0, 0, 0, 48]);
    assert_eq!(a, b);
    let o = vlmgym(&["render", "CartPole-v1", "--renderer", "opengl", "--out", "x.png"]);
    assert!(!o.status.success() && stderr(&o).contains("unknown renderer `opengl`"), "{}", stderr(&o));
    for (args, want) in [
        (vec!["render", "CartPole-v1", "--size", "10", "--out", "x.png"], "--size `10` is not WxH"),
        (vec!["render", "CartPole-v1", "--out", "x.jpg"], "--out must end in .png"),
        (
            vec!["render", "CartPole-v1", "--camera", "hood", "--out", "x.png"],
            "the scene has no camera `hood` (it has: side)",
        ),
        (vec!["render", "Acrobot-v1", "--out", "x.png"], "Acrobot-v1 does not describe a scene"),
    ] {
        let o = vlmgym(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn rendering_without_a_vulkan_adapter_says_what_to_install() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.png");
    let o = Command::new(env!("CARGO_BIN_EXE_vlmgym"))
        .env("XDG_RUNTIME_DIR", "/tmp")
        .env("VK_ICD_FILENAMES", "/nonexistent/icd.json")
        .env("WGPU_BACKEND", "vulkan")
        .args(["render", "CartPole-v1", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert!(!o.status.success(), "rendered without an adapter?");
    assert!(err.contains("no usable Vulkan adapter") && err.contains("mesa-vulkan-drivers"), "{err}");
    assert!(!err.contains("panicked"), "the panic leaked: {err}");
    assert!(!out.exists());
}
