//! The typed STET calls of a bank client.

use guichet_stet::model::{
    Access, AccountResource, BalanceResource, Beneficiary, HalAccounts, HalBalances,
    HalBeneficiaries, HalEndUserIdentity, HalPaymentCoverageReport, HalTransactions,
    PaymentCoverageRequestResource, Transaction,
};
use reqwest::Method;

use super::{Answer, BankClient, Grant};
use crate::error::TppError;

/// The compact, upper-case form of an IBAN as a person may type it (`FR76 1751 …`).
pub fn compact_iban(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// Whether `text` has the shape of an IBAN: two letters, two check digits, then letters and
/// digits, 15 to 34 characters in all (spaces ignored). The check digits are the bank's to
/// verify; this only tells an IBAN from a bank's resourceId.
pub fn looks_like_iban(text: &str) -> bool {
    let iban = compact_iban(text);
    let bytes = iban.as_bytes();
    (15..=34).contains(&bytes.len())
        && bytes[..2].iter().all(u8::is_ascii_uppercase)
        && bytes[2..4].iter().all(u8::is_ascii_digit)
        && bytes[4..].iter().all(u8::is_ascii_alphanumeric)
}

/// The IBAN of an account of GET /accounts, if it has one.
pub fn iban_of(account: &AccountResource) -> Option<String> {
    account.account_id.as_ref().and_then(|i| i.iban.clone())
}

/// The account `wanted` names, by its IBAN (spaces and case ignored) or the bank's resourceId.
pub fn find_account<'a>(
    accounts: &'a [AccountResource],
    wanted: &str,
) -> Option<&'a AccountResource> {
    let iban = compact_iban(wanted);
    accounts.iter().find(|a| {
        a.resource_id.as_deref() == Some(wanted)
            || iban_of(a).is_some_and(|i| compact_iban(&i) == iban)
    })
}

