//! Aggregation: every logged-in bank synced at once into the local store. Incremental, with
//! deduplication; one bank failing does not stop the others; in batch mode (no PSU present)
//! at most the 4 daily calls per account and method are spent, and a spent allowance is
//! reported as such, never as "no new transactions".

use std::str::FromStr;
use std::sync::Arc;

use guichet_stet::model::Transaction;
use jiff::ToSpan;
use jiff::civil::Date;
use rust_decimal::Decimal;

use crate::bank::BankClient;
use crate::error::TppError;
use crate::store::{LocalStore, LocalTransaction, Upsert};

/// The bank's daily allowance of batch calls per account and method (PSD2 RTS art. 36(5)).
pub const BATCH_CALLS_PER_DAY: i64 = 4;

/// What a sync of one bank did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncCounts {
    pub accounts: usize,
    pub balances: usize,
    pub new_transactions: usize,
    pub updated_transactions: usize,
    /// Accounts the PSU's consent does not cover.
    pub not_consented: Vec<String>,
    /// What was not fetched because the batch allowance is spent (`IBAN method`).
    pub rate_limited: Vec<String>,
}

#[derive(Debug)]
pub struct BankSync {
    pub bank: String,
    pub outcome: Result<SyncCounts, TppError>,
}

/// The signed amount, the day and the label of a STET operation.
pub fn local(bank: &str, iban: &str, tx: &Transaction) -> LocalTransaction {
    let magnitude =
        Decimal::from_str(&tx.transaction_amount.amount.to_string()).unwrap_or_default();
    let amount = if tx.credit_debit_indicator == "DBIT" {
        -magnitude
    } else {
        magnitude
    };
    let day = tx
        .booking_date
        .clone()
        .or_else(|| tx.expected_booking_date.clone())
        .or_else(|| tx.transaction_date.clone())
        .unwrap_or_default();
    let label = tx
        .remittance_information
        .as_ref()
        .map(|r| r.unstructured.join(" "))
        .unwrap_or_default();
    let key = tx
        .resource_id
        .clone()
        .or_else(|| tx.entry_reference.clone())
        .unwrap_or_else(|| format!("{day}|{amount}|{label}"));
    LocalTransaction {
        bank: bank.to_owned(),
        iban: iban.to_owned(),
        key,
        entry_reference: tx.entry_reference.clone(),
        amount,
        currency: tx.transaction_amount.currency.clone(),
        status: tx.status.clone(),
        day,
        label,
    }
}

struct Budget<'a> {
    store: &'a LocalStore,
    bank: &'a str,
    day: String,
    batch: bool,
    /// The bank's allowance per account, method and day.
    per_day: i64,
}

/// The batch calls left today out of the bank's allowance, given those already made.
pub fn calls_left(used: i64, per_day: i64) -> i64 {
    (per_day - used).clamp(0, per_day.max(0))
}

impl Budget<'_> {
    /// Whether a batch call may be made; counts it.
    async fn allow(&self, account: &str, method: &str) -> Result<bool, TppError> {
        if !self.batch {
            return Ok(true);
        }
        if self
            .store
            .calls_today(self.bank, account, method, &self.day)
            .await?
            >= self.per_day
        {
            return Ok(false);
        }
        self.store
            .count_call(self.bank, account, method, &self.day, false)
            .await?;
        Ok(true)
    }

    async fn spent(&self, account: &str, method: &str) -> Result<(), TppError> {
        self.store
            .set_calls(self.bank, account, method, &self.day, self.per_day)
            .await
    }

    /// Aligns the count with the bank's own after a call: the bank counts every page.
    async fn settle(
        &self,
        account: &str,
        method: &str,
        client: &BankClient,
    ) -> Result<(), TppError> {
        match client.last_allowance() {
            Some(allowance) if self.batch => {
                self.store
                    .set_calls(
                        self.bank,
                        account,
                        method,
                        &self.day,
                        allowance.limit - allowance.remaining,
                    )
                    .await
            }
            _ => Ok(()),
        }
    }
}

