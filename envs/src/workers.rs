//! A small pool of persistent worker threads for the vector env, built for hand-offs that
//! cost little against a sub-microsecond env step (EnvPool's design): each worker owns one
//! piece of the work for its whole life, the caller's thread runs the first piece itself,
//! and a batch is handed over by bumping an atomic counter, not by a queue. An idle worker
//! spins for a short while (the next batch usually comes within microseconds, after the
//! policy's forward pass), then yields, then parks until woken.
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
                stop: AtomicBool::new(false),
                panic: Mutex::new(None),
            });
            let s = Arc::clone(&shared);
            let handle = thread::Builder::new().name(name(i + 1)).spawn(move || work(&s))?;
            workers.push(Worker { shared, handle: Some(handle) });
        }
        Ok(Workers { own, workers, epoch: 0 })
    }

    /// Number of pieces (threads, counting the caller's).
    pub(crate) fn len(&self) -> usize {
        self.workers.len() + 1
    }

    /// Lets `prepare(i, piece)` set every piece's inputs, runs them all at once and returns
    /// when every one has finished. A panic in a piece is raised again here.
    pub(crate) fn run(&mut self, mut prepare: impl FnMut(usize, &mut T)) {
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
            if idle < SPIN {
                std::hint::spin_loop();
            } else if idle < YIELD {
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

    fn pool(n: usize) -> Workers<Add> {
        Workers::new((0..n).map(|_| Add { input: 0, out: 0, fail: false }).collect(), |i| format!("t{i}")).unwrap()
    }

    #[test]
    fn every_piece_runs_every_batch_with_its_inputs() {
        let mut w = pool(3);
        assert_eq!(w.len(), 3);
        for batch in 0..2000u64 {
            w.run(|i, p| p.input = batch * 10 + i as u64);
            let mut outs = Vec::new();
            w.for_each(|_, p| outs.push(p.out));
            assert_eq!(outs, vec![batch * 20, batch * 20 + 2, batch * 20 + 4]);
        }
    }

    #[test]
    fn parked_workers_wake_for_the_next_batch() {
        let mut w = pool(2);
        w.run(|_, p| p.input = 1);
        thread::sleep(YIELD * 3); // long enough for the worker to park
        w.run(|i, p| p.input = 5 + i as u64);
        let mut outs = Vec::new();
        w.for_each(|_, p| outs.push(p.out));
        assert_eq!(outs, vec![10, 12]);
    }

    #[test]
    fn a_panic_in_a_worker_reaches_the_caller_and_the_pool_goes_on() {
        let mut w = pool(2);
        let r = catch_unwind(AssertUnwindSafe(|| {
            w.run(|i, p| {
                p.input = 3;
                p.fail = i == 1;
            })
        }));
        let msg = r.unwrap_err();
        assert_eq!(msg.downcast_ref::<&str>(), Some(&"piece told to fail"));
        w.run(|_, p| {
            p.input = 4;
            p.fail = false;
        });
        let mut outs = Vec::new();
        w.for_each(|_, p| outs.push(p.out));
        assert_eq!(outs, vec![8, 8]);
    }
}
