//! The simulator's behaviour behind the HTTP routes: validation as Connect does it, paging,
//! throttling, injected failures, and the frame clock.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::generator::{Generator, GeneratorConfig};
use crate::scenario::{Scenario, ScenarioError};
use crate::wire::{
    self, ApiError, EpochSeconds, Summary, SummaryName, UserDataFilters, UserDataRequest, UserDataResponse,
};
use crate::world::{AgentState, Directory, Frame};

/// The filter limits of `GetCurrentUserData`.
const MAX_FILTER_IDS: usize = 100;
const MAX_HIERARCHY_GROUPS: usize = 1;
const MAX_CONTACT_STATES: usize = 9;
const MAX_USER_DATA_RESULTS: i64 = 100;
/// The page size when `MaxResults` is absent (not documented by Connect).
const DEFAULT_USER_DATA_RESULTS: i64 = 100;
/// `maxResults` of the List* calls: 1 to 1000, 100 by default.
const MAX_LIST_RESULTS: i64 = 1000;
const DEFAULT_LIST_RESULTS: i64 = 100;
const CONTACT_STATES: [&str; 9] =
    ["INCOMING", "PENDING", "CONNECTING", "CONNECTED", "CONNECTED_ONHOLD", "MISSED", "ERROR", "ENDED", "REJECTED"];
/// Generated frames kept for in-flight pagination after the clock moves on.
const RETAINED_FRAMES: usize = 4;
/// Request records kept for inspection.
const RECORDED_REQUESTS: usize = 10_000;

/// A token bucket: `per_second` refill, `burst` capacity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: u32,
}

impl RateLimit {
    /// Connect's default for `GetCurrentUserData`: 2 requests per second, burst 5 (the 2023
    /// quota page's rule for "all other operations").
    pub const CONNECT_USER_DATA: RateLimit = RateLimit { per_second: 2.0, burst: 5 };
    /// Connect's default for the List* calls.
    pub const CONNECT_LIST: RateLimit = RateLimit { per_second: 10.0, burst: 10 };

    fn limiter(self) -> Option<DefaultDirectRateLimiter> {
        if self.per_second.is_nan() || self.per_second <= 0.0 {
            return None;
        }
        let quota = Quota::with_period(Duration::from_secs_f64(1.0 / self.per_second))?
            .allow_burst(NonZeroU32::new(self.burst).unwrap_or(NonZeroU32::MIN));
        Some(RateLimiter::direct(quota))
    }
}

/// How the simulator behaves, apart from its data.
#[derive(Debug, Clone, Default)]
pub struct SimConfig {
    /// Overrides the scenario's instance id.
    pub instance_id: Option<String>,
    /// `GetCurrentUserData` throttling; none when absent.
    pub user_data_rate: Option<RateLimit>,
    /// List* throttling; none when absent.
    pub list_rate: Option<RateLimit>,
    /// The share of `GetCurrentUserData` requests answered with `InternalServiceException`.
    pub fail_rate: f64,
    /// Filter ids (routing profiles, queues, agents, hierarchy groups) whose requests always fail
    /// with `InternalServiceException`.
    pub fail_ids: BTreeSet<String>,
    /// At most this many agents per page, whatever `MaxResults` says.
    pub page_size_cap: Option<usize>,
    /// Moves to the next frame after this many complete passes over the instance.
    pub advance_after_passes: Option<u32>,
    /// Seeds the injected failures.
    pub seed: u64,
}

/// Request counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub user_data_requests: u64,
    pub user_data_pages: u64,
    pub throttled: u64,
    pub injected_failures: u64,
    pub client_errors: u64,
    pub list_requests: u64,
    pub passes: u64,
}

/// One `GetCurrentUserData` request as the simulator saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestRecord {
    /// `RoutingProfiles`, `Queues`, `Agents`, `UserHierarchyGroups`, or `-` when unreadable.
    pub filter: &'static str,
    pub ids: Vec<String>,
    pub max_results: Option<i64>,
    pub next_token: bool,
    pub status: u16,
    pub agents: usize,
}

/// Where the frame clock stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FrameInfo {
    pub frame: usize,
    /// The number of frames of a scenario; absent for the generator, which never ends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frames: Option<usize>,
    pub at_end: bool,
    pub agents: usize,
    pub stats: Stats,
}

/// The four dimension filters of `GetCurrentUserData`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Dimension {
    RoutingProfiles,
    Queues,
    Agents,
    UserHierarchyGroups,
}

