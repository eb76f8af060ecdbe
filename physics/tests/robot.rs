//! The Panda URDF as a multibody: joints, kinematics against rapier's own link poses, PD
//! drives holding and reaching targets, and clear errors.

use std::path::PathBuf;

use vlmgym_physics::{DriveGains, JointType, LinkGeometry, Robot, RobotError, RobotOptions, World, WorldConfig};

fn panda_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets/robots/panda/panda_v2.urdf")
}

use std::f32::consts::{FRAC_PI_4, FRAC_PI_8};

/// ManiSkill3's Panda rest pose.
const REST: [f32; 9] = [0.0, FRAC_PI_8, 0.0, -5.0 * FRAC_PI_8, 0.0, 3.0 * FRAC_PI_4, FRAC_PI_4, 0.04, 0.04];

fn world() -> World {
    World::new(WorldConfig { control_dt: 0.05, substeps: 5, gravity: 9.81, z_up: true }, 0)
}

fn panda(world: &mut World) -> Robot {
    let options = RobotOptions { position: [-0.615, 0.0, 0.0], gravity: false, ..RobotOptions::default() };
    Robot::load(world, &panda_path(), &options).unwrap()
}

fn gains() -> Vec<DriveGains> {
    vec![DriveGains { stiffness: 1e3, damping: 1e2, force_limit: 100.0 }; 9]
}

#[test]
fn panda_loads_with_its_nine_actuated_joints_and_meshes() {
    let mut w = world();
    let r = panda(&mut w);
    let names: Vec<&str> = r.joints().iter().map(|j| j.name.as_str()).collect();
    assert_eq!(names.len(), 9, "{names:?}");
    assert_eq!(names[0], "panda_joint1");
    assert_eq!(names[8], "panda_finger_joint2");
    assert_eq!(r.joints()[7].kind, JointType::Prismatic);
    assert_eq!(r.joints()[8].mimic.as_deref(), Some("panda_finger_joint1"));
    assert_eq!(r.joints()[3].limits, [-3.0718, -0.0698]);
    let link3 = r.link("panda_link3").unwrap();
    let mesh = link3.shapes.iter().find_map(|s| match &s.geometry {
        LinkGeometry::Mesh(m) => Some(m.clone()),
        _ => None,
    });
    assert!(mesh.is_some_and(|m| m.triangles.len() > 100), "link3 has its STL mesh");
    let finger = r.link("panda_leftfinger").unwrap();
    assert_eq!(finger.shapes.iter().filter(|s| matches!(s.geometry, LinkGeometry::Cuboid(_))).count(), 4);
}

#[test]
fn chain_kinematics_match_the_simulated_links() {
    let mut w = world();
    let r = panda(&mut w);
    r.set_joint_positions(&mut w, &REST).unwrap();
    let chain = r.chain("panda_hand").unwrap();
    assert_eq!(chain.dofs(), vec![0, 1, 2, 3, 4, 5, 6]);
    let (p, q) = chain.forward(&REST);
    let hand = r.link("panda_hand").unwrap().body;
    let sim_p = w.body_position(hand).unwrap();
    let sim_q = w.body_rotation(hand).unwrap();
    for i in 0..3 {
        assert!((p[i] - 0.615 * (i == 0) as i32 as f32 - sim_p[i]).abs() < 1e-4, "{p:?} vs {sim_p:?}");
    }
    let dot: f32 = (0..4).map(|i| q[i] * sim_q[i]).sum();
    assert!(dot.abs() > 0.99999, "{q:?} vs {sim_q:?}");
    // ManiSkill's rest pose holds the TCP about 0.5 m above the table, pointing down.
    let (tcp, _) = r.chain("panda_hand_tcp").unwrap().forward(&REST);
    assert!((tcp[0] - 0.615 - 0.0).abs() < 0.05 && (tcp[2] - 0.18).abs() < 0.05, "tcp {tcp:?}");
}

#[test]
fn inverse_kinematics_reaches_a_nearby_pose() {
    let mut w = world();
    let r = panda(&mut w);
    let chain = r.chain("panda_hand_tcp").unwrap();
    let (p, q) = chain.forward(&REST);
    let target = [p[0] + 0.08, p[1] - 0.05, p[2] + 0.1];
    let (sol, err) = chain.inverse(&REST, target, q, 50);
    assert!(err < 1e-3, "error {err}");
    let (got, got_q) = chain.forward(&sol);
    for i in 0..3 {
        assert!((got[i] - target[i]).abs() < 1e-3);
    }
    let dot: f32 = (0..4).map(|i| q[i] * got_q[i]).sum();
    assert!(dot.abs() > 0.9999, "orientation kept");
    assert_eq!(&sol[7..], &REST[7..], "fingers are not in the chain");
}

#[test]
fn pd_drives_hold_the_rest_pose_and_track_a_target() {
    let mut w = world();
    let r = panda(&mut w);
    r.set_joint_positions(&mut w, &REST).unwrap();
    r.set_drive_targets(&mut w, &REST, &gains()).unwrap();
    for _ in 0..20 {
        w.step();
    }
    let q = r.joint_positions(&w);
    for i in 0..9 {
        assert!((q[i] - REST[i]).abs() < 2e-3, "joint {i}: {} vs {}", q[i], REST[i]);
    }
    let mut target = REST;
    target[0] += 0.2;
    target[3] += 0.2;
    target[7] = 0.01;
    target[8] = 0.01;
    r.set_drive_targets(&mut w, &target, &gains()).unwrap();
    for _ in 0..40 {
        w.step();
    }
    let q = r.joint_positions(&w);
    for i in 0..9 {
        assert!((q[i] - target[i]).abs() < 5e-3, "joint {i}: {} vs {}", q[i], target[i]);
    }
    assert!(r.joint_velocities(&w).iter().all(|v| v.abs() < 0.05));
}

#[test]
fn bad_paths_names_and_lengths_are_clear_errors() {
    let mut w = world();
    let err = Robot::load(&mut w, &PathBuf::from("/nonexistent/arm.urdf"), &RobotOptions::default()).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/arm.urdf") && err.to_string().contains("no such file"), "{err}");
    let r = panda(&mut w);
    assert!(matches!(r.link("gripper"), Err(RobotError::UnknownLink { .. })));
    assert!(r.chain("panda_hand_tcp").is_ok(), "frame-only links still have chains");
    let err = r.set_joint_positions(&mut w, &[0.0; 3]).unwrap_err();
    assert!(err.to_string().contains("3 values") && err.to_string().contains("9 actuated joints"), "{err}");
}

#[test]
fn a_second_load_shares_the_first_ones_meshes() {
    let (mut w1, mut w2) = (world(), world());
    let (a, b) = (panda(&mut w1), panda(&mut w2));
    let mesh = |r: &Robot| match &r.link("panda_link2").unwrap().shapes[0].geometry {
        LinkGeometry::Mesh(m) => m.clone(),
        other => panic!("{other:?}"),
    };
    assert!(std::sync::Arc::ptr_eq(&mesh(&a), &mesh(&b)));
}
