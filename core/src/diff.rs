//! The diff: two snapshots in, the events between them out. Pure: no I/O, no clock.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::iter::Peekable;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::events::{self, AgentSummary, Change, ContactSummary, Detail, DetailType, Event, EventId, StatusSummary};
use crate::model::{Agent, AgentStatus, Channel, Contact, ContactState, Id, Slots, Snapshot};

/// What the diff needs besides the two snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffSettings {
    /// The EventBridge `Source` of every event, e.g. `connect-pulse`.
    pub source: Arc<str>,
}

/// The events of one tick and the snapshot to store for the next one.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// In agent id order; within an agent: logged in, status, contacts, slots, logged out.
    pub events: Vec<Event>,
    /// The current snapshot with its tracking fields filled in, plus the agents an incomplete
    /// fetch did not return, carried over from the previous snapshot.
    pub snapshot: Snapshot,
}

/// Compares the current snapshot with the previous stored one.
///
/// Without a previous snapshot the current one becomes the baseline and nothing is emitted: a
/// first run cannot tell what changed, and reporting every agent as logged in would be noise.
pub fn diff(previous: Option<&Snapshot>, mut current: Snapshot, settings: &DiffSettings) -> Outcome {
    let Some(previous) = previous else {
        for agent in current.agents.iter_mut() {
            track(None, agent, current.taken_at);
        }
        return Outcome { events: Vec::new(), snapshot: current };
    };

    let tick = Tick {
        source: Arc::clone(&settings.source),
        instance_id: Arc::from(current.instance_id.as_str()),
        taken_at: current.taken_at,
        previous_taken_at: previous.taken_at,
        previous_taken_at_text: events::format_time(&previous.taken_at),
    };
    let complete = current.is_complete();
    let mut events = Vec::new();
    let mut carried_over = Vec::new();

    for pair in MergeJoin::new(previous.agents.iter(), current.agents.iter_mut()) {
        match pair {
            Pair::Both(before, agent) => {
                tick.compare(Some(before), agent, &mut events);
                track(Some(before), agent, tick.taken_at);
            }
            Pair::CurrentOnly(agent) => {
                tick.compare(None, agent, &mut events);
                track(None, agent, tick.taken_at);
            }
            // An incomplete fetch proves nothing about an absent agent: keep what we knew.
            Pair::PreviousOnly(before) if !complete => carried_over.push(carry_over(before, previous.taken_at)),
            Pair::PreviousOnly(before) => events.push(tick.logged_out(before)),
        }
    }

    if !carried_over.is_empty() {
        current.agents.extend(carried_over);
    }
    Outcome { events, snapshot: current }
}

/// The parts of the tick every event needs.
struct Tick {
    /// Source and instance id are shared by every event of the tick.
    source: Arc<str>,
    instance_id: Arc<str>,
    taken_at: DateTime<Utc>,
    previous_taken_at: DateTime<Utc>,
    /// Formatted once: it names every login and saturation of the tick.
    previous_taken_at_text: String,
}

impl Tick {
    /// Emits the events of one agent seen now; `before` is `None` for an agent that just logged in.
    fn compare(&self, before: Option<&Agent>, agent: &Agent, events: &mut Vec<Event>) {
        let previous_taken_at = self.previous_taken_at_text.as_str();
        match before {
            None => events.push(self.event(DetailType::AgentLoggedIn, agent, &[previous_taken_at], Change::None {})),
            Some(before) => {
                if let Some(event) = self.status_changed(before, agent) {
                    events.push(event);
                }
            }
        }

        for contact in &agent.contacts {
            let earlier_state = earlier_contact(before, &contact.contact_id).and_then(|earlier| earlier.state.as_ref());
            let detail_type = match contact.state.as_ref() {
                Some(state) if is_missed(state) && !earlier_state.is_some_and(is_missed) => {
                    DetailType::AgentContactMissed
                }
                Some(state) if is_errored(state) && !earlier_state.is_some_and(is_errored) => {
                    DetailType::AgentContactErrored
                }
                _ => continue,
            };
            let change = Change::Contact { contact: ContactSummary::of(contact) };
            events.push(self.event(detail_type, agent, &[&contact.contact_id], change));
        }

        for (channel, slots) in agent.slots.iter() {
            match saturated_since(before, channel) {
                None if is_saturated(slots) => {
                    let change = slots_change(channel, slots, None);
                    let parts = [channel.as_str(), previous_taken_at];
                    events.push(self.event(DetailType::AgentSlotsSaturated, agent, &parts, change));
                }
                Some(since) if slots.available.is_some_and(|available| available > 0) => {
                    let change = slots_change(channel, slots, Some(seconds_between(since, self.taken_at)));
                    let parts = [channel.as_str(), &events::format_time(&since)];
                    events.push(self.event(DetailType::AgentSlotsRecovered, agent, &parts, change));
                }
                _ => {}
            }
        }
    }

