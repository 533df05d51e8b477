//! The ZPL parser: a small tokenizer and a hand-written recursive-descent
//! parser over its tokens.
//!
//! Why not winnow: the grammar is LL(1) over four token kinds (word, quoted
//! term, `=`, `,`) with no backtracking, and every error has to name the
//! offending token with its byte span and a list of what could stand there
//! (`` expected `endpoints`, `with` or end of statement, found `endpoint` ``).
//! With winnow we would still tokenize first (quoted terms with `''`
//! escapes, case-insensitive keywords), then map `ContextError` positions
//! back to tokens and rebuild these messages by hand; the combinators would
//! add a layer without removing any of that code. The two sub-languages
//! inside quotes (attributes and `protocol` values) are parsed the same way
//! on the raw quoted text, so their errors point inside the quotes.
//!
//! Bounds: a statement is at most [`MAX_STATEMENT_LEN`] bytes and a file at
//! most [`MAX_FILE_LEN`]; every loop consumes input, nothing recurses, so the
//! work is linear in the input.

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

use super::ast::{
    Condition, ConnectionState, Endpoint, ProtocolSpec, Span, Spanned, Statement, StatementKind,
};
use super::error::ZplError;
use crate::shared::{Attribute, DEFAULT_NAMESPACE, PortRange, proto};

/// The longest statement accepted, in bytes.
pub const MAX_STATEMENT_LEN: usize = 64 * 1024;
/// The longest `.zpl` text accepted by [`parse_policy_text`], in bytes.
pub const MAX_FILE_LEN: usize = 4 * 1024 * 1024;
/// The longest attribute namespace, in characters.
pub const MAX_NAMESPACE_LEN: usize = 100;
/// The longest attribute key, in characters.
pub const MAX_KEY_LEN: usize = 100;
/// The longest attribute value, in characters.
pub const MAX_VALUE_LEN: usize = 255;

/// The current spelling of the Oracle Services Network keyword.
pub(crate) const OSN: &str = "osn-services-ip-addresses";
/// The older spelling, accepted and read as [`OSN`].
const OSN_LEGACY: &str = "osn-services-ip-endpoints";

/// One statement of a `.zpl` text, as found by [`parse_policy_text`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedStatement {
    /// The statement exactly as written: from its first character to the
    /// end of its last continuation line (comment lines between them
    /// included), trailing blanks removed. Spans in `statement` are relative
    /// to this text.
    pub text: String,
    /// The parsed statement.
    pub statement: Statement,
    /// 1-based line of the statement's first character.
    pub line: u32,
    /// 1-based column (in characters) of the statement's first character.
    pub column: u32,
    /// Byte offset of the statement's first character in the file.
    pub offset: usize,
}

/// Parses one ZPL statement. Spans in the result and in the error are byte
/// offsets into `text`. A line of `text` whose first non-blank character is
/// `#` is a comment.
///
/// # Errors
/// A [`ZplError`] naming what was expected and what was found, with the
/// span of the offending text.
pub fn parse_statement(text: &str) -> Result<Statement, ZplError> {
    if text.len() > MAX_STATEMENT_LEN {
        let at = super::error::floor_char_boundary(text, MAX_STATEMENT_LEN);
        return Err(ZplError::new(
            at,
            text.len() - at,
            format!("a statement of at most {MAX_STATEMENT_LEN} bytes"),
            format!("{} bytes", text.len()),
        ));
    }
    let tokens = tokenize(text)?;
    Parser {
        src: text,
        toks: tokens,
        pos: 0,
    }
    .statement()
}

/// Parses a `.zpl` text: one statement per line; blank lines and lines whose
/// first non-blank character is `#` are ignored; a line that starts with
/// blanks continues the statement above it (comment and blank lines between
/// do not end a statement, only a line starting in column 1 does), and so
/// does a line inside a quote left open on the line above.
///
/// Spans inside each [`ParsedStatement::statement`] are relative to its
/// `text`; the error's span is relative to the whole `text` given here.
///
/// # Errors
/// The first statement with an error (no statement of a file with an error
/// is meant to be used), or a text longer than [`MAX_FILE_LEN`].
pub fn parse_policy_text(text: &str) -> Result<Vec<ParsedStatement>, ZplError> {
    if text.len() > MAX_FILE_LEN {
        let at = super::error::floor_char_boundary(text, MAX_FILE_LEN);
        return Err(ZplError::new(
            at,
            text.len() - at,
            format!("a policy text of at most {MAX_FILE_LEN} bytes"),
            format!("{} bytes", text.len()),
        ));
    }
    let mut out = Vec::new();
    for chunk in statement_chunks(text)? {
        let slice = &text[chunk.start..chunk.end];
        let statement = parse_statement(slice).map_err(|e| e.shifted(chunk.start))?;
        out.push(ParsedStatement {
            text: slice.to_string(),
            statement,
            line: chunk.line,
            column: chunk.column,
            offset: chunk.start,
        });
    }
    Ok(out)
}

