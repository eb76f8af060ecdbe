//! The CPU rasteriser: every shape drawn where the camera says, both projections to the
//! pixel, depth order, shading, textures, determinism, errors, and the real CartPole and
//! Driving scenes (samples written to /tmp/raster_samples/).

use vlmgym_envs::{make, Camera, Material, Options, Pose, Scene, SceneObject, Shape, Value};
use vlmgym_render::raster::RasterOptions;
use vlmgym_render::{Frames, RasterRenderer, RenderConfig};

const SKY: [f32; 3] = [0.55, 0.7, 0.9];
const RED: [f32; 3] = [0.8, 0.2, 0.12];
const RED_BYTES: [u8; 3] = [204, 51, 31];

fn object(name: &str, shape: Shape, pose: Pose, material: Material, dynamic: bool) -> SceneObject {
    SceneObject { name: name.into(), shape, pose, material, dynamic }
}

fn unlit(c: [f32; 3]) -> Material {
    Material { unlit: true, ..Material::color(c[0], c[1], c[2]) }
}

/// A camera at `eye` looking at the origin.
fn camera(eye: [f32; 3], up: [f32; 3], ortho: Option<f32>) -> Camera {
    Camera { name: "cam".into(), eye, target: [0.0; 3], up, fov_y_deg: 45.0, ortho_height: ortho }
}

/// Looking along -Z from 5 m away.
fn front() -> Camera {
    camera([0.0, 0.0, 5.0], [0.0, 1.0, 0.0], None)
}

/// Looking straight down from 5 m up, -Z up the image.
fn above() -> Camera {
    camera([0.0, 5.0, 0.0], [0.0, 0.0, -1.0], None)
}

fn scene(objects: Vec<SceneObject>, cam: Camera) -> Scene {
    Scene { objects, cameras: vec![cam], sun_direction: [-0.3, -1.0, -0.4], sky_color: SKY }
}

fn render_with(scenes: &[Scene], size: u32, options: RasterOptions) -> Frames {
    let cfg = RenderConfig { width: size, height: size, camera: None };
    let mut r = RasterRenderer::with_options(scenes.len(), cfg, options).unwrap();
    r.render(scenes).unwrap()
}

fn render(scenes: &[Scene], size: u32) -> Frames {
    render_with(scenes, size, RasterOptions::default())
}

fn px(f: &Frames, i: usize, x: u32, y: u32) -> [u8; 3] {
    let k = ((y * f.width() as u32 + x) * 3) as usize;
    let p = &f.frame(i).unwrap()[k..k + 3];
    [p[0], p[1], p[2]]
}

/// The unlit red shape alone in front of `cam`: red at the centre, the empty scene's sky
/// at the corners.
fn shape_alone(shape: Shape, pose: Pose, cam: Camera) -> Frames {
    let with = scene(vec![object("it", shape, pose, unlit(RED), true)], cam.clone());
    let without = scene(vec![], cam);
    let f = render(&[with, without], 64);
    assert_eq!(px(&f, 0, 32, 32), RED_BYTES, "centre");
    for (x, y) in [(0, 0), (63, 0), (0, 63), (63, 63)] {
        assert_eq!(px(&f, 0, x, y), px(&f, 1, x, y), "corner ({x}, {y})");
        assert_ne!(px(&f, 0, x, y), RED_BYTES);
    }
    f
}

fn count(f: &Frames, i: usize, c: [u8; 3]) -> usize {
    f.frame(i).unwrap().chunks_exact(3).filter(|p| **p == c).count()
}

#[test]
fn cuboid_is_drawn() {
    shape_alone(Shape::Cuboid { half_extents: [0.5, 0.5, 0.5] }, Pose::IDENTITY, front());
}

#[test]
fn cylinder_is_drawn() {
    let f = shape_alone(Shape::Cylinder { radius: 0.5, half_height: 1.0 }, Pose::IDENTITY, front());
    // Taller than wide: more red down the centre column than across the centre row.
    let col = (0..64).filter(|&y| px(&f, 0, 32, y) == RED_BYTES).count();
    let row = (0..64).filter(|&x| px(&f, 0, x, 32) == RED_BYTES).count();
    assert!(col > row + 10, "column {col} row {row}");
}

