// 1:1 session scenarios (PQXDH + triple ratchet) between party "alice" in driver A and
// party "bob" in driver B.

import {
	Rng, ScenarioError, check, createParty, bundle, initiate, encrypt, decryptRaw, deliver, deliverAll,
	sendMany, hasSession, handshake, flipBit, protoFields, spqrHeader, counterOf, unb64, b64,
} from './lib.mjs';

async function pair(ctx, names = ['alice', 'bob'], devices = [1, 1], drivers = null) {
	const [da, db] = drivers ?? [ctx.spawn('A'), ctx.spawn('B')];
	const a = await createParty(da, names[0], devices[0]);
	const b = await createParty(db, names[1], devices[1]);
	return [a, b];
}

// ---------------------------------------------------------------- initiation

function initiation(dir, withPreKey, uuidNames) {
	return async (ctx) => {
		const rng = ctx.rng;
		const names = uuidNames ? [rng.uuid(), rng.uuid()] : ['alice', 'bob'];
		const [alice, bob] = await pair(ctx, names, [1, 2]);
		const [ini, res] = dir === 'a2b' ? [alice, bob] : [bob, alice];
		check(!(await hasSession(ini, res)), 'session before any bundle');
		await ctx.drvOf(ini).err({ op: 'encrypt', party: ini.name, peer: res.name, peer_device: res.device,
			plaintext: '' }, 'no_session', 'encrypt without session');
		const b = await initiate(ini, res, withPreKey);
		check(withPreKey ? b.prekey_id !== null && b.prekey !== null : b.prekey_id === null && b.prekey === null,
			'bundle one-time prekey fields');
		check(await hasSession(ini, res), 'initiator has a session after process_bundle');
		// Several PreKey messages before any answer; all carry the handshake.
		const first = await sendMany(ini, res, rng, 3);
		check(first.every((m) => m.type === 3), 'messages before an answer must be PreKey messages');
		await deliver(first[1], 'second PreKey message (out of order)');
		await deliver(first[0], 'first PreKey message');
		await deliver(first[2], 'third PreKey message');
		check(await hasSession(res, ini), 'responder has a session');
		const rep = await encrypt(res, ini, rng.plaintext());
		check(rep.type === 2, 'reply must be a SignalMessage');
		await deliver(rep, 'reply');
		const next = await encrypt(ini, res, rng.plaintext());
		check(next.type === 2, 'after an answer the initiator sends SignalMessages');
		await deliver(next, 'message after reply');
		// The one-time prekey is consumed: a second initiator using the same bundle fails at the
		// responder with invalid_key_id; without one-time prekey it works.
		const other = await createParty(ctx.drvOf(ini), uuidNames ? rng.uuid() : 'carol', 3);
		await other.drv.ok({ op: 'process_bundle', party: other.name, peer: res.name, peer_device: res.device, bundle: b });
		const m = await encrypt(other, res, rng.plaintext());
		if (withPreKey) {
			await ctx.drvOf(res).err({ op: 'decrypt', party: res.name, peer: other.name, peer_device: other.device,
				type: m.type, ciphertext: m.ct }, 'invalid_key_id', 'decrypt with a used one-time prekey');
		} else {
			await deliver(m, 'second initiator without one-time prekey');
		}
		// A missing signed prekey id gives invalid_key_id too.
		const bad = { ...b, signed_prekey_id: b.signed_prekey_id + 500, prekey_id: null, prekey: null };
		const x = await createParty(ctx.drvOf(ini), uuidNames ? rng.uuid() : 'dave', 4);
		await x.drv.ok({ op: 'process_bundle', party: x.name, peer: res.name, peer_device: res.device, bundle: bad });
		const mx = await encrypt(x, res, rng.plaintext());
		await ctx.drvOf(res).err({ op: 'decrypt', party: res.name, peer: x.name, peer_device: x.device,
			type: mx.type, ciphertext: mx.ct }, 'invalid_key_id', 'decrypt with unknown signed prekey id');
		return `${dir} ${withPreKey ? 'with' : 'without'} one-time prekey${uuidNames ? ', ServiceId names' : ''}`;
	};
}

// ---------------------------------------------------------------- schedule engine

