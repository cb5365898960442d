#!/usr/bin/env node
// Guichet test OpenID Connect provider.
//
// A real OpenID Connect provider (the certified `oidc-provider` library) for
// Guichet's integration tests: authorization code flow with PKCE (S256),
// state, nonce, client_secret_basic / client_secret_post / private_key_jwt,
// ID tokens carrying the account's `acr` and `amr`, a JWKS whose signing keys
// can be rotated at run time, and switches to make the provider slow or down.
//
//   node provider.mjs --port 0 --config example-config.json [--exit-with-stdin]
//
// Once listening it prints exactly one line of JSON on stdout:
//   {"issuer":"http://127.0.0.1:PORT","port":PORT}
// Everything else (logs, library notices) goes to stderr.
// See README.md in this folder for the configuration format and the admin
// endpoints.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { parseArgs } from 'node:util';

import { calculateJwkThumbprint } from 'jose';
import { Provider, errors } from 'oidc-provider';

// The library prints some notices with console.info (stdout). stdout is
// reserved for the single "ready" line, so route every console output to
// stderr before anything else can print.
console.log = console.error;
console.info = console.error;
console.debug = console.error;

const HOST = '127.0.0.1';
const MAX_BODY_BYTES = 64 * 1024;

function fail(message) {
  process.stderr.write(`provider.mjs: ${message}\n`);
  process.exit(2);
}

function log(message) {
  process.stderr.write(`[oidc ${new Date().toISOString()}] ${message}\n`);
}

// ---------------------------------------------------------------------------
// Command line and configuration
// ---------------------------------------------------------------------------

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      config: { type: 'string' },
      'exit-with-stdin': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  }));
} catch (err) {
  fail(err.message);
}

if (args.help) {
  process.stderr.write('usage: node provider.mjs --port PORT --config FILE [--exit-with-stdin]\n');
  process.exit(0);
}
if (!args.config) fail('--config FILE is required');

const requestedPort = Number(args.port);
if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65535) {
  fail(`invalid --port ${args.port}`);
}

let config;
try {
  config = JSON.parse(fs.readFileSync(args.config, 'utf8'));
} catch (err) {
  fail(`cannot read config ${args.config}: ${err.message}`);
}

function checkClients(clients) {
  if (!Array.isArray(clients) || clients.length === 0) {
    throw new Error('"clients" must be a non-empty array');
  }
  for (const c of clients) {
    if (!c || typeof c.client_id !== 'string' || !c.client_id) {
      throw new Error('every client needs a string "client_id"');
    }
  }
}

function checkAccounts(accounts) {
  if (!Array.isArray(accounts) || accounts.length === 0) {
    throw new Error('"accounts" must be a non-empty array');
  }
  for (const a of accounts) {
    for (const field of ['login', 'password', 'sub', 'acr']) {
      if (!a || typeof a[field] !== 'string' || !a[field]) {
        throw new Error(`every account needs a string "${field}"`);
      }
    }
    if (a.amr !== undefined && (!Array.isArray(a.amr) || !a.amr.every((v) => typeof v === 'string'))) {
      throw new Error(`account ${a.login}: "amr" must be an array of strings`);
    }
    if (a.claims !== undefined && (typeof a.claims !== 'object' || a.claims === null || Array.isArray(a.claims))) {
      throw new Error(`account ${a.login}: "claims" must be an object`);
    }
  }
}

function positiveNumber(name, fallback) {
  const v = config[name];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(`"${name}" must be a non-negative number`);
  return v;
}

try {
  checkClients(config.clients);
  checkAccounts(config.accounts);
} catch (err) {
  fail(`invalid config: ${err.message}`);
}

const idTokenTtl = positiveNumber('idTokenTtlSeconds', 3600) || 3600;
const accessTokenTtl = positiveNumber('accessTokenTtlSeconds', 3600) || 3600;
const codeTtl = positiveNumber('authorizationCodeTtlSeconds', 60) || 60;
const rotateEvery = positiveNumber('rotateKeysAfterSeconds', 0);
const keyGenerations = Math.max(2, Math.floor(positiveNumber('keyGenerationsKept', 5)));

