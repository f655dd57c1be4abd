// The regular expressions of `stork/snapshot-restore-namespaces`, matched in linear time. Users write
// them; V8's backtracking engine takes exponential time on patterns such as `(a+)+$`, and every leader in
// turn would freeze on the same claim. This is the subset of the syntax a namespace name needs, compiled
// to a Thompson NFA and simulated state set by state set: time is bounded by pattern size × name length.

/** A pattern that is not valid (or not supported); the message says why. */
export class NamespacePatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NamespacePatternError';
  }
}

/** The largest repetition count in `{n,m}` (a namespace name has at most 63 characters). */
export const maxRepeat = 100;
/** The most NFA states one pattern may compile to. */
export const maxPatternStates = 10_000;

export interface NamespacePattern {
  /** Whether the whole of `text` matches (the pattern is anchored ^…$). */
  test(text: string): boolean;
}

type CharTest = (c: string) => boolean;

type Node =
  | { kind: 'char'; test: CharTest }
  | { kind: 'cat'; items: Node[] }
  | { kind: 'alt'; options: Node[] }
  | { kind: 'repeat'; node: Node; min: number; max: number };

type State =
  { kind: 'char'; test: CharTest; out: number } | { kind: 'split'; out: number[] } | { kind: 'match' };

/** Compiles one pattern; throws NamespacePatternError for one that is invalid or not supported. */
export function compileNamespacePattern(source: string): NamespacePattern {
  const ast = new Parser(source).parse();
  const states: State[] = [{ kind: 'match' }];
  const start = build(ast, 0, states);
  return { test: (text) => simulate(states, start, text) };
}

class Parser {
  private pos = 0;

  constructor(private readonly source: string) {}

  parse(): Node {
    if (this.source.startsWith('^')) this.pos++;
    const node = this.alternation();
    if (this.pos < this.source.length) {
      // alternation() stops only at ')' or the end.
      throw this.error('unmatched )');
    }
    return node;
  }

  private error(reason: string): NamespacePatternError {
    return new NamespacePatternError(`${reason} (at character ${this.pos + 1})`);
  }

  private peek(): string | undefined {
    return this.source[this.pos];
  }

  private alternation(): Node {
    const options = [this.sequence()];
    while (this.peek() === '|') {
      this.pos++;
      options.push(this.sequence());
    }
    return options.length === 1 ? (options[0] as Node) : { kind: 'alt', options };
  }

  private sequence(): Node {
    const items: Node[] = [];
    for (let c = this.peek(); c !== undefined && c !== '|' && c !== ')'; c = this.peek()) {
      if (c === '$') {
        if (this.pos !== this.source.length - 1) throw this.error('$ only at the end is supported');
        this.pos++;
        continue;
      }
      items.push(this.quantified(this.atom()));
    }
    return { kind: 'cat', items };
  }

  private quantified(node: Node): Node {
    const c = this.peek();
    let min: number;
    let max: number;
    if (c === '*') [min, max] = [0, Infinity];
    else if (c === '+') [min, max] = [1, Infinity];
    else if (c === '?') [min, max] = [0, 1];
    else if (c === '{') [min, max] = this.braces();
    else return node;
    if (c !== '{') this.pos++;
    // A lazy quantifier matches the same whole names as a greedy one.
    if (this.peek() === '?') this.pos++;
    const next = this.peek();
    if (next === '*' || next === '+' || next === '?' || next === '{') throw this.error('nothing to repeat');
    return { kind: 'repeat', node, min, max };
  }

  private braces(): [number, number] {
    const match = /^\{(\d+)(,(\d*))?\}/.exec(this.source.slice(this.pos));
    if (!match) throw this.error('a { must start a repetition {n}, {n,} or {n,m}');
    const min = Number(match[1]);
    const max = match[2] === undefined ? min : match[3] === '' ? Infinity : Number(match[3]);
    if (min > maxRepeat || (max !== Infinity && max > maxRepeat)) {
      throw this.error(`repetition counts are at most ${maxRepeat}`);
    }
    if (max < min) throw this.error('repetition counts out of order');
    this.pos += match[0].length;
    return [min, max];
  }

  private atom(): Node {
    const c = this.peek() ?? '';
    switch (c) {
      case '(':
        return this.group();
      case '[':
        return this.charClass();
      case '.':
        this.pos++;
        return { kind: 'char', test: (x) => x !== '\n' };
      case '\\':
        return { kind: 'char', test: this.escape() };
      case '*':
      case '+':
      case '?':
      case '{':
        throw this.error('nothing to repeat');
      case '^':
        throw this.error('^ only at the start is supported');
      default:
        this.pos++;
        return { kind: 'char', test: (x) => x === c };
    }
  }

  private group(): Node {
    this.pos++;
    if (this.peek() === '?') {
      const kind = this.source.slice(this.pos, this.pos + 3);
      if (kind.startsWith('?:')) this.pos += 2;
      else if (/^\?<?[=!]/.test(kind)) throw this.error('lookaround is not supported');
      else throw this.error(`group (${kind}... is not supported`);
    }
    const inner = this.alternation();
    if (this.peek() !== ')') throw this.error('missing )');
    this.pos++;
    return inner;
  }

