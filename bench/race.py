#!/usr/bin/env python3
"""Races cnn4j's CUDA backend against PyTorch on the same GPU, one after the other in one run.

Networks (training steps on synthetic data, Adam 1e-3, softmax cross-entropy):
  lenet5   Fashion-MNIST shape 1x28x28, batch 256
  vgg11    plain VGG-11 (no batch norm) on 3x32x32, batch 128
  resnet20 He et al.'s CIFAR ResNet-20 (option-A shortcuts) on 3x32x32, batch 128
PyTorch runs eager and, where it works, torch.compile; both in FP32 with TF32 off and in
PyTorch's default precision (cuDNN convolutions on TF32, matmuls in FP32). cnn4j's kernels are
FP32. Prints a markdown table of images/s and the cnn4j/PyTorch ratios.

Usage: bench/race.py --cnn4j "JAVA -cp CLASSPATH org.cnn4j.cli.Main" [--repeats 5] [--steps 50]
"""
import argparse
import re
import statistics
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

NETS = {"lenet5": ((1, 28, 28), 256), "vgg11": ((3, 32, 32), 128), "resnet20": ((3, 32, 32), 128)}


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
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(512, 4096), nn.ReLU(), nn.Dropout(0.5),
                         nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(0.5), nn.Linear(4096, 10))


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


def torch_rate(name, compiled, repeats, steps):
    shape, batch = NETS[name]
    model = {"lenet5": lenet5, "vgg11": vgg11, "resnet20": resnet20}[name]().cuda()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x = torch.randn(batch, *shape, device="cuda")
    y = torch.randint(0, 10, (batch,), device="cuda")

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    fn = torch.compile(step) if compiled else step
    for _ in range(20):
        fn()
    torch.cuda.synchronize()
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(steps):
            loss = fn()
            loss.item()  # one scalar back per step, as cnn4j reads loss and correct count
        torch.cuda.synchronize()
        rates.append(steps * batch / (time.perf_counter() - t0))
    return statistics.median(rates)


def cnn4j_rate(cmd, name, repeats, steps):
    shape, batch = NETS[name]
    args = cmd.split() + ["bench", "--backend", "cuda", "--model", name, "--input", "x".join(map(str, shape)),
                          "--classes", "10", "--batch", str(batch), "--repeats", str(repeats), "--steps", str(steps)]
    out = subprocess.run(args, capture_output=True, text=True)
    m = re.search(r"cuda_images_per_s=(\d+)", out.stdout)
    if not m:
        raise RuntimeError("cnn4j bench failed: " + out.stdout + out.stderr)
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cnn4j", required=True, help="command that runs the cnn4j CLI")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--nets", default="lenet5,vgg11,resnet20")
    a = ap.parse_args()
    print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, CUDA {torch.version.cuda}, "
          f"cuDNN {torch.backends.cudnn.version()}")
    print("| network | batch | cnn4j FP32 | torch eager FP32 (TF32 off) | ratio | torch.compile FP32 | ratio "
          "| torch eager default (TF32 convs) | ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in a.nets.split(","):
        ours = cnn4j_rate(a.cnn4j, name, a.repeats, a.steps)
        row = [name, str(NETS[name][1]), f"{ours:,.0f}"]
        for tf32, compiled in [(False, False), (False, True), (True, False)]:
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = tf32
            try:
                r = torch_rate(name, compiled, a.repeats, a.steps)
                row += [f"{r:,.0f}", f"{ours / r:.2f}"]
            except Exception as e:  # torch.compile may be missing its toolchain
                row += [f"n/a ({type(e).__name__})", "-"]
        print("| " + " | ".join(row) + " |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
