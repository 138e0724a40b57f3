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

  curl -XPOST localhost:9200/v1/streams/web/records -H 'content-type: text/plain' \\
       --data-binary @access.log
  curl 'localhost:9200/web/_search?q=status:404&size=5'";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the pipeline: ingest and search APIs on one HTTP port.
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),
    /// Work with configuration files.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

const SERVE_EXAMPLES: &str = "\
Examples:
  hydrant serve
  hydrant serve --data-dir /var/lib/hydrant --listen 0.0.0.0:9200
  HYDRANT_DEFAULTS__BUFFER_INTERVAL=5s hydrant serve --config hydrant.toml

Environment:
  HYDRANT_<KEY>      overrides a config key, e.g. HYDRANT_DEFAULTS__BUFFER_SIZE=4MiB
  HYDRANT_LOG        log filter (default: info)
  HYDRANT_LOG_FORMAT json for JSON log lines";

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
