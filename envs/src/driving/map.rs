//! Road maps generated from a seed: `loop`, `town` and `country`; lane centrelines as
//! polylines, a lane graph, junctions, barriers, buildings and trees; routes through them.
//!
//! Map coordinates are 2-D `[x, y]` metres seen from above with y pointing "north"; the
//! 3-D world (Y up) puts map `[x, y]` at `[x, 0, -y]`, so a map heading `h` (radians,
//! counter-clockwise from +x) is a yaw of `h` about +Y. Traffic drives on the right.

use std::f64::consts::{PI, TAU};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{EnvError, Result};

/// Width of one lane, metres.
pub const LANE_WIDTH: f64 = 3.5;
/// Distance from a road's centreline to the inner face of its barriers, metres.
pub const BARRIER_OFFSET: f64 = LANE_WIDTH + 1.5;
/// Half the side of a town junction's square, metres.
pub const JUNCTION_HALF: f64 = 10.0;

/// Wraps an angle to (-pi, pi].
pub fn wrap_angle(a: f64) -> f64 {
    let mut a = a % TAU;
    if a > PI {
        a -= TAU;
    } else if a <= -PI {
        a += TAU;
    }
    a
}

/// A polyline with cumulative arc length.
#[derive(Clone, Debug, PartialEq)]
pub struct Polyline {
    /// The points, `[x, y]`.
    pub points: Vec<[f64; 2]>,
    /// Arc length at each point (`s[0] = 0`).
    pub s: Vec<f64>,
}

/// Where a point lies relative to a polyline.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Projection {
    /// Arc length of the closest point.
    pub s: f64,
    /// Signed distance, positive to the left of the direction of travel.
    pub lateral: f64,
    /// Heading of the polyline there, radians.
    pub heading: f64,
    /// Index of the segment the closest point is on.
    pub segment: usize,
}

impl Polyline {
    /// A polyline through `points` (at least two).
    pub fn new(points: Vec<[f64; 2]>) -> Self {
        let mut s = Vec::with_capacity(points.len());
        let mut acc = 0.0;
        for (i, p) in points.iter().enumerate() {
            if i > 0 {
                let q = points[i - 1];
                acc += ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)).sqrt();
            }
            s.push(acc);
        }
        Polyline { points, s }
    }

    /// Total length.
    pub fn length(&self) -> f64 {
        *self.s.last().unwrap_or(&0.0)
    }

    fn segment_at(&self, s: f64) -> usize {
        let n = self.points.len();
        if n < 2 {
            return 0;
        }
        match self.s.binary_search_by(|x| x.total_cmp(&s)) {
            Ok(i) => i.min(n - 2),
            Err(i) => i.saturating_sub(1).min(n - 2),
        }
    }

    /// The point and heading at arc length `s` (clamped to the ends).
    pub fn at(&self, s: f64) -> ([f64; 2], f64) {
        let i = self.segment_at(s);
        let (a, b) = (self.points[i], self.points[(i + 1).min(self.points.len() - 1)]);
        let len = (self.s[(i + 1).min(self.s.len() - 1)] - self.s[i]).max(1e-9);
        let t = ((s - self.s[i]) / len).clamp(0.0, 1.0);
        let heading = (b[1] - a[1]).atan2(b[0] - a[0]);
        ([a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t], heading)
    }

    /// Projects `p` onto the segments `lo..hi` (clamped to the polyline).
    pub fn project_range(&self, p: [f64; 2], lo: usize, hi: usize) -> Projection {
        let last = self.points.len().saturating_sub(2);
        let (lo, hi) = (lo.min(last), hi.min(last));
        let mut best = (f64::INFINITY, Projection { s: 0.0, lateral: 0.0, heading: 0.0, segment: lo });
        for i in lo..=hi {
            let (a, b) = (self.points[i], self.points[i + 1]);
            let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
            let len2 = (dx * dx + dy * dy).max(1e-12);
            let t = (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2).clamp(0.0, 1.0);
            let (cx, cy) = (a[0] + dx * t, a[1] + dy * t);
            let d2 = (p[0] - cx).powi(2) + (p[1] - cy).powi(2);
            if d2 < best.0 {
                let len = len2.sqrt();
                let cross = (dx * (p[1] - a[1]) - dy * (p[0] - a[0])) / len;
                best = (d2, Projection { s: self.s[i] + t * len, lateral: cross, heading: dy.atan2(dx), segment: i });
            }
        }
        best.1
    }

    /// Projects `p` onto the whole polyline.
    pub fn project(&self, p: [f64; 2]) -> Projection {
        self.project_range(p, 0, usize::MAX)
    }

    /// The part between arc lengths `s0` and `s1`, resampled every `step` metres.
    pub fn resample(&self, s0: f64, s1: f64, step: f64) -> Vec<[f64; 2]> {
        let n = ((s1 - s0) / step).ceil().max(1.0) as usize;
        (0..=n).map(|k| self.at(s0 + (s1 - s0) * k as f64 / n as f64).0).collect()
    }

    /// The polyline shifted `offset` metres to the left of its direction of travel.
    pub fn offset(&self, offset: f64) -> Vec<[f64; 2]> {
        let n = self.points.len();
        (0..n)
            .map(|i| {
                let a = self.points[i.saturating_sub(1)];
                let b = self.points[(i + 1).min(n - 1)];
                let h = (b[1] - a[1]).atan2(b[0] - a[0]);
                let p = self.points[i];
                [p[0] - h.sin() * offset, p[1] + h.cos() * offset]
            })
            .collect()
    }
}

