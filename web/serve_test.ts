import assert from "node:assert/strict";
import { serveDist } from "./serve.ts";

Deno.test("serveDist: the folder's files with their types on loopback, nothing outside it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dlm_serve_test_" });
  Deno.writeTextFileSync(`${dir}/index.html`, "<p>hi</p>");
  Deno.writeFileSync(`${dir}/a.wasm`, new Uint8Array([0, 97, 115, 109]));
  Deno.writeTextFileSync(`${dir}/../dlm_serve_secret.txt`, "no");
  const { server, url } = serveDist(dir);
  try {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const get = async (p: string) => {
      const r = await fetch(url + p);
      return [r.status, r.headers.get("content-type"), await r.text()];
    };
    assert.deepEqual(await get(""), [200, "text/html; charset=utf-8", "<p>hi</p>"]);
    assert.deepEqual((await get("a.wasm")).slice(0, 2), [200, "application/wasm"]);
    assert.equal((await get("missing.js"))[0], 404);
    assert.equal((await get("..%2fdlm_serve_secret.txt"))[0], 404);
    const post = await fetch(url, { method: "POST", body: "x" });
    await post.body?.cancel();
    assert.equal(post.status, 405);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(`${dir}/../dlm_serve_secret.txt`).catch(() => {});
  }
});
