//! HAL hrefs. STET: `href` at most 140 characters; Guichet writes absolute-path references
//! (relative to the bank's host) such as `/stet/psd2/v1.4.2/accounts/CPT04003580740/balances`.

use guichet_stet::BASE_PATH;
use guichet_stet::model::GenericLink;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

/// Characters escaped in a path segment (RFC 3986 pchar).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b'%')
    .add(b'\'')
    .add(b'(')
    .add(b')')
    .add(b',');

pub fn accounts() -> GenericLink {
    GenericLink::to(format!("{BASE_PATH}/accounts"))
}

pub fn account_path(account_id: &str) -> String {
    format!(
        "{BASE_PATH}/accounts/{}",
        utf8_percent_encode(account_id, SEGMENT)
    )
}

pub fn balances(account_id: &str) -> GenericLink {
    GenericLink::to(format!("{}/balances", account_path(account_id)))
}

pub fn transactions(account_id: &str) -> GenericLink {
    GenericLink::to(format!("{}/transactions", account_path(account_id)))
}

pub fn end_user_identity() -> GenericLink {
    GenericLink::to(format!("{BASE_PATH}/end-user-identity"))
}

pub fn beneficiaries() -> GenericLink {
    GenericLink::to(format!("{BASE_PATH}/trusted-beneficiaries"))
}

pub fn funds_confirmations() -> GenericLink {
    GenericLink::to(format!("{BASE_PATH}/funds-confirmations"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrefs_stay_within_140_characters_for_the_longest_resource_id() {
        let longest = "x".repeat(35);
        assert!(transactions(&longest).href.len() <= 140);
        assert_eq!(
            balances("CPT04003580740").href,
            "/stet/psd2/v1.4.2/accounts/CPT04003580740/balances"
        );
    }

    #[test]
    fn odd_resource_ids_are_escaped() {
        assert_eq!(
            balances("a/b c").href,
            "/stet/psd2/v1.4.2/accounts/a%2Fb%20c/balances"
        );
    }
}
