//! The SnapSharp backend through a whole build, against the fake server on 127.0.0.1:
//! requests made, limits kept, faults retried or reported, the key kept secret.

use std::time::Duration;

use fake_snapsharp::{FakeConfig, FakeServer, Fault, FaultAction, RateLimit};

use crate::support::{CONFIG, Run, Site};

const KEY: &str = "test-key";

/// A site whose cards come from `server`; `extra` goes into `[snapsharp]`.
fn remote_site(server: &FakeServer, extra: &str) -> Site {
    let site = Site::new();
    site.write(
        "ogforge.toml",
        format!(
            // A fallback picture of its own, so that the site's own card asks nothing
            // and every request counted here is a post's.
            "{CONFIG}[og]\nbackend = \"snapsharp\"\nfallback_image = \"https://cdn.test/site.png\"\n[snapsharp]\nbase_url = \"{}\"\nrate_limit = \"1000/s\"\nmax_attempts = 4\ntimeout_secs = 5\n{extra}",
            server.base_url()
        ),
    );
    site
}

fn posts(site: &Site, n: usize) {
    for i in 0..n {
        site.post(
            &format!("p{i:02}.md"),
            &format!("title: Post number {i}\ndescription: About {i}"),
            "body",
        );
    }
}

fn build(site: &Site, args: &[&str]) -> Run {
    let mut all = vec!["build"];
    all.extend_from_slice(args);
    site.run_with_env(&all, &[("SNAPSHARP_API_KEY", KEY)])
}

fn og_requests(server: &FakeServer) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/og-image"))
        .count()
}

#[test]
fn one_call_per_changed_card_and_none_on_a_rebuild() {
    let server = FakeServer::start(FakeConfig::default());
    let site = remote_site(&server, "");
    posts(&site, 3);
    build(&site, &[]).expect(0);
    assert_eq!(og_requests(&server), 3);
    let body = &server.requests()[0];
    assert_eq!(body.header("authorization"), Some("Bearer test-key"));
    assert_eq!(body.body["template"], "blog-post");
    assert_eq!(body.body["width"], 1200);
    assert!(
        body.body["variables"]["title"]
            .as_str()
            .unwrap()
            .starts_with("Post number")
    );
    let page = site.read("public/p00/index.html");
    assert!(
        page.contains("og:image\" content=\"https://blog.test/og/p00."),
        "{page}"
    );

    build(&site, &[]).expect(0);
    assert_eq!(og_requests(&server), 3, "a no-op build asks nothing");
    site.post(
        "p01.md",
        "title: Post number one, edited\ndescription: About 1",
        "body",
    );
    build(&site, &[]).expect(0);
    assert_eq!(og_requests(&server), 4, "one edited post, one request");
}

#[test]
fn identical_cards_are_asked_once() {
    let server = FakeServer::start(FakeConfig::default());
    let site = remote_site(&server, "");
    site.post("a.md", "title: Twin\ndescription: Same", "x")
        .post("b.md", "title: Twin\ndescription: Same", "y");
    build(&site, &[]).expect(0);
    assert_eq!(og_requests(&server), 1);
}

#[test]
fn concurrency_is_never_exceeded() {
    let server = FakeServer::start(FakeConfig::default().latency(Duration::from_millis(150)));
    let site = remote_site(&server, "concurrency = 3\n");
    posts(&site, 9);
    build(&site, &[]).expect(0);
    assert_eq!(og_requests(&server), 9);
    assert_eq!(server.max_in_flight(), 3, "three in flight, never more");
}

#[test]
fn the_rate_limit_is_never_exceeded() {
    // The build is told 5/s, so six starts span at least a second. The fake sees
    // arrivals, not starts, and a loaded machine delays some arrivals more than others:
    // it refuses six within 900 ms, which still catches any pace faster than 5.5/s.
    let window = Duration::from_millis(900);
    let server = FakeServer::start(FakeConfig::default().rate_limit(RateLimit {
        requests: 5,
        per: window,
    }));
    let site = Site::new();
    site.write(
        "ogforge.toml",
        format!(
            "{CONFIG}[og]\nbackend = \"snapsharp\"\nfallback_image = \"https://cdn.test/site.png\"\n[snapsharp]\nbase_url = \"{}\"\nrate_limit = \"5/s\"\nconcurrency = 4\n",
            server.base_url()
        ),
    );
    posts(&site, 8);
    build(&site, &[]).expect(0);
    let times: Vec<_> = server.requests().iter().map(|r| r.arrived).collect();
    assert_eq!(
        times.len(),
        8,
        "no request was refused with 429 and asked again"
    );
    for (i, t) in times.iter().enumerate() {
        let within = times[i..]
            .iter()
            .filter(|u| u.duration_since(*t) < window)
            .count();
        assert!(within <= 5, "{within} requests arrived within {window:?}");
    }
}

