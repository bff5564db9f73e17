#!/usr/bin/env node
// Runs the interop scenarios between two drivers that speak the driver protocol
// (docs/DRIVER.md; sealed_* and other extensions in tests/interop/README.md).
//
//   node scenario-runner.mjs --a "node libsignal-driver.mjs" --b "../../build/bin/sotto-driver" \
//        [--seed N] [--only name,name] [--list] [--messages 2000] [--group 1000] [--quick]
//
// Party "alice" lives in driver A and "bob" in driver B; group members alternate between
// the two. Every scenario gets its own fresh driver processes and its own PRNG derived from
// (seed, scenario name), so a single scenario can be rerun alone with the same seed.

import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Driver, Rng } from './scenarios/lib.mjs';
import { sessionScenarios } from './scenarios/session.mjs';
import { groupScenarios } from './scenarios/group.mjs';
import { sealedScenarios } from './scenarios/sealed.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const LIBSIGNAL_DRIVER = `"${process.execPath}" "${path.join(HERE, 'libsignal-driver.mjs')}"`;

// After a scenario fails, answers to its other pipelined requests are rejected when its
// drivers are killed; they must not end the whole run.
process.on('unhandledRejection', (e) => {
	if (process.env.SOTTO_RUNNER_DEBUG) process.stderr.write(`(ignored after failure) ${e && e.message}\n`);
});

export const SCENARIOS = [...sessionScenarios, ...groupScenarios, ...sealedScenarios];

// Message counts from the issue; `quick` scales the long ones down.
export const FULL_PARAMS = { messages: 2000, reorder: 600, oneSided: 500, group: 1000, fingerprints: 100, differential: 600, preKeyFlipStride: 1 };
export const QUICK_PARAMS = { ...FULL_PARAMS, preKeyFlipStride: 8 };

// Runs one scenario; resolves {name, ok, detail, ms}.
export async function runScenario(name, fn, { a, b, ref = LIBSIGNAL_DRIVER, seed, params, timeoutS = 300 }) {
	const drivers = [];
	const ctx = {
		rng: Rng.derive(seed, name),
		params,
		spawn(which) {
			const cmd = which === 'A' ? a : which === 'B' ? b : ref;
			const d = new Driver(cmd, `${which}${drivers.filter((x) => x.which === which).length || ''}`);
			d.which = which;
			drivers.push(d);
			return d;
		},
		drvOf(p) {
			return p.drv;
		},
	};
	const t0 = Date.now();
	let ok = true;
	let detail;
	let timer;
	try {
		const limit = new Promise((_, reject) => {
			timer = setTimeout(() => reject(new Error(`timed out after ${timeoutS} s`)), timeoutS * 1000);
		});
		detail = await Promise.race([fn(ctx), limit]);
	} catch (e) {
		ok = false;
		detail = e && e.constructor && e.constructor.name === 'ScenarioError' ? e.message : (e && e.stack) || String(e);
	}
	clearTimeout(timer);
	for (const d of drivers) {
		if (!ok) {
			d.terminate();
			continue;
		}
		const code = await d.close();
		if (code !== 0) {
			ok = false;
			detail = `driver ${d.label} exited with ${code} at end of input${d.stderr ? `: ${d.stderr.slice(-300)}` : ''}`;
		}
	}
	return { name, ok, detail, ms: Date.now() - t0 };
}

export async function runAll({ a, b, ref = LIBSIGNAL_DRIVER, seed, params, only = null, label = '', log = console.log }) {
	const list = SCENARIOS.filter(([n]) => !only || only.includes(n));
	let passed = 0;
	let failed = 0;
	const results = [];
	for (const [name, fn] of list) {
		const r = await runScenario(name, fn, { a, b, ref, seed, params });
		results.push(r);
		if (r.ok) passed++;
		else failed++;
		log(`${r.ok ? 'PASS' : 'FAIL'} ${label}${name} (${(r.ms / 1000).toFixed(1)} s): ${String(r.detail).replace(/\s*\n\s*/g, ' | ')}`);
	}
	return { passed, failed, results };
}

function parseArgs(argv) {
	const o = { a: LIBSIGNAL_DRIVER, b: LIBSIGNAL_DRIVER, ref: LIBSIGNAL_DRIVER, seed: null, only: null, params: { ...FULL_PARAMS } };
	for (let i = 0; i < argv.length; i++) {
		const k = argv[i];
		const v = () => {
			if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
			return argv[++i];
		};
		if (k === '--a') o.a = v();
		else if (k === '--b') o.b = v();
		else if (k === '--ref') o.ref = v();
		else if (k === '--seed') o.seed = Number(v()) >>> 0;
		else if (k === '--only') o.only = v().split(',');
		else if (k === '--quick') o.params = { ...QUICK_PARAMS };
		else if (k === '--list') o.list = true;
		else if (/^--(messages|reorder|oneSided|group|fingerprints|differential)$/.test(k)) o.params[k.slice(2)] = Number(v());
		else if (k === '--help' || k === '-h') o.help = true;
		else throw new Error(`unknown argument ${k}`);
	}
	return o;
}

async function main() {
	let o;
	try {
		o = parseArgs(process.argv.slice(2));
	} catch (e) {
		console.error(e.message);
		process.exit(2);
	}
	if (o.help) {
		console.log('usage: scenario-runner.mjs [--a CMD] [--b CMD] [--ref CMD] [--seed N] [--only a,b] [--list] [--quick]\n' +
			'       [--messages N] [--reorder N] [--oneSided N] [--group N] [--fingerprints N] [--differential N]');
		return;
	}
	if (o.list) {
		for (const [n] of SCENARIOS) console.log(n);
		return;
	}
	if (o.only) {
		const unknown = o.only.filter((n) => !SCENARIOS.some(([m]) => m === n));
		if (unknown.length) {
			console.error(`unknown scenario(s): ${unknown.join(', ')}`);
			process.exit(2);
		}
	}
	const seed = o.seed ?? randomBytes(4).readUInt32LE(0);
	console.log(`seed ${seed} (rerun with --seed ${seed})`);
	console.log(`A: ${o.a}\nB: ${o.b}`);
	const { passed, failed } = await runAll({ ...o, seed });
	console.log(`${passed} passed, ${failed} failed`);
	process.exitCode = failed ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
