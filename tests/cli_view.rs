//! `vlmgym view`: the window under Xvfb (installed by scripts/setup.sh), its screenshot,
//! its HUD, and its errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use vlmgym::reward::tower::{ImageTower, TowerConfig};

/// Runs `vlmgym view ARGS` in a virtual X display.
fn view_in_xvfb(args: &[&str]) -> Output {
    let out = Command::new("xvfb-run")
        .args(["-a", "-s", "-screen 0 1280x800x24", env!("CARGO_BIN_EXE_vlmgym"), "view"])
        .args(args)
        .env("XDG_RUNTIME_DIR", "/tmp")
        .output();
    out.expect("xvfb-run is missing: run scripts/setup.sh (it installs xvfb)")
}

fn vlmgym(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vlmgym")).env("XDG_RUNTIME_DIR", "/tmp").args(args).output().expect("run vlmgym")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn screenshot(dir: &Path, name: &str, extra: &[&str]) -> (image::RgbImage, String) {
    let png: PathBuf = dir.join(name);
    let mut args = vec!["--frames", "5", "--size", "640x400", "--screenshot", png.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = view_in_xvfb(&args);
    assert!(o.status.success(), "view failed: {}", text(&o.stderr));
    (image::open(&png).expect("the screenshot is a PNG").to_rgb8(), text(&o.stdout))
}

fn count(
    img: &image::RgbImage,
    x: std::ops::Range<u32>,
    y: std::ops::Range<u32>,
    f: impl Fn([u8; 3]) -> bool,
) -> usize {
    y.flat_map(|y| x.clone().map(move |x| (x, y))).filter(|&(x, y)| f(img.get_pixel(x, y).0)).count()
}

#[test]
fn the_window_shows_the_env_and_a_hud_and_repeats_under_a_seed() {
    let dir = tempfile::tempdir().unwrap();
    let (img, hud) = screenshot(dir.path(), "a.png", &["CartPole-v1", "--seed", "3"]);
    assert_eq!(img.dimensions(), (640, 400));
    // The HUD names the env and the step, and lists the reward.
    assert!(hud.starts_with("CartPole-v1   step 5   episode 0"), "{hud}");
    assert!(hud.contains("control: keyboard   camera: side") && hud.contains("return 5.00"), "{hud}");
    // The cart (blue) stands in the middle of the window, the pole (orange) above it.
    let blue = |p: [u8; 3]| p[2] > 150 && p[0] < 110 && p[1] < 130;
    let orange = |p: [u8; 3]| p[0] > 170 && p[1] > 80 && p[1] < 190 && p[2] < 90;
    assert!(count(&img, 260..380, 170..280, blue) > 300, "no cart in the middle");
    assert!(count(&img, 280..360, 80..230, orange) > 100, "no pole above the cart");
    assert!(count(&img, 0..640, 300..400, |p| p[1] > p[0] + 30 && p[1] > p[2] + 30) > 10_000, "no grass");
    // The HUD panel darkens the sky behind it and carries light text.
    let sky_right = count(&img, 560..640, 20..60, |p| p[2] > 200);
    let sky_hud = count(&img, 20..80, 20..60, |p| p[2] > 200 && p[0] < 200);
    assert!(sky_right > 2_500 && sky_hud < 500, "HUD panel not drawn: {sky_right} vs {sky_hud}");
    assert!(count(&img, 8..300, 8..60, |p| p.iter().all(|&c| c > 200)) > 100, "no HUD text");
    // Same seed, same steps: the same picture.
    let (again, _) = screenshot(dir.path(), "b.png", &["CartPole-v1", "--seed", "3"]);
    assert!(img == again, "the same seed drew a different window");
}

#[test]
fn a_text_trained_checkpoint_plays_with_each_reward_term_on_the_hud() {
    let dir = tempfile::tempdir().unwrap();
    // A seeded, untrained tower is enough to exercise the live scoring.
    let tower = dir.path().join("tower.safetensors");
    ImageTower::init(&TowerConfig::default(), 7).unwrap().save(&tower).unwrap();
    let cfg = dir.path().join("tiny.toml");
    std::fs::write(
        &cfg,
        "num_envs = 2\nnum_steps = 16\nnum_minibatches = 2\nupdate_epochs = 1\ntotal_timesteps = 32\n",
    )
    .unwrap();
    let run = dir.path().join("run");
    let o = vlmgym(&[
        "train",
        "--env",
        "CartPole-v1",
        "--reward",
        "clg",
        "--goal",
        "the pole is balanced upright on the cart",
        "--negative",
        "the pole has fallen over",
        "--tower",
        tower.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let (img, hud) = screenshot(dir.path(), "ckpt.png", &["--checkpoint", run.to_str().unwrap()]);
    assert_eq!(img.dimensions(), (640, 400));
    assert!(hud.starts_with("CartPole-v1   step 5"), "{hud}");
    assert!(hud.contains(&format!("control: checkpoint {} (update 1)", run.display())), "{hud}");
    assert!(hud.contains("goal: \"the pole is balanced upright on the cart\""), "{hud}");
    // cartpole_vlmrm's terms, each on its own line with a value.
    for term in ["env_reward", "semantic_score", "r_sem"] {
        let line = hud.lines().find(|l| l.trim_start().starts_with(term)).unwrap_or_else(|| panic!("no {term}: {hud}"));
        let v: f64 = line.split_whitespace().last().unwrap().parse().unwrap();
        assert!(v.is_finite(), "{line}");
    }
}

#[test]
fn a_clip_model_scores_live_with_clip() {
    use vlmgym::reward::clip::{tiny_config, write_random_model, Activation};
    let dir = tempfile::tempdir().unwrap();
    let words = ["the", "pole", "is", "upright", "has", "fallen", "over"];
    let clip = dir.path().join("clip");
    write_random_model(&clip, &tiny_config(words.len() + 4, Activation::QuickGelu), 3, &words).unwrap();
    let args = ["CartPole-v1", "--goal", "the pole is upright", "--negative", "the pole has fallen over", "--clip"];
    let (_, hud) = screenshot(dir.path(), "clip.png", &[&args[..], &[clip.to_str().unwrap()]].concat());
    assert!(hud.contains("goal: \"the pole is upright\""), "{hud}");
    let line = hud.lines().find(|l| l.trim_start().starts_with("semantic_score")).unwrap_or_else(|| panic!("{hud}"));
    let v: f64 = line.split_whitespace().last().unwrap().parse().unwrap();
    assert!(v.is_finite(), "{line}");
}

#[test]
fn arrow_keys_drive_the_car_and_keys_pause_and_switch_cameras() {
    // xdotool (scripts/setup.sh) types into the window: hold Up for two seconds, then C
    // (next camera), Space (pause), Esc (quit). The HUD last shown is printed on exit.
    let script = format!(
        "{bin} view Driving-v0 --size 480x320 & pid=$!; \
         w=$(xdotool search --sync --name 'vlmgym: Driving-v0' | head -1); sleep 3; \
         xdotool windowfocus --sync $w; xdotool keydown Up; sleep 2; xdotool keyup Up; \
         xdotool key c; xdotool key space; sleep 1; xdotool key Escape; wait $pid",
        bin = env!("CARGO_BIN_EXE_vlmgym")
    );
    let o = Command::new("xvfb-run")
        .args(["-a", "-s", "-screen 0 1280x800x24", "sh", "-c", &script])
        .env("XDG_RUNTIME_DIR", "/tmp")
        .output()
        .expect("xvfb-run is missing: run scripts/setup.sh");
    assert!(o.status.success(), "{}", text(&o.stderr));
    let hud = text(&o.stdout);
    let first = hud.lines().next().unwrap_or_default();
    assert!(first.starts_with("Driving-v0") && first.ends_with("PAUSED"), "{hud}");
    assert!(hud.contains("control: keyboard   camera: bev"), "{hud}");
    let steps: u64 = first.split_whitespace().nth(2).unwrap().parse().unwrap();
    assert!(steps >= 5, "the env did not run in real time: {hud}");
    // The car only earns Driving's speed reward when it moves: the throttle was applied.
    let ret: f64 = hud.lines().nth(2).unwrap().split_whitespace().last().unwrap().parse().unwrap();
    assert!(ret > 0.5, "holding Up did not move the car: {hud}");
}

#[test]
fn bad_view_requests_get_clear_errors() {
    let o = Command::new(env!("CARGO_BIN_EXE_vlmgym"))
        .args(["view", "CartPole-v1"])
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    assert!(!o.status.success() && text(&o.stderr).contains("xvfb-run"), "{}", text(&o.stderr));
    let o = view_in_xvfb(&["NoSuchEnv-v0", "--frames", "1"]);
    assert!(!o.status.success() && text(&o.stderr).contains("NoSuchEnv-v0"), "{}", text(&o.stderr));
    let o = view_in_xvfb(&["CartPole-v1", "--frames", "1", "--camera", "nadir"]);
    assert!(!o.status.success() && text(&o.stderr).contains("no camera `nadir`"), "{}", text(&o.stderr));
    let o = vlmgym(&["view", "CartPole-v1", "--screenshot", "x.png"]);
    assert!(!o.status.success() && text(&o.stderr).contains("--frames"), "{}", text(&o.stderr));
    let o = vlmgym(&["view"]);
    assert!(!o.status.success() && text(&o.stderr).contains("env id"), "{}", text(&o.stderr));
}
