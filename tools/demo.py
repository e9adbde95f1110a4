#!/usr/bin/env python3
"""`make demo`: a contact-centre scenario through the real Lambda, against local stand-ins.

Starts moto (DynamoDB, EventBridge, SQS) and the Connect simulator on free loopback ports,
creates the table, bus, subscriber rules and queues as the SAM template and a subscriber would,
serves the function with `cargo lambda watch`, invokes it once per scenario frame, then prints
what the subscribers received. Everything it started is stopped on exit, Ctrl-C or failure.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import jsonschema

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".demo"
SCENARIO = ROOT / "events" / "scenarios" / "demo.json"
SCHEMAS = ROOT / "events" / "schemas"
SCHEDULED_EVENT = ROOT / "events" / "scheduled-event.json"
TABLE = "connect-pulse-demo"
BUS = "connect-pulse"
SOURCE = "connect-pulse"
REGION = "us-east-1"

# What an alerting team would write: missed chats and errored contacts, nothing else.
ALERT_PATTERN = {
    "source": [SOURCE],
    "$or": [
        {"detail-type": ["Agent Contact Missed"], "detail": {"contact": {"channel": ["CHAT"]}}},
        {"detail-type": ["Agent Contact Errored"]},
    ],
}

started = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, name, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited early (code {proc.returncode}); see {WORK}/{name}.log")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{name} did not listen on port {port} within {timeout} s")


def start(name, args, env=None):
    log = open(WORK / f"{name}.log", "w")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True)
    started.append((name, proc))
    return proc


def stop_all():
    for name, proc in reversed(started):
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(proc.pid, signal.SIGKILL)
    started.clear()


def kebab(detail_type):
    return detail_type.lower().replace(" ", "-")


def create_subscribers(moto):
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    dynamodb = session.client("dynamodb", endpoint_url=moto)
    events = session.client("events", endpoint_url=moto)
    sqs = session.client("sqs", endpoint_url=moto)

    dynamodb.create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_time_to_live(TableName=TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"})
    events.create_event_bus(Name=BUS)

    queues = {}
    for rule, pattern in [("all-agent-events", {"source": [SOURCE]}), ("missed-chats-and-errors", ALERT_PATTERN)]:
        url = sqs.create_queue(QueueName=rule)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name=rule, EventBusName=BUS, EventPattern=json.dumps(pattern), State="ENABLED")
        events.put_targets(Rule=rule, EventBusName=BUS, Targets=[{"Id": "queue", "Arn": arn}])
        queues[rule] = url
    return sqs, queues


def drain(sqs, url):
    messages, empty_polls = [], 0
    while empty_polls < 2:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        empty_polls = 0 if batch else empty_polls + 1
        for message in batch:
            messages.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return sorted(messages, key=lambda event: (event["detail"]["observedAt"], event["detail"]["agent"]["id"]))


def describe(event):
    detail = event["detail"]
    kind = event["detail-type"]
    if kind == "Agent Status Changed":
        before = (detail.get("previousStatus") or {}).get("name", "?")
        after = detail["currentStatus"].get("name", "?")
        seconds = detail.get("previousStatusDurationSeconds")
        return f"{before} -> {after}" + (f" after {seconds:.0f} s" if seconds is not None else "")
    if kind in ("Agent Contact Missed", "Agent Contact Errored"):
        contact = detail["contact"]
        queue = (contact.get("queue") or {}).get("id", "?")
        return f"{contact.get('channel', '?')} contact {contact['contactId']} in queue {queue} ({contact.get('state')})"
    if kind == "Agent Slots Saturated":
        return f"{detail['channel']} {detail['activeSlots']}/{detail['maxSlots']} slots busy"
    if kind == "Agent Slots Recovered":
        return f"{detail['channel']} {detail['availableSlots']} free again after {detail['saturatedSeconds']:.0f} s"
    if kind == "Agent Logged Out":
        return f"last seen {detail['lastSeenAt']}"
    status = (detail["agent"].get("status") or {}).get("name", "?")
    return f"status {status}"


def print_table(title, events):
    print(f"\n{title}: {len(events)} events")
    rows = [("observed at", "detail-type", "agent", "activity", "what happened")]
    for event in events:
        detail = event["detail"]
        rows.append((detail["observedAt"], event["detail-type"], detail["agent"]["id"], detail["agent"]["activity"], describe(event)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for i, row in enumerate(rows):
        print("  " + "  ".join(cell.ljust(widths[j]) for j, cell in enumerate(row[:4])) + "  " + row[4])
        if i == 0:
            print("  " + "  ".join("-" * w for w in widths) + "  " + "-" * 13)


def main():
    WORK.mkdir(exist_ok=True)
    scenario = json.loads(SCENARIO.read_text())
    frames = len(scenario["frames"])
    instance_id = scenario.get("instanceId", "demo-instance")

    moto_port, sim_port, lambda_port = free_port(), free_port(), free_port()
    moto = f"http://127.0.0.1:{moto_port}"
    sim = f"http://127.0.0.1:{sim_port}"

    proc = start("moto", [str(ROOT / ".venv/bin/moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)])
    wait_for_port(moto_port, proc, "moto")
    proc = start("connect-sim", [str(ROOT / "target/debug/connect-sim"), "--port", str(sim_port), "--scenario", str(SCENARIO)])
    wait_for_port(sim_port, proc, "connect-sim")
    print(f"moto on {moto}, Connect simulator on {sim} ({frames} frames of {SCENARIO.relative_to(ROOT)})")

    sqs, queues = create_subscribers(moto)

    env = dict(
        os.environ,
        CONNECT_INSTANCE_ID=instance_id,
        SNAPSHOT_TABLE_NAME=TABLE,
        EVENT_BUS_NAME=BUS,
        EVENT_SOURCE=SOURCE,
        AWS_REGION=REGION,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_ENDPOINT_URL=moto,
        AWS_ENDPOINT_URL_CONNECT=sim,
        AWS_LAMBDA_LOG_FORMAT="JSON",
    )
    proc = start("lambda", ["cargo", "lambda", "watch", "-P", str(lambda_port), "--bin", "connect-pulse"], env=env)
    wait_for_port(lambda_port, proc, "lambda")

    print("\ntick summaries:")
    for frame in range(frames):
        if frame > 0:
            urllib.request.urlopen(urllib.request.Request(f"{sim}/sim/advance", method="POST"), timeout=10).read()
        result = subprocess.run(
            ["cargo", "lambda", "invoke", "-P", str(lambda_port), "connect-pulse", "--data-file", str(SCHEDULED_EVENT)],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
        )
        if result.returncode != 0:
            raise SystemExit(f"invoke failed on frame {frame}:\n{result.stdout}{result.stderr}\nsee {WORK}/lambda.log")
        summary = json.loads(result.stdout)
        events = ", ".join(f"{count} {kind}" for kind, count in summary["eventsByType"].items())
        events = events or ("no events (the baseline)" if frame == 0 else "no events")
        print(f"  frame {frame}: {summary['agents']} agents, complete={summary['complete']}, "
              f"{summary['connect']['calls']} Connect calls, {summary['itemsWritten']} items written, "
              f"{summary['durationMs']} ms: {events}")

    received = {rule: drain(sqs, url) for rule, url in queues.items()}
    everything = received["all-agent-events"]
    print_table("subscriber 'all-agent-events' (pattern {\"source\": [\"connect-pulse\"]})", everything)
    print_table("subscriber 'missed-chats-and-errors' (an alerting rule)", received["missed-chats-and-errors"])

    invalid = []
    for event in everything + received["missed-chats-and-errors"]:
        schema = json.loads((SCHEMAS / f"{kebab(event['detail-type'])}.json").read_text())
        try:
            jsonschema.validate(event, schema)
        except jsonschema.ValidationError as err:
            invalid.append(f"{event['detail-type']} {event['detail']['eventId']}: {err.message}")
    seen = {event["detail-type"] for event in everything}
    catalogue = sorted(path.stem for path in SCHEMAS.glob("*.json"))
    missing = [name for name in catalogue if name not in {kebab(kind) for kind in seen}]

    print(f"\nevery event valid against its schema: {'yes' if not invalid else 'NO'}")
    for line in invalid:
        print(f"  {line}")
    print(f"detail-types seen: {len(seen)} of {len(catalogue)}" + (f" (missing: {', '.join(missing)})" if missing else ""))
    print(f"logs of this run: {WORK}/")
    return 1 if invalid or missing else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        stop_all()
