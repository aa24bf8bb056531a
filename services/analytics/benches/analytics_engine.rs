//! Loads a synthetic tenant-month into an [`Engine`] and measures it.
//!
//! ```text
//! cargo bench -p switchboard-analytics --bench analytics_engine -- [--calls N] [--updates M]
//! ```
//!
//! Generates, deterministically, N calls (default 1,000,000) spread over March 2026 (30
//! days, including the spring-forward day) in America/Chicago, each with an agent view and a
//! ServiceTitan view (~10% disagreeing), 20 agents, 5 business units, 10 campaigns. Prints
//! the time to build the facts, the time to compute every day's snapshot, the peak RSS, and
//! the latency of M (default 10,000) single updates applied to the loaded engine, each
//! followed by the snapshot of the day(s) it affected. Run it in release.
#![allow(clippy::print_stdout, reason = "a command that reports on stdout")]

use jiff::civil::date;
use jiff::{SignedDuration, Timestamp};
use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use switchboard_analytics::{AgentView, CallKey, Engine, StView, TenantZone, Update};
use switchboard_config::CallClass;

const DAYS: u64 = 30;
const AGENTS: usize = 20;
const BUSINESS_UNITS: [&str; 5] = [
    "HVAC Service",
    "HVAC Install",
    "Plumbing",
    "Electrical",
    "Drains",
];
const CAMPAIGNS: usize = 10;
const REASONS: [&str; 6] = [
    "appointment booked",
    "price shopping",
    "no availability",
    "outside service area",
    "existing job",
    "caller hung up",
];

/// splitmix64: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    fn seconds(&mut self, from: i64, to: i64) -> SignedDuration {
        let span = u64::try_from(to - from).expect("from <= to");
        let offset = i64::try_from(self.below(span)).expect("small");
        SignedDuration::from_secs(from + offset)
    }
}

/// A realistic agent mix.
fn agent_class(rng: &mut Rng) -> CallClass {
    match rng.below(100) {
        0..35 => CallClass::Booked,
        35..65 => CallClass::Unbooked,
        65..75 => CallClass::Excused,
        75..90 => CallClass::NotLead,
        _ => CallClass::Abandoned,
    }
}

struct Generator {
    /// Local 07:00 of each day of the month, as an instant.
    opens: Vec<Timestamp>,
    agents: Vec<String>,
    campaigns: Vec<String>,
}

impl Generator {
    fn new(zone: &TenantZone) -> Generator {
        let opens = (0..DAYS)
            .map(|d| {
                let day = 1 + i8::try_from(d).expect("30 days");
                date(2026, 3, day)
                    .at(7, 0, 0, 0)
                    .to_zoned(zone.time_zone().clone())
                    .expect("07:00 exists every day")
                    .timestamp()
            })
            .collect();
        Generator {
            opens,
            agents: (1..=AGENTS).map(|n| format!("agent-{n:02}")).collect(),
            campaigns: (1..=CAMPAIGNS)
                .map(|n| format!("campaign-{n:02}"))
                .collect(),
        }
    }

    fn key(i: u64) -> CallKey {
        CallKey::new(format!("call-{i:010}"))
    }

    /// Both views of call `i` of `n` (calls are chronological: call `i` is on day i·30/n),
    /// regenerable from `i` alone.
    fn call(&self, i: u64, n: u64, day: Option<usize>) -> (AgentView, StView) {
        let mut rng = Rng::new(i.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0x5eed);
        let day = day.unwrap_or_else(|| usize::try_from(i * DAYS / n).expect("small"));
        // Business hours: 07:00 to 21:00 local.
        let started_at = self.opens[day] + rng.seconds(0, 14 * 3600);
        let class = agent_class(&mut rng);
        let agent = AgentView {
            class,
            reason: (rng.below(5) != 0).then(|| REASONS[rng.index(REASONS.len())].to_owned()),
            job_id: (class == CallClass::Booked)
                .then(|| 80_000_000 + i64::try_from(i).expect("small")),
            agent: Some(self.agents[rng.index(AGENTS)].clone()),
            business_unit: Some(BUSINESS_UNITS[rng.index(BUSINESS_UNITS.len())].to_owned()),
            campaign: (rng.below(20) != 0).then(|| self.campaigns[rng.index(CAMPAIGNS)].clone()),
            started_at,
            observed_at: started_at + rng.seconds(120, 900),
        };
        // ~10% disagree: half not classified yet, half a different class.
        let st_class = match rng.below(100) {
            0..5 => None,
            5..10 => Some(CallClass::ALL[(usize::from(class as u8) + 1 + rng.index(4)) % 5]),
            _ => Some(class),
        };
        let st = StView {
            class: st_class,
            started_at: started_at + rng.seconds(0, 5),
            observed_at: started_at + rng.seconds(3600, 48 * 3600),
        };
        (agent, st)
    }
}

fn vm_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(
        || "n/a".to_owned(),
        |k| format!("{:.1} MiB", k as f64 / 1024.0),
    )
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

