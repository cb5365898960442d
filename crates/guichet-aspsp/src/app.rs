//! The application: the router, the listeners, the accept loop.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::middleware;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::conn::{self, Activity, ClientAddr, EdgeLimits, Gate, ProgressBody, TrackedBody};
use crate::state::{ListenerBank, SharedState};
use crate::tls::ConnectionPeer;
use crate::{ais, cbpii, edge, oauth, register, signature};

/// The whole API, with the edge layer around it. The routes sit in an inner router so that the
/// edge sees each response complete, including the `Allow` header of a 405 and the 404 of an
/// unknown path (`Router::layer` would run inside the routing).
pub fn router(state: SharedState) -> Router {
    let api = ais::router()
        .merge(cbpii::router())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            signature::verify,
        ));
    let routes = Router::new()
        .nest(guichet_stet::BASE_PATH, api)
        .merge(register::router())
        .with_state(state.clone());
    let stet = Router::new()
        .fallback_service(routes)
        .layer(middleware::from_fn_with_state(state.clone(), edge::edge));
    let listener = oauth::api_router()
        .with_state(state.clone())
        .fallback_service(stet);
    Router::new()
        .fallback_service(listener)
        .layer(middleware::from_fn_with_state(state, edge::guard))
}

/// The PSU's pages (authorize, SCA, access management, fallback login, App2App files).
pub fn psu_router(state: SharedState) -> Router {
    // The PSU's forms are a few fields: 16 KiB is plenty.
    let pages = oauth::psu_router()
        .layer(axum::extract::DefaultBodyLimit::max(16 * 1024))
        .with_state(state.clone());
    Router::new()
        .fallback_service(pages)
        .layer(middleware::from_fn_with_state(
            state,
            oauth::pages::maintenance,
        ))
}

/// What a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    /// The STET API and the token endpoint, over mutual TLS.
    Api,
    /// The PSU's pages, with a server certificate only.
    Psu,
}

/// Where one bank is served.
#[derive(Debug, Clone)]
pub struct Binding {
    pub bank_code: Option<String>,
    pub address: SocketAddr,
    pub face: Face,
}

/// A running server: its listeners' real addresses, and the handle that stops it.
pub struct Running {
    pub bindings: Vec<Binding>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// The address of a bank's API.
    pub fn address_of(&self, bank_code: &str) -> Option<SocketAddr> {
        self.find(bank_code, Face::Api)
    }

    /// The address of a bank's PSU pages.
    pub fn psu_address_of(&self, bank_code: &str) -> Option<SocketAddr> {
        self.find(bank_code, Face::Psu)
    }

    fn find(&self, bank_code: &str, face: Face) -> Option<SocketAddr> {
        self.bindings
            .iter()
            .find(|b| b.bank_code.as_deref() == Some(bank_code) && b.face == face)
            .map(|b| b.address)
    }

    /// Stops accepting, lets open connections finish their requests (for up to 10 s).
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }
}

/// Binds two listeners per bank, the API (mutual TLS) and the PSU's pages (`port` and
/// `psu_port` are the first bank's, the next banks take the following ports; 0 picks free
/// ports, as tests do), and starts serving.
pub async fn serve(
    state: SharedState,
    ip: IpAddr,
    port: u16,
    psu_port: u16,
) -> std::io::Result<Running> {
    let api = router(state.clone());
    let pages = psu_router(state.clone());
    let (shutdown, watcher) = watch::channel(false);
    let mut bindings = Vec::new();
    let mut tasks = Vec::new();
    let nth = |base: u16, i: usize| {
        if base == 0 {
            0
        } else {
            base.saturating_add(u16::try_from(i).unwrap_or(u16::MAX))
        }
    };
    let open_files = conn::raise_open_file_limit();
    let cap = conn::listener_cap(&state.edge, open_files, state.banks.len() * 2);
    tracing::info!(
        open_files,
        per_listener = cap,
        per_client = state.edge.max_connections_per_client,
        "connection caps"
    );
    for (i, bank) in state.banks.iter().enumerate() {
        for (face, base, app, tls) in [
            (Face::Api, port, api.clone(), state.security.tls.clone()),
            (
                Face::Psu,
                psu_port,
                pages.clone(),
                state.security.psu_tls.clone(),
            ),
        ] {
            let listener = bind(SocketAddr::new(ip, nth(base, i)))?;
            let address = listener.local_addr()?;
            let code = Some(bank.code().to_owned());
            bindings.push(Binding {
                bank_code: code.clone(),
                address,
                face,
            });
            let listening = Listening {
                acceptor: TlsAcceptor::from(tls),
                app,
                state: state.clone(),
                bank: ListenerBank(code),
                face,
                gate: Gate::new(cap, state.edge.max_connections_per_client),
            };
            tasks.push(tokio::spawn(accept_loop(
                listener,
                Arc::new(listening),
                watcher.clone(),
            )));
        }
    }
    Ok(Running {
        bindings,
        shutdown,
        tasks,
    })
}

/// A listening socket with a backlog for bursts of connections (the kernel caps it at
/// `net.core.somaxconn`).
fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = match address {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(4096)
}

/// What one listener serves, and to whom.
struct Listening {
    acceptor: TlsAcceptor,
    app: Router,
    state: SharedState,
    bank: ListenerBank,
    face: Face,
    gate: Arc<Gate>,
}

