import { describe, expect, it } from '@jest/globals';
import { contextFor, exampleAuto, ossWildcard, serviceEntry } from '../../test/fixtures/service-entries.js';
import { wildcardDnsRule } from './wildcard-dns.js';

const endpoints = [{ address: 'oss-cn-shanghai.aliyuncs.com' }];

describe('wildcard-dns', () => {
  // [case, spec changes applied to the seed's wildcard ServiceEntry, paths expected to be denied]
  it.each<[string, Record<string, unknown>, string[]]>([
    ['seed wildcards with resolution unset', { resolution: undefined }, []],
    ['seed wildcards with NONE (the seed itself)', {}, []],
    ['seed wildcards with STATIC', { resolution: 'STATIC', endpoints }, []],
    ['seed wildcards with DNS', { resolution: 'DNS' }, ['spec.hosts[0]', 'spec.hosts[1]']],
    ['seed wildcards with DNS_ROUND_ROBIN', { resolution: 'DNS_ROUND_ROBIN' }, ['spec.hosts[0]', 'spec.hosts[1]']],
    ['seed wildcards with DYNAMIC_DNS (Istio 1.28+)', { resolution: 'DYNAMIC_DNS' }, []],
    ['seed wildcards with DNS and endpoints', { resolution: 'DNS', endpoints }, ['spec.hosts[0]', 'spec.hosts[1]']],
    [
      'DNS_ROUND_ROBIN with one endpoint',
      { resolution: 'DNS_ROUND_ROBIN', endpoints },
      ['spec.hosts[0]', 'spec.hosts[1]'],
    ],
    [
      'DNS with spec.addresses set',
      { resolution: 'DNS', addresses: ['240.0.0.10'] },
      ['spec.hosts[0]', 'spec.hosts[1]'],
    ],
    ['bare * with DNS', { resolution: 'DNS', hosts: ['*'] }, ['spec.hosts[0]']],
    ['partial *foo.com with DNS', { resolution: 'DNS', hosts: ['*foo.com'] }, ['spec.hosts[0]']],
    ['concrete host with DNS', { resolution: 'DNS', hosts: ['oss-cn-shanghai.aliyuncs.com'] }, []],
    [
      'concrete and wildcard hosts mixed',
      { resolution: 'DNS', hosts: ['a.com', '*.a.com', 'b.com', '*b.com'] },
      ['spec.hosts[1]', 'spec.hosts[3]'],
    ],
    ['resolution written in lower case', { resolution: 'dns' }, ['spec.hosts[0]', 'spec.hosts[1]']],
  ])('%s', (_case, spec, deniedPaths) => {
    const entry = serviceEntry(ossWildcard, { spec });
    const findings = wildcardDnsRule(entry, contextFor(entry));
    expect(findings.map((finding) => finding.path)).toEqual(deniedPaths);
    for (const finding of findings) expect(finding).toMatchObject({ rule: 'wildcard-dns', severity: 'deny' });
  });

  it('reports the host, its path, the resolution and the fix', () => {
    const entry = serviceEntry(ossWildcard, { spec: { resolution: 'DNS_ROUND_ROBIN' } });
    expect(wildcardDnsRule(entry, contextFor(entry))[1]).toEqual({
      rule: 'wildcard-dns',
      severity: 'deny',
      path: 'spec.hosts[1]',
      host: '*.oss-cn-shanghai-internal.aliyuncs.com',
      message:
        'spec.hosts[1] "*.oss-cn-shanghai-internal.aliyuncs.com": a wildcard host cannot use resolution DNS_ROUND_ROBIN; use NONE or DYNAMIC_DNS (Istio 1.28+)',
    });
  });

  it('ignores the settings: undeclared ports are another rule', () => {
    const entry = serviceEntry(exampleAuto);
    expect(wildcardDnsRule(entry, contextFor(entry, { undeclaredPortsAction: 'deny' }))).toEqual([]);
  });
});
