//! Scenario files: a hand-written contact centre and the frames its agents go through.
//!
//! Times are seconds after `baseTime` (fractions allowed, negative for "before the scenario
//! starts"). A frame lists only the agents that change: an agent state replaces the agent's
//! previous one, `null` logs the agent out, unlisted agents stay as they were. Start times that
//! are not written are carried over while the status or contact state stays the same, and are
//! the frame's `at` when it changes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

use crate::world::{slots_for, AgentState, Contact, Directory, Frame, Named, RoutingProfile, Status, User};

/// Seconds between frames when a frame does not say `at`.
const DEFAULT_FRAME_STEP_SECONDS: f64 = 60.0;

/// A scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub instance_id: Option<String>,
    /// Time zero; the simulator's start time when absent.
    #[serde(default)]
    pub base_time: Option<DateTime<Utc>>,
    /// Seconds between frames that do not say `at`.
    #[serde(default)]
    pub frame_seconds: Option<f64>,
    pub routing_profiles: Vec<RoutingProfileSpec>,
    /// Defaults to the queue ids the routing profiles name.
    #[serde(default)]
    pub queues: Vec<NamedSpec>,
    /// Defaults to the group ids the agents name.
    #[serde(default)]
    pub hierarchy_groups: Vec<NamedSpec>,
    pub agents: Vec<AgentSpec>,
    pub frames: Vec<FrameSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoutingProfileSpec {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub queues: Vec<String>,
    /// Slots per channel; `{"VOICE": 1}` when absent.
    #[serde(default)]
    pub concurrency: Option<BTreeMap<String, u32>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NamedSpec {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentSpec {
    pub id: String,
    #[serde(default)]
    pub username: Option<String>,
    pub routing_profile: String,
    /// Hierarchy group ids, level one first.
    #[serde(default)]
    pub hierarchy: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FrameSpec {
    #[serde(default)]
    pub at: Option<f64>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub agents: BTreeMap<String, Option<AgentStateSpec>>,
}

/// An agent's state in a frame: a status name alone, or the full form.
#[derive(Debug, Clone)]
pub struct AgentStateSpec(pub FullAgentState);

impl<'de> Deserialize<'de> for AgentStateSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(status) => {
                Ok(Self(FullAgentState { status: Some(status), ..Default::default() }))
            }
            object @ serde_json::Value::Object(_) => {
                serde_json::from_value(object).map(Self).map_err(serde::de::Error::custom)
            }
            other => Err(serde::de::Error::custom(format!(
                "an agent state is a status name, an object or null (logged out), not {other}"
            ))),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FullAgentState {
    /// The CCP status name; `Available` when absent.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub status_since: Option<f64>,
    #[serde(default)]
    pub next_status: Option<String>,
    /// Moves the agent to another routing profile from this frame on.
    #[serde(default)]
    pub routing_profile: Option<String>,
    #[serde(default)]
    pub contacts: Vec<ContactSpec>,
    /// Overrides of the computed slot counts, per channel.
    #[serde(default)]
    pub slots: BTreeMap<String, SlotOverride>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContactSpec {
    pub id: String,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub initiation: Option<String>,
    #[serde(default)]
    pub queue: Option<String>,
    #[serde(default)]
    pub since: Option<f64>,
    #[serde(default)]
    pub connected_at: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SlotOverride {
    #[serde(default)]
    pub max: Option<u32>,
    #[serde(default)]
    pub active: Option<u32>,
    #[serde(default)]
    pub available: Option<u32>,
}

/// Why a scenario cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Invalid(String),
}

/// A scenario resolved into a directory and its frames.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub directory: Directory,
    pub frames: Vec<Frame>,
}

impl Scenario {
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ScenarioError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|source| ScenarioError::Read { path: path.display().to_string(), source })?;
        Self::from_json(&text)
    }

    pub fn from_json(text: &str) -> Result<Self, ScenarioError> {
        Ok(serde_json::from_str(text)?)
    }

    /// Resolves defaults and references. `instance_id` and `now_ms` fill in what the file leaves
    /// out (the instance id, and the base time).
    pub fn compile(&self, instance_id: &str, now_ms: i64) -> Result<Compiled, ScenarioError> {
        let directory = self.directory(instance_id, now_ms)?;
        let frames = self.frames(&directory)?;
        Ok(Compiled { directory, frames })
    }

    fn directory(&self, instance_id: &str, now_ms: i64) -> Result<Directory, ScenarioError> {
        if self.routing_profiles.is_empty() {
            return invalid("a scenario needs at least one routing profile".into());
        }
        if self.frames.is_empty() {
            return invalid("a scenario needs at least one frame".into());
        }

        let routing_profiles: Vec<RoutingProfile> = self
            .routing_profiles
            .iter()
            .map(|spec| RoutingProfile {
                id: spec.id.clone(),
                name: spec.name.clone().unwrap_or_else(|| spec.id.clone()),
                queues: spec.queues.clone(),
                concurrency: spec.concurrency.clone().unwrap_or_else(|| BTreeMap::from([("VOICE".to_owned(), 1)])),
            })
            .collect();
        unique("routing profile", routing_profiles.iter().map(|p| p.id.as_str()))?;

        let queues = if self.queues.is_empty() {
            let ids: BTreeSet<&String> = routing_profiles.iter().flat_map(|p| &p.queues).collect();
            ids.into_iter().map(|id| Named { id: id.clone(), name: id.clone() }).collect()
        } else {
            named(&self.queues)
        };
        unique("queue", queues.iter().map(|q| q.id.as_str()))?;
        for profile in &routing_profiles {
            for queue in &profile.queues {
                if !queues.iter().any(|q| &q.id == queue) {
                    return invalid(format!(
                        "routing profile {} serves queue {queue}, which is not in `queues`",
                        profile.id
                    ));
                }
            }
        }

        let hierarchy_groups = if self.hierarchy_groups.is_empty() {
            let ids: BTreeSet<&String> = self.agents.iter().flat_map(|a| &a.hierarchy).collect();
            ids.into_iter().map(|id| Named { id: id.clone(), name: id.clone() }).collect()
        } else {
            named(&self.hierarchy_groups)
        };

        let mut users = Vec::with_capacity(self.agents.len());
        for spec in &self.agents {
            if !routing_profiles.iter().any(|p| p.id == spec.routing_profile) {
                return invalid(format!(
                    "agent {} has routing profile {}, which is not in `routingProfiles`",
                    spec.id, spec.routing_profile
                ));
            }
            if spec.hierarchy.len() > 5 {
                return invalid(format!(
                    "agent {} has {} hierarchy levels; Connect has five",
                    spec.id,
                    spec.hierarchy.len()
                ));
            }
            if let Some(group) = spec.hierarchy.iter().find(|g| !hierarchy_groups.iter().any(|h| &h.id == *g)) {
                return invalid(format!(
                    "agent {} is in hierarchy group {group}, which is not in `hierarchyGroups`",
                    spec.id
                ));
            }
            users.push(User {
                id: spec.id.clone(),
                username: spec.username.clone().unwrap_or_else(|| spec.id.clone()),
                routing_profile: spec.routing_profile.clone(),
                hierarchy: spec.hierarchy.clone(),
            });
        }
        unique("agent", users.iter().map(|u| u.id.as_str()))?;

        Ok(Directory {
            instance_id: self.instance_id.clone().unwrap_or_else(|| instance_id.to_owned()),
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            base_time_ms: self.base_time.map(|t| t.timestamp_millis()).unwrap_or(now_ms),
            routing_profiles,
            queues,
            hierarchy_groups,
            users,
        })
    }

    fn frames(&self, directory: &Directory) -> Result<Vec<Frame>, ScenarioError> {
        let step = self.frame_seconds.unwrap_or(DEFAULT_FRAME_STEP_SECONDS);
        let mut frames: Vec<Frame> = Vec::with_capacity(self.frames.len());

        for (index, spec) in self.frames.iter().enumerate() {
            let at_ms = match (spec.at, frames.last()) {
                (Some(at), _) => millis(at),
                (None, Some(previous)) => previous.at_ms + millis(step),
                (None, None) => 0,
            };
            let previous = frames.last().cloned().unwrap_or_default();
            if index > 0 && at_ms <= previous.at_ms {
                return invalid(format!(
                    "frame {index} is at {} s, not after the frame before it",
                    at_ms as f64 / 1000.0
                ));
            }

            let mut agents = previous.agents.clone();
            for (agent_id, state) in &spec.agents {
                let Some(user) = directory.users.iter().find(|u| &u.id == agent_id) else {
                    return invalid(format!("frame {index} names agent {agent_id}, which is not in `agents`"));
                };
                match state {
                    None => {
                        agents.remove(agent_id);
                    }
                    Some(AgentStateSpec(state)) => {
                        let agent = agent_state(directory, user, state, previous.agents.get(agent_id), at_ms).map_err(
                            |message| ScenarioError::Invalid(format!("frame {index}, agent {agent_id}: {message}")),
                        )?;
                        agents.insert(agent_id.clone(), agent);
                    }
                }
            }
            frames.push(Frame { index, at_ms, agents });
        }
        Ok(frames)
    }
}

fn agent_state(
    directory: &Directory,
    user: &User,
    spec: &FullAgentState,
    previous: Option<&AgentState>,
    at_ms: i64,
) -> Result<AgentState, String> {
    let routing_profile = spec
        .routing_profile
        .clone()
        .or_else(|| previous.map(|p| p.routing_profile.clone()))
        .unwrap_or_else(|| user.routing_profile.clone());
    let Some(profile) = directory.routing_profile(&routing_profile) else {
        return Err(format!("routing profile {routing_profile} is not in `routingProfiles`"));
    };

    let status_name = spec.status.clone().unwrap_or_else(|| "Available".to_owned());
    let previous_status = previous.and_then(|p| p.status.as_ref()).filter(|s| s.name == status_name);
    let status_since = match (spec.status_since, previous_status) {
        (Some(since), _) => millis(since),
        (None, Some(status)) => status.since_ms,
        (None, None) => at_ms,
    };

    let mut contacts = Vec::with_capacity(spec.contacts.len());
    for contact in &spec.contacts {
        let queue = contact.queue.clone().or_else(|| profile.queues.first().cloned());
        if let Some(queue) = &queue {
            if !directory.queues.iter().any(|q| &q.id == queue) {
                return Err(format!("contact {} is in queue {queue}, which is not in `queues`", contact.id));
            }
        }
        let earlier = previous.and_then(|p| p.contacts.iter().find(|c| c.id == contact.id));
        contacts.push(contact_state(contact, earlier, queue, at_ms));
    }

    let mut slots = slots_for(&profile.concurrency, &contacts);
    for (channel, over) in &spec.slots {
        let counts = slots.entry(channel.clone()).or_default();
        counts.max = over.max.unwrap_or(counts.max);
        counts.active = over.active.unwrap_or(counts.active);
        counts.available = over.available.unwrap_or_else(|| counts.max.saturating_sub(counts.active));
    }

    Ok(AgentState {
        user_id: user.id.clone(),
        routing_profile,
        hierarchy: user.hierarchy.clone(),
        status: Some(Status { since_ms: status_since, ..Status::new(&status_name, 0) }),
        next_status: spec.next_status.clone(),
        contacts,
        slots,
    })
}

fn contact_state(spec: &ContactSpec, earlier: Option<&Contact>, queue: Option<String>, at_ms: i64) -> Contact {
    let state = spec.state.clone().unwrap_or_else(|| "CONNECTED".to_owned());
    let connected = |s: &str| matches!(s, "CONNECTED" | "CONNECTED_ONHOLD");

    // Connect keeps the CONNECTED start time while a contact is on hold and back.
    let carried_since = earlier.filter(|e| e.state == state || (connected(&e.state) && connected(&state)));
    let state_since_ms = match (spec.since, carried_since) {
        (Some(since), _) => millis(since),
        (None, Some(e)) => e.state_since_ms,
        (None, None) => at_ms,
    };

    let connected_ms = match (spec.connected_at, earlier.and_then(|e| e.connected_ms)) {
        (Some(at), _) => Some(millis(at)),
        (None, Some(earlier)) => Some(earlier),
        (None, None) if connected(&state) || state == "ENDED" => Some(state_since_ms),
        (None, None) => None,
    };

    Contact {
        id: spec.id.clone(),
        channel: spec.channel.clone().unwrap_or_else(|| "VOICE".to_owned()),
        initiation_method: spec.initiation.clone().unwrap_or_else(|| "INBOUND".to_owned()),
        state,
        state_since_ms,
        connected_ms,
        queue,
    }
}

/// Seconds (as written in a scenario) to milliseconds.
fn millis(seconds: f64) -> i64 {
    (seconds * 1000.0).round() as i64
}

fn named(specs: &[NamedSpec]) -> Vec<Named> {
    specs.iter().map(|s| Named { id: s.id.clone(), name: s.name.clone().unwrap_or_else(|| s.id.clone()) }).collect()
}

fn unique<'a>(what: &str, ids: impl Iterator<Item = &'a str>) -> Result<(), ScenarioError> {
    let mut seen = BTreeSet::new();
    for id in ids {
        if !seen.insert(id) {
            return invalid(format!("{what} {id} is declared twice"));
        }
    }
    Ok(())
}

