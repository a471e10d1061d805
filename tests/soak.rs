//! The crash soak, short: a few `kill -9` cycles of the real binary under mining, block intake
//! and transfers at once, every acknowledged block checked after each restart (see
//! `tests/soak/mod.rs`). `cargo bench --bench soak` runs 200 cycles; `FERROCHAIN_SOAK_CYCLES`
//! sets the count for either.

mod common;
#[path = "soak/mod.rs"]
mod soak;

#[test]
fn acknowledged_blocks_survive_a_kill_9_loop() {
    let report = soak::run(&soak::Settings::from_env(5));
    println!("{report}");
    assert!(report.is_clean(), "{report}");
}
