//! Client-side state shared by the page: download jobs (polled while any is active), a
//! version counter that makes model lists refetch after installs and deletes, and a watch of
//! the volume that brings in what other servers on it change.

use leptos::{prelude::*, task::spawn_local};

use crate::{
    browser,
    domain::{AppError, DownloadJob, DownloadRequest, JobStatus},
    panel::{self, Ending},
    server_fns::models::{download_jobs, start_download, watch_volume},
};

/// How often the page asks whether the volume changed (installs, deletions, custom models or
/// downloads made through another server on the same volume).
const WATCH_MS: u32 = 1500;

/// Waits `ms` milliseconds in the browser (never called on the server).
pub async fn sleep_ms(ms: u32) {
    #[cfg(target_arch = "wasm32")]
    gloo_timers::future::TimeoutFuture::new(ms).await;
    #[cfg(not(target_arch = "wasm32"))]
    let _ = ms;
}

/// Moves keyboard focus to the element with `id` (browser only), e.g. the tab panel after the
/// card that had focus was deleted.
pub fn focus_id(id: &str) {
    #[cfg(target_arch = "wasm32")]
    {
        use wasm_bindgen::JsCast;
        if let Some(el) = document()
            .get_element_by_id(id)
            .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = el.focus();
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = id;
}

/// Puts `text` on the clipboard (browser only); false when the browser refused.
pub async fn copy_text(text: String) -> bool {
    #[cfg(target_arch = "wasm32")]
    {
        let promise = window().navigator().clipboard().write_text(&text);
        wasm_bindgen_futures::JsFuture::from(promise).await.is_ok()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = text;
        false
    }
}

/// Whether the page is hydrated: false in the server's HTML, true once the WASM runs (effects
/// run only in the browser). Controls that need the WASM are disabled until then, so an early
/// click is never silently lost; with JavaScript off they stay disabled.
#[derive(Clone, Copy)]
pub struct Hydrated(RwSignal<bool>);

impl Hydrated {
    pub fn provide() -> Self {
        let this = Self(RwSignal::new(false));
        Effect::new(move || this.0.set(true));
        provide_context(this);
        this
    }

    pub fn get() -> Self {
        expect_context::<Self>()
    }

    /// Reactive: true once hydrated.
    pub fn yes(self) -> bool {
        self.0.get()
    }

    /// Reactive: true until hydrated (for `disabled=`).
    pub fn not_yet(self) -> bool {
        !self.0.get()
    }
}

/// Jobs as the server last reported them, and whether polling runs.
#[derive(Clone, Copy)]
pub struct Downloads {
    pub jobs: RwSignal<Vec<DownloadJob>>,
    polling: RwSignal<bool>,
    watching: RwSignal<bool>,
    /// Bumped when a job completes: model lists depend on it.
    pub version: RwSignal<u64>,
    /// Downloads that completed or failed while the page was open, newest last, until
    /// dismissed or cleared.
    pub notices: RwSignal<Vec<Ending>>,
}

impl Downloads {
    pub fn provide() -> Self {
        let this = Self {
            jobs: RwSignal::new(Vec::new()),
            polling: RwSignal::new(false),
            watching: RwSignal::new(false),
            version: RwSignal::new(0),
            notices: RwSignal::new(Vec::new()),
        };
        provide_context(this);
        // Effects run in the browser only: the server renders without watching.
        Effect::new(move || this.watch());
        this
    }

    pub fn get() -> Self {
        expect_context::<Self>()
    }

    /// The newest job for `model_id`.
    pub fn job_for(&self, model_id: &str) -> Option<DownloadJob> {
        self.jobs
            .with(|jobs| jobs.iter().find(|j| j.model_id == model_id).cloned())
    }

    /// Makes model lists refetch.
    pub fn changed(&self) {
        self.version.update(|v| *v += 1);
    }

    /// Keeps `value` (first rendered by the server) current in the browser: each later
    /// database change fetches it again with `fetch`, and the views that read it update in
    /// place instead of being made anew. A failed fetch keeps the last value; the next change
    /// asks again.
    pub fn follow<T, F, Fut>(self, value: RwSignal<T>, fetch: F)
    where
        T: Send + Sync + 'static,
        F: Fn() -> Fut + 'static,
        Fut: std::future::Future<Output = Result<T, AppError>> + 'static,
    {
        Effect::new(move |seen: Option<u64>| {
            let version = self.version.get();
            if seen.is_some_and(|seen| seen != version) {
                let fetching = fetch();
                spawn_local(async move {
                    if let Ok(latest) = fetching.await {
                        value.set(latest);
                    }
                });
            }
            version
        });
    }

    /// Downloads `model_id` again (an installed copy whose files are missing or damaged: the
    /// server replaces it), then shows the job and refreshes the lists. The message of why it
    /// could not start, if so.
    pub async fn download_again(self, model_id: String) -> Result<(), String> {
        let request = DownloadRequest {
            model_id,
            ..DownloadRequest::default()
        };
        start_download(request).await.map_err(|e| e.message)?;
        self.poll();
        self.changed();
        Ok(())
    }

    /// Every `WATCH_MS` for as long as the page is open: model lists refetch when the database
    /// changed (whichever server wrote it), and the jobs are polled when any runs on the volume.
    pub fn watch(self) {
        if self.watching.get_untracked() {
            return;
        }
        self.watching.set(true);
        spawn_local(async move {
            let mut generation: Option<String> = None;
            loop {
                if let Ok(state) = watch_volume().await {
                    // The first answer also refetches: the page was rendered before it, and a
                    // change in between would otherwise go unseen.
                    if generation.as_ref() != Some(&state.generation) {
                        self.changed();
                    }
                    generation = Some(state.generation);
                    if state.downloading {
                        self.poll();
                    }
                }
                sleep_ms(WATCH_MS).await;
            }
        });
    }

    /// Tells the user about downloads that ended: in the page, and as a system notification
    /// when they allowed it.
    fn announce(self, ended: Vec<Ending>) {
        for ending in &ended {
            let title = if ending.ok {
                "Download complete"
            } else {
                "Download failed"
            };
            browser::notify(title, &ending.text);
        }
        if !ended.is_empty() {
            self.notices.update(|all| {
                all.retain(|n| !ended.iter().any(|e| e.job_id == n.job_id));
                all.extend(ended);
            });
        }
    }

    /// Fetches the jobs now, and keeps polling every second while any is queued, downloading
    /// or verifying; polling stops by itself when none is.
    pub fn poll(self) {
        if self.polling.get_untracked() {
            return;
        }
        self.polling.set(true);
        spawn_local(async move {
            loop {
                if let Ok(jobs) = download_jobs().await {
                    let ended = self.jobs.with_untracked(|old| panel::endings(old, &jobs));
                    let running = jobs.iter().any(|j| {
                        matches!(
                            j.status,
                            JobStatus::Queued | JobStatus::Downloading | JobStatus::Verifying
                        )
                    });
                    self.jobs.set(jobs);
                    if ended.iter().any(|e| e.ok) {
                        self.changed();
                    }
                    self.announce(ended);
                    if !running {
                        break;
                    }
                }
                sleep_ms(1000).await;
            }
            self.polling.set(false);
        });
    }
}
