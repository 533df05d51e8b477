//! `verify --junit`: the JUnit XML report, one test case per path.

use std::fmt::Write as _;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use super::gate::HintsGate;
use super::summary::{staged_runs, together_text, verdict_text, whole_head};
use super::{PathResult, Report};

/// The JUnit XML report: one `<testsuite>` named after the expectations
/// file, one `<testcase>` per path (`classname` the pack, or `verify` for
/// the file's own paths), `<failure>` with the witness packets, `<skipped>`
/// for skipped paths. The element and attribute names are those of the
/// JUnit schema CI systems read (Jenkins, GitLab, GitHub actions).
///
/// # Errors
/// Never in practice: the XML is written to memory (an error of the
/// writer, or text that is not UTF-8, is handed on).
pub fn junit(r: &Report, file: &str, gate: Option<&HintsGate>) -> std::io::Result<String> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    // `--fail-on-hints-open` adds a test case of its own.
    let gate_failed = usize::from(gate.is_some_and(|g| g.failed));
    let tests = (r.paths.len() + usize::from(gate.is_some())).to_string();
    let failures = (r.failed + gate_failed).to_string();
    let skipped = r.skipped.to_string();
    let mut suites = BytesStart::new("testsuites");
    suites.push_attribute(("name", "zprsim verify"));
    suites.push_attribute(("tests", tests.as_str()));
    suites.push_attribute(("failures", failures.as_str()));
    suites.push_attribute(("errors", "0"));
    w.write_event(Event::Start(suites))?;
    let mut suite = BytesStart::new("testsuite");
    suite.push_attribute(("name", file));
    suite.push_attribute(("tests", tests.as_str()));
    suite.push_attribute(("failures", failures.as_str()));
    suite.push_attribute(("errors", "0"));
    suite.push_attribute(("skipped", skipped.as_str()));
    w.write_event(Event::Start(suite))?;
    if r.interrupted {
        // A stopped run: its test cases are the paths judged whole.
        w.write_event(Event::Start(BytesStart::new("properties")))?;
        let mut prop = BytesStart::new("property");
        prop.push_attribute(("name", "interrupted"));
        prop.push_attribute(("value", "true"));
        w.write_event(Event::Empty(prop))?;
        if let Some(by) = r.stopped_by {
            let by = serde_json::to_value(by).unwrap_or_default();
            let mut prop = BytesStart::new("property");
            prop.push_attribute(("name", "stopped_by"));
            prop.push_attribute(("value", by.as_str().unwrap_or_default()));
            w.write_event(Event::Empty(prop))?;
        }
        w.write_event(Event::End(BytesEnd::new("properties")))?;
    }
    for p in &r.paths {
        let class = match p.name.split_once('/') {
            Some((pack, _)) => format!("verify.{pack}"),
            None => "verify".to_owned(),
        };
        let mut tc = BytesStart::new("testcase");
        tc.push_attribute(("name", p.name.as_str()));
        tc.push_attribute(("classname", class.as_str()));
        if p.ok && !p.skipped && p.audit_would_deny == 0 {
            w.write_event(Event::Empty(tc))?;
            continue;
        }
        if p.ok && !p.skipped {
            // Passing today, but enforcing `audit` attributes would deny
            // some of it: said in the case's output, so a CI gate on the
            // rollout sees it (the case still passes: it is open today).
            w.write_event(Event::Start(tc))?;
            w.write_event(Event::Start(BytesStart::new("system-out")))?;
            w.write_event(Event::Text(BytesText::new(&audit_text(p))))?;
            w.write_event(Event::End(BytesEnd::new("system-out")))?;
            w.write_event(Event::End(BytesEnd::new("testcase")))?;
            continue;
        }
        w.write_event(Event::Start(tc))?;
        if p.skipped {
            let mut sk = BytesStart::new("skipped");
            sk.push_attribute(("message", "skipped by the expectations file"));
            w.write_event(Event::Empty(sk))?;
        } else {
            let (message, body) = failure_text(p);
            failure_element(&mut w, &message, "path", &body)?;
        }
        w.write_event(Event::End(BytesEnd::new("testcase")))?;
    }
    if let Some(g) = gate {
        let mut tc = BytesStart::new("testcase");
        // The name stays as CI systems have recorded it; the failure's
        // message says whether paths open or close.
        tc.push_attribute(("name", "hints together open no path that should be closed"));
        tc.push_attribute(("classname", "verify.fail-on-hints-open"));
        if g.failed {
            w.write_event(Event::Start(tc))?;
            let body = r
                .hints_together
                .as_ref()
                .map(together_text)
                .unwrap_or_default();
            failure_element(&mut w, &g.why, "hints-open", &body)?;
            w.write_event(Event::End(BytesEnd::new("testcase")))?;
        } else {
            w.write_event(Event::Empty(tc))?;
        }
    }
    w.write_event(Event::End(BytesEnd::new("testsuite")))?;
    w.write_event(Event::End(BytesEnd::new("testsuites")))?;
    let mut text = String::from_utf8(w.into_inner())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    text.push('\n');
    Ok(text)
}

