//! Navigation: a round robot in rooms with objects, told to go to one of them (MiniWorld's
//! and Habitat ObjectNav's tasks), drawn from an egocentric camera for language rewards.
//!
//! * `NavGoTo-v0`: one room (kwarg `layout`: `one_room`, `two_rooms`, `four_rooms`, `maze`),
//!   the target ("the red ball" unless the `target` kwarg says another, or `random`) among 2
//!   to 4 distractors of other kinds and colours; 250 steps.
//! * `NavRooms-v0`: four rooms joined by doors, the target in another room than the robot's
//!   start; 500 steps.
//!
//! **Actions** (Habitat's, MiniWorld's step sizes): `Discrete(5)`: 0 turn left 15 degrees,
//! 1 turn right 15 degrees, 2 forward 0.15 m, 3 stop, 4 wait (a no-op, for the viewer's
//! keyboard). With `continuous=true`: `Box(-1, 1, (2,))`, forward speed (x 0.15 m a step,
//! backward when negative) and turn rate (x 15 degrees a step). The robot (a rapier ball of
//! radius 0.2 m) collides with walls and objects and slides along them.
//!
//! **Success** (kwarg `success`): `stop` (default, ObjectNav): the stop action within 1 m of
//! the target's centre; stop anywhere else ends the episode as a failure. `reach`: the
//! episode ends with success as soon as the robot is within 1 m (the continuous variant's
//! default, which has no stop action).
//!
//! **Reward** (Habitat's PointNav shaping): the decrease of the geodesic distance to the
//! goal region (free spots within 1 m of the target) - 0.01 a step + 2.5 on success.
//!
//! **Observations** (state, for fast baselines): the heading (cos, sin), the position over
//! the plan's size, the target's position in the robot's frame / 5 m, the geodesic distance
//! / 10 m, 16 lidar rays (distance to the first wall or object / 5 m, from straight ahead
//! counter-clockwise) and the target's kind and colour one-hot (10): 33 floats.
//!
//! **Info**: `success`, `spl` (success x shortest path / max(shortest, travelled), the
//! shortest path by the grid planner), `distance_to_goal` (geodesic, metres),
//! `collisions`, `path_length`, `target` ("red ball"), and the state quantities.
//!
//! **Reset options**: `agent_pose` ([x, y, heading degrees]) or `agent_view` ([distance m,
//! bearing degrees]: stand that far from the target, seeing it that far left of straight
//! ahead; the state sampler's placements).
//!
//! **Held-out goals**: of the 25 kind-colour pairs, 5 (purple ball, blue box, red key,
//! yellow cone, green chair) are held out: `target=random` draws from the other 20
//! (`goal_split=train`, default), from those 5 (`heldout`) or from all (`all`).

mod layout;
mod scene;
mod specs;

use rand::Rng;
use vlmgym_physics::{BodyDesc, BodyId, ColliderDesc, RayFilter, World, WorldConfig};

use crate::env::{state_object, ArgReader, Env, EnvRng, Info, Options, Step};
use crate::error::{EnvError, Result};
use crate::scene::{Caption, Scene};
use crate::spaces::{BoxSpace, Discrete, Space, Value};

pub use layout::{Grid, Layout, LayoutKind};
pub use specs::{specs, NavSampler, NAV_GOTO_ID, NAV_ROOMS_ID};

/// The kinds of object.
pub const KINDS: [&str; 5] = ["ball", "box", "key", "cone", "chair"];
/// The colours, with their sRGB values.
pub const COLOURS: [(&str, [f32; 3]); 5] = [
    ("red", [0.85, 0.1, 0.1]),
    ("green", [0.1, 0.65, 0.2]),
    ("blue", [0.15, 0.3, 0.9]),
    ("yellow", [0.95, 0.8, 0.1]),
    ("purple", [0.55, 0.2, 0.75]),
];

/// Whether a kind-colour pair is held out of training goals.
pub fn held_out(kind: usize, colour: usize) -> bool {
    (2 * kind + colour) % 5 == 4
}

