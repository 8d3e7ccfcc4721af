// Warnings are printed by kubectl one per line and should stay under 120 characters, so a message names the
// first few items and counts the rest; the finding's own fields keep the full list for logs and reports.

export const WARNING_LENGTH_LIMIT = 120;

export function shortList(items: readonly (string | number)[], max: number, separator = ', '): string {
  if (items.length <= max) return items.join(separator);
  return `${items.slice(0, max).join(separator)} (+${items.length - max} more)`;
}

/** The first rendering under the limit, from the most detailed down; the last (tersest) when none fits. */
export function firstThatFits(renderings: readonly string[]): string {
  return renderings.find((message) => message.length < WARNING_LENGTH_LIMIT) ?? renderings[renderings.length - 1] ?? '';
}
