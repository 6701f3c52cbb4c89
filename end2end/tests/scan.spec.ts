import { test, expect, Page } from "@playwright/test";
import { mkdirSync, writeFileSync, rmSync, existsSync } from "node:fs";
import { join } from "node:path";

// Files placed on the volume by other tools: scan, identify, adopt; missing models.
// scripts/e2e.sh passes the server's MODELS_DIR and its extra scan root (SCAN_DIR).
test.describe.configure({ mode: "serial" });

const MODELS_DIR = process.env.MODELS_DIR ?? "";
const SCAN_DIR = process.env.SCAN_DIR ?? "";
const shot = (page: Page, name: string) => page.screenshot({ path: `screenshots/${name}.png`, fullPage: true });

/** A safetensors file of F16 zeros with these tensor names and shapes. */
function safetensors(tensors: Record<string, number[]>, metadata?: Record<string, string>): Buffer {
  const header: Record<string, object> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const [name, shape] of Object.entries(tensors)) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 2;
    header[name] = { dtype: "F16", shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const out = Buffer.alloc(8 + json.length + offset);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  out.write(json, 8, "utf8");
  return out;
}

const kohyaFluxLora = (metadata?: Record<string, string>) =>
  safetensors({
    "lora_unet_double_blocks_0_img_attn_proj.lora_down.weight": [4, 3072],
    "lora_unet_double_blocks_0_img_attn_proj.lora_up.weight": [3072, 4],
  }, metadata);

function place(path: string, bytes: Buffer) {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, bytes);
}

async function open(page: Page, path: string) {
  page.on("pageerror", (e) => console.log("pageerror:", e.message));
  page.on("console", (m) => m.type() === "error" && console.log("console:", m.text()));
  await page.goto(path);
  await expect(page.locator("[data-hydrated=true]")).toBeVisible();
}

test("adopt files found on the volume from the Installed tab", async ({ page }) => {
  expect(MODELS_DIR, "scripts/e2e.sh sets MODELS_DIR").not.toBe("");
  const comfyLora = join(SCAN_DIR, "loras", "comfy_style.safetensors");
  const strayVae = join(MODELS_DIR, "stray", "flux_ae.safetensors");
  place(comfyLora, kohyaFluxLora({ ss_tag_frequency: JSON.stringify({ "1_zxc style": { "zxc style": 1 } }) }));
  place(strayVae, safetensors({ "decoder.conv_in.weight": [512, 16, 3, 3], "encoder.conv_in.weight": [128, 3, 3, 3] }));

  await open(page, "/?tab=installed");
  await page.getByRole("button", { name: "Scan the volume" }).click();
  const lora = page.locator(`.untracked[data-path="${comfyLora}"]`);
  const vae = page.locator(`.untracked[data-path="${strayVae}"]`);
  await expect(lora).toContainText("LoRA · FLUX.1 (kohya)");
  await expect(lora).toContainText("referenced from an extra folder");
  await expect(vae).toContainText("VAE · FLUX.1");
  await expect(page.locator(".volume-scan__progress")).toContainText("untracked");
  await expect(lora).toContainText("sha256");
  // The evidence behind the identification is one click away.
  await lora.locator(".identification summary").click();
  await expect(lora.locator(".identification__evidence")).toContainText("lora_unet_double_blocks_0_img_attn_proj");
  await shot(page, "20-volume-scan");

  await lora.getByRole("button", { name: "Adopt" }).click();
  await expect(lora).toHaveCount(0);
  const adopted = page.locator(".model-card", { has: page.getByRole("heading", { name: "comfy_style", exact: true }) });
  await expect(adopted).toContainText("LoRA");
  await expect(adopted).toContainText(comfyLora);
  // Its trigger word, from the file's own metadata, with a copy button and a way to Export.
  await expect(adopted.locator(".trigger-words")).toContainText("zxc style");
  await expect(adopted.getByRole("button", { name: /Copy the trigger words/ })).toBeVisible();
  await adopted.getByRole("link", { name: "Use in Export" }).click();
  await expect(page).toHaveURL(/\/export\?trigger=zxc/);
  await expect(page.locator("[data-hydrated=true]")).toBeVisible();
  await expect(page.getByLabel("Trigger word")).toHaveValue("zxc style");
  await open(page, "/?tab=installed");
  expect(existsSync(comfyLora), "a referenced file stays where it is").toBe(true);

  // Moved into its folder on request.
  await vae.getByLabel("Move into its folder").check();
  await vae.getByRole("button", { name: "Adopt" }).click();
  await expect(vae).toHaveCount(0);
  const vaeCard = page.locator(".model-card", { has: page.getByRole("heading", { name: "flux_ae", exact: true }) });
  await expect(vaeCard).toContainText("vae/flux_ae.safetensors");
  expect(existsSync(strayVae)).toBe(false);
  await shot(page, "21-adopted");

  // Its file disappears: the model shows as missing, never installed, and can be forgotten.
  rmSync(join(MODELS_DIR, "vae", "flux_ae.safetensors"));
  await open(page, "/?tab=installed");
  const missing = page.locator(".model-card--missing", { hasText: "flux_ae" });
  await expect(missing).toContainText("Files missing");
  await expect(page.locator("[data-installed-id]", { hasText: "flux_ae" })).toHaveCount(0);
  await shot(page, "22-missing");
  await missing.getByRole("button", { name: "Forget" }).click();
  await expect(missing).toHaveCount(0);
});

