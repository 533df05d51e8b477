//! Each flow-log record of a `diff` judged along its flow's whole path
//! (since the twenty-sixth session): the source VNIC's route, egress
//! security and ZPR egress check through the destination's ingress
//! security and ZPR ingress check ([`Compiled::judge`], as `diff` judges
//! a capture's packets), whichever VNIC logged it. A record is one VNIC's
//! view, but the change being asked about is the flow's: a flow the
//! other end drops today (unlogged there) is not "allowed before".
//!
//! Tracking is per tuple, not per VNIC: the records of both ends are one
//! connection, taken in the scenario's judging order (window start, the
//! tie rule, input order), so a reply logged at either end is judged as
//! the reply of the connection the first packet opened.

use zprsim_control::compile::{Compiled, Fast};

use crate::flowlog::judge::{NS, track};
use crate::flowlog::live::Live;
use crate::flowlog::record::LogRecord;

/// One scenario's whole-path judging of the records, with its tracking.
pub(super) struct Paths<'c> {
    compiled: &'c Compiled,
    /// The connections along paths (all at one index, 0).
    live: Live,
}

impl<'c> Paths<'c> {
    /// Judging by `compiled`, at most `max_connections` live at once.
    pub(super) fn new(compiled: &'c Compiled, max_connections: usize) -> Paths<'c> {
        Paths {
            compiled,
            live: Live::new(max_connections),
        }
    }

    /// `r`'s judgement along its whole path, the next record in judging
    /// order (`None` for no tuple, which a record never lacks).
    ///
    /// # Errors
    /// More than `max_connections` live: the bound, for the message.
    pub(super) fn judge(&mut self, r: &LogRecord) -> Result<Option<Fast>, usize> {
        self.live.expire(r.start.saturating_mul(NS));
        let c = self.compiled;
        let Some(t) = track(&mut self.live.conns, r, 0, |p, ctx| c.judge(p, ctx)) else {
            return Ok(None);
        };
        if t.opened && !self.live.opened(0, t.key) {
            return Err(self.live.max());
        }
        Ok(Some(t.fast))
    }
}
