//! The connection discipline of the bank's edge: what a client may hold and for how long.
//!
//! - A TLS handshake must finish within `handshake_timeout_seconds`.
//! - A complete request head must arrive within `header_timeout_seconds` of the end of the
//!   handshake, and of the end of the previous response on a kept-alive connection (HTTP/1.1
//!   and HTTP/2 alike): slowloris and idle connections are closed. A connection that is
//!   answering a request is never cut.
//! - Each listener holds at most `max_connections_per_listener` connections, and at most
//!   `max_connections_per_client` from one client address; a connection beyond either cap is
//!   closed at once, before its handshake, so that it costs the bank one accept.
//! - At start the process raises its open-file limit to the hard limit and sizes the listeners'
//!   caps so that, with `fd_reserve` descriptors kept for the database, files and logs, the
//!   process never reaches `EMFILE`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use http_body::Frame;

/// The edge's limits; every one is configurable (`[edge]` in the configuration file).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct EdgeLimits {
    /// Seconds a client has to complete its TLS handshake.
    pub handshake_timeout_seconds: u64,
    /// Seconds a client has to send a complete request head, after the handshake and between
    /// requests on a kept-alive connection.
    pub header_timeout_seconds: u64,
    /// Seconds a request being answered may go without a body frame read or written (slow
    /// bodies, readers that stop reading).
    pub stall_timeout_seconds: u64,
    /// Seconds a connection may stay busy without a pause (a trickled body, a slow reader).
    pub request_timeout_seconds: u64,
    /// Connections one listener holds at most (lowered at start to fit the open-file limit).
    pub max_connections_per_listener: usize,
    /// Connections one client address holds at most on one listener.
    pub max_connections_per_client: usize,
    /// Header fields in one request; more is a 431.
    pub max_headers: usize,
    /// Bytes of one header field (name and value); more is a 431.
    pub max_header_bytes: usize,
    /// Bytes of the whole header block; more is a 431.
    pub max_header_block_bytes: usize,
    /// Bytes of a request body; more is a 413.
    pub max_body_bytes: usize,
    /// Open files kept out of the listeners' reach (database, trust files, logs).
    pub fd_reserve: u64,
    /// Seconds between checks of the CRL files; a revoked certificate is refused within this.
    pub trust_refresh_seconds: u64,
    /// Failed SCA factors one client address may make per window on the PSU's pages.
    pub psu_failures_per_client: u32,
    pub psu_failure_window_seconds: i64,
}

impl Default for EdgeLimits {
    fn default() -> EdgeLimits {
        EdgeLimits {
            handshake_timeout_seconds: 10,
            header_timeout_seconds: 10,
            stall_timeout_seconds: 30,
            request_timeout_seconds: 120,
            max_connections_per_listener: 8192,
            max_connections_per_client: 256,
            max_headers: 100,
            max_header_bytes: 16 * 1024,
            max_header_block_bytes: 64 * 1024,
            max_body_bytes: 64 * 1024,
            fd_reserve: 512,
            trust_refresh_seconds: 30,
            psu_failures_per_client: 20,
            psu_failure_window_seconds: 600,
        }
    }
}

/// What the HTTP parser itself refuses, well above [`EdgeLimits`] so that requests between
/// the two limits reach the edge and get a STET ErrorModel: past these, hyper answers a bare
/// 431 or closes the connection. The head buffer, eight times the header block limit (512 KiB
/// by default), is what one connection may hold in memory before its header deadline. hyper
/// lays out room for `PARSER_MAX_HEADERS` fields at every request (56 bytes each): 1,024 cost
/// 3 % of a GET /accounts (BENCHMARKS.md, 7 December), so `max_headers` stays at most 128.
pub const PARSER_MAX_HEADERS: usize = 256;
pub const PARSER_MAX_HEAD_BYTES: usize = 1024 * 1024;

impl EdgeLimits {
    pub fn handshake_timeout(&self) -> Duration {
        Duration::from_secs(self.handshake_timeout_seconds.max(1))
    }

    pub fn header_timeout(&self) -> Duration {
        Duration::from_secs(self.header_timeout_seconds.max(1))
    }

    /// The HTTP/1.1 parser's head buffer: eight times the header block limit, at most
    /// [`PARSER_MAX_HEAD_BYTES`].
    pub fn parser_head_bytes(&self) -> usize {
        self.max_header_block_bytes
            .saturating_mul(8)
            .clamp(16 * 1024, PARSER_MAX_HEAD_BYTES)
    }

