"""Every benchmark of the project, on SQLite and PostgreSQL, into the README's table.

Runs, each as its own process (so one benchmark's memory and threads never skew the next):
resolve (17,000 polygons), intake latency (1,000 sequential signed alerts), console delivery
(500 consoles, 100 alerts/s for 30 s; one process on SQLite, one and two on PostgreSQL) with
maximum sustained throughput, escalation lateness and restart catch-up, and the one-month
state-wide review over 1,000,000 generated alerts. Each writes JSON under bench-results/;
the tables go into README.md between the BENCHMARKS markers.

Usage: make bench   (= .venv/bin/python scripts/bench_all.py)
       .venv/bin/python scripts/bench_all.py [--postgres URL] [--quick] [--only NAME ...]

--postgres defaults to $DISPATCH_BENCH_POSTGRES_URL or postgresql://postgres@127.0.0.1:5432/bench
(its public schema is reset). --quick runs every benchmark at a small size (a smoke test).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scripts.benchutil import calibrate

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench-results"
PYTHON = sys.executable
BEGIN = "<!-- BENCHMARKS:BEGIN (written by scripts/bench_all.py) -->"
END = "<!-- BENCHMARKS:END -->"


def run(name: str, args: list[str]) -> dict[str, Any]:
    """Run one benchmark script; return its JSON and the table it printed."""
    out = RESULTS / f"{name}.json"
    command = [PYTHON, str(REPO / "scripts" / args[0]), *args[1:], "--json", str(out)]
    print(f"\n== {name}: {' '.join(command[1:])}", flush=True)
    before = calibrate()
    started = time.monotonic()
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    seconds = round(time.monotonic() - started)
    after = calibrate()
    print(f"calibration {before} ms before, {after} ms after", flush=True)
    print(proc.stdout[-4000:], flush=True)
    if proc.returncode != 0:
        print(proc.stderr[-4000:], file=sys.stderr, flush=True)
        return {"error": f"exit {proc.returncode}", "table": "", "command": command}
    table = "\n".join(line for line in proc.stdout.splitlines() if line.startswith("|"))
    data = json.loads(out.read_text()) if out.exists() else {}
    return {
        "data": data,
        "table": table,
        "seconds": seconds,
        "calibration_ms": [before, after],
        "command": " ".join(["python", *command[1:-2]]).replace(str(REPO) + "/", ""),
    }


def ensure_database(url: str) -> None:
    """Create the benchmark database if the server does not have it yet."""
    import sqlalchemy as sa

    from dispatch.db import normalise_url

    url = normalise_url(url)
    name = sa.engine.make_url(url).database
    admin = sa.create_engine(
        sa.engine.make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        exists = conn.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first()
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def main() -> None:
    """Run the benchmarks and write the README section."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "DISPATCH_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/bench"
        ),
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    pg = args.postgres
    ensure_database(pg)
    quick = args.quick
    history = Path(tempfile.mkdtemp(prefix="dispatch-history-")) / "history.db"
    count = "20000" if quick else "1000000"
    plan: list[tuple[str, list[str]]] = [
        ("resolve", ["bench_resolve.py"] + (["--points", "10000"] if quick else [])),
        (
            "intake",
            ["bench_intake.py", "--count", "200" if quick else "1000", "--postgres", pg],
        ),
        (
            "live",
            [
                "bench_live.py",
                "--postgres",
                pg,
                "--throughput",
                *(
                    ["--consoles", "50", "--stations", "10", "--rate", "20", "--seconds", "5"]
                    if quick
                    else []
                ),
            ],
        ),
        (
            "escalation",
            ["bench_escalation.py", "--postgres", pg]
            + (["--count", "200", "--rate", "20"] if quick else []),
        ),
    ]
    selected = [(n, a) for n, a in plan if not args.only or n in args.only]
    results: dict[str, dict[str, Any]] = {}
    for name, command in selected:
        results[name] = run(name, command)
    if not args.only or "review" in args.only:
        for target in (str(history), pg):
            subprocess.run(
                [PYTHON, "scripts/gen_history.py", target, "--count", count, "--reset"],
                cwd=REPO,
                check=True,
            )
        results["review"] = run(
            "review", ["bench_review.py", "--sqlite", str(history), "--postgres", pg]
        )
        results["review"]["command"] = (
            f"python scripts/gen_history.py FILE_OR_URL --count {count} --reset; "
            + results["review"]["command"].replace(str(history), "FILE")
        )
    if not args.no_readme:
        write_readme(results, quick)
    print(f"\nresults in {RESULTS}")


ORDER = ("resolve", "intake", "live", "escalation", "review")


def _calibration_note(calibration: list[float] | None) -> str:
    if not calibration:
        return ""
    low, high = sorted(calibration)
    return f", calibration {low} ms" if low == high else f", calibration {low}-{high} ms"


def write_readme(results: dict[str, dict[str, Any]], quick: bool) -> None:
    """Replace the README's benchmark section: this run's tables, and for benchmarks not run
    this time (`--only`), the tables kept from their last run in bench-results/."""
    when = time.strftime("%Y-%m-%d")
    for name, result in results.items():
        if result.get("table"):
            (RESULTS / f"{name}.md").write_text(
                f"**{name}** (`{result.get('command', '')}`, {when}"
                + (", QUICK sizes" if quick else "")
                + _calibration_note(result.get("calibration_ms"))
                + ")\n\n"
                + result["table"]
                + "\n"
            )
    lines = [BEGIN, ""]
    lines.append(
        "Measured with `make bench` on this project's 2-core machine (PostgreSQL 15 on the "
        "same machine); each table says when, and the machine's calibration before and after "
        "it (`scripts/benchutil.py calibrate`: milliseconds for a fixed piece of Python work, "
        "lower is faster). Figures are comparable only at a similar calibration; earlier "
        "machines' figures are in docs/benchmark-history.md."
    )
    for name in ORDER:
        saved = RESULTS / f"{name}.md"
        if saved.exists():
            lines += ["", saved.read_text().rstrip()]
        elif name in results:
            lines += ["", f"**{name}**: failed: {results[name].get('error')}"]
    lines += ["", END]
    readme = REPO / "README.md"
    text = readme.read_text()
    block = "\n".join(lines)
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    readme.write_text(text)


if __name__ == "__main__":
    main()
