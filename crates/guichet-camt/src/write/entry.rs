//! One `Ntry`, in the order of ReportEntry2 (version 02) and ReportEntry10 (version 08):
//! `NtryRef`, `Amt`, `CdtDbtInd`, `RvslInd`, `Sts`, `BookgDt`, `ValDt`, `AcctSvcrRef`,
//! `BkTxCd`, `NtryDtls`, `AddtlNtryInf`.

use super::Out;
use crate::model::{BankTransactionCode, CreditorReference, Entry, Version};

/// One `Ntry`.
pub(super) fn write_entry(out: &mut Out, version: Version, entry: &Entry) {
    out.open("Ntry");
    out.optional("NtryRef", entry.entry_reference.as_deref());
    out.amount(entry.amount, &entry.currency);
    out.leaf("CdtDbtInd", entry.credit_debit.code());
    if entry.reversal {
        out.leaf("RvslInd", "true");
    }
    write_status(out, version, entry.status.code());
    if let Some(date) = entry.booking_date {
        out.date_choice("BookgDt", date);
    }
    if let Some(date) = entry.value_date {
        out.date_choice("ValDt", date);
    }
    out.optional("AcctSvcrRef", entry.account_servicer_reference.as_deref());
    write_bank_transaction_code(out, entry.bank_transaction_code.as_ref());
    if has_details(entry) {
        out.open("NtryDtls");
        write_transaction(out, version, entry);
        out.close("NtryDtls");
    }
    out.optional("AddtlNtryInf", entry.additional_info.as_deref());
    out.close("Ntry");
}

/// `Sts`: the code itself in version 02 (EntryStatus2Code); `Sts/Cd` in version 08
/// (ExternalEntryStatus1Code, 1 to 4 characters), `Sts/Prtry` for a longer one.
fn write_status(out: &mut Out, version: Version, code: &str) {
    match version {
        Version::V02 => out.leaf("Sts", code),
        Version::V08 => {
            out.open("Sts");
            let external = (1..=4).contains(&code.chars().count());
            out.leaf(if external { "Cd" } else { "Prtry" }, code);
            out.close("Sts");
        }
    }
}

/// `BkTxCd`, mandatory: `Domn` (`Cd`, `Fmly/Cd`, `Fmly/SubFmlyCd`) and `Prtry` (`Cd`,
/// `Issr`); empty when there is no code.
fn write_bank_transaction_code(out: &mut Out, code: Option<&BankTransactionCode>) {
    let Some(code) = code.filter(|c| c.domain.is_some() || c.proprietary.is_some()) else {
        out.empty("BkTxCd");
        return;
    };
    out.open("BkTxCd");
    if let Some(domain) = &code.domain {
        out.open("Domn");
        out.leaf("Cd", &domain.domain);
        out.open("Fmly");
        out.leaf("Cd", &domain.family);
        out.leaf("SubFmlyCd", &domain.sub_family);
        out.close("Fmly");
        out.close("Domn");
    }
    if let Some(proprietary) = &code.proprietary {
        out.open("Prtry");
        out.leaf("Cd", &proprietary.code);
        out.optional("Issr", proprietary.issuer.as_deref());
        out.close("Prtry");
    }
    out.close("BkTxCd");
}

fn has_details(entry: &Entry) -> bool {
    entry.end_to_end_id.is_some()
        || !entry.proprietary_references.is_empty()
        || entry.debtor_name.is_some()
        || entry.creditor_name.is_some()
        || !entry.unstructured.is_empty()
        || !entry.structured.is_empty()
        || entry.transaction_date.is_some()
}

/// `NtryDtls/TxDtls`: `Refs` (`EndToEndId`, `Prtry`), `RltdPties`, `RmtInf`,
/// `RltdDts/TxDtTm`.
fn write_transaction(out: &mut Out, version: Version, entry: &Entry) {
    out.open("TxDtls");
    if entry.end_to_end_id.is_some() || !entry.proprietary_references.is_empty() {
        out.open("Refs");
        out.optional("EndToEndId", entry.end_to_end_id.as_deref());
        // Version 02 allows one `Prtry`, version 08 any number.
        for reference in &entry.proprietary_references {
            out.open("Prtry");
            out.leaf("Tp", &reference.kind);
            out.leaf("Ref", &reference.reference);
            out.close("Prtry");
        }
        out.close("Refs");
    }
    if entry.debtor_name.is_some() || entry.creditor_name.is_some() {
        out.open("RltdPties");
        write_party(out, version, "Dbtr", entry.debtor_name.as_deref());
        write_party(out, version, "Cdtr", entry.creditor_name.as_deref());
        out.close("RltdPties");
    }
    write_remittance(out, entry);
    if let Some(date) = entry.transaction_date {
        out.open("RltdDts");
        out.leaf("TxDtTm", &format!("{date}T00:00:00"));
        out.close("RltdDts");
    }
    out.close("TxDtls");
}

/// `Dbtr` or `Cdtr`: `<Dbtr><Nm>…</Nm></Dbtr>` (PartyIdentification32, version 02) or
/// `<Dbtr><Pty><Nm>…</Nm></Pty></Dbtr>` (Party40Choice, version 08).
fn write_party(out: &mut Out, version: Version, role: &str, name: Option<&str>) {
    let Some(name) = name else {
        return;
    };
    out.open(role);
    match version {
        Version::V02 => out.leaf("Nm", name),
        Version::V08 => {
            out.open("Pty");
            out.leaf("Nm", name);
            out.close("Pty");
        }
    }
    out.close(role);
}

/// `RmtInf`: the `Ustrd` lines, then one `Strd/CdtrRefInf` per creditor reference.
fn write_remittance(out: &mut Out, entry: &Entry) {
    if entry.unstructured.is_empty() && entry.structured.is_empty() {
        return;
    }
    out.open("RmtInf");
    for line in &entry.unstructured {
        out.leaf("Ustrd", line);
    }
    for reference in &entry.structured {
        out.open("Strd");
        write_creditor_reference(out, reference);
        out.close("Strd");
    }
    out.close("RmtInf");
}

/// `CdtrRefInf`: `Tp` (`CdOrPrtry/Cd` or `Prtry`, `Issr`) when typed, and `Ref`.
fn write_creditor_reference(out: &mut Out, reference: &CreditorReference) {
    out.open("CdtrRefInf");
    if let Some(kind) = &reference.kind {
        out.open("Tp");
        out.open("CdOrPrtry");
        out.leaf(if kind.proprietary { "Prtry" } else { "Cd" }, &kind.code);
        out.close("CdOrPrtry");
        out.optional("Issr", kind.issuer.as_deref());
        out.close("Tp");
    }
    out.leaf("Ref", &reference.reference);
    out.close("CdtrRefInf");
}
