//! Who may use the operator's routes: `POST /mine` (it spends the node's CPU), `POST` and
//! `DELETE /nodes/ban` (they decide whom the node hears) and `GET /nodes/resolve` (it makes the
//! node dial every peer on demand).
//!
//! A node listening on loopback only serves them to anyone who can reach it, as the seed's
//! token-free `curl` workflow expects: only local users can. A node listening beyond loopback,
//! or started with `--require-token`, asks for `Authorization: Bearer <token>`, the token in
//! `api.token` in its data directory (see [`crate::token`]); a missing or wrong one is 401
//! `unauthorized` and changes nothing. The routes peers use stay open.

use super::error::ApiError;
use crate::token::ApiToken;
use rocket::fairing::AdHoc;
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use std::path::PathBuf;

/// How the operator's routes are guarded, decided once when the server ignites.
#[derive(Clone, Debug)]
pub enum Access {
    /// Loopback only, no token asked for.
    Open,
    /// The token in this file is asked for; read at every check, so a rotation applies at once.
    Token(PathBuf),
}

/// Decides [`Access`] from the listening address and the `require_token` setting, with the
/// token in `token_file`.
pub fn fairing(token_file: PathBuf) -> AdHoc {
    AdHoc::on_ignite("access", move |rocket| async move {
        let figment = rocket.figment();
        // Managed by the settings fairing, attached before this one.
        let settings = rocket.state::<super::settings::Settings>();
        let required = settings.is_some_and(|s| s.require_token);
        // The gate's address if there is one (Rocket itself listens on loopback behind it);
        // Rocket's default address, if the figment names none, is loopback.
        let address = match rocket.state::<std::sync::Arc<super::Gate>>() {
            Some(gate) => Ok(gate.public_addr().ip()),
            None => figment.extract_inner::<std::net::IpAddr>("address"),
        };
        let beyond_loopback = address.is_ok_and(|a| !a.is_loopback());
        let access = match required || beyond_loopback {
            true => {
                log::info!(
                    "the operator's routes (mining, bans, resolve) ask for the token in {}",
                    token_file.display()
                );
                Access::Token(token_file)
            }
            false => {
                log::info!(
                    "listening on loopback: the operator's routes ask for no token (the token \
                     is in {}; --require-token asks for it)",
                    token_file.display()
                );
                Access::Open
            }
        };
        rocket.manage(access)
    })
}

/// A request to an operator's route, with the verdict on its token for the handler to return
/// (a guard failure would lose the error body to the generic catcher).
pub struct Operator(Result<(), ApiError>);

impl Operator {
    pub fn check(self) -> Result<(), ApiError> {
        self.0
    }
}

fn unauthorized(message: String) -> ApiError {
    ApiError::new(Status::Unauthorized, "unauthorized", message)
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Operator {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let verdict = match req.rocket().state::<Access>() {
            None | Some(Access::Open) => Ok(()),
            Some(Access::Token(path)) => {
                let presented = req
                    .headers()
                    .get_one("Authorization")
                    .and_then(|value| value.strip_prefix("Bearer "));
                match (presented, ApiToken::read(path)) {
                    (_, Err(e)) => {
                        log::error!("{e}");
                        Err(unauthorized(format!("this node cannot check tokens: {e}")))
                    }
                    (None, _) => Err(unauthorized(format!(
                        "this route needs Authorization: Bearer <token>, the token in {} \
                         (the CLI finds it there, or takes --token)",
                        path.display()
                    ))),
                    (Some(given), Ok(token)) if token.matches(given) => Ok(()),
                    (Some(_), Ok(_)) => Err(unauthorized("wrong token".to_owned())),
                }
            }
        };
        Outcome::Success(Operator(verdict))
    }
}
