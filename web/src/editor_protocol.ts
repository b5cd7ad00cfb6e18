/**
 * The editor side of the page <-> worker protocol (protocol.ts is the compile/run side): the
 * language service of `dlm lsp` (compiler/service/) asked from the page, the workspace's edited
 * files, the graph's links to source, and the weights as safetensors. Positions are the language
 * service's: 0-based lines and UTF-16 columns.
 */
import type { WebDiagnostic } from "./protocol.ts";

export interface Pos {
  line: number;
  character: number;
}

/** What every editor request carries: the open file, its text and the editor's version of it. */
interface Doc {
  id: number;
  path: string;
  text: string;
  version: number;
}

export type EditorRequest =
  | (Doc & { kind: "lint" })
  | (Doc & { kind: "hover"; pos: Pos })
  | (Doc & { kind: "complete"; pos: Pos })
  | (Doc & { kind: "signature"; pos: Pos })
  | (Doc & { kind: "weights"; model?: string })
  /** The files of the workspace the user edited (path -> text), shadowing the bundled ones. */
  | { id: number; kind: "sync"; files: Record<string, string> };

export const EDITOR_KINDS = new Set<string>([
  "lint",
  "hover",
  "complete",
  "signature",
  "weights",
  "sync",
]);

/**
 * A diagnostic with the language service's quick fixes ("Change to 'relu'", "Insert |> flatten()
 * before linear(...)"), those whose edits all fall in the diagnostic's own file.
 */
export interface LintDiagnostic extends WebDiagnostic {
  fixes?: { label: string; changes: { from: Pos; to: Pos; newText: string }[] }[];
}

export interface CompletionItem {
  label: string;
  kind: string;
  detail?: string;
  documentation?: string;
  insertText?: string;
}

export type EditorResponse =
  & { id: number; ms: number }
  & (
    | {
      kind: "lint";
      diagnostics: LintDiagnostic[];
      /** How long the language service's check of this text took (wherever it ran first). */
      checkMs: number;
    }
    | { kind: "hover"; markdown?: string; from?: Pos; to?: Pos }
    | { kind: "complete"; items: CompletionItem[] }
    | {
      kind: "signature";
      label?: string;
      documentation?: string;
      parameters?: string[];
      active?: number;
    }
    | {
      kind: "weights";
      diagnostics: WebDiagnostic[];
      safetensors?: Uint8Array;
      name?: string;
      tensors?: number;
    }
    | { kind: "sync" }
    | { kind: "failed"; error: string }
  );
