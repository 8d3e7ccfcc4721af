import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { field } from '../json.js';
import { fieldsOf, portNumber, trimmed, upperCased } from './read.js';

// Whitespace JavaScript's trim removes, ASCII and not, at either end of otherwise plain text.
const blanks = fc.constantFrom('', ' ', '\t', '\n', '\u00a0', '\u2028', '\ufeff', '\u3000');
const padded = (core: fc.Arbitrary<string>) =>
  fc.tuple(blanks, core, blanks).map(([before, text, after]) => before + text + after);
const anyText = fc.oneof(fc.string({ unit: 'binary', maxLength: 30 }), padded(fc.string({ maxLength: 30 })));

describe('trimmed', () => {
  it.each([
    '',
    ' ',
    'api.example.com',
    ' api.example.com',
    'api.example.com\n',
    '\u00a0api.example.com',
    'x\u3000',
    'a',
  ])('is trim() for %j', (text) => {
    expect(trimmed(text)).toBe(text.trim());
  });

  it('is trim() for any string', () => {
    fc.assert(fc.property(anyText, (text) => expect(trimmed(text)).toBe(text.trim())));
  });
});

describe('upperCased', () => {
  it.each(['', 'DNS', 'dns', ' TLS', 'HTTP2', 'DNS_ROUND_ROBIN', 'dynamic_dns ', 'Mongo', '\u00a0TCP', 'straße'])(
    'is trim().toUpperCase() for %j',
    (text) => {
      expect(upperCased(text)).toBe(text.trim().toUpperCase());
    },
  );

  it('is trim().toUpperCase() for any string', () => {
    const keyword = fc.stringMatching(/^[A-Za-z0-9_]{0,16}$/);
    fc.assert(
      fc.property(fc.oneof(anyText, padded(keyword)), (text) =>
        expect(upperCased(text)).toBe(text.trim().toUpperCase()),
      ),
    );
  });
});

describe('field', () => {
  it('reads own properties only', () => {
    expect(field({ hosts: ['a'] }, 'hosts')).toEqual(['a']);
    expect(field({}, 'constructor')).toBeUndefined();
    expect(field(JSON.parse('{"__proto__": {"hosts": ["x"]}}'), 'hosts')).toBeUndefined();
    expect(field(Object.create({ hosts: ['inherited'] }), 'hosts')).toBeUndefined();
    expect(field(['a'], '0')).toBeUndefined();
  });
});

describe('portNumber', () => {
  it.each<[unknown, number | undefined]>([
    [443, 443],
    ['8080', 8080],
    [' 53 ', 53],
    [0, undefined],
    [65536, undefined],
    [1.5, undefined],
    ['x', undefined],
    [null, undefined],
  ])('reads %j as %j', (value, port) => {
    expect(portNumber(value)).toBe(port);
  });
});

describe('fieldsOf', () => {
  // The schema's field names, and some that Object.prototype has: fieldsOf must read neither through a prototype.
  const names = ['metadata', 'spec', 'hosts', 'ports', 'name', 'number', 'constructor', 'toString', '__proto__'];

  it('reads a field as field() does, own properties only, for any value (property)', () => {
    fc.assert(
      fc.property(
        fc.anything({ withNullPrototype: true, withObjectString: true }),
        fc.constantFrom('metadata', 'spec', 'hosts', 'name', 'number'),
        (value, name) => {
          expect(fieldsOf(value)[name]).toBe(field(value, name));
        },
      ),
    );
  });

  it('sees no inherited field, from a custom prototype or from none at all', () => {
    const inherited = Object.create({ hosts: ['inherited.example.com'], spec: {} }) as Record<string, unknown>;
    inherited.name = 'own';
    expect([fieldsOf(inherited).hosts, fieldsOf(inherited).spec, fieldsOf(inherited).name]).toEqual([
      undefined,
      undefined,
      'own',
    ]);
    for (const value of [undefined, null, 7, 'text', ['a'], true])
      for (const name of names) expect(fieldsOf(value)[name]).toBeUndefined();
  });

  it('reads the fields of parsed JSON and of null-prototype objects by name', () => {
    const parsed = JSON.parse('{"metadata":{"name":"a"},"__proto__":{"spec":1}}') as unknown;
    expect(fieldsOf(parsed).metadata).toEqual({ name: 'a' });
    expect(fieldsOf(parsed).spec).toBeUndefined();
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { spec: { hosts: [] } });
    expect(fieldsOf(bare).spec).toEqual({ hosts: [] });
  });
});
