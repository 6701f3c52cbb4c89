import { test, expect, Page, APIRequestContext } from "@playwright/test";
import { parse as parseYaml } from "yaml";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

// Every flow a user has, in order, against the release server and the fake hub
// (scripts/e2e.sh starts both). They share one models folder, so they run serially.
test.describe.configure({ mode: "serial" });

const GOOD_TOKEN = "hf_CANARY_good_4d1f9b";
const shot = (page: Page, name: string) => page.screenshot({ path: `screenshots/${name}.png`, fullPage: true });

async function open(page: Page, path: string) {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(path);
  await expect(page.locator("[data-hydrated=true]")).toBeVisible();
  return errors;
}

function card(page: Page, name: string) {
  return page.locator(".model-card", { has: page.getByRole("heading", { name, exact: true }) });
}

function job(page: Page, name: string) {
  return page.locator(".downloads .job", { hasText: name });
}

/** A valid safetensors file: one U8 tensor of `n` bytes. */
function safetensors(n: number, seed: number): Buffer {
  let header = JSON.stringify({ weight: { dtype: "U8", shape: [n], data_offsets: [0, n] } });
  header += " ".repeat((8 - (header.length % 8)) % 8);
  const out = Buffer.alloc(8 + header.length + n);
  out.writeBigUInt64LE(BigInt(header.length), 0);
  out.write(header, 8, "utf8");
  for (let i = 0; i < n; i++) out[8 + header.length + i] = (i * 31 + seed) & 0xff;
  return out;
}

async function addCustom(request: APIRequestContext, body: object) {
  const r = await request.post("/api/models", { data: body });
  expect(r.status(), await r.text()).toBe(201);
  return (await r.json()).model;
}

test("browse and filter: search, family and type live in the URL", async ({ page }) => {
  const errors = await open(page, "/");
  await expect(page.locator(".model-card")).toHaveCount(15);
  await page.getByLabel("Search").fill("sdxl");
  await expect(page).toHaveURL(/q=sdxl/);
  await expect(page.locator(".model-card")).toHaveCount(3);
  await page.getByLabel("Search").fill("");
  await page.getByLabel("Family").selectOption("flux");
  await expect(page.locator(".model-card")).toHaveCount(7);
  await page.getByLabel("Type").selectOption("captioner");
  await expect(page.locator(".model-card")).toHaveCount(0);
  await expect(page.getByText("No models match these filters.")).toBeVisible();
  await page.getByLabel("Family").selectOption("qwen");
  await expect(page.locator(".model-card")).toHaveCount(1);
  await shot(page, "01-filter-qwen-captioner");
  // A reload (or a shared link) keeps the filters.
  await page.reload();
  await expect(page.locator(".model-card")).toHaveCount(1);
  await expect(page.getByLabel("Family")).toHaveValue("qwen");
  expect(errors).toEqual([]);
});

/** The unfiltered Available list: every model, and no decoding error in its place. */
async function expectFullList(page: Page, count = 15) {
  await expect(page.locator(".model-card")).toHaveCount(count);
  await expect(page.getByText(/missing field|deserializ/)).toHaveCount(0);
}

test("the unfiltered list survives ordinary navigation", async ({ page }) => {
  const errors = await open(page, "/?q=sdxl");
  await expect(page.locator(".model-card")).toHaveCount(3);
  // Clearing the search box.
  await page.getByLabel("Search").fill("");
  await expect(page).not.toHaveURL(/q=/);
  await expectFullList(page);
  // Installed -> Available.
  await page.getByRole("tab", { name: /Installed/ }).click();
  await expect(page).toHaveURL(/tab=installed/);
  await page.getByRole("tab", { name: /Available/ }).click();
  await expectFullList(page);
  // Export -> Models.
  await page.getByRole("link", { name: "Export", exact: true }).click();
  await expect(page).toHaveURL(/\/export/);
  await page.getByRole("link", { name: "Models", exact: true }).click();
  await expectFullList(page);
  expect(errors).toEqual([]);
});

test("download a built-in model and watch the progress panel reach installed", async ({ page }) => {
  // The unfiltered list is shown while the download finishes (it refetches then).
  const errors = await open(page, "/");
  const adapter = card(page, "Z-Image Turbo Training Adapter");
  await adapter.getByRole("button", { name: "Download" }).click();
  const row = job(page, "Z-Image Turbo Training Adapter");
  await expect(row).toBeVisible();
  await expect(row.locator(".job__status")).toContainText(/MB of/);
  await shot(page, "02-downloading");
  await expect(row.locator(".job__status")).toContainText("Installed", { timeout: 30_000 });
  await expect(adapter.getByText("Installed")).toBeVisible();
  await expectFullList(page);
  await shot(page, "03-installed");
  // The panel survives a reload: it asks the server which jobs exist.
  await page.reload();
  await expect(job(page, "Z-Image Turbo Training Adapter")).toContainText("Installed");
  await job(page, "Z-Image Turbo Training Adapter").getByRole("button", { name: /Dismiss/ }).click();
  await expect(page.locator(".downloads")).toHaveCount(0);
  expect(errors).toEqual([]);
});

