// The first-load benchmark (run by scripts/bench-page.sh, not a test):
//   node bench/page.mjs LABEL BASE_URL [RUNS]
// Prints what the Models page transfers (per file: bytes on the wire and the encoding) and the
// time until it is interactive ([data-hydrated=true]: the WASM has hydrated the page) on a cold
// cache, under Chrome DevTools' "Slow 4G" (562.5 ms latency, 1.6 Mbit/s down, 750 kbit/s up,
// each x0.9) and a 4x CPU slowdown, through the DevTools protocol. Median of RUNS (default 3).
import { chromium } from "@playwright/test";

const [label, base, runsArg] = process.argv.slice(2);
const runs = Number(runsArg ?? 3);
const SLOW_4G = {
  offline: false,
  latency: 562.5,
  downloadThroughput: (1.6 * 1000 * 1000 * 0.9) / 8,
  uploadThroughput: (750 * 1000 * 0.9) / 8,
};

async function once(browser) {
  const context = await browser.newContext(); // a fresh, empty cache every run
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", SLOW_4G);
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
  const responses = new Map();
  cdp.on("Network.responseReceived", (e) =>
    responses.set(e.requestId, {
      url: e.response.url,
      encoding: e.response.headers["content-encoding"] ?? "none",
      cache: e.response.headers["cache-control"] ?? "",
    }),
  );
  const transferred = new Map();
  cdp.on("Network.loadingFinished", (e) => transferred.set(e.requestId, e.encodedDataLength));
  // Records the moment the page says it is hydrated (performance.now() counts from the
  // navigation's start), from inside the page, so the measurement adds no round trip.
  await page.addInitScript(() => {
    new MutationObserver((_, observer) => {
      if (document.querySelector("[data-hydrated=true]")) {
        window.__interactive = performance.now();
        observer.disconnect();
      }
    }).observe(document, { subtree: true, attributes: true, childList: true });
  });
  await page.goto(base + "/", { waitUntil: "commit" });
  const handle = await page.waitForFunction(() => window.__interactive, null, { timeout: 60_000 });
  const interactive = await handle.jsonValue();
  await page.waitForLoadState("networkidle");
  const files = [...responses.entries()].map(([id, r]) => ({ ...r, bytes: transferred.get(id) ?? 0 }));
  await context.close();
  return { interactive, files };
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic"],
});
const results = [];
for (let i = 0; i < runs; i++) results.push(await once(browser));
await browser.close();

const times = results.map((r) => r.interactive).sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
console.log(`\n== ${label}: ${base}`);
for (const f of results[0].files) {
  const name = new URL(f.url).pathname;
  console.log(`  ${name.padEnd(48)} ${String(f.bytes).padStart(9)} B on the wire  ${f.encoding.padEnd(5)} ${f.cache}`);
}
const total = results[0].files.reduce((sum, f) => sum + f.bytes, 0);
console.log(`  total transferred: ${total} B`);
console.log(
  `  interactive (Slow 4G, 4x CPU, cold cache): median ${(median / 1000).toFixed(2)} s ` +
    `(runs: ${times.map((t) => (t / 1000).toFixed(2)).join(", ")})`,
);