#[test]
fn transient_faults_are_retried_to_success() {
    let faults = [
        ("Post number 0", FaultAction::Status(500)),
        ("Post number 1", FaultAction::Status(503)),
        ("Post number 2", FaultAction::Reset),
        ("Post number 3", FaultAction::Truncated),
        ("Post number 4", FaultAction::WrongContentType),
        (
            "Post number 5",
            FaultAction::TooManyRequests(Some("1".into())),
        ),
        ("Post number 6", FaultAction::Hang),
    ];
    let mut config = FakeConfig::default().hang(Duration::from_secs(3));
    for (title, action) in faults.clone() {
        config = config.fault(Fault::when_body_contains(title, action).times(1));
    }
    let server = FakeServer::start(config);
    let site = remote_site(&server, "concurrency = 4\n");
    site.write(
        "ogforge.toml",
        site.read("ogforge.toml")
            .replace("timeout_secs = 5", "timeout_secs = 1"),
    );
    posts(&site, 7);
    let run = build(&site, &[]).expect(0);
    assert_eq!(
        og_requests(&server),
        14,
        "each card asked twice: {}",
        run.stderr()
    );
    for i in 0..7 {
        let page = site.read(&format!("public/p{i:02}/index.html"));
        assert!(
            page.contains("og:image\" content=\"https://blog.test/og/"),
            "p{i:02} has its card"
        );
    }
}

#[test]
fn a_404_fails_that_card_only_and_is_not_asked_again() {
    let server = FakeServer::start(FakeConfig::default().fault(Fault::when_body_contains(
        "Broken",
        FaultAction::StatusMessage(404, "no template like that".into()),
    )));
    let site = remote_site(&server, "");
    site.post("good.md", "title: Good", "x")
        .post("broken.md", "title: Broken", "y");
    let run = build(&site, &[]).expect(1);
    let err = run.stderr();
    assert!(
        err.contains(
            "content/broken.md: its card could not be made: HTTP 404: no template like that"
        ),
        "{err}"
    );
    assert_eq!(og_requests(&server), 2, "a 404 is not retried");
    let broken = site.read("public/broken/index.html");
    assert!(
        broken.contains("og:image\" content=\"https://cdn.test/site.png\""),
        "a failed card's page gets the fallback picture: {broken}"
    );
    assert!(site.read("public/good/index.html").contains("og:image\""));

    let run = build(&site, &[]).expect(1);
    assert_eq!(
        og_requests(&server),
        2,
        "not asked again with the same inputs"
    );
    assert!(run.stderr().contains("--retry-failed"), "{}", run.stderr());
    build(&site, &["--retry-failed"]).expect(1);
    assert_eq!(og_requests(&server), 3);
}

#[test]
fn a_wrong_key_stops_the_build_after_at_most_concurrency_calls() {
    let server = FakeServer::start(
        FakeConfig::default()
            .key("the-right-key")
            .latency(Duration::from_millis(50)),
    );
    let site = remote_site(&server, "concurrency = 2\n");
    posts(&site, 10);
    let run = build(&site, &[]).expect(2);
    let err = run.stderr();
    assert!(err.contains("refused the API key (HTTP 401)"), "{err}");
    assert!(
        server.count() <= 2,
        "{} requests after a 401",
        server.count()
    );
    assert!(
        !site.exists("public/index.html"),
        "the build stopped at once"
    );
}

#[test]
fn a_missing_key_stops_the_build_before_any_work() {
    let server = FakeServer::start(FakeConfig::default());
    let site = remote_site(&server, "");
    posts(&site, 2);
    let run = site.run(&["build"]).expect(2);
    let err = run.stderr();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains("SNAPSHARP_API_KEY"), "{err}");
    assert_eq!(server.count(), 0);
    assert!(!site.exists("public"));
}

