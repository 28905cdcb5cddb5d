//! MQTT 3.1.1 or 5 subscription through rumqttc, plain or TLS (rustls with the
//! ring provider), with username and password.
//!
//! The thread polls the connection with a short timeout, so it stops
//! promptly. On a connection error it backs off (50 ms doubling to 500 ms)
//! and lets rumqttc reconnect; on every CONNACK it subscribes again, and the
//! time without a connection is recorded as a [`Gap`](crate::pipeline::Gap).
//! Payloads on `…/Datastreams(ID)/Observations` topics are read as
//! SensorThings observations, all others as JSON readings.
//!
//! Scale-out: with `share=GROUP` the subscription is the shared
//! `$share/GROUP/topic`, so the broker hands each message to one of the
//! group's workers. With `ack=commit` (the default when shared, when the
//! session keeps a history store) a QoS 1 message is acknowledged only once
//! its readings are committed to the store, so a worker killed mid-batch
//! loses nothing: with `session=SECONDS` (a persistent session under a
//! fixed `client_id`) the broker sends what was unacknowledged again when
//! the worker is back, flagged DUP, and those readings are stored only if
//! the store does not hold them yet.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Acquire, Ordering::Relaxed};
use std::time::Duration;

use rumqttc::{Client, Event, MqttOptions, Packet, QoS, TlsConfiguration, Transport};

use crate::LiveError;
use crate::payload::datastream_of_topic;
use crate::pipeline::Gap;
use crate::session::Ingest;
use crate::sources::{SourceHandle, now_ms};

/// Where and how to subscribe.
#[derive(Debug, Clone, PartialEq)]
pub struct MqttSource {
    pub host: String,
    pub port: u16,
    pub topic: String,
    pub qos: u8,
    pub username: Option<String>,
    pub password: Option<String>,
    /// TLS on, with an optional CA file (PEM); without one, the system's roots.
    pub tls: Option<Option<PathBuf>>,
    pub client_id: String,
    pub keep_alive_s: u64,
    /// Speak MQTT 5 instead of 3.1.1 (`?v=5`).
    pub v5: bool,
    /// Shared-subscription group (`?share=GROUP`): subscribe to `$share/GROUP/topic`.
    pub share: Option<String>,
    /// A persistent session kept this many seconds after a disconnect (`?session=S`); clean otherwise.
    pub session_s: Option<u32>,
    /// Acknowledge QoS 1 messages only once their readings are committed to
    /// the session's history store (`?ack=commit`; default when shared).
    pub ack_after_commit: bool,
    /// Messages the broker may have unacknowledged at once (`?inflight=N`, MQTT 5 receive maximum).
    pub inflight: u16,
}

