//! Trigger words from a LoRA's own metadata: `modelspec.trigger_phrase` (SAI ModelSpec,
//! SwarmUI), else the most frequent tags of kohya's `ss_tag_frequency` (ai-toolkit writes
//! `{"1_<trigger>": {"<trigger>": 1}}` there).

use std::collections::BTreeMap;

/// At most this many words from tag frequencies: the top of a caption vocabulary.
const MOST_FREQUENT: usize = 5;

/// The trigger words `metadata` states, most important first; empty when it states none.
pub fn trigger_words(metadata: &BTreeMap<String, String>) -> Vec<String> {
    let explicit = ["modelspec.trigger_phrase", "trigger_phrase"]
        .iter()
        .find_map(|k| metadata.get(*k).map(|v| v.trim()).filter(|v| !v.is_empty()));
    if let Some(phrase) = explicit {
        return split(phrase);
    }
    metadata
        .get("ss_tag_frequency")
        .map(|json| from_tag_frequency(json))
        .unwrap_or_default()
}

fn split(phrase: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in phrase.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        if !out.iter().any(|w| w == word) {
            out.push(word.to_string());
        }
    }
    out
}

/// Tags summed over every dataset folder, most frequent first (ties by name).
fn from_tag_frequency(json: &str) -> Vec<String> {
    let Ok(folders) = serde_json::from_str::<BTreeMap<String, BTreeMap<String, f64>>>(json) else {
        return Vec::new();
    };
    let mut counts: BTreeMap<&str, f64> = BTreeMap::new();
    for tags in folders.values() {
        for (tag, count) in tags {
            let tag = tag.trim();
            if !tag.is_empty() {
                *counts.entry(tag).or_default() += count;
            }
        }
    }
    let mut sorted: Vec<(&str, f64)> = counts.into_iter().collect();
    sorted.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    sorted
        .into_iter()
        .take(MOST_FREQUENT)
        .map(|(t, _)| t.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_explicit_phrase_wins() {
        let m = meta(&[
            ("modelspec.trigger_phrase", "ohwx man, ohwx man , portrait"),
            ("ss_tag_frequency", r#"{"1_x": {"x": 9}}"#),
        ]);
        assert_eq!(trigger_words(&m), ["ohwx man", "portrait"]);
    }

    #[test]
    fn tag_frequencies_are_summed_over_folders() {
        let ai_toolkit = meta(&[("ss_tag_frequency", r#"{"1_sks dog": {"sks dog": 1}}"#)]);
        assert_eq!(trigger_words(&ai_toolkit), ["sks dog"]);
        let kohya = meta(&[(
            "ss_tag_frequency",
            r#"{"10_ohwx": {"ohwx": 20, "smile": 3, "outdoors": 5}, "5_reg": {"smile": 4, "b": 1, "c": 1, "d": 1}}"#,
        )]);
        assert_eq!(
            trigger_words(&kohya),
            ["ohwx", "smile", "outdoors", "b", "c"]
        );
        assert!(trigger_words(&meta(&[("ss_tag_frequency", "not json")])).is_empty());
        assert!(trigger_words(&meta(&[])).is_empty());
    }
}
