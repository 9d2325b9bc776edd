// A real OpenID provider (panva/oidc-provider) for Baoxiao's SSO tests.
//
// Configuration comes as JSON in OIDC_TEST_CONFIG:
//   { "clients": [{ "client_id", "client_secret", "redirect_uris", "post_logout_redirect_uris" }],
//     "users": { "<sub>": { "email", "employee_number", "name", "groups": [...] } } }
// Every user's email_verified is true unless their entry says otherwise; a claim set to
// null is not sent at all (e.g. "email_verified": null, as many providers do).
// It listens on 127.0.0.1 on a free port, prints "READY <issuer>" on stdout once it
// serves, and stops on SIGTERM. PKCE (S256) is required of every client, RP-initiated
// logout is on, and sign-in uses the provider's development login form (any password).
//
// For the failure cases a real provider will not produce on request, POST
// /__test/tamper {"mode": ...} rewrites the id_token of the NEXT token response:
//   rogue_key     signed with a key that is not in the published JWKS (same kid)
//   expired       exp and iat two hours in the past (signed with the real key)
//   wrong_aud     aud is another client
//   wrong_iss     iss is another issuer
//   bad_nonce     nonce replaced
//   alg_none      unsigned (alg "none")
//   old_auth_time auth_time an hour ago (a provider that ignored prompt=login/max_age)
//   no_auth_time  auth_time left out
// or, for mode other_sub, the NEXT userinfo response, whose sub is then someone else's.
// POST /__test/users {"<sub>": {...claims}} replaces those users' claims (e.g. groups
// changed at the provider between two sign-ins).
import * as http from 'node:http';
import * as jose from 'jose';
import Provider from 'oidc-provider';

const config = JSON.parse(process.env.OIDC_TEST_CONFIG || '{}');
const users = config.users || {};
const KID = 'baoxiao-test-1';
const TAMPER_MODES = new Set([
  'rogue_key', 'expired', 'wrong_aud', 'wrong_iss', 'bad_nonce', 'alg_none',
  'old_auth_time', 'no_auth_time', 'other_sub',
]);
const USERINFO_MODES = new Set(['other_sub']);

async function keyPair() {
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  return { privateKey, jwk: { ...(await jose.exportJWK(privateKey)), kid: KID, alg: 'RS256', use: 'sig' } };
}

const real = await keyPair();
const rogue = await keyPair();
let tamperMode = null;

async function tamper(idToken, issuer) {
  const mode = tamperMode;
  tamperMode = null;
  const claims = jose.decodeJwt(idToken);
  const now = Math.floor(Date.now() / 1000);
  if (mode === 'expired') Object.assign(claims, { iat: now - 7200, exp: now - 3600 });
  if (mode === 'wrong_aud') claims.aud = 'some-other-client';
  if (mode === 'wrong_iss') claims.iss = `${issuer}/elsewhere`;
  if (mode === 'bad_nonce') claims.nonce = 'not-the-nonce-you-sent';
  if (mode === 'old_auth_time') claims.auth_time = now - 3600;
  if (mode === 'no_auth_time') delete claims.auth_time;
  if (mode === 'alg_none') {
    return `${jose.base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${jose.base64url.encode(JSON.stringify(claims))}.`;
  }
  const key = mode === 'rogue_key' ? rogue.privateKey : real.privateKey;
  return new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: KID, typ: 'JWT' }).sign(key);
}

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: (config.clients || []).map((client) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...client,
  })),
  jwks: { keys: [real.jwk] },
  cookies: { keys: ['baoxiao-test-cookie-key-0123456789'] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    employee: ['employee_number'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'employee', 'groups'],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  ttl: { AuthorizationCode: 60, IdToken: 3600, AccessToken: 3600, Session: 3600, Grant: 3600, Interaction: 600 },
  async findAccount(_ctx, sub) {
    const user = users[sub];
    if (!user) return undefined;
    return {
      accountId: sub,
      async claims() {
        const claims = { sub, email_verified: true, ...users[sub] };
        return Object.fromEntries(Object.entries(claims).filter(([, value]) => value !== null));
      },
    };
  },
});
provider.proxy = false;

async function jsonBody(ctx) {
  const chunks = [];
  for await (const chunk of ctx.req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString() || '{}');
}

provider.use(async (ctx, next) => {
  if (ctx.path === '/__test/users' && ctx.method === 'POST') {
    Object.assign(users, await jsonBody(ctx));
    ctx.status = 204;
    return;
  }
  if (ctx.path === '/__test/tamper' && ctx.method === 'POST') {
    const { mode } = await jsonBody(ctx);
    if (mode !== null && !TAMPER_MODES.has(mode)) {
      ctx.status = 400;
      ctx.body = { error: `unknown tamper mode ${mode}` };
      return;
    }
    tamperMode = mode;
    ctx.status = 204;
    return;
  }
  await next();
  if (USERINFO_MODES.has(tamperMode)) {
    if (ctx.path === '/me' && ctx.body && ctx.body.sub) {
      tamperMode = null;
      ctx.body = { ...ctx.body, sub: `not-${ctx.body.sub}` };
    }
    return;
  }
  if (ctx.path === '/token' && tamperMode && ctx.body && ctx.body.id_token) {
    ctx.body = { ...ctx.body, id_token: await tamper(ctx.body.id_token, issuer) };
  }
});

server.on('request', provider.callback());
process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('SIGINT', () => server.close(() => process.exit(0)));
process.stdout.write(`READY ${issuer}\n`);
