/**
 * The benchmark models keep torchvision's layout: every parameter and buffer of the torchvision
 * twin (bench/torchvision_layouts.json, written by `bench/torch_parity.py --layouts`) under the
 * same name, shape and dtype, and nothing else, so torchvision's weights load by name. Their
 * numbers against torch are `deno task bench:parity`'s (the weights are too large for fixtures).
 */
import assert from "node:assert/strict";
import { compileFile, hasErrors } from "../compiler/compile.ts";
import { formatDiagnostic } from "../compiler/diagnostics.ts";
import { selectModels, TRAIN_MODELS } from "./train_models.ts";

interface Entry {
  name: string;
  shape: number[];
  dtype: string;
}

const root = new URL("../", import.meta.url);
const LAYOUTS = JSON.parse(
  Deno.readTextFileSync(new URL("torchvision_layouts.json", import.meta.url)),
) as Record<string, Entry[]>;

for (const m of TRAIN_MODELS.filter((x) => x.sgd)) {
  Deno.test(`${m.file} (${m.model}) has torchvision ${m.torch}'s parameter names, shapes and dtypes`, () => {
    const want = LAYOUTS[m.torch!];
    assert.ok(want, `bench/torchvision_layouts.json has ${m.torch}`);
    const r = compileFile(decodeURIComponent(new URL(m.file, root).pathname), {
      model: m.model,
      mode: "eval",
    });
    if (hasErrors(r.diagnostics) || !r.graph) {
      assert.fail(r.diagnostics.map((d) => formatDiagnostic(d, r.sources)).join("\n"));
    }
    const g = r.graph;
    const got: Entry[] = g.params.map((p) => {
      const t = g.initializers.get(p.name);
      assert.ok(t, `parameter '${p.name}' has a value`);
      return { name: p.name, shape: [...t.shape], dtype: t.dtype };
    });
    const byName = (xs: Entry[]) => new Map(xs.map((e) => [e.name, e]));
    const have = byName(got), torch = byName(want);
    assert.deepEqual([...have.keys()].filter((n) => !torch.has(n)), [], "names torch lacks");
    assert.deepEqual([...torch.keys()].filter((n) => !have.has(n)), [], "names dlm lacks");
    for (const e of want) assert.deepEqual(have.get(e.name), e, e.name);
  });
}

Deno.test("selectModels() picks by part of the name and names the models when none matches", () => {
  assert.deepEqual(selectModels(TRAIN_MODELS, "net").map((m) => m.id), [
    "resnet18",
    "mobilenet_v2",
    "shufflenet_v2",
    "efficientnet_b0",
    "densenet121",
  ]);
  assert.equal(selectModels(TRAIN_MODELS).length, TRAIN_MODELS.length);
  assert.throws(
    () => selectModels(TRAIN_MODELS, "vgg"),
    /--only vgg matches no model; the models are resnet18 32x32/,
  );
});
