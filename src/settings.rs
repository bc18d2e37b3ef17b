//! Every setting redline reads, declared once: its environment variables,
//! its key in a `REDLINE_CONFIG_FILE`, its default as the documentation
//! shows it, an example value, the cargo feature it needs and its doc line.
//!
//! The parsers (`Config::read` and each subsystem's `from_source`) ask for
//! settings by variable name; the file key of that variable, the keys a
//! configuration file may hold and the `REDLINE_*` names that are not
//! reported as unknown all come from [`SETTINGS`]. Tests check the rest
//! against it: the parsers ask for exactly the declared variables, each
//! setting changes the configuration (from the environment and from the
//! file alike), and the configuration tables of `README.md` and
//! `docs/OPERATIONS.md` are rendered from it (`REDLINE_BLESS=1 cargo test
//! -p redline --lib settings` rewrites them).
//!
//! A leaf module: it imports nothing from the rest of the crate, so any
//! module may read it.
//!
//! Kept whole (over 500 lines): it is one table, one entry per setting,
//! read top to bottom like the README table rendered from it.

/// One setting.
#[derive(Debug)]
// The default, example, feature and doc are read by the tests only: those
// that check the parsers against the declaration and render the docs.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) struct Setting {
    /// The environment variables that give it, in order of precedence: the
    /// primary first, then fallbacks read only when it is unset (such as
    /// `RUST_LOG` after `REDLINE_LOG`).
    pub(crate) variables: &'static [&'static str],
    /// Its key in a `REDLINE_CONFIG_FILE`, if the file can give it. The file
    /// comes after the primary variable and before the fallbacks.
    pub(crate) file_key: Option<&'static str>,
    /// The default, as the documentation shows it (Markdown).
    pub(crate) default: &'static str,
    /// A valid value other than the default (the tests set it and expect a
    /// different configuration).
    pub(crate) example: &'static str,
    /// The cargo feature without which a value is refused at start, if any
    /// (`a or b` when either serves).
    pub(crate) feature: Option<&'static str>,
    /// What it does (Markdown, one line; links relative to the repository
    /// root).
    pub(crate) doc: &'static str,
}

