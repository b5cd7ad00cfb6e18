#!/usr/bin/env python3
"""Export torch's ViT-B/16 and a GPT-2-small decoder to ONNX for `deno task bench:seq`.

Optional: the bench runs without it and prints "skipped" for the comparison.
Needs Debian's python3-torch (1.13) and python3-torchvision (0.14); no
network and no Hugging Face transformers:

    /usr/bin/python3 bench/torch_export_seq.py [OUT_DIR]   # default /tmp/dlm-bench
    deno task bench:seq

Writes, in OUT_DIR:
- torch_vit_b_16.onnx: torchvision's `vit_b_16()` (random weights), input
  "image" [N, 3, 224, 224], output "logits".
- torch_gpt2_small.onnx: GPT-2 small written here in plain torch with the
  architecture of lang-examples/gpt2.dlm (transformers is not installed):
  token + learned position embeddings, 12 pre-norm blocks (ln_1, fused qkv
  c_attn, causal softmax attention with 12 heads, c_proj, ln_2, c_fc,
  tanh-approximated gelu, c_proj), ln_f and an LM head tied to wte. The
  causal mask is a [1024, 1024] lower-triangular buffer sliced to T, as
  Hugging Face's GPT2Attention does. Input "ids" [N, T], output "logits".
Both at opset 17 with torch's constant folding, batch (and for GPT-2 the
sequence) dims symbolic like dlm's, and beside each model NAME.json with
the export time and torch's own eager latency on 2 threads (batch 1; GPT-2
at 128 tokens; median of EAGER_RUNS runs after a warm-up).
"""

import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

# Debian's torch does its matrix products (nn.Linear) in the reference BLAS,
# single-threaded: eager ViT-B/16 takes seconds per run and GPT-2 tens of
# seconds, so the eager figure is a side note from few runs, not a baseline.
EAGER_RUNS = 3


class Block(nn.Module):
    """One GPT-2 block: x + attn(ln_1(x)), then h + mlp(ln_2(h))."""

    def __init__(self, dim, heads, positions):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(dim, eps=1e-5)
        self.c_attn = nn.Linear(dim, 3 * dim)
        self.c_proj = nn.Linear(dim, dim)
        self.ln_2 = nn.LayerNorm(dim, eps=1e-5)
        self.c_fc = nn.Linear(dim, 4 * dim)
        self.mlp_proj = nn.Linear(4 * dim, dim)
        mask = torch.tril(torch.ones(positions, positions, dtype=torch.bool))
        self.register_buffer("bias", mask.view(1, 1, positions, positions), persistent=False)

    def forward(self, x):
        n, t, d = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(d, dim=2)
        # [N, T, D] -> [N, heads, T, D / heads]
        q, k, v = (z.view(n, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        w = q @ k.transpose(-1, -2) / math.sqrt(d // self.heads)
        w = w.masked_fill(~self.bias[:, :, :t, :t], torch.finfo(w.dtype).min)
        a = (F.softmax(w, dim=-1) @ v).transpose(1, 2).reshape(n, t, d)
        h = x + self.c_proj(a)
        return h + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(h)), approximate="tanh"))


class GPT2(nn.Module):
    def __init__(self, vocab=50257, positions=1024, dim=768, layers=12, heads=12):
        super().__init__()
        self.wte = nn.Embedding(vocab, dim)
        self.wpe = nn.Embedding(positions, dim)
        self.h = nn.ModuleList(Block(dim, heads, positions) for _ in range(layers))
        self.ln_f = nn.LayerNorm(dim, eps=1e-5)

    def forward(self, ids):
        pos = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)
        h = self.wte(ids) + self.wpe(pos)
        for b in self.h:
            h = b(h)
        # The LM head is tied to the token embedding: logits = ln_f(h) @ wte.weight^T.
        return self.ln_f(h) @ self.wte.weight.t()


def export(model, x, out, input_name, dynamic):
    torch.manual_seed(0)
    model = model.eval()
    t0 = time.perf_counter()
    # Not under torch.no_grad(): there nn.MultiheadAttention (torchvision's ViT) takes its
    # fast path, aten::_native_multi_head_attention, which torch 1.13 cannot export.
    torch.onnx.export(
        model,
        x,
        out,
        opset_version=17,
        input_names=[input_name],
        output_names=["logits"],
        dynamic_axes={input_name: dynamic, "logits": dynamic},
        do_constant_folding=True,
    )
    export_s = time.perf_counter() - t0
    times = []
    with torch.no_grad():
        for i in range(1 + EAGER_RUNS):
            t = time.perf_counter()
            model(x)
            if i >= 1:
                times.append((time.perf_counter() - t) * 1000)
    facts = {
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "opset": 17,
        "input": list(x.shape),
        "export_seconds": export_s,
        "eager_batch1_ms_median": statistics.median(times),
        "eager_threads": torch.get_num_threads(),
        "eager_runs": EAGER_RUNS,
        "onnx_bytes": os.path.getsize(out),
    }
    with open(out[: -len(".onnx")] + ".json", "w") as f:
        json.dump(facts, f, indent=2)
    print(json.dumps({"out": out, **facts}, indent=2))


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "/tmp/dlm-bench"
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(2)
    torch.manual_seed(0)
    export(
        torchvision.models.vit_b_16(weights=None),
        torch.randn(1, 3, 224, 224),
        os.path.join(out_dir, "torch_vit_b_16.onnx"),
        "image",
        {0: "N"},
    )
    torch.manual_seed(0)
    export(
        GPT2(),
        torch.randint(0, 50257, (1, 128)),
        os.path.join(out_dir, "torch_gpt2_small.onnx"),
        "ids",
        {0: "N", 1: "T"},
    )


if __name__ == "__main__":
    main()