impl MqttSource {
    /// Parses `mqtt://[user:pass@]host[:port]/topic/filter/#[?qos=1&v=5]` or
    /// `mqtts://…[?ca=ca.pem]`. The topic is everything after the first `/`
    /// (so `#` and `+` need no escaping).
    pub fn parse(url: &str) -> Result<MqttSource, LiveError> {
        let bad = |why: &str| LiveError::Url { url: url.to_string(), why: why.to_string() };
        let (tls, rest) = if let Some(r) = url.strip_prefix("mqtts://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("mqtt://") {
            (false, r)
        } else {
            return Err(bad("expected mqtt:// or mqtts://"));
        };
        let (rest, query) = match rest.rsplit_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (authority, topic) = rest.split_once('/').ok_or_else(|| bad("no topic after host"))?;
        if topic.is_empty() {
            return Err(bad("empty topic"));
        }
        let (creds, hostport) = match authority.rsplit_once('@') {
            Some((c, h)) => (Some(c), h),
            None => (None, authority),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad("bad port"))?),
            None => (hostport, if tls { 8883 } else { 1883 }),
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let (username, password) = match creds {
            Some(c) => match c.split_once(':') {
                Some((u, p)) => (Some(u.to_string()), Some(p.to_string())),
                None => (Some(c.to_string()), None),
            },
            None => (None, None),
        };
        let mut s = MqttSource {
            host: host.to_string(),
            port,
            topic: topic.to_string(),
            qos: 1,
            username,
            password,
            tls: tls.then_some(None),
            client_id: format!("urbis-{}-{}", std::process::id(), now_ms() % 1_000_000),
            keep_alive_s: 5,
            v5: false,
            share: None,
            session_s: None,
            ack_after_commit: false,
            inflight: 4096,
        };
        let mut ack = None;
        for kv in query.unwrap_or("").split('&').filter(|kv| !kv.is_empty()) {
            match kv.split_once('=') {
                Some(("qos", q)) => {
                    s.qos = q.parse().ok().filter(|q| *q <= 1).ok_or_else(|| bad("qos must be 0 or 1"))?
                }
                Some(("ca", p)) => s.tls = Some(Some(PathBuf::from(p))),
                Some(("client_id", c)) => s.client_id = c.to_string(),
                Some(("v", v)) => {
                    s.v5 = match v {
                        "5" => true,
                        "3" | "4" | "3.1.1" => false,
                        _ => return Err(bad("v must be 3.1.1 (or 4) or 5")),
                    }
                }
                Some(("share", g)) => {
                    if g.is_empty() || g.contains(['/', '+', '#']) {
                        return Err(bad("share group must be a non-empty name without / + #"));
                    }
                    s.share = Some(g.to_string());
                }
                Some(("session", v)) => {
                    s.session_s = Some(v.parse().map_err(|_| bad("session must be seconds (0 to 4294967295)"))?)
                }
                Some(("ack", "commit")) => ack = Some(true),
                Some(("ack", "receipt")) => ack = Some(false),
                Some(("ack", _)) => return Err(bad("ack must be commit or receipt")),
                Some(("inflight", n)) => {
                    s.inflight = n.parse().ok().filter(|n| *n > 0).ok_or_else(|| bad("inflight must be 1 to 65535"))?
                }
                _ => return Err(bad(&format!("unknown option {kv:?}"))),
            }
        }
        s.ack_after_commit = ack.unwrap_or(s.share.is_some());
        Ok(s)
    }

    /// The filter subscribed to: the topic, or `$share/GROUP/topic`.
    pub fn filter(&self) -> String {
        match &self.share {
            Some(g) => format!("$share/{g}/{}", self.topic),
            None => self.topic.clone(),
        }
    }

    fn qos(&self) -> QoS {
        if self.qos == 0 { QoS::AtMostOnce } else { QoS::AtLeastOnce }
    }

    fn options(&self, manual_acks: bool) -> Result<MqttOptions, LiveError> {
        let mut o = MqttOptions::new(self.client_id.clone(), self.host.clone(), self.port);
        o.set_keep_alive(Duration::from_secs(self.keep_alive_s.max(1)));
        o.set_clean_session(self.session_s.is_none());
        o.set_manual_acks(manual_acks);
        // Payloads above the configured limit are refused by the parser (and
        // counted); only absurd packets are refused by the client itself.
        o.set_max_packet_size(64 << 20, 1 << 20);
        if let Some(u) = &self.username {
            o.set_credentials(u.clone(), self.password.clone().unwrap_or_default());
        }
        if let Some(ca) = &self.tls {
            o.set_transport(Transport::Tls(TlsConfiguration::Rustls(Arc::new(tls_config(ca.as_deref())?))));
        }
        Ok(o)
    }
}

impl MqttSource {
    fn options_v5(&self, manual_acks: bool) -> Result<rumqttc::v5::MqttOptions, LiveError> {
        let mut o = rumqttc::v5::MqttOptions::new(self.client_id.clone(), self.host.clone(), self.port);
        o.set_keep_alive(Duration::from_secs(self.keep_alive_s.max(1)));
        o.set_clean_start(self.session_s.is_none());
        o.set_session_expiry_interval(self.session_s);
        o.set_manual_acks(manual_acks);
        o.set_receive_maximum(Some(self.inflight));
        o.set_max_packet_size(Some(64 << 20));
        if let Some(u) = &self.username {
            o.set_credentials(u.clone(), self.password.clone().unwrap_or_default());
        }
        if let Some(ca) = &self.tls {
            o.set_transport(Transport::Tls(TlsConfiguration::Rustls(Arc::new(tls_config(ca.as_deref())?))));
        }
        Ok(o)
    }
}

