// wildcard-dns against istiod's validating webhook: a deny exactly where istiod denies for that reason ("hosts
// must be FQDN ... if no endpoints are provided for resolution mode DNS"), and a fix istiod accepts.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { fcParameters } from './fc-settings.js';
import { IstioOracle } from './oracle.js';
import { findings, generatedEntry, serviceEntry, type Json } from './service-entries.js';

let oracle: IstioOracle;
beforeAll(() => {
  oracle = IstioOracle.fromEnv();
});
afterAll(() => oracle.close());

const FQDN_REASON = /hosts must be FQDN.* if no endpoints are provided for resolution mode/;

async function compare(entry: Json): Promise<string[]> {
  const ours = findings([entry], 'istiod').filter((finding) => finding.rule === 'wildcard-dns');
  const istiod = await oracle.validate(entry);
  const istiodDenies = !istiod.allowed && FQDN_REASON.test(istiod.message ?? '');
  const weDeny = ours.some((finding) => finding.severity === 'deny');
  if (weDeny === istiodDenies) return [];
  return [
    `${JSON.stringify(entry.spec)}: egress-guard ${weDeny ? 'denies' : 'allows'}, istiod ${istiod.allowed ? 'allows' : `denies: ${istiod.message}`}`,
  ];
}

/** The entry after following our fix: the wildcards moved to an entry of their own with `resolution`. */
function followFix(entry: Json, resolution: string): Json[] {
  const spec = entry.spec as Json & { hosts: string[] };
  const wildcards = spec.hosts.filter((host) => host.startsWith('*'));
  const concrete = spec.hosts.filter((host) => !host.startsWith('*'));
  const meta = entry.metadata as Json;
  const fixed = [serviceEntry(String(meta.namespace), 'wild', { ...spec, hosts: wildcards, resolution })];
  if (concrete.length > 0) fixed.push(serviceEntry(String(meta.namespace), 'concrete', { ...spec, hosts: concrete }));
  return fixed;
}

const ports443 = [{ number: 443, name: 'tls', protocol: 'TLS' }];
const TABLE: ReadonlyArray<readonly [string, Json]> = [
  [
    'fact 1: wildcard + DNS + endpoint (istiod accepts)',
    { hosts: ['*.httpbin.org'], resolution: 'DNS', endpoints: [{ address: 'httpbin.org' }], ports: ports443 },
  ],
  [
    'fact 1: wildcard + DNS_ROUND_ROBIN + one endpoint',
    {
      hosts: ['*.httpbin.org'],
      resolution: 'DNS_ROUND_ROBIN',
      endpoints: [{ address: 'httpbin.org' }],
      ports: ports443,
    },
  ],
  [
    'fact 2: wildcard + DNS without endpoints (istiod denies)',
    { hosts: ['*.httpbin.org'], resolution: 'DNS', ports: ports443 },
  ],
  [
    'fact 2: wildcard + DNS_ROUND_ROBIN without endpoints',
    { hosts: ['*.httpbin.org'], resolution: 'DNS_ROUND_ROBIN', ports: ports443 },
  ],
  [
    'fact 3: concrete host beside the wildcard, DNS',
    { hosts: ['*.aliyuncs.com', 'oss.aliyuncs.com'], resolution: 'DNS', ports: ports443 },
  ],
  [
    'fact 3: wildcard + DNS with a TCP port',
    { hosts: ['*.example.com'], resolution: 'DNS', ports: [{ number: 5432, name: 'tcp', protocol: 'TCP' }] },
  ],
  ['wildcard + NONE', { hosts: ['*.example.com'], resolution: 'NONE', ports: ports443 }],
  ['wildcard + DYNAMIC_DNS', { hosts: ['*.example.com'], resolution: 'DYNAMIC_DNS', ports: ports443 }],
  ['concrete + DNS', { hosts: ['api.example.com'], resolution: 'DNS', ports: ports443 }],
];

describe('wildcard-dns against istiod (table)', () => {
  it.each(TABLE)('%s', async (name, spec) => {
    const expectDeny = name.includes('(istiod denies)') || name.startsWith('fact 3');
    const entry = serviceEntry('ns-a', 'se', spec);
    expect(await compare(entry)).toEqual([]);
    // Our fix, followed, is accepted by istiod: every resolution the message offers.
    let followed = 0;
    for (const finding of findings([entry], 'istiod').filter((f) => f.rule === 'wildcard-dns')) {
      for (const resolution of ['NONE', 'DYNAMIC_DNS'].filter((r) => finding.message.includes(`${r}`))) {
        for (const fixed of followFix(entry, resolution)) {
          const answer = await oracle.validate(fixed);
          expect({ resolution, fixed: fixed.spec, answer }).toMatchObject({ answer: { allowed: true } });
          followed++;
        }
      }
    }
    if (expectDeny) expect(followed).toBeGreaterThan(0);
  });
});

describe('wildcard-dns against istiod (generated)', () => {
  it('denies exactly where istiod denies for that reason', async () => {
    await fc.assert(
      fc.asyncProperty(generatedEntry, async (entry) => {
        const disagreements = await compare(entry);
        if (disagreements.length > 0) throw new Error(disagreements.join('; '));
      }),
      fcParameters(300),
    );
  });
});
