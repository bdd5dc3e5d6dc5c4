// Whether a header patch can change the code of one translation unit, read from its preprocessed
// text (the compiler's -E output) before and after the patch. 6.1.176's include/linux/tcp.h turns
// tcp_sk() from a static inline into a macro; 2,336 .c files of 6.1 read that header through some
// chain of includes, but only those whose functions call tcp_sk(), or call an inline that does,
// compile to other code. Preprocessing a file costs a quarter of compiling it, and a reader the
// change cannot reach need not be compiled, before or after.
//
// The test is C's own: a top-level declaration means the same in both states when its tokens are
// the same and no name it mentions is declared differently. The declarations whose tokens differ,
// and every declaration that mentions a name one of them declares (again, to a fixpoint), are what
// the patch reaches. If one of them can emit code or data, the unit is compiled. A static inline
// function emits nothing of its own: only a function that calls it does, and a call is a mention.
// A changed declaration that declares nothing this reading recognises is compiled, never guessed.

const KEYWORDS = new Set([
  "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum",
  "extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return",
  "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void",
  "volatile", "while", "_Alignas", "_Alignof", "_Atomic", "_Bool", "_Complex", "_Generic",
  "_Noreturn", "_Static_assert", "_Thread_local", "__alignof__", "__alignof", "__asm__", "__asm",
  "asm", "__attribute__", "__attribute", "__auto_type", "__builtin_va_list", "__complex__",
  "__const__", "__const", "__extension__", "__imag__", "__inline__", "__inline", "__int128",
  "__label__", "__real__", "__restrict__", "__restrict", "__seg_fs", "__seg_gs", "__signed__",
  "__signed", "__thread", "__typeof__", "__typeof", "typeof", "__typeof_unqual__", "typeof_unqual",
  "__volatile__", "__volatile", "_Float128", "__float128", "_Pragma",
]);
/** Keywords followed by a parenthesised argument that is not a parameter list. */
const WITH_ARGUMENT = new Set(["__attribute__", "__attribute", "__asm__", "__asm", "asm", "__typeof__", "__typeof",
  "typeof", "__typeof_unqual__", "typeof_unqual", "_Alignas", "__alignof__", "__alignof", "_Alignof", "_Static_assert",
  "sizeof", "_Atomic", "__declspec", "_Pragma"]);
const TAG = new Set(["struct", "union", "enum"]);
/** Attributes that keep a function the file never calls. */
const KEEP_ATTRIBUTES = new Set(["used", "__used__", "constructor", "__constructor__", "destructor", "__destructor__"]);
const INLINE = new Set(["inline", "__inline__", "__inline"]);
/** What may follow the name a declarator declares: `foo(`, `x[`, `x =`, `x,`, `x;`, `x:`, `x __attribute__`. */
const AFTER_DECLARED = new Set(["(", "[", "=", ",", ";", ":", "__attribute__", "__attribute", "__asm__", "__asm", "asm"]);

const TOKEN = /[ \t\r\n\f\v]+|#[^\n]*|[A-Za-z_$][\w$]*|\.?\d(?:[eEpP][+-]|[\w.])*|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|\.\.\.|<<=|>>=|->|\+\+|--|<<|>>|<=|>=|==|!=|&&|\|\||[*/%+\-&^|]=|##|[^\s]/y;
const isIdentifier = (t: string) => /^[A-Za-z_$]/.test(t);
const isSpace = (c: number) => c === 32 || (c >= 9 && c <= 13);
/** `# 12 "include/linux/tcp.h" 2`: where the text came from, not what it says. */
const LINE_MARKER = /^#\s*(\d|line\b)/;

/** What one top-level declaration of a preprocessed unit declares and mentions. */
export interface Declaration {
  /** Names it declares: ordinary identifiers, and `struct foo` for any tag. */
  readonly declares: readonly string[];
  /** Every name it mentions, in the same spelling; member names are not mentions. */
  readonly mentions: ReadonlySet<string>;
  /** Whether it can put code or data into the object (false for a static inline, a typedef, a prototype). */
  readonly emits: boolean;
  /** False when it neither declares a name nor is a kind this reading knows to declare none. */
  readonly understood: boolean;
}

/** Tokens of one preprocessed declaration; a `#pragma` line is one token, line markers are dropped. */
export function tokens(text: string): string[] {
  const out: string[] = [];
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(text); m; m = TOKEN.exec(text)) {
    const t = m[0];
    const c = t.charCodeAt(0);
    if (isSpace(c)) continue;
    if (c === 35 /* # */ && t.length > 1 && LINE_MARKER.test(t)) continue;
    out.push(c === 35 ? t.replace(/\s+/g, " ").trim() : t);
  }
  return out;
}

