// Keeps a HostIndex in step with every ServiceEntry and DestinationRule in the cluster: list + watch per kind,
// cluster-wide, networking.istio.io/v1 (v1beta1, then v1alpha3, where an older Istio serves no v1). Only compact
// views are kept (see kube-api.ts for why not client-node's informer).
//
// Per kind:
//   list (pages of `pageSize`; the index is diffed page by page, objects the list no longer has are deleted at
//   the end) -> watch from the list's resourceVersion, with bookmarks -> on a normal end (the server's
//   timeoutSeconds, or no byte for `idleTimeoutMs`) watch again from the last resourceVersion seen;
//   410 Gone -> list again at once; 404 in every version (CRD not installed) -> nothing to index, list again
//   every `absentRetryMs`; any other failure -> stale, back off with jitter (backoff.ts), list again.
// Stale: from the first failure until a list succeeded and the next watch was accepted. While stale the index
// keeps the last known state and admission keeps answering from it; the findings say they may be stale.
// Synced: the first list of both kinds completed (a 404 counts: no CRD, nothing to index).
import { EventEmitter } from 'node:events';
import { ISTIO_NETWORKING_VERSIONS } from '../istio/api-versions.js';
import { toDestinationRuleView } from '../istio/destination-rule.js';
import { toServiceEntryView } from '../istio/service-entry.js';
import { field } from '../json.js';
import type { Logger } from '../log.js';
import { backoffDelay, DEFAULT_BACKOFF, nextAttempt, type BackoffPolicy } from './backoff.js';
import { HostIndex } from './host-index.js';
import {
  KubeApiError,
  toKubeApiError,
  type KubeApi,
  type ListPage,
  type Resource,
  type WatchEvent,
  type WatchHandle,
} from './kube-api.js';

export type WatchedKind = 'ServiceEntry' | 'DestinationRule';

export const ISTIO_NETWORKING: Readonly<Record<WatchedKind, Resource>> = {
  ServiceEntry: { group: 'networking.istio.io', version: 'v1', plural: 'serviceentries' },
  DestinationRule: { group: 'networking.istio.io', version: 'v1', plural: 'destinationrules' },
};

export interface ClusterWatcherOptions {
  api: KubeApi;
  logger: Logger;
  /** The index to feed; a new one by default. */
  index?: HostIndex;
  backoff?: Partial<BackoffPolicy>;
  /** Objects per list page (client-go's default is 500). */
  pageSize?: number;
  /** Bound on one list page, body included. */
  listTimeoutMs?: number;
  /** Bound on a watch request until the API server answers. */
  connectTimeoutMs?: number;
  /**
   * A watch stream silent this long is presumed dead and replaced (the API server sends a bookmark about every
   * minute). A dead network is then noticed within idleTimeoutMs + connectTimeoutMs.
   */
  idleTimeoutMs?: number;
  /** The server ends each watch after a random time in [min, 2*min) seconds, as client-go asks. */
  minWatchTimeoutSeconds?: number;
  /** How often to look again for a CRD that is not installed. */
  absentRetryMs?: number;
  /** A watch that ends normally sooner than this without any event counts as a failure (no hot loop). */
  minWatchMs?: number;
  random?: () => number;
}

export interface ClusterWatchState {
  /** The first list of both kinds is done; the index holds the whole cluster (as of then, at least). */
  synced: boolean;
  /** A list or watch failed and has not recovered: the index may miss recent changes. */
  stale: boolean;
  staleSince?: Date;
  /** The last time the index became complete and current (first sync, or recovery from staleness). */
  lastSyncTime?: Date;
  /** The latest failure while stale or not yet synced. */
  problem?: string;
  /** Kinds whose CRD the API server does not serve (404): nothing to index for them. */
  absent: WatchedKind[];
}

interface KindStats {
  /** Watches started after the first one: after a server timeout, idle stream, 410, or failure. */
  watchRestarts: number;
  relists: number;
}

type Phase = 'idle' | 'listing' | 'watching' | 'waiting' | 'stopped';

const keyOf = (namespace: string, name: string) => `${namespace}/${name}`;

