//! Small vector helpers and the camera ([`View`]) with bevy's conventions.

use vlmgym_envs::scene::{Camera, Pose};

pub(crate) type V3 = [f32; 3];

/// `x.floor() as i64` without a libm call (`floor` is one unless SSE4.1 is enabled);
/// saturates like `as`, NaN gives 0.
#[inline(always)]
pub(crate) fn floor_i64(x: f32) -> i64 {
    let t = x as i64;
    t - i64::from((t as f32) > x)
}

/// `x.floor() as i32`, the same way.
#[inline(always)]
pub(crate) fn floor_i32(x: f32) -> i32 {
    let t = x as i32;
    t - i32::from((t as f32) > x)
}

pub(crate) fn add(a: V3, b: V3) -> V3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

pub(crate) fn sub(a: V3, b: V3) -> V3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

pub(crate) fn scale(a: V3, s: f32) -> V3 {
    [a[0] * s, a[1] * s, a[2] * s]
}

pub(crate) fn dot(a: V3, b: V3) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

pub(crate) fn cross(a: V3, b: V3) -> V3 {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

pub(crate) fn length(a: V3) -> f32 {
    dot(a, a).sqrt()
}

/// `a / |a|`, or None for a (near) zero or non-finite vector.
pub(crate) fn normalize(a: V3) -> Option<V3> {
    let l = length(a);
    (l > 1e-12 && l.is_finite()).then(|| scale(a, 1.0 / l))
}

/// A rotation (unit quaternion `[x, y, z, w]`, normalised here) and a translation as a 3x3
/// matrix (rows) plus offset.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Affine {
    pub m: [V3; 3],
    pub t: V3,
}

impl Affine {
    pub(crate) fn from_pose(pose: &Pose) -> Self {
        let [x, y, z, w] = pose.rotation;
        let n = (x * x + y * y + z * z + w * w).sqrt();
        let (x, y, z, w) = if n > 1e-12 { (x / n, y / n, z / n, w / n) } else { (0.0, 0.0, 0.0, 1.0) };
        let m = [
            [1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y - w * z), 2.0 * (x * z + w * y)],
            [2.0 * (x * y + w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z - w * x)],
            [2.0 * (x * z - w * y), 2.0 * (y * z + w * x), 1.0 - 2.0 * (x * x + y * y)],
        ];
        Affine { m, t: pose.translation }
    }

    /// The rotated and translated point.
    pub(crate) fn point(&self, p: V3) -> V3 {
        add(self.vector(p), self.t)
    }

    /// The rotated direction.
    pub(crate) fn vector(&self, v: V3) -> V3 {
        [dot(self.m[0], v), dot(self.m[1], v), dot(self.m[2], v)]
    }
}

/// bevy's near plane for perspective cameras, metres.
pub(crate) const NEAR: f32 = 0.1;
/// The far plane: the bevy backend's sky dome radius is 1500 m and cameras see twice that.
pub(crate) const FAR: f32 = 3000.0;

/// How a view projects.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Projection {
    /// Perspective: half-angle tangents of the view.
    Perspective { tan_x: f32, tan_y: f32 },
    /// Orthographic: half the visible width and height, metres.
    Orthographic { half_w: f32, half_h: f32 },
}

/// A camera ready to project: bevy's `looking_at` basis (right, up, forward) at `eye`,
/// the projection and the image (or the whole image a tile belongs to) in pixels.
#[derive(Clone, Copy, Debug)]
pub(crate) struct View {
    pub eye: V3,
    pub right: V3,
    pub up: V3,
    pub fwd: V3,
    pub proj: Projection,
    pub near: f32,
    pub far: f32,
    /// Pixels per unit of `x/d` (perspective) or per metre (orthographic), horizontally.
    pub fx: f32,
    /// The same vertically.
    pub fy: f32,
    /// Image centre, pixels.
    pub cx: f32,
    pub cy: f32,
}

/// A point in view space: right, up and the distance in front of the eye.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct ViewPoint {
    pub x: f32,
    pub y: f32,
    pub d: f32,
}

impl View {
    /// The view of `cam` onto a `width x height` image.
    pub(crate) fn new(cam: &Camera, width: u32, height: u32) -> Self {
        let (w, h) = (width as f32, height as f32);
        let aspect = w / h;
        let eye = cam.eye;
        // bevy's Transform::looking_at: back = -dir, right = up x back, up = back x right.
        let fwd = normalize(sub(cam.target, eye)).unwrap_or([0.0, 0.0, -1.0]);
        let back = scale(fwd, -1.0);
        let right = normalize(cross(cam.up, back)).unwrap_or_else(|| any_orthonormal(back));
        let up = cross(back, right);
        let (proj, near, fx, fy) = match cam.ortho_height {
            Some(oh) => {
                let half_h = (oh / 2.0).max(1e-6);
                let half_w = half_h * aspect;
                (Projection::Orthographic { half_w, half_h }, 0.0, w / (2.0 * half_w), h / (2.0 * half_h))
            }
            None => {
                let tan_y = (cam.fov_y_deg.to_radians() / 2.0).tan().max(1e-6);
                let tan_x = tan_y * aspect;
                (Projection::Perspective { tan_x, tan_y }, NEAR, w / (2.0 * tan_x), h / (2.0 * tan_y))
            }
        };
        View { eye, right, up, fwd, proj, near, far: FAR, fx, fy, cx: w / 2.0, cy: h / 2.0 }
    }

    pub(crate) fn is_ortho(&self) -> bool {
        matches!(self.proj, Projection::Orthographic { .. })
    }

    /// World to view space.
    pub(crate) fn view_point(&self, p: V3) -> ViewPoint {
        let r = sub(p, self.eye);
        ViewPoint { x: dot(r, self.right), y: dot(r, self.up), d: dot(r, self.fwd) }
    }

