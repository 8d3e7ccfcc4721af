import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('runs on embedded defaults with an empty environment', () => {
    expect(loadConfig({})).toEqual({
      port: 8443,
      opsPort: 8080,
      host: '0.0.0.0',
      tlsCertFile: 'certs/tls.crt',
      tlsKeyFile: 'certs/tls.key',
      autoAllocateMode: 'agent',
      istio: { version: { major: 1, minor: 31 }, allocator: 'istiod' },
      expectedPorts: [80, 443],
      undeclaredPortsAction: 'warn',
      logLevel: 'info',
      bodyLimitBytes: 6 * 1024 * 1024,
      shutdownDelaySeconds: 5,
      certificates: {
        source: 'files',
        secret: 'egress-guard-certs',
        namespace: 'egress-guard',
        service: 'egress-guard',
        certDays: 365,
        caDays: 1825,
        checkSeconds: 60,
        caFile: 'certs/ca.crt',
      },
    });
  });

  it('reads the certificate settings', () => {
    expect(
      loadConfig({
        TLS_CERT_FILE: '/tls/tls.crt',
        CERT_SOURCE: 'secret',
        CERT_SECRET: 'my-certs',
        POD_NAMESPACE: 'guard',
        WEBHOOK_CONFIGURATION: 'guard-hooks',
        WEBHOOK_SERVICE: 'guard-svc',
        WEBHOOK_URL_BASE: 'https://127.0.0.1:9443/',
        CERT_VALIDITY_DAYS: '30',
        CA_VALIDITY_DAYS: '90',
        CERT_CHECK_SECONDS: '5',
      }).certificates,
    ).toEqual({
      source: 'secret',
      secret: 'my-certs',
      namespace: 'guard',
      webhookConfiguration: 'guard-hooks',
      service: 'guard-svc',
      urlBase: 'https://127.0.0.1:9443',
      certDays: 30,
      caDays: 90,
      checkSeconds: 5,
      caFile: '/tls/ca.crt',
    });
  });

  it.each([
    ['CERT_SOURCE', 'vault', 'is not one of files, secret'],
    ['CERT_SECRET', 'My_Secret', 'is not a Kubernetes object name'],
    ['WEBHOOK_URL_BASE', 'http://127.0.0.1:9443', 'is not an https:// URL'],
    ['CERT_VALIDITY_DAYS', '0', 'is not a whole number from 1 to 36500'],
    ['CERT_CHECK_SECONDS', '1.5', 'is not a whole number from 1 to 86400'],
  ])('refuses %s=%s', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(`${name}: "${value}" ${message}`);
  });

  it('reads every setting from the environment', () => {
    const config = loadConfig({
      PORT: '9443',
      OPS_PORT: '9090',
      HOST: '127.0.0.1',
      TLS_CERT_FILE: '/tls/c',
      TLS_KEY_FILE: '/tls/k',
      CLIENT_CA_FILE: '/tls/ca',
      AUTO_ALLOCATE_MODE: 'controller',
      EXPECTED_PORTS: '443, 80,9444',
      UNDECLARED_PORTS_ACTION: 'deny',
      LOG_LEVEL: 'debug',
      SHUTDOWN_DELAY_SECONDS: '0.5',
    });
    expect(config).toMatchObject({
      port: 9443,
      opsPort: 9090,
      host: '127.0.0.1',
      tlsCertFile: '/tls/c',
      tlsKeyFile: '/tls/k',
      clientCaFile: '/tls/ca',
      autoAllocateMode: 'controller',
      expectedPorts: [80, 443, 9444],
      undeclaredPortsAction: 'deny',
      logLevel: 'debug',
      shutdownDelaySeconds: 0.5,
    });
  });

  it.each([
    [{ PORT: 'https' }, /PORT: "https" is not a port number/],
    [{ OPS_PORT: '70000' }, /OPS_PORT/],
    [{ AUTO_ALLOCATE_MODE: 'istiod' }, /AUTO_ALLOCATE_MODE: "istiod" is not one of agent, controller/],
    [{ UNDECLARED_PORTS_ACTION: 'block' }, /UNDECLARED_PORTS_ACTION/],
    [{ EXPECTED_PORTS: '80,https' }, /EXPECTED_PORTS: "https" is not a port number/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ SHUTDOWN_DELAY_SECONDS: '-1' }, /SHUTDOWN_DELAY_SECONDS/],
    [{ ISTIO_VERSION: 'latest' }, /ISTIO_VERSION: "latest" is not an Istio release like "1.28"/],
    [{ ISTIO_VERSION: '2.1' }, /ISTIO_VERSION: "2.1" is not an Istio release/],
    [{ ISTIOD_IP_AUTOALLOCATE: 'on' }, /ISTIOD_IP_AUTOALLOCATE: "on" is not one of true, false/],
    // controller mode leaves allocation to istiod; a release whose istiod does not allocate would get no addresses.
    [
      { AUTO_ALLOCATE_MODE: 'controller', ISTIO_VERSION: '1.24.2' },
      /AUTO_ALLOCATE_MODE: "controller" needs istiod's IP allocator, which Istio 1.24 does not run by default \(1.25\+ does\); set AUTO_ALLOCATE_MODE=agent/,
    ],
    [
      { AUTO_ALLOCATE_MODE: 'controller', ISTIOD_IP_AUTOALLOCATE: 'false' },
      /Istio 1.31 runs with ISTIOD_IP_AUTOALLOCATE=false/,
    ],
  ])('rejects %p with a message naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  // pilot/pkg/features/pilot.go PILOT_ENABLE_IP_AUTOALLOCATE (default true on master; the default from 1.25).
  it.each([
    [{}, { version: { major: 1, minor: 31 }, allocator: 'istiod' }],
    [{ ISTIO_VERSION: '1.25' }, { version: { major: 1, minor: 25 }, allocator: 'istiod' }],
    [{ ISTIO_VERSION: 'v1.24.6' }, { version: { major: 1, minor: 24 }, allocator: 'legacy' }],
    [
      { ISTIO_VERSION: '1.22', ISTIOD_IP_AUTOALLOCATE: 'true' },
      { version: { major: 1, minor: 22 }, allocator: 'istiod' },
    ],
    [
      { ISTIO_VERSION: '1.28.0-beta.1', ISTIOD_IP_AUTOALLOCATE: 'false' },
      { version: { major: 1, minor: 28 }, allocator: 'legacy' },
    ],
    [
      { ISTIO_VERSION: '1.24', AUTO_ALLOCATE_MODE: 'agent' },
      { version: { major: 1, minor: 24 }, allocator: 'legacy' },
    ],
    [
      { ISTIO_VERSION: '1.26', AUTO_ALLOCATE_MODE: 'controller' },
      { version: { major: 1, minor: 26 }, allocator: 'istiod' },
    ],
  ])('reads the Istio release and its allocator from %p', (env, istio) => {
    expect(loadConfig(env).istio).toEqual(istio);
  });

  it('never echoes a value it was not asked to check', () => {
    expect(() => loadConfig({ PORT: 'x', SECRET_TOKEN: 'hunter2' })).toThrow(/^(?!.*hunter2)/);
  });
});
