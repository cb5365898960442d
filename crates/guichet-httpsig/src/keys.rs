//! Keys: verifying with a certificate's public key, signing with a TPP's or a bank's private key.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self, ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair,
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RSA_PSS_2048_8192_SHA512, RSA_PSS_SHA512,
    RsaKeyPair, UnparsedPublicKey,
};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;

use crate::SigError;
use crate::header::SignatureHeader;
use crate::signing_string::signing_string;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Rsa,
    EcdsaP256,
}

/// A public key as a certificate carries it: the content of SubjectPublicKeyInfo's BIT STRING
/// (an RSAPublicKey for RSA, an uncompressed point for P-256).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyingKey {
    pub kind: KeyKind,
    pub bytes: Vec<u8>,
}

impl VerifyingKey {
    /// Verifies a parsed Signature header over a signing string. `rsa-sha256` is RSASSA-PKCS1
    /// v1.5 with SHA-256; `hs2019` is RSASSA-PSS with SHA-512 for an RSA key and ECDSA P-256
    /// with SHA-256 for an EC key; without `algorithm`, the key decides (draft-cavage-12 §2.5).
    pub fn verify(&self, header: &SignatureHeader, signing_string: &str) -> Result<(), SigError> {
        let algorithm: &'static dyn signature::VerificationAlgorithm =
            match (header.algorithm.as_deref(), self.kind) {
                (Some("rsa-sha256") | None, KeyKind::Rsa) => &RSA_PKCS1_2048_8192_SHA256,
                (Some("hs2019"), KeyKind::Rsa) => &RSA_PSS_2048_8192_SHA512,
                (Some("hs2019") | Some("ecdsa-sha256") | None, KeyKind::EcdsaP256) => {
                    &ECDSA_P256_SHA256_ASN1
                }
                (Some(name @ ("rsa-sha256" | "ecdsa-sha256")), _) => {
                    return Err(SigError::AlgorithmMismatch(name.to_owned()));
                }
                (Some(other), _) => {
                    return Err(SigError::UnsupportedAlgorithm(
                        other.chars().take(30).collect(),
                    ));
                }
            };
        UnparsedPublicKey::new(algorithm, &self.bytes)
            .verify(signing_string.as_bytes(), &header.signature)
            .map_err(|_| SigError::BadSignature)
    }
}

/// A private key that signs requests (a TPP's QSealC key) or responses (the bank's).
pub enum SigningKey {
    Rsa(RsaKeyPair),
    EcdsaP256(EcdsaKeyPair),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SigningKey::Rsa(_) => "SigningKey::Rsa(*****)",
            SigningKey::EcdsaP256(_) => "SigningKey::EcdsaP256(*****)",
        })
    }
}

impl SigningKey {
    /// Reads a PEM private key: PKCS#8 (RSA or P-256), PKCS#1 RSA, or SEC1 P-256.
    pub fn from_pem(pem: &[u8]) -> Result<SigningKey, SigError> {
        let key = PrivateKeyDer::from_pem_slice(pem)
            .map_err(|e| SigError::BadKey(format!("no private key in the PEM: {e}")))?;
        match key {
            PrivateKeyDer::Pkcs8(der) => RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
                .map(SigningKey::Rsa)
                .or_else(|_| {
                    EcdsaKeyPair::from_pkcs8(
                        &ECDSA_P256_SHA256_ASN1_SIGNING,
                        der.secret_pkcs8_der(),
                    )
                    .map(SigningKey::EcdsaP256)
                })
                .map_err(|_| SigError::BadKey("a PKCS#8 key that is neither RSA nor P-256".into())),
            PrivateKeyDer::Pkcs1(der) => RsaKeyPair::from_der(der.secret_pkcs1_der())
                .map(SigningKey::Rsa)
                .map_err(|e| SigError::BadKey(e.to_string())),
            PrivateKeyDer::Sec1(der) => EcdsaKeyPair::from_private_key_der(
                &ECDSA_P256_SHA256_ASN1_SIGNING,
                der.secret_sec1_der(),
            )
            .map(SigningKey::EcdsaP256)
            .map_err(|e| SigError::BadKey(e.to_string())),
            _ => Err(SigError::BadKey("unsupported private key format".into())),
        }
    }

    /// The algorithm name this key signs with: STET's `rsa-sha256` for RSA, `hs2019` for P-256.
    pub fn algorithm(&self) -> &'static str {
        match self {
            SigningKey::Rsa(_) => "rsa-sha256",
            SigningKey::EcdsaP256(_) => "hs2019",
        }
    }

    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>, SigError> {
        let rng = SystemRandom::new();
        match self {
            SigningKey::Rsa(key) => {
                let mut out = vec![0; key.public_modulus_len()];
                key.sign(&RSA_PKCS1_SHA256, &rng, data, &mut out)
                    .map_err(|_| SigError::BadKey("RSA signing failed".into()))?;
                Ok(out)
            }
            SigningKey::EcdsaP256(key) => key
                .sign(&rng, data)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| SigError::BadKey("ECDSA signing failed".into())),
        }
    }

    /// Signs with RSASSA-PSS SHA-512 (`hs2019` for an RSA key), for interoperability tests.
    pub fn sign_pss(&self, data: &[u8]) -> Result<Vec<u8>, SigError> {
        match self {
            SigningKey::Rsa(key) => {
                let mut out = vec![0; key.public_modulus_len()];
                key.sign(&RSA_PSS_SHA512, &SystemRandom::new(), data, &mut out)
                    .map_err(|_| SigError::BadKey("RSA-PSS signing failed".into()))?;
                Ok(out)
            }
            SigningKey::EcdsaP256(_) => Err(SigError::AlgorithmMismatch("hs2019 RSA-PSS".into())),
        }
    }

    /// The matching public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        match self {
            SigningKey::Rsa(key) => VerifyingKey {
                kind: KeyKind::Rsa,
                bytes: key.public_key().as_ref().to_vec(),
            },
            SigningKey::EcdsaP256(key) => VerifyingKey {
                kind: KeyKind::EcdsaP256,
                bytes: key.public_key().as_ref().to_vec(),
            },
        }
    }
}

