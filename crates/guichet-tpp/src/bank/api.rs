//! The typed STET calls of a bank client.

use guichet_stet::model::{
    Access, AccountResource, BalanceResource, Beneficiary, HalAccounts, HalBalances,
    HalBeneficiaries, HalEndUserIdentity, HalPaymentCoverageReport, HalTransactions,
    PaymentCoverageRequestResource, Transaction,
};
use reqwest::Method;

use super::{Answer, BankClient};
use crate::error::TppError;

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

    pub async fn funds_confirmation(
        &self,
        request: &PaymentCoverageRequestResource,
    ) -> Result<HalPaymentCoverageReport, TppError> {
        let body = serde_json::to_vec(request).map_err(|e| TppError::Local(e.to_string()))?;
        Self::expect(
            self.call(Method::POST, "funds-confirmations", Some(body))
                .await?,
            None,
        )?
        .json()
    }
}
