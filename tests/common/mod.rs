//! Shared test fixtures for the diff: short snapshot builders and the published event schemas.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Duration, TimeZone, Utc};
use connect_pulse::diff::{diff, DiffSettings, Outcome};
use connect_pulse::events::{DetailType, Event};
use connect_pulse::model::{
    Agent, AgentStatus, Channel, Contact, ContactState, HierarchyPath, InitiationMethod, MissingChunk, Reference,
    Slots, SlotsByChannel, Snapshot,
};
use serde_json::Value;

pub const INSTANCE_ID: &str = "4c7d8e2a-93b1-4f6e-a0d5-6b2f19c8e731";
pub const SOURCE: &str = "connect-pulse";

fn instance_arn() -> String {
    format!("arn:aws:connect:us-east-1:123456789012:instance/{INSTANCE_ID}")
}

/// A moment of the test day, given as "HH:MM:SS" or "HH:MM:SS.mmm".
pub fn at(clock: &str) -> DateTime<Utc> {
    let (hms, millis) = clock.split_once('.').unwrap_or((clock, "0"));
    let mut parts = hms.split(':').map(|part| part.parse::<u32>().unwrap());
    let (h, m, s) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
    let millis: i64 = format!("{millis:0<3}").parse().unwrap();
    Utc.with_ymd_and_hms(2024, 12, 3, h, m, s).unwrap() + Duration::milliseconds(millis)
}

pub fn settings() -> DiffSettings {
    DiffSettings { source: SOURCE.into() }
}

/// A complete snapshot of the test instance.
pub fn snapshot(taken_at: &str, agents: impl IntoIterator<Item = Agent>) -> Snapshot {
    let mut snapshot = Snapshot::new(INSTANCE_ID, at(taken_at));
    snapshot.agents = agents.into_iter().collect();
    snapshot
}

/// A snapshot of which one routing-profile chunk could not be fetched.
pub fn partial_snapshot(taken_at: &str, agents: impl IntoIterator<Item = Agent>) -> Snapshot {
    let mut snapshot = snapshot(taken_at, agents);
    snapshot.missing.push(MissingChunk {
        filter: "RoutingProfiles".into(),
        ids: vec!["rp-night-shift".into()],
        error: "ThrottlingException".into(),
    });
    snapshot
}

pub fn status_arn(name: &str) -> String {
    format!("{}/agent-state/{}", instance_arn(), name.to_lowercase().replace(' ', "-"))
}

/// An agent in the "Available" status since 09:00, idle, one voice slot and two chat slots free.
pub fn agent(id: &str) -> Agent {
    let group =
        |name: &str| Reference { id: Some(name.into()), arn: Some(format!("{}/agent-group/{name}", instance_arn())) };
    Agent {
        id: id.into(),
        arn: Some(format!("{}/agent/{id}", instance_arn()).into()),
        routing_profile: Some(Arc::new(Reference {
            id: Some("rp-sales".into()),
            arn: Some(format!("{}/routing-profile/rp-sales", instance_arn())),
        })),
        hierarchy_path: Arc::new(HierarchyPath {
            level_one: Some(group("emea")),
            level_two: Some(group("sales")),
            ..Default::default()
        }),
        status: Some(AgentStatus {
            name: Some("Available".into()),
            arn: Some(status_arn("Available").into()),
            started_at: Some(at("09:00:00")),
        }),
        next_status: None,
        slots: SlotsByChannel::from([(Channel::Voice, slots(1, 1)), (Channel::Chat, slots(2, 2))]),
        contacts: Default::default(),
        last_seen_at: None,
    }
}

pub fn slots(available: u16, max: u16) -> Slots {
    Slots { available: Some(available), max: Some(max), active: Some(max - available), saturated_since: None }
}

/// A contact routed from the sales queue.
pub fn contact(id: &str, channel: Channel, state: ContactState, state_started_at: &str) -> Contact {
    Contact {
        contact_id: id.into(),
        channel: Some(channel),
        initiation_method: Some(InitiationMethod::Inbound),
        state: Some(state),
        state_started_at: Some(at(state_started_at)),
        connected_to_agent_at: None,
        queue: Some(Arc::new(Reference {
            id: Some("q-sales".into()),
            arn: Some(format!("{}/queue/q-sales", instance_arn())),
        })),
        observed_in_state_since: None,
    }
}

