/**
 * Answers about BTF types computed once per type, with the guards a walk
 * over hostile BTF needs: a type met again inside itself (a cycle), and a
 * walk nested deeper than a bound (BTF can chain tens of thousands of types
 * by value; the stack cannot follow). Each answer remembers how deep its own
 * walk went, so a remembered answer still counts toward the bound. A failure
 * is remembered too, and thrown again wherever the type is asked for (so a
 * chain of thousands, or thousands of types leading into one cycle, costs
 * one walk, not one per type): a type that reaches a cycle always fails, but
 * on BTF nested past the bound, which questions fail may depend on what was
 * asked before (a type the walk passed on its way down fails with it).
 */

/** How deep walks over types may nest: far beyond any real BTF (the kernel's nests a few dozen), well within the stack. */
export const MAX_TYPE_DEPTH = 512;

/** How deep the walks sharing it are now (memos of one computation that call each other share one). */
export class WalkDepth {
  depth = 0;
  deepest = 0;
  constructor(readonly limit = MAX_TYPE_DEPTH) {}
}

export interface TypeMemoGuards<T> {
  /** The answer, or the error to throw, for a type met again inside itself. */
  cycle(id: number): T;
  /** The answer, or the error to throw, for a type met deeper than the bound. */
  tooDeep(id: number): T;
}

const IN_PROGRESS = null;

/** An answer (with how deep its walk went), or the error computing it threw. */
type Known<T> = { readonly value: T; readonly height: number; readonly failed?: false } | { readonly error: unknown; readonly failed: true };

export class TypeMemo<T> {
  private readonly answers = new Map<number, Known<T> | typeof IN_PROGRESS>();

  constructor(
    private readonly guards: TypeMemoGuards<T>,
    private readonly walk = new WalkDepth(),
  ) {}

  /** The remembered answer for `id`, else `compute()`'s (which may ask this memo and others sharing the walk). */
  get(id: number, compute: () => T): T {
    const walk = this.walk;
    if (walk.depth === 0) walk.deepest = 0;
    const known = this.answers.get(id);
    if (known === IN_PROGRESS) return this.guards.cycle(id);
    if (known !== undefined) {
      if (known.failed) throw known.error;
      if (walk.depth + known.height > walk.limit) return this.tooDeep(id);
      walk.deepest = Math.max(walk.deepest, walk.depth + known.height);
      return known.value;
    }
    if (walk.depth >= walk.limit) return this.tooDeep(id);
    this.answers.set(id, IN_PROGRESS);
    const outer = walk.deepest;
    const level = ++walk.depth;
    walk.deepest = level;
    try {
      const value = compute();
      this.answers.set(id, { value, height: walk.deepest - level + 1 });
      return value;
    } catch (e) {
      // Remembered: the same question fails at once, from anywhere (see the class comment).
      this.answers.set(id, { failed: true, error: e });
      throw e;
    } finally {
      walk.depth--;
      walk.deepest = Math.max(outer, walk.deepest);
    }
  }

  /** The guard's answer for a walk past the bound; while it throws, the walks above know they failed for depth. */
  private tooDeep(id: number): T {
    this.walk.deepest = this.walk.limit + 1;
    const value = this.guards.tooDeep(id);
    this.walk.deepest = this.walk.limit;
    return value;
  }
}
