//! The triangle pipeline: view transform, frustum culling, clipping (near, far and a guard
//! band), back-face culling, and scan conversion with exact fixed-point edge functions
//! (8 sub-pixel bits, the top-left fill rule) into a colour + depth target.
//!
//! Depth keys grow towards the camera (`1/d` in perspective, `-d` orthographic) and are
//! interpolated linearly in screen space, which is exact for both. A pixel is drawn when
//! its key is greater than the stored one, so of two equally deep surfaces the first drawn
//! stays. Every frame is drawn by one thread in a fixed order: the same input gives the
//! same bytes.

use super::math::{cross, dot, floor_i64, sub, View, ViewPoint, V3};
use super::shade::{encode, Shader, Texture};

/// Sub-pixel steps per pixel (fixed-point edge functions).
const SUB: i64 = 256;
/// The guard band: triangles are clipped at this many half-images beyond the centre
/// (further clipping is only needed so fixed-point coordinates stay small).
const GUARD: f32 = 8.0;

/// Rows `y0..y0 + rows` of a `width`-pixel-wide image: RGB bytes and depth keys.
pub(crate) struct Target<'a> {
    pub color: &'a mut [u8],
    pub depth: &'a mut [f32],
    pub width: usize,
    pub y0: usize,
    pub rows: usize,
}

/// What every triangle of one frame (or tile) shares.
pub(crate) struct Ctx<'a> {
    pub view: View,
    /// Clip planes (near, far, guard band), view space.
    clip: [[f32; 4]; 6],
    /// Half the image's extent (tangents in perspective, metres orthographic) and the
    /// guard band's, for outcodes.
    cull_half: (f32, f32),
    clip_half: (f32, f32),
    pub encode: &'a [u8],
    pub decode: &'a [f32; 256],
    pub bilinear: bool,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(view: View, bilinear: bool) -> Self {
        Ctx {
            view,
            clip: view.planes(GUARD),
            cull_half: view.half_extent(),
            clip_half: (view.half_extent().0 * GUARD, view.half_extent().1 * GUARD),
            encode: super::shade::encode_table(),
            decode: super::shade::decode_table(),
            bilinear,
        }
    }
}

/// A triangle corner in world space: position, texture coordinate (repeats), and the
/// cosine between the surface normal and the direction to the sun.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Vert {
    pub p: V3,
    pub uv: [f32; 2],
    pub ndl: f32,
}

/// A corner in view space, for clipping.
#[derive(Clone, Copy, Debug)]
struct ClipVert {
    v: ViewPoint,
    u: f32,
    t: f32,
    ndl: f32,
}

impl ClipVert {
    fn lerp(a: &ClipVert, b: &ClipVert, s: f32) -> ClipVert {
        let l = |x: f32, y: f32| x + (y - x) * s;
        ClipVert {
            v: ViewPoint { x: l(a.v.x, b.v.x), y: l(a.v.y, b.v.y), d: l(a.v.d, b.v.d) },
            u: l(a.u, b.u),
            t: l(a.t, b.t),
            ndl: l(a.ndl, b.ndl),
        }
    }
}

#[inline(always)]
fn plane_dist(pl: &[f32; 4], v: &ViewPoint) -> f32 {
    pl[0] * v.x + pl[1] * v.y + pl[2] * v.d + pl[3]
}

/// The outcode bits of the left, right, bottom and top planes (see [`View::planes`]).
const SIDES: u32 = 0b11_1100;

impl Ctx<'_> {
    /// Outside bits of a view-space point, one per plane of [`View::planes`], for the
    /// image's frustum (`half = cull_half`) or the guard band (`clip_half`).
    #[inline(always)]
    fn outcode(&self, v: &ViewPoint, (hx, hy): (f32, f32)) -> u32 {
        let (ex, ey) = if self.view.is_ortho() { (hx, hy) } else { (hx * v.d, hy * v.d) };
        u32::from(v.d < self.view.near)
            | u32::from(v.d > self.view.far) << 1
            | u32::from(v.x < -ex) << 2
            | u32::from(v.x > ex) << 3
            | u32::from(v.y < -ey) << 4
            | u32::from(v.y > ey) << 5
    }
}

