// The webhooks the server registers in its two configurations once it can serve. The manifests ship both
// configurations as shells without `webhooks`, so kubectl apply and Helm never own this field and never fight the
// server over it. deploy/base/webhooks.yaml is the readable copy of the same definitions (a unit test keeps them equal).
import type {
  AdmissionregistrationV1WebhookClientConfig,
  V1MutatingWebhook,
  V1ValidatingWebhook,
} from '@kubernetes/client-node';

export const MUTATING_WEBHOOK_NAME = 'dns-capture.egress-guard.io';
export const VALIDATING_WEBHOOK_NAME = 'serviceentries.egress-guard.io';
export const MUTATE_PODS_PATH = '/mutate/pods';
export const VALIDATE_SERVICEENTRIES_PATH = '/validate/serviceentries';

/** How the API server reaches us: the in-cluster Service, or a URL base (tests, out-of-cluster development). */
export interface WebhookTarget {
  namespace: string;
  service: string;
  urlBase?: string;
}

function clientConfig(
  target: WebhookTarget,
  path: string,
  caBundle: string,
): AdmissionregistrationV1WebhookClientConfig {
  if (target.urlBase !== undefined) return { url: `${target.urlBase}${path}`, caBundle };
  return { service: { namespace: target.namespace, name: target.service, path, port: 443 }, caBundle };
}

/** Never our own namespace or kube-system: the server must be able to start without calling itself. */
function excludedNamespaces(target: WebhookTarget): string[] {
  return ['kube-system', target.namespace];
}

/** Pods in opted-in namespaces get DNS capture; never blocks a pod (failurePolicy Ignore). */
export function mutatingWebhooks(target: WebhookTarget, caBundle: string): V1MutatingWebhook[] {
  return [
    {
      name: MUTATING_WEBHOOK_NAME,
      admissionReviewVersions: ['v1'],
      clientConfig: clientConfig(target, MUTATE_PODS_PATH, caBundle),
      rules: [
        { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' },
      ],
      namespaceSelector: {
        matchLabels: { 'egress-guard.io/dns-capture': 'enabled' },
        matchExpressions: [
          { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: excludedNamespaces(target) },
        ],
      },
      objectSelector: {
        matchExpressions: [{ key: 'egress-guard.io/dns-capture', operator: 'NotIn', values: ['disabled'] }],
      },
      failurePolicy: 'Ignore',
      matchPolicy: 'Equivalent',
      sideEffects: 'None',
      timeoutSeconds: 5,
      reinvocationPolicy: 'IfNeeded',
    },
  ];
}

/** ServiceEntries are checked and fail closed (failurePolicy Fail); never their status subresource. */
export function validatingWebhooks(target: WebhookTarget, caBundle: string): V1ValidatingWebhook[] {
  return [
    {
      name: VALIDATING_WEBHOOK_NAME,
      admissionReviewVersions: ['v1'],
      clientConfig: clientConfig(target, VALIDATE_SERVICEENTRIES_PATH, caBundle),
      rules: [
        {
          apiGroups: ['networking.istio.io'],
          apiVersions: ['v1', 'v1beta1', 'v1alpha3'],
          operations: ['CREATE', 'UPDATE'],
          resources: ['serviceentries'],
          scope: 'Namespaced',
        },
      ],
      namespaceSelector: {
        matchExpressions: [
          { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: excludedNamespaces(target) },
        ],
      },
      failurePolicy: 'Fail',
      matchPolicy: 'Equivalent',
      sideEffects: 'None',
      timeoutSeconds: 5,
    },
  ];
}

/** caBundle as the API expects it: base64 of the PEM bundle. */
export function caBundleOf(caPem: string): string {
  return Buffer.from(caPem.endsWith('\n') ? caPem : `${caPem}\n`, 'utf8').toString('base64');
}
