//! The node's own settings among Rocket's configuration (`Rocket.toml`, `ROCKET_*` variables,
//! or merged by the command line), read once when the server ignites and managed by Rocket, so
//! no request extracts configuration.

/// See each field; every one has a default.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct Settings {
    /// Host names the node answers to besides IP addresses, `localhost` and its public URL's.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Origins whose pages may call the node from a browser besides its own.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Seconds a client has to send a body.
    #[serde(default)]
    pub body_timeout: Option<u64>,
    /// Refused requests within a minute that get an address refused (0: never).
    #[serde(default)]
    pub misbehaviour_limit: Option<u32>,
    /// Open connections the node keeps (see `gate`).
    #[serde(default)]
    pub max_connections: Option<usize>,
    /// Seconds a client has to send a request head.
    #[serde(default)]
    pub head_timeout: Option<u64>,
    /// Seconds an answered connection may stay quiet before it is closed.
    #[serde(default)]
    pub idle_timeout: Option<u64>,
    /// Ask for the API token on loopback too.
    #[serde(default)]
    pub require_token: bool,
}

/// The settings of the server handling `req` (the defaults if none were managed).
pub fn of<'r>(req: &'r rocket::Request<'_>) -> std::borrow::Cow<'r, Settings> {
    match req.rocket().state::<Settings>() {
        Some(settings) => std::borrow::Cow::Borrowed(settings),
        None => std::borrow::Cow::Owned(Settings::default()),
    }
}