#[test]
fn offline_and_dry_run_make_no_request() {
    let server = FakeServer::start(FakeConfig::default());
    let site = remote_site(&server, "");
    posts(&site, 2);
    let run = build(&site, &["--dry-run"]).expect(0);
    assert!(
        run.stderr()
            .contains(&format!("would POST {}/og-image", server.base_url())),
        "{}",
        run.stderr()
    );
    assert!(
        run.stderr().contains("dry run: 2 cards to make, none made"),
        "{}",
        run.stderr()
    );
    assert!(!site.exists("public"));
    build(&site, &["--offline"]).expect(0);
    assert_eq!(server.count(), 0);
    assert!(site.read("public/p00/index.html").contains("og:image\""));
}

/// The whole remote path (cards and screenshots, retried 5xx, permanent 4xx, a 401,
/// `-v` and `--json`) with a sentinel key that the fake server even echoes back in its
/// error bodies: the key must show in no output, no message and no file.
#[test]
fn the_key_never_appears_in_output_or_files() {
    let sentinel = "sk_live_SENTINEL_4f9a2c";
    let wrong = "sk_live_SENTINEL_WRONG_77";
    let server = FakeServer::start(
        FakeConfig::default()
            .key(sentinel)
            .fault(Fault::when_body_contains(
                "Broken",
                FaultAction::StatusMessage(422, format!("bad request with {sentinel}")),
            ))
            .fault(
                Fault::when_body_contains(
                    "Flaky",
                    FaultAction::PlainText(500, format!("key={sentinel}")),
                )
                .times(2),
            )
            .fault(Fault::when_body_contains(
                "https://gone.example/",
                FaultAction::StatusMessage(404, format!("no page for {sentinel}")),
            ))
            .fault(
                Fault::when_body_contains(
                    "https://flaky.example/",
                    FaultAction::PlainText(503, format!("Bearer {sentinel}")),
                )
                .times(1),
            )
            .fault(Fault::when_body_contains(
                "Revoked",
                FaultAction::StatusMessage(401, format!("the key {sentinel} was revoked")),
            )),
    );
    let site = remote_site(&server, "");
    site.write(
        "ogforge.toml",
        format!(
            "{}[screenshots]\nbackend = \"snapsharp\"\n",
            site.read("ogforge.toml")
        ),
    );
    posts(&site, 2);
    site.post("broken.md", "title: Broken", "x");
    site.post("flaky.md", "title: Flaky", "x");
    site.post(
        "shots.md",
        "title: Shots\nscreenshot: [https://fine.example/, https://gone.example/, https://flaky.example/]",
        "x",
    );
    let with_key =
        |args: &[&str], key: &str| site.run_with_env(args, &[("SNAPSHARP_API_KEY", key)]);
    let mut runs = vec![
        with_key(&["build", "-v"], sentinel).expect(1),
        with_key(&["build", "-v", "--json", "--retry-failed"], sentinel).expect(1),
    ];
    let shots = server
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/screenshot"))
        .count();
    assert!(shots >= 4, "screenshots went through the server: {shots}");
    assert!(
        site.read("public/flaky/index.html")
            .contains("og:image\" content=\"https://blog.test/og/"),
        "the retried card was made"
    );
    site.post("revoked.md", "title: Revoked", "x");
    let revoked = with_key(&["build", "-v", "--json"], sentinel).expect(2);
    assert!(
        revoked.stderr().contains("HTTP 401"),
        "{}",
        revoked.stderr()
    );
    runs.push(revoked);
    std::fs::remove_file(site.path("content/revoked.md")).unwrap();
    let refused = with_key(&["build", "-v", "--force"], wrong).expect(2);
    assert!(
        refused.stderr().contains("HTTP 401"),
        "{}",
        refused.stderr()
    );
    runs.push(refused);

    for run in &runs {
        for key in [sentinel, wrong] {
            assert!(
                !run.stdout().contains(key) && !run.stderr().contains(key),
                "the key shows:\n--- stdout\n{}\n--- stderr\n{}",
                run.stdout(),
                run.stderr()
            );
        }
    }
    assert!(site.exists(".ogforge/manifest.json"));
    let files = site.all_files();
    assert!(
        files
            .iter()
            .any(|f| f.starts_with("site/public/screenshots/"))
    );
    for file in files {
        let bytes = std::fs::read(site.tmp.path().join(&file)).unwrap();
        for key in [sentinel, wrong] {
            assert!(
                !bytes.windows(key.len()).any(|w| w == key.as_bytes()),
                "{file} holds the key"
            );
        }
    }
}

