//! A seeded contact centre: N agents over M routing profiles who log in, take calls, chats and
//! tasks, put callers on hold, do after contact work, miss and reject contacts, fill their chat
//! slots, take breaks and log out, one frame at a time. The same seed gives the same frames.

use std::collections::BTreeMap;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::world::{slots_for, AgentState, Contact, Directory, Frame, Named, RoutingProfile, Status, User};

/// The shape of a generated contact centre.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratorConfig {
    pub agents: usize,
    pub routing_profiles: usize,
    pub queues: usize,
    pub hierarchy_groups: usize,
    pub seed: u64,
    /// The share of agents logged in in the first frame, 0 to 1.
    pub logged_in_share: f64,
    /// Simulated seconds between frames.
    pub frame_seconds: f64,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        Self {
            agents: 50,
            routing_profiles: 6,
            queues: 4,
            hierarchy_groups: 3,
            seed: 1,
            logged_in_share: 0.8,
            frame_seconds: 60.0,
        }
    }
}

const BREAK_STATUSES: [&str; 3] = ["Break", "Lunch", "Training"];

/// Generates frames one after another.
#[derive(Debug, Clone)]
pub struct Generator {
    config: GeneratorConfig,
    rng: SmallRng,
    agents: Vec<GeneratedAgent>,
    frame: Option<Frame>,
    contact_seq: u64,
}

#[derive(Debug, Clone)]
struct GeneratedAgent {
    user: User,
    concurrency: BTreeMap<String, u32>,
    queues: Vec<String>,
    state: Option<AgentState>,
}

impl Generator {
    /// The directory of the generated centre and a generator positioned before its first frame.
    pub fn new(config: GeneratorConfig, instance_id: &str, base_time_ms: i64) -> (Directory, Self) {
        let profiles = config.routing_profiles.max(1);
        let queues: Vec<Named> =
            (1..=config.queues).map(|q| Named { id: format!("q-{q:04}"), name: format!("Queue {q}") }).collect();
        let hierarchy_groups: Vec<Named> = (1..=config.hierarchy_groups)
            .map(|h| Named { id: format!("hg-{h:03}"), name: format!("Team {h}") })
            .collect();

        // Neighbouring profiles share a queue, so queue filters overlap the way real ones do.
        let routing_profiles: Vec<RoutingProfile> = (0..profiles)
            .map(|p| {
                let served = if queues.is_empty() {
                    Vec::new()
                } else {
                    let mut served =
                        vec![queues[p % queues.len()].id.clone(), queues[(p + 1) % queues.len()].id.clone()];
                    served.dedup();
                    served
                };
                let concurrency = match p % 3 {
                    0 => BTreeMap::from([("VOICE".to_owned(), 1)]),
                    1 => BTreeMap::from([("CHAT".to_owned(), 3)]),
                    _ => BTreeMap::from([("VOICE".to_owned(), 1), ("CHAT".to_owned(), 2), ("TASK".to_owned(), 1)]),
                };
                RoutingProfile {
                    id: format!("rp-{:04}", p + 1),
                    name: format!("Routing profile {}", p + 1),
                    queues: served,
                    concurrency,
                }
            })
            .collect();

        let users: Vec<User> = (0..config.agents)
            .map(|i| User {
                id: format!("agent-{:05}", i + 1),
                username: format!("agent{}", i + 1),
                routing_profile: routing_profiles[i % profiles].id.clone(),
                hierarchy: hierarchy_groups
                    .get(i % hierarchy_groups.len().max(1))
                    .map(|g| vec![g.id.clone()])
                    .unwrap_or_default(),
            })
            .collect();

        let agents = users
            .iter()
            .map(|user| {
                let profile = routing_profiles
                    .iter()
                    .find(|p| p.id == user.routing_profile)
                    .cloned()
                    .unwrap_or_else(|| routing_profiles[0].clone());
                GeneratedAgent {
                    user: user.clone(),
                    concurrency: profile.concurrency,
                    queues: profile.queues,
                    state: None,
                }
            })
            .collect();

        let directory = Directory {
            instance_id: instance_id.to_owned(),
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            base_time_ms,
            routing_profiles,
            queues,
            hierarchy_groups,
            users,
        };
        let generator = Self { rng: SmallRng::seed_from_u64(config.seed), config, agents, frame: None, contact_seq: 0 };
        (directory, generator)
    }

    /// The next frame: the first one on the first call, then one step of everybody's day.
    pub fn next_frame(&mut self) -> Frame {
        let (index, at_ms) = match &self.frame {
            None => (0, 0),
            Some(frame) => (frame.index + 1, frame.at_ms + (self.config.frame_seconds * 1000.0).round() as i64),
        };

        let mut agents = std::mem::take(&mut self.agents);
        for agent in &mut agents {
            if index == 0 {
                self.start(agent, at_ms);
            } else {
                self.step(agent, at_ms);
            }
        }
        self.agents = agents;

        let frame = Frame {
            index,
            at_ms,
            agents: self.agents.iter().filter_map(|a| a.state.clone().map(|s| (s.user_id.clone(), s))).collect(),
        };
        self.frame = Some(frame.clone());
        frame
    }

