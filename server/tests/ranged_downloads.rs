//! Large files fetched as parallel ranges, over real HTTP against the fake hub and CDN (which
//! honours closed ranges and counts every body byte it sends): verified end to end, servers
//! without Range, a dropped range, an expired signed link, a file that changes mid-download,
//! and the global rate limit.

mod common;
mod fakes;

use std::time::{Duration, Instant};

use common::api::Api;
use fakes::hub::{self, FakeFile, Hub};
use serde_json::{json, Value};

const KEY: &str =
    "hf/ostris/zimage_turbo_training_adapter/zimage_turbo_training_adapter_v2.safetensors";
const MODEL: &str = "zimage-turbo-training-adapter";
const INSTALLED: &str =
    "adapter/zimage-turbo-training-adapter/zimage_turbo_training_adapter_v2.safetensors";
/// Bytes per ranged request in these tests: files of 4 of them or more go ranged.
const PIECE: usize = 256 << 10;

struct Env {
    hub: Hub,
    server: common::TestServer,
    api: Api,
}

async fn env(extra: &[(&str, &str)]) -> Env {
    let hub = hub::start().await;
    let piece = PIECE.to_string();
    let mut vars = vec![
        ("HF_ENDPOINT", hub.base.as_str()),
        ("MODELS_DOWNLOAD_RETRY_BASE_MS", "50"),
        ("MODELS_DOWNLOAD_STALL_SECS", "3"),
        ("MODELS_MIN_FREE_BYTES", "0"),
        ("MODELS_DOWNLOAD_CONNECTIONS", "4"),
        ("MODELS_DOWNLOAD_RANGE_BYTES", piece.as_str()),
    ];
    vars.extend_from_slice(extra);
    let server = common::start(&vars).await;
    let api = server.api();
    Env { hub, server, api }
}

impl Env {
    async fn start(&self) -> String {
        self.api.start(MODEL).await
    }

    async fn wait(&self, id: &str, until: impl Fn(&Value) -> bool) -> Value {
        self.api.wait(id, Duration::from_secs(10), until).await
    }

    async fn finished(&self, id: &str) -> Value {
        self.api.finished(id).await
    }

    fn installed(&self) -> Vec<u8> {
        std::fs::read(self.server.models_dir.join(INSTALLED)).unwrap()
    }

    /// The `bytes=a-b` ranges the CDN was asked for, as (a, b).
    fn closed_ranges(&self) -> Vec<(u64, u64)> {
        self.hub
            .seen()
            .iter()
            .filter_map(|s| {
                let (a, b) = s.range.as_ref()?.strip_prefix("bytes=")?.split_once('-')?;
                Some((a.parse().ok()?, b.parse().ok()?))
            })
            .collect()
    }
}

