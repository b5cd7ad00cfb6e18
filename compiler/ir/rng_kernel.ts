/**
 * The bulk fills of Rng (rng.ts) as a small WebAssembly module, written
 * below in WebAssembly's text instructions and assembled here at first use
 * (no binary, no toolchain): the same xoshiro128** words, the same ziggurat
 * and the same f64 arithmetic in the same order as Rng's TypeScript loops,
 * so the same f32 values bit for bit (rng_kernel_test.ts compares the two on
 * many streams; tools/replay.ts pins every example's weights), in about half
 * the CPU time (ResNet-50's 23.5M normal draws: ~100 ms of JIT-compiled
 * TypeScript, ~50 ms here). The slow path's Math.exp and Math.log are
 * imported from JavaScript, so they are the very functions the TypeScript
 * path calls.
 *
 * The module owns its memory (5 pages, never grown):
 *
 *   0      KN, WN, FN   the ziggurat tables, 3 x 128 f64 (written from rng.ts)
 *   3072   STATE        a, b, c, d: the generator's state, 4 x i32
 *   4096   AT, HZS      a chunk's slow-path indices and words, 2 x 4096 i32
 *   65536  OUT          OUT_VALUES f32: what a fill writes
 *
 * A fill reads the state from STATE and leaves it there advanced; rng.ts
 * copies it in and out around each call.
 */

/** Values one call can fill: OUT's size. A multiple of 4096 (fillNormal's chunk). */
export const OUT_VALUES = 65536;

/** The module's fills, with views of its memory. */
export interface FillKernel {
  /** The generator's state a, b, c, d (signed words). */
  state: Int32Array;
  /** The output area (OUT_VALUES f32); a fill writes its first n values. */
  out: Float32Array;
  /**
   * out[0..n) = N(mean, std^2) exactly as Rng.fillNormalTs fills an array
   * of n values: chunks of min(4096, n) words, each chunk's fast path, then
   * its slow-path samples in index order.
   */
  fillNormal(n: number, mean: number, std: number): void;
  /** out[0..n) = low + w * (next word, unsigned), as Rng.fillUniformTs. */
  fillUniform(n: number, low: number, w: number): void;
  /** out[from..from+n) *= k, each product rounded to f32 (as `v[i] *= k` on a Float32Array). */
  scale(from: number, n: number, k: number): void;
}

/** The ziggurat tables the fills read (rng.ts builds them). */
export interface ZigguratTables {
  KN: Float64Array;
  WN: Float64Array;
  FN: Float64Array;
}

/** Byte offsets of the memory layout, named in the instructions below. */
const MEM: Record<string, number> = {
  KN: 0,
  WN: 1024,
  FN: 2048,
  STATE: 3072,
  AT: 4096,
  HZS: 20480,
  OUT: 65536,
};
const PAGES = (MEM.OUT + OUT_VALUES * 4) / 65536;

/** Instantiate the module with these tables; undefined where WebAssembly is unavailable. */
export function makeFillKernel(t: ZigguratTables): FillKernel | undefined {
  if (typeof WebAssembly !== "object") return undefined;
  const instance = new WebAssembly.Instance(new WebAssembly.Module(assemble()), {
    m: { exp: Math.exp, log: Math.log },
  });
  const e = instance.exports as {
    mem: WebAssembly.Memory;
    fill_normal(ptr: number, n: number, mean: number, std: number): void;
    fill_uniform(ptr: number, n: number, low: number, w: number): void;
    scale(ptr: number, n: number, k: number): void;
  };
  const buf = e.mem.buffer;
  new Float64Array(buf, MEM.KN, 128).set(t.KN);
  new Float64Array(buf, MEM.WN, 128).set(t.WN);
  new Float64Array(buf, MEM.FN, 128).set(t.FN);
  const check = (n: number) => {
    if (!(Number.isInteger(n) && n >= 0 && n <= OUT_VALUES)) {
      throw new RangeError(`a fill of ${n} values (at most ${OUT_VALUES})`);
    }
  };
  return {
    state: new Int32Array(buf, MEM.STATE, 4),
    out: new Float32Array(buf, MEM.OUT, OUT_VALUES),
    fillNormal(n, mean, std) {
      check(n);
      e.fill_normal(MEM.OUT, n, mean, std);
    },
    fillUniform(n, low, w) {
      check(n);
      e.fill_uniform(MEM.OUT, n, low, w);
    },
    scale(from, n, k) {
      check(from + n);
      e.scale(MEM.OUT + 4 * from, n, k);
    },
  };
}

