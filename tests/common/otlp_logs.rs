//! A test OTLP log receiver on the official protobuf types
//! (`opentelemetry-proto`): a real gRPC server (tonic, `LogsService`) and a
//! real HTTP/protobuf endpoint (`POST /v1/logs`), both on loopback
//! ephemeral ports, keeping every record they decode with its resource and
//! scope. Plus how to compare a record with a JSON line of redline's.
#![allow(dead_code)]

use super::otlp::{ReceiverTls, Served, serve_otlp_with};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use prost::Message;
use serde_json::{Map, Value, json};

/// A log record as received, with its resource and scope.
#[derive(Debug, Clone)]
pub struct ReceivedLog {
    pub resource: BTreeMap<String, String>,
    pub scope: String,
    pub record: LogRecord,
    /// "grpc" or "http".
    pub via: &'static str,
}

impl ReceivedLog {
    pub fn attr(&self, key: &str) -> Option<Value> {
        self.record
            .attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref())
            .map(to_json)
    }

    pub fn body(&self) -> Option<Value> {
        self.record.body.as_ref().map(to_json)
    }

    pub fn trace_id(&self) -> String {
        hex(&self.record.trace_id)
    }

    pub fn span_id(&self) -> String {
        hex(&self.record.span_id)
    }

    /// The record in a canonical form, to compare with
    /// [`expected_from_line`]: time (RFC 3339, milliseconds), severity
    /// number and text, body, ids, attributes.
    pub fn canonical(&self) -> Value {
        let attributes: Map<String, Value> = self
            .record
            .attributes
            .iter()
            .filter_map(|kv| Some((kv.key.clone(), to_json(kv.value.as_ref()?))))
            .collect();
        json!({
            "time": rfc3339_millis(self.record.time_unix_nano),
            "sub_millisecond_nanos": self.record.time_unix_nano % 1_000_000,
            "severity_number": self.record.severity_number,
            "severity_text": self.record.severity_text,
            "body": self.body().unwrap_or(Value::Null),
            "trace_id": self.trace_id(),
            "span_id": self.span_id(),
            "attributes": attributes,
        })
    }
}

/// What a JSON line of redline's should arrive as: its timestamp, level,
/// message and ids in the record's own fields, everything else (`target`,
/// `request_id`, the event's fields, the span's as `span.<field>`) as
/// attributes of the same value.
pub fn expected_from_line(line: &Value) -> Value {
    let line = line.as_object().expect("a JSON object");
    let mut attributes = Map::new();
    for (key, value) in line {
        match key.as_str() {
            "timestamp" | "level" | "message" | "trace_id" | "span_id" => {}
            "span" => {
                for (field, value) in value.as_object().expect("span is an object") {
                    attributes.insert(format!("span.{field}"), value.clone());
                }
            }
            _ => {
                attributes.insert(key.clone(), value.clone());
            }
        }
    }
    let level = line["level"].as_str().unwrap();
    let number = match level {
        "TRACE" => 1,
        "DEBUG" => 5,
        "INFO" => 9,
        "WARN" => 13,
        "ERROR" => 17,
        other => panic!("level {other}"),
    };
    json!({
        "time": line["timestamp"],
        "sub_millisecond_nanos": 0,
        "severity_number": number,
        "severity_text": level,
        "body": line.get("message").cloned().unwrap_or(Value::Null),
        "trace_id": line.get("trace_id").cloned().unwrap_or(json!("")),
        "span_id": line.get("span_id").cloned().unwrap_or(json!("")),
        "attributes": attributes,
    })
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An attribute or body value as JSON (what a JSON line would carry).
pub fn to_json(v: &AnyValue) -> Value {
    match &v.value {
        Some(any_value::Value::StringValue(s)) => json!(s),
        Some(any_value::Value::IntValue(i)) => json!(i),
        Some(any_value::Value::BoolValue(b)) => json!(b),
        Some(any_value::Value::DoubleValue(d)) => json!(d),
        other => json!(format!("{other:?}")),
    }
}

fn text(v: &AnyValue) -> String {
    match to_json(v) {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// Nanoseconds since the epoch as `2026-11-24T07:00:00.123Z` (as redline
/// writes its JSON lines' timestamps).
pub fn rfc3339_millis(nanos: u64) -> String {
    let ms = nanos / 1_000_000;
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let rem = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        ms % 1000
    )
}

fn attributes(attrs: &[KeyValue]) -> BTreeMap<String, String> {
    attrs
        .iter()
        .filter_map(|kv| kv.value.as_ref().map(|v| (kv.key.clone(), text(v))))
        .collect()
}

#[derive(Clone, Default)]
struct Store {
    records: Arc<Mutex<Vec<ReceivedLog>>>,
    requests: Arc<Mutex<usize>>,
}

impl Store {
    fn add(&self, request: ExportLogsServiceRequest, via: &'static str) {
        let mut records = self.records.lock().unwrap();
        *self.requests.lock().unwrap() += 1;
        for rl in request.resource_logs {
            let resource = rl
                .resource
                .map(|r| attributes(&r.attributes))
                .unwrap_or_default();
            for sl in rl.scope_logs {
                let scope = sl.scope.map(|s| s.name).unwrap_or_default();
                for record in sl.log_records {
                    records.push(ReceivedLog {
                        resource: resource.clone(),
                        scope: scope.clone(),
                        record,
                        via,
                    });
                }
            }
        }
    }
}

#[tonic::async_trait]
impl LogsService for Store {
    async fn export(
        &self,
        request: tonic::Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, tonic::Status> {
        self.add(request.into_inner(), "grpc");
        Ok(tonic::Response::new(ExportLogsServiceResponse::default()))
    }
}

/// The receiver: gRPC and HTTP listeners sharing one record store. Start
/// it on a runtime of its own when the test blocks (a flush waits for it).
pub struct LogReceiver {
    served: Served,
    store: Store,
}

impl LogReceiver {
    pub async fn start() -> Self {
        Self::start_with(None).await
    }

    /// A receiver over TLS (`https://localhost:<port>` endpoints).
    pub async fn start_with(tls: Option<ReceiverTls>) -> Self {
        let store = Store::default();
        let svc = LogsServiceServer::new(store.clone());
        let http_store = store.clone();
        let served = serve_otlp_with(
            tls,
            |server| server.add_service(svc),
            "/v1/logs",
            move |body| {
                let req = ExportLogsServiceRequest::decode(body).ok()?;
                http_store.add(req, "http");
                Some(ExportLogsServiceResponse::default().encode_to_vec())
            },
        )
        .await;
        Self { served, store }
    }

    pub fn grpc_endpoint(&self) -> String {
        self.served.grpc_endpoint()
    }

    pub fn http_endpoint(&self) -> String {
        self.served.http_endpoint()
    }

    pub fn records(&self) -> Vec<ReceivedLog> {
        self.store.records.lock().unwrap().clone()
    }

    pub fn requests(&self) -> usize {
        *self.store.requests.lock().unwrap()
    }

    /// Waits (at most `timeout`, blocking the thread) until `done` holds
    /// for the records received.
    pub fn wait_for(
        &self,
        timeout: Duration,
        done: impl Fn(&[ReceivedLog]) -> bool,
    ) -> Vec<ReceivedLog> {
        let deadline = Instant::now() + timeout;
        loop {
            let records = self.records();
            if done(&records) || Instant::now() > deadline {
                return records;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
