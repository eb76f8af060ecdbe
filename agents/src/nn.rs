//! The small neural-network pieces PPO needs, on candle: orthogonally initialised MLPs,
//! the Nature CNN for pixel observations, Adam with savable state, and global-norm
//! gradient clipping.
//!
//! Every layer lives on the device of the [`Params`] it registers its weights in
//! ([`Params::new`]); initial values are drawn on the host (seeded, so the same on every
//! device) and then copied there.

use std::collections::BTreeMap;

use candle_core::{backprop::GradStore, DType, Device, Result, Tensor, Var, D};
use rand::Rng;
use rand_distr::StandardNormal;

/// An orthogonal `rows x cols` matrix scaled by `gain` (PyTorch's `orthogonal_`): QR of a
/// Gaussian matrix by modified Gram-Schmidt, with the signs fixed by R's diagonal.
pub fn orthogonal<R: Rng>(rng: &mut R, rows: usize, cols: usize, gain: f64) -> Vec<f32> {
    let (n, m) = if rows < cols { (cols, rows) } else { (rows, cols) }; // n >= m
                                                                        // Columns of an n x m Gaussian matrix.
    let mut q: Vec<Vec<f64>> = (0..m).map(|_| (0..n).map(|_| rng.sample(StandardNormal)).collect()).collect();
    for j in 0..m {
        let (done, rest) = q.split_at_mut(j);
        let col = &mut rest[0];
        for prev in done.iter() {
            let dot: f64 = col.iter().zip(prev).map(|(a, b)| a * b).sum();
            col.iter_mut().zip(prev).for_each(|(a, b)| *a -= dot * b);
        }
        let norm = col.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-12);
        col.iter_mut().for_each(|x| *x /= norm);
    }
    let mut out = vec![0.0f32; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            // q is n x m with orthonormal columns; transpose when rows < cols.
            let v = if rows >= cols { q[c][r] } else { q[r][c] };
            out[r * cols + c] = (gain * v) as f32;
        }
    }
    out
}

/// A dense layer `y = x W^T + b` whose weights are named `{prefix}.weight` / `.bias`.
#[derive(Clone, Debug)]
pub struct Dense {
    weight: Var,
    bias: Var,
}

impl Dense {
    /// Orthogonal weights with `gain`, zero bias (CleanRL's `layer_init`).
    pub fn new<R: Rng>(
        rng: &mut R,
        inputs: usize,
        outputs: usize,
        gain: f64,
        params: &mut Params,
        prefix: &str,
    ) -> Result<Self> {
        let dev = params.device().clone();
        let w = Tensor::from_vec(orthogonal(rng, outputs, inputs, gain), (outputs, inputs), &dev)?;
        let weight = params.add(&format!("{prefix}.weight"), w)?;
        let bias = params.add(&format!("{prefix}.bias"), Tensor::zeros(outputs, DType::F32, &dev)?)?;
        Ok(Dense { weight, bias })
    }

    /// PyTorch's default `nn.Linear` initialisation (what CleanRL's SAC uses): weight and
    /// bias uniform in `+-1/sqrt(inputs)`.
    pub fn torch_default<R: Rng>(
        rng: &mut R,
        inputs: usize,
        outputs: usize,
        params: &mut Params,
        prefix: &str,
    ) -> Result<Self> {
        let dev = params.device().clone();
        let bound = 1.0 / (inputs as f32).sqrt();
        let mut uniform = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.random_range(-bound..bound)).collect() };
        let w = Tensor::from_vec(uniform(outputs * inputs), (outputs, inputs), &dev)?;
        let b = Tensor::from_vec(uniform(outputs), outputs, &dev)?;
        let weight = params.add(&format!("{prefix}.weight"), w)?;
        let bias = params.add(&format!("{prefix}.bias"), b)?;
        Ok(Dense { weight, bias })
    }

    /// Applies the layer to a `batch x inputs` tensor.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.matmul(&self.weight.as_tensor().t()?)?.broadcast_add(self.bias.as_tensor())
    }
}

