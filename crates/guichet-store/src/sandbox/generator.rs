//! Deterministic account histories: the same operations on every machine, on calendar days
//! relative to today.
//!
//! An operation is a function of (IBAN, calendar day, index), so an operation keeps its
//! technical id, resourceId and entryReference from one day to the next; only its status moves
//! from OTHR to BOOK once it is more than a day old (portal: entryReference is "identical
//! value before & after transaction settlement (from status OTHR to BOOK)").
//!
//! Within a day, the operations booked on the day come first and the card and Paylib payments,
//! booked a day or two later, last: the technical id grows in the order a core banking system
//! reports them, its end-of-day statement (camt.053) before its intraday report (camt.052) of
//! the operations not yet booked, so that the sandbox exported as camt and imported numbers its
//! operations as the sandbox does (`guichet sandbox export-camt`).

use guichet_camt::CreditorReference;
use jiff::ToSpan;
use jiff::civil::Date;

use super::personas::{AccountSpec, Style};
use crate::accounts::TransactionRecord;
use crate::import::structured_remittance;

/// SplitMix64: a tiny, well-known mixing function, enough for reproducible sandbox data.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 = mix(self.0);
        self.0
    }

    fn range(&mut self, low: u64, high: u64) -> u64 {
        if high <= low {
            low
        } else {
            low + self.next() % (high - low + 1)
        }
    }

    fn cents(&mut self, low_euros: u64, high_euros: u64) -> i64 {
        i64::try_from(self.range(low_euros * 100, high_euros * 100)).unwrap_or(0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    TransferIn,
    TransferOut,
    DirectDebit,
    Card,
    Paylib,
    Cash,
    Fees,
}

impl Kind {
    /// ISO 20022 bank transaction code (domain, family, sub-family).
    fn btc(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Kind::TransferIn => ("PMNT", "RCDT", "ESCT", "05"),
            Kind::TransferOut => ("PMNT", "ICDT", "ESCT", "05"),
            Kind::DirectDebit => ("PMNT", "RDDT", "ESDD", "01"),
            Kind::Card => ("PMNT", "CCRD", "POSD", "02"),
            Kind::Paylib => ("PMNT", "RCDT", "ESCT", "06"),
            Kind::Cash => ("PMNT", "CCRD", "CWDL", "03"),
            Kind::Fees => ("ACMT", "MDOP", "CHRG", "04"),
        }
    }

    fn is_credit(self) -> bool {
        matches!(self, Kind::TransferIn | Kind::Paylib)
    }

    /// Card and Paylib payments are booked a day or two after they are made.
    fn booked_later(self) -> bool {
        matches!(self, Kind::Card | Kind::Paylib)
    }
}

/// An operation as drawn, before its place in the day is known.
struct Drawn {
    kind: Kind,
    label: String,
    cents: i64,
    /// The invoice a professional's incoming transfer pays, as an ISO 11649 reference.
    creditor_reference: Option<String>,
    /// The draw that makes the entryReference.
    noise: u64,
}

const SHOPS: &[&str] = &[
    "CARREFOUR MARKET",
    "MONOPRIX",
    "FRANPRIX",
    "BOULANGERIE PAUL",
    "PHARMACIE DU MARCHE",
    "SNCF CONNECT",
    "FNAC",
    "DECATHLON",
    "PICARD",
    "LECLERC",
];
const PRO_SHOPS: &[&str] = &[
    "POINT P",
    "CEDEO",
    "LEROY MERLIN PRO",
    "TOTALENERGIES",
    "BRICOMAN",
    "WURTH FRANCE",
];
const CLIENTS: &[&str] = &[
    "SCI LES TILLEULS",
    "SYNDIC FONCIA",
    "M ET MME BERNARD",
    "MAIRIE DE MONTREUIL",
    "NEXITY PROMOTION",
    "SARL LES JARDINS DE L EST",
    "OPH PARIS HABITAT",
];
const BILLERS: &[&str] = &[
    "EDF",
    "FREE MOBILE",
    "ORANGE",
    "ENGIE",
    "AXA FRANCE",
    "MAIF",
    "CANAL+",
];
const PRO_BILLERS: &[&str] = &[
    "URSSAF ILE DE FRANCE",
    "DGFIP TVA",
    "EDF PRO",
    "ALLIANZ IARD",
    "ORANGE PRO",
    "DIAC LOCATION",
];
const SUPPLIERS: &[&str] = &[
    "CEDEO PARIS EST",
    "SAINT-GOBAIN DISTRIBUTION",
    "LAFARGE BETONS",
    "KILOUTOU",
    "LOXAM",
];