function metadataOf(object: unknown): { namespace: string; name: string; resourceVersion?: string } {
  const metadata = field(object, 'metadata');
  const read = (key: string) => {
    const value = field(metadata, key);
    return typeof value === 'string' ? value : undefined;
  };
  const resourceVersion = read('resourceVersion');
  return {
    namespace: read('namespace') ?? '',
    name: read('name') ?? '',
    ...(resourceVersion === undefined ? {} : { resourceVersion }),
  };
}

/** What differs between the two kinds: how objects enter and leave the index. */
interface KindOps {
  kind: WatchedKind;
  /** The resource in each version to try, preferred first. */
  resources: readonly Resource[];
  stored(index: HostIndex): Map<string, string | undefined>;
  upsert(index: HostIndex, object: unknown): void;
  remove(index: HostIndex, namespace: string, name: string): void;
}

const SERVICE_ENTRIES: KindOps = {
  kind: 'ServiceEntry',
  resources: ISTIO_NETWORKING_VERSIONS.map((version) => ({ ...ISTIO_NETWORKING.ServiceEntry, version })),
  stored: (index) =>
    new Map([...index.serviceEntries()].map((view) => [keyOf(view.namespace, view.name), view.resourceVersion])),
  upsert: (index, object) => index.upsertServiceEntry(toServiceEntryView(object)),
  remove: (index, namespace, name) => index.deleteServiceEntry(namespace, name),
};

const DESTINATION_RULES: KindOps = {
  kind: 'DestinationRule',
  resources: ISTIO_NETWORKING_VERSIONS.map((version) => ({ ...ISTIO_NETWORKING.DestinationRule, version })),
  stored: (index) =>
    new Map([...index.destinationRules()].map((view) => [keyOf(view.namespace, view.name), view.resourceVersion])),
  upsert: (index, object) => index.upsertDestinationRule(toDestinationRuleView(object)),
  remove: (index, namespace, name) => index.deleteDestinationRule(namespace, name),
};

interface Settings {
  backoff: BackoffPolicy;
  pageSize: number;
  listTimeoutMs: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  minWatchTimeoutSeconds: number;
  absentRetryMs: number;
  minWatchMs: number;
  random: () => number;
}

/** One kind's list + watch loop. All callbacks carry the generation they were started in; older ones are ignored. */
class KindWatch {
  phase: Phase = 'idle';
  synced = false;
  absent = false;
  failingSince: number | undefined;
  problem: string | undefined;
  readonly stats: KindStats = { watchRestarts: 0, relists: 0 };
  private generation = 0;
  private attempt = 0;
  private healthySince: number | undefined;
  private resourceVersion = '';
  private handle: WatchHandle | undefined;
  private timer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private watches = 0;
  private lastWarning: string | undefined;
  /** The version the last successful list used; the watch uses the same. */
  private resource: Resource;

  constructor(
    private readonly ops: KindOps,
    private readonly index: HostIndex,
    private readonly api: KubeApi,
    private readonly settings: Settings,
    private readonly logger: Logger,
    private readonly changed: () => void,
    private readonly counted: (what: 'watchRestart' | 'relist', kind: WatchedKind) => void,
  ) {
    this.resource = ops.resources[0] as Resource;
  }

  start(): void {
    if (this.phase !== 'idle' && this.phase !== 'stopped') return;
    void this.relist();
  }

  stop(): void {
    this.generation++;
    this.phase = 'stopped';
    this.handle?.abort();
    this.handle = undefined;
    clearTimeout(this.timer);
    clearTimeout(this.idleTimer);
  }