impl Dimension {
    fn as_str(self) -> &'static str {
        match self {
            Dimension::RoutingProfiles => "RoutingProfiles",
            Dimension::Queues => "Queues",
            Dimension::Agents => "Agents",
            Dimension::UserHierarchyGroups => "UserHierarchyGroups",
        }
    }
}

/// A local Amazon Connect instance. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct Sim {
    inner: Arc<Inner>,
}

struct Inner {
    config: SimConfig,
    directory: Directory,
    queues_by_profile: HashMap<String, HashSet<String>>,
    user_data_limiter: Option<DefaultDirectRateLimiter>,
    list_limiter: Option<DefaultDirectRateLimiter>,
    state: Mutex<State>,
}

struct State {
    clock: FrameClock,
    /// Per dimension, the ids whose last page was served in the current pass.
    covered: HashMap<Dimension, HashSet<String>>,
    passes_on_frame: u32,
    rng: SmallRng,
    stats: Stats,
    requests: VecDeque<RequestRecord>,
}

enum FrameClock {
    Scripted { frames: Vec<Arc<Frame>>, current: usize },
    Generated { generator: Box<Generator>, recent: VecDeque<Arc<Frame>> },
}

impl FrameClock {
    fn current(&self) -> Arc<Frame> {
        match self {
            FrameClock::Scripted { frames, current } => frames[*current].clone(),
            FrameClock::Generated { recent, .. } => recent.back().cloned().unwrap_or_default(),
        }
    }

    fn frame(&self, index: usize) -> Option<Arc<Frame>> {
        match self {
            FrameClock::Scripted { frames, .. } => frames.get(index).cloned(),
            FrameClock::Generated { recent, .. } => recent.iter().find(|f| f.index == index).cloned(),
        }
    }

    fn advance(&mut self) {
        match self {
            FrameClock::Scripted { frames, current } => *current = (*current + 1).min(frames.len() - 1),
            FrameClock::Generated { generator, recent } => {
                recent.push_back(Arc::new(generator.next_frame()));
                if recent.len() > RETAINED_FRAMES {
                    recent.pop_front();
                }
            }
        }
    }

    fn info(&self) -> (usize, Option<usize>, bool) {
        match self {
            FrameClock::Scripted { frames, current } => (*current, Some(frames.len()), *current + 1 == frames.len()),
            FrameClock::Generated { recent, .. } => (recent.back().map(|f| f.index).unwrap_or(0), None, false),
        }
    }
}

impl Sim {
    /// A simulator playing a scenario's frames.
    pub fn from_scenario(scenario: &Scenario, config: SimConfig) -> Result<Self, ScenarioError> {
        let instance_id = config.instance_id.clone().unwrap_or_else(|| "sim-instance".to_owned());
        let mut compiled = scenario.compile(&instance_id, now_ms())?;
        if config.instance_id.is_some() {
            compiled.directory.instance_id = instance_id;
        }
        let frames = compiled.frames.into_iter().map(Arc::new).collect();
        Ok(Self::new(compiled.directory, FrameClock::Scripted { frames, current: 0 }, config))
    }

    /// A simulator playing a seeded generator's frames, starting now.
    pub fn generated(generator: GeneratorConfig, config: SimConfig) -> Self {
        let instance_id = config.instance_id.clone().unwrap_or_else(|| "sim-instance".to_owned());
        let (directory, mut generator) = Generator::new(generator, &instance_id, now_ms() / 1000 * 1000);
        let first = Arc::new(generator.next_frame());
        Self::new(
            directory,
            FrameClock::Generated { generator: Box::new(generator), recent: VecDeque::from([first]) },
            config,
        )
    }

    fn new(directory: Directory, clock: FrameClock, config: SimConfig) -> Self {
        let queues_by_profile =
            directory.routing_profiles.iter().map(|p| (p.id.clone(), p.queues.iter().cloned().collect())).collect();
        let state = State {
            clock,
            covered: HashMap::new(),
            passes_on_frame: 0,
            rng: SmallRng::seed_from_u64(config.seed),
            stats: Stats::default(),
            requests: VecDeque::new(),
        };
        Self {
            inner: Arc::new(Inner {
                user_data_limiter: config.user_data_rate.and_then(RateLimit::limiter),
                list_limiter: config.list_rate.and_then(RateLimit::limiter),
                queues_by_profile,
                directory,
                config,
                state: Mutex::new(state),
            }),
        }
    }

