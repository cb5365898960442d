//! The streaming reader: the group header, then one item per `Stmt`/`Rpt` start, `Bal`,
//! `Ntry` and `Stmt`/`Rpt` end, each given as soon as its element closes. Nothing else of the
//! file is kept, so a file of any size is read in the memory of one entry.

use std::io::BufRead;

use crate::error::{CamtError, Result, shorten};
use crate::model::{
    Document, Header, Item, Kind, NAMESPACE_PREFIX, Statement, Version, kind_and_version,
};
use crate::tag::Tag;
use crate::value::check_date_time;
use crate::xml::{Node, XmlReader};

mod account;
mod common;
mod entry;

#[cfg(test)]
mod tests;

use common::read_parsed;

/// Where the reader is in the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the group header.
    Start,
    /// Inside `BkToCstmrStmt`/`BkToCstmrAcctRpt`, between accounts.
    Group,
    /// Inside a `Stmt`/`Rpt`, after its `Acct`.
    Account,
    /// After the end of `Document`.
    Done,
}

/// Reads a camt.053 or camt.052 (version 02 or 08) item by item:
///
/// ```no_run
/// # fn main() -> Result<(), guichet_camt::CamtError> {
/// # let file = std::io::BufReader::new(std::io::empty());
/// use guichet_camt::{CamtReader, Item};
/// let mut reader = CamtReader::new(file);
/// let header = reader.header()?;
/// println!("{} of {}", header.message_id, header.created);
/// while let Some(item) = reader.next_item()? {
///     match item {
///         Item::Account(account) => println!("account {}", account.account.as_str()),
///         Item::Balance(balance) => println!("{} {}", balance.code, balance.amount),
///         Item::Entry(entry) => println!("{}", entry.signed_amount()),
///         Item::EndAccount => {}
///     }
/// }
/// # Ok(()) }
/// ```
///
/// After an error, every call gives that error again (and the iterator ends).
pub struct CamtReader<R: BufRead> {
    xml: XmlReader<R>,
    header: Option<Header>,
    state: State,
    failed: Option<CamtError>,
}

impl<R: BufRead> CamtReader<R> {
    /// A reader of `input` (a `BufReader` of a file, or a byte slice).
    pub fn new(input: R) -> Self {
        Self {
            xml: XmlReader::new(input),
            header: None,
            state: State::Start,
            failed: None,
        }
    }

