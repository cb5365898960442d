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
use std::sync::{Arc, LazyLock, Mutex};

use crate::access_batch::{AccessAsked, Accounts};
use crate::accounts::{AccountRecord, BalanceRecord, account, joined_balance};
use crate::consents::{ConsentRecord, ConsentRow, consent_row, fold_consent};
use crate::read::{Bound, Cols};
use crate::tokens::{TokenRecord, TokenSecret, token_record};
use crate::tpps::QsealRecord;
use crate::{Result, Store};

/// Where a token's query finds its token and what the request gave: the token by its bound
/// parameters when it is read alone; when read with others, the tokens of the batch found
/// once for both branches of the query (`f`, [`crate::access_batch`]), each with what its
/// request gave.
pub(crate) struct Given {
    /// The tokens (`t`) the branches start from.
    pub tokens: &'static str,
    /// The condition that picks the token asked for among `tokens`, if they are not only those.
    pub condition: Option<&'static str>,
    pub client_id: &'static str,
    pub qseal_sha256: &'static str,
    pub balance_type: &'static str,
}

/// `$1`…`$6`: a token read alone.
pub(crate) const ALONE: Given = Given {
    tokens: "tokens t",
    condition: Some("t.token_hash = $1 AND t.kind = $2 AND t.bank_code = $3"),
    client_id: "$4",
    qseal_sha256: "$5",
    balance_type: "$6",
};

/// The token, whether the QSealC is registered to the client, and the consent (one row per
/// granted account and operation).
fn token_columns(given: &Given) -> String {
    let Given {
        client_id,
        qseal_sha256,
        ..
    } = given;
    format!(
        "{TOKEN_COLUMNS}, {}, \
         c.psu_identity, c.trusted_beneficiaries, c.updated_at, a.account_id, a.operation, \
         s.stamp AS access_stamp",
        seal_registered(client_id, qseal_sha256)
    )
}

/// The token's own columns, as `token_record` reads them: also those a batch's tokens carry
/// (`access_batch`), which its branches read.
pub(crate) const TOKEN_COLUMNS: &str = "t.family_id, t.bank_code, t.client_id, t.psu_id, \
     t.scopes, t.issued_at, t.expires_at, t.sca_at, t.revoked_at, t.cert_thumbprint";

/// Whether the QSealC `seal` is registered to `client`: 1 or 0, as `seal_registered`.
pub(crate) fn seal_registered(client: &str, seal: &str) -> String {
    format!(
        "CAST(CASE WHEN EXISTS (SELECT 1 FROM tpp_qseals q \
           WHERE q.client_id = {client} AND q.sha256 = {seal}) THEN 1 ELSE 0 END AS BIGINT) \
         AS seal_registered"
    )
}

/// ` WHERE` the condition that picks the token, if any.
fn token_filter(given: &Given) -> String {
    given
        .condition
        .map(|condition| format!(" WHERE {condition}"))
        .unwrap_or_default()
}

/// `FROM` the token asked for, with its consent and its PSU's access stamp (migration 0012).
fn token_from(given: &Given) -> String {
    format!(
        "FROM {} LEFT JOIN consents c \
           ON c.bank_code = t.bank_code AND c.psu_id = t.psu_id AND c.client_id = t.client_id \
         LEFT JOIN consent_accounts a \
           ON a.bank_code = c.bank_code AND a.psu_id = c.psu_id AND a.client_id = c.client_id \
         LEFT JOIN access_stamps s \
           ON s.bank_code = t.bank_code AND s.psu_id = COALESCE(t.psu_id, ''){}",
        given.tokens,
        token_filter(given)
    )
}

