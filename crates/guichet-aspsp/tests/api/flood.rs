//! Issue #8, finding 1: thousands of idle and slow connections from a few hosts (silent TCP,
//! idle TLS, idle HTTP/2, slowloris heads, slow and stalled bodies) do not take the bank down. Loopback only (the attackers bind 127.0.0.2 … 127.0.0.41), bounded in count
//! and time, stopping by itself.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use guichet_store::Backend;
use reqwest::StatusCode;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::flow::{browser, sandbox_roots};
use crate::helpers::*;

/// Attacking addresses, and connections each opens to each of the bank's two listeners.
const HOSTS: u8 = 40;
const PER_HOST_AND_LISTENER: usize = 40;
const PER_CLIENT_CAP: usize = 50;
const HEADER_DEADLINE: u64 = 3;
const STALL_DEADLINE: u64 = 3;
const BUSY_DEADLINE: u64 = 6;

/// A login form on the PSU pages announcing 1,000 bytes of body.
const SLOW_BODY_HEAD: &[u8] = b"POST /sca/login HTTP/1.1\r\nHost: bank\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n";

fn address(origin: &str) -> SocketAddr {
    let host = origin.trim_start_matches("https://");
    match host.parse() {
        Ok(address) => address,
        Err(e) => panic!("{origin}: {e}"),
    }
}

async fn connect_from(source: IpAddr, target: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    socket.connect(target).await
}

