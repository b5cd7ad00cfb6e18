/**
 * What the session layer needs to know about an ONNX model before
 * onnxruntime loads it: how many nodes it has (subgraphs included: a
 * multi-step model is one Scan whose body is the whole step), and whether
 * any tensor lives in an external data file. Read straight off the protobuf
 * wire format, skipping every byte field by its length, so a model of 100 MB
 * of weights costs a walk over its few thousand messages, not a decode of
 * its weights.
 */

/** Facts about a model, from its bytes. */
export interface ModelFacts {
  /** Nodes of the main graph, its subgraphs (Scan, Loop, If bodies) and its local functions. */
  nodes: number;
  /** Some tensor's data is in an external file (TensorProto.data_location = EXTERNAL). */
  externalData: boolean;
}

// Field numbers of onnx.proto3 that lead to nodes and tensors.
const MODEL_GRAPH = 7, MODEL_FUNCTIONS = 25;
const GRAPH_NODE = 1, GRAPH_INITIALIZER = 5, GRAPH_SPARSE_INITIALIZER = 15;
const NODE_ATTRIBUTE = 5;
const ATTR_T = 5, ATTR_G = 6, ATTR_TENSORS = 10, ATTR_GRAPHS = 11, ATTR_SPARSE = 22;
const ATTR_SPARSE_TENSORS = 23;
const TENSOR_EXTERNAL_DATA = 13, TENSOR_DATA_LOCATION = 14;
const SPARSE_VALUES = 1, SPARSE_INDICES = 2;
const FUNCTION_NODE = 7;
const WIRE_VARINT = 0, WIRE_I64 = 1, WIRE_LEN = 2, WIRE_I32 = 5;

/** Raised for bytes that are not a protobuf message; `scanModel` then reports nothing. */
class Malformed extends Error {}

/** A cursor over one message's bytes. */
class Wire {
  pos: number;
  constructor(readonly buf: Uint8Array, start: number, readonly end: number) {
    this.pos = start;
  }

  varint(): number {
    let v = 0, scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Malformed();
      const b = this.buf[this.pos++];
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      scale *= 128;
    }
    throw new Malformed();
  }

  /** Each field: its number, its wire type, and for LEN fields the byte range. */
  *fields(): Generator<{ field: number; wire: number; start: number; end: number; value: number }> {
    while (this.pos < this.end) {
      const tag = this.varint();
      const field = Math.floor(tag / 8), wire = tag & 7;
      if (wire === WIRE_VARINT) {
        const value = this.varint();
        yield { field, wire, start: 0, end: 0, value };
      } else if (wire === WIRE_LEN) {
        const len = this.varint();
        const start = this.pos, end = start + len;
        if (end > this.end) throw new Malformed();
        this.pos = end;
        yield { field, wire, start, end, value: len };
      } else if (wire === WIRE_I64 || wire === WIRE_I32) {
        this.pos += wire === WIRE_I64 ? 8 : 4;
        if (this.pos > this.end) throw new Malformed();
      } else throw new Malformed(); // groups (3, 4) are not in onnx.proto
    }
  }
}

/**
 * Count the nodes of an ONNX model and note external data. Bytes that do
 * not parse give `undefined`: onnxruntime then words the failure itself.
 *
 * @example
 * ```ts
 * const facts = scanModel(Deno.readFileSync("step.onnx"));
 * console.log(facts?.nodes); // 1262
 * ```
 */
export function scanModel(bytes: Uint8Array): ModelFacts | undefined {
  const facts: ModelFacts = { nodes: 0, externalData: false };
  try {
    for (const f of new Wire(bytes, 0, bytes.length).fields()) {
      if (f.wire !== WIRE_LEN) continue;
      if (f.field === MODEL_GRAPH) graph(bytes, f.start, f.end, facts);
      else if (f.field === MODEL_FUNCTIONS) fn(bytes, f.start, f.end, facts);
    }
  } catch (e) {
    if (e instanceof Malformed) return undefined;
    throw e;
  }
  return facts;
}

function graph(buf: Uint8Array, start: number, end: number, facts: ModelFacts): void {
  for (const f of new Wire(buf, start, end).fields()) {
    if (f.wire !== WIRE_LEN) continue;
    if (f.field === GRAPH_NODE) node(buf, f.start, f.end, facts);
    else if (f.field === GRAPH_INITIALIZER) tensor(buf, f.start, f.end, facts);
    else if (f.field === GRAPH_SPARSE_INITIALIZER) sparse(buf, f.start, f.end, facts);
  }
}

function fn(buf: Uint8Array, start: number, end: number, facts: ModelFacts): void {
  for (const f of new Wire(buf, start, end).fields()) {
    if (f.wire === WIRE_LEN && f.field === FUNCTION_NODE) node(buf, f.start, f.end, facts);
  }
}

function node(buf: Uint8Array, start: number, end: number, facts: ModelFacts): void {
  facts.nodes++;
  for (const f of new Wire(buf, start, end).fields()) {
    if (f.wire !== WIRE_LEN || f.field !== NODE_ATTRIBUTE) continue;
    for (const a of new Wire(buf, f.start, f.end).fields()) {
      if (a.wire !== WIRE_LEN) continue;
      if (a.field === ATTR_G || a.field === ATTR_GRAPHS) graph(buf, a.start, a.end, facts);
      else if (a.field === ATTR_T || a.field === ATTR_TENSORS) tensor(buf, a.start, a.end, facts);
      else if (a.field === ATTR_SPARSE || a.field === ATTR_SPARSE_TENSORS) {
        sparse(buf, a.start, a.end, facts);
      }
    }
  }
}

function tensor(buf: Uint8Array, start: number, end: number, facts: ModelFacts): void {
  for (const f of new Wire(buf, start, end).fields()) {
    if (
      (f.field === TENSOR_DATA_LOCATION && f.wire === WIRE_VARINT && f.value === 1) ||
      (f.field === TENSOR_EXTERNAL_DATA && f.wire === WIRE_LEN)
    ) facts.externalData = true;
  }
}

function sparse(buf: Uint8Array, start: number, end: number, facts: ModelFacts): void {
  for (const f of new Wire(buf, start, end).fields()) {
    if (f.wire === WIRE_LEN && (f.field === SPARSE_VALUES || f.field === SPARSE_INDICES)) {
      tensor(buf, f.start, f.end, facts);
    }
  }
}
