//! The drawing shapes of an MJCF model: each geom where the file puts it, in its body's frame.

use std::path::PathBuf;

use vlmgym_physics::{LinkGeometry, MjcfModel, World, WorldConfig};

fn humanoid() -> (World, MjcfModel) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets/robots/gymnasium/humanoid.xml");
    let mut world = World::new(WorldConfig { control_dt: 0.015, substeps: 5, gravity: 9.81, z_up: true }, 0);
    let model = MjcfModel::load(&mut world, &path).unwrap();
    (world, model)
}

/// `v` rotated by the unit quaternion `q` = [x, y, z, w].
fn rotate(q: [f32; 4], v: [f32; 3]) -> [f32; 3] {
    let [x, y, z, w] = q;
    let t = [2.0 * (y * v[2] - z * v[1]), 2.0 * (z * v[0] - x * v[2]), 2.0 * (x * v[1] - y * v[0])];
    [
        v[0] + w * t[0] + (y * t[2] - z * t[1]),
        v[1] + w * t[1] + (z * t[0] - x * t[2]),
        v[2] + w * t[2] + (x * t[1] - y * t[0]),
    ]
}

/// The axis (drawn along local Y) and centre of `body`'s k-th shape, a capsule.
fn capsule(model: &MjcfModel, body: &str, k: usize) -> ([f32; 3], [f32; 3], f32) {
    let s = &model.link(body).unwrap().shapes[k];
    let LinkGeometry::Capsule { half_height, .. } = s.geometry else { panic!("{body} shape {k} is not a capsule") };
    (rotate(s.rotation, [0.0, 1.0, 0.0]), s.position, half_height)
}

fn close(a: [f32; 3], b: [f32; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-4)
}

#[test]
fn fromto_capsules_lie_along_their_segments() {
    let (_, model) = humanoid();
    // torso1: fromto "0 -.07 0 0 .07 0", across the body (y), centred on the origin.
    let (axis, centre, half) = capsule(&model, "torso", 0);
    assert!(close(axis.map(f32::abs), [0.0, 1.0, 0.0]), "torso1 axis {axis:?}");
    assert!(close(centre, [0.0, 0.0, 0.0]) && (half - 0.07).abs() < 1e-4, "{centre:?} {half}");
    // uwaist: fromto "-.01 -.06 -.12 -.01 .06 -.12".
    let (axis, centre, _) = capsule(&model, "torso", 2);
    assert!(close(axis.map(f32::abs), [0.0, 1.0, 0.0]) && close(centre, [-0.01, 0.0, -0.12]), "{axis:?} {centre:?}");
    // right_uarm1: fromto "0 0 0 .16 -.16 -.16", forward, out and down.
    let (axis, centre, half) = capsule(&model, "right_upper_arm", 0);
    let d = 1.0 / 3f32.sqrt();
    assert!(close(axis, [d, -d, -d]) || close(axis, [-d, d, d]), "right_uarm1 axis {axis:?}");
    assert!(close(centre, [0.08, -0.08, -0.08]) && (half - 0.16 * 3f32.sqrt() / 2.0).abs() < 1e-4, "{centre:?} {half}");
}
