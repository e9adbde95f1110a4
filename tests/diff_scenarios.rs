//! Contact-centre stories told to the diff: what agents do, and the events that come out.

mod common;

use common::*;
use connect_pulse::diff::diff;
use connect_pulse::events::{Activity, Change, DetailType, EventId};
use connect_pulse::model::{Channel, ContactState, InitiationMethod};
use serde_json::json;

#[test]
fn a_first_run_stores_a_baseline_and_reports_nothing() {
    let current = snapshot(
        "10:00:00",
        [
            agent("alice").with_contact(contact("chat-1", Channel::Chat, ContactState::Missed, "09:59:40")),
            agent("bob").with_slots(Channel::Chat, 0, 2),
        ],
    );

    let outcome = diff(None, current, &settings());

    assert!(outcome.events.is_empty());
    assert_eq!(outcome.snapshot.agents["alice"].contacts[0].observed_in_state_since, Some(at("10:00:00")));
    assert_eq!(outcome.snapshot.agents["bob"].slots[&Channel::Chat].saturated_since, Some(at("10:00:00")));
}

#[test]
fn a_missed_chat_leaves_the_status_unchanged() {
    let previous = baseline(snapshot(
        "10:00:00",
        [agent("alice").with_contact(contact("chat-1", Channel::Chat, ContactState::Connecting, "09:59:50"))],
    ));

    let outcome = tick(
        &previous,
        snapshot(
            "10:01:00",
            [agent("alice").with_contact(contact("chat-1", Channel::Chat, ContactState::Missed, "10:00:20"))],
        ),
    );

    assert_eq!(detail_types(&outcome), [DetailType::AgentContactMissed]);
    let detail = detail(&outcome.events[0]);
    assert_eq!(detail["contact"]["contactId"], "chat-1");
    assert_eq!(detail["contact"]["channel"], "CHAT");
    assert_eq!(detail["contact"]["state"], "MISSED");
    assert_eq!(detail["contact"]["queue"]["id"], "q-sales");
    assert_eq!(detail["agent"]["status"]["name"], "Available");
    assert_eq!(detail["agent"]["activity"], "MISSED");
    assert_eq!(outcome.events[0].resource, agent("alice").arn);
}

#[test]
fn a_missed_contact_is_reported_once_even_when_it_lingers() {
    let previous = baseline(snapshot(
        "10:00:00",
        [agent("alice").with_contact(contact("chat-1", Channel::Chat, ContactState::Connecting, "09:59:50"))],
    ));
    let missed = || agent("alice").with_contact(contact("chat-1", Channel::Chat, ContactState::Missed, "10:00:20"));

    let first = tick(&previous, snapshot("10:01:00", [missed()]));
    let second = tick(&first.snapshot, snapshot("10:02:00", [missed()]));

    assert_eq!(detail_types(&first), [DetailType::AgentContactMissed]);
    assert!(second.events.is_empty());
}

#[test]
fn a_rejected_task_is_reported_as_missed_with_its_raw_state() {
    let previous = baseline(snapshot(
        "10:00:00",
        [agent("alice").with_contact(contact("task-1", Channel::Task, ContactState::Connecting, "09:59:50"))],
    ));

    let outcome = tick(
        &previous,
        snapshot(
            "10:01:00",
            [agent("alice").with_contact(contact("task-1", Channel::Task, ContactState::Rejected, "10:00:05"))],
        ),
    );

    assert_eq!(detail_types(&outcome), [DetailType::AgentContactMissed]);
    assert_eq!(detail(&outcome.events[0])["contact"]["state"], "REJECTED");
    assert_eq!(detail(&outcome.events[0])["agent"]["activity"], "REJECTED");
}

