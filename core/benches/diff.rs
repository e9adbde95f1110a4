//! How long one tick's work in the core takes for 1k, 10k and 100k logged-in agents: `diff` times
//! the diff alone, `tick` also building both snapshots from the agents the adapters received and
//! dropping them.
//!
//! Both snapshots are built the way the adapters build them, from agents whose values are each
//! their own allocation: the previous one as the store loads it (in id order), the current one from
//! agents in the order a fetch returns them, with repeated values shared and collected.

use std::hint::black_box;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use connect_pulse_core::diff::{diff, DiffSettings};
use connect_pulse_core::model::{
    Agent, AgentStatus, Agents, ArcStr, Channel, Contact, ContactState, HierarchyPath, InitiationMethod, Reference,
    Slots, Snapshot,
};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};

const INSTANCE_ID: &str = "4c7d8e2a-93b1-4f6e-a0d5-6b2f19c8e731";

/// A fixed pseudo-random sequence (splitmix64), so every run diffs the same snapshots.
fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn uuid(seed: u64) -> String {
    let (a, b) = (mix(seed), mix(seed ^ 0x5555));
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        a & 0xffff,
        (a >> 16) & 0xfff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

fn arn(kind: &str, id: &str) -> String {
    format!("arn:aws:connect:us-east-1:123456789012:instance/{INSTANCE_ID}/{kind}/{id}")
}

fn reference(kind: &str, seed: u64) -> Reference {
    let id = uuid(seed);
    Reference { arn: Some(arn(kind, &id)), id: Some(id) }
}

fn status(name: &str, started_at: DateTime<Utc>) -> AgentStatus {
    AgentStatus {
        name: Some(name.into()),
        arn: Some(arn("agent-state", &uuid(name.len() as u64)).into()),
        started_at: Some(started_at),
    }
}

fn contact(seed: u64, channel: Channel, state: ContactState, started_at: DateTime<Utc>) -> Contact {
    Contact {
        contact_id: uuid(seed).into(),
        channel: Some(channel),
        initiation_method: Some(InitiationMethod::Inbound),
        state: Some(state),
        state_started_at: Some(started_at),
        connected_to_agent_at: Some(started_at),
        queue: Some(Arc::new(reference("queue", 3000 + seed % 40))),
        observed_in_state_since: None,
    }
}

/// Slots as Connect derives them from the routing profile's concurrency and the open contacts.
fn fill_slots(agent: &mut Agent) {
    for (channel, max) in [(Channel::Voice, 1), (Channel::Chat, 3), (Channel::Task, 2)] {
        let active = agent.contacts.iter().filter(|c| c.channel.as_ref() == Some(&channel)).count() as u16;
        let active = active.min(max);
        agent.slots.insert(
            channel,
            Slots { available: Some(max - active), max: Some(max), active: Some(active), saturated_since: None },
        );
    }
}

/// A working agent: most are Available, half are idle, a third on a call, some chatting.
fn working_agent(n: u64, now: DateTime<Utc>) -> Agent {
    let roll = mix(n) % 100;
    let id = uuid(n);
    let mut agent = Agent {
        arn: Some(arn("agent", &id).into()),
        id: id.into(),
        routing_profile: Some(Arc::new(reference("routing-profile", 1000 + n % 20))),
        hierarchy_path: Arc::new(HierarchyPath {
            level_one: Some(reference("agent-group", 2000 + n % 5)),
            level_two: Some(reference("agent-group", 2100 + n % 25)),
            ..HierarchyPath::default()
        }),
        status: Some(status(
            if roll < 70 { "Available" } else { "Break" },
            now - Duration::minutes((roll % 50) as i64),
        )),
        ..Agent::default()
    };
    if (50..85).contains(&roll) {
        agent.contacts.push(contact(
            n * 8,
            Channel::Voice,
            ContactState::Connected,
            now - Duration::seconds(roll as i64),
        ));
    }
    if roll >= 85 {
        agent.contacts.push(contact(n * 8 + 1, Channel::Chat, ContactState::Connected, now - Duration::seconds(90)));
        agent.contacts.push(contact(n * 8 + 2, Channel::Chat, ContactState::Incoming, now - Duration::seconds(5)));
    }
    fill_slots(&mut agent);
    agent
}

/// One agent in twenty changes between ticks, in one of the ways a minute on the floor brings.
fn next_minute(agent: &mut Agent, n: u64, now: DateTime<Utc>) {
    match (n / 20) % 6 {
        0 => agent.status = Some(status("Lunch", now - Duration::seconds(20))),
        1 => agent.contacts.push(contact(n * 8 + 3, Channel::Chat, ContactState::Missed, now - Duration::seconds(12))),
        2 => agent.contacts.push(contact(
            n * 8 + 4,
            Channel::Voice,
            ContactState::Connecting,
            now - Duration::seconds(3),
        )),
        3 => {
            for seed in 5..8 {
                agent.contacts.push(contact(
                    n * 8 + seed,
                    Channel::Chat,
                    ContactState::Connected,
                    now - Duration::seconds(30),
                ));
            }
        }
        4 => agent.contacts.iter_mut().for_each(|c| c.state = Some(ContactState::Ended)),
        _ => agent.contacts.iter_mut().for_each(|c| c.state = Some(ContactState::ConnectedOnHold)),
    }
    fill_slots(agent);
}

/// The stored snapshot of the previous tick, and this tick's agents in the order a fetch returns
/// them (not by id), for `agents` agents.
fn tick(agents: u64) -> (Snapshot, Vec<Agent>) {
    let before = Utc.with_ymd_and_hms(2024, 12, 3, 10, 0, 0).unwrap();
    let now = before + Duration::minutes(1);

    let mut previous = Vec::new();
    let mut fetched = Vec::new();
    for n in 0..agents {
        let agent = working_agent(n, before);
        // One agent in five hundred logs out, another logs in.
        if n % 500 != 1 {
            let mut next = agent.clone();
            if n % 20 == 0 {
                next_minute(&mut next, n, now);
            }
            fetched.push(next);
        }
        if n % 500 != 2 {
            previous.push(agent);
        }
    }
    let settings = DiffSettings { source: "connect-pulse".into() };
    let stored = diff(None, snapshot(before, previous), &settings).snapshot;
    // Loaded back from the store: a query returns the agents in id order, and nothing they hold is
    // shared with the fetched agents.
    let loaded = snapshot(before, stored.agents.iter().map(as_converted).collect());
    (loaded, fetched)
}

/// A snapshot as the adapters build one: repeated values shared, collected (sorted by id).
fn snapshot(taken_at: DateTime<Utc>, agents: Vec<Agent>) -> Snapshot {
    let mut snapshot = Snapshot::new(INSTANCE_ID, taken_at);
    snapshot.agents = Agents::shared(agents);
    snapshot
}

fn bench_diff(c: &mut Criterion) {
    let settings = DiffSettings { source: "connect-pulse".into() };
    let mut group = c.benchmark_group("diff");
    for agents in [1_000u64, 10_000, 100_000] {
        let (previous, fetched) = tick(agents);
        let now = previous.taken_at + Duration::minutes(1);
        let events = diff(Some(&previous), snapshot(now, fetched.clone()), &settings).events.len();
        eprintln!("{agents} agents: {events} events per tick");

        group.throughput(Throughput::Elements(agents));
        group.bench_with_input(BenchmarkId::from_parameter(agents), &agents, |b, _| {
            b.iter_batched(
                || snapshot(now, fetched.clone()),
                |current| diff(black_box(Some(&previous)), current, &settings),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

/// Everything the core does on a tick: building the previous snapshot from the agents the store
/// loaded and the current one from the agents the fetch returned (sharing their repeated values,
/// collecting them by id), the diff, and dropping both.
fn bench_tick(c: &mut Criterion) {
    let settings = DiffSettings { source: "connect-pulse".into() };
    let mut group = c.benchmark_group("tick");
    for agents in [1_000u64, 10_000, 100_000] {
        let (stored, fetched) = tick(agents);
        let (before, now) = (stored.taken_at, stored.taken_at + Duration::minutes(1));
        // Each with values of its own, as the adapters convert them: loaded in id order, fetched in
        // the order the fetch returned them.
        let received = || -> (Vec<Agent>, Vec<Agent>) {
            (stored.agents.iter().map(as_converted).collect(), fetched.iter().map(as_converted).collect())
        };

        group.throughput(Throughput::Elements(agents));
        group.bench_with_input(BenchmarkId::from_parameter(agents), &agents, |b, _| {
            b.iter_custom(|iterations| {
                let mut elapsed = std::time::Duration::ZERO;
                for _ in 0..iterations {
                    let (loaded, fetched) = received();
                    let start = std::time::Instant::now();
                    let previous = snapshot(before, loaded);
                    let outcome = diff(black_box(Some(&previous)), snapshot(now, fetched), &settings);
                    drop(black_box(outcome));
                    drop(previous);
                    elapsed += start.elapsed();
                }
                elapsed
            })
        });
    }
    group.finish();
}

/// An agent as an adapter converts it from what it received: every text and reference an
/// allocation of its own.
fn as_converted(agent: &Agent) -> Agent {
    let own = |text: &Option<ArcStr>| text.as_deref().map(ArcStr::from);
    let mut agent = agent.clone();
    agent.arn = own(&agent.arn);
    if let Some(status) = &mut agent.status {
        status.name = own(&status.name);
        status.arn = own(&status.arn);
    }
    agent.next_status = own(&agent.next_status);
    agent.routing_profile = agent.routing_profile.as_deref().cloned().map(Arc::new);
    agent.hierarchy_path = Arc::new(HierarchyPath::clone(&agent.hierarchy_path));
    for contact in &mut agent.contacts {
        contact.queue = contact.queue.as_deref().cloned().map(Arc::new);
    }
    agent
}

criterion_group!(benches, bench_diff, bench_tick);
criterion_main!(benches);
