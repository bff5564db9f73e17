#!/usr/bin/env node
// libsignal's figures for `sotto-bench protocol`: the same operations as
// bench/bench_protocol.c, run through @signalapp/libsignal-client 0.103.0 with
// plain in-memory stores (Maps of serialized records, as an application keeps
// them). Prints one JSON object on stdout: nanoseconds per operation and bytes
// on the wire. Usage: node bench-libsignal.mjs [--quick] [--recipients N]
//
// Each figure is the median of several batches; a batch runs the operation
// until it has lasted long enough. Work that is not part of the operation
// (making parties, fresh prekeys) is done outside the timed sections.

import * as S from '@signalapp/libsignal-client';
import SealedSenderMultiRecipientMessage from '@signalapp/libsignal-client/dist/SealedSenderMultiRecipientMessage.js';
import { randomBytes, randomUUID } from 'node:crypto';

const quick = process.argv.includes('--quick');
const ri = process.argv.indexOf('--recipients');
const NRECIP = ri > 0 ? Number(process.argv[ri + 1]) : 10;
const BATCHES = quick ? 3 : 7;
const BATCH_NS = quick ? 20e6 : 150e6;
const PT = new Uint8Array(randomBytes(100));

const now = () => process.hrtime.bigint();

// Median ns per call of an async op; prep (untimed) runs before each call.
async function measure(op, prep = null) {
	const samples = [];
	for (let b = 0; b < BATCHES; b++) {
		let timed = 0n;
		let n = 0;
		while (timed < BigInt(Math.floor(BATCH_NS)) || n < 3) {
			const arg = prep ? await prep() : undefined;
			const t0 = now();
			await op(arg);
			timed += now() - t0;
			n++;
		}
		samples.push(Number(timed) / n);
	}
	samples.sort((a, b) => a - b);
	return samples[Math.floor(BATCHES / 2)];
}

// ---------------------------------------------------------------- stores

class Sessions extends S.SessionStore {
	constructor() { super(); this.m = new Map(); }
	async saveSession(a, r) { this.m.set(a.toString(), r.serialize()); }
	async getSession(a) {
		const r = this.m.get(a.toString());
		return r ? S.SessionRecord.deserialize(r) : null;
	}
	async getExistingSessions(as) {
		return as.map((a) => S.SessionRecord.deserialize(this.m.get(a.toString())));
	}
}
class Identities extends S.IdentityKeyStore {
	constructor(kp, reg) { super(); this.kp = kp; this.reg = reg; this.m = new Map(); }
	async getIdentityKey() { return this.kp.privateKey; }
	async getLocalRegistrationId() { return this.reg; }
	async saveIdentity(a, k) {
		const old = this.m.get(a.name());
		this.m.set(a.name(), k.serialize());
		return old && !Buffer.from(old).equals(Buffer.from(k.serialize()))
			? S.IdentityChange.ReplacedExisting : S.IdentityChange.NewOrUnchanged;
	}
	async isTrustedIdentity(a, k) {
		const old = this.m.get(a.name());
		return !old || Buffer.from(old).equals(Buffer.from(k.serialize()));
	}
	async getIdentity(a) {
		const k = this.m.get(a.name());
		return k ? S.PublicKey.deserialize(k) : null;
	}
}
class PreKeys extends S.PreKeyStore {
	constructor() { super(); this.m = new Map(); }
	async savePreKey(id, r) { this.m.set(id, r.serialize()); }
	async getPreKey(id) { return S.PreKeyRecord.deserialize(this.m.get(id)); }
	async removePreKey(id) { this.m.delete(id); }
}
class SignedPreKeys extends S.SignedPreKeyStore {
	constructor() { super(); this.m = new Map(); }
	async saveSignedPreKey(id, r) { this.m.set(id, r.serialize()); }
	async getSignedPreKey(id) { return S.SignedPreKeyRecord.deserialize(this.m.get(id)); }
}
class KyberPreKeys extends S.KyberPreKeyStore {
	constructor() { super(); this.m = new Map(); }
	async saveKyberPreKey(id, r) { this.m.set(id, r.serialize()); }
	async getKyberPreKey(id) { return S.KyberPreKeyRecord.deserialize(this.m.get(id)); }
	async markKyberPreKeyUsed() {}
}
class SenderKeys extends S.SenderKeyStore {
	constructor() { super(); this.m = new Map(); }
	async saveSenderKey(a, d, r) { this.m.set(`${a}|${d}`, r.serialize()); }
	async getSenderKey(a, d) {
		const r = this.m.get(`${a}|${d}`);
		return r ? S.SenderKeyRecord.deserialize(r) : null;
	}
}

