#!/usr/bin/env python3
"""Races cnn4j's CUDA backend against PyTorch on the same GPU, one after the other in one run.

Training steps (synthetic data, Adam 1e-3, softmax cross-entropy, one scalar back per step):
  lenet5       Fashion-MNIST shape 1x28x28, batch 256
  vgg11-plain  VGG-11 without batch norm or dropout on 3x32x32, batch 128 (convolutions,
               pooling, ReLU and dense layers only)
  resnet20     He et al.'s CIFAR ResNet-20 (option-A shortcuts) on 3x32x32, batch 128
Precision, both ways:
  fp32     cnn4j --precision fp32 against PyTorch with TF32 off (convolutions and matmuls)
  default  each side's default: cnn4j fp32; PyTorch TF32 convolutions (cudnn.allow_tf32) and
           FP32 matmuls; and cnn4j --precision tf32 (TF32 convolutions and matmuls) beside it
PyTorch runs eager and, where it works, torch.compile; cudnn.benchmark is on (cuDNN picks its
fastest algorithm per shape). cnn4j runs with CUDA graphs (the default) and without.

Kernel level (--kernels): every convolution of the --kernel-nets at the race's batch,
forward, backward-data and backward-filter, in TFLOP/s against PyTorch's own convolution
(aten.convolution_backward for the two backward passes) at equal precision; the
memory-bound kernels in GB/s against a device-to-device copy.

With --device cpu the same race runs on the processor: cnn4j's native CPU backend against
PyTorch on the CPU (FP32 only; precision and graph settings do not apply). PyTorch's CPU
tensors come from glibc's malloc, which by default returns every large block to the system
and so pays fresh page faults on each op's output and oneDNN reorder buffers; where page
faults are slow (virtual machines) that dominated its small convolutions (10-40x). The race
therefore runs itself with glibc's heap kept (MALLOC_MMAP_THRESHOLD_ and
MALLOC_TRIM_THRESHOLD_ raised, as an allocator such as jemalloc would behave) unless those
are already set; cnn4j's workspaces are long-lived either way.

Usage: bench/race.py --cnn4j "JAVA -cp CLASSPATH org.cnn4j.cli.Main" [--repeats 5] [--steps 50]
                     [--kernels] [--device cuda|cpu]
"""
import json
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

DEV = "cuda"  # --device: where both sides run

NETS = {"lenet5": ((1, 28, 28), 256), "vgg11-plain": ((3, 32, 32), 128), "resnet20": ((3, 32, 32), 128)}


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def vgg11():
    layers, c = [], 3
    for v in [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]:
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU()]
            c = v
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(512, 4096), nn.ReLU(),
                         nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, 10))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.stride, self.pad = stride, cout - cin

    def forward(self, x):
        y = self.b2(self.c2(F.relu(self.b1(self.c1(x)))))
        s = x
        if self.stride != 1 or self.pad:
            s = x[:, :, ::self.stride, ::self.stride]
            s = F.pad(s, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
        return F.relu(y + s)


def resnet20():
    layers, cin = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()], 16
    for stage in range(3):
        for b in range(3):
            cout = 16 << stage
            layers.append(Block(cin, cout, 2 if stage > 0 and b == 0 else 1))
            cin = cout
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


def torch_stepper(name, compiled):
    """Builds the model and its Adam step once, warms it up, and returns a function that times
    `steps` more steps and gives images/s."""
    shape, batch = NETS[name]
    model = {"lenet5": lenet5, "vgg11-plain": vgg11, "resnet20": resnet20}[name]().to(DEV)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x = torch.randn(batch, *shape, device=DEV)
    y = torch.randint(0, 10, (batch,), device=DEV)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    fn = torch.compile(step) if compiled else step
    for _ in range(20):
        fn()
    sync()

    def rate(steps):
        t0 = time.perf_counter()
        for _ in range(steps):
            loss = fn()
            loss.item()  # one scalar back per step, as cnn4j reads loss and correct count
        sync()
        return steps * batch / (time.perf_counter() - t0)

    return rate


