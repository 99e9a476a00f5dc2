//! The `vigil` binary: command-line parsing and the edge where library errors become `anyhow`.
//! It parses the command line and dispatches; each subcommand lives in its own file of `cli/`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use vigil::config;
use vigil::input::generator::GenOptions;

mod cli;

// The pipeline allocates and frees each batch's messages and output records; glibc's malloc
// returned those pages to the kernel and faulted them back in every batch (10 % of the drain
// profile). mimalloc keeps them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "vigil",
    version,
    about = "Early-warning event pipeline for atrocity prevention"
)]
struct Cli {
    /// Directory holding vigil.toml, taxonomy.toml, rules.toml and subscribers.toml.
    #[arg(
        long,
        global = true,
        default_value = "config",
        env = "VIGIL_CONFIG_DIR"
    )]
    config_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the streaming pipeline on `kafka.brokers`; with none configured, on an embedded
    /// in-process cluster fed with the bundled demo scenario. Prints each committed alert.
    Run {
        /// Embedded demo only: event-time seconds replayed per wall-clock second (0: at once).
        #[arg(long, default_value_t = 86_400.0)]
        speed: f64,
        /// Print alerts as JSON lines instead of readable lines.
        #[arg(long)]
        json: bool,
        /// Stop after this many input records are committed.
        #[arg(long)]
        max_records: Option<u64>,
        /// Also write each committed alert as a CAP 1.2 XML file into this directory.
        #[arg(long)]
        cap_dir: Option<PathBuf>,
        /// Also write each committed alert as an Alertmanager webhook payload (v4) JSON file here.
        #[arg(long)]
        alertmanager_dir: Option<PathBuf>,
    },
    /// Produce a file's reports (JSONL, ACLED or UCDP CSV) to the input topic, keyed by region.
    Replay {
        file: PathBuf,
        /// Records per second (default: as fast as possible).
        #[arg(long)]
        rate: Option<f64>,
    },
    /// Tag reports: JSONL (or ACLED/UCDP CSV) in, one JSON line per report out.
    Tag {
        /// Input file, or - for standard input.
        #[arg(default_value = "-")]
        file: String,
    },
    /// Run the whole core over a file of reports and write the alerts as JSON lines.
    Backtest {
        /// JSONL, ACLED CSV or UCDP GED CSV.
        file: PathBuf,
        /// Where to write alerts (default: standard output).
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Also write each alert as a CAP 1.2 XML file into this directory.
        #[arg(long)]
        cap_dir: Option<PathBuf>,
        /// Also write each alert as an Alertmanager webhook payload (v4) JSON file here.
        #[arg(long)]
        alertmanager_dir: Option<PathBuf>,
        /// Print at most this many rejected lines (all are counted).
        #[arg(long, default_value_t = 20)]
        show_rejects: usize,
    },
    /// Validate every configuration file; errors name file, line and field.
    CheckConfig,
    /// Delivery alone: alert records from the alerts topic to their subscribers (retries and a
    /// delivery DLQ in Kafka), and the CAP feeds served on `http.listen`.
    Deliver,
    /// Mute matching alerts for a period (with author and reason), list or end silences.
    Silence {
        #[command(subcommand)]
        action: SilenceAction,
    },
    /// Write deterministic synthetic reports as JSON lines.
    Gen {
        #[arg(long, default_value_t = 7)]
        seed: u64,
        #[arg(long, default_value_t = 1000)]
        count: usize,
        /// Number of regions (1-16).
        #[arg(long, default_value_t = 8)]
        regions: usize,
        /// Mean reports per hour of event time.
        #[arg(long, default_value_t = 12.0)]
        rate: f64,
        /// Share of reports carrying a threat.
        #[arg(long, default_value_t = 0.15)]
        threat_rate: f64,
        #[arg(long, default_value_t = 0.0)]
        late: f64,
        #[arg(long, default_value_t = 0.0)]
        duplicates: f64,
        #[arg(long, default_value_t = 0.0)]
        invalid: f64,
        /// Approximate report size in bytes.
        #[arg(long, default_value_t = 1000)]
        size: usize,
        /// Drive the first region through an escalating crisis.
        #[arg(long)]
        escalation: bool,
        /// The bundled demo scenario (overrides the other options).
        #[arg(long)]
        demo: bool,
        /// The demo scenario with COUNT hostile records (seeded by SEED) between its reports,
        /// keyed by their neighbours' regions: `vigil::input::hostile` lists the classes.
        #[arg(long, conflicts_with = "demo")]
        hostile: bool,
    },
    /// Measure the core's throughput on generated reports, against ripgrep over the same file.
    Bench {
        #[arg(long, default_value_t = 200_000)]
        count: usize,
        #[arg(long, default_value_t = 11)]
        seed: u64,
        /// Keep the generated file here (default: a temporary file).
        #[arg(long)]
        file: Option<PathBuf>,
        /// Instead: the delivery stage to ten local webhook receivers (README, "Delivery").
        #[arg(long)]
        delivery: bool,
        /// Delivery bench: alert records produced at once (throughput).
        #[arg(long, default_value_t = 5_000)]
        delivery_records: usize,
        /// Delivery bench: records per second for the latency phase.
        #[arg(long, default_value_t = 100)]
        delivery_rate: u64,
        /// Delivery bench: seconds of the latency phase.
        #[arg(long, default_value_t = 10)]
        delivery_seconds: u64,
        /// Instead: the desk's API and stream over a synthetic store (README, "Desk").
        #[arg(long, conflicts_with = "delivery")]
        desk: bool,
        /// Desk bench: alert records in the store.
        #[arg(long, default_value_t = 100_000)]
        desk_alerts: usize,
        /// Desk bench: tagged reports in the store.
        #[arg(long, default_value_t = 1_000_000)]
        desk_tagged: usize,
        /// Desk bench: concurrent API clients.
        #[arg(long, default_value_t = 50)]
        desk_clients: usize,
        /// Desk bench: seconds of each API phase.
        #[arg(long, default_value_t = 10)]
        desk_seconds: u64,
        /// Desk bench: requests per second of each API client (0: as fast as answered).
        #[arg(long, default_value_t = 4.0)]
        desk_rate: f64,
        /// Desk bench: clients of the live stream.
        #[arg(long, default_value_t = 1_000)]
        desk_stream_clients: usize,
        /// Desk bench: keep the store in this file, and reuse it when it exists.
        #[arg(long)]
        desk_store: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum SilenceAction {
    /// Add a silence; prints its id. At least one of --region, --signal, --rule.
    Add {
        /// Region code or glob (`NG-*`); repeatable.
        #[arg(long)]
        region: Vec<String>,
        /// Signal (`threat:abduction`); repeatable.
        #[arg(long)]
        signal: Vec<String>,
        /// Rule name; repeatable.
        #[arg(long)]
        rule: Vec<String>,
        /// When it starts (RFC 3339; default now).
        #[arg(long)]
        starts: Option<chrono::DateTime<chrono::Utc>>,
        /// How long it lasts (`2h`, `30m`, `3d`).
        #[arg(long)]
        duration: Option<humantime::Duration>,
        /// When it ends (RFC 3339), instead of --duration.
        #[arg(long)]
        until: Option<chrono::DateTime<chrono::Utc>>,
        /// Who adds it.
        #[arg(long)]
        author: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// List silences in force or to come (--all: also ended ones).
    List {
        #[arg(long)]
        all: bool,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// End a silence now.
    Expire {
        id: String,
        #[arg(long)]
        author: String,
    },
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // A reader that stopped reading (`vigil gen | head`) is the Unix end of a pipe, not an
        // error.
        Err(e) if is_broken_pipe(&e) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The whole chain on one line, without a backtrace (RUST_BACKTRACE is for panics).
            eprintln!("Error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Whether `e` comes from writing to a pipe whose reader has gone.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn run() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Gen {
            seed,
            count,
            regions,
            rate,
            threat_rate,
            late,
            duplicates,
            invalid,
            size,
            escalation,
            demo,
            hostile,
        } => {
            if hostile {
                let loaded = config::load(&cli.config_dir)
                    .context("configuration is invalid (see `vigil check-config`)")?;
                return cli::generate::run_hostile(&loaded, seed, count);
            }
            let opts = if demo {
                GenOptions::demo()
            } else {
                GenOptions {
                    seed,
                    count,
                    regions,
                    rate_per_hour: rate,
                    threat_rate,
                    late_fraction: late,
                    duplicate_fraction: duplicates,
                    invalid_fraction: invalid,
                    target_bytes: size,
                    escalation,
                    ..GenOptions::default()
                }
            };
            cli::generate::run(&opts)
        }
        Command::CheckConfig => cli::check_config::run(&cli.config_dir),
        command => {
            let loaded = config::load(&cli.config_dir)
                .context("configuration is invalid (see `vigil check-config`)")?;
            cli::init_logging(&loaded);
            match command {
                Command::Run {
                    speed,
                    json,
                    max_records,
                    cap_dir,
                    alertmanager_dir,
                } => cli::run::run(
                    loaded,
                    speed,
                    json,
                    max_records,
                    cli::Renderings {
                        cap_dir,
                        alertmanager_dir,
                    },
                ),
                Command::Deliver => cli::deliver::run(loaded),
                Command::Silence { action } => match action {
                    SilenceAction::Add {
                        region,
                        signal,
                        rule,
                        starts,
                        duration,
                        until,
                        author,
                        reason,
                    } => cli::silence::add(
                        &loaded,
                        cli::silence::NewSilence {
                            regions: region,
                            signals: signal,
                            rules: rule,
                            starts,
                            duration: duration.map(Into::into),
                            until,
                            author,
                            reason,
                        },
                    ),
                    SilenceAction::List { all, json } => cli::silence::list(&loaded, all, json),
                    SilenceAction::Expire { id, author } => {
                        cli::silence::expire(&loaded, &id, &author)
                    }
                },
                Command::Replay { file, rate } => cli::replay::run(&loaded, &file, rate),
                Command::Tag { file } => cli::tag::run(&loaded, &file),
                Command::Backtest {
                    file,
                    output,
                    cap_dir,
                    alertmanager_dir,
                    show_rejects,
                } => cli::backtest::run(
                    &loaded,
                    &file,
                    output.as_deref(),
                    cli::Renderings {
                        cap_dir,
                        alertmanager_dir,
                    },
                    show_rejects,
                ),
                Command::Bench {
                    desk: true,
                    desk_alerts,
                    desk_tagged,
                    desk_clients,
                    desk_seconds,
                    desk_rate,
                    desk_stream_clients,
                    desk_store,
                    ..
                } => cli::bench_desk::run(
                    &loaded,
                    cli::bench_desk::DeskBench {
                        alerts: desk_alerts,
                        tagged: desk_tagged,
                        clients: desk_clients,
                        seconds: desk_seconds,
                        rate: desk_rate,
                        stream_clients: desk_stream_clients,
                        store: desk_store,
                    },
                ),
                Command::Bench {
                    delivery: true,
                    delivery_records,
                    delivery_rate,
                    delivery_seconds,
                    ..
                } => cli::bench_delivery::run(
                    &loaded,
                    delivery_records,
                    delivery_rate,
                    delivery_seconds,
                ),
                Command::Bench {
                    count, seed, file, ..
                } => cli::bench::run(&loaded, count, seed, file),
                Command::Gen { .. } | Command::CheckConfig => unreachable!("handled above"),
            }
        }
    }
}
