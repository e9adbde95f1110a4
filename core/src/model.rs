//! The snapshot model: Amazon Connect agent data as `GetCurrentUserData` returns it, plus what
//! connect-pulse itself tracks across ticks.
//!
//! It is laid out for the diff, which reads every agent of two snapshots on every tick: a
//! snapshot's agents sit in one vector sorted by id, ids, slots and an agent's first two contacts
//! are stored inline, and values Connect repeats across agents (status names and ARNs, routing
//! profiles, queues, hierarchy paths) are shared rather than copied, see [`Agents::shared`].
//!
//! One piece of state outlives a snapshot: the texts of enum values this crate does not know, kept
//! in a process-wide table that is never emptied (see [`Unknown`]). Building a value from text
//! fills it; the diff only copies values, and orders and compares them by text, so what it emits
//! does not depend on which values a process saw first.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::hash::Hash;
use std::ops::{Deref, Index};
use std::sync::{Arc, LazyLock, PoisonError, RwLock};

pub use arcstr::ArcStr;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use smallvec::SmallVec;

/// Declares a Connect enum that keeps values it does not know verbatim, as [`Unknown`].
///
/// Connect's enums grow (EMAIL, new initiation methods, PAUSED for tasks), and a poll must never
/// fail because of a value that did not exist when this crate was built.
macro_rules! connect_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($variant,)+
            /// A value this crate does not know yet, kept verbatim.
            Other(Unknown),
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)+
                    Self::Other(unknown) => unknown.as_str(),
                }
            }
        }

        impl From<&str> for $name {
            fn from(raw: &str) -> Self {
                match raw {
                    $($wire => Self::$variant,)+
                    other => Self::Other(Unknown::new(other)),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(deserializer)?;
                Ok(Self::from(raw.as_str()))
            }
        }
    };
}

/// An enum value this crate does not know, kept verbatim.
///
/// Its text is kept once for the life of the process, in a table of such values, and the value is
/// a number in that table, so an enum holding it takes 4 bytes; agents repeat these enums by the
/// hundred thousand. Values compare and sort by their text.
///
/// The table has room for 65,536 texts, and a process that meets more panics (see
/// [`UnknownValues::number`]). Connect's enums hold about a dozen values each and grow by one now and
/// then, so a warm Lambda sees a handful.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Unknown(u16);

/// The text of every [`Unknown`] value seen so far, and the number of each.
#[derive(Default)]
struct UnknownValues {
    numbers: HashMap<&'static str, u16>,
    texts: Vec<&'static str>,
}

static UNKNOWN_VALUES: LazyLock<RwLock<UnknownValues>> = LazyLock::new(Default::default);

impl UnknownValues {
    /// The number of `text`, added to the table if it is new.
    ///
    /// # Panics
    /// When the table already holds 65,536 texts: the values of three Connect enums will not get
    /// there, and a source that sends that many new ones is broken.
    fn number(&mut self, text: &str) -> u16 {
        if let Some(&number) = self.numbers.get(text) {
            return number;
        }
        let number = u16::try_from(self.texts.len()).expect("at most 65,536 distinct unknown enum values per process");
        // Kept for the life of the process, so `as_str` can lend it without holding the lock.
        let text: &'static str = Box::leak(text.into());
        self.texts.push(text);
        self.numbers.insert(text, number);
        number
    }
}

impl Unknown {
    /// Private: `From<&str>` on each enum is the one way in, so a known value is never `Other`.
    fn new(text: &str) -> Self {
        if let Some(&number) = UNKNOWN_VALUES.read().unwrap_or_else(PoisonError::into_inner).numbers.get(text) {
            return Self(number);
        }
        Self(UNKNOWN_VALUES.write().unwrap_or_else(PoisonError::into_inner).number(text))
    }

    pub fn as_str(self) -> &'static str {
        UNKNOWN_VALUES.read().unwrap_or_else(PoisonError::into_inner).texts[self.0 as usize]
    }
}