/// The accounts of the token's PSU with their balance of the given type, in the columns the
/// account and joined-balance mappings read; NULL where [`token_columns`] has no counterpart.
fn account_branch(given: &Given) -> String {
    let balance_type = given.balance_type;
    format!(
        "SELECT 'A' AS kind, NULL AS family_id, acc.bank_code, NULL AS client_id, \
     acc.psu_id, NULL AS scopes, NULL AS issued_at, NULL AS expires_at, NULL AS sca_at, \
     NULL AS revoked_at, NULL AS cert_thumbprint, NULL AS seal_registered, NULL AS psu_identity, \
     NULL AS trusted_beneficiaries, NULL AS updated_at, NULL AS account_id, NULL AS operation, \
     NULL AS access_stamp, acc.resource_id, acc.iban, acc.currency, acc.name, acc.details, acc.usage, \
     acc.cash_account_type, acc.product, acc.psu_status, acc.company_scheme, acc.company_id, \
     acc.segment, acc.eligible, acc.position, acc.operations_stamp, b.balance_type, b.name AS balance_name, \
     b.amount_minor, b.currency AS balance_currency, b.reference_date, b.last_change, \
     b.last_committed \
     FROM {} JOIN accounts acc ON acc.bank_code = t.bank_code AND acc.psu_id = t.psu_id \
     LEFT JOIN balances b \
       ON b.bank_code = acc.bank_code AND b.account_id = acc.resource_id AND b.balance_type = {balance_type}{}",
        given.tokens,
        token_filter(given)
    )
}

/// The NULL account and balance columns of the token branch.
const NO_ACCOUNT: &str = "NULL AS resource_id, NULL AS iban, NULL AS currency, NULL AS name, \
     NULL AS details, NULL AS usage, NULL AS cash_account_type, NULL AS product, \
     NULL AS psu_status, NULL AS company_scheme, NULL AS company_id, NULL AS segment, \
     NULL AS eligible, NULL AS position, NULL AS operations_stamp, NULL AS balance_type, NULL AS balance_name, \
     NULL AS amount_minor, NULL AS balance_currency, NULL AS reference_date, \
     NULL AS last_change, NULL AS last_committed";

/// The token and its consent (`'T'` rows), then the accounts of its PSU with their balance
/// (`'A'` rows), in one query; `first` is put before each branch's columns.
pub(crate) fn token_and_accounts(given: &Given, first: &str) -> String {
    format!(
        "SELECT {first}'T' AS kind, {}, {NO_ACCOUNT} {} UNION ALL {}",
        token_columns(given),
        token_from(given),
        account_branch(given).replacen("SELECT ", &format!("SELECT {first}"), 1)
    )
}

/// [`Store::access`]'s query.
static ACCESS_SQL: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {} {}", token_columns(&ALONE), token_from(&ALONE)));

// The query for one account adds its condition to the accounts' branch's `WHERE`, which only
// a token picked by a condition has.
const _: () = assert!(ALONE.condition.is_some());

/// [`Store::access_with_accounts`]'s query, for all the PSU's accounts and for one (`$7`).
static WITH_ACCOUNTS_SQL: LazyLock<[String; 2]> = LazyLock::new(|| {
    let all = token_and_accounts(&ALONE, "");
    let one = format!("{all} AND acc.resource_id = $7");
    [all, one]
});

pub(crate) type TokenRow = (TokenRecord, bool, ConsentRow);

/// What one token's read found: its token rows, its PSU's accounts with their balance, and
/// the PSU's access stamp as the read found it (none without a token or a stamp).
#[derive(Debug, Clone, Default)]
pub(crate) struct AccessFound {
    pub tokens: Vec<TokenRow>,
    pub accounts: Vec<(AccountRecord, Option<BalanceRecord>)>,
    pub stamp: Option<i64>,
}

/// `$1`…`$5` of [`ALONE`]: the token's hash, its kind and bank, the TPP and the QSealC.
fn token_binds(asked: &AccessAsked) -> Vec<Bound> {
    vec![
        asked.token_hash.as_str().into(),
        asked.kind.into(),
        asked.bank_code.as_str().into(),
        asked.client_id.as_str().into(),
        asked.qseal_sha256.as_str().into(),
    ]
}

