/**
 * `dlm fmt`: lay .dlm files out in the one canonical layout (compiler/syntax/format.ts). Files are
 * rewritten in place, through a temporary file and a rename, only when their layout changes; a
 * folder stands for the .dlm files under it; with no file, standard input is formatted to standard
 * output. `--check` writes nothing and lists the files that are not formatted (exit 1). A file
 * that does not parse gets its diagnostics, is left untouched, and the exit status is 1.
 */
import { diag, error, formatDiagnostic, SourceMap } from "../../compiler/diagnostics.ts";
import { formatSource } from "../../compiler/syntax/format.ts";
import { readTextOrFail, writeFileAtomic } from "../../runtime/fs.ts";
import { EXIT, type Io, type Parsed } from "../command.ts";

/** Run `dlm fmt`; returns the exit code. */
export async function run(args: Parsed, io: Io): Promise<number> {
  const width = (args.opts.width as number | undefined) ?? 100;
  const check = args.opts.check === true;
  if (args.positional.length === 0) return await stdin(width, check, io);
  let status: number = EXIT.ok;
  for (const path of filesOf(args.positional)) {
    const text = readTextOrFail(path, "file");
    const r = formatSource(text, { path, width });
    if (!r.ok) {
      const sources = new SourceMap();
      sources.add(path, text);
      for (const d of r.diagnostics) io.err(formatDiagnostic(d, sources));
      status = EXIT.input;
      continue;
    }
    if (r.text === text) continue;
    if (check) {
      io.err(formatDiagnostic(error(...diag("DLM0560", path))));
      status = EXIT.input;
    } else {
      writeFileAtomic(path, new TextEncoder().encode(r.text));
      io.out(path);
    }
  }
  return status;
}

/** The files named, a folder standing for the .dlm files under it (sorted, hidden ones skipped). */
function filesOf(paths: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    const entries = [...Deno.readDirSync(dir)].sort((a, b) => a.name < b.name ? -1 : 1);
    for (const e of entries) {
      if (e.name.startsWith(".") || e.name === "node_modules") continue;
      const p = `${dir}/${e.name}`;
      if (e.isDirectory) walk(p);
      else if (e.isFile && e.name.endsWith(".dlm")) out.push(p);
    }
  };
  for (const p of paths) {
    let dir = false;
    try {
      dir = Deno.statSync(p).isDirectory;
    } catch { /* not there: reading it says so */ }
    if (dir) walk(p.replace(/\/+$/, ""));
    else out.push(p);
  }
  return out;
}

/** Standard input to standard output (editors pipe a buffer through this). */
async function stdin(width: number, check: boolean, io: Io): Promise<number> {
  const text = await new Response(Deno.stdin.readable).text();
  const r = formatSource(text, { path: "<stdin>", width });
  if (!r.ok) {
    const sources = new SourceMap();
    sources.add("<stdin>", text);
    for (const d of r.diagnostics) io.err(formatDiagnostic(d, sources));
    return EXIT.input;
  }
  if (check) {
    if (r.text === text) return EXIT.ok;
    io.err(formatDiagnostic(error(...diag("DLM0560", "<stdin>"))));
    return EXIT.input;
  }
  io.out(r.text.replace(/\n$/, ""));
  return EXIT.ok;
}
