#!/usr/bin/env node
// Peer baseline for opusrt (issue 4, item 2): greedy generation speed of transformers.js
// (npm @huggingface/transformers, on onnxruntime-node, CPU) on a LOCAL Marian / OPUS-MT model
// in the Xenova layout (config.json + generation_config.json at the root, onnx/encoder_model.onnx
// + onnx/decoder_model_merged.onnx).
//
// The tokenizer is bypassed: every row is `--source-len` random token ids in [3, vocab-2)
// followed by </s> (config.eos_token_id), or the ids of --input-ids FILE. Every row generates
// exactly --new-tokens tokens (min_new_tokens = max_new_tokens), greedy. See README.md.

import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const USAGE = `usage: node bench.mjs --model DIR [--threads N] [--batch B | --batches B1,B2,...]
                      [--source-len S] [--new-tokens T] [--runs R] [--warmup W] [--seed K]
                      [--input-ids FILE] [--json]
  --model DIR        local model directory, Xenova layout (onnx/ subfolder)
  --threads N        ONNX Runtime intra-op threads (default 2); inter-op threads = 1
  --batch B          rows per generate() call (default 1)
  --batches LIST     several batch sizes in one process (one model load), e.g. 1,8
  --source-len S     random source ids per row, then </s> (default 25: 26 ids per row)
  --new-tokens T     tokens generated per row, forced: min_new_tokens = max_new_tokens (default 64)
  --runs R           timed runs per batch size (default 5)
  --warmup W         untimed warm-up runs per batch size (default 1)
  --seed K           seed of the random source ids (default 1)
  --input-ids FILE   JSON [[id, ...], ...] (rows of equal length, </s> included) instead of
                     random ids; sets the batch and source length
  --json             print one JSON object on stdout (human-readable text otherwise)`;

function fail(message) {
  process.stderr.write(`bench.mjs: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = {
    model: null, threads: 2, batches: [1], sourceLen: 25, newTokens: 64,
    runs: 5, warmup: 1, seed: 1, inputIds: null, json: false,
  };
  const ints = {
    '--threads': 'threads', '--source-len': 'sourceLen', '--new-tokens': 'newTokens',
    '--runs': 'runs', '--warmup': 'warmup', '--seed': 'seed',
  };
  const integer = (flag, text) => {
    const n = Number(text);
    if (text === '' || !Number.isInteger(n)) fail(`${flag}: not an integer: ${text}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value = null;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) { value = arg.slice(eq + 1); arg = arg.slice(0, eq); }
    const next = () => {
      if (value !== null) return value;
      if (i + 1 >= argv.length) fail(`${arg} needs a value\n${USAGE}`);
      return argv[++i];
    };
    if (arg === '--help' || arg === '-h') { process.stdout.write(USAGE + '\n'); process.exit(0); }
    else if (arg === '--json') opts.json = true;
    else if (arg === '--model') opts.model = next();
    else if (arg === '--input-ids') opts.inputIds = next();
    else if (arg === '--batch') opts.batches = [integer(arg, next())];
    else if (arg === '--batches') opts.batches = next().split(',').map((t) => integer(arg, t.trim()));
    else if (arg in ints) opts[ints[arg]] = integer(arg, next());
    else fail(`unknown argument: ${arg}\n${USAGE}`);
  }
  if (!opts.model) fail(`--model DIR is required\n${USAGE}`);
  if (opts.batches.length === 0 || opts.batches.some((b) => b < 1)) fail('batch sizes must be >= 1');
  for (const [flag, key] of [['--threads', 'threads'], ['--source-len', 'sourceLen'],
    ['--new-tokens', 'newTokens'], ['--runs', 'runs']]) {
    if (opts[key] < 1) fail(`${flag} must be >= 1`);
  }
  if (opts.warmup < 0) fail('--warmup must be >= 0');
  return opts;
}

