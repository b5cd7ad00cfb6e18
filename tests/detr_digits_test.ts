/**
 * lang-examples/detr_digits.dlm: DETR's Hungarian-matched set loss, DINO's
 * denoising queries (`--set dn_groups=G`) and the Grounding-DINO-style text
 * head (`--set head=text`), each trained end to end at a tiny size on canvases
 * of tools/digits_detection_data.ts, each agreeing between the reference
 * interpreter and onnxruntime over two training steps, and the full-size
 * (DETR-R50) configuration compiling. The denoising queries' attention mask is
 * checked by what it promises: the matching queries compute the same losses
 * with the denoising queries beside them as without.
 */
import assert from "node:assert/strict";
import { compileTrain } from "../compiler/train/mod.ts";
import { type Tensor, toNumbers } from "../compiler/ir/tensor.ts";
import { runGraph } from "../runtime/reference/mod.ts";
import { writeNpy } from "../runtime/formats/mod.ts";
import { digitsCanvases } from "../tools/digits_detection_data.ts";
import { readHistory } from "./train_history.ts";
import { dlm } from "./cli_testing.ts";

const FILE = decodeURIComponent(
  new URL("../lang-examples/detr_digits.dlm", import.meta.url).pathname,
);

/** A tiny DETR: 32 x 32 canvases of at most 2 digits, 5 queries, two decoder layers. */
const TINY: Record<string, number> = {
  size: 32,
  width: 16,
  dim: 32,
  heads: 2,
  hidden: 32,
  enc_layers: 1,
  dec_layers: 2,
  queries: 5,
  objects: 2,
};

const CONFIGS: [string, Record<string, number | string>][] = [
  ["DETR", {}],
  ["DETR with DINO's denoising queries", { dn_groups: 2 }],
  ["the Grounding-DINO-style text head", { head: "text" }],
];

function canvases(n: number, seed = 1) {
  return digitsCanvases({
    count: n,
    canvas: 32,
    objects: 2,
    sizes: [12, 16],
    digits: [0, 1500],
    seed,
  });
}

function setArgs(sets: Record<string, number | string>): string[] {
  return Object.entries({ ...TINY, ...sets }).flatMap(([k, v]) => ["--set", `${k}=${v}`]);
}

function writeData(dir: string, n: number): string[] {
  const d = canvases(n);
  const arrays: Record<string, Tensor> = {
    image: d.image,
    boxes: d.boxes,
    labels: d.labels,
    mask: d.mask,
  };
  for (const [k, t] of Object.entries(arrays)) Deno.writeFileSync(`${dir}/${k}.npy`, writeNpy(t));
  return Object.keys(arrays).flatMap((k) => ["--data", `${k}=${dir}/${k}.npy`]);
}

function withTemp(f: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = Deno.makeTempDirSync({ prefix: "dlm_detr_test_" });
    try {
      await f(dir);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  };
}

for (const [what, sets] of CONFIGS) {
  Deno.test(
    `detr_digits.dlm trains, ${what}: the matched set loss falls over 5 epochs`,
    withTemp(async (dir) => {
      const data = writeData(dir, 96);
      const r = await dlm(
        "train",
        FILE,
        ...data,
        ...setArgs(sets),
        ...["--epochs", "5", "--batch-size", "8", "--val-split", "0", "--out", `${dir}/run`],
      );
      assert.equal(r.code, 0, r.err);
      const h = readHistory(`${dir}/run`);
      const losses = h.map((e) => e.loss);
      assert.ok(losses.every(Number.isFinite), JSON.stringify(losses));
      assert.ok(losses.at(-1)! < 0.95 * losses[0], JSON.stringify(losses));
      // The box terms are what a few epochs move first: L1 and GIoU of the matched boxes fall.
      assert.ok(h.at(-1)!.l1_loss < h[0].l1_loss, JSON.stringify(h.map((e) => e.l1_loss)));
    }),
  );

  Deno.test(
    `dlm diff --train 2 agrees between the runtimes for detr_digits.dlm, ${what}`,
    withTemp(async (dir) => {
      const data = writeData(dir, 16);
      const r = await dlm(
        "diff",
        FILE,
        "--train",
        "2",
        ...["--batch-size", "4"],
        ...data,
        ...setArgs(sets),
      );
      assert.equal(r.code, 0, r.out + r.err);
    }),
  );
}

Deno.test("the denoising queries' attention mask leaves the matching queries' losses as they were", () => {
  // The evaluation model of the section (its loss and metrics, with the denoising queries'
  // random noise drawn inside) with and without denoising queries, on the same weights and
  // batch: the matching part must not see the extra queries, so its losses are the same.
  const d = canvases(6, 3);
  const feeds = { image: d.image, boxes: d.boxes, labels: d.labels, mask: d.mask };
  const metrics = (dn: number) => {
    const c = compileTrain(FILE, { overrides: { ...TINY, dn_groups: dn } });
    assert.ok(c.eval, c.diagnostics.map((x) => x.message).join("\n"));
    const out = runGraph(c.eval, feeds).outputs;
    return Object.fromEntries(
      ["class_loss", "l1_loss", "giou_loss", "loss"].map((
        k,
      ) => [k, toNumbers(out[`metric:${k}`] ?? out[k])[0]]),
    );
  };
  const plain = metrics(0), dn = metrics(3);
  for (const k of ["class_loss", "l1_loss", "giou_loss"]) {
    assert.ok(
      Math.abs(plain[k] - dn[k]) <= 1e-5 * Math.abs(plain[k]),
      `${k}: ${plain[k]} vs ${dn[k]}`,
    );
  }
  // The loss itself has the denoising terms on top.
  assert.ok(dn.loss > plain.loss, `loss ${dn.loss} with denoising, ${plain.loss} without`);
});

Deno.test("detr_digits.dlm's full-size configuration (DETR-R50's dims) compiles with its train step", () => {
  const c = compileTrain(FILE, {
    overrides: {
      backbone: "resnet50",
      size: 800,
      channels: 3,
      dim: 256,
      heads: 8,
      hidden: 2048,
      enc_layers: 6,
      dec_layers: 6,
      queries: 100,
      classes: 91,
      objects: 20,
      dn_groups: 5,
    },
    evaluation: () => false,
  });
  assert.deepEqual(c.diagnostics.filter((x) => x.severity === "error").map((x) => x.message), []);
  const g = c.step!;
  const types = Object.fromEntries(g.inputs.map((i) => [i.name, i.type.shape]));
  assert.deepEqual(types.image, ["N", 3, 800, 800]);
  assert.deepEqual(types.boxes, ["N", 20, 4]);
  // ResNet-50's last stage and the Transformer's widths are there.
  assert.ok(g.inputs.some((i) => i.name === "backbone.layer4.2.conv3.weight"));
  assert.ok(g.inputs.some((i) => i.name === "decoder.layers.5.cross_attn.q_proj.weight"));
  const q = g.inputs.find((i) => i.name === "query_anchor")!;
  assert.deepEqual(q.type.shape, [100, 4]);
});
