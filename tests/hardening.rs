//! The hardened surface: the operator's routes ask for the API token beyond loopback (or when
//! told to), the CLI finds or takes it, a rotation applies at once, and the node's files are
//! private whatever the umask.

mod common;

use common::{params, spawn_listening, TEST_BITS};
use ferrochain::token::{ApiToken, TOKEN_FILE};
use rocket::http::{Header, Status};
use rocket::local::blocking::Client;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_ferrochain");

/// The API through Rocket's local client (nothing listens), configured by `settings`.
fn client_with(settings: &[(&str, Value)]) -> (Client, tempfile::TempDir) {
    common::local_client(settings)
}

fn token_of(dir: &Path) -> String {
    let token = ApiToken::read(&dir.join(TOKEN_FILE)).unwrap();
    token.as_str().to_owned()
}

fn bearer(token: &str) -> Header<'static> {
    Header::new("Authorization", format!("Bearer {token}"))
}

fn height(client: &Client) -> u64 {
    let v: Value = client.get("/status").dispatch().into_json().unwrap();
    v["height"].as_u64().unwrap()
}

#[test]
fn beyond_loopback_the_operators_routes_need_the_token_and_peer_routes_stay_open() {
    // Listening on every address (nothing listens here: the local client binds no port).
    let (client, dir) = client_with(&[("address", "0.0.0.0".into())]);
    let operator = [
        client.post("/mine"),
        client.get("/nodes/resolve"),
        client
            .post("/nodes/ban")
            .json(&serde_json::json!({"node": "http://127.0.0.1:1", "seconds": 60})),
        client
            .delete("/nodes/ban")
            .json(&serde_json::json!({"node": "http://127.0.0.1:1"})),
    ];
    for request in operator {
        let resp = request.dispatch();
        assert_eq!(resp.status(), Status::Unauthorized);
        let v: Value = resp.into_json().unwrap();
        assert_eq!(v["error"], "unauthorized", "{v}");
        assert!(v["message"].as_str().unwrap().contains(TOKEN_FILE), "{v}");
    }
    let wrong = client
        .post("/mine")
        .header(bearer(&"0".repeat(64)))
        .dispatch();
    assert_eq!(wrong.status(), Status::Unauthorized);
    assert_eq!(height(&client), 0, "refused requests changed nothing");
    let nodes: Value = client.get("/nodes").dispatch().into_json().unwrap();
    assert_eq!(nodes["peers"], serde_json::json!([]), "no ban was set");

    let token = token_of(dir.path());
    let mined = client.post("/mine").header(bearer(&token)).dispatch();
    assert_eq!(mined.status(), Status::Created);
    assert_eq!(height(&client), 1);
    // The routes peers use need no token.
    for path in ["/status", "/chain", "/nodes"] {
        assert_eq!(client.get(path).dispatch().status(), Status::Ok, "{path}");
    }

    // A rotation applies at once: the old token is refused, the new one taken.
    ApiToken::rotate(dir.path()).unwrap();
    let old = client.post("/mine").header(bearer(&token)).dispatch();
    assert_eq!(old.status(), Status::Unauthorized);
    let new = client
        .post("/mine")
        .header(bearer(&token_of(dir.path())))
        .dispatch();
    assert_eq!(new.status(), Status::Created);
}

#[test]
fn on_loopback_no_token_is_asked_unless_required() {
    let (open, _dir) = client_with(&[("address", "127.0.0.1".into())]);
    assert_eq!(open.post("/mine").dispatch().status(), Status::Created);
    let (guarded, _dir) = client_with(&[
        ("address", "127.0.0.1".into()),
        ("require_token", true.into()),
    ]);
    assert_eq!(
        guarded.post("/mine").dispatch().status(),
        Status::Unauthorized
    );
}

/// `ferrochain` run in `cwd` with `args` and `env`; its exit code and stdout.
fn run_in(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let out = Command::new(BIN)
        .current_dir(cwd)
        .args(args)
        .env_remove("FERROCHAIN_TOKEN")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
    (out.status.code(), text(out.stdout), text(out.stderr))
}

