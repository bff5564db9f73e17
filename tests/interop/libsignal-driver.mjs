#!/usr/bin/env node
// Interop driver (protocol version 1, see shared docs DRIVER.md and tests/interop/README.md)
// over the official @signalapp/libsignal-client 0.103.0.
//
// One JSON request per line on stdin, one JSON answer per line on stdout, in order.
// stderr carries logs only. Every party keeps its stores in memory; every op that can
// change a store runs as a transaction so that a failed op changes nothing.

import * as S from '@signalapp/libsignal-client';
import SealedSenderMultiRecipientMessage from '@signalapp/libsignal-client/dist/SealedSenderMultiRecipientMessage.js';
import { randomInt } from 'node:crypto';

const VERSION = 1;

// ---------------------------------------------------------------- errors

class DriverError extends Error {
	constructor(code, message) {
		super(message);
		this.code = code;
	}
}
const fail = (code, message) => {
	throw new DriverError(code, message);
};

// Errors thrown inside our own store callbacks come back from the native code wrapped in
// libsignal's own error text; the tag lets us recover our code from that text.
const TAG = /\[\[sotto:([a-z_]+)\]\]/;
const storeFail = (code, message) => {
	throw new Error(`[[sotto:${code}]] ${message}`);
};

const KEY_PARSE = /no key type identifier|bad key type|bad key length|bad KEM key|unexpected KEM key type|invalid key|bad KEM ciphertext/i;

// Map anything thrown by an op to one of the stable codes of DRIVER.md. `kind` says how to
// classify parse failures: in "decrypt" ops every undecryptable input is invalid_message.
function classify(e, kind) {
	if (e instanceof DriverError) return e.code;
	const msg = String(e && e.message ? e.message : e);
	const tag = TAG.exec(msg);
	if (tag) return tag[1];
	if (e instanceof S.LibSignalErrorBase) {
		switch (e.code) {
		case S.ErrorCode.DuplicatedMessage: return 'duplicate_message';
		case S.ErrorCode.UntrustedIdentity: return 'untrusted_identity';
		case S.ErrorCode.SealedSenderSelfSend: return 'invalid_certificate';
		case S.ErrorCode.InvalidProtocolAddress: return 'invalid_argument';
		case S.ErrorCode.InvalidRegistrationId: return 'invalid_argument';
		case S.ErrorCode.InvalidSenderKeySession: return 'no_session';
		case S.ErrorCode.VerificationFailed: return 'invalid_signature';
		default: break;
		}
	}
	if (/session with .* not found/i.test(msg)) return 'no_session';
	if (/missing sender key state/i.test(msg)) return 'no_session';
	if (/invalid (signed |kyber )?prekey identifier/i.test(msg)) return 'invalid_key_id';
	if (/invalid signature detected/i.test(msg)) return 'invalid_signature';
	if (/fingerprint/i.test(msg)) return 'invalid_argument';
	if (kind === 'decrypt') return 'invalid_message';
	if (KEY_PARSE.test(msg)) return 'invalid_key';
	if (/invalid argument|invalid state/i.test(msg)) return 'invalid_argument';
	if (/protobuf|too short|version|invalid .* message|invalid sealed sender/i.test(msg)) return 'invalid_message';
	return 'internal';
}

