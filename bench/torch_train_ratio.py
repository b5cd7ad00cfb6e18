"""PyTorch eager's training-step and forward times for the models of bench/bench_train.ts: what
the "step <= 4x forward" and "step <= 0.75x PyTorch" targets are measured against, in the
framework people train with. CPU, medians of runs in blocks (as bench_train.ts times
onnxruntime). Forward = eval mode with the loss under no_grad; step = train mode, zero_grad,
forward, loss, backward, optimizer step.

  /usr/bin/python3 bench/torch_train_ratio.py          the report: every model, 2 threads
  /usr/bin/python3 bench/torch_train_ratio.py --model NAME --batch B --threads T --runs R --json
                                                       one model, one JSON line (bench_train.ts
                                                       runs this in the same run as dlm's timings,
                                                       with onnxruntime's thread count)

Models (torchvision's, num_classes=10, 32x32 images, SGD lr 0.1 or 0.05 with momentum 0.9, as
the .dlm files' train sections): resnet18, resnet18_cifar, mobilenet_v2, shufflenet_v2,
resnext50_32x4d, efficientnet_b0, densenet121, convnext_tiny; mlp_digits and lenet_digits (8x8
digits); gpt2_mini (bench/gpt2_train.dlm's GPT-2: 4 layers of width 128, 4 heads, 1,024 tokens,
64 positions, tied output, AdamW lr 3e-4).

Not part of the build or the tests: a reference figure for the benchmark. Its figures depend on the
machine more than onnxruntime's do: with Debian's reference BLAS (libblas3 alone) torch's Linear and
some convolution paths are several times slower (install libopenblas0-pthread), and on a CPU
without AVX-512 oneDNN computes convolution weight gradients through its "x64:gemm:jit" path (a
2-core AVX2 EPYC: ResNet-18's step 115-140 ms, where the 2-core EPYC of earlier runs took about
31 ms). The --json line says which (`cpu`).
"""
import argparse
import json
import os
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(64, 32), nn.Linear(32, 10)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class Lenet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 16, 3, padding=1), nn.Conv2d(16, 32, 3, padding=1)
        self.fc1, self.fc2, self.fc3 = nn.Linear(128, 120), nn.Linear(120, 84), nn.Linear(84, 10)
        self.drop = nn.Dropout(0.3)

    def forward(self, x):
        x = x.reshape(-1, 1, 8, 8)
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = self.drop(F.relu(self.fc1(x.flatten(1))))
        return self.fc3(F.relu(self.fc2(x)))


