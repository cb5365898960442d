//! Sandbox accounts grown to a given number of operations, for `guichet bench`: the read path
//! must answer a page of an account with a million operations as fast as one of an account
//! with ten thousand, so the benchmark makes both.
//!
//! The operations added are booked, `per_day` a day going back from `today` (the same density
//! for every grown account: two grown accounts differ by the length of their history, not by
//! how many operations a page or a date range holds).

use jiff::ToSpan;
use jiff::civil::Date;

use super::{Cell, Rows, TRANSACTION_ROW, t};
use crate::operation_json::operation_json;
use crate::{Result, Store, TransactionRef};

/// Rows written per transaction while growing.
const ROWS_PER_COMMIT: u64 = 20_000;

impl Store {
    /// Adds booked operations to an account until it holds `target`; answers how many it
    /// added (0 when it already held as many).
    pub async fn grow_account(
        &self,
        bank_code: &str,
        account_id: &str,
        target: u64,
        per_day: u64,
        today: Date,
    ) -> Result<u64> {
        let (count, max_seq): (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*), MAX(seq) FROM transactions WHERE bank_code = $1 AND account_id = $2",
        )
        .bind(bank_code)
        .bind(account_id)
        .fetch_one(&self.pool)
        .await?;
        let missing = target.saturating_sub(u64::try_from(count).unwrap_or(0));
        let per_day = per_day.max(1);
        let first_seq = max_seq.unwrap_or(0) + 1;
        let mut written = 0;
        while written < missing {
            let batch = (missing - written).min(ROWS_PER_COMMIT);
            let mut rows = Rows::new("transactions", TRANSACTION_ROW);
            for i in written..written + batch {
                // The oldest first, so that the technical id grows with the date.
                let days_ago = i64::try_from((missing - 1 - i) / per_day).unwrap_or(0);
                let day = today.checked_sub(days_ago.days()).unwrap_or(today);
                let seq = first_seq + i64::try_from(i).unwrap_or(0);
                rows.rows.push(operation(bank_code, account_id, seq, day));
            }
            let mut tx = self.begin_write().await?;
            rows.insert(&mut tx).await?;
            tx.commit().await?;
            written += batch;
        }
        self.analyze(&["transactions"]).await;
        Ok(missing)
    }
}

fn operation(bank_code: &str, account_id: &str, seq: i64, day: Date) -> Vec<Cell> {
    let day = day.to_string();
    let (sign, label) = if seq % 3 == 0 {
        ("CRDT", "VIR SEPA RECU")
    } else {
        ("DBIT", "PRLV SEPA")
    };
    let resource_id = format!("G{seq:012}");
    let entry_reference = format!("GROW{seq:012}");
    let amount_minor = 1_000 + (seq % 97) * 137;
    let remittance = format!("{label} BENCH {seq}");
    // No structured remittance, no bank transaction code.
    let json = operation_json(&TransactionRef {
        account_id,
        seq,
        resource_id: &resource_id,
        entry_reference: Some(&entry_reference),
        amount_minor,
        currency: "EUR",
        credit_debit: sign,
        status: "BOOK",
        imputation_date: &day,
        value_date: Some(&day),
        transaction_date: None,
        remittance: &remittance,
        remittance_structured: None,
        btc: None,
    });
    vec![
        t(bank_code),
        t(account_id),
        Cell::Int(Some(seq)),
        Cell::Text(Some(resource_id)),
        Cell::Text(Some(entry_reference)),
        Cell::Int(Some(amount_minor)),
        t("EUR"),
        t(sign),
        t("BOOK"),
        t(&day),
        t(&day),
        Cell::Text(None),
        Cell::Text(Some(remittance)),
        Cell::Text(None),
        Cell::Text(None),
        Cell::Text(None),
        Cell::Text(None),
        Cell::Text(None),
        Cell::Text(None),
        Cell::Text(Some(json)),
    ]
}
