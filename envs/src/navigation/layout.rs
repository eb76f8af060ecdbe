//! Floor plans drawn from a seed (one room, two rooms, four rooms joined by doors, a maze of
//! corridors), their objects, and a grid planner over them: the geodesic distance from every
//! free spot to the goal region, for shortest paths (SPL), progress rewards and the expert.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Which floor plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutKind {
    /// One rectangular room, 5-8 m a side.
    OneRoom,
    /// Two rooms side by side, joined by a 1 m door.
    TwoRooms,
    /// Four rooms in a 2 x 2 square, each wall between two of them with a door.
    FourRooms,
    /// A maze of 2.5 m cells (3 x 3 or 4 x 4), carved by a depth-first walk.
    Maze,
}

impl LayoutKind {
    /// The kwarg spelling.
    pub fn name(self) -> &'static str {
        match self {
            LayoutKind::OneRoom => "one_room",
            LayoutKind::TwoRooms => "two_rooms",
            LayoutKind::FourRooms => "four_rooms",
            LayoutKind::Maze => "maze",
        }
    }

    /// Every kind's kwarg spelling.
    pub const NAMES: [&'static str; 4] = ["one_room", "two_rooms", "four_rooms", "maze"];

    /// The kind spelt `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        [LayoutKind::OneRoom, LayoutKind::TwoRooms, LayoutKind::FourRooms, LayoutKind::Maze]
            .into_iter()
            .find(|k| k.name() == name)
    }
}

/// An axis-aligned rectangle `[x0, y0, x1, y1]`, metres.
pub type Rect = [f32; 4];

/// Wall thickness, metres.
pub const WALL_THICKNESS: f32 = 0.1;
/// Width of a door, metres.
pub const DOOR_WIDTH: f32 = 1.0;
/// Planner grid cell, metres.
pub const CELL: f32 = 0.1;

/// A floor plan: its outline, the walls (thin rectangles) and the rooms.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// Which plan.
    pub kind: LayoutKind,
    /// Outer size: the floor is `[0, width] x [0, depth]`.
    pub width: f32,
    /// Outer size along y.
    pub depth: f32,
    /// Wall footprints.
    pub walls: Vec<Rect>,
    /// The rooms (maze: its cells), for placing things and saying where they are.
    pub rooms: Vec<Rect>,
}

/// A wall along x at `y` from `x0` to `x1`, with door gaps centred at `doors`.
fn wall_x(walls: &mut Vec<Rect>, y: f32, x0: f32, x1: f32, doors: &[f32]) {
    wall_with_doors(walls, x0, x1, doors, |a, b| [a, y - WALL_THICKNESS / 2.0, b, y + WALL_THICKNESS / 2.0]);
}

/// A wall along y at `x` from `y0` to `y1`, with door gaps centred at `doors`.
fn wall_y(walls: &mut Vec<Rect>, x: f32, y0: f32, y1: f32, doors: &[f32]) {
    wall_with_doors(walls, y0, y1, doors, |a, b| [x - WALL_THICKNESS / 2.0, a, x + WALL_THICKNESS / 2.0, b]);
}

fn wall_with_doors(walls: &mut Vec<Rect>, start: f32, end: f32, doors: &[f32], rect: impl Fn(f32, f32) -> Rect) {
    let mut from = start;
    let mut doors = doors.to_vec();
    doors.sort_by(|a, b| a.total_cmp(b));
    for d in doors {
        let (a, b) = (d - DOOR_WIDTH / 2.0, d + DOOR_WIDTH / 2.0);
        if a > from {
            walls.push(rect(from, a));
        }
        from = b;
    }
    if end > from {
        walls.push(rect(from, end));
    }
}

