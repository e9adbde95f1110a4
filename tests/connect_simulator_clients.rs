//! The simulator speaks Connect's wire the way the clients people use read it: the AWS CLI and
//! boto3 page through user data, list routing profiles and see Connect's errors.

mod support;

use std::process::{Command, Output};

use connect_sim::{RateLimit, Scenario, Sim, SimConfig};
use serde_json::{json, Value};

const INSTANCE: &str = "inst-1";

/// Five agents on one routing profile and one on another, one with a fractional status time.
fn small_centre(config: SimConfig) -> Sim {
    let scenario = Scenario::from_json(
        &json!({
            "instanceId": INSTANCE,
            "baseTime": "2024-12-03T10:40:00Z",
            "routingProfiles": [
                {"id": "rp-a", "name": "Sales", "queues": ["q-sales"]},
                {"id": "rp-b", "name": "Support", "queues": ["q-support"], "concurrency": {"CHAT": 2}}
            ],
            "agents": [
                {"id": "a-1", "routingProfile": "rp-a", "hierarchy": ["hg-emea"]},
                {"id": "a-2", "routingProfile": "rp-a"},
                {"id": "a-3", "routingProfile": "rp-a"},
                {"id": "a-4", "routingProfile": "rp-a"},
                {"id": "a-5", "routingProfile": "rp-a"},
                {"id": "b-1", "routingProfile": "rp-b"}
            ],
            "frames": [{"agents": {
                "a-1": {"status": "Available", "statusSince": 0.123,
                        "contacts": [{"id": "c-1", "state": "CONNECTED_ONHOLD", "since": -42}]},
                "a-2": "Available", "a-3": "Break", "a-4": "Available", "a-5": "Lunch",
                "b-1": {"contacts": [{"id": "c-2", "channel": "CHAT", "state": "MISSED"}]}
            }}]
        })
        .to_string(),
    )
    .unwrap();
    Sim::from_scenario(&scenario, config).unwrap()
}

async fn serve(sim: &Sim) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(connect_sim::serve(listener, sim.clone()));
    endpoint
}