// A schedule is generated from the PRNG alone (never from outcomes), so the same seed gives
// the same events on any pair of drivers. Events per turn: one side sends a batch; then the
// other side gets some of its pending messages in random order, keeps some back for later
// turns, loses some, and sees some duplicates and bit-flipped copies.
export function makeSchedule(rng, opt) {
	const turns = [];
	const pending = { a: [], b: [] }; // messages not yet delivered to that side: {idx, age}
	const delivered = { a: [], b: [] };
	let nextIdx = { a: 0, b: 0 }; // messages sent by a / by b
	let total = 0;
	let bReady = false;
	let sender = 'a';
	let ti = 0;
	while (total < opt.messages) {
		const first = ti === 0;
		if (!first) sender = rng.chance(0.5) ? 'a' : 'b';
		if (sender === 'b' && !bReady) sender = 'a';
		const recv = sender === 'a' ? 'b' : 'a';
		const n = Math.min(opt.messages - total, first ? rng.range(1, 3) : rng.range(1, opt.maxBatch));
		const sends = [];
		for (let i = 0; i < n; i++) sends.push({ idx: nextIdx[sender]++, pt: rng.plaintext(opt.maxPlain ?? 64) });
		total += n;
		for (const s of sends) pending[recv].push({ idx: s.idx, age: 0 });
		const genuine = [];
		const tampered = new Map();
		const keep = [];
		for (const m of pending[recv]) {
			if (!first && m.age < opt.maxHold && rng.chance(opt.hold)) {
				keep.push({ idx: m.idx, age: m.age + 1 });
				continue;
			}
			if (!first && rng.chance(opt.drop)) continue;
			if (!first && rng.chance(opt.tamper)) tampered.set(m.idx, { idx: m.idx, kind: 'tamper', frac: rng.float() });
			genuine.push({ idx: m.idx, kind: 'genuine' });
		}
		pending[recv] = keep;
		if (!first && opt.shuffle) rng.shuffle(genuine);
		// A tampered copy comes right before the genuine message (after it, it would be judged
		// a duplicate); a duplicate comes anywhere after its genuine delivery.
		const deliveries = [];
		for (const g of genuine) {
			if (tampered.has(g.idx)) deliveries.push(tampered.get(g.idx));
			deliveries.push(g);
			delivered[recv].push({ idx: g.idx, turn: ti });
		}
		// libsignal keeps 5 receiving chains: a duplicate from an older chain is no longer
		// recognised as a duplicate but fails as undecryptable. `dupWindow` limits duplicates to
		// messages delivered in the last few turns (where duplicate_message is certain).
		const recent = delivered[recv].filter((d) => d.turn >= ti - opt.dupWindow).map((d) => d.idx);
		if (!first && recent.length && rng.chance(opt.dup)) {
			const k = rng.range(1, 3);
			for (let i = 0; i < k; i++) {
				const idx = rng.pick(recent);
				const after = deliveries.findIndex((d) => d.idx === idx && d.kind === 'genuine') + 1;
				const pos = opt.shuffle ? rng.range(after, deliveries.length) : deliveries.length;
				deliveries.splice(pos, 0, { idx, kind: 'dup' });
			}
		}
		turns.push({ sender, sends, deliveries });
		if (sender === 'a' && genuine.length) bReady = true;
		ti++;
	}
	return turns;
}