// ---------------------------------------------------------------------------
// The functions, in WebAssembly's text instructions (flat, one stack machine
// instruction after another; `;;` starts a comment). `select` is c ? x : y
// of the stack x, y, c; `br_if 1` inside `block loop` leaves the loop and
// `br 0` repeats it. Names are locals, functions or MEM offsets.

/**
 * One xoshiro128** step on the state in locals a, b, c, d, its word left in
 * local `out` (Rng.u32 without the final `>>> 0`, which only reinterprets):
 *
 *   out = rotl(b * 5, 7) * 9;  t = b << 9;
 *   c ^= a; d ^= b; b ^= c; a ^= d; c ^= t; d = rotl(d, 11)
 */
const step = (out: string) => `
  local.get b  i32.const 5  i32.mul  i32.const 7  i32.rotl  i32.const 9  i32.mul  local.set ${out}
  local.get b  i32.const 9  i32.shl  local.set t
  local.get c  local.get a  i32.xor  local.set c
  local.get d  local.get b  i32.xor  local.set d
  local.get b  local.get c  i32.xor  local.set b
  local.get a  local.get d  i32.xor  local.set a
  local.get c  local.get t  i32.xor  local.set c
  local.get d  i32.const 11  i32.rotl  local.set d`;

const loadState = `
  i32.const 0  i32.load STATE  local.set a
  i32.const 4  i32.load STATE  local.set b
  i32.const 8  i32.load STATE  local.set c
  i32.const 12  i32.load STATE  local.set d`;

const storeState = `
  i32.const 0  local.get a  i32.store STATE
  i32.const 4  local.get b  i32.store STATE
  i32.const 8  local.get c  i32.store STATE
  i32.const 12  local.get d  i32.store STATE`;

const STATE_LOCALS = { a: "i32", b: "i32", c: "i32", d: "i32", t: "i32" } as const;