test("a LoRA uploaded as a base model shows a warning on its card", async ({ page, request }) => {
  const r = await request.post("/api/models/upload", {
    multipart: {
      file: { name: "not_a_base.safetensors", mimeType: "application/octet-stream", buffer: kohyaFluxLora() },
      name: "Not a base model",
      type: "base_model",
      family: "flux",
    },
  });
  expect(r.status(), await r.text()).toBe(201);
  await open(page, "/?tab=installed");
  const card = page.locator("[data-installed-id]", { has: page.getByRole("heading", { name: "Not a base model", exact: true }) });
  await expect(card.locator(".identification__warnings")).toContainText("looks like a LoRA");
  await shot(page, "23-identification-warning");
});

test("identical files are flagged and deduplicated into hard links", async ({ page, request }) => {
  const bytes = safetensors({ "decoder.conv_in.weight": [512, 4, 3, 3], "encoder.conv_in.weight": [128, 3, 3, 3] });
  for (const name of ["sdxl_vae.safetensors", "sdxl_vae_copy.safetensors"]) {
    const r = await request.post("/api/models/upload", {
      multipart: { file: { name, mimeType: "application/octet-stream", buffer: bytes }, type: "vae", family: "sdxl" },
    });
    expect(r.status(), await r.text()).toBe(201);
  }
  await open(page, "/?tab=installed");
  const duplicates = page.getByRole("region", { name: "Duplicates" });
  await expect(duplicates).toContainText("vae/sdxl_vae_copy.safetensors");
  await duplicates.getByRole("button", { name: /Deduplicate/ }).click();
  await expect(duplicates.getByRole("status")).toContainText("replaced by hard links");
  await expect(duplicates).toContainText("saved by hard links");
  await shot(page, "24-deduplicated");
});

test("a scanned copy of an installed file is flagged", async ({ page }) => {
  place(join(SCAN_DIR, "loras", "copy_again.safetensors"), kohyaFluxLora({ ss_tag_frequency: JSON.stringify({ "1_zxc style": { "zxc style": 1 } }) }));
  await open(page, "/?tab=installed");
  await page.getByRole("button", { name: "Scan the volume" }).click();
  const copy = page.locator(`.untracked[data-path="${join(SCAN_DIR, "loras", "copy_again.safetensors")}"]`);
  await expect(copy.locator(".untracked__duplicate")).toContainText("Same file as the installed model comfy_style");
});
