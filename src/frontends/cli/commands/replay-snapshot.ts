// Snapshots in and out of `cma-debug replay` (and `plan`): the areas of --from-snapshot, the final
// state of --save. Loaded only for those options: the emulated system and the snapshot reader
// are not part of a plain replay's start-up.

import { setBitsFromWords } from '../../../core/cma-bitmap.ts';
import { PROFILE_6_1, PROFILE_7_3 } from '../../../core/profile.ts';
import { CmaSystem } from '../../../core/system.ts';
import { treeFromSystem } from '../../../sources/emulator-source.ts';
import { readAreas } from '../../../sources/model.ts';
import type { Snapshot } from '../../../sources/snapshot.ts';
import {
  formatSnapshot,
  readSnapshotFile,
  snapshotFromTree,
  treeFromSnapshot,
} from '../../../sources/snapshot.ts';
import type { ReplayAreaSpec, ReplayResult } from '../../../sources/trace/replay.ts';
import { toReplaySpec } from '../../../sources/trace/replay.ts';

/** The areas of a snapshot file (7.x snapshots keep the ranges in the kernel's index order). */
export function areasOfSnapshotFile(path: string): ReplayAreaSpec[] {
  const snap = readSnapshotFile(path);
  return readAreas(treeFromSnapshot(snap, path)).map((m) =>
    toReplaySpec({ name: m.name, orderPerBit: m.area.orderPerBit, ranges: m.area.ranges }),
  );
}

/** The text of --save: the final state of a replay as a snapshot document. */
export function replaySnapshotText(r: ReplayResult, label: string): string {
  return formatSnapshot(snapshotOfReplay(r, label));
}

/**
 * The final state of a replay as a snapshot document that `cat`/`analyze` read: the replayed
 * bitmaps loaded into an emulated system (7.3 for multi-range areas and 7.x traces, else 6.1),
 * whose files the core lays out; of sysfs only what a trace gives (total/available pages).
 */
function snapshotOfReplay(r: ReplayResult, label: string): Snapshot {
  const exact = r.areas.some((a) => a.ranges.length > 1 || a.usedMode === 'exact');
  const sys = new CmaSystem({
    profile: exact ? PROFILE_7_3 : PROFILE_6_1,
    areas: r.areas.map((a) => ({ name: a.name, orderPerBit: a.orderPerBit, ranges: a.ranges })),
  });
  r.areas.forEach((a, i) => {
    const area = sys.areas[i]!.area;
    a.ranges.forEach((rg, k) => {
      setBitsFromWords(area.ranges[k]!.bitmap, rg.words);
    });
    area.availableCount = a.usedMode === 'exact' ? a.availablePages : a.count - a.used;
  });
  const snap = snapshotFromTree(treeFromSystem(sys, `replay of ${label}`));
  const kept = (p: string) => !p.startsWith('kernel/mm/cma/') || /\/(total|available)_pages$/.test(p);
  const files = Object.fromEntries(Object.entries(snap.files).filter(([p]) => kept(p)));
  const sysfsDirs = new Set(Object.keys(files).map((p) => p.slice(0, p.lastIndexOf('/'))));
  const dirs = snap.dirs.filter(
    (d) => !d.startsWith('kernel/mm') || [...sysfsDirs].some((f) => f === d || f.startsWith(`${d}/`)),
  );
  return { ...snap, kernelRelease: null, files, dirs };
}
