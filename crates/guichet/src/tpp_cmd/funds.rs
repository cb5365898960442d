//! `guichet tpp funds-check`: is an amount covered on an account (CBPII)? The call carries the
//! TPP's client-credentials token, which the client keeps apart: the PSU's tokens stay as
//! they are.

use guichet_stet::AmountType;
use guichet_stet::model::{AccountIdentification, PaymentCoverageRequestResource};
use guichet_tpp::Workspace;

use super::args::FundsArgs;
use super::output::Output;

pub async fn run(args: FundsArgs, out: Output) -> anyhow::Result<()> {
    let workspace = Workspace::open(&args.common.dir)?;
    let client = workspace.client(&args.bank, Some(args.common.psu_ip.clone()))?;
    let iban = workspace.account_iban(&client, &args.account).await?;
    let request = PaymentCoverageRequestResource {
        payment_coverage_request_id: guichet_tpp::new_request_id().chars().take(35).collect(),
        payee: None,
        instructed_amount: AmountType {
            currency: args.currency.clone(),
            amount: guichet_stet::Amount::parse(&args.amount)?,
        },
        account_id: AccountIdentification {
            iban: Some(iban.clone()),
            other: None,
            currency: None,
        },
    };
    let report = client.funds_confirmation(&request).await?;
    out.show(&report, || {
        format!(
            "{} {} on {iban}: {}\n",
            args.amount,
            args.currency,
            if report.result {
                "covered"
            } else {
                "NOT covered"
            }
        )
    })
}
