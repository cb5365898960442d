//! Whatever a file holds, the reader answers items or an error with a line, never a panic:
//! random bytes, and real statements cut or damaged at random places.

use guichet_camt::{CamtReader, Item};
use proptest::prelude::*;

/// Reads everything; answers how many items came before the end or the first error.
fn read_all(bytes: &[u8]) -> (usize, Option<String>) {
    let mut reader = CamtReader::new(bytes);
    let mut items = 0;
    loop {
        match reader.next_item() {
            Ok(Some(Item::Entry(_) | Item::Balance(_) | Item::Account(_) | Item::EndAccount)) => {
                items += 1
            }
            Ok(None) => return (items, None),
            Err(error) => return (items, Some(error.to_string())),
        }
    }
}

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_are_refused_with_a_line(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let (_, error) = read_all(&bytes);
        // Random bytes are never a camt document.
        let error = error.unwrap_or_default();
        prop_assert!(error.starts_with("line "), "{}", error);
    }

    #[test]
    fn damaged_statements_end_or_fail_cleanly(
        which in 0usize..4,
        cut in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let name = ["camt053_v02.xml", "camt053_v08.xml", "camt052_v02.xml", "camt052_v08.xml"][which];
        let mut bytes = fixture(name);
        let whole = read_all(&bytes);
        prop_assert!(whole.1.is_none(), "{}: {:?}", name, whole.1);
        let position = at.index(bytes.len());
        bytes[position] = byte;
        let damaged = read_all(&bytes);
        if let Some(error) = &damaged.1 {
            prop_assert!(error.starts_with("line "), "{}", error);
        }
        // A file cut before its root's end never passes for a whole one.
        let mut original = fixture(name);
        let root_end = original
            .windows(b"Document>".len())
            .rposition(|w| w == b"Document>")
            .unwrap_or(0);
        let length = cut.index(root_end.max(1));
        original.truncate(length);
        let (_, error) = read_all(&original);
        prop_assert!(error.is_some(), "{} cut at {} read as whole", name, length);
    }
}