class Gpt2Block(nn.Module):
    """lang-examples/gpt2.dlm's GPT2Block: pre-norm, fused qkv, causal attention, tanh GELU."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.ln_1, self.ln_2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.c_attn, self.attn_proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.c_fc, self.mlp_proj = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)

    def forward(self, x):
        n, t, d = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(d, dim=2)
        heads = lambda z: z.view(n, t, self.heads, d // self.heads).transpose(1, 2)
        q, k, v = heads(q), heads(k), heads(v)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(d // self.heads)
        mask = torch.ones(t, t, dtype=torch.bool).tril()
        a = scores.masked_fill(~mask, float("-inf")).softmax(-1) @ v
        x = x + self.attn_proj(a.transpose(1, 2).reshape(n, t, d))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class Gpt2Mini(nn.Module):
    def __init__(self, vocab=1024, positions=64, dim=128, layers=4, heads=4):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, dim), nn.Embedding(positions, dim)
        self.h = nn.ModuleList(Gpt2Block(dim, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(dim)

    def forward(self, ids):
        x = self.wte(ids) + self.wpe(torch.arange(ids.shape[1]))
        for b in self.h:
            x = b(x)
        return self.ln_f(x) @ self.wte.weight.t()


def resnet18_cifar():
    m = torchvision.models.resnet18(num_classes=10)
    m.conv1 = nn.Conv2d(3, 64, 3, padding=1, bias=False)
    m.maxpool = nn.Identity()
    return m


def sgd(lr):
    return lambda m: torch.optim.SGD(m.parameters(), lr=lr, momentum=0.9)


images = lambda n: torch.rand(n, 3, 32, 32)
labels = lambda n: torch.randint(0, 10, (n,))
digits = lambda n: torch.rand(n, 64)
cross_entropy = F.cross_entropy

# name: (model, optimizer, batch of n samples, loss)
MODELS = {
    "mlp_digits": (Mlp, lambda m: torch.optim.SGD(m.parameters(), lr=0.1),
                   lambda n: (digits(n), labels(n)), cross_entropy),
    "lenet_digits": (Lenet, lambda m: torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.01),
                     lambda n: (digits(n), labels(n)), cross_entropy),
    "resnet18": (lambda: torchvision.models.resnet18(num_classes=10), sgd(0.1),
                 lambda n: (images(n), labels(n)), cross_entropy),
    "resnet18_cifar": (resnet18_cifar, sgd(0.1), lambda n: (images(n), labels(n)), cross_entropy),
    "mobilenet_v2": (lambda: torchvision.models.mobilenet_v2(num_classes=10), sgd(0.05),
                     lambda n: (images(n), labels(n)), cross_entropy),
    "shufflenet_v2": (lambda: torchvision.models.shufflenet_v2_x1_0(num_classes=10), sgd(0.05),
                      lambda n: (images(n), labels(n)), cross_entropy),
    "resnext50_32x4d": (lambda: torchvision.models.resnext50_32x4d(num_classes=10), sgd(0.05),
                        lambda n: (images(n), labels(n)), cross_entropy),
    "efficientnet_b0": (lambda: torchvision.models.efficientnet_b0(num_classes=10), sgd(0.05),
                        lambda n: (images(n), labels(n)), cross_entropy),
    "densenet121": (lambda: torchvision.models.densenet121(num_classes=10), sgd(0.05),
                    lambda n: (images(n), labels(n)), cross_entropy),
    "convnext_tiny": (lambda: torchvision.models.convnext_tiny(num_classes=10), sgd(0.05),
                      lambda n: (images(n), labels(n)), cross_entropy),
    "gpt2_mini": (Gpt2Mini, lambda m: torch.optim.AdamW(m.parameters(), lr=3e-4),
                  lambda n: (torch.randint(0, 1024, (n, 64)), torch.randint(0, 1024, (n, 64))),
                  lambda logits, y: F.cross_entropy(logits.transpose(1, 2), y)),
}


def bench(name, batch, runs, block=5):
    """Median step and forward ms of `runs` timed runs each, in alternating blocks."""
    make, make_opt, data, loss_fn = MODELS[name]
    torch.manual_seed(0)
    model = make()
    opt = make_opt(model)
    x, y = data(batch)
    steps, fwds = [], []

    def step():
        model.train()
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()

    def fwd():
        model.eval()
        with torch.no_grad():
            loss_fn(model(x), y)

    first = True
    block = max(1, min(block, runs))
    while len(steps) < runs:
        for f, out in ((step, steps), (fwd, fwds)):
            # The first run of each block is untimed, and so is the whole first round.
            for k in range(block + 1):
                t0 = time.perf_counter()
                f()
                t = (time.perf_counter() - t0) * 1000
                if k > 0 and not first:
                    out.append(t)
        first = False
    return {"stepMs": steps, "forwardMs": fwds}


def cpu_note():
    """What sets the torch side's speed beyond the thread count: whether the CPU has AVX-512
    (without it oneDNN's convolution weight gradients take "x64:gemm:jit": 21 ms for a 512x512x3x3
    weight at a 1x1 map on a 2-core AVX2 EPYC) and which BLAS libblas.so.3 is (Debian's reference
    libblas3 unless libopenblas0 is installed)."""
    try:
        with open("/proc/cpuinfo") as f:
            avx512 = " avx512f" in f.read()
    except OSError:
        avx512 = None
    try:
        blas = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    except OSError:
        blas = None
    return {"avx512": avx512, "blas": blas}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=sorted(MODELS))
    ap.add_argument("--batch", type=int)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.model:
        r = bench(a.model, a.batch or 16, a.runs)
        r.update(model=a.model, batch=a.batch or 16, threads=torch.get_num_threads(),
                 torch=torch.__version__, cpu=cpu_note())
        print(json.dumps(r) if a.json else
              f"{a.model}: step {statistics.median(r['stepMs']):.2f} ms, "
              f"forward {statistics.median(r['forwardMs']):.2f} ms")
        return
    for name, batch, runs, block in (
        ("mlp_digits", 32, 400, 5), ("lenet_digits", 32, 200, 5), ("resnet18", 16, 25, 5),
        ("resnet18", 32, 15, 5), ("resnet18_cifar", 16, 10, 2), ("mobilenet_v2", 16, 25, 5),
        ("shufflenet_v2", 16, 25, 5), ("resnext50_32x4d", 16, 10, 2), ("efficientnet_b0", 16, 25, 5),
        ("densenet121", 16, 10, 2),
        ("convnext_tiny", 16, 10, 2),
        ("gpt2_mini", 8, 40, 5),
    ):
        r = bench(name, batch, runs, block)
        s, f = statistics.median(r["stepMs"]), statistics.median(r["forwardMs"])
        print(f"{name:16s} b{batch:<3d} step {s:8.2f} ms  forward {f:7.2f} ms  "
              f"step/forward {s / f:.2f}x")


if __name__ == "__main__":
    main()
