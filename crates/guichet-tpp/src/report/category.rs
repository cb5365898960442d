//! What an operation is, by simple rules: from the bank transaction code when the bank gave
//! one, else from the words of its label.

use guichet_stet::model::BankTransactionCode;
use jiff::civil::Date;
use rust_decimal::Decimal;

use crate::export::Operation;

/// The kinds of operation the report tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    Card,
    Transfer,
    DirectDebit,
    Fees,
    Cash,
    Other,
}

impl Category {
    /// Every category, in the report's order.
    pub const ALL: [Category; 6] = [
        Category::Card,
        Category::Transfer,
        Category::DirectDebit,
        Category::Fees,
        Category::Cash,
        Category::Other,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Category::Card => "Card",
            Category::Transfer => "Transfer",
            Category::DirectDebit => "Direct debit",
            Category::Fees => "Fees",
            Category::Cash => "Cash",
            Category::Other => "Other",
        }
    }
}

/// From an ISO 20022 bank transaction code (External Code Sets, BankTransactionCode): the
/// sub-family first (cash withdrawals and deposits, charges), then the family.
fn from_code(code: &BankTransactionCode) -> Option<Category> {
    let family = code.family.trim().to_ascii_uppercase();
    let sub_family = code.sub_family.trim().to_ascii_uppercase();
    match sub_family.as_str() {
        // Cash withdrawal, cash deposit, at a machine or a counter.
        "CWDL" | "CDPT" => return Some(Category::Cash),
        // Charges, fees, commissions.
        "CHRG" | "FEES" | "COMM" | "COMT" => return Some(Category::Fees),
        _ => {}
    }
    match family.as_str() {
        // Customer and merchant card transactions.
        "CCRD" | "MCRD" => Some(Category::Card),
        // Issued and received credit transfers, standard and real-time.
        "ICDT" | "RCDT" | "IRCT" | "RRCT" => Some(Category::Transfer),
        // Issued and received direct debits.
        "IDDT" | "RDDT" => Some(Category::DirectDebit),
        // Counter transactions.
        "CNTR" => Some(Category::Cash),
        _ => None,
    }
}

/// A label's words, upper case without accents: `Prélèvement` reads `PRELEVEMENT`.
fn words(label: &str) -> Vec<String> {
    let folded: String = label
        .to_uppercase()
        .chars()
        .map(|c| match c {
            'À' | 'Â' | 'Ä' => 'A',
            'É' | 'È' | 'Ê' | 'Ë' => 'E',
            'Î' | 'Ï' => 'I',
            'Ô' | 'Ö' => 'O',
            'Ù' | 'Û' | 'Ü' => 'U',
            'Ç' => 'C',
            c => c,
        })
        .collect();
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// From the label's words, as French banks write them: fees before anything they are fees
/// of (`FRAIS RETRAIT DAB`), cash withdrawals before the card that made them (`RETRAIT CB`).
fn from_label(label: &str) -> Category {
    let words = words(label);
    let has = |candidates: &[&str]| words.iter().any(|w| candidates.contains(&w.as_str()));
    if has(FEES_WORDS) {
        Category::Fees
    } else if has(CASH_WORDS) {
        Category::Cash
    } else if has(DIRECT_DEBIT_WORDS) {
        Category::DirectDebit
    } else if has(CARD_WORDS) {
        Category::Card
    } else if has(TRANSFER_WORDS) {
        Category::Transfer
    } else {
        Category::Other
    }
}

const FEES_WORDS: &[&str] = &["FRAIS", "COMMISSION", "COMMISSIONS", "COTISATION", "AGIOS"];
const CASH_WORDS: &[&str] = &["RETRAIT", "DAB", "GAB"];
const DIRECT_DEBIT_WORDS: &[&str] = &["PRLV", "PRELEVEMENT", "PRELEV"];
const CARD_WORDS: &[&str] = &["CB", "CARTE", "CARD"];
const TRANSFER_WORDS: &[&str] = &["VIR", "VIREMENT", "VIRT", "PAYLIB", "SCT"];

/// The category of an operation: its bank transaction code decides when the bank gave a
/// known one, else its label.
pub fn categorize(code: Option<&BankTransactionCode>, label: &str) -> Category {
    code.and_then(from_code)
        .unwrap_or_else(|| from_label(label))
}

/// The booked operations of one category within a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryTotal {
    pub category: Category,
    pub count: usize,
    /// Money out, as a positive amount.
    pub debits: Decimal,
    /// Money in.
    pub credits: Decimal,
}

