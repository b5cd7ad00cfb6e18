/**
 * `deno task vsix`: package editors/vscode as a .vsix (VS Code's extension package) with the
 * pinned `@vscode/vsce`. The extension's one dependency (vscode-languageclient, pinned in its
 * package.json and package-lock.json) is installed next to it with npm first: vsce reads the
 * production dependencies with `npm list` and packs them into the .vsix.
 *
 *   deno task vsix              # writes editors/vscode/dlm-<version>.vsix
 *   deno task vsix --out X.vsix
 */
const DIR = new URL("../editors/vscode/", import.meta.url).pathname;
const VSCE = "npm:@vscode/vsce@4.1.0";

function run(cmd: string, args: string[]): void {
  const r = new Deno.Command(cmd, { args, cwd: DIR, stdout: "inherit", stderr: "inherit" })
    .outputSync();
  if (!r.success) {
    console.error(`${cmd} ${args.join(" ")} failed (exit ${r.code})`);
    Deno.exit(1);
  }
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--out");
  const version = JSON.parse(Deno.readTextFileSync(`${DIR}package.json`)).version;
  const out = i >= 0 ? Deno.args[i + 1] : `${DIR}dlm-${version}.vsix`;
  run("npm", ["ci", "--omit=dev", "--no-audit", "--no-fund"]);
  run(Deno.execPath(), ["run", "-A", VSCE, "package", "--skip-license", "--out", out]);
  console.log(`wrote ${out}`);
}
