//! Connect's REST-JSON shapes as the simulator reads and writes them: member names exactly as
//! the service model spells them, timestamps as epoch-second numbers, absent members omitted.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize, Serializer};

use crate::world::{AgentState, Directory};

/// The `GetCurrentUserData` request body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserDataRequest {
    pub filters: Option<UserDataFilters>,
    pub next_token: Option<String>,
    pub max_results: Option<i64>,
}

/// `UserDataFilters`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserDataFilters {
    pub queues: Option<Vec<String>>,
    pub contact_filter: Option<ContactFilter>,
    pub routing_profiles: Option<Vec<String>>,
    pub agents: Option<Vec<String>>,
    pub user_hierarchy_groups: Option<Vec<String>>,
}

/// `ContactFilter`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContactFilter {
    pub contact_states: Option<Vec<String>>,
}

/// The `GetCurrentUserData` response.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserDataResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    pub user_data_list: Vec<UserData>,
    pub approximate_total_count: u64,
}

/// `UserData`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserData {
    pub user: Reference,
    pub routing_profile: Reference,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hierarchy_path: Option<HierarchyPath>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<AgentStatusReference>,
    pub available_slots_by_channel: BTreeMap<String, u32>,
    pub max_slots_by_channel: BTreeMap<String, u32>,
    pub active_slots_by_channel: BTreeMap<String, u32>,
    pub contacts: Vec<AgentContactReference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_status: Option<String>,
}

/// `UserReference`, `RoutingProfileReference`, `QueueReference`, `HierarchyGroupSummaryReference`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Reference {
    pub id: String,
    pub arn: String,
}

/// `HierarchyPathReference`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HierarchyPath {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level_one: Option<Reference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level_two: Option<Reference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level_three: Option<Reference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level_four: Option<Reference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level_five: Option<Reference>,
}

/// `AgentStatusReference`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AgentStatusReference {
    pub status_start_timestamp: EpochSeconds,
    pub status_arn: String,
    pub status_name: String,
}

/// `AgentContactReference`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AgentContactReference {
    pub contact_id: String,
    pub channel: String,
    pub initiation_method: String,
    pub agent_contact_state: String,
    pub state_start_timestamp: EpochSeconds,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connected_to_agent_timestamp: Option<EpochSeconds>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<Reference>,
}

/// A `Summary` item of the List* calls.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Summary {
    pub id: String,
    pub arn: String,
    /// `Name`, or `Username` for users.
    #[serde(flatten)]
    pub name: SummaryName,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_type: Option<&'static str>,
    pub last_modified_time: EpochSeconds,
    pub last_modified_region: String,
}

/// Users carry `Username`, everything else `Name`.
#[derive(Debug, Clone, Serialize)]
pub enum SummaryName {
    Name(String),
    Username(String),
}

/// A restJson1 timestamp: epoch seconds as a JSON number, an integer when the time falls on a
/// whole second and a decimal with milliseconds otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochSeconds(pub i64);

impl Serialize for EpochSeconds {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let millis = self.0;
        if millis % 1000 == 0 {
            serializer.serialize_i64(millis / 1000)
        } else {
            serializer.serialize_f64(millis as f64 / 1000.0)
        }
    }
}

/// Renders one agent of a frame as Connect's `UserData`.
pub fn user_data(directory: &Directory, agent: &AgentState) -> UserData {
    let at = |offset_ms: i64| EpochSeconds(directory.base_time_ms + offset_ms);
    let reference = |kind: &str, id: &str| Reference { id: id.to_owned(), arn: directory.arn(kind, id) };

    let mut levels = agent.hierarchy.iter().map(|id| Some(reference("agent-group", id)));
    let hierarchy_path = (!agent.hierarchy.is_empty()).then(|| HierarchyPath {
        level_one: levels.next().flatten(),
        level_two: levels.next().flatten(),
        level_three: levels.next().flatten(),
        level_four: levels.next().flatten(),
        level_five: levels.next().flatten(),
    });

    let slot_map = |pick: fn(&crate::world::SlotCounts) -> u32| -> BTreeMap<String, u32> {
        agent.slots.iter().map(|(channel, counts)| (channel.clone(), pick(counts))).collect()
    };

    UserData {
        user: reference("agent", &agent.user_id),
        routing_profile: reference("routing-profile", &agent.routing_profile),
        hierarchy_path,
        status: agent.status.as_ref().map(|status| AgentStatusReference {
            status_start_timestamp: at(status.since_ms),
            status_arn: directory.arn("agent-state", &status.id),
            status_name: status.name.clone(),
        }),
        available_slots_by_channel: slot_map(|s| s.available),
        max_slots_by_channel: slot_map(|s| s.max),
        active_slots_by_channel: slot_map(|s| s.active),
        contacts: agent
            .contacts
            .iter()
            .map(|contact| AgentContactReference {
                contact_id: contact.id.clone(),
                channel: contact.channel.clone(),
                initiation_method: contact.initiation_method.clone(),
                agent_contact_state: contact.state.clone(),
                state_start_timestamp: at(contact.state_since_ms),
                connected_to_agent_timestamp: contact.connected_ms.map(at),
                queue: contact.queue.as_deref().map(|id| reference("queue", id)),
            })
            .collect(),
        next_status: agent.next_status.clone(),
    }
}

/// A Connect error: HTTP status, the `X-Amzn-ErrorType` code and the `Message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self { status: 400, code: "InvalidParameterException", message: message.into() }
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self { status: 400, code: "InvalidRequestException", message: message.into() }
    }

    pub fn serialization(message: impl Into<String>) -> Self {
        Self { status: 400, code: "SerializationException", message: message.into() }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self { status: 404, code: "ResourceNotFoundException", message: message.into() }
    }

    pub fn throttling() -> Self {
        Self { status: 429, code: "ThrottlingException", message: "Rate exceeded".into() }
    }

    pub fn internal() -> Self {
        Self { status: 500, code: "InternalServiceException", message: "Request processing failed".into() }
    }

    pub fn unknown_operation() -> Self {
        Self { status: 404, code: "UnknownOperationException", message: "No such operation".into() }
    }

    /// The body Connect sends with the error.
    pub fn body(&self) -> String {
        serde_json::json!({ "Message": self.message }).to_string()
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_integers_on_whole_seconds_and_decimals_with_milliseconds_otherwise() {
        assert_eq!(serde_json::to_string(&EpochSeconds(1_733_222_400_000)).unwrap(), "1733222400");
        assert_eq!(serde_json::to_string(&EpochSeconds(1_733_222_400_123)).unwrap(), "1733222400.123");
        assert_eq!(serde_json::to_string(&EpochSeconds(1_733_222_400_050)).unwrap(), "1733222400.05");
    }

    #[test]
    fn summaries_name_users_by_username_and_the_rest_by_name() {
        let summary = |name| Summary {
            id: "x".into(),
            arn: "arn".into(),
            name,
            queue_type: None,
            last_modified_time: EpochSeconds(0),
            last_modified_region: "us-east-1".into(),
        };
        let user = serde_json::to_value(summary(SummaryName::Username("alice".into()))).unwrap();
        let queue = serde_json::to_value(summary(SummaryName::Name("Sales".into()))).unwrap();
        assert_eq!(user["Username"], "alice");
        assert_eq!(queue["Name"], "Sales");
        assert!(user.get("QueueType").is_none());
    }
}
