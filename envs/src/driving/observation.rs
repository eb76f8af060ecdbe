//! The ego car's state relative to its route, and the observation vector built from it.

use super::map::LANE_WIDTH;

/// What the ego car hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Collision {
    /// Another car.
    Car,
    /// A barrier or another static object.
    Barrier,
}

impl Collision {
    /// `"car"` or `"barrier"`.
    pub fn name(self) -> &'static str {
        match self {
            Collision::Car => "car",
            Collision::Barrier => "barrier",
        }
    }
}

/// Another car as the ego car sees it: relative position and velocity in the ego frame
/// (x forward, y left), metres and m/s.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Neighbour {
    /// Relative position `[forward, left]`.
    pub rel_pos: [f64; 2],
    /// Relative velocity `[forward, left]`.
    pub rel_vel: [f64; 2],
}

/// Named quantities of the current state, for rewards, captions and observations.
///
/// The lateral offset and heading error are measured against the route's centreline, which
/// is the centre of the lane the route follows; positive means to the left. The road spans
/// from `LANE_WIDTH / 2` right of that centre (the kerb side) to `3 LANE_WIDTH / 2` left of
/// it (the far edge of the oncoming lane).
#[derive(Clone, Debug, PartialEq)]
pub struct DrivingState {
    /// Map position `[x, y]` of the chassis centre, metres.
    pub position: [f64; 2],
    /// Map heading, radians.
    pub heading: f64,
    /// Signed speed along the car's forward axis, m/s.
    pub speed: f64,
    /// Steering input in [-1, 1] (+ left).
    pub steer: f64,
    /// Signed distance from the lane centre, metres (+ left).
    pub lateral_offset: f64,
    /// Car heading minus route heading, radians in (-pi, pi] (+ turned left).
    pub heading_error: f64,
    /// Arc length travelled along the route, metres.
    pub progress: f64,
    /// Route length, metres.
    pub route_length: f64,
    /// Best progress so far over route length, in [0, 1].
    pub route_completion: f64,
    /// Distance from the chassis centre to the left road edge, metres (negative beyond it).
    pub dist_left_edge: f64,
    /// Distance to the right road edge, metres (negative beyond it).
    pub dist_right_edge: f64,
    /// The junction the car is in, if any.
    pub junction: Option<usize>,
    /// Bumper-to-bumper gap to the nearest car ahead in the car's lane within 40 m.
    pub gap_ahead: Option<f64>,
    /// What the car hit during the last step.
    pub collision: Option<Collision>,
    /// Other cars within 50 m, nearest first.
    pub neighbours: Vec<Neighbour>,
    /// The next route waypoints in the ego frame `[forward, left]`.
    pub waypoints: Vec<[f64; 2]>,
}

impl DrivingState {
    /// Lateral distances of the road edges from the route's centreline.
    pub const LEFT_EDGE: f64 = 1.5 * LANE_WIDTH;
    /// See [`DrivingState::LEFT_EDGE`].
    pub const RIGHT_EDGE: f64 = 0.5 * LANE_WIDTH;

    /// Speed in km/h.
    pub fn speed_kmh(&self) -> f64 {
        self.speed * 3.6
    }

    /// Whether the chassis centre is beyond a road edge.
    pub fn off_road(&self) -> bool {
        self.dist_left_edge < 0.0 || self.dist_right_edge < 0.0
    }

    /// The scalar quantities by name (for reward synthesis and logging): `speed` (m/s),
    /// `speed_kmh`, `steer`, `lateral_offset`, `heading_error`, `progress`, `route_length`,
    /// `route_completion`, `dist_left_edge`, `dist_right_edge`, `in_junction` (0/1),
    /// `gap_ahead` (metres, 40 when none), `collision` (0 none, 1 car, 2 barrier).
    pub fn named(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("speed", self.speed),
            ("speed_kmh", self.speed_kmh()),
            ("steer", self.steer),
            ("lateral_offset", self.lateral_offset),
            ("heading_error", self.heading_error),
            ("progress", self.progress),
            ("route_length", self.route_length),
            ("route_completion", self.route_completion),
            ("dist_left_edge", self.dist_left_edge),
            ("dist_right_edge", self.dist_right_edge),
            ("in_junction", f64::from(u8::from(self.junction.is_some()))),
            ("gap_ahead", self.gap_ahead.unwrap_or(40.0)),
            (
                "collision",
                match self.collision {
                    None => 0.0,
                    Some(Collision::Car) => 1.0,
                    Some(Collision::Barrier) => 2.0,
                },
            ),
        ]
    }

    /// The observation vector: `[speed, lateral_offset, heading_error, steer]`, then `k`
    /// waypoints as `(forward, left)`, then `m` vehicles as `(present, dx, dy, dvx, dvy)`
    /// (zeros when absent), then `[dist_left_edge, dist_right_edge]`; length `6 + 2k + 5m`.
    pub fn observation(&self, k: usize, m: usize) -> Vec<f32> {
        let mut o = Vec::with_capacity(obs_len(k, m));
        o.extend([self.speed, self.lateral_offset, self.heading_error, self.steer].map(|x| x as f32));
        for i in 0..k {
            let w = self.waypoints.get(i).or(self.waypoints.last()).copied().unwrap_or([0.0; 2]);
            o.extend([w[0] as f32, w[1] as f32]);
        }
        for i in 0..m {
            match self.neighbours.get(i) {
                Some(n) => o.extend([1.0, n.rel_pos[0], n.rel_pos[1], n.rel_vel[0], n.rel_vel[1]].map(|x| x as f32)),
                None => o.extend([0.0f32; 5]),
            }
        }
        o.extend([self.dist_left_edge as f32, self.dist_right_edge as f32]);
        for x in &mut o {
            *x = x.clamp(-OBS_BOUND, OBS_BOUND);
        }
        o
    }
}

/// Every observation element lies in `[-OBS_BOUND, OBS_BOUND]`.
pub const OBS_BOUND: f32 = 1.0e4;

/// Length of the observation for `k` waypoints and `m` vehicles.
pub fn obs_len(k: usize, m: usize) -> usize {
    6 + 2 * k + 5 * m
}
