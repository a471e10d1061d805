//! The peer protocol as a trait: every request a node makes of a peer.
//!
//! The node's sync and discovery talk to peers only through [`PeerApi`], so their logic can be
//! tested against a scripted peer (one that lies, reorganises mid-sync or times out) without a
//! socket, while [`PeerClient`] is the real thing over HTTP. Futures are boxed: the trait is used
//! as `dyn PeerApi`, and one allocation per request is nothing beside a network round trip.

use super::client::{PeerClient, PeerError};
use super::message::{Announcement, ChainPage, Located, PeerStatus};
use super::peer::PeerUrl;
use crate::chain::{Block, BlockHash, Height, Transfer};
use futures::future::BoxFuture;
use reqwest::StatusCode;

/// What a node can ask of a peer. Each call is bounded in time and size by the implementation.
pub trait PeerApi: Send + Sync {
    /// `GET /status`, read only as far as the handshake needs.
    fn status<'a>(&'a self, peer: &'a PeerUrl) -> BoxFuture<'a, Result<PeerStatus, PeerError>>;

    /// `POST /chain/locate`: where `peer`'s main chain meets the chain `locator` describes.
    fn locate<'a>(
        &'a self,
        peer: &'a PeerUrl,
        locator: &'a [BlockHash],
    ) -> BoxFuture<'a, Result<Located, PeerError>>;

    /// Blocks `from..from + limit` of the peer's main chain as it ends in `tip` (409 once `tip`
    /// has left it).
    fn chain_page<'a>(
        &'a self,
        peer: &'a PeerUrl,
        from: Height,
        limit: usize,
        tip: BlockHash,
    ) -> BoxFuture<'a, Result<ChainPage, PeerError>>;

    /// `POST /nodes/register` of `nodes`, naming `me` as the sender; the peer's status code.
    fn register<'a>(
        &'a self,
        peer: &'a PeerUrl,
        nodes: &'a [PeerUrl],
        me: Option<&'a PeerUrl>,
    ) -> BoxFuture<'a, Result<StatusCode, PeerError>>;

    /// `POST /blocks/announce`, naming `me` as the sender; the peer's status code.
    fn announce<'a>(
        &'a self,
        peer: &'a PeerUrl,
        announcement: &'a Announcement,
        me: Option<&'a PeerUrl>,
    ) -> BoxFuture<'a, Result<StatusCode, PeerError>>;

    /// `GET /blocks/<hash>`: the block, and the bytes of the body it came in.
    fn block<'a>(
        &'a self,
        peer: &'a PeerUrl,
        hash: BlockHash,
    ) -> BoxFuture<'a, Result<(Block, usize), PeerError>>;

    /// The peers `peer` lists as healthy in `GET /nodes`.
    fn nodes<'a>(&'a self, peer: &'a PeerUrl) -> BoxFuture<'a, Result<Vec<PeerUrl>, PeerError>>;

    /// `POST /add_block`, naming `me` as the sender; the peer's status code.
    fn send_block<'a>(
        &'a self,
        peer: &'a PeerUrl,
        block: &'a Block,
        me: Option<&'a PeerUrl>,
    ) -> BoxFuture<'a, Result<StatusCode, PeerError>>;

    /// `POST /transactions`, naming `me` as the sender; the peer's status code.
    fn send_transfer<'a>(
        &'a self,
        peer: &'a PeerUrl,
        transfer: &'a Transfer,
        me: Option<&'a PeerUrl>,
    ) -> BoxFuture<'a, Result<StatusCode, PeerError>>;
}

impl PeerApi for PeerClient {
    fn status<'a>(&'a self, peer: &'a PeerUrl) -> BoxFuture<'a, Result<PeerStatus, PeerError>> {
        Box::pin(PeerClient::status(self, peer))
    }

    fn locate<'a>(
        &'a self,
        peer: &'a PeerUrl,
        locator: &'a [BlockHash],
    ) -> BoxFuture<'a, Result<Located, PeerError>> {
        Box::pin(PeerClient::locate(self, peer, locator))
    }

    fn chain_page<'a>(
        &'a self,
        peer: &'a PeerUrl,
        from: Height,
        limit: usize,
        tip: BlockHash,
    ) -> BoxFuture<'a, Result<ChainPage, PeerError>> {
        Box::pin(PeerClient::chain_page(self, peer, from, limit, tip))
    }

    fn register<'a>(
        &'a self,
        peer: &'a PeerUrl,
        nodes: &'a [PeerUrl],
        me: Option<&'a PeerUrl>,
    ) -> BoxFuture<'a, Result<StatusCode, PeerError>> {
        Box::pin(PeerClient::register(self, peer, nodes, me))
    }

    fn announce<'a>(
        &'a self,
        peer: &'a PeerUrl,
        announcement: &'a Announcement,
        me: Option<&'a PeerUrl>,
    ) -> BoxFuture<'a, Result<StatusCode, PeerError>> {
        Box::pin(PeerClient::announce(self, peer, announcement, me))
    }

    fn block<'a>(
        &'a self,
        peer: &'a PeerUrl,
        hash: BlockHash,
    ) -> BoxFuture<'a, Result<(Block, usize), PeerError>> {
        Box::pin(PeerClient::block(self, peer, hash))
    }

    fn nodes<'a>(&'a self, peer: &'a PeerUrl) -> BoxFuture<'a, Result<Vec<PeerUrl>, PeerError>> {
        Box::pin(PeerClient::nodes(self, peer))
    }

    fn send_block<'a>(
        &'a self,
        peer: &'a PeerUrl,
        block: &'a Block,
        me: Option<&'a PeerUrl>,
    ) -> BoxFuture<'a, Result<StatusCode, PeerError>> {
        Box::pin(PeerClient::send_block(self, peer, block, me))
    }

    fn send_transfer<'a>(
        &'a self,
        peer: &'a PeerUrl,
        transfer: &'a Transfer,
        me: Option<&'a PeerUrl>,
    ) -> BoxFuture<'a, Result<StatusCode, PeerError>> {
        Box::pin(PeerClient::send_transfer(self, peer, transfer, me))
    }
}