/// Every setting, in the order the README's table lists them.
pub(crate) const SETTINGS: &[Setting] = &[
    Setting {
        variables: &["REDLINE_CONFIG_FILE"],
        file_key: None,
        default: "none",
        example: "/etc/redline/redline.toml",
        feature: Some("config-file"),
        doc: "A TOML file of settings, with the keys of the second column; each variable set in the environment wins over its key.",
    },
    Setting {
        variables: &["OTEL_SERVICE_NAME"],
        file_key: Some("service_name"),
        default: "your crate's name with `.build_info(redline::build_info!())`, else `unknown_service:redline` (the demo: `redline-demo`)",
        example: "checkout",
        feature: None,
        doc: "Service name (`target_info{service_name}`, `/info`, the traces' `service.name`).",
    },
    Setting {
        variables: &["OTEL_RESOURCE_ATTRIBUTES"],
        file_key: Some("resource_attributes"),
        default: "none",
        example: "deployment.environment=prod%20eu",
        feature: None,
        doc: "`key=value,…` pairs (values percent-encoded; in the file, a table); `service.name` here is used when `OTEL_SERVICE_NAME` is unset.",
    },
    Setting {
        variables: &["REDLINE_ADMIN_LISTEN"],
        file_key: Some("admin_listen"),
        default: "`127.0.0.1:9464`",
        example: "0.0.0.0:9464",
        feature: None,
        doc: "Admin listener (`/metrics`); `off` to only mount `admin_router()` yourself.",
    },
    Setting {
        variables: &["REDLINE_HTTP_DURATION_BUCKETS"],
        file_key: Some("http_duration_buckets"),
        default: "`0.005,0.01,0.025,0.05,0.075,0.1,0.25,0.5,0.75,1,2.5,5,7.5,10`",
        example: "0.1,0.5,1",
        feature: None,
        doc: "Duration buckets in seconds, increasing.",
    },
    Setting {
        variables: &["REDLINE_SLO_AVAILABILITY"],
        file_key: Some("slo_availability"),
        default: "unset (the rules' default, 0.999)",
        example: "0.995",
        feature: None,
        doc: "Availability objective, exported as `redline_slo_availability_objective` for the alert rules' burn rates.",
    },
    Setting {
        variables: &["REDLINE_SLO_LATENCY_THRESHOLD"],
        file_key: Some("slo_latency_threshold"),
        default: "unset (the rules' default, `500ms`)",
        example: "1s",
        feature: None,
        doc: "Latency objective's threshold, a bound of the duration buckets (`redline_slo_latency_objective{le}`).",
    },
    Setting {
        variables: &["REDLINE_SLO_LATENCY_TARGET"],
        file_key: Some("slo_latency_target"),
        default: "unset (the rules' default, 0.99)",
        example: "0.95",
        feature: None,
        doc: "Share of requests that must finish within the threshold (`redline_slo_latency_objective`).",
    },
    Setting {
        variables: &["REDLINE_OPERATION_DURATION_BUCKETS"],
        file_key: Some("operation_duration_buckets"),
        default: "`0.001` … `60`",
        example: "1,2",
        feature: None,
        doc: "Operation duration buckets in seconds.",
    },
    Setting {
        variables: &["REDLINE_MAX_SERIES_PER_METRIC"],
        file_key: Some("max_series_per_metric"),
        default: "`2000`",
        example: "500",
        feature: None,
        doc: "Label sets per family before folding into the overflow series (1 to 1000000).",
    },
    Setting {
        variables: &["REDLINE_SYSTEM_METRICS"],
        file_key: Some("system_metrics"),
        default: "`true`",
        example: "false",
        feature: Some("system"),
        doc: "Export `redline_system_*`.",
    },
    Setting {
        variables: &["REDLINE_SYSTEM_METRICS_INTERVAL"],
        file_key: Some("system_metrics_interval"),
        default: "`5s`",
        example: "250ms",
        feature: Some("system"),
        doc: "Minimum time between system refreshes (scrapes in between get cached values); `10ms` to `24h`.",
    },
    Setting {
        variables: &["REDLINE_PROCESS_METRICS"],
        file_key: Some("process_metrics"),
        default: "`true`",
        example: "false",
        feature: Some("system"),
        doc: "Export `process_*` (Linux).",
    },
    Setting {
        variables: &["REDLINE_URL_SCHEME"],
        file_key: Some("url_scheme"),
        default: "`http`",
        example: "https",
        feature: None,
        doc: "`url_scheme` for requests whose URI carries none (`https` behind a TLS terminator).",
    },
    Setting {
        variables: &["REDLINE_SHUTDOWN_DELAY"],
        file_key: Some("shutdown_delay"),
        default: "`0s`",
        example: "5s",
        feature: None,
        doc: "On `Server::shutdown` (after SIGTERM), how long `/ready` answers 503 before the server stops accepting (`5s` is typical behind a load balancer or in Kubernetes).",
    },
    Setting {
        variables: &["REDLINE_SHUTDOWN_GRACE"],
        file_key: Some("shutdown_grace"),
        default: "`10s`",
        example: "30s",
        feature: None,
        doc: "Then, how long in-flight requests may take to finish.",
    },
    Setting {
        variables: &["REDLINE_LOG", "RUST_LOG"],
        file_key: Some("log"),
        default: "`info`",
        example: "debug",
        feature: None,
        doc: "Filter directives (`warn`, `info,my_crate=debug`). Invalid directives stop the start with a message. Every filter gets `redline::security=info` appended ([the audit floor](docs/OPERATIONS.md#settings)), and a filter that names no level (`wran`) is refused.",
    },
    Setting {
        variables: &["REDLINE_LOG_OUTPUT"],
        file_key: Some("log_output"),
        default: "`stdout`, or `file` when `REDLINE_LOG_FILE` is set",
        example: "both",
        feature: None,
        doc: "`stdout`, `file` or `both`.",
    },
    Setting {
        variables: &["REDLINE_LOG_FILE"],
        file_key: Some("log_file"),
        default: "`logs/redline.log`",
        example: "/var/log/redline/app.log",
        feature: None,
        doc: "The file for `file`/`both`. Parent directories are created. Set alone (without `REDLINE_LOG_OUTPUT`), it means `file` output; add `REDLINE_LOG_OUTPUT=both` to keep stdout too.",
    },
    Setting {
        variables: &["REDLINE_LOG_MAX_SIZE"],
        file_key: Some("log_max_size"),
        default: "`10MB`",
        example: "20MB",
        feature: None,
        doc: "Rotate when the file would exceed this (`512KB`, `1GB`, bytes; `0` = no size limit).",
    },
    Setting {
        variables: &["REDLINE_LOG_ROTATE_DAILY"],
        file_key: Some("log_rotate_daily"),
        default: "`false`",
        example: "true",
        feature: None,
        doc: "Also rotate when the UTC date changes.",
    },
    Setting {
        variables: &["REDLINE_LOG_KEEP"],
        file_key: Some("log_keep"),
        default: "`5`",
        example: "3",
        feature: None,
        doc: "Old files kept: `redline.log.1.gz` (newest) … `redline.log.5.gz` (`.1` … without compression); older ones are deleted.",
    },
    Setting {
        variables: &["REDLINE_LOG_COMPRESS"],
        file_key: Some("log_compress"),
        default: "`true` (with the `log-compress` feature)",
        example: "false",
        feature: Some("log-compress"),
        doc: "Gzip rotated files in the background, never blocking writers; a crash mid-compression leaves the uncompressed file, finished at the next start.",
    },
    Setting {
        variables: &["REDLINE_LOG_MAX_TOTAL_SIZE"],
        file_key: Some("log_max_total_size"),
        default: "`0` (no limit)",
        example: "1GB",
        feature: None,
        doc: "Old files kept within this total size, oldest deleted first (`512MB`, bytes; `0` = no limit).",
    },
    Setting {
        variables: &["REDLINE_LOG_MAX_AGE"],
        file_key: Some("log_max_age"),
        default: "`0` (no limit)",
        example: "7d",
        feature: None,
        doc: "Old files older than this are deleted (`12h`, `30d`; `0` = no limit), checked at each rotation and every minute.",
    },
    Setting {
        variables: &["REDLINE_LOG_BUFFER_LINES"],
        file_key: Some("log_buffer_lines"),
        default: "`65536`",
        example: "1024",
        feature: None,
        doc: "Lines the non-blocking buffer holds per output. When it is full, lines are **dropped and counted** (`redline_log_lines_dropped_total`), never blocking requests.",
    },
    Setting {
        variables: &["REDLINE_ACCESS_LOG"],
        file_key: Some("access_log"),
        default: "`info`",
        example: "off",
        feature: None,
        doc: "Level of the per-request line, or `off`.",
    },
    Setting {
        variables: &["REDLINE_ACCESS_LOG_SLOW"],
        file_key: Some("access_log_slow"),
        default: "`1s`",
        example: "250ms",
        feature: None,
        doc: "Requests slower than this always log, at `warn`.",
    },
    Setting {
        variables: &["REDLINE_ACCESS_LOG_SAMPLE"],
        file_key: Some("access_log_sample"),
        default: "`1`",
        example: "0.1",
        feature: None,
        doc: "Fraction of successful, fast requests logged. Failures (5xx, handler errors, panics) and slow requests are always logged, at `warn`.",
    },
    Setting {
        variables: &["REDLINE_ADMIN_TOKEN"],
        file_key: None,
        default: "none (the demo generates one and prints it)",
        example: "0123456789abcdef0123",
        feature: None,
        doc: "Bearer token of the principal `admin-token`, an `operator` (every protected admin endpoint: `/info`, `/errors/report`, `/logs/*`, `/health` details, `/faults`); 16+ visible characters. Kept as its SHA-256 digest.",
    },
    Setting {
        variables: &["REDLINE_ADMIN_TOKEN_FILE"],
        file_key: Some("admin_token_file"),
        default: "none",
        example: "/run/secrets/redline-admin-token",
        feature: None,
        doc: "A file holding the admin token (a mounted secret), read when `REDLINE_ADMIN_TOKEN` is unset.",
    },
    Setting {
        variables: &["REDLINE_ADMIN_PRINCIPALS_FILE"],
        file_key: Some("admin_principals_file"),
        default: "none",
        example: "/etc/redline/principals.toml",
        feature: Some("config-file"),
        doc: "A TOML file of named admin credentials, each with a role (`viewer`, `operator`), a token digest and an optional expiry ([Admin principals](docs/OPERATIONS.md#admin-principals)); re-read while the service runs.",
    },
    Setting {
        variables: &["REDLINE_METRICS_AUTH"],
        file_key: Some("metrics_auth"),
        default: "`false`",
        example: "true",
        feature: None,
        doc: "`/metrics` needs a credential too (the `viewer` role or above).",
    },
    Setting {
        variables: &["REDLINE_STATUS_PAGE"],
        file_key: Some("status_page"),
        default: "`true`",
        example: "false",
        feature: None,
        doc: "The live status page on the admin listener (`/status`, [Status page](docs/OPERATIONS.md#status-page)) and its 15-minute history; `false` removes both.",
    },
    Setting {
        variables: &["REDLINE_STATUS_PUBLIC"],
        file_key: Some("status_public"),
        default: "`false`",
        example: "true",
        feature: None,
        doc: "`/status/data` without a credential, read only (trusted networks only); the operator panel still needs a login.",
    },
    Setting {
        variables: &["REDLINE_STATUS_SESSION_TTL"],
        file_key: Some("status_session_ttl"),
        default: "`8h`",
        example: "30m",
        feature: None,
        doc: "How long a status page login lasts (1s to 7d).",
    },
    Setting {
        variables: &["REDLINE_TRACE_UI_URL"],
        file_key: Some("trace_ui_url"),
        default: "none",
        example: "http://localhost:16686/trace/{trace_id}",
        feature: None,
        doc: "A trace viewer's URL with a `{trace_id}` placeholder (Jaeger's shown): the status page links trace ids to it.",
    },
    Setting {
        variables: &["REDLINE_TLS_CERT_FILE"],
        file_key: Some("tls_cert_file"),
        default: "none (plain HTTP)",
        example: "/etc/redline/tls/tls.crt",
        feature: Some("tls"),
        doc: "The service listener's certificate chain (PEM, leaf first): it speaks TLS 1.2/1.3 with HTTP/1.1 and HTTP/2; reloaded when the file changes or on `SIGHUP`. Needs `REDLINE_TLS_KEY_FILE`.",
    },
    Setting {
        variables: &["REDLINE_TLS_KEY_FILE"],
        file_key: Some("tls_key_file"),
        default: "none",
        example: "/etc/redline/tls/tls.key",
        feature: Some("tls"),
        doc: "The private key of `REDLINE_TLS_CERT_FILE` (PEM: PKCS#8, PKCS#1 or SEC1).",
    },
    Setting {
        variables: &["REDLINE_ADMIN_TLS_CERT_FILE"],
        file_key: Some("admin_tls_cert_file"),
        default: "none (plain HTTP)",
        example: "/etc/redline/admin-tls/tls.crt",
        feature: Some("tls"),
        doc: "The admin listener's certificate chain (PEM); reloaded like the service's. Needs `REDLINE_ADMIN_TLS_KEY_FILE`.",
    },
    Setting {
        variables: &["REDLINE_ADMIN_TLS_KEY_FILE"],
        file_key: Some("admin_tls_key_file"),
        default: "none",
        example: "/etc/redline/admin-tls/tls.key",
        feature: Some("tls"),
        doc: "The private key of `REDLINE_ADMIN_TLS_CERT_FILE`.",
    },
    Setting {
        variables: &["REDLINE_ADMIN_TLS_CLIENT_CA_FILE"],
        file_key: Some("admin_tls_client_ca_file"),
        default: "none (no client certificate asked)",
        example: "/etc/redline/admin-tls/clients-ca.crt",
        feature: Some("tls"),
        doc: "Authorities (PEM bundle) whose client certificates the admin listener requires (mTLS); the admin token or principal is still needed on top.",
    },
    Setting {
        variables: &["REDLINE_BODY_LIMIT"],
        file_key: Some("body_limit"),
        default: "`1048576`",
        example: "4096",
        feature: None,
        doc: "Largest request body, in bytes (413 beyond), for routers passed to `telemetry.instrument` (or `redline::security::limit`).",
    },
    Setting {
        variables: &["REDLINE_REQUEST_TIMEOUT"],
        file_key: Some("request_timeout"),
        default: "`30s`",
        example: "10s",
        feature: None,
        doc: "Longest a request may take (408 beyond).",
    },
    Setting {
        variables: &["REDLINE_HEADER_READ_TIMEOUT"],
        file_key: Some("header_read_timeout"),
        default: "`10s`",
        example: "5s",
        feature: None,
        doc: "Longest a client may take to send a request's head on the servers redline runs (admin listener, demo); the connection is closed beyond it (slowloris). Also their idle timeout: a connection (HTTP/1 keep-alive, HTTP/2 including h2c, or one that sent nothing) with no request in flight for this long is closed (HTTP/2: `GOAWAY`), and the HTTP/2 keep-alive ping interval.",
    },
    Setting {
        variables: &["REDLINE_MAX_CONNECTIONS"],
        file_key: Some("max_connections"),
        default: "half the open-file limit",
        example: "2000",
        feature: None,
        doc: "Most open connections on each service listener redline runs (the demo's API; 1 to 1000000). The admin listener has its own cap, `min(256, limit / 8)`, so `/metrics` stays reachable when the service is saturated. At the cap a new connection evicts the longest-idle one, or is closed at once when all are busy (`redline_server_connections_closed_total`).",
    },
    Setting {
        variables: &["REDLINE_CORS_ORIGINS"],
        file_key: Some("cors_origins"),
        default: "none",
        example: "https://app.example.com",
        feature: None,
        doc: "Origins allowed cross-origin calls (`https://app.example.com,…`); none by default.",
    },
    Setting {
        variables: &["REDLINE_ENV"],
        file_key: Some("env"),
        default: "`production`",
        example: "development",
        feature: None,
        doc: "`production`: every 5xx body becomes a fixed JSON error with the request id (no internal details reach clients); `development`: handlers' bodies pass through.",
    },
    Setting {
        variables: &["REDLINE_RATE_LIMIT"],
        file_key: Some("rate_limit"),
        default: "off",
        example: "100/s",
        feature: Some("rate-limit"),
        doc: "Rate limit per client: the quota of routes without their own (`100/s`, `6000/m`, `100/s:200` with a burst; `off`); 429 with `Retry-After`.",
    },
    Setting {
        variables: &["REDLINE_RATE_LIMIT_ROUTES"],
        file_key: Some("rate_limit_routes"),
        default: "none",
        example: "/messages=10/s",
        feature: Some("rate-limit"),
        doc: "Quotas per route template (`/messages=10/s,…`), for those routes instead of `REDLINE_RATE_LIMIT`.",
    },
    Setting {
        variables: &["REDLINE_RATE_LIMIT_KEY"],
        file_key: Some("rate_limit_key"),
        default: "`ip`",
        example: "header:x-api-key",
        feature: Some("rate-limit"),
        doc: "The rate limit's client key: `ip` or `header:x-api-key`.",
    },
    Setting {
        variables: &["REDLINE_TRUSTED_PROXIES"],
        file_key: Some("trusted_proxies"),
        default: "none",
        example: "10.0.0.1,10.0.0.2",
        feature: Some("rate-limit"),
        doc: "Proxies whose `X-Forwarded-For` the rate limit believes (IP addresses, comma separated).",
    },
    Setting {
        variables: &["REDLINE_RATE_LIMIT_MAX_KEYS"],
        file_key: Some("rate_limit_max_keys"),
        default: "`100000`",
        example: "5000",
        feature: Some("rate-limit"),
        doc: "Clients the rate limit tracks at most.",
    },
    Setting {
        variables: &["REDLINE_JSON_MAX_DEPTH"],
        file_key: Some("json_max_depth"),
        default: "`32`",
        example: "8",
        feature: None,
        doc: "Deepest nesting of JSON bodies read with `redline::security::ValidJson` (400 `json_too_deep` beyond; 1 to 128).",
    },
    Setting {
        variables: &["REDLINE_REDACT_KEYS"],
        file_key: Some("redact_keys"),
        default: "none",
        example: "pin,otp",
        feature: None,
        doc: "More key names whose values are secrets, beyond the built-in ones (see [docs/OPERATIONS.md](docs/OPERATIONS.md#masking-of-personal-data-and-secrets)).",
    },
    Setting {
        variables: &["REDLINE_REDACT_HEADERS"],
        file_key: Some("redact_headers"),
        default: "none",
        example: "x-session",
        feature: None,
        doc: "More headers never logged, beyond the built-in ones (see [docs/OPERATIONS.md](docs/OPERATIONS.md#masking-of-personal-data-and-secrets)).",
    },
    Setting {
        variables: &["REDLINE_REDACT_ALLOW"],
        file_key: Some("redact_allow"),
        default: "none",
        example: "support@example.com",
        feature: None,
        doc: "Values never masked (exact matches, comma separated).",
    },
    Setting {
        variables: &["REDLINE_REDACT_PATTERNS_FILE"],
        file_key: Some("redact_patterns_file"),
        default: "none",
        example: "/etc/redline/patterns.txt",
        feature: None,
        doc: "A file of regular expressions (one per line, `#` comments, at most 64) whose matches are masked in logs, error samples and spans.",
    },
    Setting {
        variables: &["OTEL_SDK_DISABLED"],
        file_key: Some("traces_enabled"),
        default: "`false`",
        example: "true",
        feature: None,
        doc: "`true`: no traces at all (see [docs/TRACING.md](docs/TRACING.md) for the trace settings). The file key says the opposite: `traces_enabled = false`.",
    },
    Setting {
        variables: &[
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
        ],
        file_key: Some("traces_endpoint"),
        default: "none",
        example: "http://127.0.0.1:4317",
        feature: Some("otlp-grpc or otlp-http"),
        doc: "Where traces go; without it, trace context stays local. The traces endpoint is a full URL, used as given; the generic one a collector's base URL (`http://collector:4317`), to which `http/protobuf` appends `/v1/traces`.",
    },
    Setting {
        variables: &[
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ],
        file_key: Some("traces_protocol"),
        default: "`grpc` (`http/protobuf` with only the `otlp-http` feature)",
        example: "http/protobuf",
        feature: None,
        doc: "`grpc` or `http/protobuf`.",
    },
    Setting {
        variables: &[
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            "OTEL_EXPORTER_OTLP_HEADERS",
        ],
        file_key: Some("traces_headers"),
        default: "none",
        example: "api-key=s3cret",
        feature: None,
        doc: "`name=value,…` (values percent-encoded) sent with every export, such as an API key.",
    },
    Setting {
        variables: &[
            "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
            "OTEL_EXPORTER_OTLP_CERTIFICATE",
        ],
        file_key: Some("traces_certificate"),
        default: "the system's authorities",
        example: "/etc/otel/ca.crt",
        feature: Some("tls"),
        doc: "For an `https://` endpoint: the authorities (PEM bundle) to trust instead of the system's.",
    },
    Setting {
        variables: &[
            "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
        ],
        file_key: Some("traces_client_certificate"),
        default: "none",
        example: "/etc/otel/client.crt",
        feature: Some("tls"),
        doc: "For an `https://` endpoint: the client certificate chain (PEM) presented to the collector (mTLS). Needs the client key.",
    },
    Setting {
        variables: &[
            "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
            "OTEL_EXPORTER_OTLP_CLIENT_KEY",
        ],
        file_key: Some("traces_client_key"),
        default: "none",
        example: "/etc/otel/client.key",
        feature: Some("tls"),
        doc: "The private key of the client certificate (PEM).",
    },
    Setting {
        variables: &[
            "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
            "OTEL_EXPORTER_OTLP_TIMEOUT",
        ],
        file_key: Some("traces_timeout_ms"),
        default: "`10000`",
        example: "2000",
        feature: None,
        doc: "Milliseconds per export request.",
    },
    Setting {
        variables: &["OTEL_TRACES_SAMPLER"],
        file_key: Some("traces_sampler"),
        default: "`parentbased_always_on`",
        example: "parentbased_traceidratio",
        feature: None,
        doc: "`always_on`, `always_off`, `traceidratio`, `parentbased_always_on`, `parentbased_always_off`, `parentbased_traceidratio`.",
    },
    Setting {
        variables: &["OTEL_TRACES_SAMPLER_ARG"],
        file_key: Some("traces_sampler_arg"),
        default: "`1.0`",
        example: "0.1",
        feature: None,
        doc: "The ratio for the `…traceidratio` samplers (0 to 1).",
    },
    Setting {
        variables: &["OTEL_BSP_MAX_QUEUE_SIZE"],
        file_key: Some("traces_max_queue_size"),
        default: "`2048`",
        example: "100",
        feature: None,
        doc: "Spans waiting for export; more are dropped and counted.",
    },
    Setting {
        variables: &["OTEL_BSP_SCHEDULE_DELAY"],
        file_key: None,
        default: "`5000`",
        example: "1000",
        feature: None,
        doc: "Milliseconds between exports.",
    },
    Setting {
        variables: &["OTEL_BSP_MAX_EXPORT_BATCH_SIZE"],
        file_key: None,
        default: "`512`",
        example: "100",
        feature: None,
        doc: "Spans per export request (at most the queue size).",
    },
    Setting {
        variables: &["OTEL_BSP_EXPORT_TIMEOUT"],
        file_key: None,
        default: "`30000`",
        example: "10000",
        feature: None,
        doc: "Milliseconds (parsed and validated; the SDK's batch processor bounds each export with `OTEL_EXPORTER_OTLP_TIMEOUT`).",
    },
    Setting {
        variables: &["OTEL_LOGS_EXPORTER"],
        file_key: Some("logs_exporter"),
        default: "`none`",
        example: "otlp",
        feature: Some("otlp-grpc or otlp-http"),
        doc: "`otlp`: every event redline logs is also exported as an OTLP log record, with the same redacted content as its JSON line and its trace and span ids (see [docs/OPERATIONS.md](docs/OPERATIONS.md#otlp-log-export)); `none`: JSON lines only. Off with `OTEL_SDK_DISABLED=true`.",
    },
    Setting {
        variables: &["OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"],
        file_key: Some("logs_endpoint"),
        default: "`OTEL_EXPORTER_OTLP_ENDPOINT`, else `http://localhost:4317` (`http://localhost:4318/v1/logs` for `http/protobuf`)",
        example: "http://127.0.0.1:4317",
        feature: None,
        doc: "Where log records go with `OTEL_LOGS_EXPORTER=otlp`: a full URL, used as given; else the generic `OTEL_EXPORTER_OTLP_ENDPOINT`, to which `http/protobuf` appends `/v1/logs`.",
    },
    Setting {
        variables: &["OTEL_EXPORTER_OTLP_LOGS_PROTOCOL"],
        file_key: Some("logs_protocol"),
        default: "`OTEL_EXPORTER_OTLP_PROTOCOL`, else as the traces'",
        example: "http/protobuf",
        feature: None,
        doc: "`grpc` or `http/protobuf`, for log records.",
    },
    Setting {
        variables: &["OTEL_EXPORTER_OTLP_LOGS_HEADERS"],
        file_key: Some("logs_headers"),
        default: "`OTEL_EXPORTER_OTLP_HEADERS`, else none",
        example: "api-key=s3cret",
        feature: None,
        doc: "`name=value,…` (values percent-encoded) sent with every log export.",
    },
    Setting {
        variables: &["OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE"],
        file_key: Some("logs_certificate"),
        default: "`OTEL_EXPORTER_OTLP_CERTIFICATE`, else the system's authorities",
        example: "/etc/otel/ca.crt",
        feature: Some("tls"),
        doc: "For an `https://` logs endpoint: the authorities (PEM bundle) to trust.",
    },
    Setting {
        variables: &["OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE"],
        file_key: Some("logs_client_certificate"),
        default: "`OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`, else none",
        example: "/etc/otel/client.crt",
        feature: Some("tls"),
        doc: "The client certificate chain (PEM) of log exports (mTLS). Needs the client key.",
    },
    Setting {
        variables: &["OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY"],
        file_key: Some("logs_client_key"),
        default: "`OTEL_EXPORTER_OTLP_CLIENT_KEY`, else none",
        example: "/etc/otel/client.key",
        feature: Some("tls"),
        doc: "The private key of the log exports' client certificate (PEM).",
    },
    Setting {
        variables: &["OTEL_EXPORTER_OTLP_LOGS_TIMEOUT"],
        file_key: Some("logs_timeout_ms"),
        default: "`OTEL_EXPORTER_OTLP_TIMEOUT`, else `10000`",
        example: "2000",
        feature: None,
        doc: "Milliseconds per log export request.",
    },
    Setting {
        variables: &["OTEL_BLRP_MAX_QUEUE_SIZE"],
        file_key: Some("logs_max_queue_size"),
        default: "`2048`",
        example: "100",
        feature: None,
        doc: "Log records waiting for export; more are dropped and counted (`redline_log_records_dropped_total{reason=\"queue_full\"}`), never waited for.",
    },
    Setting {
        variables: &["OTEL_BLRP_SCHEDULE_DELAY"],
        file_key: None,
        default: "`1000`",
        example: "200",
        feature: None,
        doc: "Milliseconds between log exports.",
    },
    Setting {
        variables: &["OTEL_BLRP_MAX_EXPORT_BATCH_SIZE"],
        file_key: None,
        default: "`512`",
        example: "100",
        feature: None,
        doc: "Log records per export request (at most the queue size).",
    },
    Setting {
        variables: &["OTEL_BLRP_EXPORT_TIMEOUT"],
        file_key: None,
        default: "`30000`",
        example: "5000",
        feature: None,
        doc: "Milliseconds: each log export request is bounded by the smaller of this and `OTEL_EXPORTER_OTLP_LOGS_TIMEOUT`.",
    },
    Setting {
        variables: &["REDLINE_TRACES_SHUTDOWN_TIMEOUT"],
        file_key: Some("traces_shutdown_timeout"),
        default: "`3s`",
        example: "1s",
        feature: None,
        doc: "How long shutdown waits for the last spans, and for the last OTLP log records (`500ms`, `5s`…).",
    },
    Setting {
        variables: &["REDLINE_TRACES_KEEP_ERRORS"],
        file_key: Some("traces_keep_errors"),
        default: "`false`",
        example: "true",
        feature: None,
        doc: "Export the trace of every failed request (5xx, handler error, panic), also those the sampler left out; decided when the response starts.",
    },
    Setting {
        variables: &["REDLINE_TRACES_SLOW_THRESHOLD"],
        file_key: Some("traces_slow_threshold"),
        default: "unset (off)",
        example: "500ms",
        feature: None,
        doc: "Export the trace of every request whose response took at least this long, also those the sampler left out.",
    },
    Setting {
        variables: &["REDLINE_TRACES_RESPONSE_HEADER"],
        file_key: Some("traces_response_header"),
        default: "`sampled`",
        example: "always",
        feature: None,
        doc: "`sampled`, `always` or `never`: when responses carry `traceparent`.",
    },
    Setting {
        variables: &["REDLINE_UNKNOWN_VARIABLES"],
        file_key: Some("unknown_variables"),
        default: "`error`",
        example: "warn",
        feature: None,
        doc: "`error`: a set `REDLINE_*` variable redline does not read stops the start, naming the closest known one. `warn`: the service starts; each one is printed to stderr and kept in `Config::warnings()` (to roll out an upgrade that renamed a variable).",
    },
];

