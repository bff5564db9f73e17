// Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE.
//
// Sotto's PQXDH, Double Ratchet and message codecs against a real libsignal
// 0.103 session. libsignal runs a conversation between two in-memory
// parties; after every step the script converts libsignal's stored session
// (SessionRecord.serialize(), facts section 10) to JSON and asks
// build/bin/sotto-proto-check (tests/tools/sotto-proto-check.c) to redo the
// step in C from the state libsignal had just before it:
//   - encrypt: from the sender's previous state, with the SPQR message and
//     key libsignal used, our bytes must equal libsignal's message byte for
//     byte (version byte, protobuf field order and presence, AES-CBC, MAC,
//     addresses field, PreKeySignalMessage wrapping), and our new state must
//     equal libsignal's;
//   - first PreKey message: our responder PQXDH (from Bob's real prekeys and
//     libsignal's message) must give the PQR key libsignal gave SPQR, decrypt
//     the message, and land on libsignal's state (root key, chains) when our
//     RNG hands out the ratchet key libsignal drew;
//   - every other decrypt (in order, out of order, after DH ratchet steps):
//     same plaintext and the same resulting state as libsignal, including
//     the skipped message keys (index and seed) in libsignal's order;
//   - tampering (MAC, addresses) is rejected.
// The SPQR key of each message is computed here from the SPQR chain (facts
// 5.3) for epoch-1 messages; the conversation is kept short enough that
// SPQR stays in epoch 1, and the script fails if it does not.
import * as S from '@signalapp/libsignal-client';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const BIN = process.env.SOTTO_BIN ?? path.resolve(process.cwd(), '../../build/bin');
const TOOL = path.join(BIN, 'sotto-proto-check');

let passed = 0, failed = 0;
function check(name, cond, extra = '') {
  if (cond) passed++;
  else { failed++; console.log(`FAIL ${name} ${extra}`); }
}

const hex = (b) => Buffer.from(b).toString('hex');
const hkdf = (salt, ikm, info, len) =>
  Buffer.from(crypto.hkdfSync('sha256', ikm, salt ?? Buffer.alloc(32), info, len));

// --- protobuf reader: field -> list of values (varint as Number, bytes as Buffer)
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
    const f = Number(key >> 3n), wt = Number(key & 7n);
    if (wt === 0) { [v, pos] = varint(buf, pos); v = Number(v); }
    else if (wt === 2) { let l; [l, pos] = varint(buf, pos); l = Number(l); v = buf.subarray(pos, pos + l); pos += l; }
    else if (wt === 1) { v = buf.readBigUInt64LE(pos); pos += 8; }
    else if (wt === 5) { v = buf.readUInt32LE(pos); pos += 4; }
    else throw new Error('wire type ' + wt);
    if (!out.has(f)) out.set(f, []);
    out.get(f).push(v);
  }
  return out;
}
const f1 = (m, f) => (m.has(f) ? m.get(f)[0] : undefined);
const fAll = (m, f) => (m.has(f) ? m.get(f) : []);

