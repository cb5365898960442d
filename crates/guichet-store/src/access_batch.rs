//! On PostgreSQL, the token reads of concurrent requests in one query ([`crate::batches`]).
//!
//! Every API call reads its token and the consent in one query ([`Store::access`]), with the
//! PSU's accounts for GET /accounts and an account's balances and transactions
//! ([`Store::access_with_accounts`]); the reads that wait while others are read are made by
//! the next query (a `VALUES` list joined to the tokens, each row numbered).

use std::sync::{Arc, LazyLock};

use crate::access::{AccessFound, Given, TOKEN_COLUMNS, add_row, token_and_accounts};
use crate::batches::{BatchRead, Batches, SIZES, numbered_rows, read_batch};
use crate::read::Bound;
use crate::tokens::{TokenKind, TokenSecret};
use crate::{Result, Store};

/// The parameters of one read: `$1`…`$7` of its row of the batch.
const PARAMETERS: usize = 7;

/// What one request asks for (and the key of its read kept, [`crate::access_cache`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct AccessAsked {
    pub token_hash: String,
    pub kind: &'static str,
    pub bank_code: String,
    pub client_id: String,
    pub qseal_sha256: String,
    pub balance_type: String,
    pub accounts: Accounts,
}

impl AccessAsked {
    /// The access token `secret` of a bank, presented by `client_id` with a request signed
    /// with the QSealC `qseal_sha256`; no account yet.
    pub(crate) fn access(
        secret: &TokenSecret,
        bank_code: &str,
        client_id: &str,
        qseal_sha256: &str,
    ) -> AccessAsked {
        AccessAsked {
            token_hash: secret.hash(),
            kind: TokenKind::Access.as_str(),
            bank_code: bank_code.to_owned(),
            client_id: client_id.to_owned(),
            qseal_sha256: qseal_sha256.to_owned(),
            balance_type: String::new(),
            accounts: Accounts::None,
        }
    }

    /// The same read, with these accounts and their balance of `balance_type`.
    pub(crate) fn with(self, accounts: Accounts, balance_type: &str) -> AccessAsked {
        AccessAsked {
            accounts,
            balance_type: balance_type.to_owned(),
            ..self
        }
    }
}

/// Which of the PSU's accounts a read wants with its token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Accounts {
    All,
    One(String),
    /// The token and its consent alone ([`Store::access`]).
    None,
}

impl Accounts {
    /// The batch's `only_account`: '' for all the accounts, '=' and its id for one (an empty
    /// id is one too), '-' for none (no account's '=' and id is '-').
    fn only_account(&self) -> String {
        match self {
            Accounts::All => String::new(),
            Accounts::One(id) => format!("={id}"),
            Accounts::None => "-".to_owned(),
        }
    }
}

/// The tokens of a batch's reads (`r`), found once for both branches of its query (the token
/// and consent, the accounts and balances), each with what its read gave. Joined in each
/// branch instead, PostgreSQL found them twice, and on small tables planned the second branch
/// from the accounts: the query ran 6,600–7,000 times a second for sixteen reads (pgbench, two
/// clients), 10,000 with the tokens found first. It names the columns of the tokens that
/// `token_columns` and the accounts' branch read ([`TOKEN_COLUMNS`]). `MATERIALIZED`:
/// PostgreSQL 12 and later.
fn found() -> String {
    format!(
        "f AS MATERIALIZED (SELECT r.n, r.client_id AS asked_client, \
         r.qseal_sha256 AS asked_seal, r.balance_type AS asked_balance, \
         r.only_account AS asked_account, {TOKEN_COLUMNS} \
         FROM r JOIN tokens t \
           ON t.token_hash = r.token_hash AND t.kind = r.kind AND t.bank_code = r.bank_code)"
    )
}

/// The batch's tokens, and what each read gave.
const BATCHED: Given = Given {
    tokens: "f t",
    condition: None,
    client_id: "t.asked_client",
    qseal_sha256: "t.asked_seal",
    balance_type: "t.asked_balance",
};

/// The query of a batch of each of [`SIZES`].
static BATCH_SQL: LazyLock<Vec<(usize, String)>> =
    LazyLock::new(|| SIZES.iter().map(|&n| (n, batch_sql(n))).collect());

fn batch_sql(reads: usize) -> String {
    format!(
        "WITH r(n, token_hash, kind, bank_code, client_id, qseal_sha256, balance_type, only_account) \
         AS (VALUES {}), {} {} \
         WHERE (t.asked_account = '' OR '=' || acc.resource_id = t.asked_account)",
        numbered_rows(reads, PARAMETERS),
        found(),
        token_and_accounts(&BATCHED, "t.n AS request, ")
    )
}

/// Token reads ([`Store::access`], [`Store::access_with_accounts`]) in batches.
pub(crate) struct TokenReads;

impl BatchRead for TokenReads {
    type Asked = AccessAsked;
    type Found = AccessFound;

    fn batches(store: &Store) -> &Arc<Batches<TokenReads>> {
        &store.access_batches
    }

    async fn read(store: &Store, asked: &[AccessAsked]) -> Result<Vec<Result<AccessFound>>> {
        let binds_of = |one: &AccessAsked| {
            vec![
                Bound::Text(one.token_hash.clone()),
                one.kind.into(),
                Bound::Text(one.bank_code.clone()),
                Bound::Text(one.client_id.clone()),
                Bound::Text(one.qseal_sha256.clone()),
                Bound::Text(one.balance_type.clone()),
                Bound::Text(one.accounts.only_account()),
            ]
        };
        read_batch(store, &BATCH_SQL, asked, PARAMETERS, binds_of, add_row).await
    }
}

impl Store {
    /// The token reads made in batches so far, and the queries that made them (none on
    /// SQLite, whose reads cost no round trip).
    pub fn batched_token_reads(&self) -> (u64, u64) {
        self.access_batches.counts()
    }

    /// The read of [`Store::access`] or [`Store::access_with_accounts`] on PostgreSQL, with
    /// those of the requests asking at the same moment.
    pub(crate) async fn access_in_batch(&self, asked: AccessAsked) -> Result<AccessFound> {
        self.read_in_batch::<TokenReads>(asked).await
    }
}

#[cfg(all(test, feature = "test-support"))]
mod tests;