#[test]
fn sphere_is_drawn() {
    let f = shape_alone(Shape::Sphere { radius: 1.0 }, Pose::IDENTITY, front());
    // A disc: the red area is close to pi r^2 (r in pixels at the sphere's silhouette).
    let d = 5.0f32;
    let r_px = (1.0 / (d * d - 1.0).sqrt()) / (22.5f32.to_radians().tan()) * 32.0;
    let area = count(&f, 0, RED_BYTES) as f32;
    let want = std::f32::consts::PI * r_px * r_px;
    assert!((area - want).abs() < 0.08 * want, "area {area} vs {want}");
}

#[test]
fn capsule_is_drawn() {
    let f = shape_alone(Shape::Capsule { radius: 0.4, half_height: 0.8 }, Pose::IDENTITY, front());
    let col = (0..64).filter(|&y| px(&f, 0, 32, y) == RED_BYTES).count();
    let row = (0..64).filter(|&x| px(&f, 0, x, 32) == RED_BYTES).count();
    assert!(col > 2 * row, "column {col} row {row}");
}

#[test]
fn plane_is_drawn_from_above_and_culled_from_below() {
    shape_alone(Shape::Plane { half_size: [1.0, 1.0] }, Pose::IDENTITY, above());
    let below = camera([0.0, -5.0, 0.0], [0.0, 0.0, -1.0], None);
    let f = render(
        &[scene(vec![object("p", Shape::Plane { half_size: [1.0, 1.0] }, Pose::IDENTITY, unlit(RED), false)], below)],
        64,
    );
    assert_eq!(count(&f, 0, RED_BYTES), 0, "a plane has no back side");
}

#[test]
fn strip_is_drawn_from_both_sides() {
    let shape = Shape::Strip { points: vec![[-2.0, 0.5], [0.0, 0.0], [2.0, 0.5]].into(), width: 0.8, closed: false };
    let f = shape_alone(shape.clone(), Pose::IDENTITY, above());
    let below = camera([0.0, -5.0, 0.0], [0.0, 0.0, -1.0], None);
    let g = render(&[scene(vec![object("s", shape, Pose::IDENTITY, unlit(RED), false)], below)], 64);
    assert_eq!(count(&g, 0, RED_BYTES), count(&f, 0, RED_BYTES), "strips are two-sided");
}

#[test]
fn unknown_mesh_is_drawn_as_a_box_of_its_scale() {
    let mesh = Shape::Mesh { name: "car".into(), scale: [1.0, 1.0, 1.0] };
    let f = shape_alone(mesh, Pose::IDENTITY, front());
    let cube = shape_alone(Shape::Cuboid { half_extents: [0.5, 0.5, 0.5] }, Pose::IDENTITY, front());
    assert_eq!(f.frame(0), cube.frame(0));
}

#[test]
fn library_mesh_is_drawn_from_its_triangles_and_scale() {
    use std::sync::Arc;
    use vlmgym_envs::scene::meshes;
    // A unit square facing the camera (+Z), as two triangles, scaled to 2 m x 1 m.
    let square = meshes::MeshData {
        vertices: vec![[-0.5, -0.5, 0.0], [0.5, -0.5, 0.0], [0.5, 0.5, 0.0], [-0.5, 0.5, 0.0]],
        triangles: vec![[0, 1, 2], [0, 2, 3]],
    };
    meshes::register("test/square", Arc::new(square));
    let cam = Camera { ortho_height: Some(10.0), ..front() };
    let shape = Shape::Mesh { name: "test/square".into(), scale: [2.0, 1.0, 1.0] };
    let f = render(&[scene(vec![object("m", shape, Pose::IDENTITY, unlit(RED), false)], cam)], 100);
    let (w, h) = (red_run(&f, true, 50) as i32, red_run(&f, false, 50) as i32);
    assert!((w - 20).abs() <= 1 && (h - 10).abs() <= 1, "{w} x {h}");
}

/// Red pixels along row `y` / column `x`.
fn red_run(f: &Frames, horizontal: bool, at: u32) -> usize {
    (0..f.width() as u32).filter(|&k| if horizontal { px(f, 0, k, at) } else { px(f, 0, at, k) } == RED_BYTES).count()
}

