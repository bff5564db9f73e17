// Sender-key (group) scenarios and safety numbers, with members spread over drivers A and B.

import { generateKeyPairSync } from 'node:crypto';
import { ScenarioError, check, createParty, b64, unb64, flipBit } from './lib.mjs';

async function distribute(sender, receivers, dist) {
	const r = await sender.drv.ok({ op: 'skdm_create', party: sender.name, distribution_id: dist });
	check(unb64(r.skdm)[0] === 0x33, 'SKDM version byte');
	await Promise.all(receivers.map((m) => m.drv.ok({ op: 'skdm_process', party: m.name, sender: sender.name,
		sender_device: sender.device, skdm: r.skdm })));
	return r.skdm;
}

function gEncrypt(p, dist, pt) {
	return p.drv.ok({ op: 'group_encrypt', party: p.name, distribution_id: dist, plaintext: b64(pt) })
		.then((r) => ({ from: p, ct: r.ciphertext, pt }));
}

function gDecrypt(to, msg) {
	return to.drv.call({ op: 'group_decrypt', party: to.name, sender: msg.from.name, sender_device: msg.from.device,
		ciphertext: msg.ct });
}

async function gDeliver(to, msg, what) {
	const r = await gDecrypt(to, msg);
	if (!r.ok) throw new ScenarioError(`${to}: ${what} from ${msg.from.name} failed: ${r.error}: ${r.message}`);
	check(unb64(r.plaintext).equals(msg.pt), `${to}: ${what} from ${msg.from.name}: wrong plaintext`);
}

async function gReject(to, msg, code, what) {
	const r = await gDecrypt(to, msg);
	check(!r.ok, `${to}: ${what} was accepted`);
	check(code === null || r.error === code, `${to}: ${what} failed with ${r.error}, expected ${code}`);
	return r.error;
}

async function members(ctx, n) {
	const A = ctx.spawn('A');
	const B = ctx.spawn('B');
	const ps = [];
	for (let i = 0; i < n; i++) ps.push(await createParty(i % 2 ? B : A, `member${i}`, 1 + (i % 3)));
	return ps;
}

async function groupFive(ctx) {
	const rng = ctx.rng;
	const n = ctx.params.group;
	const ms = await members(ctx, 5);
	const dist = rng.uuid();
	for (const s of ms) await distribute(s, ms.filter((m) => m !== s), dist);
	const msgs = [];
	const jobs = [];
	for (let i = 0; i < n; i++) jobs.push(gEncrypt(rng.pick(ms), dist, rng.plaintext(100)));
	msgs.push(...(await Promise.all(jobs)));
	let count = 0;
	await Promise.all(ms.map(async (r) => {
		const mine = rng.shuffle(msgs.filter((m) => m.from !== r));
		await Promise.all(mine.map((m, i) => gDeliver(r, m, `shuffled group message ${i}`)));
		count += mine.length;
		// Every one of them again: all duplicates now.
		const again = await Promise.all(mine.slice(0, 20).map((m) => gDecrypt(r, m)));
		check(again.every((x) => !x.ok && x.error === 'duplicate_message'), `${r}: redelivered group message not a duplicate`);
	}));
	return `${n} messages from 5 members (A: 3, B: 2), ${count} shuffled deliveries`;
}

async function lateJoiner(ctx) {
	const rng = ctx.rng;
	const A = ctx.spawn('A');
	const B = ctx.spawn('B');
	const alice = await createParty(A, 'alice', 1);
	const bob = await createParty(B, 'bob', 1);
	const carol = await createParty(B, 'carol', 2);
	const dave = await createParty(A, 'dave', 1);
	const dist = rng.uuid();
	await distribute(alice, [bob], dist);
	await distribute(bob, [alice], dist);
	const past = [];
	for (let i = 0; i < 10; i++) past.push(await gEncrypt(i % 3 ? alice : bob, dist, rng.plaintext()));
	for (const m of past) await gDeliver(m.from === alice ? bob : alice, m, 'past message');
	// Carol (B) and Dave (A) join now.
	await distribute(alice, [carol, dave], dist);
	await distribute(bob, [carol, dave], dist);
	const codes = new Set();
	for (const j of [carol, dave]) for (const m of past) codes.add(await gReject(j, m, null, 'past message for late joiner'));
	const now = [];
	for (let i = 0; i < 6; i++) now.push(await gEncrypt(i % 2 ? alice : bob, dist, rng.plaintext()));
	for (const j of [carol, dave]) for (const m of rng.shuffle([...now])) await gDeliver(j, m, 'new message for late joiner');
	check(codes.size === 1 && codes.has('duplicate_message'), `late joiner errors: ${[...codes].join(',')} (libsignal: duplicate_message)`);
	return 'late joiners reject every earlier message (duplicate_message) and read new ones';
}