/// Robot radius, metres.
pub const ROBOT_RADIUS: f32 = 0.2;
/// Forward step, metres.
pub const FORWARD_STEP: f32 = 0.15;
/// Turn step, degrees.
pub const TURN_STEP_DEG: f32 = 15.0;
/// Success radius around the target's centre, metres.
pub const SUCCESS_RADIUS: f32 = 1.0;
/// Lidar rays and their range.
const LIDAR_RAYS: usize = 16;
const LIDAR_RANGE: f32 = 5.0;
/// Horizontal field of view of the `ego` camera (60 degrees vertical at 4:3), degrees.
pub const EGO_HFOV_DEG: f32 = 75.0;
/// Collider tags: walls, and objects from `OBJECT_TAG` on (object i: `OBJECT_TAG + i`).
const WALL_TAG: u64 = 1;
const OBJECT_TAG: u64 = 100;
/// Planner margin around obstacles: the robot's radius and a little clearance.
const PLAN_MARGIN: f32 = ROBOT_RADIUS + 0.05;

/// The episode's success rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SuccessMode {
    /// The stop action within 1 m of the target.
    Stop,
    /// Being within 1 m of the target.
    Reach,
}

/// A navigation env's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct NavConfig {
    /// The floor plan.
    pub layout: LayoutKind,
    /// The target in another room than the start (layouts with rooms).
    pub other_room: bool,
    /// The target's (kind, colour) indices; None: drawn each episode from `goal_split`.
    pub target: Option<(usize, usize)>,
    /// Which kind-colour pairs `target: None` draws from: "train", "heldout" or "all".
    pub goal_split: &'static str,
    /// Continuous control (forward speed, turn rate) instead of the discrete actions.
    pub continuous: bool,
    /// The success rule.
    pub success: SuccessMode,
}

impl NavConfig {
    /// `NavGoTo-v0`'s settings: one room, the red ball, discrete actions, stop to succeed.
    pub fn goto() -> Self {
        NavConfig {
            layout: LayoutKind::OneRoom,
            other_room: false,
            target: Some((0, 0)),
            goal_split: "train",
            continuous: false,
            success: SuccessMode::Stop,
        }
    }

    /// `NavRooms-v0`'s settings: [`NavConfig::goto`] in four rooms, starting in another room
    /// than the target's.
    pub fn rooms() -> Self {
        NavConfig { layout: LayoutKind::FourRooms, other_room: true, ..Self::goto() }
    }

    /// The settings from kwargs (`layout`, `target`, `goal_split`, `continuous`,
    /// `success`), starting from `base`.
    pub fn from_kwargs(base: NavConfig, kwargs: &Options) -> Result<Self> {
        let mut r = ArgReader::kwargs(kwargs);
        let layout =
            LayoutKind::from_name(r.choice("layout", base.layout.name(), &LayoutKind::NAMES)?).expect("listed");
        let target = match r.opt_str("target")? {
            None => base.target,
            Some("random") => None,
            Some(s) => Some(parse_target(s).ok_or_else(|| {
                EnvError::kwarg(
                    "target",
                    format!(
                        "`{s}` is not a colour and a kind (colours: red, green, blue, yellow, purple; kinds: {}) or `random`",
                        KINDS.join(", ")
                    ),
                )
            })?),
        };
        let goal_split = r.choice("goal_split", base.goal_split, &["train", "heldout", "all"])?;
        let continuous = r.bool("continuous", base.continuous)?;
        let default_success = if continuous { "reach" } else { "stop" };
        let success = match r.choice("success", default_success, &["stop", "reach"])? {
            "stop" => SuccessMode::Stop,
            _ => SuccessMode::Reach,
        };
        r.finish()?;
        if continuous && success == SuccessMode::Stop {
            return Err(EnvError::kwarg("success", "the continuous variant has no stop action: use success=reach"));
        }
        Ok(NavConfig { layout, target, goal_split, continuous, success, ..base })
    }
}

/// "red ball" -> (kind 0, colour 0).
fn parse_target(s: &str) -> Option<(usize, usize)> {
    let mut words = s.split_whitespace();
    let (c, k) = (words.next()?, words.next()?);
    if words.next().is_some() {
        return None;
    }
    Some((KINDS.iter().position(|x| *x == k)?, COLOURS.iter().position(|x| x.0 == c)?))
}

