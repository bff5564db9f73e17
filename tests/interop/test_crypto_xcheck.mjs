// Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE.
// Cross-checks libsotto's X25519, XEdDSA and HKDF against the official
// libsignal Node package (@signalapp/libsignal-client, pinned in
// package.json). The C side runs as $SOTTO_BIN/sotto-xcheck (JSON lines).
// Exits non-zero on any mismatch.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
if (!fs.existsSync(path.join(here, 'node_modules', '@signalapp', 'libsignal-client'))) {
  console.error('FAIL: tests/interop/node_modules is missing: run `npm ci` in tests/interop ' +
    '(or `make interop-deps`)');
  process.exit(2);
}
const S = await import('@signalapp/libsignal-client');

const bin = process.env.SOTTO_BIN;
if (!bin) {
  console.error('FAIL: SOTTO_BIN is not set (run through ctest, or SOTTO_BIN=build/bin)');
  process.exit(2);
}
const tool = path.join(bin, 'sotto-xcheck');

let failures = 0;
const counts = {};
function count(name, ok, detail) {
  counts[name] ??= { pass: 0, total: 0 };
  counts[name].total++;
  if (ok) counts[name].pass++;
  else if (failures++ < 20) console.error(`FAIL ${name}: ${detail ?? ''}`);
}

const hex = (b) => Buffer.from(b).toString('hex');
const unhex = (s) => new Uint8Array(Buffer.from(s, 'hex'));
const rand = (n) => new Uint8Array(crypto.randomBytes(n));
const randInt = (n) => crypto.randomInt(n);

// Runs a batch of requests through one sotto-xcheck process.
function xcheck(reqs) {
  const input = reqs.map((r) => JSON.stringify(r)).join('\n') + '\n';
  const res = spawnSync(tool, [], { input, maxBuffer: 1 << 28 });
  if (res.error || res.status !== 0) {
    console.error(`FAIL: ${tool} did not run: ${res.error ?? res.stderr}`);
    process.exit(1);
  }
  const lines = res.stdout.toString().trim().split('\n').map((l) => JSON.parse(l));
  if (lines.length !== reqs.length) {
    console.error(`FAIL: ${reqs.length} requests, ${lines.length} answers`);
    process.exit(1);
  }
  return lines;
}

const pub33 = (u) => { const b = new Uint8Array(33); b[0] = 5; b.set(u, 1); return b; };
function libVerify(pub, msg, sig) {
  try {
    return S.PublicKey.deserialize(pub33(pub)).verify(msg, sig);
  } catch {
    return false;
  }
}
const randomMsg = () => rand(randInt(2001));

// 1. Signed in C, verified by libsignal (and the key pair checked).
const N = 1000;
const cKeys = xcheck(Array.from({ length: N }, () => ({ op: 'keypair' })));
const cMsgs = Array.from({ length: N }, (_, i) => (i === 0 ? new Uint8Array(0) : randomMsg()));
const cSigs = xcheck(cKeys.map((k, i) => ({ op: 'sign', priv: k.priv, msg: hex(cMsgs[i]) })));
for (let i = 0; i < N; i++) {
  const priv = S.PrivateKey.deserialize(unhex(cKeys[i].priv));
  count('keypair: libsignal derives the C public key',
    hex(priv.getPublicKey().serialize()) === '05' + cKeys[i].pub &&
    hex(priv.serialize()) === cKeys[i].priv, `key ${i}`);
  count('C sign -> libsignal verify',
    libVerify(unhex(cKeys[i].pub), cMsgs[i], unhex(cSigs[i].sig)), `msg ${i}`);
}

// 2. Signed by libsignal, verified in C (alternating 33- and 32-byte keys).
const lKeys = Array.from({ length: N }, () => S.PrivateKey.generate());
const lMsgs = Array.from({ length: N }, (_, i) => (i === 0 ? new Uint8Array(0) : randomMsg()));
const lSigs = lKeys.map((k, i) => k.sign(lMsgs[i]));
const lPubs = lKeys.map((k) => k.getPublicKey().serialize());
const lVer = xcheck(lKeys.map((k, i) => ({
  op: 'verify', pub: hex(i % 2 ? lPubs[i] : lPubs[i].subarray(1)), msg: hex(lMsgs[i]),
  sig: hex(lSigs[i]),
})));
for (let i = 0; i < N; i++) count('libsignal sign -> C verify', lVer[i].ok === true, `msg ${i}`);
// Both sign bits occur in libsignal's output.
const signBits = new Set(lSigs.map((s) => s[63] >> 7));
count('libsignal signatures with both sign bits seen', signBits.size === 2);

