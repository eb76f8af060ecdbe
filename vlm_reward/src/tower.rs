//! The simlit image tower: a small CNN mapping RGB frames into the sentence encoder's space.
//!
//! Architecture (default [`TowerConfig`]): the Nature-DQN trunk for 84x84 frames (conv 32
//! 8x8/4, conv 64 4x4/2, conv 64 3x3/1, ReLU after each, no padding), then the flattened
//! feature map (which keeps *where* things are, unlike global pooling) through a 512-unit
//! ReLU layer and a linear layer to 384 (all-MiniLM-L6-v2's dimension). Outputs are
//! L2-normalised. About 1.9M parameters; configs over [`MAX_PARAMS`] are refused.
//!
//! Frames of any size are squashed (aspect not kept) to `input_size x input_size` with a
//! triangle (bilinear) filter, scaled to [-1, 1] and kept channels-last (NHWC, as frames
//! come). For training ([`ImageTower::forward`]) convolutions run as an explicit im2col (an
//! index gather) followed by a matrix product, so the gradients are plain scatters and GEMMs:
//! candle's CPU conv2d backward falls back to direct loops for strided kernels, and training
//! ran at about half the speed with it. Inference ([`ImageTower::embed`]) uses candle's
//! conv2d, which is faster without gradients; a test checks the two agree to 1e-5. The
//! flattened feature map is in (y, x, channel) order; conv weights keep PyTorch's
//! `[out, in, k, k]` layout.
//!
//! Weights are saved as safetensors (`conv{i}.weight|bias`, `fc1.weight|bias`,
//! `fc2.weight|bias`, PyTorch layouts) with the config as JSON in the metadata key
//! [`CONFIG_KEY`]. Initialisation is seeded (ChaCha8), so a tower is a pure function of
//! its config and seed, and inference is deterministic given the weights.
//!
//! A tower lives on one candle [`Device`], given to [`ImageTower::init_on`],
//! [`ImageTower::load_on`] or [`ImageTower::from_bytes_on`] (the functions without `_on` use
//! the CPU). Initial weights are drawn on the host, so they are the same on every device;
//! saving copies the weights to host memory.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{bail, ensure, Context, Result};
use candle_core::{DType, Device, Tensor, Var, D};
use image::imageops::FilterType;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use safetensors::tensor::SafeTensors;
use serde::{Deserialize, Serialize};

use crate::backend::{Embeddings, Frames};
use crate::dataset::write_atomic;
use crate::tower_cpu::{CpuTower, Kernel};

/// Largest allowed parameter count of a tower.
pub const MAX_PARAMS: usize = 5_000_000;
/// Safetensors metadata key holding the JSON [`TowerConfig`] (the only metadata entry; it
/// also marks the file as a vlmgym image tower).
pub const CONFIG_KEY: &str = "vlmgym.image_tower.config";
/// Frames are embedded in chunks of this many.
const CHUNK: usize = 64;
/// ... and in chunks of this many by the CPU layout (larger matrix products, bounded memory).
const CPU_CHUNK: usize = 128;

/// Environment variable that picks the tower's CPU inference: `amx` (bf16 tiles), `f32`
/// (`gemm`) or `candle` (candle's conv path, as in training); unset: the fastest this CPU
/// runs ([`Kernel::best`]).
pub const KERNEL_VAR: &str = "VLMGYM_TOWER_KERNEL";

/// One convolution layer: output channels, square kernel size and stride (no padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvSpec {
    /// Output channels.
    pub out_channels: usize,
    /// Kernel size (square).
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
}

/// Shape of an [`ImageTower`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TowerConfig {
    /// Frames are resized to `input_size x input_size` (default 84).
    pub input_size: usize,
    /// Convolution layers, each followed by ReLU.
    pub convs: Vec<ConvSpec>,
    /// Width of the hidden fully connected layer.
    pub hidden: usize,
    /// Output dimension (384 for all-MiniLM-L6-v2).
    pub dim: usize,
}