const FUNCS: FuncDef[] = [
  {
    // Rng.u32 on the state in memory: the slow path's draws.
    name: "u32",
    params: {},
    locals: { ...STATE_LOCALS, w: "i32" },
    result: "i32",
    body: `${loadState} ${step("w")} ${storeState} local.get w`,
  },
  {
    // Rng.uniform: u32() / 2^32, the word unsigned.
    name: "uniform",
    params: {},
    locals: {},
    result: "f64",
    body: `call u32  f64.convert_i32_u  f64.const 4294967296  f64.div`,
  },
  {
    /*
     * Rng.normalTail(hz, hz & 127), line for line (R = 3.442619855899):
     *
     *   for (;;) {
     *     x = hz * WN[iz]
     *     if (iz === 0) {
     *       do { x0 = -log(1 - uniform()) / R; y = -log(1 - uniform()) } while (y + y < x0 * x0)
     *       return hz > 0 ? R + x0 : -R - x0
     *     }
     *     if (FN[iz] + uniform() * (FN[iz - 1] - FN[iz]) < exp(-0.5 * x * x)) return x
     *     hz = u32(); iz = hz & 127
     *     if (abs(hz) < KN[iz]) return hz * WN[iz]
     *   }
     *
     * iz8 is iz * 8, a table entry's byte offset.
     */
    name: "tail",
    params: { hz: "i32" },
    locals: { iz8: "i32", x: "f64", x0: "f64", y: "f64" },
    result: "f64",
    body: `
      local.get hz  i32.const 127  i32.and  i32.const 3  i32.shl  local.set iz8
      loop
        local.get hz  f64.convert_i32_s  local.get iz8  f64.load WN  f64.mul  local.set x
        local.get iz8  i32.eqz
        if
          loop
            f64.const 1  call uniform  f64.sub  call log  f64.neg  f64.const 3.442619855899  f64.div
            local.set x0
            f64.const 1  call uniform  f64.sub  call log  f64.neg  local.tee y
            local.get y  f64.add  local.get x0  local.get x0  f64.mul  f64.lt
            br_if 0
          end
          f64.const 3.442619855899  local.get x0  f64.add
          f64.const -3.442619855899  local.get x0  f64.sub
          local.get hz  i32.const 0  i32.gt_s  select
          return
        end
        local.get iz8  f64.load FN
        call uniform  local.get iz8  f64.load FN-8  local.get iz8  f64.load FN  f64.sub  f64.mul
        f64.add
        f64.const -0.5  local.get x  f64.mul  local.get x  f64.mul  call exp
        f64.lt
        if  local.get x  return  end
        call u32  local.tee hz  i32.const 127  i32.and  i32.const 3  i32.shl  local.set iz8
        local.get hz  f64.convert_i32_s  f64.abs  local.get iz8  f64.load KN  f64.lt
        if  local.get hz  f64.convert_i32_s  local.get iz8  f64.load WN  f64.mul  return  end
        br 0
      end
      f64.const 0 ;; not reached: the loop leaves only by returning`,
  },
  {
    /*
     * Rng.fillNormalTs on the n f32 at ptr:
     *
     *   m = min(4096, n)
     *   for (base = 0; base < n; base += m) {
     *     end = min(base + m, n); slow = 0
     *     for (i = base; i < end; i++) {           // normalRun, the state in locals
     *       hz = step(); iz = hz & 127
     *       if (abs(hz) < KN[iz]) out[i] = mean + std * (hz * WN[iz])
     *       else { AT[slow] = i; HZS[slow] = hz; slow++ }
     *     }
     *     for (q = 0; q < slow; q++) out[AT[q]] = mean + std * tail(HZS[q])
     *   }
     */
    name: "fill_normal",
    export: true,
    params: { ptr: "i32", n: "i32", mean: "f64", std: "f64" },
    locals: {
      ...STATE_LOCALS,
      hz: "i32",
      iz8: "i32",
      i: "i32",
      slow: "i32",
      m: "i32",
      base: "i32",
      end: "i32",
      q: "i32",
      hzf: "f64",
    },
    body: `
      local.get n  i32.const 4096  local.get n  i32.const 4096  i32.lt_s  select  local.set m
      block loop
        local.get base  local.get n  i32.ge_s  br_if 1
        local.get base  local.get m  i32.add  local.tee end
        local.get n  local.get end  local.get n  i32.lt_s  select  local.set end
        i32.const 0  local.set slow
        local.get base  local.set i
        ${loadState}
        block loop
          local.get i  local.get end  i32.ge_s  br_if 1
          ${step("hz")}
          local.get hz  i32.const 127  i32.and  i32.const 3  i32.shl  local.set iz8
          local.get hz  f64.convert_i32_s  local.tee hzf  f64.abs  local.get iz8  f64.load KN  f64.lt
          if
            local.get ptr  local.get i  i32.const 2  i32.shl  i32.add
            local.get mean  local.get std  local.get hzf  local.get iz8  f64.load WN  f64.mul  f64.mul
            f64.add  f32.demote_f64  f32.store 0
          else
            local.get slow  i32.const 2  i32.shl  local.get i  i32.store AT
            local.get slow  i32.const 2  i32.shl  local.get hz  i32.store HZS
            local.get slow  i32.const 1  i32.add  local.set slow
          end
          local.get i  i32.const 1  i32.add  local.set i
          br 0
        end end
        ${storeState}
        i32.const 0  local.set q
        block loop
          local.get q  local.get slow  i32.ge_s  br_if 1
          local.get ptr  local.get q  i32.const 2  i32.shl  i32.load AT  i32.const 2  i32.shl  i32.add
          local.get mean  local.get std
          local.get q  i32.const 2  i32.shl  i32.load HZS  call tail
          f64.mul  f64.add  f32.demote_f64  f32.store 0
          local.get q  i32.const 1  i32.add  local.set q
          br 0
        end end
        local.get base  local.get m  i32.add  local.set base
        br 0
      end end`,
  },
  {
    // Rng.fillUniformTs's uniformRun on the n f32 at ptr: out[i] = low + w * (step() unsigned).
    name: "fill_uniform",
    export: true,
    params: { ptr: "i32", n: "i32", low: "f64", w: "f64" },
    locals: { ...STATE_LOCALS, r: "i32", i: "i32" },
    body: `
      ${loadState}
      block loop
        local.get i  local.get n  i32.ge_s  br_if 1
        ${step("r")}
        local.get ptr  local.get i  i32.const 2  i32.shl  i32.add
        local.get low  local.get w  local.get r  f64.convert_i32_u  f64.mul  f64.add
        f32.demote_f64  f32.store 0
        local.get i  i32.const 1  i32.add  local.set i
        br 0
      end end
      ${storeState}`,
  },
  {
    // v[i] *= k on the n f32 at ptr: f32(f64(v[i]) * k), as a Float32Array store rounds.
    name: "scale",
    export: true,
    params: { ptr: "i32", n: "i32", k: "f64" },
    locals: { end: "i32" },
    body: `
      local.get ptr  local.get n  i32.const 2  i32.shl  i32.add  local.set end
      block loop
        local.get ptr  local.get end  i32.ge_s  br_if 1
        local.get ptr  local.get ptr  f32.load 0  f64.promote_f32  local.get k  f64.mul
        f32.demote_f64  f32.store 0
        local.get ptr  i32.const 4  i32.add  local.set ptr
        br 0
      end end`,
  },
];

