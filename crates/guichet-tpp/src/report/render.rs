//! The report written out: a text table, the charts, and the HTML page.

use super::*;

/// An amount with its thousands grouped and two decimals: `18,342.56 EUR`.
pub fn money(value: Decimal, currency: &str) -> String {
    let text = format!("{:.2}", value.round_dp(2).abs());
    let (whole, fraction) = text.split_once('.').unwrap_or((text.as_str(), "00"));
    let digits: Vec<char> = whole.chars().collect();
    let mut grouped = String::new();
    for (index, digit) in digits.iter().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(*digit);
    }
    let sign = if value.round_dp(2).is_sign_negative() && !value.round_dp(2).is_zero() {
        "-"
    } else {
        ""
    };
    format!("{sign}{grouped}.{fraction} {currency}")
}

/// The last day of the period (its end is excluded).
fn last_day(report: &Report) -> Date {
    report.to.checked_sub(1.day()).unwrap_or(report.to)
}

/// The report as a text table.
pub fn table(report: &Report) -> String {
    let mut out = String::new();
    if let Some(customer) = &report.customer {
        out.push_str(&format!("Customer: {customer}\n"));
    }
    for bank in &report.banks {
        out.push_str(&format!(
            "Bank {}: last synced {}\n",
            bank.title(),
            bank.last_sync.as_deref().unwrap_or("never")
        ));
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(&format!(
        "{:<6} {:<28} {:<34} {:>16}\n",
        "BANK", "IBAN", "ACCOUNT", "BALANCE"
    ));
    for account in &report.accounts {
        let balance = account
            .balance
            .map_or_else(|| "—".to_owned(), |b| format!("{b} {}", account.currency));
        let name: String = account.name.chars().take(34).collect();
        out.push_str(&format!(
            "{:<6} {:<28} {:<34} {:>16}\n",
            account.bank, account.iban, name, balance
        ));
    }
    for (currency, total) in &report.totals {
        out.push_str(&format!(
            "{:<70} {:>16}\n",
            "TOTAL POSITION",
            format!("{total} {currency}")
        ));
    }
    out.push_str(&format!(
        "\nFrom {} to {} (excluded): income {} EUR, spending {} EUR\n",
        report.from, report.to, report.income, report.spending
    ));
    for category in &report.categories {
        if category.count > 0 {
            out.push_str(&format!(
                "  {:<14} {:>5} operations, out {} EUR, in {} EUR\n",
                category.category.label(),
                category.count,
                category.debits,
                category.credits
            ));
        }
    }
    out
}

struct BankRow {
    title: String,
    last_sync: String,
    totals: String,
    pending: usize,
}

struct AccountRow {
    bank: String,
    iban: String,
    name: String,
    balance: String,
}

struct CategoryRow {
    label: &'static str,
    count: usize,
    debits: String,
    credits: String,
    /// The category's share of the spending, in percent, for the bar's width.
    share: String,
}

#[derive(Template)]
#[template(path = "accounts_report.html")]
struct Page<'a> {
    customer: Option<&'a str>,
    generated: Option<&'a str>,
    from: String,
    last_day: String,
    banks: Vec<BankRow>,
    accounts: Vec<AccountRow>,
    totals: Vec<String>,
    income: String,
    spending: String,
    charts: Vec<Chart>,
    /// Accounts left out of the charts: another currency, or no synced balance.
    not_charted: usize,
    categories: Vec<CategoryRow>,
}

fn float(value: Decimal) -> f64 {
    value.to_f64().unwrap_or(0.0)
}

/// `Livret A …4821`: an account's name and the end of its IBAN.
fn account_label(account: &AccountHistory) -> String {
    let iban: Vec<char> = account.iban.chars().collect();
    let end: String = iban[iban.len().saturating_sub(4)..].iter().collect();
    let name = account.name.trim();
    if name.is_empty() {
        format!("…{end}")
    } else {
        format!("{name} …{end}")
    }
}

