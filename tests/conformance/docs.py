"""The document sets of the conformance suite: deterministic, so both engines and every run see
the same records in the same order.

- `apache`  : every third line of the public Apache access-log sample, parsed (3,334 records,
              17-20 May 2015, second resolution, so timestamps repeat).
- `app`     : 2,000 generated application logs (seeded), 27-30 March 2026 across the
              Europe/Berlin DST change, with unique millisecond timestamps.
- `awkward` : about 70 hand-made records, each showing one awkward thing (numbers as strings,
              mixed types, arrays of scalars and objects, unicode, DST, date formats, long
              strings, nulls, empty strings, ...). Their order matters: with dynamic mapping the
              first record that has a field decides its type.
- `nginx`   : the first 200 NGINX Plus status snapshots (deeply nested JSON, dotted keys,
              arrays of objects; `timestamp` in epoch millis and no `@timestamp`).
- `geo`     : 360 generated points around nine cities (two either side of the antimeridian) in
              every form a `geo_point` takes, a few documents with two points or none, and two
              that both engines refuse; loaded only as `geo_x` (`location` is a `geo_point`).

Every record has a unique `seq` (a tie-breaker for sorting) and a unique `_id`.
Explicit mappings (mappings.json) are given to the `apache_x`, `app_x`, `awkward_x` loads, and a
strict one (only five fields) to `strict_x` (the awkward records again).
"""

import datetime as dt
import json
import os
import random
import re

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../.."))
SAMPLES = os.path.join(ROOT, "tests/data/logs/elastic-examples")

# datasets loaded with dynamic mapping, into an index of the same name
DYNAMIC = ("apache", "app", "awkward", "nginx")


def iso_ms(t):
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# ---------------------------------------------------------------------------------------------
# apache
_COMBINED = re.compile(
    r'^(\S+) (\S+) (\S+) \[([^\]]+)\] "([^"]*)" (\d{3}) (\S+) "([^"]*)" "([^"]*)"?'
)


def apache():
    out = []
    with open(os.path.join(SAMPLES, "apache_logs"), encoding="utf-8") as f:
        lines = f.read().split("\n")
    for n, line in enumerate(lines):
        if not line or n % 3 != 0:
            continue
        m = _COMBINED.match(line)
        if not m:
            continue
        ip, ident, auth, ts, request, status, size, referrer, agent = m.groups()
        t = dt.datetime.strptime(ts, "%d/%b/%Y:%H:%M:%S %z")
        parts = request.split(" ")
        doc = {
            "@timestamp": t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "seq": n,
            "clientip": ip,
            "ident": ident,
            "auth": auth,
            "method": parts[0] if len(parts) == 3 else None,
            "path": parts[1] if len(parts) == 3 else request,
            "http_version": parts[2].split("/")[-1] if len(parts) == 3 else None,
            "status": int(status),
            "referrer": referrer,
            "agent": agent,
            "message": line,
        }
        if size != "-":
            doc["bytes"] = int(size)
        doc = {k: v for k, v in doc.items() if v is not None}
        out.append((f"apache-{n}", doc))
    return out


# ---------------------------------------------------------------------------------------------
# app
APP_START = dt.datetime(2026, 3, 27, 0, 0, tzinfo=dt.timezone.utc)
SERVICES = ["checkout", "checkout", "search", "search", "search", "auth", "billing", "inventory"]
LEVELS = ["info"] * 12 + ["debug"] * 4 + ["warn"] * 3 + ["error"] * 2
HOSTS = [f"web-{i:02d}" for i in range(1, 6)]
REGIONS = ["eu-west-1", "eu-central-1", "us-east-1"]
TAGS = ["canary", "beta", "internal", "mobile", "web"]
NAMES = ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra", "Barbara Liskov",
         "Donald Knuth", "Frances Allen", "John Backus", "Leslie Lamport", "Ken Thompson"]