/// One object in a world.
#[derive(Clone, Debug, PartialEq)]
pub struct NavObject {
    /// Index into [`KINDS`].
    pub kind: usize,
    /// Index into [`COLOURS`].
    pub colour: usize,
    /// Centre on the floor, metres.
    pub position: [f32; 2],
    /// Yaw, radians.
    pub yaw: f32,
}

impl NavObject {
    /// "red ball".
    pub fn name(&self) -> String {
        format!("{} {}", COLOURS[self.colour].0, KINDS[self.kind])
    }

    /// Half the side of its square footprint, metres.
    pub fn half_size(&self) -> f32 {
        match self.kind {
            0 | 1 => 0.2,
            2 => 0.15,
            3 => 0.2,
            _ => 0.25,
        }
    }
}

struct NavState {
    world: World,
    robot: BodyId,
    layout: Layout,
    objects: Vec<NavObject>,
    /// The target is `objects[0]`.
    grid: Grid,
    heading: f32,
    collisions: u32,
    path_length: f32,
    shortest: f32,
    distance: f32,
    success: bool,
    done: bool,
}

/// A navigation env (see the module doc).
pub struct Nav {
    config: NavConfig,
    rng: EnvRng,
    observation_space: Space,
    action_space: Space,
    state: Option<NavState>,
}

fn wrap(a: f32) -> f32 {
    let mut a = a % std::f32::consts::TAU;
    if a > std::f32::consts::PI {
        a -= std::f32::consts::TAU;
    } else if a < -std::f32::consts::PI {
        a += std::f32::consts::TAU;
    }
    a
}

/// Observation length.
pub const OBS_DIM: usize = 2 + 2 + 2 + 1 + LIDAR_RAYS + KINDS.len() + COLOURS.len();

impl Nav {
    /// An env with `config`.
    pub fn new(config: NavConfig) -> Self {
        let action_space = if config.continuous {
            Space::Box(BoxSpace::uniform(-1.0, 1.0, vec![2]))
        } else {
            Space::Discrete(Discrete::new(5))
        };
        Nav {
            config,
            rng: EnvRng::default(),
            observation_space: Space::Box(BoxSpace::uniform(-10.0, 10.0, vec![OBS_DIM])),
            action_space,
            state: None,
        }
    }

    /// The settings.
    pub fn config(&self) -> &NavConfig {
        &self.config
    }

    /// The episode's layout and objects (the target first), None before the first reset.
    pub fn world(&self) -> Option<(&Layout, &[NavObject])> {
        self.state.as_ref().map(|s| (&s.layout, s.objects.as_slice()))
    }

    /// The robot's position and heading (radians from +x, counter-clockwise).
    pub fn pose(&self) -> Option<([f32; 2], f32)> {
        self.state.as_ref().map(|s| (Self::position(s), s.heading))
    }

    fn position(s: &NavState) -> [f32; 2] {
        let p = s.world.body_position(s.robot).unwrap_or_default();
        [p[0], p[1]]
    }

    /// The planner's action toward the target: steer at the furthest point up to 0.6 m
    /// along the shortest path that can be headed for straight (at the target once in the
    /// goal region), turning when more than 9 degrees off, and stop within 0.9 m (0.97 m
    /// within 0.15 m of the goal region; stop mode).
    pub fn expert_action(&self) -> Option<Value> {
        let s = self.state.as_ref()?;
        let p = Self::position(s);
        let t = s.objects[0].position;
        let euclid = (t[0] - p[0]).hypot(t[1] - p[1]);
        // Stop well inside the success radius, or anywhere inside it once in the planner's
        // goal region (a target against a wall may leave no nearer spot to stand on).
        let to_region = s.grid.distance(p);
        let in_region = to_region <= 0.0;
        if self.config.success == SuccessMode::Stop
            && (euclid <= 0.9 * SUCCESS_RADIUS || (to_region <= 0.15 && euclid <= 0.97 * SUCCESS_RADIUS))
        {
            return Some(Value::Discrete(3));
        }
        let aim = if in_region { t } else { s.grid.waypoint(p, 0.6) };
        let err = wrap((aim[1] - p[1]).atan2(aim[0] - p[0]) - s.heading);
        let turn = TURN_STEP_DEG.to_radians();
        if self.config.continuous {
            let w = (err / turn).clamp(-1.0, 1.0);
            let v = if err.abs() > 0.5 { 0.0 } else { 1.0 };
            return Some(Value::Box(vec![v, w]));
        }
        Some(Value::Discrete(if err > 0.6 * turn {
            0
        } else if err < -0.6 * turn {
            1
        } else {
            2
        }))
    }

