//! The embedded back end: one SQLite file (bundled SQLite), WAL journal,
//! one transaction per batch with prepared statements. Sensors are kept
//! once and readings refer to them by number, with an index on (sensor,
//! time) for range and latest-value queries.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use crate::{
    Batch, HistoryStore, NewRun, SensorMeta, SeriesPoint, StoreError, StoredAlarm, StoredGap, StoredReading, StoredRun,
};

/// The schema this build writes and reads (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sensors (
    id INTEGER PRIMARY KEY,
    sensor TEXT NOT NULL UNIQUE,
    feature TEXT NOT NULL DEFAULT '',
    quantity TEXT NOT NULL DEFAULT '',
    unit TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS readings (
    sensor INTEGER NOT NULL REFERENCES sensors(id),
    t INTEGER NOT NULL,
    value REAL NOT NULL,
    quality INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS readings_by_sensor_time ON readings(sensor, t);
CREATE TABLE IF NOT EXISTS alarms (
    t INTEGER NOT NULL,
    alarm TEXT NOT NULL,
    severity TEXT NOT NULL,
    raised INTEGER NOT NULL,
    sensor TEXT NOT NULL,
    feature TEXT NOT NULL,
    value REAL
);
CREATE INDEX IF NOT EXISTS alarms_by_time ON alarms(t);
CREATE TABLE IF NOT EXISTS gaps (source TEXT NOT NULL, from_t INTEGER NOT NULL, to_t INTEGER NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS drops (source TEXT NOT NULL, t INTEGER NOT NULL, dropped INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    scenario_toml TEXT NOT NULL,
    scenario_hash TEXT NOT NULL,
    city_hash TEXT NOT NULL,
    results TEXT NOT NULL,
    out_dir TEXT NOT NULL,
    interrupted INTEGER NOT NULL
);
";

/// A history in one SQLite file.
pub struct SqliteStore {
    name: String,
    conn: Connection,
    /// Sensor id → row number, as far as known.
    ids: HashMap<String, i64>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SqliteStore({})", self.name)
    }
}

impl SqliteStore {
    /// Opens (or creates) the store at `path`. A file of a newer schema is
    /// refused untouched; a file that is not SQLite is refused.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let name = path.display().to_string();
        let open_err = |e: rusqlite::Error| StoreError::Open { store: name.clone(), why: e.to_string() };
        let conn = Connection::open(path).map_err(open_err)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(open_err)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema { store: name, found: version, supported: SCHEMA_VERSION });
        }
        conn.pragma_update(None, "journal_mode", "WAL").map_err(open_err)?;
        // WAL with NORMAL sync: a crash loses at most the last transactions, never consistency.
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(open_err)?;
        // 64 MiB of page cache: index inserts of large batches stay in memory.
        conn.pragma_update(None, "cache_size", -65536).map_err(open_err)?;
        conn.execute_batch(SCHEMA).map_err(open_err)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION).map_err(open_err)?;
        let mut ids = HashMap::new();
        {
            let mut stmt = conn.prepare("SELECT sensor, id FROM sensors").map_err(open_err)?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))).map_err(open_err)?;
            for row in rows {
                let (s, id) = row.map_err(open_err)?;
                ids.insert(s, id);
            }
        }
        Ok(Self { name, conn, ids })
    }

    /// Caps the file at about `bytes` (SQLite's page count limit): writes
    /// past it fail as on a full disk, and committed data stays. A quota;
    /// also how the tests fill a disk without one.
    pub fn limit_size(&mut self, bytes: u64) -> Result<(), StoreError> {
        let page: i64 = self.conn.query_row("PRAGMA page_size", [], |r| r.get(0)).map_err(|e| self.err(e))?;
        let pages = (bytes as i64 / page.max(1)).max(1);
        self.conn.pragma_update(None, "max_page_count", pages).map_err(|e| self.err(e))
    }

    fn err(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError::db(&self.name, e)
    }
}

impl HistoryStore for SqliteStore {
    fn name(&self) -> &str {
        &self.name
    }

