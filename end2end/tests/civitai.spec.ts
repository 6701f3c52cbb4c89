import { test, expect, Page, APIRequestContext, Locator } from "@playwright/test";
import { createHash } from "node:crypto";

// CivitAI metadata on Installed cards: "Look up on CivitAI" asks by sha256 (the fake CivitAI of
// scripts/e2e.sh answers what a test registers; the automatic lookup after each install is off
// there and covered by server/tests/api_civitai.rs), the preview image and trigger words, an
// NSFW preview hidden until clicked, "Check for updates", a 404 looked up again.
test.describe.configure({ mode: "serial" });

const HUB_URL = process.env.HUB_URL ?? "";
// Each flow's uploads are deleted after it: the flows after these see the list they expect.
const installed: string[] = [];
const added: string[] = [];
const jobs: string[] = [];
test.afterEach(async ({ request }) => {
  for (const id of jobs.splice(0)) {
    expect((await request.delete(`/api/models/download/${id}`)).status()).toBe(200);
  }
  for (const id of installed.splice(0)) {
    expect((await request.delete(`/api/models/installed?id=${id}`)).status()).toBe(200);
  }
  for (const id of added.splice(0)) {
    expect((await request.delete(`/api/models?id=${id}`)).status()).toBe(200);
  }
});
const shot = (page: Page, name: string) => page.screenshot({ path: `screenshots/${name}.png`, fullPage: true });

/** A small kohya FLUX LoRA; `rank` makes each file distinct. */
function lora(rank: number): Buffer {
  const shape = [rank, 64];
  const header = JSON.stringify({
    __metadata__: { ss_tag_frequency: JSON.stringify({ "1_own words": { "own words": 1 } }) },
    "lora_unet_double_blocks_0_img_attn_proj.lora_down.weight": { dtype: "F16", shape, data_offsets: [0, rank * 64 * 2] },
  });
  const padded = header + " ".repeat((8 - (header.length % 8)) % 8);
  const out = Buffer.alloc(8 + padded.length + rank * 64 * 2);
  out.writeBigUInt64LE(BigInt(padded.length), 0);
  out.write(padded, 8, "utf8");
  return out;
}

/** Registers the fake CivitAI's by-hash answer for `file`, then uploads it; the record id. */
async function installKnown(request: APIRequestContext, name: string, file: Buffer, version: object): Promise<string> {
  const sha = createHash("sha256").update(file).digest("hex");
  const registered = await request.post(`${HUB_URL}/fake/by-hash/${sha}`, { data: version });
  expect(registered.status()).toBe(204);
  const r = await request.post("/api/models/upload", {
    multipart: {
      file: { name: `${name}.safetensors`, mimeType: "application/octet-stream", buffer: file },
      name,
      type: "lora",
      family: "flux",
    },
  });
  expect(r.status(), await r.text()).toBe(201);
  const id = (await r.json()).model.id;
  installed.push(id);
  return id;
}

const version = (id: number, modelId: number, name: string, modelName: string, words: string[], image: string, nsfwLevel: number) => ({
  id, modelId, name, baseModel: "Flux.1 D", trainedWords: words,
  description: "<p>Made for <b>tests</b>.</p><script>document.title='pwned'</script>",
  model: { name: modelName, type: "LORA", nsfw: false },
  images: [{ url: `${HUB_URL}/preview/${image}`, nsfwLevel, width: 1, height: 1, type: "image" }],
  files: [],
});

async function open(page: Page, path: string) {
  page.on("pageerror", (e) => console.log("pageerror:", e.message));
  await page.goto(path);
  await expect(page.locator("[data-hydrated=true]")).toBeVisible();
}

/** Clicks `button` until `done` shows: the Installed list refetches once after hydration and
 *  whenever the database changes (a lookup's preview arriving), and a click on a card being
 *  replaced is lost. */
async function clickUntil(button: Locator, done: Locator) {
  await expect(async () => {
    if (await button.isVisible()) await button.click({ timeout: 2_000 });
    await expect(done).toBeVisible({ timeout: 3_000 });
  }).toPass({ timeout: 30_000 });
}

/** Opens the Installed tab and asks CivitAI about the card's model; the card. */
async function lookUp(page: Page, id: string) {
  await open(page, "/?tab=installed");
  const card = page.locator(`[data-installed-id="${id}"]`);
  await expect(card.getByText("Not looked up on CivitAI yet")).toBeVisible();
  await clickUntil(card.getByRole("button", { name: "Look up on CivitAI" }), card.locator(".civitai__title, .civitai__status").first());
  return card;
}

