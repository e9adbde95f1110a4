//! From the Connect SDK's shapes to the snapshot model: unknown enum values kept verbatim,
//! absent members left `None`, epoch-second timestamps rounded to the millisecond.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_connect::types as sdk;
use chrono::{DateTime, Utc};

use crate::model::{
    Agent, AgentStatus, ArcStr, Channel, Contact, ContactState, HierarchyPath, InitiationMethod, Reference, Slots,
    SlotsByChannel,
};

/// The agent of one `UserData`, or `None` when Connect sent no user id to key it by.
pub(super) fn agent(user_data: sdk::UserData) -> Option<Agent> {
    let user = user_data.user?;
    let id = user.id.filter(|id| !id.is_empty())?;

    Some(Agent {
        id: id.into(),
        arn: user.arn.map(ArcStr::from),
        routing_profile: user_data.routing_profile.map(|r| Arc::new(reference(r.id, r.arn))),
        hierarchy_path: Arc::new(user_data.hierarchy_path.map(hierarchy_path).unwrap_or_default()),
        status: user_data.status.map(|s| AgentStatus {
            name: s.status_name.map(ArcStr::from),
            arn: s.status_arn.map(ArcStr::from),
            started_at: s.status_start_timestamp.as_ref().and_then(time),
        }),
        next_status: user_data.next_status.map(ArcStr::from),
        slots: slots(
            user_data.available_slots_by_channel,
            user_data.max_slots_by_channel,
            user_data.active_slots_by_channel,
        ),
        contacts: user_data.contacts.unwrap_or_default().into_iter().filter_map(contact).collect(),
        last_seen_at: None,
    })
}

fn contact(contact: sdk::AgentContactReference) -> Option<Contact> {
    Some(Contact {
        contact_id: contact.contact_id?.into(),
        channel: contact.channel.as_ref().map(channel),
        initiation_method: contact.initiation_method.map(|m| InitiationMethod::from(m.as_str())),
        state: contact.agent_contact_state.map(|s| ContactState::from(s.as_str())),
        state_started_at: contact.state_start_timestamp.as_ref().and_then(time),
        connected_to_agent_at: contact.connected_to_agent_timestamp.as_ref().and_then(time),
        queue: contact.queue.map(|q| Arc::new(reference(q.id, q.arn))),
        observed_in_state_since: None,
    })
}

fn channel(channel: &sdk::Channel) -> Channel {
    Channel::from(channel.as_str())
}

fn reference(id: Option<String>, arn: Option<String>) -> Reference {
    Reference { id, arn }
}

fn hierarchy_path(path: sdk::HierarchyPathReference) -> HierarchyPath {
    let level = |group: Option<sdk::HierarchyGroupSummaryReference>| group.map(|g| reference(g.id, g.arn));
    HierarchyPath {
        level_one: level(path.level_one),
        level_two: level(path.level_two),
        level_three: level(path.level_three),
        level_four: level(path.level_four),
        level_five: level(path.level_five),
    }
}

type SlotMap = Option<HashMap<sdk::Channel, i32>>;

/// The three per-channel maps folded into one entry per channel; a count Connect sent as
/// negative (the model says min 0) or above 65,535 is treated as absent.
fn slots(available: SlotMap, max: SlotMap, active: SlotMap) -> SlotsByChannel {
    let mut slots = SlotsByChannel::default();
    let mut fold = |map: SlotMap, set: fn(&mut Slots, Option<u16>)| {
        for (key, count) in map.unwrap_or_default() {
            set(slots.entry(channel(&key)), u16::try_from(count).ok());
        }
    };
    fold(available, |s, n| s.available = n);
    fold(max, |s, n| s.max = n);
    fold(active, |s, n| s.active = n);
    slots
}

