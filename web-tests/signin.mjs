// Signs a running chromium (remote debugging on $CDP) in to $URL with $TOKEN, so that Lighthouse audits the
// pages as a signed-in worker sees them (scripts/lighthouse).
import { chromium } from 'playwright-core';

const browser = await chromium.connectOverCDP(process.env.CDP);
const context = browser.contexts()[0];
const page = await context.newPage();
await page.goto(`${process.env.URL}/#/login`);
await page.evaluate((t) => localStorage.setItem('greenline-token', t), process.env.TOKEN);
await page.close();
await browser.close();