    /// Re-entering the same status restarts its timestamp, so the pair (ARN, start) is compared,
    /// not the ARN alone.
    fn status_changed(&self, before: &Agent, agent: &Agent) -> Option<Event> {
        let current = agent.status.as_ref()?;
        let previous = before.status.as_ref();
        if previous.map(status_key) == Some(status_key(current)) {
            return None;
        }

        let duration = match (previous.and_then(|s| s.started_at), current.started_at) {
            (Some(from), Some(to)) => Some(seconds_between(from, to)),
            _ => None,
        };
        let change = Change::StatusChanged {
            previous_status: previous.map(StatusSummary::of),
            current_status: StatusSummary::of(current),
            previous_status_duration_seconds: duration,
        };
        // Without a start time, A -> B -> A -> B would repeat an earlier id; the previous snapshot's
        // time keeps each change apart and stays the same when the tick is run again.
        let started_at = match current.started_at.as_ref() {
            Some(started_at) => Cow::Owned(events::format_time(started_at)),
            None => Cow::Borrowed(self.previous_taken_at_text.as_str()),
        };
        let parts = [current.arn.as_deref().unwrap_or_default(), &started_at];
        Some(self.event(DetailType::AgentStatusChanged, agent, &parts, change))
    }

    /// `before` is the agent as last stored: the event describes it as it was last seen.
    fn logged_out(&self, before: &Agent) -> Event {
        let last_seen_at = before.last_seen_at.unwrap_or(self.previous_taken_at);
        let change = Change::LoggedOut { last_seen_at };
        self.event(DetailType::AgentLoggedOut, before, &[&events::format_time(&last_seen_at)], change)
    }

    /// `transition` names the change within the agent, so a re-run of the same tick from the same
    /// stored snapshot gives the same `eventId`.
    fn event(&self, detail_type: DetailType, agent: &Agent, transition: &[&str], change: Change) -> Event {
        let identity = [&*self.instance_id, detail_type.as_str(), agent.id.as_str()];
        Event {
            source: Arc::clone(&self.source),
            detail_type,
            time: self.taken_at,
            resource: agent.arn.clone(),
            detail: Detail {
                schema_version: events::SCHEMA_VERSION,
                event_id: EventId::of(identity.into_iter().chain(transition.iter().copied())),
                instance_id: Arc::clone(&self.instance_id),
                observed_at: self.taken_at,
                agent: AgentSummary::of(agent),
                change,
            },
        }
    }
}

/// Fills in the tracking fields of an agent seen now from its previous stored state.
fn track(before: Option<&Agent>, agent: &mut Agent, taken_at: DateTime<Utc>) {
    agent.last_seen_at = None;

    // Connect keeps StateStartTimestamp at the connect time while a contact is on hold, so how
    // long a contact has been in its state has to be observed.
    for contact in &mut agent.contacts {
        contact.observed_in_state_since = match earlier_contact(before, &contact.contact_id) {
            Some(earlier) if earlier.state == contact.state => earlier.observed_in_state_since.or(Some(taken_at)),
            _ => Some(taken_at),
        };
    }

    for (channel, slots) in agent.slots.iter_mut() {
        slots.saturated_since =
            if is_saturated(slots) { saturated_since(before, channel).or(Some(taken_at)) } else { None };
    }
}