impl PartialOrd for Unknown {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// By text, so an order never depends on which value a process saw first.
impl Ord for Unknown {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl fmt::Debug for Unknown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

connect_enum!(
    /// A routing channel (`Channel` in the Connect API).
    Channel {
        Voice => "VOICE",
        Chat => "CHAT",
        Task => "TASK",
        Email => "EMAIL",
    }
);

connect_enum!(
    /// The state of a contact from the agent's point of view (`AgentContactState`).
    ContactState {
        Incoming => "INCOMING",
        Pending => "PENDING",
        Connecting => "CONNECTING",
        Connected => "CONNECTED",
        ConnectedOnHold => "CONNECTED_ONHOLD",
        Missed => "MISSED",
        Error => "ERROR",
        Ended => "ENDED",
        Rejected => "REJECTED",
    }
);

connect_enum!(
    /// How a contact was initiated (`ContactInitiationMethod`).
    InitiationMethod {
        Inbound => "INBOUND",
        Outbound => "OUTBOUND",
        Transfer => "TRANSFER",
        QueueTransfer => "QUEUE_TRANSFER",
        Callback => "CALLBACK",
        Api => "API",
        Disconnect => "DISCONNECT",
        Monitor => "MONITOR",
        ExternalOutbound => "EXTERNAL_OUTBOUND",
        WebrtcApi => "WEBRTC_API",
        AgentReply => "AGENT_REPLY",
        Flow => "FLOW",
    }
);

/// A user or contact id. Connect's are 36-character UUIDs, which are stored inline in 40 bytes, so
/// comparing two ids reads no other memory; a longer id still works, from the heap.
#[derive(Clone)]
pub struct Id(IdText);

/// Room for a UUID's 36 characters and two to spare.
const INLINE_ID_BYTES: usize = 38;

#[derive(Clone)]
enum IdText {
    /// The first `len` bytes of `bytes` hold the id.
    Inline {
        len: u8,
        bytes: [u8; INLINE_ID_BYTES],
    },
    Heap(Box<str>),
}

impl Id {
    /// Checks that an inline id is UTF-8 on every call, which takes nanoseconds; comparisons and
    /// lookups use the bytes instead.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            IdText::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).expect("an inline id is copied from a str")
            }
            IdText::Heap(text) => text,
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            IdText::Inline { len, bytes } => &bytes[..usize::from(*len)],
            IdText::Heap(text) => text.as_bytes(),
        }
    }
}

const _: () = assert!(INLINE_ID_BYTES <= u8::MAX as usize, "an inline id's length fits in its u8");

impl From<&str> for Id {
    fn from(id: &str) -> Self {
        if id.len() <= INLINE_ID_BYTES {
            let mut bytes = [0; INLINE_ID_BYTES];
            bytes[..id.len()].copy_from_slice(id.as_bytes());
            Self(IdText::Inline { len: id.len() as u8, bytes })
        } else {
            Self(IdText::Heap(id.into()))
        }
    }
}

/// An id that fits is copied inline even when it arrives in a larger buffer; a longer one keeps
/// the buffer.
impl From<String> for Id {
    fn from(id: String) -> Self {
        if id.len() <= INLINE_ID_BYTES {
            Self::from(id.as_str())
        } else {
            Self(IdText::Heap(id.into_boxed_str()))
        }
    }
}

impl Default for Id {
    fn default() -> Self {
        Self::from("")
    }
}

impl PartialEq for Id {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Id {}

impl PartialOrd for Id {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Byte by byte, as `str` orders: the same order whether an id is inline or not.
impl Ord for Id {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

/// As the `str` hashes, so maps keyed by ids can be looked up with a `&str` (see `Borrow`).
impl Hash for Id {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;

        impl serde::de::Visitor<'_> for IdVisitor {
            type Value = Id;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an id string")
            }

            fn visit_str<E: serde::de::Error>(self, id: &str) -> Result<Id, E> {
                Ok(Id::from(id))
            }

            fn visit_string<E: serde::de::Error>(self, id: String) -> Result<Id, E> {
                Ok(Id::from(id))
            }
        }