const enum Ch { nl = 10, quote = 34, hash = 35, apos = 39, lparen = 40, rparen = 41, star = 42, eq = 61,
  lbracket = 91, backslash = 92, rbracket = 93, caret = 94, lbrace = 123, rbrace = 125, semi = 59 }
const isIdentChar = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 36;

/**
 * The unit's top-level declarations, in order, each as its text with line markers left out and
 * runs of white space made one space, after the top-level pragmas in force before it (`#pragma
 * pack(1)` changes the layout of every struct after it; diagnostics change no code). A pragma
 * between declarations is one of its own. Read character by character: a unit of 6.1's
 * net/core/dev.c is 6 MB and 1.4 million tokens, and most of its declarations are only compared.
 */
export function declarationTexts(text: string): string[] {
  const out: string[] = [];
  let pragmas = "";
  let cur = "", from = 0;
  let depth = 0, paramList = false, equals = false, body = false;
  /** The last significant character at depth 0, and where the identifier before a `(` ended. */
  let last = 0, identEnd = -1, identStart = -1, prevIdent = "";
  const flush = (to: number) => { cur += text.slice(from, to); from = to; };
  const finish = (to: number) => {
    flush(to);
    const d = cur.replace(/\s+/g, " ").trim();
    if (d) out.push(pragmas + d);
    cur = ""; depth = 0; paramList = equals = body = false; last = 0; identEnd = identStart = -1; prevIdent = "";
  };
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === Ch.hash && (i === 0 || text.charCodeAt(i - 1) === Ch.nl)) {
      let end = text.indexOf("\n", i);
      if (end < 0) end = n;
      const line = text.slice(i, end);
      flush(i);
      from = end;
      if (!LINE_MARKER.test(line)) {
        if (depth === 0 && !cur.trim()) {
          if (!/^#\s*pragma\s+GCC\s+diagnostic\b/.test(line)) pragmas += `${line.trim()}\n`;
          out.push(line.replace(/\s+/g, " ").trim());
        } else {
          // `_Pragma("GCC diagnostic push")` inside a function: kept in its text, as a token.
          cur += ` _Pragma(${JSON.stringify(line)}) `;
        }
      }
      i = end - 1;
      continue;
    }
    if (c === Ch.quote || c === Ch.apos) {
      for (i++; i < n && text.charCodeAt(i) !== c; i++) if (text.charCodeAt(i) === Ch.backslash) i++;
      if (depth === 0) last = c;
      continue;
    }
    if (isSpace(c)) continue;
    if (isIdentChar(c)) {
      const s = i;
      while (i + 1 < n && isIdentChar(text.charCodeAt(i + 1))) i++;
      if (depth === 0) {
        if (identStart >= 0) prevIdent = text.slice(identStart, identEnd);
        identStart = s; identEnd = i + 1; last = c;
      }
      continue;
    }
    if (c === Ch.lparen || c === Ch.lbracket || c === Ch.lbrace) {
      if (depth === 0) {
        if (c === Ch.lparen && last === Ch.rparen) paramList = true;
        else if (c === Ch.lparen && identEnd >= 0 && lastWasIdentifier(text, identEnd, i)) {
          const name = text.slice(identStart, identEnd);
          let k = i + 1;
          while (k < n && isSpace(text.charCodeAt(k))) k++;
          const pointer = text.charCodeAt(k) === Ch.star || text.charCodeAt(k) === Ch.caret;
          if (!KEYWORDS.has(name) && !TAG.has(prevIdent) && !pointer) paramList = true;
        }
        if (c === Ch.lbrace && last === Ch.rparen && paramList && !equals) body = true;
      }
      depth++;
      continue;
    }
    if (c === Ch.rparen || c === Ch.rbracket || c === Ch.rbrace) {
      depth = Math.max(0, depth - 1);
      if (depth === 0) {
        last = c;
        if (c === Ch.rbrace && body) finish(i + 1);
      }
      continue;
    }
    if (depth !== 0) continue;
    if (c === Ch.semi) { finish(i + 1); continue; }
    if (c === Ch.eq) equals = true;
    last = c;
  }
  finish(n);
  return out;
}

