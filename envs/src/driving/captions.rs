//! Captions: the true facts of the ego car's state, each in at least three phrasings.
//!
//! Facts and thresholds (d = lateral offset from the lane centre, + left):
//! * lane: `lane.off_road` (centre beyond a road edge), else `lane.centre` (|d| < 0.5 m),
//!   `lane.drifting_left` (d >= 0.5), `lane.drifting_right` (d <= -0.5);
//! * speed: `speed.stopped` (< 1 km/h), `speed.slow` (< 15), `speed.cruising` (< 35),
//!   `speed.fast`;
//! * collision: `collision.car`, `collision.barrier` (hit during the last step), else
//!   `collision.none`;
//! * heading: `heading.aligned` (|error| < 10 deg), else `heading.skewed_left` /
//!   `heading.skewed_right`;
//! * car ahead: `ahead.close` (gap < 12 m), `ahead.far` (12-40 m), `ahead.none`;
//! * junction: `junction.inside` when the car is in a junction (town maps).

use super::observation::{Collision, DrivingState};
use crate::scene::Caption;

/// Lateral offset (m) beyond which the car is drifting.
pub const DRIFT: f64 = 0.5;
/// Heading error (deg) beyond which the car is skewed.
pub const SKEW_DEG: f64 = 10.0;
/// Gap (m) under which the car ahead is close.
pub const CLOSE_GAP: f64 = 12.0;