    fn draw_target(config: &NavConfig, rng: &mut impl Rng) -> (usize, usize) {
        if let Some(t) = config.target {
            return t;
        }
        let pairs: Vec<(usize, usize)> = (0..KINDS.len())
            .flat_map(|k| (0..COLOURS.len()).map(move |c| (k, c)))
            .filter(|&(k, c)| match config.goal_split {
                "train" => !held_out(k, c),
                "heldout" => held_out(k, c),
                _ => true,
            })
            .collect();
        pairs[rng.random_range(0..pairs.len())]
    }

    /// Builds an episode: layout, objects, robot; the start as the options say.
    fn build(&mut self, seed: u64, options: &Options) -> Result<NavState> {
        let mut r = ArgReader::options(options);
        let pose = r.opt_vec("agent_pose", 3)?;
        let view = r.opt_vec("agent_view", 2)?;
        r.finish()?;
        if pose.is_some() && view.is_some() {
            return Err(EnvError::InvalidArgument {
                what: "option",
                key: "agent_view".into(),
                reason: "give agent_pose or agent_view, not both".into(),
            });
        }
        let rng = self.rng.get();
        let target = Self::draw_target(&self.config, rng);
        // A placement can wall the target in with distractors (no start reaches it): then
        // the plan and objects are drawn again.
        let mut attempt = 0;
        let (layout, objects, grid, start, heading) = loop {
            attempt += 1;
            let layout = Layout::generate(self.config.layout, rng);
            // Objects: the target, then 2-4 distractors of other kind-colour pairs, each in a
            // room, 0.6 m from its walls and 1.2 m from each other.
            let mut objects: Vec<NavObject> = Vec::new();
            let n = 1 + rng.random_range(2..5usize);
            let mut tries = 0;
            while objects.len() < n && tries < 2000 {
                tries += 1;
                let (kind, colour) = if objects.is_empty() {
                    target
                } else {
                    let (k, c) = (rng.random_range(0..KINDS.len()), rng.random_range(0..COLOURS.len()));
                    if (k, c) == target {
                        continue;
                    }
                    (k, c)
                };
                let room = layout.rooms[rng.random_range(0..layout.rooms.len())];
                if room[2] - room[0] < 1.4 || room[3] - room[1] < 1.4 {
                    continue;
                }
                let p =
                    [rng.random_range(room[0] + 0.6..room[2] - 0.6), rng.random_range(room[1] + 0.6..room[3] - 0.6)];
                if objects.iter().any(|o| (o.position[0] - p[0]).hypot(o.position[1] - p[1]) < 1.2) {
                    continue;
                }
                let yaw = rng.random_range(-std::f32::consts::PI..std::f32::consts::PI);
                objects.push(NavObject { kind, colour, position: p, yaw });
            }
            let footprints: Vec<[f32; 4]> = objects
                .iter()
                .map(|o| {
                    let h = o.half_size() * std::f32::consts::SQRT_2;
                    [o.position[0] - h, o.position[1] - h, o.position[0] + h, o.position[1] + h]
                })
                .collect();
            let grid = Grid::new(&layout, &footprints, PLAN_MARGIN, objects[0].position, SUCCESS_RADIUS);
            // The start.
            let t = objects[0].position;
            let target_room = layout.room_of(t);
            let (start, heading) = if let Some(p) = pose {
                let s = [p[0] as f32, p[1] as f32];
                if !grid.is_free(s) {
                    return Err(EnvError::InvalidArgument {
                        what: "option",
                        key: "agent_pose".into(),
                        reason: format!("({:.2}, {:.2}) is inside a wall or an object, or off the floor", s[0], s[1]),
                    });
                }
                (s, (p[2] as f32).to_radians())
            } else {
                let mut found = None;
                if let Some(v) = &view {
                    let (d, bearing) = (v[0] as f32, (v[1] as f32).to_radians());
                    if !(0.0..=10.0).contains(&d) {
                        return Err(EnvError::InvalidArgument {
                            what: "option",
                            key: "agent_view".into(),
                            reason: format!("distance {d} m is not in [0, 10]"),
                        });
                    }
                    let phase = rng.random_range(0.0..std::f32::consts::TAU);
                    for k in 0..36 {
                        let a = phase + k as f32 * std::f32::consts::TAU / 36.0;
                        let s = [t[0] + d * a.cos(), t[1] + d * a.sin()];
                        if grid.is_free(s) && grid.distance(s).is_finite() && clear_line(&layout, s, t) {
                            found = Some((s, wrap((t[1] - s[1]).atan2(t[0] - s[0]) - bearing)));
                            break;
                        }
                    }
                }
                match found {
                    Some(f) => f,
                    None => {
                        let mut start = None;
                        for _ in 0..5000 {
                            let s =
                                [rng.random_range(0.3..layout.width - 0.3), rng.random_range(0.3..layout.depth - 0.3)];
                            let far = (s[0] - t[0]).hypot(s[1] - t[1]) > 2.0;
                            let room_ok = !self.config.other_room || layout.room_of(s) != target_room;
                            if grid.is_free(s) && far && room_ok && grid.distance(s).is_finite() {
                                start = Some(s);
                                break;
                            }
                        }
                        let Some(s) = start else {
                            if attempt < 20 {
                                continue;
                            }
                            return Err(EnvError::Wrapper(format!(
                                "no free start reaches the target in {attempt} placements"
                            )));
                        };
                        (s, rng.random_range(-std::f32::consts::PI..std::f32::consts::PI))
                    }
                }
            };
            break (layout, objects, grid, start, heading);
        };
        let mut world = World::new(WorldConfig { control_dt: 0.25, substeps: 5, gravity: 0.0, z_up: true }, seed);
        let fixed = world.add_body(&BodyDesc::fixed());
        for w in &layout.walls {
            let c = [(w[0] + w[2]) / 2.0, (w[1] + w[3]) / 2.0, scene::WALL_HEIGHT / 2.0];
            let h = [(w[2] - w[0]) / 2.0, (w[3] - w[1]) / 2.0, scene::WALL_HEIGHT / 2.0];
            world.add_collider(&ColliderDesc::cuboid(h).position(c).tag(WALL_TAG).friction(0.0), Some(fixed));
        }
        for (i, o) in objects.iter().enumerate() {
            let h = o.half_size();
            let q = yaw_quat(o.yaw);
            let desc = ColliderDesc::cuboid([h, h, 0.3]).position([o.position[0], o.position[1], 0.3]).rotation(q);
            world.add_collider(&desc.tag(OBJECT_TAG + i as u64).friction(0.0), Some(fixed));
        }
        let robot = world.add_body(
            &BodyDesc::dynamic().position([start[0], start[1], ROBOT_RADIUS]).gravity_scale(0.0).can_sleep(false),
        );
        world.add_collider(&ColliderDesc::ball(ROBOT_RADIUS).friction(0.0).restitution(0.0), Some(robot));
        // Lidar and the target's line of sight at the reset need the new colliders.
        world.refresh_queries();
        let distance = grid.distance(start);
        Ok(NavState {
            world,
            robot,
            layout,
            objects,
            grid,
            heading: wrap(heading),
            collisions: 0,
            path_length: 0.0,
            shortest: distance,
            distance,
            success: false,
            done: false,
        })
    }

