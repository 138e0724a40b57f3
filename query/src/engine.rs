//! The typed entry points the HTTP routes call: one function per endpoint, testable without
//! HTTP. Each resolves its target, picks the shards (current ones, or a point in time's), and
//! runs the request.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hydrant_index::{Catalog, IndexHandle, ResolveOptions};
use serde_json::{Map, Value, json};

use crate::ast::QueryAst;
use crate::contexts::{Contexts, ScrollState};
use crate::error::QueryError;
use crate::request::{
    SearchParams, SearchRequest, SortSpec, SortTarget, parse_body, parse_duration,
};
use crate::search::{
    CountResponse, RequestCache, SearchOptions, SearchResponse, ShardStats, ShardTarget, count,
    estimated_reads, search,
};

/// A `_search` ready to run ([`Engine::plan`]).
pub struct Planned {
    req: SearchRequest,
    targets: Vec<ShardTarget>,
    opts: SearchOptions,
    damaged: Vec<hydrant_index::DamagedIndex>,
    pit_id: Option<String>,
}

impl Planned {
    /// About how many documents the search reads ([`estimated_reads`]).
    pub fn reads(&self) -> u64 {
        estimated_reads(&self.targets, &self.req.query, self.opts.now_ms)
    }

    /// Runs the search: the request (as run) and the answer.
    pub fn run(self) -> Result<(SearchRequest, SearchResponse), QueryError> {
        let mut resp = search(&self.targets, &self.req, &self.opts)?;
        resp.shards.add_damaged(&self.damaged);
        resp.pit_id = self.pit_id;
        Ok((self.req, resp))
    }
}

/// What the search endpoints run on.
pub struct Engine {
    /// The indices.
    pub catalog: Arc<Catalog>,
    contexts: Contexts,
    /// The `timeout` of a search that gives none (`query.default_search_timeout`).
    default_timeout: std::time::Duration,
    /// Per-segment results of repeated searches (none: every search runs in full).
    cache: Option<Arc<RequestCache>>,
    /// Segments searches skipped by their time range.
    skipped_segments: Arc<AtomicU64>,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Sorts of a point in time or scroll end with `_shard_doc`, so that every hit has a unique
/// position to continue after (ES adds the same tie-breaker).
fn with_tiebreaker(req: &mut SearchRequest) {
    let has = req.sort.iter().any(|s| s.target == SortTarget::ShardDoc);
    if !has {
        if req.sort.is_empty() {
            req.sort.push(SortSpec::new(SortTarget::Score));
        }
        req.sort.push(SortSpec::new(SortTarget::ShardDoc));
    }
}

/// Keeps the first `shown` sort values of each hit (none: no `sort` at all).
fn show_sort(resp: &mut SearchResponse, shown: usize) {
    for h in &mut resp.hits.hits {
        if shown == 0 {
            h.sort = None;
        } else if let Some(values) = &mut h.sort {
            values.truncate(shown);
        }
    }
}

fn last_sort_values(resp: &SearchResponse) -> Option<Vec<Value>> {
    resp.hits.hits.last().and_then(|h| h.sort.clone())
}

/// A stream `PUT /{index}` created that has no index yet, with its declared mappings.
pub type Pending = (String, serde_json::Value);

impl Engine {
    /// An engine over `catalog`.
    pub fn new(catalog: Arc<Catalog>, default_timeout: std::time::Duration) -> Engine {
        Engine {
            catalog,
            contexts: Contexts::default(),
            default_timeout,
            cache: None,
            skipped_segments: Arc::default(),
        }
    }

    /// This engine with a request cache.
    pub fn with_request_cache(mut self, cache: Arc<RequestCache>) -> Engine {
        self.cache = Some(cache);
        self
    }

    /// The request cache, if there is one.
    pub fn request_cache(&self) -> Option<&Arc<RequestCache>> {
        self.cache.as_ref()
    }

    /// How many segments searches have skipped because the query's time range missed them.
    pub fn skipped_segments(&self) -> u64 {
        self.skipped_segments.load(Ordering::Relaxed)
    }

    fn options(&self, params: &SearchParams) -> SearchOptions {
        SearchOptions {
            now_ms: now_ms(),
            typed_keys: params.typed_keys == Some(true),
            total_as_int: params.rest_total_hits_as_int == Some(true),
            cache: self
                .cache
                .clone()
                .filter(|_| params.request_cache != Some(false)),
            skipped_segments: self.skipped_segments.clone(),
        }
    }

    /// The indices.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// The indices `target` names.
    pub fn resolve(
        &self,
        target: &str,
        params: &SearchParams,
    ) -> Result<Vec<Arc<IndexHandle>>, QueryError> {
        let options = ResolveOptions {
            ignore_unavailable: params.ignore_unavailable.unwrap_or(false),
            allow_no_indices: params.allow_no_indices.unwrap_or(true),
        };
        Ok(self.catalog.resolve(target, options)?)
    }

