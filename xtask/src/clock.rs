//! The time as the xtask writes it: the names of snapshots and state copies, a plan's meta, RDS's
//! restore time, a calendar date.

use time::{Date, OffsetDateTime, UtcOffset};

/// `20261122T104500Z`, from the system clock.
pub fn utc_stamp() -> String {
    written(OffsetDateTime::now_utc(), "", "")
}

/// `2026-11-22T10:45:00Z` (RFC 3339, UTC), from the system clock.
pub fn utc_rfc3339() -> String {
    rfc3339(OffsetDateTime::now_utc())
}

/// `2026-11-22T10:45:00Z`: a time in UTC, to the second.
pub fn rfc3339(t: OffsetDateTime) -> String {
    written(t, "-", ":")
}

/// `2026-11-22`.
pub fn date(d: Date) -> String {
    date_written(d, "-")
}

fn written(t: OffsetDateTime, date_sep: &str, time_sep: &str) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    let (h, m, s) = (t.hour(), t.minute(), t.second());
    format!("{}T{h:02}{time_sep}{m:02}{time_sep}{s:02}Z", date_written(t.date(), date_sep))
}

fn date_written(d: Date, sep: &str) -> String {
    format!("{:04}{sep}{:02}{sep}{:02}", d.year(), u8::from(d.month()), d.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_in_utc_with_and_without_separators() {
        let t = OffsetDateTime::from_unix_timestamp(1_795_338_307).unwrap(); // 2026-11-22T09:05:07Z
        assert_eq!(rfc3339(t), "2026-11-22T09:05:07Z");
        assert_eq!(rfc3339(t.to_offset(UtcOffset::from_hms(2, 0, 0).unwrap())), "2026-11-22T09:05:07Z");
        assert_eq!(written(t, "", ""), "20261122T090507Z");
        assert_eq!(date(t.date()), "2026-11-22");
        assert_eq!(utc_stamp().len(), "20261122T090507Z".len());
    }
}
