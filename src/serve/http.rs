//! The HTTP side of `kb serve` (axum): site files from memory, the live-reload socket and
//! script, and the search API.
//!
//! Only files of the site exist: a request path is percent-decoded once, split into segments,
//! and refused if any segment is `..` (or the path holds a NUL or a backslash), then looked up in
//! the in-memory file map, so nothing outside the site can be named. Responses carry a content
//! type by extension, an `ETag` and `Last-Modified`, answer conditional requests with 304 and
//! `HEAD` without a body; misses get the site's own 404 page with status 404.
//!
//! Only the names the server is reached by are answered ([`HostPolicy`]): a page on another site
//! can make a browser send requests to `127.0.0.1`, and with DNS rebinding (`evil.example`
//! resolving to 127.0.0.1 after the page loaded) even read the answers, since the browser then
//! takes them for same-origin. So a request whose `Host` is not a loopback name (or the address
//! `--bind` names) gets 403 and nothing else, and a live-reload WebSocket upgrade whose `Origin`
//! is not the page's own host is refused. Connections are served by hyper directly
//! ([`serve_connections`]) so that a client which sends its request headers slowly is dropped
//! after [`HEADER_READ_TIMEOUT`] instead of holding a connection open for ever.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::sync::broadcast;

use super::files::{LiveFiles, Served};
use super::live::LiveSite;
use super::reload::{self, ServerMsg};
use super::search::{LiveSearch, SearchError};
use crate::sync::RwLockExt;

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

/// The server's routes, behind the `Host` check.
pub(crate) fn router(shared: Arc<Shared>, hosts: HostPolicy) -> Router {
    Router::new()
        .route(reload::SOCKET_PATH, get(socket))
        .route(reload::SCRIPT_PATH, get(script))
        .route("/_kb/search", get(search))
        .fallback(file)
        .with_state(shared)
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(hosts),
            check_host,
        ))
}

/// How long a client may take to send a request's headers (from the moment the server starts
/// reading them: a new connection, or the end of the previous response on a kept-alive one).
pub(crate) const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Accept connections on `listener` and serve `app` on each (HTTP/1.1 with upgrades for the
/// live-reload socket) until `stop` turns true; then stop accepting, let every connection
/// finish its current response, and return.
pub(crate) async fn serve_connections(
    listener: tokio::net::TcpListener,
    app: Router,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    // Dropped by each connection task when it ends: `closed()` below waits for all of them.
    let (open_tx, open_rx) = tokio::sync::watch::channel(());
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, say: wait a moment instead of spinning.
                    tracing::warn!("accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stop.wait_for(|s| *s) => break,
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let mut stop = stop.clone();
        let open = open_rx.clone();
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT);
            let conn = builder
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            let mut conn = std::pin::pin!(conn);
            let mut stopping = false;
            loop {
                tokio::select! {
                    result = conn.as_mut() => {
                        if let Err(e) = result {
                            tracing::debug!("connection closed: {e}");
                        }
                        break;
                    }
                    _ = stop.wait_for(|s| *s), if !stopping => {
                        stopping = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
            drop(open);
        });
    }
    drop(listener);
    drop(open_rx);
    open_tx.closed().await;
}

/// Which `Host` values `kb serve` answers: the names a person types for the address it listens
/// on, with its port. A loopback address answers `localhost`, `127.0.0.1` and `[::1]` (and the
/// address itself); another address answers those and itself; an unspecified address
/// (`--bind 0.0.0.0` or `::`) answers `localhost` and any IP literal, since an IP literal cannot
/// be rebound to another address the way a DNS name can. Names other than `localhost` are never
/// answered: a name is what DNS rebinding needs.
#[derive(Debug, Clone)]
pub(crate) struct HostPolicy {
    port: u16,
    ips: Vec<IpAddr>,
    any_ip: bool,
}

impl HostPolicy {
    /// The policy for a server listening on `addr` (the bound address, with the real port).
    pub(crate) fn new(addr: SocketAddr) -> HostPolicy {
        let mut ips = vec![
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ];
        if !ips.contains(&addr.ip()) {
            ips.push(addr.ip());
        }
        HostPolicy {
            port: addr.port(),
            ips,
            any_ip: addr.ip().is_unspecified(),
        }
    }

    /// Is `host` (a `Host` header or an origin's authority, `name[:port]`) one of ours?
    pub(crate) fn allows(&self, host: &str) -> bool {
        let Some((name, port)) = split_authority(host) else {
            return false;
        };
        let port_ok = match port {
            Some(p) => p == self.port,
            None => self.port == 80,
        };
        if !port_ok {
            return false;
        }
        if name.eq_ignore_ascii_case("localhost") {
            return true;
        }
        let ip = match name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
            Some(v6) => v6.parse::<Ipv6Addr>().ok().map(IpAddr::V6),
            None => name.parse::<Ipv4Addr>().ok().map(IpAddr::V4),
        };
        match ip {
            Some(ip) => self.any_ip || self.ips.contains(&ip),
            None => false,
        }
    }
}