/// `REDLINE_*` variables that are not settings but are read elsewhere, so
/// never reported as unknown.
pub(crate) const READ_ELSEWHERE: [&str; 7] = [
    // build.rs (and the Dockerfile, which also sets it at run time): the
    // revision `build_info` reports.
    "REDLINE_GIT_REVISION",
    // Set by build.rs for the compiler (cargo also sets them when it runs
    // tests and `cargo run`).
    "REDLINE_BUILD_TIME",
    "REDLINE_BUILD_REVISION",
    "REDLINE_BUILD_RUSTC",
    // The Dockerfile's HEALTHCHECK: the admin port it probes.
    "REDLINE_HEALTHCHECK_PORT",
    // deploy/ scripts and the tests: the redline binary to run.
    "REDLINE_BIN",
    // .ci/deny.sh: the offline RustSec snapshot (a developer may export it
    // in the shell that also runs the demo).
    "REDLINE_ADVISORY_DB",
];

/// Every variable of every setting, primaries and fallbacks.
pub(crate) fn variables() -> impl Iterator<Item = &'static str> {
    SETTINGS.iter().flat_map(|s| s.variables.iter().copied())
}

/// Every key a configuration file may hold.
#[cfg_attr(not(feature = "config-file"), allow(dead_code))]
pub(crate) fn file_keys() -> impl Iterator<Item = &'static str> {
    SETTINGS.iter().filter_map(|s| s.file_key)
}

