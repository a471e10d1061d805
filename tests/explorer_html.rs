//! The explorer without JavaScript: the pages under `/explorer/html` on a live node, read as a
//! browser would (no script runs), for real blocks, a side branch, a funded transfer, a note
//! that holds markup, the search, and requests that name nothing.

mod common;

use common::*;
use ferrochain::api::DEFAULT_HISTORY_PAGE;
use ferrochain::chain::{Address, Amount, Block, Height, Transfer};
use ferrochain::wallet::{Keystore, Wallet};
use serde_json::{json, Value};

/// An answer as a browser gets it: status, content type, the policy header, the body.
struct Answer {
    status: u16,
    content_type: String,
    policy: String,
    location: Option<String>,
    body: String,
}

/// `GET path`, redirects not followed (the search answers with them).
async fn get(node: &TestNode, path: &str) -> Answer {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = client.get(node.url(path)).send().await.unwrap();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    Answer {
        status: resp.status().as_u16(),
        content_type: header("content-type").unwrap_or_default(),
        policy: header("content-security-policy").unwrap_or_default(),
        location: header("location"),
        body: resp.text().await.unwrap(),
    }
}

/// `GET path`, which must be a page: 200, HTML, the explorer's policy, no script or inline
/// style. Its body.
async fn page(node: &TestNode, path: &str) -> String {
    let answer = get(node, path).await;
    assert_eq!(answer.status, 200, "{path}: {}", answer.body);
    assert_plain_page(path, &answer);
    answer.body
}

fn assert_plain_page(path: &str, answer: &Answer) {
    assert!(
        answer.content_type.starts_with("text/html"),
        "{path}: {}",
        answer.content_type
    );
    assert!(answer.policy.contains("script-src 'self'"), "{path}");
    assert!(answer.body.starts_with("<!DOCTYPE html>"), "{path}");
    assert!(!answer.body.contains("<script"), "{path} has a script");
    assert!(
        !answer.body.contains("style="),
        "{path} has an inline style"
    );
}

/// The text of the element with `id` (up to its first closing tag), markup stripped.
fn text_of(body: &str, id: &str) -> String {
    let start = body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {body}"));
    let inner = &body[start..];
    let inner = &inner[inner.find('>').unwrap() + 1..];
    let end = ["</dd>", "</strong>", "</code>", "</p>"]
        .iter()
        .filter_map(|tag| inner.find(tag))
        .min()
        .unwrap();
    let mut text = String::new();
    let mut in_tag = false;
    for c in inner[..end].chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.trim().to_owned()
}

fn link(path: &str) -> String {
    format!("href=\"{path}\"")
}

async fn post(node: &TestNode, path: &str, body: &Value) -> Value {
    let resp = http().post(node.url(path)).json(body).send().await.unwrap();
    let status = resp.status().as_u16();
    let v: Value = resp.json().await.unwrap();
    assert!((200..300).contains(&status), "POST {path}: {status} {v}");
    v
}

/// `POST /mine` with `notes`: the block mined, as JSON.
async fn mine(node: &TestNode, notes: &[&str]) -> Value {
    post(node, "/mine", &json!({ "transactions": notes })).await["block"].clone()
}

/// A block paying its reward to `wallet`, added to `node`.
async fn fund(node: &TestNode, wallet: &Wallet) -> Block {
    let block = mine_on_to(&params(), &node.tip_block().await, wallet.address, vec![]);
    post(node, "/add_block", &serde_json::to_value(&block).unwrap()).await;
    block
}

