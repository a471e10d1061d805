//! The `ferrochain` binary as a client: the guided menu driven through a pseudo-terminal, every
//! subcommand's `--json` output and exit status, and one-line failures when no node answers.
//!
//! Each test starts its own node as a child process (`ferrochain node 0`, difficulty 8, a temp
//! data directory), so the CLI under test talks to it exactly as it would to any node.

mod common;

use common::note;
use ferrochain::chain::WireBlock;
use rexpect::process::WaitStatus;
use rexpect::reader::Options;
use rexpect::session::PtySession;
use serde_json::{json, Value};
use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_ferrochain");
/// How long any one CLI run, or one expected piece of terminal output, may take.
const DEADLINE: Duration = Duration::from_secs(30);
const PTY_TIMEOUT_MS: u64 = 10_000;

/// A node running as a child process; killed when dropped.
struct NodeProcess {
    child: Child,
    url: String,
    dir: TempDir,
}

impl NodeProcess {
    fn start() -> NodeProcess {
        Self::start_in(tempfile::tempdir().unwrap())
    }

    /// Starts a node on `dir`'s chain and reads the address it prints once it listens.
    fn start_in(dir: TempDir) -> NodeProcess {
        Self::start_with(dir, &[])
    }

    /// [`NodeProcess::start_in`] with more `ferrochain node` arguments.
    fn start_with(dir: TempDir, extra: &[&str]) -> NodeProcess {
        let mut cmd = node_command(dir.path());
        cmd.args(extra);
        let (child, url) = common::spawn_listening(cmd);
        NodeProcess { child, url, dir }
    }

    /// Kills the node (its acknowledged blocks are on disk) and hands back its directory.
    fn stop(mut self) -> TempDir {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self.dir, dir)
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn node_command(dir: &Path) -> Command {
    node_command_at(dir, "8")
}

/// A node at `difficulty` bits on one thread (two for the easy tests' default).
fn node_command_at(dir: &Path, difficulty: &str) -> Command {
    let threads = if difficulty == "8" { "2" } else { "1" };
    let mut cmd = Command::new(BIN);
    cmd.args([
        "node",
        "0",
        "--difficulty",
        difficulty,
        "--threads",
        threads,
    ])
    .arg("--data-dir")
    .arg(dir.join("chain"))
    .arg("--peers")
    .arg(dir.join("none.json"))
    .env("RUST_LOG", "warn");
    cmd
}

/// A loopback URL where nothing listens: a port that was free a moment ago.
fn dead_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// What one run of the CLI did.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {}", self.stdout))
    }

    #[track_caller]
    fn assert_success(&self) -> &Self {
        assert_eq!(self.code, Some(0), "stderr: {}", self.stderr);
        self
    }
}

