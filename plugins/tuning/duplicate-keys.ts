// Duplicate keys in one object of a JSON text. JSON.parse keeps the last of duplicate keys without a
// word, but the reference refuses duplicate sysctl keys (it decodes them into a map whose key type
// remembers every key seen), so the request's own bytes are read again for them.

const SPACE = ' \t\n\r';

/**
 * The keys that occur more than once in the object at `path` (each step matched case-insensitively,
 * as Go matches struct fields; the object's own keys exactly, as Go compares map keys). The text
 * must already be valid JSON (the skeleton parsed it).
 */
export function duplicateKeys(text: string, path: readonly string[]): string[] {
  let i = 0;
  const dups: string[] = [];
  const skipSpace = () => {
    while (i < text.length && SPACE.includes(text[i]!)) i++;
  };
  const str = (): string => {
    const start = i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  // `at`: what is left of the path below this value; undefined once off it
  const value = (at: readonly string[] | undefined): void => {
    skipSpace();
    const c = text[i];
    if (c === '"') {
      str();
    } else if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      const seen = new Set<string>();
      i++;
      skipSpace();
      while (text[i] !== close) {
        let next: readonly string[] | undefined;
        if (close === '}') {
          skipSpace();
          const key = str();
          if (at?.length === 0) {
            if (seen.has(key)) dups.push(key);
            seen.add(key);
          }
          next = at?.length && at[0]!.toLowerCase() === key.toLowerCase() ? at.slice(1) : undefined;
          skipSpace();
          i++; // ':'
        }
        value(next);
        skipSpace();
        if (text[i] === ',') i++;
        skipSpace();
      }
      i++;
    } else {
      while (i < text.length && !',]}'.includes(text[i]!) && !SPACE.includes(text[i]!)) i++;
    }
  };
  value(path);
  return dups;
}
