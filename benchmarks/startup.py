"""Start-up time of the command line: ``wattbit --help``, ``wattbit validate --help`` and a whole
``wattbit validate CASE``, against ``python -c pass`` (the interpreter alone).

Run from the repository root::

    python benchmarks/startup.py [--repeats 5] [--case cases/tokyo_substation_dc/case.toml]
                                 [--json FILE]

Each command runs ``--repeats`` times in a fresh subprocess, the commands interleaved within each
repeat so that a change in the machine's load hits them alike. Printed per command: the median
wall seconds (``time.perf_counter`` around the subprocess), the median CPU seconds of the child
(user + system, from ``resource.getrusage(RUSAGE_CHILDREN)``; steadier than wall time on a
shared machine), the ratio of each to ``python -c pass``'s, and the heavy libraries the command
imported (``sys.modules`` at exit, read in the same subprocess by a wrapper that runs the
command's entry point). The 1-minute load average is printed before each repeat.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("pyomo", "highspy", "matplotlib", "dask", "scipy", "xarray", "pandas", "pydantic")
# Runs the command line in-process, then names the heavy libraries it imported, on stderr.
WRAPPER = (
    "import sys\n"
    "from wattbit.cli import app\n"
    "try:\n"
    "    app(args=sys.argv[1:], prog_name='wattbit')\n"
    "except SystemExit:\n"
    "    pass\n"
    f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
    "print('IMPORTED ' + ','.join(heavy), file=sys.stderr)\n"
)


def _timed(argv: list[str]) -> tuple[float, float, str]:
    """Wall and child-CPU seconds of one subprocess run; its stderr."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()}")
    return wall, cpu, done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--case", default="cases/tokyo_substation_dc/case.toml")
    parser.add_argument("--json", type=Path, default=None, help="write the raw runs here")
    args = parser.parse_args()

    python = sys.executable
    commands = {
        "python -c pass": [python, "-c", "pass"],
        "wattbit --help": [python, "-c", WRAPPER, "--help"],
        "wattbit validate --help": [python, "-c", WRAPPER, "validate", "--help"],
        f"wattbit validate {args.case}": [python, "-c", WRAPPER, "validate", args.case],
    }
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    imported: dict[str, str] = {}
    for repeat in range(args.repeats):
        print(f"repeat {repeat + 1}/{args.repeats}: load {os.getloadavg()[0]:.2f}", flush=True)
        for name, argv in commands.items():
            wall, cpu, err = _timed(argv)
            runs[name].append((wall, cpu))
            marks = [line for line in err.splitlines() if line.startswith("IMPORTED ")]
            if marks:
                imported[name] = marks[-1].removeprefix("IMPORTED ") or "none"

    base_wall = statistics.median(w for w, _ in runs["python -c pass"])
    base_cpu = statistics.median(c for _, c in runs["python -c pass"])
    print(f"\nmedian of {args.repeats} runs (ratio: to python -c pass)")
    header = f"{'command':<48} {'wall s':>7} {'ratio':>6} {'CPU s':>7} {'ratio':>6}  imported"
    print(header)
    for name, values in runs.items():
        wall = statistics.median(w for w, _ in values)
        cpu = statistics.median(c for _, c in values)
        print(
            f"{name:<48} {wall:7.3f} {wall / base_wall:6.1f} {cpu:7.3f} {cpu / base_cpu:6.1f}  "
            f"{imported.get(name, '-')}"
        )
    if args.json is not None:
        args.json.write_text(json.dumps({"runs": runs, "imported": imported}, indent=1))


if __name__ == "__main__":
    main()
