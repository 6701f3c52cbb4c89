//! `/api/search` over real HTTP against the fake Hub and CivitAI: results, paging, the cache,
//! NSFW left out, a repo's files from the tree API, a CivitAI model's versions, and sites that
//! misbehave (429, 500, a slow answer, an unreachable host, hostile names). Then a result
//! added and downloaded through the ordinary routes.

mod common;
mod fakes;

use std::{
    sync::atomic::Ordering::SeqCst,
    time::{Duration, Instant},
};

use fakes::hub::{self, FakeFile, Hub};
use serde_json::{json, Value};

struct Env {
    hub: Hub,
    _civitai: Hub,
    server: common::TestServer,
    api: common::api::Api,
}

/// The fake Hub with `repos` (each one small weights file plus a README) and the fake CivitAI
/// on its own origin; the server has an HF token.
async fn env(repos: &[&str], extra: &[(&str, &str)]) -> Env {
    let hub = hub::start().await;
    for (i, repo) in repos.iter().enumerate() {
        hub.put(
            &format!("hf/{repo}/model.safetensors"),
            FakeFile::new(hub::safetensors(4096 + i * 100, i as u8)),
        );
        hub.put(
            &format!("hf/{repo}/README.md"),
            FakeFile::new(b"# hi".to_vec()),
        );
    }
    // CivitAI on its own origin, with its download endpoint and CDN.
    let file = FakeFile::new(hub::safetensors(8192, 42));
    let civitai = hub::start_with(fakes::civitai_with_sha(&file.sha().to_uppercase())).await;
    civitai.put("civitai/5001", file);
    let mut vars = vec![
        ("HF_ENDPOINT", hub.base.as_str()),
        ("HF_TOKEN", hub::GOOD_TOKEN),
        ("CIVITAI_ENDPOINT", civitai.base.as_str()),
    ];
    vars.extend_from_slice(extra);
    let server = common::start(&vars).await;
    let api = server.api();
    Env {
        hub,
        _civitai: civitai,
        server,
        api,
    }
}

fn ids(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_hub_is_searched_sorted_paged_and_cached_with_the_token_on_its_own_origin() {
    let repos: Vec<String> = (0..23).map(|i| format!("acme/ink-lora-{i:02}")).collect();
    let mut names: Vec<&str> = repos.iter().map(String::as_str).collect();
    names.push("acme/other-model");
    let env = env(&names, &[]).await;

    let (status, first) = env
        .api
        .get("/api/search?source=hf&q=ink&sort=downloads")
        .await;
    assert_eq!(status, 200, "{first}");
    let results = first["results"].as_array().unwrap();
    assert_eq!(results.len(), 20, "a page of 20");
    let downloads: Vec<u64> = results
        .iter()
        .map(|r| r["downloads"].as_u64().unwrap())
        .collect();
    assert!(downloads.windows(2).all(|w| w[0] >= w[1]), "{downloads:?}");
    let r = &results[0];
    assert_eq!(r["source"], "hf");
    assert_eq!(r["type"], "lora");
    assert_eq!(r["license"], "apache-2.0");
    assert_eq!(r["gated"], false);
    assert!(r["pageUrl"].as_str().unwrap().starts_with(&env.hub.base));

    let cursor = first["nextCursor"]
        .as_str()
        .expect("a next page")
        .to_string();
    let (status, second) = env
        .api
        .get(&format!(
            "/api/search?source=hf&q=ink&sort=downloads&cursor={cursor}"
        ))
        .await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["results"].as_array().unwrap().len(), 3);
    assert!(second["nextCursor"].is_null());
    let mut all = ids(&first);
    all.extend(ids(&second));
    all.sort();
    assert_eq!(all, repos, "every repo once, none other");

    let asked = env.hub.state.searches.load(SeqCst);
    let (_, again) = env
        .api
        .get("/api/search?source=hf&q=ink&sort=downloads")
        .await;
    assert_eq!(again, first);
    assert_eq!(
        env.hub.state.searches.load(SeqCst),
        asked,
        "answered from the cache"
    );

    let auth = env.hub.state.search_auth.lock().unwrap().clone();
    assert!(
        !auth.is_empty()
            && auth
                .iter()
                .all(|a| a == &format!("Bearer {}", hub::GOOD_TOKEN))
    );

    // A repo the Hub files under text-to-image, without the lora tag, is a base model.
    let (_, other) = env.api.get("/api/search?source=hf&q=other").await;
    assert_eq!(other["results"][0]["type"], "base_model", "{other}");

    // Filters: type and base model.
    let (_, none) = env.api.get("/api/search?source=hf&q=other&type=lora").await;
    assert_eq!(ids(&none), Vec::<String>::new());
    let (status, vae) = env.api.get("/api/search?source=hf&q=x&type=vae").await;
    assert_eq!(status, 400);
    assert_eq!(vae["error"]["field"], "type");
}

