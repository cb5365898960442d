//! The provider's discovery document and JWKS, kept per process. Fetched again once older than
//! `metadata_refresh_seconds`; while the provider cannot be reached, the last copy serves for a
//! day at most (a key the provider withdrew must not stay trusted for ever), and a failed fetch
//! is not retried for [`RETRY_SECONDS`], so that an outage answers PSUs at once rather than
//! queueing them behind one timeout each.

use std::sync::{Arc, Mutex};

use openidconnect::IssuerUrl;
use openidconnect::core::{CoreJsonWebKeySet, CoreProviderMetadata};

use super::http::Http;
use super::{Failure, chain};

/// How long a failed fetch is not tried again.
const RETRY_SECONDS: i64 = 30;
/// How long past its refresh a copy may serve while the provider cannot be reached.
const STALE_SECONDS: i64 = 86_400;

#[derive(Default)]
struct Kept {
    metadata: Option<Arc<CoreProviderMetadata>>,
    fetched_at: i64,
    failed_at: Option<i64>,
}

pub(super) struct MetadataCache {
    issuer: IssuerUrl,
    refresh_seconds: i64,
    kept: Mutex<Kept>,
    /// One fetch at a time: the others wait for its outcome rather than fetch too.
    fetching: tokio::sync::Mutex<()>,
}

enum Verdict {
    Use(Arc<CoreProviderMetadata>),
    Refuse(Failure),
    Fetch,
}

impl MetadataCache {
    pub(super) fn new(issuer: IssuerUrl, refresh_seconds: u64) -> MetadataCache {
        MetadataCache {
            issuer,
            refresh_seconds: i64::try_from(refresh_seconds).unwrap_or(i64::MAX),
            kept: Mutex::new(Kept::default()),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    fn judge(&self, now: i64) -> Verdict {
        let Ok(kept) = self.kept.lock() else {
            return Verdict::Fetch;
        };
        let age = now - kept.fetched_at;
        let usable = kept
            .metadata
            .clone()
            .filter(|_| age < self.refresh_seconds.saturating_add(STALE_SECONDS));
        match (&kept.metadata, kept.failed_at) {
            (Some(metadata), _) if age < self.refresh_seconds => Verdict::Use(metadata.clone()),
            (_, Some(failed)) if now - failed < RETRY_SECONDS => match usable {
                Some(stale) => Verdict::Use(stale),
                None => Verdict::Refuse(Failure::Unavailable(
                    "the provider failed to answer less than 30 s ago".into(),
                )),
            },
            _ => Verdict::Fetch,
        }
    }

    /// The metadata to use at `now`.
    pub(super) async fn get(
        &self,
        http: &Http,
        now: i64,
    ) -> Result<Arc<CoreProviderMetadata>, Failure> {
        match self.judge(now) {
            Verdict::Use(metadata) => return Ok(metadata),
            Verdict::Refuse(failure) => return Err(failure),
            Verdict::Fetch => {}
        }
        let _one = self.fetching.lock().await;
        match self.judge(now) {
            Verdict::Use(metadata) => return Ok(metadata),
            Verdict::Refuse(failure) => return Err(failure),
            Verdict::Fetch => {}
        }
        let fetched = CoreProviderMetadata::discover_async(self.issuer.clone(), http).await;
        let Ok(mut kept) = self.kept.lock() else {
            return Err(Failure::Unavailable("the metadata cache".into()));
        };
        match fetched {
            Ok(metadata) => {
                let metadata = Arc::new(metadata);
                *kept = Kept {
                    metadata: Some(metadata.clone()),
                    fetched_at: now,
                    failed_at: None,
                };
                Ok(metadata)
            }
            Err(e) => {
                kept.failed_at = Some(now);
                let detail = format!("discovery of {}: {}", self.issuer.as_str(), chain(&e));
                let age = now - kept.fetched_at;
                match kept
                    .metadata
                    .clone()
                    .filter(|_| age < self.refresh_seconds.saturating_add(STALE_SECONDS))
                {
                    Some(stale) => {
                        tracing::warn!(detail, "the OpenID provider's metadata is kept stale");
                        Ok(stale)
                    }
                    None => Err(Failure::Unavailable(detail)),
                }
            }
        }
    }

    /// The JWKS fetched again into the kept metadata: a token was signed with a key the set
    /// `metadata` holds lacks (the provider rotated its keys). The discovery document itself is
    /// kept as it was, with its age. Callbacks that meet the new key at once fetch it once:
    /// the others wait, then take the copy kept since they read theirs. Answers the key set,
    /// and whether it was fetched by this call.
    pub(super) async fn refresh_keys(
        &self,
        http: &Http,
        metadata: &Arc<CoreProviderMetadata>,
    ) -> Result<(Arc<CoreProviderMetadata>, bool), Failure> {
        let _one = self.fetching.lock().await;
        if let Some(newer) = self.kept.lock().ok().and_then(|kept| {
            kept.metadata
                .clone()
                .filter(|kept| !Arc::ptr_eq(kept, metadata))
        }) {
            return Ok((newer, false));
        }
        let keys = CoreJsonWebKeySet::fetch_async(metadata.jwks_uri(), http)
            .await
            .map_err(|e| Failure::Unavailable(format!("the provider's JWKS: {}", chain(&e))))?;
        let Ok(mut kept) = self.kept.lock() else {
            return Err(Failure::Unavailable("the metadata cache".into()));
        };
        let current = kept
            .metadata
            .as_deref()
            .cloned()
            .unwrap_or_else(|| CoreProviderMetadata::clone(metadata));
        let renewed = Arc::new(current.set_jwks(keys));
        kept.metadata = Some(renewed.clone());
        Ok((renewed, true))
    }
}
