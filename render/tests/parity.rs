//! The two backends side by side: the same states drawn by the CPU rasteriser and by bevy
//! (lavapipe) put the objects that matter (cart and pole; ego and NPC cars with every part)
//! on the same pixels. Each object of interest is painted an unlit magenta that nothing
//! else in the scenes has, and the masks of magenta pixels must overlap with IoU >= 0.9.
//! The frames as the envs draw them are written side by side (bevy left, raster right) to
//! `$CARGO_TARGET_TMPDIR/parity/` for looking at (copies are in docs/img/parity/).

#![cfg(feature = "bevy")]

use vlmgym_envs::{make, make_with, Material, Options, Scene, Value};
use vlmgym_render::{make_renderer, Frames, RenderConfig, RendererKind};

const SIZE: u32 = 112;

/// The scene with every object whose name starts with one of `prefixes` painted unlit
/// magenta.
fn marked(scene: &Scene, prefixes: &[&str]) -> Scene {
    let mut s = scene.clone();
    for o in &mut s.objects {
        if prefixes.iter().any(|p| o.name.starts_with(p)) {
            o.material = Material { unlit: true, ..Material::color(1.0, 0.0, 1.0) };
        }
    }
    s
}

fn render(kind: RendererKind, scenes: &[Scene], camera: &str) -> Frames {
    let cfg = RenderConfig { width: SIZE, height: SIZE, camera: Some(camera.into()) };
    make_renderer(kind, scenes.len(), cfg).expect("renderer (bevy needs mesa-vulkan-drivers)").render(scenes).unwrap()
}

/// Magenta pixels of frame `i`.
fn mask(f: &Frames, i: usize) -> Vec<bool> {
    f.frame(i).unwrap().chunks_exact(3).map(|p| p[0] > 150 && p[1] < 90 && p[2] > 150).collect()
}

fn iou(a: &[bool], b: &[bool]) -> (f64, usize) {
    let inter = a.iter().zip(b).filter(|(x, y)| **x && **y).count();
    let union = a.iter().zip(b).filter(|(x, y)| **x || **y).count();
    (inter as f64 / union.max(1) as f64, union)
}

/// Writes frame `i` of both batches side by side, 3x larger.
fn save_pair(bevy: &Frames, raster: &Frames, i: usize, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("parity");
    std::fs::create_dir_all(&dir).unwrap();
    let (w, h) = (SIZE, SIZE);
    let mut img = image::RgbImage::new(2 * w + 4, h);
    for (k, f) in [bevy, raster].into_iter().enumerate() {
        let src = vlmgym_render::frames::image(f, i);
        for y in 0..h {
            for x in 0..w {
                img.put_pixel(k as u32 * (w + 4) + x, y, *src.get_pixel(x, y));
            }
        }
    }
    let big = image::imageops::resize(&img, img.width() * 3, h * 3, image::imageops::FilterType::Nearest);
    big.save(dir.join(format!("{name}.png"))).unwrap();
}

/// Draws `scenes` from `camera` with both backends, saves the pairs, and checks the IoU of
/// the marked objects in every frame.
fn check(scenes: &[Scene], camera: &str, prefixes: &[&str], name: &str) {
    let bevy = render(RendererKind::Bevy, scenes, camera);
    let raster = render(RendererKind::Raster, scenes, camera);
    for i in 0..scenes.len() {
        save_pair(&bevy, &raster, i, &format!("{name}_{i}"));
    }
    let marked: Vec<Scene> = scenes.iter().map(|s| marked(s, prefixes)).collect();
    let (mb, mr) = (render(RendererKind::Bevy, &marked, camera), render(RendererKind::Raster, &marked, camera));
    for i in 0..scenes.len() {
        let (v, union) = iou(&mask(&mb, i), &mask(&mr, i));
        eprintln!("{name} {i}: IoU {v:.3} over {union} pixels");
        assert!(union >= 20, "{name} {i}: the marked objects cover only {union} pixels");
        assert!(v >= 0.9, "{name} {i}: silhouette IoU {v:.3} < 0.9");
    }
}

#[test]
fn cartpole_side_silhouettes_match() {
    let scenes: Vec<Scene> = [0.0, 0.15, -0.2, 0.5]
        .iter()
        .enumerate()
        .map(|(i, &theta)| vlmgym_envs::classic::cartpole_scene([-1.5 + i as f64, 0.0, theta, 0.0]))
        .collect();
    check(&scenes, "side", &["cart", "pole"], "cartpole_side");
}

/// Driving scenes: the ego driving on with traffic, and one with a car stopped just ahead.
fn driving_scenes() -> Vec<Scene> {
    let mut out = Vec::new();
    for seed in [0u64, 1] {
        let mut e = make("Driving-v0").unwrap();
        e.reset(Some(seed), &Options::new()).unwrap();
        for _ in 0..20 {
            e.step(&Value::Box(vec![0.02, 0.6])).unwrap();
        }
        out.push(e.scene().unwrap());
    }
    let mut kw = Options::new();
    kw.insert("npcs".into(), 1.into());
    let mut e = make_with("Driving-v0", &kw).unwrap();
    let mut opts = Options::new();
    opts.insert("npc_ahead".into(), 8.0.into());
    e.reset(Some(3), &opts).unwrap();
    out.push(e.scene().unwrap());
    out
}

#[test]
fn driving_bev_silhouettes_match() {
    check(&driving_scenes(), "bev", &["ego", "npc_"], "driving_bev");
}

#[test]
fn driving_chase_silhouettes_match() {
    check(&driving_scenes(), "chase", &["ego", "npc_"], "driving_chase");
}