test("a gated model asks for a token, then downloads with it", async ({ page, request }) => {
  await addCustom(request, { name: "Gated E2E", huggingfaceRepo: "acme/gated-e2e", huggingfaceFiles: ["model.safetensors"], huggingfaceToken: GOOD_TOKEN, family: "flux" });
  await open(page, "/?q=gated%20e2e");
  const gated = card(page, "Gated E2E");
  await expect(gated.getByText("Gated", { exact: true })).toBeVisible();
  await gated.getByRole("button", { name: "Download" }).click();
  await expect(gated.getByRole("alert")).toContainText("accept its licence", { timeout: 15_000 });
  await shot(page, "04-gated-needs-token");
  await gated.getByLabel("Hugging Face token").fill(GOOD_TOKEN);
  await gated.getByRole("button", { name: "Retry download" }).click();
  await expect(job(page, "Gated E2E").locator(".job__status")).toContainText("Installed", { timeout: 30_000 });
  // The token is not kept in the page either.
  await expect(gated.getByText("Installed")).toBeVisible();
});

test("cancel a download", async ({ page, request }) => {
  await addCustom(request, { name: "Slow E2E", huggingfaceRepo: "acme/slow-e2e", huggingfaceFiles: ["model.safetensors"] });
  await open(page, "/?q=slow%20e2e");
  await card(page, "Slow E2E").getByRole("button", { name: "Download" }).click();
  const row = job(page, "Slow E2E");
  await expect(row.locator(".job__status")).toContainText(/MB of .* left/, { timeout: 15_000 });
  await row.getByRole("button", { name: /Cancel/ }).click();
  await expect(row.locator(".job__status")).toContainText("Cancelled");
  await shot(page, "05-cancelled");
  await expect(card(page, "Slow E2E").getByRole("button", { name: "Download" })).toBeVisible();
});

test("changes made through another server on the volume appear without a reload", async ({ page, request }) => {
  // The REST calls stand for another pod on the same volume: they write the same database
  // and job files; the page notices within its 1.5 s watch.
  const errors = await open(page, "/?q=volume%20e2e");
  await expect(page.locator(".model-card")).toHaveCount(0);
  const model = await addCustom(request, { name: "Volume E2E", huggingfaceRepo: "acme/volume-e2e", huggingfaceFiles: ["model.safetensors"] });
  await expect(card(page, "Volume E2E")).toBeVisible({ timeout: 4_000 });
  const started = await request.post("/api/models/download", { data: { modelId: model.id } });
  expect(started.status(), await started.text()).toBe(202);
  const { jobId } = await started.json();
  const row = job(page, "Volume E2E");
  await expect(row.locator(".job__status")).toContainText(/MB of/, { timeout: 4_000 });
  await shot(page, "05b-download-from-another-server");
  expect((await request.delete(`/api/models/download/${jobId}`)).status()).toBe(200);
  await expect(row.locator(".job__status")).toContainText("Cancelled", { timeout: 4_000 });
  await row.getByRole("button", { name: /Dismiss/ }).click();
  expect((await request.delete(`/api/models?id=${model.id}`)).status()).toBe(200);
  await expect(card(page, "Volume E2E")).toHaveCount(0, { timeout: 4_000 });
  expect(errors).toEqual([]);
});

