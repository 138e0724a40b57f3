//! Basic highlighting: the words of a hit's text fields that the query matched, wrapped in the
//! request's tags, in fragments of about `fragment_size` characters.
//! Words are cut by the `standard` analyzer of new indices (indices made before it was the
//! default are searched with their own, and highlighted with this one).

use hydrant_index::tokenizer::standard_analyzer;
use regex::Regex;
use serde_json::{Map, Value, json};

use super::fields::flatten;
use super::passages::{Match, passages};
use crate::ast::QueryAst;
use crate::request::{HighlightOptions, HighlightSpec, path_match};

/// How a query word matches a token.
#[derive(Debug, Clone)]
enum Matcher {
    Token(String),
    Prefix(String),
    Pattern(Regex),
}

impl Matcher {
    fn matches(&self, token: &str) -> bool {
        match self {
            Matcher::Token(t) => t == token,
            Matcher::Prefix(p) => token.starts_with(p.as_str()),
            Matcher::Pattern(r) => r.is_match(token),
        }
    }
}

/// The words of a query, by field (`None`: any field).
#[derive(Debug, Clone, Default)]
pub struct QueryTerms {
    entries: Vec<(Option<String>, Matcher)>,
}

fn tokens(text: &str) -> Vec<String> {
    let mut a = standard_analyzer();
    let mut stream = a.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

/// `*`/`?` wildcards as an anchored regex.
pub fn wildcard_regex(pattern: &str, case_insensitive: bool) -> Option<Regex> {
    let mut re = String::from(if case_insensitive { "(?is)^" } else { "(?s)^" });
    for c in pattern.chars() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    Regex::new(&re).ok()
}

impl QueryTerms {
    /// The words `q` looks for (negated clauses excluded).
    pub fn of(q: &QueryAst) -> QueryTerms {
        let mut t = QueryTerms::default();
        t.collect(q);
        t
    }

    fn collect(&mut self, q: &QueryAst) {
        match q {
            QueryAst::Bool(b) => {
                for sub in b.must.iter().chain(&b.should).chain(&b.filter) {
                    self.collect(sub);
                }
            }
            QueryAst::Match { field, text, .. } => {
                for w in tokens(text) {
                    self.entries.push((field.clone(), Matcher::Token(w)));
                }
            }
            QueryAst::Term { field, value } => {
                self.entries
                    .push((Some(field.clone()), Matcher::Token(value.to_lowercase())));
                for w in tokens(value) {
                    self.entries.push((Some(field.clone()), Matcher::Token(w)));
                }
            }
            // The value itself; its near spellings are not highlighted.
            QueryAst::Fuzzy { field, value, .. } => self
                .entries
                .push((Some(field.clone()), Matcher::Token(value.to_lowercase()))),
            QueryAst::Prefix { field, prefix, .. } => self
                .entries
                .push((field.clone(), Matcher::Prefix(prefix.to_lowercase()))),
            QueryAst::Wildcard { field, pattern, .. } => {
                if let Some(r) = wildcard_regex(pattern, true) {
                    self.entries.push((field.clone(), Matcher::Pattern(r)));
                }
            }
            QueryAst::Regexp { field, pattern, .. } => {
                if let Ok(r) = Regex::new(&format!("(?i)^(?:{pattern})$")) {
                    self.entries.push((field.clone(), Matcher::Pattern(r)));
                }
            }
            QueryAst::Boost { query, .. } => self.collect(query),
            QueryAst::ConstantScore { filter, .. } => self.collect(filter),
            QueryAst::Lenient(inner) | QueryAst::ZeroTermsAll { query: inner, .. } => {
                self.collect(inner)
            }
            QueryAst::DisMax { queries, .. } => {
                for sub in queries {
                    self.collect(sub);
                }
            }
            QueryAst::MatchAll
            | QueryAst::MatchNone
            | QueryAst::Range { .. }
            | QueryAst::Exists { .. }
            | QueryAst::Geo { .. }
            | QueryAst::TermsLookup { .. }
            | QueryAst::Ids(_) => {}
        }
    }

    fn for_field<'a>(
        &'a self,
        path: &'a str,
        any_field: bool,
    ) -> impl Iterator<Item = &'a Matcher> {
        self.entries.iter().filter_map(move |(f, m)| {
            let applies = any_field
                || match f.as_deref() {
                    None | Some("*") => true,
                    Some(f) => {
                        f == path || f.strip_suffix(".keyword") == Some(path) || path_match(f, path)
                    }
                };
            applies.then_some(m)
        })
    }
}

