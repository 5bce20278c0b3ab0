// How many live-speech streams one `opusrt serve --stream-port` holds: N WebSocket clients (npm
// `ws`) each replay sentences word by word at a speaking rate (default 2.5 words/s), a final after
// each sentence, for a fixed time; the latency of every answered message (send -> its update) is
// collected, and N is raised until the p95 exceeds the bound (default 300 ms). Prints JSON.
//
//   node live_streams.mjs --url ws://127.0.0.1:5001/v1/stream --sentences FILE [--streams 1,2,4,8]
//        [--words-per-second 2.5] [--seconds 30] [--p95-ms 300] [--json OUT]
//
// Which message an update answers: the server answers messages in order and skips stale partials
// (latest wins), counting them in "skipped"; its "seq" counts the messages it translated, so the
// update with seq s and skipped k answers message s + k of the connection.
import fs from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const WebSocket = require("ws");

function parseArgs(argv) {
  const args = { streams: "1,2,4,8", wordsPerSecond: 2.5, seconds: 30, p95Ms: 300 };
  for (let i = 0; i < argv.length; i += 2) {
    const [key, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${key}: missing value`);
    switch (key) {
      case "--url": args.url = value; break;
      case "--sentences": args.sentences = value; break;
      case "--streams": args.streams = value; break;
      case "--words-per-second": args.wordsPerSecond = Number(value); break;
      case "--seconds": args.seconds = Number(value); break;
      case "--p95-ms": args.p95Ms = Number(value); break;
      case "--json": args.json = value; break;
      default: throw new Error(`unknown option ${key}`);
    }
  }
  if (!args.url || !args.sentences) throw new Error("--url and --sentences are required");
  args.levels = args.streams.split(",").map(Number);
  if (args.levels.some((n) => !(n >= 1 && n <= 256))) throw new Error("--streams: counts in 1..256");
  if (!(args.wordsPerSecond > 0) || !(args.seconds > 0)) throw new Error("--words-per-second and --seconds must be > 0");
  return args;
}

function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// One stream: replays the sentences from `offset` on, one message per word interval.
async function runStream(url, sentences, offset, intervalMs, endAt, sink) {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => { ws.once("open", resolve); ws.once("error", reject); });
  const sentAt = [];
  let answered = 0;
  ws.on("message", (data) => {
    const now = performance.now();
    const u = JSON.parse(data.toString());
    if (u.error !== undefined) { sink.errors++; answered++; return; }
    const index = u.seq + u.skipped;
    if (sentAt[index] !== undefined) sink.latencies.push(now - sentAt[index]);
    sink.updates++;
    answered = index + 1;
    if (u.final) sink.finals++;
    sink.lastSkipped.set(ws, u.skipped);
  });
  let s = offset;
  let next = performance.now();
  outer: while (true) {
    const words = sentences[s % sentences.length].split(/\s+/).filter(Boolean);
    for (let w = 1; w <= words.length + 1; ++w) {  // the last message is the sentence's final
      if (performance.now() >= endAt) break outer;
      const final = w > words.length;
      const text = words.slice(0, Math.min(w, words.length)).join(" ");
      sentAt.push(performance.now());
      ws.send(JSON.stringify({ segment: String(s), text, final }));
      next += intervalMs;
      await sleep(Math.max(0, next - performance.now()));
    }
    ++s;
  }
  // Wait for the answer to the last message (a partial the rate limit skipped gets none).
  const lastSent = performance.now();
  while (answered < sentAt.length && performance.now() - lastSent < 5000) await sleep(20);
  sink.sent += sentAt.length;
  sink.skipped += sink.lastSkipped.get(ws) || 0;
  ws.close();
}

async function level(args, sentences, n) {
  const sink = { latencies: [], updates: 0, finals: 0, errors: 0, sent: 0, skipped: 0, lastSkipped: new Map() };
  const intervalMs = 1000 / args.wordsPerSecond;
  const start = performance.now();
  const endAt = start + args.seconds * 1000;
  const streams = [];
  for (let i = 0; i < n; ++i) {
    // Staggered starts, so the streams do not all speak on the same beat.
    streams.push(sleep((intervalMs * i) / n).then(() =>
      runStream(args.url, sentences, i * 3, intervalMs, endAt, sink)));
  }
  await Promise.all(streams);
  const sorted = sink.latencies.slice().sort((a, b) => a - b);
  const p95 = percentile(sorted, 95);
  return {
    streams: n,
    messages: sink.sent,
    updates: sink.updates,
    skipped: sink.skipped,
    finals: sink.finals,
    errors: sink.errors,
    latency_ms_p50: percentile(sorted, 50),
    latency_ms_p95: p95,
    latency_ms_max: sorted.length ? sorted[sorted.length - 1] : null,
    held: sink.errors === 0 && p95 !== null && p95 <= args.p95Ms,
  };
}

const args = parseArgs(process.argv.slice(2));
const sentences = fs.readFileSync(args.sentences, "utf8").split("\n").map((l) => l.trim()).filter(Boolean);
if (!sentences.length) throw new Error(`${args.sentences}: no sentences`);
const results = [];
for (const n of args.levels) {
  const r = await level(args, sentences, n);
  results.push(r);
  console.error(`live streams: ${n} streams: p50 ${r.latency_ms_p50?.toFixed(1)} ms, p95 ${r.latency_ms_p95?.toFixed(1)} ms, ` +
                `${r.updates} updates, ${r.skipped} skipped, ${r.errors} errors${r.held ? "" : "  (not held)"}`);
  if (!r.held) break;
  await sleep(1000);
}
const held = results.filter((r) => r.held).map((r) => r.streams);
const out = {
  words_per_second: args.wordsPerSecond,
  seconds_per_level: args.seconds,
  p95_bound_ms: args.p95Ms,
  max_streams_held: held.length ? Math.max(...held) : 0,
  levels: results,
};
const text = JSON.stringify(out, null, 2);
if (args.json) fs.writeFileSync(args.json, text + "\n");
console.log(text);
