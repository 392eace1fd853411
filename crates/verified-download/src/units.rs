//! Sizes and rates for people: one formatter for every message, narration
//! and CLI line that shows a byte count.

use std::time::Duration;

/// `512 B`, `1.5 KiB`, `12.0 MiB`, `1.0 GiB` (binary units, one decimal).
///
/// ```
/// use verified_download::units::human_bytes;
/// assert_eq!(human_bytes(512), "512 B");
/// assert_eq!(human_bytes(3 << 29), "1.5 GiB");
/// ```
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = UNITS[0];
    for u in &UNITS[1..] {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    format!("{v:.1} {unit}")
}

/// Throughput in MB/s (10^6 bytes per second); 0 for no elapsed time.
pub fn mb_per_s(bytes: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs <= 0.0 {
        0.0
    } else {
        bytes as f64 / 1e6 / secs
    }
}

/// Parse a size for people: bytes (`1000`), or a number with a unit.
/// `K`, `M`, `G`, `T` and `KiB` … `TiB` are binary (1024), as `du -h`
/// and [`human_bytes`] count; `KB` … `TB` are decimal (1000). Case is
/// ignored; a fraction is allowed (`1.5G`).
///
/// ```
/// use verified_download::units::parse_size;
/// assert_eq!(parse_size("1000"), Ok(1000));
/// assert_eq!(parse_size("500MiB"), Ok(500 << 20));
/// assert_eq!(parse_size("50G"), Ok(50 << 30));
/// assert_eq!(parse_size("2GB"), Ok(2_000_000_000));
/// assert_eq!(parse_size("1.5k"), Ok(1536));
/// assert!(parse_size("12 parsecs").is_err());
/// ```
pub fn parse_size(text: &str) -> Result<u64, String> {
    let (number, unit) = split_number(text);
    let factor: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        _ => {
            return Err(format!(
                "{text:?} is not a size: write bytes, or a number with K, M, G, T (binary), KiB…TiB or KB…TB"
            ));
        }
    };
    scale(text, number, factor as f64)
}

/// Parse an age for people: a number with `s`, `m`, `h`, `d` or `w`
/// (`30d`, `12h`, `90m`).
///
/// ```
/// use std::time::Duration;
/// use verified_download::units::parse_age;
/// assert_eq!(parse_age("30d"), Ok(Duration::from_secs(30 * 86_400)));
/// assert_eq!(parse_age("12h"), Ok(Duration::from_secs(12 * 3_600)));
/// assert!(parse_age("30").is_err(), "a unit is required");
/// ```
pub fn parse_age(text: &str) -> Result<Duration, String> {
    let (number, unit) = split_number(text);
    let seconds: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => {
            return Err(format!(
                "{text:?} is not an age: write a number with s, m, h, d or w (e.g. 30d)"
            ));
        }
    };
    scale(text, number, seconds as f64).map(Duration::from_secs)
}

/// `"1.5GiB"` → (`"1.5"`, `"GiB"`), surrounding blanks ignored.
fn split_number(text: &str) -> (&str, &str) {
    let text = text.trim();
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    (&text[..end], text[end..].trim())
}

fn scale(text: &str, number: &str, factor: f64) -> Result<u64, String> {
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?}: {number:?} is not a number"))?;
    let scaled = (value * factor).round();
    if !scaled.is_finite() || scaled < 0.0 || scaled > u64::MAX as f64 {
        return Err(format!("{text:?} is too large"));
    }
    Ok(scaled as u64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn human_bytes_picks_a_readable_unit() {
        assert_eq!(super::human_bytes(0), "0 B");
        assert_eq!(super::human_bytes(1023), "1023 B");
        assert_eq!(super::human_bytes(1536), "1.5 KiB");
        assert_eq!(super::human_bytes(1 << 30), "1.0 GiB");
        assert_eq!(super::human_bytes(u64::MAX), "16384.0 PiB");
    }
}
