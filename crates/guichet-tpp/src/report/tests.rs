//! Unit tests of the parent module.

use super::*;

fn account(bank: &str, iban: &str, balance: Option<i64>) -> LocalAccount {
    LocalAccount {
        bank: bank.into(),
        iban: iban.into(),
        resource_id: None,
        name: format!("Account {iban}"),
        currency: "EUR".into(),
        balance: balance.map(|cents| Decimal::new(cents, 2)),
    }
}

fn booked(bank: &str, iban: &str, day: Date, cents: i64, label: &str) -> Operation {
    Operation {
        bank: bank.into(),
        iban: iban.into(),
        key: format!("{iban}-{day}-{cents}"),
        transaction_id: None,
        entry_reference: None,
        amount: Decimal::new(cents, 2),
        currency: "EUR".into(),
        status: "BOOK".into(),
        booking_date: Some(day),
        value_date: None,
        expected_booking_date: None,
        remittance: vec![label.into()],
        bank_transaction_code: None,
    }
}

#[test]
fn the_history_goes_back_from_the_synced_balance() {
    let d = |day| jiff::civil::date(2026, 11, day);
    let history = account_history(
        Decimal::new(1000, 0),
        &[(d(3), Decimal::new(-100, 0)), (d(5), Decimal::new(50, 0))],
        &[d(1), d(2), d(3), d(4), d(5), d(6)],
    );
    let expected: Vec<Decimal> = [1050, 1050, 950, 950, 1000, 1000]
        .into_iter()
        .map(|v| Decimal::new(v, 0))
        .collect();
    assert_eq!(history, expected);
}

#[test]
fn banks_are_summed_day_by_day() {
    let d = |day| jiff::civil::date(2026, 11, day);
    let accounts = vec![
        account("17515", "FR7617515000000000000000001", Some(100_000)),
        account("17515", "FR7617515000000000000000002", Some(50_000)),
        account("30258", "FR7630258000000000000000003", Some(20_000)),
        account("30258", "FR7630258000000000000000004", None),
    ];
    let operations = [
        booked(
            "17515",
            "FR7617515000000000000000001",
            d(2),
            -10_000,
            "CB SHOP",
        ),
        booked(
            "30258",
            "FR7630258000000000000000003",
            d(3),
            5_000,
            "VIR RECU",
        ),
    ];
    let mut options = ReportOptions::new(d(1), d(4));
    options.customer = Some("  Georges Dupont ".into());
    options
        .bank_names
        .insert("17515".into(), "Caisse d'Epargne".into());
    options.last_sync.insert(
        "17515".into(),
        Timestamp::from_second(1_795_000_000).unwrap_or_default(),
    );
    options.last_sync_days.insert("30258".into(), d(3));
    let report = compute(accounts, &operations, &options);
    assert_eq!(report.customer.as_deref(), Some("Georges Dupont"));
    assert_eq!(report.banks.len(), 2);
    assert_eq!(report.banks[0].title(), "Caisse d'Epargne (17515)");
    assert_eq!(report.banks[1].title(), "30258");
    assert_eq!(report.banks[1].last_sync.as_deref(), Some("2026-11-03"));
    assert!(
        report.banks[0]
            .last_sync
            .as_deref()
            .is_some_and(|s| s.ends_with(" UTC")),
        "{:?}",
        report.banks[0].last_sync
    );
    let totals: Vec<Decimal> = report.history.iter().map(|(_, v)| *v).collect();
    // Day 1: 1000 + 500 + 200 - (-100) - 50; day 2: after the card payment; day 3: all.
    assert_eq!(
        totals,
        [175_000, 165_000, 170_000]
            .into_iter()
            .map(|c| Decimal::new(c, 2))
            .collect::<Vec<_>>()
    );
    assert_eq!(report.banks[0].history[0], Decimal::new(160_000, 2));
    assert_eq!(report.income, Decimal::new(5_000, 2));
    assert_eq!(report.spending, Decimal::new(10_000, 2));
    assert_eq!(report.categories[0].category, Category::Card);
    assert_eq!(report.categories[0].count, 1);
    assert_eq!(charts(&report).len(), 3);
}

#[test]
fn money_is_grouped() {
    assert_eq!(money(Decimal::new(1_834_256, 2), "EUR"), "18,342.56 EUR");
    assert_eq!(money(Decimal::new(-150, 0), "EUR"), "-150.00 EUR");
    assert_eq!(money(Decimal::new(-1, 3), "EUR"), "0.00 EUR");
}

#[test]
fn times_are_shown_in_the_time_zone() {
    let at = Timestamp::from_second(1_795_000_000).unwrap_or_default();
    let paris = TimeZone::get("Europe/Paris").unwrap_or(TimeZone::UTC);
    let shown = format_time(at, &paris);
    assert!(shown.ends_with(" Europe/Paris"), "{shown}");
    assert_eq!(format_time(at, &TimeZone::UTC), "2026-11-18 11:06 UTC");
}
