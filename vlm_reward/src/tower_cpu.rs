//! The image tower's inference laid out for the CPU ([`CpuTower`]): activations stay
//! channels-last (NHWC) in plain buffers, each convolution is an im2col built from
//! contiguous row copies (a `k x k` window of an NHWC map is `k` runs of `k * c_in` values)
//! followed by one matrix product for the whole batch, and bias + ReLU are fused into one
//! pass. Two kernels ([`Kernel`]): on CPUs with Intel AMX (bf16 tiles) the products run on
//! the tiles with bf16 activations and weights and f32 accumulation; elsewhere in f32 with
//! the `gemm` crate (candle's CPU matmul kernels) on rayon. Both compute the function of
//! [`crate::tower::ImageTower::forward_inference`] (tests check the f32 kernel agrees to
//! 1e-4 and the bf16 one to bf16 precision); `vlmgym bench reward` measures them.

use std::sync::Mutex;

use anyhow::{ensure, Result};
use gemm::{gemm, Parallelism};
use rayon::prelude::*;

use crate::tower::TowerConfig;

/// One convolution: the weight as a `[(ky, kx, c), out]` matrix, the bias, the geometry.
#[derive(Debug, Clone)]
struct Conv {
    weight: Vec<f32>,
    bias: Vec<f32>,
    kernel: usize,
    stride: usize,
    c_in: usize,
    c_out: usize,
    side_in: usize,
    side_out: usize,
}

impl Conv {
    /// im2col of one frame: `dst` gets a row of `width` (>= k * k * c_in, the rest zero)
    /// per output position, each the `k` runs of `k * c_in` contiguous values of its window
    /// in the NHWC map `src`.
    fn im2col<T: Copy>(&self, dst: &mut [T], src: &[T], width: usize, zero: T) {
        let (k, st, ci, si, so) = (self.kernel, self.stride, self.c_in, self.side_in, self.side_out);
        let (row, run) = (k * k * ci, k * ci);
        for oy in 0..so {
            for ox in 0..so {
                let d = &mut dst[(oy * so + ox) * width..][..width];
                for ky in 0..k {
                    let from = ((oy * st + ky) * si + ox * st) * ci;
                    d[ky * run..(ky + 1) * run].copy_from_slice(&src[from..from + run]);
                }
                d[row..].fill(zero);
            }
        }
    }
}

/// A fully connected layer: the weight as an `[in, out]` matrix, and the bias.
#[derive(Debug, Clone)]
struct Dense {
    weight: Vec<f32>,
    bias: Vec<f32>,
    n_in: usize,
    n_out: usize,
}

/// How [`CpuTower`] multiplies matrices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kernel {
    /// f32 throughout, `gemm` on rayon: every x86-64 and ARM CPU.
    F32Gemm,
    /// bf16 activations and weights, f32 accumulation, on Intel AMX tiles.
    AmxBf16,
    /// The same bf16 products on AVX-512 BF16 registers (AMD Zen 4 and later; Intel Cooper
    /// Lake), where there are no AMX tiles.
    Avx512Bf16,
}

impl Kernel {
    /// The fastest kernel this CPU runs: AMX where the CPU has it and the OS grants it, then
    /// AVX-512 BF16, then f32.
    pub fn best() -> Kernel {
        [Kernel::AmxBf16, Kernel::Avx512Bf16].into_iter().find(|k| k.available()).unwrap_or(Kernel::F32Gemm)
    }

    /// Whether this CPU runs it.
    pub fn available(self) -> bool {
        match self {
            Kernel::F32Gemm => true,
            _ => self.engine().is_some(),
        }
    }

    /// Whether it computes in bf16 (AMX or AVX-512 BF16).
    pub fn is_bf16(self) -> bool {
        self != Kernel::F32Gemm
    }

    /// The bf16 engine behind it, where this CPU runs it.
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    pub(crate) fn engine(self) -> Option<crate::tower_amx::Engine> {
        use crate::tower_amx::Engine;
        let e = match self {
            Kernel::F32Gemm => return None,
            Kernel::AmxBf16 => Engine::Amx,
            Kernel::Avx512Bf16 => Engine::Avx512,
        };
        e.available().then_some(e)
    }

    /// The bf16 engine behind it: none off x86-64 Linux.
    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    pub(crate) fn engine(self) -> Option<()> {
        None
    }
}