// Run a schedule between parties a and b. Returns one outcome string per delivery event
// ("ok" or the error code) plus statistics; with `strict` it throws on any outcome that
// differs from the expectation (genuine -> plaintext, dup -> duplicate_message,
// tamper -> any error).
export async function runSchedule(a, b, sched, { strict, withPreKey = true }) {
	await initiate(a, b, withPreKey);
	const sent = { a: [], b: [] };
	const outcomes = [];
	const stats = { maxEpoch: { a: 0, b: 0 }, tampers: 0, dups: 0, genuine: 0, types: { 2: 0, 3: 0 } };
	const party = { a, b };
	for (const [ti, t] of sched.entries()) {
		const from = party[t.sender];
		const to = t.sender === 'a' ? b : a;
		const msgs = await Promise.all(t.sends.map((s) => encrypt(from, to, s.pt)));
		for (const m of msgs) {
			sent[t.sender].push(m);
			stats.types[m.type]++;
			const h = spqrHeader(m.type, m.ct);
			if (h) stats.maxEpoch[t.sender] = Math.max(stats.maxEpoch[t.sender], h.epoch);
		}
		const rs = t.sender === 'a' ? 'b' : 'a';
		const jobs = t.deliveries.map((d) => {
			const m = sent[t.sender][d.idx];
			let ct = m.ct;
			let kind = d.kind;
			if (kind === 'tamper') {
				// PreKey messages carry unauthenticated fields (registration id, low nibble of
				// the version byte), so bit flips are only applied to SignalMessages.
				if (m.type !== 2) return Promise.resolve('skip');
				ct = flipBit(ct, Math.floor(d.frac * unb64(ct).length * 8));
			}
			return decryptRaw(to, from, m.type, ct).then((r) => {
				const out = r.ok ? 'ok' : r.error;
				if (strict) {
					const where = `turn ${ti}: ${kind} delivery of ${t.sender}'s message ${d.idx} to ${rs}`;
					if (kind === 'genuine') {
						if (!r.ok) throw new ScenarioError(`${where} failed: ${r.error}: ${r.message}`);
						check(unb64(r.plaintext).equals(m.pt), `${where}: wrong plaintext`);
					} else if (kind === 'dup') {
						check(!r.ok && r.error === 'duplicate_message',
							`${where} (type ${m.type}): expected duplicate_message, got ${r.ok ? "ok" : r.error + ": " + r.message}`);
					} else {
						check(!r.ok, `${where}: a bit-flipped message was accepted`);
					}
				}
				if (kind === 'genuine' && r.ok && !unb64(r.plaintext).equals(m.pt)) return 'wrong_plaintext';
				return out;
			});
		});
		for (const d of t.deliveries) {
			if (d.kind === 'tamper') stats.tampers++;
			else if (d.kind === 'dup') stats.dups++;
			else stats.genuine++;
		}
		outcomes.push(...(await Promise.all(jobs)).map((o, i) => `${ti}.${i}:${o}`));
	}
	return { outcomes, stats };
}

const defaults = { dupWindow: 2, maxBatch: 16, hold: 0, maxHold: 0, drop: 0, tamper: 0, dup: 0, shuffle: false };

function scheduleScenario(label, opt, check2) {
	return async (ctx) => {
		const o = { ...defaults, ...opt(ctx) };
		const sched = makeSchedule(ctx.rng, o);
		const [alice, bob] = await pair(ctx);
		const { stats } = await runSchedule(alice, bob, sched, { strict: true });
		if (check2) check2(stats, o);
		return `${label}: ${o.messages} messages, ${sched.length} turns, ${stats.genuine} delivered, ` +
			`${stats.dups} duplicates, ${stats.tampers} bit flips, max SPQR epoch a=${stats.maxEpoch.a} b=${stats.maxEpoch.b}`;
	};
}

// ---------------------------------------------------------------- bit flips

async function flipsRejected(to, from, type, ct, skip, what) {
	const bits = unb64(ct).length * 8;
	let tried = 0;
	const codes = {};
	const CH = 2000;
	for (let start = 0; start < bits; start += CH) {
		const jobs = [];
		for (let bit = start; bit < Math.min(bits, start + CH); bit++) {
			if (skip && skip(bit)) continue;
			tried++;
			jobs.push(decryptRaw(to, from, type, flipBit(ct, bit)).then((r) => {
				if (r.ok) throw new ScenarioError(`${to}: ${what} with bit ${bit} flipped was accepted`);
				codes[r.error] = (codes[r.error] ?? 0) + 1;
			}));
		}
		await Promise.all(jobs);
	}
	return { tried, codes };
}

// Bits of a PreKeySignalMessage that are not tried: libsignal does not authenticate the low
// nibble of the version byte (ignored) nor the registration id field (5, tag included), so
// flipping them is accepted. With stride s > 1 (quick runs), in the 1569-byte Kyber
// ciphertext (field 8) only byte k's bit (k mod s) is tried when k mod s < 8: every bit
// position still occurs, at 1/s of the cost.
function preKeySkip(ct, stride) {
	const b = unb64(ct);
	const ranges = [[0, 4]];
	let kyber = null;
	for (const f of protoFields(b.subarray(1))) {
		if (f.field === 5) ranges.push([(1 + f.start) * 8, (1 + f.end) * 8]);
		if (f.field === 8) kyber = [(1 + f.end - f.value.length) * 8, (1 + f.end) * 8];
	}
	return (bit) => {
		if (ranges.some(([lo, hi]) => bit >= lo && bit < hi)) return true;
		if (stride > 1 && kyber && bit >= kyber[0] && bit < kyber[1]) return (bit >> 3) % stride !== (bit & 7);
		return false;
	};
}

