//! The real binary: blocks a node acknowledged survive `kill -9`, and start-up mistakes are
//! one-line errors with a non-zero exit.

mod common;

use common::{fetch_chain, http, mine_on, note, spawn_listening};

use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_ferrochain");

fn node_command(dir: &Path, difficulty: u32) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("node")
        .arg("0")
        .arg("--data-dir")
        .arg(dir.join("chain"))
        .arg("--peers")
        .arg(dir.join("no-peers.json"))
        .arg("--difficulty")
        .arg(difficulty.to_string())
        .env("RUST_LOG", "warn");
    cmd
}

/// Starts a node on port 0 and reads the address it prints once it listens.
fn spawn_node(dir: &Path) -> (Child, String) {
    spawn_listening(node_command(dir, 8))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_blocks_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, url) = spawn_node(dir.path());
    let client = http();

    let mut acknowledged = Vec::new();
    for i in 0..5 {
        let resp = client
            .post(format!("{url}/mine"))
            .json(&json!({ "transactions": [format!("entry {i}")] }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let v: Value = resp.json().await.unwrap();
        acknowledged.push(v["block"]["hash"].as_str().unwrap().to_owned());
    }
    // A block from elsewhere, acknowledged through /add_block.
    let tip = fetch_chain(&url).await.pop().unwrap();
    let external = mine_on(&tip, vec![note("from a peer")]);
    let resp = client
        .post(format!("{url}/add_block"))
        .json(&external)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    acknowledged.push(external.hash().to_string());

    // SIGKILL right after the last acknowledgement: no shutdown hook runs.
    child.kill().unwrap();
    child.wait().unwrap();

    let (mut child, url) = spawn_node(dir.path());
    let blocks = fetch_chain(&url).await;
    let hashes: Vec<String> = blocks.iter().map(|b| b.hash().to_string()).collect();
    assert_eq!(hashes[1..], acknowledged[..]);
    child.kill().unwrap();
    child.wait().unwrap();
}

fn run_to_completion(cmd: &mut Command) -> (bool, String) {
    let out = cmd.stdout(Stdio::null()).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_mistakes_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, _url) = spawn_node(dir.path());

    // The data directory is held by the running node.
    let (ok, err) = run_to_completion(&mut node_command(dir.path(), 8));
    assert!(!ok);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("in use by another running node"), "{err}");
    child.kill().unwrap();
    child.wait().unwrap();

    // The stored chain has other parameters than the flags ask for.
    let (ok, err) = run_to_completion(&mut node_command(dir.path(), 9));
    assert!(!ok);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("difficulty 8 bits") && err.contains("difficulty 9 bits"),
        "{err}"
    );

    // A peers file in the wrong shape.
    std::fs::write(
        dir.path().join("no-peers.json"),
        r#"{"nodes": "http://x:1"}"#,
    )
    .unwrap();
    let (ok, err) = run_to_completion(&mut node_command(dir.path(), 8));
    assert!(!ok);
    assert!(err.starts_with("error: peers file"), "{err}");
}
