//! `cargo bench --bench soak`: the crash soak of `tests/soak/mod.rs` for 200 `kill -9` cycles
//! (`FERROCHAIN_SOAK_CYCLES` to change it) against the bench-profile binary: acknowledged blocks
//! and transfers, what was lost, and restart times. Exits 1 if anything acknowledged was lost.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/soak/mod.rs"]
mod soak;

fn main() {
    let report = soak::run(&soak::Settings::from_env(200));
    println!("{report}");
    if !report.is_clean() {
        std::process::exit(1);
    }
}
