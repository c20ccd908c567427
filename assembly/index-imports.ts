// The index's exports (assembly/indexed-bitmap.ts) as another module imports them: the replay's
// fast lane (replay-lane.ts) and plan's pass (plan-pass.ts) are instantiated with
// `{ index: bitmap.wasmIndex() }`, so their calls go to that bitmap's instance directly.

@external('index', 'set')
export declare function idxSet(start: i32, n: i32): i32;
@external('index', 'clear')
export declare function idxClear(start: i32, n: i32): i32;
@external('index', 'findArea')
export declare function idxFind(start: i32, nr: i32, mask: i32, off: i32): i32;
