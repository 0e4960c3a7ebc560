// 绿线 — the shop-floor page: a client of the same GraphQL API, nothing more. No framework, no build step.
// Routes live in the hash (#/submit, #/p/<id>…); every screen is a function that renders into <main>.

const main = document.getElementById('main');
const TOKEN_KEY = 'greenline-token';

// ---------- labels ----------
const STATUS = {
  DRAFT: '草稿', SUBMITTED: '已提交', EVALUATING: '评审中', RETURNED: '已退回', REJECTED: '未采纳', ACCEPTED: '已采纳',
  INCUBATING: '试点中', ADOPTED: '已实施', PROMOTED: '已推广', WITHDRAWN: '已撤回', DUPLICATE: '重复',
};
const EVENT = {
  CREATED: '创建草稿', UPDATED: '修改', SUBMITTED: '提交', REVIEWERS_ASSIGNED: '指派评审', EVALUATED: '完成一份评审',
  ACCEPTED: '采纳', RETURNED: '退回修改', REJECTED: '不采纳', WITHDRAWN: '撤回', PILOT_STARTED: '启动试点',
  MILESTONE_UPDATED: '里程碑更新', MEASUREMENT_RECORDED: '记录测量', ADOPTED: '确认实施', PROMOTED: '推广到行业目录', COAUTHOR_JOINED: '合作者加入',
  ATTACHMENT_ADDED: '添加照片', ATTACHMENT_REMOVED: '删除附件', IMPORTED: '导入', IMPORT_UPDATED: '导入更新',
  MARKED_DUPLICATE: '标记为重复', CREDITED_AS_COAUTHOR: '重复建议作者记为合作者', CHALLENGE_AWARDED: '攻关课题获奖',
  APPEALED: '作者申诉', APPEAL_OPINION: '算法监督小组意见', APPEAL_UPHELD: '维持原决定', REOPENED: '申诉后重新评审',
};
const APPEAL_STATUS = { OPEN: '处理中', UPHELD: '维持原决定', REOPENED: '已重新评审' };
const RULE_STATUS = { PROPOSED: '待监督员批准', APPROVED: '已批准生效', REJECTED: '未批准' };
const RULE_KIND = { CRITERIA: '评审指标与权重', FACTORS: '折算系数' };
const GROUP = { STUDIO: '工作室', TEAM: '班组', ENTERPRISE: '企业' };
const SCOPE = { ENTERPRISE: '仅本企业', INDUSTRY: '本行业', PUBLIC: '公开' };
const OWNER = { STUDIO: '工作室', ENTERPRISE: '企业', ASSOCIATION: '行业协会' };
const HELP_STATUS = { OPEN: '待承接', TAKEN: '已承接', RESOLVED: '已解决', CLOSED: '已关闭' };
const CATEGORY = {
  ENERGY_SAVING: '节能降耗', GREEN_PROCESS: '绿色工艺', CLEAN_PRODUCTION: '清洁生产', CIRCULAR_ECONOMY: '循环经济',
  EMISSION_REDUCTION: '减排降碳', SAFETY: '安全', QUALITY: '质量', OTHER: '其他',
};
const INDUSTRY = { MACHINERY: '机械', METALLURGY: '冶金', BUILDING_MATERIALS: '建材', OTHER: '其他' };
const ROLE = {
  WORKER: '职工', OVERSEER: '职工代表（算法监督）', REVIEWER: '评审专家', STUDIO_LEAD: '工作室负责人', ENTERPRISE_ADMIN: '企业管理员',
  ASSOCIATION: '行业协会', ADMIN: '平台管理员',
};
const CODES = {
  UNAUTHENTICATED: '请先登录（令牌无效或已失效）', FORBIDDEN: '没有权限执行此操作', NOT_FOUND: '没有找到，或您无权查看',
  VALIDATION_FAILED: '填写有误，请检查', INVALID_TRANSITION: '当前状态下不能执行此操作', VERSION_CONFLICT: '内容已被他人修改，请刷新后重试',
  CONFLICT_OF_INTEREST: '存在利益冲突，不能评审本人或本班组的建议', NOT_ENOUGH_EVALUATIONS: '评审意见不足，暂不能决定',
  RATE_LIMITED: '请求过于频繁，请稍后再试', PAYLOAD_TOO_LARGE: '文件太大', UNSUPPORTED_MEDIA_TYPE: '不支持的文件类型',
  INTERNAL: '服务器出错，已记录，请稍后再试',
};

const NOTIFY = {
  PROPOSAL_SUBMITTED: '新提案待指派评审', REVIEW_ASSIGNED: '评审任务', REVIEW_DUE_SOON: '评审即将到期', REVIEW_OVERDUE: '评审已逾期',
  REVIEW_ESCALATED: '评审逾期督办', REVIEWS_COMPLETE: '评审已完成，待决定', PROPOSAL_ACCEPTED: '提案被采纳', PROPOSAL_REJECTED: '提案未被采纳',
  PROPOSAL_RETURNED: '提案被退回修改', MARKED_DUPLICATE: '提案被标记为重复', PILOT_STARTED: '试点开始', MILESTONE_DUE: '试点里程碑即将到期',
  MILESTONE_OVERDUE: '试点里程碑已逾期', ADOPTION_CONFIRMED: '提案已推广应用', PROMOTED: '提案入选行业目录',
  ADOPTED_ELSEWHERE: '你的技术被其他企业采用', COAUTHOR_INVITED: '共同作者邀请', WEBHOOK_PAUSED: '推送地址已暂停',
  CHALLENGE_AWARDED: '应答在攻关课题中获奖', CHALLENGE_ANSWERED: '攻关课题收到新应答', HELP_REQUEST_TAKEN: '求助已有工作室承接', HELP_REQUEST_RESOLVED: '求助已办结',
  APPEAL_FILED: '提案申诉待处理', APPEAL_OPINION_GIVEN: '申诉已有监督意见，待决定', APPEAL_UPHELD: '申诉未获支持', PROPOSAL_REOPENED: '申诉获支持，重新评审',
};
const CHANNEL = { EMAIL: '立即发邮件', DIGEST: '每日汇总邮件', OFF: '仅站内信' };
const FORMAT = { JSON: 'JSON（自有系统，签名）', WECOM_ROBOT: '企业微信群机器人', DINGTALK_ROBOT: '钉钉群机器人' };
const DELIVERY = { PENDING: '等待发送', DELIVERED: '已送达', DEAD: '已放弃', HELD: '已暂存' };

// ---------- helpers ----------
/** Builds an element; strings become text nodes (never HTML). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}
const fmt = (n, d = 1) => (n === null || n === undefined ? '—' : Number(n).toLocaleString('zh-CN', { maximumFractionDigits: d }));
const day = (t) => (t ? new Date(t).toLocaleDateString('zh-CN') : '—');
/** The Chinese half of a bilingual server message ("english / 中文"), or a message for the code. */
function chinese(message, code) {
  if (message && message.includes(' / ')) return message.split(' / ').pop();
  if (message && /[\u4e00-\u9fff]/.test(message)) return message;
  return CODES[code] || message || '出错了';
}

class ApiError extends Error {
  // A userError's field is its path (["input", "proposal", "title"]): the form field is its last part.
  constructor(code, message, field) {
    super(chinese(message, code));
    this.code = code;
    this.field = Array.isArray(field) ? field[field.length - 1] : field;
  }
}

function token() { return localStorage.getItem(TOKEN_KEY); }

// Signed in through the enterprise's account: the session cookie (HttpOnly) goes by itself; requests carry
// the session's CSRF token. `session.oidc` says whether that sign-in is offered at all.
const session = { csrf: null, oidc: false };
async function loadSession() {
  try {
    const r = await fetch('/auth/session', { headers: { accept: 'application/json' } });
    const body = await r.json().catch(() => ({}));
    session.oidc = !!body.oidc;
    session.csrf = r.ok ? body.csrfToken : null;
  } catch { session.csrf = null; }
}

/** What proves who is asking: the pasted token, or the session's CSRF token beside its cookie. */
function credentials() {
  if (token()) return { authorization: `Bearer ${token()}` };
  return session.csrf ? { 'x-csrf-token': session.csrf } : {};
}

async function gql(query, variables = {}) {
  const headers = { 'content-type': 'application/json', accept: 'application/json', ...credentials() };
  let res;
  try {
    res = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  } catch {
    throw new ApiError('NETWORK', '网络连接中断，请检查网络后重试（重试不会重复提交）');
  }
  const body = await res.json().catch(() => ({}));
  if (body.errors && body.errors.length) {
    const e = body.errors[0];
    throw new ApiError(e.extensions && e.extensions.code, e.message);
  }
  return body.data;
}

/** Runs a mutation; a payload's first userError becomes an ApiError that names its field. */
async function mutate(query, input) {
  const data = await gql(query, { input });
  const payload = Object.values(data)[0];
  if (payload.userErrors && payload.userErrors.length) {
    const e = payload.userErrors[0];
    throw new ApiError(e.code, e.message, e.field);
  }
  return payload;
}

/** Shows an error next to the field it concerns, or at the top of the form. */
function showError(form, err) {
  form.querySelectorAll('.error').forEach((e) => e.remove());
  form.querySelectorAll('[aria-invalid]').forEach((e) => e.removeAttribute('aria-invalid'));
  const field = err.field && form.querySelector(`[data-field="${CSS.escape(err.field.split('.').pop())}"], [data-field="${CSS.escape(err.field)}"]`);
  const msg = h('p', { class: 'error', role: 'alert', id: `err-${Date.now()}` }, err.message);
  if (field) {
    field.setAttribute('aria-invalid', 'true');
    field.setAttribute('aria-describedby', msg.id);
    field.after(msg);
    field.focus();
  } else {
    form.prepend(msg);
  }
}

async function busy(button, fn) {
  button.disabled = true;
  try { return await fn(); } finally { button.disabled = false; }
}

function page(title, ...children) {
  // replaceChildren would print a null child as the text "null".
  main.replaceChildren(h('h1', {}, title), ...children.filter((c) => c !== null && c !== undefined && c !== false));
  document.title = `${title} · 绿线`;
  main.focus();
}

function fail(err) {
  main.append(h('p', { class: 'alert', role: 'alert' }, err.message || String(err)));
}

// ---------- who is signed in ----------
let viewer = null;
async function loadViewer() {
  viewer = null;
  if (token() || session.csrf) {
    try {
      const d = await gql('{ viewer { id name role points greenSkillCredits unreadNotificationCount enterprise { id name } studio { id name } } }');
      viewer = d.viewer;
    } catch { viewer = null; }
  }
  document.getElementById('who').textContent = viewer ? `${viewer.name}（${ROLE[viewer.role]}）` : '未登录';
  renderNav();
  showBell(viewer ? viewer.unreadNotificationCount : null);
  // Whoever is signed in now gets a connection of their own.
  if (socket) { const old = socket; socket = null; old.onclose = null; old.close(); }
  if (viewer) listen();
}

// ---------- the bell: unread notifications, live over graphql-transport-ws ----------
function showBell(count) {
  const bell = document.getElementById('bell');
  bell.hidden = count === null || count === undefined;
  bell.setAttribute('aria-label', count ? `通知：${count} 条未读` : '通知');
  bell.querySelector('.count').textContent = count ? String(count > 99 ? '99+' : count) : '';
}

async function refreshBell() {
  if (!viewer) return showBell(null);
  try { showBell((await gql('{ viewer { unreadNotificationCount } }')).viewer.unreadNotificationCount); } catch { /* shown next time */ }
}

