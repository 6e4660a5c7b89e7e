//! The HTTP side of `kb serve` (axum): site files from memory, the live-reload socket and
//! script, and the search API.
//!
//! Only files of the site exist: a request path is percent-decoded once, split into segments,
//! and refused if any segment is `..` (or the path holds a NUL or a backslash), then looked up in
//! the in-memory file map, so nothing outside the site can be named. Responses carry a content
//! type by extension, an `ETag` and `Last-Modified`, answer conditional requests with 304 and
//! `HEAD` without a body; misses get the site's own 404 page with status 404.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::sync::broadcast;

use super::files::{LiveFiles, Served};
use super::live::LiveSite;
use super::reload::{self, ServerMsg};
use super::search::{LiveSearch, SearchError};

/// State shared by the request handlers and the rebuild loop.
pub(crate) struct Shared {
    pub(crate) live: RwLock<LiveSite>,
    pub(crate) files: Arc<LiveFiles>,
    /// Live-reload messages (JSON text) for every open socket.
    pub(crate) events: broadcast::Sender<String>,
    /// The latest `problems` message, sent to each socket when it connects.
    pub(crate) problems: RwLock<String>,
    /// Bumped by every update; lets clients (and tests) tell updates apart.
    pub(crate) generation: AtomicU64,
    pub(crate) search: Option<LiveSearch>,
    /// Set when the server is stopping: every live-reload socket closes.
    pub(crate) shutdown: tokio::sync::watch::Sender<bool>,
}

/// The server's routes.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(reload::SOCKET_PATH, get(socket))
        .route(reload::SCRIPT_PATH, get(script))
        .route("/_kb/search", get(search))
        .fallback(file)
        .with_state(shared)
}

/// Why a request path was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BadPath {
    /// A `..` segment, literal or percent-encoded.
    ParentSegment,
    /// NUL, backslash, or bytes that are not UTF-8 after decoding.
    BadBytes,
}

/// The site-relative file a request path names, and whether it names a folder
/// (`/notes/x/` -> `("notes/x", true)`).
pub(crate) fn site_path(raw: &str) -> Result<(String, bool), BadPath> {
    let decoded: Vec<u8> = percent_encoding::percent_decode_str(raw).collect();
    let decoded = String::from_utf8(decoded).map_err(|_| BadPath::BadBytes)?;
    if decoded.contains('\0') || decoded.contains('\\') {
        return Err(BadPath::BadBytes);
    }
    let mut parts: Vec<&str> = Vec::new();
    for seg in decoded.split('/') {
        match seg {
            "" | "." => {}
            ".." => return Err(BadPath::ParentSegment),
            s => parts.push(s),
        }
    }
    let folder = decoded.ends_with('/') || parts.is_empty();
    Ok((parts.join("/"), folder))
}

/// What a path resolved to.
enum Lookup {
    Found(String, Served),
    /// `/notes/x` when `/notes/x/index.html` exists.
    Redirect(String),
    NotFound(Option<Served>),
}

fn resolve(shared: &Shared, rel: &str, folder: bool) -> Lookup {
    if let (Some(search), true) = (
        &shared.search,
        rel.starts_with(super::search::CLIENT_PREFIX),
    ) {
        if let Err(e) = search.ensure_client_index(&shared.files) {
            tracing::warn!("writing the browser's search index: {e:#}");
        }
    }
    let live = shared.live.read().unwrap_or_else(|e| e.into_inner());
    let get = |p: &str| {
        if let Err(e) = live.render_if_stale(p) {
            tracing::warn!("rendering `{p}`: {e:#}");
        }
        shared.files.get(p)
    };
    let index = if rel.is_empty() {
        "index.html".to_string()
    } else {
        format!("{rel}/index.html")
    };
    if folder {
        if let Some(s) = get(&index) {
            return Lookup::Found(index, s);
        }
    } else if let Some(s) = get(rel) {
        return Lookup::Found(rel.to_string(), s);
    } else if get(&index).is_some() {
        return Lookup::Redirect(format!("/{rel}/"));
    }
    Lookup::NotFound(get("404.html"))
}