impl Default for TowerConfig {
    fn default() -> Self {
        Self {
            input_size: 84,
            convs: vec![
                ConvSpec { out_channels: 32, kernel: 8, stride: 4 },
                ConvSpec { out_channels: 64, kernel: 4, stride: 2 },
                ConvSpec { out_channels: 64, kernel: 3, stride: 1 },
            ],
            hidden: 512,
            dim: 384,
        }
    }
}

impl TowerConfig {
    /// The default trunk for another input size (the flattened map size follows).
    pub fn with_input_size(input_size: usize) -> Self {
        Self { input_size, ..Self::default() }
    }

    /// Side length of the last feature map; errors when a layer does not fit its input.
    pub fn final_side(&self) -> Result<usize> {
        ensure!(self.input_size > 0, "tower config: input_size must be at least 1");
        let mut side = self.input_size;
        for (i, c) in self.convs.iter().enumerate() {
            ensure!(
                c.out_channels > 0 && c.kernel > 0 && c.stride > 0,
                "tower config: conv {i} has a zero channel count, kernel or stride"
            );
            ensure!(
                side >= c.kernel,
                "tower config: conv {i} kernel {} does not fit its {side}x{side} input (input_size {} too small)",
                c.kernel,
                self.input_size
            );
            side = (side - c.kernel) / c.stride + 1;
        }
        Ok(side)
    }

    /// Every parameter's name and shape, in a fixed order.
    pub fn param_shapes(&self) -> Result<Vec<(String, Vec<usize>)>> {
        ensure!(self.hidden > 0 && self.dim > 0, "tower config: hidden and dim must be at least 1");
        let side = self.final_side()?;
        let mut out = Vec::new();
        let mut c_in = 3;
        for (i, c) in self.convs.iter().enumerate() {
            out.push((format!("conv{i}.weight"), vec![c.out_channels, c_in, c.kernel, c.kernel]));
            out.push((format!("conv{i}.bias"), vec![c.out_channels]));
            c_in = c.out_channels;
        }
        let flat = c_in * side * side;
        out.push(("fc1.weight".into(), vec![self.hidden, flat]));
        out.push(("fc1.bias".into(), vec![self.hidden]));
        out.push(("fc2.weight".into(), vec![self.dim, self.hidden]));
        out.push(("fc2.bias".into(), vec![self.dim]));
        Ok(out)
    }

    /// Total number of parameters.
    pub fn num_params(&self) -> Result<usize> {
        Ok(self.param_shapes()?.iter().map(|(_, s)| s.iter().product::<usize>()).sum())
    }

    /// Errors when the config is inconsistent or has more than [`MAX_PARAMS`] parameters.
    pub fn validate(&self) -> Result<()> {
        let n = self.num_params()?;
        ensure!(n <= MAX_PARAMS, "tower config: {n} parameters, more than the limit of {MAX_PARAMS}");
        Ok(())
    }
}

/// Squashes every frame to `size x size` (triangle filter; no-op when already that size)
/// and returns `N x size x size x 3` values in [-1, 1] (channels last, as the frames).
pub fn frames_to_input(frames: &Frames, size: usize) -> Result<Vec<f32>> {
    ensure!(size > 0, "tower: input size must be at least 1");
    let mut out = Vec::with_capacity(frames.len() * 3 * size * size);
    for i in 0..frames.len() {
        let bytes = frames.frame(i).context("tower: frame index")?;
        let resized;
        let pixels: &[u8] = if frames.height() == size && frames.width() == size {
            bytes
        } else {
            let img = image::RgbImage::from_raw(frames.width() as u32, frames.height() as u32, bytes.to_vec())
                .context("tower: frame bytes do not match its size")?;
            resized = image::imageops::resize(&img, size as u32, size as u32, FilterType::Triangle).into_raw();
            &resized
        };
        out.extend(pixels.iter().map(|&v| crate::tower_cpu::byte_to_input(v)));
    }
    Ok(out)
}

