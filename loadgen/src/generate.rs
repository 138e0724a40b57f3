//! Seeded, deterministic log generators with realistic shapes: Zipf-skewed paths, clients and
//! user agents, log-normal latencies and sizes, a daily traffic curve for backfills, and error
//! bursts. Record `i` of a given seed is always the same, whatever the concurrency.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal, Zipf};
use serde_json::json;

/// The kinds of logs generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Apache combined access log lines.
    Apache,
    /// Nginx combined access log lines (with `$http_x_forwarded_for`).
    Nginx,
    /// JSON application logs (service, level, latency_ms, status, trace_id, …).
    Json,
    /// Application Load Balancer access records, as JSON.
    Alb,
}

impl LogFormat {
    /// Parses `apache`, `nginx`, `json` or `alb`.
    pub fn parse(s: &str) -> Option<LogFormat> {
        Some(match s {
            "apache" => LogFormat::Apache,
            "nginx" => LogFormat::Nginx,
            "json" => LogFormat::Json,
            "alb" => LogFormat::Alb,
            _ => return None,
        })
    }
}

/// One generated record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Generated {
    /// A line of text (access logs), without the newline.
    Text(String),
    /// A JSON object, serialized.
    Json(String),
}

impl Generated {
    /// The record's bytes.
    pub fn as_str(&self) -> &str {
        match self {
            Generated::Text(s) | Generated::Json(s) => s,
        }
    }
}

/// Where event times fall.
#[derive(Debug, Clone, Copy)]
pub enum TimeSpread {
    /// Now, as records are generated (live traffic).
    Live,
    /// Spread over `[start, end)` following a daily curve (backfill).
    Range {
        /// First millisecond.
        start_ms: i64,
        /// Millisecond after the last.
        end_ms: i64,
    },
}

const VERBS: [&str; 5] = ["GET", "GET", "GET", "POST", "PUT"];
const SERVICES: [&str; 6] = [
    "checkout", "search", "auth", "catalog", "payments", "gateway",
];
const AGENTS: [&str; 10] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "curl/8.10.1",
    "python-requests/2.32.3",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Go-http-client/1.1",
];
const PATH_SHAPES: [&str; 10] = [
    "/products/{}",
    "/api/v1/orders/{}",
    "/static/js/app.{}.js",
    "/images/banner-{}.png",
    "/search?q=item{}",
    "/category/{}",
    "/api/v1/users/{}/cart",
    "/blog/post-{}",
    "/docs/page-{}.html",
    "/cdn/font-{}.woff2",
];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
/// Relative traffic per hour of day (UTC): quiet nights, a morning ramp, an evening peak.
const DAILY_CURVE: [f64; 24] = [
    0.25, 0.18, 0.14, 0.12, 0.12, 0.16, 0.28, 0.45, 0.65, 0.8, 0.88, 0.92, 0.95, 0.93, 0.9, 0.88,
    0.9, 0.95, 1.0, 0.98, 0.9, 0.75, 0.55, 0.38,
];

/// A deterministic generator of one format.
#[derive(Debug, Clone)]
pub struct Generator {
    format: LogFormat,
    parsed: bool,
    seed: u64,
    spread: TimeSpread,
    paths: Vec<String>,
    ips: Vec<String>,
    path_zipf: Zipf<f64>,
    ip_zipf: Zipf<f64>,
    agent_zipf: Zipf<f64>,
    latency: LogNormal<f64>,
    size: LogNormal<f64>,
    hour_cdf: [f64; 24],
}

impl Generator {
    /// A generator; `parsed` turns access logs into JSON objects of their fields.
    pub fn new(format: LogFormat, parsed: bool, seed: u64, spread: TimeSpread) -> Generator {
        let mut rng = SmallRng::seed_from_u64(seed);
        let paths = (0..400)
            .map(|i| {
                let shape = PATH_SHAPES[i % PATH_SHAPES.len()];
                shape.replace("{}", &rng.random_range(1..100_000u32).to_string())
            })
            .collect();
        let ips = (0..20_000)
            .map(|_| {
                format!(
                    "{}.{}.{}.{}",
                    rng.random_range(1..224u8),
                    rng.random::<u8>(),
                    rng.random::<u8>(),
                    rng.random_range(1..255u8)
                )
            })
            .collect();
        let mut hour_cdf = [0.0; 24];
        let total: f64 = DAILY_CURVE.iter().sum();
        let mut acc = 0.0;
        for (h, w) in DAILY_CURVE.iter().enumerate() {
            acc += w / total;
            hour_cdf[h] = acc;
        }
        Generator {
            format,
            parsed,
            seed,
            spread,
            paths,
            ips,
            path_zipf: Zipf::new(400.0, 1.1).expect("valid zipf"),
            ip_zipf: Zipf::new(20_000.0, 1.2).expect("valid zipf"),
            agent_zipf: Zipf::new(AGENTS.len() as f64, 1.3).expect("valid zipf"),
            latency: LogNormal::new(3.4, 0.8).expect("valid log-normal"),
            size: LogNormal::new(8.5, 1.4).expect("valid log-normal"),
            hour_cdf,
        }
    }

