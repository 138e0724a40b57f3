fn dynamic_mapping() -> hydrant_config::MappingConfig {
    hydrant_config::MappingConfig {
        mode: hydrant_config::MappingMode::Dynamic,
        fields: Vec::new(),
    }
}

use super::*;

#[test]
fn wildcards() {
    assert!(wildcard_match("web-*", "web-2026-11-26"));
    assert!(wildcard_match("*", ""));
    assert!(wildcard_match("*-11-*", "web-2026-11-26"));
    assert!(!wildcard_match("web-*", "api-2026"));
    assert!(wildcard_match("w*b", "web"));
    assert!(!wildcard_match("w*bb", "wb"));
    assert!(!wildcard_match("web", "web-1"));
}

#[test]
fn aliases_patterns_and_lists_resolve() {
    let dir = tempfile::tempdir().unwrap();
    let c = Catalog::open(dir.path()).unwrap();
    c.get_or_create("web-2026-11-25", "web", None, 1, &dynamic_mapping())
        .unwrap();
    c.get_or_create("web-2026-11-26", "web", None, 1, &dynamic_mapping())
        .unwrap();
    c.get_or_create("api", "api", None, 1, &dynamic_mapping())
        .unwrap();
    let names = |expr: &str| -> Vec<String> {
        c.resolve(expr, ResolveOptions::default())
            .unwrap()
            .iter()
            .map(|h| h.name().to_string())
            .collect()
    };
    assert_eq!(names("web"), ["web-2026-11-25", "web-2026-11-26"]);
    assert_eq!(names("web-*"), ["web-2026-11-25", "web-2026-11-26"]);
    assert_eq!(names("api,web-2026-11-26"), ["api", "web-2026-11-26"]);
    assert_eq!(names("_all").len(), 3);
    assert!(names("nope-*").is_empty());
    // Exclusions after a wildcard, by index name, stream name or pattern.
    assert_eq!(names("*,-api"), ["web-2026-11-25", "web-2026-11-26"]);
    assert_eq!(names("*,-web"), ["api"]);
    assert_eq!(names("*,-web-*-25"), ["api", "web-2026-11-26"]);
    assert!(matches!(
        c.resolve("nope", ResolveOptions::default()),
        Err(IndexError::IndexNotFound(n)) if n == "nope"
    ));
    let lenient = ResolveOptions {
        ignore_unavailable: true,
        allow_no_indices: true,
    };
    assert_eq!(c.resolve("nope,api", lenient).unwrap().len(), 1);
}

#[test]
fn indices_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let c = Catalog::open(dir.path()).unwrap();
        c.get_or_create("web-x", "web", None, 2, &dynamic_mapping())
            .unwrap();
    }
    let c = Catalog::open(dir.path()).unwrap();
    let h = c.get("web-x").unwrap();
    assert_eq!(h.stream(), "web");
    assert_eq!(h.shards().len(), 2);
}
