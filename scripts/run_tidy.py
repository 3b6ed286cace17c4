#!/usr/bin/env python3
"""Runs clang-tidy with the tree's .clang-tidy over every program and library
source, warnings as errors; exits 1 on any finding.

    run_tidy.py SOURCE_DIR TIDY_BUILD_DIR [--jobs N] [--clang-tidy EXE] [-- CMAKE_ARGS...]

It configures TIDY_BUILD_DIR as a unity build (CMake writes one source per
batch of a target's files, each #including them) without the tests, and
checks those sources. clang-tidy's time goes into parsing and matching the
standard and Boost headers every file includes, so checking the 55 files as
14 unity sources is the same findings for a third of the time (174 CPU-s ->
72 on 2 cores). Findings in the #included files are reported under their
own names: .clang-tidy's HeaderFilterRegex covers them.

What the unity sources cannot tell:
- bugprone-suspicious-include (they #include .cpp files by design): the same
  rule, no #include of an implementation file, is checked here by a scan;
- two files of one target that define the same name with internal linkage
  are a redefinition in a unity source, reported as clang-diagnostic-error.
  Rename one, or exclude the file with the SKIP_UNITY_BUILD_INCLUSION
  source property.
"""
import argparse
import concurrent.futures
import json
import pathlib
import re
import subprocess
import sys

SUSPICIOUS_INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+\.(?:c|cc|cpp|cxx))[>"]', re.M)
SOURCE_SUFFIXES = {".c", ".cc", ".cpp", ".cxx", ".h", ".hpp"}


def configure(source: pathlib.Path, build: pathlib.Path, cmake_args: list) -> None:
    subprocess.run(["cmake", "-S", str(source), "-B", str(build), "-DCMAKE_UNITY_BUILD=ON",
                    "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON", "-DPMROBOKASSA_ENABLE_TESTING=OFF",
                    *cmake_args], check=True, stdout=subprocess.DEVNULL)


def included_sources(unity_sources: list) -> list:
    """The files the unity sources stand for (a source CMake left out of
    every batch is its own entry and stands for itself)."""
    files = []
    for unity in unity_sources:
        text = unity.read_text(encoding="utf-8", errors="replace")
        named = re.findall(r'^#include "([^"]+)"', text, re.M) if "/Unity/" in unity.as_posix() else []
        files.extend(pathlib.Path(name) for name in named or [str(unity)])
    return files


def suspicious_includes(files: list) -> list:
    found = []
    headers = set()
    for file in files:
        headers.update(p for p in file.parent.iterdir() if p.suffix in {".h", ".hpp"})
    for file in sorted(set(files) | headers):
        if file.suffix not in SOURCE_SUFFIXES:
            continue
        text = file.read_text(encoding="utf-8", errors="replace")
        for match in SUSPICIOUS_INCLUDE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(f"{file}:{line}: includes the implementation file {match.group(1)} "
                         "[bugprone-suspicious-include]")
    return found


def tidy(exe: str, config: pathlib.Path, build: pathlib.Path, source: str):
    result = subprocess.run([exe, f"--config-file={config}", "-checks=-bugprone-suspicious-include",
                             "-p", str(build), "--quiet", source],
                            capture_output=True, text=True)
    return source, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=pathlib.Path)
    parser.add_argument("build", type=pathlib.Path)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--clang-tidy", default="clang-tidy")
    parser.add_argument("cmake_args", nargs="*")
    args = parser.parse_args()
    source = args.source.resolve()
    build = args.build.resolve()
    config = source / ".clang-tidy"

    configure(source, build, args.cmake_args)
    entries = json.loads((build / "compile_commands.json").read_text(encoding="utf-8"))
    unity_sources = [pathlib.Path(entry["file"]) for entry in entries]
    checked = included_sources(unity_sources)
    problems = suspicious_includes(checked)

    failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        jobs = [pool.submit(tidy, args.clang_tidy, config, build, str(unity))
                for unity in unity_sources]
        for job in concurrent.futures.as_completed(jobs):
            unity, result = job.result()
            if result.returncode != 0:
                failed += 1
                print(f"== clang-tidy {unity}: exit {result.returncode}")
                print(result.stdout + result.stderr, end="")
    for problem in problems:
        print(problem)
    print(f"clang-tidy: {len(checked)} files in {len(unity_sources)} unity sources, "
          f"{failed} with findings, {len(problems)} suspicious includes")
    return 1 if failed or problems else 0


if __name__ == "__main__":
    sys.exit(main())