/// The charts: every bank and the total, then each bank's accounts.
pub fn charts(report: &Report) -> Vec<Chart> {
    let days: Vec<Date> = report.history.iter().map(|(day, _)| *day).collect();
    let charted: Vec<&BankPosition> = report
        .banks
        .iter()
        .filter(|b| !b.accounts.is_empty())
        .collect();
    if charted.is_empty() {
        return Vec::new();
    }
    let mut series: Vec<Series> = charted
        .iter()
        .map(|bank| Series {
            label: bank.title(),
            values: bank.history.iter().copied().map(float).collect(),
            total: false,
        })
        .collect();
    series.push(Series {
        label: "Total".into(),
        values: report.history.iter().map(|(_, v)| float(*v)).collect(),
        total: true,
    });
    let mut charts = vec![balance_chart(
        "Total balance, every bank",
        CHART_CURRENCY,
        &days,
        &series,
    )];
    for bank in charted {
        let mut series: Vec<Series> = bank
            .accounts
            .iter()
            .map(|account| Series {
                label: account_label(account),
                values: account.balances.iter().copied().map(float).collect(),
                total: false,
            })
            .collect();
        if bank.accounts.len() > 1 {
            series.push(Series {
                label: format!("Total {}", bank.title()),
                values: bank.history.iter().copied().map(float).collect(),
                total: true,
            });
        }
        charts.push(balance_chart(
            &format!("Balance at {}", bank.title()),
            CHART_CURRENCY,
            &days,
            &series,
        ));
    }
    charts
}

/// The report as one HTML page with no external resource and no script.
pub fn try_html(report: &Report) -> Result<String, TppError> {
    let spending = report.spending;
    let page = Page {
        customer: report.customer.as_deref(),
        generated: report.generated.as_deref(),
        from: report.from.to_string(),
        last_day: last_day(report).to_string(),
        banks: report
            .banks
            .iter()
            .map(|bank| BankRow {
                title: bank.title(),
                last_sync: bank.last_sync.clone().unwrap_or_else(|| "never".into()),
                totals: bank
                    .totals
                    .iter()
                    .map(|(currency, total)| money(*total, currency))
                    .collect::<Vec<_>>()
                    .join(", "),
                pending: bank.pending,
            })
            .collect(),
        accounts: report
            .accounts
            .iter()
            .map(|a| AccountRow {
                bank: report
                    .banks
                    .iter()
                    .find(|b| b.code == a.bank)
                    .map_or_else(|| a.bank.clone(), BankPosition::title),
                iban: a.iban.clone(),
                name: a.name.clone(),
                balance: a
                    .balance
                    .map_or_else(|| "—".to_owned(), |b| money(b, &a.currency)),
            })
            .collect(),
        totals: report
            .totals
            .iter()
            .map(|(currency, total)| money(*total, currency))
            .collect(),
        income: money(report.income, CHART_CURRENCY),
        spending: money(report.spending, CHART_CURRENCY),
        charts: charts(report),
        not_charted: report
            .accounts
            .iter()
            .filter(|a| a.balance.is_none() || a.currency != CHART_CURRENCY)
            .count(),
        categories: report
            .categories
            .iter()
            .map(|c| CategoryRow {
                label: c.category.label(),
                count: c.count,
                debits: money(c.debits, CHART_CURRENCY),
                credits: money(c.credits, CHART_CURRENCY),
                share: if spending > Decimal::ZERO {
                    format!("{:.1}", float(c.debits) / float(spending) * 100.0)
                } else {
                    "0.0".into()
                },
            })
            .collect(),
    };
    page.render()
        .map_err(|e| TppError::Local(format!("the report's page: {e}")))
}

/// [`try_html`], or a page that says why it could not be made.
pub fn html(report: &Report) -> String {
    try_html(report).unwrap_or_else(|e| {
        let reason = e
            .to_string()
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Guichet report</title></head>\
             <body><p>{reason}</p></body></html>\n"
        )
    })
}
