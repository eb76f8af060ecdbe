//! Frames per second of the CPU rasteriser at 112 x 112: CartPole `side`, Driving `bev` and
//! `chase`, 8 and 32 envs. Every iteration renders the batch of a new state (the cars move,
//! the cameras follow), as a training loop does.
//!
//! `cargo bench -p vlmgym-render --no-default-features --bench raster`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vlmgym_envs::{make, Options, Scene, Value};
use vlmgym_render::raster::RasterOptions;
use vlmgym_render::{RasterRenderer, RenderConfig};

const SIZE: u32 = 112;
/// States per env the bench cycles through.
const STATES: usize = 16;

/// `STATES` batches of `n` CartPole scenes (each env a different seed, the pole swinging).
fn cartpole(n: usize) -> Vec<Vec<Scene>> {
    let mut envs: Vec<_> = (0..n)
        .map(|i| {
            let mut e = make("CartPole-v1").unwrap();
            e.reset(Some(i as u64), &Options::new()).unwrap();
            e
        })
        .collect();
    (0..STATES)
        .map(|k| {
            envs.iter_mut()
                .map(|e| {
                    if e.step(&Value::Discrete((k % 2) as i64)).unwrap().terminated {
                        e.reset(None, &Options::new()).unwrap();
                    }
                    e.scene().unwrap()
                })
                .collect()
        })
        .collect()
}

/// `STATES` batches of `n` Driving scenes (the ego car driving on, one step apart).
fn driving(n: usize) -> Vec<Vec<Scene>> {
    let mut envs: Vec<_> = (0..n)
        .map(|i| {
            let mut e = make("Driving-v0").unwrap();
            e.reset(Some(i as u64), &Options::new()).unwrap();
            e
        })
        .collect();
    (0..STATES)
        .map(|_| {
            envs.iter_mut()
                .map(|e| {
                    let s = e.step(&Value::Box(vec![0.05, 0.7])).unwrap();
                    if s.terminated || s.truncated {
                        e.reset(None, &Options::new()).unwrap();
                    }
                    e.scene().unwrap()
                })
                .collect()
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("raster_112");
    group.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    for n in [8usize, 32] {
        let direct = RasterOptions { top_down_maps: false, ..RasterOptions::default() };
        let cases = [
            ("cartpole_side", "side", cartpole(n), RasterOptions::default()),
            ("driving_bev", "bev", driving(n), RasterOptions::default()),
            ("driving_bev_direct", "bev", driving(n), direct),
            ("driving_chase", "chase", driving(n), RasterOptions::default()),
        ];
        for (name, camera, batches, options) in cases {
            let cfg = RenderConfig { width: SIZE, height: SIZE, camera: Some(camera.into()) };
            let mut r = RasterRenderer::with_options(n, cfg, options).unwrap();
            let mut frames = r.render(&batches[0]).unwrap();
            let mut k = 0;
            group.throughput(Throughput::Elements(n as u64));
            group.bench_function(format!("{name}/{n}_envs"), |b| {
                b.iter(|| {
                    k = (k + 1) % STATES;
                    r.render_into(&batches[k], &mut frames).unwrap();
                    black_box(&frames);
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
