//! Renderer-neutral descriptions of what an env looks like ([`Scene`]) and what is true
//! of its state in plain English ([`Caption`]).
//!
//! Coordinates are metres in a right-handed, **Y-up** frame (the renderer's); rotations are
//! unit quaternions `[x, y, z, w]`. Envs build Scenes from their own state in plain arrays,
//! so only the renderer converts to its math types. Every [`SceneObject`] has a name that
//! stays the same for the life of the env, so a renderer spawns objects once and afterwards
//! only moves them; objects marked `dynamic: false` never move.

use serde::{Deserialize, Serialize};

/// A position and orientation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pose {
    /// Position, metres.
    pub translation: [f32; 3],
    /// Orientation as a unit quaternion `[x, y, z, w]`.
    pub rotation: [f32; 4],
}

impl Pose {
    /// The identity pose.
    pub const IDENTITY: Pose = Pose { translation: [0.0; 3], rotation: [0.0, 0.0, 0.0, 1.0] };

    /// A translation without rotation.
    pub fn from_translation(translation: [f32; 3]) -> Self {
        Pose { translation, rotation: [0.0, 0.0, 0.0, 1.0] }
    }

    /// A translation and a rotation of `angle` radians about the unit `axis`.
    pub fn from_axis_angle(translation: [f32; 3], axis: [f32; 3], angle: f32) -> Self {
        let (s, c) = (angle / 2.0).sin_cos();
        Pose { translation, rotation: [axis[0] * s, axis[1] * s, axis[2] * s, c] }
    }

    /// A translation and a heading: rotation of `yaw` radians about +Y.
    pub fn from_yaw(translation: [f32; 3], yaw: f32) -> Self {
        Self::from_axis_angle(translation, [0.0, 1.0, 0.0], yaw)
    }

    /// `v` rotated by this pose's rotation.
    pub fn rotate(&self, v: [f32; 3]) -> [f32; 3] {
        let [qx, qy, qz, qw] = self.rotation;
        // v + 2 w (q x v) + 2 q x (q x v)
        let t = [2.0 * (qy * v[2] - qz * v[1]), 2.0 * (qz * v[0] - qx * v[2]), 2.0 * (qx * v[1] - qy * v[0])];
        [
            v[0] + qw * t[0] + (qy * t[2] - qz * t[1]),
            v[1] + qw * t[1] + (qz * t[0] - qx * t[2]),
            v[2] + qw * t[2] + (qx * t[1] - qy * t[0]),
        ]
    }

    /// `p` (in this pose's frame) in the parent frame.
    pub fn transform_point(&self, p: [f32; 3]) -> [f32; 3] {
        let r = self.rotate(p);
        [r[0] + self.translation[0], r[1] + self.translation[1], r[2] + self.translation[2]]
    }

    /// The pose `local` (given in this pose's frame) in the parent frame: `self * local`.
    pub fn compose(&self, local: &Pose) -> Pose {
        let [ax, ay, az, aw] = self.rotation;
        let [bx, by, bz, bw] = local.rotation;
        Pose {
            translation: self.transform_point(local.translation),
            rotation: [
                aw * bx + ax * bw + ay * bz - az * by,
                aw * by - ax * bz + ay * bw + az * bx,
                aw * bz + ax * by - ay * bx + az * bw,
                aw * bw - ax * bx - ay * by - az * bz,
            ],
        }
    }
}

