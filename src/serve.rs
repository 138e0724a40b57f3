//! `hydrant serve`: one HTTP port for ingest and search, the pipeline behind it, and a clean
//! shutdown on SIGINT/SIGTERM that flushes every buffer.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::http::HeaderValue;
use hydrant_config::Config;
use hydrant_index::Catalog;
use hydrant_ingest::{BodyLimits, IngestState, Pipeline};
use hydrant_query::QueryState;
use hydrant_security::Security;
use hydrant_sigproxy::credentials::AwsCredentials;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::cli::ServeArgs;

pub fn run(args: ServeArgs, env: &BTreeMap<String, String>) -> anyhow::Result<()> {
    let mut config = match &args.config {
        Some(path) => Config::load(path, env)?,
        None => Config::parse("", env)?,
    };
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(dir) = args.data_dir {
        config.data_dir = dir;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("hydrant")
        // Room beyond the default 2 MiB for the recursion every parser bounds explicitly
        // (query strings, the query DSL, regexes): a margin, never the bound itself.
        .thread_stack_size(8 << 20)
        .build()
        .context("cannot start the async runtime")?;
    // The one place the AWS credential chains are built, from the environment read at start.
    let credentials = Arc::new(AwsCredentials::from_env(env));
    runtime.block_on(serve(Arc::new(config), credentials))
}

async fn serve(config: Arc<Config>, credentials: Arc<AwsCredentials>) -> anyhow::Result<()> {
    if let Some(problem) = hydrant_config::exposure_problem(
        config.listen,
        config.http.tls.is_some(),
        config.auth.required(),
        config.http.allow_insecure_remote,
    ) {
        anyhow::bail!(problem);
    }
    let tls = config
        .http
        .tls
        .as_ref()
        .map(crate::tls::server_config)
        .transpose()?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    let indices = config.indices_dir();
    let catalog = Arc::new(
        tokio::task::spawn_blocking(move || Catalog::open(&indices))
            .await?
            .context("cannot open the indices")?,
    );
    let pipeline = Pipeline::open(config.clone(), catalog.clone(), credentials)
        .await
        .context("cannot open the streams")?;
    let security = match config.auth.users.is_empty() {
        true => None,
        false => Some(
            Security::open(
                config.auth.users.clone(),
                &config.data_dir,
                config.auth.sigv4.is_some(),
            )
            .context("cannot open the API key store")?,
        ),
    };
    let app = app(&config, catalog, pipeline.clone(), security)
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let listener = std::net::TcpListener::bind(config.listen)
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    let data_dir = std::fs::canonicalize(&config.data_dir).unwrap_or(config.data_dir.clone());
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(listen = %local, data_dir = %data_dir.display(), "hydrant is listening on {scheme}://{local}, data in {}", data_dir.display());
    match tls {
        None => axum::serve(tokio::net::TcpListener::from_std(listener)?, app)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("HTTP server failed")?,
        Some(tls) => {
            let handle = axum_server::Handle::new();
            let stopper = handle.clone();
            tokio::spawn(async move {
                shutdown_signal().await;
                stopper.graceful_shutdown(Some(std::time::Duration::from_secs(30)));
            });
            axum_server::from_tcp_rustls(
                listener,
                axum_server::tls_rustls::RustlsConfig::from_config(tls),
            )?
            .handle(handle)
            .serve(app)
            .await
            .context("HTTPS server failed")?;
        }
    }
    tracing::info!("shutting down: flushing buffers");
    pipeline.shutdown().await;
    tracing::info!("shutdown complete");
    Ok(())
}

/// Every route of the process, with the headers and logging all responses share.
pub fn app(
    config: &Config,
    catalog: Arc<Catalog>,
    pipeline: Arc<Pipeline>,
    security: Option<Arc<Security>>,
) -> Router {
    let request_cache = Arc::new(hydrant_query::RequestCache::from_config(&config.query));
    let cache_metrics = request_cache.clone();
    let ingest = hydrant_ingest::router(IngestState {
        pipeline,
        limits: BodyLimits {
            max_body: config.http.max_body_size,
            max_decompressed: config.http.max_decompressed_size,
        },
        max_record_size: config.ingest.max_record_size,
        destructive_requires_name: config.ingest.destructive_requires_name,
        // `_delete_by_query`: the search room finds, the ingest room deletes.
        matcher: Some(Arc::new(|indices, query, max| {
            hydrant_query::matching_docs(indices, query, max).map_err(|e| {
                hydrant_ingest::MatchError {
                    status: e.status().as_u16(),
                    es_type: e.es_type(),
                    reason: e.to_string(),
                }
            })
        })),
        tasks: Default::default(),
        more_metrics: Some(Arc::new(move || cache_metrics.metrics_text())),
    });
    let query = hydrant_query::router(QueryState {
        catalog,
        node_name: "hydrant".to_string(),
        max_body: config.http.max_body_size,
        limits: config.query.clone(),
        request_cache,
    });
    let ui = hydrant_ui::router(Arc::new(hydrant_ui::DashboardStore::new(&config.data_dir)));
    let api = query
        .merge(ingest)
        .merge(ui)
        .merge(
            security
                .clone()
                .map(hydrant_security::router)
                .unwrap_or_default(),
        )
        .fallback(no_handler)
        .method_not_allowed_fallback(wrong_method);
    // `[auth.sigv4]`: every request must carry a valid SigV4 signature, as on a managed domain.
    let api = match &config.auth.sigv4 {
        Some(auth) => {
            tracing::info!(region = %auth.region, service = auth.service.as_str(), keys = auth.keys.len(), "SigV4 verification is on");
            let policy = hydrant_sigproxy::verify::Policy::from_config(auth);
            hydrant_sigproxy::verify::Verifier::new(policy, config.http.max_body_size).protect(api)
        }
        None => api,
    };
    // `[auth.users]`: every request signs in (password or API key) and needs the role of its
    // API; outermost, so that SigV4 verification only sees requests signed that way.
    let api = match security {
        Some(security) => {
            tracing::info!(users = config.auth.users.len(), "user authentication is on");
            api.layer(axum::middleware::from_fn_with_state(
                hydrant_security::layer::Guard {
                    security,
                    failures: Arc::default(),
                },
                hydrant_security::layer::authenticate,
            ))
        }
        None => api,
    };
    let timeout = config.http.request_timeout;
    api
        // `filter_path` and `pretty`, on every JSON answer (errors of the layers above too).
        .layer(axum::middleware::from_fn(hydrant_http::response_params))
        // No request holds a connection past `http.request_timeout`; the answer is an ES error
        // body like every other refusal.
        .layer(
            tower::ServiceBuilder::new()
                .layer(axum::error_handling::HandleErrorLayer::new(
                    move |e: tower::BoxError| async move { timeout_answer(e, timeout) },
                ))
                .timeout(timeout),
        )
        // A browser opening `/` gets the UI; API clients keep getting Elasticsearch's answer.
        .layer(axum::middleware::from_fn(hydrant_ui::redirect_browsers))
        // A bug that panics in a handler costs that request a 500 in ES's shape, not the
        // connection (panics in searches already come back as errors from the blocking pool).
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_answer,
        ))
        // Elasticsearch clients refuse servers that do not identify as Elasticsearch.
        .layer(SetResponseHeaderLayer::overriding(
            axum::http::HeaderName::from_static("x-elastic-product"),
            HeaderValue::from_static("Elasticsearch"),
        ))
        // How long the server took, to the microsecond, on every answer.
        .layer(axum::middleware::from_fn(hydrant_http::server_timing))
        .layer(TraceLayer::new_for_http())
}

