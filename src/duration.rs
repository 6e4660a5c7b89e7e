//! Durations as people write them — `500ms`, `30s`, `2m`, `1h30m`, or a bare number of
//! seconds — for `timeout=`, kb.toml `[verify] timeout` and `[serve] debounce`.
//!
//! Parsing is humantime's (overflow is an error there, not a panic); on top of it every use has
//! an upper bound, so a typo like `timeout=99999999h` is a `path:line` error with a hint instead
//! of a deadline no clock can represent (which panicked `kb check`, `kb build` and
//! `kb verify`).

use std::fmt;
use std::time::Duration;

/// The longest `timeout=` (and kb.toml `[verify] timeout`): one day.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// The longest `kb serve` debounce: past a minute an edit looks lost.
pub const MAX_DEBOUNCE: Duration = Duration::from_secs(60);

/// Why a duration was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DurationError {
    /// Not a duration at all (humantime's reason).
    Invalid { reason: String },
    /// `0s`: nothing could ever finish.
    Zero,
    /// Longer than the bound of its use.
    TooLong { max: Duration },
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurationError::Invalid { reason } => write!(f, "is not a duration ({reason})"),
            DurationError::Zero => f.write_str("is zero"),
            DurationError::TooLong { max } => {
                write!(f, "is longer than the limit of {}", human(*max))
            }
        }
    }
}

impl DurationError {
    /// What to write instead.
    pub fn hint(&self, example: &str) -> String {
        match self {
            DurationError::TooLong { max } => format!(
                "durations are at most {}; write e.g. `{example}`",
                human(*max)
            ),
            _ => format!(
                "write a number with a unit (ms, s, m, h; `1h30m` combines them), e.g. `{example}`"
            ),
        }
    }
}

/// Parse `text`, refusing zero and anything longer than `max`. A bare number is seconds.
pub fn parse(text: &str, max: Duration) -> Result<Duration, DurationError> {
    let text = text.trim();
    let parsed = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|e| e.to_string())
    } else {
        humantime::parse_duration(text).map_err(|e| e.to_string())
    };
    let d = parsed.map_err(|reason| DurationError::Invalid { reason })?;
    if d.is_zero() {
        Err(DurationError::Zero)
    } else if d > max {
        Err(DurationError::TooLong { max })
    } else {
        Ok(d)
    }
}

/// `24h`, `1m`, `90s`, `1500ms`: the largest unit that divides `d`, as a user would write it.
fn human(d: Duration) -> String {
    let (secs, ms) = (d.as_secs(), d.subsec_millis());
    match (secs, ms) {
        (s, 0) if s > 0 && s % 3600 == 0 => format!("{}h", s / 3600),
        (s, 0) if s > 0 && s % 60 == 0 => format!("{}m", s / 60),
        (s, 0) => format!("{s}s"),
        _ => format!("{}ms", d.as_millis()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_units_combinations_and_bare_seconds() {
        let ok = |s| parse(s, MAX_TIMEOUT).unwrap();
        assert_eq!(ok("500ms"), Duration::from_millis(500));
        assert_eq!(ok("2m"), Duration::from_secs(120));
        assert_eq!(ok("1m30s"), Duration::from_secs(90));
        assert_eq!(ok("15"), Duration::from_secs(15));
        assert_eq!(ok("24h"), MAX_TIMEOUT);
    }

    #[test]
    fn refuses_zero_words_and_values_past_the_bound_without_panicking() {
        assert_eq!(parse("0s", MAX_TIMEOUT), Err(DurationError::Zero));
        assert!(matches!(
            parse("soon", MAX_TIMEOUT),
            Err(DurationError::Invalid { .. })
        ));
        for huge in [
            "25h",
            "99999999999h",
            "18446744073709551615s",
            "184467440737095516150s",
            "99999999999999999999999999999999999h",
            "999999999999999999999",
        ] {
            let e = parse(huge, MAX_TIMEOUT).unwrap_err();
            assert!(
                matches!(
                    e,
                    DurationError::TooLong { .. } | DurationError::Invalid { .. }
                ),
                "{huge}: {e:?}"
            );
        }
        assert_eq!(
            parse("25h", MAX_TIMEOUT).unwrap_err().to_string(),
            "is longer than the limit of 24h"
        );
    }
}