  /** `\x`: a class such as \d, or an escaped punctuation character standing for itself. */
  private escape(): CharTest {
    this.pos++;
    const c = this.peek();
    if (c === undefined) throw this.error('\\ at the end');
    this.pos++;
    switch (c) {
      case 'd':
        return (x) => x >= '0' && x <= '9';
      case 'D':
        return (x) => !(x >= '0' && x <= '9');
      case 'w':
        return isWord;
      case 'W':
        return (x) => !isWord(x);
      case 's':
        return isSpace;
      case 'S':
        return (x) => !isSpace(x);
      case 'n':
        return (x) => x === '\n';
      case 't':
        return (x) => x === '\t';
    }
    if (/[1-9]/.test(c)) throw this.error('backreferences are not supported');
    if (/[A-Za-z0-9]/.test(c)) throw this.error(`\\${c} is not supported`);
    return (x) => x === c;
  }

  private charClass(): Node {
    this.pos++;
    const negated = this.peek() === '^';
    if (negated) this.pos++;
    const parts: CharTest[] = [];
    for (;;) {
      const c = this.peek();
      if (c === undefined) throw this.error('unterminated [');
      if (c === ']') {
        this.pos++;
        break;
      }
      const low = this.classChar();
      if (
        this.peek() === '-' &&
        this.source[this.pos + 1] !== ']' &&
        this.source[this.pos + 1] !== undefined
      ) {
        this.pos++;
        const high = this.classChar();
        if (typeof low !== 'string' || typeof high !== 'string') {
          throw this.error('a range must be between two characters');
        }
        if (high < low) throw this.error('range out of order');
        parts.push((x) => x >= low && x <= high);
      } else {
        parts.push(typeof low === 'string' ? (x) => x === low : low);
      }
    }
    const inClass = (x: string): boolean => parts.some((p) => p(x));
    return { kind: 'char', test: negated ? (x) => !inClass(x) : inClass };
  }

  /** One member of a class: a character, or the test of an escape such as \d. */
  private classChar(): string | CharTest {
    const c = this.peek() ?? '';
    if (c !== '\\') {
      this.pos++;
      return c;
    }
    const next = this.source[this.pos + 1] ?? '';
    if (next !== '' && !/[A-Za-z0-9]/.test(next)) {
      this.pos += 2;
      return next;
    }
    return this.escape();
  }
}

function isWord(x: string): boolean {
  return /^[A-Za-z0-9_]$/.test(x);
}

function isSpace(x: string): boolean {
  return /^\s$/.test(x);
}

/** Adds the states of `node` ending in state `next`; returns the state it starts at. */
function build(node: Node, next: number, states: State[]): number {
  const add = (state: State): number => {
    if (states.length >= maxPatternStates) {
      throw new NamespacePatternError(`pattern too complex (more than ${maxPatternStates} states)`);
    }
    states.push(state);
    return states.length - 1;
  };
  switch (node.kind) {
    case 'char':
      return add({ kind: 'char', test: node.test, out: next });
    case 'cat':
      return node.items.reduceRight((rest, item) => build(item, rest, states), next);
    case 'alt':
      return add({ kind: 'split', out: node.options.map((o) => build(o, next, states)) });
    case 'repeat': {
      let rest = next;
      if (node.max === Infinity) {
        const loop = add({ kind: 'split', out: [] });
        const body = build(node.node, loop, states);
        (states[loop] as { out: number[] }).out.push(body, next);
        rest = loop;
      } else {
        for (let i = node.min; i < node.max; i++) {
          rest = add({ kind: 'split', out: [build(node.node, rest, states), next] });
        }
      }
      for (let i = 0; i < node.min; i++) rest = build(node.node, rest, states);
      return rest;
    }
  }
}

/** Runs the NFA over `text` one character at a time, with every state it can be in at once. */
function simulate(states: readonly State[], start: number, text: string): boolean {
  const seen = new Int32Array(states.length).fill(-1);
  let current: number[] = [];
  let step = 0;
  const addState = (list: number[], index: number): void => {
    // An explicit stack: epsilon paths may be long (a{100}) and may loop (a**-like repeats of empties).
    const stack = [index];
    while (stack.length > 0) {
      const i = stack.pop() as number;
      if (seen[i] === step) continue;
      seen[i] = step;
      const state = states[i] as State;
      if (state.kind === 'split') {
        for (let k = state.out.length - 1; k >= 0; k--) stack.push(state.out[k] as number);
      } else list.push(i);
    }
  };
  addState(current, start);
  for (const c of text) {
    step++;
    const next: number[] = [];
    for (const i of current) {
      const state = states[i] as State;
      if (state.kind === 'char' && state.test(c)) addState(next, state.out);
    }
    current = next;
    if (current.length === 0) return false;
  }
  return current.some((i) => states[i]?.kind === 'match');
}