TEMPLATES = {
    "info": ["request served for user {u} in {ms} ms", "cache hit for key {k}",
             "order {o} placed by user {u}", "search query returned {n} results",
             "user {u} logged in from {ip}"],
    "debug": ["opening connection to database shard {n}", "retrying request {k} after backoff",
              "parsed payload with {n} items"],
    "warn": ["slow request for user {u} took {ms} ms", "disk usage at {n} percent on {h}",
             "retrying upstream timeout talking to the database"],
    "error": ["upstream timeout talking to the database", "disk full on the data volume of {h}",
              "payment declined for order {o}", "null pointer exception in handler {k}"],
}
PATHS = ["/api/cart", "/api/search", "/api/login", "/api/orders", "/api/items/42", "/health"]


def app(n=2000, seed=20260327):
    rng = random.Random(seed)
    t = APP_START
    out = []
    for seq in range(n):
        t += dt.timedelta(milliseconds=rng.randint(60_000, 285_000))
        level = rng.choice(LEVELS)
        uid = rng.randint(1, 60)
        # multiples of 1/8: exact in float32 and float64, so sums and averages are exact too
        latency = round(rng.lognormvariate(4.0, 1.0) * 8) / 8
        status = {"error": rng.choice([500, 502, 503, 504]),
                  "warn": rng.choice([200, 404, 429])}.get(level, rng.choice([200, 200, 200, 201, 204, 304]))
        msg = rng.choice(TEMPLATES[level]).format(
            u=f"u{uid:03d}", ms=int(latency), k=f"k{rng.randint(1, 999)}", o=f"o-{rng.randint(1000, 9999)}",
            n=rng.randint(1, 100), ip=f"10.0.{rng.randint(0, 3)}.{rng.randint(1, 254)}", h=rng.choice(HOSTS))
        doc = {
            "@timestamp": iso_ms(t),
            "seq": seq,
            "service": rng.choice(SERVICES),
            "level": level,
            "host": rng.choice(HOSTS),
            "region": rng.choice(REGIONS),
            "latency_ms": latency,
            "status": status,
            "ok": status < 500,
            "bytes": rng.randint(0, 250_000),
            "user": {"id": f"u{uid:03d}", "name": NAMES[uid % len(NAMES)]},
            "client_ip": f"10.{rng.choice([0, 0, 1, 2])}.{rng.randint(0, 3)}.{rng.randint(1, 254)}",
            "http": {"method": rng.choice(["GET", "GET", "GET", "POST", "PUT", "DELETE"]),
                     "path": rng.choice(PATHS)},
            "trace_id": "%016x" % rng.getrandbits(64),
            "message": msg,
        }
        tags = rng.sample(TAGS, rng.choice([0, 0, 1, 1, 2, 3]))
        if tags:
            doc["tags"] = tags
        if level == "error":
            doc["error"] = {"code": rng.choice(["E_TIMEOUT", "E_DISK", "E_PAYMENT", "E_NPE"]),
                            "retryable": rng.choice([True, False])}
        out.append((f"app-{seq}", doc))
    return out


# ---------------------------------------------------------------------------------------------
# awkward: (kind, record) in a fixed order; ids w-00, w-01, ...
LONG_300 = ("The quick brown fox jumps over the lazy dog while the log pipeline keeps ingesting "
            "records from every service in the cluster; this sentence goes on and on so that "
            "it is longer than two hundred and fifty six characters, which is the ignore_above "
            "limit of dynamic keyword sub-fields in Elasticsearch and OpenSearch alike.")
LONG_1000 = ("lorem ipsum dolor sit amet consectetur adipiscing elit " * 19)[:1000]


