//! The HTTP client that talks to the bank's OpenID provider: bounded in time (a slow provider
//! gives the PSU a page within `timeout_seconds`, never a hung request) and in size, no
//! redirects followed (openidconnect's advice: following them opens the client to SSRF), TLS
//! by rustls with the system's roots plus an optional CA file of the bank.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::time::Duration;

use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};

/// The most a discovery document, a JWKS or a token answer may weigh.
const MAX_ANSWER_BYTES: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{0}")]
    Transport(#[from] reqwest::Error),
    #[error("{0}")]
    Http(#[from] http::Error),
    #[error("the answer is larger than {MAX_ANSWER_BYTES} bytes")]
    TooLarge,
    /// A gateway's page rather than the provider's answer: the provider is not there.
    #[error("HTTP {0} without a JSON answer")]
    Unavailable(u16),
}

impl HttpError {
    /// Whether the provider could not be reached or did not answer in time.
    pub fn unreachable(&self) -> bool {
        match self {
            HttpError::Transport(e) => e.is_timeout() || e.is_connect() || e.is_request(),
            HttpError::Unavailable(_) => true,
            HttpError::Http(_) | HttpError::TooLarge => false,
        }
    }
}

/// The system's trusted roots, read once per process however many banks delegate SCA.
static SYSTEM_ROOTS: std::sync::LazyLock<rustls::RootCertStore> = std::sync::LazyLock::new(|| {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        // A system root the parser refuses is left out; the others still serve.
        let _ = roots.add(cert);
    }
    roots
});

#[derive(Clone, Debug)]
pub struct Http {
    client: reqwest::Client,
}

impl Http {
    pub fn new(timeout: Duration, ca_file: Option<&Path>) -> Result<Http, String> {
        let mut roots = SYSTEM_ROOTS.clone();
        if let Some(path) = ca_file {
            let named = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
            let pem = std::fs::read(path).map_err(|e| named(&e))?;
            for cert in rustls_pki_types::pem::PemObject::pem_slice_iter(&pem) {
                let cert: rustls_pki_types::CertificateDer<'static> =
                    cert.map_err(|e| named(&e))?;
                roots.add(cert).map_err(|e| named(&e))?;
            }
        }
        let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout)
            .timeout(timeout)
            .build()
            .map_err(|e| format!("the OpenID provider's HTTP client: {e}"))?;
        Ok(Http { client })
    }
}

impl<'c> AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request)?;
            let mut response = self.client.execute(request).await?;
            let status = response.status();
            let json = response
                .headers()
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("json"));
            // A 5xx or 429 with a JSON body is the provider's own error (RFC 6749 §5.2:
            // `temporarily_unavailable`…) and is read as such; any other is a proxy's or a
            // load balancer's page: the provider is unavailable.
            if (status.is_server_error() || status == http::StatusCode::TOO_MANY_REQUESTS) && !json
            {
                return Err(HttpError::Unavailable(status.as_u16()));
            }
            let mut answer = http::Response::builder().status(status);
            for (name, value) in response.headers() {
                answer = answer.header(name, value);
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await? {
                if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                    return Err(HttpError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(answer.body(body)?)
        })
    }
}
