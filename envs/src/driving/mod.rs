//! Driving-v0: a rapier ray-cast car on generated roads with NPC traffic, VLM-RL's reward
//! and metrics, captions and scenes.
//!
//! * Maps (kwarg `map`): `loop` (a closed two-lane circuit; one lap is the route),
//!   `town` (a 4 x 4 grid of two-way roads with junctions; a random ~300 m route),
//!   `country` (a long winding road; its eastbound lane is the route). `map_seed` picks
//!   the map; the reset seed picks the route start/route, the traffic and its choices.
//! * Observation: see [`DrivingState::observation`] (`6 + 2K + 5M` numbers).
//! * Actions: `Driving-v0` Box `[steer, throttle_brake]` in [-1, 1] (+steer is left,
//!   negative throttle brakes); `Driving-Discrete-v0` Discrete(15): index
//!   `3 * i + j` is steer `[-0.6, -0.2, 0, 0.2, 0.6][i]` with throttle_brake `[-1, 0, 0.6][j]`.
//! * Episode end: terminated on a collision (car or barrier), more than 3 m off the route,
//!   reaching within 5 m of the route's end (success), or stuck (below 1 km/h for 90 s);
//!   the registered limit truncates at 1,500 steps (100 s at 15 Hz).
//! * Reward (kwarg `reward`): `vlm-rl` (default) or `route-completion`, see [`RewardKind`].
//! * Info each step: `r_speed`, `f_center`, `f_angle`, `f_std` (VLM-RL's components), the
//!   named state (`speed_kmh`, `lateral_offset`, `heading_error`, `route_completion`),
//!   `collision` (null, "car", "barrier"), `termination` (null, "collision", "off_route",
//!   "success", "stuck", "physics_error"), `success`, and `metrics` (VLM-RL's episode
//!   metrics so far).
//! * `info["state"]` on reset and every step (see [`crate::env::STATE_KEY`]), all numbers:
//!   `speed_kmh` and `speed` (forward speed, km/h and m/s), `lateral_offset` (m from the
//!   lane centre, + left), `heading_error` (rad, + left), `lateral_offset_std` (population
//!   std of the lateral offset over the last 30 steps, exactly what `f_std` uses; 0 at
//!   reset), `route_completion` (best progress / route length, in [0, 1]), `progress` (m
//!   along the route), `route_length` (m), `distance_to_goal` (route length - progress, m;
//!   arrival below 5), `steer` (last steering input), `dist_left_edge`, `dist_right_edge`
//!   (m to the road edges), `gap_ahead` (m to the nearest car ahead in the lane, 40 when
//!   none is within 40 m), `in_junction` and `collision` (1 or 0).

mod captions;
mod map;
mod observation;
mod reward;
mod scene;
mod specs;
mod traffic;

use std::collections::VecDeque;

use vlmgym_physics::{DrivingWorld, Tag, VehicleConfig, VehicleControl, WorldConfig};

pub use captions::captions as state_captions;
pub use map::{wrap_angle, BoxProp, Junction, Lane, Map, MapKind, Polyline, Projection, Road, Route, LANE_WIDTH};
pub use observation::{obs_len, Collision, DrivingState, Neighbour, OBS_BOUND};
pub use reward::{
    offset_std, route_completion_reward, Metrics, RewardKind, VlmRlTerms, TARGET_SPEED_KMH, TERMINAL_PENALTY,
};
pub use scene::car_parts;
pub use specs::{drive_keys, drive_keys_discrete, specs, DrivingSampler, AMBIGUOUS_GAP, DRIVING_ID};
pub use traffic::{idm, Npc, Traffic, NPC_LENGTH};

use crate::env::{ArgReader, Env, EnvRng, Info, Options, Step};
use crate::error::{EnvError, Result};
use crate::scene::{Caption, Pose, Scene, SceneObject};
use crate::spaces::{BoxSpace, Discrete, Space, Value};

