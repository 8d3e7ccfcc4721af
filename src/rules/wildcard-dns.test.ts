import { describe, expect, it } from '@jest/globals';
import { contextFor, exampleAuto, ossWildcard, serviceEntry } from '../../test/fixtures/service-entries.js';
import type { IstioTarget } from '../istio/version.js';
import { wildcardDnsRule } from './wildcard-dns.js';

const endpoints = [{ address: 'oss-cn-shanghai.aliyuncs.com' }];
const istio = (minor: number): IstioTarget => ({ version: { major: 1, minor }, allocator: 'istiod' });

describe('wildcard-dns', () => {
  // [case, spec changes applied to the seed's wildcard ServiceEntry, paths expected to be denied]
  it.each<[string, Record<string, unknown>, string[]]>([
    // istiod's ValidateServiceEntry (pkg/config/validation/validation.go), `case DNS, DNS_ROUND_ROBIN`: hosts must
    // pass agent.ValidateFQDN only when len(Endpoints) == 0; a wildcard label fails it.
    ['seed wildcards with DNS', { resolution: 'DNS' }, ['spec.hosts[0]', 'spec.hosts[1]']],
    ['seed wildcards with DNS_ROUND_ROBIN', { resolution: 'DNS_ROUND_ROBIN' }, ['spec.hosts[0]', 'spec.hosts[1]']],
    ['DNS with an empty endpoint list', { resolution: 'DNS', endpoints: [] }, ['spec.hosts[0]', 'spec.hosts[1]']],
    [
      'DNS with spec.addresses set (addresses are no endpoints)',
      { resolution: 'DNS', addresses: ['240.0.0.10'] },
      ['spec.hosts[0]', 'spec.hosts[1]'],
    ],
    ['bare * with DNS', { resolution: 'DNS', hosts: ['*'] }, ['spec.hosts[0]']],
    ['partial *foo.com with DNS', { resolution: 'DNS', hosts: ['*foo.com'] }, ['spec.hosts[0]']],
    [
      'concrete and wildcard hosts mixed',
      { resolution: 'DNS', hosts: ['a.com', '*.a.com', 'b.com', '*b.com'] },
      ['spec.hosts[1]', 'spec.hosts[3]'],
    ],
    ['resolution written in lower case', { resolution: 'dns' }, ['spec.hosts[0]', 'spec.hosts[1]']],
    // The same case with endpoints: the endpoints' names are resolved, and istiod accepts the entry.
    ['seed wildcards with DNS and an endpoint', { resolution: 'DNS', endpoints }, []],
    ['DNS_ROUND_ROBIN with one endpoint', { resolution: 'DNS_ROUND_ROBIN', endpoints }, []],
    ['DNS with an IP endpoint', { resolution: 'DNS', endpoints: [{ address: '203.0.113.7' }] }, []],
    ['concrete host with DNS', { resolution: 'DNS', hosts: ['oss-cn-shanghai.aliyuncs.com'] }, []],
    // Other resolutions never resolve the hosts: not this rule's concern.
    ['seed wildcards with resolution unset', { resolution: undefined }, []],
    ['seed wildcards with NONE (the seed itself)', {}, []],
    ['seed wildcards with STATIC', { resolution: 'STATIC', endpoints }, []],
    ['seed wildcards with DYNAMIC_DNS', { resolution: 'DYNAMIC_DNS' }, []],
  ])('%s', (_case, spec, deniedPaths) => {
    const entry = serviceEntry(ossWildcard, { spec });
    const findings = wildcardDnsRule(entry, contextFor(entry));
    expect(findings.map((finding) => finding.path)).toEqual(deniedPaths);
    for (const finding of findings) expect(finding).toMatchObject({ rule: 'wildcard-dns', severity: 'deny' });
  });

  // The fix offers DYNAMIC_DNS only where istiod accepts it (validation.go, `case DYNAMIC_DNS`: every host
  // wildcarded, no addresses, no endpoints, HTTP/TLS/GRPC/HTTP2 ports) and sidecars serve it (1.30+; the release
  // notes se-wildcard-host*.yaml: waypoints in 1.28, sidecars later).
  it.each<[string, number, Record<string, unknown>, string]>([
    ['1.31, TLS wildcards', 31, {}, 'use resolution DYNAMIC_DNS or NONE'],
    ['1.30, TLS wildcards', 30, {}, 'use resolution DYNAMIC_DNS or NONE'],
    ['1.29: waypoints only', 29, {}, 'use resolution NONE, or list concrete hosts'],
    ['1.28: waypoints only', 28, {}, 'use resolution NONE, or list concrete hosts'],
    [
      'HTTP, GRPC and HTTP2 ports',
      31,
      {
        ports: [
          { name: 'http', number: 80, protocol: 'HTTP' },
          { name: 'grpc', number: 81, protocol: 'grpc' },
          { name: 'h2', number: 82, protocol: 'HTTP2' },
        ],
      },
      'use resolution DYNAMIC_DNS or NONE',
    ],
    [
      'a TCP port',
      31,
      { ports: [{ name: 'tcp', number: 9444, protocol: 'TCP' }] },
      'use resolution NONE, or list concrete hosts',
    ],
    [
      'a port without protocol',
      31,
      { ports: [{ name: 'p', number: 443 }] },
      'use resolution NONE, or list concrete hosts',
    ],
    ['spec.addresses set', 31, { addresses: ['240.0.0.10'] }, 'use resolution NONE, or list concrete hosts'],
    [
      'a concrete host beside the wildcard',
      31,
      { hosts: ['oss-cn-shanghai.aliyuncs.com', '*.oss-cn-shanghai.aliyuncs.com'] },
      'move the wildcards to an entry with resolution DYNAMIC_DNS or NONE',
    ],
    [
      'a concrete host beside the wildcard, 1.29',
      29,
      { hosts: ['oss-cn-shanghai.aliyuncs.com', '*.oss-cn-shanghai.aliyuncs.com'] },
      'move the wildcards to an entry with resolution NONE',
    ],
  ])('fix for %s', (_case, minor, spec, fix) => {
    const entry = serviceEntry(ossWildcard, { spec: { resolution: 'DNS', ...spec } });
    const [finding] = wildcardDnsRule(entry, contextFor(entry, { istio: istio(minor) }));
    expect(finding?.fix).toBe(fix);
    expect(finding?.message.endsWith(`; ${fix}`)).toBe(true);
  });

  it('reports the host, its path, the resolution and the fix', () => {
    const entry = serviceEntry(ossWildcard, { spec: { resolution: 'DNS_ROUND_ROBIN' } });
    expect(wildcardDnsRule(entry, contextFor(entry))[1]).toEqual({
      rule: 'wildcard-dns',
      severity: 'deny',
      path: 'spec.hosts[1]',
      host: '*.oss-cn-shanghai-internal.aliyuncs.com',
      fix: 'use resolution DYNAMIC_DNS or NONE',
      message:
        'spec.hosts[1] "*.oss-cn-shanghai-internal.aliyuncs.com": a wildcard host cannot use resolution DNS_ROUND_ROBIN without endpoints; use resolution DYNAMIC_DNS or NONE',
    });
  });

  it('ignores the port settings: undeclared ports are another rule', () => {
    const entry = serviceEntry(exampleAuto);
    expect(wildcardDnsRule(entry, contextFor(entry, { undeclaredPortsAction: 'deny' }))).toEqual([]);
  });
});