        deserializer.deserialize_str(IdVisitor)
    }
}

impl Deref for Id {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Id {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for Id {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Id {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An id and ARN pair, as Connect returns for users, routing profiles, queues and hierarchy groups.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reference {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
}

/// The agent's hierarchy groups, level one to five; any level may be absent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HierarchyPath {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level_one: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level_two: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level_three: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level_four: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level_five: Option<Reference>,
}

/// The status the agent (or a supervisor) set in the CCP: Available, a break, Offline...
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<ArcStr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<ArcStr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
}

/// Slots on one channel: available, maximum (from the routing profile's concurrency) and active.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Slots {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<u16>,
    /// Tracked by connect-pulse: when the channel was first seen with no available slot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saturated_since: Option<DateTime<Utc>>,
}

/// One contact on the agent (`AgentContactReference`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    pub contact_id: Id,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initiation_method: Option<InitiationMethod>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ContactState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connected_to_agent_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<Arc<Reference>>,
    /// Tracked by connect-pulse: when the contact was first seen in its current state. Connect
    /// keeps `StateStartTimestamp` at the connect time while a contact is on hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_in_state_since: Option<DateTime<Utc>>,
}

/// One logged-in agent (`UserData`), keyed in a snapshot by user id.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Agent {
    pub id: Id,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<ArcStr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_profile: Option<Arc<Reference>>,
    #[serde(default)]
    pub hierarchy_path: Arc<HierarchyPath>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<AgentStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_status: Option<ArcStr>,
    #[serde(default, skip_serializing_if = "SlotsByChannel::is_empty")]
    pub slots: SlotsByChannel,
    /// An agent holds a few contacts at most. Up to two (a call and a chat, two chats) are stored
    /// inline: the diff reads every agent's contacts, and contacts on the heap would each cost it
    /// a cache miss.
    #[serde(default, skip_serializing_if = "SmallVec::is_empty")]
    pub contacts: SmallVec<[Contact; 2]>,
    /// Tracked by connect-pulse: set while the agent is carried over from an earlier snapshot
    /// because an incomplete fetch did not return it; the time it was last actually seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_at: Option<DateTime<Utc>>,
}

/// A part of the agent scope whose data could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MissingChunk {
    /// The `GetCurrentUserData` filter kind: `RoutingProfiles`, `Queues`, `Agents` or `UserHierarchyGroups`.
    pub filter: String,
    /// The filter ids of the chunk.
    pub ids: Vec<String>,
    /// Why it failed, for logs (an error code, never customer data).
    pub error: String,
}

/// All logged-in agents of one instance at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub instance_id: String,
    pub taken_at: DateTime<Utc>,
    /// Chunks of the scope that could not be fetched; empty when the snapshot is complete.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<MissingChunk>,
    pub agents: Agents,
}

impl Snapshot {
    pub fn new(instance_id: impl Into<String>, taken_at: DateTime<Utc>) -> Self {
        Self { instance_id: instance_id.into(), taken_at, missing: Vec::new(), agents: Agents::default() }
    }

    /// Whether every chunk of the scope was fetched, so an absent agent really is logged out.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty()
    }
}

/// Points equal status names and ARNs, routing profiles, queues and hierarchy paths at one copy
/// each. Connect sends them per agent; a contact centre has a few dozen of each, so sharing them
/// saves a copy per agent and keeps what the diff compares in the CPU cache.
fn share_repeated_values(agents: &mut [Agent]) {
    let mut shared = SharedValues::default();
    for agent in agents {
        if let Some(status) = &mut agent.status {
            shared.text(&mut status.name);
            shared.text(&mut status.arn);
        }
        shared.text(&mut agent.next_status);
        if let Some(profile) = &mut agent.routing_profile {
            *profile = share(&mut shared.references, profile);
        }
        agent.hierarchy_path = share(&mut shared.paths, &agent.hierarchy_path);
        for contact in &mut agent.contacts {
            if let Some(queue) = &mut contact.queue {
                *queue = share(&mut shared.references, queue);
            }
        }
    }
}

