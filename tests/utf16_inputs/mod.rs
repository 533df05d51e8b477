//! UTF-16 input (what Windows PowerShell 5's `>` writes), with or without a byte order
//! mark, compressed or not: read as its UTF-8 copy.

mod exports;
mod flow_logs;
mod scenarios;