/// One directed lane.
#[derive(Clone, Debug, PartialEq)]
pub struct Lane {
    /// Centreline in the direction of travel.
    pub line: Polyline,
    /// Lanes a car may continue onto at the end (empty: the lane ends).
    pub next: Vec<usize>,
    /// The junction this lane crosses (a connector), if any.
    pub junction: Option<usize>,
    /// Speed limit, m/s (lower on tight curves).
    pub speed_limit: f64,
}

/// A square junction of a town map.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Junction {
    /// Centre.
    pub center: [f64; 2],
    /// Half the side of the paved square.
    pub half_size: f64,
}

impl Junction {
    /// Whether `p` lies inside the square, grown by `margin`.
    pub fn contains(&self, p: [f64; 2], margin: f64) -> bool {
        (p[0] - self.center[0]).abs() <= self.half_size + margin
            && (p[1] - self.center[1]).abs() <= self.half_size + margin
    }
}

/// A static box: barrier segment or building.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BoxProp {
    /// Centre on the ground, `[x, y]`.
    pub center: [f64; 2],
    /// Half length (along `heading`) and half width.
    pub half: [f64; 2],
    /// Height.
    pub height: f64,
    /// Heading of the long side.
    pub heading: f64,
    /// Colour, sRGB.
    pub color: [f32; 3],
}

/// A two-lane, two-way road.
#[derive(Clone, Debug, PartialEq)]
pub struct Road {
    /// Centreline (between the two lanes).
    pub line: Polyline,
    /// Whether the road closes on itself.
    pub closed: bool,
}

/// Which generator made a map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapKind {
    /// A closed circuit with curves.
    Loop,
    /// A grid of two-way, two-lane roads with junctions.
    Town,
    /// A long winding road through open country.
    Country,
}

impl MapKind {
    /// The names accepted by the `map` kwarg.
    pub const NAMES: [&'static str; 3] = ["loop", "town", "country"];

    /// Parses a map name.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "loop" => Ok(MapKind::Loop),
            "town" => Ok(MapKind::Town),
            "country" => Ok(MapKind::Country),
            _ => Err(EnvError::kwarg("map", format!("unknown map `{name}` (accepted: loop, town, country)"))),
        }
    }

    /// The map's name.
    pub fn name(self) -> &'static str {
        match self {
            MapKind::Loop => "loop",
            MapKind::Town => "town",
            MapKind::Country => "country",
        }
    }
}

/// A generated map.
#[derive(Clone, Debug, PartialEq)]
pub struct Map {
    /// The generator.
    pub kind: MapKind,
    /// Roads (for drawing and edges).
    pub roads: Vec<Road>,
    /// Directed lanes: road lanes and junction connectors.
    pub lanes: Vec<Lane>,
    /// Junctions (town only).
    pub junctions: Vec<Junction>,
    /// Barrier segments along the roads.
    pub barriers: Vec<BoxProp>,
    /// Buildings.
    pub buildings: Vec<BoxProp>,
    /// Tree positions.
    pub trees: Vec<[f64; 2]>,
    /// Centre and half size of the ground, `[cx, cy, hx, hy]`.
    pub extent: [f64; 4],
}