/** The imports, functions 0 and 1: JavaScript's own Math.exp and Math.log. */
const IMPORTS = ["exp", "log"];

// ---------------------------------------------------------------------------
// The assembler: WebAssembly's binary format (core spec 1.0, section 5) for
// the instructions above.

type ValType = "i32" | "f64";

interface FuncDef {
  name: string;
  export?: boolean;
  params: Record<string, ValType>;
  locals: Record<string, ValType>;
  result?: ValType;
  body: string;
}

/** Opcodes, and the kind of immediate each takes. */
const OPS: Record<string, [number, Immediate?]> = {
  "block": [0x02, "void"],
  "loop": [0x03, "void"],
  "if": [0x04, "void"],
  "else": [0x05],
  "end": [0x0b],
  "br": [0x0c, "label"],
  "br_if": [0x0d, "label"],
  "return": [0x0f],
  "call": [0x10, "func"],
  "select": [0x1b],
  "local.get": [0x20, "local"],
  "local.set": [0x21, "local"],
  "local.tee": [0x22, "local"],
  "i32.load": [0x28, "mem4"],
  "f32.load": [0x2a, "mem4"],
  "f64.load": [0x2b, "mem8"],
  "i32.store": [0x36, "mem4"],
  "f32.store": [0x38, "mem4"],
  "i32.const": [0x41, "i32"],
  "f64.const": [0x44, "f64"],
  "i32.eqz": [0x45],
  "i32.lt_s": [0x48],
  "i32.gt_s": [0x4a],
  "i32.ge_s": [0x4e],
  "f64.lt": [0x63],
  "i32.add": [0x6a],
  "i32.mul": [0x6c],
  "i32.and": [0x71],
  "i32.xor": [0x73],
  "i32.shl": [0x74],
  "i32.rotl": [0x77],
  "f64.abs": [0x99],
  "f64.neg": [0x9a],
  "f64.add": [0xa0],
  "f64.sub": [0xa1],
  "f64.mul": [0xa2],
  "f64.div": [0xa3],
  "f32.demote_f64": [0xb6],
  "f64.convert_i32_s": [0xb7],
  "f64.convert_i32_u": [0xb8],
  "f64.promote_f32": [0xbb],
};
type Immediate = "void" | "label" | "func" | "local" | "mem4" | "mem8" | "i32" | "f64";