async fn file(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, HEAD")],
            "only GET and HEAD\n",
        )
            .into_response();
    }
    let (rel, folder) = match site_path(uri.path()) {
        Ok(p) => p,
        Err(_) => return (StatusCode::BAD_REQUEST, "bad path\n").into_response(),
    };
    let lookup = {
        let shared = shared.clone();
        let rel = rel.clone();
        match tokio::task::spawn_blocking(move || resolve(&shared, &rel, folder)).await {
            Ok(l) => l,
            Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    };
    let head = method == Method::HEAD;
    match lookup {
        Lookup::Found(path, served) => respond(StatusCode::OK, &path, served, &headers, head),
        Lookup::Redirect(location) => {
            let location = match uri.query() {
                Some(q) => format!("{location}?{q}"),
                None => location,
            };
            (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
        }
        Lookup::NotFound(Some(page)) => respond(
            StatusCode::NOT_FOUND,
            "404.html",
            page,
            &HeaderMap::new(),
            head,
        ),
        Lookup::NotFound(None) => (StatusCode::NOT_FOUND, "not found\n").into_response(),
    }
}

/// A stored file as a response: validators, content type, the reload script in HTML.
fn respond(
    status: StatusCode,
    path: &str,
    served: Served,
    req: &HeaderMap,
    head: bool,
) -> Response {
    let Served { bytes, meta } = served;
    let modified = httpdate::fmt_http_date(meta.modified);
    if status == StatusCode::OK && not_modified(req, &meta.etag, meta.modified) {
        let mut r = StatusCode::NOT_MODIFIED.into_response();
        set(&mut r, header::ETAG, &meta.etag);
        set(&mut r, header::LAST_MODIFIED, &modified);
        set(&mut r, header::CACHE_CONTROL, "no-cache");
        return r;
    }
    let ctype = content_type(path);
    let body: Vec<u8> = if ctype.starts_with("text/html") {
        reload::inject(&bytes)
    } else {
        bytes.as_ref().clone()
    };
    let len = body.len();
    let mut r = if head {
        Response::new(Body::empty())
    } else {
        Response::new(Body::from(body))
    };
    *r.status_mut() = status;
    set(&mut r, header::CONTENT_TYPE, ctype);
    set(&mut r, header::CONTENT_LENGTH, &len.to_string());
    set(&mut r, header::ETAG, &meta.etag);
    set(&mut r, header::LAST_MODIFIED, &modified);
    set(&mut r, header::CACHE_CONTROL, "no-cache");
    set(&mut r, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    r
}

fn set(r: &mut Response, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().insert(name, v);
    }
}

/// RFC 9110 §13.2.2: `If-None-Match` decides when present; else `If-Modified-Since`, at the
/// one-second precision of HTTP dates.
fn not_modified(req: &HeaderMap, etag: &str, modified: SystemTime) -> bool {
    if let Some(inm) = req.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        return inm
            .split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == "*" || t == etag);
    }
    if let Some(since) = req
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
    {
        let secs = |t: SystemTime| {
            t.duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or(Duration::ZERO)
                .as_secs()
        };
        return secs(modified) <= secs(since);
    }
    false
}

/// Content type by file extension.
pub(crate) fn content_type(path: &str) -> &'static str {
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "xml" if path.ends_with("atom.xml") => "application/atom+xml; charset=utf-8",
        "xml" => "application/xml; charset=utf-8",
        "txt" | "md" | "go" | "c" | "h" | "sh" | "py" | "rs" | "toml" | "yaml" | "yml" | "conf"
        | "log" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "pdf" => "application/pdf",
        "wasm" => "application/wasm",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        _ => "application/octet-stream",
    }
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        reload::SCRIPT,
    )
        .into_response()
}

async fn socket(ws: WebSocketUpgrade, State(shared): State<Arc<Shared>>) -> Response {
    ws.on_upgrade(move |socket| talk(socket, shared))
}