/// im2col gather indices of every conv layer for NHWC activations: for output position
/// `(oy, ox)` (row-major) and column `(c, ky, kx)` (the order of a `[out, in, k, k]` weight
/// row), the flat index `((oy * s + ky) * w + ox * s + kx) * c_in + c` of the layer input.
fn unfold_indices(config: &TowerConfig, device: &Device) -> Result<Vec<Tensor>> {
    let mut side = config.input_size;
    let mut c_in = 3;
    let mut out = Vec::with_capacity(config.convs.len());
    for spec in &config.convs {
        let (k, st) = (spec.kernel, spec.stride);
        let o = (side - k) / st + 1;
        let mut idx = Vec::with_capacity(o * o * c_in * k * k);
        for oy in 0..o {
            for ox in 0..o {
                for c in 0..c_in {
                    for ky in 0..k {
                        for kx in 0..k {
                            idx.push((((oy * st + ky) * side + ox * st + kx) * c_in + c) as u32);
                        }
                    }
                }
            }
        }
        let n = idx.len();
        out.push(Tensor::from_vec(idx, n, device)?);
        side = o;
        c_in = spec.out_channels;
    }
    Ok(out)
}

/// The image tower: config plus parameters (as candle [`Var`]s, so training can update them).
#[derive(Debug, Clone)]
pub struct ImageTower {
    config: TowerConfig,
    names: Vec<String>,
    params: Vec<Var>,
    unfold: Vec<Tensor>,
    device: Device,
    /// The CPU inference layout of the weights, made at the first [`embed`](ImageTower::embed)
    /// on the CPU; off for good once [`vars`](ImageTower::vars) hands the weights out for
    /// training (they may change after that).
    cpu: Arc<Mutex<CpuCache>>,
}

/// See [`ImageTower::cpu`](ImageTower).
#[derive(Debug, Default)]
enum CpuCache {
    #[default]
    Empty,
    Ready(Arc<CpuTower>),
    Off,
}

impl ImageTower {
    /// A freshly initialised tower on the CPU ([`init_on`](Self::init_on)).
    pub fn init(config: &TowerConfig, seed: u64) -> Result<Self> {
        Self::init_on(config, seed, &Device::Cpu)
    }

    /// A freshly initialised tower on `device`: He-uniform weights (bound
    /// `sqrt(6 / fan_in)`) drawn on the host from ChaCha8 seeded with `seed`, zero biases.
    /// Same config and seed, same weights, on any device.
    pub fn init_on(config: &TowerConfig, seed: u64, device: &Device) -> Result<Self> {
        config.validate()?;
        let device = device.clone();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut names = Vec::new();
        let mut params = Vec::new();
        for (name, shape) in config.param_shapes()? {
            let n: usize = shape.iter().product();
            let values: Vec<f32> = if name.ends_with(".bias") {
                vec![0.0; n]
            } else {
                let fan_in: usize = shape[1..].iter().product();
                // The output layer gets the smaller LeCun bound: its outputs are normalised anyway.
                let bound =
                    if name == "fc2.weight" { (3.0 / fan_in as f32).sqrt() } else { (6.0 / fan_in as f32).sqrt() };
                (0..n).map(|_| rng.random_range(-bound..bound)).collect()
            };
            params.push(Var::from_tensor(&Tensor::from_vec(values, shape, &device)?)?);
            names.push(name);
        }
        let unfold = unfold_indices(config, &device)?;
        Ok(Self { config: config.clone(), names, params, unfold, device, cpu: Default::default() })
    }

    /// The tower's config.
    pub fn config(&self) -> &TowerConfig {
        &self.config
    }

    /// The device the tower runs on; [`forward`](Self::forward) takes input there.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Output dimension.
    pub fn dim(&self) -> usize {
        self.config.dim
    }

