//! The labels of the bank's metrics: what an API call did, how an SCA ended, and the typed
//! label sets of each family (field order is label order in the output).

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};

/// What an API call did, for the `operation` label.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Operation {
    /// Account information: accounts, balances, transactions, consents, identity.
    Ais,
    /// Funds confirmation.
    Cbpii,
    /// Payment initiation.
    Pis,
    /// `/token`, `/revoke`, the authorization code exchange.
    OAuth,
    /// TPP registration.
    Register,
    /// The PSU's pages (authorize, SCA).
    PsuPages,
    /// Anything else (unknown paths, the edge's own refusals).
    Other,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Ais => "ais",
            Operation::Cbpii => "cbpii",
            Operation::Pis => "pis",
            Operation::OAuth => "oauth",
            Operation::Register => "register",
            Operation::PsuPages => "psu_pages",
            Operation::Other => "other",
        }
    }
}

impl EncodeLabelValue for Operation {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

/// How a strong customer authentication ended, for the `outcome` label.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum ScaOutcome {
    Success,
    Failure,
    /// Refused because the PSU (or the client address) is blocked after too many failures.
    Blocked,
    /// Started and never finished (expired).
    Abandoned,
}

impl ScaOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ScaOutcome::Success => "success",
            ScaOutcome::Failure => "failure",
            ScaOutcome::Blocked => "blocked",
            ScaOutcome::Abandoned => "abandoned",
        }
    }
}

impl EncodeLabelValue for ScaOutcome {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

/// The database pool's two gauges.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub(super) enum PoolState {
    Size,
    Idle,
}

impl EncodeLabelValue for PoolState {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        let text = match self {
            PoolState::Size => "size",
            PoolState::Idle => "idle",
        };
        EncodeLabelValue::encode(&text, encoder)
    }
}

// The label sets. Field order is label order in the output.

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct RequestLabels {
    pub(super) bank: String,
    pub(super) api_version: String,
    pub(super) operation: Operation,
    pub(super) status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct DurationLabels {
    pub(super) bank: String,
    pub(super) operation: Operation,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct ReasonLabels {
    pub(super) reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct CacheLabels {
    pub(super) result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct BankLabels {
    pub(super) bank: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct ScaLabels {
    pub(super) bank: String,
    pub(super) outcome: ScaOutcome,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct TokenLabels {
    pub(super) bank: String,
    pub(super) kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct PoolLabels {
    pub(super) state: PoolState,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct ListenerLabels {
    pub(super) listener: String,
}
