use std::fs::OpenOptions;
use std::io::Write;
use std::sync::Arc;

use super::*;

fn opts(segment_size: u64) -> WalOptions {
    WalOptions {
        fsync: FsyncPolicy::Always,
        fsync_interval: Duration::from_millis(50),
        segment_size,
    }
}

fn batch(items: &[&[u8]]) -> WalBatch {
    let mut b = WalBatch::default();
    for item in items {
        b.push(|buf| buf.extend_from_slice(item));
    }
    b
}

fn nop() -> OnWritten {
    Box::new(|_| {})
}

fn payloads(replay: &Replay) -> Vec<Vec<u8>> {
    replay.entries.iter().map(|(_, b)| b.to_vec()).collect()
}

#[tokio::test]
async fn appends_round_trip_across_reopen_and_positions_continue() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (wal, replay) = Wal::open(dir.path(), opts(1 << 20), 0).unwrap();
        assert!(replay.entries.is_empty());
        assert_eq!(
            wal.append(batch(&[b"a", b"bb"]), nop()).await.unwrap(),
            (1, 2)
        );
        assert_eq!(wal.append(batch(&[b"ccc"]), nop()).await.unwrap(), (3, 3));
        wal.close().await;
    }
    let (wal, replay) = Wal::open(dir.path(), opts(1 << 20), 0).unwrap();
    assert_eq!(
        payloads(&replay),
        vec![b"a".to_vec(), b"bb".to_vec(), b"ccc".to_vec()]
    );
    assert_eq!(replay.first_position, 1);
    assert_eq!(wal.append(batch(&[b"d"]), nop()).await.unwrap(), (4, 4));
    wal.close().await;
}

#[tokio::test]
async fn concurrent_appends_get_distinct_contiguous_positions() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(dir.path(), opts(1 << 20), 0).unwrap();
    let wal = Arc::new(wal);
    let mut tasks = Vec::new();
    for i in 0..50u8 {
        let wal = wal.clone();
        tasks.push(tokio::spawn(async move {
            wal.append(batch(&[&[i], &[i]]), nop()).await.unwrap()
        }));
    }
    let mut ranges = Vec::new();
    for t in tasks {
        ranges.push(t.await.unwrap());
    }
    ranges.sort();
    for (i, (a, b)) in ranges.iter().enumerate() {
        assert_eq!(*a, 2 * i as u64 + 1);
        assert_eq!(*b, *a + 1);
    }
    wal.close().await;
    let (_, replay) = Wal::open(dir.path(), opts(1 << 20), 0).unwrap();
    assert_eq!(replay.entries.len(), 100);
}

fn only_segment(dir: &Path) -> PathBuf {
    let segs = list_segments(dir).unwrap();
    assert_eq!(segs.len(), 1);
    segs[0].1.clone()
}

#[tokio::test]
async fn torn_tail_is_cut_and_log_stays_appendable() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (wal, _) = Wal::open(dir.path(), opts(1 << 20), 0).unwrap();
        wal.append(batch(&[b"one", b"two"]), nop()).await.unwrap();
        wal.close().await;
    }
    let seg = only_segment(dir.path());
    let good_len = fs::metadata(&seg).unwrap().len();
    // A crash in the middle of writing entry 3: its header and half its payload.
    let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
    let mut header = [0u8; 16];
    header[..4].copy_from_slice(&10u32.to_le_bytes());
    header[8..].copy_from_slice(&3u64.to_le_bytes());
    f.write_all(&header).unwrap();
    f.write_all(b"hal").unwrap();
    drop(f);
    let (wal, replay) = Wal::open(dir.path(), opts(1 << 20), 0).unwrap();
    assert_eq!(payloads(&replay), vec![b"one".to_vec(), b"two".to_vec()]);
    assert_eq!(replay.torn_bytes, 19);
    assert_eq!(fs::metadata(&seg).unwrap().len(), good_len);
    assert_eq!(wal.append(batch(&[b"three"]), nop()).await.unwrap(), (3, 3));
    wal.close().await;
    let (_, replay) = Wal::open(dir.path(), opts(1 << 20), 0).unwrap();
    assert_eq!(replay.entries.len(), 3);
}

