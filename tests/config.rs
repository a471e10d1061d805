//! The binary's configuration, driven as an operator would: a value from a flag, from a
//! `FERROCHAIN_*` variable, from the configuration file or the default, in that order; values
//! that are refused rather than adjusted; the forms `--node` takes; `bench --json`; and the
//! help every option and subcommand carries.

mod common;

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ferrochain");
/// How long one CLI run may take.
const DEADLINE: Duration = Duration::from_secs(30);

/// The binary with no `FERROCHAIN_*` variable of the test runner's environment.
fn ferrochain() -> Command {
    let mut cmd = Command::new(BIN);
    for (name, _) in std::env::vars() {
        if name.starts_with("FERROCHAIN_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("RUST_LOG", "warn").stdin(Stdio::null());
    cmd
}

/// A node on port 0 in `dir` (its chain in `dir/chain` unless the arguments say otherwise).
fn node(dir: &Path) -> Command {
    let mut cmd = ferrochain();
    cmd.args(["node", "0", "--threads", "1"])
        .arg("--peers")
        .arg(dir.join("none.json"));
    cmd
}

/// Runs `cmd` to its end (within [`DEADLINE`]): exit code, stdout, stderr.
fn run(mut cmd: Command) -> (Option<i32>, String, String) {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let waiter = std::thread::spawn(move || child.wait_with_output().unwrap());
    let deadline = Instant::now() + DEADLINE;
    while !waiter.is_finished() {
        if Instant::now() > deadline {
            // SAFETY: kill(2) on the pid of our own child, which has not been reaped yet.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            panic!("{cmd:?} did not finish within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = waiter.join().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Starts `cmd` (a node), reads `GET /status` once it listens, and stops it.
fn status_of(cmd: Command) -> Value {
    let (mut child, url) = common::spawn_listening(cmd);
    let status = reqwest::blocking::get(format!("{url}/status"))
        .unwrap()
        .json()
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    status
}

#[test]
fn a_flag_beats_the_environment_which_beats_the_file_which_beats_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("node.toml");
    std::fs::write(&file, "difficulty = 9\nmax-peers = 7\n").unwrap();
    let difficulty = |case: &str, env: Option<&str>, flag: Option<&str>, config: bool| {
        let mut cmd = node(dir.path());
        cmd.arg("--data-dir").arg(dir.path().join(case));
        if config {
            cmd.arg("--config").arg(&file);
        }
        if let Some(bits) = env {
            cmd.env("FERROCHAIN_DIFFICULTY", bits);
        }
        if let Some(bits) = flag {
            cmd.args(["--difficulty", bits]);
        }
        status_of(cmd)["params"]["difficulty"].as_u64().unwrap()
    };
    assert_eq!(difficulty("flag", Some("10"), Some("11"), true), 11);
    assert_eq!(difficulty("env", Some("10"), None, true), 10);
    assert_eq!(difficulty("file", None, None, true), 9);
    assert_eq!(difficulty("default", None, None, false), 20);
}

#[test]
fn the_data_directorys_own_file_is_read_and_keeps_the_node_there() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("chain");
    std::fs::create_dir(&data).unwrap();
    // The port it names does not move the node to data/<PORT>: the file was found here.
    std::fs::write(data.join("ferrochain.toml"), "port = 0\ndifficulty = 12\n").unwrap();
    let mut cmd = ferrochain();
    cmd.args(["node", "--threads", "1", "--data-dir"])
        .arg(&data)
        .arg("--peers")
        .arg(dir.path().join("none.json"));
    assert_eq!(status_of(cmd)["params"]["difficulty"], 12);
    assert!(data.join("miner.key").is_file());

    // It cannot name another data directory: which one would hold the file?
    std::fs::write(data.join("ferrochain.toml"), "data-dir = \"elsewhere\"\n").unwrap();
    let mut cmd = ferrochain();
    cmd.args(["node", "0", "--data-dir"]).arg(&data);
    let (code, _, stderr) = run(cmd);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("`data-dir` cannot be set"), "{stderr}");
}

#[test]
fn a_bad_configuration_file_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("node.toml");
    let refusal = |text: &str| {
        std::fs::write(&file, text).unwrap();
        let mut cmd = node(dir.path());
        cmd.arg("--data-dir").arg(dir.path().join("chain"));
        cmd.arg("--config").arg(&file);
        let (code, stdout, stderr) = run(cmd);
        assert_eq!(code, Some(2), "{text}: {stdout}");
        stderr
    };
    let unknown = refusal("port = 0\nmax_peers = 3\n");
    assert!(unknown.contains("unknown key `max_peers`"), "{unknown}");
    assert!(unknown.contains("max-peers"), "{unknown}");
    // Values are held to the flag's own rule, and the message names where the value came from.
    let zero = refusal("threads = 0\n");
    assert!(
        zero.contains("node.toml: `threads` = 0: at least 1 thread"),
        "{zero}"
    );
    let kind = refusal("peer = { url = \"x\" }\n");
    assert!(kind.contains("`peer` takes"), "{kind}");
    let toml = refusal("port = \n");
    assert!(toml.contains("not TOML"), "{toml}");
    let missing = {
        let mut cmd = node(dir.path());
        cmd.arg("--config").arg(dir.path().join("absent.toml"));
        run(cmd).2
    };
    assert!(
        missing.contains("cannot read the configuration file"),
        "{missing}"
    );
    // Nothing was started by any of these.
    assert!(!dir.path().join("chain").exists());
}

#[test]
fn values_out_of_range_are_refused_not_adjusted() {
    let dir = tempfile::tempdir().unwrap();
    let refused = |args: &[&str], says: &str| {
        let mut cmd = ferrochain();
        cmd.args(args);
        let (code, stdout, stderr) = run(cmd);
        assert_eq!(code, Some(2), "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    };
    let data = dir.path().join("chain");
    let data = data.to_str().unwrap();
    refused(
        &["node", "0", "--threads", "0", "--data-dir", data],
        "at least 1 thread is needed, got 0",
    );
    refused(&["bench", "--seconds", "0"], "0 is not in 1..=3600");
    refused(&["bench", "--threads", "0"], "at least 1 thread");
    let wallets = dir.path().join("wallets");
    let wallets = wallets.to_str().unwrap();
    let send = ["send", "--from", "a", "--to", "b", "--wallet-dir", wallets];
    refused(
        &[&send[..], &["--amount", "-1"]].concat(),
        "amounts cannot be negative, got -1",
    );
    refused(
        &[&send[..], &["--amount", "1", "--fee", "-0.5"]].concat(),
        "amounts cannot be negative, got -0.5",
    );
    refused(
        &[&send[..], &["--amount", "0"]].concat(),
        "the amount must be more than 0",
    );
    assert!(!dir.path().join("chain").exists());
}

/// `node --kernel` picks the miner's kernel, which `GET /status` names; a name that is not a
/// kernel, or one this CPU cannot run, fails the start before anything is made.
#[test]
fn node_mines_with_the_kernel_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("chain");
    let mut cmd = node(dir.path());
    cmd.arg("--data-dir")
        .arg(&data)
        .args(["--kernel", "portable"]);
    assert_eq!(status_of(cmd)["mining"]["kernel"], "portable");

    let elsewhere = dir.path().join("other");
    let refused = |kernel: &str, says: &str| {
        let mut cmd = node(dir.path());
        cmd.arg("--data-dir")
            .arg(&elsewhere)
            .args(["--kernel", kernel]);
        let (code, stdout, stderr) = run(cmd);
        assert_eq!(code, Some(2), "{kernel}: {stdout}{stderr}");
        assert!(stderr.contains(says), "{kernel}: {stderr}");
    };
    refused("sha-3", "unknown mining kernel \"sha-3\"");
    let missing = ferrochain::mining::Kernel::ALL
        .into_iter()
        .find(|k| !k.is_available());
    match missing {
        Some(kernel) => refused(&kernel.to_string(), "this CPU cannot run"),
        None => eprintln!("this CPU runs every kernel: no unavailable one to refuse"),
    }
    assert!(!elsewhere.exists());
}

#[test]
fn node_takes_a_url_a_host_and_port_or_a_bare_port() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = node(dir.path());
    cmd.arg("--data-dir").arg(dir.path().join("chain"));
    cmd.args(["--difficulty", "8"]);
    let (mut child, url) = common::spawn_listening(cmd);
    let port = url.rsplit(':').next().unwrap().to_owned();
    for node in [url.clone(), format!("127.0.0.1:{port}"), port.clone()] {
        let mut cmd = ferrochain();
        cmd.args(["status", "--json", "--node", &node]);
        let (code, stdout, stderr) = run(cmd);
        assert_eq!(code, Some(0), "--node {node}: {stderr}");
        let status: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(status["params"]["difficulty"], 8, "--node {node}");
    }
    // And from the environment, like every connection option.
    let mut cmd = ferrochain();
    cmd.args(["status", "--json"]).env("FERROCHAIN_NODE", &port);
    assert_eq!(run(cmd).0, Some(0));
    child.kill().unwrap();
    child.wait().unwrap();

    // Where nothing answers, the message names the URL tried and how to start a node there.
    let (down, _) = common::free_port();
    let mut cmd = ferrochain();
    cmd.args(["status", "--node", &down.to_string()]);
    let (code, _, stderr) = run(cmd);
    assert_eq!(code, Some(1));
    assert_eq!(
        stderr.trim_end(),
        format!(
            "error: no node answers at http://127.0.0.1:{down}; start one there with \
             `ferrochain node {down}`"
        )
    );
    let mut cmd = ferrochain();
    cmd.args(["status", "--node", "0"]);
    let (code, _, stderr) = run(cmd);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("port 0 names no node"), "{stderr}");
}

