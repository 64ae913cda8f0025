"""Benchmark: offboarding a large dealer, against the round-trip limit and two other ways to do it.

The large dealer: 1,000 Google Ads + 1,000 Microsoft Advertising + 500 Meta campaigns (scaled by
--campaigns-scale), plus the demo dealer's trackers and access items, behind the sandbox's
stand-ins with --latency-ms of latency on every call of every stand-in; each contender and round
on a fresh sandbox. Side by side:

1. adoffboard as a user runs it: an approved cancellation, then `adoffboard run CLIENT --yes` in
   a subprocess (cold start included): wall time, peak RSS, calls per platform (reads/writes),
   against the minimum calls per ad platform from the vendors' documented limits (bench/minimum.py)
   and the critical-path bound (the slowest platform's minimum chain x the round trip).
2. A one-call-per-campaign script through the official SDKs (bench/sdk_scripts.py): the speed-up.
3. getyourguide/sem-emergency-stop's algorithm for the Google pause, against adoffboard's Google
   pause alone (`run -r sem-pause`).

Medians over --rounds. `--campaigns N` instead plans a Google account of N campaigns with
`sem-cancellation` and reports the plan's wall time and peak RSS. `--apply-cpu` instead measures
the CPU of `adoffboard apply` for Meta and Microsoft Advertising alone at 1,000 and 10,000
campaigns (latency 0 unless --latency-ms is given) and prints, per platform, how CPU grows for
ten times the work: a journal or store cost that grows with the run shows up as a ratio well
above 10x.

    .venv/bin/python bench/offboarding.py [--campaigns-scale 1] [--latency-ms 100] [--rounds 3]
    .venv/bin/python bench/offboarding.py --campaigns 10000 [--json]
    .venv/bin/python bench/offboarding.py --apply-cpu [--rounds 1] [--json]
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import contenders  # noqa: E402
from dealer import AD_PLATFORMS, Dealer  # noqa: E402

Figures = dict[str, float]
APPLY_CPU_PLATFORMS = ("meta", "microsoft_ads")
APPLY_CPU_SIZES = (1000, 10000)
COLUMNS = ("span", "reads", "writes", "calls", "minimum", "calls_ratio", "bound")


def medians(rounds: list[Figures]) -> Figures:
    keys = sorted({k for r in rounds for k in r})
    return {k: statistics.median(r[k] for r in rounds if k in r) for k in keys}


def repeat(n: int, fn: Callable[[], Figures | None]) -> Figures | None:
    done = [fn() for _ in range(n)]
    found = [r for r in done if r is not None]
    return medians(found) if found else None


def derived(f: Figures, latency_ms: int) -> Figures:
    """The ratios: wall / bound, calls / minimum, the speed-ups."""
    rtt = latency_ms / 1000
    out: Figures = {}
    ad = [p for p in AD_PLATFORMS if f"adoffboard.{p}.minimum" in f]
    for p in ad:
        out[f"adoffboard.{p}.calls_ratio"] = (
            f[f"adoffboard.{p}.calls"] / f[f"adoffboard.{p}.minimum"]
        )
        out[f"adoffboard.{p}.bound"] = f[f"adoffboard.{p}.minimum"] * rtt
    out["adoffboard.calls"] = sum(f[f"adoffboard.{p}.calls"] for p in ad)
    out["adoffboard.minimum"] = sum(f[f"adoffboard.{p}.minimum"] for p in ad)
    out["adoffboard.calls_ratio"] = out["adoffboard.calls"] / out["adoffboard.minimum"]
    out["adoffboard.bound"] = max(out[f"adoffboard.{p}.bound"] for p in ad)
    if rtt:
        out["adoffboard.wall_ratio"] = f["adoffboard.wall"] / out["adoffboard.bound"]
    if "script.wall" in f:
        out["script.calls"] = sum(f.get(f"script.{p}.calls", 0) for p in ad)
        out["script.speedup"] = f["script.wall"] / f["adoffboard.wall"]
    if "replica.wall" in f:
        out["google_pause.ratio"] = f["google_pause.span"] / f["replica.wall"]
    return out


def table(f: Figures, args: argparse.Namespace) -> str:
    g = f.get
    lines = [
        f"large dealer x{args.campaigns_scale:g}: {args.latency_ms} ms per call, "
        f"medians of {args.rounds} round(s)",
        "",
        "adoffboard run --yes     span s  reads writes  calls minimum  ratio  bound s",
    ]
    for p in AD_PLATFORMS:
        if f"adoffboard.{p}.minimum" in f:
            n = {k: g(f"adoffboard.{p}.{k}", 0) for k in COLUMNS}
            lines.append(
                f"  {p:20} {n['span']:8.2f} {n['reads']:6.0f} {n['writes']:6.0f} "
                f"{n['calls']:6.0f} {n['minimum']:7.0f} {n['calls_ratio']:5.2f}x {n['bound']:8.2f}"
            )
    lines.append(
        f"  {'ad platforms':20} {g('adoffboard.wall', 0):8.2f} {'':13} "
        f"{g('adoffboard.calls', 0):6.0f} {g('adoffboard.minimum', 0):7.0f} "
        f"{g('adoffboard.calls_ratio', 0):5.2f}x {g('adoffboard.bound', 0):8.2f}"
    )
    others = sorted(
        {k.split(".")[1] for k in f if k.startswith("adoffboard.") and k.endswith(".calls")}
        - set(AD_PLATFORMS)
        - {"calls"}
    )
    if others:
        lines.append(
            "  other platforms (calls): "
            + ", ".join(f"{p} {f[f'adoffboard.{p}.calls']:.0f}" for p in others)
        )
    lines.append(
        f"  wall {g('adoffboard.wall', 0):.2f} s = {g('adoffboard.wall_ratio', 0):.2f}x the "
        f"critical-path bound {g('adoffboard.bound', 0):.2f} s; peak RSS "
        f"{g('adoffboard.rss_mib', 0):.0f} MiB"
    )
    if "script.wall" in f:
        script_rounds = args.rounds if args.script_rounds is None else args.script_rounds
        lines += [
            "",
            f"one-call-per-campaign script (official SDKs, median of {script_rounds}): "
            f"{f['script.wall']:.2f} s, "
            f"{f['script.calls']:.0f} calls; adoffboard's speed-up over it "
            f"{f['script.speedup']:.1f}x",
        ]
    if "google_pause.span" in f:
        lines += ["", "Google pause alone                 wall s  calls"]
        lines.append(
            f"  adoffboard run -r sem-pause     {f['google_pause.span']:8.2f} "
            f"{f['google_pause.calls']:6.0f}"
        )
        if "replica.wall" in f:
            lines.append(
                f"  sem-emergency-stop replica      {f['replica.wall']:8.2f} "
                f"{f['replica.calls']:6.0f}"
            )
            lines.append(f"  adoffboard / replica: {f['google_pause.ratio']:.2f}x")
        else:
            lines.append("  replica: needs CampaignService in the sandbox")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--campaigns-scale", type=float, default=1.0)
    parser.add_argument(
        "--latency-ms", type=int, help="per call (default: 100; 0 with --apply-cpu)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--script-rounds",
        type=int,
        help="rounds of the one-call-per-campaign script, ~7 minutes each (default: --rounds)",
    )
    parser.add_argument(
        "--campaigns", type=int, help="instead: plan one Google account of this many campaigns"
    )
    parser.add_argument(
        "--apply-cpu",
        action="store_true",
        help="instead: apply's CPU for Meta and Microsoft at 1,000 and 10,000 campaigns",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if args.latency_ms is None:
        args.latency_ms = 0 if args.apply_cpu else 100
    if args.rounds < 1 or args.latency_ms < 0 or args.campaigns_scale <= 0:
        parser.error("--rounds must be >= 1, --latency-ms >= 0, --campaigns-scale > 0")
    try:
        if args.apply_cpu:
            return apply_cpu(args)
        if args.campaigns:
            found = repeat(
                args.rounds, lambda: contenders.large_plan(args.campaigns, args.latency_ms)
            )
            assert found is not None
            if args.json:
                print(json.dumps(found, indent=2, sort_keys=True))
            else:
                print(
                    f"plan of {args.campaigns} Google Ads campaigns (sem-cancellation), "
                    f"{args.latency_ms} ms per call, medians of {args.rounds} round(s): "
                    f"wall {found['wall']:.2f} s, peak RSS {found['rss_mib']:.0f} MiB"
                )
            return 0
        return run(args)
    except contenders.ContenderFailed as exc:
        print(f"offboarding bench: {exc}", file=sys.stderr)
        return 1


def apply_cpu(args: argparse.Namespace) -> int:
    """Apply's CPU per platform and size, and the growth for ten times the work."""
    figures: Figures = {}
    small, large = APPLY_CPU_SIZES
    for platform in APPLY_CPU_PLATFORMS:
        for size in APPLY_CPU_SIZES:
            print(f"... {platform} {size}", file=sys.stderr, flush=True)
            found = repeat(
                args.rounds,
                functools.partial(contenders.apply_cpu, platform, size, args.latency_ms),
            )
            figures.update(contenders.prefixed(f"{platform}.{size}", found))
        figures[f"{platform}.work_ratio"] = (
            figures[f"{platform}.{large}.changes"] / figures[f"{platform}.{small}.changes"]
        )
        figures[f"{platform}.cpu_ratio"] = (
            figures[f"{platform}.{large}.cpu"] / figures[f"{platform}.{small}.cpu"]
        )
        # CPU per change of the changes the larger account adds: the start-up (imports, the
        # trackers' steps) cancels out, so this compares with the small account's CPU per change
        figures[f"{platform}.marginal_ms"] = (
            1000
            * (figures[f"{platform}.{large}.cpu"] - figures[f"{platform}.{small}.cpu"])
            / (figures[f"{platform}.{large}.changes"] - figures[f"{platform}.{small}.changes"])
        )
    if args.json:
        print(json.dumps(figures, indent=2, sort_keys=True))
        return 0
    print(
        f"adoffboard apply, one platform alone, {args.latency_ms} ms per call, "
        f"medians of {args.rounds} round(s)"
    )
    print(
        f"  {'platform':15} {'campaigns':>9} {'changes':>8} {'CPU s':>7} {'wall s':>7} "
        f"{'RSS MiB':>8}"
    )
    for platform in APPLY_CPU_PLATFORMS:
        for size in APPLY_CPU_SIZES:
            f = {
                k: figures[f"{platform}.{size}.{k}"] for k in ("changes", "cpu", "wall", "rss_mib")
            }
            print(
                f"  {platform:15} {size:9d} {f['changes']:8.0f} {f['cpu']:7.2f} "
                f"{f['wall']:7.2f} {f['rss_mib']:8.0f}"
            )
        print(
            f"  {platform}: {figures[f'{platform}.work_ratio']:.1f}x the work took "
            f"{figures[f'{platform}.cpu_ratio']:.1f}x the CPU; "
            f"{figures[f'{platform}.marginal_ms']:.2f} ms of CPU per added change"
        )
    return 0


def run(args: argparse.Namespace) -> int:
    dealer = Dealer().scaled(args.campaigns_scale)
    latency = args.latency_ms
    contenders.warm_sdks()
    figures: Figures = {}
    script_rounds = args.rounds if args.script_rounds is None else args.script_rounds
    parts: list[tuple[str, int, Callable[[], Figures | None]]] = [
        ("adoffboard", args.rounds, lambda: contenders.adoffboard_run(dealer, latency)),
        ("google_pause", args.rounds, lambda: contenders.google_pause(dealer, latency)),
        ("replica", args.rounds, lambda: contenders.replica(dealer, latency)),
        ("script", script_rounds, lambda: contenders.per_campaign_script(dealer, latency)),
    ]
    for name, rounds, fn in parts:
        print(f"... {name}", file=sys.stderr, flush=True)
        figures.update(contenders.prefixed(name, repeat(rounds, fn)))
    figures.update(derived(figures, latency))
    if args.json:
        print(json.dumps(figures, indent=2, sort_keys=True))
        if "replica.wall" not in figures:
            print("replica: needs CampaignService in the sandbox", file=sys.stderr)
    else:
        print(table(figures, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
