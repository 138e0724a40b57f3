//! Command-line interface definitions.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Hydrant: ship logs in (NDJSON, Elasticsearch _bulk, Firehose), search them with
/// Elasticsearch clients and dashboards — on one laptop, no cloud account.
#[derive(Debug, Parser)]
#[command(name = "hydrant", version, about, long_about = None, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

const EXAMPLES: &str = "\
Examples:
  hydrant serve                                  # 127.0.0.1:9200, data in ./hydrant-data
  hydrant serve --config hydrant.toml --listen 127.0.0.1:9300
  hydrant config check hydrant.toml              # every problem, or the effective config
  hydrant sigproxy --endpoint search-logs-abc.eu-west-1.es.amazonaws.com

  curl -XPOST localhost:9200/v1/streams/web/records -H 'content-type: text/plain' \\
       --data-binary @access.log
  curl 'localhost:9200/web/_search?q=status:404&size=5'";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the pipeline: ingest and search APIs on one HTTP port.
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),
    /// Sign requests with AWS SigV4 for a managed Elasticsearch/OpenSearch domain: unsigned
    /// clients (browser Kibana/Dashboards, Grafana, curl) use http://127.0.0.1:9201.
    #[command(after_help = SIGPROXY_EXAMPLES)]
    Sigproxy(crate::sigproxy_cmd::SigproxyArgs),
    /// Size a cluster from a data pattern (AWS's sizing formulas), and show Hydrant's own plan.
    Size(crate::size_cmd::SizeArgs),
    /// Send realistic log traffic to a running Hydrant and report what happened.
    Loadgen(crate::loadgen_cmd::LoadgenArgs),
    /// Work with configuration files.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Users and passwords for `[auth.users]`.
    Auth {
        #[command(subcommand)]
        command: AuthCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Hash a password (read from standard input, one line) for `[auth.users.NAME]
    /// password_hash`: an Argon2id PHC string. The password itself never goes in the file.
    #[command(after_help = "Example:\n  printf '%s' 's3cret' | hydrant auth hash-password")]
    HashPassword,
}

const SERVE_EXAMPLES: &str = "\
Examples:
  hydrant serve
  hydrant serve --data-dir /var/lib/hydrant --listen 0.0.0.0:9200   # needs [http.tls] and [auth.users]
  HYDRANT_DEFAULTS__BUFFER_INTERVAL=5s hydrant serve --config hydrant.toml

Environment:
  HYDRANT_<KEY>      overrides a config key, e.g. HYDRANT_DEFAULTS__BUFFER_SIZE=4MiB
  HYDRANT_LOG        log filter (default: info)
  HYDRANT_LOG_FORMAT json for JSON log lines";

const SIGPROXY_EXAMPLES: &str = "\
Examples:
  hydrant sigproxy --endpoint https://search-logs-abc123.eu-west-1.es.amazonaws.com
  # then browse http://127.0.0.1:9201/_plugin/kibana/ (or /_dashboards/ on OpenSearch)
  hydrant sigproxy --endpoint abc123.us-east-1.aoss.amazonaws.com --profile analytics
  hydrant sigproxy --endpoint https://localhost:8443 --region eu-west-1 \\
                   --sign-host vpc-logs-abc123.eu-west-1.es.amazonaws.com   # through a tunnel
  HYDRANT_SIGPROXY__BASIC_AUTH=kibana:s3cret hydrant sigproxy --endpoint ... \\
                   --listen 0.0.0.0:9201 --allow-remote
  curl -s localhost:9201/_sigproxy/health            # credentials loaded? expiry?

Credentials come from the standard AWS chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY
(/AWS_SESSION_TOKEN), ~/.aws/credentials and ~/.aws/config with --profile (role_arn +
source_profile, credential_process, SSO), web identity (AWS_WEB_IDENTITY_TOKEN_FILE), ECS
and EC2 instance metadata. They are refreshed before they expire; an edited credentials
file is used from the next request on.";

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Configuration file (TOML); built-in defaults when absent.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on (overrides `listen`).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Data directory (overrides `data_dir`).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a config file: print every problem and exit 1, or print the effective
    /// configuration (all defaults filled in) and exit 0.
    #[command(after_help = "Example:\n  hydrant config check hydrant.example.toml")]
    Check {
        /// The file to check.
        file: PathBuf,
    },
}
