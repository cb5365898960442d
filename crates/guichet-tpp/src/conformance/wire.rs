//! What a case sends and gets: requests (signed, or deliberately not), answers, and the
//! verdict helpers that turn an answer into a pass or a failure naming what was expected.

use super::Outcome;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

/// The PSU-IP-Address sent when the PSU is "present" (TEST-NET-1, RFC 5737).
pub(crate) const PSU_IP: &str = "192.0.2.1";

/// Why a case stopped before its end.
pub(crate) enum Stop {
    /// The configuration gives no persona for this case.
    Skip(String),
    Fail {
        expected: String,
        got: String,
        request_id: Option<String>,
    },
}

pub(crate) type Step<T> = Result<T, Stop>;

impl Stop {
    pub(crate) fn fail(expected: impl Into<String>, got: impl Into<String>) -> Stop {
        Stop::Fail {
            expected: expected.into(),
            got: got.into(),
            request_id: None,
        }
    }
}

/// The outcome of a case's steps.
pub(crate) fn settle(step: Step<Outcome>) -> Outcome {
    match step {
        Ok(outcome) => outcome,
        Err(Stop::Skip(why)) => Outcome {
            passed: true,
            skipped: true,
            expected: String::new(),
            got: why,
            request_id: None,
        },
        Err(Stop::Fail {
            expected,
            got,
            request_id,
        }) => Outcome {
            passed: false,
            skipped: false,
            expected,
            got,
            request_id,
        },
    }
}

/// A failure shown by `reply`.
pub(crate) fn failure(expected: &str, got: impl Into<String>, reply: &Reply) -> Stop {
    Stop::Fail {
        expected: expected.to_owned(),
        got: got.into(),
        request_id: reply.request_id.clone(),
    }
}

/// Fails with `expected` and what `got` says unless `ok`.
pub(crate) fn ensure(
    ok: bool,
    expected: &str,
    got: impl FnOnce() -> String,
    reply: &Reply,
) -> Step<()> {
    if ok {
        Ok(())
    } else {
        Err(Stop::Fail {
            expected: expected.to_owned(),
            got: got(),
            request_id: reply.request_id.clone(),
        })
    }
}

/// Fails unless the answer's status is one of `wanted`.
pub(crate) fn status_in(reply: &Reply, wanted: &[u16], expected: &str) -> Step<()> {
    ensure(
        wanted.contains(&reply.status),
        expected,
        || reply.describe(),
        reply,
    )
}

/// A passed case.
pub(crate) fn pass(expected: &str, got: impl Into<String>, reply: Option<&Reply>) -> Outcome {
    Outcome {
        passed: true,
        skipped: false,
        expected: expected.to_owned(),
        got: got.into(),
        request_id: reply.and_then(|r| r.request_id.clone()),
    }
}

/// An answer as it came.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// The X-Request-ID sent (none when the case omitted it).
    pub request_id: Option<String>,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub(crate) fn header(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    }

    /// `GET /stet/psd2/v1.4.2/accounts → 403 insufficient_scope: …`.
    pub(crate) fn describe(&self) -> String {
        let value = self.json();
        let error = value["error"].as_str().unwrap_or("");
        let message = value["message"]
            .as_str()
            .or_else(|| value["error_description"].as_str())
            .unwrap_or("");
        let mut text = format!("{} {} → {}", self.method, self.path, self.status);
        if !error.is_empty() {
            text.push(' ');
            text.push_str(error);
        }
        if !message.is_empty() {
            text.push_str(": ");
            text.push_str(&cut(message, 160));
        } else if value.is_null() && !self.body.is_empty() {
            text.push_str(&format!(" ({} bytes, not JSON)", self.body.len()));
        }
        text
    }
}

pub(crate) fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut out: String = text.chars().take(max).collect();
        out.push('…');
        out
    }
}

/// Which key signs a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signing {
    /// The TPP's QSealC, under its keyId.
    Tpp,
    /// None: no `Signature` header.
    None,
    /// The QSealC's key under a keyId that designates no registered certificate.
    UnknownKeyId,
}

/// A request to build, sign and send, with what a case may change.
#[derive(Debug, Clone)]
pub(crate) struct Req {
    pub(crate) method: Method,
    pub(crate) target: String,
    pub(crate) token: Option<String>,
    pub(crate) psu_present: bool,
    pub(crate) accept: Option<String>,
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) signing: Signing,
    pub(crate) request_id: bool,
    pub(crate) after_signing: Vec<(&'static str, String)>,
    pub(crate) body_after_signing: Option<Vec<u8>>,
}

impl Req {
    pub(crate) fn new(method: Method, target: impl Into<String>) -> Req {
        Req {
            method,
            target: target.into(),
            token: None,
            psu_present: true,
            accept: Some("application/hal+json".into()),
            body: None,
            signing: Signing::Tpp,
            request_id: true,
            after_signing: Vec::new(),
            body_after_signing: None,
        }
    }

    pub(crate) fn get(target: impl Into<String>) -> Req {
        Req::new(Method::GET, target)
    }

    pub(crate) fn put(target: impl Into<String>) -> Req {
        Req::new(Method::PUT, target)
    }

    pub(crate) fn post(target: impl Into<String>) -> Req {
        Req::new(Method::POST, target)
    }

    pub(crate) fn token(mut self, token: &str) -> Req {
        self.token = Some(token.to_owned());
        self
    }

    /// Batch mode: no PSU-IP-Address.
    pub(crate) fn batch(mut self) -> Req {
        self.psu_present = false;
        self
    }

    pub(crate) fn accept(mut self, accept: &str) -> Req {
        self.accept = Some(accept.to_owned());
        self
    }

    pub(crate) fn json(mut self, body: &Value) -> Req {
        self.body = Some(serde_json::to_vec(body).unwrap_or_default());
        self
    }

    pub(crate) fn signing(mut self, signing: Signing) -> Req {
        self.signing = signing;
        self
    }

    pub(crate) fn without_request_id(mut self) -> Req {
        self.request_id = false;
        self
    }

    /// Sets a header after the signature was computed (a tampered signed header).
    pub(crate) fn after_signing(mut self, name: &'static str, value: &str) -> Req {
        self.after_signing.push((name, value.to_owned()));
        self
    }

    /// Replaces the body after the Digest was computed.
    pub(crate) fn body_after_signing(mut self, body: Vec<u8>) -> Req {
        self.body_after_signing = Some(body);
        self
    }
}

/// A persona's consent, as PUT /consents sends it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Consent {
    pub balances: Vec<String>,
    pub transactions: Vec<String>,
    pub psu_identity: bool,
    pub trusted_beneficiaries: bool,
}

impl Consent {
    /// Balances and transactions of every account.
    pub(crate) fn all(ibans: &[String]) -> Consent {
        Consent {
            balances: ibans.to_vec(),
            transactions: ibans.to_vec(),
            ..Consent::default()
        }
    }

    pub(crate) fn body(&self) -> Value {
        let list = |ibans: &[String]| -> Vec<Value> {
            ibans.iter().map(|iban| json!({ "iban": iban })).collect()
        };
        json!({
            "balances": list(&self.balances),
            "transactions": list(&self.transactions),
            "trustedBeneficiaries": self.trusted_beneficiaries,
            "psuIdentity": self.psu_identity,
        })
    }
}