let socket = null;
let retry = 1000;
function listen() {
  if (socket || !('WebSocket' in window)) return;
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql/ws`, 'graphql-transport-ws');
  socket = ws;
  ws.onopen = () => ws.send(JSON.stringify({ type: 'connection_init',
    payload: token() ? { Authorization: `Bearer ${token()}` } : { 'X-CSRF-Token': session.csrf } }));
  ws.onmessage = (e) => {
    const msg = JSON.parse(e.data);
    if (msg.type === 'connection_ack') {
      retry = 1000;
      ws.send(JSON.stringify({ id: 'bell', type: 'subscribe', payload: { query: 'subscription { notifications { id subject } }' } }));
    } else if (msg.type === 'ping') {
      ws.send(JSON.stringify({ type: 'pong' }));
    } else if (msg.type === 'next' && msg.payload.data) {
      const n = msg.payload.data.notifications;
      refreshBell();
      const toast = h('a', { class: 'toast', role: 'status', href: '#/inbox' }, n.subject);
      document.body.append(toast);
      setTimeout(() => toast.remove(), 6000);
      if ((location.hash.split('?')[0]) === '#/inbox') route();
    }
  };
  ws.onclose = () => {
    socket = null;
    if (!viewer) return;
    setTimeout(listen, retry);
    retry = Math.min(retry * 2, 60000);
  };
}

const has = (...roles) => viewer && roles.includes(viewer.role);

function renderNav() {
  const links = [['#/', '首页']];
  if (viewer) links.push(['#/submit', '提建议'], ['#/mine', '我的建议']);
  if (has('REVIEWER', 'STUDIO_LEAD')) links.push(['#/review', '评审任务']);
  if (has('STUDIO_LEAD', 'ENTERPRISE_ADMIN', 'ADMIN')) links.push(['#/manage', '待处理']);
  if (has('ENTERPRISE_ADMIN', 'ADMIN')) links.push(['#/people', '人员'], ['#/audit', '审计日志']);
  if (has('OVERSEER', 'ASSOCIATION', 'ADMIN')) links.push(['#/oversight', '算法监督']);
  if (viewer) links.push(['#/skills', '技能档案']);
  links.push(['#/rules', '规则变更']);
  links.push(['#/challenges', '攻关课题']);
  if (viewer) links.push(['#/help', '助企求助']);
  links.push(['#/search', '搜索'], ['#/techniques', '技术目录'], ['#/impact', '成效']);
  if (has('ENTERPRISE_ADMIN', 'ADMIN')) links.push(['#/webhooks', '推送']);
  if (viewer) links.push(['#/inbox', '通知'], ['#/tokens', '令牌']);
  links.push(viewer ? ['#/login', '退出'] : ['#/login', '登录']);
  const here = location.hash.split('?')[0] || '#/';
  document.getElementById('nav').replaceChildren(
    ...links.map(([href, text]) => h('a', { href, 'aria-current': href === here ? 'page' : false }, text)),
  );
}

// ---------- screens ----------
function home() {
  const tiles = [];
  if (viewer) tiles.push(['#/submit', '提交节能建议'], ['#/mine', '我的建议与积分']);
  if (has('REVIEWER', 'STUDIO_LEAD')) tiles.push(['#/review', '评审任务']);
  if (has('STUDIO_LEAD', 'ENTERPRISE_ADMIN', 'ADMIN')) tiles.push(['#/manage', '待处理建议']);
  if (has('OVERSEER', 'ASSOCIATION', 'ADMIN')) tiles.push(['#/oversight', '算法监督']);
  tiles.push(['#/challenges', '攻关课题']);
  if (viewer) tiles.push(['#/help', '助企求助'], ['#/skills', '绿色技能档案']);
  tiles.push(['#/search', '搜索建议'], ['#/techniques', '行业技术目录'], ['#/impact', '节能成效']);
  page(
    viewer ? `你好，${viewer.name}` : '职工节能创新',
    h('p', {}, '把车间里的节能点子，变成全行业的绿色技术。'),
    viewer ? null : h('p', { class: 'notice' }, h('a', { href: '#/login' }, '登录'), ' 后即可提交建议、查看进度与积分。'),
    h('div', { class: 'tiles' }, tiles.map(([href, text]) => h('a', { href }, text))),
  );
  if (viewer) invitations().catch(fail);
}

// Invitations to co-author a proposal: nobody becomes an author without saying yes.
async function invitations() {
  const d = await gql('{ viewer { coAuthorInvitations { proposalId title invitedBy invitedAt } } }');
  const open = d.viewer ? d.viewer.coAuthorInvitations : [];
  if (!open.length) return;
  const respond = async (inv, accept) => {
    const r = await gql(`mutation($input: RespondToCoAuthorInvitationInput!) { respondToCoAuthorInvitation(input: $input) {
      proposal { id } userErrors { message } } }`, { input: { proposalId: inv.proposalId, accept } });
    const errors = r.respondToCoAuthorInvitation.userErrors;
    if (errors.length) throw new Error(errors[0].message);
    location.hash = accept ? `#/p/${encodeURIComponent(inv.proposalId)}` : '#/';
    if (!accept) route();
  };
  main.append(h('section', { class: 'card', 'data-screen': 'invitations' }, h('h2', {}, '合作邀请'),
    h('ul', {}, open.map((inv) => h('li', {},
      h('strong', {}, inv.title), ' ', h('span', { class: 'meta' }, `${inv.invitedBy} 邀请您作为合作者 · ${new Date(inv.invitedAt).toLocaleDateString('zh-CN')}`),
      h('div', {},
        h('button', { onclick: () => respond(inv, true).catch(fail) }, '接受'), ' ',
        h('button', { class: 'secondary', onclick: () => respond(inv, false).catch(fail) }, '谢绝')))))));
}

async function logout() {
  if (token()) localStorage.removeItem(TOKEN_KEY);
  if (session.csrf) {
    // Ends the session here, then at the enterprise's provider where it offers that.
    const r = await fetch('/auth/logout', { method: 'POST', headers: { accept: 'application/json' } });
    const body = await r.json().catch(() => ({}));
    session.csrf = null;
    if (body.redirect) { location.href = body.redirect; return; }
  }
  await loadViewer();
  location.hash = '#/';
}

function login() {
  if (viewer) {
    page('退出登录', h('p', {}, `当前：${viewer.name}（${ROLE[viewer.role]}）`),
      h('button', { onclick: () => logout().catch(fail) }, '退出登录'));
    return;
  }
  const input = h('input', { type: 'password', id: 'token', 'data-field': 'token', autocomplete: 'current-password', required: true });
  const form = h('form', {
    onsubmit: async (e) => {
      e.preventDefault();
      localStorage.setItem(TOKEN_KEY, input.value.trim());
      await loadViewer();
      if (viewer) location.hash = '#/';
      else { localStorage.removeItem(TOKEN_KEY); showError(form, new ApiError('UNAUTHENTICATED', '令牌无效，请向管理员索取', 'token')); }
    },
  },
  h('label', { for: 'token' }, '访问令牌 ', h('span', { class: 'hint' }, '（由企业管理员发放，以 glt_ 开头）')),
  input,
  h('p', {}, h('button', { type: 'submit', class: session.oidc ? 'secondary' : null }, '用令牌登录')));
  const next = new URLSearchParams(location.hash.split('?')[1] || '').get('next') || '#/';
  const sso = session.oidc
    ? [h('p', {}, h('a', { class: 'button', href: `/auth/login?next=${encodeURIComponent(`/${next}`)}`, 'data-action': 'oidc' }, '用企业账号登录')),
      h('p', { class: 'hint' }, '或使用访问令牌：')]
    : null;
  page('登录', ...(sso || []), form);
}

const SUBMIT = `mutation($input: SubmitProposalInput!) { submitProposal(input: $input) {
  proposal { id version status } userErrors { field code message } } }`;
const UPLOAD = `mutation($input: UploadAttachmentInput!) { uploadAttachment(input: $input) {
  attachment { id } userErrors { field code message } } }`;

/** Uploads one photo with the GraphQL multipart request spec. */
async function upload(proposalId, file) {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query: UPLOAD, variables: { input: { proposalId, file: null, caption: '现场照片' } } }));
  form.append('map', JSON.stringify({ 0: ['variables.input.file'] }));
  form.append('0', file, file.name);
  let res;
  try {
    res = await fetch('/graphql', { method: 'POST', headers: { ...credentials(), accept: 'application/json' }, body: form });
  } catch { throw new ApiError('NETWORK', '照片上传中断，请重试（不会重复提交建议）', 'photos'); }
  const body = await res.json().catch(() => ({}));
  const e = (body.errors && body.errors[0]) || (body.data && body.data.uploadAttachment.userErrors[0]);
  if (e) throw new ApiError(e.code || (e.extensions && e.extensions.code), e.message, 'photos');
}

function field(id, text, control, hint) {
  control.id = id;
  control.setAttribute('data-field', id);
  return [h('label', { for: id }, text, hint ? h('span', { class: 'hint' }, ` ${hint}`) : null), control];
}

function submitForm(params) {
  if (!viewer) { location.hash = '#/login'; return; }
  const challengeId = params && params.get('challenge');
  // One key per proposal being written: a retry after a dropped connection returns the same proposal.
  let key = sessionStorage.getItem('greenline-submit-key');
  if (!key) { key = `web-${crypto.randomUUID()}`; sessionStorage.setItem('greenline-submit-key', key); }
  const title = h('input', { type: 'text', maxlength: 200, required: true });
  const body = h('textarea', { required: true, maxlength: 20000 });
  const category = h('select', {}, Object.entries(CATEGORY).map(([v, t]) => h('option', { value: v }, t)));
  const kwh = h('input', { type: 'number', min: 0, step: 'any', inputmode: 'decimal' });
  const coal = h('input', { type: 'number', min: 0, step: 'any', inputmode: 'decimal' });
  const yuan = h('input', { type: 'number', min: 0, step: 'any', inputmode: 'decimal' });
  const invest = h('input', { type: 'number', min: 0, step: 'any', inputmode: 'decimal' });
  const photos = h('input', { type: 'file', accept: 'image/*', capture: 'environment', multiple: true });
  const similar = h('div', { 'aria-live': 'polite' });
  let timer;
  const lookForSimilar = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const text = `${title.value} ${body.value}`.trim();
      if (text.length < 4) { similar.replaceChildren(); return; }
      try {
        const d = await gql(`query($t: String!) { similarProposals(text: $t, first: 3) {
          score sharedWords highlights { field snippet } proposal { id title status } } }`, { t: text });
        similar.replaceChildren(...(d.similarProposals.length ? [h('p', { class: 'meta' }, '已有相似建议，看看是否重复：'),
          h('ul', { class: 'similar' }, d.similarProposals.map(similarItem))] : []));
      } catch { /* hints are optional */ }
    }, 400);
  };
  title.addEventListener('input', lookForSimilar);
  body.addEventListener('input', lookForSimilar);
  const button = h('button', { type: 'submit' }, '提交建议');
  const num = (el) => (el.value === '' ? 0 : Number(el.value));
  const form = h('form', {
    novalidate: true,
    onsubmit: (e) => {
      e.preventDefault();
      busy(button, async () => {
        try {
          if (!title.value.trim()) throw new ApiError('VALIDATION_FAILED', '请填写标题', 'title');
          if (!body.value.trim()) throw new ApiError('VALIDATION_FAILED', '请描述现状与改进办法', 'body');
          const p = await mutate(SUBMIT, {
            idempotencyKey: key,
            proposal: {
              title: title.value, body: body.value, category: category.value, challengeId,
              expectedSavings: { electricityKwh: num(kwh), coalT: num(coal), moneyYuan: num(yuan), investmentYuan: num(invest) },
            },
          });
          const id = p.proposal.id;
          const done = JSON.parse(sessionStorage.getItem(`greenline-uploaded-${key}`) || '[]');
          for (const file of photos.files) {
            const sig = `${file.name}:${file.size}:${file.lastModified}`;
            if (done.includes(sig)) continue;
            await upload(id, file);
            done.push(sig);
            sessionStorage.setItem(`greenline-uploaded-${key}`, JSON.stringify(done));
          }
          sessionStorage.removeItem('greenline-submit-key');
          sessionStorage.removeItem(`greenline-uploaded-${key}`);
          location.hash = `#/p/${id}?submitted=1`;
        } catch (err) { showError(form, err); }
      });
    },
  },
  ...field('title', '标题', title, '一句话说清楚'),
  ...field('body', '现状与改进办法', body, '哪里浪费、怎么改'),
  similar,
  ...field('category', '类别', category),
  h('fieldset', {}, h('legend', {}, '预计每年节约（可不填）'),
    h('div', { class: 'grid2' },
      h('div', {}, ...field('electricityKwh', '电（千瓦时）', kwh)),
      h('div', {}, ...field('coalT', '煤（吨）', coal)),
      h('div', {}, ...field('moneyYuan', '金额（元）', yuan)),
      h('div', {}, ...field('investmentYuan', '投资（元）', invest)))),
  ...field('photos', '现场照片', photos, '可直接拍照'),
  h('p', {}, button));
  page('提交节能建议', challengeId ? h('p', { class: 'notice', 'data-answering': challengeId }, '应答攻关课题：', h('a', { href: `#/c/${encodeURIComponent(challengeId)}`, id: 'answering' }, '…')) : null, form);
  if (challengeId) {
    gql('query($id: ID!) { challenge(id: $id) { title } }', { id: challengeId })
      .then((d) => { const a = document.getElementById('answering'); if (a) a.textContent = d.challenge ? d.challenge.title : '（课题不可见）'; })
      .catch(() => {});
  }
}

async function mine() {
  if (!viewer) { location.hash = '#/login'; return; }
  page('我的建议');
  try {
    const d = await gql(`{ viewer { points greenSkillCredits pointsLedger { reason points } }
      proposals(filter: {mine: true}, first: 50) { totalCount edges { node { id title status updatedAt } } } }`);
    main.append(
      h('div', { class: 'figures' }, h('div', {}, '积分', h('strong', {}, fmt(d.viewer.points, 0))),
        h('div', {}, '绿色技能学分', h('strong', {}, fmt(d.viewer.greenSkillCredits, 2)))),
      h('h2', {}, `共 ${d.proposals.totalCount} 条`),
      ...d.proposals.edges.map(({ node }) => card(node)),
    );
  } catch (err) { fail(err); }
}

function card(p, extra) {
  return h('div', { class: 'card' }, h('h3', {}, h('a', { href: `#/p/${p.id}` }, p.title)),
    h('span', { class: 'badge' }, STATUS[p.status] || p.status), ' ', h('span', { class: 'meta' }, day(p.updatedAt || p.submittedAt)), extra || null);
}

const PROPOSAL = `query($id: ID!) { proposal(id: $id) {
  id title body status version category industry authorsHidden authors { name user { id } } enterprise { id name }
  expectedSavings { tce tco2e moneyYuan } verifiedSavings { tce tco2e moneyYuan paybackYears }
  attachments { id fileName url contentType }
  events(first: 50) { nodes { kind toStatus reason createdAt } }
  decision { outcome reason }
  duplicateOf { id title status version }
  possibleDuplicates(first: 3) { sharedWords highlights { field snippet } proposal { id title status } }
  evaluationSummary { completed required weightedMean criteria { key weight mean } }
  evaluations { weightedScore comment scores { criterion score } }
  pilot { plan milestones { id title dueOn status } measurements { carrier baseline after yearlySaving unit } }
  receipt { document position hash keyId } viewerCanAppeal appealDeadline
  appeals { id version status reason opinion decisionReason createdAt viewerCanGiveOpinion viewerCanDecide }
} }`;

/** Saves text as a file the person keeps (a receipt, a skill record). */
function download(name, text) {
  const a = h('a', { href: URL.createObjectURL(new Blob([text], { type: 'application/json' })), download: name });
  document.body.append(a);
  a.click();
  a.remove();
}

async function photo(a) {
  const img = h('img', { alt: a.fileName });
  try {
    const r = await fetch(a.url, { headers: credentials() });
    if (r.ok) img.src = URL.createObjectURL(await r.blob());
  } catch { /* the name stays as alt text */ }
  return img;
}

/** Where a text matched, its body's snippet first (server-escaped: the marks are the only tags in it). */
function matchedSnippet(highlights) {
  const why = h('p', { class: 'snippet' });
  why.innerHTML = (highlights.find((x) => x.field === 'body') || highlights[0] || { snippet: '' }).snippet;
  return why;
}

