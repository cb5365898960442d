//! One `Ntry` (ReportEntry2 in version 02, ReportEntry10 in version 08) and its details.

use std::io::BufRead;

use jiff::civil::Date;
use rust_decimal::Decimal;

use super::common::{
    keep_first, read_amount, read_child_text, read_code_or_proprietary, read_date_choice,
    read_parsed, read_text,
};
use crate::error::Result;
use crate::model::{
    BankTransactionCode, CreditDebit, CreditorReference, CreditorReferenceType, DomainCode, Entry,
    EntryStatus, ProprietaryCode, ProprietaryReference,
};
use crate::tag::Tag;
use crate::value::{parse_credit_debit, parse_date, parse_indicator};
use crate::xml::XmlReader;

/// What `Ntry` says, gathered until it closes.
#[derive(Default)]
struct EntryParts {
    entry_reference: Option<String>,
    amount: Option<(Decimal, String)>,
    credit_debit: Option<CreditDebit>,
    reversal: bool,
    status: Option<EntryStatus>,
    booking_date: Option<Date>,
    value_date: Option<Date>,
    account_servicer_reference: Option<String>,
    bank_transaction_code: Option<BankTransactionCode>,
    additional_info: Option<String>,
    details: Details,
}

/// What the `NtryDtls/TxDtls` say: the first value of each, every remittance line.
#[derive(Default)]
struct Details {
    account_servicer_reference: Option<String>,
    end_to_end_id: Option<String>,
    proprietary_references: Vec<ProprietaryReference>,
    debtor_name: Option<String>,
    creditor_name: Option<String>,
    unstructured: Vec<String>,
    structured: Vec<CreditorReference>,
    transaction_date: Option<Date>,
    acceptance_date: Option<Date>,
}

/// One `Ntry` just opened, read up to its end.
pub(super) fn read_entry<R: BufRead>(xml: &mut XmlReader<R>) -> Result<Entry> {
    let line = xml.line();
    let mut parts = EntryParts::default();
    while let Some(tag) = xml.child()? {
        read_entry_child(xml, tag, &mut parts)?;
    }
    let Some((amount, currency)) = parts.amount else {
        return Err(xml.error("Ntry without Amt"));
    };
    let Some(credit_debit) = parts.credit_debit else {
        return Err(xml.error("Ntry without CdtDbtInd (CRDT or DBIT)"));
    };
    let Some(status) = parts.status else {
        return Err(xml.error("Ntry without Sts"));
    };
    let details = parts.details;
    Ok(Entry {
        entry_reference: parts.entry_reference,
        amount,
        currency,
        credit_debit,
        reversal: parts.reversal,
        status,
        booking_date: parts.booking_date,
        value_date: parts.value_date,
        account_servicer_reference: parts
            .account_servicer_reference
            .or(details.account_servicer_reference),
        bank_transaction_code: parts.bank_transaction_code,
        end_to_end_id: details.end_to_end_id,
        proprietary_references: details.proprietary_references,
        debtor_name: details.debtor_name,
        creditor_name: details.creditor_name,
        unstructured: details.unstructured,
        structured: details.structured,
        transaction_date: details.transaction_date.or(details.acceptance_date),
        additional_info: parts.additional_info,
        line,
    })
}

fn read_entry_child<R: BufRead>(
    xml: &mut XmlReader<R>,
    tag: Tag,
    parts: &mut EntryParts,
) -> Result<()> {
    match tag {
        Tag::NtryRef => parts.entry_reference = read_text(xml)?,
        Tag::Amt => parts.amount = Some(read_amount(xml)?),
        Tag::CdtDbtInd => parts.credit_debit = Some(read_parsed(xml, parse_credit_debit)?),
        Tag::RvslInd => parts.reversal = read_parsed(xml, parse_indicator)?,
        Tag::Sts => parts.status = read_status(xml)?,
        Tag::BookgDt => parts.booking_date = read_date_choice(xml)?,
        Tag::ValDt => parts.value_date = read_date_choice(xml)?,
        Tag::AcctSvcrRef => parts.account_servicer_reference = read_text(xml)?,
        Tag::BkTxCd => parts.bank_transaction_code = read_bank_transaction_code(xml)?,
        Tag::NtryDtls => read_entry_details(xml, &mut parts.details)?,
        Tag::AddtlNtryInf => parts.additional_info = read_text(xml)?,
        _ => xml.skip()?,
    }
    Ok(())
}

