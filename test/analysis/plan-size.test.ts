// plan's one-replay sizing (planOrderPerBit) against the binary search over full replays it
// replaced (planOrderPerBitBySearch): the same answer on random sequences, on sequences whose
// placements land far past the lower bound (the area grows), with 0-bit requests, and with the
// sizing shared with a helper thread.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { gunzipSync } from 'node:zlib';
import {
  planOrderPerBit,
  planOrderPerBitBySearch,
  planTrace,
  sequencesFromText,
  simulateSequence,
  type WorkloadSequence,
} from '../../src/analysis/plan.ts';
import { planHelper, sizeAll } from '../../src/analysis/plan-parallel.ts';
import { SequencePasses, setWasmPasses } from '../../src/analysis/plan-pass.ts';
import { peakDemandBits } from '../../src/analysis/plan-size.ts';
import { plainBitmapFactory } from '../../src/core/cma-bitmap.ts';
import { indexedBitmapFactory } from '../../src/core/indexed-bitmap.ts';
import { rng } from '../bitmap-check.ts';

/** A sequence from ops: ['a', pages, align, transient?] or ['r', allocIndex, offset, pages]. */
function seqOf(ops: (['a', number, number, boolean?] | ['r', number, number, number])[]): WorkloadSequence {
  const n = ops.length;
  const s: WorkloadSequence = {
    name: 'test',
    length: n,
    kind: new Uint8Array(n),
    pages: new Float64Array(n),
    arg: new Float64Array(n),
    id: new Int32Array(n),
    transient: new Uint8Array(n),
    line: new Float64Array(n),
    allocs: 0,
    releases: 0,
    failedInTrace: 0,
    unknownReleases: 0,
    bigCounts: new Map(),
    failedOps: new Set(),
  };
  ops.forEach((op, i) => {
    s.line[i] = i + 1;
    if (op[0] === 'a') {
      s.kind[i] = 1;
      s.pages[i] = op[1];
      s.arg[i] = op[2];
      s.id[i] = s.allocs++;
      s.transient[i] = op[3] ? 1 : 0;
    } else {
      s.kind[i] = 2;
      s.id[i] = op[1];
      s.arg[i] = op[2];
      s.pages[i] = op[3];
      s.releases++;
    }
  });
  return s;
}

/**
 * A random workload: requests of 1…64 pages with alignments 0…6, some failed (transient), whole,
 * partial and over-long releases.
 */
function randomSeq(seed: number, ops: number): WorkloadSequence {
  const r = rng(seed);
  const out: Parameters<typeof seqOf>[0] = [];
  const live: { id: number; pages: number; off: number }[] = [];
  let id = 0;
  for (let i = 0; i < ops; i++) {
    if (live.length > 0 && r() < 0.45) {
      const k = Math.floor(r() * live.length);
      const x = live[k]!;
      if (x.pages > 2 && r() < 0.3) {
        // a partial release from the front
        const part = 1 + Math.floor(r() * (x.pages - 1));
        out.push(['r', x.id, x.off, part]);
        x.off += part;
        x.pages -= part;
      } else {
        // now and then longer than what is left (it then clears past it, up to the allocation's end)
        out.push(['r', x.id, x.off, x.pages + (r() < 0.1 ? 1 + Math.floor(r() * 8) : 0)]);
        live.splice(k, 1);
      }
    } else {
      const pages = 1 + Math.floor(r() ** 2 * 64);
      const align = Math.floor(r() * 7);
      const failed = r() < 0.05;
      out.push(['a', pages, align, failed]);
      if (!failed) live.push({ id, pages, off: 0 });
      id++;
    }
  }
  return seqOf(out);
}

const same = (seq: WorkloadSequence, base: number, opb: number) => {
  const fast = planOrderPerBit(seq, base, opb);
  const slow = planOrderPerBitBySearch(seq, base, opb);
  assert.ok(fast && slow, `base 0x${base.toString(16)} opb ${opb}: both find a size`);
  const { replays: r1, ...a } = fast;
  const { replays: r2, ...b } = slow;
  assert.deepEqual(a, b, `base 0x${base.toString(16)} opb ${opb}`);
  assert.ok(r1 <= r2, `one replay (${r1}), not more than the search (${r2})`);
  return fast;
};

