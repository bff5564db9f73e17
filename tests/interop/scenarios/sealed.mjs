// Sealed sender scenarios (v1, v2, certificates). Parties are named by ACI strings (UUIDs),
// as sealed sender requires.

import { ScenarioError, check, createParty, initiate, encrypt, deliver, handshake, b64, unb64, flipBit } from './lib.mjs';

const DAY = 86400000;
const NOW = Date.UTC(2026, 0, 1);

async function serverCert(drv, keyId, extra = {}) {
	return drv.ok({ op: 'sealed_server_certificate', key_id: keyId, ...extra });
}

async function senderCert(drv, p, server, expires = NOW + 30 * DAY, extra = {}) {
	const r = await drv.ok({ op: 'sealed_sender_certificate', sender_uuid: p.name, sender_e164: null,
		sender_device: p.device, identity_key: p.ik, expires, server_certificate: server.certificate,
		server_private: server.server_private, ...extra });
	return r.certificate;
}

function sealV1(from, to, cert, pt, extra = {}) {
	return from.drv.ok({ op: 'sealed_encrypt_v1', party: from.name, peer: to.name, peer_device: to.device,
		sender_certificate: cert, plaintext: b64(pt), ...extra });
}

function unseal(to, ct, root, extra = {}) {
	return to.drv.call({ op: 'sealed_decrypt', party: to.name, ciphertext: ct, trust_root: root, timestamp: NOW, ...extra });
}

async function unsealOk(to, ct, root, pt, from, what, extra = {}) {
	const r = await unseal(to, ct, root, extra);
	if (!r.ok) throw new ScenarioError(`${to}: ${what} failed: ${r.error}: ${r.message}`);
	check(unb64(r.plaintext).equals(pt), `${to}: ${what}: wrong plaintext`);
	check(r.sender_uuid === from.name && r.sender_device === from.device, `${to}: ${what}: wrong sender ${r.sender_uuid}.${r.sender_device}`);
	return r;
}

async function unsealErr(to, ct, root, code, what, extra = {}) {
	const r = await unseal(to, ct, root, extra);
	check(!r.ok, `${to}: ${what} was accepted`);
	check(r.error === code, `${to}: ${what} failed with ${r.error} (${r.message}), expected ${code}`);
}

async function setup(ctx) {
	const rng = ctx.rng;
	const A = ctx.spawn('A');
	const B = ctx.spawn('B');
	const alice = await createParty(A, rng.uuid(), 1);
	const bob = await createParty(B, rng.uuid(), 2);
	// The server certificate comes from driver A, the trust root is reused by driver B for a
	// second server key; each sender certificate is made by the other driver.
	const s1 = await serverCert(A, 1);
	check(unb64(s1.trust_root_private).length === 32 && unb64(s1.trust_root_public).length === 33, 'key encodings');
	const s2 = await serverCert(B, 2, { trust_root_private: s1.trust_root_private });
	check(s2.trust_root_public === s1.trust_root_public, 'trust root from its private key');
	const certA = await senderCert(B, alice, s1);
	const certB = await senderCert(A, bob, s2);
	for (const drv of [A, B]) {
		for (const [c, p, k] of [[certA, alice, 1], [certB, bob, 2]]) {
			const v = await drv.ok({ op: 'sealed_certificate_validate', certificate: c, trust_root: s1.trust_root_public, timestamp: NOW });
			check(v.valid === true && v.sender_uuid === p.name && v.sender_device === p.device && v.identity_key === p.ik &&
				v.server_key_id === k, `${drv.label}: certificate contents/validity`);
		}
	}
	return { rng, A, B, alice, bob, root: s1.trust_root_public, s1, s2, certA, certB };
}

