//! The PostgreSQL back end (`postgres://user[:password]@host:port/db`):
//! the same tables as SQLite, readings written with `COPY … FROM STDIN`
//! inside the batch's transaction, an index on (sensor, time), and the
//! schema version in `urbis_meta`. Messages name the server without the
//! password.
//!
//! A new database partitions `readings` by time: one partition a week
//! (`readings_wK` holds `[K·7 d, (K+1)·7 d)` in Unix ms), made when the
//! first reading of that week arrives, from 2000 to 2100; readings outside
//! go to `readings_other`. Queries of a range touch only its weeks, and
//! retention ([`HistoryStore::prune_before`]) drops whole weeks instead of
//! deleting row by row. A database made before partitioning keeps its one
//! table and works as before.

use std::collections::HashMap;
use std::io::Write;

use postgres::{Client, NoTls};

use crate::{
    Batch, HistoryStore, NewRun, SensorMeta, SeriesPoint, StoreError, StoredAlarm, StoredGap, StoredReading, StoredRun,
};

use crate::sqlite::SCHEMA_VERSION;

/// The advisory lock key held while a connection checks and creates the schema ("urbis" in ASCII).
const SCHEMA_LOCK: i64 = 0x0075_7262_6973;
/// The advisory lock key held while a week's partition is made.
const PARTITION_LOCK: i64 = SCHEMA_LOCK + 1;

/// One partition's span: a week, in ms.
pub const PARTITION_MS: i64 = 7 * 86_400_000;
/// Weeks that get their own partition: 2000-01-01 to 2100-01-01 (Unix ms).
const PARTITIONED_FROM_MS: i64 = 946_684_800_000;
const PARTITIONED_TO_MS: i64 = 4_102_444_800_000;

