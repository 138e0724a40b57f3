"""Ingest pipelines against a real OpenSearch 2.19.6 node (tests/opensearch/opensearch.sh, with its
ingest-common module): the same pipeline definitions and documents go to Hydrant and to
OpenSearch, and the answers must be equal — `_simulate` (plain and `?verbose`) over a table of
pipelines × documents, `PUT /_ingest/pipeline` refusals of bad definitions, `GET` of a stored
pipeline, and `_bulk ?pipeline=` per-item outcomes.

Only `_ingest.timestamp` values are normalised (the time each engine ran). Processors OpenSearch
2.19 lacks (GET /_nodes/ingest) are skipped with a note. Where Hydrant follows Elasticsearch 8
and OpenSearch 2.19 refuses the option, the case asserts exactly that (OpenSearch's
`parse_exception`, Hydrant's answer), as docs/known-differences.md lists."""

import copy
import json

import pytest
import requests

from opensearch_support import HydrantServer, Nodes

DOC_TS = "<_ingest.timestamp>"


@pytest.fixture(scope="module")
def nodes():
    n = Nodes()
    yield n
    n.stop()


class Engine:
    def __init__(self, name, url):
        self.name, self.url = name, url

    def call(self, method, path, body=None, ndjson=None, **params):
        if ndjson is not None:
            data = "".join(json.dumps(line) + "\n" for line in ndjson)
            r = requests.request(method, self.url + path, data=data.encode(), params=params or None,
                                 headers={"content-type": "application/x-ndjson"}, timeout=60)
        else:
            r = requests.request(method, self.url + path, json=body, params=params or None, timeout=60)
        return r.status_code, r.json()


@pytest.fixture(scope="module")
def engines(nodes):
    """(OpenSearch, Hydrant, the processor types OpenSearch has), both holding the pipelines
    the `pipeline` processor cases call."""
    node = nodes.get()
    hydrant = HydrantServer("")
    os_engine, hy_engine = Engine("opensearch", node.url), Engine("hydrant", hydrant.url)
    info = node.ok("GET", "/_nodes/ingest")
    processors = {p["type"] for n in info["nodes"].values() for p in n["ingest"]["processors"]}
    for name, body in STORED.items():
        for e in (os_engine, hy_engine):
            status, answer = e.call("PUT", f"/_ingest/pipeline/{name}", body)
            assert status == 200, (e.name, name, answer)
    yield os_engine, hy_engine, processors
    hydrant.cleanup()


def normalised(answer):
    """`answer` with every `_ingest.timestamp` value replaced (the time each engine ran) and
    errors without `caused_by` (the Java exception under OpenSearch's, such as
    `number_format_exception: For input string: "x"`); their `type` and `reason` are compared."""
    answer = copy.deepcopy(answer)

    def walk(v):
        if isinstance(v, dict):
            for key in ("error", "ignored_error"):
                if isinstance(v.get(key), dict) and "type" in v[key]:
                    v[key].pop("caused_by", None)
            ingest = v.get("_ingest")
            if isinstance(ingest, dict) and "timestamp" in ingest:
                ingest["timestamp"] = DOC_TS
            for x in v.values():
                walk(x)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)

    walk(answer)
    return answer


def processor_types(definition):
    """Every processor type a pipeline definition uses (on_failure ones included)."""
    out = set()

    def walk(procs):
        for p in procs or ():
            for kind, opts in p.items():
                out.add(kind)
                if isinstance(opts, dict):
                    walk(opts.get("on_failure"))

    walk(definition.get("processors"))
    walk(definition.get("on_failure"))
    return out


# ============================================================================================
# The table: (id, pipeline definition, documents). Every document runs through every pipeline
# of its row, plain and verbose.

P = lambda *procs, **kw: dict(processors=list(procs), **kw)  # noqa: E731