/// The stored state of an agent an incomplete fetch did not return, marked with when it was last
/// actually seen.
fn carry_over(before: &Agent, previous_taken_at: DateTime<Utc>) -> Agent {
    let mut agent = before.clone();
    agent.last_seen_at = Some(before.last_seen_at.unwrap_or(previous_taken_at));
    agent
}

fn status_key(status: &AgentStatus) -> (Option<&str>, Option<DateTime<Utc>>) {
    (status.arn.as_deref(), status.started_at)
}

/// The same contact in the agent's previous state. Agents hold a handful of contacts, so a scan
/// beats building an index.
fn earlier_contact<'a>(before: Option<&'a Agent>, contact_id: &Id) -> Option<&'a Contact> {
    before?.contacts.iter().find(|contact| contact.contact_id == *contact_id)
}

/// Since when the channel was saturated in the agent's previous state, if it was.
fn saturated_since(before: Option<&Agent>, channel: &Channel) -> Option<DateTime<Utc>> {
    before?.slots.get(channel)?.saturated_since
}

/// Connect reports a rejected voice contact as MISSED and a rejected chat or task as REJECTED;
/// both mean the agent did not take an offered contact.
fn is_missed(state: &ContactState) -> bool {
    matches!(state, ContactState::Missed | ContactState::Rejected)
}

fn is_errored(state: &ContactState) -> bool {
    matches!(state, ContactState::Error)
}

/// A channel with no slot left; a channel without a maximum is not routed to and never saturates.
fn is_saturated(slots: &Slots) -> bool {
    slots.max.is_some_and(|max| max > 0) && slots.available == Some(0)
}

fn slots_change(channel: &Channel, slots: &Slots, saturated_seconds: Option<f64>) -> Change {
    Change::Slots {
        channel: *channel,
        max_slots: slots.max.unwrap_or_default(),
        active_slots: slots.active.unwrap_or_default(),
        available_slots: slots.available.unwrap_or_default(),
        saturated_seconds,
    }
}

fn seconds_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_milliseconds() as f64 / 1000.0
}

