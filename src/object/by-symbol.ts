// Entities by symbol index. An array, not a Map: a Map of a few hundred numbered entries grew its
// table several times and was, with its iterators, a tenth of what a diff of kernel/params.o
// allocated; symbol indexes are small and dense.
export class BySymbol<T> {
  private readonly slots: (T | undefined)[];
  private readonly filled: number[] = [];

  constructor(symbols: number) {
    this.slots = new Array<T | undefined>(symbols).fill(undefined);
  }

  get(index: number): T | undefined {
    return this.slots[index];
  }

  has(index: number): boolean {
    return this.slots[index] !== undefined;
  }

  set(index: number, value: T): void {
    if (this.slots[index] === undefined) this.filled.push(index);
    this.slots[index] = value;
  }

  /** The entries in the order they were first set. */
  values(): T[] {
    return this.filled.map((i) => this.slots[i]!);
  }
}