describe('plan sizing: the pass in wasm = the TypeScript loop', () => {
  it('random workloads (transient peaks, partial and over-long releases), bases, order_per_bit', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const seq = randomSeq(100 + seed, 2500);
      for (const base of [0x80000, 0x80003])
        for (const opb of [0, 1, 2, 5]) {
          // the wasm pass takes these sequences
          assert.notEqual(new SequencePasses(seq).run(base, opb, 4 * 2500 * 64), undefined);
          setWasmPasses(false);
          let ts: ReturnType<typeof planOrderPerBit>;
          try {
            ts = planOrderPerBit(seq, base, opb);
          } finally {
            setWasmPasses(true);
          }
          assert.deepEqual(planOrderPerBit(seq, base, opb), ts, `seed ${seed} base ${base} opb ${opb}`);
        }
    }
  });

  it('the lower bound in wasm = peakDemandBits, and a pass after it = a pass on a fresh instance', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const seq = randomSeq(300 + seed, 2500);
      const passes = new SequencePasses(seq);
      for (let opb = 0; opb <= 10; opb++) {
        const want = peakDemandBits(seq, opb);
        assert.ok(want > 0);
        assert.equal(passes.demand(opb), want, `seed ${seed} opb ${opb}`);
        // (demand() uses the pass's placement table meanwhile)
        const after = passes.run(0x80000, opb, 4 * 2500 * 64);
        assert.deepEqual(
          after,
          new SequencePasses(seq).run(0x80000, opb, 4 * 2500 * 64),
          `seed ${seed} opb ${opb}`,
        );
      }
    }
    // a sequence the pass does not take (a 0-page request): no wasm bound
    assert.equal(new SequencePasses(seqOf([['a', 0, 0]])).demand(0), undefined);
  });

  it('a request that does not fit fails the pass; sequences it does not take go to the loop', () => {
    const seq = seqOf([
      ['a', 20, 0],
      ['a', 20, 0],
      ['r', 0, 0, 20],
      ['a', 30, 1, true],
    ]);
    // the transient 30 needs 30 clear bits: past 40 (0…19 are too few)
    // one SequencePasses for both: the second pass runs on the first's index, made anew
    const passes = new SequencePasses(seq);
    assert.equal(passes.run(0x80000, 0, 64), null);
    const r = passes.run(0x80000, 0, 128);
    assert.ok(r);
    // the peak (50 bits) is the transient request's moment: the words hold it, bits 20…69
    assert.deepEqual([r.bits, r.peakUsedBits, r.peakOp], [70, 50, 3]);
    assert.deepEqual([...r.atPeak], [0xfff00000, 0xffffffff, 0x3f, 0]);
    // a 0-page request: not taken (undefined)
    assert.equal(new SequencePasses(seqOf([['a', 0, 0]])).run(0x80000, 0, 64), undefined);
  });
});

