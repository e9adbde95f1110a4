//! [`ConnectSource`]: the agent snapshot from Amazon Connect `GetCurrentUserData`, asked for in
//! chunks of at most 100 filter ids, every page followed, under a client-side rate limit, with
//! throttling and server errors retried while the deadline allows.

use std::collections::HashSet;
use std::future::Future;
use std::num::{NonZeroU32, NonZeroUsize};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_connect::config::http::HttpResponse;
use aws_sdk_connect::config::retry::RetryConfig;
use aws_sdk_connect::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_connect::types::UserDataFilters;
use aws_sdk_connect::Client;
use backon::{BackoffBuilder, ExponentialBuilder};
use chrono::Utc;
use futures::StreamExt;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::time::{sleep, timeout_at, Instant};

use super::{convert, AgentScope, AgentSource, Fetch, FetchStats, SourceError};
use crate::model::{Agents, MissingChunk, Snapshot};
use crate::sdk_error;

/// `GetCurrentUserData` takes at most 100 queues, routing profiles or agents per call.
const MAX_IDS_PER_CALL: usize = 100;
/// ... and one user hierarchy group.
const MAX_HIERARCHY_GROUPS_PER_CALL: usize = 1;
/// The largest page `GetCurrentUserData` returns (`MaxResult100`).
const USER_DATA_PAGE_SIZE: i32 = 100;
/// The largest page `ListRoutingProfiles` returns (`MaxResult1000`).
const ROUTING_PROFILE_PAGE_SIZE: i32 = 1000;

/// How [`ConnectSource`] calls Connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectSourceConfig {
    pub instance_id: String,
    pub scope: AgentScope,
    /// `GetCurrentUserData` calls per second. Connect's default quota is 2 per second for the
    /// whole account and Region, shared with every other caller (dashboards, WFM connectors).
    pub max_calls_per_second: NonZeroU32,
    /// Chunks fetched at the same time; pages within a chunk follow each other.
    pub max_concurrent_calls: NonZeroUsize,
    /// How long the routing-profile list of [`AgentScope::AllRoutingProfiles`] is reused.
    pub routing_profile_ttl: Duration,
    pub retry: RetryPolicy,
}

/// Backoff for throttled and failed calls. Every retry also waits for the deadline: a retry
/// that could not finish before it is not made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub min_delay: Duration,
    pub max_delay: Duration,
    pub max_retries: usize,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { min_delay: Duration::from_millis(200), max_delay: Duration::from_secs(5), max_retries: 6 }
    }
}

impl ConnectSourceConfig {
    pub const DEFAULT_CALLS_PER_SECOND: NonZeroU32 = NonZeroU32::new(2).unwrap();
    pub const DEFAULT_CONCURRENT_CALLS: NonZeroUsize = NonZeroUsize::new(4).unwrap();
    /// Short enough that an agent moved into a newly created routing profile is seen within
    /// minutes; long enough that a warm Lambda does not list profiles every tick.
    pub const DEFAULT_ROUTING_PROFILE_TTL: Duration = Duration::from_secs(300);

    pub fn new(instance_id: impl Into<String>, scope: AgentScope) -> Self {
        Self {
            instance_id: instance_id.into(),
            scope,
            max_calls_per_second: Self::DEFAULT_CALLS_PER_SECOND,
            max_concurrent_calls: Self::DEFAULT_CONCURRENT_CALLS,
            routing_profile_ttl: Self::DEFAULT_ROUTING_PROFILE_TTL,
            retry: RetryPolicy::default(),
        }
    }
}

/// Agent snapshots from Amazon Connect.
pub struct ConnectSource {
    client: Client,
    config: ConnectSourceConfig,
    limiter: DefaultDirectRateLimiter,
    routing_profiles: Mutex<Option<ListedRoutingProfiles>>,
}

#[derive(Clone)]
struct ListedRoutingProfiles {
    ids: Arc<[String]>,
    listed_at: Instant,
}

impl ConnectSource {
    /// Wraps a ready client. The SDK's own retries are turned off for it, so every throttled
    /// call is counted here and retried under this source's rate limit and deadline.
    pub fn new(client: &Client, config: ConnectSourceConfig) -> Self {
        let client = Client::from_conf(client.config().to_builder().retry_config(RetryConfig::disabled()).build());
        // Evenly spaced calls, no burst: the account's burst is shared with every other caller.
        let limiter = RateLimiter::direct(Quota::per_second(config.max_calls_per_second).allow_burst(NonZeroU32::MIN));
        Self { client, config, limiter, routing_profiles: Mutex::new(None) }
    }

