//! The baseline `guichet bench` measures the bank against: a static handler over the API
//! listener's own TLS stack (the same rustls configuration, mutual TLS with the client's
//! certificate asked for and its proof of possession checked, the same hyper server), with
//! and without the one RSA verification of the request's HTTP signature that every API call
//! needs. Whatever Guichet answers below this, it spends in its own pipeline.
//!
//! The baseline runs on a runtime and threads of its own, as the bank runs in a process of its
//! own, and listens on the loopback only.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub use axum::body::Bytes;
use guichet_eidas::Psd2Certificate;
use guichet_httpsig::{SignatureHeader, signing_string};
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::security::{Security, TlsConfig};

/// What the baseline serves, and how.
pub struct BaselineConfig {
    /// The API listener's TLS: its server certificate and the trust list whose subjects the
    /// handshake offers (as `guichet serve` is configured).
    pub tls: TlsConfig,
    /// The bytes of every answer (the bank's own answer to the measured request).
    pub body: Bytes,
    /// With a QSealC, each request's signature is verified with its public key before the
    /// answer (one RSA-2048 verification); a request that fails it is answered 400.
    pub verify_with: Option<Arc<Psd2Certificate>>,
    /// Worker threads (the bank's runtime has one per core).
    pub threads: usize,
}

/// A running baseline; stops when dropped.
pub struct Baseline {
    pub address: SocketAddr,
    refused: Arc<AtomicU64>,
    stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Baseline {
    /// Binds 127.0.0.1 on a free port and serves on threads of its own.
    pub fn start(config: BaselineConfig) -> anyhow::Result<Baseline> {
        let security = Security::load(&config.tls)?;
        let acceptor = TlsAcceptor::from(security.tls.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.threads.max(1))
            .enable_all()
            .build()?;
        let (stop, stopped) = watch::channel(false);
        let refused = Arc::new(AtomicU64::new(0));
        let handler = Arc::new(Handler {
            body: config.body,
            verify_with: config.verify_with,
            refused: refused.clone(),
        });
        let thread = std::thread::Builder::new()
            .name("bench-baseline".into())
            .spawn(move || {
                runtime.block_on(async move {
                    if let Ok(listener) = tokio::net::TcpListener::from_std(listener) {
                        accept_loop(listener, acceptor, handler, stopped).await;
                    }
                });
            })?;
        Ok(Baseline {
            address,
            refused,
            stop,
            thread: Some(thread),
        })
    }

    /// Requests whose signature did not verify (must stay 0: the client signs correctly).
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

impl Drop for Baseline {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    acceptor: TlsAcceptor,
    handler: Arc<Handler>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                connections.spawn(serve(stream, acceptor.clone(), handler.clone()));
            }
            _ = stopped.changed() => break,
        }
    }
    connections.abort_all();
}

async fn serve(stream: tokio::net::TcpStream, acceptor: TlsAcceptor, handler: Arc<Handler>) {
    let Ok(tls) = acceptor.accept(stream).await else {
        return;
    };
    let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
        let handler = handler.clone();
        async move { Ok::<_, std::convert::Infallible>(handler.answer(&request)) }
    });
    let _ = auto::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(tls), service)
        .await;
}

struct Handler {
    body: Bytes,
    verify_with: Option<Arc<Psd2Certificate>>,
    refused: Arc<AtomicU64>,
}

impl Handler {
    fn answer<B>(&self, request: &Request<B>) -> Response<Full<Bytes>> {
        let status = match &self.verify_with {
            Some(qseal) if !verifies(qseal, request) => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                StatusCode::BAD_REQUEST
            }
            _ => StatusCode::OK,
        };
        let mut response = Response::new(Full::new(self.body.clone()));
        *response.status_mut() = status;
        response.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/hal+json"),
        );
        response
    }
}

/// The request's signature, checked as the bank checks it (parse, signing string, verify).
fn verifies<B>(qseal: &Psd2Certificate, request: &Request<B>) -> bool {
    let Some(header) = request.headers().get("signature") else {
        return false;
    };
    let Ok(header) = SignatureHeader::parse(&String::from_utf8_lossy(header.as_bytes())) else {
        return false;
    };
    let target = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_owned(),
        |pq| pq.as_str().to_owned(),
    );
    let source: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let Ok(text) = signing_string(
        request.method().as_str(),
        &target,
        &header.headers,
        source.as_slice(),
    ) else {
        return false;
    };
    qseal.public_key.verify(&header, &text).is_ok()
}
