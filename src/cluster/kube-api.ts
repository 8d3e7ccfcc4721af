// The two API calls the cluster watch needs, list (one page) and watch (one stream), behind a small interface
// so the watch state machine (watcher.ts) is tested against a fake. The one implementation, client-node-api.ts,
// runs over @kubernetes/client-node for every source (ServiceAccount or kubeconfig) and serves the CLI's audit too.
//
// Why not client-node's informer (makeInformer/ListWatch)? Its ObjectCache keeps every raw object as
// received, managedFields and last-applied annotations included, next to our own views. It also lists
// everything in one response (no pages), stops after a failed re-list (an error callback, no retry), and has no
// connect or idle timeout. Here only views are kept, and lists come in pages of `limit` objects, so at most one
// page of raw objects is alive at a time.

import { isJsonObject } from '../json.js';

export interface Resource {
  group: string;
  version: string;
  /** Lower-case plural, e.g. `serviceentries`. */
  plural: string;
}

export interface ListPage {
  items: unknown[];
  resourceVersion: string;
  /** Set when more pages follow. */
  continue?: string;
}

export interface WatchEvent {
  /** ADDED, MODIFIED, DELETED, BOOKMARK or ERROR. */
  type: string;
  object: unknown;
}

export interface WatchCallbacks {
  /** The API server answered 200: events follow. */
  onOpen(): void;
  onEvent(event: WatchEvent): void;
  /** The stream ended: no error when the server closed it normally. Called at most once, never after abort(). */
  onEnd(error?: KubeApiError): void;
}

export interface WatchHandle {
  /** Ends the stream without calling onEnd. Idempotent. */
  abort(): void;
}

export interface KubeApi {
  list(resource: Resource, options: { limit: number; continue?: string; timeoutMs: number }): Promise<ListPage>;
  watch(
    resource: Resource,
    options: { resourceVersion: string; timeoutSeconds: number; connectTimeoutMs: number },
    callbacks: WatchCallbacks,
  ): WatchHandle;
}

/** A failed call, reduced to what the watch logic decides on: the HTTP status, if there was one. */
export class KubeApiError extends Error {
  override name = 'KubeApiError';
  constructor(
    message: string,
    /** HTTP status (or a watch ERROR event's code); undefined for network errors and timeouts. */
    readonly status?: number,
  ) {
    super(message);
  }
}

export const textOf = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

/** A list response body reduced to a page. */
export function toListPage(body: unknown): ListPage {
  const metadata = isJsonObject(body) && isJsonObject(body.metadata) ? body.metadata : {};
  const items = isJsonObject(body) && Array.isArray(body.items) ? body.items : [];
  const next = textOf(metadata.continue);
  return { items, resourceVersion: textOf(metadata.resourceVersion) ?? '', ...(next ? { continue: next } : {}) };
}

/**
 * A Status body's message, or the error's own and its cause, after the server's address when there was no answer;
 * never headers or request options (they may hold credentials).
 */
export function toKubeApiError(error: unknown, what: string, server?: string): KubeApiError {
  if (error instanceof KubeApiError) return error;
  // client-node's ApiException, matched by shape so that fakes in tests need not build one.
  if (isJsonObject(error) && typeof error.code === 'number' && 'body' in error && 'headers' in error) {
    return statusError(what, error.code, typeof error.body === 'string' ? safeJson(error.body) : error.body);
  }
  const e = error as
    { statusCode?: unknown; code?: unknown; message?: unknown; name?: unknown; cause?: { code?: unknown } } | undefined;
  // An aborted fetch is a DOMException, whose numeric `code` is not an HTTP status.
  const aborted = e?.name === 'AbortError' || e?.name === 'TimeoutError';
  const status = aborted
    ? undefined
    : typeof e?.statusCode === 'number'
      ? e.statusCode
      : typeof e?.code === 'number'
        ? e.code
        : undefined;
  const message = aborted ? 'timed out' : (textOf(e?.message) ?? String(error));
  // undici's fetch says only "fetch failed"; the reason (ECONNREFUSED, a TLS error) is its cause's code.
  const reason = typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : undefined;
  const code = reason && !message.includes(reason) ? ` (${reason})` : '';
  const where = status === undefined ? (server ? `${server}: ` : '') : `HTTP ${status} `;
  return new KubeApiError(`${what}: ${where}${message}${code}`, status);
}

/** A non-2xx answer, with the message of its Status body when it has one. */
export function statusError(what: string, status: number, body: unknown): KubeApiError {
  const detail = isJsonObject(body) ? (textOf(body.message) ?? textOf(body.reason)) : undefined;
  return new KubeApiError(`${what}: HTTP ${status}${detail ? ` ${detail}` : ''}`, status);
}

export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function pathOf({ group, version, plural }: Resource): string {
  return `/apis/${encodeURIComponent(group)}/${encodeURIComponent(version)}/${encodeURIComponent(plural)}`;
}
