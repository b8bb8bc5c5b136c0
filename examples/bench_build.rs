//! The whole-build benchmark. It generates a blog of N posts with the shared generator,
//! then times the release `ogforge` binary on it: a cold build, a no-op build and a build
//! after one edit, against the floor no no-op build can beat (walk, read and hash every
//! input, in-process). With `--remote` it times a cold build against the fake SnapSharp
//! instead; with `--cache URL`, cold, warm-shared-cache and sharded builds against a shared
//! cache (its credentials from the environment, as for ogforge). It prints a Markdown
//! table for BENCHMARKS.md; benches/README.md says more.
//!
//! ```text
//! cargo build --release
//! cargo run --release --example bench_build -- 1000 --dir /tmp/blog-1000
//! cargo run --release --example bench_build -- 200 --remote --rate-limit 600/min
//! cargo run --release --example bench_build -- 1000 --cache file:///tmp/og-cache --shards 2
//! ```

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail, ensure};
use clap::Parser;
use fake_snapsharp::{FakeConfig, FakeServer};
use ogforge::config::RateLimit;
use rayon::prelude::*;
use walkdir::WalkDir;

const DEFAULT_GENERATOR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/bench/gen_blog.py");
/// The first line of every `ogforge.toml` this example writes: it never overwrites a
/// config, or deletes a `public/`, that is not its own.
const CONFIG_MARK: &str = "# Written by ogforge's bench_build example; rewritten on every run.";
const GNU_TIME: &str = "/usr/bin/time";
const API_KEY: &str = "bench-key";

/// Times whole ogforge builds of a generated blog and prints a Markdown table.
#[derive(Debug, Parser)]
struct Args {
    /// How many posts the generated blog has.
    #[arg(default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..))]
    posts: u64,
    /// Keep the blog in DIR and reuse it when it already holds POSTS posts
    /// (default: a temporary folder, removed at the end).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// The shared blog generator, run as `python3 PATH N DIR/content`.
    #[arg(long = "gen", value_name = "PATH", default_value = DEFAULT_GENERATOR)]
    generator: PathBuf,
    /// The ogforge binary to time (default: target/release/ogforge, beside this example).
    #[arg(long, value_name = "PATH")]
    bin: Option<PathBuf>,
    /// How many times to repeat each timed step (default: 1 for cold builds, 3 for the rest).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    runs: Option<u64>,
    /// Time a cold build with `og.backend = "snapsharp"` against the fake SnapSharp.
    #[arg(long)]
    remote: bool,
    /// With --remote: what the fake waits before answering each request.
    #[arg(long, default_value_t = 100)]
    latency_ms: u64,
    /// With --remote: `snapsharp.concurrency`.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// With --remote: `snapsharp.rate_limit`, enforced by the fake too.
    #[arg(long, default_value = "100000/s")]
    rate_limit: RateLimit,
    /// Time builds against this shared cache (s3://, gs://, az://, file://), under a new
    /// prefix of it each run: cold without it, cold uploading, a fresh machine reading it
    /// (with and without --frozen), and --shards shards then a --frozen assemble.
    #[arg(long, value_name = "URL", conflicts_with = "remote")]
    cache: Option<String>,
    /// With --cache: how many shards the sharded build has.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    shards: u32,
}

impl Args {
    fn runs(&self, default: u64) -> u64 {
        self.runs.unwrap_or(default)
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let tools = Tools::find(args.bin.as_deref())?;
    let (site, _temp) = Site::prepare(&args)?;
    let load_before = load_average();
    let mut table = String::new();
    if args.remote {
        remote(&args, &tools, &site, &mut table)?;
    } else if let Some(url) = &args.cache {
        shared_cache(&args, url, &tools, &site, &mut table)?;
    } else {
        local(&args, &tools, &site, &mut table)?;
    }
    let load = format!("{load_before} before, {} after", load_average());
    print!("{}{table}", header(&args, &site, &tools, &load));
    Ok(())
}

/// The generated blog.
struct Site {
    dir: PathBuf,
    posts: Vec<PathBuf>,
    bytes: u64,
}

impl Site {
    /// Generates the blog, or reuses the one in `--dir` when it has the right size.
    fn prepare(args: &Args) -> Result<(Site, Option<tempfile::TempDir>)> {
        let (dir, temp) = match &args.dir {
            Some(dir) => {
                fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
                (dir.clone(), None)
            }
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("ogforge-bench-")
                    .tempdir()?;
                (temp.path().to_path_buf(), Some(temp))
            }
        };
        let config = dir.join("ogforge.toml");
        if config.exists() && !fs::read_to_string(&config)?.starts_with(CONFIG_MARK) {
            bail!(
                "{} was not written by bench_build; point --dir at an empty folder",
                config.display()
            );
        }
        let content = dir.join("content");
        let wanted = args.posts as usize;
        if markdown_files(&content).len() == wanted {
            eprintln!(
                "bench_build: reusing the {wanted} posts in {}",
                content.display()
            );
        } else {
            remove_generated(&content)?;
            generate(&args.generator, wanted, &content)?;
        }
        let posts = markdown_files(&content);
        ensure!(
            posts.len() == wanted,
            "the generator wrote {} posts, not {wanted}",
            posts.len()
        );
        let mut bytes = 0;
        for post in &posts {
            bytes += fs::metadata(post)?.len();
        }
        Ok((Site { dir, posts, bytes }, temp))
    }