  private async relist(): Promise<void> {
    const generation = ++this.generation;
    this.phase = 'listing';
    this.stats.relists++;
    this.counted('relist', this.ops.kind);
    const started = Date.now();
    let count = 0;
    try {
      const stored = this.ops.stored(this.index);
      let continueToken: string | undefined;
      let resourceVersion = '';
      // Each relist starts from the preferred version: after an Istio upgrade, v1 appears.
      const versions = [...this.ops.resources];
      let resource = versions.shift() as Resource;
      for (;;) {
        let page: ListPage;
        try {
          page = await this.api.list(resource, {
            limit: this.settings.pageSize,
            ...(continueToken ? { continue: continueToken } : {}),
            timeoutMs: this.settings.listTimeoutMs,
          });
        } catch (error) {
          const next = versions.shift();
          if (
            continueToken === undefined &&
            next &&
            toKubeApiError(error, '').status === 404 &&
            generation === this.generation
          ) {
            resource = next;
            continue;
          }
          throw error;
        }
        if (generation !== this.generation) return;
        for (const object of page.items) {
          const { namespace, name, resourceVersion: objectVersion } = metadataOf(object);
          const key = keyOf(namespace, name);
          // A relist after an outage mostly finds what the index already has: skip unchanged objects.
          if (!(stored.has(key) && objectVersion !== undefined && stored.get(key) === objectVersion))
            this.ops.upsert(this.index, object);
          stored.delete(key);
          count++;
        }
        continueToken = page.continue;
        resourceVersion = page.resourceVersion;
        if (!continueToken) break;
      }
      for (const key of stored.keys()) {
        const slash = key.indexOf('/');
        this.ops.remove(this.index, key.slice(0, slash), key.slice(slash + 1));
      }
      this.resourceVersion = resourceVersion;
      if (resource !== this.resource && resource.version !== this.resource.version) {
        this.logger.info(
          { kind: this.ops.kind, version: resource.version },
          `${resource.plural}.${resource.group} is read as ${resource.version}`,
        );
      }
      this.resource = resource;
    } catch (error) {
      if (generation !== this.generation) return;
      const failure = toKubeApiError(error, `list ${this.resource.plural}`);
      if (failure.status === 404) this.markAbsent();
      else this.fail(failure);
      return;
    }
    if (this.absent)
      this.logger.info(
        { kind: this.ops.kind },
        `${this.resource.plural}.${this.resource.group} is served now; indexing it`,
      );
    this.absent = false;
    const first = !this.synced;
    this.synced = true;
    this.logger.debug(
      { kind: this.ops.kind, objects: count, ms: Date.now() - started, resourceVersion: this.resourceVersion },
      'listed',
    );
    if (first) this.changed();
    this.watch();
  }

  private watch(): void {
    const generation = ++this.generation;
    this.phase = 'watching';
    if (this.watches++ > 0) {
      this.stats.watchRestarts++;
      this.counted('watchRestart', this.ops.kind);
    }
    const started = Date.now();
    let events = 0;
    const timeoutSeconds = Math.floor(this.settings.minWatchTimeoutSeconds * (1 + this.settings.random()));
    this.handle = this.api.watch(
      this.resource,
      { resourceVersion: this.resourceVersion, timeoutSeconds, connectTimeoutMs: this.settings.connectTimeoutMs },
      {
        onOpen: () => {
          if (generation !== this.generation) return;
          this.healthySince = Date.now();
          this.armIdle(generation);
          // Only a list leads to a watch while failing: a fresh list plus an accepted watch is recovery.
          if (this.failingSince !== undefined || this.problem !== undefined) {
            this.failingSince = undefined;
            this.problem = undefined;
            this.lastWarning = undefined;
            this.changed();
          }
        },
        onEvent: (event) => {
          if (generation !== this.generation) return;
          events++;
          this.armIdle(generation);
          this.apply(event);
        },
        onEnd: (error) => {
          if (generation !== this.generation) return;
          this.handle = undefined;
          clearTimeout(this.idleTimer);
          if (error?.status === 410 || error?.status === 404) {
            // 410: our resourceVersion is older than the server keeps; 404: the CRD may be gone. List again now.
            this.logger.debug({ kind: this.ops.kind, problem: error.message }, 'watch ended; listing again');
            void this.relist();
          } else if (error) {
            this.fail(error);
          } else if (events === 0 && Date.now() - started < this.settings.minWatchMs) {
            this.fail(new KubeApiError(`watch ${this.resource.plural}: closed by the server at once`));
          } else {
            this.watch();
          }
        },
      },
    );
  }