fn pay(from: &Wallet, to: &Wallet, coins: u64, nonce: u64) -> Transfer {
    from.sign_transfer(
        to.address,
        Amount::from_coins(coins),
        Amount::from_units(1_000),
        nonce,
        &params().genesis_hash(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_home_page_shows_the_tip_and_links_the_recent_blocks() {
    let node = TestNode::start(params()).await;
    let mut hashes = Vec::new();
    for _ in 0..3 {
        hashes.push(mine(&node, &[]).await["hash"].as_str().unwrap().to_owned());
    }
    let tip = node.node.tip();
    assert_eq!(tip.hash.to_string(), hashes[2]);

    let home = page(&node, "/explorer/html").await;
    assert_eq!(text_of(&home, "tip-hash"), tip.hash.to_string());
    assert_eq!(text_of(&home, "tip-height"), "3");
    let difficulty = node.node.status().difficulty;
    assert_eq!(
        text_of(&home, "difficulty"),
        format!("{difficulty:.2} bits")
    );
    assert_eq!(text_of(&home, "mempool-count"), "0 transfers");
    // Every block, genesis too, is listed newest first and links to its page.
    let genesis = params().genesis_hash().to_string();
    let listed: Vec<usize> = hashes
        .iter()
        .rev()
        .chain([&genesis])
        .map(|h| {
            home.find(&link(&format!("/explorer/html/block/{h}")))
                .unwrap_or_else(|| panic!("{h} is not linked"))
        })
        .collect();
    assert!(listed.windows(2).all(|w| w[0] < w[1]), "{listed:?}");
    // Each row tells the block's entries and size, as `GET /headers` does.
    let headers: serde_json::Value =
        serde_json::from_str(&get(&node, "/headers?from=3&limit=1").await.body).unwrap();
    let tip_row = &home[listed[0]..listed[1]];
    let (entries, bytes) = (
        &headers["headers"][0]["entries"],
        &headers["headers"][0]["bytes"],
    );
    assert!(
        tip_row.contains(&format!("<td>{entries}</td><td>{bytes} B</td>")),
        "{tip_row}"
    );

    // The live explorer's page points browsers without JavaScript here, and its search box
    // reaches the search without a script.
    let index = get(&node, "/").await.body;
    let noscript = &index[index.find("<noscript>").unwrap()..index.find("</noscript>").unwrap()];
    assert!(noscript.contains(&link("/explorer/html")), "{noscript}");
    assert!(index.contains("action=\"/explorer/html/search\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_pages_show_the_header_its_neighbours_and_its_branch() {
    let node = TestNode::start(params()).await;
    let first = mine(&node, &["first"]).await;
    let second = mine(&node, &["second"]).await;
    let (hash1, hash2) = (
        first["hash"].as_str().unwrap(),
        second["hash"].as_str().unwrap(),
    );

    // The tip by height and by hash: the same page, with every header field.
    let by_height = page(&node, "/explorer/html/block/2").await;
    let by_hash = page(&node, &format!("/explorer/html/block/{hash2}")).await;
    assert_eq!(by_height, by_hash);
    assert_eq!(text_of(&by_hash, "block-height"), "2");
    assert_eq!(text_of(&by_hash, "block-hash"), hash2);
    assert_eq!(text_of(&by_hash, "block-branch"), "main chain");
    assert_eq!(text_of(&by_hash, "block-confirmations"), "1");
    assert_eq!(text_of(&by_hash, "block-previous"), hash1);
    assert!(by_hash.contains(&link(&format!("/explorer/html/block/{hash1}"))));
    assert_eq!(
        text_of(&by_hash, "block-next"),
        "none yet (this is the tip)"
    );
    for field in ["merkle_root", "nonce", "version"] {
        let value = second[field].to_string();
        assert!(
            by_hash.contains(value.trim_matches('"')),
            "{field} {value} is not shown"
        );
    }
    assert!(by_hash.contains(&format!("({})", second["target"].as_str().unwrap())));
    assert!(by_hash.contains("second") && by_hash.contains("reward"));

    // One below: two confirmations, and the tip as its next block.
    let below = page(&node, "/explorer/html/block/1").await;
    assert_eq!(text_of(&below, "block-confirmations"), "2");
    assert_eq!(text_of(&below, "block-next"), hash2);
    let genesis = page(&node, "/explorer/html/block/0").await;
    assert_eq!(text_of(&genesis, "block-previous"), "none (genesis)");

    // A block beside the main chain says so, and names the main chain's block at its height.
    let parent = node
        .node
        .chain()
        .block_at(Height::new(1))
        .await
        .unwrap()
        .unwrap();
    let side = mine_on(&parent, vec![note("a branch")]);
    let resp = http()
        .post(node.url("/add_block"))
        .json(&side)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202, "stored on a side branch");
    let side_page = page(&node, &format!("/explorer/html/block/{}", side.hash())).await;
    let branch = text_of(&side_page, "block-branch");
    assert!(branch.starts_with("side branch"), "{branch}");
    assert!(side_page.contains(&link(&format!("/explorer/html/block/{hash2}"))));
    assert_eq!(
        text_of(&side_page, "block-confirmations"),
        "0 (not on the main chain)"
    );
    assert_eq!(text_of(&side_page, "block-previous"), hash1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_funded_transfer_has_its_transaction_and_address_pages() {
    let wallets = tempfile::tempdir().unwrap();
    let keys = Keystore::new(wallets.path().join("wallets"));
    let (alice, bob) = (keys.create("alice").unwrap(), keys.create("bob").unwrap());
    let node = TestNode::start(params()).await;
    let funding = fund(&node, &alice).await;

    // Waiting in the mempool: a pending transaction, on both addresses' pages.
    let transfer = pay(&alice, &bob, 7, 0);
    let id = transfer.txid().to_string();
    post(
        &node,
        "/transactions",
        &serde_json::to_value(&transfer).unwrap(),
    )
    .await;
    let pending = page(&node, &format!("/explorer/html/tx/{id}")).await;
    assert_eq!(text_of(&pending, "tx-id"), id);
    assert_eq!(text_of(&pending, "tx-status"), "pending (in the mempool)");
    assert!(!pending.contains("tx-confirmations"));
    let home = page(&node, "/explorer/html").await;
    assert_eq!(text_of(&home, "mempool-count"), "1 transfer");
    assert!(home.contains(&link(&format!("/explorer/html/tx/{id}"))));
    let bobs = page(&node, &format!("/explorer/html/address/{}", bob.address)).await;
    assert!(bobs.contains(&link(&format!("/explorer/html/tx/{id}"))));
    assert_eq!(text_of(&bobs, "address-balance"), "0 FER");

    // Mined, then buried one block deeper.
    let mined = mine(&node, &[]).await;
    mine(&node, &[]).await;
    let confirmed = page(&node, &format!("/explorer/html/tx/{id}")).await;
    assert_eq!(text_of(&confirmed, "tx-status"), "confirmed");
    assert_eq!(text_of(&confirmed, "tx-confirmations"), "2");
    assert_eq!(
        text_of(&confirmed, "tx-block"),
        mined["hash"].as_str().unwrap()
    );
    assert_eq!(text_of(&confirmed, "tx-from"), alice.address.to_string());
    assert_eq!(text_of(&confirmed, "tx-to"), bob.address.to_string());
    assert_eq!(text_of(&confirmed, "tx-amount"), "7 FER");

    // The address pages show what the JSON API says of them.
    for wallet in [&alice, &bob] {
        let account = get(&node, &format!("/accounts/{}", wallet.address)).await;
        let account: Value = serde_json::from_str(&account.body).unwrap();
        let balance = Amount::from_units(account["balance"].as_u64().unwrap());
        let html = page(&node, &format!("/explorer/html/address/{}", wallet.address)).await;
        assert_eq!(text_of(&html, "address"), wallet.address.to_string());
        assert_eq!(text_of(&html, "address-balance"), balance.to_string());
        assert!(html.contains(&link(&format!("/explorer/html/tx/{id}"))));
        assert!(html.contains("Nothing waiting in the mempool."));
        assert!(!html.contains("id=\"older-link\""), "one page of history");
    }
    let alices = page(&node, &format!("/explorer/html/address/{}", alice.address)).await;
    assert_eq!(
        text_of(&alices, "address-nonce"),
        "1 mined (next transfer: 1)"
    );
    let reward = funding.transactions[0].txid().to_string();
    assert!(alices.contains(&link(&format!("/explorer/html/tx/{reward}"))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_history_links_to_its_older_page() {
    let wallets = tempfile::tempdir().unwrap();
    let keys = Keystore::new(wallets.path().join("wallets"));
    let miner = keys.create("miner").unwrap();
    let node =
        TestNode::start_with(tempfile::tempdir().unwrap(), params(), Some(miner.address)).await;
    // One reward more than a page holds.
    for _ in 0..=DEFAULT_HISTORY_PAGE {
        mine(&node, &[]).await;
    }
    let first_reward = node
        .node
        .chain()
        .block_at(Height::new(1))
        .await
        .unwrap()
        .unwrap();
    let first_reward = first_reward.transactions[0].txid().to_string();
    let newest = page(&node, &format!("/explorer/html/address/{}", miner.address)).await;
    assert!(
        !newest.contains(&first_reward),
        "the oldest is on the next page"
    );
    let older = format!("/explorer/html/address/{}?before=2-0", miner.address);
    assert!(newest.contains(&link(&older)), "no link to the older page");
    let page2 = page(&node, &older).await;
    assert!(page2.contains(&link(&format!("/explorer/html/tx/{first_reward}"))));
    assert!(!page2.contains("id=\"older-link\""), "the last page");
    assert!(page2.contains(&link(&format!("/explorer/html/address/{}", miner.address))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markup_in_a_note_or_a_request_is_shown_as_text() {
    let node = TestNode::start(params()).await;
    let attack = "<script>alert(1)</script>";
    let block = mine(&node, &[attack, "\"quoted\" & <b>bold</b>"]).await;
    let html = page(
        &node,
        &format!("/explorer/html/block/{}", block["hash"].as_str().unwrap()),
    )
    .await;
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(html.contains("&quot;quoted&quot; &amp; &lt;b&gt;bold&lt;/b&gt;"));
    assert!(!html.contains("<b>bold"));

    // What a request says is echoed escaped too.
    for path in [
        "/explorer/html/block/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/explorer/html/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/explorer/html/address/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    ] {
        let answer = get(&node, path).await;
        assert!((400..500).contains(&answer.status), "{path}");
        assert_plain_page(path, &answer);
        assert!(
            answer.body.contains("&lt;script&gt;"),
            "{path}: {}",
            answer.body
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_ids_are_refused_with_a_page_saying_why() {
    let node = TestNode::start(params()).await;
    let nobody = "0".repeat(64);
    let someone = Address::from_bytes([5; 32]);
    for (path, status, says) in [
        ("/explorer/html/block/xyz".to_owned(), 400, "bad_block_id"),
        ("/explorer/html/block/+1".to_owned(), 400, "bad_block_id"),
        ("/explorer/html/block/99".to_owned(), 404, "no block 99"),
        (format!("/explorer/html/block/{nobody}"), 404, "not_found"),
        (
            "/explorer/html/tx/abc".to_owned(),
            400,
            "bad_transaction_id",
        ),
        (format!("/explorer/html/tx/{nobody}"), 404, "no transaction"),
        (
            "/explorer/html/address/bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq".to_owned(),
            400,
            "bad_address",
        ),
        (
            format!("/explorer/html/address/{someone}?before=12"),
            400,
            "bad_query",
        ),
        (
            format!("/explorer/html/address/{someone}?before=1-0&before=2-0"),
            400,
            "more than once",
        ),
        (
            "/explorer/html/search?q=nothing".to_owned(),
            404,
            "nothing matches",
        ),
        (
            "/explorer/html/search?q=99".to_owned(),
            404,
            "the chain's height is 0",
        ),
    ] {
        let answer = get(&node, &path).await;
        assert_eq!(answer.status, status, "{path}: {}", answer.body);
        assert_plain_page(&path, &answer);
        assert!(answer.body.contains(says), "{path}: {}", answer.body);
    }
    // An address with nothing yet is a page, not an error.
    let empty = page(&node, &format!("/explorer/html/address/{someone}")).await;
    assert_eq!(text_of(&empty, "address-balance"), "0 FER");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_search_sends_each_kind_of_id_to_its_page() {
    let node = TestNode::start(params()).await;
    let block = mine(&node, &[]).await;
    let hash = block["hash"].as_str().unwrap();
    let reward = block["transactions"][0]["id"].as_str().unwrap();
    let miner = block["transactions"][0]["to"].as_str().unwrap();
    for (q, to) in [
        ("1".to_owned(), "/explorer/html/block/1".to_owned()),
        (hash.to_uppercase(), format!("/explorer/html/block/{hash}")),
        (reward.to_owned(), format!("/explorer/html/tx/{reward}")),
        (
            format!(" {miner} "),
            format!("/explorer/html/address/{miner}"),
        ),
        (String::new(), "/explorer/html".to_owned()),
    ] {
        let answer = get(
            &node,
            &format!("/explorer/html/search?q={}", q.replace(' ', "+")),
        )
        .await;
        assert_eq!(answer.status, 303, "{q}: {}", answer.body);
        assert_eq!(answer.location.as_deref(), Some(to.as_str()), "{q}");
        page(&node, &to).await;
    }
}
