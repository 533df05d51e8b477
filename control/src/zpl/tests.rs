//! Unit and property tests of the ZPL parser, printer and errors.
