//! NPC traffic: cars that follow lanes with the intelligent driver model (IDM), take one
//! junction at a time (a reservation per junction, granted in index order, never while the
//! ego car is inside or the exit lane is backed up), and keep their distance from each other
//! and from the ego car.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::map::Map;

/// NPC car length (bumper to bumper), metres.
pub const NPC_LENGTH: f64 = 4.5;
/// IDM parameters: jam distance, time headway, max acceleration, comfortable deceleration.
const S0: f64 = 2.5;
const T_HEADWAY: f64 = 1.5;
const A_MAX: f64 = 1.5;
const B_COMF: f64 = 2.5;
/// NPCs do not enter a junction while the ego car is within this margin of its square (m).
const EGO_JUNCTION_MARGIN: f64 = 8.0;
/// Distance before a junction at which an NPC asks for its reservation.
const ASK_DIST: f64 = 14.0;

/// One NPC car.
#[derive(Clone, Debug, PartialEq)]
pub struct Npc {
    /// Lane index.
    pub lane: usize,
    /// Arc length along the lane (centre of the car).
    pub s: f64,
    /// Speed, m/s.
    pub v: f64,
    /// Desired speed, m/s.
    pub v0: f64,
    /// The lane it will take next.
    pub next: Option<usize>,
    /// Colour index.
    pub color: usize,
}

impl Npc {
    /// Position and heading on the map.
    pub fn pose(&self, map: &Map) -> ([f64; 2], f64) {
        map.lanes[self.lane].line.at(self.s)
    }
}

/// All NPCs and the junction reservations.
#[derive(Clone, Debug, PartialEq)]
pub struct Traffic {
    /// The cars.
    pub npcs: Vec<Npc>,
    /// For each junction, the NPC holding it.
    pub reservations: Vec<Option<usize>>,
}

fn pick_next(map: &Map, lane: usize, rng: &mut ChaCha8Rng) -> Option<usize> {
    let next = &map.lanes[lane].next;
    (!next.is_empty()).then(|| next[rng.random_range(0..next.len())])
}

/// IDM acceleration for speed `v`, desired `v0`, and a leader `gap` metres ahead moving at `vl`.
pub fn idm(v: f64, v0: f64, leader: Option<(f64, f64)>) -> f64 {
    let free = 1.0 - (v / v0.max(0.1)).powi(4);
    match leader {
        None => A_MAX * free,
        Some((gap, vl)) => {
            let s_star = S0 + (v * T_HEADWAY + v * (v - vl) / (2.0 * (A_MAX * B_COMF).sqrt())).max(0.0);
            A_MAX * (free - (s_star / gap.max(0.1)).powi(2))
        }
    }
}

impl Traffic {
    /// Spawns `count` NPCs on road lanes, at least 15 m apart along a lane and 25 m from
    /// `keep_clear` (the ego car's start).
    pub fn spawn(map: &Map, count: usize, keep_clear: [f64; 2], rng: &mut ChaCha8Rng) -> Self {
        let lanes = map.road_lanes();
        let total: f64 = lanes.iter().map(|&l| map.lanes[l].line.length()).sum();
        let mut npcs: Vec<Npc> = Vec::with_capacity(count);
        let mut min_gap = 15.0;
        let mut tries = 0;
        while npcs.len() < count {
            tries += 1;
            if tries % 200 == 0 {
                min_gap *= 0.7;
            }
            let mut u = rng.random_range(0.0..total);
            let mut lane = lanes[0];
            for &l in &lanes {
                let len = map.lanes[l].line.length();
                if u < len {
                    lane = l;
                    break;
                }
                u -= len;
            }
            let len = map.lanes[lane].line.length();
            if len < 2.0 * NPC_LENGTH {
                continue;
            }
            let s = u.clamp(NPC_LENGTH, len - NPC_LENGTH);
            let (p, _) = map.lanes[lane].line.at(s);
            let far_from_ego = (p[0] - keep_clear[0]).hypot(p[1] - keep_clear[1]) > 25.0 || tries > 5000;
            let spaced = npcs.iter().all(|n| n.lane != lane || (n.s - s).abs() > min_gap);
            if !far_from_ego || !spaced {
                continue;
            }
            let v0: f64 = rng.random_range(6.0..9.0);
            let v = v0.min(map.lanes[lane].speed_limit) * rng.random_range(0.5..1.0);
            let next = pick_next(map, lane, rng);
            npcs.push(Npc { lane, s, v, v0, next, color: rng.random_range(0..8) });
        }
        Traffic { npcs, reservations: vec![None; map.junctions.len()] }
    }

