use super::*;

fn date(year: i16, month: i8, day: i8) -> Option<Date> {
    Date::new(year, month, day).ok()
}

#[test]
fn amounts_are_unsigned_decimals() {
    assert_eq!(parse_amount("12.50"), Ok(Decimal::new(1250, 2)));
    assert_eq!(parse_amount("+3"), Ok(Decimal::new(3, 0)));
    assert_eq!(parse_amount(".5"), Ok(Decimal::new(5, 1)));
    assert_eq!(parse_amount("7."), Ok(Decimal::new(7, 0)));
    assert_eq!(parse_amount("-0.00"), Ok(Decimal::ZERO));
    assert_eq!(
        parse_amount("abc"),
        Err("'abc' is not an amount".to_owned())
    );
    for wrong in ["", ".", "1.2.3", "1,50", "1e3", " 1", "--1", "12 EUR"] {
        assert!(parse_amount(wrong).is_err(), "{wrong:?}");
    }
    match parse_amount("-4.10") {
        Err(message) => assert!(message.contains("negative"), "{message}"),
        Ok(value) => panic!("-4.10 read as {value}"),
    }
    assert!(parse_amount(&"9".repeat(40)).is_err());
}

#[test]
fn currencies_are_three_capitals() {
    assert_eq!(parse_currency("EUR"), Ok("EUR".to_owned()));
    for wrong in ["eur", "EU", "EURO", "€", "E1R"] {
        assert!(parse_currency(wrong).is_err(), "{wrong:?}");
    }
}

#[test]
fn dates_are_iso_or_the_start_of_a_date_time() {
    assert_eq!(parse_date("2024-03-05").ok(), date(2024, 3, 5));
    assert_eq!(parse_date("2024-03-05Z").ok(), date(2024, 3, 5));
    assert_eq!(parse_date("2024-03-05+01:00").ok(), date(2024, 3, 5));
    assert_eq!(parse_date("2024-03-05T17:30:00").ok(), date(2024, 3, 5));
    assert_eq!(
        parse_date("2024-03-05T17:30:00.000+01:00").ok(),
        date(2024, 3, 5)
    );
    for wrong in [
        "05/03/2024",
        "2024-3-5",
        "20240305",
        "2024-03-05 17:30",
        "2024-02-30",
        "2024-13-01",
        "",
        "2024-03-0é",
    ] {
        assert!(parse_date(wrong).is_err(), "{wrong:?}");
    }
}

#[test]
fn indicators_and_sequences() {
    assert_eq!(parse_credit_debit("CRDT"), Ok(CreditDebit::Credit));
    assert_eq!(parse_credit_debit("DBIT"), Ok(CreditDebit::Debit));
    assert!(parse_credit_debit("CREDIT").is_err());
    assert_eq!(parse_indicator("true"), Ok(true));
    assert_eq!(parse_indicator("0"), Ok(false));
    assert!(parse_indicator("yes").is_err());
    assert_eq!(parse_sequence("0042"), Ok(42));
    assert!(parse_sequence("-1").is_err());
    assert!(parse_sequence("1.5").is_err());
    assert!(parse_sequence(&"1".repeat(19)).is_err());
}