/// One copy of each value seen so far while a snapshot is shared.
///
/// Hashed with foldhash, not the standard library's SipHash, with which sharing 100,000 agents
/// took 1.5 times as long. SipHash resists keys chosen to collide; these values are the contact
/// centre's own Connect configuration.
#[derive(Default)]
struct SharedValues {
    texts: HashSet<ArcStr, FastHash>,
    references: HashSet<Arc<Reference>, FastHash>,
    paths: HashSet<Arc<HierarchyPath>, FastHash>,
}

type FastHash = foldhash::fast::RandomState;

impl SharedValues {
    fn text(&mut self, text: &mut Option<ArcStr>) {
        if let Some(text) = text {
            match self.texts.get(text.as_str()) {
                Some(first) => *text = first.clone(),
                None => {
                    self.texts.insert(text.clone());
                }
            }
        }
    }
}

/// The copy of `value` already seen, or `value` itself, remembered for the next one.
fn share<T: Eq + Hash + ?Sized>(seen: &mut HashSet<Arc<T>, FastHash>, value: &Arc<T>) -> Arc<T> {
    match seen.get(&**value) {
        Some(first) => Arc::clone(first),
        None => {
            seen.insert(Arc::clone(value));
            Arc::clone(value)
        }
    }
}

/// The agents of a snapshot, sorted by id, each id once.
///
/// A sorted vector rather than a map: the diff walks two snapshots side by side, and contiguous
/// agents are what lets it read 100,000 of them in milliseconds. Adapters build one with
/// [`Agents::shared`], tests and the diff with `collect` (which sorts once); `insert` shifts the
/// agents after the new one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Agents(Vec<Agent>);

impl Agents {
    /// Collects the agents an adapter built, fetched or loaded, as `collect` does, with their
    /// repeated values shared. The values are shared before the agents are sorted, in the order the
    /// adapter built them, which is the order their texts were allocated in: read in that order
    /// they stream from memory, where in id order each would miss the CPU cache.
    pub fn shared(mut agents: Vec<Agent>) -> Self {
        share_repeated_values(&mut agents);
        agents.into_iter().collect()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<&Agent> {
        self.position(id).ok().map(|index| &self.0[index])
    }

    pub fn contains(&self, id: &str) -> bool {
        self.position(id).is_ok()
    }

    /// Adds the agent, or replaces the one with its id and returns it.
    pub fn insert(&mut self, agent: Agent) -> Option<Agent> {
        match self.position(&agent.id) {
            Ok(index) => Some(std::mem::replace(&mut self.0[index], agent)),
            Err(index) => {
                self.0.insert(index, agent);
                None
            }
        }
    }

    pub fn remove(&mut self, id: &str) -> Option<Agent> {
        self.position(id).ok().map(|index| self.0.remove(index))
    }

    /// In id order.
    pub fn iter(&self) -> std::slice::Iter<'_, Agent> {
        self.0.iter()
    }

    /// In id order. Changing an agent's id breaks the order; the diff only fills in tracking fields.
    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, Agent> {
        self.0.iter_mut()
    }

    pub fn ids(&self) -> impl Iterator<Item = &Id> {
        self.0.iter().map(|agent| &agent.id)
    }

    fn position(&self, id: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|agent| agent.id.as_bytes().cmp(id.as_bytes()))
    }
}

/// Sorts once; of agents with the same id, the first is kept.
impl FromIterator<Agent> for Agents {
    fn from_iter<I: IntoIterator<Item = Agent>>(agents: I) -> Self {
        let mut agents: Vec<Agent> = agents.into_iter().collect();
        // Sorts copies of the ids, then swaps each agent into its place: sorting the 424-byte agents
        // themselves would move each of them many times. Stable, so the first of equal ids stays
        // first; already sorted input moves no agent.
        agents.sort_by_cached_key(|agent| agent.id.clone());
        agents.dedup_by(|later, earlier| later.id == earlier.id);
        Self(agents)
    }
}

