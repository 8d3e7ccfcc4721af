// `egress-guard check` as CI runs it: the built CLI as a subprocess on the fixture manifests in test/fixtures/cli.
import { beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { parseAllDocuments } from 'yaml';
import { ensureBuilt, FIXTURES, ROOT, runCli } from './run-cli.js';

const fixture = (name: string) => join('test', 'fixtures', 'cli', name);

interface JsonReport {
  findings: Record<string, unknown>[];
  summary: { objects: number; deny: number; warn: number; info: number };
}

beforeAll(() => {
  ensureBuilt();
}, 120_000);

describe('egress-guard check on the field reports', () => {
  it('passes the ServiceEntry whose DestinationRule originates TLS (field report 000)', async () => {
    const result = await runCli(['check', '-f', fixture('oss-tls-origination.yaml')]);
    expect(result).toEqual({ code: 0, stdout: '2 objects checked: 0 deny, 0 warn, 0 info\n', stderr: '' });
  });

  it('warns about the same ServiceEntry without the DestinationRule, pointing at the port', async () => {
    const result = await runCli(['check', '-f', fixture('oss-without-destination-rule.yaml')]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      'test/fixtures/cli/oss-without-destination-rule.yaml:12: ServiceEntry external/demo: [http-to-tls-port] warn: ' +
        'oss-cn-shanghai.aliyuncs.com:80 sends plain HTTP to port 443; no DestinationRule sets tls.mode SIMPLE\n' +
        '1 object checked: 0 deny, 1 warn, 0 info\n',
    );
  });

  it('exits 1 for a wildcard host with DNS resolution, pointing at the host', async () => {
    const result = await runCli(['check', '-f', fixture('wildcard-dns.yaml')]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(
      'test/fixtures/cli/wildcard-dns.yaml:10: ServiceEntry external/wildcard: [wildcard-dns] deny: spec.hosts[1] "*.oss-cn-shanghai.aliyuncs.com": ' +
        'a wildcard host cannot use resolution DNS without endpoints; move the wildcards to an entry with resolution DYNAMIC_DNS or NONE\n' +
        '1 object checked: 1 deny, 0 warn, 0 info\n',
    );
  });

  it('offers DYNAMIC_DNS only from the Istio release whose sidecars serve it (--istio-version)', async () => {
    const result = await runCli(['check', '-f', fixture('wildcard-dns.yaml'), '--istio-version', '1.29']);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      'a wildcard host cannot use resolution DNS without endpoints; move the wildcards to an entry with resolution NONE\n',
    );
  });

  it('finds nothing to warn about two entries for one host on the legacy allocator (ISTIO_VERSION=1.24)', async () => {
    const result = await runCli(['check', '-f', fixture('duplicate-host.yaml')], { env: { ISTIO_VERSION: '1.24' } });
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('duplicate-host');
  });

  it('finds two ServiceEntries for one host, placing them in default like kubectl', async () => {
    const result = await runCli(['check', '-f', fixture('duplicate-host.yaml')]);
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')).toEqual([
      'test/fixtures/cli/duplicate-host.yaml:9: ServiceEntry default/external-auto: [duplicate-host] warn: example.com is also declared by default/example-web: ports 80,443,9444 unreliable (istio#55266)',
      'test/fixtures/cli/duplicate-host.yaml:22: ServiceEntry default/example-web: [duplicate-host] warn: example.com is also declared by default/external-auto: ports 80,443,9444 unreliable (istio#55266)',
      '2 objects checked: 0 deny, 2 warn, 0 info',
      '',
    ]);
  });

  it('turns the port-trap warnings into denials with --undeclared-ports-action deny (or the environment variable)', async () => {
    const flag = await runCli(['check', '-f', fixture('duplicate-host.yaml'), '--undeclared-ports-action', 'deny']);
    expect(flag.code).toBe(1);
    expect(flag.stdout).toContain('2 objects checked: 2 deny, 0 warn, 0 info');
    const env = await runCli(['check', '-f', fixture('duplicate-host.yaml')], {
      env: { UNDECLARED_PORTS_ACTION: 'deny' },
    });
    expect(env.code).toBe(1);
    // The flag wins over the environment.
    const both = await runCli(['check', '-f', fixture('duplicate-host.yaml'), '--undeclared-ports-action=warn'], {
      env: { UNDECLARED_PORTS_ACTION: 'deny' },
    });
    expect(both.code).toBe(0);
  });

  it('applies --expected-ports to auto-allocated hosts', async () => {
    const result = await runCli([
      'check',
      '-f',
      fixture('oss-tls-origination.yaml'),
      '--expected-ports',
      '80,443,9444',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      'ServiceEntry external/demo: [undeclared-ports] warn: oss-cn-shanghai.aliyuncs.com: port 9444 undeclared',
    );
  });
});