    fn output(&self) -> PathBuf {
        self.dir.join("public")
    }

    fn cache(&self) -> PathBuf {
        self.dir.join(".ogforge")
    }

    /// Removes the output and the cache, for a cold build.
    fn clean(&self) -> Result<()> {
        for dir in [self.output(), self.cache()] {
            if dir.exists() {
                fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
            }
        }
        Ok(())
    }

    /// Writes `ogforge.toml`: the site's title and URL, then `extra` TOML.
    fn write_config(&self, extra: &str) -> Result<()> {
        let text = format!(
            "{CONFIG_MARK}\n[site]\ntitle = \"Bench\"\nbase_url = \"https://bench.example.com\"\n{extra}"
        );
        fs::write(self.dir.join("ogforge.toml"), text).context("writing ogforge.toml")
    }
}

/// The `.md` files under `dir`, sorted; none when it does not exist.
fn markdown_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "md"))
        .map(walkdir::DirEntry::into_path)
        .collect();
    files.sort();
    files
}

/// Removes a content folder of another size, but only when the generator wrote all of it.
fn remove_generated(content: &Path) -> Result<()> {
    if !content.exists() {
        return Ok(());
    }
    for entry in fs::read_dir(content)? {
        let name = entry?.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with("post-") && name.ends_with(".md")) {
            bail!(
                "{} holds {name}, which the generator did not write; point --dir at an empty folder",
                content.display()
            );
        }
    }
    fs::remove_dir_all(content).with_context(|| format!("removing {}", content.display()))
}

fn generate(generator: &Path, posts: usize, content: &Path) -> Result<()> {
    ensure!(
        generator.is_file(),
        "no blog generator at {}: pass --gen PATH (it is shared/bench/gen_blog.py beside the repository)",
        generator.display()
    );
    eprintln!(
        "bench_build: generating {posts} posts in {}",
        content.display()
    );
    let status = Command::new("python3")
        .arg(generator)
        .arg(posts.to_string())
        .arg(content)
        .status()
        .context("could not run python3")?;
    ensure!(status.success(), "{} failed: {status}", generator.display());
    Ok(())
}

/// The programs the benchmark runs.
struct Tools {
    ogforge: PathBuf,
    /// GNU time, for the peak RSS and CPU time of a build; `None` when it is not installed.
    time: Option<PathBuf>,
}

/// One timed `ogforge build`.
struct Build {
    wall: Duration,
    /// User + system CPU time: less swayed than `wall` by other work on the machine.
    cpu: Option<Duration>,
    peak_rss_kib: Option<u64>,
    exit_code: i32,
    /// ogforge's summary line (`built N pages ...`).
    summary: String,
}

impl Tools {
    fn find(bin: Option<&Path>) -> Result<Tools> {
        let ogforge = match bin {
            Some(bin) => bin.to_path_buf(),
            // This example is target/release/examples/bench_build.
            None => std::env::current_exe()?
                .parent()
                .and_then(Path::parent)
                .context("cannot tell the target folder from this program's path")?
                .join(format!("ogforge{}", std::env::consts::EXE_SUFFIX)),
        };
        ensure!(
            ogforge.is_file(),
            "no ogforge binary at {}: run `cargo build --release` first (or pass --bin)",
            ogforge.display()
        );
        if older_than_sources(&ogforge) {
            eprintln!(
                "bench_build: warning: {} is older than src/ or templates/; \
                 `cargo build --release` first to time the code as it is",
                ogforge.display()
            );
        }
        let time = Path::new(GNU_TIME)
            .is_file()
            .then(|| PathBuf::from(GNU_TIME));
        Ok(Tools { ogforge, time })
    }