/// The first `\r` of `text[start..end]` (one line) not followed by `\n`
/// and outside a quote (`in_quote`: the line starts inside one; `quotes`:
/// whether `'` opens and closes quotes on this line, not on a comment's).
/// A file whose lines end with CR alone is one line to
/// [`statement_chunks`] (one comment, when it starts with `#`: a policy of
/// no statement, silently), so such a CR is an error where it stands.
fn lone_carriage_return(
    text: &str,
    start: usize,
    end: usize,
    mut in_quote: bool,
    quotes: bool,
) -> Option<ZplError> {
    let bytes = text.as_bytes();
    let at = (start..end).find(|&i| match bytes[i] {
        b'\'' if quotes => {
            in_quote = !in_quote;
            false
        }
        b'\r' => !in_quote && bytes.get(i + 1) != Some(&b'\n'),
        _ => false,
    })?;
    Some(
        ZplError::new(
            at,
            1,
            "a line end of LF or CRLF",
            "a carriage return (CR) alone",
        )
        .with_headline(
            "a carriage return (CR) alone, the line end of classic Mac OS: ZPL lines end with LF or CRLF (convert the file, e.g. `tr '\\r' '\\n'`)",
        ),
    )
}

/// Where one statement of a file lies.
struct Chunk {
    start: usize,
    end: usize,
    line: u32,
    column: u32,
}

/// Splits a `.zpl` text into statements (see [`parse_policy_text`]). A
/// line that starts inside a quote opened on an earlier line (an attribute
/// value holding a newline) continues the statement whatever its first
/// character; an unterminated quote runs to the end of the file and is
/// reported by the parser. A carriage return alone outside a quote is an
/// error (see [`lone_carriage_return`]).
fn statement_chunks(text: &str) -> Result<Vec<Chunk>, ZplError> {
    let mut chunks: Vec<Chunk> = Vec::new();
    let mut line_start = if text.starts_with('\u{feff}') {
        '\u{feff}'.len_utf8()
    } else {
        0
    };
    let mut line_no: u32 = 1;
    let mut in_quote = false;
    while line_start < text.len() {
        let line_end = text[line_start..]
            .find('\n')
            .map_or(text.len(), |i| line_start + i);
        let line = &text[line_start..line_end];
        let content = line.trim_start();
        let indent = line.len() - content.len();
        let continues = in_quote || indent > 0;
        let skip = !in_quote && (content.is_empty() || content.starts_with('#'));
        if let Some(e) = lone_carriage_return(text, line_start, line_end, in_quote, !skip) {
            return Err(e);
        }
        if !skip {
            // Each `'` opens or closes a quote; `''` inside a quote closes
            // and reopens it, so the parity is right for escapes too.
            in_quote ^= line.bytes().filter(|&b| b == b'\'').count() % 2 == 1;
            let end = line_start + line.trim_end().len();
            match chunks.last_mut() {
                Some(last) if continues => last.end = end,
                _ => {
                    let column =
                        u32::try_from(line[..indent].chars().count() + 1).unwrap_or(u32::MAX);
                    chunks.push(Chunk {
                        start: line_start + indent,
                        end,
                        line: line_no,
                        column,
                    });
                }
            }
        }
        line_start = line_end + 1;
        line_no = line_no.saturating_add(1);
    }
    Ok(chunks)
}

// ---------------------------------------------------------------------------
// Tokens

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokKind {
    /// A run of characters other than blanks, `'`, `,` and `=`.
    Word,
    /// `'...'` with `''` for a quote inside.
    Quoted,
    /// `=`.
    Eq,
    /// `,`.
    Comma,
}

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    kind: TokKind,
    /// As written (quotes included).
    text: &'a str,
    span: Span,
}

impl<'a> Token<'a> {
    /// The text between the quotes of a quoted token, `''` escapes kept.
    fn raw_inner(&self) -> &'a str {
        let t = self.text;
        if self.kind == TokKind::Quoted && t.len() >= 2 {
            &t[1..t.len() - 1]
        } else {
            t
        }
    }

    fn is_keyword(&self, kw: &str) -> bool {
        self.kind == TokKind::Word && self.text.eq_ignore_ascii_case(kw)
    }
}

