//! Small dense networks on plain row-major `f32` buffers with hand-written backward passes:
//! what SAC's networks run on. For MLPs of a few hundred units a candle graph spends more
//! time on its own bookkeeping (broadcasts, zero-filled gradient buffers, allocations) than
//! on the matrix products; here every product is one `gemm` call (a transpose is a stride,
//! not a copy), buffers are reused between updates, and a backward pass computes only the
//! gradients its caller asks for (SAC's actor update needs the Q networks' input gradient,
//! not their weight gradients).
//!
//! Layout and initialisation follow PyTorch's `nn.Linear` (weight `outputs x inputs`, `y = x
//! W^T + b`, weight and bias uniform in `+-1/sqrt(inputs)`), and parameter names follow
//! [`crate::nn::ReluMlp`]'s (`{prefix}.{layer}.weight`), so checkpoints keep their layout.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor};
use gemm::{gemm, Parallelism};
use rand::Rng;

use crate::nn::AdamConstants;

/// `dst (m x n) = op(a) op(b)`, or `dst += op(a) op(b)` when `accumulate`; all row-major.
/// `op(a)` is `a` stored as `m x k`, or with `ta` the transpose of `a` stored as `k x m`;
/// likewise `op(b)` is `b` as `k x n`, or with `tb` the transpose of `b` stored as `n x k`.
pub fn matmul(
    dst: &mut [f32],
    a: &[f32],
    b: &[f32],
    (m, n, k): (usize, usize, usize),
    ta: bool,
    tb: bool,
    accumulate: bool,
) {
    assert_eq!(dst.len(), m * n, "matmul: destination is not {m} x {n}");
    assert_eq!(a.len(), m * k, "matmul: left operand is not {m} x {k}");
    assert_eq!(b.len(), k * n, "matmul: right operand is not {k} x {n}");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst.fill(0.0);
        }
        return;
    }
    // Matrix-vector shapes (a network's one-unit output layer, its gradients): plain loops,
    // which beat gemm's kernels at these shapes.
    if n == 1 && !ta {
        for (d, row) in dst.iter_mut().zip(a.chunks_exact(k)) {
            *d = if accumulate { *d + dot(row, b) } else { dot(row, b) };
        }
        return;
    }
    if m == 1 {
        if !accumulate {
            dst.fill(0.0);
        }
        if tb {
            for (d, row) in dst.iter_mut().zip(b.chunks_exact(k)) {
                *d += dot(a, row);
            }
        } else {
            for (&x, row) in a.iter().zip(b.chunks_exact(n)) {
                for (d, y) in dst.iter_mut().zip(row) {
                    *d += x * y;
                }
            }
        }
        return;
    }
    let (a_rs, a_cs) = if ta { (1, m as isize) } else { (k as isize, 1) };
    let (b_rs, b_cs) = if tb { (1, k as isize) } else { (n as isize, 1) };
    // SAFETY: the asserts above make every element the strides address lie inside its slice,
    // and `dst` does not alias `a` or `b` (one is `&mut`).
    unsafe {
        gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}

/// `sum_i a_i b_i`, in sixteen interleaved partial sums (so it vectorises), then added in
/// a fixed order: deterministic.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for j in 0..16 {
            acc[j] += x[j] * y[j];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// A dense layer `y = x W^T + b`.
#[derive(Clone, Debug, PartialEq)]
pub struct Dense {
    /// Input width.
    pub inputs: usize,
    /// Output width.
    pub outputs: usize,
    /// `outputs x inputs`, row-major.
    pub weight: Vec<f32>,
    /// `outputs`.
    pub bias: Vec<f32>,
}

/// The gradient of a [`Dense`] layer's parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct DenseGrad {
    /// `outputs x inputs`.
    pub weight: Vec<f32>,
    /// `outputs`.
    pub bias: Vec<f32>,
}