    /// Runs `ogforge build DIR` with `env` added; stops the benchmark unless the build
    /// exited 0 or 1 (1: some cards failed, every page was still written).
    fn build(&self, dir: &Path, env: &[(&str, &str)]) -> Result<Build> {
        self.build_with(dir, &[], env)
    }

    /// `ogforge build DIR ARGS...`.
    fn build_with(&self, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<Build> {
        let rss_file = tempfile::NamedTempFile::new()?;
        let mut command = match &self.time {
            Some(time) => {
                let mut c = Command::new(time);
                c.args(["-f", "%M %U %S", "-o"])
                    .arg(rss_file.path())
                    .arg(&self.ogforge);
                c
            }
            None => Command::new(&self.ogforge),
        };
        command
            .arg("build")
            .arg(dir)
            .args(args)
            .envs(env.iter().copied());
        let started = Instant::now();
        let output = command
            .output()
            .with_context(|| format!("running {command:?}"))?;
        let wall = started.elapsed();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let exit_code = output.status.code().unwrap_or(-1);
        if !(0..=1).contains(&exit_code) {
            let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            bail!("{command:?} failed: {}\n{}", output.status, tail.join("\n"));
        }
        // GNU time puts "Command exited with non-zero status N" before the figures.
        let usage = fs::read_to_string(rss_file.path()).unwrap_or_default();
        let usage: Vec<&str> = usage.lines().last().unwrap_or("").split(' ').collect();
        let (peak_rss_kib, cpu) = match usage[..] {
            [rss, user, system] => {
                let seconds = |s: &str| s.parse::<f64>().ok();
                let cpu = seconds(user).zip(seconds(system));
                let cpu = cpu.map(|(u, s)| Duration::from_secs_f64(u + s));
                (rss.parse().ok(), cpu)
            }
            _ => (None, None),
        };
        let summary = stderr
            .lines()
            .filter(|line| {
                ["built ", "shard ", "shared cache "]
                    .iter()
                    .any(|start| line.starts_with(start))
            })
            .collect::<Vec<_>>()
            .join("; ");
        let summary = if summary.is_empty() {
            "(no summary line)".to_string()
        } else {
            summary
        };
        Ok(Build {
            wall,
            cpu,
            peak_rss_kib,
            exit_code,
            summary,
        })
    }
}

/// Whether a file that goes into the binary changed after `binary` was built: then the
/// numbers are not those of the code in the repository.
fn older_than_sources(binary: &Path) -> bool {
    let Ok(built) = fs::metadata(binary).and_then(|m| m.modified()) else {
        return false;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    ["src", "templates"]
        .iter()
        .flat_map(|dir| {
            WalkDir::new(root.join(dir))
                .into_iter()
                .filter_map(Result::ok)
        })
        .filter_map(|e| e.metadata().ok()?.modified().ok())
        .any(|modified| modified > built)
}

/// Every file under `dir` with its modification time; empty when `dir` does not exist.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, SystemTime> {
    WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| Some((e.path().to_path_buf(), e.metadata().ok()?.modified().ok()?)))
        .collect()
}

/// The files rewritten, added or removed between two snapshots.
fn changed(
    before: &BTreeMap<PathBuf, SystemTime>,
    after: &BTreeMap<PathBuf, SystemTime>,
) -> Vec<PathBuf> {
    let rewritten = after
        .iter()
        .filter(|(path, t)| before.get(*path) != Some(t));
    let removed = before.iter().filter(|(path, _)| !after.contains_key(*path));
    rewritten
        .chain(removed)
        .map(|(path, _)| path.clone())
        .collect()
}