/// Seconds per step (VLM-RL's synchronous CARLA runs at 15 Hz).
pub const DT: f64 = 1.0 / 15.0;
/// Off-route distance that ends the episode, metres.
pub const OFF_ROUTE: f64 = 3.0;
/// Distance from the route's end that counts as arrival, metres.
pub const ARRIVAL: f64 = 5.0;
/// Steps below 1 km/h after which the car is stuck (90 s).
pub const STUCK_STEPS: u32 = 1350;
/// The discrete action grid's steering values.
pub const DISCRETE_STEER: [f32; 5] = [-0.6, -0.2, 0.0, 0.2, 0.6];
/// The discrete action grid's throttle/brake values.
pub const DISCRETE_THROTTLE: [f32; 3] = [-1.0, 0.0, 0.6];
const NPC_HALF: [f32; 3] = [2.25, 0.7, 0.9];
const WAYPOINT_SPACING: f64 = 3.0;
const NEIGHBOUR_RANGE: f64 = 50.0;

/// Constructor settings of [`Driving`].
#[derive(Clone, Debug, PartialEq)]
pub struct DrivingConfig {
    /// Which map.
    pub map: MapKind,
    /// The map's seed.
    pub map_seed: u64,
    /// Number of NPC cars.
    pub npcs: usize,
    /// Which reward `step` returns.
    pub reward: RewardKind,
    /// Waypoints in the observation (K).
    pub waypoints: usize,
    /// Vehicles in the observation (M).
    pub vehicles: usize,
    /// VLM-RL's target speed, km/h.
    pub target_speed_kmh: f64,
    /// Discrete (15 actions) instead of continuous actions.
    pub discrete: bool,
}

impl Default for DrivingConfig {
    fn default() -> Self {
        DrivingConfig {
            map: MapKind::Loop,
            map_seed: 0,
            npcs: 8,
            reward: RewardKind::VlmRl,
            waypoints: 10,
            vehicles: 5,
            target_speed_kmh: TARGET_SPEED_KMH,
            discrete: false,
        }
    }
}

impl DrivingConfig {
    /// From kwargs: `map` ("loop" | "town" | "country", default "loop"), `map_seed` (0),
    /// `npcs` (20 on town, 8 elsewhere), `reward` ("vlm-rl" | "route-completion"),
    /// `waypoints` K (10), `vehicles` M (5), `target_speed_kmh` (25).
    pub fn from_kwargs(kwargs: &Options, discrete: bool) -> Result<Self> {
        let mut r = ArgReader::kwargs(kwargs);
        let map = MapKind::parse(r.choice("map", "loop", &MapKind::NAMES)?)?;
        let map_seed = r.usize("map_seed", 0)? as u64;
        let npcs = r.usize("npcs", if map == MapKind::Town { 20 } else { 8 })?;
        let reward = RewardKind::from_name(r.choice("reward", "vlm-rl", &RewardKind::NAMES)?).expect("checked");
        let waypoints = r.usize("waypoints", 10)?;
        let vehicles = r.usize("vehicles", 5)?;
        let target = r.f64("target_speed_kmh", TARGET_SPEED_KMH)?;
        r.finish()?;
        if npcs > 100 {
            return Err(EnvError::kwarg("npcs", format!("at most 100 NPC cars, got {npcs}")));
        }
        if !(1..=100).contains(&waypoints) {
            return Err(EnvError::kwarg("waypoints", format!("expected 1 to 100 waypoints, got {waypoints}")));
        }
        if vehicles > 100 {
            return Err(EnvError::kwarg("vehicles", format!("expected at most 100 vehicles, got {vehicles}")));
        }
        if !(1.0..=120.0).contains(&target) {
            return Err(EnvError::kwarg("target_speed_kmh", format!("expected 1 to 120 km/h, got {target}")));
        }
        Ok(DrivingConfig { map, map_seed, npcs, reward, waypoints, vehicles, target_speed_kmh: target, discrete })
    }
}

