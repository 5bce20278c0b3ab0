// Checks of deploy/ and the Dockerfile with what runs without a container runtime or a cluster:
//   manifests   every object of deploy/kubernetes (the kustomization's resources) validated
//               against the Kubernetes schemas (npm kubernetes-models), then the manifests
//               checked against each other and against the server: selectors, probe paths and
//               ports, preStop + --drain-timeout within the grace period, resources, HPA target,
//               PDB, `opusrt serve` flags that exist, the image's user; with kubectl installed,
//               its kustomize rendering too
//   dockerfile  the Dockerfile parsed (npm dockerfile-ast): Debian 12 stages, a non-root USER
//               created in the runtime stage, HEALTHCHECK on /health, every COPY source and
//               script it runs present in the repository, and the runtime packages covering
//               every shared library the built opusrt needs (readelf + dpkg -S)
//   entrypoint  the image's entrypoint run on loopback as the container would run it (model
//               directory), the HEALTHCHECK command against it, the model prepared before it is
//               served (and served as it is when it cannot be), SIGTERM reaching opusrt through
//               the entrypoint's exec; a hub id with an empty offline cache fails clearly
//
//   node tests/deploy/deploy_test.mjs manifests|dockerfile|entrypoint --root . --opusrt build/tools/opusrt/opusrt [--model DIR]
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { DockerfileParser } from "dockerfile-ast";

function argValue(name, fallback) {
  const at = process.argv.indexOf(name);
  return at > 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}
const command = process.argv[2];
const root = path.resolve(argValue("--root", "."));
const opusrt = path.resolve(argValue("--opusrt", path.join(root, "build/tools/opusrt/opusrt")));
const model = argValue("--model", "");

const failures = [];
function check(condition, message) {
  if (!condition) failures.push(message);
  return condition;
}
function finish(what) {
  if (failures.length > 0) {
    for (const failure of failures) console.error(`FAIL ${what}: ${failure}`);
    process.exit(1);
  }
  console.log(`ok ${what}`);
}

// ---- Kubernetes ------------------------------------------------------------------------------

// The kubernetes-models class of an object, from its apiVersion and kind ("apps/v1" ->
// kubernetes-models/apps/v1/Deployment; core "v1" -> kubernetes-models/v1/Service).
async function modelClass(apiVersion, kind) {
  try {
    const module = await import(`kubernetes-models/${apiVersion}/${kind}`);
    return module[kind];
  } catch {
    return undefined;
  }
}

async function schemaErrors(object) {
  const Model = await modelClass(object.apiVersion, object.kind);
  if (!Model) return [`${object.apiVersion} ${object.kind} is not a Kubernetes API object kubernetes-models knows`];
  try {
    new Model(object).validate();
    return [];
  } catch (error) {
    return [error.message];
  }
}

function loadYamlFile(file) {
  const documents = parseAllDocuments(fs.readFileSync(file, "utf8"));
  const objects = [];
  for (const document of documents) {
    if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0].message}`);
    const object = document.toJS();
    if (object !== null) objects.push(object);
  }
  return objects;
}

function matches(selector, labels) {
  return Object.entries(selector ?? {}).every(([key, value]) => labels?.[key] === value);
}

// The value of `--flag` in an argument list (["--flag", "v"] or ["--flag=v"]).
function flagValue(args, flag) {
  for (let i = 0; i < args.length; ++i) {
    if (args[i] === flag) return args[i + 1];
    if (args[i].startsWith(`${flag}=`)) return args[i].slice(flag.length + 1);
  }
  return undefined;
}

function probeTargetsHealth(probe, container, name) {
  if (!check(probe?.httpGet, `${name}: an httpGet probe is needed`)) return;
  check(probe.httpGet.path === "/health", `${name}: probes ${probe.httpGet.path}, the server's health is /health`);
  const port = probe.httpGet.port;
  const known = (container.ports ?? []).some((p) => p.name === port || p.containerPort === port);
  check(known, `${name}: port ${port} is none of the container's ports`);
}

