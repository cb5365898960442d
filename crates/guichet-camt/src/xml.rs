//! The only module that speaks to quick-xml: a pull reader of elements that keeps the path of
//! open elements with the line each started on, the text of the current leaf, and the
//! attributes of the last start tag. One byte buffer is reused for every event, so memory
//! stays bounded by the largest single event, whatever the size of the file.

use std::io::BufRead;

use quick_xml::events::{BytesRef, BytesStart, Event};

use crate::error::{CamtError, Result, shorten};
use crate::tag::Tag;

#[cfg(test)]
mod tests;

/// Deeper than this is no camt file (the deepest camt path has about 15 levels).
const MAX_DEPTH: usize = 256;

/// What [`XmlReader::next`] met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Node {
    /// A start tag (or an empty element, whose `Close` follows).
    Open(Tag),
    /// The end of the current element. It stays the current element (for error messages)
    /// until the next call.
    Close,
    /// The end of the input.
    Eof,
}

/// One open element.
struct Frame {
    /// The local name (without prefix).
    name: String,
    /// The line its start tag begins on.
    line: u64,
}

/// A pull reader of elements over quick-xml.
pub(crate) struct XmlReader<R> {
    reader: quick_xml::Reader<R>,
    /// The event buffer, cleared before each event.
    buf: Vec<u8>,
    /// The newlines of all the events read so far.
    newlines: u64,
    /// The open elements are `frames[..depth]`; frames beyond are kept to reuse their names.
    frames: Vec<Frame>,
    depth: usize,
    /// The last node was a `Close`: pop it at the next call.
    pop_pending: bool,
    /// The last node was an empty element's `Open`: give its `Close` at the next call.
    close_pending: bool,
    /// No element started since the current one did: its text is being gathered.
    in_leaf: bool,
    /// Whether text is gathered at all (not while skipping).
    collect: bool,
    /// The text of the current (or just closed) leaf.
    text: String,
    /// The prefix of the last start tag's name (`camt` in `<camt:Document>`), or empty.
    prefix: String,
    /// The attributes of the last start tag, unescaped.
    attributes: Vec<(String, String)>,
}

impl<R: BufRead> XmlReader<R> {
    pub(crate) fn new(input: R) -> Self {
        Self {
            reader: quick_xml::Reader::from_reader(input),
            buf: Vec::with_capacity(1024),
            newlines: 0,
            frames: Vec::new(),
            depth: 0,
            pop_pending: false,
            close_pending: false,
            in_leaf: false,
            collect: true,
            text: String::new(),
            prefix: String::new(),
            attributes: Vec::new(),
        }
    }

    /// The capacity of the event buffer: the size of the largest event read so far.
    pub(crate) fn buffer_capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// The next node of the document; text, comments, declarations and processing
    /// instructions are taken in passing.
    pub(crate) fn next(&mut self) -> Result<Node> {
        if self.pop_pending {
            self.pop_pending = false;
            self.depth = self.depth.saturating_sub(1);
        }
        if self.close_pending {
            self.close_pending = false;
            self.close();
            return Ok(Node::Close);
        }
        loop {
            let mut buf = std::mem::take(&mut self.buf);
            buf.clear();
            let node = match self.reader.read_event_into(&mut buf) {
                Ok(event) => self.event(event),
                Err(error) => {
                    Err(self.error_at(self.newlines + 1, format!("not well-formed XML: {error}")))
                }
            };
            self.buf = buf;
            if let Some(node) = node? {
                return Ok(node);
            }
        }
    }

    /// The next child of the current element, or `None` once the current element closes.
    pub(crate) fn child(&mut self) -> Result<Option<Tag>> {
        match self.next()? {
            Node::Open(tag) => Ok(Some(tag)),
            Node::Close => Ok(None),
            Node::Eof => Err(self.eof_error()),
        }
    }

    /// Reads past the end of the element just opened, without gathering anything.
    pub(crate) fn skip(&mut self) -> Result<()> {
        let target = self.depth;
        self.collect = false;
        let outcome = loop {
            match self.next() {
                Ok(Node::Open(_)) => {}
                Ok(Node::Close) if self.depth == target => break Ok(()),
                Ok(Node::Close) => {}
                Ok(Node::Eof) => break Err(self.eof_error()),
                Err(error) => break Err(error),
            }
        };
        self.collect = true;
        outcome
    }

    /// The text of the element just opened, trimmed, read up to its end; child elements
    /// (there should be none) are skipped.
    pub(crate) fn leaf_text(&mut self) -> Result<String> {
        while self.child()?.is_some() {
            self.skip()?;
        }
        Ok(self.text().to_owned())
    }

    /// The trimmed text of the element that just closed, empty if it had child elements.
    pub(crate) fn text(&self) -> &str {
        self.text.trim()
    }

    /// An attribute of the last start tag, by its qualified name.
    pub(crate) fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The namespace the last start tag's prefix is bound to on that tag (`xmlns` or
    /// `xmlns:prefix`), if it declares it.
    pub(crate) fn namespace_declared(&self) -> Option<&str> {
        if self.prefix.is_empty() {
            self.attribute("xmlns")
        } else {
            let key = format!("xmlns:{}", self.prefix);
            self.attribute(&key)
        }
    }

    /// The line the current element starts on (the next line to read outside any).
    pub(crate) fn line(&self) -> u64 {
        match self
            .depth
            .checked_sub(1)
            .and_then(|top| self.frames.get(top))
        {
            Some(frame) => frame.line,
            None => self.newlines + 1,
        }
    }