/// The weights packed for the bf16 engines (AMX tiles or AVX-512 BF16).
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[derive(Debug)]
struct AmxWeights {
    engine: crate::tower_amx::Engine,
    kernel: Kernel,
    convs: Vec<crate::tower_amx::Packed>,
    fc1: crate::tower_amx::Packed,
    fc2: crate::tower_amx::Packed,
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
#[derive(Debug)]
struct AmxWeights;

/// The tower's weights rearranged for [`CpuTower::forward`].
#[derive(Debug)]
pub struct CpuTower {
    convs: Vec<Conv>,
    fc1: Dense,
    fc2: Dense,
    input_size: usize,
    /// Buffers kept between calls (im2col columns, two activation maps): fresh ones of
    /// tens of megabytes cost page faults on every call.
    scratch: Mutex<[Vec<f32>; 3]>,
    /// Present when the kernel is a bf16 one.
    amx: Option<AmxWeights>,
}

/// `dst (m x n) = a (m x k) * b (k x n)`, all row-major, on rayon.
fn matmul(dst: &mut [f32], a: &[f32], b: &[f32], m: usize, k: usize, n: usize) {
    debug_assert!(dst.len() == m * n && a.len() == m * k && b.len() == k * n);
    let threads = rayon::current_num_threads();
    let par = if m * n * k > 1 << 16 && threads > 1 { Parallelism::Rayon(threads) } else { Parallelism::None };
    // SAFETY: the slices hold exactly m x n, m x k and k x n elements (checked above in
    // debug builds, and by construction at every call site), with the strides given.
    unsafe {
        gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            1,
            k as isize,
            b.as_ptr(),
            1,
            n as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            par,
        );
    }
}

/// Adds `bias` to every row of `x` (rows of `bias.len()`), then ReLU when `relu`.
fn bias_act(x: &mut [f32], bias: &[f32], relu: bool) {
    let n = bias.len();
    x.par_chunks_mut(n * 64).for_each(|rows| {
        for row in rows.chunks_exact_mut(n) {
            for (v, b) in row.iter_mut().zip(bias) {
                let y = *v + b;
                *v = if relu { y.max(0.0) } else { y };
            }
        }
    });
}

impl CpuTower {
    /// Rearranges the weights of a tower of `config`, given as `(name, values)` in
    /// [`TowerConfig::param_shapes`] order and PyTorch layouts, for the fastest kernel this
    /// CPU runs ([`Kernel::best`]).
    pub fn new(config: &TowerConfig, params: &[(String, Vec<f32>)]) -> Result<Self> {
        let widths = config.convs.iter().map(|c| c.out_channels).chain([config.hidden, config.dim]);
        let fits = widths.into_iter().all(|n| n.is_multiple_of(16));
        Self::with_kernel(config, params, if fits { Kernel::best() } else { Kernel::F32Gemm })
    }

    /// As [`CpuTower::new`], for `kernel` (an error where this CPU cannot run it).
    pub fn with_kernel(config: &TowerConfig, params: &[(String, Vec<f32>)], kernel: Kernel) -> Result<Self> {
        ensure!(
            kernel.available(),
            "cpu tower: this CPU (or OS) has no {} for the {kernel:?} kernel; use the f32 kernel",
            if kernel == Kernel::AmxBf16 { "AMX bf16 tiles" } else { "AVX-512 BF16" }
        );
        let shapes = config.param_shapes()?;
        ensure!(params.len() == shapes.len(), "cpu tower: {} tensors, the config has {}", params.len(), shapes.len());
        for ((name, values), (want, shape)) in params.iter().zip(&shapes) {
            ensure!(name == want, "cpu tower: tensor `{name}` where `{want}` belongs");
            ensure!(values.len() == shape.iter().product::<usize>(), "cpu tower: `{name}` has the wrong size");
        }
        let mut convs = Vec::new();
        let (mut side, mut c_in) = (config.input_size, 3);
        for (i, spec) in config.convs.iter().enumerate() {
            let (k, c_out) = (spec.kernel, spec.out_channels);
            let w = &params[2 * i].1; // [out, in, ky, kx]
            let mut weight = vec![0.0; k * k * c_in * c_out];
            for o in 0..c_out {
                for c in 0..c_in {
                    for ky in 0..k {
                        for kx in 0..k {
                            weight[((ky * k + kx) * c_in + c) * c_out + o] = w[((o * c_in + c) * k + ky) * k + kx];
                        }
                    }
                }
            }
            let side_out = (side - k) / spec.stride + 1;
            convs.push(Conv {
                weight,
                bias: params[2 * i + 1].1.clone(),
                kernel: k,
                stride: spec.stride,
                c_in,
                c_out,
                side_in: side,
                side_out,
            });
            side = side_out;
            c_in = c_out;
        }
        let dense = |j: usize, n_in: usize, n_out: usize| {
            let w = &params[j].1; // [out, in]
            let mut weight = vec![0.0; n_in * n_out];
            for o in 0..n_out {
                for i in 0..n_in {
                    weight[i * n_out + o] = w[o * n_in + i];
                }
            }
            Dense { weight, bias: params[j + 1].1.clone(), n_in, n_out }
        };
        let k = 2 * config.convs.len();
        let flat = side * side * c_in;
        let mut tower = CpuTower {
            convs,
            fc1: dense(k, flat, config.hidden),
            fc2: dense(k + 2, config.hidden, config.dim),
            input_size: config.input_size,
            scratch: Mutex::default(),
            amx: None,
        };
        if kernel.is_bf16() {
            tower.amx = Some(tower.pack_amx(kernel)?);
        }
        Ok(tower)
    }

