//! The application: the router, the listeners, the accept loop.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::middleware;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::state::{ListenerBank, SharedState};
use crate::tls::Peer;
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
    oauth::api_router().with_state(state).fallback_service(stet)
}

/// The PSU's pages (authorize, SCA, access management, fallback login, App2App files).
pub fn psu_router(state: SharedState) -> Router {
    oauth::psu_router().with_state(state)
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
            let listener = TcpListener::bind((ip, nth(base, i))).await?;
            let address = listener.local_addr()?;
            let code = Some(bank.code().to_owned());
            bindings.push(Binding {
                bank_code: code.clone(),
                address,
                face,
            });
            tasks.push(tokio::spawn(accept_loop(
                listener,
                TlsAcceptor::from(tls),
                app,
                state.clone(),
                ListenerBank(code),
                face,
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

/// How long a client may take to complete its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts connections until shutdown. Each connection is handshaken and served on its own
/// task, so a slow client never holds up the others; the connection's facts (the listener's
/// bank, the checked client certificate) are attached to each of its requests.
async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    app: Router,
    state: SharedState,
    bank: ListenerBank,
    face: Face,
    mut shutdown: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    let builder = Arc::new(auto::Builder::new(TokioExecutor::new()));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => break,
        };
        let (stream, _peer) = match accepted {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (app, bank, acceptor, state, builder) = (
            app.clone(),
            bank.clone(),
            acceptor.clone(),
            state.clone(),
            builder.clone(),
        );
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!("TLS handshake timed out");
                    return;
                }
            };
            // The PSU's browser presents no certificate; only API connections are checked.
            let peer = match face {
                Face::Api => Peer::check(
                    tls.get_ref().1.peer_certificates(),
                    &state.security.trust(),
                    state.now().as_second(),
                ),
                Face::Psu => Peer::absent(),
            };
            let service = hyper::service::service_fn(
                move |mut request: hyper::Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(bank.clone());
                    request.extensions_mut().insert(peer.clone());
                    app.clone().oneshot(request.map(axum::body::Body::new))
                },
            );
            let connection = builder
                .serve_connection_with_upgrades(TokioIo::new(tls), service)
                .into_owned();
            if let Err(e) = watcher.watch(connection).await {
                tracing::debug!(error = %e, "connection closed with an error");
            }
        });
    }
    let _ = tokio::time::timeout(Duration::from_secs(10), graceful.shutdown()).await;
}