/// Merges in agents with ids not present yet (an agent whose id is present is dropped).
impl Extend<Agent> for Agents {
    fn extend<I: IntoIterator<Item = Agent>>(&mut self, agents: I) {
        let mut all = std::mem::take(&mut self.0);
        all.extend(agents);
        *self = all.into_iter().collect();
    }
}

impl IntoIterator for Agents {
    type Item = Agent;
    type IntoIter = std::vec::IntoIter<Agent>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Agents {
    type Item = &'a Agent;
    type IntoIter = std::slice::Iter<'a, Agent>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl Index<&str> for Agents {
    type Output = Agent;

    /// Panics when no agent has the id, like a map's index.
    fn index(&self, id: &str) -> &Agent {
        self.get(id).unwrap_or_else(|| panic!("no agent with id {id}"))
    }
}

impl Serialize for Agents {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(&self.0)
    }
}

impl<'de> Deserialize<'de> for Agents {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Vec::<Agent>::deserialize(deserializer)?.into_iter().collect())
    }
}

/// An agent's slots by channel, sorted by channel, with inline room for three channels (a routing
/// profile with more moves them to the heap).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SlotsByChannel(SmallVec<[(Channel, Slots); 3]>);

impl SlotsByChannel {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, channel: &Channel) -> Option<&Slots> {
        self.0.iter().find(|(known, _)| known == channel).map(|(_, slots)| slots)
    }

    /// The slots of the channel, added empty if the channel has none yet.
    pub fn entry(&mut self, channel: Channel) -> &mut Slots {
        let index = match self.0.iter().position(|(known, _)| *known >= channel) {
            Some(index) if self.0[index].0 == channel => index,
            Some(index) => {
                self.0.insert(index, (channel, Slots::default()));
                index
            }
            None => {
                self.0.push((channel, Slots::default()));
                self.0.len() - 1
            }
        };
        &mut self.0[index].1
    }

    pub fn insert(&mut self, channel: Channel, slots: Slots) -> Option<Slots> {
        let had = self.get(&channel).is_some();
        let old = std::mem::replace(self.entry(channel), slots);
        had.then_some(old)
    }

    /// In channel order.
    pub fn iter(&self) -> impl Iterator<Item = (&Channel, &Slots)> {
        self.0.iter().map(|(channel, slots)| (channel, slots))
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&Channel, &mut Slots)> {
        self.0.iter_mut().map(|(channel, slots)| (&*channel, slots))
    }
}

impl FromIterator<(Channel, Slots)> for SlotsByChannel {
    fn from_iter<I: IntoIterator<Item = (Channel, Slots)>>(slots: I) -> Self {
        let mut by_channel = Self::default();
        for (channel, slots) in slots {
            by_channel.insert(channel, slots);
        }
        by_channel
    }
}

impl<const N: usize> From<[(Channel, Slots); N]> for SlotsByChannel {
    fn from(slots: [(Channel, Slots); N]) -> Self {
        slots.into_iter().collect()
    }
}

impl Index<&Channel> for SlotsByChannel {
    type Output = Slots;

    fn index(&self, channel: &Channel) -> &Slots {
        self.get(channel).unwrap_or_else(|| panic!("no slots for channel {channel}"))
    }
}

