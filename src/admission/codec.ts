// Decodes an AdmissionReview body and encodes the answer. Knows the wire format, nothing about policy.
import { isJsonObject } from '../json.js';
import { clipped, describeValue, loggedText, MAX_LOGGED_TEXT } from './bounded-text.js';
import type { Answer } from './responses.js';
import { ADMISSION_API_VERSION, type AdmissionRequest, type GroupVersionKind } from './types.js';

/**
 * What logs and metrics may show of a review, each text at most MAX_LOGGED_TEXT characters: whatever logger writes
 * it then writes a bounded line. Shaped as an AdmissionRequest without its objects, so it can stand in for one.
 */
export interface ReviewIdentity {
  uid: string;
  kind: GroupVersionKind;
  namespace?: string;
  /** The object's name; a pod from a ReplicaSet has only generateName at admission, shown as `prefix-*`. */
  name?: string;
  operation: string;
  dryRun: boolean;
}

export type DecodeResult =
  { ok: true; request: AdmissionRequest; identity: ReviewIdentity } | { ok: false; problem: string };

/** Checks the envelope only; what is inside request.object is the webhook's business. */
export function decodeReview(body: unknown): DecodeResult {
  if (!isJsonObject(body)) return fail('body is not a JSON object; expected an admission.k8s.io/v1 AdmissionReview');
  if (body.kind !== 'AdmissionReview') {
    return fail(`kind is ${describe(body.kind)}; expected "AdmissionReview"`);
  }
  if (body.apiVersion !== ADMISSION_API_VERSION) {
    return fail(
      `apiVersion is ${describe(body.apiVersion)}; only ${ADMISSION_API_VERSION} is served ` +
        '(set admissionReviewVersions: ["v1"] in the webhook configuration)',
    );
  }
  const request = body.request;
  if (!isJsonObject(request)) return fail('request is missing or not an object');
  if (typeof request.uid !== 'string' || request.uid === '')
    return fail('request.uid is missing or not a non-empty string');
  if (typeof request.operation !== 'string') return fail('request.operation is missing or not a string');
  // The API server always sends a well-formed kind: then the request is used as it came, not copied.
  const decoded = (isKind(request.kind)
    ? request
    : { ...request, kind: kindOf(request.kind) }) as unknown as AdmissionRequest;
  return { ok: true, request: decoded, identity: reviewIdentity(decoded) };
}

/** The review's uid, kind, namespace, name and operation as a log line may show them (see ReviewIdentity). */
export function reviewIdentity(request: AdmissionRequest): ReviewIdentity {
  const namespace = request.namespace as unknown;
  const name = nameOf(request);
  return {
    uid: clipped(request.uid),
    kind: request.kind,
    ...(namespace !== undefined && namespace !== '' ? { namespace: loggedText(namespace) } : {}),
    ...(name !== undefined ? { name: loggedText(name) } : {}),
    operation: clipped(request.operation),
    dryRun: request.dryRun === true,
  };
}

function nameOf(request: AdmissionRequest): unknown {
  if (request.name) return request.name;
  const metadata = isJsonObject(request.object) ? request.object.metadata : undefined;
  if (!isJsonObject(metadata)) return undefined;
  if (typeof metadata.name === 'string' && metadata.name) return metadata.name;
  return typeof metadata.generateName === 'string' ? `${clipped(metadata.generateName)}*` : undefined;
}

/** A kind the API server could send: three strings, none longer than a Kubernetes name. */
function isKind(value: unknown): boolean {
  return (
    isJsonObject(value) &&
    typeof value.group === 'string' &&
    typeof value.version === 'string' &&
    typeof value.kind === 'string' &&
    value.group.length <= MAX_LOGGED_TEXT &&
    value.version.length <= MAX_LOGGED_TEXT &&
    value.kind.length <= MAX_LOGGED_TEXT
  );
}

/** The response body: the AdmissionReview { apiVersion, kind, response: { uid, ...answer } } as JSON. */
export function serializeReview(uid: string, answer: Answer): string {
  return JSON.stringify({ apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response: { uid, ...answer } });
}

/** A review with a malformed kind is still answerable: the webhook treats it as a kind it does not handle. */
function kindOf(value: unknown): AdmissionRequest['kind'] {
  const record = isJsonObject(value) ? value : {};
  const text = (field: unknown) => (typeof field === 'string' ? clipped(field) : '');
  return { group: text(record.group), version: text(record.version), kind: text(record.kind) };
}

function describe(value: unknown): string {
  return describeValue(value, 60);
}

function fail(problem: string): DecodeResult {
  return { ok: false, problem };
}
