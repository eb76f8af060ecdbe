//! The batch renderer on lavapipe: frames show the state just passed in, the pole where the
//! state says, and the same scenes give the same bytes.

#![cfg(feature = "bevy")]

use vlmgym_envs::classic::cartpole_scene;
use vlmgym_render::{BatchRenderer, Frames, RenderConfig};

/// Columns of frame `i` holding the pole's orange (r high, g mid, b low), averaged.
fn pole_column(frames: &Frames, i: usize) -> Option<f32> {
    let (w, h) = (frames.width(), frames.height());
    let f = frames.frame(i).unwrap();
    let (mut sum, mut count) = (0.0, 0.0);
    for y in 0..h {
        for x in 0..w {
            let p = &f[(y * w + x) * 3..(y * w + x) * 3 + 3];
            if p[0] > 150 && p[1] > 70 && p[1] < 170 && p[2] < 90 {
                sum += x as f32;
                count += 1.0;
            }
        }
    }
    (count > 3.0).then(|| sum / count)
}

/// Where the side camera (eye (0,1,6), 45 degree vertical fov, square image) projects a
/// point at height `y` and `x` on the plane z = 0.
fn projected_column(x: f32, y: f32, width: f32) -> f32 {
    let eye = [0.0f32, 1.0, 6.0];
    let target = [0.0f32, 0.8, 0.0];
    let f = {
        let d = [target[0] - eye[0], target[1] - eye[1], target[2] - eye[2]];
        let n = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
        [d[0] / n, d[1] / n, d[2] / n]
    };
    let depth = (x - eye[0]) * f[0] + (y - eye[1]) * f[1] + (0.0 - eye[2]) * f[2];
    let ndc = x / (depth * (22.5f32).to_radians().tan());
    (ndc + 1.0) / 2.0 * width
}

#[test]
fn cartpole_frames_show_the_pole_where_the_state_says_and_repeat_exactly() {
    let cfg = RenderConfig { width: 160, height: 160, camera: Some("side".into()) };
    let mut r = BatchRenderer::new(3, cfg).expect("renderer (needs mesa-vulkan-drivers)");
    let states = [[-1.2, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [1.2, 0.0, 0.0, 0.0]];
    let scenes: Vec<_> = states.iter().map(|s| cartpole_scene(*s)).collect();
    let frames = r.render(&scenes).unwrap();
    assert_eq!(
        (frames.len(), frames.width(), frames.height(), frames.as_slice().len()),
        (3, 160, 160, 3 * 160 * 160 * 3)
    );
    for (i, s) in states.iter().enumerate() {
        let col = pole_column(&frames, i).unwrap_or_else(|| panic!("no pole in frame {i}"));
        // The pole's middle is 0.95 m up.
        let want = projected_column(s[0] as f32, 0.95, 160.0);
        assert!((col - want).abs() < 4.0, "frame {i}: pole at column {col}, expected {want}");
    }
    // Same scenes, same bytes; the next call shows the new state, not the previous one.
    assert_eq!(r.render(&scenes).unwrap(), frames);
    let moved: Vec<_> = states.iter().map(|s| cartpole_scene([-s[0], 0.0, 0.0, 0.0])).collect();
    let after = r.render(&moved).unwrap();
    let col0 = pole_column(&after, 0).unwrap();
    assert!((col0 - projected_column(1.2, 0.95, 160.0)).abs() < 4.0, "frame 0 still shows the old state: {col0}");
    let tilted = vec![cartpole_scene([0.0, 0.0, 0.2, 0.0]); 3];
    let t = r.render(&tilted).unwrap();
    assert_eq!(t.frame(0), t.frame(2), "identical scenes in different envs draw identically");
    assert!(r.render(&scenes[..2]).is_err(), "wrong scene count is an error");
}

/// A new episode may dress its objects differently with as many of them (other car colours):
/// a renderer that drew the old look draws the new one exactly as a fresh renderer does.
#[test]
fn restyled_dynamic_objects_are_drawn_in_their_new_look() {
    let cfg = RenderConfig { width: 96, height: 96, camera: Some("side".into()) };
    let state = [0.0, 0.0, 0.05, 0.0];
    let mut restyled = cartpole_scene(state);
    let pole = restyled.objects.iter_mut().find(|o| o.dynamic && o.name == "pole").expect("a dynamic pole");
    pole.material.color = [0.1, 0.3, 0.9, 1.0];
    let mut reused = BatchRenderer::new(1, cfg.clone()).unwrap();
    let before = reused.render(&[cartpole_scene(state)]).unwrap();
    assert!(pole_column(&before, 0).is_some(), "the orange pole is drawn first");
    let after = reused.render(std::slice::from_ref(&restyled)).unwrap();
    let fresh = BatchRenderer::new(1, cfg).unwrap().render(&[restyled]).unwrap();
    assert!(pole_column(&after, 0).is_none(), "the pole is still orange after its material changed");
    assert_eq!(after, fresh);
}