/** A similar proposal and why it matched: the shared words, marked in its text (server-escaped, <em> only). */
function similarItem(s) {
  const why = matchedSnippet(s.highlights);
  return h('li', {}, h('a', { href: `#/p/${s.proposal.id}` }, s.proposal.title), ` · ${STATUS[s.proposal.status] || s.proposal.status}`,
    s.sharedWords.length ? h('div', { class: 'meta' }, `相同的词：${s.sharedWords.join('、')}`) : null, why);
}

async function proposalPage(id, params) {
  page('建议详情');
  let p;
  try { p = (await gql(PROPOSAL, { id })).proposal; } catch (err) { fail(err); return; }
  if (!p) { fail(new ApiError('NOT_FOUND')); return; }
  const parts = [
    params.get('submitted') ? h('p', { class: 'notice', role: 'status' }, '已提交，谢谢！评审进度会显示在下方。') : null,
    h('p', {}, h('span', { class: 'badge status' }, STATUS[p.status]), ' ', h('span', { class: 'meta' }, `${CATEGORY[p.category]} · ${INDUSTRY[p.industry]} · ${p.enterprise ? p.enterprise.name : ''} · 第 ${p.version} 版`)),
    p.duplicateOf ? h('p', { class: 'notice' }, '此建议与已有建议重复：', h('a', { href: `#/p/${p.duplicateOf.id}` }, p.duplicateOf.title)) : null,
    h('p', {}, p.body),
    h('p', { class: 'meta' }, p.authorsHidden ? '评审期间作者信息隐藏' : `作者：${(p.authors || []).map((a) => a.name).join('、') || '—'}`),
  ];
  if (p.expectedSavings) parts.push(h('p', {}, `预计年节约 ${fmt(p.expectedSavings.tce, 2)} 吨标煤 · ${fmt(p.expectedSavings.tco2e, 2)} 吨二氧化碳 · ${fmt(p.expectedSavings.moneyYuan, 0)} 元`));
  if (p.verifiedSavings) parts.push(h('p', { class: 'notice' }, `实测年节约 ${fmt(p.verifiedSavings.tce, 2)} 吨标煤 · ${fmt(p.verifiedSavings.tco2e, 2)} 吨二氧化碳 · ${fmt(p.verifiedSavings.moneyYuan, 0)} 元 · 回收期 ${fmt(p.verifiedSavings.paybackYears, 1)} 年`));
  if (p.attachments.length) parts.push(h('h2', {}, '现场照片'), h('div', { class: 'photos' }, await Promise.all(p.attachments.map(photo))));
  parts.push(h('h2', {}, '进度'), h('ol', { class: 'timeline' }, p.events.nodes.map((e) =>
    h('li', {}, h('strong', {}, EVENT[e.kind] || e.kind), ' ', h('span', { class: 'badge' }, STATUS[e.toStatus]), ' ', h('span', { class: 'meta' }, new Date(e.createdAt).toLocaleString('zh-CN')), e.reason ? h('div', { class: 'meta' }, e.reason) : null))));
  if (p.decision) parts.push(h('h2', {}, '评审结论'), h('p', {}, p.decision.reason));
  if (p.possibleDuplicates.length) parts.push(h('h2', {}, '可能重复的建议'), h('ul', { class: 'similar' }, p.possibleDuplicates.map(similarItem)));
  if (p.evaluationSummary && p.evaluations.length) {
    parts.push(h('h2', {}, `评审明细（${p.evaluationSummary.completed} 份，加权均分 ${fmt(p.evaluationSummary.weightedMean, 2)}）`),
      h('table', {}, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, '评审'), h('th', { scope: 'col' }, '加权分'), h('th', { scope: 'col' }, '意见'))),
        h('tbody', {}, p.evaluations.map((e, i) => h('tr', {}, h('td', {}, `#${i + 1}`), h('td', {}, fmt(e.weightedScore, 2)), h('td', {}, e.comment))))));
  }
  if (p.pilot) {
    parts.push(h('h2', {}, '试点'), h('p', {}, p.pilot.plan),
      h('ul', {}, p.pilot.milestones.map((m) => h('li', {}, `${m.title} · ${m.status === 'DONE' ? '已完成' : '进行中'}`,
        has('STUDIO_LEAD', 'ENTERPRISE_ADMIN', 'ADMIN') && m.status !== 'DONE' && p.status === 'INCUBATING'
          ? [' ', h('button', { class: 'secondary', onclick: (e) => busy(e.target, async () => {
            try { await mutate(`mutation($input: UpdateMilestoneInput!) { updateMilestone(input: $input) { userErrors { field code message } } }`,
              { milestoneId: m.id, status: 'DONE', doneOn: new Date().toISOString().slice(0, 10) }); route(); } catch (err) { fail(err); }
          }) }, '标记完成')] : null))),
      p.pilot.measurements.length ? h('ul', {}, p.pilot.measurements.map((m) => h('li', {}, `${m.carrier}：改前 ${fmt(m.baseline)}，改后 ${fmt(m.after)} ${m.unit}，折年节约 ${fmt(m.yearlySaving)}`))) : null);
  }
  if (p.receipt) {
    parts.push(h('h2', {}, '提交回执（存证）'), h('div', { class: 'card receipt' },
      h('p', {}, `本次提交已写入事件哈希链第 ${p.receipt.position} 位，回执由服务器密钥 ${p.receipt.keyId} 签名。回执包含标题、正文及附件的 SHA-256 与提交时间，可证明您在何时提出了什么。`),
      h('p', { class: 'meta' }, `任何人可离线验证：greenline verify 回执文件 --server ${location.origin}`),
      h('button', { type: 'button', onclick: () => download(`greenline-回执-${p.id}.json`, p.receipt.document) }, '下载提交回执')));
  }
  if (p.appeals.length) {
    parts.push(h('h2', {}, '申诉'), h('ul', { class: 'appeals' }, p.appeals.map((a) => h('li', { class: 'card' },
      h('p', {}, h('span', { class: 'badge status' }, APPEAL_STATUS[a.status]), ' ', h('span', { class: 'meta' }, day(a.createdAt))),
      h('p', {}, `申诉理由：${a.reason}`),
      a.opinion ? h('p', {}, `算法监督小组意见：${a.opinion}`) : h('p', { class: 'meta' }, '等待算法监督小组发表意见'),
      a.decisionReason ? h('p', {}, `工作室负责人决定：${a.decisionReason}`) : null))));
  }
  main.append(...parts.filter(Boolean));
  main.append(...actions(p));
}

/** The steps the signed-in person may take on this proposal now. */
function actions(p) {
  const out = [];
  const mine = viewer && !p.authorsHidden && (p.authors || []).some((a) => a.user && a.user.id === viewer.id);
  const sameEnterprise = viewer && viewer.enterprise && p.enterprise && viewer.enterprise.id === p.enterprise.id;
  const lead = has('ADMIN') || (has('STUDIO_LEAD') && sameEnterprise);
  const act = (title, fields, run) => {
    const button = h('button', { type: 'submit' }, title);
    const form = h('form', { class: 'card', novalidate: true, onsubmit: (e) => {
      e.preventDefault();
      busy(button, async () => { try { await run(form); route(); } catch (err) { showError(form, err); } });
    } }, h('h2', {}, title), ...fields, h('p', {}, button));
    out.push(form);
  };
  const text = (id, label, hint) => field(id, label, h('textarea', { required: true }), hint);
  const v = p.version;
  if (mine && ['DRAFT', 'RETURNED'].includes(p.status)) {
    act('提交评审', [], () => mutate(SUBMIT, { proposalId: p.id, expectedVersion: v }));
  }
  if (lead && ['SUBMITTED', 'EVALUATING'].includes(p.status) && viewer.studio) {
    const box = h('div', { 'data-field': 'reviewerIds', tabindex: '-1' });
    gql('query($id: ID!) { node(id: $id) { ... on Studio { members { id name role } } } }', { id: viewer.studio.id }).then((d) => {
      box.replaceChildren(h('fieldset', {}, h('legend', {}, `${viewer.studio.name} 的评审专家`),
        (d.node ? d.node.members : []).filter((m) => m.role === 'REVIEWER').map((m) =>
          h('label', {}, h('input', { type: 'checkbox', name: 'reviewer', value: m.id }), m.name))));
    }).catch(() => {});
    const due = h('input', { type: 'date' });
    act('指派评审', [box, ...field('dueOn', '评审截止日期', due)], (form) => mutate(
      `mutation($input: AssignReviewersInput!) { assignReviewers(input: $input) { userErrors { field code message } } }`,
      { proposalId: p.id, expectedVersion: v, reviewerIds: [...form.querySelectorAll('input[name=reviewer]:checked')].map((c) => c.value), dueOn: due.value || null },
    ));
  }
  if (lead && p.status === 'EVALUATING') {
    const decision = h('select', {}, h('option', { value: 'ACCEPT' }, '采纳'), h('option', { value: 'RETURN' }, '退回修改'), h('option', { value: 'REJECT' }, '不采纳'));
    act('作出决定', [...field('decision', '决定', decision), ...text('reason', '理由', '会公开给作者')], (form) => mutate(
      `mutation($input: DecideProposalInput!) { decideProposal(input: $input) { userErrors { field code message } } }`,
      { proposalId: p.id, expectedVersion: v, decision: decision.value, reason: form.querySelector('#reason').value },
    ));
  }
  if (lead && p.status === 'ACCEPTED') {
    act('启动试点', [...text('plan', '试点方案'), ...text('milestones', '里程碑', '每行一个')], (form) => mutate(
      `mutation($input: StartPilotInput!) { startPilot(input: $input) { userErrors { field code message } } }`,
      { proposalId: p.id, expectedVersion: v, plan: form.querySelector('#plan').value,
        milestones: form.querySelector('#milestones').value.split('\n').map((t) => t.trim()).filter(Boolean).map((title) => ({ title })) },
    ));
  }
  if ((lead || has('ENTERPRISE_ADMIN') && sameEnterprise) && p.status === 'INCUBATING') {
    const carrier = h('select', {}, [['ELECTRICITY', '电（千瓦时）'], ['COAL', '煤（吨）'], ['NATURAL_GAS', '天然气（立方米）'], ['STEAM', '蒸汽（吨）'], ['WATER', '水（吨）']].map(([c, t]) => h('option', { value: c }, t)));
    const n = () => h('input', { type: 'number', min: 0, step: 'any', required: true });
    const d = () => h('input', { type: 'date', required: true });
    act('记录测量', [...field('carrier', '能源', carrier), ...field('baseline', '改前用量', n()), ...field('after', '改后用量', n()),
      ...field('periodStart', '开始日期', d()), ...field('periodEnd', '结束日期', d())], (form) => mutate(
      `mutation($input: RecordMeasurementInput!) { recordMeasurement(input: $input) { userErrors { field code message } } }`,
      { proposalId: p.id, carrier: carrier.value, baseline: Number(form.querySelector('#baseline').value), after: Number(form.querySelector('#after').value),
        periodStart: form.querySelector('#periodStart').value, periodEnd: form.querySelector('#periodEnd').value },
    ));
  }
  if ((has('ADMIN') || has('ENTERPRISE_ADMIN') && sameEnterprise) && p.status === 'INCUBATING') {
    const inv = h('input', { type: 'number', min: 0, step: 'any' });
    act('确认实施', [...field('investmentYuan', '实际投资（元）', inv)], () => mutate(
      `mutation($input: ConfirmAdoptionInput!) { confirmAdoption(input: $input) { userErrors { field code message } } }`,
      { proposalId: p.id, expectedVersion: v, investmentYuan: Number(inv.value || 0) },
    ));
  }
  if (has('ASSOCIATION', 'ADMIN') && p.status === 'ADOPTED') {
    const name = h('input', { type: 'text', required: true, value: `${p.title}技术` });
    act('推广到行业目录', [...field('name', '技术名称', name)], () => mutate(
      `mutation($input: PromoteProposalInput!) { promoteProposal(input: $input) { userErrors { field code message } } }`,
      { proposalId: p.id, expectedVersion: v, technique: { name: name.value } },
    ));
  }
  if (lead && ['SUBMITTED', 'EVALUATING', 'RETURNED'].includes(p.status) && p.possibleDuplicates.length) {
    const of = h('select', {}, p.possibleDuplicates.map((s) => h('option', { value: s.proposal.id }, s.proposal.title)));
    act('标记为重复', [...field('duplicateOfId', '与哪条建议重复', of), ...text('duplicateReason', '理由', '会告诉作者')], (form) => mutate(
      `mutation($input: MarkDuplicateInput!) { markDuplicate(input: $input) { userErrors { field code message } } }`,
      { proposalId: p.id, expectedVersion: v, duplicateOfId: of.value, reason: form.querySelector('#duplicateReason').value },
    ));
  }
  if (lead && p.status === 'DUPLICATE' && p.duplicateOf) {
    act('把作者记为原建议的合作者', [h('p', { class: 'meta' }, '本建议补充了新内容时使用：作者将分享原建议此后各环节的积分。')], () => mutate(
      `mutation($input: CreditAsCoAuthorInput!) { creditAsCoAuthor(input: $input) { userErrors { field code message } } }`,
      { proposalId: p.id, expectedVersion: p.duplicateOf.version },
    ));
  }
  if (p.viewerCanAppeal) {
    act('对不采纳决定申诉', [h('p', { class: 'meta' }, `申诉截止：${day(p.appealDeadline)}。算法监督小组（职工代表）会先发表意见，再由工作室负责人决定维持或重新评审。`),
      ...text('appealReason', '申诉理由')], (form) => mutate(
      `mutation($input: AppealDecisionInput!) { appealDecision(input: $input) { userErrors { field code message } } }`,
      { proposalId: p.id, reason: form.querySelector('#appealReason').value },
    ));
  }
  for (const a of p.appeals) {
    if (a.viewerCanGiveOpinion) {
      act('发表监督意见', [...text(`opinion-${a.id}`, '意见', '对照公开的评审标准与评分')], (form) => mutate(
        `mutation($input: GiveAppealOpinionInput!) { giveAppealOpinion(input: $input) { userErrors { field code message } } }`,
        { appealId: a.id, expectedVersion: a.version, opinion: form.querySelector(`[id="opinion-${a.id}"]`).value },
      ));
    }
    if (a.viewerCanDecide) {
      const outcome = h('select', {}, h('option', { value: 'REOPEN' }, '重新评审（指派新的评审人）'), h('option', { value: 'UPHOLD' }, '维持原决定'));
      const box = h('div', { 'data-field': 'reviewerIds', tabindex: '-1' });
      if (viewer.studio) {
        gql('query($id: ID!) { node(id: $id) { ... on Studio { members { id name role } } } }', { id: viewer.studio.id }).then((d) => {
          box.replaceChildren(h('fieldset', {}, h('legend', {}, '新的评审人（未评审过本建议）'),
            (d.node ? d.node.members : []).filter((m) => m.role === 'REVIEWER').map((m) =>
              h('label', {}, h('input', { type: 'checkbox', name: 'fresh', value: m.id }), m.name))));
        }).catch(() => {});
      }
      act('处理申诉', [...field('outcome', '决定', outcome), box, ...text(`appealDecision-${a.id}`, '理由', '会告诉作者')], (form) => mutate(
        `mutation($input: DecideAppealInput!) { decideAppeal(input: $input) { userErrors { field code message } } }`,
        { appealId: a.id, expectedVersion: a.version, outcome: outcome.value, reason: form.querySelector(`[id="appealDecision-${a.id}"]`).value,
          reviewerIds: outcome.value === 'REOPEN' ? [...form.querySelectorAll('input[name=fresh]:checked')].map((c) => c.value) : [] },
      ));
    }
  }
  if (mine && ['DRAFT', 'SUBMITTED', 'EVALUATING', 'RETURNED'].includes(p.status)) {
    act('撤回建议', [...text('withdrawReason', '撤回原因')], (form) => mutate(
      `mutation($input: WithdrawProposalInput!) { withdrawProposal(input: $input) { userErrors { field code message } } }`,
      { proposalId: p.id, expectedVersion: v, reason: form.querySelector('#withdrawReason').value },
    ));
  }
  return out;
}