    pub fn instance_id(&self) -> &str {
        &self.inner.directory.instance_id
    }

    pub fn directory(&self) -> &Directory {
        &self.inner.directory
    }

    pub fn stats(&self) -> Stats {
        self.state().stats.clone()
    }

    /// The `GetCurrentUserData` requests seen so far (the last ten thousand).
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.state().requests.iter().cloned().collect()
    }

    pub fn frame_info(&self) -> FrameInfo {
        let state = self.state();
        let (frame, frames, at_end) = state.clock.info();
        FrameInfo { frame, frames, at_end, agents: state.clock.current().agents.len(), stats: state.stats.clone() }
    }

    /// Moves the frame clock on; a scenario stays on its last frame.
    pub fn advance(&self, frames: usize) -> FrameInfo {
        {
            let mut state = self.state();
            for _ in 0..frames {
                state.clock.advance();
            }
            state.covered.clear();
            state.passes_on_frame = 0;
            let (frame, _, _) = state.clock.info();
            tracing::info!(frame, stats = ?state.stats, "frame advanced");
        }
        self.frame_info()
    }

    /// `GetCurrentUserData`: `POST /metrics/userdata/{InstanceId}` with the raw request body.
    pub fn get_current_user_data(&self, instance_id: &str, body: &[u8]) -> Result<UserDataResponse, ApiError> {
        let request: Result<UserDataRequest, ApiError> =
            serde_json::from_slice(body).map_err(|e| ApiError::serialization(format!("Invalid request body: {e}")));
        let mut record = RequestRecord {
            filter: "-",
            ids: Vec::new(),
            max_results: None,
            next_token: false,
            status: 200,
            agents: 0,
        };
        if let Ok(request) = &request {
            record.max_results = request.max_results;
            record.next_token = request.next_token.is_some();
            if let Some((dimension, ids)) = request.filters.as_ref().and_then(first_dimension) {
                record.filter = dimension.as_str();
                record.ids = ids.to_vec();
            }
        }

        let result = self.user_data_page(instance_id, request);
        let mut state = self.state();
        state.stats.user_data_requests += 1;
        match &result {
            Ok(page) => {
                state.stats.user_data_pages += 1;
                record.agents = page.user_data_list.len();
            }
            Err(error) => {
                record.status = error.status;
                match error.status {
                    429 => state.stats.throttled += 1,
                    500 => state.stats.injected_failures += 1,
                    _ => state.stats.client_errors += 1,
                }
            }
        }
        if state.requests.len() == RECORDED_REQUESTS {
            state.requests.pop_front();
        }
        state.requests.push_back(record);
        result
    }

    fn user_data_page(
        &self,
        instance_id: &str,
        request: Result<UserDataRequest, ApiError>,
    ) -> Result<UserDataResponse, ApiError> {
        if let Some(limiter) = &self.inner.user_data_limiter {
            limiter.check().map_err(|_| ApiError::throttling())?;
        }
        let request = request?;
        let filters = request.filters.clone().ok_or_else(|| ApiError::invalid_request("Filters is required"))?;
        let (dimension, ids) = validate_filters(&filters)?;
        let max_results = request.max_results.unwrap_or(DEFAULT_USER_DATA_RESULTS);
        if !(1..=MAX_USER_DATA_RESULTS).contains(&max_results) {
            return Err(ApiError::invalid_parameter(format!(
                "MaxResults must be between 1 and {MAX_USER_DATA_RESULTS}, not {max_results}"
            )));
        }
        self.check_instance(instance_id)?;

        let ids: HashSet<String> = ids.iter().map(|id| resource_id(id).to_owned()).collect();
        let filter_hash = filter_hash(&filters);
        let mut state = self.state();
        if !self.inner.config.fail_ids.is_empty() && ids.iter().any(|id| self.inner.config.fail_ids.contains(id)) {
            return Err(ApiError::internal());
        }
        if self.inner.config.fail_rate > 0.0 && state.rng.random_bool(self.inner.config.fail_rate.min(1.0)) {
            return Err(ApiError::internal());
        }

        let (frame, offset) = match &request.next_token {
            None => (state.clock.current(), 0),
            Some(token) => {
                let (index, offset, hash) = parse_user_data_token(token)
                    .ok_or_else(|| ApiError::invalid_parameter("The NextToken is not valid"))?;
                if hash != filter_hash {
                    return Err(ApiError::invalid_parameter("The NextToken was issued for other filters"));
                }
                let frame =
                    state.clock.frame(index).ok_or_else(|| ApiError::invalid_parameter("The NextToken has expired"))?;
                (frame, offset)
            }
        };
        let is_current = frame.index == state.clock.current().index;

        let contact_states: Option<HashSet<&str>> = filters
            .contact_filter
            .as_ref()
            .and_then(|f| f.contact_states.as_ref())
            .map(|s| s.iter().map(String::as_str).collect());
        let matched: Vec<&AgentState> = frame
            .agents
            .values()
            .filter(|agent| self.matches(dimension, &ids, agent))
            .filter(|agent| {
                contact_states
                    .as_ref()
                    .is_none_or(|states| agent.contacts.iter().any(|c| states.contains(c.state.as_str())))
            })
            .collect();

        let page_size =
            self.inner.config.page_size_cap.map_or(max_results as usize, |cap| cap.clamp(1, max_results as usize));
        let end = (offset + page_size).min(matched.len());
        let page = matched.get(offset.min(end)..end).unwrap_or_default();
        let next_token = (end < matched.len()).then(|| user_data_token(frame.index, end, filter_hash));

        if next_token.is_none() && is_current {
            self.complete_filter(&mut state, dimension, ids);
        }

        Ok(UserDataResponse {
            next_token,
            user_data_list: page.iter().map(|agent| wire::user_data(&self.inner.directory, agent)).collect(),
            approximate_total_count: matched.len() as u64,
        })
    }

    fn matches(&self, dimension: Dimension, ids: &HashSet<String>, agent: &AgentState) -> bool {
        match dimension {
            Dimension::RoutingProfiles => ids.contains(&agent.routing_profile),
            Dimension::Agents => ids.contains(&agent.user_id),
            Dimension::UserHierarchyGroups => agent.hierarchy.iter().any(|g| ids.contains(g)),
            Dimension::Queues => self
                .inner
                .queues_by_profile
                .get(&agent.routing_profile)
                .is_some_and(|served| served.iter().any(|q| ids.contains(q))),
        }
    }

    /// Counts a pass when the last pages served in this frame cover every resource of one kind.
    fn complete_filter(&self, state: &mut MutexGuard<'_, State>, dimension: Dimension, ids: HashSet<String>) {
        let directory = &self.inner.directory;
        let all: usize = match dimension {
            Dimension::RoutingProfiles => directory.routing_profiles.len(),
            Dimension::Queues => directory.queues.len(),
            Dimension::Agents => directory.users.len(),
            Dimension::UserHierarchyGroups => directory.hierarchy_groups.len(),
        };
        let covered = state.covered.entry(dimension).or_default();
        covered.extend(ids);
        if covered.len() < all {
            return;
        }

        state.covered.clear();
        state.stats.passes += 1;
        state.passes_on_frame += 1;
        if self.inner.config.advance_after_passes.is_some_and(|n| state.passes_on_frame >= n) {
            state.clock.advance();
            state.passes_on_frame = 0;
            let (frame, _, _) = state.clock.info();
            tracing::info!(frame, stats = ?state.stats, "frame advanced after a complete pass");
        }
    }

    /// `ListRoutingProfiles`, `ListQueues`, `ListUsers`, `ListUserHierarchyGroups`.
    pub fn list(
        &self,
        kind: ListKind,
        instance_id: &str,
        query: &HashMap<String, String>,
    ) -> Result<serde_json::Value, ApiError> {
        self.state().stats.list_requests += 1;
        if let Some(limiter) = &self.inner.list_limiter {
            if limiter.check().is_err() {
                self.state().stats.throttled += 1;
                return Err(ApiError::throttling());
            }
        }
        let max_results = match query.get("maxResults") {
            None => DEFAULT_LIST_RESULTS,
            Some(raw) => raw.parse::<i64>().ok().filter(|n| (1..=MAX_LIST_RESULTS).contains(n)).ok_or_else(|| {
                ApiError::invalid_parameter(format!("maxResults must be between 1 and {MAX_LIST_RESULTS}"))
            })?,
        } as usize;
        let offset = match query.get("nextToken") {
            None => 0,
            Some(token) => parse_list_token(kind, token)
                .ok_or_else(|| ApiError::invalid_parameter("The nextToken is not valid"))?,
        };
        self.check_instance(instance_id)?;

        let directory = &self.inner.directory;
        let modified = EpochSeconds(directory.base_time_ms);
        let summary = |kind_word: &str, id: &str, name: SummaryName, queue_type| Summary {
            id: id.to_owned(),
            arn: directory.arn(kind_word, id),
            name,
            queue_type,
            last_modified_time: modified,
            last_modified_region: directory.region.clone(),
        };
        let items: Vec<Summary> = match kind {
            ListKind::RoutingProfiles => directory
                .routing_profiles
                .iter()
                .map(|p| summary("routing-profile", &p.id, SummaryName::Name(p.name.clone()), None))
                .collect(),
            ListKind::Queues => directory
                .queues
                .iter()
                .map(|q| summary("queue", &q.id, SummaryName::Name(q.name.clone()), Some("STANDARD")))
                .collect(),
            ListKind::Users => directory
                .users
                .iter()
                .map(|u| summary("agent", &u.id, SummaryName::Username(u.username.clone()), None))
                .collect(),
            ListKind::HierarchyGroups => directory
                .hierarchy_groups
                .iter()
                .map(|g| summary("agent-group", &g.id, SummaryName::Name(g.name.clone()), None))
                .collect(),
        };

        let end = (offset + max_results).min(items.len());
        let mut body = serde_json::json!({ kind.list_member(): items.get(offset.min(end)..end).unwrap_or_default() });
        if end < items.len() {
            body["NextToken"] = list_token(kind, end).into();
        }
        Ok(body)
    }

    fn check_instance(&self, instance_id: &str) -> Result<(), ApiError> {
        if instance_id == self.inner.directory.instance_id {
            Ok(())
        } else {
            Err(ApiError::not_found(format!("Instance {instance_id} not found")))
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves counters at worst half-updated; keep serving.
        self.inner.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The List* operations the simulator answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    RoutingProfiles,
    Queues,
    Users,
    HierarchyGroups,
}

impl ListKind {
    fn list_member(self) -> &'static str {
        match self {
            ListKind::RoutingProfiles => "RoutingProfileSummaryList",
            ListKind::Queues => "QueueSummaryList",
            ListKind::Users => "UserSummaryList",
            ListKind::HierarchyGroups => "UserHierarchyGroupSummaryList",
        }
    }

    fn token_prefix(self) -> &'static str {
        match self {
            ListKind::RoutingProfiles => "rp",
            ListKind::Queues => "q",
            ListKind::Users => "u",
            ListKind::HierarchyGroups => "hg",
        }
    }
}