    /// The group header, and the kind and version the namespace of `Document` names. Read at
    /// the first call (by [`Self::next_item`] too), then remembered.
    pub fn header(&mut self) -> Result<Header> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        if let Some(header) = &self.header {
            return Ok(header.clone());
        }
        match self.read_header() {
            Ok(header) => {
                self.header = Some(header.clone());
                self.state = State::Group;
                Ok(header)
            }
            Err(error) => {
                self.failed = Some(error.clone());
                Err(error)
            }
        }
    }

    /// The next item, `None` after the end of `Document`.
    pub fn next_item(&mut self) -> Result<Option<Item>> {
        let kind = match self.header.as_ref().map(|header| header.kind) {
            Some(kind) => kind,
            None => self.header()?.kind,
        };
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let outcome = match self.state {
            State::Group => self.in_group(kind),
            State::Account => self.in_account(),
            State::Start | State::Done => Ok(None),
        };
        if let Err(error) = &outcome {
            self.failed = Some(error.clone());
        }
        outcome
    }

    /// The capacity of the reader's event buffer, which is reused for every XML event: it
    /// stays the size of the largest single event, whatever the size of the file.
    pub fn buffer_capacity(&self) -> usize {
        self.xml.buffer_capacity()
    }

    fn read_header(&mut self) -> Result<Header> {
        let root = loop {
            match self.xml.next()? {
                Node::Open(tag) => break tag,
                Node::Eof => return Err(self.xml.eof_error()),
                Node::Close => {}
            }
        };
        if root != Tag::Document {
            return Err(self.xml.error(format!(
                "the root element is <{}>, not the <Document> of a camt.052 or camt.053",
                self.xml.name()
            )));
        }
        let (kind, version) = self.root_namespace()?;
        let message = kind.message_element();
        match self.xml.child()? {
            Some(_) if self.xml.name() == message => {}
            Some(_) => {
                return Err(self.xml.error(format!(
                    "a {} document holds <{message}>, not <{}>",
                    kind.message_name(),
                    self.xml.name()
                )));
            }
            None => {
                return Err(self.xml.error(format!(
                    "<Document> is empty: a {} holds <{message}>",
                    kind.message_name()
                )));
            }
        }
        if self.xml.child()? != Some(Tag::GrpHdr) {
            return Err(self.xml.error(format!(
                "<{message}> does not start with its group header <GrpHdr>"
            )));
        }
        let (message_id, created) = self.read_group_header()?;
        Ok(Header {
            kind,
            version,
            message_id,
            created,
        })
    }

    /// The kind and version the namespace of `Document` names.
    fn root_namespace(&self) -> Result<(Kind, Version)> {
        let Some(namespace) = self.xml.namespace_declared() else {
            return Err(self.xml.error(format!(
                "<Document> has no namespace; a camt file declares one like \
                 {NAMESPACE_PREFIX}camt.053.001.02"
            )));
        };
        kind_and_version(namespace).ok_or_else(|| {
            self.xml.error(format!(
                "namespace '{}' is not camt.052 or camt.053 of version 02 or 08 \
                 (like {NAMESPACE_PREFIX}camt.053.001.02)",
                shorten(namespace, 100)
            ))
        })
    }

    /// `GrpHdr`: `MsgId` and `CreDtTm`.
    fn read_group_header(&mut self) -> Result<(String, String)> {
        let (mut message_id, mut created) = (None, None);
        while let Some(tag) = self.xml.child()? {
            match tag {
                Tag::MsgId => message_id = Some(self.xml.leaf_text()?),
                Tag::CreDtTm => created = Some(read_parsed(&mut self.xml, check_date_time)?),
                _ => self.xml.skip()?,
            }
        }
        match (message_id, created) {
            (Some(message_id), Some(created)) => Ok((message_id, created)),
            (None, _) => Err(self.xml.error("GrpHdr without MsgId")),
            (_, None) => Err(self.xml.error("GrpHdr without CreDtTm")),
        }
    }

    /// Between accounts: the next `Stmt`/`Rpt`, or the end of the document.
    fn in_group(&mut self, kind: Kind) -> Result<Option<Item>> {
        let (own, other) = match kind {
            Kind::Statement053 => (Tag::Stmt, Tag::Rpt),
            Kind::Report052 => (Tag::Rpt, Tag::Stmt),
        };
        while let Some(tag) = self.xml.child()? {
            if tag == own {
                let account = account::read_account_header(&mut self.xml)?;
                self.state = State::Account;
                return Ok(Some(Item::Account(account)));
            }
            if tag == other {
                return Err(self.xml.error(format!(
                    "a {} file holds <{}>, not <{}>",
                    kind.message_name(),
                    kind.account_element(),
                    kind.other().account_element()
                )));
            }
            self.xml.skip()?;
        }
        self.finish_document()?;
        self.state = State::Done;
        Ok(None)
    }

    /// Inside a `Stmt`/`Rpt`: its next `Bal` or `Ntry`, or its end.
    fn in_account(&mut self) -> Result<Option<Item>> {
        while let Some(tag) = self.xml.child()? {
            match tag {
                Tag::Bal => {
                    return account::read_balance(&mut self.xml).map(|b| Some(Item::Balance(b)));
                }
                Tag::Ntry => return entry::read_entry(&mut self.xml).map(|e| Some(Item::Entry(e))),
                _ => self.xml.skip()?,
            }
        }
        self.state = State::Group;
        Ok(Some(Item::EndAccount))
    }

    /// After the message element: the end of `Document`, then of the input.
    fn finish_document(&mut self) -> Result<()> {
        while self.xml.child()?.is_some() {
            self.xml.skip()?;
        }
        loop {
            match self.xml.next()? {
                Node::Eof => return Ok(()),
                Node::Open(_) => {
                    return Err(self.xml.error("an element after the end of <Document>"));
                }
                Node::Close => {}
            }
        }
    }
}

impl<R: BufRead> Iterator for CamtReader<R> {
    type Item = Result<crate::model::Item>;

    /// The next item; after an error, `None`.
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed.is_some() {
            return None;
        }
        self.next_item().transpose()
    }
}

/// Reads a whole document into memory; for large files, use [`CamtReader`] item by item.
pub fn read_document<R: BufRead>(input: R) -> Result<Document> {
    let mut reader = CamtReader::new(input);
    let header = reader.header()?;
    let mut statements: Vec<Statement> = Vec::new();
    while let Some(item) = reader.next_item()? {
        match item {
            Item::Account(account) => statements.push(Statement {
                account,
                balances: Vec::new(),
                entries: Vec::new(),
            }),
            Item::Balance(balance) => {
                if let Some(statement) = statements.last_mut() {
                    statement.balances.push(balance);
                }
            }
            Item::Entry(entry) => {
                if let Some(statement) = statements.last_mut() {
                    statement.entries.push(entry);
                }
            }
            Item::EndAccount => {}
        }
    }
    Ok(Document {
        kind: header.kind,
        version: header.version,
        message_id: header.message_id,
        created: header.created,
        statements,
    })
}
