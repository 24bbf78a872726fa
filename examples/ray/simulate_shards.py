#!/usr/bin/env python3
"""Fan `absrate simulate` out as N shards on a Ray cluster, then merge them.

Each shard is one Ray task that runs the absrate binary as a subprocess:

    absrate simulate --paths P --seed S --shard I/N --out OUT_DIR/shard-I.parquet [...]

When every shard has written its file, the driver runs

    absrate simulate merge OUT_DIR/shard-0.parquet ... OUT_DIR/shard-(N-1).parquet

and prints what it prints: the same summary a single run of all P paths prints (see
docs/scale-out.md for the shard/merge contract).

Without --address (and without RAY_ADDRESS in the environment) the script starts a local,
single-machine Ray cluster bound to 127.0.0.1 and stops it at the end. With --address it
connects to an existing cluster; every node must then see the absrate binary, the deal and the
output directory at the same paths (a shared filesystem).

The binary is --absrate, else $ABSRATE, else `absrate` on PATH.

Every shard runs to the end, even when another fails. Exit status: 0 when every shard and the
merge succeeded; otherwise, after printing each failing command and its stderr, the exit status
of the failing command (the lowest-numbered failing shard, or the merge), or 1 if it was killed by
a signal or could not be started; no merge is attempted when a shard failed. 2 for bad arguments.

Example (from the root of an absrate checkout):

    python3 examples/ray/simulate_shards.py --paths 100000 --seed 42 --shards 8 \\
        --deal pools/ledn-2026-1/deal.yaml --out-dir /tmp/absrate-shards
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

try:
    import ray
except ImportError:  # pragma: no cover - depends on the environment
    sys.exit(
        "simulate_shards.py: the `ray` package is not installed; "
        "pip install -r examples/ray/requirements.txt"
    )


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Run `absrate simulate` as N Ray tasks (one shard each), then merge.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Example: %(prog)s --paths 100000 --seed 42 --shards 8 --out-dir /tmp/shards",
    )
    p.add_argument("--paths", type=int, required=True, help="total number of paths (all shards)")
    p.add_argument("--seed", type=int, required=True, help="the run's seed")
    p.add_argument("--shards", type=int, required=True, help="N, the number of shards (tasks)")
    p.add_argument("--deal", help="deal directory passed to every shard (--deal)")
    p.add_argument("--methodology", help="ID@VERSION (or file) passed to every shard")
    p.add_argument("--model", help="price model name passed to every shard (--model)")
    p.add_argument(
        "--out-dir",
        default="shards",
        help="directory for shard-I.parquet files (default: ./shards); shared by every node",
    )
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="format of the merged summary (default: text)",
    )
    p.add_argument("--merged-out", help="also write the merged per-path Parquet file here")
    p.add_argument(
        "--absrate",
        default=os.environ.get("ABSRATE", "absrate"),
        help="path to the absrate binary (default: $ABSRATE, else `absrate` on PATH)",
    )
    p.add_argument(
        "--address",
        default=os.environ.get("RAY_ADDRESS"),
        help="Ray cluster to connect to, e.g. `auto` or ray://host:10001 "
        "(default: $RAY_ADDRESS, else start a local cluster on 127.0.0.1)",
    )
    p.add_argument(
        "--cpus-per-shard",
        type=int,
        default=1,
        help="CPUs Ray reserves per shard; also the shard's RAYON_NUM_THREADS (default: 1)",
    )
    args = p.parse_args(argv)
    if args.paths < 1:
        p.error("--paths must be at least 1")
    if args.shards < 1:
        p.error("--shards must be at least 1")
    if args.shards > args.paths:
        p.error(f"--shards ({args.shards}) is more than --paths ({args.paths})")
    if args.cpus_per_shard < 1:
        p.error("--cpus-per-shard must be at least 1")
    return args


def resolve_binary(name: str) -> str:
    """An absolute path to the binary, so that every task runs the same file."""
    if os.sep in name or (os.altsep and os.altsep in name):
        path = Path(name).expanduser().resolve()
        if not (path.is_file() and os.access(path, os.X_OK)):
            sys.exit(f"simulate_shards.py: {name} is not an executable file")
        return str(path)
    found = shutil.which(name)
    if found is None:
        sys.exit(
            f"simulate_shards.py: `{name}` is not on PATH; "
            "pass --absrate PATH or set ABSRATE"
        )
    return str(Path(found).resolve())


def absolute_if_path(value: str | None) -> str | None:
    """Paths that exist become absolute (tasks may not share the driver's cwd); an
    ID@VERSION methodology stays as it is."""
    if value is None:
        return None
    p = Path(value).expanduser()
    return str(p.resolve()) if p.exists() else value


def shard_command(binary: str, args: argparse.Namespace, index: int, out: Path) -> list[str]:
    cmd = [
        binary,
        "simulate",
        "--paths",
        str(args.paths),
        "--seed",
        str(args.seed),
        "--shard",
        f"{index}/{args.shards}",
        "--out",
        str(out),
    ]
    if args.model:
        cmd += ["--model", args.model]
    if args.deal:
        cmd += ["--deal", args.deal]
    if args.methodology:
        cmd += ["--methodology", args.methodology]
    return cmd


@ray.remote
def run_shard(index: int, cmd: list[str], cwd: str, out: str, threads: int) -> dict:
    """Run one shard; never raises, so the driver can report every failure clearly."""
    env = dict(os.environ)
    env["RAYON_NUM_THREADS"] = str(threads)
    started = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    except OSError as err:  # binary missing on this node, not executable, ...
        return {
            "index": index,
            "cmd": cmd,
            "returncode": None,
            "stdout": "",
            "stderr": f"could not start {cmd[0]}: {err}",
            "seconds": time.monotonic() - started,
            "node": os.uname().nodename,
        }
    result = {
        "index": index,
        "cmd": cmd,
        "returncode": proc.returncode,
        "stdout": proc.stdout,
        "stderr": proc.stderr,
        "seconds": time.monotonic() - started,
        "node": os.uname().nodename,
    }
    if proc.returncode == 0 and not Path(out).is_file():
        result["returncode"] = None
        result["stderr"] = (proc.stderr or "") + f"\nexited 0 but wrote no {out}"
    return result


def exit_code(returncode: int | None) -> int:
    """The failing command's own status when it has one, else 1."""
    return returncode if returncode and returncode > 0 else 1


def report_failure(what: str, cmd: list[str], returncode: int | None, stderr: str) -> None:
    status = "could not run" if returncode is None else (
        f"killed by signal {-returncode}" if returncode < 0 else f"exit status {returncode}"
    )
    print(f"simulate_shards.py: {what} failed ({status})", file=sys.stderr)
    print(f"  command: {shlex.join(cmd)}", file=sys.stderr)
    text = (stderr or "").rstrip()
    if text:
        print("  stderr:", file=sys.stderr)
        for line in text.splitlines():
            print(f"    {line}", file=sys.stderr)
    else:
        print("  stderr: (empty)", file=sys.stderr)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    binary = resolve_binary(args.absrate)
    args.deal = absolute_if_path(args.deal)
    args.methodology = absolute_if_path(args.methodology)
    out_dir = Path(args.out_dir).expanduser().resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    shard_files = [out_dir / f"shard-{i}.parquet" for i in range(args.shards)]
    for f in shard_files:  # a stale file from an earlier run must not be merged by mistake
        f.unlink(missing_ok=True)
    cwd = os.getcwd()

    if args.address:
        ray.init(address=args.address)
    else:
        # A local cluster on this machine only, without the dashboard.
        ray.init(_node_ip_address="127.0.0.1", include_dashboard=False)
    try:
        cpus = ray.cluster_resources().get("CPU", 0)
        print(
            f"simulate_shards.py: {args.shards} shards of {args.paths} paths on a Ray cluster "
            f"with {cpus:g} CPUs ({args.cpus_per_shard} per shard)",
            file=sys.stderr,
        )
        task = run_shard.options(num_cpus=args.cpus_per_shard)
        pending = {
            task.remote(i, shard_command(binary, args, i, f), cwd, str(f), args.cpus_per_shard): i
            for i, f in enumerate(shard_files)
        }
        results: dict[int, dict] = {}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            ref = done[0]
            pending.pop(ref)
            r = ray.get(ref)
            results[r["index"]] = r
            print(
                f"simulate_shards.py: shard {r['index']}/{args.shards} "
                f"{'done' if r['returncode'] == 0 else 'FAILED'} "
                f"in {r['seconds']:.1f}s on {r['node']}",
                file=sys.stderr,
            )
    finally:
        ray.shutdown()

    failures = [results[i] for i in sorted(results) if results[i]["returncode"] != 0]
    for r in failures:
        report_failure(f"shard {r['index']}/{args.shards}", r["cmd"], r["returncode"], r["stderr"])
    if failures:
        print(
            f"simulate_shards.py: {len(failures)} of {args.shards} shards failed; "
            "not merging, no summary was produced",
            file=sys.stderr,
        )
        return exit_code(failures[0]["returncode"])

    merge = [binary, "simulate", "merge", *map(str, shard_files), "--format", args.format]
    if args.merged_out:
        merge += ["--out", str(Path(args.merged_out).expanduser().resolve())]
    print(f"simulate_shards.py: merging: {shlex.join(merge)}", file=sys.stderr)
    try:
        proc = subprocess.run(merge, cwd=cwd, capture_output=True, text=True)
    except OSError as err:
        report_failure("merge", merge, None, f"could not start {binary}: {err}")
        return 1
    if proc.returncode != 0:
        report_failure("merge", merge, proc.returncode, proc.stderr)
        return exit_code(proc.returncode)
    sys.stderr.write(proc.stderr)
    sys.stdout.write(proc.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
