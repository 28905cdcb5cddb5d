//! `urbis history query`: a sensor's range (down-sampled or not), the
//! latest value of every sensor at a time, or the alarms in a window, out
//! of a history store (a SQLite file or a `postgres://` URL), as CSV or JSON.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};

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