#[test]
fn a_killed_build_loses_no_finished_card() {
    let server = FakeServer::start(FakeConfig::default().latency(Duration::from_millis(250)));
    let site = remote_site(&server, "concurrency = 1\n");
    posts(&site, 8);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("ogforge"))
        .arg("build")
        .current_dir(site.root())
        .env("SNAPSHARP_API_KEY", KEY)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let cards = |site: &Site| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(site.path("public/og"))
            .map(|d| {
                d.map(|e| e.unwrap().path())
                    .filter(|p| p.extension().is_some_and(|e| e == "png"))
                    .collect()
            })
            .unwrap_or_default()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while cards(&site).len() < 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let finished = cards(&site);
    assert!(
        finished.len() >= 3 && finished.len() < 8,
        "killed mid-way: {} cards",
        finished.len()
    );
    for card in &finished {
        let size = imagesize::size(card).expect("no torn card file");
        assert_eq!((size.width, size.height), (1200, 630));
    }
    let asked_before = og_requests(&server);

    let run = build(&site, &[]).expect(0);
    let asked_again = og_requests(&server) - asked_before;
    assert_eq!(
        asked_again,
        8 - finished.len(),
        "only unfinished cards are asked again: {}",
        run.stderr()
    );
    assert!(
        run.stderr().contains(&format!(
            "{} cards drawn, {} up to date",
            8 - finished.len(),
            finished.len()
        )),
        "{}",
        run.stderr()
    );
    let leftovers: Vec<_> = std::fs::read_dir(site.path("public/og"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".ogforge-tmp"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary files of the killed build are gone: {leftovers:?}"
    );
}

#[test]
fn frozen_needs_no_key_and_calls_nothing() {
    let server = FakeServer::start(FakeConfig::default());
    let site = remote_site(&server, "");
    posts(&site, 2);
    build(&site, &[]).expect(0);
    site.run(&["build", "--frozen"]).expect(0);
    site.post("p00.md", "title: Changed\ndescription: About 0", "body");
    let run = site.run(&["build", "--frozen"]).expect(3);
    assert!(
        run.stderr().contains("stale: content/p00.md: card og/p00."),
        "{}",
        run.stderr()
    );
    assert_eq!(og_requests(&server), 2, "a frozen build calls nothing");
}

#[test]
fn json_lists_failed_assets() {
    let server = FakeServer::start(FakeConfig::default().fault(Fault::when_body_contains(
        "Broken",
        FaultAction::StatusMessage(404, "gone".into()),
    )));
    let site = remote_site(&server, "");
    site.post("ok.md", "title: Fine", "x")
        .post("broken.md", "title: Broken", "y");
    let run = build(&site, &["--json"]).expect(1);
    let report: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(report["outcome"], "assets-failed");
    let failed: Vec<_> = report["assets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["state"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["source"], "content/broken.md");
    assert_eq!(failed[0]["error"], "HTTP 404: gone");
    assert_eq!(failed[0]["permanent"], true);
}

#[test]
fn a_second_build_at_once_waits_for_the_first() {
    let server = FakeServer::start(FakeConfig::default().latency(Duration::from_millis(200)));
    let site = remote_site(&server, "concurrency = 1\n");
    posts(&site, 4);
    let spawn = || {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("ogforge"))
            .arg("build")
            .current_dir(site.root())
            .env("SNAPSHARP_API_KEY", KEY)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let first = spawn();
    std::thread::sleep(Duration::from_millis(300));
    let second = spawn();
    let first = first.wait_with_output().unwrap();
    let second = second.wait_with_output().unwrap();
    assert!(first.status.success() && second.status.success());
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(
        said.contains("waiting for another ogforge run on this site to finish"),
        "{said}"
    );
    assert!(
        said.contains("0 cards drawn, 4 up to date"),
        "the second found the first's work: {said}"
    );
    assert_eq!(og_requests(&server), 4, "no card asked twice");
    let manifest: serde_json::Value =
        serde_json::from_str(&site.read(".ogforge/manifest.json")).unwrap();
    assert_eq!(manifest["assets"].as_object().unwrap().len(), 4);
}