async function reviewQueue() {
  if (!viewer) { location.hash = '#/login'; return; }
  page('评审任务');
  try {
    const d = await gql('{ viewer { reviewQueue { dueOn proposal { id title status submittedAt } } } }');
    const q = d.viewer.reviewQueue.filter((a) => a.proposal);
    main.append(h('h2', {}, `待评审（${q.length}）`));
    main.append(q.length ? h('div', {}, q.map((a) => card(a.proposal, h('p', {}, `截止：${a.dueOn || '未定'} · `, h('a', { href: `#/score/${a.proposal.id}` }, '打分'))))) : h('p', {}, '暂无待评审的建议。'));
  } catch (err) { fail(err); }
}

async function scorecard(id) {
  page('评审打分');
  try {
    const d = await gql(`query($id: ID!) { evaluationCriteria { version scoreMin scoreMax method criteria { key name weight description } }
      proposal(id: $id) { id title body category authorsHidden expectedSavings { tce moneyYuan }
        possibleDuplicates(first: 3) { sharedWords highlights { field snippet } proposal { id title status } } } }`, { id });
    const c = d.evaluationCriteria;
    const p = d.proposal;
    if (!p) { fail(new ApiError('NOT_FOUND')); return; }
    const inputs = c.criteria.map((k) => h('input', { type: 'number', min: c.scoreMin, max: c.scoreMax, step: '0.5', required: true, id: `s-${k.key}`, 'data-field': k.key }));
    const comment = h('textarea', { required: true });
    const button = h('button', { type: 'submit' }, '提交评审');
    const form = h('form', { novalidate: true, onsubmit: (e) => {
      e.preventDefault();
      busy(button, async () => {
        try {
          await mutate(`mutation($input: SubmitEvaluationInput!) { submitEvaluation(input: $input) { proposal { id } userErrors { field code message } } }`,
            { proposalId: id, comment: comment.value, scores: c.criteria.map((k, i) => ({ criterion: k.key, score: Number(inputs[i].value) })) });
          main.replaceChildren(h('h1', {}, '评审已提交'), h('p', { class: 'notice', role: 'status' }, '谢谢！'), h('p', {}, h('a', { href: '#/review' }, '返回评审任务')));
          main.focus();
        } catch (err) { showError(form, err); }
      });
    } },
    h('p', { class: 'meta' }, `盲评：不显示作者。评分 ${c.scoreMin}–${c.scoreMax} 分，按公示权重加权（第 ${c.version} 版标准）。`),
    ...c.criteria.map((k, i) => h('div', { class: 'score' },
      h('label', { for: inputs[i].id }, `${k.name}（权重 ${fmt(k.weight * (k.weight <= 1 ? 100 : 1), 0)}%）`, h('span', { class: 'hint' }, ` ${k.description}`)), inputs[i])),
    ...field('comment', '评审意见', comment),
    h('p', {}, button));
    main.append(h('div', { class: 'card' }, h('h2', {}, p.title), h('p', {}, p.body), p.expectedSavings ? h('p', { class: 'meta' }, `预计年节约 ${fmt(p.expectedSavings.tce, 2)} 吨标煤`) : null,
      p.possibleDuplicates.length ? [h('h3', {}, '可能重复的建议'), h('ul', { class: 'similar' }, p.possibleDuplicates.map(similarItem))] : null), form);
  } catch (err) { fail(err); }
}

async function manage() {
  if (!viewer) { location.hash = '#/login'; return; }
  page('待处理建议');
  const groups = [['SUBMITTED', '待指派评审'], ['EVALUATING', '评审中'], ['ACCEPTED', '待启动试点'], ['INCUBATING', '试点中']];
  try {
    const d = await gql(`{ ${groups.map(([s]) => `${s}: proposals(filter: {status: ${s}}, first: 20) { totalCount edges { node { id title status submittedAt } } }`).join(' ')} }`);
    for (const [s, label] of groups) {
      main.append(h('h2', {}, `${label}（${d[s].totalCount}）`), ...d[s].edges.map(({ node }) => card(node)));
    }
  } catch (err) { fail(err); }
}

const SEARCH = `query($q: String!, $filter: ProposalSearchFilter, $after: String) {
  searchProposals(query: $q, filter: $filter, first: 10, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    facets { industry { value count } category { value count } status { value count } }
    edges { highlights { field snippet } node { id title status submittedAt } } } }`;

async function search(params) {
  const q = params.get('q') || '';
  const picked = (k) => params.getAll(k);
  const input = h('input', { type: 'search', id: 'q', value: q, 'data-field': 'q', enterkeyhint: 'search' });
  const form = h('form', { role: 'search', onsubmit: (e) => {
    e.preventDefault();
    const next = new URLSearchParams();
    next.set('q', input.value.trim());
    form.querySelectorAll('input[type=checkbox]:checked').forEach((c) => next.append(c.name, c.value));
    location.hash = `#/search?${next}`;
  } }, h('label', { for: 'q' }, '关键词', h('span', { class: 'hint' }, ' 如：余热、变频、空压机')), h('div', { class: 'row' }, input, h('button', { type: 'submit' }, '搜索')));
  page('搜索建议', form);
  if (!q) return;
  const after = params.get('after');
  const filter = { industries: picked('industry'), categories: picked('category'), statuses: picked('status') };
  try {
    const d = (await gql(SEARCH, { q, filter, after })).searchProposals;
    const facet = (name, label, values, names) => h('fieldset', {}, h('legend', {}, label), values.map((f) => h('label', {},
      h('input', { type: 'checkbox', name, value: f.value, checked: picked(name).includes(f.value), onchange: () => form.requestSubmit() }),
      `${names[f.value] || f.value}（${f.count}）`)));
    form.append(facet('industry', '行业', d.facets.industry, INDUSTRY), facet('category', '类别', d.facets.category, CATEGORY), facet('status', '状态', d.facets.status, STATUS));
    main.append(h('h2', { 'aria-live': 'polite' }, `找到 ${d.totalCount} 条`));
    for (const { node, highlights } of d.edges) {
      const snippet = h('p', { class: 'snippet' });
      // Snippets come from the server HTML-escaped, with only <em> around the matches.
      snippet.innerHTML = (highlights.find((x) => x.field === 'body') || highlights[0] || { snippet: '' }).snippet;
      main.append(card(node, snippet));
    }
    const nav = h('div', { class: 'row' });
    if (after) nav.append(h('button', { class: 'secondary', onclick: () => history.back() }, '上一页'));
    if (d.pageInfo.hasNextPage) {
      const next = new URLSearchParams(params);
      next.set('after', d.pageInfo.endCursor);
      nav.append(h('a', { href: `#/search?${next}` }, '下一页'));
    }
    main.append(nav);
  } catch (err) { fail(err); }
}

async function techniques(params) {
  const q = params.get('q') || '';
  const input = h('input', { type: 'search', id: 'tq', value: q });
  page('行业技术目录', h('form', { role: 'search', onsubmit: (e) => { e.preventDefault(); location.hash = `#/techniques?q=${encodeURIComponent(input.value.trim())}`; } },
    h('label', { for: 'tq' }, '搜索技术'), h('div', { class: 'row' }, input, h('button', { type: 'submit' }, '搜索'))));
  try {
    const nodes = q
      ? (await gql('query($q: String!) { searchTechniques(query: $q, first: 20) { edges { node { id name industry effect totals { adoptionCount tce } } } } }', { q })).searchTechniques.edges.map((e) => e.node)
      : (await gql('{ techniques(first: 30) { edges { node { id name industry effect totals { adoptionCount tce } } } } }')).techniques.edges.map((e) => e.node);
    main.append(h('h2', {}, q ? `“${q}”的搜索结果` : '最新技术'));
    main.append(...nodes.map((t) => h('div', { class: 'card' }, h('h3', {}, h('a', { href: `#/t/${t.id}` }, t.name)),
      h('p', { class: 'meta' }, `${INDUSTRY[t.industry]} · ${t.totals.adoptionCount} 家采用 · 累计年节约 ${fmt(t.totals.tce, 1)} 吨标煤`), t.effect ? h('p', {}, t.effect) : null)));
    if (!nodes.length) main.append(h('p', {}, '暂无技术。'));
  } catch (err) { fail(err); }
}

async function technique(id) {
  page('技术详情');
  try {
    const t = (await gql(`query($id: ID!) { node(id: $id) { ... on Technique { name industry scope principle keyParameters typicalCase effect investmentYuan paybackYears
      totals { adoptionCount enterpriseCount tce moneyYuan } adoptions { enterprise { name } adoptedOn tce moneyYuan } } } }`, { id })).node;
    if (!t) { fail(new ApiError('NOT_FOUND')); return; }
    main.querySelector('h1').textContent = t.name;
    const row = (k, v) => (v ? [h('dt', {}, k), h('dd', {}, v)] : []);
    main.append(
      h('div', { class: 'figures' }, h('div', {}, '采用企业', h('strong', {}, t.totals.enterpriseCount)), h('div', {}, '累计年节约（吨标煤）', h('strong', {}, fmt(t.totals.tce, 1)))),
      h('dl', {}, row('行业', INDUSTRY[t.industry]), row('适用范围', t.scope), row('技术原理', t.principle), row('关键参数', t.keyParameters),
        row('典型案例', t.typicalCase), row('节能效果', t.effect), row('投资（元）', t.investmentYuan && fmt(t.investmentYuan, 0)), row('回收期（年）', t.paybackYears && fmt(t.paybackYears))),
      h('h2', {}, '采用记录'),
      h('table', {}, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, '企业'), h('th', { scope: 'col' }, '日期'), h('th', { scope: 'col' }, '吨标煤/年'))),
        h('tbody', {}, t.adoptions.map((a) => h('tr', {}, h('td', {}, a.enterprise ? a.enterprise.name : '—'), h('td', {}, a.adoptedOn), h('td', {}, fmt(a.tce, 2)))))),
    );
  } catch (err) { fail(err); }
}

