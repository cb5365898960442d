//! The HTML report of a synced store: the customer's name, each bank's last sync, charts with
//! axes, dated ticks, amount ticks and a legend, the categories, and every text from a bank or
//! the caller escaped.

use std::path::PathBuf;

use guichet_tpp::report::{self, Category, ReportOptions};
use guichet_tpp::{LocalStore, sync};
use jiff::Timestamp;
use jiff::civil::date;
use jiff::tz::TimeZone;
use rust_decimal::Decimal;
use serde_json::json;

const CE: &str = "17515";
const CE_IBAN: &str = "FR7617515000920400000000001";
const BTP: &str = "30258";
const BTP_IBAN: &str = "FR7630258000010000000000042";
/// 2026-11-18T11:06:40Z, 12:06 in Paris.
const NOW: i64 = 1_795_000_000;

fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("guichet-tpp-report-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("{}: {e}", dir.display());
    }
    dir
}

async fn store(dir: &std::path::Path) -> LocalStore {
    let store = match LocalStore::open(&dir.join("tpp.db")).await {
        Ok(store) => store,
        Err(e) => panic!("{e}"),
    };
    let accounts = [
        (CE, CE_IBAN, "Compte <courant> & co", 300_000),
        (BTP, BTP_IBAN, "Compte pro", 25_000),
    ];
    for (bank, iban, name, cents) in accounts {
        let saved = store.save_account(bank, iban, None, name, "EUR").await;
        assert!(saved.is_ok(), "{saved:?}");
        let saved = store
            .save_balance(bank, iban, "CLBD", Decimal::new(cents, 2), "EUR", None, NOW)
            .await;
        assert!(saved.is_ok(), "{saved:?}");
    }
    let operations = [
        (
            CE,
            "T1",
            "12.50",
            "DBIT",
            "BOOK",
            "2026-08-02",
            "CB CARREFOUR MARKET 01/08",
        ),
        (
            CE,
            "T3",
            "45.90",
            "DBIT",
            "BOOK",
            "2026-11-05",
            "PRLV SEPA EDF",
        ),
        (
            CE,
            "T5",
            "20.00",
            "DBIT",
            "BOOK",
            "2026-11-10",
            "CB BOULANGERIE <PAUL> 09/11",
        ),
        (
            CE,
            "T6",
            "40.00",
            "DBIT",
            "BOOK",
            "2026-11-12",
            "RETRAIT DAB 12/11 PARIS",
        ),
        (
            CE,
            "T4",
            "30.00",
            "DBIT",
            "OTHR",
            "2026-11-25",
            "CB PENDING SHOP",
        ),
        (
            BTP,
            "U1",
            "8.00",
            "DBIT",
            "BOOK",
            "2026-10-15",
            "FRAIS TENUE DE COMPTE",
        ),
        (
            BTP,
            "U2",
            "500.00",
            "CRDT",
            "BOOK",
            "2026-11-02",
            "VIR SEPA RECU /DE SCI LES TILLEULS",
        ),
    ];
    for (bank, id, amount, direction, status, day, label) in operations {
        let iban = if bank == CE { CE_IBAN } else { BTP_IBAN };
        let day_field = if status == "BOOK" {
            "bookingDate"
        } else {
            "expectedBookingDate"
        };
        let mut tx = json!({
            "resourceId": id,
            "transactionAmount": {"currency": "EUR", "amount": amount},
            "creditDebitIndicator": direction, "status": status,
            "remittanceInformation": {"unstructured": [label]}
        });
        tx[day_field] = json!(day);
        let tx: guichet_stet::model::Transaction = match serde_json::from_value(tx.clone()) {
            Ok(tx) => tx,
            Err(e) => panic!("{tx}: {e}"),
        };
        let saved = store
            .upsert_transaction(&sync::local(bank, iban, &tx), NOW)
            .await;
        assert!(saved.is_ok(), "{saved:?}");
    }
    let recorded = store.record_sync(CE, NOW, "2026-11-18").await;
    assert!(recorded.is_ok(), "{recorded:?}");
    store
}

