use super::*;

const NOW: i64 = 1_764_164_730_123; // 2025-11-26T13:45:30.123Z

fn p(text: &str, up: bool) -> i64 {
    DateParser::new(None, None, NOW)
        .unwrap()
        .parse(text, up)
        .unwrap()
}

fn iso(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[test]
fn now_math_and_rounding() {
    assert_eq!(iso(p("now-15m", false)), "2025-11-26T13:30:30.123Z");
    assert_eq!(iso(p("now-15m/m", false)), "2025-11-26T13:30:00.000Z");
    assert_eq!(iso(p("now/d", true)), "2025-11-26T23:59:59.999Z");
    assert_eq!(iso(p("now-1M/M", false)), "2025-10-01T00:00:00.000Z");
}

#[test]
fn anchored_math() {
    assert_eq!(
        iso(p("2015-05-17||+1d/d", false)),
        "2015-05-18T00:00:00.000Z"
    );
    assert_eq!(
        iso(p("2015-05-17T10:05:00Z||/h", true)),
        "2015-05-17T10:59:59.999Z"
    );
}

#[test]
fn formats() {
    assert_eq!(p("1431857100000", false), 1_431_857_100_000);
    assert_eq!(iso(p("2015-05-17", false)), "2015-05-17T00:00:00.000Z");
    assert_eq!(
        iso(p("2015-05-17T10:05:00.5+02:00", false)),
        "2015-05-17T08:05:00.500Z"
    );
    let custom = DateParser::new(Some("yyyy-MM-dd HH:mm:ss"), None, NOW).unwrap();
    assert_eq!(
        iso(custom.parse("2015-05-17 10:05:00", false).unwrap()),
        "2015-05-17T10:05:00.000Z"
    );
    let secs = DateParser::new(Some("epoch_second"), None, NOW).unwrap();
    assert_eq!(secs.parse("1431857100", false).unwrap(), 1_431_857_100_000);
    // A literal `%` is a character like any other, reading and printing.
    let percent = DateParser::new(Some("yyyy%MM%dd"), None, NOW).unwrap();
    assert_eq!(
        iso(percent.parse("2015%05%17", false).unwrap()),
        "2015-05-17T00:00:00.000Z"
    );
    assert_eq!(
        format::format_date(NOW, Some("yyyy%MM"), Zone::Utc),
        "2025%11"
    );
    assert_eq!(format::format_date(NOW, Some("%"), Zone::Utc), "%");
}

#[test]
fn time_zones_shift_local_dates_and_rounding() {
    let paris = DateParser::new(None, Some("Europe/Paris"), NOW).unwrap();
    assert_eq!(
        iso(paris.parse("2015-05-17", false).unwrap()),
        "2015-05-16T22:00:00.000Z"
    );
    assert_eq!(
        iso(paris.parse("now/d", false).unwrap()),
        "2025-11-25T23:00:00.000Z"
    );
    let plus = DateParser::new(None, Some("+05:30"), NOW).unwrap();
    assert_eq!(
        iso(plus.parse("2015-05-17T00:00:00", false).unwrap()),
        "2015-05-16T18:30:00.000Z"
    );
    assert!(DateParser::new(None, Some("Mars/Olympus"), NOW).is_err());
}

#[test]
fn bounds_that_round_up_take_the_largest_value_of_every_field_left_out() {
    let up = |t: &str| iso(p(t, true));
    assert_eq!(up("2026-03-28"), "2026-03-28T23:59:59.999Z");
    assert_eq!(up("2026-02"), "2026-02-28T23:59:59.999Z");
    assert_eq!(up("2026"), "2026-12-31T23:59:59.999Z");
    assert_eq!(up("2026-03-28T10"), "2026-03-28T10:59:59.999Z");
    assert_eq!(up("2026-03-28T10:05"), "2026-03-28T10:05:59.999Z");
    assert_eq!(up("2026-03-28T10:05:07"), "2026-03-28T10:05:07.999Z");
    assert_eq!(up("2026-03-28T10:05:07.250Z"), "2026-03-28T10:05:07.250Z");
    assert_eq!(up("2026-03-28T10:05+02:00"), "2026-03-28T08:05:59.999Z");
    assert_eq!(p("1431857100000", true), 1_431_857_100_000);
    // Not for anchored math, and not for bounds that round down.
    assert_eq!(iso(p("2026-03-28", false)), "2026-03-28T00:00:00.000Z");
    assert_eq!(iso(p("2026-03-28||+1d", true)), "2026-03-29T00:00:00.000Z");
    // A day in a zone with a DST change that day is 23 hours long.
    let berlin = DateParser::new(None, Some("Europe/Berlin"), NOW).unwrap();
    assert_eq!(
        iso(berlin.parse("2026-03-29", true).unwrap()),
        "2026-03-29T21:59:59.999Z"
    );
}

#[test]
fn a_wall_time_a_dst_change_skips_moves_later_by_the_gap() {
    let berlin = Zone::parse("Europe/Berlin").unwrap();
    let at = |t: &str| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M").unwrap();
    // 2026-03-29: Berlin skips 02:00–03:00 (01:00 UTC).
    assert_eq!(
        iso(berlin.instant_of(at("2026-03-29T02:00"))),
        "2026-03-29T01:00:00.000Z"
    );
    assert_eq!(
        iso(berlin.instant_of(at("2026-03-29T02:30"))),
        "2026-03-29T01:30:00.000Z"
    );
    assert_eq!(
        iso(berlin.instant_of(at("2026-03-29T03:00"))),
        "2026-03-29T01:00:00.000Z"
    );
    // 2026-10-25 repeats 02:00–03:00: the earlier (summer time) one.
    assert_eq!(
        iso(berlin.instant_of(at("2026-10-25T02:30"))),
        "2026-10-25T00:30:00.000Z"
    );
}

#[test]
fn garbage_is_a_parse_exception() {
    let err = DateParser::new(None, None, NOW)
        .unwrap()
        .parse("yesterday", false)
        .unwrap_err();
    assert_eq!(err.es_type(), "parse_exception");
}

#[test]
fn overflowing_date_math_is_an_error_never_a_wrapped_date() {
    let dates = DateParser::new(None, None, NOW).unwrap();
    for text in [
        "now-99999999999y/d",
        "now+99999999999y",
        "now-9223372036854775807M",
        "now+9223372036854775807w",
        "now-99999999999999999d",
        "now+999999999999999999999s",
        "2015-05-17||+300000y",
        "99999999999999999999",
        "-9223372036854775808",
    ] {
        let err = dates.parse(text, false).unwrap_err();
        assert_eq!(err.es_type(), "parse_exception", "{text}");
        assert_eq!(err.status().as_u16(), 400, "{text}");
    }
    // Large but representable arithmetic still works.
    assert_eq!(iso(p("now-1000y/y", false)), "1025-01-01T00:00:00.000Z");
    assert_eq!(iso(p("now+100000d/d", false)), "2299-09-11T00:00:00.000Z");
}

#[test]
fn long_chains_of_date_math_are_iterative() {
    let chain = format!("now{}", "+1d-1d".repeat(100_000));
    assert_eq!(p(&chain, false), NOW);
}