async function checkManifests() {
  const dir = path.join(root, "deploy/kubernetes");
  const kustomization = parseYaml(fs.readFileSync(path.join(dir, "kustomization.yaml"), "utf8"));
  check(kustomization.kind === "Kustomization", "kustomization.yaml: kind must be Kustomization");
  const objects = [];
  for (const resource of kustomization.resources ?? []) {
    const file = path.join(dir, resource);
    if (!check(fs.existsSync(file), `kustomization.yaml lists ${resource}, which does not exist`)) continue;
    for (const object of loadYamlFile(file)) {
      for (const error of await schemaErrors(object)) failures.push(`${resource}: ${object.kind}: ${error}`);
      objects.push(object);
    }
  }
  const unlisted = fs.readdirSync(dir).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml" &&
                                               !(kustomization.resources ?? []).includes(f));
  check(unlisted.length === 0, `not in kustomization.yaml resources: ${unlisted.join(", ")}`);

  const one = (kind) => {
    const found = objects.filter((o) => o.kind === kind);
    check(found.length === 1, `exactly one ${kind} expected, found ${found.length}`);
    return found[0];
  };
  const deployment = one("Deployment");
  const service = one("Service");
  const hpa = one("HorizontalPodAutoscaler");
  const pdb = one("PodDisruptionBudget");
  if (!deployment || !service || !hpa || !pdb) return;

  const podLabels = deployment.spec.template.metadata?.labels ?? {};
  check(matches(deployment.spec.selector.matchLabels, podLabels), "Deployment: selector does not match its pod labels");
  check(matches(service.spec.selector, podLabels), "Service: selector does not match the Deployment's pods");
  check(matches(pdb.spec.selector?.matchLabels, podLabels), "PodDisruptionBudget: selector does not match the Deployment's pods");
  check(hpa.spec.scaleTargetRef.kind === "Deployment" && hpa.spec.scaleTargetRef.name === deployment.metadata.name,
        "HorizontalPodAutoscaler: scaleTargetRef is not the Deployment");
  check((hpa.spec.minReplicas ?? 1) >= 2, "HorizontalPodAutoscaler: minReplicas < 2 leaves no replica during a disruption");
  const budgetAllowsOne = pdb.spec.maxUnavailable !== undefined
    ? Number(pdb.spec.maxUnavailable) >= 1
    : Number(pdb.spec.minAvailable) < (hpa.spec.minReplicas ?? 1);
  check(budgetAllowsOne, "PodDisruptionBudget: no replica could ever be evicted (node drains would block)");
  check((hpa.spec.metrics ?? []).length > 0, "HorizontalPodAutoscaler: no metric");

  const pod = deployment.spec.template.spec;
  const container = pod.containers.find((c) => c.name === "opusrt") ?? pod.containers[0];
  const imageNames = (kustomization.images ?? []).map((i) => i.name);
  check(imageNames.includes(container.image), `Deployment image ${container.image} is not set by kustomization.yaml images`);
  const servicePort = service.spec.ports[0].targetPort;
  check((container.ports ?? []).some((p) => p.name === servicePort || p.containerPort === servicePort),
        `Service targetPort ${servicePort} is none of the container's ports`);
  const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
  const args = container.args ?? [];
  check(String(container.ports?.[0]?.containerPort) === (env.OPUSRT_PORT ?? "5000"),
        "the container port is not the port opusrt listens on (OPUSRT_PORT)");

  // Every flag passed on is a real `opusrt serve` flag.
  const serveHelp = execFileSync(opusrt, ["serve", "--help"], { encoding: "utf8" });
  for (const arg of args.filter((a) => a.startsWith("--"))) {
    const flag = arg.split("=")[0];
    check(new RegExp(`${flag}\\b`).test(serveHelp), `args: ${flag} is not an opusrt serve option`);
  }
  check(/--drain-timeout\b/.test(serveHelp), "opusrt serve has no --drain-timeout");

  probeTargetsHealth(container.readinessProbe, container, "readinessProbe");
  probeTargetsHealth(container.livenessProbe, container, "livenessProbe");
  if (container.startupProbe) probeTargetsHealth(container.startupProbe, container, "startupProbe");
  check(container.readinessProbe?.failureThreshold === 1,
        "readinessProbe: failureThreshold 1 takes a draining replica (503) out at its first check");

  // preStop + drain within the grace period; liveness never fires during a drain.
  const drain = Number(flagValue(args, "--drain-timeout") ?? env.OPUSRT_DRAIN_TIMEOUT);
  check(Number.isFinite(drain) && drain > 0, "no drain timeout (OPUSRT_DRAIN_TIMEOUT or --drain-timeout)");
  const preStop = container.lifecycle?.preStop?.exec?.command ?? [];
  check(preStop[0] === "sleep" && Number(preStop[1]) > 0, "preStop must be [sleep, N]: time for the endpoint to go");
  const sleep = Number(preStop[1]);
  const grace = pod.terminationGracePeriodSeconds ?? 30;
  check(grace >= sleep + drain + 1,
        `terminationGracePeriodSeconds ${grace} < preStop ${sleep} + drain ${drain} + 1: the kubelet would kill requests in flight`);
  const liveness = container.livenessProbe ?? {};
  check((liveness.periodSeconds ?? 10) * (liveness.failureThreshold ?? 3) > sleep + drain,
        "livenessProbe: it would restart a replica that is draining (its /health answers 503)");
  check(deployment.spec.strategy?.rollingUpdate?.maxUnavailable === 0,
        "Deployment: rollingUpdate.maxUnavailable 0 keeps the capacity during a rollout");

  for (const kind of ["requests", "limits"]) {
    for (const resource of ["cpu", "memory"]) {
      check(container.resources?.[kind]?.[resource] !== undefined, `resources.${kind}.${resource} is not set`);
    }
  }
  // The image's USER (Dockerfile) and the pod's user agree.
  const dockerUser = dockerfileUser();
  check(pod.securityContext?.runAsNonRoot === true, "securityContext.runAsNonRoot must be true");
  check(String(pod.securityContext?.runAsUser) === dockerUser.split(":")[0],
        `securityContext.runAsUser ${pod.securityContext?.runAsUser} is not the image's USER ${dockerUser}`);
  const mounts = Object.fromEntries((container.volumeMounts ?? []).map((m) => [m.mountPath, m.name]));
  check(env.HF_HOME && mounts[env.HF_HOME], `HF_HOME ${env.HF_HOME} is not on a volume (the hub cache)`);
  if (container.securityContext?.readOnlyRootFilesystem) check(mounts["/tmp"], "a read-only root needs a /tmp volume");

  // kustomize itself, where kubectl is installed (it is not a Debian package, so this part is
  // skipped on a fresh machine): the rendered objects pass the schemas and carry the image.
  let rendered = null;
  try {
    rendered = execFileSync("kubectl", ["kustomize", dir], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    if (error.code !== "ENOENT") failures.push(`kubectl kustomize ${dir}: ${error.stderr || error.message}`);
  }
  if (rendered !== null) {
    const objects = parseAllDocuments(rendered).map((d) => d.toJS()).filter(Boolean);
    check(objects.length === kustomization.resources.length, `kubectl kustomize rendered ${objects.length} objects`);
    for (const object of objects) {
      for (const error of await schemaErrors(object)) failures.push(`kustomize output: ${object.kind}: ${error}`);
    }
    const image = kustomization.images?.[0];
    const renderedImage = objects.find((o) => o.kind === "Deployment")?.spec.template.spec.containers[0].image;
    check(renderedImage === `${image?.newName ?? image?.name}:${image?.newTag}`, `kustomize set the image to ${renderedImage}`);
    console.log(`kubectl kustomize: ${objects.length} objects rendered and validated`);
  } else {
    console.log("kubectl not installed: the kustomize rendering was not checked");
  }

  // The validator itself: a broken copy must be rejected, or the checks above prove nothing.
  const broken = structuredClone(deployment);
  broken.spec.template.spec.containers[0].ports[0].containerPort = "http";
  delete broken.spec.selector;
  check((await schemaErrors(broken)).length > 0, "the schema validation accepts a Deployment without selector");

  console.log(`validated ${objects.map((o) => o.kind).join(", ")} against the Kubernetes schemas (kubernetes-models)`);
}