// ---------------------------------------------------------------- field helpers

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function has(req, name) {
	return Object.prototype.hasOwnProperty.call(req, name) && req[name] !== undefined;
}
function field(req, name) {
	if (!has(req, name)) fail('invalid_argument', `missing field "${name}"`);
	return req[name];
}
function str(req, name) {
	const v = field(req, name);
	if (typeof v !== 'string') fail('invalid_argument', `field "${name}" must be a string`);
	return v;
}
function int(req, name, min = 0, max = 0xffffffff) {
	const v = field(req, name);
	if (!Number.isSafeInteger(v) || v < min || v > max)
		fail('invalid_argument', `field "${name}" must be an integer in ${min}..${max}`);
	return v;
}
function optInt(req, name, dflt, min, max) {
	return has(req, name) && req[name] !== null ? int(req, name, min, max) : dflt;
}
function bytesOf(v, name) {
	if (typeof v !== 'string' || !B64.test(v)) fail('invalid_argument', `field "${name}" must be base64`);
	return new Uint8Array(Buffer.from(v, 'base64'));
}
function bytes(req, name) {
	return bytesOf(field(req, name), name);
}
function optBytes(req, name) {
	return has(req, name) && req[name] !== null ? bytes(req, name) : null;
}
function b64(u8) {
	return Buffer.from(u8).toString('base64');
}
function uuidField(req, name) {
	const v = str(req, name);
	if (!UUID.test(v)) fail('invalid_argument', `field "${name}" must be a UUID string`);
	return v.toLowerCase();
}
function pubKey(u8, name) {
	try {
		return S.PublicKey.deserialize(u8);
	} catch (e) {
		fail('invalid_key', `${name}: ${e.message}`);
	}
}
function privKey(u8, name) {
	try {
		return S.PrivateKey.deserialize(u8);
	} catch (e) {
		fail('invalid_key', `${name}: ${e.message}`);
	}
}
function kemPubKey(u8, name) {
	try {
		return S.KEMPublicKey.deserialize(u8);
	} catch (e) {
		fail('invalid_key', `${name}: ${e.message}`);
	}
}
function address(name, device) {
	if (!Number.isInteger(device) || device < 1 || device > 127)
		fail('invalid_argument', `device id ${device} out of range 1..127`);
	try {
		return S.ProtocolAddress.new(name, device);
	} catch (e) {
		fail('invalid_argument', `bad address ${name}.${device}: ${e.message}`);
	}
}

// ---------------------------------------------------------------- transactional stores

// A key-value map whose writes can be staged and then committed or dropped as a whole.
class TxMap {
	constructor() {
		this.m = new Map();
		this.tx = null;
	}
	get(k) {
		if (this.tx && this.tx.has(k)) return this.tx.get(k);
		return this.m.get(k);
	}
	set(k, v) {
		(this.tx ?? this.m).set(k, v);
	}
	delete(k) {
		if (this.tx) this.tx.set(k, undefined);
		else this.m.delete(k);
	}
	begin() {
		this.tx = new Map();
	}
	commit() {
		for (const [k, v] of this.tx) {
			if (v === undefined) this.m.delete(k);
			else this.m.set(k, v);
		}
		this.tx = null;
	}
	rollback() {
		this.tx = null;
	}
}

class Sessions extends S.SessionStore {
	constructor() {
		super();
		this.kv = new TxMap();
	}
	async saveSession(addr, rec) {
		this.kv.set(addr.toString(), rec.serialize());
	}
	async getSession(addr) {
		const r = this.kv.get(addr.toString());
		return r ? S.SessionRecord.deserialize(r) : null;
	}
	async getExistingSessions(addrs) {
		return addrs.map((a) => {
			const r = this.kv.get(a.toString());
			if (!r) storeFail('no_session', `no session with ${a.toString()}`);
			return S.SessionRecord.deserialize(r);
		});
	}
}

// Trust on first use, keyed by the peer's name (all devices of a name share one identity).
class Identities extends S.IdentityKeyStore {
	constructor(kp, regId) {
		super();
		this.kp = kp;
		this.regId = regId;
		this.kv = new TxMap();
	}
	async getIdentityKey() {
		return this.kp.privateKey;
	}
	async getLocalRegistrationId() {
		return this.regId;
	}
	async saveIdentity(addr, key) {
		const old = this.kv.get(addr.name());
		this.kv.set(addr.name(), key.serialize());
		return old && !Buffer.from(old).equals(Buffer.from(key.serialize()))
			? S.IdentityChange.ReplacedExisting : S.IdentityChange.NewOrUnchanged;
	}
	async isTrustedIdentity(addr, key) {
		const old = this.kv.get(addr.name());
		return !old || Buffer.from(old).equals(Buffer.from(key.serialize()));
	}
	async getIdentity(addr) {
		const k = this.kv.get(addr.name());
		return k ? S.PublicKey.deserialize(k) : null;
	}
}

