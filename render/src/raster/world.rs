//! A Scene's static objects prepared once: world-space triangles with their shaders, binned
//! on a grid over the ground so a view visits only the cells it can see, and top-down maps
//! (colour + height images of the whole static world) for bird's-eye cameras.

use std::sync::{Arc, Mutex};

use anyhow::Result;
use rayon::prelude::*;
use vlmgym_envs::scene::{Camera, SceneObject};

use super::math::{dot, normalize, sub, Affine, View, V3};
use super::mesh::{tessellate, uv_repeats, LocalMesh};
use super::pipeline::{draw_triangle, Ctx, Target, Vert};
use super::shade::{ndl, Shader, Texture};

/// Grid cell size over the ground, metres.
const CELL: f32 = 16.0;
/// The most cells along one side (cells grow for larger worlds).
const MAX_CELLS: usize = 256;
/// Top-down maps larger than this many pixels (8 bytes each) are not made; the view is
/// drawn instead.
const MAX_MAP_PIXELS: usize = 16 << 20;

/// Samples per map pixel along each axis: a map pixel is the mean of `MAP_SUPERSAMPLE^2`
/// samples of the static world (anti-aliased lane lines and edges, less texture speckle).
const MAP_SUPERSAMPLE: usize = 2;

/// A triangle of the static world.
#[derive(Clone, Debug)]
pub(crate) struct StaticTri {
    pub v: [Vert; 3],
    pub shader: u32,
    pub two_sided: bool,
}

#[derive(Clone, Copy, Debug)]
struct Cell {
    start: u32,
    end: u32,
    min: V3,
    max: V3,
}

/// The static objects of a Scene, ready to draw from any camera.
pub(crate) struct StaticWorld {
    /// The objects and sun this was made from (envs with equal ones share it).
    pub source: Vec<SceneObject>,
    pub sun: V3,
    pub shaders: Vec<Shader>,
    /// Opaque triangles: those larger than a cell first (`..big`), then the cells' in cell
    /// order.
    tris: Vec<StaticTri>,
    big: usize,
    /// Triangles of translucent materials, in Scene order (drawn after the opaque ones).
    translucent: Vec<StaticTri>,
    origin: [f32; 2],
    cell: f32,
    nx: usize,
    nz: usize,
    cells: Vec<Cell>,
    /// Bounds of every triangle.
    pub min: V3,
    pub max: V3,
    maps: Mutex<Vec<Arc<TopMap>>>,
}

/// Appends the world-space corners of `mesh` placed by `pose` to `out`, normals turned
/// into `n . to_sun`.
pub(crate) fn place(mesh: &LocalMesh, pose: &Affine, to_sun: V3, out: &mut Vec<Vert>) {
    out.extend(mesh.verts.iter().map(|lv| {
        let n = normalize(pose.vector(lv.n)).unwrap_or([0.0, 1.0, 0.0]);
        Vert { p: pose.point(lv.p), uv: lv.uv, ndl: ndl(n, to_sun) }
    }));
}