/// The week of `t` when it gets its own partition.
fn week_of(t: i64) -> Option<i64> {
    (PARTITIONED_FROM_MS..PARTITIONED_TO_MS).contains(&t).then(|| t.div_euclid(PARTITION_MS))
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS urbis_meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS sensors (
    id BIGSERIAL PRIMARY KEY,
    sensor TEXT NOT NULL UNIQUE,
    feature TEXT NOT NULL DEFAULT '',
    quantity TEXT NOT NULL DEFAULT '',
    unit TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS readings (
    sensor BIGINT NOT NULL,
    t BIGINT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    quality SMALLINT NOT NULL
) PARTITION BY RANGE (t);
CREATE INDEX IF NOT EXISTS readings_by_sensor_time ON readings(sensor, t);
CREATE TABLE IF NOT EXISTS alarms (
    seq BIGSERIAL,
    t BIGINT NOT NULL,
    alarm TEXT NOT NULL,
    severity TEXT NOT NULL,
    raised BOOLEAN NOT NULL,
    sensor TEXT NOT NULL,
    feature TEXT NOT NULL,
    value DOUBLE PRECISION
);
CREATE INDEX IF NOT EXISTS alarms_by_time ON alarms(t);
CREATE TABLE IF NOT EXISTS gaps (seq BIGSERIAL, source TEXT NOT NULL, from_t BIGINT NOT NULL, to_t BIGINT NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS drops (source TEXT NOT NULL, t BIGINT NOT NULL, dropped BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    started_ms BIGINT NOT NULL,
    scenario_toml TEXT NOT NULL,
    scenario_hash TEXT NOT NULL,
    city_hash TEXT NOT NULL,
    results TEXT NOT NULL,
    out_dir TEXT NOT NULL,
    interrupted BOOLEAN NOT NULL
);
";

/// The URL with its password left out, for messages.
pub fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let user = &url[scheme + 3..at];
            let user = user.split(':').next().unwrap_or("");
            format!("{}{user}@{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// The server's own words (severity, code, message, detail, hint), which
/// `postgres::Error`'s `Display` leaves out ("db error"), or the error with
/// its causes.
fn why(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut s = format!("{} {}: {}", db.severity(), db.code().code(), db.message());
        if let Some(d) = db.detail() {
            s += &format!(" ({d})");
        }
        if let Some(h) = db.hint() {
            s += &format!("; hint: {h}");
        }
        return s;
    }
    let mut s = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let c_text = c.to_string();
        if !s.contains(&c_text) {
            s += &format!(": {c_text}");
        }
        cause = c.source();
    }
    s
}

/// A history in a PostgreSQL database.
pub struct PgStore {
    name: String,
    client: Client,
    ids: HashMap<String, i64>,
    /// Weeks whose partition exists; `None` for an unpartitioned (older) database.
    weeks: Option<std::collections::BTreeSet<i64>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgStore({})", self.name)
    }
}

impl PgStore {
    /// Connects (within 10 s), checks the schema version and creates the tables if missing.
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        let name = redacted(url);
        let open_err = |e: &postgres::Error| StoreError::Open { store: name.clone(), why: why(e) };
        let mut config: postgres::Config = url.parse().map_err(|e: postgres::Error| open_err(&e))?;
        config.connect_timeout(std::time::Duration::from_secs(10));
        let mut client = config.connect(NoTls).map_err(|e| open_err(&e))?;
        // Several ingest workers may open a new database at once, and `CREATE … IF NOT EXISTS`
        // races in the catalog: the schema check and creation hold a session lock.
        client.execute("SELECT pg_advisory_lock($1)", &[&SCHEMA_LOCK]).map_err(|e| open_err(&e))?;
        let prepared = Self::prepare(&mut client, &name);
        let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&SCHEMA_LOCK]);
        let (ids, weeks) = prepared?;
        unlocked.map_err(|e| open_err(&e))?;
        Ok(Self { name, client, ids, weeks })
    }

    /// Makes the partitions of the weeks in `batch` that do not exist yet,
    /// each in its own short transaction (other workers may be making them too).
    fn ensure_partitions(&mut self, batch: &Batch) -> Result<(), StoreError> {
        let Some(known) = &self.weeks else { return Ok(()) };
        let missing: std::collections::BTreeSet<i64> = batch
            .readings
            .iter()
            .chain(&batch.redelivered)
            .filter_map(|r| week_of(r.time_ms))
            .filter(|w| !known.contains(w))
            .collect();
        for week in missing {
            let sql = format!(
                "CREATE TABLE IF NOT EXISTS readings_w{week} PARTITION OF readings FOR VALUES FROM ({}) TO ({})",
                week * PARTITION_MS,
                (week + 1) * PARTITION_MS
            );
            let mut tx = self.client.transaction().map_err(|e| StoreError::db(&self.name, why(&e)))?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&PARTITION_LOCK])
                .and_then(|_| tx.batch_execute(&sql))
                .map_err(|e| StoreError::db(&self.name, why(&e)))?;
            tx.commit().map_err(|e| StoreError::db(&self.name, why(&e)))?;
            if let Some(w) = &mut self.weeks {
                w.insert(week);
            }
        }
        Ok(())
    }

    /// Checks the schema version, creates what is missing and reads the
    /// sensors' ids and (when partitioned) the weeks that have a partition.
    #[allow(clippy::type_complexity)]
    fn prepare(
        client: &mut Client,
        name: &str,
    ) -> Result<(HashMap<String, i64>, Option<std::collections::BTreeSet<i64>>), StoreError> {
        let open_err = |e: &postgres::Error| StoreError::Open { store: name.to_string(), why: why(e) };
        let has_meta: bool = client
            .query_one("SELECT to_regclass('urbis_meta') IS NOT NULL", &[])
            .and_then(|r| r.try_get(0))
            .map_err(|e| open_err(&e))?;
        if has_meta {
            let row = client
                .query_opt("SELECT value FROM urbis_meta WHERE key = 'schema_version'", &[])
                .map_err(|e| open_err(&e))?;
            if let Some(found) = row.map(|r| r.get::<_, i64>(0))
                && found > SCHEMA_VERSION
            {
                return Err(StoreError::NewerSchema { store: name.to_string(), found, supported: SCHEMA_VERSION });
            }
        }
        client.batch_execute(SCHEMA).map_err(|e| open_err(&e))?;
        client
            .execute(
                "INSERT INTO urbis_meta (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO NOTHING",
                &[&SCHEMA_VERSION],
            )
            .map_err(|e| open_err(&e))?;
        let mut ids = HashMap::new();
        for row in client.query("SELECT sensor, id FROM sensors", &[]).map_err(|e| open_err(&e))? {
            ids.insert(row.get::<_, String>(0), row.get::<_, i64>(1));
        }
        let partitioned: bool = client
            .query_one("SELECT relkind = 'p' FROM pg_class WHERE oid = 'readings'::regclass", &[])
            .map_err(|e| open_err(&e))?
            .get(0);
        if !partitioned {
            return Ok((ids, None));
        }
        client
            .batch_execute("CREATE TABLE IF NOT EXISTS readings_other PARTITION OF readings DEFAULT")
            .map_err(|e| open_err(&e))?;
        let weeks = client
            .query(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                 WHERE i.inhparent = 'readings'::regclass",
                &[],
            )
            .map_err(|e| open_err(&e))?
            .iter()
            .filter_map(|r| r.get::<_, String>(0).strip_prefix("readings_w")?.parse().ok())
            .collect();
        Ok((ids, Some(weeks)))
    }

    /// Whether readings are partitioned by week (a database made before partitioning is not).
    pub fn partitioned(&self) -> bool {
        self.weeks.is_some()
    }

    fn err(&self, e: postgres::Error) -> StoreError {
        StoreError::db(&self.name, why(&e))
    }

    fn id_of(&mut self, sensor: &str) -> Result<Option<i64>, StoreError> {
        if let Some(id) = self.ids.get(sensor) {
            return Ok(Some(*id));
        }
        let row =
            self.client.query_opt("SELECT id FROM sensors WHERE sensor = $1", &[&sensor]).map_err(|e| self.err(e))?;
        Ok(row.map(|r| r.get(0)))
    }
}