fn downloaded(j: &Value) -> u64 {
    j["bytesDownloaded"].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn a_large_file_arrives_as_parallel_ranges_and_is_verified() {
    let env = env(&[]).await;
    let bytes = hub::safetensors(4 << 20, 40);
    env.hub.put(KEY, FakeFile::new(bytes.clone()));
    let id = env.start().await;
    let job = env.finished(&id).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(env.installed(), bytes);
    let ranges = env.closed_ranges();
    assert!(
        ranges.len() >= bytes.len() / PIECE,
        "one request per piece at least: {ranges:?}"
    );
    assert!(ranges.iter().all(|(a, b)| b - a < PIECE as u64));
    // A connection whose rest was stolen stops reading; what the server had already pushed
    // into the socket for it is the only waste (on loopback, up to the socket buffers).
    assert!(
        env.hub.served() <= (bytes.len() + bytes.len() / 4) as u64,
        "served {} for {} bytes",
        env.hub.served(),
        bytes.len()
    );
}

#[tokio::test]
async fn a_server_without_range_support_is_read_as_one_stream() {
    let env = env(&[]).await;
    let bytes = hub::safetensors(2 << 20, 41);
    env.hub.put(
        KEY,
        FakeFile {
            ignore_range: true,
            ..FakeFile::new(bytes.clone())
        },
    );
    let id = env.start().await;
    let job = env.finished(&id).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(env.installed(), bytes);
    let seen = env.hub.seen();
    assert!(seen.iter().all(|s| s.status == 200), "{seen:?}");
    assert!(
        seen.last().unwrap().range.is_none(),
        "the last request is one plain GET: {seen:?}"
    );
}

#[tokio::test]
async fn a_dropped_range_connection_retries_only_that_range() {
    let env = env(&[]).await;
    let bytes = hub::safetensors(4 << 20, 42);
    env.hub.put(
        KEY,
        FakeFile {
            // The first request's connection dies after 200 000 bytes.
            drop_after: Some(200_000),
            throttle: Some(Duration::from_millis(2)),
            ..FakeFile::new(bytes.clone())
        },
    );
    let id = env.start().await;
    let job = env.finished(&id).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(env.installed(), bytes);
    let ranges = env.closed_ranges();
    let (first, last) = ranges[0];
    assert!(
        ranges.iter().any(|(a, _)| *a > first && *a <= last),
        "the dropped range resumed where it broke: {ranges:?}"
    );
    assert_eq!(
        ranges.iter().filter(|(a, _)| *a == first).count(),
        1,
        "the dropped range was not fetched again from its start: {ranges:?}"
    );
    assert!(
        env.hub.served() <= (bytes.len() + PIECE) as u64,
        "served {} for {} bytes: more than the dropped range was fetched again",
        env.hub.served(),
        bytes.len()
    );
}

#[tokio::test]
async fn an_expired_signed_link_is_resolved_again_and_the_ranges_are_kept() {
    let env = env(&[]).await;
    let bytes = hub::safetensors(4 << 20, 43);
    let size = bytes.len() as u64;
    env.hub.put(
        KEY,
        FakeFile {
            expiring_links: true,
            throttle: Some(Duration::from_millis(20)),
            ..FakeFile::new(bytes.clone())
        },
    );
    let id = env.start().await;
    env.wait(&id, |j| downloaded(j) > size / 3).await;
    env.hub.expire_links();
    env.hub.update(KEY, |f| f.throttle = None);
    let job = env.finished(&id).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(env.installed(), bytes);
    assert!(
        env.hub.seen().iter().any(|s| s.status == 403),
        "the old link was refused"
    );
    // Downloaded before the link expired: over a third; losing it would serve that again.
    assert!(
        env.hub.served() < size + size / 4,
        "served {} for {size} bytes: ranges were lost with the link",
        env.hub.served()
    );
}

#[tokio::test]
async fn a_file_that_changes_mid_download_starts_over_with_the_new_content() {
    let env = env(&[]).await;
    let old = hub::safetensors(4 << 20, 44);
    let new = hub::safetensors(4 << 20, 45);
    env.hub.put(
        KEY,
        FakeFile {
            throttle: Some(Duration::from_millis(20)),
            ..FakeFile::new(old.clone())
        },
    );
    let id = env.start().await;
    env.wait(&id, |j| downloaded(j) > (old.len() / 3) as u64)
        .await;
    env.hub.update(KEY, |f| {
        f.bytes = bytes::Bytes::from(new.clone());
        f.throttle = None;
    });
    let job = env.finished(&id).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(
        env.installed(),
        new,
        "not a mix of the old and the new file"
    );
}

#[tokio::test]
async fn the_global_rate_limit_holds_within_ten_percent() {
    let limit = 2u64 << 20;
    let env = env(&[("MODELS_DOWNLOAD_LIMIT", "2M")]).await;
    let bytes = hub::safetensors(8 << 20, 46);
    env.hub.put(KEY, FakeFile::new(bytes.clone()));
    let started = Instant::now();
    let id = env.start().await;
    let job = env.finished(&id).await;
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(job["status"], "completed", "{job}");
    let rate = bytes.len() as f64 / secs;
    assert!(
        (0.9..=1.1).contains(&(rate / limit as f64)),
        "{rate:.0} B/s with a limit of {limit} B/s"
    );
}

#[tokio::test]
async fn a_direct_link_of_unknown_size_is_sized_with_one_byte_then_fetched_in_ranges() {
    let env = env(&[("MODELS_ALLOW_PRIVATE_URLS", "true")]).await;
    let bytes = hub::safetensors(2 << 20, 47);
    env.hub
        .put("url/big.safetensors", FakeFile::new(bytes.clone()));
    let url = format!("{}/blob/url/big.safetensors", env.hub.cdn);
    let sha = FakeFile::new(bytes.clone()).sha();
    let model = env
        .api
        .add_custom(json!({"url": url, "type": "lora", "sha256": sha}))
        .await;
    let id = env.api.start(&model).await;
    let job = env.finished(&id).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(
        std::fs::read(env.server.models_dir.join("lora/big/big.safetensors")).unwrap(),
        bytes
    );
    let ranges = env.closed_ranges();
    assert_eq!(ranges[0], (0, 0), "the size was asked first: {ranges:?}");
    assert!(ranges.len() > bytes.len() / PIECE, "{ranges:?}");
    assert!(
        env.hub.served() <= (bytes.len() + bytes.len() / 4) as u64,
        "served {} for {} bytes",
        env.hub.served(),
        bytes.len()
    );
}

#[tokio::test]
async fn jobs_on_one_host_share_its_connections() {
    let env = env(&[("MODELS_DOWNLOAD_CONNECTIONS", "3")]).await;
    let throttle = Some(Duration::from_millis(10));
    for (key, seed) in [(KEY, 48), ("hf/acme/second/model.safetensors", 49)] {
        env.hub.put(
            key,
            FakeFile {
                throttle,
                ..FakeFile::new(hub::safetensors(2 << 20, seed))
            },
        );
    }
    let second = env
        .api
        .add_custom(json!({"name": "Second", "huggingfaceRepo": "acme/second", "huggingfaceFiles": ["model.safetensors"]}))
        .await;
    let first = env.start().await;
    let other = env.api.start(&second).await;
    for id in [first, other] {
        let job = env.finished(&id).await;
        assert_eq!(job["status"], "completed", "{job}");
    }
    assert_eq!(
        env.hub.max_in_flight(),
        3,
        "two jobs, one host, 3 connections"
    );
}
