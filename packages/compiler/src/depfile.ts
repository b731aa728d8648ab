/**
 * The dependencies in a make-style depfile from `clang -MD -MF`:
 * `out.o: a.c b.h \` continued over lines, spaces in names escaped as `\ `.
 */
export function parseDepfile(text: string): string[] {
  const joined = text.replace(/\\\r?\n/g, ' ');
  const colon = joined.search(/:(\s|$)/);
  if (colon < 0) return [];
  const deps: string[] = [];
  let current = '';
  const body = joined.slice(colon + 1);
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '\\' && body[i + 1] === ' ') {
      current += ' ';
      i++;
    } else if (/\s/.test(c)) {
      if (current) deps.push(current);
      current = '';
    } else if (c === '$' && body[i + 1] === '$') {
      current += '$';
      i++;
    } else {
      current += c;
    }
  }
  if (current) deps.push(current);
  return deps;
}
