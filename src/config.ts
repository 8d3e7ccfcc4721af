// The one place configuration is read. Everything else receives a Config value.
import type { RuleSettings, UndeclaredPortsAction } from './rules/types.js';

export type AutoAllocateMode = 'agent' | 'controller';

export interface Config {
  /** HTTPS admission listener (PORT). */
  port: number;
  /** Plain-HTTP ops listener: /healthz, /readyz, /metrics (OPS_PORT). */
  opsPort: number;
  /** Address both listeners bind (HOST). */
  host: string;
  tlsCertFile: string;
  tlsKeyFile: string;
  /** Optional CA bundle; when set, the admission listener requires a client certificate signed by it (issue 6). */
  clientCaFile?: string;
  autoAllocateMode: AutoAllocateMode;
  expectedPorts: number[];
  undeclaredPortsAction: UndeclaredPortsAction;
  logLevel: string;
  /**
   * Largest accepted AdmissionReview body: the API server's largest object (its request body limit, 3 MiB, plus the
   * managedFields it adds) and an UPDATE's oldObject (at most etcd's 1.5 MiB), with room for the envelope.
   */
  bodyLimitBytes: number;
  /**
   * After SIGTERM, keep answering (while /readyz says no) this long so endpoints drop us before we close
   * (SHUTDOWN_DELAY_SECONDS).
   */
  shutdownDelaySeconds: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const DEFAULTS = {
  port: 8443,
  opsPort: 8080,
  host: '0.0.0.0',
  tlsCertFile: 'certs/tls.crt',
  tlsKeyFile: 'certs/tls.key',
  autoAllocateMode: 'agent',
  expectedPorts: [80, 443],
  undeclaredPortsAction: 'warn',
  logLevel: 'info',
  bodyLimitBytes: 6 * 1024 * 1024,
  shutdownDelaySeconds: 5,
} as const satisfies Omit<Config, 'expectedPorts'> & { expectedPorts: readonly number[] };

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export type Env = Record<string, string | undefined>;

/** Reads and checks every setting; a bad value throws ConfigError naming the variable and what it accepts. */
export function loadConfig(env: Env): Config {
  const clientCaFile = nonEmpty(env.CLIENT_CA_FILE);
  return {
    port: portFrom(env, 'PORT', DEFAULTS.port),
    opsPort: portFrom(env, 'OPS_PORT', DEFAULTS.opsPort),
    host: nonEmpty(env.HOST) ?? DEFAULTS.host,
    tlsCertFile: nonEmpty(env.TLS_CERT_FILE) ?? DEFAULTS.tlsCertFile,
    tlsKeyFile: nonEmpty(env.TLS_KEY_FILE) ?? DEFAULTS.tlsKeyFile,
    ...(clientCaFile ? { clientCaFile } : {}),
    autoAllocateMode: oneOf(env, 'AUTO_ALLOCATE_MODE', ['agent', 'controller'], DEFAULTS.autoAllocateMode),
    expectedPorts:
      env.EXPECTED_PORTS === undefined
        ? [...DEFAULTS.expectedPorts]
        : parsePortList(env.EXPECTED_PORTS, 'EXPECTED_PORTS'),
    undeclaredPortsAction: oneOf(env, 'UNDECLARED_PORTS_ACTION', ['warn', 'deny'], DEFAULTS.undeclaredPortsAction),
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, DEFAULTS.logLevel),
    bodyLimitBytes: DEFAULTS.bodyLimitBytes,
    shutdownDelaySeconds: secondsFrom(env, 'SHUTDOWN_DELAY_SECONDS', DEFAULTS.shutdownDelaySeconds),
  };
}

/** What the rules need of the configuration; one object, so caches keyed on it (HostIndex) stay warm. */
export function ruleSettingsOf(config: Config): RuleSettings {
  return { expectedPorts: config.expectedPorts, undeclaredPortsAction: config.undeclaredPortsAction };
}

/** "80,443, 9444" -> [80, 443, 9444]; shared with the ServiceEntry annotation egress-guard.io/expected-ports. */
export function parsePortList(text: string, what: string): number[] {
  const ports = text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  const parsed = ports.map((part) => {
    const port = /^\d+$/.test(part) ? Number(part) : NaN;
    if (!(port >= 1 && port <= 65535)) {
      throw new ConfigError(
        `${what}: "${part}" is not a port number (1-65535); expected a comma-separated list like "80,443"`,
      );
    }
    return port;
  });
  return [...new Set(parsed)].sort((a, b) => a - b);
}

function portFrom(env: Env, name: string, fallback: number): number {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return fallback;
  const port = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(port >= 0 && port <= 65535)) throw new ConfigError(`${name}: "${raw}" is not a port number (0-65535)`);
  return port;
}

function secondsFrom(env: Env, name: string, fallback: number): number {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return fallback;
  const seconds = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
  if (!(seconds >= 0 && seconds <= 300)) throw new ConfigError(`${name}: "${raw}" is not a number of seconds (0-300)`);
  return seconds;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name}: "${raw}" is not one of ${allowed.join(', ')}`);
  }
  return raw as T;
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