/// Every category (in [`Category::ALL`]'s order) with the booked operations in `currency`
/// whose day is in `[from, to)`.
pub fn breakdown(
    operations: &[Operation],
    currency: &str,
    from: Date,
    to: Date,
) -> Vec<CategoryTotal> {
    let mut totals: Vec<CategoryTotal> = Category::ALL
        .iter()
        .map(|category| CategoryTotal {
            category: *category,
            count: 0,
            debits: Decimal::ZERO,
            credits: Decimal::ZERO,
        })
        .collect();
    for op in operations {
        let in_period = op.date().is_some_and(|day| day >= from && day < to);
        if !op.is_booked() || !in_period || op.currency != currency {
            continue;
        }
        let category = categorize(op.bank_transaction_code.as_ref(), &op.label());
        if let Some(total) = totals.iter_mut().find(|t| t.category == category) {
            total.count += 1;
            if op.amount.is_sign_negative() {
                total.debits = total.debits.saturating_sub(op.amount);
            } else {
                total.credits = total.credits.saturating_add(op.amount);
            }
        }
    }
    totals
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(domain: &str, family: &str, sub_family: &str) -> BankTransactionCode {
        BankTransactionCode {
            domain: domain.into(),
            family: family.into(),
            sub_family: sub_family.into(),
            code: None,
            issuer: None,
        }
    }

    #[test]
    fn the_bank_transaction_code_decides_first() {
        let cases = [
            (("PMNT", "RCDT", "ESCT"), Category::Transfer),
            (("PMNT", "ICDT", "ESCT"), Category::Transfer),
            (("PMNT", "RDDT", "ESDD"), Category::DirectDebit),
            (("PMNT", "CCRD", "POSD"), Category::Card),
            (("PMNT", "CCRD", "CWDL"), Category::Cash),
            (("ACMT", "MDOP", "CHRG"), Category::Fees),
        ];
        for ((domain, family, sub_family), expected) in cases {
            // The label says otherwise: the code wins.
            assert_eq!(
                categorize(Some(&code(domain, family, sub_family)), "RETRAIT DAB"),
                expected,
                "{domain} {family} {sub_family}"
            );
        }
        // An unknown code leaves it to the label.
        assert_eq!(
            categorize(Some(&code("XTND", "NTAV", "NTAV")), "PRLV SEPA EDF"),
            Category::DirectDebit
        );
    }

    #[test]
    fn labels_are_read_by_keywords() {
        let cases = [
            ("CB CARREFOUR MARKET 20/11", Category::Card),
            ("PAIEMENT PAR CARTE 19/11 FNAC", Category::Card),
            (
                "VIR SEPA RECU /DE EMPLOYEUR SA /MOTIF SALAIRE",
                Category::Transfer,
            ),
            ("PAYLIB DE M DURAND", Category::Transfer),
            ("PRLV SEPA FREE MOBILE", Category::DirectDebit),
            ("Prélèvement EDF", Category::DirectDebit),
            ("FRAIS TENUE DE COMPTE PRO", Category::Fees),
            ("FRAIS RETRAIT DAB", Category::Fees),
            ("RETRAIT DAB 20/11 PARIS", Category::Cash),
            ("REMISE CHEQUE 1234", Category::Other),
            // A word, not a part of one: VIRGIN is no transfer, CBD no card.
            ("VIRGIN MEGASTORE", Category::Other),
            ("CBD SHOP", Category::Other),
        ];
        for (label, expected) in cases {
            assert_eq!(categorize(None, label), expected, "{label}");
        }
    }

    #[test]
    fn the_breakdown_counts_booked_operations_of_the_period() {
        let op = |label: &str, cents: i64, status: &str, day: Date| Operation {
            bank: "17515".into(),
            iban: "FR76".into(),
            key: label.into(),
            transaction_id: None,
            entry_reference: None,
            amount: Decimal::new(cents, 2),
            currency: "EUR".into(),
            status: status.into(),
            booking_date: Some(day),
            value_date: None,
            expected_booking_date: None,
            remittance: vec![label.into()],
            bank_transaction_code: None,
        };
        let day = jiff::civil::date(2026, 11, 10);
        let operations = [
            op("CB A", -1000, "BOOK", day),
            op("CB B", -550, "BOOK", day),
            op("CB PENDING", -700, "OTHR", day),
            op("CB BEFORE", -700, "BOOK", jiff::civil::date(2026, 10, 1)),
            op("VIR SALAIRE", 200_000, "BOOK", day),
        ];
        let totals = breakdown(
            &operations,
            "EUR",
            jiff::civil::date(2026, 11, 1),
            jiff::civil::date(2026, 12, 1),
        );
        assert_eq!(totals.len(), Category::ALL.len());
        assert_eq!(
            totals[0],
            CategoryTotal {
                category: Category::Card,
                count: 2,
                debits: Decimal::new(1550, 2),
                credits: Decimal::ZERO,
            }
        );
        assert_eq!(totals[1].category, Category::Transfer);
        assert_eq!(totals[1].credits, Decimal::new(200_000, 2));
        assert_eq!(totals[5].count, 0);
    }
}
