//! Reading the ways distinguished names are written.
//!
//! Comma forms (read as RFC 4514 order, most specific RDN first):
//! - RFC 4514 §3 / RFC 2253 §3: `,` between RDNs, `+` between the pairs of one RDN, `type=value`
//!   where type is a name or a dotted OID; in a value `\` escapes one of `"` `+` `,` `;` `<`
//!   `>` `\` `=` `#` space (§2.4: `"+,;<>\` anywhere, `#` and space in front, space at the end
//!   must be), or starts a `\XX` hex pair, and pairs make UTF-8 (`\C3\A9` is `é`); a value
//!   starting with `#` is the hex of its BER encoding (§2.4: "If the AttributeValue is of a
//!   type which does not have a string representation … the value is BER encoded").
//! - RFC 1779 and OpenSSL's default output: `;` also separates RDNs, spaces around `=` `,` `+`,
//!   `"…"` quoted values (with `\"`, `\\` and `\XX` inside), `OID.2.5.4.97` types.
//!
//! Slash form (read in certificate order): OpenSSL's legacy `/C=FR/O=…/CN=…` (`-nameopt
//! compat`, `X509_NAME_oneline`): `/` between RDNs, `+` within one, `\/` and `\+` escapes and
//! `\xHH` bytes. That printer leaves a literal `\` as it is, so `\` followed by anything else
//! is a backslash (a value ending in `\`, or with `\x` and two hex digits in it, cannot be told
//! apart in that form). It dumps a BMPString or UniversalString as its raw UTF-16 or UTF-32
//! bytes, which are decoded when they contain NULs and decode cleanly; bytes that are not
//! UTF-8 are read as Latin-1 (how it prints a TeletexString).

use super::{AttrType, Ava, Dn, DnError, Rdn, Value, utf16be, utf32be};

pub(super) fn parse(text: &str) -> Result<Dn, DnError> {
    // Not trim(): in the slash form, spaces at the end belong to the last value.
    let trimmed = text.trim_start();
    if trimmed.starts_with('/') {
        parse_slashes(trimmed)
    } else {
        parse_commas(text)
    }
}

struct Cursor {
    chars: Vec<char>,
    pos: usize,
}