/// The accounts, as a person reads them in an error message.
pub(crate) fn listing(accounts: &[AccountResource]) -> String {
    let names: Vec<String> = accounts
        .iter()
        .map(|a| {
            format!(
                "{} ({})",
                iban_of(a).unwrap_or_else(|| "no IBAN".into()),
                a.resource_id.as_deref().unwrap_or("no resourceId")
            )
        })
        .collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

impl BankClient {
    fn expect(answer: Answer, account: Option<(&str, &str)>) -> Result<Answer, TppError> {
        match answer.status {
            200..=299 => Ok(answer),
            403 => match account {
                Some((account, operation)) if answer.message().contains("consent") => {
                    Err(TppError::ConsentMissing {
                        account: account.to_owned(),
                        operation: operation.to_owned(),
                        message: answer.message(),
                    })
                }
                _ => Err(TppError::Refused {
                    status: 403,
                    message: answer.message(),
                }),
            },
            status => Err(TppError::BadRequest {
                status,
                message: answer.message(),
            }),
        }
    }

    /// GET /accounts: the PSU's eligible accounts (HAL links per consented operation).
    pub async fn accounts(&self) -> Result<Vec<AccountResource>, TppError> {
        let answer = Self::expect(self.call(Method::GET, "accounts", None).await?, None)?;
        if answer.status == 204 {
            return Ok(vec![]);
        }
        Ok(answer.json::<HalAccounts>()?.accounts)
    }

    /// GET /accounts with its top-level links (end-user identity, beneficiaries).
    pub async fn accounts_page(&self) -> Result<Option<HalAccounts>, TppError> {
        let answer = Self::expect(self.call(Method::GET, "accounts", None).await?, None)?;
        if answer.status == 204 {
            return Ok(None);
        }
        Ok(Some(answer.json()?))
    }

    /// The PSU's account named by its IBAN or by the bank's resourceId (one GET /accounts).
    pub async fn account(&self, wanted: &str) -> Result<AccountResource, TppError> {
        let accounts = self.accounts().await?;
        find_account(&accounts, wanted).cloned().ok_or_else(|| {
            TppError::Local(format!(
                "no account {wanted} among the PSU's accounts at bank {}: {}",
                self.endpoints.code,
                listing(&accounts)
            ))
        })
    }

    /// The bank's resourceId of an account given by its IBAN or its resourceId. An IBAN is
    /// looked up with GET /accounts (one call); anything else is taken as the resourceId.
    pub async fn resource_id(&self, account: &str) -> Result<String, TppError> {
        if !looks_like_iban(account) {
            return Ok(account.to_owned());
        }
        let found = self.account(account).await?;
        found.resource_id.ok_or_else(|| TppError::ConsentMissing {
            account: account.to_owned(),
            operation: "any".into(),
            message: format!(
                "bank {} gives no resourceId for this account: the PSU's consent does not cover it",
                self.endpoints.code
            ),
        })
    }

    /// The IBAN of an account given by its IBAN or its resourceId (a resourceId is looked up
    /// with GET /accounts, which needs the PSU's tokens).
    pub async fn iban(&self, account: &str) -> Result<String, TppError> {
        if looks_like_iban(account) {
            return Ok(compact_iban(account));
        }
        let found = self.account(account).await?;
        iban_of(&found).ok_or_else(|| {
            TppError::Local(format!(
                "account {account} at bank {} has no IBAN",
                self.endpoints.code
            ))
        })
    }

    /// PUT /consents: replaces the PSU's whole consent for this TPP.
    pub async fn put_consents(&self, access: &Access) -> Result<(), TppError> {
        let body = serde_json::to_vec(access).map_err(|e| TppError::Local(e.to_string()))?;
        Self::expect(self.call(Method::PUT, "consents", Some(body)).await?, None)?;
        Ok(())
    }

    pub async fn balances(&self, resource_id: &str) -> Result<Vec<BalanceResource>, TppError> {
        let path = format!("accounts/{resource_id}/balances");
        let answer = Self::expect(
            self.call(Method::GET, &path, None).await?,
            Some((resource_id, "balances")),
        )?;
        if answer.status == 204 {
            return Ok(vec![]);
        }
        Ok(answer.json::<HalBalances>()?.balances)
    }

    /// GET /transactions between two days (dateFrom inclusive, dateTo exclusive), following the
    /// `next` links of a paginating bank. Each page is one call against the batch allowance.
    pub async fn transactions(
        &self,
        resource_id: &str,
        from: Option<jiff::civil::Date>,
        to: Option<jiff::civil::Date>,
    ) -> Result<Vec<Transaction>, TppError> {
        let mut query = Vec::new();
        if let Some(from) = from {
            query.push(format!("dateFrom={from}T00:00:00.000"));
        }
        if let Some(to) = to {
            query.push(format!("dateTo={to}T00:00:00.000"));
        }
        let mut target = format!("accounts/{resource_id}/transactions");
        if !query.is_empty() {
            target = format!("{target}?{}", query.join("&"));
        }
        let mut all = Vec::new();
        let mut pages = 0;
        loop {
            let answer = Self::expect(
                self.call(Method::GET, &target, None).await?,
                Some((resource_id, "transactions")),
            )?;
            if answer.status == 204 {
                break;
            }
            let page: HalTransactions = answer.json()?;
            all.extend(page.transactions);
            pages += 1;
            match page.links.next {
                Some(next) if pages < 100 => target = next.href,
                _ => break,
            }
        }
        Ok(all)
    }

    pub async fn end_user_identity(&self) -> Result<HalEndUserIdentity, TppError> {
        Self::expect(
            self.call(Method::GET, "end-user-identity", None).await?,
            None,
        )?
        .json()
    }

    pub async fn trusted_beneficiaries(&self) -> Result<Vec<Beneficiary>, TppError> {
        let answer = Self::expect(
            self.call(Method::GET, "trusted-beneficiaries", None)
                .await?,
            None,
        )?;
        if answer.status == 204 {
            return Ok(vec![]);
        }
        Ok(answer.json::<HalBeneficiaries>()?.beneficiaries)
    }

    /// POST /funds-confirmations, with the TPP's client-credentials token (`cbpii`), asked for
    /// when the client has none: the PSU's tokens are neither used nor touched.
    pub async fn funds_confirmation(
        &self,
        request: &PaymentCoverageRequestResource,
    ) -> Result<HalPaymentCoverageReport, TppError> {
        let body = serde_json::to_vec(request).map_err(|e| TppError::Local(e.to_string()))?;
        Self::expect(
            self.call_as(
                Grant::Client("cbpii"),
                Method::POST,
                "funds-confirmations",
                Some(body),
            )
            .await?,
            None,
        )?
        .json()
    }
}
