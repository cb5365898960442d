//! Property tests: any string is answered without panic; generated names survive every way of
//! writing them, and mangling that does not change a name; a changed value does.

use proptest::prelude::*;

use super::attr::KNOWN;
use super::*;

/// Types of every kind: short names, long names only, SN (surname), unknown OIDs.
const TYPES: &[&str] = &[
    "2.5.4.3",
    "2.5.4.4",
    "2.5.4.5",
    "2.5.4.6",
    "2.5.4.8",
    "2.5.4.10",
    "2.5.4.11",
    "2.5.4.42",
    "2.5.4.97",
    "0.9.2342.19200300.100.1.25",
    "1.2.840.113549.1.9.1",
    "1.3.6.1.4.1.311.60.2.1.3",
    "1.2.3.4.5",
];

/// Values with every special character of every syntax, spaces (leading and trailing too), a
/// tab, and non-ASCII.
fn value() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ,+\"\\\\<>;#=/éÉ日\t%-]{0,12}"
}

fn generated_dn() -> impl Strategy<Value = Dn> {
    let ava = (proptest::sample::select(TYPES), value()).prop_map(|(oid, text)| Ava {
        attr: AttrType::from_oid(oid),
        value: Value::Text(text),
    });
    let rdn = proptest::collection::vec(ava, 1..4).prop_map(|avas| Rdn { avas });
    proptest::collection::vec(rdn, 1..6).prop_map(Dn::new)
}

fn read(text: &str) -> Dn {
    match Dn::parse(text) {
        Ok(dn) => dn,
        Err(error) => panic!("{text:?}: {error}"),
    }
}

fn text_of(value: &Value) -> &str {
    match value {
        Value::Text(text) => text,
        Value::Ber(_) => panic!("the generated values are text"),
    }
}

/// OpenSSL's legacy `/C=FR/O=…` form as `X509_NAME_oneline` writes it: `\/`, `\+`, a `\`
/// left as it is, and `\xHH` for bytes outside printable ASCII.
fn legacy(dn: &Dn) -> String {
    let mut out = String::new();
    for rdn in dn.rdns() {
        out.push('/');
        for (i, ava) in rdn.avas.iter().enumerate() {
            if i > 0 {
                out.push('+');
            }
            out.push_str(ava.attr.label());
            out.push('=');
            for c in text_of(&ava.value).chars() {
                match c {
                    '/' | '+' => {
                        out.push('\\');
                        out.push(c);
                    }
                    c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
                    c => {
                        let mut utf8 = [0u8; 4];
                        for b in c.encode_utf8(&mut utf8).bytes() {
                            out.push_str(&format!("\\x{b:02X}"));
                        }
                    }
                }
            }
        }
    }
    out
}

/// Whether the legacy form tells this name's values apart: it cannot when a value ends in `\`
/// or has `\x` and two hex digits in it (the printer does not escape `\`).
fn legacy_is_faithful(dn: &Dn) -> bool {
    dn.rdns().iter().flat_map(|rdn| &rdn.avas).all(|ava| {
        let text = text_of(&ava.value);
        let chars: Vec<char> = text.chars().collect();
        !text.ends_with('\\')
            && !chars.windows(4).any(|w| {
                w[0] == '\\'
                    && (w[1] == 'x' || w[1] == 'X')
                    && w[2].is_ascii_hexdigit()
                    && w[3].is_ascii_hexdigit()
            })
    })
}

/// OpenSSL's default (`oneline`) form: certificate order, `, ` and ` + `, spaces around `=`,
/// values quoted when they need it, `\XX` for bytes outside printable ASCII.
fn oneline(dn: &Dn) -> String {
    let mut out = String::new();
    for (i, rdn) in dn.rdns().iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        for (j, ava) in rdn.avas.iter().enumerate() {
            if j > 0 {
                out.push_str(" + ");
            }
            let text = text_of(&ava.value);
            let quote = text.is_empty()
                || text.starts_with(' ')
                || text.ends_with(' ')
                || text.contains(|c: char| ",+\"\\<>;#=".contains(c));
            out.push_str(ava.attr.label());
            out.push_str(" = ");
            if quote {
                out.push('"');
            }
            for c in text.chars() {
                match c {
                    '"' | '\\' => {
                        out.push('\\');
                        out.push(c);
                    }
                    c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
                    c => {
                        let mut utf8 = [0u8; 4];
                        for b in c.encode_utf8(&mut utf8).bytes() {
                            out.push_str(&format!("\\{b:02X}"));
                        }
                    }
                }
            }
            if quote {
                out.push('"');
            }
        }
    }
    out
}

/// A small deterministic generator for the mangling.
struct Rng(u64);

impl Rng {
    fn step(&mut self) -> u64 {
        let mut x = self.0 | 1;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.step() % u64::try_from(n.max(1)).unwrap_or(1)).unwrap_or(0)
    }

    fn coin(&mut self) -> bool {
        self.step() & 1 == 1
    }

    fn spaces(&mut self) -> &'static str {
        ["", " ", "  ", "\t"][self.below(4)]
    }

    fn flip_case(&mut self, text: &str) -> String {
        text.chars()
            .map(|c| {
                if !self.coin() {
                    c.to_string()
                } else if c.is_lowercase() {
                    c.to_uppercase().collect()
                } else {
                    c.to_lowercase().collect()
                }
            })
            .collect()
    }
}

