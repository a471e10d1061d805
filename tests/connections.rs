//! The gate in front of the API, on real sockets: open connections are capped with the longest
//! idle closed first, a request head must arrive in time, a quiet answered connection is
//! closed, and heads hyper would refuse with an empty answer get the error JSON.

mod common;

use common::{params, TestNode};
use rocket::figment::value::Value;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn node_with(settings: Vec<(&'static str, Value)>) -> TestNode {
    let dir = tempfile::tempdir().unwrap();
    let config = common::test_config(dir.path(), params());
    TestNode::start_tuned(dir, config, 0, settings).await
}

/// Everything the node sends on `socket` until it closes it, within `limit`; `None` if the
/// connection is still open at the end.
async fn until_closed(socket: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut text = Vec::new();
    match tokio::time::timeout(limit, socket.read_to_end(&mut text)).await {
        Ok(_) => Some(String::from_utf8_lossy(&text).into_owned()),
        Err(_) => None,
    }
}

fn status_of(answer: &str) -> u16 {
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// The error code of an answer's JSON body.
fn error_of(answer: &str) -> String {
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    let v: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not the error JSON ({e}): {answer}"));
    v["error"].as_str().unwrap_or_default().to_owned()
}

async fn status_answers(addr: SocketAddr) -> bool {
    let client = common::http();
    let sent = client.get(format!("http://{addr}/status")).send();
    matches!(
        tokio::time::timeout(Duration::from_secs(5), sent).await,
        Ok(Ok(resp)) if resp.status() == 200
    )
}

/// Sends a whole `GET /status` on `socket` and reads its answer, leaving the connection open.
async fn get_status_on(socket: &mut TcpStream) -> String {
    socket
        .write_all(b"GET /status HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    // Read until the body announced by content-length is in.
    loop {
        let mut chunk = [0u8; 4096];
        let read = tokio::time::timeout_at(deadline.into(), socket.read(&mut chunk)).await;
        let n = read.expect("the answer in time").unwrap();
        assert!(n > 0, "closed before answering");
        answer.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&answer).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_owned)
                })
                .and_then(|l| l.trim().parse().ok())
                .expect("a content-length");
            if body.len() >= length {
                return text;
            }
        }
    }
}

/// At the cap, each new connection closes the one idle the longest; the newest stay open and
/// the node keeps answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_cap_the_longest_idle_connections_are_closed_first() {
    let node = node_with(vec![("max_connections", 20.into())]).await;
    let mut idle = Vec::new();
    for _ in 0..60 {
        idle.push(TcpStream::connect(node.addr).await.unwrap());
        // Apart in time, so "the longest idle" is the order they were opened in.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        status_answers(node.addr).await,
        "the node answers past the cap"
    );
    // The first ones made room for the later ones: closed without a word.
    for socket in idle.iter_mut().take(30) {
        let said = until_closed(socket, Duration::from_secs(3)).await;
        assert_eq!(
            said.as_deref(),
            Some(""),
            "an early idle connection is closed"
        );
    }
    // The most recent ones are still open.
    for socket in idle.iter_mut().rev().take(5) {
        let said = until_closed(socket, Duration::from_millis(200)).await;
        assert_eq!(said, None, "a recent connection stays open");
    }
}

/// When every connection is in the middle of a request, a newcomer is refused with 503 `busy`
/// and `Retry-After` rather than any request being cut.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_every_connection_is_busy_a_newcomer_gets_busy() {
    let node = node_with(vec![
        ("max_connections", 3.into()),
        ("body_timeout", 30.into()),
    ])
    .await;
    let mut busy = Vec::new();
    for _ in 0..3 {
        let mut socket = TcpStream::connect(node.addr).await.unwrap();
        // A body that is still arriving: the request is under way.
        socket
            .write_all(
                b"POST /add_block HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n\
                  content-length: 100\r\n\r\n{",
            )
            .await
            .unwrap();
        busy.push(socket);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut newcomer = TcpStream::connect(node.addr).await.unwrap();
    let answer = until_closed(&mut newcomer, Duration::from_secs(3))
        .await
        .expect("the newcomer is answered and closed");
    assert_eq!(status_of(&answer), 503, "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{answer}"
    );
    assert_eq!(error_of(&answer), "busy");
    for socket in busy.iter_mut() {
        assert_eq!(
            until_closed(socket, Duration::from_millis(200)).await,
            None,
            "requests under way are not cut"
        );
    }
}

