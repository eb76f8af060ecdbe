//! Ground-truth rewards: VLM-RL's hierarchical reward (semantic factor fixed at 1) and a
//! CaRL-style route-completion reward; and VLM-RL's per-episode metrics.

use std::collections::VecDeque;

use super::observation::{Collision, DrivingState};

/// VLM-RL's target speed, km/h.
pub const TARGET_SPEED_KMH: f64 = 25.0;
/// VLM-RL's terminal penalty (collision, off-route, stuck).
pub const TERMINAL_PENALTY: f64 = -10.0;
/// Steps over which `f_std` measures the spread of the lateral offset.
pub const STD_WINDOW: usize = 30;

/// Which ground-truth reward `step` returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RewardKind {
    /// `r = r_speed * f_center * f_angle * f_std`, -10 on a failure (VLM-RL, `r_sem = 1`).
    VlmRl,
    /// `r = 100 * (gain in route completion) * p`, `p` the product of this step's
    /// infraction factors: collision with a car 0.6, with a barrier 0.65, centre outside
    /// the own lane 0.9 (CaRL-style).
    RouteCompletion,
}

impl RewardKind {
    /// The names accepted by the `reward` kwarg.
    pub const NAMES: [&'static str; 2] = ["vlm-rl", "route-completion"];

    /// From a name in [`RewardKind::NAMES`].
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "vlm-rl" => Some(RewardKind::VlmRl),
            "route-completion" => Some(RewardKind::RouteCompletion),
            _ => None,
        }
    }
}

/// The population standard deviation of the recent lateral offsets (0 when empty): what
/// `f_std` measures, and `lateral_offset_std` in `info["state"]`.
pub fn offset_std(history: &VecDeque<f64>) -> f64 {
    let n = history.len().max(1) as f64;
    let mean = history.iter().sum::<f64>() / n;
    (history.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt()
}

/// VLM-RL's reward components for one step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VlmRlTerms {
    /// `1 - |v - v_des| / v_target` (km/h), `v_des = r_sem * v_target`.
    pub r_speed: f64,
    /// `max(1 - |d| / 3, 0)`.
    pub f_center: f64,
    /// `max(1 - |theta| / 90 deg, 0)`.
    pub f_angle: f64,
    /// `max(1 - std(d over the last 30 steps) / 0.4, 0)`.
    pub f_std: f64,
}

impl VlmRlTerms {
    /// The components for speed `speed_kmh`, offset `d`, heading error `theta` (rad), the
    /// recent offsets `history`, semantic score `r_sem` and target speed `v_target` (km/h).
    pub fn compute(speed_kmh: f64, d: f64, theta: f64, history: &VecDeque<f64>, r_sem: f64, v_target: f64) -> Self {
        let v_des = r_sem * v_target;
        let std = offset_std(history);
        VlmRlTerms {
            r_speed: 1.0 - (speed_kmh - v_des).abs() / v_target,
            f_center: (1.0 - d.abs() / 3.0).max(0.0),
            f_angle: (1.0 - theta.abs() / std::f64::consts::FRAC_PI_2).max(0.0),
            f_std: (1.0 - std / 0.4).max(0.0),
        }
    }

    /// Their product.
    pub fn reward(&self) -> f64 {
        self.r_speed * self.f_center * self.f_angle * self.f_std
    }
}

/// The CaRL-style reward for a gain in route completion (fraction) and this step's state.
pub fn route_completion_reward(gain: f64, state: &DrivingState) -> f64 {
    let mut p = 1.0;
    match state.collision {
        Some(Collision::Car) => p *= 0.6,
        Some(Collision::Barrier) => p *= 0.65,
        None => {}
    }
    if state.lateral_offset.abs() > super::map::LANE_WIDTH / 2.0 {
        p *= 0.9;
    }
    100.0 * gain * p
}

/// VLM-RL's evaluation metrics of one episode, accumulated step by step.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    /// Steps taken.
    pub steps: u64,
    /// Metres driven.
    pub distance: f64,
    /// Collisions (onsets).
    pub collisions: u64,
    /// Sum of speeds, km/h.
    pub speed_sum: f64,
    /// Sum of |lateral offset|, metres.
    pub deviation_sum: f64,
    /// Best route completion, in [0, 1].
    pub route_completion: f64,
    /// Whether the route's end was reached.
    pub success: bool,
}

impl Metrics {
    /// As a JSON object: `route_completion`, `distance_m`, `collisions`,
    /// `collisions_per_km`, `collisions_per_step`, `mean_speed_kmh`,
    /// `mean_center_deviation_m`, `success`, `steps`.
    pub fn to_json(&self) -> serde_json::Value {
        let steps = self.steps.max(1) as f64;
        let km = self.distance / 1000.0;
        serde_json::json!({
            "route_completion": self.route_completion,
            "distance_m": self.distance,
            "collisions": self.collisions,
            "collisions_per_km": if self.collisions == 0 { 0.0 } else { self.collisions as f64 / km.max(1e-3) },
            "collisions_per_step": self.collisions as f64 / steps,
            "mean_speed_kmh": self.speed_sum / steps,
            "mean_center_deviation_m": self.deviation_sum / steps,
            "success": self.success,
            "steps": self.steps,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vlm_rl_terms_match_hand_computation() {
        // v = 20 km/h, d = 0.6 m, theta = 9 deg, offsets alternating 0.2 / 0.6 (std 0.2).
        let hist: VecDeque<f64> = (0..30).map(|i| if i % 2 == 0 { 0.2 } else { 0.6 }).collect();
        let t = VlmRlTerms::compute(20.0, 0.6, 9f64.to_radians(), &hist, 1.0, 25.0);
        assert!((t.r_speed - 0.8).abs() < 1e-12);
        assert!((t.f_center - 0.8).abs() < 1e-12);
        assert!((t.f_angle - 0.9).abs() < 1e-12);
        assert!((t.f_std - 0.5).abs() < 1e-12);
        assert!((t.reward() - 0.8 * 0.8 * 0.9 * 0.5).abs() < 1e-12);
        let t = VlmRlTerms::compute(60.0, 4.0, 2.0, &hist, 1.0, 25.0);
        assert!(t.r_speed < 0.0 && t.f_center == 0.0 && t.f_angle == 0.0);
    }
}