    fn write(&mut self, batch: &Batch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let name = self.name.clone();
        let e = |e: rusqlite::Error| StoreError::db(&name, e);
        let tx = self.conn.transaction().map_err(e)?;
        let mut new_ids = Vec::new();
        {
            let mut upsert = tx
                .prepare_cached(
                    "INSERT INTO sensors (sensor, feature, quantity, unit) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(sensor) DO UPDATE SET feature = excluded.feature, quantity = excluded.quantity, unit = excluded.unit",
                )
                .map_err(e)?;
            for m in &batch.sensors {
                upsert.execute(params![m.sensor, m.feature, m.quantity, m.unit]).map_err(e)?;
            }
            let mut add = tx.prepare_cached("INSERT OR IGNORE INTO sensors (sensor) VALUES (?1)").map_err(e)?;
            let mut find = tx.prepare_cached("SELECT id FROM sensors WHERE sensor = ?1").map_err(e)?;
            let mut reading = tx
                .prepare_cached("INSERT INTO readings (sensor, t, value, quality) VALUES (?1, ?2, ?3, ?4)")
                .map_err(e)?;
            let mut again = tx
                .prepare_cached(
                    "INSERT INTO readings (sensor, t, value, quality) SELECT ?1, ?2, ?3, ?4
                     WHERE NOT EXISTS (SELECT 1 FROM readings WHERE sensor = ?1 AND t = ?2)",
                )
                .map_err(e)?;
            let mut local: HashMap<&str, i64> = HashMap::new();
            let all = batch.readings.iter().map(|r| (r, false)).chain(batch.redelivered.iter().map(|r| (r, true)));
            for (r, redelivered) in all {
                let id = match self.ids.get(&r.sensor).or_else(|| local.get(r.sensor.as_str())) {
                    Some(id) => *id,
                    None => {
                        add.execute(params![r.sensor]).map_err(e)?;
                        let id: i64 = find.query_row(params![r.sensor], |row| row.get(0)).map_err(e)?;
                        local.insert(&r.sensor, id);
                        new_ids.push((r.sensor.clone(), id));
                        id
                    }
                };
                let insert = if redelivered { &mut again } else { &mut reading };
                insert.execute(params![id, r.time_ms, r.value, r.quality]).map_err(e)?;
            }
            let mut alarm = tx
                .prepare_cached(
                    "INSERT INTO alarms (t, alarm, severity, raised, sensor, feature, value) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(e)?;
            for a in &batch.alarms {
                alarm
                    .execute(params![a.time_ms, a.alarm, a.severity, a.raised, a.sensor, a.feature, a.value])
                    .map_err(e)?;
            }
            let mut gap = tx
                .prepare_cached("INSERT INTO gaps (source, from_t, to_t, reason) VALUES (?1, ?2, ?3, ?4)")
                .map_err(e)?;
            for g in &batch.gaps {
                gap.execute(params![g.source, g.from_ms, g.to_ms, g.reason]).map_err(e)?;
            }
            let mut drop =
                tx.prepare_cached("INSERT INTO drops (source, t, dropped) VALUES (?1, ?2, ?3)").map_err(e)?;
            for d in &batch.drops {
                drop.execute(params![d.source, d.time_ms, d.dropped as i64]).map_err(e)?;
            }
        }
        tx.commit().map_err(e)?;
        // Known only once committed: a failed batch leaves no ids behind.
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
                let mut stmt = self
                    .conn
                    .prepare_cached(
                        "SELECT t, value, quality FROM readings WHERE sensor = ?1 AND t >= ?2 AND t < ?3 ORDER BY t, rowid",
                    )
                    .map_err(|e| self.err(e))?;
                let rows = stmt
                    .query_map(params![id, from_ms, to_ms], |r| {
                        let (t, v): (i64, f64) = (r.get(0)?, r.get(1)?);
                        Ok(SeriesPoint { time_ms: t, mean: v, min: v, max: v, count: 1, quality: r.get(2)? })
                    })
                    .map_err(|e| self.err(e))?;
                rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
            }
            Some(0) => Err(StoreError::Query("down-sampling to 0 points".into())),
            Some(n) => {
                let n = n as i64;
                let mut stmt = self
                    .conn
                    .prepare_cached(
                        "SELECT ((t - ?2) * ?4) / (?3 - ?2) AS b, AVG(value), MIN(value), MAX(value), COUNT(*), MAX(quality)
                         FROM readings WHERE sensor = ?1 AND t >= ?2 AND t < ?3 GROUP BY b ORDER BY b",
                    )
                    .map_err(|e| self.err(e))?;
                let rows = stmt
                    .query_map(params![id, from_ms, to_ms, n], |r| {
                        let b: i64 = r.get(0)?;
                        Ok(SeriesPoint {
                            time_ms: crate::bucket_start(from_ms, to_ms, n, b),
                            mean: r.get(1)?,
                            min: r.get(2)?,
                            max: r.get(3)?,
                            count: r.get::<_, i64>(4)? as u64,
                            quality: r.get(5)?,
                        })
                    })
                    .map_err(|e| self.err(e))?;
                rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
            }
        }
    }

    fn latest_at(&mut self, at_ms: i64, sensors: Option<&[String]>) -> Result<Vec<StoredReading>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT s.sensor, r.t, r.value, r.quality FROM sensors s JOIN readings r ON r.rowid = (
                     SELECT rowid FROM readings WHERE sensor = s.id AND t <= ?1 ORDER BY t DESC, rowid DESC LIMIT 1)
                 ORDER BY s.sensor",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![at_ms], |r| {
                Ok(StoredReading { sensor: r.get(0)?, time_ms: r.get(1)?, value: r.get(2)?, quality: r.get(3)? })
            })
            .map_err(|e| self.err(e))?;
        let all: Vec<StoredReading> = rows.collect::<Result<_, _>>().map_err(|e| self.err(e))?;
        Ok(match sensors {
            None => all,
            Some(names) => all.into_iter().filter(|r| names.contains(&r.sensor)).collect(),
        })
    }

    fn alarms(&mut self, from_ms: i64, to_ms: i64) -> Result<Vec<StoredAlarm>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT t, alarm, severity, raised, sensor, feature, value FROM alarms
                 WHERE t >= ?1 AND t < ?2 ORDER BY t, rowid",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![from_ms, to_ms], |r| {
                Ok(StoredAlarm {
                    time_ms: r.get(0)?,
                    alarm: r.get(1)?,
                    severity: r.get(2)?,
                    raised: r.get(3)?,
                    sensor: r.get(4)?,
                    feature: r.get(5)?,
                    value: r.get(6)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    fn gaps(&mut self, from_ms: i64, to_ms: i64) -> Result<Vec<StoredGap>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT source, from_t, to_t, reason FROM gaps WHERE to_t > ?1 AND from_t < ?2 ORDER BY from_t, rowid",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![from_ms, to_ms], |r| {
                Ok(StoredGap { source: r.get(0)?, from_ms: r.get(1)?, to_ms: r.get(2)?, reason: r.get(3)? })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    fn sensors(&mut self) -> Result<Vec<SensorMeta>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT sensor, feature, quantity, unit FROM sensors ORDER BY sensor")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(SensorMeta { sensor: r.get(0)?, feature: r.get(1)?, quantity: r.get(2)?, unit: r.get(3)? })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    fn reading_count(&mut self) -> Result<u64, StoreError> {
        self.conn
            .query_row("SELECT COUNT(*) FROM readings", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    fn record_run(&mut self, run: &NewRun) -> Result<i64, StoreError> {
        self.conn
            .execute(
                "INSERT INTO runs (name, started_ms, scenario_toml, scenario_hash, city_hash, results, out_dir, interrupted)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    run.name,
                    run.started_ms,
                    run.scenario_toml,
                    run.scenario_hash,
                    run.city_hash,
                    run.results.to_string(),
                    run.out_dir,
                    run.interrupted
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    fn runs(&mut self) -> Result<Vec<StoredRun>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, name, started_ms, scenario_toml, scenario_hash, city_hash, results, out_dir, interrupted
                 FROM runs ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                let results: String = r.get(6)?;
                Ok(StoredRun {
                    id: r.get(0)?,
                    run: NewRun {
                        name: r.get(1)?,
                        started_ms: r.get(2)?,
                        scenario_toml: r.get(3)?,
                        scenario_hash: r.get(4)?,
                        city_hash: r.get(5)?,
                        results: serde_json::from_str(&results).unwrap_or(serde_json::Value::Null),
                        out_dir: r.get(7)?,
                        interrupted: r.get(8)?,
                    },
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    fn prune_before(&mut self, before_ms: i64) -> Result<u64, StoreError> {
        let name = self.name.clone();
        let e = |e: rusqlite::Error| StoreError::db(&name, e);
        let tx = self.conn.transaction().map_err(e)?;
        let n = tx.execute("DELETE FROM readings WHERE t < ?1", params![before_ms]).map_err(e)?;
        tx.execute("DELETE FROM alarms WHERE t < ?1", params![before_ms]).map_err(e)?;
        tx.execute("DELETE FROM gaps WHERE to_t <= ?1", params![before_ms]).map_err(e)?;
        tx.commit().map_err(e)?;
        Ok(n as u64)
    }
}

impl SqliteStore {
    fn id_of(&self, sensor: &str) -> Result<Option<i64>, StoreError> {
        if let Some(id) = self.ids.get(sensor) {
            return Ok(Some(*id));
        }
        self.conn
            .query_row("SELECT id FROM sensors WHERE sensor = ?1", params![sensor], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))
    }
}
