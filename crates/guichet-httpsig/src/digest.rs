//! The RFC 3230 instance digest: `Digest: SHA-256=<base64 of the body's SHA-256>`.

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::SigError;

/// The digest of an empty body.
pub const EMPTY_BODY_DIGEST: &str = "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

pub fn digest_header(body: &[u8]) -> String {
    format!("SHA-256={}", STANDARD.encode(digest(&SHA256, body)))
}

/// Checks a `Digest` value against the raw body bytes. Only SHA-256 is accepted; the algorithm
/// token is compared without regard to case, as some TPPs send `sha-256=`. Several
/// comma-separated digests are allowed; the SHA-256 one must be present and match.
pub fn check_digest(value: &str, body: &[u8]) -> Result<(), SigError> {
    let mut found = false;
    for item in value.split(',') {
        let Some((algorithm, encoded)) = item.trim().split_once('=') else {
            return Err(SigError::DigestMalformed);
        };
        if !algorithm.trim().eq_ignore_ascii_case("SHA-256") {
            continue;
        }
        found = true;
        let expected = STANDARD
            .decode(encoded.trim())
            .map_err(|_| SigError::DigestMalformed)?;
        if expected.as_slice() != digest(&SHA256, body).as_ref() {
            return Err(SigError::DigestMismatch);
        }
    }
    if found {
        Ok(())
    } else {
        Err(SigError::DigestMalformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_empty_body_has_the_well_known_digest() {
        assert_eq!(digest_header(b""), EMPTY_BODY_DIGEST);
        assert_eq!(check_digest(EMPTY_BODY_DIGEST, b""), Ok(()));
        assert_eq!(
            check_digest("sha-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", b""),
            Ok(())
        );
    }

    #[test]
    fn a_changed_body_or_a_bad_value_is_refused() {
        assert_eq!(
            check_digest(&digest_header(b"{}"), b"{ }"),
            Err(SigError::DigestMismatch)
        );
        assert_eq!(check_digest("MD5=abc", b""), Err(SigError::DigestMalformed));
        assert_eq!(
            check_digest("SHA-256=***", b""),
            Err(SigError::DigestMalformed)
        );
        assert_eq!(check_digest("garbage", b""), Err(SigError::DigestMalformed));
    }

    proptest! {
        #[test]
        fn every_body_checks_against_its_own_digest(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            prop_assert_eq!(check_digest(&digest_header(&body), &body), Ok(()));
        }

        #[test]
        fn any_value_is_answered_without_panic(value in "\\PC{0,120}") {
            let _ = check_digest(&value, b"body");
        }
    }
}