def sync():
    if DEV == "cuda":
        torch.cuda.synchronize()


def precision_args(precision):
    return ["--precision", precision] if DEV == "cuda" else []


def run_cnn4j(cmd, args):
    out = subprocess.run(cmd.split() + args, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("cnn4j " + " ".join(args) + " failed: " + out.stdout + out.stderr)
    return out.stdout


def cnn4j_rate(cmd, name, repeats, steps, precision, graphs=True, warmup=50):
    shape, batch = NETS[name]
    out = run_cnn4j(cmd, ["bench", "--backend", DEV, "--model", name, "--input", "x".join(map(str, shape)),
                          "--classes", "10", "--batch", str(batch), "--repeats", str(repeats), "--steps",
                          str(steps), "--warmup", str(warmup)] + precision_args(precision)
                    + ([] if graphs else ["--no-graphs"]))
    m = re.search(DEV + r"_images_per_s=(\d+)", out)
    if not m:
        raise RuntimeError("cnn4j bench printed no result: " + out)
    return float(m.group(1))


class Clock:
    """Elapsed milliseconds: CUDA events on the GPU, the wall clock on the CPU."""

    def __init__(self):
        if DEV == "cuda":
            self.a, self.b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)

    def start(self):
        if DEV == "cuda":
            self.a.record()
        else:
            self.t = time.perf_counter()

    def stop(self):
        if DEV == "cuda":
            self.b.record()
            self.b.synchronize()
            return self.a.elapsed_time(self.b)
        return (time.perf_counter() - self.t) * 1e3


def timed(fn, repeats):
    """Median milliseconds per call of fn (calls batched to >= ~20 ms per repeat)."""
    for _ in range(3):
        fn()
    sync()
    clock = Clock()
    clock.start()
    fn()
    calls = max(1, min(1000, int(20 / max(clock.stop(), 1e-3))))
    per = []
    for _ in range(repeats):
        clock.start()
        for _ in range(calls):
            fn()
        per.append(clock.stop() / calls)
    return statistics.median(per)


