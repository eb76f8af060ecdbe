//! A small pool of persistent worker threads for the vector env, built for hand-offs that
//! cost little against a sub-microsecond env step (EnvPool's design): each worker owns one
//! piece of the work for its whole life, the caller's thread runs the first piece itself,
//! and a batch is handed over by bumping an atomic counter, not by a queue. An idle worker
//! spins for a short while (the next batch usually comes within microseconds, after the
//! policy's forward pass), then yields, then parks until woken.
//!
//! A hand-off still costs a few microseconds, more than a whole batch of the cheapest envs
//! takes on one thread. So the pool times its cycles (batch to batch, the caller's own work between them included) and runs each batch whichever way is
//! faster: handed out to the workers, or every piece in turn on the caller's thread (the
//! workers then park). It tries the other way for a few batches every so often, so a change
//! in the work (a heavier scene, a busy machine) is followed. The results do not depend on
//! the choice: each piece runs the same work either way.
//!
//! Pieces are behind a mutex only so that the borrow checker can see they are never shared;
//! by the protocol the caller and the worker never hold it at the same time, so it is never
//! contended.

use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long an idle worker spins before it starts yielding, and yields before it parks.
const SPIN: Duration = Duration::from_micros(50);
const YIELD: Duration = Duration::from_millis(2);
/// Batches run the current way between two trials of the other way: at least this many,
/// and at least [`PERIOD_SECS`] of them.
const PERIOD: u32 = 512;
const PERIOD_SECS: f64 = 0.02;
/// Batches of one trial: the first [`TRIAL_WARMUP`] (waking parked workers, warming caches)
/// are not timed.
const TRIAL: u32 = 32;
const TRIAL_WARMUP: u32 = 8;
/// Parallel runs only where it beats inline by this factor: close timings are noise, and
/// inline leaves the other cores free (for the policy's matrix products, say).
const PARALLEL_MARGIN: f64 = 0.9;

/// How a threaded vector env runs a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// Every piece on the caller's thread, one after the other.
    Inline,
    /// The first piece on the caller's thread, each other on its worker, at once.
    Parallel,
}

impl Schedule {
    fn other(self) -> Self {
        match self {
            Schedule::Inline => Schedule::Parallel,
            Schedule::Parallel => Schedule::Inline,
        }
    }
}

/// The timing that picks a [`Schedule`]: trials of each way, then a period of the faster
/// one, then a trial of the other, and so on. What it times is the cycle from one batch's
/// start to the next one's, so the caller's own work between batches counts too (workers
/// that spin while the caller computes slow it down); each way is judged by the median
/// cycle of its last phase, which an occasional long pause (a PPO update between rollouts,
/// the OS) does not move.
#[derive(Debug)]
struct Tuner {
    /// The way the current phase runs.
    way: Schedule,
    /// Whether the current phase is a trial (else a period of the faster way).
    trial: bool,
    /// Median seconds per cycle of `[Inline, Parallel]` as last measured (None: not yet).
    median: [Option<f64>; 2],
    /// Cycles into the phase, and their seconds.
    count: u32,
    elapsed: f64,
    /// The timed cycles of the phase (a trial's after its warm-up; a period's last
    /// [`SAMPLES`]).
    samples: Vec<f64>,
    /// A fixed schedule, or None to tune.
    fixed: Option<Schedule>,
}

/// Cycles a period keeps for its median.
const SAMPLES: usize = 64;

impl Tuner {
    fn new(fixed: Option<Schedule>) -> Self {
        Tuner {
            way: Schedule::Inline,
            trial: true,
            median: [None, None],
            count: 0,
            elapsed: 0.0,
            samples: Vec::with_capacity(SAMPLES),
            fixed,
        }
    }

    fn index(s: Schedule) -> usize {
        match s {
            Schedule::Inline => 0,
            Schedule::Parallel => 1,
        }
    }

    /// The way to run the next batch.
    fn next(&self) -> Schedule {
        self.fixed.unwrap_or(self.way)
    }

    /// The way chosen for the batches between trials (during a trial of the other way, the
    /// way it is trying against).
    fn chosen(&self) -> Schedule {
        match (self.fixed, self.median) {
            (Some(f), _) => f,
            (None, [Some(_), Some(_)]) if self.trial => self.way.other(),
            _ => self.way,
        }
    }

