// The command line of `egress-guard`: subcommands, their options and usage texts. Pure: argv and the
// environment in, a command (or a UsageError) out; rule settings go through loadConfig like the server's.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, ruleSettingsOf, type AutoAllocateMode, type Env } from '../config.js';
import type { RuleSettings } from '../rules/types.js';

export type OutputFormat = 'text' | 'json' | 'policyreport' | 'sarif';
const OUTPUT_FORMATS: readonly OutputFormat[] = ['text', 'json', 'policyreport', 'sarif'];

/** The least severity that fails a run (exit 1). */
export type FailOn = 'deny' | 'warn';
const FAIL_ON: readonly FailOn[] = ['deny', 'warn'];

export type Topic = 'main' | 'check' | 'audit';

export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    readonly topic: Topic = 'main',
  ) {
    super(message);
  }
}

/** The flags behind rule settings; each falls back to the server's environment variable, then its default. */
export interface SettingFlags {
  expectedPorts?: string;
  undeclaredPortsAction?: string;
  autoAllocateMode?: string;
  istioVersion?: string;
  istiodIpAutoallocate?: string;
}

export interface CheckCommand {
  command: 'check';
  files: string[];
  namespace: string;
  optedIn: string[];
  output: OutputFormat;
  failOn: FailOn;
  settings: RuleSettings;
  mode: AutoAllocateMode;
}

export interface AuditCommand {
  command: 'audit';
  kubeconfig?: string;
  context?: string;
  progress: boolean;
  output: OutputFormat;
  failOn: FailOn;
  settings: RuleSettings;
  mode: AutoAllocateMode;
}

export type Command = { command: 'help'; topic: Topic } | { command: 'version' } | CheckCommand | AuditCommand;

const SETTINGS_HELP = `      --expected-ports LIST         ports every auto-allocated host should declare
                                    (default: $EXPECTED_PORTS, else 80,443)
      --undeclared-ports-action A   warn or deny: severity of the port-trap rules
                                    (default: $UNDECLARED_PORTS_ACTION, else warn)
      --auto-allocate-mode M        agent or controller: which proxyMetadata the webhook adds
                                    (default: $AUTO_ALLOCATE_MODE, else agent)
      --istio-version V             Istio release of the cluster, e.g. 1.28: decides the IP allocator and fixes
                                    (default: $ISTIO_VERSION, else 1.31)
      --istiod-ip-autoallocate B    true or false: istiod's PILOT_ENABLE_IP_AUTOALLOCATE
                                    (default: $ISTIOD_IP_AUTOALLOCATE, else true from Istio 1.25)`;

const EXIT_HELP = `Exit status: 0 nothing at the --fail-on level, 1 something at it (deny by default), 2 usage, read,
parse or API error, or a kustomization directory.`;

const OUTPUT_HELP = `  -o, --output FORMAT               text (default), json, policyreport (wgpolicyk8s.io/v1alpha2, YAML)
                                    or sarif (SARIF 2.1.0, for code-scanning views)
      --fail-on LEVEL               deny (default) or warn: the least severity that makes the exit status 1`;

