//! The `ferrochain` binary's wallet side end to end: recovery phrases, export and import,
//! encrypted key files with the right and the wrong passphrase, balances in `wallet list`,
//! `wallet history`, the lookups (`block`, `tx`, `address`), and a message of its own for each
//! kind of bad address.
//!
//! Each test that needs a node starts one as a child process (`ferrochain node 0`, difficulty 8,
//! a temp data directory), so the CLI talks to it as it would to any node.

mod common;

use serde_json::Value;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_ferrochain");
/// How long any one CLI run may take.
const DEADLINE: Duration = Duration::from_secs(30);

/// A node running as a child process; killed when dropped.
struct NodeProcess {
    child: Child,
    url: String,
    _dir: TempDir,
}

impl NodeProcess {
    /// A node whose rewards go to `miner` (a wallet of the keystore `wallets`).
    fn start(miner: &str, wallets: &Path) -> NodeProcess {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(BIN);
        cmd.args(["node", "0", "--difficulty", "8", "--threads", "2"])
            .arg("--data-dir")
            .arg(dir.path().join("chain"))
            .arg("--peers")
            .arg(dir.path().join("none.json"))
            .args(["--miner", miner])
            .arg("--wallet-dir")
            .arg(wallets)
            .env("RUST_LOG", "warn");
        let (child, url) = common::spawn_listening(cmd);
        NodeProcess {
            child,
            url,
            _dir: dir,
        }
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
    fn ok(self) -> Self {
        assert_eq!(self.code, Some(0), "stderr: {}", self.stderr);
        self
    }

    #[track_caller]
    fn fails_saying(self, says: &str) -> Self {
        assert_eq!(self.code, Some(1), "stdout: {}", self.stdout);
        assert!(self.stderr.contains(says), "{}", self.stderr);
        self
    }
}

/// Runs the CLI with `args`, `stdin` as its input and `env` set, and waits up to [`DEADLINE`].
fn run(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("FERROCHAIN_PASSPHRASE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    // A command that fails before reading its input closes the pipe: that is not an error here.
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            pipe.read_to_string(&mut text).unwrap();
            text
        })
    };
    let out = read(Box::new(child.stdout.take().unwrap()));
    let err = read(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("ferrochain {args:?} did not finish within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code(),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn cli(args: &[&str]) -> Run {
    run(args, "", &[])
}

/// A keystore directory as a `--wallet-dir` argument.
fn dir_arg(dir: &TempDir) -> String {
    dir.path().join("wallets").to_str().unwrap().to_owned()
}

#[test]
fn a_recovery_phrase_rebuilds_the_same_wallet_elsewhere() {
    let home = tempfile::tempdir().unwrap();
    let away = tempfile::tempdir().unwrap();
    let (home, away) = (dir_arg(&home), dir_arg(&away));
    let made = cli(&[
        "wallet",
        "new",
        "alice",
        "--phrase",
        "--json",
        "--wallet-dir",
        &home,
    ])
    .ok();
    let made = made.json();
    let phrase = made["recovery_phrase"].as_str().unwrap().to_owned();
    assert_eq!(phrase.split(' ').count(), 24);

    // The words, typed on another machine (here: piped in, with a newline).
    let rebuilt = run(
        &[
            "wallet",
            "recover",
            "alice",
            "--json",
            "--wallet-dir",
            &away,
        ],
        &format!("{phrase}\n"),
        &[],
    )
    .ok();
    assert_eq!(rebuilt.json()["address"], made["address"]);

    // In words, the phrase is shown with what it is for; without --phrase it is not shown.
    let shown = cli(&["wallet", "new", "bob", "--phrase", "--wallet-dir", &home]).ok();
    assert!(shown.stdout.contains("recovery phrase"), "{}", shown.stdout);
    let quiet = cli(&["wallet", "new", "carol", "--wallet-dir", &home]).ok();
    assert!(
        !quiet.stdout.contains("recovery phrase ("),
        "{}",
        quiet.stdout
    );
    assert!(quiet.stdout.contains("wallet export"), "{}", quiet.stdout);

    // A wrong word, a wrong count, an existing name: refused, nothing written.
    let mut words: Vec<&str> = phrase.split(' ').collect();
    words[3] = "notaword";
    run(
        &["wallet", "recover", "x", "--wallet-dir", &away],
        &words.join(" "),
        &[],
    )
    .fails_saying("word 4 (\"notaword\") is not in the BIP39 English word list");
    run(
        &["wallet", "recover", "x", "--wallet-dir", &away],
        "abandon abandon",
        &[],
    )
    .fails_saying("it has 2 words");
    run(
        &["wallet", "recover", "alice", "--wallet-dir", &away],
        &phrase,
        &[],
    )
    .fails_saying("already exists");
    assert!(!Path::new(&away).join("x.json").exists());
}

#[test]
fn export_and_import_round_trip_a_key_file() {
    let home = tempfile::tempdir().unwrap();
    let away = tempfile::tempdir().unwrap();
    let backup = home.path().join("alice.backup.json");
    let backup = backup.to_str().unwrap();
    let (home, away) = (dir_arg(&home), dir_arg(&away));
    let made = cli(&["wallet", "new", "alice", "--json", "--wallet-dir", &home]).ok();
    let address = made.json()["address"].as_str().unwrap().to_owned();
    let exported = cli(&["wallet", "export", "alice", backup, "--wallet-dir", &home]).ok();
    assert!(
        exported.stdout.contains("NOT encrypted"),
        "{}",
        exported.stdout
    );
    cli(&["wallet", "export", "alice", backup, "--wallet-dir", &home])
        .fails_saying("not overwritten");
    cli(&["wallet", "import", backup, "--wallet-dir", &away]).ok();
    cli(&[
        "wallet",
        "import",
        backup,
        "--name",
        "alice2",
        "--wallet-dir",
        &away,
    ])
    .ok();
    let list = cli(&[
        "wallet",
        "list",
        "--json",
        "--wallet-dir",
        &away,
        "--node",
        &dead(),
    ])
    .ok();
    let list = list.json();
    let addresses: Vec<&str> = list["wallets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["address"].as_str().unwrap())
        .collect();
    assert_eq!(addresses, [address.as_str(), address.as_str()]);
    cli(&["wallet", "import", backup, "--wallet-dir", &away]).fails_saying("already exists");
    cli(&[
        "wallet",
        "import",
        "/nonexistent/file.json",
        "--wallet-dir",
        &away,
    ])
    .fails_saying("/nonexistent/file.json");
}

/// A loopback URL where nothing listens.
fn dead() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[test]
fn an_encrypted_wallet_pays_with_the_right_passphrase_only() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir_arg(&dir);
    let right = dir.path().join("right.txt");
    let wrong = dir.path().join("wrong.txt");
    std::fs::write(&right, "correct horse battery\n").unwrap();
    std::fs::write(&wrong, "wrong horse\n").unwrap();
    let (right, wrong) = (right.to_str().unwrap(), wrong.to_str().unwrap());
    let made = cli(&[
        "wallet",
        "new",
        "safe",
        "--encrypt",
        "--passphrase-file",
        right,
        "--json",
        "--wallet-dir",
        &keys,
    ])
    .ok()
    .json();
    assert_eq!(made["encrypted"], true);
    let file = std::fs::read_to_string(dir.path().join("wallets/safe.json")).unwrap();
    assert!(
        file.contains("argon2id") && !file.contains("secret_key"),
        "{file}"
    );
    cli(&["wallet", "new", "bob", "--wallet-dir", &keys]).ok();
    // No passphrase source at all: refused, saying how to give one.
    run(
        &["wallet", "new", "x", "--encrypt", "--wallet-dir", &keys],
        "",
        &[],
    )
    .fails_saying("--passphrase-file");

    // The node mines to the encrypted wallet by name: the address needs no passphrase.
    let node = NodeProcess::start("safe", Path::new(&keys));
    let url = node.url.as_str();
    cli(&["mine", "--node", url]).ok();
    let send = |extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec!["send", "--from", "safe", "--to", "bob", "--amount", "1"];
        args.extend_from_slice(&["--wallet-dir", &keys, "--node", url]);
        args.extend_from_slice(extra);
        run(&args, "", env)
    };
    send(&["--passphrase-file", wrong], &[]).fails_saying("wrong passphrase for wallet \"safe\"");
    send(&[], &[("FERROCHAIN_PASSPHRASE", "nope")]).fails_saying("wrong passphrase");
    send(&[], &[]).fails_saying("FERROCHAIN_PASSPHRASE");
    let pending = cli(&[
        "wallet",
        "show",
        "safe",
        "--json",
        "--wallet-dir",
        &keys,
        "--node",
        url,
    ]);
    assert_eq!(
        pending.ok().json()["pending"]["count"],
        0,
        "nothing was sent"
    );

    send(&["--passphrase-file", right], &[]).ok();
    // A wallet kept in the clear is encrypted later, in place, and then asks too.
    cli(&[
        "wallet",
        "encrypt",
        "bob",
        "--passphrase-file",
        right,
        "--wallet-dir",
        &keys,
    ])
    .ok();
    cli(&[
        "wallet",
        "encrypt",
        "bob",
        "--passphrase-file",
        right,
        "--wallet-dir",
        &keys,
    ])
    .fails_saying("already encrypted");
    let from_bob = |extra: &[&str]| {
        let mut args = vec!["send", "--from", "bob", "--to", "safe", "--amount", "0.1"];
        args.extend_from_slice(&["--wallet-dir", &keys, "--node", url]);
        args.extend_from_slice(extra);
        run(&args, "", &[])
    };
    from_bob(&["--passphrase-file", wrong]).fails_saying("wrong passphrase for wallet \"bob\"");
    send(&[], &[("FERROCHAIN_PASSPHRASE", "correct horse battery")]).ok();
    let shown = cli(&[
        "wallet",
        "show",
        "safe",
        "--json",
        "--wallet-dir",
        &keys,
        "--node",
        url,
    ]);
    assert_eq!(shown.ok().json()["pending"]["count"], 2);
}