#[tokio::test]
async fn zero_filled_tail_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (wal, _) = Wal::open(dir.path(), opts(1 << 20), 0).unwrap();
        wal.append(batch(&[b"one"]), nop()).await.unwrap();
        wal.close().await;
    }
    let seg = only_segment(dir.path());
    let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
    f.write_all(&[0u8; 4096]).unwrap();
    drop(f);
    let (_, replay) = Wal::open(dir.path(), opts(1 << 20), 0).unwrap();
    assert_eq!(payloads(&replay), vec![b"one".to_vec()]);
    assert_eq!(replay.torn_bytes, 4096);
}

#[tokio::test]
async fn corruption_before_valid_entries_is_reported_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (wal, _) = Wal::open(dir.path(), opts(1 << 20), 0).unwrap();
        wal.append(batch(&[b"aaaa", b"bbbb", b"cccc"]), nop())
            .await
            .unwrap();
        wal.close().await;
    }
    let seg = only_segment(dir.path());
    let mut data = fs::read(&seg).unwrap();
    // Flip a payload byte of the second entry.
    let second_payload = 8 + (16 + 4) + 16;
    data[second_payload] ^= 0xff;
    fs::write(&seg, &data).unwrap();
    let err = Wal::open(dir.path(), opts(1 << 20), 0).unwrap_err();
    match err {
        WalError::Corrupt { offset, reason, .. } => {
            assert_eq!(offset, 28);
            assert_eq!(reason, "checksum mismatch");
        }
        other => panic!("expected corruption, got {other}"),
    }
}

#[tokio::test]
async fn segments_roll_and_truncate_deletes_only_delivered_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(dir.path(), opts(64), 0).unwrap();
    for i in 0..10u8 {
        wal.append(batch(&[&[i; 40]]), nop()).await.unwrap();
    }
    let before = list_segments(dir.path()).unwrap();
    assert!(before.len() >= 5, "{before:?}");
    wal.truncate(5);
    wal.close().await;
    let (_, replay) = Wal::open(dir.path(), opts(64), 0).unwrap();
    // Positions 6..=10 must all still be there; earlier ones may remain in a shared segment.
    let positions: Vec<u64> = replay.entries.iter().map(|(p, _)| *p).collect();
    assert!(
        positions.contains(&6) && positions.contains(&10),
        "{positions:?}"
    );
    assert!(replay.first_position <= 6);
    assert!(list_segments(dir.path()).unwrap().len() < before.len());
}

#[tokio::test]
async fn corruption_in_an_earlier_segment_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (wal, _) = Wal::open(dir.path(), opts(64), 0).unwrap();
        for i in 0..4u8 {
            wal.append(batch(&[&[i; 40]]), nop()).await.unwrap();
        }
        wal.close().await;
    }
    let segs = list_segments(dir.path()).unwrap();
    let first = &segs[0].1;
    let len = fs::metadata(first).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(first)
        .unwrap()
        .set_len(len - 3)
        .unwrap();
    assert!(matches!(
        Wal::open(dir.path(), opts(64), 0),
        Err(WalError::Corrupt { .. })
    ));
}

#[tokio::test]
async fn positions_never_go_back_below_the_given_floor() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, replay) = Wal::open(dir.path(), opts(1 << 20), 100).unwrap();
    assert_eq!(replay.first_position, 100);
    assert_eq!(wal.append(batch(&[b"x"]), nop()).await.unwrap(), (100, 100));
    wal.close().await;
}

#[tokio::test]
async fn interval_policy_acknowledges_and_syncs_in_background() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(1 << 20);
    o.fsync = FsyncPolicy::Interval;
    let (wal, _) = Wal::open(dir.path(), o.clone(), 0).unwrap();
    wal.append(batch(&[b"x"]), nop()).await.unwrap();
    wal.close().await;
    let (_, replay) = Wal::open(dir.path(), o, 0).unwrap();
    assert_eq!(replay.entries.len(), 1);
}
