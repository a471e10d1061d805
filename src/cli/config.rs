//! Where the command line's values come from: a flag, else a `FERROCHAIN_*` environment
//! variable, else the node's configuration file, else the built-in default.
//!
//! The layers are clap's own: [`command`] names an environment variable for every option of
//! `node` (and for the options the client commands share with it), and [`parse`] reads the
//! configuration file and hands its values to clap as the options' defaults. So a value from
//! any layer goes through the same parser, with the same rule and the same message, as the flag.

use super::args::Cli;
use clap::{ArgMatches, CommandFactory, FromArgMatches};
use std::path::{Path, PathBuf};

/// The configuration file a node reads from its data directory when `--config` names none.
pub const FILE_NAME: &str = "ferrochain.toml";
/// Every option's environment variable is this prefix and its name (`FERROCHAIN_DATA_DIR`).
pub const ENV_PREFIX: &str = "FERROCHAIN_";
/// Options other commands share with `node` (or with each other) under the same meaning, which
/// take the same environment variable wherever they appear.
const SHARED: [&str; 5] = ["node", "token", "wallet_dir", "data_dir", "threads"];

/// A configuration file that cannot be used; nothing has been started when this is reported.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {}: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}: not TOML: {error}", path.display())]
    Toml {
        path: PathBuf,
        error: Box<toml::de::Error>,
    },
    #[error("{}: unknown key `{key}` (the keys are the names of `ferrochain node`'s options: {known})",
            path.display())]
    UnknownKey {
        path: PathBuf,
        key: String,
        known: String,
    },
    #[error("{}: `{key}` cannot be set in the data directory's own {FILE_NAME}; give it with \
             --data-dir or in a file named by --config", path.display())]
    DataDirInDataDir { path: PathBuf, key: String },
    #[error("{}: `{key}` takes {expected}, not {found}", path.display())]
    Kind {
        path: PathBuf,
        key: String,
        expected: &'static str,
        found: &'static str,
    },
    #[error("{}: `{key}` = {value}: {reason}", path.display())]
    Value {
        path: PathBuf,
        key: String,
        value: String,
        reason: String,
    },
}

/// The `ferrochain` command with every environment variable named.
pub fn command() -> clap::Command {
    Cli::command().mut_subcommands(|sub| {
        let whole = sub.get_name() == "node";
        with_env(sub, whole)
    })
}

/// Names an environment variable for each of `cmd`'s arguments (all of them if `whole`, else
/// the [`SHARED`] ones), in its subcommands too.
fn with_env(cmd: clap::Command, whole: bool) -> clap::Command {
    let ids: Vec<String> = cmd
        .get_arguments()
        .filter(|a| a.get_env().is_none() && !is_builtin(a))
        .filter(|a| whole || SHARED.contains(&a.get_id().as_str()))
        .map(|a| a.get_id().to_string())
        .collect();
    let cmd = ids.into_iter().fold(cmd, |cmd, id| {
        let name = format!("{ENV_PREFIX}{}", id.to_uppercase());
        cmd.mut_arg(id, |a| a.env(name))
    });
    cmd.mut_subcommands(|sub| with_env(sub, false))
}

/// clap's own `--help` and `--version`.
fn is_builtin(arg: &clap::Arg) -> bool {
    matches!(arg.get_id().as_str(), "help" | "version")
}

/// The command line as typed, with the environment and the configuration file beneath it.
/// clap's own errors (and `--help`) end the process as clap does.
pub fn parse() -> Result<Cli, ConfigError> {
    parse_from(std::env::args_os())
}

/// [`parse`] for the arguments `args` (the program name first).
pub fn parse_from<I, T>(args: I) -> Result<Cli, ConfigError>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    let cmd = command();
    let matches = cmd.clone().get_matches_from(&args);
    let matches = match matches.subcommand() {
        Some(("node", node)) => match node_file(node) {
            Some(file) => {
                let node = cmd.find_subcommand("node").expect("node is a subcommand");
                let layered = file.defaults(node.clone())?;
                cmd.mut_subcommand("node", |_| layered)
                    .get_matches_from(&args)
            }
            None => matches,
        },
        _ => matches,
    };
    Ok(Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit()))
}

