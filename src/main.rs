//! The `hydrant` command: a log analytics pipeline in one process.
//!
//! Subcommands wire the rooms together: `serve` merges the ingest and query routers and runs
//! the pipeline; `sigproxy` runs the SigV4 signing proxy; `config check` validates a
//! configuration file.

mod cli;
mod loadgen_cmd;
mod serve;
mod sigproxy_cmd;
mod size_cmd;
mod tls;

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::Parser;

use cli::{AuthCommand, Cli, Command, ConfigCommand};

/// mimalloc instead of the system allocator: indexing allocates and frees many small buffers
/// per document on several threads, where glibc's malloc costs measurably more (see
/// BENCHMARKS.md). Its default purge delay (10 ms) is kept: purging freed memory at once cost
/// 6 % more CPU per record in page zeroing and TLB shootdowns, and the memory bound holds
/// without it (bench/memory.sh: 280 MiB peak against 320).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args, &env),
        Command::Sigproxy(args) => sigproxy_cmd::run(args, &env),
        Command::Loadgen(args) => loadgen_cmd::run(args, &env),
        Command::Size(args) => size_cmd::run(args),
        Command::Config {
            command: ConfigCommand::Check { file },
        } => return config_check(&file, &env),
        Command::Auth {
            command: AuthCommand::HashPassword,
        } => hash_password(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Writes to stdout; a closed pipe (`hydrant size | head`) is not an error.
pub fn print_out(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HYDRANT_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,tantivy=warn,aws_config=warn")
    });
    let json = std::env::var("HYDRANT_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn config_check(file: &std::path::Path, env: &BTreeMap<String, String>) -> ExitCode {
    match hydrant_config::Config::load(file, env) {
        Ok(config) => {
            print!("{}", config.to_toml());
            ExitCode::SUCCESS
        }
        Err(e) => {
            let problems = e.problems();
            eprintln!(
                "{} has {} problem{}:",
                file.display(),
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            );
            for p in problems {
                eprintln!("  - {p}");
            }
            ExitCode::FAILURE
        }
    }
}

/// `hydrant auth hash-password`: one line from standard input, its Argon2id hash on standard
/// output.
fn hash_password() -> anyhow::Result<()> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let password = line.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        anyhow::bail!("no password on standard input");
    }
    println!("{}", hydrant_security::hash_password(password)?);
    Ok(())
}
