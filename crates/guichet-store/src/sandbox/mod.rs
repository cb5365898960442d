//! The sandbox data set: personas, accounts, balances, histories and beneficiaries, written
//! into the store for the sandbox banks, refreshed when the calendar day changes.

mod generator;
mod grow;
pub mod personas;

use jiff::civil::Date;
use sqlx::{AssertSqlSafe, Row};

use crate::operation_json::operation_json;
use crate::{Result, Store};
use personas::{PERSONAS, PersonaSpec, french_iban};

/// The bank codes the sandbox has customers for.
pub const SANDBOX_BANKS: [&str; 2] = ["30258", "17515"];

/// The sandbox's demo TPP, the organizationIdentifier of the portal's examples (the same as
/// `guichet_aspsp::sandbox::DEMO_TPP_CLIENT_ID`).
pub const DEMO_TPP_CLIENT_ID: &str = "PSDFR-ACPR-12345";

/// The personas whose eligible accounts the demo TPP may check funds on (portal: "the TPP and
/// the PSU have a contract that has been registered by the ASPSP"), at every sandbox bank they
/// bank at. LEA has no such contract, so that a funds confirmation on her account shows the
/// refusal.
pub const FUNDS_CHECK_PERSONAS: [&str; 5] = ["CLAIRE", "GEORGES", "MARC", "TECHNCO", "ATLAS"];

/// The persona whose authentication the data set blocks (RTS art. 4(3)(d)).
pub const BLOCKED_PERSONA: &str = "BLOCKED";

/// The reason recorded with the blocked persona's block.
pub const SANDBOX_BLOCK_REASON: &str = "sandbox";

/// How long the blocked persona stays blocked: a hundred years (of 365.25 days), that is until
/// someone unblocks it.
pub const SANDBOX_BLOCK_SECONDS: i64 = 36_525 * 86_400;

/// The account resource id: `CPT` and the account number, as in the portal's examples
/// ("unknown – CPT30014684067").
pub fn account_resource_id(account_number: &str) -> String {
    format!("CPT{account_number}")
}

/// The columns of a row of `transactions`, in the order the rows written give them.
const TRANSACTION_ROW: &[&str] = &[
    "bank_code",
    "account_id",
    "seq",
    "resource_id",
    "entry_reference",
    "amount_minor",
    "currency",
    "credit_debit",
    "status",
    "imputation_date",
    "value_date",
    "transaction_date",
    "remittance",
    "remittance_structured",
    "btc_domain",
    "btc_family",
    "btc_sub_family",
    "btc_code",
    "btc_issuer",
    "json",
];

pub(crate) enum Cell {
    Text(Option<String>),
    Int(Option<i64>),
}

fn t(value: &str) -> Cell {
    Cell::Text(Some(value.to_owned()))
}

fn ot(value: Option<&str>) -> Cell {
    Cell::Text(value.map(str::to_owned))
}

struct Rows {
    table: &'static str,
    columns: &'static [&'static str],
    rows: Vec<Vec<Cell>>,
}

impl Rows {
    fn new(table: &'static str, columns: &'static [&'static str]) -> Rows {
        Rows {
            table,
            columns,
            rows: Vec::new(),
        }
    }

    async fn insert(self, tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<()> {
        let per_statement = (900 / self.columns.len()).max(1);
        let mut rows = self.rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<Vec<Cell>> = rows.by_ref().take(per_statement).collect();
            let mut sql = format!(
                "INSERT INTO {} ({}) VALUES ",
                self.table,
                self.columns.join(", ")
            );
            let mut n = 0;
            for (i, row) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                let marks: Vec<String> = row
                    .iter()
                    .map(|_| {
                        n += 1;
                        format!("${n}")
                    })
                    .collect();
                sql.push('(');
                sql.push_str(&marks.join(", "));
                sql.push(')');
            }
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for cell in chunk.into_iter().flatten() {
                query = match cell {
                    Cell::Text(v) => query.bind(v),
                    Cell::Int(v) => query.bind(v),
                };
            }
            query.execute(&mut **tx).await?;
        }
        Ok(())
    }
}

/// What a seeding wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeedSummary {
    pub psus: usize,
    pub accounts: usize,
    pub transactions: usize,
    /// False when the data set was already that of `today`.
    pub refreshed: bool,
}

const SEEDED_ON: &str = "sandbox_seeded_on";