    /// Records that the last cycle (its batch run the [`next`](Self::next) way) took `secs`.
    fn record(&mut self, secs: f64) {
        if self.fixed.is_some() {
            return;
        }
        self.count += 1;
        self.elapsed += secs;
        if !self.trial || self.count > TRIAL_WARMUP {
            if self.samples.len() < SAMPLES {
                self.samples.push(secs);
            } else {
                self.samples[self.count as usize % SAMPLES] = secs;
            }
        }
        let done = if self.trial { self.count >= TRIAL } else { self.count >= PERIOD && self.elapsed >= PERIOD_SECS };
        if !done {
            return;
        }
        self.samples.sort_by(f64::total_cmp);
        self.median[Self::index(self.way)] = self.samples.get(self.samples.len() / 2).copied();
        (self.count, self.elapsed) = (0, 0.0);
        self.samples.clear();
        match self.median {
            [Some(inline), Some(parallel)] if self.trial => {
                self.way = if parallel < PARALLEL_MARGIN * inline { Schedule::Parallel } else { Schedule::Inline };
                self.trial = false;
            }
            [Some(_), Some(_)] => {
                self.way = self.way.other();
                self.trial = true;
            }
            [None, _] => self.way = Schedule::Inline,
            [_, None] => self.way = Schedule::Parallel,
        }
    }
}

/// A piece of work a worker runs once per batch (its inputs set by the caller before).
pub(crate) trait Piece: Send + 'static {
    /// Runs the batch's work on this piece.
    fn run(&mut self);
}

struct Shared<T> {
    piece: Mutex<T>,
    /// Batches handed to this worker so far.
    epoch: AtomicU64,
    /// Batches this worker has finished.
    done: AtomicU64,
    sleeping: AtomicBool,
    /// Whether an idle worker spins and yields before it parks (batches come to it), or
    /// parks at once (the caller runs batches inline: a spinning thread would only slow the
    /// caller's core or its hyper-thread sibling).
    linger: AtomicBool,
    stop: AtomicBool,
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

struct Worker<T> {
    shared: Arc<Shared<T>>,
    handle: Option<JoinHandle<()>>,
}

/// Pieces of work run together, the first on the caller's thread and each other on its own
/// worker thread.
pub(crate) struct Workers<T: Piece> {
    own: Box<T>,
    workers: Vec<Worker<T>>,
    epoch: u64,
    tuner: Tuner,
    /// When the last batch started.
    last_start: Option<Instant>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic inside a piece is caught before its guard is dropped, so the lock is never
    // poisoned by one; take the data either way.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<T: Piece> Workers<T> {
    /// Starts one thread for each piece after the first (`name(i)` names thread `i`).
    /// `pieces` must not be empty.
    pub(crate) fn new(pieces: Vec<T>, name: impl Fn(usize) -> String) -> std::io::Result<Self> {
        let mut pieces = pieces.into_iter();
        let own = Box::new(pieces.next().expect("at least one piece"));
        let mut workers = Vec::new();
        for (i, piece) in pieces.enumerate() {
            let shared = Arc::new(Shared {
                piece: Mutex::new(piece),
                epoch: AtomicU64::new(0),
                done: AtomicU64::new(0),
                sleeping: AtomicBool::new(false),
                linger: AtomicBool::new(true),
                stop: AtomicBool::new(false),
                panic: Mutex::new(None),
            });
            let s = Arc::clone(&shared);
            let handle = thread::Builder::new().name(name(i + 1)).spawn(move || work(&s))?;
            workers.push(Worker { shared, handle: Some(handle) });
        }
        let mut pool = Workers { own, workers, epoch: 0, tuner: Tuner::new(None), last_start: None };
        pool.pin(None);
        Ok(pool)
    }

    /// Number of pieces (threads, counting the caller's).
    pub(crate) fn len(&self) -> usize {
        self.workers.len() + 1
    }

    /// Runs every batch `schedule`'s way, or (None) whichever is faster, as timed.
    pub(crate) fn pin(&mut self, schedule: Option<Schedule>) {
        self.tuner = Tuner::new(if self.workers.is_empty() { Some(Schedule::Inline) } else { schedule });
        self.last_start = None;
    }

    /// The way chosen for the batches between the tuner's trials.
    pub(crate) fn schedule(&self) -> Schedule {
        self.tuner.chosen()
    }

    /// Lets `prepare(i, piece)` set every piece's inputs, runs them all and returns when
    /// every one has finished. A panic in a piece is raised again here (the first piece's
    /// first), after every piece has run.
    pub(crate) fn run(&mut self, prepare: impl FnMut(usize, &mut T)) {
        if self.tuner.fixed.is_none() {
            let start = Instant::now();
            if let Some(last) = self.last_start.replace(start) {
                self.tuner.record(start.duration_since(last).as_secs_f64());
            }
        }
        let way = self.tuner.next();
        let linger = way == Schedule::Parallel;
        for w in &self.workers {
            if w.shared.linger.load(Ordering::Relaxed) != linger {
                w.shared.linger.store(linger, Ordering::Relaxed);
            }
        }
        match way {
            Schedule::Inline => self.run_inline(prepare),
            Schedule::Parallel => self.run_parallel(prepare),
        }
    }

