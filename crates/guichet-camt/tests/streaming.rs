//! A statement of 200,000 entries, made on the fly by a `Read` that never holds more than one
//! entry's XML, is read entry by entry while the reader's event buffer stays small.

use std::error::Error;
use std::io::{self, BufReader, Read};

use guichet_camt::{CamtReader, Item, Kind, Version};
use rust_decimal::Decimal;

const ENTRIES: usize = 200_000;
/// Entry `n` starts on line `FIRST_ENTRY_LINE + n`.
const FIRST_ENTRY_LINE: u64 = 6;

const HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\">\n\
<BkToCstmrStmt><GrpHdr><MsgId>BIG-1</MsgId><CreDtTm>2024-03-06T02:00:00</CreDtTm></GrpHdr>\n\
<Stmt><Id>BIG</Id><CreDtTm>2024-03-06T02:00:00</CreDtTm><Acct><Id><IBAN>FR7630004000310001234567865</IBAN></Id><Ccy>EUR</Ccy></Acct>\n\
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"EUR\">0</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-03-05</Dt></Dt></Bal>\n";

const TAIL: &str = "</Stmt>\n</BkToCstmrStmt>\n</Document>\n";

/// The amount of entry `n`, in cents, and whether it is a debit.
fn amount_of(n: usize) -> (i64, bool) {
    let cents = i64::try_from(n % 100_000).unwrap_or(0) + 1;
    (cents, n.is_multiple_of(3))
}

/// The XML of a camt.053.001.02 with `total` entries, made as it is read.
struct Generated {
    total: usize,
    produced: usize,
    /// The part being read: the head, one entry, or the tail.
    chunk: Vec<u8>,
    at: usize,
    head_done: bool,
    tail_done: bool,
    /// All the bytes given so far.
    given: u64,
}

impl Generated {
    fn new(total: usize) -> Self {
        Self {
            total,
            produced: 0,
            chunk: Vec::with_capacity(1024),
            at: 0,
            head_done: false,
            tail_done: false,
            given: 0,
        }
    }

    /// Makes the next part; `false` at the end.
    fn refill(&mut self) -> bool {
        self.chunk.clear();
        self.at = 0;
        if !self.head_done {
            self.head_done = true;
            self.chunk.extend_from_slice(HEAD.as_bytes());
        } else if self.produced < self.total {
            self.write_entry(self.produced);
            self.produced += 1;
        } else if !self.tail_done {
            self.tail_done = true;
            self.chunk.extend_from_slice(TAIL.as_bytes());
        } else {
            return false;
        }
        true
    }

    fn write_entry(&mut self, n: usize) {
        let (cents, debit) = amount_of(n);
        let entry = format!(
            "<Ntry><NtryRef>{n}</NtryRef><Amt Ccy=\"EUR\">{}.{:02}</Amt>\
             <CdtDbtInd>{}</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2024-03-05</Dt></BookgDt>\
             <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>\
             <NtryDtls><TxDtls><Refs><EndToEndId>E2E-{n}</EndToEndId></Refs>\
             <RmtInf><Ustrd>VIREMENT &amp; CO {n}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\n",
            cents / 100,
            cents % 100,
            if debit { "DBIT" } else { "CRDT" }
        );
        self.chunk.extend_from_slice(entry.as_bytes());
    }
}

impl Read for Generated {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.at == self.chunk.len() {
            if !self.refill() {
                return Ok(0);
            }
        }
        let n = out.len().min(self.chunk.len() - self.at);
        out[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        self.given += n as u64;
        Ok(n)
    }
}

#[test]
fn two_hundred_thousand_entries_are_read_in_a_small_buffer() -> Result<(), Box<dyn Error>> {
    let mut reader = CamtReader::new(BufReader::with_capacity(8192, Generated::new(ENTRIES)));
    let header = reader.header()?;
    assert_eq!(
        (header.kind, header.version),
        (Kind::Statement053, Version::V02)
    );
    let (mut entries, mut total, mut last_line, mut largest_buffer) = (0usize, Decimal::ZERO, 0, 0);
    let mut accounts = 0;
    while let Some(item) = reader.next_item()? {
        match item {
            Item::Entry(entry) => {
                if entries == 1 {
                    assert_eq!(entry.unstructured, ["VIREMENT & CO 1"]);
                    assert_eq!(entry.end_to_end_id.as_deref(), Some("E2E-1"));
                }
                entries += 1;
                total += entry.signed_amount();
                last_line = entry.line;
            }
            Item::Account(_) => accounts += 1,
            Item::Balance(_) | Item::EndAccount => {}
        }
        largest_buffer = largest_buffer.max(reader.buffer_capacity());
    }
    let expected: Decimal = (0..ENTRIES)
        .map(|n| {
            let (cents, debit) = amount_of(n);
            Decimal::new(if debit { -cents } else { cents }, 2)
        })
        .sum();
    assert_eq!((accounts, entries), (1, ENTRIES));
    assert_eq!(total, expected);
    assert_eq!(last_line, FIRST_ENTRY_LINE + ENTRIES as u64 - 1);
    assert!(
        largest_buffer < 64 * 1024,
        "the event buffer grew to {largest_buffer} bytes"
    );
    Ok(())
}

#[test]
fn the_generator_makes_a_large_file_without_holding_it() -> io::Result<()> {
    let mut input = Generated::new(ENTRIES);
    let mut sink = [0u8; 4096];
    while input.read(&mut sink)? > 0 {
        assert!(input.chunk.capacity() < 4096, "one entry at a time");
    }
    assert!(input.given > 40_000_000, "{} bytes", input.given);
    Ok(())
}
