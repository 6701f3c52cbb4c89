import { test, expect, Page } from "@playwright/test";

// Access control in the browser (scripts/e2e.sh starts the servers): AUTH_URL runs with
// MODELS_AUTH_TOKEN=AUTH_TOKEN, OPEN_URL listens on every interface without a token.
const AUTH_URL = required("AUTH_URL");
const AUTH_TOKEN = required("AUTH_TOKEN");
const OPEN_URL = required("OPEN_URL");
const BANNER = "Anyone who can reach this port can manage your models";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the browser tests through scripts/e2e.sh`);
  return value;
}

const shot = (page: Page, name: string) => page.screenshot({ path: `screenshots/${name}.png`, fullPage: true });

async function logIn(page: Page, token: string) {
  await page.getByLabel("Access token").fill(token);
  await page.getByRole("button", { name: "Log in" }).click();
}

test("a page asks for the token, refuses a wrong one and opens with the right one", async ({ page }) => {
  await page.goto(`${AUTH_URL}/export`);
  await expect(page).toHaveURL(`${AUTH_URL}/login?next=%2Fexport`);
  await shot(page, "auth-login");

  await logIn(page, "not-the-right-token");
  await expect(page.getByRole("alert")).toContainText("not the token this server was started with");
  await expect(page.getByLabel("Access token")).toHaveValue("");
  await expect(page.locator("body")).not.toContainText("not-the-right-token");

  await logIn(page, AUTH_TOKEN);
  await expect(page).toHaveURL(`${AUTH_URL}/export`);
  await expect(page.locator("[data-hydrated=true]")).toBeVisible();
  await expect(page.getByRole("heading", { name: "Export", exact: false }).first()).toBeVisible();
  await expect(page.getByRole("button", { name: "Log out" })).toBeVisible();
  await expect(page.locator("body")).not.toContainText(BANNER);

  const [cookie] = await page.context().cookies();
  expect(cookie.name).toBe("mm_session");
  expect(cookie.httpOnly).toBe(true);
  expect(cookie.sameSite).toBe("Strict");
  expect(cookie.value).not.toContain(AUTH_TOKEN);

  // The page's server functions and the API work with the session.
  await page.getByRole("link", { name: "Models" }).click();
  await expect(page.locator(".model-card").first()).toBeVisible();
  const r = await page.request.get(`${AUTH_URL}/api/models`);
  expect(r.status()).toBe(200);
});

test("log out ends the session", async ({ page }) => {
  await page.goto(`${AUTH_URL}/`);
  await logIn(page, AUTH_TOKEN);
  await expect(page.getByRole("button", { name: "Log out" })).toBeVisible();
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(`${AUTH_URL}/login`);
  await page.goto(`${AUTH_URL}/`);
  await expect(page).toHaveURL(`${AUTH_URL}/login?next=%2F`);
  expect((await page.request.get(`${AUTH_URL}/api/models`)).status()).toBe(401);
});

test("API clients need the bearer token", async ({ playwright }) => {
  const api = await playwright.request.newContext();
  expect((await api.get(`${AUTH_URL}/api/models`)).status()).toBe(401);
  const wrong = await api.get(`${AUTH_URL}/api/models`, { headers: { Authorization: "Bearer wrong-token-123" } });
  expect(wrong.status()).toBe(401);
  const right = await api.get(`${AUTH_URL}/api/models`, { headers: { Authorization: `Bearer ${AUTH_TOKEN}` } });
  expect(right.status()).toBe(200);
  expect((await right.json()).models.length).toBeGreaterThan(0);
  expect((await api.get(`${AUTH_URL}/healthz`)).status()).toBe(200);
  await api.dispose();
});

test("a server open to the network without a token shows the warning banner", async ({ page }) => {
  await page.goto(`${OPEN_URL}/`);
  await expect(page.locator("[data-hydrated=true]")).toBeVisible();
  await expect(page.getByRole("alert").filter({ hasText: BANNER })).toBeVisible();
  await expect(page.getByRole("button", { name: "Log out" })).toHaveCount(0);
  await shot(page, "auth-open-banner");
});
