//! What an API call reads before its handler runs, in as few round trips as the data allows.
//!
//! - The QSealCs a TPP registered, kept per process: the signature of every request needs them,
//!   and they change only through `/register`. The cached list is only a guess: the token's
//!   read ([`Store::access`]) confirms, in the same round trip, that the QSealC which verified
//!   the signature is still registered, so a QSealC removed on another instance is refused at
//!   the next request; a keyId the cached list lacks is looked up afresh.
//! - The access token, with the consent of its PSU to its TPP, in one query: both can be
//!   revoked at any moment on any instance, so both are read at every request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::consents::{CONSENT_COLUMNS, ConsentRecord, consent_row, fold_consent};
use crate::read::{Bound, Cols};
use crate::tokens::{TokenKind, TokenRecord, TokenSecret, token_record};
use crate::tpps::QsealRecord;
use crate::{Result, Store};

/// TPPs whose QSealC lists are kept at most (all forgotten at once beyond).
const MAX_CACHED_TPPS: usize = 10_000;

/// The per-process cache of registered QSealCs, by client id.
#[derive(Default)]
pub(crate) struct QsealCache(Mutex<HashMap<String, Arc<Vec<QsealRecord>>>>);

impl QsealCache {
    fn get(&self, client_id: &str) -> Option<Arc<Vec<QsealRecord>>> {
        self.0.lock().ok()?.get(client_id).cloned()
    }

    fn put(&self, client_id: &str, records: Arc<Vec<QsealRecord>>) {
        if let Ok(mut cache) = self.0.lock() {
            if cache.len() >= MAX_CACHED_TPPS {
                cache.clear();
            }
            cache.insert(client_id.to_owned(), records);
        }
    }

    pub(crate) fn forget(&self, client_id: &str) {
        if let Ok(mut cache) = self.0.lock() {
            cache.remove(client_id);
        }
    }
}

/// An access token as an API call finds it.
#[derive(Debug, Clone)]
pub struct Access {
    pub token: TokenRecord,
    /// Whether the QSealC given to [`Store::access`] is still registered to the token's TPP.
    pub seal_registered: bool,
    /// The consent of the token's PSU to its TPP at its bank, if one was forwarded.
    pub consent: Option<ConsentRecord>,
}

impl Store {
    /// The QSealCs a TPP registered, from this process's cache when it has them.
    pub async fn registered_qseals(&self, client_id: &str) -> Result<Arc<Vec<QsealRecord>>> {
        if let Some(records) = self.qseal_cache.get(client_id) {
            return Ok(records);
        }
        self.fresh_qseals(client_id).await
    }

    /// The QSealCs a TPP registered, read now (and kept for the next requests).
    pub async fn fresh_qseals(&self, client_id: &str) -> Result<Arc<Vec<QsealRecord>>> {
        let records = Arc::new(self.qseals(client_id).await?);
        self.qseal_cache.put(client_id, records.clone());
        Ok(records)
    }

    /// An access token of a bank with its consent, and whether `qseal_sha256` is still one of
    /// the QSealCs `client_id` (the TPP of the connection's QWAC) registered; none for an
    /// unknown token.
    pub async fn access(
        &self,
        secret: &TokenSecret,
        bank_code: &str,
        client_id: &str,
        qseal_sha256: &str,
    ) -> Result<Option<Access>> {
        let sql = format!(
            "SELECT t.family_id, t.bank_code, t.client_id, t.psu_id, t.scopes, t.issued_at, \
             t.expires_at, t.sca_at, t.revoked_at, t.cert_thumbprint, \
             CAST(CASE WHEN EXISTS (SELECT 1 FROM tpp_qseals q \
                 WHERE q.client_id = $4 AND q.sha256 = $5) THEN 1 ELSE 0 END AS BIGINT) \
               AS seal_registered, \
             {CONSENT_COLUMNS} \
             FROM tokens t \
             LEFT JOIN consents c \
               ON c.bank_code = t.bank_code AND c.psu_id = t.psu_id AND c.client_id = t.client_id \
             LEFT JOIN consent_accounts a \
               ON a.bank_code = c.bank_code AND a.psu_id = c.psu_id AND a.client_id = c.client_id \
             WHERE t.token_hash = $1 AND t.kind = $2 AND t.bank_code = $3"
        );
        let binds = [
            Bound::Text(secret.hash()),
            TokenKind::Access.as_str().into(),
            bank_code.into(),
            client_id.into(),
            qseal_sha256.into(),
        ];
        let rows = self
            .read_rows(&sql, &binds, |row: &dyn Cols| {
                Ok((
                    token_record(row)?,
                    row.int("seal_registered")? != 0,
                    consent_row(row)?,
                ))
            })
            .await?;
        let Some((token, seal_registered, _)) = rows.first().cloned() else {
            return Ok(None);
        };
        if !seal_registered {
            self.qseal_cache.forget(client_id);
        }
        let consent = fold_consent(rows.into_iter().map(|(_, _, row)| row).collect());
        Ok(Some(Access {
            token,
            seal_registered,
            consent,
        }))
    }
}
