// Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE.
//
// Sotto's SPQR state machine (src/protocol/spqr_braid.c, driven through
// build/bin/sotto-spqr-braid) as one party of a live session with the real
// libsignal 0.103.
//
// A is libsignal. B is libsignal only for the session set-up: it decrypts A's
// first PreKeySignalMessage, and from then on B is emulated. B's double
// ratchet (facts 4.1-4.3) runs here with Node's crypto, starting from B's
// libsignal session record; B's SPQR is our C code, started from the
// auth_key in A's record with direction B2A and fed every pq_ratchet field B
// receives (the first one included).
//   - B -> A: our SPQR send gives pq_ratchet and the key; we build the
//     SignalMessage with that key as the message-key salt and libsignal's
//     signalDecrypt must accept it (so libsignal's SPQR accepted our message
//     and derived the same key) and return the plaintext.
//   - A -> B: libsignal's pq_ratchet goes into our SPQR recv; the key it gives
//     must make the SignalMessage MAC verify and the body decrypt.
// Traffic: A's burst while B is offline, ping-pong, and bursts from either
// side delivered in scrambled order, until both SPQR chains are several
// epochs in (roles swap every epoch, so our code runs as EK-sender and as
// CT-sender, in every state). Controls: a message keyed with a wrong SPQR key
// and one whose pq_ratchet chunk we corrupted must both be rejected by
// libsignal without affecting the session.
import * as S from '@signalapp/libsignal-client';
import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import path from 'node:path';

const BIN = process.env.SOTTO_BIN ?? path.resolve(process.cwd(), '../../build/bin');
const TOOL = path.join(BIN, 'sotto-spqr-braid');

let passed = 0, failed = 0;
function check(name, cond, extra = '') {
  if (cond) passed++;
  else { failed++; console.log(`FAIL ${name} ${extra}`); }
}

const hex = (b) => Buffer.from(b).toString('hex');
const unhex = (s) => Buffer.from(s, 'hex');
const hkdf = (salt, ikm, info, len) =>
  Buffer.from(crypto.hkdfSync('sha256', ikm, salt ?? Buffer.alloc(0), info, len));
const hmac = (k, ...parts) => {
  const h = crypto.createHmac('sha256', k);
  for (const p of parts) h.update(p);
  return h.digest();
};

// --- protobuf: reader (field -> values) and writer
function varint(buf, pos) {
  let v = 0n, shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++];
    v |= BigInt(b & 0x7f) << shift;
    shift += 7n;
    if ((b & 0x80) === 0) return [v, pos];
  }
}
function proto(buf) {
  buf = Buffer.from(buf ?? []);
  const out = new Map();
  let pos = 0;
  while (pos < buf.length) {
    let key, v;
    [key, pos] = varint(buf, pos);
    const field = Number(key >> 3n), wt = Number(key & 7n);
    if (wt === 0) [v, pos] = varint(buf, pos);
    else if (wt === 2) { let n; [n, pos] = varint(buf, pos); v = buf.subarray(pos, pos + Number(n)); pos += Number(n); }
    else if (wt === 1) { v = buf.readBigUInt64LE(pos); pos += 8; }
    else if (wt === 5) { v = buf.readUInt32LE(pos); pos += 4; }
    else throw new Error(`wire type ${wt}`);
    if (!out.has(field)) out.set(field, []);
    out.get(field).push(v);
  }
  return out;
}
const one = (m, f) => (m.has(f) ? m.get(f)[0] : undefined);
const num = (m, f) => Number(one(m, f) ?? 0n);
const bytes = (m, f) => Buffer.from(one(m, f) ?? []);
function leb(n) {
  const out = [];
  n = BigInt(n);
  do { let b = Number(n & 0x7fn); n >>= 7n; if (n) b |= 0x80; out.push(b); } while (n);
  return Buffer.from(out);
}
const pbBytes = (f, b) => Buffer.concat([leb((f << 3) | 2), leb(b.length), Buffer.from(b)]);
const pbUint = (f, v) => Buffer.concat([leb(f << 3), leb(v)]);