/// Signs requests (or responses) under one keyId.
#[derive(Debug)]
pub struct Signer {
    pub key_id: String,
    pub key: SigningKey,
}

impl Signer {
    /// The `Signature` header value over the given headers, in order. `target` is
    /// `Some((method, path_and_query))` for a request (adding `(request-target)` first) and
    /// `None` for a response.
    pub fn sign(
        &self,
        target: Option<(&str, &str)>,
        headers: &[(String, String)],
    ) -> Result<String, SigError> {
        let mut names: Vec<String> = Vec::with_capacity(headers.len() + 1);
        if target.is_some() {
            names.push("(request-target)".to_owned());
        }
        for (name, _) in headers {
            let name = name.to_ascii_lowercase();
            if !names.contains(&name) {
                names.push(name);
            }
        }
        let (method, path) = target.unwrap_or(("", ""));
        let text = signing_string(method, path, &names, headers)?;
        let signature = self.key.sign(text.as_bytes())?;
        Ok(SignatureHeader::render(
            &self.key_id,
            self.key.algorithm(),
            &names,
            &signature,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn vector_key() -> VerifyingKey {
        // The vector's public key, from the SubjectPublicKeyInfo of qwac.pub (RSA-2048: the
        // RSAPublicKey starts after the 24-byte SPKI header).
        let pem = include_str!("../tests/vectors/qwac.pub");
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let spki = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap_or_default();
        VerifyingKey {
            kind: KeyKind::Rsa,
            bytes: spki[24..].to_vec(),
        }
    }

    #[test]
    fn the_shared_vector_verifies() -> Result<(), SigError> {
        let headers = include_str!("../tests/vectors/example_headers.txt");
        let value = headers
            .lines()
            .find_map(|l| l.strip_prefix("Signature: "))
            .unwrap_or_default();
        let header = SignatureHeader::parse(value)?;
        let text = include_str!("../tests/vectors/signing_string.txt");
        vector_key().verify(&header, text)?;
        assert_eq!(
            vector_key().verify(&header, &text.replace("443", "444")),
            Err(SigError::BadSignature)
        );
        let mut wrong = header.clone();
        wrong.algorithm = Some("hs2019".into());
        assert_eq!(
            vector_key().verify(&wrong, text),
            Err(SigError::BadSignature)
        );
        wrong.algorithm = Some("hmac-sha256".into());
        assert!(matches!(
            vector_key().verify(&wrong, text),
            Err(SigError::UnsupportedAlgorithm(_))
        ));
        Ok(())
    }

    #[test]
    fn a_signer_signs_what_a_verifier_accepts() -> Result<(), SigError> {
        let key = SigningKey::from_pem(include_bytes!("../tests/vectors/qwac.key"))?;
        let public = key.verifying_key();
        assert_eq!(public, vector_key());
        let signer = Signer {
            key_id: "k_00".into(),
            key,
        };
        let headers = vec![
            ("Digest".to_owned(), crate::digest_header(b"")),
            ("X-Request-ID".to_owned(), "r1".to_owned()),
        ];
        let value = signer.sign(Some(("GET", "/stet/psd2/v1.4.2/accounts")), &headers)?;
        let parsed = SignatureHeader::parse(&value)?;
        assert_eq!(
            parsed.headers,
            ["(request-target)", "digest", "x-request-id"]
        );
        let text = signing_string(
            "GET",
            "/stet/psd2/v1.4.2/accounts",
            &parsed.headers,
            headers.as_slice(),
        )?;
        public.verify(&parsed, &text)?;
        let other_path = signing_string(
            "GET",
            "/stet/psd2/v1.4.2/consents",
            &parsed.headers,
            headers.as_slice(),
        )?;
        assert_eq!(
            public.verify(&parsed, &other_path),
            Err(SigError::BadSignature)
        );
        Ok(())
    }

    #[test]
    fn ecdsa_keys_sign_with_hs2019() -> Result<(), SigError> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .map_err(|_| SigError::BadKey("gen".into()))?;
        let key = SigningKey::EcdsaP256(
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())
                .map_err(|_| SigError::BadKey("load".into()))?,
        );
        let public = key.verifying_key();
        let signer = Signer {
            key_id: "ec".into(),
            key,
        };
        let headers = vec![("X-Request-ID".to_owned(), "r".to_owned())];
        let parsed = SignatureHeader::parse(&signer.sign(Some(("GET", "/")), &headers)?)?;
        assert_eq!(parsed.algorithm.as_deref(), Some("hs2019"));
        let text = signing_string("GET", "/", &parsed.headers, headers.as_slice())?;
        public.verify(&parsed, &text)?;
        let mut as_rsa = parsed.clone();
        as_rsa.algorithm = Some("rsa-sha256".into());
        assert_eq!(
            public.verify(&as_rsa, &text),
            Err(SigError::AlgorithmMismatch("rsa-sha256".into()))
        );
        Ok(())
    }
}
