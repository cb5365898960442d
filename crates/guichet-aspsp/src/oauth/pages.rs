//! The bank's pages: server-rendered, auto-escaped askama templates, with strict security
//! headers on every answer.
#![allow(
    clippy::result_large_err,
    reason = "page handlers carry ready responses as errors"
)]

use askama::Template;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::state::SharedState;

/// A page and what its headers must say.
pub struct Page {
    pub status: StatusCode,
    pub html: String,
    /// An origin the page's forms may end up at (the TPP's redirect URI, reached by a redirect
    /// after the form is posted); CSP `form-action` covers redirects too.
    pub form_target: Option<String>,
    pub set_cookie: Option<String>,
}

impl Page {
    pub fn render(status: StatusCode, template: &impl Template) -> Page {
        let html = template.render().unwrap_or_else(|e| {
            tracing::error!(error = %e, "template rendering failed");
            "<!DOCTYPE html><title>Erreur</title><p>Erreur interne.</p>".to_owned()
        });
        Page {
            status,
            html,
            form_target: None,
            set_cookie: None,
        }
    }
}

/// Headers every page and redirect of the PSU listener carries.
pub fn secure(headers: &mut HeaderMap, form_target: Option<&str>) {
    let form_action = match form_target {
        Some(origin) => format!("'self' {origin}"),
        None => "'self'".to_owned(),
    };
    let csp = format!(
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000"),
    );
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.html).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        secure(headers, self.form_target.as_deref());
        if let Some(cookie) = self.set_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
            headers.insert(header::SET_COOKIE, cookie);
        }
        response
    }
}

/// A 303 to `location`, with the page headers (and `form_target` allowed when the redirect
/// follows a form).
pub fn see_other(
    location: &str,
    form_target: Option<&str>,
    set_cookie: Option<String>,
) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, value);
    }
    secure(headers, form_target);
    if let Some(cookie) = set_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        headers.insert(header::SET_COOKIE, cookie);
    }
    response
}

/// The origin (`scheme://host[:port]`) of a URL.
pub fn origin_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    Some(parsed.origin().ascii_serialization()).filter(|o| o != "null")
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub bank_name: &'a str,
    pub heading: &'a str,
    pub message: &'a str,
    pub return_csrf: Option<&'a str>,
}

/// An error page that never redirects (RFC 6749 §4.1.2.1 for a bad client or redirect URI).
pub fn error_page(status: StatusCode, bank_name: &str, message: &str) -> Page {
    Page::render(
        status,
        &MessagePage {
            bank_name,
            heading: "Demande refusée",
            message,
            return_csrf: None,
        },
    )
}

/// A page the store could not serve. The database cannot be reached right now (down,
/// restarting, every connection busy) or stopped the page's transaction in a conflict with
/// another writer: 503 with `Retry-After`, as the API answers, so the PSU knows to try again;
/// any other failure: 500. The cause goes to the operator's log only.
pub fn store_failure(bank_name: &str, doing: &str, error: &guichet_store::StoreError) -> Response {
    tracing::error!(error = %error, doing, "the store failed a PSU page");
    if !error.is_transient() {
        return error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            bank_name,
            "Erreur interne.",
        )
        .into_response();
    }
    let mut response = error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        bank_name,
        "Service momentanément indisponible. Réessayez dans quelques instants.",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(5));
    response
}

/// A form posted twice, or a step already passed (a replay, another tab): 409, nothing done.
pub fn already_done(bank_name: &str) -> axum::response::Response {
    error_page(
        StatusCode::CONFLICT,
        bank_name,
        "Cette étape a déjà été traitée.",
    )
    .into_response()
}

