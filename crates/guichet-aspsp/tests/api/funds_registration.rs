//! The PSU registers, on the bank's pages (`/psu/access`, after SCA), the TPPs that may check
//! funds on its accounts, and revokes them (PSD2 art. 65(2)(c): "the payer has given explicit
//! consent to the account servicing payment service provider to respond to requests from a
//! specific payment service provider"; the portal: "the TPP and the PSU have a contract that has
//! been registered by the ASPSP").

use guichet_store::on_both_backends;
use reqwest::Method;

use crate::flow::*;
use crate::funds::{DEMO_TPP, LEA_PSU, client_credentials, coverage, first_account};
use crate::helpers::*;

/// Opens `/psu/access` in a fresh browser and passes SCA as `persona`; answers the journey and
/// the access page.
pub(crate) async fn manage<'a>(app: &'a TestApp, persona: &str) -> (Journey<'a>, Step) {
    let client = browser();
    let first = match client
        .get(format!("{}/psu/access", app.psu_origin(CE)))
        .send()
        .await
    {
        Ok(response) => Step::read(response).await,
        Err(e) => panic!("GET /psu/access: {e}"),
    };
    assert_eq!(first.status, 200, "{}", first.html);
    let journey = Journey {
        app,
        bank: CE,
        client,
        cookie: first.cookie.clone().unwrap_or_default(),
    };
    let done = journey.authenticate(&first, persona).await;
    let page = journey.access_page(&done).await;
    (journey, page)
}

/// The status of a funds confirmation on `iban` with `token`.
async fn check(app: &TestApp, token: &str, iban: &str) -> u16 {
    send(
        app.request(Method::POST, CE, "/funds-confirmations", token)
            .json(&coverage(iban, "10.00")),
    )
    .await
    .status()
    .as_u16()
}

/// LEA's live registrations, from the store.
async fn lea_registrations(app: &TestApp) -> usize {
    match app.state().store.funds_checks(CE, LEA_PSU).await {
        Ok(checks) => checks.len(),
        Err(e) => panic!("{e}"),
    }
}

/// The funds table of the access page, or "" when there is none.
fn funds_table(page: &Step) -> String {
    page.find("id=\"funds\"", "</table>").unwrap_or_default()
}

on_both_backends! {
    // LEA registers the demo TPP for her account on the page: the check is answered; she
    // revokes it on the page: the check is refused again.
    async fn the_psu_registers_and_revokes_a_tpp_for_funds_confirmation(backend) {
        let app = TestApp::spawn(backend).await;
        let (iban, account) = first_account(CE, "LEA");
        let token = app.token(CE, "LEA", &["cbpii"]).await;
        assert_eq!(check(&app, &token, &iban).await, 403, "no registration yet");

        let (journey, page) = manage(&app, "LEA").await;
        assert!(page.html.contains("id=\"funds-none\""), "{}", page.html);
        assert!(page.html.contains("id=\"funds-register\""), "{}", page.html);
        assert!(page.html.contains(&format!("<option value=\"{account}\">{iban}")), "her eligible account is offered: {}", page.html);
        assert!(!page.html.contains("CPT04123456799"), "her savings account is not eligible");

        let done = journey.post("/psu/access/funds/register", &[("csrf", &page.csrf()), ("account_id", &account), ("client_id", DEMO_TPP)]).await;
        assert_eq!(done.status, 303, "{}", done.html);
        assert_eq!(done.location.as_deref(), Some("/psu/access"));
        let listed = journey.get("/psu/access").await;
        assert!(!listed.html.contains("id=\"funds-none\""), "{}", listed.html);
        let table = funds_table(&listed);
        assert!(table.contains(DEMO_TPP) && table.contains(&iban), "{}", listed.html);
        assert!(table.contains("2026-11-24"), "the date registered: {table}");
        assert!(table.contains("/psu/access/funds/revoke") && table.contains(&format!("name=\"account_id\" value=\"{account}\"")), "{table}");

        let covered = ok_json(app.request(Method::POST, CE, "/funds-confirmations", &token).json(&coverage(&iban, "10.00"))).await;
        assert!(covered["result"].is_boolean(), "{covered}");
        let cc = client_credentials(&app, CE).await;
        assert_eq!(check(&app, &cc, &iban).await, 200, "client credentials: registered by a PSU holding the account");

        let revoked = journey.post("/psu/access/funds/revoke", &[("csrf", &listed.csrf()), ("client_id", DEMO_TPP), ("account_id", &account)]).await;
        assert_eq!(revoked.status, 303, "{}", revoked.html);
        assert_eq!(revoked.location.as_deref(), Some("/psu/access"));
        let after = journey.get("/psu/access").await;
        assert!(after.html.contains("id=\"funds-none\""), "{}", after.html);
        assert_eq!(lea_registrations(&app).await, 0);
        expect_error(app.request(Method::POST, CE, "/funds-confirmations", &token).json(&coverage(&iban, "10.00")), 403, "has not registered PSDFR-ACPR-12345").await;
        assert_eq!(check(&app, &cc, &iban).await, 403);

        let again = journey.post("/psu/access/funds/revoke", &[("csrf", &after.csrf()), ("client_id", DEMO_TPP), ("account_id", &account)]).await;
        assert_eq!(again.status, 400, "nothing left to revoke");
        assert!(again.html.contains("id=\"funds-error\""), "{}", again.html);
    }
}

