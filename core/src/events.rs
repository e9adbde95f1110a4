//! The public event contract: what connect-pulse puts on EventBridge. Names, keys and enum
//! values here are an API; change them only by adding.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::model::{Agent, ArcStr, Channel, ContactState, HierarchyPath, Id, InitiationMethod, Reference};

/// The `schemaVersion` of every `detail`; the minor part grows with additive changes.
pub const SCHEMA_VERSION: &str = "1.0";

/// The EventBridge `detail-type` of each event in the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DetailType {
    AgentStatusChanged,
    AgentContactMissed,
    AgentContactErrored,
    AgentSlotsSaturated,
    AgentSlotsRecovered,
    AgentLoggedIn,
    AgentLoggedOut,
}

impl DetailType {
    pub const ALL: [DetailType; 7] = [
        DetailType::AgentStatusChanged,
        DetailType::AgentContactMissed,
        DetailType::AgentContactErrored,
        DetailType::AgentSlotsSaturated,
        DetailType::AgentSlotsRecovered,
        DetailType::AgentLoggedIn,
        DetailType::AgentLoggedOut,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DetailType::AgentStatusChanged => "Agent Status Changed",
            DetailType::AgentContactMissed => "Agent Contact Missed",
            DetailType::AgentContactErrored => "Agent Contact Errored",
            DetailType::AgentSlotsSaturated => "Agent Slots Saturated",
            DetailType::AgentSlotsRecovered => "Agent Slots Recovered",
            DetailType::AgentLoggedIn => "Agent Logged In",
            DetailType::AgentLoggedOut => "Agent Logged Out",
        }
    }
}

impl fmt::Display for DetailType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One event, ready for PutEvents: the envelope fields plus its `detail`.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub source: Arc<str>,
    pub detail_type: DetailType,
    /// When the snapshot that revealed the change was taken.
    pub time: DateTime<Utc>,
    /// The agent ARN, when Connect returned one: the event's only entry in `resources`.
    pub resource: Option<ArcStr>,
    pub detail: Detail,
}

impl Event {
    /// The `detail` as the JSON object string PutEvents takes.
    pub fn detail_json(&self) -> String {
        serde_json::to_string(&self.detail).expect("an event detail always serialises")
    }

    /// The envelope's `resources`: the agent ARN, or nothing.
    pub fn resources(&self) -> &[ArcStr] {
        self.resource.as_slice()
    }

    /// The event as EventBridge delivers it to a target (without `id` and `account`).
    pub fn to_envelope(&self, region: &str) -> serde_json::Value {
        serde_json::json!({
            "version": "0",
            "detail-type": self.detail_type.as_str(),
            "source": self.source,
            "time": self.time.to_rfc3339_opts(SecondsFormat::Secs, true),
            "region": region,
            "resources": self.resources(),
            "detail": self.detail,
        })
    }
}

/// The `detail` of every event: the common part plus what the detail-type adds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Detail {
    pub schema_version: &'static str,
    pub event_id: EventId,
    pub instance_id: Arc<str>,
    #[serde(serialize_with = "rfc3339_millis")]
    pub observed_at: DateTime<Utc>,
    pub agent: AgentSummary,
    #[serde(flatten)]
    pub change: Change,
}

/// What each detail-type adds to the common `detail` keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged, rename_all_fields = "camelCase")]
pub enum Change {
    StatusChanged {
        #[serde(skip_serializing_if = "Option::is_none")]
        previous_status: Option<StatusSummary>,
        current_status: StatusSummary,
        #[serde(skip_serializing_if = "Option::is_none")]
        previous_status_duration_seconds: Option<f64>,
    },
    /// Agent Contact Missed and Agent Contact Errored.
    Contact { contact: ContactSummary },
    /// Agent Slots Saturated (`saturated_seconds` absent) and Agent Slots Recovered.
    Slots {
        channel: Channel,
        max_slots: u16,
        active_slots: u16,
        available_slots: u16,
        #[serde(skip_serializing_if = "Option::is_none")]
        saturated_seconds: Option<f64>,
    },
    LoggedOut {
        #[serde(serialize_with = "rfc3339_millis")]
        last_seen_at: DateTime<Utc>,
    },
    /// Agent Logged In: the common keys say it all.
    None {},
}

/// The agent as every event describes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentSummary {
    pub id: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<ArcStr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing_profile: Option<Arc<Reference>>,
    pub hierarchy_path: Arc<HierarchyPath>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_status: Option<ArcStr>,
    pub activity: Activity,
}