test("pause and resume a download, and set the download settings, from the panel", async ({ page, request }) => {
  await addCustom(request, { name: "Pausable E2E", huggingfaceRepo: "acme/pausable-e2e", huggingfaceFiles: ["model.safetensors"] });
  const errors = await open(page, "/?q=pausable%20e2e");
  await card(page, "Pausable E2E").getByRole("button", { name: "Download" }).click();
  const row = job(page, "Pausable E2E");
  await expect(row.locator(".job__status")).toContainText(/MB of .* left/, { timeout: 15_000 });
  await row.getByRole("button", { name: "Pause Pausable E2E" }).click();
  await expect(row.locator(".job__status")).toContainText(/Paused · \d+ MB of 34 MB/);
  await shot(page, "05b-paused");
  // Paused stays paused, also after a reload.
  await page.reload();
  await expect(job(page, "Pausable E2E").locator(".job__status")).toContainText("Paused ·");
  await job(page, "Pausable E2E").getByRole("button", { name: "Resume Pausable E2E" }).click();
  await expect(job(page, "Pausable E2E").locator(".job__status")).toContainText("Installed", { timeout: 30_000 });

  // The settings: a speed limit in the units the panel shows, and downloads at once.
  const settings = page.locator(".downloads__settings");
  await settings.locator("summary").click();
  const rate = settings.getByLabel("Speed limit (all downloads)");
  await expect(rate).toHaveValue("none");
  await rate.fill("fast");
  await settings.getByRole("button", { name: "Save" }).click();
  await expect(settings.getByRole("alert")).toContainText("is not a rate");
  await rate.fill("50 MB/s");
  await settings.getByLabel("Downloads at once").fill("3");
  await settings.getByRole("button", { name: "Save" }).click();
  await expect(settings.getByRole("status")).toContainText("Saved");
  await shot(page, "05c-download-settings");
  const saved = await (await request.get("/api/models/download/settings")).json();
  expect(saved).toMatchObject({ rateLimitBytesPerSecond: 50_000_000, maxConcurrentJobs: 3 });
  await page.reload();
  await page.locator(".downloads__settings summary").click();
  await expect(page.getByLabel("Speed limit (all downloads)")).toHaveValue("50.0 MB/s");
  await expect(page.getByLabel("Downloads at once")).toHaveValue("3");
  // Back to the defaults for the flows that follow, and the panel as short as before.
  const reset = await request.put("/api/models/download/settings", { data: { rateLimitBytesPerSecond: 0, maxConcurrentJobs: 2 } });
  expect(reset.status()).toBe(200);
  // Open, the settings cover the list; closing them gives it back.
  await page.locator(".downloads__settings summary").click();
  // The flows that follow see the models and the panel as before this one.
  const jobs = (await (await request.get("/api/models/download")).json()).jobs;
  const installed = jobs.find((j: { modelId: string }) => j.modelId === "pausable-e2e").installedModelId;
  expect((await request.delete(`/api/models/installed?id=${installed}`)).status()).toBe(200);
  await job(page, "Pausable E2E").getByRole("button", { name: /Dismiss/ }).click();
  await expect(job(page, "Pausable E2E")).toHaveCount(0);
  expect(errors).toEqual([]);
});

test("add a custom Hugging Face model and a CivitAI link through the form, then download them", async ({ page }) => {
  await open(page, "/?tab=add");
  await page.getByLabel("Repository").fill("acme/public-e2e");
  await page.getByLabel("Files (one per line)").fill("model.safetensors");
  await page.getByLabel("Name").fill("Public E2E");
  await page.getByLabel("Family").selectOption("sdxl");
  await page.getByRole("button", { name: "Check" }).click();
  await expect(page.locator(".preview")).toContainText("Hugging Face acme/public-e2e");
  await expect(page.locator(".preview")).toContainText("model.safetensors · 3 MB");
  await page.getByRole("button", { name: "Add model" }).click();
  await expect(page.getByText("Added Public E2E")).toBeVisible();

  // Server errors land next to the field they are about.
  await page.getByText("CivitAI", { exact: true }).click();
  await page.getByLabel("CivitAI link").fill("https://example.com/models/1");
  await page.getByRole("button", { name: "Check" }).click();
  await expect(page.locator(".field__error")).toContainText("not CivitAI");
  await page.getByLabel("CivitAI link").fill("https://civitai.com/models/4384/dreamshaper?modelVersionId=128713");
  await page.getByRole("button", { name: "Check" }).click();
  await expect(page.locator(".preview")).toContainText("DreamShaper 8");
  await expect(page.locator(".preview")).toContainText("version 8 (128713)");
  await expect(page.locator(".preview")).toContainText("dreamshaper_8.safetensors");
  await shot(page, "06-civitai-preview");
  await page.getByRole("button", { name: "Add model" }).click();
  await expect(page.getByText("Added DreamShaper 8")).toBeVisible();
  // The link after adding opens the unfiltered list, with the new models in it.
  await page.getByRole("link", { name: "Open the Available tab" }).click();
  await expect(page).toHaveURL(/tab=available/);
  await expect(card(page, "DreamShaper 8")).toBeVisible();
  await expect(page.getByText(/missing field|deserializ/)).toHaveCount(0);

  await page.goto("/?q=e2e");
  await expect(page.locator("[data-hydrated=true]")).toBeVisible();
  await card(page, "Public E2E").getByRole("button", { name: "Download" }).click();
  await expect(job(page, "Public E2E").locator(".job__status")).toContainText("Installed", { timeout: 30_000 });
  await page.goto("/?q=dreamshaper");
  await expect(page.locator("[data-hydrated=true]")).toBeVisible();
  await card(page, "DreamShaper 8").getByRole("button", { name: "Download" }).click();
  await expect(job(page, "DreamShaper 8").locator(".job__status")).toContainText("Installed", { timeout: 30_000 });
});