struct Episode {
    world: DrivingWorld,
    route: Route,
    traffic: Traffic,
    segment: usize,
    best_progress: f64,
    d_history: VecDeque<f64>,
    slow_steps: u32,
    metrics: Metrics,
    state: DrivingState,
    steer: f64,
    over: bool,
}

/// The Driving environment (`Driving-v0`, `Driving-Discrete-v0`).
pub struct Driving {
    config: DrivingConfig,
    map: Map,
    static_scene: Vec<SceneObject>,
    rng: EnvRng,
    observation_space: Space,
    action_space: Space,
    episode: Option<Episode>,
}

impl std::fmt::Debug for Driving {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driving").field("config", &self.config).finish_non_exhaustive()
    }
}

fn heading_of(q: [f32; 4]) -> f64 {
    let [x, y, z, w] = q.map(f64::from);
    let fx = 1.0 - 2.0 * (y * y + z * z);
    let fz = 2.0 * (x * z - w * y);
    (-fz).atan2(fx)
}

impl Driving {
    /// A Driving env with these settings (the map is generated here).
    pub fn new(config: DrivingConfig) -> Self {
        let map = Map::generate(config.map, config.map_seed);
        let static_scene = scene::static_objects(&map);
        let n = obs_len(config.waypoints, config.vehicles);
        let observation_space = Space::Box(BoxSpace::uniform(-OBS_BOUND, OBS_BOUND, vec![n]));
        let action_space = if config.discrete {
            Space::Discrete(Discrete::new((DISCRETE_STEER.len() * DISCRETE_THROTTLE.len()) as i64))
        } else {
            Space::Box(BoxSpace::uniform(-1.0, 1.0, vec![2]))
        };
        Driving { config, map, static_scene, rng: EnvRng::default(), observation_space, action_space, episode: None }
    }

    /// Builds from kwargs (see [`DrivingConfig::from_kwargs`]).
    pub fn from_kwargs(kwargs: &Options, discrete: bool) -> Result<Self> {
        Ok(Driving::new(DrivingConfig::from_kwargs(kwargs, discrete)?))
    }

    /// The settings.
    pub fn config(&self) -> &DrivingConfig {
        &self.config
    }

    /// The map.
    pub fn map(&self) -> &Map {
        &self.map
    }

    /// The current route, once reset.
    pub fn route(&self) -> Option<&Route> {
        self.episode.as_ref().map(|e| &e.route)
    }

    /// The named state quantities (speed, lane offset, heading error, ...), once reset.
    pub fn state(&self) -> Option<&DrivingState> {
        self.episode.as_ref().map(|e| &e.state)
    }

    /// The NPC cars, once reset.
    pub fn npcs(&self) -> &[Npc] {
        self.episode.as_ref().map(|e| e.traffic.npcs.as_slice()).unwrap_or(&[])
    }

    /// The episode's metrics so far, once reset.
    pub fn metrics(&self) -> Option<&Metrics> {
        self.episode.as_ref().map(|e| &e.metrics)
    }

    fn action(&self, action: &Value) -> Result<VehicleControl> {
        self.action_space.check_action(action)?;
        let bad =
            |reason: &str| EnvError::InvalidAction { space: self.action_space.to_string(), reason: reason.into() };
        if self.config.discrete {
            let a = action.as_discrete().ok_or_else(|| bad("not discrete"))? as usize;
            let n = DISCRETE_THROTTLE.len();
            Ok(VehicleControl { steer: DISCRETE_STEER[a / n], throttle_brake: DISCRETE_THROTTLE[a % n] })
        } else {
            let v = action.as_box().ok_or_else(|| bad("not a Box value"))?;
            Ok(VehicleControl { steer: v[0], throttle_brake: v[1] })
        }
    }