/// The configuration file a `node` command line names, or the data directory's if it has one.
fn node_file(node: &ArgMatches) -> Option<Located> {
    if let Some(path) = node.get_one::<PathBuf>("config") {
        return Some(Located {
            path: path.clone(),
            data_dir: None,
        });
    }
    let data_dir = match node.get_one::<PathBuf>("data_dir") {
        Some(dir) => dir.clone(),
        None => default_data_dir(*node.get_one::<u16>("port").expect("port has a default")),
    };
    let path = data_dir.join(FILE_NAME);
    path.is_file().then_some(Located {
        path,
        data_dir: Some(data_dir),
    })
}

/// Where a node on `port` keeps its chain unless told otherwise.
pub fn default_data_dir(port: u16) -> PathBuf {
    PathBuf::from("data").join(port.to_string())
}

/// A configuration file and, if it was found in a data directory, that directory.
struct Located {
    path: PathBuf,
    data_dir: Option<PathBuf>,
}

impl Located {
    /// Reads the file and makes its values `node`'s defaults.
    fn defaults(&self, node: clap::Command) -> Result<clap::Command, ConfigError> {
        let text = std::fs::read_to_string(&self.path).map_err(|error| ConfigError::Read {
            path: self.path.clone(),
            error,
        })?;
        let table: toml::Table = text.parse().map_err(|error| ConfigError::Toml {
            path: self.path.clone(),
            error: Box::new(error),
        })?;
        let mut node = node;
        for (key, value) in &table {
            let id = self.option(&node, key)?;
            let values = self.strings(key, value)?;
            let arg = node
                .get_arguments()
                .find(|a| a.get_id() == id.as_str())
                .expect("the id was found among the arguments");
            if matches!(arg.get_action(), clap::ArgAction::SetTrue) {
                if !value.is_bool() {
                    return Err(ConfigError::Kind {
                        path: self.path.clone(),
                        key: key.to_owned(),
                        expected: "true or false",
                        found: value.type_str(),
                    });
                }
            } else {
                for value in &values {
                    self.check(arg, key, value)?;
                }
            }
            node = node.mut_arg(&id, |a| a.default_values(values));
        }
        // A file found in a data directory keeps the node there, whatever port it sets.
        if let Some(dir) = &self.data_dir {
            let dir = dir.to_string_lossy().into_owned();
            node = node.mut_arg("data_dir", |a| a.default_value(dir));
        }
        Ok(node)
    }

    /// The argument id `key` names: an option's long name, or `port`.
    fn option(&self, node: &clap::Command, key: &str) -> Result<String, ConfigError> {
        let settable = |a: &&clap::Arg| !is_builtin(a) && a.get_id() != "config";
        let found = node
            .get_arguments()
            .filter(settable)
            .find(|a| match a.get_long() {
                Some(long) => long == key,
                None => a.get_id() == key,
            });
        let Some(arg) = found else {
            let known: Vec<String> = node
                .get_arguments()
                .filter(settable)
                .map(|a| a.get_long().unwrap_or(a.get_id().as_str()).to_owned())
                .collect();
            return Err(ConfigError::UnknownKey {
                path: self.path.clone(),
                key: key.to_owned(),
                known: known.join(", "),
            });
        };
        if arg.get_id() == "data_dir" && self.data_dir.is_some() {
            return Err(ConfigError::DataDirInDataDir {
                path: self.path.clone(),
                key: key.to_owned(),
            });
        }
        Ok(arg.get_id().to_string())
    }

    /// A value as the text a flag would carry; an array (for a repeated option) as several.
    fn strings(&self, key: &str, value: &toml::Value) -> Result<Vec<String>, ConfigError> {
        let kind = |expected| ConfigError::Kind {
            path: self.path.clone(),
            key: key.to_owned(),
            expected,
            found: value.type_str(),
        };
        match value {
            toml::Value::String(s) => Ok(vec![s.clone()]),
            toml::Value::Integer(i) => Ok(vec![i.to_string()]),
            toml::Value::Float(f) => Ok(vec![f.to_string()]),
            toml::Value::Boolean(b) => Ok(vec![b.to_string()]),
            toml::Value::Array(items) => items
                .iter()
                .map(|item| match item {
                    toml::Value::Array(_) | toml::Value::Table(_) => {
                        Err(kind("a list of plain values"))
                    }
                    other => Ok(self.strings(key, other)?.remove(0)),
                })
                .collect(),
            toml::Value::Datetime(_) | toml::Value::Table(_) => {
                Err(kind("a string, number, boolean or list"))
            }
        }
    }

