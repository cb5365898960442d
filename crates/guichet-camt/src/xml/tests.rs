use super::*;

fn reader(text: &str) -> XmlReader<&[u8]> {
    XmlReader::new(text.as_bytes())
}

#[test]
fn paths_lines_and_leaf_texts() -> Result<()> {
    let mut xml = reader(
        "<?xml version=\"1.0\"?>\n<Document>\n  <GrpHdr>\n    <MsgId> M-1 </MsgId>\n  </GrpHdr>\n</Document>\n",
    );
    assert_eq!(xml.next()?, Node::Open(Tag::Document));
    assert_eq!((xml.line(), xml.path()), (2, "Document".to_owned()));
    assert_eq!(xml.child()?, Some(Tag::GrpHdr));
    assert_eq!(xml.child()?, Some(Tag::MsgId));
    assert_eq!(xml.line(), 4);
    assert_eq!(xml.path(), "Document/GrpHdr/MsgId");
    assert_eq!(xml.leaf_text()?, "M-1");
    assert_eq!(xml.child()?, None);
    assert_eq!(xml.path(), "Document/GrpHdr");
    assert_eq!(xml.text(), "");
    assert_eq!(xml.child()?, None);
    assert_eq!(xml.next()?, Node::Eof);
    Ok(())
}

#[test]
fn entities_and_character_references_are_resolved() -> Result<()> {
    let mut xml =
        reader("<a><b>Dupont &amp; Fils &lt;SA&gt; caf&#233; &#x41;<![CDATA[ <x> ]]></b></a>");
    assert_eq!(xml.next()?, Node::Open(Tag::Other));
    assert_eq!(xml.child()?, Some(Tag::Other));
    assert_eq!(xml.leaf_text()?, "Dupont & Fils <SA> café A <x>");
    Ok(())
}

#[test]
fn empty_elements_open_and_close() -> Result<()> {
    let mut xml = reader("<Ntry><BkTxCd/><Amt Ccy=\"EUR\">1</Amt></Ntry>");
    assert_eq!(xml.next()?, Node::Open(Tag::Ntry));
    assert_eq!(xml.child()?, Some(Tag::BkTxCd));
    assert_eq!(xml.child()?, None);
    assert_eq!(xml.child()?, Some(Tag::Amt));
    assert_eq!(xml.attribute("Ccy"), Some("EUR"));
    assert_eq!(xml.leaf_text()?, "1");
    assert_eq!(xml.child()?, None);
    assert_eq!(xml.name(), "Ntry");
    Ok(())
}

#[test]
fn skipping_reads_past_a_whole_subtree() -> Result<()> {
    let mut xml = reader("<r><x><y>1</y><z><y/></z></x><Id>2</Id></r>");
    assert_eq!(xml.next()?, Node::Open(Tag::Other));
    assert_eq!(xml.child()?, Some(Tag::Other));
    xml.skip()?;
    assert_eq!(xml.child()?, Some(Tag::Id));
    assert_eq!(xml.leaf_text()?, "2");
    assert_eq!(xml.child()?, None);
    Ok(())
}

#[test]
fn prefixed_roots_name_their_namespace() -> Result<()> {
    let mut xml =
        reader("<c:Document xmlns:c=\"urn:x\" xmlns=\"urn:y\"><c:Id>1</c:Id></c:Document>");
    assert_eq!(xml.next()?, Node::Open(Tag::Document));
    assert_eq!(xml.namespace_declared(), Some("urn:x"));
    assert_eq!(xml.child()?, Some(Tag::Id));
    Ok(())
}

#[test]
fn what_is_not_xml_is_refused_with_a_line() {
    match reader("date;amount\n2024-01-01;12\n").next() {
        Err(e) => {
            assert_eq!(e.line, 1);
            assert!(e.message.contains("not an XML document"), "{e}");
        }
        Ok(node) => panic!("read {node:?}"),
    }
    let mut xml = reader("<a>\n<b>\n</a>");
    let mut outcome = Ok(Node::Eof);
    for _ in 0..4 {
        outcome = xml.next();
        if outcome.is_err() {
            break;
        }
    }
    match outcome {
        Err(e) => {
            assert_eq!(e.line, 3);
            assert!(e.message.contains("not well-formed"), "{e}");
        }
        Ok(node) => panic!("read {node:?}"),
    }
}

#[test]
fn a_truncated_file_names_the_open_element() -> Result<()> {
    let mut xml = reader("<a>\n<b>text");
    assert_eq!(xml.next()?, Node::Open(Tag::Other));
    assert_eq!(xml.child()?, Some(Tag::Other));
    match xml.leaf_text() {
        Err(e) => {
            assert_eq!(e.element, "a/b");
            assert!(e.message.contains("ends before the end of <b>"), "{e}");
        }
        Ok(text) => panic!("read {text:?}"),
    }
    Ok(())
}
