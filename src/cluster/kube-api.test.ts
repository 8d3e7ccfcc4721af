// The client-node transport, configured both ways (a kubeconfig, a ServiceAccount directory), against a local HTTPS
// server playing the API server: pages, Status errors, watch streams, timeouts and aborts.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { issue, newCa } from '../../test/support/certificates.js';
import { waitFor } from '../../test/support/wait.js';
import { clientNodeApi } from './client-node-api.js';
import { loadClusterConfig } from './kube-config.js';
import { KubeApiError, type KubeApi, type WatchEvent } from './kube-api.js';
import { ISTIO_NETWORKING } from './watcher.js';

const TOKEN = 'test-token-must-not-leak';
const SE = ISTIO_NETWORKING.ServiceEntry;

type Handler = (request: IncomingMessage, response: ServerResponse, url: URL) => void;

let server: Server;
let serverUrl = '';
let caPem = '';
const transports: Record<string, KubeApi> = {};
let handler: Handler = (_request, response) => response.end();
const seen: { url: URL; authorization: string | undefined }[] = [];
const openResponses = new Set<ServerResponse>();

beforeAll(async () => {
  const ca = await newCa();
  const leaf = await issue(ca);
  server = createServer({ cert: leaf.certPem, key: leaf.keyPem }, (request, response) => {
    const url = new URL(request.url ?? '/', 'https://localhost');
    seen.push({ url, authorization: request.headers.authorization });
    openResponses.add(response);
    response.on('close', () => openResponses.delete(response));
    handler(request, response, url);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  serverUrl = `https://127.0.0.1:${port}`;
  caPem = ca.certPem;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [
      { name: 'test', server: serverUrl, caData: Buffer.from(ca.certPem).toString('base64'), skipTLSVerify: false },
    ],
    users: [{ name: 'test', token: TOKEN }],
    contexts: [{ name: 'test', cluster: 'test', user: 'test' }],
    currentContext: 'test',
  });
  transports['kubeconfig'] = clientNodeApi(kubeConfig);
  transports['in-cluster'] = await inClusterApi(ca.certPem);
});

