/**
 * #17 admission without SQLite for new ids: the Bloom filter never forgets a string it was given,
 * the journal's filter holds every id and idempotency key the journal had at open (filled in
 * slices) plus every one committed since, and a store with the filter answers every lookup exactly
 * as one without it. Replay a property failure with FC_SEED=<seed>.
 */
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { BloomFilter } from "../../src/journal/bloom.js";
import { KnownIds } from "../../src/journal/known-ids.js";
import { SqliteStore } from "../../src/journal/sqlite-store.js";
import type { JournalRecord } from "../../src/journal/types.js";
import type { Outcome } from "../../src/protocol/types.js";
import { RecordBuilder, tempDir } from "./helpers.js";

const seed = Number(process.env.FC_SEED ?? Date.now());
console.log(`fast-check seed ${seed} (replay: FC_SEED=${seed})`);

const ok: Outcome = { command: "test", success: true };
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** accepted + started + finished of one command, with an idempotency key when given */
function command(b: RecordBuilder, id: string, session: string, key: string | null): JournalRecord[] {
  const idem = key === null ? {} : { idempotencyKey: key, idempotencyScope: `session:${session}`, idempotencyExpiresAt: null };
  return [
    b.record("accepted", id, session, { explicitId: true, params: {}, timeoutMs: 1000, ...idem }),
    b.record("started", id, session, { status: "running", revision: 1 }),
    b.record("finished", id, session, { status: "succeeded", revision: 2, outcome: ok }),
  ];
}

describe("#17 BloomFilter", () => {
  it("#17 never answers false for a string it was given; an empty filter holds nothing", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: "binary" }), { maxLength: 300 }), fc.array(fc.string(), { maxLength: 50 }), fc.integer({ min: 0, max: 16 }), (added, probes, logBits) => {
        const empty = new BloomFilter(2 ** logBits);
        for (const p of probes) expect(empty.mayContain(p)).toBe(false);
        const f = new BloomFilter(2 ** logBits);
        for (const s of added) f.add(s);
        for (const s of added) expect(f.mayContain(s)).toBe(true);
      }),
      { seed, numRuns: 200 },
    );
  });

  it("#17 ids that differ in one character spread: 10,000 in 2^20 bits give under 0.5 % false positives", () => {
    const f = new BloomFilter(2 ** 20);
    for (let i = 0; i < 10_000; i++) f.add(`cmd-${i}`);
    let hits = 0;
    for (let i = 10_000; i < 20_000; i++) if (f.mayContain(`cmd-${i}`)) hits++;
    expect(hits / 10_000).toBeLessThan(0.005);
  });
});

describe("#17 KnownIds", () => {
  function journal(n: number): { store: SqliteStore; ids: string[]; keys: Array<[string, string]> } {
    const tmp = tempDir("causeway-known-");
    const store = new SqliteStore({ path: join(tmp.dir, "k.db"), durability: "off", admissionFilterBits: 0 });
    store.open();
    cleanups.push(() => {
      store.close();
      tmp.cleanup();
    });
    const b = new RecordBuilder();
    const ids: string[] = [];
    const keys: Array<[string, string]> = [];
    for (let i = 0; i < n; i++) {
      const key = i % 2 === 0 ? `key-${i}` : null;
      store.commit(command(b, `id-${i}`, `s${i % 3}`, key));
      ids.push(`id-${i}`);
      if (key) keys.push([`session:s${i % 3}`, key]);
    }
    return { store, ids, keys };
  }

  it("#17 answers 'maybe' until filled; fills in slices (3 rows each here); then holds every id and key, and what was noted meanwhile", async () => {
    const { store, ids, keys } = journal(20);
    const known = new KnownIds(2 ** 16, 3);
    expect(known.mayHaveCommand("never")).toBe(true); // not filled: ask SQLite
    const done = new Promise<void>((resolve) => known.fill(store.database(), resolve));
    expect(known.ready).toBe(false); // 20 ids and 10 keys take more than one slice
    known.note(command(new RecordBuilder({ seq: 1000 }), "late", "s9", "late-key"));
    await done;
    expect(known.ready).toBe(true);
    for (const id of [...ids, "late"]) expect(known.mayHaveCommand(id)).toBe(true);
    for (const [scope, key] of [...keys, ["session:s9", "late-key"] as [string, string]]) expect(known.mayHaveKey(scope, key)).toBe(true);
    const misses = Array.from({ length: 200 }, (_, i) => `new-${i}`).filter((id) => !known.mayHaveCommand(id)).length;
    expect(misses).toBeGreaterThan(190);
    expect(known.mayHaveKey("session:s0", "key-1")).toBe(false); // key-1 was never given (odd i)
  });

  it("#17 0 bits: disabled, every lookup goes to SQLite", () => {
    const known = new KnownIds(0);
    known.fill(journal(2).store.database());
    expect(known.ready).toBe(false);
    expect(known.mayHaveCommand("anything")).toBe(true);
  });
});

describe("#17 a store with the filter answers like one without it", () => {
  it("#17 getCommand and getIdempotency agree on committed, never-committed and reopened journals (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ batch: fc.integer({ min: 1, max: 6 }), keyed: fc.boolean(), reopen: fc.boolean() }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat({ max: 80 }), { maxLength: 30 }),
        (steps, probes) => {
          const tmp = tempDir("causeway-known-prop-");
          const stores = [0, 2 ** 12].map((bits) => {
            const make = (): SqliteStore => new SqliteStore({ path: join(tmp.dir, `b${bits}.db`), durability: "off", admissionFilterBits: bits });
            return { make, store: make() };
          });
          try {
            for (const s of stores) s.store.open();
            // small journals are filled within open(): the filtered store uses its filter from the start
            expect(stores[1]!.store.filterStats().ready).toBe(true);
            const b = [new RecordBuilder(), new RecordBuilder()];
            let n = 0;
            const check = (): void => {
              for (const p of [...probes, n - 1, n, n + 1]) {
                const [plain, filtered] = stores.map((s) => s.store);
                expect(filtered!.getCommand(`id-${p}`)).toEqual(plain!.getCommand(`id-${p}`));
                expect(filtered!.getIdempotency(`session:s${p % 3}`, `key-${p}`, 0)).toEqual(plain!.getIdempotency(`session:s${p % 3}`, `key-${p}`, 0));
              }
            };
            for (const step of steps) {
              for (let i = 0; i < step.batch; i++, n++) {
                stores.forEach((s, j) => s.store.commit(command(b[j]!, `id-${n}`, `s${n % 3}`, step.keyed ? `key-${n}` : null)));
              }
              check();
              if (step.reopen) {
                for (const s of stores) {
                  s.store.close();
                  s.store = s.make();
                  const rec = s.store.open();
                  expect(rec.lastSeq).toBe(n * 3);
                  expect(s.store.filterStats().ready).toBe(s.store === stores[1]!.store ? true : false);
                }
                check();
              }
            }
          } finally {
            for (const s of stores) s.store.close();
            tmp.cleanup();
          }
        },
      ),
      { seed, numRuns: 40 },
    );
  });
});
