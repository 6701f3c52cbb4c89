import { test, expect, Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";

// The Add tab's search of Hugging Face and CivitAI against the fake hub (scripts/e2e.sh):
// results, the pickers, add-and-download, the site's errors, no request per keystroke.
test.describe.configure({ mode: "serial" });

const shot = (page: Page, name: string) => page.screenshot({ path: `screenshots/${name}.png`, fullPage: true });

async function open(page: Page) {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto("/?tab=add");
  await expect(page.locator("[data-hydrated=true]")).toBeVisible();
  return errors;
}

function job(page: Page, name: string) {
  return page.locator(".downloads .job", { hasText: name });
}

async function search(page: Page, source: "hf" | "civitai", text: string) {
  await page.locator("#search-source").selectOption(source);
  await page.locator("#search-q").fill(text);
  await page.getByRole("button", { name: "Search", exact: true }).click();
}

test("search the fake Hub, pick files with sizes, add and download", async ({ page }) => {
  const errors = await open(page);
  let searches = 0;
  page.on("request", (r) => {
    if (r.url().includes("/api/search_models")) searches++;
  });
  await page.locator("#search-q").pressSequentially("ink-flux", { delay: 30 });
  expect(searches, "no request while typing").toBe(0);
  await page.getByRole("button", { name: "Search", exact: true }).click();
  const result = page.locator(".search-result", { hasText: "ink-flux-lora-e2e" });
  await expect(result).toBeVisible();
  expect(searches).toBe(1);
  await expect(result).toContainText("Hugging Face · by acme");
  await expect(result).toContainText("LoRA");
  await expect(result).toContainText("black-forest-labs/FLUX.1-dev");
  await expect(result).toContainText(/downloads · \d+ likes · licence: apache-2.0/);

  await result.getByRole("button", { name: "Choose files" }).click();
  const weights = result.getByRole("checkbox", { name: /ink-flux-lora-e2e\.safetensors · 2 MB/ });
  await expect(weights).toBeChecked();
  await expect(result.getByRole("checkbox", { name: /README\.md/ })).not.toBeChecked();
  await expect(result.getByLabel("Family")).toHaveValue("flux");
  await expect(result.getByLabel("Type")).toHaveValue("lora");
  await expect(result).toContainText("1 file picked, 2 MB");
  await shot(page, "search-01-hub-files");
  await result.getByRole("button", { name: "Add and download" }).click();
  await expect(result.getByText(/Added ink-flux-lora-e2e and started its download/)).toBeVisible();
  await expect(job(page, "ink-flux-lora-e2e").locator(".job__status")).toContainText("Installed", { timeout: 30_000 });
  // The same source twice says it already exists.
  await result.getByRole("button", { name: "Add", exact: true }).click();
  await expect(result.getByRole("alert")).toContainText("already");
  expect(errors).toEqual([]);
});

test("search the fake CivitAI: previews, NSFW hidden, pick a version, add and download", async ({ page }) => {
  await open(page);
  await search(page, "civitai", "ink");
  const result = page.locator(".search-result", { hasText: "Ink Sketch" });
  await expect(result).toBeVisible();
  await expect(page.locator(".search-result", { hasText: "Ink After Dark" })).toHaveCount(0);
  await expect(page.getByText("1 result hidden as not safe for work")).toBeVisible();
  const preview = result.locator("img.search-result__preview");
  await expect(preview).toHaveAttribute("src", /\/img\/5000\.png$/);
  await expect.poll(() => preview.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(1);
  await expect(result).toContainText("Flux.1 D");
  await expect(result).toContainText("licence: commercial use: Image");

  await result.getByRole("button", { name: "Choose version" }).click();
  await expect(result.getByRole("radio", { name: /v1 · Flux\.1 D/ })).toBeChecked();
  await expect(result).toContainText("ink_sketch.safetensors · 2 MB");
  await expect(result).toContainText("Trigger words: ink_sketch");
  await shot(page, "search-02-civitai-version");
  const axe = await new AxeBuilder({ page }).include(".search").analyze();
  expect(axe.violations.map((v) => `${v.id}: ${v.help}`)).toEqual([]);
  await result.getByRole("button", { name: "Add and download" }).click();
  await expect(result.getByText(/Added Ink Sketch v1 and started its download/)).toBeVisible();
  await expect(job(page, "Ink Sketch v1").locator(".job__status")).toContainText("Installed", { timeout: 30_000 });
});

test("a site that refuses says why, and paging adds results", async ({ page }) => {
  await open(page);
  await search(page, "hf", "ratelimited");
  await expect(page.locator(".search").getByRole("alert")).toContainText("rate limiting");
  await search(page, "civitai", "broken");
  await expect(page.locator(".search").getByRole("alert")).toContainText("failing (it answered 500)");
  await shot(page, "search-03-error");
  // Every Hub repo of the fake, 20 a page: "More results" adds the rest.
  await search(page, "hf", "");
  await expect(page.locator(".search-result")).toHaveCount(20);
  await page.getByRole("button", { name: "More results" }).click();
  await expect.poll(() => page.locator(".search-result").count()).toBeGreaterThan(20);
});

test("catalog cards show exact sizes from the Hub, and the approximate size until then", async ({ page }) => {
  await page.goto("/?q=z-image");
  await expect(page.locator("[data-hydrated=true]")).toBeVisible();
  const card = (name: string) =>
    page.locator(".model-card", { has: page.getByRole("heading", { name, exact: true }) });
  // The fake Hub lists the adapter's repo: its exact size came from the tree API at start.
  const adapter = card("Z-Image Turbo Training Adapter");
  await expect(adapter.locator(".model-card__meta")).toHaveText(/^\d+ MB/);
  await expect(adapter).toHaveAttribute("data-size", /^\d+$/);
  // De-Turbo's repo is not on the fake Hub: the design's estimate, marked as one.
  await expect(card("Z-Image De-Turbo v1 BF16").locator(".model-card__meta")).toHaveText(/^≈ 12\.3 GB/);
  await expect(page.getByText("size unknown")).toHaveCount(0);
  await shot(page, "search-04-sizes");
});

test("the Add form lists a repo's files with sizes to pick from", async ({ page }) => {
  await open(page);
  await page.getByLabel("Repository").fill("acme/ink-flux-lora-e2e");
  await page.getByRole("button", { name: "List the repo's files" }).click();
  const files = page.locator(".repo-files");
  await expect(files.getByRole("checkbox", { name: /ink-flux-lora-e2e\.safetensors · 2 MB/ })).toBeChecked();
  await expect(page.getByLabel("Files (one per line)")).toHaveValue("ink-flux-lora-e2e.safetensors");
  await files.getByRole("checkbox", { name: /README\.md/ }).check();
  await expect(page.getByLabel("Files (one per line)")).toHaveValue("ink-flux-lora-e2e.safetensors\nREADME.md");
  await page.getByLabel("Repository").fill("acme/no-such-repo");
  await page.getByRole("button", { name: "List the repo's files" }).click();
  await expect(page.locator(".field__error")).toContainText("no repo acme/no-such-repo");
  await shot(page, "search-05-add-form-files");
});