/// An epoch-second timestamp at millisecond precision.
///
/// The SDK parses the JSON number through an f64 and truncates, so `1733222400.123` arrives as
/// 122.999906 ms; rounding to the nearest millisecond gives back the value Connect sent.
pub(super) fn time(time: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    let millis = time.secs().checked_mul(1000)?.checked_add(i64::from((time.subsec_nanos() + 500_000) / 1_000_000))?;
    DateTime::from_timestamp_millis(millis)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_types::DateTime as SdkTime;

    fn user_data() -> sdk::builders::UserDataBuilder {
        sdk::UserData::builder().user(sdk::UserReference::builder().id("u-1").arn("arn:u-1").build())
    }

    #[test]
    fn fractional_epoch_seconds_round_to_the_millisecond_they_were_sent_with() {
        let parsed = SdkTime::from_secs_f64(1_733_222_400.123);
        assert_eq!(parsed.subsec_nanos() / 1_000_000, 122, "the SDK truncates through f64");
        assert_eq!(time(&parsed).unwrap().timestamp_millis(), 1_733_222_400_123);

        assert_eq!(time(&SdkTime::from_secs_f64(1_733_222_400.999_6)).unwrap().timestamp_millis(), 1_733_222_401_000);
        assert_eq!(time(&SdkTime::from_secs(1_733_222_400)).unwrap().timestamp_millis(), 1_733_222_400_000);
    }

    #[test]
    fn unknown_enum_values_are_kept_verbatim() {
        let data = user_data()
            .contacts(
                sdk::AgentContactReference::builder()
                    .contact_id("c-1")
                    .channel(sdk::Channel::from("HOLOGRAM"))
                    .agent_contact_state(sdk::ContactState::from("PAUSED"))
                    .initiation_method(sdk::ContactInitiationMethod::from("TELEPATHY"))
                    .build(),
            )
            .max_slots_by_channel(sdk::Channel::from("HOLOGRAM"), 2)
            .build();

        let agent = agent(data).unwrap();
        let contact = &agent.contacts[0];
        assert_eq!(contact.channel, Some(Channel::from("HOLOGRAM")));
        assert_eq!(contact.state, Some(ContactState::from("PAUSED")));
        assert_eq!(contact.initiation_method, Some(InitiationMethod::from("TELEPATHY")));
        assert_eq!(agent.slots[&Channel::from("HOLOGRAM")].max, Some(2));
    }

    #[test]
    fn absent_members_stay_absent() {
        let agent = agent(user_data().build()).unwrap();
        assert_eq!(agent.id, "u-1");
        assert_eq!(agent.routing_profile, None);
        assert_eq!(*agent.hierarchy_path, HierarchyPath::default());
        assert_eq!(agent.status, None);
        assert_eq!(agent.next_status, None);
        assert!(agent.slots.is_empty() && agent.contacts.is_empty());
    }

    #[test]
    fn the_three_slot_maps_fold_into_one_entry_per_channel() {
        let data = user_data()
            .available_slots_by_channel(sdk::Channel::Chat, 0)
            .max_slots_by_channel(sdk::Channel::Chat, 3)
            .active_slots_by_channel(sdk::Channel::Chat, 3)
            .max_slots_by_channel(sdk::Channel::Voice, 1)
            .active_slots_by_channel(sdk::Channel::Voice, -1)
            .available_slots_by_channel(sdk::Channel::Voice, 65_536)
            .max_slots_by_channel(sdk::Channel::Task, 65_535)
            .build();

        let slots = agent(data).unwrap().slots;
        assert_eq!(
            slots[&Channel::Chat],
            Slots { available: Some(0), max: Some(3), active: Some(3), saturated_since: None }
        );
        assert_eq!(
            slots[&Channel::Voice],
            Slots { available: None, max: Some(1), active: None, saturated_since: None }
        );
        assert_eq!(slots[&Channel::Task].max, Some(65_535));
    }

    #[test]
    fn user_data_without_a_user_id_is_skipped() {
        assert!(agent(sdk::UserData::builder().build()).is_none());
        assert!(agent(sdk::UserData::builder().user(sdk::UserReference::builder().arn("arn:only").build()).build())
            .is_none());
    }

    #[test]
    fn status_and_contacts_carry_their_times_and_references() {
        let data = user_data()
            .status(
                sdk::AgentStatusReference::builder()
                    .status_name("Available")
                    .status_arn("arn:status")
                    .status_start_timestamp(SdkTime::from_secs_f64(1_733_222_400.5))
                    .build(),
            )
            .next_status("Break")
            .contacts(
                sdk::AgentContactReference::builder()
                    .contact_id("c-1")
                    .channel(sdk::Channel::Voice)
                    .agent_contact_state(sdk::ContactState::ConnectedOnhold)
                    .state_start_timestamp(SdkTime::from_secs(1_733_222_300))
                    .connected_to_agent_timestamp(SdkTime::from_secs(1_733_222_300))
                    .queue(sdk::QueueReference::builder().id("q-1").build())
                    .build(),
            )
            .build();

        let agent = agent(data).unwrap();
        let status = agent.status.unwrap();
        assert_eq!(status.name.as_deref(), Some("Available"));
        assert_eq!(status.started_at.unwrap().timestamp_millis(), 1_733_222_400_500);
        assert_eq!(agent.next_status.as_deref(), Some("Break"));
        let contact = &agent.contacts[0];
        assert_eq!(contact.state, Some(ContactState::ConnectedOnHold));
        assert_eq!(contact.queue.as_deref(), Some(&Reference { id: Some("q-1".into()), arn: None }));
        assert_eq!(contact.connected_to_agent_at, contact.state_started_at);
    }
}