    fn measure(&self, ep: &mut Episode, collision: Option<Collision>) {
        let s = ep.world.ego_state().expect("ego exists");
        let pos = [f64::from(s.position[0]), -f64::from(s.position[2])];
        let heading = heading_of(s.rotation);
        let line = &ep.route.line;
        let pr = line.project_range(pos, ep.segment.saturating_sub(5), ep.segment + 30);
        ep.segment = pr.segment;
        let (sin, cos) = heading.sin_cos();
        let to_ego = |p: [f64; 2]| {
            let (dx, dy) = (p[0] - pos[0], p[1] - pos[1]);
            [dx * cos + dy * sin, -dx * sin + dy * cos]
        };
        let waypoints =
            (1..=self.config.waypoints).map(|k| to_ego(line.at(pr.s + WAYPOINT_SPACING * k as f64).0)).collect();
        let ego_vel = [f64::from(s.linvel[0]), -f64::from(s.linvel[2])];
        let mut neighbours: Vec<(f64, usize, Neighbour)> = Vec::new();
        let mut gap_ahead: Option<f64> = None;
        for (i, npc) in ep.traffic.npcs.iter().enumerate() {
            let (p, h) = npc.pose(&self.map);
            let dist = (p[0] - pos[0]).hypot(p[1] - pos[1]);
            if dist > NEIGHBOUR_RANGE {
                continue;
            }
            let rv = [npc.v * h.cos() - ego_vel[0], npc.v * h.sin() - ego_vel[1]];
            let rel_vel = [rv[0] * cos + rv[1] * sin, -rv[0] * sin + rv[1] * cos];
            neighbours.push((dist, i, Neighbour { rel_pos: to_ego(p), rel_vel }));
            let q = line.project_range(p, pr.segment, pr.segment + 45);
            let gap = q.s - pr.s - NPC_LENGTH;
            let same_dir = wrap_angle(h - q.heading).abs() < std::f64::consts::FRAC_PI_2;
            if (q.lateral - pr.lateral).abs() < LANE_WIDTH / 2.0 && q.s > pr.s && gap < 40.0 && same_dir {
                gap_ahead = Some(gap_ahead.map_or(gap.max(0.0), |g: f64| g.min(gap.max(0.0))));
            }
        }
        neighbours.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let route_length = line.length();
        ep.best_progress = ep.best_progress.max(pr.s);
        let junction = ep.route.junction_at(pr.s).filter(|&j| self.map.junctions[j].contains(pos, 0.0));
        ep.state = DrivingState {
            position: pos,
            heading,
            speed: f64::from(s.forward_speed),
            steer: ep.steer,
            lateral_offset: pr.lateral,
            heading_error: wrap_angle(heading - pr.heading),
            progress: pr.s,
            route_length,
            route_completion: (ep.best_progress / route_length).clamp(0.0, 1.0),
            dist_left_edge: DrivingState::LEFT_EDGE - pr.lateral,
            dist_right_edge: pr.lateral + DrivingState::RIGHT_EDGE,
            junction,
            gap_ahead,
            collision,
            neighbours: neighbours.into_iter().map(|n| n.2).collect(),
            waypoints,
        };
    }

    fn obs(&self) -> Value {
        let st = &self.episode.as_ref().expect("reset").state;
        Value::Box(st.observation(self.config.waypoints, self.config.vehicles))
    }

    fn sync_npcs(map: &Map, world: &mut DrivingWorld, traffic: &Traffic) {
        for (i, n) in traffic.npcs.iter().enumerate() {
            let (p, h) = n.pose(map);
            world.set_npc_target(i, [p[0] as f32, -p[1] as f32], h as f32);
        }
    }
}

/// No car ahead within this many metres: `gap_ahead` in `info["state"]` reads this.
const NO_GAP_AHEAD: f64 = 40.0;

/// The named state quantities of `info["state"]` (see the module doc).
fn state_quantities(st: &DrivingState, d_history: &VecDeque<f64>) -> serde_json::Value {
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    crate::env::state_object(&[
        ("speed_kmh", st.speed_kmh()),
        ("speed", st.speed),
        ("lateral_offset", st.lateral_offset),
        ("heading_error", st.heading_error),
        ("lateral_offset_std", offset_std(d_history)),
        ("route_completion", st.route_completion),
        ("progress", st.progress),
        ("route_length", st.route_length),
        ("distance_to_goal", st.route_length - st.progress),
        ("steer", st.steer),
        ("dist_left_edge", st.dist_left_edge),
        ("dist_right_edge", st.dist_right_edge),
        ("gap_ahead", st.gap_ahead.unwrap_or(NO_GAP_AHEAD).min(NO_GAP_AHEAD)),
        ("in_junction", flag(st.junction.is_some())),
        ("collision", flag(st.collision.is_some())),
    ])
}

