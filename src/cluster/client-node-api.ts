// KubeApi over @kubernetes/client-node, for kubeconfigs (any auth the client supports): pages from
// CustomObjectsApi.listClusterCustomObject, streams from its Watch class. Loaded only when a kubeconfig is used.
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

export function clientNodeApi(kubeConfig: KubeConfig): KubeApi {
  const customObjects = kubeConfig.makeApiClient(CustomObjectsApi);
  const watcher = new Watch(kubeConfig);

  return {
    async list(resource, { limit, continue: continueToken, timeoutMs }) {
      // The generated client has no request timeout; an AbortSignal set by a middleware bounds the whole call,
      // body included.
      const signal = AbortSignal.timeout(timeoutMs);
      const withTimeout: ConfigurationOptions = {
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
      let body: unknown;
      try {
        body = await customObjects.listClusterCustomObject(
          { ...resource, limit, ...(continueToken ? { _continue: continueToken } : {}) },
          withTimeout,
        );
      } catch (error) {
        throw toKubeApiError(error, `list ${resource.plural}`);
      }
      return toListPage(body);
    },

    watch(resource, { resourceVersion, timeoutSeconds, connectTimeoutMs }, callbacks) {
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
        () => end(new KubeApiError(`watch ${resource.plural}: no response within ${connectTimeoutMs} ms`)),
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
          (error: unknown) => end(error ? toKubeApiError(error, `watch ${resource.plural}`) : undefined),
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
          (error: unknown) => end(toKubeApiError(error, `watch ${resource.plural}`)),
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