#[tokio::test]
async fn civitai_is_searched_without_nsfw_and_with_safe_previews() {
    let env = env(&[], &[]).await;
    let (status, page) = env.api.get("/api/search?source=civitai&q=ink").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(ids(&page), ["5000"], "the NSFW model is left out");
    assert_eq!(page["hiddenNsfw"], 1);
    let r = &page["results"][0];
    assert_eq!(r["name"], "Ink Sketch");
    assert_eq!(r["type"], "lora");
    assert_eq!(r["baseModel"], "Flux.1 D");
    assert_eq!(r["author"], "fakeuser");
    assert_eq!(r["likes"], 500);
    let preview = r["previewUrl"].as_str().unwrap();
    assert!(
        preview.ends_with("/img/5000.png"),
        "the PG image, not the first: {preview}"
    );
    let image = reqwest::get(preview).await.unwrap();
    assert_eq!(image.headers()["content-type"], "image/png");

    let (_, checkpoints) = env
        .api
        .get("/api/search?source=civitai&type=base_model")
        .await;
    assert_eq!(ids(&checkpoints), ["6000"]);
    let (_, sdxl) = env
        .api
        .get("/api/search?source=civitai&baseModel=SDXL%201.0")
        .await;
    assert_eq!(ids(&sdxl), ["6000"]);
    let (_, newest) = env.api.get("/api/search?source=civitai&sort=newest").await;
    assert_eq!(ids(&newest), ["6000", "5000", "4384"]);

    let (status, model) = env.api.get("/api/search/civitai/4384").await;
    assert_eq!(status, 200, "{model}");
    let versions: Vec<u64> = model["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [128713, 100]);
    assert_eq!(model["type"], "lora");
    let (status, dark) = env.api.get("/api/search/civitai/6660").await;
    assert_eq!(status, 404, "{dark}");
    assert!(dark["error"]["message"].as_str().unwrap().contains("NSFW"));
    assert_eq!(env.api.get("/api/search/civitai/99999").await.0, 404);
    assert_eq!(env.api.get("/api/search/civitai/abc").await.0, 400);
}

#[tokio::test]
async fn misbehaving_sites_are_explained_and_not_cached() {
    let env = env(
        &["acme/slowtree-model"],
        &[("MODELS_SEARCH_TIMEOUT_SECS", "1")],
    )
    .await;
    for source in ["hf", "civitai"] {
        let (status, limited) = env
            .api
            .get(&format!("/api/search?source={source}&q=ratelimited"))
            .await;
        assert_eq!(status, 502, "{limited}");
        let message = limited["error"]["message"].as_str().unwrap();
        assert!(message.contains("rate limiting"), "{message}");

        let (status, broken) = env
            .api
            .get(&format!("/api/search?source={source}&q=broken"))
            .await;
        assert_eq!(status, 502);
        let message = broken["error"]["message"].as_str().unwrap();
        assert!(message.contains("failing (it answered 500)"), "{message}");

        let started = Instant::now();
        let (status, slow) = env
            .api
            .get(&format!("/api/search?source={source}&q=slow"))
            .await;
        assert_eq!(status, 502);
        assert!(started.elapsed() < Duration::from_millis(2500));
        let message = slow["error"]["message"].as_str().unwrap();
        assert!(message.contains("did not answer within 1 s"), "{message}");
    }
    let asked = env.hub.state.searches.load(SeqCst);
    env.api.get("/api/search?source=hf&q=broken").await;
    assert_eq!(
        env.hub.state.searches.load(SeqCst),
        asked + 1,
        "errors are asked again"
    );

    let (status, slow) = env
        .api
        .get("/api/search/hf/files?repo=acme/slowtree-model")
        .await;
    assert_eq!(status, 502, "{slow}");

    let gone = common::start(&[("HF_ENDPOINT", "http://127.0.0.1:9")]).await;
    let (status, down) = gone.api().get("/api/search?source=hf&q=flux").await;
    assert_eq!(status, 502);
    let message = down["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("Hugging Face: cannot connect"),
        "{message}"
    );

    for (query, field) in [
        ("source=hf&q=a%E2%80%AEb", "q"),
        ("source=hf&baseModel=SD%209", "baseModel"),
        ("source=hf&cursor=a%20b", "cursor"),
    ] {
        let (status, bad) = env.api.get(&format!("/api/search?{query}")).await;
        assert_eq!(status, 400, "{query}: {bad}");
        assert_eq!(bad["error"]["field"], field, "{query}");
    }
    assert_eq!(env.api.get("/api/search?source=bing").await.0, 400);
}

#[tokio::test]
async fn hostile_names_are_cleaned_or_left_out() {
    let env = env(&["acme/hostile-tree"], &[]).await;
    let (status, page) = env.api.get("/api/search?source=hf&q=hostile").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        ids(&page),
        ["acme/hostile-tree", "acme/hostile-author"],
        "a path is not a repo id"
    );
    let author = page["results"][1]["author"].as_str().unwrap();
    assert!(!author.contains('\u{202E}'), "{author}");
    assert_eq!(
        page["results"][1]["license"], "<b>mit</b>",
        "kept as text, shown as text"
    );

    let (status, files) = env
        .api
        .get("/api/search/hf/files?repo=acme/hostile-tree")
        .await;
    assert_eq!(status, 200, "{files}");
    let paths: Vec<&str> = files["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["README.md", "model.safetensors"],
        "no path leaves the repo"
    );

    let (_, civitai) = env.api.get("/api/search?source=civitai&q=hostile").await;
    let evil = civitai["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "7000")
        .unwrap();
    assert!(!evil["name"].as_str().unwrap().contains('\u{202E}'));
    assert!(evil["previewUrl"].is_null(), "a script link is no image");
}

#[tokio::test]
async fn a_repos_files_come_from_every_tree_page_with_sizes_and_the_weights_picked() {
    let env = env(&[], &[]).await;
    let weights = FakeFile::new(hub::safetensors(64 << 10, 1));
    let sha = weights.sha();
    env.hub.put("hf/acme/ink-lora/ink.safetensors", weights);
    env.hub.put(
        "hf/acme/ink-lora/ink-small.safetensors",
        FakeFile::new(hub::safetensors(1024, 2)),
    );
    env.hub.put(
        "hf/acme/ink-lora/samples/big.safetensors",
        FakeFile::new(hub::safetensors(128 << 10, 3)),
    );
    env.hub.put(
        "hf/acme/ink-lora/README.md",
        FakeFile::new(b"# ink".to_vec()),
    );

    let (status, files) = env.api.get("/api/search/hf/files?repo=acme/ink-lora").await;
    assert_eq!(status, 200, "{files}");
    assert_eq!(files["revision"], "main");
    let list = files["files"].as_array().unwrap();
    assert_eq!(list.len(), 4, "every page of the listing: {files}");
    let ink = list
        .iter()
        .find(|f| f["path"] == "ink.safetensors")
        .unwrap();
    assert_eq!(ink["sha256"], sha.as_str());
    assert_eq!(
        ink["sizeBytes"].as_u64(),
        Some(hub::safetensors(64 << 10, 1).len() as u64)
    );
    let picked: Vec<&str> = list
        .iter()
        .filter(|f| f["preselected"] == true)
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(picked, ["ink.safetensors"]);
    let listed = env.hub.state.trees.load(SeqCst);
    env.api.get("/api/search/hf/files?repo=acme/ink-lora").await;
    assert_eq!(env.hub.state.trees.load(SeqCst), listed, "cached");

    let (status, missing) = env.api.get("/api/search/hf/files?repo=acme/nothing").await;
    assert_eq!(status, 404, "{missing}");
    assert!(missing["error"]["message"]
        .as_str()
        .unwrap()
        .contains("no repo acme/nothing"));
    let (status, rev) = env
        .api
        .get("/api/search/hf/files?repo=acme/ink-lora&revision=dev")
        .await;
    assert_eq!(status, 404);
    assert!(rev["error"]["message"]
        .as_str()
        .unwrap()
        .contains("no revision dev"));
    let (status, bad) = env.api.get("/api/search/hf/files?repo=../x").await;
    assert_eq!(status, 400);
    assert_eq!(bad["error"]["field"], "repo");
}

#[tokio::test]
async fn results_are_added_and_downloaded_through_the_ordinary_routes() {
    let env = env(&["acme/ink-flux-lora"], &[]).await;
    env.hub.gate("acme/ink-flux-lora");
    let (_, page) = env.api.get("/api/search?source=hf&q=ink-flux").await;
    let result = &page["results"][0];
    assert_eq!(result["gated"], true, "{page}");
    assert_eq!(result["baseModel"], "black-forest-labs/FLUX.1-dev");

    let (_, files) = env
        .api
        .get("/api/search/hf/files?repo=acme/ink-flux-lora")
        .await;
    let picked: Vec<Value> = files["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["preselected"] == true)
        .map(|f| f["path"].clone())
        .collect();
    let id = env
        .api
        .add_custom(json!({
            "huggingfaceRepo": "acme/ink-flux-lora", "huggingfaceFiles": picked,
            "name": "ink-flux-lora", "type": "lora", "family": "flux",
        }))
        .await;
    let job = env
        .api
        .start_with(json!({"modelId": id, "huggingfaceToken": hub::GOOD_TOKEN}))
        .await;
    let done = env.api.finished(&job).await;
    assert_eq!(done["status"], "completed", "{done}");

    let (_, model) = env.api.get("/api/search/civitai/5000").await;
    let version = model["versions"][0]["id"].as_u64().unwrap();
    let link = format!("https://civitai.com/models/5000?modelVersionId={version}");
    let id = env.api.add_custom(json!({ "civitaiUrl": link })).await;
    let installed = env.api.install(&id).await;
    assert!(!installed.is_empty());
    let _ = &env.server;
}

#[tokio::test]
async fn a_tree_that_pages_forever_is_refused_after_fifty_pages_not_followed_without_end() {
    let env = env(&["acme/endless-tree"], &[]).await;
    let (status, body) = env
        .api
        .get("/api/search/hf/files?repo=acme/endless-tree")
        .await;
    assert_eq!(status, 502, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("more than 50 pages"), "{message}");
}