/** A horizontal bar chart in SVG, one bar per series in each row: readable at 360 px, described for screen readers. */
function chart(title, rows, series, unit) {
  const width = 330;
  const barH = 14;
  const labelW = 96;
  const rowH = series.length * (barH + 2) + 8;
  const max = Math.max(1e-9, ...rows.flatMap((r) => series.map((x) => x.value(r))));
  const ns = 'http://www.w3.org/2000/svg';
  const s = (tag, attrs, text) => {
    const el = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    if (text !== undefined) el.textContent = text;
    return el;
  };
  const described = rows.map((r) => `${r.label}：${series.map((x) => `${x.name} ${fmt(x.value(r), 1)}`).join('，')}`).join('；');
  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${width} ${Math.max(1, rows.length) * rowH + 4}`, role: 'img', 'aria-label': `${title}（${unit}）：${described}` });
  svg.append(s('title', {}, title));
  rows.forEach((r, i) => {
    const y0 = i * rowH + 2;
    svg.append(s('text', { x: 0, y: y0 + 12 }, r.label.length > 7 ? `${r.label.slice(0, 7)}…` : r.label));
    series.forEach((x, j) => {
      const y = y0 + j * (barH + 2);
      const w = Math.max(2, (x.value(r) / max) * (width - labelW - 56));
      svg.append(s('rect', { class: j ? 'bar2' : 'bar', x: labelW, y, width: w, height: barH, rx: 2 }));
      svg.append(s('text', { x: labelW + w + 4, y: y + 11 }, fmt(x.value(r), 1)));
    });
  });
  const legend = series.length > 1 ? h('p', { class: 'meta' }, series.map((x, j) => `${j ? '浅色' : '深色'}：${x.name}`).join('；')) : null;
  return h('figure', { class: 'card' }, h('figcaption', {}, h('strong', {}, title), h('span', { class: 'meta' }, ` （${unit}）`)), svg, legend);
}

async function impact() {
  page('节能成效');
  const q = (g) => `${g}: impactSummary(groupBy: ${g}) { groups { label figures { proposals verifiedTce expectedTce } } }`;
  try {
    const d = await gql(`{ impactSummary { totals { proposals acceptanceRate adoptionRate expectedTce verifiedTce verifiedTco2e verifiedYuan medianDaysToDecision }
      leaderboard(of: WORKERS, first: 5) { rank name points verifiedTce } } ${q('MONTH')} ${q('ENTERPRISE')} ${q('CATEGORY')} }`);
    const t = d.impactSummary.totals;
    const pct = (x) => (x === null ? '—' : `${fmt(x * 100, 0)}%`);
    const rows = (summary, names = {}) => summary.groups.map((g) => ({ label: names[g.label] || g.label, ...g.figures }));
    const savings = [{ name: '预计', value: (r) => r.expectedTce }, { name: '实测', value: (r) => r.verifiedTce }];
    main.append(
      h('div', { class: 'figures' },
        h('div', {}, '建议数', h('strong', {}, fmt(t.proposals, 0))), h('div', {}, '采纳率', h('strong', {}, pct(t.acceptanceRate))),
        h('div', {}, '实测年节约（吨标煤）', h('strong', {}, fmt(t.verifiedTce, 1))), h('div', {}, '实测年减碳（吨CO₂）', h('strong', {}, fmt(t.verifiedTco2e, 1))),
        h('div', {}, '预计年节约（吨标煤）', h('strong', {}, fmt(t.expectedTce, 1))), h('div', {}, '实测年节约（元）', h('strong', {}, fmt(t.verifiedYuan, 0)))),
      chart('按月份：年节约', rows(d.MONTH), savings, '吨标煤'),
      chart('按企业：年节约', rows(d.ENTERPRISE), savings, '吨标煤'),
      chart('按类别：年节约', rows(d.CATEGORY, CATEGORY), savings, '吨标煤'),
      chart('按月份：建议数', rows(d.MONTH), [{ name: '建议数', value: (r) => r.proposals }], '条'),
      h('h2', {}, '积分榜'),
      h('ol', {}, d.impactSummary.leaderboard.map((l) => h('li', {}, `${l.name} · ${l.points} 分 · 实测 ${fmt(l.verifiedTce, 1)} 吨标煤`))),
    );
  } catch (err) { fail(err); }
}

// ---------- tokens, people, audit ----------
const CREDENTIALS = '{ viewer { accessTokens { id name createdAt expiresAt lastUsedAt readOnly } sessions { id name createdAt expiresAt address } } }';

async function tokens() {
  if (!viewer) { location.hash = '#/login'; return; }
  page('访问令牌', h('p', {}, '供脚本和数据看板调用接口；密钥只在创建时显示一次。'));
  const name = h('input', { required: true, maxlength: 80 });
  const days = h('input', { type: 'number', min: 1, max: 366, value: 90, inputmode: 'numeric' });
  const readOnly = h('input', { type: 'checkbox', checked: true });
  const result = h('div', { 'aria-live': 'polite' });
  const form = h('form', {
    onsubmit: async (e) => {
      e.preventDefault();
      await busy(e.submitter || form.querySelector('button'), async () => {
        try {
          const r = await mutate(`mutation($input: CreateAccessTokenInput!) { createAccessToken(input: $input) {
            secret accessToken { id } userErrors { field code message } } }`,
          { name: name.value, expiresInDays: Number(days.value), readOnly: readOnly.checked });
          result.replaceChildren(h('p', { class: 'notice', role: 'status' }, '令牌已创建，请立即复制保存（不会再次显示）：'),
            h('p', {}, h('code', { 'data-secret': '' }, r.secret)));
          list().catch(fail);
        } catch (err) { showError(form, err); }
      });
    },
  }, ...field('name', '用途', name, '如：能耗看板同步'), ...field('expiresInDays', '有效天数', days, '1–366'),
  h('label', {}, readOnly, ' 只读（不能提交或修改）'), h('p', {}, h('button', { type: 'submit' }, '创建令牌')));
  const holder = h('div');
  main.append(h('section', { class: 'card' }, h('h2', {}, '新建令牌'), form, result), holder);
  const revoke = (id) => mutate(`mutation($input: RevokeAccessTokenInput!) { revokeAccessToken(input: $input) {
    accessToken { revokedAt } userErrors { code message } } }`, { id }).then(list);
  async function list() {
    const d = (await gql(CREDENTIALS)).viewer;
    holder.replaceChildren(
      h('h2', {}, `有效令牌（${d.accessTokens.length}）`),
      h('ul', { class: 'plain' }, d.accessTokens.map((t) => h('li', { 'data-token': t.name },
        h('strong', {}, t.name), t.readOnly ? ' · 只读' : '', h('span', { class: 'meta' }, ` · 到期 ${day(t.expiresAt)} · ${t.lastUsedAt ? `最近使用 ${day(t.lastUsedAt)}` : '尚未使用'}`), ' ',
        h('button', { class: 'secondary', onclick: () => revoke(t.id).catch(fail) }, '撤销')))),
      h('h2', {}, `已登录的浏览器（${d.sessions.length}）`),
      h('ul', { class: 'plain' }, d.sessions.map((t) => h('li', {},
        `登录于 ${new Date(t.createdAt).toLocaleString('zh-CN')}`, h('span', { class: 'meta' }, ` · ${t.address || ''} · 到期 ${day(t.expiresAt)}`), ' ',
        h('button', { class: 'secondary', onclick: () => revoke(t.id).catch(fail) }, '结束会话')))));
  }
  await list();
}

const PEOPLE = `query($search: String, $all: Boolean!) { viewer { enterprise { id teams { id name isGreen } studios { id name specialties lead { name } } } }
  people(first: 100, search: $search, includeDeactivated: $all) { totalCount edges { node {
    id name role email employeeNumber active linkedToProvider team { name } studio { name } } } } }`;

async function people(params) {
  if (!has('ENTERPRISE_ADMIN', 'ADMIN')) { location.hash = '#/'; return; }
  const q = params.get('q') || '';
  page('人员管理');
  const d = await gql(PEOPLE, { search: q || null, all: true });
  const ent = d.viewer.enterprise;
  const searchBox = h('input', { type: 'search', value: q, placeholder: '姓名、工号或邮箱', 'aria-label': '查找人员' });
  main.append(h('form', { role: 'search', onsubmit: (e) => { e.preventDefault(); location.hash = `#/people?q=${encodeURIComponent(searchBox.value)}`; } },
    searchBox, ' ', h('button', { type: 'submit' }, '查找')));
  const act = (mutation, input) => mutate(`mutation($input: ${mutation[0].toUpperCase()}${mutation.slice(1)}Input!) { ${mutation}(input: $input) {
    user { id } userErrors { field code message } } }`, input).then(route);
  const row = ({ node: u }) => {
    const role = h('select', { 'aria-label': `${u.name}的角色` }, Object.entries(ROLE).filter(([k]) => has('ADMIN') || !['ASSOCIATION', 'ADMIN'].includes(k))
      .map(([k, v]) => h('option', { value: k, selected: k === u.role }, v)));
    role.addEventListener('change', () => act('updateUser', { id: u.id, role: role.value }).catch(fail));
    return h('tr', { 'data-person': u.name, class: u.active ? null : 'inactive' },
      h('td', {}, u.name, u.linkedToProvider ? h('span', { class: 'meta', title: '已关联企业账号' }, ' ⓘ') : null),
      h('td', {}, u.employeeNumber || '—'), h('td', {}, role), h('td', {}, u.team ? u.team.name : '—'),
      h('td', {}, u.email || '—'),
      h('td', {}, u.id === viewer.id ? '' : h('button', { class: 'secondary', onclick: () => act(u.active ? 'deactivateUser' : 'reactivateUser', { id: u.id }).catch(fail) },
        u.active ? '停用' : '启用')));
  };
  main.append(h('p', { class: 'meta' }, `共 ${d.people.totalCount} 人`),
    h('div', { class: 'scroll' }, h('table', {}, h('thead', {}, h('tr', {}, ['姓名', '工号', '角色', '班组', '邮箱', ''].map((t) => h('th', {}, t)))),
      h('tbody', {}, d.people.edges.map(row)))));
  if (!ent) return;
  // New person, new team, new studio.
  const teamOptions = () => [h('option', { value: '' }, '（无）'), ...ent.teams.map((t) => h('option', { value: t.id }, t.isGreen ? `${t.name}（绿色班组）` : t.name))];
  const name = h('input', { required: true });
  const number = h('input', { autocomplete: 'off' });
  const email = h('input', { type: 'email', autocomplete: 'off' });
  const newRole = h('select', {}, Object.entries(ROLE).filter(([k]) => !['ASSOCIATION', 'ADMIN'].includes(k)).map(([k, v]) => h('option', { value: k }, v)));
  const team = h('select', {}, teamOptions());
  const userForm = h('form', {
    onsubmit: async (e) => {
      e.preventDefault();
      try {
        await mutate(`mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } userErrors { field code message } } }`,
          { name: name.value, role: newRole.value, employeeNumber: number.value || null, email: email.value || null, teamId: team.value || null });
        route();
      } catch (err) { showError(userForm, err); }
    },
  }, ...field('name', '姓名', name), ...field('employeeNumber', '工号', number), ...field('email', '邮箱', email),
  ...field('role', '角色', newRole), ...field('teamId', '班组', team), h('p', {}, h('button', { type: 'submit' }, '新增人员')));
  const teamName = h('input', { required: true });
  const green = h('input', { type: 'checkbox' });
  const teamForm = h('form', {
    onsubmit: async (e) => {
      e.preventDefault();
      try {
        await mutate(`mutation($input: CreateTeamInput!) { createTeam(input: $input) { team { id } userErrors { field code message } } }`,
          { name: teamName.value, isGreen: green.checked });
        route();
      } catch (err) { showError(teamForm, err); }
    },
  }, ...field('teamName', '班组名称', teamName), h('label', {}, green, ' 绿色班组'), h('p', {}, h('button', { type: 'submit' }, '新增班组')));
  const studioName = h('input', { required: true });
  const specialties = h('input', { placeholder: '如：余热回收，电机节能' });
  const lead = h('select', {}, [h('option', { value: '' }, '（暂不指定）'), ...d.people.edges.filter(({ node }) => node.active).map(({ node }) => h('option', { value: node.id }, node.name))]);
  const studioForm = h('form', {
    onsubmit: async (e) => {
      e.preventDefault();
      try {
        await mutate(`mutation($input: CreateStudioInput!) { createStudio(input: $input) { studio { id } userErrors { field code message } } }`,
          { name: studioName.value, specialties: specialties.value.split(/[,，、]/).map((s) => s.trim()).filter(Boolean), leadId: lead.value || null });
        route();
      } catch (err) { showError(studioForm, err); }
    },
  }, ...field('studioName', '工作室名称', studioName), ...field('specialties', '专长', specialties, '用逗号分隔'), ...field('leadId', '负责人', lead),
  h('p', {}, h('button', { type: 'submit' }, '新增工作室')));
  main.append(
    h('section', { class: 'card', 'data-screen': 'new-person' }, h('h2', {}, '新增人员'), userForm),
    h('section', { class: 'card' }, h('h2', {}, `班组（${ent.teams.length}）`),
      h('ul', { class: 'plain' }, ent.teams.map((t) => h('li', {}, t.name, t.isGreen ? ' 🌱 绿色班组' : ''))), teamForm),
    h('section', { class: 'card' }, h('h2', {}, `创新工作室（${ent.studios.length}）`),
      h('ul', { class: 'plain' }, ent.studios.map((s) => h('li', {}, s.name, h('span', { class: 'meta' }, ` · ${s.specialties.join('、') || '—'} · 负责人 ${s.lead ? s.lead.name : '—'}`)))), studioForm));
}

const ACTION = {
  SIGNED_IN: '登录', SIGNED_OUT: '退出', USER_PROVISIONED: '首次登录开通账号', USER_UPDATED_FROM_CLAIMS: '按企业账号信息更新',
  USER_CREATED: '新增人员', USER_UPDATED: '修改人员', USER_DEACTIVATED: '停用', USER_REACTIVATED: '启用',
  TEAM_CREATED: '新增班组', STUDIO_CREATED: '新增工作室', TOKEN_CREATED: '创建令牌', TOKEN_REVOKED: '撤销令牌',
};

async function audit() {
  if (!has('ENTERPRISE_ADMIN', 'ADMIN')) { location.hash = '#/'; return; }
  page('审计日志', h('p', {}, '所有管理操作与登录记录，不可修改。'));
  const d = await gql('{ auditLog(first: 100) { totalCount edges { node { at action actor { name } targetUser { name } detail address } } } }');
  main.append(h('p', { class: 'meta' }, `共 ${d.auditLog.totalCount} 条`),
    h('ul', { class: 'plain', 'data-screen': 'audit' }, d.auditLog.edges.map(({ node: a }) => h('li', { 'data-action': a.action },
      h('strong', {}, a.actor ? a.actor.name : '系统'), ' ', ACTION[a.action] || a.action,
      a.targetUser && (!a.actor || a.targetUser.name !== a.actor.name) ? ` ${a.targetUser.name}` : '',
      h('div', { class: 'meta' }, `${new Date(a.at).toLocaleString('zh-CN')}${a.address ? ` · ${a.address}` : ''}`),
      a.detail === '{}' ? null : h('div', { class: 'meta detail' }, a.detail)))));
}

const INBOX = `query($after: String) { viewer { unreadNotificationCount notificationSettings { emailEnabled hasEmail }
  notifications(first: 30, after: $after) { totalCount pageInfo { hasNextPage endCursor }
    nodes { id kind subject body createdAt readAt proposal { id } technique { id } } } } }`;
const MARK_READ = `mutation($input: MarkNotificationsReadInput!) { markNotificationsRead(input: $input) {
  marked unreadCount userErrors { field code message } } }`;

