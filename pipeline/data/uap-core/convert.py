#!/usr/bin/env python3
"""Writes uap-core's regexes.yaml as regexes.json beside this script, unchanged in content.

The `user_agent` processor embeds the JSON (serde_json is already a dependency; the
maintained YAML crates are not). To update: get regexes.yaml from a uap-core release,
run `python3 convert.py path/to/regexes.yaml VERSION`, and note VERSION in ../../NOTICE.
Needs PyYAML.
"""
import json
import os
import sys

import yaml

src, version = sys.argv[1], sys.argv[2]
with open(src, encoding="utf-8") as f:
    data = yaml.safe_load(f)
data = {k: data[k] for k in ("user_agent_parsers", "os_parsers", "device_parsers")}
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "regexes.json")
with open(out, "w", encoding="utf-8") as f:
    json.dump(data, f, ensure_ascii=False, indent=0)
    f.write("\n")
print(f"uap-core {version}: {sum(len(v) for v in data.values())} rules -> {out}")