#[test]
fn the_cli_finds_the_token_of_a_local_node_or_takes_it_and_rotates_it() {
    let dir = tempfile::tempdir().unwrap();
    let (port, _) = common::free_port();
    let port = port.to_string();
    // Started as the README does, from a working directory, with the default data directory.
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir.path())
        .args([
            "node",
            &port,
            "--difficulty",
            &TEST_BITS.to_string(),
            "--require-token",
        ])
        .env("RUST_LOG", "warn");
    let (mut node, url) = spawn_listening(cmd);
    let data = dir.path().join("data").join(&port);

    // Found in data/<PORT>/api.token.
    let (code, stdout, stderr) = run_in(dir.path(), &["mine", "--json", "--node", &url], &[]);
    assert_eq!(code, Some(0), "{stdout} {stderr}");
    // Elsewhere, the token must be given.
    let elsewhere = tempfile::tempdir().unwrap();
    let (code, stdout, _) = run_in(elsewhere.path(), &["mine", "--json", "--node", &url], &[]);
    assert_eq!(code, Some(1));
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["error"], "unauthorized", "{v}");
    let token = token_of(&data);
    let given = ["mine", "--json", "--node", &url, "--token", &token];
    assert_eq!(run_in(elsewhere.path(), &given, &[]).0, Some(0));
    let from_env = [("FERROCHAIN_TOKEN", token.as_str())];
    let args = ["mine", "--json", "--node", &url];
    assert_eq!(run_in(elsewhere.path(), &args, &from_env).0, Some(0));

    // A rotation: the old token stops working on the running node.
    let rotate = ["token", "rotate", "--data-dir", data.to_str().unwrap()];
    let (code, stdout, stderr) = run_in(dir.path(), &rotate, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains(TOKEN_FILE), "{stdout}");
    assert_eq!(run_in(elsewhere.path(), &args, &from_env).0, Some(1));
    assert_eq!(
        run_in(dir.path(), &args, &[]).0,
        Some(0),
        "the new one is found"
    );
    node.kill().unwrap();
    node.wait().unwrap();
}

#[cfg(unix)]
#[test]
fn under_umask_000_the_data_directory_and_everything_in_it_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("chain");
    let script = format!(
        "umask 000; exec {BIN} node 0 --difficulty {TEST_BITS} --data-dir {} --peers {}",
        data.display(),
        dir.path().join("none.json").display()
    );
    let mut cmd = Command::new("sh");
    cmd.args(["-c", &script]).env("RUST_LOG", "warn");
    let (mut node, url) = spawn_listening(cmd);
    let mined = reqwest::blocking::Client::new()
        .post(format!("{url}/mine"))
        .send()
        .unwrap();
    assert_eq!(mined.status(), 201);
    let mut open = Vec::new();
    let mut stack = vec![data.clone()];
    while let Some(path) = stack.pop() {
        let meta = std::fs::metadata(&path).unwrap();
        if meta.permissions().mode() & 0o077 != 0 {
            open.push(format!(
                "{} {:o}",
                path.display(),
                meta.permissions().mode()
            ));
        }
        if meta.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        }
    }
    node.kill().unwrap();
    node.wait().unwrap();
    assert!(open.is_empty(), "readable by others: {open:?}");
}

/// Peer requests go straight to peers whatever proxy the environment names, and through the
/// proxy `--proxy` names when one is given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_requests_ignore_proxy_variables_and_take_the_proxy_given() {
    let peer = common::TestNode::start(params()).await;
    let (proxy, through) = common::scripted_peer(|_, _, _| (502, "{}".to_owned())).await;
    let node = |extra: &[&str]| {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(BIN);
        cmd.args(["node", "0", "--difficulty", &TEST_BITS.to_string()])
            .args(["--retarget-interval", "0"])
            .arg("--data-dir")
            .arg(dir.path().join("chain"))
            .args(["--peer", &peer.peer_url().to_string()])
            .args(extra)
            .env("RUST_LOG", "warn");
        for var in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"] {
            cmd.env(var, proxy.to_string());
        }
        let (child, url) = spawn_listening(cmd);
        (child, url, dir)
    };
    let (mut direct, url, _dir) = node(&[]);
    let me = ferrochain::network::PeerUrl::parse(&url).unwrap();
    common::wait_for("the node to register with its peer directly", || async {
        peer.node.peers().list().contains(&me).then_some(())
    })
    .await;
    assert_eq!(through.count(), 0, "{:?}", through.log());
    direct.kill().unwrap();
    direct.wait().unwrap();

    let (mut proxied, _, _dir) = node(&["--proxy", &proxy.to_string()]);
    common::wait_for("the node's peer requests to reach the proxy", || {
        let seen = through.count() > 0;
        async move { seen.then_some(()) }
    })
    .await;
    proxied.kill().unwrap();
    proxied.wait().unwrap();
}