const TYPE_CODE: Record<ValType, number> = { i32: 0x7f, f64: 0x7c };

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && (b & 0x40))) return [...out, b];
    out.push(b | 0x80);
  }
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const utf8 = (s: string): number[] => vec([...new TextEncoder().encode(s)].map((b) => [b]));

/** A memory offset: a number, a MEM name, or NAME-k / NAME+k. */
function offset(tok: string): number {
  const m = tok.match(/^([A-Z]+)?([+-]?\d+)?$/);
  const base = m?.[1] !== undefined ? MEM[m[1]] : 0;
  if (!m || base === undefined || (m[1] === undefined && m[2] === undefined)) {
    throw new Error(`internal: rng_kernel: bad memory offset '${tok}'`);
  }
  return base + Number(m[2] ?? 0);
}

/** One function's code: its locals' declarations and its instructions. */
function encodeBody(f: FuncDef, funcIndex: Map<string, number>): number[] {
  const names = [...Object.keys(f.params), ...Object.keys(f.locals)];
  const localIndex = new Map(names.map((n, i) => [n, i]));
  const tokens = f.body.replace(/;;[^\n]*/g, "").split(/\s+/).filter((t) => t);
  const code: number[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const entry = OPS[tokens[i]];
    if (!entry) throw new Error(`internal: rng_kernel: unknown instruction '${tokens[i]}'`);
    const [opcode, imm] = entry;
    code.push(opcode);
    if (!imm) continue;
    if (imm === "void") {
      code.push(0x40);
      continue;
    }
    const arg = tokens[++i];
    const lookup = (m: Map<string, number>) => {
      const v = m.get(arg);
      if (v === undefined) throw new Error(`internal: rng_kernel: unknown name '${arg}'`);
      return v;
    };
    if (imm === "label") code.push(...uleb(Number(arg)));
    else if (imm === "func") code.push(...uleb(lookup(funcIndex)));
    else if (imm === "local") code.push(...uleb(lookup(localIndex)));
    else if (imm === "mem4" || imm === "mem8") {
      code.push(imm === "mem4" ? 2 : 3, ...uleb(offset(arg)));
    } else if (imm === "i32") code.push(...sleb(Number(arg)));
    else {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setFloat64(0, Number(arg), true);
      code.push(...b);
    }
  }
  code.push(0x0b);
  // Locals beyond the parameters, one run per local.
  const decl = vec(Object.values(f.locals).map((t) => [1, TYPE_CODE[t]]));
  const body = [...decl, ...code];
  return [...uleb(body.length), ...body];
}

/** The module's bytes: one type per function, the two imports, the memory and the exports. */
function assemble(): Uint8Array<ArrayBuffer> {
  const sig = (params: ValType[], result?: ValType): number[] => [
    0x60,
    ...vec(params.map((p) => [TYPE_CODE[p]])),
    ...vec(result ? [[TYPE_CODE[result]]] : []),
  ];
  const funcIndex = new Map<string, number>();
  IMPORTS.forEach((n, i) => funcIndex.set(n, i));
  FUNCS.forEach((f, i) => funcIndex.set(f.name, IMPORTS.length + i));
  const types = [
    sig(["f64"], "f64"),
    ...FUNCS.map((f) => sig(Object.values(f.params), f.result)),
  ];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...section(2, vec(IMPORTS.map((n) => [...utf8("m"), ...utf8(n), 0x00, 0]))),
    ...section(3, vec(FUNCS.map((_, i) => uleb(i + 1)))),
    // One memory of PAGES pages, at most PAGES (limits flag 1: a minimum and a maximum).
    ...section(5, vec([[0x01, ...uleb(PAGES), ...uleb(PAGES)]])),
    ...section(
      7,
      vec([
        [...utf8("mem"), 0x02, 0],
        ...FUNCS.filter((f) => f.export).map((f) => [
          ...utf8(f.name),
          0x00,
          ...uleb(funcIndex.get(f.name)!),
        ]),
      ]),
    ),
    ...section(10, vec(FUNCS.map((f) => encodeBody(f, funcIndex)))),
  ]);
}
