//! The shared cache through whole builds: a second machine downloads instead of asking
//! SnapSharp, shards split the work and `--frozen` assembles, a damaged object is made
//! again, a cache that does not answer is only a warning. The scenarios run on a folder
//! (`file://`) here and on a real S3 API in `cache_s3.rs` (feature `e2e`).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use fake_snapsharp::{FakeConfig, FakeServer};

use crate::support::{CONFIG, Run, Site};

const KEY: &str = "test-key";
pub const POSTS: usize = 6;

/// A store the scenarios run against.
pub trait Store {
    /// `OGFORGE_CACHE_URL` and the credentials a build needs.
    fn env(&self) -> Vec<(String, String)>;
    /// The names (fingerprints) of the assets stored.
    fn objects(&self) -> BTreeSet<String>;
    fn read(&self, name: &str) -> Vec<u8>;
    /// Replaces an object's bytes, as someone with write access (or a bad disk) could.
    fn overwrite(&self, name: &str, bytes: Vec<u8>);
}

/// A cache in a folder: `file://<dir>/blog`.
pub struct Folder(pub tempfile::TempDir);

impl Folder {
    pub fn new() -> Folder {
        Folder(tempfile::tempdir().unwrap())
    }

    fn assets(&self) -> PathBuf {
        self.0.path().join("blog/assets")
    }
}

impl Store for Folder {
    fn env(&self) -> Vec<(String, String)> {
        vec![(
            "OGFORGE_CACHE_URL".into(),
            format!("file://{}/blog", self.0.path().display()),
        )]
    }

    fn objects(&self) -> BTreeSet<String> {
        std::fs::read_dir(self.assets())
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| !n.starts_with('.'))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.assets().join(name)).unwrap()
    }

    fn overwrite(&self, name: &str, bytes: Vec<u8>) {
        std::fs::write(self.assets().join(name), bytes).unwrap();
    }
}

/// A blog of [`POSTS`] posts whose cards come from `server`. Every "machine" of a
/// scenario is a fresh copy of it (its own folder, no `public/`, no `.ogforge/`).
pub fn machine(server: &FakeServer) -> Site {
    let site = Site::new();
    site.write(
        "ogforge.toml",
        format!(
            // A fallback picture of its own, so that every request counted is a post's.
            "{CONFIG}[og]\nbackend = \"snapsharp\"\nfallback_image = \"https://cdn.test/site.png\"\n[snapsharp]\nbase_url = \"{}\"\nrate_limit = \"1000/s\"\ntimeout_secs = 5\n",
            server.base_url()
        ),
    );
    for i in 0..POSTS {
        site.post(
            &format!("p{i}.md"),
            &format!("title: Post number {i}\ndescription: About {i}"),
            "body",
        );
    }
    site
}

pub fn build(site: &Site, store: &dyn Store, args: &[&str]) -> Run {
    let mut all = vec!["build"];
    all.extend_from_slice(args);
    let env = store.env();
    let mut pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    pairs.push(("SNAPSHARP_API_KEY", KEY));
    site.run_with_env(&all, &pairs)
}

pub fn og_requests(server: &FakeServer) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/og-image"))
        .count()
}

/// Every card file of a site, by name, with its bytes.
pub fn cards(site: &Site) -> Vec<(String, Vec<u8>)> {
    let mut cards: Vec<(String, Vec<u8>)> = std::fs::read_dir(site.path("public/og"))
        .unwrap()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    cards.sort();
    cards
}

fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout()).unwrap_or_else(|e| panic!("{e}: {}", run.stdout()))
}

pub fn a_second_machine_asks_nothing_and_gets_the_same_cards(store: &dyn Store) {
    let server = FakeServer::start(FakeConfig::default());
    let first = machine(&server);
    let run = build(&first, store, &["--json"]).expect(0);
    assert_eq!(og_requests(&server), POSTS);
    let report = json(&run);
    assert_eq!(report["cache"]["misses"], POSTS, "{report}");
    assert_eq!(report["cache"]["uploads"], POSTS, "{report}");
    assert_eq!(store.objects().len(), POSTS);

    let second = machine(&server);
    let run = build(&second, store, &["-v", "--json"]).expect(0);
    assert_eq!(
        og_requests(&server),
        POSTS,
        "the second machine asked nothing"
    );
    assert_eq!(
        cards(&second),
        cards(&first),
        "byte for byte the same cards"
    );
    let report = json(&run);
    assert_eq!(report["cache"]["hits"], POSTS, "{report}");
    assert_eq!(report["cache"]["uploads"], 0, "{report}");
    assert_eq!(report["cards"]["remote"], POSTS, "{report}");
    assert_eq!(report["cards"]["made"], 0, "{report}");
    assert!(
        report["cache"]["bytes_downloaded"].as_u64().unwrap() > 0,
        "{report}"
    );
    assert!(
        run.stderr().contains("remote content/p3.md"),
        "{}",
        run.stderr()
    );
    for i in 0..POSTS {
        let page = second.read(&format!("public/p{i}/index.html"));
        assert!(
            page.contains("og:image\" content=\"https://blog.test/og/"),
            "p{i}"
        );
    }
}

