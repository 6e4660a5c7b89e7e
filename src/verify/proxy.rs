//! The Docker API endpoint of a `docker` session: a proxy on a Unix socket of its own, mounted
//! into the session's container as `/var/run/docker.sock`.
//!
//! A session may run `docker …` against the engine that runs it, but it must never see or touch
//! the objects of anybody else on that engine (the user's containers, images and tags, another
//! session's). The proxy forwards each API request to the engine after applying [`route`]:
//! - creations (containers, networks, volumes, image builds and commits) get kb's labels,
//!   including the session's [`SESSION_LABEL`], so they can be removed by label when the session
//!   ends, when the run ends, and by the next run after a `kill -9`;
//! - lists, prunes and events get a label filter, so the session sees only its own objects;
//! - a request naming one object (`/containers/web/stop`, `DELETE /volumes/v`) is forwarded only
//!   when that object carries the session's label, else answered 404 like a missing object;
//!   reading an image (`/images/x/json`) is allowed, since running a container needs it;
//! - swarm, plugins, secrets, the build cache and everything unknown are refused (403).
//!
//! Attach, exec and BuildKit sessions switch protocols (HTTP 101); the proxy then copies bytes
//! both ways between the client and the engine.

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value as Json};
use tokio::net::{UnixListener, UnixStream};

/// Label naming the `docker` session that created an object through its proxy.
pub(crate) const SESSION_LABEL: &str = "kb.docker-session";

type Body = BoxBody<Bytes, hyper::Error>;

/// A running proxy; dropping it stops it and removes its socket.
pub(crate) struct DockerProxy {
    dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl DockerProxy {
    /// Start a proxy to the engine at `upstream` for the session whose objects carry
    /// `labels` (which include [`SESSION_LABEL`]).
    pub(crate) fn start(upstream: &Path, labels: HashMap<String, String>) -> std::io::Result<Self> {
        let session = labels.get(SESSION_LABEL).cloned().unwrap_or_default();
        // short path: Unix socket paths are limited to 108 bytes
        let dir = tempfile::Builder::new().prefix("kb-docker-").tempdir()?;
        #[cfg(unix)]
        {
            // the engine mounts the socket; the session's user may not be root
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
        }
        let listener = UnixListener::bind(dir.path().join("docker.sock"))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                dir.path().join("docker.sock"),
                std::fs::Permissions::from_mode(0o666),
            )?;
        }
        let policy = Arc::new(Policy {
            upstream: upstream.to_path_buf(),
            labels,
            session,
        });
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let policy = policy.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let policy = policy.clone();
                        async move { Ok::<_, Infallible>(policy.handle(req).await) }
                    });
                    let conn = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .with_upgrades();
                    if let Err(e) = conn.await {
                        tracing::debug!("docker proxy connection: {e}");
                    }
                });
            }
        });
        Ok(DockerProxy { dir, task })
    }

    /// Host path of the proxy's socket, to mount into the session container.
    pub(crate) fn socket(&self) -> PathBuf {
        self.dir.path().join("docker.sock")
    }
}

impl Drop for DockerProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The kinds of engine objects a session can own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Container,
    Image,
    Network,
    Volume,
}

impl Kind {
    /// The engine's inspect path for an object of this kind.
    fn inspect_path(self, id: &str) -> String {
        match self {
            Kind::Container => format!("/containers/{id}/json"),
            Kind::Image => format!("/images/{id}/json"),
            Kind::Network => format!("/networks/{id}"),
            Kind::Volume => format!("/volumes/{id}"),
        }
    }

    /// Where the inspect answer keeps the labels.
    fn labels(self, inspect: &Json) -> Option<&Map<String, Json>> {
        match self {
            Kind::Container | Kind::Image => inspect.pointer("/Config/Labels"),
            Kind::Network | Kind::Volume => inspect.get("Labels"),
        }?
        .as_object()
    }

    fn noun(self) -> &'static str {
        match self {
            Kind::Container => "container",
            Kind::Image => "image",
            Kind::Network => "network",
            Kind::Volume => "volume",
        }
    }
}

