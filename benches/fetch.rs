//! One full fetch of 10,000 agents over 500 routing profiles from the simulator: calls, wall
//! time against the rate limit's floor (calls ÷ rate), and the fetching side's peak heap.
//!
//! Run with `cargo bench --bench fetch` (release) or `cargo bench --bench fetch --profile dev`.
//! The simulator runs in this process on its own threads, whose allocations are not counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_connect::config::Credentials;
use connect_pulse::connect::sdk::{ConnectSource, ConnectSourceConfig};
use connect_pulse::connect::{AgentScope, AgentSource};
use connect_sim::{GeneratorConfig, RateLimit, Sim, SimConfig};
use tokio::time::Instant;

const AGENTS: usize = 10_000;
const ROUTING_PROFILES: usize = 500;

/// Counts the heap of every thread that is not the simulator's.
struct CountingAllocator;

static CURRENT: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    static SIMULATOR_THREAD: Cell<bool> = const { Cell::new(false) };
}

fn counted() -> bool {
    !SIMULATOR_THREAD.try_with(Cell::get).unwrap_or(true)
}

fn grow(bytes: usize) {
    let now = CURRENT.fetch_add(bytes as isize, Ordering::Relaxed) + bytes as isize;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

fn shrink(bytes: usize) {
    CURRENT.fetch_sub(bytes as isize, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() && counted() {
            grow(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        if counted() {
            shrink(layout.size());
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() && counted() {
            shrink(layout.size());
            grow(new_size);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Starts a simulator on its own runtime and threads.
fn start_simulator(user_data_rate: Option<RateLimit>) -> (SocketAddr, Sim) {
    let (ready, address) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        SIMULATOR_THREAD.set(true);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .on_thread_start(|| SIMULATOR_THREAD.set(true))
            .build()
            .expect("simulator runtime");
        runtime.block_on(async move {
            let centre = GeneratorConfig {
                agents: AGENTS,
                routing_profiles: ROUTING_PROFILES,
                queues: 100,
                hierarchy_groups: 20,
                logged_in_share: 1.0,
                ..Default::default()
            };
            let sim = Sim::generated(
                centre,
                SimConfig { instance_id: Some("bench".into()), user_data_rate, ..Default::default() },
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
            ready.send((listener.local_addr().expect("bound"), sim.clone())).expect("bench waits");
            connect_sim::serve(listener, sim).await.expect("simulator serves");
        });
    });
    address.recv().expect("simulator started")
}

/// Peak resident memory of the whole process (simulator included), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn mib(bytes: isize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

async fn run(label: &str, calls_per_second: Option<u32>) {
    let sim_rate =
        calls_per_second.map(|rate| RateLimit { per_second: rate as f64, burst: RateLimit::CONNECT_USER_DATA.burst });
    let (address, sim) = start_simulator(sim_rate);

    let sdk_config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(format!("http://{address}"))
        .credentials_provider(Credentials::new("bench", "bench", None, None, "static"))
        .load()
        .await;
    let client_rate = NonZeroU32::new(calls_per_second.unwrap_or(100_000)).expect("a rate above zero");
    let config = ConnectSourceConfig {
        max_calls_per_second: client_rate,
        ..ConnectSourceConfig::new("bench", AgentScope::AllRoutingProfiles)
    };
    let source = ConnectSource::new(&aws_sdk_connect::Client::new(&sdk_config), config);

    let before = CURRENT.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let started = Instant::now();
    let fetch = source.fetch(Instant::now() + Duration::from_secs(600)).await.expect("a snapshot");
    let wall = started.elapsed().as_secs_f64();
    let peak = PEAK.load(Ordering::Relaxed) - before;
    let retained = CURRENT.load(Ordering::Relaxed) - before;

    let stats = &fetch.stats;
    let floor = calls_per_second.map(|rate| f64::from(stats.calls) / f64::from(rate));
    println!(
        "| {label} | {} | {} | {} | {} | {} | {:.2} s | {} | {:.1} MiB | {:.1} MiB | {} |",
        fetch.snapshot.agents.len(),
        stats.list_calls,
        stats.calls,
        stats.pages,
        stats.throttled_retries,
        wall,
        floor.map_or("–".to_owned(), |f| format!("{f:.2} s")),
        mib(peak),
        mib(retained),
        sim.stats().user_data_requests,
    );
    assert!(fetch.snapshot.is_complete(), "the benchmark fetch must be complete");
}

fn main() {
    // `cargo test --benches` runs bench targets too; the full fetch is only worth it under `cargo bench`.
    if !std::env::args().any(|arg| arg == "--bench") {
        println!("fetch benchmark skipped (run it with `cargo bench --bench fetch`)");
        return;
    }

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    println!("Full fetch of {AGENTS} agents over {ROUTING_PROFILES} routing profiles (all logged in), scope all-routing-profiles");
    println!();
    println!("| rate (calls/s) | agents | list calls | user-data calls | pages | throttled retries | wall | floor (calls ÷ rate) | peak heap | snapshot heap | calls seen by the simulator |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    runtime.block_on(async {
        run("2 (Connect default)", Some(2)).await;
        run("20 (raised quota)", Some(20)).await;
        run("unlimited", None).await;
    });
    if let Some(rss) = peak_rss_mib() {
        println!();
        println!("peak RSS of the whole process (simulator included): {rss:.0} MiB");
    }
}