#[tokio::test]
async fn the_html_report_has_labelled_charts_the_customer_the_sync_time_and_categories() {
    let dir = scratch("html");
    let store = store(&dir).await;
    let mut options = ReportOptions::new(date(2026, 10, 20), date(2026, 11, 19));
    options.customer = Some("Georges <Dupont> & fils".into());
    options
        .bank_names
        .insert(CE.into(), "Caisse d'Epargne <IDF>".into());
    options.bank_names.insert(BTP.into(), "BTP Banque".into());
    options.time_zone = match TimeZone::get("Europe/Paris") {
        Ok(zone) => zone,
        Err(e) => panic!("{e}"),
    };
    options.generated = Timestamp::from_second(NOW).ok();
    let built = match report::build_with(&store, options).await {
        Ok(built) => built,
        Err(e) => panic!("{e}"),
    };

    // The figures.
    assert_eq!(built.income, Decimal::new(50_000, 2));
    assert_eq!(built.spending, Decimal::new(10_590, 2));
    assert_eq!(built.history.len(), 30);
    assert_eq!(built.history[0].1, Decimal::new(285_590, 2));
    assert_eq!(built.history[29].1, Decimal::new(325_000, 2));
    let count = |category: Category| {
        built
            .categories
            .iter()
            .find(|c| c.category == category)
            .map_or(0, |c| c.count)
    };
    assert_eq!(count(Category::Card), 1);
    assert_eq!(count(Category::Cash), 1);
    assert_eq!(count(Category::DirectDebit), 1);
    assert_eq!(count(Category::Transfer), 1);
    assert_eq!(count(Category::Fees), 0);
    assert_eq!(built.banks[0].pending, 1);

    // askama escapes with numeric references; the checks below read them as named ones.
    let html = report::html(&built)
        .replace("&#60;", "&lt;")
        .replace("&#62;", "&gt;")
        .replace("&#38;", "&amp;");
    // The customer, escaped.
    // askama escapes with numeric references.
    assert!(
        html.contains("Georges &#60;Dupont&#62; &#38; fils")
            || html.contains("Georges &lt;Dupont&gt; &amp; fils"),
        "{html}"
    );
    assert!(!html.contains("<Dupont>"));
    // Each bank's last sync, in the banks' time zone.
    assert!(
        html.contains("<td class=\"last-sync\">2026-11-18 12:06 Europe/Paris</td>"),
        "{html}"
    );
    assert!(
        html.contains("<td class=\"last-sync\">never</td>"),
        "{html}"
    );
    assert!(html.contains("report made 2026-11-18 12:06 Europe/Paris"));
    // Charts: every bank and the total, then one per bank; both axes, labelled.
    assert_eq!(html.matches("<svg ").count(), 3, "{html}");
    assert_eq!(html.matches("class=\"x-axis\"").count(), 3);
    assert_eq!(html.matches("class=\"y-axis\"").count(), 3);
    assert!(html.contains(">Balance (EUR)</text>"));
    assert!(html.contains(">Day (end of day balance, 2026-10-20 to 2026-11-18)</text>"));
    // Dated ticks (30 days: the 1st, 8th, 15th and 22nd) and amount ticks.
    for day in ["22 Oct", "1 Nov", "8 Nov", "15 Nov"] {
        assert!(html.contains(&format!(">{day}</text>")), "{day}: {html}");
    }
    assert!(html.contains(">-1,000</text>"), "{html}");
    assert!(html.contains(">3,000</text>"), "{html}");
    // The legend names the banks (escaped) and the total.
    assert!(
        html.contains(">Caisse d&#39;Epargne &lt;IDF&gt; (17515)</text>"),
        "{html}"
    );
    assert!(html.contains(">BTP Banque (30258)</text>"));
    assert!(html.contains(">Total</text>"));
    assert!(!html.contains("<IDF>"));
    // Accounts, escaped.
    assert!(html.contains("Compte &lt;courant&gt; &amp; co"));
    assert!(!html.contains("<courant>"));
    assert!(html.contains("3,250.00 EUR"));
    // Categories.
    assert!(
        html.contains("<td>Card</td><td class=\"n\">1</td><td class=\"n\">20.00 EUR</td>"),
        "{html}"
    );
    assert!(html.contains("<td>Cash</td><td class=\"n\">1</td><td class=\"n\">40.00 EUR</td>"));
    assert!(
        html.contains("<td>Direct debit</td><td class=\"n\">1</td><td class=\"n\">45.90 EUR</td>")
    );
    assert!(html.contains(
        "<td>Transfer</td><td class=\"n\">1</td><td class=\"n\">0.00 EUR</td><td class=\"n\">500.00 EUR</td>"
    ));
    // No script, no external resource.
    assert!(!html.contains("<script"));
    assert!(!html.contains("src="));

    let table = report::table(&built);
    assert!(
        table.contains("Customer: Georges <Dupont> & fils"),
        "{table}"
    );
    assert!(
        table.contains("last synced 2026-11-18 12:06 Europe/Paris"),
        "{table}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_report_from_the_store_alone_still_dates_the_last_sync() {
    let dir = scratch("alone");
    let store = store(&dir).await;
    let built = match report::build(&store, date(2026, 11, 1), date(2026, 11, 19)).await {
        Ok(built) => built,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(built.customer, None);
    assert_eq!(
        built.banks[0].last_sync.as_deref(),
        Some("2026-11-18 11:06 UTC")
    );
    assert_eq!(built.banks[1].last_sync, None);
    assert!(report::html(&built).contains("<svg "));
    let _ = std::fs::remove_dir_all(&dir);
}