  private apply(event: WatchEvent): void {
    const { namespace, name, resourceVersion } = metadataOf(event.object);
    switch (event.type) {
      case 'ADDED':
      case 'MODIFIED':
        this.ops.upsert(this.index, event.object);
        break;
      case 'DELETED':
        this.ops.remove(this.index, namespace, name);
        break;
      case 'BOOKMARK':
        break;
      case 'ERROR': {
        // A Status object in the stream; 410 Gone/Expired is the usual one. The stream ends after it.
        const status = event.object as { code?: unknown; message?: unknown; reason?: unknown } | undefined;
        const code = typeof status?.code === 'number' ? status.code : undefined;
        const message =
          typeof status?.message === 'string'
            ? status.message
            : typeof status?.reason === 'string'
              ? status.reason
              : 'error event';
        this.handle?.abort();
        this.handle = undefined;
        clearTimeout(this.idleTimer);
        this.generation++;
        if (code === 410) {
          this.logger.debug({ kind: this.ops.kind, problem: message }, 'watch expired; listing again');
          void this.relist();
        } else {
          this.fail(
            new KubeApiError(
              `watch ${this.resource.plural}: ${code === undefined ? '' : `HTTP ${code} `}${message}`,
              code,
            ),
          );
        }
        return;
      }
      default:
        return;
    }
    if (resourceVersion) this.resourceVersion = resourceVersion;
  }

  /** A silent stream may be a dead connection nobody told us about: replace it (a new watch, not a failure). */
  private armIdle(generation: number): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (generation !== this.generation) return;
      this.logger.debug({ kind: this.ops.kind, idleMs: this.settings.idleTimeoutMs }, 'watch silent; replacing it');
      this.handle?.abort();
      this.handle = undefined;
      this.watch();
    }, this.settings.idleTimeoutMs);
  }

  private fail(error: KubeApiError): void {
    const now = Date.now();
    this.phase = 'waiting';
    this.attempt = nextAttempt(this.settings.backoff, this.attempt, this.healthySince, now);
    this.healthySince = undefined;
    const delayMs = backoffDelay(this.settings.backoff, this.attempt, this.settings.random());
    const first = this.failingSince === undefined;
    this.failingSince ??= now;
    const changedProblem = this.problem !== error.message;
    this.problem = error.message;
    // One warning per distinct problem; retries of the same one only at debug.
    const level = this.lastWarning === error.message ? 'debug' : 'warn';
    this.lastWarning = error.message;
    this.logger[level](
      { kind: this.ops.kind, problem: error.message, attempt: this.attempt, retryInMs: delayMs },
      'cluster watch failed; retrying',
    );
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.relist(), delayMs);
    if (first || changedProblem) this.changed();
  }

  private markAbsent(): void {
    const wasAbsent = this.absent;
    const wasSynced = this.synced;
    const wasFailing = this.failingSince !== undefined;
    const stored = this.ops.stored(this.index);
    for (const key of stored.keys()) {
      const slash = key.indexOf('/');
      this.ops.remove(this.index, key.slice(0, slash), key.slice(slash + 1));
    }
    this.absent = true;
    this.synced = true;
    this.failingSince = undefined;
    this.problem = undefined;
    this.lastWarning = undefined;
    this.attempt = 0;
    this.phase = 'waiting';
    if (!wasAbsent) {
      this.logger.warn(
        { kind: this.ops.kind, retryInMs: this.settings.absentRetryMs },
        `${this.resource.plural}.${this.resource.group} is not served in ${this.ops.resources.map((r) => r.version).join(', ')} (CRD not installed?): nothing to index; checking again periodically`,
      );
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.relist(), this.settings.absentRetryMs);
    if (!wasAbsent || !wasSynced || wasFailing) this.changed();
  }
}

export interface ClusterWatcherEvents {
  /** synced, stale, problem or absent changed. */
  state: [ClusterWatchState];
  /** A list of one kind started (the first one included). */
  relist: [WatchedKind];
  /** A watch of one kind started other than the first: after a server timeout, a silent stream, a 410, a failure. */
  watchRestart: [WatchedKind];
}

/** Feeds `index` from the API server; see the top of this file for the rules. */
export class ClusterWatcher extends EventEmitter<ClusterWatcherEvents> {
  readonly index: HostIndex;
  private readonly kinds: Record<WatchedKind, KindWatch>;
  private readonly logger: Logger;
  private lastSync: Date | undefined;
  private lastEmitted = '';
  private wasSynced = false;
  private wasStale = false;
  private readonly startedAt = Date.now();
  private started = false;