impl Store {
    /// Writes the sandbox data set of `today` for the given banks, replacing the previous
    /// day's, in one transaction. Consents and tokens are kept: account and PSU identifiers do
    /// not change from one day to the next. Several processes may call this at once; the
    /// first one does the work.
    ///
    /// The same transaction registers the demo TPP's funds-confirmation contracts
    /// ([`FUNDS_CHECK_PERSONAS`]) that do not exist yet, and blocks [`BLOCKED_PERSONA`] unless
    /// the sandbox blocked it before: a contract revoked or a persona unblocked by hand stays
    /// so across daily refreshes.
    pub async fn seed_sandbox(
        &self,
        bank_codes: &[&str],
        today: Date,
        now: i64,
    ) -> Result<SeedSummary> {
        let mut tx = self.begin_write().await?;
        let stamp = format!("{today} {}", bank_codes.join(","));
        // Taking the row lock first serialises concurrent seeders on PostgreSQL; SQLite has a
        // single writer anyway.
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES ($1, '') ON CONFLICT (key) DO UPDATE SET value = meta.value",
        )
        .bind(SEEDED_ON)
        .execute(&mut *tx)
        .await?;
        let current: String = sqlx::query("SELECT value FROM meta WHERE key = $1")
            .bind(SEEDED_ON)
            .fetch_one(&mut *tx)
            .await?
            .try_get("value")?;
        if current == stamp {
            tx.rollback().await?;
            return Ok(SeedSummary::default());
        }
        for table in [
            "transactions",
            "balances",
            "beneficiaries",
            "accounts",
            "psus",
        ] {
            for bank in bank_codes {
                sqlx::query(AssertSqlSafe(format!(
                    "DELETE FROM {table} WHERE bank_code = $1"
                )))
                .bind(*bank)
                .execute(&mut *tx)
                .await?;
            }
        }
        let personas: Vec<&PersonaSpec> = PERSONAS
            .iter()
            .filter(|p| bank_codes.contains(&p.bank_code))
            .collect();
        let summary = write_personas(&mut tx, &personas, today, now).await?;
        register_funds_checks(&mut tx, &personas, now).await?;
        block_personas(&mut tx, &personas, now).await?;
        sqlx::query("UPDATE meta SET value = $1 WHERE key = $2")
            .bind(stamp)
            .bind(SEEDED_ON)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        // Every table the API's reads join, the ones written here and the ones still empty.
        self.analyze(&[
            "psus",
            "accounts",
            "balances",
            "transactions",
            "beneficiaries",
            "tokens",
            "consents",
            "consent_accounts",
            "tpp_qseals",
        ])
        .await;
        Ok(summary)
    }
}