    fn lidar(s: &NavState) -> [f32; LIDAR_RAYS] {
        let p = Self::position(s);
        let filter = RayFilter { exclude_body: Some(s.robot), ..RayFilter::default() };
        let mut out = [LIDAR_RANGE; LIDAR_RAYS];
        for (k, v) in out.iter_mut().enumerate() {
            let a = s.heading + k as f32 * std::f32::consts::TAU / LIDAR_RAYS as f32;
            if let Some(hit) =
                s.world.cast_ray([p[0], p[1], ROBOT_RADIUS], [a.cos(), a.sin(), 0.0], LIDAR_RANGE, &filter)
            {
                *v = hit.distance;
            }
        }
        out
    }

    /// The target's distance and bearing (radians, left positive) from the robot, and
    /// whether the `ego` camera sees it (within its field of view, not behind a wall or
    /// another object).
    fn target_view(s: &NavState) -> (f32, f32, bool) {
        let p = Self::position(s);
        let t = s.objects[0].position;
        let (dx, dy) = (t[0] - p[0], t[1] - p[1]);
        let d = dx.hypot(dy);
        let bearing = wrap(dy.atan2(dx) - s.heading);
        let in_fov = bearing.abs() <= (EGO_HFOV_DEG / 2.0).to_radians();
        let visible = in_fov && {
            let filter = RayFilter { exclude_body: Some(s.robot), ..RayFilter::default() };
            let dir = [dx / d.max(1e-6), dy / d.max(1e-6), 0.0];
            s.world.cast_ray([p[0], p[1], 0.3], dir, d + 1.0, &filter).is_some_and(|h| h.tag == OBJECT_TAG)
        };
        (d, bearing, visible)
    }