pub fn two_shards_ask_once_each_and_frozen_assembles(store: &dyn Store) {
    let server = FakeServer::start(FakeConfig::default());
    let mut made = 0;
    for k in 1..=2 {
        let shard = machine(&server);
        let run = build(&shard, store, &["--shard", &format!("{k}/2"), "--json"]).expect(0);
        assert!(!shard.exists("public/index.html"), "a shard writes no page");
        made += json(&run)["cards"]["made"].as_u64().unwrap();
    }
    let bodies: Vec<String> = server
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/og-image"))
        .map(|r| r.body["variables"]["title"].as_str().unwrap().to_string())
        .collect();
    let distinct: BTreeSet<&String> = bodies.iter().collect();
    assert_eq!(bodies.len(), POSTS, "each card asked once: {bodies:?}");
    assert_eq!(distinct.len(), POSTS, "{bodies:?}");
    assert_eq!(made, POSTS as u64);

    // The assembling machine has no key: it makes nothing, it only reads.
    let assemble = machine(&server);
    let env = store.env();
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let run = assemble
        .run_with_env(&["build", "--frozen", "--json"], &pairs)
        .expect(0);
    assert_eq!(og_requests(&server), POSTS);
    assert_eq!(json(&run)["cards"]["remote"], POSTS);
    for i in 0..POSTS {
        let page = assemble.read(&format!("public/p{i}/index.html"));
        assert!(
            page.contains("og:image\" content=\"https://blog.test/og/"),
            "p{i}"
        );
    }
}

pub fn a_damaged_object_is_made_again_and_replaced(store: &dyn Store) {
    let server = FakeServer::start(FakeConfig::default());
    build(&machine(&server), store, &[]).expect(0);
    let victim = store.objects().into_iter().next().unwrap();
    let good = store.read(&victim);
    let mut bad = good.clone();
    let at = bad.len() - 30;
    bad[at] ^= 0xff;
    store.overwrite(&victim, bad);

    let run = build(&machine(&server), store, &[]).expect(0);
    assert!(run.stderr().contains("is not usable"), "{}", run.stderr());
    assert_eq!(
        og_requests(&server),
        POSTS + 1,
        "only the damaged card asked again"
    );
    assert_eq!(store.read(&victim), good, "the damaged object was replaced");

    build(&machine(&server), store, &[]).expect(0);
    assert_eq!(
        og_requests(&server),
        POSTS + 1,
        "the next machine finds it whole"
    );
}

#[test]
fn folder_a_second_machine_asks_nothing() {
    a_second_machine_asks_nothing_and_gets_the_same_cards(&Folder::new());
}

#[test]
fn folder_two_shards_and_frozen_assemble() {
    two_shards_ask_once_each_and_frozen_assembles(&Folder::new());
}

#[test]
fn folder_a_damaged_object_is_made_again() {
    a_damaged_object_is_made_again_and_replaced(&Folder::new());
}

#[test]
fn local_cards_come_from_the_cache_too() {
    let store = Folder::new();
    let site = || {
        let site = Site::new();
        site.post("a.md", "title: Drawn here", "x");
        site
    };
    let first = site();
    build(&first, &store, &[]).expect(0);
    // The post's card and the site's own card.
    assert_eq!(store.objects().len(), 2);
    let second = site();
    let run = build(&second, &store, &["--json"]).expect(0);
    let report = json(&run);
    assert_eq!(report["cards"]["made"], 0, "{report}");
    assert_eq!(report["cache"]["hits"], 2, "{report}");
    assert_eq!(cards(&second), cards(&first));
}

#[test]
fn frozen_names_what_the_cache_lacks() {
    let store = Folder::new();
    let server = FakeServer::start(FakeConfig::default());
    let site = machine(&server);
    let env = store.env();
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let run = site.run_with_env(&["build", "--frozen"], &pairs).expect(3);
    assert!(run.stderr().contains("content/p0.md"), "{}", run.stderr());
    assert!(!site.exists("public/p0/index.html"));
}

