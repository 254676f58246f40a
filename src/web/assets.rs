//! The UI's static files, all in the binary: our stylesheet and script, and the vendored
//! htmx and its server-sent-events extension (both 0BSD, their licences beside them in
//! src/web/static/vendor/). Each is served under a name
//! that carries its content's hash, with a year-long `immutable` cache; pages link them with
//! their Subresource Integrity hash, so a changed file is a new name and a tampered one is
//! refused by the browser.
use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256, Sha384};
use std::sync::OnceLock;

/// One static file.
pub struct Asset {
    /// The file's own name: `app.css`.
    pub plain: String,
    /// The name pages link: `app-1a2b3c4d.css`.
    pub name: String,
    /// `sha384-…` for the `integrity` attribute.
    pub integrity: String,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

const FILES: [(&str, &str, &[u8]); 4] = [
    ("app", "css", include_bytes!("static/app.css")),
    ("app", "js", include_bytes!("static/app.js")),
    (
        "htmx",
        "js",
        include_bytes!("static/vendor/htmx-2.0.11.min.js"),
    ),
    (
        "htmx-sse",
        "js",
        include_bytes!("static/vendor/htmx-ext-sse-2.2.4.min.js"),
    ),
];

/// Every static file, hashed once.
pub fn all() -> &'static [Asset] {
    static ALL: OnceLock<Vec<Asset>> = OnceLock::new();
    ALL.get_or_init(|| {
        FILES
            .iter()
            .map(|(stem, ext, body)| {
                let short: String = Sha256::digest(body)
                    .iter()
                    .take(4)
                    .map(|b| format!("{b:02x}"))
                    .collect();
                Asset {
                    plain: format!("{stem}.{ext}"),
                    name: format!("{stem}-{short}.{ext}"),
                    integrity: format!(
                        "sha384-{}",
                        base64::engine::general_purpose::STANDARD.encode(Sha384::digest(body))
                    ),
                    content_type: if *ext == "css" {
                        "text/css; charset=utf-8"
                    } else {
                        "text/javascript; charset=utf-8"
                    },
                    body,
                }
            })
            .collect()
    })
}

/// The file named `stem`.`ext` (`app.css`), for links.
pub fn get(plain: &str) -> &'static Asset {
    all().iter().find(|a| a.plain == plain).unwrap_or(&all()[0])
}

/// `GET /static/{name}`.
pub async fn serve(Path(name): Path<String>) -> Response {
    match all().iter().find(|a| a.name == name) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, a.content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            a.body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}