    /// [`resolve`](Self::resolve), and the damaged indices `target` names: failed shards of
    /// the answer, or — when nothing else is left to search — the whole search failed, as
    /// Elasticsearch answers when every shard of a target is unavailable.
    fn resolve_reporting(
        &self,
        target: &str,
        params: &SearchParams,
    ) -> Result<(Vec<Arc<IndexHandle>>, Vec<hydrant_index::DamagedIndex>), QueryError> {
        let indices = self.resolve(target, params)?;
        let damaged = self.catalog.damaged_in(target);
        if indices.is_empty() && !damaged.is_empty() {
            return Err(QueryError::AllShardsFailed(damaged));
        }
        Ok((indices, damaged))
    }

    /// [`resolve`](Self::resolve), and the streams named in `target` that `PUT /{index}`
    /// created but that have no index yet, with the mappings their first index will have —
    /// what `GET /{index}` and `_mapping` show for them.
    pub fn resolve_defined(
        &self,
        target: &str,
        params: &SearchParams,
    ) -> Result<(Vec<Arc<IndexHandle>>, Vec<Pending>), QueryError> {
        let definitions = self.catalog.definitions();
        let pending: Vec<(String, serde_json::Value)> = target
            .split(',')
            .map(str::trim)
            .filter(|p| definitions.is_defined(p) && self.catalog.stream_indices(p).is_empty())
            .map(|p| {
                let mappings = definitions.resolve(p, p).mappings;
                (
                    p.to_string(),
                    mappings.unwrap_or_else(|| serde_json::json!({})),
                )
            })
            .collect();
        if pending.is_empty() {
            return Ok((self.resolve(target, params)?, pending));
        }
        let lenient = ResolveOptions {
            ignore_unavailable: true,
            allow_no_indices: true,
        };
        Ok((self.catalog.resolve(target, lenient)?, pending))
    }

    /// The settings of index `index` (of `stream`) as `GET /{index}` shows them: what templates
    /// and its definition declare, with Hydrant's values for the ones it decides.
    pub fn index_settings(&self, index: Option<&IndexHandle>, stream: &str) -> serde_json::Value {
        let name = index.map_or(stream, |i| i.name());
        let mut flat = self.catalog.definitions().resolve(name, stream).settings;
        flat.insert("index.number_of_replicas".into(), "0".into());
        flat.insert("index.provided_name".into(), name.into());
        if let Some(index) = index {
            flat.insert(
                "index.number_of_shards".into(),
                index.shards().len().to_string().into(),
            );
            flat.insert(
                "index.creation_date".into(),
                index.meta().created_ms.to_string().into(),
            );
        }
        hydrant_index::definitions::nest_settings(&flat)
    }

    /// `_search` on `target` (`None`: every index, or the point in time the body names).
    pub fn search(
        &self,
        target: Option<&str>,
        params: &SearchParams,
        body: &[u8],
    ) -> Result<(SearchRequest, SearchResponse), QueryError> {
        let req = SearchRequest::parse(body, params)?;
        self.run(target, params, req)
    }

    /// Replaces the `terms` lookups of `q` by the values they name.
    fn resolve_lookups(&self, q: &mut QueryAst) -> Result<(), QueryError> {
        crate::terms_lookup::resolve(q, &|index, id| {
            let indices = self.resolve(index, &SearchParams::default())?;
            if indices.is_empty() {
                return Err(QueryError::IndexNotFound(index.to_string()));
            }
            Ok(hydrant_index::find_doc(&indices, id)?.map(|d| d.source))
        })
    }

    /// `_search` up to running it, for a request without a scroll: parsed, its indices
    /// resolved and their shards opened. [`Planned::reads`] says how much it reads, so the
    /// caller can choose where [`Planned::run`] runs it.
    pub fn plan(
        &self,
        target: Option<&str>,
        params: &SearchParams,
        body: &[u8],
    ) -> Result<Planned, QueryError> {
        let req = SearchRequest::parse(body, params)?;
        self.planned(target, params, req)
    }

    fn planned(
        &self,
        target: Option<&str>,
        params: &SearchParams,
        mut req: SearchRequest,
    ) -> Result<Planned, QueryError> {
        let opts = self.options(params);
        self.resolve_lookups(&mut req.query)?;
        if let Some(f) = &mut req.post_filter {
            self.resolve_lookups(f)?;
        }
        req.timeout.get_or_insert(self.default_timeout);
        if let Some(pit) = req.pit.clone() {
            if target.is_some() {
                return Err(QueryError::Validation(
                    "[indices] cannot be used with point in time".to_string(),
                ));
            }
            if params.scroll.is_some() {
                return Err(QueryError::IllegalArgument(
                    "using [point in time] is not allowed in a scroll context".to_string(),
                ));
            }
            let targets = self.contexts.pit(&pit.id, pit.keep_alive)?;
            with_tiebreaker(&mut req);
            return Ok(Planned {
                req,
                targets,
                opts,
                damaged: Vec::new(),
                pit_id: Some(pit.id),
            });
        }
        let (indices, damaged) = self.resolve_reporting(target.unwrap_or("_all"), params)?;
        Ok(Planned {
            req,
            targets: ShardTarget::open(&indices),
            opts,
            damaged,
            pit_id: None,
        })
    }

