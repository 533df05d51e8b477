//! ZPR policies: inline statements and `.zpl` files parsed, with positions
//! in the scenario or the policy file.

use std::path::Path;

use super::{Ctx, Kind, Res, Resolver, Warn, id, label};
use crate::ids::PolicyId;
use crate::load::raw::Sp;
use crate::load::{Format, LoadError, MAX_POLICY_FILE_BYTES, WarningCode};
use crate::model::{Origin, PolicyStatement, ZprPolicy};
use crate::zpl;

/// The position of byte 0 of an inline statement's text: one past the
/// opening quote(s) of the TOML string, or, for JSON, where the encoded
/// string is found in the text (searched from `cursor`).
pub(super) fn statement_start(ctx: &Ctx<'_>, s: &Sp<String>, cursor: &mut usize) -> Option<usize> {
    match ctx.format {
        Format::Toml => {
            let span = s.span()?;
            let raw = ctx.text.get(span.clone())?;
            let mut start = span.start;
            if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
                start += 3;
                // A newline right after the opening delimiter is trimmed.
                let rest = ctx.text.get(start..).unwrap_or("");
                if rest.starts_with("\r\n") {
                    start += 2;
                } else if rest.starts_with('\n') {
                    start += 1;
                }
            } else if raw.starts_with('"') || raw.starts_with('\'') {
                start += 1;
            }
            Some(start)
        }
        Format::Json => {
            // Statements appear in file order, so each search starts where
            // the last one ended. After one miss (a statement written with
            // other escapes) positions stay unknown: searching again could
            // scan the text once per statement.
            if *cursor == usize::MAX {
                return None;
            }
            let encoded = serde_json::to_string(&s.value).ok()?;
            let from = (*cursor).min(ctx.text.len());
            let Some(found) = ctx.text.get(from..).and_then(|t| t.find(&encoded)) else {
                *cursor = usize::MAX;
                return None;
            };
            let found = found + from;
            *cursor = found + encoded.len();
            Some(found + 1)
        }
    }
}

/// `dir/of/scenario.toml` + `policies/x.zpl` -> `dir/of/policies/x.zpl`.
pub(super) fn display_path(scenario_file: &str, relative: &str) -> String {
    let rel = Path::new(relative);
    if rel.is_absolute() {
        return relative.to_owned();
    }
    match Path::new(scenario_file).parent() {
        _ if crate::load::is_descriptor_path(Path::new(scenario_file)) => relative.to_owned(),
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(rel).to_string_lossy().into_owned(),
        _ => relative.to_owned(),
    }
}

/// Absolute (line, column) of a statement-relative (line, column).
pub(super) fn shift(first: (u32, u32), rel: (u32, u32)) -> (u32, u32) {
    if rel.0 <= 1 {
        (first.0, first.1.saturating_add(rel.1.saturating_sub(1)))
    } else {
        (first.0.saturating_add(rel.0 - 1), rel.1)
    }
}

impl Resolver<'_> {
    /// Reads the ZPR policies and parses their statements.
    pub(super) fn policies(&mut self) -> Res<()> {
        let raw = self.raw;
        let ctx = &mut self.ctx;
        let (file, files) = (ctx.file, self.files);
        let options = &self.s.options;
        let mut zpr_policies = Vec::new();
        let mut json_cursor = 0usize;
        for (pi, p) in raw.zpr_policy.iter().enumerate() {
            let object = label(Kind::Policy, &p.name.value);
            let _ = id(PolicyId::new(pi), ctx)?;
            let statements = match (&p.statements, &p.file) {
                (Some(_), Some(f)) => {
                    return Err(ctx.err(
                        f.start(),
                        &object,
                        "file",
                        "give either `statements` or `file`, not both".to_owned(),
                    ));
                }
                (None, None) => {
                    return Err(ctx.err(
                        p.name.start(),
                        &object,
                        "",
                        "a zpr policy needs `statements` or `file`".to_owned(),
                    ));
                }
                (Some(list), None) => {
                    let mut out = Vec::new();
                    for (i, s) in list.value.iter().enumerate() {
                        let field = format!("statements[{i}]");
                        let start = statement_start(ctx, s, &mut json_cursor);
                        let first = start.map_or((0, 0), |o| ctx.positions.line_col(o));
                        match zpl::parse_statement(&s.value) {
                            Ok(statement) => out.push(PolicyStatement {
                                text: s.value.clone(),
                                statement,
                                origin: Origin {
                                    file: file.to_owned(),
                                    line: first.0,
                                    column: first.1,
                                },
                            }),
                            Err(e) => {
                                let (line, column) = if start.is_some() {
                                    let (l, c) = shift(first, e.line_col(&s.value));
                                    (Some(l), Some(c))
                                } else {
                                    (None, None)
                                };
                                let rendered = if start.is_some() {
                                    e.render_at(file, &s.value, first.0, first.1)
                                } else {
                                    e.render(file, &s.value)
                                };
                                return Err(Box::new(LoadError {
                                    file: file.to_owned(),
                                    line,
                                    column,
                                    object: Some(object),
                                    field: Some(field),
                                    message: e.message(),
                                    rendered_zpl: Some(rendered),
                                }));
                            }
                        }
                    }
                    out
                }
                (None, Some(f)) => {
                    let shown = display_path(file, &f.value);
                    let content = files.read(&f.value).map_err(|e| {
                        ctx.err(
                            f.start(),
                            &object,
                            "file",
                            format!("cannot read `{shown}`: {e}"),
                        )
                    })?;
                    if content.len() > MAX_POLICY_FILE_BYTES {
                        return Err(ctx.err(
                            f.start(),
                            &object,
                            "file",
                            format!(
                                "`{shown}` is {} bytes long; at most {MAX_POLICY_FILE_BYTES} bytes are accepted",
                                content.len()
                            ),
                        ));
                    }
                    match zpl::parse_policy_text(&content) {
                        Ok(parsed) => parsed
                            .into_iter()
                            .map(|ps| PolicyStatement {
                                text: ps.text,
                                statement: ps.statement,
                                origin: Origin {
                                    file: shown.clone(),
                                    line: ps.line,
                                    column: ps.column,
                                },
                            })
                            .collect(),
                        Err(e) => {
                            let (l, c) = e.line_col(&content);
                            return Err(Box::new(LoadError {
                                file: shown.clone(),
                                line: Some(l),
                                column: Some(c),
                                object: Some(object),
                                field: Some("file".to_owned()),
                                message: e.message(),
                                rendered_zpl: Some(e.render(&shown, &content)),
                            }));
                        }
                    }
                }
            };
            if statements.len() > options.max_statements_per_policy {
                ctx.warn(
                    WarningCode::OciLimit,
                    p.name.start(),
                    format!(
                        "{object} has {} statements; the limit is {}",
                        statements.len(),
                        options.max_statements_per_policy
                    ),
                );
            }
            zpr_policies.push(ZprPolicy {
                name: p.name.value.clone(),
                id: p.id.as_ref().map(|x| x.value.clone()),
                statements,
                file: p.file.as_ref().map(|f| display_path(file, &f.value)),
                stand_in: p.stand_in.unwrap_or(false),
            });
        }
        self.s.zpr_policies = zpr_policies;
        Ok(())
    }
}