/// A token row, added to one read's: its token rows repeat the same token, one row per granted
/// account and operation, so the token is read from the first only (a PSU who granted twenty
/// accounts' balances and transactions has forty); the others give their consent row.
fn add_token_row(found: &mut AccessFound, row: &dyn Cols) -> Result<()> {
    let (token, seal_registered) = match found.tokens.first() {
        Some((token, seal_registered, _)) => (token.clone(), *seal_registered),
        None => {
            found.stamp = row.opt_int("access_stamp")?;
            (token_record(row)?, row.int("seal_registered")? != 0)
        }
    };
    found
        .tokens
        .push((token, seal_registered, consent_row(row)?));
    Ok(())
}

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
    /// The QSealCs a TPP registered, from this process's cache when it has them, and whether
    /// they were read just now.
    pub async fn registered_qseals(
        &self,
        client_id: &str,
    ) -> Result<(Arc<Vec<QsealRecord>>, bool)> {
        if let Some(records) = self.qseal_cache.get(client_id) {
            return Ok((records, false));
        }
        Ok((self.fresh_qseals(client_id).await?, true))
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
        let asked = AccessAsked::access(secret, bank_code, client_id, qseal_sha256);
        let found = self.read_access(asked).await?;
        Ok(self.fold_access(found.tokens, client_id))
    }

    /// A token's read made now: with those of concurrent requests on PostgreSQL
    /// ([`crate::access_batch`]), in a query of its own on SQLite, where a read costs no round
    /// trip.
    pub(crate) async fn read_access_now(&self, asked: AccessAsked) -> Result<AccessFound> {
        if self.pg_reader.is_some() {
            self.access_in_batch(asked).await
        } else {
            self.access_alone(&asked).await
        }
    }

    /// The access the token rows describe; a QSealC found no longer registered is forgotten.
    pub(crate) fn fold_access(&self, rows: Vec<TokenRow>, client_id: &str) -> Option<Access> {
        let (token, seal_registered, _) = rows.first().cloned()?;
        if !seal_registered {
            self.qseal_cache.forget(client_id);
        }
        let consent = fold_consent(rows.into_iter().map(|(_, _, row)| row).collect());
        Some(Access {
            token,
            seal_registered,
            consent,
        })
    }

    /// [`Store::access`] and the accounts of the token's PSU (all of them, or the one whose
    /// resourceId is `only`), each with its balance of `balance_type`, in one round trip (GET
    /// /accounts, and the pages of one account); the accounts in the bank's order.
    #[allow(clippy::type_complexity, reason = "a pair read in one query")]
    pub async fn access_with_accounts(
        &self,
        secret: &TokenSecret,
        bank_code: &str,
        client_id: &str,
        qseal_sha256: &str,
        balance_type: &str,
        only: Option<&str>,
    ) -> Result<Option<(Access, Vec<(AccountRecord, Option<BalanceRecord>)>)>> {
        let accounts = only.map_or(Accounts::All, |id| Accounts::One(id.to_owned()));
        let asked = AccessAsked::access(secret, bank_code, client_id, qseal_sha256)
            .with(accounts, balance_type);
        let AccessFound {
            tokens,
            mut accounts,
            ..
        } = self.read_access(asked).await?;
        let Some(access) = self.fold_access(tokens, client_id) else {
            return Ok(None);
        };
        accounts.sort_by_key(|(account, _)| account.position);
        Ok(Some((access, accounts)))
    }

    /// A token's read in a query of its own.
    pub(crate) async fn access_alone(&self, asked: &AccessAsked) -> Result<AccessFound> {
        let mut binds = token_binds(asked);
        let sql = match &asked.accounts {
            Accounts::None => {
                let mut found = AccessFound::default();
                self.read_each(&ACCESS_SQL, &binds, |row| add_token_row(&mut found, row))
                    .await?;
                return Ok(found);
            }
            Accounts::All => &WITH_ACCOUNTS_SQL[0],
            Accounts::One(_) => &WITH_ACCOUNTS_SQL[1],
        };
        binds.push(asked.balance_type.as_str().into());
        if let Accounts::One(id) = &asked.accounts {
            binds.push(id.as_str().into());
        }
        let mut found = AccessFound::default();
        self.read_each(sql, &binds, |row| add_row(&mut found, row))
            .await?;
        Ok(found)
    }
}

/// A row of [`token_and_accounts`], added to one read's: a token row (`'T'`) or an account
/// with its balance.
pub(crate) fn add_row(found: &mut AccessFound, row: &dyn Cols) -> Result<()> {
    if row.text_ref("kind")? == "T" {
        add_token_row(found, row)?;
    } else {
        let account = account(row)?;
        let balance = joined_balance(row, &account.resource_id)?;
        found.accounts.push((account, balance));
    }
    Ok(())
}