async function bitflips(ctx) {
	const rng = ctx.rng;
	const [alice, bob] = await pair(ctx);
	await initiate(alice, bob, true);
	const report = [];
	const fmt = (r) => `${r.tried} flips (${Object.entries(r.codes).map(([k, v]) => `${k} ${v}`).join(', ')})`;
	// 1. The first PreKey message.
	const m1 = await encrypt(alice, bob, rng.plaintext());
	report.push(`PreKey ${fmt(await flipsRejected(bob, alice, 3, m1.ct, preKeySkip(m1.ct, ctx.params.preKeyFlipStride ?? 1), 'PreKey message'))}`);
	await deliver(m1, 'genuine PreKey message after flips');
	// 2. The first reply (a SignalMessage that performs a DH ratchet step at the receiver).
	const r1 = await encrypt(bob, alice, rng.plaintext());
	report.push(`reply ${fmt(await flipsRejected(alice, bob, 2, r1.ct, null, 'reply'))}`);
	await deliver(r1, 'genuine reply after flips');
	// 3. A message received out of order (uses a stored skipped key).
	const xs = await sendMany(alice, bob, rng, 3);
	await deliver(xs[2], 'later message');
	report.push(`skipped-key ${fmt(await flipsRejected(bob, alice, 2, xs[0].ct, null, 'out-of-order message'))}`);
	await deliverAll([xs[0], xs[1]], 'out-of-order message');
	// 4. A message in the middle of a longer conversation.
	for (let i = 0; i < 10; i++) {
		const [s, r] = i % 2 ? [alice, bob] : [bob, alice];
		await deliverAll(await sendMany(s, r, rng, rng.range(1, 4)));
	}
	const mid = await encrypt(bob, alice, rng.bytes(60));
	report.push(`mid ${fmt(await flipsRejected(alice, bob, 2, mid.ct, null, 'message'))}`);
	await deliver(mid, 'genuine message after flips');
	// 5. A sender-key group message.
	const dist = rng.uuid();
	const skdm = await alice.drv.ok({ op: 'skdm_create', party: alice.name, distribution_id: dist });
	await bob.drv.ok({ op: 'skdm_process', party: bob.name, sender: alice.name, sender_device: alice.device, skdm: skdm.skdm });
	const pt = rng.bytes(50);
	const g = await alice.drv.ok({ op: 'group_encrypt', party: alice.name, distribution_id: dist, plaintext: b64(pt) });
	const bits = unb64(g.ciphertext).length * 8;
	const codes = {};
	const jobs = [];
	for (let bit = 0; bit < bits; bit++) {
		jobs.push(bob.drv.call({ op: 'group_decrypt', party: bob.name, sender: alice.name, sender_device: alice.device,
			ciphertext: flipBit(g.ciphertext, bit) }).then((r) => {
			if (r.ok) throw new ScenarioError(`${bob}: group message with bit ${bit} flipped was accepted`);
			codes[r.error] = (codes[r.error] ?? 0) + 1;
		}));
	}
	await Promise.all(jobs);
	report.push(`group ${fmt({ tried: bits, codes })}`);
	const gr = await bob.drv.ok({ op: 'group_decrypt', party: bob.name, sender: alice.name, sender_device: alice.device,
		ciphertext: g.ciphertext });
	check(unb64(gr.plaintext).equals(pt), 'group message after flips: wrong plaintext');
	return report.join('; ');
}

// ---------------------------------------------------------------- identity change