async function rotation(ctx) {
	const rng = ctx.rng;
	const A = ctx.spawn('A');
	const B = ctx.spawn('B');
	const alice = await createParty(A, 'alice', 1);
	const bob = await createParty(B, 'bob', 1);
	const carol = await createParty(A, 'carol', 1);
	const dave = await createParty(B, 'dave', 1);
	const dist = rng.uuid();
	const skdm0 = await distribute(alice, [bob, carol, dave], dist);
	// The same record gives the same chain: a second SKDM does not start over.
	const again = (await alice.drv.ok({ op: 'skdm_create', party: alice.name, distribution_id: dist })).skdm;
	check(again === skdm0, 'skdm_create without a reset must return the same chain');
	const old = [];
	for (let i = 0; i < 4; i++) old.push(await gEncrypt(alice, dist, rng.plaintext()));
	await gDeliver(bob, old[0], 'message of chain 0');
	// Rotate: Dave is removed, only Bob and Carol get the new key.
	await alice.drv.ok({ op: 'sender_key_reset', party: alice.name, distribution_id: dist });
	const skdm1 = await distribute(alice, [bob, carol], dist);
	check(skdm1 !== skdm0, 'rotation produced the same SKDM');
	const m1 = await gEncrypt(alice, dist, rng.plaintext());
	await gDeliver(bob, m1, 'message of chain 1');
	await gDeliver(carol, m1, 'message of chain 1');
	const daveCode = await gReject(dave, m1, 'no_session', 'message of the new chain for the removed member');
	await gDeliver(dave, old[1], 'old-chain message for the removed member');
	// Late old-chain messages still decrypt for members: the old state is kept.
	await gDeliver(bob, old[2], 'late message of chain 0');
	// Four more rotations keep five states (chains 1..5); chain 0 falls out.
	const chainMsgs = [m1];
	for (let k = 2; k <= 5; k++) {
		await alice.drv.ok({ op: 'sender_key_reset', party: alice.name, distribution_id: dist });
		await distribute(alice, [bob, carol], dist);
		chainMsgs.push(await gEncrypt(alice, dist, rng.plaintext()));
	}
	await gReject(bob, old[3], 'no_session', 'message of chain 0 after five newer chains');
	for (const m of chainMsgs.slice(1).reverse()) await gDeliver(bob, m, 'message of a kept chain');
	await gReject(carol, old[3], 'no_session', 'message of chain 0 at carol after five newer chains');
	return `rotations: removed member gets ${daveCode}, members keep 5 chains, the 6th oldest is dropped`;
}

async function safetyNumbers(ctx) {
	const rng = ctx.rng;
	const A = ctx.spawn('A');
	const B = ctx.spawn('B');
	const N = ctx.params.fingerprints;
	const key = () => {
		const { publicKey } = generateKeyPairSync('x25519');
		const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x, 'base64url');
		return b64(Buffer.concat([Buffer.from([5]), raw]));
	};
	const cases = [];
	for (let i = 0; i < N; i++) {
		cases.push({
			version: rng.pick([1, 2]),
			iterations: i % 10 === 9 ? rng.range(2, 300) : 5200,
			a: { id: b64(rng.bytes(rng.range(0, 40))), key: key() },
			b: { id: b64(rng.bytes(rng.range(0, 40))), key: key() },
		});
	}
	const fp = (drv, c, local, remote) => drv.ok({ op: 'fingerprint', version: c.version, iterations: c.iterations,
		local_id: local.id, local_key: local.key, remote_id: remote.id, remote_key: remote.key });
	const res = await Promise.all(cases.map(async (c) => {
		const [aA, bB, aB, bA] = await Promise.all([fp(A, c, c.a, c.b), fp(B, c, c.b, c.a), fp(B, c, c.a, c.b), fp(A, c, c.b, c.a)]);
		check(/^[0-9]{60}$/.test(aA.displayable), 'displayable is not 60 digits');
		check(aA.displayable === bB.displayable && aA.displayable === aB.displayable && aA.displayable === bA.displayable,
			'safety numbers differ');
		check(aA.scannable === aB.scannable && bB.scannable === bA.scannable, 'scannable forms differ between drivers');
		return { c, sa: aA.scannable, sb: bB.scannable };
	}));
	for (const drv of [A, B]) {
		await Promise.all(res.map(async ({ sa, sb }, i) => {
			let r = await drv.ok({ op: 'fingerprint_compare', scannable_a: sa, scannable_b: sb });
			check(r.match === true, `${drv.label}: matching fingerprints compare false`);
			const other = res[(i + 1) % res.length];
			if (other.c.version === res[i].c.version) {
				r = await drv.ok({ op: 'fingerprint_compare', scannable_a: sa, scannable_b: other.sb });
				check(r.match === false, `${drv.label}: different fingerprints compare true`);
			} else {
				await drv.err({ op: 'fingerprint_compare', scannable_a: sa, scannable_b: other.sb }, 'invalid_argument',
					'version mismatch');
			}
			r = await drv.ok({ op: 'fingerprint_compare', scannable_a: sa, scannable_b: sa });
			check(r.match === false, `${drv.label}: a fingerprint compared with itself matched`);
		}));
		await drv.err({ op: 'fingerprint_compare', scannable_a: res[0].sa, scannable_b: b64(Buffer.from('junk')) },
			'invalid_argument', 'malformed scannable');
	}
	return `${N} random key pairs and identifiers: displayable and scannable equal on both drivers`;
}