STORED = {
    "pl-inner": P({"set": {"field": "inner", "value": "{{_ingest.pipeline}}"}},
                  {"uppercase": {"field": "m", "ignore_missing": True}}),
    "pl-inner-fails": P({"fail": {"message": "inner says no", "tag": "inner-fail"}}),
    "pl-inner-drops": P({"drop": {}}),
}

CASES = [
    # ---- set
    ("set-value-kinds",
     P({"set": {"field": "s", "value": "x"}}, {"set": {"field": "n", "value": 3}},
       {"set": {"field": "o.p.q", "value": {"k": [1, "2", None]}}}, {"set": {"field": "b", "value": False}}),
     [{}, {"o": {"p": {"r": 1}}}, {"s": "old", "n": [1]}]),
    ("set-templates",
     P({"set": {"field": "t", "value": "{{a}}-{{b.c}}-{{{a}}}-{{missing}}."}},
       {"set": {"field": "{{a}}_f", "value": "v"}}, {"set": {"field": "ix", "value": "{{_index}}/{{_id}}"}},
       {"set": {"field": "pl", "value": "{{_ingest.pipeline}}"}}),
     [{"a": "x", "b": {"c": 2}}, {"a": "<&>", "b": {"c": [1, 2]}}, {"a": 1.5, "b": {"c": True}},
      {"a": "q", "b": {"c": {"d": "e"}}}]),
    ("set-override-false",
     P({"set": {"field": "a", "value": "new", "override": False}},
       {"set": {"field": "b", "value": "new", "override": False}}),
     [{"a": "old"}, {"a": None}, {}, {"b": ""}]),
    ("set-ignore-empty-value",
     P({"set": {"field": "e", "value": "{{missing}}", "ignore_empty_value": True}},
       {"set": {"field": "f", "value": "", "ignore_empty_value": True}},
       {"set": {"field": "g", "value": "{{a}}", "ignore_empty_value": True}}),
     [{"a": "x"}, {"a": ""}, {}]),
    ("set-meta-fields",
     P({"set": {"field": "_id", "value": "id-{{a}}"}}, {"set": {"field": "_routing", "value": "r"}}),
     [{"a": 1}]),
    # ---- remove
    ("remove",
     P({"remove": {"field": "a"}}, {"remove": {"field": ["b", "c.d"]}}),
     [{"a": 1, "b": 2, "c": {"d": 3, "e": 4}}, {"a": 1, "b": 2}, {"b": 2, "c": {"d": 1}}]),
    ("remove-ignore-missing",
     P({"remove": {"field": ["a", "zz"], "ignore_missing": True}}),
     [{"a": 1, "b": 2}, {}]),
    # ---- rename
    ("rename",
     P({"rename": {"field": "a", "target_field": "b.c"}}),
     [{"a": 1}, {"a": {"x": 1}}, {"a": 1, "b": {"c": 2}}, {}, {"a": 1, "b": 5}]),
    ("rename-ignore-missing",
     P({"rename": {"field": "a", "target_field": "b", "ignore_missing": True}}),
     [{}, {"a": None}, {"a": [1]}]),
    # ---- append
    ("append",
     P({"append": {"field": "a", "value": "x"}}, {"append": {"field": "b", "value": [1, "{{c}}"]}}),
     [{}, {"a": "y", "b": 0, "c": "z"}, {"a": ["y", "x"], "b": [0]}, {"a": None}]),
    ("append-allow-duplicates-false",
     P({"append": {"field": "a", "value": ["x", "y", "x"], "allow_duplicates": False}}),
     [{}, {"a": "x"}, {"a": ["x", "y"]}, {"a": ["z"]}, {"a": "y"}]),
    # ---- convert
    *[(f"convert-{t}", P({"convert": {"field": "v", "type": t}}),
       [{"v": "12"}, {"v": "-7"}, {"v": "0x1F"}, {"v": "1.5"}, {"v": "1e3"}, {"v": " 4 "}, {"v": "true"},
        {"v": "FALSE"}, {"v": "abc"}, {"v": ""}, {"v": 3}, {"v": 2.5}, {"v": True}, {"v": ["1", "2"]},
        {"v": ["1", "x"]}, {"v": None}, {"v": {"o": 1}}, {"v": "99999999999"}, {"v": "1.1"}, {}])
      for t in ("integer", "long", "float", "double", "boolean", "string", "auto")],
    ("convert-target-ignore-missing",
     P({"convert": {"field": "v", "target_field": "w.x", "type": "integer", "ignore_missing": True}}),
     [{"v": "5"}, {}, {"v": None}]),
    # ---- lowercase / uppercase / trim
    *[(f"{k}-strings-and-lists", P({k: {"field": "v"}}),
       [{"v": "  MiXed Case \t"}, {"v": ["  A ", "b  ", "Ç"]}, {"v": 5}, {"v": ["a", 1]}, {"v": None}, {},
        {"v": ""}])
      for k in ("lowercase", "uppercase", "trim")],
    ("uppercase-target-ignore-missing",
     P({"uppercase": {"field": "v", "target_field": "w", "ignore_missing": True}}),
     [{"v": "ab"}, {}, {"v": None}]),
    # ---- split / join / gsub
    ("split",
     P({"split": {"field": "v", "separator": "\\s*,\\s*"}}),
     [{"v": "a, b ,c"}, {"v": "a,,b,,"}, {"v": ""}, {"v": 5}, {"v": ["a,b"]}, {}, {"v": None}]),
    ("split-preserve-trailing-target",
     P({"split": {"field": "v", "separator": ",", "preserve_trailing": True, "target_field": "w"}}),
     [{"v": "a,,b,,"}]),
    ("join",
     P({"join": {"field": "v", "separator": "-"}}),
     [{"v": ["a", 1, True, 2.5]}, {"v": []}, {"v": "abc"}, {}, {"v": [{"a": 1}]}]),
    ("gsub",
     P({"gsub": {"field": "v", "pattern": "(\\d+)\\.(\\d+)", "replacement": "$2_$1"}}),
     [{"v": "v1.22 and 3.4"}, {"v": ["1.2", "x"]}, {"v": 12}, {}, {"v": "none"}]),
    ("gsub-target-ignore-missing",
     P({"gsub": {"field": "v", "pattern": "[aeiou]", "replacement": "", "target_field": "w",
                 "ignore_missing": True}}),
     [{"v": "education"}, {}]),
    # ---- json
    ("json",
     P({"json": {"field": "v"}}),
     [{"v": "{\"a\": {\"b\": [1, 2.5, null]}}"}, {"v": "[1, 2]"}, {"v": "\"s\""}, {"v": "12"}, {"v": "true"},
      {"v": "null"}, {"v": "{bad"}, {"v": 5}, {}, {"v": "{\"a\":1} trailing"}]),
    ("json-target",
     P({"json": {"field": "v", "target_field": "t.u"}}),
     [{"v": "{\"a\": 1}"}]),
    ("json-add-to-root",
     P({"json": {"field": "v", "add_to_root": True}}),
     [{"v": "{\"a\": 1, \"b\": {\"c\": 2}}", "b": {"d": 1}, "a": 0}, {"v": "[1]"}, {"v": "3"}]),
    # ---- kv
    ("kv",
     P({"kv": {"field": "v", "field_split": " ", "value_split": "="}}),
     [{"v": "a=1 b=2 a=3 c= d"}, {"v": ""}, {"v": 5}, {}, {"v": None}]),
    ("kv-options",
     P({"kv": {"field": "v", "field_split": "&", "value_split": ":", "target_field": "kv",
               "include_keys": ["a", "b", "c"], "exclude_keys": ["b"], "prefix": "p_", "trim_key": " ",
               "trim_value": " ", "strip_brackets": True}}),
     [{"v": " a : <1> & b:(2)& c :  \"x y\" &d:4"}, {"v": "a:[z]"}]),
    ("kv-ignore-missing",
     P({"kv": {"field": "v", "field_split": ",", "value_split": "=", "ignore_missing": True}}),
     [{}, {"v": "a=b"}]),
    # ---- urldecode
    ("urldecode",
     P({"urldecode": {"field": "v"}}),
     [{"v": "a%20b+c%2Fd"}, {"v": ["%41", "x%3D1"]}, {"v": "%ZZ"}, {"v": "%"}, {"v": 5}, {}, {"v": "%E2%82%AC"}]),
    # ---- grok
    ("grok-types",
     P({"grok": {"field": "m", "patterns": ["%{IP:client} %{WORD:method} %{NUMBER:bytes:int} %{NUMBER:t:float} %{NOTSPACE:n.o}"]}}),
     [{"m": "1.2.3.4 GET 512 0.25 x/y"}, {"m": "no match here"}, {"m": 5}, {}, {"m": ["1.2.3.4 GET 1 2 z"]}]),
    ("grok-multiple-trace-definitions",
     P({"grok": {"field": "m", "trace_match": True,
                 "patterns": ["^%{LEVEL:level}: %{GREEDYDATA:msg}$", "^\\[%{LEVEL:level}\\] %{GREEDYDATA:msg}$",
                              "^%{INT:code:long}$"],
                 "pattern_definitions": {"LEVEL": "(?:INFO|WARN|ERROR)"}}}),
     [{"m": "WARN: disk"}, {"m": "[ERROR] down"}, {"m": "42"}, {"m": "debug: x"}]),
    ("grok-ignore-missing-and-named-captures",
     P({"grok": {"field": "m", "ignore_missing": True,
                 "patterns": ["%{COMBINEDAPACHELOG}"]}}),
     [{}, {"m": "127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /a.gif HTTP/1.0\" 200 2326 \"http://x/\" \"Mozilla/4.08\""}]),
    ("grok-same-name-twice",
     P({"grok": {"field": "m", "patterns": ["%{WORD:w} %{WORD:w}( %{WORD:o})?"]}}),
     [{"m": "a b"}, {"m": "a b c"}]),
    # ---- dissect
    ("dissect",
     P({"dissect": {"field": "m", "pattern": "%{a} %{b} [%{ts}] %{rest}"}}),
     [{"m": "x y [2020] the rest"}, {"m": "nope"}, {"m": 5}, {}]),
    ("dissect-modifiers",
     P({"dissect": {"field": "m", "pattern": "%{a->} %{+a} %{?skip} %{*k} %{&k} %{+a/1}", "append_separator": "|"}}),
     [{"m": "one     two three key val four"}]),
    ("dissect-ignore-missing-empty",
     P({"dissect": {"field": "m", "pattern": "%{a},%{b},%{c}", "ignore_missing": True}}),
     [{}, {"m": "1,,3"}, {"m": ",,"}]),
    # ---- date
    ("date-formats",
     P({"date": {"field": "d", "formats": ["dd/MMM/yyyy:HH:mm:ss Z", "yyyy-MM-dd HH:mm:ss", "UNIX", "ISO8601"]}}),
     [{"d": "10/Oct/2000:13:55:36 -0700"}, {"d": "2021-03-04 05:06:07"}, {"d": "2021-03-04T05:06:07.123+02:00"},
      {"d": "2021-03-04T05:06:07Z"}, {"d": "1617000000"}, {"d": "1617000000.5"}, {"d": 1617000000},
      {"d": "not a date"}, {}, {"d": "2021-03-04"}]),
    ("date-iso8601-number",
     P({"date": {"field": "d", "formats": ["ISO8601"]}}),
     [{"d": "1617000000123"}]),
    ("date-unix-ms-timezone-target",
     P({"date": {"field": "d", "formats": ["UNIX_MS"], "timezone": "Europe/Amsterdam", "target_field": "t"}}),
     [{"d": "1617000000123"}, {"d": 1617000000123}, {"d": "x"}]),
    ("date-timezone-local",
     P({"date": {"field": "d", "formats": ["yyyy-MM-dd HH:mm:ss"], "timezone": "America/New_York"}},
       {"date": {"field": "d", "formats": ["yyyy-MM-dd HH:mm:ss"], "timezone": "+05:30", "target_field": "u"}}),
     [{"d": "2021-07-01 12:00:00"}, {"d": "2021-01-01 12:00:00"}]),
    ("date-timezone-template-locale",
     P({"date": {"field": "d", "formats": ["dd MMMM yyyy"], "timezone": "{{tz}}", "locale": "en"}}),
     [{"d": "05 March 2021", "tz": "Asia/Tokyo"}, {"d": "05 März 2021", "tz": "UTC"}]),
    # ---- fail / drop
    ("fail",
     P({"fail": {"message": "bad {{a}}", "tag": "f1"}}),
     [{"a": "x"}, {}]),
    ("drop",
     P({"set": {"field": "a", "value": 1}}, {"drop": {"tag": "d"}}, {"set": {"field": "b", "value": 2}}),
     [{"x": 1}]),
    # ---- pipeline (nested)
    ("pipeline-nested",
     P({"set": {"field": "outer", "value": "{{_ingest.pipeline}}"}}, {"pipeline": {"name": "pl-inner"}},
       {"set": {"field": "after", "value": "{{_ingest.pipeline}}"}}),
     [{"m": "abc"}, {}]),
    ("pipeline-inner-fails-outer-on-failure",
     P({"pipeline": {"name": "pl-inner-fails"}},
       on_failure=[{"set": {"field": "err", "value": "{{_ingest.on_failure_message}}|{{_ingest.on_failure_processor_type}}|{{_ingest.on_failure_processor_tag}}|{{_ingest.on_failure_pipeline}}"}}]),
     [{}]),
    ("pipeline-inner-fails",
     P({"pipeline": {"name": "pl-inner-fails"}}),
     [{}]),
    ("pipeline-inner-drops",
     P({"pipeline": {"name": "pl-inner-drops"}}, {"set": {"field": "b", "value": 2}}),
     [{}]),
    ("pipeline-missing",
     P({"pipeline": {"name": "pl-nope", "tag": "p"}}),
     [{}]),
    ("pipeline-name-template",
     P({"pipeline": {"name": "pl-{{which}}"}}),
     [{"which": "inner", "m": "q"}]),
    # ---- on_failure, ignore_failure
    ("on-failure-per-processor",
     P({"convert": {"field": "v", "type": "integer", "tag": "conv",
                    "on_failure": [{"set": {"field": "err", "value": "{{_ingest.on_failure_message}}"}},
                                   {"set": {"field": "who", "value": "{{_ingest.on_failure_processor_type}}/{{_ingest.on_failure_processor_tag}}/{{_ingest.on_failure_pipeline}}"}}]}},
       {"set": {"field": "after", "value": True}}),
     [{"v": "x"}, {"v": "1"}]),
    ("on-failure-per-pipeline",
     P({"rename": {"field": "a", "target_field": "b", "tag": "ren"}}, {"set": {"field": "not", "value": 1}},
       on_failure=[{"set": {"field": "err", "value": "{{_ingest.on_failure_message}}"}},
                   {"set": {"field": "who", "value": "{{_ingest.on_failure_processor_type}}/{{_ingest.on_failure_processor_tag}}"}}]),
     [{}, {"a": 1}]),
    ("on-failure-nested-failure",
     P({"fail": {"message": "first", "tag": "one",
                 "on_failure": [{"fail": {"message": "second: {{_ingest.on_failure_message}}", "tag": "two"}}]}},
       on_failure=[{"set": {"field": "err", "value": "{{_ingest.on_failure_message}} @ {{_ingest.on_failure_processor_tag}}"}}]),
     [{}]),
    ("on-failure-fails-too",
     P({"fail": {"message": "first", "on_failure": [{"fail": {"message": "second"}}]}}),
     [{}]),
    ("on-failure-ingest-fields-kept-in-source",
     P({"fail": {"message": "m", "tag": "t", "on_failure": [{"set": {"field": "seen", "value": "{{_ingest.on_failure_processor_type}}"}}]}},
       {"set": {"field": "later", "value": "[{{_ingest.on_failure_message}}]"}}),
     [{}]),
    ("ignore-failure",
     P({"rename": {"field": "a", "target_field": "b", "ignore_failure": True, "tag": "r"}},
       {"fail": {"message": "x", "ignore_failure": True}}, {"set": {"field": "ok", "value": True}}),
     [{}]),
]


