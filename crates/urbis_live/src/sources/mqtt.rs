//! MQTT 3.1.1 subscription through rumqttc, plain or TLS (rustls with the
//! ring provider), with username and password.
//!
//! The thread polls the connection with a short timeout, so it stops
//! promptly. On a connection error it backs off (50 ms doubling to 500 ms)
//! and lets rumqttc reconnect; on every CONNACK it subscribes again, and the
//! time without a connection is recorded as a [`Gap`](crate::pipeline::Gap).
//! Payloads on `…/Datastreams(ID)/Observations` topics are read as
//! SensorThings observations, all others as JSON readings.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering::Relaxed};
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
}

impl MqttSource {
    /// Parses `mqtt://[user:pass@]host[:port]/topic/filter/#[?qos=1]` or
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
        };
        for kv in query.unwrap_or("").split('&').filter(|kv| !kv.is_empty()) {
            match kv.split_once('=') {
                Some(("qos", q)) => {
                    s.qos = q.parse().ok().filter(|q| *q <= 1).ok_or_else(|| bad("qos must be 0 or 1"))?
                }
                Some(("ca", p)) => s.tls = Some(Some(PathBuf::from(p))),
                Some(("client_id", c)) => s.client_id = c.to_string(),
                _ => return Err(bad(&format!("unknown option {kv:?}"))),
            }
        }
        Ok(s)
    }

    fn qos(&self) -> QoS {
        if self.qos == 0 { QoS::AtMostOnce } else { QoS::AtLeastOnce }
    }

    fn options(&self) -> Result<MqttOptions, LiveError> {
        let mut o = MqttOptions::new(self.client_id.clone(), self.host.clone(), self.port);
        o.set_keep_alive(Duration::from_secs(self.keep_alive_s.max(1)));
        o.set_clean_session(true);
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
    let options = source.options()?;
    let stop = Arc::new(AtomicBool::new(false));
    let clock = Arc::new(AtomicI64::new(now_ms()));
    let finished = Arc::new(AtomicBool::new(false));
    let (s, c) = (stop.clone(), clock.clone());
    let name = format!("mqtt://{}:{}/{}", source.host, source.port, source.topic);
    let label = name.clone();
    let thread = std::thread::Builder::new()
        .name("urbis-mqtt".into())
        .spawn(move || run(source, options, ingest, &s, &c, &label))
        .map_err(|e| LiveError::Io { path: PathBuf::from(&name), source: e })?;
    Ok(SourceHandle::new(name, stop, clock, finished, thread))
}

fn run(source: MqttSource, options: MqttOptions, ingest: Ingest, stop: &AtomicBool, clock: &AtomicI64, name: &str) {
    let (client, mut connection) = Client::new(options, 64);
    let mut backoff = Duration::from_millis(50);
    let mut down_since: Option<i64> = None;
    let mut connected_once = false;
    let mut batch = Vec::new();
    while !stop.load(Relaxed) {
        clock.store(now_ms(), Relaxed);
        let event = match connection.recv_timeout(Duration::from_millis(100)) {
            Ok(e) => e,
            Err(rumqttc::RecvTimeoutError::Timeout) => continue,
            Err(rumqttc::RecvTimeoutError::Disconnected) => break,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                if ack.code != rumqttc::ConnectReturnCode::Success {
                    tracing::error!(source = name, code = ?ack.code, "MQTT connection refused");
                    continue;
                }
                backoff = Duration::from_millis(50);
                if let Some(from) = down_since.take() {
                    ingest.stats.record_gap(Gap { source: name.to_string(), from_ms: from, to_ms: now_ms() });
                } else if connected_once {
                    ingest.stats.reconnects.fetch_add(1, Relaxed);
                }
                connected_once = true;
                tracing::info!(source = name, "MQTT connected");
                if let Err(e) = client.try_subscribe(source.topic.clone(), source.qos()) {
                    tracing::error!(source = name, "subscribe: {e}");
                }
            }
            Ok(Event::Incoming(Packet::SubAck(_))) => {
                ingest.stats.subscribed.fetch_add(1, Relaxed);
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let now = now_ms();
                let topic = p.topic.as_str();
                match datastream_of_topic(topic) {
                    Some(ds) => ingest.parser().sensorthings(ds, &p.payload, now, &mut batch),
                    None => ingest.parser().json(topic, &p.payload, now, &mut batch),
                };
                ingest.push(&mut batch);
            }
            Ok(_) => {}
            Err(e) => {
                if connected_once && down_since.is_none() {
                    down_since = Some(now_ms());
                }
                let refused = matches!(e, rumqttc::ConnectionError::ConnectionRefused(_));
                if refused {
                    ingest.stats.refused.fetch_add(1, Relaxed);
                    tracing::error!(source = name, "MQTT login refused: {e}");
                } else {
                    tracing::warn!(source = name, "MQTT connection lost: {e}; retrying in {backoff:?}");
                }
                // Sleep in small steps so a stop request is honoured quickly.
                let until = std::time::Instant::now() + backoff;
                while std::time::Instant::now() < until && !stop.load(Relaxed) {
                    std::thread::sleep(Duration::from_millis(10));
                }
                backoff = (backoff * 2).min(Duration::from_millis(500));
            }
        }
    }
    let _ = client.try_disconnect();
}