/// Splits a statement into tokens. A line whose first non-blank character is
/// `#` is skipped as a comment.
fn tokenize(text: &str) -> Result<Vec<Token<'_>>, ZplError> {
    let bytes = text.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    let mut at_line_start = true;
    while i < text.len() {
        let Some(c) = text[i..].chars().next() else {
            break;
        };
        if c == '\n' {
            at_line_start = true;
            i += 1;
            continue;
        }
        if c.is_whitespace() {
            i += c.len_utf8();
            continue;
        }
        if c == '#' && at_line_start {
            i = text[i..].find('\n').map_or(text.len(), |n| i + n);
            continue;
        }
        at_line_start = false;
        let start = i;
        let kind = match c {
            '=' => {
                i += 1;
                TokKind::Eq
            }
            ',' => {
                i += 1;
                TokKind::Comma
            }
            '\'' => {
                i += 1;
                loop {
                    match text[i..].find('\'') {
                        None => {
                            return Err(ZplError::new(
                                start,
                                text.len() - start,
                                "`'` to close the quote",
                                "end of statement",
                            )
                            .with_headline(
                                "unterminated quote: expected `'` to close the quote, found end of statement",
                            ));
                        }
                        Some(n) => {
                            i += n + 1;
                            if bytes.get(i) == Some(&b'\'') {
                                i += 1; // `''`: an escaped quote
                            } else {
                                break;
                            }
                        }
                    }
                }
                TokKind::Quoted
            }
            // A statement copied from a word processor or a web page
            // carries typographic quotes (`‘10.0.0.0/8’`), or double ones:
            // no word starts so, and "expected a quoted IP address, found
            // `‘10.0.0.0/8’`" would not say what is wrong.
            '‘' | '’' | '‚' | '‛' | '“' | '”' | '„' | '‟' | '′' | '´' | '`' | '"' =>
            {
                let what = if c == '"' {
                    "a double quote".to_owned()
                } else {
                    format!(
                        "U+{:04X}, a typographic quote as word processors and web pages write it",
                        u32::from(c)
                    )
                };
                return Err(ZplError::new(
                    start,
                    c.len_utf8(),
                    "`'` (ZPL quotes with the straight single quote, U+0027)",
                    format!("`{c}` ({what})"),
                ));
            }
            _ => {
                i = text[i..]
                    .char_indices()
                    .find(|&(_, c)| c.is_whitespace() || matches!(c, '\'' | ',' | '='))
                    .map_or(text.len(), |(n, _)| i + n);
                TokKind::Word
            }
        };
        toks.push(Token {
            kind,
            text: &text[start..i],
            span: Span { start, end: i },
        });
    }
    Ok(toks)
}