/// Runs a venv tool with dummy credentials and no user configuration, off the async runtime.
async fn run(tool: &str, args: Vec<String>) -> Output {
    let program = support::venv_bin(tool);
    tokio::task::spawn_blocking(move || {
        Command::new(program)
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("AWS_ENDPOINT_URL_CONNECT")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

async fn aws_connect(endpoint: &str, args: &[&str]) -> Output {
    let mut all: Vec<String> = vec!["connect".into()];
    all.extend(args.iter().map(|a| a.to_string()));
    all.extend(["--endpoint-url", endpoint, "--region", "us-east-1", "--output", "json"].map(String::from));
    run("aws", all).await
}

fn json_out(output: &Output) -> Value {
    assert!(output.status.success(), "failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_cli_pages_through_user_data() {
    let sim = small_centre(SimConfig::default());
    let endpoint = serve(&sim).await;
    let filters = r#"{"RoutingProfiles":["rp-a"]}"#;

    let mut pages: Vec<Value> = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut args =
            vec!["get-current-user-data", "--instance-id", INSTANCE, "--filters", filters, "--max-results", "2"];
        if let Some(token) = &token {
            args.extend(["--next-token", token.as_str()]);
        }
        let page = json_out(&aws_connect(&endpoint, &args).await);
        token = page.get("NextToken").and_then(Value::as_str).map(str::to_owned);
        pages.push(page);
        if token.is_none() {
            break;
        }
    }

    assert_eq!(pages.len(), 3);
    let ids: Vec<&str> = pages
        .iter()
        .flat_map(|p| p["UserDataList"].as_array().unwrap())
        .map(|u| u["User"]["Id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["a-1", "a-2", "a-3", "a-4", "a-5"]);
    assert_eq!(pages[0]["ApproximateTotalCount"], 5);

    let a1 = &pages[0]["UserDataList"][0];
    assert_eq!(a1["Status"]["StatusStartTimestamp"].as_f64(), Some(1_733_222_400.123));
    assert_eq!(a1["Status"]["StatusName"], "Available");
    assert_eq!(a1["HierarchyPath"]["LevelOne"]["Id"], "hg-emea");
    assert_eq!(a1["Contacts"][0]["AgentContactState"], "CONNECTED_ONHOLD");
    assert_eq!(a1["Contacts"][0]["StateStartTimestamp"].as_f64(), Some(1_733_222_358.0));
    assert_eq!(a1["MaxSlotsByChannel"]["VOICE"], 1);
    assert_eq!(a1["AvailableSlotsByChannel"]["VOICE"], 0);
    assert!(pages[0]["UserDataList"][1].get("HierarchyPath").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_cli_reports_two_filter_kinds_in_one_request_as_invalid() {
    let sim = small_centre(SimConfig::default());
    let endpoint = serve(&sim).await;

    let output = aws_connect(
        &endpoint,
        &[
            "get-current-user-data",
            "--instance-id",
            INSTANCE,
            "--filters",
            r#"{"Queues":["q-sales"],"Agents":["a-1"]}"#,
        ],
    )
    .await;

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("(InvalidRequestException)"), "{stderr}");
    assert!(stderr.contains("A maximum of one filter can be passed"), "{stderr}");
    assert_eq!(sim.stats().client_errors, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_pages_through_user_data_lists_routing_profiles_and_reads_errors() {
    let sim = small_centre(SimConfig::default());
    let endpoint = serve(&sim).await;
    let script = r#"
import json, sys
import boto3
from botocore.config import Config

connect = boto3.client("connect", endpoint_url=sys.argv[1], region_name="us-east-1",
                       config=Config(retries={"mode": "standard", "total_max_attempts": 1}))

pages, token = [], None
while True:
    kwargs = {"InstanceId": "inst-1", "Filters": {"RoutingProfiles": ["rp-a", "rp-b"]}, "MaxResults": 2}
    if token:
        kwargs["NextToken"] = token
    page = connect.get_current_user_data(**kwargs)
    pages.append(page)
    token = page.get("NextToken")
    if not token:
        break

first = pages[0]["UserDataList"][0]
missed = pages[-1]["UserDataList"][-1]
profiles = [summary["Id"]
            for page in connect.get_paginator("list_routing_profiles").paginate(
                InstanceId="inst-1", PaginationConfig={"PageSize": 1})
            for summary in page["RoutingProfileSummaryList"]]

def error(call):
    try:
        call()
    except connect.exceptions.ClientError as e:
        return {"code": e.response["Error"]["Code"], "message": e.response["Error"]["Message"],
                "status": e.response["ResponseMetadata"]["HTTPStatusCode"]}

print(json.dumps({
    "pages": [[u["User"]["Id"] for u in p["UserDataList"]] for p in pages],
    "statusStart": first["Status"]["StatusStartTimestamp"].isoformat(),
    "missedState": missed["Contacts"][0]["AgentContactState"],
    "missedChannel": missed["Contacts"][0]["Channel"],
    "chatSlots": [missed["MaxSlotsByChannel"]["CHAT"], missed["AvailableSlotsByChannel"]["CHAT"]],
    "profiles": profiles,
    "tooMany": error(lambda: connect.get_current_user_data(InstanceId="inst-1", Filters={"Agents": ["a-%d" % i for i in range(101)]})),
    "unknownInstance": error(lambda: connect.get_current_user_data(InstanceId="nope", Filters={"Agents": ["a-1"]})),
}))
"#;

    let output = run("python", vec!["-c".into(), script.into(), endpoint]).await;
    let result = json_out(&output);

    assert_eq!(result["pages"], json!([["a-1", "a-2"], ["a-3", "a-4"], ["a-5", "b-1"]]));
    assert_eq!(result["statusStart"], "2024-12-03T10:40:00.123000+00:00");
    assert_eq!((&result["missedState"], &result["missedChannel"]), (&json!("MISSED"), &json!("CHAT")));
    assert_eq!(result["chatSlots"], json!([2, 2]));
    assert_eq!(result["profiles"], json!(["rp-a", "rp-b"]));
    assert_eq!(result["tooMany"]["code"], "InvalidParameterException");
    assert_eq!(result["tooMany"]["status"], 400);
    assert!(result["tooMany"]["message"].as_str().unwrap().contains("between 1 and 100"));
    assert_eq!(result["unknownInstance"]["code"], "ResourceNotFoundException");
    assert_eq!(result["unknownInstance"]["status"], 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_sees_requests_beyond_the_burst_as_throttling() {
    let almost_never_refills = RateLimit { per_second: 0.001, burst: 1 };
    let sim = small_centre(SimConfig { user_data_rate: Some(almost_never_refills), ..Default::default() });
    let endpoint = serve(&sim).await;
    let script = r#"
import json, sys
import boto3
from botocore.config import Config

connect = boto3.client("connect", endpoint_url=sys.argv[1], region_name="us-east-1",
                       config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
ask = lambda: connect.get_current_user_data(InstanceId="inst-1", Filters={"Agents": ["a-1"]})
first = len(ask()["UserDataList"])
try:
    ask()
    second = None
except connect.exceptions.ThrottlingException as e:
    second = {"code": e.response["Error"]["Code"], "status": e.response["ResponseMetadata"]["HTTPStatusCode"]}
print(json.dumps({"first": first, "second": second}))
"#;

    let result = json_out(&run("python", vec!["-c".into(), script.into(), endpoint]).await);

    assert_eq!(result, json!({"first": 1, "second": {"code": "ThrottlingException", "status": 429}}));
    assert_eq!(sim.stats().throttled, 1);
}