    /// The nearest car ahead of NPC `i` on its lane or the next one: (gap, speed).
    fn leader(&self, map: &Map, i: usize, ego: Option<([f64; 2], f64)>) -> Option<(f64, f64)> {
        let me = &self.npcs[i];
        let lane_len = map.lanes[me.lane].line.length();
        let mut best: Option<(f64, f64)> = None;
        let mut consider = |gap: f64, v: f64| {
            if best.is_none_or(|(g, _)| gap < g) {
                best = Some((gap, v));
            }
        };
        for (j, o) in self.npcs.iter().enumerate() {
            if j == i {
                continue;
            }
            if o.lane == me.lane && o.s > me.s {
                consider(o.s - me.s - NPC_LENGTH, o.v);
            } else if Some(o.lane) == me.next {
                consider(lane_len - me.s + o.s - NPC_LENGTH, o.v);
            } else if o.lane == me.lane && me.next == Some(me.lane) && o.s < me.s {
                // Closed loop: the car ahead across the seam.
                consider(lane_len - me.s + o.s - NPC_LENGTH, o.v);
            }
        }
        if let Some((p, v)) = ego {
            let (mp, _) = me.pose(map);
            if (p[0] - mp[0]).hypot(p[1] - mp[1]) < 45.0 {
                let mut lanes = vec![(me.lane, -me.s)];
                if let Some(n) = me.next {
                    lanes.push((n, lane_len - me.s));
                }
                for (l, offset) in lanes {
                    let line = &map.lanes[l].line;
                    let pr = line.project(p);
                    let (q, _) = line.at(pr.s);
                    let near = (q[0] - p[0]).hypot(q[1] - p[1]) < 2.2;
                    let gap = pr.s + offset - NPC_LENGTH;
                    if near && gap > -NPC_LENGTH * 0.6 && gap < 45.0 {
                        consider(gap.max(0.0), v);
                    }
                }
            }
        }
        best
    }

