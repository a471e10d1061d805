//! The block explorer in a real browser: headless Chromium, driven over the WebDriver protocol
//! (plain HTTP and JSON, spoken with reqwest) through chromedriver.
//!
//! The browser and the driver are Debian's `chromium` and `chromium-driver` (`.ci/run` installs
//! them). `FERROCHAIN_CHROMIUM` and `FERROCHAIN_CHROMEDRIVER` name other binaries; where either
//! is missing the test prints `skipped: no Chromium` and passes, so `cargo test` still passes on
//! a machine without a browser.
//!
//! The home page's screenshot is saved as `target/explorer.png` (and the same page at a phone's
//! 390 px as `target/explorer-phone.png`): test artifacts, for people to look at.

mod common;

use common::*;
use ferrochain::chain::{Amount, Transfer};
use ferrochain::wallet::Keystore;
use serde_json::{json, Value};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Every wait of the test: long enough for a slow, shared CI machine.
const PATIENCE: Duration = Duration::from_secs(30);

/// The browser and its driver: the named binaries, or Debian's; `None` if either is missing.
fn chromium() -> Option<(PathBuf, PathBuf)> {
    let named = |var: &str, default: &str| {
        let path = PathBuf::from(std::env::var_os(var).unwrap_or_else(|| default.into()));
        path.is_file().then_some(path)
    };
    Some((
        named("FERROCHAIN_CHROMIUM", "/usr/bin/chromium")?,
        named("FERROCHAIN_CHROMEDRIVER", "/usr/bin/chromedriver")?,
    ))
}

/// Where test artifacts go: the target directory (`CARGO_TARGET_TMPDIR` is `<target>/tmp`).
fn artifact(name: &str) -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join(name)
}

/// chromedriver, running on a loopback port of its own; dropping it ends the browser session
/// and then the driver's whole process group (the browser included, should it linger).
struct Driver {
    child: Child,
    port: u16,
    session: Option<String>,
}