# Options Elasticsearch 8 has (Hydrant follows it) that OpenSearch 2.19 refuses as unknown:
# OpenSearch's `parse_exception` is asserted, and Hydrant's answer is checked on its own.
ES8_ONLY = [
    ("set-copy-from", P({"set": {"field": "a", "copy_from": "b.c"}}), [{"b": {"c": [1, 2]}}],
     "[value] required property is missing", [{"a": [1, 2], "b": {"c": [1, 2]}}]),
    ("remove-keep", P({"remove": {"keep": ["b"]}}), [{"b": 1, "c": 2}],
     "[field] either field or exclude_field must be set", [{"b": 1}]),
    ("grok-ecs-compatibility",
     P({"grok": {"field": "m", "patterns": ["%{COMMONAPACHELOG}"], "ecs_compatibility": "v1"}}),
     [{"m": "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 200 5"}],
     "processor [grok] doesn't support one or more provided configuration parameters [ecs_compatibility]",
     None),
    ("json-conflict-strategy",
     P({"json": {"field": "v", "add_to_root": True, "add_to_root_conflict_strategy": "merge"}}),
     [{"v": "{\"o\": {\"b\": 2}}", "o": {"a": 1}}],
     "processor [json] doesn't support one or more provided configuration parameters [add_to_root_conflict_strategy]",
     [{"o": {"a": 1, "b": 2}, "v": "{\"o\": {\"b\": 2}}"}]),
    ("pipeline-ignore-missing-pipeline", P({"pipeline": {"name": "pl-nope", "ignore_missing_pipeline": True}}),
     [{"a": 1}],
     "processor [pipeline] doesn't support one or more provided configuration parameters [ignore_missing_pipeline]",
     [{"a": 1}]),
]


