//! The peer book: every peer a node knows, where it came from, and how it has behaved.
//!
//! Pure bookkeeping, no I/O and no clock: every method that depends on time takes `now`, so the
//! back-off, drop and ban rules are tested with made-up times. The node keeps the book in memory,
//! writes each changed [`PeerRecord`] to the store, and asks the book which peers to talk to.
//!
//! The rules, in one place:
//! - a failure (connect error, timeout, bad answer) backs a peer off for 1 s, doubling up to
//!   5 minutes; a success clears it;
//! - a peer the node learned or was told of by a registration is dropped after
//!   [`DROP_AFTER_FAILURES`] failures in a row, or when it has failed for [`DROP_AFTER_SILENCE`];
//!   peers the operator gave (`nodes.json`, `--peer`) are only ever backed off;
//! - a peer caught sending an invalid block or chain is banned for [`BAN`], whatever its source;
//!   the operator can ban any URL for any time (and lift it); a URL known only through its ban
//!   is kept (as source `banned`, at most [`MAX_BANNED`] of them) until the ban ends, never
//!   contacted, and then forgotten;
//! - learned and registered peers are used (relay, sync) only once their handshake passed;
//! - room is counted apart for the peers a node picks (the operator's and those it learned,
//!   at most `max`) and for the peers that picked it (they registered themselves, at most
//!   `max_inbound`), the way Bitcoin keeps 8 outbound connections beside its inbound ones: a
//!   node whose picks are full still takes the newcomers that name it, so every node is
//!   reachable by someone who relays to it.

use super::PeerUrl;
use crate::chain::Timestamp;
use std::time::Duration;

/// First back-off after a failure; each further failure doubles it.
pub const BACKOFF_BASE: Duration = Duration::from_secs(1);
/// Longest back-off.
pub const BACKOFF_MAX: Duration = Duration::from_secs(5 * 60);
/// Failures in a row after which a discovered peer is forgotten (about 17 minutes of retries).
pub const DROP_AFTER_FAILURES: u32 = 10;
/// How long a discovered peer may keep failing, counted from its last success (or from when it
/// was added), before it is forgotten.
pub const DROP_AFTER_SILENCE: Duration = Duration::from_secs(60 * 60);
/// How long a peer that sent an invalid block or chain is ignored.
pub const BAN: Duration = Duration::from_secs(10 * 60);
/// Peers a node picks by default (the operator's and those it learns); the operator's are
/// always kept, even past it.
pub const DEFAULT_MAX_PEERS: usize = 64;
/// Peers that registered themselves a node keeps by default, beside the ones it picks.
pub const DEFAULT_MAX_INBOUND: usize = 64;
/// What `GET /nodes` says of a candidate that failed its handshake, whatever the failure.
pub const CANDIDATE_FAILED: &str = "did not answer as a node of this chain";
/// Candidates (peers that failed their handshake) one registration or one peer list may add.
pub const CANDIDATES_PER_SOURCE: usize = 8;
/// Most URLs kept only because they are banned; past it, the ban that ends first goes. Each
/// costs a record, and a flood can name many URLs.
pub const MAX_BANNED: usize = 1024;

/// Where a peer came from. Operator sources are trusted to be meant and never dropped.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum PeerSource {
    /// The peers file (`nodes.json`).
    File,
    /// `--peer` on the command line (or [`crate::node::Node::set_peers`]).
    Flag,
    /// It announced itself with `POST /nodes/register` (the request came from it): a peer
    /// that picked us.
    Registered,
    /// Another peer listed it in `GET /nodes` or passed it on, or a client registered it.
    Learned,
    /// Known only because it is banned (it pushed something invalid, or the operator banned
    /// it): never contacted, and forgotten when the ban ends.
    Banned,
}

impl PeerSource {
    /// Whether the operator named this peer: used without a handshake, never dropped.
    pub fn is_operator(self) -> bool {
        matches!(self, PeerSource::File | PeerSource::Flag)
    }

    /// Whether a record from this source stands for a peer to talk to, rather than a ban.
    pub fn is_peer(self) -> bool {
        self != PeerSource::Banned
    }

    /// Whether the peer picked us (counted against the inbound room) rather than we it.
    pub fn is_inbound(self) -> bool {
        self == PeerSource::Registered
    }
}

/// Why and until when a peer is ignored.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Ban {
    pub until: Timestamp,
    pub reason: String,
}

