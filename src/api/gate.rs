//! The gate: the node's own listener in front of Rocket.
//!
//! Rocket 0.5 accepts every connection it is offered, keeps an idle one open for as long as the
//! client likes, and switches hyper's header timeout off; its listener is not ours to wrap. So
//! the node accepts connections itself, and serves each one's requests through Rocket in this
//! process (see `dispatch`), keeping the few rules a public server needs:
//!
//! - at most `max_connections` are open (1,024, or fewer if the open-file limit would not hold
//!   them: a connection costs one descriptor). A new connection beyond that closes the idle
//!   connection quiet the longest, one waiting for a request or already answered; if every
//!   connection is busy with a request, the newcomer gets 503 `busy`;
//! - a request head (request line and headers) must arrive whole within `head_timeout` (10 s)
//!   of its first byte, and a new connection's first one within `head_timeout` of the accept,
//!   else 408 `request_timeout` and the connection is closed;
//! - a connection that is answered and then quiet for `idle_timeout` (15 s), or whose answer
//!   the client stopped reading for that long, is closed;
//! - a head that hyper would refuse with an empty answer (malformed, a request line or headers
//!   too long) is refused here with the error JSON instead.
//!
//! The gate watches each connection's bytes on their way between the socket and hyper, which
//! serves the connection over an in-memory pipe: the rules above need to see where a head
//! begins and ends, which hyper does not tell. A request's body is received under the bounds of
//! `intake`.

mod dispatch;
mod head;

pub(super) use dispatch::Dispatch;

use crate::network::message::ErrorBody;
use head::{find_head_end, framing, read_more, Body, HeadRefusal, MAX_HEAD};
use rocket::http::Status;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};
use tokio::io::{ReadHalf, WriteHalf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// Open connections allowed by default.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Seconds a client has to send a whole request head, by default.
pub const DEFAULT_HEAD_TIMEOUT: u64 = 10;
/// Seconds an answered connection may stay quiet, by default.
pub const DEFAULT_IDLE_TIMEOUT: u64 = 15;
/// Descriptors kept for everything but connections: the store, peers, the log.
const RESERVED_FILES: u64 = 128;
/// How long, and for how many bytes, a closing connection still takes what the client sends,
/// so the answer before the close reaches it rather than a reset.
const LINGER: Duration = Duration::from_secs(1);
const LINGER_BYTES: u64 = 16 * 1024 * 1024;
/// How often deadlines are checked.
const SWEEP: Duration = Duration::from_millis(200);
/// The in-memory pipe between a connection and hyper holds this much each way.
const PIPE: usize = 64 * 1024;

/// The gate's limits, from the node's settings.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_connections: usize,
    pub head_timeout: Duration,
    pub idle_timeout: Duration,
}

impl Limits {
    /// The configured limits, with the connection cap lowered to what `open_files` descriptors
    /// hold.
    pub fn new(settings: &super::settings::Settings, open_files: Option<u64>) -> Limits {
        let wanted = settings.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS);
        let affordable = open_files.map_or(usize::MAX, |files| {
            files.saturating_sub(RESERVED_FILES).max(1) as usize
        });
        Limits {
            max_connections: wanted.min(affordable).max(1),
            head_timeout: Duration::from_secs(
                settings.head_timeout.unwrap_or(DEFAULT_HEAD_TIMEOUT),
            ),
            idle_timeout: Duration::from_secs(
                settings.idle_timeout.unwrap_or(DEFAULT_IDLE_TIMEOUT),
            ),
        }
    }
}

/// Where one connection is in its request-and-answer cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Phase {
    /// Accepted; nothing received yet.
    Fresh,
    /// Receiving a request head, since its first byte.
    Head,
    /// Receiving a request body; the body deadline applies (see `intake`).
    Body,
    /// The request is in; the node is working on it and has sent nothing yet.
    Waiting,
    /// The node has answered (or is streaming its answer); the connection is idle between
    /// requests.
    Answered,
    /// A chunked request body, passed through without framing: idle by activity alone.
    Raw,
}

impl Phase {
    fn from_u8(value: u8) -> Phase {
        [
            Phase::Fresh,
            Phase::Head,
            Phase::Body,
            Phase::Waiting,
            Phase::Answered,
            Phase::Raw,
        ][value as usize]
    }
}

/// Why the gate closes a connection itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Closing {
    Open,
    /// The head did not arrive in time: answered 408 before closing.
    HeadTimeout,
    /// Quiet too long, or closed to make room for a newcomer: closed without an answer, as
    /// any HTTP server closes an idle keep-alive connection.
    Idle,
}

/// One client connection, as the gate's bookkeeping sees it.
struct Connection {
    client: SocketAddr,
    phase: AtomicU8,
    /// Milliseconds since the gate's epoch when the phase began, or (answered, raw) when
    /// bytes last moved.
    since: AtomicU64,
    /// The node sent bytes for the current request.
    replied: AtomicBool,
    closing: AtomicU8,
    close: CancellationToken,
}

