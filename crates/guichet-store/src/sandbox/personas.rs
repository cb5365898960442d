//! The sandbox's customers: the portal's personas and BTP Banque's professionals.
//!
//! Portal, "Sandbox": "As this ASPSP is based on the same backend as Caisses d'Epargne (CE)
//! one, you can use in sandbox the CE test cases", so the acceptance-test personas (CLAIRE,
//! LEA, GEORGES, Marc, Tech'n Co) live at Caisse d'Epargne Île-de-France (17515). BTP Banque
//! (30258) serves professionals and corporates (portal, "Limits related to eligible payment
//! accounts"); GEORGES banks at both, for aggregation. BLOCKED (17515) shows a PSU whose
//! authentication is blocked after failed tries (RTS art. 4(3)(d)): the data set blocks it
//! when first written.

/// How an account's history is generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// No operation at all (CLAIRE's first account: the 204 case).
    Quiet,
    Retail,
    Professional,
    Corporate,
}

#[derive(Debug, Clone, Copy)]
pub struct AccountSpec {
    /// Branch code (5 digits) and account number (11 characters) of the French BBAN; the RIB
    /// key and the IBAN check digits are computed.
    pub branch: &'static str,
    pub number: &'static str,
    pub name: &'static str,
    pub product: &'static str,
    pub usage: &'static str,
    pub psu_status: &'static str,
    pub eligible: bool,
    /// The accounting balance (CLBD), in cents.
    pub clbd_minor: i64,
    pub style: Style,
    /// Days of history kept by the bank (the API shows only the profile's depth).
    pub history_days: i64,
    pub ops_per_day: (u64, u64),
}