/// A rustls client configuration with the ring provider: the CA file's certificates, or the system's.
pub fn tls_config(ca: Option<&std::path::Path>) -> Result<rustls::ClientConfig, LiveError> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    match ca {
        Some(path) => {
            let certs =
                CertificateDer::pem_file_iter(path).map_err(|e| LiveError::Tls(format!("{}: {e}", path.display())))?;
            for c in certs {
                let c = c.map_err(|e| LiveError::Tls(format!("{}: {e}", path.display())))?;
                roots.add(c).map_err(|e| LiveError::Tls(format!("{}: {e}", path.display())))?;
            }
        }
        None => {
            for c in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(c);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| LiveError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Subscribes on a thread; readings go to `ingest`. Connection failures
/// are retried for ever (logged, counted as gaps); a refused login is
/// logged as such and retried with backoff as well.
pub fn spawn_mqtt(source: MqttSource, ingest: Ingest) -> Result<SourceHandle, LiveError> {
    let stop = Arc::new(AtomicBool::new(false));
    let clock = Arc::new(AtomicI64::new(now_ms()));
    let finished = Arc::new(AtomicBool::new(false));
    let (s, c) = (stop.clone(), clock.clone());
    let name =
        format!("mqtt{}://{}:{}/{}", if source.v5 { "5" } else { "" }, source.host, source.port, source.filter());
    // Acknowledging after the commit needs a store to commit to, and QoS 1.
    let committed = ingest.committed.clone().filter(|_| source.ack_after_commit && source.qos == 1);
    if source.ack_after_commit && committed.is_none() {
        tracing::warn!(source = %name, "ack=commit without a history store (or with QoS 0): acknowledging on receipt");
    }
    let manual = committed.is_some();
    let handler = Handler::new(name.clone(), ingest);
    let f = finished.clone();
    let thread = if source.v5 {
        let options = source.options_v5(manual)?;
        std::thread::Builder::new().name("urbis-mqtt5".into()).spawn(move || {
            run_v5(source, options, handler, Unacked::new(committed), &s, &c);
            f.store(true, Relaxed);
        })
    } else {
        let options = source.options(manual)?;
        std::thread::Builder::new().name("urbis-mqtt".into()).spawn(move || {
            run(source, options, handler, Unacked::new(committed), &s, &c);
            f.store(true, Relaxed);
        })
    }
    .map_err(|e| LiveError::Io { path: PathBuf::from(&name), source: e })?;
    Ok(SourceHandle::new(name, stop, clock, finished, thread))
}

/// What both protocol loops do with connections, messages and errors.
struct Handler {
    name: String,
    ingest: Ingest,
    backoff: Backoff,
    down_since: Option<i64>,
    connected_once: bool,
    batch: Vec<crate::payload::Reading>,
}

impl Handler {
    fn new(name: String, ingest: Ingest) -> Self {
        Self { name, ingest, backoff: Backoff::default(), down_since: None, connected_once: false, batch: Vec::new() }
    }

    /// A successful CONNACK; the caller subscribes next.
    fn connected(&mut self) {
        self.backoff = Backoff::default();
        if let Some(from) = self.down_since.take() {
            self.ingest.stats.record_gap(Gap { source: self.name.clone(), from_ms: from, to_ms: now_ms() });
        } else if self.connected_once {
            self.ingest.stats.reconnects.fetch_add(1, Relaxed);
        }
        self.connected_once = true;
        tracing::info!(source = %self.name, "MQTT connected");
    }

    /// Parses and queues one message; returns its pipeline mark.
    fn message(&mut self, topic: &str, payload: &[u8], redelivered: bool) -> u64 {
        let now = now_ms();
        match datastream_of_topic(topic) {
            Some(ds) => self.ingest.parser().sensorthings(ds, payload, now, &mut self.batch),
            None => self.ingest.parser().json(topic, payload, now, &mut self.batch),
        };
        if redelivered {
            self.batch.iter_mut().for_each(|r| r.redelivered = true);
        }
        self.ingest.push(&mut self.batch)
    }

    /// A connection error: note the outage, log, and back off (stoppable).
    fn failed(&mut self, refused: bool, error: &dyn std::fmt::Display, stop: &AtomicBool) {
        if self.connected_once && self.down_since.is_none() {
            self.down_since = Some(now_ms());
        }
        if refused {
            self.ingest.stats.refused.fetch_add(1, Relaxed);
            tracing::error!(source = %self.name, "MQTT login refused: {error}");
        } else {
            tracing::warn!(source = %self.name, "MQTT connection lost: {error}; retrying in {:?}", self.backoff.peek());
        }
        let until = std::time::Instant::now() + self.backoff.next_delay();
        while std::time::Instant::now() < until && !stop.load(Relaxed) {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// QoS 1 messages held unacknowledged until the store has committed their
/// readings (`ack=commit`), oldest first.
struct Unacked<P> {
    /// The store's committed pipeline mark; `None`: acknowledge on receipt.
    committed: Option<Arc<AtomicU64>>,
    held: std::collections::VecDeque<(u64, P)>,
}

impl<P> Unacked<P> {
    fn new(committed: Option<Arc<AtomicU64>>) -> Self {
        Self { committed, held: std::collections::VecDeque::new() }
    }

    /// Holds `p` until `mark` is committed (nothing when acknowledging on receipt).
    fn hold(&mut self, mark: u64, p: P) {
        if self.committed.is_some() {
            self.held.push_back((mark, p));
        }
    }

    /// Acknowledges, in order, what is committed (`ack` false: the client's queue is full; later).
    fn release(&mut self, mut ack: impl FnMut(&P) -> bool) {
        let Some(committed) = &self.committed else { return };
        let upto = committed.load(Acquire);
        while let Some((mark, p)) = self.held.front() {
            if *mark > upto || !ack(p) {
                break;
            }
            self.held.pop_front();
        }
    }

    /// A new connection: packet ids of the old one mean nothing now. On a
    /// persistent session the broker sends those messages again (DUP).
    fn reconnected(&mut self) {
        self.held.clear();
    }

    /// How long to wait for the next event: short while acknowledgements wait.
    fn poll(&self) -> Duration {
        Duration::from_millis(if self.held.is_empty() { 100 } else { 10 })
    }
}

/// The wait before each reconnection attempt: 50 ms, doubling up to 500 ms,
/// back to 50 ms after a successful connection. So a broker that is back is
/// reached within half a second of listening again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    next: Duration,
}

impl Backoff {
    pub const FIRST: Duration = Duration::from_millis(50);
    pub const MAX: Duration = Duration::from_millis(500);

    /// The wait the next failure will take.
    pub fn peek(&self) -> Duration {
        self.next
    }

    /// The wait for this failure; the next one waits twice as long, up to [`Backoff::MAX`].
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        d
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self { next: Self::FIRST }
    }
}

/// A stop while acknowledging after commit: drop the subscription first
/// (the broker then gives new messages to the group's other workers), take
/// what still arrives, and go on until the broker confirmed and everything
/// held is committed and acknowledged, or 3 s passed.
#[derive(Default)]
struct Drain {
    since: Option<std::time::Instant>,
    unsubscribe_sent: bool,
    unsubscribed: bool,
}

impl Drain {
    /// Whether the loop goes on; `unsubscribe` is tried until the client takes it.
    fn keep_going<P>(&mut self, stop: &AtomicBool, unacked: &Unacked<P>, unsubscribe: impl FnOnce() -> bool) -> bool {
        if !stop.load(Relaxed) {
            return true;
        }
        if unacked.committed.is_none() {
            return false;
        }
        let since = *self.since.get_or_insert_with(std::time::Instant::now);
        if !self.unsubscribe_sent {
            self.unsubscribe_sent = unsubscribe();
        }
        !(self.unsubscribed && unacked.held.is_empty()) && since.elapsed() < Duration::from_secs(3)
    }
}

fn run(
    source: MqttSource,
    options: MqttOptions,
    mut h: Handler,
    mut unacked: Unacked<rumqttc::Publish>,
    stop: &AtomicBool,
    clock: &AtomicI64,
) {
    let (client, mut connection) = Client::new(options, 1024);
    let mut drain = Drain::default();
    while drain.keep_going(stop, &unacked, || client.try_unsubscribe(source.filter()).is_ok()) {
        clock.store(now_ms(), Relaxed);
        unacked.release(|p| client.try_ack(p).is_ok());
        let event = match connection.recv_timeout(unacked.poll()) {
            Ok(e) => e,
            Err(rumqttc::RecvTimeoutError::Timeout) => continue,
            Err(rumqttc::RecvTimeoutError::Disconnected) => break,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(ack))) if ack.code == rumqttc::ConnectReturnCode::Success => {
                h.connected();
                unacked.reconnected();
                if let Err(e) = client.try_subscribe(source.filter(), source.qos()) {
                    tracing::error!(source = %h.name, "subscribe: {e}");
                }
            }
            Ok(Event::Incoming(Packet::SubAck(_))) => {
                h.ingest.stats.subscribed.fetch_add(1, Relaxed);
            }
            Ok(Event::Incoming(Packet::UnsubAck(_))) => drain.unsubscribed = true,
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let mark = h.message(&p.topic, &p.payload, p.dup);
                if p.qos != QoS::AtMostOnce {
                    unacked.hold(mark, p);
                }
            }
            Ok(_) => {}
            Err(e) => {
                let refused = matches!(e, rumqttc::ConnectionError::ConnectionRefused(_));
                h.failed(refused, &e, stop);
            }
        }
    }
    let _ = client.try_disconnect();
}

