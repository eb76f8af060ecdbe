//! A scripted driver for Driving-v0: pure pursuit on the observation's waypoints for
//! steering and a PID on speed (slowing for curves and for the car ahead) for
//! throttle/brake. It drives the `loop` route on 20 seeds and prints each result and the
//! summary, then drives 20 `town` routes in traffic and prints VLM-RL's metrics.
//!
//! Run: `cargo run --release --example drive_scripted`

use vlmgym::envs::driving::{Driving, DrivingState};
use vlmgym::envs::{Env, Options, Value};

/// Pure pursuit + PID speed controller.
struct Scripted {
    integral: f64,
}

const WHEELBASE: f64 = 2.8;
const MAX_STEER: f64 = 0.6;

impl Scripted {
    fn act(&mut self, s: &DrivingState, target_kmh: f64, stop_in: Option<f64>) -> [f32; 2] {
        let v = s.speed.max(0.0);
        // Steering: the first waypoint at least the lookahead distance away.
        let ld = (4.0 + 0.6 * v).max(6.0);
        let goal = s.waypoints.iter().copied().find(|w| w[0].hypot(w[1]) >= ld).or(s.waypoints.last().copied());
        let steer = goal.map_or(0.0, |[x, y]| {
            let d2 = (x * x + y * y).max(1e-6);
            let curvature = 2.0 * y / d2;
            (WHEELBASE * curvature).atan() / MAX_STEER
        });
        // Speed: target, limited by upcoming curvature and by the gap to the car ahead.
        let mut v_des = target_kmh / 3.6;
        for pair in s.waypoints.windows(3) {
            let h0 = (pair[1][1] - pair[0][1]).atan2(pair[1][0] - pair[0][0]);
            let h1 = (pair[2][1] - pair[1][1]).atan2(pair[2][0] - pair[1][0]);
            let dist = (pair[2][0] - pair[0][0]).hypot(pair[2][1] - pair[0][1]).max(0.5);
            let mut dh = (h1 - h0).abs();
            if dh > std::f64::consts::PI {
                dh = std::f64::consts::TAU - dh;
            }
            let kappa = dh / (dist / 2.0);
            if kappa > 1e-3 {
                v_des = v_des.min((2.0 / kappa).sqrt().max(3.0));
            }
        }
        if let Some(gap) = s.gap_ahead {
            v_des = v_des.min(((gap - 4.0) / 1.2).max(0.0));
        }
        // Cars crossing just in front (junctions): stop for anything within 10 m ahead in
        // a 3 m wide corridor.
        for n in &s.neighbours {
            let [x, y] = n.rel_pos;
            if x > 0.0 && x < 10.0 && y.abs() < 2.5 {
                v_des = v_des.min(((x - 5.0) / 1.2).max(0.0));
            }
        }
        if let Some(d) = stop_in {
            v_des = v_des.min(((d - 1.0) / 1.2).max(0.0));
        }
        let err = v_des - v;
        self.integral = (self.integral + err / 15.0).clamp(-2.0, 2.0);
        let tb = if v_des < 0.3 && v < 1.0 { -1.0 } else { 0.35 * err + 0.1 * self.integral };
        [steer.clamp(-1.0, 1.0) as f32, tb.clamp(-1.0, 1.0) as f32]
    }
}

/// Distance to the next junction on the route when another car is in it (yield to it),
/// unless the ego car is already in that junction.
fn junction_stop(env: &Driving) -> Option<f64> {
    let s = env.state()?;
    let route = env.route()?;
    let &(s0, _, j) = route.junction_spans.iter().find(|(s0, s1, _)| *s1 > s.progress && *s0 - s.progress < 15.0)?;
    if s.progress >= s0 - 2.0 {
        return None;
    }
    let map = env.map();
    let busy = env
        .npcs()
        .iter()
        .any(|n| map.lanes[n.lane].junction == Some(j) || map.junctions[j].contains(n.pose(map).0, 1.0));
    busy.then_some(s0 - s.progress - 2.25)
}

struct Outcome {
    termination: String,
    steps: u64,
    metrics: serde_json::Value,
}

fn run(kwargs: &str, seed: u64) -> Outcome {
    let kwargs: Options = serde_json::from_str(kwargs).expect("kwargs");
    let mut env = Driving::from_kwargs(&kwargs, false).expect("env");
    env.reset(Some(seed), &Options::new()).expect("reset");
    let mut ctl = Scripted { integral: 0.0 };
    let target = env.config().target_speed_kmh;
    for step in 1..=1500u64 {
        let a = ctl.act(env.state().expect("reset"), target, junction_stop(&env));
        let out = env.step(&Value::Box(a.to_vec())).expect("step");
        if out.terminated || step == 1500 {
            let mut termination = out.info["termination"].as_str().unwrap_or("time_limit").to_string();
            if let Some(what) = out.info["collision"].as_str() {
                termination = format!("hit {what}");
            }
            return Outcome { termination, steps: step, metrics: out.info["metrics"].clone() };
        }
    }
    unreachable!()
}

fn summary(name: &str, kwargs: &str) -> (usize, usize) {
    println!("== {name} ({kwargs})");
    let (mut ok, mut collisions) = (0, 0);
    let mut sums = [0.0f64; 4];
    for seed in 0..20 {
        let o = run(kwargs, seed);
        let m = &o.metrics;
        let success = m["success"].as_bool().unwrap_or(false);
        let coll = m["collisions"].as_u64().unwrap_or(0) as usize;
        ok += usize::from(success && coll == 0);
        collisions += coll;
        let keys = ["route_completion", "distance_m", "mean_speed_kmh", "mean_center_deviation_m"];
        for (s, k) in sums.iter_mut().zip(keys) {
            *s += m[k].as_f64().unwrap_or(0.0);
        }
        println!(
            "seed {seed:2}: {:<11} steps {:4}  completion {:5.1}%  distance {:6.1} m  mean speed {:5.1} km/h  centre dev {:.2} m  collisions {}",
            o.termination,
            o.steps,
            100.0 * m["route_completion"].as_f64().unwrap_or(0.0),
            m["distance_m"].as_f64().unwrap_or(0.0),
            m["mean_speed_kmh"].as_f64().unwrap_or(0.0),
            m["mean_center_deviation_m"].as_f64().unwrap_or(0.0),
            coll
        );
    }
    let total_km = sums[1] / 1000.0;
    println!(
        "summary {name}: {ok}/20 routes completed without collision; mean completion {:.1}%, total {:.2} km, \
         {collisions} collisions ({:.2} per km), mean speed {:.1} km/h, mean centre deviation {:.2} m",
        100.0 * sums[0] / 20.0,
        total_km,
        collisions as f64 / total_km.max(1e-3),
        sums[2] / 20.0,
        sums[3] / 20.0
    );
    (ok, collisions)
}

fn main() {
    summary("loop", r#"{"map": "loop"}"#);
    summary("town", r#"{"map": "town"}"#);
}