/// A ReLU MLP with PyTorch's default initialisation ([`Dense::torch_default`]), as
/// CleanRL's SAC builds its actor trunk and Q networks: `sizes[0] -> sizes[1] -> ...`, ReLU
/// after every layer but the last. Layers are named `{prefix}.0`, `{prefix}.1`, ...
#[derive(Clone, Debug)]
pub struct ReluMlp {
    layers: Vec<Dense>,
}

impl ReluMlp {
    /// Layers between consecutive `sizes` (at least two sizes).
    pub fn new<R: Rng>(rng: &mut R, sizes: &[usize], params: &mut Params, prefix: &str) -> Result<Self> {
        if sizes.len() < 2 {
            candle_core::bail!("a ReLU MLP needs an input and an output size, got {sizes:?}");
        }
        let layers = sizes
            .windows(2)
            .enumerate()
            .map(|(i, w)| Dense::torch_default(rng, w[0], w[1], params, &format!("{prefix}.{i}")))
            .collect::<Result<_>>()?;
        Ok(ReluMlp { layers })
    }

    /// Forward pass; ReLU after every layer but the last.
    ///
    /// The bias is added as `ones(batch, 1) @ bias` rather than broadcast, so that its
    /// gradient is a matrix product too: candle sums a broadcast's gradient over the batch
    /// axis with a strided reduction that cost SAC an eighth of its update time.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let ones = Tensor::ones((x.dim(0)?, 1), x.dtype(), x.device())?;
        let mut h = x.clone();
        for (i, l) in self.layers.iter().enumerate() {
            let (w, b) = (l.weight.as_tensor(), l.bias.as_tensor());
            let out = b.dim(0)?;
            h = (h.matmul(&w.t()?)? + ones.matmul(&b.reshape((1, out))?)?)?;
            if i + 1 < self.layers.len() {
                h = h.relu()?;
            }
        }
        Ok(h)
    }
}

/// A tanh MLP: hidden layers with gain sqrt(2), the output layer with `out_gain`.
#[derive(Clone, Debug)]
pub struct Mlp {
    layers: Vec<Dense>,
}

impl Mlp {
    /// `inputs -> hidden[0] -> ... -> outputs`.
    pub fn new<R: Rng>(
        rng: &mut R,
        inputs: usize,
        hidden: &[usize],
        outputs: usize,
        out_gain: f64,
        params: &mut Params,
        prefix: &str,
    ) -> Result<Self> {
        let mut layers = Vec::new();
        let mut fan_in = inputs;
        for (i, &h) in hidden.iter().enumerate() {
            layers.push(Dense::new(rng, fan_in, h, 2f64.sqrt(), params, &format!("{prefix}.{i}"))?);
            fan_in = h;
        }
        layers.push(Dense::new(rng, fan_in, outputs, out_gain, params, &format!("{prefix}.{}", hidden.len()))?);
        Ok(Mlp { layers })
    }

    /// Forward pass; tanh after every layer but the last.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        for (i, l) in self.layers.iter().enumerate() {
            h = l.forward(&h)?;
            if i + 1 < self.layers.len() {
                h = tanh(&h)?;
            }
        }
        Ok(h)
    }
}

/// `tanh(x)` in f32 by Eigen's rational approximation (a degree-13 odd polynomial over a
/// degree-6 even one, the input clamped to where tanh rounds to +-1): within 5e-7 of the
/// exact value, and a loop the compiler vectorises, where candle's CPU tanh calls libm's
/// scalar `tanhf` for every element (a fifth of PPO's time on CartPole).
pub fn tanh_f32(x: f32) -> f32 {
    const CLAMP: f32 = 7.905_311;
    #[allow(clippy::excessive_precision)] // Eigen's coefficients, rounded to f32
    const A: [f32; 7] = [
        4.893_524_6e-3,
        6.372_619_3e-4,
        1.485_722_4e-5,
        5.122_297e-8,
        -8.604_671_5e-11,
        2.000_188e-13,
        -2.760_768_5e-16,
    ];
    const B: [f32; 4] = [4.893_525e-3, 2.268_434_6e-3, 1.185_347_1e-4, 1.198_258_4e-6];
    let c = x.clamp(-CLAMP, CLAMP);
    let x2 = c * c;
    let mut p = A[6];
    for a in A[..6].iter().rev() {
        p = p * x2 + a;
    }
    let p = p * c;
    let q = ((B[3] * x2 + B[2]) * x2 + B[1]) * x2 + B[0];
    if x.abs() < 4e-4 {
        x
    } else {
        p / q
    }
}

