"""PyTorch's training-step time against its forward time, for the models of
bench/bench_train.ts: what the "step <= 4x forward" target looks like in the
framework people train with. CPU, 2 threads, medians of runs in blocks (as
bench_train.ts times onnxruntime). Forward = eval mode with the loss under
no_grad; step = train mode, zero_grad, forward, loss, backward, optimizer step.

  /usr/bin/python3 bench/torch_train_ratio.py   (Debian's python3-torch)

Not part of the build or the tests: a reference figure for the closing note.
"""
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

torch.set_num_threads(2)
torch.manual_seed(0)


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


def bench(name, model, opt, x, y, runs, block=5):
    steps, fwds = [], []

    def step():
        model.train()
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()

    def fwd():
        model.eval()
        with torch.no_grad():
            F.cross_entropy(model(x), y)

    first = True
    while len(steps) < runs:
        for f, out in ((step, steps), (fwd, fwds)):
            for k in range(block + 1):
                t0 = time.perf_counter()
                f()
                t = (time.perf_counter() - t0) * 1000
                if k > 0 and not first:
                    out.append(t)
        first = False
    s, f = statistics.median(steps), statistics.median(fwds)
    print(f"{name:16s} step {s:8.2f} ms  forward {f:7.2f} ms  step/forward {s / f:.2f}x")


def resnet18():
    return torchvision.models.resnet18(num_classes=10)


def resnet18_cifar():
    m = torchvision.models.resnet18(num_classes=10)
    m.conv1 = nn.Conv2d(3, 64, 3, padding=1, bias=False)
    m.maxpool = nn.Identity()
    return m


digits_x = lambda n: torch.rand(n, 64)
labels = lambda n: torch.randint(0, 10, (n,))

m = Mlp()
bench("mlp_digits", m, torch.optim.SGD(m.parameters(), lr=0.1), digits_x(32), labels(32), 400)
m = Lenet()
bench("lenet_digits", m, torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.01),
      digits_x(32), labels(32), 200)
for b, runs in ((16, 25), (32, 15)):
    m = resnet18()
    bench(f"resnet18 32x32 b{b}", m, torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9),
          torch.rand(b, 3, 32, 32), labels(b), runs)
m = resnet18_cifar()
bench("resnet18 cifar b16", m, torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9),
      torch.rand(16, 3, 32, 32), labels(16), 10, block=2)