impl Dense {
    /// PyTorch's default initialisation: weight (row by row) then bias, uniform in
    /// `+-1/sqrt(inputs)`, drawn from `rng` in that order.
    pub fn torch_default<R: Rng>(rng: &mut R, inputs: usize, outputs: usize) -> Self {
        let bound = 1.0 / (inputs as f32).sqrt();
        let weight = (0..outputs * inputs).map(|_| rng.random_range(-bound..bound)).collect();
        let bias = (0..outputs).map(|_| rng.random_range(-bound..bound)).collect();
        Dense { inputs, outputs, weight, bias }
    }

    /// `out = x W^T + b` for `rows` rows of `x`.
    pub fn forward(&self, x: &[f32], rows: usize, out: &mut Vec<f32>) {
        out.clear();
        for _ in 0..rows {
            out.extend_from_slice(&self.bias);
        }
        matmul(out, x, &self.weight, (rows, self.outputs, self.inputs), false, true, true);
    }

    /// Backward from `dy` (`rows x outputs`) at input `x`: the parameter gradient into
    /// `grad` (overwritten) when given, the input gradient `dy W` into `dx` when given.
    pub fn backward(
        &self,
        x: &[f32],
        dy: &[f32],
        rows: usize,
        grad: Option<&mut DenseGrad>,
        dx: Option<&mut Vec<f32>>,
    ) {
        if let Some(g) = grad {
            matmul(&mut g.weight, dy, x, (self.outputs, self.inputs, rows), true, false, false);
            g.bias.fill(0.0);
            for row in dy.chunks_exact(self.outputs) {
                for (b, d) in g.bias.iter_mut().zip(row) {
                    *b += d;
                }
            }
        }
        if let Some(dx) = dx {
            dx.resize(rows * self.inputs, 0.0);
            matmul(dx, dy, &self.weight, (rows, self.inputs, self.outputs), false, false, false);
        }
    }

    /// A zero gradient of this layer's shape.
    pub fn zero_grad(&self) -> DenseGrad {
        DenseGrad { weight: vec![0.0; self.weight.len()], bias: vec![0.0; self.bias.len()] }
    }
}

/// A ReLU MLP: dense layers between consecutive sizes, ReLU after every layer but the last
/// (and after the last too when `relu_out`). Layers are named `{prefix}.0`, `{prefix}.1`, ...
#[derive(Clone, Debug, PartialEq)]
pub struct Mlp {
    /// The layers, input first.
    pub layers: Vec<Dense>,
    /// ReLU after the last layer as well.
    pub relu_out: bool,
}

/// What a forward pass keeps for its backward pass: the input and every layer's output
/// (after its ReLU). Reused between calls, so steady-state passes do not allocate.
#[derive(Clone, Debug, Default)]
pub struct Tape {
    rows: usize,
    acts: Vec<Vec<f32>>,
    /// Scratch gradients of the backward pass.
    ping: Vec<f32>,
    pong: Vec<f32>,
}

impl Tape {
    /// The output of the last forward pass.
    pub fn output(&self) -> &[f32] {
        self.acts.last().map(Vec::as_slice).unwrap_or(&[])
    }
}

impl Mlp {
    /// PyTorch-initialised layers between consecutive `sizes` (at least two).
    pub fn new<R: Rng>(rng: &mut R, sizes: &[usize], relu_out: bool) -> Self {
        assert!(sizes.len() >= 2, "an MLP needs an input and an output size, got {sizes:?}");
        let layers = sizes.windows(2).map(|w| Dense::torch_default(rng, w[0], w[1])).collect();
        Mlp { layers, relu_out }
    }

    /// Every layer's weight then bias, input layer first (the order of [`name_mlp`]).
    pub fn params(&self) -> impl Iterator<Item = &[f32]> {
        self.layers.iter().flat_map(|l| [l.weight.as_slice(), l.bias.as_slice()])
    }

    /// [`Mlp::params`], mutable.
    pub fn params_mut(&mut self) -> impl Iterator<Item = &mut [f32]> {
        self.layers.iter_mut().flat_map(|l| [l.weight.as_mut_slice(), l.bias.as_mut_slice()])
    }

