//! Entry points for the fuzzers (`fuzz/`, run with `cargo fuzz`) and for the replay of their
//! corpora in `cargo test` (`fuzzing/`): SigV4 canonicalisation and verification. The input is
//! a request — `METHOD\npath?query\nname: value\n…\n\nbody` — verified as it comes (whatever
//! its `Authorization`, a refusal and never a panic), then signed by the AWS SDK's signer
//! (`aws-sigv4`, which no one here wrote) and verified again: Hydrant's canonical form must be
//! the SDK's, so a request the SDK signed is always accepted, and one with any other signature
//! never is. Compiled only with the `fuzz` feature.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;

use crate::canonical::sha256_hex;
use crate::signer::{SignInput, SignOptions, sign_headers};
use crate::verify::{Policy, verify};

const KEY: &str = "AKIDHYDRANTFUZZ";
const SECRET: &str = "hydrant/fuzz+secret";
const HOST: &str = "hydrant.local";

/// A SigV4-signed request, checked by Hydrant's verifier.
pub fn sigv4(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut lines = head.split('\n');
    let (Some(method), Some(target)) = (lines.next(), lines.next()) else {
        return;
    };
    // An origin-form target, as a client sends it (anything else would change the host the
    // SDK signs).
    if !target.starts_with('/') {
        return;
    }
    let given: Vec<(&str, &str)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim(), v.trim()))
        .filter(|(n, _)| !n.eq_ignore_ascii_case("host"))
        .collect();
    // What the SDK signs: the input's own headers, without its signature.
    let headers: Vec<(&str, &str)> = given
        .iter()
        .copied()
        .filter(|(n, _)| {
            let n = n.to_ascii_lowercase();
            n != "authorization" && !n.starts_with("x-amz-")
        })
        .collect();
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
    let policy = Policy {
        keys: BTreeMap::from([(KEY.to_string(), SECRET.to_string())]),
        region: "eu-west-1".to_string(),
        service: "es".to_string(),
        max_clock_skew: Duration::from_secs(300),
    };
    let payload = sha256_hex(body.as_bytes());
    let build = |base: &[(&str, &str)], extra: &http::HeaderMap| {
        let mut builder = http::Request::builder()
            .method(method)
            .uri(target)
            .header("host", HOST);
        for (n, v) in base {
            builder = builder.header(*n, *v);
        }
        for (n, v) in extra {
            builder = builder.header(n, v);
        }
        builder.body(()).ok().map(|r| r.into_parts().0)
    };
    // As it comes: unsigned, or with whatever `Authorization` the input carries (which cannot
    // hold the secret's signature).
    if let Some(parts) = build(&given, &http::HeaderMap::new()) {
        assert!(verify(&parts, &payload, &policy, now).is_err());
    }

    // Signed by the SDK: accepted, and only with that signature.
    let url = format!("http://{HOST}{target}");
    let input = SignInput {
        method,
        url: &url,
        headers: &headers,
        payload_sha256: &payload,
        region: "eu-west-1",
        service: "es",
        time: now,
    };
    let credentials = Credentials::new(KEY, SECRET, None, None, "fuzz");
    let Ok(signature) = sign_headers(&input, &credentials, SignOptions::default()) else {
        return;
    };
    let Some(parts) = build(&headers, &signature.headers) else {
        return;
    };
    let verified = verify(&parts, &payload, &policy, now);
    assert_eq!(
        verified.as_deref().ok(),
        Some(KEY),
        "the SDK's signature refused: {verified:?}"
    );
    let mut forged = signature.headers.clone();
    let auth = forged["authorization"]
        .to_str()
        .unwrap_or_default()
        .to_string();
    let last = auth.chars().last().unwrap_or('0');
    let flipped = format!(
        "{}{}",
        &auth[..auth.len() - 1],
        if last == '0' { '1' } else { '0' }
    );
    forged.insert("authorization", flipped.parse().expect("header"));
    if let Some(parts) = build(&headers, &forged) {
        assert!(
            verify(&parts, &payload, &policy, now).is_err(),
            "a forged signature accepted"
        );
    }
}
