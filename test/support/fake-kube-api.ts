// An in-memory stand-in for the API server's list and watch of custom resources, for the watcher's unit tests
// (and anyone else's). Objects get increasing resourceVersions; open watches receive events as objects change;
// the test can take the server down, expire watches (410), drop a CRD (404) or make the next calls fail.
import {
  KubeApiError,
  type KubeApi,
  type ListPage,
  type Resource,
  type WatchCallbacks,
  type WatchHandle,
} from '../../src/cluster/kube-api.js';

type Json = Record<string, unknown>;

interface OpenWatch {
  plural: string;
  callbacks: WatchCallbacks;
  closed: boolean;
}

export interface FakeCall {
  op: 'list' | 'watch';
  plural: string;
  version: string;
  continue?: string;
  resourceVersion?: string;
}

export class FakeKubeApi implements KubeApi {
  private version = 100;
  private readonly objects = new Map<string, Map<string, Json>>();
  private readonly watches = new Set<OpenWatch>();
  private readonly failures = new Map<string, KubeApiError[]>();
  /** Plurals the server answers 404 for (CRD not installed). */
  readonly absent = new Set<string>();
  /** API versions served (the others answer 404); Istio's CRDs serve all three. */
  readonly versions = new Set(['v1', 'v1beta1', 'v1alpha3']);
  /** Network down: every call fails, open watches break. */
  private isDown = false;
  /** Watches are accepted but never answered (a black hole); the connect timeout must fire. */
  hang = false;
  /** Watches end normally as soon as they open. */
  closeAtOnce = false;
  readonly calls: FakeCall[] = [];

  get down(): boolean {
    return this.isDown;
  }

  set down(value: boolean) {
    this.isDown = value;
    if (value) for (const watch of [...this.watches]) this.end(watch, new KubeApiError('watch: read ECONNRESET'));
  }

  /** Creates or replaces an object (by namespace/name) and tells the watches. */
  apply(plural: string, object: Json): Json {
    const metadata = (object.metadata ?? {}) as Json;
    const key = `${String(metadata.namespace)}/${String(metadata.name)}`;
    const store = this.store(plural);
    const type = store.has(key) ? 'MODIFIED' : 'ADDED';
    const stored = { ...object, metadata: { ...metadata, resourceVersion: String(++this.version) } };
    store.set(key, stored);
    this.broadcast(plural, type, stored);
    return stored;
  }

  remove(plural: string, namespace: string, name: string): void {
    const store = this.store(plural);
    const key = `${namespace}/${name}`;
    const old = store.get(key);
    if (!old) return;
    store.delete(key);
    const gone = { ...old, metadata: { ...(old.metadata as Json), resourceVersion: String(++this.version) } };
    this.broadcast(plural, 'DELETED', gone);
  }

  /** Changes an object while nobody watches (e.g. during an outage): no events. */
  applySilently(plural: string, object: Json): void {
    const metadata = (object.metadata ?? {}) as Json;
    this.store(plural).set(`${String(metadata.namespace)}/${String(metadata.name)}`, {
      ...object,
      metadata: { ...metadata, resourceVersion: String(++this.version) },
    });
  }

  removeSilently(plural: string, namespace: string, name: string): void {
    this.store(plural).delete(`${namespace}/${name}`);
    this.version++;
  }

  /** The next calls (list or watch) for `plural` fail with these errors, in order. */
  failNext(plural: string, ...errors: KubeApiError[]): void {
    this.failures.set(plural, [...(this.failures.get(plural) ?? []), ...errors]);
  }

  /** Sends an ERROR event (410 Gone by default) to the open watches of `plural`, then ends them. */
  expire(plural: string, code = 410): void {
    for (const watch of [...this.watches]) {
      if (watch.plural !== plural) continue;
      watch.callbacks.onEvent({
        type: 'ERROR',
        object: { kind: 'Status', code, reason: 'Expired', message: 'too old resource version' },
      });
      this.end(watch);
    }
  }

