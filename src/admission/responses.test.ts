import { describe, expect, it } from '@jest/globals';
import { allowed, denied, patched } from './responses.js';
import { MAX_WARNING_LENGTH } from './warning-text.js';

describe('Allowed / Denied / Patched', () => {
  it('allows without warnings, and omits the empty list', () => {
    expect(allowed()).toEqual({ allowed: true });
  });

  it('denies as Forbidden 403, so kubectl names the webhook', () => {
    expect(denied('no')).toEqual({ allowed: false, status: { code: 403, reason: 'Forbidden', message: 'no' } });
  });

  it('encodes a JSONPatch in base64, and an empty patch is no patch', () => {
    const answer = patched([{ op: 'add', path: '/metadata/labels/a', value: 'b' }]);
    expect(answer.patchType).toBe('JSONPatch');
    expect(JSON.parse(Buffer.from(answer.patch ?? '', 'base64').toString())).toEqual([
      { op: 'add', path: '/metadata/labels/a', value: 'b' },
    ]);
    expect(patched([])).toEqual({ allowed: true });
  });

  it.each([
    [
      'a 2,112-character text quoted from an annotation',
      `egress-guard.io/expected-ports: "${'x'.repeat(2000)}" is not a port number`,
    ],
    ['a NUL and a newline', 'host\u0000name\nsecond line'],
    [
      'a 253-character host name',
      `${'a'.repeat(240)}.example.com: ports 80 undeclared (declared: 443); declare them or set spec.addresses`,
    ],
  ])('keeps every warning on one line under 120 characters: %s', (_name, text) => {
    for (const answer of [
      allowed([text]),
      denied('no', [text]),
      patched([{ op: 'add', path: '/a', value: 1 }], [text]),
    ]) {
      const [warning] = answer.warnings ?? [];
      expect(warning!.length).toBeLessThanOrEqual(MAX_WARNING_LENGTH);
      expect(warning).not.toMatch(/[\u0000-\u001f]/);
    }
  });

  it('leaves a short warning exactly as written', () => {
    const text = 'example.com: ports 80,443 undeclared (declared: 9444); declare them or set spec.addresses';
    expect(allowed([text]).warnings).toEqual([text]);
  });
});