/// Cold, no-op and one-edit builds with the local backend, and the floor.
fn local(args: &Args, tools: &Tools, site: &Site, out: &mut String) -> Result<()> {
    site.write_config("")?;
    let mut cold = Vec::new();
    for run in 1..=args.runs(1) {
        eprintln!("bench_build: cold build {run}/{}", args.runs(1));
        site.clean()?;
        cold.push(tools.build(&site.dir, &[])?);
    }

    let mut noop = Vec::new();
    let (mut public_changed, mut cache_changed) = (Vec::new(), Vec::new());
    for run in 1..=args.runs(3) {
        eprintln!("bench_build: no-op build {run}/{}", args.runs(3));
        let before = (snapshot(&site.output()), snapshot(&site.cache()));
        noop.push(tools.build(&site.dir, &[])?);
        public_changed.push(changed(&before.0, &snapshot(&site.output())));
        cache_changed.push(changed(&before.1, &snapshot(&site.cache())));
    }

    let post = &site.posts[0];
    let original = fs::read_to_string(post)?;
    let edits = time_edits(args, tools, site, post, &original);
    fs::write(post, &original).context("restoring the edited post")?;
    let edits = edits?;

    let mut floor = Vec::new();
    for run in 1..=args.runs(3) {
        eprintln!("bench_build: floor {run}/{}", args.runs(3));
        floor.push(hash_inputs(&site.dir.join("content"))?);
    }

    let post_name = post.file_name().unwrap_or_default().to_string_lossy();
    out.push_str("| step | runs | min | median | CPU, median | peak RSS |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|\n");
    for (step, builds) in [
        (
            "cold build (no `public/`, no `.ogforge/`)".to_string(),
            &cold,
        ),
        ("no-op build".to_string(), &noop),
        (
            format!("one-edit build (`{post_name}`: new title, one more sentence)"),
            &edits,
        ),
    ] {
        let walls: Vec<Duration> = builds.iter().map(|b| b.wall).collect();
        let cpu: Option<Vec<Duration>> = builds.iter().map(|b| b.cpu).collect();
        let cpu = cpu.map_or("n/a".into(), |cpu| seconds(median(&cpu)));
        let rss = builds.iter().filter_map(|b| b.peak_rss_kib).max();
        row(out, &step, &walls, &cpu, &rss.map_or("n/a".into(), mib));
    }
    let floor_times: Vec<Duration> = floor.iter().map(|f| f.0).collect();
    row(
        out,
        "floor: walk `content/`, read + BLAKE3 every file (in-process, rayon)",
        &floor_times,
        "—",
        "—",
    );

    let (files, bytes) = (floor[0].1, floor[0].2);
    let _ = writeln!(
        out,
        "\n- no-op build ÷ floor (medians): {:.1}× (the floor reads {files} files, {})",
        median(&noop.iter().map(|b| b.wall).collect::<Vec<_>>()).as_secs_f64()
            / median(&floor_times).as_secs_f64(),
        megabytes(bytes)
    );
    for (dir, changes) in [("public/", &public_changed), (".ogforge/", &cache_changed)] {
        let counts: Vec<String> = changes.iter().map(|c| c.len().to_string()).collect();
        let mut seen: Vec<String> = changes
            .iter()
            .flatten()
            .filter_map(|p| p.strip_prefix(&site.dir).ok())
            .map(|p| format!("`{}`", p.display()))
            .collect();
        seen.sort();
        seen.dedup();
        let more = seen.len().saturating_sub(5);
        seen.truncate(5);
        let _ = write!(
            out,
            "- files under `{dir}` rewritten, added or removed by each no-op build: {}",
            counts.join(", ")
        );
        if !seen.is_empty() {
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            let _ = write!(out, " ({}{more})", seen.join(", "));
        }
        out.push('\n');
    }
    for (step, builds) in [("cold", &cold), ("no-op", &noop), ("one edit", &edits)] {
        let last = builds.last().context("no build ran")?;
        let _ = writeln!(
            out,
            "- ogforge on the last {step} build (exit {}): `{}`",
            last.exit_code, last.summary
        );
    }
    Ok(())
}

/// Each run: the post with a new title and one more sentence, then a build.
fn time_edits(
    args: &Args,
    tools: &Tools,
    site: &Site,
    post: &Path,
    original: &str,
) -> Result<Vec<Build>> {
    let title = original
        .lines()
        .find(|line| line.starts_with("title:"))
        .with_context(|| format!("no `title:` line in {}", post.display()))?;
    let mut builds = Vec::new();
    for run in 1..=args.runs(3) {
        eprintln!("bench_build: one-edit build {run}/{}", args.runs(3));
        let mut text = original.replacen(title, &format!("title: \"Edited title, run {run}\""), 1);
        let _ = writeln!(text, "\nOne more sentence, from bench_build run {run}.");
        fs::write(post, text)?;
        builds.push(tools.build(&site.dir, &[])?);
    }
    Ok(builds)
}