/// The same name with types spelled another way (short, long, dotted, `OID.`, any case),
/// spaces around separators, values in another case with more spaces, `;` for `,`, and the
/// RDNs and the pairs of each RDN in another order.
fn mangled(dn: &Dn, seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut rdns: Vec<&Rdn> = dn.rdns().iter().collect();
    let count = rdns.len();
    rdns.rotate_left(rng.below(count));
    let mut out = String::new();
    for (i, rdn) in rdns.iter().enumerate() {
        if i > 0 {
            out.push_str(rng.spaces());
            out.push(if rng.coin() { ',' } else { ';' });
        }
        let mut avas: Vec<&Ava> = rdn.avas.iter().collect();
        let count = avas.len();
        avas.rotate_left(rng.below(count));
        for (j, ava) in avas.iter().enumerate() {
            if j > 0 {
                out.push_str(rng.spaces());
                out.push('+');
            }
            let mut spellings: Vec<String> = KNOWN
                .iter()
                .filter(|known| known.oid == ava.attr.key())
                .flat_map(|known| known.names.iter().map(|name| (*name).to_owned()))
                .collect();
            spellings.push(ava.attr.key().to_owned());
            spellings.push(format!("OID.{}", ava.attr.key()));
            let spelling = spellings[rng.below(spellings.len())].clone();
            out.push_str(rng.spaces());
            out.push_str(&rng.flip_case(&spelling));
            out.push_str(rng.spaces());
            out.push('=');
            out.push_str(rng.spaces());
            let mut text = String::from(rng.spaces());
            for c in rng.flip_case(text_of(&ava.value)).chars() {
                text.push(c);
                if c == ' ' {
                    text.push_str(rng.spaces());
                }
            }
            text.push_str(rng.spaces());
            escape_rfc4514(&mut out, &text);
        }
    }
    out
}

proptest! {
    #[test]
    fn any_string_is_answered_without_panic(text in "\\PC{0,120}") {
        let _ = Dn::parse(&text);
        let _ = Dn::parse(&format!("/{text}"));
    }

    #[test]
    fn dn_shaped_strings_are_answered_without_panic(
        text in "[a-zA-Z0-9.=,+;\"\\\\#/ <>\\x00-\\x1fé]{0,60}"
    ) {
        if let Ok(dn) = Dn::parse(&text) {
            // Whatever is read is written so that it reads back the same.
            let again = read(&dn.to_rfc4514());
            prop_assert_eq!(again.rdns(), dn.rdns());
        }
    }

    #[test]
    fn written_names_read_back(dn in generated_dn()) {
        let written = dn.to_rfc4514();
        let back = read(&written);
        prop_assert_eq!(back.rdns(), dn.rdns(), "{}", written);
        prop_assert_eq!(&back, &dn);
        let reversed = Dn::new(dn.rdns().iter().rev().cloned().collect());
        prop_assert_eq!(&reversed, &dn);
        if legacy_is_faithful(&dn) {
            let legacy = legacy(&dn);
            let parsed = read(&legacy);
            prop_assert_eq!(parsed.rdns(), dn.rdns(), "{}", legacy);
        }
        let oneline = oneline(&dn);
        let mut from_oneline = read(&oneline).rdns().to_vec();
        from_oneline.reverse();
        prop_assert_eq!(from_oneline.as_slice(), dn.rdns(), "{}", oneline);
        prop_assert_eq!(read(&oneline), dn);
    }

    #[test]
    fn mangled_names_are_the_same_name(dn in generated_dn(), seed in any::<u64>()) {
        let text = mangled(&dn, seed);
        prop_assert_eq!(read(&text), dn, "{}", text);
    }

    #[test]
    fn changed_names_are_other_names(dn in generated_dn(), seed in any::<u64>()) {
        let mut rng = Rng(seed);
        let mut rdns = dn.rdns().to_vec();
        let r = rng.below(rdns.len());
        let a = rng.below(rdns[r].avas.len());
        let mut changed = rdns.clone();
        let text = format!("{}x", text_of(&changed[r].avas[a].value));
        changed[r].avas[a].value = Value::Text(text);
        prop_assert_ne!(&Dn::new(changed), &dn);
        let mut retyped = rdns.clone();
        let other = TYPES
            .iter()
            .find(|oid| **oid != retyped[r].avas[a].attr.key())
            .copied()
            .unwrap_or("1.2.3");
        retyped[r].avas[a].attr = AttrType::from_oid(other);
        prop_assert_ne!(&Dn::new(retyped), &dn);
        let mut extra = rdns.clone();
        extra.push(Rdn { avas: vec![Ava { attr: AttrType::from_oid("2.5.4.3"), value: Value::Text("extra".into()) }] });
        prop_assert_ne!(&Dn::new(extra), &dn);
        rdns.remove(r);
        prop_assert_ne!(&Dn::new(rdns), &dn);
    }
}