/// The file key to read after `variable`: its setting's, when `variable` is
/// the setting's primary (fallbacks come after the file, which is read
/// once).
pub(crate) fn file_key(variable: &str) -> Option<&'static str> {
    SETTINGS
        .iter()
        .find(|s| s.variables.first() == Some(&variable))
        .and_then(|s| s.file_key)
}

#[cfg(test)]
pub(crate) mod docs {
    //! The configuration tables of the documentation, rendered from
    //! [`SETTINGS`].

    use super::{SETTINGS, Setting};

    /// A rendered table: where it goes, and which settings it lists.
    pub(crate) struct Table {
        /// The file, relative to the repository root.
        pub(crate) file: &'static str,
        /// The name of its markers:
        /// `<!-- {marker}:begin -->` … `<!-- {marker}:end -->`.
        pub(crate) marker: &'static str,
        /// With the file key column.
        pub(crate) file_keys: bool,
        /// Which settings.
        pub(crate) select: fn(&Setting) -> bool,
    }

    /// The logging settings (`REDLINE_LOG*`, `REDLINE_ACCESS_LOG*`).
    pub(crate) fn is_logging(s: &Setting) -> bool {
        let primary = s.variables[0];
        primary.starts_with("REDLINE_LOG") || primary.starts_with("REDLINE_ACCESS_LOG")
    }

