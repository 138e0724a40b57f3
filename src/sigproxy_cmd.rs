//! `hydrant sigproxy`: the local SigV4 signing proxy. Reads `[sigproxy]` from the config file,
//! applies the command-line flags on top, builds the AWS credential chain and serves until
//! SIGINT/SIGTERM.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use std::time::Duration;

use anyhow::Context;
use clap::Args;
use hydrant_config::{Config, SecretText, SigningService, SigproxyConfig};
use hydrant_sigproxy::credentials::AwsCredentials;
use hydrant_sigproxy::proxy::{self, ProxySettings, ProxyState};

use crate::serve::shutdown_signal;

#[derive(Debug, Args)]
pub struct SigproxyArgs {
    /// Configuration file (TOML) with a `[sigproxy]` table; flags override its keys.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The domain or collection endpoint, with or without https://.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Address to listen on [default: 127.0.0.1:9201].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Signing region [default: inferred from the endpoint host].
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Signing service [default: inferred from the endpoint host, else es].
    #[arg(long, value_name = "SERVICE", value_parser = ["es", "aoss"])]
    pub service: Option<String>,
    /// AWS profile from ~/.aws/config and ~/.aws/credentials [default: AWS_PROFILE, else default].
    #[arg(long, value_name = "PROFILE")]
    pub profile: Option<String>,
    /// Host to sign and send instead of the endpoint's (an SSH tunnel, a custom domain).
    #[arg(long, value_name = "HOST")]
    pub sign_host: Option<String>,
    /// Allow a non-loopback --listen address (needs --basic-auth too).
    #[arg(long)]
    pub allow_remote: bool,
    /// USER:PASSWORD that clients must send. Visible to other local users in the process list:
    /// prefer HYDRANT_SIGPROXY__BASIC_AUTH.
    #[arg(long, value_name = "USER:PASSWORD")]
    pub basic_auth: Option<String>,
    /// Largest request body forwarded, e.g. 100MiB (larger ones get 413).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_body_size: Option<u64>,
    /// How long connecting to the endpoint may take, e.g. 10s (then 504).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub connect_timeout: Option<Duration>,
    /// How long the endpoint may take to answer, e.g. 2m (then 504).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub request_timeout: Option<Duration>,
}

fn parse_size(text: &str) -> Result<u64, String> {
    hydrant_config::parse_size_str(text)
        .ok_or_else(|| format!("not a size such as 100MiB: `{text}`"))
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    hydrant_config::parse_duration_str(text)
        .ok_or_else(|| format!("not a duration such as 10s or 2m: `{text}`"))
}

/// The `[sigproxy]` table with the flags applied.
fn merged(args: SigproxyArgs, env: &BTreeMap<String, String>) -> anyhow::Result<SigproxyConfig> {
    let config = match &args.config {
        Some(path) => Config::load(path, env)?,
        None => Config::parse("", env)?,
    };
    let mut c = config.sigproxy;
    if let Some(v) = args.endpoint {
        c.endpoint = v;
    }
    if let Some(v) = args.listen {
        c.listen = v;
    }
    if let Some(v) = args.region {
        c.region = v;
    }
    if let Some(v) = args.service {
        c.service = Some(if v == "aoss" {
            SigningService::Aoss
        } else {
            SigningService::Es
        });
    }
    if let Some(v) = args.profile {
        c.profile = v;
    }
    if let Some(v) = args.sign_host {
        c.sign_host = v;
    }
    c.allow_remote |= args.allow_remote;
    if let Some(v) = args.basic_auth {
        anyhow::ensure!(
            v.split_once(':').is_some_and(|(user, _)| !user.is_empty()),
            "--basic-auth must be USER:PASSWORD with a non-empty user"
        );
        c.basic_auth = Some(SecretText::new(v));
    }
    if let Some(v) = args.max_body_size {
        c.max_body_size = v;
    }
    if let Some(v) = args.connect_timeout {
        c.connect_timeout = v;
    }
    if let Some(v) = args.request_timeout {
        c.request_timeout = v;
    }
    Ok(c)
}

pub fn run(args: SigproxyArgs, env: &BTreeMap<String, String>) -> anyhow::Result<()> {
    let settings = ProxySettings::from_config(&merged(args, env)?)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("sigproxy")
        .build()
        .context("cannot start the async runtime")?;
    let chains = AwsCredentials::from_env(env);
    runtime.block_on(serve(settings, chains))
}

async fn serve(settings: ProxySettings, chains: AwsCredentials) -> anyhow::Result<()> {
    let credentials = chains.chain(settings.profile.as_deref(), Some(&settings.region));
    // Load once up front so that a missing profile shows at start, not at the first request.
    match credentials.credentials().await {
        Ok(_) => {
            let status = credentials.status();
            tracing::info!(
                access_key_id = status.access_key_id.as_deref().unwrap_or(""),
                expires_at = status.expires_at.as_deref().unwrap_or("never"),
                "AWS credentials loaded"
            );
        }
        Err(e) => tracing::warn!("{e}; requests get 502 until credentials can be loaded"),
    }
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let local = listener.local_addr()?;
    let endpoint = settings.endpoint.base_url();
    tracing::info!(
        listen = %local,
        endpoint = %endpoint,
        region = %settings.region,
        service = settings.service.as_str(),
        "sigproxy is listening on http://{local}, signing for {endpoint}"
    );
    let state = ProxyState::new(settings, credentials)?;
    proxy::serve(listener, state, shutdown_signal())
        .await
        .context("HTTP server failed")?;
    tracing::info!("sigproxy stopped");
    Ok(())
}
