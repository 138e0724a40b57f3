//! Search contexts that outlive a request: points in time (`POST /{target}/_pit`) and scrolls.
//! Each holds the searchers of its shards, so that later pages see the same documents, and
//! expires after its keep-alive unless a request extends it.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::Value;

use crate::error::QueryError;
use crate::request::SearchRequest;
use crate::search::ShardTarget;

/// Most contexts of each kind kept open at once (ES's `search.max_open_scroll_context`).
pub const MAX_OPEN: usize = 500;

/// The longest keep-alive accepted (ES's `search.max_keep_alive`).
pub const MAX_KEEP_ALIVE: Duration = Duration::from_secs(24 * 3600);

/// A scroll's position: the request and the sort values of the last hit returned.
#[derive(Clone)]
pub struct ScrollState {
    /// The request of the first page (with the `_shard_doc` tie-breaker).
    pub request: SearchRequest,
    /// How many sort values of each hit the client sees: those of its own sort (none without
    /// one), not the tie-breaker.
    pub shown_sort: usize,
    /// Sort values of the last hit returned so far.
    pub after: Option<Vec<Value>>,
}

enum Kind {
    Pit,
    Scroll(Box<ScrollState>),
}

struct Context {
    targets: Vec<ShardTarget>,
    expires: Instant,
    kind: Kind,
}

/// Open points in time and scrolls.
#[derive(Default)]
pub struct Contexts {
    open: Mutex<HashMap<String, Context>>,
    counter: AtomicU64,
}

fn check_keep_alive(keep_alive: Duration) -> Result<Duration, QueryError> {
    if keep_alive > MAX_KEEP_ALIVE {
        return Err(QueryError::IllegalArgument(format!(
            "Keep alive for request ({}s) is too large. It must be less than ({}s). This limit can be set by changing the [search.max_keep_alive] cluster level setting.",
            keep_alive.as_secs(),
            MAX_KEEP_ALIVE.as_secs()
        )));
    }
    Ok(keep_alive)
}

/// What scroll ids start with (then 24 hex digits, see `new_id`).
const SCROLL_PREFIX: &str = "scroll";

/// Whether `id` has the shape of the scroll ids Hydrant makes.
fn is_scroll_id(id: &str) -> bool {
    id.strip_prefix(SCROLL_PREFIX)
        .is_some_and(|rest| rest.len() == 24 && rest.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl Contexts {
    fn new_id(&self, prefix: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(n);
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        format!("{prefix}{:016x}{n:08x}", h.finish())
    }

    fn sweep(open: &mut HashMap<String, Context>) {
        let now = Instant::now();
        open.retain(|_, c| c.expires > now);
    }

    fn insert(&self, prefix: &str, ctx: Context) -> Result<String, QueryError> {
        let mut open = self.open.lock();
        Self::sweep(&mut open);
        let is_pit = matches!(ctx.kind, Kind::Pit);
        let same_kind = open
            .values()
            .filter(|c| matches!(c.kind, Kind::Pit) == is_pit)
            .count();
        if same_kind >= MAX_OPEN {
            return Err(QueryError::IllegalArgument(format!(
                "Trying to create too many {} contexts. Must be less than or equal to: [{MAX_OPEN}]. This limit can be set by changing the [search.max_open_scroll_context] setting.",
                if is_pit { "point in time" } else { "scroll" }
            )));
        }
        let id = self.new_id(prefix);
        open.insert(id.clone(), ctx);
        Ok(id)
    }

    /// Opens a point in time over `targets` for `keep_alive`.
    pub fn open_pit(
        &self,
        targets: Vec<ShardTarget>,
        keep_alive: Duration,
    ) -> Result<String, QueryError> {
        let keep_alive = check_keep_alive(keep_alive)?;
        self.insert(
            "pit",
            Context {
                targets,
                expires: Instant::now() + keep_alive,
                kind: Kind::Pit,
            },
        )
    }

    /// The shards of point in time `id`, extending it by `keep_alive` when given.
    pub fn pit(
        &self,
        id: &str,
        keep_alive: Option<Duration>,
    ) -> Result<Vec<ShardTarget>, QueryError> {
        let mut open = self.open.lock();
        Self::sweep(&mut open);
        match open.get_mut(id) {
            Some(c) if matches!(c.kind, Kind::Pit) => {
                if let Some(k) = keep_alive {
                    c.expires = Instant::now() + check_keep_alive(k)?;
                }
                Ok(c.targets.clone())
            }
            _ => Err(QueryError::SearchContextMissing(id.to_string())),
        }
    }

    /// Opens a scroll.
    pub fn open_scroll(
        &self,
        targets: Vec<ShardTarget>,
        state: ScrollState,
        keep_alive: Duration,
    ) -> Result<String, QueryError> {
        let keep_alive = check_keep_alive(keep_alive)?;
        self.insert(
            SCROLL_PREFIX,
            Context {
                targets,
                expires: Instant::now() + keep_alive,
                kind: Kind::Scroll(Box::new(state)),
            },
        )
    }

    /// The shards and position of scroll `id`, extended by `keep_alive`.
    pub fn scroll(
        &self,
        id: &str,
        keep_alive: Option<Duration>,
    ) -> Result<(Vec<ShardTarget>, ScrollState), QueryError> {
        let mut open = self.open.lock();
        Self::sweep(&mut open);
        match open.get_mut(id) {
            Some(Context {
                targets,
                expires,
                kind: Kind::Scroll(state),
            }) => {
                if let Some(k) = keep_alive {
                    *expires = Instant::now() + check_keep_alive(k)?;
                }
                Ok((targets.clone(), (**state).clone()))
            }
            // An id Hydrant never makes is malformed, not expired.
            _ if !is_scroll_id(id) => Err(QueryError::IllegalArgument(
                "Cannot parse scroll id".to_string(),
            )),
            _ => Err(QueryError::SearchContextMissing(id.to_string())),
        }
    }

    /// Records the position a scroll reached.
    pub fn advance(&self, id: &str, after: Option<Vec<Value>>) {
        if let Some(Context {
            kind: Kind::Scroll(state),
            ..
        }) = self.open.lock().get_mut(id)
            && after.is_some()
        {
            state.after = after;
        }
    }

    /// Closes contexts by id (`_all`: every context of that kind); returns how many closed.
    pub fn close(&self, ids: &[String], pits: bool) -> usize {
        let mut open = self.open.lock();
        let before = open.len();
        if ids.iter().any(|i| i == "_all") {
            open.retain(|_, c| matches!(c.kind, Kind::Pit) != pits);
        } else {
            for id in ids {
                if open
                    .get(id)
                    .is_some_and(|c| matches!(c.kind, Kind::Pit) == pits)
                {
                    open.remove(id);
                }
            }
        }
        before - open.len()
    }
}
