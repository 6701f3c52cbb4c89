use leptos::{prelude::*, task::spawn_local};

use crate::{
    domain::{AppError, DownloadSettings, DownloadSettingsUpdate, MAX_CONCURRENT_JOBS},
    format,
    server_fns::downloads::{current_download_settings, update_download_settings},
};

use super::FieldError;

/// The downloads panel's settings: the speed limit for all downloads ("200 MB/s", "none") and
/// how many run at once. Saved on the server (kept across restarts) and applied to running
/// downloads at once.
#[component]
pub fn DownloadSettingsForm() -> impl IntoView {
    let rate = RwSignal::new(String::new());
    let jobs = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let saved = RwSignal::new(false);
    let show = move |settings: DownloadSettings| {
        rate.set(format::rate_limit(settings.rate_limit_bytes_per_second));
        jobs.set(settings.max_concurrent_jobs.to_string());
    };
    // In the browser only: the panel itself appears after the first poll.
    Effect::new(move || {
        spawn_local(async move {
            match current_download_settings().await {
                Ok(settings) => show(settings),
                Err(e) => error.set(Some(e)),
            }
        });
    });
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        saved.set(false);
        let update = match read_form(&rate.get_untracked(), &jobs.get_untracked()) {
            Ok(update) => update,
            Err(e) => return error.set(Some(e)),
        };
        spawn_local(async move {
            match update_download_settings(update).await {
                Ok(settings) => {
                    show(settings);
                    error.set(None);
                    saved.set(true);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <details class="downloads__settings">
            <summary>"Settings"</summary>
            <form class="downloads__settings-form" on:submit=save>
                <div class="field">
                    <label for="download-rate">"Speed limit (all downloads)"</label>
                    <input id="download-rate" type="text" placeholder="none, or e.g. 200 MB/s"
                        prop:value=move || rate.get() on:input=move |ev| rate.set(event_target_value(&ev)) />
                    <FieldError error field="rateLimitBytesPerSecond" />
                </div>
                <div class="field">
                    <label for="download-jobs">"Downloads at once"</label>
                    <input id="download-jobs" type="number" min="1" max=MAX_CONCURRENT_JOBS.to_string()
                        prop:value=move || jobs.get() on:input=move |ev| jobs.set(event_target_value(&ev)) />
                    <FieldError error field="maxConcurrentJobs" />
                </div>
                <div class="form__actions">
                    <button type="submit" class="btn btn--small">"Save"</button>
                    {move || saved.get().then(|| view! { <span class="success" role="status">"Saved"</span> })}
                </div>
                {move || error.get().filter(|e| e.field.is_none()).map(|e| view! { <p class="field__error" role="alert">{e.message}</p> })}
            </form>
        </details>
    }
}

/// The two fields as a change to the settings, or an error about the field at fault.
fn read_form(rate: &str, jobs: &str) -> Result<DownloadSettingsUpdate, AppError> {
    let rate = format::parse_rate(rate)
        .map_err(|message| AppError::invalid("rateLimitBytesPerSecond", message))?;
    let jobs = jobs.trim().parse::<u32>().map_err(|_| {
        AppError::invalid(
            "maxConcurrentJobs",
            format!("downloads at once: a whole number from 1 to {MAX_CONCURRENT_JOBS}"),
        )
    })?;
    let update = DownloadSettingsUpdate {
        max_concurrent_jobs: Some(jobs),
        rate_limit_bytes_per_second: Some(rate),
        connections_per_file: None,
    };
    update.check()?;
    Ok(update)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_reads_as_a_change_or_names_the_field_at_fault() {
        let update = read_form("200 MB/s", "3").unwrap();
        assert_eq!(update.rate_limit_bytes_per_second, Some(200_000_000));
        assert_eq!(update.max_concurrent_jobs, Some(3));
        assert_eq!(update.connections_per_file, None);
        assert_eq!(
            read_form("none", "1").unwrap().rate_limit_bytes_per_second,
            Some(0)
        );
        let field = |rate, jobs| read_form(rate, jobs).unwrap_err().field.unwrap();
        assert_eq!(field("fast", "2"), "rateLimitBytesPerSecond");
        assert_eq!(field("1 KB/s", "2"), "rateLimitBytesPerSecond");
        assert_eq!(field("none", "two"), "maxConcurrentJobs");
        assert_eq!(field("none", "0"), "maxConcurrentJobs");
    }
}