describe('plan sizing: one replay = the binary search', () => {
  it('random workloads, bases and order_per_bit values', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const seq = randomSeq(seed, 1500);
      for (const base of [0x80000, 0x80003, 0x12345])
        for (const opb of [0, 1, 3]) {
          const c = same(seq, base, opb);
          // and the definition: that size passes, one granule less fails
          assert.equal(simulateSequence(seq, base, opb, c.bits).failedAt, -1);
          assert.ok(simulateSequence(seq, base, opb, c.bits - 1).failedAt >= 0);
        }
    }
  });

  it('the kernel scan (plain bitmap) gives the same sizes as the index', () => {
    const seq = randomSeq(99, 800);
    for (const opb of [0, 2]) {
      const a = planOrderPerBit(seq, 0x80000, opb);
      const b = planOrderPerBit(seq, 0x80000, opb, plainBitmapFactory);
      assert.deepEqual(a, b);
    }
  });

  it('an aligned request far past the lower bound: the area grows until it holds it', () => {
    // base 0x80001: a 1024-page-aligned request lands at bit 1023 (the lower bound is 3 bits)
    const seq = seqOf([
      ['a', 1, 0],
      ['a', 1, 10],
      ['a', 1, 0],
      ['r', 0, 0, 1],
    ]);
    const c = same(seq, 0x80001, 0);
    assert.equal(c.bits, 1024);
    assert.ok(c.replays > 1, 'replayed again on a larger area');
    assert.equal(c.peakUsedPages, 3);
    assert.equal(c.worstLine, 3);
    // the longest free run at the worst moment: bits 2…1022
    assert.equal(c.maxchunkAtWorst, 1021);
  });

  it("releases that clear another allocation's bits: the lower bound, above the highest end, is the answer", () => {
    // order_per_bit 1: A takes bits 0-1; releasing its first page clears bit 0, where B goes;
    // a release of 4 pages from A's second page then clears bits 0-1, B's bit too (the kernel
    // clears by bitmap granule as well). The held-at-once bound still counts B: 1 + 2 = 3 bits,
    // while C lands at bits 0-1. The search starts at that bound, so it answers 3.
    const seq = seqOf([
      ['a', 3, 0],
      ['r', 0, 0, 1],
      ['a', 2, 0],
      ['r', 0, 1, 4],
      ['a', 4, 0],
    ]);
    const c = same(seq, 0x80000, 1);
    assert.equal(c.bits, 3);
    assert.equal(simulateSequence(seq, 0x80000, 1, 2).failedAt, -1, '2 bits would do');
  });

  it('a transient request at the worst moment is counted as held there', () => {
    const seq = seqOf([
      ['a', 8, 0],
      ['a', 8, 0],
      ['r', 0, 0, 8],
      ['a', 16, 0, true],
      ['a', 4, 0],
    ]);
    const c = same(seq, 0x80000, 0);
    assert.equal(c.bits, 32);
    assert.equal(c.peakUsedPages, 24);
    assert.equal(c.worstLine, 4);
    assert.equal(c.maxchunkAtWorst, 8);
  });

  it('a request of 0 pages (a start without finish, as 6.12 traces it) is sized by the search', () => {
    const text = [
      '# tracer: nop',
      '      cat-100     [000] .....   100.000001: cma_alloc_start: name=reserved count=4 align=0',
      '      cat-100     [000] .....   100.000002: cma_alloc_finish: name=reserved pfn=0x80000 page=00000000aaaaaaaa count=4 align=0',
      '      cat-101     [000] .....   100.000003: cma_alloc_start: name=reserved count=0 align=0',
      '      cat-102     [000] .....   100.000005: cma_alloc_start: name=reserved count=6 align=1',
      '      cat-102     [000] .....   100.000006: cma_alloc_finish: name=reserved pfn=0x80004 page=00000000cccccccc count=6 align=1',
      '',
    ].join('\n');
    const seq = sequencesFromText(text).get('reserved')!;
    assert.equal(seq.failedInTrace, 1);
    for (const opb of [0, 1]) {
      const fast = planOrderPerBit(seq, 0x80000, opb);
      assert.ok(fast);
      assert.deepEqual(fast, planOrderPerBitBySearch(seq, 0x80000, opb));
      assert.equal(fast.pages, 10);
    }
  });

  it('a u64 count of 2^53 or more (kept with includeOversize): no size', () => {
    const text = [
      '# tracer: nop',
      '      cat-101     [000] .....   100.000003: cma_alloc_start: name=reserved count=18446744073709551615 align=0',
      '      cat-101     [000] .....   100.000004: cma_alloc_finish: name=reserved pfn=0x80004 page=00000000bbbbbbbb count=18446744073709551615 align=0',
      '',
    ].join('\n');
    const seq = sequencesFromText(text).get('reserved')!;
    assert.equal(seq.bigCounts.size, 1);
    for (const opb of [0, 1]) {
      assert.equal(planOrderPerBit(seq, 0x80000, opb), null);
      assert.equal(planOrderPerBitBySearch(seq, 0x80000, opb), null);
    }
  });
});

describe('plan sizing on a helper thread', () => {
  it('planTrace answers the same with threads 1 and 2', async () => {
    const t = gunzipSync(
      readFileSync(join(import.meta.dirname, '../fixtures/traces/plan/random-20k-failures.trace.gz')),
    );
    const area = { name: 'reserved', basePfn: 0x80000, count: 65536, orderPerBit: 0 };
    const one = await planTrace(t, { areas: [area], threads: 1 });
    const two = await planTrace(t, { areas: [area], threads: 2 });
    assert.deepEqual(two, one);
    assert.equal(one.areas[0]!.choices.length, 10);
  });
});

describe('plan sizing: a helper that fails or never answers', () => {
  const seq = randomSeq(7, 600);
  const tasks = [0, 1, 2, 3].map((opb) => ({ seq: 0, basePfn: 0x80000, orderPerBit: opb }));
  const want = tasks.map((t) => planOrderPerBit(seq, t.basePfn, t.orderPerBit));

  it('a helper whose worker failed to start: sized on this thread', async () => {
    const w = new Worker('throw new Error("no plan worker here")', { eval: true });
    const exited = new Promise((resolve) => w.on('exit', resolve));
    const helper = planHelper(w);
    w.ref(); // (planHelper lets the process exit without it)
    await exited;
    assert.equal(helper.alive, false);
    assert.deepEqual(await sizeAll([seq], tasks, indexedBitmapFactory, helper), want);
  });

  it('a helper that never takes a task: this thread sizes them all and does not wait for it', async () => {
    const w = new Worker('setInterval(() => {}, 1000)', { eval: true });
    const exited = new Promise((resolve) => w.on('exit', resolve));
    const helper = planHelper(w);
    w.ref();
    assert.deepEqual(await sizeAll([seq], tasks, indexedBitmapFactory, helper), want);
    await exited; // closed by sizeAll
  });
});
