//! Captions: the true facts of the ego car's state, each in at least ten phrasings.
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

/// The facts of `state`, each in many phrasings ([`Caption::from_templates`]: synonyms for
/// the car, active and passive, short and long sentences, negations where they read
/// naturally). Every phrasing starts with "the " or "a " or "there" or "no ".
pub fn captions(state: &DrivingState) -> Vec<Caption> {
    let mut out = Vec::with_capacity(6);
    let d = state.lateral_offset;
    out.push(if state.off_road() {
        Caption::from_templates(
            "lane.off_road",
            &[
                "the {car|vehicle|automobile} is off the road",
                "the {car|vehicle|automobile} has {left|run off|gone off} the {road|tarmac}",
                "the {car|vehicle} is driving {beside|next to} the road, not on it",
                "a {car|vehicle} {on the grass|in the verge} beside the road",
                "the road has been left behind by the {car|vehicle}",
                "the {car|vehicle} is no longer on the {road|asphalt}",
            ],
        )
    } else if d.abs() < DRIFT {
        Caption::from_templates(
            "lane.centre",
            &[
                "the {car|vehicle|automobile} is in the {centre|middle} of its lane",
                "the {car|vehicle|automobile} drives {down|along} the {centre|middle} of {its|the right} lane",
                "the {car|vehicle} is {|well |nicely }centred in {its|the} lane",
                "{a car|a vehicle|an automobile} centred in its lane",
                "the lane is {followed|kept} {closely|precisely} by the {car|vehicle}",
                "the {car|vehicle} is not drifting {out of|away from the middle of} its lane",
                "the {car|vehicle} {keeps|stays} {to|in} the middle of {its|the} lane",
            ],
        )
    } else if d > 0.0 {
        Caption::from_templates(
            "lane.drifting_left",
            &[
                "the {car|vehicle|automobile} is drifting to the left of its lane",
                "the {car|vehicle|automobile} has {moved|slid|wandered} left of the lane centre",
                "the {car|vehicle} is veering towards the {oncoming lane|centre line}",
                "a {car|vehicle} {straying|drifting} to the left",
                "the {car|vehicle} is not centred but too far left",
                "the lane centre has been left by the {car|vehicle}, to the left",
            ],
        )
    } else {
        Caption::from_templates(
            "lane.drifting_right",
            &[
                "the {car|vehicle|automobile} is drifting to the right of its lane",
                "the {car|vehicle|automobile} has {moved|slid|wandered} right of the lane centre",
                "the {car|vehicle} is veering towards the {edge|side|shoulder} of the road",
                "a {car|vehicle} {straying|drifting} to the right",
                "the {car|vehicle} is not centred but too far right",
                "the lane centre has been left by the {car|vehicle}, to the right",
            ],
        )
    });
    let kmh = state.speed_kmh().abs();
    out.push(if kmh < 1.0 {
        Caption::from_templates(
            "speed.stopped",
            &[
                "the {car|vehicle|automobile} is {stopped|stationary|standing still}",
                "the {car|vehicle|automobile} is not moving",
                "the {car|vehicle} has come to a {halt|stop}",
                "a {parked|stopped} {car|vehicle}",
                "no motion: the {car|vehicle} stands still",
            ],
        )
    } else if kmh < 15.0 {
        Caption::from_templates(
            "speed.slow",
            &[
                "the {car|vehicle|automobile} is moving {slowly|at walking pace}",
                "the {car|vehicle} is {creeping|crawling|rolling slowly} along",
                "the {car|vehicle|automobile} drives at a {low|very low} speed",
                "a {slow|slowly moving} {car|vehicle}",
                "the {car|vehicle} is not going fast",
            ],
        )
    } else if kmh < 35.0 {
        Caption::from_templates(
            "speed.cruising",
            &[
                "the {car|vehicle|automobile} is cruising",
                "the {car|vehicle|automobile} drives at a {moderate|steady|normal} speed",
                "the {car|vehicle} is travelling at {town|city} speed",
                "a {car|vehicle} cruising {along|down the road}",
                "the {car|vehicle} is neither slow nor fast",
            ],
        )
    } else {
        Caption::from_templates(
            "speed.fast",
            &[
                "the {car|vehicle|automobile} is driving {fast|quickly}",
                "the {car|vehicle|automobile} is speeding",
                "the {car|vehicle} is moving at {high|great} speed",
                "a {fast|speeding|racing} {car|vehicle}",
                "the {car|vehicle} is going much too fast",
            ],
        )
    });
    out.push(match state.collision {
        Some(Collision::Car) => Caption::from_templates(
            "collision.car",
            &[
                "the {car|vehicle|automobile} has {hit|struck|crashed into} another {car|vehicle}",
                "there is a {collision|crash} between two {cars|vehicles}",
                "the {car|vehicle} {ran|drove} into {another car|the car in front|a vehicle}",
                "a {car crash|collision of two cars|crash between vehicles}",
                "the {car|vehicle} was hit by another {car|vehicle}",
                "the {car|vehicle} is touching another car after a {crash|collision}",
            ],
        ),
        Some(Collision::Barrier) => Caption::from_templates(
            "collision.barrier",
            &[
                "the {car|vehicle|automobile} has {hit|struck|crashed into} the {barrier|guard rail|crash barrier}",
                "the {car|vehicle} collided with a {barrier|guard rail}",
                "a {car|vehicle} {crashed|smashed} against the {barrier|side rail}",
                "the {barrier|guard rail} was hit by the {car|vehicle}",
                "there is a crash at the side of the road",
            ],
        ),
        None => Caption::from_templates(
            "collision.none",
            &[
                "the {car|vehicle|automobile} has not {hit|struck|crashed into} anything",
                "there is no {collision|crash}",
                "the {car|vehicle} is driving without {crashing|touching anything}",
                "a {car|vehicle} {with no damage|that has not crashed}",
                "nothing has been hit by the {car|vehicle}",
                "the {car|vehicle} is {safe|clear of other cars}, with no {crash|contact}",
            ],
        ),
    });
    let deg = state.heading_error.to_degrees();
    out.push(if deg.abs() < SKEW_DEG {
        Caption::from_templates(
            "heading.aligned",
            &[
                "the {car|vehicle|automobile} is aligned with the road",
                "the {car|vehicle} points straight along {its|the} lane",
                "the {car|vehicle|automobile} follows the direction of the road",
                "a {car|vehicle} heading straight down the road",
                "the road direction is matched by the {car|vehicle}",
                "the {car|vehicle} is not turned across the lane",
            ],
        )
    } else if deg > 0.0 {
        Caption::from_templates(
            "heading.skewed_left",
            &[
                "the {car|vehicle|automobile} is turned to the left of the road direction",
                "the {car|vehicle} points left, across the lane",
                "the {car|vehicle|automobile} is angled to the left",
                "a {car|vehicle} {turning|pointing} left off its course",
                "the {car|vehicle} is not aligned but turned left",
            ],
        )
    } else {
        Caption::from_templates(
            "heading.skewed_right",
            &[
                "the {car|vehicle|automobile} is turned to the right of the road direction",
                "the {car|vehicle} points right, across the lane",
                "the {car|vehicle|automobile} is angled to the right",
                "a {car|vehicle} {turning|pointing} right off its course",
                "the {car|vehicle} is not aligned but turned right",
            ],
        )
    });
    out.push(match state.gap_ahead {
        Some(g) if g < CLOSE_GAP => Caption::from_templates(
            "ahead.close",
            &[
                "a {car|vehicle} is close ahead",
                "the {car|vehicle} is right behind another {car|vehicle}",
                "there is a {car|vehicle} just in front of the {car|vehicle}",
                "the {car|vehicle} is following {closely|too closely|tightly}",
                "another car is {only a few metres|very near} ahead",
            ],
        ),
        Some(_) => Caption::from_templates(
            "ahead.far",
            &[
                "there is a {car|vehicle} some way ahead",
                "a {car|vehicle} is ahead at a safe distance",
                "the {car|vehicle} follows another {car|vehicle} from afar",
                "another car is {far|a long way} ahead",
                "the {car|vehicle} keeps a {long|large} gap to the car in front",
            ],
        ),
        None => Caption::from_templates(
            "ahead.none",
            &[
                "the road ahead is {clear|empty|free}",
                "there is no {car|vehicle} ahead",
                "no {car|vehicle} is in front of the {car|vehicle}",
                "the lane in front is {clear|empty} of traffic",
                "nothing is ahead of the {car|vehicle}",
            ],
        ),
    });
    if state.junction.is_some() {
        out.push(Caption::from_templates(
            "junction.inside",
            &[
                "the {car|vehicle|automobile} is at an {intersection|junction}",
                "the {car|vehicle} is crossing {a junction|an intersection}",
                "the {car|vehicle} is in the middle of a crossroads",
                "a {car|vehicle} {inside|passing through} an intersection",
                "the junction is being crossed by the {car|vehicle}",
            ],
        ));
    }
    // Two summary facts, for goals that name the outcome rather than its parts: any crash,
    // and driving as it should (centred, aligned, nothing hit).
    if state.collision.is_some() {
        out.push(Caption::from_templates(
            "collision.any",
            &[
                "the {car|vehicle|automobile} has crashed",
                "the {car|vehicle} {was|has been} in a {crash|collision}",
                "{a crashed car|a crashed vehicle|a car after a crash}",
                "there has been a {crash|collision} involving the {car|vehicle}",
                "the {car|vehicle} did not avoid a {crash|collision}",
                "a {crash|collision} has happened to the {car|vehicle}",
            ],
        ));
    } else if d.abs() < DRIFT && deg.abs() < SKEW_DEG && !state.off_road() {
        out.push(Caption::from_templates(
            "driving.safe",
            &[
                "the {car|vehicle|automobile} is driving {safely|well|correctly}",
                "a {safe|good|careful} drive in the lane",
                "the {car|vehicle} drives {safely|carefully} in its lane",
                "a {car|vehicle} driving {as it should|properly}",
                "the driving is {safe|good|correct}",
                "the {car|vehicle} is driven {safely|well} along its lane",
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
        assert_eq!(
            f,
            ["lane.centre", "speed.stopped", "collision.none", "heading.aligned", "ahead.none", "driving.safe"]
        );
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
        assert_eq!(f[f.len() - 2..], ["junction.inside", "collision.any"]);
        s.collision = Some(Collision::Car);
        assert_eq!(facts(&s)[2], "collision.car");
        // Centred but skewed: not driving as it should.
        assert!(!facts(&state(0.0, 20.0, 12.0, None)).contains(&"driving.safe".to_string()));
        for c in captions(&s).into_iter().chain(captions(&state(0.0, 20.0, 0.0, None))) {
            assert!(c.phrasings.iter().all(|p| ["the ", "a ", "an ", "there ", "no ", "nothing ", "another "]
                .iter()
                .any(|start| p.starts_with(start))));
        }
    }

    #[test]
    fn every_fact_has_at_least_ten_distinct_phrasings() {
        let heldout = crate::scene::heldout_sentences("driving.toml");
        let mut seen = std::collections::BTreeSet::new();
        for d in [0.0, 1.0, -1.0, 6.0] {
            for kmh in [0.0, 10.0, 20.0, 50.0] {
                for deg in [0.0, 20.0, -20.0] {
                    for gap in [None, Some(5.0), Some(20.0)] {
                        for collision in [None, Some(Collision::Car), Some(Collision::Barrier)] {
                            let mut s = state(d, kmh, deg, gap);
                            s.collision = collision;
                            s.junction = Some(0);
                            crate::scene::assert_none_heldout(captions(&s), &heldout);
                            for c in captions(&s) {
                                let distinct: std::collections::BTreeSet<_> = c.phrasings.iter().collect();
                                assert!(distinct.len() >= 10 && distinct.len() == c.phrasings.len(), "{}", c.fact);
                                assert!(
                                    c.phrasings.iter().all(|p| !p.contains(['{', '}', '|']) && !p.contains("  ")),
                                    "{:?}",
                                    c.phrasings
                                );
                                seen.insert(c.fact);
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(seen.len(), 20, "{seen:?}");
    }
}
