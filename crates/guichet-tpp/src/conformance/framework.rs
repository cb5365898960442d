//! STET 1.4.2's framework rules (Part I): X-Request-ID, the ErrorModel, media types, 405, 401
//! and 403 with `WWW-Authenticate`, HTTP signatures (§3.5), the signed CBPII answer (CR199).

use guichet_httpsig::{SignatureHeader, check_digest, signing_string};
use serde_json::Value;

use super::config::{BankConfig, Role};
use super::ctx::{
    Consent, Ctx, Reply, Req, Signing, Step, cut, ensure, failure, pass, resource_of, status_in,
};
use super::portal::{coverage, funds_account};
use super::{Case, Outcome};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "stet/1.4.2/x-request-id-echo",
            "X-Request-ID is echoed on every answer, errors and the token endpoint included",
            request_id_echo
        ),
        case!(
            "stet/1.4.2/x-request-id-required",
            "X-Request-ID is required: a request without it is a 400",
            request_id_required
        ),
        case!(
            "stet/1.4.2/error-model",
            "Errors are ErrorModels {timestamp, status, error, message, path}",
            error_model
        ),
        case!(
            "stet/1.4.2/media-types",
            "application/hal+json by default, application/json when asked",
            media_types
        ),
        case!(
            "stet/1.4.2/media-type-406",
            "An Accept the bank cannot produce (text/html) is a 406",
            media_type_406
        ),
        case!(
            "stet/1.4.2/405-allow",
            "A method an endpoint does not offer is a 405 with Allow",
            method_not_allowed
        ),
        case!(
            "stet/1.4.2/part1-401-no-token",
            "No access token: 401 with WWW-Authenticate",
            no_token
        ),
        case!(
            "stet/1.4.2/part1-401-invalid-token",
            "An unknown access token: 401 invalid_token with WWW-Authenticate",
            invalid_token
        ),
        case!(
            "stet/1.4.2/part1-403-insufficient-scope",
            "A token without the aisp scope on AIS endpoints: 403 insufficient_scope",
            insufficient_scope
        ),
        case!(
            "stet/1.4.2/part1-3.5-signature-missing",
            "A request without Signature is a 400",
            signature_missing
        ),
        case!(
            "stet/1.4.2/part1-3.5-signature-tampered",
            "A signed header changed after signing is a 400",
            signature_tampered
        ),
        case!(
            "stet/1.4.2/part1-3.5-digest-mismatch",
            "A body that does not match its Digest is a 400",
            digest_mismatch
        ),
        case!(
            "stet/1.4.2/part1-3.5-unknown-key-id",
            "A keyId that designates no registered QSealC is a 400",
            unknown_key_id
        ),
        case!(
            "stet/1.4.2/cr199-signed-funds-answer",
            "Funds confirmation answers carry a Digest and the bank's Signature (CR199)",
            signed_funds_answer
        ),
    ]
}

const UNKNOWN_ACCOUNT: &str = "CPT30014684067";

fn accounts_persona(r: &Role) -> Option<()> {
    matches!(r, Role::Accounts).then_some(())
}

async fn request_id_echo(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str = "every answer echoes the X-Request-ID sent, byte for byte: a 200 (GET /accounts), a 404 (an unknown account), a 401 (no token), and a 400 of the token endpoint";
    let (persona, bank, ()) = ctx.persona_with("accounts", accounts_persona)?;
    let token = ctx.session(&persona).await?;
    let mut replies = vec![
        ctx.send(&bank, Req::get("accounts").token(&token)).await?,
        ctx.send(
            &bank,
            Req::get(format!("accounts/{UNKNOWN_ACCOUNT}/balances")).token(&token),
        )
        .await?,
        ctx.send(&bank, Req::get("accounts")).await?,
    ];
    replies.push(
        ctx.form_post(
            &bank.token_url,
            &[
                ("grant_type", "authorization_code"),
                ("code", "conformance-not-a-code"),
                ("redirect_uri", ctx.config.redirect_uri.as_str()),
                ("client_id", ctx.config.client_id.as_str()),
            ],
        )
        .await?,
    );
    let mut seen = Vec::new();
    for reply in &replies {
        let echoed = reply.header("x-request-id");
        ensure(
            echoed.is_some() && echoed == reply.request_id,
            EXPECTED,
            || {
                format!(
                    "{}: X-Request-ID {:?} for {:?} sent",
                    reply.describe(),
                    echoed,
                    reply.request_id
                )
            },
            reply,
        )?;
        seen.push(reply.status.to_string());
    }
    Ok(pass(
        EXPECTED,
        format!("echoed on {}", seen.join(", ")),
        replies.first(),
    ))
}