// Mutable run-time state (changed by the admin endpoints).
const state = {
  clients: structuredClone(config.clients),
  accounts: structuredClone(config.accounts),
  slowMs: positiveNumber('slowMs', 0),
  down: false,
  keys: [], // private JWKs, newest first; the first RSA / EC key signs.
  rotations: 0,
  jwksRequests: 0, // requests for the JWKS, counted as they arrive
};

// ---------------------------------------------------------------------------
// Storage shared by every Provider instance (so that a key rotation, which
// builds a new instance, keeps sessions, interactions, codes and grants).
// ---------------------------------------------------------------------------

class SharedStore {
  #entries = new Map();

  get(key) {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key, value, expiresInSeconds) {
    const expiresAt = typeof expiresInSeconds === 'number'
      ? Date.now() + expiresInSeconds * 1000
      : undefined;
    this.#entries.set(key, { value, expiresAt });
  }

  delete(key) {
    this.#entries.delete(key);
  }

  sweep() {
    const now = Date.now();
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) this.#entries.delete(key);
    }
  }
}

const store = new SharedStore();
setInterval(() => store.sweep(), 30_000).unref();

// Models whose instances belong to a grant (revokeByGrantId removes them).
const GRANT_BOUND = new Set([
  'AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode',
  'BackchannelAuthenticationRequest', 'PreAuthorizedCode',
]);
// Slack added to every expiry, like the library's clock tolerance.
const EXPIRY_SLACK_SECONDS = 15;

// The adapter interface documented by oidc-provider (upsert, find,
// findByUid, findByUserCode, consume, destroy, revokeByGrantId).
class SharedAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const ttl = typeof expiresIn === 'number' ? expiresIn + EXPIRY_SLACK_SECONDS : undefined;
    const key = this.key(id);
    store.set(key, structuredClone(payload), ttl);
    if (this.model === 'Session' && payload.uid) {
      store.set(`sessionUid:${payload.uid}`, id, ttl);
    }
    if (payload.userCode) {
      store.set(`userCode:${payload.userCode}`, id, ttl);
    }
    if (GRANT_BOUND.has(this.model) && payload.grantId) {
      const indexKey = `grant:${payload.grantId}`;
      const members = store.get(indexKey) ?? new Set();
      members.add(key);
      store.set(indexKey, members);
    }
  }

  async find(id) {
    const value = store.get(this.key(id));
    return value === undefined ? undefined : structuredClone(value);
  }

  async findByUid(uid) {
    const id = store.get(`sessionUid:${uid}`);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode) {
    const id = store.get(`userCode:${userCode}`);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const value = store.get(this.key(id));
    if (value) value.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    const key = this.key(id);
    const value = store.get(key);
    store.delete(key);
    if (value?.uid && store.get(`sessionUid:${value.uid}`) === id) store.delete(`sessionUid:${value.uid}`);
    if (value?.userCode) store.delete(`userCode:${value.userCode}`);
  }

  async revokeByGrantId(grantId) {
    const indexKey = `grant:${grantId}`;
    const members = store.get(indexKey);
    if (members) {
      for (const key of members) store.delete(key);
    }
    store.delete(indexKey);
  }
}

// ---------------------------------------------------------------------------
// Signing keys
// ---------------------------------------------------------------------------

async function privateJwk(kind) {
  const { privateKey } = kind === 'RSA'
    ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
    : crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' });
  jwk.kid = await calculateJwkThumbprint(jwk, 'sha256');
  jwk.use = 'sig';
  jwk.alg = kind === 'RSA' ? 'RS256' : 'ES256';
  return jwk;
}

// Adds one RS256 and one ES256 key in front of the key list: they become the
// signing keys, older keys stay published in the JWKS for verification.
async function addSigningKeys() {
  const fresh = [await privateJwk('RSA'), await privateJwk('EC')];
  // Each generation is one RSA + one EC key; the oldest ones are dropped.
  state.keys = [...fresh, ...state.keys].slice(0, 2 * keyGenerations);
}