/// Draws a triangle (world space). `two_sided`: drawn from behind too, with its normal
/// flipped; otherwise triangles whose corners are not counter-clockwise on screen are
/// culled.
pub(crate) fn draw_triangle(t: &mut Target, ctx: &Ctx, tri: &[Vert; 3], shader: &Shader, two_sided: bool) {
    let view = &ctx.view;
    if !two_sided {
        // Back faces, cheaply in world space first (the screen-space test below decides
        // for the rest): the corners are counter-clockwise seen from the front.
        let n = cross(sub(tri[1].p, tri[0].p), sub(tri[2].p, tri[0].p));
        let towards = if view.is_ortho() { -dot(n, view.fwd) } else { dot(n, sub(view.eye, tri[0].p)) };
        if towards <= 0.0 {
            return;
        }
    }
    let cv = tri.map(|w| ClipVert { v: view.view_point(w.p), u: w.uv[0], t: w.uv[1], ndl: w.ndl });
    let oc = cv.map(|c| ctx.outcode(&c.v, ctx.cull_half));
    if oc[0] & oc[1] & oc[2] != 0 {
        return;
    }
    // Near and far are the same planes for culling and clipping; only corners outside the
    // image's sides can be outside the guard band.
    let clip_code = |k: usize| {
        let sides = if oc[k] & SIDES != 0 { ctx.outcode(&cv[k].v, ctx.clip_half) & SIDES } else { 0 };
        (oc[k] & !SIDES) | sides
    };
    let cc = [clip_code(0), clip_code(1), clip_code(2)];
    if cc[0] | cc[1] | cc[2] == 0 {
        draw_clipped(t, ctx, &cv, shader, two_sided);
        return;
    }
    if cc[0] & cc[1] & cc[2] != 0 {
        return;
    }
    // Sutherland-Hodgman against the planes some corner is outside of.
    let mut poly: Vec<ClipVert> = cv.to_vec();
    let mut next: Vec<ClipVert> = Vec::with_capacity(9);
    let any = cc[0] | cc[1] | cc[2];
    for (k, pl) in ctx.clip.iter().enumerate() {
        if any & (1 << k) == 0 {
            continue;
        }
        next.clear();
        for i in 0..poly.len() {
            let (a, b) = (&poly[i], &poly[(i + 1) % poly.len()]);
            let (da, db) = (plane_dist(pl, &a.v), plane_dist(pl, &b.v));
            if da >= 0.0 {
                next.push(*a);
            }
            if (da >= 0.0) != (db >= 0.0) {
                next.push(ClipVert::lerp(a, b, da / (da - db)));
            }
        }
        std::mem::swap(&mut poly, &mut next);
        if poly.len() < 3 {
            return;
        }
    }
    for i in 1..poly.len() - 1 {
        draw_clipped(t, ctx, &[poly[0], poly[i], poly[i + 1]], shader, two_sided);
    }
}

/// A projected corner.
#[derive(Clone, Copy, Debug)]
struct ScreenVert {
    x: i64,
    y: i64,
    key: f32,
    iw: f32,
    u: f32,
    t: f32,
    light: f32,
}

/// Screen-space gradient of an attribute: value at the centre of pixel (px, py) is
/// `base + dx * px + dy * py`.
#[derive(Clone, Copy, Debug, Default)]
struct Plane {
    base: f32,
    dx: f32,
    dy: f32,
}

impl Plane {
    #[inline(always)]
    fn at(&self, px: f32, py: f32) -> f32 {
        self.base + self.dx * px + self.dy * py
    }
}

struct Gradients {
    x0: f32,
    y0: f32,
    e1: (f32, f32),
    e2: (f32, f32),
    inv_det: f32,
}

