// Encoded patches, remembered. Encoding a pod's patch (JSON with the annotation's escapes, then base64) took
// 1.3 us, a third of a pod review once the MergeCache answers; replicas of a Deployment get the same patch.
import type { Operation } from 'fast-json-patch';
import { encodePatch, type EncodedPatch } from '../admission/responses.js';

/** Most patches remembered; all are forgotten when one more comes, as a rollout needs only its own. */
export const MAX_ENCODINGS = 256;
/** Larger encodings are not kept: 256 of these are at most 4 MiB. */
export const MAX_ENCODED_CHARS = 16 * 1024;

export class PatchEncodings {
  private readonly byPath = new Map<string, Map<string, EncodedPatch>>();
  private count = 0;

  /**
   * encodePatch(patch), for a patch planPodMutation made: its path and the annotation text it writes determine it.
   * The text is the MergeCache's own string for every replica, whose hash V8 keeps: a repeat costs two lookups.
   */
  encode(patch: readonly Operation[], annotation: string): EncodedPatch {
    const path = patch.length === 1 ? patch[0]?.path : undefined;
    if (path === undefined) return encodePatch(patch);
    let byText = this.byPath.get(path);
    const known = byText?.get(annotation);
    if (known !== undefined) return known;
    const encoded = encodePatch(patch);
    if (encoded.length > MAX_ENCODED_CHARS) return encoded;
    if (this.count >= MAX_ENCODINGS) {
      this.byPath.clear();
      this.count = 0;
      byText = undefined;
    }
    if (byText === undefined) this.byPath.set(path, (byText = new Map()));
    byText.set(annotation, encoded);
    this.count++;
    return encoded;
  }

  get size(): number {
    return this.count;
  }
}