// ---- Dockerfile ------------------------------------------------------------------------------

function dockerfile() {
  return DockerfileParser.parse(fs.readFileSync(path.join(root, "Dockerfile"), "utf8"));
}
// Instructions grouped by stage (each FROM starts one).
function stages() {
  const result = [];
  for (const instruction of dockerfile().getInstructions()) {
    const keyword = instruction.getKeyword();
    if (keyword === "FROM") result.push({ from: instruction, instructions: [] });
    else if (result.length > 0) result[result.length - 1].instructions.push(instruction);
  }
  return result;
}
// An instruction's arguments, after its flags (--from=..., --interval=...), which are separate.
const text = (instruction) => instruction.getArgumentsContent() ?? "";
const flags = (instruction) =>
  Object.fromEntries((instruction.getFlags?.() ?? []).map((f) => [f.getName(), f.getValue() ?? ""]));
function dockerfileUser() {
  const all = stages();
  const user = all[all.length - 1]?.instructions.filter((i) => i.getKeyword() === "USER").pop();
  return user ? text(user).trim() : "root";
}

// Files .dockerignore keeps out of the build context (its simple patterns: a name or a prefix*).
function ignoredByDockerignore(file) {
  const patterns = fs.readFileSync(path.join(root, ".dockerignore"), "utf8").split("\n")
    .map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  const first = file.split("/")[0];
  return patterns.some((p) => p === first || (p.endsWith("*") && !p.includes("/") && first.startsWith(p.slice(0, -1))));
}