impl Layout {
    /// A plan of `kind` drawn from `rng`.
    pub fn generate(kind: LayoutKind, rng: &mut ChaCha8Rng) -> Self {
        let mut walls = Vec::new();
        let (width, depth, rooms) = match kind {
            LayoutKind::OneRoom => {
                let (w, d) = (rng.random_range(5.0..8.0f32), rng.random_range(5.0..8.0f32));
                (w, d, vec![[0.0, 0.0, w, d]])
            }
            LayoutKind::TwoRooms => {
                let (a, b, d) =
                    (rng.random_range(4.0..6.0f32), rng.random_range(4.0..6.0f32), rng.random_range(4.0..6.0f32));
                let door = rng.random_range(1.0..d - 1.0);
                wall_y(&mut walls, a, 0.0, d, &[door]);
                (a + b, d, vec![[0.0, 0.0, a, d], [a, 0.0, a + b, d]])
            }
            LayoutKind::FourRooms => {
                let (w, d) = (rng.random_range(8.0..12.0f32), rng.random_range(8.0..12.0f32));
                let (cx, cy) = (w / 2.0, d / 2.0);
                let mut door = |lo: f32, hi: f32| rng.random_range(lo + 0.9..hi - 0.9);
                let doors_x = [door(0.0, cx), door(cx, w)];
                let doors_y = [door(0.0, cy), door(cy, d)];
                wall_x(&mut walls, cy, 0.0, w, &doors_x);
                wall_y(&mut walls, cx, 0.0, d, &doors_y);
                (w, d, vec![[0.0, 0.0, cx, cy], [cx, 0.0, w, cy], [0.0, cy, cx, d], [cx, cy, w, d]])
            }
            LayoutKind::Maze => {
                let n = rng.random_range(3..5usize);
                let cell = 2.5f32;
                // Depth-first carving: open[(i, j)][dir] for the walls right (0) and up (1).
                let mut right = vec![vec![false; n]; n];
                let mut up = vec![vec![false; n]; n];
                let mut seen = vec![vec![false; n]; n];
                let mut stack = vec![(0usize, 0usize)];
                seen[0][0] = true;
                while let Some(&(i, j)) = stack.last() {
                    let mut next = Vec::new();
                    if i + 1 < n && !seen[i + 1][j] {
                        next.push((i + 1, j));
                    }
                    if i > 0 && !seen[i - 1][j] {
                        next.push((i - 1, j));
                    }
                    if j + 1 < n && !seen[i][j + 1] {
                        next.push((i, j + 1));
                    }
                    if j > 0 && !seen[i][j - 1] {
                        next.push((i, j - 1));
                    }
                    if next.is_empty() {
                        stack.pop();
                        continue;
                    }
                    let (a, b) = next[rng.random_range(0..next.len())];
                    match (a as i64 - i as i64, b as i64 - j as i64) {
                        (1, 0) => right[i][j] = true,
                        (-1, 0) => right[a][b] = true,
                        (0, 1) => up[i][j] = true,
                        _ => up[a][b] = true,
                    }
                    seen[a][b] = true;
                    stack.push((a, b));
                }
                let size = n as f32 * cell;
                let mut rooms = Vec::new();
                for i in 0..n {
                    for j in 0..n {
                        let (x0, y0) = (i as f32 * cell, j as f32 * cell);
                        rooms.push([x0, y0, x0 + cell, y0 + cell]);
                        // A wall to the right and above a cell unless carved, as a door-less
                        // segment (the carved ones are open over the whole cell side, less the
                        // wall ends, so corridors are 2.4 m wide).
                        if i + 1 < n && !right[i][j] {
                            wall_y(
                                &mut walls,
                                x0 + cell,
                                y0 - WALL_THICKNESS / 2.0,
                                y0 + cell + WALL_THICKNESS / 2.0,
                                &[],
                            );
                        }
                        if j + 1 < n && !up[i][j] {
                            wall_x(
                                &mut walls,
                                y0 + cell,
                                x0 - WALL_THICKNESS / 2.0,
                                x0 + cell + WALL_THICKNESS / 2.0,
                                &[],
                            );
                        }
                    }
                }
                (size, size, rooms)
            }
        };
        // The outer walls.
        let t = WALL_THICKNESS / 2.0;
        wall_x(&mut walls, 0.0, -t, width + t, &[]);
        wall_x(&mut walls, depth, -t, width + t, &[]);
        wall_y(&mut walls, 0.0, -t, depth + t, &[]);
        wall_y(&mut walls, width, -t, depth + t, &[]);
        Layout { kind, width, depth, walls, rooms }
    }

