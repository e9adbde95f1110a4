//! The EventBridge publisher against moto, seen by a subscriber: a rule as an alerting team would
//! write it, routing to an SQS queue.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_eventbridge::types::Target;
use aws_sdk_sqs::types::QueueAttributeName;
use chrono::{TimeZone, Utc};
use connect_pulse::events::{
    AgentSummary, Change, ContactSummary, Detail, DetailType, Event, EventId, StatusSummary, SCHEMA_VERSION,
};
use std::sync::Arc;

use connect_pulse::model::{Agent, AgentStatus, Channel, Contact, ContactState, InitiationMethod, Reference};
use connect_pulse::publish::eventbridge::EventBridgePublisher;
use connect_pulse::publish::{EventPublisher, PublishError};
use serde_json::{json, Value};
use support::Moto;

const SOURCE: &str = "com.example.connect-pulse";
const BUS: &str = "contact-centre";
const INSTANCE_ID: &str = "11111111-2222-3333-4444-555555555555";

/// What a team watching the chat routing profile would subscribe to.
fn missed_chats_rule() -> Value {
    json!({
        "source": [SOURCE],
        "detail-type": ["Agent Contact Missed"],
        "detail": {
            "contact": { "channel": ["CHAT"] },
            "agent": { "routingProfile": { "id": ["rp-chat"] } }
        }
    })
}

fn agent(n: usize, routing_profile: &str) -> Agent {
    Agent {
        id: format!("agent-{n}").into(),
        arn: Some(format!("arn:aws:connect:us-east-1:123456789012:instance/{INSTANCE_ID}/agent/agent-{n}").into()),
        routing_profile: Some(Arc::new(Reference { id: Some(routing_profile.into()), arn: None })),
        status: Some(AgentStatus { name: Some("Available".into()), arn: None, started_at: None }),
        ..Agent::default()
    }
}

fn event(n: usize, detail_type: DetailType, agent: &Agent, change: Change) -> Event {
    let at = Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, n as u32).unwrap();
    Event {
        source: SOURCE.into(),
        detail_type,
        time: at,
        resource: agent.arn.clone(),
        detail: Detail {
            schema_version: SCHEMA_VERSION,
            event_id: EventId::of([format!("event-{n}").as_str()]),
            instance_id: INSTANCE_ID.into(),
            observed_at: at,
            agent: AgentSummary::of(agent),
            change,
        },
    }
}

fn contact_event(n: usize, detail_type: DetailType, channel: Channel, routing_profile: &str) -> Event {
    let contact = Contact {
        contact_id: format!("contact-{n}").into(),
        channel: Some(channel),
        initiation_method: Some(InitiationMethod::Inbound),
        state: Some(if detail_type == DetailType::AgentContactMissed {
            ContactState::Missed
        } else {
            ContactState::Error
        }),
        queue: Some(Arc::new(Reference { id: Some("q-support".into()), arn: None })),
        ..Contact::default()
    };
    let mut agent = agent(n, routing_profile);
    agent.contacts.push(contact.clone());
    event(n, detail_type, &agent, Change::Contact { contact: ContactSummary::of(&contact) })
}

fn status_event(n: usize, routing_profile: &str) -> Event {
    let agent = agent(n, routing_profile);
    let change = Change::StatusChanged {
        previous_status: Some(StatusSummary { name: Some("Lunch".into()), arn: None, started_at: None }),
        current_status: StatusSummary { name: Some("Available".into()), arn: None, started_at: None },
        previous_status_duration_seconds: Some(1800.5),
    };
    event(n, DetailType::AgentStatusChanged, &agent, change)
}

