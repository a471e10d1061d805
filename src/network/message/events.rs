//! `GET /events`: what the node tells its subscribers as it happens, as server-sent events, and
//! `GET /chain/reorgs`, the recent reorganisations.
//!
//! Each [`Event`] is one SSE event: its [`name`](Event::name) is the SSE `event` field and its
//! body the `data` field, as JSON. Chain events (a block joining the main chain, a
//! reorganisation) carry an [`EventId`], `height:hash` of the block the subscriber has seen
//! the chain up to; a client that reconnects with it (`Last-Event-ID`) is sent what it missed.

use crate::chain::{BlockHash, Height, Target, Timestamp, TxId};
use crate::mining::{ProcessUsage, Progress};
use crate::network::message::NodeStatus;
use crate::network::{PeerState, PeerUrl};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

/// Something that happened on the node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A block joined the main chain.
    Block(BlockJoined),
    /// Blocks left the main chain; the blocks that replace them follow as [`Event::Block`]s.
    Reorg(Reorganisation),
    /// Transfers entered or left the mempool.
    Mempool(MempoolChange),
    /// A peer was added, forgotten, or changed state.
    Peer(PeerChange),
    /// A resuming client's last block is no longer on the main chain: it should read the
    /// chain afresh.
    Reset(ChainReset),
    /// How the running search goes, about once a second while one runs, and once when it
    /// ends.
    Mining(MiningReport),
}

impl Event {
    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Block(_) => "block",
            Event::Reorg(_) => "reorg",
            Event::Mempool(_) => "mempool",
            Event::Peer(_) => "peer",
            Event::Reset(_) => "reset",
            Event::Mining(_) => "mining",
        }
    }

    /// The SSE id of a chain event: the main chain's block the subscriber is up to after it.
    pub fn id(&self) -> Option<EventId> {
        match self {
            Event::Block(b) => Some(EventId {
                height: b.height,
                hash: b.hash,
            }),
            Event::Reorg(r) => Some(EventId {
                height: r.fork_height,
                hash: r.fork,
            }),
            Event::Reset(r) => Some(EventId {
                height: r.height,
                hash: r.tip,
            }),
            Event::Mempool(_) | Event::Peer(_) | Event::Mining(_) => None,
        }
    }
}

/// A block that joined the main chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BlockJoined {
    pub height: Height,
    pub hash: BlockHash,
    pub previous_hash: BlockHash,
    pub timestamp: Timestamp,
    /// Entries in the block (transfers, notes and the reward).
    pub transactions: usize,
}

/// A reorganisation: the blocks above `fork_height` that left the main chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Reorganisation {
    /// The last block both branches share.
    pub fork_height: Height,
    pub fork: BlockHash,
    /// Blocks replaced.
    pub depth: usize,
    /// The blocks that left, highest first.
    pub replaced: Vec<BlockHash>,
    /// The main chain's tip once the new branch was taken.
    pub tip: BlockHash,
    pub tip_height: Height,
    pub time: Timestamp,
}

/// Transfers that entered or left the mempool at once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MempoolChange {
    pub entered: Vec<TxId>,
    /// Mined, or no longer valid on the new tip.
    pub left: Vec<TxId>,
    /// Transfers waiting after the change.
    pub size: usize,
}

/// A peer's new state; `None` once it is forgotten.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PeerChange {
    pub url: PeerUrl,
    pub state: Option<PeerState>,
}

/// The main chain's tip, for a client to read the chain from afresh.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChainReset {
    pub height: Height,
    pub tip: BlockHash,
}

/// The miner at work: the block it searches for, how the search goes, and the node's CPU and
/// memory; what a live view of mining shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MiningReport {
    /// The height of the block searched for.
    pub height: Height,
    pub mining: Progress,
    /// The target that block must meet.
    pub next_target: Target,
    pub process: Option<ProcessUsage>,
}

impl From<&NodeStatus> for MiningReport {
    /// The same figures from a status snapshot, for nodes whose events do not carry them.
    fn from(status: &NodeStatus) -> Self {
        MiningReport {
            height: status.height.next(),
            mining: status.mining.clone(),
            next_target: status.next_target,
            process: status.process,
        }
    }
}

/// `GET /chain/reorgs`: the recent reorganisations, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Reorganisations {
    pub reorgs: Vec<Reorganisation>,
}

/// A chain event's id, `height:hash`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventId {
    pub height: Height,
    pub hash: BlockHash,
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.height, self.hash)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("not an event id {0:?}: expected HEIGHT:HASH, as the events' own ids are")]
pub struct BadEventId(String);

impl FromStr for EventId {
    type Err = BadEventId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadEventId(s.chars().take(100).collect());
        let (height, hash) = s.split_once(':').ok_or_else(bad)?;
        Ok(EventId {
            height: Height::new(height.parse().map_err(|_| bad())?),
            hash: hash.parse().map_err(|_| bad())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_id_reads_back_what_it_writes() {
        let id = EventId {
            height: Height::new(42),
            hash: BlockHash::from_bytes([7; 32]),
        };
        assert_eq!(id.to_string().parse::<EventId>().unwrap(), id);
        for bad in ["", "42", "x:00", "42:zz", ":"] {
            assert!(bad.parse::<EventId>().is_err(), "{bad}");
        }
    }
}