#[test]
fn orthographic_extent_is_to_the_pixel() {
    // 10 m tall view on 100 px: 10 px per metre. A 2 m x 4 m (x by y) box face-on.
    let cam = Camera { ortho_height: Some(10.0), ..front() };
    let s = scene(
        vec![object("b", Shape::Cuboid { half_extents: [1.0, 2.0, 0.1] }, Pose::IDENTITY, unlit(RED), false)],
        cam,
    );
    let f = render(&[s], 100);
    let (w, h) = (red_run(&f, true, 50) as i32, red_run(&f, false, 50) as i32);
    assert!((w - 20).abs() <= 1 && (h - 40).abs() <= 1, "{w} x {h}");
    // Non-square images: the width shows height * aspect metres.
    let cfg = RenderConfig { width: 200, height: 100, camera: None };
    let s = scene(
        vec![object("b", Shape::Cuboid { half_extents: [1.0, 2.0, 0.1] }, Pose::IDENTITY, unlit(RED), false)],
        cam_ortho(),
    );
    let f = RasterRenderer::new(1, cfg).unwrap().render(&[s]).unwrap();
    let w = (0..200).filter(|&x| px(&f, 0, x, 50) == RED_BYTES).count() as i32;
    assert!((w - 20).abs() <= 1, "{w}");
}

fn cam_ortho() -> Camera {
    Camera { ortho_height: Some(10.0), ..front() }
}

#[test]
fn perspective_extent_is_to_the_pixel() {
    // A 2 m wide face 9.9 m away (camera at z = 10, face at z = 0.1), 45 degrees on 128 px.
    let cam = camera([0.0, 0.0, 10.0], [0.0, 1.0, 0.0], None);
    let s = scene(
        vec![object("b", Shape::Cuboid { half_extents: [1.0, 0.5, 0.1] }, Pose::IDENTITY, unlit(RED), false)],
        cam,
    );
    let f = render(&[s], 128);
    let want = 2.0 / (2.0 * 9.9 * 22.5f32.to_radians().tan()) * 128.0;
    let w = red_run(&f, true, 64) as f32;
    let h = red_run(&f, false, 64) as f32;
    assert!((w - want).abs() <= 1.0 && (h - want / 2.0).abs() <= 1.0, "{w} x {h}, want {want} x {}", want / 2.0);
    // Off-centre: a point 1 m right of the axis at that depth lands where the pinhole says.
    let right_edge = (0..128).rev().find(|&x| px(&f, 0, x, 64) == RED_BYTES).unwrap() as f32 + 1.0;
    let want_edge = 64.0 + 1.0 / (9.9 * 22.5f32.to_radians().tan()) * 64.0;
    assert!((right_edge - want_edge).abs() <= 1.0, "{right_edge} vs {want_edge}");
}

#[test]
fn near_objects_hide_far_ones_whatever_the_order() {
    let near = object(
        "near",
        Shape::Cuboid { half_extents: [0.5, 0.5, 0.1] },
        Pose::from_translation([0.0, 0.0, 1.0]),
        unlit(RED),
        true,
    );
    let far =
        object("far", Shape::Cuboid { half_extents: [1.0, 1.0, 0.1] }, Pose::IDENTITY, unlit([0.1, 0.2, 0.9]), true);
    let a = scene(vec![near.clone(), far.clone()], front());
    let b = scene(vec![far.clone(), near.clone()], front());
    let f = render(&[a, b], 64);
    assert_eq!(px(&f, 0, 32, 32), RED_BYTES);
    assert_eq!(f.frame(0), f.frame(1), "draw order does not matter");
    // Static behind dynamic and dynamic behind static.
    let mut s = far.clone();
    s.dynamic = false;
    let mut d = near.clone();
    d.dynamic = false;
    let c = scene(vec![near, s], front());
    let e = scene(vec![far, d], front());
    let g = render(&[c, e], 64);
    assert_eq!(g.frame(0), f.frame(0));
    assert_eq!(g.frame(1), f.frame(0));
}