fn pick<'a>(draw: &mut Draw, items: &'a [&'a str]) -> &'a str {
    let len = u64::try_from(items.len()).unwrap_or(1);
    items[usize::try_from(draw.next() % len).unwrap_or(0)]
}

fn pick_kind(draw: &mut Draw, style: Style) -> Kind {
    let roll = draw.range(0, 99);
    match style {
        Style::Retail => match roll {
            0..=54 => Kind::Card,
            55..=64 => Kind::Paylib,
            65..=79 => Kind::DirectDebit,
            80..=89 => Kind::TransferOut,
            90..=96 => Kind::Cash,
            _ => Kind::TransferIn,
        },
        Style::Professional | Style::Corporate | Style::Quiet => match roll {
            0..=29 => Kind::TransferIn,
            30..=49 => Kind::Card,
            50..=64 => Kind::DirectDebit,
            65..=84 => Kind::TransferOut,
            85..=91 => Kind::Paylib,
            _ => Kind::Fees,
        },
    }
}

/// Days since 2000-01-01: the high part of an operation's technical id.
fn day_number(day: Date) -> i64 {
    i64::from((day - jiff::civil::date(2000, 1, 1)).get_days())
}

pub struct Generated {
    pub transactions: Vec<TransactionRecord>,
    /// Signed sum of the operations not yet booked, for the instant balance.
    pub pending_minor: i64,
}

/// The history of one account, most recent first.
pub fn history(
    bank_code: &str,
    iban: &str,
    account_id: &str,
    spec: &AccountSpec,
    today: Date,
) -> Generated {
    let mut transactions = Vec::new();
    let mut pending_minor = 0;
    if spec.style == Style::Quiet {
        return Generated {
            transactions,
            pending_minor,
        };
    }
    let professional = matches!(spec.style, Style::Professional | Style::Corporate);
    let issuer = match bank_code {
        "30258" => "SI MYSYS - BTP Banque",
        _ => "SI MYSYS - Caisse d'Epargne",
    };
    let seed = fnv(iban);
    for back in 0..=spec.history_days {
        let Ok(day) = today.checked_sub(back.days()) else {
            break;
        };
        let number = day_number(day);
        let mut draw = Draw(seed ^ mix(u64::try_from(number).unwrap_or(0)));
        let weekend = matches!(
            day.weekday(),
            jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday
        );
        let (low, high) = spec.ops_per_day;
        let mut count = if weekend {
            draw.range(0, low.min(1))
        } else {
            draw.range(low, high)
        };
        // Operations fixed by the calendar: the monthly salary or invoice, the monthly bill, a
        // card payment every day, a Paylib transfer every other day for professionals (so that
        // the last two days always hold operations not yet booked, of both kinds).
        let mut fixed = vec![Kind::Card];
        if professional && number % 2 == 0 {
            fixed.push(Kind::Paylib);
        }
        if day.day() == 28 {
            fixed.push(Kind::TransferIn);
        }
        if day.day() == 5 {
            fixed.push(Kind::DirectDebit);
        }
        count += u64::try_from(fixed.len()).unwrap_or(0);
        let scale = if spec.style == Style::Corporate {
            20
        } else {
            1
        };
        let mut drawn = Vec::new();
        for _ in 0..count {
            let kind = fixed
                .pop()
                .unwrap_or_else(|| pick_kind(&mut draw, spec.style));
            let (label, cents, creditor_reference) =
                label_and_amount(&mut draw, kind, professional, day, scale);
            // The reference is drawn in every case, so that the draws of the next operations do
            // not depend on this one's status.
            let noise = draw.next();
            drawn.push(Drawn {
                kind,
                label,
                cents,
                creditor_reference,
                noise,
            });
        }
        // Stable: the order of the draws within each group.
        drawn.sort_by_key(|op| op.kind.booked_later());
        for (index, op) in (0u64..).zip(drawn) {
            let Drawn {
                kind,
                label,
                cents,
                creditor_reference,
                noise,
            } = op;
            let seq = number * 100 + i64::try_from(index).unwrap_or(0);
            // Card and Paylib operations of today and yesterday are not booked yet.
            let pending = back <= 1 && kind.booked_later();
            let status = if pending { "OTHR" } else { "BOOK" };
            let signed = if kind.is_credit() { cents } else { -cents };
            if pending {
                pending_minor += signed;
            }
            // Portal: entryReference applies to PRO segments; "other types of operations (e.g.
            // Paylib) have this data only for BOOK status".
            let reference = entry_reference(bank_code, spec.number, kind, day, index, noise);
            let entry_reference =
                (professional && !(pending && kind == Kind::Paylib)).then_some(reference);
            let btc = professional.then(|| {
                let (domain, family, sub_family, code) = kind.btc();
                [
                    Some(domain.to_owned()),
                    Some(family.to_owned()),
                    Some(sub_family.to_owned()),
                    Some(code.to_owned()),
                    Some(issuer.to_owned()),
                ]
            });
            let transaction_date = if kind == Kind::Card {
                day.checked_sub(1.day()).unwrap_or(day)
            } else {
                day
            };
            transactions.push(TransactionRecord {
                account_id: account_id.to_owned(),
                seq,
                resource_id: format!(
                    "T{}{seq}",
                    &spec.number[spec.number.len().saturating_sub(6)..]
                ),
                entry_reference,
                amount_minor: cents,
                currency: "EUR".to_owned(),
                credit_debit: if kind.is_credit() { "CRDT" } else { "DBIT" }.to_owned(),
                status: status.to_owned(),
                imputation_date: day.to_string(),
                value_date: (!pending).then(|| day.to_string()),
                transaction_date: Some(transaction_date.to_string()),
                remittance: label,
                remittance_structured: creditor_reference
                    .and_then(|r| structured_remittance(&[CreditorReference::iso11649(r)])),
                btc,
            });
        }
    }
    Generated {
        transactions,
        pending_minor,
    }
}

/// ISO 11649: `RF`, two check digits (ISO 7064 MOD 97-10 over the reference followed by
/// `RF00`, letters counting 10 to 35), and the reference (at most 21 letters and digits).
fn iso11649(reference: &str) -> String {
    let rest = reference
        .chars()
        .chain("RF00".chars())
        .fold(0u32, |rest, c| {
            let value = c.to_digit(36).unwrap_or(0);
            if value < 10 {
                (rest * 10 + value) % 97
            } else {
                (rest * 100 + value) % 97
            }
        });
    format!("RF{:02}{reference}", 98 - rest)
}

/// The label, the amount, and for a professional's incoming transfer the ISO 11649 reference
/// of the invoice it pays (its structured remittance).
fn label_and_amount(
    draw: &mut Draw,
    kind: Kind,
    professional: bool,
    day: Date,
    scale: u64,
) -> (String, i64, Option<String>) {
    let dm = format!("{:02}/{:02}", day.day(), day.month());
    let (label, cents) = match (kind, professional) {
        (Kind::TransferIn, false) => (
            "VIR SEPA RECU /DE EMPLOYEUR SA /MOTIF SALAIRE".to_owned(),
            draw.cents(1800, 2600),
        ),
        (Kind::TransferIn, true) => {
            let invoice = draw.range(100, 999);
            let label = format!(
                "VIR SEPA RECU /DE {} /MOTIF FACTURE F{}-{invoice}",
                pick(draw, CLIENTS),
                day.year()
            );
            let reference = iso11649(&format!("F{}{invoice}", day.year()));
            return (
                label,
                draw.cents(300 * scale, 4500 * scale),
                Some(reference),
            );
        }
        (Kind::TransferOut, false) => (
            "VIR SEPA EMIS /A SCI LES TILLEULS /MOTIF LOYER".to_owned(),
            draw.cents(450, 900),
        ),
        (Kind::TransferOut, true) => (
            format!(
                "VIR SEPA EMIS /A {} /MOTIF REGLEMENT FOURNISSEUR",
                pick(draw, SUPPLIERS)
            ),
            draw.cents(200 * scale, 3000 * scale),
        ),
        (Kind::DirectDebit, false) => (
            format!("PRLV SEPA {}", pick(draw, BILLERS)),
            draw.cents(15, 120),
        ),
        (Kind::DirectDebit, true) => (
            format!("PRLV SEPA {}", pick(draw, PRO_BILLERS)),
            draw.cents(80 * scale, 1500 * scale),
        ),
        (Kind::Card, false) => (format!("CB {} {dm}", pick(draw, SHOPS)), draw.cents(3, 140)),
        (Kind::Card, true) => (
            format!("CB {} {dm}", pick(draw, PRO_SHOPS)),
            draw.cents(20, 600),
        ),
        (Kind::Paylib, _) => ("PAYLIB DE M DURAND".to_owned(), draw.cents(10, 90)),
        (Kind::Cash, _) => (
            format!("RETRAIT DAB {dm} PARIS"),
            draw.cents(2, 10) / 1000 * 1000 + 2000,
        ),
        (Kind::Fees, _) => ("FRAIS TENUE DE COMPTE PRO".to_owned(), draw.cents(8, 30)),
    };
    (label, cents, None)
}

/// entryReference in the portal's formats: 25 characters for a transfer, 30 for a direct
/// debit, 40 for a deferred card payment and 40 (with a timestamp) for other operations.
fn entry_reference(
    bank: &str,
    account: &str,
    kind: Kind,
    day: Date,
    index: u64,
    noise: u64,
) -> String {
    let digits: String = account.chars().filter(char::is_ascii_digit).collect();
    let prefix = format!("{bank}{:0>9}", &digits[digits.len().saturating_sub(9)..]);
    let yy = day.year() % 100;
    let doy = day.day_of_year();
    match kind {
        Kind::TransferIn | Kind::TransferOut => {
            format!("{prefix}{yy:02}{doy:03}{index:02}{:04}", noise % 10_000)
        }
        Kind::DirectDebit => format!(
            "{prefix}{}{doy:03}G1{index:02}{:05}",
            day.year(),
            noise % 100_000
        ),
        Kind::Card => format!(
            "{prefix}{}{:02}{:02}{:018}",
            day.year(),
            day.month(),
            day.day(),
            noise % 1_000_000_000_000_000_000
        ),
        Kind::Paylib | Kind::Cash | Kind::Fees => format!(
            "{prefix}{}-{:02}-{:02}-{:02}.{:02}.{:02}.{:06}",
            day.year(),
            day.month(),
            day.day(),
            8 + noise % 10,
            (noise >> 8) % 60,
            (noise >> 16) % 60,
            (noise >> 24) % 1_000_000
        ),
    }
}

#[cfg(test)]
mod tests;
