//! The wall protocol's wire format, version [`PROTOCOL_VERSION`], and the
//! state a frame carries.
//!
//! ```text
//! offset  size  field
//!      0     4  magic b"URBW"
//!      4     2  protocol version, u16 little-endian (1)
//!      6     1  kind: 1 Hello, 2 Refused, 3 Snapshot, 4 Frame, 5 Ready, 6 Swap, 7 Bye
//!      7     4  payload length, u32 little-endian (≤ 64 MiB for Snapshot and
//!               Frame, ≤ 64 KiB for the others)
//!     11     n  payload: one JSON object (UTF-8), fields per kind
//! ```
//!
//! Reading: the header is checked as it arrives (a wrong magic byte fails at
//! once), the length against its kind's cap before anything is allocated,
//! then exactly that many bytes are read, the buffer growing only with the
//! bytes that came, all within a deadline. Every refusal is a
//! [`SyncError`] that names the peer; nothing panics on input.

use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::SyncError;

/// The wire format's version, in every header and in `Hello`.
pub const PROTOCOL_VERSION: u16 = 1;
/// `b"URBW"`: the first four bytes of every message.
pub const MAGIC: [u8; 4] = *b"URBW";
/// Bytes before the payload.
pub const HEADER_LEN: usize = 11;
/// The largest Snapshot or Frame payload (64 MiB).
pub const MAX_STATE_PAYLOAD: u32 = 64 << 20;
/// The largest payload of any other kind (64 KiB).
pub const MAX_CONTROL_PAYLOAD: u32 = 64 << 10;

/// The camera every display renders from (the wall's eye is applied per
/// display on top of it). Metres and radians.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CameraState {
    /// World position (engine coordinates, metres).
    pub position: [f64; 3],
    /// Orientation, a 3×3 matrix column-major: right, up, back.
    pub rotation: [f64; 9],
    /// Vertical field of view, radians.
    pub fov_y: f64,
    /// Near plane, metres.
    pub near: f64,
}

impl Default for CameraState {
    /// At the origin, unrotated, a 60° field of view, near plane 0.1 m.
    fn default() -> Self {
        Self {
            position: [0.0; 3],
            rotation: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
            fov_y: std::f64::consts::FRAC_PI_3,
            near: 0.1,
        }
    }
}

/// One live sensor reading.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LiveDelta {
    pub sensor: String,
    /// Seconds (the live session's clock).
    pub time: f64,
    pub value: f64,
}

/// What every display needs to render one frame. Plain data; in a `Frame`
/// it carries the changes since the previous frame, in a `Snapshot`
/// everything.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FrameState {
    pub camera: CameraState,
    /// Simulation time, seconds, when a simulation plays.
    pub sim_time: Option<f64>,
    /// The selected feature's id.
    pub selection: Option<String>,
    /// Frame: readings since the previous frame. Snapshot: every sensor's
    /// latest reading.
    pub live: Vec<LiveDelta>,
    pub scenario_mode: Option<String>,
    /// Style TOML text: in a Frame when it changed, always in a Snapshot.
    pub styles: Option<String>,
    /// Displays the leader's last swap barrier went without (late, gone
    /// or never joined), so every display can show them as missing.
    pub missing: Vec<String>,
}

impl FrameState {
    /// The first field that JSON could not carry (JSON has no NaN or ∞).
    pub fn check_finite(&self) -> Result<(), SyncError> {
        let bad = |field: String| Err(SyncError::NotFinite { field });
        let c = &self.camera;
        if !c.position.iter().chain(&c.rotation).chain([&c.fov_y, &c.near]).all(|v| v.is_finite()) {
            return bad("camera".into());
        }
        if self.sim_time.is_some_and(|t| !t.is_finite()) {
            return bad("sim_time".into());
        }
        for (i, d) in self.live.iter().enumerate() {
            if !(d.time.is_finite() && d.value.is_finite()) {
                return bad(format!("live[{i}] (sensor \"{}\")", d.sensor));
            }
        }
        Ok(())
    }
}

