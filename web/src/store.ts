/// <reference lib="dom" />
/**
 * The trained weights kept in the browser (IndexedDB), so that a reload keeps them: one record
 * per trained file, with the chart's points. Nothing leaves the browser.
 */
import type { EpochRecord } from "./train.ts";

export interface TrainedRecord {
  /** safetensors bytes, the layout `dlm train --save` writes. */
  weights: Uint8Array;
  history: EpochRecord[];
  /** The chart's per-run points: [step, value]. */
  loss: [number, number][];
  accuracy: [number, number][];
  steps: number;
  seconds: number;
  epochs: number;
  finished: boolean;
}

const DB = "dlm-playground-training";
const STORE = "trained";

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(DB, 1);
    r.onupgradeneeded = () => r.result.createObjectStore(STORE);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

async function tx<T>(mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const r = f(db.transaction(STORE, mode).objectStore(STORE));
      r.onsuccess = () => resolve(r.result as T);
      r.onerror = () => reject(r.error);
    });
  } finally {
    db.close();
  }
}

export function saveTrained(file: string, rec: TrainedRecord): Promise<unknown> {
  return tx("readwrite", (s) => s.put(rec, file));
}

/** The stored record of `file`, or undefined (none, or storage unavailable). */
export async function loadTrained(file: string): Promise<TrainedRecord | undefined> {
  try {
    return await tx<TrainedRecord | undefined>("readonly", (s) => s.get(file));
  } catch {
    return undefined;
  }
}