    /// Side of the square frames the tower takes; rewards render frames at this size.
    pub fn input_size(&self) -> usize {
        self.config.input_size
    }

    /// The parameters, in [`TowerConfig::param_shapes`] order (for an optimiser). From then
    /// on [`embed`](Self::embed) reads the weights afresh on every call, since they may change.
    pub fn vars(&self) -> &[Var] {
        *self.cpu.lock().unwrap_or_else(|e| e.into_inner()) = CpuCache::Off;
        &self.params
    }

    /// The kernel [`ImageTower::embed`] runs on the CPU ([`Kernel::best`] for this tower's
    /// layer widths), or None off the CPU and while training.
    pub fn cpu_kernel(&self) -> Result<Option<Kernel>> {
        Ok(self.cpu_tower()?.map(|t| t.kernel()))
    }

    /// Makes [`ImageTower::embed`] run `kernel` on the CPU (it picks [`Kernel::best`]
    /// otherwise): an error off the CPU, or where this CPU cannot run `kernel`.
    pub fn set_cpu_kernel(&self, kernel: Kernel) -> Result<()> {
        anyhow::ensure!(self.device.is_cpu(), "the tower runs on {:?}, not the CPU", self.device);
        let params = self
            .named_tensors()
            .into_iter()
            .map(|(n, t)| Ok((n, t.flatten_all()?.to_vec1::<f32>()?)))
            .collect::<Result<Vec<_>>>()?;
        let t = Arc::new(CpuTower::with_kernel(&self.config, &params, kernel)?);
        *self.cpu.lock().unwrap_or_else(|e| e.into_inner()) = CpuCache::Ready(t);
        Ok(())
    }

    /// The CPU inference layout of the weights (None off the CPU or once training may change
    /// the weights).
    fn cpu_tower(&self) -> Result<Option<Arc<CpuTower>>> {
        if !self.device.is_cpu() {
            return Ok(None);
        }
        let mut cache = self.cpu.lock().unwrap_or_else(|e| e.into_inner());
        match &*cache {
            CpuCache::Off => Ok(None),
            CpuCache::Ready(t) => Ok(Some(t.clone())),
            CpuCache::Empty => {
                let kernel = match std::env::var(KERNEL_VAR).ok().as_deref() {
                    None | Some("") => None,
                    Some("candle") => {
                        *cache = CpuCache::Off;
                        return Ok(None);
                    }
                    Some("f32") => Some(Kernel::F32Gemm),
                    Some("amx") => Some(Kernel::AmxBf16),
                    Some("avx512bf16") => Some(Kernel::Avx512Bf16),
                    Some(other) => {
                        anyhow::bail!("{KERNEL_VAR}={other}: use amx, avx512bf16, f32 or candle (or leave it unset)")
                    }
                };
                let params = self
                    .named_tensors()
                    .into_iter()
                    .map(|(n, t)| Ok((n, t.flatten_all()?.to_vec1::<f32>()?)))
                    .collect::<Result<Vec<_>>>()?;
                let t = Arc::new(match kernel {
                    Some(k) => CpuTower::with_kernel(&self.config, &params, k)?,
                    None => CpuTower::new(&self.config, &params)?,
                });
                *cache = CpuCache::Ready(t.clone());
                Ok(Some(t))
            }
        }
    }

    /// Parameter names and tensors, in [`TowerConfig::param_shapes`] order.
    pub fn named_tensors(&self) -> Vec<(String, Tensor)> {
        self.names.iter().cloned().zip(self.params.iter().map(|v| v.as_tensor().clone())).collect()
    }

    /// Total number of parameters.
    pub fn num_params(&self) -> usize {
        self.params.iter().map(|v| v.elem_count()).sum()
    }