/// One browser tab: hello and the current problems, then every update until it goes away.
async fn talk(mut socket: WebSocket, shared: Arc<Shared>) {
    let mut rx = shared.events.subscribe();
    let mut stop = shared.shutdown.subscribe();
    let hello = ServerMsg::Hello {
        generation: shared.generation.load(Ordering::SeqCst),
    }
    .to_json();
    let problems = shared
        .problems
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    for text in [hello, problems] {
        if socket.send(Message::Text(text.into())).await.is_err() {
            return;
        }
    }
    loop {
        tokio::select! {
            event = rx.recv() => {
                let text = match event {
                    Ok(text) => text,
                    // Too slow to keep up: a full reload covers whatever was missed.
                    Err(broadcast::error::RecvError::Lagged(_)) => ServerMsg::Reload { generation: shared.generation.load(Ordering::SeqCst), paths: vec!["*".into()] }.to_json(),
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                if socket.send(Message::Text(text.into())).await.is_err() {
                    return;
                }
            }
            _ = stop.changed() => {
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    }
}

#[derive(Debug, serde::Deserialize)]
struct SearchParams {
    q: Option<String>,
    limit: Option<usize>,
}

async fn search(State(shared): State<Arc<Shared>>, Query(params): Query<SearchParams>) -> Response {
    let error = |status: StatusCode, msg: String| {
        (status, axum::Json(serde_json::json!({ "error": msg }))).into_response()
    };
    let Some(search) = shared.search.clone() else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "search is turned off in kb.toml ([search] enabled = false)".into(),
        );
    };
    let query = params.q.unwrap_or_default();
    let limit = params.limit.unwrap_or(10).clamp(1, 100);
    match tokio::task::spawn_blocking(move || search.search(&query, limit)).await {
        Ok(Ok(hits)) => axum::Json(hits).into_response(),
        Ok(Err(e @ SearchError::NotReady)) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        Ok(Err(SearchError::Failed(e))) => error(StatusCode::BAD_REQUEST, format!("{e:#}")),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_decoded_once_and_parent_segments_refused() {
        assert_eq!(site_path("/"), Ok((String::new(), true)));
        assert_eq!(site_path("/notes/go-gc/"), Ok(("notes/go-gc".into(), true)));
        assert_eq!(site_path("/style.css"), Ok(("style.css".into(), false)));
        assert_eq!(
            site_path("/notes/%E5%86%99%E5%B1%8F%E9%9A%9C/"),
            Ok(("notes/写屏障".into(), true))
        );
        assert_eq!(site_path("//a/./b"), Ok(("a/b".into(), false)));
        for bad in [
            "/../etc/passwd",
            "/notes/../../x",
            "/%2e%2e/x",
            "/%2E%2E%2Fetc",
            "/a/%2e%2e",
            "/..%2f..%2fetc",
        ] {
            assert_eq!(site_path(bad), Err(BadPath::ParentSegment), "{bad}");
        }
        for bad in ["/a%00b", "/a%5c..%5cb", "/a\\b", "/%ff%fe"] {
            assert_eq!(site_path(bad), Err(BadPath::BadBytes), "{bad}");
        }
        // Double encoding is decoded once: a literal file name that does not exist.
        assert_eq!(site_path("/%252e%252e/x"), Ok(("%2e%2e/x".into(), false)));
    }

    #[test]
    fn if_none_match_wins_over_if_modified_since() {
        let now = SystemTime::now();
        let mut h = HeaderMap::new();
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"abc\", W/\"def\""),
        );
        assert!(not_modified(&h, "\"def\"", now));
        assert!(!not_modified(&h, "\"xyz\"", now));
        h.insert(
            header::IF_MODIFIED_SINCE,
            HeaderValue::from_str(&httpdate::fmt_http_date(now + Duration::from_secs(60))).unwrap(),
        );
        assert!(
            !not_modified(&h, "\"xyz\"", now),
            "a mismatching ETag decides even when the date would match"
        );
        h.remove(header::IF_NONE_MATCH);
        assert!(not_modified(&h, "\"xyz\"", now));
        h.insert(
            header::IF_MODIFIED_SINCE,
            HeaderValue::from_str(&httpdate::fmt_http_date(now - Duration::from_secs(60))).unwrap(),
        );
        assert!(!not_modified(&h, "\"xyz\"", now));
    }

    #[test]
    fn content_types_by_extension() {
        assert_eq!(
            content_type("notes/x/index.html"),
            "text/html; charset=utf-8"
        );
        assert_eq!(
            content_type("atom.xml"),
            "application/atom+xml; charset=utf-8"
        );
        assert_eq!(
            content_type("sitemap.xml"),
            "application/xml; charset=utf-8"
        );
        assert_eq!(content_type("go/diagram.PNG"), "image/png");
        assert_eq!(content_type("LICENSE"), "application/octet-stream");
    }
}
