//! Bit-exact regression test for the driving world: a fixed scene (ground, road, barriers,
//! a prop, the ego car and three NPCs with moving targets) driven for 200 control steps with
//! varied inputs must reproduce the recorded ego states, contacts and body poses bit for bit.
//! The golden file was generated before the general-world refactor; regenerate it only on
//! purpose, with `VLMGYM_UPDATE_GOLDEN=1 cargo test -p vlmgym-physics --test driving_golden`.

use std::fmt::Write;
use vlmgym_physics::{DrivingWorld, Tag, VehicleConfig, VehicleControl, WorldConfig};

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/driving_golden.json");

fn bits(out: &mut String, xs: &[f32]) {
    out.push('[');
    for (i, x) in xs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write!(out, "{}", x.to_bits()).unwrap();
    }
    out.push(']');
}

/// Runs the scene and returns one JSON line per control step.
fn trace() -> String {
    let mut w = DrivingWorld::new(WorldConfig { control_dt: 1.0 / 15.0, ..WorldConfig::default() }, 7);
    w.add_ground([50.0, 0.0], 150.0, 100.0);
    w.add_road_segment([-50.0, 0.0], [150.0, 0.0], 7.0);
    w.add_road_segment([40.0, -60.0], [40.0, 60.0], 7.0);
    w.add_barrier([-50.0, 4.5], [35.0, 4.5], 0.8, 0.3);
    w.add_barrier([-50.0, -4.5], [35.0, -4.5], 0.8, 0.3);
    w.add_static_box([60.0, 1.5, 9.0], [2.0, 1.5, 2.0], 0.3, Tag::Prop);
    w.add_static_box([30.0, 0.4, 3.8], [0.5, 0.4, 0.5], 0.0, Tag::Barrier);
    w.add_ego(VehicleConfig::default(), [0.0, 0.0], 0.0, 8.0);
    let half = [2.25, 0.7, 0.9];
    let mut npcs = [([18.0f32, 0.3f32], 0.0f32), ([100.0, 30.0], 3.0), ([40.0, -25.0], std::f32::consts::FRAC_PI_2)];
    for (xz, yaw) in npcs {
        w.add_npc(half, xz, yaw);
    }
    let mut out = String::from("{\"steps\": [\n");
    for i in 0..200 {
        let t = i as f32;
        let throttle = match i {
            0..=59 => 0.8,
            60..=79 => -0.5,
            80..=139 => (t * 0.05).cos(),
            _ => 0.3,
        };
        let steer = match i {
            0..=39 => 0.0,
            40..=99 => 0.1 * (t * 0.07).sin(),
            _ => 0.6 * (t * 0.07).sin(),
        };
        w.set_ego_control(VehicleControl { steer, throttle_brake: throttle });
        // NPC 0 drives ahead at 2 m/s, NPC 1 (far away) circles and wraps its yaw past pi,
        // NPC 2 crosses the road.
        npcs[0].0[0] += 0.13;
        npcs[1].0 = [100.0 + 10.0 * (t * 0.1).cos(), 30.0 + 10.0 * (t * 0.1).sin()];
        npcs[1].1 = 3.0 + t * 0.1;
        npcs[2].0[1] += 0.15;
        for (k, (xz, yaw)) in npcs.iter().enumerate() {
            w.set_npc_target(k, *xz, *yaw);
        }
        w.step();
        let s = w.ego_state().unwrap();
        out.push_str("{\"ego\": ");
        let mut ego = Vec::new();
        ego.extend(s.position);
        ego.extend(s.rotation);
        ego.extend(s.linvel);
        ego.extend(s.angvel);
        ego.push(s.forward_speed);
        ego.push(s.steer_angle);
        bits(&mut out, &ego);
        write!(out, ", \"wheels\": {}, \"contacts\": \"{:?}\", \"bodies\": ", s.wheels_on_ground, w.ego_contacts())
            .unwrap();
        let mut poses = Vec::new();
        for (_, b) in w.rapier().bodies.iter() {
            let p = b.translation();
            let q = b.rotation();
            poses.extend([p.x, p.y, p.z, q.x, q.y, q.z, q.w]);
        }
        bits(&mut out, &poses);
        write!(out, ", \"time\": {}}}", w.time().to_bits()).unwrap();
        out.push_str(if i + 1 < 200 { ",\n" } else { "\n" });
    }
    out.push_str("]}\n");
    out
}

#[test]
fn driving_trajectory_matches_golden_bits() {
    let got = trace();
    if std::env::var_os("VLMGYM_UPDATE_GOLDEN").is_some() {
        std::fs::write(GOLDEN, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(GOLDEN).expect("golden file (regenerate with VLMGYM_UPDATE_GOLDEN=1)");
    for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
        assert_eq!(g, w, "line {i} of the trace differs from {GOLDEN}");
    }
    assert_eq!(got.lines().count(), want.lines().count(), "trace length differs");
    // The scene must actually exercise contacts with NPCs and barriers.
    assert!(want.contains("Npc(0)") && want.contains("Barrier"), "scene has no NPC or barrier contact");
}