    /// Forward pass on preprocessed input `B x S x S x 3` (see [`frames_to_input`]):
    /// `B x dim` unit-length rows (differentiable).
    pub fn forward(&self, input: &Tensor) -> Result<Tensor> {
        let (b, h, w, c) = input.dims4()?;
        let s = self.config.input_size;
        ensure!(c == 3 && h == s && w == s, "tower: input is {h}x{w}x{c}, expected {s}x{s}x3");
        let mut x = input.reshape((b, s * s * 3))?;
        for (i, spec) in self.config.convs.iter().enumerate() {
            let wt = self.params[2 * i].as_tensor();
            let bias = self.params[2 * i + 1].as_tensor();
            let cols_per_pos = wt.elem_count() / spec.out_channels;
            let positions = self.unfold[i].elem_count() / cols_per_pos;
            let cols = x.index_select(&self.unfold[i], 1)?.reshape((b * positions, cols_per_pos))?;
            let y = cols.matmul(&wt.reshape((spec.out_channels, cols_per_pos))?.t()?)?.broadcast_add(bias)?.relu()?;
            x = y.reshape((b, positions * spec.out_channels))?;
        }
        self.head(&x)
    }

    /// Inference forward pass (same function as [`forward`](Self::forward), candle conv2d).
    pub fn forward_inference(&self, input: &Tensor) -> Result<Tensor> {
        let (b, h, w, c) = input.dims4()?;
        let s = self.config.input_size;
        ensure!(c == 3 && h == s && w == s, "tower: input is {h}x{w}x{c}, expected {s}x{s}x3");
        let mut x = input.permute((0, 3, 1, 2))?.contiguous()?;
        for (i, spec) in self.config.convs.iter().enumerate() {
            let wt = self.params[2 * i].as_tensor();
            let bias = self.params[2 * i + 1].as_tensor().reshape((1, spec.out_channels, 1, 1))?;
            x = x.conv2d(wt, 0, spec.stride, 1, 1)?.broadcast_add(&bias)?.relu()?;
        }
        let x = x.permute((0, 2, 3, 1))?.contiguous()?.reshape((b, ()))?;
        self.head(&x)
    }

    /// The fully connected head on flattened features, then L2 normalisation.
    fn head(&self, x: &Tensor) -> Result<Tensor> {
        let k = 2 * self.config.convs.len();
        let x = x.matmul(&self.params[k].as_tensor().t()?)?.broadcast_add(self.params[k + 1].as_tensor())?.relu()?;
        let x = x.matmul(&self.params[k + 2].as_tensor().t()?)?.broadcast_add(self.params[k + 3].as_tensor())?;
        let norm = x.sqr()?.sum_keepdim(D::Minus1)?.sqrt()?.clamp(1e-12f32, f32::MAX)?;
        Ok(x.broadcast_div(&norm)?)
    }

    /// Embeds frames (any size) into unit-length rows, in chunks of 64 frames.
    pub fn embed(&self, frames: &Frames) -> Result<Embeddings> {
        let s = self.config.input_size;
        let per = 3 * s * s;
        if let Some(cpu) = self.cpu_tower()? {
            if frames.height() == s && frames.width() == s {
                let mut rows = Vec::with_capacity(frames.len() * self.config.dim);
                for chunk in frames.as_slice().chunks(CPU_CHUNK * per) {
                    rows.extend(cpu.forward_bytes(chunk, chunk.len() / per)?);
                }
                return Embeddings::from_rows(rows, frames.len(), self.config.dim)
                    .context("tower: bad output (weights not finite?)");
            }
        }
        let input = frames_to_input(frames, s)?;
        if let Some(cpu) = self.cpu_tower()? {
            let mut rows = Vec::with_capacity(frames.len() * self.config.dim);
            for chunk in input.chunks(CPU_CHUNK * per) {
                rows.extend(cpu.forward(chunk, chunk.len() / per)?);
            }
            return Embeddings::from_rows(rows, frames.len(), self.config.dim)
                .context("tower: bad output (weights not finite?)");
        }
        let mut rows = Vec::with_capacity(frames.len() * self.config.dim);
        for chunk in input.chunks(CHUNK * per) {
            let n = chunk.len() / per;
            let t = Tensor::from_slice(chunk, (n, s, s, 3), &self.device)?;
            rows.extend(self.forward_inference(&t)?.flatten_all()?.to_vec1::<f32>()?);
        }
        Embeddings::from_rows(rows, frames.len(), self.config.dim).context("tower: bad output (weights not finite?)")
    }