/// A JUnit `<failure message=".." type="..">body</failure>`.
fn failure_element(
    w: &mut Writer<Vec<u8>>,
    message: &str,
    kind: &str,
    body: &str,
) -> std::io::Result<()> {
    let mut f = BytesStart::new("failure");
    f.push_attribute(("message", message));
    f.push_attribute(("type", kind));
    w.write_event(Event::Start(f))?;
    w.write_event(Event::Text(BytesText::new(body)))?;
    w.write_event(Event::End(BytesEnd::new("failure")))?;
    Ok(())
}

fn failure_text(p: &PathResult) -> (String, String) {
    if let Some(e) = &p.error {
        return (e.clone(), e.clone());
    }
    let message = format!(
        "{} of {} pair(s) fail: expected {}",
        p.failed_pairs,
        p.pairs,
        p.expect.as_str()
    );
    let mut body = String::new();
    for n in &p.stand_ins {
        let _ = writeln!(body, "stand-in: {n}");
    }
    for f in &p.failed {
        let verdict = verdict_text(f.stage);
        let _ = writeln!(body, "{}: {verdict}", f.packet);
        if let Some(runs) = staged_runs(f) {
            let _ = writeln!(body, "  failing ports: {runs}");
        } else if !f.failing_ports.is_empty() {
            let _ = writeln!(body, "  failing ports: {}", f.failing_ports.join(", "));
        }
        let _ = writeln!(body, "  {}", f.rule);
        for b in &f.blocked_by {
            let _ = writeln!(body, "  blocked by: {b}");
        }
        for o in &f.to_open {
            let _ = writeln!(body, "  to open: {o}");
        }
    }
    if let Some(head) = whole_head(p) {
        let _ = writeln!(body, "{head}");
        for o in &p.to_open {
            let _ = writeln!(body, "  to open: {o}");
        }
    }
    if let Some(why) = &p.why {
        let _ = writeln!(body, "why it matters: {why}");
    }
    (message, body)
}

/// The note of a path that `audit` attributes would deny once enforced,
/// with its witness and what keeps it open, for JUnit's `system-out`.
fn audit_text(p: &PathResult) -> String {
    let mut t = format!(
        "{} allowed probe(s) would be denied once `audit` attributes are enforced\n",
        p.audit_would_deny
    );
    if let Some(w) = &p.audit_witness {
        let _ = writeln!(t, "{}: {}", w.packet, w.rule);
    }
    let keep = match &p.audit_witness {
        Some(w) if p.to_keep_open.is_empty() => &w.to_open,
        _ => &p.to_keep_open,
    };
    for o in keep {
        let _ = writeln!(t, "to keep it open: {o}");
    }
    t
}