def torch_conv(op, repeats):
    n, c, h, w, k = op["n"], op["c"], op["h"], op["w"], op["k"]
    g, stride, pad, dil = op["groups"], (op["sh"], op["sw"]), (op["ph"], op["pw"]), (op["dh"], op["dw"])
    x = torch.randn(n, c, h, w, device=DEV)
    wt = torch.randn(k, c // g, op["kh"], op["kw"], device=DEV)
    y = F.conv2d(x, wt, None, stride, pad, dil, g)
    dy = torch.randn_like(y)
    oh, ow = y.shape[2], y.shape[3]
    flops = 2.0 * n * k * oh * ow * (c // g) * op["kh"] * op["kw"]
    aten = torch.ops.aten.convolution_backward
    fns = {
        "conv_forward": lambda: F.conv2d(x, wt, None, stride, pad, dil, g),
        "conv_backward_data": lambda: aten(dy, x, wt, None, stride, pad, dil, False, [0, 0], g, [True, False, False]),
        "conv_backward_filter": lambda: aten(dy, x, wt, None, stride, pad, dil, False, [0, 0], g,
                                             [False, True, False]),
    }
    return flops / 1e9 / timed(fns[op["op"]], repeats)  # TFLOP/s


def torch_memory(op, repeats):
    shape = op["shape"]
    a, b = torch.randn(*shape, device=DEV), torch.randn(*shape, device=DEV)
    c = torch.empty_like(a)
    nbytes = 4.0 * a.numel()
    fns = {
        "copy": (lambda: c.copy_(a), 2 * nbytes),
        "relu_forward": (lambda: torch.clamp_min(a, 0, out=c), 2 * nbytes),
        "relu_backward": (lambda: torch.ops.aten.threshold_backward(b, a, 0), 3 * nbytes),
        "add": (lambda: torch.add(a, b, out=c), 3 * nbytes),
        "max_pool_forward": (lambda: F.max_pool2d(a, 2, return_indices=True),
                             nbytes + 8.0 * a.numel() / 4),
    }
    if op["op"] not in fns:
        return None
    fn, moved = fns[op["op"]]
    return moved / 1e6 / timed(fn, repeats)  # GB/s


def kernels(cmd, repeats, nets):
    """Each round runs cnn4j's kernels (one process) and then PyTorch's, so the two sides
    alternate; every figure is the median over the rounds (each round itself a median)."""
    print()
    print(f"## Kernels (median of {repeats} alternating rounds)")
    print()
    print("| precision | network | pass | input NxCxHxW | filters, window | cnn4j TFLOP/s | PyTorch TFLOP/s | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    memory = []
    for precision in ["fp32", "tf32"] if DEV == "cuda" else ["fp32"]:
        torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
        torch.backends.cudnn.allow_tf32 = precision == "tf32"
        for name in nets:
            shape, batch = NETS[name]
            ours, theirs, ops = {}, {}, {}
            for _ in range(repeats):
                out = run_cnn4j(cmd, ["bench", "--ops", "--backend", DEV, "--model", name, "--input",
                                      "x".join(map(str, shape)), "--classes", "10", "--batch", str(batch),
                                      "--repeats", "3"] + precision_args(precision))
                for line in out.splitlines():
                    if not line.startswith("{"):
                        continue
                    op = json.loads(line)
                    if "tflops" not in op:
                        if precision == "fp32" and not theirs:
                            memory.append((name, op))
                        continue
                    key = tuple(op[f] for f in ["op", "n", "c", "h", "w", "k", "kh", "kw", "sh", "sw", "ph", "pw",
                                                 "dh", "dw", "groups"])
                    ops[key] = op
                    ours.setdefault(key, []).append(op["tflops"])
                for key, op in ops.items():
                    if len(theirs.get(key, [])) < len(ours[key]):
                        theirs.setdefault(key, []).append(torch_conv(op, 3))
            for key, op in ops.items():
                a, b = statistics.median(ours[key]), statistics.median(theirs[key])
                print(f"| {precision} | {name} | {op['op'][5:]} | {op['n']}x{op['c']}x{op['h']}x{op['w']} "
                      f"| {op['k']}, {op['kh']}x{op['kw']} s{op['sh']} p{op['ph']} g{op['groups']} "
                      f"| {a:.3f} | {b:.3f} | {a / b:.2f} |")
            sys.stdout.flush()
    print()
    print("| network | kernel | tensor | cnn4j GB/s | / cnn4j copy | PyTorch GB/s | / PyTorch copy |")
    print("|---|---|---|---|---|---|---|")
    copies = {(name, tuple(op["shape"])): op["gbps"] for name, op in memory if op["op"] == "copy"}
    for name, op in memory:
        key = (name, tuple(op["shape"]))
        theirs = torch_memory(op, repeats)
        torch_copy = torch_memory(dict(op, op="copy"), repeats)
        print(f"| {name} | {op['op']} | {'x'.join(map(str, op['shape']))} | {op['gbps']:.0f} "
              f"| {op['gbps'] / copies[key]:.2f} | {theirs:.0f} | {theirs / torch_copy:.2f} |"
              if theirs else
              f"| {name} | {op['op']} | {'x'.join(map(str, op['shape']))} | {op['gbps']:.0f} "
              f"| {op['gbps'] / copies[key]:.2f} | - | - |")
        sys.stdout.flush()


def train_row(a, name):
    """One row of the training table. The two sides alternate round by round (each round: every
    cnn4j setting in a fresh process, then every PyTorch setting), so that a slow spell of the
    machine falls on both; each figure is the median of its rounds."""
    settings = [("ours", lambda: cnn4j_rate(a.cnn4j, name, 1, a.steps, "fp32", warmup=a.warmup)),
                ("ours_eager", lambda: cnn4j_rate(a.cnn4j, name, 1, a.steps, "fp32", graphs=False, warmup=a.warmup))]
    if DEV == "cuda":
        settings.append(("ours_tf32", lambda: cnn4j_rate(a.cnn4j, name, 1, a.steps, "tf32", warmup=a.warmup)))
    failed = {}
    for tf32, compiled in [(False, False), (False, True)] + ([(True, False)] if DEV == "cuda" else []):
        key = f"torch_{'tf32' if tf32 else 'fp32'}_{'compiled' if compiled else 'eager'}"
        if compiled and a.no_compile:
            continue

        def flags(tf32=tf32):
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = tf32

        try:
            flags()
            stepper = torch_stepper(name, compiled)
        except Exception as e:  # torch.compile may be missing its toolchain
            failed[key] = f"n/a ({type(e).__name__})"
            continue
        settings.append((key, lambda stepper=stepper, flags=flags: (flags(), stepper(a.steps))[1]))
    rates = {k: [] for k, _ in settings}
    for _ in range(a.repeats):
        for k, fn in settings:
            rates[k].append(fn())
    med = {k: statistics.median(v) for k, v in rates.items()}
    row = [name, str(NETS[name][1]), f"{med['ours']:,.0f}", f"{med['ours_eager']:,.0f}"]
    for key, ours in [("torch_fp32_eager", "ours"), ("torch_fp32_compiled", "ours")] + (
            [("torch_tf32_eager", "ours_tf32")] if DEV == "cuda" else []):
        if key in med:
            if key == "torch_tf32_eager":
                row.append(f"{med['ours_tf32']:,.0f}")
            row += [f"{med[key]:,.0f}", f"{med[ours] / med[key]:.2f}"]
            if key == "torch_tf32_eager":
                row.append(f"{med['ours'] / med[key]:.2f}")
        elif key in failed:
            row += ([f"{med['ours_tf32']:,.0f}"] if key == "torch_tf32_eager" else []) + [failed[key], "-"] + (
                ["-"] if key == "torch_tf32_eager" else [])
        else:
            row += ["-", "-"]
    if DEV != "cuda":
        row += ["-", "-", "-", "-"]
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cnn4j", required=True, help="command that runs the cnn4j CLI")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=15, help="cnn4j warm-up steps in each round's process")
    ap.add_argument("--nets", default="lenet5,vgg11-plain,resnet20")
    ap.add_argument("--kernels", action="store_true", help="also race the kernels one by one")
    ap.add_argument("--kernel-nets", default="lenet5,vgg11-plain,resnet20", help="networks whose kernels race")
    ap.add_argument("--no-training", action="store_true", help="race the kernels only")
    ap.add_argument("--no-compile", action="store_true", help="skip torch.compile (it compiles for minutes on a CPU)")
    ap.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    ap.add_argument("--batch-scale", type=float, default=1.0, help="scale the batch sizes (quick trials)")
    a = ap.parse_args()
    if a.device == "cpu" and "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        env = dict(os.environ, MALLOC_MMAP_THRESHOLD_=str(1 << 32), MALLOC_TRIM_THRESHOLD_=str(1 << 36))
        os.execve(sys.executable, [sys.executable] + sys.argv, env)
    global DEV
    DEV = a.device
    for k, (shape, batch) in NETS.items():
        NETS[k] = (shape, max(1, int(batch * a.batch_scale)))
    torch.backends.cudnn.benchmark = True
    if DEV == "cuda":
        print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, CUDA {torch.version.cuda}, "
              f"cuDNN {torch.backends.cudnn.version()}")
    else:
        print(f"device: CPU ({torch.get_num_threads()} PyTorch threads), torch {torch.__version__}")
    print()
    print("## Training steps, images/s (median of the rounds; each round runs both sides, one after the other)")
    print()
    print("| network | batch | cnn4j FP32 | cnn4j FP32, no graphs | torch eager FP32 (TF32 off) | ratio "
          "| torch.compile FP32 | ratio | cnn4j TF32 | torch eager default (TF32 convs) | ratio "
          "| ratio cnn4j FP32 / torch default |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in [] if a.no_training else a.nets.split(","):
        print("| " + " | ".join(train_row(a, name)) + " |")
        sys.stdout.flush()
    if a.kernels:
        kernels(a.cnn4j, a.repeats, a.kernel_nets.split(","))


if __name__ == "__main__":
    main()