    /// Advances every NPC by `dt` seconds. `ego` is the ego car's position and speed (a
    /// leader to cars behind it, and it blocks junctions it is inside).
    pub fn step(&mut self, map: &Map, dt: f64, ego: Option<([f64; 2], f64)>, rng: &mut ChaCha8Rng) {
        // Release reservations of cars that have left their junction.
        for (jn, r) in self.reservations.iter_mut().enumerate() {
            if let Some(i) = *r {
                let n = &self.npcs[i];
                let on_it = map.lanes[n.lane].junction == Some(jn);
                let approaching = n.next.is_some_and(|l| map.lanes[l].junction == Some(jn));
                if !on_it && !approaching {
                    *r = None;
                }
            }
        }
        let accels: Vec<f64> = (0..self.npcs.len())
            .map(|i| {
                let n = &self.npcs[i];
                let lane = &map.lanes[n.lane];
                let remaining = lane.line.length() - n.s;
                let mut v0 = n.v0.min(lane.speed_limit);
                if let Some(next) = n.next {
                    if remaining < 25.0 {
                        v0 = v0.min(map.lanes[next].speed_limit.max(3.0));
                    }
                }
                let mut leader = self.leader(map, i, ego);
                // Junction entry: wait at the line unless this car holds the reservation.
                if let Some(jn) = n.next.and_then(|l| map.lanes[l].junction) {
                    if remaining < ASK_DIST {
                        let ego_inside = ego.is_some_and(|(p, _)| map.junctions[jn].contains(p, EGO_JUNCTION_MARGIN));
                        let exit = map.lanes[n.next.expect("next")].next.first().copied();
                        let exit_free =
                            exit.is_none_or(|e| self.npcs.iter().all(|o| o.lane != e || o.s > NPC_LENGTH * 2.0 + S0));
                        let granted = match self.reservations[jn] {
                            Some(h) => h == i,
                            None => false,
                        };
                        let can_take = self.reservations[jn].is_none() && !ego_inside && exit_free;
                        if !granted && !can_take {
                            let stop_gap = (remaining - NPC_LENGTH / 2.0 - 0.5).max(0.0);
                            if leader.is_none_or(|(g, _)| stop_gap < g) {
                                leader = Some((stop_gap, 0.0));
                            }
                        }
                    }
                }
                idm(n.v, v0, leader)
            })
            .collect();
        // Grant reservations in index order (deterministic).
        for i in 0..self.npcs.len() {
            let n = &self.npcs[i];
            if let Some(jn) = n.next.and_then(|l| map.lanes[l].junction) {
                let remaining = map.lanes[n.lane].line.length() - n.s;
                let ego_inside = ego.is_some_and(|(p, _)| map.junctions[jn].contains(p, EGO_JUNCTION_MARGIN));
                let exit = map.lanes[n.next.expect("next")].next.first().copied();
                let exit_free =
                    exit.is_none_or(|e| self.npcs.iter().all(|o| o.lane != e || o.s > NPC_LENGTH * 2.0 + S0));
                // Only the first car of a queue may take the junction.
                let first = self.npcs.iter().all(|o| o.lane != n.lane || o.s <= n.s);
                if remaining < ASK_DIST && first && self.reservations[jn].is_none() && !ego_inside && exit_free {
                    self.reservations[jn] = Some(i);
                }
            }
        }
        for (i, a) in accels.into_iter().enumerate() {
            let lane = self.npcs[i].lane;
            let start_free =
                self.npcs.iter().enumerate().all(|(j, o)| j == i || o.lane != lane || o.s > 3.0 * NPC_LENGTH);
            let n = &mut self.npcs[i];
            n.v = (n.v + a * dt).max(0.0);
            n.s += n.v * dt;
            loop {
                let len = map.lanes[n.lane].line.length();
                if n.s <= len {
                    break;
                }
                match n.next {
                    Some(next) => {
                        n.s -= len;
                        n.lane = next;
                        n.next = pick_next(map, next, rng);
                    }
                    None if start_free => {
                        // The lane ends (country road): reappear at its start.
                        n.s = NPC_LENGTH;
                        break;
                    }
                    None => {
                        // ... once the start is clear; wait at the end until then.
                        n.s = len;
                        n.v = 0.0;
                        break;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::map::{Map, MapKind};
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn idm_brakes_for_a_close_leader() {
        assert!(idm(5.0, 8.0, None) > 0.0);
        assert!(idm(5.0, 8.0, Some((3.0, 0.0))) < -2.0);
        assert!(idm(8.0, 8.0, None).abs() < 1e-9);
    }

    #[test]
    fn traffic_flows_without_overlaps() {
        for (kind, count) in [(MapKind::Town, 20), (MapKind::Loop, 8), (MapKind::Country, 8)] {
            flows_without_overlaps(kind, count);
        }
    }

    fn flows_without_overlaps(kind: MapKind, count: usize) {
        let map = Map::generate(kind, 0);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut t = Traffic::spawn(&map, count, [1e6, 1e6], &mut rng);
        let mut travelled = 0.0;
        for step in 0..3000 {
            t.step(&map, 1.0 / 15.0, None, &mut rng);
            travelled += t.npcs.iter().map(|n| n.v / 15.0).sum::<f64>();
            for i in 0..t.npcs.len() {
                for j in i + 1..t.npcs.len() {
                    let (a, ha) = t.npcs[i].pose(&map);
                    let (b, hb) = t.npcs[j].pose(&map);
                    let d = (a[0] - b[0]).hypot(a[1] - b[1]);
                    // Cars heading the same way keep a car length; others (oncoming lanes,
                    // junctions) must not overlap sideways.
                    let min = if super::super::map::wrap_angle(ha - hb).abs() < 0.5 { NPC_LENGTH } else { 3.0 };
                    assert!(
                        d > min,
                        "{kind:?} step {step}: npcs {i} and {j} overlap ({d:.2} m): {:?} {:?}",
                        t.npcs[i],
                        t.npcs[j]
                    );
                }
            }
        }
        // 200 s: on average the cars kept moving.
        assert!(travelled / count as f64 > 400.0, "{kind:?}: {travelled}");
    }
}