/// The answer to a request that ran past `http.request_timeout` (or failed in a layer).
fn timeout_answer(e: tower::BoxError, limit: std::time::Duration) -> axum::response::Response {
    if e.is::<tower::timeout::error::Elapsed>() {
        return es_error(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            "timeout_exception",
            format!(
                "the request did not complete within {} (http.request_timeout)",
                hydrant_config::show_duration(limit)
            ),
        );
    }
    tracing::error!(error = %e, "a request failed in a middleware layer");
    es_error(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        "exception",
        "the server failed while handling this request; the error is logged".to_string(),
    )
}

/// The answer to a request whose handler panicked; the panic is logged with its message.
fn panic_answer(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "a request handler panicked");
    es_error(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        "exception",
        "the server failed while handling this request; the error is logged".to_string(),
    )
}

/// Elasticsearch's answer to a path no API serves: the message as the whole `error`, a string
/// (its `RestController` writes it so, unlike its other errors; OpenSearch too).
async fn no_handler(method: axum::http::Method, uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    let body = serde_json::json!({
        "error": format!("no handler found for uri [{uri}] and method [{method}]"),
        "status": 400,
    });
    (axum::http::StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

/// Elasticsearch's answer to a known path with a method it does not take.
async fn wrong_method(
    method: axum::http::Method,
    uri: axum::http::Uri,
) -> axum::response::Response {
    let reason = format!("Incorrect HTTP method for uri [{uri}] and method [{method}]");
    es_error(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed_exception",
        reason,
    )
}

fn es_error(
    status: axum::http::StatusCode,
    kind: &str,
    reason: String,
) -> axum::response::Response {
    hydrant_http::es_error(status, kind, &reason)
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