async function inbox() {
  if (!viewer) { location.hash = '#/login?next=%23%2Finbox'; return; }
  const d = (await gql(INBOX)).viewer;
  page('通知', h('p', { class: 'meta' }, `${d.notifications.totalCount} 条，未读 ${d.unreadNotificationCount} 条 · `,
    h('a', { href: '#/settings' }, '通知设置'),
    d.notificationSettings.emailEnabled && !d.notificationSettings.hasEmail ? '（您还没有邮箱，请管理员在“人员”中填写）' : ''));
  const markAll = h('button', { class: 'secondary', disabled: d.unreadNotificationCount === 0 || undefined, onclick: async () => {
    await busy(markAll, async () => { const r = await mutate(MARK_READ, { all: true }); showBell(r.unreadCount); await inbox(); });
  } }, '全部标为已读');
  const open = async (n) => {
    if (!n.readAt) { const r = await mutate(MARK_READ, { ids: [n.id] }); showBell(r.unreadCount); }
    if (n.proposal) location.hash = `#/p/${encodeURIComponent(n.proposal.id)}`;
    else if (n.technique) location.hash = `#/t/${encodeURIComponent(n.technique.id)}`;
    else if (n.kind === 'WEBHOOK_PAUSED') location.hash = '#/webhooks';
    else if (n.kind === 'CHALLENGE_ANSWERED') location.hash = '#/challenges';
    else if (n.kind === 'HELP_REQUEST_TAKEN') location.hash = '#/help?status=TAKEN';
    else if (n.kind === 'HELP_REQUEST_RESOLVED') location.hash = '#/help?status=RESOLVED';
    else await inbox();
  };
  main.append(h('p', {}, markAll),
    d.notifications.nodes.length ? h('ul', { class: 'plain inbox', 'data-screen': 'inbox' }, d.notifications.nodes.map((n) =>
      h('li', { class: n.readAt ? 'read' : 'unread', 'data-kind': n.kind },
        h('a', { href: '#', onclick: (e) => { e.preventDefault(); open(n).catch(fail); } },
          n.readAt ? null : h('span', { class: 'badge' }, '未读'), ' ', h('strong', {}, NOTIFY[n.kind] || n.kind)),
        h('div', {}, n.body),
        h('div', { class: 'meta' }, new Date(n.createdAt).toLocaleString('zh-CN'))))) : h('p', { class: 'notice' }, '暂时没有通知。'));
}

async function settings() {
  if (!viewer) { location.hash = '#/login'; return; }
  const d = (await gql(`{ viewer { notificationSettings { emailEnabled hasEmail quietHours { start end }
    preferences { kind channel } } } }`)).viewer.notificationSettings;
  page('通知设置', h('p', {}, '站内信始终保留；可为每类通知选择是否发邮件。'),
    d.emailEnabled ? (d.hasEmail ? null : h('p', { class: 'notice' }, '您还没有邮箱地址，邮件无法送达。请管理员在“人员”中填写。'))
      : h('p', { class: 'notice' }, '本系统尚未配置邮件服务器，目前只有站内信。'));
  const selects = d.preferences.map((p) => {
    const sel = h('select', { 'data-kind': p.kind, 'aria-label': NOTIFY[p.kind] || p.kind },
      Object.entries(CHANNEL).map(([v, t]) => h('option', { value: v, selected: v === p.channel || undefined }, t)));
    return h('tr', {}, h('td', {}, NOTIFY[p.kind] || p.kind), h('td', {}, sel));
  });
  const time = (m) => (m === null || m === undefined ? '' : `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`);
  const minutes = (v) => { const [hh, mm] = v.split(':').map(Number); return hh * 60 + mm; };
  const quiet = d.quietHours;
  const start = h('input', { type: 'time', value: time(quiet && quiet.start), 'data-field': 'quietHours' });
  const end = h('input', { type: 'time', value: time(quiet && quiet.end) });
  const form = h('form', { onsubmit: async (e) => {
    e.preventDefault();
    await busy(e.submitter || form.querySelector('button'), async () => {
      try {
        const preferences = [...form.querySelectorAll('select[data-kind]')].map((s) => ({ kind: s.dataset.kind, channel: s.value }));
        const quietHours = start.value && end.value ? { start: minutes(start.value), end: minutes(end.value) } : null;
        await mutate(`mutation($input: SetNotificationPreferencesInput!) { setNotificationPreferences(input: $input) {
          settings { quietHours { start } } userErrors { field code message } } }`, { preferences, quietHours });
        form.querySelectorAll('.error').forEach((x) => x.remove());
        form.append(h('p', { class: 'notice', role: 'status' }, '已保存。'));
      } catch (err) { showError(form, err); }
    });
  } },
  h('div', { class: 'scroll' }, h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, '通知'), h('th', {}, '方式'))), h('tbody', {}, selects))),
  h('h2', {}, '免打扰时段（北京时间）'), h('p', { class: 'hint' }, '期间的邮件在结束后发送；两项都留空表示不设。'),
  h('div', { class: 'grid2' }, h('label', {}, '开始', start), h('label', {}, '结束', end)),
  h('p', {}, h('button', { type: 'submit' }, '保存')));
  main.append(form);
}

const WEBHOOKS = `{ webhooks { id name url format kinds pausedAt failingSince
  deliveries(first: 10) { totalCount nodes { id deliveryId kind state attempts lastStatus lastError createdAt } } } }`;

async function webhooks() {
  if (!has('ENTERPRISE_ADMIN', 'ADMIN')) { location.hash = '#/'; return; }
  page('推送地址', h('p', {}, '把本企业的通知推送到能源管理系统（签名 JSON）或企业微信、钉钉群机器人。'));
  const kinds = Object.keys(NOTIFY).filter((k) => k !== 'COAUTHOR_INVITED' && k !== 'WEBHOOK_PAUSED');
  const name = h('input', { required: true, maxlength: 100, 'data-field': 'name' });
  const url = h('input', { type: 'url', required: true, inputmode: 'url', 'data-field': 'url', placeholder: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…' });
  const format = h('select', { 'data-field': 'format' }, Object.entries(FORMAT).map(([v, t]) => h('option', { value: v }, t)));
  const secret = h('input', { 'data-field': 'secret', autocomplete: 'off' });
  const boxes = h('fieldset', { 'data-field': 'kinds' }, h('legend', {}, '推送哪些通知'),
    kinds.map((k) => h('label', {}, h('input', { type: 'checkbox', value: k, checked: ['PROPOSAL_ACCEPTED', 'ADOPTION_CONFIRMED', 'PROMOTED'].includes(k) || undefined }), NOTIFY[k])));
  const result = h('div', { 'aria-live': 'polite' });
  const form = h('form', { onsubmit: async (e) => {
    e.preventDefault();
    await busy(e.submitter || form.querySelector('button'), async () => {
      try {
        const r = await mutate(`mutation($input: CreateWebhookInput!) { createWebhook(input: $input) {
          webhook { id } secret userErrors { field code message } } }`, {
          name: name.value, url: url.value, format: format.value, secret: secret.value || null,
          kinds: [...boxes.querySelectorAll('input:checked')].map((b) => b.value) });
        form.reset();
        result.replaceChildren(h('p', { class: 'notice', role: 'status' }, '已添加。', r.secret ? '签名密钥（只显示这一次，请保存到接收方）：' : ''),
          ...(r.secret ? [h('p', {}, h('code', { 'data-secret': '' }, r.secret))] : []));
        await list();
      } catch (err) { showError(form, err); }
    });
  } }, ...field('name', '名称', name, '如：能源管理系统、二车间群'), ...field('url', '地址', url, '机器人地址或自有系统的接收地址'),
  ...field('format', '格式', format), ...field('secret', '密钥', secret, 'JSON：留空自动生成；钉钉：加签密钥 SEC…；企业微信：不需要'),
  boxes, h('p', {}, h('button', { type: 'submit' }, '添加推送地址')));
  const holder = h('div');
  main.append(h('section', { class: 'card' }, h('h2', {}, '新增'), form, result), holder);
  const update = (input) => mutate(`mutation($input: UpdateWebhookInput!) { updateWebhook(input: $input) {
    webhook { id } userErrors { field code message } } }`, input).then(list);
  const remove = (id) => mutate(`mutation($input: DeleteWebhookInput!) { deleteWebhook(input: $input) {
    webhook { id } userErrors { field code message } } }`, { id }).then(list);
  const redeliver = (id) => mutate(`mutation($input: RedeliverWebhookInput!) { redeliverWebhook(input: $input) {
    delivery { id } userErrors { field code message } } }`, { deliveryId: id }).then(list);
  async function list() {
    const d = await gql(WEBHOOKS);
    holder.replaceChildren(h('h2', {}, `已有（${d.webhooks.length}）`), ...d.webhooks.map((w) => h('section', { class: 'card', 'data-webhook': w.name },
      h('h3', {}, w.name, ' ', h('span', { class: 'badge' }, w.pausedAt ? '已暂停' : (w.failingSince ? '投递失败中' : '正常'))),
      h('div', { class: 'meta detail' }, w.url), h('div', { class: 'meta' }, `${FORMAT[w.format] || w.format} · ${w.kinds.map((k) => NOTIFY[k] || k).join('、')}`),
      h('div', { class: 'row' },
        h('button', { class: 'secondary', onclick: () => update({ id: w.id, paused: !w.pausedAt }).catch(fail) }, w.pausedAt ? '恢复' : '暂停'),
        h('button', { class: 'secondary', onclick: () => { if (confirm(`删除“${w.name}”？`)) remove(w.id).catch(fail); } }, '删除')),
      h('ul', { class: 'plain' }, w.deliveries.nodes.map((x) => h('li', { 'data-state': x.state },
        `#${x.deliveryId} ${NOTIFY[x.kind] || x.kind} · ${DELIVERY[x.state] || x.state}`,
        h('span', { class: 'meta' }, ` · ${x.attempts} 次${x.lastStatus ? ` · HTTP ${x.lastStatus}` : ''}${x.lastError ? ` · ${x.lastError}` : ''} · ${new Date(x.createdAt).toLocaleString('zh-CN')}`), ' ',
        x.state === 'PENDING' ? null : h('button', { class: 'secondary', onclick: () => redeliver(x.id).catch(fail) }, '重新投递')))))));
  }
  await list();
}

// ---------- challenges (攻关课题) ----------
const CHALLENGE_CARD = 'id title statement status scope ownerKind deadline reward viewerCanAnswer studio { name } enterprise { name } target { tce electricityKwh coalT naturalGasM3 steamT waterT } progress { answers accepted adopted verifiedTce targetTce shareOfTarget }';

/** A bar of verified savings against the target, with the figures in words beside it. */
function progressBar(p) {
  const share = Math.max(0, Math.min(1, p.shareOfTarget || 0));
  const fill = h('span');
  fill.style.width = `${(share * 100).toFixed(1)}%`; // CSSOM, which the page's CSP allows (a style attribute it would not)
  return h('div', { class: 'progress' },
    h('div', { class: 'bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': Math.round(share * 100),
      'aria-label': '核实节能量占目标' }, fill),
    h('p', { class: 'meta' }, `应答 ${p.answers} · 采纳 ${p.accepted} · 实施 ${p.adopted} · 核实 ${fmt(p.verifiedTce, 1)} / 目标 ${fmt(p.targetTce, 1)} 吨标煤（${fmt(share * 100, 0)}%）`));
}

function challengeCard(c) {
  const owner = c.studio ? c.studio.name : (c.enterprise ? c.enterprise.name : OWNER[c.ownerKind]);
  return h('div', { class: 'card', 'data-challenge': c.title },
    h('h3', {}, h('a', { href: `#/c/${encodeURIComponent(c.id)}` }, c.title)),
    h('span', { class: 'badge' }, c.status === 'OPEN' ? '征集中' : '已结题'), ' ',
    h('span', { class: 'meta' }, `${owner} · ${SCOPE[c.scope]} · 截止 ${c.deadline}`),
    progressBar(c.progress),
    c.reward ? h('p', { class: 'meta' }, `奖励：${c.reward}`) : null,
    c.viewerCanAnswer ? h('a', { class: 'button', href: `#/submit?challenge=${encodeURIComponent(c.id)}` }, '应答此课题') : null);
}

async function challengeBoard(params) {
  const closed = params.get('status') === 'CLOSED';
  page('攻关课题', h('p', {}, '劳模工匠创新工作室、企业和行业协会发布的节能降耗攻关课题。用一条建议来应答，实测节能量计入课题进展。'),
    h('div', { class: 'row' }, h('a', { href: '#/challenges', 'aria-current': closed ? null : 'page' }, '征集中'), ' · ',
      h('a', { href: '#/challenges?status=CLOSED', 'aria-current': closed ? 'page' : null }, '已结题')));
  if (has('STUDIO_LEAD', 'ENTERPRISE_ADMIN', 'ASSOCIATION', 'ADMIN')) main.append(openChallengeForm());
  const d = await gql(`query($s: ChallengeStatus) { challenges(filter: {status: $s}, first: 50) { totalCount edges { node { ${CHALLENGE_CARD} } } } }`,
    { s: closed ? 'CLOSED' : 'OPEN' });
  main.append(h('h2', {}, `${closed ? '已结题' : '征集中'}（${d.challenges.totalCount}）`),
    ...d.challenges.edges.map((e) => challengeCard(e.node)));
  if (!d.challenges.edges.length) main.append(h('p', {}, '暂无课题。'));
}

function openChallengeForm() {
  const title = h('input', { type: 'text', maxlength: 200 });
  const statement = h('textarea', { maxlength: 20000 });
  const scope = h('select', {}, Object.entries(SCOPE).filter(([v]) => !(has('ASSOCIATION', 'ADMIN') && v === 'ENTERPRISE')).map(([v, t]) => h('option', { value: v }, t)));
  const industry = h('select', {}, Object.entries(INDUSTRY).map(([v, t]) => h('option', { value: v }, t)));
  const deadline = h('input', { type: 'date' });
  const reward = h('input', { type: 'text', maxlength: 2000 });
  const kwh = h('input', { type: 'number', min: 0, step: 'any', inputmode: 'decimal' });
  const coal = h('input', { type: 'number', min: 0, step: 'any', inputmode: 'decimal' });
  const gas = h('input', { type: 'number', min: 0, step: 'any', inputmode: 'decimal' });
  const num = (el) => (el.value === '' ? 0 : Number(el.value));
  const button = h('button', { type: 'submit' }, '发布课题');
  const form = h('form', { novalidate: true, onsubmit: (e) => {
    e.preventDefault();
    busy(button, async () => {
      try {
        const p = await mutate(`mutation($input: OpenChallengeInput!) { openChallenge(input: $input) { challenge { id } userErrors { field code message } } }`, {
          challenge: { title: title.value, statement: statement.value, scope: scope.value, deadline: deadline.value || null, reward: reward.value,
            industry: has('ASSOCIATION', 'ADMIN') ? industry.value : null,
            target: { electricityKwh: num(kwh), coalT: num(coal), naturalGasM3: num(gas) } } });
        location.hash = `#/c/${encodeURIComponent(p.challenge.id)}`;
      } catch (err) { showError(form, err); }
    });
  } },
  ...field('title', '课题名称', title, '要解决什么'),
  ...field('statement', '问题与目标', statement, '现状、要达到的效果、怎样算解决'),
  ...field('scope', '可见范围', scope, '仅本企业的课题，应答也只在本企业内可见'),
  has('ASSOCIATION', 'ADMIN') ? field('industry', '行业', industry) : [],
  ...field('deadline', '截止日期', deadline),
  ...field('reward', '奖励', reward, '可不填'),
  h('fieldset', {}, h('legend', {}, '目标：每年节约'),
    h('div', { class: 'grid2' },
      h('div', {}, ...field('electricityKwh', '电（千瓦时）', kwh)),
      h('div', {}, ...field('coalT', '煤（吨）', coal)),
      h('div', {}, ...field('naturalGasM3', '天然气（立方米）', gas)))),
  h('p', {}, button));
  return h('details', { class: 'card' }, h('summary', {}, '发布新课题'), form);
}

async function challengePage(id) {
  page('攻关课题');
  const d = await gql(`query($id: ID!) { challenge(id: $id) { ${CHALLENGE_CARD} version closeReason viewerCanManage
    awardedAnswers { id title }
    answers(first: 50) { totalCount edges { node { id title status updatedAt authorsHidden authors { name } } } } } }`, { id });
  const c = d.challenge;
  if (!c) { fail(new ApiError('NOT_FOUND')); return; }
  main.querySelector('h1').textContent = c.title;
  main.append(challengeCard(c), h('p', { class: 'body' }, c.statement));
  if (c.closeReason) main.append(h('p', { class: 'notice' }, `结题说明：${c.closeReason}`));
  if (c.awardedAnswers.length) main.append(h('p', {}, '获奖应答：', ...c.awardedAnswers.map((a) => h('a', { href: `#/p/${encodeURIComponent(a.id)}` }, a.title))));
  main.append(h('h2', {}, `应答（${c.answers.totalCount}）`), ...c.answers.edges.map((e) => card(e.node)));
  if (c.viewerCanManage && c.status === 'OPEN') {
    const awardable = c.answers.edges.map((e) => e.node).filter((p) => ['ACCEPTED', 'INCUBATING', 'ADOPTED', 'PROMOTED'].includes(p.status));
    const reason = h('textarea', { maxlength: 2000 });
    const boxes = awardable.map((p) => h('input', { type: 'checkbox', name: 'award', value: p.id }));
    const button = h('button', { type: 'submit' }, '结题');
    const form = h('form', { novalidate: true, onsubmit: (e) => {
      e.preventDefault();
      busy(button, async () => {
        try {
          await mutate(`mutation($input: CloseChallengeInput!) { closeChallenge(input: $input) { challenge { id } userErrors { field code message } } }`,
            { challengeId: c.id, expectedVersion: c.version, reason: reason.value, awardedAnswerIds: boxes.filter((b) => b.checked).map((b) => b.value) });
          route();
        } catch (err) { showError(form, err); }
      });
    } },
    awardable.length ? h('fieldset', {}, h('legend', {}, '获奖应答（已采纳的）'), awardable.map((p, i) => h('label', {}, boxes[i], p.title))) : h('p', { class: 'meta' }, '还没有已采纳的应答。'),
    ...field('reason', '结题说明', reason),
    h('p', {}, button));
    main.append(h('h2', {}, '结题'), form);
  }
}

// ---------- help requests (劳模工匠助企行) ----------
/** A suggested technique and why: the request's words, marked in its text (server-escaped, <em> only). */
function suggestionItem(s) {
  const why = matchedSnippet(s.highlights);
  return h('li', { 'data-technique': s.technique.name }, h('a', { href: `#/t/${encodeURIComponent(s.technique.id)}` }, s.technique.name),
    h('span', { class: 'meta' }, ` · ${s.technique.totals.adoptionCount} 家采用`), why,
    s.sharedWords.length ? h('p', { class: 'meta' }, `相同的词：${s.sharedWords.slice(0, 6).join('、')}`) : null);
}
const SUGGESTION = 'score sharedWords highlights { field snippet } technique { id name totals { adoptionCount tce } }';

async function helpBoard(params) {
  if (!viewer) { location.hash = '#/login?next=%23%2Fhelp'; return; }
  const status = params.get('status') || 'OPEN';
  page('助企求助', h('p', {}, '中小企业遇到的节能难题，由劳模工匠创新工作室承接解决（劳模工匠助企行）。'),
    h('div', { class: 'row' }, Object.entries(HELP_STATUS).map(([v, t]) => h('a', { href: `#/help?status=${v}`, 'aria-current': v === status ? 'page' : null }, t))));
  if (viewer.enterprise && !has('ASSOCIATION', 'ADMIN')) main.append(helpForm());
  const d = await gql(`query($s: HelpStatus) { helpRequests(filter: {status: $s}, first: 50) { totalCount edges { node {
    id title problem status industry equipment enterprise { name } studio { name } viewerCanTake } } } }`, { s: status });
  main.append(h('h2', {}, `${HELP_STATUS[status]}（${d.helpRequests.totalCount}）`), ...d.helpRequests.edges.map(({ node: r }) =>
    h('div', { class: 'card', 'data-help': r.title }, h('h3', {}, h('a', { href: `#/h/${encodeURIComponent(r.id)}` }, r.title)),
      h('span', { class: 'badge' }, HELP_STATUS[r.status]), ' ',
      h('span', { class: 'meta' }, `${r.enterprise ? r.enterprise.name : ''} · ${INDUSTRY[r.industry]}${r.studio ? ` · ${r.studio.name} 承接` : ''}`),
      h('p', {}, r.problem.length > 80 ? `${r.problem.slice(0, 80)}…` : r.problem))));
  if (!d.helpRequests.edges.length) main.append(h('p', {}, '暂无。'));
}

function helpForm() {
  const title = h('input', { type: 'text', maxlength: 200 });
  const problem = h('textarea', { maxlength: 20000 });
  const equipment = h('input', { type: 'text' });
  const consumption = h('input', { type: 'text', maxlength: 2000 });
  const suggestions = h('div', { 'aria-live': 'polite', 'data-suggestions': '' });
  let timer;
  const suggest = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const text = `${title.value}\n${problem.value}\n${equipment.value}`.trim();
      if (text.length < 4) { suggestions.replaceChildren(); return; }
      try {
        const d = await gql(`query($t: String!) { suggestTechniques(text: $t, first: 3) { ${SUGGESTION} } }`, { t: text });
        suggestions.replaceChildren(...(d.suggestTechniques.length ? [h('p', { class: 'meta' }, '目录里可能解决这个问题的技术：'),
          h('ul', { class: 'similar' }, d.suggestTechniques.map(suggestionItem))] : []));
      } catch { /* suggestions are optional */ }
    }, 400);
  };
  for (const el of [title, problem, equipment]) el.addEventListener('input', suggest);
  const tags = (v) => v.split(/[,，、\s]+/).map((t) => t.trim()).filter(Boolean);
  const button = h('button', { type: 'submit' }, '提交求助');
  const form = h('form', { novalidate: true, onsubmit: (e) => {
    e.preventDefault();
    busy(button, async () => {
      try {
        const p = await mutate(`mutation($input: RequestHelpInput!) { requestHelp(input: $input) { helpRequest { id } userErrors { field code message } } }`,
          { title: title.value, problem: problem.value, equipment: tags(equipment.value), consumption: consumption.value });
        location.hash = `#/h/${encodeURIComponent(p.helpRequest.id)}`;
      } catch (err) { showError(form, err); }
    });
  } },
  ...field('title', '遇到什么问题', title, '一句话'),
  ...field('problem', '具体情况', problem, '设备、工艺、现在怎么运行'),
  suggestions,
  ...field('equipment', '涉及设备', equipment, '用顿号或逗号分开'),
  ...field('consumption', '目前能耗', consumption, '可不填，只有承接的工作室能看到'),
  h('p', {}, button));
  return h('details', { class: 'card', open: true }, h('summary', {}, '我要求助'), form);
}

