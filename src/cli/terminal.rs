//! Leaving the guided CLI on Ctrl-C with the terminal as it was found.
//!
//! The menus hide the cursor while they draw and put the terminal in raw mode while they wait
//! for a key; Ctrl-C's default action would end the process in between and leave the shell
//! without a cursor, its prompt glued to the last line drawn. [`restore_on_interrupt`] installs
//! a handler (the `ctrlc` crate) that shows the cursor, ends the line, says what goes on without
//! the CLI (see [`Parting`]) and exits with the shell's status for an interrupt, 130.
//!
//! A key read in raw mode sees Ctrl-C as a byte, not a signal: `console` then raises SIGINT
//! itself and also returns an "interrupted" error to the prompt. Both paths end in [`leave`],
//! and only the first one to get there exits.

use dialoguer::console::Term;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};

/// The exit status of a process ended by SIGINT, as shells report it (128 + 2).
pub const INTERRUPTED: i32 = 130;

/// What to say on Ctrl-C while it is set, such as that the node keeps mining.
static PARTING: Mutex<Option<String>> = Mutex::new(None);

/// Whether the process is already on its way out.
static LEAVING: AtomicBool = AtomicBool::new(false);

/// Restores the terminal and exits with [`INTERRUPTED`] when the user presses Ctrl-C. Only the
/// first call installs the handler. Should the system refuse one, Ctrl-C keeps its default
/// action: it still ends the CLI, only without the tidying.
pub fn restore_on_interrupt() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        if let Err(e) = ctrlc::set_handler(|| leave()) {
            log::warn!("cannot handle Ctrl-C, the terminal may need `reset` after it: {e}");
        }
    });
}

/// A line to print if the user presses Ctrl-C before this value is dropped.
pub struct Parting(());

impl Parting {
    pub fn say(line: String) -> Parting {
        *PARTING.lock().unwrap_or_else(|e| e.into_inner()) = Some(line);
        Parting(())
    }
}

impl Drop for Parting {
    fn drop(&mut self) {
        *PARTING.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// Whether a terminal error is the user's Ctrl-C, read as a key.
pub fn check_interrupt(error: &dialoguer::Error) -> bool {
    let dialoguer::Error::IO(e) = error;
    e.kind() == std::io::ErrorKind::Interrupted
}

/// Shows the cursor, ends the line, says the parting line if one is set, and exits with
/// [`INTERRUPTED`]. A second caller (the signal handler and the prompt that read the key both
/// come here) waits for the first to finish the exit.
pub fn leave() -> ! {
    if LEAVING.swap(true, Ordering::SeqCst) {
        loop {
            std::thread::park();
        }
    }
    let term = Term::stderr();
    // Best effort: a terminal that is gone needs no restoring.
    let _ = term.show_cursor();
    let _ = term.write_str("\r\n");
    if let Some(line) = PARTING.lock().unwrap_or_else(|e| e.into_inner()).take() {
        let _ = term.write_line(&line);
    }
    let _ = term.flush();
    std::process::exit(INTERRUPTED)
}