/// What a no-op build cannot avoid: find every input, read it and hash it.
/// Returns the time taken, the number of files and their bytes.
fn hash_inputs(content: &Path) -> Result<(Duration, usize, u64)> {
    let started = Instant::now();
    let files = WalkDir::new(content)
        .into_iter()
        .filter(|e| e.as_ref().map_or(true, |e| e.file_type().is_file()))
        .map(|e| e.map(walkdir::DirEntry::into_path))
        .collect::<Result<Vec<_>, _>>()?;
    let bytes = files
        .par_iter()
        .map(|path| {
            let data = fs::read(path)?;
            std::hint::black_box(blake3::hash(&data));
            Ok(data.len() as u64)
        })
        .sum::<std::io::Result<u64>>()?;
    Ok((started.elapsed(), files.len(), bytes))
}

/// Cold builds with and without the shared cache at `url`, a fresh machine reading it,
/// and a sharded build assembled by `--frozen`; each "fresh machine" is the blog with its
/// output and `.ogforge/` removed. Shards run one after another here; on a CI matrix they
/// run at once, so the matrix's time is the slowest shard plus the assemble.
fn shared_cache(
    args: &Args,
    url: &str,
    tools: &Tools,
    site: &Site,
    out: &mut String,
) -> Result<()> {
    site.write_config("\n[screenshots]\nbackend = \"off\"\n")?;
    let run_id = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)?
        .as_millis();
    let base = url.trim_end_matches('/');
    let whole = format!("{base}/bench-{run_id}/whole");
    let sharded = format!("{base}/bench-{run_id}/sharded");
    let env = |url: &str| vec![("OGFORGE_CACHE_URL", url.to_string())];
    let mut rows: Vec<(String, Build)> = Vec::new();
    let mut step = |name: String, args_: &[&str], env: Vec<(&str, String)>| -> Result<Duration> {
        site.clean()?;
        eprintln!("bench_build: {name}");
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let build = tools.build_with(&site.dir, args_, &pairs)?;
        ensure!(
            build.exit_code == 0,
            "{name}: exit {}: {}",
            build.exit_code,
            build.summary
        );
        let wall = build.wall;
        rows.push((name, build));
        Ok(wall)
    };
    step("cold, no shared cache".into(), &[], env(""))?;
    step("cold, uploading to an empty cache".into(), &[], env(&whole))?;
    step("fresh machine, warm cache".into(), &[], env(&whole))?;
    step(
        "fresh machine, warm cache, --frozen".into(),
        &["--frozen"],
        env(&whole),
    )?;
    let mut slowest = Duration::ZERO;
    for k in 1..=args.shards {
        let shard = format!("{k}/{}", args.shards);
        let wall = step(
            format!("shard {shard} (empty cache)"),
            &["--shard", &shard],
            env(&sharded),
        )?;
        slowest = slowest.max(wall);
    }
    let assemble = step(
        "assemble: --frozen from the shards".into(),
        &["--frozen"],
        env(&sharded),
    )?;

    let _ = writeln!(out, "| build | wall | CPU | ogforge says |");
    let _ = writeln!(out, "|---|---:|---:|---|");
    for (name, b) in &rows {
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} |",
            seconds(b.wall),
            b.cpu.map_or("n/a".into(), seconds),
            b.summary.replace('|', "\\|")
        );
    }
    let _ = writeln!(
        out,
        "| matrix of {} (slowest shard + assemble) | {} | | |",
        args.shards,
        seconds(slowest + assemble)
    );
    let _ = writeln!(
        out,
        "\nThe cache's objects stay under `{base}/bench-{run_id}/`."
    );
    Ok(())
}

/// One run of a cold build against the fake SnapSharp, and a no-op build after it.
struct RemoteRun {
    cold: Build,
    requests: usize,
    distinct: usize,
    max_in_flight: usize,
    /// (requests − 1) ÷ (last arrival − first arrival), per second.
    rate: Option<f64>,
    cards_written: usize,
    noop: Build,
    noop_requests: usize,
}