impl StaticWorld {
    /// Prepares `objects` (all static) lit by a sun at `to_sun`; textures from `load`.
    pub(crate) fn new(
        objects: Vec<SceneObject>,
        sun: V3,
        load: &mut impl FnMut(&str) -> Result<Arc<Texture>>,
    ) -> Result<Self> {
        let mut tris = Vec::new();
        let mut shaders: Vec<Shader> = Vec::new();
        let mut materials = Vec::new();
        let mut verts = Vec::new();
        for obj in &objects {
            let shader = match materials.iter().position(|m| *m == obj.material) {
                Some(i) => i as u32,
                None => {
                    materials.push(obj.material.clone());
                    shaders.push(Shader::new(&obj.material, load)?);
                    shaders.len() as u32 - 1
                }
            };
            let repeats = match obj.material.texture {
                Some(_) => uv_repeats(&obj.shape, obj.material.texture_scale),
                None => [1.0, 1.0],
            };
            let mesh = tessellate(&obj.shape, repeats);
            verts.clear();
            place(&mesh, &Affine::from_pose(&obj.pose), sun, &mut verts);
            for t in &mesh.tris {
                let v = t.map(|i| verts[i as usize]);
                tris.push(StaticTri { v, shader, two_sided: mesh.two_sided });
            }
        }
        let (mut min, mut max) = ([f32::INFINITY; 3], [f32::NEG_INFINITY; 3]);
        for t in &tris {
            for v in &t.v {
                for k in 0..3 {
                    min[k] = min[k].min(v.p[k]);
                    max[k] = max[k].max(v.p[k]);
                }
            }
        }
        if tris.is_empty() {
            (min, max) = ([0.0; 3], [0.0; 3]);
        }
        let cell = CELL.max((max[0] - min[0]).max(max[2] - min[2]) / MAX_CELLS as f32);
        let nx = (((max[0] - min[0]) / cell).floor() as usize + 1).min(MAX_CELLS);
        let nz = (((max[2] - min[2]) / cell).floor() as usize + 1).min(MAX_CELLS);
        let origin = [min[0], min[2]];
        // Bin by centroid; triangles wider than a cell go first and are always visited.
        let key = |t: &StaticTri| -> usize {
            let (mut lo, mut hi) = ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]);
            for v in &t.v {
                lo = [lo[0].min(v.p[0]), lo[1].min(v.p[2])];
                hi = [hi[0].max(v.p[0]), hi[1].max(v.p[2])];
            }
            if hi[0] - lo[0] > cell || hi[1] - lo[1] > cell {
                return 0;
            }
            let c = [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0];
            let ix = (((c[0] - origin[0]) / cell) as usize).min(nx - 1);
            let iz = (((c[1] - origin[1]) / cell) as usize).min(nz - 1);
            1 + iz * nx + ix
        };
        let (translucent, tris): (Vec<StaticTri>, Vec<StaticTri>) =
            tris.into_iter().partition(|t| shaders[t.shader as usize].alpha < 1.0);
        let mut keyed: Vec<(usize, StaticTri)> = tris.into_iter().map(|t| (key(&t), t)).collect();
        // Stable: the Scene's order is kept within a cell.
        keyed.sort_by_key(|(k, _)| *k);
        let big = keyed.iter().take_while(|(k, _)| *k == 0).count();
        let mut cells = vec![Cell { start: 0, end: 0, min: [f32::INFINITY; 3], max: [f32::NEG_INFINITY; 3] }; nx * nz];
        for (i, (k, t)) in keyed.iter().enumerate().skip(big) {
            let c = &mut cells[k - 1];
            if c.start == c.end {
                c.start = i as u32;
            }
            c.end = i as u32 + 1;
            for v in &t.v {
                for a in 0..3 {
                    c.min[a] = c.min[a].min(v.p[a]);
                    c.max[a] = c.max[a].max(v.p[a]);
                }
            }
        }
        let tris = keyed.into_iter().map(|(_, t)| t).collect();
        Ok(StaticWorld {
            source: objects,
            sun,
            shaders,
            tris,
            big,
            translucent,
            origin,
            cell,
            nx,
            nz,
            cells,
            min,
            max,
            maps: Mutex::new(Vec::new()),
        })
    }

    #[inline(always)]
    fn draw_tri(&self, t: &mut Target, ctx: &Ctx, tri: &StaticTri) {
        draw_triangle(t, ctx, &tri.v, &self.shaders[tri.shader as usize], tri.two_sided);
    }

    /// Draws every triangle `view` may see into `t`.
    pub(crate) fn draw(&self, t: &mut Target, ctx: &Ctx) {
        let view = &ctx.view;
        // The cells under the view volume's footprint (one more all round: a cell's
        // triangles reach at most one cell beyond it), each tested against the frustum,
        // drawn nearest first (hidden pixels then fail the depth test before shading).
        let corners = view.corners(view.far);
        let (mut lo, mut hi) = ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]);
        for c in &corners {
            lo = [lo[0].min(c[0]), lo[1].min(c[2])];
            hi = [hi[0].max(c[0]), hi[1].max(c[2])];
        }
        let range = |lo: f32, hi: f32, o: f32, n: usize| -> Option<(usize, usize)> {
            let a = ((lo - o) / self.cell).floor() - 1.0;
            let b = ((hi - o) / self.cell).floor() + 1.0;
            if b < 0.0 || a >= n as f32 {
                return None;
            }
            Some((a.max(0.0) as usize, (b as usize).min(n - 1)))
        };
        if let (Some((x0, x1)), Some((z0, z1))) =
            (range(lo[0], hi[0], self.origin[0], self.nx), range(lo[1], hi[1], self.origin[1], self.nz))
        {
            let planes = view.planes(1.0).map(|p| view.world_plane(p));
            let mut visible: Vec<(f32, usize)> = Vec::new();
            for iz in z0..=z1 {
                for ix in x0..=x1 {
                    let c = &self.cells[iz * self.nx + ix];
                    if c.start == c.end {
                        continue;
                    }
                    let outside = planes.iter().any(|(n, w)| {
                        let p = [
                            if n[0] >= 0.0 { c.max[0] } else { c.min[0] },
                            if n[1] >= 0.0 { c.max[1] } else { c.min[1] },
                            if n[2] >= 0.0 { c.max[2] } else { c.min[2] },
                        ];
                        n[0] * p[0] + n[1] * p[1] + n[2] * p[2] + w < 0.0
                    });
                    if !outside {
                        let centre = [0, 1, 2].map(|k| (c.min[k] + c.max[k]) / 2.0);
                        let d = sub(centre, view.eye);
                        visible.push((dot(d, d), iz * self.nx + ix));
                    }
                }
            }
            visible.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            for (_, k) in visible {
                let c = &self.cells[k];
                for tri in &self.tris[c.start as usize..c.end as usize] {
                    self.draw_tri(t, ctx, tri);
                }
            }
        }
        // Large triangles (the ground, mostly behind everything) after, translucent last.
        for tri in self.tris[..self.big].iter().chain(&self.translucent) {
            self.draw_tri(t, ctx, tri);
        }
    }

    /// The top-down map at `metres_per_pixel` for a camera looking straight down from
    /// `eye_y`, `background` where there is nothing, made on first use; None when one
    /// cannot stand in for drawing the view (the camera is not above everything, or the map
    /// would be too large).
    pub(crate) fn top_map(
        &self,
        metres_per_pixel: f32,
        eye_y: f32,
        background: [u8; 3],
        bilinear: bool,
    ) -> Option<Arc<TopMap>> {
        if metres_per_pixel.is_nan()
            || metres_per_pixel <= 0.0
            || eye_y < self.max[1]
            || eye_y - self.min[1] > super::math::FAR
        {
            return None;
        }
        let w = ((self.max[0] - self.min[0]) / metres_per_pixel).ceil() as usize + 3;
        let h = ((self.max[2] - self.min[2]) / metres_per_pixel).ceil() as usize + 3;
        if w.saturating_mul(h) > MAX_MAP_PIXELS {
            return None;
        }
        let mut maps = self.maps.lock().expect("map lock");
        let same = |m: &&Arc<TopMap>| {
            m.metres_per_pixel == metres_per_pixel && m.bilinear == bilinear && m.background == background
        };
        if let Some(m) = maps.iter().find(same) {
            return Some(m.clone());
        }
        let map = Arc::new(TopMap::new(self, metres_per_pixel, w, h, background, bilinear));
        maps.push(map.clone());
        Some(map)
    }
}

