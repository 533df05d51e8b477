//! # zprsim-control: from a scenario to an immutable verdict table
//!
//! The control plane of zprsim. It is pure: no I/O beyond the text a caller
//! hands it, no threads. The pipeline:
//!
//! 1. [`load`] reads a scenario (TOML or JSON, see `docs/scenario-format.md`)
//!    into a [`model::Scenario`]: names resolved to indices, defaults applied,
//!    ZPR statements parsed by [`zpl`] into a typed syntax tree with spans.
//! 2. [`eval`] is the reference evaluator: a slow, obviously correct
//!    interpreter of `docs/semantics.md` that reads the rules directly and
//!    explains every layer (route, egress security, ingress security, ZPR).
//! 3. The compiler (`compile`) turns the scenario into flat tables keyed
//!    by address classes and service classes, so the dataplane decides a
//!    packet in a constant number of memory accesses, whatever the number of
//!    rules. Property tests hold it equal to the reference evaluator.
//!
//! ```
//! use zprsim_control::{load, eval, packet::Packet, verdict::{Context, Verdict}};
//! let scenario = load::from_toml_str(r#"
//!     [[vcn]]
//!     name = "v"
//!     cidr_blocks = ["10.0.0.0/16"]
//!     [[security_list]]
//!     name = "sl"
//!     vcn = "v"
//!     egress_security_rules = [{ protocol = "all", destination = "0.0.0.0/0" }]
//!     ingress_security_rules = [{ protocol = "6", source = "10.0.0.0/16" }]
//!     [[subnet]]
//!     name = "s"
//!     vcn = "v"
//!     cidr_block = "10.0.1.0/24"
//!     security_lists = ["sl"]
//!     [[vnic]]
//!     name = "a"
//!     subnet = "s"
//!     private_ips = ["10.0.1.10"]
//!     [[vnic]]
//!     name = "b"
//!     subnet = "s"
//!     private_ips = ["10.0.1.11"]
//! "#, "example.toml").unwrap();
//! let p = Packet::tcp("10.0.1.10".parse().unwrap(), 40000, "10.0.1.11".parse().unwrap(), 443);
//! let d = eval::evaluate(&scenario.scenario, &p, Context::First);
//! assert_eq!(d.judgement.verdict, Verdict::Allow);
//! ```

pub mod agree;
pub mod compile;
pub mod escape;
pub mod eval;
pub mod explain;
pub mod ids;
pub mod import;
pub mod link_scope;
pub mod load;
pub mod model;
pub mod packet;
pub mod shared;
pub mod stopped;
pub mod verdict;
pub mod verify;
pub mod warning;
pub mod zpl;