    fn run_inline(&mut self, mut prepare: impl FnMut(usize, &mut T)) {
        prepare(0, &mut self.own);
        let mut panic = catch_unwind(AssertUnwindSafe(|| self.own.run())).err();
        for (i, w) in self.workers.iter().enumerate() {
            let mut piece = lock(&w.shared.piece);
            prepare(i + 1, &mut piece);
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| piece.run())) {
                panic.get_or_insert(payload);
            }
        }
        if let Some(payload) = panic {
            resume_unwind(payload);
        }
    }

    fn run_parallel(&mut self, mut prepare: impl FnMut(usize, &mut T)) {
        self.epoch += 1;
        for (i, w) in self.workers.iter().enumerate() {
            prepare(i + 1, &mut lock(&w.shared.piece));
            w.shared.epoch.store(self.epoch, Ordering::SeqCst);
            if w.shared.sleeping.load(Ordering::SeqCst) {
                if let Some(h) = &w.handle {
                    h.thread().unpark();
                }
            }
        }
        prepare(0, &mut self.own);
        let own = catch_unwind(AssertUnwindSafe(|| self.own.run()));
        for w in &self.workers {
            let start = Instant::now();
            while w.shared.done.load(Ordering::Acquire) != self.epoch {
                if start.elapsed() < SPIN {
                    std::hint::spin_loop();
                } else {
                    thread::yield_now();
                }
            }
        }
        if let Err(payload) = own {
            resume_unwind(payload);
        }
        for w in &self.workers {
            if let Some(payload) = lock(&w.shared.panic).take() {
                resume_unwind(payload);
            }
        }
    }

    /// Calls `f(i, piece)` on every piece in order, to read them (between runs).
    pub(crate) fn for_each_ref(&self, mut f: impl FnMut(usize, &T)) {
        f(0, &self.own);
        for (i, w) in self.workers.iter().enumerate() {
            f(i + 1, &lock(&w.shared.piece));
        }
    }

    /// Calls `f(i, piece)` on every piece in order (between runs).
    pub(crate) fn for_each(&mut self, mut f: impl FnMut(usize, &mut T)) {
        f(0, &mut self.own);
        for (i, w) in self.workers.iter().enumerate() {
            f(i + 1, &mut lock(&w.shared.piece));
        }
    }
}

fn work<T: Piece>(s: &Shared<T>) {
    let mut seen = 0;
    loop {
        let start = Instant::now();
        loop {
            if s.stop.load(Ordering::Acquire) {
                return;
            }
            if s.epoch.load(Ordering::Acquire) != seen {
                break;
            }
            let idle = start.elapsed();
            let linger = s.linger.load(Ordering::Relaxed);
            if linger && idle < SPIN {
                std::hint::spin_loop();
            } else if linger && idle < YIELD {
                thread::yield_now();
            } else {
                // Say we sleep, then look once more: a batch handed over in between is seen
                // here, or its sender sees `sleeping` and unparks us (park keeps that token).
                s.sleeping.store(true, Ordering::SeqCst);
                if s.epoch.load(Ordering::SeqCst) == seen && !s.stop.load(Ordering::SeqCst) {
                    thread::park();
                }
                s.sleeping.store(false, Ordering::SeqCst);
            }
        }
        seen = s.epoch.load(Ordering::Acquire);
        {
            let mut piece = lock(&s.piece);
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| piece.run())) {
                *lock(&s.panic) = Some(payload);
            }
        }
        s.done.store(seen, Ordering::Release);
    }
}