/// The PSU's pages close with the bank during its maintenance windows: a page saying until
/// when, 503 with `Retry-After`. The pages' answers are counted in the metrics here.
pub async fn maintenance(
    State(state): State<SharedState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let started = std::time::Instant::now();
    let bank = super::bank_of(&state, &parts);
    let code = bank.as_ref().map_or("-", |b| b.code()).to_owned();
    let closed = bank.and_then(|bank| bank.in_maintenance(state.now()).map(|left| (bank, left)));
    let Some((bank, left)) = closed else {
        // Every line logged while a page is served names the bank (the PSU's pages carry no
        // X-Request-ID and no TPP certificate).
        let span = tracing::info_span!("page", bank = code.as_str());
        let response = tracing::Instrument::instrument(
            next.run(axum::extract::Request::from_parts(parts, body)),
            span,
        )
        .await;
        state.metrics.request(
            &code,
            guichet_stet::API_VERSION,
            crate::ops::Operation::PsuPages,
            response.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
        return response;
    };
    let reopens = jiff::Timestamp::from_second(state.now().as_second() + left)
        .map(|t| bank.zone.to_datetime(t).strftime("%H:%M").to_string())
        .unwrap_or_default();
    let message = format!(
        "{} est en maintenance programmée. Le service reprend à {reopens}.",
        bank.profile.name
    );
    let mut response = Page::render(
        StatusCode::SERVICE_UNAVAILABLE,
        &MessagePage {
            bank_name: &bank.profile.name,
            heading: "Maintenance",
            message: &message,
            return_csrf: None,
        },
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(left));
    response
}

pub async fn not_found() -> Page {
    error_page(StatusCode::NOT_FOUND, "Guichet", "Cette page n'existe pas.")
}

fn bank_or_404(
    state: &SharedState,
    parts: &Parts,
) -> Result<std::sync::Arc<crate::state::Bank>, Response> {
    super::bank_of(state, parts).ok_or_else(|| {
        error_page(StatusCode::NOT_FOUND, "Guichet", "Aucune banque ici.").into_response()
    })
}

/// The stylesheet, in the bank's colour (checked as `#rrggbb` at start-up).
pub async fn stylesheet(State(state): State<SharedState>, parts: Parts) -> Response {
    let bank = match bank_or_404(&state, &parts) {
        Ok(bank) => bank,
        Err(response) => return response,
    };
    let css = format!(
        "body{{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1c1c1c}}\
         header{{background:{c};color:#fff;padding:1rem 2rem;display:flex;justify-content:space-between}}\
         .bank{{font-weight:700;font-size:1.2rem}}main{{max-width:32rem;margin:2rem auto;background:#fff;padding:2rem;border-radius:8px}}\
         label{{display:block;margin-top:1rem}}input{{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}}\
         button{{margin-top:1.5rem;background:{c};color:#fff;border:0;padding:.7rem 1.2rem;font-size:1rem;border-radius:4px}}\
         button.secondary{{background:#666}}.error{{color:#b00020}}.sandbox{{background:#fff4ce;padding:.5rem;border-left:4px solid #e0a800}}\
         .request{{background:#eef3f8;padding:.5rem 1rem}}table{{width:100%;border-collapse:collapse}}td,th{{padding:.3rem;border-bottom:1px solid #ddd;text-align:left}}\
         footer{{text-align:center;font-size:.8rem;color:#666;margin:2rem}}",
        c = bank.profile.colour
    );
    let mut response = css.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn json_file(value: serde_json::Value) -> Response {
    let mut response = value.to_string().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// An App2App association file of the request's bank, built from its profile; 404 where the
/// bank has no app.
fn app2app_file(
    state: &SharedState,
    parts: &Parts,
    file: impl FnOnce(&crate::profile::App2App) -> serde_json::Value,
) -> Response {
    let bank = match bank_or_404(state, parts) {
        Ok(bank) => bank,
        Err(response) => return response,
    };
    match &bank.profile.app2app {
        Some(app) => json_file(file(app)),
        None => error_page(
            StatusCode::NOT_FOUND,
            &bank.profile.name,
            "Pas d'application associée.",
        )
        .into_response(),
    }
}

/// iOS universal links for the bank's own app (portal, "Trigger App2App feature").
pub async fn apple_app_site_association(
    State(state): State<SharedState>,
    parts: Parts,
) -> Response {
    app2app_file(&state, &parts, |app| {
        serde_json::json!({
            "applinks": {
                "apps": [],
                "details": app.apple_app_ids.iter().map(|id| serde_json::json!({"appID": id, "paths": app.paths})).collect::<Vec<_>>(),
            }
        })
    })
}

/// Android app links for the bank's own app.
pub async fn assetlinks(State(state): State<SharedState>, parts: Parts) -> Response {
    app2app_file(&state, &parts, |app| {
        serde_json::json!([{
            "relation": ["delegate_permission/common.handle_all_urls"],
            "target": {
                "namespace": "android_app",
                "package_name": app.android_package,
                "sha256_cert_fingerprints": app.android_cert_fingerprints,
            }
        }])
    })
}
