//! Matrix products on Intel AMX tiles in bf16 (Sapphire Rapids and later), for
//! [`crate::tower_cpu::CpuTower`]: `out = act(a * b + bias)` with `a` in bf16 (rows of a
//! padded length), `b` packed once into the tiles' pair-interleaved ("VNNI") layout, f32
//! accumulation in the tiles, and the bias, ReLU and the cast to the next layer's bf16
//! fused into the write-back. One `tdpbf16ps` multiplies a 16 x 32 block by a 32 x 16 one
//! (8,192 multiply-adds); each task keeps a 32 x 32 block of results in four tiles.
//!
//! The same products run on AVX-512 BF16 (`vdpbf16ps`, AMD Zen 4 and later, Intel Cooper
//! Lake) where there are no tiles: each 32 x 32 block is four 8-row blocks of register
//! accumulators, each step one broadcast pair of `a` times a 16-column pair row of the packed
//! `b` ([`Engine::Avx512`]). Same layouts, same f32 accumulation, so both engines fit one
//! caller.
//!
//! Used only where the CPU has AMX-TILE and AMX-BF16 and Linux grants the process the tile
//! state ([`amx_available`]), or has AVX-512 BF16 ([`avx512_bf16_available`]); elsewhere the
//! callers use f32 `gemm`.

use std::arch::asm;
use std::sync::OnceLock;

use rayon::prelude::*;

/// Rows (of `a` and of the result) per tile.
pub(crate) const TILE_ROWS: usize = 16;
/// Depth per tile product: 32 bf16 (64 bytes) per row of an `a` tile.
pub(crate) const TILE_K: usize = 32;
/// Result columns per tile (16 f32).
const TILE_N: usize = 16;
/// Rows of the result one task's inner block covers (two `a` tiles).
pub(crate) const BLOCK_ROWS: usize = 2 * TILE_ROWS;

/// Rounds `x` up to a multiple of `to`.
pub(crate) fn round_up(x: usize, to: usize) -> usize {
    x.div_ceil(to) * to
}

/// The bf16 nearest to `x` (ties to even), as its bits.
#[inline(always)]
pub(crate) fn bf16(x: f32) -> u16 {
    let b = x.to_bits();
    ((b + 0x7fff + ((b >> 16) & 1)) >> 16) as u16
}

/// Which instructions multiply the bf16 blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Engine {
    /// Intel AMX tiles (`tdpbf16ps`).
    Amx,
    /// AVX-512 BF16 registers (`vdpbf16ps`).
    Avx512,
}

impl Engine {
    /// Whether this CPU runs it.
    pub(crate) fn available(self) -> bool {
        match self {
            Engine::Amx => amx_available(),
            Engine::Avx512 => avx512_bf16_available(),
        }
    }
}

/// Whether this CPU has AVX-512 F and BF16.
pub(crate) fn avx512_bf16_available() -> bool {
    std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512bf16")
}

/// Whether this CPU and OS can run the AMX engine: CPUID says AMX-TILE and AMX-BF16, and
/// Linux grants the process the tile data state (asked once, on the first call).
pub(crate) fn amx_available() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| {
        let leaf7 = std::arch::x86_64::__cpuid_count(7, 0);
        let (tile, bf16) = (leaf7.edx & (1 << 24) != 0, leaf7.edx & (1 << 22) != 0);
        if !(tile && bf16) {
            return false;
        }
        const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
        const XFEATURE_XTILEDATA: libc::c_long = 18;
        // SAFETY: arch_prctl with a permission request only changes this process's
        // allowed extended state; it fails cleanly (non-zero) where it is not supported.
        unsafe { libc::syscall(libc::SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0 }
    })
}

/// A `k x n` matrix in the tiles' layout: for each 16-column block and 32-row block, 16
/// rows of 16 column pairs `(b[2r][c], b[2r + 1][c])` (rows beyond `k` are zero).
#[derive(Debug, Clone)]
pub(crate) struct Packed {
    data: Vec<u16>,
    k_pad: usize,
    n: usize,
}