/// The static world seen from straight above, one pixel per `metres_per_pixel` square:
/// colour (the background baked in where there is nothing) and the height of the surface
/// seen. A bird's-eye view that only moves and turns about Y is a resampling of it;
/// heights are only read where dynamic objects are drawn.
pub(crate) struct TopMap {
    pub metres_per_pixel: f32,
    bilinear: bool,
    background: [u8; 3],
    /// World x, z of the map's corner (pixel (0, 0)'s top-left); +x along rows, +z down.
    x0: f32,
    z0: f32,
    /// Size in pixels.
    w: usize,
    h: usize,
    /// `[r, g, b, 0]`, row-major.
    texels: Vec<[u8; 4]>,
    /// Height of the surface seen, row-major (NEG_INFINITY where there is none).
    height: Vec<f32>,
}

/// Rows of a top-down map drawn by one task.
const MAP_BAND: usize = 32;

/// Fixed-point fraction bits of map positions.
const FRAC: u32 = 32;

/// The affine map from a bird's-eye view's pixels to map pixels, in 32.32 fixed point
/// (exact stepping: walking along a row and jumping to a pixel agree).
struct Walk {
    /// Map x, z of image pixel (0, 0)'s centre; their steps along a row and down a column.
    base: [f64; 2],
    dx: [i64; 2],
    dy: [f64; 2],
}