impl Cursor {
    fn new(text: &str) -> Cursor {
        Cursor {
            chars: text.chars().collect(),
            pos: 0,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn error(&self, reason: &'static str) -> DnError {
        DnError {
            position: self.pos,
            reason,
        }
    }

    /// Two hex digits at the cursor, consumed if they are there.
    fn hex_pair(&mut self) -> Option<u8> {
        let high = self.chars.get(self.pos)?.to_digit(16)?;
        let low = self.chars.get(self.pos + 1)?.to_digit(16)?;
        self.pos += 2;
        u8::try_from(high * 16 + low).ok()
    }
}

/// A value's bytes, and how many of them to keep (unescaped trailing spaces are dropped).
#[derive(Default)]
struct Bytes {
    buf: Vec<u8>,
    keep: usize,
}

impl Bytes {
    fn push_char(&mut self, c: char) {
        let mut utf8 = [0u8; 4];
        self.buf
            .extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
    }

    fn keep_all(&mut self) {
        self.keep = self.buf.len();
    }

    fn into_text(mut self, cur: &Cursor) -> Result<Value, DnError> {
        self.buf.truncate(self.keep);
        String::from_utf8(self.buf)
            .map(Value::Text)
            .map_err(|_| cur.error("escaped bytes are not UTF-8"))
    }
}

fn parse_commas(text: &str) -> Result<Dn, DnError> {
    let mut cur = Cursor::new(text);
    let mut rdns = Vec::new();
    cur.skip_whitespace();
    if cur.peek().is_none() {
        return Ok(Dn::new(rdns));
    }
    let mut avas = Vec::new();
    loop {
        cur.skip_whitespace();
        let attr = attribute_type(&mut cur, &[',', '+', ';'])?;
        cur.skip_whitespace();
        let value = match cur.peek() {
            Some('"') => quoted(&mut cur)?,
            Some('#') => hex_or_text(&mut cur)?,
            _ => unquoted(&mut cur)?,
        };
        avas.push(Ava { attr, value });
        cur.skip_whitespace();
        match cur.peek() {
            None => break,
            Some('+') => {}
            Some(',' | ';') => rdns.push(Rdn {
                avas: std::mem::take(&mut avas),
            }),
            Some(_) => return Err(cur.error("expected ',', ';' or '+' after a value")),
        }
        cur.pos += 1;
    }
    rdns.push(Rdn { avas });
    rdns.reverse();
    Ok(Dn::new(rdns))
}

/// The type before `=`; a stop character before any `=` is an error.
fn attribute_type(cur: &mut Cursor, stops: &[char]) -> Result<AttrType, DnError> {
    let start = cur.pos;
    let mut name = String::new();
    loop {
        match cur.peek() {
            Some('=') => break,
            Some(c) if !stops.contains(&c) => name.push(c),
            _ => return Err(cur.error("an attribute has no '='")),
        }
        cur.pos += 1;
    }
    cur.pos += 1;
    AttrType::parse(&name).map_err(|reason| DnError {
        position: start,
        reason,
    })
}

/// After a `\`: a hex pair, or the escaped character.
fn escape(cur: &mut Cursor, bytes: &mut Bytes) -> Result<(), DnError> {
    match cur.hex_pair() {
        Some(byte) => bytes.buf.push(byte),
        None => match cur.bump() {
            Some(c) => bytes.push_char(c),
            None => return Err(cur.error("a value ends with a lone '\\'")),
        },
    }
    bytes.keep_all();
    Ok(())
}

fn quoted(cur: &mut Cursor) -> Result<Value, DnError> {
    cur.pos += 1;
    let mut bytes = Bytes::default();
    loop {
        match cur.bump() {
            None => return Err(cur.error("a quoted value has no closing '\"'")),
            Some('"') => break,
            Some('\\') => escape(cur, &mut bytes)?,
            Some(c) => bytes.push_char(c),
        }
    }
    bytes.keep_all();
    bytes.into_text(cur)
}

fn unquoted(cur: &mut Cursor) -> Result<Value, DnError> {
    let mut bytes = Bytes::default();
    while let Some(c) = cur.peek() {
        if matches!(c, ',' | '+' | ';') {
            break;
        }
        cur.pos += 1;
        if c == '\\' {
            escape(cur, &mut bytes)?;
        } else {
            bytes.push_char(c);
            if !c.is_whitespace() {
                bytes.keep_all();
            }
        }
    }
    bytes.into_text(cur)
}

/// `#` and the hex of a BER encoding; a `#` not followed by hex pairs is read as text.
fn hex_or_text(cur: &mut Cursor) -> Result<Value, DnError> {
    let start = cur.pos;
    cur.pos += 1;
    let mut ber = Vec::new();
    let mut complete = true;
    while cur
        .peek()
        .is_some_and(|c| !matches!(c, ',' | '+' | ';') && !c.is_whitespace())
    {
        match cur.hex_pair() {
            Some(byte) => ber.push(byte),
            None => {
                complete = false;
                break;
            }
        }
    }
    if complete && !ber.is_empty() {
        return Ok(Value::from_ber(ber));
    }
    cur.pos = start;
    unquoted(cur)
}

fn parse_slashes(text: &str) -> Result<Dn, DnError> {
    let mut cur = Cursor::new(text);
    cur.pos = 1;
    let mut rdns = Vec::new();
    if cur.peek().is_none() {
        return Ok(Dn::new(rdns));
    }
    let mut avas = Vec::new();
    loop {
        let attr = attribute_type(&mut cur, &['/', '+'])?;
        avas.push(Ava {
            attr,
            value: legacy_value(&mut cur),
        });
        match cur.bump() {
            Some('+') => {}
            // '/', or the end
            _ => {
                rdns.push(Rdn {
                    avas: std::mem::take(&mut avas),
                });
                if cur.peek().is_none() {
                    break;
                }
            }
        }
    }
    Ok(Dn::new(rdns))
}

fn legacy_value(cur: &mut Cursor) -> Value {
    let mut bytes = Bytes::default();
    while let Some(c) = cur.peek() {
        if c == '/' || c == '+' {
            break;
        }
        cur.pos += 1;
        if c == '\\' {
            match cur.peek() {
                Some('x' | 'X') => {
                    cur.pos += 1;
                    if let Some(byte) = cur.hex_pair() {
                        bytes.buf.push(byte);
                        continue;
                    }
                    cur.pos -= 1;
                }
                Some(escaped @ ('/' | '+')) => {
                    cur.pos += 1;
                    bytes.push_char(escaped);
                    continue;
                }
                _ => {}
            }
        }
        bytes.push_char(c);
    }
    Value::Text(decode_legacy(bytes.buf))
}

fn decode_legacy(bytes: Vec<u8>) -> String {
    if bytes.contains(&0) {
        let wide = utf32be(&bytes)
            .filter(|text| !text.contains('\0'))
            .or_else(|| utf16be(&bytes).filter(|text| !text.contains('\0')));
        if let Some(text) = wide {
            return text;
        }
    }
    match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => error.into_bytes().into_iter().map(char::from).collect(),
    }
}
