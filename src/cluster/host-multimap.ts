// Normalized host -> the objects that name it. Lookups cost O(objects for that host), never O(all objects),
// which is what keeps admission latency flat at 100,000 ServiceEntries. Most hosts are named by one object,
// so that object is stored bare; a Set is made only for a host that several objects name.

export class HostMultimap<T extends object> {
  private readonly byHost = new Map<string, T | Set<T>>();

  add(host: string, item: T): void {
    const current = this.byHost.get(host);
    if (current === undefined) this.byHost.set(host, item);
    else if (current instanceof Set) current.add(item);
    else if (current !== item) this.byHost.set(host, new Set([current, item]));
  }

  remove(host: string, item: T): void {
    const current = this.byHost.get(host);
    if (current === item) {
      this.byHost.delete(host);
    } else if (current instanceof Set) {
      current.delete(item);
      // Back to a bare object, or gone: hosts that disappear do not pile up in a long-running server.
      if (current.size === 1) this.byHost.set(host, current.values().next().value as T);
      else if (current.size === 0) this.byHost.delete(host);
    }
  }

  /** The objects naming `host`, in the order they were added. */
  get(host: string): Iterable<T> {
    const current = this.byHost.get(host);
    if (current === undefined) return [];
    return current instanceof Set ? current : [current];
  }

  clear(): void {
    this.byHost.clear();
  }
}
