// Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE.
// Cross-checks libsotto's sender keys, sealed sender (certificates, USMC, v1,
// v2 with the server split) and safety numbers against the official libsignal
// Node package, both directions. The C side is $SOTTO_BIN/sotto-groups-check
// (JSON lines). Exits non-zero on any mismatch.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
if (!fs.existsSync(path.join(here, 'node_modules', '@signalapp', 'libsignal-client'))) {
  console.error('FAIL: tests/interop/node_modules is missing: run `npm ci` in tests/interop');
  process.exit(2);
}
const S = await import('@signalapp/libsignal-client');
const bin = process.env.SOTTO_BIN;
if (!bin) {
  console.error('FAIL: SOTTO_BIN is not set (run through ctest, or SOTTO_BIN=build/bin)');
  process.exit(2);
}

// ---- the C helper, one persistent process ----
const child = spawn(path.join(bin, 'sotto-groups-check'), [], { stdio: ['pipe', 'pipe', 'inherit'] });
const rl = readline.createInterface({ input: child.stdout });
const waiting = [];
rl.on('line', (l) => waiting.shift()(JSON.parse(l)));
child.on('exit', (code) => {
  if (waiting.length) {
    console.error(`FAIL: sotto-groups-check exited (${code}) with requests pending`);
    process.exit(1);
  }
});
function c(req) {
  return new Promise((resolve) => {
    waiting.push(resolve);
    child.stdin.write(JSON.stringify(req) + '\n');
  });
}