/// Everything the node remembers about one peer; this is what the store keeps.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PeerRecord {
    pub url: PeerUrl,
    pub source: PeerSource,
    /// When the node first heard of it; orders the list.
    pub added: Timestamp,
    /// Its handshake passed: same genesis, so the same chain parameters.
    #[serde(default)]
    pub verified: bool,
    #[serde(default)]
    pub last_success: Option<Timestamp>,
    /// When it last answered us or sent us something from where its URL points.
    #[serde(default)]
    pub last_heard: Option<Timestamp>,
    /// Failures since the last success.
    #[serde(default)]
    pub failures: u32,
    #[serde(default)]
    pub last_error: Option<String>,
    /// Not to be contacted before this (set by a failure).
    #[serde(default)]
    pub retry_at: Option<Timestamp>,
    #[serde(default)]
    pub ban: Option<Ban>,
}

/// How a peer stands, as `GET /nodes` shows it.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum PeerState {
    Ok,
    /// It failed recently and is retried later.
    Backoff,
    /// It sent something invalid and is ignored until its ban ends.
    Banned,
    /// A state a newer node shows that this version does not know; never one of ours.
    #[serde(other)]
    Unknown,
}

/// One peer as `GET /nodes` shows it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PeerView {
    pub url: PeerUrl,
    pub source: PeerSource,
    pub state: PeerState,
    #[serde(default)]
    pub verified: bool,
    #[serde(default)]
    pub failures: u32,
    pub last_error: Option<String>,
    pub last_success: Option<Timestamp>,
    /// When it last answered us or sent us something (Unix ms).
    #[serde(default)]
    pub last_heard: Option<Timestamp>,
    pub retry_at: Option<Timestamp>,
    /// When the node will contact it next (Unix ms): the end of its back-off (a timer retries
    /// it then), the next discovery round, or the end of its ban.
    #[serde(default)]
    pub next_try: Option<Timestamp>,
    pub banned_until: Option<Timestamp>,
    pub ban_reason: Option<String>,
}

impl PeerRecord {
    pub fn new(url: PeerUrl, source: PeerSource, now: Timestamp) -> PeerRecord {
        PeerRecord {
            url,
            source,
            added: now,
            verified: false,
            last_success: None,
            last_heard: None,
            failures: 0,
            last_error: None,
            retry_at: None,
            ban: None,
        }
    }

    pub fn state(&self, now: Timestamp) -> PeerState {
        if self.banned_at(now) {
            PeerState::Banned
        } else if self.failures > 0 {
            PeerState::Backoff
        } else {
            PeerState::Ok
        }
    }

    pub fn banned_at(&self, now: Timestamp) -> bool {
        self.ban.as_ref().is_some_and(|b| b.until > now)
    }

    /// Not banned and not waiting out a back-off: may be contacted now.
    pub fn is_due(&self, now: Timestamp) -> bool {
        !self.banned_at(now) && self.retry_at.is_none_or(|t| t <= now)
    }

    /// May be relayed to and synced from: due, and either named by the operator or handshaken.
    pub fn is_usable(&self, now: Timestamp) -> bool {
        self.is_due(now) && (self.verified || self.source.is_operator())
    }

    /// Why a banned peer is skipped, in words for logs and the resolve report; `None` when it
    /// is not banned now.
    pub fn ban_reason(&self, now: Timestamp) -> Option<String> {
        let ban = self.ban.as_ref().filter(|_| self.banned_at(now))?;
        Some(format!(
            "skipped: banned until {} ms: {}",
            ban.until.as_millis(),
            ban.reason
        ))
    }

    /// Why a peer that is not usable is skipped, in words for logs and the resolve report.
    pub fn skip_reason(&self, now: Timestamp) -> Option<String> {
        if let Some(banned) = self.ban_reason(now) {
            return Some(banned);
        }
        if let Some(at) = self.retry_at.filter(|t| *t > now) {
            return Some(format!(
                "skipped: backing off until {} ms after {} failures (last: {})",
                at.as_millis(),
                self.failures,
                self.last_error.as_deref().unwrap_or("unknown")
            ));
        }
        if !self.is_usable(now) {
            return Some("skipped: its handshake has not passed yet".to_owned());
        }
        None
    }