class PreKeys extends S.PreKeyStore {
	constructor() {
		super();
		this.kv = new TxMap();
	}
	async savePreKey(id, rec) {
		this.kv.set(id, rec.serialize());
	}
	async getPreKey(id) {
		const r = this.kv.get(id);
		if (!r) storeFail('invalid_key_id', `no one-time prekey ${id}`);
		return S.PreKeyRecord.deserialize(r);
	}
	async removePreKey(id) {
		this.kv.delete(id);
	}
}

class SignedPreKeys extends S.SignedPreKeyStore {
	constructor() {
		super();
		this.kv = new TxMap();
	}
	async saveSignedPreKey(id, rec) {
		this.kv.set(id, rec.serialize());
	}
	async getSignedPreKey(id) {
		const r = this.kv.get(id);
		if (!r) storeFail('invalid_key_id', `no signed prekey ${id}`);
		return S.SignedPreKeyRecord.deserialize(r);
	}
}

// Kyber prekeys are kept after use (last-resort semantics); libsignal leaves deletion of
// one-time Kyber keys to the application and this driver never deletes them.
class KyberPreKeys extends S.KyberPreKeyStore {
	constructor() {
		super();
		this.kv = new TxMap();
	}
	async saveKyberPreKey(id, rec) {
		this.kv.set(id, rec.serialize());
	}
	async getKyberPreKey(id) {
		const r = this.kv.get(id);
		if (!r) storeFail('invalid_key_id', `no Kyber prekey ${id}`);
		return S.KyberPreKeyRecord.deserialize(r);
	}
	async markKyberPreKeyUsed() {}
}

class SenderKeys extends S.SenderKeyStore {
	constructor() {
		super();
		this.kv = new TxMap();
	}
	static key(addr, dist) {
		return `${addr.toString()}|${String(dist).toLowerCase()}`;
	}
	async saveSenderKey(addr, dist, rec) {
		this.kv.set(SenderKeys.key(addr, dist), rec.serialize());
	}
	async getSenderKey(addr, dist) {
		const r = this.kv.get(SenderKeys.key(addr, dist));
		return r ? S.SenderKeyRecord.deserialize(r) : null;
	}
	remove(addr, dist) {
		this.kv.delete(SenderKeys.key(addr, dist));
	}
}

class Party {
	constructor(name, deviceId) {
		this.name = name;
		this.deviceId = deviceId;
		this.address = address(name, deviceId);
		this.identity = S.IdentityKeyPair.generate();
		// SSv2 carries registration ids in 14 bits, so stay at or below 0x3FFF.
		this.regId = randomInt(1, 0x4000);
		this.sessions = new Sessions();
		this.identities = new Identities(this.identity, this.regId);
		this.preKeys = new PreKeys();
		this.signedPreKeys = new SignedPreKeys();
		this.kyberPreKeys = new KyberPreKeys();
		this.senderKeys = new SenderKeys();
		this.maps = [this.sessions, this.identities, this.preKeys, this.signedPreKeys,
			this.kyberPreKeys, this.senderKeys].map((s) => s.kv);
	}
	async tx(fn) {
		for (const m of this.maps) m.begin();
		try {
			const r = await fn();
			for (const m of this.maps) m.commit();
			return r;
		} catch (e) {
			for (const m of this.maps) m.rollback();
			throw e;
		}
	}
}

const parties = new Map();

function party(req, name = 'party') {
	const n = str(req, name);
	const p = parties.get(n);
	if (!p) fail('invalid_argument', `unknown party "${n}"`);
	return p;
}

function peerAddress(req, nameField = 'peer', devField = 'peer_device') {
	return address(str(req, nameField), int(req, devField, 1, 127));
}