    pub(crate) const TABLES: [Table; 2] = [
        Table {
            file: "README.md",
            marker: "settings-table",
            file_keys: true,
            select: |_| true,
        },
        Table {
            file: "docs/OPERATIONS.md",
            marker: "settings-table:logging",
            file_keys: false,
            select: is_logging,
        },
    ];

    /// A link relative to the repository root, relative to `file` instead
    /// (a link into `file` itself keeps only its anchor).
    fn relative_links(doc: &str, file: &str) -> String {
        let Some(dir) = file.rsplit_once('/').map(|(d, _)| d) else {
            return doc.to_owned();
        };
        let mut out = String::with_capacity(doc.len());
        let mut rest = doc;
        while let Some(at) = rest.find("](") {
            out.push_str(&rest[..at + 2]);
            rest = &rest[at + 2..];
            let end = rest.find(')').unwrap_or(rest.len());
            let target = &rest[..end];
            let (path, anchor) = match target.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (target, None),
            };
            let absolute = target.contains("://") || target.starts_with('#');
            if absolute {
                out.push_str(target);
            } else if path == file && anchor.is_some() {
                out.push('#');
                out.push_str(anchor.unwrap_or_default());
            } else if let Some(inside) = path.strip_prefix(&format!("{dir}/")) {
                out.push_str(inside);
                out.push_str(&target[path.len()..]);
            } else {
                out.push_str("../");
                out.push_str(target);
            }
            rest = &rest[end..];
        }
        out.push_str(rest);
        out
    }

    fn variables_cell(s: &Setting) -> String {
        let mut cell = format!("`{}`", s.variables[0]);
        for fallback in &s.variables[1..] {
            cell.push_str(&format!(" (else `{fallback}`)"));
        }
        cell
    }

    /// The Markdown table, header included, each line ending in `\n`.
    pub(crate) fn render(table: &Table) -> String {
        let mut out = String::new();
        if table.file_keys {
            out.push_str("| variable | file key | default | meaning |\n|---|---|---|---|\n");
        } else {
            out.push_str("| variable | default | meaning |\n|---|---|---|\n");
        }
        for s in SETTINGS.iter().filter(|s| (table.select)(s)) {
            let mut cells = vec![variables_cell(s)];
            if table.file_keys {
                cells.push(s.file_key.map(|k| format!("`{k}`")).unwrap_or_default());
            }
            cells.push(s.default.to_owned());
            cells.push(relative_links(s.doc, table.file));
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        out
    }

    /// `text` with the part between the table's markers replaced by
    /// `rendered`; `None` when the markers are missing.
    pub(crate) fn replace(text: &str, marker: &str, rendered: &str) -> Option<String> {
        let begin = format!("<!-- {marker}:begin -->\n");
        let end = format!("<!-- {marker}:end -->");
        let start = text.find(&begin)? + begin.len();
        let stop = start + text[start..].find(&end)?;
        Some(format!("{}{rendered}{}", &text[..start], &text[stop..]))
    }

    /// The tables of the documentation are those [`render`] makes;
    /// `REDLINE_BLESS=1` rewrites them.
    #[test]
    fn settings_tables_in_the_docs_are_rendered_from_the_declaration() {
        for s in SETTINGS {
            for text in [s.default, s.doc] {
                assert!(
                    !text.contains('|') && !text.contains('\n'),
                    "{}: a table cell cannot hold `|` or a line break: {text:?}",
                    s.variables[0]
                );
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let bless = std::env::var("REDLINE_BLESS").is_ok_and(|v| v == "1");
        let mut stale = Vec::new();
        for table in &TABLES {
            let path = root.join(table.file);
            let text = std::fs::read_to_string(&path).unwrap();
            let rendered = replace(&text, table.marker, &render(table)).unwrap_or_else(|| {
                panic!(
                    "{}: no table markers `<!-- {m}:begin -->` … `<!-- {m}:end -->`",
                    table.file,
                    m = table.marker
                )
            });
            if rendered == text {
                continue;
            }
            if bless {
                std::fs::write(&path, rendered).unwrap();
            } else {
                stale.push(table.file);
            }
        }
        assert!(
            stale.is_empty(),
            "the configuration tables of {} are not those src/settings.rs declares: \
             run `REDLINE_BLESS=1 cargo test -p redline --lib settings` to rewrite them, \
             then review the diff",
            stale.join(" and ")
        );
    }

    #[test]
    fn links_are_made_relative_to_the_file() {
        let doc = "a [x](docs/OPERATIONS.md#settings) b [y](docs/TRACING.md) [z](README.md#c) [w](https://e.org/a)";
        assert_eq!(relative_links(doc, "README.md"), doc);
        assert_eq!(
            relative_links(doc, "docs/OPERATIONS.md"),
            "a [x](#settings) b [y](TRACING.md) [z](../README.md#c) [w](https://e.org/a)"
        );
    }
}