    fn obs(&self, s: &NavState) -> Value {
        let p = Self::position(s);
        let t = s.objects[0].position;
        let (dx, dy) = (t[0] - p[0], t[1] - p[1]);
        let (c, sn) = (s.heading.cos(), s.heading.sin());
        let mut o = vec![c, sn, p[0] / s.layout.width, p[1] / s.layout.depth];
        o.push(((c * dx + sn * dy) / 5.0).clamp(-10.0, 10.0));
        o.push(((-sn * dx + c * dy) / 5.0).clamp(-10.0, 10.0));
        o.push((s.distance / 10.0).min(10.0));
        o.extend(Self::lidar(s).iter().map(|v| v / LIDAR_RANGE));
        let mut goal = [0.0f32; KINDS.len() + COLOURS.len()];
        goal[s.objects[0].kind] = 1.0;
        goal[KINDS.len() + s.objects[0].colour] = 1.0;
        o.extend(goal);
        Value::Box(o)
    }

    fn info(&self, s: &NavState) -> Info {
        let p = Self::position(s);
        let (d, bearing, visible) = Self::target_view(s);
        // Success with no way to go (a start in the goal region) counts as a shortest path.
        let spl = match s.success {
            false => 0.0,
            true if s.shortest <= 0.0 => 1.0,
            true => s.shortest / s.shortest.max(s.path_length),
        };
        let mut info = Info::new();
        info.insert("success".into(), s.success.into());
        info.insert("spl".into(), (spl as f64).into());
        info.insert("distance_to_goal".into(), (s.distance as f64).into());
        info.insert("collisions".into(), s.collisions.into());
        info.insert("path_length".into(), (s.path_length as f64).into());
        info.insert("target".into(), s.objects[0].name().into());
        let state = [
            ("x", p[0] as f64),
            ("y", p[1] as f64),
            ("heading", s.heading as f64),
            ("distance_to_goal", s.distance as f64),
            ("target_distance", d as f64),
            ("target_bearing", bearing as f64),
            ("target_visible", if visible { 1.0 } else { 0.0 }),
            ("success", if s.success { 1.0 } else { 0.0 }),
        ];
        info.insert(crate::env::STATE_KEY.into(), state_object(&state));
        info
    }
}

/// Whether the segment from `a` to `b` crosses no wall.
fn clear_line(layout: &Layout, a: [f32; 2], b: [f32; 2]) -> bool {
    let n = ((b[0] - a[0]).hypot(b[1] - a[1]) / 0.05).ceil() as usize + 1;
    (0..=n).all(|k| {
        let f = k as f32 / n as f32;
        let p = [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1])];
        !layout.walls.iter().any(|w| p[0] >= w[0] && p[0] <= w[2] && p[1] >= w[1] && p[1] <= w[3])
    })
}

