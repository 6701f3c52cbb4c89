import { test, expect, Page, APIRequestContext, Locator } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { mkdirSync } from "node:fs";

// The downloads panel (issue 13): it never covers a focused control, on a desktop and on a
// phone; pause and resume; a long download asks before it is cancelled (Escape keeps it);
// a stalled host shows "Retrying…" with the reason; notices and browser notifications when a
// download completes or fails; "Clear finished"; the title shows the overall progress.
// Against the release server and the fake hub of scripts/e2e.sh; serial (one models folder).
test.describe.configure({ mode: "serial" });

const SHOTS = process.env.SHOTS_DIR ?? "screenshots";
mkdirSync(SHOTS, { recursive: true });
const shot = (page: Page, name: string) => page.screenshot({ path: `${SHOTS}/panel-${name}.png` });

async function open(page: Page, path: string) {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(path);
  await expect(page.locator("[data-hydrated=true]")).toBeVisible();
  return errors;
}

const job = (page: Page, name: string) => page.locator(".downloads .job", { hasText: name });

async function addHf(request: APIRequestContext, name: string, repo: string) {
  const r = await request.post("/api/models", {
    data: { name, huggingfaceRepo: repo, huggingfaceFiles: ["model.safetensors"], type: "lora", family: "flux" },
  });
  expect(r.status(), await r.text()).toBe(201);
  return (await r.json()).model.id as string;
}

async function start(request: APIRequestContext, modelId: string) {
  const r = await request.post("/api/models/download", { data: { modelId } });
  expect(r.status(), await r.text()).toBe(202);
  return (await r.json()).jobId as string;
}

async function axeClean(page: Page, what: string) {
  const { violations } = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"])
    .analyze();
  const summary = violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
  expect(summary, `${what}: axe-core violations`).toEqual([]);
}

type Box = { x: number; y: number; width: number; height: number };
const overlaps = (a: Box, b: Box) =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/**
 * Tabs through every control of the page (until focus comes back round), and checks for each
 * focused control outside the panel that it is in the viewport and not under the panel.
 * Returns how many page controls were checked.
 */
async function tabThrough(page: Page, panel: Locator, what: string) {
  await page.locator("body").click({ position: { x: 1, y: 1 } });
  const seen = new Set<string>();
  let checked = 0;
  for (let i = 0; i < 200; i++) {
    await page.keyboard.press("Tab");
    const info = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body) return null;
      const inPanel = !!el.closest(".downloads");
      if (!el.dataset.tabProbe) el.dataset.tabProbe = String(Math.random());
      const r = el.getBoundingClientRect();
      const label = `${el.tagName.toLowerCase()} "${(el.getAttribute("aria-label") ?? el.textContent ?? "").trim().slice(0, 40)}"`;
      return { id: el.dataset.tabProbe, inPanel, label, box: { x: r.x, y: r.y, width: r.width, height: r.height } };
    });
    if (!info) continue;
    if (seen.has(info.id)) break;
    seen.add(info.id);
    if (info.inPanel || info.box.width === 0) continue;
    const panelBox = await panel.boundingBox();
    if (panelBox) {
      expect(overlaps(info.box, panelBox), `${what}: ${info.label} at ${JSON.stringify(info.box)} is under the panel ${JSON.stringify(panelBox)}`).toBe(false);
    }
    const vh = page.viewportSize()!.height;
    expect(info.box.y + info.box.height, `${what}: ${info.label} is below the viewport`).toBeLessThanOrEqual(vh + 1);
    checked++;
  }
  return checked;
}

let longA = "";
let longB = "";

test("two long downloads run: the title shows overall progress and the docked panel covers nothing at 1280×800", async ({ page, request }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  const a = await addHf(request, "Panel A E2E", "acme/panel-a-e2e");
  const b = await addHf(request, "Panel B E2E", "acme/panel-b-e2e");
  longA = await start(request, a);
  longB = await start(request, b);
  const errors = await open(page, "/");
  await expect(job(page, "Panel A E2E").locator(".job__status")).toContainText(/MB of .* left/, { timeout: 15_000 });
  await expect(page).toHaveTitle(/^\d+% · Model Manager$/);
  const panel = page.locator(".downloads");
  // Docked: the page's main column ends where the panel starts.
  const panelBox = (await panel.boundingBox())!;
  const mainBox = (await page.locator("main").boundingBox())!;
  expect(mainBox.x + mainBox.width).toBeLessThanOrEqual(panelBox.x + 1);
  await shot(page, "desktop-running");
  await axeClean(page, "desktop panel with running downloads");
  for (const path of ["/", "/?tab=installed", "/?tab=add", "/export"]) {
    await open(page, path);
    await expect(job(page, "Panel B E2E")).toBeVisible();
    const checked = await tabThrough(page, panel, `1280×800 ${path}`);
    expect(checked, `${path}: page controls reached by Tab`).toBeGreaterThan(3);
  }
  // Focus stays on a row's button while its job progresses (rows update in place).
  await open(page, "/");
  const pause = job(page, "Panel B E2E").getByRole("button", { name: "Pause Panel B E2E" });
  await pause.focus();
  await page.waitForTimeout(2_500);
  await expect(pause).toBeFocused();
  expect(errors).toEqual([]);
});