/// `Sts`: a plain `EntryStatus2Code` in version 02, `Sts/Cd` or `Sts/Prtry` in version 08.
fn read_status<R: BufRead>(xml: &mut XmlReader<R>) -> Result<Option<EntryStatus>> {
    let mut code = None;
    while let Some(tag) = xml.child()? {
        match tag {
            Tag::Cd | Tag::Prtry => code = read_text(xml)?,
            _ => xml.skip()?,
        }
    }
    let code = match code {
        Some(code) => code,
        None => xml.text().to_owned(),
    };
    Ok(Some(code)
        .filter(|code| !code.is_empty())
        .map(|code| EntryStatus::from_code(&code)))
}

/// `BkTxCd`: `Domn` and `Prtry`; `None` when it holds neither.
fn read_bank_transaction_code<R: BufRead>(
    xml: &mut XmlReader<R>,
) -> Result<Option<BankTransactionCode>> {
    let mut code = BankTransactionCode {
        domain: None,
        proprietary: None,
    };
    while let Some(tag) = xml.child()? {
        match tag {
            Tag::Domn => code.domain = Some(read_domain(xml)?),
            Tag::Prtry => code.proprietary = Some(read_proprietary_code(xml)?),
            _ => xml.skip()?,
        }
    }
    Ok(Some(code).filter(|code| code.domain.is_some() || code.proprietary.is_some()))
}

/// `BkTxCd/Domn`: `Cd` and `Fmly` (`Cd`, `SubFmlyCd`), all three mandatory.
fn read_domain<R: BufRead>(xml: &mut XmlReader<R>) -> Result<DomainCode> {
    let (mut domain, mut family) = (None, None);
    while let Some(tag) = xml.child()? {
        match tag {
            Tag::Cd => domain = read_text(xml)?,
            Tag::Fmly => family = Some(read_family(xml)?),
            _ => xml.skip()?,
        }
    }
    match (domain, family) {
        (Some(domain), Some((Some(family), Some(sub_family)))) => Ok(DomainCode {
            domain,
            family,
            sub_family,
        }),
        _ => Err(xml.error("Domn without Cd, Fmly/Cd or Fmly/SubFmlyCd")),
    }
}

/// `Domn/Fmly`: `Cd` and `SubFmlyCd`.
fn read_family<R: BufRead>(xml: &mut XmlReader<R>) -> Result<(Option<String>, Option<String>)> {
    let (mut family, mut sub_family) = (None, None);
    while let Some(tag) = xml.child()? {
        match tag {
            Tag::Cd => family = read_text(xml)?,
            Tag::SubFmlyCd => sub_family = read_text(xml)?,
            _ => xml.skip()?,
        }
    }
    Ok((family, sub_family))
}

/// `BkTxCd/Prtry`: `Cd` (mandatory) and `Issr`.
fn read_proprietary_code<R: BufRead>(xml: &mut XmlReader<R>) -> Result<ProprietaryCode> {
    let (mut code, mut issuer) = (None, None);
    while let Some(tag) = xml.child()? {
        match tag {
            Tag::Cd => code = read_text(xml)?,
            Tag::Issr => issuer = read_text(xml)?,
            _ => xml.skip()?,
        }
    }
    match code {
        Some(code) => Ok(ProprietaryCode { code, issuer }),
        None => Err(xml.error("Prtry without Cd")),
    }
}

/// `NtryDtls`: its `TxDtls` (a batch has several); `Btch` is skipped.
fn read_entry_details<R: BufRead>(xml: &mut XmlReader<R>, details: &mut Details) -> Result<()> {
    while let Some(tag) = xml.child()? {
        if tag != Tag::TxDtls {
            xml.skip()?;
            continue;
        }
        while let Some(inner) = xml.child()? {
            match inner {
                Tag::Refs => read_references(xml, details)?,
                Tag::RltdPties => read_parties(xml, details)?,
                Tag::RmtInf => read_remittance(xml, details)?,
                Tag::RltdDts => read_dates(xml, details)?,
                _ => xml.skip()?,
            }
        }
    }
    Ok(())
}

/// `TxDtls/Refs`: `AcctSvcrRef`, `EndToEndId` and `Prtry`.
fn read_references<R: BufRead>(xml: &mut XmlReader<R>, details: &mut Details) -> Result<()> {
    while let Some(tag) = xml.child()? {
        match tag {
            Tag::AcctSvcrRef => {
                keep_first(&mut details.account_servicer_reference, read_text(xml)?)
            }
            Tag::EndToEndId => keep_first(&mut details.end_to_end_id, read_text(xml)?),
            Tag::Prtry => details
                .proprietary_references
                .extend(read_proprietary_reference(xml)?),
            _ => xml.skip()?,
        }
    }
    Ok(())
}