async function sealedV1(ctx) {
	const { rng, alice, bob, root, certA, certB } = await setup(ctx);
	// First contact through sealed sender: the inner message is a PreKey message.
	await initiate(alice, bob);
	let pt = rng.plaintext();
	let s = await sealV1(alice, bob, certA, pt);
	check(unb64(s.ciphertext)[0] === 0x11 && s.message_type === 3, 'v1 version byte / inner PreKey');
	let r = await unsealOk(bob, s.ciphertext, root, pt, alice, 'sealed PreKey message');
	check(r.message_type === 3 && r.content_hint === 0 && r.group_id === null, 'decrypt result fields');
	for (let i = 0; i < 20; i++) {
		const [from, to, cert] = i % 2 ? [alice, bob, certA] : [bob, alice, certB];
		pt = rng.plaintext();
		const extra = i % 3 === 0 ? { content_hint: 1 + (i % 2), group_id: b64(rng.bytes(16)) } : {};
		s = await sealV1(from, to, cert, pt, extra);
		check(s.message_type === 2, 'inner SignalMessage');
		r = await unsealOk(to, s.ciphertext, root, pt, from, `sealed message ${i}`);
		check(r.content_hint === (extra.content_hint ?? 0) && r.group_id === (extra.group_id ?? null), 'hint / group id');
	}
	// Sealed sender messages and plain ones share the session.
	await deliver(await encrypt(alice, bob, rng.plaintext()), 'plain message between sealed ones');
	// v1 around a sender-key message.
	const dist = rng.uuid();
	const { skdm } = await bob.drv.ok({ op: 'skdm_create', party: bob.name, distribution_id: dist });
	await alice.drv.ok({ op: 'skdm_process', party: alice.name, sender: bob.name, sender_device: bob.device, skdm });
	pt = rng.plaintext();
	s = await sealV1(bob, alice, certB, pt, { distribution_id: dist, content_hint: 1, group_id: b64(rng.bytes(8)) });
	check(s.message_type === 7, 'inner SenderKeyMessage');
	r = await unsealOk(alice, s.ciphertext, root, pt, bob, 'sealed group message');
	check(r.message_type === 7, 'decrypted type 7');
	// Tampering: bad MAC anywhere gives invalid_message, and the genuine message still works.
	pt = rng.plaintext();
	s = await sealV1(alice, bob, certA, pt);
	const len = unb64(s.ciphertext).length;
	for (const bit of [8 * 3, 8 * 40, 8 * Math.floor(len / 2), 8 * len - 1]) {
		await unsealErr(bob, flipBit(s.ciphertext, bit), root, 'invalid_message', `sealed message with bit ${bit} flipped`);
	}
	await unsealOk(bob, s.ciphertext, root, pt, alice, 'genuine sealed message after flips');
	return 'v1 both ways: PreKey and SignalMessage contents, hints, group ids, sender-key content, tampering';
}

async function sealedV2Dir(ctx, senderSide) {
	const rng = ctx.rng;
	const A = ctx.spawn('A');
	const B = ctx.spawn('B');
	const [S, O] = senderSide === 'A' ? [A, B] : [B, A];
	const sender = await createParty(S, rng.uuid(), 1);
	const recips = [
		await createParty(O, rng.uuid(), 1), await createParty(O, rng.uuid(), 3),
		await createParty(S, rng.uuid(), 2), await createParty(O, rng.uuid(), 127),
	];
	const srv = await serverCert(O, 7);
	const cert = await senderCert(S, sender, srv);
	const root = srv.trust_root_public;
	for (const r of recips) await handshake(sender, r, rng, rng.chance(0.5));
	const dist = rng.uuid();
	const { skdm } = await sender.drv.ok({ op: 'skdm_create', party: sender.name, distribution_id: dist });
	for (const r of recips) await r.drv.ok({ op: 'skdm_process', party: r.name, sender: sender.name, sender_device: 1, skdm });
	const excluded = [rng.uuid()];
	const sent = [];
	for (let i = 0; i < 12; i++) {
		const pt = rng.plaintext(120);
		const extra = i % 4 === 0 ? { content_hint: 2, group_id: b64(rng.bytes(32)) } : {};
		const m = await sender.drv.ok({ op: 'sealed_encrypt_v2', party: sender.name,
			recipients: recips.map((r) => ({ peer: r.name, peer_device: r.device })), excluded,
			sender_certificate: cert, distribution_id: dist, plaintext: b64(pt), ...extra });
		check(unb64(m.sent)[0] === 0x23, 'v2 sent-form version byte');
		sent.push({ m, pt, extra });
	}
	// The server split, done by both drivers, must give the same bytes.
	const deliveries = [];
	for (const [i, { m }] of sent.entries()) {
		for (const r of recips) {
			const [x, y] = await Promise.all([A, B].map((d) => d.ok({ op: 'sealed_v2_split', sent: m.sent, recipient: r.name })));
			check(x.message === y.message, `split for ${r.name} differs between drivers`);
			check(unb64(x.message)[0] === 0x22, 'received form version byte');
			check(x.device_ids.length === 1 && x.device_ids[0] === r.device, 'split device ids');
			check(x.registration_ids.length === 1 && x.registration_ids[0] === r.reg, 'split registration id = recipient registration id');
			check(x.excluded.length === 1 && x.excluded[0] === excluded[0], 'excluded recipients');
			check(x.recipients.length === recips.length, 'recipient list');
			deliveries.push({ i, r, msg: x.message });
		}
	}
	await A.err({ op: 'sealed_v2_split', sent: sent[0].m.sent, recipient: rng.uuid() }, 'invalid_argument', 'split for a non-recipient');
	rng.shuffle(deliveries);
	for (const d of deliveries) {
		const { pt, extra } = sent[d.i];
		const r = await unsealOk(d.r, d.msg, root, pt, sender, `v2 message ${d.i}`);
		check(r.message_type === 7 && r.content_hint === (extra.content_hint ?? 0) && r.group_id === (extra.group_id ?? null),
			'v2 result fields');
	}
	// A recipient without a session: no_session. A non-ServiceId recipient: invalid_argument.
	const stranger = await createParty(O, rng.uuid(), 1);
	await sender.drv.err({ op: 'sealed_encrypt_v2', party: sender.name, recipients: [{ peer: stranger.name, peer_device: 1 }],
		sender_certificate: cert, distribution_id: dist, plaintext: '' }, 'no_session', 'v2 to a recipient without a session');
	return `${sent.length} messages to ${recips.length} recipients`;
}