function activeKids() {
  return {
    RS256: state.keys.find((k) => k.alg === 'RS256')?.kid,
    ES256: state.keys.find((k) => k.alg === 'ES256')?.kid,
  };
}

// ---------------------------------------------------------------------------
// Provider instances
// ---------------------------------------------------------------------------

const cookieKeys = [crypto.randomBytes(32).toString('base64url')];
let issuer; // known once the server listens
let current; // { provider, callback }

function findAccountByLogin(login) {
  return state.accounts.find((a) => a.login === login);
}

function findAccountBySub(sub) {
  return state.accounts.find((a) => a.sub === sub);
}

// The library only puts in the ID token the claims of the granted scopes
// (plus what the request asked for explicitly). `acr`, `amr` and `auth_time`
// are attached to the `openid` scope so that every ID token carries them.
const ALWAYS_IN_ID_TOKEN = ['sub', 'acr', 'amr', 'auth_time'];

function claimsConfiguration() {
  const standard = {
    acr: null, amr: null, auth_time: null, iss: null, sid: null,
  };
  let configured;
  if (config.claims && typeof config.claims === 'object') {
    configured = { ...config.claims };
  } else {
    // Default: every claim of every account comes with the `openid` scope.
    const names = new Set();
    for (const a of state.accounts) {
      for (const name of Object.keys(a.claims ?? {})) names.add(name);
    }
    configured = { openid: [...names] };
  }
  const openid = configured.openid;
  const openidNames = Array.isArray(openid) ? openid : Object.keys(openid ?? {});
  configured.openid = [...new Set([...ALWAYS_IN_ID_TOKEN, ...openidNames])];
  return { ...standard, ...configured };
}

function acrValuesConfiguration() {
  const values = new Set(Array.isArray(config.acrValues) ? config.acrValues : []);
  for (const a of state.accounts) values.add(a.acr);
  return [...values];
}