export const USAGE: Readonly<Record<Topic, string>> = {
  main: `usage: egress-guard <command> [options]

Commands:
  check    check manifest files offline, for CI pipelines and pre-commit hooks
  audit    check the live cluster of the current kubeconfig context

Options:
  -h, --help       show this help ('egress-guard <command> --help' for a command's options)
      --version    print the version

${EXIT_HELP}`,
  check: `usage: egress-guard check -f FILE|DIR|- [-f ...] [options]

Runs the admission rules over the ServiceEntries and DestinationRules of all the inputs together, and shows
what the mutating webhook would add to Pods and pod templates in opted-in namespaces.

Options:
  -f, --filename PATH               YAML or JSON manifests: a file, a directory (recursive: *.yaml, *.yml,
                                    *.json) or - for stdin; repeatable; List kinds are expanded. A directory
                                    holding a kustomization is refused (exit 2): check reads files as they
                                    are and does not render kustomize; pipe the rendered output instead:
                                    kubectl kustomize DIR | egress-guard check -f -
  -n, --namespace NS                namespace of objects that name none (default: default)
      --opted-in NS                 treat NS as labelled egress-guard.io/dns-capture=enabled; repeatable
                                    (labelled Namespace objects in the input count without it)
${OUTPUT_HELP}
${SETTINGS_HELP}
  -h, --help                        show this help

${EXIT_HELP}`,
  audit: `usage: egress-guard audit [--kubeconfig PATH] [--context NAME] [options]

Runs the admission rules over every ServiceEntry and DestinationRule in the cluster, and finds the pods in
opted-in namespaces that lack the DNS-capture proxyMetadata (created while the webhook was down or before the
namespace opted in), grouped by the workload to restart.

Options:
      --kubeconfig PATH             kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)
      --context NAME                kubeconfig context (default: the current context)
  -o, --output FORMAT               text (default), json or policyreport (wgpolicyk8s.io/v1alpha2, YAML)
      --progress                    report listing progress on stderr (default: only when stderr is a terminal)
${SETTINGS_HELP}
  -h, --help                        show this help

${EXIT_HELP}`,
};

const SETTING_OPTIONS = {
  'expected-ports': { type: 'string' },
  'undeclared-ports-action': { type: 'string' },
  'auto-allocate-mode': { type: 'string' },
  'istio-version': { type: 'string' },
  'istiod-ip-autoallocate': { type: 'string' },
} as const;

const OUTPUT_OPTIONS = {
  output: { type: 'string', short: 'o' },
  'fail-on': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** A DNS-1123 label, what Kubernetes accepts as a namespace name. */
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** argv without node and the script. Throws UsageError; `env` supplies the settings' fallbacks. */
export function parseCommandLine(argv: readonly string[], env: Env): Command {
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError('no command given');
  if (first.startsWith('-')) {
    const { values } = parse(argv, { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } }, 'main');
    if (values.help) return { command: 'help', topic: 'main' };
    if (values.version) return { command: 'version' };
    throw new UsageError('no command given');
  }
  switch (first) {
    case 'check':
      return parseCheck(rest, env);
    case 'audit':
      return parseAudit(rest, env);
    case 'help':
      return { command: 'help', topic: rest[0] === 'check' || rest[0] === 'audit' ? rest[0] : 'main' };
    default:
      throw new UsageError(`unknown command "${first}"`);
  }
}

function parseCheck(argv: readonly string[], env: Env): Command {
  const { values } = parse(
    argv,
    {
      filename: { type: 'string', short: 'f', multiple: true },
      namespace: { type: 'string', short: 'n' },
      'opted-in': { type: 'string', multiple: true },
      ...OUTPUT_OPTIONS,
      ...SETTING_OPTIONS,
    },
    'check',
  );
  if (values.help) return { command: 'help', topic: 'check' };
  const files = values.filename ?? [];
  if (files.length === 0) throw new UsageError('no input: give -f FILE, -f DIR or -f - (stdin)', 'check');
  if (files.some((file) => file === '')) throw new UsageError('-f: empty file name', 'check');
  const namespace = values.namespace ?? 'default';
  const optedIn = values['opted-in'] ?? [];
  for (const [flag, name] of [
    ['--namespace', namespace],
    ...optedIn.map((name) => ['--opted-in', name] as const),
  ] as const) {
    if (!NAMESPACE_NAME.test(name)) throw new UsageError(`${flag}: "${name}" is not a namespace name`, 'check');
  }
  return {
    command: 'check',
    // `-f -` twice would read stdin twice; once is what was meant.
    files: files.filter((file, index) => file !== '-' || files.indexOf('-') === index),
    namespace,
    optedIn: [...new Set(optedIn)],
    output: outputFormat(values.output, 'check'),
    failOn: failOn(values['fail-on'], 'check'),
    ...settingsFrom(values, env, 'check'),
  };
}