/// A page on another site cannot drive the node: a foreign `Origin`, a `Host` that does not
/// name the node (DNS rebinding) and a body not declared JSON are refused before any handler
/// runs, each with the error JSON.
#[test]
fn browsers_on_other_sites_cannot_drive_the_node() {
    let (client, _dir) = client_with(&[("allowed_hosts", vec!["node.example"].into())]);
    let refused = |resp, status, code| drop(common::assert_error(resp, status, code));
    let text = rocket::http::ContentType::Plain;
    let host = |h: &str| Header::new("Host", h.to_owned());
    let origin = |o: &str| Header::new("Origin", o.to_owned());

    // The cross-site form post that once mined a block and set a ban.
    let mine = client
        .post("/mine")
        .header(text.clone())
        .header(origin("http://evil.example"))
        .body(r#"{"transactions": ["x"]}"#)
        .dispatch();
    refused(mine, Status::Forbidden, "cross_origin");
    let ban = client
        .post("/nodes/ban")
        .header(text.clone())
        .body(r#"{"node": "http://127.0.0.1:1", "seconds": 60}"#)
        .dispatch();
    refused(ban, Status::UnsupportedMediaType, "not_json");
    let mine = client.post("/mine").header(text).body("{}").dispatch();
    refused(mine, Status::UnsupportedMediaType, "not_json");
    // DNS rebinding: a name the node does not answer to.
    let status = client
        .get("/status")
        .header(host("evil.example:5000"))
        .dispatch();
    refused(status, Status::Forbidden, "bad_host");
    assert_eq!(height(&client), 0, "nothing was mined");
    let nodes: Value = client.get("/nodes").dispatch().into_json().unwrap();
    assert_eq!(nodes["peers"], serde_json::json!([]), "no ban was set");

    // What the node is: IP addresses, localhost, allowed hosts, its own pages, bodyless posts.
    for name in [
        "127.0.0.1:5000",
        "localhost:5000",
        "[::1]:5000",
        "node.example:5000",
    ] {
        let resp = client.get("/status").header(host(name)).dispatch();
        assert_eq!(resp.status(), Status::Ok, "{name}");
    }
    let own = client
        .post("/mine")
        .header(host("localhost:5000"))
        .header(origin("http://localhost:5000"))
        .header(rocket::http::ContentType::JSON)
        .body(r#"{"transactions": ["from the node's own page"]}"#)
        .dispatch();
    assert_eq!(own.status(), Status::Created);
    assert_eq!(client.post("/mine").dispatch().status(), Status::Created);
    assert_eq!(height(&client), 2);
}

/// Every answer to a malformed request is the error JSON: a wrong method is 405 (not 404),
/// arrays are not read as objects, and queries say exactly one thing.
#[test]
fn malformed_requests_get_exact_errors_and_change_nothing() {
    let (client, _dir) = client_with(&[]);
    let check = |resp, status, code| drop(common::assert_error(resp, status, code));
    let json = rocket::http::ContentType::JSON;
    check(
        client.delete("/status").dispatch(),
        Status::MethodNotAllowed,
        "method_not_allowed",
    );
    check(
        client.put("/blocks/1").dispatch(),
        Status::MethodNotAllowed,
        "method_not_allowed",
    );
    check(
        client.get("/no/such/thing").dispatch(),
        Status::NotFound,
        "not_found",
    );
    // `[[]]` once mined a block: serde reads a struct from an array of its fields.
    for path in ["/mine", "/add_block", "/chain/locate", "/transactions"] {
        let resp = client
            .post(path)
            .header(json.clone())
            .body("[[]]")
            .dispatch();
        assert!(
            resp.status().code >= 400 && resp.status().code < 500,
            "{path}"
        );
        let v: Value = resp.into_json().unwrap();
        assert!(v["error"].is_string(), "{path}: {v}");
    }
    assert_eq!(height(&client), 0);
    for bad in [
        "/chain?from=1&from=2",
        "/chain?limit=5&limit=6",
        "/chain?from=+1",
        "/chain?limit=-1",
    ] {
        check(client.get(bad).dispatch(), Status::BadRequest, "bad_query");
    }
    check(
        client.get("/blocks/+1").dispatch(),
        Status::BadRequest,
        "bad_block_id",
    );
    assert_eq!(client.get("/blocks/0").dispatch().status(), Status::Ok);
}

/// Sends the head of a `POST /add_block` declaring `length` bytes, then `sent` of them, and
/// keeps the connection open without sending more.
async fn stalled_post(
    addr: std::net::SocketAddr,
    length: usize,
    sent: usize,
) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /add_block HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\ncontent-type: application/json\r\n\
         content-length: {length}\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&vec![b' '; sent]).await.unwrap();
    socket
}

/// What the node answered on `socket`: the status code and the headers and body as text.
async fn answer_on(mut socket: tokio::net::TcpStream) -> (u16, String) {
    use tokio::io::AsyncReadExt;
    let mut text = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        socket.read_to_end(&mut text),
    );
    let _ = read.await;
    let text = String::from_utf8_lossy(&text).into_owned();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, text)
}

