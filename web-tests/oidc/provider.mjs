// A real OpenID Provider for the sign-in stories: the certified `oidc-provider` package with a small
// configuration. One process per story, on a port of its own.
//
// Configuration: the JSON in OIDC_TEST_CONFIG —
//   { "clientId", "clientSecret", "redirectUris": [...], "postLogoutRedirectUris": [...],
//     "audience": "greenline-api", "accounts": { "<login>": { "name": …, "email": …, "greenline_role": … } },
//     "idTokenTtl": seconds }
// Sign-in uses the package's own login page (devInteractions): any password, the login names the account.
// A grant for the one client is made on first sign-in, so no consent screen follows the login.
//
// Test-only routes, for what a real provider does rarely or an attacker does:
//   POST /__test/rotate  → a new signing key (new kid); the old one leaves the JWKS.
//   POST /__test/sign    → {"claims": {...}, "foreign": bool} a JWT signed with the current key, or with a
//                          foreign key under the current kid.
//   POST /__test/account → {"login": …, "claims": {...}} adds or changes an account's claims.
// Prints "OIDC_PROVIDER_READY <issuer>" when it listens.
import http from 'node:http';
import crypto from 'node:crypto';
import Provider from 'oidc-provider';
import { exportJWK, generateKeyPair, importJWK, SignJWT } from 'jose';

const cfg = JSON.parse(process.env.OIDC_TEST_CONFIG || '{}');
const clientId = cfg.clientId || 'greenline';
const clientSecret = cfg.clientSecret || 'greenline-test-secret';
const audience = cfg.audience || 'urn:greenline:api';
const accounts = cfg.accounts || {};
const customClaims = ['greenline_enterprise', 'greenline_team', 'greenline_studio', 'greenline_industry', 'greenline_role'];

async function newKey() {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: crypto.randomUUID(), alg: 'RS256', use: 'sig' };
}

let key = await newKey();
let provider;

function build(issuer) {
  const p = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: cfg.redirectUris || [],
      post_logout_redirect_uris: cfg.postLogoutRedirectUris || [],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    jwks: { keys: [key] },
    cookies: { keys: ['greenline-test-cookie-key'] },
    pkce: { required: () => true },
    conformIdTokenClaims: false,
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username', ...customClaims],
      email: ['email', 'email_verified'],
    },
    ttl: { IdToken: cfg.idTokenTtl || 3600, AccessToken: 3600, AuthorizationCode: 60, Session: 3600, Interaction: 600, Grant: 3600 },
    findAccount: async (ctx, sub) => {
      if (!accounts[sub]) return undefined;
      return { accountId: sub, claims: async () => ({ sub, ...accounts[sub] }) };
    },
    loadExistingGrant: async (ctx) => {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) {
        const existing = await ctx.oidc.provider.Grant.find(grantId);
        if (existing) return existing;
      }
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope('openid profile email');
      grant.addResourceScope(audience, 'api');
      await grant.save();
      return grant;
    },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({ scope: 'api', audience, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } }),
      },
    },
  });
  return p;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (c) => { data += c; });
    req.on('end', () => { try { resolve(data ? JSON.parse(data) : {}); } catch (e) { reject(e); } });
  });
}

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const server = http.createServer(async (req, res) => {
  try {
    if (req.method === 'POST' && req.url === '/__test/rotate') {
      key = await newKey();
      provider = build(issuer);
      return json(res, 200, { kid: key.kid });
    }
    if (req.method === 'POST' && req.url === '/__test/sign') {
      const body = await readBody(req);
      const signing = body.foreign ? { ...(await newKey()), kid: key.kid } : key;
      const now = Math.floor(Date.now() / 1000);
      const claims = { iss: issuer, iat: now, exp: now + 300, ...body.claims };
      const jwt = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: signing.kid, typ: 'JWT' })
        .sign(await importJWK(signing, 'RS256'));
      return json(res, 200, { jwt });
    }
    if (req.method === 'POST' && req.url === '/__test/account') {
      const body = await readBody(req);
      accounts[body.login] = body.claims;
      return json(res, 200, { ok: true });
    }
    provider.callback()(req, res);
  } catch (e) {
    json(res, 500, { error: String(e) });
  }
});

let issuer;
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  issuer = `http://127.0.0.1:${server.address().port}`;
  provider = build(issuer);
  console.log(`OIDC_PROVIDER_READY ${issuer}`);
});
process.on('SIGTERM', () => process.exit(0));