    /// Runs `rows` rows of `x` through the network, keeping what backward needs in `tape`;
    /// the output is [`Tape::output`].
    pub fn forward(&self, x: &[f32], rows: usize, tape: &mut Tape) {
        tape.rows = rows;
        tape.acts.resize_with(self.layers.len() + 1, Vec::new);
        tape.acts[0].clear();
        tape.acts[0].extend_from_slice(x);
        let last = self.layers.len() - 1;
        for (l, layer) in self.layers.iter().enumerate() {
            let (done, rest) = tape.acts.split_at_mut(l + 1);
            layer.forward(&done[l], rows, &mut rest[0]);
            if l < last || self.relu_out {
                rest[0].iter_mut().for_each(|v| *v = v.max(0.0));
            }
        }
    }

    /// Backward from `dout` (`rows x outputs`) through the last forward pass in `tape`:
    /// parameter gradients into `grads` (one per layer, overwritten) when given, the input
    /// gradient into `dinput` when given.
    pub fn backward(
        &self,
        tape: &mut Tape,
        dout: &[f32],
        mut grads: Option<&mut [DenseGrad]>,
        mut dinput: Option<&mut Vec<f32>>,
    ) {
        let rows = tape.rows;
        let last = self.layers.len() - 1;
        let mut dy = std::mem::take(&mut tape.ping);
        let mut dx = std::mem::take(&mut tape.pong);
        dy.clear();
        dy.extend_from_slice(dout);
        for l in (0..self.layers.len()).rev() {
            if l < last || self.relu_out {
                // A select, not a branch, so it vectorises.
                for (d, &h) in dy.iter_mut().zip(&tape.acts[l + 1]) {
                    *d = if h > 0.0 { *d } else { 0.0 };
                }
            }
            let grad = grads.as_deref_mut().map(|g| &mut g[l]);
            let want_dx = l > 0 || dinput.is_some();
            let target = if l == 0 { dinput.as_deref_mut() } else { Some(&mut dx) };
            self.layers[l].backward(&tape.acts[l], &dy, rows, grad, if want_dx { target } else { None });
            if l > 0 {
                std::mem::swap(&mut dy, &mut dx);
            }
        }
        tape.ping = dy;
        tape.pong = dx;
    }

    /// Zero gradients, one per layer.
    pub fn zero_grads(&self) -> Vec<DenseGrad> {
        self.layers.iter().map(Dense::zero_grad).collect()
    }
}

/// Gradients' weights then biases, in order (what [`HostAdam::step`] takes beside
/// [`Mlp::params_mut`]).
pub fn grad_slices<'a>(grads: impl IntoIterator<Item = &'a DenseGrad>) -> impl Iterator<Item = &'a [f32]> {
    grads.into_iter().flat_map(|g| [g.weight.as_slice(), g.bias.as_slice()])
}

/// Named parameters for checkpoints and optimizers: `(name, shape, values)`.
pub type Named<'a> = Vec<(String, Vec<usize>, &'a [f32])>;
/// Named mutable parameters, in the same order as [`Named`].
pub type NamedMut<'a> = Vec<(String, Vec<usize>, &'a mut Vec<f32>)>;

/// Appends a dense layer's parameters named `{prefix}.weight` / `{prefix}.bias`.
pub fn name_dense<'a>(out: &mut Named<'a>, prefix: &str, d: &'a Dense) {
    out.push((format!("{prefix}.weight"), vec![d.outputs, d.inputs], &d.weight));
    out.push((format!("{prefix}.bias"), vec![d.outputs], &d.bias));
}

/// [`name_dense`] for mutable parameters.
pub fn name_dense_mut<'a>(out: &mut NamedMut<'a>, prefix: &str, d: &'a mut Dense) {
    let (o, i) = (d.outputs, d.inputs);
    out.push((format!("{prefix}.weight"), vec![o, i], &mut d.weight));
    out.push((format!("{prefix}.bias"), vec![o], &mut d.bias));
}

/// Appends an MLP's parameters (`{prefix}.{layer}.weight`, ...).
pub fn name_mlp<'a>(out: &mut Named<'a>, prefix: &str, m: &'a Mlp) {
    for (i, d) in m.layers.iter().enumerate() {
        name_dense(out, &format!("{prefix}.{i}"), d);
    }
}