    /// The RNG of record `i`: a SplitMix64 step of (seed, i), so records do not depend on
    /// which worker makes them.
    fn rng_for(&self, i: u64) -> SmallRng {
        let mut z = self.seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        SmallRng::seed_from_u64(z ^ (z >> 31))
    }

    fn event_time(&self, rng: &mut SmallRng, now_ms: i64) -> i64 {
        match self.spread {
            TimeSpread::Live => now_ms,
            TimeSpread::Range { start_ms, end_ms } => {
                let span = (end_ms - start_ms).max(1);
                let days = (span / 86_400_000).max(1);
                let day = rng.random_range(0..days);
                let u: f64 = rng.random();
                let hour = self.hour_cdf.iter().position(|c| u <= *c).unwrap_or(23) as i64;
                let within = rng.random_range(0..3_600_000);
                let t = start_ms + day * 86_400_000 + hour * 3_600_000 + within;
                start_ms + (t - start_ms) % span
            }
        }
    }

    /// Whether `t` falls in an error burst: two minutes of every hour and a half.
    fn in_burst(t_ms: i64) -> bool {
        (t_ms / 60_000) % 90 < 2
    }

    fn status(rng: &mut SmallRng, t_ms: i64) -> u16 {
        let u: f64 = rng.random();
        let five_xx = if Self::in_burst(t_ms) { 0.30 } else { 0.01 };
        if u < five_xx {
            [500, 502, 503, 504][rng.random_range(0..4)]
        } else if u < five_xx + 0.05 {
            404
        } else if u < five_xx + 0.09 {
            304
        } else if u < five_xx + 0.10 {
            [400, 401, 403][rng.random_range(0..3)]
        } else {
            200
        }
    }