def _awkward_records():
    T = "2026-03-28T12:00:00Z"
    r = []

    def add(kind, **fields):
        rec = {"@timestamp": T}
        rec.update(fields)
        rec["kind"] = kind
        r.append(rec)

    # numbers, then numbers as strings (the first record decides the dynamic type: long)
    add("num", num=5, price=19.5)
    add("num-string", num="7", price="20.25")
    add("num-string-float", num="12.5", price="3")
    add("num-not-a-number", num="abc")
    add("num-negative", num=-3, price=-0.5)
    add("num-big", big=9007199254740993, num=1_000_000)
    add("num-long-max", big=9223372036854775807)
    add("float-inexact", ratio=0.1, score=123.456)
    add("float-inexact", ratio=0.2, score=1e-7)
    add("float-huge", ratio=1e308)
    # a field whose type changes across records
    add("mixed-bool", mixed=True)
    add("mixed-string", mixed="yes")
    add("mixed-number", mixed=3)
    add("mixed-object", mixed={"a": 1})
    add("mixed-str-first", code="E42")
    add("mixed-str-then-num", code=42)
    add("mixed-str-then-bool", code=False)
    # arrays
    add("array-scalars", tags=["red", "green", "blue"], nums=[1, 2, 3])
    add("array-one", tags=["green"], nums=[10])
    add("array-empty", tags=[], nums=[])
    add("array-with-null", tags=[None, "red"], nums=[None, 7])
    add("array-mixed", nums=[1, "2", 3.5])
    add("array-objects", items=[{"name": "apple", "qty": 1}, {"name": "pear", "qty": 5}])
    add("array-objects", items=[{"name": "pear", "qty": 1}, {"name": "plum", "qty": 2}])
    add("array-nested-arrays", matrix=[[1, 2], [3, [4, 5]]])
    # nested objects and dotted keys
    add("nested-deep", a={"b": {"c": {"d": {"e": "deep value"}}}})
    add("nested-dotted-key", **{"a.b.c.d.e": "dotted value"})
    add("nested-mixed-dots", a={"b.c": {"d": {"e": "half dotted"}}})
    add("nested-siblings", geo={"city": "Berlin", "country": {"code": "DE", "name": "Germany"}})
    add("nested-siblings", geo={"city": "Tokyo", "country": {"code": "JP", "name": "Japan"}})
    # missing, null, empty
    add("missing-level")
    add("null-level", level=None, tags=None)
    add("empty-level", level="", tags=[""])
    add("level", level="info")
    add("level", level="INFO")
    add("level", level="Info ")
    # unicode
    add("unicode-accents", text="Café crème brûlée à la française", level="info")
    add("unicode-accents", text="cafe creme brulee a la francaise", level="info")
    add("unicode-german", text="Die Straße ist groß und die Maße stimmen", level="warn")
    add("unicode-cjk", text="東京で会議があります", level="info")
    add("unicode-cjk", text="北京欢迎你 中文日志", level="error")
    add("unicode-emoji", text="deploy finished 🎉 rocket 🚀 launched", level="info")
    add("unicode-emoji-only", text="🔥🔥🔥", level="error")
    add("unicode-rtl", text="مرحبا بالعالم", level="info")
    add("unicode-combining", text="Cafe\u0301 decomposed", level="info")
    add("punctuation", text="user@example.com visited https://example.com/a/b?c=d&e=f; it's O'Reilly's e-mail", level="info")
    add("numbers-in-text", text="error 404 at 10.0.0.1:8080 after 3.5s (code E_42)", level="error")
    # long strings
    add("long-300", long_text=LONG_300, level="info")
    add("long-1000", long_text=LONG_1000, level="info")
    add("long-short", long_text="short value", level="info")
    add("long-exactly-256", long_text="x" * 256, level="info")
    add("long-257", long_text="y" * 257, level="info")
    # booleans
    add("bool-true", flag=True)
    add("bool-false", flag=False)
    add("bool-string", flag="true")
    add("bool-string-false", flag="false")
    add("bool-number", flag=1)
    # ip addresses
    add("ip-v4", client="10.0.0.1")
    add("ip-v4", client="192.168.1.20")
    add("ip-v6", client="2001:db8::1")
    add("ip-v6-loopback", client="::1")
    add("ip-bad", client="not-an-ip")
    # the `when` field in several date formats (first one: ISO with offset, date detection)
    add("date-iso-offset", when="2026-03-29T01:30:00+01:00")
    add("date-iso-z", when="2026-03-29T01:30:00Z")
    add("date-only", when="2026-03-29")
    add("date-epoch-millis", when=1774747800000)
    add("date-epoch-millis-string", when="1774747800000")
    add("date-no-zone", when="2026-03-29T03:30:00")
    add("date-space", when="2026-03-29 03:30:00")
    add("date-nanos", when="2026-03-29T03:30:00.123456789Z")
    add("date-garbage", when="yesterday")
    # @timestamp itself: DST change in Europe/Berlin (2026-03-29 01:00 UTC: 02:00 CET -> 03:00 CEST)
    for hh, mm in [(22, 30), (23, 30)]:
        r.append({"@timestamp": f"2026-03-28T{hh}:{mm}:00Z", "kind": "dst"})
    for hh, mm in [(0, 0), (0, 30), (0, 59), (1, 0), (1, 30), (2, 0), (22, 30)]:
        r.append({"@timestamp": f"2026-03-29T{hh:02d}:{mm:02d}:00Z", "kind": "dst"})
    r.append({"@timestamp": "2026-03-29T02:30:00+02:00", "kind": "dst-offset"})
    r.append({"@timestamp": "2026-03-29T01:59:59.999+01:00", "kind": "dst-offset"})
    # @timestamp formats
    r.append({"@timestamp": 1774782000000, "kind": "ts-epoch-millis"})
    r.append({"@timestamp": "1774782000000", "kind": "ts-epoch-millis-string"})
    r.append({"@timestamp": "2026-03-29", "kind": "ts-date-only"})
    r.append({"@timestamp": "2026-03-29T10:00:00", "kind": "ts-no-zone"})
    r.append({"@timestamp": "2026-03-29T10:00:00.5+05:30", "kind": "ts-odd-offset"})
    r.append({"kind": "ts-missing"})
    r.append({"timestamp": "2026-03-29T11:00:00Z", "kind": "ts-other-name"})
    for i, rec in enumerate(r):
        rec["seq"] = i
    return r


