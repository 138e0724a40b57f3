#!/usr/bin/env python3
"""Fails when a tracked file refers to a path outside the repository.

A clone must stand on its own: no test, bench, script or document may read or link to
something beside it. Checked: Markdown links (resolved from the file's folder, and they must
exist), and in every text file, relative paths that climb above the repository root
(`../` chains) and absolute paths into a developer's workspace.
"""

import os
import re
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
CLIMB = re.compile(r"(?<![\w.])((?:\.\./)+)[\w.-]")
WORKSPACE = re.compile(r"(?<![\w.])/work/")


def tracked():
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    return [p for p in out.decode().split("\0") if p]


def inside(path):
    return os.path.abspath(path).startswith(ROOT + os.sep) or os.path.abspath(path) == ROOT


def main():
    problems = []
    for rel in tracked():
        if rel.startswith("tests/data/"):
            continue  # third-party data, kept byte for byte
        path = os.path.join(ROOT, rel)
        try:
            text = open(path, encoding="utf-8").read()
        except (UnicodeDecodeError, IsADirectoryError, FileNotFoundError):
            continue
        here = os.path.dirname(path)
        for n, line in enumerate(text.splitlines(), 1):
            for m in CLIMB.finditer(line):
                target = os.path.join(here, m.group(1))
                if not inside(target):
                    problems.append(f"{rel}:{n}: `{m.group(0)}…` climbs out of the repository")
            if WORKSPACE.search(line) and rel != ".ci/check_paths.py":
                problems.append(f"{rel}:{n}: an absolute path into a workspace: {line.strip()[:120]}")
            if rel.endswith(".md"):
                for m in LINK.finditer(line):
                    target = m.group(1)
                    if re.match(r"^[a-z]+:", target) or target.startswith("/"):
                        continue
                    resolved = os.path.join(here, target)
                    if not inside(resolved):
                        problems.append(f"{rel}:{n}: link `{target}` leaves the repository")
                    elif not os.path.exists(resolved):
                        problems.append(f"{rel}:{n}: link `{target}` names nothing in the repository")
    if problems:
        print("tracked files refer to paths outside the repository:", file=sys.stderr)
        print("\n".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