impl Packed {
    /// Packs `b` (`k x n`, row-major f32); `n` must be a multiple of 16.
    pub(crate) fn new(b: &[f32], k: usize, n: usize) -> Self {
        assert!(n.is_multiple_of(TILE_N) && b.len() == k * n, "packed: {k}x{n} from {} values", b.len());
        let k_pad = round_up(k, TILE_K);
        let (kb, nb) = (k_pad / TILE_K, n / TILE_N);
        let mut data = vec![0u16; k_pad * n];
        for j in 0..nb {
            for q in 0..kb {
                let tile = &mut data[(j * kb + q) * TILE_K * TILE_N..][..TILE_K * TILE_N];
                for r in 0..TILE_K / 2 {
                    for c in 0..TILE_N {
                        for p in 0..2 {
                            let row = q * TILE_K + 2 * r + p;
                            if row < k {
                                tile[(r * TILE_N + c) * 2 + p] = bf16(b[row * n + j * TILE_N + c]);
                            }
                        }
                    }
                }
            }
        }
        Packed { data, k_pad, n }
    }

    /// The padded depth: rows of `a` passed to [`matmul`] hold this many values.
    pub(crate) fn k_pad(&self) -> usize {
        self.k_pad
    }

    fn tile(&self, j: usize, q: usize) -> *const u16 {
        self.data[(j * (self.k_pad / TILE_K) + q) * TILE_K * TILE_N..].as_ptr()
    }
}

/// Where [`matmul`] writes its `m x n` result, row-major.
pub(crate) enum Out<'a> {
    /// bf16 bits, for the next layer's input.
    Bf16(&'a mut [u16]),
    /// f32, for the embedding.
    F32(&'a mut [f32]),
}

/// The tile configuration: palette 1, eight tiles of 16 rows x 64 bytes.
#[repr(C, align(64))]
struct TileConfig([u8; 64]);

impl TileConfig {
    fn full() -> Self {
        let mut c = [0u8; 64];
        c[0] = 1;
        for t in 0..8 {
            c[16 + 2 * t] = 64; // bytes per row, little-endian u16
            c[48 + t] = TILE_ROWS as u8;
        }
        TileConfig(c)
    }
}

/// An engine made ready on this thread: for AMX the tile configuration, released (tiles
/// back to their initial state) on drop.
pub(crate) struct Tiles(Engine);

impl Tiles {
    /// Makes `engine` ready; for AMX loads eight tiles of 16 rows x 64 bytes. Panics where
    /// this CPU does not run `engine`.
    pub(crate) fn load(engine: Engine) -> Tiles {
        assert!(engine.available(), "{engine:?} is not available on this CPU");
        if engine == Engine::Amx {
            let cfg = TileConfig::full();
            // SAFETY: AMX is available and permitted (checked above); the configuration is
            // valid for palette 1.
            unsafe { asm!("ldtilecfg [{}]", in(reg) cfg.0.as_ptr(), options(nostack, readonly)) };
        }
        Tiles(engine)
    }
}

impl Drop for Tiles {
    fn drop(&mut self) {
        if self.0 == Engine::Amx {
            // SAFETY: the configuration was loaded by `Tiles::load` on this thread.
            unsafe { asm!("tilerelease", options(nostack)) };
        }
    }
}

/// The rows blocks and column tiles of one call: shapes checked once.
struct Job<'a> {
    a: &'a [u16],
    m: usize,
    b: &'a Packed,
    bias: &'a [f32],
    relu: bool,
    /// The output's first element, and whether it is bf16 (else f32).
    out: (usize, bool),
}

