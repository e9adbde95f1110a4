//! The built function, run through the Lambda Runtime API as Lambda runs it, against moto and the
//! Connect simulator: the summary it returns, and the clear errors it gives for bad input.

mod support;

use std::collections::VecDeque;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use connect_sim::{Scenario, Sim, SimConfig};
use serde_json::{json, Value};
use support::Moto;
use tokio::sync::Notify;

/// A stand-in for the Lambda Runtime API: hands out queued events, records what comes back.
#[derive(Clone, Default)]
struct RuntimeApi {
    queue: Arc<Mutex<VecDeque<Value>>>,
    answers: Arc<Mutex<Vec<(String, Value)>>>,
    answered: Arc<Notify>,
}

async fn next_invocation(State(api): State<RuntimeApi>) -> (HeaderMap, Json<Value>) {
    loop {
        let next = api.queue.lock().unwrap().pop_front();
        if let Some(event) = next {
            let n = api.answers.lock().unwrap().len();
            let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() + 30_000;
            let mut headers = HeaderMap::new();
            headers.insert("lambda-runtime-aws-request-id", format!("request-{n}").parse().unwrap());
            headers.insert("lambda-runtime-deadline-ms", deadline.to_string().parse().unwrap());
            headers.insert(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:connect-pulse".parse().unwrap(),
            );
            return (headers, Json(event));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn answer(State(api): State<RuntimeApi>, Path((id, kind)): Path<(String, String)>, body: String) -> StatusCode {
    let value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    api.answers.lock().unwrap().push((format!("{id}/{kind}"), value));
    api.answered.notify_one();
    StatusCode::ACCEPTED
}

impl RuntimeApi {
    async fn serve(&self) -> u16 {
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
            .route("/2018-06-01/runtime/invocation/{id}/{kind}", post(answer))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        port
    }

    /// Invokes the function with `event` and waits for its response or error.
    async fn invoke(&self, event: Value) -> (String, Value) {
        let before = self.answers.lock().unwrap().len();
        self.queue.lock().unwrap().push_back(event);
        tokio::time::timeout(Duration::from_secs(60), async {
            loop {
                if let Some(answer) = self.answers.lock().unwrap().get(before).cloned() {
                    return answer;
                }
                self.answered.notified().await;
            }
        })
        .await
        .expect("the function answered within 60 s")
    }
}

/// The function's process; killed when dropped.
struct Function(Option<Child>);

impl Function {
    /// Waits for the function to exit by itself and returns what it wrote.
    fn wait(mut self) -> std::process::Output {
        self.0.take().expect("the function runs").wait_with_output().expect("the function's output is readable")
    }

    /// Stops the function and returns everything it wrote to stdout.
    fn stop(mut self) -> String {
        let mut child = self.0.take().expect("the function runs");
        let _ = child.kill();
        let output = child.wait_with_output().expect("the function's output is readable");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn start_function(runtime_port: u16, env: &[(&str, &str)]) -> Function {
    let mut command = Command::new(env!("CARGO_BIN_EXE_connect-pulse"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{runtime_port}"))
        .env("AWS_LAMBDA_FUNCTION_NAME", "connect-pulse")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    Function(Some(command.spawn().expect("the function binary starts")))
}

fn scheduled_event() -> Value {
    serde_json::from_str(include_str!("../events/scheduled-event.json")).unwrap()
}

async fn stored_items(moto: &Moto, table: &str) -> usize {
    let dynamodb = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    dynamodb.scan().table_name(table).send().await.unwrap().count() as usize
}

async fn create_table(moto: &Moto, table: &str) {
    let dynamodb = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    support::snapshot_table::create_snapshot_table(&dynamodb, table).await;
}

/// The Connect simulator playing the demo scenario, in this process.
async fn start_simulator(instance_id: &str) -> String {
    let scenario = Scenario::load(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("events/scenarios/demo.json"))
        .expect("the demo scenario loads");
    let config = SimConfig { instance_id: Some(instance_id.to_owned()), ..SimConfig::default() };
    let sim = Sim::from_scenario(&scenario, config).expect("the demo scenario compiles");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(connect_sim::serve(listener, sim));
    format!("http://127.0.0.1:{port}")
}

/// moto with the snapshot table, the simulator playing the demo scenario for `demo-instance`, and
/// the function configured for `instance_id`, served through a Runtime API stand-in.
async fn start_chain(instance_id: &str) -> (Moto, RuntimeApi, Function) {
    let moto = Moto::start();
    create_table(&moto, "pulse").await;
    let connect = start_simulator("demo-instance").await;
    let api = RuntimeApi::default();
    let port = api.serve().await;
    let function = start_function(
        port,
        &[
            ("CONNECT_INSTANCE_ID", instance_id),
            ("SNAPSHOT_TABLE_NAME", "pulse"),
            ("AWS_ENDPOINT_URL", &moto.endpoint),
            ("AWS_ENDPOINT_URL_CONNECT", &connect),
        ],
    );
    (moto, api, function)
}

#[tokio::test]
async fn a_scheduled_event_runs_a_tick_and_returns_its_summary() {
    let (moto, api, function) = start_chain("demo-instance").await;

    let (kind, summary) = api.invoke(scheduled_event()).await;

    assert_eq!(kind, "request-0/response", "{summary}");
    assert_eq!(summary["instanceId"], "demo-instance");
    assert_eq!(summary["polls"], 1);
    assert_eq!(summary["complete"], true);
    let agents = summary["agents"].as_u64().unwrap();
    assert!(agents > 0, "{summary}");
    assert!(summary["connect"]["calls"].as_u64().unwrap() >= 1);
    assert_eq!(summary["eventsByType"], json!({}), "the first tick is a baseline");
    assert_eq!(summary["itemsWritten"].as_u64().unwrap(), agents);
    assert_eq!(stored_items(&moto, "pulse").await as u64, agents + 1, "one item per agent plus the metadata item");

    let (kind, dry_run) = api.invoke(json!({"dryRun": true})).await;
    assert_eq!(kind, "request-1/response", "{dry_run}");
    assert_eq!((dry_run["dryRun"].as_bool(), dry_run["agents"].as_u64()), (Some(true), Some(agents)));
    assert_eq!(dry_run["eventsByType"], json!({}), "nothing changed since the baseline");
    assert_eq!(stored_items(&moto, "pulse").await as u64, agents + 1, "a dry run stores nothing");

    let (kind, error) = api.invoke(json!({"dryrun": true})).await;
    assert_eq!(kind, "request-2/error");
    assert_eq!(error["errorType"], "InvalidInput");
    assert!(error["errorMessage"].as_str().unwrap().contains("unknown field `dryrun`"), "{error}");

    // One CloudWatch Embedded Metric Format record per tick, on stdout where Lambda reads it.
    let stdout = function.stop();
    let records: Vec<Value> = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|record| record["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "ConnectPulse")
        .collect();
    let agents_record =
        records.iter().find(|record| record.get("Agents").is_some() && record.get("Activity").is_none());
    let agents_record = agents_record.unwrap_or_else(|| panic!("no Agents metric in:\n{stdout}"));
    assert_eq!(agents_record["Agents"].as_f64(), Some(agents as f64));
    assert_eq!(agents_record["InstanceId"], "demo-instance");
    assert!(records.iter().any(|record| record["FailedTicks"] == 1 && record.get("Agents").is_none()), "{stdout}");
}

#[tokio::test]
async fn an_unknown_instance_fails_the_tick_and_leaves_the_table_untouched() {
    let (moto, api, _function) = start_chain("no-such-instance").await;

    let (kind, error) = api.invoke(scheduled_event()).await;

    assert_eq!(kind, "request-0/error");
    assert_eq!(error["errorType"], "ConnectInstanceNotFound", "{error}");
    assert!(error["errorMessage"].as_str().unwrap().contains("no-such-instance"), "{error}");
    let dynamodb = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    let items = dynamodb.scan().table_name("pulse").send().await.unwrap();
    assert!(items.items().iter().all(|item| !item["sk"].as_s().unwrap().starts_with("agent#")), "no agent was stored");
}

#[tokio::test]
async fn missing_settings_stop_the_function_with_one_line_naming_them() {
    let api = RuntimeApi::default();
    let port = api.serve().await;
    let function = start_function(port, &[("EVENT_SOURCE", "aws.connect")]);

    let output = tokio::task::spawn_blocking(move || function.wait()).await.unwrap();

    assert!(!output.status.success());
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    let line = text.lines().find(|line| line.contains("invalid settings")).unwrap_or_else(|| panic!("{text}"));
    for name in ["CONNECT_INSTANCE_ID is required", "SNAPSHOT_TABLE_NAME is required", "EVENT_SOURCE"] {
        assert!(line.contains(name), "{name} missing from: {line}");
    }
    assert!(api.answers.lock().unwrap().is_empty(), "no invocation was taken");
}