async function identityChange(ctx) {
	const rng = ctx.rng;
	const [alice, bob] = await pair(ctx);
	await handshake(alice, bob, rng);
	const oldLate = await encrypt(bob, alice, rng.plaintext()); // delivered at the very end
	// Bob reinstalls: a new party with the same name in a new instance of driver B.
	const bob2 = await createParty(ctx.spawn('B'), 'bob', 1);
	check(bob2.ik !== bob.ik, 'new identity key');
	const b2 = await bundle(bob2);
	await alice.drv.err({ op: 'process_bundle', party: alice.name, peer: 'bob', peer_device: 1, bundle: b2 },
		'untrusted_identity', 'process_bundle with a changed identity');
	// New Bob starts a session with Alice; Alice refuses it, and nothing changes for her.
	await initiate(bob2, alice);
	const n1 = await encrypt(bob2, alice, rng.plaintext());
	check(n1.type === 3, 'new bob sends PreKey');
	await alice.drv.err({ op: 'decrypt', party: alice.name, peer: 'bob', peer_device: 1, type: 3, ciphertext: n1.ct },
		'untrusted_identity', 'decrypt from changed identity');
	const still = await encrypt(alice, bob, rng.plaintext());
	check(still.type === 2, 'old session still current');
	await deliver(still, 'message on the old session after the refusal');
	// Alice accepts the new key.
	await alice.drv.ok({ op: 'trust', party: alice.name, peer: 'bob', identity_key: bob2.ik });
	await deliver(n1, 'PreKey message from new bob after trust');
	const to2 = await encrypt(alice, bob2, rng.plaintext());
	check(to2.type === 2, 'alice answers new bob on the new session');
	await deliver(to2, 'answer to new bob');
	await deliverAll(await sendMany(bob2, alice, rng, 5), 'new bob message');
	// The old Bob's late message decrypts with the archived state, but its identity is no
	// longer trusted.
	await alice.drv.err({ op: 'decrypt', party: alice.name, peer: 'bob', peer_device: 1, type: oldLate.type,
		ciphertext: oldLate.ct }, 'untrusted_identity', 'late message from the old identity');
	await alice.drv.ok({ op: 'process_bundle', party: alice.name, peer: 'bob', peer_device: 1, bundle: await bundle(bob2) });
	const again = await encrypt(alice, bob2, rng.plaintext());
	await deliver(again, 'PreKey message after re-processing new bob bundle');
	return 'changed identity refused until trust, old session untouched';
}

// ---------------------------------------------------------------- re-initiation

async function reinit(ctx) {
	const rng = ctx.rng;
	const [alice, bob] = await pair(ctx);
	await handshake(alice, bob, rng);
	for (let i = 0; i < 6; i++) {
		const [s, r] = i % 2 ? [bob, alice] : [alice, bob];
		await deliverAll(await sendMany(s, r, rng, rng.range(1, 5)));
	}
	const lateA = await sendMany(alice, bob, rng, 3); // old session, delivered late
	const lateB = await sendMany(bob, alice, rng, 2); // old session, delivered late
	await deliver(lateA[0], 'old-session message before re-init');
	// Alice starts over with a new bundle of Bob's (e.g. after losing her session).
	await initiate(alice, bob, rng.chance(0.5));
	const fresh = await sendMany(alice, bob, rng, 2);
	check(fresh.every((m) => m.type === 3), 'messages of the new session are PreKey messages');
	await deliverAll(fresh, 'new-session message');
	await deliver(lateA[2], 'late old-session message 2');
	await deliver(lateA[1], 'late old-session message 1');
	const rep = await encrypt(bob, alice, rng.plaintext());
	await deliver(rep, 'reply on the new session');
	await deliverAll(lateB, 'late old-session message from bob');
	// Whatever session the late messages promoted, the conversation must go on.
	for (let i = 0; i < 8; i++) {
		const [s, r] = i % 2 ? [bob, alice] : [alice, bob];
		await deliverAll(await sendMany(s, r, rng, rng.range(1, 4)), `round ${i}`);
	}
	return 'new session accepted, late messages of the old session decrypted, conversation continued';
}

// ---------------------------------------------------------------- simultaneous initiation

async function simultaneous(ctx) {
	const rng = ctx.rng;
	const [alice, bob] = await pair(ctx);
	const ba = await bundle(alice);
	const bb = await bundle(bob);
	await alice.drv.ok({ op: 'process_bundle', party: alice.name, peer: bob.name, peer_device: bob.device, bundle: bb });
	await bob.drv.ok({ op: 'process_bundle', party: bob.name, peer: alice.name, peer_device: alice.device, bundle: ba });
	const [ma, mb] = await Promise.all([sendMany(alice, bob, rng, 2), sendMany(bob, alice, rng, 2)]);
	check([...ma, ...mb].every((m) => m.type === 3), 'both send PreKey messages');
	await Promise.all([deliverAll(ma, 'alice PreKey'), deliverAll(mb, 'bob PreKey')]);
	// Each side's current session is now the one the peer started. One more crossing round,
	// then turns: every message must decrypt and both sides settle on one session.
	const [ca, cb] = await Promise.all([encrypt(alice, bob, rng.plaintext()), encrypt(bob, alice, rng.plaintext())]);
	const types = [ca.type, cb.type];
	await Promise.all([deliver(ca, 'crossing a'), deliver(cb, 'crossing b')]);
	for (let i = 0; i < 10; i++) {
		const [s, r] = i % 2 ? [bob, alice] : [alice, bob];
		const ms = await sendMany(s, r, rng, rng.range(1, 3));
		check(ms.every((m) => m.type === 2), `round ${i}: expected SignalMessages after convergence`);
		await deliverAll(ms, `round ${i}`);
	}
	check(await hasSession(alice, bob) && await hasSession(bob, alice), 'both have sessions');
	return `both PreKey messages accepted; crossing replies had types ${types.join('/')}; converged`;
}