/// One protocol message; its kind byte is [`Message::kind`].
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// Follower → leader, first: who it is. `{"version":1,"display":"c1r0"}`
    Hello { version: u16, display: String },
    /// Leader → follower, then close: why it was not taken. `{"reason":"…"}`
    Refused { reason: String },
    /// Leader → follower: the full state as of frame `seq`, standing in for
    /// that frame. `{"seq":812,"state":{…}}`
    Snapshot { seq: u64, state: FrameState },
    /// Leader → follower: the changes for frame `seq`. `{"seq":812,"state":{…}}`
    Frame { seq: u64, state: FrameState },
    /// Follower → leader: frame `seq` is rendered. `{"seq":812}`
    Ready { seq: u64 },
    /// Leader → follower: present frame `seq`. `{"seq":812}`
    Swap { seq: u64 },
    /// Either way, then close: a clean goodbye. `{"reason":"…"}`
    Bye { reason: String },
}

const KIND_NAMES: [&str; 8] = ["?", "Hello", "Refused", "Snapshot", "Frame", "Ready", "Swap", "Bye"];

/// The name of a kind byte, for errors.
pub fn kind_name(kind: u8) -> &'static str {
    KIND_NAMES.get(usize::from(kind)).copied().unwrap_or("?")
}

impl Message {
    /// The header's kind byte.
    pub fn kind(&self) -> u8 {
        match self {
            Message::Hello { .. } => 1,
            Message::Refused { .. } => 2,
            Message::Snapshot { .. } => 3,
            Message::Frame { .. } => 4,
            Message::Ready { .. } => 5,
            Message::Swap { .. } => 6,
            Message::Bye { .. } => 7,
        }
    }