def awkward():
    return [(f"w-{i:02d}", rec) for i, rec in enumerate(_awkward_records())]


# ---------------------------------------------------------------------------------------------
# nginx
def nginx(n=200):
    out = []
    with open(os.path.join(SAMPLES, "nginxplus_json_logs"), encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i >= n:
                break
            rec = json.loads(line)
            rec["seq"] = i
            out.append((f"nginx-{i}", rec))
    return out


# ---------------------------------------------------------------------------------------------
# geo: points around a few cities (two near the antimeridian), in every form a geo_point takes
GEO_CITIES = [
    ("amsterdam", 52.3676, 4.9041), ("paris", 48.8566, 2.3522), ("london", 51.5074, -0.1278),
    ("berlin", 52.5200, 13.4050), ("new_york", 40.7128, -74.0060), ("tokyo", 35.6762, 139.6503),
    ("suva", -18.1248, 178.4501), ("apia", -13.8507, -171.7514), ("cape_town", -33.9249, 18.4241),
]


def _geohash(lat, lon, precision=12):
    alphabet = "0123456789bcdefghjkmnpqrstuvwxyz"
    lat_r, lon_r, bits, bit, even, out = [-90.0, 90.0], [-180.0, 180.0], 0, 0, True, ""
    while len(out) < precision:
        r, v = (lon_r, lon) if even else (lat_r, lat)
        mid = (r[0] + r[1]) / 2
        if v >= mid:
            bits = bits * 2 + 1
            r[0] = mid
        else:
            bits *= 2
            r[1] = mid
        even = not even
        bit += 1
        if bit == 5:
            out += alphabet[bits]
            bits, bit = 0, 0
    return out


def geo(n=360, seed=4326):
    rng = random.Random(seed)
    t = dt.datetime(2026, 3, 28, 6, 0, tzinfo=dt.timezone.utc)
    out = []
    for seq in range(n):
        t += dt.timedelta(seconds=rng.randint(30, 300))
        city, clat, clon = GEO_CITIES[seq % len(GEO_CITIES)] if seq % 7 else rng.choice(GEO_CITIES)
        spread = rng.choice([0.05, 0.3, 1.5])
        lat = round(min(89.9, max(-89.9, clat + rng.uniform(-spread, spread))), 6)
        lon = clon + rng.uniform(-spread, spread)
        lon = round(lon - 360 if lon > 180 else lon + 360 if lon < -180 else lon, 6)
        form = seq % 6
        location = [{"lat": lat, "lon": lon}, f"{lat},{lon}", [lon, lat], f"POINT ({lon} {lat})",
                     _geohash(lat, lon), {"lat": str(lat), "lon": str(lon)}][form]
        doc = {"@timestamp": iso_ms(t), "seq": seq, "city": city, "form": form,
               "weight": rng.randint(1, 9), "location": location}
        if seq % 50 == 3:
            del doc["location"]
        if seq % 61 == 5:
            # two points: the document is in both places
            doc["location"] = [{"lat": lat, "lon": lon}, {"lat": -lat / 2, "lon": lon / 3}]
        out.append((f"geo-{seq}", doc))
    # refused by both engines: off the earth, and no point at all
    out.append(("geo-bad-lat", {"@timestamp": iso_ms(t), "seq": n, "city": "nowhere",
                                "location": {"lat": 95.0, "lon": 10.0}}))
    out.append(("geo-bad-text", {"@timestamp": iso_ms(t), "seq": n + 1, "city": "nowhere",
                                 "location": "somewhere over the rainbow"}))
    return out


DOCUMENTS = {"apache": apache, "app": app, "awkward": awkward, "nginx": nginx, "geo": geo}


def documents(dataset):
    """[(id, record)] of a dataset."""
    return DOCUMENTS[dataset]()


def explicit_loads():
    """{index: {"dataset": ..., "mappings": ES mappings}} of the explicit loads (mappings.json)."""
    with open(os.path.join(HERE, "mappings.json"), encoding="utf-8") as f:
        return json.load(f)


def flatten_properties(props, prefix=""):
    """[(dotted path, type)] of an ES `properties` object."""
    out = []
    for name, spec in props.items():
        path = prefix + name
        if "properties" in spec:
            out.extend(flatten_properties(spec["properties"], path + "."))
        else:
            out.append((path, spec["type"]))
    return out


PROBE_PREFIX = "probe_"


def hydrant_toml(dynamic_rotation="NoRotation", explicit_rotation="OneDay"):
    """Hydrant's configuration: a stream per load, the explicit ones with the fields of
    mappings.json (`@timestamp` is always a date in Hydrant and cannot be listed); and for each
    load a `probe_<index>` stream with the same mapping and no rotation (run.py sends it the
    records OpenSearch refused, to learn whether Hydrant refuses them too, then deletes it)."""
    lines = []
    for name in DYNAMIC:
        for stream, rotation in ((name, dynamic_rotation), (PROBE_PREFIX + name, "NoRotation")):
            lines += [f"[streams.{stream}.index]", f'rotation = "{rotation}"', ""]
    # The single-document cases (cases/zz_documents_api.json) write here: no rotation, so that
    # `_index` is the name on both sides.
    lines += ["[streams.conf-docs.index]", 'rotation = "NoRotation"', ""]
    for index, load in explicit_loads().items():
        mapping = load["mappings"]
        for stream, rotation in ((index, explicit_rotation), (PROBE_PREFIX + index, "NoRotation")):
            lines += [f"[streams.{stream}.index]", f'rotation = "{rotation}"', "",
                      f"[streams.{stream}.index.mapping]",
                      f'mode = "{"strict" if mapping.get("dynamic") == "strict" else "dynamic"}"', "",
                      f"[streams.{stream}.index.mapping.fields]"]
            for path, kind in flatten_properties(mapping["properties"]):
                if path == "@timestamp":
                    continue
                lines.append(f'"{path}" = "{kind}"')
            lines.append("")
    return "\n".join(lines)


def loads():
    """[(index name, dataset, ES mapping or None)]: the dynamic loads, then the explicit ones."""
    out = [(name, name, None) for name in DYNAMIC]
    for index, load in explicit_loads().items():
        out.append((index, load["dataset"], load["mappings"]))
    return out


if __name__ == "__main__":
    for index, dataset, mapping in loads():
        print(index, len(documents(dataset)), "explicit" if mapping else "dynamic")
    print(hydrant_toml())