fn first_dimension(filters: &UserDataFilters) -> Option<(Dimension, &[String])> {
    dimensions(filters).into_iter().next()
}

fn dimensions(filters: &UserDataFilters) -> Vec<(Dimension, &[String])> {
    [
        (Dimension::Queues, &filters.queues),
        (Dimension::RoutingProfiles, &filters.routing_profiles),
        (Dimension::Agents, &filters.agents),
        (Dimension::UserHierarchyGroups, &filters.user_hierarchy_groups),
    ]
    .into_iter()
    .filter_map(|(dimension, ids)| ids.as_deref().map(|ids| (dimension, ids)))
    .collect()
}

fn validate_filters(filters: &UserDataFilters) -> Result<(Dimension, &[String]), ApiError> {
    let given = dimensions(filters);
    let (dimension, ids) = match given.as_slice() {
        [] => {
            return Err(ApiError::invalid_request(
                "Filters must contain one of Queues, RoutingProfiles, Agents or UserHierarchyGroups",
            ))
        }
        [one] => *one,
        _ => return Err(ApiError::invalid_request(
            "A maximum of one filter can be passed from queues, routing profiles, agents, and user hierarchy groups",
        )),
    };
    let limit = if dimension == Dimension::UserHierarchyGroups { MAX_HIERARCHY_GROUPS } else { MAX_FILTER_IDS };
    if ids.is_empty() || ids.len() > limit {
        return Err(ApiError::invalid_parameter(format!(
            "{} must contain between 1 and {limit} values, not {}",
            dimension.as_str(),
            ids.len()
        )));
    }
    if let Some(states) = filters.contact_filter.as_ref().and_then(|f| f.contact_states.as_ref()) {
        if states.len() > MAX_CONTACT_STATES {
            return Err(ApiError::invalid_parameter(format!(
                "ContactStates allows at most {MAX_CONTACT_STATES} values"
            )));
        }
        if let Some(unknown) = states.iter().find(|s| !CONTACT_STATES.contains(&s.as_str())) {
            return Err(ApiError::invalid_parameter(format!("{unknown} is not a contact state")));
        }
    }
    Ok((dimension, ids))
}