afterAll(async () => {
  for (const response of openResponses) response.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** The transport as the server builds it in a pod: a ServiceAccount directory and KUBERNETES_SERVICE_*. */
async function inClusterApi(caCertPem: string): Promise<KubeApi> {
  const sa = mkdtempSync(join(tmpdir(), 'egress-guard-sa-'));
  writeFileSync(join(sa, 'ca.crt'), caCertPem);
  writeFileSync(join(sa, 'token'), TOKEN);
  const { port } = new URL(serverUrl);
  const config = await loadClusterConfig(
    { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: port },
    { serviceAccountDir: sa },
  );
  if (!config) throw new Error('no in-cluster config');
  return clientNodeApi(config.kubeConfig);
}

const json = (response: ServerResponse, status: number, body: unknown) => {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
};

function collectWatch(api: KubeApi, options: { resourceVersion?: string; connectTimeoutMs?: number } = {}) {
  const events: WatchEvent[] = [];
  const result = { opened: false, ended: false, error: undefined as KubeApiError | undefined, events };
  const handle = api.watch(
    SE,
    {
      resourceVersion: options.resourceVersion ?? '7',
      timeoutSeconds: 300,
      connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
    },
    {
      onOpen: () => (result.opened = true),
      onEvent: (event) => events.push(event),
      onEnd: (error) => {
        if (result.ended) throw new Error('onEnd called twice');
        result.ended = true;
        result.error = error;
      },
    },
  );
  return { result, handle };
}

describe.each(['kubeconfig', 'in-cluster'])('%s transport', (name) => {
  let api: KubeApi;
  beforeAll(() => {
    api = transports[name] as KubeApi;
  });

  describe('list', () => {
    it('asks for one page with the bearer token and reads items, resourceVersion and continue', async () => {
      handler = (_request, response) =>
        json(response, 200, {
          apiVersion: 'networking.istio.io/v1',
          kind: 'ServiceEntryList',
          metadata: { resourceVersion: '42', continue: 'next-page' },
          items: [{ metadata: { name: 'a' } }],
        });
      const page = await api.list(SE, { limit: 2, continue: 'this-page', timeoutMs: 5_000 });
      expect(page).toEqual({ items: [{ metadata: { name: 'a' } }], resourceVersion: '42', continue: 'next-page' });
      const request = seen.at(-1);
      expect(request?.url.pathname).toBe('/apis/networking.istio.io/v1/serviceentries');
      expect(request?.url.searchParams.get('limit')).toBe('2');
      expect(request?.url.searchParams.get('continue')).toBe('this-page');
      expect(request?.authorization).toBe(`Bearer ${TOKEN}`);
    });

    it('turns a Status into a KubeApiError with the status code and message, and no credentials', async () => {
      handler = (_request, response) =>
        json(response, 404, {
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          message: 'the server could not find the requested resource',
          reason: 'NotFound',
          code: 404,
        });
      const error = await api.list(SE, { limit: 500, timeoutMs: 5_000 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KubeApiError);
      expect(error).toMatchObject({
        status: 404,
        message: 'list serviceentries: HTTP 404 the server could not find the requested resource',
      });
      expect(String((error as Error).message)).not.toContain(TOKEN);
    });

    // Without the timeout the list would never settle, and jest's own test timeout would fail this test.
    it('gives up on a page after its timeout', async () => {
      handler = () => undefined; // never answers
      const error = await api.list(SE, { limit: 500, timeoutMs: 300 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KubeApiError);
      expect((error as KubeApiError).status).toBeUndefined();
    });
  });

  describe('watch', () => {
    it('opens, streams events line by line, and ends without error when the server closes', async () => {
      let response: ServerResponse | undefined;
      handler = (_request, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a', resourceVersion: '8' } } }) + '\n');
        response = res;
      };
      const { result } = collectWatch(api, { resourceVersion: '7' });
      await waitFor(() => result.events.length === 1, 'first event');
      expect(result.opened).toBe(true);
      const query = seen.at(-1)?.url.searchParams;
      expect(query?.get('watch')).toBe('true');
      expect(query?.get('resourceVersion')).toBe('7');
      expect(query?.get('allowWatchBookmarks')).toBe('true');
      expect(query?.get('timeoutSeconds')).toBe('300');
      response?.write(JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '9' } } }) + '\n');
      await waitFor(() => result.events.length === 2, 'bookmark');
      response?.end();
      await waitFor(() => result.ended, 'end');
      expect(result.error).toBeUndefined();
      expect(result.events.map((event) => event.type)).toEqual(['ADDED', 'BOOKMARK']);
    });

    it('reports a refused watch with its status and without opening', async () => {
      handler = (_request, response) => json(response, 403, { kind: 'Status', code: 403, message: 'forbidden' });
      const { result } = collectWatch(api);
      await waitFor(() => result.ended, 'end');
      expect(result.opened).toBe(false);
      expect(result.error?.status).toBe(403);
    });

    it('gives up when the server does not answer within the connect timeout', async () => {
      handler = () => undefined;
      const { result } = collectWatch(api, { connectTimeoutMs: 200 });
      await waitFor(() => result.ended, 'end', 3_000);
      expect(result.opened).toBe(false);
      expect(result.error?.message).toMatch(/no response within 200 ms/);
    });

    it('reports a broken connection as an error', async () => {
      handler = (_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.write('\n');
        setTimeout(() => response.socket?.destroy(), 50);
      };
      const { result } = collectWatch(api);
      await waitFor(() => result.ended, 'end');
      expect(result.opened).toBe(true);
      expect(result.error).toBeInstanceOf(KubeApiError);
    });

    it('stops on abort() without calling onEnd, and closes the connection', async () => {
      let closed = false;
      handler = (_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.write('\n');
        response.on('close', () => (closed = true));
      };
      const { result, handle } = collectWatch(api);
      await waitFor(() => result.opened, 'open');
      handle.abort();
      await waitFor(() => closed, 'server saw the close');
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(result.ended).toBe(false);
    });

    it('reports a refused connection', async () => {
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromOptions({
        clusters: [{ name: 'x', server: 'https://127.0.0.1:2', skipTLSVerify: true }],
        users: [{ name: 'x', token: TOKEN }],
        contexts: [{ name: 'x', cluster: 'x', user: 'x' }],
        currentContext: 'x',
      });
      const refused = clientNodeApi(kubeConfig);
      const error = await refused.list(SE, { limit: 1, timeoutMs: 2_000 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KubeApiError);
      expect((error as KubeApiError).message).toMatch(/^list serviceentries: https:\/\/127\.0\.0\.1:2: .*ECONNREFUSED/);
      expect((error as KubeApiError).message).not.toContain(TOKEN);
      const ended = await new Promise<KubeApiError | undefined>((resolve) => {
        refused.watch(
          SE,
          { resourceVersion: '1', timeoutSeconds: 60, connectTimeoutMs: 2_000 },
          { onOpen: () => undefined, onEvent: () => undefined, onEnd: resolve },
        );
      });
      expect(ended?.message).toMatch(/^watch serviceentries: https:\/\/127\.0\.0\.1:2: .*ECONNREFUSED/);
    });
  });
});

describe('in-cluster transport', () => {
  it('sends the token from the ServiceAccount directory', async () => {
    handler = (_request, response) => json(response, 200, { metadata: { resourceVersion: '1' }, items: [] });
    await (transports['in-cluster'] as KubeApi).list(SE, { limit: 1, timeoutMs: 5_000 });
    expect(seen.at(-1)?.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('refuses a server certificate its CA file did not sign', async () => {
    const otherCa = await newCa('someone else');
    const api = await inClusterApi(otherCa.certPem);
    const before = seen.length;
    const error = await api.list(SE, { limit: 1, timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeApiError);
    expect(seen.length).toBe(before);
    expect(caPem).not.toBe(otherCa.certPem);
  });
});