impl Gradients {
    fn plane(&self, a: [f32; 3]) -> Plane {
        let (d1, d2) = (a[1] - a[0], a[2] - a[0]);
        let dx = (d1 * self.e2.1 - d2 * self.e1.1) * self.inv_det;
        let dy = (d2 * self.e1.0 - d1 * self.e2.0) * self.inv_det;
        Plane { base: a[0] + dx * (0.5 - self.x0) + dy * (0.5 - self.y0), dx, dy }
    }
}

#[inline(always)]
fn floor_div(a: i64, b: i64) -> i64 {
    a.div_euclid(b)
}

fn draw_clipped(t: &mut Target, ctx: &Ctx, cv: &[ClipVert; 3], shader: &Shader, two_sided: bool) {
    let view = &ctx.view;
    let mut sv = [ScreenVert { x: 0, y: 0, key: 0.0, iw: 0.0, u: 0.0, t: 0.0, light: 0.0 }; 3];
    let mut ndl = [0.0f32; 3];
    for k in 0..3 {
        let (x, y, key, iw) = view.project(cv[k].v);
        if !(x.is_finite() && y.is_finite() && key.is_finite()) {
            return;
        }
        sv[k] = ScreenVert {
            x: floor_i64(x * SUB as f32 + 0.5),
            y: floor_i64(y * SUB as f32 + 0.5),
            key,
            iw,
            u: cv[k].u,
            t: cv[k].t,
            light: 0.0,
        };
        ndl[k] = cv[k].ndl;
    }
    // Pixel-centre bounding box first: most far-away triangles cover no pixel centre.
    let (min_x, max_x) = (sv[0].x.min(sv[1].x).min(sv[2].x), sv[0].x.max(sv[1].x).max(sv[2].x));
    let (min_y, max_y) = (sv[0].y.min(sv[1].y).min(sv[2].y), sv[0].y.max(sv[1].y).max(sv[2].y));
    let px0 = (-floor_div(-(min_x - SUB / 2), SUB)).max(0);
    let px1 = floor_div(max_x - SUB / 2, SUB).min(t.width as i64 - 1);
    let py0 = (-floor_div(-(min_y - SUB / 2), SUB)).max(t.y0 as i64);
    let py1 = floor_div(max_y - SUB / 2, SUB).min((t.y0 + t.rows) as i64 - 1);
    if px0 > px1 || py0 > py1 {
        return;
    }
    let area = (sv[1].x - sv[0].x) * (sv[2].y - sv[0].y) - (sv[2].x - sv[0].x) * (sv[1].y - sv[0].y);
    if area == 0 {
        return;
    }
    // Counter-clockwise in bevy's y-up NDC is a negative area in y-down pixels: front.
    let front = area < 0;
    if !front && !two_sided {
        return;
    }
    if front {
        sv.swap(1, 2);
        ndl.swap(1, 2);
    } else {
        ndl = ndl.map(|n| -n);
    }
    for k in 0..3 {
        sv[k].light = shader.light(ndl[k]);
    }
    // Edge functions E = A (Px - Xa) + B (Py - Ya), positive inside; rows as c + A*SUB*px.
    let mut edges = [(0i64, 0i64, 0i64); 3];
    for (k, e) in edges.iter_mut().enumerate() {
        let (a, b) = (&sv[k], &sv[(k + 1) % 3]);
        let (ea, eb) = (a.y - b.y, b.x - a.x);
        let bias = if ea > 0 || (ea == 0 && eb > 0) { 0 } else { -1 };
        *e = (ea, eb, ea * (SUB / 2 - a.x) - eb * a.y + bias);
    }
    let f = |v: i64| v as f32 / SUB as f32;
    let (x0, y0) = (f(sv[0].x), f(sv[0].y));
    let e1 = (f(sv[1].x) - x0, f(sv[1].y) - y0);
    let e2 = (f(sv[2].x) - x0, f(sv[2].y) - y0);
    let det = e1.0 * e2.1 - e2.0 * e1.1;
    if det <= 0.0 {
        return;
    }
    let g = Gradients { x0, y0, e1, e2, inv_det: 1.0 / det };
    let key = g.plane([sv[0].key, sv[1].key, sv[2].key]);
    let light = g.plane([sv[0].light, sv[1].light, sv[2].light]);
    let spans = Spans::new(edges, px0, px1);
    let blend = shader.alpha < 1.0;
    match (&shader.texture, view.is_ortho(), blend) {
        (None, _, false) if sv[0].light == sv[1].light && sv[1].light == sv[2].light => {
            let c = shader.color.map(|c| encode(ctx.encode, c * sv[0].light));
            fill_flat(t, &spans, py0, py1, key, c);
        }
        (None, _, _) => fill::<false, false>(t, ctx, &spans, py0, py1, key, light, shader, None),
        (Some(tex), true, _) => {
            let (u, v) = (g.plane([sv[0].u, sv[1].u, sv[2].u]), g.plane([sv[0].t, sv[1].t, sv[2].t]));
            fill::<true, false>(t, ctx, &spans, py0, py1, key, light, shader, Some((tex, u, v, Plane::default())))
        }
        (Some(tex), false, _) => {
            let u = g.plane([sv[0].u * sv[0].iw, sv[1].u * sv[1].iw, sv[2].u * sv[2].iw]);
            let v = g.plane([sv[0].t * sv[0].iw, sv[1].t * sv[1].iw, sv[2].t * sv[2].iw]);
            let w = g.plane([sv[0].iw, sv[1].iw, sv[2].iw]);
            fill::<true, true>(t, ctx, &spans, py0, py1, key, light, shader, Some((tex, u, v, w)))
        }
    }
}