fn invalid<T>(message: String) -> Result<T, ScenarioError> {
    Err(ScenarioError::Invalid(message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::SlotCounts;

    const BASE_MS: i64 = 1_733_220_000_000;

    fn compile(json: serde_json::Value) -> Result<Compiled, ScenarioError> {
        Scenario::from_json(&json.to_string())?.compile("inst-1", BASE_MS)
    }

    fn two_agents(frames: serde_json::Value) -> serde_json::Value {
        serde_json::json!({
            "routingProfiles": [
                {"id": "rp-voice", "queues": ["q-sales"]},
                {"id": "rp-chat", "queues": ["q-chat"], "concurrency": {"CHAT": 2}}
            ],
            "agents": [
                {"id": "alice", "routingProfile": "rp-voice"},
                {"id": "bob", "routingProfile": "rp-chat", "hierarchy": ["hg-emea", "hg-lisbon"]}
            ],
            "frames": frames
        })
    }

    #[test]
    fn a_status_keeps_its_start_time_until_it_changes() {
        let compiled = compile(two_agents(serde_json::json!([
            {"agents": {"alice": "Available"}},
            {"agents": {"alice": "Available"}},
            {"at": 150, "agents": {"alice": "Break"}}
        ])))
        .unwrap();

        let since: Vec<i64> =
            compiled.frames.iter().map(|f| f.agents["alice"].status.as_ref().unwrap().since_ms).collect();
        assert_eq!(since, vec![0, 0, 150_000]);
        assert_eq!(compiled.frames.iter().map(|f| f.at_ms).collect::<Vec<_>>(), vec![0, 60_000, 150_000]);
        assert_eq!(compiled.frames[2].agents["alice"].status.as_ref().unwrap().id, "break");
    }

    #[test]
    fn unlisted_agents_carry_over_and_null_logs_out() {
        let compiled = compile(two_agents(serde_json::json!([
            {"agents": {"alice": "Available", "bob": "Available"}},
            {"agents": {"alice": null}},
        ])))
        .unwrap();

        assert_eq!(compiled.frames[1].agents.keys().collect::<Vec<_>>(), vec!["bob"]);
        assert_eq!(compiled.frames[1].agents["bob"], compiled.frames[0].agents["bob"]);
    }

    #[test]
    fn a_contact_on_hold_keeps_the_time_it_was_connected() {
        let compiled = compile(two_agents(serde_json::json!([
            {"agents": {"alice": {"contacts": [{"id": "c-1", "state": "CONNECTING"}]}}},
            {"agents": {"alice": {"contacts": [{"id": "c-1", "state": "CONNECTED"}]}}},
            {"agents": {"alice": {"contacts": [{"id": "c-1", "state": "CONNECTED_ONHOLD"}]}}},
            {"agents": {"alice": {"contacts": [{"id": "c-1", "state": "ENDED"}]}}}
        ])))
        .unwrap();

        let contact = |frame: usize| compiled.frames[frame].agents["alice"].contacts[0].clone();
        assert_eq!((contact(0).state_since_ms, contact(0).connected_ms), (0, None));
        assert_eq!((contact(1).state_since_ms, contact(1).connected_ms), (60_000, Some(60_000)));
        assert_eq!((contact(2).state_since_ms, contact(2).connected_ms), (60_000, Some(60_000)));
        assert_eq!((contact(3).state_since_ms, contact(3).connected_ms), (180_000, Some(60_000)));
        assert_eq!(contact(0).queue.as_deref(), Some("q-sales"));
    }

    #[test]
    fn slots_follow_the_routing_profile_and_the_contacts() {
        let compiled = compile(two_agents(serde_json::json!([
            {"agents": {"bob": {"contacts": [
                {"id": "c-1", "channel": "CHAT"},
                {"id": "c-2", "channel": "CHAT", "state": "MISSED"}
            ]}}},
            {"agents": {"bob": {"contacts": [{"id": "c-1", "channel": "CHAT"}, {"id": "c-3", "channel": "CHAT"}]}}},
            {"agents": {"bob": {"slots": {"CHAT": {"available": 0}}}}}
        ])))
        .unwrap();

        let chat = |frame: usize| compiled.frames[frame].agents["bob"].slots["CHAT"];
        assert_eq!(chat(0), SlotCounts { max: 2, active: 1, available: 1 });
        assert_eq!(chat(1), SlotCounts { max: 2, active: 2, available: 0 });
        assert_eq!(chat(2), SlotCounts { max: 2, active: 0, available: 0 });
        assert_eq!(compiled.frames[0].agents["bob"].hierarchy, vec!["hg-emea", "hg-lisbon"]);
    }

    #[test]
    fn base_time_and_instance_id_come_from_the_file_when_given() {
        let mut json = two_agents(serde_json::json!([{"agents": {}}]));
        json["baseTime"] = "2024-12-03T10:40:00Z".into();
        json["instanceId"] = "from-file".into();
        let compiled = compile(json).unwrap();
        assert_eq!(compiled.directory.base_time_ms, 1_733_222_400_000);
        assert_eq!(compiled.directory.instance_id, "from-file");

        let compiled = compile(two_agents(serde_json::json!([{"agents": {}}]))).unwrap();
        assert_eq!((compiled.directory.base_time_ms, compiled.directory.instance_id.as_str()), (BASE_MS, "inst-1"));
    }

    #[test]
    fn mistakes_are_reported_with_where_they_are() {
        let unknown_agent = compile(two_agents(serde_json::json!([{"agents": {"carol": "Available"}}]))).unwrap_err();
        assert!(unknown_agent.to_string().contains("frame 0 names agent carol"), "{unknown_agent}");

        let typo = compile(two_agents(serde_json::json!([{"agents": {"alice": {"stauts": "Break"}}}]))).unwrap_err();
        assert!(typo.to_string().contains("unknown field `stauts`"), "{typo}");

        let backwards =
            compile(two_agents(serde_json::json!([{"at": 60, "agents": {}}, {"at": 30, "agents": {}}]))).unwrap_err();
        assert!(backwards.to_string().contains("not after the frame before it"), "{backwards}");

        let bad_queue = compile(two_agents(serde_json::json!([
            {"agents": {"alice": {"contacts": [{"id": "c-1", "queue": "q-nowhere"}]}}}
        ])))
        .unwrap_err();
        assert!(
            bad_queue.to_string().contains("frame 0, agent alice: contact c-1 is in queue q-nowhere"),
            "{bad_queue}"
        );
    }
}