#[test]
fn wallet_list_history_and_the_lookups_show_what_the_node_holds() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir_arg(&dir);
    let alice = cli(&["wallet", "new", "alice", "--json", "--wallet-dir", &keys]).ok();
    let alice = alice.json()["address"].as_str().unwrap().to_owned();
    cli(&["wallet", "new", "bob", "--wallet-dir", &keys]).ok();

    // No node: the wallets, without balances, and why.
    let down = dead();
    let listed = cli(&["wallet", "list", "--wallet-dir", &keys, "--node", &down]).ok();
    assert!(listed.stdout.contains(&alice), "{}", listed.stdout);
    assert!(
        listed.stdout.contains("no balances: no node answers"),
        "{}",
        listed.stdout
    );
    let listed = cli(&[
        "wallet",
        "list",
        "--json",
        "--wallet-dir",
        &keys,
        "--node",
        &down,
    ])
    .ok();
    let listed = listed.json();
    assert!(listed["balances_unavailable"]
        .as_str()
        .unwrap()
        .contains(&down));
    assert!(listed["wallets"][0].get("balance").is_none());

    let node = NodeProcess::start("alice", Path::new(&keys));
    let url = node.url.as_str();
    let mined = cli(&["mine", "--node", url, "--json"]).ok().json();
    let sent = cli(&[
        "send",
        "--from",
        "alice",
        "--to",
        "bob",
        "--amount",
        "2",
        "--json",
        "--wallet-dir",
        &keys,
        "--node",
        url,
    ])
    .ok()
    .json();
    let id = sent["id"].as_str().unwrap().to_owned();
    let mined2 = cli(&["mine", "--node", url, "--json"]).ok().json();

    // Balances, in words and JSON.
    let listed = cli(&["wallet", "list", "--wallet-dir", &keys, "--node", url]).ok();
    assert!(listed.stdout.contains("balance"), "{}", listed.stdout);
    assert!(listed.stdout.contains("2 FER"), "{}", listed.stdout);
    let listed = cli(&[
        "wallet",
        "list",
        "--json",
        "--wallet-dir",
        &keys,
        "--node",
        url,
    ])
    .ok();
    let listed = listed.json();
    assert_eq!(listed["wallets"][1]["name"], "bob");
    assert_eq!(listed["wallets"][1]["balance"], 200_000_000u64);

    // History: newest first, with heights and confirmations.
    let history = cli(&[
        "wallet",
        "history",
        "alice",
        "--json",
        "--wallet-dir",
        &keys,
        "--node",
        url,
    ])
    .ok()
    .json();
    let entries = history["transactions"].as_array().unwrap();
    let kinds: Vec<(&str, u64, u64)> = entries
        .iter()
        .map(|e| {
            (
                e["direction"].as_str().unwrap(),
                e["height"].as_u64().unwrap(),
                e["confirmations"].as_u64().unwrap(),
            )
        })
        .collect();
    // Block 2 holds alice's reward (index 0) and her transfer (index 1): the transfer first.
    assert_eq!(
        kinds,
        [("sent", 2, 1), ("received", 2, 1), ("received", 1, 2)]
    );
    assert_eq!(entries[0]["transaction"]["id"], id);
    let words = cli(&[
        "wallet",
        "history",
        "bob",
        "--wallet-dir",
        &keys,
        "--node",
        url,
    ])
    .ok();
    assert!(words.stdout.contains("CONFIRMATIONS"), "{}", words.stdout);
    assert!(words.stdout.contains("+2 FER"), "{}", words.stdout);
    assert!(
        words.stdout.contains(&format!("from {alice}")),
        "{}",
        words.stdout
    );
    let paged = cli(&[
        "wallet",
        "history",
        "alice",
        "--limit",
        "1",
        "--wallet-dir",
        &keys,
        "--node",
        url,
    ])
    .ok();
    assert!(paged.stdout.contains("--before 2-1"), "{}", paged.stdout);
    cli(&[
        "wallet",
        "history",
        "carol",
        "--wallet-dir",
        &keys,
        "--node",
        url,
    ])
    .fails_saying("no wallet named \"carol\"");

    // Lookups: a block by height and by hash, a transaction, an address.
    let hash = mined["block"]["hash"].as_str().unwrap();
    for id in ["1", hash] {
        let block = cli(&["block", id, "--json", "--node", url]).ok().json();
        assert_eq!(block["hash"], hash);
    }
    let block = cli(&["block", "2", "--node", url]).ok();
    assert!(block
        .stdout
        .contains(mined2["block"]["hash"].as_str().unwrap()));
    cli(&["block", "99", "--node", url]).fails_saying("no block 99");
    cli(&["block", "x", "--node", url]).fails_saying("neither a height nor");
    let tx = cli(&["tx", &id, "--json", "--node", url]).ok().json();
    assert_eq!(
        (tx["status"].as_str(), tx["index"].as_u64()),
        (Some("confirmed"), Some(2))
    );
    let tx = cli(&["tx", &id, "--node", url]).ok();
    assert!(tx.stdout.contains("mined in block 2"), "{}", tx.stdout);
    cli(&["tx", "00", "--node", url]).fails_saying("refused");
    let looked = cli(&["address", &alice, "--json", "--node", url])
        .ok()
        .json();
    assert_eq!(looked["account"]["address"], alice.as_str());
    assert_eq!(
        looked["history"]["transactions"][0]["transaction"]["id"],
        id
    );
    let looked = cli(&["address", &alice, "--node", url]).ok();
    assert!(looked.stdout.contains("balance") && looked.stdout.contains("CONFIRMATIONS"));
    // A wallet's name stands for its address, and the view names the wallet.
    let named = cli(&["address", "alice", "--wallet-dir", &keys, "--node", url]).ok();
    assert!(named.stdout.contains("wallet alice"), "{}", named.stdout);
    assert!(named.stdout.contains(&alice), "{}", named.stdout);
    let unknown = cli(&[
        "address",
        "carol",
        "--json",
        "--wallet-dir",
        &keys,
        "--node",
        url,
    ]);
    assert_eq!(unknown.code, Some(1));
    assert_eq!(unknown.json()["error"], "bad_address");
    assert!(
        unknown.stderr.contains("no wallet has that name"),
        "{}",
        unknown.stderr
    );
    let bad = cli(&[
        "address",
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        "--json",
        "--node",
        url,
    ]);
    assert_eq!(bad.code, Some(1));
    assert_eq!(bad.json()["error"], "bad_address");
}