/// What the proxy does with one request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Route {
    /// Pass it on unchanged.
    Forward,
    /// Add the session's labels to the JSON body's `Labels`.
    LabelBody,
    /// Add the session's labels to the `labels` query parameter (image builds).
    LabelQuery,
    /// Add a label filter to the `filters` query parameter (lists, prunes, events).
    Filter,
    /// Pass it on only if the named object is the session's.
    Owned(Kind, String),
    /// `POST /commit?container=ID`: the container must be the session's; the image is labelled.
    Commit,
    /// Refuse, saying why.
    Deny(&'static str),
}

/// Decide what to do with `method path` (the API version prefix, if any, already removed).
pub(crate) fn route(method: &Method, path: &str) -> Route {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let get = method == Method::GET || method == Method::HEAD;
    match parts.as_slice() {
        ["_ping"] | ["version"] | ["info"] => Route::Forward,
        ["events"] => Route::Filter,
        ["containers", "json"] | ["containers", "prune"] => Route::Filter,
        ["containers", "create"] => Route::LabelBody,
        ["containers", id, ..] => Route::Owned(Kind::Container, unescape(id)),
        ["exec", _, ..] => Route::Forward, // exec ids come from an owned container's exec create
        ["images", "json"] | ["images", "prune"] => Route::Filter,
        ["images", "create"] | ["images", "load"] | ["images", "get"] | ["images", "search"] => {
            Route::Forward
        }
        ["images", rest @ ..] if !rest.is_empty() => {
            // image names hold slashes (`registry/repo:tag`): the action is the last part
            let (name, action) = match rest.last() {
                Some(&a @ ("json" | "history" | "tag" | "push" | "get")) if rest.len() > 1 => {
                    (rest[..rest.len() - 1].join("/"), a)
                }
                _ => (rest.join("/"), ""),
            };
            if get && matches!(action, "json" | "history" | "get") {
                Route::Forward
            } else {
                Route::Owned(Kind::Image, unescape(&name))
            }
        }
        ["build"] => Route::LabelQuery,
        ["build", "prune"] => {
            Route::Deny("the build cache is shared with everything else on the engine")
        }
        ["commit"] => Route::Commit,
        ["networks"] | ["networks", "prune"] => Route::Filter,
        ["networks", "create"] => Route::LabelBody,
        ["networks", id, ..] => Route::Owned(Kind::Network, unescape(id)),
        ["volumes"] | ["volumes", "prune"] => Route::Filter,
        ["volumes", "create"] => Route::LabelBody,
        ["volumes", name] => Route::Owned(Kind::Volume, unescape(name)),
        ["session"] | ["grpc"] => Route::Forward, // BuildKit's side channel of a build
        ["system", "df"] => Route::Deny("it lists every object on the engine"),
        [first, ..]
            if matches!(
                *first,
                "swarm"
                    | "services"
                    | "tasks"
                    | "secrets"
                    | "configs"
                    | "nodes"
                    | "plugins"
                    | "distribution"
                    | "auth"
            ) =>
        {
            Route::Deny("a `docker` session may only use containers, images, networks and volumes")
        }
        _ => Route::Deny("kb's docker proxy does not know this endpoint"),
    }
}