function distributionId(req) {
	return uuidField(req, 'distribution_id');
}

// ---------------------------------------------------------------- sealed sender helpers

function serverCertificate(u8) {
	try {
		return S.ServerCertificate.deserialize(u8);
	} catch (e) {
		fail('invalid_certificate', `server certificate: ${e.message}`);
	}
}
function senderCertificate(u8) {
	try {
		return S.SenderCertificate.deserialize(u8);
	} catch (e) {
		fail('invalid_certificate', `sender certificate: ${e.message}`);
	}
}
function contentHint(req) {
	return optInt(req, 'content_hint', 0, 0, 0xffffffff);
}

// ---------------------------------------------------------------- ops

const ops = {
	async create_party(req) {
		const name = str(req, 'party');
		const dev = int(req, 'device_id', 1, 127);
		if (parties.has(name)) fail('invalid_argument', `party "${name}" already exists`);
		const p = new Party(name, dev);
		parties.set(name, p);
		return { identity_key: b64(p.identity.publicKey.serialize()), registration_id: p.regId };
	},

	async identity(req) {
		const p = party(req);
		return { identity_key: b64(p.identity.publicKey.serialize()), registration_id: p.regId };
	},

	async generate_bundle(req) {
		const p = party(req);
		const preKeyId = has(req, 'prekey_id') && req.prekey_id !== null ? int(req, 'prekey_id') : null;
		const spkId = int(req, 'signed_prekey_id');
		const kyberId = int(req, 'kyber_prekey_id');
		const now = Date.now();
		const spk = S.PrivateKey.generate();
		const spkSig = p.identity.privateKey.sign(spk.getPublicKey().serialize());
		const kem = S.KEMKeyPair.generate();
		const kemSig = p.identity.privateKey.sign(kem.getPublicKey().serialize());
		let opk = null;
		await p.tx(async () => {
			if (preKeyId !== null) {
				opk = S.PrivateKey.generate();
				await p.preKeys.savePreKey(preKeyId, S.PreKeyRecord.new(preKeyId, opk.getPublicKey(), opk));
			}
			await p.signedPreKeys.saveSignedPreKey(spkId,
				S.SignedPreKeyRecord.new(spkId, now, spk.getPublicKey(), spk, spkSig));
			await p.kyberPreKeys.saveKyberPreKey(kyberId, S.KyberPreKeyRecord.new(kyberId, now, kem, kemSig));
		});
		return {
			bundle: {
				registration_id: p.regId,
				device_id: p.deviceId,
				prekey_id: preKeyId,
				prekey: opk ? b64(opk.getPublicKey().serialize()) : null,
				signed_prekey_id: spkId,
				signed_prekey: b64(spk.getPublicKey().serialize()),
				signed_prekey_signature: b64(spkSig),
				identity_key: b64(p.identity.publicKey.serialize()),
				kyber_prekey_id: kyberId,
				kyber_prekey: b64(kem.getPublicKey().serialize()),
				kyber_prekey_signature: b64(kemSig),
			},
		};
	},

	async process_bundle(req) {
		const p = party(req);
		const remote = peerAddress(req);
		const b = field(req, 'bundle');
		if (typeof b !== 'object' || b === null || Array.isArray(b))
			fail('invalid_argument', 'field "bundle" must be an object');
		const hasPre = has(b, 'prekey_id') && b.prekey_id !== null;
		const bundle = S.PreKeyBundle.new(
			int(b, 'registration_id'),
			int(b, 'device_id', 1, 127),
			hasPre ? int(b, 'prekey_id') : null,
			hasPre ? pubKey(bytes(b, 'prekey'), 'prekey') : null,
			int(b, 'signed_prekey_id'),
			pubKey(bytes(b, 'signed_prekey'), 'signed_prekey'),
			bytes(b, 'signed_prekey_signature'),
			pubKey(bytes(b, 'identity_key'), 'identity_key'),
			int(b, 'kyber_prekey_id'),
			kemPubKey(bytes(b, 'kyber_prekey'), 'kyber_prekey'),
			bytes(b, 'kyber_prekey_signature'));
		await p.tx(() => S.processPreKeyBundle(bundle, remote, p.address, p.sessions, p.identities));
		return {};
	},

	async encrypt(req) {
		const p = party(req);
		const remote = peerAddress(req);
		const pt = bytes(req, 'plaintext');
		const c = await p.tx(() => S.signalEncrypt(pt, remote, p.address, p.sessions, p.identities));
		return { type: c.type(), ciphertext: b64(c.serialize()) };
	},

	async decrypt(req) {
		const p = party(req);
		const remote = peerAddress(req);
		const type = int(req, 'type');
		const ct = bytes(req, 'ciphertext');
		if (type !== 2 && type !== 3) fail('invalid_argument', `message type ${type} is not 2 or 3`);
		const pt = await p.tx(async () => {
			if (type === 2) {
				let m;
				try {
					m = S.SignalMessage.deserialize(ct);
				} catch (e) {
					fail('invalid_message', e.message);
				}
				return S.signalDecrypt(m, remote, p.address, p.sessions, p.identities);
			}
			let m;
			try {
				m = S.PreKeySignalMessage.deserialize(ct);
			} catch (e) {
				fail('invalid_message', e.message);
			}
			return S.signalDecryptPreKey(m, remote, p.address, p.sessions, p.identities,
				p.preKeys, p.signedPreKeys, p.kyberPreKeys);
		});
		return { plaintext: b64(pt) };
	},

	async has_session(req) {
		const p = party(req);
		const remote = peerAddress(req);
		const rec = await p.sessions.getSession(remote);
		return { session: rec ? rec.hasCurrentState() : false };
	},

	async trust(req) {
		const p = party(req);
		const peer = str(req, 'peer');
		const key = pubKey(bytes(req, 'identity_key'), 'identity_key');
		p.identities.kv.set(peer, key.serialize());
		return {};
	},

	async sign(req) {
		const p = party(req);
		return { signature: b64(p.identity.privateKey.sign(bytes(req, 'message'))) };
	},

	async verify(req) {
		const key = pubKey(bytes(req, 'public_key'), 'public_key');
		const msg = bytes(req, 'message');
		const sig = bytes(req, 'signature');
		let valid;
		try {
			valid = key.verify(msg, sig);
		} catch {
			valid = false;
		}
		return { valid };
	},

	async skdm_create(req) {
		const p = party(req);
		const dist = distributionId(req);
		const m = await p.tx(() => S.SenderKeyDistributionMessage.create(p.address, dist, p.senderKeys));
		return { skdm: b64(m.serialize()) };
	},

	async skdm_process(req) {
		const p = party(req);
		const sender = peerAddress(req, 'sender', 'sender_device');
		const raw = bytes(req, 'skdm');
		let m;
		try {
			m = S.SenderKeyDistributionMessage.deserialize(raw);
		} catch (e) {
			fail('invalid_message', e.message);
		}
		await p.tx(() => S.processSenderKeyDistributionMessage(sender, m, p.senderKeys));
		return {};
	},

	async group_encrypt(req) {
		const p = party(req);
		const dist = distributionId(req);
		const pt = bytes(req, 'plaintext');
		const c = await p.tx(() => S.groupEncrypt(p.address, dist, p.senderKeys, pt));
		return { ciphertext: b64(c.serialize()) };
	},

	async group_decrypt(req) {
		const p = party(req);
		const sender = peerAddress(req, 'sender', 'sender_device');
		const ct = bytes(req, 'ciphertext');
		const pt = await p.tx(() => S.groupDecrypt(sender, p.senderKeys, ct));
		return { plaintext: b64(pt) };
	},

	// Extension: forget the party's own sender key for a distribution id, so that the next
	// skdm_create starts a new chain (new chain id and signing key), as apps do to rotate.
	async sender_key_reset(req) {
		const p = party(req);
		const dist = distributionId(req);
		p.senderKeys.remove(p.address, dist);
		return {};
	},

	async fingerprint(req) {
		const version = int(req, 'version');
		const iterations = int(req, 'iterations', 0, 0xffffffff);
		const localKey = pubKey(bytes(req, 'local_key'), 'local_key');
		const remoteKey = pubKey(bytes(req, 'remote_key'), 'remote_key');
		const fp = S.Fingerprint.new(iterations, version, bytes(req, 'local_id'), localKey,
			bytes(req, 'remote_id'), remoteKey);
		return {
			displayable: fp.displayableFingerprint().toString(),
			scannable: b64(fp.scannableFingerprint().toBuffer()),
		};
	},

	async fingerprint_compare(req) {
		const a = S.ScannableFingerprint._fromBuffer(bytes(req, 'scannable_a'));
		const b = S.ScannableFingerprint._fromBuffer(bytes(req, 'scannable_b'));
		let match;
		try {
			match = a.compare(b);
		} catch (e) {
			fail('invalid_argument', e.message);
		}
		return { match };
	},

	// ------------------------------------------------------------ sealed sender

	async sealed_server_certificate(req) {
		const keyId = int(req, 'key_id');
		const root = has(req, 'trust_root_private') && req.trust_root_private !== null
			? privKey(bytes(req, 'trust_root_private'), 'trust_root_private') : S.PrivateKey.generate();
		const server = has(req, 'server_private') && req.server_private !== null
			? privKey(bytes(req, 'server_private'), 'server_private') : S.PrivateKey.generate();
		const cert = S.ServerCertificate.new(keyId, server.getPublicKey(), root);
		return {
			certificate: b64(cert.serialize()),
			trust_root_public: b64(root.getPublicKey().serialize()),
			trust_root_private: b64(root.serialize()),
			server_public: b64(server.getPublicKey().serialize()),
			server_private: b64(server.serialize()),
		};
	},

	async sealed_sender_certificate(req) {
		const uuid = uuidField(req, 'sender_uuid');
		const e164 = has(req, 'sender_e164') && req.sender_e164 !== null ? str(req, 'sender_e164') : null;
		const dev = int(req, 'sender_device', 1, 127);
		const key = pubKey(bytes(req, 'identity_key'), 'identity_key');
		const expires = int(req, 'expires', 0, Number.MAX_SAFE_INTEGER);
		const server = serverCertificate(bytes(req, 'server_certificate'));
		const serverKey = privKey(bytes(req, 'server_private'), 'server_private');
		const cert = S.SenderCertificate.new(uuid, e164, dev, key, expires, server, serverKey);
		return { certificate: b64(cert.serialize()) };
	},

	async sealed_certificate_validate(req) {
		const cert = senderCertificate(bytes(req, 'certificate'));
		const root = pubKey(bytes(req, 'trust_root'), 'trust_root');
		const ts = int(req, 'timestamp', 0, Number.MAX_SAFE_INTEGER);
		return {
			valid: cert.validate(root, ts),
			sender_uuid: cert.senderUuid(),
			sender_e164: cert.senderE164(),
			sender_device: cert.senderDeviceId(),
			identity_key: b64(cert.key().serialize()),
			expires: cert.expiration(),
			server_key_id: cert.serverCertificate().keyId(),
		};
	},

	async sealed_encrypt_v1(req) {
		const p = party(req);
		const remote = peerAddress(req);
		const cert = senderCertificate(bytes(req, 'sender_certificate'));
		const pt = bytes(req, 'plaintext');
		const hint = contentHint(req);
		const groupId = optBytes(req, 'group_id');
		const dist = has(req, 'distribution_id') && req.distribution_id !== null ? distributionId(req) : null;
		// Same steps as libsignal's sealedSenderEncryptMessage (which this reproduces for the
		// default hint and no group id), but also allows a hint, a group id and a sender-key
		// inner message. The inner 1:1 message is encrypted as coming from the certificate's
		// (uuid, device), as sealedSenderEncryptMessage does.
		const out = await p.tx(async () => {
			let inner;
			if (dist !== null) {
				inner = await S.groupEncrypt(p.address, dist, p.senderKeys, pt);
			} else {
				const certAddr = address(cert.senderUuid(), cert.senderDeviceId());
				inner = await S.signalEncrypt(pt, remote, certAddr, p.sessions, p.identities);
			}
			const usmc = S.UnidentifiedSenderMessageContent.new(inner, cert, hint, groupId);
			return { sealed: await S.sealedSenderEncrypt(usmc, remote, p.identities), type: inner.type() };
		});
		return { ciphertext: b64(out.sealed), message_type: out.type };
	},

	async sealed_encrypt_v2(req) {
		const p = party(req);
		const list = field(req, 'recipients');
		if (!Array.isArray(list) || list.length === 0)
			fail('invalid_argument', 'field "recipients" must be a non-empty array');
		const recipients = list.map((r) => peerAddress(r));
		const excluded = has(req, 'excluded') && req.excluded !== null ? field(req, 'excluded') : [];
		if (!Array.isArray(excluded)) fail('invalid_argument', 'field "excluded" must be an array');
		const excludedIds = excluded.map((s) => {
			try {
				return S.ServiceId.parseFromServiceIdString(s);
			} catch (e) {
				fail('invalid_argument', `excluded "${s}": ${e.message}`);
			}
		});
		const cert = senderCertificate(bytes(req, 'sender_certificate'));
		const dist = distributionId(req);
		const pt = bytes(req, 'plaintext');
		const hint = contentHint(req);
		const groupId = optBytes(req, 'group_id');
		const sent = await p.tx(async () => {
			const inner = await S.groupEncrypt(p.address, dist, p.senderKeys, pt);
			const usmc = S.UnidentifiedSenderMessageContent.new(inner, cert, hint, groupId);
			return S.sealedSenderMultiRecipientEncrypt({
				content: usmc,
				recipients,
				excludedRecipients: excludedIds,
				identityStore: p.identities,
				sessionStore: p.sessions,
			});
		});
		return { sent: b64(sent), message_type: 7 };
	},

	async sealed_v2_split(req) {
		const sent = bytes(req, 'sent');
		const who = str(req, 'recipient');
		let parsed;
		try {
			parsed = new SealedSenderMultiRecipientMessage(sent);
		} catch (e) {
			fail('invalid_message', e.message);
		}
		let key = who;
		try {
			key = S.ServiceId.parseFromServiceIdString(who).getServiceIdString();
		} catch {
			fail('invalid_argument', `recipient "${who}" is not a ServiceId string`);
		}
		const all = parsed.recipientsByServiceIdString();
		const r = all[key];
		if (!r) fail('invalid_argument', `recipient "${who}" is not in the message`);
		return {
			message: b64(parsed.messageForRecipient(r)),
			device_ids: [...r.deviceIds],
			registration_ids: [...r.registrationIds],
			recipients: Object.keys(all),
			excluded: [...parsed.excludedRecipientServiceIdStrings()],
		};
	},

	async sealed_decrypt(req) {
		const p = party(req);
		const msg = bytes(req, 'ciphertext');
		const root = pubKey(bytes(req, 'trust_root'), 'trust_root');
		const ts = int(req, 'timestamp', 0, Number.MAX_SAFE_INTEGER);
		const localUuid = has(req, 'local_uuid') && req.local_uuid !== null ? str(req, 'local_uuid') : p.name;
		const localDevice = optInt(req, 'local_device', p.deviceId, 1, 127);
		const localE164 = has(req, 'local_e164') && req.local_e164 !== null ? str(req, 'local_e164') : null;
		return p.tx(async () => {
			let usmc;
			try {
				usmc = await S.sealedSenderDecryptToUsmc(msg, p.identities);
			} catch (e) {
				fail('invalid_message', `unseal: ${e.message}`);
			}
			const cert = usmc.senderCertificate();
			if (!cert.validate(root, ts)) fail('invalid_certificate', 'sender certificate is not valid');
			const senderUuid = cert.senderUuid();
			const senderE164 = cert.senderE164();
			const senderDevice = cert.senderDeviceId();
			const self = senderUuid === localUuid || (senderE164 !== null && localE164 !== null && senderE164 === localE164);
			if (self && senderDevice === localDevice) fail('invalid_certificate', 'sealed sender self send');
			const type = usmc.msgType();
			let pt;
			if (type === 2 || type === 3) {
				// The real libsignal path for 1:1 contents (it repeats the checks above).
				const r = await S.sealedSenderDecryptMessage(msg, root, ts, localE164, localUuid, localDevice,
					p.sessions, p.identities, p.preKeys, p.signedPreKeys, p.kyberPreKeys);
				pt = r.message();
			} else if (type === 7) {
				pt = await S.groupDecrypt(address(senderUuid, senderDevice), p.senderKeys, usmc.contents());
			} else if (type === 8) {
				pt = usmc.contents();
			} else {
				fail('invalid_message', `unknown inner message type ${type}`);
			}
			return {
				plaintext: b64(pt),
				message_type: type,
				sender_uuid: senderUuid,
				sender_e164: senderE164,
				sender_device: senderDevice,
				content_hint: usmc.contentHint(),
				group_id: usmc.groupId() ? b64(usmc.groupId()) : null,
			};
		});
	},

	async version() {
		return { protocol: VERSION, implementation: 'libsignal-client 0.103.0' };
	},
};

