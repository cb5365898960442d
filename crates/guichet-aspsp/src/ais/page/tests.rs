use guichet_stet::model::{
    BankTransactionCode, GenericLink, HalTransactions, RemittanceInformation, Transaction,
    TransactionsLinks,
};
use guichet_store::TransactionRecord;
use guichet_store::operation_json::{
    operation_json, push_rendered, push_with_status, structured_remittance,
};
use proptest::prelude::*;

use http_body::Body;

use super::PageBody;
use crate::ais::amount;

/// The model of an operation, built field by field: the reference the writer must match.
fn model(row: &TransactionRecord, pending_status: &str) -> Transaction {
    let booked = row.status == "BOOK";
    Transaction {
        resource_id: Some(row.resource_id.clone()),
        entry_reference: row.entry_reference.clone(),
        transaction_amount: amount(row.amount_minor, &row.currency),
        credit_debit_indicator: row.credit_debit.clone(),
        status: if booked {
            "BOOK".into()
        } else {
            pending_status.into()
        },
        expected_booking_date: (!booked).then(|| row.imputation_date.clone()),
        booking_date: booked.then(|| row.imputation_date.clone()),
        value_date: row.value_date.clone(),
        transaction_date: row.transaction_date.clone(),
        bank_transaction_code: row.btc.clone().and_then(
            |[domain, family, sub_family, code, issuer]| {
                Some(BankTransactionCode {
                    domain: domain?,
                    family: family?,
                    sub_family: sub_family?,
                    code,
                    issuer,
                })
            },
        ),
        remittance_information: remittance(row),
        additional_transaction_information: None,
    }
}

/// STET 1.4.2 RemittanceInformation: the line and the structured items, each when not empty.
fn remittance(row: &TransactionRecord) -> Option<RemittanceInformation> {
    let information = RemittanceInformation {
        unstructured: if row.remittance.is_empty() {
            vec![]
        } else {
            vec![row.remittance.clone()]
        },
        structured: structured_remittance(row.remittance_structured.as_deref()),
    };
    (!information.unstructured.is_empty() || !information.structured.is_empty())
        .then_some(information)
}