/// A rotation of `yaw` about +z, `[x, y, z, w]`.
fn yaw_quat(yaw: f32) -> [f32; 4] {
    [0.0, 0.0, (yaw / 2.0).sin(), (yaw / 2.0).cos()]
}

impl Env for Nav {
    fn observation_space(&self) -> &Space {
        &self.observation_space
    }

    fn action_space(&self) -> &Space {
        &self.action_space
    }

    fn reset(&mut self, seed: Option<u64>, options: &Options) -> Result<(Value, Info)> {
        self.rng.reseed(seed);
        let s = self.build(seed.unwrap_or(0), options)?;
        let out = (self.obs(&s), self.info(&s));
        self.state = Some(s);
        Ok(out)
    }

    fn step(&mut self, action: &Value) -> Result<Step> {
        self.action_space.check_action(action)?;
        let mut s = self.state.take().ok_or(EnvError::ResetNeeded)?;
        if s.done {
            self.state = Some(s);
            return Err(EnvError::ResetNeeded);
        }
        let turn = TURN_STEP_DEG.to_radians();
        let (forward, dtheta, stop) = match action {
            Value::Discrete(0) => (0.0, turn, false),
            Value::Discrete(1) => (0.0, -turn, false),
            Value::Discrete(2) => (FORWARD_STEP, 0.0, false),
            Value::Discrete(3) => (0.0, 0.0, true),
            Value::Box(a) => (a[0] * FORWARD_STEP, a[1] * turn, false),
            _ => (0.0, 0.0, false),
        };
        let before = Self::position(&s);
        s.heading = wrap(s.heading + dtheta);
        let dt = s.world.config().control_dt;
        let dir = [s.heading.cos(), s.heading.sin()];
        s.world.set_body_pose(s.robot, [before[0], before[1], ROBOT_RADIUS], yaw_quat(s.heading));
        s.world.set_body_velocity(s.robot, [dir[0] * forward / dt, dir[1] * forward / dt, 0.0], [0.0; 3]);
        s.world.step();
        let after = Self::position(&s);
        s.world.set_body_velocity(s.robot, [0.0; 3], [0.0; 3]);
        s.world.set_body_pose(s.robot, [after[0], after[1], ROBOT_RADIUS], yaw_quat(s.heading));
        if forward != 0.0 && !s.world.body_contacts(s.robot).is_empty() {
            s.collisions += 1;
        }
        s.path_length += (after[0] - before[0]).hypot(after[1] - before[1]);
        let previous = s.distance;
        // Squeezed into a blocked corner of the planner's grid, the robot keeps its last
        // distance (so info and the reward stay finite).
        let d = s.grid.distance(after);
        if d.is_finite() {
            s.distance = d;
        }
        let t = s.objects[0].position;
        let within = (t[0] - after[0]).hypot(t[1] - after[1]) <= SUCCESS_RADIUS;
        let (success, terminated) = match self.config.success {
            SuccessMode::Stop => (stop && within, stop),
            SuccessMode::Reach => (within, within),
        };
        s.success = success;
        s.done = terminated;
        let progress = if previous.is_finite() && s.distance.is_finite() { previous - s.distance } else { 0.0 };
        let reward = progress as f64 - 0.01 + if success { 2.5 } else { 0.0 };
        let step = Step { obs: self.obs(&s), reward, terminated, truncated: false, info: self.info(&s) };
        self.state = Some(s);
        Ok(step)
    }

    fn scene(&self) -> Option<Scene> {
        self.state.as_ref().map(scene::build)
    }

    fn captions(&self) -> Vec<Caption> {
        self.state.as_ref().map(|s| scene::captions(s, Self::target_view(s), Self::lidar(s)[0])).unwrap_or_default()
    }

    fn expert_action(&self) -> Result<Option<Value>> {
        Nav::expert_action(self).map(Some).ok_or(EnvError::ResetNeeded)
    }
}
