//! What pose the humanoid is in, measured from its link geometry: the facts VLM-RMs'
//! humanoid goals name (kneeling, sitting in the lotus position, arms raised, ...), with
//! ten or more phrasings each, for `HumanoidPose-v0`'s captions, reward and state sampler.
//!
//! Every fact is a rule on a few points of the body in the world (Z up, the floor at
//! z = 0), taken from `humanoid.xml`'s geoms: the head's centre, the pelvis, the knees
//! (the shins' origins), the feet's spheres, the hands' spheres, and the torso's up and
//! forward axes. Standing, the head's centre is about 1.5 m up and the feet's about 0.08.

use vlmgym_physics::{MjcfModel, World};

use crate::scene::{Caption, Pose};

/// Points of the humanoid that decide its pose, world frame (Z up), metres.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PoseGeometry {
    /// The head sphere's centre.
    pub head: [f32; 3],
    /// The pelvis body's origin (between the hips).
    pub pelvis: [f32; 3],
    /// The torso body's origin (the chest).
    pub chest: [f32; 3],
    /// Knees (the shins' origins): right, left.
    pub knees: [[f32; 3]; 2],
    /// Foot spheres' centres: right, left.
    pub feet: [[f32; 3]; 2],
    /// Hand spheres' centres: right, left.
    pub hands: [[f32; 3]; 2],
    /// The torso's up axis (unit).
    pub up: [f32; 3],
    /// The torso's left axis (unit; the body faces its forward, +x at rest).
    pub left: [f32; 3],
}

/// A fact's key, what makes it true, and the templates of its phrasings
/// ([`Caption::from_templates`]; the first three spell the phrasings the humanoid tower
/// was trained on).
struct FactRule {
    key: &'static str,
    holds: fn(&PoseGeometry) -> bool,
    templates: &'static [&'static str],
}

fn horizontal(a: [f32; 3], b: [f32; 3]) -> f32 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

