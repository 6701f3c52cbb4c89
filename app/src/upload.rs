//! Browser upload with a real progress bar: `XMLHttpRequest` to `POST /api/models/upload`
//! (fetch has no upload progress). Only the browser build does anything.

use crate::domain::{AppError, Uploaded};

/// The answer of the upload route: the installed record (and whether the same file was
/// already installed), or the route's error.
pub fn parse_answer(status: u16, body: &str) -> Result<Uploaded, AppError> {
    #[derive(serde::Deserialize)]
    struct Err {
        error: AppError,
    }
    if (200..300).contains(&status) {
        serde_json::from_str::<Uploaded>(body)
            .map_err(|e| AppError::internal(format!("unexpected answer: {e}")))
    } else {
        Result::Err(
            serde_json::from_str::<Err>(body)
                .map(|e| e.error)
                .unwrap_or_else(|_| AppError::internal(format!("the upload failed ({status})"))),
        )
    }
}

#[cfg(target_arch = "wasm32")]
pub fn upload(
    file: web_sys::File,
    fields: Vec<(&'static str, String)>,
    on_progress: impl Fn(f64) + 'static,
    on_done: impl FnOnce(Result<Uploaded, AppError>) + 'static,
) {
    use wasm_bindgen::{closure::Closure, JsCast};
    let fail = |m: &str| AppError::internal(m.to_string());
    let Ok(xhr) = web_sys::XmlHttpRequest::new() else {
        return on_done(Err(fail("this browser cannot upload")));
    };
    let Ok(form) = web_sys::FormData::new() else {
        return on_done(Err(fail("this browser cannot upload")));
    };
    for (k, v) in fields {
        let _ = form.append_with_str(k, &v);
    }
    let _ = form.append_with_blob_and_filename("file", &file, &file.name());
    let _ = xhr.open("POST", "/api/models/upload");
    if let Ok(target) = xhr.upload() {
        let progress =
            Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
                if e.length_computable() && e.total() > 0.0 {
                    on_progress(e.loaded() / e.total() * 100.0);
                }
            });
        target.set_onprogress(Some(progress.as_ref().unchecked_ref()));
        progress.forget();
    }
    let done = std::rc::Rc::new(std::cell::RefCell::new(Some(on_done)));
    let finish = {
        let xhr = xhr.clone();
        let done = done.clone();
        Closure::<dyn FnMut()>::new(move || {
            if let Some(cb) = done.borrow_mut().take() {
                let status = xhr.status().unwrap_or(0);
                let body = xhr.response_text().ok().flatten().unwrap_or_default();
                cb(if status == 0 {
                    Err(AppError::internal("the connection to the server was lost"))
                } else {
                    parse_answer(status, &body)
                });
            }
        })
    };
    xhr.set_onloadend(Some(finish.as_ref().unchecked_ref()));
    finish.forget();
    if xhr.send_with_opt_form_data(Some(&form)).is_err() {
        if let Some(cb) = done.borrow_mut().take() {
            cb(Err(fail("the upload could not start")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_says_when_the_same_file_was_already_installed() {
        let model = r#"{"id":"upload-1","sourceModelId":null,"name":"a","family":"flux","type":"lora",
            "files":[],"totalSizeBytes":4,"installedAt":"","source":"upload"}"#;
        let plain = parse_answer(201, &format!(r#"{{"model":{model}}}"#)).unwrap();
        assert_eq!(
            (plain.model.name.as_str(), plain.already_installed),
            ("a", None)
        );
        let twice = parse_answer(
            201,
            &format!(r#"{{"model":{model},"alreadyInstalled":"already installed as b (lora/b.safetensors)"}}"#),
        )
        .unwrap();
        assert_eq!(
            twice.already_installed.as_deref(),
            Some("already installed as b (lora/b.safetensors)")
        );
    }

    #[test]
    fn errors_of_the_route_reach_the_form() {
        let err = parse_answer(
            415,
            r#"{"error":{"code":"unsupported_type","message":"not a model","field":"file"}}"#,
        )
        .unwrap_err();
        assert_eq!(err.message, "not a model");
        assert_eq!(err.field.as_deref(), Some("file"));
        assert!(parse_answer(502, "<html>")
            .unwrap_err()
            .message
            .contains("502"));
    }
}
