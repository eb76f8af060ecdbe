//! The general world: multibody pendulum period, multibody motors, impulse joints, contact
//! and sensor reports, ray casts.

use std::f32::consts::PI;
use vlmgym_physics::{BodyDesc, ColliderDesc, JointDesc, Motor, RayFilter, World, WorldConfig};

const G: f32 = 9.81;

/// Distance between two points.
fn dist(a: [f32; 3], b: [f32; 3]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

/// A ball of radius `r` and mass 1 kg hanging `l` metres below a fixed pivot on a revolute
/// multibody joint about Z, released from `theta0` at rest. Returns the joint angle after
/// every control step.
fn pendulum(l: f32, r: f32, theta0: f32, dof_damping: Option<f32>, steps: usize) -> Vec<f32> {
    let mut w = World::new(WorldConfig::default(), 0);
    let pivot = w.add_body(&BodyDesc::fixed().position([0.0, 3.0, 0.0]));
    let bob = w.add_body(&BodyDesc::dynamic().position([0.0, 3.0 - l, 0.0]));
    w.add_collider(&ColliderDesc::ball(r).mass(1.0), Some(bob));
    let mut joint = JointDesc::revolute([0.0, 0.0, 1.0]).anchors([0.0; 3], [0.0, l, 0.0]);
    if let Some(d) = dof_damping {
        joint = joint.dof_damping(d);
    }
    let j = w.add_multibody_joint(pivot, bob, &joint).unwrap();
    assert!(w.set_multibody_state(j, theta0, 0.0));
    // The bob was moved to the released pose at once.
    let p = w.body_position(bob).unwrap();
    assert!(dist(p, [l * theta0.sin(), 3.0 - l * theta0.cos(), 0.0]) < 1e-5, "{p:?}");
    (0..steps)
        .map(|_| {
            w.step();
            w.multibody_position(j).unwrap()
        })
        .collect()
}

#[test]
fn multibody_pendulum_matches_the_analytic_period() {
    let (l, r, theta0) = (1.0f32, 0.05f32, 0.1f32);
    let dt = WorldConfig::default().control_dt;
    let angles = pendulum(l, r, theta0, Some(0.0), 300);
    // Zero crossings, linearly interpolated between control steps.
    let mut crossings = Vec::new();
    let mut prev = theta0;
    for (i, &a) in angles.iter().enumerate() {
        if prev != 0.0 && prev.signum() != a.signum() {
            crossings.push(dt * (i as f32 + prev / (prev - a)));
        }
        prev = a;
    }
    assert!(crossings.len() >= 16, "only {} zero crossings", crossings.len());
    let period = 2.0 * (crossings[crossings.len() - 1] - crossings[0]) / (crossings.len() - 1) as f32;
    // Physical pendulum: I = m l^2 + 2/5 m r^2 about the pivot, T = 2 pi sqrt(I / (m g l)).
    let analytic = 2.0 * PI * ((l * l + 0.4 * r * r) / (G * l)).sqrt();
    let simple = 2.0 * PI * (l / G).sqrt();
    println!("pendulum period: measured {period:.5} s, physical {analytic:.5} s, 2 pi sqrt(L/g) {simple:.5} s");
    assert!((period / analytic - 1.0).abs() < 0.01, "period {period} vs {analytic}");
    assert!((period / simple - 1.0).abs() < 0.01, "period {period} vs {simple}");
    // Undamped: the amplitude over the last swing is still the release angle.
    let last = angles[angles.len() - 40..].iter().fold(0.0f32, |m, a| m.max(a.abs()));
    assert!(last > 0.97 * theta0 && last < 1.01 * theta0, "amplitude {last}");
    // With rapier's default joint damping the same pendulum loses amplitude: dof_damping works.
    let damped = pendulum(l, r, theta0, None, 300);
    let last_damped = damped[damped.len() - 40..].iter().fold(0.0f32, |m, a| m.max(a.abs()));
    assert!(last_damped < 0.8 * theta0, "damped amplitude {last_damped}");
}

/// A 1 m, 2 kg bar on a revolute multibody joint about Z at its left end, horizontal at
/// coordinate 0, so gravity pulls it down (toward negative angles).
fn motor_arm(motor: Motor) -> (World, vlmgym_physics::MultibodyJointId) {
    let mut w = World::new(WorldConfig::default(), 0);
    let base = w.add_body(&BodyDesc::fixed().position([0.0, 2.0, 0.0]));
    let arm = w.add_body(&BodyDesc::dynamic().position([0.5, 2.0, 0.0]));
    w.add_collider(&ColliderDesc::cuboid([0.5, 0.05, 0.05]).mass(2.0), Some(arm));
    let desc = JointDesc::revolute([0.0, 0.0, 1.0]).anchors([0.0; 3], [-0.5, 0.0, 0.0]).motor(motor);
    let j = w.add_multibody_joint(base, arm, &desc).unwrap();
    (w, j)
}

#[test]
fn multibody_position_motor_reaches_and_holds_its_target_within_its_force() {
    let (k, d) = (2000.0, 2.0 * 2000f32.sqrt());
    let (mut w, j) = motor_arm(Motor::position(0.8, k, d).max_force(50.0));
    for _ in 0..45 {
        w.step();
    }
    let q = w.multibody_position(j).unwrap();
    assert!((q - 0.8).abs() < 0.01, "after 3 s the arm is at {q}");
    for _ in 0..45 {
        w.step();
        let q = w.multibody_position(j).unwrap();
        assert!((q - 0.8).abs() < 0.01 && w.multibody_velocity(j).unwrap().abs() < 0.05, "arm drifted to {q}");
    }
    // A new target through set_multibody_motor.
    w.set_multibody_motor(j, Motor::position(-0.3, k, d).max_force(50.0));
    for _ in 0..45 {
        w.step();
    }
    let q = w.multibody_position(j).unwrap();
    assert!((q + 0.3).abs() < 0.01, "after retargeting the arm is at {q}");
    // 2 N m cannot hold a bar whose weight makes up to 9.8 N m: it sags toward hanging.
    let (mut w, j) = motor_arm(Motor::position(0.8, k, d).max_force(2.0));
    for _ in 0..45 {
        w.step();
    }
    let q = w.multibody_position(j).unwrap();
    assert!(q < -0.5, "a 2 N m motor lifted the bar to {q}");
}

#[test]
fn multibody_velocity_motor_reaches_its_target_speed() {
    let mut w = World::new(WorldConfig::default(), 0);
    let base = w.add_body(&BodyDesc::fixed());
    let arm = w.add_body(&BodyDesc::dynamic().position([0.5, 0.0, 0.0]));
    w.add_collider(&ColliderDesc::cuboid([0.5, 0.05, 0.05]).mass(2.0), Some(arm));
    // A turntable about +Y: gravity exerts no torque.
    let desc =
        JointDesc::revolute([0.0, 1.0, 0.0]).anchors([0.0; 3], [-0.5, 0.0, 0.0]).motor(Motor::velocity(3.0, 50.0));
    let j = w.add_multibody_joint(base, arm, &desc).unwrap();
    for _ in 0..30 {
        w.step();
    }
    let q0 = w.multibody_position(j).unwrap();
    let v = w.multibody_velocity(j).unwrap();
    assert!((v - 3.0).abs() < 0.03, "speed {v}");
    for _ in 0..15 {
        w.step();
    }
    let dq = w.multibody_position(j).unwrap() - q0;
    assert!((dq - 3.0).abs() < 0.05, "turned {dq} rad in 1 s");
    // The bar's far end moves at 3 rad/s * 1 m.
    let speed = {
        let [x, y, z] = w.body_linvel(arm).unwrap();
        (x * x + y * y + z * z).sqrt()
    };
    assert!((speed - 1.5).abs() < 0.03, "bar centre speed {speed}");
}

#[test]
fn impulse_revolute_joints_keep_a_double_pendulum_attached() {
    let mut w = World::new(WorldConfig::default(), 0);
    let base = w.add_body(&BodyDesc::fixed().position([0.0, 3.0, 0.0]));
    let a = w.add_body(&BodyDesc::dynamic().position([0.5, 3.0, 0.0]));
    let b = w.add_body(&BodyDesc::dynamic().position([1.5, 3.0, 0.0]));
    for body in [a, b] {
        w.add_collider(&ColliderDesc::cuboid([0.5, 0.05, 0.05]).mass(1.0), Some(body));
    }
    let hinge = JointDesc::revolute([0.0, 0.0, 1.0]);
    w.add_impulse_joint(base, a, &hinge.clone().anchors([0.0; 3], [-0.5, 0.0, 0.0]));
    w.add_impulse_joint(a, b, &hinge.anchors([0.5, 0.0, 0.0], [-0.5, 0.0, 0.0]));
    let start = w.body_position(b).unwrap();
    let mut worst = 0.0f32;
    let mut moved = 0.0f32;
    for _ in 0..75 {
        w.step();
        worst = worst.max(dist(w.body_point(base, [0.0; 3]).unwrap(), w.body_point(a, [-0.5, 0.0, 0.0]).unwrap()));
        worst = worst.max(dist(w.body_point(a, [0.5, 0.0, 0.0]).unwrap(), w.body_point(b, [-0.5, 0.0, 0.0]).unwrap()));
        moved = moved.max(dist(start, w.body_position(b).unwrap()));
    }
    assert!(moved > 1.0, "the pendulum did not swing ({moved} m)");
    assert!(worst < 0.01, "anchors separated by {worst} m");
}

#[test]
fn impulse_joint_velocity_motor_spins_a_wheel() {
    let mut w = World::new(WorldConfig::default(), 0);
    let base = w.add_body(&BodyDesc::fixed());
    let wheel = w.add_body(&BodyDesc::dynamic());
    w.add_collider(&ColliderDesc::cylinder(0.1, 0.5).mass(3.0), Some(wheel));
    let j = w.add_impulse_joint(base, wheel, &JointDesc::revolute([0.0, 1.0, 0.0]));
    w.set_joint_motor(j, Motor::velocity(-2.0, 20.0));
    for _ in 0..30 {
        w.step();
    }
    let [_, wy, _] = w.body_angvel(wheel).unwrap();
    assert!((wy + 2.0).abs() < 0.05, "wheel spins at {wy} rad/s");
    assert!(dist(w.body_position(wheel).unwrap(), [0.0; 3]) < 1e-3);
}

#[test]
fn contacts_report_tags_and_sensors_report_intersections() {
    const GROUND: u64 = 10;
    const BOX: u64 = 20;
    const GATE: u64 = 30;
    let mut w = World::new(WorldConfig::default(), 0);
    let ground = w.add_collider(&ColliderDesc::cuboid([10.0, 0.5, 10.0]).position([0.0, -0.5, 0.0]).tag(GROUND), None);
    let gate =
        w.add_collider(&ColliderDesc::cuboid([1.0, 0.05, 1.0]).position([0.0, 1.5, 0.0]).sensor(true).tag(GATE), None);
    let body = w.add_body(&BodyDesc::dynamic().position([0.0, 3.0, 0.0]));
    let cube = w.add_collider(&ColliderDesc::cuboid([0.25; 3]).tag(BOX), Some(body));
    assert_eq!(w.collider_tag(cube), Some(BOX));
    assert_eq!(w.collider_body(cube), Some(body));
    w.step();
    assert!(w.body_contacts(body).is_empty() && w.intersections(gate).is_empty(), "touching in mid-air");
    let (mut landed, mut gated) = (None, None);
    for i in 1..60 {
        w.step();
        let touches = w.body_contacts(body);
        if landed.is_none() && !touches.is_empty() {
            assert_eq!(touches.len(), 1);
            assert_eq!((touches[0].tag, touches[0].collider, touches[0].body), (GROUND, ground, None));
            let back = w.contacts(ground);
            assert_eq!((back[0].tag, back[0].collider, back[0].body), (BOX, cube, Some(body)));
            assert_eq!(w.contact_pairs().count(), 1);
            landed = Some(i);
        }
        let hits = w.intersections(gate);
        if !hits.is_empty() {
            assert_eq!((hits[0].tag, hits[0].body), (BOX, Some(body)));
            assert!(w.contacts(gate).is_empty(), "a sensor reported a contact");
            gated.get_or_insert(i);
        }
    }
    // Falling 3 m takes about 0.78 s (12 steps); the gate at 1.5 m is crossed first.
    let (landed, gated) = (landed.expect("the box never landed"), gated.expect("the sensor saw nothing"));
    assert!(gated < landed && (8..=14).contains(&landed), "gate at step {gated}, ground at step {landed}");
    // At rest, the box keeps touching the ground and has left the gate.
    assert_eq!(w.body_contacts(body).iter().map(|t| t.tag).collect::<Vec<_>>(), [GROUND]);
    assert!(w.intersections(gate).is_empty());
    assert!((w.body_position(body).unwrap()[1] - 0.25).abs() < 0.02);
}

#[test]
fn ray_casts_hit_at_the_expected_distance_with_the_right_tag() {
    let mut w = World::new(WorldConfig::default(), 0);
    let target = w.add_body(&BodyDesc::fixed().position([5.0, 0.0, 0.0]));
    w.add_collider(&ColliderDesc::cuboid([0.5; 3]).tag(7), Some(target));
    w.add_collider(&ColliderDesc::ball(0.3).position([2.0, 0.0, 0.0]).sensor(true).tag(9), None);
    w.add_collider(&ColliderDesc::capsule(0.5, 0.2).position([0.0, 0.0, 3.0]).tag(11), None);
    w.add_collider(&ColliderDesc::cylinder(0.5, 0.4).position([0.0, 0.0, -3.0]).tag(12), None);
    w.step();
    let all = RayFilter::default();
    let hit = w.cast_ray([0.0; 3], [2.0, 0.0, 0.0], 10.0, &all).expect("the box is in range");
    assert!((hit.distance - 4.5).abs() < 1e-5, "{hit:?}");
    assert_eq!((hit.tag, hit.body), (7, Some(target)));
    assert!(dist(hit.normal, [-1.0, 0.0, 0.0]) < 1e-5 && dist(hit.point, [4.5, 0.0, 0.0]) < 1e-5, "{hit:?}");
    assert!(w.cast_ray([0.0; 3], [1.0, 0.0, 0.0], 4.0, &all).is_none(), "hit beyond max_dist");
    assert!(w.cast_ray([0.0; 3], [1.0, 0.0, 0.0], 10.0, &RayFilter { exclude_body: Some(target), ..all }).is_none());
    assert!(w.cast_ray([0.0; 3], [1.0, 0.0, 0.0], 10.0, &RayFilter { only_tag: Some(8), ..all }).is_none());
    let sensor = w.cast_ray([0.0; 3], [1.0, 0.0, 0.0], 10.0, &RayFilter { include_sensors: true, ..all }).unwrap();
    assert!((sensor.distance - 1.7).abs() < 1e-5 && sensor.tag == 9 && sensor.body.is_none(), "{sensor:?}");
    let capsule = w.cast_ray([0.0; 3], [0.0, 0.0, 1.0], 10.0, &all).unwrap();
    assert!((capsule.distance - 2.8).abs() < 1e-5 && capsule.tag == 11, "{capsule:?}");
    let cylinder = w.cast_ray([0.0; 3], [0.0, 0.0, -1.0], 10.0, &all).unwrap();
    assert!((cylinder.distance - 2.6).abs() < 1e-5 && cylinder.tag == 12, "{cylinder:?}");
    assert!(w.cast_ray([0.0; 3], [0.0; 3], 10.0, &all).is_none(), "a zero direction hit");
}

#[test]
fn body_descriptions_set_mass_velocity_and_kinematic_motion() {
    let mut w = World::new(WorldConfig { gravity: 0.0, ..WorldConfig::default() }, 3);
    assert_eq!(w.seed(), 3);
    let b = w.add_body(&BodyDesc::dynamic().additional_mass(2.0).velocity([1.0, 0.0, 0.0], [0.0; 3]));
    w.add_collider(&ColliderDesc::ball(0.5).mass(3.0), Some(b));
    let k = w.add_body(&BodyDesc::kinematic().position([0.0, 5.0, 0.0]));
    for _ in 0..15 {
        w.set_kinematic_target(k, [0.0, 5.0, 1.0], [0.0, 0.0, 0.0, 1.0]);
        w.step();
    }
    // Mass properties are recomputed from the colliders when stepping.
    assert!((w.body_mass(b).unwrap() - 5.0).abs() < 1e-4, "mass {:?}", w.body_mass(b));
    // One second at 1 m/s without gravity or damping.
    assert!((w.body_position(b).unwrap()[0] - 1.0).abs() < 1e-4);
    assert!(dist(w.body_position(k).unwrap(), [0.0, 5.0, 1.0]) < 1e-6);
    w.apply_impulse(b, [0.0, 5.0, 0.0], [0.0; 3]);
    assert!(dist(w.body_linvel(b).unwrap(), [1.0, 1.0, 0.0]) < 1e-5);
    w.set_body_pose(b, [9.0, 9.0, 9.0], [0.0, 0.0, 0.0, 1.0]);
    assert_eq!(w.body_position(b), Some([9.0, 9.0, 9.0]));
    assert!((w.time() - 1.0).abs() < 1e-6);
}

#[test]
fn contact_force_of_a_resting_box_is_its_weight_and_gravity_can_point_down_z() {
    let mut w = World::new(WorldConfig { control_dt: 0.05, substeps: 5, gravity: 9.81, z_up: true }, 0);
    let table = w.add_body(&BodyDesc::fixed());
    w.add_collider(&ColliderDesc::cuboid([0.5, 0.5, 0.05]).position([0.0, 0.0, -0.05]), Some(table));
    let cube = w.add_body(&BodyDesc::dynamic().position([0.0, 0.0, 0.05]));
    w.add_collider(&ColliderDesc::cuboid([0.02; 3]).density(1000.0), Some(cube));
    for _ in 0..20 {
        w.step();
    }
    let z = w.body_position(cube).unwrap()[2];
    assert!((z - 0.02).abs() < 2e-3, "the cube fell along -Z onto the table: z {z}");
    let f = w.contact_force(cube, table);
    let weight = 0.064 * 9.81;
    assert!((f[2] - weight).abs() < 0.05 * weight, "force on the cube {f:?}, weight {weight}");
    assert!(f[0].abs() < 1e-3 && f[1].abs() < 1e-3);
    let g = w.contact_force(table, cube);
    assert!((g[2] + f[2]).abs() < 1e-4, "action and reaction: {g:?}");
    let free = w.add_body(&BodyDesc::dynamic().position([2.0, 0.0, 1.0]));
    assert_eq!(w.contact_force(free, table), [0.0; 3]);
}

#[test]
fn queries_see_new_colliders_after_a_refresh_without_a_step() {
    let mut w = World::new(WorldConfig::default(), 0);
    w.add_collider(&ColliderDesc::cuboid([0.5; 3]).position([3.0, 0.0, 0.0]).tag(4), None);
    let all = RayFilter::default();
    assert!(w.cast_ray([0.0; 3], [1.0, 0.0, 0.0], 10.0, &all).is_none(), "queries lag until a refresh or a step");
    w.refresh_queries();
    let hit = w.cast_ray([0.0; 3], [1.0, 0.0, 0.0], 10.0, &all).expect("seen after the refresh");
    assert!((hit.distance - 2.5).abs() < 1e-5 && hit.tag == 4, "{hit:?}");
    assert_eq!(w.time(), 0.0, "no time passed");
}

/// A cube (friction 0.9) sliding at 2 m/s on a floor of friction 0.1: its deceleration
/// is mu g for the mu the combine rule gives.
fn sliding_deceleration(friction_max: bool) -> f32 {
    let mut w = World::new(WorldConfig { control_dt: 0.05, substeps: 5, gravity: G, z_up: true }, 0);
    let floor = w.add_body(&BodyDesc::fixed());
    w.add_collider(
        &ColliderDesc::cuboid([50.0, 50.0, 0.5]).position([0.0, 0.0, -0.5]).friction(0.1).friction_max(friction_max),
        Some(floor),
    );
    let cube = w.add_body(&BodyDesc::dynamic().position([0.0, 0.0, 0.1]));
    w.add_collider(&ColliderDesc::cuboid([0.1; 3]).density(1000.0).friction(0.9), Some(cube));
    for _ in 0..10 {
        w.step();
    }
    w.apply_impulse(cube, [16.0, 0.0, 0.0], [0.0; 3]); // 8 kg: 2 m/s
    let v0 = w.body_linvel(cube).unwrap()[0];
    w.step();
    w.step();
    (v0 - w.body_linvel(cube).unwrap()[0]) / 0.1
}

#[test]
fn friction_max_takes_the_larger_coefficient_as_mujoco_does() {
    let max = sliding_deceleration(true);
    let mean = sliding_deceleration(false);
    assert!((max - 0.9 * G).abs() < 0.05 * 0.9 * G, "max rule: deceleration {max}, expected {}", 0.9 * G);
    assert!((mean - 0.5 * G).abs() < 0.05 * 0.5 * G, "mean rule: deceleration {mean}, expected {}", 0.5 * G);
}