function parseAudit(argv: readonly string[], env: Env): Command {
  const { values } = parse(
    argv,
    {
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      progress: { type: 'boolean' },
      ...OUTPUT_OPTIONS,
      ...SETTING_OPTIONS,
    },
    'audit',
  );
  if (values.help) return { command: 'help', topic: 'audit' };
  if (values.kubeconfig === '') throw new UsageError('--kubeconfig: empty path', 'audit');
  if (values.context === '') throw new UsageError('--context: empty name', 'audit');
  return {
    command: 'audit',
    ...(values.kubeconfig === undefined ? {} : { kubeconfig: values.kubeconfig }),
    ...(values.context === undefined ? {} : { context: values.context }),
    progress: values.progress ?? false,
    output: outputFormat(values.output, 'audit'),
    failOn: failOn(values['fail-on'], 'audit'),
    ...settingsFrom(values, env, 'audit'),
  };
}

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

function parse<T extends Options>(argv: readonly string[], options: T, topic: Topic) {
  try {
    const result = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
    const [positional] = result.positionals;
    if (positional !== undefined) {
      const hint = topic === 'check' ? ' (give files with -f)' : '';
      throw new UsageError(`unexpected argument "${positional}"${hint}`, topic);
    }
    return result;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    // parseArgs explains itself over several lines; the first is the point.
    throw new UsageError((error as Error).message.split('\n')[0] ?? String(error), topic);
  }
}

function outputFormat(value: string | undefined, topic: Topic): OutputFormat {
  if (value === undefined) return 'text';
  if ((OUTPUT_FORMATS as readonly string[]).includes(value)) return value as OutputFormat;
  throw new UsageError(`--output: "${value}" is not one of ${OUTPUT_FORMATS.join(', ')}`, topic);
}

function failOn(value: string | undefined, topic: Topic): FailOn {
  if (value === undefined) return 'deny';
  if ((FAIL_ON as readonly string[]).includes(value)) return value as FailOn;
  throw new UsageError(`--fail-on: "${value}" is not one of ${FAIL_ON.join(', ')}`, topic);
}

const SETTING_VARIABLES = [
  ['expected-ports', 'EXPECTED_PORTS'],
  ['undeclared-ports-action', 'UNDECLARED_PORTS_ACTION'],
  ['auto-allocate-mode', 'AUTO_ALLOCATE_MODE'],
  ['istio-version', 'ISTIO_VERSION'],
  ['istiod-ip-autoallocate', 'ISTIOD_IP_AUTOALLOCATE'],
] as const;

/**
 * Flags override the server's environment variables; loadConfig parses both, so the CLI and the server agree
 * on every value. Only these variables are passed on: the server's others (PORT, LOG_LEVEL, ...) mean nothing
 * here and must not fail a CI run.
 */
function settingsFrom(
  values: Partial<Record<(typeof SETTING_VARIABLES)[number][0], unknown>>,
  env: Env,
  topic: Topic,
): { settings: RuleSettings; mode: AutoAllocateMode } {
  const relevant: Env = {};
  for (const [flag, variable] of SETTING_VARIABLES) {
    const value = values[flag];
    relevant[variable] = typeof value === 'string' ? value : env[variable];
  }
  try {
    const config = loadConfig(relevant);
    return { settings: ruleSettingsOf(config), mode: config.autoAllocateMode };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // Name the flag when the value came from one.
    let message = error.message;
    for (const [flag, variable] of SETTING_VARIABLES) {
      if (typeof values[flag] === 'string' && message.startsWith(`${variable}:`))
        message = `--${flag}${message.slice(variable.length)}`;
    }
    throw new UsageError(message, topic);
  }
}