struct Args {
    calls: u64,
    updates: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        calls: 1_000_000,
        updates: 10_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let target = match flag.as_str() {
            "--calls" => &mut args.calls,
            "--updates" => &mut args.updates,
            "-h" | "--help" => return Err(String::new()),
            // `cargo bench` passes it to every bench binary.
            "--bench" => continue,
            other => return Err(format!("unknown argument {other:?}")),
        };
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        *target = value
            .replace('_', "")
            .parse()
            .map_err(|e| format!("{flag} {value:?}: {e}"))?;
    }
    if args.calls == 0 {
        return Err("--calls must be at least 1".to_owned());
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("analytics_engine: {msg}");
            }
            eprintln!(
                "usage: cargo bench -p switchboard-analytics --bench analytics_engine -- [--calls N] [--updates M]"
            );
            return if msg.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    let zone = TenantZone::new("America/Chicago").expect("bundled tzdb");
    let generator = Generator::new(&zone);
    let n = args.calls;
    println!(
        "analytics_engine: {n} calls over {DAYS} days (America/Chicago, March 2026), 2 views each"
    );

    // Generation alone, to tell it apart from applying.
    let started = Instant::now();
    for i in 0..n {
        black_box(generator.call(i, n, None));
    }
    let generation = started.elapsed();

    let mut engine = Engine::new("tenant-bench", zone);
    let started = Instant::now();
    for i in 0..n {
        let (agent, st) = generator.call(i, n, None);
        let call = Generator::key(i);
        engine.apply(Update::Agent {
            call: call.clone(),
            view: agent,
        });
        engine.apply(Update::ServiceTitan { call, view: st });
    }
    let build = started.elapsed();
    let rss_loaded = vm_kib("VmRSS:");

    let started = Instant::now();
    let mut snapshots = Vec::new();
    for day in engine.days() {
        snapshots.push(engine.snapshot(day));
    }
    let recompute = started.elapsed();
    let days = snapshots.len();
    let calls: u64 = snapshots.iter().map(|s| s.agent.calls).sum();
    let discrepancies: u64 = snapshots.iter().map(|s| s.discrepancies).sum();
    let (booked, unbooked, st_booked, st_unbooked) =
        snapshots.iter().fold((0, 0, 0, 0), |acc, s| {
            (
                acc.0 + s.agent.booked,
                acc.1 + s.agent.unbooked,
                acc.2 + s.servicetitan.booked,
                acc.3 + s.servicetitan.unbooked,
            )
        });
    drop(snapshots);

    let started = Instant::now();
    let listed = engine.all_discrepancies().len();
    let list_all = started.elapsed();

    println!("  generate 2N updates (not in build): {}", ms(generation));
    println!("  build facts (generate + apply 2N):  {}", ms(build));
    println!(
        "    apply only (build - generate):    {}",
        ms(build.saturating_sub(generation))
    );
    println!("  recompute all {days} days' snapshots:  {}", ms(recompute));
    println!(
        "  build + recompute:                  {}",
        ms(build + recompute)
    );
    println!("  list all {listed} discrepancies:     {}", ms(list_all));
    println!(
        "  check: {calls} calls, agent rate {:.3}, ServiceTitan rate {:.3}, discrepancies {:.1}%",
        booked as f64 / (booked + unbooked) as f64,
        st_booked as f64 / (st_booked + st_unbooked) as f64,
        100.0 * discrepancies as f64 / calls as f64,
    );
    println!("  RSS after build: {}", mib(rss_loaded));

    // Single updates on the loaded engine: new calls, ServiceTitan reclassifications,
    // agent corrections; each timed as apply + snapshot of every affected day.
    let mut rng = Rng::new(0xbe4c);
    let late = Timestamp::from_second(1_776_000_000).expect("April 2026");
    let mut latencies = Vec::with_capacity(usize::try_from(args.updates).unwrap_or(0));
    let mut affected_days = 0usize;
    for j in 0..args.updates {
        let observed_at = late + SignedDuration::from_secs(i64::try_from(j).expect("small"));
        let update = match rng.below(10) {
            0..4 => {
                let day = rng.index(generator.opens.len());
                let (view, _) = generator.call(n + j, n, Some(day));
                Update::Agent {
                    call: Generator::key(n + j),
                    view,
                }
            }
            4..8 => {
                let i = rng.below(n);
                let (_, mut view) = generator.call(i, n, None);
                view.class = Some(CallClass::ALL[rng.index(5)]);
                view.observed_at = observed_at;
                Update::ServiceTitan {
                    call: Generator::key(i),
                    view,
                }
            }
            _ => {
                let i = rng.below(n);
                let (mut view, _) = generator.call(i, n, None);
                view.class = CallClass::ALL[rng.index(5)];
                view.observed_at = observed_at;
                Update::Agent {
                    call: Generator::key(i),
                    view,
                }
            }
        };
        let started = Instant::now();
        let affected = engine.apply(update);
        for day in &affected {
            black_box(engine.snapshot(*day));
        }
        latencies.push(started.elapsed());
        affected_days += affected.len();
    }
    latencies.sort_unstable();
    if let (Some(max), false) = (latencies.last(), latencies.is_empty()) {
        let at = |q: usize| latencies[(latencies.len() * q / 100).min(latencies.len() - 1)];
        println!(
            "  {} single updates (apply + snapshot of affected day, {affected_days} day snapshots): p50 {}, p99 {}, max {}",
            latencies.len(),
            us(at(50)),
            us(at(99)),
            us(*max),
        );
    }
    println!("  peak RSS (VmHWM): {}", mib(vm_kib("VmHWM:")));
    ExitCode::SUCCESS
}
