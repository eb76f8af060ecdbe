//! Triangle meshes of the Scene shapes in their own frame, with the bevy backend's UV
//! conventions (so textures tile the same way in both backends).

use std::f32::consts::{PI, TAU};

use vlmgym_envs::scene::Shape;

use super::math::{add, cross, dot, sub, V3};

/// Segments around curved shapes (cylinders, spheres, capsules).
pub(crate) const SEGMENTS: usize = 16;
/// Rings from pole to pole on a sphere (half as many on each capsule cap).
pub(crate) const RINGS: usize = 8;

/// A vertex: position, unit normal, texture coordinate in repeats.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct LocalVertex {
    pub p: V3,
    pub n: V3,
    pub uv: [f32; 2],
}

/// A shape's triangles, counter-clockwise seen from outside (the side the normals face).
#[derive(Clone, Debug, Default)]
pub(crate) struct LocalMesh {
    pub verts: Vec<LocalVertex>,
    pub tris: Vec<[u32; 3]>,
    /// Drawn from both sides (strips); others are back-face culled.
    pub two_sided: bool,
}

/// How many times a texture repeats across the shape's UV range (0..1 per face; strips run
/// 0..1 across their width and 1 per width along) for one repeat every `scale` metres: the
/// bevy backend's `uv_repeats`.
pub(crate) fn uv_repeats(shape: &Shape, scale: f32) -> [f32; 2] {
    let s = scale.max(1e-3);
    match shape {
        Shape::Plane { half_size } => [2.0 * half_size[0] / s, 2.0 * half_size[1] / s],
        Shape::Strip { width, .. } => [width / s, width / s],
        Shape::Cuboid { half_extents: h } => [2.0 * h[0].max(h[2]) / s, 2.0 * h[1] / s],
        _ => [1.0, 1.0],
    }
}

impl LocalMesh {
    fn vertex(&mut self, p: V3, n: V3, uv: [f32; 2]) -> u32 {
        self.verts.push(LocalVertex { p, n, uv });
        self.verts.len() as u32 - 1
    }

    /// Adds a triangle, wound so that it faces where its vertex normals point; drops
    /// degenerate ones (e.g. at sphere poles).
    fn tri(&mut self, a: u32, b: u32, c: u32) {
        let [pa, pb, pc] = [a, b, c].map(|i| self.verts[i as usize].p);
        let g = cross(sub(pb, pa), sub(pc, pa));
        if dot(g, g) < 1e-20 {
            return;
        }
        let n = add(add(self.verts[a as usize].n, self.verts[b as usize].n), self.verts[c as usize].n);
        self.tris.push(if dot(g, n) >= 0.0 { [a, b, c] } else { [a, c, b] });
    }

    fn quad(&mut self, a: u32, b: u32, c: u32, d: u32) {
        self.tri(a, b, c);
        self.tri(a, c, d);
    }

    /// Multiplies every UV by `repeats`.
    fn scale_uvs(mut self, repeats: [f32; 2]) -> Self {
        for v in &mut self.verts {
            v.uv = [v.uv[0] * repeats[0], v.uv[1] * repeats[1]];
        }
        self
    }
}

/// The triangles of `shape`, UVs multiplied by `repeats`.
pub(crate) fn tessellate(shape: &Shape, repeats: [f32; 2]) -> LocalMesh {
    let mesh = match shape {
        Shape::Cuboid { half_extents } => cuboid(*half_extents),
        Shape::Mesh { name, scale } => match vlmgym_envs::scene::meshes::get(name) {
            Some(data) => triangles(&data, *scale),
            None => cuboid([scale[0] / 2.0, scale[1] / 2.0, scale[2] / 2.0]),
        },
        Shape::Cylinder { radius, half_height } => cylinder(*radius, *half_height),
        Shape::Sphere { radius } => capsule(*radius, 0.0),
        Shape::Capsule { radius, half_height } => capsule(*radius, *half_height),
        Shape::Plane { half_size } => plane(*half_size),
        Shape::Strip { points, width, closed } => strip(points, *width, *closed),
    };
    mesh.scale_uvs(repeats)
}

/// A library mesh scaled per axis, flat-shaded (each triangle its own three vertices and
/// normal), planar UVs from x and z.
fn triangles(data: &vlmgym_envs::scene::meshes::MeshData, scale: V3) -> LocalMesh {
    let mut m = LocalMesh::default();
    for t in &data.triangles {
        let [a, b, c] = t.map(|i| {
            let v = data.vertices.get(i as usize).copied().unwrap_or_default();
            [v[0] * scale[0], v[1] * scale[1], v[2] * scale[2]]
        });
        let g = cross(sub(b, a), sub(c, a));
        let len = dot(g, g).sqrt();
        if len < 1e-12 {
            continue;
        }
        let n = [g[0] / len, g[1] / len, g[2] / len];
        let idx = [a, b, c].map(|p| m.vertex(p, n, [p[0], p[2]]));
        m.tris.push(idx);
    }
    m
}

