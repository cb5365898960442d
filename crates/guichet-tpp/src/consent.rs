//! The PSU's consent as a person states it: accounts named by IBAN or by the bank's
//! resourceId, turned into the STET `Access` the bank expects (accounts by IBAN).

use guichet_stet::model::{Access, AccountIdentification, AccountResource};

use crate::bank::{find_account, iban_of, listing};
use crate::error::TppError;

/// What the PSU shares with the TPP at one bank. `PUT /consents` replaces the whole consent:
/// an account left out is no longer shared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsentChoice {
    /// Accounts (IBAN or resourceId) whose balances are shared.
    pub balances: Vec<String>,
    /// Accounts (IBAN or resourceId) whose transactions are shared.
    pub transactions: Vec<String>,
    /// The PSU's identity (end-user identity).
    pub identity: bool,
    /// The PSU's trusted beneficiaries.
    pub beneficiaries: bool,
}

impl ConsentChoice {
    /// Every account with an IBAN, for balances and transactions, and the identity.
    pub fn everything(accounts: &[AccountResource]) -> ConsentChoice {
        let ibans: Vec<String> = accounts.iter().filter_map(iban_of).collect();
        ConsentChoice {
            balances: ibans.clone(),
            transactions: ibans,
            identity: true,
            beneficiaries: false,
        }
    }

    /// Whether nothing at all is shared (the consent then revokes every account).
    pub fn is_empty(&self) -> bool {
        self.balances.is_empty()
            && self.transactions.is_empty()
            && !self.identity
            && !self.beneficiaries
    }

    /// The IBANs of the choice's accounts, each looked up among the PSU's `accounts` (GET
    /// /accounts) by IBAN or resourceId; an account that is not there is refused, naming the
    /// ones that are.
    pub fn resolve(
        &self,
        bank: &str,
        accounts: &[AccountResource],
    ) -> Result<ConsentChoice, TppError> {
        let ibans = |wanted: &[String]| -> Result<Vec<String>, TppError> {
            let mut out: Vec<String> = Vec::new();
            for account in wanted {
                let iban = find_account(accounts, account)
                    .and_then(iban_of)
                    .ok_or_else(|| {
                        TppError::Local(format!(
                            "{account} is not one of the PSU's accounts at bank {bank} (they are: {})",
                            listing(accounts)
                        ))
                    })?;
                if !out.contains(&iban) {
                    out.push(iban);
                }
            }
            Ok(out)
        };
        Ok(ConsentChoice {
            balances: ibans(&self.balances)?,
            transactions: ibans(&self.transactions)?,
            identity: self.identity,
            beneficiaries: self.beneficiaries,
        })
    }

    /// The STET `Access` of a resolved choice (accounts by IBAN).
    pub fn access(&self) -> Access {
        let list = |ibans: &[String]| {
            ibans
                .iter()
                .map(|iban| AccountIdentification {
                    iban: Some(iban.clone()),
                    other: None,
                    currency: None,
                })
                .collect()
        };
        Access {
            balances: list(&self.balances),
            transactions: list(&self.transactions),
            trusted_beneficiaries: self.beneficiaries,
            psu_identity: self.identity,
        }
    }
}

impl crate::bank::BankClient {
    /// Forwards the PSU's consent: resolves its accounts among GET /accounts, then PUT
    /// /consents. Answers the choice as sent (accounts by IBAN).
    pub async fn consent(&self, choice: &ConsentChoice) -> Result<ConsentChoice, TppError> {
        let accounts = self.accounts().await?;
        let resolved = choice.resolve(&self.endpoints.code, &accounts)?;
        self.put_consents(&resolved.access()).await?;
        Ok(resolved)
    }
}
