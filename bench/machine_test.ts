import assert from "node:assert/strict";
import {
  formatMachineFacts,
  machineFacts,
  npmVersion,
  parseCpuModel,
  parseLoadAverage,
  parseMemTotalGiB,
} from "./machine.ts";

Deno.test("parseCpuModel() reads the first x86 'model name' line", () => {
  const info =
    "processor\t: 0\nmodel name\t: AMD EPYC  7B13\nprocessor\t: 1\nmodel name\t: other\n";
  assert.equal(parseCpuModel(info), "AMD EPYC 7B13");
});

Deno.test("parseCpuModel() falls back to ARM's 'Model' line, then to unknown", () => {
  assert.equal(
    parseCpuModel("processor : 0\nModel : Raspberry Pi 4 Model B\n"),
    "Raspberry Pi 4 Model B",
  );
  assert.equal(parseCpuModel("processor : 0\n"), "unknown");
});

Deno.test("parseMemTotalGiB() converts MemTotal from kB", () => {
  assert.equal(parseMemTotalGiB("MemTotal:       16777216 kB\nMemFree: 1 kB\n"), 16);
  assert.equal(parseMemTotalGiB("MemFree: 1 kB\n"), undefined);
});

Deno.test("npmVersion() takes the version of an npm specifier", () => {
  assert.equal(npmVersion("npm:onnxruntime-node@1.30.0"), "1.30.0");
  assert.equal(npmVersion(undefined), undefined);
});

Deno.test("machineFacts() names the Deno and V8 versions and a positive core count", () => {
  const f = machineFacts();
  assert.equal(f.deno, Deno.version.deno);
  assert.equal(f.v8, Deno.version.v8);
  assert.ok(f.cores > 0);
  assert.match(formatMachineFacts(f), /^cpu: .+ \(\d+ logical cores/);
});

Deno.test("parseLoadAverage() reads the first three fields of /proc/loadavg", () => {
  assert.deepEqual(parseLoadAverage("0.52 0.58 0.59 1/467 12345\n"), [0.52, 0.58, 0.59]);
  assert.equal(parseLoadAverage("garbage"), undefined);
});