/// No client can make the node hold many large bodies at once, or hold a connection by sending
/// its body slowly: past eight large bodies being read, one more is 503 with `Retry-After`, a
/// body that stops arriving is 408 after the deadline (1 s here), and one declared larger than
/// any route takes is 413 unread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_and_slow_bodies_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::test_config(dir.path(), params());
    let node =
        common::TestNode::start_tuned(dir, config, 0, vec![("body_timeout", 1.into())]).await;
    let large = 2 * 1024 * 1024;
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(stalled_post(node.addr, 4 * large, large).await);
    }
    // Give the node time to read what was sent (each is now a large body being read).
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let one_more = stalled_post(node.addr, 4 * large, large).await;
    let (code, text) = answer_on(one_more).await;
    assert_eq!(code, 503, "{text}");
    assert!(
        text.to_ascii_lowercase().contains("retry-after: 1"),
        "{text}"
    );
    assert!(text.contains(r#""error":"busy""#), "{text}");
    for socket in held {
        let (code, text) = answer_on(socket).await;
        assert_eq!(code, 408, "{text}");
        assert!(text.contains(r#""error":"body_timeout""#), "{text}");
    }
    // Once they are gone, a large body is read again (and refused for what it is).
    let (code, text) = answer_on(stalled_post(node.addr, large + 10, large + 10).await).await;
    assert_eq!(code, 400, "{text}");
    // A body declared past every limit is refused unread: 413 at once, not 408 at the deadline.
    let (code, text) = answer_on(stalled_post(node.addr, 64 * large, 0).await).await;
    assert_eq!(code, 413, "{text}");
    assert!(text.contains(r#""error":"too_large""#), "{text}");
    assert_eq!(node.node.tip().height.get(), 0);
}

/// One registration full of addresses that never answer adds a few candidates, which say
/// nothing about what answered at those addresses, and a real peer still finds room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_registrations_cannot_fill_the_peer_table_or_map_services() {
    let node = common::TestNode::start(params()).await;
    // Sixty-four ports on loopback, all but a few closed; one answers 404 like a web server.
    let (web, _) = common::scripted_peer(|_, _, _| (404, "not found".to_owned())).await;
    let mut junk: Vec<String> = (0..63).map(|_| common::free_port().1.to_string()).collect();
    junk.push(web.to_string());
    let resp = common::http()
        .post(node.url("/nodes/register"))
        .json(&serde_json::json!({ "nodes": junk }))
        .send()
        .await
        .unwrap();
    let v: Value = resp.json().await.unwrap();
    let added = v["added"].as_array().unwrap().len();
    assert!(added <= ferrochain::network::CANDIDATES_PER_SOURCE, "{v}");
    for peer in v["peers"].as_array().unwrap() {
        let reason = peer["last_error"].as_str().unwrap_or_default();
        assert!(
            reason.is_empty() || reason == ferrochain::network::CANDIDATE_FAILED,
            "{peer}"
        );
    }
    let real = common::TestNode::start(params()).await;
    let resp = common::http()
        .post(node.url("/nodes/register"))
        .json(&serde_json::json!({ "nodes": [real.peer_url()] }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert!(node.node.peers().usable().contains(&real.peer_url()));
}

/// A ban holds for the peer however its URL is spelled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ban_cannot_be_evaded_by_spelling_the_url_another_way() {
    let node = common::TestNode::start(params()).await;
    let port = common::free_port().0;
    let resp = common::http()
        .post(node.url("/nodes/ban"))
        .json(&serde_json::json!({"node": format!("http://127.0.0.1:{port}"), "seconds": 600}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    for alias in [
        format!("http://localhost:{port}"),
        format!("http://[::1]:{port}"),
    ] {
        let resp = common::http()
            .post(node.url("/transactions"))
            .header(ferrochain::network::PEER_HEADER, alias.as_str())
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403, "{alias}");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"], "banned", "{alias}: {v}");
    }
}

/// A node reachable beyond loopback does not take this machine's own addresses from others.
#[test]
fn beyond_loopback_registrations_cannot_name_the_nodes_own_host() {
    let (client, _dir) = client_with(&[("address", "0.0.0.0".into())]);
    for local in [
        "http://127.0.0.1:22",
        "http://localhost:6379",
        "http://169.254.169.254:80",
    ] {
        let resp = client
            .post("/nodes/register")
            .json(&serde_json::json!({ "nodes": [local] }))
            .dispatch();
        assert_eq!(resp.status(), Status::UnprocessableEntity, "{local}");
        let v: Value = resp.into_json().unwrap();
        assert_eq!(v["error"], "local_peer_url", "{v}");
    }
    let nodes: Value = client.get("/nodes").dispatch().into_json().unwrap();
    assert_eq!(nodes["peers"], serde_json::json!([]));
}

/// An address that keeps sending what must be refused is refused for a while, unread (429 with
/// `Retry-After`), while other addresses are served. The limit is 5 here (100 by default).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_that_keeps_misbehaving_is_refused_for_a_while() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::test_config(dir.path(), params());
    let settings = vec![("misbehaviour_limit", 5.into())];
    let node = common::TestNode::start_tuned(dir, config, 0, settings).await;
    let from = |ip: [u8; 4]| {
        reqwest::Client::builder()
            .local_address(std::net::IpAddr::from(ip))
            .build()
            .unwrap()
    };
    let (bad, good) = (from([127, 0, 0, 1]), from([127, 0, 0, 2]));
    for _ in 0..5 {
        let resp = bad
            .post(node.url("/transactions"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400);
    }
    let resp = bad.get(node.url("/status")).send().await.unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"], "misbehaving", "{v}");
    let resp = good.get(node.url("/status")).send().await.unwrap();
    assert_eq!(resp.status(), 200, "another address is served");
}

/// The node raises its limit on open files to the system's most, so a thousand idle connections
/// cannot use up the 1,024 a shell often allows.
#[cfg(target_os = "linux")]
#[test]
fn the_node_raises_its_open_file_limit() {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "ulimit -Sn 256; exec {BIN} node 0 --difficulty {TEST_BITS} --data-dir {} --peers {}",
        dir.path().join("chain").display(),
        dir.path().join("none.json").display()
    );
    let mut cmd = Command::new("sh");
    cmd.args(["-c", &script]).env("RUST_LOG", "warn");
    let (mut node, _) = spawn_listening(cmd);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", node.id())).unwrap();
    node.kill().unwrap();
    node.wait().unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let numbers: Vec<&str> = line.split_whitespace().skip(3).take(2).collect();
    assert_eq!(
        numbers[0], numbers[1],
        "soft limit raised to the hard one: {line}"
    );
    assert_ne!(numbers[0], "256", "{line}");
}