/** Whether nothing but white space lies between the identifier ending at `end` and `at`. */
function lastWasIdentifier(text: string, end: number, at: number): boolean {
  for (let k = end; k < at; k++) if (!isSpace(text.charCodeAt(k))) return false;
  return true;
}

/** The index of the group closing each opening bracket of t (and the reverse), or -1. */
function groups(t: readonly string[]): Int32Array {
  const match = new Int32Array(t.length).fill(-1);
  const stack: number[] = [];
  for (let i = 0; i < t.length; i++) {
    const x = t[i]!;
    if (x === "(" || x === "[" || x === "{") stack.push(i);
    else if ((x === ")" || x === "]" || x === "}") && stack.length) {
      const o = stack.pop()!;
      match[o] = i; match[i] = o;
    }
  }
  return match;
}

/** `u8 (*fp)(int)`: the group after a type name holds a declarator, not parameters. */
const startsPointer = (t: readonly string[], open: number) => t[open + 1] === "*" || t[open + 1] === "^";

/** Whether the `(` at t[i] opens a function's parameters: `foo(`, not `__attribute__((` or `int (*fp)`. */
function opensParameters(t: readonly string[], i: number): boolean {
  const before = t[i - 1];
  if (before === undefined) return false;
  if (before === ")") return true; // `(*f(int))(int)`: a function returning a pointer to one
  return isIdentifier(before) && !KEYWORDS.has(before) && !TAG.has(t[i - 2] ?? "") && !startsPointer(t, i);
}

/** The index of the `{` of a function definition's body at the top level of t, or -1. */
function bodyOf(t: readonly string[], match: Int32Array): number {
  let params = false;
  for (let i = 0; i < t.length; i++) {
    const x = t[i]!;
    if (x === "=" || x === ";") return -1;
    if (x === "{" && t[i - 1] === ")" && params) return i;
    if (x === "(" && opensParameters(t, i)) params = true;
    if ((x === "(" || x === "[" || x === "{") && match[i]! > i) i = match[i]!;
  }
  return -1;
}

/**
 * Whether the `{` at t[i] opens a struct or union: `struct foo {`, `union {`, `struct
 * __attribute__((packed)) foo {`. Its members' names are no mentions of anything outside it.
 */
function opensRecord(t: readonly string[], i: number, match: Int32Array): boolean {
  const skipAttributes = (j: number) => {
    while (j >= 0 && t[j] === ")" && match[j]! >= 1 && WITH_ARGUMENT.has(t[match[j]! - 1]!)) j = match[j]! - 2;
    return j;
  };
  let j = skipAttributes(i - 1);
  if (j >= 0 && isIdentifier(t[j]!) && !KEYWORDS.has(t[j]!)) j = skipAttributes(j - 1);
  return t[j] === "struct" || t[j] === "union";
}