#[test]
fn an_outbound_call_that_errors_is_reported_once() {
    let mut call = contact("call-1", Channel::Voice, ContactState::Connecting, "10:00:10");
    call.initiation_method = Some(InitiationMethod::Outbound);
    let previous = baseline(snapshot("10:00:30", [agent("alice").with_contact(call.clone())]));
    call.state = Some(ContactState::Error);
    call.state_started_at = Some(at("10:00:40"));

    let first = tick(&previous, snapshot("10:01:00", [agent("alice").with_contact(call.clone())]));
    let second = tick(&first.snapshot, snapshot("10:01:30", [agent("alice").with_contact(call)]));

    assert_eq!(detail_types(&first), [DetailType::AgentContactErrored]);
    let detail = detail(&first.events[0]);
    assert_eq!(detail["contact"]["initiationMethod"], "OUTBOUND");
    assert_eq!(detail["agent"]["activity"], "ERROR");
    assert!(second.events.is_empty());
}

#[test]
fn a_call_goes_connected_on_hold_then_after_contact_work() {
    let call = |state: ContactState| {
        // Connect keeps StateStartTimestamp at the connect time while the call is on hold.
        let started = if state == ContactState::Ended { "10:03:10" } else { "09:59:30" };
        agent("alice").with_contact(contact("call-1", Channel::Voice, state, started)).with_slots(Channel::Voice, 0, 1)
    };
    let connected = baseline(snapshot("10:00:00", [call(ContactState::Connected)]));

    let on_hold = tick(&connected, snapshot("10:01:00", [call(ContactState::ConnectedOnHold)]));
    let still_on_hold = tick(&on_hold.snapshot, snapshot("10:02:00", [call(ContactState::ConnectedOnHold)]));
    let after_call_work = tick(&still_on_hold.snapshot, snapshot("10:03:30", [call(ContactState::Ended)]));

    for outcome in [&on_hold, &still_on_hold, &after_call_work] {
        assert!(outcome.events.is_empty(), "{:?}", detail_types(outcome));
    }
    let alice = |outcome: &connect_pulse::diff::Outcome| outcome.snapshot.agents["alice"].clone();
    assert_eq!(Activity::of(&connected.agents["alice"]), Activity::OnContact);
    assert_eq!(Activity::of(&alice(&on_hold)), Activity::OnContact);
    assert_eq!(Activity::of(&alice(&after_call_work)), Activity::AfterContactWork);
    assert_eq!(connected.agents["alice"].contacts[0].observed_in_state_since, Some(at("10:00:00")));
    assert_eq!(alice(&on_hold).contacts[0].observed_in_state_since, Some(at("10:01:00")));
    assert_eq!(alice(&still_on_hold).contacts[0].observed_in_state_since, Some(at("10:01:00")));
    assert_eq!(alice(&after_call_work).contacts[0].observed_in_state_since, Some(at("10:03:30")));
    assert_eq!(alice(&after_call_work).slots[&Channel::Voice].saturated_since, Some(at("10:00:00")));
}

#[test]
fn an_agent_going_to_lunch_reports_how_long_they_were_available() {
    let previous = baseline(snapshot("10:00:00", [agent("alice")]));

    let outcome = tick(&previous, snapshot("10:01:00", [agent("alice").in_status("Lunch", "10:00:42.125")]));

    assert_eq!(detail_types(&outcome), [DetailType::AgentStatusChanged]);
    let detail = detail(&outcome.events[0]);
    assert_eq!(detail["previousStatus"]["name"], "Available");
    assert_eq!(detail["previousStatus"]["startedAt"], "2024-12-03T09:00:00.000Z");
    assert_eq!(
        detail["currentStatus"],
        json!({"name": "Lunch", "arn": status_arn("Lunch"), "startedAt": "2024-12-03T10:00:42.125Z"})
    );
    assert_eq!(detail["previousStatusDurationSeconds"], json!(3642.125));
    assert_eq!(detail["agent"]["status"]["name"], "Lunch");
    assert_eq!(detail["observedAt"], "2024-12-03T10:01:00.000Z");
    assert_eq!(outcome.events[0].time, at("10:01:00"));
    assert_eq!(&*outcome.events[0].source, SOURCE);
}

