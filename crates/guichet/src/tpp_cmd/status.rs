//! `guichet tpp status`: where the TPP stands with each bank, the tokens checked with the bank
//! (rules: `guichet_tpp::status`).

use guichet_tpp::Workspace;

use super::args::Common;
use super::output::Output;

pub async fn run(common: Common, out: Output) -> anyhow::Result<()> {
    let workspace = Workspace::open(&common.dir)?;
    let status = workspace
        .status(jiff::Timestamp::now(), Some(common.psu_ip))
        .await?;
    out.show(&status.banks, || status.describe())
}