async function helpPage(id) {
  page('助企求助');
  const d = await gql(`query($id: ID!) { helpRequest(id: $id) { id version title problem status industry processes equipment consumption
    enterprise { name } requestedBy { name } studio { name } solution closeReason viewerCanTake viewerCanResolve viewerCanClose
    techniquesUsed { id name } verifiedSavings { tce tco2e electricityKwh }
    suggestedTechniques(first: 5) { ${SUGGESTION} }
    suggestedStudios(first: 5) { studio { id name enterprise { name } } matchedSpecialties accepted adopted verifiedTce helped } } }`, { id });
  const r = d.helpRequest;
  if (!r) { fail(new ApiError('NOT_FOUND')); return; }
  main.querySelector('h1').textContent = r.title;
  const row = (k, v) => (v ? [h('dt', {}, k), h('dd', {}, v)] : []);
  main.append(h('p', {}, h('span', { class: 'badge status' }, HELP_STATUS[r.status]), ' ', h('span', { class: 'meta' }, `${r.enterprise ? r.enterprise.name : ''} · ${INDUSTRY[r.industry]}`)),
    h('p', { class: 'body' }, r.problem),
    h('dl', {}, row('设备', r.equipment.join('、')), row('工艺', r.processes.join('、')), row('目前能耗', r.consumption), row('提出人', r.requestedBy && r.requestedBy.name),
      row('承接工作室', r.studio && r.studio.name), row('解决方案', r.solution), row('采用技术', r.techniquesUsed.map((t) => t.name).join('、')),
      row('核实节能量', r.verifiedSavings && `${fmt(r.verifiedSavings.tce, 2)} 吨标煤/年`), row('关闭原因', r.closeReason)));
  const act = async (mutation, input) => {
    await mutate(`mutation($input: ${mutation[0].toUpperCase()}${mutation.slice(1)}Input!) { ${mutation}(input: $input) { helpRequest { id } userErrors { field code message } } }`,
      { helpRequestId: r.id, expectedVersion: r.version, ...input });
    route();
  };
  if (r.viewerCanTake) main.append(h('p', {}, h('button', { onclick: (e) => busy(e.target, () => act('takeHelpRequest', {}).catch(fail)) }, '由本工作室承接')));
  if (r.viewerCanResolve) {
    const solution = h('textarea', { maxlength: 20000 });
    const kwh = h('input', { type: 'number', min: 0, step: 'any', inputmode: 'decimal' });
    const boxes = r.suggestedTechniques.map((s) => h('input', { type: 'checkbox', name: 'technique', value: s.technique.id }));
    const button = h('button', { type: 'submit' }, '办结');
    const form = h('form', { novalidate: true, onsubmit: (e) => {
      e.preventDefault();
      busy(button, async () => {
        try {
          await act('resolveHelpRequest', { solution: solution.value, techniqueIds: boxes.filter((b) => b.checked).map((b) => b.value),
            verifiedSavings: kwh.value === '' ? null : { electricityKwh: Number(kwh.value) } });
        } catch (err) { showError(form, err); }
      });
    } }, ...field('solution', '解决方案', solution),
    boxes.length ? h('fieldset', {}, h('legend', {}, '采用的目录技术'), r.suggestedTechniques.map((s, i) => h('label', {}, boxes[i], s.technique.name))) : null,
    ...field('electricityKwh', '实测年节电（千瓦时）', kwh, '已测量时填写，计入工作室成效'),
    h('p', {}, button));
    main.append(h('h2', {}, '办结'), form);
  }
  if (r.viewerCanClose) {
    main.append(h('p', {}, h('button', { class: 'secondary', onclick: (e) => {
      const reason = prompt('关闭原因');
      if (reason) busy(e.target, () => act('closeHelpRequest', { reason }).catch(fail));
    } }, '关闭求助')));
  }
  main.append(h('h2', {}, '推荐技术'), r.suggestedTechniques.length ? h('ul', { class: 'similar' }, r.suggestedTechniques.map(suggestionItem)) : h('p', {}, '目录中暂无匹配的技术。'),
    h('h2', {}, '推荐工作室'), r.suggestedStudios.length
      ? h('ul', { class: 'plain' }, r.suggestedStudios.map((s) => h('li', { 'data-studio': s.studio.name }, h('strong', {}, s.studio.name),
        h('span', { class: 'meta' }, ` · ${s.studio.enterprise ? s.studio.enterprise.name : ''}${s.matchedSpecialties.length ? ` · 专长：${s.matchedSpecialties.join('、')}` : ''} · 采纳 ${s.accepted} · 实施 ${s.adopted} · 核实 ${fmt(s.verifiedTce, 1)} 吨标煤 · 助企 ${s.helped} 次`))))
      : h('p', {}, '暂无。'));
}

// ---------- routing ----------
// ---------- oversight, rules, skill records (算法监督、规则变更、绿色技能档案) ----------
const OVERSIGHT = `{ oversight {
  threshold openAppeals
  decisions { proposalId title round outcome reason decidedAt daysToDecision meanScore againstScores scores { reviewer weighted } }
  reviewers { reviewer evaluations meanScore leniency compared }
  agreement { studio criterion alpha units }
  timeToDecision { decisions medianDays p90Days }
  overdueReviews { proposalId title reviewer dueOn daysOverdue }
  rates { group name decisions accepted returned rejected returnedRate rejectedRate } }
  appeals(status: OPEN) { id proposalId proposalTitle reason opinion createdAt }
  evaluationCriteria { criteria { key name } } }`;
const OUTCOME = { ACCEPTED: '采纳', RETURNED: '退回', REJECTED: '不采纳' };