impl Job<'_> {
    fn new<'a>(a: &'a [u16], m: usize, b: &'a Packed, bias: &'a [f32], relu: bool, out: Out<'a>) -> Job<'a> {
        let m_pad = round_up(m, BLOCK_ROWS);
        assert!(a.len() >= m_pad * b.k_pad && bias.len() == b.n, "amx matmul: shapes do not match");
        let out = match out {
            Out::Bf16(o) => {
                assert!(o.len() >= m * b.n, "amx matmul: output too small");
                (o.as_mut_ptr() as usize, true)
            }
            Out::F32(o) => {
                assert!(o.len() >= m * b.n, "amx matmul: output too small");
                (o.as_mut_ptr() as usize, false)
            }
        };
        Job { a, m, b, bias, relu, out }
    }

    /// Row blocks `blocks` x column tiles `cols`, with the tiles of `_tiles` loaded.
    fn run(&self, tiles: &Tiles, blocks: std::ops::Range<usize>, cols: std::ops::Range<usize>) {
        let (n, k_pad) = (self.b.n, self.b.k_pad);
        let mut acc = [0f32; BLOCK_ROWS * 2 * TILE_N];
        for blk in blocks {
            let r0 = blk * BLOCK_ROWS;
            let mut j = cols.start;
            while j < cols.end {
                let pair = j + 1 < cols.end;
                // SAFETY: the engine is ready (`tiles`); `a` holds `m_pad` rows of `k_pad`
                // values (checked in `new`), `b` every tile read.
                match tiles.0 {
                    Engine::Amx => unsafe { block(self.a, k_pad, r0, self.b, j, pair, &mut acc) },
                    Engine::Avx512 => unsafe { block_avx512(self.a, k_pad, r0, self.b, j, pair, &mut acc) },
                }
                let width = if pair { 2 * TILE_N } else { TILE_N };
                let bias = &self.bias[j * TILE_N..][..width];
                for r in 0..BLOCK_ROWS.min(self.m.saturating_sub(r0)) {
                    let row = &acc[r * 2 * TILE_N..][..width];
                    let at = (r0 + r) * n + j * TILE_N;
                    // SAFETY: row `r0 + r < m`, columns within `n`: inside the `m x n`
                    // output (checked in `new`); callers give concurrent runs disjoint
                    // row blocks or column ranges.
                    if self.out.1 {
                        let o = unsafe { std::slice::from_raw_parts_mut((self.out.0 as *mut u16).add(at), width) };
                        write_back(o, row, bias, self.relu, bf16);
                    } else {
                        let o = unsafe { std::slice::from_raw_parts_mut((self.out.0 as *mut f32).add(at), width) };
                        write_back(o, row, bias, self.relu, |v| v);
                    }
                }
                j += if pair { 2 } else { 1 };
            }
        }
    }
}

#[inline(always)]
fn write_back<T>(out: &mut [T], acc: &[f32], bias: &[f32], relu: bool, cast: impl Fn(f32) -> T) {
    if relu {
        for ((o, v), b) in out.iter_mut().zip(acc).zip(bias) {
            *o = cast((v + b).max(0.0));
        }
    } else {
        for ((o, v), b) in out.iter_mut().zip(acc).zip(bias) {
            *o = cast(v + b);
        }
    }
}

/// `out = act(a * b + bias)` for `m` rows on this thread (tiles of `tiles` loaded): `a`
/// holds at least `round_up(m, 32)` rows of `b.k_pad()` bf16 (rows past `m` are read,
/// never written out), `bias` has `n` values, `act` is ReLU when `relu`.
pub(crate) fn matmul_on(tiles: &Tiles, a: &[u16], m: usize, b: &Packed, bias: &[f32], relu: bool, out: Out) {
    let job = Job::new(a, m, b, bias, relu, out);
    job.run(tiles, 0..round_up(m, BLOCK_ROWS) / BLOCK_ROWS, 0..b.n / TILE_N);
}

/// [`matmul_on`] on `engine`, split over rayon: by row blocks, and by columns too when the
/// rows are few.
pub(crate) fn matmul(engine: Engine, a: &[u16], m: usize, b: &Packed, bias: &[f32], relu: bool, out: Out) {
    let job = Job::new(a, m, b, bias, relu, out);
    let blocks = round_up(m, BLOCK_ROWS) / BLOCK_ROWS;
    let tiles_n = b.n / TILE_N;
    let threads = rayon::current_num_threads().max(1);
    let col_splits = if blocks >= 4 * threads { 1 } else { (4 * threads).div_ceil(blocks).min(tiles_n).max(1) };
    let per = tiles_n.div_ceil(col_splits);
    let per_blocks = blocks.div_ceil(4 * threads).max(1);
    let tasks: Vec<(usize, usize)> =
        (0..blocks).step_by(per_blocks).flat_map(|b0| (0..tiles_n).step_by(per).map(move |j0| (b0, j0))).collect();
    tasks.into_par_iter().for_each(|(b0, j0)| {
        let tiles = Tiles::load(engine);
        job.run(&tiles, b0..(b0 + per_blocks).min(blocks), j0..(j0 + per).min(tiles_n));
    });
}