/** What the declaration of preprocessed text `text` declares, mentions and emits. */
export function declaration(text: string): Declaration {
  // After the pragmas in force, one line.
  const t = tokens(text.slice(text.lastIndexOf("\n") + 1));
  const match = groups(t);
  const first = t[0] === "__extension__" ? t[1] ?? "" : t[0] ?? "";
  const none = (emits: boolean): Declaration => ({ declares: [], mentions: new Set(), emits, understood: true });
  if (first.startsWith("#")) return none(true);
  // `struct sock;` or a stray `;`: a forward declaration makes no code, whatever follows it.
  if ((t.length === 3 && TAG.has(first) && t[2] === ";") || (t.length === 1 && first === ";")) return none(false);
  const mentions = new Set<string>();
  const declares = new Set<string>();
  // Brace groups that hold a struct's or union's members, by the index of their `}`.
  const recordEnds: number[] = [];
  for (let i = 0; i < t.length; i++) {
    const x = t[i]!;
    if (x === "{" && opensRecord(t, i, match)) recordEnds.push(match[i]!);
    else if (x === "}" && recordEnds.at(-1) === i) recordEnds.pop();
    if (!isIdentifier(x) || KEYWORDS.has(x)) continue;
    const before = t[i - 1] ?? "";
    if (TAG.has(before)) {
      mentions.add(`struct ${x}`);
      // A tag defined anywhere in it, nested ones included: C gives them file scope.
      if (t[i + 1] === "{" || (t[i + 1] === "__attribute__" && t[match[i + 2]! + 1] === "{")) declares.add(`struct ${x}`);
      continue;
    }
    // `skb->dev`, `.owner = THIS_MODULE`: a member, not a name of the file's scope.
    if (before === "." || before === "->") continue;
    // A member's own name in a struct's body: `struct sock *tcp_sk;` of struct netns_ipv6
    // mentions no function tcp_sk. A bitfield's width (`: WIDTH;`) is a mention.
    if (recordEnds.length && before !== ":" && isMemberName(t, i)) continue;
    mentions.add(x);
  }
  if (first === "asm" || first === "__asm__" || first === "__asm" || first === "_Static_assert") {
    return { declares: [], mentions, emits: true, understood: true };
  }
  for (let i = 0; i < t.length; i++) if (t[i] === "enum") enumerators(t, i, match, declares);

  // Declarators at the top level of the declaration, up to a function's body.
  const body = bodyOf(t, match);
  let isTypedef = false, isExtern = false, isStatic = false, isInline = false, initialised = false;
  let prototypes = 0, declarators = 0;
  for (let i = 0; i < (body >= 0 ? body : t.length); i++) {
    const x = t[i]!;
    if (x === "(" || x === "[" || x === "{") {
      if (x === "(" && declaratorGroup(t, i)) {
        const name = firstDeclared(t, i, match[i]!, match);
        if (name) { declares.add(name); declarators++; }
      }
      if (match[i]! > i) i = match[i]!;
      continue;
    }
    if (x === "=") { initialised = true; i = endOfInitialiser(t, i, match); continue; }
    if (x === "typedef") isTypedef = true;
    else if (x === "extern") isExtern = true;
    else if (x === "static") isStatic = true;
    else if (INLINE.has(x)) isInline = true;
    else if (isIdentifier(x) && !KEYWORDS.has(x) && !TAG.has(t[i - 1] ?? "") && AFTER_DECLARED.has(t[i + 1] ?? "")
      && !(t[i + 1] === "(" && startsPointer(t, i + 1))) {
      declares.add(x);
      declarators++;
      if (t[i + 1] === "(") prototypes++;
    }
  }
  const tagsOnly = declarators === 0 && declares.size > 0;
  let emits: boolean;
  // `__attribute__((__used__))` (or constructor) makes the compiler keep even an uncalled inline.
  const kept = t.slice(0, body >= 0 ? body : t.length).some((x) => KEEP_ATTRIBUTES.has(x));
  if (body >= 0) emits = kept || !(isInline && (isStatic || isExtern));
  else if (isTypedef || tagsOnly) emits = false;
  else if (isExtern && !initialised) emits = false;
  else emits = !(declarators > 0 && prototypes === declarators && !initialised);
  return { declares: [...declares], mentions, emits, understood: declares.size > 0 };
}

/**
 * Whether the identifier at t[i], inside a struct's body, is a member's own name: followed by
 * what ends a member declarator (`flags;`, `list,`, `buf[`, `bit:`, `x __attribute__`), or by
 * the `)` of a function pointer member (`(*open)(`).
 */
function isMemberName(t: readonly string[], i: number): boolean {
  const next = t[i + 1];
  // `struct outer { inner_t; }`: an unnamed member of a typedef'd struct (-fms-extensions, which
  // kernels since 6.19 build with) names a type, not a member.
  if (next === ";" && (t[i - 1] === "{" || t[i - 1] === ";")) return false;
  if (next === ";" || next === "," || next === "[" || next === ":" || next === "__attribute__") return true;
  return next === ")" && t[i - 1] === "*" && t[i + 2] === "(";
}

/** A parenthesised declarator at the top level: `void (*handler)(int)`, `int (x)`. */
function declaratorGroup(t: readonly string[], open: number): boolean {
  const before = t[open - 1];
  if (before === undefined || WITH_ARGUMENT.has(before)) return false;
  if (isIdentifier(before) && !KEYWORDS.has(before)) return startsPointer(t, open);
  return before !== ")" && before !== "]";
}

/** The first name a parenthesised declarator declares, attributes skipped: `(*fp)` → fp. */
function firstDeclared(t: readonly string[], open: number, close: number, match: Int32Array): string | undefined {
  for (let j = open + 1; j < close; j++) {
    const x = t[j]!;
    if (WITH_ARGUMENT.has(x) && t[j + 1] === "(") { j = Math.max(j + 1, match[j + 1]!); continue; }
    if (isIdentifier(x) && !KEYWORDS.has(x) && !TAG.has(t[j - 1] ?? "")) return x;
  }
  return undefined;
}