/// Connect takes ids or ARNs in filters; the id is the ARN's last path segment.
fn resource_id(id_or_arn: &str) -> &str {
    if id_or_arn.starts_with("arn:") {
        id_or_arn.rsplit('/').next().unwrap_or(id_or_arn)
    } else {
        id_or_arn
    }
}

fn filter_hash(filters: &UserDataFilters) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    filters.hash(&mut hasher);
    hasher.finish()
}

fn user_data_token(frame: usize, offset: usize, filter_hash: u64) -> String {
    to_hex(&format!("ud.{frame}.{offset}.{filter_hash:x}"))
}

fn parse_user_data_token(token: &str) -> Option<(usize, usize, u64)> {
    let text = from_hex(token)?;
    let mut parts = text.strip_prefix("ud.")?.split('.');
    let frame = parts.next()?.parse().ok()?;
    let offset = parts.next()?.parse().ok()?;
    let hash = u64::from_str_radix(parts.next()?, 16).ok()?;
    parts.next().is_none().then_some((frame, offset, hash))
}

fn list_token(kind: ListKind, offset: usize) -> String {
    to_hex(&format!("{}.{offset}", kind.token_prefix()))
}

fn parse_list_token(kind: ListKind, token: &str) -> Option<usize> {
    from_hex(token)?.strip_prefix(kind.token_prefix())?.strip_prefix('.')?.parse().ok()
}