    /// Serialises the weights (copied to host memory) and config to safetensors bytes
    /// (deterministic).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        // One metadata entry only: safetensors writes the metadata map in hash order, so
        // several keys would make the bytes differ from run to run.
        let meta = HashMap::from([(CONFIG_KEY.to_string(), serde_json::to_string(&self.config)?)]);
        let tensors = self
            .named_tensors()
            .into_iter()
            .map(|(n, t)| Ok((n, t.to_device(&Device::Cpu)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(safetensors::serialize(tensors.iter().map(|(n, t)| (n.as_str(), t)), Some(meta))?)
    }

    /// Writes the tower to `path` atomically (temporary file, then rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomic(path, &self.to_bytes()?).with_context(|| format!("tower: cannot save {}", path.display()))
    }

    /// Reads a tower written by [`save`](Self::save) onto the CPU
    /// ([`load_on`](Self::load_on)).
    pub fn load(path: &Path) -> Result<Self> {
        Self::load_on(path, &Device::Cpu)
    }

    /// Reads a tower written by [`save`](Self::save) onto `device`; errors name a missing
    /// file, a file that is not safetensors, a missing/bad config, a missing tensor, a wrong
    /// shape or dtype, or non-finite weights.
    pub fn load_on(path: &Path, device: &Device) -> Result<Self> {
        ensure!(
            path.is_file(),
            "tower: {} does not exist (train one with `vlmgym reward-model train`)",
            path.display()
        );
        let bytes = std::fs::read(path).with_context(|| format!("tower: cannot read {}", path.display()))?;
        Self::from_bytes_on(&bytes, device).with_context(|| format!("tower: cannot load {}", path.display()))
    }

    /// Reads a tower from safetensors bytes onto the CPU (see [`load_on`](Self::load_on)).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Self::from_bytes_on(bytes, &Device::Cpu)
    }

