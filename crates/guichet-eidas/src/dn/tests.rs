use super::*;

fn dn(text: &str) -> Dn {
    match Dn::parse(text) {
        Ok(dn) => dn,
        Err(error) => panic!("{text:?}: {error}"),
    }
}

fn attr(name: &str) -> AttrType {
    match AttrType::parse(name) {
        Ok(attr) => attr,
        Err(error) => panic!("{name:?}: {error}"),
    }
}

/// A DN of single-valued RDNs, in X.500 order.
fn text_dn(pairs: &[(&str, &str)]) -> Dn {
    Dn::new(
        pairs
            .iter()
            .map(|(name, value)| Rdn {
                avas: vec![Ava {
                    attr: attr(name),
                    value: Value::Text((*value).to_owned()),
                }],
            })
            .collect(),
    )
}

#[test]
fn escapes_are_read() {
    let read = dn(r#"CN=a\,b\+c\"d\\e\<f\>g\;h\=i\#j"#);
    assert_eq!(read, text_dn(&[("CN", r#"a,b+c"d\e<f>g;h=i#j"#)]));
    assert_eq!(
        read.rdns()[0].avas[0].value,
        Value::Text(r#"a,b+c"d\e<f>g;h=i#j"#.into())
    );
    assert_eq!(dn(r"CN=caf\C3\A9"), text_dn(&[("CN", "café")]));
    assert_eq!(dn(r"CN=caf\c3\a9"), text_dn(&[("CN", "café")]));
    assert_eq!(
        dn(r"CN=\#x\ ").rdns()[0].avas[0].value,
        Value::Text("#x ".into())
    );
    assert_eq!(
        dn(r"CN=\ \ a").rdns()[0].avas[0].value,
        Value::Text("  a".into())
    );
    // RFC 4514 §2.4: a value starting with '#' is the hex of its BER encoding.
    assert_eq!(dn("CN=#0C03616263"), text_dn(&[("CN", "abc")]));
    assert_ne!(dn("CN=#04024869"), text_dn(&[("CN", "Hi")]));
    assert_eq!(dn("CN=#04024869"), dn("cn=#04024869"));
    assert_ne!(dn("CN=#04024869"), dn("CN=#0402486A"));
    assert_eq!(dn("CN=#hash"), text_dn(&[("CN", "#hash")]));
}

#[test]
fn quoted_values_are_read() {
    assert_eq!(dn(r#"CN="a, b + c""#), dn(r"CN=a\, b \+ c"));
    assert_eq!(
        dn(r#"O = "Caf\C3\A9 \"x\" \\ ;<>", C = FR"#),
        text_dn(&[("C", "FR"), ("O", r#"Café "x" \ ;<>"#)])
    );
    assert_eq!(
        dn(r#"CN=" lead ""#).rdns()[0].avas[0].value,
        Value::Text(" lead ".into())
    );
}

#[test]
fn multi_valued_rdns_are_sets() {
    assert_eq!(dn("CN=a+OU=b,O=c"), dn("OU=b+CN=a,O=c"));
    assert_eq!(dn("CN=a + OU=b, O=c"), dn("O=c,OU=b+CN=a"));
    assert_ne!(dn("CN=a+OU=b,O=c"), dn("CN=a,OU=b,O=c"));
    assert_eq!(dn("CN=a+OU=b").rdns().len(), 1);
    assert_eq!(dn("/O=c/CN=a+OU=b"), dn("OU=b+CN=a,O=c"));
}

#[test]
fn attribute_types_are_compared_by_oid() {
    for name in [
        "2.5.4.97",
        "OID.2.5.4.97",
        "oid.2.5.4.97",
        "organizationIdentifier",
        "ORGANIZATIONIDENTIFIER",
        "2.5.04.97",
    ] {
        assert_eq!(
            dn(&format!("{name}=PSDFR-ACPR-1")),
            dn("2.5.4.97=PSDFR-ACPR-1"),
            "{name}"
        );
    }
    let same = [
        ["CN", "commonName", "2.5.4.3"],
        ["SERIALNUMBER", "serialNumber", "2.5.4.5"],
        ["SN", "surname", "2.5.4.4"],
        ["GN", "givenName", "2.5.4.42"],
        ["E", "emailAddress", "1.2.840.113549.1.9.1"],
        ["ST", "S", "stateOrProvinceName"],
        ["DC", "domainComponent", "0.9.2342.19200300.100.1.25"],
        ["UID", "userid", "0.9.2342.19200300.100.1.1"],
    ];
    for names in same {
        for name in names {
            assert_eq!(attr(name), attr(names[2]), "{name}");
        }
    }
    // SN in a DN is the surname, never the serial number.
    assert_ne!(attr("SN"), attr("serialNumber"));
    assert_eq!(attr("SN").key(), "2.5.4.4");
    assert_eq!(
        attr("organizationIdentifier").label(),
        "organizationIdentifier"
    );
    assert_eq!(attr("commonName").label(), "CN");
    assert_eq!(attr("1.2.3").label(), "1.2.3");
    assert_eq!(attr("x-Custom").key(), "x-custom");
    assert_ne!(attr("x-custom"), attr("CN"));
}

#[test]
fn whitespace_and_case_are_insignificant() {
    assert_eq!(
        dn("CN=  Guichet   Sandbox  ,O=x"),
        dn("CN=Guichet Sandbox,O=x")
    );
    assert_eq!(dn("C = FR , O = x"), dn("C=FR,O=x"));
    assert_eq!(dn("cn=GUICHET"), dn("CN=guichet"));
    assert_eq!(dn("CN=ÉCOLE"), dn("CN=école"));
    assert_eq!(dn(r"CN=a\09b"), dn("CN=a b"));
    assert_eq!(dn("  "), Dn::default());
    assert_eq!(dn("/"), Dn::default());
}

#[test]
fn both_orders_and_all_syntaxes_agree() {
    let expected = text_dn(&[("C", "FR"), ("O", "b"), ("CN", "a")]);
    for text in [
        "CN=a,O=b,C=FR",
        "C=FR,O=b,CN=a",
        "/C=FR/O=b/CN=a",
        "/C=FR/O=b/CN=a/",
        "C = FR, O = b, CN = a",
        "CN=a; O=b; C=FR",
        r#"CN="a",O="b",C="FR""#,
    ] {
        assert_eq!(dn(text), expected, "{text}");
    }
    assert_eq!(dn("CN=a,O=b,C=FR").rdns(), expected.rdns());
    assert_eq!(dn("/C=FR/O=b/CN=a").rdns(), expected.rdns());
}

/// What openssl 3.0 and Python's cryptography print for one issuer (see the integration test).
#[test]
fn what_the_tools_print_is_one_name() {
    let rfc2253 = r#"DC=ex,emailAddress=a@b.c,organizationIdentifier=PSDFR-ACPR-1,serialNumber=123,OU=\#hash+L=multi,CN=\ lead and trail\ ,O=A\, B \+ C \"q\" \<x\> \;#=\\ \C3\A9/s,C=FR"#;
    let default = r##"C = FR, O = "A, B + C \"q\" <x> ;#=\\ \C3\A9/s", CN = " lead and trail ", L = multi + OU = "#hash", serialNumber = 123, organizationIdentifier = PSDFR-ACPR-1, emailAddress = a@b.c, DC = ex"##;
    let compat = r#"/C=FR/O=A, B \+ C "q" <x> ;#=\ \xC3\xA9\/s/CN= lead and trail /L=multi+OU=#hash/serialNumber=123/organizationIdentifier=PSDFR-ACPR-1/emailAddress=a@b.c/DC=ex"#;
    let python = r#"DC=ex,1.2.840.113549.1.9.1=a@b.c,2.5.4.97=PSDFR-ACPR-1,2.5.4.5=123,L=multi+OU=\#hash,CN=\ lead and trail\ ,O=A\, B \+ C \"q\" \<x\> \;#=\\ é/s,C=FR"#;
    let expected = dn(rfc2253);
    assert_eq!(expected.rdns().len(), 8);
    assert_eq!(expected.rdns()[0].avas[0].value, Value::Text("FR".into()));
    assert_eq!(expected.rdns()[7].avas[0].value, Value::Text("ex".into()));
    assert_eq!(
        expected.rdns()[1].avas[0].value,
        Value::Text(r#"A, B + C "q" <x> ;#=\ é/s"#.into())
    );
    for text in [default, compat, python] {
        assert_eq!(dn(text), expected, "{text}");
    }
    assert_eq!(dn(&expected.to_rfc4514()), expected);
    // A BMPString: openssl's legacy form dumps its UTF-16 bytes.
    let bmp = r"/C=FR/O=\x00C\x00a\x00f\x00\xE9\x00 \x00&\x00 \x00c\x00o/CN=\x00G\x00u\x00i\x00c\x00h\x00e\x00t\x00 \x00\xE9\x00,\x00 \x00t\x00e\x00s\x00t";
    assert_eq!(
        dn(bmp),
        dn(r"CN=Guichet \C3\A9\, test,O=Caf\C3\A9 & co,C=FR")
    );
    // Latin-1 bytes (a TeletexString).
    assert_eq!(dn(r"/CN=caf\xE9"), dn("CN=café"));
}

#[test]
fn different_names_stay_different() {
    let base = dn("CN=Guichet Sandbox Qualified CA,O=Guichet Sandbox QTSP,C=FR");
    for other in [
        "CN=Guichet Sandbox Root CA,O=Guichet Sandbox QTSP,C=FR",
        "CN=Guichet Sandbox Qualified CA,O=Guichet Sandbox QTSP",
        "CN=Guichet Sandbox Qualified CA,O=Guichet Sandbox QTSP,C=FR,L=Paris",
        "CN=Guichet Sandbox Qualified CA,O=Guichet Sandbox QTSP,C=FR,C=FR",
        "CN=Guichet Sandbox Qualified CA,OU=Guichet Sandbox QTSP,C=FR",
        "CN=Guichet Sandbox Qualified CA+O=Guichet Sandbox QTSP,C=FR",
        "CN=GuichetSandbox Qualified CA,O=Guichet Sandbox QTSP,C=FR",
        "SN=Guichet Sandbox Qualified CA,O=Guichet Sandbox QTSP,C=FR",
        "CN=Guichet Sandbox Qualified CA,O=Guichet Sandbox QTSP,C=#130246520A",
        "",
    ] {
        assert_ne!(dn(other), base, "{other}");
    }
}

#[test]
fn malformed_names_are_errors() {
    for text in [
        "CN",
        "=x",
        "CN=a,",
        "CN=\"abc",
        "CN=\"a\"b",
        "CN=a\\",
        "1=x",
        "1..2=x",
        "C N=x",
        "CN=\\C3",
        "/CN",
        "//",
        ",",
        "+",
        "CN=a+",
        "/C=FR/+",
        "CN=a,,O=b",
        "\"CN\"=a",
        "é=a",
    ] {
        assert!(Dn::parse(text).is_err(), "{text}");
    }
    let Err(error) = Dn::parse("CN=a,O") else {
        panic!("accepted")
    };
    assert_eq!(error.position, 6);
}

#[test]
fn names_are_written_as_rfc_4514_says() {
    let written = text_dn(&[("C", "FR"), ("O", "x"), ("CN", r#" #a,b+c"d\e<f>g;h "#)]);
    assert_eq!(
        written.to_rfc4514(),
        r#"CN=\ #a\,b\+c\"d\\e\<f\>g\;h\ ,O=x,C=FR"#
    );
    assert_eq!(text_dn(&[("CN", "#a\n")]).to_rfc4514(), r"CN=\#a\0A");
    assert_eq!(
        text_dn(&[("2.5.4.97", "X")]).to_string(),
        "organizationIdentifier=X"
    );
    let ber = Dn::new(vec![Rdn {
        avas: vec![Ava {
            attr: attr("CN"),
            value: Value::Ber(vec![4, 2, 0xab, 1]),
        }],
    }]);
    assert_eq!(ber.to_rfc4514(), "CN=#0402AB01");
    assert_eq!(dn(&ber.to_rfc4514()), ber);
}

#[test]
fn certificate_values_are_rebuilt_and_decoded() {
    assert_eq!(der_tlv(0, false, 12, b"abc"), b"\x0c\x03abc");
    let long = der_tlv(0, false, 4, &[7; 200]);
    assert_eq!(long.get(..3), Some(&[0x04, 0x81, 200][..]));
    assert_eq!(long.len(), 203);
    assert_eq!(der_tlv(2, true, 3, &[]), [0xa3, 0]);
    assert_eq!(der_tlv(0, false, 31, &[]), [0x1f, 0x1f, 0]);
    assert_eq!(der_tlv(0, false, 200, &[]), [0x1f, 0x81, 0x48, 0]);
    assert_eq!(
        Value::from_ber(b"\x1e\x04\x00h\x00i".to_vec()),
        Value::Text("hi".into())
    );
    assert_eq!(
        Value::from_ber(b"\x1c\x08\x00\x00\x00h\x00\x00\x00i".to_vec()),
        Value::Text("hi".into())
    );
    assert_eq!(
        Value::from_ber(b"\x14\x01\xe9".to_vec()),
        Value::Text("é".into())
    );
    assert_eq!(
        Value::from_ber(b"\x13\x02FR".to_vec()),
        Value::Text("FR".into())
    );
    let opaque: [&[u8]; 5] = [
        b"\x02\x01\x05",
        b"\x0c\x05ab",
        b"\x0c\x01\xff",
        b"\x1e\x01a",
        b"",
    ];
    for opaque in opaque {
        assert_eq!(
            Value::from_ber(opaque.to_vec()),
            Value::Ber(opaque.to_vec())
        );
    }
}