#[test]
fn a_shard_needs_a_cache() {
    let site = Site::new();
    site.post("a.md", "title: A", "x");
    let run = site.run(&["build", "--shard", "1/2"]).expect(2);
    assert!(
        run.stderr().contains("needs a shared cache"),
        "{}",
        run.stderr()
    );
    assert!(
        run.stderr().contains("OGFORGE_CACHE_URL"),
        "{}",
        run.stderr()
    );
    let run = site.run(&["build", "--shard", "3/2"]).expect(2);
    assert!(run.stderr().contains("K/N"), "{}", run.stderr());
}

#[test]
fn a_bad_cache_url_stops_the_build_before_any_work() {
    let site = Site::new();
    site.post("a.md", "title: A", "x");
    site.write(
        "ogforge.toml",
        format!("{CONFIG}[cache]\nurl = \"ftp://cards.example.com/x\"\n"),
    );
    let run = site.run(&["build"]).expect(2);
    assert!(run.stderr().contains("`cache.url`"), "{}", run.stderr());
    assert!(
        run.stderr().contains("hint: write it as s3://"),
        "{}",
        run.stderr()
    );
    assert!(!site.exists("public"));
}

/// An S3 endpoint on 127.0.0.1 that accepts connections and never answers, for a minute
/// at most; and the variables that point a build at it.
fn silent_endpoint() -> Vec<(String, String)> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut open = Vec::new();
        listener.set_nonblocking(true).unwrap();
        let until = std::time::Instant::now() + Duration::from_secs(60);
        while std::time::Instant::now() < until && open.len() < 50 {
            match listener.accept() {
                Ok((conn, _)) => open.push(conn),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    [
        ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}")),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_REGION", "us-east-1".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn silent_site() -> Site {
    let site = Site::new();
    site.write(
        "ogforge.toml",
        format!("{CONFIG}[cache]\nurl = \"s3://cards/blog\"\ntimeout_secs = 1\n"),
    );
    for i in 0..5 {
        site.post(&format!("p{i}.md"), &format!("title: P{i}"), "x");
    }
    site
}

/// Every lookup times out, the cache is given up after a few, and the build makes
/// everything itself.
#[test]
fn a_cache_that_never_answers_is_a_warning() {
    let site = silent_site();
    let env = silent_endpoint();
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let run = site.run_with_env(&["build", "--json"], &pairs).expect(0);
    assert!(
        run.stderr().contains("the shared cache is not answering"),
        "{}",
        run.stderr()
    );
    let report = json(&run);
    assert_eq!(report["cards"]["made"], 5, "{report}");
    assert!(report["cache"]["down"].is_string(), "{report}");
    for i in 0..5 {
        assert!(site.exists(&format!("public/p{i}/index.html")));
    }
}

/// A shard's one job is to fill the cache: when it cannot, it fails and says so.
#[test]
fn a_shard_whose_cache_does_not_answer_fails() {
    let site = silent_site();
    let env = silent_endpoint();
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let run = site
        .run_with_env(&["build", "--shard", "1/1"], &pairs)
        .expect(1);
    assert!(
        run.stderr().contains("are not in the shared cache"),
        "{}",
        run.stderr()
    );
}

#[test]
fn stats_and_prune_over_the_command_line() {
    let store = Folder::new();
    let server = FakeServer::start(FakeConfig::default());
    let site = machine(&server);
    build(&site, &store, &[]).expect(0);
    let url = store.env()[0].1.clone();
    let stats = site
        .run(&["cache", "stats", "--url", &url, "--json"])
        .expect(0);
    let stats: serde_json::Value = serde_json::from_str(&stats.stdout()).unwrap();
    assert_eq!(stats["objects"], POSTS, "{stats}");
    assert_eq!(stats["usage_records"], 1, "{stats}");

    // Just used and just uploaded: nothing to prune.
    let prune = site
        .run(&[
            "cache",
            "prune",
            "--url",
            &url,
            "--older-than",
            "1d",
            "--json",
        ])
        .expect(0);
    let prune: serde_json::Value = serde_json::from_str(&prune.stdout()).unwrap();
    assert_eq!(
        (prune["removed"].as_u64(), prune["kept"].as_u64()),
        (Some(0), Some(POSTS as u64))
    );
    assert_eq!(store.objects().len(), POSTS);

    let bad = site
        .run(&["cache", "prune", "--url", &url, "--older-than", "soon"])
        .expect(2);
    assert!(bad.stderr().contains("90d"), "{}", bad.stderr());
    let none = Site::new();
    let run = none.run(&["cache", "stats"]).expect(2);
    assert!(
        run.stderr().contains("no shared cache is set"),
        "{}",
        run.stderr()
    );
}