/// One agent id of the merge-join over the previous and current snapshots.
enum Pair<'p, 'c> {
    PreviousOnly(&'p Agent),
    CurrentOnly(&'c mut Agent),
    Both(&'p Agent, &'c mut Agent),
}

/// Walks two snapshots' agents, sorted by id, side by side, so each agent costs one step, not a lookup.
struct MergeJoin<P: Iterator, C: Iterator> {
    previous: Peekable<P>,
    current: Peekable<C>,
}

impl<P: Iterator, C: Iterator> MergeJoin<P, C> {
    fn new(previous: P, current: C) -> Self {
        Self { previous: previous.peekable(), current: current.peekable() }
    }
}

impl<'p, 'c, P, C> Iterator for MergeJoin<P, C>
where
    P: Iterator<Item = &'p Agent>,
    C: Iterator<Item = &'c mut Agent>,
{
    type Item = Pair<'p, 'c>;

    fn next(&mut self) -> Option<Self::Item> {
        let order = match (self.previous.peek(), self.current.peek()) {
            (None, None) => return None,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(previous), Some(current)) => previous.id.cmp(&current.id),
        };
        match order {
            Ordering::Less => Some(Pair::PreviousOnly(self.previous.next()?)),
            Ordering::Greater => Some(Pair::CurrentOnly(self.current.next()?)),
            Ordering::Equal => Some(Pair::Both(self.previous.next()?, self.current.next()?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_733_220_000 + seconds, 0).single().unwrap_or_default()
    }

    fn settings() -> DiffSettings {
        DiffSettings { source: "connect-pulse".into() }
    }

    fn snapshot(taken_at: DateTime<Utc>, agents: &[Agent]) -> Snapshot {
        let mut snapshot = Snapshot::new("instance-1", taken_at);
        snapshot.agents = agents.iter().cloned().collect();
        snapshot
    }

    fn agent(id: &str) -> Agent {
        Agent {
            id: id.into(),
            arn: Some(format!("arn:aws:connect:us-east-1:123456789012:instance/instance-1/agent/{id}").into()),
            status: Some(AgentStatus {
                name: Some("Available".into()),
                arn: Some("arn:status/available".into()),
                started_at: Some(at(-600)),
            }),
            ..Agent::default()
        }
    }

    #[test]
    fn the_merge_join_pairs_agents_by_id() {
        let previous = snapshot(at(0), &[agent("a"), agent("b"), agent("d")]);
        let mut current = snapshot(at(60), &[agent("b"), agent("c"), agent("d"), agent("e")]);

        let pairs: Vec<_> = MergeJoin::new(previous.agents.iter(), current.agents.iter_mut())
            .map(|pair| match pair {
                Pair::PreviousOnly(before) => (Some(before.id.to_string()), None),
                Pair::CurrentOnly(agent) => (None, Some(agent.id.to_string())),
                Pair::Both(before, agent) => (Some(before.id.to_string()), Some(agent.id.to_string())),
            })
            .collect();

        let name = |id: &str| Some(id.to_owned());
        assert_eq!(
            pairs,
            vec![
                (name("a"), None),
                (name("b"), name("b")),
                (None, name("c")),
                (name("d"), name("d")),
                (None, name("e")),
            ]
        );
    }

    #[test]
    fn a_baseline_emits_nothing_and_starts_the_tracking_clocks() {
        let mut busy = agent("a");
        busy.contacts.push(Contact {
            contact_id: "c1".into(),
            state: Some(ContactState::Connected),
            ..Contact::default()
        });
        busy.slots
            .insert(Channel::Voice, Slots { available: Some(0), max: Some(1), active: Some(1), ..Slots::default() });
        busy.slots
            .insert(Channel::Chat, Slots { available: Some(2), max: Some(2), active: Some(0), ..Slots::default() });

        let outcome = diff(None, snapshot(at(0), &[busy]), &settings());

        assert!(outcome.events.is_empty());
        let stored = &outcome.snapshot.agents["a"];
        assert_eq!(stored.contacts[0].observed_in_state_since, Some(at(0)));
        assert_eq!(stored.slots[&Channel::Voice].saturated_since, Some(at(0)));
        assert_eq!(stored.slots[&Channel::Chat].saturated_since, None);
        assert_eq!(stored.last_seen_at, None);
    }

    #[test]
    fn a_status_without_a_start_time_still_changes_by_arn() {
        let mut before = agent("a");
        before.status = Some(AgentStatus { name: Some("Available".into()), arn: Some("s1".into()), started_at: None });
        let mut after = agent("a");
        after.status = Some(AgentStatus { name: Some("Lunch".into()), arn: Some("s2".into()), started_at: None });
        let previous = diff(None, snapshot(at(0), &[before]), &settings()).snapshot;

        let outcome = diff(Some(&previous), snapshot(at(60), &[after]), &settings());

        assert_eq!(outcome.events.len(), 1);
        match &outcome.events[0].detail.change {
            Change::StatusChanged { previous_status_duration_seconds, .. } => {
                assert_eq!(*previous_status_duration_seconds, None)
            }
            other => panic!("expected a status change, got {other:?}"),
        }
    }

    #[test]
    fn returning_to_a_status_without_start_times_gets_a_new_event_id() {
        let in_status = |arn: &str| {
            let mut agent = agent("a");
            agent.status = Some(AgentStatus { name: None, arn: Some(arn.into()), started_at: None });
            agent
        };
        let mut stored = diff(None, snapshot(at(0), &[in_status("s1")]), &settings()).snapshot;
        let mut ids = Vec::new();
        for (minute, arn) in [(1, "s2"), (2, "s1"), (3, "s2")] {
            let outcome = diff(Some(&stored), snapshot(at(60 * minute), &[in_status(arn)]), &settings());
            ids.push(outcome.events[0].detail.event_id);
            stored = outcome.snapshot;
        }

        assert_ne!(ids[0], ids[2], "the second change to s2 is a change of its own");
    }

    #[test]
    fn seconds_between_keeps_milliseconds() {
        let from = at(0);
        let to = at(90) + chrono::Duration::milliseconds(250);
        assert_eq!(seconds_between(from, to), 90.25);
    }
}