// --- in-memory stores
class Identities extends S.IdentityKeyStore {
  constructor(pair, reg) { super(); this.pair = pair; this.reg = reg; this.known = new Map(); }
  async getIdentityKey() { return this.pair.privateKey; }
  async getLocalRegistrationId() { return this.reg; }
  async saveIdentity(addr, key) {
    const old = this.known.get(addr.toString());
    this.known.set(addr.toString(), key);
    return old && !old.equals(key) ? S.IdentityChange.ReplacedExisting : S.IdentityChange.NewOrUnchanged;
  }
  async isTrustedIdentity(addr, key) { const old = this.known.get(addr.toString()); return !old || old.equals(key); }
  async getIdentity(addr) { return this.known.get(addr.toString()) ?? null; }
}
class Sessions extends S.SessionStore {
  records = new Map();
  async saveSession(addr, rec) { this.records.set(addr.toString(), Buffer.from(rec.serialize())); }
  async getSession(addr) { const r = this.records.get(addr.toString()); return r ? S.SessionRecord.deserialize(r) : null; }
  async getExistingSessions(addrs) { return addrs.map((a) => S.SessionRecord.deserialize(this.records.get(a.toString()))); }
}
class PreKeys extends S.PreKeyStore {
  m = new Map();
  async savePreKey(id, r) { this.m.set(id, r); }
  async getPreKey(id) { return this.m.get(id); }
  async removePreKey(id) { this.m.delete(id); }
}
class SignedPreKeys extends S.SignedPreKeyStore {
  m = new Map();
  async saveSignedPreKey(id, r) { this.m.set(id, r); }
  async getSignedPreKey(id) { return this.m.get(id); }
}
class KyberPreKeys extends S.KyberPreKeyStore {
  m = new Map();
  async saveKyberPreKey(id, r) { this.m.set(id, r); }
  async getKyberPreKey(id) { return this.m.get(id); }
  async markKyberPreKeyUsed() {}
}

// --- the C tool, as a conversation
const child = spawn(TOOL, [], { stdio: ['pipe', 'pipe', 'inherit'] });
child.on('error', (e) => { console.log(`FAIL cannot run ${TOOL}: ${e.message}`); process.exit(1); });
const lines = readline.createInterface({ input: child.stdout });
const waiting = [];
lines.on('line', (l) => waiting.shift()(JSON.parse(l)));
function tool(req) {
  return new Promise((resolve) => { waiting.push(resolve); child.stdin.write(JSON.stringify(req) + '\n'); });
}

// --- session set-up with libsignal on both sides
function party(name, deviceId, reg) {
  const addr = S.ProtocolAddress.new(crypto.randomUUID(), deviceId);
  const id = S.IdentityKeyPair.generate();
  return { name, addr, id, ids: new Identities(id, reg), sessions: new Sessions() };
}
const A = party('A', 1, 1001), B = party('B', 2, 2002);
const bPre = new PreKeys(), bSigned = new SignedPreKeys(), bKyber = new KyberPreKeys();
{
  const spk = S.PrivateKey.generate(), opk = S.PrivateKey.generate(), kem = S.KEMKeyPair.generate();
  const spkSig = B.id.privateKey.sign(spk.getPublicKey().serialize());
  const kemSig = B.id.privateKey.sign(kem.getPublicKey().serialize());
  await bSigned.saveSignedPreKey(5, S.SignedPreKeyRecord.new(5, Date.now(), spk.getPublicKey(), spk, spkSig));
  await bPre.savePreKey(6, S.PreKeyRecord.new(6, opk.getPublicKey(), opk));
  await bKyber.saveKyberPreKey(7, S.KyberPreKeyRecord.new(7, Date.now(), kem, kemSig));
  const bundle = S.PreKeyBundle.new(2002, 2, 6, opk.getPublicKey(), 5, spk.getPublicKey(), spkSig,
    B.id.publicKey, 7, kem.getPublicKey(), kemSig);
  await S.processPreKeyBundle(bundle, B.addr, A.addr, A.sessions, A.ids);
}
const sessionOf = (p, peer) => proto(one(proto(p.sessions.records.get(peer.addr.toString())), 1));
const ikA = Buffer.from(A.id.publicKey.serialize()), ikB = Buffer.from(B.id.publicKey.serialize());

function spqrChainEpoch(p, peer) {
  const pq = proto(one(sessionOf(p, peer), 15));
  return pq.has(2) ? num(proto(one(pq, 2)), 2) : 0;
}