test("upload a file with a progress bar", async ({ page }) => {
  await open(page, "/?tab=add");
  await page.getByText("Upload a file", { exact: true }).click();
  await page.getByLabel(/Model file/).setInputFiles({ name: "my-sdxl.safetensors", mimeType: "application/octet-stream", buffer: safetensors(24 << 20, 7) });
  await page.getByLabel("Name").fill("My SDXL upload");
  await page.getByLabel("Family").selectOption("sdxl");
  await page.getByRole("button", { name: "Upload" }).click();
  await expect(page.locator(".upload-progress")).toBeVisible();
  await expect(page.getByText("Uploaded and installed My SDXL upload")).toBeVisible({ timeout: 30_000 });
  await shot(page, "07-uploaded");
  // A text file renamed to .safetensors is refused with the server's reason.
  await page.getByLabel(/Model file/).setInputFiles({ name: "notes.safetensors", mimeType: "text/plain", buffer: Buffer.from("just text\n") });
  await page.getByRole("button", { name: "Upload" }).click();
  await expect(page.getByRole("alert")).toContainText("not a valid");
});

test("verify and delete an installed model", async ({ page }) => {
  await open(page, "/?tab=installed");
  await expect(page.locator(".disk")).toContainText("used by models");
  const upload = card(page, "My SDXL upload");
  await upload.getByRole("button", { name: "Verify files" }).click();
  await expect(upload.locator(".verify")).toContainText("All files match");
  await shot(page, "08-installed-verified");
  await upload.getByRole("button", { name: "Delete" }).click();
  await upload.getByRole("button", { name: "Yes, delete" }).click();
  await expect(card(page, "My SDXL upload")).toHaveCount(0);
});

test("a copy that verify finds damaged is downloaded again from its card", async ({ page }) => {
  await open(page, "/?tab=installed");
  const adapter = card(page, "Z-Image Turbo Training Adapter");
  const rel = (await adapter.locator(".files code").first().textContent())!.trim();
  // Damaged in place: same size, other bytes (a disk error, an editor, a bad copy).
  const path = join(process.env.MODELS_DIR!, rel);
  const bytes = readFileSync(path);
  bytes[bytes.length - 1] ^= 0xff;
  writeFileSync(path, bytes);
  await adapter.getByRole("button", { name: "Verify files" }).click();
  await expect(adapter.locator(".verify")).toContainText("Integrity problems found");
  await expect(adapter.locator(".verify")).toContainText(`changed: ${rel}`);
  await shot(page, "08b-installed-damaged");
  await adapter.getByRole("button", { name: "Download again" }).click();
  await expect(job(page, "Z-Image Turbo Training Adapter").locator(".job__status")).toContainText("Installed", { timeout: 30_000 });
  const fresh = card(page, "Z-Image Turbo Training Adapter");
  await fresh.getByRole("button", { name: "Verify files" }).click();
  await expect(fresh.locator(".verify")).toContainText("All files match");
  await expect(fresh.getByRole("button", { name: "Download again" })).toHaveCount(0);
});

test("export: choose a base model and get the AI Toolkit YAML", async ({ page }) => {
  await open(page, "/export");
  await page.getByLabel("Dataset folder *").selectOption({ label: "cats (3 images)" });
  await page.getByLabel("Trigger word").fill("ohwx");
  await page.getByLabel("Run name *").fill("cats_lora");
  const base = await page.locator("#model-selector option", { hasText: "Public E2E" }).getAttribute("value");
  await page.getByLabel("Base model").selectOption(base!);
  await page.getByRole("button", { name: "Create config" }).click();
  const result = page.locator(".export__result");
  await expect(result).toContainText("Saved on the server as");
  await expect(result.getByRole("link", { name: "Download cats_lora.yaml" })).toBeVisible();
  // Read back by a YAML parser, as AI Toolkit reads it: `model:` is a mapping with the base model.
  const config = parseYaml(await result.locator(".yaml").innerText());
  expect(config.job).toBe("extension");
  expect(config.config.name).toBe("cats_lora");
  const process = config.config.process[0];
  expect(process.type).toBe("sd_trainer");
  expect(process.trigger_word).toBe("ohwx");
  expect(process.datasets[0].folder_path).toMatch(/\/datasets\/cats$/);
  expect(process.model.arch).toBe("sdxl");
  expect(process.model.name_or_path).toMatch(/public-e2e\/model\.safetensors$/);
  expect(process.model.quantize).toBe(false);
  expect(process.train.lr).toBe(0.0001);
  await shot(page, "09-export-yaml");
});