# Documents whose answers differ on purpose (docs/known-differences.md, "Ingest pipelines"):
# (case id, document index) -> why. They are checked to still differ, so a stale entry fails.
KNOWN = {
    ("remove", 1): "missing field: Elasticsearch 8's wording (`not present as part of path`)",
    ("remove", 2): "missing field: Elasticsearch 8's wording (`not present as part of path`)",
    ("kv", 3): "missing field: Elasticsearch 8's wording (`not present as part of path`)",
    ("kv", 4): "null field: Elasticsearch 8's wording (no trailing space)",
    ("convert-float", 17): "Java 17's Float.toString is not the shortest decimal (9.9999998E10)",
    ("json", 6): "a JSON syntax error is worded by serde_json, not Jackson",
    ("json", 9): "trailing text after the JSON value: Elasticsearch 8's strict_json_parsing (default true)",
    ("on-failure-per-processor", 0): "_ingest.on_failure_message is the processor's error, not its Java root cause",
}


def simulate(engine, definition, docs, verbose):
    body = {"pipeline": definition, "docs": [{"_index": "idx", "_id": str(i), "_source": d} for i, d in enumerate(docs)]}
    params = {"verbose": "true"} if verbose else {}
    return engine.call("POST", "/_ingest/pipeline/_simulate", body, **params)