const authKey = bytes(proto(one(proto(one(sessionOf(A, B), 15)), 1)), 1);
check('auth_key in the initiator SPQR state', authKey.length === 32);
await tool({ op: 'init', id: 'B', auth_key: hex(authKey), dir: 1 });

// Parses a SignalMessage (byte0 || protobuf || mac8).
function parseSignal(sm) {
  const body = proto(sm.subarray(1, sm.length - 8));
  return {
    sm, ratchetKey: bytes(body, 1), counter: num(body, 2), prev: num(body, 3),
    ciphertext: bytes(body, 4), pq: bytes(body, 5), mac: sm.subarray(sm.length - 8),
  };
}

// A sends with libsignal; returns the SignalMessage bytes and the plaintext.
let nA = 0;
async function aSend() {
  const text = Buffer.from(`from A #${nA++} ${crypto.randomBytes(4).toString('hex')}`);
  const ck = bytes(proto(one(proto(one(sessionOf(A, B), 6)), 3)), 2); // chain key before the send
  const c = await S.signalEncrypt(text, B.addr, A.addr, A.sessions, A.ids);
  let sm = Buffer.from(c.serialize());
  if (c.type() === 3) sm = Buffer.from(one(proto(sm.subarray(1)), 4));
  return { c, sm, text, ck };
}

// The first message: B's libsignal takes it, which builds B's session.
const first = await aSend();
await S.signalDecryptPreKey(S.PreKeySignalMessage.deserialize(first.c.serialize()), A.addr, B.addr,
  B.sessions, B.ids, bPre, bSigned, bKyber);

// --- B's double ratchet, emulated from its libsignal record
const bRec = sessionOf(B, A);
const dr = {
  rk: bytes(bRec, 4),
  prev: num(bRec, 5),
  send: null,
  recv: [],
};
{
  const sc = proto(one(bRec, 6));
  const ck = proto(one(sc, 3));
  dr.send = { pub: bytes(sc, 1), priv: S.PrivateKey.deserialize(bytes(sc, 2)), ck: bytes(ck, 2), index: num(ck, 1) };
  for (const r of bRec.get(7) ?? []) {
    const c = proto(r), ck2 = proto(one(c, 3));
    dr.recv.push({ pub: bytes(c, 1), ck: bytes(ck2, 2), index: num(ck2, 1), skipped: new Map() });
  }
}
check('B record: one receiver chain, at index 1 after the first message',
  dr.recv.length === 1 && dr.recv[0].index === 1, JSON.stringify(dr.recv.map((r) => r.index)));

let macWithC = 0, macTotal = 0, cRecvErrors = 0;
function messageKeys(seed, salt) {
  const o = hkdf(salt, seed, 'WhisperMessageKeys', 80);
  return { cipher: o.subarray(0, 32), mac: o.subarray(32, 64), iv: o.subarray(64, 80) };
}
// Receive a libsignal message in emulated B: returns the plaintext or throws.
async function bRecv(m) {
  const p = parseSignal(m.sm);
  let chain = dr.recv.find((r) => r.pub.equals(p.ratchetKey));
  let pending = null;
  if (!chain) {
    // DH ratchet step (facts 4.3 step 1)
    const their = S.PublicKey.deserialize(p.ratchetKey);
    const o1 = hkdf(dr.rk, Buffer.from(dr.send.priv.agree(their)), 'WhisperRatchet', 64);
    const npriv = S.PrivateKey.generate();
    const o2 = hkdf(o1.subarray(0, 32), Buffer.from(npriv.agree(their)), 'WhisperRatchet', 64);
    chain = { pub: p.ratchetKey, ck: o1.subarray(32, 64), index: 0, skipped: new Map() };
    pending = { rk: o2.subarray(0, 32), send: { pub: Buffer.from(npriv.getPublicKey().serialize()), priv: npriv, ck: o2.subarray(32, 64), index: 0 }, prev: dr.send.index ? dr.send.index - 1 : 0 };
  }
  let seed, newCk = chain.ck, newIndex = chain.index;
  const newSkipped = new Map(chain.skipped);
  if (p.counter < chain.index) {
    seed = chain.skipped.get(p.counter);
    if (!seed) throw new Error('duplicate');
    newSkipped.delete(p.counter);
  } else {
    while (newIndex < p.counter) {
      newSkipped.set(newIndex, hmac(newCk, Buffer.from([1])));
      newCk = hmac(newCk, Buffer.from([2]));
      newIndex++;
    }
    seed = hmac(newCk, Buffer.from([1]));
    newCk = hmac(newCk, Buffer.from([2]));
    newIndex++;
  }
  const r = await tool({ op: 'recv', id: 'B', msg: hex(p.pq) });
  if (r.ok !== 1) { cRecvErrors++; throw new Error(`C recv: ${JSON.stringify(r)}`); }
  const k = messageKeys(seed, r.key ? unhex(r.key) : null);
  const mac = hmac(k.mac, ikA, ikB, m.sm.subarray(0, m.sm.length - 8)).subarray(0, 8);
  macTotal++;
  if (!mac.equals(p.mac)) throw new Error('MAC does not verify with our SPQR key');
  macWithC++;
  const d = crypto.createDecipheriv('aes-256-cbc', k.cipher, k.iv);
  const plain = Buffer.concat([d.update(p.ciphertext), d.final()]);
  // commit
  chain.ck = newCk; chain.index = newIndex; chain.skipped = newSkipped;
  if (pending) {
    dr.recv.push(chain);
    if (dr.recv.length > 5) dr.recv.shift();
    dr.rk = pending.rk; dr.send = pending.send; dr.prev = pending.prev;
  }
  return { plain, key: r.key, state: r.state, epoch: r.epoch, chain_epoch: r.chain_epoch };
}