/// A route: the lanes it follows and its centreline resampled every metre.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    /// The centreline to follow.
    pub line: Polyline,
    /// Arc-length spans `(s0, s1, junction)` where the route crosses a junction.
    pub junction_spans: Vec<(f64, f64, usize)>,
    /// The lanes, in order: `(lane, route arc length where it starts, lane arc length there)`.
    pub lanes: Vec<(usize, f64, f64)>,
}

impl Route {
    /// The junction the route crosses at arc length `s`, if any.
    pub fn junction_at(&self, s: f64) -> Option<usize> {
        self.junction_spans.iter().find(|(a, b, _)| s >= *a && s <= *b).map(|x| x.2)
    }

    /// The lane and the arc length along it at route arc length `s`.
    pub fn lane_at(&self, s: f64) -> (usize, f64) {
        let (lane, rs, ls) = self.lanes.iter().rev().find(|l| l.1 <= s).copied().unwrap_or(self.lanes[0]);
        (lane, ls + (s - rs))
    }
}

fn curve_speed(line: &Polyline) -> f64 {
    // Tightest radius from headings 3 m apart; lateral acceleration at most 2.5 m/s^2.
    let mut min_r = f64::INFINITY;
    let len = line.length();
    let mut s = 0.0;
    while s + 3.0 <= len {
        let dh = wrap_angle(line.at(s + 3.0).1 - line.at(s).1).abs();
        if dh > 1e-6 {
            min_r = min_r.min(3.0 / dh);
        }
        s += 1.0;
    }
    (2.5 * min_r).sqrt().clamp(4.0, 13.9)
}