    pub fn config(&self) -> &ConnectSourceConfig {
        &self.config
    }

    async fn chunks(&self, deadline: Instant, stats: &mut FetchStats) -> Result<Vec<Chunk>, SourceError> {
        let (filter, ids): (FilterKind, Arc<[String]>) = match &self.config.scope {
            AgentScope::AllRoutingProfiles => {
                (FilterKind::RoutingProfiles, self.routing_profile_ids(deadline, stats).await?)
            }
            AgentScope::RoutingProfiles(ids) => (FilterKind::RoutingProfiles, ids.as_slice().into()),
            AgentScope::Queues(ids) => (FilterKind::Queues, ids.as_slice().into()),
            AgentScope::Agents(ids) => (FilterKind::Agents, ids.as_slice().into()),
            AgentScope::HierarchyGroup(id) => (FilterKind::UserHierarchyGroups, [id.clone()].into()),
        };
        let size = match filter {
            FilterKind::UserHierarchyGroups => MAX_HIERARCHY_GROUPS_PER_CALL,
            _ => MAX_IDS_PER_CALL,
        };
        Ok(ids.chunks(size).map(|ids| Chunk { filter, ids: ids.to_vec() }).collect())
    }

    /// Every routing profile of the instance, from the cache while it is fresh.
    async fn routing_profile_ids(
        &self,
        deadline: Instant,
        stats: &mut FetchStats,
    ) -> Result<Arc<[String]>, SourceError> {
        if let Some(listed) = self.listed_routing_profiles() {
            if listed.listed_at.elapsed() < self.config.routing_profile_ttl {
                return Ok(listed.ids);
            }
        }

        let mut ids = Vec::new();
        let mut next_token: Option<String> = None;
        let mut seen_tokens = HashSet::new();
        let mut counts = CallCounts::default();
        let listed = loop {
            let page = self
                .send(CallKind::List, deadline, &mut counts, || {
                    self.client
                        .list_routing_profiles()
                        .instance_id(&self.config.instance_id)
                        .max_results(ROUTING_PROFILE_PAGE_SIZE)
                        .set_next_token(next_token.clone())
                        .send()
                })
                .await;
            let page = match page {
                Ok(page) => page,
                Err(failure) => break Err(failure),
            };
            ids.extend(
                page.routing_profile_summary_list.unwrap_or_default().into_iter().filter_map(|summary| summary.id),
            );
            match page.next_token.filter(|token| !token.is_empty()) {
                None => break Ok(()),
                Some(token) if !seen_tokens.insert(token.clone()) => break Err(Failure::repeated_token()),
                Some(token) => next_token = Some(token),
            }
        };
        stats.list_calls += counts.calls;
        stats.throttled_retries += counts.throttled_retries;

        match listed {
            Ok(()) => {
                let ids: Arc<[String]> = ids.into();
                *self.routing_profiles.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(ListedRoutingProfiles { ids: ids.clone(), listed_at: Instant::now() });
                Ok(ids)
            }
            Err(failure) => {
                tracing::warn!(instance_id = %self.config.instance_id, code = %failure.code, "listing routing profiles failed");
                Err(match failure.kind {
                    FailureKind::NotFound => self.instance_not_found(failure),
                    FailureKind::AccessDenied => {
                        SourceError::AccessDenied { code: failure.code, message: failure.message }
                    }
                    _ => SourceError::Scope { code: failure.code, message: failure.message },
                })
            }
        }
    }