// --- the C helper
function tool(req) {
  const r = spawnSync(TOOL, [], { input: JSON.stringify(req) + '\n', encoding: 'utf8' });
  if (r.status !== 0 || !r.stdout) throw new Error(`sotto-proto-check failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim());
}

// --- libsignal session record -> sotto-proto-check state JSON
const u32 = (k) => (k.length === 33 ? k.subarray(1) : k);
function chainJson(buf, withPriv) {
  const c = proto(buf), ck = proto(f1(c, 3));
  const j = { pub: hex(u32(f1(c, 1))), key: hex(f1(ck, 2)), index: f1(ck, 1) ?? 0 };
  if (withPriv) j.priv = hex(f1(c, 2));
  else j.skipped = fAll(c, 4).map((mk) => { const m = proto(mk); return { index: f1(m, 1) ?? 0, seed: hex(f1(m, 5) ?? Buffer.alloc(0)) }; });
  return j;
}
function sessionJson(recordBytes) {
  const rec = proto(recordBytes), s = proto(f1(rec, 1));
  const j = {
    version: f1(s, 1) ?? 0,
    local_identity: hex(f1(s, 2)), remote_identity: hex(f1(s, 3)),
    root_key: hex(f1(s, 4)), previous_counter: f1(s, 5) ?? 0,
    receivers: fAll(s, 7).map((c) => chainJson(c, false)),
    remote_reg: f1(s, 10) ?? 0, local_reg: f1(s, 11) ?? 0,
  };
  if (f1(s, 6)) j.sender = chainJson(f1(s, 6), true);
  if (f1(s, 9)) {
    const p = proto(f1(s, 9)), k = proto(f1(s, 14));
    j.pending = { signed_pre_key_id: f1(p, 3) ?? 0, base_key: hex(f1(p, 2)), timestamp: f1(p, 4) ?? 0,
      kyber_pre_key_id: f1(k, 1) ?? 0, kyber_ct: hex(f1(k, 2)) };
    if (f1(p, 1) !== undefined) j.pending.pre_key_id = f1(p, 1);
  }
  if (f1(s, 13)) j.alice_base_key = hex(f1(s, 13));
  return j;
}
function authKeyOf(recordBytes) {
  const s = proto(f1(proto(recordBytes), 1));
  return f1(proto(f1(proto(f1(s, 15)), 1)), 1);
}

// JSON with sorted keys, so objects compare by content.
function canon(v) {
  if (Array.isArray(v)) return '[' + v.map(canon).join(',') + ']';
  if (v && typeof v === 'object') return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + canon(v[k])).join(',') + '}';
  return JSON.stringify(v);
}

// Compares our state with libsignal's, field by field.
function sameState(name, ours, theirs) {
  const keys = ['version', 'local_identity', 'remote_identity', 'root_key', 'previous_counter',
    'remote_reg', 'local_reg', 'alice_base_key'];
  for (const k of keys) check(`${name}: ${k}`, ours[k] === theirs[k], `${ours[k]} != ${theirs[k]}`);
  check(`${name}: sender chain`, canon(ours.sender) === canon(theirs.sender),
    `${JSON.stringify(ours.sender)} != ${JSON.stringify(theirs.sender)}`);
  check(`${name}: receiver chains`, canon(ours.receivers) === canon(theirs.receivers),
    `${JSON.stringify(ours.receivers).slice(0, 400)} != ${JSON.stringify(theirs.receivers).slice(0, 400)}`);
  check(`${name}: pending`, ours.has_pending === (theirs.pending !== undefined));
  if (theirs.pending) check(`${name}: pending items`, canon(ours.pending) === canon(theirs.pending));
}

// --- SPQR chain (facts 5.3), epoch-1 messages only
function spqrSeeds(auth) {
  const g = hkdf(Buffer.alloc(32), auth, 'Signal PQ Ratchet V1 Chain  Start', 96);
  return { a2b: g.subarray(32, 64), b2a: g.subarray(64, 96) };
}
function spqrKey(seed, index) {
  let next = seed, key;
  for (let c = 1; c <= index; c++) {
    const be = Buffer.alloc(4); be.writeUInt32BE(c);
    const g = hkdf(Buffer.alloc(32), next, Buffer.concat([be, Buffer.from('Signal PQ Ratchet V1 Chain Next')]), 64);
    next = g.subarray(0, 32); key = g.subarray(32, 64);
  }
  return key;
}
function leb(b, p) { let r = 0, s = 0; for (;;) { const x = b[p++]; r += (x & 0x7f) * 2 ** s; s += 7; if (!(x & 0x80)) return [r, p]; } }
function pqHeader(b) { let p = 1, epoch, index; [epoch, p] = leb(b, p); [index, p] = leb(b, p); return { epoch, index }; }

// --- stores
class Ids extends S.IdentityKeyStore {
  constructor(kp, reg) { super(); this.kp = kp; this.reg = reg; this.m = new Map(); }
  async getIdentityKey() { return this.kp.privateKey; }
  async getLocalRegistrationId() { return this.reg; }
  async saveIdentity(a, k) { this.m.set(a.toString(), k); return S.IdentityChange.NewOrUnchanged; }
  async isTrustedIdentity() { return true; }
  async getIdentity(a) { return this.m.get(a.toString()) ?? null; }
}
class Sess extends S.SessionStore {
  m = new Map();
  async saveSession(a, r) { this.m.set(a.toString(), Buffer.from(r.serialize())); }
  async getSession(a) { const r = this.m.get(a.toString()); return r ? S.SessionRecord.deserialize(r) : null; }
  async getExistingSessions(as) { return as.map((a) => S.SessionRecord.deserialize(this.m.get(a.toString()))); }
}
class PKs extends S.PreKeyStore { m = new Map(); async savePreKey(i, r) { this.m.set(i, r); } async getPreKey(i) { return this.m.get(i); } async removePreKey(i) { this.m.delete(i); } }
class SPKs extends S.SignedPreKeyStore { m = new Map(); async saveSignedPreKey(i, r) { this.m.set(i, r); } async getSignedPreKey(i) { return this.m.get(i); } }
class KPKs extends S.KyberPreKeyStore { m = new Map(); async saveKyberPreKey(i, r) { this.m.set(i, r); } async getKyberPreKey(i) { return this.m.get(i); } async markKyberPreKeyUsed() {} }

async function conversation(withOpk) {
  const tag = withOpk ? 'opk' : 'no-opk';
  const uA = crypto.randomUUID(), uB = crypto.randomUUID();
  const A = { name: 'alice', uuid: uA, dev: 1, addr: S.ProtocolAddress.new(uA, 1), id: S.IdentityKeyPair.generate(), reg: 1111, s: new Sess() };
  const B = { name: 'bob', uuid: uB, dev: 2, addr: S.ProtocolAddress.new(uB, 2), id: S.IdentityKeyPair.generate(), reg: 2222, s: new Sess() };
  A.ids = new Ids(A.id, A.reg); B.ids = new Ids(B.id, B.reg);
  A.peer = B; B.peer = A;
  const bPK = new PKs(), bSPK = new SPKs(), bKPK = new KPKs();
  const spk = S.PrivateKey.generate(), opk = S.PrivateKey.generate();
  const spkSig = B.id.privateKey.sign(spk.getPublicKey().serialize());
  const kk = S.KEMKeyPair.generate();
  const kSig = B.id.privateKey.sign(kk.getPublicKey().serialize());
  await bSPK.saveSignedPreKey(7, S.SignedPreKeyRecord.new(7, Date.now(), spk.getPublicKey(), spk, spkSig));
  await bPK.savePreKey(9, S.PreKeyRecord.new(9, opk.getPublicKey(), opk));
  await bKPK.saveKyberPreKey(11, S.KyberPreKeyRecord.new(11, Date.now(), kk, kSig));
  const bundle = S.PreKeyBundle.new(B.reg, B.dev, withOpk ? 9 : null, withOpk ? opk.getPublicKey() : null,
    7, spk.getPublicKey(), spkSig, B.id.publicKey, 11, kk.getPublicKey(), kSig);
  await S.processPreKeyBundle(bundle, B.addr, A.addr, A.s, A.ids);
  const auth = authKeyOf(A.s.m.get(B.addr.toString()));
  const seeds = spqrSeeds(auth);
  A.pqSeed = seeds.a2b; B.pqSeed = seeds.b2a;
  let bobHasSession = false;

  const rec = (P) => P.s.m.get(P.peer.addr.toString());
  const addrOf = (snd, rcv) => {
    const r = tool({ op: 'addresses', sender: snd.uuid, sender_device: snd.dev, recipient: rcv.uuid, recipient_device: rcv.dev });
    return r.addresses;
  };

  // One message from snd to rcv, replayed in C on both ends. deliver=false
  // keeps the message for later (out-of-order tests).
  async function send(snd, text) {
    const rcv = snd.peer;
    const before = sessionJson(rec(snd));
    const c = await S.signalEncrypt(Buffer.from(text), rcv.addr, snd.addr, snd.s, snd.ids);
    const raw = Buffer.from(c.serialize());
    const after = sessionJson(rec(snd));
    const isPre = c.type() === 3;
    const sm = isPre ? f1(proto(raw.subarray(1)), 4) : raw;
    const body = proto(sm.subarray(1, sm.length - 8));
    const pq = f1(body, 5), hdr = pqHeader(pq);
    check(`${tag} ${text}: SPQR epoch 1`, hdr.epoch === 1, `epoch ${hdr.epoch}`);
    const pqKey = spqrKey(snd.pqSeed, hdr.index);
    const addresses = f1(body, 6) ? addrOf(snd, rcv) : undefined;
    if (isPre) check(`${tag} ${text}: addresses field built like libsignal`, hex(f1(body, 6)) === addresses);
    const r = tool({ op: 'encrypt', state: before, pq_key: hex(pqKey), pq_msg: hex(pq), addresses, plaintext: hex(Buffer.from(text)) });
    check(`${tag} ${text}: C encrypt ok`, r.message !== undefined, JSON.stringify(r).slice(0, 200));
    if (r.message !== undefined) {
      check(`${tag} ${text}: C message == libsignal message (${isPre ? 'PreKey' : 'Whisper'}, ${raw.length} bytes)`, r.message === hex(raw),
        `\n ours   ${r.message.slice(0, 160)}\n theirs ${hex(raw).slice(0, 160)}`);
      sameState(`${tag} ${text}: sender state after encrypt`, r.state, after);
    }
    return { raw, isPre, sm, pqKey, text, addresses, snd, rcv };
  }

  async function deliver(m, cState) {
    const { raw, isPre, sm, pqKey, text, rcv, snd } = m;
    const before = cState ?? (bobHasSession || rcv === A ? sessionJson(rec(rcv)) : null);
    if (isPre) await S.signalDecryptPreKey(S.PreKeySignalMessage.deserialize(raw), snd.addr, rcv.addr, rcv.s, rcv.ids, bPK, bSPK, bKPK);
    else await S.signalDecrypt(S.SignalMessage.deserialize(raw), snd.addr, rcv.addr, rcv.s, rcv.ids);
    const after = sessionJson(rec(rcv));
    const rng = after.sender ? after.sender.priv : '';
    const expAddr = addrOf(snd, rcv);
    let r;
    if (isPre && !bobHasSession) {
      r = tool({ op: 'respond', identity_priv: hex(B.id.privateKey.serialize()), local_reg: B.reg,
        spk_id: 7, spk_priv: hex(spk.serialize()), ...(withOpk ? { opk_id: 9, opk_priv: hex(opk.serialize()) } : {}),
        kyber_id: 11, kyber_pub: hex(kk.getPublicKey().serialize()), kyber_priv: hex(kk.getSecretKey().serialize()),
        message: hex(raw), pq_key: hex(pqKey), addresses: expAddr, rng });
      check(`${tag} ${text}: C PQXDH responder ok`, r.error === undefined, JSON.stringify(r));
      if (r.pqr) check(`${tag} ${text}: PQR key == libsignal SPQR auth_key`, r.pqr === hex(auth));
      bobHasSession = true;
    } else {
      r = tool({ op: 'decrypt', state: before, message: hex(sm), pq_key: hex(pqKey), addresses: expAddr, rng });
      check(`${tag} ${text}: C decrypt ok`, r.error === undefined, JSON.stringify(r));
    }
    if (r.error === undefined) {
      check(`${tag} ${text}: plaintext`, Buffer.from(r.plaintext, 'hex').toString() === text);
      check(`${tag} ${text}: parsed message re-encodes to libsignal's bytes`, r.reencoded_equal === true);
      sameState(`${tag} ${text}: receiver state after decrypt`, r.state, after);
    }
    return r.state;
  }

  // PreKey messages, Bob's reply (DH ratchet on both sides), ping-pong.
  const p1 = await send(A, 'hello bob');
  const p2 = await send(A, 'second prekey message');
  await deliver(p1);
  const bobAfterP1 = sessionJson(rec(B));
  await deliver(p2);
  {
    // Replays of p2's inner message against Bob's state before p2 with
    // corruptions: every one must fail.
    const bad = Buffer.from(p2.sm); bad[bad.length - 1] ^= 1;
    let r = tool({ op: 'decrypt', state: bobAfterP1, message: hex(bad), pq_key: hex(p2.pqKey), addresses: p2.addresses, rng: '' });
    check(`${tag}: flipped MAC rejected`, r.error === 'invalid_message', JSON.stringify(r));
    const wrongAddr = tool({ op: 'addresses', sender: uB, sender_device: 2, recipient: uA, recipient_device: 1 }).addresses;
    r = tool({ op: 'decrypt', state: bobAfterP1, message: hex(p2.sm), pq_key: hex(p2.pqKey), addresses: wrongAddr, rng: '' });
    check(`${tag}: wrong addresses rejected`, r.error === 'invalid_message', JSON.stringify(r));
    r = tool({ op: 'decrypt', state: bobAfterP1, message: hex(p2.sm), pq_key: hex(p2.pqKey), rng: '' });
    check(`${tag}: addresses present but local names not ServiceIds rejected`, r.error === 'invalid_message', JSON.stringify(r));
    r = tool({ op: 'decrypt', state: bobAfterP1, message: hex(p2.sm), pq_key: hex(Buffer.alloc(32, 7)), addresses: p2.addresses, rng: '' });
    check(`${tag}: wrong SPQR key rejected`, r.error === 'invalid_message', JSON.stringify(r));
    r = tool({ op: 'decrypt', state: bobAfterP1, message: hex(p2.sm), pq_key: hex(p2.pqKey), addresses: p2.addresses, rng: '' });
    check(`${tag}: untampered message still decrypts`, r.error === undefined, JSON.stringify(r));
  }
  await deliver(await send(B, 'hi alice'));
  await deliver(await send(A, 'ping 1'));
  await deliver(await send(B, 'pong 1'));
  await deliver(await send(B, 'pong 2'));
  // Out of order, across a chain: Alice sends three, Bob gets 3, 1, 2;
  // our state (skipped keys included) must track libsignal's.
  const q = [await send(A, 'ooo 1'), await send(A, 'ooo 2'), await send(A, 'ooo 3')];
  let cs = await deliver(q[2]);
  cs = await deliver(q[0], cs);
  await deliver(q[1], cs);
  // Duplicate: libsignal and C both refuse the same message again.
  {
    const r = tool({ op: 'decrypt', state: sessionJson(rec(B)), message: hex(q[1].sm), pq_key: hex(q[1].pqKey), rng: '' });
    check(`${tag}: duplicate rejected`, r.error === 'duplicate_message', JSON.stringify(r));
    let libErr = null;
    try { await S.signalDecrypt(S.SignalMessage.deserialize(q[1].raw), A.addr, B.addr, B.s, B.ids); } catch (e) { libErr = e; }
    check(`${tag}: libsignal also rejects the duplicate`, libErr !== null);
  }
  await deliver(await send(B, 'final reply'));
}