    /// The view of `GET /nodes`; `next_round` is when the next discovery round starts, if the
    /// node knows.
    pub fn view(&self, now: Timestamp, next_round: Option<Timestamp>) -> PeerView {
        // A candidate's failures are told apart in the log only: `GET /nodes` saying "answered
        // 404" or "answered 302" for an address someone registered would map the services
        // behind it.
        let last_error = match self.verified || self.source.is_operator() {
            true => self.last_error.clone(),
            false => self
                .last_error
                .as_ref()
                .map(|_| CANDIDATE_FAILED.to_owned()),
        };
        let ban = self.ban.as_ref().filter(|_| self.banned_at(now));
        let retry_at = self.retry_at.filter(|t| *t > now);
        let next_try = match (ban, retry_at) {
            (Some(ban), _) => Some(ban.until),
            (None, Some(at)) => Some(at),
            // Due: its retry is running now if it failed, else it waits for the next round.
            (None, None) if self.failures > 0 => Some(now),
            (None, None) => next_round,
        };
        PeerView {
            url: self.url.clone(),
            source: self.source,
            state: self.state(now),
            verified: self.verified,
            failures: self.failures,
            last_error,
            last_success: self.last_success,
            last_heard: self.last_heard,
            retry_at,
            next_try,
            banned_until: ban.map(|b| b.until),
            ban_reason: ban.map(|b| b.reason.clone()),
        }
    }
}

/// The back-off after `failures` failures in a row: 1 s, 2 s, 4 s, ... up to [`BACKOFF_MAX`].
pub fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(31);
    BACKOFF_BASE
        .saturating_mul(1u32 << doublings)
        .min(BACKOFF_MAX)
}

fn later(now: Timestamp, by: Duration) -> Timestamp {
    now.saturating_add_millis(u64::try_from(by.as_millis()).unwrap_or(u64::MAX))
}

/// What a failure did to a peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failed {
    /// Retried no earlier than `until`.
    BackedOff { until: Timestamp, failures: u32 },
    /// Forgotten: a discovered peer that failed too often or too long.
    Dropped { failures: u32 },
    /// Not in the book (dropped meanwhile).
    Unknown,
}

/// What [`PeerBook::insert`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inserted {
    Added,
    Known,
    /// The book holds its maximum of discovered peers.
    Full,
}

/// The known peers, in the order they were added. Small (tens of entries), so a `Vec`.
#[derive(Clone, Debug)]
pub struct PeerBook {
    peers: Vec<PeerRecord>,
    /// Peers picked (operator and learned) that make the book refuse more learned ones.
    max: usize,
    /// Peers that registered themselves, kept at most.
    max_inbound: usize,
}

impl PeerBook {
    /// A book that picks at most `max` peers and keeps as many that picked it.
    pub fn new(max: usize) -> PeerBook {
        PeerBook {
            peers: Vec::new(),
            max,
            max_inbound: max,
        }
    }

    /// A book holding `records` (as read back from the store), oldest first.
    pub fn with_records(max: usize, mut records: Vec<PeerRecord>) -> PeerBook {
        records.sort_by(|a, b| a.added.cmp(&b.added).then_with(|| a.url.cmp(&b.url)));
        records.dedup_by(|a, b| a.url == b.url);
        PeerBook {
            peers: records,
            max,
            max_inbound: max,
        }
    }

    /// The same book keeping at most `max_inbound` peers that registered themselves.
    pub fn inbound(self, max_inbound: usize) -> PeerBook {
        PeerBook {
            max_inbound,
            ..self
        }
    }

    pub fn len(&self) -> usize {
        self.peers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }

    /// Whether a discovered peer would be refused for lack of room (bans take none).
    pub fn is_full(&self) -> bool {
        self.room(PeerSource::Learned) == 0
    }

    /// How many more peers from `source` the book takes: unbounded for the operator's, the
    /// inbound room for peers that registered themselves, the picked room for learned ones.
    ///
    /// A learned peer that has not passed its handshake yet is a *candidate*: candidates have
    /// room of their own (as many as `max`), so junk addresses that never answer cannot push out
    /// the peers in use.
    pub fn room(&self, source: PeerSource) -> usize {
        let peers = || self.peers.iter().filter(|p| p.source.is_peer());
        match source {
            PeerSource::File | PeerSource::Flag => usize::MAX,
            PeerSource::Registered => {
                let inbound = peers().filter(|p| p.source.is_inbound()).count();
                self.max_inbound.saturating_sub(inbound)
            }
            PeerSource::Learned | PeerSource::Banned => {
                let (used, candidates) = self.picked();
                let room = self.max.saturating_sub(used);
                room.min(self.max.saturating_sub(candidates))
            }
        }
    }

