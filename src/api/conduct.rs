//! Misbehaviour per source address: a client that keeps sending what the node must refuse
//! (malformed or oversized bodies, invalid blocks and transfers, bodies too slow to arrive) is
//! refused for a while before it costs the node more work.
//!
//! Each such answer (400, 408, 413, 415 or 422 to a `POST`, `PUT` or `DELETE`) is a point
//! against the address it came from. At [`LIMIT`] points within [`WINDOW`] the address is
//! refused for [`REFUSAL`]: every request from it gets 429 `misbehaving` with `Retry-After`,
//! unread. The limit is `misbehaviour_limit` in Rocket's configuration (0 turns scoring off).
//! At most [`MAX_TRACKED`] addresses are tracked; past it the quietest are forgotten.

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::Method;
use rocket::{Request, Response};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Points within a window that get an address refused, by default.
pub const LIMIT: u32 = 100;
/// How long points count.
pub const WINDOW: Duration = Duration::from_secs(60);
/// How long a misbehaving address is refused.
pub const REFUSAL: Duration = Duration::from_secs(60);
/// Addresses tracked at most.
pub const MAX_TRACKED: usize = 10_000;

#[derive(Clone, Copy, Debug)]
struct Score {
    points: u32,
    since: Instant,
    refused_until: Option<Instant>,
}

/// The scores, managed by Rocket; also the fairing that keeps them.
pub struct Conduct {
    scores: Mutex<HashMap<IpAddr, Score>>,
}

impl Conduct {
    pub fn new() -> Conduct {
        Conduct {
            scores: Mutex::new(HashMap::new()),
        }
    }

    /// How long `ip` is still refused, if it is.
    pub fn refused(&self, ip: IpAddr) -> Option<Duration> {
        let scores = self.scores.lock().expect("scores lock");
        let until = scores.get(&ip)?.refused_until?;
        until.checked_duration_since(Instant::now())
    }

    /// One point against `ip`; refuses it once it reaches `limit` within the window.
    fn misbehaved(&self, ip: IpAddr, limit: u32) {
        let now = Instant::now();
        let mut scores = self.scores.lock().expect("scores lock");
        if scores.len() >= MAX_TRACKED && !scores.contains_key(&ip) {
            let quietest = scores
                .iter()
                .min_by_key(|(_, s)| s.points)
                .map(|(ip, _)| *ip);
            if let Some(quietest) = quietest {
                scores.remove(&quietest);
            }
        }
        let score = scores.entry(ip).or_insert(Score {
            points: 0,
            since: now,
            refused_until: None,
        });
        if now.duration_since(score.since) > WINDOW {
            *score = Score {
                points: 0,
                since: now,
                refused_until: score.refused_until,
            };
        }
        score.points += 1;
        if score.points >= limit && score.refused_until.is_none_or(|t| t <= now) {
            log::warn!(
                "refusing {ip} for {} s: {} bad requests",
                REFUSAL.as_secs(),
                score.points
            );
            score.refused_until = Some(now + REFUSAL);
            score.points = 0;
            score.since = now;
        }
    }
}

impl Default for Conduct {
    fn default() -> Self {
        Conduct::new()
    }
}

/// The configured limit (0: no scoring).
pub fn limit(req: &Request<'_>) -> u32 {
    super::settings::of(req).misbehaviour_limit.unwrap_or(LIMIT)
}

/// Counts the refusals the node answered.
pub struct Scoring;

#[rocket::async_trait]
impl Fairing for Scoring {
    fn info(&self) -> Info {
        Info {
            name: "misbehaviour scoring",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let changes = matches!(req.method(), Method::Post | Method::Put | Method::Delete);
        let refused = matches!(res.status().code, 400 | 408 | 413 | 415 | 422);
        let (Some(ip), Some(conduct)) = (
            req.remote().map(|r| r.ip()),
            req.rocket().state::<Conduct>(),
        ) else {
            return;
        };
        let limit = limit(req);
        if changes && refused && limit > 0 {
            conduct.misbehaved(ip.to_canonical(), limit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_refused_at_the_limit_and_others_are_not() {
        let conduct = Conduct::new();
        let (bad, good) = ([10, 0, 0, 1].into(), [10, 0, 0, 2].into());
        for _ in 0..4 {
            conduct.misbehaved(bad, 5);
        }
        assert!(conduct.refused(bad).is_none());
        conduct.misbehaved(bad, 5);
        let left = conduct.refused(bad).unwrap();
        assert!(left > REFUSAL - Duration::from_secs(1) && left <= REFUSAL);
        assert!(conduct.refused(good).is_none());
    }
}