fn unescape(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// `/v1.41/containers/json` -> `/containers/json`.
fn strip_version(path: &str) -> &str {
    let rest = path.trim_start_matches('/');
    match rest.split_once('/') {
        Some((v, tail))
            if v.starts_with('v') && v[1..].chars().all(|c| c.is_ascii_digit() || c == '.') =>
        {
            &path[path.len() - tail.len() - 1..]
        }
        _ => path,
    }
}

/// `query` with `filters` (the engine's JSON filter map) extended by `label=KEY=VALUE`.
pub(crate) fn add_label_filter(query: Option<&str>, key: &str, value: &str) -> String {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let wanted = format!("{key}={value}");
    let mut found = false;
    for (k, v) in pairs.iter_mut() {
        if k == "filters" {
            found = true;
            let mut filters: Map<String, Json> = serde_json::from_str(v).unwrap_or_default();
            // two shapes exist: {"label": ["a=b"]} and {"label": {"a=b": true}}
            match filters.get_mut("label") {
                Some(Json::Array(list)) => list.push(Json::String(wanted.clone())),
                Some(Json::Object(map)) => {
                    map.insert(wanted.clone(), Json::Bool(true));
                }
                _ => {
                    // the engine wants one shape for every key: follow the others'
                    let value = if filters.values().any(Json::is_object) {
                        serde_json::json!({ wanted.clone(): true })
                    } else {
                        serde_json::json!([wanted.clone()])
                    };
                    filters.insert("label".into(), value);
                }
            }
            *v = Json::Object(filters).to_string();
        }
    }
    if !found {
        pairs.push((
            "filters".into(),
            serde_json::json!({ "label": [wanted] }).to_string(),
        ));
    }
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// `query` with the JSON map of its `labels` parameter (image builds) extended by `labels`.
pub(crate) fn add_query_labels(query: Option<&str>, labels: &HashMap<String, String>) -> String {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .filter(|(k, _)| k != "labels")
        .collect();
    let mut map: Map<String, Json> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k == "labels")
        .and_then(|(_, v)| serde_json::from_str(&v).ok())
        .unwrap_or_default();
    for (k, v) in labels {
        map.insert(k.clone(), Json::String(v.clone()));
    }
    pairs.push(("labels".into(), Json::Object(map).to_string()));
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// A JSON request body with `labels` added to its `Labels` map (made when missing or null).
pub(crate) fn add_body_labels(body: &[u8], labels: &HashMap<String, String>) -> Option<Vec<u8>> {
    let mut value: Json = if body.iter().all(u8::is_ascii_whitespace) {
        Json::Object(Map::new())
    } else {
        serde_json::from_slice(body).ok()?
    };
    let obj = value.as_object_mut()?;
    let entry = obj
        .entry("Labels")
        .or_insert_with(|| Json::Object(Map::new()));
    if entry.is_null() {
        *entry = Json::Object(Map::new());
    }
    let map = entry.as_object_mut()?;
    for (k, v) in labels {
        map.insert(k.clone(), Json::String(v.clone()));
    }
    serde_json::to_vec(&value).ok()
}

struct Policy {
    upstream: PathBuf,
    labels: HashMap<String, String>,
    session: String,
}

impl Policy {
    async fn handle(&self, req: Request<Incoming>) -> Response<Body> {
        match self.try_handle(req).await {
            Ok(r) => r,
            Err(e) => answer(
                StatusCode::BAD_GATEWAY,
                &format!("kb's docker proxy couldn't reach the engine: {e}"),
            ),
        }
    }

    async fn try_handle(&self, mut req: Request<Incoming>) -> anyhow::Result<Response<Body>> {
        let path = strip_version(req.uri().path()).to_string();
        let query = req.uri().query().map(str::to_string);
        let route = route(req.method(), &path);
        tracing::debug!("docker proxy: {} {path} -> {route:?}", req.method());
        let new_query = match &route {
            Route::Deny(why) => {
                return Ok(answer(
                    StatusCode::FORBIDDEN,
                    &format!(
                        "kb refuses `{} {path}` in a `docker` session: {why}",
                        req.method()
                    ),
                ))
            }
            Route::Owned(kind, id) => {
                if !self.owns(*kind, id).await? {
                    return Ok(answer(
                        StatusCode::NOT_FOUND,
                        &format!("No such {}: {id}", kind.noun()),
                    ));
                }
                None
            }
            Route::Commit => {
                let container = form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
                    .find(|(k, _)| k == "container")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                if !self.owns(Kind::Container, &container).await? {
                    return Ok(answer(
                        StatusCode::NOT_FOUND,
                        &format!("No such container: {container}"),
                    ));
                }
                None
            }
            Route::Filter => Some(add_label_filter(
                query.as_deref(),
                SESSION_LABEL,
                &self.session,
            )),
            Route::LabelQuery => Some(add_query_labels(query.as_deref(), &self.labels)),
            Route::Forward | Route::LabelBody => None,
        };
        if let Some(q) = new_query {
            let pq = format!("{}?{q}", req.uri().path());
            *req.uri_mut() = pq.parse()?;
        }
        let client_upgrade = hyper::upgrade::on(&mut req);
        let req: Request<Body> = if matches!(route, Route::LabelBody | Route::Commit) {
            let (mut parts, body) = req.into_parts();
            let bytes = body.collect().await?.to_bytes();
            let Some(labelled) = add_body_labels(&bytes, &self.labels) else {
                return Ok(answer(
                    StatusCode::BAD_REQUEST,
                    "the request body is not a JSON object",
                ));
            };
            parts.headers.remove(hyper::header::TRANSFER_ENCODING);
            parts
                .headers
                .insert(hyper::header::CONTENT_LENGTH, labelled.len().into());
            Request::from_parts(parts, full(labelled))
        } else {
            req.map(|b| b.boxed())
        };
        let mut resp = self.send(req).await?;
        if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
            let upstream_upgrade = hyper::upgrade::on(&mut resp);
            tokio::spawn(async move {
                match tokio::try_join!(client_upgrade, upstream_upgrade) {
                    Ok((client, upstream)) => {
                        let _ = tokio::io::copy_bidirectional(
                            &mut TokioIo::new(client),
                            &mut TokioIo::new(upstream),
                        )
                        .await;
                    }
                    Err(e) => tracing::debug!("docker proxy upgrade: {e}"),
                }
            });
        }
        Ok(resp.map(|b| b.boxed()))
    }

    /// Whether the object `id` (of `kind`) carries this session's label.
    async fn owns(&self, kind: Kind, id: &str) -> anyhow::Result<bool> {
        let path = kind.inspect_path(&utf8_percent_encode(id));
        let req = Request::get(path)
            .header(hyper::header::HOST, "docker")
            .body(full(Vec::new()))?;
        let resp = self.send(req).await?;
        if !resp.status().is_success() {
            return Ok(false);
        }
        let bytes = resp.into_body().collect().await?.to_bytes();
        let inspect: Json = serde_json::from_slice(&bytes).unwrap_or(Json::Null);
        Ok(kind
            .labels(&inspect)
            .and_then(|l| l.get(SESSION_LABEL))
            .and_then(Json::as_str)
            == Some(self.session.as_str()))
    }

    async fn send(&self, req: Request<Body>) -> anyhow::Result<Response<Incoming>> {
        let stream = UnixStream::connect(&self.upstream).await?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            if let Err(e) = conn.with_upgrades().await {
                tracing::debug!("docker proxy engine connection: {e}");
            }
        });
        Ok(sender.send_request(req).await?)
    }
}

