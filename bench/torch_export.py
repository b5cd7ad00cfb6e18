#!/usr/bin/env python3
"""Export torchvision's ResNet-50 to ONNX for `deno task bench` to compare with dlm's.

Optional: the bench runs without it and prints "skipped" for the comparison.
Needs Debian's python3-torch, python3-torchvision and python3-onnx:

    apt-get install python3-torch python3-torchvision python3-onnx
    python3 bench/torch_export.py [OUT.onnx]     # default /tmp/dlm-bench/torch_resnet50.onnx
    deno task bench                              # or: deno task bench --torch-onnx OUT.onnx
    python3 bench/torch_export.py --export-only OUT.onnx

With --export-only it builds the model, exports it, prints one JSON line
({"export_seconds": ...}) and exits: the whole process is what
bench/compile_vs_torch.ts times against `dlm compile` (it writes no facts
file and measures no eager latency).

Writes the model (opset 17, batch dim symbolic like dlm's `N`, input
"image", output "logits", batch norms folded by torch's constant folding in
eval mode) and, beside it, OUT.json with the export time and torch's own
eager latency at batch 1 on 2 threads (median of 20 runs after 3 warm-ups),
which the bench reports next to its figures.
"""

import json
import os
import statistics
import sys
import time

import torch
import torchvision


def main():
    args = sys.argv[1:]
    export_only = "--export-only" in args
    args = [a for a in args if a != "--export-only"]
    out = args[0] if args else "/tmp/dlm-bench/torch_resnet50.onnx"
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    torch.manual_seed(0)
    torch.set_num_threads(2)
    model = torchvision.models.resnet50(weights=None).eval()
    x = torch.randn(1, 3, 224, 224)

    t0 = time.perf_counter()
    torch.onnx.export(
        model,
        x,
        out,
        opset_version=17,
        input_names=["image"],
        output_names=["logits"],
        dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}},
        do_constant_folding=True,
    )
    export_s = time.perf_counter() - t0
    if export_only:
        print(json.dumps({"export_seconds": export_s}))
        return

    times = []
    with torch.no_grad():
        for i in range(23):
            t = time.perf_counter()
            model(x)
            if i >= 3:
                times.append((time.perf_counter() - t) * 1000)

    facts = {
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "opset": 17,
        "export_seconds": export_s,
        "eager_batch1_ms_median": statistics.median(times),
        "eager_threads": 2,
        "onnx_bytes": os.path.getsize(out),
    }
    with open(out[: -len(".onnx")] + ".json" if out.endswith(".onnx") else out + ".json", "w") as f:
        json.dump(facts, f, indent=2)
    print(json.dumps({"out": out, **facts}, indent=2))


if __name__ == "__main__":
    main()
