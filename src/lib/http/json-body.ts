import { ValidationError } from '../errors';
import { formatPath } from '../validation';

// Request bodies are checked as text before JSON.parse, in one linear pass with no recursion:
// - nesting deeper than MAX_JSON_DEPTH is refused (JSON.stringify, zod and the sealing code all
//   recurse, and 100,000 nested arrays overflow the stack);
// - a number the body states but a double cannot hold exactly is refused rather than silently
//   rounded ("a value that cannot be kept exactly is a 400, not a change").

/** Containers ({} or []) nested in one request body, counting the body's own outer one. */
export const MAX_JSON_DEPTH = 64;

type Frame = { kind: 'array'; index: number } | { kind: 'object'; key: string; expectKey: boolean };

const isDigit = (code: number) => code >= 48 && code <= 57;
const NUMBER_CHARS = /[-+.eE0-9]/;

/** The literal's value as sign, significant digits and exponent (value = 0.digits × 10^exponent). */
function canonicalDecimal(literal: string): string {
  const match = /^(-?)(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?$/.exec(literal);
  if (!match) return `invalid:${literal}`;
  const [, sign = '', whole = '', fraction = '', exponent = '0'] = match;
  const digits = whole + fraction;
  const leading = digits.length - digits.replace(/^0+/, '').length;
  const significant = digits.slice(leading).replace(/0+$/, '');
  if (significant === '') return '0'; // -0 and 0 are the same number
  return `${sign}${significant}e${Number(exponent) + whole.length - leading}`;
}

/**
 * True when parsing the literal keeps its value exactly. Integer literals must be safe integers
 * (|n| ≤ 2^53 − 1): beyond that neighbouring integers collapse into one double. Literals with a
 * fraction or an exponent must denote exactly the decimal value the parsed double prints as.
 */
export function isExactNumber(literal: string): boolean {
  const value = Number(literal);
  if (!Number.isFinite(value)) return false;
  if (!/[.eE]/.test(literal)) return Number.isSafeInteger(value);
  return canonicalDecimal(literal) === canonicalDecimal(String(value));
}

function describe(literal: string): string {
  return literal.length > 40 ? `${literal.slice(0, 37)}...` : literal;
}

function pathOf(stack: Frame[]): PropertyKey[] {
  return stack.map((frame) => (frame.kind === 'array' ? frame.index : frame.key));
}

interface Inexact {
  literal: string;
  path: PropertyKey[];
}

/** Throws for nesting beyond maxDepth; returns the first number that would not be kept, if any. */
function scanJsonText(text: string, maxDepth: number): Inexact | undefined {
  const stack: Frame[] = [];
  let inexact: Inexact | undefined;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    const top = stack[stack.length - 1];
    if (code === 0x7b /* { */ || code === 0x5b /* [ */) {
      if (stack.length >= maxDepth) {
        throw new ValidationError(`body: nested deeper than ${maxDepth} levels`, { field: 'body' });
      }
      stack.push(code === 0x7b ? { kind: 'object', key: '', expectKey: true } : { kind: 'array', index: 0 });
    } else if (code === 0x7d /* } */ || code === 0x5d /* ] */) {
      stack.pop();
    } else if (code === 0x2c /* , */) {
      if (top?.kind === 'array') top.index += 1;
      else if (top?.kind === 'object') top.expectKey = true;
    } else if (code === 0x3a /* : */) {
      if (top?.kind === 'object') top.expectKey = false;
    } else if (code === 0x22 /* " */) {
      const start = i;
      for (i += 1; i < text.length && text.charCodeAt(i) !== 0x22; i += 1) {
        if (text.charCodeAt(i) === 0x5c /* \ */) i += 1;
      }
      if (top?.kind === 'object' && top.expectKey && inexact === undefined) {
        try {
          top.key = JSON.parse(text.slice(start, i + 1)) as string;
        } catch {
          top.key = '?'; // not JSON: JSON.parse will say so
        }
      }
    } else if (code === 0x2d /* - */ || isDigit(code)) {
      const start = i;
      while (i + 1 < text.length && NUMBER_CHARS.test(text.charAt(i + 1))) i += 1;
      const literal = text.slice(start, i + 1);
      if (inexact === undefined && !isExactNumber(literal)) inexact = { literal, path: pathOf(stack) };
    }
  }
  return inexact;
}

/** JSON.parse behind the checks above (depth first, before anything recursive); every failure is a 400. */
export function parseJsonBody(text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  const inexact = scanJsonText(text, maxDepth);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ValidationError('Request body is not valid JSON');
  }
  if (inexact) {
    // Named like every other field error: `[0].data.freeform.n`, `data.freeform.n`.
    const field = inexact.path.length ? formatPath(inexact.path) : 'body';
    throw new ValidationError(
      `${field}: the number ${describe(inexact.literal)} cannot be kept exactly (integers must lie within ±(2^53−1), decimals must survive a 64-bit float unchanged); send it as a string`,
      { field },
    );
  }
  return body;
}
