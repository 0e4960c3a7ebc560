// GraphiQL as a developer on a plant network with no internet opens it: every request that leaves the
// server's own origin is refused, the page must still load (React and GraphiQL come from the binary,
// checked by their integrity hashes under a strict CSP), run a query and show the answer. Env: URL, OUT.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';

const { URL: base, OUT = 'out' } = process.env;
mkdirSync(OUT, { recursive: true });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
  const page = await context.newPage();
  const origin = new URL(base).origin;
  const outside = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(origin)) return route.continue();
    outside.push(url);
    return route.abort();
  });
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  const res = await page.goto(`${base}/graphql`);
  assert.match(res.headers()['content-security-policy'], /script-src 'self'/);
  await page.locator('.graphiql-container').waitFor({ timeout: 30000 });
  await page.locator('.graphiql-execute-button').click();
  await page.locator('.result-window').getByText('totalCount').waitFor({ timeout: 15000 });
  const result = await page.locator('.result-window').innerText();
  assert.match(result, /"techniques"/, result);
  await page.screenshot({ path: `${OUT}/graphiql.png` });
  assert.deepEqual(outside, [], 'nothing was fetched from outside the server');
  assert.deepEqual(problems, [], 'no errors in the page');
  console.log('graphiql: loaded offline and ran a query');
} finally {
  await browser.close();
}