    /// The path of the current element, like `Document/BkToCstmrStmt/Stmt/Ntry`.
    pub(crate) fn path(&self) -> String {
        let open = &self.frames[..self.depth.min(self.frames.len())];
        if open.is_empty() {
            return "(top level)".to_owned();
        }
        let names: Vec<&str> = open.iter().map(|frame| frame.name.as_str()).collect();
        names.join("/")
    }

    /// The local name of the current element.
    pub(crate) fn name(&self) -> &str {
        match self
            .depth
            .checked_sub(1)
            .and_then(|top| self.frames.get(top))
        {
            Some(frame) => frame.name.as_str(),
            None => "",
        }
    }

    /// An error about the current element, at the line it starts on.
    pub(crate) fn error(&self, message: impl Into<String>) -> CamtError {
        CamtError::new(self.line(), self.path(), message)
    }

    fn error_at(&self, line: u64, message: impl Into<String>) -> CamtError {
        CamtError::new(line, self.path(), message)
    }

    /// The input ended inside the current element, or before any.
    pub(crate) fn eof_error(&self) -> CamtError {
        if self.depth == 0 {
            self.error_at(
                self.newlines + 1,
                "the file ends without a root element: it is not an XML document",
            )
        } else {
            self.error_at(
                self.newlines + 1,
                format!("the file ends before the end of <{}>", self.name()),
            )
        }
    }

    fn event(&mut self, event: Event<'_>) -> Result<Option<Node>> {
        let line = self.newlines + 1;
        let raw: &[u8] = &event;
        self.newlines += raw.iter().filter(|byte| **byte == b'\n').count() as u64;
        match event {
            Event::Start(start) => self.open(&start, line).map(Some),
            Event::Empty(start) => {
                let node = self.open(&start, line)?;
                self.close_pending = true;
                Ok(Some(node))
            }
            Event::End(_) => {
                self.close();
                Ok(Some(Node::Close))
            }
            Event::Text(text) => {
                let decoded = text
                    .decode()
                    .map_err(|e| self.error_at(line, format!("text that is not UTF-8: {e}")))?;
                self.add_text(&decoded, line)?;
                Ok(None)
            }
            Event::CData(data) => {
                let decoded = data
                    .decode()
                    .map_err(|e| self.error_at(line, format!("CDATA that is not UTF-8: {e}")))?;
                self.add_text(&decoded, line)?;
                Ok(None)
            }
            Event::GeneralRef(reference) => {
                self.add_reference(&reference, line)?;
                Ok(None)
            }
            Event::Eof => Ok(Some(Node::Eof)),
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => Ok(None),
        }
    }

    fn open(&mut self, start: &BytesStart<'_>, line: u64) -> Result<Node> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error_at(line, format!("elements nested deeper than {MAX_DEPTH}")));
        }
        let qualified = start.name();
        let full = std::str::from_utf8(qualified.into_inner())
            .map_err(|_| self.error_at(line, "an element name that is not UTF-8"))?;
        let (prefix, local) = full.split_once(':').unwrap_or(("", full));
        let tag = Tag::of(local);
        self.push(local, line);
        self.prefix.clear();
        self.prefix.push_str(prefix);
        self.attributes.clear();
        let decoder = self.reader.decoder();
        for attribute in start.attributes() {
            let attribute =
                attribute.map_err(|e| self.error_at(line, format!("a wrong attribute: {e}")))?;
            let key = String::from_utf8_lossy(attribute.key.as_ref()).into_owned();
            let value = attribute
                .decode_and_unescape_value(decoder)
                .map_err(|e| self.error_at(line, format!("a wrong value of {key}: {e}")))?;
            self.attributes.push((key, value.into_owned()));
        }
        self.text.clear();
        self.in_leaf = true;
        Ok(Node::Open(tag))
    }

    fn push(&mut self, name: &str, line: u64) {
        match self.frames.get_mut(self.depth) {
            Some(frame) => {
                frame.name.clear();
                frame.name.push_str(name);
                frame.line = line;
            }
            None => self.frames.push(Frame {
                name: name.to_owned(),
                line,
            }),
        }
        self.depth += 1;
    }

    fn close(&mut self) {
        if !self.in_leaf {
            self.text.clear();
        }
        self.in_leaf = false;
        self.pop_pending = true;
    }

    fn add_text(&mut self, text: &str, line: u64) -> Result<()> {
        if self.depth == 0 {
            if text.trim().is_empty() {
                return Ok(());
            }
            return Err(self.error_at(
                line,
                format!(
                    "text '{}' outside any element: this is not an XML document",
                    shorten(text.trim(), 30)
                ),
            ));
        }
        if self.in_leaf && self.collect {
            self.text.push_str(text);
        }
        Ok(())
    }

    /// `&amp;`, `&lt;`, `&#233;`…: the five predefined entities and character references.
    fn add_reference(&mut self, reference: &BytesRef<'_>, line: u64) -> Result<()> {
        let resolved = if reference.is_char_ref() {
            match reference.resolve_char_ref() {
                Ok(Some(character)) => character.to_string(),
                Ok(None) | Err(_) => String::new(),
            }
        } else {
            let name = reference
                .decode()
                .map_err(|e| self.error_at(line, format!("an entity that is not UTF-8: {e}")))?;
            quick_xml::escape::resolve_predefined_entity(&name)
                .unwrap_or_default()
                .to_owned()
        };
        if resolved.is_empty() {
            let name = String::from_utf8_lossy(reference);
            return Err(self.error_at(line, format!("unknown entity or character &{name};")));
        }
        self.add_text(&resolved, line)
    }
}
