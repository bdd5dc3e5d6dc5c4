// Pairs each entity of the original build with its twin in the patched build. Counters and
// clone numbers move between builds (`counter.3` becomes `counter.5` when the patch adds a
// static above it; `foo.isra.0` becomes `foo.isra.1`), so names are compared without them and
// ties are broken by what the entities belong to, their content, then their order.
import type { Entity, KData, KObject } from "../object/kobject.js";
import { isCounted } from "../object/names.js";

export interface Correlation {
  /** Symbol index in the original → symbol index in the patched object. */
  readonly o2p: ReadonlyMap<number, number>;
  readonly p2o: ReadonlyMap<number, number>;
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = m.get(k);
    if (list) list.push(it); else m.set(k, [it]);
  }
  return m;
}

class Pairing {
  readonly o2p = new Map<number, number>();
  readonly p2o = new Map<number, number>();
  pair(o: Entity, p: Entity) {
    this.o2p.set(o.sym.index, p.sym.index);
    this.p2o.set(p.sym.index, o.sym.index);
  }
  /** Pairs two candidate lists for one key, narrowing step by step while ambiguity remains. */
  pairCandidates<T extends Entity>(os: T[], ps: T[]) {
    if (os.length === 1 && ps.length === 1) return this.pair(os[0]!, ps[0]!);
    // A counted name (__UNIQUE_ID_alias688) may name another entity of the same stem in the
    // other build, so for those the exact name is no evidence: content, then order.
    const content = (e: T) => e.bytes.toString("latin1");
    const counted = os.every((e) => isCounted(e.name)) && ps.every((e) => isCounted(e.name));
    const narrowings: ((e: T) => string)[] = counted ? [content] : [(e) => e.name, content];
    let restO = os, restP = ps;
    for (const by of narrowings) {
      const go = groupBy(restO, by), gp = groupBy(restP, by);
      for (const [k, lo] of go) {
        const lp = gp.get(k);
        if (lo.length === 1 && lp?.length === 1) this.pair(lo[0]!, lp[0]!);
      }
      restO = restO.filter((e) => !this.o2p.has(e.sym.index));
      restP = restP.filter((e) => !this.p2o.has(e.sym.index));
      if (restO.length === 1 && restP.length === 1) return this.pair(restO[0]!, restP[0]!);
    }
    // Same count left: the compiler numbers them in source order, so order is the last resort.
    if (restO.length === restP.length) restO.forEach((o, i) => this.pair(o, restP[i]!));
  }
}

export function correlate(o: KObject, p: KObject): Correlation {
  const out = new Pairing();
  const fo = groupBy(o.functions, (f) => f.key), fp = groupBy(p.functions, (f) => f.key);
  for (const [k, os] of fo) {
    const ps = fp.get(k);
    if (ps) out.pairCandidates(os, ps);
  }
  // Data: a name names one object on each side, usually. A function-scope static is told from
  // its namesakes (`static int count` in two functions) by the functions that use it, which
  // needs every code relocation resolved: done only for names that need it.
  const dov = groupBy(o.data, (d) => d.key), dpv = groupBy(p.data, (d) => d.key);
  const ambiguousO: KData[] = [], ambiguousP: KData[] = [];
  for (const [k, os] of dov) {
    const ps = dpv.get(k);
    if (!ps) continue;
    if (os.length === 1 && ps.length === 1) out.pair(os[0]!, ps[0]!);
    else { ambiguousO.push(...os); ambiguousP.push(...ps); }
  }
  if (ambiguousO.length) {
    const ownerSig = (obj: KObject, corr: ReadonlyMap<number, number> | null) => (d: KData) => {
      const owners = [...(obj.owners().get(d.sym.index) ?? [])].map((i) => (corr ? (corr.get(i) ?? -1) : i));
      return `${d.key}\u0000${owners.sort((a, b) => a - b).join(",")}`;
    };
    // Owner signatures are written in the patched object's numbering on both sides.
    const so = groupBy(ambiguousO, ownerSig(o, out.o2p)), sp = groupBy(ambiguousP, ownerSig(p, null));
    for (const [k, os] of so) {
      const ps = sp.get(k);
      if (ps) out.pairCandidates(os, ps);
    }
    // Those whose users changed: by the name alone.
    const lo = groupBy(ambiguousO.filter((d) => !out.o2p.has(d.sym.index)), (d) => d.key);
    const lp = groupBy(ambiguousP.filter((d) => !out.p2o.has(d.sym.index)), (d) => d.key);
    for (const [k, os] of lo) {
      const ps = lp.get(k);
      if (ps) out.pairCandidates(os, ps);
    }
  }
  return { o2p: out.o2p, p2o: out.p2o };
}
