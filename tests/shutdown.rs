//! The node process from start to stop, as an operator or a container runtime sees it: a start
//! that fails leaves nothing on disk, SIGTERM and SIGINT stop a running search and end the
//! process cleanly at once, and the log says what the node is and why a peer failed, in text or
//! JSON lines.

mod common;

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ferrochain");

/// The binary with no `FERROCHAIN_*` variable of the test runner's environment.
fn ferrochain() -> Command {
    let mut cmd = Command::new(BIN);
    for (name, _) in std::env::vars() {
        if name.starts_with("FERROCHAIN_") {
            cmd.env_remove(name);
        }
    }
    cmd.stdin(Stdio::null());
    cmd
}

/// A node with its chain in `dir/new/chain` (so that `dir/new` is what a start creates).
fn node(dir: &Path, port: &str) -> Command {
    let mut cmd = ferrochain();
    cmd.args(["node", port, "--threads", "1"])
        .arg("--data-dir")
        .arg(dir.join("new").join("chain"))
        .arg("--peers")
        .arg(dir.join("none.json"))
        .arg("--wallet-dir")
        .arg(dir.join("wallets"));
    cmd
}

/// A running node process with its stderr read line by line.
struct Running {
    child: Child,
    url: String,
    log: mpsc::Receiver<String>,
}

impl Running {
    fn start(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (urls, url) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.split_whitespace().find(|w| w.starts_with("http://")) {
                    let _ = urls.send(url.to_owned());
                }
            }
        });
        let (lines, log) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let url = url
            .recv_timeout(Duration::from_secs(30))
            .expect("the node prints its address once it listens");
        Running { child, url, log }
    }

    /// Log lines until one satisfies `found` (within `limit`); all of them, that one last.
    fn log_until(&self, limit: Duration, found: impl Fn(&str) -> bool) -> Vec<String> {
        let deadline = Instant::now() + limit;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) => {
                    let done = found(&line);
                    seen.push(line);
                    if done {
                        return seen;
                    }
                }
                Err(_) => panic!(
                    "no such log line within {limit:?}; got:\n{}",
                    seen.join("\n")
                ),
            }
        }
    }

    fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on the pid of our own child, which has not been reaped yet.
        assert_eq!(unsafe { libc::kill(self.child.id() as i32, signal) }, 0);
    }

    /// Waits up to `limit` for the process to end; its exit code.
    fn exit_within(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(Instant::now() < deadline, "still running after {limit:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(mut cmd: Command) -> (Option<i32>, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_start_that_fails_leaves_nothing_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    // The port is taken by someone else.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let (code, stderr) = run(node(dir.path(), &port));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
    assert!(
        !dir.path().join("new").exists(),
        "a port in use created files"
    );

    // A miner that names no wallet.
    let mut cmd = node(dir.path(), "0");
    cmd.args(["--miner", "nobody"]);
    let (code, stderr) = run(cmd);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("nobody"), "{stderr}");
    assert!(
        !dir.path().join("new").exists(),
        "an unknown miner created files"
    );
    assert!(!dir.path().join("wallets").exists());
}

/// SIGTERM (or SIGINT) while `POST /mine` waits on a search that cannot end on its own.
fn stop_a_search_with(signal: i32) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = node(dir.path(), "0");
    // 60 leading zero bits: a search that would run for centuries.
    cmd.args(["--difficulty", "60", "--log-format", "json"])
        .env("RUST_LOG", "info");
    let mut node = Running::start(cmd);
    let mine_url = format!("{}/mine", node.url);
    let mining = std::thread::spawn(move || {
        let answer = reqwest::blocking::Client::new()
            .post(mine_url)
            .timeout(Duration::from_secs(30))
            .send()
            .unwrap();
        (answer.status().as_u16(), answer.json::<Value>().unwrap())
    });
    let status_url = format!("{}/status", node.url);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status: Value = reqwest::blocking::get(&status_url).unwrap().json().unwrap();
        if status["mining"]["active"] == true {
            break;
        }
        assert!(Instant::now() < deadline, "the search never started");
        std::thread::sleep(Duration::from_millis(20));
    }

    let stopping = Instant::now();
    node.signal(signal);
    let code = node.exit_within(Duration::from_secs(2));
    assert_eq!(code, Some(0), "after {:?}", stopping.elapsed());
    let (status, body) = mining.join().unwrap();
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "shutting_down", "{body}");
    let log = node.log_until(Duration::from_secs(1), |l| l.contains("node stopped"));
    let stopped: Value = serde_json::from_str(log.last().unwrap()).unwrap();
    assert_eq!(stopped["level"], "INFO", "{stopped}");
    assert_eq!(stopped["height"], 0, "{stopped}");
}

#[test]
fn sigterm_stops_a_long_search_answers_503_and_exits_0_at_once() {
    stop_a_search_with(libc::SIGTERM);
}

#[test]
fn sigint_stops_a_long_search_answers_503_and_exits_0_at_once() {
    stop_a_search_with(libc::SIGINT);
}

#[test]
fn json_logs_carry_the_start_summary_and_a_404_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (down, dead) = common::free_port();
    let mut cmd = node(dir.path(), "0");
    cmd.args(["--difficulty", "8", "--log-format", "json"])
        .args(["--peer", &dead.to_string()])
        .env("RUST_LOG", "info");
    let mut node = Running::start(cmd);
    let log = node.log_until(Duration::from_secs(10), |l| l.contains("node started"));
    for line in &log {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(v["level"].is_string() && v["timestamp"].is_string(), "{v}");
    }
    let started: Value = serde_json::from_str(log.last().unwrap()).unwrap();
    let data_dir = started["data_dir"].as_str().unwrap();
    assert!(Path::new(data_dir).is_absolute(), "{started}");
    assert!(data_dir.ends_with("chain"), "{started}");
    assert!(
        started["rules"].as_str().unwrap().contains('8'),
        "{started}"
    );
    assert!(
        started["miner"].as_str().unwrap().starts_with("fc1"),
        "{started}"
    );
    assert_eq!(started["listen"], node.url.as_str(), "{started}");
    assert_eq!(started["public_url"], node.url.as_str(), "{started}");
    assert_eq!(started["peers"], dead.to_string(), "{started}");

    // The peer is down: the log says why, not only that a request failed.
    let failed = node.log_until(Duration::from_secs(10), |l| {
        l.contains(&format!("127.0.0.1:{down}")) && l.contains("connection refused")
    });
    let answer = reqwest::blocking::get(format!("{}/no/such/thing", node.url)).unwrap();
    assert_eq!(answer.status(), 404);
    node.signal(libc::SIGTERM);
    let rest = node.log_until(Duration::from_secs(5), |l| l.contains("node stopped"));
    for line in log.iter().chain(&failed).chain(&rest) {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_ne!(v["level"], "ERROR", "{line}");
    }
    assert_eq!(node.exit_within(Duration::from_secs(2)), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_errors_name_their_cause() {
    let client = ferrochain::network::PeerClient::new(common::test_timeouts(), None);
    let (_, down) = common::free_port();
    let refused = client.status(&down).await.unwrap_err().to_string();
    assert_eq!(
        refused,
        format!("{down}: request failed: connection refused")
    );
    let silent = common::hostile_peer(common::Hostile::Silent).await;
    let timed_out = client.status(&silent).await.unwrap_err().to_string();
    assert_eq!(
        timed_out,
        format!("{silent}: request failed: timed out after 2 s")
    );
}