/// The geometry of an object, centred on its pose.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Shape {
    /// A box with these half extents along x, y, z.
    Cuboid {
        /// Half extents, metres.
        half_extents: [f32; 3],
    },
    /// A cylinder along the local Y axis.
    Cylinder {
        /// Radius, metres.
        radius: f32,
        /// Half the height, metres.
        half_height: f32,
    },
    /// A sphere.
    Sphere {
        /// Radius, metres.
        radius: f32,
    },
    /// A capsule along the local Y axis.
    Capsule {
        /// Radius, metres.
        radius: f32,
        /// Half the length of the straight part, metres.
        half_height: f32,
    },
    /// A horizontal rectangle (normal +Y), e.g. ground or road surface.
    Plane {
        /// Half sizes along x and z, metres.
        half_size: [f32; 2],
    },
    /// A flat strip along a polyline (normal +Y), e.g. a road or a lane marking; points
    /// are `[x, z]` in the object's frame.
    Strip {
        /// Centreline points.
        points: Points,
        /// Width, metres.
        width: f32,
        /// Whether the last point joins the first.
        closed: bool,
    },
    /// A named triangle mesh from the [`meshes`] library (e.g. a robot link's), scaled by
    /// `scale`; a name the library does not hold is drawn as a box of size `scale`.
    Mesh {
        /// Mesh name.
        name: String,
        /// Scale along x, y, z.
        scale: [f32; 3],
    },
}

/// The centreline of a [`Shape::Strip`], `[x, z]` points, shared: cloning a Scene (as envs do
/// with their static objects every step) does not copy them, and two clones compare equal
/// without a walk over the points (renderers compare each frame's static objects with the
/// ones they prepared). Reads as a slice; made from a `Vec` or an iterator of points.
#[derive(Clone, Debug)]
pub struct Points(std::sync::Arc<[[f32; 2]]>);

impl PartialEq for Points {
    /// Equal when both share the same points, or hold equal ones.
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0) || self.0[..] == other.0[..]
    }
}

impl std::ops::Deref for Points {
    type Target = [[f32; 2]];

    fn deref(&self) -> &[[f32; 2]] {
        &self.0
    }
}

impl From<Vec<[f32; 2]>> for Points {
    fn from(points: Vec<[f32; 2]>) -> Self {
        Points(points.into())
    }
}

impl FromIterator<[f32; 2]> for Points {
    fn from_iter<I: IntoIterator<Item = [f32; 2]>>(iter: I) -> Self {
        Points(iter.into_iter().collect())
    }
}

impl Serialize for Points {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Points {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<[f32; 2]>::deserialize(d).map(Points::from)
    }
}

/// How an object looks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Material {
    /// Base colour, sRGB with alpha, each in [0, 1].
    pub color: [f32; 4],
    /// A texture by name (a file stem under `assets/textures`), tinted by `color`.
    pub texture: Option<String>,
    /// How many metres one texture repeat covers.
    pub texture_scale: f32,
    /// Perceptual roughness in [0, 1].
    pub roughness: f32,
    /// Metallic in [0, 1].
    pub metallic: f32,
    /// Self-lit (ignores lights), e.g. lane markings, lamps.
    pub unlit: bool,
}

impl Material {
    /// A plain, rough, opaque colour.
    pub fn color(r: f32, g: f32, b: f32) -> Self {
        Material {
            color: [r, g, b, 1.0],
            texture: None,
            texture_scale: 1.0,
            roughness: 0.8,
            metallic: 0.0,
            unlit: false,
        }
    }

    /// A texture by name, repeated every `scale` metres, tinted white.
    pub fn textured(texture: &str, scale: f32) -> Self {
        Material { texture: Some(texture.to_string()), texture_scale: scale, ..Material::color(1.0, 1.0, 1.0) }
    }
}

/// One thing to draw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SceneObject {
    /// Stable, unique within the env (e.g. "cart", "npc_3").
    pub name: String,
    /// Geometry.
    pub shape: Shape,
    /// Pose in the world.
    pub pose: Pose,
    /// Appearance.
    pub material: Material,
    /// False for objects that never move (roads, buildings): drawn once, never updated.
    pub dynamic: bool,
}

/// A named viewpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Camera {
    /// E.g. "side", "chase", "bev", "hood".
    pub name: String,
    /// Eye position.
    pub eye: [f32; 3],
    /// The point looked at.
    pub target: [f32; 3],
    /// The up direction.
    pub up: [f32; 3],
    /// Vertical field of view, degrees (ignored when `ortho_height` is set).
    pub fov_y_deg: f32,
    /// For an orthographic camera (e.g. a bird's-eye view): the visible height, metres.
    pub ortho_height: Option<f32>,
}