    /// Record `i`, with `now_ms` as the live event time.
    pub fn record(&self, i: u64, now_ms: i64) -> Generated {
        let mut rng = self.rng_for(i);
        let t = self.event_time(&mut rng, now_ms);
        let ip = &self.ips[(self.ip_zipf.sample(&mut rng) as usize - 1).min(self.ips.len() - 1)];
        let path =
            &self.paths[(self.path_zipf.sample(&mut rng) as usize - 1).min(self.paths.len() - 1)];
        let agent = AGENTS[(self.agent_zipf.sample(&mut rng) as usize - 1).min(AGENTS.len() - 1)];
        let verb = VERBS[rng.random_range(0..VERBS.len())];
        let status = Self::status(&mut rng, t);
        let bytes = if status == 304 {
            0
        } else {
            self.size.sample(&mut rng) as u64
        };
        let latency_ms = self.latency.sample(&mut rng);
        let dt = DateTime::<Utc>::from_timestamp_millis(t).unwrap_or_default();
        match self.format {
            LogFormat::Apache | LogFormat::Nginx if self.parsed => Generated::Json(
                json!({
                    "@timestamp": dt.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    "clientip": ip, "ident": "-", "auth": "-", "verb": verb, "request": path,
                    "httpversion": "1.1", "response": status, "bytes": bytes,
                    "referrer": "-", "agent": agent,
                })
                .to_string(),
            ),
            LogFormat::Apache | LogFormat::Nginx => {
                let mut line = String::with_capacity(256);
                let _ = write!(
                    line,
                    "{ip} - - [{:02}/{}/{}:{} +0000] \"{verb} {path} HTTP/1.1\" {status} {bytes} \"-\" \"{agent}\"",
                    chrono::Datelike::day(&dt),
                    MONTHS[chrono::Datelike::month0(&dt) as usize],
                    chrono::Datelike::year(&dt),
                    dt.format("%H:%M:%S"),
                );
                if self.format == LogFormat::Nginx {
                    let _ = write!(line, " \"{}\" rt={:.3}", if rng.random_bool(0.2) { ip.as_str() } else { "-" }, latency_ms / 1000.0);
                }
                Generated::Text(line)
            }
            LogFormat::Json => {
                let service = SERVICES[rng.random_range(0..SERVICES.len())];
                let level = match status {
                    500..=599 => "error",
                    400..=499 => "warn",
                    _ if rng.random_bool(0.03) => "debug",
                    _ => "info",
                };
                let trace: u128 = rng.random();
                Generated::Json(
                    json!({
                        "@timestamp": dt.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                        "service": service, "level": level, "latency_ms": (latency_ms * 10.0).round() / 10.0,
                        "status": status, "trace_id": format!("{trace:032x}"), "user_agent": agent,
                        "host": format!("{service}-{}", rng.random_range(1..9)), "path": path,
                        "message": format!("{verb} {path} completed with {status} in {latency_ms:.1} ms"),
                    })
                    .to_string(),
                )
            }
            LogFormat::Alb => Generated::Json(
                json!({
                    "type": "https",
                    "time": dt.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                    "@timestamp": dt.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    "elb": "app/shop-prod/50dc6c495c0c9188",
                    "client_ip": ip, "client_port": rng.random_range(1024..65535u32),
                    "target_ip": format!("10.0.{}.{}", rng.random_range(0..4u8), rng.random_range(2..250u8)),
                    "request_processing_time": 0.001,
                    "target_processing_time": (latency_ms / 1000.0 * 1000.0).round() / 1000.0,
                    "response_processing_time": 0.0,
                    "elb_status_code": status, "target_status_code": status,
                    "received_bytes": rng.random_range(200..2000u32), "sent_bytes": bytes,
                    "request": format!("{verb} https://shop.example.com:443{path} HTTP/1.1"),
                    "user_agent": agent, "ssl_cipher": "ECDHE-RSA-AES128-GCM-SHA256", "ssl_protocol": "TLSv1.2",
                })
                .to_string(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_deterministic_per_seed_and_index() {
        let g = Generator::new(LogFormat::Json, false, 42, TimeSpread::Live);
        let h = Generator::new(LogFormat::Json, false, 42, TimeSpread::Live);
        assert_eq!(g.record(7, 1_000), h.record(7, 1_000));
        assert_ne!(g.record(7, 1_000), g.record(8, 1_000));
        let other = Generator::new(LogFormat::Json, false, 43, TimeSpread::Live);
        assert_ne!(g.record(7, 1_000), other.record(7, 1_000));
    }

    #[test]
    fn access_lines_look_like_combined_logs() {
        let g = Generator::new(LogFormat::Apache, false, 1, TimeSpread::Live);
        let Generated::Text(line) = g.record(0, 1_764_162_000_000) else {
            panic!()
        };
        assert!(line.contains("[26/Nov/2025:13:00:00 +0000] \""), "{line}");
        assert!(line.contains(" HTTP/1.1\" "), "{line}");
        let parsed = Generator::new(LogFormat::Nginx, true, 1, TimeSpread::Live);
        let Generated::Json(j) = parsed.record(0, 0) else {
            panic!()
        };
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert!(v["response"].is_u64() && v["clientip"].is_string());
    }

    #[test]
    fn paths_are_skewed_and_errors_burst() {
        let g = Generator::new(LogFormat::Json, false, 7, TimeSpread::Live);
        let mut counts = std::collections::HashMap::new();
        for i in 0..20_000 {
            let v: serde_json::Value =
                serde_json::from_str(g.record(i, 1_000_000).as_str()).unwrap();
            *counts
                .entry(v["path"].as_str().unwrap().to_string())
                .or_insert(0u32) += 1;
        }
        let mut c: Vec<u32> = counts.values().copied().collect();
        c.sort_unstable_by(|a, b| b.cmp(a));
        assert!(
            c[0] > 10 * c[c.len() / 2],
            "top path {} vs median {}",
            c[0],
            c[c.len() / 2]
        );
        // In a burst minute, 5xx are far more common than outside.
        let five = |t: i64| {
            (0..5_000)
                .filter(|i| {
                    let v: serde_json::Value =
                        serde_json::from_str(g.record(*i, t).as_str()).unwrap();
                    v["status"].as_u64().unwrap() >= 500
                })
                .count()
        };
        assert!(five(0) > 5 * five(10 * 60_000));
    }

    #[test]
    fn backfill_times_stay_in_range_and_follow_the_day() {
        let start = 1_764_115_200_000; // a midnight UTC
        let end = start + 7 * 86_400_000;
        let g = Generator::new(
            LogFormat::Json,
            false,
            3,
            TimeSpread::Range {
                start_ms: start,
                end_ms: end,
            },
        );
        let mut night = 0;
        let mut evening = 0;
        for i in 0..20_000 {
            let v: serde_json::Value = serde_json::from_str(g.record(i, 0).as_str()).unwrap();
            let t = chrono::DateTime::parse_from_rfc3339(v["@timestamp"].as_str().unwrap())
                .unwrap()
                .timestamp_millis();
            assert!(t >= start && t < end);
            match (t / 3_600_000) % 24 {
                3 => night += 1,
                18 => evening += 1,
                _ => {}
            }
        }
        assert!(evening > 4 * night, "evening {evening} night {night}");
    }
}
