#!/usr/bin/env python3
"""Data-parallel scaling of cnn4j's training, modelled from measurements on one machine.

A step on W workers (each with the same per-worker batch, so the global batch grows with W)
takes the single worker's compute time plus the gradient all-reduce:

    ring all-reduce of S bytes:  T_ar(W) = 2 (W - 1) alpha + 2 (W - 1) / W * S / (e * B)

(each rank sends 2 (W - 1) messages of S / W bytes: reduce-scatter, then all-gather). B is the
link's bandwidth, e the share of it that the all-reduce reaches (calibrated: Gloo's bus
bandwidth over a plain socket copy, both measured on loopback by `cnn4j bench --allreduce`), alpha
the time per message (the network's latency plus the software's, the latter calibrated from the
smallest all-reduce measured).

    no overlap (the all-reduce after the backward pass, the default):  T(W) = t1 + T_ar(W)
    overlap (buckets during the backward pass, --bucket-mb):          T(W) = t1 + max(0, T_ar(W) - f t1)

with t1 the measured single-worker step and f the backward pass's share of it (the part an
all-reduce can hide behind). Scaling efficiency is t1 / T(W): throughput relative to W times one
worker's. Everything measured is an argument, defaulting to the figures committed in
bench/results/ (see the file named by --measured), so the table can be redone on another machine.

    python3 bench/scaling.py [--measured FILE] [--workers 2,8,32,64] [--gbits 10,100]
"""
import argparse
import json
import sys

# Single-worker training steps on this machine kind (2 vCPUs of an AMD EPYC Zen 5), from the
# race committed in bench/results/ (batch 128, FP32): images/s -> seconds per step.
DEFAULT_MODELS = {
    # name: (parameters, batch, images per second of one worker)
    "resnet20": (269_722, 128, 1091),
    "vgg11-plain": (28_144_010, 128, 380),
}


def ring_seconds(size_bytes, workers, alpha, bandwidth):
    if workers < 2:
        return 0.0
    return 2 * (workers - 1) * alpha + 2 * (workers - 1) / workers * size_bytes / bandwidth


def calibrate(measured):
    """Gloo's share of a socket's bandwidth and its per-message software time, from the
    `cnn4j bench --allreduce` lines (2 ranks on loopback): the share at the largest size (the
    all-reduce and the socket copy move the same bytes each way), and the time per message from
    a least-squares line t = 2 alpha + c S through the sizes of 256 KiB and more (2 messages a
    rank for 2 ranks; the smaller sizes are dominated by waking the ranks' threads on an
    over-subscribed machine, which a line does not describe)."""
    rows = [r for r in measured if r.get("kernel") == "allreduce" and r.get("ranks") == 2]
    if not rows:
        raise SystemExit("no 2-rank all-reduce measurements in the --measured file")
    big = max(rows, key=lambda r: r["bytes"])
    share = big["socket_copy_seconds"] / big["seconds"]
    fit = [r for r in rows if r["bytes"] >= 1 << 18]
    n = len(fit)
    mx = sum(r["bytes"] for r in fit) / n
    my = sum(r["seconds"] for r in fit) / n
    c = sum((r["bytes"] - mx) * (r["seconds"] - my) for r in fit) / sum((r["bytes"] - mx) ** 2 for r in fit)
    intercept = my - c * mx
    return share, max(0.0, intercept / 2), big, min(fit, key=lambda r: r["bytes"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--measured", default="bench/results/2026-12-03-epyc-zen5-2c-allreduce.jsonl",
                    help="the JSON lines of `cnn4j bench --allreduce` (default: %(default)s)")
    ap.add_argument("--workers", default="2,8,32,64")
    ap.add_argument("--gbits", default="10,100", help="network bandwidths, Gbit/s")
    ap.add_argument("--latency-us", default="25,10",
                    help="network round-trip latency per message for each bandwidth, microseconds (default: "
                         "%(default)s: a typical 10 GbE and 100 GbE data-centre hop, TCP)")
    ap.add_argument("--software-us", type=float, default=None,
                    help="per-message software time, microseconds, instead of the calibrated one (the loopback "
                         "calibration on a 2-vCPU machine includes waking the ranks' threads, which a worker with "
                         "idle cores does not pay)")
    ap.add_argument("--backward-share", type=float, default=2 / 3,
                    help="share of a step spent in the backward pass (overlap's bound; default 2/3)")
    ap.add_argument("--model", action="append", default=[],
                    help="name:parameters:batch:images_per_s of one worker (repeatable; default: ResNet-20 and "
                         "VGG-11-plain as measured here)")
    a = ap.parse_args()

    with open(a.measured) as f:
        measured = [json.loads(line) for line in f if line.strip().startswith("{")]
    share, soft_alpha, big, small = calibrate(measured)
    calibrated = soft_alpha
    if a.software_us is not None:
        soft_alpha = a.software_us * 1e-6
    models = dict(DEFAULT_MODELS)
    for m in a.model:
        name, params, batch, ips = m.split(":")
        models[name] = (int(params), int(batch), float(ips))
    workers = [int(w) for w in a.workers.split(",")]
    gbits = [float(g) for g in a.gbits.split(",")]
    lat = [float(x) * 1e-6 for x in a.latency_us.split(",")]
    if len(lat) != len(gbits):
        raise SystemExit("--latency-us needs one value per --gbits value")

    print(f"Calibration ({a.measured}): Gloo's 2-rank all-reduce of {big['bytes'] >> 20} MiB reaches "
          f"{share:.2f} of a plain socket copy's bandwidth on loopback; per-message software time "
          f"{calibrated * 1e6:.1f} us (line through {small['bytes'] >> 10} KiB and up)"
          + ("." if a.software_us is None else f"; this table uses {a.software_us:g} us instead (--software-us)."))
    print()
    for name, (params, batch, ips) in models.items():
        t1 = batch / ips
        size = 4 * params
        print(f"## {name}: {params:,} parameters ({size / 2**20:.2f} MiB of float32 gradients), "
              f"one worker {ips:,.0f} images/s at batch {batch} ({t1 * 1e3:.0f} ms a step)")
        print()
        print("| network | workers | all-reduce ms | step ms, no overlap | efficiency | step ms, overlap | efficiency |")
        print("|---|---|---|---|---|---|---|")
        for g, l in zip(gbits, lat):
            bw = g * 1e9 / 8 * share
            alpha = l + soft_alpha
            for w in workers:
                ar = ring_seconds(size, w, alpha, bw)
                plain = t1 + ar
                overlap = t1 + max(0.0, ar - a.backward_share * t1)
                print(f"| {g:g} Gbit/s | {w} | {ar * 1e3:.2f} | {plain * 1e3:.1f} | {t1 / plain:.3f} | "
                      f"{overlap * 1e3:.1f} | {t1 / overlap:.3f} |")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
