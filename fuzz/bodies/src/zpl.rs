//! ZPL text: the parser returns a statement or an error whose span lies
//! inside the text; a parsed statement prints to text that parses back to
//! the same statement.

use zprsim_control::zpl::{parse_policy_text, parse_statement, print_statement};

/// The body of the `zpl` fuzz target.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_statement(text) {
        Ok(st) => {
            let printed = print_statement(&st);
            let again = parse_statement(&printed).expect("printed statements parse");
            assert_eq!(again, st, "print/parse round trip");
        }
        Err(e) => {
            assert!(e.offset() <= text.len());
            let _ = e.render("fuzz.zpl", text);
        }
    }
    let _ = parse_policy_text(text);
}
