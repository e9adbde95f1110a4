//! The simulated instance: its directory (routing profiles, queues, hierarchy groups, users) and
//! the frames of agent state that `GetCurrentUserData` serves.

use std::collections::BTreeMap;

/// A routing profile: the queues it serves and its media concurrency per channel.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingProfile {
    pub id: String,
    pub name: String,
    pub queues: Vec<String>,
    pub concurrency: BTreeMap<String, u32>,
}

/// A queue, hierarchy group or user: an id and a display name.
#[derive(Debug, Clone, PartialEq)]
pub struct Named {
    pub id: String,
    pub name: String,
}

/// A user of the instance, logged in or not.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub username: String,
    pub routing_profile: String,
    /// Hierarchy group ids, level one first (at most five).
    pub hierarchy: Vec<String>,
}

/// Everything about the instance that does not change from frame to frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Directory {
    pub instance_id: String,
    pub region: String,
    pub account_id: String,
    /// Epoch milliseconds of the scenario's time zero.
    pub base_time_ms: i64,
    pub routing_profiles: Vec<RoutingProfile>,
    pub queues: Vec<Named>,
    pub hierarchy_groups: Vec<Named>,
    pub users: Vec<User>,
}

impl Directory {
    pub fn instance_arn(&self) -> String {
        format!("arn:aws:connect:{}:{}:instance/{}", self.region, self.account_id, self.instance_id)
    }

    /// The ARN of a resource of the instance: `kind` is Connect's ARN word (`agent`, `queue`,
    /// `routing-profile`, `agent-group`, `agent-state`).
    pub fn arn(&self, kind: &str, id: &str) -> String {
        format!("{}/{kind}/{id}", self.instance_arn())
    }

    pub fn routing_profile(&self, id: &str) -> Option<&RoutingProfile> {
        self.routing_profiles.iter().find(|profile| profile.id == id)
    }
}

/// An agent status as the CCP shows it; the ARN is derived from `id`.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub name: String,
    pub id: String,
    pub since_ms: i64,
}

impl Status {
    pub fn new(name: &str, since_ms: i64) -> Self {
        Self { name: name.to_owned(), id: status_id(name), since_ms }
    }
}

/// The id a status name gets in its ARN: lower case, words joined by dashes.
pub fn status_id(name: &str) -> String {
    let words: Vec<String> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    words.join("-")
}

/// A contact on an agent. Channel, state and initiation method are kept as raw strings so a
/// scenario can send values Connect may add later.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    pub id: String,
    pub channel: String,
    pub initiation_method: String,
    pub state: String,
    pub state_since_ms: i64,
    pub connected_ms: Option<i64>,
    pub queue: Option<String>,
}

/// Slot counts of one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SlotCounts {
    pub max: u32,
    pub active: u32,
    pub available: u32,
}

/// Contact states that hold a slot of their channel: ringing, connected, on hold and after
/// contact work. A missed, rejected or errored contact blocks routing but holds no slot.
const SLOT_HOLDING_STATES: [&str; 6] = ["INCOMING", "PENDING", "CONNECTING", "CONNECTED", "CONNECTED_ONHOLD", "ENDED"];

/// Slots per channel from the routing profile's concurrency and the agent's contacts.
pub fn slots_for(concurrency: &BTreeMap<String, u32>, contacts: &[Contact]) -> BTreeMap<String, SlotCounts> {
    concurrency
        .iter()
        .map(|(channel, &max)| {
            let active = contacts
                .iter()
                .filter(|c| &c.channel == channel && SLOT_HOLDING_STATES.contains(&c.state.as_str()))
                .count() as u32;
            (channel.clone(), SlotCounts { max, active, available: max.saturating_sub(active) })
        })
        .collect()
}

/// One logged-in agent in one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentState {
    pub user_id: String,
    pub routing_profile: String,
    pub hierarchy: Vec<String>,
    pub status: Option<Status>,
    pub next_status: Option<String>,
    pub contacts: Vec<Contact>,
    pub slots: BTreeMap<String, SlotCounts>,
}

/// The logged-in agents at one moment, by user id.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Frame {
    pub index: usize,
    /// Milliseconds after the directory's base time.
    pub at_ms: i64,
    pub agents: BTreeMap<String, AgentState>,
}