// Our PQXDH initiator against libsignal's responder: C builds the session
// from Bob's real bundle and encrypts the first PreKeySignalMessage (with the
// SPQR message libsignal expects first: V1, epoch 1, index 1, a Hdr chunk,
// whose key is the A2B chain key 1 of our PQR key); libsignal must decrypt
// it, and we must decrypt libsignal's reply.
async function cInitiator(withOpk) {
  const tag = withOpk ? 'C-initiator opk' : 'C-initiator no-opk';
  const uA = crypto.randomUUID(), uB = crypto.randomUUID();
  const aAddr = S.ProtocolAddress.new(uA, 1), bAddr = S.ProtocolAddress.new(uB, 2);
  const aId = S.IdentityKeyPair.generate(), bId = S.IdentityKeyPair.generate();
  const bIds = new Ids(bId, 2222), bS = new Sess(), bPK = new PKs(), bSPK = new SPKs(), bKPK = new KPKs();
  const spk = S.PrivateKey.generate(), opk = S.PrivateKey.generate();
  const spkSig = bId.privateKey.sign(spk.getPublicKey().serialize());
  const kk = S.KEMKeyPair.generate();
  const kSig = bId.privateKey.sign(kk.getPublicKey().serialize());
  await bSPK.saveSignedPreKey(7, S.SignedPreKeyRecord.new(7, Date.now(), spk.getPublicKey(), spk, spkSig));
  await bPK.savePreKey(9, S.PreKeyRecord.new(9, opk.getPublicKey(), opk));
  await bKPK.saveKyberPreKey(11, S.KyberPreKeyRecord.new(11, Date.now(), kk, kSig));
  const bundle = { registration_id: 2222, device_id: 2, signed_pre_key_id: 7,
    signed_pre_key: hex(spk.getPublicKey().serialize()), signed_pre_key_signature: hex(spkSig),
    identity_key: hex(bId.publicKey.serialize()), kyber_pre_key_id: 11,
    kyber_pre_key: hex(kk.getPublicKey().serialize()), kyber_pre_key_signature: hex(kSig) };
  if (withOpk) { bundle.pre_key_id = 9; bundle.pre_key = hex(opk.getPublicKey().serialize()); }
  const init = tool({ op: 'initiate', identity_priv: hex(aId.privateKey.serialize()), local_reg: 1111,
    now: Math.floor(Date.now() / 1000), rng: hex(crypto.randomBytes(96)), bundle });
  check(`${tag}: initiate ok`, init.error === undefined, JSON.stringify(init));
  if (init.error) return;
  {
    const bad = { ...bundle, signed_pre_key_signature: hex(Buffer.alloc(64, 1)) };
    const r = tool({ op: 'initiate', identity_priv: hex(aId.privateKey.serialize()), local_reg: 1, now: 0,
      rng: hex(crypto.randomBytes(96)), bundle: bad });
    check(`${tag}: bad signed prekey signature rejected`, r.error === 'invalid_signature', JSON.stringify(r));
  }
  const seeds = spqrSeeds(Buffer.from(init.pqr, 'hex'));
  const addresses = tool({ op: 'addresses', sender: uA, sender_device: 1, recipient: uB, recipient_device: 2 }).addresses;
  const pq = '0101010100' + hex(crypto.randomBytes(32));
  const e = tool({ op: 'encrypt', state: init.state, pq_msg: pq, pq_key: hex(spqrKey(seeds.a2b, 1)), addresses,
    plaintext: hex(Buffer.from('hello from sotto')) });
  check(`${tag}: C encrypt ok`, e.message !== undefined, JSON.stringify(e).slice(0, 200));
  check(`${tag}: still pending after encrypt`, e.state && e.state.has_pending === true);
  let pt = null;
  try {
    pt = await S.signalDecryptPreKey(S.PreKeySignalMessage.deserialize(Buffer.from(e.message, 'hex')), aAddr, bAddr,
      bS, bIds, bPK, bSPK, bKPK);
  } catch (err) { console.log(`${tag}: libsignal: ${err.message}`); }
  check(`${tag}: libsignal decrypts our PreKeySignalMessage`, pt !== null && Buffer.from(pt).toString() === 'hello from sotto');
  check(`${tag}: libsignal used the one-time prekey`, bPK.m.has(9) === !withOpk);
  // libsignal's reply, decrypted by us.
  const c = await S.signalEncrypt(Buffer.from('reply from libsignal'), aAddr, bAddr, bS, bIds);
  const raw = Buffer.from(c.serialize());
  const hdr = pqHeader(f1(proto(raw.subarray(1, raw.length - 8)), 5));
  const r = tool({ op: 'decrypt', state: e.state, message: hex(raw), pq_key: hex(spqrKey(seeds.b2a, hdr.index)),
    rng: hex(crypto.randomBytes(32)) });
  check(`${tag}: we decrypt libsignal's reply`, r.error === undefined &&
    Buffer.from(r.plaintext, 'hex').toString() === 'reply from libsignal', JSON.stringify(r).slice(0, 200));
  check(`${tag}: pending prekey cleared after the reply`, r.state && r.state.has_pending === false);
}

await conversation(true);
await conversation(false);
await cInitiator(true);
await cInitiator(false);
console.log(`protocol_kdf: ${passed}/${passed + failed} checks passed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