function checkDockerfile() {
  const all = stages();
  check(all.length >= 2, `a multi-stage build is expected, found ${all.length} stage(s)`);
  for (const stage of all) {
    const image = stage.from.getImageName() + ":" + (stage.from.getImageTag() ?? "latest");
    check(/^debian:(12|bookworm)(-slim)?$/.test(image), `FROM ${image}: Debian 12 expected`);
  }
  const build = all[0];
  const runtime = all[all.length - 1];
  const buildName = build.from.getBuildStage();
  check(buildName, "the build stage has no name (FROM ... AS build)");
  const runtimeText = runtime.instructions.map((i) => `${i.getKeyword()} ${text(i)}`).join("\n");
  check(runtime.instructions.some((i) => i.getKeyword() === "COPY" && flags(i).from === buildName),
        "the runtime stage copies nothing from the build stage");

  // Non-root, and the user exists in the runtime stage.
  const user = dockerfileUser();
  const [uid, gid] = user.split(":");
  check(user !== "root" && uid !== "0", `USER ${user}: the runtime must not run as root`);
  if (/^\d+$/.test(uid)) {
    check(new RegExp(`useradd[^\\n]*--uid ${uid}\\b`).test(runtimeText), `USER ${uid} is not created with useradd in the runtime stage`);
  }
  if (gid) check(new RegExp(`groupadd[^\\n]*--gid ${gid}\\b`).test(runtimeText), `group ${gid} is not created in the runtime stage`);

  // HEALTHCHECK on /health of the port the server listens on.
  const healthcheck = runtime.instructions.find((i) => i.getKeyword() === "HEALTHCHECK");
  if (check(healthcheck, "no HEALTHCHECK in the runtime stage")) {
    check(/CMD .*\/health\b/.test(text(healthcheck)), "HEALTHCHECK does not query /health");
    check(flags(healthcheck)["start-period"], "HEALTHCHECK needs a --start-period (model loading, first download)");
    check(/\bcurl\b/.test(text(healthcheck)) ? /\bcurl\b/.test(runtimeText.split("HEALTHCHECK")[0]) : true,
          "HEALTHCHECK runs curl, which the runtime stage does not install");
  }
  const stopsignal = runtime.instructions.find((i) => i.getKeyword() === "STOPSIGNAL");
  check(!stopsignal || text(stopsignal).trim() === "SIGTERM", "STOPSIGNAL must be SIGTERM (what opusrt drains on)");

  // COPY sources from the context exist in the repository and are not .dockerignore'd; scripts
  // a RUN executes from the context exist.
  for (const stage of all) {
    for (const instruction of stage.instructions) {
      const keyword = instruction.getKeyword();
      const args = instruction.getArguments().map((a) => a.getValue());
      if (keyword === "COPY" && flags(instruction).from === undefined) {
        for (const source of args.slice(0, -1)) {
          if (source === ".") continue;
          check(fs.existsSync(path.join(root, source)), `COPY ${source}: not in the repository`);
          check(!ignoredByDockerignore(source), `COPY ${source}: excluded by .dockerignore`);
        }
      }
      if (keyword === "RUN") {
        for (const [, script] of text(instruction).matchAll(/\bbash\s+(\S+\.sh)\b/g)) {
          check(fs.existsSync(path.join(root, script)), `RUN bash ${script}: not in the repository`);
        }
      }
    }
  }
  const entrypoint = runtime.instructions.find((i) => i.getKeyword() === "ENTRYPOINT");
  if (check(entrypoint, "no ENTRYPOINT")) {
    const target = JSON.parse(text(entrypoint))[0];
    const copy = runtime.instructions.find((i) => i.getKeyword() === "COPY" && text(i).trim().endsWith(` ${target}`));
    if (check(copy, `ENTRYPOINT ${target} is not copied into the image`)) {
      const source = path.join(root, text(copy).trim().split(/\s+/)[0]);
      check(fs.existsSync(source) && (fs.statSync(source).mode & 0o111) !== 0, `${source}: missing or not executable`);
      check(/exec opusrt serve\b/.test(fs.readFileSync(source, "utf8")), `${source}: must exec opusrt serve (SIGTERM must reach it)`);
    }
  }
  check(/cmake --install\b/.test(all.map((s) => s.instructions.map(text).join("\n")).join("\n")),
        "the build stage does not install (cmake --install) what the runtime stage copies");

  // The runtime packages provide every shared library the built programs need (NEEDED entries
  // of opusrt and of opusrt-quantize, which `opusrt quantize` runs), except ONNX Runtime, which
  // `cmake --install` copies next to libopusrt.
  const runtimeApt = [...runtimeText.matchAll(/apt-get install([^&]*)/g)].map((m) => m[1]).join(" ")
    .split(/[\s\\]+/).filter((w) => w && !w.startsWith("-"));
  const programs = [opusrt, path.join(path.dirname(opusrt), "opusrt-quantize")];
  let needed = [];
  for (const program of programs) {
    let programNeeded = [];
    try {
      programNeeded = execFileSync("readelf", ["-d", program], { encoding: "utf8" })
        .split("\n").map((l) => /\(NEEDED\).*\[(.+)\]/.exec(l)?.[1]).filter(Boolean);
    } catch (error) {
      failures.push(`readelf -d ${program}: ${error.message}`);
    }
    needed = needed.concat(programNeeded);
    const paths = Object.fromEntries(execFileSync("ldd", [program], { encoding: "utf8" }).split("\n")
      .map((l) => /^\s*(\S+) => (\/\S+)/.exec(l)).filter(Boolean).map((m) => [m[1], m[2]]));
    for (const library of programNeeded) {
      // ONNX Runtime is installed by `cmake --install`; the loader is libc6's; a sanitizer build
      // (CI runs the suite under ASan + UBSan) links runtimes the Release image does not have.
      if (/^(libonnxruntime|ld-linux|lib(a|ub|t|l)san)/.test(library)) continue;
      if (!check(paths[library], `${library}: not found by ldd ${program}`)) continue;
      let owner = "";
      for (const candidate of [paths[library], fs.realpathSync(paths[library])]) {
        try {
          owner = execFileSync("dpkg", ["-S", candidate], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).split(":")[0];
          break;
        } catch { /* usrmerge: try the resolved path */ }
      }
      if (!check(owner, `${library}: no Debian package owns ${paths[library]}`)) continue;
      check(owner === "libc6" || runtimeApt.includes(owner),
            `${library} (package ${owner}, needed by ${path.basename(program)}) is not installed in the runtime stage`);
    }
  }
  needed = [...new Set(needed)];
  console.log(`Dockerfile: ${all.length} stages, USER ${user}, ${needed.length} shared libraries covered`);
}

