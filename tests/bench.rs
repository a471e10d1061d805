//! `ferrochain bench`: it names the kernels this CPU offers and the one it measures, takes
//! `--kernel NAME` to force one, and refuses a kernel it does not know or the CPU cannot run.

use ferrochain::mining::Kernel;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_ferrochain");

fn bench(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(["bench", "--seconds", "1", "--threads", "1"])
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn bench_lists_the_kernels_and_measures_the_one_asked_for() {
    for kernel in Kernel::available() {
        let out = bench(&["--kernel", kernel.name()]);
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{kernel}: {}", text(&out.stderr));
        let offered = stdout
            .lines()
            .find(|l| l.starts_with("kernels on this CPU:"))
            .unwrap();
        for k in Kernel::available() {
            assert!(offered.contains(k.name()), "{offered}");
        }
        assert!(stdout.contains(&format!("kernel: {kernel} (")), "{stdout}");
        assert!(stdout.contains("chosen with --kernel"), "{stdout}");
        assert!(stdout.contains("MH/s per thread"), "{stdout}");
    }
    // Without --kernel, the default is named as such.
    let out = bench(&[]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("kernel: {} (", Kernel::best())),
        "{stdout}"
    );
    assert!(stdout.contains("used by default"), "{stdout}");
}

#[test]
fn bench_refuses_unknown_and_unsupported_kernels() {
    let out = bench(&["--kernel", "neon"]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("unknown mining kernel \"neon\""),
        "{stderr}"
    );
    assert!(stdout_is_empty(&out));
    match Kernel::ALL.into_iter().find(|k| !k.is_available()) {
        Some(missing) => {
            let out = bench(&["--kernel", missing.name()]);
            assert!(!out.status.success());
            let stderr = text(&out.stderr);
            assert!(
                stderr.contains(&format!("cannot run the {missing} mining kernel")),
                "{stderr}"
            );
            assert!(stderr.contains("portable"), "{stderr}");
        }
        None => println!("skipping the unsupported-kernel case: this CPU runs every kernel"),
    }
}

fn stdout_is_empty(out: &Output) -> bool {
    out.stdout.is_empty()
}