fn to_hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(token: &str) -> Option<String> {
    if !token.len().is_multiple_of(2) || !token.is_ascii() {
        return None;
    }
    let bytes: Option<Vec<u8>> =
        (0..token.len()).step_by(2).map(|i| u8::from_str_radix(&token[i..i + 2], 16).ok()).collect();
    String::from_utf8(bytes?).ok()
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scenario() -> Scenario {
        Scenario::from_json(
            &json!({
                "instanceId": "inst-1",
                "baseTime": "2024-12-03T10:40:00Z",
                "routingProfiles": [
                    {"id": "rp-a", "queues": ["q-1", "q-2"]},
                    {"id": "rp-b", "queues": ["q-2"], "concurrency": {"CHAT": 2}}
                ],
                "agents": [
                    {"id": "a-1", "routingProfile": "rp-a", "hierarchy": ["hg-1"]},
                    {"id": "a-2", "routingProfile": "rp-a"},
                    {"id": "a-3", "routingProfile": "rp-a"},
                    {"id": "b-1", "routingProfile": "rp-b", "hierarchy": ["hg-1", "hg-2"]}
                ],
                "frames": [
                    {"agents": {"a-1": "Available", "a-2": "Available", "a-3": "Break",
                                "b-1": {"contacts": [{"id": "c-1", "channel": "CHAT"}]}}},
                    {"agents": {"a-1": null}}
                ]
            })
            .to_string(),
        )
        .unwrap()
    }

    fn sim(config: SimConfig) -> Sim {
        Sim::from_scenario(&scenario(), config).unwrap()
    }

    fn ask(sim: &Sim, body: serde_json::Value) -> Result<UserDataResponse, ApiError> {
        sim.get_current_user_data("inst-1", body.to_string().as_bytes())
    }

    fn ids(page: &UserDataResponse) -> Vec<String> {
        page.user_data_list.iter().map(|u| u.user.id.clone()).collect()
    }

    #[test]
    fn pages_follow_the_next_token_until_it_is_absent() {
        let sim = sim(SimConfig::default());
        let filters = json!({"RoutingProfiles": ["rp-a", "rp-b"]});

        let first = ask(&sim, json!({"Filters": filters, "MaxResults": 3})).unwrap();
        assert_eq!(ids(&first), vec!["a-1", "a-2", "a-3"]);
        assert_eq!(first.approximate_total_count, 4);
        let token = first.next_token.clone().unwrap();

        let second = ask(&sim, json!({"Filters": filters, "MaxResults": 3, "NextToken": token})).unwrap();
        assert_eq!(ids(&second), vec!["b-1"]);
        assert!(second.next_token.is_none());
    }

    #[test]
    fn each_filter_kind_selects_its_agents() {
        let sim = sim(SimConfig::default());
        let select = |filters: serde_json::Value| ids(&ask(&sim, json!({"Filters": filters})).unwrap());

        assert_eq!(select(json!({"Queues": ["q-1"]})), vec!["a-1", "a-2", "a-3"]);
        assert_eq!(select(json!({"Queues": ["q-2"]})), vec!["a-1", "a-2", "a-3", "b-1"]);
        assert_eq!(select(json!({"Agents": ["b-1", "nobody"]})), vec!["b-1"]);
        assert_eq!(select(json!({"UserHierarchyGroups": ["hg-2"]})), vec!["b-1"]);
        assert_eq!(
            select(json!({"RoutingProfiles": ["arn:aws:connect:us-east-1:1:instance/inst-1/routing-profile/rp-b"]})),
            vec!["b-1"]
        );
        assert_eq!(
            select(json!({"RoutingProfiles": ["rp-a", "rp-b"], "ContactFilter": {"ContactStates": ["CONNECTED"]}})),
            vec!["b-1"]
        );
    }

    #[test]
    fn requests_connect_would_reject_are_rejected_the_same_way() {
        let sim = sim(SimConfig::default());
        let hundred_and_one: Vec<String> = (0..101).map(|i| format!("rp-{i}")).collect();
        let cases = [
            (json!({"Filters": {"Queues": ["q-1"], "Agents": ["a-1"]}}), "InvalidRequestException"),
            (json!({"Filters": {}}), "InvalidRequestException"),
            (json!({}), "InvalidRequestException"),
            (json!({"Filters": {"RoutingProfiles": hundred_and_one}}), "InvalidParameterException"),
            (json!({"Filters": {"RoutingProfiles": []}}), "InvalidParameterException"),
            (json!({"Filters": {"UserHierarchyGroups": ["hg-1", "hg-2"]}}), "InvalidParameterException"),
            (json!({"Filters": {"Agents": ["a-1"]}, "MaxResults": 0}), "InvalidParameterException"),
            (json!({"Filters": {"Agents": ["a-1"]}, "MaxResults": 101}), "InvalidParameterException"),
            (json!({"Filters": {"Agents": ["a-1"]}, "NextToken": "not-a-token"}), "InvalidParameterException"),
            (
                json!({"Filters": {"Agents": ["a-1"], "ContactFilter": {"ContactStates": ["PAUSED"]}}}),
                "InvalidParameterException",
            ),
        ];
        for (body, code) in cases {
            let error = ask(&sim, body.clone()).unwrap_err();
            assert_eq!((error.status, error.code), (400, code), "{body}");
        }
        let garbage = sim.get_current_user_data("inst-1", b"{not json").unwrap_err();
        assert_eq!(garbage.code, "SerializationException");
        assert_eq!(sim.stats().client_errors, 11);
    }

    #[test]
    fn a_token_only_works_with_the_filters_it_was_issued_for() {
        let sim = sim(SimConfig::default());
        let first = ask(&sim, json!({"Filters": {"RoutingProfiles": ["rp-a"]}, "MaxResults": 1})).unwrap();
        let token = first.next_token.unwrap();
        let error = ask(&sim, json!({"Filters": {"RoutingProfiles": ["rp-b"]}, "NextToken": token})).unwrap_err();
        assert_eq!(error.code, "InvalidParameterException");
    }

    #[test]
    fn an_unknown_instance_is_not_found() {
        let sim = sim(SimConfig::default());
        let error = sim
            .get_current_user_data("other", json!({"Filters": {"Agents": ["a-1"]}}).to_string().as_bytes())
            .unwrap_err();
        assert_eq!((error.status, error.code), (404, "ResourceNotFoundException"));
        let error = sim.list(ListKind::RoutingProfiles, "other", &HashMap::new()).unwrap_err();
        assert_eq!(error.code, "ResourceNotFoundException");
    }

    #[test]
    fn requests_beyond_the_burst_are_throttled() {
        let sim =
            sim(SimConfig { user_data_rate: Some(RateLimit { per_second: 0.001, burst: 2 }), ..Default::default() });
        let body = json!({"Filters": {"Agents": ["a-1"]}});
        assert!(ask(&sim, body.clone()).is_ok());
        assert!(ask(&sim, body.clone()).is_ok());
        let error = ask(&sim, body).unwrap_err();
        assert_eq!((error.status, error.code), (429, "ThrottlingException"));
        assert_eq!(sim.stats().throttled, 1);
    }

    #[test]
    fn failing_ids_always_fail_and_others_do_not() {
        let sim = sim(SimConfig { fail_ids: BTreeSet::from(["rp-b".to_owned()]), ..Default::default() });
        for _ in 0..3 {
            let error = ask(&sim, json!({"Filters": {"RoutingProfiles": ["rp-a", "rp-b"]}})).unwrap_err();
            assert_eq!((error.status, error.code), (500, "InternalServiceException"));
        }
        assert!(ask(&sim, json!({"Filters": {"RoutingProfiles": ["rp-a"]}})).is_ok());
        assert_eq!(sim.stats().injected_failures, 3);
    }

    #[test]
    fn a_page_size_cap_shortens_pages() {
        let sim = sim(SimConfig { page_size_cap: Some(2), ..Default::default() });
        let page = ask(&sim, json!({"Filters": {"RoutingProfiles": ["rp-a"]}, "MaxResults": 100})).unwrap();
        assert_eq!(page.user_data_list.len(), 2);
        assert!(page.next_token.is_some());
    }

    #[test]
    fn the_frame_advances_after_the_configured_complete_passes() {
        let sim = sim(SimConfig { advance_after_passes: Some(1), ..Default::default() });
        let read_all = |sim: &Sim, profile: &str| {
            let mut token = None;
            loop {
                let page =
                    ask(sim, json!({"Filters": {"RoutingProfiles": [profile]}, "MaxResults": 2, "NextToken": token}))
                        .unwrap();
                token = page.next_token;
                if token.is_none() {
                    break;
                }
            }
        };

        read_all(&sim, "rp-a");
        assert_eq!(sim.frame_info().frame, 0, "a pass is not complete before every routing profile was read");
        read_all(&sim, "rp-b");
        assert_eq!(sim.frame_info().frame, 1);
        assert_eq!(sim.frame_info().agents, 3);

        read_all(&sim, "rp-b");
        read_all(&sim, "rp-a");
        assert_eq!(
            sim.frame_info(),
            FrameInfo { frame: 1, frames: Some(2), at_end: true, agents: 3, stats: sim.stats() }
        );
    }

    #[test]
    fn list_calls_page_with_query_tokens() {
        let sim = sim(SimConfig::default());
        let query = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();

        let first = sim.list(ListKind::Users, "inst-1", &query(&[("maxResults", "3")])).unwrap();
        assert_eq!(first["UserSummaryList"].as_array().unwrap().len(), 3);
        assert_eq!(first["UserSummaryList"][0]["Username"], "a-1");
        let token = first["NextToken"].as_str().unwrap();
        let second = sim.list(ListKind::Users, "inst-1", &query(&[("maxResults", "3"), ("nextToken", token)])).unwrap();
        assert_eq!(second["UserSummaryList"].as_array().unwrap().len(), 1);
        assert!(second.get("NextToken").is_none());

        let profiles = sim.list(ListKind::RoutingProfiles, "inst-1", &HashMap::new()).unwrap();
        assert_eq!(profiles["RoutingProfileSummaryList"][1]["Id"], "rp-b");
        assert_eq!(profiles["RoutingProfileSummaryList"][1]["LastModifiedTime"], 1_733_222_400);
        let too_many = sim.list(ListKind::Queues, "inst-1", &query(&[("maxResults", "1001")])).unwrap_err();
        assert_eq!(too_many.code, "InvalidParameterException");
    }

    #[test]
    fn user_data_is_written_with_connect_member_names() {
        let sim = sim(SimConfig::default());
        let page = ask(&sim, json!({"Filters": {"Agents": ["b-1", "a-2"]}})).unwrap();
        let json = serde_json::to_value(&page).unwrap();
        let alice = &json["UserDataList"][0];
        assert_eq!(alice["User"]["Id"], "a-2");
        assert!(alice.get("HierarchyPath").is_none(), "absent members are omitted, never null");
        assert!(alice.get("NextStatus").is_none());
        assert_eq!(alice["Status"]["StatusName"], "Available");
        assert_eq!(alice["Status"]["StatusStartTimestamp"], 1_733_222_400);
        assert_eq!(alice["MaxSlotsByChannel"], json!({"VOICE": 1}));

        let bob = &json["UserDataList"][1];
        assert_eq!(
            bob["HierarchyPath"]["LevelTwo"]["Arn"],
            "arn:aws:connect:us-east-1:123456789012:instance/inst-1/agent-group/hg-2"
        );
        assert_eq!(bob["Contacts"][0]["AgentContactState"], "CONNECTED");
        assert_eq!(bob["Contacts"][0]["Queue"]["Id"], "q-2");
        assert_eq!(bob["AvailableSlotsByChannel"], json!({"CHAT": 1}));
        assert!(json.get("NextToken").is_none());
    }
}
