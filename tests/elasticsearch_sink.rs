//! The Elasticsearch destination end to end, over real HTTP on loopback: into a second Hydrant
//! through its `_bulk` API (plain and with SigV4 verified by the receiver), into a fake cluster
//! that injects item-level and request-level faults, through a SIGKILL of the sender, and
//! against a cluster that is down (ingest answers 429 rather than growing memory).

mod common;
mod elasticsearch_support;

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use common::{Server, eventually};
use elasticsearch_support::{Cluster, Mode, error_records};
use serde_json::{Value, json};

/// A sender whose streams deliver to `endpoint` only (no embedded index), into index
/// `shipped` (no rotation unless `es` sets one); `defaults` continues `[defaults]`, `es` continues `[defaults.elasticsearch]`.
fn sender_config(endpoint: &str, defaults: &str, es: &str) -> String {
    let rotation = if es.contains("rotation") {
        ""
    } else {
        "rotation = \"NoRotation\"\n"
    };
    format!(
        "[defaults]\nbuffer_interval = \"200ms\"\n{defaults}[defaults.index]\nenabled = false\n\
         [defaults.elasticsearch]\nenabled = true\nendpoints = [\"{endpoint}\"]\nindex = \"shipped\"\n\
         {rotation}{es}"
    )
}

/// `_bulk` of `docs` into stream `web` of `server`; the ids of the documents taken.
fn ship_bulk(server: &Server, docs: &[Value], ids: Option<&[String]>) -> Vec<String> {
    let mut body = String::new();
    for (i, doc) in docs.iter().enumerate() {
        match ids {
            Some(ids) => {
                body.push_str(&json!({"index": {"_index": "web", "_id": ids[i]}}).to_string())
            }
            None => body.push_str("{\"index\":{\"_index\":\"web\"}}"),
        }
        body.push('\n');
        body.push_str(&doc.to_string());
        body.push('\n');
    }
    let (status, resp) = server.post("/_bulk", "application/x-ndjson", body);
    assert_eq!(status, 200, "{resp}");
    taken_ids(&resp)
}

