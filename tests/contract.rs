//! The published event contract: schemas, samples and the events the diff emits agree.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use connect_pulse::events::{DetailType, Event};
use connect_pulse::model::{Channel, ContactState, InitiationMethod};
use serde_json::{json, Value};

/// One tick in which every detail-type of the catalogue happens, with every optional key filled
/// and Connect values this crate does not know.
fn every_kind_of_event() -> Vec<Event> {
    let previous = baseline(snapshot(
        "10:00:00",
        [
            agent("alice")
                .with_contact(contact("chat-1", Channel::Chat, ContactState::Connecting, "09:59:50"))
                .with_contact(contact("call-1", Channel::Voice, ContactState::Connecting, "09:59:55")),
            agent("bob"),
            agent("carol").with_slots(Channel::Chat, 0, 2),
        ],
    ));

    let mut alice = agent("alice")
        .in_status("Lunch", "10:00:30.250")
        .with_contact(contact("chat-1", Channel::Chat, ContactState::Missed, "10:00:20"))
        .with_contact(contact("call-1", Channel::Voice, ContactState::Error, "10:00:25"));
    alice.next_status = Some("Offline".into());
    let mut odd = contact("sms-1", Channel::from("SMS"), ContactState::Rejected, "10:00:40");
    odd.initiation_method = Some(InitiationMethod::from("SCHEDULED"));
    let dave = agent("dave").with_contact(odd).with_slots(Channel::from("SMS"), 0, 1);
    let current = snapshot("10:01:00", [alice, agent("carol").with_slots(Channel::Chat, 1, 2), dave]);

    tick(&previous, current).events
}

#[test]
fn every_schema_is_a_valid_draft_2020_12_schema() {
    for detail_type in DetailType::ALL {
        let schema = schema(detail_type);
        assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema", "{detail_type}");
        assert!(jsonschema::draft202012::meta::validate(&schema).is_ok(), "{detail_type} is not a 2020-12 schema");
        assert_eq!(schema["properties"]["detail-type"]["const"], detail_type.as_str());
    }
}

#[test]
fn the_schema_and_sample_folders_hold_exactly_the_catalogue() {
    let expected: BTreeSet<String> = DetailType::ALL.into_iter().map(|t| format!("{}.json", kebab(t))).collect();
    for folder in ["schemas", "samples"] {
        let found: BTreeSet<String> = std::fs::read_dir(events_dir().join(folder))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(found, expected, "events/{folder}");
    }
}

#[test]
fn every_schema_shares_the_same_definitions() {
    let first = schema(DetailType::ALL[0]);
    for detail_type in DetailType::ALL {
        assert_eq!(schema(detail_type)["$defs"], first["$defs"], "$defs of {detail_type} drifted");
    }
}

#[test]
fn every_sample_matches_its_schema() {
    for detail_type in DetailType::ALL {
        let sample = read_json(events_dir().join("samples").join(format!("{}.json", kebab(detail_type))));
        assert_eq!(sample["detail-type"], detail_type.as_str());
        let errors = schema_errors(detail_type, &sample);
        assert!(errors.is_empty(), "sample of {detail_type}:\n{}", errors.join("\n"));
    }
}

#[test]
fn every_detail_type_the_diff_emits_matches_its_schema() {
    let events = every_kind_of_event();

    let emitted: BTreeSet<DetailType> = events.iter().map(|event| event.detail_type).collect();
    assert_eq!(emitted, BTreeSet::from(DetailType::ALL));
    for event in &events {
        assert_matches_schema(event);
    }
}

#[test]
fn the_diff_fills_every_detail_key_the_schemas_promise() {
    let mut keys: BTreeMap<DetailType, BTreeSet<String>> = BTreeMap::new();
    for event in every_kind_of_event() {
        let Value::Object(detail) = detail(&event) else { panic!("detail is not an object") };
        keys.entry(event.detail_type).or_default().extend(detail.keys().cloned());
    }

    for detail_type in DetailType::ALL {
        let schema = schema(detail_type);
        let promised: BTreeSet<String> =
            schema["properties"]["detail"]["properties"].as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys[&detail_type], promised, "{detail_type}");
    }
}

#[test]
fn unknown_connect_values_are_valid_in_the_contract() {
    let events = every_kind_of_event();
    let dave: Vec<Value> = events.iter().filter(|event| event.detail.agent.id == "dave").map(detail).collect();

    assert!(dave.iter().any(|d| d["contact"]["channel"] == "SMS" && d["contact"]["initiationMethod"] == "SCHEDULED"));
    assert!(dave.iter().any(|d| d["channel"] == "SMS" && d["availableSlots"] == 0));
}

/// A change that makes a valid delivered event break the contract.
type Breakage = fn(&mut Value);

#[test]
fn a_broken_event_is_rejected() {
    let events = every_kind_of_event();
    let missed = events.iter().find(|event| event.detail_type == DetailType::AgentContactMissed).unwrap();
    let valid = delivered(missed);
    assert!(schema_errors(DetailType::AgentContactMissed, &valid).is_empty());

    let breakages: [(&str, Breakage); 10] = [
        ("an unknown detail key", |e| e["detail"]["mood"] = json!("grumpy")),
        ("an unknown agent key", |e| e["detail"]["agent"]["name"] = json!("Alice")),
        ("no eventId", |e| drop(e["detail"].as_object_mut().unwrap().remove("eventId"))),
        ("an activity outside the roll-up", |e| e["detail"]["agent"]["activity"] = json!("BUSY")),
        ("a time that is not RFC 3339", |e| e["detail"]["observedAt"] = json!("03/12/2024 10:01")),
        ("an envelope time that is not a time", |e| e["time"] = json!("2024-12-03T25:61:00Z")),
        ("another schema version", |e| e["detail"]["schemaVersion"] = json!("2.0")),
        ("a contact that was not missed", |e| e["detail"]["contact"]["state"] = json!("CONNECTED")),
        ("another detail-type", |e| e["detail-type"] = json!("Agent Contact Errored")),
        ("no detail", |e| drop(e.as_object_mut().unwrap().remove("detail"))),
    ];
    for (what, breakage) in breakages {
        let mut broken = valid.clone();
        breakage(&mut broken);
        assert!(!schema_errors(DetailType::AgentContactMissed, &broken).is_empty(), "{what} was accepted");
    }
}

#[test]
fn the_envelope_tolerates_keys_eventbridge_may_add() {
    let events = every_kind_of_event();
    let mut replayed = delivered(&events[0]);
    replayed["replay-name"] = json!("after-the-outage");
    replayed.as_object_mut().unwrap().remove("id");

    assert!(schema_errors(events[0].detail_type, &replayed).is_empty());
}
