#!/usr/bin/env python3
"""PyTorch's side of the benchmark models' parity check (bench/parity_train.ts): for one
torchvision model, seeded weights, its eval-mode logits for a fixed input, and the state after
SGD training steps on a fixed batch, in float32 and (to judge tolerances) float64.

  /usr/bin/python3 bench/torch_parity.py NAME --out DIR [--lr 0.05] [--momentum 0.9]
      [--size 32] [--eval-batch 2] [--train-batch 4] [--steps 2] [--seed 0] [--no-dropout]
      [--perturb 2]

NAME is resnet18, mobilenet_v2, shufflenet_v2, resnext50_32x4d, efficientnet_b0, densenet121 or
convnext_tiny (torchvision's constructors, num_classes=10).

  /usr/bin/python3 bench/torch_parity.py --layouts bench/torchvision_layouts.json

writes every model's state_dict layout (names, shapes, dtypes in order) for
bench/train_models_test.ts. bench/parity_train.ts runs this with the hyperparameters of the .dlm file's
train section (it holds the one table of them). Writes into DIR:

- weights.safetensors: the model's state_dict (parameters and buffers, num_batches_tracked as
  i64). Batch norms get non-trivial affine parameters and running statistics (weight in
  [0.5, 1.5], bias and running_mean N(0, 0.2), running_var in [0.5, 2]), so a model that ignored
  or misnamed them would differ. Layer norms (ConvNeXt's) get weight in [0.5, 1.5] and bias
  N(0, 0.2) too, and ConvNeXt's per-channel `layer_scale` values in [0.5, 1.5] instead of
  torchvision's 1e-6: at 1e-6 every block adds a millionth of its branch to the residual, so the
  logits (checked to 1e-4) and the branches' weight updates (lr times a gradient scaled by 1e-6,
  checked to 1e-5) could not tell a wrong branch from a right one. Models without layer norms or
  layer scales draw exactly what they drew before.
- eval_image.npy (f32 [eval-batch, 3, size, size]) and eval_logits.npy: model.eval() on it.
- train_image.npy (f32 [steps * train-batch, 3, size, size]) and train_label.npy (i64): the
  batches of the steps, in order.
- step<k>.safetensors for k = 1..steps: the whole state_dict after update k (parameters, running
  statistics, num_batches_tracked), SGD's `momentum_buffer:<param>` and `loss` (the loss of step
  k, an f32 scalar). Training is model.train(), cross-entropy (mean), SGD(lr, momentum, no dampening,
  no weight decay).
- meta.json: the arguments; per step the ReLU (and ReLU6) inputs within 1e-5 of zero ("kinks":
  module, channel, value), where float32 rounding may flip the ReLU's choice and move the
  gradients of that channel by far more than rounding (ResNeXt-50, step 2: one input of 65,536
  in layer4.0 at 1.7e-6); and per tensor of step k how far rounding alone moves it over that one
  step: the largest difference from torch's float64 step (from the same float32 state) of
  torch's float32 step and of --perturb float64 steps from that state with every parameter moved
  by float32's relative precision. A float32 implementation cannot be expected to come closer to
  torch than that.

The checker starts every step from torch's state before it (step<k-1>.safetensors), not from its
own previous step: a step is not continuous in its inputs (a ReLU or max-pool choice can flip),
and differences of 1e-6 in ResNet-18's state after one step at lr 0.1 move some gradients of the
next by 1e-2, in dlm's reference interpreter as in onnxruntime.

--no-dropout sets every Dropout's and StochasticDepth's p to 0 (MobileNetV2's classifier,
EfficientNet-B0's classifier and residual branches, ConvNeXt's blocks) and DenseNet's drop_rate
(0 by default already): dropout and drop-path masks are random and cannot match between two
frameworks; the .dlm side sets its rates to 0 too.

safetensors is written by hand (Debian has no python3-safetensors), as in
tests/fixtures/torch/make_fixtures.py. Not part of the build or the tests.
"""

import argparse
import copy
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

MODELS = {
    "resnet18": torchvision.models.resnet18,
    "mobilenet_v2": torchvision.models.mobilenet_v2,
    "shufflenet_v2": torchvision.models.shufflenet_v2_x1_0,
    "resnext50_32x4d": torchvision.models.resnext50_32x4d,
    "efficientnet_b0": torchvision.models.efficientnet_b0,
    "densenet121": torchvision.models.densenet121,
    "convnext_tiny": torchvision.models.convnext_tiny,
}