    /// The kernel [`CpuTower::forward`] runs.
    pub fn kernel(&self) -> Kernel {
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        if let Some(w) = &self.amx {
            return w.kernel;
        }
        Kernel::F32Gemm
    }

    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    fn pack_amx(&self, kernel: Kernel) -> Result<AmxWeights> {
        use crate::tower_amx::Packed;
        let widths = self.convs.iter().map(|c| c.c_out).chain([self.fc1.n_out, self.fc2.n_out]);
        for n in widths {
            ensure!(n.is_multiple_of(16), "cpu tower: the bf16 kernels need layer widths in multiples of 16, not {n}");
        }
        let engine = kernel.engine().ok_or_else(|| anyhow::anyhow!("cpu tower: {kernel:?} is not a bf16 kernel"))?;
        Ok(AmxWeights {
            engine,
            kernel,
            convs: self.convs.iter().map(|c| Packed::new(&c.weight, c.kernel * c.kernel * c.c_in, c.c_out)).collect(),
            fc1: Packed::new(&self.fc1.weight, self.fc1.n_in, self.fc1.n_out),
            fc2: Packed::new(&self.fc2.weight, self.fc2.n_in, self.fc2.n_out),
        })
    }

    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    fn pack_amx(&self, _kernel: Kernel) -> Result<AmxWeights> {
        anyhow::bail!("cpu tower: the bf16 kernels need x86-64 Linux")
    }

    /// Unit-length embeddings (`b x dim`, row-major) of `b` inputs of `S x S x 3` values in
    /// [-1, 1] (see [`crate::tower::frames_to_input`]).
    pub fn forward(&self, input: &[f32], b: usize) -> Result<Vec<f32>> {
        let s = self.input_size;
        ensure!(input.len() == b * s * s * 3, "cpu tower: {} values for {b} inputs of {s}x{s}x3", input.len());
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        if let Some(amx) = &self.amx {
            return Ok(self.forward_amx(amx, Pixels::Input(input), b));
        }
        self.forward_f32(input, b)
    }

    /// [`CpuTower::forward`] of `b` RGB frames of `S x S x 3` bytes (mapped to [-1, 1] as
    /// [`crate::tower::frames_to_input`] does, without the intermediate buffer).
    pub fn forward_bytes(&self, pixels: &[u8], b: usize) -> Result<Vec<f32>> {
        let s = self.input_size;
        ensure!(pixels.len() == b * s * s * 3, "cpu tower: {} bytes for {b} frames of {s}x{s}x3", pixels.len());
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        if let Some(amx) = &self.amx {
            return Ok(self.forward_amx(amx, Pixels::Bytes(pixels), b));
        }
        let input: Vec<f32> = pixels.iter().map(|&v| byte_to_input(v)).collect();
        self.forward_f32(&input, b)
    }

