//! Where the shared cache lives: `[cache] url` (or `OGFORGE_CACHE_URL`) read into a
//! store of the `object_store` crate and the prefix inside it.
//!
//! Credentials, region and endpoint come from each service's usual variables
//! (`AWS_ACCESS_KEY_ID`, `AWS_REGION`, `AWS_ENDPOINT_URL`, `GOOGLE_SERVICE_ACCOUNT`,
//! `AZURE_STORAGE_ACCOUNT_NAME`...), read by `object_store`'s own `from_env`. Plain
//! http is refused unless the endpoint is on this machine (MinIO or a test server on
//! loopback) or `AWS_ALLOW_HTTP=true` says so: a cache over plain http lets anyone on
//! the path change cards.

use std::sync::Arc;
use std::time::Duration;

use object_store::ObjectStore;
use object_store::path::Path as StorePath;

/// The environment variable that overrides `[cache] url`; set and empty turns the
/// cache off.
pub const URL_ENV: &str = "OGFORGE_CACHE_URL";

/// A parsed cache URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub scheme: Scheme,
    /// The bucket or container; for `file://`, the folder.
    pub bucket: String,
    /// Inside the bucket, every object's name starts with it (may be empty).
    pub prefix: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    S3,
    Gcs,
    Azure,
    File,
}

const HINT: &str = "write it as s3://bucket/prefix, gs://bucket/prefix, az://container/prefix or file:///absolute/folder";

impl Location {
    /// Reads `url`; errors say what is wrong with it, in words for `key` (the config key
    /// or the variable it came from).
    pub fn parse(url: &str) -> Result<Location, String> {
        let bad = |why: &str| format!("`{url}` is not a cache URL: {why}\n  hint: {HINT}");
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| bad("it has no scheme"))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "s3" | "s3a" => Scheme::S3,
            "gs" => Scheme::Gcs,
            "az" | "azure" => Scheme::Azure,
            "file" => Scheme::File,
            other => {
                return Err(bad(&format!(
                    "`{other}://` is not one of the stores ogforge knows"
                )));
            }
        };
        if rest.contains(['?', '#', '@']) {
            return Err(bad(
                "it has a query, a fragment or credentials; credentials belong in the environment",
            ));
        }
        if scheme == Scheme::File {
            if !rest.starts_with('/') {
                return Err(bad(
                    "a file:// URL needs an absolute folder, file:///like/this",
                ));
            }
            let folder = rest.trim_end_matches('/');
            if folder.split('/').any(|c| c == "..") {
                return Err(bad("it climbs with `..`"));
            }
            return Ok(Location {
                scheme,
                bucket: if folder.is_empty() {
                    "/".into()
                } else {
                    folder.into()
                },
                prefix: String::new(),
            });
        }
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad("it names no bucket"));
        }
        let prefix = prefix.trim_matches('/');
        if !prefix.is_empty() {
            StorePath::parse(prefix)
                .map_err(|_| bad("its prefix has an empty, `.` or `..` part"))?;
        }
        Ok(Location {
            scheme,
            bucket: bucket.into(),
            prefix: prefix.into(),
        })
    }

    /// The prefix as the store's path.
    pub fn root(&self) -> StorePath {
        StorePath::from(self.prefix.as_str())
    }

    /// Opens the store. Nothing is asked of the network here; a wrong credential shows
    /// at the first request.
    pub fn open(&self, timeout: Duration) -> Result<Arc<dyn ObjectStore>, String> {
        use object_store::{BackoffConfig, ClientConfigKey, RetryConfig};
        // Few, quick retries: a cache that does not answer soon is worth less than the
        // build's time, and the asset is made here instead.
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(1),
                base: 2.0,
            },
            max_retries: 2,
            retry_timeout: timeout,
        };
        let secs = format!("{}s", timeout.as_secs().max(1));
        let connect = format!("{}s", timeout.as_secs().clamp(1, 5));
        let failed = |e: object_store::Error| format!("could not open the shared cache: {e}");
        Ok(match self.scheme {
            Scheme::S3 => {
                use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
                let endpoint = std::env::var("AWS_ENDPOINT_URL").ok();
                let allow_http = allow_http(endpoint.as_deref())?;
                Arc::new(
                    AmazonS3Builder::from_env()
                        .with_bucket_name(&self.bucket)
                        .with_allow_http(allow_http)
                        .with_retry(retry)
                        .with_config(AmazonS3ConfigKey::Client(ClientConfigKey::Timeout), &secs)
                        .with_config(
                            AmazonS3ConfigKey::Client(ClientConfigKey::ConnectTimeout),
                            &connect,
                        )
                        .build()
                        .map_err(failed)?,
                )
            }
            Scheme::Gcs => {
                use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
                Arc::new(
                    GoogleCloudStorageBuilder::from_env()
                        .with_bucket_name(&self.bucket)
                        .with_retry(retry)
                        .with_config(GoogleConfigKey::Client(ClientConfigKey::Timeout), &secs)
                        .with_config(
                            GoogleConfigKey::Client(ClientConfigKey::ConnectTimeout),
                            &connect,
                        )
                        .build()
                        .map_err(failed)?,
                )
            }
            Scheme::Azure => {
                use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
                Arc::new(
                    MicrosoftAzureBuilder::from_env()
                        .with_container_name(&self.bucket)
                        .with_retry(retry)
                        .with_config(AzureConfigKey::Client(ClientConfigKey::Timeout), &secs)
                        .with_config(
                            AzureConfigKey::Client(ClientConfigKey::ConnectTimeout),
                            &connect,
                        )
                        .build()
                        .map_err(failed)?,
                )
            }
            Scheme::File => {
                let folder = std::path::Path::new(&self.bucket);
                std::fs::create_dir_all(folder).map_err(|e| {
                    format!(
                        "could not create the cache folder {}: {e}",
                        folder.display()
                    )
                })?;
                Arc::new(
                    object_store::local::LocalFileSystem::new_with_prefix(folder)
                        .map_err(failed)?,
                )
            }
        })
    }
}