  bookmark(plural: string): void {
    for (const watch of this.watches) {
      if (watch.plural === plural)
        watch.callbacks.onEvent({ type: 'BOOKMARK', object: { metadata: { resourceVersion: String(this.version) } } });
    }
  }

  /** Ends the open watches normally, as the server does at timeoutSeconds. */
  closeWatches(plural?: string): void {
    for (const watch of [...this.watches]) if (plural === undefined || watch.plural === plural) this.end(watch);
  }

  openWatches(plural?: string): number {
    return [...this.watches].filter((watch) => plural === undefined || watch.plural === plural).length;
  }

  count(op: FakeCall['op'], plural?: string): number {
    return this.calls.filter((call) => call.op === op && (plural === undefined || call.plural === plural)).length;
  }

  async list(resource: Resource, options: { limit: number; continue?: string; timeoutMs: number }): Promise<ListPage> {
    this.calls.push({
      op: 'list',
      plural: resource.plural,
      version: resource.version,
      ...(options.continue ? { continue: options.continue } : {}),
    });
    await Promise.resolve();
    const failure = this.takeFailure(resource);
    if (failure) throw failure;
    const items = [...this.store(resource.plural).values()].sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
    const start = options.continue ? Number(options.continue) : 0;
    const page = items.slice(start, start + options.limit);
    const next = start + options.limit < items.length ? String(start + options.limit) : undefined;
    return { items: page, resourceVersion: String(this.version), ...(next ? { continue: next } : {}) };
  }

  watch(resource: Resource, options: { resourceVersion: string }, callbacks: WatchCallbacks): WatchHandle {
    this.calls.push({
      op: 'watch',
      plural: resource.plural,
      version: resource.version,
      resourceVersion: options.resourceVersion,
    });
    const watch: OpenWatch = { plural: resource.plural, callbacks, closed: false };
    queueMicrotask(() => {
      if (watch.closed || this.hang) return;
      const failure = this.takeFailure(resource);
      if (failure) {
        watch.closed = true;
        callbacks.onEnd(failure);
        return;
      }
      this.watches.add(watch);
      callbacks.onOpen();
      if (this.closeAtOnce) this.end(watch);
    });
    return {
      abort: () => {
        watch.closed = true;
        this.watches.delete(watch);
      },
    };
  }

  private takeFailure({ plural, version }: Resource): KubeApiError | undefined {
    if (this.isDown) return new KubeApiError(`${plural}: connect ECONNREFUSED 127.0.0.1:6443`);
    if (this.absent.has(plural) || !this.versions.has(version)) {
      return new KubeApiError(`${plural}: HTTP 404 the server could not find the requested resource`, 404);
    }
    return this.failures.get(plural)?.shift();
  }

  private end(watch: OpenWatch, error?: KubeApiError): void {
    if (watch.closed) return;
    watch.closed = true;
    this.watches.delete(watch);
    watch.callbacks.onEnd(error);
  }

  private broadcast(plural: string, type: string, object: Json): void {
    for (const watch of [...this.watches])
      if (watch.plural === plural && !watch.closed) watch.callbacks.onEvent({ type, object });
  }

  private store(plural: string): Map<string, Json> {
    let store = this.objects.get(plural);
    if (!store) this.objects.set(plural, (store = new Map()));
    return store;
  }
}

function keyOf(object: Json): string {
  const metadata = (object.metadata ?? {}) as Json;
  return `${String(metadata.namespace)}/${String(metadata.name)}`;
}

/** A networking.istio.io/v1 ServiceEntry as the API server would hold it. */
export function serviceEntryObject(namespace: string, name: string, spec: Json): Json {
  return { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { namespace, name }, spec };
}

export function destinationRuleObject(namespace: string, name: string, spec: Json): Json {
  return { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { namespace, name }, spec };
}