    fn forward_f32(&self, input: &[f32], b: usize) -> Result<Vec<f32>> {
        let mut guard = self.scratch.lock().unwrap_or_else(|e| e.into_inner());
        let [cols, x, y] = &mut *guard;
        x.clear();
        x.extend_from_slice(input);
        for conv in &self.convs {
            let (ci, si, so) = (conv.c_in, conv.side_in, conv.side_out);
            let row = conv.kernel * conv.kernel * ci;
            cols.resize(b * so * so * row, 0.0);
            // im2col: one output position's window is k runs of k * c_in contiguous floats.
            cols.par_chunks_mut(so * so * row)
                .zip(x.par_chunks(si * si * ci))
                .for_each(|(dst, src)| conv.im2col(dst, src, row, 0.0));
            y.resize(b * so * so * conv.c_out, 0.0);
            matmul(y, cols, &conv.weight, b * so * so, row, conv.c_out);
            bias_act(y, &conv.bias, true);
            std::mem::swap(x, y);
        }
        let mut h = vec![0.0; b * self.fc1.n_out];
        matmul(&mut h, x, &self.fc1.weight, b, self.fc1.n_in, self.fc1.n_out);
        bias_act(&mut h, &self.fc1.bias, true);
        let mut out = vec![0.0; b * self.fc2.n_out];
        matmul(&mut out, &h, &self.fc2.weight, b, self.fc2.n_in, self.fc2.n_out);
        bias_act(&mut out, &self.fc2.bias, false);
        normalize_rows(&mut out, self.fc2.n_out);
        Ok(out)
    }

    /// [`CpuTower::forward`] on the AMX tiles, bf16 activations between layers: the
    /// convolutions run a few frames per rayon task (so each task's im2col columns stay in
    /// its core's cache), the dense layers on the whole batch.
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    fn forward_amx(&self, amx: &AmxWeights, input: Pixels, b: usize) -> Vec<f32> {
        use crate::tower_amx::{bf16, matmul, matmul_on, round_up, Out, Tiles, BLOCK_ROWS};
        use std::cell::RefCell;
        thread_local! {
            /// im2col columns and two activation maps (bf16 bits) of this thread's frames.
            static SCRATCH: RefCell<[Vec<u16>; 3]> = RefCell::default();
        }
        let s = self.input_size;
        let frame = s * s * 3;
        let (flat, kp1) = (self.fc1.n_in, amx.fc1.k_pad());
        let threads = rayon::current_num_threads().max(1);
        let per_task = b.div_ceil(2 * threads).clamp(1, 4);
        let mut feats = vec![0u16; round_up(b, BLOCK_ROWS) * kp1];
        feats[..b * kp1].par_chunks_mut(per_task * kp1).enumerate().for_each(|(task, dst)| {
            let n = dst.len() / kp1;
            let range = task * per_task * frame..(task * per_task + n) * frame;
            SCRATCH.with(|cell| {
                let mut guard = cell.borrow_mut();
                let [cols, x, y] = &mut *guard;
                let tiles = Tiles::load(amx.engine);
                x.clear();
                match input {
                    Pixels::Input(v) => x.extend(v[range].iter().map(|&v| bf16(v))),
                    Pixels::Bytes(v) => x.extend(v[range].iter().map(|&v| bf16(byte_to_input(v)))),
                }
                for (conv, packed) in self.convs.iter().zip(&amx.convs) {
                    let (ci, si, so, kp) = (conv.c_in, conv.side_in, conv.side_out, packed.k_pad());
                    let m = n * so * so;
                    cols.resize(round_up(m, BLOCK_ROWS) * kp, 0);
                    for (dst, src) in cols[..m * kp].chunks_exact_mut(so * so * kp).zip(x.chunks_exact(si * si * ci)) {
                        conv.im2col(dst, src, kp, 0);
                    }
                    y.resize(m * conv.c_out, 0);
                    matmul_on(&tiles, cols, m, packed, &conv.bias, true, Out::Bf16(y));
                    std::mem::swap(x, y);
                }
                for (d, f) in dst.chunks_exact_mut(kp1).zip(x.chunks_exact(flat)) {
                    d[..flat].copy_from_slice(f);
                }
            });
        });
        let kp2 = amx.fc2.k_pad();
        let mut h = vec![0u16; round_up(b, BLOCK_ROWS) * kp2];
        if kp2 == self.fc2.n_in {
            matmul(amx.engine, &feats, b, &amx.fc1, &self.fc1.bias, true, Out::Bf16(&mut h));
        } else {
            let mut hidden = vec![0u16; b * self.fc1.n_out];
            matmul(amx.engine, &feats, b, &amx.fc1, &self.fc1.bias, true, Out::Bf16(&mut hidden));
            for (d, r) in h.chunks_exact_mut(kp2).zip(hidden.chunks_exact(self.fc1.n_out)) {
                d[..r.len()].copy_from_slice(r);
            }
        }
        let mut out = vec![0.0; b * self.fc2.n_out];
        matmul(amx.engine, &h, b, &amx.fc2, &self.fc2.bias, false, Out::F32(&mut out));
        normalize_rows(&mut out, self.fc2.n_out);
        out
    }
}