let nextReg = 1;
class Party {
	constructor(identity = S.IdentityKeyPair.generate()) {
		this.uuid = randomUUID();
		this.address = S.ProtocolAddress.new(this.uuid, 1);
		this.identity = identity;
		this.reg = nextReg++;
		this.reset();
	}
	// Fresh stores with the same identity (a new device state).
	reset() {
		this.sessions = new Sessions();
		this.identities = new Identities(this.identity, this.reg);
		this.preKeys = new PreKeys();
		this.signedPreKeys = new SignedPreKeys();
		this.kyberPreKeys = new KyberPreKeys();
		this.senderKeys = new SenderKeys();
	}
}

// The signed and Kyber prekeys are made once (Bob's long-lived keys); each
// setup gets a fresh one-time prekey, made outside the timed section.
function longLived(p) {
	const spk = S.PrivateKey.generate();
	const kem = S.KEMKeyPair.generate();
	return {
		spk,
		spkSig: p.identity.privateKey.sign(spk.getPublicKey().serialize()),
		kem,
		kemSig: p.identity.privateKey.sign(kem.getPublicKey().serialize()),
	};
}

async function publish(p, ll, opkId) {
	const opk = S.PrivateKey.generate();
	await p.preKeys.savePreKey(opkId, S.PreKeyRecord.new(opkId, opk.getPublicKey(), opk));
	await p.signedPreKeys.saveSignedPreKey(1, S.SignedPreKeyRecord.new(1, 0, ll.spk.getPublicKey(), ll.spk, ll.spkSig));
	await p.kyberPreKeys.saveKyberPreKey(1, S.KyberPreKeyRecord.new(1, 0, ll.kem, ll.kemSig));
	return S.PreKeyBundle.new(p.reg, 1, opkId, opk.getPublicKey(), 1, ll.spk.getPublicKey(), ll.spkSig,
		p.identity.publicKey, 1, ll.kem.getPublicKey(), ll.kemSig);
}

const enc = (from, to, pt = PT) => S.signalEncrypt(pt, to.address, from.address, from.sessions, from.identities);
async function dec(to, from, m) {
	if (m.type() === S.CiphertextMessageType.PreKey)
		return S.signalDecryptPreKey(S.PreKeySignalMessage.deserialize(m.serialize()), from.address,
			to.address, to.sessions, to.identities, to.preKeys, to.signedPreKeys, to.kyberPreKeys);
	return S.signalDecrypt(S.SignalMessage.deserialize(m.serialize()), from.address, to.address,
		to.sessions, to.identities);
}

