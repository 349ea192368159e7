// An independent gRPC client against a real wattlined: Node.js with @grpc/grpc-js and
// grpc-reflection-js (not our code, not our stubs), installed by setup-npm.sh.
//
//   NODE_PATH=build/release/npm/node_modules node tests/integration/grpc_client_test.js build/release/node/wattlined
//
// It starts a regtest daemon in a fresh temporary datadir on a free port, then:
//  1. lists the services through reflection over TLS with the admin credential (and is
//     refused without one);
//  2. for every method of every wattline.* service, as reflection describes them (no list in
//     this file), calls it with no credential and with a wrong one (UNAUTHENTICATED), and with
//     each role's credential: PERMISSION_DENIED exactly where the role table of docs/api.md
//     says so, and past both checks everywhere else;
//  3. a plaintext connection fails;
//  4. malformed requests get INVALID_ARGUMENT with a message (bad hash hex, wrong-length hash,
//     raw transaction above the transaction size limit, unknown GetBlock format, negative
//     amount, negative fee rate); a request above the server's request limit is refused
//     with RESOURCE_EXHAUSTED (docs/api.md "Limits");
//  5. the daemon still answers GetInfo, then stops on SIGTERM with exit code 0.
// Every wait is bounded; the process exits non-zero on the first failed check.
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const { Client: ReflectionClient } = require('grpc-reflection-js');

const WATTLINED = process.argv[2];
if (!WATTLINED || !fs.existsSync(WATTLINED)) {
  console.error('usage: grpc_client_test.js <path to wattlined>');
  process.exit(2);
}

// The role table of docs/api.md ("Roles"), written out here as the document states it, so a
// change of rpc/roles.cpp that the document does not follow fails this test.
// A = admin, W = wallet, M = meter, U = utility.
const ROLE_TABLE = {
  'wattline.v1.NodeService/GetInfo': 'AWMU',
  'wattline.v1.NodeService/GetBlock': 'AWMU',
  'wattline.v1.NodeService/GetBlockHeader': 'AWMU',
  'wattline.v1.NodeService/GetBlockHeaders': 'AWMU',
  'wattline.v1.NodeService/GetTransaction': 'AWMU',
  'wattline.v1.NodeService/GetUtxos': 'AWU',
  'wattline.v1.NodeService/GetCoinStats': 'AU',
  'wattline.v1.TxService/SubmitTransaction': 'AWU',
  'wattline.v1.WalletService/GetBalance': 'AW',
  'wattline.v1.WalletService/GetNewAddress': 'AW',
  'wattline.v1.WalletService/Send': 'AW',
  'wattline.v1.WalletService/ListTransactions': 'AW',
  'wattline.v1.WalletService/Unlock': 'AW',
  'wattline.v1.WalletService/Lock': 'AW',
  'wattline.v1.WalletService/GetWalletInfo': 'AW',
  'wattline.v1.WalletService/ChangePassphrase': 'A',
  'wattline.v1.WalletService/Rescan': 'A',
  'wattline.v1.MiningService/Generate': 'A',
  'wattline.v1.MiningService/SubmitBlock': 'AU',
  'wattline.v1.MiningService/Start': 'A',
  'wattline.v1.MiningService/Stop': 'A',
  'wattline.v1.MiningService/GetInfo': 'AU',
  'wattline.v1.MeterService/ScheduleHousehold': 'AWMU',
  'wattline.v1.MeterService/SubmitReadings': 'AMU',
  'wattline.v1.MeterService/ListReadings': 'AWU',
  'wattline.v1.MeterService/StreamReadings': 'AWU',
  'wattline.v1.MeterService/PutBlob': 'AMU',
  'wattline.v1.MeterService/GetBlob': 'AWU',
  'wattline.v1.UtilityService/RegisterMeter': 'U',
  'wattline.v1.UtilityService/DeregisterMeter': 'U',
  'wattline.v1.UtilityService/SetCoefficients': 'U',
  'wattline.v1.UtilityService/RotateKey': 'U',
  'wattline.v1.UtilityService/ListMeters': 'AU',
  'wattline.v1.MarketService/GetMarketInfo': 'AWMU',
  'wattline.v1.MarketService/GetPrice': 'AWMU',
  'wattline.v1.MarketService/GetSchedule': 'AWMU',
  'wattline.v1.MarketService/GetRewards': 'AWMU',
  'wattline.v1.ChannelService/OpenChannel': 'AW',
  'wattline.v1.ChannelService/ListChannels': 'AWU',
  'wattline.v1.ChannelService/GetChannel': 'AWU',
  'wattline.v1.ChannelService/Pay': 'AW',
  'wattline.v1.ChannelService/CloseChannel': 'AW',
  'wattline.v1.ChannelService/ForceClose': 'AW',
  'wattline.v1.ChannelService/CancelChannel': 'AW',
  'wattline.v1.ChannelService/GetChannelKey': 'AWU',
  'wattline.v1.ChannelService/EvidenceClose': 'AW',
  'wattline.v1.ChannelService/ExpiryClose': 'AWU',
  'wattline.v1.ChannelService/WatchChannels': 'AWU',
  'wattline.v1.PeerService/ListPeers': 'AU',
  'wattline.v1.PeerService/GetNetTotals': 'AU',
  'wattline.v1.PeerService/ListBans': 'AU',
  'wattline.v1.PeerService/AddPeer': 'A',
  'wattline.v1.PeerService/RemovePeer': 'A',
  'wattline.v1.PeerService/DisconnectPeer': 'A',
  'wattline.v1.PeerService/Ban': 'A',
  'wattline.v1.PeerService/Unban': 'A',
  'wattline.v1.PeerService/ClearBans': 'A',
  'wattline.v1.EventService/SubscribeBlocks': 'AWMU',
  'wattline.v1.EventService/SubscribeTransactions': 'AWU',
  'grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo': 'AWMU',
};
const ROLES = { admin: 'A', wallet: 'W', meter: 'M', utility: 'U' };
const MAX_REQUEST_KIB = 1024;  // the daemon's default; docs/api.md: requests above 1 MiB are refused
const MAX_TX_SIZE = 100000;    // consensus::kMaxTxSize