    /// The index of the room holding `p` (None outside every room).
    pub fn room_of(&self, p: [f32; 2]) -> Option<usize> {
        self.rooms.iter().position(|r| p[0] >= r[0] && p[0] <= r[2] && p[1] >= r[1] && p[1] <= r[3])
    }
}

/// Occupancy and geodesic distances on a [`CELL`]-metre grid over a layout.
#[derive(Clone, Debug)]
pub struct Grid {
    nx: usize,
    ny: usize,
    /// Free for the robot's centre (walls and objects grown by its radius).
    free: Vec<bool>,
    /// Geodesic distance to the goal region, metres (`f32::INFINITY` where unreachable).
    dist: Vec<f32>,
}

#[derive(PartialEq)]
struct Node(f32, usize);
impl Eq for Node {}
impl Ord for Node {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.total_cmp(&self.0).then(self.1.cmp(&other.1))
    }
}
impl PartialOrd for Node {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Grid {
    /// The grid of `layout` with `obstacles` (rectangles), each grown by `margin` (the
    /// robot's radius), and the geodesic distances to the free cells within `goal_radius`
    /// of `goal` (8-connected, Dijkstra).
    pub fn new(layout: &Layout, obstacles: &[Rect], margin: f32, goal: [f32; 2], goal_radius: f32) -> Self {
        let nx = (layout.width / CELL).ceil() as usize + 1;
        let ny = (layout.depth / CELL).ceil() as usize + 1;
        let mut free = vec![true; nx * ny];
        for r in layout.walls.iter().chain(obstacles) {
            let (x0, y0, x1, y1) = (r[0] - margin, r[1] - margin, r[2] + margin, r[3] + margin);
            for i in 0..nx {
                let x = i as f32 * CELL;
                if x < x0 || x > x1 {
                    continue;
                }
                for j in 0..ny {
                    let y = j as f32 * CELL;
                    if y >= y0 && y <= y1 {
                        free[j * nx + i] = false;
                    }
                }
            }
        }
        let mut grid = Grid { nx, ny, free, dist: vec![f32::INFINITY; nx * ny] };
        let mut heap = BinaryHeap::new();
        for k in 0..nx * ny {
            let p = grid.centre(k);
            if grid.free[k] && (p[0] - goal[0]).hypot(p[1] - goal[1]) <= goal_radius {
                grid.dist[k] = 0.0;
                heap.push(Node(0.0, k));
            }
        }
        let diag = CELL * std::f32::consts::SQRT_2;
        while let Some(Node(d, k)) = heap.pop() {
            if d > grid.dist[k] {
                continue;
            }
            let (i, j) = ((k % nx) as i64, (k / nx) as i64);
            for (di, dj) in [(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1)] {
                let (a, b) = (i + di, j + dj);
                if a < 0 || b < 0 || a >= nx as i64 || b >= ny as i64 {
                    continue;
                }
                let m = b as usize * nx + a as usize;
                // No corner cutting: a diagonal move needs both side cells free.
                if !grid.free[m]
                    || (di != 0
                        && dj != 0
                        && !(grid.free[j as usize * nx + a as usize] && grid.free[b as usize * nx + i as usize]))
                {
                    continue;
                }
                let nd = d + if di != 0 && dj != 0 { diag } else { CELL };
                if nd < grid.dist[m] {
                    grid.dist[m] = nd;
                    heap.push(Node(nd, m));
                }
            }
        }
        grid
    }

