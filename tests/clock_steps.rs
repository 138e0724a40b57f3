//! The wall clock stepping back and forward by an hour under ingest, for real: the server runs
//! under libfaketime (Debian's `faketime`, installed by `tests/setup_system.sh`), whose offset
//! the test changes while the process runs; the monotonic clock stays real, as it does when
//! NTP steps a machine's clock. No record is lost, no id repeats, a crash and restart in the
//! middle changes nothing, and hourly rotation only ever names the hours the clock showed.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Server, eventually};
use serde_json::{Value, json};

const LIBS: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
    "/usr/lib/faketime/libfaketimeMT.so.1",
];

const PER_PHASE: u64 = 150;

fn set_offset(file: &Path, offset: &str) {
    std::fs::write(file, format!("{offset}\n")).expect("faketime file");
}

/// Waits until the server's clock (`_cat/health`'s `epoch`) is `hours` away from the real
/// one. (Not the `Date` header: hyper caches it until the clock passes the next second, so
/// after a step back it stays put for the hour.)
fn wait_for_clock(server: &Server, hours: i64) {
    eventually(Duration::from_secs(30), "the clock step", || {
        let (_, health) = server.get("/_cat/health?format=json");
        let theirs: i64 = health[0]["epoch"].as_str()?.parse().ok()?;
        let skew = theirs - chrono::Utc::now().timestamp();
        ((skew - hours * 3600).abs() < 120).then_some(())
    });
}

fn send(server: &Server, phase: u64) {
    let body: String = (phase * 1000..phase * 1000 + PER_PHASE)
        .map(|seq| format!("{}\n", json!({"seq": seq, "phase": phase})))
        .collect();
    let (status, resp) = server.post("/v1/streams/clock/records", "application/x-ndjson", body);
    assert_eq!(status, 200, "{resp}");
}

/// Every document of the stream: (ids, seqs).
fn all_docs(server: &Server) -> (Vec<String>, Vec<u64>) {
    let (status, body) = server.post_json(
        "/clock/_search",
        &json!({"size": 10_000, "_source": ["seq"], "query": {"match_all": {}}}),
    );
    assert_eq!(status, 200, "{body}");
    let hits = body["hits"]["hits"].as_array().cloned().unwrap_or_default();
    let ids = hits
        .iter()
        .map(|h| h["_id"].as_str().unwrap_or_default().to_string())
        .collect();
    let seqs = hits
        .iter()
        .filter_map(|h| h["_source"]["seq"].as_u64())
        .collect();
    (ids, seqs)
}

#[test]
fn a_clock_stepping_back_and_forward_loses_nothing_and_repeats_no_id() {
    let Some(lib) = LIBS.iter().map(PathBuf::from).find(|p| p.exists()) else {
        eprintln!("SKIPPED: libfaketime is not installed (tests/setup_system.sh installs it)");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let offset_file = dir.path().join("faketime");
    set_offset(&offset_file, "+0");
    let env = [
        ("LD_PRELOAD", lib.to_str().unwrap()),
        ("FAKETIME_TIMESTAMP_FILE", offset_file.to_str().unwrap()),
        ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
        ("FAKETIME_CACHE_DURATION", "1"),
    ];
    let config =
        "[defaults]\nbuffer_interval = \"200ms\"\n[defaults.index]\nrotation = \"OneHour\"\n";
    let mut server = Server::start_with(&env, Some(config));
    let start = chrono::Utc::now();

    send(&server, 0);
    set_offset(&offset_file, "-1h");
    wait_for_clock(&server, -1);
    send(&server, 1);
    set_offset(&offset_file, "+1h");
    wait_for_clock(&server, 1);
    send(&server, 2);
    // A crash while the clock is ahead, and a restart with it back where it was.
    server.kill9();
    set_offset(&offset_file, "+0");
    server.restart();
    wait_for_clock(&server, 0);
    send(&server, 3);
    set_offset(&offset_file, "-1h");
    wait_for_clock(&server, -1);
    send(&server, 4);

    let total = 5 * PER_PHASE;
    server.wait_delivered("clock");
    assert_eq!(server.wait_count("clock", total), total);
    let (ids, seqs) = all_docs(&server);
    assert_eq!(ids.len() as u64, total, "every record once");
    let distinct: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "no id repeats");
    let expected: BTreeSet<u64> = (0..5)
        .flat_map(|p| p * 1000..p * 1000 + PER_PHASE)
        .collect();
    assert_eq!(seqs.into_iter().collect::<BTreeSet<u64>>(), expected);

    // Hourly indices only for the hours the clock showed (the test may straddle an hour).
    let hours: BTreeSet<String> = (-1..=2)
        .map(|h| {
            (start + chrono::Duration::hours(h))
                .format("clock-%Y-%m-%d-%H")
                .to_string()
        })
        .collect();
    let (status, cat) = server.get("/_cat/indices/clock*?format=json");
    assert_eq!(status, 200, "{cat}");
    let names: Vec<String> = cat
        .as_array()
        .expect("indices")
        .iter()
        .map(|i: &Value| i["index"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(names.len() >= 2, "{names:?}");
    for n in &names {
        assert!(hours.contains(n), "{n} is not one of {hours:?}");
    }
}