impl Map {
    /// Generates a map of `kind` from `seed`.
    pub fn generate(kind: MapKind, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6d61_7073);
        match kind {
            MapKind::Loop => Self::gen_loop(&mut rng),
            MapKind::Town => Self::gen_town(&mut rng),
            MapKind::Country => Self::gen_country(&mut rng),
        }
    }

    fn add_road_lanes(&mut self, line: &Polyline, closed: bool) -> (usize, usize) {
        let fwd = Polyline::new(line.offset(-LANE_WIDTH / 2.0));
        let mut back_pts = line.offset(LANE_WIDTH / 2.0);
        back_pts.reverse();
        let back = Polyline::new(back_pts);
        let i = self.lanes.len();
        let (sf, sb) = (curve_speed(&fwd), curve_speed(&back));
        self.lanes.push(Lane {
            line: fwd,
            next: if closed { vec![i] } else { vec![] },
            junction: None,
            speed_limit: sf,
        });
        self.lanes.push(Lane {
            line: back,
            next: if closed { vec![i + 1] } else { vec![] },
            junction: None,
            speed_limit: sb,
        });
        self.roads.push(Road { line: line.clone(), closed });
        (i, i + 1)
    }

    fn add_barriers(&mut self, line: &Polyline) {
        let len = line.length();
        let n = (len / 6.0).ceil().max(1.0) as usize;
        for side in [-1.0, 1.0] {
            let pts = Polyline::new(line.offset(side * (BARRIER_OFFSET + 0.15)));
            for k in 0..n {
                let (a, _) = pts.at(pts.length() * k as f64 / n as f64);
                let (b, _) = pts.at(pts.length() * (k + 1) as f64 / n as f64);
                let l = ((b[0] - a[0]).powi(2) + (b[1] - a[1]).powi(2)).sqrt();
                self.barriers.push(BoxProp {
                    center: [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0],
                    half: [l / 2.0 + 0.05, 0.15],
                    height: 0.9,
                    heading: (b[1] - a[1]).atan2(b[0] - a[0]),
                    color: [0.75, 0.75, 0.72],
                });
            }
        }
    }

    /// Scatters trees at least `clear` metres from every road.
    fn add_trees(&mut self, rng: &mut ChaCha8Rng, count: usize, clear: f64) {
        let [cx, cy, hx, hy] = self.extent;
        let mut tries = 0;
        while self.trees.len() < count && tries < count * 20 {
            tries += 1;
            let p = [cx + rng.random_range(-hx..hx) * 0.95, cy + rng.random_range(-hy..hy) * 0.95];
            if self.roads.iter().all(|r| r.line.project(p).lateral.abs() > clear)
                && self
                    .buildings
                    .iter()
                    .all(|b| ((p[0] - b.center[0]).powi(2) + (p[1] - b.center[1]).powi(2)).sqrt() > 12.0)
            {
                self.trees.push(p);
            }
        }
    }

    fn empty(kind: MapKind) -> Self {
        Map {
            kind,
            roads: vec![],
            lanes: vec![],
            junctions: vec![],
            barriers: vec![],
            buildings: vec![],
            trees: vec![],
            extent: [0.0; 4],
        }
    }

    fn gen_loop(rng: &mut ChaCha8Rng) -> Self {
        let mut m = Map::empty(MapKind::Loop);
        let r0 = rng.random_range(55.0..70.0);
        let (a2, a3) = (rng.random_range(0.0..0.1), rng.random_range(0.0..0.06));
        let (p2, p3) = (rng.random_range(0.0..TAU), rng.random_range(0.0..TAU));
        let n = 480;
        let mut pts: Vec<[f64; 2]> = (0..=n)
            .map(|k| {
                let t = TAU * k as f64 / n as f64;
                let r = r0 * (1.0 + a2 * (2.0 * t + p2).sin() + a3 * (3.0 * t + p3).sin());
                [r * t.cos(), r * t.sin()]
            })
            .collect();
        *pts.last_mut().expect("points") = pts[0];
        let line = Polyline::new(pts);
        m.add_road_lanes(&line, true);
        m.add_barriers(&line);
        let ext = r0 * 1.6 + 40.0;
        m.extent = [0.0, 0.0, ext, ext];
        m.add_trees(rng, 60, 12.0);
        m
    }

    fn gen_country(rng: &mut ChaCha8Rng) -> Self {
        let mut m = Map::empty(MapKind::Country);
        let mut pts = vec![[0.0, 0.0]];
        let (mut h, mut p) = (0.0f64, [0.0f64, 0.0f64]);
        let mut kappa = 0.0;
        for i in 0..600 {
            if i % 40 == 0 {
                kappa = rng.random_range(-1.0 / 45.0..1.0 / 45.0);
                if (h > 0.9 && kappa > 0.0) || (h < -0.9 && kappa < 0.0) {
                    kappa = -kappa;
                }
            }
            h += kappa;
            p = [p[0] + h.cos(), p[1] + h.sin()];
            pts.push(p);
        }
        let line = Polyline::new(pts);
        m.add_road_lanes(&line, false);
        m.add_barriers(&line);
        let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        for q in &line.points {
            for k in 0..2 {
                lo[k] = lo[k].min(q[k]);
                hi[k] = hi[k].max(q[k]);
            }
        }
        m.extent =
            [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0, (hi[0] - lo[0]) / 2.0 + 60.0, (hi[1] - lo[1]) / 2.0 + 60.0];
        m.add_trees(rng, 120, 10.0);
        m
    }

    fn gen_town(rng: &mut ChaCha8Rng) -> Self {
        let mut m = Map::empty(MapKind::Town);
        let (nx, ny) = (4usize, 4usize);
        let mut xs = vec![0.0];
        let mut ys = vec![0.0];
        for _ in 1..nx {
            let last = *xs.last().expect("x");
            xs.push(last + rng.random_range(60.0..85.0));
        }
        for _ in 1..ny {
            let last = *ys.last().expect("y");
            ys.push(last + rng.random_range(60.0..85.0));
        }
        for &y in &ys {
            for &x in &xs {
                m.junctions.push(Junction { center: [x, y], half_size: JUNCTION_HALF });
            }
        }
        let jid = |i: usize, j: usize| j * nx + i;
        // Roads between neighbouring junctions; remember which lanes enter / leave each.
        let mut incoming: Vec<Vec<(usize, f64)>> = vec![vec![]; m.junctions.len()];
        let mut outgoing: Vec<Vec<(usize, f64)>> = vec![vec![]; m.junctions.len()];
        let mut pairs = vec![];
        for j in 0..ny {
            for i in 0..nx {
                if i + 1 < nx {
                    pairs.push((jid(i, j), jid(i + 1, j)));
                }
                if j + 1 < ny {
                    pairs.push((jid(i, j), jid(i, j + 1)));
                }
            }
        }
        for (a, b) in pairs {
            let (ca, cb) = (m.junctions[a].center, m.junctions[b].center);
            let h = (cb[1] - ca[1]).atan2(cb[0] - ca[0]);
            let (c, s) = (h.cos(), h.sin());
            let p0 = [ca[0] + c * JUNCTION_HALF, ca[1] + s * JUNCTION_HALF];
            let p1 = [cb[0] - c * JUNCTION_HALF, cb[1] - s * JUNCTION_HALF];
            let line = Polyline::new(vec![p0, p1]);
            let (f, bk) = m.add_road_lanes(&line, false);
            m.add_barriers(&line);
            // f runs a -> b, bk runs b -> a; headings of travel.
            outgoing[a].push((f, h));
            incoming[b].push((f, h));
            outgoing[b].push((bk, wrap_angle(h + PI)));
            incoming[a].push((bk, wrap_angle(h + PI)));
        }
        // Connectors: quadratic Bezier from each incoming lane's end to each outgoing
        // lane's start (no U-turns).
        for (jn, ins) in incoming.iter().enumerate() {
            for &(lin, hin) in ins {
                for &(lout, hout) in &outgoing[jn] {
                    let turn = wrap_angle(hout - hin);
                    if turn.abs() > 3.0 {
                        continue;
                    }
                    let a = *m.lanes[lin].line.points.last().expect("lane end");
                    let b = m.lanes[lout].line.points[0];
                    let pts = if turn.abs() < 0.1 {
                        Polyline::new(vec![a, b]).resample(0.0, (b[0] - a[0]).hypot(b[1] - a[1]), 2.0)
                    } else {
                        // Control point: where the two lane lines meet.
                        let (d1, d2) = ([hin.cos(), hin.sin()], [hout.cos(), hout.sin()]);
                        let den = d1[0] * d2[1] - d1[1] * d2[0];
                        let t = ((b[0] - a[0]) * d2[1] - (b[1] - a[1]) * d2[0]) / den;
                        let c = [a[0] + d1[0] * t, a[1] + d1[1] * t];
                        (0..=12)
                            .map(|k| {
                                let u = k as f64 / 12.0;
                                let w = [(1.0 - u) * (1.0 - u), 2.0 * u * (1.0 - u), u * u];
                                [w[0] * a[0] + w[1] * c[0] + w[2] * b[0], w[0] * a[1] + w[1] * c[1] + w[2] * b[1]]
                            })
                            .collect()
                    };
                    let line = Polyline::new(pts);
                    let idx = m.lanes.len();
                    let speed_limit = curve_speed(&line);
                    m.lanes.push(Lane { line, next: vec![lout], junction: Some(jn), speed_limit });
                    m.lanes[lin].next.push(idx);
                }
            }
        }
        // Buildings inside each block, set back from the barriers.
        let palette =
            [[0.72, 0.52, 0.42], [0.80, 0.78, 0.70], [0.55, 0.60, 0.66], [0.85, 0.70, 0.50], [0.60, 0.45, 0.40]];
        for j in 0..ny - 1 {
            for i in 0..nx - 1 {
                let (x0, x1) = (xs[i] + BARRIER_OFFSET + 4.0, xs[i + 1] - BARRIER_OFFSET - 4.0);
                let (y0, y1) = (ys[j] + BARRIER_OFFSET + 4.0, ys[j + 1] - BARRIER_OFFSET - 4.0);
                let (w, h) = ((x1 - x0) / 2.0, (y1 - y0) / 2.0);
                for (qx, qy) in [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)] {
                    if rng.random::<f64>() < 0.2 {
                        continue;
                    }
                    let cx = x0 + w * (qx + 0.5);
                    let cy = y0 + h * (qy + 0.5);
                    let color: [f32; 3] = palette[rng.random_range(0..palette.len())];
                    m.buildings.push(BoxProp {
                        center: [cx, cy],
                        half: [w / 2.0 - rng.random_range(1.0..4.0), h / 2.0 - rng.random_range(1.0..4.0)],
                        height: rng.random_range(6.0..24.0),
                        heading: 0.0,
                        color,
                    });
                }
            }
        }
        let (cx, cy) = ((xs[0] + xs[nx - 1]) / 2.0, (ys[0] + ys[ny - 1]) / 2.0);
        m.extent = [cx, cy, (xs[nx - 1] - xs[0]) / 2.0 + 50.0, (ys[ny - 1] - ys[0]) / 2.0 + 50.0];
        m.add_trees(rng, 40, 9.0);
        m
    }

    /// Indices of the lanes outside junctions (where cars are spawned).
    pub fn road_lanes(&self) -> Vec<usize> {
        (0..self.lanes.len()).filter(|&i| self.lanes[i].junction.is_none()).collect()
    }

    /// The junction containing `p`, if any.
    pub fn junction_at(&self, p: [f64; 2]) -> Option<usize> {
        self.junctions.iter().position(|j| j.contains(p, 0.0))
    }

    /// A route through the map chosen with `rng`: on `loop` one lap of the counter-clockwise
    /// lane from a random start, on `country` the whole eastbound lane, on `town` a random
    /// walk through junctions of about 300 m.
    pub fn route(&self, rng: &mut ChaCha8Rng) -> Route {
        match self.kind {
            MapKind::Loop => {
                let lane = &self.lanes[0].line;
                let len = lane.length();
                let s0 = rng.random_range(0.0..len);
                let mut pts = lane.resample(s0, len, 1.0);
                let rest = lane.resample(0.0, s0.max(1e-3), 1.0);
                pts.extend(rest.into_iter().skip(1));
                Route {
                    line: Polyline::new(pts),
                    junction_spans: vec![],
                    lanes: vec![(0, 0.0, s0), (0, len - s0, 0.0)],
                }
            }
            MapKind::Country => {
                let lane = &self.lanes[0].line;
                let pts = lane.resample(10.0, lane.length() - 10.0, 1.0);
                Route { line: Polyline::new(pts), junction_spans: vec![], lanes: vec![(0, 0.0, 10.0)] }
            }
            MapKind::Town => {
                let roads = self.road_lanes();
                let mut lane = roads[rng.random_range(0..roads.len())];
                let mut pts: Vec<[f64; 2]> = vec![];
                let mut spans = vec![];
                let mut lanes = vec![];
                loop {
                    let line = &self.lanes[lane].line;
                    let start_s = if pts.is_empty() { 2.0 } else { 0.0 };
                    let seg = line.resample(start_s, line.length(), 1.0);
                    let s_before = Polyline::new(pts.clone()).length();
                    lanes.push((lane, s_before, start_s));
                    let skip = usize::from(!pts.is_empty());
                    pts.extend(seg.into_iter().skip(skip));
                    let s_after = Polyline::new(pts.clone()).length();
                    if let Some(j) = self.lanes[lane].junction {
                        spans.push((s_before, s_after, j));
                    }
                    if s_after > 300.0 && self.lanes[lane].junction.is_none() {
                        break;
                    }
                    let next = &self.lanes[lane].next;
                    if next.is_empty() {
                        break;
                    }
                    lane = next[rng.random_range(0..next.len())];
                }
                Route { line: Polyline::new(pts), junction_spans: spans, lanes }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polyline_projection_signs() {
        let l = Polyline::new(vec![[0.0, 0.0], [10.0, 0.0]]);
        let p = l.project([4.0, 2.0]);
        assert!((p.s - 4.0).abs() < 1e-12 && (p.lateral - 2.0).abs() < 1e-12 && p.heading == 0.0);
        assert!((l.project([4.0, -1.0]).lateral + 1.0).abs() < 1e-12);
        assert_eq!(l.offset(1.0)[0], [0.0, 1.0]);
    }

    #[test]
    fn maps_are_seeded_and_connected() {
        for kind in [MapKind::Loop, MapKind::Town, MapKind::Country] {
            let a = Map::generate(kind, 3);
            assert_eq!(a, Map::generate(kind, 3));
            assert_ne!(a, Map::generate(kind, 4));
            for (i, lane) in a.lanes.iter().enumerate() {
                for &n in &lane.next {
                    let end = *lane.line.points.last().unwrap();
                    let start = a.lanes[n].line.points[0];
                    assert!((end[0] - start[0]).hypot(end[1] - start[1]) < 0.5, "{kind:?} lane {i} -> {n}");
                }
            }
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            let r = a.route(&mut rng);
            assert!(r.line.length() > 250.0, "{kind:?} route {}", r.line.length());
            if kind == MapKind::Town {
                assert!(!r.junction_spans.is_empty());
                assert!(a.lanes.iter().all(|l| l.junction.is_some() || !l.next.is_empty()));
            }
        }
    }
}