impl<T: Piece> Drop for Workers<T> {
    fn drop(&mut self) {
        for w in &mut self.workers {
            w.shared.stop.store(true, Ordering::SeqCst);
            if let Some(h) = w.handle.take() {
                h.thread().unpark();
                let _ = h.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Add {
        input: u64,
        out: u64,
        fail: bool,
    }

    impl Piece for Add {
        fn run(&mut self) {
            assert!(!self.fail, "piece told to fail");
            self.out = self.input * 2;
        }
    }

    fn pool(n: usize, schedule: Option<Schedule>) -> Workers<Add> {
        let mut w =
            Workers::new((0..n).map(|_| Add { input: 0, out: 0, fail: false }).collect(), |i| format!("t{i}")).unwrap();
        w.pin(schedule);
        w
    }

    const EVERY_WAY: [Option<Schedule>; 3] = [None, Some(Schedule::Inline), Some(Schedule::Parallel)];

    #[test]
    fn every_piece_runs_every_batch_with_its_inputs() {
        for way in EVERY_WAY {
            let mut w = pool(3, way);
            assert_eq!(w.len(), 3);
            for batch in 0..2000u64 {
                w.run(|i, p| p.input = batch * 10 + i as u64);
                let mut outs = Vec::new();
                w.for_each(|_, p| outs.push(p.out));
                assert_eq!(outs, vec![batch * 20, batch * 20 + 2, batch * 20 + 4], "{way:?}");
            }
        }
    }

    #[test]
    fn parked_workers_wake_for_the_next_batch() {
        let mut w = pool(2, Some(Schedule::Parallel));
        w.run(|_, p| p.input = 1);
        thread::sleep(YIELD * 3); // long enough for the worker to park
        w.run(|i, p| p.input = 5 + i as u64);
        let mut outs = Vec::new();
        w.for_each(|_, p| outs.push(p.out));
        assert_eq!(outs, vec![10, 12]);
    }

    #[test]
    fn a_panic_in_a_worker_reaches_the_caller_and_the_pool_goes_on() {
        for way in EVERY_WAY {
            let mut w = pool(2, way);
            let r = catch_unwind(AssertUnwindSafe(|| {
                w.run(|i, p| {
                    p.input = 3;
                    p.fail = i == 1;
                })
            }));
            let msg = r.unwrap_err();
            assert_eq!(msg.downcast_ref::<&str>(), Some(&"piece told to fail"), "{way:?}");
            w.run(|_, p| {
                p.input = 4;
                p.fail = false;
            });
            let mut outs = Vec::new();
            w.for_each(|_, p| outs.push(p.out));
            assert_eq!(outs, vec![8, 8], "{way:?}");
        }
    }

    /// Feeds the tuner batch times from `cost(way)` for `batches` batches; returns the ways run.
    fn tune(t: &mut Tuner, batches: usize, cost: impl Fn(Schedule) -> f64) -> Vec<Schedule> {
        (0..batches)
            .map(|_| {
                let way = t.next();
                t.record(cost(way));
                way
            })
            .collect()
    }

    #[test]
    fn the_tuner_runs_the_faster_way_and_retries_the_other_each_period() {
        let mut t = Tuner::new(None);
        // 40 us a batch inline: a period of 512 batches lasts the 20 ms it must.
        let cheap_envs = |w| if w == Schedule::Inline { 40e-6 } else { 60e-6 };
        let ways = tune(&mut t, (2 * TRIAL + 3 * (PERIOD + TRIAL)) as usize, cheap_envs);
        let trial = TRIAL as usize;
        assert!(ways[..trial].iter().all(|w| *w == Schedule::Inline));
        assert!(ways[trial..2 * trial].iter().all(|w| *w == Schedule::Parallel));
        let parallel = ways.iter().filter(|w| **w == Schedule::Parallel).count();
        assert_eq!(parallel, 4 * trial, "one trial of parallel to start, then one a period");
        assert_eq!(t.chosen(), Schedule::Inline);
        // The work gets heavier: parallel wins from its next trial on.
        let heavy = |w| if w == Schedule::Inline { 1000e-6 } else { 550e-6 };
        let ways = tune(&mut t, 3 * PERIOD as usize, heavy);
        let inline = ways.iter().filter(|w| **w == Schedule::Inline).count();
        assert!(inline <= PERIOD as usize + 2 * trial, "{inline} inline batches after the switch");
        assert_eq!(t.chosen(), Schedule::Parallel);
        // Parallel only 5% faster: noise, inline stays.
        let mut t = Tuner::new(None);
        let close = |w| if w == Schedule::Inline { 40e-6 } else { 38e-6 };
        tune(&mut t, 2 * trial + 10, close);
        assert_eq!(t.chosen(), Schedule::Inline);
        // Very cheap batches: a period lasts until 20 ms have passed, not just 512 batches.
        let mut t = Tuner::new(None);
        let tiny = |w| if w == Schedule::Inline { 2e-6 } else { 6e-6 };
        let ways = tune(&mut t, 2 * trial + 5000, tiny);
        assert_eq!(ways.iter().filter(|w| **w == Schedule::Parallel).count(), trial, "no second trial within 10 ms");
        // A pinned tuner never changes.
        let mut pinned = Tuner::new(Some(Schedule::Parallel));
        assert!(tune(&mut pinned, 2000, cheap_envs).iter().all(|w| *w == Schedule::Parallel));
    }
}