/// A dense layer `y = x W^T + b` (PyTorch's layout: `W` is `outputs x inputs`) packed once
/// for the tiles; each call casts its input rows to bf16 and returns f32.
#[derive(Debug)]
pub(crate) struct Dense {
    packed: Packed,
    bias: Vec<f32>,
    inputs: usize,
    engine: Engine,
}

impl Dense {
    /// Packs `weight` (`outputs x inputs`, row-major); `outputs` must be a multiple of 16.
    pub(crate) fn new(engine: Engine, weight: &[f32], bias: Option<&[f32]>, outputs: usize, inputs: usize) -> Self {
        assert_eq!(weight.len(), outputs * inputs, "amx dense: weight is not {outputs} x {inputs}");
        let mut t = vec![0f32; inputs * outputs];
        for (o, row) in weight.chunks_exact(inputs).enumerate() {
            for (i, w) in row.iter().enumerate() {
                t[i * outputs + o] = *w;
            }
        }
        let bias = bias.map(<[f32]>::to_vec).unwrap_or_else(|| vec![0.0; outputs]);
        assert_eq!(bias.len(), outputs, "amx dense: bias is not {outputs} long");
        Dense { packed: Packed::new(&t, inputs, outputs), bias, inputs, engine }
    }

    /// Whether [`Dense::new`] takes a layer of `outputs` units.
    pub(crate) fn fits(outputs: usize) -> bool {
        outputs > 0 && outputs.is_multiple_of(TILE_N)
    }

    /// Output units.
    pub(crate) fn outputs(&self) -> usize {
        self.packed.n
    }