    /// Checks the limits make sense together.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_connections_per_client == 0 || self.max_connections_per_listener == 0 {
            return Err("edge: connection caps must be at least 1".into());
        }
        for (name, value, max) in [
            (
                "handshake_timeout_seconds",
                self.handshake_timeout_seconds,
                3600,
            ),
            ("header_timeout_seconds", self.header_timeout_seconds, 3600),
            ("stall_timeout_seconds", self.stall_timeout_seconds, 3600),
            (
                "request_timeout_seconds",
                self.request_timeout_seconds,
                86_400,
            ),
            ("trust_refresh_seconds", self.trust_refresh_seconds, 86_400),
        ] {
            if !(1..=max).contains(&value) {
                return Err(format!("edge: {name} must be 1 to {max}"));
            }
        }
        if !(1..=86_400).contains(&self.psu_failure_window_seconds) {
            return Err("edge: psu_failure_window_seconds must be 1 to 86400".into());
        }
        if self.max_header_block_bytes > PARSER_MAX_HEAD_BYTES / 2
            || self.max_headers > PARSER_MAX_HEADERS / 2
        {
            return Err(format!(
                "edge: header limits must stay below half the parser's ({PARSER_MAX_HEADERS} fields, {PARSER_MAX_HEAD_BYTES} bytes)"
            ));
        }
        Ok(())
    }
}

/// Raises the soft open-file limit to the hard limit; answers the limit in force.
pub fn raise_open_file_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(e) => {
            tracing::warn!(error = %e, "cannot raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft)
        }
    }
}

/// Each listener's cap: the configured one, lowered so that all listeners together stay
/// within the open-file limit less the reserve.
pub fn listener_cap(limits: &EdgeLimits, open_files: u64, listeners: usize) -> usize {
    let budget = open_files.saturating_sub(limits.fd_reserve) / (listeners.max(1) as u64);
    limits
        .max_connections_per_listener
        .min(usize::try_from(budget).unwrap_or(usize::MAX))
        .max(1)
}

/// The address of the client a request came from, attached by the accept loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// Why a connection was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crowded {
    Listener,
    Client,
}

/// Counts one listener's open connections, in total and per client address.
#[derive(Debug)]
pub struct Gate {
    per_listener: usize,
    per_client: usize,
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub struct Admission {
    gate: Arc<Gate>,
    client: IpAddr,
}

impl Gate {
    pub fn new(per_listener: usize, per_client: usize) -> Arc<Gate> {
        Arc::new(Gate {
            per_listener,
            per_client,
            open: Mutex::new((0, HashMap::new())),
        })
    }

