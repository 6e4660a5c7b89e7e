//! `kb serve` answers only its own address: a request for another `Host` (DNS rebinding: a
//! page on `evil.example` whose name now resolves to 127.0.0.1) gets 403 and none of the site,
//! a live-reload upgrade from another origin is refused, and a client that sends its headers
//! slowly is disconnected instead of holding a connection open.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tungstenite::client::IntoClientRequest;

use super::{kb, raw_request, Server};

fn get_with_host(srv: &Server, path: &str, host: &str) -> super::Resp {
    raw_request(
        &srv.addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
    )
}

#[test]
fn requests_for_another_host_get_403_and_none_of_the_site() {
    let fx = kb();
    let srv = Server::start(fx.root());
    let port = srv.addr.rsplit(':').next().unwrap().to_string();
    let other_port = if port == "1" { "2" } else { "1" };
    let search = "/_kb/search?q=%E4%B8%89%E8%89%B2";
    for host in [
        format!("evil.example:{port}"),
        "evil.example".to_string(),
        format!("127.0.0.1.nip.io:{port}"),
        format!("localhost:{other_port}"),
        String::new(),
    ] {
        for path in ["/", "/notes/gc/", "/atom.xml", search] {
            let r = get_with_host(&srv, path, &host);
            assert_eq!(r.status, 403, "Host `{host}` {path}: {}", r.body);
            assert!(
                !r.body.contains("ORIGINAL-GC-TEXT") && !r.body.contains("Go GC 笔记"),
                "Host `{host}` {path} leaked the site: {}",
                r.body
            );
        }
    }
    // What a browser sends for the URL kb prints, or for localhost, is answered.
    for host in [srv.addr.clone(), format!("localhost:{port}")] {
        let r = get_with_host(&srv, "/notes/gc/", &host);
        assert_eq!(r.status, 200, "Host `{host}`");
        assert!(r.body.contains("ORIGINAL-GC-TEXT"), "{}", r.body);
        // 503 while the search index is still being built: answered, not refused.
        let r = get_with_host(&srv, search, &host);
        assert!(
            r.status == 200 || r.status == 503,
            "Host `{host}` search: {} {}",
            r.status,
            r.body
        );
    }
}

/// Open the live-reload socket with these extra request headers; the handshake's HTTP status.
fn upgrade(srv: &Server, headers: &[(&str, &str)]) -> Result<(), u16> {
    let mut req = format!("ws://{}/_kb/livereload", srv.addr)
        .into_client_request()
        .unwrap();
    for (k, v) in headers {
        req.headers_mut().insert(
            tungstenite::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    let stream = TcpStream::connect(&srv.addr).expect("connect");
    stream.set_read_timeout(Some(super::WAIT)).unwrap();
    match tungstenite::client(req, stream) {
        Ok((mut ws, _)) => {
            let hello = ws.read().expect("hello");
            assert!(hello.to_text().unwrap().contains("\"hello\""), "{hello}");
            Ok(())
        }
        Err(tungstenite::handshake::HandshakeError::Failure(tungstenite::Error::Http(r))) => {
            Err(r.status().as_u16())
        }
        Err(e) => panic!("handshake: {e}"),
    }
}

#[test]
fn live_reload_upgrades_from_another_origin_are_refused() {
    let fx = kb();
    let srv = Server::start(fx.root());
    let port = srv.addr.rsplit(':').next().unwrap().to_string();
    for origin in [
        "http://evil.example".to_string(),
        format!("http://evil.example:{port}"),
        "null".to_string(),
        format!("https://{}", srv.addr),
        format!("http://localhost:{port}"),
    ] {
        assert_eq!(
            upgrade(&srv, &[("Origin", &origin)]),
            Err(403),
            "Origin {origin}"
        );
    }
    assert_eq!(
        upgrade(&srv, &[("Host", &format!("evil.example:{port}"))]),
        Err(403)
    );
    // The server's own pages, and clients that send no Origin (not a browser), connect.
    let own = format!("http://{}", srv.addr);
    assert_eq!(upgrade(&srv, &[("Origin", &own)]), Ok(()));
    assert_eq!(upgrade(&srv, &[]), Ok(()));
}

#[test]
fn a_client_sending_its_headers_slowly_is_disconnected() {
    let fx = kb();
    let srv = Server::start(fx.root());
    let mut stream = TcpStream::connect(&srv.addr).expect("connect");
    stream
        .write_all(format!("GET / HTTP/1.1\r\nHost: {}\r\n", srv.addr).as_bytes())
        .unwrap();
    // The server closing the connection ends this read (EOF, or a reset).
    let mut reader = stream.try_clone().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut got = Vec::new();
        let _ = reader.read_to_end(&mut got);
        let _ = tx.send(String::from_utf8_lossy(&got).into_owned());
    });
    // One header line every half second, never the blank line that ends the headers; far longer
    // than the server's limit.
    let bound = Duration::from_secs(60);
    let start = Instant::now();
    let answer = loop {
        if let Ok(answer) = rx.recv_timeout(Duration::from_millis(500)) {
            break answer;
        }
        assert!(
            start.elapsed() < bound,
            "the connection was still open after {bound:?} of slow headers"
        );
        if stream.write_all(b"X-Slow: 1\r\n").is_err() {
            break rx.recv_timeout(super::WAIT).unwrap_or_default();
        }
    };
    assert!(!answer.contains(" 200 "), "a page was served: {answer}");
    // The server still answers everyone else.
    assert_eq!(srv.get("/").status, 200);
}