describe('egress-guard check: mutation previews', () => {
  it('shows what the webhook would do to pods of an opted-in namespace, as info that never fails the run', async () => {
    const result = await runCli(['check', '-f', fixture('opted-in-workloads.yaml')]);
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')).toEqual([
      'test/fixtures/cli/opted-in-workloads.yaml:19: Deployment shop/web: [dns-capture] info: would add proxyMetadata ISTIO_META_DNS_CAPTURE, ISTIO_META_DNS_AUTO_ALLOCATE to proxy.istio.io/config',
      'test/fixtures/cli/opted-in-workloads.yaml:39: StatefulSet shop/cache: [dns-capture] info: nothing to add: proxy.istio.io/config already sets ISTIO_META_DNS_CAPTURE, ISTIO_META_DNS_AUTO_ALLOCATE',
      'test/fixtures/cli/opted-in-workloads.yaml:60: CronJob shop/report: [dns-capture] info: proxy.istio.io/config has proxyMetadata as a list, not a mapping; egress-guard left the pod unchanged',
      'test/fixtures/cli/opted-in-workloads.yaml:67: Pod shop/debug: [dns-capture] info: skipped: the label egress-guard.io/dns-capture=disabled opts it out',
      '6 objects checked: 0 deny, 0 warn, 4 info',
      '',
    ]);
  });

  it('adds only DNS capture with --auto-allocate-mode controller', async () => {
    const result = await runCli([
      'check',
      '-f',
      fixture('opted-in-workloads.yaml'),
      '--auto-allocate-mode',
      'controller',
    ]);
    expect(result.stdout).toContain(
      'Deployment shop/web: [dns-capture] info: would add proxyMetadata ISTIO_META_DNS_CAPTURE to proxy.istio.io/config\n',
    );
  });

  it('previews namespaces named with --opted-in, without a Namespace object', async () => {
    const manifest = readFileSync(join(FIXTURES, 'opted-in-workloads.yaml'), 'utf8');
    const withoutNamespace = manifest.split('\n---\n').slice(1).join('\n---\n');
    const none = await runCli(['check', '-f', '-'], { stdin: withoutNamespace });
    expect(none.stdout).toBe('5 objects checked: 0 deny, 0 warn, 0 info\n');
    const other = await runCli(['check', '-f', '-', '--opted-in', 'other'], { stdin: withoutNamespace });
    expect(other.stdout.split('\n')).toEqual([
      '<stdin>:82: Deployment other/web: [dns-capture] info: would add proxyMetadata ISTIO_META_DNS_CAPTURE, ISTIO_META_DNS_AUTO_ALLOCATE to proxy.istio.io/config',
      '5 objects checked: 0 deny, 0 warn, 1 info',
      '',
    ]);
  });
});

