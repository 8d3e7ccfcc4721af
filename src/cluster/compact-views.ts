// Stored views are copied into a compact form: at 100,000 ServiceEntries every duplicated small string and
// every empty map counts. The copy is equal to the input in every field the rules read, and keeps nothing else.
import type { DestinationRuleView } from '../istio/destination-rule.js';
import type { ServiceEntryView } from '../istio/service-entry.js';

const EMPTY_LIST: string[] = Object.freeze([]) as unknown as string[];
const EMPTY_MAP: Record<string, string> = Object.freeze(Object.create(null)) as Record<string, string>;

/**
 * Shares strings that repeat across objects (namespaces, field paths, protocols, port names). Only such
 * low-cardinality fields are interned, so the table stays small however many objects pass through.
 */
export class ViewCompactor {
  private readonly strings = new Map<string, string>();

  private intern(value: string): string {
    const known = this.strings.get(value);
    if (known !== undefined) return known;
    this.strings.set(value, value);
    return value;
  }

  private list(values: readonly string[], intern: boolean): string[] {
    if (values.length === 0) return EMPTY_LIST;
    return intern ? values.map((value) => this.intern(value)) : [...values];
  }

  /** A view holds only the metadata keys rules read (toServiceEntryView drops the rest); their names are interned. */
  private map(values: Readonly<Record<string, string>>): Record<string, string> {
    const keys = Object.keys(values);
    if (keys.length === 0) return EMPTY_MAP;
    const copy: Record<string, string> = Object.create(null);
    for (const key of keys) copy[this.intern(key)] = values[key] ?? '';
    return copy;
  }

  serviceEntry(view: ServiceEntryView): ServiceEntryView {
    return {
      namespace: this.intern(view.namespace),
      name: view.name,
      hosts: view.hosts.map(({ host, path }) => ({ host, path: this.intern(path) })),
      ports: view.ports.map((port) => ({
        number: port.number,
        protocol: this.intern(port.protocol),
        name: this.intern(port.name),
        ...(port.targetPort === undefined ? {} : { targetPort: port.targetPort }),
        path: this.intern(port.path),
      })),
      resolution: this.intern(view.resolution),
      addresses: this.list(view.addresses, false),
      endpointCount: view.endpointCount,
      exportTo: this.list(view.exportTo, true),
      labels: this.map(view.labels),
      annotations: this.map(view.annotations),
      ...(view.uid === undefined ? {} : { uid: view.uid }),
      ...(view.resourceVersion === undefined ? {} : { resourceVersion: view.resourceVersion }),
    };
  }

  destinationRule(view: DestinationRuleView): DestinationRuleView {
    return { ...view, namespace: this.intern(view.namespace), exportTo: this.list(view.exportTo, true) };
  }

  clear(): void {
    this.strings.clear();
  }
}