/// Changes to a test agent that read like what happened to it.
pub trait AgentStory: Sized {
    fn in_status(self, name: &str, since: &str) -> Self;
    fn with_contact(self, contact: Contact) -> Self;
    fn with_slots(self, channel: Channel, available: u16, max: u16) -> Self;
}

impl AgentStory for Agent {
    fn in_status(mut self, name: &str, since: &str) -> Self {
        self.status = Some(AgentStatus {
            name: Some(name.into()),
            arn: Some(status_arn(name).into()),
            started_at: Some(at(since)),
        });
        self
    }

    fn with_contact(mut self, contact: Contact) -> Self {
        self.contacts.push(contact);
        self
    }

    fn with_slots(mut self, channel: Channel, available: u16, max: u16) -> Self {
        self.slots.insert(channel, slots(available, max));
        self
    }
}

/// The snapshot the store would hold after a first run saw `snapshot`.
pub fn baseline(snapshot: Snapshot) -> Snapshot {
    diff(None, snapshot, &settings()).snapshot
}

/// One tick of the diff; every event it emits must match its published schema.
pub fn tick(previous: &Snapshot, current: Snapshot) -> Outcome {
    let outcome = diff(Some(previous), current, &settings());
    for event in &outcome.events {
        assert_matches_schema(event);
    }
    outcome
}

pub fn detail_types(outcome: &Outcome) -> Vec<DetailType> {
    outcome.events.iter().map(|event| event.detail_type).collect()
}

/// The `detail` of an event as consumers read it.
pub fn detail(event: &Event) -> Value {
    serde_json::to_value(&event.detail).unwrap()
}

pub fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("events")
}

/// The file name stem of a detail-type: "Agent Status Changed" -> "agent-status-changed".
pub fn kebab(detail_type: DetailType) -> String {
    detail_type.as_str().to_lowercase().replace(' ', "-")
}

pub fn read_json(path: PathBuf) -> Value {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

pub fn schema(detail_type: DetailType) -> Value {
    read_json(events_dir().join("schemas").join(format!("{}.json", kebab(detail_type))))
}

/// The validator of a detail-type's schema, with `format` checked too (times must be RFC 3339).
pub fn validator(detail_type: DetailType) -> &'static jsonschema::Validator {
    static VALIDATORS: OnceLock<BTreeMap<DetailType, jsonschema::Validator>> = OnceLock::new();
    let validators = VALIDATORS.get_or_init(|| {
        DetailType::ALL
            .into_iter()
            .map(|detail_type| {
                let schema = schema(detail_type);
                let validator = jsonschema::draft202012::options()
                    .should_validate_formats(true)
                    .build(&schema)
                    .unwrap_or_else(|err| panic!("the {detail_type} schema does not compile: {err}"));
                (detail_type, validator)
            })
            .collect()
    });
    &validators[&detail_type]
}

/// Every error of `instance` against the schema of `detail_type`, as readable lines.
pub fn schema_errors(detail_type: DetailType, instance: &Value) -> Vec<String> {
    validator(detail_type).iter_errors(instance).map(|err| format!("{}: {err}", err.instance_path())).collect()
}

/// The event as a rule target would receive it, with the `id` EventBridge adds.
pub fn delivered(event: &Event) -> Value {
    let mut envelope = event.to_envelope("us-east-1");
    envelope["id"] = Value::from("6a1f3c5e-7b9d-4e2f-8a0c-1d3e5f7a9b2c");
    envelope
}

pub fn assert_matches_schema(event: &Event) {
    let envelope = delivered(event);
    let errors = schema_errors(event.detail_type, &envelope);
    assert!(errors.is_empty(), "{} does not match its schema:\n{}\n{envelope:#}", event.detail_type, errors.join("\n"));
}