/// Everything needed to draw one env at one instant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scene {
    /// The objects; order and names stay the same from one call to the next.
    pub objects: Vec<SceneObject>,
    /// The available viewpoints; the first is the default.
    pub cameras: Vec<Camera>,
    /// Direction the sunlight travels (pointing from the sun to the ground).
    pub sun_direction: [f32; 3],
    /// Sky colour at the horizon, sRGB.
    pub sky_color: [f32; 3],
}

impl Scene {
    /// The camera called `name`.
    pub fn camera(&self, name: &str) -> Option<&Camera> {
        self.cameras.iter().find(|c| c.name == name)
    }

    /// The object called `name`.
    pub fn object(&self, name: &str) -> Option<&SceneObject> {
        self.objects.iter().find(|o| o.name == name)
    }
}

/// Triangle meshes that [`Shape::Mesh`] objects name: registered once by the env that
/// loads them (e.g. a robot's link meshes), shared by every renderer in the process, never
/// copied per frame.
pub mod meshes {
    use std::collections::HashMap;
    use std::sync::{Arc, LazyLock, RwLock};

    /// Vertices in the object's frame and counter-clockwise (seen from outside) triangles:
    /// the physics crate's mesh type, so a robot's loaded meshes are registered as they are.
    pub use vlmgym_physics::TriangleMesh as MeshData;

    static LIBRARY: LazyLock<RwLock<HashMap<String, Arc<MeshData>>>> = LazyLock::new(Default::default);

    /// Adds (or replaces) the mesh called `name`.
    pub fn register(name: &str, mesh: Arc<MeshData>) {
        LIBRARY.write().unwrap_or_else(|e| e.into_inner()).insert(name.to_string(), mesh);
    }

    /// The mesh called `name`, if registered.
    pub fn get(name: &str) -> Option<Arc<MeshData>> {
        LIBRARY.read().unwrap_or_else(|e| e.into_inner()).get(name).cloned()
    }
}

/// One true fact about the current state, with several phrasings (used to train and
/// judge the reward models).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Caption {
    /// Machine-readable key, `topic.value` (e.g. "pole.upright", "lane.centre").
    pub fact: String,
    /// At least three plain-English sentences that say it.
    pub phrasings: Vec<String>,
}

/// Most phrasings a templated caption keeps (see [`Caption::from_templates`]).
pub const MAX_PHRASINGS: usize = 24;

/// Phrasings per compound fact (see [`with_compound_facts`]).
const COMPOUND_PHRASINGS: usize = 8;

impl Caption {
    /// A caption from a key and phrasings.
    pub fn new(fact: &str, phrasings: &[&str]) -> Self {
        Caption { fact: fact.to_string(), phrasings: phrasings.iter().map(|s| s.to_string()).collect() }
    }

    /// A caption whose phrasings are the sentences `templates` spell (see [`expand`]),
    /// deduplicated and taken round-robin across the templates (first sentence of each,
    /// then the second of each, ...) up to [`MAX_PHRASINGS`], so every sentence shape is
    /// represented however many synonyms one template multiplies out to.
    pub fn from_templates(fact: &str, templates: &[&str]) -> Self {
        let expanded: Vec<Vec<String>> = templates.iter().map(|t| expand(t)).collect();
        let mut phrasings: Vec<String> = Vec::new();
        let longest = expanded.iter().map(Vec::len).max().unwrap_or(0);
        'outer: for i in 0..longest {
            for e in &expanded {
                if let Some(p) = e.get(i) {
                    if !phrasings.contains(p) {
                        phrasings.push(p.clone());
                        if phrasings.len() == MAX_PHRASINGS {
                            break 'outer;
                        }
                    }
                }
            }
        }
        Caption { fact: fact.to_string(), phrasings }
    }
}

