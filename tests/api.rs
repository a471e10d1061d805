//! The REST API through Rocket's local client: the original endpoints, their errors, and that
//! bad input changes nothing.

mod common;

use common::{assert_error, local_client, mine_on, note, params, raw_db};
use ferrochain::chain::{Block, Difficulty, WireBlock};
use ferrochain::mining::Kernel;
use ferrochain::node::{Node, NodeConfig};
use rocket::http::{ContentType, Status};
use rocket::local::blocking::{Client, LocalResponse};
use serde_json::{json, Value};
use tempfile::TempDir;

fn client() -> (Client, TempDir) {
    local_client(&[])
}

fn body(resp: LocalResponse<'_>) -> Value {
    assert_eq!(resp.content_type(), Some(ContentType::JSON));
    resp.into_json().expect("a JSON body")
}

fn chain(client: &Client) -> Vec<Block> {
    let v = body(client.get("/chain").dispatch());
    let blocks: Vec<WireBlock> = serde_json::from_value(v["chain"].clone()).unwrap();
    assert_eq!(v["length"].as_u64().unwrap() as usize, blocks.len());
    blocks
        .into_iter()
        .map(|w| w.into_block().unwrap())
        .collect()
}

/// Mines `count` blocks through `POST /mine`, each with one note.
fn mine_notes(client: &Client, count: usize) {
    for i in 0..count {
        let resp = client
            .post("/mine")
            .json(&json!({"transactions": [format!("entry {i}")]}))
            .dispatch();
        assert_eq!(resp.status(), Status::Created);
    }
}

fn post_block(client: &Client, block: &Value) -> (Status, Value) {
    let resp = client.post("/add_block").json(block).dispatch();
    let status = resp.status();
    (status, body(resp))
}

#[test]
fn a_new_chain_is_its_genesis_block() {
    let (client, _dir) = client();
    let blocks = chain(&client);
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].hash(), params().genesis_hash());
    let v = body(client.get("/chain").dispatch());
    let genesis = &v["chain"][0];
    for field in [
        "index",
        "timestamp",
        "transactions",
        "previous_hash",
        "merkle_root",
        "target",
        "nonce",
        "hash",
    ] {
        assert!(!genesis[field].is_null(), "missing {field}");
    }
}

#[test]
fn mine_records_the_transactions_in_a_new_block_with_statistics() {
    let (client, _dir) = client();
    let resp = client
        .post("/mine")
        .json(&json!({"transactions": ["Alice pays Bob 10 BTC", "Bob pays Carol 5 BTC"]}))
        .dispatch();
    assert_eq!(resp.status(), Status::Created);
    let v = body(resp);
    assert_eq!(v["block"]["index"], 1);
    let entries = v["block"]["transactions"].as_array().unwrap();
    // The node's reward comes first, then the entries as given.
    assert_eq!(entries[0]["type"], "reward");
    assert_eq!(
        entries[1..],
        [
            json!("Alice pays Bob 10 BTC"),
            json!("Bob pays Carol 5 BTC")
        ]
    );
    assert!(v["message"].as_str().unwrap().contains("mined"));
    let stats = &v["stats"];
    assert!(stats["attempts"].as_u64().unwrap() >= 1);
    assert!(stats["hash_rate"].as_f64().unwrap() > 0.0);
    assert_eq!(stats["threads"], 2);
    assert!(stats["memory_bytes"].as_u64().unwrap() > 0);
    // A figure only for a search long enough for the kernel's CPU accounting, null otherwise.
    let measured = stats["elapsed_ms"].as_f64().unwrap() >= 250.0;
    assert_eq!(stats["cpu_percent"].is_number(), measured, "{stats}");
    // The kernel that hashed: the fastest this CPU offers.
    assert_eq!(stats["kernel"], Kernel::best().name());

    // No body at all mines an empty block on top.
    let resp = client.post("/mine").dispatch();
    assert_eq!(resp.status(), Status::Created);
    let blocks = chain(&client);
    assert_eq!(blocks.len(), 3);
    assert_eq!(blocks[2].header.prev_hash, blocks[1].hash());
    assert_eq!(blocks[2].transactions.len(), 1, "only the reward");
}

