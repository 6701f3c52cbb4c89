import { test, expect, Page } from "@playwright/test";

const shot = (page: Page, name: string) =>
  page.screenshot({ path: `screenshots/${name}.png`, fullPage: true });

test("the Models page renders on the server and filters through a server function once hydrated", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));

  await page.goto("/");
  await expect(page).toHaveTitle("Model Manager");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Models");
  // Server-rendered catalog: all eleven built-in models.
  await expect(page.locator(".model-card")).toHaveCount(11);
  await expect(page.getByText("Flux.1 Dev")).toBeVisible();

  await expect(page.locator("[data-hydrated=true]")).toBeVisible();

  // A click re-queries the server function: only Flux models remain.
  await page.getByRole("button", { name: "Flux", exact: true }).click();
  await expect(page.locator(".model-card")).toHaveCount(4);
  await expect(page.getByText("SDXL 1.0 Base")).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Flux", exact: true })).toHaveAttribute("aria-pressed", "true");
  await shot(page, "models-filtered-flux");

  await page.getByRole("button", { name: "SDXL", exact: true }).click();
  await expect(page.locator(".model-card")).toHaveCount(3);
  await expect(page.getByText("SDXL Turbo")).toBeVisible();

  expect(errors).toEqual([]);
});
