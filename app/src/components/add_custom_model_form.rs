use leptos::{prelude::*, task::spawn_local};

use super::{described_by, wire_options, FieldError, RepoFileChoice};
use crate::{
    domain::{
        from_wire, to_wire, AddModelRequest, AppError, ModelFamily, ModelPreview, ModelType,
        SourceType,
    },
    format,
    paste::{parse_pasted, PasteError, Pasted},
    server_fns::models::{add_custom_model, preview_custom_model},
    state::{Downloads, Hydrated},
};

/// Splits "a, b\nc" into trimmed, non-empty items.
pub fn split_list(text: &str, separators: &[char]) -> Vec<String> {
    text.split(separators)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn opt(s: String) -> Option<String> {
    let t = s.trim().to_string();
    (!t.is_empty()).then_some(t)
}

/// Adds a custom model from Hugging Face, CivitAI, a direct link, or a local upload.
#[component]
pub fn AddCustomModelForm() -> impl IntoView {
    let downloads = Downloads::get();
    let hydrated = Hydrated::get();
    let source = RwSignal::new(SourceType::Huggingface);
    let name = RwSignal::new(String::new());
    let model_type = RwSignal::new(String::from("base_model"));
    let family = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let tags = RwSignal::new(String::new());
    let repo = RwSignal::new(String::new());
    let files = RwSignal::new(String::new());
    let revision = RwSignal::new(String::new());
    let hf_token = RwSignal::new(String::new());
    let civitai_url = RwSignal::new(String::new());
    let civitai_token = RwSignal::new(String::new());
    let url = RwSignal::new(String::new());
    let file_name = RwSignal::new(String::new());
    let sha256 = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let preview = RwSignal::new(None::<ModelPreview>);
    let saved = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let progress = RwSignal::new(None::<f64>);
    let file_input = NodeRef::<leptos::html::Input>::new();
    // "already installed as X": after Add, or after an upload whose sha256 was on the volume.
    let on_volume = RwSignal::new(None::<String>);
    // "a file of the same size is already installed as X": asked before an upload transfers.
    let same_size = RwSignal::new(None::<String>);
    let upload = Upload {
        file_input,
        name,
        model_type,
        family,
        progress,
        busy,
        error,
        saved,
        on_volume,
        same_size,
        downloads,
    };

    let request = move || {
        let mut r = AddModelRequest {
            name: opt(name.get_untracked()),
            model_type: from_wire(&model_type.get_untracked()),
            family: from_wire(&family.get_untracked()),
            source_type: Some(source.get_untracked()),
            description: opt(description.get_untracked()),
            tags: Some(split_list(&tags.get_untracked(), &[','])),
            ..Default::default()
        };
        match source.get_untracked() {
            SourceType::Huggingface => {
                r.huggingface_repo = opt(repo.get_untracked());
                r.huggingface_files = Some(split_list(&files.get_untracked(), &['\n', ',']));
                r.huggingface_revision = opt(revision.get_untracked());
                r.huggingface_token = opt(hf_token.get_untracked());
            }
            SourceType::Civitai => {
                r.civitai_url = opt(civitai_url.get_untracked());
                r.civitai_token = opt(civitai_token.get_untracked());
                // Type and family come from CivitAI unless chosen.
                if family.get_untracked().is_empty() {
                    r.model_type = None;
                }
            }
            SourceType::Url | SourceType::Upload | SourceType::Local => {
                r.url = opt(url.get_untracked());
                r.file_name = opt(file_name.get_untracked());
                r.sha256 = opt(sha256.get_untracked());
            }
        }
        r
    };

    // A link pasted (or typed) into Repository fills what it says: repo, revision and file or
    // folder; a CivitAI link switches the source.
    let on_repo = move |value: String| {
        error.set(None);
        match parse_pasted(&value) {
            Ok(Pasted::Huggingface {
                repo: r,
                revision: rev,
                file,
                folder,
            }) => {
                repo.set(r);
                if let Some(rev) = rev {
                    revision.set(rev);
                }
                if let Some(f) = file.or(folder.map(|d| format!("{d}/"))) {
                    files.set(f);
                }
            }
            Ok(Pasted::Civitai { url }) => {
                repo.set(String::new());
                civitai_url.set(url);
                source.set(SourceType::Civitai);
            }
            Err(PasteError::Unsupported(why)) => {
                repo.set(value);
                error.set(Some(AppError::invalid("huggingfaceRepo", why)));
            }
            Err(PasteError::NotALink) => repo.set(value),
        }
    };

    let check = move |_| {
        busy.set(true);
        error.set(None);
        preview.set(None);
        spawn_local(async move {
            match preview_custom_model(request()).await {
                Ok(p) => {
                    prefill(&p, name, model_type, family);
                    preview.set(Some(p));
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        error.set(None);
        saved.set(None);
        on_volume.set(None);
        same_size.set(None);
        if source.get_untracked() == SourceType::Upload {
            upload.check_then_send();
            return;
        }
        spawn_local(async move {
            match add_custom_model(request()).await {
                Ok(added) => {
                    saved.set(Some(format!(
                        "Added {}. Find it in the Available tab to download it.",
                        added.model.name
                    )));
                    on_volume.set(added.already_installed);
                    preview.set(None);
                    for field in [
                        name,
                        description,
                        tags,
                        repo,
                        files,
                        revision,
                        hf_token,
                        civitai_url,
                        civitai_token,
                        url,
                        file_name,
                        sha256,
                        family,
                    ] {
                        field.set(String::new());
                    }
                    model_type.set("base_model".into());
                    downloads.changed();
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };

    let general_error = move || {
        error
            .get()
            .filter(|e| {
                !matches!(
                    e.field.as_deref(),
                    Some(
                        "name"
                            | "huggingfaceRepo"
                            | "huggingfaceFiles"
                            | "huggingfaceRevision"
                            | "huggingfaceToken"
                            | "civitaiUrl"
                            | "civitaiToken"
                            | "url"
                            | "fileName"
                            | "sha256"
                            | "file"
                    )
                )
            })
            .map(|e| view! { <p class="error" role="alert">{e.message}</p> })
    };
    let source_radio = move |value: SourceType, label: &'static str| {
        view! {
            <label class="segmented__item">
                <input type="radio" name="source" checked=move || source.get() == value
                    on:change=move |_| { source.set(value); error.set(None); preview.set(None); on_volume.set(None); same_size.set(None); } />
                <span>{label}</span>
            </label>
        }
    };
    let text = move |id: &'static str,
                     label: &'static str,
                     signal: RwSignal<String>,
                     placeholder: &'static str,
                     field: &'static str| {
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <input id=id type="text" placeholder=placeholder prop:value=move || signal.get()
                    aria-describedby=described_by(error, field)
                    on:input=move |ev| signal.set(event_target_value(&ev)) />
                <FieldError error field=field />
            </div>
        }
    };
    let secret = move |id: &'static str,
                       label: &'static str,
                       signal: RwSignal<String>,
                       field: &'static str| {
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <input id=id type="password" autocomplete="off" placeholder="optional; used once, never stored"
                    aria-describedby=described_by(error, field) prop:value=move || signal.get() on:input=move |ev| signal.set(event_target_value(&ev)) />
                <FieldError error field=field />
            </div>
        }
    };

    view! {
        <form class="form" on:submit=submit novalidate>
            <fieldset class="segmented">
                <legend>"Source"</legend>
                {source_radio(SourceType::Huggingface, "Hugging Face")}
                {source_radio(SourceType::Civitai, "CivitAI")}
                {source_radio(SourceType::Url, "Direct link")}
                {source_radio(SourceType::Upload, "Upload a file")}
            </fieldset>

            <Show when=move || source.get() == SourceType::Huggingface>
                <div class="field">
                    <label for="hf-repo">"Repository"</label>
                    <input id="hf-repo" type="text" placeholder="owner/model-name or a huggingface.co link"
                        prop:value=move || repo.get() aria-describedby=described_by(error, "huggingfaceRepo")
                        on:input=move |ev| on_repo(event_target_value(&ev)) />
                    <FieldError error field="huggingfaceRepo" />
                </div>
                <div class="field">
                    <label for="hf-files">"Files (one per line)"</label>
                    <textarea id="hf-files" rows="3" placeholder="model.safetensors" aria-describedby=described_by(error, "huggingfaceFiles") prop:value=move || files.get()
                        on:input=move |ev| files.set(event_target_value(&ev))></textarea>
                    <FieldError error field="huggingfaceFiles" />
                </div>
                <RepoFileChoice repo revision files error />
                {text("hf-revision", "Revision", revision, "main", "huggingfaceRevision")}
                {secret("hf-token", "Hugging Face token", hf_token, "huggingfaceToken")}
            </Show>
            <Show when=move || source.get() == SourceType::Civitai>
                {text("civitai-url", "CivitAI link", civitai_url, "https://civitai.com/models/4384?modelVersionId=128713", "civitaiUrl")}
                {secret("civitai-token", "CivitAI API key", civitai_token, "civitaiToken")}
            </Show>
            <Show when=move || source.get() == SourceType::Url>
                {text("direct-url", "Download link", url, "https://example.com/model.safetensors", "url")}
                {text("direct-name", "Save as", file_name, "taken from the link when empty", "fileName")}
                {text("direct-sha", "sha256 (optional)", sha256, "64 hex digits, checked after download", "sha256")}
            </Show>
            <Show when=move || source.get() == SourceType::Upload>
                <div class="field">
                    <label for="upload-file">"Model file (.safetensors, .gguf, .ckpt, .pt, .pth, .bin)"</label>
                    <input id="upload-file" type="file" node_ref=file_input aria-describedby=described_by(error, "file") accept=".safetensors,.gguf,.ckpt,.pt,.pth,.bin"
                        on:change=move |_| { same_size.set(None); on_volume.set(None); saved.set(None); } />
                    <FieldError error field="file" />
                </div>
                {move || same_size.get().map(|w| view! {
                    <div class="preview preview--warn upload-same-size" role="alert">
                        <p class="preview__warning">{w}". It may be the same file: uploading it again adds a second copy."</p>
                        <div class="form__actions">
                            <button type="button" class="btn" on:click=move |_| upload.send_anyway()>"Upload anyway"</button>
                            <button type="button" class="btn" on:click=move |_| same_size.set(None)>"Don't upload"</button>
                        </div>
                    </div>
                })}
                {move || progress.get().map(|p| view! {
                    <div class="upload-progress" role="status">
                        <div class="bar" role="progressbar" aria-valuenow=format!("{p:.0}") aria-valuemin="0" aria-valuemax="100">
                            <div class="bar__fill" style=format!("width:{p:.1}%")></div>
                        </div>
                        <span>{format!("Uploading… {p:.0}%")}</span>
                    </div>
                })}
            </Show>

            <div class="grid-2">
                {text("model-name", "Name", name, "shown in the list", "name")}
                <div class="field">
                    <label for="model-type">"Type"</label>
                    <select id="model-type" prop:value=move || model_type.get() on:change=move |ev| model_type.set(event_target_value(&ev))>
                        {wire_options(ModelType::label, model_type.into())}
                    </select>
                </div>
                <div class="field">
                    <label for="model-family">"Family"</label>
                    <select id="model-family" prop:value=move || family.get() on:change=move |ev| family.set(event_target_value(&ev))>
                        <option value="">"Detect / custom"</option>
                        {wire_options(ModelFamily::label, family.into())}
                    </select>
                </div>
                {text("model-tags", "Tags (comma-separated)", tags, "portrait, fine-tune", "tags")}
            </div>
            <Show when=move || source.get() != SourceType::Upload>
                <div class="field">
                    <label for="model-description">"Description"</label>
                    <textarea id="model-description" rows="2" prop:value=move || description.get()
                        on:input=move |ev| description.set(event_target_value(&ev))></textarea>
                </div>
            </Show>

            {move || preview.get().map(|p| view! {
                <div class=if p.warning.is_some() { "preview preview--warn" } else { "preview" } role="status">
                    {p.warning.clone().map(|w| view! { <p class="preview__warning"><strong>"Not checked: "</strong>{w}</p> })}
                    {p.already_installed.clone().map(|w| view! { <p class="preview__warning preview__on-volume">{w}</p> })}
                    <strong>{p.model.name.clone()}</strong>
                    <span>{format!(" · {} · {}", p.model.family.label(), p.model.model_type.label())}</span>
                    <p class="muted">{p.detail.clone()}</p>
                    <ul class="files">
                        {p.files.into_iter().map(|f| view! {
                            <li><code>{f.name}</code>" · "{f.size_bytes.map(format::bytes).unwrap_or_else(|| "size unknown".into())}
                                {f.sha256.map(|s| format!(" · sha256 {}…", &s[..12.min(s.len())]))}</li>
                        }).collect_view()}
                    </ul>
                </div>
            })}
            {general_error}
            {move || saved.get().map(|s| match source.get() {
                SourceType::Upload => view! { <p class="success" role="status">{s}" "<a href="/?tab=installed">"Open the Installed tab"</a></p> }.into_any(),
                _ => view! { <p class="success" role="status">{s}" "<a href="/?tab=available">"Open the Available tab"</a></p> }.into_any(),
            })}
            {move || on_volume.get().map(|w| view! {
                <p class="preview__warning preview__on-volume" role="status">{w}
                    {(source.get() == SourceType::Upload).then(|| view! { ". "<a href="/?tab=installed#duplicates-title">"See the duplicates"</a> })}
                </p>
            })}

            <div class="form__actions">
                <Show when=move || source.get() == SourceType::Civitai || source.get() == SourceType::Huggingface>
                    <button type="button" class="btn" on:click=check disabled=move || busy.get() || hydrated.not_yet()>"Check"</button>
                </Show>
                <button type="submit" class="btn btn--primary" disabled=move || busy.get() || hydrated.not_yet()>
                    {move || if source.get() == SourceType::Upload { "Upload" } else { "Add model" }}
                </button>
            </div>
        </form>
    }
}

/// What the source says fills the fields the user left alone, and type and family follow the
/// preview unless a family was chosen: the form never silently disagrees with the preview.
fn prefill(
    p: &ModelPreview,
    name: RwSignal<String>,
    model_type: RwSignal<String>,
    family: RwSignal<String>,
) {
    if name.get_untracked().trim().is_empty() {
        name.set(p.model.name.clone());
    }
    if family.get_untracked().is_empty() {
        model_type.set(to_wire(&p.model.model_type));
        family.set(to_wire(&p.model.family));
    }
}

/// The form's signals an upload reads and reports to.
#[derive(Clone, Copy)]
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
struct Upload {
    file_input: NodeRef<leptos::html::Input>,
    name: RwSignal<String>,
    model_type: RwSignal<String>,
    family: RwSignal<String>,
    progress: RwSignal<Option<f64>>,
    busy: RwSignal<bool>,
    error: RwSignal<Option<AppError>>,
    saved: RwSignal<Option<String>>,
    on_volume: RwSignal<Option<String>>,
    same_size: RwSignal<Option<String>>,
    downloads: Downloads,
}

impl Upload {
    /// Asks the server (name and size only) whether an installed file has the chosen file's
    /// size before sending it: if so the form warns and waits for "Upload anyway".
    fn check_then_send(self) {
        #[cfg(target_arch = "wasm32")]
        {
            let Some(file) = self.chosen() else { return };
            spawn_local(async move {
                let size = file.size() as u64;
                match crate::server_fns::models::check_upload(file.name(), size).await {
                    Ok(crate::domain::UploadCheck {
                        already_installed: Some(warning),
                    }) => {
                        self.same_size.set(Some(warning));
                        self.busy.set(false);
                    }
                    // A server that cannot tell does not stop the upload.
                    _ => self.send(file),
                }
            });
        }
        #[cfg(not(target_arch = "wasm32"))]
        self.send_anyway();
    }

    /// "Upload anyway", after the same-size warning.
    fn send_anyway(self) {
        self.same_size.set(None);
        self.busy.set(true);
        self.error.set(None);
        #[cfg(target_arch = "wasm32")]
        if let Some(file) = self.chosen() {
            self.send(file);
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            self.error
                .set(Some(AppError::invalid("file", "uploads need the browser")));
            self.busy.set(false);
        }
    }

    #[cfg(target_arch = "wasm32")]
    fn chosen(self) -> Option<web_sys::File> {
        let file = self
            .file_input
            .get_untracked()
            .and_then(|input| input.files())
            .and_then(|list| list.get(0));
        if file.is_none() {
            self.error
                .set(Some(AppError::invalid("file", "choose a file to upload")));
            self.busy.set(false);
        }
        file
    }

    #[cfg(target_arch = "wasm32")]
    fn send(self, file: web_sys::File) {
        let mut fields = vec![("type", self.model_type.get_untracked())];
        if let Some(n) = opt(self.name.get_untracked()) {
            fields.push(("name", n));
        }
        if let Some(f) = opt(self.family.get_untracked()) {
            fields.push(("family", f));
        }
        self.progress.set(Some(0.0));
        crate::upload::upload(
            file,
            fields,
            move |p| self.progress.set(Some(p)),
            move |result| {
                match result {
                    Ok(uploaded) => {
                        self.progress.set(Some(100.0));
                        self.saved.set(Some(format!(
                            "Uploaded and installed {} ({}).",
                            uploaded.model.name,
                            format::bytes(uploaded.model.total_size_bytes)
                        )));
                        self.on_volume.set(uploaded.already_installed);
                        self.downloads.changed();
                    }
                    Err(e) => {
                        self.progress.set(None);
                        self.error.set(Some(e));
                    }
                }
                self.busy.set(false);
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_split_on_separators_and_drop_blanks() {
        assert_eq!(
            split_list("a.safetensors\n\n b/c.json ,d", &['\n', ',']),
            ["a.safetensors", "b/c.json", "d"]
        );
        assert!(split_list("  ", &[',']).is_empty());
    }
}