    fn start(&mut self, agent: &mut GeneratedAgent, at_ms: i64) {
        if !self.rng.random_bool(self.config.logged_in_share.clamp(0.0, 1.0)) {
            return;
        }
        let since = at_ms - self.rng.random_range(0..3_600_000);
        let status = if self.rng.random_bool(0.1) { self.break_status() } else { "Available" };
        let mut state = logged_in(&agent.user, Status::new(status, since));

        if status == "Available" {
            for (channel, &max) in &agent.concurrency {
                let busy = self.rng.random_range(0..=max);
                for _ in 0..busy {
                    let contact_state =
                        self.pick(&[("CONNECTED", 6), ("CONNECTED_ONHOLD", 1), ("ENDED", 2), ("CONNECTING", 1)]);
                    let started = at_ms - self.rng.random_range(0..600_000);
                    let contact = self.new_contact(channel, &agent.queues, contact_state, started);
                    state.contacts.push(contact);
                }
            }
        }
        agent.state = Some(finish(state, &agent.concurrency));
    }

    fn step(&mut self, agent: &mut GeneratedAgent, at_ms: i64) {
        let Some(mut state) = agent.state.take() else {
            if self.rng.random_bool(0.08) {
                let since = self.moment(at_ms);
                agent.state = Some(finish(logged_in(&agent.user, Status::new("Available", since)), &agent.concurrency));
            }
            return;
        };

        let mut cleared_unanswered = false;
        let contacts = std::mem::take(&mut state.contacts);
        for mut contact in contacts {
            let moment = self.moment(at_ms);
            match contact.state.as_str() {
                "CONNECTING" => {
                    let unanswered = if contact.channel == "VOICE" {
                        "MISSED"
                    } else {
                        self.pick(&[("MISSED", 1), ("REJECTED", 1)])
                    };
                    let next = self.pick(&[("CONNECTED", 65), (unanswered, 12), ("ERROR", 3), ("CONNECTING", 20)]);
                    if next != "CONNECTING" {
                        contact.state = next.to_owned();
                        contact.state_since_ms = moment;
                        if next == "CONNECTED" {
                            contact.connected_ms = Some(moment);
                        }
                    }
                }
                "CONNECTED" => {
                    let hold = if contact.channel == "VOICE" { 15 } else { 0 };
                    match self.pick(&[("CONNECTED_ONHOLD", hold), ("ENDED", 30), ("CONNECTED", 55)]) {
                        // Connect keeps the CONNECTED start time while the contact is on hold.
                        "CONNECTED_ONHOLD" => contact.state = "CONNECTED_ONHOLD".into(),
                        "ENDED" => {
                            contact.state = "ENDED".into();
                            contact.state_since_ms = moment;
                        }
                        _ => {}
                    }
                }
                "CONNECTED_ONHOLD" => {
                    if self.rng.random_bool(0.5) {
                        contact.state = "CONNECTED".into();
                    }
                }
                "ENDED" => {
                    if self.rng.random_bool(0.6) {
                        continue;
                    }
                }
                _ => {
                    if self.rng.random_bool(0.5) {
                        cleared_unanswered = true;
                        continue;
                    }
                }
            }
            state.contacts.push(contact);
        }

        let current = state.status.as_ref().map(|s| s.name.clone()).unwrap_or_default();
        if cleared_unanswered && current == "Available" {
            // The agent clears a missed contact by setting Available again, which restarts the status.
            state.status = Some(Status::new("Available", self.moment(at_ms)));
        }

        if state.contacts.is_empty() {
            if let Some(next) = state.next_status.take() {
                state.status = Some(Status::new(&next, self.moment(at_ms)));
            } else if current == "Available" && self.rng.random_bool(0.05) {
                let status = self.break_status();
                state.status = Some(Status::new(status, self.moment(at_ms)));
            } else if current != "Available" {
                if self.rng.random_bool(0.05) {
                    return;
                }
                if self.rng.random_bool(0.3) {
                    state.status = Some(Status::new("Available", self.moment(at_ms)));
                }
            } else if self.rng.random_bool(0.01) {
                return;
            }
        } else if state.next_status.is_none() && self.rng.random_bool(0.03) {
            state.next_status = Some(self.break_status().to_owned());
        }

        // Connect routes nothing to an agent with an unanswered contact until it is cleared.
        let routable = state.status.as_ref().is_some_and(|s| s.name == "Available")
            && state.next_status.is_none()
            && !state.contacts.iter().any(|c| matches!(c.state.as_str(), "MISSED" | "REJECTED" | "ERROR"));
        if routable {
            let slots = slots_for(&agent.concurrency, &state.contacts);
            for (channel, counts) in slots {
                let offer = match channel.as_str() {
                    "CHAT" => 0.45,
                    "VOICE" => 0.3,
                    _ => 0.15,
                };
                if counts.available > 0 && self.rng.random_bool(offer) {
                    let moment = self.moment(at_ms);
                    let contact = self.new_contact(&channel, &agent.queues, "CONNECTING", moment);
                    state.contacts.push(contact);
                }
            }
        }

        agent.state = Some(finish(state, &agent.concurrency));
    }

