//! The connections tracked across flow-log records in bounded memory:
//! each dropped at the first record that starts after it went idle past
//! its timeout (a heap of expiry times; exact: records come in start
//! order, so a connection not live at one record's start is never live
//! again). [`super::stream`] tracks at each VNIC with it; `diff` tracks
//! each flow along its whole path with it ([`super::diff`]).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::judge::{Conns, expiry};
use crate::conntrack::ConnKey;

/// When a tracked connection (VNIC, tuple) goes idle, in ns; ordered by
/// the time alone (which of two equal ones goes first does not matter:
/// both are handled before the next second).
#[derive(Clone, Copy)]
struct Expiry(u64, usize, ConnKey);

impl PartialEq for Expiry {
    fn eq(&self, o: &Self) -> bool {
        self.0 == o.0
    }
}
impl Eq for Expiry {}
impl PartialOrd for Expiry {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Expiry {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.cmp(&o.0)
    }
}

/// Live connections, at most `max`.
pub(super) struct Live {
    /// The connections, by (VNIC, tuple).
    pub(super) conns: Conns,
    /// When each goes idle past its timeout, earliest first: one entry
    /// per connection, moved later when it finds its connection extended.
    expiries: BinaryHeap<Reverse<Expiry>>,
    max: usize,
}

impl Live {
    /// An empty table of at most `max` (at least 1) connections.
    pub(super) fn new(max: usize) -> Live {
        Live {
            conns: Conns::default(),
            expiries: BinaryHeap::new(),
            max: max.max(1),
        }
    }

    /// Drops every connection idle past its timeout at `start_ns` (a
    /// record's start): the table then holds exactly the live ones. How
    /// many were dropped.
    pub(super) fn expire(&mut self, start_ns: u64) -> u64 {
        let mut dropped = 0;
        while let Some(&Reverse(Expiry(at, v, key))) = self.expiries.peek() {
            if at >= start_ns {
                break;
            }
            self.expiries.pop();
            match self.conns.get(&(v, key)).map(expiry) {
                Some(now) if now >= start_ns => self.expiries.push(Reverse(Expiry(now, v, key))),
                Some(_) => {
                    self.conns.remove(&(v, key));
                    dropped += 1;
                }
                None => {}
            }
        }
        dropped
    }

    /// A record opened the connection (VNIC `v`, tuple `key`): its expiry
    /// is kept. `false` when the table holds more than its bound (the
    /// caller's error: not memory without end).
    pub(super) fn opened(&mut self, v: usize, key: ConnKey) -> bool {
        if let Some(c) = self.conns.get(&(v, key)) {
            self.expiries.push(Reverse(Expiry(expiry(c), v, key)));
        }
        self.conns.len() <= self.max
    }

    /// The bound.
    pub(super) fn max(&self) -> usize {
        self.max
    }
}