impl HistoryStore for PgStore {
    fn name(&self) -> &str {
        &self.name
    }

    fn write(&mut self, batch: &Batch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        self.ensure_partitions(batch)?;
        let name = self.name.clone();
        let e = |e: postgres::Error| StoreError::db(&name, why(&e));
        let mut tx = self.client.transaction().map_err(e)?;
        for m in &batch.sensors {
            tx.execute(
                "INSERT INTO sensors (sensor, feature, quantity, unit) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (sensor) DO UPDATE SET feature = excluded.feature, quantity = excluded.quantity, unit = excluded.unit",
                &[&m.sensor, &m.feature, &m.quantity, &m.unit],
            )
            .map_err(e)?;
        }
        let mut new_ids: Vec<(String, i64)> = Vec::new();
        let mut ids: Vec<i64> = Vec::with_capacity(batch.readings.len() + batch.redelivered.len());
        for r in batch.readings.iter().chain(&batch.redelivered) {
            let known =
                self.ids.get(&r.sensor).copied().or_else(|| new_ids.iter().find(|(s, _)| *s == r.sensor).map(|p| p.1));
            let id = match known {
                Some(id) => id,
                None => {
                    let row = tx
                        .query_one(
                            "INSERT INTO sensors (sensor) VALUES ($1) ON CONFLICT (sensor) DO UPDATE SET sensor = excluded.sensor RETURNING id",
                            &[&r.sensor],
                        )
                        .map_err(e)?;
                    let id: i64 = row.get(0);
                    new_ids.push((r.sensor.clone(), id));
                    id
                }
            };
            ids.push(id);
        }
        if !batch.readings.is_empty() {
            let mut w = tx.copy_in("COPY readings (sensor, t, value, quality) FROM STDIN").map_err(e)?;
            let mut buf = Vec::with_capacity(batch.readings.len() * 40);
            for (r, id) in batch.readings.iter().zip(&ids) {
                // Shortest round-trip decimal: PostgreSQL reads it back to the same double.
                writeln!(buf, "{id}\t{}\t{:?}\t{}", r.time_ms, r.value, r.quality)
                    .map_err(|x| StoreError::db(&name, x))?;
            }
            w.write_all(&buf).map_err(|x| StoreError::db(&name, x))?;
            w.finish().map_err(e)?;
        }
        for (r, id) in batch.redelivered.iter().zip(&ids[batch.readings.len()..]) {
            tx.execute(
                "INSERT INTO readings (sensor, t, value, quality) SELECT $1::bigint, $2::bigint, $3::float8, $4::smallint
                 WHERE NOT EXISTS (SELECT 1 FROM readings WHERE sensor = $1 AND t = $2)",
                &[id, &r.time_ms, &r.value, &(r.quality as i16)],
            )
            .map_err(e)?;
        }
        for a in &batch.alarms {
            tx.execute(
                "INSERT INTO alarms (t, alarm, severity, raised, sensor, feature, value) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[&a.time_ms, &a.alarm, &a.severity, &a.raised, &a.sensor, &a.feature, &a.value],
            )
            .map_err(e)?;
        }
        for g in &batch.gaps {
            tx.execute(
                "INSERT INTO gaps (source, from_t, to_t, reason) VALUES ($1, $2, $3, $4)",
                &[&g.source, &g.from_ms, &g.to_ms, &g.reason],
            )
            .map_err(e)?;
        }
        for d in &batch.drops {
            tx.execute(
                "INSERT INTO drops (source, t, dropped) VALUES ($1, $2, $3)",
                &[&d.source, &d.time_ms, &(d.dropped as i64)],
            )
            .map_err(e)?;
        }
        tx.commit().map_err(e)?;
        self.ids.extend(new_ids);
        Ok(())
    }