/// A client that connects and sends nothing, or sends its head a byte at a time, gets 408
/// `request_timeout` once the head deadline (1 s here) passes, and is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_that_does_not_arrive_in_time_is_refused() {
    let node = node_with(vec![("head_timeout", 1.into())]).await;
    let started = Instant::now();
    let mut silent = TcpStream::connect(node.addr).await.unwrap();
    let answer = until_closed(&mut silent, Duration::from_secs(5))
        .await
        .expect("a silent connection is closed");
    assert_eq!(status_of(&answer), 408, "{answer}");
    assert_eq!(error_of(&answer), "request_timeout");
    assert!(started.elapsed() < Duration::from_secs(4));

    let mut trickle = TcpStream::connect(node.addr).await.unwrap();
    trickle
        .write_all(b"GET /status HTTP/1.1\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut answer = None;
    // A header byte every 100 ms never completes the head; each byte does not buy more time.
    while started.elapsed() < Duration::from_secs(5) {
        if trickle.write_all(b"x").await.is_err() {
            break;
        }
        if let Some(said) = until_closed(&mut trickle, Duration::from_millis(100)).await {
            answer = Some(said);
            break;
        }
    }
    let answer = answer.expect("a trickled head is refused");
    assert_eq!(status_of(&answer), 408, "{answer}");
    assert!(started.elapsed() < Duration::from_secs(4));
    assert!(status_answers(node.addr).await);
}

/// A keep-alive connection serves request after request, and is closed once it has been quiet
/// for the idle timeout (1 s here) after an answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answered_connection_quiet_too_long_is_closed() {
    let node = node_with(vec![("idle_timeout", 1.into())]).await;
    let mut socket = TcpStream::connect(node.addr).await.unwrap();
    for _ in 0..3 {
        let answer = get_status_on(&mut socket).await;
        assert_eq!(status_of(&answer), 200, "{answer}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let started = Instant::now();
    let said = until_closed(&mut socket, Duration::from_secs(5)).await;
    assert_eq!(said.as_deref(), Some(""), "closed without a word");
    assert!(started.elapsed() < Duration::from_secs(4));
}

/// A body sent slowly but within the body deadline is the request under way, not an idle
/// connection: it is taken, whatever the idle timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_body_within_its_deadline_is_not_idle() {
    let node = node_with(vec![("idle_timeout", 1.into()), ("head_timeout", 1.into())]).await;
    let body = br#"{"nodes": ["http://127.0.0.9:1"]}"#;
    let mut socket = TcpStream::connect(node.addr).await.unwrap();
    let head = format!(
        "POST /nodes/register HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    for piece in body.chunks(body.len() / 3 + 1) {
        tokio::time::sleep(Duration::from_millis(700)).await;
        socket.write_all(piece).await.unwrap();
    }
    let answer = until_closed(&mut socket, Duration::from_secs(5))
        .await
        .expect("answered");
    assert!((200..300).contains(&status_of(&answer)), "{answer}");
}

/// What hyper answers with an empty body (a malformed head, a request line or headers too
/// long) is answered with the error JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heads_the_http_layer_refuses_get_the_error_json() {
    let node = node_with(Vec::new()).await;
    let long_path = "a".repeat(20 * 1024);
    let long_header = "b".repeat(20 * 1024);
    let many: String = (0..80).map(|i| format!("x-{i}: y\r\n")).collect();
    let cases = [
        ("NOT HTTP AT ALL\r\n\r\n".to_owned(), 400, "bad_request"),
        (
            "GET /status HTTP/1.1\r\nbad header\r\n\r\n".to_owned(),
            400,
            "bad_request",
        ),
        (
            "GET /status HTTP/1.1\r\ncontent-length: nine\r\n\r\n".to_owned(),
            400,
            "bad_request",
        ),
        // A target httparse takes and hyper's URI parser does not.
        ("GET /a`b HTTP/1.1\r\n\r\n".to_owned(), 400, "bad_request"),
        (
            format!("GET /{long_path} HTTP/1.1\r\n\r\n"),
            414,
            "uri_too_long",
        ),
        (
            format!("GET /status HTTP/1.1\r\nx-long: {long_header}\r\n\r\n"),
            431,
            "headers_too_large",
        ),
        (
            format!("GET /status HTTP/1.1\r\n{many}\r\n"),
            431,
            "headers_too_large",
        ),
    ];
    for (request, status, code) in cases {
        let mut socket = TcpStream::connect(node.addr).await.unwrap();
        // The node may answer and close before taking all of an overlong head.
        let _ = socket.write_all(request.as_bytes()).await;
        let answer = until_closed(&mut socket, Duration::from_secs(5))
            .await
            .expect("answered and closed");
        assert_eq!(status_of(&answer), status, "{answer}");
        assert_eq!(error_of(&answer), code, "{answer}");
    }
    assert!(status_answers(node.addr).await);
}
