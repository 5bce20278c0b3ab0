// The npm `libretranslate` client library, unchanged, against `opusrt serve`: it lists
// /languages, refuses codes not listed there, and POSTs JSON to /translate. Its answers must equal
// `opusrt translate` with the model's own language code (an independent path to the same model).
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.OPUSRT_NODE_MODULES, "package.json"));
const { translate } = require("libretranslate");
const apiurl = process.env.OPUSRT_URL;

function cli(text, targetLang, format = "text") {
  const args = ["translate", "--model", process.env.OPUSRT_MODEL, "--max-new-tokens", "16", "--target-lang", targetLang];
  if (format === "html") args.push("--format", "html");
  const out = execFileSync(process.env.OPUSRT_CLI, args, { input: text + (format === "html" ? "" : "\n") }).toString();
  return format === "html" ? out : out.replace(/\n$/, "");
}

const checks = [];
function check(name, fn) { checks.push([name, fn]); }

const sentence = "The library opens at nine in the morning.";

check("LibreTranslate codes: en -> zh and zt", async () => {
  assert.equal(await translate({ query: sentence, source: "en", target: "zh", apiurl }), cli(sentence, "cmn_Hans"));
  assert.equal(await translate({ query: sentence, source: "en", target: "zt", apiurl }), cli(sentence, "cmn_Hant"));
});

check("source auto (the client's default)", async () => {
  assert.equal(await translate({ query: sentence, target: "zh", apiurl }), cli(sentence, "cmn_Hans"));
});

check("a target LibreTranslate has no code for keeps the model's code", async () => {
  assert.equal(await translate({ query: sentence, source: "en", target: "yue_Hant", apiurl }), cli(sentence, "yue_Hant"));
});

check("an array of texts", async () => {
  const texts = ["Good morning.", "See you tomorrow."];
  assert.deepEqual(await translate({ query: texts, source: "en", target: "zh", apiurl }), texts.map((t) => cli(t, "cmn_Hans")));
});

check("a language the server does not list is refused by the client", async () => {
  await assert.rejects(translate({ query: sentence, source: "en", target: "de", apiurl }), /not found/);
  await assert.rejects(translate({ query: sentence, source: "fr", target: "zh", apiurl }), /not found/);
});

check("format html keeps the markup", async () => {
  const html = '<p>The <b>library</b> opens at <a href="/hours?x=1&amp;y=2">nine</a>.</p>';
  const translated = await translate({ query: html, source: "en", target: "zh", format: "html", apiurl });
  assert.equal(translated, cli(html, "cmn_Hans", "html"));
  assert.match(translated, /^<p>.*<b>.*<\/b>.*<a href="\/hours\?x=1&amp;y=2">.*<\/a>.*<\/p>$/s);
});

check("a server with API keys: the client's apiKey is accepted, a wrong one is 403", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "opusrt-keys-"));
  const keys = path.join(dir, "keys.txt");
  fs.writeFileSync(keys, "client-key\n");
  const server = spawn(process.env.OPUSRT_CLI, ["serve", "--model", process.env.OPUSRT_MODEL, "--port", "0",
                                                "--workers", "1", "--max-new-tokens", "16", "--api-keys", keys]);
  try {
    const port = await new Promise((resolve, reject) => {
      let out = "";
      server.stdout.on("data", (data) => {
        out += data;
        const match = out.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
        if (match) resolve(match[1]);
      });
      server.on("exit", (code) => reject(new Error(`opusrt serve exited with ${code}`)));
    });
    const keyed = `http://127.0.0.1:${port}`;
    assert.equal(await translate({ query: sentence, source: "en", target: "zh", apiurl: keyed, apiKey: "client-key" }),
                 cli(sentence, "cmn_Hans"));
    // The client returns the answer's translatedText: none on a 403.
    assert.equal(await translate({ query: sentence, source: "en", target: "zh", apiurl: keyed, apiKey: "wrong" }),
                 undefined);
  } finally {
    if (server.exitCode === null) {
      const exited = new Promise((resolve) => server.once("exit", resolve));
      server.kill("SIGTERM");
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

let failed = 0;
for (const [name, fn] of checks) {
  try {
    await fn();
    console.log(`ok - ${name}`);
  } catch (error) {
    failed++;
    console.log(`not ok - ${name}\n${error.stack}`);
  }
}
if (failed) {
  console.error(`${failed} of ${checks.length} checks failed`);
  process.exit(1);
}
console.log(`all ${checks.length} checks passed`);
