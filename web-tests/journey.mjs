// The journey through the shop-floor page, in Debian's chromium at 360×800: a worker submits with a photo
// (and a retry after a dropped connection creates no second proposal), the lead assigns two reviewers, both
// score on the blind scorecard, the lead accepts, search finds the proposal, the impact page draws its
// charts; the lead posts a challenge that the worker answers; a small plant asks for help, sees the catalogue's
// answer while it types, and another enterprise's studio takes it on; the author downloads a signed receipt,
// appeals a rejection that the overseer finds against the scores, and the lead reopens it; a change of weights
// waits for the overseer's approval; the worker's green-skill record prints. A screenshot of each screen goes to $OUT.
// Env: URL, OUT, WORKER, REVIEWER1, REVIEWER2, REVIEWER3, LEAD, ADMIN, SMALL_PLANT, OTHER_ADMIN, OTHER_LEAD, OVERSEER, PLATFORM.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';

const { URL: base, OUT = 'out' } = process.env;
mkdirSync(OUT, { recursive: true });
// A 2×2 PNG: the server checks the first bytes, not the name.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGNgYPj/n4GBgYGBgYGBAQBrAwP9s3dGagAAAABJRU5ErkJggg==',
  'base64',
);
const TITLE = '转炉烟气余热回收发电';

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
let step = 0;
async function shot(page, name) {
  step += 1;
  await page.screenshot({ path: `${OUT}/${String(step).padStart(2, '0')}-${name}.png`, fullPage: true });
}

async function signIn(token) {
  const context = await browser.newContext({ viewport: { width: 360, height: 800 }, locale: 'zh-CN' });
  const page = await context.newPage();
  page.on('pageerror', (e) => { throw e; });
  await page.goto(`${base}/#/login`);
  await page.getByLabel('访问令牌').fill(token);
  await page.getByRole('button', { name: '登录' }).click();
  await page.getByRole('heading', { name: /你好/ }).waitFor();
  return page;
}