/// User text for a message, in backticks: at most 60 characters, control
/// characters escaped so the message stays on one line.
fn describe(s: &str) -> String {
    const MAX: usize = 60;
    let mut out = String::from("`");
    for (n, c) in s.chars().enumerate() {
        if n == MAX {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.push('`');
    out
}

// ---------------------------------------------------------------------------
// Statements

/// The expected-list for an endpoint term.
const ENDPOINT: &str = "an endpoint (a security attribute, a quoted IP address or CIDR, `all-endpoints` or `osn-services-ip-addresses`)";
const ATTRIBUTE: &str = "a security attribute (`key:value` or `namespace.key:value`)";
const CONDITION: &str =
    "a condition (`protocol`, `protocol.icmp.type`, `protocol.icmp.code` or `connection-state`)";

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token<'a>>,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<Token<'a>> {
        self.toks.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<Token<'a>> {
        let t = self.peek();
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    fn at_keyword(&self, kw: &str) -> bool {
        self.peek().is_some_and(|t| t.is_keyword(kw))
    }

    /// Consumes the keyword if it is next.
    fn eat_keyword(&mut self, kw: &str) -> bool {
        let yes = self.at_keyword(kw);
        if yes {
            self.pos += 1;
        }
        yes
    }

    /// The error "expected `expected`, found <the next token>".
    fn error(&self, expected: impl Into<String>) -> ZplError {
        match self.peek() {
            Some(t) => ZplError::new(
                t.span.start,
                t.span.end - t.span.start,
                expected,
                describe(t.text),
            ),
            None => ZplError::new(self.src.len(), 0, expected, "end of statement"),
        }
    }

    fn expect_keyword(&mut self, kw: &str) -> Result<Span, ZplError> {
        match self.peek() {
            Some(t) if t.is_keyword(kw) => {
                self.pos += 1;
                Ok(t.span)
            }
            _ => Err(self.error(format!("`{kw}`"))),
        }
    }

    fn expect_end(&self, expected: &str) -> Result<(), ZplError> {
        if self.peek().is_some() {
            Err(self.error(expected))
        } else {
            Ok(())
        }
    }

    fn statement(mut self) -> Result<Statement, ZplError> {
        if self.at_keyword("in") {
            self.scoped()
        } else if self.at_keyword("allow") {
            self.cross_vcn()
        } else {
            Err(self.error("`in` or `allow`"))
        }
    }

    /// `in <attr> VCN allow <src> to connect to <dst> [with ...]`
    fn scoped(&mut self) -> Result<Statement, ZplError> {
        self.expect_keyword("in")?;
        let vcn = self.attribute()?;
        self.expect_keyword("VCN")?;
        self.expect_keyword("allow")?;
        let (src, src_attr) = self.endpoint()?;
        let src_text = self.span_text(src.span);
        self.expect_to_connect_to(src_attr)?;
        let (dst, dst_attr) = self.endpoint()?;

        if src.node == Endpoint::AllEndpoints && dst.node == Endpoint::AllEndpoints {
            return Err(ZplError::new(
                dst.span.start,
                dst.span.end - dst.span.start,
                "a security attribute, an address or `osn-services-ip-addresses` on one side",
                "`all-endpoints` on both sides",
            )
            .with_headline(
                "`all-endpoints` on both sides: expected a security attribute, an address or `osn-services-ip-addresses` on one side",
            ));
        }
        if src.node.is_address_term() && dst.node.is_address_term() {
            let found = format!(
                "{} and {}",
                describe(src_text),
                describe(self.span_text(dst.span))
            );
            return Err(ZplError::new(
                dst.span.start,
                dst.span.end - dst.span.start,
                "a security attribute or `all-endpoints` on one side",
                found.clone(),
            )
            .with_headline(format!(
                "address terms on both sides: expected a security attribute or `all-endpoints` on one side, found {found}"
            )));
        }

        let conditions = if self.at_keyword("with") {
            let c = self.conditions()?;
            self.expect_end("`,`, `and`, `with` or end of statement")?;
            c
        } else {
            self.expect_end(if dst_attr {
                "`endpoints`, `with` or end of statement"
            } else {
                "`with` or end of statement"
            })?;
            Vec::new()
        };
        Ok(Statement {
            kind: StatementKind::Scoped { vcn, src, dst },
            conditions,
        })
    }

    /// `allow <attr> [endpoints] in <attr> VCN to connect to <attr>
    /// [endpoints] [with ...] in <attr> VCN`
    fn cross_vcn(&mut self) -> Result<Statement, ZplError> {
        self.expect_keyword("allow")?;
        let (src, bare) = self.cross_vcn_attribute()?;
        if !self.eat_keyword("in") {
            return Err(self.error(if bare { "`endpoints` or `in`" } else { "`in`" }));
        }
        let src_vcn = self.attribute()?;
        self.expect_keyword("VCN")?;
        self.expect_to_connect_to(false)?;
        let (dst, bare) = self.cross_vcn_attribute()?;
        let conditions = if self.at_keyword("with") {
            let c = self.conditions()?;
            if !self.at_keyword("in") {
                return Err(self.error("`,`, `and`, `with` or `in`"));
            }
            c
        } else {
            if !self.at_keyword("in") {
                return Err(self.error(if bare {
                    "`endpoints`, `with` or `in`"
                } else {
                    "`with` or `in`"
                }));
            }
            Vec::new()
        };
        self.expect_keyword("in")?;
        let dst_vcn = self.attribute()?;
        self.expect_keyword("VCN")?;
        self.expect_end("end of statement")?;
        Ok(Statement {
            kind: StatementKind::CrossVcn {
                src,
                src_vcn,
                dst,
                dst_vcn,
            },
            conditions,
        })
    }

    /// `to connect to`, after a source term (`endpoints` may come first
    /// when the source is an attribute).
    fn expect_to_connect_to(&mut self, after_attribute: bool) -> Result<(), ZplError> {
        if !self.at_keyword("to") {
            let expected = if after_attribute {
                "`endpoints` or `to`"
            } else {
                "`to`"
            };
            let mut e = self.error(expected);
            if self.at_keyword("with") {
                let m = format!("{} (conditions go after the destination)", e.message());
                e = e.with_headline(m);
            }
            return Err(e);
        }
        self.pos += 1;
        self.expect_keyword("connect")?;
        self.expect_keyword("to")?;
        Ok(())
    }

    fn span_text(&self, span: Span) -> &'a str {
        self.src.get(span.start..span.end).unwrap_or("")
    }

    /// A term of a cross-VCN statement: an attribute, then `endpoints`
    /// optionally (the flag says it was left out).
    fn cross_vcn_attribute(&mut self) -> Result<(Spanned<Attribute>, bool), ZplError> {
        let (term, bare) = self.endpoint()?;
        match term.node {
            Endpoint::Attribute(a) => Ok((Spanned::new(a, term.span), bare)),
            _ => {
                let found = describe(self.span_text(term.span));
                Err(ZplError::new(term.span.start, term.span.end - term.span.start, "a security attribute", found.clone())
                    .with_headline(format!(
                        "expected a security attribute, found {found} (a cross-VCN statement names attributes only)"
                    )))
            }
        }
    }

    /// An endpoint term, then `endpoints` optionally when it is an
    /// attribute. The flag says whether it was an attribute written without
    /// `endpoints` (for the expected-list of the next error).
    fn endpoint(&mut self) -> Result<(Spanned<Endpoint>, bool), ZplError> {
        let Some(t) = self.peek() else {
            return Err(self.error(ENDPOINT));
        };
        let node = match t.kind {
            TokKind::Word => {
                let lower = t.text.to_ascii_lowercase();
                if lower == "all-endpoints" {
                    Endpoint::AllEndpoints
                } else if lower == OSN || lower == OSN_LEGACY {
                    Endpoint::OsnServices
                } else if parse_address(t.text).is_some() {
                    return Err(self.error(format!("`'{}'` (addresses are quoted)", t.text)));
                } else if t.text.contains(':') {
                    Endpoint::Attribute(attribute(t)?)
                } else {
                    return Err(self.error(ENDPOINT));
                }
            }
            TokKind::Quoted => {
                let raw = t.raw_inner();
                if let Some(net) = parse_address(raw) {
                    if net.trunc() != net {
                        let host = IpNet::from(net.addr());
                        return Err(ZplError::new(
                            t.span.start,
                            t.span.end - t.span.start,
                            format!("`{}` or `{host}`", net.trunc()),
                            format!("`{raw}`"),
                        )
                        .with_headline(format!(
                            "host bits set in `{raw}`, expected `{}` or `{host}`",
                            net.trunc()
                        )));
                    }
                    Endpoint::Cidr(net)
                } else if raw.eq_ignore_ascii_case(OSN) || raw.eq_ignore_ascii_case(OSN_LEGACY) {
                    Endpoint::OsnServices
                } else if looks_like_address(raw) {
                    return Err(self.error("an IP address or CIDR"));
                } else {
                    Endpoint::Attribute(attribute(t)?)
                }
            }
            TokKind::Eq | TokKind::Comma => return Err(self.error(ENDPOINT)),
        };
        self.pos += 1;
        let is_attr = matches!(node, Endpoint::Attribute(_));
        let bare_attr = is_attr && !self.eat_keyword("endpoints");
        Ok((Spanned::new(node, t.span), bare_attr))
    }

    /// A VCN scope attribute.
    fn attribute(&mut self) -> Result<Spanned<Attribute>, ZplError> {
        match self.peek() {
            Some(t) if matches!(t.kind, TokKind::Word | TokKind::Quoted) => {
                if t.kind == TokKind::Word && !t.text.contains(':') {
                    return Err(self.error(ATTRIBUTE));
                }
                let a = attribute(t)?;
                self.pos += 1;
                Ok(Spanned::new(a, t.span))
            }
            _ => Err(self.error(ATTRIBUTE)),
        }
    }

    /// `with <cond> { (, | and | , and | with) <cond> }`, the `with` next.
    fn conditions(&mut self) -> Result<Vec<Spanned<Condition>>, ZplError> {
        self.expect_keyword("with")?;
        let mut out: Vec<Spanned<Condition>> = Vec::new();
        loop {
            let (name, cond) = self.condition()?;
            let kind = std::mem::discriminant(&cond.node);
            if out.iter().any(|c| std::mem::discriminant(&c.node) == kind) {
                let canonical = condition_name(&cond.node);
                return Err(ZplError::new(
                    name.start,
                    name.end - name.start,
                    format!("`{canonical}` at most once"),
                    format!("`{canonical}` given twice"),
                )
                .with_headline(format!("`{canonical}` given twice")));
            }
            out.push(cond);
            match self.peek() {
                Some(t) if t.kind == TokKind::Comma => {
                    self.pos += 1;
                    self.eat_keyword("and");
                }
                Some(t) if t.is_keyword("and") || t.is_keyword("with") => self.pos += 1,
                _ => return Ok(out),
            }
        }
    }

    /// One condition; also returns the span of its name.
    fn condition(&mut self) -> Result<(Span, Spanned<Condition>), ZplError> {
        let name = match self.peek() {
            Some(t) if t.kind == TokKind::Word => t,
            _ => return Err(self.error(CONDITION)),
        };
        let lower = name.text.to_ascii_lowercase();
        let which = match lower.as_str() {
            "protocol" | "protocol.icmp.type" | "protocol.icmp.code" | "connection-state" => lower,
            _ => return Err(self.error(CONDITION)),
        };
        self.pos += 1;
        match self.peek() {
            Some(t) if t.kind == TokKind::Eq => self.pos += 1,
            _ => return Err(self.error("`=`")),
        }
        let value = match self.peek() {
            Some(t) if t.kind == TokKind::Quoted => t,
            Some(t) if t.kind == TokKind::Word => {
                return Err(self.error(format!("`'{}'` (condition values are quoted)", t.text)));
            }
            _ => return Err(self.error(format!("a quoted value for `{which}`"))),
        };
        self.next();
        let v = Value {
            raw: value.raw_inner(),
            base: value.span.start + 1,
        };
        let node = match which.as_str() {
            "protocol" => Condition::Protocol(v.protocol()?),
            "protocol.icmp.type" => {
                Condition::IcmpType(v.small_number("an ICMP type from 0 to 255")?)
            }
            "protocol.icmp.code" => {
                Condition::IcmpCode(v.small_number("an ICMP code from 0 to 255")?)
            }
            _ => Condition::ConnectionState(v.connection_state()?),
        };
        let span = Span {
            start: name.span.start,
            end: value.span.end,
        };
        Ok((name.span, Spanned::new(node, span)))
    }
}

/// The name of a condition as printed.
pub(crate) fn condition_name(c: &Condition) -> &'static str {
    match c {
        Condition::Protocol(_) => "protocol",
        Condition::IcmpType(_) => "protocol.icmp.type",
        Condition::IcmpCode(_) => "protocol.icmp.code",
        Condition::ConnectionState(_) => "connection-state",
    }
}