// 3. Mutations: both sides must give the same verdict on every one.
const L = (1n << 252n) + 27742317777372353535851937790883648493n;
const leToBig = (b) => BigInt('0x' + hex(Uint8Array.from(b).reverse() || '0'));
const bigToLe = (x, n) => Uint8Array.from(Buffer.from(x.toString(16).padStart(2 * n, '0'), 'hex')).reverse();
const cases = [];
function mutate(pub, msg, sig, kind) {
  const p = Uint8Array.from(pub), m = Uint8Array.from(msg), s = Uint8Array.from(sig);
  const flip = (arr, bit) => { arr[bit >> 3] ^= 1 << (bit & 7); };
  switch (kind) {
    case 0: flip(s, 511); break; // sign bit (bit 7 of byte 63)
    case 1: flip(s, 509 + randInt(2)); break; // bit 253 or 254 of s
    case 2: flip(s, randInt(256)); break; // R
    case 3: flip(s, 256 + randInt(253)); break; // s below bit 253
    case 4: for (let j = 1 + randInt(4); j > 0; j--) flip(s, randInt(512)); break;
    case 5: if (m.length) flip(m, randInt(8 * m.length)); else flip(s, 7); break;
    case 6: flip(p, randInt(256)); break; // includes bit 255, which both ignore
    case 7: { // s + L: non-canonical s, accepted by both while below 2^253
      const top = s[63] & 0x80;
      const sv = leToBig(Uint8Array.from(s.subarray(32)).map((x, j) => (j === 31 ? x & 0x7f : x)));
      s.set(bigToLe(sv + L, 32), 32);
      s[63] |= top;
      break;
    }
    case 8: { // u = p - 1 and other special keys
      const specials = [(1n << 255n) - 20n, 0n, 1n, (1n << 255n) - 19n, (1n << 255n) - 1n];
      p.set(bigToLe(specials[randInt(specials.length)], 32));
      break;
    }
    default: break; // unmodified
  }
  return { pub: p, msg: m, sig: s, kind };
}
for (let i = 0; i < N; i++) {
  const kind = i % 10;
  if (i % 2) cases.push(mutate(unhex(cKeys[i].pub), cMsgs[i], unhex(cSigs[i].sig), kind));
  else cases.push(mutate(lPubs[i].subarray(1), lMsgs[i], lSigs[i], kind));
}
const mVer = xcheck(cases.map((c) => ({
  op: 'verify', pub: hex(c.pub), msg: hex(c.msg), sig: hex(c.sig),
})));
let accepted = 0;
for (let i = 0; i < cases.length; i++) {
  const lib = libVerify(cases[i].pub, cases[i].msg, cases[i].sig);
  const c = mVer[i].ok === true;
  accepted += lib ? 1 : 0;
  count(`mutated signature verdicts equal (kind ${cases[i].kind})`, lib === c,
    `case ${i}: libsignal ${lib}, C ${c}`);
}
console.log(`mutations: ${cases.length} cases, ${accepted} accepted by both`);
// Wrong lengths on both sides.
for (const n of [0, 63, 65]) {
  const sig = new Uint8Array(n);
  const [r] = xcheck([{ op: 'verify', pub: hex(lPubs[0]), msg: '', sig: hex(sig) }]);
  count('wrong signature length rejected by both', r.ok === false && !libVerify(lPubs[0].subarray(1), new Uint8Array(0), sig));
}

// 4. X25519 agreement both ways, plus low-order keys.
const M = 300;
const agreeReqs = [];
for (let i = 0; i < M; i++) {
  agreeReqs.push({ op: 'agree', priv: cKeys[i].priv, pub: hex(lPubs[i]) });
  agreeReqs.push({ op: 'agree', priv: hex(lKeys[i].serialize()), pub: cKeys[i].pub });
}
const lowOrder = [0n, 1n, 325606250916557431795983626356110631294008115727848805560023387167927233504n,
  39382357235489614581723060781553021112529911719440698176882885853963445705823n,
  (1n << 255n) - 20n, (1n << 255n) - 19n, (1n << 255n) - 18n];
for (const u of lowOrder) agreeReqs.push({ op: 'agree', priv: cKeys[0].priv, pub: hex(bigToLe(u, 32)) });
const agreeRes = xcheck(agreeReqs);
for (let i = 0; i < M; i++) {
  const cPriv = S.PrivateKey.deserialize(unhex(cKeys[i].priv));
  const cPub = S.PublicKey.deserialize(pub33(unhex(cKeys[i].pub)));
  const viaLib = hex(cPriv.agree(lKeys[i].getPublicKey()));
  const viaLib2 = hex(lKeys[i].agree(cPub));
  count('X25519 agree equal both ways',
    agreeRes[2 * i].shared === viaLib && agreeRes[2 * i + 1].shared === viaLib2 && viaLib === viaLib2,
    `pair ${i}`);
}
lowOrder.forEach((u, j) => {
  let libErr = false;
  try {
    S.PrivateKey.deserialize(unhex(cKeys[0].priv)).agree(S.PublicKey.deserialize(pub33(bigToLe(u, 32))));
  } catch {
    libErr = true;
  }
  const r = agreeRes[2 * M + j];
  count('low-order key: both reject the zero secret', libErr && r.error === 'invalid_key',
    `u=${u}: libsignal error ${libErr}, C ${JSON.stringify(r)}`);
});

// 5. HKDF-SHA256 against libsignal's hkdf, with and without salt.
const H = 400;
const hk = Array.from({ length: H }, (_, i) => ({
  ikm: rand(randInt(100) + (i % 7 === 0 ? 0 : 1)),
  info: rand(randInt(80)),
  salt: i % 3 === 0 ? null : rand(randInt(100)),
  len: [1, 16, 32, 33, 64, 80, 96, 255, 1000, 8160][i % 10] ?? 32,
}));
const hkRes = xcheck(hk.map((h) => ({
  op: 'hkdf', salt: h.salt ? hex(h.salt) : null, ikm: hex(h.ikm), info: hex(h.info), len: h.len,
})));
for (let i = 0; i < H; i++) {
  const want = hex(S.hkdf(hk[i].len, hk[i].ikm, hk[i].info, hk[i].salt));
  count(`HKDF equal (${hk[i].salt ? 'salt' : 'no salt'})`, hkRes[i].okm === want,
    `case ${i} len ${hk[i].len}`);
}

for (const [name, c] of Object.entries(counts)) {
  console.log(`${name.padEnd(60)} ${c.pass}/${c.total}`);
}
if (failures) {
  console.error(`${failures} mismatches`);
  process.exit(1);
}
console.log('crypto xcheck: all equal');
