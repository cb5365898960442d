#!/usr/bin/env node
// Smoke test of provider.mjs: starts it as a child process with a temporary
// configuration and drives real authorization code flows with plain fetch.
//
//   node tests/oidc/smoke.mjs
//
// Exits non-zero on any failure; the last line is "N passed, N failed".

import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  createRemoteJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, SignJWT,
} from 'jose';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REDIRECT_URI = 'http://127.0.0.1:9/sca/callback'; // never contacted
const ID_TOKEN_TTL = 120;
const BASIC = { id: 'guichet', secret: 'smoke secret with spaces & symbols:%' };
const PKJWT = { id: 'guichet-pkjwt' };
const ACR_2FA = 'urn:bank:sca:2fa';
const ACR_1FA = 'urn:bank:sca:1fa';

let passed = 0;
let failed = 0;

function assert(condition, message) {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

function assertEq(actual, expected, message) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`assertion failed: ${message}: expected ${e}, got ${a}`);
}

async function test(name, fn) {
  const started = Date.now();
  try {
    await fn();
    passed += 1;
    console.log(`ok   - ${name} (${Date.now() - started} ms)`);
  } catch (err) {
    failed += 1;
    console.log(`FAIL - ${name}\n       ${(err.stack ?? String(err)).split('\n').join('\n       ')}`);
  }
}

// ---------------------------------------------------------------------------
// A minimal cookie jar (name, value, path; host-only on 127.0.0.1)
// ---------------------------------------------------------------------------

class CookieJar {
  cookies = new Map(); // key "path\0name" -> { name, value, path }

  store(response, requestUrl) {
    for (const header of response.headers.getSetCookie()) {
      const [pair, ...attrs] = header.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let cookiePath = new URL(requestUrl).pathname.replace(/\/[^/]*$/, '') || '/';
      let expired = false;
      for (const attr of attrs) {
        const [k, v = ''] = attr.split('=');
        const key = k.trim().toLowerCase();
        if (key === 'path') cookiePath = v.trim();
        if (key === 'max-age' && Number(v) <= 0) expired = true;
        if (key === 'expires' && Date.parse(v) <= Date.now()) expired = true;
      }
      const id = `${cookiePath}\0${name}`;
      if (expired) this.cookies.delete(id);
      else this.cookies.set(id, { name, value, path: cookiePath });
    }
  }

  header(url) {
    const { pathname } = new URL(url);
    const matching = [...this.cookies.values()].filter((c) => (
      pathname === c.path
      || pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)
    ));
    // Longer paths first, as browsers do.
    matching.sort((a, b) => b.path.length - a.path.length);
    return matching.map((c) => `${c.name}=${c.value}`).join('; ');
  }
}

// One browser request (no automatic redirects), with the jar's cookies.
async function browse(jar, url, { method = 'GET', form } = {}) {
  const headers = {};
  const cookie = jar.header(url);
  if (cookie) headers.cookie = cookie;
  let body;
  if (form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(form).toString();
  }
  const response = await fetch(url, { method, headers, body, redirect: 'manual' });
  jar.store(response, url);
  return response;
}

// Follows redirects like a browser. Stops on a non-redirect response or on a
// redirect to the client's redirect_uri (returned as `callback`).
async function follow(jar, url, options) {
  let response = await browse(jar, url, options);
  let current = url;
  for (let hops = 0; hops < 15; hops += 1) {
    if (![301, 302, 303, 307, 308].includes(response.status)) {
      return { response, url: current, html: await response.text() };
    }
    const location = new URL(response.headers.get('location'), current).href;
    if (location.startsWith(REDIRECT_URI)) {
      await response.arrayBuffer();
      return { callback: new URL(location) };
    }
    await response.arrayBuffer();
    current = location;
    response = await browse(jar, current);
  }
  throw new Error('too many redirects');
}

// ---------------------------------------------------------------------------
// Flow helpers
// ---------------------------------------------------------------------------