test("pause and resume from the panel; active jobs stay above finished ones", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await open(page, "/");
  const row = job(page, "Panel B E2E");
  await row.getByRole("button", { name: "Pause Panel B E2E" }).click();
  await expect(row.locator(".job__status")).toContainText(/^Paused · \d+ MB of 67 MB/);
  await expect(row.getByRole("button", { name: "Resume Panel B E2E" })).toBeFocused();
  await shot(page, "desktop-paused");
  await row.getByRole("button", { name: "Resume Panel B E2E" }).click();
  await expect(row.locator(".job__status")).toContainText(/MB of .* left|waiting for data/);
  const names = await page.locator(".downloads .job .job__name").allTextContents();
  expect(names.slice(0, 2).sort()).toEqual(["Panel A E2E", "Panel B E2E"]);
});

test("on a phone the panel is a slim bar that expands on demand and never covers a focused control (390×844)", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  const errors = await open(page, "/");
  const panel = page.locator(".downloads");
  const toggle = panel.getByRole("button", { name: /Downloads · 2 running · \d+%/ });
  await expect(toggle).toHaveAttribute("aria-expanded", "false");
  await expect(page.locator(".downloads__list")).toBeHidden();
  const bar = (await panel.boundingBox())!;
  expect(bar.height, "the collapsed bar is slim").toBeLessThan(80);
  await shot(page, "phone-collapsed");
  for (const path of ["/", "/?tab=installed", "/?tab=add", "/export"]) {
    await open(page, path);
    const checked = await tabThrough(page, panel, `390×844 ${path}`);
    expect(checked, `${path}: page controls reached by Tab`).toBeGreaterThan(3);
  }
  // Expanded on demand, by keyboard; Escape folds it again and focus stays on the bar.
  await open(page, "/");
  await toggle.focus();
  await page.keyboard.press("Enter");
  await expect(toggle).toHaveAttribute("aria-expanded", "true");
  await expect(page.locator(".downloads__list")).toBeVisible();
  await shot(page, "phone-expanded");
  await axeClean(page, "phone panel expanded");
  await page.keyboard.press("Escape");
  await expect(toggle).toHaveAttribute("aria-expanded", "false");
  await expect(toggle).toBeFocused();
  // Focus leaving the expanded panel folds it, so the next control is not under it.
  await toggle.click();
  await expect(page.locator(".downloads__list")).toBeVisible();
  await page.getByRole("link", { name: "Skip to content" }).focus();
  await expect(toggle).toHaveAttribute("aria-expanded", "false");
  expect(errors).toEqual([]);
});

test("cancelling a long-running download asks first; Escape keeps it", async ({ page, request }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await open(page, "/");
  // Two minutes later by the page's clock: the job has run for over a minute.
  await page.clock.setFixedTime(Date.now() + 120_000);
  const row = job(page, "Panel A E2E");
  const cancel = row.getByRole("button", { name: "Cancel Panel A E2E" });
  await cancel.click();
  const confirm = row.getByRole("group", { name: "Cancel the download of Panel A E2E?" });
  await expect(confirm).toBeVisible();
  await expect(confirm.getByRole("button", { name: "Yes, cancel" })).toBeFocused();
  await shot(page, "desktop-confirm-cancel");
  await axeClean(page, "cancel confirmation");
  await page.keyboard.press("Escape");
  await expect(confirm).toHaveCount(0);
  await expect(cancel).toBeFocused();
  await page.waitForTimeout(1_500);
  expect((await (await request.get(`/api/models/download/${longA}`)).json()).status).toBe("downloading");
  await cancel.click();
  await confirm.getByRole("button", { name: "Keep downloading" }).click();
  await expect(confirm).toHaveCount(0);
  await cancel.click();
  await confirm.getByRole("button", { name: "Yes, cancel" }).click();
  await expect(row.locator(".job__status")).toContainText("Cancelled");
  // The other one goes without a question through the API (it is not part of this flow).
  expect((await request.delete(`/api/models/download/${longB}`)).status()).toBe(200);
  await expect(job(page, "Panel B E2E").locator(".job__status")).toContainText("Cancelled");
  await expect(page).toHaveTitle("Model Manager");
});

