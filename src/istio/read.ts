// Tolerant readers for Kubernetes objects that arrive as `unknown`: odd shapes yield "absent", never a throw.
// Shared by the ServiceEntry and DestinationRule views.

export type Dict = Record<string, unknown>;

export function isDict(value: unknown): value is Dict {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Own properties only, so keys like `constructor` or `__proto__` never reach into a prototype. */
export function field(object: unknown, key: string): unknown {
  return isDict(object) && Object.hasOwn(object, key) ? object[key] : undefined;
}

export function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Ports arrive as numbers, or as strings from hand-written YAML; only 1-65535 is usable. */
export function portNumber(value: unknown): number | undefined {
  const port = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? port : undefined;
}