/// Runs the CLI with `args` (no terminal attached) and waits for it, up to [`DEADLINE`].
fn cli(args: &[&str]) -> Run {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            pipe.read_to_string(&mut text).unwrap();
            text
        })
    };
    let stdout = read(Box::new(child.stdout.take().unwrap()));
    let stderr = read(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("ferrochain {args:?} did not finish within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Run {
        code: status.code(),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// The guided CLI in a pseudo-terminal, with ANSI codes stripped from what it shows.
fn guided(node: &str, wallets: &Path) -> PtySession {
    guided_with(node, wallets, true)
}

/// [`guided`], with the terminal's control sequences kept in what it shows when `strip` is
/// false.
fn guided_with(node: &str, wallets: &Path, strip: bool) -> PtySession {
    let mut cmd = Command::new(BIN);
    cmd.args(["cli", "--node", node])
        .arg("--wallet-dir")
        .arg(wallets)
        .env("NO_COLOR", "1")
        .env("TERM", "xterm");
    let options = Options::new()
        .timeout_ms(Some(PTY_TIMEOUT_MS))
        .strip_ansi_escape_codes(strip);
    rexpect::spawn_with_options(cmd, options).unwrap()
}

/// The sequence that shows the cursor again (DECTCEM), which menus hide while they draw.
const SHOW_CURSOR: &str = "\x1b[?25h";

/// Presses keys: `j` moves down in a menu, `\n` is Enter.
fn press(p: &mut PtySession, keys: &str) {
    p.send(keys).unwrap();
    p.flush().unwrap();
}

/// The free-text notes of a block in JSON, in order (other kinds of entry, such as a node's
/// reward, are left out).
fn notes(block: &Value) -> Vec<&str> {
    block["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

fn exit_code(p: &PtySession) -> i32 {
    match p.process().wait().unwrap() {
        WaitStatus::Exited(_, code) => code,
        other => panic!("the CLI did not exit normally: {other:?}"),
    }
}

#[test]
fn the_guided_cli_mines_views_verifies_and_exits() {
    let node = NodeProcess::start();
    let wallets = tempfile::tempdir().unwrap();
    let mut p = guided(&node.url, wallets.path());
    p.exp_string("height 0, difficulty 8.00 bits").unwrap();

    // 1. Add transactions and mine a block. An empty note is explained and asked again.
    p.exp_string("What would you like to do?").unwrap();
    press(&mut p, "\n");
    p.exp_string("New block").unwrap();
    press(&mut p, "j\n");
    p.exp_string("Note (1 to 256 bytes)").unwrap();
    press(&mut p, "\n");
    p.exp_string("a transaction cannot be empty").unwrap();
    p.exp_string("Note (1 to 256 bytes)").unwrap();
    press(&mut p, "Alice pays Bob 10 BTC\n");
    p.exp_string("added: Alice pays Bob 10 BTC").unwrap();
    // The same note twice in one block is refused where it is typed.
    p.exp_string("New block").unwrap();
    press(&mut p, "j\n");
    p.exp_string("Note (1 to 256 bytes)").unwrap();
    press(&mut p, "Alice pays Bob 10 BTC\n");
    p.exp_string("this block already has that note").unwrap();
    press(&mut p, "Bob pays Carol 5 BTC\n");
    p.exp_string("added: Bob pays Carol 5 BTC").unwrap();
    p.exp_string("Mine the block (2 transactions").unwrap();
    press(&mut p, "jj\n");
    p.exp_string("block 1 mined").unwrap();
    // One attempt is rare at 8 bits, not impossible.
    p.exp_regex("attempts? in").unwrap();

    // 2. View the blockchain: newest first; Enter on the top row shows block 1 in full.
    p.exp_string("What would you like to do?").unwrap();
    press(&mut p, "j\n");
    p.exp_string("Blocks 0 to 1 of 2 (newest first)").unwrap();
    p.exp_string("HEIGHT  TIME (UTC)").unwrap();
    press(&mut p, "\n");
    p.exp_string("previous hash").unwrap();
    p.exp_regex(r"#\d+  Alice pays Bob 10 BTC").unwrap();
    p.exp_regex(r"#\d+  Bob pays Carol 5 BTC").unwrap();
    p.exp_string("Blocks 0 to 1 of 2").unwrap();
    press(&mut p, "q");

    // 3. Verify the blockchain, here in the CLI.
    p.exp_string("What would you like to do?").unwrap();
    press(&mut p, "j\n");
    p.exp_string("valid: 2 blocks from genesis to the tip")
        .unwrap();

    // 4. Peers and sync (past Wallets): a bad URL is explained and asked again; a good one is
    // added.
    p.exp_string("What would you like to do?").unwrap();
    press(&mut p, "jj\n");
    p.exp_string("Peers and sync").unwrap();
    press(&mut p, "j\n");
    p.exp_string("Peer URL").unwrap();
    press(&mut p, "not a url\n");
    p.exp_string("\"not a url\" is not a URL").unwrap();
    press(&mut p, "ftp://127.0.0.1:21\n");
    p.exp_string("must use http or https").unwrap();
    press(&mut p, "http://127.0.0.1:9\n");
    p.exp_string("1 peer added").unwrap();
    p.exp_string("http://127.0.0.1:9").unwrap();
    press(&mut p, "q");

    // 5. Node status, then Exit.
    p.exp_string("What would you like to do?").unwrap();
    press(&mut p, "j\n");
    p.exp_string("difficulty  8.00 bits").unwrap();
    p.exp_string("What would you like to do?").unwrap();
    press(&mut p, "j\n");
    p.exp_string("bye").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(exit_code(&p), 0);

    // The block the menu mined is really on the node's chain.
    let chain = cli(&["chain", "--json", "--node", &node.url]);
    let blocks = chain.assert_success().json()["chain"].clone();
    assert_eq!(
        notes(&blocks[1]),
        ["Alice pays Bob 10 BTC", "Bob pays Carol 5 BTC"]
    );
}

#[test]
fn the_guided_cli_says_how_to_start_a_node_when_none_answers() {
    let url = dead_url();
    let wallets = tempfile::tempdir().unwrap();
    let mut p = guided(&url, wallets.path());
    p.exp_string(&format!("no node answers at {url}")).unwrap();
    let port = url.rsplit(':').next().unwrap();
    p.exp_string(&format!("start one there with `ferrochain node {port}`"))
        .unwrap();
    p.exp_eof().unwrap();
    assert_eq!(exit_code(&p), 1);
}

#[test]
fn plain_ferrochain_without_a_terminal_prints_usage_and_fails() {
    let run = cli(&[]);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("Usage: ferrochain"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
}

#[test]
fn every_subcommand_prints_the_nodes_json() {
    let node = NodeProcess::start();
    let url = node.url.as_str();

    let mined = cli(&[
        "mine", "--tx", "one", "--tx", "two", "--json", "--node", url,
    ]);
    let v = mined.assert_success().json();
    assert_eq!(v["message"], "block 1 mined");
    assert_eq!(v["block"]["index"], 1);
    assert_eq!(notes(&v["block"]), ["one", "two"]);
    assert!(v["stats"]["attempts"].as_u64().unwrap() > 0);
    assert!(v["stats"]["hash_rate"].as_f64().is_some());

    // Without --json, a readable summary: the block and the search's figures.
    let mined = cli(&["mine", "--node", url]);
    let text = &mined.assert_success().stdout;
    assert!(text.contains("block 2 mined"), "{text}");
    assert!(
        text.contains("attempts in") || text.contains("attempt in"),
        "{text}"
    );

    let chain = cli(&["chain", "--json", "--node", url]);
    let v = chain.assert_success().json();
    assert_eq!(v["length"], 3);
    assert_eq!(v["chain"].as_array().unwrap().len(), 3);
    let page = cli(&[
        "chain", "--from", "1", "--limit", "1", "--json", "--node", url,
    ]);
    let v = page.assert_success().json();
    assert_eq!(v["chain"].as_array().unwrap().len(), 1);
    assert_eq!(v["chain"][0]["index"], 1);
    // The table lists the newest block first.
    let table = cli(&["chain", "--node", url]);
    let lines: Vec<&str> = table.assert_success().stdout.lines().collect();
    assert!(lines[0].starts_with("HEIGHT"), "{lines:?}");
    assert!(lines[1].trim_start().starts_with("2 "), "{lines:?}");
    assert!(lines[3].trim_start().starts_with("0 "), "{lines:?}");

    let status = cli(&["status", "--json", "--node", url]);
    let v = status.assert_success().json();
    assert_eq!(v["height"], 2);
    assert_eq!(v["difficulty"], 8.0);
    // The test node runs the default retargeting: every 30 blocks toward 10 s a block.
    assert_eq!(v["params"]["retarget"]["interval"], 30);
    assert!(v["process"]["memory_bytes"].as_u64().unwrap() > 0);
    assert!(v["process"]["cpu_percent"].as_f64().is_some());
    let status = cli(&["status", "--node", url]);
    assert!(status.assert_success().stdout.contains("height  2"));

    let verified = cli(&["verify", "--json", "--node", url]);
    let v = verified.assert_success().json();
    assert_eq!(v["valid"], true);
    assert_eq!(v["length"], 3);
    assert_eq!(v["total_work"], "768");
    assert!(v.get("error").is_none());
    let verified = cli(&["verify", "--node", url]);
    assert!(verified
        .assert_success()
        .stdout
        .starts_with("valid: 3 blocks"));

    let peers = cli(&["peers", "--json", "--node", url]);
    assert_eq!(
        peers.assert_success().json()["nodes"],
        serde_json::json!([])
    );
    let dead = dead_url();
    let added = cli(&["peers", "add", &dead, "--json", "--node", url]);
    let v = added.assert_success().json();
    assert_eq!(v["message"], "1 peer added");
    assert_eq!(v["nodes"], serde_json::json!([dead]));
    // The node's own address is not a peer.
    let own = cli(&["peers", "--node", url, "add", url]);
    assert!(own.assert_success().stdout.contains("no new peers"));

    // Resolve asks the one (dead) peer, reports it, and keeps the chain.
    let resolved = cli(&["resolve", "--json", "--node", url]);
    let v = resolved.assert_success().json();
    assert_eq!(v["replaced"], false);
    assert_eq!(v["length"], 3);
    assert_eq!(v["peers"][0]["peer"], dead.as_str());
    assert!(v["peers"][0]["error"].is_string());

    // The operator bans the peer: it shows as banned with the reason, and resolve skips it.
    let banned = cli(&["peers", "ban", &dead, "--reason", "drill", "--node", url]);
    let out = &banned.assert_success().stdout;
    assert!(out.contains(&format!("{dead} banned")), "{out}");
    assert!(out.contains("banned: drill"), "{out}");
    let resolved = cli(&["resolve", "--json", "--node", url])
        .assert_success()
        .json();
    assert_eq!(resolved["peers"][0]["skipped"], true, "{resolved}");
    let unbanned = cli(&["peers", "unban", &dead, "--json", "--node", url]);
    let v = unbanned.assert_success().json();
    assert_ne!(v["peers"][0]["state"], "banned", "{v}");
    assert_eq!(v["peers"][0]["banned_until"], Value::Null, "{v}");
    // Refusals are one line and exit 1: no ban in force, and the node itself.
    let again = cli(&["peers", "unban", &dead, "--node", url]);
    assert_eq!(again.code, Some(1));
    assert!(again.stderr.contains("is not banned"), "{}", again.stderr);
    let own = cli(&["peers", "ban", url, "--node", url]);
    assert_eq!(own.code, Some(1));
    assert!(own.stderr.contains("is this node itself"), "{}", own.stderr);

    let completions = cli(&["completions", "bash"]);
    assert!(completions.assert_success().stdout.contains("ferrochain"));
}

#[test]
fn bad_arguments_and_refused_requests_fail_in_one_line() {
    let node = NodeProcess::start();
    let url = node.url.as_str();
    // Caught before any request: clap's usage error, status 2.
    for args in [
        vec!["mine", "--tx", "", "--node", url],
        vec!["chain", "--limit", "0", "--node", url],
        vec!["chain", "--from", "minus one", "--node", url],
        vec!["peers", "add", "not a url", "--node", url],
        vec!["status", "--node", "ftp://localhost:5000"],
    ] {
        let run = cli(&args);
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.starts_with("error: "),
            "{args:?}: {}",
            run.stderr
        );
    }
    // Refused by the node: its error document under --json, one line on stderr, status 1.
    let run = cli(&[
        "mine", "--tx", "same", "--tx", "same", "--json", "--node", url,
    ]);
    assert_eq!(run.code, Some(1));
    assert_eq!(run.json()["error"], "duplicate_transaction");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("duplicate_transaction"));
    // Past the tip: an empty page, not an error.
    let run = cli(&["chain", "--from", "50", "--node", url]);
    assert!(run
        .assert_success()
        .stdout
        .starts_with("no blocks from height 50"));
}

#[test]
fn every_subcommand_fails_in_one_line_when_no_node_answers() {
    let url = dead_url();
    let keys = tempfile::tempdir().unwrap();
    let keys = keys.path().to_str().unwrap();
    cli(&["wallet", "new", "alice", "--wallet-dir", keys]).assert_success();
    let commands: [&[&str]; 9] = [
        &["mine", "--tx", "hello"],
        &["chain"],
        &["verify"],
        &["status"],
        &["resolve"],
        &["peers"],
        &["peers", "add", "http://127.0.0.1:5001"],
        &["wallet", "show", "alice", "--wallet-dir", keys],
        &[
            "send",
            "--from",
            "alice",
            "--to",
            "alice",
            "--amount",
            "1",
            "--wallet-dir",
            keys,
        ],
    ];
    for command in commands {
        for json in [false, true] {
            let mut args = command.to_vec();
            args.extend(["--node", url.as_str()]);
            if json {
                args.push("--json");
            }
            let run = cli(&args);
            assert_eq!(run.code, Some(1), "{args:?}");
            assert_eq!(
                run.stderr.trim_end(),
                format!(
                    "error: no node answers at {url}; start one there with \
                     `ferrochain node {}`",
                    url.rsplit(':').next().unwrap()
                ),
                "{args:?}"
            );
            match json {
                true => {
                    let v = run.json();
                    assert_eq!(v["error"], "node_unreachable", "{args:?}");
                    assert!(v["message"].as_str().unwrap().contains(&url));
                }
                false => assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout),
            }
        }
    }
}

#[test]
fn verify_names_the_first_bad_block_and_the_rule_it_breaks() {
    let node = NodeProcess::start();
    for i in 1..=3 {
        let entry = format!("entry {i}");
        cli(&["mine", "--tx", &entry, "--node", &node.url]).assert_success();
    }
    let chain = cli(&["chain", "--json", "--node", &node.url]).json();
    let block: WireBlock = serde_json::from_value(chain["chain"][2].clone()).unwrap();
    let block = block.into_block().unwrap();
    let dir = node.stop();

    // Edit block 2's note (its last entry) on disk behind the node's back, then serve that chain.
    let mut edited = block.clone();
    let last = edited.transactions.len() - 1;
    edited.transactions[last] = note("entry 2, edited on disk");
    {
        let db = sled::open(dir.path().join("chain")).unwrap();
        db.open_tree("blocks")
            .unwrap()
            .insert(block.hash().as_bytes(), edited.encode())
            .unwrap();
        db.flush().unwrap();
    }
    // Offline, on the data directory itself: the same verdict, with no node running.
    let chain_dir = dir.path().join("chain");
    let local = chain_dir.to_str().unwrap();
    let run = cli(&["verify", "--local", local, "--json"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let v = run.json();
    assert_eq!(
        (v["valid"].clone(), v["length"].clone()),
        (json!(false), json!(2))
    );
    assert_eq!(v["error"]["rule"], "bad_merkle_root");
    let missing = dir.path().join("no such chain");
    let run = cli(&["verify", "--local", missing.to_str().unwrap()]);
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("holds no chain"), "{}", run.stderr);
    assert!(!missing.exists(), "nothing was created");
    let node = NodeProcess::start_in(dir);
    // A running node holds its directory: it is asked instead.
    let run = cli(&[
        "verify",
        "--local",
        node.dir.path().join("chain").to_str().unwrap(),
    ]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("cannot check the store"),
        "{}",
        run.stderr
    );

    let run = cli(&["verify", "--json", "--node", &node.url]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let v = run.json();
    assert_eq!(v["valid"], false);
    assert_eq!(v["length"], 2);
    assert_eq!(v["error"]["index"], 2);
    assert_eq!(v["error"]["rule"], "bad_merkle_root");
    assert_eq!(
        run.stderr.trim_end(),
        "error: the chain is invalid: block 2 breaks rule bad_merkle_root"
    );

    let run = cli(&["verify", "--node", &node.url]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stdout.starts_with("invalid: block 2 ("),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("bad_merkle_root"), "{}", run.stdout);
}

#[test]
fn the_guided_chain_view_pages_back_to_older_blocks() {
    let node = NodeProcess::start();
    for i in 1..=11 {
        let entry = format!("entry {i}");
        cli(&["mine", "--tx", &entry, "--node", &node.url]).assert_success();
    }
    let wallets = tempfile::tempdir().unwrap();
    let mut p = guided(&node.url, wallets.path());
    p.exp_string("What would you like to do?").unwrap();
    press(&mut p, "j\n");
    // Ten blocks a screen, newest first; below them Older blocks, then Back.
    p.exp_string("Blocks 2 to 11 of 12 (newest first)").unwrap();
    p.exp_string("Older blocks").unwrap();
    press(&mut p, &"j".repeat(10));
    press(&mut p, "\n");
    p.exp_string("Blocks 0 to 1 of 12 (newest first)").unwrap();
    p.exp_string("Newer blocks").unwrap();
    press(&mut p, "\n");
    p.exp_regex(r"#\d+  entry 1\r?\n").unwrap();
    // q leaves the list, and Esc in the main menu leaves the CLI.
    p.exp_string("Blocks 0 to 1 of 12").unwrap();
    press(&mut p, "q");
    p.exp_string("What would you like to do?").unwrap();
    press(&mut p, "\x1b");
    p.exp_string("bye").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(exit_code(&p), 0);
}

#[test]
fn wallets_and_send_move_coins_through_a_node() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("wallets");
    let keys = keys.to_str().unwrap();
    let alice = cli(&["wallet", "new", "alice", "--wallet-dir", keys, "--json"]);
    let alice_address = alice.assert_success().json()["address"]
        .as_str()
        .unwrap()
        .to_owned();
    cli(&["wallet", "new", "bob", "--wallet-dir", keys]).assert_success();
    let again = cli(&["wallet", "new", "bob", "--wallet-dir", keys]);
    assert_eq!(again.code, Some(1));
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    let list = cli(&["wallet", "list", "--wallet-dir", keys, "--json"]);
    assert_eq!(
        list.assert_success().json()["wallets"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let table = cli(&["wallet", "list", "--wallet-dir", keys]);
    assert!(table.stdout.contains("alice") && table.stdout.contains(&alice_address));

    // The node pays its rewards to alice's wallet.
    let node = NodeProcess::start_with(
        tempfile::tempdir().unwrap(),
        &["--miner", "alice", "--wallet-dir", keys],
    );
    let url = node.url.as_str();
    cli(&["mine", "--node", url]).assert_success();
    let shown = cli(&[
        "wallet",
        "show",
        "alice",
        "--wallet-dir",
        keys,
        "--node",
        url,
        "--json",
    ]);
    assert_eq!(shown.assert_success().json()["balance"], 5_000_000_000u64);

    // A mistyped recipient is refused before anything is signed or sent.
    let send = |from: &str, to: &str, amount: &str, extra: &[&str]| {
        let mut args = vec!["send", "--from", from, "--to", to, "--amount", amount];
        args.extend_from_slice(&["--wallet-dir", keys, "--node", url]);
        args.extend_from_slice(extra);
        cli(&args)
    };
    // The last character changed (to one it is not: a random address may end in either).
    let (head, last) = alice_address.split_at(alice_address.len() - 1);
    let typo = format!("{head}{}", if last == "x" { "y" } else { "x" });
    let refused = send("alice", &typo, "1", &[]);
    assert_eq!(refused.code, Some(1));
    assert!(
        refused.stderr.contains("not an address"),
        "{}",
        refused.stderr
    );
    let zero = send("alice", "bob", "0", &[]);
    assert_eq!(zero.code, Some(2), "{}", zero.stderr);
    let unknown = send("carol", "bob", "1", &[]);
    assert_eq!(unknown.code, Some(1));
    assert!(
        unknown.stderr.contains("no wallet named \"carol\""),
        "{}",
        unknown.stderr
    );
    let too_much = send("alice", "bob", "60", &["--json"]);
    assert_eq!(too_much.code, Some(1));
    assert_eq!(too_much.json()["error"], "insufficient_balance");
    let pending = cli(&[
        "wallet",
        "show",
        "alice",
        "--wallet-dir",
        keys,
        "--node",
        url,
        "--json",
    ]);
    assert_eq!(pending.json()["pending"]["count"], 0);

    let sent = send("alice", "bob", "2.5", &["--fee", "0.001", "--json"]);
    assert!(sent.assert_success().json()["id"].is_string());
    let human = send("alice", "bob", "1", &[]);
    assert!(
        human
            .assert_success()
            .stdout
            .contains("sent 1 FER from alice"),
        "{}",
        human.stdout
    );
    cli(&["mine", "--node", url]).assert_success();

    let bob = cli(&[
        "wallet",
        "show",
        "bob",
        "--wallet-dir",
        keys,
        "--node",
        url,
        "--json",
    ])
    .json();
    assert_eq!(bob["balance"], 350_000_000u64);
    let alice = cli(&[
        "wallet",
        "show",
        "alice",
        "--wallet-dir",
        keys,
        "--node",
        url,
        "--json",
    ])
    .json();
    // Two rewards (the second with both fees back) minus what was sent and paid.
    let fees = 100_000 + 1_000;
    assert_eq!(
        alice["balance"],
        2 * 5_000_000_000u64 + fees - 350_000_000 - fees
    );
    assert_eq!(alice["nonce"], 2);
    let shown = cli(&["wallet", "show", "bob", "--wallet-dir", keys, "--node", url]);
    assert!(shown.stdout.contains("3.5 FER"), "{}", shown.stdout);

    // No node: one line, exit 1.
    let down = cli(&[
        "wallet",
        "show",
        "bob",
        "--wallet-dir",
        keys,
        "--node",
        &dead_url(),
    ]);
    assert_eq!(down.code, Some(1));
    assert!(down.stderr.contains("no node answers"), "{}", down.stderr);
}

#[test]
fn the_guided_cli_creates_a_wallet_sends_coins_and_mines() {
    let keys = tempfile::tempdir().unwrap();
    let dir = keys.path().to_str().unwrap();
    cli(&["wallet", "new", "alice", "--wallet-dir", dir]).assert_success();
    let node = NodeProcess::start_with(
        tempfile::tempdir().unwrap(),
        &["--miner", "alice", "--wallet-dir", dir],
    );
    let mut p = guided(&node.url, keys.path());

    // Wallets and balances: names already taken or malformed are asked again.
    p.exp_string("What would you like to do?").unwrap();
    press(&mut p, "jjj\n");
    p.exp_string("Wallets and balances").unwrap();
    press(&mut p, "j\n");
    p.exp_string("New wallet name").unwrap();
    press(&mut p, "alice\n");
    p.exp_string("a wallet named \"alice\" already exists")
        .unwrap();
    press(&mut p, "bad name!\n");
    p.exp_string("is not a wallet name").unwrap();
    press(&mut p, "bob\n");
    p.exp_string("created wallet bob").unwrap();
    press(&mut p, "q");

    // Mine once so that alice (the node's miner) has coins.
    p.exp_string("What would you like to do?").unwrap();
    press(&mut p, "kkk\n");
    p.exp_string("New block").unwrap();
    press(&mut p, "jj\n");
    p.exp_string("block 1 mined").unwrap();

    // Send coins: every bad answer is explained and asked again.
    p.exp_string("What would you like to do?").unwrap();
    press(&mut p, "\n");
    p.exp_string("New block").unwrap();
    press(&mut p, "\n");
    p.exp_string("Sending wallet").unwrap();
    p.exp_regex(r"alice\s+fc1\S+\s+50 FER").unwrap();
    press(&mut p, "\n");
    p.exp_string("alice has 50 FER to spend").unwrap();
    p.exp_string("Recipient").unwrap();
    press(&mut p, "nobody\n");
    p.exp_string("is neither an address nor a wallet").unwrap();
    press(&mut p, "bob\n");
    // The fee offers the default; Enter takes it.
    p.exp_string("Fee in FER, paid to the miner (0.00001 FER)")
        .unwrap();
    press(&mut p, "\n");
    p.exp_string("Amount in FER (at most 49.99999 FER)")
        .unwrap();
    press(&mut p, "abc\n");
    p.exp_string("is not an amount of FER").unwrap();
    press(&mut p, "0\n");
    p.exp_string("the amount must be more than 0").unwrap();
    press(&mut p, "50\n");
    p.exp_string("alice can send at most 49.99999 FER (50 FER less the fee of 0.00001 FER)")
        .unwrap();
    press(&mut p, "2.5\n");
    p.exp_string("Sign and send this transfer?").unwrap();
    press(&mut p, "y");
    p.exp_string("sent 2.5 FER from alice to bob").unwrap();
    p.exp_string("New block").unwrap();
    press(&mut p, "jj\n");
    p.exp_string("block 2 mined").unwrap();

    // The balances, the chain and its verification agree.
    p.exp_string("What would you like to do?").unwrap();
    press(&mut p, "jjj\n");
    p.exp_string("Wallets and balances").unwrap();
    press(&mut p, "\n");
    p.exp_string("wallet  bob").unwrap();
    p.exp_string("balance  2.5 FER").unwrap();
    // Bob's history: the transfer he received, mined in block 2.
    press(&mut p, "jj\n");
    p.exp_string("Whose history").unwrap();
    press(&mut p, "j\n");
    p.exp_string("history of wallet bob").unwrap();
    p.exp_regex(r"2\s+1\s+\S+ \S+\s+received\s+\+2\.5 FER\s+from fc1")
        .unwrap();
    press(&mut p, "q");
    p.exp_string("What would you like to do?").unwrap();
    press(&mut p, "k\n");
    p.exp_string("valid: 3 blocks from genesis to the tip")
        .unwrap();
    p.exp_string("What would you like to do?").unwrap();
    press(&mut p, "jjjj\n");
    p.exp_string("bye").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(exit_code(&p), 0);

    let bob = cli(&[
        "wallet",
        "show",
        "bob",
        "--wallet-dir",
        dir,
        "--node",
        &node.url,
        "--json",
    ]);
    assert_eq!(bob.assert_success().json()["balance"], 250_000_000u64);
}

#[test]
fn chain_rule_flags_start_a_retargeting_chain_and_bad_ones_are_refused() {
    let node = NodeProcess::start_with(
        tempfile::tempdir().unwrap(),
        &[
            "--retarget-interval",
            "2",
            "--block-time",
            "60",
            "--retarget-step",
            "2",
        ],
    );
    let url = node.url.as_str();
    for _ in 0..6 {
        cli(&["mine", "--node", url]).assert_success();
    }
    let v = cli(&["status", "--json", "--node", url])
        .assert_success()
        .json();
    assert_eq!(
        v["params"]["retarget"],
        json!({"interval": 2, "block_time_ms": 60_000, "max_factor": 2})
    );
    // Block 2 measured the time since the genesis block (months: as easy as the chain allows);
    // blocks 4 and 6 each measured a period mined far faster than a minute a block, and made
    // the difficulty one bit harder each.
    assert_eq!(v["difficulty"], 10.0);
    let verified = cli(&["verify", "--json", "--node", url])
        .assert_success()
        .json();
    assert_eq!(verified["valid"], true);

    for (args, message) in [
        (&["--retarget-interval", "1"][..], "between 2 and"),
        (
            &["--retarget-interval", "0", "--block-time", "5"][..],
            "need retargeting on",
        ),
        (&["--block-time", "0"][..], "more than 0"),
        (&["--retarget-step", "1"][..], "factor between 2 and"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = node_command(dir.path());
        let out = cmd.args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} started a node");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(
            !dir.path().join("chain").exists(),
            "{args:?} created a chain"
        );
    }
}

/// `verify` downloads one branch: its pages are anchored to the tip the node's status named, and
/// when that tip leaves the main chain (409 `tip_moved`) it starts again from the new one. The
/// node here is scripted to answer its first page with that 409, then to serve a real chain.
#[test]
fn verify_starts_again_when_the_tip_it_downloads_leaves_the_main_chain() {
    let node = NodeProcess::start();
    for i in 1..=2 {
        cli(&["mine", "--tx", &format!("entry {i}"), "--node", &node.url]).assert_success();
    }
    let get = |path: &str| {
        reqwest::blocking::get(format!("{}{path}", node.url))
            .unwrap()
            .text()
            .unwrap()
    };
    let status = get("/status");
    let tip = serde_json::from_str::<Value>(&status).unwrap()["tip"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = get(&format!("/chain?from=0&limit=1000&tip={tip}"));
    let moved = std::sync::atomic::AtomicBool::new(false);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (url, requests) = rt.block_on(common::scripted_peer(move |_, path, _| {
        if path.starts_with("/status") {
            return (200, status.clone());
        }
        assert!(
            path.contains(&format!("tip={tip}")),
            "{path} is not anchored"
        );
        match moved.swap(true, std::sync::atomic::Ordering::SeqCst) {
            false => (
                409,
                json!({"error": "tip_moved", "message": "moved"}).to_string(),
            ),
            true => (200, page.clone()),
        }
    }));
    let run = cli(&["verify", "--json", "--node", &url.to_string()]);
    run.assert_success();
    let v = run.json();
    assert_eq!(
        (v["valid"].clone(), v["length"].clone()),
        (json!(true), json!(3))
    );
    let statuses = requests
        .log()
        .iter()
        .filter(|r| r.contains("/status"))
        .count();
    assert_eq!(statuses, 2, "one status per attempt: {:?}", requests.log());
}

/// Esc (or `q` alone) leaves every text prompt, not only the menus; backing out of "Send coins"
/// or a note adds nothing to the block; a transfer is signed only after a confirmation that
/// names both ends, the amount and the fee; the wallet's own address is questioned.
#[test]
fn the_guided_cli_goes_back_from_questions_and_confirms_before_sending() {
    let keys = tempfile::tempdir().unwrap();
    let dir = keys.path().to_str().unwrap();
    cli(&["wallet", "new", "alice", "--wallet-dir", dir]).assert_success();
    let bob = cli(&["wallet", "new", "bob", "--wallet-dir", dir, "--json"]);
    let bob_address = bob.assert_success().json()["address"]
        .as_str()
        .unwrap()
        .to_owned();
    let node = NodeProcess::start_with(
        tempfile::tempdir().unwrap(),
        &["--miner", "alice", "--wallet-dir", dir],
    );
    cli(&["mine", "--node", &node.url]).assert_success();
    let mut p = guided(&node.url, keys.path());
    p.exp_string("Esc or q goes back").unwrap();

    // Esc at the recipient: back to the block, and nothing counted.
    p.exp_string("What would you like to do?").unwrap();
    press(&mut p, "\n");
    p.exp_string("Mine the block (0 transactions").unwrap();
    press(&mut p, "\n");
    p.exp_string("Sending wallet").unwrap();
    press(&mut p, "\n");
    p.exp_string("alice has 50 FER to spend").unwrap();
    p.exp_string("Recipient").unwrap();
    press(&mut p, "bo");
    press(&mut p, "\x1b");
    p.exp_string("Mine the block (0 transactions").unwrap();

    // A note abandoned half-typed with Esc is not added.
    press(&mut p, "j\n");
    p.exp_string("Note (1 to 256 bytes)").unwrap();
    press(&mut p, "half a note");
    press(&mut p, "\x1b");
    p.exp_string("Mine the block (0 transactions").unwrap();

    // Sending to oneself is questioned; declining asks again. The confirmation shows every
    // field; declining it sends nothing and counts nothing.
    press(&mut p, "\n");
    p.exp_string("Sending wallet").unwrap();
    press(&mut p, "\n");
    p.exp_string("Recipient").unwrap();
    press(&mut p, "alice\n");
    p.exp_string("own address").unwrap();
    press(&mut p, "n");
    p.exp_string("Recipient").unwrap();
    press(&mut p, "bob\n");
    p.exp_string("Fee in FER").unwrap();
    press(&mut p, "0.5\n");
    p.exp_string("Amount in FER (at most 49.5 FER)").unwrap();
    press(&mut p, "2.5\n");
    p.exp_string(&format!("to  bob {bob_address}")).unwrap();
    p.exp_string("amount  2.5 FER").unwrap();
    p.exp_string("fee  0.5 FER").unwrap();
    p.exp_string("total  3 FER, leaving 47 FER to spend")
        .unwrap();
    p.exp_string("Sign and send this transfer?").unwrap();
    press(&mut p, "n");
    p.exp_string("not sent").unwrap();
    p.exp_string("Mine the block (0 transactions").unwrap();

    // Confirmed: one transaction, and the block carries it.
    press(&mut p, "\n");
    p.exp_string("Sending wallet").unwrap();
    press(&mut p, "\n");
    p.exp_string("Recipient").unwrap();
    press(&mut p, "bob\n");
    p.exp_string("Fee in FER").unwrap();
    press(&mut p, "\n");
    p.exp_string("Amount in FER").unwrap();
    press(&mut p, "1.25\n");
    p.exp_string("Sign and send this transfer?").unwrap();
    press(&mut p, "y");
    p.exp_string("sent 1.25 FER from alice to bob").unwrap();
    p.exp_string("Mine the block (1 transaction +").unwrap();
    press(&mut p, "jj\n");
    p.exp_string("block 2 mined").unwrap();

    // `q` alone answers "go back" too: here from the peer prompt.
    p.exp_string("What would you like to do?").unwrap();
    press(&mut p, "jjjj\n");
    p.exp_string("Peers and sync").unwrap();
    press(&mut p, "j\n");
    p.exp_string("Peer URL").unwrap();
    press(&mut p, "q\n");
    p.exp_string("Peers and sync").unwrap();
    press(&mut p, "q");
    p.exp_string("What would you like to do?").unwrap();
    press(&mut p, "\x1b");
    p.exp_string("bye").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(exit_code(&p), 0);

    let bob = cli(&[
        "wallet",
        "show",
        "bob",
        "--wallet-dir",
        dir,
        "--node",
        &node.url,
        "--json",
    ]);
    assert_eq!(bob.assert_success().json()["balance"], 125_000_000u64);
    let peers = cli(&["peers", "--json", "--node", &node.url]).json();
    assert_eq!(peers["nodes"], json!([]));
}

/// An encrypted wallet's key is opened only after the confirmation, with its passphrase typed
/// in a prompt that Esc leaves and that asks again when it is wrong; the menu then shows the
/// transfer in the wallet's history.
#[test]
fn the_guided_cli_asks_an_encrypted_wallets_passphrase_to_sign() {
    let keys = tempfile::tempdir().unwrap();
    let dir = keys.path().to_str().unwrap();
    let secret = keys.path().join("secret");
    std::fs::write(&secret, "correct horse\n").unwrap();
    let secret = secret.to_str().unwrap();
    cli(&[
        "wallet",
        "new",
        "alice",
        "--encrypt",
        "--passphrase-file",
        secret,
        "--wallet-dir",
        dir,
    ])
    .assert_success();
    cli(&["wallet", "new", "bob", "--wallet-dir", dir]).assert_success();
    let node = NodeProcess::start_with(
        tempfile::tempdir().unwrap(),
        &["--miner", "alice", "--wallet-dir", dir],
    );
    cli(&["mine", "--node", &node.url]).assert_success();
    let mut p = guided(&node.url, keys.path());
    let send = |p: &mut PtySession| {
        p.exp_string("Sending wallet").unwrap();
        press(p, "\n");
        p.exp_string("Recipient").unwrap();
        press(p, "bob\n");
        p.exp_string("Fee in FER").unwrap();
        press(p, "\n");
        p.exp_string("Amount in FER").unwrap();
        press(p, "1\n");
        p.exp_string("Sign and send this transfer?").unwrap();
        press(p, "y");
        p.exp_string("Passphrase of wallet alice").unwrap();
    };
    p.exp_string("What would you like to do?").unwrap();
    press(&mut p, "\n");
    p.exp_string("New block").unwrap();
    press(&mut p, "\n");
    send(&mut p);
    press(&mut p, "\x1b");
    p.exp_string("not sent").unwrap();
    p.exp_string("Mine the block (0 transactions").unwrap();
    press(&mut p, "\n");
    send(&mut p);
    press(&mut p, "wrong horse\n");
    p.exp_string("wrong passphrase for wallet \"alice\"")
        .unwrap();
    press(&mut p, "correct horse\n");
    p.exp_string("sent 1 FER from alice to bob").unwrap();
    p.exp_string("Mine the block (1 transaction +").unwrap();
    press(&mut p, "jj\n");
    p.exp_string("block 2 mined").unwrap();

    // Wallets and balances, then History of a wallet: bob's shows what alice sent.
    p.exp_string("What would you like to do?").unwrap();
    press(&mut p, "jjj\n");
    p.exp_string("Wallets and balances").unwrap();
    press(&mut p, "jj\n");
    p.exp_string("Whose history?").unwrap();
    press(&mut p, "j\n");
    p.exp_string("wallet bob (").unwrap();
    p.exp_regex(r"received\s+\+1 FER\s+from fc1").unwrap();
    press(&mut p, "q");
    p.exp_string("What would you like to do?").unwrap();
    press(&mut p, "\x1b");
    p.exp_string("bye").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(exit_code(&p), 0);
}

/// Ctrl-C in a menu or in a question ends the session with the cursor shown again and the
/// shell's prompt on a line of its own, and the interrupt's exit status.
#[test]
fn ctrl_c_in_the_guided_cli_restores_the_cursor() {
    let node = NodeProcess::start();
    let wallets = tempfile::tempdir().unwrap();
    for question in [false, true] {
        let mut p = guided_with(&node.url, wallets.path(), false);
        p.exp_string("What would you like to do?").unwrap();
        if question {
            press(&mut p, "jjjj\n");
            p.exp_string("Peers and sync").unwrap();
            press(&mut p, "j\n");
            p.exp_string("Peer URL").unwrap();
            press(&mut p, "http://half");
        }
        p.send_control('c').unwrap();
        let rest = p.exp_eof().unwrap();
        assert!(rest.contains(SHOW_CURSOR), "question {question}: {rest:?}");
        assert!(rest.ends_with("\r\n"), "question {question}: {rest:?}");
        assert_eq!(exit_code(&p), 130);
    }
}

/// The live view of a search shows how long a block takes at the node's rate and target, and
/// Ctrl-C leaves it saying that the node goes on; and it does, with no one watching.
#[test]
fn ctrl_c_in_the_mining_view_says_the_node_keeps_mining() {
    // About 40 minutes a block on one thread at 30 MH/s: the search is still on when Ctrl-C
    // comes, but for one time in a thousand (at 30 bits, one in twenty found it first).
    let dir = tempfile::tempdir().unwrap();
    let (child, url) = common::spawn_listening(node_command_at(dir.path(), "36"));
    let node = NodeProcess { child, url, dir };
    let wallets = tempfile::tempdir().unwrap();
    let mut p = guided(&node.url, wallets.path());
    p.exp_string("What would you like to do?").unwrap();
    press(&mut p, "\n");
    p.exp_string("New block").unwrap();
    let status_polls_before = requests(&node.url, "/status");
    press(&mut p, "jj\n");
    p.exp_regex(r"mining block 1 .* expected \S+ (ms|s|min|h|days) at 36\.00 bits")
        .unwrap();
    // The view follows the node's event stream, not its status: a second of reports later,
    // no status request was made.
    std::thread::sleep(Duration::from_millis(1200));
    p.exp_regex(r"mining block 1 ").unwrap();
    assert_eq!(requests(&node.url, "/status"), status_polls_before);
    assert_eq!(requests(&node.url, "/events"), 1);
    p.send_control('c').unwrap();
    p.exp_string("the node at").unwrap();
    p.exp_string("keeps mining the block").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(exit_code(&p), 130);
    // The search the CLI left goes on: its attempts keep growing.
    let attempts = || {
        let status = cli(&["status", "--json", "--node", &node.url]).json();
        assert_eq!(status["mining"]["active"], true, "{status}");
        status["mining"]["attempts"].as_u64().unwrap()
    };
    let first = attempts();
    let deadline = Instant::now() + DEADLINE;
    while attempts() <= first {
        assert!(
            Instant::now() < deadline,
            "the search stopped at {first} attempts"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Requests the node at `url` has answered on `route`, from its metrics.
fn requests(url: &str, route: &str) -> u64 {
    let text = reqwest::blocking::get(format!("{url}/metrics"))
        .unwrap()
        .text()
        .unwrap();
    let label = format!("route=\"{route}\"");
    text.lines()
        .filter(|l| l.starts_with("ferrochain_http_requests_total{") && l.contains(&label))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum()
}

/// The screen a terminal shows for the CLI's output: 80 columns, the width `console` assumes
/// for a pseudo-terminal that states none, and rows enough that nothing scrolls away.
struct Shown(vt100::Parser);

impl Shown {
    fn new() -> Shown {
        let rows = std::num::NonZeroU16::new(500).unwrap();
        let columns = std::num::NonZeroU16::new(80).unwrap();
        Shown(vt100::Parser::new(rows, columns, 0))
    }

    /// Waits for `needle` in `p`'s output and draws everything up to it.
    fn expect(&mut self, p: &mut PtySession, needle: &str) {
        let before = p.exp_string(needle).unwrap();
        // rexpect hands each byte over as one char.
        let bytes: Vec<u8> = before
            .chars()
            .chain(needle.chars())
            .map(|c| c as u8)
            .collect();
        self.0.process(&bytes);
    }

    /// The screen's rows, without trailing blanks.
    fn rows(&self) -> Vec<String> {
        let screen = self.0.screen();
        screen
            .rows(0, screen.size().1.get())
            .map(|row| row.trim_end().to_owned())
            .collect()
    }
}

/// As a terminal draws it: a refused answer's explanation, wrapped over two rows, is gone once
/// a good answer is given; the chain table's header sits directly above its rows, column for
/// column, and leaves with them once a block is picked.
#[test]
fn the_guided_screen_clears_answered_errors_and_lines_up_the_chain_table() {
    let node = NodeProcess::start();
    cli(&["mine", "--tx", "entry", "--node", &node.url]).assert_success();
    let wallets = tempfile::tempdir().unwrap();
    let mut p = guided_with(&node.url, wallets.path(), false);
    let mut shown = Shown::new();
    shown.expect(&mut p, "What would you like to do?");
    press(&mut p, "jjjj\n");
    shown.expect(&mut p, "Peers and sync");
    press(&mut p, "j\n");
    shown.expect(&mut p, "Peer URL");
    let long = "x".repeat(90);
    press(&mut p, &format!("{long}\n"));
    shown.expect(&mut p, "is not a URL");
    let screen = shown.rows().join("\n");
    assert!(screen.contains("is not a URL"), "{screen}");
    press(&mut p, "http://127.0.0.1:9\n");
    shown.expect(&mut p, "1 peer added");
    let screen = shown.rows().join("\n");
    assert!(!screen.contains("is not a URL"), "{screen}");
    assert!(!screen.contains("xxxxxxxxxx"), "{screen}");
    assert!(
        screen.contains("Peer URL (http://host:port) · http://127.0.0.1:9"),
        "{screen}"
    );

    shown.expect(&mut p, "Back to the menu");
    press(&mut p, "q");
    shown.expect(&mut p, "What would you like to do?");
    // The menu comes back on Peers and sync; View the blockchain is three up.
    press(&mut p, "kkk\n");
    shown.expect(&mut p, "Back to the menu");
    let rows = shown.rows();
    let header = rows.iter().position(|r| r.contains("HEIGHT")).unwrap();
    let (head, first) = (&rows[header], &rows[header + 1]);
    let column = |row: &str, text: &str| {
        row.chars().count() - row[row.find(text).unwrap()..].chars().count()
    };
    // HEIGHT is right-aligned: its last letter stands over the height's last digit.
    assert_eq!(
        column(head, "HEIGHT") + 5,
        column(first, "1  20"),
        "{head}\n{first}"
    );
    assert_eq!(
        column(head, "TIME (UTC)"),
        column(first, "20"),
        "{head}\n{first}"
    );
    press(&mut p, "\n");
    shown.expect(&mut p, "previous hash");
    shown.expect(&mut p, "Back to the menu");
    let rows = shown.rows();
    let headers = rows.iter().filter(|r| r.contains("HEIGHT")).count();
    let titles = rows
        .iter()
        .filter(|r| r.contains("Blocks 0 to 1 of 2"))
        .count();
    assert_eq!((headers, titles), (1, 1), "{}", rows.join("\n"));
    let details = rows
        .iter()
        .position(|r| r.contains("previous hash"))
        .unwrap();
    let header = rows.iter().position(|r| r.contains("HEIGHT")).unwrap();
    assert!(details < header, "{}", rows.join("\n"));
    press(&mut p, "q");
    shown.expect(&mut p, "What would you like to do?");
    press(&mut p, "\x1b");
    p.exp_string("bye").unwrap();
    p.exp_eof().unwrap();
}
