//! The `redline` command: runs the instrumented demo service.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use clap::{CommandFactory, Parser, Subcommand};
use redline_demo::{Demo, DemoOptions};

#[derive(Parser)]
#[command(
    name = "redline",
    version,
    about = "redline: observability toolkit for Rust services",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// A bare `redline` runs the demo with these options.
    #[command(flatten)]
    demo: DemoArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the demo message-bot service, fully instrumented (the default).
    Demo(DemoArgs),
}

#[derive(clap::Args)]
struct DemoArgs {
    /// Address of the demo API.
    #[arg(long, env = "REDLINE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Address of the admin endpoints (/metrics, /faults); overrides REDLINE_ADMIN_LISTEN.
    #[arg(long)]
    admin_listen: Option<SocketAddr>,
    /// Built-in traffic generator, in requests per second (0 = off).
    #[arg(long = "load", env = "REDLINE_LOAD_RPS", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=100_000))]
    load_rps: u32,
    /// Fraction of requests failed with a 500 on purpose (0 to 1).
    #[arg(long, env = "REDLINE_ERROR_RATE", default_value_t = 0.0, value_parser = parse_rate)]
    error_rate: f64,
    /// Latency added to every request, in milliseconds (0 to 60000).
    #[arg(long, env = "REDLINE_LATENCY_MS", default_value_t = 0,
          value_parser = clap::value_parser!(u64).range(0..=60_000))]
    latency_ms: u64,
    /// Stop by itself after this many seconds (default: run until Ctrl-C / SIGTERM).
    #[arg(long, env = "REDLINE_DEMO_DURATION")]
    duration: Option<u64>,
    /// Print the JSON log lines (the access log among them) here instead of
    /// a live summary line every 5 seconds. Without it, in a terminal, they
    /// go to a file (printed), unless REDLINE_LOG_OUTPUT or REDLINE_LOG_FILE
    /// say otherwise; piped (a container), they stay on stdout.
    #[arg(long)]
    log_stdout: bool,
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!("expected a number from 0 to 1, got {s:?}")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let args = match cli.command {
        Some(Command::Demo(args)) => args,
        None => cli.demo,
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("redline: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(args))
}

/// The variables the command line reads (`REDLINE_LISTEN`…), from its
/// definition, so the library does not report them as unknown.
fn own_variables() -> Vec<String> {
    let cli = Cli::command();
    let mut names = Vec::new();
    for command in std::iter::once(&cli).chain(cli.get_subcommands()) {
        for arg in command.get_arguments() {
            if let Some(name) = arg.get_env().and_then(|n| n.to_str()) {
                names.push(name.to_owned());
            }
        }
    }
    names
}

async fn run(args: DemoArgs) -> ExitCode {
    let own = own_variables();
    let own: Vec<&str> = own.iter().map(String::as_str).collect();
    let mut config = match redline::Config::from_env_with_own(&own) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("redline: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(admin) = args.admin_listen {
        config.admin_listen = Some(admin);
    }
    // A terminal is for people: the JSON lines go to a file unless asked
    // for here or configured.
    let configured_output = ["REDLINE_LOG_OUTPUT", "REDLINE_LOG_FILE"]
        .iter()
        .any(|v| std::env::var_os(v).is_some());
    // Only in a terminal: piped (a container, a test), stdout keeps the
    // JSON lines that log collectors read.
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let log_file = (terminal && !args.log_stdout && !configured_output).then(|| {
        let file = std::env::temp_dir().join(format!("redline-demo-{}.log", std::process::id()));
        config.logs.output = redline::logs::LogOutput::File;
        config.logs.file = file.clone();
        file
    });
    // The demo always has an admin credential, so its protected endpoints
    // work out of the box: a token generated unless a token or principals
    // are configured, and printed below.
    let configured = config.admin_token.is_some() || config.admin_principals.is_some();
    let generated_token = (!configured).then(|| {
        use rand::Rng;
        let bytes: [u8; 24] = rand::rng().random();
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        config.admin_token = Some(redline::config::AdminToken::new(token.clone()));
        token
    });
    let options = DemoOptions {
        listen: args.listen,
        config,
        load_rps: args.load_rps,
        error_rate: args.error_rate,
        latency_ms: args.latency_ms,
    };
    let demo = match Demo::start(options).await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("redline: {e}");
            return ExitCode::FAILURE;
        }
    };
    let app = demo.app_addr();
    let config = demo.telemetry().config();
    let scheme = |tls: bool| if tls { "https" } else { "http" };
    let (api, adm) = (
        scheme(config.tls.is_some()),
        scheme(config.admin_tls.is_some()),
    );
    println!("redline demo ({})", config.service_name);
    if let Some(admin) = demo.admin_addr().filter(|_| config.status.enabled) {
        match &generated_token {
            // The fragment never reaches the server (nor its logs): the
            // page reads it, logs in and forgets it.
            Some(token) => println!("  status:   {adm}://{admin}/status#token={token}"),
            None => println!("  status:   {adm}://{admin}/status  (log in with an admin token)"),
        }
    }
    println!(
        "  API:      {api}://{app}/hello  (also /messages, /conversations/{{id}}, /media, /batch, /groups/{{id}}/members)"
    );
    if let Some(admin) = demo.admin_addr() {
        println!("  metrics:  {adm}://{admin}/metrics");
    }
    match &generated_token {
        Some(token) => println!(
            "  admin:    export TOKEN={token}   (generated; set REDLINE_ADMIN_TOKEN to choose one)"
        ),
        None => match (
            &demo.telemetry().config().admin_token,
            &demo.telemetry().config().admin_principals,
        ) {
            (Some(_), None) => {
                println!(
                    "  admin:    export TOKEN=\"$REDLINE_ADMIN_TOKEN\"   (the token of REDLINE_ADMIN_TOKEN)"
                )
            }
            (token, Some(file)) => println!(
                "  admin:    {} principals from {}{}",
                file.principals().len(),
                file.path().display(),
                if token.is_some() {
                    ", and the token from REDLINE_ADMIN_TOKEN"
                } else {
                    ""
                }
            ),
            (None, None) => {}
        },
    }
    if let Some(admin) = demo.admin_addr() {
        println!(
            "  faults:   curl -X PUT {adm}://{admin}/faults -H \"authorization: Bearer $TOKEN\" -H 'content-type: application/json' -d '{{\"error_rate\":0.1,\"latency_ms\":200}}'"
        );
    }
    let tracing = demo.telemetry().tracing();
    match tracing.endpoint() {
        Some(endpoint) if tracing.is_enabled() => println!("  traces:   OTLP to {endpoint}"),
        _ if tracing.is_enabled() => {
            println!("  traces:   local only (set OTEL_EXPORTER_OTLP_ENDPOINT to export)")
        }
        _ => println!("  traces:   off (OTEL_SDK_DISABLED)"),
    }
    match &log_file {
        Some(file) => println!(
            "  logs:     JSON lines to {} (--log-stdout to print them here)",
            file.display()
        ),
        None => println!("  logs:     JSON lines as configured"),
    }
    if args.load_rps > 0 {
        println!(
            "  load:     {} requests/s from the built-in generator",
            args.load_rps
        );
    }
    println!("Ctrl-C to stop.");
    // After the banner, so JSON lines do not interleave with it.
    if let Err(e) = demo.telemetry().install_logging() {
        eprintln!("redline: {e}");
        return ExitCode::FAILURE;
    }
    demo.telemetry().security().record(
        redline::logs::SecurityEvent::SysStartup,
        "",
        "demo started",
    );
    // A live line instead of the JSON lines, when they go to a file.
    let quiet = demo.telemetry().config().logs.output == redline::logs::LogOutput::File;
    let live = quiet.then(|| {
        let telemetry = demo.telemetry().clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Some(summary) = telemetry.status_summary(std::time::Duration::from_secs(10))
                {
                    println!("{}  {summary}", clock());
                }
            }
        })
    });
    match args.duration {
        Some(secs) => {
            tokio::select! {
                _ = redline_demo::shutdown_signal() => {}
                _ = tokio::time::sleep(std::time::Duration::from_secs(secs)) => {}
            }
        }
        None => redline_demo::shutdown_signal().await,
    }
    if let Some(live) = live {
        live.abort();
    }
    println!("shutting down…");
    demo.telemetry().security().record(
        redline::logs::SecurityEvent::SysShutdown,
        "",
        "demo stopping",
    );
    let stats = demo.load_stats();
    let (sent, failed) = (
        stats.sent.load(Ordering::Relaxed),
        stats.failed.load(Ordering::Relaxed),
    );
    let telemetry = demo.telemetry().clone();
    demo.shutdown().await;
    telemetry.flush_logs();
    if args.load_rps > 0 {
        println!("load generator: {sent} responses, {failed} transport failures");
    }
    ExitCode::SUCCESS
}

/// The time of day (UTC), `HH:MM:SS`.
fn clock() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        % 86_400;
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}
