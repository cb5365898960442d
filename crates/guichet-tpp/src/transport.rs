//! Signing and sending requests.

use guichet_httpsig::{Signer, stet_sign};
use guichet_stet::register::{Registration, RegistrationAnswer};
use reqwest::header::HeaderValue;

use crate::identity::TppIdentity;

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("signing: {0}")]
    Signing(#[from] guichet_httpsig::SigError),
    #[error("network: {0}")]
    Network(#[from] reqwest::Error),
    #[error("the bank answered {status}: {message}")]
    Refused { status: u16, message: String },
}

/// A fresh X-Request-ID (a random UUID-like identifier).
pub fn new_request_id() -> String {
    use aws_lc_rs::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    let _ = aws_lc_rs::rand::SystemRandom::new().fill(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Adds `Digest` and `Signature` to a built request, signing `(request-target)`, `digest`,
/// `x-request-id`, `date` if present and every `PSU-*` header.
pub fn sign_request(request: &mut reqwest::Request, signer: &Signer) -> Result<(), TransportError> {
    let body = request
        .body()
        .and_then(|b| b.as_bytes())
        .unwrap_or(b"")
        .to_vec();
    let target = match request.url().query() {
        Some(query) => format!("{}?{query}", request.url().path()),
        None => request.url().path().to_owned(),
    };
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let (digest, signature) =
        stet_sign(signer, request.method().as_str(), &target, &headers, &body)?;
    let headers = request.headers_mut();
    for (name, value) in [("digest", digest), ("signature", signature)] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    Ok(())
}

/// Registers (or updates) the TPP at a bank's `origin` (`https://host:port`), sending its QSealC.
pub async fn register(
    client: &reqwest::Client,
    origin: &str,
    identity: &TppIdentity,
    name: &str,
    contacts: &[String],
    redirect_uris: &[String],
) -> Result<RegistrationAnswer, TransportError> {
    let body = Registration {
        client_name: name.to_owned(),
        contacts: contacts.to_vec(),
        redirect_uris: redirect_uris.to_vec(),
        qseal_certificates: vec![identity.qseal_pem.clone()],
    };
    let response = client
        .post(format!("{origin}/register"))
        .header("X-Request-ID", new_request_id())
        .json(&body)
        .send()
        .await?;
    let status = response.status().as_u16();
    if !(200..300).contains(&status) {
        let value: serde_json::Value = response.json().await.unwrap_or_default();
        return Err(TransportError::Refused {
            status,
            message: value["message"].as_str().unwrap_or("").to_owned(),
        });
    }
    Ok(response.json().await?)
}