let failures = 0;
const counts = {};
function count(name, ok, detail) {
  counts[name] ??= { pass: 0, total: 0 };
  counts[name].total++;
  if (ok) counts[name].pass++;
  else if (failures++ < 30) console.error(`FAIL ${name}: ${detail ?? ''}`);
}
const b64 = (b) => Buffer.from(b).toString('base64');
const unb64 = (s) => new Uint8Array(Buffer.from(s, 'base64'));
const hex = (b) => Buffer.from(b).toString('hex');
const eq = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
const rand = (n) => new Uint8Array(crypto.randomBytes(n));
const uuidBytes = (u) => Buffer.from(u.replace(/-/g, ''), 'hex');
function shuffle(a) {
  for (let i = a.length - 1; i > 0; i--) {
    const j = crypto.randomInt(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

class SKs extends S.SenderKeyStore {
  m = new Map();
  async saveSenderKey(a, d, r) { this.m.set(a.toString() + d, r); }
  async getSenderKey(a, d) { return this.m.get(a.toString() + d) ?? null; }
}
class Ids extends S.IdentityKeyStore {
  constructor(kp, reg) { super(); this.kp = kp; this.reg = reg; this.m = new Map(); }
  async getIdentityKey() { return this.kp.privateKey; }
  async getLocalRegistrationId() { return this.reg; }
  async saveIdentity(a, k) { this.m.set(a.name(), k); return S.IdentityChange.NewOrUnchanged; }
  async isTrustedIdentity() { return true; }
  async getIdentity(a) { return this.m.get(a.name()) ?? null; }
}
class Sess extends S.SessionStore {
  m = new Map();
  async saveSession(a, r) { this.m.set(a.toString(), r.serialize()); }
  async getSession(a) { const r = this.m.get(a.toString()); return r ? S.SessionRecord.deserialize(r) : null; }
  async getExistingSessions(as) { return as.map((a) => S.SessionRecord.deserialize(this.m.get(a.toString()))); }
}

// ---- 1. Sender keys ----
async function senderKeys() {
  // libsignal sender -> C receiver, many messages, shuffled, two distribution ids.
  const alice = crypto.randomUUID();
  const aAddr = S.ProtocolAddress.new(alice, 3);
  const aSK = new SKs();
  const dists = [crypto.randomUUID(), crypto.randomUUID()];
  for (const d of dists) {
    const skdm = (await S.SenderKeyDistributionMessage.create(aAddr, d, aSK)).serialize();
    const r = await c({ op: 'sk_process', party: 'bob', sender: alice, device: 3, msg: b64(skdm) });
    count('skdm libsignal->C processed', r.ok, JSON.stringify(r));
  }
  const msgs = [];
  for (let i = 0; i < 300; i++) {
    const d = dists[i % 2];
    const pt = rand(crypto.randomInt(200));
    const ct = (await S.groupEncrypt(aAddr, d, aSK, pt)).serialize();
    msgs.push({ pt, ct });
  }
  // Keep 20 back to replay as duplicates later.
  shuffle(msgs);
  for (const m of msgs) {
    const r = await c({ op: 'sk_decrypt', party: 'bob', sender: alice, device: 3, msg: b64(m.ct) });
    count('SenderKeyMessage libsignal->C decrypt (shuffled)', r.ok && eq(unb64(r.pt), m.pt), JSON.stringify(r).slice(0, 200));
  }
  for (const m of msgs.slice(0, 20)) {
    const r = await c({ op: 'sk_decrypt', party: 'bob', sender: alice, device: 3, msg: b64(m.ct) });
    count('replayed SenderKeyMessage -> duplicate_message', !r.ok && r.error === 'duplicate_message', JSON.stringify(r));
  }
  // Wrong sender device: no state.
  {
    const r = await c({ op: 'sk_decrypt', party: 'bob', sender: alice, device: 4, msg: b64(msgs[0].ct) });
    count('unknown sender -> no_session', !r.ok && r.error === 'no_session', JSON.stringify(r));
  }

  // C sender -> libsignal receiver.
  const carol = crypto.randomUUID();
  const cAddr = S.ProtocolAddress.new(carol, 7);
  const bSK = new SKs();
  const cd = [crypto.randomUUID(), crypto.randomUUID()];
  for (const d of cd) {
    const r = await c({ op: 'sk_create', party: 'carol', sender: carol, device: 7, dist: b64(uuidBytes(d)) });
    count('skdm C create', r.ok, JSON.stringify(r));
    const skdm = S.SenderKeyDistributionMessage.deserialize(unb64(r.skdm));
    await S.processSenderKeyDistributionMessage(cAddr, skdm, bSK);
    // Byte-exact: libsignal re-encodes the same fields to the same bytes.
    const again = S.SenderKeyDistributionMessage._new(3, d, skdm.chainId(), skdm.iteration(), skdm.chainKey(), S.PublicKey.deserialize(unb64(r.skdm).subarray(unb64(r.skdm).length - 33)));
    count('SKDM bytes C == libsignal encoding', eq(again.serialize(), unb64(r.skdm)), hex(unb64(r.skdm)));
    count('SKDM distribution id', skdm.distributionId() === d);
  }
  const cm = [];
  for (let i = 0; i < 300; i++) {
    const d = cd[crypto.randomInt(2)];
    const pt = rand(crypto.randomInt(200));
    const r = await c({ op: 'sk_encrypt', party: 'carol', sender: carol, device: 7, dist: b64(uuidBytes(d)), pt: b64(pt) });
    count('C group encrypt', r.ok, JSON.stringify(r));
    cm.push({ pt, ct: unb64(r.ct), d });
  }
  // Byte-exact SenderKeyMessage body: rebuild with libsignal's _new (random
  // signature, so compare everything before the 64-byte signature).
  {
    const m = S.SenderKeyMessage.deserialize(cm[0].ct);
    const re = S.SenderKeyMessage._new(3, m.distributionId(), m.chainId(), m.iteration(), m.ciphertext(), S.PrivateKey.generate()).serialize();
    count('SenderKeyMessage bytes C == libsignal encoding', eq(re.subarray(0, re.length - 64), cm[0].ct.subarray(0, cm[0].ct.length - 64)), hex(cm[0].ct));
  }
  shuffle(cm);
  for (const m of cm) {
    let ok = false, detail = '';
    try { ok = eq(await S.groupDecrypt(cAddr, bSK, m.ct), m.pt); } catch (e) { detail = e.message; }
    count('SenderKeyMessage C->libsignal decrypt (shuffled)', ok, detail);
  }
  for (const m of cm.slice(0, 10)) {
    let err = null;
    try { await S.groupDecrypt(cAddr, bSK, m.ct); } catch (e) { err = e; }
    count('libsignal rejects replayed C message', err !== null);
  }

  // Late joiner: libsignal sender has already sent 40 messages; the SKDM
  // carries the current iteration; C decrypts new messages only.
  {
    const dave = crypto.randomUUID();
    const dAddr = S.ProtocolAddress.new(dave, 1);
    const dSK = new SKs();
    const d = crypto.randomUUID();
    await S.SenderKeyDistributionMessage.create(dAddr, d, dSK);
    const early = [];
    for (let i = 0; i < 40; i++) early.push((await S.groupEncrypt(dAddr, d, dSK, rand(10))).serialize());
    const skdm = (await S.SenderKeyDistributionMessage.create(dAddr, d, dSK)).serialize();
    const p = await c({ op: 'sk_process', party: 'late', sender: dave, device: 1, msg: b64(skdm) });
    count('late joiner SKDM processed', p.ok);
    const pt = rand(33);
    const ct = (await S.groupEncrypt(dAddr, d, dSK, pt)).serialize();
    const r = await c({ op: 'sk_decrypt', party: 'late', sender: dave, device: 1, msg: b64(ct) });
    count('late joiner decrypts new message', r.ok && eq(unb64(r.pt), pt), JSON.stringify(r));
    const r2 = await c({ op: 'sk_decrypt', party: 'late', sender: dave, device: 1, msg: b64(early[5]) });
    count('late joiner cannot read earlier message', !r2.ok && r2.error === 'duplicate_message', JSON.stringify(r2));
    // Re-processing the same SKDM keeps the chain position (no replay window reopens).
    await c({ op: 'sk_process', party: 'late', sender: dave, device: 1, msg: b64(skdm) });
    const r3 = await c({ op: 'sk_decrypt', party: 'late', sender: dave, device: 1, msg: b64(ct) });
    count('re-processed SKDM keeps chain position', !r3.ok && r3.error === 'duplicate_message', JSON.stringify(r3));
  }
}

// ---- 2. Safety numbers ----
async function fingerprints() {
  for (let i = 0; i < 100; i++) {
    const a = S.PrivateKey.generate().getPublicKey(), b = S.PrivateKey.generate().getPublicKey();
    const la = rand(crypto.randomInt(40)), lb = rand(crypto.randomInt(40));
    const version = 1 + (i % 2), iterations = [2, 3, 1024, 5200][i % 4];
    const f = S.Fingerprint.new(iterations, version, la, a, lb, b);
    const r = await c({ op: 'fingerprint', iterations, version, local_id: b64(la), local_key: b64(a.serialize()), remote_id: b64(lb), remote_key: b64(b.serialize()) });
    count('displayable fingerprint C == libsignal', r.ok && r.display === f.displayableFingerprint().toString(), JSON.stringify(r));
    const sc = f.scannableFingerprint().toBuffer();
    count('scannable fingerprint C == libsignal', r.ok && eq(unb64(r.scannable), sc));
    // Compare: C compares libsignal's peer form, libsignal compares C's.
    const peer = S.Fingerprint.new(iterations, version, lb, b, la, a).scannableFingerprint().toBuffer();
    const m = await c({ op: 'fp_compare', a: r.scannable, b: b64(peer) });
    count('C compare of libsignal peer form', m.ok && m.match === true, JSON.stringify(m));
    count('libsignal compare of C form', S.Fingerprint.new(iterations, version, lb, b, la, a).scannableFingerprint().compare(S.ScannableFingerprint._fromBuffer(unb64(r.scannable))) === true);
  }
  const a = S.PrivateKey.generate().getPublicKey(), b = S.PrivateKey.generate().getPublicKey();
  const f1 = S.Fingerprint.new(5200, 1, rand(4), a, rand(4), b).scannableFingerprint().toBuffer();
  const f2 = S.Fingerprint.new(5200, 2, rand(4), b, rand(4), a).scannableFingerprint().toBuffer();
  const m = await c({ op: 'fp_compare', a: b64(f1), b: b64(f2) });
  count('version mismatch -> error', !m.ok && m.rc === -11, JSON.stringify(m));
}

// ---- 3. Sealed sender ----
const now = Date.now();
async function sealed() {
  const trust = S.PrivateKey.generate(), server = S.PrivateKey.generate();
  const trustPub = trust.getPublicKey().serialize();
  const aliceUuid = crypto.randomUUID();
  const aId = S.IdentityKeyPair.generate();
  const exp = now + 86400000;

  // Certificates made by libsignal, validated by C.
  const scert = S.ServerCertificate.new(77, server.getPublicKey(), trust);
  const cert = S.SenderCertificate.new(aliceUuid, '+15555550100', 2, aId.publicKey, exp, scert, server);
  {
    const ok = await c({ op: 'cert_validate', cert: b64(cert.serialize()), roots: [b64(trustPub)], now });
    count('libsignal cert valid in C', ok.ok && ok.valid && ok.uuid === aliceUuid && ok.e164 === '+15555550100' && ok.device === 2 && ok.expires === exp, JSON.stringify(ok));
    const late = await c({ op: 'cert_validate', cert: b64(cert.serialize()), roots: [b64(trustPub)], now: exp + 1 });
    count('expired cert rejected in C', late.ok && !late.valid && cert.validate(trust.getPublicKey(), exp + 1) === false);
    const edge = await c({ op: 'cert_validate', cert: b64(cert.serialize()), roots: [b64(trustPub)], now: exp });
    count('cert valid at exactly expires', edge.ok && edge.valid && cert.validate(trust.getPublicKey(), exp) === true);
    const wrong = await c({ op: 'cert_validate', cert: b64(cert.serialize()), roots: [b64(S.PrivateKey.generate().getPublicKey().serialize()), b64(trustPub)], now });
    count('second trust root accepted in C', wrong.ok && wrong.valid);
    const none = await c({ op: 'cert_validate', cert: b64(cert.serialize()), roots: [b64(S.PrivateKey.generate().getPublicKey().serialize())], now });
    count('wrong trust root rejected in C', none.ok && !none.valid);
    const revoked = S.SenderCertificate.new(aliceUuid, null, 2, aId.publicKey, exp, S.ServerCertificate.new(0xDEADC357, server.getPublicKey(), trust), server);
    const rv = await c({ op: 'cert_validate', cert: b64(revoked.serialize()), roots: [b64(trustPub)], now });
    count('revoked server cert id rejected in C and libsignal', rv.ok && !rv.valid && rv.e164 === null && revoked.validate(trust.getPublicKey(), now) === false, JSON.stringify(rv));
  }
  // Certificates made by C, validated by libsignal, bytes compared.
  {
    const sc = await c({ op: 'server_cert', id: 77, key: b64(server.getPublicKey().serialize()), trust_priv: b64(trust.serialize()) });
    const cs = S.ServerCertificate.deserialize(unb64(sc.cert));
    count('C server cert: libsignal reads and data bytes match', cs.keyId() === 77 && eq(cs.certificateData(), scert.certificateData()));
    const se = await c({ op: 'sender_cert', uuid: aliceUuid, e164: '+15555550100', device: 2, key: b64(aId.publicKey.serialize()), expires: exp, server_cert: sc.cert, server_priv: b64(server.serialize()) });
    const cc = S.SenderCertificate.deserialize(unb64(se.cert));
    count('C sender cert valid in libsignal', cc.validate(trust.getPublicKey(), now) === true && cc.senderUuid() === aliceUuid && cc.senderDeviceId() === 2);
    const ref = S.SenderCertificate.new(aliceUuid, '+15555550100', 2, aId.publicKey, exp, cs, server);
    count('C sender cert data bytes == libsignal', eq(cc.certificate(), ref.certificate()), hex(cc.certificate()));
    count('C sender cert rejected by libsignal after expiry', cc.validate(trust.getPublicKey(), exp + 1) === false);
    const se2 = await c({ op: 'sender_cert', uuid: aliceUuid, device: 5, key: b64(aId.publicKey.serialize()), expires: exp, server_cert: sc.cert, server_priv: b64(server.serialize()) });
    const ref2 = S.SenderCertificate.new(aliceUuid, null, 5, aId.publicKey, exp, cs, server);
    count('C sender cert without e164 == libsignal', eq(S.SenderCertificate.deserialize(unb64(se2.cert)).certificate(), ref2.certificate()));
  }

  // Recipients: libsignal identities with sessions (for v2 registration ids).
  const recips = [];
  for (let i = 0; i < 4; i++) {
    const kp = S.IdentityKeyPair.generate();
    recips.push({ uuid: crypto.randomUUID(), kp, devices: [1, 2, 3].slice(0, 1 + (i % 3)).map((d) => ({ d, reg: 1 + crypto.randomInt(0x3FFF) })) });
  }
  const aIds = new Ids(aId, 1234), aSess = new Sess();
  for (const r of recips) {
    for (const { d, reg } of r.devices) {
      const spk = S.PrivateKey.generate(), kk = S.KEMKeyPair.generate();
      const b = S.PreKeyBundle.new(reg, d, null, null, 1, spk.getPublicKey(), r.kp.privateKey.sign(spk.getPublicKey().serialize()), r.kp.publicKey, 2, kk.getPublicKey(), r.kp.privateKey.sign(kk.getPublicKey().serialize()));
      await S.processPreKeyBundle(b, S.ProtocolAddress.new(r.uuid, d), S.ProtocolAddress.new(aliceUuid, 2), aSess, aIds);
    }
  }
  // USMC encoding: C == libsignal for a range of hints / group ids.
  for (const [hint, gid] of [[0, null], [1, rand(16)], [2, new Uint8Array(0)], [9, rand(3)]]) {
    const pc = S.PlaintextContent.deserialize(new Uint8Array([0xC0, 0x42, 0x02, 0x08, 0x01, 0x80]));
    const u = S.UnidentifiedSenderMessageContent.new(S.CiphertextMessage.from(pc), cert, hint, gid);
    const r = await c({ op: 'usmc_encode', type: 8, cert: b64(cert.serialize()), content: b64(pc.serialize()), hint, group_id: gid ? b64(gid) : undefined });
    count('USMC bytes C == libsignal', r.ok && eq(unb64(r.usmc), u.serialize()), JSON.stringify(r));
  }
  const pc = S.PlaintextContent.deserialize(new Uint8Array([0xC0, 0x42, 0x02, 0x08, 0x01, 0x80]));
  const usmc = S.UnidentifiedSenderMessageContent.new(S.CiphertextMessage.from(pc), cert, 1, rand(8));
  const usmcBytes = usmc.serialize();

  // v1 libsignal -> C.
  const r0 = recips[0];
  const r0Ids = new Ids(r0.kp, 1);
  await aIds.saveIdentity(S.ProtocolAddress.new(r0.uuid, 1), r0.kp.publicKey);
  for (let i = 0; i < 10; i++) {
    const msg = await S.sealedSenderEncrypt(usmc, S.ProtocolAddress.new(r0.uuid, 1), aIds);
    const r = await c({ op: 'sealed_decrypt', pub: b64(r0.kp.publicKey.serialize()), priv: b64(r0.kp.privateKey.serialize()), root: b64(trustPub), now, local_uuid: r0.uuid, local_device: 1, msg: b64(msg) });
    count('sealed v1 libsignal->C', r.ok && eq(unb64(r.usmc.usmc), usmcBytes) && r.usmc.sender_uuid === aliceUuid && r.usmc.type === 8 && r.usmc.hint === 1, JSON.stringify(r).slice(0, 300));
    if (i === 0) {
      const late = await c({ op: 'sealed_decrypt', pub: b64(r0.kp.publicKey.serialize()), priv: b64(r0.kp.privateKey.serialize()), root: b64(trustPub), now: exp + 1, local_uuid: r0.uuid, local_device: 1, msg: b64(msg) });
      count('sealed v1 expired cert -> invalid_certificate', !late.ok && late.error === 'invalid_certificate', JSON.stringify(late));
      const self = await c({ op: 'sealed_decrypt', pub: b64(r0.kp.publicKey.serialize()), priv: b64(r0.kp.privateKey.serialize()), root: b64(trustPub), now, local_uuid: aliceUuid, local_device: 2, msg: b64(msg) });
      count('sealed self-send rejected', !self.ok && self.rc === -12, JSON.stringify(self));
      const selfE = await c({ op: 'sealed_decrypt', pub: b64(r0.kp.publicKey.serialize()), priv: b64(r0.kp.privateKey.serialize()), root: b64(trustPub), now, local_uuid: r0.uuid, local_e164: '+15555550100', local_device: 2, msg: b64(msg) });
      count('sealed self-send by e164 rejected', !selfE.ok && selfE.rc === -12, JSON.stringify(selfE));
      const otherDev = await c({ op: 'sealed_decrypt', pub: b64(r0.kp.publicKey.serialize()), priv: b64(r0.kp.privateKey.serialize()), root: b64(trustPub), now, local_uuid: aliceUuid, local_device: 3, msg: b64(msg) });
      count('own other device accepted', otherDev.ok, JSON.stringify(otherDev));
      const wrongKey = S.IdentityKeyPair.generate();
      const wk = await c({ op: 'decrypt_to_usmc', pub: b64(wrongKey.publicKey.serialize()), priv: b64(wrongKey.privateKey.serialize()), msg: b64(msg) });
      count('sealed v1 to wrong recipient rejected', !wk.ok);
    }
  }
  // v1 C -> libsignal.
  for (let i = 0; i < 10; i++) {
    const r = await c({ op: 'v1_encrypt', recipient_key: b64(r0.kp.publicKey.serialize()), sender_pub: b64(aId.publicKey.serialize()), sender_priv: b64(aId.privateKey.serialize()), usmc: b64(usmcBytes) });
    let ok = false, detail = '';
    try { ok = eq((await S.sealedSenderDecryptToUsmc(unb64(r.msg), r0Ids)).serialize(), usmcBytes); } catch (e) { detail = e.message; }
    count('sealed v1 C->libsignal', r.ok && ok, detail);
  }
  // v1 C with a static key that does not match the certificate: libsignal and C reject.
  {
    const other = S.IdentityKeyPair.generate();
    const r = await c({ op: 'v1_encrypt', recipient_key: b64(r0.kp.publicKey.serialize()), sender_pub: b64(other.publicKey.serialize()), sender_priv: b64(other.privateKey.serialize()), usmc: b64(usmcBytes) });
    let err = null;
    try { await S.sealedSenderDecryptToUsmc(unb64(r.msg), r0Ids); } catch (e) { err = e; }
    const cr = await c({ op: 'decrypt_to_usmc', pub: b64(r0.kp.publicKey.serialize()), priv: b64(r0.kp.privateKey.serialize()), msg: r.msg });
    count('v1 static key != certificate key rejected (both)', err !== null && !cr.ok);
  }

  // v2 C -> libsignal recipients (C split and libsignal's own split).
  const cRecips = [];
  for (const r of recips) for (const { d, reg } of r.devices) cRecips.push({ sid: b64(S.Aci.fromUuid(r.uuid).getServiceIdFixedWidthBinary()), device: d, reg, key: b64(r.kp.publicKey.serialize()) });
  const excludedAci = S.Aci.fromUuid(crypto.randomUUID()), excludedPni = S.Pni.fromUuid(crypto.randomUUID());
  const excluded = [b64(excludedAci.getServiceIdFixedWidthBinary()), b64(excludedPni.getServiceIdFixedWidthBinary())];
  const v2 = await c({ op: 'v2_encrypt', recipients: cRecips, excluded, sender_pub: b64(aId.publicKey.serialize()), sender_priv: b64(aId.privateKey.serialize()), usmc: b64(usmcBytes) });
  count('C v2 encrypt', v2.ok, JSON.stringify(v2));
  // The same recipients through libsignal give a message of the same layout and length.
  const addrs = [];
  for (const r of recips) for (const { d } of r.devices) addrs.push(S.ProtocolAddress.new(r.uuid, d));
  for (const r of recips) await aIds.saveIdentity(S.ProtocolAddress.new(r.uuid, 1), r.kp.publicKey);
  const lv2 = await S.sealedSenderMultiRecipientEncrypt({ content: usmc, recipients: addrs, excludedRecipients: [excludedAci, excludedPni], identityStore: aIds, sessionStore: aSess });
  const cv2 = unb64(v2.msg);
  // Header (everything but c_i, at_i, E and C) must be identical.
  const skel = (m) => { const b = Buffer.from(m); const out = [b.subarray(0, 2)]; let p = 2; for (let k = 0; k < recips.length; k++) { out.push(b.subarray(p, p + 17)); p += 17; for (;;) { const dv = b.subarray(p, p + 3); out.push(dv); p += 3; if (!(dv[1] & 0x80)) break; } p += 48; } out.push(b.subarray(p, p + 36)); return Buffer.concat(out); };
  count('v2 sent form layout C == libsignal', cv2.length === lv2.length && eq(skel(cv2), skel(lv2)), `${cv2.length} vs ${lv2.length}`);
  for (const r of recips) {
    const sid = b64(S.Aci.fromUuid(r.uuid).getServiceIdFixedWidthBinary());
    const ids = new Ids(r.kp, 1);
    for (const [label, msg] of [['C', cv2], ['libsignal', lv2]]) {
      const sp = await c({ op: 'v2_split', msg: b64(msg), sid });
      count(`C split of ${label} v2: devices and reg ids`, sp.ok && JSON.stringify(sp.devices) === JSON.stringify(r.devices.map(({ d, reg }) => ({ device: d, reg }))), JSON.stringify(sp).slice(0, 200));
      let ok = false, detail = '';
      try { ok = eq((await S.sealedSenderDecryptToUsmc(unb64(sp.msg), ids)).serialize(), usmcBytes); } catch (e) { detail = e.message; }
      count(`v2 ${label} -> C split -> libsignal decrypt`, ok, detail);
      const cd = await c({ op: 'decrypt_to_usmc', pub: b64(r.kp.publicKey.serialize()), priv: b64(r.kp.privateKey.serialize()), msg: sp.msg });
      count(`v2 ${label} -> C split -> C decrypt`, cd.ok && eq(unb64(cd.usmc.usmc), usmcBytes), JSON.stringify(cd).slice(0, 200));
    }
  }
  for (const ex of excluded) {
    const sp = await c({ op: 'v2_split', msg: b64(cv2), sid: ex });
    count('excluded recipient not split', !sp.ok && sp.rc === -24, JSON.stringify(sp));
  }
  // Single recipient: libsignal's own split equals C's split, both directions.
  {
    const r = recips[1];
    const one = cRecips.filter((x) => x.sid === b64(S.Aci.fromUuid(r.uuid).getServiceIdFixedWidthBinary()));
    const v = await c({ op: 'v2_encrypt', recipients: one, excluded: [], sender_pub: b64(aId.publicKey.serialize()), sender_priv: b64(aId.privateKey.serialize()), usmc: b64(usmcBytes) });
    const ls = S.sealedSenderMultiRecipientMessageForSingleRecipient(unb64(v.msg));
    const cs = await c({ op: 'v2_split', msg: v.msg, sid: one[0].sid });
    count('libsignal split of C v2 == C split', eq(ls, unb64(cs.msg)));
    const cd = await c({ op: 'sealed_decrypt', pub: b64(r.kp.publicKey.serialize()), priv: b64(r.kp.privateKey.serialize()), root: b64(trustPub), now, local_uuid: r.uuid, local_device: 1, msg: b64(ls) });
    count('libsignal split of C v2 -> C sealed_decrypt', cd.ok && eq(unb64(cd.usmc.usmc), usmcBytes), JSON.stringify(cd).slice(0, 200));
    const lv = await S.sealedSenderMultiRecipientEncrypt(usmc, addrs.filter((a) => a.name() === r.uuid), aIds, aSess);
    const ls2 = S.sealedSenderMultiRecipientMessageForSingleRecipient(lv);
    const cs2 = await c({ op: 'v2_split', msg: b64(lv), sid: one[0].sid });
    count('C split of libsignal v2 == libsignal split', cs2.ok && eq(ls2, unb64(cs2.msg)));
    // Wrong recipient's key: C rejects.
    const o = recips[2].kp;
    const bad = await c({ op: 'decrypt_to_usmc', pub: b64(o.publicKey.serialize()), priv: b64(o.privateKey.serialize()), msg: b64(ls2) });
    count('v2 for another recipient rejected by C', !bad.ok);
  }
}

try {
  await senderKeys();
  await fingerprints();
  await sealed();
} catch (e) {
  console.error('FAIL: exception', e);
  failures++;
}
child.stdin.end();
for (const [name, { pass, total }] of Object.entries(counts))
  console.log(`${name.padEnd(64)} ${pass}/${total} cases passed`);
if (failures) console.log(`${failures} failures`);
process.exit(failures ? 1 : 0);