test("a host that stops sending shows Retrying with the reason, not a frozen bar", async ({ page, request }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  const model = await addHf(request, "Stall E2E", "acme/stall-e2e");
  await open(page, "/");
  const id = await start(request, model);
  const row = job(page, "Stall E2E");
  await expect(row.locator(".job__status")).toContainText(/Retrying.*\(no data for 2 s\) · attempt \d+ · 1 MB of 8 MB/, { timeout: 20_000 });
  await shot(page, "desktop-retrying");
  expect((await request.delete(`/api/models/download/${id}`)).status()).toBe(200);
  await expect(row.locator(".job__status")).toContainText("Cancelled");
});

test.describe("notifications", () => {
  test.beforeEach(async ({ page }) => {
    // The browser's Notification, recorded: permission starts as "not asked".
    await page.addInitScript(() => {
      const w = window as unknown as { shown: { title: string; body: string }[]; Notification: unknown };
      w.shown = [];
      class FakeNotification {
        static permission = "default";
        static async requestPermission() {
          FakeNotification.permission = "granted";
          return "granted";
        }
        constructor(title: string, options?: { body?: string }) {
          w.shown.push({ title, body: options?.body ?? "" });
        }
      }
      w.Notification = FakeNotification;
    });
  });

  test("asked on a click; a completed and a failed download are announced in the page and by the browser", async ({ page, request }) => {
    await page.setViewportSize({ width: 1280, height: 800 });
    const quick = await addHf(request, "Quick E2E", "acme/quick-e2e");
    const broken = await addHf(request, "Broken E2E", "acme/broken-e2e");
    const errors = await open(page, "/");
    // Something is in the panel (the finished jobs of the flows above).
    const ask = page.getByRole("button", { name: "Notify me when downloads finish" });
    await expect(ask).toBeVisible();
    await ask.click();
    await expect(ask).toHaveCount(0);
    await start(request, quick);
    await start(request, broken);
    const notices = page.locator(".downloads__notices");
    await expect(notices).toContainText("Quick E2E is installed", { timeout: 30_000 });
    await expect(notices).toContainText(/Broken E2E failed: .+/, { timeout: 30_000 });
    await shot(page, "desktop-notices");
    const shown = await page.evaluate(() => (window as unknown as { shown: unknown[] }).shown);
    expect(shown).toContainEqual({ title: "Download complete", body: "Quick E2E is installed" });
    expect(shown).toContainEqual(expect.objectContaining({ title: "Download failed" }));
    await axeClean(page, "panel with notices");
    await notices.getByRole("button", { name: "Dismiss the notice: Quick E2E is installed" }).click();
    await expect(notices).not.toContainText("Quick E2E");
    expect(errors).toEqual([]);
  });
});

test("Clear finished forgets every finished download and leaves the installed model", async ({ page, request }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await open(page, "/");
  await expect(job(page, "Quick E2E")).toContainText("Installed");
  await shot(page, "desktop-finished");
  await page.getByRole("button", { name: "Clear finished" }).click();
  await expect(page.locator(".downloads")).toHaveCount(0);
  const jobs = (await (await request.get("/api/models/download")).json()).jobs;
  expect(jobs).toEqual([]);
  const installed = (await (await request.get("/api/models/installed")).json()).models;
  const quick = installed.find((m: { name: string }) => m.name === "Quick E2E");
  expect(quick).toBeTruthy();
  // The flows that follow start from the same library as before this file.
  expect((await request.delete(`/api/models/installed?id=${quick.id}`)).status()).toBe(200);
  for (const m of (await (await request.get("/api/models")).json()).models) {
    if (/^(Panel [AB]|Quick|Broken|Stall) E2E$/.test(m.name)) {
      const r = await request.delete(`/api/models?id=${m.id}`);
      expect(r.status(), await r.text()).toBe(200);
    }
  }
});

test.describe("recently added", () => {
  test("sorts the custom models newest first, built-ins after them (also with JavaScript off)", async ({ page, request, browser, baseURL }) => {
    const first = await addHf(request, "Older Custom E2E", "acme/quick-e2e");
    await page.waitForTimeout(1_100); // add times have a resolution of one second
    const second = await addHf(request, "Newer Custom E2E", "acme/broken-e2e");
    await open(page, "/");
    await page.getByLabel("Sort by").selectOption({ label: "Recently added" });
    await expect(page).toHaveURL(/sort=recent/);
    const names = page.locator(".model-card h3");
    await expect(names.nth(0)).toHaveText("Newer Custom E2E");
    await expect(names.nth(1)).toHaveText("Older Custom E2E");
    await shot(page, "sort-recently-added");
    // Rendered on the server: the same order without JavaScript.
    const noJs = await browser.newContext({ javaScriptEnabled: false, baseURL });
    const plain = await noJs.newPage();
    await plain.goto("/?tab=available&sort=recent");
    await expect(plain.locator(".model-card h3").nth(0)).toHaveText("Newer Custom E2E");
    await expect(plain.getByLabel("Sort by")).toHaveValue("recent");
    await noJs.close();
    for (const id of [first, second]) expect((await request.delete(`/api/models?id=${id}`)).status()).toBe(200);
  });
});
