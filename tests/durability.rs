//! A 2xx is a promise: a server killed with SIGKILL under steady ingest and restarted has every
//! acknowledged record searchable exactly once, and nothing that was refused.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Server;
use serde_json::{Value, json};

/// Upper bound on records sent, so that one search page (10,000 hits) sees them all.
const MAX_SENT: usize = 8_000;
const PER_REQUEST: usize = 40;

#[derive(Default)]
struct Ledger {
    acked: BTreeSet<u64>,
    /// Sent in requests whose outcome is unknown (the connection died with the server).
    unknown: BTreeSet<u64>,
    /// Refused with an error answer: must never appear.
    refused: BTreeSet<u64>,
}

fn client(
    url: String,
    ledger: Arc<Mutex<Ledger>>,
    next: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    bulk: bool,
) {
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    while !stop.load(Ordering::SeqCst) {
        let start = next.fetch_add(PER_REQUEST, Ordering::SeqCst) as u64;
        if start as usize >= MAX_SENT {
            break;
        }
        let seqs: Vec<u64> = (start..start + PER_REQUEST as u64).collect();
        // The last record of each request is one the server must refuse.
        let (good, bad) = seqs.split_at(PER_REQUEST - 1);
        let resp = if bulk {
            let mut body = String::new();
            for s in good {
                body.push_str(&format!(
                    "{{\"index\":{{\"_id\":\"id-{s}\"}}}}\n{}\n",
                    json!({"seq": s})
                ));
            }
            // Not a JSON object: refused alone.
            body.push_str(&format!(
                "{{\"index\":{{\"_id\":\"id-{}\"}}}}\n[\"seq\", {}]\n",
                bad[0], bad[0]
            ));
            http.post(format!("{url}/crash/_bulk"))
                .header("content-type", "application/x-ndjson")
                .body(body)
                .send()
        } else {
            let mut body: String = good
                .iter()
                .map(|s| format!("{}\n", json!({"seq": s})))
                .collect();
            body.push_str(&format!("[\"seq\", {}]\n", bad[0]));
            http.post(format!("{url}/v1/streams/crash/records"))
                .header("content-type", "application/x-ndjson")
                .body(body)
                .send()
        };
        let mut l = ledger.lock().unwrap();
        l.refused.extend(bad.iter().copied());
        match resp {
            Ok(r) if r.status().is_success() => match r.json::<Value>() {
                Ok(_) => l.acked.extend(good.iter().copied()),
                Err(_) => l.unknown.extend(good.iter().copied()),
            },
            Ok(r) if r.status().is_client_error() => l.refused.extend(good.iter().copied()),
            _ => l.unknown.extend(good.iter().copied()),
        }
    }
}

fn all_seqs(server: &Server) -> BTreeMap<u64, usize> {
    let (status, resp) = server.post_json(
        "/crash/_search",
        &json!({"size": 10_000, "query": {"match_all": {}}}),
    );
    assert_eq!(status, 200, "{resp}");
    let mut seen = BTreeMap::new();
    for hit in resp["hits"]["hits"].as_array().unwrap() {
        *seen
            .entry(hit["_source"]["seq"].as_u64().unwrap())
            .or_insert(0) += 1;
    }
    seen
}

fn crash_under_load(bulk: bool) {
    let mut server = Server::start();
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let next = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..3)
        .map(|_| {
            let (u, l, n, s) = (
                server.url.clone(),
                ledger.clone(),
                next.clone(),
                stop.clone(),
            );
            std::thread::spawn(move || client(u, l, n, s, bulk))
        })
        .collect();
    // Kill mid-stream: once a good share of records is acknowledged, with requests in flight.
    common::eventually(Duration::from_secs(60), "acknowledged records", || {
        (ledger.lock().unwrap().acked.len() >= 2_000).then_some(())
    });
    server.kill9();
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.join().unwrap();
    }
    server.restart();
    let l = ledger.lock().unwrap();
    assert!(l.acked.len() >= 2_000);
    let expected_min = l.acked.len() as u64;
    server.wait_count("crash", expected_min);
    // Replay finished and everything delivered: nothing more can land after counting.
    server.wait_delivered("crash");
    let seen = all_seqs(&server);
    let duplicated: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(duplicated.is_empty(), "duplicated: {duplicated:?}");
    let lost: Vec<_> = l.acked.iter().filter(|s| !seen.contains_key(s)).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged records lost: {lost:?}",
        lost.len()
    );
    let wrong: Vec<_> = seen.keys().filter(|s| l.refused.contains(s)).collect();
    assert!(wrong.is_empty(), "refused records appeared: {wrong:?}");
    let unexplained: Vec<_> = seen
        .keys()
        .filter(|s| !l.acked.contains(s) && !l.unknown.contains(s))
        .collect();
    assert!(
        unexplained.is_empty(),
        "records never sent appeared: {unexplained:?}"
    );
}

#[test]
fn sigkill_under_ndjson_load_loses_and_duplicates_nothing() {
    crash_under_load(false);
}

#[test]
fn sigkill_under_bulk_load_loses_and_duplicates_nothing() {
    crash_under_load(true);
}