/// Cold builds with `og.backend = "snapsharp"`, each against a fresh fake.
fn remote(args: &Args, tools: &Tools, site: &Site, out: &mut String) -> Result<()> {
    let limit = args.rate_limit;
    let env = [("SNAPSHARP_API_KEY", API_KEY)];
    let mut runs = Vec::new();
    for run in 1..=args.runs(1) {
        let fake = FakeServer::start(
            FakeConfig::default()
                .key(API_KEY)
                .latency(Duration::from_millis(args.latency_ms))
                .rate_limit(fake_snapsharp::RateLimit {
                    requests: limit.requests,
                    per: limit.per,
                }),
        );
        site.write_config(&format!(
            "\n[og]\nbackend = \"snapsharp\"\n\n[snapsharp]\nbase_url = \"{}\"\nconcurrency = {}\nrate_limit = \"{limit}\"\n",
            fake.base_url(),
            args.concurrency,
        ))?;
        site.clean()?;
        eprintln!("bench_build: remote cold build {run}/{}", args.runs(1));
        let cold = tools.build(&site.dir, &env)?;
        let requests = fake.requests();
        let distinct: HashSet<String> = requests
            .iter()
            .map(|r| format!("{} {}", r.path, r.body))
            .collect();
        let rate = match (requests.first(), requests.last()) {
            (Some(first), Some(last)) if last.arrived > first.arrived => {
                Some((requests.len() - 1) as f64 / (last.arrived - first.arrived).as_secs_f64())
            }
            _ => None,
        };
        let max_in_flight = fake.max_in_flight();
        let cards_written = snapshot(&site.output().join("og")).len();
        eprintln!("bench_build: remote no-op build {run}/{}", args.runs(1));
        let noop = tools.build(&site.dir, &env)?;
        runs.push(RemoteRun {
            noop_requests: fake.count() - requests.len(),
            cold,
            requests: requests.len(),
            distinct: distinct.len(),
            max_in_flight,
            rate,
            cards_written,
            noop,
        });
    }

    let posts = args.posts as f64;
    let latency = Duration::from_millis(args.latency_ms);
    let ideal = latency.mul_f64(posts / args.concurrency as f64);
    let rate_floor = limit.interval().mul_f64(posts - 1.0);
    let unit = limit.to_string();
    let unit = unit
        .split_once('/')
        .map_or("s", |(_, unit)| unit)
        .to_string();
    let per = limit.per.as_secs_f64();

    let heads: Vec<String> = (1..=runs.len()).map(|i| format!("run {i}")).collect();
    let _ = writeln!(out, "| figure | {} |", heads.join(" | "));
    let _ = writeln!(out, "|---|{}", "---:|".repeat(runs.len()));
    let mut figure = |name: &str, value: &dyn Fn(&RemoteRun) -> String| {
        let values: Vec<String> = runs.iter().map(value).collect();
        let _ = writeln!(out, "| {name} | {} |", values.join(" | "));
    };
    figure("cold build, wall", &|r| seconds(r.cold.wall));
    figure(
        &format!(
            "ideal: N × latency ÷ concurrency = {} × {} ms ÷ {}",
            args.posts, args.latency_ms, args.concurrency
        ),
        &|_| seconds(ideal),
    );
    figure("wall ÷ ideal", &|r| {
        format!("{:.2}", r.cold.wall.as_secs_f64() / ideal.as_secs_f64())
    });
    figure(&format!("rate-limit floor: (N − 1) ÷ {limit}"), &|_| {
        seconds(rate_floor)
    });
    figure("wall ÷ the larger of the two", &|r| {
        let bound = ideal.max(rate_floor).as_secs_f64();
        format!("{:.2}", r.cold.wall.as_secs_f64() / bound)
    });
    figure("requests the fake saw", &|r| r.requests.to_string());
    figure("distinct cards requested", &|r| r.distinct.to_string());
    figure("429s and other retries (requests − distinct)", &|r| {
        (r.requests - r.distinct).to_string()
    });
    figure(
        &format!("max in flight (concurrency {})", args.concurrency),
        &|r| r.max_in_flight.to_string(),
    );
    figure(
        &format!("sustained rate: (requests − 1) ÷ (last − first arrival); limit {limit}"),
        &|r| {
            r.rate.map_or("n/a".into(), |x| match unit.as_str() {
                "s" => format!("{x:.2}/s"),
                _ => format!("{x:.2}/s = {:.1}/{unit}", x * per),
            })
        },
    );
    figure("card files in `public/og/`", &|r| {
        r.cards_written.to_string()
    });
    figure("CPU (user + system)", &|r| {
        r.cold.cpu.map_or("n/a".into(), seconds)
    });
    figure("peak RSS", &|r| {
        r.cold.peak_rss_kib.map_or("n/a".into(), mib)
    });
    figure("exit code", &|r| r.cold.exit_code.to_string());
    figure("no-op rebuild after it: wall, requests", &|r| {
        format!("{}, {}", seconds(r.noop.wall), r.noop_requests)
    });
    for (i, run) in runs.iter().enumerate() {
        let _ = writeln!(
            out,
            "\n- ogforge on run {} (cold): `{}`",
            i + 1,
            run.cold.summary
        );
        let _ = writeln!(
            out,
            "- ogforge on run {} (no-op): `{}`",
            i + 1,
            run.noop.summary
        );
    }
    Ok(())
}