// ---------------------------------------------------------------------------
// Terms

/// An IP address (as a host prefix) or a CIDR, exactly as written.
fn parse_address(s: &str) -> Option<IpNet> {
    if let Ok(net) = IpNet::from_str(s) {
        return Some(net);
    }
    IpAddr::from_str(s).ok().map(IpNet::from)
}

/// Whether a quoted term that is neither a valid address nor the OSN
/// keyword was meant as an address (`'10.0.0.0/33'`, `'fd00::/129'`), so
/// the error can say so instead of complaining about an attribute. An
/// attribute with a namespace has a `.` before its first `:`, which no IPv6
/// address has, so printed attributes never look like addresses.
fn looks_like_address(s: &str) -> bool {
    if s.is_empty()
        || !s
            .chars()
            .all(|c| c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '/'))
    {
        return false;
    }
    match s.find(':') {
        None => s.starts_with(|c: char| c.is_ascii_digit()) && (s.contains('.') || s.contains('/')),
        Some(first) => {
            !s[..first].contains('.')
                && (s.contains("::") || (s.matches(':').count() >= 2 && s.contains('/')))
        }
    }
}

/// Whether a character may appear in a namespace or a key.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Whether a character may appear in an unquoted attribute value. Beyond
/// the documented `[0-9A-Za-z_-]` we accept `.` and `:` (unambiguous: a
/// value ends at a blank, `,`, `=` or `'`), so Oracle's own example
/// `networks:net1:App1` parses.
fn is_bare_value_char(c: char) -> bool {
    is_name_char(c) || c == '.' || c == ':'
}

