/**
 * com.microsoft MultiHeadAttention (onnxruntime contrib op, version 1), in
 * the unpacked form dlm emits: query [B, S, D], key [B, L, D], value
 * [B, L, Dv] (projections already applied), optional bias [D + D + Dv],
 * key_padding_mask (i32: [B] key lengths, [B, L] or [B, S, L] with 0 =
 * masked) and attention_bias [B or 1, N or 1, S, L]. With N = num_heads heads
 * of size h = D / N (value heads Dv / N), per head:
 *   output = softmax(scale Q K' + masks) V,  scale = 1 / sqrt(h) unless given
 * and the heads are concatenated back: output [B, S, Dv]. present_key /
 * present_value are K and V per head ([B, N, L, h]); qk the scaled scores.
 * Packed QKV, past state and cache inputs are declared but not supported.
 */
import { formatType, type TensorType } from "../../ir/graph.ts";
import { dimDiv, dimEquals, formatShape } from "../dims.ts";
import { type OpDef, ShapeError } from "../op_def.ts";
import { expectDtype, expectRank, input, intAttr, sameDtype } from "../rules.ts";
import { CONTRIB_FLOAT, MS_DOMAIN } from "./common.ts";
import { diag } from "../../diagnostics.ts";

const OP = "MultiHeadAttention";

export const multiHeadAttentionOp: OpDef = {
  op: OP,
  noGradYet:
    "made only by the inference fusions of compiler/passes, which training graphs never run",
  domain: MS_DOMAIN,
  since: 1,
  inputs: [
    { name: "query" },
    { name: "key", optional: true },
    { name: "value", optional: true },
    { name: "bias", optional: true },
    { name: "key_padding_mask", optional: true },
    { name: "attention_bias", optional: true },
    { name: "past_key", optional: true },
    { name: "past_value", optional: true },
    { name: "past_sequence_length", optional: true },
    { name: "cache_indirection", optional: true },
  ],
  outputs: [
    { name: "output" },
    { name: "present_key", optional: true },
    { name: "present_value", optional: true },
    { name: "qk", optional: true },
  ],
  attrs: {
    mask_filter_value: { type: "float", default: -10000 },
    num_heads: { type: "int", required: true },
    scale: { type: "float" },
    unidirectional: { type: "int", default: 0 },
  },
  infer(ctx) {
    const [, key, value, bias, mask, attnBias, ...rest] = ctx.inputs;
    const q = input(ctx, OP, 0, "query");
    expectDtype(OP, "query", q, CONTRIB_FLOAT);
    if (!key || !value) {
      throw new ShapeError(
        ...diag("DLM0227", OP, "separate 'key' and 'value' inputs", "packed QKV (not supported)"),
      );
    }
    if (rest.some((t) => t)) {
      throw new ShapeError(
        ...diag("DLM0227", OP, "no past state or cache", "one (not supported)"),
      );
    }
    sameDtype(OP, [["query", q], ["key", key], ["value", value], ["bias", bias], [
      "attention_bias",
      attnBias,
    ]]);
    for (const [port, t] of [["query", q], ["key", key], ["value", value]] as const) {
      expectRank(OP, port, t, 3);
    }
    const heads = intAttr(ctx.attrs, "num_heads", 0);
    if (!Number.isInteger(heads) || heads < 1) {
      throw new ShapeError(...diag("DLM0227", OP, "'num_heads' to be a positive integer", heads));
    }
    const [b, s, d] = q.shape;
    const [kb, l, kd] = key.shape;
    const [vb, vl, dv] = value.shape;
    if (!dimEquals(kb, b) || !dimEquals(vb, b) || !dimEquals(kd, d) || !dimEquals(vl, l)) {
      throw new ShapeError(
        ...diag(
          "DLM0227",
          OP,
          `key [B, L, D] and value [B, L, Dv] for query [B, S, D] ${formatType(q)}`,
          `key ${formatType(key)} and value ${formatType(value)}`,
        ),
      );
    }
    for (const [what, dim] of [["query", d], ["value", dv]] as const) {
      if (typeof dim === "number" && dim % heads !== 0) {
        throw new ShapeError(
          ...diag(
            "DLM0228",
            OP,
            `the hidden size of '${what}' to be a multiple of 'num_heads'`,
            `${dim} is not a multiple of ${heads}`,
          ),
        );
      }
    }
    if (bias) {
      const total = typeof d === "number" && typeof dv === "number" ? 2 * d + dv : undefined;
      if (bias.shape.length !== 1 || (total !== undefined && bias.shape[0] !== total)) {
        throw new ShapeError(
          ...diag(
            "DLM0227",
            OP,
            `'bias' to be 1-D of size D + D + Dv${total !== undefined ? ` = ${total}` : ""}`,
            formatType(bias),
          ),
        );
      }
    }
    if (mask) {
      expectDtype(OP, "key_padding_mask", mask, ["i32"]);
      const ok = [[b], [b, l], [b, s, l]].some((w) =>
        w.length === mask.shape.length && w.every((x, i) => dimEquals(x, mask.shape[i]))
      );
      if (!ok) {
        throw new ShapeError(
          ...diag(
            "DLM0227",
            OP,
            `'key_padding_mask' of shape ${formatShape([b])}, ${formatShape([b, l])} or ${
              formatShape([b, s, l])
            }`,
            formatType(mask),
          ),
        );
      }
    }
    if (attnBias) {
      const [ab, an, as, al] = attnBias.shape;
      const ok = attnBias.shape.length === 4 && (ab === 1 || dimEquals(ab, b)) &&
        (an === 1 || dimEquals(an, heads)) && dimEquals(as, s) && dimEquals(al, l);
      if (!ok) {
        throw new ShapeError(
          ...diag(
            "DLM0227",
            OP,
            `'attention_bias' of shape [${formatShape([b]).slice(1, -1)} or 1, ${heads} or 1, ${
              formatShape([s, l]).slice(1, -1)
            }]`,
            formatType(attnBias),
          ),
        );
      }
    }
    const h = dimDiv(d, heads);
    const hv = dimDiv(dv, heads);
    const out: TensorType[] = [
      { dtype: q.dtype, shape: [b, s, dv] },
      { dtype: q.dtype, shape: [b, heads, l, h] },
      { dtype: q.dtype, shape: [b, heads, l, hv] },
      { dtype: q.dtype, shape: [b, heads, s, l] },
    ];
    return out.slice(0, Math.max(1, ctx.outputCount ?? 1));
  },
};
