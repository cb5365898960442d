//! The typed facts a request carries once the edge checked them, each read by an extractor
//! that refuses rather than degrades: the connection's verified QWAC ([`Qwac`]), the verified
//! HTTP signature ([`Signed`]), and the granted token ([`crate::auth::Grant`], which requires
//! both). A handler that takes a `Grant` cannot be reached unsigned or without a QWAC.

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::Extensions;
use axum::http::request::Parts;
use guichet_eidas::Psd2Certificate;

use crate::error::ApiError;
use crate::tls::{Peer, PeerRefusal};

/// The TPP's QWAC on this connection: trusted, valid now, not revoked, qcType web.
#[derive(Debug, Clone)]
pub struct Qwac(pub Arc<Psd2Certificate>);

impl Qwac {
    /// The QWAC the accept loop verified for this request, or why there is none.
    pub fn of(extensions: &Extensions) -> Result<Qwac, PeerRefusal> {
        match extensions.get::<Peer>() {
            Some(peer) => peer.0.as_ref().clone().map(Qwac),
            None => Err(PeerRefusal::NoCertificate),
        }
    }
}

impl Deref for Qwac {
    type Target = Psd2Certificate;

    fn deref(&self) -> &Psd2Certificate {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Qwac {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Qwac, ApiError> {
        Qwac::of(&parts.extensions).map_err(|refusal| ApiError::Unauthenticated(refusal.message()))
    }
}

/// A request whose HTTP signature verified, with the QSealC that signed it; put in place by
/// [`crate::signature::verify`].
#[derive(Debug, Clone)]
pub struct Signed {
    pub qseal: Arc<Psd2Certificate>,
}

impl<S: Send + Sync> FromRequestParts<S> for Signed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Signed, ApiError> {
        parts
            .extensions
            .get::<Signed>()
            .cloned()
            .ok_or_else(|| ApiError::SignatureRefused {
                message: "the request is not signed (Signature header)".into(),
                signing_string: None,
            })
    }
}