    fn centre(&self, k: usize) -> [f32; 2] {
        [(k % self.nx) as f32 * CELL, (k / self.nx) as f32 * CELL]
    }

    fn index(&self, p: [f32; 2]) -> usize {
        let i = ((p[0] / CELL).round().max(0.0) as usize).min(self.nx - 1);
        let j = ((p[1] / CELL).round().max(0.0) as usize).min(self.ny - 1);
        j * self.nx + i
    }

    /// Whether the robot's centre may stand at `p`.
    pub fn is_free(&self, p: [f32; 2]) -> bool {
        self.free[self.index(p)]
    }

    /// Geodesic distance from `p` to the goal region, metres (through the nearest free cell
    /// within 1.2 m when `p`'s own cell is blocked: the robot may touch a grown obstacle's
    /// margin, whose corners reach furthest); infinite when none is that near or none
    /// reaches the goal.
    pub fn distance(&self, p: [f32; 2]) -> f32 {
        let k = self.index(p);
        if self.free[k] {
            if self.dist[k] <= 0.0 {
                return 0.0;
            }
            // Through the best of the 3 x 3 cells around: continuous in `p`, so a 0.15 m step
            // shortens it by 0.15 m, not by whole cells.
            let (i, j) = ((k % self.nx) as i64, (k / self.nx) as i64);
            let mut best = self.dist[k];
            for (di, dj) in [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1)] {
                let (a, b) = (i + di, j + dj);
                if a < 0 || b < 0 || a >= self.nx as i64 || b >= self.ny as i64 {
                    continue;
                }
                let m = b as usize * self.nx + a as usize;
                if self.free[m] && self.dist[m].is_finite() {
                    let c = self.centre(m);
                    best = best.min(self.dist[m] + (p[0] - c[0]).hypot(p[1] - c[1]));
                }
            }
            return best;
        }
        self.nearest_free(k).map_or(f32::INFINITY, |(m, via)| self.dist[m] + via)
    }

    /// For a blocked cell `k`: the free cell within 12 cells whose distance to the goal plus
    /// the way to it is least, and that way (metres).
    fn nearest_free(&self, k: usize) -> Option<(usize, f32)> {
        let (i, j) = ((k % self.nx) as i64, (k / self.nx) as i64);
        let mut best: Option<(usize, f32)> = None;
        for r in 1..=12i64 {
            for di in -r..=r {
                for dj in -r..=r {
                    if di.abs() != r && dj.abs() != r {
                        continue;
                    }
                    let (a, b) = (i + di, j + dj);
                    if a < 0 || b < 0 || a >= self.nx as i64 || b >= self.ny as i64 {
                        continue;
                    }
                    let m = b as usize * self.nx + a as usize;
                    let via = ((di * di + dj * dj) as f32).sqrt() * CELL;
                    if self.free[m]
                        && self.dist[m].is_finite()
                        && best.is_none_or(|(n, v)| self.dist[m] + via < self.dist[n] + v)
                    {
                        best = Some((m, via));
                    }
                }
            }
            if best.is_some() {
                return best;
            }
        }
        None
    }