/// `name:port` -> (`name`, Some(port)); `[::1]:80` keeps the brackets; `None` when malformed.
fn split_authority(host: &str) -> Option<(&str, Option<u16>)> {
    let (name, port) = if host.starts_with('[') {
        let end = host.find(']')?;
        let (name, rest) = host.split_at(end + 1);
        match rest {
            "" => (name, None),
            r => (name, Some(r.strip_prefix(':')?)),
        }
    } else {
        match host.rsplit_once(':') {
            Some((n, p)) => (n, Some(p)),
            None => (host, None),
        }
    };
    if name.is_empty() {
        return None;
    }
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok()?),
        None => None,
    };
    Some((name, port))
}

/// Refuse a request whose `Host` is not one of ours (403, no content), and a WebSocket upgrade
/// whose `Origin` is not `http://` + that same host.
async fn check_host(
    State(hosts): State<Arc<HostPolicy>>,
    request: Request,
    next: Next,
) -> Response {
    let forbidden = |why: String| (StatusCode::FORBIDDEN, why).into_response();
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if !hosts.allows(&host) {
        return forbidden(format!(
            "kb serve answers only its own address (localhost or the IP it listens on), not `{host}`\n"
        ));
    }
    if request.headers().contains_key(header::UPGRADE) {
        if let Some(origin) = request.headers().get(header::ORIGIN) {
            let same = origin
                .to_str()
                .ok()
                .and_then(|o| o.strip_prefix("http://"))
                .is_some_and(|authority| authority.eq_ignore_ascii_case(&host));
            if !same {
                return forbidden(
                    "kb serve's live-reload socket is for its own pages only\n".into(),
                );
            }
        }
    }
    next.run(request).await
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
    let live = shared.live.read_or_recover();
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
    let problems = shared.problems.read_or_recover().clone();
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
    fn loopback_servers_answer_loopback_names_with_their_port_only() {
        let p = HostPolicy::new("127.0.0.1:1111".parse().unwrap());
        for ok in [
            "127.0.0.1:1111",
            "localhost:1111",
            "LOCALHOST:1111",
            "[::1]:1111",
        ] {
            assert!(p.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example:1111",
            "evil.example",
            "127.0.0.1:2222",
            "127.0.0.1",
            "localhost",
            "192.168.1.5:1111",
            "localhost.:1111",
            "sub.localhost:1111",
            "127.0.0.1.nip.io:1111",
            "[::1]:x",
            "[::1",
            ":1111",
            "",
        ] {
            assert!(!p.allows(bad), "{bad}");
        }
        assert!(HostPolicy::new("127.0.0.1:80".parse().unwrap()).allows("localhost"));
    }

    #[test]
    fn bind_addresses_add_themselves_and_unspecified_ones_any_ip_literal() {
        let lan = HostPolicy::new("192.168.1.5:8080".parse().unwrap());
        assert!(lan.allows("192.168.1.5:8080"));
        assert!(lan.allows("localhost:8080"));
        assert!(!lan.allows("10.0.0.1:8080"));
        assert!(!lan.allows("mybox.lan:8080"));
        let all = HostPolicy::new("0.0.0.0:8080".parse().unwrap());
        assert!(all.allows("10.0.0.1:8080"));
        assert!(all.allows("[fe80::1]:8080"));
        assert!(all.allows("localhost:8080"));
        assert!(!all.allows("evil.example:8080"));
        assert!(!all.allows("10.0.0.1:9090"));
    }

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