function htmlEscape(value) {
  return String(value)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${htmlEscape(title)}</title>
<style>
body { font-family: sans-serif; max-width: 26em; margin: 3em auto; }
label, input, button { display: block; margin: 0.4em 0; }
#error { color: #a00; }
</style>
</head>
<body>
${body}
</body>
</html>
`;
}

function buildProvider() {
  const provider = new Provider(issuer, {
    adapter: SharedAdapter,
    clients: structuredClone(state.clients),
    jwks: { keys: structuredClone(state.keys) },
    async findAccount(ctx, sub) {
      const account = findAccountBySub(sub);
      if (!account) return undefined;
      return {
        accountId: account.sub,
        async claims() {
          return { ...(account.claims ?? {}), sub: account.sub };
        },
      };
    },
    claims: claimsConfiguration(),
    scopes: ['openid', 'offline_access', ...(Array.isArray(config.scopes) ? config.scopes : [])],
    acrValues: acrValuesConfiguration(),
    // Put the scope's claims (psu_id, name, ...) in the ID token too, not
    // only at the userinfo endpoint.
    conformIdTokenClaims: false,
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    pkce: { required: () => true },
    cookies: { keys: cookieKeys },
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      revocation: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    ttl: {
      IdToken: idTokenTtl,
      AccessToken: accessTokenTtl,
      AuthorizationCode: codeTtl,
      Interaction: 3600,
      Session: 3600,
      Grant: 3600,
    },
    interactions: {
      url(ctx, interaction) {
        return `/interaction/${interaction.uid}`;
      },
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      const lines = Object.entries(out)
        .map(([k, v]) => `<p><strong>${htmlEscape(k)}</strong>: <span class="${htmlEscape(k)}">${htmlEscape(v)}</span></p>`)
        .join('\n');
      ctx.body = page('Error', `<h1>Error</h1>\n<div id="error">\n${lines}\n</div>`);
    },
  });
  provider.on('server_error', (ctx, err) => log(`server_error ${ctx.method} ${ctx.path}: ${err.stack ?? err}`));
  provider.on('grant.error', (ctx, err) => log(`grant.error: ${err.message}${err.error_description ? ` (${err.error_description})` : ''}`));
  provider.on('authorization.error', (ctx, err) => log(`authorization.error: ${err.message}${err.error_description ? ` (${err.error_description})` : ''}`));
  return { provider, callback: provider.callback() };
}

// Builds a new Provider instance from the current state and swaps it in. The
// library validates static clients lazily; they are all loaded here so that
// invalid metadata fails now. On failure the running instance is kept.
async function rebuild() {
  const next = buildProvider();
  for (const c of state.clients) {
    try {
      await next.provider.Client.find(c.client_id);
    } catch (err) {
      throw new Error(`client ${c.client_id}: ${err.message}${err.error_description ? ` (${err.error_description})` : ''}`);
    }
  }
  current = next;
}

async function rotate() {
  const previous = state.keys;
  await addSigningKeys();
  try {
    await rebuild();
  } catch (err) {
    state.keys = previous;
    throw err;
  }
  state.rotations += 1;
  log(`rotated signing keys, active ${JSON.stringify(activeKids())}`);
  return { active: activeKids(), kids: state.keys.map((k) => k.kid) };
}

// ---------------------------------------------------------------------------
// HTTP helpers
// ---------------------------------------------------------------------------

function send(res, status, body, contentType = 'text/html; charset=utf-8', extraHeaders = {}) {
  const buf = Buffer.from(body);
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': buf.length,
    'cache-control': 'no-store',
    ...extraHeaders,
  });
  res.end(buf);
}

function sendJson(res, status, value, extraHeaders) {
  send(res, status, JSON.stringify(value), 'application/json', extraHeaders);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function isLoopback(address) {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

// ---------------------------------------------------------------------------
// Interaction (login) pages
// ---------------------------------------------------------------------------

function loginPage(uid, interaction, error) {
  const { params } = interaction;
  const acr = params.acr_values ? `<p>Requested level: <span id="acr_values">${htmlEscape(params.acr_values)}</span></p>` : '';
  const errorHtml = error ? `<p id="error" role="alert">${htmlEscape(error)}</p>` : '';
  return page('Bank sign-in', `<h1>Bank sign-in</h1>
<p>Application <span id="client_id">${htmlEscape(params.client_id)}</span> asks you to sign in.</p>
${acr}${errorHtml}
<form id="login-form" method="post" action="/interaction/${htmlEscape(uid)}/login" autocomplete="off">
  <label for="login">Login</label>
  <input id="login" name="login" type="text" autofocus>
  <label for="password">Password</label>
  <input id="password" name="password" type="password">
  <button id="submit" type="submit" name="action" value="login">Sign in</button>
  <button id="cancel" type="submit" name="action" value="cancel" formnovalidate>Cancel</button>
</form>`);
}

function passwordMatches(expected, given) {
  const a = crypto.createHash('sha256').update(String(expected)).digest();
  const b = crypto.createHash('sha256').update(String(given)).digest();
  return crypto.timingSafeEqual(a, b);
}

const ACCESS_DENIED = {
  error: 'access_denied',
  error_description: 'End-User cancelled the authentication',
};

// The consent prompt is granted automatically: a Grant holding whatever the
// client asked for is saved, so the PSU never sees a consent page.
async function autoConsent(provider, req, res, interaction) {
  const { prompt: { details }, params, session } = interaction;
  let grant;
  if (interaction.grantId) {
    grant = await provider.Grant.find(interaction.grantId);
  }
  const isNew = !grant;
  if (isNew) {
    grant = new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  }
  if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
  if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
  if (details.missingResourceScopes) {
    for (const [indicator, scopes] of Object.entries(details.missingResourceScopes)) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
  }
  const grantId = await grant.save();
  const consent = isNew ? { grantId } : {};
  await provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
}

async function handleInteraction(req, res, uid, action) {
  const { provider } = current;
  const interaction = await provider.interactionDetails(req, res);
  if (interaction.uid !== uid) {
    throw new errors.SessionNotFound('interaction session mismatch');
  }
  const promptName = interaction.prompt.name;

  if (action === undefined) {
    if (req.method !== 'GET') return send(res, 405, 'method not allowed', 'text/plain', { allow: 'GET' });
    if (promptName === 'login') return send(res, 200, loginPage(uid, interaction));
    if (promptName === 'consent') return autoConsent(provider, req, res, interaction);
    return send(res, 400, page('Error', `<p id="error">unsupported prompt ${htmlEscape(promptName)}</p>`));
  }

  if (action === 'cancel') {
    if (req.method !== 'POST' && req.method !== 'GET') return send(res, 405, 'method not allowed', 'text/plain');
    return provider.interactionFinished(req, res, ACCESS_DENIED, { mergeWithLastSubmission: false });
  }

  // action === 'login'
  if (req.method !== 'POST') return send(res, 405, 'method not allowed', 'text/plain', { allow: 'POST' });
  const form = new URLSearchParams(await readBody(req));
  if (form.get('action') === 'cancel') {
    return provider.interactionFinished(req, res, ACCESS_DENIED, { mergeWithLastSubmission: false });
  }
  if (promptName !== 'login') {
    return send(res, 400, page('Error', '<p id="error">no login is pending for this interaction</p>'));
  }
  const login = form.get('login') ?? '';
  const account = findAccountByLogin(login);
  // Always compare, so that an unknown login costs the same as a bad password.
  const ok = passwordMatches(account?.password ?? crypto.randomUUID(), form.get('password') ?? '');
  if (!account || !ok) {
    log(`login failed for ${JSON.stringify(login)}`);
    return send(res, 200, loginPage(uid, interaction, 'Invalid login or password.'));
  }
  if (account.cancel) {
    log(`account ${account.login} refuses the authentication (cancel: true)`);
    return provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'End-User refused the authentication',
    }, { mergeWithLastSubmission: false });
  }
  // The account's own acr/amr are used whatever acr_values were requested:
  // the relying party (Guichet) must refuse an insufficient level itself.
  const result = {
    login: {
      accountId: account.sub,
      acr: account.acr,
      ...(account.amr ? { amr: [...account.amr] } : {}),
    },
  };
  log(`login ok for ${account.login} (acr ${account.acr}, amr ${JSON.stringify(account.amr ?? [])})`);
  return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

// ---------------------------------------------------------------------------
// Admin endpoints (loopback only)
// ---------------------------------------------------------------------------

function upsertBy(list, key, items) {
  const out = [...list];
  for (const item of items) {
    const i = out.findIndex((x) => x[key] === item[key]);
    if (i >= 0) out[i] = item; else out.push(item);
  }
  return out;
}

async function readJsonBody(req) {
  const text = await readBody(req);
  if (!text.trim()) return {};
  return JSON.parse(text);
}

async function handleAdmin(req, res, url) {
  if (!isLoopback(req.socket.remoteAddress)) {
    return sendJson(res, 403, { error: 'forbidden' });
  }
  const route = url.pathname.slice('/__admin/'.length);
  if (route === 'state' && req.method === 'GET') {
    return sendJson(res, 200, {
      issuer,
      down: state.down,
      slowMs: state.slowMs,
      rotations: state.rotations,
      jwksRequests: state.jwksRequests,
      active: activeKids(),
      kids: state.keys.map((k) => k.kid),
      clients: state.clients.map((c) => c.client_id),
      accounts: state.accounts.map((a) => a.login),
    });
  }
  if (req.method !== 'POST') {
    return sendJson(res, 405, { error: 'method_not_allowed' }, { allow: 'POST' });
  }
  switch (route) {
    case 'rotate':
      return sendJson(res, 200, await rotate());
    case 'down':
      state.down = true;
      log('provider is now DOWN (503 to everything but /__admin)');
      return sendJson(res, 200, { down: true });
    case 'up':
      state.down = false;
      log('provider is now UP');
      return sendJson(res, 200, { down: false });
    case 'slow': {
      const body = await readJsonBody(req);
      const ms = Number(url.searchParams.get('ms') ?? body.ms ?? 0);
      if (!Number.isFinite(ms) || ms < 0) return sendJson(res, 400, { error: 'invalid ms' });
      state.slowMs = ms;
      log(`every response is now delayed by ${ms} ms`);
      return sendJson(res, 200, { slowMs: ms });
    }
    case 'clients':
    case 'accounts': {
      const body = await readJsonBody(req);
      const items = body[route];
      const previous = { clients: state.clients, accounts: state.accounts };
      try {
        if (route === 'clients') {
          checkClients(items);
          state.clients = upsertBy(state.clients, 'client_id', structuredClone(items));
        } else {
          checkAccounts(items);
          state.accounts = upsertBy(state.accounts, 'login', structuredClone(items));
        }
        await rebuild();
      } catch (err) {
        Object.assign(state, previous);
        return sendJson(res, 400, { error: 'invalid_request', error_description: err.message });
      }
      return sendJson(res, 200, {
        clients: state.clients.map((c) => c.client_id),
        accounts: state.accounts.map((a) => a.login),
      });
    }
    default:
      return sendJson(res, 404, { error: 'not_found' });
  }
}

// ---------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------

const INTERACTION_PATH = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|cancel))?\/?$/;

async function handle(req, res) {
  const url = new URL(req.url, issuer ?? `http://${HOST}`);
  if (url.pathname.startsWith('/__admin/')) {
    return handleAdmin(req, res, url);
  }
  if (url.pathname === '/jwks') state.jwksRequests += 1;
  if (state.slowMs > 0) await sleep(state.slowMs);
  if (state.down) {
    return sendJson(res, 503, {
      error: 'temporarily_unavailable',
      error_description: 'the provider is down (test switch /__admin/down)',
    }, { 'retry-after': '1' });
  }
  if (!current) {
    return sendJson(res, 503, { error: 'temporarily_unavailable', error_description: 'starting' });
  }
  const m = INTERACTION_PATH.exec(url.pathname);
  if (m) {
    return handleInteraction(req, res, m[1], m[2]);
  }
  return current.callback(req, res);
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof errors.OIDCProviderError) {
      return send(res, err.statusCode ?? err.status ?? 400, page('Error', `<h1>Error</h1><p id="error">${htmlEscape(err.message)}: ${htmlEscape(err.error_description ?? '')}</p>`));
    }
    log(`internal error ${req.method} ${req.url}: ${err.stack ?? err}`);
    return send(res, 500, page('Error', '<p id="error">internal error</p>'));
  });
});

function shutdown(signal) {
  log(`${signal}: shutting down`);
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
}

process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGUSR2', () => {
  rotate().catch((err) => log(`rotation failed: ${err.stack ?? err}`));
});
if (args['exit-with-stdin']) {
  process.stdin.on('end', () => shutdown('stdin closed'));
  process.stdin.on('error', () => shutdown('stdin error'));
  process.stdin.resume();
}

server.on('error', (err) => fail(`cannot listen on ${HOST}:${requestedPort}: ${err.message}`));

server.listen(requestedPort, HOST, async () => {
  try {
    const { port } = server.address();
    issuer = `http://${HOST}:${port}`;
    await addSigningKeys();
    await rebuild();
    if (rotateEvery > 0) {
      setInterval(() => {
        rotate().catch((err) => log(`rotation failed: ${err.stack ?? err}`));
      }, rotateEvery * 1000).unref();
    }
    log(`listening, issuer ${issuer}, clients ${state.clients.map((c) => c.client_id).join(',')}`);
    process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
  } catch (err) {
    fail(`startup failed: ${err.stack ?? err}`);
  }
});