impl Driver {
    fn start(path: &Path) -> Driver {
        use std::os::unix::process::CommandExt;
        // A free port: bound, read and released (chromedriver takes only a number).
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let child = Command::new(path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so the browser it starts can be ended with it.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", path.display()));
        Driver {
            child,
            port,
            session: None,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Drop cannot await: a blocking request on a plain socket asks the driver to close the
        // browser cleanly.
        if let Some(session) = self.session.take() {
            let _ = raw_delete(self.port, &format!("/session/{session}"));
        }
        // SAFETY: kill(2) with the id of the process group this test created; no memory is
        // shared.
        unsafe {
            libc::kill(-(self.child.id() as i32), libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

/// `DELETE path` to a loopback port, waiting (a bounded time) for the answer.
fn raw_delete(port: u16, path: &str) -> std::io::Result<()> {
    use std::io::{Read, Write};
    let mut socket = std::net::TcpStream::connect(("127.0.0.1", port))?;
    socket.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        socket,
        "DELETE {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = Vec::new();
    socket.read_to_end(&mut answer)?;
    Ok(())
}

/// One WebDriver session: the few commands the test needs.
struct Browser {
    http: reqwest::Client,
    base: String,
}

impl Browser {
    /// Waits for the driver to be ready, then opens a headless browser with its profile in
    /// `profile`.
    async fn open(driver: &mut Driver, binary: &Path, profile: &Path) -> Browser {
        let http = http();
        wait_within(PATIENCE, "chromedriver to be ready", || {
            let request = http.get(driver.url("/status"));
            async move {
                let status: Value = request.send().await.ok()?.json().await.ok()?;
                status["value"]["ready"].as_bool().filter(|&r| r)
            }
        })
        .await;
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
        ]
        .iter()
        .map(|a| a.to_string())
        .chain([format!("--user-data-dir={}", profile.display())])
        .collect::<Vec<_>>();
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": binary, "args": args},
        }}});
        let answer: Value = http
            .post(driver.url("/session"))
            .json(&capabilities)
            .send()
            .await
            .expect("chromedriver answers")
            .json()
            .await
            .expect("a WebDriver answer is JSON");
        let session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {answer}"))
            .to_owned();
        driver.session = Some(session.clone());
        Browser {
            http,
            base: driver.url(&format!("/session/{session}")),
        }
    }

    /// A command's `value`; a WebDriver error fails the test with the driver's message.
    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: not JSON: {e}"));
        if answer["value"]["error"].is_string() {
            panic!("{method} {path}: {}", answer["value"]);
        }
        answer["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    /// Runs `script` in the page with `args`, and returns what it returns.
    async fn run(&self, script: &str, args: Value) -> Value {
        let body = json!({"script": script, "args": args});
        self.command(reqwest::Method::POST, "/execute/sync", Some(body))
            .await
    }

    /// The text of the first element `css` selects, if there is one.
    async fn text(&self, css: &str) -> Option<String> {
        let script =
            "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;";
        self.run(script, json!([css]))
            .await
            .as_str()
            .map(str::to_owned)
    }

    /// Waits until the first element `css` selects has text for which `check` holds; returns it.
    async fn wait_text(&self, what: &str, css: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let text = self.text(css).await;
            if let Some(text) = text.as_deref().filter(|t| check(t)) {
                return text.to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting {PATIENCE:?} for {what}: {css} shows {text:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until `script` returns true in the page.
    async fn wait_true(&self, what: &str, script: &str) {
        let deadline = Instant::now() + PATIENCE;
        while self.run(script, json!([])).await != Value::Bool(true) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting {PATIENCE:?} for {what}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Types `query` into the search box as a person would, and presses Enter.
    async fn search(&self, query: &str) {
        let found = self
            .command(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": "#search-form #search"})),
            )
            .await;
        let element = found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .expect("the search box")
            .to_owned();
        let path = format!("/element/{element}");
        self.command(
            reqwest::Method::POST,
            &format!("{path}/clear"),
            Some(json!({})),
        )
        .await;
        self.command(
            reqwest::Method::POST,
            &format!("{path}/value"),
            Some(json!({"text": format!("{query}\u{E007}")})),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let found = self
            .command(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        let element = found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_owned();
        self.command(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    async fn resize(&self, width: u32, height: u32) {
        let rect = json!({"width": width, "height": height});
        self.command(reqwest::Method::POST, "/window/rect", Some(rect))
            .await;
    }

    /// A PNG of the whole window, saved to `path`.
    async fn screenshot(&self, path: &Path) {
        let encoded = self
            .command(reqwest::Method::GET, "/screenshot", None)
            .await;
        let png = base64_decode(encoded.as_str().expect("a base64 screenshot"));
        assert!(png.starts_with(b"\x89PNG"), "the screenshot is a PNG");
        std::fs::write(path, png)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
}

/// Standard base64 (the WebDriver screenshot's encoding), without a dependency for it.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {:?}", c as char),
    };
    let digits: Vec<u8> = text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        .map(value)
        .collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &d)| n | (d as u32) << (18 - 6 * i));
        out.extend(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

/// `POST /mine`: the hash of the block mined.
async fn mine(node: &TestNode) -> String {
    let resp = http().post(node.url("/mine")).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    let mined: Value = resp.json().await.unwrap();
    mined["block"]["hash"].as_str().unwrap().to_owned()
}

/// `POST path` with `body`, which must succeed.
async fn operator(node: &TestNode, path: &str, body: Value) {
    let resp = http()
        .post(node.url(path))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "POST {path}: {}", resp.status());
}

async fn submit(node: &TestNode, transfer: &Transfer) {
    let resp = http()
        .post(node.url("/transactions"))
        .json(transfer)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
}

#[test]
fn base64_decodes_what_webdriver_sends() {
    assert_eq!(base64_decode("iVBORw0KGgo="), b"\x89PNG\r\n\x1a\n");
    assert_eq!(base64_decode("TWFu"), b"Man");
    assert_eq!(base64_decode("TWE="), b"Ma");
    assert_eq!(base64_decode("TQ=="), b"M");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_explorer_shows_the_chain_finds_blocks_and_transfers_and_follows_new_blocks() {
    let Some((browser_binary, driver_binary)) = chromium() else {
        println!(
            "skipped: no Chromium (install chromium and chromium-driver, or name them with \
             FERROCHAIN_CHROMIUM and FERROCHAIN_CHROMEDRIVER)"
        );
        return;
    };

    // A chain with a confirmed transfer, one more waiting, and notes; a peer, and a ban.
    let wallets = tempfile::tempdir().unwrap();
    let keys = Keystore::new(wallets.path().join("wallets"));
    let (alice, bob) = (keys.create("alice").unwrap(), keys.create("bob").unwrap());
    let node =
        TestNode::start_with(tempfile::tempdir().unwrap(), params(), Some(alice.address)).await;
    let peer = TestNode::start(params()).await;
    operator(&node, "/nodes/register", json!({"nodes": [peer.url("")]})).await;
    let ban =
        json!({"node": "http://127.0.0.1:9", "seconds": 600, "reason": "sent an invalid block"});
    operator(&node, "/nodes/ban", ban).await;
    for _ in 0..20 {
        mine(&node).await;
    }
    let chain_id = params().genesis_hash();
    let pay = |coins, nonce| {
        alice.sign_transfer(
            bob.address,
            Amount::from_coins(coins),
            Amount::from_units(1_000),
            nonce,
            &chain_id,
        )
    };
    let confirmed = pay(7, 0);
    submit(&node, &confirmed).await;
    mine(&node).await;
    let notes = json!({"transactions": ["Alice pays Bob 10 BTC", "<b>not markup</b>"]});
    operator(&node, "/mine", notes).await;
    submit(&node, &pay(2, 1)).await;
    let tip = node.node.tip().hash.to_string();

    let mut driver = Driver::start(&driver_binary);
    let profile = tempfile::tempdir().unwrap();
    let browser = Browser::open(&mut driver, &browser_binary, profile.path()).await;

    // The home page: the tip's full hash, the recent blocks, the waiting transfer, the peers.
    browser.goto(&node.url("/")).await;
    browser
        .wait_text("the tip's full hash", "#tip-hash", |t| t == tip)
        .await;
    browser
        .wait_text("the mempool's transfer", "#mempool-list", |t| {
            t.contains("2 FER")
        })
        .await;
    let recent = browser.text("#recent-blocks").await.unwrap_or_default();
    assert!(recent.contains(&tip[..8]), "recent blocks: {recent}");
    browser
        .wait_text("the peer and the ban", "#peer-list", |t| {
            t.contains(&peer.url("")) && t.contains("sent an invalid block")
        })
        .await;
    assert_eq!(browser.text("#page-error").await, None);

    // Something that matches nothing says so, and stays on the page.
    browser.search("no such thing").await;
    browser
        .wait_text("the search's verdict", "#search-message", |t| {
            t.contains("Nothing matches")
        })
        .await;
    assert!(browser.text("#page-home").await.is_some());

    // A block by height: its page, on the main chain, with its entries as text.
    let height = node.node.tip().height.get().to_string();
    browser.search(&height).await;
    browser
        .wait_text("the block's page", "#page-block #block-height", |t| {
            t == height
        })
        .await;
    assert_eq!(browser.text("#block-hash").await, Some(tip.clone()));
    let branch = browser.text("#block-branch").await.unwrap_or_default();
    assert!(branch.contains("main chain"), "{branch}");
    let entries = browser.text("#entry-list").await.unwrap_or_default();
    assert!(entries.contains("<b>not markup</b>"), "{entries}");

    // The transfer by its id: confirmed, with its confirmations.
    let id = confirmed.txid().to_string();
    browser.search(&id).await;
    browser
        .wait_text("the transfer's page", "#page-tx #tx-id", |t| t == id)
        .await;
    let status = browser.text("#tx-status").await.unwrap_or_default();
    assert!(status.contains("confirmed"), "{status}");
    assert_eq!(
        browser.text("#tx-confirmations").await.as_deref(),
        Some("2")
    );

    // Back home; a block mined meanwhile appears without a reload (the mark stays).
    browser.click("#home-link").await;
    browser
        .wait_text("the home page", "#tip-hash", |t| t == tip)
        .await;
    browser
        .run("window.explorerMark = 'same page'; return null;", json!([]))
        .await;
    let mined = mine(&node).await;
    browser
        .wait_text("the new block's hash", "#tip-hash", |t| t == mined)
        .await;
    browser
        .wait_text("the new block in the list", "#recent-blocks", |t| {
            t.contains(&mined[..8])
        })
        .await;
    browser
        .wait_text("the mined transfer to leave the mempool", "#mempool", |t| {
            t.contains("Empty")
        })
        .await;
    let mark = browser
        .run("return window.explorerMark || null;", json!([]))
        .await;
    assert_eq!(mark, "same page", "the page was reloaded");

    // The whole home page in one picture: the window grown until the page fits it.
    let mut height = 900;
    for _ in 0..3 {
        let more = browser
            .run(
                "const d = document.documentElement; return d.scrollHeight - d.clientHeight;",
                json!([]),
            )
            .await;
        match more.as_u64().filter(|&m| m > 0) {
            Some(more) => height = (height + more as u32).min(4000),
            None => break,
        }
        browser.resize(1280, height).await;
    }
    let screenshot = artifact("explorer.png");
    browser.screenshot(&screenshot).await;
    println!("explorer screenshot: {}", screenshot.display());

    // A phone's width: the chart redrawn for it, and nothing wider than the screen.
    browser.resize(390, 844).await;
    browser
        .wait_true(
            "the chart to be redrawn for a phone",
            "const c = document.querySelector('#chart svg'); return !!c && c.viewBox.baseVal.width < 400;",
        )
        .await;
    let wide = browser
        .run(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            json!([]),
        )
        .await;
    assert_eq!(
        wide.as_i64(),
        Some(0),
        "the page scrolls sideways at 390 px"
    );
    let phone = artifact("explorer-phone.png");
    browser.screenshot(&phone).await;
    println!("explorer screenshot at 390 px: {}", phone.display());

    // A block beside the main chain: its page says so and names the main chain's block.
    let tip = node.tip_block().await;
    let parent = node.node.chain().block(tip.header.prev_hash).await;
    let side = mine_on(&parent.unwrap().unwrap(), vec![note("a branch")]);
    let resp = http()
        .post(node.url("/add_block"))
        .json(&side)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202, "the block is stored on a side branch");
    browser
        .goto(&node.url(&format!("/#/block/{}", side.hash())))
        .await;
    let branch = browser
        .wait_text("the side block's branch", "#block-branch", |t| {
            t.contains("side branch")
        })
        .await;
    assert!(branch.contains(&tip.hash().to_string()[..8]), "{branch}");
}