// --- B sends: our SPQR, B's chain, libsignal A decrypts
let nB = 0, libsignalAccepted = 0;
function bBuild(spqrMsg, spqrKey, text, { advance = true } = {}) {
  const seed = hmac(dr.send.ck, Buffer.from([1]));
  const k = messageKeys(seed, spqrKey);
  const c = crypto.createCipheriv('aes-256-cbc', k.cipher, k.iv);
  const ct = Buffer.concat([c.update(text), c.final()]);
  const body = Buffer.concat([Buffer.from([0x44]), pbBytes(1, dr.send.pub), pbUint(2, dr.send.index),
    pbUint(3, dr.prev), pbBytes(4, ct), pbBytes(5, spqrMsg)]);
  const mac = hmac(k.mac, ikB, ikA, body).subarray(0, 8);
  if (advance) { dr.send.ck = hmac(dr.send.ck, Buffer.from([2])); dr.send.index++; }
  return Buffer.concat([body, mac]);
}
async function bSend() {
  const r = await tool({ op: 'send', id: 'B' });
  if (r.ok !== 1) throw new Error(`C send: ${JSON.stringify(r)}`);
  const text = Buffer.from(`from B #${nB++} ${crypto.randomBytes(4).toString('hex')}`);
  return { sm: bBuild(unhex(r.msg), unhex(r.key), text), text, pq: unhex(r.msg), state: r.state, epoch: r.epoch, chain_epoch: r.chain_epoch };
}
async function aRecv(m) {
  const plain = await S.signalDecrypt(S.SignalMessage.deserialize(m.sm), B.addr, A.addr, A.sessions, A.ids);
  libsignalAccepted++;
  return Buffer.from(plain);
}

// The first message (B's libsignal already took it): our SPQR, fresh, must
// give the key under which its MAC verifies with A's chain key 0.
{
  const p = parseSignal(first.sm);
  const r = await tool({ op: 'recv', id: 'B', msg: hex(p.pq) });
  const k = r.ok === 1 && r.key ? messageKeys(hmac(first.ck, Buffer.from([1])), unhex(r.key)) : null;
  check('first message: 37-byte pq_ratchet 01 01 01 01 00 ...',
    p.pq.length === 37 && p.pq.subarray(0, 5).equals(Buffer.from('0101010100', 'hex')));
  check('first message: its MAC verifies under our SPQR key',
    k && hmac(k.mac, ikA, ikB, first.sm.subarray(0, first.sm.length - 8)).subarray(0, 8).equals(p.mac),
    JSON.stringify(r));
}