/// [`name_mlp`] for mutable parameters.
pub fn name_mlp_mut<'a>(out: &mut NamedMut<'a>, prefix: &str, m: &'a mut Mlp) {
    for (i, d) in m.layers.iter_mut().enumerate() {
        name_dense_mut(out, &format!("{prefix}.{i}"), d);
    }
}

/// Named parameters as host tensors, each under `{prefix}{name}`, into `out`.
pub fn to_tensors(named: &Named, prefix: &str, out: &mut BTreeMap<String, Tensor>) -> Result<()> {
    for (name, shape, v) in named {
        out.insert(format!("{prefix}{name}"), Tensor::from_slice(v, shape.as_slice(), &Device::Cpu)?);
    }
    Ok(())
}

/// Overwrites named parameters from tensors `{prefix}{name}`, checking every shape.
pub fn load_tensors(named: NamedMut, prefix: &str, t: &BTreeMap<String, Tensor>) -> Result<()> {
    for (name, shape, v) in named {
        let key = format!("{prefix}{name}");
        let src = t.get(&key).with_context(|| format!("missing `{key}`"))?;
        if src.dims() != shape.as_slice() {
            bail!("`{key}` has shape {:?}, the network needs {shape:?}", src.dims());
        }
        *v = src.flatten_all()?.to_vec1::<f32>()?;
    }
    Ok(())
}

/// Adam over a fixed list of parameters (matched by position), with the same arithmetic
/// as [`crate::nn::Adam::step`] and the same checkpoint names (`adam.m.{name}`,
/// `adam.v.{name}`, `adam.step`).
#[derive(Clone, Debug)]
pub struct HostAdam {
    lr: f64,
    eps: f64,
    step: u64,
    moments: Vec<(Vec<f32>, Vec<f32>)>,
}

impl HostAdam {
    /// Adam with learning rate `lr` and epsilon `eps` for parameters of these sizes.
    pub fn new(sizes: impl IntoIterator<Item = usize>, lr: f64, eps: f64) -> Self {
        let moments = sizes.into_iter().map(|n| (vec![0.0; n], vec![0.0; n])).collect();
        HostAdam { lr, eps, step: 0, moments }
    }

    /// One update of `params` with `grads` (same order and sizes as at construction).
    pub fn step<'a, 'g>(
        &mut self,
        params: impl IntoIterator<Item = &'a mut [f32]>,
        grads: impl IntoIterator<Item = &'g [f32]>,
    ) {
        self.step += 1;
        let k = AdamConstants::new(self.lr, 0.9, 0.999, self.eps, self.step);
        let mut count = 0;
        for ((p, (m, v)), g) in params.into_iter().zip(self.moments.iter_mut()).zip(grads) {
            assert_eq!(p.len(), g.len(), "HostAdam: a gradient does not match its parameter");
            k.update(p, m, v, g);
            count += 1;
        }
        assert_eq!(count, self.moments.len(), "HostAdam: wrong number of parameters");
    }

    /// The state as tensors named after `names` (the parameters' names, in order).
    pub fn state(&self, names: &Named, prefix: &str, out: &mut BTreeMap<String, Tensor>) -> Result<()> {
        for ((name, shape, _), (m, v)) in names.iter().zip(&self.moments) {
            out.insert(format!("{prefix}adam.m.{name}"), Tensor::from_slice(m, shape.as_slice(), &Device::Cpu)?);
            out.insert(format!("{prefix}adam.v.{name}"), Tensor::from_slice(v, shape.as_slice(), &Device::Cpu)?);
        }
        out.insert(format!("{prefix}adam.step"), Tensor::new(&[self.step as f64], &Device::Cpu)?);
        Ok(())
    }

