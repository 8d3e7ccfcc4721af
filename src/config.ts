// The one place configuration is read. Everything else receives a Config value.
import {
  DEFAULT_ISTIO_VERSION,
  defaultAllocator,
  formatVersion,
  parseIstioVersion,
  type IstioTarget,
} from './istio/version.js';
import { parsePortList, PortListError } from './rules/port-list.js';
import { dirname, join } from 'node:path';
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
  /** Where the serving certificate comes from and which webhook configurations the server keeps in shape. */
  certificates: CertificateSettings;
}

export type CertificateSource = 'files' | 'secret';

export interface CertificateSettings {
  /** `secret`: self-managed CA and certificate in `secret` (read and written through the API); `files`: TLS_*_FILE (CERT_SOURCE). */
  source: CertificateSource;
  /** CERT_SECRET, in `namespace`. */
  secret: string;
  /** The server's own namespace (POD_NAMESPACE, from the downward API). */
  namespace: string;
  /** Name of both webhook configurations the server fills once ready; undefined: it registers nothing (WEBHOOK_CONFIGURATION). */
  webhookConfiguration?: string;
  /** Service in clientConfig.service and the certificate's SANs (WEBHOOK_SERVICE). */
  service: string;
  /** clientConfig.url = urlBase + path instead of the Service (WEBHOOK_URL_BASE): tests and out-of-cluster runs. */
  urlBase?: string;
  /** Serving certificate lifetime in days (CERT_VALIDITY_DAYS). */
  certDays: number;
  /** CA lifetime in days (CA_VALIDITY_DAYS). */
  caDays: number;
  /** How often the Secret and the configurations are re-read and repaired (CERT_CHECK_SECONDS). */
  checkSeconds: number;
  /** Files mode: the CA bundle registered as caBundle (TLS_CA_FILE). */
  caFile: string;
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
} as const satisfies Omit<Config, 'expectedPorts' | 'istio' | 'certificates'> & { expectedPorts: readonly number[] };

const CERT_DEFAULTS = {
  certSource: 'files',
  certSecret: 'egress-guard-certs',
  namespace: 'egress-guard',
  webhookService: 'egress-guard',
  certDays: 365,
  caDays: 1825,
  certCheckSeconds: 60,
} as const;

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
  const tlsCertFile = nonEmpty(env.TLS_CERT_FILE) ?? DEFAULTS.tlsCertFile;
  return {
    port: portFrom(env, 'PORT', DEFAULTS.port),
    opsPort: portFrom(env, 'OPS_PORT', DEFAULTS.opsPort),
    host: nonEmpty(env.HOST) ?? DEFAULTS.host,
    tlsCertFile,
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
    certificates: certificateSettings(env, tlsCertFile),
  };
}

function certificateSettings(env: Env, tlsCertFile: string): CertificateSettings {
  const webhookConfiguration = nonEmpty(env.WEBHOOK_CONFIGURATION);
  const urlBase = nonEmpty(env.WEBHOOK_URL_BASE);
  if (urlBase !== undefined && !/^https:\/\/[^/]+/.test(urlBase))
    throw new ConfigError(`WEBHOOK_URL_BASE: "${urlBase}" is not an https:// URL`);
  return {
    source: oneOf(env, 'CERT_SOURCE', ['files', 'secret'], CERT_DEFAULTS.certSource),
    secret: kubernetesName(env, 'CERT_SECRET', CERT_DEFAULTS.certSecret),
    namespace: kubernetesName(env, 'POD_NAMESPACE', CERT_DEFAULTS.namespace),
    ...(webhookConfiguration ? { webhookConfiguration: kubernetesName(env, 'WEBHOOK_CONFIGURATION', '') } : {}),
    service: kubernetesName(env, 'WEBHOOK_SERVICE', CERT_DEFAULTS.webhookService),
    ...(urlBase ? { urlBase: urlBase.replace(/\/+$/, '') } : {}),
    certDays: wholeFrom(env, 'CERT_VALIDITY_DAYS', CERT_DEFAULTS.certDays, 1, 36500),
    caDays: wholeFrom(env, 'CA_VALIDITY_DAYS', CERT_DEFAULTS.caDays, 1, 36500),
    checkSeconds: wholeFrom(env, 'CERT_CHECK_SECONDS', CERT_DEFAULTS.certCheckSeconds, 1, 86400),
    caFile: nonEmpty(env.TLS_CA_FILE) ?? join(dirname(tlsCertFile), 'ca.crt'),
  };
}

/** A DNS-1123 name (Secrets, Services, webhook configurations, namespaces all accept these). */
function kubernetesName(env: Env, name: string, fallback: string): string {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return fallback;
  if (raw.length > 253 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(raw))
    throw new ConfigError(`${name}: "${raw}" is not a Kubernetes object name (lower-case letters, digits, '-', '.')`);
  return raw;
}

function wholeFrom(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return fallback;
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= min && value <= max))
    throw new ConfigError(`${name}: "${raw}" is not a whole number from ${min} to ${max}`);
  return value;
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