#[test]
fn bad_mine_requests_get_json_errors_and_mine_nothing() {
    let (client, _dir) = client();
    let post = |body: &str| {
        client
            .post("/mine")
            .header(ContentType::JSON)
            .body(body)
            .dispatch()
    };
    assert_error(post("{not json"), Status::BadRequest, "malformed_json");
    assert_error(
        post(r#"{"transactions": [1, 2]}"#),
        Status::UnprocessableEntity,
        "invalid_json",
    );
    assert_error(
        post(r#"{"transactions": "x"}"#),
        Status::UnprocessableEntity,
        "invalid_json",
    );
    assert_error(
        post(r#"{"transactions": [""]}"#),
        Status::UnprocessableEntity,
        "invalid_json",
    );
    let long = format!(r#"{{"transactions": ["{}"]}}"#, "x".repeat(300));
    let msg = assert_error(post(&long), Status::UnprocessableEntity, "invalid_json");
    assert!(msg.contains("at most 256 bytes"), "{msg}");
    // Rewards and transfers are the node's to add, not the caller's.
    let to = ferrochain::chain::Address::from_bytes([1; 32]);
    let reward = json!({"transactions": [{"type": "reward", "to": to, "amount": 1, "height": 1}]});
    let msg = assert_error(
        post(&reward.to_string()),
        Status::UnprocessableEntity,
        "not_a_note",
    );
    assert!(msg.contains("POST /transactions"), "{msg}");
    assert_error(
        post(r#"{"transactions": ["same", "same"]}"#),
        Status::UnprocessableEntity,
        "duplicate_transaction",
    );
    assert_eq!(chain(&client).len(), 1);
}

#[test]
fn add_block_takes_a_valid_block_once() {
    let (client, _dir) = client();
    let genesis = chain(&client).remove(0);
    let block = mine_on(&genesis, vec![note("from elsewhere")]);
    let (status, v) = post_block(&client, &serde_json::to_value(&block).unwrap());
    assert_eq!(status, Status::Created, "{v}");
    assert_eq!(v["hash"], block.hash().to_string());
    let (status, _) = post_block(&client, &serde_json::to_value(&block).unwrap());
    assert_eq!(status, Status::Ok);
    assert_eq!(chain(&client)[1], block);

    // The hash field is optional on the way in.
    let next = mine_on(&block, vec![]);
    let mut v = serde_json::to_value(&next).unwrap();
    v.as_object_mut().unwrap().remove("hash");
    assert_eq!(post_block(&client, &v).0, Status::Created);
}

#[test]
fn add_block_refuses_tampered_blocks_by_rule_and_changes_nothing() {
    let (client, _dir) = client();
    let genesis = chain(&client).remove(0);
    let good = mine_on(&genesis, vec![note("Alice pays Bob 10 BTC")]);

    // One transaction changed after mining (stated hash left as mined): the Merkle rule.
    let mut v = serde_json::to_value(&good).unwrap();
    v["transactions"][1] = json!("Alice pays Bob 1000 BTC");
    let (status, err) = post_block(&client, &v);
    assert_eq!(status, Status::UnprocessableEntity);
    assert_eq!(err["error"], "bad_merkle_root", "{err}");

    // A nonce changed with the stated hash kept: the hash no longer matches.
    let mut v = serde_json::to_value(&good).unwrap();
    v["nonce"] = json!(good.header.nonce + 1);
    let (status, err) = post_block(&client, &v);
    assert_eq!(status, Status::UnprocessableEntity);
    assert_eq!(err["error"], "hash_mismatch");

    // A block mined at an easier target than the chain's.
    let mut easy = good.clone();
    easy.header.target = Difficulty::new(1).unwrap().target();
    while !easy.header.target.check_hash(&easy.hash()) {
        easy.header.nonce += 1;
    }
    let (status, err) = post_block(&client, &serde_json::to_value(&easy).unwrap());
    assert_eq!(status, Status::UnprocessableEntity);
    assert_eq!(err["error"], "bad_target");

    // A block claiming the right target without the work.
    let mut lazy = good.clone();
    while lazy.header.target.check_hash(&lazy.hash()) {
        lazy.header.nonce += 1;
    }
    let (_, err) = post_block(&client, &serde_json::to_value(&lazy).unwrap());
    assert_eq!(err["error"], "bad_proof_of_work");
    assert!(err["message"].as_str().unwrap().contains("invalid block 1"));

    // Wrong shapes never reach validation.
    let resp = client
        .post("/add_block")
        .header(ContentType::JSON)
        .body("[]")
        .dispatch();
    assert_error(resp, Status::UnprocessableEntity, "invalid_json");
    let resp = client
        .post("/add_block")
        .header(ContentType::JSON)
        .body("{")
        .dispatch();
    assert_error(resp, Status::BadRequest, "malformed_json");

    assert_eq!(chain(&client), vec![genesis]);
}

#[test]
fn a_block_with_an_unknown_parent_is_accepted_for_catch_up_not_stored() {
    let (client, _dir) = client();
    let genesis = chain(&client).remove(0);
    let b1 = mine_on(&genesis, vec![]);
    let b2 = mine_on(&b1, vec![]);
    let (status, v) = post_block(&client, &serde_json::to_value(&b2).unwrap());
    assert_eq!(status, Status::Accepted);
    assert!(v["message"].as_str().unwrap().contains("catching up"));
    assert_eq!(chain(&client).len(), 1);
}

#[test]
fn headers_list_the_main_chain_without_entries() {
    let (client, _dir) = client();
    mine_notes(&client, 3);
    let blocks = chain(&client);
    let page = body(client.get("/headers?from=1&limit=2").dispatch());
    assert_eq!(page["length"], 4);
    let headers = page["headers"].as_array().unwrap();
    assert_eq!(headers.len(), 2);
    for (header, block) in headers.iter().zip(&blocks[1..]) {
        let json = serde_json::to_value(block).unwrap();
        for field in [
            "index",
            "hash",
            "version",
            "timestamp",
            "previous_hash",
            "merkle_root",
            "target",
            "nonce",
        ] {
            assert_eq!(header[field], json[field], "{field}");
        }
        // The reward and one note.
        assert_eq!(header["entries"], 2);
        assert_eq!(header["bytes"], block.encode().len());
    }
    let tail = body(client.get("/headers?from=3").dispatch());
    assert_eq!(tail["headers"].as_array().unwrap().len(), 1);
    let past = body(client.get("/headers?from=9").dispatch());
    assert_eq!(past["headers"], json!([]));
    assert_error(
        client.get("/headers?limit=1001").dispatch(),
        Status::BadRequest,
        "bad_query",
    );
    assert_error(
        client.get("/headers?from=-1").dispatch(),
        Status::BadRequest,
        "bad_query",
    );
}

#[test]
fn chain_pages_anchored_to_a_tip_stop_there_and_a_tip_off_the_main_chain_is_a_conflict() {
    let (client, _dir) = client();
    mine_notes(&client, 4);
    let all = chain(&client);
    // Anchored to block 2: the page ends there although the chain goes on.
    let page = body(
        client
            .get(format!("/chain?from=1&limit=10&tip={}", all[2].hash()))
            .dispatch(),
    );
    assert_eq!(page["length"], 3);
    let got: Vec<WireBlock> = serde_json::from_value(page["chain"].clone()).unwrap();
    let got: Vec<Block> = got.into_iter().map(|w| w.into_block().unwrap()).collect();
    assert_eq!(got, all[1..3].to_vec());

    let elsewhere = ferrochain::chain::BlockHash::from_bytes([5; 32]);
    assert_error(
        client
            .get(format!("/chain?from=1&limit=10&tip={elsewhere}"))
            .dispatch(),
        Status::Conflict,
        "tip_moved",
    );
    assert_error(
        client.get("/chain?from=1&tip=abc").dispatch(),
        Status::BadRequest,
        "bad_query",
    );
}

#[test]
fn chain_pages_and_single_blocks() {
    let (client, _dir) = client();
    mine_notes(&client, 4);
    let all = chain(&client);
    let page = body(client.get("/chain?from=2&limit=2").dispatch());
    assert_eq!(page["length"], 5);
    let got: Vec<WireBlock> = serde_json::from_value(page["chain"].clone()).unwrap();
    let got: Vec<Block> = got.into_iter().map(|w| w.into_block().unwrap()).collect();
    assert_eq!(got, all[2..4].to_vec());
    let past_end = body(client.get("/chain?from=9").dispatch());
    assert_eq!(past_end["chain"], json!([]));
    assert_error(
        client.get("/chain?from=-1").dispatch(),
        Status::BadRequest,
        "bad_query",
    );
    assert_error(
        client.get("/chain?limit=many").dispatch(),
        Status::BadRequest,
        "bad_query",
    );
    // A page larger than the cap is refused, saying so, rather than cut to the cap silently.
    let message = assert_error(
        client.get("/chain?limit=5000").dispatch(),
        Status::BadRequest,
        "bad_query",
    );
    assert!(message.contains("at most 1000"), "{message}");

    let by_height = body(client.get("/blocks/3").dispatch());
    assert_eq!(by_height["hash"], all[3].hash().to_string());
    let by_hash = body(client.get(format!("/blocks/{}", all[3].hash())).dispatch());
    assert_eq!(by_hash, by_height);
    assert_error(
        client.get("/blocks/99").dispatch(),
        Status::NotFound,
        "not_found",
    );
    assert_error(
        client.get("/blocks/xyz").dispatch(),
        Status::BadRequest,
        "bad_block_id",
    );
    let zeros = "0".repeat(64);
    assert_error(
        client.get(format!("/blocks/{zeros}")).dispatch(),
        Status::NotFound,
        "not_found",
    );
}

#[test]
fn locate_answers_the_fork_point_and_the_tip() {
    let (client, _dir) = client();
    mine_notes(&client, 4);
    let all = chain(&client);
    let foreign = "ab".repeat(32);
    let locate = |locator: Value| {
        client
            .post("/chain/locate")
            .json(&json!({ "locator": locator }))
    };

    // The highest entry on the main chain wins; unknown entries before it are passed over.
    let v = body(
        locate(json!([
            foreign,
            all[2].hash(),
            all[1].hash(),
            all[0].hash()
        ]))
        .dispatch(),
    );
    assert_eq!(v["fork"], json!({"height": 2, "hash": all[2].hash()}));
    assert_eq!(v["tip"]["height"], 4);
    assert_eq!(v["tip"]["hash"], all[4].hash().to_string());
    assert_eq!(
        v["tip"]["work"],
        (5 * (1u128 << common::TEST_BITS)).to_string()
    );

    assert_error(
        locate(json!([foreign])).dispatch(),
        Status::UnprocessableEntity,
        "no_common_block",
    );
    // The whole locator is checked before anything is looked up.
    let too_many = vec![all[0].hash().to_string(); ferrochain::storage::MAX_LOCATOR + 1];
    for bad in [
        json!([]),
        json!(too_many),
        json!([all[0].hash(), "xyz"]),
        json!([7]),
    ] {
        let resp = locate(bad.clone()).dispatch();
        assert_eq!(resp.status(), Status::UnprocessableEntity, "{bad}");
        let v = body(resp);
        assert!(
            ["bad_locator", "invalid_json"].contains(&v["error"].as_str().unwrap()),
            "{v}"
        );
    }
    let message = assert_error(
        locate(json!([all[0].hash(), "xyz"])).dispatch(),
        Status::UnprocessableEntity,
        "bad_locator",
    );
    assert!(message.contains("entry 1"), "{message}");
    assert_error(
        client
            .post("/chain/locate")
            .json(&json!({"locator": [], "extra": 1}))
            .dispatch(),
        Status::UnprocessableEntity,
        "invalid_json",
    );
    assert_error(
        client
            .post("/chain/locate")
            .header(ContentType::JSON)
            .body("{")
            .dispatch(),
        Status::BadRequest,
        "malformed_json",
    );
}

#[test]
fn status_reports_the_tip_work_and_parameters() {
    let (client, _dir) = client();
    client.post("/mine").dispatch();
    let v = body(client.get("/status").dispatch());
    assert_eq!(v["height"], 1);
    assert_eq!(v["length"], 2);
    assert_eq!(v["difficulty"], 8.0);
    assert_eq!(v["next_target"], "21800000");
    assert_eq!(v["params"]["difficulty"], 8);
    assert_eq!(v["params"]["retarget"], serde_json::Value::Null);
    assert_eq!(v["genesis"], params().genesis_hash().to_string());
    assert_eq!(v["total_work"], "512");
    assert_eq!(v["tip"], chain(&client)[1].hash().to_string());
    assert_eq!(v["mining"]["active"], false);
    assert_eq!(v["mining"]["kernel"], Kernel::best().name());
    assert!(v["last_mined"]["attempts"].as_u64().is_some());
    assert_eq!(v["last_mined"]["kernel"], Kernel::best().name());
    assert_eq!(v["peers"], json!([]));
    // The node's own CPU and memory, sampled for this request.
    assert!(v["process"]["cpu_percent"].as_f64().unwrap() >= 0.0);
    assert!(v["process"]["memory_bytes"].as_u64().unwrap() > 0);
}

#[test]
fn the_operator_bans_and_unbans_any_peer_and_its_pushes_are_refused_meanwhile() {
    let (client, _dir) = client();
    let url = format!("http://127.0.0.1:{}", dead_port());
    let resp = client
        .post("/nodes/ban")
        .json(&json!({"node": url, "seconds": 600, "reason": "partition test"}))
        .dispatch();
    assert_eq!(resp.status(), Status::Ok);
    let v = body(resp);
    let until = v["banned_until"].as_u64().unwrap();
    let now = ferrochain::chain::Timestamp::now().as_millis();
    assert!(until > now + 590_000 && until <= now + 600_000, "{v}");
    let entry = &v["peers"][0];
    assert_eq!(entry["url"], url.as_str(), "{v}");
    assert_eq!(entry["state"], "banned");
    assert_eq!(entry["source"], "banned");
    assert_eq!(entry["ban_reason"], "partition test");
    // Not a peer to talk to: the plain list leaves it out.
    assert_eq!(body(client.get("/nodes").dispatch())["nodes"], json!([]));

    // Its blocks, transfers and registrations are refused unread (the body here is not even a
    // block).
    for (path, body) in [("/add_block", "nonsense"), ("/transactions", "nonsense")] {
        let resp = client
            .post(path)
            .header(rocket::http::Header::new("X-Ferrochain-Peer", url.clone()))
            .header(ContentType::JSON)
            .body(body)
            .dispatch();
        let message = assert_error(resp, Status::Forbidden, "banned");
        assert!(message.contains("partition test"), "{message}");
    }
    assert_error(
        client
            .post("/nodes/register")
            .json(&json!({ "nodes": [url] }))
            .dispatch(),
        Status::Forbidden,
        "banned",
    );

    let resp = client
        .delete("/nodes/ban")
        .json(&json!({ "node": url }))
        .dispatch();
    assert_eq!(resp.status(), Status::Ok);
    assert_eq!(body(client.get("/nodes").dispatch())["peers"], json!([]));
    assert_error(
        client
            .delete("/nodes/ban")
            .json(&json!({ "node": url }))
            .dispatch(),
        Status::NotFound,
        "not_found",
    );
    // Without the ban, the same nonsense is read, and refused as such.
    assert_error(
        client
            .post("/add_block")
            .header(rocket::http::Header::new("X-Ferrochain-Peer", url.clone()))
            .header(ContentType::JSON)
            .body("nonsense")
            .dispatch(),
        Status::BadRequest,
        "malformed_json",
    );
}

#[test]
fn bad_ban_requests_are_4xx_and_ban_nothing() {
    let (client, _dir) = client();
    let url = "http://127.0.0.1:9";
    for (request, code) in [
        (json!({"node": "nonsense", "seconds": 60}), "bad_peer_url"),
        (json!({"node": url, "seconds": 0}), "bad_duration"),
        (
            json!({"node": url, "seconds": 400 * 24 * 3600}),
            "bad_duration",
        ),
        (
            json!({"node": url, "seconds": 60, "reason": "x".repeat(257)}),
            "bad_reason",
        ),
        (json!({"node": url}), "invalid_json"),
        (json!({"node": url, "seconds": -1}), "invalid_json"),
        (
            json!({"node": url, "seconds": 60, "extra": 1}),
            "invalid_json",
        ),
        (json!([url]), "invalid_json"),
    ] {
        let resp = client.post("/nodes/ban").json(&request).dispatch();
        assert_error(resp, Status::UnprocessableEntity, code);
    }
    assert_error(
        client
            .delete("/nodes/ban")
            .json(&json!({"node": "x"}))
            .dispatch(),
        Status::UnprocessableEntity,
        "bad_peer_url",
    );
    assert_eq!(body(client.get("/nodes").dispatch())["peers"], json!([]));
}

/// A loopback port where nothing listens (it was free a moment ago): registration handshakes
/// with every new peer, and must not reach a node someone happens to run on a well-known port.
fn dead_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn register_adds_valid_peers_once_and_lists_them_all() {
    let (client, _dir) = client();
    let (p1, p2) = (dead_port(), dead_port());
    let one = format!("http://127.0.0.1:{p1}");
    let resp = client
        .post("/nodes/register")
        .json(&json!({"nodes": [one, format!("http://localhost:{p2}/")]}))
        .dispatch();
    assert_eq!(resp.status(), Status::Created);
    let v = body(resp);
    assert_eq!(v["message"], "2 peers added");
    let both = json!([one, format!("http://localhost:{p2}")]);
    assert_eq!(v["nodes"], both);

    // Known peers, repeated in one request too, are skipped.
    let resp = client
        .post("/nodes/register")
        .json(&json!({"nodes": [one, one]}))
        .dispatch();
    assert_eq!(resp.status(), Status::Ok);
    let v = body(resp);
    assert_eq!(v["message"], "no new peers");
    assert_eq!(v["nodes"], both);
    assert_eq!(body(client.get("/nodes").dispatch())["nodes"], both);
    assert_eq!(body(client.get("/status").dispatch())["peers"], both);
}

#[test]
fn register_refuses_a_list_with_any_bad_entry_and_adds_nothing() {
    let (client, _dir) = client();
    for bad in [
        json!({"nodes": ["http://127.0.0.1:5001", "not a url"]}),
        json!({"nodes": ["ftp://127.0.0.1:21"]}),
        json!({"nodes": ["http://127.0.0.1:5001/chain"]}),
    ] {
        let resp = client.post("/nodes/register").json(&bad).dispatch();
        assert_error(resp, Status::UnprocessableEntity, "bad_peer_url");
    }
    let resp = client
        .post("/nodes/register")
        .json(&json!({"nodes": []}))
        .dispatch();
    assert_error(resp, Status::UnprocessableEntity, "no_nodes");
    let resp = client
        .post("/nodes/register")
        .json(&json!({"peers": ["http://127.0.0.1:5001"]}))
        .dispatch();
    assert_error(resp, Status::UnprocessableEntity, "invalid_json");
    let resp = client
        .post("/nodes/register")
        .header(ContentType::JSON)
        .body("{not json")
        .dispatch();
    assert_error(resp, Status::BadRequest, "malformed_json");
    assert_eq!(body(client.get("/nodes").dispatch())["nodes"], json!([]));
}

#[test]
fn rockets_own_errors_are_json_too() {
    let (client, _dir) = client();
    assert_error(
        client.get("/no/such/route").dispatch(),
        Status::NotFound,
        "not_found",
    );
    let huge = format!(
        r#"{{"transactions": ["{}"]}}"#,
        "x".repeat(ferrochain::api::MAX_BLOCK_JSON + 1)
    );
    let resp = client
        .post("/mine")
        .header(ContentType::JSON)
        .body(huge.clone())
        .dispatch();
    assert_error(resp, Status::PayloadTooLarge, "too_large");
    let resp = client
        .post("/add_block")
        .header(ContentType::JSON)
        .body(huge)
        .dispatch();
    assert_error(resp, Status::PayloadTooLarge, "too_large");
    assert_eq!(chain(&client).len(), 1);
}

#[test]
fn the_largest_valid_block_fits_the_body_limit() {
    // Every entry at the size limit and made of characters JSON escapes as \u00XX.
    let entry = "\u{1}".repeat(ferrochain::chain::Note::MAX_BYTES);
    let count = (Block::MAX_BYTES - 100) / (entry.len() + 3);
    let transactions: Vec<_> = (0..count)
        .map(|i| {
            let mut s = entry.clone();
            s.replace_range(..8, &format!("{i:08}"));
            note(&s)
        })
        .collect();
    let block = mine_on(&params().genesis().into_block(), transactions);
    assert!(block.encoded_len() <= Block::MAX_BYTES);
    let json = serde_json::to_vec(&block).unwrap();
    assert!(
        json.len() > 5 * Block::MAX_BYTES,
        "the test block is near the worst case"
    );
    assert!(json.len() <= ferrochain::api::MAX_BLOCK_JSON);
    let (client, _dir) = client();
    let resp = client
        .post("/add_block")
        .header(ContentType::JSON)
        .body(json)
        .dispatch();
    assert_eq!(resp.status(), Status::Created);
}

#[test]
fn rocket_toml_and_the_built_in_limit_agree() {
    let limits: rocket::data::Limits = ferrochain::api::figment().extract_inner("limits").unwrap();
    assert_eq!(
        limits.get("block").unwrap().as_u64(),
        ferrochain::api::MAX_BLOCK_JSON as u64
    );
    assert_eq!(
        limits.get("json").unwrap().as_u64(),
        ferrochain::api::SMALL_JSON as u64
    );
}

#[test]
fn verify_walks_the_stored_chain_and_names_a_corrupted_block() {
    let (client, dir) = client();
    mine_notes(&client, 3);
    let v = body(client.get("/chain/verify").dispatch());
    assert_eq!(v["valid"], true);
    assert_eq!(v["length"], 4);
    assert_eq!(v["total_work"], "1024");
    let blocks = chain(&client);
    drop(client);

    // Edit block 2's entry on disk behind the node's back.
    let mut edited = blocks[2].clone();
    edited.transactions[1] = note("entry 2, edited on disk");
    {
        let db = raw_db(dir.path());
        db.open_tree("blocks")
            .unwrap()
            .insert(blocks[2].hash().as_bytes(), edited.encode())
            .unwrap();
        db.flush().unwrap();
    }
    let node = Node::open(NodeConfig::new(dir.path())).unwrap();
    let client = Client::tracked(ferrochain::api::build(
        node,
        ferrochain::api::figment().merge(("log_level", "off")),
    ))
    .unwrap();
    let v = body(client.get("/chain/verify").dispatch());
    assert_eq!(v["valid"], false);
    assert_eq!(v["length"], 2);
    assert_eq!(v["error"]["index"], 2);
    assert_eq!(v["error"]["rule"], "bad_merkle_root");
}