describe('egress-guard check: inputs', () => {
  it('expands a List and a typed ServiceEntryList whose items have no kind', async () => {
    const result = await runCli(['check', '-f', fixture('list.yaml')]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(
      'test/fixtures/cli/list.yaml:47: ServiceEntry external/wildcard: [wildcard-dns] deny: spec.hosts[0] "*.aliyuncs.com": ' +
        'a wildcard host cannot use resolution DNS without endpoints; use resolution DYNAMIC_DNS or NONE\n' +
        '3 objects checked: 1 deny, 0 warn, 0 info\n',
    );
  });

  it('reads a directory recursively (YAML and JSON, other files skipped) and judges across its files', async () => {
    // The DestinationRule in split/nested/destination-rule.json originates TLS for split/service-entry.yaml.
    const together = await runCli(['check', '-f', fixture('split'), '-n', 'external']);
    expect(together).toEqual({ code: 0, stdout: '2 objects checked: 0 deny, 0 warn, 0 info\n', stderr: '' });
    const alone = await runCli(['check', '-f', fixture('split/service-entry.yaml'), '-n', 'external']);
    expect(alone.stdout).toContain(
      'test/fixtures/cli/split/service-entry.yaml:12: ServiceEntry external/demo: [http-to-tls-port] warn',
    );
  });

  it('reads stdin with -f - next to files, and names it <stdin>', async () => {
    const stdin = readFileSync(join(FIXTURES, 'wildcard-dns.yaml'), 'utf8');
    const result = await runCli(['check', '-f', fixture('oss-tls-origination.yaml'), '-f', '-'], { stdin });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^<stdin>:10: ServiceEntry external\/wildcard: \[wildcard-dns\] deny: /);
    expect(result.stdout).toContain('3 objects checked: 1 deny, 0 warn, 0 info');
  });

  it('exits 2 on a parse error, naming the file and line, without evaluating anything', async () => {
    const result = await runCli(['check', '-f', fixture('wildcard-dns.yaml'), '-f', fixture('broken/broken.yaml')]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^egress-guard: test\/fixtures\/cli\/broken\/broken\.yaml:7: .*Flow sequence/);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('exits 2 for a missing file and for a document that is not a Kubernetes object', async () => {
    const missing = await runCli(['check', '-f', 'no/such/file.yaml']);
    expect(missing).toEqual({
      code: 2,
      stdout: '',
      stderr: 'egress-guard: no/such/file.yaml: no such file or directory\n',
    });
    const notObject = await runCli(['check', '-f', '-'], {
      stdin: 'apiVersion: v1\nkind: ConfigMap\n---\n- just\n- a list\n',
    });
    expect(notObject.code).toBe(2);
    expect(notObject.stderr).toBe(
      'egress-guard: <stdin>:4: expected a Kubernetes object (a mapping with apiVersion and kind), found a list\n',
    );
    const noKind = await runCli(['check', '-f', '-'], { stdin: 'metadata:\n  name: x\n' });
    expect(noKind.stderr).toBe('egress-guard: <stdin>:1: apiVersion and kind not set\n');
  });
});

describe('egress-guard check: output formats', () => {
  const inputs = [
    '-f',
    fixture('wildcard-dns.yaml'),
    '-f',
    fixture('oss-without-destination-rule.yaml'),
    '-f',
    fixture('oss-tls-origination.yaml'),
    '-f',
    fixture('opted-in-workloads.yaml'),
  ];

  it('-o json has a stable schema: every key on every finding, null where it does not apply', async () => {
    const result = await runCli(['check', ...inputs, '-o', 'json']);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as JsonReport;
    expect(Object.keys(report)).toEqual(['findings', 'summary']);
    for (const finding of report.findings) {
      expect(Object.keys(finding)).toEqual([
        'file',
        'line',
        'kind',
        'namespace',
        'name',
        'rule',
        'severity',
        'message',
        'path',
      ]);
    }
    expect(report.findings[0]).toEqual({
      file: 'test/fixtures/cli/wildcard-dns.yaml',
      line: 10,
      kind: 'ServiceEntry',
      namespace: 'external',
      name: 'wildcard',
      rule: 'wildcard-dns',
      severity: 'deny',
      message:
        'spec.hosts[1] "*.oss-cn-shanghai.aliyuncs.com": a wildcard host cannot use resolution DNS without endpoints; move the wildcards to an entry with resolution DYNAMIC_DNS or NONE',
      path: 'spec.hosts[1]',
    });
    expect(report.findings.find((finding) => finding.kind === 'Pod')?.path).toBeNull();
    // The second external/demo is renamed after its source and reported: applying both keeps one.
    expect(report.findings.filter((finding) => finding.rule === 'duplicate-object')).toEqual([
      expect.objectContaining({
        name: 'demo (test/fixtures/cli/oss-tls-origination.yaml#1)',
        severity: 'warn',
        line: 3,
      }),
    ]);
    expect(report.summary).toEqual({ objects: 10, deny: 1, warn: 1, info: 4 });
  });

  it('-o policyreport is a YAML stream of wgpolicyk8s.io/v1alpha2 PolicyReports, one per namespace', async () => {
    const result = await runCli(['check', ...inputs, '-o', 'policyreport']);
    expect(result.code).toBe(1);
    const documents = parseAllDocuments(result.stdout).map((document) => {
      expect(document.errors).toEqual([]);
      return document.toJS() as {
        apiVersion: string;
        kind: string;
        metadata: { name: string; namespace: string };
        summary: Record<string, number>;
        results: {
          policy: string;
          rule: string;
          result: string;
          severity?: string;
          source: string;
          category: string;
          scored: boolean;
          resources: { kind: string; name: string }[];
          timestamp: { seconds: number; nanos: number };
        }[];
      };
    });
    expect(
      documents.map(({ apiVersion, kind, metadata }) => `${apiVersion} ${kind} ${metadata.namespace}/${metadata.name}`),
    ).toEqual([
      'wgpolicyk8s.io/v1alpha2 PolicyReport external/egress-guard',
      'wgpolicyk8s.io/v1alpha2 PolicyReport shop/egress-guard',
    ]);
    const [external, shop] = documents;
    // wildcard: fail; demo (twice, both covered by the DestinationRule): pass; the duplicate: warn.
    expect(external?.summary).toEqual({ pass: 2, fail: 1, warn: 1, error: 0, skip: 0 });
    expect(shop?.summary).toEqual({ pass: 2, fail: 0, warn: 0, error: 0, skip: 2 });
    const failed = external?.results.find((result) => result.result === 'fail');
    expect(failed).toMatchObject({
      policy: 'egress-guard',
      rule: 'wildcard-dns',
      severity: 'high',
      source: 'egress-guard',
      category: 'egress',
      scored: true,
    });
    expect(failed?.resources).toEqual([
      { apiVersion: 'networking.istio.io/v1beta1', kind: 'ServiceEntry', namespace: 'external', name: 'wildcard' },
    ]);
    expect(Math.abs((failed?.timestamp.seconds ?? 0) - Date.now() / 1000)).toBeLessThan(120);
    for (const document of documents) {
      for (const result of document.results) expect(['pass', 'fail', 'warn', 'error', 'skip']).toContain(result.result);
    }
  });
});

describe('egress-guard command line', () => {
  it('prints the usage with --help, and each command’s with <command> --help', async () => {
    const main = await runCli(['--help']);
    expect(main.code).toBe(0);
    expect(main.stdout).toMatch(/^usage: egress-guard <command> \[options\]\n/);
    expect(main.stdout).toContain('  check ');
    expect(main.stdout).toContain('  audit ');
    const check = await runCli(['check', '--help']);
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/^usage: egress-guard check -f FILE\|DIR\|- \[-f \.\.\.\] \[options\]\n/);
    const audit = await runCli(['audit', '-h']);
    expect(audit.stdout).toMatch(/^usage: egress-guard audit /);
  });

  it('prints the version from package.json', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(await runCli(['--version'])).toEqual({ code: 0, stdout: `egress-guard ${version}\n`, stderr: '' });
  });

  it.each([
    [[], 'no command given', 'usage: egress-guard <command> [options]'],
    [['lint'], 'unknown command "lint"', 'usage: egress-guard <command> [options]'],
    [['check'], 'no input: give -f FILE, -f DIR or -f - (stdin)', 'usage: egress-guard check'],
    [['check', 'file.yaml'], 'unexpected argument "file.yaml" (give files with -f)', 'usage: egress-guard check'],
    [
      ['check', '-f', 'x', '-o', 'yaml'],
      '--output: "yaml" is not one of text, json, policyreport',
      'usage: egress-guard check',
    ],
    [['check', '-f', 'x', '--frobnicate'], "Unknown option '--frobnicate'", 'usage: egress-guard check'],
    [
      ['check', '-f', 'x', '-n', 'Not_A_Namespace'],
      '--namespace: "Not_A_Namespace" is not a namespace name',
      'usage: egress-guard check',
    ],
    [
      ['check', '-f', 'x', '--expected-ports', '80,http'],
      '--expected-ports: "http" is not a port number',
      'usage: egress-guard check',
    ],
    [
      ['audit', '--auto-allocate-mode', 'istiod'],
      '--auto-allocate-mode: "istiod" is not one of agent, controller',
      'usage: egress-guard audit',
    ],
  ])('exits 2 with a short usage on stderr for %j', async (args, problem, synopsis) => {
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const [first, second, third, ...rest] = result.stderr.trimEnd().split('\n');
    expect(first).toContain(`egress-guard: ${problem}`);
    expect(second).toMatch(new RegExp(`^${synopsis.replace(/[[\]().*|]/g, '\\$&')}`));
    expect(third).toMatch(/^Run 'egress-guard (check |audit )?--help' for details\.$/);
    expect(rest).toEqual([]);
  });

  it('names the environment variable when its value is bad', async () => {
    const result = await runCli(['check', '-f', fixture('wildcard-dns.yaml')], { env: { EXPECTED_PORTS: 'eighty' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('egress-guard: EXPECTED_PORTS: "eighty" is not a port number');
  });

  it('ignores the server’s other variables', async () => {
    const result = await runCli(['check', '-f', fixture('oss-tls-origination.yaml')], {
      env: { PORT: 'not-a-port', LOG_LEVEL: 'LOUD' },
    });
    expect(result.code).toBe(0);
  });
});

describe('egress-guard check in a pipeline', () => {
  // The OASIS schema as the @microsoft/jest-sarif package ships it. It is draft-04, which ajv 8 no longer reads; it
  // uses no keyword whose meaning changed since (no exclusiveMinimum/Maximum, only local $refs), so it is compiled
  // as draft-07 without its $schema and id; one of its patterns has a stray `]` only non-unicode RegExps accept.
  const {
    $schema: _draft04,
    id: _id,
    ...sarifSchema
  } = JSON.parse(
    readFileSync(
      join(ROOT, 'node_modules', '@microsoft', 'jest-sarif', 'lib', 'schemas', 'sarif-2.1.0-rtm.5.json'),
      'utf8',
    ),
  ) as Record<string, unknown>;

  it('refuses a directory holding a kustomization (exit 2) with the command that renders it', async () => {
    const overlay = join('test', 'fixtures', 'cli', 'kustomize', 'overlay');
    for (const input of [overlay, join('test', 'fixtures', 'cli', 'kustomize'), join(overlay, 'kustomization.yaml')]) {
      const result = await runCli(['check', '-f', input]);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/holds a kustomization, which check does not render; run: kubectl kustomize /);
      expect(result.stderr).toMatch(/ \| egress-guard check -f -\n$/);
    }
    const nested = await runCli(['check', '-f', join('test', 'fixtures', 'cli', 'kustomize')]);
    // The walk meets base/ first: the hint names the directory that holds the kustomization.
    expect(nested.stderr).toContain(`kubectl kustomize ${join('test', 'fixtures', 'cli', 'kustomize', 'base')} |`);
  });

  it('--fail-on warn exits 1 on warnings too; the default fails on deny only; info never fails', async () => {
    const warnOnly = ['check', '-f', fixture('oss-without-destination-rule.yaml')];
    expect((await runCli(warnOnly)).code).toBe(0);
    expect((await runCli([...warnOnly, '--fail-on', 'deny'])).code).toBe(0);
    expect((await runCli([...warnOnly, '--fail-on', 'warn'])).code).toBe(1);
    expect((await runCli(['check', '-f', fixture('oss-tls-origination.yaml'), '--fail-on', 'warn'])).code).toBe(0);
    const preview = await runCli(['check', '-f', fixture('opted-in-workloads.yaml'), '--fail-on', 'warn']);
    expect(preview.stdout).toMatch(/ 0 deny, 0 warn, [1-9]\d* info\n$/);
    expect(preview.code).toBe(0);
    const bad = await runCli([...warnOnly, '--fail-on', 'info']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^egress-guard: --fail-on: "info" is not one of deny, warn\n/);
  });

  it('-o sarif is a SARIF 2.1.0 log that validates against the schema, with rules and file/line locations', async () => {
    const result = await runCli(['check', ...pipelineInputs, '-o', 'sarif']);
    expect(result.code).toBe(1);
    const log = JSON.parse(result.stdout) as {
      version: string;
      runs: {
        tool: { driver: { name: string; rules: { id: string; help?: { text: string } }[] } };
        results: {
          ruleId: string;
          ruleIndex: number;
          level: string;
          message: { text: string };
          locations: {
            physicalLocation?: { artifactLocation: { uri: string }; region: { startLine: number } };
          }[];
        }[];
      }[];
    };
    const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false });
    addFormats.default(ajv);
    const validate = ajv.compile(sarifSchema);
    expect(validate(log) ? [] : validate.errors).toEqual([]);
    // The schema has teeth: a wrong version or a result without a message does not pass.
    expect(validate({ ...log, version: '2.0.0' })).toBe(false);
    const withoutMessage = JSON.parse(result.stdout) as { runs: { results: { message?: unknown }[] }[] };
    delete withoutMessage.runs[0]?.results[0]?.message;
    expect(validate(withoutMessage)).toBe(false);
    expect(log.version).toBe('2.1.0');
    const [run] = log.runs;
    expect(run?.tool.driver.name).toBe('egress-guard');
    const ruleIds = run?.tool.driver.rules.map((rule) => rule.id);
    expect(ruleIds).toEqual(['http-to-tls-port', 'wildcard-dns']);
    for (const rule of run?.tool.driver.rules ?? []) expect(rule.help?.text).toMatch(/\w{10}/);
    const wildcard = run?.results.find((entry) => entry.ruleId === 'wildcard-dns');
    expect(wildcard).toMatchObject({
      level: 'error',
      message: { text: expect.stringMatching(/^ServiceEntry external\/wildcard: spec\.hosts\[1\]/) },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: 'test/fixtures/cli/wildcard-dns.yaml' },
            region: { startLine: 10 },
          },
        },
      ],
    });
    expect(run?.results.find((entry) => entry.ruleId === 'http-to-tls-port')?.level).toBe('warning');
    for (const entry of run?.results ?? []) expect(ruleIds?.[entry.ruleIndex]).toBe(entry.ruleId);
    // The pod previews (info) are not problems to fix: no results for them.
    expect(run?.results.map((entry) => entry.ruleId).sort()).toEqual(['http-to-tls-port', 'wildcard-dns']);
  });
});

const pipelineInputs = [
  '-f',
  fixture('wildcard-dns.yaml'),
  '-f',
  fixture('oss-without-destination-rule.yaml'),
  '-f',
  fixture('opted-in-workloads.yaml'),
];