fn run_v5(
    source: MqttSource,
    options: rumqttc::v5::MqttOptions,
    mut h: Handler,
    mut unacked: Unacked<rumqttc::v5::mqttbytes::v5::Publish>,
    stop: &AtomicBool,
    clock: &AtomicI64,
) {
    use rumqttc::v5::mqttbytes::v5::{ConnectReturnCode, Packet as P5};
    use rumqttc::v5::{Client as Client5, ConnectionError as E5, Event as Ev5, RecvTimeoutError as T5};
    let (client, mut connection) = Client5::new(options, 1024);
    let qos = if source.qos == 0 {
        rumqttc::v5::mqttbytes::QoS::AtMostOnce
    } else {
        rumqttc::v5::mqttbytes::QoS::AtLeastOnce
    };
    let mut drain = Drain::default();
    while drain.keep_going(stop, &unacked, || client.try_unsubscribe(source.filter()).is_ok()) {
        clock.store(now_ms(), Relaxed);
        unacked.release(|p| client.try_ack(p).is_ok());
        let event = match connection.recv_timeout(unacked.poll()) {
            Ok(e) => e,
            Err(T5::Timeout) => continue,
            Err(T5::Disconnected) => break,
        };
        match event {
            Ok(Ev5::Incoming(P5::ConnAck(ack))) if ack.code == ConnectReturnCode::Success => {
                h.connected();
                unacked.reconnected();
                if let Err(e) = client.try_subscribe(source.filter(), qos) {
                    tracing::error!(source = %h.name, "subscribe: {e}");
                }
            }
            Ok(Ev5::Incoming(P5::SubAck(_))) => {
                h.ingest.stats.subscribed.fetch_add(1, Relaxed);
            }
            Ok(Ev5::Incoming(P5::UnsubAck(_))) => drain.unsubscribed = true,
            Ok(Ev5::Incoming(P5::Publish(p))) => {
                let topic = String::from_utf8_lossy(&p.topic).into_owned();
                let mark = h.message(&topic, &p.payload, p.dup);
                if p.qos != rumqttc::v5::mqttbytes::QoS::AtMostOnce {
                    unacked.hold(mark, p);
                }
            }
            Ok(_) => {}
            Err(e) => {
                let refused = matches!(e, E5::ConnectionRefused(_));
                h.failed(refused, &e, stop);
            }
        }
    }
    let _ = client.try_disconnect();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_subscription_options_parse_and_default_to_acknowledging_after_commit() {
        let s = MqttSource::parse("mqtt://h:1883/city/#?v=5&share=urbis&session=600&client_id=w1&inflight=64").unwrap();
        assert_eq!(s.filter(), "$share/urbis/city/#");
        assert_eq!((s.session_s, s.ack_after_commit, s.inflight, s.v5), (Some(600), true, 64, true));
        assert_eq!(s.client_id, "w1");
        let s = MqttSource::parse("mqtt://h/city/#?share=g&ack=receipt").unwrap();
        assert!(!s.ack_after_commit);
        let s = MqttSource::parse("mqtt://h/city/#?ack=commit").unwrap();
        assert_eq!((s.filter().as_str(), s.ack_after_commit, s.session_s), ("city/#", true, None));
        for bad in ["share=", "share=a/b", "share=%2B#", "session=-1", "ack=later", "inflight=0", "inflight=70000"] {
            assert!(MqttSource::parse(&format!("mqtt://h/t?{bad}")).is_err(), "{bad}");
        }
    }

    #[test]
    fn backoff_doubles_to_half_a_second_and_resets() {
        let mut b = Backoff::default();
        let waits: Vec<u64> = (0..7).map(|_| b.next_delay().as_millis() as u64).collect();
        assert_eq!(waits, [50, 100, 200, 400, 500, 500, 500]);
        assert_eq!(Backoff::default().peek(), Duration::from_millis(50));
    }
}
