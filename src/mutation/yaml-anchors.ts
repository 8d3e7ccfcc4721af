// Aliases resolved in one walk of the document. The yaml package resolves each alias by walking the whole document
// (Alias.resolve), so an annotation of a few thousand `*a` took seconds and the largest one Kubernetes allows took
// minutes, all of it blocking the webhook. It also leaves an alias with no anchor for toJS or toString to throw on.
import { isAlias, isMap, isNode, isSeq, type Alias, type Document, type Node } from 'yaml';

export type AliasResolution =
  | { ok: true; targets: ReadonlyMap<Alias, Node> }
  /** `undefined`: no anchor of that name before it; `circular`: inside the node its anchor is on. */
  | { ok: false; alias: Alias; reason: 'undefined' | 'circular' };

/** Each alias with the node it stands for: the last node before it anchored with its name, as YAML (and yaml) has it. */
export function resolveAliases(doc: Document): AliasResolution {
  const latest = new Map<string, Node>();
  const open = new Set<Node>();
  const targets = new Map<Alias, Node>();
  let failure: { alias: Alias; reason: 'undefined' | 'circular' } | undefined;

  // Recursive, in document order (a pair's key before its value). input-limits bounds the nesting.
  const walk = (node: unknown): void => {
    if (failure !== undefined) return;
    if (isAlias(node)) {
      const target = latest.get(node.source);
      if (target === undefined) failure = { alias: node, reason: 'undefined' };
      else if (open.has(target)) failure = { alias: node, reason: 'circular' };
      else targets.set(node, target);
      return;
    }
    if (!isNode(node)) return;
    const anchor = node.anchor;
    if (anchor !== undefined) {
      latest.set(anchor, node);
      open.add(node);
    }
    if (isMap(node)) {
      for (const pair of node.items) {
        walk(pair.key);
        walk(pair.value);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) walk(item);
    }
    open.delete(node);
  };
  walk(doc.contents);
  return failure === undefined ? { ok: true, targets } : { ok: false, ...failure };
}

/** Whether an alias stands for `node`: then whatever is added to it shows up there too. */
export function isAliased(resolution: AliasResolution, node: unknown): boolean {
  if (!resolution.ok) return false;
  for (const target of resolution.targets.values()) if (target === node) return true;
  return false;
}