async fn request_id_required(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str = "GET /accounts without X-Request-ID (otherwise correct and signed): 400";
    let (persona, bank, ()) = ctx.persona_with("accounts", accounts_persona)?;
    let token = ctx.session(&persona).await?;
    let reply = ctx
        .send(
            &bank,
            Req::get("accounts").token(&token).without_request_id(),
        )
        .await?;
    status_in(&reply, &[400], EXPECTED)?;
    Ok(pass(EXPECTED, reply.describe(), Some(&reply)))
}

/// What is wrong with an error answer's ErrorModel, if anything.
fn error_model_problem(reply: &Reply) -> Option<String> {
    let body = reply.json();
    if !body.is_object() {
        return Some(format!(
            "{}: the body is not a JSON object",
            reply.describe()
        ));
    }
    let mut problems = Vec::new();
    if body["status"].as_u64() != Some(u64::from(reply.status)) {
        problems.push(format!("status {} (HTTP {})", body["status"], reply.status));
    }
    for field in ["error", "message", "path", "timestamp"] {
        match body[field].as_str() {
            None => problems.push(format!("no {field}")),
            Some(text) if field != "timestamp" && text.chars().count() > 140 => {
                problems.push(format!("{field} longer than 140 characters"))
            }
            Some("") if field == "message" => problems.push("an empty message".into()),
            _ => {}
        }
    }
    if let Some(timestamp) = body["timestamp"].as_str()
        && timestamp.parse::<jiff::Timestamp>().is_err()
    {
        problems.push(format!(
            "timestamp '{timestamp}' is not an RFC 3339 date-time"
        ));
    }
    if let Some(path) = body["path"].as_str()
        && (path.is_empty() || !(reply.path.ends_with(path) || path.ends_with(reply.path.as_str())))
    {
        problems.push(format!("path '{path}' for a request to {}", reply.path));
    }
    (!problems.is_empty()).then(|| format!("{}: {}", reply.describe(), problems.join(", ")))
}

async fn error_model(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str = "a 404, a 401 and a 405 answer each an ErrorModel: a JSON object with status (the HTTP status), error, message (at most 140 characters), path (the request's) and timestamp (a date-time)";
    let (persona, bank, ()) = ctx.persona_with("accounts", accounts_persona)?;
    let token = ctx.session(&persona).await?;
    let replies = [
        ctx.send(
            &bank,
            Req::get(format!("accounts/{UNKNOWN_ACCOUNT}/balances")).token(&token),
        )
        .await?,
        ctx.send(&bank, Req::get("accounts")).await?,
        ctx.send(&bank, Req::post("accounts").token(&token)).await?,
    ];
    let mut seen = Vec::new();
    for (reply, status) in replies.iter().zip([404u16, 401, 405]) {
        status_in(reply, &[status], EXPECTED)?;
        if let Some(problem) = error_model_problem(reply) {
            return Err(failure(EXPECTED, problem, reply));
        }
        let body = reply.json();
        seen.push(format!(
            "{} {}",
            reply.status,
            body["error"].as_str().unwrap_or("")
        ));
    }
    Ok(pass(
        EXPECTED,
        format!("ErrorModels for {}", seen.join(", ")),
        replies.first(),
    ))
}

fn content_type(reply: &Reply) -> String {
    reply.header("content-type").unwrap_or_default()
}

/// `application/hal+json; charset=utf-8`, spaces and case aside.
fn is_media(value: &str, media: &str) -> bool {
    let compact: String = value
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    let mut parts = compact.split(';');
    parts.next() == Some(media) && parts.any(|p| p == "charset=utf-8")
}