// ---- entrypoint on loopback -----------------------------------------------------------------

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The HEALTHCHECK command of the Dockerfile, run by /bin/sh as Docker does for CMD in shell form.
function healthcheckCommand() {
  const all = stages();
  const instruction = all[all.length - 1].instructions.find((i) => i.getKeyword() === "HEALTHCHECK");
  return text(instruction).replace(/^.*?\bCMD\s+/s, "").replace(/\\\n/g, " ");
}
function runHealthcheck(env) {
  try {
    execFileSync("/bin/sh", ["-c", healthcheckCommand()], { env, stdio: "ignore", timeout: 10000 });
    return 0;
  } catch (error) {
    return error.status ?? 1;
  }
}

function startEntrypoint(env, args = []) {
  const child = spawn(path.join(root, "deploy/docker/entrypoint.sh"), args, { env, stdio: ["ignore", "pipe", "pipe"] });
  child.output = "";
  child.stdout.on("data", (d) => { child.output += d; });
  child.stderr.on("data", (d) => { child.output += d; });
  child.exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  return child;
}

async function checkEntrypoint() {
  if (!check(model && fs.existsSync(path.join(model, "config.json")), `--model ${model}: no model directory`)) return;
  const port = await freePort();
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), "opusrt-entrypoint-"));
  // The entrypoint prepares the model it serves: a copy, so the fixture stays as it is.
  const served = path.join(cache, "model");
  fs.cpSync(model, served, { recursive: true, filter: (src) => !src.includes(".opusrt-prepared") });
  const env = {
    ...process.env,  // ASAN_OPTIONS and the like under a sanitizer build
    PATH: `${path.dirname(opusrt)}:${process.env.PATH}`,
    HOME: cache,
    HF_HOME: path.join(cache, "hf"),
    OPUSRT_MODEL: served,
    OPUSRT_HOST: "127.0.0.1",
    OPUSRT_PORT: String(port),
    OPUSRT_DRAIN_TIMEOUT: "5",
  };
  try {
    check(runHealthcheck(env) !== 0, "HEALTHCHECK succeeds with no server listening");
    const server = startEntrypoint(env, ["--workers", "1", "--threads", "1"]);
    let healthy = false;
    for (let i = 0; i < 300 && !healthy && server.exitCode === null; ++i) {
      await sleep(100);
      healthy = runHealthcheck(env) === 0;
    }
    if (check(healthy, `the entrypoint's server never passed HEALTHCHECK:\n${server.output}`)) {
      const response = await fetch(`http://127.0.0.1:${port}/translate`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ q: "Hello world.", source: "auto" }),
      });
      const body = await response.json();
      check(response.status === 200 && typeof body.translatedText === "string",
            `POST /translate through the entrypoint: ${response.status} ${JSON.stringify(body)}`);
    }
    check(fs.existsSync(path.join(served, ".opusrt-prepared", "decoder_model_merged.onnx.source")) &&
          /logits of the last position only/.test(server.output),
          `the entrypoint did not prepare the model:\n${server.output}`);
    // SIGTERM to the entrypoint's pid is SIGTERM to opusrt (exec): it drains and exits 0.
    server.kill("SIGTERM");
    const exit = await Promise.race([server.exited, sleep(20000).then(() => ({ code: "timeout" }))]);
    check(exit.code === 0, `after SIGTERM the entrypoint exited ${JSON.stringify(exit)}:\n${server.output}`);
    check(/SIGTERM: draining/.test(server.output), "opusrt did not see the SIGTERM (the entrypoint must exec it)");

    // A model directory prepare cannot write into (here `.opusrt-prepared` is a file; a read-only
    // mount fails the same way, but not for root) is served as it is, with a warning.
    const unwritable = path.join(cache, "unwritable");
    fs.cpSync(model, unwritable, { recursive: true, filter: (src) => !src.includes(".opusrt-prepared") });
    fs.writeFileSync(path.join(unwritable, ".opusrt-prepared"), "in the way\n");
    const port2 = await freePort();
    const env2 = { ...env, OPUSRT_MODEL: unwritable, OPUSRT_PORT: String(port2) };
    const plain = startEntrypoint(env2, ["--workers", "1", "--threads", "1"]);
    let up = false;
    for (let i = 0; i < 300 && !up && plain.exitCode === null; ++i) {
      await sleep(100);
      up = runHealthcheck(env2) === 0;
    }
    check(up, `with an unwritable model directory the server did not start:\n${plain.output}`);
    check(/could not prepare .*serving its graphs as they are/.test(plain.output),
          `no warning that the model could not be prepared:\n${plain.output}`);
    plain.kill("SIGTERM");
    await Promise.race([plain.exited, sleep(20000)]);

    // OPUSRT_VARIANT is the variant served (and prepared): a directory holding only the quantized
    // graphs starts, and translates.
    const quantized = path.join(cache, "quantized");
    fs.cpSync(model, quantized, {
      recursive: true,
      filter: (src) => !src.includes(".opusrt-prepared") && (!src.endsWith(".onnx") || src.endsWith("_quantized.onnx")),
    });
    const port3 = await freePort();
    const env3 = { ...env, OPUSRT_MODEL: quantized, OPUSRT_PORT: String(port3), OPUSRT_VARIANT: "quantized" };
    const variant = startEntrypoint(env3, ["--workers", "1", "--threads", "1"]);
    let variantUp = false;
    for (let i = 0; i < 300 && !variantUp && variant.exitCode === null; ++i) {
      await sleep(100);
      variantUp = runHealthcheck(env3) === 0;
    }
    if (check(variantUp, `with OPUSRT_VARIANT=quantized the server did not start:\n${variant.output}`)) {
      const response = await fetch(`http://127.0.0.1:${port3}/translate`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ q: "Hello world.", source: "auto" }),
      });
      check(response.status === 200, `POST /translate with OPUSRT_VARIANT=quantized: ${response.status}`);
      check(/variant quantized/.test(variant.output), `the server does not say it serves the variant:\n${variant.output}`);
      check(fs.existsSync(path.join(quantized, ".opusrt-prepared", "decoder_model_merged_quantized.onnx")),
            `the entrypoint did not prepare the variant:\n${variant.output}`);
    }
    variant.kill("SIGTERM");
    await Promise.race([variant.exited, sleep(20000)]);

    // A hub id that is not cached, offline: a clear failure naming it, no server.
    const offline = startEntrypoint({ ...env, OPUSRT_MODEL: "opusrt-test/not-a-cached-model", HF_HUB_OFFLINE: "1" });
    const failed = await Promise.race([offline.exited, sleep(20000).then(() => ({ code: "timeout" }))]);
    if (failed.code === "timeout") offline.kill("SIGKILL");
    check(failed.code !== 0 && failed.code !== "timeout", `an uncached hub id offline exited ${JSON.stringify(failed)}`);
    check(/opusrt-test\/not-a-cached-model/.test(offline.output), `the error does not name the hub id:\n${offline.output}`);
  } finally {
    fs.rmSync(cache, { recursive: true, force: true });
  }
}

const commands = { manifests: checkManifests, dockerfile: checkDockerfile, entrypoint: checkEntrypoint };
if (!commands[command]) {
  console.error(`usage: deploy_test.mjs ${Object.keys(commands).join("|")} --root DIR --opusrt BIN [--model DIR]`);
  process.exit(2);
}
try {
  await commands[command]();
} catch (error) {
  failures.push(error.stack ?? String(error));
}
finish(command);