impl AgentSummary {
    pub fn of(agent: &Agent) -> Self {
        Self {
            id: agent.id.clone(),
            arn: agent.arn.clone(),
            routing_profile: agent.routing_profile.clone(),
            hierarchy_path: agent.hierarchy_path.clone(),
            status: agent.status.as_ref().map(StatusSummary::of),
            next_status: agent.next_status.clone(),
            activity: Activity::of(agent),
        }
    }
}

/// An agent status as events carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusSummary {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<ArcStr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<ArcStr>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "rfc3339_millis_opt")]
    pub started_at: Option<DateTime<Utc>>,
}

impl StatusSummary {
    pub fn of(status: &crate::model::AgentStatus) -> Self {
        Self { name: status.name.clone(), arn: status.arn.clone(), started_at: status.started_at }
    }
}

/// A contact as the missed and errored events carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactSummary {
    pub contact_id: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initiation_method: Option<InitiationMethod>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<ContactState>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "rfc3339_millis_opt")]
    pub state_started_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<Arc<Reference>>,
}

impl ContactSummary {
    pub fn of(contact: &crate::model::Contact) -> Self {
        Self {
            contact_id: contact.contact_id.clone(),
            channel: contact.channel,
            initiation_method: contact.initiation_method,
            state: contact.state,
            state_started_at: contact.state_started_at,
            queue: contact.queue.clone(),
        }
    }
}

/// What a supervisor sees the agent doing, rolled up from the agent's contacts in the order the
/// Connect real-time metrics use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Activity {
    Error,
    Missed,
    Rejected,
    OnContact,
    AfterContactWork,
    Incoming,
    Idle,
}

impl Activity {
    pub const ALL: [Activity; 7] = [
        Activity::Error,
        Activity::Missed,
        Activity::Rejected,
        Activity::OnContact,
        Activity::AfterContactWork,
        Activity::Incoming,
        Activity::Idle,
    ];

    /// The highest-ranked activity among the agent's contacts; `Idle` when none counts.
    pub fn of(agent: &Agent) -> Self {
        agent.contacts.iter().filter_map(|c| c.state.as_ref().and_then(Self::of_state)).min().unwrap_or(Activity::Idle)
    }

    fn of_state(state: &ContactState) -> Option<Self> {
        match state {
            ContactState::Error => Some(Activity::Error),
            ContactState::Missed => Some(Activity::Missed),
            ContactState::Rejected => Some(Activity::Rejected),
            ContactState::Connected | ContactState::ConnectedOnHold => Some(Activity::OnContact),
            ContactState::Ended => Some(Activity::AfterContactWork),
            ContactState::Incoming | ContactState::Pending | ContactState::Connecting => Some(Activity::Incoming),
            ContactState::Other(_) => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Activity::Error => "ERROR",
            Activity::Missed => "MISSED",
            Activity::Rejected => "REJECTED",
            Activity::OnContact => "ON_CONTACT",
            Activity::AfterContactWork => "AFTER_CONTACT_WORK",
            Activity::Incoming => "INCOMING",
            Activity::Idle => "IDLE",
        }
    }
}

/// A deterministic event id: the first 128 bits of the SHA-256 of the parts that identify one
/// transition, as 32 lowercase hex digits, so a re-emitted transition (a retry, a re-run tick)
/// carries the same id.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId([u8; 32]);

impl EventId {
    pub fn of<'a>(parts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update(part.as_bytes());
            // A separator that cannot occur in ids keeps ("ab","c") apart from ("a","bc").
            hasher.update([0u8]);
        }
        let mut hex = [0u8; 32];
        hex::encode_to_slice(&hasher.finalize()[..16], &mut hex).expect("16 bytes are 32 hex digits");
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("hex digits are ASCII")
    }
}

impl Deref for EventId {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for EventId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for EventId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self)
    }
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl Serialize for EventId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self)
    }
}

/// Formats a time as RFC 3339 UTC with milliseconds, the form of every time in a `detail`.
pub fn format_time(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn rfc3339_millis<S: Serializer>(time: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_time(time))
}

fn rfc3339_millis_opt<S: Serializer>(time: &Option<DateTime<Utc>>, serializer: S) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => rfc3339_millis(time, serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_id_is_the_first_half_of_the_sha256_of_its_parts_in_hex() {
        let id = EventId::of(["instance-1", "Agent Logged In", "alice", "2024-12-03T10:00:00.000Z"]);

        // The SHA-256 of the parts, each followed by a zero byte, computed independently.
        assert_eq!(id, "6f84e35928b029bf49ea076bfd722ec3");
        assert_eq!(serde_json::to_value(id).unwrap(), "6f84e35928b029bf49ea076bfd722ec3");
        assert_ne!(id, EventId::of(["instance-1", "Agent Logged In", "alic", "e2024-12-03T10:00:00.000Z"]));
    }
}