#[test]
fn faces_towards_the_sun_are_brighter_and_unlit_ignores_light() {
    let cube = |m: Material| object("c", Shape::Cuboid { half_extents: [0.5, 0.5, 0.5] }, Pose::IDENTITY, m, true);
    let lit = Material::color(0.6, 0.6, 0.6);
    let with_sun = |m: Material, sun: [f32; 3]| Scene { sun_direction: sun, ..scene(vec![cube(m)], front()) };
    // The camera sees the +Z face: lit from the front, then from behind.
    let f = render(
        &[
            with_sun(lit.clone(), [0.0, 0.0, -1.0]),
            with_sun(lit, [0.0, 0.0, 1.0]),
            with_sun(unlit([0.6, 0.6, 0.6]), [0.0, 0.0, -1.0]),
            with_sun(unlit([0.6, 0.6, 0.6]), [0.0, 0.0, 1.0]),
        ],
        32,
    );
    let (toward, away) = (px(&f, 0, 16, 16), px(&f, 1, 16, 16));
    assert!(toward[0] > away[0] + 60, "{toward:?} vs {away:?}");
    assert!(away[0] > 0, "ambient light still shows the face");
    assert_eq!(px(&f, 2, 16, 16), px(&f, 3, 16, 16));
    assert_eq!(px(&f, 2, 16, 16), [153, 153, 153]);
    // A face at an angle gets less than one facing the sun.
    let angled = Scene { sun_direction: [-1.0, 0.0, -1.0], ..with_sun(Material::color(0.6, 0.6, 0.6), [0.0; 3]) };
    let g = render(&[angled], 32);
    let mid = px(&g, 0, 16, 16);
    assert!(mid[0] < toward[0] && mid[0] > away[0], "{mid:?}");
}

#[test]
fn textured_planes_vary_and_repeat_every_texture_scale() {
    // 8 m x 8 m of grass, one repeat per metre, seen from straight above: 16 px per metre.
    let cam = Camera { ortho_height: Some(8.0), ..above() };
    let grass = Material { unlit: true, ..Material::textured("grass", 1.0) };
    let s = scene(vec![object("g", Shape::Plane { half_size: [4.0, 4.0] }, Pose::IDENTITY, grass, false)], cam);
    let f = render(&[s], 128);
    let mut colours: Vec<[u8; 3]> = (0..128).map(|x| px(&f, 0, x, 40)).collect();
    colours.sort();
    colours.dedup();
    assert!(colours.len() > 8, "not uniform: {} colours", colours.len());
    let (mut same, mut total) = (0, 0);
    for y in 0..112 {
        for x in 0..112 {
            total += 1;
            same += usize::from(px(&f, 0, x, y) == px(&f, 0, x + 16, y) && px(&f, 0, x, y) == px(&f, 0, x, y + 16));
        }
    }
    assert!(same * 10 > total * 9, "{same} of {total} pixels repeat after 1 m");
    // Green on average: it is the grass texture.
    let mean = |c: usize| f.frame(0).unwrap().chunks_exact(3).map(|p| p[c] as f32).sum::<f32>() / (128.0 * 128.0);
    assert!(mean(1) > mean(0) && mean(1) > mean(2));
}

fn driving_scenes(n: usize, steps: usize) -> Vec<Scene> {
    (0..n)
        .map(|i| {
            let mut env = make("Driving-v0").unwrap();
            env.reset(Some(i as u64), &Options::new()).unwrap();
            for _ in 0..steps {
                env.step(&Value::Box(vec![0.05, 0.6])).unwrap();
            }
            env.scene().expect("Driving describes a scene")
        })
        .collect()
}

fn cartpole_scene(seed: u64) -> Scene {
    let mut env = make("CartPole-v1").unwrap();
    env.reset(Some(seed), &Options::new()).unwrap();
    env.scene().expect("CartPole describes a scene")
}

#[test]
fn same_scenes_give_the_same_bytes_on_any_number_of_threads() {
    let scenes = driving_scenes(3, 5);
    for cam in ["bev", "chase"] {
        let cfg = RenderConfig { width: 96, height: 80, camera: Some(cam.into()) };
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let mut r = RasterRenderer::new(3, cfg.clone()).unwrap();
                let a = r.render(&scenes).unwrap();
                let b = r.render(&scenes).unwrap();
                assert_eq!(a, b, "{cam}: a second render of the same scenes");
                a
            })
        };
        assert_eq!(run(1), run(4), "{cam}: 1 thread vs 4");
    }
}