#[test]
fn going_back_to_the_same_status_is_a_change() {
    let previous = baseline(snapshot("10:00:00", [agent("alice")]));

    let outcome = tick(&previous, snapshot("10:01:00", [agent("alice").in_status("Available", "10:00:50")]));

    assert_eq!(detail_types(&outcome), [DetailType::AgentStatusChanged]);
    let detail = detail(&outcome.events[0]);
    assert_eq!(detail["previousStatus"]["arn"], detail["currentStatus"]["arn"]);
    assert_eq!(detail["previousStatusDurationSeconds"], json!(3650.0));
}

#[test]
fn an_agent_whose_status_is_not_returned_changes_nothing() {
    let previous = baseline(snapshot("10:00:00", [agent("alice")]));
    let mut alice = agent("alice");
    alice.status = None;

    let outcome = tick(&previous, snapshot("10:01:00", [alice]));

    assert!(outcome.events.is_empty());
}

#[test]
fn a_busy_chat_agent_saturates_then_recovers() {
    let chats = |available: u16| agent("alice").with_slots(Channel::Chat, available, 3);
    let previous = baseline(snapshot("10:00:00", [chats(1)]));

    let saturated = tick(&previous, snapshot("10:01:00", [chats(0)]));
    let still_saturated = tick(&saturated.snapshot, snapshot("10:02:00", [chats(0)]));
    let recovered = tick(&still_saturated.snapshot, snapshot("10:04:30.500", [chats(1)]));

    assert_eq!(detail_types(&saturated), [DetailType::AgentSlotsSaturated]);
    assert_eq!(
        saturated.events[0].detail.change,
        Change::Slots {
            channel: Channel::Chat,
            max_slots: 3,
            active_slots: 3,
            available_slots: 0,
            saturated_seconds: None
        }
    );
    assert!(still_saturated.events.is_empty());
    assert_eq!(still_saturated.snapshot.agents["alice"].slots[&Channel::Chat].saturated_since, Some(at("10:01:00")));
    assert_eq!(detail_types(&recovered), [DetailType::AgentSlotsRecovered]);
    assert_eq!(
        recovered.events[0].detail.change,
        Change::Slots {
            channel: Channel::Chat,
            max_slots: 3,
            active_slots: 2,
            available_slots: 1,
            saturated_seconds: Some(210.5)
        }
    );
    assert_eq!(recovered.snapshot.agents["alice"].slots[&Channel::Chat].saturated_since, None);
}

#[test]
fn a_channel_the_routing_profile_does_not_serve_never_saturates() {
    let previous = baseline(snapshot("10:00:00", [agent("alice").with_slots(Channel::Email, 1, 1)]));

    let outcome = tick(&previous, snapshot("10:01:00", [agent("alice").with_slots(Channel::Email, 0, 0)]));

    assert!(outcome.events.is_empty());
    assert_eq!(outcome.snapshot.agents["alice"].slots[&Channel::Email].saturated_since, None);
}

#[test]
fn an_agent_logs_in_and_later_logs_out() {
    let empty = baseline(snapshot("08:59:00", []));

    let login = tick(&empty, snapshot("09:00:00", [agent("alice")]));
    let working = tick(&login.snapshot, snapshot("09:01:00", [agent("alice").in_status("Offline", "09:00:45")]));
    let logout = tick(&working.snapshot, snapshot("09:02:00", []));

    assert_eq!(detail_types(&login), [DetailType::AgentLoggedIn]);
    assert_eq!(login.events[0].detail.change, Change::None {});
    assert_eq!(detail_types(&logout), [DetailType::AgentLoggedOut]);
    let detail = detail(&logout.events[0]);
    assert_eq!(detail["lastSeenAt"], "2024-12-03T09:01:00.000Z");
    assert_eq!(detail["agent"]["status"]["name"], "Offline");
    assert_eq!(detail["observedAt"], "2024-12-03T09:02:00.000Z");
    assert!(logout.snapshot.agents.is_empty());
}