fn distance(a: [f32; 3], b: [f32; 3]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn sub(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

impl PoseGeometry {
    /// The humanoid's pose points now; None when a link of `humanoid.xml` is missing.
    pub fn measure(model: &MjcfModel, world: &World) -> Option<Self> {
        let frame = |name: &str| -> Option<Pose> {
            let body = model.link(name).ok()?.body;
            Some(Pose { translation: world.body_position(body)?, rotation: world.body_rotation(body)? })
        };
        let at = |name: &str, local: [f32; 3]| -> Option<[f32; 3]> {
            let f = frame(name)?;
            let r = f.rotate(local);
            Some([f.translation[0] + r[0], f.translation[1] + r[1], f.translation[2] + r[2]])
        };
        let torso = frame("torso")?;
        Some(PoseGeometry {
            head: at("torso", [0.0, 0.0, 0.19])?,
            pelvis: at("pelvis", [0.0; 3])?,
            chest: torso.translation,
            knees: [at("right_shin", [0.0; 3])?, at("left_shin", [0.0; 3])?],
            feet: [at("right_foot", [0.0, 0.0, 0.1])?, at("left_foot", [0.0, 0.0, 0.1])?],
            hands: [at("right_lower_arm", [0.18, 0.18, 0.18])?, at("left_lower_arm", [0.18, -0.18, 0.18])?],
            up: torso.rotate([0.0, 0.0, 1.0]),
            left: torso.rotate([0.0, 1.0, 0.0]),
        })
    }

    fn upright(&self, min_cos: f32) -> bool {
        self.up[2] >= min_cos
    }

    fn low_foot(&self) -> f32 {
        self.feet[0][2].min(self.feet[1][2])
    }

    fn high_foot(&self) -> f32 {
        self.feet[0][2].max(self.feet[1][2])
    }

    /// The hips low (under 0.34 m: a sit, a squat or a cross-legged seat) with the back
    /// within 50 degrees of upright.
    fn low_hips(&self) -> bool {
        self.pelvis[2] < 0.34 && self.upright(0.64) && self.head[2] > 0.55
    }

    /// The knees' horizontal distance apart.
    fn knees_apart(&self) -> f32 {
        horizontal(self.knees[0], self.knees[1])
    }

    /// Both feet's largest horizontal distance from the hips.
    fn feet_reach(&self) -> f32 {
        horizontal(self.feet[0], self.pelvis).max(horizontal(self.feet[1], self.pelvis))
    }

    /// Sitting on the floor: the hips low and not squatting (the feet out in front, or
    /// the knees spread).
    fn sitting(&self) -> bool {
        self.low_hips() && (self.feet_reach() > 0.3 || self.knees_apart() > 0.45)
    }

    /// The keys of the facts that hold, in [`PoseGeometry::captions`]' order.
    pub fn facts(&self) -> Vec<&'static str> {
        RULES.iter().filter(|r| (r.holds)(self)).map(|r| r.key).collect()
    }

    /// The captions of the facts that hold.
    pub fn captions(&self) -> Vec<Caption> {
        RULES.iter().filter(|r| (r.holds)(self)).map(|r| Caption::from_templates(r.key, r.templates)).collect()
    }

    /// Named quantities for `info["state"]`.
    pub fn state(&self) -> [(&'static str, f64); 6] {
        [
            ("head_height", self.head[2] as f64),
            ("pelvis_height", self.pelvis[2] as f64),
            ("knee_height", self.knees[0][2].min(self.knees[1][2]) as f64),
            ("torso_upright", self.up[2] as f64),
            ("feet_apart", horizontal(self.feet[0], self.feet[1]) as f64),
            ("hands_height", self.hands[0][2].min(self.hands[1][2]) as f64),
        ]
    }
}

/// Every pose fact, in caption order.
const RULES: [FactRule; 10] = [
    FactRule {
        key: "pose.standing",
        // Head high, both feet on the floor, back straight.
        holds: |g| g.head[2] > 1.25 && g.high_foot() < 0.2 && g.upright(0.9),
        templates: &[
            "the {humanoid|figure} stands upright on both feet",
            "a robot figure standing {straight|tall}",
            "the body is on its feet, standing tall",
            "the {humanoid|robot figure} is {standing up|upright}",
            "both feet are on the floor and the {humanoid|body} stands straight",
            "the {humanoid|figure} is not sitting or lying down",
        ],
    },
    FactRule {
        key: "pose.one_leg",
        // Head high on one foot, the other lifted well off the floor.
        holds: |g| g.head[2] > 1.1 && g.low_foot() < 0.15 && g.high_foot() > 0.35 && g.upright(0.8),
        templates: &[
            "the {humanoid|figure} balances on one leg",
            "a robot figure standing on a single {foot|leg}",
            "one foot is raised off the ground while it stands on the other",
            "the {humanoid|robot figure} stands on {one foot|one leg} with the other lifted",
            "a single leg carries the {humanoid|body}",
            "the {humanoid|figure} is not on both feet",
        ],
    },
    FactRule {
        key: "pose.kneeling",
        // A knee on the floor, the hips above the knees (not sitting), the back upright.
        holds: |g| {
            let knee = g.knees[0][2].min(g.knees[1][2]);
            knee < 0.15 && g.pelvis[2] >= 0.34 && g.pelvis[2] > knee + 0.15 && g.upright(0.7) && g.head[2] > 0.7
        },
        templates: &[
            "the {humanoid|figure} is down on its knees",
            "a robot figure kneels on the {floor|ground}",
            "the body rests on its knees with its back upright",
            "the {humanoid|robot figure} has gone down onto its knees",
            "both knees touch the {floor|ground} and the {torso|back} is upright",
            "the {humanoid|figure} is kneeling, not standing",
        ],
    },
    FactRule {
        key: "pose.sitting",
        holds: PoseGeometry::sitting,
        templates: &[
            "the {humanoid|figure} sits on the ground",
            "a robot figure seated on the {floor|ground}",
            "the body is sitting down on the floor",
            "the {humanoid|robot figure} has sat down",
            "its hips are on the {floor|ground} and the {torso|back} is up",
            "the {humanoid|figure} is sitting, not standing",
        ],
    },
    FactRule {
        key: "pose.lotus",
        // Sitting with both feet tucked in near the hips and the knees spread wide.
        holds: |g| g.low_hips() && g.high_foot() < 0.3 && g.feet_reach() < 0.4 && g.knees_apart() > 0.45,
        templates: &[
            "the {humanoid|figure} sits cross-legged in the lotus position",
            "a robot figure meditating with its legs crossed",
            "the body sits on the floor with its legs folded in a lotus pose",
            "the {humanoid|robot figure} is in a {lotus|meditation} pose",
            "its legs are folded across each other while it sits",
            "the {humanoid|figure} sits with crossed legs, not stretched ones",
        ],
    },
    FactRule {
        key: "pose.lying",
        // The back more than 60 degrees from upright, the head and hips near the floor.
        holds: |g| !g.upright(0.5) && g.head[2] < 0.45 && g.pelvis[2] < 0.35,
        templates: &[
            "the {humanoid|figure} lies flat on the ground",
            "a robot figure lying down on the {floor|ground}",
            "the body is stretched out lying on the ground",
            "the {humanoid|robot figure} is {lying down|flat on its back}",
            "its whole body is on the {floor|ground}",
            "the {humanoid|figure} is not upright at all",
        ],
    },
    FactRule {
        key: "pose.splits",
        // Feet far apart with the hips low between them.
        holds: |g| horizontal(g.feet[0], g.feet[1]) > 1.1 && g.pelvis[2] < 0.6 && g.high_foot() < 0.25,
        templates: &[
            "the {humanoid|figure} does the splits",
            "a robot figure with its legs spread wide apart on the {floor|ground}",
            "the body is low with one leg stretched far to each side",
            "the {humanoid|robot figure} is in a full split",
            "its legs are stretched out in opposite directions",
            "the {humanoid|figure} has its feet very far apart",
        ],
    },
    FactRule {
        key: "arms.raised",
        // Both hands above the head.
        holds: |g| g.hands[0][2] > g.head[2] + 0.05 && g.hands[1][2] > g.head[2] + 0.05,
        templates: &[
            "the {humanoid|figure} raises both arms above its head",
            "a robot figure with its hands up in the air",
            "both arms are lifted high overhead",
            "the {humanoid|robot figure} holds its {arms|hands} up",
            "its hands are higher than its head",
            "the {humanoid|figure} does not keep its arms down",
        ],
    },
    FactRule {
        key: "arms.hands_on_hips",
        // Both hands by the hips, each on its own side, the back upright.
        holds: |g| {
            let side = |h: [f32; 3]| dot(sub(h, g.pelvis), g.left);
            g.upright(0.8)
                && distance(g.hands[0], g.pelvis) < 0.25
                && distance(g.hands[1], g.pelvis) < 0.25
                && side(g.hands[0]) < -0.05
                && side(g.hands[1]) > 0.05
        },
        templates: &[
            "the {humanoid|figure} has its hands on its hips",
            "a robot figure standing with hands resting on the hips",
            "both hands are placed on the waist",
            "the {humanoid|robot figure} stands with its hands at its {hips|waist}",
            "its hands rest against its {hips|sides}",
            "the {humanoid|figure} keeps its hands on its hips, not raised",
        ],
    },
    FactRule {
        key: "arms.crossed",
        // Each hand across the body's midline, both close in front of the chest.
        holds: |g| {
            let side = |h: [f32; 3]| dot(sub(h, g.chest), g.left);
            side(g.hands[0]) > 0.03
                && side(g.hands[1]) < -0.03
                && distance(g.hands[0], g.chest) < 0.35
                && distance(g.hands[1], g.chest) < 0.35
        },
        templates: &[
            "the {humanoid|figure} crosses its arms over its chest",
            "a robot figure with folded arms",
            "both arms are crossed in front of the body",
            "the {humanoid|robot figure} has its arms {folded|crossed}",
            "its forearms cross over its {chest|torso}",
            "the {humanoid|figure} keeps its arms folded, not hanging down",
        ],
    },
];

/// The keys of every pose fact.
pub fn fact_keys() -> Vec<&'static str> {
    RULES.iter().map(|r| r.key).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standing() -> PoseGeometry {
        PoseGeometry {
            head: [0.0, 0.0, 1.5],
            pelvis: [0.0, 0.0, 0.88],
            chest: [0.0, 0.0, 1.3],
            knees: [[0.0, -0.1, 0.48], [0.0, 0.1, 0.48]],
            feet: [[0.0, -0.1, 0.08], [0.0, 0.1, 0.08]],
            hands: [[0.3, -0.2, 0.9], [0.3, 0.2, 0.9]],
            up: [0.0, 0.0, 1.0],
            left: [0.0, 1.0, 0.0],
        }
    }

    #[test]
    fn rules_tell_standing_kneeling_sitting_and_lying_apart() {
        assert_eq!(standing().facts(), vec!["pose.standing"]);
        let kneel = PoseGeometry {
            head: [0.0, 0.0, 1.05],
            pelvis: [0.0, 0.0, 0.48],
            chest: [0.0, 0.0, 0.9],
            knees: [[0.0, -0.1, 0.06], [0.0, 0.1, 0.06]],
            feet: [[-0.4, -0.1, 0.08], [-0.4, 0.1, 0.08]],
            ..standing()
        };
        assert_eq!(kneel.facts(), vec!["pose.kneeling"]);
        let lotus = PoseGeometry {
            head: [0.0, 0.0, 0.72],
            pelvis: [0.0, 0.0, 0.12],
            chest: [0.0, 0.0, 0.54],
            knees: [[0.3, -0.3, 0.1], [0.3, 0.3, 0.1]],
            feet: [[0.2, 0.1, 0.12], [0.2, -0.1, 0.12]],
            hands: [[0.3, -0.2, 0.3], [0.3, 0.2, 0.3]],
            ..standing()
        };
        assert_eq!(lotus.facts(), vec!["pose.sitting", "pose.lotus"]);
        let lying = PoseGeometry {
            head: [-0.6, 0.0, 0.1],
            pelvis: [0.0, 0.0, 0.12],
            up: [-1.0, 0.0, 0.0],
            hands: [[0.0, -0.4, 0.1], [0.0, 0.4, 0.1]],
            ..standing()
        };
        assert_eq!(lying.facts(), vec!["pose.lying"]);
    }

    #[test]
    fn arm_rules_follow_the_hands() {
        let raised = PoseGeometry { hands: [[0.0, -0.3, 1.9], [0.0, 0.3, 1.9]], ..standing() };
        assert_eq!(raised.facts(), vec!["pose.standing", "arms.raised"]);
        let hips = PoseGeometry { hands: [[0.0, -0.2, 0.95], [0.0, 0.2, 0.95]], ..standing() };
        assert!(hips.facts().contains(&"arms.hands_on_hips"));
        let crossed = PoseGeometry { hands: [[0.2, 0.1, 1.2], [0.2, -0.1, 1.2]], ..standing() };
        assert!(crossed.facts().contains(&"arms.crossed"));
        assert!(!crossed.facts().contains(&"arms.hands_on_hips"));
        // Every fact has ten or more distinct phrasings, the first three the ones the
        // humanoid tower was trained on, and none says the kneeling goal's unseen wording
        // (the tower checks' "a person kneeling on the ground").
        for r in RULES {
            let c = Caption::from_templates(r.key, r.templates);
            let distinct = c.phrasings.iter().collect::<std::collections::BTreeSet<_>>().len();
            assert!(distinct >= 10 && distinct == c.phrasings.len(), "{}: {distinct}", r.key);
            assert!(c.phrasings.iter().all(|p| !p.contains("person")), "{}", r.key);
        }
        let kneel = Caption::from_templates(RULES[2].key, RULES[2].templates);
        assert_eq!(
            kneel.phrasings[..3],
            [
                "the humanoid is down on its knees",
                "a robot figure kneels on the floor",
                "the body rests on its knees with its back upright"
            ]
        );
        assert_eq!(fact_keys().len(), 10);
    }
}
