// The page at / in a real browser: Debian's chromium, headless, driven by puppeteer-core. Loads
// the page, types, waits for the translation and compares it with POST /translate's answer,
// switches the target, asks for alternatives, copies, uses the keyboard, triggers an error (text
// over --max-chars) and sees it in the page. Screenshots go to the build directory.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(path.join(process.env.OPUSRT_NODE_MODULES, "package.json"));
const puppeteer = require("puppeteer-core");
const base = process.env.OPUSRT_URL;
const build = process.env.OPUSRT_BUILD_DIR;
const chromium = "/usr/bin/chromium";
if (!fs.existsSync(chromium)) {
  console.error(`FAIL: ${chromium} is missing (scripts/bootstrap.sh installs Debian's chromium)`);
  process.exit(1);
}

async function api(body) {
  const response = await fetch(`${base}/translate`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const json = await response.json();
  assert.equal(response.status, 200, JSON.stringify(json));
  return json;
}

const profile = fs.mkdtempSync(path.join(os.tmpdir(), "opusrt-chromium-"));
const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  // Exactly the flags below: the plain --headless instead of puppeteer's --headless=new.
  ignoreDefaultArgs: ["--headless=new"],
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         `--user-data-dir=${profile}`, "--window-size=1200,800"],
  defaultViewport: { width: 1200, height: 800 },
});
let status = 0;
try {
  const context = browser.defaultBrowserContext();
  await context.overridePermissions(base, ["clipboard-read", "clipboard-write", "clipboard-sanitized-write"]);
  const page = await browser.newPage();
  const requested = [];
  page.on("request", (request) => requested.push(request.url()));
  const consoleErrors = [];
  page.on("pageerror", (error) => consoleErrors.push(String(error)));

  await page.goto(`${base}/`, { waitUntil: "load" });
  await page.waitForSelector("body[data-ready='true']", { timeout: 30000 });

  // The target selector lists /languages' targets, LibreTranslate's codes first.
  const languages = await (await fetch(`${base}/languages`)).json();
  const options = await page.$$eval("#target option", (all) => all.map((o) => o.value));
  assert.deepEqual(options, languages[0].targets);
  assert.equal(await page.$eval("#target", (s) => s.value), "zh");
  assert.match(await page.$eval("#counter", (c) => c.textContent), /^0 \/ 300$/);

  // Type: the translation appears (debounced, streamed) and equals the API's.
  const text = "Where is the nearest train station?";
  const translated = async () => page.$eval("body", (b) => b.dataset.translated || "");
  await page.click("#source");
  await page.keyboard.type(text, { delay: 15 });
  const expectedZh = (await api({ q: text, source: "auto", target: "zh" })).translatedText;
  await page.waitForFunction((want) => document.querySelector("#output").textContent === want &&
                              !document.querySelector("#output").classList.contains("partial"),
                              { timeout: 60000 }, expectedZh);
  assert.equal(await page.$eval("#counter", (c) => c.textContent), `${text.length} / 300`);
  assert.equal(await page.$eval("#error", (e) => e.hidden), true);
  fs.mkdirSync(build, { recursive: true });
  await page.screenshot({ path: path.join(build, "web_page.png") });

  // Switch the target: the page translates again, equal to the API for that target.
  await page.select("#target", "zt");
  const expectedZt = (await api({ q: text, source: "auto", target: "zt" })).translatedText;
  await page.waitForFunction((want) => document.querySelector("#output").textContent === want &&
                              !document.querySelector("#output").classList.contains("partial"),
                              { timeout: 60000 }, expectedZt);

  // Alternatives: the n-best list under the translation, as the API gives them.
  const alternatives = await api({ q: text, source: "auto", target: "zt", alternatives: 2 });
  await page.$eval("#alternatives", (input) => { input.value = "2"; input.dispatchEvent(new Event("change")); });
  await page.waitForFunction((want) => JSON.stringify(Array.from(document.querySelectorAll("#alternatives-list li"),
                                                                 (li) => li.textContent)) === want,
                              { timeout: 60000 }, JSON.stringify(alternatives.alternatives));
  assert.equal(await page.$eval("#output", (o) => o.textContent), alternatives.translatedText);

  // Copy: the translation lands on the clipboard.
  await page.click("#copy");
  await page.waitForFunction(() => document.querySelector("#status").textContent === "Copied");
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), alternatives.translatedText);

  // Keyboard only: Tab from the target selector reaches the format selector; Ctrl+Enter in the
  // source box translates at once.
  await page.focus("#target");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.id), "format");
  await page.$eval("#alternatives", (input) => { input.value = "0"; });
  await page.focus("#source");
  await page.keyboard.down("Control");
  await page.keyboard.press("KeyA");
  await page.keyboard.up("Control");
  await page.keyboard.press("Backspace");
  const second = "Thank you very much.";
  const before = await translated();
  await page.evaluate((value) => { document.querySelector("#source").value = value; }, second);
  await page.keyboard.down("Control");
  await page.keyboard.press("Enter");
  await page.keyboard.up("Control");
  const expectedSecond = (await api({ q: second, source: "auto", target: "zt" })).translatedText;
  await page.waitForFunction((want, seen) => document.body.dataset.translated !== seen &&
                              document.querySelector("#output").textContent === want,
                              { timeout: 60000 }, expectedSecond, before);

  // HTML: the format selector sends format=html; the page shows the translated markup as text.
  const markup = '<p>Press <b>Save</b> to <a href="/keep?a=1&amp;b=2">keep</a> it.</p>';
  await page.select("#format", "html");
  await page.evaluate((value) => {
    const source = document.querySelector("#source");
    source.value = value;
    source.dispatchEvent(new Event("input"));
  }, markup);
  const expectedHtml = (await api({ q: markup, source: "auto", target: "zt", format: "html" })).translatedText;
  assert.match(expectedHtml, /^<p>.*<b>.*<\/b>.*<a href="\/keep\?a=1&amp;b=2">.*<\/a>.*<\/p>$/s);
  await page.waitForFunction((want) => document.querySelector("#output").textContent === want,
                             { timeout: 60000 }, expectedHtml);
  await page.select("#format", "text");

  // An error: more characters than --max-chars. The counter turns red, the server's message shows.
  const long = "All work and no play makes a dull day. ".repeat(9);
  await page.evaluate((value) => {
    const source = document.querySelector("#source");
    source.value = value;
    source.dispatchEvent(new Event("input"));
  }, long);
  await page.waitForSelector("#error:not([hidden])", { timeout: 60000 });
  const message = await page.$eval("#error", (e) => e.textContent);
  assert.match(message, /413: Invalid request: request \(\d+\) exceeds text limit \(300\)/);
  assert.equal(await page.$eval("#counter", (c) => c.classList.contains("over")), true);
  assert.equal(await page.$eval("#output", (o) => o.textContent), "");
  await page.screenshot({ path: path.join(build, "web_page_error.png") });

  // Back under the limit: the error goes away.
  await page.evaluate((value) => {
    const source = document.querySelector("#source");
    source.value = value;
    source.dispatchEvent(new Event("input"));
  }, text);
  await page.waitForFunction((want) => document.querySelector("#output").textContent === want &&
                              document.querySelector("#error").hidden, { timeout: 60000 }, expectedZt);

  // Offline: every request the page made went to this server.
  const foreign = requested.filter((url) => !url.startsWith(base) && !url.startsWith("data:"));
  assert.deepEqual(foreign, []);
  assert.deepEqual(consoleErrors, []);
  console.log(`ok - page: typed, streamed, switched target, alternatives, copy, keyboard, error; ${requested.length} requests, all local`);
  console.log(`screenshots: ${path.join(build, "web_page.png")}, ${path.join(build, "web_page_error.png")}`);
} catch (error) {
  status = 1;
  console.error(`not ok - ${error.stack}`);
} finally {
  await browser.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
process.exit(status);
