/**
 * The operator pages in real headless Chromium: the Bull Board queue dashboard behind ADMIN_TOKEN (refused
 * without it, rendered with every queue with it, under its CSP) and the Swagger UI API reference at /docs
 * (no inline script, no CDN). Screenshots: test-results/dashboard.png, test-results/docs.png.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJob, waitForJob } from '../support/http.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { CHROMIUM_PATH, HEADLESS_ARGS, hasChromium } from './browser.ts';

const RESULTS = join(import.meta.dirname, '..', '..', 'test-results');
const TOKEN = 'dashboard-test-token';

/** Console errors and CSP violations a page reports. */
function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return problems;
}

describe.skipIf(!hasChromium)('operator pages in Chromium', () => {
  let stack: Stack;
  let browser: Browser;

  beforeAll(async () => {
    stack = await startStack({ env: { ADMIN_TOKEN: TOKEN } });
    const jobs = await Promise.all([
      postJob(stack.url, { text: 'How late are you open?' }),
      postJob(stack.url, { text: 'Read this aloud', pipeline: 'speak' }),
    ]);
    for (const j of jobs) await waitForJob(stack.url, j.body.id);
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: HEADLESS_ARGS,
    });
    await mkdir(RESULTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('refuses the dashboard without the admin token, or with a wrong one', async () => {
    for (const httpCredentials of [undefined, { username: 'operator', password: 'wrong' }]) {
      const context = await browser.newContext(httpCredentials ? { httpCredentials } : {});
      context.setDefaultTimeout(120_000); // page waits follow jobs that run real recognition
      const page = await context.newPage();
      // Headless Chromium answers a Basic challenge it cannot satisfy by abandoning the navigation.
      const outcome = await page.goto(`${stack.url}/admin/queues`).then(
        (res) => `HTTP ${res?.status()}`,
        (err: Error) => err.message,
      );
      expect(outcome).toMatch(/HTTP 401|ERR_INVALID_AUTH_CREDENTIALS/);
      const direct = await context.request.get(`${stack.url}/admin/queues/api/queues`);
      expect(direct.status()).toBe(401);
      await context.close();
    }
  });

  it('renders every queue once logged in with basic auth (any user, the token as password)', async () => {
    const context = await browser.newContext({
      httpCredentials: { username: 'operator', password: TOKEN },
      viewport: { width: 1280, height: 900 },
    });
    context.setDefaultTimeout(120_000); // page waits follow jobs that run real recognition
    const page = await context.newPage();
    const problems = watchProblems(page);
    const res = await page.goto(`${stack.url}/admin/queues`);
    expect(res?.status()).toBe(200);
    for (const name of ['transcribe', 'chat', 'speak', 'summarize', 'deliver', 'maintenance'])
      await page.getByText(name, { exact: true }).first().waitFor({ timeout: 120_000 });
    await page.waitForLoadState('networkidle');
    await page.screenshot({ path: join(RESULTS, 'dashboard.png'), fullPage: true });
    // The page's own assets all load under its CSP (an external font stylesheet may be refused offline).
    expect(problems.filter((p) => !/fonts\.googleapis/.test(p))).toEqual([]);
    await context.close();
  });

  it('renders the API reference at /docs from the OpenAPI document, under the strict CSP', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(120_000); // page waits follow jobs that run real recognition
    const page = await context.newPage();
    const problems = watchProblems(page);
    await page.goto(`${stack.url}/docs`);
    await page.locator('.swagger-ui .info .title').getByText('voicebot API').waitFor({ timeout: 120_000 });
    await page.locator('.opblock-summary-path', { hasText: '/v1/jobs/{id}' }).first().waitFor();
    await page.screenshot({ path: join(RESULTS, 'docs.png') });
    expect(problems).toEqual([]);
    await context.close();
  });
});
