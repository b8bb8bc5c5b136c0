//! Fixture sites in temporary folders, and the `ogforge` program run over them.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::SystemTime;

use assert_cmd::Command;

pub const CONFIG: &str = "[site]\ntitle = \"Test Blog\"\nbase_url = \"https://blog.test\"\n";

/// A site folder in a temporary directory; the directory goes when it is dropped.
pub struct Site {
    pub tmp: tempfile::TempDir,
}

impl Site {
    /// A site with the minimal config and no posts.
    pub fn new() -> Site {
        let site = Site::empty();
        site.write("ogforge.toml", CONFIG);
        fs::create_dir_all(site.path("content")).unwrap();
        site
    }

    /// A folder with nothing in it.
    pub fn empty() -> Site {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir_all(tmp.path().join("site")).unwrap();
        Site { tmp }
    }

    /// A copy of the repository's example-site.
    pub fn example() -> Site {
        let site = Site::empty();
        copy_dir(&repo_path("example-site"), &site.root());
        let _ = fs::remove_dir_all(site.path("public"));
        let _ = fs::remove_dir_all(site.path(".ogforge"));
        site
    }

    /// The site folder; it sits one level inside the temporary directory, so tests can
    /// see whether anything was written beside it.
    pub fn root(&self) -> PathBuf {
        self.tmp.path().join("site")
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    pub fn write(&self, rel: &str, text: impl AsRef<[u8]>) -> &Site {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
        self
    }

    pub fn post(&self, name: &str, front: &str, body: &str) -> &Site {
        self.write(
            &format!("content/{name}"),
            format!("---\n{front}\n---\n{body}"),
        )
    }

    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.path(rel).exists()
    }

    /// Runs `ogforge ARGS` in the site folder, with no SnapSharp key in the environment.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_env(args, &[])
    }

    /// Runs `ogforge ARGS` with these environment variables set.
    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = Command::cargo_bin("ogforge").unwrap();
        cmd.args(args)
            .current_dir(self.root())
            .env_remove("SNAPSHARP_API_KEY");
        for (k, v) in env {
            cmd.env(k, v);
        }
        Run(cmd.output().unwrap())
    }

    pub fn build(&self) -> Run {
        self.run(&["build"])
    }

    /// Every file under the site's temporary directory, relative to it.
    pub fn all_files(&self) -> Vec<String> {
        let mut files = Vec::new();
        for e in walkdir::WalkDir::new(self.tmp.path()) {
            let e = e.unwrap();
            if e.file_type().is_file() {
                files.push(
                    e.path()
                        .strip_prefix(self.tmp.path())
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/"),
                );
            }
        }
        files.sort();
        files
    }

    /// Modification time of every file in the output folder.
    pub fn output_mtimes(&self) -> Vec<(String, SystemTime)> {
        let mut out = Vec::new();
        for e in walkdir::WalkDir::new(self.path("public")).sort_by_file_name() {
            let e = e.unwrap();
            if e.file_type().is_file() {
                out.push((
                    e.path().display().to_string(),
                    e.metadata().unwrap().modified().unwrap(),
                ));
            }
        }
        out
    }
}

/// The outcome of one run of the program.
pub struct Run(pub Output);

impl Run {
    pub fn code(&self) -> i32 {
        self.0.status.code().expect("exited normally")
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }

    /// Asserts the exit code, showing the output when it differs.
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(
            self.code(),
            code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
}

/// The Chromium the end-to-end tests (`--features e2e`) drive. Without one they fail with
/// how to install it: they must never pass by doing nothing.
pub fn require_chromium() -> PathBuf {
    ogforge::render::chromium::Chromium::find()
        .unwrap_or_else(|| panic!("{}", ogforge::render::chromium::NOT_FOUND))
}

pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

pub fn copy_dir(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.unwrap();
        let dest = to.join(e.path().strip_prefix(from).unwrap());
        if e.file_type().is_dir() {
            fs::create_dir_all(&dest).unwrap();
        } else {
            fs::copy(e.path(), &dest).unwrap();
        }
    }
}