    /// Screen position (pixels, y down) and depth key (larger is nearer: `1/d` in
    /// perspective, `-d` orthographic) and `1/d` (1 orthographic) of a view-space point in
    /// front of the near plane.
    pub(crate) fn project(&self, v: ViewPoint) -> (f32, f32, f32, f32) {
        match self.proj {
            Projection::Perspective { .. } => {
                let iw = 1.0 / v.d;
                (self.cx + self.fx * v.x * iw, self.cy - self.fy * v.y * iw, iw, iw)
            }
            Projection::Orthographic { .. } => (self.cx + self.fx * v.x, self.cy - self.fy * v.y, -v.d, 1.0),
        }
    }

    /// Half the visible extent: `(tan_x, tan_y)` of the half angles in perspective, half
    /// the width and height in metres orthographic.
    pub(crate) fn half_extent(&self) -> (f32, f32) {
        match self.proj {
            Projection::Perspective { tan_x, tan_y } => (tan_x, tan_y),
            Projection::Orthographic { half_w, half_h } => (half_w, half_h),
        }
    }

    /// The view's clip planes as `[a, b, c, e]`: a point is inside when
    /// `a x + b y + c d + e >= 0`. `guard` widens the four side planes (1: the image edges).
    /// Order: near, far, left, right, bottom, top.
    pub(crate) fn planes(&self, guard: f32) -> [[f32; 4]; 6] {
        let (near, far) = ([0.0, 0.0, 1.0, -self.near], [0.0, 0.0, -1.0, self.far]);
        match self.proj {
            Projection::Perspective { tan_x, tan_y } => {
                let (gx, gy) = (tan_x * guard, tan_y * guard);
                [near, far, [1.0, 0.0, gx, 0.0], [-1.0, 0.0, gx, 0.0], [0.0, 1.0, gy, 0.0], [0.0, -1.0, gy, 0.0]]
            }
            Projection::Orthographic { half_w, half_h } => {
                let (gx, gy) = (half_w * guard, half_h * guard);
                [near, far, [1.0, 0.0, 0.0, gx], [-1.0, 0.0, 0.0, gx], [0.0, 1.0, 0.0, gy], [0.0, -1.0, 0.0, gy]]
            }
        }
    }

    /// A view-space plane (see [`View::planes`]) in world space: `(n, w)` with a point `p`
    /// inside when `n . p + w >= 0`.
    pub(crate) fn world_plane(&self, pl: [f32; 4]) -> (V3, f32) {
        let n = add(add(scale(self.right, pl[0]), scale(self.up, pl[1])), scale(self.fwd, pl[2]));
        (n, pl[3] - dot(n, self.eye))
    }

    /// The eight corners of the view volume in world space (the far plane at `far`).
    pub(crate) fn corners(&self, far: f32) -> [V3; 8] {
        let mut out = [[0.0; 3]; 8];
        let mut k = 0;
        for d in [self.near, far] {
            let (hw, hh) = match self.proj {
                Projection::Perspective { tan_x, tan_y } => (tan_x * d, tan_y * d),
                Projection::Orthographic { half_w, half_h } => (half_w, half_h),
            };
            for (sx, sy) in [(-1.0, -1.0), (1.0, -1.0), (-1.0, 1.0), (1.0, 1.0)] {
                let p =
                    add(add(self.eye, scale(self.fwd, d)), add(scale(self.right, sx * hw), scale(self.up, sy * hh)));
                out[k] = p;
                k += 1;
            }
        }
        out
    }
}

/// glam's `Vec3::any_orthonormal_vector`: a unit vector orthogonal to unit `v`.
fn any_orthonormal(v: V3) -> V3 {
    let sign = 1.0f32.copysign(v[2]);
    let a = -1.0 / (sign + v[2]);
    let b = v[0] * v[1] * a;
    [b, sign + v[1] * v[1] * a, -v[1]]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cam(eye: V3, target: V3, up: V3, ortho: Option<f32>) -> Camera {
        Camera { name: "c".into(), eye, target, up, fov_y_deg: 90.0, ortho_height: ortho }
    }

    #[test]
    fn looking_down_negative_z_keeps_the_axes() {
        let v = View::new(&cam([0.0, 0.0, 5.0], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0], None), 100, 100);
        assert_eq!((v.right, v.up, v.fwd), ([1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, -1.0]));
        let (x, y, key, _) = v.project(v.view_point([1.0, 0.0, 0.0]));
        // 90 degrees: x / d = 1/5 of the half width right of the centre.
        assert!((x - 60.0).abs() < 1e-4 && (y - 50.0).abs() < 1e-4 && (key - 0.2).abs() < 1e-6);
    }

    #[test]
    fn a_top_down_view_with_heading_up_puts_the_heading_at_the_top() {
        let v = View::new(&cam([0.0, 50.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0], Some(40.0)), 100, 100);
        let (x, y, key, _) = v.project(v.view_point([10.0, 0.0, 0.0]));
        assert!((x - 50.0).abs() < 1e-4 && (y - 25.0).abs() < 1e-4 && (key + 50.0).abs() < 1e-4, "{x} {y} {key}");
    }

    #[test]
    fn quaternion_rotates_like_the_pose_says() {
        let a = Affine::from_pose(&Pose::from_yaw([1.0, 2.0, 3.0], std::f32::consts::FRAC_PI_2));
        let p = a.point([1.0, 0.0, 0.0]);
        // +90 degrees about +Y takes +X to -Z.
        assert!((p[0] - 1.0).abs() < 1e-6 && (p[1] - 2.0).abs() < 1e-6 && (p[2] - 2.0).abs() < 1e-6, "{p:?}");
    }
}
