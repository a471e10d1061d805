//! The metrics part: counters and histograms of what the node did, and the gauges of what it
//! holds, rendered for Prometheus (`GET /metrics`, text format 0.0.4).
//!
//! Each node has its own recorder (the `metrics` crate's facade with
//! `metrics-exporter-prometheus`'s recorder, never installed globally), so several nodes in one
//! process, as in the tests, count apart. Events are counted where they happen; the gauges (the
//! tip, the mempool, peers, the miner, the process) are read from the parts when scraped, so
//! a scrape costs one pass over the peer list and no store read.

use crate::chain::InvalidBlock;
use crate::mining::{Kernel, ProcessUsage};
use crate::network::PeerState;
use metrics::{counter, gauge, histogram, with_local_recorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use std::sync::Arc;
use std::time::Duration;

/// Every metric's name starts so.
pub const PREFIX: &str = "ferrochain";

/// Buckets for latencies, in seconds: 1 ms to about 65 s.
const SECONDS: [f64; 17] = [
    0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096,
    8.192, 16.384, 32.768, 65.536,
];
/// Buckets for a reorganisation's depth, in blocks.
const DEPTHS: [f64; 9] = [1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 16.0, 32.0, 64.0];

/// The metrics part's handle; cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

/// What the node holds when scraped.
pub struct Gauges<'a> {
    pub height: u64,
    pub total_work: f64,
    pub difficulty: f64,
    pub orphans: usize,
    pub mempool_transfers: usize,
    pub mempool_bytes: usize,
    pub peers: &'a [PeerState],
    pub hash_rate: f64,
    pub mining: bool,
    pub threads: usize,
    pub kernel: Option<Kernel>,
    pub process: Option<ProcessUsage>,
    pub event_subscribers: usize,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let builder = PrometheusBuilder::new();
        let recorder = builder
            .set_buckets(&SECONDS)
            .and_then(|b| {
                b.set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Full(name("reorg_depth")),
                    &DEPTHS,
                )
            })
            .expect("buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        let metrics = Metrics {
            inner: Arc::new(Inner { recorder, handle }),
        };
        metrics.describe();
        metrics
    }

    /// Runs `record` against this node's recorder.
    fn record<T>(&self, record: impl FnOnce() -> T) -> T {
        with_local_recorder(&self.inner.recorder, record)
    }

    fn describe(&self) {
        use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
        self.record(|| {
            describe_gauge!(name("chain_height"), "Height of the main chain's tip.");
            describe_gauge!(
                name("chain_work"),
                "Total work of the main chain, in expected hashes."
            );
            describe_gauge!(
                name("difficulty"),
                "The next block's target, as the leading zero bits it asks for."
            );
            describe_counter!(
                name("blocks_accepted_total"),
                "Blocks that joined the main chain."
            );
            describe_counter!(
                name("blocks_rejected_total"),
                "Blocks refused, by the rule they broke."
            );
            describe_gauge!(name("orphans"), "Blocks waiting for their parent.");
            describe_counter!(name("reorgs_total"), "Reorganisations of the main chain.");
            describe_histogram!(
                name("reorg_depth"),
                "Blocks replaced by each reorganisation."
            );
            describe_gauge!(
                name("mempool_transfers"),
                "Transfers waiting in the mempool."
            );
            describe_gauge!(
                name("mempool_bytes"),
                Unit::Bytes,
                "Encoded size of the transfers waiting."
            );
            describe_gauge!(name("peers"), "Known peers, by state.");
            describe_counter!(name("bans_total"), "Peers banned for misbehaviour.");
            describe_histogram!(
                name("relay_fetch_seconds"),
                Unit::Seconds,
                "From a block's announcement to its body being taken."
            );
            describe_histogram!(
                name("sync_seconds"),
                Unit::Seconds,
                "Length of each sync with a peer that brought blocks."
            );
            describe_counter!(
                name("synced_blocks_total"),
                "Blocks taken from peers by syncs."
            );
            describe_gauge!(
                name("sync_blocks_per_second"),
                "Blocks per second of the last sync that brought blocks."
            );
            describe_counter!(
                name("http_requests_total"),
                "HTTP requests answered, by route, method and status."
            );
            describe_histogram!(
                name("http_request_duration_seconds"),
                Unit::Seconds,
                "Time to answer an HTTP request, by route and method."
            );
            describe_gauge!(
                name("mining_hash_rate"),
                "Hashes per second of the current search (0 when idle)."
            );
            describe_gauge!(name("mining_active"), "1 while the miner searches.");
            describe_gauge!(name("mining_threads"), "Mining threads.");
            describe_gauge!(
                name("mining_kernel_info"),
                "The mining kernel in use, as a label."
            );
            describe_gauge!(
                name("process_cpu_percent"),
                "The process's CPU use over the last second, in percent of one core."
            );
            describe_gauge!(
                name("process_resident_memory_bytes"),
                Unit::Bytes,
                "The process's resident memory."
            );
            describe_gauge!(name("build_info"), "The node's version, as a label.");
            describe_gauge!(name("event_subscribers"), "Clients following GET /events.");
            gauge!(name("build_info"), "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        });
    }

    /// `count` blocks joined the main chain.
    pub fn blocks_accepted(&self, count: usize) {
        self.record(|| counter!(name("blocks_accepted_total")).increment(count as u64));
    }

    pub fn block_rejected(&self, invalid: &InvalidBlock) {
        let rule = invalid.rule.code();
        self.record(|| counter!(name("blocks_rejected_total"), "rule" => rule).increment(1));
    }

    pub fn reorganised(&self, depth: usize) {
        self.record(|| {
            counter!(name("reorgs_total")).increment(1);
            histogram!(name("reorg_depth")).record(depth as f64);
        });
    }

    pub fn banned(&self) {
        self.record(|| counter!(name("bans_total")).increment(1));
    }

    /// An announced block's body was fetched and taken, `took` after the announcement.
    pub fn relay_fetched(&self, took: Duration) {
        self.record(|| histogram!(name("relay_fetch_seconds")).record(took.as_secs_f64()));
    }

    /// A sync brought `blocks` in `took`.
    pub fn synced(&self, blocks: usize, took: Duration) {
        if blocks == 0 {
            return;
        }
        let rate = blocks as f64 / took.as_secs_f64().max(1e-6);
        self.record(|| {
            counter!(name("synced_blocks_total")).increment(blocks as u64);
            histogram!(name("sync_seconds")).record(took.as_secs_f64());
            gauge!(name("sync_blocks_per_second")).set(rate);
        });
    }

    /// An HTTP request to `route` (its pattern, such as `/blocks/<id>`) was answered.
    pub fn http(&self, route: &str, method: &str, status: u16, took: Duration) {
        let (route, method) = (route.to_owned(), method.to_owned());
        self.record(|| {
            counter!(name("http_requests_total"), "route" => route.clone(), "method" => method.clone(),
                     "status" => status.to_string())
            .increment(1);
            histogram!(name("http_request_duration_seconds"), "route" => route, "method" => method)
                .record(took.as_secs_f64());
        });
    }

    /// The text exposition, with the gauges set from `now`.
    pub fn render(&self, now: &Gauges<'_>) -> String {
        self.record(|| {
            gauge!(name("chain_height")).set(now.height as f64);
            gauge!(name("chain_work")).set(now.total_work);
            gauge!(name("difficulty")).set(now.difficulty);
            gauge!(name("orphans")).set(now.orphans as f64);
            gauge!(name("mempool_transfers")).set(now.mempool_transfers as f64);
            gauge!(name("mempool_bytes")).set(now.mempool_bytes as f64);
            for state in [PeerState::Ok, PeerState::Backoff, PeerState::Banned] {
                let count = now.peers.iter().filter(|s| **s == state).count();
                gauge!(name("peers"), "state" => state_label(state)).set(count as f64);
            }
            gauge!(name("mining_hash_rate")).set(now.hash_rate);
            gauge!(name("mining_active")).set(if now.mining { 1.0 } else { 0.0 });
            gauge!(name("mining_threads")).set(now.threads as f64);
            if let Some(kernel) = now.kernel {
                gauge!(name("mining_kernel_info"), "kernel" => kernel.to_string()).set(1.0);
            }
            gauge!(name("event_subscribers")).set(now.event_subscribers as f64);
            if let Some(process) = now.process {
                gauge!(name("process_cpu_percent")).set(process.cpu_percent);
                gauge!(name("process_resident_memory_bytes")).set(process.memory_bytes as f64);
            }
        });
        self.inner.handle.render()
    }
}

fn name(metric: &str) -> String {
    format!("{PREFIX}_{metric}")
}

fn state_label(state: PeerState) -> &'static str {
    match state {
        PeerState::Ok => "ok",
        PeerState::Backoff => "backoff",
        PeerState::Banned => "banned",
        PeerState::Unknown => "unknown",
    }
}