/// Reset options of [`Driving`]: where to put the ego car relative to its route.
struct Placement {
    progress: f64,
    lateral: f64,
    heading: f64,
    speed: f64,
    npc_ahead: Option<f64>,
    npc_ahead_speed: f64,
}

fn parse_placement(options: &Options, npcs: usize) -> Result<Placement> {
    let mut r = ArgReader::options(options);
    let p = Placement {
        progress: r.f64("route_progress", 0.0)?,
        lateral: r.f64("lateral_offset", 0.0)?,
        heading: r.f64("heading_error", 0.0)?,
        speed: r.f64("speed", 0.0)?,
        npc_ahead: r.opt_f64("npc_ahead")?,
        npc_ahead_speed: r.f64("npc_ahead_speed", 0.0)?,
    };
    r.finish()?;
    if p.progress < 0.0 {
        return Err(EnvError::option("route_progress", format!("must be >= 0, got {}", p.progress)));
    }
    if p.lateral.abs() > OFF_ROUTE {
        return Err(EnvError::option("lateral_offset", format!("must be within +-{OFF_ROUTE} m, got {}", p.lateral)));
    }
    if p.heading.abs() > std::f64::consts::PI {
        return Err(EnvError::option("heading_error", format!("must be within +-pi rad, got {}", p.heading)));
    }
    if !(0.0..=40.0).contains(&p.speed) {
        return Err(EnvError::option("speed", format!("must be 0 to 40 m/s, got {}", p.speed)));
    }
    if !(0.0..=40.0).contains(&p.npc_ahead_speed) {
        return Err(EnvError::option("npc_ahead_speed", format!("must be 0 to 40 m/s, got {}", p.npc_ahead_speed)));
    }
    if let Some(g) = p.npc_ahead {
        if npcs == 0 {
            return Err(EnvError::option("npc_ahead", "needs at least one NPC (kwarg npcs >= 1)"));
        }
        if !(5.0..=100.0).contains(&g) {
            return Err(EnvError::option("npc_ahead", format!("must be 5 to 100 m, got {g}")));
        }
    }
    Ok(p)
}

impl Env for Driving {
    fn observation_space(&self) -> &Space {
        &self.observation_space
    }

    fn action_space(&self) -> &Space {
        &self.action_space
    }