/// Parses a word or quoted token as `[namespace.]key:value`.
fn attribute(t: Token<'_>) -> Result<Attribute, ZplError> {
    let quoted = t.kind == TokKind::Quoted;
    let raw = t.raw_inner();
    let base = t.span.start + usize::from(quoted);
    let Some(colon) = raw.find(':') else {
        return Err(ZplError::new(
            t.span.start,
            t.span.end - t.span.start,
            ATTRIBUTE,
            describe(t.text),
        ));
    };
    let left = &raw[..colon];
    let (namespace, key_at) = match left.find('.') {
        Some(dot) => {
            check_name(&left[..dot], base, "attribute namespace", MAX_NAMESPACE_LEN)?;
            (&left[..dot], dot + 1)
        }
        None => (DEFAULT_NAMESPACE, 0),
    };
    let key = &left[key_at..];
    check_name(key, base + key_at, "attribute key", MAX_KEY_LEN)?;

    let value_raw = &raw[colon + 1..];
    let value_at = base + colon + 1;
    let value = if quoted {
        value_raw.replace("''", "'")
    } else {
        value_raw.to_string()
    };
    if value.is_empty() {
        return Err(ZplError::new(
            value_at,
            0,
            "an attribute value after `:`",
            "nothing",
        ));
    }
    if !quoted && !value.chars().all(is_bare_value_char) {
        return Err(ZplError::new(
            value_at,
            value.len(),
            "an attribute value of letters, digits, `_`, `-`, `.` and `:` (quote the whole attribute for other characters)",
            describe(&value),
        ));
    }
    let n = value.chars().count();
    if n > MAX_VALUE_LEN {
        return Err(ZplError::new(
            value_at,
            value_raw.len(),
            format!("an attribute value of at most {MAX_VALUE_LEN} characters"),
            format!("{n} characters"),
        ));
    }
    Ok(Attribute::new(namespace, key, value))
}