    fn new_contact(&mut self, channel: &str, queues: &[String], state: &str, since_ms: i64) -> Contact {
        self.contact_seq += 1;
        let initiation = self.pick(&[("INBOUND", 8), ("TRANSFER", 1), ("OUTBOUND", 1)]);
        let queue = (!queues.is_empty()).then(|| queues[self.rng.random_range(0..queues.len())].clone());
        let connected = matches!(state, "CONNECTED" | "CONNECTED_ONHOLD" | "ENDED");
        Contact {
            id: format!("contact-{:08}", self.contact_seq),
            channel: channel.to_owned(),
            initiation_method: initiation.to_owned(),
            state: state.to_owned(),
            state_since_ms: since_ms,
            connected_ms: connected.then_some(since_ms),
            queue,
        }
    }

    /// A moment within the last frame interval, with milliseconds, so timestamps are fractional.
    fn moment(&mut self, at_ms: i64) -> i64 {
        let interval = (self.config.frame_seconds * 1000.0).max(1.0) as i64;
        at_ms - self.rng.random_range(0..interval)
    }

    fn break_status(&mut self) -> &'static str {
        BREAK_STATUSES[self.rng.random_range(0..BREAK_STATUSES.len())]
    }

    fn pick<'a>(&mut self, weighted: &[(&'a str, u32)]) -> &'a str {
        let total: u32 = weighted.iter().map(|(_, w)| w).sum();
        let mut roll = self.rng.random_range(0..total.max(1));
        for (value, weight) in weighted {
            if roll < *weight {
                return value;
            }
            roll -= weight;
        }
        weighted[0].0
    }
}

fn logged_in(user: &User, status: Status) -> AgentState {
    AgentState {
        user_id: user.id.clone(),
        routing_profile: user.routing_profile.clone(),
        hierarchy: user.hierarchy.clone(),
        status: Some(status),
        next_status: None,
        contacts: Vec::new(),
        slots: BTreeMap::new(),
    }
}

fn finish(mut state: AgentState, concurrency: &BTreeMap<String, u32>) -> AgentState {
    state.slots = slots_for(concurrency, &state.contacts);
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(config: GeneratorConfig, count: usize) -> Vec<Frame> {
        let (_, mut generator) = Generator::new(config, "inst-1", 0);
        (0..count).map(|_| generator.next_frame()).collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_frames() {
        let config = GeneratorConfig { agents: 40, seed: 7, ..Default::default() };
        assert_eq!(frames(config.clone(), 5), frames(config.clone(), 5));
        assert_ne!(frames(config.clone(), 5), frames(GeneratorConfig { seed: 8, ..config }, 5));
    }

    #[test]
    fn agents_are_spread_evenly_over_routing_profiles() {
        let (directory, _) =
            Generator::new(GeneratorConfig { agents: 1000, routing_profiles: 250, ..Default::default() }, "i", 0);
        assert_eq!(directory.routing_profiles.len(), 250);
        for profile in &directory.routing_profiles {
            assert_eq!(directory.users.iter().filter(|u| u.routing_profile == profile.id).count(), 4);
        }
    }

    #[test]
    fn everyone_is_logged_in_at_first_when_asked() {
        let first = &frames(GeneratorConfig { agents: 300, logged_in_share: 1.0, ..Default::default() }, 1)[0];
        assert_eq!(first.agents.len(), 300);
    }

    #[test]
    fn a_day_goes_through_every_kind_of_state() {
        let all = frames(GeneratorConfig { agents: 200, seed: 3, ..Default::default() }, 30);
        let contact_states: std::collections::BTreeSet<&str> =
            all.iter().flat_map(|f| f.agents.values()).flat_map(|a| &a.contacts).map(|c| c.state.as_str()).collect();
        for state in ["CONNECTING", "CONNECTED", "CONNECTED_ONHOLD", "ENDED", "MISSED", "REJECTED", "ERROR"] {
            assert!(contact_states.contains(state), "no contact was ever {state}");
        }

        let statuses: std::collections::BTreeSet<&str> = all
            .iter()
            .flat_map(|f| f.agents.values())
            .filter_map(|a| a.status.as_ref())
            .map(|s| s.name.as_str())
            .collect();
        assert!(statuses.contains("Available") && statuses.iter().any(|s| BREAK_STATUSES.contains(s)));

        let saturated_chat = all
            .iter()
            .flat_map(|f| f.agents.values())
            .any(|a| a.slots.get("CHAT").is_some_and(|s| s.max > 0 && s.available == 0));
        assert!(saturated_chat, "no agent ever filled their chat slots");

        let logged_out_later = all.windows(2).any(|w| w[0].agents.keys().any(|id| !w[1].agents.contains_key(id)));
        let logged_in_later = all.windows(2).any(|w| w[1].agents.keys().any(|id| !w[0].agents.contains_key(id)));
        assert!(logged_out_later && logged_in_later);
        assert!(all.iter().flat_map(|f| f.agents.values()).any(|a| a.next_status.is_some()));
    }
}
