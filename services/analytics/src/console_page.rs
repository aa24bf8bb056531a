//! The operator console at `/console`: per tenant and source, whether webhooks arrive and
//! are refused; the consumers' lag; the dead letters with a replay button; per tenant the
//! doctor's verdict, ServiceTitan's refusals, bookings today and open discrepancies; and a
//! form that opens the trace of any call (`/console/trace`). Like the page at `/`: plain
//! server-rendered HTML, no scripts, a pure function of the values gathered
//! (`service::console`).

use std::fmt::Write as _;

/// Everything the console shows.
#[derive(Debug, Clone, Default)]
pub struct ConsoleView {
    pub generated: String,
    pub tenants: Vec<TenantView>,
    pub consumers: Vec<ConsumerView>,
    /// The newest dead letters: (id, failed at, consumer, reason, original subject).
    pub dead_letters: Vec<(u64, String, String, String, String)>,
    /// All dead letters (the list above may be cut).
    pub dead_letter_count: usize,
    /// Whether the replay button is live (`[admin] console_actions`).
    pub actions: bool,
    /// A line for the operator after an action (`replayed dead letter 4`).
    pub notice: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct TenantView {
    pub name: String,
    pub sources: Vec<SourceView>,
    /// (feature, ok) as the doctor last found it; empty before its first check.
    pub doctor: Vec<(String, bool)>,
    /// (status, count) of ServiceTitan's 401, 403 and 429 answers to analytics since start.
    pub servicetitan_refusals: Vec<(u16, u64)>,
    pub bookings_today: u64,
    pub open_discrepancies: usize,
    /// Calls with an open discrepancy, to trace.
    pub discrepancy_calls: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct SourceView {
    pub name: String,
    /// When the last delivery was stored, RFC 3339.
    pub last_delivery: Option<String>,
    pub deliveries_last_hour: u64,
    pub rejections_last_hour: u64,
}

#[derive(Debug, Clone, Default)]
pub struct ConsumerView {
    pub stream: String,
    pub name: String,
    /// Messages not yet delivered.
    pub pending: u64,
    /// Delivered, not yet acknowledged.
    pub ack_pending: u64,
}

pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Percent-encodes a query value.
fn q(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2330}\
h1{font-size:20px}h2{font-size:16px;margin-top:28px}table{border-collapse:collapse;margin:8px 0}\
td,th{border-bottom:1px solid #dde1e8;padding:4px 10px;text-align:left}th{background:#f3f5f8}\
td.n{text-align:right;font-variant-numeric:tabular-nums}.bad{color:#b3261e;font-weight:600}\
.ok{color:#1e7b34}.muted{color:#6b7280}.notice{background:#eef6ee;padding:6px 10px}\
section.tenant{border:1px solid #dde1e8;border-radius:6px;padding:4px 16px 12px;margin:16px 0}";

/// The console page.
pub fn render(view: &ConsoleView) -> String {
    let mut h = String::with_capacity(8192);
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Switchboard console</title>\
         <style>{STYLE}</style></head><body><h1>Switchboard console</h1>\
         <p class=\"muted\">Generated {} · <a href=\"/\">booking rates</a> · reload for fresh figures</p>",
        esc(&view.generated)
    );
    if let Some(n) = &view.notice {
        let _ = write!(h, "<p class=\"notice\">{}</p>", esc(n));
    }
    for t in &view.tenants {
        tenant(&mut h, t);
    }
    consumers(&mut h, &view.consumers);
    dead_letters(&mut h, view);
    h.push_str("</body></html>");
    h
}

fn tenant(h: &mut String, t: &TenantView) {
    let name = esc(&t.name);
    let _ = write!(
        h,
        "<section class=\"tenant\" id=\"tenant-{name}\"><h2>Tenant {name}</h2>\
         <table class=\"sources\"><tr><th>source</th><th>last delivery</th><th>deliveries, last hour</th><th>rejections, last hour</th></tr>"
    );
    for s in &t.sources {
        let rejected = if s.rejections_last_hour > 0 {
            format!(
                "<a class=\"bad\" title=\"switchboard rejected list --tenant {name} --source {src}\">{}</a>",
                s.rejections_last_hour,
                src = esc(&s.name)
            )
        } else {
            "0".into()
        };
        let _ = write!(
            h,
            "<tr class=\"source\"><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{rejected}</td></tr>",
            esc(&s.name),
            s.last_delivery
                .as_deref()
                .map_or_else(|| "<span class=\"muted\">never</span>".to_owned(), esc),
            s.deliveries_last_hour
        );
    }
    h.push_str("</table><table class=\"tenant-status\">");
    let doctor = if t.doctor.is_empty() {
        "<span class=\"muted\">not checked yet</span>".to_owned()
    } else {
        t.doctor
            .iter()
            .map(|(f, ok)| {
                let (class, word) = if *ok {
                    ("ok", "ok")
                } else {
                    ("bad", "cannot work")
                };
                format!("<span class=\"{class}\">{} {word}</span>", esc(f))
            })
            .collect::<Vec<_>>()
            .join(" · ")
    };
    let refusals = if t.servicetitan_refusals.iter().all(|(_, n)| *n == 0) {
        "none".to_owned()
    } else {
        t.servicetitan_refusals
            .iter()
            .map(|(s, n)| format!("<span class=\"bad\">{s}: {n}</span>"))
            .collect::<Vec<_>>()
            .join(" · ")
    };
    let _ = write!(
        h,
        "<tr><th>doctor</th><td class=\"doctor\">{doctor}</td></tr>\
         <tr><th>ServiceTitan 401 / 403 / 429 (analytics, since start)</th><td>{refusals}</td></tr>\
         <tr><th>bookings today</th><td class=\"n bookings\">{}</td></tr>\
         <tr><th>open discrepancies</th><td class=\"n discrepancies\">{}</td></tr></table>",
        t.bookings_today, t.open_discrepancies
    );
    if !t.discrepancy_calls.is_empty() {
        h.push_str("<p>Disagreeing calls: ");
        for call in &t.discrepancy_calls {
            let _ = write!(
                h,
                "<a class=\"trace-link\" href=\"/console/trace?tenant={}&amp;key={}\">{}</a> ",
                q(&t.name),
                q(call),
                esc(call)
            );
        }
        h.push_str("</p>");
    }
    let _ = write!(
        h,
        "<form class=\"trace\" method=\"get\" action=\"/console/trace\"><input type=\"hidden\" name=\"tenant\" value=\"{name}\">\
         <label>Trace a call: <input name=\"key\" placeholder=\"call id, ServiceTitan call or job id, phone number\" size=\"44\"></label> \
         <button>Trace</button></form></section>"
    );
}

fn consumers(h: &mut String, consumers: &[ConsumerView]) {
    h.push_str("<h2>Consumers</h2><table class=\"consumers\"><tr><th>stream</th><th>consumer</th><th>waiting</th><th>in hand, unacknowledged</th></tr>");
    for c in consumers {
        let class = if c.pending > 1000 { " bad" } else { "" };
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"n{class}\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&c.stream),
            esc(&c.name),
            c.pending,
            c.ack_pending
        );
    }
    h.push_str("</table>");
}

fn dead_letters(h: &mut String, view: &ConsoleView) {
    let _ = write!(
        h,
        "<h2 id=\"dlq\">Dead letters ({})</h2>",
        view.dead_letter_count
    );
    if view.dead_letters.is_empty() {
        h.push_str("<p class=\"muted\">none</p>");
        return;
    }
    h.push_str("<table class=\"dlq\"><tr><th>id</th><th>failed at</th><th>consumer</th><th>reason</th><th>original</th><th></th></tr>");
    for (id, at, consumer, reason, subject) in &view.dead_letters {
        let button = if view.actions {
            format!(
                "<form method=\"post\" action=\"/console/dlq/{id}/replay\"><button class=\"replay\">Replay</button></form>"
            )
        } else {
            "<span class=\"muted\" title=\"[admin] console_actions = true enables it; or switchboard dlq replay ID\">replay: CLI</span>".to_owned()
        };
        let _ = write!(
            h,
            "<tr class=\"dead-letter\"><td class=\"n\">{id}</td><td>{}</td><td>{}</td><td class=\"bad\">{}</td><td>{}</td><td>{button}</td></tr>",
            esc(at),
            esc(consumer),
            esc(reason),
            esc(subject)
        );
    }
    h.push_str("</table>");
    if view.dead_letter_count > view.dead_letters.len() {
        let _ = write!(
            h,
            "<p class=\"muted\">the newest {} of {}; `switchboard dlq list` shows all</p>",
            view.dead_letters.len(),
            view.dead_letter_count
        );
    }
}

/// The trace view: one call's trail (`switchboard_ops::trace`) as a table.
pub fn render_trace(tenant: &str, key: &str, entries: &[switchboard_ops::trail::Entry]) -> String {
    let mut h = String::with_capacity(4096);
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Trace {k}</title>\
         <style>{STYLE}</style></head><body><h1>Trace of <code>{k}</code> (tenant {t})</h1>\
         <p class=\"muted\"><a href=\"/console\">console</a> · the same as <code>switchboard trace {t} {k}</code></p>",
        k = esc(key),
        t = esc(tenant)
    );
    if entries.is_empty() {
        h.push_str("<p>Nothing recorded about this key in the last 7 days.</p>");
    } else {
        h.push_str(
            "<table class=\"trail\"><tr><th>at</th><th>kind</th><th>where</th><th>what</th></tr>",
        );
        for e in entries {
            let _ = write!(
                h,
                "<tr class=\"entry {}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                e.kind,
                esc(&e.at),
                e.kind,
                esc(&e.at_ref),
                esc(&e.summary)
            );
        }
        h.push_str("</table>");
    }
    h.push_str("</body></html>");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_part_and_escapes_what_it_shows() {
        let view = ConsoleView {
            generated: "now".into(),
            tenants: vec![TenantView {
                name: "demo".into(),
                sources: vec![SourceView {
                    name: "agent".into(),
                    last_delivery: None,
                    deliveries_last_hour: 0,
                    rejections_last_hour: 2,
                }],
                doctor: vec![("booking".into(), false)],
                servicetitan_refusals: vec![(403, 1)],
                bookings_today: 3,
                open_discrepancies: 1,
                discrepancy_calls: vec!["ag <1>".into()],
            }],
            consumers: vec![],
            dead_letters: vec![(
                4,
                "t".into(),
                "router".into(),
                "malformed".into(),
                "inbound.demo.agent".into(),
            )],
            dead_letter_count: 1,
            actions: true,
            notice: None,
        };
        let html = render(&view);
        assert!(html.contains("id=\"tenant-demo\""));
        assert!(html.contains("booking cannot work"));
        assert!(html.contains("action=\"/console/dlq/4/replay\""));
        assert!(
            html.contains("key=ag%20%3C1%3E\">ag &lt;1&gt;</a>"),
            "{html}"
        );
        assert!(!html.contains("<1>"));
    }
}
