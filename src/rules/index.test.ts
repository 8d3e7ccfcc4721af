import { describe, expect, it } from '@jest/globals';
import { contextFor, exampleAuto, serviceEntry } from '../../test/fixtures/service-entries.js';
import { evaluateServiceEntry, serviceEntryRules } from './index.js';
import { undeclaredPortsRule } from './undeclared-ports.js';
import { wildcardDnsRule } from './wildcard-dns.js';

describe('evaluateServiceEntry', () => {
  it('runs every ServiceEntry rule', () => {
    expect(serviceEntryRules).toEqual([wildcardDnsRule, undeclaredPortsRule]);
  });

  it('collects the findings of all rules, wildcard-dns first', () => {
    const entry = serviceEntry(exampleAuto, { spec: { hosts: ['example.com', '*.example.com'] } });
    expect(evaluateServiceEntry(entry, contextFor(entry)).map((finding) => [finding.rule, finding.path])).toEqual([
      ['wildcard-dns', 'spec.hosts[1]'],
      ['undeclared-ports', 'spec.hosts[0]'],
    ]);
  });

  it('finds nothing in a clean ServiceEntry', () => {
    const entry = serviceEntry(exampleAuto, { spec: { ports: [{ name: 'http', number: 80 }, { name: 'https', number: 443 }] } });
    expect(evaluateServiceEntry(entry, contextFor(entry))).toEqual([]);
  });
});
