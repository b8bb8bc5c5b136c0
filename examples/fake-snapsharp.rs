//! The tests' fake SnapSharp API, run by hand, to try `ogforge build` with
//! `backend = "snapsharp"` without an account or a network:
//!
//! ```text
//! cargo run --example fake-snapsharp -- --port 8787 --latency-ms 300 --rate-limit 60/min
//! SNAPSHARP_API_KEY=test-key ogforge build   # with [snapsharp] base_url = "http://127.0.0.1:8787/v1"
//! ```

use std::time::Duration;

use clap::Parser;
use fake_snapsharp::{FakeConfig, FakeServer, RateLimit};

/// A fake SnapSharp API on 127.0.0.1 that draws plain PNGs of the requested size.
#[derive(Debug, Parser)]
#[command(name = "fake-snapsharp")]
struct Args {
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The API key clients must send as `Authorization: Bearer <key>`.
    #[arg(long, default_value = "test-key")]
    key: String,
    /// Milliseconds to wait before answering each request.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Answer 429 + Retry-After above this rate, e.g. "5/min" (default: no limit).
    #[arg(long)]
    rate_limit: Option<RateLimit>,
    /// Print nothing per request.
    #[arg(long, short)]
    quiet: bool,
}

fn main() {
    let args = Args::parse();
    let mut config = FakeConfig::default()
        .key(args.key)
        .latency(Duration::from_millis(args.latency_ms))
        .log(!args.quiet);
    if let Some(limit) = args.rate_limit {
        config = config.rate_limit(limit);
    }
    let server = match FakeServer::start_on(config, args.port) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("error: could not listen on 127.0.0.1:{}: {e}", args.port);
            std::process::exit(2);
        }
    };
    println!("fake SnapSharp listening on {}", server.base_url());
    // Serve until the process is interrupted (Ctrl-C ends it).
    loop {
        std::thread::park();
    }
}
