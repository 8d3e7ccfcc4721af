// KubeApi over @kubernetes/client-node, whatever the credentials (ServiceAccount token file, client certificates,
// exec plugins, OIDC): pages from CustomObjectsApi.listClusterCustomObject, streams from its Watch class.
import {
  CustomObjectsApi,
  Observable,
  Watch,
  type ConfigurationOptions,
  type KubeConfig,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import { KubeApiError, pathOf, toKubeApiError, toListPage, type KubeApi } from './kube-api.js';

/**
 * Longest a watch may stay silent before client-node itself ends it. Its default (30 s, declared private but
 * a plain field) is shorter than the API server's bookmark interval (about a minute), so a quiet cluster would
 * look like a failure; the watcher's own idle timeout decides instead. The largest delay setTimeout accepts.
 */
const WATCH_INACTIVITY_MS = 2 ** 31 - 1;

/**
 * Options for one call of a generated API client that bound it, body included, to `timeoutMs`: the generated
 * clients have no request timeout of their own, so a middleware sets an AbortSignal.
 */
export function withTimeout(timeoutMs: number): ConfigurationOptions {
  const signal = AbortSignal.timeout(timeoutMs);
  return {
    middleware: [
      {
        pre: (context: RequestContext) => {
          context.setSignal(signal);
          return new Observable(Promise.resolve(context));
        },
        post: (context: ResponseContext) => new Observable(Promise.resolve(context)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

export function clientNodeApi(kubeConfig: KubeConfig): KubeApi {
  const customObjects = kubeConfig.makeApiClient(CustomObjectsApi);
  const watcher = new Watch(kubeConfig);
  (watcher as unknown as { requestTimeoutMs: number }).requestTimeoutMs = WATCH_INACTIVITY_MS;
  const server = kubeConfig.getCurrentCluster()?.server;

  return {
    async list(resource, { limit, continue: continueToken, timeoutMs }) {
      let body: unknown;
      try {
        body = await customObjects.listClusterCustomObject(
          { ...resource, limit, ...(continueToken ? { _continue: continueToken } : {}) },
          withTimeout(timeoutMs),
        );
      } catch (error) {
        throw toKubeApiError(error, `list ${resource.plural}`, server);
      }
      return toListPage(body);
    },

    watch(resource, { resourceVersion, timeoutSeconds, connectTimeoutMs }, callbacks) {
      const what = `watch ${resource.plural}`;
      // client-node's Watch only hands out its AbortController once the response headers arrived, and reports
      // its own abort as an error: `settled` turns that into "exactly one onEnd, none after abort()".
      let settled = false;
      let controller: AbortController | undefined;
      const end = (error?: KubeApiError) => {
        if (settled) return;
        settled = true;
        clearTimeout(connectTimer);
        controller?.abort();
        callbacks.onEnd(error);
      };
      const connectTimer = setTimeout(
        () => end(new KubeApiError(`${what}: ${server ? `${server}: ` : ''}no response within ${connectTimeoutMs} ms`)),
        connectTimeoutMs,
      );
      const query = { resourceVersion, allowWatchBookmarks: true, timeoutSeconds };
      watcher
        .watch(
          pathOf(resource),
          query,
          (type: string, object: unknown) => {
            if (!settled) callbacks.onEvent({ type, object });
          },
          (error: unknown) => end(error ? toKubeApiError(error, what, server) : undefined),
        )
        .then(
          (abortController) => {
            controller = abortController;
            if (settled) {
              abortController.abort();
              return;
            }
            clearTimeout(connectTimer);
            callbacks.onOpen();
          },
          (error: unknown) => end(toKubeApiError(error, what, server)),
        );
      return {
        abort() {
          if (settled) return;
          settled = true;
          clearTimeout(connectTimer);
          controller?.abort();
        },
      };
    },
  };
}
