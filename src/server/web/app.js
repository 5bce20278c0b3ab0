// The translation page: LibreTranslate's API as any client uses it. Settings from
// /frontend/settings, languages from /languages, translation as the user types through
// POST /translate/stream (server-sent events: partial text while the model decodes, then the
// final answer). No framework, no CDN: the server compiles this file in.
"use strict";

const $ = (id) => document.getElementById(id);
const ui = {
  source: $("source"), target: $("target"), format: $("format"), alternatives: $("alternatives"),
  output: $("output"), alternativesList: $("alternatives-list"), counter: $("counter"), status: $("status"),
  copy: $("copy"), clear: $("clear"), error: $("error"), sourceLanguage: $("source-language"),
  apiKeyBox: $("api-key-box"), apiKey: $("api-key"),
};
const DEBOUNCE_MS = 300;
let settings = { charLimit: -1, keyRequired: false, language: { source: { code: "auto" }, target: {} } };
let current = null;      // AbortController of the request in flight
let sequence = 0;        // answers of superseded requests are ignored
let debounceTimer = 0;

function showError(message) {
  ui.error.textContent = message;
  ui.error.hidden = false;
}
function clearError() {
  ui.error.hidden = true;
  ui.error.textContent = "";
}
function setStatus(text) { ui.status.textContent = text; }

function characters(text) { return Array.from(text).length; }  // code points, as the server counts

function updateCounter() {
  const used = characters(ui.source.value);
  const limit = settings.charLimit;
  ui.counter.textContent = limit > 0 ? `${used} / ${limit}` : `${used}`;
  ui.counter.classList.toggle("over", limit > 0 && used > limit);
}

function showTranslation(text, alternatives, partial) {
  ui.output.textContent = text;
  ui.output.classList.toggle("partial", partial);
  ui.copy.disabled = partial || text.length === 0;
  ui.alternativesList.replaceChildren(...(alternatives || []).map((alternative) => {
    const item = document.createElement("li");
    item.textContent = alternative;
    return item;
  }));
}

function requestBody(text) {
  const body = {
    q: text, source: "auto", target: ui.target.value, format: ui.format.value,
    alternatives: Math.max(0, Math.min(3, parseInt(ui.alternatives.value, 10) || 0)),
  };
  if (ui.apiKey.value) body.api_key = ui.apiKey.value;
  return body;
}

async function errorOf(response) {
  try {
    const body = await response.json();
    if (body && typeof body.error === "string") return `${response.status}: ${body.error}`;
  } catch (ignored) { /* not JSON */ }
  return `${response.status}: ${response.statusText || "request failed"}`;
}

// Reads server-sent events from a fetch body: calls onEvent(name, data) per event.
async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) onEvent(name, JSON.parse(data.join("\n")));
    }
  }
}

async function translateNow() {
  clearTimeout(debounceTimer);
  const text = ui.source.value;
  if (current) current.abort();
  const mine = ++sequence;
  if (text.trim().length === 0) {
    current = null;
    clearError();
    showTranslation("", [], false);
    setStatus("");
    return;
  }
  const controller = new AbortController();
  current = controller;
  setStatus("Translating…");
  try {
    const response = await fetch("/translate/stream", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(requestBody(text)),
      signal: controller.signal,
    });
    if (!response.ok) throw new Error(await errorOf(response));
    let finished = false;
    await readEvents(response, (name, data) => {
      if (mine !== sequence) return;
      if (name === "partial") {
        showTranslation(data.translatedText, [], true);
      } else if (name === "final") {
        finished = true;
        clearError();
        showTranslation(data.translatedText, data.alternatives, false);
        setStatus("");
        document.body.dataset.translated = String(mine);  // for tests and assistive tools
      } else if (name === "error") {
        finished = true;
        throw new Error(`${data.status}: ${data.error}`);
      }
    });
    if (!finished && mine === sequence) throw new Error("the server closed the stream before the translation ended");
  } catch (error) {
    if (error.name === "AbortError" || mine !== sequence) return;
    showTranslation("", [], false);
    setStatus("");
    showError(`Translation failed: ${error.message}`);
    document.body.dataset.failed = String(mine);
  } finally {
    if (current === controller) current = null;
  }
}

function translateSoon() {
  updateCounter();
  clearTimeout(debounceTimer);
  debounceTimer = setTimeout(translateNow, DEBOUNCE_MS);
}

async function loadLanguages() {
  const response = await fetch("/languages");
  if (!response.ok) throw new Error(await errorOf(response));
  const languages = await response.json();
  const names = new Map(languages.map((language) => [language.code, language.name]));
  const source = languages.find((language) => language.targets && language.targets.length) || languages[0];
  ui.sourceLanguage.textContent = source ? `${source.name} (${source.code})` : "?";
  const preferred = localStorage.getItem("opusrt.target") || settings.language.target.code;
  ui.target.replaceChildren(...(source ? source.targets : []).map((code) => {
    const option = document.createElement("option");
    option.value = code;
    option.textContent = names.has(code) && names.get(code) !== code ? `${names.get(code)} (${code})` : code;
    option.selected = code === preferred;
    return option;
  }));
  ui.target.disabled = ui.target.options.length <= 1;
}

async function start() {
  try {
    const response = await fetch("/frontend/settings");
    if (!response.ok) throw new Error(await errorOf(response));
    settings = await response.json();
    ui.apiKeyBox.hidden = !settings.keyRequired;
    ui.apiKey.value = localStorage.getItem("opusrt.apiKey") || "";
    await loadLanguages();
    updateCounter();
    document.body.dataset.ready = "true";
    if (ui.source.value) translateNow();
  } catch (error) {
    showError(`Cannot reach the server: ${error.message}`);
  }
}

ui.source.addEventListener("input", translateSoon);
ui.source.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    translateNow();
  }
});
ui.target.addEventListener("change", () => {
  localStorage.setItem("opusrt.target", ui.target.value);
  translateNow();
});
ui.format.addEventListener("change", translateNow);
ui.alternatives.addEventListener("change", translateNow);
ui.apiKey.addEventListener("change", () => {
  localStorage.setItem("opusrt.apiKey", ui.apiKey.value);
  translateNow();
});
ui.clear.addEventListener("click", () => {
  ui.source.value = "";
  updateCounter();
  translateNow();
  ui.source.focus();
});
ui.copy.addEventListener("click", async () => {
  const text = ui.output.textContent;
  try {
    await navigator.clipboard.writeText(text);
  } catch (ignored) {
    // Clipboard API refused (plain http on another host): select the text for Ctrl+C instead.
    const range = document.createRange();
    range.selectNodeContents(ui.output);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    document.execCommand("copy");
  }
  setStatus("Copied");
});

start();
