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

#[cfg(test)]
mod tests {
    use super::*;

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
