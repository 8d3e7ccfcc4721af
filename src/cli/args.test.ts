import { describe, expect, it } from '@jest/globals';
import { parseCommandLine, UsageError } from './args.js';

const ISTIO = { version: { major: 1, minor: 31 }, allocator: 'istiod' };
const DEFAULTS = { settings: { expectedPorts: [80, 443], undeclaredPortsAction: 'warn', istio: ISTIO }, mode: 'agent' };

describe('parseCommandLine', () => {
  it.each([
    [['--help'], { command: 'help', topic: 'main' }],
    [['-h'], { command: 'help', topic: 'main' }],
    [['help'], { command: 'help', topic: 'main' }],
    [['help', 'audit'], { command: 'help', topic: 'audit' }],
    [['check', '--help'], { command: 'help', topic: 'check' }],
    [['audit', '-h'], { command: 'help', topic: 'audit' }],
    [['--version'], { command: 'version' }],
  ])('%j', (argv, command) => {
    expect(parseCommandLine(argv, {})).toEqual(command);
  });

  it('reads check’s options, repeatable ones included, and reads stdin once', () => {
    expect(
      parseCommandLine(
        [
          'check',
          '-f',
          'a.yaml',
          '--filename=dir',
          '-f',
          '-',
          '-f',
          '-',
          '-n',
          'team',
          '--opted-in',
          'shop',
          '--opted-in',
          'shop',
          '-ojson',
        ],
        {},
      ),
    ).toEqual({
      command: 'check',
      files: ['a.yaml', 'dir', '-'],
      namespace: 'team',
      optedIn: ['shop'],
      output: 'json',
      failOn: 'deny',
      ...DEFAULTS,
    });
  });

  it('reads audit’s options', () => {
    expect(
      parseCommandLine(
        ['audit', '--kubeconfig', '/k', '--context', 'prod', '--progress', '-o', 'policyreport', '--fail-on', 'warn'],
        {},
      ),
    ).toEqual({
      command: 'audit',
      kubeconfig: '/k',
      context: 'prod',
      progress: true,
      output: 'policyreport',
      failOn: 'warn',
      ...DEFAULTS,
    });
    expect(parseCommandLine(['audit'], {})).toEqual({
      command: 'audit',
      progress: false,
      output: 'text',
      failOn: 'deny',
      ...DEFAULTS,
    });
  });

  it('reads -o sarif and --fail-on, and rejects other levels', () => {
    expect(parseCommandLine(['check', '-f', 'x', '-o', 'sarif', '--fail-on', 'warn'], {})).toMatchObject({
      output: 'sarif',
      failOn: 'warn',
    });
    expect(() => parseCommandLine(['check', '-f', 'x', '--fail-on', 'info'], {})).toThrow(
      '--fail-on: "info" is not one of deny, warn',
    );
  });

  it.each([
    ['defaults', [], {}, DEFAULTS],
    [
      'the environment',
      [],
      { EXPECTED_PORTS: '443, 80,9444', UNDECLARED_PORTS_ACTION: 'deny', AUTO_ALLOCATE_MODE: 'controller' },
      { settings: { expectedPorts: [80, 443, 9444], undeclaredPortsAction: 'deny', istio: ISTIO }, mode: 'controller' },
    ],
    [
      'flags over the environment',
      ['--expected-ports', '8080', '--undeclared-ports-action', 'warn', '--auto-allocate-mode', 'agent'],
      { EXPECTED_PORTS: '1', UNDECLARED_PORTS_ACTION: 'deny', AUTO_ALLOCATE_MODE: 'controller' },
      { settings: { expectedPorts: [8080], undeclaredPortsAction: 'warn', istio: ISTIO }, mode: 'agent' },
    ],
    [
      'the Istio release',
      ['--istio-version', '1.24.3'],
      { ISTIO_VERSION: '1.28' },
      { settings: { istio: { version: { major: 1, minor: 24 }, allocator: 'legacy' } } },
    ],
    [
      "istiod's allocator switched on for an older release",
      ['--istiod-ip-autoallocate', 'true'],
      { ISTIO_VERSION: '1.24' },
      { settings: { istio: { version: { major: 1, minor: 24 }, allocator: 'istiod' } } },
    ],
    ['no server settings', [], { PORT: 'x', LOG_LEVEL: 'LOUD', SHUTDOWN_DELAY_SECONDS: '-1' }, DEFAULTS],
  ])('takes rule settings from %s', (_, flags, env, expected) => {
    expect(parseCommandLine(['check', '-f', 'x', ...flags], env)).toMatchObject(expected);
    expect(parseCommandLine(['audit', ...flags], env)).toMatchObject(expected);
  });

  it.each([
    [[], {}, 'no command given', 'main'],
    [['--bogus'], {}, "Unknown option '--bogus'", 'main'],
    [['deploy'], {}, 'unknown command "deploy"', 'main'],
    [['check'], {}, 'no input: give -f FILE, -f DIR or -f - (stdin)', 'check'],
    [['check', '-f'], {}, "Option '-f, --filename <value>' argument missing", 'check'],
    [['check', '-f', ''], {}, '-f: empty file name', 'check'],
    [['check', '-f', 'x', 'y'], {}, 'unexpected argument "y" (give files with -f)', 'check'],
    [['check', '-f', 'x', '--opted-in', 'Shop'], {}, '--opted-in: "Shop" is not a namespace name', 'check'],
    [['check', '-f', 'x', '-o', 'yaml'], {}, '--output: "yaml" is not one of text, json, policyreport', 'check'],
    [
      ['check', '-f', 'x', '--expected-ports', '0'],
      {},
      '--expected-ports: "0" is not a port number (1-65535); expected a comma-separated list like "80,443"',
      'check',
    ],
    [
      ['check', '-f', 'x'],
      { UNDECLARED_PORTS_ACTION: 'block' },
      'UNDECLARED_PORTS_ACTION: "block" is not one of warn, deny',
      'check',
    ],
    [
      ['check', '-f', 'x', '--istio-version', '2.0'],
      {},
      '--istio-version: "2.0" is not an Istio release like "1.28" or "1.28.3"',
      'check',
    ],
    [
      ['audit', '--auto-allocate-mode', 'controller'],
      { ISTIO_VERSION: '1.24' },
      `--auto-allocate-mode: "controller" needs istiod's IP allocator, which Istio 1.24 does not run by default`,
      'audit',
    ],
    [
      ['audit', '--istiod-ip-autoallocate', 'yes'],
      {},
      '--istiod-ip-autoallocate: "yes" is not one of true, false',
      'audit',
    ],
    [['audit', '--kubeconfig='], {}, '--kubeconfig: empty path', 'audit'],
    [['audit', 'prod'], {}, 'unexpected argument "prod"', 'audit'],
    [['audit', '-f', 'x'], {}, "Unknown option '-f'", 'audit'],
  ])('rejects %j', (argv, env, message, topic) => {
    let error: unknown;
    try {
      parseCommandLine(argv, env);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message.startsWith(message)).toBe(true);
    expect((error as UsageError).topic).toBe(topic);
  });
});
