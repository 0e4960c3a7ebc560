// Signing in with the company account, in Debian's chromium at 360×800: a worker signs in through the
// provider's own login page (web-tests/oidc/provider.mjs) and submits a proposal with no command run on
// the server; an enterprise admin signs in the same way, finds the worker on the people screen and
// deactivates them — the worker's page is signed out at its next request; the admin makes a read-only
// token and reads the audit log, then signs out (here and at the provider). Env: URL, OUT.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';

const { URL: base, OUT = 'out' } = process.env;
mkdirSync(OUT, { recursive: true });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
let step = 0;
async function shot(page, name) {
  step += 1;
  await page.screenshot({ path: `${OUT}/signin-${String(step).padStart(2, '0')}-${name}.png`, fullPage: true });
}

async function signIn(login, greeting) {
  const context = await browser.newContext({ viewport: { width: 360, height: 800 }, locale: 'zh-CN' });
  const page = await context.newPage();
  page.on('pageerror', (e) => { throw e; });
  await page.goto(`${base}/#/login`);
  await page.getByRole('link', { name: '用企业账号登录' }).click();
  // The provider's login page.
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('任意密码');
  if (step === 0) await shot(page, 'provider-login');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('heading', { name: greeting }).waitFor();
  return page;
}

try {
  const worker = await signIn('ma', '你好，马师傅');
  assert.ok(!(await worker.locator('main').innerText()).includes('null'), 'the home screen prints no null');
  assert.match(await worker.locator('#who').innerText(), /马师傅（职工）/);
  await shot(worker, 'worker-home');
  await worker.goto(`${base}/#/submit`);
  await worker.getByLabel('标题').fill('空压站夜间停机一台');
  await worker.getByLabel('现状与改进办法').fill('夜班用气量下降，三台空压机可停一台，按压力联锁自动启停。');
  await worker.getByLabel('类别').selectOption('ENERGY_SAVING');
  await worker.getByRole('button', { name: '提交建议' }).click();
  await worker.getByText('已提交，谢谢').waitFor();
  await worker.goto(`${base}/#/mine`);
  await worker.getByText('空压站夜间停机一台').first().waitFor();
  await shot(worker, 'worker-mine');

  const admin = await signIn('wu', '你好，吴主任');
  await admin.goto(`${base}/#/people`);
  const row = admin.locator('tr[data-person="马师傅"]');
  await row.waitFor();
  await shot(admin, 'people');
  await row.getByRole('button', { name: '停用' }).click();
  await admin.locator('tr.inactive[data-person="马师傅"]').waitFor();
  // The worker's next request finds the session ended.
  await worker.goto(`${base}/#/`);
  await worker.reload();
  await worker.getByRole('heading', { name: '职工节能创新' }).waitFor();
  assert.match(await worker.locator('#who').innerText(), /未登录/);

  await admin.goto(`${base}/#/tokens`);
  await admin.getByLabel('用途').fill('能耗看板同步');
  await admin.getByRole('button', { name: '创建令牌' }).click();
  const secret = await admin.locator('code[data-secret]').innerText();
  assert.match(secret, /^glt_/);
  await admin.locator('li[data-token="能耗看板同步"]').waitFor();
  await shot(admin, 'tokens');
  const r = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
    body: JSON.stringify({ query: '{ viewer { name } }' }),
  });
  assert.equal((await r.json()).data.viewer.name, '吴主任');

  await admin.goto(`${base}/#/audit`);
  await admin.locator('li[data-action="USER_DEACTIVATED"]', { hasText: '吴主任 停用 马师傅' }).waitFor();
  await admin.locator('li[data-action="USER_PROVISIONED"]', { hasText: '马师傅' }).waitFor();
  await shot(admin, 'audit');

  await admin.goto(`${base}/#/login`);
  await admin.getByRole('button', { name: '退出登录' }).click();
  // On to the provider's own sign-out page.
  await admin.waitForURL((u) => u.pathname.startsWith('/session/end'));
  await shot(admin, 'provider-logout');
  console.log(`sign-in journey: ${step} screens in ${OUT}`);
  console.log('1 passed, 0 failed');
} catch (e) {
  for (const context of browser.contexts()) {
    for (const page of context.pages()) await page.screenshot({ path: `${OUT}/signin-failed-${step}.png`, fullPage: true }).catch(() => {});
  }
  throw e;
} finally {
  await browser.close();
}