function pkcePair() {
  const verifier = crypto.randomBytes(32).toString('base64url');
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

function authorizationUrl(discovery, clientId, { acrValues, pkce, state, nonce, extra = {} }) {
  const u = new URL(discovery.authorization_endpoint);
  u.search = new URLSearchParams({
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    response_type: 'code',
    scope: 'openid',
    state,
    nonce,
    ...(pkce ? { code_challenge: pkce.challenge, code_challenge_method: 'S256' } : {}),
    ...(acrValues ? { acr_values: acrValues } : {}),
    ...extra,
  }).toString();
  return u.href;
}

function loginFormAction(html, pageUrl) {
  const m = /<form[^>]*id="login-form"[^>]*action="([^"]+)"/.exec(html);
  assert(m, `login form not found in page ${pageUrl}`);
  return new URL(m[1].replaceAll('&amp;', '&'), pageUrl).href;
}

// Starts an authorization request and returns the login page.
async function startAuthorization(discovery, clientId, options = {}) {
  const jar = options.jar ?? new CookieJar();
  const pkce = pkcePair();
  const state = crypto.randomBytes(12).toString('base64url');
  const nonce = crypto.randomBytes(12).toString('base64url');
  const url = authorizationUrl(discovery, clientId, { ...options, pkce, state, nonce });
  const page = await follow(jar, url);
  return { jar, pkce, state, nonce, page };
}

// A full browser flow up to the redirect to the client: returns the callback
// URL's parameters plus the PKCE verifier / state / nonce used.
async function authorize(discovery, clientId, { login, password, acrValues, cancel = false } = {}) {
  const flow = await startAuthorization(discovery, clientId, { acrValues });
  const { page } = flow;
  assert(!page.callback, 'expected a login page, got a redirect to the client');
  assertEq(page.response.status, 200, 'login page status');
  const action = loginFormAction(page.html, page.url);
  const form = cancel ? { action: 'cancel' } : { login, password, action: 'login' };
  const result = await follow(flow.jar, action, { method: 'POST', form });
  assert(result.callback, `expected a redirect to the client, got ${result.response?.status}: ${result.html?.slice(0, 300)}`);
  return { ...flow, params: result.callback.searchParams };
}

function basicAuth(id, secret) {
  const enc = (s) => encodeURIComponent(s);
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

async function tokenRequest(discovery, form, headers = {}) {
  const response = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  return { status: response.status, json: await response.json() };
}

async function exchangeBasic(discovery, code, verifier) {
  return tokenRequest(discovery, {
    grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier,
  }, { authorization: basicAuth(BASIC.id, BASIC.secret) });
}

async function clientAssertion(discovery, privateKey, { jti = crypto.randomUUID() } = {}) {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: 'smoke-client-key' })
    .setIssuer(PKJWT.id)
    .setSubject(PKJWT.id)
    .setAudience(discovery.token_endpoint)
    .setJti(jti)
    .setIssuedAt()
    .setExpirationTime('60s')
    .sign(privateKey);
}

// ---------------------------------------------------------------------------
// Provider child process
// ---------------------------------------------------------------------------

function startProvider(configPath) {
  const child = spawn(process.execPath, [
    path.join(HERE, 'provider.mjs'), '--port', '0', '--config', configPath, '--exit-with-stdin',
  ], { stdio: ['pipe', 'pipe', 'pipe'] });
  const stderrLines = [];
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => {
    stderrLines.push(d);
    if (process.env.SMOKE_VERBOSE) process.stderr.write(d);
  });
  const ready = new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`provider did not start in time:\n${stderrLines.join('')}`)), 20_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      buffer += d;
      const nl = buffer.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(buffer.slice(0, nl)));
        } catch (err) {
          reject(new Error(`bad ready line ${JSON.stringify(buffer.slice(0, nl))}: ${err.message}`));
        }
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`provider exited early (${code}):\n${stderrLines.join('')}`));
    });
  });
  return { child, ready, stderr: () => stderrLines.join('') };
}