#[derive(Debug, Clone, Copy)]
pub struct BeneficiarySpec {
    pub name: &'static str,
    pub iban: &'static str,
    pub bic: &'static str,
    pub address: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub struct PersonaSpec {
    pub bank_code: &'static str,
    pub persona: &'static str,
    pub psu_id: &'static str,
    /// `person` or `company`.
    pub kind: &'static str,
    pub name_prefix: Option<&'static str>,
    pub first_name: Option<&'static str>,
    pub last_name: Option<&'static str>,
    pub display_name: &'static str,
    /// `retail`, `small_pro`, `large_pro` or `corporate`.
    pub segment: &'static str,
    /// SIREN of a company's accounts.
    pub siren: Option<&'static str>,
    pub accounts: &'static [AccountSpec],
    pub beneficiaries: &'static [BeneficiarySpec],
}

const RETAIL: (u64, u64) = (0, 3);

pub const PERSONAS: &[PersonaSpec] = &[
    PersonaSpec {
        bank_code: "17515",
        persona: "CLAIRE",
        psu_id: "D0999991I0",
        kind: "person",
        name_prefix: Some("MADM"),
        first_name: Some("Claire"),
        last_name: Some("Martin"),
        display_name: "MME CLAIRE MARTIN",
        segment: "retail",
        siren: None,
        accounts: &[
            AccountSpec {
                branch: "90000",
                number: "04003580740",
                name: "Compte de dépôt Mme Claire Martin",
                product: "Compte de dépôt",
                usage: "PRIV",
                psu_status: "Account Holder",
                eligible: true,
                clbd_minor: 0,
                style: Style::Quiet,
                history_days: 0,
                ops_per_day: (0, 0),
            },
            AccountSpec {
                branch: "90000",
                number: "08003580740",
                name: "Compte chèques Mme Claire Martin",
                product: "Compte chèques",
                usage: "PRIV",
                psu_status: "Account Holder",
                eligible: true,
                clbd_minor: 248_613,
                style: Style::Retail,
                history_days: 120,
                ops_per_day: RETAIL,
            },
        ],
        beneficiaries: &[
            BeneficiarySpec {
                name: "SCI LES TILLEULS",
                iban: "FR7630004000031234567890143",
                bic: "BNPAFRPPXXX",
                address: "12 RUE DES TILLEULS 75011 PARIS",
            },
            BeneficiarySpec {
                name: "MME SOPHIE MARTIN",
                iban: "FR7630006000011234567890189",
                bic: "AGRIFRPPXXX",
                address: "4 PLACE DU MARCHE 69002 LYON",
            },
        ],
    },
    PersonaSpec {
        bank_code: "17515",
        persona: "LEA",
        psu_id: "D0999992I0",
        kind: "person",
        name_prefix: Some("MISS"),
        first_name: Some("Léa"),
        last_name: Some("Dubois"),
        display_name: "MLLE LEA DUBOIS",
        segment: "retail",
        siren: None,
        accounts: &[
            AccountSpec {
                branch: "90000",
                number: "04123456701",
                name: "Compte chèques Mlle Léa Dubois",
                product: "Compte chèques",
                usage: "PRIV",
                psu_status: "Account Holder",
                eligible: true,
                clbd_minor: -15_237,
                style: Style::Retail,
                history_days: 120,
                ops_per_day: RETAIL,
            },
            AccountSpec {
                branch: "90000",
                number: "04123456799",
                name: "Livret A Mlle Léa Dubois",
                product: "Livret A",
                usage: "PRIV",
                psu_status: "Account Holder",
                eligible: false,
                clbd_minor: 120_000,
                style: Style::Quiet,
                history_days: 0,
                ops_per_day: (0, 0),
            },
        ],
        beneficiaries: &[],
    },
    PersonaSpec {
        bank_code: "17515",
        persona: "GEORGES",
        psu_id: "D0999994I0",
        kind: "person",
        name_prefix: Some("MIST"),
        first_name: Some("Georges"),
        last_name: Some("Lambert"),
        display_name: "M GEORGES LAMBERT",
        segment: "small_pro",
        siren: None,
        accounts: &[AccountSpec {
            branch: "90000",
            number: "08765432101",
            name: "Compte courant Plomberie Lambert",
            product: "Compte courant professionnel",
            usage: "ORGA",
            psu_status: "Account Holder",
            eligible: true,
            clbd_minor: 1_834_256,
            style: Style::Professional,
            history_days: 400,
            ops_per_day: (1, 4),
        }],
        beneficiaries: &[BeneficiarySpec {
            name: "CEDEO PARIS EST",
            iban: "FR7630003000401234567890162",
            bic: "SOGEFRPPXXX",
            address: "8 AVENUE DU GENERAL LECLERC 94200 IVRY",
        }],
    },
    PersonaSpec {
        bank_code: "17515",
        persona: "MARC",
        psu_id: "D0999990I0",
        kind: "person",
        name_prefix: Some("MIST"),
        first_name: Some("Marc"),
        last_name: Some("Petit"),
        display_name: "M MARC PETIT",
        segment: "retail",
        siren: None,
        accounts: &[AccountSpec {
            branch: "90000",
            number: "04555444301",
            name: "Compte chèques M Marc Petit",
            product: "Compte chèques",
            usage: "PRIV",
            psu_status: "Account Holder",
            eligible: true,
            clbd_minor: 125_000,
            style: Style::Retail,
            history_days: 90,
            ops_per_day: RETAIL,
        }],
        beneficiaries: &[BeneficiarySpec {
            name: "M PAUL PETIT",
            iban: "FR7610107001011234567890129",
            bic: "BREDFRPPXXX",
            address: "22 RUE VICTOR HUGO 33000 BORDEAUX",
        }],
    },
    PersonaSpec {
        bank_code: "17515",
        persona: "TECHNCO",
        psu_id: "D0999993I0",
        kind: "company",
        name_prefix: None,
        first_name: None,
        last_name: None,
        display_name: "TECH'N CO SAS",
        segment: "corporate",
        siren: Some("812345678"),
        accounts: &[AccountSpec {
            branch: "90000",
            number: "08222333401",
            name: "Compte courant TECH'N CO SAS",
            product: "Compte courant entreprise",
            usage: "ORGA",
            psu_status: "Account Holder",
            eligible: true,
            clbd_minor: 4_521_090,
            style: Style::Corporate,
            history_days: 120,
            ops_per_day: (2, 5),
        }],
        beneficiaries: &[],
    },
    PersonaSpec {
        bank_code: "30258",
        persona: "GEORGES",
        psu_id: "B0999994I0",
        kind: "person",
        name_prefix: Some("MIST"),
        first_name: Some("Georges"),
        last_name: Some("Lambert"),
        display_name: "M GEORGES LAMBERT",
        segment: "small_pro",
        siren: None,
        accounts: &[AccountSpec {
            branch: "00001",
            number: "08456789101",
            name: "Compte courant chantiers Plomberie Lambert",
            product: "Compte courant BTP Net",
            usage: "ORGA",
            psu_status: "Account Holder",
            eligible: true,
            clbd_minor: 745_020,
            style: Style::Professional,
            history_days: 200,
            ops_per_day: (0, 3),
        }],
        beneficiaries: &[],
    },
    PersonaSpec {
        bank_code: "30258",
        persona: "ATLAS",
        psu_id: "B0999981I0",
        kind: "company",
        name_prefix: None,
        first_name: None,
        last_name: None,
        display_name: "ATLAS CONSTRUCTIONS SA",
        segment: "corporate",
        siren: Some("552081317"),
        accounts: &[
            AccountSpec {
                branch: "00001",
                number: "08111222301",
                name: "Compte courant ATLAS CONSTRUCTIONS SA",
                product: "Compte courant BTP Net",
                usage: "ORGA",
                psu_status: "Account Holder",
                eligible: true,
                clbd_minor: 128_450_377,
                style: Style::Corporate,
                history_days: 150,
                ops_per_day: (8, 12),
            },
            AccountSpec {
                branch: "00001",
                number: "08111222302",
                name: "Compte travaux ATLAS CONSTRUCTIONS SA",
                product: "Compte courant BTP Net",
                usage: "ORGA",
                psu_status: "Account Holder",
                eligible: true,
                clbd_minor: -2_340_000,
                style: Style::Corporate,
                history_days: 100,
                ops_per_day: (0, 1),
            },
        ],
        beneficiaries: &[],
    },
    PersonaSpec {
        bank_code: "17515",
        persona: "BLOCKED",
        psu_id: "D0999995I0",
        kind: "person",
        name_prefix: Some("MIST"),
        first_name: Some("Bernard"),
        last_name: Some("Bloqué"),
        display_name: "M BERNARD BLOQUE",
        segment: "retail",
        siren: None,
        accounts: &[AccountSpec {
            branch: "90000",
            number: "04888777601",
            name: "Compte chèques M Bernard Bloqué",
            product: "Compte chèques",
            usage: "PRIV",
            psu_status: "Account Holder",
            eligible: true,
            clbd_minor: 53_710,
            style: Style::Retail,
            history_days: 60,
            ops_per_day: RETAIL,
        }],
        beneficiaries: &[],
    },
];

/// The French BBAN key (clé RIB): 97 - ((89·bank + 15·branch + 3·account) mod 97), with the
/// letters of the account number mapped to digits as the RIB rules do.
pub fn rib_key(bank: &str, branch: &str, account: &str) -> u64 {
    let digits: String = account
        .chars()
        .map(|c| match c {
            'A' | 'J' => '1',
            'B' | 'K' | 'S' => '2',
            'C' | 'L' | 'T' => '3',
            'D' | 'M' | 'U' => '4',
            'E' | 'N' | 'V' => '5',
            'F' | 'O' | 'W' => '6',
            'G' | 'P' | 'X' => '7',
            'H' | 'Q' | 'Y' => '8',
            'I' | 'R' | 'Z' => '9',
            other => other,
        })
        .collect();
    let num = |s: &str| s.parse::<u64>().unwrap_or(0);
    97 - ((89 * num(bank) + 15 * num(branch) + 3 * num(&digits)) % 97)
}

/// A French IBAN from its parts, with valid RIB key and check digits.
pub fn french_iban(bank: &str, branch: &str, account: &str) -> String {
    let bban = format!(
        "{bank}{branch}{account}{:02}",
        rib_key(bank, branch, account)
    );
    let rearranged = format!("{bban}FR00");
    let remainder = rearranged.chars().fold(0u64, |acc, c| {
        let value = c.to_digit(36).map_or(0, u64::from);
        if value >= 10 {
            (acc * 100 + value) % 97
        } else {
            (acc * 10 + value) % 97
        }
    });
    format!("FR{:02}{bban}", 98 - remainder)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_portal_ibans_are_rebuilt_exactly() {
        assert_eq!(
            french_iban("17515", "90000", "04003580740"),
            "FR7617515900000400358074026"
        );
        assert_eq!(
            french_iban("17515", "90000", "08003580740"),
            "FR7617515900000800358074006"
        );
    }

    #[test]
    fn the_blocked_persona_has_a_valid_iban() {
        // RIB key: 97 - ((89·17515 + 15·90000 + 3·04888777601) mod 97) = 74; IBAN check digits
        // 98 - (BBAN·"FR00" mod 97) = 76, computed independently of french_iban.
        assert_eq!(rib_key("17515", "90000", "04888777601"), 74);
        let iban = french_iban("17515", "90000", "04888777601");
        assert_eq!(iban, "FR7617515900000488877760174");
        assert!(guichet_stet::Iban::parse(&iban).is_ok(), "{iban}");
        let blocked: Vec<_> = PERSONAS.iter().filter(|p| p.persona == "BLOCKED").collect();
        assert_eq!(blocked.len(), 1);
        assert_eq!(blocked[0].bank_code, "17515");
        assert_eq!(blocked[0].psu_id, "D0999995I0");
        let first = blocked[0]
            .accounts
            .first()
            .map(|a| french_iban("17515", a.branch, a.number));
        assert_eq!(first.as_deref(), Some("FR7617515900000488877760174"));
    }

    #[test]
    fn every_persona_iban_is_valid() {
        for persona in PERSONAS {
            for account in persona.accounts {
                let iban = french_iban(persona.bank_code, account.branch, account.number);
                assert!(guichet_stet::Iban::parse(&iban).is_ok(), "{iban}");
            }
            for beneficiary in persona.beneficiaries {
                assert!(
                    guichet_stet::Iban::parse(beneficiary.iban).is_ok(),
                    "{}",
                    beneficiary.iban
                );
            }
        }
    }
}