#[test]
fn bench_prints_its_figures_as_json() {
    let mut cmd = ferrochain();
    cmd.args(["bench", "--seconds", "1", "--threads", "1", "--json"]);
    let (code, stdout, stderr) = run(cmd);
    assert_eq!(code, Some(0), "{stderr}");
    let v: Value = serde_json::from_str(&stdout).expect("stdout is one JSON document");
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{v}");
    assert_eq!(runs[0]["threads"], 1);
    assert!(runs[0]["hash_rate"].as_f64().unwrap() > 0.0, "{v}");
    assert!(runs[0]["elapsed_ms"].as_f64().unwrap() >= 1000.0, "{v}");
    // A second of hashing is long enough for the kernel's CPU accounting.
    assert!(runs[0]["cpu_percent"].as_f64().unwrap() > 0.0, "{v}");
}

#[test]
fn node_help_groups_its_options_and_every_option_has_help() {
    let mut cmd = ferrochain();
    cmd.args(["node", "-h"]);
    let (code, help, _) = run(cmd);
    assert_eq!(code, Some(0));
    let section = |heading: &str| {
        let start = help
            .find(&format!("\n{heading}:\n"))
            .unwrap_or_else(|| panic!("no {heading} section in:\n{help}"));
        let rest = &help[start + heading.len() + 3..];
        rest[..rest.find("\n\n").unwrap_or(rest.len())].to_owned()
    };
    let chain = section("Chain rules (for a new chain)");
    for option in ["--difficulty", "--retarget-interval", "--block-time"] {
        assert!(
            chain.contains(option),
            "{option} under chain rules:\n{chain}"
        );
    }
    for option in ["--address", "--threads", "--miner", "--wallet-dir"] {
        assert!(
            !chain.contains(option),
            "{option} is not a chain rule:\n{chain}"
        );
    }
    let mining = section("Mining");
    for option in ["--threads", "--miner", "--wallet-dir"] {
        assert!(mining.contains(option), "{option} under mining:\n{mining}");
    }
    assert!(section("Network").contains("--address"));
    assert!(help.contains("[env: FERROCHAIN_PORT=]"), "{help}");
    assert!(help.contains("[env: FERROCHAIN_DATA_DIR=]"), "{help}");
}
