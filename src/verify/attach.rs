//! The output of an exec, read as the raw bytes the engine sends.
//!
//! An exec started with a TTY streams the terminal's bytes unframed over the hijacked HTTP
//! connection (`application/vnd.docker.raw-stream`). bollard reads every attach stream with a
//! decoder that guesses, per read, whether the bytes are a multiplexed frame: a read that starts
//! with byte 0, 1 or 2 is taken as an 8-byte frame header, so `printf '\001ABCDEFGHIJ'` arrived
//! as `HIJ`. The guess cannot be undone afterwards (the "header" bytes are gone), so kb starts
//! TTY execs itself: one `POST /exec/ID/start` with `Upgrade: tcp` on a connection of its own,
//! the response headers read and checked, then every byte after them is output, untouched.
//!
//! Only the transports kb's bollard build speaks are handled: a Unix socket (`unix://`, also
//! Podman's) and plain TCP (`tcp://`, `http://`).

use std::io;
use std::path::PathBuf;
use std::pin::Pin;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest response head (status line and headers) accepted before the raw stream.
const MAX_HEAD: usize = 64 * 1024;
/// Largest error body kept for the message.
const MAX_ERROR_BODY: usize = 4 * 1024;

/// Where the engine listens, for connections kb opens itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Unix(PathBuf),
    /// `host:port`.
    Tcp(String),
}

impl Endpoint {
    /// From a `DOCKER_HOST`-style address; `None` for schemes kb cannot attach over.
    pub(crate) fn parse(host: &str) -> Option<Endpoint> {
        if let Some(path) = host.strip_prefix("unix://") {
            return Some(Endpoint::Unix(PathBuf::from(path)));
        }
        let rest = host
            .strip_prefix("tcp://")
            .or_else(|| host.strip_prefix("http://"))?;
        let authority = rest.split('/').next().unwrap_or("");
        (!authority.is_empty()).then(|| Endpoint::Tcp(authority.to_string()))
    }
}

/// A bidirectional byte stream to the engine.
pub(crate) trait Conn: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Conn for T {}

/// An attached exec: bytes already read past the response head, then the connection.
pub(crate) struct RawStream {
    /// Output that arrived in the same reads as the response head.
    pub(crate) first: Vec<u8>,
    pub(crate) conn: Pin<Box<dyn Conn>>,
}

/// Start exec `exec_id` attached (it must have been created with `Tty: true`) and return its
/// raw output stream. `api_version` is the negotiated version (`1.41`).
pub(crate) async fn start_tty_exec(
    endpoint: &Endpoint,
    api_version: &str,
    exec_id: &str,
) -> io::Result<RawStream> {
    let (conn, host): (Pin<Box<dyn Conn>>, String) = match endpoint {
        Endpoint::Unix(path) => (
            Box::pin(tokio::net::UnixStream::connect(path).await?),
            "docker".to_string(),
        ),
        Endpoint::Tcp(addr) => (
            Box::pin(tokio::net::TcpStream::connect(addr.as_str()).await?),
            addr.clone(),
        ),
    };
    start_on(conn, &host, api_version, exec_id).await
}

/// The request and response on an open connection (separate for tests).
async fn start_on(
    mut conn: Pin<Box<dyn Conn>>,
    host: &str,
    api_version: &str,
    exec_id: &str,
) -> io::Result<RawStream> {
    let body = r#"{"Detach":false,"Tty":true}"#;
    let request = format!(
        "POST /v{api_version}/exec/{exec_id}/start HTTP/1.1\r\n\
         Host: {host}\r\n\
         User-Agent: kb\r\n\
         Content-Type: application/json\r\n\
         Connection: Upgrade\r\n\
         Upgrade: tcp\r\n\
         Content-Length: {}\r\n\
         \r\n\
         {body}",
        body.len()
    );
    conn.write_all(request.as_bytes()).await?;
    conn.flush().await?;

    let mut buf = Vec::with_capacity(4096);
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > MAX_HEAD {
            return Err(invalid("the engine's response head is too long"));
        }
        let mut chunk = [0u8; 4096];
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the engine closed the connection before answering",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid(&format!("not an HTTP response: {:?}", first_line(&head))))?;
    let mut rest = buf.split_off(head_end);
    match status {
        // 101 when the upgrade is honoured; engines that hijack without it answer 200. Either
        // way, what follows the head is the raw stream.
        101 | 200 => Ok(RawStream { first: rest, conn }),
        _ => {
            // An error: the body says why ({"message": "..."}).
            let length = header(&head, "content-length")
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(MAX_ERROR_BODY)
                .min(MAX_ERROR_BODY);
            while rest.len() < length {
                let mut chunk = [0u8; 1024];
                match conn.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => rest.extend_from_slice(&chunk[..n]),
                }
            }
            let text = String::from_utf8_lossy(&rest[..rest.len().min(length)]).into_owned();
            let message = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v.get("message")?.as_str().map(str::to_string))
                .unwrap_or(text);
            Err(io::Error::other(format!(
                "the engine answered {status} to starting the exec: {}",
                message.trim()
            )))
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// A header's value (case-insensitive name) from a response head.
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_from_docker_host() {
        assert_eq!(
            Endpoint::parse("unix:///var/run/docker.sock"),
            Some(Endpoint::Unix("/var/run/docker.sock".into()))
        );
        assert_eq!(
            Endpoint::parse("tcp://10.0.0.2:2375"),
            Some(Endpoint::Tcp("10.0.0.2:2375".into()))
        );
        assert_eq!(
            Endpoint::parse("http://localhost:2375/"),
            Some(Endpoint::Tcp("localhost:2375".into()))
        );
        assert_eq!(Endpoint::parse("ssh://host"), None);
    }

    /// Serve one canned response on an in-memory pipe and return what the client got.
    async fn exchange(response: &'static [u8]) -> (io::Result<RawStream>, String) {
        let (client, mut server) = tokio::io::duplex(1 << 16);
        let serve = async move {
            let mut req = Vec::new();
            let mut chunk = [0u8; 4096];
            while find(&req, b"{\"Detach\":false,\"Tty\":true}").is_none() {
                let n = server.read(&mut chunk).await.unwrap();
                req.extend_from_slice(&chunk[..n]);
            }
            server.write_all(response).await.unwrap();
            // Keep the server end open until the client is done with the head.
            (String::from_utf8(req).unwrap(), server)
        };
        let (res, (req, _server)) =
            tokio::join!(start_on(Box::pin(client), "docker", "1.41", "abc"), serve);
        (res, req)
    }

    #[tokio::test]
    async fn bytes_after_the_head_are_output_even_when_they_look_like_a_frame_header() {
        let (res, req) = exchange(
            b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n\x01\x00\x00\x00ABCDEFGHIJ",
        )
        .await;
        assert!(
            req.starts_with("POST /v1.41/exec/abc/start HTTP/1.1\r\n"),
            "{req}"
        );
        assert!(req.contains("\r\nUpgrade: tcp\r\n"), "{req}");
        let raw = res.unwrap();
        assert_eq!(raw.first, b"\x01\x00\x00\x00ABCDEFGHIJ");
    }

    #[tokio::test]
    async fn an_error_status_carries_the_engines_message() {
        let (res, _) = exchange(
            b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 32\r\n\r\n{\"message\":\"No such exec: abc\"}\n",
        )
        .await;
        let e = res.err().unwrap().to_string();
        assert!(e.contains("404") && e.contains("No such exec: abc"), "{e}");
    }
}