    fn listed_routing_profiles(&self) -> Option<ListedRoutingProfiles> {
        self.routing_profiles.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn forget_routing_profiles(&self) {
        *self.routing_profiles.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// All pages of one chunk, one after another with the same filters.
    async fn fetch_chunk(&self, chunk: Chunk, deadline: Instant) -> ChunkOutcome {
        let filters = chunk.filter.filters(&chunk.ids);
        let mut outcome = ChunkOutcome { chunk, ..Default::default() };
        let mut next_token: Option<String> = None;
        let mut seen_tokens = HashSet::new();

        loop {
            let page = self
                .send(CallKind::UserData, deadline, &mut outcome.counts, || {
                    self.client
                        .get_current_user_data()
                        .instance_id(&self.config.instance_id)
                        .filters(filters.clone())
                        .max_results(USER_DATA_PAGE_SIZE)
                        .set_next_token(next_token.clone())
                        .send()
                })
                .await;
            let page = match page {
                Ok(page) => page,
                Err(failure) => {
                    outcome.failure = Some(failure);
                    break;
                }
            };

            outcome.pages += 1;
            for user_data in page.user_data_list.unwrap_or_default() {
                match convert::agent(user_data) {
                    Some(agent) => outcome.agents.push(agent),
                    None => outcome.without_user_id += 1,
                }
            }
            match page.next_token.filter(|token| !token.is_empty()) {
                None => break,
                // A token that comes back again would page forever.
                Some(token) if !seen_tokens.insert(token.clone()) => {
                    outcome.failure = Some(Failure::repeated_token());
                    break;
                }
                Some(token) => next_token = Some(token),
            }
        }
        outcome
    }

    /// One call with its retries: throttling and server errors are retried with backoff while
    /// the deadline allows; anything else fails at once.
    async fn send<T, E, F, Fut>(
        &self,
        kind: CallKind,
        deadline: Instant,
        counts: &mut CallCounts,
        mut call: F,
    ) -> Result<T, Failure>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let retry = self.config.retry;
        let mut delays = ExponentialBuilder::default()
            .with_min_delay(retry.min_delay)
            .with_max_delay(retry.max_delay)
            .with_max_times(retry.max_retries)
            .with_jitter()
            .build();

        let mut attempt = 0u32;
        loop {
            attempt += 1;
            // The quota counts GetCurrentUserData calls only; the list calls have their own.
            if kind == CallKind::UserData && timeout_at(deadline, self.limiter.until_ready()).await.is_err() {
                return Err(Failure::deadline());
            }
            counts.calls += 1;
            let failure = match timeout_at(deadline, call()).await {
                Err(_) => return Err(Failure::deadline()),
                Ok(Ok(output)) => return Ok(output),
                Ok(Err(error)) => Failure::of(&error),
            };

            if !failure.kind.is_retryable() {
                return Err(failure);
            }
            let Some(delay) = delays.next() else { return Err(failure) };
            if Instant::now() + delay >= deadline {
                return Err(failure);
            }
            if failure.kind == FailureKind::Throttled {
                counts.throttled_retries += 1;
            }
            tracing::warn!(
                instance_id = %self.config.instance_id,
                operation = kind.operation(),
                code = %failure.code,
                attempt,
                delay_ms = delay.as_millis() as u64,
                "Connect call failed, retrying"
            );
            sleep(delay).await;
        }
    }

    /// A failure of the whole fetch: when not a single page came back and every chunk failed
    /// the same way that only a change of configuration can fix. Anything less is an
    /// incomplete snapshot, so a failure is never read as agents logging out.
    fn whole_fetch_error(&self, outcomes: &[ChunkOutcome]) -> Option<SourceError> {
        let failure = outcomes.first()?.failure.clone()?;
        let all_alike =
            outcomes.iter().all(|o| o.pages == 0 && o.failure.as_ref().is_some_and(|f| f.kind == failure.kind));
        if !all_alike {
            return None;
        }
        match failure.kind {
            FailureKind::NotFound => Some(self.instance_not_found(failure)),
            FailureKind::AccessDenied => {
                Some(SourceError::AccessDenied { code: failure.code, message: failure.message })
            }
            FailureKind::Invalid => Some(SourceError::InvalidRequest { code: failure.code, message: failure.message }),
            _ => None,
        }
    }

    fn instance_not_found(&self, failure: Failure) -> SourceError {
        SourceError::InstanceNotFound { instance_id: self.config.instance_id.clone(), message: failure.message }
    }
}

impl AgentSource for ConnectSource {
    async fn fetch(&self, deadline: Instant) -> Result<Fetch, SourceError> {
        let taken_at = Utc::now();
        let started = Instant::now();
        let mut stats = FetchStats::default();

        let chunks = self.chunks(deadline, &mut stats).await?;
        let outcomes: Vec<ChunkOutcome> = futures::stream::iter(chunks)
            .map(|chunk| self.fetch_chunk(chunk, deadline))
            .buffered(self.config.max_concurrent_calls.get())
            .collect()
            .await;

        if let Some(error) = self.whole_fetch_error(&outcomes) {
            tracing::warn!(instance_id = %self.config.instance_id, error = %error, chunks = outcomes.len(), "no chunk of the agent scope could be fetched");
            return Err(error);
        }

        let mut snapshot = Snapshot::new(self.config.instance_id.clone(), taken_at);
        let mut without_user_id = 0u32;
        let mut agents = Vec::new();
        for outcome in outcomes {
            stats.calls += outcome.counts.calls;
            stats.throttled_retries += outcome.counts.throttled_retries;
            stats.pages += outcome.pages;
            without_user_id += outcome.without_user_id;

            agents.extend(outcome.agents);

            if let Some(failure) = outcome.failure {
                let chunk = outcome.chunk;
                tracing::warn!(
                    instance_id = %self.config.instance_id,
                    filter = chunk.filter.as_str(),
                    ids = chunk.ids.len(),
                    first_id = chunk.ids.first().map(String::as_str).unwrap_or_default(),
                    pages = outcome.pages,
                    code = %failure.code,
                    "a chunk of the agent scope could not be fetched; the snapshot is incomplete"
                );
                // A routing profile deleted since it was listed answers "not found": list again next time.
                if failure.kind == FailureKind::NotFound && self.config.scope == AgentScope::AllRoutingProfiles {
                    self.forget_routing_profiles();
                }
                snapshot.missing.push(MissingChunk {
                    filter: chunk.filter.as_str().to_owned(),
                    ids: chunk.ids,
                    error: failure.code,
                });
            }
        }
        // Queues and hierarchy groups overlap, so one agent can come back in several chunks.
        let fetched = agents.len();
        snapshot.agents = Agents::shared(agents);
        let duplicates = (fetched - snapshot.agents.len()) as u32;
        stats.agents = snapshot.agents.len() as u32;

        tracing::info!(
            instance_id = %self.config.instance_id,
            scope = self.config.scope.kind(),
            agents = stats.agents,
            pages = stats.pages,
            calls = stats.calls,
            list_calls = stats.list_calls,
            throttled_retries = stats.throttled_retries,
            missing_chunks = snapshot.missing.len(),
            duplicates,
            without_user_id,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "agent snapshot fetched"
        );
        Ok(Fetch { snapshot, stats })
    }
}

/// The `GetCurrentUserData` dimension filters; a call may carry only one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum FilterKind {
    #[default]
    RoutingProfiles,
    Queues,
    Agents,
    UserHierarchyGroups,
}