/// The `highlight` object of one hit.
pub fn highlight(spec: &HighlightSpec, terms: &QueryTerms, source: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    for (path, value) in flatten(source) {
        let Value::String(text) = value else { continue };
        let Some((_, opts)) = spec.fields.iter().find(|(p, _)| path_match(p, &path)) else {
            continue;
        };
        let matchers: Vec<&Matcher> = terms.for_field(&path, !opts.require_field_match).collect();
        if matchers.is_empty() {
            continue;
        }
        let fragments = fragments(&text, &matchers, opts);
        if !fragments.is_empty() {
            let entry = out.entry(path).or_insert_with(|| json!([]));
            if let Value::Array(list) = entry {
                list.extend(fragments.into_iter().map(Value::String));
            }
        }
    }
    out
}

/// The matching tokens of `text`: byte range and word.
fn matches(text: &str, matchers: &[&Matcher]) -> Vec<(usize, usize, String)> {
    let mut a = standard_analyzer();
    let mut stream = a.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        let t = stream.token();
        if matchers.iter().any(|m| m.matches(&t.text)) {
            out.push((t.offset_from, t.offset_to, t.text.clone()));
        }
    }
    out
}

fn fragments(text: &str, matchers: &[&Matcher], spec: &HighlightOptions) -> Vec<String> {
    let hits = matches(text, matchers);
    if hits.is_empty() {
        return Vec::new();
    }
    let ranges: Vec<(usize, usize)> = hits.iter().map(|(a, b, _)| (*a, *b)).collect();
    if spec.number_of_fragments == 0 {
        return vec![mark(text, 0, text.len(), &ranges, spec)];
    }
    let found: Vec<Match<'_>> = hits
        .iter()
        .map(|(from, _, term)| Match { from: *from, term })
        .collect();
    passages(text, &found, spec.fragment_size, spec.number_of_fragments)
        .into_iter()
        .map(|p| {
            let own: Vec<(usize, usize)> = p.matches.iter().map(|i| ranges[*i]).collect();
            // Java's `String.trim`, as OpenSearch's passage formatter ends.
            let shown = mark(text, p.from, p.to, &own, spec);
            shown.trim_matches(|c: char| c <= ' ').to_string()
        })
        .collect()
}

/// `text[from..to]` with `hits` (in order) wrapped in the tags: overlapping ones as one, a
/// match running past `to` cut there.
fn mark(
    text: &str,
    from: usize,
    to: usize,
    hits: &[(usize, usize)],
    spec: &HighlightOptions,
) -> String {
    let enc = |s: &str| {
        if spec.html_encode {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
                .replace('\'', "&#x27;")
        } else {
            s.to_string()
        }
    };
    let mut out = String::new();
    let mut at = from;
    let mut i = 0;
    while i < hits.len() {
        let (a, mut b) = hits[i];
        if a < at || a >= to {
            i += 1;
            continue;
        }
        while i + 1 < hits.len() && hits[i + 1].0 < b {
            i += 1;
            b = b.max(hits[i].1);
        }
        let b = b.min(to);
        out.push_str(&enc(&text[at..a]));
        out.push_str(&spec.pre_tag);
        out.push_str(&enc(&text[a..b]));
        out.push_str(&spec.post_tag);
        at = b;
        i += 1;
    }
    out.push_str(&enc(&text[at..to.max(at)]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query_string::{QueryStringOptions, parse_query_string};

    fn spec(fields: &[&str], fragment_size: usize) -> HighlightSpec {
        let opts = HighlightOptions {
            fragment_size,
            ..HighlightOptions::default()
        };
        HighlightSpec {
            fields: fields
                .iter()
                .map(|s| (s.to_string(), opts.clone()))
                .collect(),
        }
    }

    #[test]
    fn words_of_the_query_are_tagged_in_their_fields_only() {
        let q =
            parse_query_string("msg:disk AND level:error", &QueryStringOptions::default()).unwrap();
        let src = json!({"msg": "Disk full on /dev/sda", "level": "error", "other": "disk"});
        let h = highlight(&spec(&["*"], 100), &QueryTerms::of(&q), &src);
        assert_eq!(h["msg"], json!(["<em>Disk</em> full on /dev/sda"]));
        assert_eq!(h["level"], json!(["<em>error</em>"]));
        assert!(h.get("other").is_none());
    }

    #[test]
    fn long_text_is_cut_into_fragments_around_matches() {
        let q = parse_query_string("needle", &QueryStringOptions::default()).unwrap();
        let text = format!("{} needle {}", "a ".repeat(200), "b ".repeat(200));
        let h = highlight(
            &spec(&["msg"], 40),
            &QueryTerms::of(&q),
            &json!({"msg": text}),
        );
        let frag = h["msg"][0].as_str().unwrap();
        assert!(frag.contains("<em>needle</em>"));
        assert!(frag.len() < 60);
    }
}