  constructor(options: ClusterWatcherOptions) {
    super();
    this.index = options.index ?? new HostIndex();
    this.logger = options.logger;
    const settings: Settings = {
      backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
      pageSize: options.pageSize ?? 500,
      listTimeoutMs: options.listTimeoutMs ?? 60_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      idleTimeoutMs: options.idleTimeoutMs ?? 90_000,
      minWatchTimeoutSeconds: options.minWatchTimeoutSeconds ?? 300,
      absentRetryMs: options.absentRetryMs ?? 30_000,
      minWatchMs: options.minWatchMs ?? 1_000,
      random: options.random ?? Math.random,
    };
    const changed = () => this.stateChanged();
    const counted = (what: 'watchRestart' | 'relist', kind: WatchedKind) => this.emit(what, kind);
    this.kinds = {
      ServiceEntry: new KindWatch(SERVICE_ENTRIES, this.index, options.api, settings, options.logger, changed, counted),
      DestinationRule: new KindWatch(
        DESTINATION_RULES,
        this.index,
        options.api,
        settings,
        options.logger,
        changed,
        counted,
      ),
    };
  }

  /** Starts listing and watching; resolves at once, without waiting for the first sync (see whenSynced()). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.stateChanged();
    for (const kind of Object.values(this.kinds)) kind.start();
  }

  stop(): void {
    for (const kind of Object.values(this.kinds)) kind.stop();
    this.started = false;
  }

  get synced(): boolean {
    return this.kinds.ServiceEntry.synced && this.kinds.DestinationRule.synced;
  }

  get stale(): boolean {
    return this.kinds.ServiceEntry.failingSince !== undefined || this.kinds.DestinationRule.failingSince !== undefined;
  }

  get lastSyncTime(): Date | undefined {
    return this.lastSync;
  }

  get state(): ClusterWatchState {
    const since = Object.values(this.kinds).flatMap((kind) =>
      kind.failingSince === undefined ? [] : [kind.failingSince],
    );
    const problem = Object.values(this.kinds).find((kind) => kind.problem !== undefined)?.problem;
    return {
      synced: this.synced,
      stale: this.stale,
      ...(since.length > 0 ? { staleSince: new Date(Math.min(...since)) } : {}),
      ...(this.lastSync ? { lastSyncTime: this.lastSync } : {}),
      ...(problem === undefined ? {} : { problem }),
      absent: (Object.keys(this.kinds) as WatchedKind[]).filter((kind) => this.kinds[kind].absent),
    };
  }

  stats(kind: WatchedKind): Readonly<KindStats> {
    return this.kinds[kind].stats;
  }

  /** Resolves once synced (at once if already); false when `timeoutMs` passes first. */
  whenSynced(timeoutMs?: number): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => finish(false), timeoutMs);
      const onState = (state: ClusterWatchState) => {
        if (state.synced) finish(true);
      };
      const finish = (result: boolean) => {
        clearTimeout(timer);
        this.off('state', onState);
        resolve(result);
      };
      this.on('state', onState);
    });
  }

  private stateChanged(): void {
    const { synced, stale } = this;
    const wasCurrent = this.wasSynced && !this.wasStale;
    if (synced && !stale && !wasCurrent) {
      this.lastSync = new Date();
      const counts = {
        serviceEntries: this.index.serviceEntryCount,
        destinationRules: this.index.destinationRuleCount,
      };
      if (!this.wasSynced)
        this.logger.info(
          { ...counts, ms: Date.now() - this.startedAt, absent: this.state.absent },
          'cluster index synced',
        );
      else this.logger.info(counts, 'cluster index current again; findings are no longer marked stale');
    } else if (synced && stale && !(this.wasSynced && this.wasStale)) {
      this.logger.warn(
        { problem: this.state.problem },
        'cluster index may be stale: answering from the last known state until the watch recovers',
      );
    }
    this.wasSynced = synced;
    this.wasStale = stale;
    const state = this.state;
    const fingerprint = JSON.stringify({
      synced: state.synced,
      stale: state.stale,
      problem: state.problem,
      absent: state.absent,
    });
    if (fingerprint === this.lastEmitted) return;
    this.lastEmitted = fingerprint;
    this.emit('state', state);
  }
}