// ---------------------------------------------------------------- one-sided

async function oneSided(ctx) {
	const rng = ctx.rng;
	const n = ctx.params.oneSided;
	const [alice, bob] = await pair(ctx);
	await initiate(alice, bob);
	const ms = await sendMany(alice, bob, rng, n);
	check(ms.every((m) => m.type === 3), 'unanswered messages are PreKey messages');
	await deliverAll(ms, 'one-sided message');
	const rep = await sendMany(bob, alice, rng, 5);
	await deliverAll(rep, 'reply');
	// And the other way round, delivered shuffled.
	const ms2 = rng.shuffle(await sendMany(bob, alice, rng, n));
	await deliverAll(ms2, 'shuffled one-sided message');
	await deliverAll(await sendMany(alice, bob, rng, 5), 'reply 2');
	return `${n} unanswered PreKey messages, then ${n} shuffled SignalMessages`;
}

// ---------------------------------------------------------------- forward jump

async function forwardJump(ctx) {
	const rng = ctx.rng;
	const LIMIT = 25000;
	const [alice, bob] = await pair(ctx);
	await initiate(alice, bob);
	const m1 = await encrypt(alice, bob, rng.plaintext());
	await deliver(m1, 'first message');
	await deliver(await encrypt(bob, alice, rng.plaintext()), 'reply');
	// Alice's next chain starts at counter 0 and Bob has no receiving chain for it yet. The
	// SPQR chain of the same epoch goes on from the first message, so each message carries
	// a double-ratchet counter c and an SPQR index c + off; Bob has seen SPQR index
	// `spqrSeen`. libsignal checks both jumps against 25000 (double ratchet first).
	const h1 = spqrHeader(3, m1.ct);
	const all = [];
	const CH = 2000;
	for (let start = 0; start <= LIMIT + 2; start += CH) {
		const jobs = [];
		for (let i = start; i < Math.min(LIMIT + 3, start + CH); i++) jobs.push(encrypt(alice, bob, rng.plaintext(8)));
		all.push(...(await Promise.all(jobs)));
	}
	const hs = [0, 100, LIMIT].map((c) => spqrHeader(2, all[c].ct));
	check(hs.every((h) => h && h.epoch === h1.epoch), 'one-sided messages stayed in the SPQR epoch of the first message');
	const off = hs[0].index;
	check(hs[1].index === 100 + off && hs[2].index === LIMIT + off, 'SPQR index is the counter plus a constant');
	check([0, 100, LIMIT].every((c) => counterOf(2, all[c].ct) === c), 'double-ratchet counters');
	const spqrSeen = h1.index;
	let top = 0; // the largest counter Bob accepts first
	while (top + 1 <= LIMIT && top + 1 + off - spqrSeen <= LIMIT) top++;
	const d = (c) => decryptRaw(bob, alice, 2, all[c].ct);
	const expectErr = async (c, code, why) => {
		const r = await d(c);
		check(!r.ok && r.error === code, `counter ${c} (${why}): expected ${code}, got ${r.ok ? 'ok' : `${r.error}: ${r.message}`}`);
	};
	await expectErr(top + 2, 'invalid_message', 'too far ahead');
	await expectErr(top + 1, 'invalid_message', 'one beyond the limit');
	await deliver(all[top], `message ${top} (exactly at the limit)`);
	await deliver(all[top + 2], `message ${top + 2}`);
	await deliver(all[top + 1], `message ${top + 1}`);
	await deliver(all[top - 1], `message ${top - 1}`);
	await deliver(all[top - 1500], `message ${top - 1500}`);
	// Only the 2000 newest skipped keys are kept.
	for (const c of [top - 2500, 100, 0]) await expectErr(c, 'duplicate_message', 'skipped key no longer kept');
	await deliverAll(await sendMany(bob, alice, rng, 3), 'reply after the jump');
	await deliverAll(await sendMany(alice, bob, rng, 3), 'message after the jump');
	return `${LIMIT + 3} messages; SPQR index = counter + ${off}, seen ${spqrSeen}: counter ${top} accepted first, ` +
		`${top + 1} rejected (invalid_message); skipped keys beyond 2000 gone (duplicate_message)`;
}