const S = grpc.status;
const codeName = (c) => Object.keys(S).find((k) => S[k] === c) || String(c);
let checks = 0;
function check(cond, what) {
  if (!cond) throw new Error('FAILED: ' + what);
  ++checks;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const deadline = (s) => new Date(Date.now() + s * 1000);
function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('timed out: ' + what)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

// --- the daemon ------------------------------------------------------------------------------

const datadir = fs.mkdtempSync(path.join(os.tmpdir(), 'wattline-grpc-js-'));
let daemon = null;
let daemonLog = '';
let daemonExit = null;  // {code, signal} once it exited

function startDaemon() {
  daemon = spawn(WATTLINED, ['--network', 'regtest', '--datadir', datadir, '--rpcport', '0', '--logfile', 'false'],
                 { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (d) => { daemonLog = (daemonLog + d.toString()).slice(-20000); };
  daemon.stdout.on('data', keep);
  daemon.stderr.on('data', keep);
  daemon.on('exit', (code, signal) => { daemonExit = { code, signal }; });
}
// Never leave a daemon behind: not when this script fails, nor when ctest's timeout kills it.
process.on('exit', () => { if (daemon && !daemonExit) daemon.kill('SIGKILL'); });
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.on(sig, () => {
    if (daemon && !daemonExit) daemon.kill('SIGKILL');
    try { fs.rmSync(datadir, { recursive: true, force: true }); } catch (_) { /* the daemon may still hold it */ }
    process.exit(1);
  });
}

async function waitForEndpoint() {
  const file = path.join(datadir, 'rpc.endpoint');
  for (let i = 0; i < 600; ++i) {  // 60 s
    if (daemonExit) throw new Error('wattlined exited early: ' + JSON.stringify(daemonExit));
    if (fs.existsSync(file)) {
      const text = fs.readFileSync(file, 'utf8').trim();
      if (/^127\.0\.0\.1:\d+$/.test(text)) return text;
    }
    await sleep(100);
  }
  throw new Error('no ' + file + ' after 60 s');
}

async function stopDaemon() {
  if (!daemon || daemonExit) return daemonExit;
  daemon.kill('SIGTERM');
  for (let i = 0; i < 600 && !daemonExit; ++i) await sleep(100);  // 60 s
  if (!daemonExit) {
    daemon.kill('SIGKILL');
    for (let i = 0; i < 50 && !daemonExit; ++i) await sleep(100);
    throw new Error('wattlined did not stop within 60 s of SIGTERM');
  }
  return daemonExit;
}

// --- calls -----------------------------------------------------------------------------------

function md(token) {
  const m = new grpc.Metadata();
  if (token !== undefined) m.add('authorization', 'Bearer ' + token);
  return m;
}
const raw = (b) => b;  // requests and responses as bytes: any method, no stubs

/** A unary call; resolves {err, value}. */
function unary(client, method, body, token, seconds = 20) {
  return new Promise((resolve) => {
    client.makeUnaryRequest(method, raw, raw, body, md(token), { deadline: deadline(seconds) },
                            (err, value) => resolve({ err, value }));
  });
}

/**
 * A server stream: resolves {err} with the error the call ended with, or {subscribed: true}
 * once the server sent its initial metadata (the handler subscribed: past both checks); the
 * call is then cancelled.
 */
function serverStream(client, method, body, token, seconds = 20) {
  return new Promise((resolve) => {
    const call = client.makeServerStreamRequest(method, raw, raw, body, md(token), { deadline: deadline(seconds) });
    let done = false;
    const finish = (r) => { if (!done) { done = true; resolve(r); } };
    call.on('metadata', () => { finish({ subscribed: true }); call.cancel(); });
    call.on('data', () => {});
    call.on('error', (err) => finish({ err }));
    call.on('status', (st) => finish(st.code === S.OK ? { ok: true } : { err: st }));
  });
}

/** A bidi stream (reflection): one request, resolves {err} or {ok}. */
function bidi(client, method, body, token, seconds = 20) {
  return new Promise((resolve) => {
    const call = client.makeBidiStreamRequest(method, raw, raw, md(token), { deadline: deadline(seconds) });
    let done = false;
    const finish = (r) => { if (!done) { done = true; resolve(r); } };
    call.on('data', () => {});
    call.on('error', (err) => finish({ err }));
    call.on('status', (st) => finish(st.code === S.OK ? { ok: true } : { err: st }));
    call.write(body);
    call.end();
  });
}

function callAny(client, m, body, token) {
  if (m.requestStream && m.responseStream) return bidi(client, m.path, body, token);
  if (m.responseStream) return serverStream(client, m.path, body, token);
  return unary(client, m.path, body, token);
}

const codeOf = (r) => (r.err ? r.err.code : S.OK);
const describe = (r) => (r.err ? `${codeName(r.err.code)}: ${r.err.details}` : 'OK');

// --- the test --------------------------------------------------------------------------------

async function main() {
  startDaemon();
  const endpoint = await waitForEndpoint();
  console.log('wattlined regtest at ' + endpoint + ', datadir ' + datadir);
  const cert = fs.readFileSync(path.join(datadir, 'tls', 'cert.pem'));
  const tokens = {};
  for (const role of Object.keys(ROLES)) {
    tokens[role] = fs.readFileSync(path.join(datadir, 'credentials', role + '.token'), 'utf8').trim();
    check(/^[0-9a-f]{64}$/.test(tokens[role]), role + '.token is 64 hex digits');
  }
  const wrongToken = tokens.admin.slice(0, 63) + (tokens.admin[63] === '0' ? '1' : '0');

  const ssl = grpc.credentials.createSsl(cert);
  const adminCall = grpc.credentials.createFromMetadataGenerator((_, cb) => cb(null, md(tokens.admin)));

  // 1. Reflection over TLS: refused without a credential, lists the services with one.
  const anonymous = new ReflectionClient(endpoint, ssl);
  let refused = null;
  try {
    await withTimeout(anonymous.listServices(), 20000, 'listServices without a credential');
  } catch (e) {
    refused = e;
  }
  check(refused && refused.code === S.UNAUTHENTICATED,
        'reflection without a credential is UNAUTHENTICATED, got ' + (refused ? refused.code + ' ' + refused.message : 'OK'));
  const reflection = new ReflectionClient(endpoint, grpc.credentials.combineChannelCredentials(ssl, adminCall));
  const services = await withTimeout(reflection.listServices(), 20000, 'listServices');
  console.log('services: ' + services.join(', '));
  const wattlineServices = services.filter((s) => s.startsWith('wattline.'));
  check(wattlineServices.length >= 5, 'reflection lists the wattline services');
  check(services.includes('grpc.reflection.v1alpha.ServerReflection'), 'reflection lists itself');

  // Every method of every wattline service, from the descriptors the server sent.
  const methods = [];
  const types = {};
  for (const svcName of wattlineServices) {
    const root = await withTimeout(reflection.fileContainingSymbol(svcName), 20000, 'fileContainingSymbol ' + svcName);
    root.resolveAll();
    const svc = root.lookupService(svcName);
    for (const m of Object.values(svc.methods)) {
      methods.push({ key: svcName + '/' + m.name, path: '/' + svcName + '/' + m.name,
                     requestStream: !!m.requestStream, responseStream: !!m.responseStream,
                     request: m.resolvedRequestType, response: m.resolvedResponseType });
    }
    for (const t of ['GetBlockRequest', 'GetTransactionRequest', 'SubmitTransactionRequest', 'SendRequest',
                     'UnlockRequest', 'GetInfoResponse', 'GetNewAddressResponse']) {
      const found = root.lookup('wattline.v1.' + t);
      if (found) types[t] = found;
    }
  }
  methods.push({ key: 'grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo',
                 path: '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo',
                 requestStream: true, responseStream: true });
  console.log(`${methods.length} methods`);
  for (const m of methods) check(ROLE_TABLE[m.key] !== undefined, 'the role table of docs/api.md has ' + m.key);
  for (const key of Object.keys(ROLE_TABLE))
    check(methods.some((m) => m.key === key), 'reflection describes ' + key + ' (docs/api.md lists it)');

  // 2. Credentials on every method; one channel for all of it (a wrong credential on a
  // connection that carried right ones is still refused).
  const client = new grpc.Client(endpoint, ssl);
  const listServicesBody = Buffer.from([0x3a, 0x00]);  // ServerReflectionRequest{list_services: ""}
  let denied = 0, allowed = 0;
  for (const m of methods) {
    const body = m.request ? Buffer.from(m.request.encode(m.request.create({})).finish()) : listServicesBody;
    let r = await callAny(client, m, body, undefined);
    check(codeOf(r) === S.UNAUTHENTICATED, `${m.key} without a credential: UNAUTHENTICATED, got ${describe(r)}`);
    check(!r.err || r.err.details, `${m.key}: the refusal has a message`);
    r = await callAny(client, m, body, wrongToken);
    check(codeOf(r) === S.UNAUTHENTICATED, `${m.key} with a wrong credential: UNAUTHENTICATED, got ${describe(r)}`);
    r = await callAny(client, m, body, 'not-even-hex');
    check(codeOf(r) === S.UNAUTHENTICATED, `${m.key} with a malformed credential: UNAUTHENTICATED, got ${describe(r)}`);
    for (const [role, letter] of Object.entries(ROLES)) {
      r = await callAny(client, m, body, tokens[role]);
      if (ROLE_TABLE[m.key].includes(letter)) {
        check(![S.PERMISSION_DENIED, S.UNAUTHENTICATED, S.UNIMPLEMENTED].includes(codeOf(r)),
              `${role} may call ${m.key}: got ${describe(r)}`);
        ++allowed;
      } else {
        check(codeOf(r) === S.PERMISSION_DENIED, `${role} may not call ${m.key}: PERMISSION_DENIED, got ${describe(r)}`);
        check(r.err.details && r.err.details.length > 0, `${m.key}: PERMISSION_DENIED has a message`);
        ++denied;
      }
    }
  }
  console.log(`role checks: ${allowed} allowed calls, ${denied} refusals`);
  // MiningService/Start with an empty request started the miner (admin): stop it again.
  const stopped = await unary(client, '/wattline.v1.MiningService/Stop', Buffer.alloc(0), tokens.admin);
  check(!stopped.err, 'MiningService/Stop: ' + describe(stopped));

  // 3. Plaintext to the TLS port fails.
  const plain = new grpc.Client(endpoint, grpc.credentials.createInsecure());
  const p = await unary(plain, '/wattline.v1.NodeService/GetInfo', Buffer.alloc(0), tokens.admin, 5);
  check(p.err && [S.UNAVAILABLE, S.DEADLINE_EXCEEDED].includes(p.err.code),
        'plaintext GetInfo fails (UNAVAILABLE), got ' + describe(p));
  plain.close();

  // 4. Malformed requests: INVALID_ARGUMENT with a message.
  // Field names as the descriptors from reflection spell them (the .proto's snake_case); an
  // unknown key would be dropped silently by fromObject, so it is an error here.
  const enc = (t, obj) => {
    for (const k of Object.keys(obj)) check(types[t].fields[k], `${t} has a field ${k}`);
    return Buffer.from(types[t].encode(types[t].fromObject(obj)).finish());
  };
  for (const t of ['GetBlockRequest', 'GetTransactionRequest', 'SubmitTransactionRequest', 'SendRequest',
                   'UnlockRequest', 'GetInfoResponse', 'GetNewAddressResponse'])
    check(types[t], 'reflection gave the type ' + t);
  // WalletService/Lock above locked the wallet: unlock it with the passphrase the daemon wrote,
  // so that the Send checks below are refused for their arguments, not for the lock.
  const passphrase = fs.readFileSync(path.join(datadir, 'wallet.passphrase'), 'utf8').trim();
  const unlocked = await unary(client, '/wattline.v1.WalletService/Unlock',
                               enc('UnlockRequest', { passphrase, timeout_seconds: 600 }), tokens.wallet);
  check(!unlocked.err, 'Unlock with wallet.passphrase: ' + describe(unlocked));
  const newAddr = await unary(client, '/wattline.v1.WalletService/GetNewAddress', Buffer.alloc(0), tokens.admin);
  let address = null;
  if (!newAddr.err) address = types.GetNewAddressResponse.decode(newAddr.value).address;
  check(address, 'GetNewAddress gives an address for the Send checks: ' + describe(newAddr));
  const malformed = [
    ['GetBlock: hash of 64 non-hex characters', '/wattline.v1.NodeService/GetBlock',
     enc('GetBlockRequest', { block: { hash: 'zz'.repeat(32) }, format: 1 })],
    ['GetBlock: hash of 62 hex digits', '/wattline.v1.NodeService/GetBlock',
     enc('GetBlockRequest', { block: { hash: 'ab'.repeat(31) }, format: 1 })],
    ['GetBlock: hash of 66 hex digits', '/wattline.v1.NodeService/GetBlock',
     enc('GetBlockRequest', { block: { hash: 'ab'.repeat(33) }, format: 1 })],
    ['GetTransaction: txid "xyz"', '/wattline.v1.NodeService/GetTransaction',
     enc('GetTransactionRequest', { txid: 'xyz' })],
    ['GetBlock: unknown format enum value 42', '/wattline.v1.NodeService/GetBlock',
     // field 1 (block) = {height 0}, field 2 (format) = varint 42: a number this version does not know
     Buffer.from([0x0a, 0x02, 0x10, 0x00, 0x10, 42])],
    ['GetBlock: format left unspecified', '/wattline.v1.NodeService/GetBlock',
     enc('GetBlockRequest', { block: { height: 0 } })],
    ['SubmitTransaction: raw transaction above the size limit', '/wattline.v1.TxService/SubmitTransaction',
     enc('SubmitTransactionRequest', { raw_tx: Buffer.alloc(MAX_TX_SIZE + 50000, 7) })],
    ['SubmitTransaction: two bytes', '/wattline.v1.TxService/SubmitTransaction',
     enc('SubmitTransactionRequest', { raw_tx: Buffer.from([7, 7]) })],
    ['Send: negative amount', '/wattline.v1.WalletService/Send',
     enc('SendRequest', { address, amount: -5 })],
    ['Send: negative fee rate', '/wattline.v1.WalletService/Send',
     enc('SendRequest', { address, amount: 5000, fee_rate: -1 })],
    ['Send: not an address', '/wattline.v1.WalletService/Send',
     enc('SendRequest', { address: 'wl1notanaddress', amount: 5000 })],
  ];
  for (const [what, method, body] of malformed) {
    const r = await unary(client, method, body, tokens.admin);
    check(codeOf(r) === S.INVALID_ARGUMENT, `${what}: INVALID_ARGUMENT, got ${describe(r)}`);
    check(r.err.details && r.err.details.length > 0, `${what}: the status has a message`);
    console.log(`  ${what}: ${describe(r)}`);
  }
  // Above the server's request limit: refused before any handler, RESOURCE_EXHAUSTED.
  const huge = await unary(client, '/wattline.v1.TxService/SubmitTransaction',
                           enc('SubmitTransactionRequest', { raw_tx: Buffer.alloc(MAX_REQUEST_KIB * 1024 + 4096, 7) }),
                           tokens.admin);
  check(codeOf(huge) === S.RESOURCE_EXHAUSTED, 'request above the limit: RESOURCE_EXHAUSTED, got ' + describe(huge));
  console.log('  request above the limit: ' + describe(huge));

  // 5. Still up and answering, on the same channel and on a new one.
  for (const c of [client, new grpc.Client(endpoint, ssl)]) {
    const info = await unary(c, '/wattline.v1.NodeService/GetInfo', Buffer.alloc(0), tokens.meter);
    check(!info.err, 'GetInfo after all that: ' + describe(info));
    const decoded = types.GetInfoResponse.toObject(types.GetInfoResponse.decode(info.value),
                                                    { enums: String, longs: String });
    check(decoded.network === 'NETWORK_REGTEST', 'GetInfo says regtest: ' + JSON.stringify(decoded));
    c.close();
  }
  check(daemonExit === null, 'wattlined is still running');

  const exit = await stopDaemon();
  check(exit.code === 0, 'wattlined exits 0 on SIGTERM, got ' + JSON.stringify(exit));
  check(!fs.existsSync(path.join(datadir, 'rpc.endpoint')), 'rpc.endpoint removed at clean shutdown');
  console.log(`PASS: ${checks} checks`);
}

main().then(() => {
  fs.rmSync(datadir, { recursive: true, force: true });
  process.exit(0);
}).catch(async (e) => {
  console.error(e && e.stack ? e.stack : String(e));
  try { await stopDaemon(); } catch (stopError) { console.error(String(stopError)); }
  console.error('--- wattlined output (tail) ---\n' + daemonLog.slice(-6000));
  fs.rmSync(datadir, { recursive: true, force: true });
  process.exit(1);
});
