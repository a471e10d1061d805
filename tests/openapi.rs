//! The API's description, `GET /openapi.json`: it names every route Rocket serves, and a live
//! node keeps to it under an API fuzzer (schemathesis, from PyPI; installed by `.ci/run`, and
//! skipped with a line saying so where it is missing).

mod common;

use common::{local_client, TestNode};
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `(METHOD, /path/{param})` for every operation of the document.
fn described(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "delete", "patch", "head", "options"] {
            if item.get(method).is_some() {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

/// Rocket's `/blocks/<id>` and `/docs/<file..>` as OpenAPI writes them.
fn openapi_path(rocket_path: &str) -> String {
    rocket_path
        .split('/')
        .map(|segment| match segment.strip_prefix('<') {
            Some(rest) => format!("{{{}}}", rest.trim_end_matches('>').trim_end_matches("..")),
            None => segment.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn the_description_names_every_route_rocket_serves_and_no_other() {
    let (client, _dir) = local_client(&[]);
    let response = client.get("/openapi.json").dispatch();
    assert_eq!(response.status().code, 200);
    let doc: Value = response.into_json().expect("a JSON document");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));

    let mounted: BTreeSet<(String, String)> = client
        .rocket()
        .routes()
        .filter(|r| !ferrochain::api::UNDESCRIBED.contains(&r.uri.path()))
        .map(|r| (r.method.as_str().to_owned(), openapi_path(r.uri.path())))
        .collect();
    let described = described(&doc);
    let undocumented: Vec<_> = mounted.difference(&described).collect();
    let phantom: Vec<_> = described.difference(&mounted).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from /openapi.json: {undocumented:?}"
    );
    assert!(phantom.is_empty(), "described but not served: {phantom:?}");
    // The original API's four routes, among the rest.
    for route in [
        ("GET", "/chain"),
        ("POST", "/mine"),
        ("POST", "/add_block"),
        ("GET", "/nodes/resolve"),
    ] {
        assert!(
            described.contains(&(route.0.to_owned(), route.1.to_owned())),
            "{route:?}"
        );
    }

    // Every operation answers errors in the one shape.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let default = &operation["responses"]["default"]["content"]["application/json"];
            assert_eq!(
                default["schema"]["$ref"], "#/components/schemas/ErrorBody",
                "{method} {path} has no error answer"
            );
        }
    }

    // The human page reads the document.
    let page = client.get("/docs/").dispatch();
    assert_eq!(page.status().code, 200);
    assert!(page.into_string().unwrap().contains("swagger-ui"));
    let initializer = client.get("/docs/swagger-initializer.js").dispatch();
    assert!(initializer
        .into_string()
        .unwrap()
        .contains("\"/openapi.json\""));
    assert_eq!(client.get("/docs").dispatch().status().code, 308);
}

/// Where schemathesis is, if it is installed.
fn schemathesis() -> Option<String> {
    let found = Command::new("schemathesis")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    found.then(|| "schemathesis".to_owned())
}

/// The fuzzer's count of the test cases it ran, each one request: its summary's
/// "N generated, N passed".
fn cases(output: &str) -> Option<u64> {
    output.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        let count = words.next()?.parse().ok()?;
        (words.next()? == "generated,").then_some(count)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_node_answers_the_fuzzer_by_its_description() {
    let Some(fuzzer) = schemathesis() else {
        println!("skipped: no schemathesis (pip install schemathesis; .ci/run installs it)");
        return;
    };
    // Misbehaviour scoring would answer most of a fuzzer's requests 429, testing nothing.
    let dir = tempfile::tempdir().unwrap();
    let config = common::test_config(dir.path(), common::params());
    let node =
        TestNode::start_tuned(dir, config, 0, vec![("misbehaviour_limit", 0u32.into())]).await;
    let base = node.url("");
    let mined = common::http().post(node.url("/mine")).send().await.unwrap();
    assert_eq!(mined.status().as_u16(), 201);

    // The event stream never ends, which a fuzzer cannot read; the rest is fuzzed: examples
    // from the document, the coverage phase's boundary and type-violating values, and random
    // requests. One worker: schemathesis's generator is not thread-safe under Python 3.11.
    let run = tokio::task::spawn_blocking(move || {
        // schemathesis keeps a cache in its working directory: not in the repository.
        let scratch = tempfile::tempdir().unwrap();
        let mut child = Command::new(fuzzer)
            .current_dir(scratch.path())
            .args(["run", &format!("{base}/openapi.json")])
            .args([
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
                "--exclude-path",
                "/events",
                "--phases",
                "examples,coverage,fuzzing",
                "--max-examples",
                "40",
                "--request-timeout",
                "20",
                "--workers",
                "1",
                "--no-color",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("schemathesis starts");
        let deadline = Instant::now() + Duration::from_secs(300);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                child.kill().unwrap();
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let output =
        String::from_utf8_lossy(&run.stdout).into_owned() + &String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "the fuzzer found answers that break the description:\n{output}"
    );
    let cases = cases(&output).unwrap_or_else(|| panic!("no count of test cases in:\n{output}"));
    // Tens of cases per operation: a run that tested next to nothing does not pass.
    assert!(cases >= 500, "only {cases} requests:\n{output}");
    println!("schemathesis: {cases} requests, no 5xx, every answer as described");
    node.stop();
}
