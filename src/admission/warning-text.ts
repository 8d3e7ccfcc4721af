// kubectl prints each AdmissionResponse warning on its own "Warning: " line, and the API server passes them in an
// HTTP header and may truncate past 256 characters: keep them under 120, on one line, whatever text they quote.

export const MAX_WARNING_LENGTH = 119;

/**
 * User-supplied text as shown in a warning: control characters escaped (a warning travels in an HTTP
 * header and prints as one line) and shortened to `max`, with an ellipsis showing the cut.
 */
export function clipText(text: string, max: number): string {
  const printable = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (char) => JSON.stringify(char).slice(1, -1));
  return printable.length <= max ? printable : `${printable.slice(0, Math.max(0, max - 1)).trimEnd()}…`;
}

/** The last guard before a warning leaves: rules aim for short texts, this makes sure of it. */
export function warningText(text: string): string {
  return clipText(text, MAX_WARNING_LENGTH);
}