test("a card shows its CivitAI preview, names, description as text and CivitAI's trigger words", async ({ page, request }) => {
  expect(HUB_URL, "scripts/e2e.sh sets HUB_URL").not.toBe("");
  const id = await installKnown(request, "E2E Style", lora(5), version(501, 5001, "v1", "E2E Style LoRA", ["e2e style"], "ok.png", 1));
  const card = await lookUp(page, id);
  const preview = card.getByRole("img", { name: "Preview of E2E Style LoRA · v1" });
  await expect(preview).toBeVisible();
  await expect.poll(() => preview.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(1);
  // CivitAI's trigger words win over the file's own ("own words").
  await expect(card.locator(".trigger-words")).toContainText("e2e style");
  await expect(card.locator(".trigger-words")).not.toContainText("own words");
  await expect(card.getByRole("link", { name: "Use in Export" })).toHaveAttribute("href", "/export?trigger=e2e%20style");
  await expect(card.getByRole("link", { name: "E2E Style LoRA · v1 on CivitAI" })).toHaveAttribute("href", `${HUB_URL}/models/5001?modelVersionId=501`);
  await card.getByText("Description").click();
  await expect(card.locator(".civitai__description")).toContainText("Made for tests.");
  await expect(card.locator(".civitai__description script")).toHaveCount(0);
  expect(await page.title()).not.toBe("pwned");
  await shot(page, "civitai-card");
});

test("an NSFW preview stays hidden until clicked, or shown when the user opted in", async ({ page, request }) => {
  const id = await installKnown(request, "Spicy", lora(6), version(100, 4384, "7", "DreamShaper", ["dsmix"], "nsfw.png", 8));
  const card = await lookUp(page, id);
  const reveal = card.getByRole("button", { name: "NSFW preview hidden: show it" });
  await expect(reveal).toBeVisible();
  await expect(card.locator(".civitai__preview img")).toHaveCount(0);
  await clickUntil(reveal, card.getByRole("img", { name: "Preview of DreamShaper · 7" }));
  // Another install refetches the list: the revealed preview stays (the list is keyed; it
  // used to rebuild every card, hiding the preview again).
  const other = await installKnown(request, "Bystander", lora(13), version(900, 9001, "v1", "Bystander", [], "ok.png", 1));
  await expect(page.locator(`[data-installed-id="${other}"]`)).toBeVisible();
  await expect(card.getByRole("img", { name: "Preview of DreamShaper · 7" })).toBeVisible();

  // Opted in: shown without a click, at once (the cards follow the setting without being made
  // anew: an opened description stays open), after a reload too; then back to hidden.
  await page.reload();
  await expect(page.locator("[data-hydrated=true]")).toBeVisible();
  await card.getByText("Description").click();
  await expect(card.locator(".civitai__description")).toBeVisible();
  const optIn = page.getByRole("checkbox", { name: "Show NSFW previews without a click" });
  await optIn.check();
  await expect(card.getByRole("img", { name: "Preview of DreamShaper · 7" })).toBeVisible();
  await expect(card.locator(".civitai__description")).toBeVisible();
  await page.reload();
  await expect(page.locator("[data-hydrated=true]")).toBeVisible();
  await expect(card.getByRole("img", { name: "Preview of DreamShaper · 7" })).toBeVisible();
  await expect(optIn).toBeChecked();
  await optIn.uncheck();
  await expect(card.getByRole("button", { name: "NSFW preview hidden: show it" })).toBeVisible();
});

test("Check for updates shows the newer version with its download", async ({ page, request }) => {
  // Version 100 ("7") of model 4384; the fake CivitAI lists "8" as the newest.
  const id = await installKnown(request, "Old DreamShaper", lora(7), version(100, 4384, "7", "DreamShaper", [], "ok.png", 1));
  const card = await lookUp(page, id);
  await clickUntil(card.getByRole("button", { name: "Check for updates" }), card.getByText("Update available: 8"));
  await expect(card.getByRole("button", { name: "Download 8" })).toBeEnabled();
  await shot(page, "civitai-update");
});

test("a file CivitAI does not know says so and can be looked up again", async ({ page, request }) => {
  const r = await request.post("/api/models/upload", {
    multipart: {
      file: { name: "unknown-e2e.safetensors", mimeType: "application/octet-stream", buffer: lora(9) },
      name: "Unknown to CivitAI",
      type: "lora",
    },
  });
  expect(r.status()).toBe(201);
  const id = (await r.json()).model.id;
  installed.push(id);
  const card = await lookUp(page, id);
  await expect(card.getByText(/Not found on CivitAI/)).toBeVisible();
  const sha = createHash("sha256").update(lora(9)).digest("hex");
  await request.post(`${HUB_URL}/fake/by-hash/${sha}`, { data: version(900, 9000, "v9", "Found Later", [], "ok.png", 1) });
  await clickUntil(card.getByRole("button", { name: "Look up again" }), card.getByRole("link", { name: "Found Later · v9 on CivitAI" }));
});

test("a file already on the volume is linked instead of downloaded, and the card says so", async ({ page, request }) => {
  // The bytes the fake CivitAI serves for version 128713, uploaded before under another name.
  const served = await request.get(`${HUB_URL}/api/download/models/128713`);
  expect(served.status()).toBe(200);
  const up = await request.post("/api/models/upload", {
    multipart: {
      file: { name: "reuse-source.safetensors", mimeType: "application/octet-stream", buffer: await served.body() },
      name: "Reuse source",
      type: "lora",
      family: "flux",
    },
  });
  expect(up.status(), await up.text()).toBe(201);
  installed.push((await up.json()).model.id);

  await open(page, "/?tab=add");
  await page.getByText("CivitAI", { exact: true }).click();
  await page.getByLabel("CivitAI link").fill("https://civitai.com/models/4384?modelVersionId=128713");
  await page.getByRole("button", { name: "Check" }).click();
  await expect(page.locator(".preview__on-volume")).toContainText("already installed as Reuse source (lora/reuse-source.safetensors)");
  await page.getByRole("button", { name: "Add model" }).click();
  await expect(page.getByText("Added DreamShaper 8")).toBeVisible();
  // Said again by the add itself (the Check's preview is gone once added).
  await expect(page.locator(".preview__on-volume")).toHaveCount(1);
  await expect(page.locator(".preview__on-volume")).toContainText("already installed as Reuse source (lora/reuse-source.safetensors)");
  await shot(page, "add-already-installed");

  await page.goto("/?q=dreamshaper");
  await expect(page.locator("[data-hydrated=true]")).toBeVisible();
  const card = page.locator(".model-card", { has: page.getByRole("heading", { name: "DreamShaper 8", exact: true }) });
  await clickUntil(card.getByRole("button", { name: "Download" }), card.locator(".job-note"));
  await expect(card.locator(".job-note")).toContainText("reused from lora/reuse-source.safetensors");
  await shot(page, "civitai-reused");
  const job = (await (await request.get("/api/models/download")).json()).jobs.find((j: { modelName: string }) => j.modelName === "DreamShaper 8");
  expect(job.status).toBe("completed");
  jobs.push(job.id);
  installed.push(job.installedModelId);
  added.push(job.modelId);
});

test("uploading a file already installed warns before it transfers and says so after", async ({ page, request }) => {
  const bytes = lora(11);
  const up = await request.post("/api/models/upload", {
    multipart: {
      file: { name: "first-copy.safetensors", mimeType: "application/octet-stream", buffer: bytes },
      name: "First copy",
      type: "lora",
      family: "flux",
    },
  });
  expect(up.status(), await up.text()).toBe(201);
  installed.push((await up.json()).model.id);

  await open(page, "/?tab=add");
  await page.getByText("Upload a file", { exact: true }).click();
  await page.getByLabel(/Model file/).setInputFiles({ name: "second-copy.safetensors", mimeType: "application/octet-stream", buffer: bytes });
  await page.getByLabel("Name").fill("Second copy");
  await page.locator("#model-type").selectOption("lora");
  await page.locator("#model-family").selectOption("flux");
  // Asked by name and size first: nothing is sent until the user says so.
  const warning = page.locator(".upload-same-size");
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  await expect(warning).toContainText("a file of the same size is already installed as First copy (lora/first-copy.safetensors)");
  await expect(page.locator(".upload-progress")).toHaveCount(0);
  await shot(page, "upload-same-size");
  await page.getByRole("button", { name: "Don't upload" }).click();
  await expect(warning).toHaveCount(0);
  let list = await (await request.get("/api/models/installed")).json();
  expect(list.models.filter((m: { name: string }) => m.name === "Second copy")).toHaveLength(0);

  await page.getByRole("button", { name: "Upload", exact: true }).click();
  await page.getByRole("button", { name: "Upload anyway" }).click();
  await expect(page.getByText("Uploaded and installed Second copy")).toBeVisible({ timeout: 30_000 });
  await expect(page.locator(".preview__on-volume")).toContainText("already installed as First copy (lora/first-copy.safetensors)");
  list = await (await request.get("/api/models/installed")).json();
  installed.push(list.models.find((m: { name: string }) => m.name === "Second copy").id);
  await shot(page, "upload-already-installed");
  await page.getByRole("link", { name: "See the duplicates" }).click();
  await expect(page).toHaveURL(/tab=installed/);
  await expect(page.getByRole("heading", { name: "Duplicates" })).toBeVisible();
});
