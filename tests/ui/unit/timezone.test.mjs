// Date math rounds in the browser's time zone: checked in a child process with TZ set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const lib = fileURLToPath(new URL('../../../ui/assets/js/lib/timerange.js', import.meta.url));

function inZone(tz, code) {
  const script = `import * as t from ${JSON.stringify(lib)}; ${code}`;
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, TZ: tz } }).toString().trim();
}

test('now/d is local midnight in Europe/Berlin', () => {
  // 2026-11-26T00:30Z is 01:30 in Berlin: the local day started at 2026-11-25T23:00Z.
  const out = inZone('Europe/Berlin', 'console.log(new Date(t.parseDateMath("now/d", Date.UTC(2026,10,26,0,30))).toISOString())');
  assert.equal(out, '2026-11-25T23:00:00.000Z');
});

test('a day across a DST change is 25 hours in Europe/Berlin', () => {
  const out = inZone('Europe/Berlin', 'const n = Date.UTC(2026,9,25,12); console.log((t.parseDateMath("now/d", n, true) + 1 - t.parseDateMath("now/d", n)) / 3600000)');
  assert.equal(out, '25');
});

test('localTimeZone names the zone', () => {
  assert.equal(inZone('America/New_York', 'console.log(t.localTimeZone())'), 'America/New_York');
});