/// `Refs/Prtry` (ProprietaryReference1): `Tp` and `Ref`, both mandatory; one without either is
/// left out.
fn read_proprietary_reference<R: BufRead>(
    xml: &mut XmlReader<R>,
) -> Result<Option<ProprietaryReference>> {
    let (mut kind, mut reference) = (None, None);
    while let Some(tag) = xml.child()? {
        match tag {
            Tag::Tp => kind = read_text(xml)?,
            Tag::Ref => reference = read_text(xml)?,
            _ => xml.skip()?,
        }
    }
    Ok(kind
        .zip(reference)
        .map(|(kind, reference)| ProprietaryReference { kind, reference }))
}

/// `TxDtls/RltdPties`: the names of `Dbtr` and `Cdtr`.
fn read_parties<R: BufRead>(xml: &mut XmlReader<R>, details: &mut Details) -> Result<()> {
    while let Some(tag) = xml.child()? {
        match tag {
            Tag::Dbtr => keep_first(&mut details.debtor_name, read_party_name(xml)?),
            Tag::Cdtr => keep_first(&mut details.creditor_name, read_party_name(xml)?),
            _ => xml.skip()?,
        }
    }
    Ok(())
}

/// `Dbtr` or `Cdtr`: `Nm` (PartyIdentification32, version 02) or `Pty/Nm` (Party40Choice,
/// version 08); an agent (`Agt`) has no name here.
fn read_party_name<R: BufRead>(xml: &mut XmlReader<R>) -> Result<Option<String>> {
    let mut name = None;
    while let Some(tag) = xml.child()? {
        match tag {
            Tag::Nm => keep_first(&mut name, read_text(xml)?),
            Tag::Pty => keep_first(&mut name, read_child_text(xml, Tag::Nm)?),
            _ => xml.skip()?,
        }
    }
    Ok(name)
}

/// `TxDtls/RmtInf`: every `Ustrd` line and every `Strd/CdtrRefInf` (StructuredRemittance-
/// Information7 in version 02, 16 in version 08: the same `CdtrRefInf`).
fn read_remittance<R: BufRead>(xml: &mut XmlReader<R>, details: &mut Details) -> Result<()> {
    while let Some(tag) = xml.child()? {
        match tag {
            Tag::Ustrd => details.unstructured.extend(read_text(xml)?),
            Tag::Strd => {
                while let Some(inner) = xml.child()? {
                    match inner {
                        Tag::CdtrRefInf => {
                            details.structured.extend(read_creditor_reference(xml)?);
                        }
                        _ => xml.skip()?,
                    }
                }
            }
            _ => xml.skip()?,
        }
    }
    Ok(())
}

/// `Strd/CdtrRefInf` (CreditorReferenceInformation2): `Tp` and `Ref`; one without `Ref` says
/// nothing and is left out.
fn read_creditor_reference<R: BufRead>(
    xml: &mut XmlReader<R>,
) -> Result<Option<CreditorReference>> {
    let (mut kind, mut reference) = (None, None);
    while let Some(tag) = xml.child()? {
        match tag {
            Tag::Tp => kind = read_creditor_reference_type(xml)?,
            Tag::Ref => reference = read_text(xml)?,
            _ => xml.skip()?,
        }
    }
    Ok(reference.map(|reference| CreditorReference { kind, reference }))
}

/// `CdtrRefInf/Tp` (CreditorReferenceType2): `CdOrPrtry` (`Cd` or `Prtry`) and `Issr`; none
/// without a code.
fn read_creditor_reference_type<R: BufRead>(
    xml: &mut XmlReader<R>,
) -> Result<Option<CreditorReferenceType>> {
    let (mut code, mut issuer) = (None, None);
    while let Some(tag) = xml.child()? {
        match tag {
            Tag::CdOrPrtry => code = read_code_or_proprietary(xml)?,
            Tag::Issr => issuer = read_text(xml)?,
            _ => xml.skip()?,
        }
    }
    Ok(code.map(|(code, proprietary)| CreditorReferenceType {
        code,
        proprietary,
        issuer,
    }))
}

/// `TxDtls/RltdDts`: the dates of `TxDtTm` and `AccptncDtTm`.
fn read_dates<R: BufRead>(xml: &mut XmlReader<R>, details: &mut Details) -> Result<()> {
    while let Some(tag) = xml.child()? {
        match tag {
            Tag::TxDtTm => {
                let date = read_parsed(xml, parse_date)?;
                if details.transaction_date.is_none() {
                    details.transaction_date = Some(date);
                }
            }
            Tag::AccptncDtTm => {
                let date = read_parsed(xml, parse_date)?;
                if details.acceptance_date.is_none() {
                    details.acceptance_date = Some(date);
                }
            }
            _ => xml.skip()?,
        }
    }
    Ok(())
}
