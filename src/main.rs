//! The `ferrochain` binary: parses arguments ([`ferrochain::cli::args`]), then runs a node, the
//! mining benchmark, or the command-line client (guided or one subcommand).

use clap::{CommandFactory, Parser};
use ferrochain::cli::args::{Cli, Command, GuidedArgs, NodeArg, TokenAction};
use ferrochain::cli::{self, DEFAULT_NODE};
use ferrochain::network::PeerUrl;
use ferrochain::wallet::{self, Keystore};
use std::io::IsTerminal;
use std::process::ExitCode;

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(
        "info,rocket=error,_=warn,hyper=warn,reqwest=warn,sled=warn,rustls=warn",
    ))
    .init();
    match Cli::parse().command {
        Some(Command::Node(args)) => report(cli::node::run(args)),
        Some(Command::Bench(args)) => report(cli::bench::run(args)),
        Some(Command::Cli(GuidedArgs {
            node: NodeArg { node, token },
            wallet_dir,
        })) => guided(cli::Client::new(node, token), &Keystore::new(wallet_dir)),
        Some(Command::Client(command)) => command.run(),
        Some(Command::Token {
            action: TokenAction::Rotate { data_dir },
        }) => report(cli::rotate_token(&data_dir)),
        Some(Command::Completions { shell }) => {
            let mut out = std::io::stdout();
            clap_complete::generate(shell, &mut Cli::command(), "ferrochain", &mut out);
            ExitCode::SUCCESS
        }
        None if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() => {
            let node = PeerUrl::parse(DEFAULT_NODE).expect("a valid default URL");
            let token = std::env::var("FERROCHAIN_TOKEN").ok();
            guided(
                cli::Client::new(node, token),
                &Keystore::new(wallet::DEFAULT_DIR),
            )
        }
        None => {
            // Nobody to prompt: a script that forgot its command gets the usage and a failure.
            eprintln!("{}", Cli::command().render_help());
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

fn guided(client: cli::Client, keys: &Keystore) -> ExitCode {
    match cli::guided::run(&client, keys) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