/// Five kinds of event, interleaved so the matching ones are spread over several calls.
fn a_busy_tick() -> (Vec<Event>, Vec<String>) {
    let mut events = Vec::new();
    let mut matching = Vec::new();
    for round in 0..5 {
        let n = round * 5;
        let missed_chat = contact_event(n, DetailType::AgentContactMissed, Channel::Chat, "rp-chat");
        matching.push(missed_chat.detail.event_id.to_string());
        events.push(missed_chat);
        events.push(contact_event(n + 1, DetailType::AgentContactMissed, Channel::Voice, "rp-chat"));
        events.push(contact_event(n + 2, DetailType::AgentContactMissed, Channel::Chat, "rp-voice"));
        events.push(contact_event(n + 3, DetailType::AgentContactErrored, Channel::Chat, "rp-chat"));
        events.push(status_event(n + 4, "rp-chat"));
    }
    (events, matching)
}

#[tokio::test]
async fn an_alerting_rule_receives_exactly_the_missed_chats_of_its_routing_profile_whole() {
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let eventbridge = aws_sdk_eventbridge::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);

    eventbridge.create_event_bus().name(BUS).send().await.unwrap();
    let queue_url = sqs.create_queue().queue_name("missed-chats").send().await.unwrap().queue_url.unwrap();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone();
    eventbridge
        .put_rule()
        .name("missed-chats")
        .event_bus_name(BUS)
        .event_pattern(missed_chats_rule().to_string())
        .send()
        .await
        .unwrap();
    eventbridge
        .put_targets()
        .rule("missed-chats")
        .event_bus_name(BUS)
        .targets(Target::builder().id("alerting-queue").arn(queue_arn).build().unwrap())
        .send()
        .await
        .unwrap();

    let (events, matching) = a_busy_tick();
    let publisher = EventBridgePublisher::new(eventbridge, BUS, 2);
    let stats = publisher.publish(&events, tokio::time::Instant::now() + Duration::from_secs(30)).await.unwrap();

    assert_eq!(stats.published as usize, events.len());
    assert_eq!(stats.calls as usize, events.len().div_ceil(10));
    assert_eq!(stats.retried_entries, 0);

    let mut received = BTreeMap::new();
    for _ in 0..20 {
        let messages = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        let messages = messages.messages.unwrap_or_default();
        for message in &messages {
            let envelope: Value = serde_json::from_str(message.body().unwrap()).unwrap();
            let event_id = envelope["detail"]["eventId"].as_str().unwrap().to_owned();
            assert!(received.insert(event_id, envelope).is_none(), "one delivery per event");
            sqs.delete_message()
                .queue_url(&queue_url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
        // Once every expected event is in, one more empty poll shows nothing else follows.
        if messages.is_empty() && received.len() >= matching.len() {
            break;
        }
    }

    assert_eq!(received.keys().cloned().collect::<Vec<_>>(), {
        let mut sorted = matching.clone();
        sorted.sort();
        sorted
    });
    for event in events.iter().filter(|event| matching.contains(&event.detail.event_id.to_string())) {
        let envelope = &received[event.detail.event_id.as_str()];
        let sent = event.to_envelope("us-east-1");
        assert_eq!(envelope["detail"], serde_json::to_value(&event.detail).unwrap());
        for key in ["detail-type", "source", "time", "resources"] {
            assert_eq!(envelope[key], sent[key], "{key} of {}", event.detail.event_id);
        }
    }
}

#[tokio::test]
async fn publishing_to_a_bus_that_does_not_exist_fails_loudly() {
    let moto = Moto::start();
    let eventbridge = aws_sdk_eventbridge::Client::new(&moto.sdk_config().await);
    let (events, _) = a_busy_tick();
    let publisher = EventBridgePublisher::new(eventbridge, "no-such-bus", 2);

    let result = publisher.publish(&events, tokio::time::Instant::now() + Duration::from_secs(5)).await;

    // EventBridge may refuse the whole call or each entry; either way nothing claims success.
    let code = match result {
        Err(PublishError::Service { code, .. } | PublishError::Rejected { code, .. }) => code,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert_eq!(code, "ResourceNotFoundException");
}