async fn media_types(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str = "GET /accounts answers application/hal+json; charset=utf-8 for Accept */* and application/hal+json, and application/json; charset=utf-8 for Accept application/json";
    let (persona, bank, ()) = ctx.persona_with("accounts", accounts_persona)?;
    let token = ctx.session(&persona).await?;
    let mut seen = Vec::new();
    let mut last = None;
    for (accept, media) in [
        ("*/*", "application/hal+json"),
        ("application/hal+json", "application/hal+json"),
        ("application/json", "application/json"),
    ] {
        let reply = ctx
            .send(&bank, Req::get("accounts").token(&token).accept(accept))
            .await?;
        status_in(&reply, &[200], EXPECTED)?;
        let shown = content_type(&reply);
        ensure(
            is_media(&shown, media),
            EXPECTED,
            || format!("Content-Type '{shown}' for Accept {accept}"),
            &reply,
        )?;
        seen.push(format!("{accept} → {shown}"));
        last = Some(reply);
    }
    Ok(pass(EXPECTED, seen.join("; "), last.as_ref()))
}

async fn media_type_406(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str =
        "GET /accounts with Accept: text/html (a media type the API does not produce): 406";
    let (persona, bank, ()) = ctx.persona_with("accounts", accounts_persona)?;
    let token = ctx.session(&persona).await?;
    let reply = ctx
        .send(
            &bank,
            Req::get("accounts").token(&token).accept("text/html"),
        )
        .await?;
    status_in(&reply, &[406], EXPECTED)?;
    Ok(pass(EXPECTED, reply.describe(), Some(&reply)))
}

async fn method_not_allowed(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str = "POST on /accounts, /accounts/{id}/balances, /accounts/{id}/transactions and /consents: 405 with an Allow header naming GET (PUT for /consents)";
    let (persona, bank, ()) = ctx.persona_with("accounts", accounts_persona)?;
    let first = persona.ibans.first().cloned().unwrap_or_default();
    let (token, ids) = ctx
        .consented(&persona, &Consent::all(&persona.ibans))
        .await?;
    let id = resource_of(&ids, &first)?;
    let mut last = None;
    for (target, allowed) in [
        ("accounts".to_owned(), "GET"),
        (format!("accounts/{id}/balances"), "GET"),
        (format!("accounts/{id}/transactions"), "GET"),
        ("consents".to_owned(), "PUT"),
    ] {
        let reply = ctx.send(&bank, Req::post(target).token(&token)).await?;
        status_in(&reply, &[405], EXPECTED)?;
        let allow = reply.header("allow").unwrap_or_default();
        ensure(
            allow
                .split(',')
                .any(|m| m.trim().eq_ignore_ascii_case(allowed)),
            EXPECTED,
            || format!("{}: Allow '{allow}'", reply.describe()),
            &reply,
        )?;
        last = Some(reply);
    }
    Ok(pass(EXPECTED, "405 with Allow on all four", last.as_ref()))
}

fn challenge(reply: &Reply) -> String {
    reply.header("www-authenticate").unwrap_or_default()
}

async fn no_token(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str = "GET /accounts without Authorization (signed): 401 with a WWW-Authenticate Bearer challenge (RFC 6750 §3)";
    let (_, bank, ()) = ctx.persona_with("accounts", accounts_persona)?;
    let reply = ctx.send(&bank, Req::get("accounts")).await?;
    status_in(&reply, &[401], EXPECTED)?;
    let shown = challenge(&reply);
    ensure(
        shown.to_ascii_lowercase().starts_with("bearer"),
        EXPECTED,
        || format!("401 with WWW-Authenticate '{shown}'"),
        &reply,
    )?;
    Ok(pass(
        EXPECTED,
        format!("401, WWW-Authenticate: {}", cut(&shown, 100)),
        Some(&reply),
    ))
}

