//! `urbis history query`: a sensor's range (down-sampled or not), the
//! latest value of every sensor at a time, or the alarms in a window, out
//! of a history store (a SQLite file or a `postgres://` URL), as CSV or JSON;
//! `urbis history prune`: retention.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};

#[derive(clap::Subcommand, Debug)]
pub(crate) enum HistoryCommand {
    /// A sensor's readings in a time range (optionally down-sampled), the
    /// latest value of every sensor at a time, or the alarms in a window;
    /// CSV (default) or JSON on stdout.
    Query {
        /// The store: a SQLite file or postgres://user@host:port/db.
        #[arg(long, value_name = "FILE.db|postgres://…")]
        store: PathBuf,
        /// A sensor's readings.
        #[arg(long, conflicts_with_all = ["latest_at", "alarms"])]
        sensor: Option<String>,
        /// Start of the range (RFC 3339 or Unix ms; default: the beginning).
        #[arg(long)]
        from: Option<String>,
        /// End of the range, exclusive (default: the end).
        #[arg(long)]
        to: Option<String>,
        /// Down-sample the sensor's range to at most N equal time buckets (mean, min, max, count).
        #[arg(long, requires = "sensor")]
        points: Option<usize>,
        /// The latest value of every sensor at this time (RFC 3339 or Unix ms).
        #[arg(long)]
        latest_at: Option<String>,
        /// Alarm raises and clears in the range.
        #[arg(long)]
        alarms: bool,
        /// Gaps (a source disconnected, ingest not running, readings dropped) overlapping the range.
        #[arg(long)]
        gaps: bool,
        /// JSON instead of CSV.
        #[arg(long)]
        json: bool,
    },
    /// Retention: remove the readings and alarms older than a time, and the gaps that ended by
    /// then. PostgreSQL drops whole weekly partitions where it can.
    Prune {
        /// The store: a SQLite file or postgres://user@host:port/db.
        #[arg(long, value_name = "FILE.db|postgres://…")]
        store: PathBuf,
        /// Keep what is at or after this time (RFC 3339 or Unix ms).
        #[arg(long)]
        before: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `urbis history prune`.
pub(crate) fn prune(store: &std::path::Path, before: &str, json: bool) -> Result<()> {
    let spec = store.to_string_lossy();
    if !spec.contains("://") && !store.is_file() {
        bail!("{}: no such history store", store.display());
    }
    let before_ms = time_ms(before, "before")?;
    let mut db = urbis_store::open(&spec)?;
    let removed = db.prune_before(before_ms)?;
    let left = db.reading_count()?;
    if json {
        println!(
            "{}",
            serde_json::json!({ "store": db.name(), "before_ms": before_ms, "removed_readings": removed, "readings_left": left })
        );
    } else {
        println!(
            "removed {removed} readings older than {} from {} ({left} left)",
            urbis_live::time_text(before_ms),
            db.name()
        );
    }
    Ok(())
}

pub(crate) struct Query {
    pub store: PathBuf,
    pub sensor: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub points: Option<usize>,
    pub latest_at: Option<String>,
    pub alarms: bool,
    pub gaps: bool,
    pub json: bool,
}

/// RFC 3339 or Unix milliseconds.
fn time_ms(text: &str, what: &str) -> Result<i64> {
    text.parse::<i64>()
        .ok()
        .or_else(|| urbis_live::payload::parse_time(text))
        .with_context(|| format!("--{what} {text:?}: not a time (RFC 3339, e.g. 2026-07-15T01:10:00Z, or Unix ms)"))
}

pub(crate) fn query(q: &Query) -> Result<()> {
    let spec = q.store.to_string_lossy();
    let is_url = spec.contains("://");
    if !is_url && !q.store.is_file() {
        bail!("{}: no such history store", q.store.display());
    }
    let mut store = urbis_store::open(&spec)?;
    let from = q.from.as_deref().map(|t| time_ms(t, "from")).transpose()?.unwrap_or(i64::MIN);
    let to = q.to.as_deref().map(|t| time_ms(t, "to")).transpose()?.unwrap_or(i64::MAX);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if let Some(sensor) = &q.sensor {
        let (from, to) = if q.points.is_some() && (from == i64::MIN || to == i64::MAX) {
            bail!("--points needs --from and --to (the buckets divide that range)");
        } else {
            (from, to)
        };
        let series = store.series(sensor, from, to, q.points)?;
        if q.json {
            serde_json::to_writer_pretty(&mut out, &serde_json::json!({ "sensor": sensor, "points": series }))?;
            writeln!(out)?;
        } else {
            writeln!(out, "time_ms,time,mean,min,max,count")?;
            for p in series {
                writeln!(
                    out,
                    "{},{},{},{},{},{}",
                    p.time_ms,
                    urbis_live::time_text(p.time_ms),
                    p.mean,
                    p.min,
                    p.max,
                    p.count
                )?;
            }
        }
    } else if let Some(at) = &q.latest_at {
        let latest = store.latest_at(time_ms(at, "latest-at")?, None)?;
        if q.json {
            serde_json::to_writer_pretty(&mut out, &latest)?;
            writeln!(out)?;
        } else {
            writeln!(out, "sensor,time_ms,time,value,quality")?;
            for r in latest {
                writeln!(
                    out,
                    "{},{},{},{},{}",
                    r.sensor,
                    r.time_ms,
                    urbis_live::time_text(r.time_ms),
                    r.value,
                    r.quality
                )?;
            }
        }
    } else if q.alarms {
        let alarms = store.alarms(from, to)?;
        if q.json {
            serde_json::to_writer_pretty(&mut out, &alarms)?;
            writeln!(out)?;
        } else {
            writeln!(out, "time_ms,time,alarm,severity,state,sensor,feature,value")?;
            for a in alarms {
                let value = a.value.map(|v| v.to_string()).unwrap_or_default();
                let state = if a.raised { "raised" } else { "cleared" };
                writeln!(
                    out,
                    "{},{},{:?},{},{state},{},{},{value}",
                    a.time_ms,
                    urbis_live::time_text(a.time_ms),
                    a.alarm,
                    a.severity,
                    a.sensor,
                    a.feature
                )?;
            }
        }
    } else if q.gaps {
        let gaps = store.gaps(from, to)?;
        if q.json {
            serde_json::to_writer_pretty(&mut out, &gaps)?;
            writeln!(out)?;
        } else {
            writeln!(out, "from_ms,from,to_ms,to,source,reason")?;
            for g in gaps {
                writeln!(
                    out,
                    "{},{},{},{},{},{:?}",
                    g.from_ms,
                    urbis_live::time_text(g.from_ms),
                    g.to_ms,
                    urbis_live::time_text(g.to_ms),
                    g.source,
                    g.reason
                )?;
            }
        }
    } else {
        bail!("say what to query: --sensor ID, --latest-at TIME, --alarms or --gaps");
    }
    Ok(())
}

/// Hex SHA-256 of bytes.
pub(crate) fn sha256_hex(parts: &[&[u8]]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A digest of a city's input files (directories walked in name order).
pub(crate) fn city_hash(paths: &[PathBuf]) -> Result<String> {
    fn walk(p: &std::path::Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)?.flatten().map(|e| e.path()).collect();
            entries.sort();
            for e in entries {
                walk(&e, out)?;
            }
        } else {
            out.push(p.to_path_buf());
        }
        Ok(())
    }
    let mut files = Vec::new();
    for p in paths {
        walk(p, &mut files).with_context(|| format!("reading {}", p.display()))?;
    }
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for f in files {
        // Only the inputs, not what a run wrote beside them (history stores, outputs).
        if f.extension().is_some_and(|e| e == "db" || e == "db-wal" || e == "db-shm") {
            continue;
        }
        h.update(f.file_name().map(|n| n.as_encoded_bytes()).unwrap_or_default());
        h.update(std::fs::read(&f).with_context(|| format!("reading {}", f.display()))?);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// `urbis sim list`: the runs a store keeps.
pub(crate) fn sim_list(store: &std::path::Path, json: bool) -> Result<()> {
    let mut store = urbis_store::open(&store.to_string_lossy())?;
    let runs = store.runs()?;
    if json {
        let list: Vec<serde_json::Value> = runs
            .iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.id, "name": r.run.name, "started": urbis_live::time_text(r.run.started_ms),
                    "scenario_hash": r.run.scenario_hash, "city_hash": r.run.city_hash,
                    "out_dir": r.run.out_dir, "interrupted": r.run.interrupted,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
    } else {
        println!("id,name,started,scenario,city,out_dir,interrupted");
        for r in runs {
            println!(
                "{},{},{},{},{},{},{}",
                r.id,
                r.run.name,
                urbis_live::time_text(r.run.started_ms),
                &r.run.scenario_hash[..12.min(r.run.scenario_hash.len())],
                &r.run.city_hash[..12.min(r.run.city_hash.len())],
                r.run.out_dir,
                r.run.interrupted
            );
        }
    }
    Ok(())
}

/// `urbis sim diff A B`: what differs between two kept runs: the scenario
/// text, the city, and every result (number, boolean, text) that changed.
pub(crate) fn sim_diff(store: &std::path::Path, a: i64, b: i64, json: bool) -> Result<()> {
    let mut store = urbis_store::open(&store.to_string_lossy())?;
    let runs = store.runs()?;
    let find = |id: i64| runs.iter().find(|r| r.id == id).with_context(|| format!("no run {id} in the store"));
    let (ra, rb) = (find(a)?, find(b)?);
    let changes = urbis_store::diff_results(&ra.run.results, &rb.run.results);
    let scenario_lines: Vec<String> = {
        let la: std::collections::BTreeSet<&str> = ra.run.scenario_toml.lines().collect();
        let lb: std::collections::BTreeSet<&str> = rb.run.scenario_toml.lines().collect();
        la.symmetric_difference(&lb).map(|l| format!("{} {l}", if la.contains(l) { "-" } else { "+" })).collect()
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "a": a, "b": b,
                "same_scenario": ra.run.scenario_hash == rb.run.scenario_hash,
                "same_city": ra.run.city_hash == rb.run.city_hash,
                "scenario_lines": scenario_lines,
                "figures": changes,
            }))?
        );
    } else {
        println!("run {a} ({}) → run {b} ({})", ra.run.name, rb.run.name);
        println!("city: {}", if ra.run.city_hash == rb.run.city_hash { "the same" } else { "different" });
        for l in scenario_lines {
            println!("scenario {l}");
        }
        println!("result,a,b,change");
        for c in changes {
            let show = |v: &Option<serde_json::Value>| v.as_ref().map(|x| x.to_string()).unwrap_or_else(|| "-".into());
            let delta = match (c.a.as_ref().and_then(|v| v.as_f64()), c.b.as_ref().and_then(|v| v.as_f64())) {
                (Some(x), Some(y)) => (y - x).to_string(),
                _ => "-".into(),
            };
            println!("{},{},{},{delta}", c.path, show(&c.a), show(&c.b));
        }
    }
    Ok(())
}