    /// Runs `value` through the option's own parser, so the file is held to the flag's rules
    /// and the error names the file and the key.
    fn check(&self, arg: &clap::Arg, key: &str, value: &str) -> Result<(), ConfigError> {
        // The option alone, as a flag would give it, without its variable or default.
        let alone = arg.clone().env(None).default_values(Vec::<String>::new());
        let given = match arg.get_long() {
            Some(long) => format!("--{long}={value}"),
            None => value.to_owned(),
        };
        let probe = clap::Command::new("ferrochain")
            .no_binary_name(true)
            .arg(alone);
        probe
            .try_get_matches_from([given])
            .map(drop)
            .map_err(|e| ConfigError::Value {
                path: self.path.clone(),
                key: key.to_owned(),
                value: value.to_owned(),
                reason: reason(&e),
            })
    }
}

/// What a value parser found wrong, without clap's framing ("error: invalid value ...").
fn reason(e: &clap::Error) -> String {
    match std::error::Error::source(e) {
        Some(source) => source.to_string(),
        None => e.kind().to_string(),
    }
}

/// The data directory a parsed `node` command uses.
pub fn data_dir(data_dir: Option<&Path>, port: u16) -> PathBuf {
    data_dir.map_or_else(|| default_data_dir(port), Path::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::Command;

    /// Every subcommand and argument of `cmd` (and below) without help text, by path.
    fn undocumented(cmd: &clap::Command, path: &str, out: &mut Vec<String>) {
        for arg in cmd.get_arguments().filter(|a| !is_builtin(a)) {
            if arg.get_help().is_none() && arg.get_long_help().is_none() {
                out.push(format!("{path} {}", arg.get_id()));
            }
        }
        for sub in cmd.get_subcommands() {
            let path = format!("{path} {}", sub.get_name());
            if sub.get_about().is_none() && sub.get_long_about().is_none() {
                out.push(path.clone());
            }
            undocumented(sub, &path, out);
        }
    }

    #[test]
    fn every_subcommand_and_option_has_help_text() {
        let mut missing = Vec::new();
        undocumented(&command(), "ferrochain", &mut missing);
        assert!(missing.is_empty(), "without help text: {missing:?}");
    }

    #[test]
    fn every_node_option_and_the_shared_ones_take_an_environment_variable() {
        let cmd = command();
        let node = cmd.find_subcommand("node").unwrap();
        for arg in node.get_arguments().filter(|a| !is_builtin(a)) {
            let env = arg.get_env().map(|e| e.to_string_lossy().into_owned());
            let expected = format!("FERROCHAIN_{}", arg.get_id().as_str().to_uppercase());
            assert_eq!(env.as_deref(), Some(expected.as_str()));
        }
        let status = cmd.find_subcommand("status").unwrap();
        let node_url = status.get_arguments().find(|a| a.get_id() == "node");
        assert_eq!(node_url.unwrap().get_env().unwrap(), "FERROCHAIN_NODE");
    }

    fn node_args(file: &Path) -> crate::cli::args::NodeArgs {
        let args = [
            "ferrochain",
            "node",
            "0",
            "--config",
            file.to_str().unwrap(),
        ];
        match parse_from(args).unwrap().command {
            Some(Command::Node(args)) => args,
            _ => panic!("not the node command"),
        }
    }

    #[test]
    fn the_file_fills_what_the_command_line_leaves_out() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("node.toml");
        std::fs::write(
            &file,
            "port = 6000\n\
             peer = [\"http://127.0.0.1:5001\", \"http://127.0.0.2:5002\"]\n\
             require-token = true\n\
             block-time = 2.5\n\
             threads = 3\n",
        )
        .unwrap();
        let args = node_args(&file);
        // The command line's port wins; the rest comes from the file.
        assert_eq!(args.port, 0);
        assert_eq!(args.threads, Some(3));
        assert!(args.require_token);
        assert_eq!(args.chain.block_time, Some(2500));
        assert_eq!(args.peer.len(), 2);
    }
}
