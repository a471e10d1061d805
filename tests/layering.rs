//! The shape of the code, checked: the chain core stays pure and free of import cycles, and no
//! source file grows past what a reader takes in at once.
//!
//! `chain` is a module of the one crate rather than a crate of its own, so the compiler cannot
//! keep I/O out of it; these tests do, by reading the sources. They name the file and line of
//! what they refuse, and say why in the message.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Crates and paths that reach outside the process (disk, network, threads, the clock, the
/// terminal): none belongs in the core, which the node, the miner and the CLI share.
const FORBIDDEN: &[&str] = &[
    "sled",
    "tokio",
    "rocket",
    "reqwest",
    "rayon",
    "sysinfo",
    "dialoguer",
    "indicatif",
    "tracing_subscriber",
    "getrandom",
    "OsRng",
    "std::fs",
    "std::io",
    "std::net",
    "std::thread",
    "std::process",
    "std::env",
    "SystemTime",
    "UNIX_EPOCH",
    "Instant",
];

/// The one clock reading in the core: `Timestamp::now`, which the node, the storage tests and
/// the CLI call at their edges (about thirty call sites). No rule calls it (the `::now()` check
/// below holds them to that); validation takes "now" as an argument. Moving the function out of
/// the core is a follow-up once the node's parts have settled.
const ALLOWED: &[(&str, &str)] = &[
    ("header.rs", "std::time::SystemTime::now()"),
    ("header.rs", ".duration_since(std::time::UNIX_EPOCH)"),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("reading {d:?}: {e}")) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// `text` with comments blanked out (newlines kept, so line numbers still hold). String and
/// character literals are kept, and a `//` inside one is not a comment.
fn strip_comments(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let blank = |c: u8| if c == b'\n' { b'\n' } else { b' ' };
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    out.push(b' ');
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0;
                while i < b.len() {
                    if b[i..].starts_with(b"/*") {
                        depth += 1;
                        out.extend_from_slice(b"  ");
                        i += 2;
                    } else if b[i..].starts_with(b"*/") {
                        depth -= 1;
                        out.extend_from_slice(b"  ");
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        out.push(blank(b[i]));
                        i += 1;
                    }
                }
            }
            // A raw string: r"..." or r#"..."#, which may hold quotes.
            b'r' if matches!(b.get(i + 1), Some(b'"' | b'#'))
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) =>
            {
                let hashes = b[i + 1..].iter().take_while(|c| **c == b'#').count();
                if b.get(i + 1 + hashes) != Some(&b'"') {
                    out.push(b[i]);
                    i += 1;
                    continue;
                }
                let close: Vec<u8> = std::iter::once(b'"')
                    .chain(std::iter::repeat_n(b'#', hashes))
                    .collect();
                let body = i + 2 + hashes;
                let end = b[body..]
                    .windows(close.len())
                    .position(|w| w == close)
                    .map_or(b.len(), |p| body + p + close.len());
                out.extend_from_slice(&b[i..end]);
                i = end;
            }
            b'"' => {
                out.push(b'"');
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    let n = if b[i] == b'\\' { 2 } else { 1 };
                    out.extend_from_slice(&b[i..(i + n).min(b.len())]);
                    i += n;
                }
                if i < b.len() {
                    out.push(b'"');
                    i += 1;
                }
            }
            // A character literal ('"', '\'', 'x'), not a lifetime ('a).
            b'\'' => {
                let len = match (b.get(i + 1), b.get(i + 2), b.get(i + 3)) {
                    (Some(b'\\'), _, _) => b
                        .get(i + 3..)
                        .and_then(|rest| rest.iter().position(|c| *c == b'\''))
                        .map_or(1, |p| p + 4),
                    (Some(_), Some(b'\''), _) => 3,
                    _ => 1,
                };
                out.extend_from_slice(&b[i..(i + len).min(b.len())]);
                i += len;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).expect("only ASCII bytes were replaced")
}

fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Byte offsets where `word` occurs in `line` with no identifier character on either side.
fn find_word(line: &str, word: &str) -> Vec<usize> {
    let b = line.as_bytes();
    line.match_indices(word)
        .map(|(at, _)| at)
        .filter(|&at| {
            let before = at.checked_sub(1).map(|p| b[p]);
            let after = b.get(at + word.len()).copied();
            !before.is_some_and(is_ident_byte) && !after.is_some_and(is_ident_byte)
        })
        .collect()
}