// ---------------------------------------------------------------- differential

async function differential(ctx) {
	const o = { ...defaults, messages: ctx.params.differential, maxBatch: 12, hold: 0.15, maxHold: 3, drop: 0.05,
		tamper: 0.05, dup: 0.2, dupWindow: 1000, shuffle: true };
	const seed = ctx.rng.u32();
	const run = async (da, db) => {
		const sched = makeSchedule(new Rng(seed), o);
		const a = await createParty(da, 'alice', 1);
		const b = await createParty(db, 'bob', 1);
		return runSchedule(a, b, sched, { strict: false });
	};
	const [x, y] = await Promise.all([run(ctx.spawn('A'), ctx.spawn('B')), run(ctx.spawn('ref'), ctx.spawn('ref'))]);
	check(x.outcomes.length === y.outcomes.length, 'different number of deliveries');
	const diffs = [];
	for (let i = 0; i < x.outcomes.length; i++) if (x.outcomes[i] !== y.outcomes[i]) diffs.push(`${x.outcomes[i]} vs ${y.outcomes[i]}`);
	check(diffs.length === 0, `${diffs.length} outcomes differ from libsignal-libsignal, first: ${diffs.slice(0, 5).join('; ')}`);
	const tally = {};
	for (const s of x.outcomes) {
		const k = s.split(':')[1];
		tally[k] = (tally[k] ?? 0) + 1;
	}
	return `${x.outcomes.length} deliveries identical to libsignal-libsignal (${Object.entries(tally).map(([k, v]) => `${k} ${v}`).join(', ')})`;
}

// ---------------------------------------------------------------- basics

