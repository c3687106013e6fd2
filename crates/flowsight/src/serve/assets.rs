//! The dashboard: one HTML page, one script and one style sheet, embedded in the binary so
//! serving it needs no files, no CDN and no build step.

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// The page at `/`.
pub const INDEX_HTML: &str = include_str!("../../assets/index.html");
/// `/app.js`: polls the API and draws the chart and tables.
pub const APP_JS: &str = include_str!("../../assets/app.js");
/// `/app.css`.
pub const APP_CSS: &str = include_str!("../../assets/app.css");

/// The page may load only its own script and style and talk only to its own origin, so
/// even a record that slipped past the script's escaping could not run or send anything.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn asset(body: &'static str, kind: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// `GET /`.
pub async fn index() -> Response {
    asset(INDEX_HTML, "text/html; charset=utf-8")
}

/// `GET /app.js`.
pub async fn script() -> Response {
    asset(APP_JS, "text/javascript; charset=utf-8")
}

/// `GET /app.css`.
pub async fn style() -> Response {
    asset(APP_CSS, "text/css; charset=utf-8")
}
