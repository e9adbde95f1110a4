//! The snapshot model: Amazon Connect agent data as `GetCurrentUserData` returns it, plus what
//! connect-pulse itself tracks across ticks.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Declares a Connect enum that keeps values it does not know as their raw string.
///
/// Connect's enums grow (EMAIL, new initiation methods, PAUSED for tasks), and a poll must never
/// fail because of a value that did not exist when this crate was built.
macro_rules! connect_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($variant,)+
            /// A value this crate does not know yet, kept verbatim.
            Other(String),
        }

        impl $name {
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)+
                    Self::Other(raw) => raw,
                }
            }
        }

        impl From<&str> for $name {
            fn from(raw: &str) -> Self {
                match raw {
                    $($wire => Self::$variant,)+
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(deserializer)?;
                Ok(Self::from(raw.as_str()))
            }
        }
    };
}

connect_enum!(
    /// A routing channel (`Channel` in the Connect API).
    Channel {
        Voice => "VOICE",
        Chat => "CHAT",
        Task => "TASK",
        Email => "EMAIL",
    }
);

connect_enum!(
    /// The state of a contact from the agent's point of view (`AgentContactState`).
    ContactState {
        Incoming => "INCOMING",
        Pending => "PENDING",
        Connecting => "CONNECTING",
        Connected => "CONNECTED",
        ConnectedOnHold => "CONNECTED_ONHOLD",
        Missed => "MISSED",
        Error => "ERROR",
        Ended => "ENDED",
        Rejected => "REJECTED",
    }
);

connect_enum!(
    /// How a contact was initiated (`ContactInitiationMethod`).
    InitiationMethod {
        Inbound => "INBOUND",
        Outbound => "OUTBOUND",
        Transfer => "TRANSFER",
        QueueTransfer => "QUEUE_TRANSFER",
        Callback => "CALLBACK",
        Api => "API",
        Disconnect => "DISCONNECT",
        Monitor => "MONITOR",
        ExternalOutbound => "EXTERNAL_OUTBOUND",
        WebrtcApi => "WEBRTC_API",
        AgentReply => "AGENT_REPLY",
        Flow => "FLOW",
    }
);

/// An id and ARN pair, as Connect returns for users, routing profiles, queues and hierarchy groups.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reference {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
}

/// The agent's hierarchy groups, level one to five; any level may be absent.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HierarchyPath {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level_one: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level_two: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level_three: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level_four: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level_five: Option<Reference>,
}

/// The status the agent (or a supervisor) set in the CCP: Available, a break, Offline...
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
}

/// Slots on one channel: available, maximum (from the routing profile's concurrency) and active.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Slots {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<u32>,
    /// Tracked by connect-pulse: when the channel was first seen with no available slot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saturated_since: Option<DateTime<Utc>>,
}

/// One contact on the agent (`AgentContactReference`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    pub contact_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initiation_method: Option<InitiationMethod>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ContactState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connected_to_agent_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<Reference>,
    /// Tracked by connect-pulse: when the contact was first seen in its current state. Connect
    /// keeps `StateStartTimestamp` at the connect time while a contact is on hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_in_state_since: Option<DateTime<Utc>>,
}

/// One logged-in agent (`UserData`), keyed in a snapshot by user id.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Agent {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_profile: Option<Reference>,
    #[serde(default)]
    pub hierarchy_path: HierarchyPath,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<AgentStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_status: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub slots: BTreeMap<Channel, Slots>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<Contact>,
    /// Tracked by connect-pulse: set while the agent is carried over from an earlier snapshot
    /// because an incomplete fetch did not return it; the time it was last actually seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_at: Option<DateTime<Utc>>,
}

/// A part of the agent scope whose data could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MissingChunk {
    /// The `GetCurrentUserData` filter kind: `RoutingProfiles`, `Queues`, `Agents` or `UserHierarchyGroups`.
    pub filter: String,
    /// The filter ids of the chunk.
    pub ids: Vec<String>,
    /// Why it failed, for logs (an error code, never customer data).
    pub error: String,
}

/// All logged-in agents of one instance at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub instance_id: String,
    pub taken_at: DateTime<Utc>,
    /// Chunks of the scope that could not be fetched; empty when the snapshot is complete.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<MissingChunk>,
    pub agents: BTreeMap<String, Agent>,
}

impl Snapshot {
    pub fn new(instance_id: impl Into<String>, taken_at: DateTime<Utc>) -> Self {
        Self { instance_id: instance_id.into(), taken_at, missing: Vec::new(), agents: BTreeMap::new() }
    }

    /// Whether every chunk of the scope was fetched, so an absent agent really is logged out.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_enum_values_survive_a_round_trip() {
        let channel: Channel = serde_json::from_str("\"HOLOGRAM\"").unwrap();
        assert_eq!(channel, Channel::Other("HOLOGRAM".into()));
        assert_eq!(serde_json::to_string(&channel).unwrap(), "\"HOLOGRAM\"");

        let state = ContactState::from("PAUSED");
        assert_eq!(state.as_str(), "PAUSED");
        assert_eq!(ContactState::from("CONNECTED_ONHOLD"), ContactState::ConnectedOnHold);
    }
}