/// Every sentence a template spells: each `{a|b|c}` group is replaced by one of its
/// alternatives (an empty alternative drops the group), all combinations in order with
/// the last group varying fastest, runs of spaces collapsed. Groups do not nest.
///
/// `expand("the {car|vehicle} is {|well }centred")` gives "the car is centred", "the car
/// is well centred", "the vehicle is centred", "the vehicle is well centred".
pub fn expand(template: &str) -> Vec<String> {
    // Split into literal parts and groups.
    let mut parts: Vec<Vec<&str>> = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        parts.push(vec![&rest[..open]]);
        let close = rest[open..].find('}').map(|c| open + c).unwrap_or(rest.len());
        parts.push(rest[open + 1..close.min(rest.len())].split('|').collect());
        rest = if close < rest.len() { &rest[close + 1..] } else { "" };
    }
    parts.push(vec![rest]);
    let mut out = vec![String::new()];
    for alternatives in &parts {
        out = out.iter().flat_map(|prefix| alternatives.iter().map(move |a| format!("{prefix}{a}"))).collect();
    }
    out.iter().map(|s| s.split_whitespace().collect::<Vec<_>>().join(" ")).collect()
}

/// `captions` followed by compound facts: the first fact (the env's main one: the lane,
/// the pole, where the car is) joined with each other fact, keyed `first+other` and
/// phrased as one sentence ("the car is centred in its lane and it has not hit anything"),
/// [`COMPOUND_PHRASINGS`] ways from the parts' sentence-shaped phrasings. A compound is true exactly when both its parts are, so a
/// model trained on them learns to read goals that name two things at once.
pub fn with_compound_facts(mut captions: Vec<Caption>) -> Vec<Caption> {
    let Some(first) = captions.first().cloned() else { return captions };
    let joins = [" and ", ", and ", "; ", ", while "];
    let compounds: Vec<Caption> = captions[1..]
        .iter()
        .map(|other| {
            // Sentences, not noun phrases ("a car centred in its lane"), join into one.
            let sentences = |c: &Caption| -> Vec<String> {
                let s: Vec<String> =
                    c.phrasings.iter().filter(|p| !p.starts_with("a ") && !p.starts_with("an ")).cloned().collect();
                if s.is_empty() {
                    c.phrasings.clone()
                } else {
                    s
                }
            };
            let (a, b) = (&sentences(&first), &sentences(other));
            let mut phrasings = Vec::new();
            for i in 0..COMPOUND_PHRASINGS.min(a.len() * b.len()) {
                let (pa, pb) = (&a[i % a.len()], &b[(i * 7 + 3) % b.len()]);
                // "the car ... and the car ..." reads as "the car ... and it ...".
                let subject = pa.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
                let pb = match pb.strip_prefix(&format!("{subject} ")) {
                    Some(tail) if subject.starts_with("the ") => format!("it {tail}"),
                    _ => pb.clone(),
                };
                let p = format!("{pa}{}{pb}", joins[i % joins.len()]);
                if !phrasings.contains(&p) {
                    phrasings.push(p);
                }
            }
            Caption { fact: format!("{}+{}", first.fact, other.fact), phrasings }
        })
        .collect();
    captions.extend(compounds);
    captions
}

/// The goal and negative sentences of a held-out goal file in `assets/goals/heldout/` and
/// of its namesake in `assets/goals/dev/` (lower case, without trailing full stops), for
/// tests that check the captions never say them: the judge of the reward model must stay
/// unseen.
#[cfg(test)]
pub(crate) fn heldout_sentences(file: &str) -> Vec<String> {
    let goals = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/goals");
    let mut sentences = Vec::new();
    // The held-out test pairs, and the development pairs settings are chosen on: neither
    // may be a training caption.
    for folder in ["heldout", "dev"] {
        let path = goals.join(folder).join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let found: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("goal = ").or_else(|| l.strip_prefix("negative = ")))
            .map(|v| v.trim().trim_matches('"').trim_end_matches('.').to_lowercase())
            .collect();
        // Every pair's goal and negative were read (and a file holds a judge's worth of pairs).
        let pairs = text.lines().filter(|l| l.trim() == "[[pair]]").count();
        assert!(
            pairs >= 6 && found.len() == 2 * pairs,
            "{}: {} sentences in {pairs} pairs",
            path.display(),
            found.len()
        );
        sentences.extend(found);
    }
    sentences
}