function median(xs) {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Number of OS threads of this process: ONNX Runtime adds N-1 intra-op pool threads per
// session, the evidence that --threads took effect.
function osThreads() {
  try {
    return Number(fs.readFileSync('/proc/self/status', 'utf8').match(/Threads:\s+(\d+)/)[1]);
  } catch {
    return null;
  }
}

const opts = parseArgs(process.argv.slice(2));
const log = (...args) => { if (!opts.json) console.log(...args); };

// ---- the model directory -------------------------------------------------------------------
const modelDir = path.resolve(opts.model);
for (const f of ['config.json', 'generation_config.json', 'onnx/encoder_model.onnx',
  'onnx/decoder_model_merged.onnx']) {
  if (!fs.existsSync(path.join(modelDir, f))) {
    fail(`${path.join(modelDir, f)} is missing (transformers.js needs the Xenova layout; ` +
      'make_fixture.py writes it with --layout xenova)');
  }
}
const config = JSON.parse(fs.readFileSync(path.join(modelDir, 'config.json'), 'utf8'));
const vocab = config.vocab_size;
const eosId = Array.isArray(config.eos_token_id) ? config.eos_token_id[0] : config.eos_token_id;
if (!Number.isInteger(vocab) || !Number.isInteger(eosId)) {
  fail(`${path.join(modelDir, 'config.json')}: vocab_size / eos_token_id missing`);
}

// ---- the inputs: one list of rows per batch size ----------------------------------------------
let fileRows = null;
if (opts.inputIds) {
  fileRows = JSON.parse(fs.readFileSync(opts.inputIds, 'utf8'));
  if (!Array.isArray(fileRows) || fileRows.length === 0 || !fileRows.every(Array.isArray) ||
      !fileRows.every((r) => r.length === fileRows[0].length && r.length > 0 &&
        r.every((id) => Number.isInteger(id) && id >= 0 && id < vocab))) {
    fail(`${opts.inputIds}: expected [[id, ...], ...]: rows of one length, ids in [0, ${vocab})`);
  }
  opts.batches = [fileRows.length];
  opts.sourceLen = fileRows[0].length - 1;
}

function makeRows(batch) {
  if (fileRows) return fileRows;
  const rand = mulberry32(opts.seed);
  const lo = 3;
  const hi = vocab - 2; // exclusive
  return Array.from({ length: batch }, () => {
    const ids = Array.from({ length: opts.sourceLen }, () => lo + Math.floor(rand() * (hi - lo)));
    ids.push(eosId);
    return ids;
  });
}

// ---- transformers.js -----------------------------------------------------------------------
const require = createRequire(import.meta.url);
const { AutoModelForSeq2SeqLM, Tensor, env } = await import('@huggingface/transformers');
let ortNodeVersion = null;
try {
  ortNodeVersion = require('onnxruntime-node/package.json').version;
} catch {
  ortNodeVersion = null;
}

env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = path.dirname(modelDir) + '/';
const modelId = path.basename(modelDir);

const sessionOptions = { intraOpNumThreads: opts.threads, interOpNumThreads: 1 };
const threadsBeforeLoad = osThreads();
const t0 = performance.now();
const model = await AutoModelForSeq2SeqLM.from_pretrained(modelId, {
  dtype: 'fp32',
  device: 'cpu',
  local_files_only: true,
  session_options: sessionOptions,
});
const loadMs = performance.now() - t0;
const threadsAfterLoad = osThreads();

const sessionNames = Object.keys(model.sessions);
const encoder = model.sessions.model;
const decoder = model.sessions.decoder_model_merged;
if (!encoder || !decoder) {
  fail(`transformers.js did not load the encoder and decoder_model_merged (sessions: ${sessionNames})`);
}
if (!decoder.inputNames.includes('use_cache_branch')) {
  fail('onnx/decoder_model_merged.onnx has no use_cache_branch input');
}

// The ONNX Runtime library the process really mapped (not the one in opusrt's third_party/).
let ortLibrary = null;
try {
  ortLibrary = fs.readFileSync('/proc/self/maps', 'utf8').split('\n')
    .map((l) => l.split(/\s+/).slice(5).join(' ')).find((p) => /libonnxruntime\.so/.test(p)) || null;
} catch {
  ortLibrary = null;
}

log(`transformers.js ${env.version}, onnxruntime-node ${ortNodeVersion} (${ortLibrary ?? '?'}), ` +
  `Node ${process.version}`);
log(`model ${modelDir}: loaded in ${loadMs.toFixed(0)} ms, sessions ${sessionNames.join(', ')}; ` +
  `${opts.threads} intra-op threads (process threads ${threadsBeforeLoad} -> ${threadsAfterLoad})`);

function instrument(session, record) {
  const run = session.run;
  session.run = async function (feeds, ...rest) {
    const start = performance.now();
    const out = await run.call(this, feeds, ...rest);
    record(feeds, performance.now() - start);
    return out;
  };
  return () => { session.run = run; };
}

async function measure(batch) {
  const rows = makeRows(batch);
  const width = rows[0].length;
  const flat = rows.flat();
  const generateArgs = {
    inputs: new Tensor('int64', BigInt64Array.from(flat, BigInt), [batch, width]),
    attention_mask: new Tensor('int64', new BigInt64Array(flat.length).fill(1n), [batch, width]),
    max_new_tokens: opts.newTokens,
    min_new_tokens: opts.newTokens,
    num_beams: 1,
    do_sample: false,
  };
  const expectedShape = [batch, opts.newTokens + 1];

  // One instrumented run: KV cache use, exact output length, time inside ONNX Runtime run.
  const calls = [];
  let encoderMs = 0;
  const restoreDecoder = instrument(decoder, (feeds, ms) => {
    const past = feeds['past_key_values.0.decoder.key'];
    calls.push({
      use_cache_branch: feeds.use_cache_branch ? Boolean(feeds.use_cache_branch.data[0]) : null,
      input_ids: feeds.input_ids.dims.slice(),
      past_decoder_key: past ? past.dims.slice() : null,
      ms,
    });
  });
  const restoreEncoder = instrument(encoder, (feeds, ms) => { encoderMs += ms; });
  const c0 = performance.now();
  let checkOut;
  try {
    checkOut = await model.generate(generateArgs);
  } finally {
    restoreDecoder();
    restoreEncoder();
  }
  const checkMs = performance.now() - c0;

  const outShape = checkOut.dims.slice();
  const outRows = checkOut.tolist().map((r) => r.map(Number));
  const firstEos = outRows.map((r) => r.slice(1).indexOf(eosId)); // -1: none
  const cached = calls.slice(1);
  const kvCache = {
    decoder_calls: calls.length,
    step0_use_cache_branch: calls[0]?.use_cache_branch ?? null,
    later_steps_use_cache_branch: cached.length > 0 && cached.every((c) => c.use_cache_branch === true),
    later_steps_input_ids_len1: cached.every((c) => c.input_ids[1] === 1),
    // the decoder past fed at step n has length n: one more each step
    past_grows_by_one: cached.every((c, i) => c.past_decoder_key && c.past_decoder_key[2] === i + 1),
    step0_past_decoder_key_shape: calls[0]?.past_decoder_key ?? null,
    last_step_past_decoder_key_shape: calls.at(-1)?.past_decoder_key ?? null,
  };
  kvCache.ok = kvCache.step0_use_cache_branch === false && kvCache.later_steps_use_cache_branch &&
    kvCache.later_steps_input_ids_len1 && kvCache.past_grows_by_one &&
    kvCache.decoder_calls === opts.newTokens;
  const decoderRunMs = calls.reduce((s, c) => s + c.ms, 0);
  const check = {
    output_shape: outShape,
    expected_shape: expectedShape,
    exact_new_tokens: outShape[0] === expectedShape[0] && outShape[1] === expectedShape[1],
    // min_new_tokens = max_new_tokens suppresses </s> until the last step, where the generation
    // config's forced_eos_token_id forces it: the first </s> is at new-token index T-1.
    first_eos_index_per_row: firstEos,
    first_row_output_ids: outRows[0],
    kv_cache: kvCache,
    instrumented_run_ms: checkMs,
    encoder_run_ms: encoderMs,
    decoder_run_ms: decoderRunMs,
    ort_run_share: (encoderMs + decoderRunMs) / checkMs,
    decoder_step_ms: {
      step0: calls[0]?.ms ?? null,
      median_cached: median(cached.map((c) => c.ms)),
      last: calls.at(-1)?.ms ?? null,
    },
  };
  check.ok = check.exact_new_tokens && kvCache.ok;

  log(`\nbatch ${batch}: ${width} source ids per row (${width - 1} + </s>), ${opts.newTokens} new tokens`);
  log(`  output shape [${outShape}] (expected [${expectedShape}]), first </s> per row at new-token ` +
    `index ${JSON.stringify(firstEos)}`);
  log(`  KV cache: ${kvCache.decoder_calls} decoder_model_merged calls, use_cache_branch step 0 ` +
    `${kvCache.step0_use_cache_branch}, later ${kvCache.later_steps_use_cache_branch}; input_ids [B,1] ` +
    `after step 0: ${kvCache.later_steps_input_ids_len1}; past grows by one: ${kvCache.past_grows_by_one} ` +
    `(step 0 past ${JSON.stringify(kvCache.step0_past_decoder_key_shape)}, last ` +
    `${JSON.stringify(kvCache.last_step_past_decoder_key_shape)}) -> ${kvCache.ok ? 'OK' : 'NOT OK'}`);
  log(`  inside ONNX Runtime run (instrumented run): ${(100 * check.ort_run_share).toFixed(1)}% ` +
    `(encoder ${encoderMs.toFixed(1)} ms, decoder ${decoderRunMs.toFixed(1)} ms of ${checkMs.toFixed(1)} ms)`);

  // Warm-up, then the timed runs.
  for (let i = 0; i < opts.warmup; i++) await model.generate(generateArgs);
  const runMs = [];
  const runCpuMs = []; // user + system CPU time of this process (all threads) per run
  const loadavgBefore = os.loadavg();
  for (let i = 0; i < opts.runs; i++) {
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    const out = await model.generate(generateArgs);
    runMs.push(performance.now() - start);
    const cpu = process.cpuUsage(cpu0);
    runCpuMs.push((cpu.user + cpu.system) / 1000);
    if (out.dims[0] !== expectedShape[0] || out.dims[1] !== expectedShape[1]) {
      check.ok = false;
      check.exact_new_tokens = false;
      check.bad_run_shape = out.dims.slice();
    }
  }
  const loadavgAfter = os.loadavg();
  const tokensPerRun = batch * opts.newTokens;
  const medianMs = median(runMs);
  const result = {
    batch,
    source_ids_per_row: width,
    tokens_per_run: tokensPerRun,
    tokens_per_s: tokensPerRun / (medianMs / 1000), // median run
    median_ms: medianMs,
    run_ms: runMs,
    tokens_per_s_runs: runMs.map((ms) => tokensPerRun / (ms / 1000)),
    // CPU time received per run: about threads x run_ms on an idle machine; much less when
    // other work shares the cores (then the numbers are no fair comparison)
    run_cpu_ms: runCpuMs,
    loadavg_before: loadavgBefore,
    loadavg_after: loadavgAfter,
    check,
  };
  log(`  runs (ms): ${runMs.map((ms) => ms.toFixed(1)).join(' ')}`);
  log(`  CPU per run (ms, all threads): ${runCpuMs.map((ms) => ms.toFixed(0)).join(' ')}; load average ` +
    `${loadavgBefore[0].toFixed(2)} -> ${loadavgAfter[0].toFixed(2)}`);
  log(`  median ${medianMs.toFixed(1)} ms per generate() -> ${result.tokens_per_s.toFixed(1)} tokens/s ` +
    `(${batch} x ${opts.newTokens} new tokens)`);
  return result;
}

const results = [];
for (const batch of opts.batches) results.push(await measure(batch));

const output = {
  engine: 'transformers.js',
  transformers_js_version: env.version,
  onnxruntime_node_version: ortNodeVersion,
  onnxruntime_library: ortLibrary,
  node_version: process.version,
  cpus: os.cpus().length,
  model: modelDir,
  dtype: 'fp32',
  device: 'cpu',
  decoder: 'decoder_model_merged',
  generate_options: { num_beams: 1, do_sample: false, min_new_tokens: opts.newTokens, max_new_tokens: opts.newTokens },
  session_options: sessionOptions,
  threads: opts.threads,
  process_threads_before_load: threadsBeforeLoad,
  process_threads_after_load: threadsAfterLoad,
  source_len: opts.sourceLen, // random ids per row; </s> follows
  new_tokens: opts.newTokens,
  seed: opts.inputIds ? null : opts.seed,
  input_ids_file: opts.inputIds,
  warmup: opts.warmup,
  runs: opts.runs,
  load_ms: loadMs,
};
// "batch<B>": {tokens_per_s, ...} for each batch size (what `opusrt bench --peer-json` reads);
// with a single batch size its fields are also at the top level.
for (const r of results) output[`batch${r.batch}`] = r;
if (results.length === 1) {
  const { batch, tokens_per_s: tps, ...rest } = results[0];
  Object.assign(output, { batch, tokens_per_s: tps, tokens_per_s_median: tps, ...rest });
}

if (opts.json) process.stdout.write(JSON.stringify(output) + '\n');
if (!results.every((r) => r.check.ok)) {
  process.stderr.write('bench.mjs: check failed (output length or KV cache use), see "check"\n');
  process.exitCode = 1;
}