// A bit-flipped or truncated SKDM is refused; the stores stay as they were.
async function skdmErrors(ctx) {
	const rng = ctx.rng;
	const alice = await createParty(ctx.spawn('A'), 'alice', 1);
	const bob = await createParty(ctx.spawn('B'), 'bob', 1);
	const dist = rng.uuid();
	const { skdm } = await alice.drv.ok({ op: 'skdm_create', party: alice.name, distribution_id: dist });
	const m = await gEncrypt(alice, dist, rng.plaintext());
	await gReject(bob, m, 'no_session', 'group message before the SKDM');
	await bob.drv.err({ op: 'skdm_process', party: bob.name, sender: alice.name, sender_device: 1,
		skdm: b64(unb64(skdm).subarray(0, 30)) }, 'invalid_message', 'truncated SKDM');
	await bob.drv.err({ op: 'group_encrypt', party: bob.name, distribution_id: dist, plaintext: '' }, 'no_session',
		'group_encrypt without own sender key');
	await bob.drv.err({ op: 'skdm_create', party: bob.name, distribution_id: 'not-a-uuid' }, 'invalid_argument', 'bad uuid');
	await bob.drv.ok({ op: 'skdm_process', party: bob.name, sender: alice.name, sender_device: 1, skdm });
	await gDeliver(bob, m, 'group message after the SKDM');
	const m2 = await gEncrypt(alice, dist, Buffer.alloc(0));
	await gDeliver(bob, m2, 'empty group message');
	await gReject(bob, { ...m2, ct: flipBit(m2.ct, 8 * 20) }, null, 'flipped');
	return 'SKDM errors and empty group plaintext';
}

// Sender keys have the same limits as the double ratchet: a jump of more than 25,000
// iterations is refused, and only the 2,000 newest skipped keys are kept.
async function groupForwardJump(ctx) {
	const rng = ctx.rng;
	const LIMIT = 25000;
	const alice = await createParty(ctx.spawn('A'), 'alice', 1);
	const bob = await createParty(ctx.spawn('B'), 'bob', 1);
	const dist = rng.uuid();
	await distribute(alice, [bob], dist);
	const all = [];
	const CH = 2500;
	for (let start = 0; start <= LIMIT + 1; start += CH) {
		const jobs = [];
		for (let i = start; i < Math.min(LIMIT + 2, start + CH); i++) jobs.push(gEncrypt(alice, dist, rng.plaintext(8)));
		all.push(...(await Promise.all(jobs)));
	}
	await gReject(bob, all[LIMIT + 1], 'invalid_message', `iteration ${LIMIT + 1} (jump beyond the limit)`);
	await gDeliver(bob, all[LIMIT], `iteration ${LIMIT} (exactly at the limit)`);
	await gDeliver(bob, all[LIMIT + 1], `iteration ${LIMIT + 1} after the jump`);
	await gDeliver(bob, all[LIMIT - 2000], `iteration ${LIMIT - 2000} (newest 2000 skipped keys kept)`);
	await gReject(bob, all[LIMIT - 2001], 'duplicate_message', `iteration ${LIMIT - 2001} (skipped key dropped)`);
	await gReject(bob, all[0], 'duplicate_message', 'iteration 0 (skipped key dropped)');
	await gDeliver(bob, all[LIMIT - 1], `iteration ${LIMIT - 1}`);
	return `${LIMIT + 2} group messages: jump ${LIMIT + 1} refused, ${LIMIT} accepted, 2000 skipped keys kept`;
}

export const groupScenarios = [
	['group-five', groupFive],
	['group-late-joiner', lateJoiner],
	['sender-key-rotation', rotation],
	['group-errors', skdmErrors],
	['group-forward-jump', groupForwardJump],
	['safety-numbers', safetyNumbers],
];
