// KubeApi over node:https with a bearer token file and a CA bundle: the pod's ServiceAccount. This is what the
// server uses in a cluster, so it never loads @kubernetes/client-node (~70 MB RSS). The token file is re-read
// every minute, as client-go does, because kubelet rotates projected ServiceAccount tokens.
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { Agent, request } from 'node:https';
import { StringDecoder } from 'node:string_decoder';
import {
  KubeApiError,
  pathOf,
  safeJson,
  statusError,
  toKubeApiError,
  toListPage,
  type KubeApi,
  type WatchCallbacks,
  type WatchHandle,
} from './kube-api.js';

export interface HttpsApiOptions {
  /** https://host:port */
  server: string;
  /** PEM bundle to trust (the ServiceAccount's ca.crt). */
  caFile: string;
  /** Bearer token file (the ServiceAccount's token). */
  tokenFile: string;
  /** How long a read token is reused (default 60 s). */
  tokenTtlMs?: number;
}

/** Longest accepted list page body: 500 objects of a few KB each, with a wide margin. */
const MAX_LIST_BYTES = 256 * 1024 * 1024;

export function httpsApi(options: HttpsApiOptions): KubeApi {
  const base = new URL(options.server);
  const tokenTtlMs = options.tokenTtlMs ?? 60_000;
  // keepAlive lets the pages of a list share one TLS connection; watches hold their own.
  let agent: Agent | undefined;
  let agentCa = '';
  let token: { value: string; readAt: number } | undefined;

  /** Read on every request but cheap: the CA only rebuilds the agent when its content changed. */
  const agentFor = (): Agent => {
    const ca = readFileSync(options.caFile, 'utf8');
    if (!agent || ca !== agentCa) {
      agent?.destroy();
      agent = new Agent({ ca, keepAlive: true });
      agentCa = ca;
    }
    return agent;
  };
  const bearer = (): string => {
    const now = Date.now();
    if (!token || now - token.readAt > tokenTtlMs)
      token = { value: readFileSync(options.tokenFile, 'utf8').trim(), readAt: now };
    return token.value;
  };
  const urlFor = (path: string, query: Record<string, string | number | boolean | undefined>): URL => {
    const url = new URL(path, base);
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, String(value));
    return url;
  };
  const headers = () => ({ authorization: `Bearer ${bearer()}`, accept: 'application/json' });

  return {
    list(resource, { limit, continue: continueToken, timeoutMs }) {
      const what = `list ${resource.plural}`;
      return new Promise((resolve, reject) => {
        let req: ReturnType<typeof request>;
        try {
          req = request(urlFor(pathOf(resource), { limit, continue: continueToken }), {
            method: 'GET',
            agent: agentFor(),
            headers: headers(),
            signal: AbortSignal.timeout(timeoutMs),
          });
        } catch (error) {
          reject(toKubeApiError(error, what));
          return;
        }
        req.on('response', (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_LIST_BYTES) req.destroy(new Error(`response larger than ${MAX_LIST_BYTES} bytes`));
            else chunks.push(chunk);
          });
          res.on('end', () => {
            const body = safeJson(Buffer.concat(chunks).toString('utf8'));
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve(toListPage(body));
            else reject(statusError(what, status, body));
          });
          res.on('error', (error) => reject(toKubeApiError(error, what)));
        });
        req.on('error', (error) => reject(toKubeApiError(error, what)));
        req.end();
      });
    },

    watch(resource, { resourceVersion, timeoutSeconds, connectTimeoutMs }, callbacks: WatchCallbacks): WatchHandle {
      const what = `watch ${resource.plural}`;
      let settled = false;
      let req: ReturnType<typeof request> | undefined;
      const end = (error?: KubeApiError) => {
        if (settled) return;
        settled = true;
        clearTimeout(connectTimer);
        req?.destroy();
        callbacks.onEnd(error);
      };
      const connectTimer = setTimeout(
        () => end(new KubeApiError(`${what}: no response within ${connectTimeoutMs} ms`)),
        connectTimeoutMs,
      );
      try {
        req = request(
          urlFor(pathOf(resource), { watch: true, resourceVersion, allowWatchBookmarks: true, timeoutSeconds }),
          {
            method: 'GET',
            agent: agentFor(),
            headers: headers(),
          },
        );
      } catch (error) {
        queueMicrotask(() => end(toKubeApiError(error, what)));
        return { abort: () => void (settled = true) };
      }
      req.on('response', (res: IncomingMessage) => {
        if (settled) return;
        clearTimeout(connectTimer);
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.length < 64 && chunks.push(chunk));
          res.on('end', () => end(statusError(what, status, safeJson(Buffer.concat(chunks).toString('utf8')))));
          res.on('error', () => end(statusError(what, status, undefined)));
          return;
        }
        callbacks.onOpen();
        const decoder = new StringDecoder('utf8');
        let pending = '';
        res.on('data', (chunk: Buffer) => {
          pending += decoder.write(chunk);
          let newline: number;
          while (!settled && (newline = pending.indexOf('\n')) >= 0) {
            const line = pending.slice(0, newline).trim();
            pending = pending.slice(newline + 1);
            if (line === '') continue;
            const event = safeJson(line) as { type?: unknown; object?: unknown } | undefined;
            if (event && typeof event.type === 'string') callbacks.onEvent({ type: event.type, object: event.object });
          }
        });
        // A clean end is the server's timeoutSeconds; 'aborted'/'error' is a broken connection.
        res.on('end', () => end());
        res.on('aborted', () => end(new KubeApiError(`${what}: connection lost`)));
        res.on('error', (error) => end(toKubeApiError(error, what)));
      });
      req.on('error', (error) => end(toKubeApiError(error, what)));
      req.end();
      return {
        abort() {
          if (settled) return;
          settled = true;
          clearTimeout(connectTimer);
          req?.destroy();
        },
      };
    },
  };
}