/// Checks a namespace or key: `[0-9A-Za-z_-]`, 1 to `max` characters.
fn check_name(s: &str, at: usize, what: &str, max: usize) -> Result<(), ZplError> {
    if s.is_empty() {
        return Err(ZplError::new(at, 0, format!("an {what}"), "nothing"));
    }
    if !s.chars().all(is_name_char) {
        return Err(ZplError::new(
            at,
            s.len(),
            format!("an {what} of letters, digits, `_` and `-`"),
            describe(s),
        ));
    }
    let n = s.chars().count();
    if n > max {
        return Err(ZplError::new(
            at,
            s.len(),
            format!("an {what} of at most {max} characters"),
            format!("{n} characters"),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Condition values

/// The text inside the quotes of a condition value, and the offset of its
/// first byte in the statement. Blanks around `/`, `,` and `-` (and at the
/// ends) are tolerated.
struct Value<'a> {
    raw: &'a str,
    base: usize,
}

/// A cursor over a condition value.
struct Cursor<'a> {
    s: &'a str,
    i: usize,
    base: usize,
}

impl<'a> Cursor<'a> {
    fn skip_blanks(&mut self) {
        while let Some(c) = self.peek() {
            if !c.is_whitespace() {
                break;
            }
            self.i += c.len_utf8();
        }
    }

    fn peek(&self) -> Option<char> {
        self.s[self.i..].chars().next()
    }

    fn at_end(&self) -> bool {
        self.i >= self.s.len()
    }

    /// Takes the longest run of characters satisfying `f`; returns it and
    /// its start.
    fn take(&mut self, f: impl Fn(char) -> bool) -> (&'a str, usize) {
        let start = self.i;
        while let Some(c) = self.peek() {
            if !f(c) {
                break;
            }
            self.i += c.len_utf8();
        }
        (&self.s[start..self.i], start)
    }

    /// An error about `s[at..at+len]`, or about the end of the value when
    /// `len` is 0 and `at` is at the end.
    fn error_at(&self, at: usize, len: usize, expected: impl Into<String>) -> ZplError {
        let found = if at >= self.s.len() {
            if self.s.trim().is_empty() {
                "an empty value".to_string()
            } else {
                "end of value".to_string()
            }
        } else {
            describe(&self.s[at..at + len])
        };
        ZplError::new(self.base + at, len, expected, found)
    }

    /// An error about the next token-ish run (a word, or one character).
    fn error_here(&self, expected: impl Into<String>) -> ZplError {
        let rest = &self.s[self.i..];
        let len = match rest.chars().next() {
            None => 0,
            Some(c) if c.is_alphanumeric() => rest
                .find(|c: char| !c.is_alphanumeric())
                .unwrap_or(rest.len()),
            Some(c) => c.len_utf8(),
        };
        self.error_at(self.i, len, expected)
    }
}

/// Protocol names and their numbers.
fn protocol_by_name(s: &str) -> Option<u8> {
    match s.to_ascii_lowercase().as_str() {
        "tcp" => Some(proto::TCP),
        "udp" => Some(proto::UDP),
        "icmp" => Some(proto::ICMP),
        "icmpv6" => Some(proto::ICMPV6),
        _ => None,
    }
}

const PROTOCOL: &str = "`tcp`, `udp`, `icmp`, `icmpv6` or a protocol number";

impl<'a> Value<'a> {
    fn cursor(&self) -> Cursor<'a> {
        Cursor {
            s: self.raw,
            i: 0,
            base: self.base,
        }
    }

    /// `proto[/port[-port][,...]]`.
    fn protocol(&self) -> Result<ProtocolSpec, ZplError> {
        let mut c = self.cursor();
        c.skip_blanks();
        let (name, at) = c.take(|c| c.is_ascii_alphanumeric());
        if name.is_empty() {
            return Err(c.error_here(PROTOCOL));
        }
        let protocol = if name.bytes().all(|b| b.is_ascii_digit()) {
            match name.parse::<u8>() {
                Ok(n) => n,
                Err(_) => {
                    return Err(c.error_at(at, name.len(), "a protocol number from 0 to 255"));
                }
            }
        } else {
            match protocol_by_name(name) {
                Some(n) => n,
                None => return Err(c.error_at(at, name.len(), PROTOCOL)),
            }
        };
        c.skip_blanks();
        let mut ports = Vec::new();
        match c.peek() {
            None => {}
            Some('/') => {
                if !proto::has_ports(protocol) {
                    let len = self.raw.trim_end().len().saturating_sub(c.i).max(1);
                    return Err(ZplError::new(
                        c.base + c.i,
                        len,
                        "ports only after `tcp` or `udp`",
                        format!("ports after {}", describe(name)),
                    ));
                }
                c.i += 1;
                ports = port_list(&mut c)?;
            }
            Some(',') => {
                c.i += 1;
                c.skip_blanks();
                return Err(
                    second_protocol(&mut c).unwrap_or_else(|| c.error_here("`/` and ports"))
                );
            }
            Some(_) => return Err(c.error_here("`/` and ports, or the end of the value")),
        }
        Ok(ProtocolSpec { protocol, ports })
    }

    /// A number from 0 to 255 (ICMP type or code).
    fn small_number(&self, expected: &str) -> Result<u8, ZplError> {
        let mut c = self.cursor();
        c.skip_blanks();
        let (digits, at) = c.take(|c| c.is_ascii_digit());
        if digits.is_empty() {
            return Err(c.error_here(expected));
        }
        let Ok(n) = digits.parse::<u8>() else {
            return Err(c.error_at(at, digits.len(), expected));
        };
        c.skip_blanks();
        if !c.at_end() {
            return Err(c.error_here("the end of the value"));
        }
        Ok(n)
    }

    fn connection_state(&self) -> Result<ConnectionState, ZplError> {
        let t = self.raw.trim();
        if t.eq_ignore_ascii_case("stateless") {
            Ok(ConnectionState::Stateless)
        } else if t.eq_ignore_ascii_case("stateful") {
            Ok(ConnectionState::Stateful)
        } else {
            let at = self.raw.len() - self.raw.trim_start().len();
            let found = if t.is_empty() {
                "an empty value".to_string()
            } else {
                describe(t)
            };
            Err(ZplError::new(
                self.base + at,
                t.len(),
                "`stateless` or `stateful`",
                found,
            ))
        }
    }
}

/// `port[-port] { , port[-port] }` up to the end of the value.
fn port_list(c: &mut Cursor<'_>) -> Result<Vec<PortRange>, ZplError> {
    let mut ports = Vec::new();
    loop {
        c.skip_blanks();
        if let Some(e) = second_protocol(c) {
            return Err(e);
        }
        let item_at = c.i;
        let min = port(c)?;
        c.skip_blanks();
        let max = if c.peek() == Some('-') {
            c.i += 1;
            c.skip_blanks();
            let max = port(c)?;
            if max < min {
                return Err(ZplError::new(
                    c.base + item_at,
                    c.i - item_at,
                    "a port range whose first port is not above its last",
                    describe(&c.s[item_at..c.i]),
                ));
            }
            c.skip_blanks();
            max
        } else {
            if c.peek() == Some('/') {
                // `tcp/80,17/53`: a protocol number with ports.
                let number = c.s[item_at..c.i].trim_end();
                return Err(ZplError::new(
                    c.base + item_at,
                    number.len(),
                    "one protocol",
                    format!(
                        "a second protocol {} (write one statement per protocol)",
                        describe(number)
                    ),
                ));
            }
            min
        };
        ports.push(PortRange { min, max });
        match c.peek() {
            None => return Ok(ports),
            Some(',') => c.i += 1,
            Some(_) => return Err(c.error_here("`,`, `-` or the end of the value")),
        }
    }
}

/// One port, 0 to 65535.
fn port(c: &mut Cursor<'_>) -> Result<u16, ZplError> {
    let (digits, at) = c.take(|c| c.is_ascii_digit());
    if digits.is_empty() {
        return Err(c.error_here("a port"));
    }
    digits
        .parse::<u16>()
        .map_err(|_| c.error_at(at, digits.len(), "a port from 0 to 65535"))
}

/// If a protocol name starts here (`udp` in `'tcp/80,udp/53'`), the error
/// for a second protocol in one condition.
fn second_protocol(c: &mut Cursor<'_>) -> Option<ZplError> {
    let rest = &c.s[c.i..];
    let end = rest
        .find(|ch: char| !ch.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    let word = &rest[..end];
    protocol_by_name(word)?;
    Some(ZplError::new(
        c.base + c.i,
        end,
        "one protocol",
        format!(
            "a second protocol {} (write one statement per protocol)",
            describe(word)
        ),
    ))
}
