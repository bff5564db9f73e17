// Shared pieces of the interop scenarios: a pipelined driver client, a seeded PRNG,
// parties, assertions and a few wire parsers. Node built-ins only.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';

export const CODES = new Set(['invalid_argument', 'invalid_key', 'invalid_signature', 'invalid_message',
	'duplicate_message', 'no_session', 'invalid_key_id', 'untrusted_identity', 'invalid_certificate',
	'internal']);

export class ScenarioError extends Error {}

export function check(cond, msg) {
	if (!cond) throw new ScenarioError(msg);
}

// ---------------------------------------------------------------- PRNG

// xoshiro128** seeded through splitmix32: fast, well distributed and reproducible.
export class Rng {
	constructor(seed) {
		let s = seed >>> 0;
		const sm = () => {
			s = (s + 0x9e3779b9) >>> 0;
			let z = s;
			z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
			z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
			return (z ^ (z >>> 16)) >>> 0;
		};
		this.s = [sm(), sm(), sm(), sm()];
		if (this.s.every((x) => x === 0)) this.s[0] = 1;
	}
	static derive(seed, label) {
		const h = createHash('sha256').update(`${seed >>> 0}:${label}`).digest();
		return new Rng(h.readUInt32LE(0));
	}
	u32() {
		const s = this.s;
		const r = Math.imul(((Math.imul(s[1], 5) << 7) | (Math.imul(s[1], 5) >>> 25)), 9) >>> 0;
		const t = s[1] << 9;
		s[2] ^= s[0];
		s[3] ^= s[1];
		s[1] ^= s[2];
		s[0] ^= s[3];
		s[2] ^= t;
		s[3] = (s[3] << 11) | (s[3] >>> 21);
		return r;
	}
	float() {
		return this.u32() / 4294967296;
	}
	int(n) { // 0 <= x < n
		return Math.floor(this.float() * n);
	}
	range(lo, hi) { // lo <= x <= hi
		return lo + this.int(hi - lo + 1);
	}
	chance(p) {
		return this.float() < p;
	}
	pick(arr) {
		return arr[this.int(arr.length)];
	}
	bytes(n) {
		const b = Buffer.alloc(n);
		for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
		return b;
	}
	shuffle(arr) {
		for (let i = arr.length - 1; i > 0; i--) {
			const j = this.int(i + 1);
			[arr[i], arr[j]] = [arr[j], arr[i]];
		}
		return arr;
	}
	uuid() {
		const b = this.bytes(16);
		b[6] = (b[6] & 0x0f) | 0x40;
		b[8] = (b[8] & 0x3f) | 0x80;
		const h = b.toString('hex');
		return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
	}
	plaintext(max = 64) {
		// Empty plaintexts are part of the contract, so they show up now and then.
		return this.chance(0.05) ? Buffer.alloc(0) : this.bytes(this.range(1, max));
	}
}

// ---------------------------------------------------------------- driver client

