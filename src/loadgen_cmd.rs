//! `hydrant loadgen`: realistic log traffic against a running Hydrant, over HTTP only.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use hydrant_loadgen::{Generated, Generator, LoadConfig, LogFormat, Protocol, TimeSpread};
use hydrant_sigproxy::Signer;
use hydrant_sigproxy::credentials::AwsCredentials;

const EXAMPLES: &str = "\
Examples:
  hydrant loadgen --count 100000 --verify
  hydrant loadgen --protocol bulk --format apache --parsed --duration 30s --rate 20000
  hydrant loadgen --protocol firehose --format alb --batch 500 --gzip --report-json report.json
  hydrant loadgen --format nginx --backfill 7d --count 1000000      # a week of history
  hydrant loadgen --replay tests/data/logs/elastic-examples/apache_logs --verify
  hydrant loadgen --format json --count 2000000 --emit data.ndjson   # write, do not send
  hydrant loadgen --protocol firehose --sigv4 --profile dev          # Hydrant with [auth.sigv4] keys";

/// Arguments of `hydrant loadgen`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct LoadgenArgs {
    /// Hydrant's base URL.
    #[arg(long, default_value = "http://127.0.0.1:9200")]
    target: String,
    /// Stream written to.
    #[arg(long, default_value = "loadgen")]
    stream: String,
    /// ndjson, bulk or firehose.
    #[arg(long, default_value = "ndjson")]
    protocol: String,
    /// apache, nginx, json or alb.
    #[arg(long, default_value = "json")]
    format: String,
    /// Send access logs (apache, nginx) as parsed JSON objects instead of text lines.
    #[arg(long)]
    parsed: bool,
    /// Records to send (default 100000 unless --duration is given).
    #[arg(long)]
    count: Option<u64>,
    /// How long to send, e.g. 30s or 5m.
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Target records per second (default: as fast as possible).
    #[arg(long)]
    rate: Option<f64>,
    /// Requests in flight.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Records per request (Firehose: at most 500).
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// gzip request bodies.
    #[arg(long)]
    gzip: bool,
    /// Afterwards, check with _count that every acknowledged record is searchable, once.
    #[arg(long)]
    verify: bool,
    /// Write the report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    report_json: Option<PathBuf>,
    /// Send the lines of this file instead of generated records.
    #[arg(long, value_name = "FILE")]
    replay: Option<PathBuf>,
    /// Generator seed (the same seed gives the same records).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Spread event times over this much recent history (a daily curve), e.g. 7d.
    #[arg(long, value_parser = parse_duration)]
    backfill: Option<Duration>,
    /// Write the records to this file instead of sending them.
    #[arg(long, value_name = "FILE")]
    emit: Option<PathBuf>,
    /// No progress line.
    #[arg(long)]
    quiet: bool,
    /// How long records the server refuses for now (429, Firehose's
    /// ServiceUnavailableException) are sent again, with backoff, before they count as refused;
    /// 0s: never.
    #[arg(long, value_parser = parse_duration, default_value = "5m")]
    retry_for: Duration,
    /// Sign every request with AWS SigV4, with credentials from the AWS chain (environment,
    /// shared files with --profile, web identity, container and instance metadata).
    #[arg(long)]
    sigv4: bool,
    /// SigV4 signing region.
    #[arg(long, default_value = "us-east-1", requires = "sigv4")]
    region: String,
    /// SigV4 signing service of the search, `_bulk` and NDJSON APIs. Firehose API calls are
    /// signed for `firehose`, as AWS SDKs sign them.
    #[arg(long, default_value = "es", requires = "sigv4")]
    service: String,
    /// Profile of the shared AWS config and credentials files.
    #[arg(long, requires = "sigv4")]
    profile: Option<String>,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    hydrant_config::parse_duration_str(s)
        .ok_or_else(|| format!("`{s}` is not a duration such as 30s or 5m"))
}

