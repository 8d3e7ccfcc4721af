import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig, parsePortList } from './config.js';

describe('loadConfig', () => {
  it('runs on embedded defaults with an empty environment', () => {
    expect(loadConfig({})).toEqual({
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
    });
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
  ])('rejects %p with a message naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('never echoes a value it was not asked to check', () => {
    expect(() => loadConfig({ PORT: 'x', SECRET_TOKEN: 'hunter2' })).toThrow(/^(?!.*hunter2)/);
  });
});

describe('parsePortList', () => {
  it('sorts, deduplicates and ignores empty items', () => {
    expect(parsePortList('443,80,,443 ', 'x')).toEqual([80, 443]);
  });
  it.each(['0', '65536', '8o', '-1', '1.5'])('rejects %p', (item) => {
    expect(() => parsePortList(`80,${item}`, 'egress-guard.io/expected-ports')).toThrow(
      /egress-guard.io\/expected-ports/,
    );
  });
});