async function basics(ctx) {
	const rng = ctx.rng;
	const [alice, bob] = await pair(ctx);
	for (const d of [alice.drv, bob.drv]) {
		let r = await d.callRaw('this is not json');
		check(!r.ok && r.error === 'invalid_argument', `${d.label}: bad JSON -> ${r.error}`);
		r = await d.call({ op: 'no_such_op' });
		check(!r.ok && r.error === 'invalid_argument', `${d.label}: unknown op -> ${r.error}`);
		r = await d.call({ op: 'identity', party: 'nobody' });
		check(!r.ok && r.error === 'invalid_argument', `${d.label}: unknown party -> ${r.error}`);
		r = await d.call({ op: 'sign', party: d === alice.drv ? 'alice' : 'bob' });
		check(!r.ok && r.error === 'invalid_argument', `${d.label}: missing field -> ${r.error}`);
		r = await d.call({ op: 'verify', public_key: b64(Buffer.alloc(33, 7)), message: '', signature: b64(Buffer.alloc(64)) });
		check(!r.ok && r.error === 'invalid_key', `${d.label}: bad public key -> ${r.error}`);
		// id is echoed whatever its JSON type
		for (const id of ['x', 7, { a: [1] }, null]) {
			const raw = await d.callRaw(JSON.stringify({ op: 'nope', id }), id);
			check(JSON.stringify(raw.id) === JSON.stringify(id), `${d.label}: id ${JSON.stringify(id)} not echoed`);
		}
	}
	// identity
	for (const p of [alice, bob]) {
		const r = await p.drv.ok({ op: 'identity', party: p.name });
		check(r.identity_key === p.ik && r.registration_id === p.reg, `${p}: identity differs from create_party`);
	}
	// sign in one driver, verify in the other
	for (const [s, v] of [[alice, bob], [bob, alice]]) {
		for (let i = 0; i < 20; i++) {
			const msg = rng.plaintext(200);
			const sig = (await s.drv.ok({ op: 'sign', party: s.name, message: b64(msg) })).signature;
			check(unb64(sig).length === 64, 'signature length');
			let r = await v.drv.ok({ op: 'verify', public_key: s.ik, message: b64(msg), signature: sig });
			check(r.valid === true, `${v.drv.label}: valid signature from ${s.drv.label} rejected`);
			r = await v.drv.ok({ op: 'verify', public_key: s.ik, message: b64(msg), signature: flipBit(sig, rng.int(512)) });
			check(r.valid === false, `${v.drv.label}: tampered signature accepted`);
			const other = Buffer.concat([msg, Buffer.from([1])]);
			r = await v.drv.ok({ op: 'verify', public_key: s.ik, message: b64(other), signature: sig });
			check(r.valid === false, `${v.drv.label}: signature on another message accepted`);
		}
	}
	// decrypt without session; encrypt without session
	await bob.drv.err({ op: 'decrypt', party: 'bob', peer: 'alice', peer_device: 1, type: 2, ciphertext: b64(rng.bytes(80)) },
		null, 'decrypt garbage without session');
	await alice.drv.err({ op: 'encrypt', party: 'alice', peer: 'bob', peer_device: 1, plaintext: '' }, 'no_session');
	// bundles with bad signatures / keys
	const bb = await bundle(bob);
	const badSig = { ...bb, signed_prekey_signature: flipBit(bb.signed_prekey_signature, 9) };
	await alice.drv.err({ op: 'process_bundle', party: 'alice', peer: 'bob', peer_device: 1, bundle: badSig }, 'invalid_signature',
		'bundle with bad signed prekey signature');
	const badKyberSig = { ...bb, kyber_prekey_signature: bb.signed_prekey_signature };
	await alice.drv.err({ op: 'process_bundle', party: 'alice', peer: 'bob', peer_device: 1, bundle: badKyberSig }, 'invalid_signature',
		'bundle with bad Kyber prekey signature');
	const badKey = { ...bb, signed_prekey: b64(Buffer.concat([Buffer.from([9]), unb64(bb.signed_prekey).subarray(1)])) };
	await alice.drv.err({ op: 'process_bundle', party: 'alice', peer: 'bob', peer_device: 1, bundle: badKey }, 'invalid_key',
		'bundle with unparsable key');
	check(!(await hasSession(alice, bob)), 'failed process_bundle created a session');
	await alice.drv.ok({ op: 'process_bundle', party: 'alice', peer: 'bob', peer_device: 1, bundle: bb });
	// malformed ciphertexts
	const m = await encrypt(alice, bob, Buffer.alloc(0));
	await bob.drv.err({ op: 'decrypt', party: 'bob', peer: 'alice', peer_device: 1, type: 3, ciphertext: b64(unb64(m.ct).subarray(0, 40)) },
		'invalid_message', 'truncated PreKey message');
	await bob.drv.err({ op: 'decrypt', party: 'bob', peer: 'alice', peer_device: 1, type: 2, ciphertext: m.ct },
		null, 'PreKey message decrypted as type 2');
	await deliver(m, 'empty plaintext');
	const r = await encrypt(bob, alice, Buffer.alloc(0));
	await deliver(r, 'empty reply');
	await bob.drv.err({ op: 'create_party', party: 'bob', device_id: 1 }, 'invalid_argument', 'duplicate party name');
	await bob.drv.err({ op: 'create_party', party: 'zed', device_id: 128 }, 'invalid_argument', 'device id 128');
	return 'errors, id echo, identity, sign/verify across drivers, bundle checks, empty plaintexts';
}

export const sessionScenarios = [
	['basics', basics],
	['init-a2b-prekey', initiation('a2b', true, false)],
	['init-a2b-no-prekey', initiation('a2b', false, false)],
	['init-b2a-prekey', initiation('b2a', true, false)],
	['init-b2a-no-prekey', initiation('b2a', false, false)],
	['init-a2b-serviceid', initiation('a2b', true, true)],
	['init-b2a-serviceid', initiation('b2a', false, true)],
	['long-conversation', scheduleScenario('in order', (ctx) => ({ messages: ctx.params.messages, maxBatch: 24 }),
		(s, o) => {
			const need = o.messages >= 1000 ? 4 : 2;
			check(s.maxEpoch.a >= need && s.maxEpoch.b >= need,
				`SPQR epochs did not advance enough (a=${s.maxEpoch.a}, b=${s.maxEpoch.b}, need ${need})`);
		})],
	['reorder-drop', scheduleScenario('reordered, held back, dropped', (ctx) => ({ messages: ctx.params.reorder,
		maxBatch: 12, hold: 0.2, maxHold: 3, drop: 0.1, shuffle: true }))],
	['duplicates', scheduleScenario('with duplicates', (ctx) => ({ messages: ctx.params.reorder, maxBatch: 8,
		dup: 0.5, hold: 0.1, maxHold: 2, shuffle: true }))],
	['bit-flips', bitflips],
	['identity-change', identityChange],
	['reinit', reinit],
	['simultaneous-init', simultaneous],
	['one-sided', oneSided],
	['forward-jump', forwardJump],
	['differential', differential],
];
