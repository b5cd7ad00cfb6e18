/**
 * The page's state across reloads, in the browser's localStorage (nothing is sent anywhere): the
 * files the user edited (only those that differ from the bundled examples) and the open one.
 * "Reset to bundled examples" forgets both.
 */

/** The part of the Web Storage API used here (a Map-backed fake in the tests). */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export const STORAGE_KEY = "dlm-playground:workspace:v1";

export interface SavedState {
  /** The open file. */
  current: string;
  /** Edited files by path: the text of each that differs from its bundled version. */
  edits: Record<string, string>;
}

/** The state saved in `store`, if any and well-formed (anything else is ignored). */
export function loadState(store: KeyValueStore | undefined): SavedState | undefined {
  let raw: string | null = null;
  try {
    raw = store?.getItem(STORAGE_KEY) ?? null;
  } catch { /* storage refused (a privacy mode): start from the examples */ }
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw);
    if (typeof v?.current !== "string" || typeof v.edits !== "object" || !v.edits) return undefined;
    const edits: Record<string, string> = {};
    for (const [k, t] of Object.entries(v.edits)) if (typeof t === "string") edits[k] = t;
    return { current: v.current, edits };
  } catch {
    return undefined;
  }
}

/** The files that differ from `bundled` (a file the user created counts as edited). */
export function editsOf(
  files: Record<string, string>,
  bundled: Record<string, string>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, t] of Object.entries(files)) if (bundled[k] !== t) out[k] = t;
  return out;
}

/** Save the open file and the edits; false when the storage refused (full, or disabled). */
export function saveState(store: KeyValueStore | undefined, s: SavedState): boolean {
  try {
    store?.setItem(STORAGE_KEY, JSON.stringify(s));
    return !!store;
  } catch {
    return false;
  }
}

export function clearState(store: KeyValueStore | undefined): void {
  try {
    store?.removeItem(STORAGE_KEY);
  } catch { /* nothing saved */ }
}
