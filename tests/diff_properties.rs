//! Properties of the diff that hold for any pair of snapshots.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use common::*;
use connect_pulse::diff::{diff, Outcome};
use connect_pulse::events::{DetailType, EventId};
use connect_pulse::model::{Agent, AgentStatus, Channel, Contact, ContactState, Slots, Snapshot};
use proptest::prelude::*;
use proptest::sample::select;

fn channels() -> Vec<Channel> {
    vec![Channel::Voice, Channel::Chat, Channel::Task, Channel::Email, Channel::from("SMS")]
}

fn contact_states() -> Vec<ContactState> {
    let mut states: Vec<ContactState> = [
        "INCOMING",
        "PENDING",
        "CONNECTING",
        "CONNECTED",
        "CONNECTED_ONHOLD",
        "MISSED",
        "ERROR",
        "ENDED",
        "REJECTED",
        "PAUSED",
    ]
    .into_iter()
    .map(ContactState::from)
    .collect();
    states.sort();
    states
}

fn arb_status() -> impl Strategy<Value = Option<AgentStatus>> {
    let status =
        (select(vec!["Available", "Lunch", "Training", "Offline"]), 0..3i64).prop_map(|(name, minute)| AgentStatus {
            name: Some(name.into()),
            arn: Some(status_arn(name).into()),
            started_at: Some(at("09:00:00") + Duration::minutes(minute)),
        });
    prop::option::weighted(0.9, status)
}

fn arb_contacts() -> impl Strategy<Value = Vec<Contact>> {
    let one = (select(channels()), select(contact_states()), 0..3i64).prop_map(|(channel, state, minute)| {
        let mut contact = contact("", channel, state, "09:30:00");
        contact.state_started_at = contact.state_started_at.map(|at| at + Duration::minutes(minute));
        contact
    });
    prop::collection::btree_map(
        select(vec!["c1", "c2", "c3", "c4-a-contact-id-longer-than-a-uuid-of-36-chars"]),
        one,
        0..3,
    )
    .prop_map(|contacts| {
        contacts
            .into_iter()
            .map(|(id, mut contact)| {
                contact.contact_id = id.into();
                contact
            })
            .collect()
    })
}

fn arb_slots() -> impl Strategy<Value = BTreeMap<Channel, Slots>> {
    let one = (0..3u16).prop_flat_map(|max| (0..=max).prop_map(move |available| slots(available, max)));
    prop::collection::btree_map(select(channels()), one, 0..4)
}

fn arb_agent(id: &'static str) -> impl Strategy<Value = Agent> {
    (arb_status(), arb_contacts(), arb_slots()).prop_map(move |(status, contacts, slots)| Agent {
        status,
        contacts: contacts.into(),
        slots: slots.into_iter().collect(),
        ..agent(id)
    })
}

/// A snapshot of up to six agents out of a pool of eight, so two snapshots share most agents.
fn arb_snapshot(taken_at: &'static str) -> impl Strategy<Value = Snapshot> {
    // One id too long to be stored inline, so the side-by-side walk also meets ids on the heap.
    let ids = ["a0", "a1", "a2", "a3-an-agent-id-longer-than-a-uuid-of-36-characters", "a4", "a5", "a6", "a7"];
    let agents = prop::sample::subsequence(ids.to_vec(), 0..=6)
        .prop_flat_map(|ids| ids.into_iter().map(arb_agent).collect::<Vec<_>>());
    (agents, any::<bool>()).prop_map(move |(agents, complete)| {
        if complete {
            snapshot(taken_at, agents)
        } else {
            partial_snapshot(taken_at, agents)
        }
    })
}

fn later(mut snapshot: Snapshot, seconds: i64) -> Snapshot {
    snapshot.taken_at += Duration::seconds(seconds);
    snapshot
}

fn event_ids(outcome: &Outcome) -> Vec<EventId> {
    outcome.events.iter().map(|event| event.detail.event_id).collect()
}

proptest! {
    #[test]
    fn identical_snapshots_give_no_events(current in arb_snapshot("10:00:00")) {
        let previous = baseline(current.clone());

        let outcome = diff(Some(&previous), later(current, 60), &settings());

        prop_assert!(outcome.events.is_empty(), "{:?}", outcome.events.iter().map(|e| e.detail_type).collect::<Vec<_>>());
    }

    #[test]
    fn the_same_inputs_give_the_same_events_in_the_same_order(
        previous in arb_snapshot("10:00:00"),
        current in arb_snapshot("10:01:00"),
    ) {
        let previous = baseline(previous);

        let first = diff(Some(&previous), current.clone(), &settings());
        let second = diff(Some(&previous), current, &settings());

        prop_assert_eq!(first, second);
    }

    #[test]
    fn a_later_rerun_of_a_tick_gives_the_same_event_ids(
        previous in arb_snapshot("10:00:00"),
        current in arb_snapshot("10:01:00"),
    ) {
        let previous = baseline(previous);

        let first = diff(Some(&previous), current.clone(), &settings());
        let rerun = diff(Some(&previous), later(current, 25), &settings());

        prop_assert_eq!(event_ids(&first), event_ids(&rerun));
    }

    #[test]
    fn event_ids_are_unique_within_one_diff(
        previous in arb_snapshot("10:00:00"),
        current in arb_snapshot("10:01:00"),
    ) {
        let outcome = diff(Some(&baseline(previous)), current, &settings());

        let ids = event_ids(&outcome);
        let unique: BTreeSet<&EventId> = ids.iter().collect();
        prop_assert_eq!(unique.len(), ids.len());
    }

    #[test]
    fn an_incomplete_snapshot_says_nothing_about_the_agents_it_lacks(
        previous in arb_snapshot("10:00:00"),
        current in arb_snapshot("10:01:00"),
    ) {
        let previous = baseline(previous);
        let current = partial_snapshot("10:01:00", current.agents.into_iter());
        let absent: Vec<&Agent> = previous.agents.iter().filter(|a| !current.agents.contains(&a.id)).collect();

        let outcome = diff(Some(&previous), current, &settings());

        prop_assert!(outcome.events.iter().all(|event| event.detail_type != DetailType::AgentLoggedOut));
        for before in absent {
            prop_assert!(outcome.events.iter().all(|event| event.detail.agent.id != before.id));
            let carried = &outcome.snapshot.agents[&before.id];
            prop_assert_eq!(carried.last_seen_at, Some(previous.taken_at));
            prop_assert_eq!(&carried.contacts, &before.contacts);
            prop_assert_eq!(&carried.status, &before.status);
        }
    }

    #[test]
    fn every_event_matches_its_schema_and_every_stored_contact_is_tracked(
        previous in arb_snapshot("10:00:00"),
        current in arb_snapshot("10:01:00"),
    ) {
        let outcome = tick(&baseline(previous), current);

        for agent in &outcome.snapshot.agents {
            prop_assert!(agent.contacts.iter().all(|contact| contact.observed_in_state_since.is_some()));
            for (_, slots) in agent.slots.iter() {
                let saturated = slots.max.unwrap_or(0) > 0 && slots.available == Some(0);
                prop_assert_eq!(slots.saturated_since.is_some(), saturated);
            }
        }
    }
}