async fn invalid_token(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str = "GET /accounts with an access token the bank never issued: 401 with error invalid_token (in the ErrorModel or the challenge) and a WWW-Authenticate Bearer challenge";
    let (_, bank, ()) = ctx.persona_with("accounts", accounts_persona)?;
    let reply = ctx
        .send(
            &bank,
            Req::get("accounts").token("conformance-not-an-access-token"),
        )
        .await?;
    status_in(&reply, &[401], EXPECTED)?;
    let shown = challenge(&reply);
    let coded = reply.json()["error"] == "invalid_token" || shown.contains("invalid_token");
    ensure(
        shown.to_ascii_lowercase().starts_with("bearer") && coded,
        EXPECTED,
        || format!("{}; WWW-Authenticate '{shown}'", reply.describe()),
        &reply,
    )?;
    Ok(pass(
        EXPECTED,
        format!("401 invalid_token, WWW-Authenticate: {}", cut(&shown, 100)),
        Some(&reply),
    ))
}

async fn insufficient_scope(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str = "with a PSU's token of scope cbpii only, GET /accounts and PUT /consents: 403 insufficient_scope (in the ErrorModel or the WWW-Authenticate challenge)";
    let (persona, bank, ()) = ctx.persona_with("insufficient-scope", |r| {
        matches!(r, Role::InsufficientScope).then_some(())
    })?;
    let login = ctx.authorize(&persona, "cbpii").await?;
    let tokens = login
        .client
        .exchange_code(&login.request, &login.code, &login.state)
        .await
        .map_err(|e| {
            super::ctx::Stop::fail(
                format!("a cbpii token for {}", persona.key()),
                e.to_string(),
            )
        })?;
    let mut last = None;
    for req in [
        Req::get("accounts").token(&tokens.access_token),
        Req::put("consents")
            .token(&tokens.access_token)
            .json(&Consent::all(&persona.ibans).body()),
    ] {
        let reply = ctx.send(&bank, req).await?;
        status_in(&reply, &[403], EXPECTED)?;
        let shown = challenge(&reply);
        ensure(
            reply.json()["error"] == "insufficient_scope" || shown.contains("insufficient_scope"),
            EXPECTED,
            || format!("{}; WWW-Authenticate '{shown}'", reply.describe()),
            &reply,
        )?;
        last = Some(reply);
    }
    Ok(pass(
        EXPECTED,
        "403 insufficient_scope on both",
        last.as_ref(),
    ))
}

/// The same request without the fault must succeed, so that the refusal owes to the fault and
/// not to something else about the request.
async fn control(ctx: &Ctx, bank: &BankConfig, req: Req, expected: &str) -> Step<()> {
    let reply = ctx.send(bank, req).await?;
    status_in(
        &reply,
        &[200, 201, 204],
        &format!("{expected} (and the same request, unaltered, answered 2xx)"),
    )
}

async fn signature_missing(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str = "GET /accounts with a valid token but no Signature header: 400";
    let (persona, bank, ()) = ctx.persona_with("accounts", accounts_persona)?;
    let token = ctx.session(&persona).await?;
    control(ctx, &bank, Req::get("accounts").token(&token), EXPECTED).await?;
    let reply = ctx
        .send(
            &bank,
            Req::get("accounts").token(&token).signing(Signing::None),
        )
        .await?;
    status_in(&reply, &[400], EXPECTED)?;
    Ok(pass(EXPECTED, reply.describe(), Some(&reply)))
}

async fn signature_tampered(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str =
        "GET /accounts whose signed PSU-IP-Address was changed after signing: 400";
    let (persona, bank, ()) = ctx.persona_with("accounts", accounts_persona)?;
    let token = ctx.session(&persona).await?;
    // The request is signed with PSU-IP-Address 192.0.2.1; the bank sees another address.
    let altered = "198.51.100.7";
    control(ctx, &bank, Req::get("accounts").token(&token), EXPECTED).await?;
    let reply = ctx
        .send(
            &bank,
            Req::get("accounts")
                .token(&token)
                .after_signing("psu-ip-address", altered),
        )
        .await?;
    status_in(&reply, &[400], EXPECTED)?;
    Ok(pass(EXPECTED, reply.describe(), Some(&reply)))
}

