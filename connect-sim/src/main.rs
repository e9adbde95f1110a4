//! The `connect-sim` command: serves a scenario file or a generated contact centre on a local port.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use connect_sim::{GeneratorConfig, RateLimit, Scenario, Sim, SimConfig};
use tracing_subscriber::EnvFilter;

/// A local Amazon Connect for GetCurrentUserData and the list calls, on the real REST-JSON wire.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on; 0 picks a free one (the address is printed).
    #[arg(long, default_value_t = 4570)]
    port: u16,
    /// Instance id served; overrides the scenario's `instanceId`.
    #[arg(long)]
    instance_id: Option<String>,

    /// Scenario file (JSON); without it the generator runs.
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Generator: number of agents.
    #[arg(long, default_value_t = 50)]
    agents: usize,
    /// Generator: number of routing profiles.
    #[arg(long, default_value_t = 6)]
    routing_profiles: usize,
    /// Generator: number of queues.
    #[arg(long, default_value_t = 4)]
    queues: usize,
    /// Generator: number of hierarchy groups.
    #[arg(long, default_value_t = 3)]
    hierarchy_groups: usize,
    /// Generator: share of agents logged in at the start, 0 to 1.
    #[arg(long, default_value_t = 0.8)]
    logged_in_share: f64,
    /// Generator: simulated seconds between frames.
    #[arg(long, default_value_t = 60.0)]
    frame_seconds: f64,
    /// Seed of the generator and of injected failures.
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// GetCurrentUserData requests per second before ThrottlingException; 0 turns throttling off.
    #[arg(long, default_value_t = RateLimit::CONNECT_USER_DATA.per_second)]
    rate: f64,
    /// GetCurrentUserData burst (bucket size).
    #[arg(long, default_value_t = RateLimit::CONNECT_USER_DATA.burst)]
    burst: u32,
    /// List* requests per second; 0 turns their throttling off.
    #[arg(long, default_value_t = RateLimit::CONNECT_LIST.per_second)]
    list_rate: f64,
    /// Share of GetCurrentUserData requests answered with InternalServiceException, 0 to 1.
    #[arg(long, default_value_t = 0.0)]
    fail_rate: f64,
    /// Filter ids (comma-separated) whose GetCurrentUserData requests always fail with 500.
    #[arg(long, value_delimiter = ',')]
    fail_ids: Vec<String>,
    /// At most this many agents per page, whatever MaxResults asks for.
    #[arg(long)]
    page_size_cap: Option<usize>,
    /// Move to the next frame after this many complete passes over the instance
    /// (otherwise only `POST /sim/advance` moves it).
    #[arg(long)]
    advance_after_passes: Option<u32>,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();

    let limit = |per_second: f64, burst: u32| (per_second > 0.0).then_some(RateLimit { per_second, burst });
    let config = SimConfig {
        instance_id: args.instance_id.clone(),
        user_data_rate: limit(args.rate, args.burst),
        list_rate: limit(args.list_rate, RateLimit::CONNECT_LIST.burst),
        fail_rate: args.fail_rate,
        fail_ids: args.fail_ids.iter().cloned().collect::<BTreeSet<_>>(),
        page_size_cap: args.page_size_cap,
        advance_after_passes: args.advance_after_passes,
        seed: args.seed,
    };

    let sim = match &args.scenario {
        Some(path) => match Scenario::load(path).and_then(|scenario| Sim::from_scenario(&scenario, config)) {
            Ok(sim) => sim,
            Err(error) => {
                eprintln!("connect-sim: scenario {}: {error}", path.display());
                return ExitCode::FAILURE;
            }
        },
        None => Sim::generated(
            GeneratorConfig {
                agents: args.agents,
                routing_profiles: args.routing_profiles,
                queues: args.queues,
                hierarchy_groups: args.hierarchy_groups,
                seed: args.seed,
                logged_in_share: args.logged_in_share,
                frame_seconds: args.frame_seconds,
            },
            config,
        ),
    };

    let listener = match tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("connect-sim: cannot listen on {}:{}: {error}", args.host, args.port);
            return ExitCode::FAILURE;
        }
    };
    let address = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    let directory = sim.directory();
    tracing::info!(
        address,
        instance_id = sim.instance_id(),
        routing_profiles = directory.routing_profiles.len(),
        queues = directory.queues.len(),
        users = directory.users.len(),
        "connect-sim listening"
    );
    println!("http://{address}");

    tokio::spawn(report_counts(sim.clone()));
    tokio::select! {
        served = connect_sim::serve(listener, sim.clone()) => {
            if let Err(error) = served {
                eprintln!("connect-sim: {error}");
                return ExitCode::FAILURE;
            }
        }
        _ = stop_requested() => {}
    }
    tracing::info!(stats = ?sim.stats(), "connect-sim stopped");
    ExitCode::SUCCESS
}

/// Ctrl-C, or SIGTERM from a script that started the simulator in the background.
async fn stop_requested() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Logs the request counts every ten seconds while they change.
async fn report_counts(sim: Sim) {
    let mut last = sim.stats();
    let mut ticks = tokio::time::interval(Duration::from_secs(10));
    loop {
        ticks.tick().await;
        let info = sim.frame_info();
        if info.stats != last {
            let stats = &info.stats;
            tracing::info!(
                frame = info.frame,
                user_data_requests = stats.user_data_requests,
                pages = stats.user_data_pages,
                throttled = stats.throttled,
                injected_failures = stats.injected_failures,
                client_errors = stats.client_errors,
                list_requests = stats.list_requests,
                passes = stats.passes,
                "requests so far"
            );
            last = info.stats;
        }
    }
}
