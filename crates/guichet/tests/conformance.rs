//! `guichet conformance`, as a CI job runs it: against Guichet's own sandbox every case passes
//! (on SQLite and on PostgreSQL), and against a deliberately broken bank — an HTTPS proxy in
//! front of the sandbox that drops the `X-Request-ID` echo and answers 200 where the bank
//! answered 406 — exactly the matching cases fail and the exit status says so.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use guichet_store::Backend;
use guichet_store::testing::TestDatabase;
use guichet_tpp::conformance::Config;

fn wait_for_manifest(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && serde_json::from_str::<serde_json::Value>(&text).is_ok()
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} did not appear",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs the binary off the runtime's threads (the test's proxy keeps serving meanwhile).
async fn guichet(args: Vec<std::ffi::OsString>) -> Output {
    let joined = tokio::task::spawn_blocking(move || common::guichet().args(args).output()).await;
    match joined {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => panic!("cannot run guichet: {e}"),
        Err(e) => panic!("{e}"),
    }
}

fn text(output: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The ids of the JUnit test cases, and of those with a `<failure>`.
fn junit_cases(xml: &str) -> (Vec<String>, Vec<String>) {
    let mut all = Vec::new();
    let mut failed = Vec::new();
    for chunk in xml.split("<testcase ").skip(1) {
        let body = chunk.split("</testcase>").next().unwrap_or("");
        let name = chunk
            .split(" name=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or("")
            .to_owned();
        if body.contains("<failure") {
            failed.push(name.clone());
        }
        all.push(name);
    }
    (all, failed)
}

/// A sandbox on `backend`, the conformance run against it (every case passes), and the
/// configuration it wrote.
async fn all_pass(backend: Backend, name: &str) -> (TestDatabase, PathBuf, common::Server) {
    let db = TestDatabase::new(backend).await;
    let dir =
        std::env::temp_dir().join(format!("guichet-conformance-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let server = common::start(&dir, db.url.expose(), &dir.join("serve.log"));
    let manifest = dir.join("sandbox.json");
    wait_for_manifest(&manifest);
    let (junit, html, config) = (
        dir.join("conformance.xml"),
        dir.join("conformance.html"),
        dir.join("conformance.toml"),
    );
    let output = guichet(vec![
        "conformance".into(),
        "--from-sandbox".into(),
        manifest.into_os_string(),
        "--write-config".into(),
        config.clone().into_os_string(),
        "--junit".into(),
        junit.clone().into_os_string(),
        "--html".into(),
        html.clone().into_os_string(),
    ])
    .await;
    assert!(
        output.status.success(),
        "guichet conformance failed against the sandbox ({name}); server log in {}\n{}",
        dir.join("serve.log").display(),
        text(&output)
    );
    let xml = std::fs::read_to_string(&junit).unwrap_or_else(|e| panic!("{e}"));
    let (cases, failed) = junit_cases(&xml);
    assert!(cases.len() >= 25, "{} test cases:\n{xml}", cases.len());
    assert!(failed.is_empty(), "failed: {failed:?}\n{}", text(&output));
    assert!(xml.contains("failures=\"0\""), "{xml}");
    assert!(
        !xml.contains("<skipped"),
        "every case applies to the sandbox:\n{xml}"
    );
    let page = std::fs::read_to_string(&html).unwrap_or_else(|e| panic!("{e}"));
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("portal/accounts-before-consent"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("✓ portal/accounts-before-consent"),
        "{stdout}"
    );
    assert!(config.exists(), "--write-config wrote {}", config.display());
    (db, dir, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_passes_every_case_on_sqlite_and_a_broken_bank_fails_where_it_breaks() {
    let (_db, dir, _server) = all_pass(Backend::Sqlite, "sqlite").await;

    // The same banks behind the broken proxy: API, token and revocation endpoints go through
    // it; the PSU's pages (authorize) stay the bank's.
    let mut config = Config::load(&dir.join("conformance.toml")).unwrap_or_else(|e| panic!("{e}"));
    let (identity, ca) = common::identity(&dir);
    let upstream = identity.http_client(&ca).unwrap_or_else(|e| panic!("{e}"));
    let mut proxies = Vec::new();
    for bank in &mut config.banks {
        let origin = reqwest::Url::parse(&bank.api_base_url)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_else(|e| panic!("{e}"));
        let proxy =
            broken::BrokenBank::start(&dir.join("pki"), origin.clone(), upstream.clone()).await;
        for url in [
            &mut bank.api_base_url,
            &mut bank.token_url,
            &mut bank.revoke_url,
        ] {
            *url = url.replacen(&origin, &proxy.origin, 1);
        }
        proxies.push(proxy);
    }
    let broken_config = dir.join("broken.toml");
    config
        .save(&broken_config)
        .unwrap_or_else(|e| panic!("{e}"));
    let junit = dir.join("broken.xml");
    let output = guichet(vec![
        "conformance".into(),
        "--config".into(),
        broken_config.into_os_string(),
        "--junit".into(),
        junit.clone().into_os_string(),
    ])
    .await;
    assert!(
        !output.status.success(),
        "a broken bank must fail the run\n{}",
        text(&output)
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("cases failed"),
        "{}",
        text(&output)
    );
    let xml = std::fs::read_to_string(&junit).unwrap_or_else(|e| panic!("{e}"));
    let (cases, mut failed) = junit_cases(&xml);
    failed.sort();
    assert_eq!(
        failed,
        ["stet/1.4.2/media-type-406", "stet/1.4.2/x-request-id-echo"],
        "exactly the rules the proxy breaks fail\n{}",
        text(&output)
    );
    assert!(cases.iter().any(|c| c == "portal/accounts-before-consent"));
    assert!(
        xml.contains("X-Request-ID: "),
        "failures name the request: {xml}"
    );
    drop(proxies);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_passes_every_case_on_postgresql() {
    let (_db, dir, _server) = all_pass(Backend::Postgres, "postgres").await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// A deliberately broken bank: an HTTPS reverse proxy in front of a sandbox bank's API.
///
/// Mutual TLS cannot be passed through and altered, so the proxy terminates it: it presents the
/// sandbox's API server certificate (signed by the CA the TPP trusts), asks for a client
/// certificate and accepts any, reads each HTTP/1.1 request, and sends it on to the real bank
/// over its own mutual-TLS connection with the demo TPP's QWAC — the same QWAC the TPP uses,
/// so its tokens (bound to that certificate) and its signatures (over the request target and
/// headers, forwarded unchanged) stay valid. Two faults are added to the answers: the
/// `X-Request-ID` echo is dropped, and a 406 becomes a 200. Each answer closes its connection.
mod broken {
    use std::path::Path;
    use std::sync::Arc;

    use rustls::client::danger::HandshakeSignatureValid;
    use rustls::crypto::CryptoProvider;
    use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
    use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
    use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
    use tokio::net::TcpListener;
    use tokio_rustls::TlsAcceptor;

    /// Asks for a client certificate and accepts any (the handshake signature is still
    /// checked): the bank behind checks the proxy's own QWAC.
    #[derive(Debug)]
    struct AnyClientCertificate(Arc<CryptoProvider>);

    impl ClientCertVerifier for AnyClientCertificate {
        fn root_hint_subjects(&self) -> &[DistinguishedName] {
            &[]
        }

        fn verify_client_cert(
            &self,
            _end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _now: UnixTime,
        ) -> Result<ClientCertVerified, rustls::Error> {
            Ok(ClientCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }

    pub struct BrokenBank {
        /// `https://127.0.0.1:<port>`: use it in place of the bank's API origin.
        pub origin: String,
        task: tokio::task::JoinHandle<()>,
    }

    impl Drop for BrokenBank {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    impl BrokenBank {
        /// A proxy to `upstream` (the bank's API origin), reached with `client` (the demo
        /// TPP's mutual-TLS client), presenting the sandbox's server certificate from `pki`.
        pub async fn start(pki: &Path, upstream: String, client: reqwest::Client) -> BrokenBank {
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let certs: Vec<CertificateDer<'static>> =
                CertificateDer::pem_file_iter(pki.join("server/api.pem"))
                    .unwrap_or_else(|e| panic!("server certificate: {e}"))
                    .collect::<Result<_, _>>()
                    .unwrap_or_else(|e| panic!("server certificate: {e}"));
            let key = PrivateKeyDer::from_pem_file(pki.join("server/api.key"))
                .unwrap_or_else(|e| panic!("server key: {e}"));
            let tls = rustls::ServerConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .unwrap_or_else(|e| panic!("{e}"))
                .with_client_cert_verifier(Arc::new(AnyClientCertificate(provider)))
                .with_single_cert(certs, key)
                .unwrap_or_else(|e| panic!("{e}"));
            let acceptor = TlsAcceptor::from(Arc::new(tls));
            let listener = TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let port = listener
                .local_addr()
                .unwrap_or_else(|e| panic!("{e}"))
                .port();
            let task = tokio::spawn(async move {
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        continue;
                    };
                    let (acceptor, client, upstream) =
                        (acceptor.clone(), client.clone(), upstream.clone());
                    tokio::spawn(async move {
                        if let Ok(tls) = acceptor.accept(tcp).await {
                            let _ = relay(tls, &upstream, &client).await;
                        }
                    });
                }
            });
            BrokenBank {
                origin: format!("https://127.0.0.1:{port}"),
                task,
            }
        }
    }

    /// Headers that belong to one connection, not to the message.
    fn hop_by_hop(name: &str) -> bool {
        matches!(
            name,
            "host" | "content-length" | "connection" | "keep-alive" | "transfer-encoding"
        )
    }

    /// One request: read it, forward it, answer with the faults.
    async fn relay<S: AsyncRead + AsyncWrite + Unpin>(
        mut stream: S,
        upstream: &str,
        client: &reqwest::Client,
    ) -> std::io::Result<()> {
        let mut buffer = Vec::new();
        let mut chunk = vec![0u8; 16 * 1024];
        let head_end = loop {
            if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            let read = stream.read(&mut chunk).await?;
            if read == 0 {
                return Ok(());
            }
            buffer.extend_from_slice(&chunk[..read]);
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let mut request_line = lines.next().unwrap_or("").split(' ');
        let method = request_line.next().unwrap_or("GET").to_owned();
        let target = request_line.next().unwrap_or("/").to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        let length = headers
            .iter()
            .find(|(name, _)| name == "content-length")
            .and_then(|(_, value)| value.parse::<usize>().ok())
            .unwrap_or(0);
        let mut body = buffer[head_end..].to_vec();
        while body.len() < length {
            let read = stream.read(&mut chunk).await?;
            if read == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..read]);
        }
        body.truncate(length);

        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut request = client.request(method, format!("{upstream}{target}"));
        for (name, value) in &headers {
            if !hop_by_hop(name) {
                request = request.header(name.as_str(), value.as_str());
            }
        }
        if !body.is_empty() {
            request = request.body(body);
        }
        let (status, answer_headers, answer) = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                let bytes = response
                    .bytes()
                    .await
                    .map(|b| b.to_vec())
                    .unwrap_or_default();
                (status, headers, bytes)
            }
            Err(e) => (
                502,
                reqwest::header::HeaderMap::new(),
                e.to_string().into_bytes(),
            ),
        };

        // The faults: no X-Request-ID echo; 406 answered as 200.
        let status = if status == 406 { 200 } else { status };
        let reason = reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        let mut out = format!("HTTP/1.1 {status} {reason}\r\n");
        for (name, value) in &answer_headers {
            if name.as_str() == "x-request-id" || hop_by_hop(name.as_str()) {
                continue;
            }
            out.push_str(name.as_str());
            out.push_str(": ");
            out.push_str(&String::from_utf8_lossy(value.as_bytes()));
            out.push_str("\r\n");
        }
        let bodiless = status == 204 || status == 304;
        if !bodiless {
            out.push_str(&format!("content-length: {}\r\n", answer.len()));
        }
        out.push_str("connection: close\r\n\r\n");
        stream.write_all(out.as_bytes()).await?;
        if !bodiless {
            stream.write_all(&answer).await?;
        }
        stream.flush().await?;
        stream.shutdown().await
    }
}
