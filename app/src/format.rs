//! Human-readable figures shared by every view.

/// Bytes as the UI shows them: decimal units as Hugging Face and CivitAI print them,
/// one decimal from GB up ("23.8 GB", "512 MB").
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    match unit {
        0 => format!("{n} B"),
        1 | 2 => format!("{value:.0} {}", UNITS[unit]),
        _ => format!("{value:.1} {}", UNITS[unit]),
    }
}

/// A transfer rate with one decimal: "12.3 MB/s".
pub fn speed(bytes_per_sec: u64) -> String {
    const UNITS: [&str; 4] = ["B/s", "KB/s", "MB/s", "GB/s"];
    if bytes_per_sec == 0 {
        return "–".into();
    }
    let mut value = bytes_per_sec as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes_per_sec} B/s")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Time left: "42 s", "3 min 05 s", "1 h 02 min".
pub fn eta(seconds: Option<u64>) -> String {
    match seconds {
        None => "–".into(),
        Some(s) if s < 60 => format!("{s} s"),
        Some(s) if s < 3600 => format!("{} min {:02} s", s / 60, s % 60),
        Some(s) => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}

/// Percent done, 0 to 100, for progress bars.
pub fn percent(done: u64, total: Option<u64>) -> f64 {
    match total {
        Some(t) if t > 0 => (done as f64 * 100.0 / t as f64).clamp(0.0, 100.0),
        _ => 0.0,
    }
}

/// A query string from pairs, skipping empty values: `[("tab","installed")]` -> `?tab=installed`.
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    let encoded: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    if encoded.is_empty() {
        String::new()
    } else {
        format!("?{}", encoded.join("&"))
    }
}

/// Percent-encoding of a query value (RFC 3986 unreserved characters stay).
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A rate limit as the settings show it: "none" for 0, else a speed ("200.0 MB/s").
pub fn rate_limit(bytes_per_sec: u64) -> String {
    match bytes_per_sec {
        0 => "none".into(),
        n => speed(n),
    }
}

/// A rate limit typed by a person: "none", "0" or empty for no limit; else a number with a
/// unit, decimal as the UI prints them ("200 MB/s", "1.5 GB", "800k") or binary ("64 MiB/s").
pub fn parse_rate(text: &str) -> Result<u64, String> {
    let text = text.trim().to_ascii_lowercase();
    let text = text.strip_suffix("/s").unwrap_or(&text).trim();
    if matches!(text, "" | "none" | "0" | "unlimited") {
        return Ok(0);
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("“{text}” is not a rate: write e.g. 200 MB/s, or none"))?;
    let scale: f64 = match unit.trim() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "unknown unit “{other}”: use KB, MB or GB (per second)"
            ))
        }
    };
    Ok((number * scale).round() as u64)
}

/// A count as a person reads it at a glance: "950", "1.2k", "3.4M".
pub fn compact(n: u64) -> String {
    match n {
        0..=999 => n.to_string(),
        1_000..=999_999 => format!("{:.1}k", n as f64 / 1e3).replace(".0k", "k"),
        _ => format!("{:.1}M", n as f64 / 1e6).replace(".0M", "M"),
    }
}

/// "1 model", "3 models", "0 models".
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// An RFC 3339 timestamp ("2026-11-28T07:35:12.5Z") as a person reads it: "28 Nov 2026, 07:35
/// UTC". Anything else is shown as it came.
pub fn date(rfc3339: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let parsed = (|| {
        let (day, time) = rfc3339.split_once('T')?;
        let mut ymd = day.splitn(3, '-');
        let (y, m, d) = (ymd.next()?, ymd.next()?, ymd.next()?);
        let month = MONTHS.get(m.parse::<usize>().ok()?.checked_sub(1)?)?;
        let day: u32 = d.parse().ok()?;
        let hm = time
            .get(..5)
            .filter(|t| t.as_bytes().get(2) == Some(&b':'))?;
        let utc = time.ends_with('Z') || time.ends_with("+00:00");
        Some(format!(
            "{day} {month} {y}, {hm}{}",
            if utc { " UTC" } else { "" }
        ))
    })();
    parsed.unwrap_or_else(|| rfc3339.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_are_read_as_people_write_them() {
        assert_eq!(parse_rate("200 MB/s"), Ok(200_000_000));
        assert_eq!(parse_rate("1.5GB"), Ok(1_500_000_000));
        assert_eq!(parse_rate(" 800 kb/s "), Ok(800_000));
        assert_eq!(parse_rate("64 MiB/s"), Ok(64 << 20));
        assert_eq!(parse_rate("none"), Ok(0));
        assert_eq!(parse_rate(""), Ok(0));
        assert_eq!(parse_rate("123456"), Ok(123_456));
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("20 TB/s").unwrap_err().contains("“tb”"));
        assert_eq!(rate_limit(0), "none");
        assert_eq!(rate_limit(200_000_000), "200.0 MB/s");
        assert_eq!(parse_rate(&rate_limit(200_000_000)), Ok(200_000_000));
    }

    #[test]
    fn speeds_etas_and_percent() {
        assert_eq!(speed(0), "–");
        assert_eq!(speed(12_345_678), "12.3 MB/s");
        assert_eq!(speed(1_500), "1.5 KB/s");
        assert_eq!(speed(2_500_000_000), "2.5 GB/s");
        assert_eq!(eta(None), "–");
        assert_eq!(eta(Some(42)), "42 s");
        assert_eq!(eta(Some(185)), "3 min 05 s");
        assert_eq!(eta(Some(3720)), "1 h 02 min");
        assert_eq!(percent(50, Some(200)), 25.0);
        assert_eq!(percent(5, None), 0.0);
        assert_eq!(percent(500, Some(200)), 100.0);
    }

    #[test]
    fn query_strings_skip_empty_values_and_encode() {
        assert_eq!(
            query_string(&[("tab", "installed"), ("q", "")]),
            "?tab=installed"
        );
        assert_eq!(query_string(&[("q", "flux dev&x")]), "?q=flux%20dev%26x");
        assert_eq!(query_string(&[("q", "")]), "");
    }

    #[test]
    fn counts_and_dates_read_like_english() {
        assert_eq!(count(1, "model"), "1 model");
        assert_eq!(count(0, "model"), "0 models");
        assert_eq!(count(15, "model"), "15 models");
        assert_eq!(date("2026-11-28T07:35:12.123Z"), "28 Nov 2026, 07:35 UTC");
        assert_eq!(date("2026-01-02T23:05:00+00:00"), "2 Jan 2026, 23:05 UTC");
        assert_eq!(date("2026-13-02T23:05:00Z"), "2026-13-02T23:05:00Z");
        assert_eq!(date("yesterday"), "yesterday");
    }

    #[test]
    fn counts_read_at_a_glance() {
        assert_eq!(compact(950), "950");
        assert_eq!(compact(1_000), "1k");
        assert_eq!(compact(1_234), "1.2k");
        assert_eq!(compact(3_400_000), "3.4M");
    }

    #[test]
    fn sizes_read_like_a_person_writes_them() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(335_304_388), "335 MB");
        assert_eq!(bytes(23_802_932_552), "23.8 GB");
        assert_eq!(bytes(6_938_078_334), "6.9 GB");
        assert_eq!(bytes(64_446_596_128), "64.4 GB");
    }
}