    /// Runs a parsed request.
    pub fn run(
        &self,
        target: Option<&str>,
        params: &SearchParams,
        req: SearchRequest,
    ) -> Result<(SearchRequest, SearchResponse), QueryError> {
        let planned = self.planned(target, params, req)?;
        let Some(scroll) = &params.scroll else {
            return planned.run();
        };
        let Planned {
            mut req,
            targets,
            opts,
            damaged,
            ..
        } = planned;
        let keep_alive = parse_duration(scroll, "scroll")?;
        // The client's sort values are shown, not the tie-breaker added for paging.
        let shown_sort = req.sort.len();
        with_tiebreaker(&mut req);
        let mut resp = search(&targets, &req, &opts)?;
        resp.shards.add_damaged(&damaged);
        let state = ScrollState {
            request: SearchRequest {
                from: 0,
                ..req.clone()
            },
            shown_sort,
            after: last_sort_values(&resp),
        };
        resp.scroll_id = Some(self.contexts.open_scroll(targets, state, keep_alive)?);
        show_sort(&mut resp, shown_sort);
        Ok((req, resp))
    }

    /// `_search/scroll`: the next page of scroll `scroll_id`.
    pub fn scroll(
        &self,
        scroll_id: &str,
        keep_alive: Option<&str>,
        params: &SearchParams,
    ) -> Result<SearchResponse, QueryError> {
        let keep_alive = keep_alive
            .map(|k| parse_duration(k, "scroll"))
            .transpose()?;
        let (targets, state) = self.contexts.scroll(scroll_id, keep_alive)?;
        let mut req = state.request;
        req.search_after = state.after;
        // Aggregations are computed on the first page only, as in ES.
        req.aggs.clear();
        let mut resp = search(&targets, &req, &self.options(params))?;
        self.contexts.advance(scroll_id, last_sort_values(&resp));
        resp.scroll_id = Some(scroll_id.to_string());
        show_sort(&mut resp, state.shown_sort);
        Ok(resp)
    }

    /// `DELETE _search/scroll`: closes scrolls; the ES answer.
    pub fn clear_scroll(&self, ids: &[String]) -> Value {
        let n = self.contexts.close(ids, false);
        json!({"succeeded": true, "num_freed": n})
    }

    /// `_count` on `target`.
    pub fn count(
        &self,
        target: Option<&str>,
        params: &SearchParams,
        body: &[u8],
    ) -> Result<CountResponse, QueryError> {
        let parsed = parse_body(body)?;
        for key in parsed.keys() {
            if key != "query" {
                return Err(QueryError::Parsing(format!(
                    "request does not support [{key}]"
                )));
            }
        }
        // Parsed once: with nothing but `query`, the object is the whole request.
        let mut req = SearchRequest::from_object(&parsed, params)?;
        if parsed.get("query").is_none() && params.q.is_none() {
            req.query = QueryAst::MatchAll;
        }
        self.resolve_lookups(&mut req.query)?;
        let (indices, damaged) = self.resolve_reporting(target.unwrap_or("_all"), params)?;
        let mut resp = count(
            &ShardTarget::open(&indices),
            &req.query,
            &self.options(params),
            params.terminate_after,
        )?;
        resp.shards.add_damaged(&damaged);
        Ok(resp)
    }

    /// `POST /{target}/_pit`: opens a point in time.
    pub fn open_pit(&self, target: &str, params: &SearchParams) -> Result<Value, QueryError> {
        let keep_alive = match &params.keep_alive {
            Some(k) => parse_duration(k, "keep_alive")?,
            None => {
                return Err(QueryError::IllegalArgument(
                    "[keep_alive] is required when opening a point in time".to_string(),
                ));
            }
        };
        let indices = self.resolve(target, params)?;
        let targets = ShardTarget::open(&indices);
        let shards = ShardStats::all_ok(targets.len());
        let id = self.contexts.open_pit(targets, keep_alive)?;
        Ok(json!({"id": id, "_shards": shards}))
    }

    /// `DELETE /_pit`: closes a point in time; whether it existed, and the ES answer.
    pub fn close_pit(&self, body: &[u8]) -> Result<(bool, Value), QueryError> {
        let parsed: Map<String, Value> = parse_body(body)?;
        let id = parsed.get("id").and_then(Value::as_str).ok_or_else(|| {
            QueryError::Parsing("[id] is required to close a point in time".to_string())
        })?;
        let n = self.contexts.close(&[id.to_string()], true);
        Ok((n > 0, json!({"succeeded": true, "num_freed": n})))
    }
}