    /// Restores [`HostAdam::state`].
    pub fn load_state(&mut self, names: &Named, prefix: &str, t: &BTreeMap<String, Tensor>) -> Result<()> {
        let get = |key: String, len: usize| -> Result<Vec<f32>> {
            let v = t.get(&key).with_context(|| format!("missing `{key}`"))?.flatten_all()?.to_vec1::<f32>()?;
            if v.len() != len {
                bail!("`{key}` has {} values, the parameter {len}", v.len());
            }
            Ok(v)
        };
        for ((name, _, p), (m, v)) in names.iter().zip(self.moments.iter_mut()) {
            *m = get(format!("{prefix}adam.m.{name}"), p.len())?;
            *v = get(format!("{prefix}adam.v.{name}"), p.len())?;
        }
        let step = t.get(&format!("{prefix}adam.step")).with_context(|| format!("missing `{prefix}adam.step`"))?;
        self.step = step.to_vec1::<f64>()?[0] as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Params, ReluMlp};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn close(a: &[f32], b: &[f32], tol: f32) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() <= tol * (1.0 + y.abs()), "element {i}: {x} vs {y}");
        }
    }

    #[test]
    fn matmul_handles_every_transpose() {
        // a: 2x3, b: 3x2 (and their transposes stored as 3x2 / 2x3).
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let at = [1.0, 4.0, 2.0, 5.0, 3.0, 6.0];
        let b = [1.0, 0.5, -1.0, 2.0, 0.0, 1.0];
        let bt = [1.0, -1.0, 0.0, 0.5, 2.0, 1.0];
        let want = [-1.0, 7.5, -1.0, 18.0];
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let mut d = [0.0; 4];
            matmul(&mut d, if ta { &at } else { &a }, if tb { &bt } else { &b }, (2, 2, 3), ta, tb, false);
            assert_eq!(d, want, "ta {ta} tb {tb}");
        }
        let mut d = [1.0; 4];
        matmul(&mut d, &a, &b, (2, 2, 3), false, false, true);
        assert_eq!(d, [0.0, 8.5, 0.0, 19.0]);
    }

    /// The matrix-vector shortcuts agree with gemm's general path (a 37-long inner
    /// dimension exercises the unrolled dot product's tail).
    #[test]
    fn matrix_vector_shapes_agree_with_the_general_product() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut r = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.random_range(-1.0..1.0)).collect() };
        let naive = |a: &[f32], b: &[f32], (m, n, k): (usize, usize, usize), ta: bool, tb: bool| -> Vec<f32> {
            let mut out = vec![0.0f32; m * n];
            for i in 0..m {
                for j in 0..n {
                    out[i * n + j] = (0..k)
                        .map(|p| {
                            let x = if ta { a[p * m + i] } else { a[i * k + p] };
                            let y = if tb { b[j * k + p] } else { b[p * n + j] };
                            x as f64 * y as f64
                        })
                        .sum::<f64>() as f32;
                }
            }
            out
        };
        for (m, n, k) in [(5, 1, 37), (1, 6, 37), (1, 1, 37), (4, 3, 37)] {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let (a, b, start) = (r(m * k), r(k * n), r(m * n));
                let want = naive(&a, &b, (m, n, k), ta, tb);
                let mut d = start.clone();
                matmul(&mut d, &a, &b, (m, n, k), ta, tb, false);
                close(&d, &want, 1e-5);
                let mut d = start.clone();
                matmul(&mut d, &a, &b, (m, n, k), ta, tb, true);
                let want_acc: Vec<f32> = want.iter().zip(&start).map(|(w, s)| w + s).collect();
                close(&d, &want_acc, 1e-5);
            }
        }
    }

    /// The hand-written backward pass gives candle autograd's gradients (parameters and
    /// input) for the same network and loss.
    #[test]
    fn mlp_gradients_match_candle_autograd() {
        for relu_out in [false, true] {
            let sizes = [5, 16, 12, 3];
            let mlp = Mlp::new(&mut ChaCha8Rng::seed_from_u64(3), &sizes, relu_out);
            let mut params = Params::cpu();
            let reference = ReluMlp::new(&mut ChaCha8Rng::seed_from_u64(3), &sizes, &mut params, "m").unwrap();
            let rows = 7;
            let mut rng = ChaCha8Rng::seed_from_u64(9);
            let x: Vec<f32> = (0..rows * 5).map(|_| rng.random_range(-2.0..2.0)).collect();
            let w: Vec<f32> = (0..rows * 3).map(|_| rng.random_range(-1.0..1.0)).collect();

            // loss = sum(w * out)
            let xt = candle_core::Var::from_slice(&x, (rows, 5), &Device::Cpu).unwrap();
            let mut out = reference.forward(xt.as_tensor()).unwrap();
            if relu_out {
                out = out.relu().unwrap();
            }
            let wt = Tensor::from_slice(&w, (rows, 3), &Device::Cpu).unwrap();
            let grads = (out.clone() * wt).unwrap().sum_all().unwrap().backward().unwrap();

            let mut tape = Tape::default();
            mlp.forward(&x, rows, &mut tape);
            close(tape.output(), &out.flatten_all().unwrap().to_vec1::<f32>().unwrap(), 1e-5);
            let mut g = mlp.zero_grads();
            let mut dx = Vec::new();
            mlp.backward(&mut tape, &w, Some(&mut g), Some(&mut dx));
            let mut named = Named::new();
            name_mlp(&mut named, "m", &mlp);
            for (name, _, _) in &named {
                let (_, var) = params.iter().find(|(k, _)| *k == name).unwrap();
                let want = grads.get(var).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
                let (l, kind) = (name.split('.').nth(1).unwrap().parse::<usize>().unwrap(), name.ends_with("weight"));
                close(if kind { &g[l].weight } else { &g[l].bias }, &want, 1e-5);
            }
            let want_dx = grads.get(&xt).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
            close(&dx, &want_dx, 1e-5);
        }
    }

    #[test]
    fn initialisation_draws_what_the_candle_layers_draw() {
        let mlp = Mlp::new(&mut ChaCha8Rng::seed_from_u64(1), &[3, 8, 2], false);
        let mut params = Params::cpu();
        ReluMlp::new(&mut ChaCha8Rng::seed_from_u64(1), &[3, 8, 2], &mut params, "q").unwrap();
        let mut named = Named::new();
        name_mlp(&mut named, "q", &mlp);
        let tensors = params.tensors();
        for (name, shape, v) in named {
            assert_eq!(tensors[&name].dims(), shape.as_slice());
            assert_eq!(tensors[&name].flatten_all().unwrap().to_vec1::<f32>().unwrap(), v);
        }
    }

    #[test]
    fn adam_state_round_trips_and_checks_sizes() {
        let mut mlp = Mlp::new(&mut ChaCha8Rng::seed_from_u64(2), &[2, 4, 1], false);
        let sizes: Vec<usize> = mlp.layers.iter().flat_map(|l| [l.weight.len(), l.bias.len()]).collect();
        let mut adam = HostAdam::new(sizes.clone(), 1e-3, 1e-8);
        let grads: Vec<Vec<f32>> = sizes.iter().map(|&n| vec![0.5; n]).collect();
        let gref: Vec<&[f32]> = grads.iter().map(Vec::as_slice).collect();
        let before = mlp.layers[0].weight[0];
        let mut named = NamedMut::new();
        name_mlp_mut(&mut named, "q", &mut mlp);
        adam.step(named.into_iter().map(|(_, _, v)| v.as_mut_slice()), gref);
        // Adam's first step moves every parameter by lr against the gradient's sign.
        assert!((mlp.layers[0].weight[0] - (before - 1e-3)).abs() < 1e-6);
        let mut named = Named::new();
        name_mlp(&mut named, "q", &mlp);
        let mut t = BTreeMap::new();
        adam.state(&named, "opt.", &mut t).unwrap();
        let mut again = HostAdam::new(sizes, 1e-3, 1e-8);
        again.load_state(&named, "opt.", &t).unwrap();
        assert_eq!(again.moments, adam.moments);
        assert_eq!(again.step, 1);
        t.insert("opt.adam.m.q.0.bias".into(), Tensor::zeros(3, candle_core::DType::F32, &Device::Cpu).unwrap());
        let err = again.load_state(&named, "opt.", &t).unwrap_err().to_string();
        assert!(err.contains("opt.adam.m.q.0.bias") && err.contains("3 values"), "{err}");
    }
}
