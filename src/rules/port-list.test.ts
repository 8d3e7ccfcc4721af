import { describe, expect, it } from '@jest/globals';
import { parsePortList, PortListError } from './port-list.js';

describe('parsePortList', () => {
  it('sorts, deduplicates and ignores empty items', () => {
    expect(parsePortList('443,80,,443 ', 'x')).toEqual([80, 443]);
  });
  it.each(['0', '65536', '8o', '-1', '1.5'])('rejects %p', (item) => {
    expect(() => parsePortList(`80,${item}`, 'egress-guard.io/expected-ports')).toThrow(
      /egress-guard.io\/expected-ports/,
    );
    expect(() => parsePortList(item, 'x')).toThrow(PortListError);
  });
});
