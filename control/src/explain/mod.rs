//! `explain`'s judgement and text: the first packet of a flow (or its
//! reply), layer by layer, and what would open it. The verdict comes from
//! the compiled table the dataplane uses, the layer detail from the
//! reference evaluator; the two must agree ([`crate::agree::judge_both`])
//! or explaining fails with [`ExplainError::Disagree`].
//!
//! The pieces: [`request`] reads the command's endpoints and flags into a
//! packet; [`flow`] judges it as a first packet and, with `--reply`, its
//! reply, and writes the text and JSON; [`packet`] judges and writes one
//! packet (the layer trace, and a capture's packet with the state replay
//! gave it); [`hints`] says what would open a dropped packet; [`others`]
//! judges a named VNIC's other addresses. Reading files and printing are
//! the binary's (`src/explain.rs`).

pub mod flow;
pub mod hints;
pub mod others;
pub mod packet;
pub mod request;

#[cfg(test)]
mod tests;

pub use flow::{FlowExplained, explain_flow};
pub use packet::{CaptureExplained, CapturedPacket, explain_captured, render};
pub use request::{Request, parse_proto};

/// Why a packet could not be explained.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExplainError {
    /// Bad input or usage: the message, rendered for people.
    #[error("{0}")]
    Input(String),
    /// The compiled table and the reference evaluator disagree (a bug).
    #[error("{0}")]
    Disagree(String),
}

/// `yes` or `no`.
fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}