/// The facts of `state`.
pub fn captions(state: &DrivingState) -> Vec<Caption> {
    let mut out = Vec::with_capacity(6);
    let d = state.lateral_offset;
    out.push(if state.off_road() {
        Caption::new(
            "lane.off_road",
            &["the car is off the road", "the car has left the road", "the car is driving beside the road, not on it"],
        )
    } else if d.abs() < DRIFT {
        Caption::new(
            "lane.centre",
            &[
                "the car is in the centre of its lane",
                "the car drives in the middle of the right lane",
                "the car is well centred in the lane",
            ],
        )
    } else if d > 0.0 {
        Caption::new(
            "lane.drifting_left",
            &[
                "the car is drifting to the left of its lane",
                "the car has moved left of the lane centre",
                "the car is veering towards the oncoming lane",
            ],
        )
    } else {
        Caption::new(
            "lane.drifting_right",
            &[
                "the car is drifting to the right of its lane",
                "the car has moved right of the lane centre",
                "the car is veering towards the edge of the road",
            ],
        )
    });
    let kmh = state.speed_kmh().abs();
    out.push(if kmh < 1.0 {
        Caption::new("speed.stopped", &["the car is stopped", "the car is standing still", "the car is not moving"])
    } else if kmh < 15.0 {
        Caption::new(
            "speed.slow",
            &["the car is moving slowly", "the car is creeping along", "the car drives at a low speed"],
        )
    } else if kmh < 35.0 {
        Caption::new(
            "speed.cruising",
            &["the car is cruising", "the car drives at a moderate speed", "the car is travelling at town speed"],
        )
    } else {
        Caption::new(
            "speed.fast",
            &["the car is driving fast", "the car is speeding", "the car is moving at high speed"],
        )
    });
    out.push(match state.collision {
        Some(Collision::Car) => Caption::new(
            "collision.car",
            &["the car has hit another car", "the car crashed into a vehicle", "there is a collision between two cars"],
        ),
        Some(Collision::Barrier) => Caption::new(
            "collision.barrier",
            &["the car has hit the barrier", "the car crashed into the guard rail", "the car collided with a barrier"],
        ),
        None => Caption::new(
            "collision.none",
            &["the car has not hit anything", "there is no collision", "the car is driving without crashing"],
        ),
    });
    let deg = state.heading_error.to_degrees();
    out.push(if deg.abs() < SKEW_DEG {
        Caption::new(
            "heading.aligned",
            &[
                "the car is aligned with the road",
                "the car points straight along its lane",
                "the car follows the direction of the road",
            ],
        )
    } else if deg > 0.0 {
        Caption::new(
            "heading.skewed_left",
            &[
                "the car is turned to the left of the road direction",
                "the car points left, across the lane",
                "the car is angled to the left",
            ],
        )
    } else {
        Caption::new(
            "heading.skewed_right",
            &[
                "the car is turned to the right of the road direction",
                "the car points right, across the lane",
                "the car is angled to the right",
            ],
        )
    });
    out.push(match state.gap_ahead {
        Some(g) if g < CLOSE_GAP => Caption::new(
            "ahead.close",
            &[
                "a car is close ahead",
                "the car is right behind another car",
                "there is a vehicle just in front of the car",
            ],
        ),
        Some(_) => Caption::new(
            "ahead.far",
            &[
                "there is a car some way ahead",
                "a vehicle is ahead at a safe distance",
                "the car follows another car from afar",
            ],
        ),
        None => Caption::new(
            "ahead.none",
            &["the road ahead is clear", "there is no car ahead", "no vehicle is in front of the car"],
        ),
    });
    if state.junction.is_some() {
        out.push(Caption::new(
            "junction.inside",
            &[
                "the car is at an intersection",
                "the car is crossing a junction",
                "the car is in the middle of a crossroads",
            ],
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(d: f64, kmh: f64, heading_deg: f64, gap: Option<f64>) -> DrivingState {
        DrivingState {
            position: [0.0; 2],
            heading: 0.0,
            speed: kmh / 3.6,
            steer: 0.0,
            lateral_offset: d,
            heading_error: heading_deg.to_radians(),
            progress: 0.0,
            route_length: 100.0,
            route_completion: 0.0,
            dist_left_edge: DrivingState::LEFT_EDGE - d,
            dist_right_edge: d + DrivingState::RIGHT_EDGE,
            junction: None,
            gap_ahead: gap,
            collision: None,
            neighbours: vec![],
            waypoints: vec![],
        }
    }

    fn facts(s: &DrivingState) -> Vec<String> {
        captions(s).into_iter().map(|c| c.fact).collect()
    }

    #[test]
    fn thresholds() {
        let f = facts(&state(0.49, 0.9, 9.9, None));
        assert_eq!(f, ["lane.centre", "speed.stopped", "collision.none", "heading.aligned", "ahead.none"]);
        let f = facts(&state(0.5, 1.0, 10.0, Some(11.9)));
        assert_eq!(f, ["lane.drifting_left", "speed.slow", "collision.none", "heading.skewed_left", "ahead.close"]);
        let f = facts(&state(-0.5, 15.0, -10.0, Some(12.0)));
        assert_eq!(f, ["lane.drifting_right", "speed.cruising", "collision.none", "heading.skewed_right", "ahead.far"]);
        assert_eq!(facts(&state(-1.76, 35.0, 0.0, None))[..2], ["lane.off_road", "speed.fast"]);
        assert_eq!(facts(&state(5.26, 34.9, 0.0, None))[..2], ["lane.off_road", "speed.cruising"]);
        assert_eq!(facts(&state(-1.74, -20.0, 0.0, None))[..2], ["lane.drifting_right", "speed.cruising"]);
        let mut s = state(0.0, 20.0, 0.0, None);
        s.collision = Some(Collision::Barrier);
        s.junction = Some(3);
        let f = facts(&s);
        assert_eq!(f[2], "collision.barrier");
        assert_eq!(f.last().unwrap(), "junction.inside");
        s.collision = Some(Collision::Car);
        assert_eq!(facts(&s)[2], "collision.car");
        for c in captions(&s) {
            assert!(
                c.phrasings.len() >= 3
                    && c.phrasings.iter().all(|p| p.starts_with("the ")
                        || p.starts_with("a ")
                        || p.starts_with("there ")
                        || p.starts_with("no "))
            );
        }
    }
}