pub fn run(
    args: LoadgenArgs,
    env: &std::collections::BTreeMap<String, String>,
) -> anyhow::Result<()> {
    let Some(protocol) = Protocol::parse(&args.protocol) else {
        bail!(
            "--protocol must be ndjson, bulk or firehose, got `{}`",
            args.protocol
        );
    };
    let Some(format) = LogFormat::parse(&args.format) else {
        bail!(
            "--format must be apache, nginx, json or alb, got `{}`",
            args.format
        );
    };
    if args.concurrency == 0 || args.batch == 0 {
        bail!("--concurrency and --batch must be at least 1");
    }
    if protocol == Protocol::Firehose && args.batch > 500 {
        bail!(
            "--batch must be at most 500 with --protocol firehose (Firehose's limit), got {}",
            args.batch
        );
    }
    let spread = match args.backfill {
        None => TimeSpread::Live,
        Some(d) => {
            let end = chrono::Utc::now().timestamp_millis();
            TimeSpread::Range {
                start_ms: end - d.as_millis() as i64,
                end_ms: end,
            }
        }
    };
    if let Some(path) = &args.emit {
        return emit(
            path,
            format,
            args.parsed,
            args.seed,
            spread,
            args.count.unwrap_or(hydrant_loadgen::run::DEFAULT_COUNT),
        );
    }
    let sigv4 = if args.sigv4 {
        Some(signer(
            &args.target,
            &args.region,
            &args.service,
            args.profile.clone(),
            env,
        )?)
    } else {
        None
    };
    let cfg = LoadConfig {
        target: args.target.trim_end_matches('/').to_string(),
        stream: args.stream,
        protocol,
        format,
        parsed: args.parsed,
        count: args.count,
        duration: args.duration,
        rate: args.rate,
        concurrency: args.concurrency,
        batch: args.batch,
        gzip: args.gzip,
        verify: args.verify,
        seed: args.seed,
        spread,
        replay: args.replay,
        progress: !args.quiet,
        retry_for: args.retry_for,
        sigv4,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = runtime.block_on(hydrant_loadgen::run(cfg))?;
    print!("{report}");
    if let Some(path) = &args.report_json {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if report.lost.unwrap_or(0) > 0 || report.duplicated.unwrap_or(0) > 0 {
        bail!(
            "verification failed: {} lost, {} duplicated",
            report.lost.unwrap_or(0),
            report.duplicated.unwrap_or(0)
        );
    }
    Ok(())
}

/// A SigV4 signer for requests to `target` (signing its host and port as sent).
fn signer(
    target: &str,
    region: &str,
    service: &str,
    profile: Option<String>,
    env: &std::collections::BTreeMap<String, String>,
) -> anyhow::Result<hydrant_loadgen::Sigv4> {
    let uri: axum::http::Uri = target
        .parse()
        .with_context(|| format!("--target `{target}` is not a URL"))?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        bail!("--target `{target}` needs a scheme and a host, e.g. http://127.0.0.1:9200");
    };
    // What is signed is the host and the API path; a path prefix or user info in the target
    // would be sent but not signed.
    if !matches!(uri.path(), "" | "/") || authority.as_str().contains('@') {
        bail!("with --sigv4, --target must be scheme://host[:port] only, got `{target}`");
    }
    // The host header reqwest sends: the port only when it is not the scheme's default.
    let host = match (scheme, authority.port_u16()) {
        ("http", Some(80)) | ("https", Some(443)) => authority.host().to_string(),
        _ => authority.as_str().to_string(),
    };
    let chain = AwsCredentials::from_env(env).chain(profile.as_deref(), Some(region));
    let signer =
        |service: &str| Arc::new(Signer::new(chain.clone(), scheme, &host, region, service));
    Ok(hydrant_loadgen::Sigv4 {
        search: signer(service),
        firehose: signer("firehose"),
    })
}

fn emit(
    path: &PathBuf,
    format: LogFormat,
    parsed: bool,
    seed: u64,
    spread: TimeSpread,
    count: u64,
) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let g = Generator::new(format, parsed, seed, spread);
    let now = chrono::Utc::now().timestamp_millis();
    let mut bytes = 0u64;
    for i in 0..count {
        let r = g.record(i, now);
        let line = match &r {
            Generated::Text(t) | Generated::Json(t) => t,
        };
        bytes += line.len() as u64;
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    eprintln!(
        "wrote {count} records ({bytes} bytes, {:.0} bytes/record) to {}",
        bytes as f64 / count.max(1) as f64,
        path.display()
    );
    Ok(())
}