/// The CPU op behind [`tanh`]: forward by [`tanh_f32`], backward `grad (1 - y^2)` in one
/// pass.
struct FastTanh;

/// `grad * (1 - y^2)`, the gradient of tanh at its output `y`.
struct TanhGrad;

fn cpu_f32<'a>(s: &'a candle_core::CpuStorage, l: &candle_core::Layout) -> Result<&'a [f32]> {
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&s.as_slice::<f32>()?[a..b]),
        None => candle_core::bail!("fast tanh: a non-contiguous input"),
    }
}

impl candle_core::CustomOp1 for FastTanh {
    fn name(&self) -> &'static str {
        "fast-tanh"
    }

    fn cpu_fwd(
        &self,
        s: &candle_core::CpuStorage,
        l: &candle_core::Layout,
    ) -> Result<(candle_core::CpuStorage, candle_core::Shape)> {
        let y: Vec<f32> = cpu_f32(s, l)?.iter().map(|&v| tanh_f32(v)).collect();
        Ok((candle_core::CpuStorage::F32(y), l.shape().clone()))
    }

    fn bwd(&self, _arg: &Tensor, res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(grad_res.contiguous()?.apply_op2_no_bwd(&res.contiguous()?, &TanhGrad)?))
    }
}

impl candle_core::CustomOp2 for TanhGrad {
    fn name(&self) -> &'static str {
        "tanh-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &candle_core::CpuStorage,
        l1: &candle_core::Layout,
        s2: &candle_core::CpuStorage,
        l2: &candle_core::Layout,
    ) -> Result<(candle_core::CpuStorage, candle_core::Shape)> {
        let (g, y) = (cpu_f32(s1, l1)?, cpu_f32(s2, l2)?);
        if g.len() != y.len() {
            candle_core::bail!("tanh gradient: {} gradients for {} outputs", g.len(), y.len());
        }
        let out: Vec<f32> = g.iter().zip(y).map(|(g, y)| g * (1.0 - y * y)).collect();
        Ok((candle_core::CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// `tanh` of a tensor: [`tanh_f32`] for f32 on the CPU, candle's own elsewhere.
pub fn tanh(x: &Tensor) -> Result<Tensor> {
    if x.device().is_cpu() && x.dtype() == DType::F32 {
        x.contiguous()?.apply_op1(FastTanh)
    } else {
        x.tanh()
    }
}

/// A 2-D convolution with orthogonal weights (gain sqrt 2) and zero bias.
#[derive(Clone, Debug)]
struct Conv {
    weight: Var,
    bias: Var,
    stride: usize,
}

impl Conv {
    fn new<R: Rng>(
        rng: &mut R,
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
        params: &mut Params,
        prefix: &str,
    ) -> Result<Self> {
        let w = orthogonal(rng, cout, cin * k * k, 2f64.sqrt());
        let dev = params.device().clone();
        let weight = params.add(&format!("{prefix}.weight"), Tensor::from_vec(w, (cout, cin, k, k), &dev)?)?;
        let bias = params.add(&format!("{prefix}.bias"), Tensor::zeros(cout, DType::F32, &dev)?)?;
        Ok(Conv { weight, bias, stride })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = x.conv2d(self.weight.as_tensor(), 0, self.stride, 1, 1)?;
        y.broadcast_add(&self.bias.as_tensor().reshape((1, (), 1, 1))?)
    }
}

/// The Nature-DQN image encoder (Mnih et al. 2015, CleanRL's Atari PPO): conv 32x8x8/4,
/// 64x4x4/2, 64x3x3/1, ReLU, then a 512-unit ReLU layer. Inputs are `batch x C x H x W`
/// pixel values in [0, 255], scaled to [0, 1]; H and W are 36 + 8k (e.g. 84).
#[derive(Clone, Debug)]
pub struct NatureCnn {
    convs: [Conv; 3],
    fc: Dense,
    shape: [usize; 3],
}

impl NatureCnn {
    /// Output width.
    pub const FEATURES: usize = 512;

    /// An encoder for `[channels, height, width]` images.
    pub fn new<R: Rng>(rng: &mut R, shape: [usize; 3], params: &mut Params, prefix: &str) -> Result<Self> {
        let [c, h, w] = shape;
        if h < 36 || w < 36 {
            candle_core::bail!("the Nature CNN needs images of at least 36x36 pixels, got {h}x{w}");
        }
        // Candle 0.11 sizes a strided convolution's input gradient as if the stride tiled
        // the input exactly, so insist on sizes where it does (84x84 and 36x36 do).
        let tiles = |n: usize| (n - 8).is_multiple_of(4) && ((n - 8) / 4 + 1 - 4).is_multiple_of(2);
        if !tiles(h) || !tiles(w) {
            candle_core::bail!(
                "the Nature CNN needs image sides of the form 36 + 8k (36, 44, ..., 84, ...) so its strides tile them exactly, got {h}x{w}"
            );
        }
        let out = |n: usize, k: usize, s: usize| (n - k) / s + 1;
        let (h3, w3) = (out(out(out(h, 8, 4), 4, 2), 3, 1), out(out(out(w, 8, 4), 4, 2), 3, 1));
        let convs = [
            Conv::new(rng, c, 32, 8, 4, params, &format!("{prefix}.conv0"))?,
            Conv::new(rng, 32, 64, 4, 2, params, &format!("{prefix}.conv1"))?,
            Conv::new(rng, 64, 64, 3, 1, params, &format!("{prefix}.conv2"))?,
        ];
        let fc = Dense::new(rng, 64 * h3 * w3, Self::FEATURES, 2f64.sqrt(), params, &format!("{prefix}.fc"))?;
        Ok(NatureCnn { convs, fc, shape })
    }

    /// Features of a `batch x (C*H*W)` tensor of flattened images.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let [c, h, w] = self.shape;
        let mut y = (x.reshape(((), c, h, w))? / 255.0)?;
        for conv in &self.convs {
            y = conv.forward(&y)?.relu()?;
        }
        self.fc.forward(&y.flatten_from(1)?)?.relu()
    }
}

/// The named trainable tensors of a model, in a stable (sorted) order, all on one device.
#[derive(Clone, Debug)]
pub struct Params {
    vars: BTreeMap<String, Var>,
    device: Device,
}

/// An empty set on the CPU ([`Params::cpu`]).
impl Default for Params {
    fn default() -> Self {
        Self::cpu()
    }
}

impl Params {
    /// An empty set whose parameters live on `device`.
    pub fn new(device: &Device) -> Self {
        Params { vars: BTreeMap::new(), device: device.clone() }
    }

    /// An empty set on the CPU.
    pub fn cpu() -> Self {
        Self::new(&Device::Cpu)
    }

    /// The device every parameter lives on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Registers a trainable tensor under a unique name (copied to [`Params::device`] when
    /// it is elsewhere).
    pub fn add(&mut self, name: &str, init: Tensor) -> Result<Var> {
        if self.vars.contains_key(name) {
            candle_core::bail!("parameter `{name}` defined twice");
        }
        let v = Var::from_tensor(&init.to_device(&self.device)?)?;
        self.vars.insert(name.to_string(), v.clone());
        Ok(v)
    }

    /// Name and variable of every parameter, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Var)> {
        self.vars.iter()
    }

    /// Number of scalar parameters.
    pub fn count(&self) -> usize {
        self.vars.values().map(|v| v.elem_count()).sum()
    }

    /// The current values, by name.
    pub fn tensors(&self) -> BTreeMap<String, Tensor> {
        self.vars.iter().map(|(k, v)| (k.clone(), v.as_tensor().clone())).collect()
    }

    /// Overwrites every parameter from `tensors` (on any device; copied to
    /// [`Params::device`]); names and shapes must match exactly.
    pub fn load(&self, tensors: &BTreeMap<String, Tensor>) -> Result<()> {
        for (name, var) in &self.vars {
            let t = tensors.get(name).ok_or_else(|| candle_core::Error::Msg(format!("missing parameter `{name}`")))?;
            if t.dims() != var.dims() {
                candle_core::bail!("parameter `{name}` has shape {:?}, the model needs {:?}", t.dims(), var.dims());
            }
            var.set(&t.to_dtype(DType::F32)?.to_device(&self.device)?)?;
        }
        if let Some(extra) = tensors.keys().find(|k| !self.vars.contains_key(*k)) {
            candle_core::bail!("unexpected parameter `{extra}`: the checkpoint is for another model");
        }
        Ok(())
    }
}

/// Adam (PyTorch semantics, no weight decay) whose moments can be saved and restored, so
/// a resumed run continues exactly. The moments live on the parameters' device.
#[derive(Debug)]
pub struct Adam {
    device: Device,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    step: u64,
    moments: BTreeMap<String, (Tensor, Tensor)>,
}

impl Adam {
    /// Adam over `params` with learning rate `lr` and epsilon `eps`.
    pub fn new(params: &Params, lr: f64, eps: f64) -> Result<Self> {
        let moments = params
            .iter()
            .map(|(k, v)| Ok((k.clone(), (v.zeros_like()?, v.zeros_like()?))))
            .collect::<Result<BTreeMap<_, _>>>()?;
        Ok(Adam { device: params.device().clone(), lr, beta1: 0.9, beta2: 0.999, eps, step: 0, moments })
    }

    /// Sets the learning rate (for annealing).
    pub fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    /// The learning rate.
    pub fn lr(&self) -> f64 {
        self.lr
    }

    /// One update of every parameter that has a gradient.
    ///
    /// On the CPU with f32 parameters this runs as one host loop per parameter that
    /// computes exactly what [`Adam::step_tensors`] computes (the same f32 operations in the
    /// same order, bit for bit, which a test checks) without a dozen temporary tensors.
    pub fn step(&mut self, params: &Params, grads: &GradStore) -> Result<()> {
        let all_f32 = params.iter().all(|(_, v)| v.dtype() == DType::F32);
        if !matches!(self.device, Device::Cpu) || !all_f32 {
            return self.step_tensors(params, grads);
        }
        self.step += 1;
        let k = AdamConstants::new(self.lr, self.beta1, self.beta2, self.eps, self.step);
        for (name, var) in params.iter() {
            let Some(g) = grads.get(var) else { continue };
            let (m, v) = self.moments.get_mut(name).expect("moments for every parameter");
            let g = g.flatten_all()?.to_vec1::<f32>()?;
            let mut mv = m.flatten_all()?.to_vec1::<f32>()?;
            let mut vv = v.flatten_all()?.to_vec1::<f32>()?;
            let mut pv = var.as_tensor().flatten_all()?.to_vec1::<f32>()?;
            k.update(&mut pv, &mut mv, &mut vv, &g);
            let shape = var.shape().clone();
            *m = Tensor::from_vec(mv, shape.clone(), &self.device)?;
            *v = Tensor::from_vec(vv, shape.clone(), &self.device)?;
            var.set(&Tensor::from_vec(pv, shape, &self.device)?)?;
        }
        Ok(())
    }

    /// [`Adam::step`] as candle tensor operations (any device).
    pub fn step_tensors(&mut self, params: &Params, grads: &GradStore) -> Result<()> {
        self.step += 1;
        let bc1 = 1.0 - self.beta1.powi(self.step as i32);
        let bc2 = 1.0 - self.beta2.powi(self.step as i32);
        for (name, var) in params.iter() {
            let Some(g) = grads.get(var) else { continue };
            let (m, v) = self.moments.get_mut(name).expect("moments for every parameter");
            // Detached, so the moments do not chain every step into one ever-deeper graph.
            *m = ((&*m * self.beta1)? + (g * (1.0 - self.beta1))?)?.detach();
            *v = ((&*v * self.beta2)? + (g.sqr()? * (1.0 - self.beta2))?)?.detach();
            let denom = ((v.sqrt()? / bc2.sqrt())? + self.eps)?;
            let update = ((&*m / denom)? * (self.lr / bc1))?;
            var.set(&(var.as_tensor() - update)?)?;
        }
        Ok(())
    }

    /// The optimizer state as named tensors (`adam.m.{param}`, `adam.v.{param}`,
    /// `adam.step`), on the optimizer's device.
    pub fn state(&self) -> Result<BTreeMap<String, Tensor>> {
        let mut out = BTreeMap::new();
        for (k, (m, v)) in &self.moments {
            out.insert(format!("adam.m.{k}"), m.clone());
            out.insert(format!("adam.v.{k}"), v.clone());
        }
        out.insert("adam.step".into(), Tensor::new(&[self.step as f64], &self.device)?);
        Ok(out)
    }

    /// Restores [`Adam::state`] (tensors on any device; the moments are copied to the
    /// optimizer's).
    pub fn load_state(&mut self, state: &BTreeMap<String, Tensor>) -> Result<()> {
        let device = &self.device;
        for (k, (m, v)) in self.moments.iter_mut() {
            let get = |key: String| {
                state.get(&key).ok_or_else(|| candle_core::Error::Msg(format!("missing `{key}`")))?.to_device(device)
            };
            *m = get(format!("adam.m.{k}"))?;
            *v = get(format!("adam.v.{k}"))?;
        }
        let step = state.get("adam.step").ok_or_else(|| candle_core::Error::Msg("missing `adam.step`".into()))?;
        self.step = step.to_vec1::<f64>()?[0] as u64;
        Ok(())
    }
}

/// Adam's constants for one step, as the f32 numbers the update multiplies by: the same
/// values candle's tensor ops would see, so the host loop and [`Adam::step_tensors`] agree
/// bit for bit.
#[derive(Clone, Copy, Debug)]
pub struct AdamConstants {
    b1: f32,
    c1: f32,
    b2: f32,
    c2: f32,
    inv_sqrt_bc2: f32,
    eps: f32,
    lr_bc1: f32,
}

impl AdamConstants {
    /// The constants of step `step` (1-based) with these hyper-parameters.
    pub fn new(lr: f64, beta1: f64, beta2: f64, eps: f64, step: u64) -> Self {
        let bc1 = 1.0 - beta1.powi(step as i32);
        let bc2 = 1.0 - beta2.powi(step as i32);
        AdamConstants {
            b1: beta1 as f32,
            c1: (1.0 - beta1) as f32,
            b2: beta2 as f32,
            c2: (1.0 - beta2) as f32,
            inv_sqrt_bc2: (1.0 / bc2.sqrt()) as f32,
            eps: eps as f32,
            lr_bc1: (lr / bc1) as f32,
        }
    }

    /// Updates parameters `p` and moments `m`, `v` in place with gradient `g`: with AVX-512
    /// where the CPU has it (the same IEEE operations without fused multiply-adds, so the
    /// same bits), else portably.
    pub fn update(&self, p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32]) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F, checked just above.
            return unsafe { self.update_avx512(p, m, v, g) };
        }
        self.update_inline(p, m, v, g)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn update_avx512(&self, p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32]) {
        self.update_inline(p, m, v, g)
    }

    #[inline(always)]
    fn update_inline(&self, p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32]) {
        let k = self;
        // Zipped iterators (no bounds checks), so the loop vectorises.
        for (((p, m), v), &g) in p.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g) {
            *m = (*m * k.b1 + 0.0) + (g * k.c1 + 0.0);
            *v = (*v * k.b2 + 0.0) + ((g * g) * k.c2 + 0.0);
            let denom = ((v.sqrt() * k.inv_sqrt_bc2 + 0.0) * 1.0) + k.eps;
            *p -= (*m / denom) * k.lr_bc1 + 0.0;
        }
    }
}

