// The one place configuration is read. Everything else receives a Config value.
import {
  DEFAULT_ISTIO_VERSION,
  defaultAllocator,
  formatVersion,
  parseIstioVersion,
  type IstioTarget,
} from './istio/version.js';
import { parsePortList, PortListError } from './rules/port-list.js';
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
  /** Optional CA bundle; when set, the admission listener requires a client certificate signed by it. */
  clientCaFile?: string;
  autoAllocateMode: AutoAllocateMode;
  /** The Istio release (ISTIO_VERSION) and the IP allocator in force (ISTIOD_IP_AUTOALLOCATE, else the release's). */
  istio: IstioTarget;
  expectedPorts: number[];
  undeclaredPortsAction: UndeclaredPortsAction;
  logLevel: string;
  /** Largest accepted AdmissionReview body; controller-runtime allows 7 MiB. */
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
  bodyLimitBytes: 7 * 1024 * 1024,
  shutdownDelaySeconds: 5,
} as const satisfies Omit<Config, 'expectedPorts' | 'istio'> & { expectedPorts: readonly number[] };

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export type Env = Record<string, string | undefined>;

/** Reads and checks every setting; a bad value throws ConfigError naming the variable and what it accepts. */
export function loadConfig(env: Env): Config {
  const clientCaFile = nonEmpty(env.CLIENT_CA_FILE);
  const autoAllocateMode = oneOf(env, 'AUTO_ALLOCATE_MODE', ['agent', 'controller'], DEFAULTS.autoAllocateMode);
  const istio = istioTargetFrom(env);
  // The webhook's controller mode leaves allocation to istiod: without istiod's allocator no pod would get addresses.
  if (autoAllocateMode === 'controller' && istio.allocator === 'legacy') {
    throw new ConfigError(
      `AUTO_ALLOCATE_MODE: "controller" needs istiod's IP allocator, which Istio ${formatVersion(istio.version)} ` +
        `${nonEmpty(env.ISTIOD_IP_AUTOALLOCATE) === undefined ? 'does not run by default (1.25+ does)' : 'runs with ISTIOD_IP_AUTOALLOCATE=false'}; ` +
        `set AUTO_ALLOCATE_MODE=agent, or ISTIOD_IP_AUTOALLOCATE=true if istiod has PILOT_ENABLE_IP_AUTOALLOCATE=true`,
    );
  }
  return {
    port: portFrom(env, 'PORT', DEFAULTS.port),
    opsPort: portFrom(env, 'OPS_PORT', DEFAULTS.opsPort),
    host: nonEmpty(env.HOST) ?? DEFAULTS.host,
    tlsCertFile: nonEmpty(env.TLS_CERT_FILE) ?? DEFAULTS.tlsCertFile,
    tlsKeyFile: nonEmpty(env.TLS_KEY_FILE) ?? DEFAULTS.tlsKeyFile,
    ...(clientCaFile ? { clientCaFile } : {}),
    autoAllocateMode,
    istio,
    expectedPorts:
      env.EXPECTED_PORTS === undefined
        ? [...DEFAULTS.expectedPorts]
        : portListFrom(env.EXPECTED_PORTS, 'EXPECTED_PORTS'),
    undeclaredPortsAction: oneOf(env, 'UNDECLARED_PORTS_ACTION', ['warn', 'deny'], DEFAULTS.undeclaredPortsAction),
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, DEFAULTS.logLevel),
    bodyLimitBytes: DEFAULTS.bodyLimitBytes,
    shutdownDelaySeconds: secondsFrom(env, 'SHUTDOWN_DELAY_SECONDS', DEFAULTS.shutdownDelaySeconds),
  };
}

/** What the rules need of the configuration; one object, so caches keyed on it (HostIndex) stay warm. */
export function ruleSettingsOf(config: Config): RuleSettings {
  return {
    expectedPorts: config.expectedPorts,
    undeclaredPortsAction: config.undeclaredPortsAction,
    istio: config.istio,
  };
}

function portListFrom(text: string, name: string): number[] {
  try {
    return parsePortList(text, name);
  } catch (error) {
    if (error instanceof PortListError) throw new ConfigError(error.message);
    throw error;
  }
}

/**
 * ISTIO_VERSION: the Istio release of the cluster ("1.28" or "1.28.3"). ISTIOD_IP_AUTOALLOCATE: istiod's
 * PILOT_ENABLE_IP_AUTOALLOCATE, when it differs from the release's default (on from 1.25).
 */
function istioTargetFrom(env: Env): IstioTarget {
  const raw = nonEmpty(env.ISTIO_VERSION);
  const version = raw === undefined ? DEFAULT_ISTIO_VERSION : parseIstioVersion(raw);
  if (version === undefined) {
    throw new ConfigError(`ISTIO_VERSION: "${raw}" is not an Istio release like "1.28" or "1.28.3"`);
  }
  const fallback = defaultAllocator(version) === 'istiod' ? 'true' : 'false';
  const autoallocate = oneOf(env, 'ISTIOD_IP_AUTOALLOCATE', ['true', 'false'], fallback);
  return { version, allocator: autoallocate === 'true' ? 'istiod' : 'legacy' };
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
