//! The start of a `Stmt`/`Rpt` up to the end of its `Acct`, and its `Bal`s.

use std::io::BufRead;

use super::common::{read_amount, read_child_text, read_date_choice, read_parsed, read_text};
use crate::error::{CamtError, Result};
use crate::model::{AccountHeader, AccountId, Balance, CreditDebit};
use crate::tag::Tag;
use crate::value::{check_date_time, parse_credit_debit, parse_currency, parse_sequence};
use crate::xml::XmlReader;

/// What `Acct` says besides its `Id`.
#[derive(Default)]
struct AccountParts {
    id: Option<AccountId>,
    currency: Option<String>,
    name: Option<String>,
    owner_name: Option<String>,
    servicer_bic: Option<String>,
}

/// A `Stmt` or `Rpt` just opened: its `Id`, `ElctrncSeqNb`, `CreDtTm` and `Acct`, read up to
/// the end of `Acct`; its `Bal`s and `Ntry`s come after.
pub(super) fn read_account_header<R: BufRead>(xml: &mut XmlReader<R>) -> Result<AccountHeader> {
    let line = xml.line();
    let path = xml.path();
    let element = xml.name().to_owned();
    let missing =
        |what: &str| CamtError::new(line, path.clone(), format!("{element} without {what}"));
    let (mut statement_id, mut electronic_sequence, mut created) = (None, None, None);
    loop {
        match xml.child()? {
            Some(Tag::Id) => statement_id = read_text(xml)?,
            Some(Tag::ElctrncSeqNb) => {
                electronic_sequence = Some(read_parsed(xml, parse_sequence)?)
            }
            Some(Tag::CreDtTm) => created = Some(read_parsed(xml, check_date_time)?),
            Some(Tag::Acct) => break,
            Some(Tag::Bal | Tag::Ntry) | None => return Err(missing("Acct")),
            Some(_) => xml.skip()?,
        }
    }
    let Some(statement_id) = statement_id else {
        return Err(missing("Id"));
    };
    let (account, parts) = read_account(xml)?;
    Ok(AccountHeader {
        statement_id,
        electronic_sequence,
        created,
        account,
        currency: parts.currency,
        name: parts.name,
        owner_name: parts.owner_name,
        servicer_bic: parts.servicer_bic,
        line,
    })
}

/// `Acct` (CashAccount20 in version 02, CashAccount39 in version 08).
fn read_account<R: BufRead>(xml: &mut XmlReader<R>) -> Result<(AccountId, AccountParts)> {
    let mut parts = AccountParts::default();
    while let Some(tag) = xml.child()? {
        match tag {
            Tag::Id => parts.id = read_account_id(xml)?,
            Tag::Ccy => parts.currency = Some(read_parsed(xml, parse_currency)?),
            Tag::Nm => parts.name = read_text(xml)?,
            Tag::Ownr => parts.owner_name = read_child_text(xml, Tag::Nm)?,
            Tag::Svcr => parts.servicer_bic = read_servicer_bic(xml)?,
            _ => xml.skip()?,
        }
    }
    match parts.id.take() {
        Some(id) => Ok((id, parts)),
        None => Err(xml.error("Acct without Id (IBAN or Othr/Id)")),
    }
}

/// `Acct/Id`: `IBAN` or `Othr/Id`.
fn read_account_id<R: BufRead>(xml: &mut XmlReader<R>) -> Result<Option<AccountId>> {
    let mut id = None;
    while let Some(tag) = xml.child()? {
        match tag {
            Tag::IBAN => id = read_text(xml)?.map(AccountId::Iban),
            Tag::Othr => id = read_child_text(xml, Tag::Id)?.map(AccountId::Other),
            _ => xml.skip()?,
        }
    }
    Ok(id)
}

/// `Acct/Svcr/FinInstnId/BIC` (version 02) or `BICFI` (version 08); either is read in both.
fn read_servicer_bic<R: BufRead>(xml: &mut XmlReader<R>) -> Result<Option<String>> {
    let mut bic = None;
    while let Some(tag) = xml.child()? {
        if tag != Tag::FinInstnId {
            xml.skip()?;
            continue;
        }
        while let Some(inner) = xml.child()? {
            match inner {
                Tag::BIC | Tag::BICFI => bic = read_text(xml)?,
                _ => xml.skip()?,
            }
        }
    }
    Ok(bic)
}

/// One `Bal` just opened (CashBalance3 in version 02, CashBalance8 in version 08).
pub(super) fn read_balance<R: BufRead>(xml: &mut XmlReader<R>) -> Result<Balance> {
    let line = xml.line();
    let (mut code, mut amount, mut direction, mut date) = (None, None, None, None);
    while let Some(tag) = xml.child()? {
        match tag {
            Tag::Tp => code = read_balance_type(xml)?,
            Tag::Amt => amount = Some(read_amount(xml)?),
            Tag::CdtDbtInd => direction = Some(read_parsed(xml, parse_credit_debit)?),
            Tag::Dt => date = read_date_choice(xml)?,
            _ => xml.skip()?,
        }
    }
    let Some((code, proprietary)) = code else {
        return Err(xml.error("Bal without Tp/CdOrPrtry (Cd or Prtry)"));
    };
    let Some((value, currency)) = amount else {
        return Err(xml.error("Bal without Amt"));
    };
    let Some(direction) = direction else {
        return Err(xml.error("Bal without CdtDbtInd (CRDT or DBIT)"));
    };
    let Some(date) = date else {
        return Err(xml.error("Bal without Dt (Dt or DtTm)"));
    };
    let amount = match direction {
        CreditDebit::Debit if !value.is_zero() => -value,
        _ => value,
    };
    Ok(Balance {
        code,
        proprietary,
        amount,
        currency,
        date,
        line,
    })
}

/// `Bal/Tp`: the code of `CdOrPrtry/Cd`, or of `CdOrPrtry/Prtry` (then `true`).
fn read_balance_type<R: BufRead>(xml: &mut XmlReader<R>) -> Result<Option<(String, bool)>> {
    let mut code = None;
    while let Some(tag) = xml.child()? {
        if tag != Tag::CdOrPrtry {
            xml.skip()?;
            continue;
        }
        while let Some(inner) = xml.child()? {
            match inner {
                Tag::Cd => code = read_text(xml)?.map(|text| (text, false)),
                Tag::Prtry => code = read_text(xml)?.map(|text| (text, true)),
                _ => xml.skip()?,
            }
        }
    }
    Ok(code)
}
