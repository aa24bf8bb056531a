//! The page at `/`: per tenant, the last 30 days of both booking rates as a server-rendered
//! SVG chart, the totals, and today's discrepancies. Plain HTML and inline SVG — no
//! scripts, no front-end build — so it renders anywhere, prints, and is cheap to test.
//! Pure: a function of the snapshots.

use crate::booking_rate;
use crate::rates::{Discrepancy, Figures, Snapshot};
use std::fmt::Write as _;
use switchboard_config::{AutoReclassify, CallClass};

/// One tenant's section.
#[derive(Debug, Clone)]
pub struct TenantSection {
    pub tenant: String,
    pub timezone: String,
    /// Oldest first, one per day (days without calls included, as empty snapshots).
    pub days: Vec<Snapshot>,
    /// Today's open discrepancies (tenant-local day).
    pub discrepancies: Vec<Discrepancy>,
    pub auto_reclassify: AutoReclassify,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn pct(rate: Option<f64>) -> String {
    rate.map_or_else(|| "–".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

fn class_name(c: Option<CallClass>) -> &'static str {
    match c {
        Some(CallClass::Booked) => "Booked",
        Some(CallClass::Unbooked) => "Unbooked",
        Some(CallClass::Excused) => "Excused",
        Some(CallClass::NotLead) => "Not a lead",
        Some(CallClass::Abandoned) => "Abandoned",
        None => "Unclassified",
    }
}

const W: f64 = 760.0;
const H: f64 = 260.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 40.0;

/// Polyline segments for one series; a day without a rate breaks the line.
fn series(
    days: &[Snapshot],
    rate: impl Fn(&Snapshot) -> Option<f64>,
) -> (Vec<String>, Vec<(f64, f64, f64)>) {
    let n = days.len().max(2) as f64;
    let x = |i: usize| LEFT + (W - LEFT - RIGHT) * i as f64 / (n - 1.0);
    let y = |r: f64| TOP + (H - TOP - BOTTOM) * (1.0 - r);
    let mut segments = Vec::new();
    let mut points = Vec::new();
    let mut current = String::new();
    for (i, d) in days.iter().enumerate() {
        match rate(d) {
            Some(r) => {
                let (px, py) = (x(i), y(r));
                let _ = write!(current, "{px:.1},{py:.1} ");
                points.push((px, py, r));
            }
            None if !current.is_empty() => segments.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        segments.push(current);
    }
    (segments, points)
}

fn chart(days: &[Snapshot]) -> String {
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\" aria-label=\"Booking rate, last {} days\">",
        days.len()
    );
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let y = TOP + (H - TOP - BOTTOM) * (1.0 - tick);
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/><text class=\"axis\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{:.0}%</text>",
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            tick * 100.0
        );
    }
    let n = days.len().max(2) as f64;
    for (i, d) in days.iter().enumerate() {
        // Weekly labels counted back from today, so the last day is always labelled.
        if (days.len() - 1 - i).is_multiple_of(7) {
            let x = LEFT + (W - LEFT - RIGHT) * i as f64 / (n - 1.0);
            let anchor = if i + 1 == days.len() { "end" } else { "middle" };
            let _ = write!(
                svg,
                "<text class=\"axis\" x=\"{x:.1}\" y=\"{}\" text-anchor=\"{anchor}\">{}</text>",
                H - BOTTOM + 18.0,
                d.date.strftime("%b %-d")
            );
        }
    }
    for (class, rate) in [
        (
            "agent",
            (|d: &Snapshot| d.agent.booking_rate) as fn(&Snapshot) -> Option<f64>,
        ),
        ("servicetitan", |d: &Snapshot| d.servicetitan.booking_rate),
    ] {
        let (segments, points) = series(days, rate);
        for s in segments {
            let _ = write!(
                svg,
                "<polyline class=\"line {class}\" points=\"{}\"/>",
                s.trim_end()
            );
        }
        for (x, y, r) in points {
            let _ = write!(
                svg,
                "<circle class=\"dot {class}\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\"><title>{:.1}%</title></circle>",
                r * 100.0
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

fn totals(days: &[Snapshot], view: impl Fn(&Snapshot) -> &Figures) -> (u64, u64, u64, u64) {
    days.iter().fold((0, 0, 0, 0), |(b, u, c, a), d| {
        let f = view(d);
        (b + f.booked, u + f.unbooked, c + f.calls, a + f.abandoned)
    })
}

/// The whole page.
pub fn render(sections: &[TenantSection], generated_at: &str) -> String {
    let mut html = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta http-equiv=\"refresh\" content=\"30\">\
         <title>Switchboard — booking rate</title><style>\
         body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:980px;color:#1d2330;padding:0 16px}\
         h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 6px}.muted{color:#667085}\
         .cards{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0}.card{border:1px solid #e4e7ec;border-radius:8px;padding:10px 14px;min-width:170px}\
         .card b{display:block;font-size:24px}.chart{max-width:100%;height:auto;border:1px solid #e4e7ec;border-radius:8px;background:#fff}\
         .grid{stroke:#eef0f3}.axis{font-size:11px;fill:#667085}.line{fill:none;stroke-width:2.5}\
         .line.agent{stroke:#2563eb}.line.servicetitan{stroke:#ea580c}.dot.agent{fill:#2563eb}.dot.servicetitan{fill:#ea580c}\
         .key{display:inline-block;width:14px;height:4px;border-radius:2px;vertical-align:middle;margin:0 6px 0 14px}\
         table{border-collapse:collapse;width:100%;margin-top:8px}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #eef0f3;font-size:14px}\
         th{color:#667085;font-weight:600}.none{color:#667085;font-style:italic}\
         </style></head><body><h1>Booking rate — agent vs ServiceTitan</h1>",
    );
    let _ = write!(
        html,
        "<p class=\"muted\">Booked ÷ (Booked + Unbooked), per tenant-local day, last 30 days. \
         Excused and not-a-lead calls are outside the rate; abandoned calls are counted beside it. \
         Both views cover the calls the agent handled. Updated {}.</p>",
        esc(generated_at)
    );
    if sections.is_empty() {
        html.push_str("<p class=\"none\">No tenants are configured.</p>");
    }
    for s in sections {
        let (ab, au, calls, abandoned) = totals(&s.days, |d| &d.agent);
        let (sb, su, _, _) = totals(&s.days, |d| &d.servicetitan);
        let _ = write!(
            html,
            "<section id=\"tenant-{t}\"><h2>{t} <span class=\"muted\">({tz}, auto-reclassify: {auto})</span></h2>\
             <div class=\"cards\"><div class=\"card\">Agent, 30 days<b class=\"agent-rate\">{ar}</b>{ab} booked of {al} leads</div>\
             <div class=\"card\">ServiceTitan, 30 days<b class=\"st-rate\">{sr}</b>{sb} booked of {sl} leads</div>\
             <div class=\"card\">Calls<b>{calls}</b>{abandoned} abandoned</div>\
             <div class=\"card\">Discrepancies today<b class=\"discrepancy-count\">{dc}</b>calls classified differently</div></div>\
             <div><span class=\"key\" style=\"background:#2563eb\"></span>agent<span class=\"key\" style=\"background:#ea580c\"></span>ServiceTitan</div>",
            t = esc(&s.tenant),
            tz = esc(&s.timezone),
            auto = esc(s.auto_reclassify.as_str()),
            ar = pct(booking_rate(ab, au)),
            al = ab + au,
            sr = pct(booking_rate(sb, su)),
            sl = sb + su,
            dc = s.discrepancies.len(),
        );
        html.push_str(&chart(&s.days));
        html.push_str("<h3>Today's discrepancies</h3>");
        if s.discrepancies.is_empty() {
            html.push_str("<p class=\"none\">None: ServiceTitan agrees with the agent on every call today.</p>");
        } else {
            html.push_str("<table><thead><tr><th>Call</th><th>Agent</th><th>ServiceTitan</th><th>Job</th><th>Reason</th><th>Since</th></tr></thead><tbody>");
            for d in &s.discrepancies {
                let _ = write!(
                    html,
                    "<tr class=\"discrepancy\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(d.call.as_str()),
                    class_name(Some(d.agent)),
                    class_name(d.servicetitan),
                    d.job_id.map_or_else(String::new, |j| j.to_string()),
                    esc(d.reason.as_deref().unwrap_or("")),
                    d.since.strftime("%H:%M UTC"),
                );
            }
            html.push_str("</tbody></table>");
        }
        html.push_str("</section>");
    }
    html.push_str("</body></html>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn day(d: i8, booked: u64, unbooked: u64, st_booked: u64, st_unbooked: u64) -> Snapshot {
        let mut s = Snapshot::empty("demo", date(2026, 11, d), "America/Chicago");
        s.agent.booked = booked;
        s.agent.unbooked = unbooked;
        s.agent.booking_rate = booking_rate(booked, unbooked);
        s.servicetitan.booked = st_booked;
        s.servicetitan.unbooked = st_unbooked;
        s.servicetitan.booking_rate = booking_rate(st_booked, st_unbooked);
        s
    }

    #[test]
    fn the_chart_has_a_line_per_view_broken_on_days_without_leads() {
        let days = vec![day(1, 1, 1, 0, 2), day(2, 0, 0, 0, 0), day(3, 3, 1, 3, 1)];
        let html = render(
            &[TenantSection {
                tenant: "demo".into(),
                timezone: "America/Chicago".into(),
                days,
                discrepancies: vec![],
                auto_reclassify: AutoReclassify::Off,
            }],
            "now",
        );
        assert_eq!(html.matches("<polyline class=\"line agent\"").count(), 2);
        assert_eq!(
            html.matches("<circle class=\"dot servicetitan\"").count(),
            2
        );
        assert!(html.contains("<b class=\"agent-rate\">66.7%</b>"), "4 of 6");
        assert!(html.contains("<b class=\"st-rate\">50.0%</b>"), "3 of 6");
        assert!(html.contains("None: ServiceTitan agrees"));
    }

    #[test]
    fn text_from_events_is_escaped() {
        let d = Discrepancy {
            call: "<script>".into(),
            date: date(2026, 11, 1),
            agent: CallClass::Booked,
            servicetitan: None,
            since: "2026-11-01T12:00:00Z".parse().unwrap(),
            job_id: Some(7),
            reason: Some("a & b".into()),
        };
        let html = render(
            &[TenantSection {
                tenant: "demo".into(),
                timezone: "UTC".into(),
                days: vec![day(1, 1, 0, 0, 0)],
                discrepancies: vec![d],
                auto_reclassify: AutoReclassify::On,
            }],
            "now",
        );
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;") && html.contains("a &amp; b"));
        assert!(html.contains("Unclassified"));
    }
}
