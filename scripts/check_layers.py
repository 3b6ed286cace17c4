#!/usr/bin/env python3
"""Checks that core/ includes one way only.

Each folder of core/ is a layer; a file may include headers of its own layer
and of the layers it is allowed to build on, never the other way round:

    util <- sql <- billing <- cgi, cli <- robokassa, stripe

A core header is included by its path from core/ ("util/text.hpp"); a bare
name that is a core header is an error too, since it hides the layer.
Prints each violation as FILE:LINE and exits 1 when there is any.
"""
import pathlib
import re
import sys

ALLOWED = {
    "util": {"util"},
    "sql": {"util", "sql"},
    "billing": {"util", "sql", "billing"},
    "cgi": {"util", "sql", "billing", "cgi"},
    "cli": {"util", "sql", "billing", "cli"},
    "robokassa": {"util", "sql", "billing", "cgi", "cli", "robokassa"},
    "stripe": {"util", "sql", "billing", "cgi", "cli", "stripe"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    core = root / "core"
    layers = {d.name for d in core.iterdir() if d.is_dir()}
    bad = []
    unknown = layers - ALLOWED.keys()
    for layer in sorted(unknown):
        bad.append(f"core/{layer}: a folder that is no known layer (add it to ALLOWED)")
    stray = [p for p in core.glob("*.[ch]pp")]
    for p in stray:
        bad.append(f"{p.relative_to(root)}: a source outside every layer folder")
    headers = {p.name for p in core.glob("*/*.hpp")}
    for source in sorted(core.glob("*/*.[ch]pp")):
        layer = source.parent.name
        for number, line in enumerate(source.read_text().splitlines(), 1):
            match = INCLUDE.match(line)
            if not match:
                continue
            target = match.group(1)
            where = f"{source.relative_to(root)}:{number}"
            if "/" not in target:
                if target in headers:
                    bad.append(f'{where}: include "{target}" by its layer path')
                continue
            target_layer = target.split("/", 1)[0]
            if target_layer not in layers:
                continue
            if target_layer not in ALLOWED.get(layer, set()):
                bad.append(f"{where}: {layer} must not include {target} ({target_layer})")
    for line in bad:
        print(line)
    print(f"check_layers: {len(bad)} violation(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
