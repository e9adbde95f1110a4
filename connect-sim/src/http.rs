//! The HTTP face of the simulator: Connect's REST-JSON routes plus a small control API under
//! `/sim/`, which is outside every Connect path.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::sim::{ListKind, Sim};
use crate::wire::ApiError;

/// The router serving one simulated instance.
pub fn router(sim: Sim) -> Router {
    Router::new()
        .route("/metrics/userdata/{instance_id}", post(get_current_user_data))
        .route("/routing-profiles-summary/{instance_id}", get(list_routing_profiles))
        .route("/queues-summary/{instance_id}", get(list_queues))
        .route("/users-summary/{instance_id}", get(list_users))
        .route("/user-hierarchy-groups-summary/{instance_id}", get(list_hierarchy_groups))
        .route("/sim/advance", post(advance))
        .route("/sim/state", get(state))
        .route("/sim/requests", get(requests))
        .fallback(unknown_operation)
        .with_state(sim)
}

async fn get_current_user_data(State(sim): State<Sim>, Path(instance_id): Path<String>, body: Bytes) -> Response {
    let result = sim.get_current_user_data(&instance_id, &body);
    match &result {
        Ok(page) => tracing::debug!(
            instance_id,
            agents = page.user_data_list.len(),
            more = page.next_token.is_some(),
            "user data page"
        ),
        Err(error) => tracing::debug!(instance_id, code = error.code, "user data request refused"),
    }
    respond(result.and_then(|page| serde_json::to_value(page).map_err(|_| ApiError::internal())))
}

async fn list_routing_profiles(
    sim: State<Sim>,
    instance_id: Path<String>,
    query: Query<HashMap<String, String>>,
) -> Response {
    list(ListKind::RoutingProfiles, sim, instance_id, query)
}

async fn list_queues(sim: State<Sim>, instance_id: Path<String>, query: Query<HashMap<String, String>>) -> Response {
    list(ListKind::Queues, sim, instance_id, query)
}

async fn list_users(sim: State<Sim>, instance_id: Path<String>, query: Query<HashMap<String, String>>) -> Response {
    list(ListKind::Users, sim, instance_id, query)
}

async fn list_hierarchy_groups(
    sim: State<Sim>,
    instance_id: Path<String>,
    query: Query<HashMap<String, String>>,
) -> Response {
    list(ListKind::HierarchyGroups, sim, instance_id, query)
}

fn list(
    kind: ListKind,
    State(sim): State<Sim>,
    Path(instance_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let result = sim.list(kind, &instance_id, &query);
    tracing::debug!(instance_id, ?kind, ok = result.is_ok(), "list request");
    respond(result)
}

async fn advance(State(sim): State<Sim>, Query(query): Query<HashMap<String, String>>) -> Response {
    let Ok(frames) = query.get("frames").map_or(Ok(1), |n| n.parse::<usize>()) else {
        return respond(Err(ApiError::invalid_parameter("frames must be a whole number")));
    };
    respond(serde_json::to_value(sim.advance(frames)).map_err(|_| ApiError::internal()))
}

async fn state(State(sim): State<Sim>) -> Response {
    respond(serde_json::to_value(sim.frame_info()).map_err(|_| ApiError::internal()))
}

async fn requests(State(sim): State<Sim>) -> Response {
    respond(serde_json::to_value(sim.requests()).map_err(|_| ApiError::internal()))
}

async fn unknown_operation() -> Response {
    respond(Err(ApiError::unknown_operation()))
}

/// A JSON answer, or a Connect error: status, `X-Amzn-ErrorType` and a `{"Message": ...}` body.
fn respond(result: Result<serde_json::Value, ApiError>) -> Response {
    let request_id = (
        HeaderName::from_static("x-amzn-requestid"),
        HeaderValue::from_str(&request_id()).unwrap_or(HeaderValue::from_static("0")),
    );
    let json = (header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    match result {
        Ok(body) => (StatusCode::OK, [request_id, json], body.to_string()).into_response(),
        Err(error) => {
            let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let error_type = (HeaderName::from_static("x-amzn-errortype"), HeaderValue::from_static(error.code));
            (status, [request_id, json, error_type], error.body()).into_response()
        }
    }
}

fn request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("00000000-0000-4000-8000-{n:012x}")
}
