/**
 * A message about a data file says which file: what the data fuzzer (tools/fuzz_data.ts) found
 * said only "the file", "a data set" or nothing, each written here as the small case it was.
 */
import assert from "node:assert/strict";
import { main } from "../cli/main.ts";
import { compileFile } from "../compiler/compile.ts";
import { emitModel } from "../compiler/onnx/emit.ts";
import { onnx } from "../compiler/onnx/proto.ts";
import type { Tensor } from "../compiler/ir/tensor.ts";
import { writeNpy } from "../runtime/formats/mod.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const MLP = `${ROOT}lang-examples/mlp.dlm`;
const MLP_DIGITS = `${ROOT}lang-examples/mlp_digits.dlm`;

async function dlm(...argv: string[]): Promise<{ code: number; err: string }> {
  const err: string[] = [];
  const code = await main(argv, { out: () => {}, err: (s) => err.push(s) });
  return { code, err: err.join("\n") };
}

function inTempDir(f: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = Deno.makeTempDirSync({ prefix: "dlm_data_msg_" });
    try {
      await f(dir);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  };
}

const f32 = (shape: number[]): Tensor => ({
  dtype: "f32",
  shape,
  data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.25),
});

Deno.test(
  "data arrays of different sample counts are reported with the file of each",
  inTempDir(async (dir) => {
    Deno.writeFileSync(`${dir}/image.npy`, writeNpy(f32([24, 64])));
    Deno.writeFileSync(
      `${dir}/label.npy`,
      writeNpy({ dtype: "i64", shape: [6], data: new BigInt64Array(6) }),
    );
    const r = await dlm(
      "train",
      MLP_DIGITS,
      "--data",
      `image=${dir}/image.npy`,
      "--data",
      `label=${dir}/label.npy`,
    );
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /DLM0423: .*'image' \(.*\/image\.npy\) is f32\[24, 64\], 'label' \(.*\/label\.npy\) is i64\[6\]/,
    );
  }),
);

Deno.test(
  "a validation split that would leave a part empty names the data's file",
  inTempDir(async (dir) => {
    const row = Deno.readTextFileSync(`${ROOT}lang-examples/data/digits.csv`).split("\n")[0];
    Deno.writeFileSync(`${dir}/one.csv`, new TextEncoder().encode(row + "\n"));
    const f = `${dir}/one.csv`;
    const r = await dlm(
      "train",
      MLP_DIGITS,
      "--data",
      `image=${f}:0-63`,
      "--data",
      `label=${f}:64`,
    );
    assert.equal(r.code, 1);
    assert.match(r.err, /DLM0210: A validation split of 1 samples \(from .*\/one\.csv\) needs/);
  }),
);

Deno.test(
  "an input file of a shape the model does not take is named in the message",
  inTempDir(async (dir) => {
    Deno.writeFileSync(`${dir}/flat.npy`, writeNpy(f32([24])));
    const r = await dlm("run", MLP, "--input", `x=${dir}/flat.npy`, "--backend", "reference");
    assert.equal(r.code, 1);
    assert.match(r.err, /DLM0411: .*f32\[24\] in '.*\/flat\.npy'/);
  }),
);

Deno.test(
  "a broken graph in an ONNX weights file is reported with the file's name",
  inTempDir(async (dir) => {
    const model = onnx.ModelProto.decode(emitModel(compileFile(MLP, {}).graph!).model);
    model.graph.node[0].opType = "";
    const path = `${dir}/broken.onnx`;
    Deno.writeFileSync(path, onnx.ModelProto.encode(model).finish());
    const r = await dlm("run", MLP, "--weights", path, "--backend", "reference");
    assert.equal(r.code, 1);
    assert.match(r.err, /DLM0405: Invalid ONNX model: node 0 has no operator type/);
    assert.match(r.err, /note: in the ONNX file '.*\/broken\.onnx'/);
  }),
);