/** The `,` or `;` that ends the initialiser after the `=` at t[eq], less one. */
function endOfInitialiser(t: readonly string[], eq: number, match: Int32Array): number {
  for (let j = eq + 1; j < t.length; j++) {
    const x = t[j]!;
    if ((x === "(" || x === "[" || x === "{") && match[j]! > j) j = match[j]!;
    else if (x === "," || x === ";") return j - 1;
  }
  return t.length - 1;
}

/** The constants of the enum whose keyword is at t[at]: `enum { A, B = 2 }` declares A and B. */
function enumerators(t: readonly string[], at: number, match: Int32Array, into: Set<string>): void {
  let j = at + 1;
  while (j < t.length && t[j] !== "{" && t[j] !== ";" && t[j] !== ")" && t[j] !== "=") {
    if (WITH_ARGUMENT.has(t[j]!) && t[j + 1] === "(") j = Math.max(j + 1, match[j + 1]!);
    j++;
  }
  if (t[j] !== "{") return;
  const close = match[j]! > j ? match[j]! : t.length;
  let expectName = true;
  for (let k = j + 1; k < close; k++) {
    const x = t[k]!;
    if ((x === "(" || x === "[" || x === "{") && match[k]! > k) { k = match[k]!; expectName = false; continue; }
    if (x === ",") { expectName = true; continue; }
    if (expectName && isIdentifier(x) && !KEYWORDS.has(x)) into.add(x);
    expectName = false;
  }
}

/** A short name for a declaration in a message: what it declares, or its first words. */
function label(text: string, d: Declaration): string {
  if (d.declares.length) return d.declares.slice(0, 2).join(", ");
  const head = text.split("\n").pop()!;
  return head.length > 60 ? `${head.slice(0, 57)}…` : head;
}

const LINE_MARKERS = /^#\s*\d.*\n/gm;
const isAsm = (text: string) => /^(?:__extension__ )?(?:asm|__asm__|__asm)\b/.test(text.slice(text.lastIndexOf("\n") + 1));

/**
 * Why the unit's code may differ between the two preprocessed texts, or undefined when no
 * declaration that can emit code or data mentions anything the patch changed.
 */
export function codeMayDiffer(orig: string, patched: string): string | undefined {
  if (orig === patched) return undefined;
  // A #define added to a header moves the line markers after it, and nothing else.
  if (orig.replace(LINE_MARKERS, "") === patched.replace(LINE_MARKERS, "")) return undefined;
  const before = declarationTexts(orig), after = declarationTexts(patched);
  // The assembler takes top-level asm in order: the same statements in another order differ.
  if (before.filter(isAsm).join("\n") !== after.filter(isAsm).join("\n")) return "its top-level asm statements differ";
  const count = new Map<string, number>();
  for (const d of before) count.set(d, (count.get(d) ?? 0) + 1);
  const changed: string[] = [];
  const kept: string[] = [];
  for (const d of after) {
    const n = count.get(d) ?? 0;
    if (n > 0) { count.set(d, n - 1); kept.push(d); } else changed.push(d);
  }
  for (const d of before) {
    const n = count.get(d) ?? 0;
    if (n > 0) { count.set(d, n - 1); changed.push(d); }
  }
  const reached = new Set<string>();
  for (const text of changed) {
    const d = declaration(text);
    if (!d.understood) return `a declaration changed whose names klpkit cannot read (${label(text, d)})`;
    if (d.emits) return `${label(text, d)} changed`;
    for (const n of d.declares) reached.add(n);
  }
  // Every unchanged declaration that mentions a name a changed one declares, to a fixpoint. The
  // texts are searched for the bare words first; only those that hold one are read whole.
  const read = new Map<number, Declaration>();
  const done = new Set<number>();
  let round = [...reached];
  while (round.length) {
    const words = new RegExp(`(?<![\\w$])(?:${[...new Set(round.map((n) => n.replace(/^struct /, "").replace(/\$/g, "\\$")))].join("|")})(?![\\w$])`);
    const names = round;
    round = [];
    for (let i = 0; i < kept.length; i++) {
      if (done.has(i) || !words.test(kept[i]!)) continue;
      let d = read.get(i);
      if (!d) { d = declaration(kept[i]!); read.set(i, d); }
      const name = names.find((n) => d!.mentions.has(n));
      if (!name) continue;
      done.add(i);
      if (d.emits) return `${label(kept[i]!, d)} uses ${name}, which the patch changes`;
      for (const n of d.declares) if (!reached.has(n)) { reached.add(n); round.push(n); }
    }
  }
  return undefined;
}
