//! Reading a stream's log back on open: its segments in order, each entry checked, a torn
//! tail cut from the last segment and corruption anywhere else reported.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::{
    ENTRY_HEADER_LEN, MAGIC, MAX_ENTRY_LEN, Replay, SEGMENT_HEADER_LEN, VERSION, rewrite_header,
};
use crate::error::WalError;

pub(super) fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, WalError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| WalError::io(dir, e))? {
        let entry = entry.map_err(|e| WalError::io(dir, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if let Some(stem) = name.strip_suffix(".log")
            && let Ok(first) = stem.parse::<u64>()
        {
            out.push((first, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// An entry header and payload that check out at `offset`, if any.
pub(super) fn entry_at(
    data: &[u8],
    offset: usize,
    expected_pos: u64,
) -> Result<(u64, usize, usize), String> {
    let rest = &data[offset..];
    if rest.len() < ENTRY_HEADER_LEN {
        return Err("incomplete entry header".to_string());
    }
    let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
    let crc = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
    let mut pos_bytes = [0u8; 8];
    pos_bytes.copy_from_slice(&rest[8..16]);
    let pos = u64::from_le_bytes(pos_bytes);
    if len > MAX_ENTRY_LEN {
        return Err(format!("entry length {len} is implausible"));
    }
    let end = ENTRY_HEADER_LEN + len as usize;
    if rest.len() < end {
        return Err("incomplete entry payload".to_string());
    }
    let payload = &rest[ENTRY_HEADER_LEN..end];
    let actual = crc32c::crc32c_append(crc32c::crc32c(&pos_bytes), payload);
    if actual != crc {
        return Err("checksum mismatch".to_string());
    }
    if pos != expected_pos {
        return Err(format!("entry has position {pos}, expected {expected_pos}"));
    }
    Ok((pos, offset + ENTRY_HEADER_LEN, offset + end))
}

/// Reads one segment into `replay`; returns the position after its last entry.
pub(super) fn read_segment(
    path: &Path,
    first: u64,
    is_last: bool,
    replay: &mut Replay,
) -> Result<u64, WalError> {
    let data = Bytes::from(fs::read(path).map_err(|e| WalError::io(path, e))?);
    let corrupt = |offset: usize, reason: String| WalError::Corrupt {
        path: path.to_path_buf(),
        offset: offset as u64,
        reason,
    };
    if data.len() < SEGMENT_HEADER_LEN as usize {
        if is_last {
            // Crashed while creating the segment: rewrite its header.
            rewrite_header(path)?;
            return Ok(first);
        }
        return Err(corrupt(0, "segment shorter than its header".to_string()));
    }
    if &data[..6] != MAGIC {
        return Err(corrupt(0, "not a Hydrant WAL segment".to_string()));
    }
    if data[6] != VERSION {
        return Err(corrupt(
            6,
            format!("segment version {} is not supported", data[6]),
        ));
    }
    let mut offset = SEGMENT_HEADER_LEN as usize;
    let mut expected = first;
    while offset < data.len() {
        match entry_at(&data, offset, expected) {
            Ok((pos, start, end)) => {
                replay.entries.push((pos, data.slice(start..end)));
                expected += 1;
                offset = end;
            }
            Err(reason) => {
                if !is_last || valid_entry_after(&data, offset + 1, expected) {
                    return Err(corrupt(offset, reason));
                }
                let torn = (data.len() - offset) as u64;
                tracing::warn!(path = %path.display(), offset, bytes = torn, %reason, "cutting a torn write from the end of the write-ahead log");
                let file = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| WalError::io(path, e))?;
                file.set_len(offset as u64)
                    .and_then(|_| file.sync_all())
                    .map_err(|e| WalError::io(path, e))?;
                replay.torn_bytes += torn;
                break;
            }
        }
    }
    Ok(expected)
}

/// Whether a valid entry for `expected` or a later position starts anywhere from `from`.
pub(super) fn valid_entry_after(data: &[u8], from: usize, expected: u64) -> bool {
    (from..data.len().saturating_sub(ENTRY_HEADER_LEN - 1)).any(|offset| {
        let rest = &data[offset..];
        let mut pos_bytes = [0u8; 8];
        pos_bytes.copy_from_slice(&rest[8..16]);
        let pos = u64::from_le_bytes(pos_bytes);
        pos >= expected && pos < expected + (1 << 32) && entry_at(data, offset, pos).is_ok()
    })
}