#[test]
fn an_agent_logging_in_with_a_missed_call_and_full_slots_reports_both_but_no_status_change() {
    let previous = baseline(snapshot("10:00:00", [agent("alice")]));
    let bob = agent("bob")
        .in_status("Available", "10:00:10")
        .with_contact(contact("call-9", Channel::Voice, ContactState::Missed, "10:00:30"))
        .with_contact(contact("chat-9", Channel::Chat, ContactState::Error, "10:00:35"))
        .with_slots(Channel::Voice, 0, 1);

    let outcome = tick(&previous, snapshot("10:01:00", [agent("alice"), bob]));

    assert_eq!(
        detail_types(&outcome),
        [
            DetailType::AgentLoggedIn,
            DetailType::AgentContactMissed,
            DetailType::AgentContactErrored,
            DetailType::AgentSlotsSaturated
        ]
    );
    assert!(outcome.events.iter().all(|event| event.detail.agent.id == "bob"));
}

#[test]
fn an_agent_logging_out_during_a_partial_poll_is_not_reported() {
    let previous = baseline(snapshot("10:00:00", [agent("alice"), agent("bob").in_status("Break", "09:55:00")]));

    let partial = tick(&previous, partial_snapshot("10:01:00", [agent("alice")]));
    let partial_again = tick(&partial.snapshot, partial_snapshot("10:02:00", [agent("alice")]));
    let complete = tick(&partial_again.snapshot, snapshot("10:03:00", [agent("alice")]));

    assert!(partial.events.is_empty());
    assert!(partial_again.events.is_empty());
    let carried = &partial_again.snapshot.agents["bob"];
    assert_eq!(carried.last_seen_at, Some(at("10:00:00")));
    assert_eq!(carried.status.as_ref().and_then(|s| s.name.as_deref()), Some("Break"));
    assert_eq!(partial_again.snapshot.missing.len(), 1);

    assert_eq!(detail_types(&complete), [DetailType::AgentLoggedOut]);
    let detail = detail(&complete.events[0]);
    assert_eq!(detail["lastSeenAt"], "2024-12-03T10:00:00.000Z");
    assert_eq!(detail["agent"]["status"]["name"], "Break");
}

#[test]
fn an_agent_seen_again_after_a_partial_poll_is_not_logged_in_twice() {
    let previous = baseline(snapshot("10:00:00", [agent("alice"), agent("bob")]));

    let partial = tick(&previous, partial_snapshot("10:01:00", [agent("alice")]));
    let back = tick(&partial.snapshot, snapshot("10:02:00", [agent("alice"), agent("bob")]));

    assert!(back.events.is_empty());
    assert_eq!(back.snapshot.agents["bob"].last_seen_at, None);
}

#[test]
fn unknown_connect_values_pass_through_verbatim() {
    let paused = || {
        let mut task = contact("task-7", Channel::from("SMS"), ContactState::from("PAUSED"), "09:59:00");
        task.initiation_method = Some(InitiationMethod::from("SCHEDULED"));
        task
    };
    let previous = baseline(snapshot("10:00:00", [agent("alice").with_contact(paused())]));
    let mut rejected = paused();
    rejected.state = Some(ContactState::Rejected);

    let unchanged = tick(&previous, snapshot("10:01:00", [agent("alice").with_contact(paused())]));
    let outcome = tick(
        &unchanged.snapshot,
        snapshot("10:02:00", [agent("alice").with_contact(rejected).with_slots(Channel::from("SMS"), 0, 2)]),
    );

    assert!(unchanged.events.is_empty());
    assert_eq!(Activity::of(&unchanged.snapshot.agents["alice"]), Activity::Idle);
    assert_eq!(detail_types(&outcome), [DetailType::AgentContactMissed, DetailType::AgentSlotsSaturated]);
    assert_eq!(detail(&outcome.events[0])["contact"]["channel"], "SMS");
    assert_eq!(detail(&outcome.events[0])["contact"]["initiationMethod"], "SCHEDULED");
    assert_eq!(detail(&outcome.events[1])["channel"], "SMS");
}