fn tls_connector(alpn: &[&[u8]]) -> tokio_rustls::TlsConnector {
    let roots = sandbox_roots();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = match rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
    {
        Ok(builder) => builder.with_root_certificates(roots).with_no_client_auth(),
        Err(e) => panic!("{e}"),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// How one attacking connection behaves.
#[derive(Clone, Copy, Debug)]
enum Attack {
    /// Connects and sends nothing (not even a TLS hello).
    SilentTcp,
    /// Completes the TLS handshake, then sends nothing.
    IdleTls,
    /// Completes the TLS handshake, then trickles a request head a line every 500 ms.
    Slowloris,
    /// Negotiates HTTP/2 (ALPN h2), then sends nothing, not even the preface.
    IdleH2,
    /// Sends a complete request head announcing a body, then trickles the body a byte every
    /// 500 ms (closed at the end of the busy stretch).
    SlowBody,
    /// Sends a complete request head announcing a body, then nothing (closed when it stalls).
    StalledBody,
}

/// Runs one attacking connection; answers how long the server took to close it after the
/// connection was established (the TCP connection for a silent one, the handshake for the
/// others), or `None` if it was never accepted.
async fn attack(source: IpAddr, target: SocketAddr, kind: Attack) -> Option<Duration> {
    let tcp = connect_from(source, target).await.ok()?;
    let mut started = Instant::now();
    let mut buf = [0u8; 256];
    match kind {
        Attack::SilentTcp => {
            let mut tcp = tcp;
            let _ = tokio::time::timeout(Duration::from_secs(30), tcp.read(&mut buf)).await;
        }
        _ => {
            let name = ServerName::IpAddress(target.ip().into());
            let alpn: &[&[u8]] = match kind {
                Attack::IdleH2 => &[b"h2"],
                _ => &[b"http/1.1"],
            };
            let mut tls = match tls_connector(alpn).connect(name, tcp).await {
                Ok(tls) => tls,
                Err(_) => return Some(started.elapsed()),
            };
            started = Instant::now();
            let (opening, drip): (&[u8], &[u8]) = match kind {
                Attack::Slowloris => (
                    b"GET /stet/psd2/v1.4.2/accounts HTTP/1.1\r\n",
                    b"X-Slow: a\r\n",
                ),
                Attack::SlowBody => (SLOW_BODY_HEAD, b"a"),
                Attack::StalledBody => (SLOW_BODY_HEAD, b""),
                _ => (b"", b""),
            };
            if !opening.is_empty() {
                let _ = tls.write_all(opening).await;
            }
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                tokio::select! {
                    read = tls.read(&mut buf) => if !matches!(read, Ok(n) if n > 0) { break },
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {
                        if !drip.is_empty() && tls.write_all(drip).await.is_err() {
                            break;
                        }
                    }
                }
            }
        }
    }
    Some(started.elapsed())
}

/// A connection beyond the per-client cap is closed at once.
async fn refused_fast(source: IpAddr, target: SocketAddr) -> Duration {
    let started = Instant::now();
    // The kernel completes the TCP handshake; the bank then closes the connection at once.
    let mut tcp = match connect_from(source, target).await {
        Ok(tcp) => tcp,
        Err(e) => panic!("connecting from {source}: {e}"),
    };
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "a connection over the cap must be closed at once: {read:?}"
    );
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_slow_connections_neither_starve_legitimate_clients_nor_outlive_the_deadline() {
    guichet_aspsp::conn::raise_open_file_limit();
    let mut app = TestApp::spawn(Backend::Sqlite).await;
    app.edge.header_timeout_seconds = HEADER_DEADLINE;
    app.edge.handshake_timeout_seconds = HEADER_DEADLINE;
    app.edge.max_connections_per_client = PER_CLIENT_CAP;
    app.edge.stall_timeout_seconds = STALL_DEADLINE;
    app.edge.request_timeout_seconds = BUSY_DEADLINE;
    app.restart().await;
    let api = address(&app.origin(CE));
    let pages = address(&app.psu_origin(CE));
    let token = app.token(CE, "CLAIRE", &["aisp"]).await;
    ok_json(app.get(CE, "/accounts", &token)).await;

    // The attack: HOSTS addresses × 2 listeners × PER_HOST_AND_LISTENER connections.
    let kinds = [
        Attack::SilentTcp,
        Attack::SilentTcp,
        Attack::IdleTls,
        Attack::Slowloris,
        Attack::SilentTcp,
        Attack::IdleH2,
        Attack::SlowBody,
        Attack::StalledBody,
    ];
    let mut attackers = tokio::task::JoinSet::new();
    let opened = Instant::now();
    for host in 0..HOSTS {
        let source = IpAddr::from([127, 0, 0, 2 + host]);
        for target in [api, pages] {
            for i in 0..PER_HOST_AND_LISTENER {
                let kind = kinds[i % kinds.len()];
                attackers.spawn(async move { (kind, attack(source, target, kind).await) });
            }
        }
        // Opened in waves, as a real flood is; the whole attack stands within two seconds.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let total = usize::from(HOSTS) * 2 * PER_HOST_AND_LISTENER;

    // One more host, over its cap on the API listener: the extra connections are refused fast.
    let greedy = IpAddr::from([127, 0, 0, 100]);
    let mut held = Vec::new();
    for _ in 0..PER_CLIENT_CAP {
        match connect_from(greedy, api).await {
            Ok(tcp) => held.push(tcp),
            Err(e) => panic!("a connection within the cap was not accepted: {e}"),
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut refusals = Vec::new();
    for _ in 0..5 {
        refusals.push(refused_fast(greedy, api).await);
    }
    assert!(
        refusals.iter().all(|d| *d < Duration::from_secs(1)),
        "refused fast: {refusals:?}"
    );

    // Meanwhile, legitimate calls: signed API calls on the established client and on new
    // clients, and the PSU's pages, each answered within a second.
    let mut latencies = Vec::new();
    let probing = Instant::now();
    let mut round = 0;
    while probing.elapsed() < Duration::from_secs(BUSY_DEADLINE + 1) {
        let started = Instant::now();
        let status = send(app.get(CE, "/accounts", &token)).await.status();
        assert_eq!(status, StatusCode::OK);
        latencies.push(started.elapsed());
        if round % 3 == 0 {
            let fresh = match app.tpp.http_client(&the_pki().sandbox.ca_file) {
                Ok(client) => client,
                Err(e) => panic!("{e}"),
            };
            let started = Instant::now();
            let response = fresh
                .get(app.url(CE, "/accounts"))
                .header("X-Request-ID", format!("flood-{round}"))
                .send()
                .await;
            let Ok(response) = response else {
                panic!("a new legitimate client was not served: {response:?}")
            };
            // Unsigned: the bank answers its 400 ErrorModel, which is an answer in time.
            assert_eq!(response.status(), StatusCode::BAD_REQUEST);
            latencies.push(started.elapsed());
            let started = Instant::now();
            let page = browser()
                .get(format!("{}/static/bank.css", app.psu_origin(CE)))
                .send()
                .await;
            let Ok(page) = page else {
                panic!("the PSU pages did not answer: {page:?}")
            };
            assert_eq!(page.status(), StatusCode::OK);
            latencies.push(started.elapsed());
        }
        round += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    latencies.sort();
    let slowest = latencies.last().copied().unwrap_or_default();
    let p50 = latencies[latencies.len() / 2];
    assert!(
        slowest < Duration::from_secs(1),
        "legitimate calls answered within a second under attack; slowest {slowest:?}"
    );

    // Every idle or slow connection is closed by the deadline (with a second of slack for the
    // scheduler, plus the time the attack took to open them).
    let mut closed_after = Vec::new();
    let mut never_accepted = 0;
    while let Some(outcome) = attackers.join_next().await {
        match outcome {
            Ok((kind, Some(after))) => {
                // Each kind by its own deadline, with a second of grace and one of slack.
                let deadline = match kind {
                    Attack::SlowBody => BUSY_DEADLINE,
                    Attack::StalledBody => STALL_DEADLINE,
                    _ => HEADER_DEADLINE,
                };
                assert!(
                    after < Duration::from_secs(deadline + 2),
                    "{kind:?} closed after {after:?}, its deadline is {deadline} s"
                );
                closed_after.push(after);
            }
            Ok((_, None)) => never_accepted += 1,
            Err(e) => panic!("attacker task: {e}"),
        }
    }
    let attack_time = opened.elapsed();
    closed_after.sort();
    let latest = closed_after.last().copied().unwrap_or_default();
    assert_eq!(
        never_accepted, 0,
        "every attacking connection below the caps was accepted"
    );
    assert_eq!(closed_after.len(), total);
    assert!(
        latest < Duration::from_secs(BUSY_DEADLINE + 3),
        "every idle or slow connection closed by its deadline; the last after {latest:?}"
    );
    drop(held);
    println!(
        "flood figures: connections held {total} (+{PER_CLIENT_CAP} from one host at its cap, 5 over it refused in at most {:?}); \
         legitimate answers {} , p50 {p50:?}, slowest {slowest:?}; idle/slow connections closed after at most {latest:?} \
         (deadlines: head {HEADER_DEADLINE} s, stall {STALL_DEADLINE} s, busy stretch {BUSY_DEADLINE} s); whole attack {attack_time:?}",
        refusals.iter().max().copied().unwrap_or_default(),
        latencies.len(),
    );
}