    /// Options: `route_progress` (m along the route to start at, default 0),
    /// `lateral_offset` (m, + left, within 3), `heading_error` (rad, + left), `speed` (m/s),
    /// `npc_ahead` (put NPC 0 this many metres ahead in the ego's lane, 5 to 100) and
    /// `npc_ahead_speed` (its speed, m/s).
    fn reset(&mut self, seed: Option<u64>, options: &Options) -> Result<(Value, Info)> {
        let place = parse_placement(options, self.config.npcs)?;
        let rng = self.rng.reseed(seed);
        let route = self.map.route(rng);
        let len = route.line.length();
        if place.progress > len - ARRIVAL - 1.0 {
            return Err(EnvError::option(
                "route_progress",
                format!("must be less than {:.1} m on this route, got {}", len - ARRIVAL - 1.0, place.progress),
            ));
        }
        let (p, h) = route.line.at(place.progress);
        let ego_xy = [p[0] - h.sin() * place.lateral, p[1] + h.cos() * place.lateral];
        let yaw = h + place.heading;
        let mut traffic = Traffic::spawn(&self.map, self.config.npcs, ego_xy, rng);
        if let Some(gap) = place.npc_ahead {
            let (lane, s) = route.lane_at(place.progress + gap + NPC_LENGTH);
            let n = &mut traffic.npcs[0];
            n.lane = lane;
            n.s = s.min(self.map.lanes[lane].line.length());
            n.v = place.npc_ahead_speed;
            n.v0 = place.npc_ahead_speed.max(0.01);
            n.next = self.map.lanes[lane].next.first().copied();
        }
        let mut world =
            DrivingWorld::new(WorldConfig { control_dt: DT as f32, ..WorldConfig::default() }, seed.unwrap_or(0));
        let [cx, cy, hx, hy] = self.map.extent;
        world.add_ground([cx as f32, -cy as f32], hx as f32 + 50.0, hy as f32 + 50.0);
        for b in self.map.barriers.iter().chain(&self.map.buildings) {
            let tag = if b.height < 2.0 { Tag::Barrier } else { Tag::Prop };
            world.add_static_box(
                [b.center[0] as f32, (b.height / 2.0) as f32, -b.center[1] as f32],
                [b.half[0] as f32, (b.height / 2.0) as f32, b.half[1] as f32],
                b.heading as f32,
                tag,
            );
        }
        world.add_ego(VehicleConfig::default(), [ego_xy[0] as f32, -ego_xy[1] as f32], yaw as f32, place.speed as f32);
        for n in &traffic.npcs {
            let (p, h) = n.pose(&self.map);
            world.add_npc(NPC_HALF, [p[0] as f32, -p[1] as f32], h as f32);
        }
        let mut ep = Episode {
            world,
            route,
            traffic,
            segment: place.progress as usize,
            best_progress: place.progress,
            d_history: VecDeque::with_capacity(reward::STD_WINDOW),
            slow_steps: 0,
            metrics: Metrics::default(),
            state: DrivingState {
                position: ego_xy,
                heading: yaw,
                speed: 0.0,
                steer: 0.0,
                lateral_offset: 0.0,
                heading_error: 0.0,
                progress: 0.0,
                route_length: len,
                route_completion: 0.0,
                dist_left_edge: 0.0,
                dist_right_edge: 0.0,
                junction: None,
                gap_ahead: None,
                collision: None,
                neighbours: vec![],
                waypoints: vec![],
            },
            steer: 0.0,
            over: false,
        };
        self.measure(&mut ep, None);
        ep.metrics.route_completion = ep.state.route_completion;
        self.episode = Some(ep);
        let mut info = Info::new();
        info.insert("route_length".into(), len.into());
        info.insert("map".into(), self.config.map.name().into());
        let ep = self.episode.as_ref().expect("set above");
        info.insert(crate::env::STATE_KEY.into(), state_quantities(&ep.state, &ep.d_history));
        Ok((self.obs(), info))
    }