    fn series(
        &mut self,
        sensor: &str,
        from_ms: i64,
        to_ms: i64,
        points: Option<usize>,
    ) -> Result<Vec<SeriesPoint>, StoreError> {
        if to_ms <= from_ms {
            return Ok(Vec::new());
        }
        let Some(id) = self.id_of(sensor)? else { return Ok(Vec::new()) };
        match points {
            None => {
                let rows = self
                    .client
                    .query(
                        "SELECT t, value, quality FROM readings WHERE sensor = $1 AND t >= $2 AND t < $3 ORDER BY t, ctid",
                        &[&id, &from_ms, &to_ms],
                    )
                    .map_err(|e| self.err(e))?;
                Ok(rows
                    .iter()
                    .map(|r| {
                        let v: f64 = r.get(1);
                        SeriesPoint {
                            time_ms: r.get(0),
                            mean: v,
                            min: v,
                            max: v,
                            count: 1,
                            quality: r.get::<_, i16>(2) as u8,
                        }
                    })
                    .collect())
            }
            Some(0) => Err(StoreError::Query("down-sampling to 0 points".into())),
            Some(n) => {
                let n = n as i64;
                // numeric arithmetic for the bucket: (t − from)·n can pass 2⁶³ for wide ranges.
                let rows = self
                    .client
                    .query(
                        "SELECT div((t - $2)::numeric * $4::bigint, ($3 - $2)::numeric)::bigint AS b, AVG(value), MIN(value), MAX(value), COUNT(*), MAX(quality)
                         FROM readings WHERE sensor = $1 AND t >= $2 AND t < $3
                         GROUP BY 1 ORDER BY 1",
                        &[&id, &from_ms, &to_ms, &n],
                    )
                    .map_err(|e| self.err(e))?;
                Ok(rows
                    .iter()
                    .map(|r| {
                        let b: i64 = r.get(0);
                        SeriesPoint {
                            time_ms: crate::bucket_start(from_ms, to_ms, n, b),
                            mean: r.get(1),
                            min: r.get(2),
                            max: r.get(3),
                            count: r.get::<_, i64>(4) as u64,
                            quality: r.get::<_, i16>(5) as u8,
                        }
                    })
                    .collect())
            }
        }
    }