impl Walk {
    /// Map x, z (fixed point) of the centre of image row `py`'s first pixel.
    #[inline(always)]
    fn row(&self, py: usize) -> [i64; 2] {
        let one = (1u64 << FRAC) as f64;
        [0, 1].map(|k| ((self.base[k] + self.dy[k] * py as f64) * one).floor() as i64)
    }
}

impl TopMap {
    fn new(world: &StaticWorld, s: f32, w: usize, h: usize, background: [u8; 3], bilinear: bool) -> Self {
        let (x0, z0) = (world.min[0] - s, world.min[2] - s);
        let eye_y = world.max[1] + 1.0;
        let cam = Camera {
            name: "map".into(),
            eye: [x0 + w as f32 * s / 2.0, eye_y, z0 + h as f32 * s / 2.0],
            target: [x0 + w as f32 * s / 2.0, eye_y - 1.0, z0 + h as f32 * s / 2.0],
            up: [0.0, 0.0, -1.0],
            fov_y_deg: 45.0,
            ortho_height: Some(h as f32 * s),
        };
        // Drawn at MAP_SUPERSAMPLE times the resolution, then each block of samples averaged.
        let k = MAP_SUPERSAMPLE;
        let (sw, sh) = (w * k, h * k);
        let view = View::new(&cam, sw as u32, sh as u32);
        let ctx = Ctx::new(view, bilinear);
        let mut color = vec![0u8; sw * sh * 3];
        let mut depth = vec![f32::NEG_INFINITY; sw * sh];
        color.par_chunks_mut(sw * 3 * MAP_BAND).zip(depth.par_chunks_mut(sw * MAP_BAND)).enumerate().for_each(
            |(b, (color, depth))| {
                let rows = depth.len() / sw;
                let mut t = Target { color, depth, width: sw, y0: b * MAP_BAND, rows };
                for tri in world.tris.iter().chain(&world.translucent) {
                    draw_triangle(&mut t, &ctx, &tri.v, &world.shaders[tri.shader as usize], tri.two_sided);
                }
            },
        );
        let mut texels = vec![[0u8; 4]; w * h];
        let mut height = vec![f32::NEG_INFINITY; w * h];
        texels.par_chunks_mut(w).zip(height.par_chunks_mut(w)).enumerate().for_each(|(j, (texels, height))| {
            for (i, (texel, top)) in texels.iter_mut().zip(height.iter_mut()).enumerate() {
                let mut sum = [0u32; 3];
                for sy in j * k..(j + 1) * k {
                    for sx in i * k..(i + 1) * k {
                        let q = sy * sw + sx;
                        // Depth keys are -d: heights are eye_y - d; empty samples show the
                        // background.
                        let c = if depth[q] == f32::NEG_INFINITY {
                            background
                        } else {
                            *top = top.max(depth[q] + eye_y);
                            [color[3 * q], color[3 * q + 1], color[3 * q + 2]]
                        };
                        sum = [0, 1, 2].map(|c_| sum[c_] + u32::from(c[c_]));
                    }
                }
                let n = (k * k) as u32;
                let c = sum.map(|v| ((v + n / 2) / n) as u8);
                *texel = [c[0], c[1], c[2], 0];
            }
        });
        TopMap { metres_per_pixel: s, bilinear, background, x0, z0, w, h, texels, height }
    }