fn utf8_percent_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never: Infallible| match never {})
        .boxed()
}

/// An answer in the engine's error shape (`{"message": …}`), which the docker CLI prints.
fn answer(status: StatusCode, message: &str) -> Response<Body> {
    let body = serde_json::json!({ "message": message }).to_string();
    Response::builder()
        .status(status)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(full(body))
        .unwrap_or_else(|_| Response::new(full(Vec::new())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_routed_by_what_they_touch() {
        let get = Method::GET;
        let post = Method::POST;
        let delete = Method::DELETE;
        for (m, path, expected) in [
            (&get, "/_ping", Route::Forward),
            (&get, "/containers/json", Route::Filter),
            (&post, "/containers/create", Route::LabelBody),
            (
                &post,
                "/containers/web/stop",
                Route::Owned(Kind::Container, "web".into()),
            ),
            (
                &delete,
                "/containers/abc123",
                Route::Owned(Kind::Container, "abc123".into()),
            ),
            (&post, "/containers/prune", Route::Filter),
            (&get, "/images/json", Route::Filter),
            (&get, "/images/debian:bookworm-slim/json", Route::Forward),
            (
                &get,
                "/images/registry.example/team/app:1/json",
                Route::Forward,
            ),
            (
                &delete,
                "/images/debian:bookworm-slim",
                Route::Owned(Kind::Image, "debian:bookworm-slim".into()),
            ),
            (
                &post,
                "/images/team/app/tag",
                Route::Owned(Kind::Image, "team/app".into()),
            ),
            (&post, "/build", Route::LabelQuery),
            (
                &post,
                "/build/prune",
                Route::Deny("the build cache is shared with everything else on the engine"),
            ),
            (&post, "/commit", Route::Commit),
            (&post, "/networks/create", Route::LabelBody),
            (&get, "/networks", Route::Filter),
            (
                &post,
                "/networks/n1/connect",
                Route::Owned(Kind::Network, "n1".into()),
            ),
            (&post, "/volumes/create", Route::LabelBody),
            (
                &delete,
                "/volumes/v%201",
                Route::Owned(Kind::Volume, "v 1".into()),
            ),
            (&get, "/events", Route::Filter),
        ] {
            assert_eq!(route(m, path), expected, "{m} {path}");
        }
        for path in [
            "/swarm/init",
            "/plugins",
            "/secrets/create",
            "/system/df",
            "/whatever",
        ] {
            assert!(matches!(route(&post, path), Route::Deny(_)), "{path}");
        }
    }

    #[test]
    fn the_api_version_prefix_is_removed() {
        assert_eq!(strip_version("/v1.41/containers/json"), "/containers/json");
        assert_eq!(strip_version("/_ping"), "/_ping");
        assert_eq!(strip_version("/volumes/v1"), "/volumes/v1");
    }

    #[test]
    fn lists_get_the_session_filter_in_either_filter_shape() {
        let q = add_label_filter(Some("all=1"), SESSION_LABEL, "s1");
        let filters: Json = serde_json::from_str(
            &form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "filters")
                .unwrap()
                .1,
        )
        .unwrap();
        assert_eq!(
            filters,
            serde_json::json!({"label": ["kb.docker-session=s1"]})
        );
        assert!(q.starts_with("all=1&"));
        let existing = form_urlencoded::Serializer::new(String::new())
            .append_pair(
                "filters",
                r#"{"label":{"app=web":true},"status":["running"]}"#,
            )
            .finish();
        let q = add_label_filter(Some(&existing), SESSION_LABEL, "s1");
        let filters: Json =
            serde_json::from_str(&form_urlencoded::parse(q.as_bytes()).next().unwrap().1).unwrap();
        assert_eq!(
            filters,
            serde_json::json!({"label": {"app=web": true, "kb.docker-session=s1": true}, "status": ["running"]})
        );
    }

    #[test]
    fn a_label_filter_takes_the_shape_of_the_other_filters() {
        let existing = form_urlencoded::Serializer::new(String::new())
            .append_pair("filters", r#"{"reference":{"app":true}}"#)
            .finish();
        let q = add_label_filter(Some(&existing), SESSION_LABEL, "s1");
        let filters: Json =
            serde_json::from_str(&form_urlencoded::parse(q.as_bytes()).next().unwrap().1).unwrap();
        assert_eq!(
            filters,
            serde_json::json!({"reference": {"app": true}, "label": {"kb.docker-session=s1": true}})
        );
    }

    #[test]
    fn creations_get_the_labels_whatever_the_body_had() {
        let labels = HashMap::from([(SESSION_LABEL.to_string(), "s1".to_string())]);
        for body in [
            &b"{\"Image\":\"x\"}"[..],
            b"{\"Labels\":null}",
            b"",
            b"{\"Labels\":{\"a\":\"b\"}}",
        ] {
            let out: Json =
                serde_json::from_slice(&add_body_labels(body, &labels).unwrap()).unwrap();
            assert_eq!(
                out["Labels"][SESSION_LABEL],
                "s1",
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let out: Json = serde_json::from_slice(
            &add_body_labels(b"{\"Labels\":{\"a\":\"b\"}}", &labels).unwrap(),
        )
        .unwrap();
        assert_eq!(out["Labels"]["a"], "b", "the body's own labels stay");
        assert!(add_body_labels(b"[1]", &labels).is_none());
        let q = add_query_labels(Some("t=app&labels=%7B%22x%22%3A%22y%22%7D"), &labels);
        let parsed: HashMap<String, String> =
            form_urlencoded::parse(q.as_bytes()).into_owned().collect();
        assert_eq!(parsed["t"], "app");
        let l: Json = serde_json::from_str(&parsed["labels"]).unwrap();
        assert_eq!(l, serde_json::json!({"x": "y", "kb.docker-session": "s1"}));
    }
}