/// The demo TPP's funds-confirmation contracts on the eligible accounts of
/// [`FUNDS_CHECK_PERSONAS`]; existing ones, live or revoked, are left as they are.
async fn register_funds_checks(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    personas: &[&PersonaSpec],
    now: i64,
) -> Result<()> {
    for p in personas {
        if !FUNDS_CHECK_PERSONAS.contains(&p.persona) {
            continue;
        }
        for account in p.accounts.iter().filter(|a| a.eligible) {
            sqlx::query(
                "INSERT INTO funds_checks (bank_code, psu_id, client_id, account_id, registered_at, revoked_at) \
                 VALUES ($1, $2, $3, $4, $5, NULL) \
                 ON CONFLICT (bank_code, psu_id, client_id, account_id) DO NOTHING",
            )
            .bind(p.bank_code)
            .bind(p.psu_id)
            .bind(DEMO_TPP_CLIENT_ID)
            .bind(account_resource_id(account.number))
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

/// Blocks [`BLOCKED_PERSONA`] for [`SANDBOX_BLOCK_SECONDS`] when the record holds no block the
/// sandbox set on it: once, when the data set is first written for its bank, and never again
/// after someone unblocks it (the record of blocks is kept by an unblock).
async fn block_personas(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    personas: &[&PersonaSpec],
    now: i64,
) -> Result<()> {
    for p in personas {
        if p.persona != BLOCKED_PERSONA {
            continue;
        }
        let (earlier,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) AS n FROM sca_blocks WHERE bank_code = $1 AND psu_id = $2 AND reason = $3",
        )
        .bind(p.bank_code)
        .bind(p.psu_id)
        .bind(SANDBOX_BLOCK_REASON)
        .fetch_one(&mut **tx)
        .await?;
        if earlier == 0 {
            crate::lockout::set_block(
                tx,
                p.bank_code,
                p.psu_id,
                now,
                now.saturating_add(SANDBOX_BLOCK_SECONDS),
                SANDBOX_BLOCK_REASON,
            )
            .await?;
        }
    }
    Ok(())
}

async fn write_personas(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    personas: &[&PersonaSpec],
    today: Date,
    now: i64,
) -> Result<SeedSummary> {
    let mut psus = Rows::new(
        "psus",
        &[
            "bank_code",
            "psu_id",
            "persona",
            "kind",
            "name_prefix",
            "first_name",
            "last_name",
            "display_name",
            "segment",
        ],
    );
    let mut accounts = Rows::new(
        "accounts",
        &[
            "bank_code",
            "resource_id",
            "psu_id",
            "iban",
            "currency",
            "name",
            "details",
            "usage",
            "cash_account_type",
            "product",
            "psu_status",
            "company_scheme",
            "company_id",
            "segment",
            "eligible",
            "position",
        ],
    );
    let mut balances = Rows::new(
        "balances",
        &[
            "bank_code",
            "account_id",
            "balance_type",
            "name",
            "amount_minor",
            "currency",
            "reference_date",
            "last_change",
            "last_committed",
        ],
    );
    let mut transactions = Rows::new("transactions", TRANSACTION_ROW);
    let mut beneficiaries = Rows::new(
        "beneficiaries",
        &[
            "bank_code",
            "psu_id",
            "beneficiary_id",
            "name",
            "iban",
            "bic",
            "country",
            "address_line",
            "position",
        ],
    );
    let mut summary = SeedSummary {
        refreshed: true,
        ..SeedSummary::default()
    };
    let day_label = format!("{:02}/{:02}/{}", today.day(), today.month(), today.year());
    for p in personas {
        summary.psus += 1;
        psus.rows.push(vec![
            t(p.bank_code),
            t(p.psu_id),
            t(p.persona),
            t(p.kind),
            ot(p.name_prefix),
            ot(p.first_name),
            ot(p.last_name),
            t(p.display_name),
            t(p.segment),
        ]);
        for (position, account) in p.accounts.iter().enumerate() {
            summary.accounts += 1;
            let iban = french_iban(p.bank_code, account.branch, account.number);
            let id = account_resource_id(account.number);
            accounts.rows.push(vec![
                t(p.bank_code),
                t(&id),
                t(p.psu_id),
                t(&iban),
                t("EUR"),
                t(account.name),
                Cell::Text(None),
                t(account.usage),
                t("CACC"),
                t(account.product),
                t(account.psu_status),
                ot(p.siren.map(|_| "SREN")),
                ot(p.siren),
                t(p.segment),
                Cell::Int(Some(i64::from(account.eligible))),
                Cell::Int(Some(i64::try_from(position).unwrap_or(0))),
            ]);
            let history = generator::history(p.bank_code, &iban, &id, account, today);
            // The last booked operation in the order of the pages (booking day, then technical
            // id), as an import of statements finds it.
            let last_committed = history
                .transactions
                .iter()
                .filter(|tx| tx.status == "BOOK")
                .max_by(|a, b| (&a.imputation_date, a.seq).cmp(&(&b.imputation_date, b.seq)))
                .map(|tx| {
                    tx.entry_reference
                        .clone()
                        .unwrap_or_else(|| tx.resource_id.clone())
                });
            for (kind, name, amount) in [
                (
                    "CLBD",
                    format!("Solde comptable au {day_label}"),
                    account.clbd_minor,
                ),
                (
                    "XPCD",
                    format!("Solde instantané au {day_label}"),
                    account.clbd_minor + history.pending_minor,
                ),
            ] {
                balances.rows.push(vec![
                    t(p.bank_code),
                    t(&id),
                    t(kind),
                    t(&name),
                    Cell::Int(Some(amount)),
                    t("EUR"),
                    t(&today.to_string()),
                    Cell::Int(Some(now)),
                    ot(last_committed.as_deref()),
                ]);
            }
            summary.transactions += history.transactions.len();
            for tx in history.transactions {
                let json = operation_json(&tx.as_ref());
                let [domain, family, sub_family, code, issuer] = tx.btc.unwrap_or_default();
                transactions.rows.push(vec![
                    t(p.bank_code),
                    t(&id),
                    Cell::Int(Some(tx.seq)),
                    t(&tx.resource_id),
                    Cell::Text(tx.entry_reference),
                    Cell::Int(Some(tx.amount_minor)),
                    t(&tx.currency),
                    t(&tx.credit_debit),
                    t(&tx.status),
                    t(&tx.imputation_date),
                    Cell::Text(tx.value_date),
                    Cell::Text(tx.transaction_date),
                    t(&tx.remittance),
                    Cell::Text(tx.remittance_structured),
                    Cell::Text(domain),
                    Cell::Text(family),
                    Cell::Text(sub_family),
                    Cell::Text(code),
                    Cell::Text(issuer),
                    Cell::Text(Some(json)),
                ]);
            }
        }
        for (position, b) in p.beneficiaries.iter().enumerate() {
            beneficiaries.rows.push(vec![
                t(p.bank_code),
                t(p.psu_id),
                t(&format!("BEN{}{:02}", &p.psu_id[..4], position + 1)),
                t(b.name),
                t(b.iban),
                t(b.bic),
                t("FR"),
                t(b.address),
                Cell::Int(Some(i64::try_from(position).unwrap_or(0))),
            ]);
        }
    }
    for rows in [psus, accounts, balances, transactions, beneficiaries] {
        rows.insert(tx).await?;
    }
    Ok(summary)
}
