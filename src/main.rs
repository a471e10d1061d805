//! The `ferrochain` binary: parses arguments ([`ferrochain::cli::args`]), then runs a node, the
//! mining benchmark, or the command-line client (guided or one subcommand).

use ferrochain::cli::args::{Command, GuidedArgs, LogFormat, NodeArg, TokenAction};
use ferrochain::cli::{self, config, logging};
use ferrochain::wallet::Keystore;
use std::io::IsTerminal;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match config::parse() {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    logging::init(match &cli.command {
        Some(Command::Node(args)) => args.log_format,
        _ => LogFormat::Text,
    });
    match cli.command {
        Some(Command::Node(args)) => report(cli::node::run(args)),
        Some(Command::Bench(args)) => report(cli::bench::run(args)),
        Some(Command::Cli(args)) => guided(args),
        Some(Command::Client(command)) => command.run(),
        Some(Command::Token {
            action: TokenAction::Rotate { data_dir },
        }) => report(cli::rotate_token(&data_dir)),
        Some(Command::Completions { shell }) => {
            let mut out = std::io::stdout();
            clap_complete::generate(shell, &mut config::command(), "ferrochain", &mut out);
            ExitCode::SUCCESS
        }
        None if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() => {
            // As `ferrochain cli`, so FERROCHAIN_NODE and the other variables apply too.
            match config::parse_from(["ferrochain", "cli"]).map(|c| c.command) {
                Ok(Some(Command::Cli(args))) => guided(args),
                _ => unreachable!("`ferrochain cli` parses as the guided CLI"),
            }
        }
        None => {
            // Nobody to prompt: a script that forgot its command gets the usage and a failure.
            eprintln!("{}", config::command().render_help());
            ExitCode::from(2)
        }
    }
}

/// The exit status of `node` and `bench`: the error and its causes on one line.
fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn guided(args: GuidedArgs) -> ExitCode {
    let GuidedArgs {
        node: NodeArg { node, token },
        wallet_dir,
    } = args;
    let client = cli::Client::new(node, token);
    match cli::guided::run(&client, &Keystore::new(wallet_dir)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
