import assert from "node:assert/strict";
import { findAll, parseXml, textOf } from "./xml_wellformed.ts";

Deno.test("parseXml() reads elements, attributes, entities and text", () => {
  const root = parseXml(
    `<?xml version="1.0"?>\n<!-- c --><a x="1" y='&lt;&amp;&#x41;'><b/>t&gt;<c>&#65;</c></a>\n`,
  );
  assert.equal(root.name, "a");
  assert.deepEqual(root.attrs, { x: "1", y: "<&A" });
  assert.equal(findAll(root, "b").length, 1);
  assert.equal(textOf(root), "t>A");
});

Deno.test("parseXml() rejects XML that is not well-formed, saying why", () => {
  const bad: [string, RegExp][] = [
    ["<a><b></a></b>", /does not match/],
    ["<a>", /never closed/],
    ["<a></a><b/>", /after the root/],
    ["<a>x & y</a>", /bare "&"/],
    ["<a>&nbsp;</a>", /unknown entity/],
    ['<a x="<"/>', /"<" in the value/],
    ['<a x="1" x="2"/>', /duplicate attribute/],
    ["<a x=1/>", /quoted value/],
    ['<a x="1"y="2"/>', /whitespace before an attribute/],
    ["<a>\u0001</a>", /not allowed/],
    ["text<a/>", /root element/],
    ["</a>", /name|without an open/],
  ];
  for (const [xml, why] of bad) assert.throws(() => parseXml(xml), why, xml);
});