/// What the store may hold as structured remittance: creditor references as the import writes
/// them, an empty array, or something that is not an array of JSON values.
fn structured() -> impl Strategy<Value = String> {
    let reference = (text(), proptest::option::of(text())).prop_map(|(reference, issuer)| {
        let mut kind = serde_json::json!({"code": "SCOR"});
        if let Some(issuer) = issuer {
            kind["issuer"] = serde_json::Value::String(issuer);
        }
        serde_json::json!({"creditorReferenceInformation": {"type": kind, "reference": reference}})
    });
    prop_oneof![
        proptest::collection::vec(reference, 0..3)
            .prop_map(|items| serde_json::Value::Array(items).to_string()),
        Just("not JSON".to_owned()),
        Just(r#"{"an": "object"}"#.to_owned()),
    ]
}

fn text() -> impl Strategy<Value = String> {
    // Quotes, backslashes, control characters, accents and emoji: everything JSON escapes.
    "[a-zA-Z0-9 \"\\\\/\u{0}-\u{1f}éàç€😀-]{0,24}"
}

fn record() -> impl Strategy<Value = TransactionRecord> {
    (
        (
            text(),
            proptest::option::of(text()),
            any::<i64>(),
            "[A-Z]{3}",
        ),
        (
            prop_oneof!["CRDT", "DBIT"],
            prop_oneof!["BOOK", "PDNG", "OTHR"],
            "20[0-9]{2}-[01][0-9]-[0-3][0-9]",
            proptest::option::of("20[0-9]{2}-[01][0-9]-[0-3][0-9]"),
            proptest::option::of("20[0-9]{2}-[01][0-9]-[0-3][0-9]"),
        ),
        (
            text(),
            proptest::option::of(proptest::array::uniform5(proptest::option::of(text()))),
            proptest::option::of(structured()),
        ),
    )
        .prop_map(
            |(
                (resource_id, entry_reference, amount_minor, currency),
                dates,
                (remittance, btc, remittance_structured),
            )| {
                let (credit_debit, status, imputation_date, value_date, transaction_date) = dates;
                TransactionRecord {
                    account_id: "CPT1".into(),
                    seq: 1,
                    resource_id,
                    entry_reference,
                    amount_minor,
                    currency,
                    credit_debit,
                    status,
                    imputation_date,
                    value_date,
                    transaction_date,
                    remittance,
                    remittance_structured,
                    btc,
                }
            },
        )
}

proptest! {
    #[test]
    fn pages_are_the_bytes_the_model_serialises_to(
        rows in proptest::collection::vec(record(), 1..20),
        pending in prop_oneof!["PDNG", "OTHR"],
        paginated in any::<bool>(),
    ) {
        let links = TransactionsLinks {
            self_: GenericLink::to("/accounts/CPT1/transactions?page=2"),
            parent_list: Some(GenericLink::to("/accounts")),
            balances: None,
            first: paginated.then(|| GenericLink::to("/accounts/CPT1/transactions?page=1")),
            last: paginated.then(|| GenericLink::to("/accounts/CPT1/transactions?page=3")),
            next: None,
            prev: None,
        };
        // As the store answers a page: each operation's kept JSON, its pending status spliced.
        let mut operations = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            if i > 0 {
                operations.push(b',');
            }
            push_with_status(&mut operations, &operation_json(&row.as_ref()), &pending);
        }
        let body = PageBody::new(operations.into(), &links);
        let written = body.to_vec();
        // As it answers one whose rows lack their JSON: rendered from the columns.
        let mut operations = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            if i > 0 {
                operations.push(b',');
            }
            push_rendered(&mut operations, &row.as_ref(), &pending);
        }
        let rendered = PageBody::new(operations.into(), &links).to_vec();
        prop_assert_eq!(&written, &rendered);
        let expected = serde_json::to_vec(&HalTransactions {
            transactions: rows.iter().map(|row| model(row, &pending)).collect(),
            links,
        })?;
        prop_assert_eq!(String::from_utf8_lossy(&written), String::from_utf8_lossy(&expected));
    }
}

/// The frames of a page: the opening, the operations as given (the same bytes, not a copy),
/// the links; an empty part is not sent, and the size announced is what is sent.
#[test]
fn a_page_is_sent_in_its_parts_without_copying_the_operations() {
    let links = TransactionsLinks {
        self_: GenericLink::to("/accounts/CPT1/transactions"),
        parent_list: None,
        balances: None,
        first: None,
        last: None,
        next: None,
        prev: None,
    };
    let poll_all = |mut body: PageBody| {
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        let mut frames = Vec::new();
        while let std::task::Poll::Ready(Some(Ok(frame))) =
            std::pin::Pin::new(&mut body).poll_frame(&mut context)
        {
            frames.push(frame.into_data().unwrap_or_default());
        }
        assert!(body.is_end_stream());
        assert_eq!(body.size_hint().exact(), Some(0));
        frames
    };
    let operations = axum::body::Bytes::from_static(b"{\"resourceId\":\"A\"}");
    let body = PageBody::new(operations.clone(), &links);
    assert!(!body.is_end_stream());
    let announced = body.size_hint().exact();
    let frames = poll_all(body);
    assert_eq!(frames.len(), 3);
    assert_eq!(&frames[0][..], b"{\"transactions\":[");
    assert_eq!(
        frames[1].as_ptr(),
        operations.as_ptr(),
        "the operations are not copied"
    );
    assert_eq!(
        &frames[2][..],
        b"],\"_links\":{\"self\":{\"href\":\"/accounts/CPT1/transactions\"}}}"
    );
    let sent: usize = frames.iter().map(|f| f.len()).sum();
    assert_eq!(announced, u64::try_from(sent).ok());
    let empty = poll_all(PageBody::new(axum::body::Bytes::new(), &links));
    assert_eq!(empty.len(), 2, "no empty frame");
}