/// Syncs one bank: accounts, then the balances and transactions the consent covers. `today`
/// is the bank's day (its batch allowance is counted per day); [`BankClient::today`] gives it.
pub async fn sync_bank(
    client: &BankClient,
    store: &LocalStore,
    batch: bool,
    today: Date,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<SyncCounts, TppError> {
    let bank = client.endpoints.code.as_str();
    let budget = Budget {
        store,
        bank,
        day: today.to_string(),
        batch,
        per_day: client.batch_calls_per_day(),
    };
    let now = || client.now().as_second();
    let mut counts = SyncCounts::default();
    progress("accounts");
    if !budget.allow("", "accounts").await? {
        return Err(TppError::RateLimited {
            retry_after: crate::clock::seconds_to_midnight(client.now(), client.time_zone()),
        });
    }
    let accounts = match client.accounts().await {
        Err(TppError::RateLimited { retry_after }) => {
            budget.spent("", "accounts").await?;
            return Err(TppError::RateLimited { retry_after });
        }
        other => other?,
    };
    budget.settle("", "accounts", client).await?;
    let since = store
        .last_sync_day(bank)
        .await?
        .and_then(|d| Date::from_str(&d).ok());
    // Incremental: from a few days before the last sync (to see pending operations booked),
    // unless that is older than the shortest history a bank keeps.
    let from = since
        .and_then(|d| d.checked_sub(5.days()).ok())
        .filter(|d| today.since(*d).map(|s| s.get_days() < 55).unwrap_or(false));
    for account in accounts {
        let Some(iban) = account.account_id.as_ref().and_then(|a| a.iban.clone()) else {
            continue;
        };
        let currency = account
            .account_id
            .as_ref()
            .and_then(|a| a.currency.clone())
            .unwrap_or_else(|| "EUR".into());
        store
            .save_account(
                bank,
                &iban,
                account.resource_id.as_deref(),
                &account.name,
                &currency,
            )
            .await?;
        counts.accounts += 1;
        let Some(id) = account.resource_id.clone() else {
            counts.not_consented.push(iban);
            continue;
        };
        if account.links.balances.is_none() && account.links.transactions.is_none() {
            counts.not_consented.push(iban.clone());
        }
        if account.links.balances.is_some() {
            progress(&format!("balances {iban}"));
            if budget.allow(&iban, "balances").await? {
                match client.balances(&id).await {
                    Ok(balances) => {
                        budget.settle(&iban, "balances", client).await?;
                        for balance in balances {
                            let amount =
                                Decimal::from_str(&balance.balance_amount.amount.to_string())
                                    .unwrap_or_default();
                            store
                                .save_balance(
                                    bank,
                                    &iban,
                                    &balance.balance_type,
                                    amount,
                                    &balance.balance_amount.currency,
                                    balance.reference_date.as_deref(),
                                    now(),
                                )
                                .await?;
                            counts.balances += 1;
                        }
                    }
                    Err(TppError::RateLimited { .. }) => {
                        budget.spent(&iban, "balances").await?;
                        counts.rate_limited.push(format!("{iban} balances"));
                    }
                    Err(e) => return Err(e),
                }
            } else {
                counts.rate_limited.push(format!("{iban} balances"));
            }
        }
        if account.links.transactions.is_some() {
            progress(&format!("transactions {iban}"));
            if budget.allow(&iban, "transactions").await? {
                match client.transactions(&id, from, None).await {
                    Ok(transactions) => {
                        budget.settle(&iban, "transactions", client).await?;
                        for tx in &transactions {
                            match store
                                .upsert_transaction(&local(bank, &iban, tx), now())
                                .await?
                            {
                                Upsert::New => counts.new_transactions += 1,
                                Upsert::Updated => counts.updated_transactions += 1,
                                Upsert::Same => {}
                            }
                        }
                    }
                    Err(TppError::RateLimited { .. }) => {
                        budget.spent(&iban, "transactions").await?;
                        counts.rate_limited.push(format!("{iban} transactions"));
                    }
                    Err(e) => return Err(e),
                }
            } else {
                counts.rate_limited.push(format!("{iban} transactions"));
            }
        }
    }
    store.record_sync(bank, now(), &today.to_string()).await?;
    progress("done");
    Ok(counts)
}

/// Told of each bank's progress: (bank code, step).
pub type Progress = Arc<dyn Fn(&str, &str) + Send + Sync>;

/// Syncs every bank at once, all on the day `today`; each answers on its own.
pub async fn sync_all(
    clients: Vec<Arc<BankClient>>,
    store: LocalStore,
    batch: bool,
    today: Date,
    progress: Progress,
) -> Vec<BankSync> {
    sync_all_on(clients, store, batch, Some(today), progress).await
}

/// Syncs every bank at once, each on its own day ([`BankClient::today`]: the client's clock in
/// the bank's time zone); each answers on its own.
pub async fn sync_all_today(
    clients: Vec<Arc<BankClient>>,
    store: LocalStore,
    batch: bool,
    progress: Progress,
) -> Vec<BankSync> {
    sync_all_on(clients, store, batch, None, progress).await
}

async fn sync_all_on(
    clients: Vec<Arc<BankClient>>,
    store: LocalStore,
    batch: bool,
    day: Option<Date>,
    progress: Progress,
) -> Vec<BankSync> {
    let mut tasks = tokio::task::JoinSet::new();
    for client in clients {
        let (store, progress) = (store.clone(), progress.clone());
        tasks.spawn(async move {
            let bank = client.endpoints.code.clone();
            let report = |step: &str| progress(&bank, step);
            let today = day.unwrap_or_else(|| client.today());
            let outcome = sync_bank(&client, &store, batch, today, &report).await;
            if let Err(e) = &outcome {
                progress(&bank, &format!("failed: {e}"));
            }
            BankSync { bank, outcome }
        });
    }
    let mut results = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(result) => results.push(result),
            Err(e) => results.push(BankSync {
                bank: "?".into(),
                outcome: Err(TppError::Local(e.to_string())),
            }),
        }
    }
    results.sort_by(|a, b| a.bank.cmp(&b.bank));
    results
}