#[test]
fn wrong_scene_count_and_missing_cameras_are_clear_errors_and_new_scenes_are_prepared() {
    let s = cartpole_scene(0);
    let mut r = RasterRenderer::new(2, RenderConfig { width: 16, height: 16, camera: None }).unwrap();
    let err = r.render(std::slice::from_ref(&s)).unwrap_err().to_string();
    assert!(err.contains("expected 2 scenes") && err.contains("got 1"), "{err}");
    let mut r = RasterRenderer::new(1, RenderConfig { width: 16, height: 16, camera: Some("hood".into()) }).unwrap();
    let err = format!("{:#}", r.render(std::slice::from_ref(&s)).unwrap_err());
    assert!(err.contains("no camera `hood`") && err.contains("side"), "{err}");
    let mut r = RasterRenderer::new(1, RenderConfig { width: 16, height: 16, camera: None }).unwrap();
    let err = format!("{:#}", r.render(&[Scene { cameras: vec![], ..s.clone() }]).unwrap_err());
    assert!(err.contains("no camera"), "{err}");
    r.render(std::slice::from_ref(&s)).unwrap();
    let mut fewer = s.clone();
    fewer.objects.pop();
    // A scene with other objects (a new episode with other traffic) is prepared again: the
    // same frame as a fresh renderer draws.
    let again = r.render(std::slice::from_ref(&fewer)).unwrap();
    let mut fresh = RasterRenderer::new(1, RenderConfig { width: 16, height: 16, camera: None }).unwrap();
    assert_eq!(again.as_slice(), fresh.render(&[fewer]).unwrap().as_slice());
    assert!(RasterRenderer::new(0, RenderConfig::default()).is_err());
    assert!(RasterRenderer::new(1, RenderConfig { width: 0, height: 8, camera: None }).is_err());
}

/// Saves frame `i` as /tmp/raster_samples/`name`.png, and 4x larger (nearest) as
/// `name`_x4.png for looking at.
fn save(f: &Frames, i: usize, name: &str) {
    let dir = std::path::Path::new("/tmp/raster_samples");
    std::fs::create_dir_all(dir).unwrap();
    let img = vlmgym_render::frames::image(f, i);
    img.save(dir.join(format!("{name}.png"))).unwrap();
    let (w, h) = (img.width() * 4, img.height() * 4);
    image::imageops::resize(&img, w, h, image::imageops::FilterType::Nearest)
        .save(dir.join(format!("{name}_x4.png")))
        .unwrap();
}

/// Mean column of pixels whose colour `is` says.
fn mean_column(f: &Frames, i: usize, is: impl Fn([u8; 3]) -> bool) -> Option<f32> {
    let (mut sum, mut n) = (0.0, 0.0);
    for y in 0..f.height() as u32 {
        for x in 0..f.width() as u32 {
            if is(px(f, i, x, y)) {
                sum += x as f32;
                n += 1.0;
            }
        }
    }
    (n > 3.0).then(|| sum / n)
}