// Controls: a wrong SPQR key, and a corrupted pq_ratchet, are refused by libsignal.
{
  const r = await tool({ op: 'send', id: 'B' });
  const bad = bBuild(unhex(r.msg), crypto.randomBytes(32), Buffer.from('wrong key'), { advance: false });
  let rejected = false;
  try { await aRecv({ sm: bad }); } catch { rejected = true; }
  check('control: libsignal rejects a message keyed with a wrong SPQR key', rejected);
  // Our key presented under another SPQR index must be refused too.
  const pq = unhex(r.msg);
  const altered = Buffer.from(pq);
  altered[2] ^= 0x01; // the index varint (small) -> a different chain key
  const bad2 = bBuild(altered, unhex(r.key), Buffer.from('wrong index'), { advance: false });
  rejected = false;
  try { await aRecv({ sm: bad2 }); } catch { rejected = true; }
  check('control: libsignal rejects our key under a different SPQR index', rejected);
  libsignalAccepted = 0;
}

// --- traffic
let aOk = 0, bOk = 0;
async function deliverToA(m) {
  const plain = await aRecv(m);
  if (plain.equals(m.text)) aOk++; else check('A plaintext', false);
}
async function deliverToB(m) {
  const r = await bRecv(m);
  statesSeen.add(r.state);
  ourChainEpoch = r.chain_epoch;
  if (r.plain.equals(m.text)) bOk++; else check('B plaintext', false);
}
const statesSeen = new Set();
let ourChainEpoch = 0;
function scramble(arr, seed) {
  const out = [...arr];
  for (let i = out.length - 1; i > 0; i--) { seed = (seed * 1103515245 + 12345) % 2147483648; const j = seed % (i + 1); [out[i], out[j]] = [out[j], out[i]]; }
  return out;
}
let errors = 0;
try {
  // A's burst while B is "offline"
  const burst = [];
  for (let i = 0; i < 6; i++) burst.push(await aSend());
  for (const m of burst) await deliverToB(m);
  let round = 0;
  for (; round < 3000; round++) {
    const kind = round % 97;
    if (kind === 20) {
      // a long burst from A, delivered in order: ek can complete before
      // any ct1 acknowledgement (EkReceivedCt1Sampled)
      for (let i = 0; i < 45; i++) await deliverToB(await aSend());
    } else if (kind === 40 || kind === 70) {
      const ms = [];
      for (let i = 0; i < 7; i++) { const m = await bSend(); statesSeen.add(m.state); ourChainEpoch = m.chain_epoch; ms.push(m); }
      for (const m of scramble(ms, round)) await deliverToA(m);
    } else if (kind === 55 || kind === 85) {
      const ms = [];
      for (let i = 0; i < 7; i++) ms.push(await aSend());
      for (const m of scramble(ms, round)) { const r = await deliverToB(m); void r; }
    } else if (round % 2 === 0) {
      const m = await bSend();
      statesSeen.add(m.state);
      ourChainEpoch = m.chain_epoch;
      await deliverToA(m);
    } else {
      await deliverToB(await aSend());
    }
    if (round > 200 && spqrChainEpoch(A, B) >= 8 && ourChainEpoch >= 8 && statesSeen.size >= 11) break;
  }
  console.log(`${round} rounds`);
} catch (e) {
  errors++;
  console.log(`FAIL traffic: ${e.stack}`);
}
check('no errors in live traffic', errors === 0);
const lsEpoch = spqrChainEpoch(A, B);
const last = await tool({ op: 'send', id: 'B' });
console.log(`libsignal A chain epoch ${lsEpoch}; our B: state ${last.state}, epoch ${last.epoch}, chain epoch ${last.chain_epoch}; ` +
  `A accepted ${aOk} of our messages, we verified ${macWithC}/${macTotal} of A's`);
check('libsignal decrypted every message our SPQR sent', aOk === nB && aOk > 300, `${aOk}/${nB}`);
check('every libsignal message MAC-verified under our SPQR key and decrypted', bOk === macTotal && macWithC === macTotal && macTotal > 300,
  `${bOk} ${macWithC}/${macTotal}`);
check('both SPQR chains advanced at least 8 epochs', lsEpoch >= 8 && last.chain_epoch >= 8, `${lsEpoch} ${last.chain_epoch}`);
console.log(`states our SPQR was in: ${[...statesSeen].sort((a, b) => a - b).join(',')}`);
check('our SPQR went through all eleven braid states', statesSeen.size === 11, [...statesSeen].sort((a, b) => a - b).join(','));
check('our recv never failed', cRecvErrors === 0);

child.stdin.end();
console.log(`spqr braid vs libsignal: ${passed}/${passed + failed} checks passed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