async fn digest_mismatch(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str =
        "PUT /consents whose body was changed after its Digest was computed and signed: 400";
    let (persona, bank, ()) = ctx.persona_with("accounts", accounts_persona)?;
    let token = ctx.session(&persona).await?;
    let body: Value = Consent::all(&persona.ibans).body();
    let text = serde_json::to_string(&body).unwrap_or_default();
    // Same length, still JSON: only the Digest can tell.
    let tampered = text.replacen("false", "true ", 1).into_bytes();
    control(
        ctx,
        &bank,
        Req::put("consents").token(&token).json(&body),
        EXPECTED,
    )
    .await?;
    let reply = ctx
        .send(
            &bank,
            Req::put("consents")
                .token(&token)
                .json(&body)
                .body_after_signing(tampered),
        )
        .await?;
    status_in(&reply, &[400], EXPECTED)?;
    Ok(pass(EXPECTED, reply.describe(), Some(&reply)))
}

async fn unknown_key_id(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str =
        "GET /accounts signed under a keyId whose fingerprint designates no registered QSealC: 400";
    let (persona, bank, ()) = ctx.persona_with("accounts", accounts_persona)?;
    let token = ctx.session(&persona).await?;
    control(ctx, &bank, Req::get("accounts").token(&token), EXPECTED).await?;
    let reply = ctx
        .send(
            &bank,
            Req::get("accounts")
                .token(&token)
                .signing(Signing::UnknownKeyId),
        )
        .await?;
    status_in(&reply, &[400], EXPECTED)?;
    Ok(pass(EXPECTED, reply.describe(), Some(&reply)))
}

async fn signed_funds_answer(ctx: &mut Ctx) -> Step<Outcome> {
    const EXPECTED: &str = "a 200 of POST /funds-confirmations carries Digest (SHA-256 of its body) and a Signature over digest and x-request-id, which verifies with the bank's QSealC when the configuration gives it";
    let (_, bank, iban) = ctx.persona_with("funds-confirmation:IBAN", funds_account)?;
    let token = ctx.client_token(&bank, "cbpii").await?;
    let reply = ctx
        .send(
            &bank,
            Req::post("funds-confirmations")
                .token(&token)
                .json(&coverage(&iban, "1.00")),
        )
        .await?;
    status_in(&reply, &[200], EXPECTED)?;
    let digest = reply
        .header("digest")
        .ok_or_else(|| failure(EXPECTED, "no Digest header", &reply))?;
    check_digest(&digest, &reply.body)
        .map_err(|e| failure(EXPECTED, format!("Digest '{digest}': {e}"), &reply))?;
    let signature = reply
        .header("signature")
        .ok_or_else(|| failure(EXPECTED, "no Signature header", &reply))?;
    let header = SignatureHeader::parse(&signature)
        .map_err(|e| failure(EXPECTED, format!("Signature: {e}"), &reply))?;
    ensure(
        ["digest", "x-request-id"]
            .iter()
            .all(|h| header.headers.iter().any(|s| s == h)),
        EXPECTED,
        || format!("the Signature signs {:?}", header.headers),
        &reply,
    )?;
    let Some(seal) = bank.qseal_certificate.as_ref() else {
        return Ok(pass(
            EXPECTED,
            format!(
                "Digest matches; Signature over {:?} (not verified: no qseal_certificate for bank {})",
                header.headers, bank.code
            ),
            Some(&reply),
        ));
    };
    let pem = std::fs::read(seal)
        .map_err(|e| failure(EXPECTED, format!("{}: {e}", seal.display()), &reply))?;
    let cert = guichet_eidas::Psd2Certificate::from_pem(&pem)
        .map_err(|e| failure(EXPECTED, format!("{}: {e}", seal.display()), &reply))?;
    // The request's X-Request-ID, which the bank signed (and echoes).
    let source: Vec<(String, String)> = vec![
        ("digest".to_owned(), digest.clone()),
        (
            "x-request-id".to_owned(),
            reply.request_id.clone().unwrap_or_default(),
        ),
    ];
    let text = signing_string("", "", &header.headers, source.as_slice())
        .map_err(|e| failure(EXPECTED, format!("the signing string: {e}"), &reply))?;
    cert.public_key.verify(&header, &text).map_err(|e| {
        failure(
            EXPECTED,
            format!("the Signature does not verify with {}: {e}", seal.display()),
            &reply,
        )
    })?;
    Ok(pass(
        EXPECTED,
        format!(
            "Digest matches; Signature over {:?} verifies with the bank's QSealC",
            header.headers
        ),
        Some(&reply),
    ))
}