async function admin(issuer, route, body) {
  const response = await fetch(`${issuer}/__admin/${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  });
  assertEq(response.status, 200, `admin ${route} status`);
  return response.json();
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

async function main() {
  const { publicKey: clientPublic, privateKey: clientPrivate } = await generateKeyPair('ES256', { extractable: true });
  const clientJwk = { ...(await exportJWK(clientPublic)), kid: 'smoke-client-key', alg: 'ES256', use: 'sig' };

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'guichet-oidc-smoke-'));
  const configPath = path.join(dir, 'config.json');
  fs.writeFileSync(configPath, JSON.stringify({
    idTokenTtlSeconds: ID_TOKEN_TTL,
    clients: [
      {
        client_id: BASIC.id,
        client_secret: BASIC.secret,
        redirect_uris: [REDIRECT_URI],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'RS256',
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
      {
        client_id: PKJWT.id,
        jwks: { keys: [clientJwk] },
        redirect_uris: [REDIRECT_URI],
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'ES256',
        id_token_signed_response_alg: 'ES256',
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    accounts: [
      {
        login: 'GEORGES', password: 'georges-pass', sub: 'psu-georges',
        claims: { psu_id: 'GEORGES', name: 'Georges Abitbol' },
        acr: ACR_2FA, amr: ['pwd', 'otp'], cancel: false,
      },
      {
        login: 'LUCIENNE', password: 'lucienne-pass', sub: 'psu-lucienne',
        claims: { psu_id: 'LUCIENNE', name: 'Lucienne Dupont' },
        acr: ACR_1FA, amr: ['pwd'], cancel: false,
      },
      {
        login: 'REFUSE', password: 'refuse-pass', sub: 'psu-refuse',
        claims: { psu_id: 'REFUSE' },
        acr: ACR_2FA, amr: ['pwd', 'otp'], cancel: true,
      },
    ],
  }, null, 2));

  const provider = startProvider(configPath);
  try {
    const ready = await provider.ready;
    const { issuer, port } = ready;
    console.log(`provider ready: ${JSON.stringify(ready)}`);

    let discovery;
    await test('ready line and discovery', async () => {
      assertEq(Object.keys(ready), ['issuer', 'port'], 'ready line keys');
      assertEq(issuer, `http://127.0.0.1:${port}`, 'issuer');
      const response = await fetch(`${issuer}/.well-known/openid-configuration`);
      assertEq(response.status, 200, 'discovery status');
      discovery = await response.json();
      assertEq(discovery.issuer, issuer, 'discovery issuer (no trailing slash)');
      assertEq(discovery.authorization_endpoint, `${issuer}/auth`, 'authorization_endpoint');
      assertEq(discovery.token_endpoint, `${issuer}/token`, 'token_endpoint');
      assertEq(discovery.jwks_uri, `${issuer}/jwks`, 'jwks_uri');
      assertEq(discovery.code_challenge_methods_supported, ['S256'], 'PKCE methods');
      for (const m of ['client_secret_basic', 'private_key_jwt']) {
        assert(discovery.token_endpoint_auth_methods_supported.includes(m), `auth method ${m}`);
      }
      for (const alg of ['RS256', 'ES256']) {
        assert(discovery.id_token_signing_alg_values_supported.includes(alg), `id token alg ${alg}`);
      }
      assert(discovery.acr_values_supported.includes(ACR_2FA), 'acr 2fa supported');
      assert(discovery.claims_supported.includes('amr'), 'amr claim supported');
    });
    if (!discovery) throw new Error('no discovery, giving up');

    const jwksUrl = new URL(discovery.jwks_uri);
    let firstKid;
    let firstIdToken;

    await test('code flow, wrong password then login, client_secret_basic, ID token verified', async () => {
      const flow = await startAuthorization(discovery, BASIC.id, {});
      const { page, jar } = flow;
      assertEq(page.response.status, 200, 'login page status');
      for (const id of ['login', 'password', 'submit', 'cancel']) {
        assert(page.html.includes(`id="${id}"`), `login page has element #${id}`);
      }
      assert(!page.html.includes('id="error"'), 'no error on first display');
      const action = loginFormAction(page.html, page.url);

      const wrong = await follow(jar, action, { method: 'POST', form: { login: 'GEORGES', password: 'nope' } });
      assert(!wrong.callback, 'wrong password must not redirect to the client');
      assertEq(wrong.response.status, 200, 'wrong password page status');
      assert(wrong.html.includes('id="error"'), 'wrong password shows #error');
      assert(wrong.html.includes('id="login"'), 'wrong password shows the form again');

      const ok = await follow(jar, loginFormAction(wrong.html, wrong.url), {
        method: 'POST', form: { login: 'GEORGES', password: 'georges-pass' },
      });
      assert(ok.callback, `expected redirect to client, got ${ok.response?.status}`);
      const params = ok.callback.searchParams;
      assertEq(params.get('state'), flow.state, 'state echoed');
      assertEq(params.get('iss'), issuer, 'iss in authorization response (RFC 9207)');
      assert(params.get('code'), 'code present');

      const token = await exchangeBasic(discovery, params.get('code'), flow.pkce.verifier);
      assertEq(token.status, 200, `token status ${JSON.stringify(token.json)}`);
      assertEq(token.json.token_type, 'Bearer', 'token_type');
      assert(token.json.access_token, 'access_token');
      assert(token.json.id_token, 'id_token');

      const header = decodeProtectedHeader(token.json.id_token);
      assertEq(header.alg, 'RS256', 'ID token alg');
      assert(header.kid, 'ID token has a kid');
      const { payload } = await jwtVerify(token.json.id_token, createRemoteJWKSet(jwksUrl), {
        issuer, audience: BASIC.id, algorithms: ['RS256'],
      });
      if (process.env.SMOKE_VERBOSE) {
        console.log(`token response keys: ${Object.keys(token.json).join(', ')}`);
        console.log(`ID token header: ${JSON.stringify(header)}`);
        console.log(`ID token claims: ${JSON.stringify(payload)}`);
      }
      assertEq(payload.nonce, flow.nonce, 'nonce');
      assertEq(payload.sub, 'psu-georges', 'sub');
      assertEq(payload.acr, ACR_2FA, 'acr');
      assertEq(payload.amr, ['pwd', 'otp'], 'amr');
      assertEq(payload.psu_id, 'GEORGES', 'psu_id claim');
      assertEq(payload.name, 'Georges Abitbol', 'name claim');
      assertEq(payload.exp - payload.iat, ID_TOKEN_TTL, 'ID token lifetime = idTokenTtlSeconds');
      assert(typeof payload.auth_time === 'number', 'auth_time');
      firstKid = header.kid;
      firstIdToken = token.json.id_token;

      const userinfo = await fetch(discovery.userinfo_endpoint, {
        headers: { authorization: `Bearer ${token.json.access_token}` },
      });
      assertEq(userinfo.status, 200, 'userinfo status');
      assertEq((await userinfo.json()).psu_id, 'GEORGES', 'userinfo psu_id');

      const replay = await exchangeBasic(discovery, params.get('code'), flow.pkce.verifier);
      assertEq(replay.status, 400, 'code reuse rejected');
      assertEq(replay.json.error, 'invalid_grant', 'code reuse error');
    });

    await test('PKCE: wrong verifier rejected, missing challenge refused', async () => {
      const { params } = await authorize(discovery, BASIC.id, { login: 'GEORGES', password: 'georges-pass' });
      const bad = await exchangeBasic(discovery, params.get('code'), pkcePair().verifier);
      assertEq(bad.status, 400, 'wrong verifier status');
      assertEq(bad.json.error, 'invalid_grant', 'wrong verifier error');

      const jar = new CookieJar();
      const url = authorizationUrl(discovery, BASIC.id, { state: 's1', nonce: 'n1' });
      const result = await follow(jar, url);
      assert(result.callback, 'missing PKCE redirects to the client with an error');
      assertEq(result.callback.searchParams.get('error'), 'invalid_request', 'missing PKCE error');
      assertEq(result.callback.searchParams.get('state'), 's1', 'state on error');
    });

    await test('wrong client secret rejected', async () => {
      const { params, pkce } = await authorize(discovery, BASIC.id, { login: 'GEORGES', password: 'georges-pass' });
      const token = await tokenRequest(discovery, {
        grant_type: 'authorization_code', code: params.get('code'), redirect_uri: REDIRECT_URI, code_verifier: pkce.verifier,
      }, { authorization: basicAuth(BASIC.id, 'wrong') });
      assertEq(token.status, 401, 'status');
      assertEq(token.json.error, 'invalid_client', 'error');
    });

    await test('acr_values above the account level: account acr/amr returned anyway', async () => {
      const { params, pkce, nonce } = await authorize(discovery, BASIC.id, {
        login: 'LUCIENNE', password: 'lucienne-pass', acrValues: ACR_2FA,
      });
      const token = await exchangeBasic(discovery, params.get('code'), pkce.verifier);
      assertEq(token.status, 200, 'token status');
      const { payload } = await jwtVerify(token.json.id_token, createRemoteJWKSet(jwksUrl), { issuer, audience: BASIC.id });
      assertEq(payload.nonce, nonce, 'nonce');
      assertEq(payload.acr, ACR_1FA, 'acr is the account level');
      assertEq(payload.amr, ['pwd'], 'amr');
    });

    await test('cancel button: error=access_denied on the redirect', async () => {
      const { params, state } = await authorize(discovery, BASIC.id, { cancel: true });
      assertEq(params.get('error'), 'access_denied', 'error');
      assertEq(params.get('state'), state, 'state');
      assert(!params.get('code'), 'no code');
    });

    await test('account with cancel: true refuses: error=access_denied', async () => {
      const { params } = await authorize(discovery, BASIC.id, { login: 'REFUSE', password: 'refuse-pass' });
      assertEq(params.get('error'), 'access_denied', 'error');
      assert(!params.get('code'), 'no code');
    });

    await test('private_key_jwt client, ES256 ID token', async () => {
      const { params, pkce, nonce } = await authorize(discovery, PKJWT.id, { login: 'GEORGES', password: 'georges-pass' });
      const jti = crypto.randomUUID();
      const form = {
        grant_type: 'authorization_code',
        code: params.get('code'),
        redirect_uri: REDIRECT_URI,
        code_verifier: pkce.verifier,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: await clientAssertion(discovery, clientPrivate, { jti }),
      };
      const token = await tokenRequest(discovery, form);
      assertEq(token.status, 200, `token status ${JSON.stringify(token.json)}`);
      assertEq(decodeProtectedHeader(token.json.id_token).alg, 'ES256', 'ID token alg');
      const { payload } = await jwtVerify(token.json.id_token, createRemoteJWKSet(jwksUrl), {
        issuer, audience: PKJWT.id, algorithms: ['ES256'],
      });
      assertEq(payload.nonce, nonce, 'nonce');
      assertEq(payload.acr, ACR_2FA, 'acr');
      assertEq(payload.amr, ['pwd', 'otp'], 'amr');

      // A replayed assertion (same jti) is refused.
      const again = await authorize(discovery, PKJWT.id, { login: 'GEORGES', password: 'georges-pass' });
      const replay = await tokenRequest(discovery, {
        ...form, code: again.params.get('code'), code_verifier: again.pkce.verifier,
      });
      assertEq(replay.status, 401, 'replayed assertion status');
      assertEq(replay.json.error, 'invalid_client', 'replayed assertion error');
    });

    await test('key rotation: new kid, old kid still published, pending interaction survives', async () => {
      assert(firstKid, 'needs the first test');
      // Start a flow before the rotation, finish it after.
      const pending = await startAuthorization(discovery, BASIC.id, {});
      const rotated = await admin(issuer, 'rotate');
      assert(rotated.active.RS256 && rotated.active.RS256 !== firstKid, 'active RS256 kid changed');
      assert(rotated.kids.includes(firstKid), 'old kid kept');

      const jwks = await (await fetch(discovery.jwks_uri)).json();
      const kids = jwks.keys.map((k) => k.kid);
      assert(kids.includes(firstKid), 'JWKS still lists the old kid');
      assert(kids.includes(rotated.active.RS256), 'JWKS lists the new kid');
      assertEq(kids[0], rotated.active.RS256, 'new key first in JWKS');
      assert(jwks.keys.every((k) => !k.d), 'JWKS has public keys only');

      const done = await follow(pending.jar, loginFormAction(pending.page.html, pending.page.url), {
        method: 'POST', form: { login: 'GEORGES', password: 'georges-pass' },
      });
      assert(done.callback?.searchParams.get('code'), 'pending flow completes after rotation');
      const token = await exchangeBasic(discovery, done.callback.searchParams.get('code'), pending.pkce.verifier);
      assertEq(token.status, 200, 'token status');
      const header = decodeProtectedHeader(token.json.id_token);
      assertEq(header.kid, rotated.active.RS256, 'new ID token signed with the new key');
      assert(header.kid !== firstKid, 'kid changed');
      const set = createRemoteJWKSet(jwksUrl);
      const { payload } = await jwtVerify(token.json.id_token, set, { issuer, audience: BASIC.id });
      assertEq(payload.nonce, pending.nonce, 'nonce');
      // The token signed before the rotation still verifies.
      await jwtVerify(firstIdToken, set, { issuer, audience: BASIC.id });
    });

    await test('same browser: silent re-authorization, prompt=login asks again', async () => {
      const first = await authorize(discovery, BASIC.id, { login: 'GEORGES', password: 'georges-pass' });
      assert(first.params.get('code'), 'first code');
      // Same cookies, no prompt: the provider session is reused, no login page.
      const silent = await follow(first.jar, authorizationUrl(discovery, BASIC.id, {
        pkce: pkcePair(), state: 's2', nonce: 'n2',
      }));
      assert(silent.callback?.searchParams.get('code'), 'silent re-authorization gives a code');
      // prompt=login forces the login form.
      const forced = await follow(first.jar, authorizationUrl(discovery, BASIC.id, {
        pkce: pkcePair(), state: 's3', nonce: 'n3', extra: { prompt: 'login' },
      }));
      assert(!forced.callback, 'prompt=login shows the login page');
      assert(forced.html.includes('id="login"'), 'login form shown');
    });

    await test('admin: add a client at run time', async () => {
      const secret = 'late-client-secret';
      const added = await admin(issuer, 'clients', {
        clients: [{
          client_id: 'late',
          client_secret: secret,
          redirect_uris: [REDIRECT_URI],
          token_endpoint_auth_method: 'client_secret_basic',
          id_token_signed_response_alg: 'RS256',
          grant_types: ['authorization_code'],
          response_types: ['code'],
        }],
      });
      assert(added.clients.includes('late') && added.clients.includes(BASIC.id), 'client list');
      const { params, pkce } = await authorize(discovery, 'late', { login: 'GEORGES', password: 'georges-pass' });
      const token = await tokenRequest(discovery, {
        grant_type: 'authorization_code', code: params.get('code'), redirect_uri: REDIRECT_URI, code_verifier: pkce.verifier,
      }, { authorization: basicAuth('late', secret) });
      assertEq(token.status, 200, 'token status');
      const bad = await fetch(`${issuer}/__admin/clients`, {
        method: 'POST', body: JSON.stringify({ clients: [{ client_id: 'broken', redirect_uris: ['not a url'] }] }),
      });
      assertEq(bad.status, 400, 'invalid client metadata refused');
      await bad.arrayBuffer();
      const state = await (await fetch(`${issuer}/__admin/state`)).json();
      assert(!state.clients.includes('broken'), 'broken client not kept');
      assertEq(state.down, false, 'state.down');
    });

    await test('down / up', async () => {
      await admin(issuer, 'down');
      const down = await fetch(`${issuer}/.well-known/openid-configuration`);
      assertEq(down.status, 503, 'discovery while down');
      await down.arrayBuffer();
      const tokenDown = await fetch(discovery.token_endpoint, { method: 'POST' });
      assertEq(tokenDown.status, 503, 'token endpoint while down');
      await tokenDown.arrayBuffer();
      await admin(issuer, 'up');
      const up = await fetch(`${issuer}/.well-known/openid-configuration`);
      assertEq(up.status, 200, 'discovery after up');
      await up.arrayBuffer();
    });

    await test('slow responses', async () => {
      await admin(issuer, 'slow', { ms: 400 });
      const t0 = Date.now();
      const slow = await fetch(`${issuer}/.well-known/openid-configuration`);
      await slow.arrayBuffer();
      const elapsed = Date.now() - t0;
      assert(elapsed >= 380, `response delayed (${elapsed} ms)`);
      await admin(issuer, 'slow', { ms: 0 });
      const t1 = Date.now();
      await (await fetch(`${issuer}/.well-known/openid-configuration`)).arrayBuffer();
      assert(Date.now() - t1 < 380, 'delay removed');
    });

    await test('admin endpoints refuse GET for actions', async () => {
      const r = await fetch(`${issuer}/__admin/rotate`);
      assertEq(r.status, 405, 'GET /__admin/rotate');
      await r.arrayBuffer();
    });
  } catch (err) {
    failed += 1;
    console.log(`FAIL - setup\n       ${err.stack ?? err}`);
  } finally {
    provider.child.stdin.end(); // --exit-with-stdin
    provider.child.kill('SIGTERM');
    await new Promise((resolve) => {
      if (provider.child.exitCode !== null) resolve();
      else provider.child.once('exit', resolve);
    });
    fs.rmSync(dir, { recursive: true, force: true });
    if (failed && !process.env.SMOKE_VERBOSE) {
      console.log('--- provider stderr ---');
      console.log(provider.stderr());
    }
  }
}

await main();
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
