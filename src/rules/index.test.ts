import { describe, expect, it } from '@jest/globals';
import { contextFor, exampleAuto, fakeCluster, ossDemo, serviceEntry } from '../../test/fixtures/service-entries.js';
import { conflictingProtocolsRule } from './conflicting-protocols.js';
import { duplicateHostRule } from './duplicate-host.js';
import { httpToTlsPortRule } from './http-to-tls-port.js';
import { evaluateServiceEntry, serviceEntryRules } from './index.js';
import { undeclaredPortsRule } from './undeclared-ports.js';
import { wildcardDnsRule } from './wildcard-dns.js';

describe('evaluateServiceEntry', () => {
  it('runs every ServiceEntry rule', () => {
    expect(serviceEntryRules).toEqual([
      wildcardDnsRule,
      undeclaredPortsRule,
      duplicateHostRule,
      conflictingProtocolsRule,
      httpToTlsPortRule,
    ]);
  });

  it('reports the cross-object rules after the single-object ones, in registration order', () => {
    const entry = serviceEntry(ossDemo, { spec: { hosts: ['oss-cn-shanghai.aliyuncs.com', '*.aliyuncs.com'] } });
    const legacy = serviceEntry(ossDemo, {
      metadata: { name: 'legacy' },
      spec: { ports: [{ number: 443, name: 'http', protocol: 'HTTP' }] },
    });
    const findings = evaluateServiceEntry(
      entry,
      contextFor(entry, { expectedPorts: [80, 443, 8443] }, fakeCluster([entry, legacy])),
    );
    expect(findings.map((finding) => [finding.rule, finding.path])).toEqual([
      ['wildcard-dns', 'spec.hosts[1]'],
      ['undeclared-ports', 'spec.hosts[0]'],
      ['duplicate-host', 'spec.hosts[0]'],
      ['conflicting-protocols', 'spec.ports[1]'],
      ['http-to-tls-port', 'spec.ports[0]'],
      ['http-to-tls-port', 'spec.ports[0]'],
    ]);
  });

  it('collects the findings of all rules, wildcard-dns first', () => {
    const entry = serviceEntry(exampleAuto, { spec: { hosts: ['example.com', '*.example.com'] } });
    expect(evaluateServiceEntry(entry, contextFor(entry)).map((finding) => [finding.rule, finding.path])).toEqual([
      ['wildcard-dns', 'spec.hosts[1]'],
      ['undeclared-ports', 'spec.hosts[0]'],
    ]);
  });

  it('finds nothing in a clean ServiceEntry', () => {
    const entry = serviceEntry(exampleAuto, {
      spec: {
        ports: [
          { name: 'http', number: 80 },
          { name: 'https', number: 443 },
        ],
      },
    });
    expect(evaluateServiceEntry(entry, contextFor(entry))).toEqual([]);
  });
});
