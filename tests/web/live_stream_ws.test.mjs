// The live-speech WebSocket (`opusrt serve --stream-port`) driven by a real, independent client:
// the npm `ws` package under Node.js. Word-by-word partials get updates whose committed text only
// grows; the final equals `opusrt translate` of the same source (an independent path to the same
// model); a burst is answered latest-wins with the final never skipped; a client that vanishes
// mid-segment (TCP gone, no close frame) frees its session (the opusrt_live_streams gauge of
// /metrics drops back) and the server goes on; a bad message gets an error line; an oversized one
// closes the connection with 1009.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.OPUSRT_NODE_MODULES, "package.json"));
const WebSocket = require("ws");
const wsUrl = process.env.OPUSRT_WS_URL;
const httpUrl = process.env.OPUSRT_URL;
assert.ok(wsUrl, "OPUSRT_WS_URL is not set: start the server with --stream-port 0");

function offline(text) {
  const args = ["translate", "--model", process.env.OPUSRT_MODEL, "--max-new-tokens", "16", "--beams", "1"];
  return execFileSync(process.env.OPUSRT_CLI, args, { input: text + "\n" }).toString().replace(/\n$/, "");
}

// A connection whose incoming lines are awaited one at a time.
async function connect() {
  const ws = new WebSocket(wsUrl);
  const lines = [];
  const waiters = [];
  let closed = null;
  ws.on("message", (data) => {
    const line = JSON.parse(data.toString());
    if (waiters.length) waiters.shift().resolve(line);
    else lines.push(line);
  });
  ws.on("close", (code) => {
    closed = code;
    while (waiters.length) waiters.shift().reject(new Error("closed with " + code));
  });
  await new Promise((resolve, reject) => { ws.once("open", resolve); ws.once("error", reject); });
  return {
    ws,
    send: (message) => ws.send(JSON.stringify(message)),
    next: () => lines.length ? Promise.resolve(lines.shift())
      : closed !== null ? Promise.reject(new Error("closed with " + closed))
      : new Promise((resolve, reject) => waiters.push({ resolve, reject })),
    closedCode: () => new Promise((resolve) => closed !== null ? resolve(closed) : ws.once("close", resolve)),
  };
}

async function liveStreams() {
  const text = await (await fetch(httpUrl + "/metrics")).text();
  const match = text.match(/^opusrt_live_streams (\S+)$/m);
  assert.ok(match, "/metrics has no opusrt_live_streams");
  return Number(match[1]);
}

async function eventually(predicate, what) {
  for (let i = 0; i < 200; ++i) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail("timed out waiting for " + what);
}

function wordPrefixes(text) {
  const words = text.split(/\s+/).filter(Boolean);
  return words.map((_, i) => words.slice(0, i + 1).join(" "));
}

const checks = [];
function check(name, fn) { checks.push([name, fn]); }

check("word by word: committed only grows, the final equals offline translation", async () => {
  const client = await connect();
  for (const text of ["Open the file.", "Save your changes before closing the window."]) {
    let committed = "";
    for (const partial of wordPrefixes(text)) {
      client.send({ segment: "s1", text: partial, final: false });
      const u = await client.next();
      assert.equal(u.error, undefined, JSON.stringify(u));
      assert.equal(u.segment, "s1");
      assert.equal(u.final, false);
      assert.ok(u.committed.startsWith(committed), `committed shrank: ${JSON.stringify(u)}`);
      committed = u.committed;
      // The server's rate limit (20 partials/s) would skip a partial sent sooner.
      await new Promise((r) => setTimeout(r, 60));
    }
    client.send({ segment: "s1", text, final: true });
    const last = await client.next();
    assert.equal(last.final, true);
    assert.equal(last.committed, offline(text));
    assert.equal(last.tentative, "");
  }
  client.ws.close();
});

check("a burst is answered latest-wins and the final is never skipped", async () => {
  const client = await connect();
  const text = "Save your changes before closing the window because the file is open.";
  const partials = wordPrefixes(text);
  for (const partial of partials) client.send({ text: partial, final: false });
  client.send({ text, final: true });
  let updates = 0;
  let last;
  do {
    last = await client.next();
    assert.equal(last.error, undefined, JSON.stringify(last));
    ++updates;
  } while (!last.final);
  assert.ok(last.skipped > 0, "nothing was skipped: " + JSON.stringify(last));
  assert.equal(last.skipped + updates, partials.length + 1);
  assert.equal(last.committed, offline(text));
  client.ws.close();
});

check("a bad message is answered with an error and the stream goes on", async () => {
  const client = await connect();
  client.ws.send("not json");
  assert.ok((await client.next()).error);
  client.send({ final: true });
  assert.ok((await client.next()).error);
  client.send({ text: "Open the file.", final: true });
  const u = await client.next();
  assert.equal(u.error, undefined);
  assert.equal(u.committed, offline("Open the file."));
  client.ws.close();
});

check("a client that vanishes mid-segment frees its session", async () => {
  await eventually(async () => (await liveStreams()) === 0, "earlier streams to close");
  const client = await connect();
  client.send({ text: "Open the", final: false });
  await client.next();
  assert.equal(await liveStreams(), 1);
  client.ws.terminate();  // the TCP connection goes away without a close frame
  await eventually(async () => (await liveStreams()) === 0, "the vanished stream to be freed");
  const again = await connect();
  again.send({ text: "Open the file.", final: true });
  assert.equal((await again.next()).committed, offline("Open the file."));
  again.ws.close();
});

check("a message over the size limit closes the connection with 1009", async () => {
  const client = await connect();
  client.send({ text: "word ".repeat(20000), final: false });  // 100 KB > the 64 KiB limit
  assert.equal(await client.closedCode(), 1009);
});

let failed = 0;
for (const [name, fn] of checks) {
  try {
    await fn();
    console.log("ok   " + name);
  } catch (e) {
    failed++;
    console.log("FAIL " + name + "\n     " + (e.stack || e));
  }
}
process.exit(failed ? 1 : 0);