impl Connection {
    fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::SeqCst))
    }

    fn enter(&self, phase: Phase, now: u64) {
        self.phase.store(phase as u8, Ordering::SeqCst);
        self.since.store(now, Ordering::SeqCst);
    }

    /// The request is in: waiting for the answer, unless it has already begun (an early error).
    fn request_sent(&self, now: u64) {
        self.enter(Phase::Waiting, now);
        if self.replied.load(Ordering::SeqCst) {
            self.answered(now);
        }
    }

    /// The node sent bytes of an answer. Paired with [`Connection::request_sent`] through
    /// `replied` and the phase, so whichever runs second sees the other's write.
    fn answered(&self, now: u64) {
        self.replied.store(true, Ordering::SeqCst);
        let _ = self.phase.compare_exchange(
            Phase::Waiting as u8,
            Phase::Answered as u8,
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
        self.touch(now);
    }

    /// Bytes moved: an idle connection's quiet starts again.
    fn touch(&self, now: u64) {
        if matches!(self.phase(), Phase::Answered | Phase::Raw) {
            self.since.store(now, Ordering::SeqCst);
        }
    }

    fn close(&self, why: Closing) {
        let _ = self.closing.compare_exchange(
            Closing::Open as u8,
            why as u8,
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
        self.close.cancel();
    }

    /// Whether it may be closed to make room: it is not in the middle of a request.
    fn is_idle(&self) -> bool {
        matches!(
            self.phase(),
            Phase::Fresh | Phase::Head | Phase::Answered | Phase::Raw
        )
    }
}

/// The gate of one server: its public address, its limits and its open connections.
pub struct Gate {
    public: SocketAddr,
    limits: Limits,
    epoch: Instant,
    /// Open connections, by the number they were accepted under.
    connections: Mutex<HashMap<u64, Arc<Connection>>>,
    accepted: AtomicU64,
    /// The gate stopped taking connections (the server is shutting down).
    stopping: AtomicBool,
}

impl Gate {
    pub fn new(public: SocketAddr, limits: Limits) -> Gate {
        Gate {
            public,
            limits,
            epoch: Instant::now(),
            connections: Mutex::new(HashMap::new()),
            accepted: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
        }
    }

    /// The address clients connect to.
    pub fn public_addr(&self) -> SocketAddr {
        self.public
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Open connections.
    pub fn open(&self) -> usize {
        self.table().len()
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Connection>>> {
        // A panic while holding this lock leaves only counters behind: the table stays usable.
        self.connections
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Accepts connections on `listener`, their requests served by `dispatch`, until
    /// `shutdown` is cancelled, checking deadlines meanwhile; then closes the quiet
    /// connections, and the others once answered.
    pub(super) async fn run(
        self: Arc<Self>,
        listener: TcpListener,
        dispatch: Arc<Dispatch>,
        shutdown: CancellationToken,
    ) {
        log::info!(
            "accepting up to {} connections on {} (request heads within {} s, idle ones closed \
             after {} s)",
            self.limits.max_connections,
            self.public,
            self.limits.head_timeout.as_secs(),
            self.limits.idle_timeout.as_secs()
        );
        let mut sweep = tokio::time::interval(SWEEP);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = sweep.tick() => self.sweep(),
                accepted = listener.accept() => match accepted {
                    Ok((stream, client)) => self.admit(stream, client, &dispatch),
                    Err(e) => {
                        // Out of descriptors, most likely: wait for some to be freed rather
                        // than spin on the error.
                        log::warn!("cannot accept a connection: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
            }
        }
        self.stopping.store(true, Ordering::SeqCst);
        // A connection waiting for its answer gets it (a search stopped by the shutdown answers
        // 503), and closes after it (see `is_stopping`).
        for connection in self.table().values().filter(|c| c.is_idle()) {
            connection.close(Closing::Idle);
        }
    }

    /// Whether the gate has stopped taking connections: answers should close theirs.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Takes one accepted connection, making room for it or refusing it.
    fn admit(self: &Arc<Self>, stream: TcpStream, client: SocketAddr, dispatch: &Arc<Dispatch>) {
        if !self.make_room() {
            log::warn!(
                "refused a connection from {client}: all {} connections are busy with requests",
                self.limits.max_connections
            );
            tokio::spawn(refuse(
                stream,
                Status::ServiceUnavailable,
                "busy",
                "the node has as many connections as it takes, all busy; try again shortly",
            ));
            return;
        }
        let (outer, inner) = tokio::io::duplex(PIPE);
        tokio::spawn(dispatch.clone().serve(inner, client));
        let _ = stream.set_nodelay(true);
        let id = self.accepted.fetch_add(1, Ordering::Relaxed);
        let connection = Arc::new(Connection {
            client,
            phase: AtomicU8::new(Phase::Fresh as u8),
            since: AtomicU64::new(self.now()),
            replied: AtomicBool::new(false),
            closing: AtomicU8::new(Closing::Open as u8),
            close: CancellationToken::new(),
        });
        self.table().insert(id, connection.clone());
        let gate = self.clone();
        tokio::spawn(async move {
            gate.pass(stream, outer, &connection).await;
            gate.table().remove(&id);
        });
    }

    /// Whether a new connection fits, closing the longest-idle one if that makes it fit.
    fn make_room(&self) -> bool {
        let mut table = self.table();
        if table.len() < self.limits.max_connections {
            return true;
        }
        let oldest = table
            .iter()
            .filter(|(_, c)| c.is_idle())
            .min_by_key(|(_, c)| c.since.load(Ordering::SeqCst))
            .map(|(addr, _)| *addr);
        match oldest.and_then(|addr| table.remove(&addr)) {
            Some(connection) => {
                connection.close(Closing::Idle);
                true
            }
            None => false,
        }
    }

    /// Closes the connections whose deadline has passed.
    fn sweep(&self) {
        let now = self.now();
        let head = self.limits.head_timeout.as_millis() as u64;
        let idle = self.limits.idle_timeout.as_millis() as u64;
        for connection in self.table().values() {
            let age = now.saturating_sub(connection.since.load(Ordering::SeqCst));
            match connection.phase() {
                Phase::Fresh | Phase::Head if age >= head => connection.close(Closing::HeadTimeout),
                Phase::Answered | Phase::Raw if age >= idle => connection.close(Closing::Idle),
                _ => {}
            }
        }
    }

    /// Passes one connection's bytes both ways between the client and hyper until either side
    /// closes or the gate does.
    async fn pass(&self, client: TcpStream, server: DuplexStream, connection: &Connection) {
        let (mut from_client, mut to_client) = client.into_split();
        let (from_server, to_server) = tokio::io::split(server);
        let ended = {
            let requests = self.requests(&mut from_client, to_server, connection);
            let answers = self.answers(from_server, &mut to_client, connection);
            tokio::select! {
                _ = connection.close.cancelled() => Ended::Closed,
                // hyper closed (after an answer that did not read the whole body, say), or
                // the client stopped taking the answer: the connection is over.
                _ = answers => Ended::Answered,
                refused = requests => refused.map_or(Ended::Answered, Ended::Refused),
            }
        };
        let ended = match Closing::from_u8(connection.closing.load(Ordering::SeqCst)) {
            Closing::HeadTimeout => Ended::Refused(HeadRefusal::timeout()),
            Closing::Idle => Ended::Closed,
            Closing::Open => ended,
        };
        match ended {
            Ended::Closed => return,
            Ended::Answered => {
                let _ = to_client.shutdown().await;
            }
            Ended::Refused(refusal) => {
                log::info!(
                    "refused a request from {}: {}",
                    connection.client,
                    refusal.message
                );
                let _ = write_refusal(
                    &mut to_client,
                    refusal.status,
                    refusal.code,
                    &refusal.message,
                )
                .await;
            }
        }
        // Closing a socket with unread bytes resets it, and the client may lose the answer it
        // has not read yet: take what the client is still sending, for a moment.
        let mut rest = (&mut from_client).take(LINGER_BYTES);
        let mut sink = tokio::io::sink();
        let drain = tokio::io::copy(&mut rest, &mut sink);
        let _ = tokio::time::timeout(LINGER, drain).await;
    }

    /// Client to hyper: each request head checked and timed, then its body passed on. Ends
    /// only with the refusal to answer if a head is refused; once the client has sent all it
    /// will, or hyper takes no more, it waits, leaving the last answer to flow.
    async fn requests(
        &self,
        from_client: &mut OwnedReadHalf,
        mut to_server: WriteHalf<DuplexStream>,
        connection: &Connection,
    ) -> Option<HeadRefusal> {
        let mut buffer: Vec<u8> = Vec::with_capacity(4096);
        loop {
            // The head: buffered until it is whole, then checked.
            let mut scanned = 0;
            let head_end = loop {
                if !buffer.is_empty() && connection.phase() != Phase::Head {
                    connection.replied.store(false, Ordering::SeqCst);
                    connection.enter(Phase::Head, self.now());
                }
                if let Some(end) = find_head_end(&buffer, scanned) {
                    break end;
                }
                scanned = buffer.len().saturating_sub(3);
                if buffer.len() > MAX_HEAD {
                    return Some(HeadRefusal::too_long(&buffer));
                }
                match read_more(from_client, &mut buffer).await {
                    Ok(0) | Err(_) => {
                        // The client is done; let the last answer finish.
                        let _ = to_server.shutdown().await;
                        return pending_forever().await;
                    }
                    Ok(_) => {}
                }
            };
            let body = match framing(&buffer[..head_end]) {
                Ok(body) => body,
                Err(refusal) => return Some(refusal),
            };
            match body {
                Body::Length(length) => {
                    connection.enter(Phase::Body, self.now());
                    let available = (buffer.len() - head_end) as u64;
                    let first = head_end + available.min(length) as usize;
                    if to_server.write_all(&buffer[..first]).await.is_err() {
                        return self.cut_off(connection).await;
                    }
                    buffer.drain(..first);
                    let rest = length - available.min(length);
                    // Most requests are whole by now; a copy would allocate its buffer anyway.
                    if rest > 0 {
                        let copied =
                            tokio::io::copy(&mut from_client.take(rest), &mut to_server).await;
                        if copied.map_or(true, |n| n < rest) {
                            return self.cut_off(connection).await;
                        }
                    }
                    connection.request_sent(self.now());
                }
                Body::Chunked => {
                    connection.enter(Phase::Raw, self.now());
                    if to_server.write_all(&buffer).await.is_err() {
                        return self.cut_off(connection).await;
                    }
                    // From here on the gate passes bytes without framing: reading chunk sizes
                    // is hyper's job, and such clients are rare. Activity keeps it open.
                    let mut chunk = vec![0; 16 * 1024];
                    loop {
                        match from_client.read(&mut chunk).await {
                            Ok(0) | Err(_) => {
                                let _ = to_server.shutdown().await;
                                return pending_forever().await;
                            }
                            Ok(n) => {
                                connection.touch(self.now());
                                if to_server.write_all(&chunk[..n]).await.is_err() {
                                    return self.cut_off(connection).await;
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// hyper stopped taking the request (it answered without reading the whole body, and
    /// closed): the answer, if any, still flows to the client, then the connection ends, or
    /// the idle deadline ends it.
    async fn cut_off(&self, connection: &Connection) -> Option<HeadRefusal> {
        connection.enter(Phase::Answered, self.now());
        pending_forever().await
    }

    /// hyper to client, noting when an answer has begun and when bytes last moved.
    async fn answers(
        &self,
        mut from_server: ReadHalf<DuplexStream>,
        to_client: &mut OwnedWriteHalf,
        connection: &Connection,
    ) {
        let mut chunk = vec![0; 16 * 1024];
        loop {
            let n = match from_server.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            // hyper's `100 Continue` to a client that asked before sending its body is not the
            // answer: the request is still being worked on after it.
            if !chunk[..n].starts_with(b"HTTP/1.1 100 ") {
                connection.answered(self.now());
            }
            if to_client.write_all(&chunk[..n]).await.is_err() {
                return;
            }
            connection.touch(self.now());
        }
    }
}

impl Closing {
    fn from_u8(value: u8) -> Closing {
        [Closing::Open, Closing::HeadTimeout, Closing::Idle][value as usize]
    }
}

/// How a connection's passing ended.
enum Ended {
    /// The gate closed it (idle, or to make room): nothing more to say.
    Closed,
    /// hyper closed its side after answering.
    Answered,
    /// A head was refused, with this answer.
    Refused(HeadRefusal),
}

/// Waits forever: the direction that ended leaves the connection to the other one.
async fn pending_forever<T>() -> T {
    std::future::pending().await
}

/// Answers a connection the gate does not take, and closes it.
async fn refuse(mut stream: TcpStream, status: Status, code: &'static str, message: &str) {
    let _ = write_refusal(&mut stream, status, code, message).await;
}

/// Writes the error JSON as a whole HTTP answer that closes the connection, giving a client
/// that does not read it a second at most.
async fn write_refusal<W: AsyncWrite + Unpin>(
    to: &mut W,
    status: Status,
    code: &str,
    message: &str,
) -> std::io::Result<()> {
    let body = serde_json::to_string(&ErrorBody {
        error: code.to_owned(),
        message: message.to_owned(),
    })
    .expect("an error body serializes");
    let retry = match status {
        Status::ServiceUnavailable => "Retry-After: 1\r\n",
        _ => "",
    };
    let answer = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         {retry}connection: close\r\n\r\n{body}",
        body.len()
    );
    let write = async {
        to.write_all(answer.as_bytes()).await?;
        to.shutdown().await
    };
    tokio::time::timeout(Duration::from_secs(1), write)
        .await
        .unwrap_or(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_cap_follows_the_open_file_limit() {
        let settings = super::super::settings::Settings::default();
        assert_eq!(
            Limits::new(&settings, None).max_connections,
            DEFAULT_MAX_CONNECTIONS
        );
        // 1,024 descriptors: 128 kept back, one per connection.
        assert_eq!(Limits::new(&settings, Some(1024)).max_connections, 896);
    }
}