impl FilterKind {
    fn as_str(self) -> &'static str {
        match self {
            FilterKind::RoutingProfiles => "RoutingProfiles",
            FilterKind::Queues => "Queues",
            FilterKind::Agents => "Agents",
            FilterKind::UserHierarchyGroups => "UserHierarchyGroups",
        }
    }

    /// The filters of one chunk. Never a `ContactFilter`: it drops idle agents from the
    /// answer, and a missing agent reads as a logout.
    fn filters(self, ids: &[String]) -> UserDataFilters {
        let ids = Some(ids.to_vec());
        let builder = UserDataFilters::builder();
        match self {
            FilterKind::RoutingProfiles => builder.set_routing_profiles(ids),
            FilterKind::Queues => builder.set_queues(ids),
            FilterKind::Agents => builder.set_agents(ids),
            FilterKind::UserHierarchyGroups => builder.set_user_hierarchy_groups(ids),
        }
        .build()
    }
}

#[derive(Debug, Clone, Default)]
struct Chunk {
    filter: FilterKind,
    ids: Vec<String>,
}

#[derive(Debug, Default)]
struct ChunkOutcome {
    chunk: Chunk,
    agents: Vec<crate::model::Agent>,
    pages: u32,
    counts: CallCounts,
    without_user_id: u32,
    failure: Option<Failure>,
}

#[derive(Debug, Clone, Copy, Default)]
struct CallCounts {
    calls: u32,
    throttled_retries: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CallKind {
    UserData,
    List,
}

impl CallKind {
    fn operation(self) -> &'static str {
        match self {
            CallKind::UserData => "GetCurrentUserData",
            CallKind::List => "ListRoutingProfiles",
        }
    }
}

/// Why a call failed, by what to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FailureKind {
    Throttled,
    /// A 5xx, a dropped connection or a timed-out attempt: worth another try.
    Transient,
    NotFound,
    AccessDenied,
    Invalid,
    Deadline,
    Other,
}