/** Downloads a model through the API and waits until it is installed. */
async function installThroughApi(request: APIRequestContext, body: object) {
  const started = await request.post("/api/models/download", { data: body });
  expect(started.status(), await started.text()).toBe(202);
  const { jobId } = await started.json();
  await expect.poll(async () => (await (await request.get(`/api/models/download/${jobId}`)).json()).status, { timeout: 30_000 }).toBe("completed");
}

test("export shows the model block: a FLUX.1 diffusers folder loads, a single file says what to download", async ({ page, request }) => {
  await installThroughApi(request, { modelId: "flux-1-dev-diffusers", huggingfaceToken: GOOD_TOKEN });
  const single = await addCustom(request, { name: "Flux Single E2E", huggingfaceRepo: "acme/flux-single-e2e", huggingfaceFiles: ["model.safetensors"], family: "flux", type: "base_model" });
  await installThroughApi(request, { modelId: single.id });

  await open(page, "/export");
  const block = page.locator(".model-block");
  const diffusers = await page.locator("#model-selector option", { hasText: "Flux.1 Dev (diffusers)" }).getAttribute("value");
  await page.getByLabel("Base model").selectOption(diffusers!);
  await expect(block.locator(".yaml")).toContainText("arch: flux");
  const model = parseYaml(await block.locator(".yaml").innerText()).model;
  expect(model.name_or_path).toMatch(/\/flux\/flux-1-dev-diffusers$/);
  await expect(block.locator(".notes")).toContainText("diffusers layout");
  await expect(block.locator(".warnings")).toHaveCount(0);
  await shot(page, "09b-export-flux-diffusers");

  const file = await page.locator("#model-selector option", { hasText: "Flux Single E2E" }).getAttribute("value");
  await page.getByLabel("Base model").selectOption(file!);
  await expect(block.locator(".warnings")).toContainText("cannot train FLUX.1 from a single file");
  await expect(block.locator(".warnings")).toContainText("Choose “Flux.1 Dev (diffusers)” (installed) instead");
  // The layout it needs is one click away (Flux.1 Dev's diffusers copy is installed already).
  await expect(block.getByRole("button", { name: "Download Flux.1 Schnell (diffusers)" })).toBeVisible();
  await expect(block.getByRole("link", { name: /Flux\.1 Dev \(diffusers\)/ })).toHaveCount(0);
  await shot(page, "09c-export-flux-single-file");
});

test.describe("with JavaScript off", () => {
  test.use({ javaScriptEnabled: false });

  test("read-only views are rendered on the server", async ({ page }) => {
    await page.goto("/?tab=available&family=sdxl");
    // Three built-in SDXL models and the custom one added through the form above.
    await expect(page.locator(".model-card")).toHaveCount(4);
    await expect(card(page, "Public E2E")).toBeVisible();
    // The filter form works as a plain GET form.
    await page.getByLabel("Search").fill("turbo");
    await page.getByRole("button", { name: "Apply filters" }).click();
    await expect(page).toHaveURL(/q=turbo/);
    await expect(page.locator(".model-card")).toHaveCount(1);
    await page.goto("/?tab=installed");
    await expect(page.locator(".disk")).toContainText("free on the volume");
    await expect(card(page, "Public E2E")).toBeVisible();
    await shot(page, "10-no-javascript-installed");
  });
});

test.describe("on a phone in dark mode", () => {
  test.use({ viewport: { width: 390, height: 844 }, colorScheme: "dark" });

  test("pages fit the screen without sideways scrolling", async ({ page }) => {
    for (const path of ["/", "/?tab=installed", "/?tab=add", "/export"]) {
      await open(page, path);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `${path} scrolls sideways by ${overflow}px`).toBeLessThanOrEqual(0);
    }
    await open(page, "/");
    await shot(page, "11-phone-dark");
    // On a phone the downloads panel is a bar at the bottom: its list shows only on demand.
    if (await page.locator(".downloads").count()) {
      await expect(page.locator(".downloads__list")).toBeHidden();
      await page.locator(".downloads__toggle").click();
      await expect(page.locator(".downloads__list")).toBeVisible();
    }
  });
});