/// Serialised as a map from channel to slots.
impl Serialize for SlotsByChannel {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for SlotsByChannel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(BTreeMap::<Channel, Slots>::deserialize(deserializer)?.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_enum_values_survive_a_round_trip() {
        let channel: Channel = serde_json::from_str("\"HOLOGRAM\"").unwrap();
        assert_eq!(channel, Channel::from("HOLOGRAM"));
        assert_eq!(serde_json::to_string(&channel).unwrap(), "\"HOLOGRAM\"");

        let state = ContactState::from("PAUSED");
        assert_eq!(state.as_str(), "PAUSED");
        assert_eq!(ContactState::from("CONNECTED_ONHOLD"), ContactState::ConnectedOnHold);
    }

    #[test]
    fn unknown_values_are_one_value_per_text_and_sort_by_text() {
        // Seen in this order, so sorting by table number would put ZULU first.
        let zulu = Channel::from("ZULU_CHANNEL");
        let alpha = Channel::from("ALPHA_CHANNEL");

        assert_eq!(Channel::from("ZULU_CHANNEL"), zulu);
        assert_ne!(alpha, zulu);
        assert!(alpha < zulu);
        assert!(Channel::Email < alpha, "known values sort first, in declaration order");
        assert_eq!(format!("{alpha:?}"), "Other(\"ALPHA_CHANNEL\")");
        assert_eq!(std::mem::size_of::<Option<Channel>>(), 4);
    }

    #[test]
    fn threads_reading_the_same_unknown_text_get_the_same_value() {
        let texts: Vec<String> = (0..50).map(|n| format!("THREADED_STATE_{n}")).collect();
        let per_thread: Vec<Vec<ContactState>> = std::thread::scope(|scope| {
            let readers: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| texts.iter().map(|text| ContactState::from(text.as_str())).collect()))
                .collect();
            readers.into_iter().map(|reader| reader.join().unwrap()).collect()
        });