fn chain_files() -> Vec<(String, PathBuf, String)> {
    let dir = src().join("chain");
    rust_files(&dir)
        .into_iter()
        .map(|path| {
            let rel = path
                .strip_prefix(&dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            (rel, path, strip_comments(&text))
        })
        .collect()
}

#[test]
fn the_chain_core_does_no_io() {
    let mut found = Vec::new();
    let mut allowed_used = BTreeSet::new();
    for (rel, _, code) in chain_files() {
        for (n, line) in code.lines().enumerate() {
            let allowance = ALLOWED
                .iter()
                .find(|(file, fragment)| rel == *file && line.contains(fragment));
            if let Some(a) = allowance {
                allowed_used.insert(*a);
                continue;
            }
            for word in FORBIDDEN {
                if !find_word(line, word).is_empty() {
                    found.push(format!(
                        "src/chain/{rel}:{}: uses {word}: {}",
                        n + 1,
                        line.trim()
                    ));
                }
            }
            // A rule that read the clock itself could not be tested with a fixed "now".
            if line.contains("::now()") {
                found.push(format!(
                    "src/chain/{rel}:{}: reads the clock: {}",
                    n + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "the chain core must stay pure (no I/O, threads or clock; take such things as \
         arguments):\n{}",
        found.join("\n")
    );
    let stale: Vec<_> = ALLOWED
        .iter()
        .filter(|a| !allowed_used.contains(a))
        .collect();
    assert!(
        stale.is_empty(),
        "these exceptions match nothing any more; remove them from ALLOWED: {stale:?}"
    );
}

/// The modules of `chain` that `code` names through `super::x` or `crate::chain::x`, including
/// each `x` of a `super::{x::.., y::..}` group.
fn imported_modules(code: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for prefix in ["super::", "crate::chain::"] {
        for (at, _) in code.match_indices(prefix) {
            if at > 0 && is_ident_byte(code.as_bytes()[at - 1]) {
                continue;
            }
            let rest = &code[at + prefix.len()..];
            let heads: Vec<&str> = match rest.strip_prefix('{') {
                Some(group) => top_level_items(group),
                None => vec![rest],
            };
            for head in heads {
                let name: String = head
                    .trim_start()
                    .bytes()
                    .take_while(|c| is_ident_byte(*c))
                    .map(char::from)
                    .collect();
                if modules.contains(&name) {
                    out.insert(name);
                }
            }
        }
    }
    out
}

/// The comma-separated items of a `{ .. }` group (whose opening brace is already consumed), up
/// to its closing brace; nested groups stay inside their item.
fn top_level_items(group: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(&group[start..i]);
                return items;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items
}

/// Every cycle depth-first search meets in `graph`, each as the path that closes it.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        found: &mut Vec<Vec<String>>,
    ) {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            found.push(cycle);
            return;
        }
        if done.contains(node) {
            return;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            visit(next, graph, path, done, found);
        }
        path.pop();
        done.insert(node.to_owned());
    }
    let (mut done, mut found) = (BTreeSet::new(), Vec::new());
    for node in graph.keys() {
        visit(node, graph, &mut Vec::new(), &mut done, &mut found);
    }
    found
}

/// The module a file under `chain/` belongs to: `block.rs` is `block`, `x/y.rs` is `x`.
fn module_of(rel: &str) -> String {
    let first = rel.split(['/', '\\']).next().unwrap_or(rel);
    first.trim_end_matches(".rs").to_owned()
}

#[test]
fn the_chain_core_has_no_import_cycles() {
    let files = chain_files();
    let modules: BTreeSet<String> = files
        .iter()
        .map(|(rel, _, _)| module_of(rel))
        .filter(|m| m != "mod")
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, _, code) in &files {
        let module = module_of(rel);
        if module == "mod" {
            // The facade re-exports every module; nothing imports through it by module name.
            continue;
        }
        let imports = imported_modules(code, &modules);
        let edges = graph.entry(module.clone()).or_default();
        edges.extend(imports.into_iter().filter(|m| *m != module));
    }
    assert!(
        graph
            .get("validation")
            .is_some_and(|e| e.contains("ledger")),
        "the import scan found nothing: it no longer reads the sources it should ({graph:?})"
    );
    let found = cycles(&graph);
    assert!(
        found.is_empty(),
        "modules of src/chain import each other; move what both need into a module of its own \
         (as rule.rs, note.rs and VerifiedBlock beside Block did):\n{}",
        found
            .iter()
            .map(|c| c.join(" -> "))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_import_scan_reads_groups_and_finds_cycles() {
    let modules: BTreeSet<String> = ["a", "b", "c"].map(String::from).into();
    let code = strip_comments(
        "use super::{a::X, b::{Y, Z}};\n// use super::c::W;\nlet s = \"super::c\";\n",
    );
    // The string literal is code, so `c` counts; the comment does not.
    assert_eq!(
        imported_modules(&code, &modules),
        ["a", "b", "c"].map(String::from).into()
    );
    let graph: BTreeMap<String, BTreeSet<String>> =
        [("a", vec!["b"]), ("b", vec!["c"]), ("c", vec!["a"])]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.into_iter().map(String::from).collect()))
            .collect();
    assert_eq!(cycles(&graph), vec![vec!["a", "b", "c", "a"]]);
    assert_eq!(
        strip_comments("let q = '\"'; // x\nlet e = '\\''; /* y */ r#\"a \" // b\"#"),
        "let q = '\"';     \nlet e = '\\'';         r#\"a \" // b\"#"
    );
}

/// The issue's bound on a file's length: past it, a file holds several parts.
const MAX_LINES: usize = 800;

#[test]
fn no_source_file_is_longer_than_the_bound() {
    let root = src();
    let too_long: Vec<String> = rust_files(&root)
        .into_iter()
        .filter_map(|path| {
            let lines = std::fs::read_to_string(&path).unwrap().lines().count();
            let rel = path.strip_prefix(&root).unwrap().display().to_string();
            (lines > MAX_LINES).then(|| format!("src/{rel}: {lines} lines"))
        })
        .collect();
    assert!(
        too_long.is_empty(),
        "files above {MAX_LINES} lines (split them by part):\n{}",
        too_long.join("\n")
    );
}