    /// Admits a connection from `client`, or says which cap is reached.
    pub fn admit(self: &Arc<Gate>, client: IpAddr) -> Result<Admission, Crowded> {
        let mut open = match self.open.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let (total, by_client) = &mut *open;
        if *total >= self.per_listener {
            return Err(Crowded::Listener);
        }
        let mine = by_client.entry(client).or_insert(0);
        if *mine >= self.per_client {
            return Err(Crowded::Client);
        }
        *mine += 1;
        *total += 1;
        Ok(Admission {
            gate: self.clone(),
            client,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.lock().map_or(0, |open| open.0)
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut open = match self.gate.open.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let (total, by_client) = &mut *open;
        *total = total.saturating_sub(1);
        if let Some(mine) = by_client.get_mut(&self.client) {
            *mine = mine.saturating_sub(1);
            if *mine == 0 {
                by_client.remove(&self.client);
            }
        }
    }
}

/// The deadlines of one connection.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    /// For the next request head, after the handshake or the previous response.
    pub header: Duration,
    /// For any progress (a body frame read or written) while a request is being answered.
    pub stall: Duration,
    /// For a busy stretch (requests without a pause) as a whole.
    pub request: Duration,
}

impl EdgeLimits {
    pub fn deadlines(&self) -> Deadlines {
        Deadlines {
            header: self.header_timeout(),
            stall: Duration::from_secs(self.stall_timeout_seconds.max(1)),
            request: Duration::from_secs(self.request_timeout_seconds.max(1)),
        }
    }
}

/// Whether a connection is serving a request, and since when it is, or is not.
#[derive(Debug)]
pub struct Activity {
    started: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds after `started`: when the last response was finished (or the handshake).
    idle_since: AtomicU64,
    /// When the current busy stretch began.
    busy_since: AtomicU64,
    /// When a body frame was last read or written.
    progress: AtomicU64,
}

impl Activity {
    pub fn new() -> Arc<Activity> {
        Arc::new(Activity {
            started: Instant::now(),
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
            busy_since: AtomicU64::new(0),
            progress: AtomicU64::new(0),
        })
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn at(&self, field: &AtomicU64) -> Instant {
        self.started + Duration::from_millis(field.load(Ordering::SeqCst))
    }

    /// A request head arrived: the connection is busy until the returned guard is dropped
    /// (with the response's body, once it was sent).
    pub fn begin(self: &Arc<Activity>) -> Busy {
        let now = self.elapsed_ms();
        if self.in_flight.fetch_add(1, Ordering::SeqCst) == 0 {
            self.busy_since.store(now, Ordering::SeqCst);
        }
        self.progress.store(now, Ordering::SeqCst);
        Busy(self.clone())
    }

    /// A body frame moved.
    pub fn touch(&self) {
        self.progress.store(self.elapsed_ms(), Ordering::SeqCst);
    }

    /// When the connection is closed unless something happens: its next request head is due,
    /// or, while busy, its next progress and the end of its busy stretch.
    pub fn deadline(&self, limits: Deadlines) -> Instant {
        if self.in_flight.load(Ordering::SeqCst) == 0 {
            return self.at(&self.idle_since) + limits.header;
        }
        (self.at(&self.progress) + limits.stall).min(self.at(&self.busy_since) + limits.request)
    }

    pub fn is_busy(&self) -> bool {
        self.in_flight.load(Ordering::SeqCst) > 0
    }
}

/// A request being answered.
#[derive(Debug)]
pub struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0
            .idle_since
            .store(self.0.elapsed_ms(), Ordering::SeqCst);
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A response body that keeps its connection marked busy until it is sent (or dropped), and
/// marks progress as it is written.
pub struct TrackedBody {
    inner: Body,
    busy: Busy,
}

impl TrackedBody {
    pub fn new(inner: Body, busy: Busy) -> TrackedBody {
        TrackedBody { inner, busy }
    }
}

impl http_body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(_))) = &polled {
            this.busy.0.touch();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A request body that marks progress as it is read.
pub struct ProgressBody<B> {
    inner: B,
    activity: Arc<Activity>,
}

impl<B> ProgressBody<B> {
    pub fn new(inner: B, activity: Arc<Activity>) -> ProgressBody<B> {
        ProgressBody { inner, activity }
    }
}

impl<B: http_body::Body<Data = Bytes> + Unpin> http_body::Body for ProgressBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(_))) = &polled {
            this.activity.touch();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_caps_each_client_and_the_listener() {
        let gate = Gate::new(3, 2);
        let a: IpAddr = [127, 0, 0, 2].into();
        let b: IpAddr = [127, 0, 0, 3].into();
        let first = gate.admit(a);
        let second = gate.admit(a);
        assert!(first.is_ok() && second.is_ok());
        assert_eq!(gate.admit(a).err(), Some(Crowded::Client));
        let third = gate.admit(b);
        assert!(third.is_ok());
        assert_eq!(gate.admit(b).err(), Some(Crowded::Listener));
        drop(first);
        assert_eq!(gate.open(), 2);
        assert!(gate.admit(a).is_ok());
    }

    #[test]
    fn listener_caps_fit_the_open_file_limit() {
        let limits = EdgeLimits::default();
        assert_eq!(listener_cap(&limits, 1_048_576, 4), 8192);
        assert_eq!(listener_cap(&limits, 4096, 4), (4096 - 512) / 4);
        assert_eq!(listener_cap(&limits, 100, 4), 1);
    }

    #[test]
    fn a_busy_connection_is_held_to_progress_and_to_its_stretch() {
        let activity = Activity::new();
        let limits = Deadlines {
            header: Duration::from_secs(5),
            stall: Duration::from_secs(30),
            request: Duration::from_secs(60),
        };
        let idle = activity.deadline(limits);
        let busy = activity.begin();
        assert!(activity.is_busy());
        let working = activity.deadline(limits);
        assert!(
            working > idle + Duration::from_secs(20),
            "the stall deadline, not the header one"
        );
        assert!(working <= Instant::now() + Duration::from_secs(30));
        drop(busy);
        assert!(!activity.is_busy());
        assert!(activity.deadline(limits) <= Instant::now() + Duration::from_secs(5));
    }
}