on_both_backends! {
    // The bank registers only a TPP it knows, holding PSP_IC, for an eligible account of this
    // PSU; the page says why and nothing is registered.
    async fn a_registration_is_refused_with_a_reason(backend) {
        let app = TestApp::spawn(backend).await;
        let (_, account) = first_account(CE, "LEA");
        let (journey, page) = manage(&app, "LEA").await;
        let csrf = page.csrf();
        let (_, claire_account) = first_account(CE, "CLAIRE");
        let cases: [(&str, &str); 6] = [
            (account.as_str(), "PSDFR-ACPR-NOBODY"),
            (account.as_str(), ""),
            (account.as_str(), "PSDFR-ACPR-AIONLY"),
            ("CPT04123456799", DEMO_TPP),
            (claire_account.as_str(), DEMO_TPP),
            ("", DEMO_TPP),
        ];
        for (account_id, client_id) in cases {
            let refused = journey.post("/psu/access/funds/register", &[("csrf", &csrf), ("account_id", account_id), ("client_id", client_id)]).await;
            assert_eq!(refused.status, 400, "{account_id} {client_id}: {}", refused.html);
            assert!(refused.html.contains("id=\"funds-error\""), "{account_id} {client_id}: {}", refused.html);
            assert!(refused.html.contains("id=\"funds-none\""), "{}", refused.html);
            assert!(refused.html.contains("id=\"funds-register\""), "the form is shown again");
        }
        assert_eq!(lea_registrations(&app).await, 0);
        let allowed = app.state().store.funds_check_allowed(CE, DEMO_TPP, &claire_account, Some(LEA_PSU)).await;
        assert!(matches!(allowed, Ok(false)), "nothing registered on CLAIRE's account by LEA");
    }
}

on_both_backends! {
    // The forms need the session's CSRF token and a session that passed SCA for "manage".
    async fn registering_needs_the_session_and_its_csrf_token(backend) {
        let app = TestApp::spawn(backend).await;
        let (_, account) = first_account(CE, "LEA");
        let (journey, page) = manage(&app, "LEA").await;
        for csrf in ["forged", ""] {
            let refused = journey.post("/psu/access/funds/register", &[("csrf", csrf), ("account_id", &account), ("client_id", DEMO_TPP)]).await;
            assert_eq!(refused.status, 400, "{}", refused.html);
        }
        let no_csrf = journey.post("/psu/access/funds/register", &[("account_id", &account), ("client_id", DEMO_TPP)]).await;
        assert_eq!(no_csrf.status, 400, "{}", no_csrf.html);
        let stranger = Journey { app: &app, bank: CE, client: browser(), cookie: String::new() };
        let refused = stranger.post("/psu/access/funds/register", &[("csrf", &page.csrf()), ("account_id", &account), ("client_id", DEMO_TPP)]).await;
        assert_eq!(refused.status, 400, "no session: {}", refused.html);
        assert_eq!(lea_registrations(&app).await, 0);

        let done = journey.post("/psu/access/funds/register", &[("csrf", &page.csrf()), ("account_id", &account), ("client_id", DEMO_TPP)]).await;
        assert_eq!(done.status, 303, "{}", done.html);
        assert_eq!(lea_registrations(&app).await, 1);
        let forged = journey.post("/psu/access/funds/revoke", &[("csrf", "forged"), ("client_id", DEMO_TPP), ("account_id", &account)]).await;
        assert_eq!(forged.status, 400, "{}", forged.html);
        assert_eq!(lea_registrations(&app).await, 1, "a forged revocation revokes nothing");
    }
}

on_both_backends! {
    // A session opened for an authorization (purpose "authorize"), even after SCA, does not
    // manage registrations.
    async fn an_authorization_session_cannot_register(backend) {
        let app = TestApp::spawn(backend).await;
        let (_, account) = first_account(CE, "LEA");
        let (journey, first) = Journey::open(&app, CE, &query("aisp", "st-9", None)).await;
        assert_eq!(first.status, 200, "{}", first.html);
        let refused = journey.post("/psu/access/funds/register", &[("csrf", &first.csrf()), ("account_id", &account), ("client_id", DEMO_TPP)]).await;
        assert_eq!(refused.status, 403, "{}", refused.html);
        assert_eq!(lea_registrations(&app).await, 0);
    }
}