try {
  // Worker: one step, with a photo from the camera.
  const worker = await signIn(process.env.WORKER);
  assert.ok(!(await worker.locator('main').innerText()).includes('null'), 'the home screen prints no null');
  await shot(worker, 'home');
  await worker.goto(`${base}/#/submit`);
  await worker.getByLabel('标题').fill(TITLE);
  await worker.getByLabel('现状与改进办法').fill('转炉烟气余热直接放散，建议增设余热锅炉回收蒸汽用于发电。');
  await worker.getByLabel('类别').selectOption('ENERGY_SAVING');
  await worker.getByLabel('电（千瓦时）').fill('200000');
  await worker.getByLabel('金额（元）').fill('120000');
  await worker.getByLabel('现场照片').setInputFiles({ name: '现场.png', mimeType: 'image/png', buffer: PNG });
  await shot(worker, 'submit-form');

  // The connection drops after the server took the submission: the page says so, the retry finds the same one.
  let dropped = false;
  await worker.route('**/graphql', async (route) => {
    if (!dropped && (route.request().postData() || '').includes('submitProposal')) {
      dropped = true;
      await route.fetch();
      await route.abort('connectionreset');
    } else {
      await route.continue();
    }
  });
  await worker.getByRole('button', { name: '提交建议' }).click();
  await worker.getByRole('alert').filter({ hasText: '网络连接中断' }).waitFor();
  await worker.unroute('**/graphql');
  await worker.getByRole('button', { name: '提交建议' }).click();
  await worker.getByText('已提交，谢谢').waitFor();
  await worker.locator('img[alt="现场.png"]').waitFor();
  const id = decodeURIComponent(worker.url().split('#/p/')[1].split('?')[0]);
  await shot(worker, 'submitted');
  await worker.goto(`${base}/#/mine`);
  await worker.getByRole('heading', { name: '共 1 条' }).waitFor();

  // Lead: assign the studio's two reviewers.
  const lead = await signIn(process.env.LEAD);
  await lead.goto(`${base}/#/manage`);
  await lead.getByRole('link', { name: TITLE }).click();
  await lead.locator('input[name=reviewer]').nth(1).waitFor();
  for (const box of await lead.locator('input[name=reviewer]').all()) await box.check();
  await shot(lead, 'assign');
  await lead.getByRole('button', { name: '指派评审' }).click();
  await lead.locator('.badge.status', { hasText: '评审中' }).waitFor();

  // Two reviewers score on the blind scorecard.
  for (const [n, token] of [[1, process.env.REVIEWER1], [2, process.env.REVIEWER2]]) {
    const reviewer = await signIn(token);
    await reviewer.goto(`${base}/#/review`);
    await reviewer.getByRole('link', { name: '打分' }).first().click();
    await reviewer.getByText('盲评').waitFor();
    assert.equal(await reviewer.getByText('王师傅').count(), 0, 'blind: no author name on the scorecard');
    for (const input of await reviewer.locator('input[type=number]').all()) await input.fill(String(7 + n));
    await reviewer.getByLabel('评审意见').fill(n === 1 ? '技术成熟，效益明显。' : '建议先在2号转炉试点。');
    if (n === 1) await shot(reviewer, 'scorecard');
    await reviewer.getByRole('button', { name: '提交评审' }).click();
    await reviewer.getByRole('heading', { name: '评审已提交' }).waitFor();
    await reviewer.context().close();
  }

  // The lead accepts, with a reason.
  await lead.goto(`${base}/#/p/${encodeURIComponent(id)}`);
  await lead.reload();
  await lead.getByLabel('决定').selectOption('ACCEPT');
  await lead.getByLabel('理由').fill('节能效果显著，同意试点。');
  await lead.getByRole('button', { name: '作出决定' }).click();
  await lead.locator('.badge.status', { hasText: '已采纳' }).waitFor();
  await lead.getByText('评审明细').waitFor();
  await shot(lead, 'accepted');

  // The author's bell rings without a reload (the notifications subscription over graphql-transport-ws);
  // the notification opens the proposal and is then read.
  await worker.locator('#bell .count', { hasText: '1' }).waitFor();
  await worker.locator('.toast', { hasText: '提案被采纳' }).waitFor();
  await worker.locator('#bell').click();
  await worker.getByRole('heading', { name: '通知' }).waitFor();
  await worker.locator('[data-kind=PROPOSAL_ACCEPTED]').waitFor();
  assert.ok((await worker.locator('[data-kind=PROPOSAL_ACCEPTED]').innerText()).includes(TITLE), 'the notification names the proposal');
  await shot(worker, 'inbox');
  await worker.locator('[data-kind=PROPOSAL_ACCEPTED] a').click();
  await worker.waitForURL(/#\/p\//);
  await worker.locator('.badge.status', { hasText: '已采纳' }).waitFor();
  await worker.waitForFunction(() => document.querySelector('#bell .count').textContent === '');
  await worker.goto(`${base}/#/settings`);
  await worker.getByLabel('评审即将到期').waitFor();
  await worker.getByLabel('提案入选行业目录').selectOption('DIGEST');
  await worker.getByRole('button', { name: '保存' }).click();
  await worker.getByText('已保存。').waitFor();
  await shot(worker, 'notification-settings');

  // The enterprise admin points the enterprise's notifications at a WeCom group robot.
  const admin = await signIn(process.env.ADMIN);
  await admin.goto(`${base}/#/webhooks`);
  await admin.getByLabel('名称').fill('二车间节能群');
  await admin.getByLabel('地址').fill('http://127.0.0.1:9/cgi-bin/webhook/send?key=robot-key');
  await admin.getByLabel('格式').selectOption('WECOM_ROBOT');
  await admin.getByRole('button', { name: '添加推送地址' }).click();
  await admin.locator('[data-webhook="二车间节能群"]').waitFor();
  const adminText = await admin.locator('main').innerText();
  assert.ok(!adminText.includes('robot-key'), 'the robot key is not shown back');
  assert.ok(!adminText.includes('null'), 'the webhooks screen prints no null');
  await shot(admin, 'webhooks');
  await admin.context().close();

  // Search finds it, highlighted; the impact page draws its charts.
  await lead.goto(`${base}/#/search?q=${encodeURIComponent('余热')}`);
  await lead.getByRole('link', { name: TITLE }).waitFor();
  assert.ok((await lead.locator('.snippet em').count()) > 0, 'a highlighted snippet');
  await shot(lead, 'search');
  await lead.goto(`${base}/#/impact`);
  await lead.locator('svg.chart rect').first().waitFor();
  assert.ok((await lead.locator('svg.chart').count()) >= 3, 'charts by month, enterprise and category');
  await shot(lead, 'impact');

  // A co-author is invited, not named: the lead sees the invitation on the home screen and accepts.
  const api = async (token, query, variables) => {
    const r = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = await r.json();
    assert.ok(!body.errors, JSON.stringify(body));
    return body.data;
  };
  const leadId = (await api(process.env.LEAD, '{ viewer { id } }')).viewer.id;
  await api(process.env.WORKER, 'mutation($input: CreateProposalInput!) { createProposal(input: $input) { userErrors { code } } }',
    { input: { proposal: { title: '空压机余热供暖', body: '空压机余热回收用于冬季供暖。', coAuthorIds: [leadId] } } });
  await lead.goto(`${base}/#/`);
  const invitation = lead.locator('[data-screen=invitations]');
  await invitation.getByText('空压机余热供暖').waitFor();
  await shot(lead, 'invitation');
  await invitation.getByRole('button', { name: '接受' }).click();
  await lead.getByText('作者：王师傅、周劳模').waitFor();
  await lead.getByText('合作者加入').waitFor();
  await shot(lead, 'joined');
  // Another account of the same idea: the hints say why it looks like one already there; the lead closes
  // it as a duplicate of that one, and the page links the two.
  await worker.goto(`${base}/#/submit`);
  await worker.getByLabel('标题').fill('转炉烟气的热量浪费了');
  await worker.getByLabel('现状与改进办法').fill('转爐煙氣直接放散太可惜，提议加装余热锅炉回收蒸汽发电。');
  await worker.locator('.similar li', { hasText: TITLE }).waitFor();
  assert.ok((await worker.locator('.similar .snippet em').count()) > 0, 'the shared words are marked');
  await worker.getByText('相同的词').first().waitFor();
  await shot(worker, 'duplicate-hint');
  await worker.getByLabel('类别').selectOption('ENERGY_SAVING');
  await worker.getByRole('button', { name: '提交建议' }).click();
  await worker.getByText('已提交，谢谢').waitFor();
  const dup = decodeURIComponent(worker.url().split('#/p/')[1].split('?')[0]);
  await lead.goto(`${base}/#/p/${encodeURIComponent(dup)}`);
  await lead.getByRole('heading', { name: '可能重复的建议' }).waitFor();
  await lead.getByLabel('与哪条建议重复').selectOption({ label: TITLE });
  await lead.locator('#duplicateReason').fill('与王师傅的转炉余热发电建议相同。');
  await shot(lead, 'mark-duplicate');
  await lead.getByRole('button', { name: '标记为重复' }).click();
  await lead.locator('.badge.status', { hasText: '重复' }).waitFor();
  await lead.locator('.notice', { hasText: '此建议与已有建议重复' }).getByRole('link', { name: TITLE }).waitFor();
  await shot(lead, 'duplicate');

  // The studio lead posts a challenge; the worker finds it on the board and answers it.
  await lead.goto(`${base}/#/challenges`);
  await lead.getByText('发布新课题').click();
  await lead.getByLabel('课题名称').fill('转炉车间电耗降两成');
  await lead.getByLabel('问题与目标').fill('转炉车间风机水泵电耗高，征集降低电耗两成的办法，以实测节电量为准。');
  await lead.getByLabel('截止日期').fill('2099-06-30');
  await lead.getByLabel('奖励').fill('获奖应答奖励积分');
  await lead.getByLabel('电（千瓦时）').fill('400000');
  await shot(lead, 'challenge-open');
  // Sent from the keyboard, as a phone's 前往 key does (implicit submission).
  await lead.getByLabel('天然气（立方米）').press('Enter');
  await lead.locator('h1', { hasText: '转炉车间电耗降两成' }).waitFor();
  await worker.goto(`${base}/#/challenges`);
  const board = worker.locator('[data-challenge="转炉车间电耗降两成"]');
  await board.locator('[role=progressbar]').waitFor();
  assert.ok(!(await worker.locator('main').innerText()).includes('null'), 'the challenge board prints no null');
  await shot(worker, 'challenge-board');
  await board.getByRole('link', { name: '应答此课题' }).click();
  await worker.locator('[data-answering]', { hasText: '转炉车间电耗降两成' }).waitFor();
  await worker.getByLabel('标题').fill('除尘风机变频调速');
  await worker.getByLabel('现状与改进办法').fill('转炉二次除尘风机一直满速运行，建议加装变频器按冶炼周期调速。');
  await worker.getByLabel('类别').selectOption('ENERGY_SAVING');
  await worker.getByRole('button', { name: '提交建议' }).click();
  await worker.getByText('已提交，谢谢').waitFor();
  await worker.goto(`${base}/#/challenges`);
  await board.getByText('应答 1').waitFor();

  // A small plant asks for help: the catalogue's answer is suggested as it types; a studio of another
  // enterprise, known for compressors, takes it on.
  const otherEnterprise = (await api(process.env.OTHER_ADMIN, '{ viewer { enterprise { id } } }')).viewer.enterprise.id;
  const otherLeadId = (await api(process.env.OTHER_LEAD, '{ viewer { id } }')).viewer.id;
  await api(process.env.OTHER_ADMIN, 'mutation($input: CreateStudioInput!) { createStudio(input: $input) { userErrors { code message } } }',
    { input: { enterpriseId: otherEnterprise, name: '动力能源劳模工作室', specialties: ['空压机', '压缩空气'], leadId: otherLeadId } });
  const plant = await signIn(process.env.SMALL_PLANT);
  await plant.goto(`${base}/#/help`);
  await plant.getByLabel('遇到什么问题').fill('空压机夜班空转电费高');
  await plant.getByLabel('具体情况').fill('我厂4台螺杆空压机，夜班用气很少但还是频繁加载卸载，压力来回波动，空压站电费占全厂三分之一。');
  await plant.locator('[data-suggestions] li').first().waitFor();
  const suggested = await plant.locator('[data-suggestions] li').first().getAttribute('data-technique');
  assert.equal(suggested, '空压站集中联控与变频改造', 'the matching technique is suggested first, while typing');
  assert.ok((await plant.locator('[data-suggestions] .snippet em').count()) > 0, 'why it matched is marked');
  await plant.getByLabel('涉及设备').fill('空压机');
  await shot(plant, 'help-request');
  await plant.getByRole('button', { name: '提交求助' }).click();
  await plant.locator('h1', { hasText: '空压机夜班空转电费高' }).waitFor();
  await plant.locator('[data-studio="动力能源劳模工作室"]').waitFor();
  const helpUrl = plant.url();
  await plant.context().close();
  const helper = await signIn(process.env.OTHER_LEAD);
  await helper.goto(helpUrl);
  await helper.getByRole('button', { name: '由本工作室承接' }).click();
  await helper.locator('.badge.status', { hasText: '已承接' }).waitFor();
  await shot(helper, 'help-taken');
  await helper.context().close();

  // Proof: the author downloads the receipt of the first submission (once it is in the hash chain).
  await worker.goto(`${base}/#/p/${encodeURIComponent(id)}`);
  for (let i = 0; i < 20 && !(await worker.getByRole('button', { name: '下载提交回执' }).count()); i += 1) {
    await worker.waitForTimeout(250);
    await worker.reload();
    await worker.locator('.badge.status').first().waitFor();
  }
  const [receiptFile] = await Promise.all([worker.waitForEvent('download'), worker.getByRole('button', { name: '下载提交回执' }).click()]);
  const receipt = JSON.parse(await (await import('node:fs/promises')).readFile(await receiptFile.path(), 'utf8'));
  assert.equal(receipt.kind, 'greenline.receipt/1');
  assert.equal(receipt.title, TITLE);
  assert.ok(receipt.signature && receipt.signature.value, 'the receipt is signed');
  await shot(worker, 'receipt');

  // Oversight: a proposal scored 8 and 9 is rejected; its author appeals; the overseer sees the decision
  // against the scores and gives an opinion; the lead reopens it with a reviewer who never saw it.
  const scores = (s) => ['ENERGY_EMISSION_EFFECT', 'ECONOMIC_BENEFIT', 'TECHNICAL_FEASIBILITY', 'NOVELTY', 'PROMOTION_POTENTIAL'].map((criterion) => ({ criterion, score: s }));
  const reviewerIds = [];
  for (const t of [process.env.REVIEWER1, process.env.REVIEWER2]) reviewerIds.push((await api(t, '{ viewer { id } }')).viewer.id);
  const done = async (token, name, input, selection = '') => {
    const type = `${name[0].toUpperCase()}${name.slice(1)}Input`;
    const d = await api(token, `mutation($input: ${type}!) { ${name}(input: $input) { ${selection} userErrors { code message } } }`, { input });
    assert.deepEqual(d[name].userErrors, [], `${name}: ${JSON.stringify(d)}`);
    return d[name];
  };
  const rejected = (await done(process.env.WORKER, 'submitProposal', { proposal: { title: '烧结机漏风治理', body: '烧结机台车与风箱之间漏风严重，建议更换密封装置。', category: 'ENERGY_SAVING' } }, 'proposal { id version }')).proposal;
  const version = async () => (await api(process.env.LEAD, 'query($id: ID!) { proposal(id: $id) { version } }', { id: rejected.id })).proposal.version;
  await done(process.env.LEAD, 'assignReviewers', { proposalId: rejected.id, expectedVersion: await version(), reviewerIds });
  await done(process.env.REVIEWER1, 'submitEvaluation', { proposalId: rejected.id, scores: scores(8), comment: '可行' });
  await done(process.env.REVIEWER2, 'submitEvaluation', { proposalId: rejected.id, scores: scores(9), comment: '效益好' });
  await done(process.env.LEAD, 'decideProposal', { proposalId: rejected.id, expectedVersion: await version(), decision: 'REJECT', reason: '暂不具备改造条件。' });
  await worker.goto(`${base}/#/p/${encodeURIComponent(rejected.id)}`);
  await worker.getByLabel('申诉理由').fill('两位评审给出8分和9分，均高于分数线，不采纳的理由与评分不符。');
  await worker.getByRole('button', { name: '对不采纳决定申诉' }).click();
  await worker.locator('.appeals .badge', { hasText: '处理中' }).waitFor();
  await shot(worker, 'appeal');
  const overseer = await signIn(process.env.OVERSEER);
  await overseer.goto(`${base}/#/oversight`);
  await overseer.getByRole('heading', { name: '与评分相悖的决定' }).waitFor();
  assert.ok((await overseer.locator('main').innerText()).includes('烧结机漏风治理'), 'the decision against the scores is listed');
  assert.equal(await overseer.getByText('王师傅').count(), 0, 'no author is named to the oversight group');
  await shot(overseer, 'oversight');
  await overseer.getByRole('link', { name: '烧结机漏风治理' }).first().click();
  await overseer.getByLabel('意见').fill('评分均高于分数线，建议重新评审。');
  await overseer.getByRole('button', { name: '发表监督意见' }).click();
  await overseer.getByText('算法监督小组意见：评分均高于分数线').waitFor();
  await lead.goto(`${base}/#/p/${encodeURIComponent(rejected.id)}`);
  await lead.reload();
  const appealForm = lead.locator('form', { hasText: '处理申诉' });
  await appealForm.getByLabel('决定').selectOption('REOPEN');
  await appealForm.getByLabel('孙专家').check();
  await appealForm.getByLabel(/理由/).fill('采纳监督小组意见，由孙专家重新评审。');
  await lead.getByRole('button', { name: '处理申诉' }).click();
  await lead.locator('.badge.status', { hasText: '评审中' }).waitFor();
  await lead.locator('.appeals .badge', { hasText: '已重新评审' }).waitFor();
  await shot(lead, 'appeal-reopened');

  // Rules: the platform admin proposes new weights; nothing changes until the overseer approves them.
  const platform = await signIn(process.env.PLATFORM);
  await platform.goto(`${base}/#/rules`);
  await platform.getByLabel('节能减排效果 energy/emission effect的权重').fill('40');
  await platform.getByLabel('变更说明').fill('提高节能减排效果的权重，降低经济效益的权重。');
  await platform.getByRole('button', { name: '提交变更（待监督员批准）' }).click();
  await platform.locator('.badge', { hasText: '待监督员批准' }).waitFor();
  await platform.getByRole('heading', { name: '现行评审指标（第 1 版）' }).waitFor();
  await platform.context().close();
  await overseer.goto(`${base}/#/rules`);
  await overseer.getByLabel('审议意见').fill('职工代表审议同意。');
  await shot(overseer, 'rules');
  await overseer.getByRole('button', { name: '批准生效' }).click();
  await overseer.getByRole('heading', { name: '现行评审指标（第 2 版）' }).waitFor();
  await overseer.context().close();

  // The worker's green-skill record, printable on A4 and downloadable signed.
  await worker.goto(`${base}/#/skills`);
  await worker.getByRole('heading', { name: '王师傅 的绿色技能档案' }).waitFor();
  await shot(worker, 'skill-record');
  const [skillFile] = await Promise.all([worker.waitForEvent('download'), worker.getByRole('button', { name: '下载签名档案' }).click()]);
  const skill = JSON.parse(await (await import('node:fs/promises')).readFile(await skillFile.path(), 'utf8'));
  assert.equal(skill.kind, 'greenline.skill-record/1');
  assert.equal(skill.records[0].person.name, '王师傅');
  await worker.emulateMedia({ media: 'print' });
  assert.equal(await worker.locator('nav.nav').isVisible(), false, 'the printed record has no navigation');
  await shot(worker, 'skill-record-print');
  await worker.emulateMedia({ media: 'screen' });
  console.log(`browser journey: ${step} screens in ${OUT}`);
  console.log('1 passed, 0 failed');
} catch (e) {
  for (const context of browser.contexts()) {
    for (const page of context.pages()) await page.screenshot({ path: `${OUT}/failed-${step}.png`, fullPage: true }).catch(() => {});
  }
  throw e;
} finally {
  await browser.close();
}