    fn latest_at(&mut self, at_ms: i64, sensors: Option<&[String]>) -> Result<Vec<StoredReading>, StoreError> {
        let rows = self
            .client
            .query(
                // No tie-break on the row's place: it would sort every sensor's newest rows
                // across the partitions (about 4× slower); two readings of one sensor in the same
                // millisecond give either.
                "SELECT s.sensor, r.t, r.value, r.quality FROM sensors s CROSS JOIN LATERAL (
                     SELECT t, value, quality FROM readings WHERE sensor = s.id AND t <= $1 ORDER BY t DESC LIMIT 1) r
                 ORDER BY s.sensor COLLATE \"C\"",
                &[&at_ms],
            )
            .map_err(|e| self.err(e))?;
        let all = rows.iter().map(|r| StoredReading {
            sensor: r.get(0),
            time_ms: r.get(1),
            value: r.get(2),
            quality: r.get::<_, i16>(3) as u8,
        });
        Ok(match sensors {
            None => all.collect(),
            Some(names) => all.filter(|r| names.contains(&r.sensor)).collect(),
        })
    }

    fn alarms(&mut self, from_ms: i64, to_ms: i64) -> Result<Vec<StoredAlarm>, StoreError> {
        let rows = self
            .client
            .query(
                "SELECT t, alarm, severity, raised, sensor, feature, value FROM alarms WHERE t >= $1 AND t < $2 ORDER BY t, seq",
                &[&from_ms, &to_ms],
            )
            .map_err(|e| self.err(e))?;
        Ok(rows
            .iter()
            .map(|r| StoredAlarm {
                time_ms: r.get(0),
                alarm: r.get(1),
                severity: r.get(2),
                raised: r.get(3),
                sensor: r.get(4),
                feature: r.get(5),
                value: r.get(6),
            })
            .collect())
    }

    fn gaps(&mut self, from_ms: i64, to_ms: i64) -> Result<Vec<StoredGap>, StoreError> {
        let rows = self
            .client
            .query(
                "SELECT source, from_t, to_t, reason FROM gaps WHERE to_t > $1 AND from_t < $2 ORDER BY from_t, seq",
                &[&from_ms, &to_ms],
            )
            .map_err(|e| self.err(e))?;
        Ok(rows
            .iter()
            .map(|r| StoredGap { source: r.get(0), from_ms: r.get(1), to_ms: r.get(2), reason: r.get(3) })
            .collect())
    }

    fn sensors(&mut self) -> Result<Vec<SensorMeta>, StoreError> {
        let rows = self
            .client
            .query("SELECT sensor, feature, quantity, unit FROM sensors ORDER BY sensor COLLATE \"C\"", &[])
            .map_err(|e| self.err(e))?;
        Ok(rows
            .iter()
            .map(|r| SensorMeta { sensor: r.get(0), feature: r.get(1), quantity: r.get(2), unit: r.get(3) })
            .collect())
    }

    fn reading_count(&mut self) -> Result<u64, StoreError> {
        let row = self.client.query_one("SELECT COUNT(*) FROM readings", &[]).map_err(|e| self.err(e))?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    fn record_run(&mut self, run: &NewRun) -> Result<i64, StoreError> {
        let row = self
            .client
            .query_one(
                "INSERT INTO runs (name, started_ms, scenario_toml, scenario_hash, city_hash, results, out_dir, interrupted)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                &[
                    &run.name,
                    &run.started_ms,
                    &run.scenario_toml,
                    &run.scenario_hash,
                    &run.city_hash,
                    &run.results.to_string(),
                    &run.out_dir,
                    &run.interrupted,
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(row.get(0))
    }

    fn runs(&mut self) -> Result<Vec<StoredRun>, StoreError> {
        let rows = self
            .client
            .query(
                "SELECT id, name, started_ms, scenario_toml, scenario_hash, city_hash, results, out_dir, interrupted
                 FROM runs ORDER BY id",
                &[],
            )
            .map_err(|e| self.err(e))?;
        Ok(rows
            .iter()
            .map(|r| StoredRun {
                id: r.get(0),
                run: NewRun {
                    name: r.get(1),
                    started_ms: r.get(2),
                    scenario_toml: r.get(3),
                    scenario_hash: r.get(4),
                    city_hash: r.get(5),
                    results: serde_json::from_str(r.get::<_, &str>(6)).unwrap_or(serde_json::Value::Null),
                    out_dir: r.get(7),
                    interrupted: r.get(8),
                },
            })
            .collect())
    }

    fn prune_before(&mut self, before_ms: i64) -> Result<u64, StoreError> {
        let name = self.name.clone();
        let e = |e: postgres::Error| StoreError::db(&name, why(&e));
        let mut tx = self.client.transaction().map_err(e)?;
        let mut removed = 0u64;
        let mut dropped = Vec::new();
        // Whole weeks before the cut go at once.
        for &week in self.weeks.iter().flatten() {
            if (week + 1) * PARTITION_MS <= before_ms {
                let n: i64 = tx.query_one(&format!("SELECT COUNT(*) FROM readings_w{week}"), &[]).map_err(e)?.get(0);
                tx.batch_execute(&format!("DROP TABLE readings_w{week}")).map_err(e)?;
                removed += n as u64;
                dropped.push(week);
            }
        }
        removed += tx.execute("DELETE FROM readings WHERE t < $1", &[&before_ms]).map_err(e)?;
        tx.execute("DELETE FROM alarms WHERE t < $1", &[&before_ms]).map_err(e)?;
        tx.execute("DELETE FROM gaps WHERE to_t <= $1", &[&before_ms]).map_err(e)?;
        tx.commit().map_err(e)?;
        if let Some(weeks) = &mut self.weeks {
            for w in dropped {
                weeks.remove(&w);
            }
        }
        Ok(removed)
    }
}
