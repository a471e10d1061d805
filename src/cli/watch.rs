//! `ferrochain watch`: the node's events as they come, one line each (`--json`: the event's
//! JSON, one per line), read from `GET /events` as server-sent events.

use super::client::Client;
use super::commands::CommandError;
use super::view;
use crate::network::message::Event;
use std::io::{BufRead, Write};
use std::time::Duration;

/// One server-sent event as it came over the wire.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SseEvent {
    pub id: Option<String>,
    pub name: String,
    pub data: String,
}

/// Reads server-sent events from a byte stream (the SSE format's framing: `field: value`
/// lines, events ending at a blank line). A comment between events (the node's heartbeat)
/// reads as an event with no name and no data, so a reader blocked on a quiet stream gets a
/// turn every few seconds.
pub struct EventReader {
    lines: Box<dyn BufRead + Send>,
}

impl EventReader {
    pub fn new(source: impl BufRead + Send + 'static) -> EventReader {
        EventReader {
            lines: Box::new(source),
        }
    }
}

impl Iterator for EventReader {
    type Item = std::io::Result<SseEvent>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut event = SseEvent::default();
        let mut has_data = false;
        let mut line = String::new();
        loop {
            line.clear();
            match self.lines.read_line(&mut line) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => return Some(Err(e)),
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if has_data {
                    return Some(Ok(event));
                }
                continue;
            }
            if line.starts_with(':') && !has_data && event.name.is_empty() && event.id.is_none() {
                return Some(Ok(SseEvent::default()));
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "id" => event.id = Some(value.to_owned()),
                "event" => event.name = value.to_owned(),
                "data" => {
                    if has_data {
                        event.data.push('\n');
                    }
                    event.data.push_str(value);
                    has_data = true;
                }
                // A comment (the heartbeat), or a field this reader does not use.
                _ => {}
            }
        }
    }
}

/// One of the node's events, on one line.
fn describe(e: &Event) -> String {
    match e {
        Event::Block(b) => format!(
            "block {} {} joined the main chain ({})",
            b.height,
            b.hash,
            match b.transactions {
                1 => "1 entry".to_owned(),
                n => format!("{n} entries"),
            }
        ),
        Event::Reorg(r) => format!(
            "reorganisation: {} above height {} replaced; the tip is now {} at {}",
            view::count(r.depth as u64, "block"),
            r.fork_height,
            r.tip,
            r.tip_height
        ),
        Event::Mempool(m) => format!(
            "mempool: {} entered, {} left, {} waiting",
            m.entered.len(),
            m.left.len(),
            view::count(m.size as u64, "transfer")
        ),
        Event::Peer(p) => match p.state {
            Some(state) => format!("peer {}: {}", p.url, view::state_name(state)),
            None => format!("peer {}: forgotten", p.url),
        },
        Event::Reset(r) => format!(
            "reset: the last block seen left the main chain; read it again from the tip {} at {}",
            r.tip, r.height
        ),
        Event::Mining(report) => super::mine::search_line(report)
            .unwrap_or_else(|| format!("mining: the search for block {} ended", report.height)),
    }
}

/// How long to wait before resuming a stream the node closed.
const RESUME_AFTER: Duration = Duration::from_secs(1);

/// Prints events until `count` have been printed (forever if `None`). A stream the node ends
/// (it dropped a reader that fell behind, say) is resumed from the last event seen; a node that
/// no longer answers ends the command with an error.
pub fn watch(client: &Client, json: bool, count: Option<u64>) -> Result<(), CommandError> {
    let mut last: Option<String> = None;
    let mut printed = 0;
    let mut out = std::io::stdout().lock();
    loop {
        let events = client.events(last.as_deref())?;
        for event in events {
            let event = event.map_err(|e| client.unreadable("GET /events", e.to_string()))?;
            if event.data.is_empty() {
                continue;
            }
            if event.id.is_some() {
                last.clone_from(&event.id);
            }
            let line = match json {
                true => event.data,
                false => match serde_json::from_str::<Event>(&event.data) {
                    Ok(parsed) => describe(&parsed),
                    // An event a newer node sends: shown as it came.
                    Err(_) => format!("{} {}", event.name, event.data),
                },
            };
            writeln!(out, "{line}")?;
            out.flush()?;
            printed += 1;
            if count.is_some_and(|n| printed >= n) {
                return Ok(());
            }
        }
        std::thread::sleep(RESUME_AFTER);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_event_reads_as_one_line() {
        use crate::chain::{BlockHash, Height, Timestamp};
        use crate::network::message::{BlockJoined, MempoolChange, Reorganisation};
        let hash = BlockHash::from_bytes([0xab; 32]);
        let block = Event::Block(BlockJoined {
            height: Height::new(7),
            hash,
            previous_hash: hash,
            timestamp: Timestamp::from_millis(0),
            transactions: 1,
        });
        assert_eq!(
            describe(&block),
            format!("block 7 {hash} joined the main chain (1 entry)")
        );
        let reorg = Event::Reorg(Reorganisation {
            fork_height: Height::new(5),
            fork: hash,
            depth: 2,
            replaced: vec![hash, hash],
            tip: hash,
            tip_height: Height::new(8),
            time: Timestamp::from_millis(0),
        });
        assert_eq!(
            describe(&reorg),
            format!("reorganisation: 2 blocks above height 5 replaced; the tip is now {hash} at 8")
        );
        let mempool = Event::Mempool(MempoolChange {
            entered: vec![],
            left: vec![],
            size: 1,
        });
        assert_eq!(
            describe(&mempool),
            "mempool: 0 entered, 0 left, 1 transfer waiting"
        );
    }

    #[test]
    fn events_are_framed_by_blank_lines_and_comments_read_as_heartbeats() {
        let wire = ":\n\nid: 1:ab\nevent: block\ndata: {\"a\":1}\n\n: heartbeat\n\
                    event: mempool\ndata: one\ndata: two\r\n\r\n";
        let heartbeat = SseEvent::default();
        let events: Vec<SseEvent> = EventReader::new(std::io::Cursor::new(wire))
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            events,
            vec![
                heartbeat.clone(),
                SseEvent {
                    id: Some("1:ab".into()),
                    name: "block".into(),
                    data: "{\"a\":1}".into()
                },
                heartbeat,
                SseEvent {
                    id: None,
                    name: "mempool".into(),
                    data: "one\ntwo".into()
                },
            ]
        );
    }
}