    /// Whether the straight segment from `a` to `b` stays on free cells (the first 0.15 m
    /// from `a` excepted: the robot may stand in a grown obstacle's margin).
    fn clear(&self, a: [f32; 2], b: [f32; 2]) -> bool {
        let len = (b[0] - a[0]).hypot(b[1] - a[1]);
        let n = (len / (CELL / 2.0)).ceil() as usize;
        (1..=n).all(|s| {
            let f = s as f32 / n as f32;
            f * len < 0.15 || self.is_free([a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1])])
        })
    }

    /// A point up to `lookahead` metres along the shortest path from `p` (steepest descent
    /// of the distance field, from the nearest free cell when `p`'s is blocked), the furthest
    /// one the robot can head straight for without crossing a blocked cell, for steering.
    pub fn waypoint(&self, p: [f32; 2], lookahead: f32) -> [f32; 2] {
        let mut k = self.index(p);
        if !self.free[k] {
            match self.nearest_free(k) {
                Some((m, _)) => k = m,
                None => return p,
            }
        }
        let steps = (lookahead / CELL).round() as usize;
        let (mut aim, mut first) = (None, None);
        for _ in 0..steps {
            let (i, j) = ((k % self.nx) as i64, (k / self.nx) as i64);
            let mut best = (self.dist[k], k);
            for (di, dj) in [(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1)] {
                let (a, b) = (i + di, j + dj);
                if a < 0 || b < 0 || a >= self.nx as i64 || b >= self.ny as i64 {
                    continue;
                }
                let m = b as usize * self.nx + a as usize;
                if self.free[m] && self.dist[m] < best.0 {
                    best = (self.dist[m], m);
                }
            }
            if best.1 == k {
                break;
            }
            k = best.1;
            first.get_or_insert(self.centre(k));
            if self.clear(p, self.centre(k)) {
                aim = Some(self.centre(k));
            }
        }
        // No clear line: the next cell of the path.
        aim.or(first).unwrap_or_else(|| self.centre(k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn every_plan_is_closed_and_connected() {
        for kind in [LayoutKind::OneRoom, LayoutKind::TwoRooms, LayoutKind::FourRooms, LayoutKind::Maze] {
            for seed in 0..20 {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let l = Layout::generate(kind, &mut rng);
                // Every room's centre reaches every other's.
                let c = |r: &Rect| [(r[0] + r[2]) / 2.0, (r[1] + r[3]) / 2.0];
                let grid = Grid::new(&l, &[], 0.2, c(&l.rooms[0]), 0.5);
                for r in &l.rooms {
                    let d = grid.distance(c(r));
                    assert!(d.is_finite(), "{kind:?} seed {seed}: room {r:?} unreachable");
                    let straight = (c(r)[0] - c(&l.rooms[0])[0]).hypot(c(r)[1] - c(&l.rooms[0])[1]);
                    // The goal region is the cells whose centres are within 0.5 m, and a point
                    // goes through a neighbouring cell: allow a cell and a half.
                    assert!(d + 0.5 + 0.15 >= straight, "geodesic {d} shorter than the straight line {straight}");
                }
                // Outside the outer walls is blocked.
                assert!(!grid.is_free([0.05, 0.05]), "{kind:?}");
            }
        }
    }

    #[test]
    fn a_wall_between_makes_the_way_round_longer() {
        for seed in 0..10 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let l = Layout::generate(LayoutKind::TwoRooms, &mut rng);
            let x = l.rooms[0][2];
            // The door: the gap between the inner wall's two pieces.
            let mut pieces: Vec<Rect> =
                l.walls.iter().copied().filter(|w| w[0] < x && w[2] > x && w[2] - w[0] < 0.2).collect();
            pieces.sort_by(|a, b| a[1].total_cmp(&b[1]));
            assert_eq!(pieces.len(), 2, "seed {seed}: {pieces:?}");
            let door = (pieces[0][3] + pieces[1][1]) / 2.0;
            assert!((pieces[1][1] - pieces[0][3] - DOOR_WIDTH).abs() < 1e-4, "seed {seed}: door width");
            // Goal and start 1 m either side of the wall, at the end of the room away from the
            // door (at least 1.5 m from it): the way round is much longer than 2 m.
            let y = if door > l.depth / 2.0 { 0.5 } else { l.depth - 0.5 };
            let goal = [x + 1.0, y];
            let grid = Grid::new(&l, &[], 0.2, goal, 0.3);
            let d = grid.distance([x - 1.0, y]);
            let round = 2.0 * 1f32.hypot((y - door).abs() - DOOR_WIDTH / 2.0 + 0.2) - 0.3;
            assert!(d >= round - 0.15 && d > 2.5, "seed {seed}: geodesic {d}, way round at least {round}");
            assert_eq!(grid.distance(goal), 0.0);
        }
    }
}