#[test]
fn each_kind_of_bad_recipient_gets_its_own_message() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir_arg(&dir);
    let alice = cli(&["wallet", "new", "alice", "--json", "--wallet-dir", &keys]).ok();
    let alice = alice.json()["address"].as_str().unwrap().to_owned();
    // No node is needed: a recipient is checked before anything is signed or sent.
    let down = dead();
    let send = |to: &str| {
        cli(&[
            "send",
            "--from",
            "alice",
            "--to",
            to,
            "--amount",
            "1",
            "--wallet-dir",
            &keys,
            "--node",
            &down,
        ])
    };
    let i = alice.len() - 4;
    let swapped = if &alice[i..=i] == "q" { "p" } else { "q" };
    let typo = format!("{}{swapped}{}", &alice[..i], &alice[i + 1..]);
    let bad_char = format!("{}b{}", &alice[..7], &alice[8..]);
    let cases = [
        ("carol", "no wallet has that name"),
        (
            "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
            "it is a Bitcoin address",
        ),
        (
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
            "it is a Bitcoin address",
        ),
        (
            bad_char.as_str(),
            "character 8 is 'b', which an address never contains",
        ),
        (typo.as_str(), "its checksum does not match"),
    ];
    let mut seen = std::collections::HashSet::new();
    for (to, says) in cases {
        let refused = send(to).fails_saying(says);
        assert!(
            !refused.stderr.contains("no node answers"),
            "{}",
            refused.stderr
        );
        seen.insert(says);
    }
    assert_eq!(seen.len(), 4);
    // An unknown sender is its own message too.
    cli(&[
        "send",
        "--from",
        "dave",
        "--to",
        "alice",
        "--amount",
        "1",
        "--wallet-dir",
        &keys,
        "--node",
        &down,
    ])
    .fails_saying("no wallet named \"dave\"");
}