#[test]
fn events_come_in_agent_order_and_by_kind_within_an_agent() {
    let previous = baseline(snapshot(
        "10:00:00",
        [
            agent("carol"),
            agent("alice")
                .with_contact(contact("chat-2", Channel::Chat, ContactState::Connecting, "09:59:00"))
                .with_contact(contact("chat-1", Channel::Chat, ContactState::Connecting, "09:59:00")),
        ],
    ));
    let alice = agent("alice")
        .in_status("Lunch", "10:00:30")
        .with_contact(contact("chat-2", Channel::Chat, ContactState::Missed, "10:00:10"))
        .with_contact(contact("chat-1", Channel::Chat, ContactState::Missed, "10:00:10"))
        .with_slots(Channel::Voice, 0, 1)
        .with_slots(Channel::Chat, 0, 2);

    let outcome = tick(&previous, snapshot("10:01:00", [agent("bob"), alice]));

    let order: Vec<(String, DetailType)> =
        outcome.events.iter().map(|event| (event.detail.agent.id.to_string(), event.detail_type)).collect();
    let of = |id: &str, detail_type| (id.to_owned(), detail_type);
    assert_eq!(
        order,
        [
            of("alice", DetailType::AgentStatusChanged),
            of("alice", DetailType::AgentContactMissed),
            of("alice", DetailType::AgentContactMissed),
            of("alice", DetailType::AgentSlotsSaturated),
            of("alice", DetailType::AgentSlotsSaturated),
            of("bob", DetailType::AgentLoggedIn),
            of("carol", DetailType::AgentLoggedOut),
        ]
    );
    assert_eq!(detail(&outcome.events[1])["contact"]["contactId"], "chat-2");
    assert_eq!(detail(&outcome.events[3])["channel"], "VOICE");
    assert_eq!(detail(&outcome.events[4])["channel"], "CHAT");
}

#[test]
fn a_tick_run_again_from_the_same_stored_snapshot_gives_the_same_event_ids() {
    let previous = baseline(snapshot(
        "10:00:00",
        [
            agent("alice").with_contact(contact("chat-1", Channel::Chat, ContactState::Connecting, "09:59:50")),
            agent("bob"),
            agent("carol").with_slots(Channel::Chat, 0, 2),
        ],
    ));
    let current = |taken_at: &str| {
        snapshot(
            taken_at,
            [
                agent("alice")
                    .in_status("Lunch", "10:00:30")
                    .with_contact(contact("chat-1", Channel::Chat, ContactState::Missed, "10:00:20"))
                    .with_slots(Channel::Voice, 0, 1),
                agent("carol").with_slots(Channel::Chat, 1, 2),
                agent("dave"),
            ],
        )
    };
    let ids = |outcome: &connect_pulse::diff::Outcome| -> Vec<EventId> {
        outcome.events.iter().map(|event| event.detail.event_id).collect()
    };

    let first = tick(&previous, current("10:01:00"));
    let retried = tick(&previous, current("10:01:00"));
    // The tick after a crash, before the snapshot was saved, polls again a little later.
    let after_crash = tick(&previous, current("10:01:20"));

    assert_eq!(first, retried);
    assert_eq!(detail_types(&first).len(), 6);
    assert_eq!(ids(&after_crash), ids(&first));
}

#[test]
fn the_same_kind_of_change_on_a_later_tick_gets_a_new_event_id() {
    let chats = |available: u16| agent("alice").with_slots(Channel::Chat, available, 2);
    let previous = baseline(snapshot("10:00:00", [chats(1)]));

    let saturated = tick(&previous, snapshot("10:01:00", [chats(0)]));
    let recovered = tick(&saturated.snapshot, snapshot("10:02:00", [chats(1)]));
    let saturated_again = tick(&recovered.snapshot, snapshot("10:03:00", [chats(0)]));

    assert_eq!(detail_types(&saturated_again), [DetailType::AgentSlotsSaturated]);
    assert_ne!(saturated.events[0].detail.event_id, saturated_again.events[0].detail.event_id);
}
