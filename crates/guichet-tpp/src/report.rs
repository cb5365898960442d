//! The aggregated picture: balances per account and bank, the total position, income and
//! spending over a period, and the balance over time — as a table and as a self-contained HTML
//! page with an SVG chart.

use std::collections::BTreeMap;

use jiff::ToSpan;
use jiff::civil::Date;
use rust_decimal::Decimal;

use crate::error::TppError;
use crate::store::{LocalAccount, LocalStore, LocalTransaction};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub from: Date,
    pub to: Date,
    pub accounts: Vec<LocalAccount>,
    /// Total of the accounting balances, per currency.
    pub totals: BTreeMap<String, Decimal>,
    /// Booked credits and debits within the period (EUR accounts).
    pub income: Decimal,
    pub spending: Decimal,
    /// The total balance at the end of each day of the period, rebuilt from today's balances
    /// and the booked operations.
    pub history: Vec<(Date, Decimal)>,
}

pub async fn build(store: &LocalStore, from: Date, to: Date) -> Result<Report, TppError> {
    let accounts = store.accounts().await?;
    let mut totals: BTreeMap<String, Decimal> = BTreeMap::new();
    for account in &accounts {
        if let Some(balance) = account.balance {
            *totals.entry(account.currency.clone()).or_default() += balance;
        }
    }
    let all: Vec<LocalTransaction> = store.transactions(None, None).await?;
    let booked: Vec<&LocalTransaction> = all.iter().filter(|t| t.status == "BOOK").collect();
    let (first, end) = (from.to_string(), to.to_string());
    let period: Vec<&&LocalTransaction> = booked
        .iter()
        .filter(|t| t.day >= first && t.day < end)
        .collect();
    let income = period
        .iter()
        .filter(|t| t.amount > Decimal::ZERO)
        .map(|t| t.amount)
        .sum();
    let spending = -period
        .iter()
        .filter(|t| t.amount < Decimal::ZERO)
        .map(|t| t.amount)
        .sum::<Decimal>();
    let with_balance: Vec<(&str, &str)> = accounts
        .iter()
        .filter(|a| a.balance.is_some() && a.currency == "EUR")
        .map(|a| (a.bank.as_str(), a.iban.as_str()))
        .collect();
    let total_now: Decimal = totals.get("EUR").copied().unwrap_or_default();
    let mut history = Vec::new();
    let mut day = from;
    while day < to {
        let end = day.to_string();
        let later: Decimal = booked
            .iter()
            .filter(|t| {
                with_balance.contains(&(t.bank.as_str(), t.iban.as_str()))
                    && t.day.as_str() > end.as_str()
            })
            .map(|t| t.amount)
            .sum();
        history.push((day, total_now - later));
        day = match day.checked_add(1.day()) {
            Ok(next) => next,
            Err(_) => break,
        };
    }
    Ok(Report {
        from,
        to,
        accounts,
        totals,
        income,
        spending,
        history,
    })
}

/// The report as a text table.
pub fn table(report: &Report) -> String {
    let mut out = String::new();
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
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The report as one HTML page with no external resource.
pub fn html(report: &Report) -> String {
    let (width, height, pad) = (720.0f64, 240.0f64, 30.0f64);
    let values: Vec<f64> = report
        .history
        .iter()
        .map(|(_, v)| v.to_string().parse().unwrap_or(0.0))
        .collect();
    let (min, max) = values
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    let span = if (max - min).abs() < f64::EPSILON {
        1.0
    } else {
        max - min
    };
    let step = if values.len() > 1 {
        (width - 2.0 * pad) / (values.len() - 1) as f64
    } else {
        0.0
    };
    let points: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            format!(
                "{:.1},{:.1}",
                pad + step * i as f64,
                height - pad - (v - min) / span * (height - 2.0 * pad)
            )
        })
        .collect();
    let rows: String = report
        .accounts
        .iter()
        .map(|a| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
                escape(&a.bank),
                escape(&a.iban),
                escape(&a.name),
                a.balance.map_or_else(
                    || "—".to_owned(),
                    |b| format!("{b} {}", escape(&a.currency))
                )
            )
        })
        .collect();
    let totals: String = report
        .totals
        .iter()
        .map(|(c, t)| {
            format!(
                "<p class=\"total\">Total position: <strong>{t} {}</strong></p>",
                escape(c)
            )
        })
        .collect();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Guichet — aggregated accounts</title>\
         <style>body{{font-family:system-ui,sans-serif;margin:2rem;color:#222}}table{{border-collapse:collapse}}td,th{{padding:.3rem .8rem;border-bottom:1px solid #ddd;text-align:left}}.n{{text-align:right}}</style></head>\
         <body><h1>Aggregated accounts</h1><table><tr><th>Bank</th><th>IBAN</th><th>Account</th><th>Balance</th></tr>{rows}</table>{totals}\
         <p>From {from} to {to} (excluded): income <strong>{income} EUR</strong>, spending <strong>{spending} EUR</strong>.</p>\
         <h2>Total balance over time</h2><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"balance over time\">\
         <rect width=\"100%\" height=\"100%\" fill=\"#f8f9fb\"/><polyline fill=\"none\" stroke=\"#004b87\" stroke-width=\"2\" points=\"{points}\"/>\
         <text x=\"{pad}\" y=\"16\" font-size=\"12\">max {max:.2}</text><text x=\"{pad}\" y=\"{bottom}\" font-size=\"12\">min {min:.2}</text></svg></body></html>\n",
        from = report.from,
        to = report.to,
        income = report.income,
        spending = report.spending,
        points = points.join(" "),
        bottom = height - 8.0,
    )
}