    /// `m` rows of `x` (each `inputs` long) through the layer into `out` (`m x outputs`).
    pub(crate) fn forward(&self, x: &[f32], m: usize, out: &mut [f32]) {
        thread_local! {
            /// The bf16 rows of the last input, kept: a fresh buffer of tens of megabytes
            /// costs its page faults on every call.
            static ROWS: std::cell::RefCell<Vec<u16>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let (k, k_pad) = (self.inputs, self.packed.k_pad);
        assert_eq!(x.len(), m * k, "amx dense: input is not {m} x {k}");
        ROWS.with(|cell| {
            let mut a = cell.borrow_mut();
            a.clear();
            a.resize(round_up(m, BLOCK_ROWS) * k_pad, 0);
            a.par_chunks_mut(k_pad).zip(x.par_chunks(k)).for_each(|(dst, src)| {
                for (d, s) in dst.iter_mut().zip(src) {
                    *d = bf16(*s);
                }
            });
            matmul(self.engine, &a, m, &self.packed, &self.bias, false, Out::F32(out));
        });
    }
}

/// One 32-row block of `a` (from row `r0`) times column tile `j` (and `j + 1` when
/// `pair`) into `acc` (32 rows of 32 f32).
///
/// # Safety
/// The tile configuration of [`TileConfig::full`] must be loaded, and `a` must hold rows
/// `r0..r0 + 32` of `k_pad` values.
#[inline(always)]
unsafe fn block(a: &[u16], k_pad: usize, r0: usize, b: &Packed, j: usize, pair: bool, acc: &mut [f32]) {
    let sa = k_pad * 2;
    let a0 = a[r0 * k_pad..].as_ptr();
    let a1 = a[(r0 + TILE_ROWS) * k_pad..].as_ptr();
    let (sb, sc) = (64usize, 2 * TILE_N * 4);
    unsafe {
        asm!("tilezero tmm0", "tilezero tmm1", "tilezero tmm2", "tilezero tmm3", options(nostack));
        for q in 0..k_pad / TILE_K {
            let (pa0, pa1) = (a0.add(q * TILE_K), a1.add(q * TILE_K));
            let b0 = b.tile(j, q);
            if pair {
                let b1 = b.tile(j + 1, q);
                asm!(
                    "tileloadd tmm4, [{a0} + {sa}*1]",
                    "tileloadd tmm5, [{a1} + {sa}*1]",
                    "tileloadd tmm6, [{b0} + {sb}*1]",
                    "tileloadd tmm7, [{b1} + {sb}*1]",
                    "tdpbf16ps tmm0, tmm4, tmm6",
                    "tdpbf16ps tmm1, tmm4, tmm7",
                    "tdpbf16ps tmm2, tmm5, tmm6",
                    "tdpbf16ps tmm3, tmm5, tmm7",
                    a0 = in(reg) pa0, a1 = in(reg) pa1, b0 = in(reg) b0, b1 = in(reg) b1,
                    sa = in(reg) sa, sb = in(reg) sb,
                    options(nostack, readonly),
                );
            } else {
                asm!(
                    "tileloadd tmm4, [{a0} + {sa}*1]",
                    "tileloadd tmm5, [{a1} + {sa}*1]",
                    "tileloadd tmm6, [{b0} + {sb}*1]",
                    "tdpbf16ps tmm0, tmm4, tmm6",
                    "tdpbf16ps tmm2, tmm5, tmm6",
                    a0 = in(reg) pa0, a1 = in(reg) pa1, b0 = in(reg) b0,
                    sa = in(reg) sa, sb = in(reg) sb,
                    options(nostack, readonly),
                );
            }
        }
        let c = acc.as_mut_ptr();
        asm!(
            "tilestored [{c0} + {sc}*1], tmm0",
            "tilestored [{c1} + {sc}*1], tmm1",
            "tilestored [{c2} + {sc}*1], tmm2",
            "tilestored [{c3} + {sc}*1], tmm3",
            c0 = in(reg) c, c1 = in(reg) c.add(TILE_N), c2 = in(reg) c.add(TILE_ROWS * 2 * TILE_N),
            c3 = in(reg) c.add(TILE_ROWS * 2 * TILE_N + TILE_N), sc = in(reg) sc,
            options(nostack),
        );
    }
}

/// [`block`] on AVX-512 BF16: the 32 rows as four blocks of 8, each with 8 x 2 registers of
/// 16 f32 accumulators (one 16-column tile, or two when `pair`).
///
/// # Safety
/// The CPU must have AVX-512 F and BF16, and `a` must hold rows `r0..r0 + 32` of `k_pad`
/// values.
#[target_feature(enable = "avx512f,avx512bf16")]
unsafe fn block_avx512(a: &[u16], k_pad: usize, r0: usize, b: &Packed, j: usize, pair: bool, acc: &mut [f32]) {
    assert!(a.len() >= (r0 + BLOCK_ROWS) * k_pad && acc.len() >= BLOCK_ROWS * 2 * TILE_N);
    for sub in 0..BLOCK_ROWS / AVX_ROWS {
        let rows = a[(r0 + sub * AVX_ROWS) * k_pad..].as_ptr();
        let out = &mut acc[sub * AVX_ROWS * 2 * TILE_N..][..AVX_ROWS * 2 * TILE_N];
        // SAFETY: as this function's.
        unsafe {
            if pair {
                rows_avx512::<2>(rows, k_pad, b, j, out)
            } else {
                rows_avx512::<1>(rows, k_pad, b, j, out)
            }
        }
    }
}

/// Rows per register block of [`block_avx512`].
const AVX_ROWS: usize = 8;

/// 8 rows of `a` (from `rows`) times `T` column tiles from `j` into `out` (8 rows of 32 f32).
///
/// # Safety
/// AVX-512 F and BF16; `rows` points at 8 rows of `k_pad` bf16.
#[target_feature(enable = "avx512f,avx512bf16")]
#[inline]
unsafe fn rows_avx512<const T: usize>(rows: *const u16, k_pad: usize, b: &Packed, j: usize, out: &mut [f32]) {
    use std::arch::x86_64::*;
    let mut c = [[_mm512_setzero_ps(); T]; AVX_ROWS];
    for q in 0..k_pad / TILE_K {
        let tiles: [*const u16; T] = std::array::from_fn(|t| b.tile(j + t, q));
        for r in 0..TILE_K / 2 {
            // SAFETY: a tile holds 16 pair rows of 32 bf16; row `r` is in it.
            let bv: [__m512bh; T] = std::array::from_fn(|t| unsafe {
                std::mem::transmute::<__m512i, __m512bh>(_mm512_loadu_si512(tiles[t].add(r * 32) as *const _))
            });
            for (i, ci) in c.iter_mut().enumerate() {
                // SAFETY: row `i` of the 8, pair `r` of depth block `q`: inside `a`.
                let bits = unsafe { (rows.add(i * k_pad + q * TILE_K + 2 * r) as *const i32).read_unaligned() };
                let av = std::mem::transmute::<__m512i, __m512bh>(_mm512_set1_epi32(bits));
                for t in 0..T {
                    ci[t] = _mm512_dpbf16_ps(ci[t], av, bv[t]);
                }
            }
        }
    }
    for (i, ci) in c.iter().enumerate() {
        for (t, v) in ci.iter().enumerate() {
            // SAFETY: `out` holds 8 rows of 32 f32.
            unsafe { _mm512_storeu_ps(out[i * 2 * TILE_N + t * TILE_N..].as_mut_ptr(), *v) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for p in 0..k {
                for j in 0..n {
                    c[i * n + j] += a[i * k + p] * b[p * n + j];
                }
            }
        }
        c
    }

    #[test]
    fn bf16_rounds_to_nearest_even() {
        assert_eq!(bf16(1.0), 0x3f80);
        assert_eq!(bf16(-2.0), 0xc000);
        // 1 + 2^-8 is half-way between 1 and 1 + 2^-7: ties go to the even (1.0).
        assert_eq!(bf16(1.0 + 1.0 / 256.0), 0x3f80);
        assert_eq!(bf16(1.0 + 3.0 / 256.0), 0x3f82);
    }

    #[test]
    fn both_engines_match_f32_to_bf16_precision_and_each_other() {
        let engines: Vec<Engine> = [Engine::Amx, Engine::Avx512].into_iter().filter(|e| e.available()).collect();
        if engines.is_empty() {
            eprintln!("no AMX or AVX-512 BF16 on this CPU: the callers use f32 gemm here");
            return;
        }
        // Odd sizes: rows not a multiple of 32, depth not a multiple of 32, 3 column tiles.
        for &(m, k, n) in &[(45usize, 70usize, 48usize), (7, 192, 32), (64, 576, 16), (100, 96, 80)] {
            let a: Vec<f32> = (0..m * k).map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0).collect();
            let b: Vec<f32> = (0..k * n).map(|i| ((i * 53 % 89) as f32 / 44.0) - 1.0).collect();
            let bias: Vec<f32> = (0..n).map(|j| j as f32 * 0.1 - 1.0).collect();
            let packed = Packed::new(&b, k, n);
            let k_pad = packed.k_pad();
            let mut ab = vec![0u16; round_up(m, BLOCK_ROWS) * k_pad];
            for i in 0..m {
                for p in 0..k {
                    ab[i * k_pad + p] = bf16(a[i * k + p]);
                }
            }
            let want = reference(&a, &b, m, k, n);
            let mut first: Option<Vec<f32>> = None;
            for &engine in &engines {
                let mut got = vec![f32::NAN; m * n];
                matmul(engine, &ab, m, &packed, &bias, false, Out::F32(&mut got));
                let scale = (k as f32).sqrt();
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    let w = w + bias[i % n];
                    assert!((g - w).abs() < 0.02 * scale, "{engine:?} ({m},{k},{n}) cell {i}: {g} vs {w}");
                }
                let mut relu = vec![0u16; m * n];
                matmul(engine, &ab, m, &packed, &bias, true, Out::Bf16(&mut relu));
                for (r, g) in relu.iter().zip(&got) {
                    assert_eq!(*r, bf16(g.max(0.0)), "{engine:?}: fused ReLU + bf16 write-back");
                }
                // Same products of the same bf16 values: the engines differ only in the
                // order of f32 additions.
                if let Some(f) = &first {
                    for (x, y) in f.iter().zip(&got) {
                        assert!((x - y).abs() <= 1e-4 * (1.0 + x.abs()), "engines disagree: {x} vs {y}");
                    }
                }
                first.get_or_insert(got);
            }
        }
        let dense = Dense::new(engines[0], &[1.0, 2.0, 3.0, 4.0].repeat(8), Some(&[0.5; 16]), 16, 2);
        let mut out = vec![0.0; 16];
        dense.forward(&[1.0, -1.0], 1, &mut out);
        assert_eq!(out[0], 1.0 - 2.0 + 0.5, "y = x W^T + b");
        assert_eq!(out[1], 3.0 - 4.0 + 0.5);
    }
}