// Ops whose failures are classified as "undecryptable input".
const DECRYPT_OPS = new Set(['decrypt', 'group_decrypt', 'sealed_decrypt', 'skdm_process', 'sealed_v2_split']);

// ---------------------------------------------------------------- main loop

async function handle(line) {
	let req;
	try {
		req = JSON.parse(line);
	} catch (e) {
		return { id: null, ok: false, error: 'invalid_argument', message: `bad JSON: ${e.message}` };
	}
	if (typeof req !== 'object' || req === null || Array.isArray(req))
		return { id: null, ok: false, error: 'invalid_argument', message: 'request is not a JSON object' };
	const id = has(req, 'id') ? req.id : null;
	const fn = typeof req.op === 'string' && Object.prototype.hasOwnProperty.call(ops, req.op) ? ops[req.op] : null;
	if (!fn) return { id, ok: false, error: 'invalid_argument', message: `unknown op ${JSON.stringify(req.op)}` };
	try {
		const r = await fn(req);
		return { id, ok: true, ...r };
	} catch (e) {
		const code = classify(e, DECRYPT_OPS.has(req.op) ? 'decrypt' : 'other');
		if (code === 'internal' && process.env.SOTTO_DRIVER_DEBUG) process.stderr.write(`${req.op}: ${e.stack}\n`);
		return { id, ok: false, error: code, message: String(e && e.message ? e.message : e) };
	}
}

async function main() {
	let buf = '';
	let out = [];
	const flush = () => {
		if (out.length) {
			process.stdout.write(out.join(''));
			out = [];
		}
	};
	for await (const chunk of process.stdin) {
		buf += chunk.toString('utf8');
		let nl;
		while ((nl = buf.indexOf('\n')) >= 0) {
			const line = buf.slice(0, nl).replace(/\r$/, '');
			buf = buf.slice(nl + 1);
			if (line.trim() === '') continue;
			out.push(JSON.stringify(await handle(line)) + '\n');
			if (out.length >= 256) flush();
		}
		flush();
	}
	if (buf.trim() !== '') out.push(JSON.stringify(await handle(buf)) + '\n');
	flush();
}

main().then(() => {
	process.exitCode = 0;
}, (e) => {
	process.stderr.write(`libsignal-driver: fatal: ${e.stack}\n`);
	process.exitCode = 1;
});