async function main() {
	const out = { library: '@signalapp/libsignal-client 0.103.0', node: process.version, recipients: NRECIP, ns: {}, bytes: {} };
	const alice = new Party();
	const bob = new Party();
	const ll = longLived(bob);
	let opkId = 1;

	// Session setup: bundle to first decrypted message.
	let firstPrekey = null;
	out.ns.setup = await measure(async (bundle) => {
		await S.processPreKeyBundle(bundle, bob.address, alice.address, alice.sessions, alice.identities);
		const m = await enc(alice, bob);
		firstPrekey = m.serialize();
		await dec(bob, alice, m);
	}, async () => {
		alice.reset();
		bob.reset();
		return publish(bob, ll, opkId++);
	});
	out.bytes.prekey_message = firstPrekey.length;

	// A live session, acknowledged both ways.
	alice.reset();
	bob.reset();
	await S.processPreKeyBundle(await publish(bob, ll, opkId++), bob.address, alice.address, alice.sessions, alice.identities);
	await dec(bob, alice, await enc(alice, bob));
	await dec(alice, bob, await enc(bob, alice));

	// Decrypt before the encrypt row: messages encrypted and never delivered
	// would make the receiver store skipped keys and slow everything after.
	let steady = null;
	out.ns.decrypt = await measure((m) => dec(bob, alice, m), async () => (steady = await enc(alice, bob)));
	out.bytes.signal_message = steady.serialize().length;

	// Ping-pong: each message answers the previous one, so every decrypt
	// turns the ratchet. One row = one encrypt plus one decrypt.
	let turn = 0;
	let pp = null;
	out.ns.pingpong = await measure(async () => {
		const [x, y] = turn++ & 1 ? [bob, alice] : [alice, bob];
		pp = await enc(x, y);
		await dec(y, x, pp);
	});
	out.bytes.signal_message_turn = pp.serialize().length;
	// Last: Bob never reads these.
	out.ns.encrypt = await measure(() => enc(alice, bob));

	// Groups.
	const dist = randomUUID();
	const skdm = await S.SenderKeyDistributionMessage.create(alice.address, dist, alice.senderKeys);
	await S.processSenderKeyDistributionMessage(alice.address, skdm, bob.senderKeys);
	let gm = null;
	out.ns.group_decrypt = await measure((m) => S.groupDecrypt(alice.address, bob.senderKeys, m.serialize()),
		async () => (gm = await S.groupEncrypt(alice.address, dist, alice.senderKeys, PT)));
	out.bytes.group_message = gm.serialize().length;
	out.ns.group_encrypt = await measure(() => S.groupEncrypt(alice.address, dist, alice.senderKeys, PT));

	// Sealed sender: certificates, and the USMC around a group message.
	const root = S.PrivateKey.generate();
	const server = S.PrivateKey.generate();
	const serverCert = S.ServerCertificate.new(1, server.getPublicKey(), root);
	const expires = Date.now() + 86400000;
	const cert = S.SenderCertificate.new(alice.uuid, null, 1, alice.identity.publicKey, expires, serverCert, server);
	const usmc = S.UnidentifiedSenderMessageContent.new(gm, cert, 0, null);
	const ts = Date.now();
	let v1 = null;
	out.ns.sealed_v1_encrypt = await measure(async () => {
		v1 = await S.sealedSenderEncrypt(usmc, bob.address, alice.identities);
	});
	out.bytes.sealed_v1 = v1.length;
	out.ns.sealed_v1_decrypt = await measure(async () => {
		const u = await S.sealedSenderDecryptToUsmc(v1, bob.identities);
		if (!u.senderCertificate().validate(root.getPublicKey(), ts)) throw new Error('certificate');
	});

	// v2 to NRECIP recipients, each with a session (libsignal reads the
	// registration ids from the sessions).
	const recips = [];
	for (let i = 0; i < NRECIP; i++) {
		const r = new Party();
		const rll = longLived(r);
		await S.processPreKeyBundle(await publish(r, rll, 1), r.address, alice.address, alice.sessions, alice.identities);
		recips.push(r);
	}
	let v2 = null;
	out.ns.sealed_v2_encrypt = await measure(async () => {
		v2 = await S.sealedSenderMultiRecipientEncrypt({
			content: usmc,
			recipients: recips.map((r) => r.address),
			excludedRecipients: [],
			identityStore: alice.identities,
			sessionStore: alice.sessions,
		});
	});
	out.bytes.sealed_v2_sent = v2.length;
	const parsed = new SealedSenderMultiRecipientMessage(v2);
	const r0 = recips[0];
	const mine = parsed.messageForRecipient(parsed.recipientsByServiceIdString()[r0.uuid]);
	out.bytes.sealed_v2_received = mine.length;
	out.ns.sealed_v2_decrypt = await measure(async () => {
		const u = await S.sealedSenderDecryptToUsmc(mine, r0.identities);
		if (!u.senderCertificate().validate(root.getPublicKey(), ts)) throw new Error('certificate');
	});
	process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
	process.stdout.write(JSON.stringify({ error: String(e && e.stack ? e.stack : e) }) + '\n');
	process.exit(1);
});
