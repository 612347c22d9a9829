//! Static assets compiled into the binary. Their URLs carry a content hash, so they are
//! served with a year-long immutable cache and change URL when their content changes.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

pub const ASSET_ROUTE: &str = "/static/{name}";

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "registrar-1.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../../../assets/css/registrar.css"),
    },
    // `base.html` loads it by this name: bump the number in both when the script changes.
    Asset {
        name: "registrar-1.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../../assets/js/registrar.js"),
    },
    Asset {
        name: "htmx-2.0.11.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../../assets/vendor/htmx-2.0.11.min.js"),
    },
];

/// Bump the number in the name when the stylesheet changes.
pub const CSS: &str = "/static/registrar-1.css";
pub const HTMX: &str = "/static/htmx-2.0.11.min.js";

pub async fn serve(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, asset.content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            asset.body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