// Speaks the driver protocol to a child process. Requests are written without waiting for
// answers (pipelining); answers are matched to requests in order and by echoed id.
export class Driver {
	constructor(cmd, label) {
		this.cmd = cmd;
		this.label = label;
		// Own process group, so that a failed scenario can kill the shell and the driver.
		this.proc = spawn(cmd, { shell: true, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
		this.pending = [];
		this.nextId = 1;
		this.outBuf = [];
		this.flushQueued = false;
		this.inBuf = '';
		this.stderr = '';
		this.dead = null;
		this.proc.stdout.setEncoding('utf8');
		this.proc.stdout.on('data', (d) => this.onData(d));
		this.proc.stderr.setEncoding('utf8');
		this.proc.stderr.on('data', (d) => {
			this.stderr = (this.stderr + d).slice(-4000);
		});
		this.exited = new Promise((resolve) => {
			this.proc.on('exit', (code, signal) => {
				this.exitCode = code;
				this.exitSignal = signal;
				this.kill(`driver ${label} exited (code ${code}, signal ${signal})`);
				resolve(code);
			});
			this.proc.on('error', (e) => {
				this.kill(`driver ${label} could not run: ${e.message}`);
				resolve(-1);
			});
		});
		this.proc.stdin.on('error', () => {});
	}
	kill(reason) {
		if (!this.dead) this.dead = reason;
		const p = this.pending;
		this.pending = [];
		const tail = this.stderr ? `; stderr: ${this.stderr.slice(-500)}` : '';
		for (const w of p) w.reject(new ScenarioError(`${this.dead}${tail}`));
	}
	onData(d) {
		this.inBuf += d;
		let nl;
		while ((nl = this.inBuf.indexOf('\n')) >= 0) {
			const line = this.inBuf.slice(0, nl);
			this.inBuf = this.inBuf.slice(nl + 1);
			const w = this.pending.shift();
			if (!w) {
				this.kill(`driver ${this.label} wrote an unrequested line: ${line.slice(0, 200)}`);
				return;
			}
			let resp;
			try {
				resp = JSON.parse(line);
			} catch {
				this.pending.unshift(w);
				this.kill(`driver ${this.label} wrote a non-JSON line on stdout: ${line.slice(0, 200)}`);
				return;
			}
			if (resp === null || typeof resp !== 'object' || JSON.stringify(resp.id) !== JSON.stringify(w.id) || typeof resp.ok !== 'boolean') {
				this.pending.unshift(w);
				this.kill(`driver ${this.label}: answer out of protocol for request ${w.id} (${w.op}): ${line.slice(0, 200)}`);
				return;
			}
			if (!resp.ok && !CODES.has(resp.error)) {
				this.pending.unshift(w);
				this.kill(`driver ${this.label}: unknown error code ${JSON.stringify(resp.error)} for ${w.op}`);
				return;
			}
			w.resolve(resp);
		}
	}
	// Send one request; resolves with the answer object (ok or not).
	call(req) {
		if (this.dead) return Promise.reject(new ScenarioError(this.dead));
		const id = this.nextId++;
		const line = JSON.stringify({ ...req, id }) + '\n';
		return new Promise((resolve, reject) => {
			this.pending.push({ id, op: req.op, resolve, reject });
			this.outBuf.push(line);
			if (!this.flushQueued) {
				this.flushQueued = true;
				setImmediate(() => this.flush());
			}
		});
	}
	// Send raw text (for malformed-input checks); one answer is expected per line.
	callRaw(text, expectId = null) {
		if (this.dead) return Promise.reject(new ScenarioError(this.dead));
		return new Promise((resolve, reject) => {
			this.pending.push({ id: expectId, op: 'raw', resolve, reject });
			this.outBuf.push(text + '\n');
			if (!this.flushQueued) {
				this.flushQueued = true;
				setImmediate(() => this.flush());
			}
		});
	}
	flush() {
		this.flushQueued = false;
		if (!this.outBuf.length || this.dead) return;
		const s = this.outBuf.join('');
		this.outBuf = [];
		this.proc.stdin.write(s);
	}
	// Like call() but the op must succeed.
	async ok(req, what = req.op) {
		const r = await this.call(req);
		if (!r.ok) throw new ScenarioError(`${this.label}: ${what} failed: ${r.error}: ${r.message}`);
		return r;
	}
	// The op must fail with `code` (or with any code when `code` is null).
	async err(req, code, what = req.op) {
		const r = await this.call(req);
		if (r.ok) throw new ScenarioError(`${this.label}: ${what} succeeded, expected ${code ?? 'an error'}`);
		if (code !== null && r.error !== code)
			throw new ScenarioError(`${this.label}: ${what} failed with ${r.error} (${r.message}), expected ${code}`);
		return r;
	}
	// Close stdin; the driver must then exit with status 0.
	async close(timeoutMs = 20000) {
		this.flush();
		if (this.exitCode === undefined) this.proc.stdin.end();
		const t = setTimeout(() => this.terminate(), timeoutMs);
		const code = await this.exited;
		clearTimeout(t);
		if (this.pending.length) this.kill('closed with requests outstanding');
		return code;
	}
	terminate() {
		if (this.exitCode !== undefined) return;
		try {
			process.kill(-this.proc.pid, 'SIGKILL');
		} catch {
			this.proc.kill('SIGKILL');
		}
	}
}

// ---------------------------------------------------------------- parties and messages

export const b64 = (b) => Buffer.from(b).toString('base64');
export const unb64 = (s) => Buffer.from(s, 'base64');

export class Party {
	constructor(drv, name, device, info) {
		this.drv = drv;
		this.name = name;
		this.device = device;
		this.ik = info.identity_key;
		this.reg = info.registration_id;
		this.nextKeyId = 1;
	}
	toString() {
		return `${this.name}@${this.drv.label}`;
	}
}

export async function createParty(drv, name, device = 1) {
	const r = await drv.ok({ op: 'create_party', party: name, device_id: device });
	check(typeof r.identity_key === 'string' && unb64(r.identity_key).length === 33 && unb64(r.identity_key)[0] === 5,
		`${drv.label}: create_party returned a bad identity key`);
	check(Number.isInteger(r.registration_id), `${drv.label}: create_party returned no registration id`);
	return new Party(drv, name, device, r);
}

export async function bundle(p, withPreKey = true) {
	const id = p.nextKeyId++;
	const r = await p.drv.ok({
		op: 'generate_bundle', party: p.name, prekey_id: withPreKey ? 1000 + id : null,
		signed_prekey_id: 2000 + id, kyber_prekey_id: 3000 + id,
	});
	return r.bundle;
}

// `from` processes a fresh bundle of `to`.
export async function initiate(from, to, withPreKey = true) {
	const b = await bundle(to, withPreKey);
	await from.drv.ok({ op: 'process_bundle', party: from.name, peer: to.name, peer_device: to.device, bundle: b });
	return b;
}

export function encrypt(from, to, pt) {
	return from.drv.call({ op: 'encrypt', party: from.name, peer: to.name, peer_device: to.device, plaintext: b64(pt) })
		.then((r) => {
			if (!r.ok) throw new ScenarioError(`${from}: encrypt to ${to.name} failed: ${r.error}: ${r.message}`);
			check(r.type === 2 || r.type === 3, `${from}: encrypt returned type ${r.type}`);
			return { type: r.type, ct: r.ciphertext, pt: Buffer.from(pt), from, to };
		});
}

export function decryptRaw(to, from, type, ct) {
	return to.drv.call({ op: 'decrypt', party: to.name, peer: from.name, peer_device: from.device, type, ciphertext: ct });
}

// Deliver a message that must decrypt to its plaintext.
export async function deliver(msg, what = 'message') {
	const r = await decryptRaw(msg.to, msg.from, msg.type, msg.ct);
	if (!r.ok) throw new ScenarioError(`${msg.to}: decrypt of ${what} from ${msg.from.name} failed: ${r.error}: ${r.message}`);
	check(unb64(r.plaintext).equals(msg.pt), `${msg.to}: ${what} from ${msg.from.name} decrypted to wrong plaintext`);
	return r;
}

export async function deliverAll(msgs, what = 'message') {
	return Promise.all(msgs.map((m, i) => deliver(m, `${what} ${i}`)));
}

export async function sendMany(from, to, rng, n, max = 64) {
	const ps = [];
	for (let i = 0; i < n; i++) ps.push(encrypt(from, to, rng.plaintext(max)));
	return Promise.all(ps);
}

export async function hasSession(p, peer) {
	const r = await p.drv.ok({ op: 'has_session', party: p.name, peer: peer.name, peer_device: peer.device });
	return r.session;
}

// One message each way, so both sides have acknowledged the session.
export async function handshake(a, b, rng, withPreKey = true) {
	await initiate(a, b, withPreKey);
	const m1 = await encrypt(a, b, rng.plaintext());
	check(m1.type === 3, `${a}: first message has type ${m1.type}, expected 3`);
	await deliver(m1, 'first message');
	const r1 = await encrypt(b, a, rng.plaintext());
	check(r1.type === 2, `${b}: reply has type ${r1.type}, expected 2`);
	await deliver(r1, 'first reply');
}

export function flipBit(b64s, bit) {
	const b = unb64(b64s);
	b[bit >> 3] ^= 1 << (bit & 7);
	return b64(b);
}

// ---------------------------------------------------------------- wire parsing (for checks only)

function varint(buf, pos) {
	let r = 0;
	let mul = 1;
	for (;;) {
		if (pos >= buf.length) throw new Error('truncated varint');
		const x = buf[pos++];
		r += (x & 0x7f) * mul;
		mul *= 128;
		if (!(x & 0x80)) return [r, pos];
	}
}

// Fields of a protobuf message: [{field, wt, start, end, value}] where start..end covers
// the tag and the value.
export function protoFields(buf) {
	const out = [];
	let p = 0;
	while (p < buf.length) {
		const start = p;
		let key;
		[key, p] = varint(buf, p);
		const f = Math.floor(key / 8);
		const wt = key & 7;
		let v;
		if (wt === 0) [v, p] = varint(buf, p);
		else if (wt === 2) {
			let l;
			[l, p] = varint(buf, p);
			v = buf.subarray(p, p + l);
			p += l;
		} else if (wt === 1) {
			v = buf.subarray(p, p + 8);
			p += 8;
		} else if (wt === 5) {
			v = buf.subarray(p, p + 4);
			p += 4;
		} else throw new Error(`wire type ${wt}`);
		out.push({ field: f, wt, start, end: p, value: v });
	}
	return out;
}

// SPQR header of a SignalMessage (type 2) or of the SignalMessage inside a PreKey message.
export function spqrHeader(type, ctB64) {
	let b = unb64(ctB64);
	if (type === 3) {
		const f = protoFields(b.subarray(1)).find((x) => x.field === 4);
		if (!f) return null;
		b = Buffer.from(f.value);
	}
	const f5 = protoFields(b.subarray(1, b.length - 8)).find((x) => x.field === 5);
	if (!f5 || f5.value.length < 4 || f5.value[0] !== 1) return null;
	const [epoch, p1] = varint(f5.value, 1);
	const [index] = varint(f5.value, p1);
	return { epoch, index };
}

export function counterOf(type, ctB64) {
	let b = unb64(ctB64);
	if (type === 3) {
		const f = protoFields(b.subarray(1)).find((x) => x.field === 4);
		b = Buffer.from(f.value);
	}
	const f2 = protoFields(b.subarray(1, b.length - 8)).find((x) => x.field === 2);
	return f2 ? f2.value : 0;
}