async function oversight() {
  page('算法监督');
  let d;
  try { d = await gql(OVERSIGHT); } catch (err) { fail(err); return; }
  const o = d.oversight;
  const names = Object.fromEntries(d.evaluationCriteria.criteria.map((c) => [c.key, c.name]));
  names.WEIGHTED = '加权总分';
  const pct = (x) => `${fmt(x * 100, 0)}%`;
  // Wide tables scroll sideways on a phone instead of widening the page.
  const table = (head, rows) => h('div', { class: 'scroll' }, h('table', {}, h('thead', {}, h('tr', {}, head.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c)))))));
  const decisionRow = (x) => [h('a', { href: `#/p/${x.proposalId}` }, x.title), `第${x.round}轮`, OUTCOME[x.outcome] || x.outcome,
    fmt(x.meanScore, 2), x.scores.map((s) => `${s.reviewer} ${fmt(s.weighted, 1)}`).join('；'), `${fmt(x.daysToDecision, 1)} 天`, x.reason];
  main.append(
    h('p', { class: 'meta' }, `职工代表依据公开的评审标准，监督标准的执行。评审人以代号显示，不显示作者。分数线：${fmt(o.threshold, 1)} 分（高于分数线却不采纳、低于分数线却采纳的决定单独列出）。`),
    h('div', { class: 'figures' },
      h('div', {}, '决定数', h('strong', {}, fmt(o.timeToDecision.decisions, 0))),
      h('div', {}, '与评分相悖', h('strong', {}, fmt(o.decisions.filter((x) => x.againstScores).length, 0))),
      h('div', {}, '决定用时中位数（天）', h('strong', {}, fmt(o.timeToDecision.medianDays, 1))),
      h('div', {}, '第90百分位（天）', h('strong', {}, fmt(o.timeToDecision.p90Days, 1))),
      h('div', {}, '逾期评审', h('strong', {}, fmt(o.overdueReviews.length, 0))),
      h('div', {}, '待处理申诉', h('strong', {}, fmt(o.openAppeals, 0)))),
    h('h2', {}, '待处理的申诉'),
    d.appeals.length ? h('ul', {}, d.appeals.map((a) => h('li', {}, h('a', { href: `#/p/${a.proposalId}` }, a.proposalTitle), ` · ${day(a.createdAt)} · ${a.opinion ? '已发表意见，待工作室负责人决定' : '待监督小组发表意见'}`, h('div', { class: 'meta' }, a.reason))))
      : h('p', { class: 'meta' }, '没有待处理的申诉。'),
    h('h2', {}, '与评分相悖的决定'),
    o.decisions.some((x) => x.againstScores)
      ? table(['建议', '轮次', '决定', '平均分', '各评审分', '用时', '理由'], o.decisions.filter((x) => x.againstScores).map(decisionRow))
      : h('p', { class: 'meta' }, '没有。'),
    chart('退回率与不采纳率', o.rates.map((r) => ({ label: `${GROUP[r.group]}·${r.name}`, ...r })),
      [{ name: '退回率', value: (r) => r.returnedRate * 100 }, { name: '不采纳率', value: (r) => r.rejectedRate * 100 }], '%'),
    h('h2', {}, '评审一致性（Krippendorff α）'),
    table(['工作室', '指标', 'α', '可比较轮次'], o.agreement.map((a) => [a.studio || '—', names[a.criterion] || a.criterion,
      a.alpha === null ? '数据不足' : fmt(a.alpha, 2), fmt(a.units, 0)])),
    h('p', { class: 'meta' }, 'α = 1 − D_o / D_e：D_o 为同一建议同一轮内评审分的差异，D_e 为全部评分之间的差异（等距尺度）。1 为完全一致，0 相当于随机，负数表示评审人之间的分歧大于随机。少于两轮可比较或评分全无差异时不计算。'),
    h('h2', {}, '评审人宽严度'),
    table(['评审人', '评审份数', '平均分', '与同轮其他评审之差（正为偏宽）', '可比较轮次'],
      o.reviewers.map((r) => [r.reviewer, fmt(r.evaluations, 0), fmt(r.meanScore, 2), r.leniency === null ? '—' : `${r.leniency > 0 ? '+' : ''}${fmt(r.leniency, 2)}`, fmt(r.compared, 0)])),
    h('h2', {}, '逾期评审'),
    o.overdueReviews.length ? table(['建议', '评审人', '截止', '逾期天数'], o.overdueReviews.map((x) => [h('a', { href: `#/p/${x.proposalId}` }, x.title), x.reviewer, x.dueOn, fmt(x.daysOverdue, 0)]))
      : h('p', { class: 'meta' }, '没有逾期评审。'),
    h('h2', {}, '各单位决定'),
    table(['单位', '决定', '采纳', '退回', '不采纳', '退回率', '不采纳率'], o.rates.map((r) => [`${GROUP[r.group]}：${r.name}`, r.decisions, r.accepted, r.returned, r.rejected, pct(r.returnedRate), pct(r.rejectedRate)])),
    h('h2', {}, '全部决定'),
    table(['建议', '轮次', '决定', '平均分', '各评审分', '用时', '理由'], o.decisions.map(decisionRow)),
    h('p', {}, h('a', { href: '#/rules' }, '查看规则变更与待批准的变更 →')),
  );
}

const RULES = `query($insider: Boolean!) { all: ruleChanges { id version kind status note content proposedBy proposedAt decidedBy decisionNote decidedAt rulesVersion }
  pending: ruleChanges(status: PROPOSED) @include(if: $insider) { id }
  evaluationCriteria { version criteria { key name weight description } } }`;

async function rules() {
  page('规则变更');
  const insider = has('ADMIN', 'OVERSEER', 'ASSOCIATION');
  let d;
  try { d = await gql(RULES, { insider }); } catch (err) { fail(err); return; }
  const current = d.evaluationCriteria;
  main.append(h('p', { class: 'meta' }, '评审指标和折算系数的新版本由平台管理员提出，须经职工代表（算法监督员）批准才生效；每份评分和节能量都记录所用版本。'),
    h('h2', {}, `现行评审指标（第 ${current.version} 版）`),
    h('ul', {}, current.criteria.map((c) => h('li', {}, `${c.name} · 权重 ${fmt(c.weight, 1)}`, h('div', { class: 'meta' }, c.description)))),
    h('h2', {}, '变更记录'));
  const list = d.all.filter((c) => insider || c.status === 'APPROVED');
  main.append(list.length ? h('ol', { class: 'rules' }, list.map((c) => {
    const rows = JSON.parse(c.content);
    const item = h('li', { class: 'card' },
      h('p', {}, h('span', { class: 'badge status' }, RULE_STATUS[c.status]), ` ${RULE_KIND[c.kind]}`, c.rulesVersion ? ` · 第 ${c.rulesVersion} 版` : '',
        h('span', { class: 'meta' }, ` · ${c.proposedBy} 提出于 ${day(c.proposedAt)}${c.decidedAt ? ` · ${c.decidedBy} ${c.status === 'APPROVED' ? '批准，生效于' : '审议于'} ${day(c.decidedAt)}` : ''}`)),
      h('p', {}, c.note), c.decisionNote ? h('p', { class: 'meta' }, `监督员意见：${c.decisionNote}`) : null,
      h('ul', { class: 'meta' }, rows.map((r) => h('li', {}, c.kind === 'CRITERIA' ? `${r.name}：权重 ${r.weight}` : `${r.carrier} → ${r.quantity}：${r.publishedFactor} ${r.unit}（${r.source}，${r.year}）`))));
    if (c.status === 'PROPOSED' && has('OVERSEER')) {
      const note = h('textarea', { required: true });
      const decide = (approve) => (e) => busy(e.target, async () => {
        try {
          await mutate(`mutation($input: DecideRuleChangeInput!) { decideRuleChange(input: $input) { userErrors { field code message } } }`,
            { ruleChangeId: c.id, expectedVersion: c.version, approve, note: note.value });
          route();
        } catch (err) { showError(item, err); }
      });
      item.append(...field(`note-${c.id}`, '审议意见', note), h('p', {}, h('button', { type: 'button', onclick: decide(true) }, '批准生效'), ' ',
        h('button', { type: 'button', class: 'secondary', onclick: decide(false) }, '不批准')));
    }
    return item;
  })) : h('p', { class: 'meta' }, '还没有变更。'));
  if (has('ADMIN')) {
    const weights = current.criteria.map((c) => h('input', { type: 'number', min: 0.1, max: 100, step: 'any', value: c.weight, 'aria-label': `${c.name}的权重` }));
    const note = h('textarea', { required: true });
    const button = h('button', { type: 'submit' }, '提交变更（待监督员批准）');
    const form = h('form', { class: 'card', novalidate: true, onsubmit: (e) => {
      e.preventDefault();
      busy(button, async () => {
        try {
          await mutate(`mutation($input: ProposeRuleChangeInput!) { proposeRuleChange(input: $input) { userErrors { field code message } } }`,
            { kind: 'CRITERIA', note: note.value,
              criteria: current.criteria.map((c, i) => ({ key: c.key, name: c.name, description: c.description, weight: Number(weights[i].value) })) });
          route();
        } catch (err) { showError(form, err); }
      });
    } }, h('h2', {}, '提出新的评审权重'),
    ...current.criteria.map((c, i) => h('label', {}, `${c.name} `, weights[i])), ...field('ruleNote', '变更说明', note), h('p', {}, button));
    main.append(form);
  }
}

const SKILL = `query($u: ID) { skillRecord(userId: $u) { name enterprise team employeeNumber submitted accepted adopted promoted evaluationsGiven
  verifiedTce verifiedTco2e points credits challengesAnswered challengeAwards
  byCategory { category asPrimaryAuthor asCoAuthor accepted adopted promoted }
  contributions { number title category status role shareTce shareTco2e } document } }`;

async function skills(userId) {
  page('绿色技能档案');
  let r;
  try { r = (await gql(SKILL, { u: userId || null })).skillRecord; } catch (err) { fail(err); return; }
  const row = (k, v) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, v));
  main.append(h('section', { class: 'skill-record' },
    h('h2', {}, `${r.name} 的绿色技能档案`),
    h('p', { class: 'meta' }, [r.enterprise, r.team, r.employeeNumber ? `工号 ${r.employeeNumber}` : null].filter(Boolean).join(' · ')),
    h('table', {}, h('tbody', {},
      row('提交建议', `${r.submitted} 条`), row('被采纳', `${r.accepted} 条`), row('推广应用', `${r.adopted} 条`), row('入选行业目录', `${r.promoted} 条`),
      row('本人所占核实年节能量', `${fmt(r.verifiedTce, 2)} 吨标准煤`), row('本人所占核实年减排量', `${fmt(r.verifiedTco2e, 2)} 吨二氧化碳当量`),
      row('绿色技能学分', fmt(r.credits, 2)), row('积分', fmt(r.points, 0)), row('完成评审', `${r.evaluationsGiven} 份`),
      row('应答攻关课题', `${r.challengesAnswered} 次（获奖 ${r.challengeAwards} 次）`))),
    h('h3', {}, '按类别与角色'),
    h('table', {}, h('thead', {}, h('tr', {}, ['类别', '第一作者', '共同作者', '采纳', '推广', '入选目录'].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, r.byCategory.map((c) => h('tr', {}, [CATEGORY[c.category] || c.category, c.asPrimaryAuthor, c.asCoAuthor, c.accepted, c.adopted, c.promoted].map((x) => h('td', {}, x)))))),
    h('h3', {}, '计入的建议'),
    h('table', {}, h('thead', {}, h('tr', {}, ['编号', '建议', '类别', '状态', '角色', '本人所占（吨标煤/年）'].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, r.contributions.map((c) => h('tr', {}, [c.number, c.title, CATEGORY[c.category] || c.category, STATUS[c.status] || c.status,
        c.role === 'PRIMARY_AUTHOR' ? '第一作者' : '共同作者', fmt(c.shareTce, 2)].map((x) => h('td', {}, x)))))),
    h('p', { class: 'meta' }, `本档案由服务器签名，评价机构可用 greenline verify 档案文件 --server ${location.origin} 验证。共同作者均分节能量。`)),
  h('p', { class: 'no-print' },
    h('button', { type: 'button', onclick: () => window.print() }, '打印（A4）'), ' ',
    h('button', { type: 'button', class: 'secondary', onclick: () => download(`greenline-绿色技能档案-${r.name}.json`, r.document) }, '下载签名档案')));
  if (has('ENTERPRISE_ADMIN', 'ADMIN') && !userId) {
    const button = h('button', { type: 'button' }, '导出本企业职工档案（职业技能等级认定）');
    button.addEventListener('click', () => busy(button, async () => {
      try {
        const people = await gql('{ people(first: 100) { nodes { id role } } }');
        const ids = people.people.nodes.filter((x) => ['WORKER', 'OVERSEER', 'REVIEWER', 'STUDIO_LEAD'].includes(x.role)).map((x) => x.id);
        const d = await gql('query($ids: [ID!]!) { skillRecords(userIds: $ids) { count document } }', { ids });
        download('greenline-绿色技能档案-本企业.json', d.skillRecords.document);
      } catch (err) { fail(err); }
    }));
    main.append(h('p', { class: 'no-print' }, button));
  }
}

async function route() {
  const [path, query] = (location.hash.slice(1) || '/').split('?');
  const params = new URLSearchParams(query || '');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  renderNav();
  refreshBell();
  const screens = {
    '': home, login, submit: () => submitForm(params), mine,
    challenges: () => challengeBoard(params), c: () => challengePage(parts[1]), help: () => helpBoard(params), h: () => helpPage(parts[1]), review: reviewQueue, manage, search: () => search(params),
    techniques: () => techniques(params), impact, oversight, rules, skills: () => skills(parts[1]), tokens, people: () => people(params), audit, inbox, settings, webhooks,
    p: () => proposalPage(parts[1], params), score: () => scorecard(parts[1]), t: () => technique(parts[1]),
  };
  const screen = screens[parts[0] || ''] || home;
  try { await screen(); } catch (err) { fail(err); }
}

window.addEventListener('hashchange', route);
loadSession().then(loadViewer).then(route);