        for states in &per_thread[1..] {
            assert_eq!(states, &per_thread[0]);
        }
        assert!(per_thread[0].iter().zip(&texts).all(|(state, text)| state.as_str() == text));
    }

    fn agent(id: &str, status: &str) -> Agent {
        Agent {
            id: id.into(),
            status: Some(AgentStatus {
                name: Some(status.into()),
                arn: Some(format!("arn:{status}").into()),
                started_at: None,
            }),
            routing_profile: Some(Arc::new(Reference { id: Some("rp-1".into()), arn: None })),
            ..Agent::default()
        }
    }

    #[test]
    fn ids_that_fit_are_stored_inline_however_they_arrive() {
        let uuid = "7d3f6a2e-9a0b-4c1d-8e2f-3a4b5c6d7e8f";
        let mut roomy = String::with_capacity(128);
        roomy.push_str(uuid);
        let inline = |id: &Id| matches!(id.0, IdText::Inline { .. });
        assert!(inline(&Id::from(roomy)));
        assert!(inline(&serde_json::from_value::<Id>(serde_json::json!(uuid)).unwrap()));
        assert!(inline(&Id::from("x".repeat(38))));
        let long = Id::from("x".repeat(39));
        assert!(!inline(&long));
        assert_eq!(long.len(), 39);
        assert!(inline(&Id::from(format!("{}é", "x".repeat(36)))), "38 bytes, a two-byte character last");
        assert!(!inline(&Id::from(format!("{}é", "x".repeat(37)))));
        assert_eq!(std::mem::size_of::<Id>(), 40);
    }

    #[test]
    fn ids_of_any_length_and_text_survive_json() {
        for text in ["", "7d3f6a2e-9a0b-4c1d-8e2f-3a4b5c6d7e8f", &"ü".repeat(19), &"ü".repeat(20), &"x".repeat(300)] {
            let id = Id::from(text);
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(json, serde_json::to_string(text).unwrap());
            assert_eq!(serde_json::from_str::<Id>(&json).unwrap(), id);
            assert_eq!(id.as_str(), text);
        }
        assert!(serde_json::from_str::<Id>("42").is_err(), "an id is a string");
    }

    /// The layout the README's diff figures were measured with.
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn an_agent_takes_424_bytes() {
        assert_eq!(std::mem::size_of::<Agent>(), 424);
    }

    #[test]
    #[should_panic(expected = "at most 65,536 distinct unknown enum values")]
    fn the_unknown_value_table_refuses_a_65537th_text() {
        let mut values = UnknownValues::default();
        for n in 0..=u16::MAX {
            assert_eq!(values.number(&format!("VALUE_{n}")), n);
        }
        assert_eq!(values.number("VALUE_7"), 7, "a known text keeps its number");
        values.number("ONE_TOO_MANY");
    }

    #[test]
    fn ids_compare_and_hash_as_their_text_inline_or_not() {
        let texts =
            ["", "a", "a\0", "ab", "é", "x".repeat(38).as_str(), "x".repeat(39).as_str(), "y"].map(String::from);
        for a in &texts {
            for b in &texts {
                let (id_a, id_b) = (Id::from(a.as_str()), Id::from(b.as_str()));
                assert_eq!(id_a.cmp(&id_b), a.cmp(b), "{a:?} vs {b:?}");
                assert_eq!(id_a == id_b, a == b, "{a:?} vs {b:?}");
            }
        }
        let by_id: HashMap<Id, usize> =
            texts.iter().enumerate().map(|(n, text)| (Id::from(text.as_str()), n)).collect();
        for (n, text) in texts.iter().enumerate() {
            assert_eq!(by_id.get(text.as_str()), Some(&n));
            assert_eq!(Id::from(text.as_str()).to_string(), *text);
        }
    }

    #[test]
    fn agents_are_kept_sorted_by_id_and_the_first_of_a_repeated_id_wins() {
        let mut agents: Agents =
            [agent("c", "first"), agent("a", "Available"), agent("c", "second"), agent("b", "Lunch")]
                .into_iter()
                .collect();
        assert_eq!(agents.ids().map(Id::as_str).collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(agents["c"].status.as_ref().unwrap().name.as_deref(), Some("first"));

        assert!(agents.insert(agent("aa", "Break")).is_none());
        assert!(agents.insert(agent("b", "Training")).is_some());
        agents.extend([agent("d", "Available"), agent("a", "ignored")]);
        assert_eq!(agents.ids().map(Id::as_str).collect::<Vec<_>>(), ["a", "aa", "b", "c", "d"]);
        assert_eq!(agents["a"].status.as_ref().unwrap().name.as_deref(), Some("Available"));
        assert_eq!(agents.remove("aa").map(|agent| agent.id), Some(Id::from("aa")));
        assert!(!agents.contains("aa") && agents.get("zz").is_none());
    }

    #[test]
    fn slots_stay_in_channel_order_and_serialise_as_a_map() {
        let slots: SlotsByChannel = [
            (Channel::Task, Slots { max: Some(2), ..Slots::default() }),
            (Channel::Voice, Slots { max: Some(1), ..Slots::default() }),
            (Channel::from("HOLOGRAM"), Slots { max: Some(3), ..Slots::default() }),
            (Channel::Chat, Slots { max: Some(4), ..Slots::default() }),
        ]
        .into();
        let order: Vec<&str> = slots.iter().map(|(channel, _)| channel.as_str()).collect();
        assert_eq!(order, ["VOICE", "CHAT", "TASK", "HOLOGRAM"]);

        let json = serde_json::to_value(&slots).unwrap();
        assert_eq!(json["TASK"]["max"], 2);
        assert_eq!(serde_json::from_value::<SlotsByChannel>(json).unwrap(), slots);
    }

    #[test]
    fn shared_agents_are_collected_with_one_copy_of_each_repeated_value() {
        // In the order a fetch returns them; agent "a" came back in two chunks.
        let fetched = vec![agent("c", "Lunch"), agent("a", "Available"), agent("b", "Available"), agent("a", "Lunch")];
        let collected: Agents = fetched.iter().cloned().collect();

        let agents = Agents::shared(fetched);

        assert_eq!(agents, collected, "sharing changes no value, no order and no choice among duplicates");
        assert_eq!(agents["a"].status.as_ref().unwrap().name.as_deref(), Some("Available"), "the first one stays");
        let status_arn = |id: &str| agents[id].status.as_ref().unwrap().arn.clone().unwrap();
        assert!(ArcStr::ptr_eq(&status_arn("a"), &status_arn("b")));
        assert!(!ArcStr::ptr_eq(&status_arn("a"), &status_arn("c")));
        let profile = |id: &str| agents[id].routing_profile.clone().unwrap();
        assert!(Arc::ptr_eq(&profile("a"), &profile("c")));
        assert!(Arc::ptr_eq(&agents["a"].hierarchy_path, &agents["c"].hierarchy_path));
    }
}