impl std::fmt::Display for Location {
    /// The URL as messages show it (it never holds a secret: those are refused).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = match self.scheme {
            Scheme::S3 => "s3",
            Scheme::Gcs => "gs",
            Scheme::Azure => "az",
            Scheme::File => "file",
        };
        if self.scheme == Scheme::File {
            return write!(f, "file://{}", self.bucket);
        }
        write!(f, "{scheme}://{}", self.bucket)?;
        if !self.prefix.is_empty() {
            write!(f, "/{}", self.prefix)?;
        }
        Ok(())
    }
}

/// Whether an S3 endpoint may be plain http: on loopback, or when `AWS_ALLOW_HTTP` says so.
fn allow_http(endpoint: Option<&str>) -> Result<bool, String> {
    let Some(endpoint) = endpoint else {
        return Ok(false);
    };
    let url = url::Url::parse(endpoint)
        .map_err(|e| format!("`AWS_ENDPOINT_URL` is `{endpoint}`, not a URL: {e}"))?;
    if url.scheme() != "http" {
        return Ok(false);
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    let allowed = std::env::var("AWS_ALLOW_HTTP").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    if loopback || allowed {
        Ok(true)
    } else {
        Err(format!(
            "`AWS_ENDPOINT_URL` is plain http (`{endpoint}`): anyone on the way could change cards\n  hint: use https, or set AWS_ALLOW_HTTP=true if the network is yours"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_of_every_store() {
        let cases = [
            ("s3://cards/blog/og", Scheme::S3, "cards", "blog/og"),
            ("s3://cards", Scheme::S3, "cards", ""),
            ("s3://cards/", Scheme::S3, "cards", ""),
            ("gs://b/p/", Scheme::Gcs, "b", "p"),
            ("az://container/x", Scheme::Azure, "container", "x"),
            ("file:///var/cache/og", Scheme::File, "/var/cache/og", ""),
        ];
        for (url, scheme, bucket, prefix) in cases {
            let l = Location::parse(url).unwrap();
            assert_eq!(
                (l.scheme, l.bucket.as_str(), l.prefix.as_str()),
                (scheme, bucket, prefix),
                "{url}"
            );
        }
        assert_eq!(
            Location::parse("s3://cards/blog/").unwrap().to_string(),
            "s3://cards/blog"
        );
    }

    #[test]
    fn bad_urls_say_why() {
        for (url, why) in [
            ("cards/blog", "no scheme"),
            ("http://example.com/cache", "not one of the stores"),
            ("s3:///prefix", "no bucket"),
            ("s3://key:secret@bucket/p", "credentials"),
            ("s3://bucket/p?x=1", "query"),
            ("s3://bucket/a/../b", "`..`"),
            ("s3://bucket/a//b", "empty"),
            ("file://relative/dir", "absolute"),
            ("file:///a/../etc", "`..`"),
        ] {
            let err = Location::parse(url).unwrap_err();
            assert!(err.contains(why), "{url}: {err}");
            assert!(err.contains("hint: "), "{url}: {err}");
        }
    }

    #[test]
    fn plain_http_only_on_loopback() {
        // The variable is read by `allow_http`; no test sets AWS_ALLOW_HTTP.
        assert_eq!(allow_http(None), Ok(false));
        assert_eq!(allow_http(Some("https://s3.example.com")), Ok(false));
        assert_eq!(allow_http(Some("http://127.0.0.1:9000")), Ok(true));
        assert_eq!(allow_http(Some("http://localhost:9000")), Ok(true));
        assert_eq!(allow_http(Some("http://[::1]:9000")), Ok(true));
        let err = allow_http(Some("http://minio.example.com")).unwrap_err();
        assert!(err.contains("AWS_ALLOW_HTTP"), "{err}");
    }
}
