//! The scenario files shipped in `events/scenarios/` load, and the demo's frames, compared one
//! after another by the event rules of the catalogue, give every event type.

use std::collections::BTreeSet;
use std::path::PathBuf;

use connect_sim::world::Frame;
use connect_sim::Scenario;

fn scenarios_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events/scenarios")
}

/// The detail-types the catalogue's rules give for one pair of frames, with the channel for
/// contact and slot events.
fn event_types(previous: &Frame, current: &Frame) -> Vec<String> {
    let mut events = Vec::new();
    for id in current.agents.keys().filter(|id| !previous.agents.contains_key(*id)) {
        events.push(format!("Agent Logged In {id}"));
    }
    for id in previous.agents.keys().filter(|id| !current.agents.contains_key(*id)) {
        events.push(format!("Agent Logged Out {id}"));
    }
    for (id, now) in &current.agents {
        let Some(before) = previous.agents.get(id) else { continue };
        let status_key = |a: &connect_sim::world::AgentState| a.status.as_ref().map(|s| (s.id.clone(), s.since_ms));
        if status_key(before) != status_key(now) {
            events.push(format!("Agent Status Changed {id}"));
        }
        for contact in &now.contacts {
            let was = before.contacts.iter().find(|c| c.id == contact.id).map(|c| c.state.as_str());
            let newly =
                |states: &[&str]| states.contains(&contact.state.as_str()) && !was.is_some_and(|w| states.contains(&w));
            if newly(&["MISSED", "REJECTED"]) {
                events.push(format!("Agent Contact Missed {} {id}", contact.channel));
            }
            if newly(&["ERROR"]) {
                events.push(format!("Agent Contact Errored {} {id}", contact.channel));
            }
        }
        for (channel, slots) in &now.slots {
            let Some(earlier) = before.slots.get(channel) else { continue };
            if slots.max > 0 && earlier.available > 0 && slots.available == 0 {
                events.push(format!("Agent Slots Saturated {channel} {id}"));
            }
            if slots.max > 0 && earlier.available == 0 && slots.available > 0 {
                events.push(format!("Agent Slots Recovered {channel} {id}"));
            }
        }
    }
    events
}

#[test]
fn every_shipped_scenario_loads() {
    let mut loaded = 0;
    for entry in std::fs::read_dir(scenarios_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let scenario = Scenario::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            scenario.compile("instance", 0).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            loaded += 1;
        }
    }
    assert!(loaded >= 1);
}

#[test]
fn the_demo_gives_every_event_type_frame_after_frame() {
    let demo = Scenario::load(scenarios_dir().join("demo.json")).unwrap().compile("instance", 0).unwrap();
    assert!((6..=10).contains(&demo.directory.users.len()));
    assert_eq!(demo.directory.routing_profiles.len(), 3);

    let events: Vec<String> = demo.frames.windows(2).flat_map(|pair| event_types(&pair[0], &pair[1])).collect();
    let types: BTreeSet<&str> = events
        .iter()
        .filter_map(|e| {
            [
                "Agent Status Changed",
                "Agent Logged In",
                "Agent Logged Out",
                "Agent Contact Missed",
                "Agent Contact Errored",
                "Agent Slots Saturated",
                "Agent Slots Recovered",
            ]
            .into_iter()
            .find(|t| e.starts_with(t))
        })
        .collect();
    assert_eq!(types.len(), 7, "event types seen: {types:?}\n{events:#?}");

    assert!(events.iter().any(|e| e.starts_with("Agent Contact Missed CHAT")), "the missed contact is a chat");
    assert!(events.iter().any(|e| e.starts_with("Agent Slots Saturated CHAT")), "chat slots fill up");
    assert!(events.iter().any(|e| e.starts_with("Agent Slots Recovered CHAT")), "chat slots free up");
}

#[test]
fn the_demo_baseline_is_in_the_past_of_its_start() {
    let demo = Scenario::load(scenarios_dir().join("demo.json")).unwrap().compile("instance", 0).unwrap();
    let latest = demo
        .frames
        .iter()
        .flat_map(|f| f.agents.values())
        .flat_map(|a| a.status.iter().map(|s| s.since_ms).chain(a.contacts.iter().map(|c| c.state_since_ms)))
        .max()
        .unwrap();
    assert!(latest <= 0, "no timestamp is after the simulator's start, so none is in the future");
}