/// The input of [`CpuTower::forward_amx`]: values in [-1, 1], or the frames' bytes.
#[derive(Clone, Copy)]
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
enum Pixels<'a> {
    Input(&'a [f32]),
    Bytes(&'a [u8]),
}

/// A pixel byte as the tower's input value in [-1, 1] ([`crate::tower::frames_to_input`]).
#[inline(always)]
pub(crate) fn byte_to_input(v: u8) -> f32 {
    v as f32 / 127.5 - 1.0
}

/// Scales each row of `n` values of `x` to unit length.
fn normalize_rows(x: &mut [f32], n: usize) {
    for row in x.chunks_exact_mut(n) {
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        row.iter_mut().for_each(|v| *v /= norm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tower::ImageTower;

    /// Each bf16 kernel this CPU runs gives the f32 kernel's embeddings to bf16 precision
    /// (cosine > 0.999 for every frame), deterministically.
    #[test]
    fn bf16_kernels_agree_with_f32() {
        let config = TowerConfig::with_input_size(40);
        let tower = ImageTower::init(&config, 9).unwrap();
        let params: Vec<(String, Vec<f32>)> = tower
            .named_tensors()
            .into_iter()
            .map(|(n, t)| (n, t.flatten_all().unwrap().to_vec1::<f32>().unwrap()))
            .collect();
        let f32k = CpuTower::with_kernel(&config, &params, Kernel::F32Gemm).unwrap();
        assert_eq!(f32k.kernel(), Kernel::F32Gemm);
        assert_eq!(CpuTower::new(&config, &params).unwrap().kernel(), Kernel::best(), "best kernel");
        for kernel in [Kernel::AmxBf16, Kernel::Avx512Bf16] {
            if !kernel.available() {
                let err = CpuTower::with_kernel(&config, &params, kernel).unwrap_err();
                assert!(err.to_string().contains("this CPU (or OS) has no"), "{err}");
                continue;
            }
            bf16_kernel_agrees_with_f32(&config, &params, &f32k, kernel);
        }
    }

    fn bf16_kernel_agrees_with_f32(
        config: &TowerConfig,
        params: &[(String, Vec<f32>)],
        f32k: &CpuTower,
        kernel: Kernel,
    ) {
        let amx = CpuTower::with_kernel(config, params, kernel).unwrap();
        assert_eq!(amx.kernel(), kernel);
        // 37 frames: not a multiple of the 32-row blocks.
        let b = 37;
        let input: Vec<f32> = (0..b * 40 * 40 * 3).map(|i| ((i * 29 + i / 11) % 255) as f32 / 127.5 - 1.0).collect();
        let want = f32k.forward(&input, b).unwrap();
        let got = amx.forward(&input, b).unwrap();
        let dim = config.dim;
        for (g, w) in got.chunks_exact(dim).zip(want.chunks_exact(dim)) {
            let cos: f32 = g.iter().zip(w).map(|(a, b)| a * b).sum();
            assert!(cos > 0.999, "cosine {cos}");
        }
        assert_eq!(amx.forward(&input, b).unwrap(), got, "deterministic");
        // A smaller batch after a larger one reuses the scratch buffers.
        let one = amx.forward(&input[..40 * 40 * 3], 1).unwrap();
        assert_eq!(one, got[..dim].to_vec(), "a frame's embedding does not depend on its batch");
        // Frames as bytes: the same as their [-1, 1] values, on both kernels.
        let bytes: Vec<u8> = (0..b * 40 * 40 * 3).map(|i| (i * 13 % 256) as u8).collect();
        let values: Vec<f32> = bytes.iter().map(|&v| byte_to_input(v)).collect();
        for t in [&amx, f32k] {
            assert_eq!(t.forward_bytes(&bytes, b).unwrap(), t.forward(&values, b).unwrap());
        }
    }
}