/// A triangle's edge functions, for finding the pixels of a row inside it.
struct Spans {
    /// `(a, b, c, 1 / (a SUB))`: the edge function at pixel `(px, py)`'s centre is
    /// `a SUB px + b (SUB py + SUB / 2) + c`.
    edges: [(i64, i64, i64, f64); 3],
    px0: i64,
    px1: i64,
}

impl Spans {
    fn new(edges: [(i64, i64, i64); 3], px0: i64, px1: i64) -> Self {
        let edges = edges.map(|(a, b, c)| (a, b, c, if a != 0 { 1.0 / (a * SUB) as f64 } else { 0.0 }));
        Spans { edges, px0, px1 }
    }

    /// The pixels of row `py` inside the triangle, or None. Each edge's bound is estimated
    /// in floating point and made exact with the integer edge function.
    #[inline(always)]
    fn row(&self, py: i64) -> Option<(usize, usize)> {
        let (mut lo, mut hi) = (self.px0, self.px1);
        let pyc = py * SUB + SUB / 2;
        for &(a, b, c, inv) in &self.edges {
            let c = c + b * pyc;
            let step = a * SUB;
            let inside = |x: i64| c + step * x >= 0;
            if a > 0 {
                // The first x inside.
                let mut x = ((-c) as f64 * inv) as i64;
                while !inside(x) {
                    x += 1;
                }
                while inside(x - 1) {
                    x -= 1;
                }
                lo = lo.max(x);
            } else if a < 0 {
                // The last x inside.
                let mut x = (c as f64 * -inv) as i64;
                while !inside(x) {
                    x -= 1;
                }
                while inside(x + 1) {
                    x += 1;
                }
                hi = hi.min(x);
            } else if c < 0 {
                return None;
            }
        }
        (lo <= hi).then_some((lo as usize, hi as usize))
    }
}

fn fill_flat(t: &mut Target, spans: &Spans, py0: i64, py1: i64, key: Plane, c: [u8; 3]) {
    let w = t.width;
    for py in py0..=py1 {
        let Some((lo, hi)) = spans.row(py) else { continue };
        let row = py as usize - t.y0;
        let depth = &mut t.depth[row * w + lo..=row * w + hi];
        let color = &mut t.color[(row * w + lo) * 3..(row * w + hi + 1) * 3];
        let mut k = key.at(lo as f32, py as f32);
        for (d, px) in depth.iter_mut().zip(color.chunks_exact_mut(3)) {
            if k > *d {
                *d = k;
                px.copy_from_slice(&c);
            }
            k += key.dx;
        }
    }
}