    /// Of the peers picked (not inbound): how many are in use (the operator's, or handshaken)
    /// and how many are candidates.
    fn picked(&self) -> (usize, usize) {
        let picked = self.peers.iter();
        let picked = picked.filter(|p| p.source.is_peer() && !p.source.is_inbound());
        let used = picked
            .clone()
            .filter(|p| p.verified || p.source.is_operator());
        let used = used.count();
        (used, picked.count() - used)
    }

    /// The room for `record` itself: a learned peer whose handshake passed needs room only
    /// among the peers in use, a candidate only among the candidates.
    fn room_for(&self, record: &PeerRecord) -> usize {
        if record.source.is_inbound() || record.source.is_operator() {
            return self.room(record.source);
        }
        let (used, candidates) = self.picked();
        let of = match record.verified {
            true => used,
            false => candidates,
        };
        self.max.saturating_sub(of)
    }

    pub fn max_inbound(&self) -> usize {
        self.max_inbound
    }

    /// Records of peers, as opposed to bans of URLs known for nothing else.
    pub fn peer_count(&self) -> usize {
        self.peers.iter().filter(|p| p.source.is_peer()).count()
    }

    pub fn max(&self) -> usize {
        self.max
    }

    pub fn get(&self, url: &PeerUrl) -> Option<&PeerRecord> {
        self.peers.iter().find(|p| p.url == *url)
    }

    pub fn contains(&self, url: &PeerUrl) -> bool {
        self.get(url).is_some()
    }

    pub fn records(&self) -> &[PeerRecord] {
        &self.peers
    }

    fn get_mut(&mut self, url: &PeerUrl) -> Option<&mut PeerRecord> {
        self.peers.iter_mut().find(|p| p.url == *url)
    }

    /// Adds `record` unless its URL is known. Discovered peers need room under the maximum;
    /// operator peers are always taken. An operator source upgrades a known discovered peer.
    pub fn insert(&mut self, record: PeerRecord) -> Inserted {
        if let Some(known) = self.get_mut(&record.url) {
            if record.source.is_operator() && !known.source.is_operator() {
                known.source = record.source;
            }
            return Inserted::Known;
        }
        if self.room_for(&record) == 0 {
            return Inserted::Full;
        }
        self.peers.push(record);
        Inserted::Added
    }

    pub fn remove(&mut self, url: &PeerUrl) -> Option<PeerRecord> {
        let i = self.peers.iter().position(|p| p.url == *url)?;
        Some(self.peers.remove(i))
    }

    /// A ban in force on `url`'s endpoint, under whatever spelling it was set (a ban on
    /// `http://127.0.0.1:5001` holds for `http://localhost:5001`).
    pub fn ban_on(&self, url: &PeerUrl, now: Timestamp) -> Option<&Ban> {
        let endpoint = url.endpoint();
        self.peers
            .iter()
            .filter(|p| p.banned_at(now))
            .find(|p| p.url == *url || p.url.endpoint() == endpoint)
            .and_then(|p| p.ban.as_ref())
    }

    /// The peers `keep` takes whose endpoint no ban in force covers, the banned endpoints
    /// worked out once for the whole list.
    fn unbanned(&self, now: Timestamp, keep: impl Fn(&PeerRecord) -> bool) -> Vec<PeerUrl> {
        let banned: Vec<_> = self
            .peers
            .iter()
            .filter(|p| p.banned_at(now))
            .map(|p| p.url.endpoint())
            .collect();
        self.peers
            .iter()
            .filter(|p| keep(p))
            .filter(|p| banned.is_empty() || !banned.contains(&p.url.endpoint()))
            .map(|p| p.url.clone())
            .collect()
    }

    /// Peers that may be relayed to and synced from now.
    pub fn usable(&self, now: Timestamp) -> Vec<PeerUrl> {
        self.unbanned(now, |p| p.is_usable(now))
    }

    /// Peers the discovery round should contact now: everyone not banned or backing off,
    /// handshaken or not (a candidate's retry is its handshake).
    pub fn due(&self, now: Timestamp) -> Vec<PeerUrl> {
        self.unbanned(now, |p| p.source.is_peer() && p.is_due(now))
    }

    /// The peer answered: its failures and back-off are cleared.
    pub fn succeeded(&mut self, url: &PeerUrl, now: Timestamp) -> bool {
        let Some(p) = self.get_mut(url) else {
            return false;
        };
        p.failures = 0;
        p.retry_at = None;
        p.last_error = None;
        p.last_success = Some(now);
        p.last_heard = Some(now);
        true
    }