    fn step(&mut self, action: &Value) -> Result<Step> {
        let control = self.action(action)?;
        let mut ep = self.episode.take().ok_or(EnvError::ResetNeeded)?;
        if ep.over {
            tracing::warn!("Driving: step() called after the episode ended; call reset() first");
        }
        let prev = ep.state.clone();
        ep.steer = f64::from(control.steer);
        ep.world.set_ego_control(control);
        ep.traffic.step(&self.map, DT, Some((prev.position, prev.speed.max(0.0))), self.rng.get());
        Self::sync_npcs(&self.map, &mut ep.world, &ep.traffic);
        ep.world.step();
        let collision = if ep.world.ego_contacts().iter().any(|t| matches!(t, Tag::Npc(_))) {
            Some(Collision::Car)
        } else if ep.world.ego_contacts().iter().any(|t| matches!(t, Tag::Barrier | Tag::Prop)) {
            Some(Collision::Barrier)
        } else {
            None
        };
        self.measure(&mut ep, collision);
        let st = &ep.state;
        // Metrics.
        let m = &mut ep.metrics;
        m.steps += 1;
        m.distance += (st.position[0] - prev.position[0]).hypot(st.position[1] - prev.position[1]);
        m.speed_sum += st.speed_kmh().abs();
        m.deviation_sum += st.lateral_offset.abs();
        if collision.is_some() && prev.collision.is_none() {
            m.collisions += 1;
        }
        let gain = st.route_completion - m.route_completion;
        m.route_completion = st.route_completion;
        // Termination.
        ep.slow_steps = if st.speed_kmh().abs() < 1.0 { ep.slow_steps + 1 } else { 0 };
        let finite = st.position.iter().chain([&st.speed, &st.heading]).all(|x| x.is_finite());
        let termination = if !finite {
            Some("physics_error")
        } else if collision.is_some() {
            Some("collision")
        } else if st.lateral_offset.abs() > OFF_ROUTE {
            Some("off_route")
        } else if st.route_length - st.progress < ARRIVAL {
            Some("success")
        } else if ep.slow_steps >= STUCK_STEPS {
            Some("stuck")
        } else {
            None
        };
        let success = termination == Some("success");
        m.success |= success;
        // Reward.
        if ep.d_history.len() == reward::STD_WINDOW {
            ep.d_history.pop_front();
        }
        ep.d_history.push_back(st.lateral_offset);
        let terms = VlmRlTerms::compute(
            st.speed_kmh(),
            st.lateral_offset,
            st.heading_error,
            &ep.d_history,
            1.0,
            self.config.target_speed_kmh,
        );
        let failed = termination.is_some() && !success;
        let reward = match self.config.reward {
            RewardKind::VlmRl if failed => TERMINAL_PENALTY,
            RewardKind::VlmRl => terms.reward(),
            RewardKind::RouteCompletion => route_completion_reward(gain, st),
        };
        let reward = if reward.is_finite() { reward } else { 0.0 };
        let mut info = Info::new();
        for (k, v) in [
            ("r_speed", terms.r_speed),
            ("f_center", terms.f_center),
            ("f_angle", terms.f_angle),
            ("f_std", terms.f_std),
        ] {
            info.insert(k.into(), v.into());
        }
        info.insert("speed_kmh".into(), st.speed_kmh().into());
        info.insert("lateral_offset".into(), st.lateral_offset.into());
        info.insert("heading_error".into(), st.heading_error.into());
        info.insert("route_completion".into(), st.route_completion.into());
        info.insert("collision".into(), collision.map(Collision::name).into());
        info.insert("termination".into(), termination.into());
        info.insert("success".into(), success.into());
        info.insert("metrics".into(), ep.metrics.to_json());
        info.insert(crate::env::STATE_KEY.into(), state_quantities(&ep.state, &ep.d_history));
        ep.over = termination.is_some();
        self.episode = Some(ep);
        Ok(Step { obs: self.obs(), reward, terminated: termination.is_some(), truncated: false, info })
    }

    fn scene(&self) -> Option<Scene> {
        let ep = self.episode.as_ref()?;
        let mut objects = self.static_scene.clone();
        let s = ep.world.ego_state()?;
        let ego_pose = Pose { translation: s.position, rotation: s.rotation };
        objects.extend(scene::car_parts("ego", VehicleConfig::default().half_extents, ego_pose, scene::EGO_COLOR));
        for (i, n) in ep.traffic.npcs.iter().enumerate() {
            let (p, h) = n.pose(&self.map);
            let pose = Pose::from_yaw([p[0] as f32, NPC_HALF[1] + 0.15, -p[1] as f32], h as f32);
            objects.extend(scene::car_parts(
                &format!("npc_{i}"),
                NPC_HALF,
                pose,
                scene::NPC_COLORS[n.color % scene::NPC_COLORS.len()],
            ));
        }
        Some(Scene {
            objects,
            cameras: scene::cameras(s.position, ep.state.heading as f32),
            sun_direction: [-0.4, -1.0, -0.3],
            sky_color: [0.62, 0.76, 0.92],
        })
    }

    fn captions(&self) -> Vec<Caption> {
        self.episode.as_ref().map(|e| captions::captions(&e.state)).unwrap_or_default()
    }
}
