import { describe, expect, it } from '@jest/globals';
import { attributeListing, largestDifferences } from './attribution.js';

// A perf map as node --perf-basic-prof writes it: `start size name`, newer code later in the file.
const PERF_MAP = [
  '1000 100 JS:~field file:///app/dist/src/istio/read.js:11:22',
  '2000 80 JS:*toServiceEntryView file:///app/dist/src/istio/service-entry.js:88:35',
  // Recompiled at the same address: the newer entry names what runs there now.
  '1000 100 JS:*field file:///app/dist/src/istio/read.js:11:22',
].join('\n');

// callgrind_annotate's listing of a run with --separate-callers: callee, then its callers, then the object file.
const LISTING = `--------------------------------------------------------------------------------
Ir                   file:function
--------------------------------------------------------------------------------
 6,000 ( 30.00%)  ???:0x0000000000001010'0x0000000000002004'Builtins_CallFunction [???]
 3,000 ( 15.00%)  ???:Builtins_KeyedLoadIC_Megamorphic'0x0000000000001020'0x0000000000002004 [/usr/bin/node]
 9,000 ( 45.00%)  ???:v8::internal::JsonParser<unsigned char>::ScanJsonString(bool)'v8::internal::JsonParser<unsigned char>::ParseJson [/usr/bin/node]
 1,500 (  7.50%)  ???:v8::internal::compiler::GraphReducer::ReduceTop() [/usr/bin/node]
   500 (  2.50%)  ???:0x0000000000009000 [???]
`;

describe('attributeListing', () => {
  it('charges JIT code and the builtins it calls to the nearest JavaScript function, per request', () => {
    const byFunction = attributeListing(LISTING, PERF_MAP, 100);
    expect(Object.fromEntries(byFunction)).toEqual({
      'field file:///app/dist/src/istio/read.js:11:22': 90,
      '[JSON.parse]': 90,
      '[compiling]': 15,
      '[unnamed code] 0x0000000000009000': 5,
    });
  });
});

describe('largestDifferences', () => {
  it('lists the functions egress-guard spends most more on than the floor, then those it spends less on', () => {
    const ours = new Map([
      ['view', 5000],
      ['[JSON.parse]', 60_000],
      ['[native] StringAdd', 900],
    ]);
    const floor = new Map([
      ['[JSON.parse]', 60_500],
      ['[native] StringAdd', 400],
    ]);
    const lines = largestDifferences(ours, floor, 2);
    expect(
      lines.slice(1).map((line) =>
        line
          .trim()
          .split(/\s+/)
          .slice(0, 1)
          .concat(
            line
              .trim()
              .split(/\s{2,}/)
              .slice(-1),
          ),
      ),
    ).toEqual([
      ['5,000', 'view'],
      ['500', '[native] StringAdd'],
      ['-500', '[JSON.parse]'],
    ]);
  });

  it('prints figures in the unit it is given, such as sampled microseconds', () => {
    const lines = largestDifferences(new Map([['view', 0.524]]), new Map([['view', 0.1]]), 1, {
      name: 'us per review, sampled',
      digits: 2,
    });
    expect(lines[0]).toContain('function (us per review, sampled)');
    expect(lines[1]?.trim().split(/\s+/)).toEqual(['0.42', '0.52', '0.10', 'view']);
  });
});