    /// The peer sent us something (from where its URL points); nothing else changes.
    pub fn heard_from(&mut self, url: &PeerUrl, now: Timestamp) -> bool {
        let Some(p) = self.get_mut(url) else {
            return false;
        };
        p.last_heard = Some(now);
        true
    }

    /// The peers backing off (not banned), with when each is to be tried again: what the
    /// node's retry timer waits for.
    pub fn retries(&self, now: Timestamp) -> Vec<(PeerUrl, Timestamp)> {
        self.peers
            .iter()
            .filter(|p| p.source.is_peer() && p.failures > 0 && !p.banned_at(now))
            .filter_map(|p| Some((p.url.clone(), p.retry_at?)))
            .collect()
    }

    /// The peer passed the handshake (and so answered).
    pub fn verified(&mut self, url: &PeerUrl, now: Timestamp) -> bool {
        let Some(p) = self.get_mut(url) else {
            return false;
        };
        p.verified = true;
        self.succeeded(url, now)
    }

    /// The peer failed with `error`: back it off, or drop it if it is a discovered peer that
    /// failed too often or for too long.
    pub fn failed(&mut self, url: &PeerUrl, error: String, now: Timestamp) -> Failed {
        let Some(p) = self.get_mut(url) else {
            return Failed::Unknown;
        };
        p.failures = p.failures.saturating_add(1);
        p.last_error = Some(error);
        let failures = p.failures;
        let silent_since = p.last_success.unwrap_or(p.added);
        let silent_for =
            Duration::from_millis(now.as_millis().saturating_sub(silent_since.as_millis()));
        if !p.source.is_operator()
            && (failures >= DROP_AFTER_FAILURES || silent_for >= DROP_AFTER_SILENCE)
        {
            self.remove(url);
            return Failed::Dropped { failures };
        }
        let until = later(now, backoff(failures));
        p.retry_at = Some(until);
        Failed::BackedOff { until, failures }
    }

    /// Ignores the peer for [`BAN`]; returns when the ban ends. See [`PeerBook::ban_for`].
    pub fn ban(&mut self, url: &PeerUrl, reason: String, now: Timestamp) -> Timestamp {
        self.ban_for(url, reason, BAN, now)
    }

    /// Ignores `url` for `duration` (replacing any ban it has); returns when the ban ends. A URL
    /// the book does not know is kept as a ban-only record (source [`PeerSource::Banned`]).
    pub fn ban_for(
        &mut self,
        url: &PeerUrl,
        reason: String,
        duration: Duration,
        now: Timestamp,
    ) -> Timestamp {
        let until = later(now, duration);
        let ban = Some(Ban { until, reason });
        if let Some(p) = self.get_mut(url) {
            p.ban = ban;
            return until;
        }
        let banned_only = self.peers.iter().filter(|p| !p.source.is_peer()).count();
        if banned_only >= MAX_BANNED {
            let first_to_end = self
                .peers
                .iter()
                .filter(|p| !p.source.is_peer())
                .min_by_key(|p| p.ban.as_ref().map(|b| b.until))
                .map(|p| p.url.clone());
            if let Some(old) = first_to_end {
                self.remove(&old);
            }
        }
        let mut record = PeerRecord::new(url.clone(), PeerSource::Banned, now);
        record.ban = ban;
        self.peers.push(record);
        until
    }

    /// Lifts the ban on `url`: a peer is used again, a ban-only record is forgotten. Returns
    /// whether there was a ban in force.
    pub fn unban(&mut self, url: &PeerUrl, now: Timestamp) -> bool {
        let Some(p) = self.get_mut(url) else {
            return false;
        };
        let was = p.banned_at(now);
        p.ban = None;
        if !p.source.is_peer() {
            self.remove(url);
        }
        was
    }

    /// Forgets ban-only records whose ban has ended; returns their URLs.
    pub fn prune(&mut self, now: Timestamp) -> Vec<PeerUrl> {
        let ended: Vec<PeerUrl> = self
            .peers
            .iter()
            .filter(|p| !p.source.is_peer() && !p.banned_at(now))
            .map(|p| p.url.clone())
            .collect();
        for url in &ended {
            self.remove(url);
        }
        ended
    }
}

#[cfg(test)]
mod tests;