    /// Reads a tower from safetensors bytes onto `device` (see [`load_on`](Self::load_on)).
    pub fn from_bytes_on(bytes: &[u8], device: &Device) -> Result<Self> {
        let (_, header) =
            SafeTensors::read_metadata(bytes).context("not a valid safetensors file (corrupt or truncated)")?;
        let meta = header.metadata().as_ref().context("no metadata: not a vlmgym image tower file")?;
        let config_json = meta.get(CONFIG_KEY).with_context(|| format!("no `{CONFIG_KEY}` in the metadata"))?;
        let config: TowerConfig = serde_json::from_str(config_json).context("bad tower config in the metadata")?;
        config.validate()?;
        let st = SafeTensors::deserialize(bytes).context("not a valid safetensors file (corrupt or truncated)")?;
        let device = device.clone();
        let mut names = Vec::new();
        let mut params = Vec::new();
        for (name, shape) in config.param_shapes()? {
            let view = st.tensor(&name).with_context(|| format!("tensor `{name}` is missing"))?;
            ensure!(
                view.shape() == shape.as_slice(),
                "tensor `{name}` has shape {:?}, the config needs {shape:?}",
                view.shape()
            );
            ensure!(view.dtype() == safetensors::Dtype::F32, "tensor `{name}` is {:?}, expected F32", view.dtype());
            // Checked for finite values in host memory, then copied to the device.
            let t = candle_core::safetensors::Load::load(&view, &Device::Cpu)?;
            let values = t.flatten_all()?.to_vec1::<f32>()?;
            if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                bail!("tensor `{name}` value {i} is not finite ({})", values[i]);
            }
            params.push(Var::from_tensor(&t.to_dtype(DType::F32)?.to_device(&device)?)?);
            names.push(name);
        }
        let unfold = unfold_indices(&config, &device)?;
        Ok(Self { config, names, params, unfold, device, cpu: Default::default() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> TowerConfig {
        TowerConfig {
            input_size: 16,
            convs: vec![
                ConvSpec { out_channels: 4, kernel: 4, stride: 2 },
                ConvSpec { out_channels: 8, kernel: 3, stride: 2 },
            ],
            hidden: 16,
            dim: 6,
        }
    }

    #[test]
    fn default_is_small_and_valid() {
        let c = TowerConfig::default();
        assert_eq!(c.final_side().unwrap(), 7);
        let n = c.num_params().unwrap();
        assert!(n < MAX_PARAMS && n > 1_000_000, "{n}");
        assert!(TowerConfig::with_input_size(20).validate().is_err());
        let big = TowerConfig { hidden: 4096, ..TowerConfig::default() };
        assert!(big.validate().unwrap_err().to_string().contains("limit"));
    }

    /// The CPU layout computes what candle's conv2d forward does, batch sizes across its
    /// chunking included; once the weights are handed out for training, embed follows their
    /// changes.
    #[test]
    fn cpu_layout_matches_candle_and_follows_training() {
        let t = ImageTower::init(&TowerConfig::with_input_size(40), 5).unwrap();
        let n = CPU_CHUNK + 3;
        let data: Vec<u8> = (0..n * 40 * 40 * 3).map(|i| ((i * 31 + i / 7) % 256) as u8).collect();
        let frames = Frames::new(data, n, 40, 40).unwrap();
        let fast = t.embed(&frames).unwrap();
        assert!(matches!(*t.cpu.lock().unwrap(), CpuCache::Ready(_)), "embed on the CPU uses the CPU layout");
        let input = Tensor::from_vec(frames_to_input(&frames, 40).unwrap(), (n, 40, 40, 3), &Device::Cpu).unwrap();
        let slow: Vec<f32> = t.forward_inference(&input).unwrap().flatten_all().unwrap().to_vec1().unwrap();
        let fast: Vec<f32> = fast.iter().flatten().copied().collect();
        let worst = fast.iter().zip(&slow).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        // f32 kernel: the same sums in another order; AMX: bf16 inputs and weights.
        let tol = match t.cpu_kernel().unwrap() {
            Some(Kernel::F32Gemm) => 1e-4,
            Some(Kernel::AmxBf16 | Kernel::Avx512Bf16) => 2e-2,
            None => unreachable!("a CPU tower"),
        };
        assert!(worst < tol, "largest difference {worst}");
        assert_eq!(t.embed(&frames).unwrap().iter().flatten().copied().collect::<Vec<f32>>(), fast, "deterministic");
        // Training: new weights show in the next embedding (an offset: a bias-free ReLU net
        // only rescales under a pure scaling, which normalising hides).
        let w = &t.vars()[0];
        w.set(&w.as_tensor().affine(0.5, 0.05).unwrap()).unwrap();
        let after: Vec<f32> = t.embed(&frames).unwrap().iter().flatten().copied().collect();
        let moved = after.iter().zip(&fast).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(moved > 1e-3, "embed ignored the changed weights");
    }

    #[test]
    fn embeds_any_size_deterministically_and_round_trips() {
        let t = ImageTower::init(&tiny(), 3).unwrap();
        assert_eq!(ImageTower::init(&tiny(), 3).unwrap().to_bytes().unwrap(), t.to_bytes().unwrap());
        let data: Vec<u8> = (0..2 * 30 * 20 * 3).map(|i| (i * 7 % 256) as u8).collect();
        let frames = Frames::new(data, 2, 30, 20).unwrap();
        let e = t.embed(&frames).unwrap();
        assert_eq!((e.len(), e.dim()), (2, 6));
        for r in e.iter() {
            assert!((r.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-5);
        }
        assert_eq!(t.embed(&frames).unwrap(), e);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tower.safetensors");
        t.save(&p).unwrap();
        let t2 = ImageTower::load(&p).unwrap();
        assert_eq!(t2.config(), &tiny());
        assert_eq!(t2.embed(&frames).unwrap(), e);
    }

    /// The im2col forward equals candle's conv2d on the same weights (NCHW, then flattened in
    /// (y, x, c) order).
    #[test]
    fn im2col_matches_conv2d() {
        let cfg = TowerConfig {
            input_size: 19,
            convs: vec![
                ConvSpec { out_channels: 5, kernel: 5, stride: 3 },
                ConvSpec { out_channels: 7, kernel: 2, stride: 1 },
            ],
            hidden: 9,
            dim: 4,
        };
        let t = ImageTower::init(&cfg, 11).unwrap();
        let v: Vec<f32> = (0..2 * 19 * 19 * 3).map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0).collect();
        let x = Tensor::from_vec(v, (2, 19, 19, 3), &Device::Cpu).unwrap();
        let ours = t.forward(&x).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let p = |i: usize| t.vars()[i].as_tensor().clone();
        let mut r = x.permute((0, 3, 1, 2)).unwrap().contiguous().unwrap();
        for (i, spec) in cfg.convs.iter().enumerate() {
            let b = p(2 * i + 1).reshape((1, spec.out_channels, 1, 1)).unwrap();
            r = r.conv2d(&p(2 * i), 0, spec.stride, 1, 1).unwrap().broadcast_add(&b).unwrap().relu().unwrap();
        }
        let r = r.permute((0, 2, 3, 1)).unwrap().flatten_from(1).unwrap();
        let r = r.matmul(&p(4).t().unwrap()).unwrap().broadcast_add(&p(5)).unwrap().relu().unwrap();
        let r = r.matmul(&p(6).t().unwrap()).unwrap().broadcast_add(&p(7)).unwrap();
        let norm = r.sqr().unwrap().sum_keepdim(1).unwrap().sqrt().unwrap();
        let want = r.broadcast_div(&norm).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let diff = ours.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(diff < 1e-5, "{diff}");
        let inf = t.forward_inference(&x).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let diff = ours.iter().zip(&inf).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(diff < 1e-5, "{diff}");
    }

    #[test]
    fn load_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.safetensors");
        let e = ImageTower::load(&p).unwrap_err().to_string();
        assert!(e.contains("does not exist"), "{e}");
        std::fs::write(&p, b"not a tower").unwrap();
        let e = format!("{:#}", ImageTower::load(&p).unwrap_err());
        assert!(e.contains("corrupt"), "{e}");
        // Right config, wrong tensor shape.
        let t = ImageTower::init(&tiny(), 1).unwrap();
        let mut tensors = t.named_tensors();
        tensors[0].1 = Tensor::zeros((4, 3, 3, 3), DType::F32, &Device::Cpu).unwrap();
        let meta = HashMap::from([(CONFIG_KEY.to_string(), serde_json::to_string(&tiny()).unwrap())]);
        let bytes = safetensors::serialize(tensors.iter().map(|(n, t)| (n.as_str(), t)), Some(meta)).unwrap();
        let e = format!("{:#}", ImageTower::from_bytes(&bytes).unwrap_err());
        assert!(e.contains("conv0.weight") && e.contains("[4, 3, 4, 4]"), "{e}");
        let bytes = safetensors::serialize(tensors.iter().map(|(n, t)| (n.as_str(), t)), None).unwrap();
        let e = format!("{:#}", ImageTower::from_bytes(&bytes).unwrap_err());
        assert!(e.contains("no metadata"), "{e}");
    }
}
