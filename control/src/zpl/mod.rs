//! ZPL, the Zero Trust Packet Routing policy language: parser, printer and
//! error rendering. See `docs/semantics.md` §4.2 for the grammar.

pub mod ast;
