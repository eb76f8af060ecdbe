//! Steps/s of one CartPole and of sync vs threaded vector envs with 2 and 8 CartPoles
//! (`cargo bench --bench classic`; `vlmgym bench classic` prints the same figures as JSON).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vlmgym::bench::{Target, Workload};
use vlmgym_envs::VectorizationMode;

const CALLS: usize = 1000;

fn classic(c: &mut Criterion) {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mut targets = vec![("single_env".to_string(), Target::Single)];
    for n in [2, 8] {
        targets.push((format!("sync_vecenv_{n}"), Target::Vector { mode: VectorizationMode::Sync, num_envs: n }));
        let mode = VectorizationMode::Threaded { threads: cores.min(n) };
        targets.push((format!("threaded_vecenv_{n}"), Target::Vector { mode, num_envs: n }));
    }
    let mut group = c.benchmark_group("CartPole-v1");
    for (name, target) in targets {
        let mut w = Workload::new("CartPole-v1", target, 0).expect("workload");
        group.throughput(Throughput::Elements((CALLS * w.env_steps_per_call()) as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                for _ in 0..CALLS {
                    w.step().expect("step");
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, classic);
criterion_main!(benches);
