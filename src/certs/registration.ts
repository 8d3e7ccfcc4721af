// Fills the two webhook configurations the manifests ship as shells. `define` (once per start, when the replica is
// ready) writes the whole webhooks list of this version; `maintain` (every check) only puts the current CA bundle
// into every webhook's caBundle, so an older replica still running during a rollout never undoes a newer definition.
// Every write carries the resourceVersion it read; a configuration that does not exist is left alone (uninstalled).
import type {
  AdmissionregistrationV1Api,
  V1MutatingWebhookConfiguration,
  V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import type { Logger } from '../log.js';
import { describeError, statusOf } from './kube-clients.js';
import { caBundleOf, mutatingWebhooks, validatingWebhooks, type WebhookTarget } from './webhook-configurations.js';

export type RegistrationMode = 'define' | 'maintain';
export type RegistrationResult = 'written' | 'unchanged' | 'absent';

const MAX_ATTEMPTS = 10;

type Configuration = V1MutatingWebhookConfiguration | V1ValidatingWebhookConfiguration;

interface Kind {
  kind: string;
  read: (name: string) => Promise<Configuration>;
  replace: (name: string, body: Configuration) => Promise<unknown>;
  define: (caBundle: string) => NonNullable<Configuration['webhooks']>;
}

export async function registerWebhooks(
  admission: AdmissionregistrationV1Api,
  name: string,
  target: WebhookTarget,
  caPem: string,
  mode: RegistrationMode,
  logger: Logger,
): Promise<Record<string, RegistrationResult>> {
  const kinds: Kind[] = [
    {
      kind: 'MutatingWebhookConfiguration',
      read: (n) => admission.readMutatingWebhookConfiguration({ name: n }),
      replace: (n, body) =>
        admission.replaceMutatingWebhookConfiguration({ name: n, body: body as V1MutatingWebhookConfiguration }),
      define: (caBundle) => mutatingWebhooks(target, caBundle),
    },
    {
      kind: 'ValidatingWebhookConfiguration',
      read: (n) => admission.readValidatingWebhookConfiguration({ name: n }),
      replace: (n, body) =>
        admission.replaceValidatingWebhookConfiguration({ name: n, body: body as V1ValidatingWebhookConfiguration }),
      define: (caBundle) => validatingWebhooks(target, caBundle),
    },
  ];
  const caBundle = caBundleOf(caPem);
  const results: Record<string, RegistrationResult> = {};
  for (const kind of kinds) results[kind.kind] = await registerOne(kind, name, caBundle, mode, logger);
  return results;
}

async function registerOne(
  kind: Kind,
  name: string,
  caBundle: string,
  mode: RegistrationMode,
  logger: Logger,
): Promise<RegistrationResult> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    let current: Configuration;
    try {
      current = await kind.read(name);
    } catch (error) {
      if (statusOf(error) === 404) return 'absent';
      throw new Error(`cannot read ${kind.kind} ${name}: ${describeError(error)}`, { cause: error });
    }
    const existing = current.webhooks ?? [];
    const fill = mode === 'define' || existing.length === 0;
    if (!fill && existing.every((webhook) => webhook.clientConfig.caBundle === caBundle)) return 'unchanged';
    const webhooks = fill
      ? kind.define(caBundle)
      : existing.map((webhook) => ({ ...webhook, clientConfig: { ...webhook.clientConfig, caBundle } }));
    try {
      await kind.replace(name, {
        ...current,
        metadata: { ...current.metadata, managedFields: undefined },
        webhooks,
      } as Configuration);
      logger.info(
        { configuration: `${kind.kind}/${name}`, mode },
        fill ? 'registered the webhooks' : 'updated caBundle',
      );
      return 'written';
    } catch (error) {
      const status = statusOf(error);
      if (status === 404) return 'absent';
      if (status !== 409)
        throw new Error(`cannot update ${kind.kind} ${name}: ${describeError(error)}`, { cause: error });
      logger.debug({ configuration: `${kind.kind}/${name}`, attempt }, 'changed meanwhile; reading it again');
    }
  }
  throw new Error(`${kind.kind} ${name}: still conflicting after ${MAX_ATTEMPTS} attempts`);
}