impl FailureKind {
    fn is_retryable(self) -> bool {
        matches!(self, FailureKind::Throttled | FailureKind::Transient)
    }

    fn of(code: Option<&str>, status: Option<u16>) -> Self {
        match (code, status) {
            (Some("ThrottlingException" | "TooManyRequestsException"), _) | (_, Some(429)) => FailureKind::Throttled,
            (Some("InternalServiceException" | "ServiceUnavailableException"), _) => FailureKind::Transient,
            (Some("ResourceNotFoundException"), _) => FailureKind::NotFound,
            (Some("AccessDeniedException"), _) => FailureKind::AccessDenied,
            (Some("InvalidRequestException" | "InvalidParameterException"), _) => FailureKind::Invalid,
            (_, Some(500..=599)) => FailureKind::Transient,
            (_, Some(404)) => FailureKind::NotFound,
            (_, Some(401 | 403)) => FailureKind::AccessDenied,
            (_, Some(400)) => FailureKind::Invalid,
            _ => FailureKind::Other,
        }
    }
}

#[derive(Debug, Clone)]
struct Failure {
    kind: FailureKind,
    /// Connect's error code (or what went wrong on the way), for logs and [`MissingChunk::error`].
    code: String,
    message: String,
}

impl Failure {
    fn of<E>(error: &SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let (kind, code) = match error {
            SdkError::DispatchFailure(_) => (FailureKind::Transient, "DispatchFailure".to_owned()),
            SdkError::TimeoutError(_) => (FailureKind::Transient, "TimeoutError".to_owned()),
            SdkError::ConstructionFailure(_) => (FailureKind::Invalid, "ConstructionFailure".to_owned()),
            _ => {
                let status = error.raw_response().map(|response| response.status().as_u16());
                let code = error.code().map(str::to_owned).or_else(|| status.map(|s| format!("HTTP {s}")));
                (FailureKind::of(error.code(), status), code.unwrap_or_else(|| "ResponseError".to_owned()))
            }
        };
        let message = sdk_error::message(error);
        Self { kind, code, message }
    }

    fn deadline() -> Self {
        Self {
            kind: FailureKind::Deadline,
            code: "DeadlineExceeded".into(),
            message: "the tick's deadline passed".into(),
        }
    }

    fn repeated_token() -> Self {
        Self {
            kind: FailureKind::Other,
            code: "RepeatedNextToken".into(),
            message: "Connect returned the same NextToken twice".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_and_server_errors_are_retried_and_the_rest_is_not() {
        assert_eq!(FailureKind::of(Some("ThrottlingException"), Some(429)), FailureKind::Throttled);
        assert_eq!(FailureKind::of(None, Some(429)), FailureKind::Throttled);
        assert_eq!(FailureKind::of(Some("InternalServiceException"), Some(500)), FailureKind::Transient);
        assert_eq!(FailureKind::of(Some("SomethingNew"), Some(503)), FailureKind::Transient);
        assert!(FailureKind::Throttled.is_retryable() && FailureKind::Transient.is_retryable());

        assert_eq!(FailureKind::of(Some("ResourceNotFoundException"), Some(404)), FailureKind::NotFound);
        assert_eq!(FailureKind::of(Some("AccessDeniedException"), Some(403)), FailureKind::AccessDenied);
        assert_eq!(FailureKind::of(Some("UnrecognizedClientException"), Some(403)), FailureKind::AccessDenied);
        assert_eq!(FailureKind::of(Some("InvalidParameterException"), Some(400)), FailureKind::Invalid);
        assert_eq!(FailureKind::of(Some("InvalidRequestException"), Some(400)), FailureKind::Invalid);
        for kind in [
            FailureKind::NotFound,
            FailureKind::AccessDenied,
            FailureKind::Invalid,
            FailureKind::Deadline,
            FailureKind::Other,
        ] {
            assert!(!kind.is_retryable(), "{kind:?}");
        }
    }

    #[test]
    fn chunks_carry_one_filter_kind() {
        let ids = vec!["a".to_owned(), "b".to_owned()];
        let filters = FilterKind::Queues.filters(&ids);
        assert_eq!(filters.queues(), ids.as_slice());
        assert!(filters.routing_profiles().is_empty() && filters.agents().is_empty());
        assert!(filters.user_hierarchy_groups().is_empty() && filters.contact_filter().is_none());
    }
}
