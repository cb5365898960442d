use super::*;
use crate::sandbox::personas::PERSONAS;

fn georges() -> &'static AccountSpec {
    &PERSONAS[2].accounts[0]
}

#[test]
fn the_same_day_gives_the_same_history() {
    let today = jiff::civil::date(2026, 11, 24);
    let a = history("17515", "FR76X", "A", georges(), today);
    let b = history("17515", "FR76X", "A", georges(), today);
    assert_eq!(a.transactions, b.transactions);
    assert!(a.transactions.len() > 300);
}

#[test]
fn an_operation_keeps_its_identity_when_it_is_booked() {
    let today = jiff::civil::date(2026, 11, 24);
    let first = history("17515", "FR76X", "A", georges(), today);
    let later = history(
        "17515",
        "FR76X",
        "A",
        georges(),
        jiff::civil::date(2026, 11, 27),
    );
    let pending: Vec<_> = first
        .transactions
        .iter()
        .filter(|t| t.status == "OTHR")
        .collect();
    assert!(
        !pending.is_empty(),
        "the sandbox must show operations not yet booked"
    );
    for op in pending {
        let again = later.transactions.iter().find(|t| t.seq == op.seq);
        let Some(again) = again else {
            panic!("operation {} vanished", op.seq)
        };
        assert_eq!(again.status, "BOOK");
        assert_eq!(again.resource_id, op.resource_id);
        if op.entry_reference.is_some() {
            assert_eq!(again.entry_reference, op.entry_reference);
        }
    }
}

#[test]
fn entry_references_have_the_portal_lengths() {
    let today = jiff::civil::date(2026, 11, 24);
    let generated = history("17515", "FR76X", "A", georges(), today);
    let mut lengths: Vec<usize> = generated
        .transactions
        .iter()
        .filter_map(|t| t.entry_reference.as_ref().map(String::len))
        .collect();
    lengths.sort_unstable();
    lengths.dedup();
    assert_eq!(lengths, vec![25, 30, 40]);
}

#[test]
fn card_and_paylib_payments_come_last_in_their_day() {
    let today = jiff::civil::date(2026, 11, 24);
    let generated = history("17515", "FR76X", "A", georges(), today);
    let late = |t: &TransactionRecord| {
        t.remittance.starts_with("CB ") || t.remittance.starts_with("PAYLIB")
    };
    let mut days = std::collections::BTreeMap::<&str, Vec<&TransactionRecord>>::new();
    for t in &generated.transactions {
        days.entry(t.imputation_date.as_str()).or_default().push(t);
    }
    for (day, mut ops) in days {
        ops.sort_by_key(|t| t.seq);
        let flags: Vec<bool> = ops.iter().map(|t| late(t)).collect();
        assert!(flags.windows(2).all(|w| w[0] <= w[1]), "{day}: {flags:?}");
    }
    // So on the two days not yet closed, the pending operations follow the booked ones.
    let pending_after_booked = generated.transactions.iter().all(|t| {
        t.status == "BOOK"
            || generated.transactions.iter().all(|o| {
                o.imputation_date != t.imputation_date || o.status != "BOOK" || o.seq < t.seq
            })
    });
    assert!(pending_after_booked);
}

#[test]
fn professionals_invoices_carry_an_iso_11649_reference() {
    assert_eq!(iso11649("539007547034"), "RF18539007547034");
    assert_eq!(iso11649("2024INV0042"), "RF302024INV0042");
    let today = jiff::civil::date(2026, 11, 24);
    let generated = history("17515", "FR76X", "A", georges(), today);
    let invoices: Vec<&TransactionRecord> = generated
        .transactions
        .iter()
        .filter(|t| t.remittance.contains("MOTIF FACTURE"))
        .collect();
    assert!(!invoices.is_empty());
    for t in invoices {
        let invoice: String = t
            .remittance
            .rsplit("FACTURE ")
            .next()
            .unwrap_or_default()
            .replace('-', "");
        let expected = structured_remittance(&[CreditorReference::iso11649(iso11649(&invoice))]);
        assert_eq!(t.remittance_structured, expected, "{}", t.remittance);
    }
    assert!(
        generated
            .transactions
            .iter()
            .filter(|t| !t.remittance.contains("MOTIF FACTURE"))
            .all(|t| t.remittance_structured.is_none())
    );
}