def skip_unless_opensearch_has(processors, definition):
    lacking = processor_types(definition) - processors
    if lacking:
        pytest.skip(f"OpenSearch 2.19 has no {sorted(lacking)} processor here")


@pytest.mark.parametrize("verbose", [False, True], ids=["plain", "verbose"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_simulate_answers_as_opensearch(engines, case, verbose):
    os_engine, hy_engine, processors = engines
    _, definition, docs = case
    skip_unless_opensearch_has(processors, definition)
    if verbose and case[0] == "pipeline-missing":
        pytest.skip("OpenSearch refuses the whole verbose request (400) for a missing pipeline; Hydrant "
                    "answers the document's error, as without verbose (docs/known-differences.md)")
    want = simulate(os_engine, definition, docs, verbose)
    got = simulate(hy_engine, definition, docs, verbose)
    known = {i: why for (case_id, i), why in KNOWN.items() if case_id == case[0]}
    if known:
        for i in known:
            assert normalised(got[1]["docs"][i]) != normalised(want[1]["docs"][i]), f"stale KNOWN entry {i}"
            got[1]["docs"][i] = want[1]["docs"][i] = known[i]
    assert_same(got, want)


def assert_same(got, want):
    """Equal after normalising, else fails showing both answers (sorted keys, one per line)."""
    got, want = normalised(got), normalised(want)
    if got != want:
        show = lambda a: json.dumps(a, sort_keys=True, ensure_ascii=False)  # noqa: E731
        pytest.fail(f"\nhydrant:    {show(got)}\nopensearch: {show(want)}", pytrace=False)


@pytest.mark.parametrize("case", ES8_ONLY, ids=[c[0] for c in ES8_ONLY])
def test_elasticsearch_8_options_opensearch_refuses(engines, case):
    os_engine, hy_engine, _ = engines
    _, definition, docs, os_reason, hy_sources = case
    status, answer = simulate(os_engine, definition, docs, False)
    assert (status, answer["error"]["type"], answer["error"]["reason"]) == (400, "parse_exception", os_reason)
    status, answer = simulate(hy_engine, definition, docs, False)
    assert status == 200, answer
    sources = [d["doc"]["_source"] for d in answer["docs"]]
    if hy_sources is None:
        assert all("error" not in d for d in answer["docs"]), answer
    else:
        assert sources == hy_sources


# ============================================================================================
# PUT /_ingest/pipeline refusals, GET of a stored pipeline, _bulk ?pipeline=

BAD_DEFINITIONS = [
    ("no-processors-key", {"description": "x"}),
    ("unknown-processor", P({"nope": {"field": "a"}})),
    ("missing-field", P({"lowercase": {"tag": "lc"}})),
    ("unknown-option", P({"set": {"field": "a", "value": 1, "bogus": 2, "tag": "t"}})),
    ("bad-convert-type", P({"convert": {"field": "a", "type": "decimal", "tag": "c"}})),
    ("bad-grok-pattern", P({"grok": {"field": "m", "patterns": ["%{NOPE:x}"], "tag": "g"}})),
    ("grok-no-patterns", P({"grok": {"field": "m", "patterns": []}})),
    ("bad-gsub-regex", P({"gsub": {"field": "m", "pattern": "(", "replacement": ""}})),
    ("rename-no-target", P({"rename": {"field": "a"}})),
    ("nested-on-failure-bad", P({"set": {"field": "a", "value": 1, "on_failure": [{"fail": {}}]}})),
    ("processor-not-object", P({"set": "x"})),
    ("empty-on-failure", P({"set": {"field": "a", "value": 1}}, on_failure=[])),
]


def error_view(status, answer):
    e = answer.get("error", {})
    keys = ("type", "reason", "processor_type", "processor_tag", "property_name")
    return status, {k: e.get(k) for k in keys}


@pytest.mark.parametrize("case", BAD_DEFINITIONS, ids=[c[0] for c in BAD_DEFINITIONS])
def test_bad_definitions_are_refused_as_opensearch_refuses_them(engines, case):
    os_engine, hy_engine, _ = engines
    name, definition = case
    want = error_view(*os_engine.call("PUT", f"/_ingest/pipeline/bad-{name}", definition))
    got = error_view(*hy_engine.call("PUT", f"/_ingest/pipeline/bad-{name}", definition))
    assert want[0] == 400, want
    if name == "bad-gsub-regex":  # the regex engines word their syntax errors differently
        assert got[1]["reason"].startswith("[pattern] Invalid regex pattern. ")
        got[1]["reason"] = want[1]["reason"]
    assert_same(got, want)


def test_a_stored_pipeline_reads_back_as_opensearch_shows_it(engines):
    os_engine, hy_engine, _ = engines
    definition = {"description": "round trip", "version": 3,
                  "processors": [{"set": {"field": "a", "value": "{{b}}", "tag": "s"}},
                                 {"grok": {"field": "m", "patterns": ["%{WORD:w}"], "ignore_missing": True}}],
                  "on_failure": [{"set": {"field": "err", "value": "{{_ingest.on_failure_message}}"}}]}
    for e in (os_engine, hy_engine):
        assert e.call("PUT", "/_ingest/pipeline/pl-roundtrip", definition) == (200, {"acknowledged": True})
    assert_same(hy_engine.call("GET", "/_ingest/pipeline/pl-roundtrip"),
                os_engine.call("GET", "/_ingest/pipeline/pl-roundtrip"))
    assert_same(hy_engine.call("GET", "/_ingest/pipeline/pl-no-such"),
                os_engine.call("GET", "/_ingest/pipeline/pl-no-such"))


def bulk_view(answer):
    """Per item: (status, result, error type, error reason)."""
    out = []
    for item in answer["items"]:
        (op, body), = item.items()
        err = body.get("error") or {}
        out.append((body["_id"], op, body["status"], body.get("result"), err.get("type"), err.get("reason")))
    return sorted(out)


def test_bulk_with_a_pipeline_answers_each_item_as_opensearch(engines):
    os_engine, hy_engine, _ = engines
    stored = {
        "pl-bulk-dropper": P({"set": {"field": "seen", "value": True}}),
        "pl-bulk": P({"json": {"field": "raw"}}, {"convert": {"field": "n", "type": "integer", "ignore_missing": True}},
                     {"pipeline": {"name": "pl-bulk-dropper"}}),
        "pl-bulk-fail": P({"fail": {"message": "refused {{n}}"}}),
    }
    for e in (os_engine, hy_engine):
        for name, body in stored.items():
            assert e.call("PUT", f"/_ingest/pipeline/{name}", body)[0] == 200
    lines = []
    docs = [{"raw": "{\"a\": 1}", "n": "5"}, {"raw": "{bad"}, {"raw": "{}", "n": "x"}, {"raw": "{}"}]
    for i, d in enumerate(docs):
        lines += [{"index": {"_index": "pl-bulk-target", "_id": f"d{i}"}}, d]
    lines += [{"index": {"_index": "pl-bulk-target", "_id": "d4", "pipeline": "pl-inner-drops"}}, {"a": 1}]
    lines += [{"index": {"_index": "pl-bulk-target", "_id": "d5", "pipeline": "pl-bulk-fail"}}, {"n": 7}]
    lines += [{"create": {"_index": "pl-bulk-target", "_id": "d6", "pipeline": "pl-nope"}}, {"a": 1}]
    answers = [bulk_view(e.call("POST", "/_bulk", ndjson=lines, pipeline="pl-bulk")[1]) for e in (os_engine, hy_engine)]
    want, got = answers
    # The JSON parser's own wording differs (docs/known-differences.md); its type must not.
    want[1] = want[1][:5] + ("<json syntax error>",)
    got[1] = got[1][:5] + ("<json syntax error>",)
    assert_same(got, want)