/// Panics if a caption or compound of `captions` says a sentence of `heldout`.
#[cfg(test)]
pub(crate) fn assert_none_heldout(captions: Vec<Caption>, heldout: &[String]) {
    for c in with_compound_facts(captions) {
        for p in &c.phrasings {
            let p = p.trim_end_matches('.').to_lowercase();
            assert!(!heldout.contains(&p), "caption {} says the held-out sentence {p:?}", c.fact);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_points_are_shared_by_clones_and_compare_by_value_otherwise() {
        let a = Points::from(vec![[0.0, 0.0], [1.0, 2.0]]);
        let b = a.clone();
        assert!(std::sync::Arc::ptr_eq(&a.0, &b.0), "a clone copied the points");
        assert_eq!(a, b);
        let same: Points = [[0.0, 0.0], [1.0, 2.0]].into_iter().collect();
        assert_eq!(a, same);
        assert_ne!(a, Points::from(vec![[0.0, 0.0], [1.0, 2.5]]));
        assert_ne!(a, Points::from(vec![[0.0, 0.0]]));
        assert_eq!(a.len(), 2);
        assert_eq!(a[1], [1.0, 2.0]);
        let shape = Shape::Strip { points: a, width: 0.5, closed: true };
        let json = serde_json::to_string(&shape).unwrap();
        assert_eq!(json, r#"{"Strip":{"points":[[0.0,0.0],[1.0,2.0]],"width":0.5,"closed":true}}"#);
        assert_eq!(serde_json::from_str::<Shape>(&json).unwrap(), shape);
    }

    #[test]
    fn templates_expand_every_alternative_in_order() {
        assert_eq!(
            expand("the {car|vehicle} is {|well }centred"),
            ["the car is centred", "the car is well centred", "the vehicle is centred", "the vehicle is well centred"]
        );
        assert_eq!(expand("no groups here"), ["no groups here"]);
        // Round-robin over templates, deduplicated, capped.
        let c = Caption::from_templates("x.y", &["{a|b} one", "a one", "{c|d|e} two"]);
        assert_eq!(c.phrasings, ["a one", "c two", "b one", "d two", "e two"]);
        let many = Caption::from_templates("x.y", &["{a|b|c|d|e} {f|g|h|i|j} {k|l}"]);
        assert_eq!(many.phrasings.len(), MAX_PHRASINGS);
        assert_eq!(many.phrasings[0], "a f k");
    }

    #[test]
    fn compounds_join_the_first_fact_with_each_other_one() {
        let caps = vec![
            Caption::new("lane.centre", &["the car is centred", "the car keeps to the middle"]),
            Caption::new("collision.none", &["the car has not hit anything", "there is no crash"]),
            Caption::new("speed.slow", &["the car is slow"]),
        ];
        let all = with_compound_facts(caps.clone());
        let keys: Vec<&str> = all.iter().map(|c| c.fact.as_str()).collect();
        assert_eq!(
            keys,
            ["lane.centre", "collision.none", "speed.slow", "lane.centre+collision.none", "lane.centre+speed.slow"]
        );
        assert_eq!(all[..3], caps[..]);
        let both = &all[3].phrasings;
        assert_eq!(both.len(), 4, "{both:?}");
        assert_eq!(both[0], "the car is centred and there is no crash");
        assert!(both.contains(&"the car keeps to the middle, and it has not hit anything".to_string()), "{both:?}");
        assert_eq!(
            all[4].phrasings,
            ["the car is centred and it is slow", "the car keeps to the middle, and it is slow"]
        );
        assert!(with_compound_facts(vec![]).is_empty());
    }
}
