//! The embedded index destination: a dedicated thread that feeds a stream's records to its
//! [`StreamIndexer`] and commits at most once per `refresh_interval`, with the WAL position of
//! the last record as the commit's checkpoint.

use std::time::{Duration, Instant};

use hydrant_index::{AddOutcome, SourceDoc, StreamIndexer};
use tokio::runtime::Handle;

use crate::stream::DestinationPort;

/// Longest wait between two attempts after a failed commit.
const MAX_COMMIT_BACKOFF: Duration = Duration::from_secs(30);

pub(crate) fn spawn(
    port: DestinationPort,
    indexer: StreamIndexer,
    refresh: Duration,
    runtime: Handle,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let name = format!("hydrant-index-{}", port.stream.name);
    std::thread::Builder::new()
        .name(name.chars().take(15).collect())
        .spawn(move || run(port, indexer, refresh, runtime))
}

fn run(mut port: DestinationPort, mut indexer: StreamIndexer, refresh: Duration, rt: Handle) {
    let stream = port.stream.name.clone();
    let mut last_commit = Instant::now()
        .checked_sub(refresh)
        .unwrap_or_else(Instant::now);
    // Last position given to the indexer and not yet committed.
    let mut uncommitted: Option<u64> = None;
    let mut backoff = Duration::from_millis(100);
    loop {
        let wait = match uncommitted {
            Some(_) => refresh.saturating_sub(last_commit.elapsed()),
            None => Duration::from_secs(3600),
        };
        let received = rt.block_on(async { tokio::time::timeout(wait, port.rx.recv()).await });
        match received {
            Ok(Some(batch)) => {
                for (position, record) in &batch.entries {
                    let doc = SourceDoc {
                        id: &record.id,
                        timestamp_ms: record.timestamp_ms,
                        source: &record.data,
                    };
                    match indexer.add(*position, &doc, record.client_id) {
                        Ok(AddOutcome::Added) | Ok(AddOutcome::AlreadyCommitted) => {}
                        Ok(AddOutcome::Rejected(e)) => {
                            tracing::warn!(%stream, id = %record.id, error = %e, "record rejected by the index");
                        }
                        Err(e) => {
                            tracing::error!(%stream, id = %record.id, error = %e, "indexing failed");
                        }
                    }
                }
                uncommitted = Some(batch.last);
            }
            Ok(None) => {
                // The stream is shutting down: commit what we have and stop.
                let at = uncommitted.unwrap_or(0);
                match indexer.close(at) {
                    Ok(()) => {
                        if let Some(p) = uncommitted {
                            publish(&port, p);
                        }
                    }
                    Err(e) => {
                        tracing::error!(%stream, error = %e, "final commit failed; records will be replayed from the write-ahead log")
                    }
                }
                return;
            }
            Err(_elapsed) => {}
        }
        if let Some(position) = uncommitted
            && last_commit.elapsed() >= refresh
        {
            match indexer.commit(position) {
                Ok(()) => {
                    publish(&port, position);
                    uncommitted = None;
                    last_commit = Instant::now();
                    backoff = Duration::from_millis(100);
                }
                Err(e) => {
                    tracing::error!(%stream, error = %e, retry_in = ?backoff, "index commit failed");
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(MAX_COMMIT_BACKOFF);
                }
            }
        }
    }
}

fn publish(port: &DestinationPort, position: u64) {
    port.stream.searchable.send_if_modified(|s| {
        let advance = position > *s;
        if advance {
            *s = position;
        }
        advance
    });
    port.delivered(position);
}
