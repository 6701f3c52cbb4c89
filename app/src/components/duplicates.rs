use leptos::{prelude::*, task::spawn_local};

use crate::{
    domain::{DedupeResult, DuplicateGroup},
    format,
    server_fns::scan::dedupe_files,
};

/// Installed files that are copies of each other, the space hard links save, and
/// "Deduplicate".
#[component]
pub fn Duplicates(groups: Vec<DuplicateGroup>, saved: u64) -> impl IntoView {
    let busy = RwSignal::new(false);
    let result = RwSignal::new(None::<Result<DedupeResult, String>>);
    // Updated in place: refetching the list would replace this component and its report.
    let reclaimable = RwSignal::new(groups.iter().map(|g| g.reclaimable_bytes).sum::<u64>());
    let shown = !groups.is_empty() || saved > 0;
    let saved = RwSignal::new(saved);
    let dedupe = move |_| {
        busy.set(true);
        spawn_local(async move {
            let answer = dedupe_files().await.map_err(|e| e.message);
            if let Ok(r) = &answer {
                saved.update(|s| *s += r.bytes_saved);
                reclaimable.set(0);
            }
            result.set(Some(answer));
            busy.set(false);
        });
    };
    shown.then(|| {
        view! {
            <section class="duplicates" aria-labelledby="duplicates-title">
                <h2 id="duplicates-title">"Duplicates"</h2>
                {move || (saved.get() > 0).then(|| view! {
                    <p class="duplicates__saved"><strong>{format::bytes(saved.get())}</strong>" saved by hard links"</p>
                })}
                <ul class="duplicates__groups">
                    {groups.into_iter().map(|g| view! {
                        <li>
                            {format!("{} identical files of {} (sha256 {}…)", g.paths.len(), format::bytes(g.size_bytes), &g.sha256[..12.min(g.sha256.len())])}
                            <ul>{g.paths.into_iter().map(|p| view! { <li><code>{p}</code></li> }).collect_view()}</ul>
                        </li>
                    }).collect_view()}
                </ul>
                {move || (reclaimable.get() > 0).then(|| view! {
                    <button type="button" class="btn" on:click=dedupe disabled=move || busy.get()>
                        {format!("Deduplicate (frees up to {})", format::bytes(reclaimable.get()))}
                    </button>
                })}
                {move || result.get().map(|r| match r {
                    Ok(r) => view! { <DedupeReport r /> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                })}
            </section>
        }
        .into_any()
    })
}

#[component]
fn DedupeReport(r: DedupeResult) -> impl IntoView {
    view! {
        <div class="duplicates__result" role="status">
            <p>{format!("Saved {} ({} files replaced by hard links)", format::bytes(r.bytes_saved), r.linked.len())}</p>
            <ul class="warnings">
                {r.skipped.into_iter().map(|s| view! { <li><code>{s.path}</code>": "{s.reason}</li> }).collect_view()}
            </ul>
        </div>
    }
}