    /// `Frame(812)`, `Hello("c1r0")`: for errors and logs.
    pub fn describe(&self) -> String {
        match self {
            Message::Hello { display, .. } => format!("Hello(\"{display}\")"),
            Message::Snapshot { seq, .. } | Message::Frame { seq, .. } => format!("{}({seq})", kind_name(self.kind())),
            Message::Ready { seq } | Message::Swap { seq } => format!("{}({seq})", kind_name(self.kind())),
            Message::Refused { .. } | Message::Bye { .. } => kind_name(self.kind()).into(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct HelloBody {
    version: u16,
    display: String,
}
#[derive(Serialize, Deserialize)]
struct ReasonBody {
    reason: String,
}
#[derive(Serialize, Deserialize)]
struct SeqBody {
    seq: u64,
}
#[derive(Serialize)]
struct StateRef<'a> {
    seq: u64,
    state: &'a FrameState,
}
#[derive(Deserialize)]
struct StateBody {
    seq: u64,
    state: FrameState,
}

/// Header then JSON payload.
fn frame_bytes<T: Serialize>(kind: u8, body: &T) -> Result<Vec<u8>, SyncError> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&PROTOCOL_VERSION.to_le_bytes());
    out.push(kind);
    out.extend_from_slice(&[0; 4]);
    serde_json::to_writer(&mut out, body)
        .map_err(|e| SyncError::Encode { kind: kind_name(kind), message: e.to_string() })?;
    let len = out.len() - HEADER_LEN;
    let max = if matches!(kind, 3 | 4) { MAX_STATE_PAYLOAD } else { MAX_CONTROL_PAYLOAD };
    let len = u32::try_from(len).ok().filter(|l| *l <= max).ok_or_else(|| SyncError::Encode {
        kind: kind_name(kind),
        message: format!("{len} bytes of JSON, over the limit of {max}"),
    })?;
    out[7..HEADER_LEN].copy_from_slice(&len.to_le_bytes());
    Ok(out)
}

/// A Frame or Snapshot (kind 4 or 3) without copying the state.
pub fn encode_state(snapshot: bool, seq: u64, state: &FrameState) -> Result<Vec<u8>, SyncError> {
    state.check_finite()?;
    frame_bytes(if snapshot { 3 } else { 4 }, &StateRef { seq, state })
}

/// A message's bytes on the wire.
pub fn encode(msg: &Message) -> Result<Vec<u8>, SyncError> {
    let kind = msg.kind();
    match msg {
        Message::Hello { version, display } => {
            frame_bytes(kind, &HelloBody { version: *version, display: display.clone() })
        }
        Message::Refused { reason } | Message::Bye { reason } => {
            frame_bytes(kind, &ReasonBody { reason: reason.clone() })
        }
        Message::Snapshot { seq, state } => encode_state(true, *seq, state),
        Message::Frame { seq, state } => encode_state(false, *seq, state),
        Message::Ready { seq } | Message::Swap { seq } => frame_bytes(kind, &SeqBody { seq: *seq }),
    }
}

/// A checked header: the kind and payload length.
pub fn decode_header(header: &[u8; HEADER_LEN], peer: &str) -> Result<(u8, u32), SyncError> {
    check_magic(header, peer)?;
    let version = u16::from_le_bytes([header[4], header[5]]);
    if version != PROTOCOL_VERSION {
        return Err(SyncError::UnknownVersion { peer: peer.into(), got: version, supported: PROTOCOL_VERSION });
    }
    let kind = header[6];
    if !(1..=7).contains(&kind) {
        return Err(SyncError::UnknownKind { peer: peer.into(), kind });
    }
    let len = u32::from_le_bytes([header[7], header[8], header[9], header[10]]);
    let max = if matches!(kind, 3 | 4) { MAX_STATE_PAYLOAD } else { MAX_CONTROL_PAYLOAD };
    if len > max {
        return Err(SyncError::TooLong { peer: peer.into(), kind: kind_name(kind), len, max });
    }
    Ok((kind, len))
}

/// Fails as soon as a received byte differs from the magic.
fn check_magic(got: &[u8], peer: &str) -> Result<(), SyncError> {
    let n = got.len().min(4);
    if got[..n] != MAGIC[..n] {
        return Err(SyncError::BadMagic { peer: peer.into(), got: got[..n].to_vec() });
    }
    Ok(())
}

/// A payload of a checked kind.
pub fn decode_payload(kind: u8, payload: &[u8], peer: &str) -> Result<Message, SyncError> {
    fn parse<'a, T: Deserialize<'a>>(kind: u8, payload: &'a [u8], peer: &str) -> Result<T, SyncError> {
        serde_json::from_slice(payload).map_err(|e| {
            let (line, column) = (e.line(), e.column());
            let message = e.to_string();
            let message = message.strip_suffix(&format!(" at line {line} column {column}")).unwrap_or(&message);
            SyncError::Json { peer: peer.into(), kind: kind_name(kind), line, column, message: message.into() }
        })
    }
    Ok(match kind {
        1 => {
            let b: HelloBody = parse(kind, payload, peer)?;
            Message::Hello { version: b.version, display: b.display }
        }
        2 => Message::Refused { reason: parse::<ReasonBody>(kind, payload, peer)?.reason },
        3 | 4 => {
            let b: StateBody = parse(kind, payload, peer)?;
            if kind == 3 {
                Message::Snapshot { seq: b.seq, state: b.state }
            } else {
                Message::Frame { seq: b.seq, state: b.state }
            }
        }
        5 => Message::Ready { seq: parse::<SeqBody>(kind, payload, peer)?.seq },
        6 => Message::Swap { seq: parse::<SeqBody>(kind, payload, peer)?.seq },
        7 => Message::Bye { reason: parse::<ReasonBody>(kind, payload, peer)?.reason },
        _ => return Err(SyncError::UnknownKind { peer: peer.into(), kind }),
    })
}

/// One whole message from the start of `bytes`, and how many bytes it took.
/// An incomplete message is `Truncated` (or `Closed` when `bytes` is empty).
pub fn decode(bytes: &[u8], peer: &str) -> Result<(Message, usize), SyncError> {
    let mut r = bytes;
    let msg = read_message(&mut r, peer, None, Duration::from_secs(1))?;
    Ok((msg, bytes.len() - r.len()))
}

/// A byte source whose blocking reads can be bounded in time.
pub(crate) trait TimedRead: Read {
    fn set_timeout(&mut self, timeout: Option<Duration>) -> std::io::Result<()>;
}

impl TimedRead for TcpStream {
    fn set_timeout(&mut self, timeout: Option<Duration>) -> std::io::Result<()> {
        self.set_read_timeout(timeout)
    }
}

impl TimedRead for &[u8] {
    fn set_timeout(&mut self, _: Option<Duration>) -> std::io::Result<()> {
        Ok(())
    }
}

enum Got {
    Bytes(usize),
    Eof,
    TimedOut,
}

fn read_some<S: TimedRead>(s: &mut S, buf: &mut [u8], timeout: Option<Duration>, peer: &str) -> Result<Got, SyncError> {
    // std refuses a zero timeout; the caller has checked its deadline.
    let timeout = timeout.map(|t| t.max(Duration::from_millis(1)));
    s.set_timeout(timeout).map_err(|source| SyncError::Io {
        peer: peer.into(),
        context: "setting a timeout",
        source,
    })?;
    loop {
        match s.read(buf) {
            Ok(0) => return Ok(Got::Eof),
            Ok(n) => return Ok(Got::Bytes(n)),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return Ok(Got::TimedOut),
            Err(source) => return Err(SyncError::Io { peer: peer.into(), context: "reading", source }),
        }
    }
}

/// Fills `buf[*filled..]` by `deadline`; `what` names the part in errors.
/// `check` runs on the bytes so far after every read (the magic test).
#[allow(clippy::too_many_arguments)]
fn fill<S: TimedRead>(
    s: &mut S,
    buf: &mut [u8],
    filled: &mut usize,
    want: usize,
    deadline: Instant,
    body: Duration,
    (peer, what): (&str, &'static str),
    check: impl Fn(&[u8]) -> Result<(), SyncError>,
) -> Result<(), SyncError> {
    let end = buf.len();
    let truncated = |got, why: String| SyncError::Truncated { peer: peer.into(), what, got, want, why };
    while *filled < end {
        check(&buf[..*filled])?;
        let now = Instant::now();
        if now >= deadline {
            return Err(truncated(*filled, format!("nothing more for {body:?}")));
        }
        match read_some(s, &mut buf[*filled..], Some(deadline - now), peer)? {
            Got::Bytes(n) => *filled += n,
            Got::Eof => {
                check(&buf[..*filled])?;
                return Err(truncated(*filled, "the connection closed".into()));
            }
            Got::TimedOut => {}
        }
    }
    check(&buf[..*filled])
}

/// Reads one message. `idle`: how long to wait for its first byte (`None`:
/// as long as it takes); `body`: how long the rest may take after that.
pub(crate) fn read_message<S: TimedRead>(
    s: &mut S,
    peer: &str,
    idle: Option<Duration>,
    body: Duration,
) -> Result<Message, SyncError> {
    let mut header = [0u8; HEADER_LEN];
    let mut filled = match read_some(s, &mut header, idle, peer)? {
        Got::Bytes(n) => n,
        Got::Eof => return Err(SyncError::Closed { peer: peer.into() }),
        Got::TimedOut => return Err(SyncError::Idle { peer: peer.into(), waited: idle.unwrap_or_default() }),
    };
    let deadline = Instant::now() + body;
    let magic = |got: &[u8]| check_magic(got, peer);
    fill(s, &mut header, &mut filled, HEADER_LEN, deadline, body, (peer, "header"), magic)?;
    let (kind, len) = decode_header(&header, peer)?;
    let len = len as usize;
    // Grows with the bytes that arrive (doubling from 64 KiB), never to a
    // claimed length up front.
    let mut payload: Vec<u8> = Vec::new();
    let mut got = 0;
    while got < len {
        let grow = (len - got).min(payload.len().max(64 << 10));
        payload.resize(got + grow, 0);
        fill(s, &mut payload, &mut got, len, deadline, body, (peer, kind_name(kind)), |_| Ok(()))?;
    }
    decode_payload(kind, &payload, peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> FrameState {
        FrameState {
            camera: CameraState { position: [1.5, -2.0, 30.25], ..Default::default() },
            sim_time: Some(3600.5),
            selection: Some("bldg-17".into()),
            live: vec![LiveDelta { sensor: "m1".into(), time: 12.0, value: -0.5 }],
            scenario_mode: Some("flood".into()),
            styles: Some("[style]\nx = 1\n".into()),
            missing: vec!["c2r0".into()],
        }
    }

    /// Exactly: fov_y = π/3 came back 1 ulp off before serde_json's
    /// `float_roundtrip` was enabled (the control that this can fail).
    #[test]
    fn every_kind_round_trips() {
        let msgs = [
            Message::Hello { version: PROTOCOL_VERSION, display: "c1r0".into() },
            Message::Refused { reason: "no".into() },
            Message::Snapshot { seq: 7, state: state() },
            Message::Frame { seq: u64::MAX, state: FrameState::default() },
            Message::Ready { seq: 8 },
            Message::Swap { seq: 9 },
            Message::Bye { reason: "done".into() },
        ];
        let mut wire = Vec::new();
        for m in &msgs {
            wire.extend(encode(m).expect("encode"));
        }
        let mut at = 0;
        for m in &msgs {
            let (got, n) = decode(&wire[at..], "test").expect("decode");
            assert_eq!(&got, m);
            at += n;
        }
        assert_eq!(at, wire.len());
    }

    #[test]
    fn the_header_is_laid_out_as_documented() {
        let bytes = encode(&Message::Ready { seq: 812 }).expect("encode");
        let payload = br#"{"seq":812}"#;
        let mut want = b"URBW".to_vec();
        want.extend([1, 0, 5]);
        want.extend((payload.len() as u32).to_le_bytes());
        want.extend(payload);
        assert_eq!(bytes, want);
    }

    #[test]
    fn bad_input_is_refused_with_the_peer_and_the_reason() {
        let good = encode(&Message::Frame { seq: 3, state: state() }).expect("encode");
        let mut huge = good[..HEADER_LEN].to_vec();
        huge[7..11].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut v2 = good.clone();
        v2[4] = 2;
        let mut kind = good.clone();
        kind[6] = 42;
        let mut json = encode(&Message::Ready { seq: 1 }).expect("encode");
        let n = json.len();
        json[n - 2] = b'x';
        let cases: [(&[u8], &str); 7] = [
            (b"GET / HTTP/1.1\r\n\r\n", "not a wall message: starts with [71, 69, 84, 32]"),
            (b"UR", "truncated header: 2 of 11 bytes, then the connection closed"),
            (&huge, "Frame payload of 4294967295 bytes is over its limit of 67108864"),
            (&v2, "speaks wall protocol version 2; this end speaks version 1"),
            (&kind, "unknown message kind 42"),
            (&good[..good.len() - 5], "truncated Frame"),
            (&json, "Ready payload is not valid JSON at line 1, column"),
        ];
        for (bytes, want) in cases {
            let e = decode(bytes, "peer 10.0.0.7:5000").expect_err(want).to_string();
            assert!(e.starts_with("peer 10.0.0.7:5000: ") && e.contains(want), "{want}: {e}");
        }
        // The control: the untouched message decodes.
        assert!(decode(&good, "p").is_ok());
    }

    #[test]
    fn nan_is_refused_before_sending() {
        let mut s = state();
        s.live.push(LiveDelta { sensor: "m9".into(), time: 1.0, value: f64::NAN });
        let e = encode_state(false, 1, &s).expect_err("NaN").to_string();
        assert!(e.contains("live[1] (sensor \"m9\")"), "{e}");
    }
}
