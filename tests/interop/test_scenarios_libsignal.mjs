// CTest entry "interop-scenarios_libsignal": runs every interop scenario with the libsignal
// driver in both roles, and, once $SOTTO_BIN/sotto-driver exists, also C-libsignal in both
// roles and C-C. Run from tests/interop (CTest does); needs `npm ci` there first.
//
// Environment: SOTTO_BIN (build/bin), SOTTO_SEED (fixed seed), SOTTO_INTEROP_FULL=1 (use the
// issue's full counts everywhere instead of the quick profile, which only thins out the
// Kyber-ciphertext bit flips of the PreKey message).

import { existsSync, readFileSync, accessSync, constants } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PKG = path.join(HERE, 'node_modules', '@signalapp', 'libsignal-client', 'package.json');

if (!existsSync(PKG)) {
	console.error(`FAIL: ${path.join(HERE, 'node_modules')} has no @signalapp/libsignal-client.`);
	console.error(`Run "npm ci" in ${HERE} first (it installs the pinned libsignal-client 0.103.0).`);
	console.log('0 passed, 1 failed');
	process.exit(1);
}
const version = JSON.parse(readFileSync(PKG, 'utf8')).version;
if (version !== '0.103.0') {
	console.error(`FAIL: installed @signalapp/libsignal-client is ${version}, expected 0.103.0; run "npm ci" in ${HERE}.`);
	console.log('0 passed, 1 failed');
	process.exit(1);
}

const { runAll, LIBSIGNAL_DRIVER, FULL_PARAMS, QUICK_PARAMS } = await import('./scenario-runner.mjs');

const seed = process.env.SOTTO_SEED ? Number(process.env.SOTTO_SEED) >>> 0 : randomBytes(4).readUInt32LE(0);
const params = process.env.SOTTO_INTEROP_FULL === '1' ? FULL_PARAMS : QUICK_PARAMS;
console.log(`seed ${seed} (rerun with SOTTO_SEED=${seed}); profile ${params === FULL_PARAMS ? 'full' : 'quick'}`);

const L = LIBSIGNAL_DRIVER;
const configs = [['libsignal-libsignal', L, L]];
const bin = process.env.SOTTO_BIN;
const cDriver = bin ? path.join(bin, 'sotto-driver') : null;
let haveC = false;
if (cDriver && existsSync(cDriver)) {
	try {
		accessSync(cDriver, constants.X_OK);
		haveC = true;
	} catch {
		haveC = false;
	}
}
if (haveC) {
	const C = `"${cDriver}"`;
	configs.push(['C-libsignal', C, L], ['libsignal-C', L, C], ['C-C', C, C]);
} else {
	console.log(`NOTE: ${cDriver ?? '$SOTTO_BIN/sotto-driver'} does not exist yet: skipping C-libsignal, libsignal-C and C-C ` +
		'(only libsignal-libsignal runs).');
}

const t0 = Date.now();
let passed = 0;
let failed = 0;
for (const [label, a, b] of configs) {
	const t = Date.now();
	const r = await runAll({ a, b, ref: L, seed, params, label: `[${label}] ` });
	passed += r.passed;
	failed += r.failed;
	console.log(`[${label}] ${r.passed} passed, ${r.failed} failed in ${((Date.now() - t) / 1000).toFixed(1)} s`);
}
console.log(`total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