/// Scales all gradients so their global L2 norm is at most `max_norm` (PyTorch's
/// `clip_grad_norm_`); returns the norm before clipping.
pub fn clip_grad_norm(params: &Params, grads: &mut GradStore, max_norm: f64) -> Result<f64> {
    let mut total = 0.0f64;
    for (_, var) in params.iter() {
        if let Some(g) = grads.get(var) {
            total += g.sqr()?.sum_all()?.to_dtype(DType::F64)?.to_scalar::<f64>()?;
        }
    }
    let norm = total.sqrt();
    let coef = max_norm / (norm + 1e-6);
    if coef < 1.0 {
        for (_, var) in params.iter() {
            if let Some(g) = grads.get(var) {
                let scaled = (g * coef)?;
                grads.insert(var, scaled);
            }
        }
    }
    Ok(norm)
}

/// Log-softmax over the last dimension.
pub fn log_softmax(logits: &Tensor) -> Result<Tensor> {
    candle_nn::ops::log_softmax(logits, D::Minus1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn fast_tanh_is_within_5e_7_of_the_exact_value_everywhere() {
        let mut worst = (0.0f64, 0.0f32);
        for i in -2_000_000..=2_000_000 {
            let x = i as f32 * 6e-6; // -12..12, through the clamp and the small-x branch
            let err = (tanh_f32(x) as f64 - (x as f64).tanh()).abs();
            if err > worst.0 {
                worst = (err, x);
            }
        }
        assert!(worst.0 < 5e-7, "error {} at x = {}", worst.0, worst.1);
        assert_eq!((tanh_f32(50.0), tanh_f32(-50.0), tanh_f32(0.0)), (1.0, -1.0, 0.0));
        assert!(tanh_f32(f32::NAN).is_nan());
    }

    #[test]
    fn fast_tanh_gradient_is_candles() {
        let dev = Device::Cpu;
        let xs: Vec<f32> = (0..300).map(|i| (i as f32 - 150.0) * 0.05).collect();
        let x = Var::from_vec(xs.clone(), (3, 100), &dev).unwrap();
        let w = Tensor::from_vec((0..300).map(|i| (i as f32 * 0.7).sin()).collect(), (3, 100), &dev).unwrap();
        let ours = tanh(x.as_tensor()).unwrap();
        let theirs = x.as_tensor().tanh().unwrap();
        let g_ours = (&ours * &w).unwrap().sum_all().unwrap().backward().unwrap();
        let g_theirs = (&theirs * &w).unwrap().sum_all().unwrap().backward().unwrap();
        let (a, b) = (
            ours.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            theirs.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        );
        assert!(a.iter().zip(&b).all(|(a, b)| (a - b).abs() < 5e-7));
        let ga = g_ours.get(x.as_tensor()).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let gb = g_theirs.get(x.as_tensor()).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert!(ga.iter().zip(&gb).all(|(a, b)| (a - b).abs() < 1e-6), "{ga:?} vs {gb:?}");
    }

    #[test]
    fn orthogonal_rows_or_columns_are_orthonormal() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        for (r, c) in [(64, 4), (4, 64), (16, 16)] {
            let w = orthogonal(&mut rng, r, c, 1.0);
            // W W^T = I when r <= c, W^T W = I when r >= c.
            let at = |i: usize, k: usize| if r <= c { w[i * c + k] } else { w[k * c + i] };
            let (n, len) = if r <= c { (r, c) } else { (c, r) };
            for i in 0..n {
                for j in 0..n {
                    let dot: f32 = (0..len).map(|k| at(i, k) * at(j, k)).sum();
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!((dot - want).abs() < 1e-4, "({r},{c}) [{i},{j}] = {dot}");
                }
            }
        }
    }

    #[test]
    fn adam_matches_hand_computed_first_steps() {
        let mut params = Params::default();
        let x = params.add("x", Tensor::new(&[1.0f32], &Device::Cpu).unwrap()).unwrap();
        let mut adam = Adam::new(&params, 0.1, 1e-8).unwrap();
        // f(x) = x^2, grad 2x. Adam's first step moves by lr * sign(grad).
        for _ in 0..2 {
            let loss = x.as_tensor().sqr().unwrap().sum_all().unwrap();
            let grads = loss.backward().unwrap();
            adam.step(&params, &grads).unwrap();
        }
        // step 1: x = 1 - 0.1 = 0.9; step 2: g = 1.8, m = 0.9*0.2+0.18=0.36 -> m_hat = 0.36/0.19,
        // v = 0.999*0.004 + 0.001*3.24 = 0.007236 -> v_hat = 0.007236/0.001999.
        let m_hat: f64 = 0.36 / 0.19;
        let v_hat: f64 = 0.007236 / 0.001999;
        let want = 0.9 - 0.1 * m_hat / (v_hat.sqrt() + 1e-8);
        let got = x.as_tensor().to_vec1::<f32>().unwrap()[0] as f64;
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    }

    /// 100k Adam steps once overflowed the stack (the moments kept their whole history).
    #[test]
    fn many_adam_steps_keep_no_history() {
        let mut params = Params::default();
        let x = params.add("x", Tensor::new(&[1.0f32, -2.0], &Device::Cpu).unwrap()).unwrap();
        let mut adam = Adam::new(&params, 1e-3, 1e-8).unwrap();
        for _ in 0..100_000 {
            let grads = x.as_tensor().sqr().unwrap().sum_all().unwrap().backward().unwrap();
            adam.step(&params, &grads).unwrap();
        }
        let state = adam.state().unwrap();
        drop(adam);
        assert!(state["adam.m.x"].to_vec1::<f32>().unwrap().iter().all(|v| v.is_finite()));
        assert!(x.as_tensor().to_vec1::<f32>().unwrap().iter().all(|v| v.abs() < 0.1));
    }

    /// The host loop and the tensor operations must agree bit for bit (resumes and PPO's
    /// recorded runs depend on it).
    #[test]
    fn adam_host_loop_equals_tensor_ops_exactly() {
        use rand::Rng;
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut vals = |n: usize, s: f32| -> Vec<f32> { (0..n).map(|_| rng.random_range(-s..s)).collect() };
        let (p0, targets) = (vals(300, 2.0), vals(300, 3.0));
        let run = |host: bool| -> Vec<f32> {
            let mut params = Params::default();
            let x = params.add("x", Tensor::from_vec(p0.clone(), (20, 15), &Device::Cpu).unwrap()).unwrap();
            let t = Tensor::from_vec(targets.clone(), (20, 15), &Device::Cpu).unwrap();
            let mut adam = Adam::new(&params, 3e-3, 1e-5).unwrap();
            for _ in 0..50 {
                let loss = (x.as_tensor() - &t).unwrap().sqr().unwrap().powf(1.5).unwrap().sum_all().unwrap();
                let grads = loss.backward().unwrap();
                if host {
                    adam.step(&params, &grads).unwrap();
                } else {
                    adam.step_tensors(&params, &grads).unwrap();
                }
            }
            x.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap()
        };
        let (a, b) = (run(true), run(false));
        assert_ne!(a, p0);
        assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()), "host and tensor Adam differ");
    }

    #[test]
    fn clipping_bounds_the_global_norm() {
        let mut params = Params::default();
        let a = params.add("a", Tensor::new(&[3.0f32, 4.0], &Device::Cpu).unwrap()).unwrap();
        let loss = (a.as_tensor().sqr().unwrap().sum_all().unwrap() * 0.5).unwrap(); // grad = a, norm 5
        let mut grads = loss.backward().unwrap();
        let norm = clip_grad_norm(&params, &mut grads, 0.5).unwrap();
        assert!((norm - 5.0).abs() < 1e-5);
        let g = grads.get(&a).unwrap().to_vec1::<f32>().unwrap();
        assert!((g[0] - 0.3).abs() < 1e-4 && (g[1] - 0.4).abs() < 1e-4, "{g:?}");
    }
}