impl Listening {
    /// Sets the open-connections gauge of this listener (`api-17515`, `psu-17515`).
    fn count_open(&self) {
        let face = match self.face {
            Face::Api => "api",
            Face::Psu => "psu",
        };
        let label = format!("{face}-{}", self.bank.0.as_deref().unwrap_or("-"));
        let open = i64::try_from(self.gate.open()).unwrap_or(i64::MAX);
        self.state.metrics.connections_open(&label, open);
    }
}

/// Accepts connections until shutdown, turning away those beyond the caps at once. Each
/// admitted connection is served on its own task, so a slow client never holds up the others.
async fn accept_loop(
    listener: TcpListener,
    listening: Arc<Listening>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {
                listening.count_open();
                continue;
            }
        };
        let (stream, client) = match accepted {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let admission = match listening.gate.admit(client.ip()) {
            Ok(admission) => admission,
            Err(crowded) => {
                tracing::debug!(?crowded, client = %client.ip(), "connection refused: cap reached");
                listening.state.metrics.tls_refusal(match crowded {
                    conn::Crowded::Listener => "connection_cap",
                    conn::Crowded::Client => "client_cap",
                });
                drop(stream);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        connections.spawn(serve_connection(
            stream,
            client.ip(),
            listening.clone(),
            admission,
            shutdown.clone(),
        ));
        listening.count_open();
    }
    // Draining: no new connection (the listening socket closes now, so that new clients are
    // refused rather than left in the backlog); open ones finish the requests they are
    // answering, then close.
    drop(listener);
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(10), drain)
        .await
        .is_err()
    {
        connections.abort_all();
    }
}

/// The HTTP protocol the TLS handshake agreed on (ALPN); HTTP/1.1 without ALPN.
fn http_builder(
    tls: &tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    edge: &EdgeLimits,
) -> auto::Builder<TokioExecutor> {
    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
    let mut builder = auto::Builder::new(TokioExecutor::new());
    if h2 {
        builder = builder.http2_only();
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_header_list_size(u32::try_from(edge.parser_head_bytes()).unwrap_or(u32::MAX))
            .max_concurrent_streams(100);
    } else {
        builder = builder.http1_only();
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(edge.header_timeout())
            .max_headers(conn::PARSER_MAX_HEADERS)
            .max_buf_size(edge.parser_head_bytes());
    }
    builder
}

/// Handshakes and serves one connection; closes it when it presents no complete request head
/// within the header deadline, and when the server stops (after the requests in flight).
async fn serve_connection(
    stream: tokio::net::TcpStream,
    client: IpAddr,
    listening: Arc<Listening>,
    _admission: conn::Admission,
    mut shutdown: watch::Receiver<bool>,
) {
    let edge = &listening.state.edge;
    let tls =
        match tokio::time::timeout(edge.handshake_timeout(), listening.acceptor.accept(stream))
            .await
        {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "TLS handshake failed");
                listening.state.metrics.tls_refusal("handshake_failed");
                return;
            }
            Err(_) => {
                tracing::debug!("TLS handshake timed out");
                listening.state.metrics.tls_refusal("handshake_timeout");
                return;
            }
        };
    // The PSU's browser presents no certificate; only API connections are checked, and again
    // at each request when the trust list changed or the certificate expired.
    let peer = Arc::new(match listening.face {
        Face::Api => ConnectionPeer::new(
            tls.get_ref().1.peer_certificates(),
            listening.state.security.trust(),
            listening.state.now().as_second(),
        ),
        Face::Psu => ConnectionPeer::none(),
    });
    if let Some(reason) = peer
        .for_request(
            listening.state.security.trust(),
            listening.state.now().as_second(),
        )
        .refusal_reason()
        .filter(|_| listening.face == Face::Api)
    {
        listening.state.metrics.tls_refusal(reason);
    }
    let activity = Activity::new();
    let builder = http_builder(&tls, edge);
    let service = {
        let (listening, activity) = (listening.clone(), activity.clone());
        hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            let busy = activity.begin();
            let state = &listening.state;
            let extensions = request.extensions_mut();
            extensions.insert(listening.bank.clone());
            extensions.insert(peer.for_request(state.security.trust(), state.now().as_second()));
            extensions.insert(ClientAddr(client));
            let progress = activity.clone();
            let answer = listening.app.clone().oneshot(
                request.map(|body| axum::body::Body::new(ProgressBody::new(body, progress))),
            );
            async move {
                let response = answer.await?;
                Ok::<_, std::convert::Infallible>(response.map(|body| TrackedBody::new(body, busy)))
            }
        })
    };
    let connection = builder.serve_connection(TokioIo::new(tls), service);
    tokio::pin!(connection);
    let deadlines = edge.deadlines();
    // Once closing, how long the connection may still take: a moment to send its GOAWAY, or
    // the requests in flight when the server stops.
    let mut closing_until: Option<Instant> = None;
    loop {
        let wake = closing_until.unwrap_or_else(|| activity.deadline(deadlines));
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection closed with an error");
                }
                return;
            }
            _ = tokio::time::sleep_until(wake.into()) => {
                if closing_until.is_some() {
                    return;
                }
                if activity.deadline(deadlines) <= Instant::now() {
                    // No request head within the header deadline, or a request that stopped
                    // making progress (a slow body, a reader that stopped reading).
                    tracing::debug!(%client, busy = activity.is_busy(), "connection closed at its deadline");
                    connection.as_mut().graceful_shutdown();
                    closing_until = Some(Instant::now() + Duration::from_secs(1));
                }
            }
            _ = shutdown.changed(), if closing_until.is_none() => {
                connection.as_mut().graceful_shutdown();
                closing_until = Some(Instant::now() + Duration::from_secs(10));
            }
        }
    }
}
