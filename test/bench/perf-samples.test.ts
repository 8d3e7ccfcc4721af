import { describe, expect, it } from '@jest/globals';
import { functionName, samplesByFunction } from './perf-samples.js';

// Lines as `perf script -F pid,ip,sym,dso` prints them (from a BENCH_PERF run on the project's VM).
const SCRIPT = [
  '  2949      7f9680006063 JS:*toServiceEntryView file:///work/main/dist/src/istio/service-entry.js:105:35 (/tmp/perf-2949.map)',
  '  2949      7f9680007000 JS:^toServiceEntryView file:///work/main/dist/src/istio/service-entry.js:105:35 (/tmp/perf-2949.map)',
  '  2949            d411e7 v8::internal::JsonParser<unsigned char>::ScanJsonString (/usr/bin/node)',
  '  2960            d411e7 v8::internal::JsonParser<unsigned char>::ScanJsonString (/usr/bin/node)',
  '  2960      7f1200001000 RegExp:"(?:_|\\\\u005[Ff])(?:_|\\\\u005[Ff])" (/tmp/perf-2960.map)',
  '  2960  ffffffff8224d116 do_syscall_64 ([kernel.kallsyms])',
  '  2960      7f1200009999 [unknown] (/tmp/perf-2960.map)',
  '32081  ffffffff8224d116 do_syscall_64 ([kernel.kallsyms])',
  '  2949      7f96800060aa JS:*routeHandler /work/main/node_modules/fastify/lib/route.js:465:25 (/tmp/perf-2949.map)',
  'not a sample line',
].join('\n');

describe('samplesByFunction', () => {
  const samples = samplesByFunction(SCRIPT, [2949, 2960]);

  it("counts each process's samples by function, one function whatever its JIT tier", () => {
    expect(Object.fromEntries(samples.get(2949) ?? [])).toEqual({
      'toServiceEntryView src/istio/service-entry.js:105:35': 2,
      'v8::internal::JsonParser<unsigned char>::ScanJsonString': 1,
      'routeHandler fastify/lib/route.js:465:25': 1,
    });
  });

  it('keeps native, regular-expression and kernel code by name, groups unnamed JIT code, and leaves other processes out', () => {
    expect(Object.fromEntries(samples.get(2960) ?? [])).toEqual({
      'v8::internal::JsonParser<unsigned char>::ScanJsonString': 1,
      'RegExp:"(?:_|\\\\u005[Ff])(?:_|\\\\u005[Ff])"': 1,
      do_syscall_64: 1,
      '[unknown] JIT code': 1,
    });
    expect(samples.has(32081)).toBe(false);
  });
});

describe('functionName', () => {
  it('names code perf could not resolve by the file it is in', () => {
    expect(functionName('[unknown]', '/usr/lib/x86_64-linux-gnu/libc.so.6')).toBe(
      '[unknown] /usr/lib/x86_64-linux-gnu/libc.so.6',
    );
    expect(functionName('', '/tmp/perf-12.map')).toBe('[unknown] JIT code');
  });

  it('drops an offset perf appends to a symbol', () => {
    expect(functionName('malloc+0x1c', '/usr/lib/x86_64-linux-gnu/libc.so.6')).toBe('malloc');
  });
});
