// What both browser tests share: the qrdesk binary started on a free port with
// a fresh data directory, Debian's Chromium, and a small test runner.

import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const binary = process.argv[2] || join(here, '../../target/debug/qrdesk');
export const shots = join(here, 'screenshots');
mkdirSync(shots, { recursive: true });

export function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
}

/**
 * Starts qrdesk with a fresh database and `env` on top of the defaults;
 * resolves with its base URL, the demo form, the simulator and the one-time
 * setup link.
 */
export function startServer(env = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'qrdesk-browser-'));
  const child = spawn(binary, ['serve'], {
    env: {
      ...process.env,
      QRDESK_SERVER__LISTEN: '127.0.0.1:0',
      QRDESK_SERVER__DATA_DIR: dataDir,
      // Every view reads the simulator afresh, as in the API tests, so a
      // staff reply shows on the next load whatever the timing.
      QRDESK_HUBEX__STATUS_MAX_AGE_SECS: '0',
      RUST_LOG: 'warn',
      NO_COLOR: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error('qrdesk did not start: ' + out + err)), 30000);
    const done = () => {
      const base = out.match(/running at (\S+?)\/?\n/);
      const form = out.match(/Demo form:\s+(\S+)/);
      const sim = out.match(/simulator \(demo tenant\) at (\S+)\/fsm/) || out.match(/simulator \(demo portal\): webhook (\S+)/) || out.match(/simulator \(demo installation\): (\S+)/);
      const setup = err.match(/open (\S+\/admin\/setup\?token=\S+)/);
      if (base && form && sim && setup) {
        clearTimeout(timer);
        resolve({ child, dataDir, base: base[1], formUrl: form[1], sim: sim[1], setup: setup[1] });
      }
    };
    child.stdout.on('data', (c) => { out += c; done(); });
    child.stderr.on('data', (c) => { err += c; done(); });
    child.on('exit', (code) => reject(new Error('qrdesk exited with ' + code + ': ' + out + err)));
  });
}

export async function stopServer(s) {
  s.child.kill('SIGTERM');
  await new Promise((r) => s.child.on('exit', r));
  rmSync(s.dataDir, { recursive: true, force: true });
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/** Runs named tests, counting; `finish` prints the count and sets the exit code. */
export function runner(label) {
  let passed = 0;
  let failed = 0;
  return {
    async test(name, fn) {
      try {
        await fn();
        passed += 1;
        console.log('ok   ' + name);
      } catch (e) {
        failed += 1;
        console.log('FAIL ' + name + '\n     ' + (e && e.stack ? e.stack : e));
      }
    },
    finish() {
      console.log(`${label}: ${passed} passed, ${failed} failed`);
      process.exit(failed === 0 ? 0 : 1);
    },
  };
}

const axeSource = readFileSync(join(here, 'node_modules/axe-core/axe.min.js'), 'utf8');

/**
 * Runs axe-core's WCAG 2.1 A and AA rules on the page; resolves with the
 * violations, each as "rule: target". (Evaluated through the debugging
 * protocol, so the page's CSP stays as it is.)
 */
export async function accessibilityProblems(page) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return r.violations.map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', '));
  });
  return result;
}