/// Texture, its `u`, `v` planes (divided by `w` in perspective) and the `1/d` plane.
type TexPlanes<'a> = Option<(&'a std::sync::Arc<Texture>, Plane, Plane, Plane)>;

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn fill<const TEX: bool, const PERSP: bool>(
    t: &mut Target,
    ctx: &Ctx,
    spans: &Spans,
    py0: i64,
    py1: i64,
    key: Plane,
    light: Plane,
    shader: &Shader,
    tex: TexPlanes,
) {
    let w = t.width;
    let blend = shader.alpha < 1.0;
    let (alpha, col) = (shader.alpha, shader.color);
    let (tex, up, vp, wp) = match tex {
        Some((tx, u, v, w)) => (Some(tx.as_ref()), u, v, w),
        None => (None, Plane::default(), Plane::default(), Plane::default()),
    };
    let (tw, th) = tex.map(|t| (t.levels[0].w as f32, t.levels[0].h as f32)).unwrap_or((1.0, 1.0));
    // Affine texturing: one mip level for the whole triangle.
    let affine_level = match tex {
        Some(tx) if !PERSP => {
            let (ax, ay) = (up.dx * tw, vp.dx * th);
            let (bx, by) = (up.dy * tw, vp.dy * th);
            tx.level_for((ax * ax + ay * ay).max(bx * bx + by * by))
        }
        _ => 0,
    };
    for py in py0..=py1 {
        let Some((lo, hi)) = spans.row(py) else { continue };
        let row = py as usize - t.y0;
        let depth = &mut t.depth[row * w + lo..=row * w + hi];
        let color = &mut t.color[(row * w + lo) * 3..(row * w + hi + 1) * 3];
        let (fx, fy) = (lo as f32, py as f32);
        let mut k = key.at(fx, fy);
        let mut l = light.at(fx, fy);
        let (mut u, mut v, mut iw) = (up.at(fx, fy), vp.at(fx, fy), wp.at(fx, fy));
        // Perspective: the mip level of the pixel at (U, V, W) = (u/d, v/d, 1/d) from the
        // derivatives of u = U/W and v = V/W. One level for the row's span when both its
        // ends agree (along a row of a ground plane the depth hardly changes).
        let level_at = |u: f32, v: f32, iw: f32| {
            let inv = 1.0 / iw;
            let (su, sv) = (u * inv, v * inv);
            let (dudx, dvdx) = ((up.dx - su * wp.dx) * inv * tw, (vp.dx - sv * wp.dx) * inv * th);
            let (dudy, dvdy) = ((up.dy - su * wp.dy) * inv * tw, (vp.dy - sv * wp.dy) * inv * th);
            let rho2 = (dudx * dudx + dvdx * dvdx).max(dudy * dudy + dvdy * dvdy);
            tex.map_or(0, |tx| tx.level_for(rho2))
        };
        let span_level = if TEX && PERSP {
            let n = (hi - lo) as f32;
            let first = level_at(u, v, iw);
            (first == level_at(u + up.dx * n, v + vp.dx * n, iw + wp.dx * n)).then_some(first)
        } else {
            Some(affine_level)
        };
        for (d, px) in depth.iter_mut().zip(color.chunks_exact_mut(3)) {
            if k > *d {
                let mut rgb = [col[0] * l, col[1] * l, col[2] * l];
                if TEX {
                    let tx = tex.expect("textured");
                    let (su, sv) = if PERSP {
                        let inv = 1.0 / iw;
                        (u * inv, v * inv)
                    } else {
                        (u, v)
                    };
                    let level = match span_level {
                        Some(l) => l,
                        None => level_at(u, v, iw),
                    };
                    let texel = if ctx.bilinear { tx.bilinear(level, su, sv) } else { tx.nearest(level, su, sv) };
                    rgb = [rgb[0] * texel[0], rgb[1] * texel[1], rgb[2] * texel[2]];
                }
                if blend {
                    for c in 0..3 {
                        let dst = ctx.decode[px[c] as usize];
                        px[c] = encode(ctx.encode, dst + (rgb[c] - dst) * alpha);
                    }
                } else {
                    *d = k;
                    px[0] = encode(ctx.encode, rgb[0]);
                    px[1] = encode(ctx.encode, rgb[1]);
                    px[2] = encode(ctx.encode, rgb[2]);
                }
            }
            k += key.dx;
            l += light.dx;
            if TEX {
                u += up.dx;
                v += vp.dx;
                if PERSP {
                    iw += wp.dx;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::math::View;
    use vlmgym_envs::scene::Camera;

    fn shader() -> Shader {
        Shader { color: [1.0, 1.0, 1.0], alpha: 1.0, ambient: 1.0, diffuse: 0.0, texture: None }
    }

    /// An orthographic view of the z = 0 plane, 1 metre per pixel, (0, 0) at the image's
    /// top-left corner.
    fn pixel_view(w: u32, h: u32) -> View {
        let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
        let cam = Camera {
            name: "c".into(),
            eye: [cx, -cy, 10.0],
            target: [cx, -cy, 0.0],
            up: [0.0, 1.0, 0.0],
            fov_y_deg: 45.0,
            ortho_height: Some(h as f32),
        };
        View::new(&cam, w, h)
    }

    fn vert(x: f32, y: f32) -> Vert {
        Vert { p: [x, -y, 0.0], uv: [0.0, 0.0], ndl: 0.0 }
    }

    /// Counts how often each pixel is written when a grid of quads (two triangles each,
    /// sharing edges, with odd vertex positions) is drawn without depth test effects.
    #[test]
    fn shared_edges_draw_every_pixel_exactly_once() {
        let (w, h) = (37usize, 29usize);
        let view = pixel_view(w as u32, h as u32);
        let ctx = Ctx::new(view, false);
        let xs = [-3.0, 4.3, 9.5, 17.0, 22.25, 30.7, 41.0];
        let ys = [-2.0, 3.5, 8.0, 13.3, 20.5, 33.0];
        let mut counts = vec![0u32; w * h];
        for j in 0..ys.len() - 1 {
            for i in 0..xs.len() - 1 {
                // Skew the inner corners so the diagonals are not axis-aligned.
                let p = |a: usize, b: usize| vert(xs[a] + 0.37 * b as f32, ys[b] + 0.21 * a as f32);
                for tri in [[p(i, j), p(i, j + 1), p(i + 1, j)], [p(i + 1, j), p(i, j + 1), p(i + 1, j + 1)]] {
                    let mut color = vec![0u8; w * h * 3];
                    let mut depth = vec![f32::NEG_INFINITY; w * h];
                    let mut t = Target { color: &mut color, depth: &mut depth, width: w, y0: 0, rows: h };
                    draw_triangle(&mut t, &ctx, &tri, &shader(), true);
                    for (c, d) in counts.iter_mut().zip(&depth) {
                        *c += u32::from(d.is_finite());
                    }
                }
            }
        }
        assert!(counts.iter().all(|&c| c == 1), "{:?}", counts.chunks(w).collect::<Vec<_>>());
    }

    #[test]
    fn back_faces_are_culled_unless_two_sided() {
        let ctx = Ctx::new(pixel_view(8, 8), false);
        let run = |tri: [Vert; 3], two: bool| {
            let mut color = vec![0u8; 8 * 8 * 3];
            let mut depth = vec![f32::NEG_INFINITY; 64];
            let mut t = Target { color: &mut color, depth: &mut depth, width: 8, y0: 0, rows: 8 };
            draw_triangle(&mut t, &ctx, &tri, &shader(), two);
            depth.iter().filter(|d| d.is_finite()).count()
        };
        // Counter-clockwise seen from +z (the camera): y up in the world.
        let ccw = [vert(0.0, 8.0), vert(8.0, 8.0), vert(0.0, 0.0)];
        let cw = [ccw[0], ccw[2], ccw[1]];
        assert!(run(ccw, false) > 20);
        assert_eq!(run(cw, false), 0);
        assert_eq!(run(cw, true), run(ccw, false));
    }
}