fn taken_ids(resp: &Value) -> Vec<String> {
    resp["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter(|i| i["index"]["status"] == 201)
                .map(|i| i["index"]["_id"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn seq_docs(from: usize, n: usize, bad_every: usize) -> Vec<Value> {
    (from..from + n)
        .map(|i| json!({"seq": i, "msg": format!("event {i}"), "bad": bad_every > 0 && i % bad_every == 0}))
        .collect()
}

/// `_id` and `_source.seq` of every document of `target` on a Hydrant.
fn ids_and_seqs(server: &Server, target: &str) -> Vec<(String, u64)> {
    let (status, resp) = server.post_json(
        &format!("/{target}/_search"),
        &json!({"size": 10000, "query": {"match_all": {}}}),
    );
    assert_eq!(status, 200, "{resp}");
    resp["hits"]["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|h| {
            (
                h["_id"].as_str().expect("_id").to_string(),
                h["_source"]["seq"].as_u64().expect("seq"),
            )
        })
        .collect()
}

fn es_metric(server: &Server, name: &str) -> f64 {
    server.metric(&format!(
        "hydrant_{name}{{stream=\"web\",destination=\"elasticsearch\"}}"
    ))
}

#[test]
fn records_reach_a_second_hydrant_through_its_bulk_api_with_their_ids() {
    let receiver = Server::start();
    let config = sender_config(&receiver.url, "", "rotation = \"OneDay\"\n");
    let sender = Server::start_with(&[], Some(&config));
    let day_before = chrono::Utc::now().format("%Y-%m-%d").to_string();

    let generated = ship_bulk(&sender, &seq_docs(0, 300, 0), None);
    let client_ids: Vec<String> = (0..100).map(|i| format!("client-{i}")).collect();
    let kept = ship_bulk(&sender, &seq_docs(300, 100, 0), Some(&client_ids));
    assert_eq!((generated.len(), kept), (300, client_ids.clone()));
    let ndjson: String = seq_docs(400, 100, 0)
        .iter()
        .map(|d| format!("{d}\n"))
        .collect();
    let (status, resp) = sender.post("/v1/streams/web/records", "application/x-ndjson", ndjson);
    assert_eq!(
        (status, resp["accepted"].clone()),
        (200, json!(100)),
        "{resp}"
    );
    // Firehose records are opaque bytes: one that is not JSON cannot be indexed.
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let batch = json!({"DeliveryStreamName": "web", "Records": [
        {"Data": b64("{\"seq\": 500}\n")}, {"Data": b64("plain text, not json")}]});
    let resp = sender
        .http
        .post(format!("{}/", sender.url))
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", "Firehose_20150804.PutRecordBatch")
        .body(batch.to_string())
        .send()
        .expect("firehose request");
    assert_eq!(resp.status(), 200);

    let day = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let index = format!("shipped-{day}");
    assert!(
        day == day_before,
        "the test ran across midnight UTC; run it again"
    );
    assert_eq!(receiver.wait_count(&index, 501), 501);
    let found = ids_and_seqs(&receiver, &index);
    let ids: HashSet<&str> = found.iter().map(|(id, _)| id.as_str()).collect();
    let seqs: BTreeSet<u64> = found.iter().map(|(_, s)| *s).collect();
    assert_eq!(found.len(), 501);
    assert_eq!(seqs, (0..=500).collect(), "every record once");
    for id in generated.iter().chain(&client_ids) {
        assert!(
            ids.contains(id.as_str()),
            "{id} kept as _id on the receiver"
        );
    }

    let failed = eventually(Duration::from_secs(20), "the error output", || {
        let recs = error_records(&sender.data_dir.join("objects"));
        (!recs.is_empty()).then_some(recs)
    });
    assert_eq!(failed.len(), 1, "{failed:?}");
    let (key, rec) = &failed[0];
    assert!(key.starts_with("errors/elasticsearch-failed/"), "{key}");
    assert_eq!(rec["errorCode"], "InvalidRecord");
    assert!(
        rec["errorMessage"]
            .as_str()
            .unwrap()
            .contains("not a JSON object")
    );
    assert_eq!(rec["esIndexName"], index.as_str());
    assert!(
        rec["esDocumentId"]
            .as_str()
            .is_some_and(|id| id.len() == 20)
    );
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rec["rawData"].as_str().unwrap())
        .unwrap();
    assert_eq!(raw, b"plain text, not json");

    // The counters move once the writes they count have returned: wait for them.
    eventually(Duration::from_secs(20), "the delivery counters", || {
        (es_metric(&sender, "delivery_records_total") == 501.0
            && es_metric(&sender, "error_output_records_total") == 1.0
            && es_metric(&sender, "delivery_failed_total") == 1.0)
            .then_some(())
    });
    assert_eq!(es_metric(&sender, "delivery_records_total"), 501.0);
    assert!(es_metric(&sender, "delivery_bytes_total") > 10_000.0);
    // Batches delivered in full, and the one whose record went to the error output.
    let batches =
        es_metric(&sender, "delivery_success_total") + es_metric(&sender, "delivery_failed_total");
    assert!(batches >= 1.0 && es_metric(&sender, "delivery_failed_total") == 1.0);
    assert_eq!(es_metric(&sender, "error_output_records_total"), 1.0);
}

#[test]
fn under_item_and_request_faults_every_record_is_indexed_once_or_in_the_error_output() {
    let cluster = Cluster::start(Mode::Faulty);
    let config = sender_config(&cluster.url, "", "max_bulk_documents = 50\n");
    let sender = Server::start_with(&[], Some(&config));
    let mut taken: Vec<(String, u64)> = Vec::new();
    for round in 0..6 {
        let docs = seq_docs(round * 100, 100, 25);
        let ids = ship_bulk(&sender, &docs, None);
        assert_eq!(ids.len(), 100);
        taken.extend(ids.into_iter().zip(round as u64 * 100..));
    }
    let bad: HashSet<u64> = (0..600).filter(|s| s % 25 == 0).collect();
    let done = || {
        let indexed = cluster.docs().len();
        let failed = error_records(&sender.data_dir.join("objects")).len();
        (indexed + failed >= taken.len()).then_some(())
    };
    eventually(Duration::from_secs(60), "every record placed", done);

    let docs = cluster.docs();
    let failed = error_records(&sender.data_dir.join("objects"));
    let failed_ids: HashSet<String> = failed
        .iter()
        .map(|(_, r)| r["esDocumentId"].as_str().unwrap().to_string())
        .collect();
    for (id, seq) in &taken {
        let indexed = docs.get(id);
        let in_errors = failed_ids.contains(id);
        if bad.contains(seq) {
            assert!(in_errors && indexed.is_none(), "bad record {seq} ({id})");
        } else {
            let (index, source) = indexed.unwrap_or_else(|| panic!("record {seq} ({id}) lost"));
            assert_eq!(
                (index.as_str(), source["seq"].as_u64()),
                ("shipped", Some(*seq))
            );
            assert!(!in_errors, "record {seq} both indexed and failed");
        }
    }
    assert_eq!(docs.len() + failed.len(), taken.len(), "nothing extra");
    assert_eq!(failed.len(), bad.len(), "each refused record once");
    for (key, rec) in &failed {
        assert!(key.starts_with("errors/elasticsearch-failed/"), "{key}");
        assert_eq!(rec["errorCode"], "400");
        assert_eq!(rec["esIndexName"], "shipped");
        assert!(
            rec["attemptsMade"].as_u64().is_some_and(|n| n >= 1),
            "{rec}"
        );
        assert!(
            rec["errorMessage"]
                .as_str()
                .unwrap()
                .starts_with("mapper_parsing_exception: failed to parse field [bad]"),
            "{rec}"
        );
    }
    // The faults did happen, and a resend after a cut connection overwrote, by `_id`.
    for fault in ["429", "503", "400", "503 whole", "cut"] {
        assert!(cluster.answered(fault) > 0, "no {fault} was injected");
    }
    let writes = cluster.state.writes.lock().unwrap().clone();
    assert!(
        writes.values().any(|n| *n > 1),
        "no record was resent after a cut"
    );
    let logs = sender.log_text();
    assert!(
        logs.contains("elasticsearch did not take a document"),
        "{logs}"
    );
    assert!(es_metric(&sender, "delivery_retries_total") > 0.0);
}

#[test]
fn sigv4_signed_deliveries_are_verified_by_the_receiving_hydrant() {
    const KEY: &str = "AKIDHYDRANTESSINK";
    const SECRET: &str = "es/Sink+Secret/0123456789";
    let receiver_config =
        format!("[auth.sigv4]\nregion = \"eu-west-1\"\n[auth.sigv4.keys]\n{KEY} = \"{SECRET}\"\n");
    let mut receiver = Server::start_with(&[], Some(&receiver_config));
    let env = |secret: &'static str| {
        [
            ("AWS_ACCESS_KEY_ID", KEY),
            ("AWS_SECRET_ACCESS_KEY", secret),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"),
            ("AWS_CONFIG_FILE", "/nonexistent/config"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]
    };
    let config = sender_config(
        &receiver.url,
        "",
        "auth = \"sigv4\"\nregion = \"eu-west-1\"\n",
    );
    let sender = Server::start_with(&env(SECRET), Some(&config));
    let ids = ship_bulk(&sender, &seq_docs(0, 200, 0), None);
    assert_eq!(ids.len(), 200);
    eventually(Duration::from_secs(30), "delivery", || {
        (es_metric(&sender, "delivery_records_total") >= 200.0).then_some(())
    });
    // A sender with the wrong secret gets nothing in: the receiver refuses its signatures.
    let impostor = Server::start_with(&env("not-the-secret"), Some(&config));
    ship_bulk(&impostor, &seq_docs(1000, 10, 0), None);
    eventually(Duration::from_secs(20), "the impostor refused", || {
        impostor.log_text().contains("code=403").then_some(())
    });
    assert_eq!(es_metric(&impostor, "delivery_records_total"), 0.0);
    let (status, _) = receiver.get("/shipped/_count");
    assert_eq!(status, 403, "unsigned requests are refused by the receiver");
    for log in [sender.log_text(), impostor.log_text()] {
        assert!(!log.contains(SECRET) && !log.contains("not-the-secret"));
    }

    // Restarted without verification, the receiver shows what it had accepted.
    receiver.stop();
    std::fs::write(receiver.config.as_ref().unwrap(), "").unwrap();
    receiver.restart();
    assert_eq!(receiver.wait_count("shipped", 200), 200);
    let found: HashSet<String> = ids_and_seqs(&receiver, "shipped")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(found, ids.into_iter().collect());
}

#[test]
fn a_sender_killed_mid_delivery_loses_and_duplicates_nothing_after_restart() {
    let receiver = Server::start();
    let config = sender_config(&receiver.url, "", "max_bulk_documents = 100\n");
    let mut sender = Server::start_with(&[], Some(&config));
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let shipper = {
        let (url, acked, stop) = (sender.url.clone(), acked.clone(), stop.clone());
        std::thread::spawn(move || {
            let http = reqwest::blocking::Client::new();
            let mut seq = 0;
            // Bounded, so that the receiver can list every document in one search.
            while !stop.load(Ordering::SeqCst) && seq < 6000 {
                let mut body = String::new();
                for doc in seq_docs(seq, 200, 0) {
                    body.push_str("{\"index\":{\"_index\":\"web\"}}\n");
                    body.push_str(&format!("{doc}\n"));
                }
                seq += 200;
                let answer = http
                    .post(format!("{url}/_bulk"))
                    .header("content-type", "application/x-ndjson")
                    .body(body)
                    .send()
                    .and_then(|r| r.json::<Value>());
                match answer {
                    Ok(resp) => acked.lock().unwrap().extend(taken_ids(&resp)),
                    Err(_) => break,
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let delivered = eventually(Duration::from_secs(30), "delivery under way", || {
        let n = es_metric(&sender, "delivery_records_total");
        (n > 0.0).then_some(n as usize)
    });
    // More acknowledged than that first delivery: the kill lands with records not delivered.
    eventually(
        Duration::from_secs(30),
        "records acknowledged past delivery",
        || (acked.lock().unwrap().len() > delivered).then_some(()),
    );
    sender.kill9();
    stop.store(true, Ordering::SeqCst);
    shipper.join().expect("shipper");
    let acked: HashSet<String> = acked.lock().unwrap().iter().cloned().collect();
    assert!(
        delivered < acked.len(),
        "killed mid-delivery: {delivered} of {} acknowledged records were delivered",
        acked.len()
    );

    sender.restart();
    let n = eventually(Duration::from_secs(60), "replayed delivery", || {
        let found = ids_and_seqs(&receiver, "shipped");
        let ids: HashSet<&str> = found.iter().map(|(id, _)| id.as_str()).collect();
        acked
            .iter()
            .all(|id| ids.contains(id.as_str()))
            .then_some(found)
    });
    let seqs: HashSet<u64> = n.iter().map(|(_, s)| *s).collect();
    assert_eq!(seqs.len(), n.len(), "a record is on the receiver twice");
    let ids: HashSet<&str> = n.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids.len(), n.len());
}

#[test]
fn a_down_cluster_turns_into_429s_at_ingest_then_everything_taken_is_delivered() {
    let cluster = Cluster::start(Mode::Down);
    let config = sender_config(&cluster.url, "max_buffered_size = \"1MiB\"\n", "");
    let sender = Server::start_with(&[], Some(&config));
    let mut taken = Vec::new();
    let mut throttled = false;
    let pad = "x".repeat(1000);
    for round in 0..40 {
        let docs: Vec<Value> = (0..100)
            .map(|i| json!({"seq": round * 100 + i, "pad": pad}))
            .collect();
        let mut body = String::new();
        for doc in &docs {
            body.push_str("{\"index\":{\"_index\":\"web\"}}\n");
            body.push_str(&format!("{doc}\n"));
        }
        let (status, resp) = sender.post("/_bulk", "application/x-ndjson", body);
        assert_eq!(status, 200, "{resp}");
        let ids = taken_ids(&resp);
        if ids.len() < docs.len() {
            let refused = &resp["items"][ids.len()]["index"];
            assert_eq!(refused["status"], 429, "{refused}");
            assert_eq!(refused["error"]["type"], "es_rejected_execution_exception");
            throttled = true;
        }
        taken.extend(ids);
        if throttled {
            break;
        }
    }
    assert!(
        throttled,
        "ingest never pushed back while the cluster was down"
    );
    eventually(Duration::from_secs(10), "a delivery refused", || {
        (cluster.answered("503 whole") > 0).then_some(())
    });
    assert!(sender.metric("hydrant_buffered_bytes{stream=\"web\"}") <= 2.0 * 1024.0 * 1024.0);
    cluster.set_mode(Mode::Healthy);
    eventually(Duration::from_secs(30), "delivery after recovery", || {
        let docs = cluster.docs();
        taken.iter().all(|id| docs.contains_key(id)).then_some(())
    });
    assert!(sender.metric("hydrant_throttled_records_total{stream=\"web\"}") > 0.0);
}

#[test]
fn a_cluster_down_longer_than_retry_duration_sends_records_to_the_error_output_once() {
    let cluster = Cluster::start(Mode::Down);
    let config = sender_config(&cluster.url, "retry_duration = \"2s\"\n", "");
    let sender = Server::start_with(&[], Some(&config));
    let docs: Vec<Value> = (0..30).map(|i| json!({"seq": i})).collect();
    let taken = ship_bulk(&sender, &docs, None);
    assert_eq!(taken.len(), 30);

    // Past retry_duration, each record is in the error output with Firehose's failure shape.
    let failed = eventually(Duration::from_secs(60), "the error output", || {
        let recs = error_records(&sender.data_dir.join("objects"));
        (recs.len() >= 30).then_some(recs)
    });
    assert_eq!(failed.len(), 30, "each record once");
    let failed_ids: BTreeSet<&str> = failed
        .iter()
        .map(|(key, rec)| {
            assert!(key.starts_with("errors/elasticsearch-failed/"), "{key}");
            assert!(
                rec["errorMessage"].as_str().is_some_and(|m| !m.is_empty()),
                "{rec}"
            );
            rec["esDocumentId"].as_str().unwrap_or_default()
        })
        .collect();
    let taken_ids: BTreeSet<&str> = taken.iter().map(String::as_str).collect();
    assert_eq!(failed_ids, taken_ids);
    sender.wait_delivered("web");

    // The cluster comes back: new records are delivered, the failed ones are not sent again.
    cluster.set_mode(Mode::Healthy);
    let later: Vec<Value> = (100..110).map(|i| json!({"seq": i})).collect();
    let later_ids = ship_bulk(&sender, &later, None);
    eventually(Duration::from_secs(30), "delivery after recovery", || {
        let docs = cluster.docs();
        later_ids
            .iter()
            .all(|id| docs.contains_key(id))
            .then_some(())
    });
    sender.wait_delivered("web");
    let docs = cluster.docs();
    assert_eq!(docs.len(), 10, "only the later records reach the cluster");
    assert_eq!(error_records(&sender.data_dir.join("objects")).len(), 30);
}