/// The facts that make a result comparable: what ran, on what, over what.
fn header(args: &Args, site: &Site, tools: &Tools, load: &str) -> String {
    let mut out = String::new();
    let mode = if args.remote {
        ", remote (fake SnapSharp)".to_string()
    } else if let Some(url) = &args.cache {
        format!(", shared cache at {url}")
    } else {
        String::new()
    };
    let _ = writeln!(out, "### ogforge whole build, {} posts{mode}\n", args.posts);
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| command | `{}` |", command_line());
    let stale = if older_than_sources(&tools.ogforge) {
        " (**the binary is older than `src/`**)"
    } else {
        ""
    };
    let _ = writeln!(out, "| commit | {}{stale} |", commit());
    let _ = writeln!(out, "| machine | {} |", machine());
    let _ = writeln!(out, "| 1-minute load average | {load} |");
    let _ = writeln!(
        out,
        "| blog | {} posts, {} of Markdown, in `{}` |",
        site.posts.len(),
        megabytes(site.bytes),
        site.dir.display()
    );
    let rss = match &tools.time {
        Some(time) => format!(
            "`{} -f '%M %U %S'`; CPU: median of the runs, RSS: largest",
            time.display()
        ),
        None => format!("n/a: no {GNU_TIME}"),
    };
    let _ = writeln!(out, "| CPU time, peak RSS | {rss} |\n");
    out
}

/// The command that reproduces this run, quoted for a POSIX shell.
fn command_line() -> String {
    let mut line = "cargo run --release --example bench_build".to_string();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.is_empty() {
        line.push_str(" --");
    }
    for arg in args {
        let plain = !arg.is_empty()
            && arg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+".contains(c));
        if plain {
            let _ = write!(line, " {arg}");
        } else {
            let _ = write!(line, " '{}'", arg.replace('\'', r"'\''"));
        }
    }
    line
}

fn commit() -> String {
    let git = |args: &[&str]| {
        let output = Command::new("git")
            .arg("-C")
            .arg(env!("CARGO_MANIFEST_DIR"))
            .args(args)
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
    };
    match (
        git(&["rev-parse", "--short", "HEAD"]),
        git(&["status", "--porcelain", "--untracked-files=no"]),
    ) {
        (Some(head), Some(status)) if status.is_empty() => format!("`{head}`"),
        (Some(head), _) => format!("`{head}` + uncommitted changes"),
        (None, _) => "n/a".into(),
    }
}

/// `2 × Intel(R) Xeon(R) Processor, 23.6 GiB RAM`, from /proc where it exists.
fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name")?.split_once(':'))
        .map_or("unknown CPU", |(_, model)| model.trim());
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or("unknown RAM".into(), |kib| {
            format!("{:.1} GiB RAM", kib as f64 / (1024.0 * 1024.0))
        });
    format!("{cpus} × {model}, {memory}, {}", std::env::consts::OS)
}

/// The 1-minute load average: other work on the machine skews every figure.
fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| Some(text.split_whitespace().next()?.to_string()))
        .unwrap_or_else(|| "n/a".into())
}

fn row(out: &mut String, step: &str, times: &[Duration], cpu: &str, rss: &str) {
    let min = times.iter().min().copied().unwrap_or_default();
    let _ = writeln!(
        out,
        "| {step} | {} | {} | {} | {cpu} | {rss} |",
        times.len(),
        seconds(min),
        seconds(median(times))
    );
}

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    match sorted.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
    }
}

fn seconds(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{:.1} ms", d.as_secs_f64() * 1000.0)
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}