    fn walk(&self, view: &View) -> Walk {
        let s = f64::from(self.metres_per_pixel);
        // World x, z of pixel (px, py)'s centre: eye + right * vx + up * vy.
        let ([r, u, e], (fx, fy)) = ([view.right, view.up, view.eye].map(|v| v.map(f64::from)), (view.fx, view.fy));
        let (ix, iy) = (1.0 / f64::from(fx), -1.0 / f64::from(fy));
        let (vx0, vy0) = ((0.5 - f64::from(view.cx)) * ix, (0.5 - f64::from(view.cy)) * iy);
        let base = [
            (e[0] + r[0] * vx0 + u[0] * vy0 - f64::from(self.x0)) / s,
            (e[2] + r[2] * vx0 + u[2] * vy0 - f64::from(self.z0)) / s,
        ];
        let one = (1u64 << FRAC) as f64;
        let dx = [(r[0] * ix / s * one).round() as i64, (r[2] * ix / s * one).round() as i64];
        Walk { base, dx, dy: [u[0] * iy / s, u[2] * iy / s] }
    }

    /// The map pixel at fixed-point map position `p`, if on the map.
    #[inline(always)]
    fn pixel(&self, p: [i64; 2]) -> Option<(usize, usize)> {
        let (i, j) = ((p[0] >> FRAC) as u64, (p[1] >> FRAC) as u64);
        (i < self.w as u64 && j < self.h as u64).then_some((i as usize, j as usize))
    }

    /// Fills `t`'s colour with the map as `view` (orthographic, looking straight down)
    /// sees it; depth is left to [`TopMap::fill_depth`] (only dynamic objects need it).
    pub(crate) fn blit(&self, t: &mut Target, view: &View) {
        let walk = self.walk(view);
        let (mw, bg) = (self.w, self.background);
        let w = t.width;
        for row in 0..t.rows {
            let start = walk.row(t.y0 + row);
            let end = [0, 1].map(|k| start[k] + walk.dx[k] * (w as i64 - 1));
            let (out, _) = t.color[row * w * 3..(row + 1) * w * 3].as_chunks_mut::<3>();
            let mut p = start;
            if self.pixel(start).is_some() && self.pixel(end).is_some() {
                // The whole row is on the map (it is a straight line).
                for px in out {
                    let (i, j) = ((p[0] >> FRAC) as usize, (p[1] >> FRAC) as usize);
                    let c = self.texels[j * mw + i];
                    *px = [c[0], c[1], c[2]];
                    p = [p[0] + walk.dx[0], p[1] + walk.dx[1]];
                }
            } else {
                for px in out {
                    *px = match self.pixel(p) {
                        Some((i, j)) => {
                            let c = self.texels[j * mw + i];
                            [c[0], c[1], c[2]]
                        }
                        None => bg,
                    };
                    p = [p[0] + walk.dx[0], p[1] + walk.dx[1]];
                }
            }
        }
    }

    /// Writes the depth keys of what [`TopMap::blit`] drew into the pixels of `t` in
    /// columns `x0..=x1`, rows `y0..=y1` (image rows).
    pub(crate) fn fill_depth(&self, t: &mut Target, view: &View, (x0, x1): (usize, usize), (y0, y1): (usize, usize)) {
        let walk = self.walk(view);
        let eye_y = view.eye[1];
        for py in y0.max(t.y0)..=y1.min(t.y0 + t.rows - 1) {
            // The same arithmetic as `blit`, so both read the same map pixel.
            let start = walk.row(py);
            let row = (py - t.y0) * t.width;
            for (px, d) in t.depth[row + x0..=row + x1].iter_mut().enumerate() {
                let k = (x0 + px) as i64;
                *d = match self.pixel([start[0] + walk.dx[0] * k, start[1] + walk.dx[1] * k]) {
                    Some((i, j)) => self.height[j * self.w + i] - eye_y,
                    None => f32::NEG_INFINITY,
                };
            }
        }
    }
}