async function sealedV2(ctx) {
	const a = await sealedV2Dir(ctx, 'A');
	const b = await sealedV2Dir(ctx, 'B');
	return `v2 from A: ${a}; from B: ${b}; splits identical on both drivers`;
}

async function certFailures(ctx) {
	const { rng, A, B, alice, bob, root, s1, certA, certB } = await setup(ctx);
	await handshake(alice, bob, rng);
	const other = await serverCert(A, 1); // another trust root
	const revoked = await serverCert(B, 0xDEADC357, { trust_root_private: s1.trust_root_private });
	const summary = [];
	for (const [from, to, good, mk] of [[alice, bob, certA, A], [bob, alice, certB, B]]) {
		const expiredAt = NOW - 1;
		const certs = {
			expired: await senderCert(mk, from, s1, expiredAt),
			revoked: await senderCert(mk, from, revoked),
			'wrong trust root': await senderCert(mk, from, other),
			// Signed by a server key that is not the one in the server certificate.
			forged: await senderCert(mk, from, { certificate: s1.certificate, server_private: other.server_private }),
		};
		for (const drv of [A, B]) {
			for (const [k, c] of Object.entries(certs)) {
				const v = await drv.ok({ op: 'sealed_certificate_validate', certificate: c, trust_root: root, timestamp: NOW });
				check(v.valid === false, `${drv.label}: ${k} certificate validates`);
			}
			const v = await drv.ok({ op: 'sealed_certificate_validate', certificate: certs.expired, trust_root: root, timestamp: expiredAt });
			check(v.valid === true, `${drv.label}: certificate not valid at its expiry time`);
		}
		const held = [];
		for (const [k, c] of Object.entries(certs)) {
			const pt = rng.plaintext();
			const s = await sealV1(from, to, c, pt);
			await unsealErr(to, s.ciphertext, root, 'invalid_certificate', `message with ${k} certificate`);
			held.push([k, s, pt]);
		}
		// Good certificate, wrong trust root given by the receiver.
		let pt = rng.plaintext();
		let s = await sealV1(from, to, good, pt);
		await unsealErr(to, s.ciphertext, other.trust_root_public, 'invalid_certificate', 'message checked against another trust root');
		// Self-send: the receiver's own uuid and device are those of the certificate.
		await unsealErr(to, s.ciphertext, root, 'invalid_certificate', 'self send', { local_uuid: from.name, local_device: from.device });
		// Expired at the receiver's clock.
		await unsealErr(to, s.ciphertext, root, 'invalid_certificate', 'message after certificate expiry', { timestamp: NOW + 31 * DAY });
		// Nothing was consumed: the same message is accepted with the right parameters.
		await unsealOk(to, s.ciphertext, root, pt, from, 'message after the refusals');
		// The expired one is accepted at its expiry time (the boundary is inclusive).
		const [, exp, expPt] = held[0];
		await unsealOk(to, exp.ciphertext, root, expPt, from, 'expired-certificate message at expiry time', { timestamp: expiredAt });
		pt = rng.plaintext();
		s = await sealV1(from, to, good, pt);
		await unsealOk(to, s.ciphertext, root, pt, from, 'next message');
		summary.push(`${to.drv.label} refuses expired, revoked 0xDEADC357, wrong root, forged, self-send`);
	}
	return summary.join('; ');
}

export const sealedScenarios = [
	['sealed-v1', sealedV1],
	['sealed-v2', sealedV2],
	['sealed-cert-failures', certFailures],
];