ST_DTYPE = {torch.float32: "F32", torch.int64: "I64"}
# A ReLU input closer to zero than this is a kink float32 rounding may flip (activations here are
# O(1); rounding errors of a deep float32 forward reach 1e-5 after batch norms of small variance).
KINK = 1e-5


def write_safetensors(state, file):
    header, chunks, offset = {}, [], 0
    for name, t in state.items():
        t = t.detach().contiguous()
        if t.dtype == torch.float64:
            t = t.float()
        data = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {
            "dtype": ST_DTYPE[t.dtype],
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt", "producer": "bench/torch_parity.py"}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    tmp = file + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)
    os.replace(tmp, file)


def save_npy(file, array):
    tmp = file + ".tmp.npy"
    np.save(tmp, array)
    os.replace(tmp, file)


def randomize_norms(model, g):
    """Batch and layer norms off their identity initialisation, and ConvNeXt's layer scales off
    1e-6 (the header says why), in module order."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            with torch.no_grad():
                m.weight.copy_(0.5 + torch.rand(n, generator=g))
                m.bias.copy_(0.2 * torch.randn(n, generator=g))
                m.running_mean.copy_(0.2 * torch.randn(n, generator=g))
                m.running_var.copy_(0.5 + 1.5 * torch.rand(n, generator=g))
        elif isinstance(m, nn.LayerNorm) and m.elementwise_affine:
            shape = m.normalized_shape
            with torch.no_grad():
                m.weight.copy_(0.5 + torch.rand(shape, generator=g))
                m.bias.copy_(0.2 * torch.randn(shape, generator=g))
        elif isinstance(getattr(m, "layer_scale", None), nn.Parameter):
            with torch.no_grad():
                m.layer_scale.copy_(0.5 + torch.rand(m.layer_scale.shape, generator=g))


def max_dev(a, b):
    if a.dtype == torch.int64:
        return float((a - b).abs().max()) if a.numel() else 0.0
    return float((a.double() - b.double()).abs().max()) if a.numel() else 0.0


def write_layouts(file):
    """Every model's state_dict layout, [{name, shape, dtype}] in order (dtype in dlm's names),
    for bench/train_models_test.ts: the .dlm files must keep torchvision's names and shapes."""
    dtypes = {torch.float32: "f32", torch.int64: "i64"}
    out = {}
    for name, make in sorted(MODELS.items()):
        sd = make(num_classes=10).state_dict()
        out[name] = [{"name": k, "shape": list(v.shape), "dtype": dtypes[v.dtype]}
                     for k, v in sd.items()]
    text = "{\n" + ",\n".join(
        f"  {json.dumps(m)}: [\n" + ",\n".join(f"    {json.dumps(r)}" for r in rows) + "\n  ]"
        for m, rows in out.items()) + "\n}\n"
    with open(file + ".tmp", "w") as f:
        f.write(text)
    os.replace(file + ".tmp", file)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("name", choices=sorted(MODELS), nargs="?")
    ap.add_argument("--out")
    ap.add_argument("--layouts", metavar="FILE.json")
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--eval-batch", type=int, default=2)
    ap.add_argument("--train-batch", type=int, default=4)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-dropout", action="store_true")
    ap.add_argument("--perturb", type=int, default=2)
    a = ap.parse_args()
    if a.layouts:
        write_layouts(a.layouts)
        return
    if not a.name or not a.out:
        ap.error("NAME and --out are needed (or --layouts FILE.json)")
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(max(1, os.cpu_count() or 1))

    torch.manual_seed(a.seed)
    model = MODELS[a.name](num_classes=10)
    g = torch.Generator().manual_seed(a.seed + 1)
    randomize_norms(model, g)
    if a.no_dropout:
        for m in model.modules():
            if isinstance(m, (nn.Dropout, torchvision.ops.StochasticDepth)):
                m.p = 0.0
            if hasattr(m, "drop_rate"):  # DenseNet's dense layers (F.dropout, 0 by default)
                m.drop_rate = 0.0
    write_safetensors(model.state_dict(), os.path.join(a.out, "weights.safetensors"))

    s = a.size
    x_eval = torch.rand(a.eval_batch, 3, s, s, generator=g)
    x_train = torch.rand(a.steps * a.train_batch, 3, s, s, generator=g)
    y_train = torch.randint(0, 10, (a.steps * a.train_batch,), generator=g)
    save_npy(os.path.join(a.out, "eval_image.npy"), x_eval.numpy())
    save_npy(os.path.join(a.out, "train_image.npy"), x_train.numpy())
    save_npy(os.path.join(a.out, "train_label.npy"), y_train.numpy())

    model.eval()
    with torch.no_grad():
        logits = model(x_eval)
        logits64 = copy.deepcopy(model).double()(x_eval.double())
    save_npy(os.path.join(a.out, "eval_logits.npy"), logits.numpy())
    meta = {
        "args": vars(a),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "eval_logits_fp64_dev": max_dev(logits, logits64),
        "eval_logits_absmax": float(logits.abs().max()),
        "steps": [],
    }

    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum)
    names = {id(p): n for n, p in model.named_parameters()}

    def twin(perturb=0.0):
        """The model and optimiser in float64 (momentum included), parameters optionally times
        (1 + perturb * N(0, 1)) each."""
        m = copy.deepcopy(model).double()
        o = torch.optim.SGD(m.parameters(), lr=a.lr, momentum=a.momentum)
        for p, p64 in zip(model.parameters(), m.parameters()):
            buf = opt.state.get(p, {}).get("momentum_buffer")
            if buf is not None:
                o.state[p64]["momentum_buffer"] = buf.double().clone()
            if perturb:
                with torch.no_grad():
                    p64.mul_(1 + perturb * torch.randn(p64.shape, generator=g, dtype=torch.float64))
        return m, o

    def step(m, o, sl):
        dtype = next(m.parameters()).dtype
        o.zero_grad(set_to_none=True)
        loss = F.cross_entropy(m(x_train[sl].to(dtype)), y_train[sl])
        loss.backward()
        o.step()
        return loss.detach()

    def full_state(m, o, loss):
        state = dict(m.state_dict())
        for (n, p) in m.named_parameters():
            state[f"momentum_buffer:{n}"] = o.state[p]["momentum_buffer"]
        state["loss"] = loss.reshape([])
        return state

    for k in range(a.steps):
        sl = slice(k * a.train_batch, (k + 1) * a.train_batch)
        # How far each tensor may move over this step by rounding alone: the same step in float64
        # from this float32 state, and --perturb more from the state with every parameter moved by
        # float32's relative precision (2^-24): the step's sensitivity to rounding, which torch's
        # float32 sample alone can underestimate (a ReLU or max-pool choice flips or not).
        ref = twin()
        others = [twin(2.0 ** -24) for _ in range(a.perturb)]
        # ReLU inputs within KINK of zero: where float32 rounding can flip the ReLU's choice.
        kinks = []

        def kink_hook(name, six):
            def f(_mod, inputs):
                x = inputs[0].detach()
                # ReLU6 has a second kink at 6, where rounding decides as much.
                close = x.abs() < KINK
                if six:
                    close = close | ((x - 6).abs() < KINK)
                near = close.nonzero()
                for idx in near[:16].tolist():
                    kinks.append({"module": name, "channel": idx[1] if len(idx) > 1 else 0,
                                  "value": float(x[tuple(idx)])})
            return f

        hooks = [mod.register_forward_pre_hook(kink_hook(n, isinstance(mod, nn.ReLU6)))
                 for n, mod in model.named_modules() if isinstance(mod, (nn.ReLU, nn.ReLU6))]
        loss = step(model, opt, sl)
        for h in hooks:
            h.remove()
        state = full_state(model, opt, loss.float())
        ref_state = full_state(*ref, step(*ref, sl))
        dev = {n: max_dev(t, ref_state[n]) for n, t in state.items()}
        for m, o in others:
            other = full_state(m, o, step(m, o, sl))
            for n in dev:
                dev[n] = max(dev[n], max_dev(other[n], ref_state[n]))
        write_safetensors(state, os.path.join(a.out, f"step{k + 1}.safetensors"))
        meta["steps"].append({"loss": float(loss), "fp64_dev": dev, "kinks": kinks})
    with open(os.path.join(a.out, "meta.json.tmp"), "w") as f:
        json.dump(meta, f, indent=1)
    os.replace(os.path.join(a.out, "meta.json.tmp"), os.path.join(a.out, "meta.json"))
    print(json.dumps({"name": a.name, "eval_logits_fp64_dev": meta["eval_logits_fp64_dev"],
                      "losses": [st["loss"] for st in meta["steps"]]}))


if __name__ == "__main__":
    main()
