/**
 * A small, strict XML well-formedness checker for testing generated SVG
 * (Deno has no DOMParser). It covers the XML the renderers write: a prolog,
 * comments, elements with quoted attributes, character data and the five
 * predefined entities plus numeric character references. No DTDs, no CDATA.
 * It returns the element tree with text decoded, so tests can look inside.
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: (XmlElement | string)[];
}

const NAME = /[A-Za-z_:][A-Za-z0-9_.:-]*/y;
const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** Parse `text`, throwing an Error that says where and why if it is not well-formed XML. */
export function parseXml(text: string): XmlElement {
  let i = 0;
  const fail = (why: string): never => {
    const line = text.slice(0, i).split("\n").length;
    throw new Error(`Malformed XML at line ${line} (offset ${i}): ${why}`);
  };
  const name = (): string => {
    NAME.lastIndex = i;
    const m = NAME.exec(text);
    if (!m) fail(`expected a name, found ${JSON.stringify(text.slice(i, i + 10))}`);
    i += m![0].length;
    return m![0];
  };
  const space = () => {
    while (i < text.length && " \t\r\n".includes(text[i])) i++;
  };
  const decode = (raw: string): string =>
    raw.replace(/&([^;]*);|&/g, (m, ref: string | undefined) => {
      if (ref === undefined) return fail(`bare "&" in ${JSON.stringify(raw.slice(0, 40))}`);
      if (ref in ENTITIES) return ENTITIES[ref];
      const num = /^#x([0-9a-fA-F]+)$/.exec(ref) ?? /^#([0-9]+)$/.exec(ref);
      if (!num) return fail(`unknown entity ${JSON.stringify(m)}`);
      const code = parseInt(num[1], ref.startsWith("#x") ? 16 : 10);
      if (!isXmlChar(code)) return fail(`character reference ${m} is not an XML character`);
      return String.fromCodePoint(code);
    });
  const misc = () => {
    for (;;) {
      space();
      if (text.startsWith("<!--", i)) {
        const end = text.indexOf("-->", i + 4);
        if (end < 0) fail("unterminated comment");
        i = end + 3;
      } else if (text.startsWith("<?", i)) {
        const end = text.indexOf("?>", i + 2);
        if (end < 0) fail("unterminated processing instruction");
        i = end + 2;
      } else {
        return;
      }
    }
  };

  for (const ch of text) {
    if (!isXmlChar(ch.codePointAt(0)!)) {
      i = text.indexOf(ch);
      fail(`character U+${ch.codePointAt(0)!.toString(16).padStart(4, "0")} is not allowed`);
    }
  }
  misc();
  if (text[i] !== "<") fail("expected the root element");
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  while (i < text.length) {
    if (stack.length === 0 && root) break;
    if (text.startsWith("<!--", i) || text.startsWith("<?", i)) {
      misc();
      continue;
    }
    if (text.startsWith("</", i)) {
      i += 2;
      const n = name();
      space();
      if (text[i] !== ">") fail(`expected ">" to close </${n}`);
      i++;
      const open = stack.pop();
      if (!open) fail(`closing tag </${n}> without an open element`);
      if (open!.name !== n) fail(`closing tag </${n}> does not match <${open!.name}>`);
      if (stack.length === 0) root = open;
      continue;
    }
    if (text[i] === "<") {
      i++;
      const el: XmlElement = { name: name(), attrs: {}, children: [] };
      for (;;) {
        const before = i;
        space();
        if (text.startsWith("/>", i) || text[i] === ">") break;
        if (i === before) fail(`expected whitespace before an attribute of <${el.name}>`);
        const a = name();
        space();
        if (text[i] !== "=") fail(`expected "=" after attribute ${a}`);
        i++;
        space();
        const q = text[i];
        if (q !== '"' && q !== "'") fail(`expected a quoted value for attribute ${a}`);
        const end = text.indexOf(q, i + 1);
        if (end < 0) fail(`unterminated value of attribute ${a}`);
        const raw = text.slice(i + 1, end);
        if (raw.includes("<")) fail(`"<" in the value of attribute ${a}`);
        if (a in el.attrs) fail(`duplicate attribute ${a} on <${el.name}>`);
        el.attrs[a] = decode(raw);
        i = end + 1;
      }
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(el);
      if (text.startsWith("/>", i)) {
        i += 2;
        if (!parent) root = el;
      } else {
        i++;
        stack.push(el);
      }
      continue;
    }
    const next = text.indexOf("<", i);
    const raw = text.slice(i, next < 0 ? text.length : next);
    if (stack.length === 0) fail("text outside the root element");
    if (raw.includes("]]>")) fail(`"]]>" in character data`);
    stack[stack.length - 1].children.push(decode(raw));
    i += raw.length;
  }
  if (stack.length) fail(`<${stack[stack.length - 1].name}> is never closed`);
  misc();
  if (i < text.length) fail("content after the root element");
  return root!;
}

function isXmlChar(c: number): boolean {
  return c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) ||
    (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

/** Every element named `name` in the tree, in document order. */
export function findAll(root: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement) => {
    if (e.name === name) out.push(e);
    for (const c of e.children) if (typeof c !== "string") walk(c);
  };
  walk(root);
  return out;
}

/** The concatenated text inside an element. */
export function textOf(e: XmlElement): string {
  return e.children.map((c) => (typeof c === "string" ? c : textOf(c))).join("");
}