#[test]
fn cartpole_side_view_shows_the_pole_where_the_state_says() {
    let cfg = RenderConfig { width: 112, height: 112, camera: Some("side".into()) };
    let states = [[-1.2, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [1.2, 0.0, 0.3, 0.0]];
    let scenes: Vec<Scene> = states.iter().map(|s| vlmgym_envs::classic::cartpole_scene(*s)).collect();
    let mut r = RasterRenderer::new(3, cfg).unwrap();
    let f = r.render(&scenes).unwrap();
    save(&f, 1, "cartpole_side");
    save(&f, 2, "cartpole_side_tilted");
    let pole = |p: [u8; 3]| p[0] > 150 && p[1] > 70 && p[1] < 170 && p[2] < 90;
    for (i, s) in states.iter().enumerate().take(2) {
        let col = mean_column(&f, i, pole).unwrap_or_else(|| panic!("no pole in frame {i}"));
        // Where the side camera (eye (0, 1, 6), 45 degrees) sees x at the pole's middle.
        let depth = {
            let (e, t) = ([0.0f32, 1.0, 6.0], [0.0f32, 0.8, 0.0]);
            let d = [t[0] - e[0], t[1] - e[1], t[2] - e[2]];
            let n = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
            (0.95 - e[1]) * d[1] / n + (0.0 - e[2]) * d[2] / n
        };
        let want = (s[0] as f32 / (depth * 22.5f32.to_radians().tan()) + 1.0) / 2.0 * 112.0;
        assert!((col - want).abs() < 3.0, "frame {i}: pole at {col}, expected {want}");
    }
    // Sky at the top, grass (green) at the bottom, the blue cart in the middle.
    let top = px(&f, 1, 56, 2);
    assert!(top[2] > top[0] && top[2] > 180, "sky {top:?}");
    let bottom = px(&f, 1, 56, 108);
    assert!(bottom[1] > bottom[0] && bottom[1] > bottom[2], "grass {bottom:?}");
    let cart = |p: [u8; 3]| p[2] > 120 && p[0] < 80 && p[1] < 130;
    assert!(mean_column(&f, 1, cart).is_some_and(|c| (c - 56.0).abs() < 3.0));
    // The next frame shows the next state, and the cached static layer changes nothing.
    let moved: Vec<Scene> =
        states.iter().map(|s| vlmgym_envs::classic::cartpole_scene([-s[0], 0.0, 0.0, 0.0])).collect();
    let g = r.render(&moved).unwrap();
    let col = mean_column(&g, 0, pole).unwrap();
    assert!(col > 70.0, "frame 0 shows x = +1.2 now: {col}");
    let h = r.render(&moved).unwrap();
    assert_eq!(g, h);
    let uncached = render_with(&moved, 112, RasterOptions { cache_static_layer: false, ..RasterOptions::default() });
    let cached = {
        let cfg = RenderConfig { width: 112, height: 112, camera: Some("side".into()) };
        let mut r = RasterRenderer::new(3, cfg).unwrap();
        r.render(&scenes).unwrap();
        r.render(&scenes).unwrap();
        r.render(&moved).unwrap()
    };
    assert_eq!(cached, uncached, "the cached static layer is the one that would be drawn");
    let reset = cartpole_scene(3);
    let one = render(&[reset], 112);
    save(&one, 0, "cartpole_reset");
}

fn is_ego_red(p: [u8; 3]) -> bool {
    p[0] > 120 && p[1] < 60 && p[2] < 60
}

#[test]
fn driving_bird_eye_view_has_the_ego_car_at_the_centre_on_the_road() {
    let scenes = driving_scenes(2, 30);
    let cfg = RenderConfig { width: 112, height: 112, camera: Some("bev".into()) };
    let mut r = RasterRenderer::new(2, cfg.clone()).unwrap();
    let f = r.render(&scenes).unwrap();
    save(&f, 0, "driving_bev");
    save(&f, 1, "driving_bev_seed1");
    for i in 0..2 {
        assert!(is_ego_red(px(&f, i, 56, 56)), "env {i}: centre {:?}", px(&f, i, 56, 56));
        // The car (4.5 m long, 40 m view) points up the image: longer than wide.
        let col = (0..112).filter(|&y| is_ego_red(px(&f, i, 56, y))).count();
        let row = (0..112).filter(|&x| is_ego_red(px(&f, i, x, 56))).count();
        assert!(col > row && (10..=16).contains(&col), "env {i}: car {col} px long, {row} wide");
        // Road (dark grey asphalt) beside the car: it drives in the right-hand lane, the
        // other lane is to its left.
        let grey = (40..56).filter(|&x| {
            let p = px(&f, i, x, 56);
            p.iter().max().unwrap() - p.iter().min().unwrap() < 30 && p[0] < 130
        });
        assert!(grey.count() > 6, "env {i}: no asphalt left of the car");
    }
    // The top-down map and drawing the view directly agree (up to resampling).
    let direct = {
        let mut r =
            RasterRenderer::with_options(2, cfg, RasterOptions { top_down_maps: false, ..Default::default() }).unwrap();
        r.render(&scenes).unwrap()
    };
    save(&direct, 0, "driving_bev_direct");
    let close = f
        .as_slice()
        .chunks_exact(3)
        .zip(direct.as_slice().chunks_exact(3))
        .filter(|(a, b)| a.iter().zip(b.iter()).all(|(x, y)| x.abs_diff(*y) < 40))
        .count();
    let total = f.as_slice().len() / 3;
    assert!(close * 100 > total * 85, "only {close} of {total} pixels agree");
}

#[test]
fn driving_chase_view_shows_sky_above_and_the_ego_car_below_the_centre() {
    let scenes = driving_scenes(1, 30);
    let cfg = RenderConfig { width: 112, height: 112, camera: Some("chase".into()) };
    let f = RasterRenderer::new(1, cfg).unwrap().render(&scenes).unwrap();
    save(&f, 0, "driving_chase");
    let top = px(&f, 0, 56, 1);
    assert!(top[2] > top[0] && top[2] > 180, "sky {top:?}");
    let col = mean_column(&f, 0, is_ego_red).expect("the ego car is in view");
    assert!((col - 56.0).abs() < 8.0, "ego car at column {col}");
    let rows: Vec<u32> = (0..112).filter(|&y| (0..112).any(|x| is_ego_red(px(&f, 0, x, y)))).collect();
    assert!(rows.iter().all(|&y| y > 56), "the car is below the horizon line: {rows:?}");
    let cfg = RenderConfig { width: 224, height: 224, camera: Some("hood".into()) };
    let g = RasterRenderer::new(1, cfg).unwrap().render(&scenes).unwrap();
    save(&g, 0, "driving_hood_224");
    let cfg = RenderConfig { width: 224, height: 224, camera: Some("chase".into()) };
    let g = RasterRenderer::new(1, cfg).unwrap().render(&scenes).unwrap();
    save(&g, 0, "driving_chase_224");
}

#[test]
fn driving_town_draws_buildings_from_every_camera() {
    let mut kwargs = Options::new();
    kwargs.insert("map".into(), "town".into());
    let mut env = vlmgym_envs::make_with("Driving-v0", &kwargs).unwrap();
    env.reset(Some(2), &Options::new()).unwrap();
    for _ in 0..40 {
        env.step(&Value::Box(vec![0.0, 0.6])).unwrap();
    }
    let scene = env.scene().unwrap();
    assert!(scene.objects.iter().any(|o| o.material.texture.as_deref() == Some("facade")), "the town has buildings");
    for (camera, size) in [("bev", 112), ("chase", 224), ("hood", 112)] {
        let cfg = RenderConfig { width: size, height: size, camera: Some(camera.into()) };
        let f = RasterRenderer::new(1, cfg).unwrap().render(std::slice::from_ref(&scene)).unwrap();
        save(&f, 0, &format!("driving_town_{camera}_{size}"));
        if camera == "bev" {
            assert!(is_ego_red(px(&f, 0, 56, 56)), "centre {:?}", px(&f, 0, 56, 56));
        }
    }
}

/// A scene with as many objects as the last but other ones (another map with the same count,
/// a new episode's traffic in other colours) is drawn exactly as a fresh renderer draws it.
#[test]
fn a_changed_world_or_restyled_object_is_never_drawn_stale() {
    let cfg = RenderConfig { width: 64, height: 64, camera: Some("cam".into()) };
    let box_at = |x: f32, c: [f32; 3], dynamic: bool| {
        object(
            "box",
            Shape::Cuboid { half_extents: [0.5; 3] },
            Pose::from_translation([x, 0.0, 0.0]),
            unlit(c),
            dynamic,
        )
    };
    let first = scene(vec![box_at(-1.0, RED, false), box_at(1.0, RED, true)], front());
    let changes = [
        scene(vec![box_at(-1.0, [0.1, 0.8, 0.2], false), box_at(1.0, RED, true)], front()), // static restyled
        scene(vec![box_at(-1.5, RED, false), box_at(1.0, RED, true)], front()),             // static moved
        scene(vec![box_at(-1.0, RED, false), box_at(1.0, [0.1, 0.2, 0.9], true)], front()), // dynamic restyled
    ];
    for (k, next) in changes.iter().enumerate() {
        let mut reused = RasterRenderer::new(1, cfg.clone()).unwrap();
        let old = reused.render(std::slice::from_ref(&first)).unwrap();
        let new = reused.render(std::slice::from_ref(next)).unwrap();
        let fresh = RasterRenderer::new(1, cfg.clone()).unwrap().render(std::slice::from_ref(next)).unwrap();
        assert_ne!(old, fresh, "change {k} shows");
        assert_eq!(new, fresh, "change {k}: the reused renderer drew a stale world");
    }
}