/// bevy's `Cuboid` mesh: 24 vertices, its per-face UVs.
fn cuboid(h: V3) -> LocalMesh {
    let ([x0, y0, z0], [x1, y1, z1]) = ([-h[0], -h[1], -h[2]], h);
    #[rustfmt::skip]
    let faces: [([V3; 4], V3, [[f32; 2]; 4]); 6] = [
        ([[x0, y0, z1], [x1, y0, z1], [x1, y1, z1], [x0, y1, z1]], [0.0, 0.0, 1.0], [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]),
        ([[x0, y1, z0], [x1, y1, z0], [x1, y0, z0], [x0, y0, z0]], [0.0, 0.0, -1.0], [[1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
        ([[x1, y0, z0], [x1, y1, z0], [x1, y1, z1], [x1, y0, z1]], [1.0, 0.0, 0.0], [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]),
        ([[x0, y0, z1], [x0, y1, z1], [x0, y1, z0], [x0, y0, z0]], [-1.0, 0.0, 0.0], [[1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
        ([[x1, y1, z0], [x0, y1, z0], [x0, y1, z1], [x1, y1, z1]], [0.0, 1.0, 0.0], [[1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
        ([[x1, y0, z1], [x0, y0, z1], [x0, y0, z0], [x1, y0, z0]], [0.0, -1.0, 0.0], [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]),
    ];
    let mut m = LocalMesh::default();
    for (ps, n, uvs) in faces {
        let idx: Vec<u32> = (0..4).map(|k| m.vertex(ps[k], n, uvs[k])).collect();
        m.quad(idx[0], idx[1], idx[2], idx[3]);
    }
    m
}

/// bevy's `Plane3d` mesh (normal +Y): UV (0, 0) at (-x, -z), (1, 1) at (+x, +z).
fn plane(h: [f32; 2]) -> LocalMesh {
    let mut m = LocalMesh::default();
    let n = [0.0, 1.0, 0.0];
    let a = m.vertex([-h[0], 0.0, -h[1]], n, [0.0, 0.0]);
    let b = m.vertex([h[0], 0.0, -h[1]], n, [1.0, 0.0]);
    let c = m.vertex([h[0], 0.0, h[1]], n, [1.0, 1.0]);
    let d = m.vertex([-h[0], 0.0, h[1]], n, [0.0, 1.0]);
    m.quad(a, b, c, d);
    m
}

/// A cylinder along Y: smooth sides, flat caps.
fn cylinder(r: f32, hh: f32) -> LocalMesh {
    let mut m = LocalMesh::default();
    let ring = |k: usize| {
        let a = TAU * k as f32 / SEGMENTS as f32;
        (a.cos(), a.sin())
    };
    for k in 0..SEGMENTS {
        let ((c0, s0), (c1, s1)) = (ring(k), ring(k + 1));
        let (u0, u1) = (k as f32 / SEGMENTS as f32, (k + 1) as f32 / SEGMENTS as f32);
        let a = m.vertex([r * c0, -hh, r * s0], [c0, 0.0, s0], [u0, 1.0]);
        let b = m.vertex([r * c1, -hh, r * s1], [c1, 0.0, s1], [u1, 1.0]);
        let c = m.vertex([r * c1, hh, r * s1], [c1, 0.0, s1], [u1, 0.0]);
        let d = m.vertex([r * c0, hh, r * s0], [c0, 0.0, s0], [u0, 0.0]);
        m.quad(a, b, c, d);
    }
    for (y, ny) in [(hh, 1.0), (-hh, -1.0)] {
        let centre = m.vertex([0.0, y, 0.0], [0.0, ny, 0.0], [0.5, 0.5]);
        for k in 0..SEGMENTS {
            let ((c0, s0), (c1, s1)) = (ring(k), ring(k + 1));
            let a = m.vertex([r * c0, y, r * s0], [0.0, ny, 0.0], [0.5 + 0.5 * c0, 0.5 + 0.5 * s0]);
            let b = m.vertex([r * c1, y, r * s1], [0.0, ny, 0.0], [0.5 + 0.5 * c1, 0.5 + 0.5 * s1]);
            m.tri(centre, a, b);
        }
    }
    m
}

/// A capsule along Y (a sphere when `hh` is 0): hemispheres of `RINGS / 2` rings joined by
/// a straight part; smooth normals.
fn capsule(r: f32, hh: f32) -> LocalMesh {
    let mut m = LocalMesh::default();
    let half = RINGS / 2;
    // Latitudes from the top pole (0) to the bottom pole (RINGS); the equator is split into
    // two rings `hh` apart when there is a straight part.
    let mut rows: Vec<(f32, f32, f32)> = Vec::new(); // (y offset, polar angle, v)
    for i in 0..=RINGS {
        let theta = PI * i as f32 / RINGS as f32;
        let v = i as f32 / RINGS as f32;
        if i < half || (i == half && hh == 0.0) {
            rows.push((hh, theta, v));
        } else if i == half {
            rows.push((hh, theta, v));
            rows.push((-hh, theta, v));
        } else {
            rows.push((-hh, theta, v));
        }
    }
    let mut ids: Vec<Vec<u32>> = Vec::with_capacity(rows.len());
    let rows_len_minus_one = rows.len() - 1;
    for (i, &(yo, theta, v)) in rows.iter().enumerate() {
        // Exact poles, so their degenerate triangles are recognised.
        let (st, ct) = match i {
            0 => (0.0, 1.0),
            _ if i == rows_len_minus_one => (0.0, -1.0),
            _ => theta.sin_cos(),
        };
        let row = (0..=SEGMENTS)
            .map(|k| {
                let phi = TAU * k as f32 / SEGMENTS as f32;
                let (sp, cp) = phi.sin_cos();
                let n = [st * cp, ct, st * sp];
                m.vertex([r * n[0], yo + r * n[1], r * n[2]], n, [k as f32 / SEGMENTS as f32, v])
            })
            .collect();
        ids.push(row);
    }
    for j in 0..ids.len() - 1 {
        for k in 0..SEGMENTS {
            let (a, b, c, d) = (ids[j][k], ids[j][k + 1], ids[j + 1][k + 1], ids[j + 1][k]);
            m.quad(a, b, c, d);
        }
    }
    m
}

/// The bevy backend's `strip_mesh`: a flat ribbon along a polyline, normal +Y, two-sided.
fn strip(points: &[[f32; 2]], width: f32, closed: bool) -> LocalMesh {
    let mut m = LocalMesh { two_sided: true, ..LocalMesh::default() };
    let n = points.len();
    let mut along = 0.0f32;
    let up = [0.0, 1.0, 0.0];
    for i in 0..n {
        let prev = if i > 0 {
            points[i - 1]
        } else if closed {
            points[n - 1]
        } else {
            points[i]
        };
        let next = if i + 1 < n {
            points[i + 1]
        } else if closed {
            points[0]
        } else {
            points[i]
        };
        let (dx, dz) = (next[0] - prev[0], next[1] - prev[1]);
        let len = (dx * dx + dz * dz).sqrt().max(1e-6);
        let (nx, nz) = (-dz / len * width / 2.0, dx / len * width / 2.0);
        if i > 0 {
            let (px, pz) = (points[i][0] - points[i - 1][0], points[i][1] - points[i - 1][1]);
            along += (px * px + pz * pz).sqrt();
        }
        let v = along / width.max(1e-6);
        m.vertex([points[i][0] + nx, 0.0, points[i][1] + nz], up, [0.0, v]);
        m.vertex([points[i][0] - nx, 0.0, points[i][1] - nz], up, [1.0, v]);
    }
    let segments = if closed { n } else { n.saturating_sub(1) };
    for s in 0..segments {
        let (a, b) = (2 * s as u32, 2 * ((s + 1) % n) as u32);
        m.tri(a, a + 1, b);
        m.tri(b, a + 1, b + 1);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every triangle faces the way its normals do, and the surface is closed: the sum of
    /// area-weighted face normals is zero.
    fn closed_and_outward(m: &LocalMesh) {
        let mut sum = [0.0f32; 3];
        for t in &m.tris {
            let [a, b, c] = t.map(|i| m.verts[i as usize].p);
            let g = cross(sub(b, a), sub(c, a));
            sum = add(sum, g);
            let centroid = [(a[0] + b[0] + c[0]) / 3.0, (a[1] + b[1] + c[1]) / 3.0, (a[2] + b[2] + c[2]) / 3.0];
            assert!(dot(g, centroid) > 0.0, "inward triangle {t:?}");
        }
        assert!(dot(sum, sum) < 1e-6, "not closed: {sum:?}");
    }

    #[test]
    fn solids_are_closed_and_face_outwards() {
        closed_and_outward(&tessellate(&Shape::Cuboid { half_extents: [1.0, 2.0, 3.0] }, [1.0, 1.0]));
        closed_and_outward(&tessellate(&Shape::Cylinder { radius: 0.5, half_height: 1.0 }, [1.0, 1.0]));
        closed_and_outward(&tessellate(&Shape::Sphere { radius: 0.5 }, [1.0, 1.0]));
        closed_and_outward(&tessellate(&Shape::Capsule { radius: 0.5, half_height: 1.0 }, [1.0, 1.0]));
        let s = tessellate(&Shape::Sphere { radius: 1.0 }, [1.0, 1.0]);
        assert_eq!(s.tris.len(), 2 * SEGMENTS * (RINGS - 1), "poles drop their degenerate halves");
    }

    #[test]
    fn strips_have_two_triangles_per_segment() {
        let pts = vec![[0.0, 0.0], [1.0, 0.0], [2.0, 1.0]];
        let open = tessellate(&Shape::Strip { points: pts.clone().into(), width: 0.5, closed: false }, [1.0, 1.0]);
        let closed = tessellate(&Shape::Strip { points: pts.into(), width: 0.5, closed: true }, [1.0, 1.0]);
        assert_eq!((open.tris.len(), closed.tris.len(), open.two_sided), (4, 6, true));
    }
}
