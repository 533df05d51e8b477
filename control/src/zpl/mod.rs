//! ZPL, the Zero Trust Packet Routing policy language: parser, printer and
//! error rendering. See `docs/semantics.md` §4.2 for the grammar.
//!
//! ```
//! use zprsim_control::zpl::{parse_statement, print_statement};
//! let s = parse_statement("in net:prod VCN allow app:web to connect to app:db with protocol='tcp/1521'").unwrap();
//! assert_eq!(
//!     print_statement(&s),
//!     "in oracle-zpr.net:prod VCN allow oracle-zpr.app:web endpoints to connect to oracle-zpr.app:db endpoints with protocol='tcp/1521'"
//! );
//! let e = parse_statement("in net:prod VCN allow app:web to connnect to app:db").unwrap_err();
//! assert_eq!(e.message(), "expected `connect`, found `connnect`");
//! ```

pub mod ast;
mod error;
mod parse;
mod print;
#[cfg(test)]
mod tests;

pub use error::ZplError;
pub use parse::{
    MAX_FILE_LEN, MAX_KEY_LEN, MAX_NAMESPACE_LEN, MAX_STATEMENT_LEN, MAX_VALUE_LEN,
    ParsedStatement, parse_policy_text, parse_statement,
};
pub use print::print_statement;
