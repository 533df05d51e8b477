//! A [`Jobs`] for tests of the steps that run in parts (the VNICs'
//! resolve, the compile's address classes).

#![allow(clippy::unwrap_used)]

use std::sync::Mutex;

use super::Jobs;

/// Says it has `threads` threads, runs the jobs last first, and notes how
/// many jobs each run had.
pub(crate) struct Parts {
    threads: usize,
    pub(crate) runs: Mutex<Vec<usize>>,
}

impl Parts {
    pub(crate) fn new(threads: usize) -> Self {
        Parts {
            threads,
            runs: Mutex::new(Vec::new()),
        }
    }
}

impl Jobs for Parts {
    fn run(&self, n: usize, job: &(dyn Fn(usize) + Sync)) {
        self.runs.lock().unwrap().push(n);
        for i in (0..n).rev() {
            job(i);
        }
    }

    fn threads(&self) -> usize {
        self.threads
    }
}
