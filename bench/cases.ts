// The benchmark cases: gen-trace arguments and, where perf-ref's README lists them,
// the expected trace sha256/size and final bitmap sha256.

export interface BenchCase {
  readonly id: string;
  /** gen-trace arguments (without -o/-q). */
  readonly args: readonly string[];
  readonly basePfn: number;
  readonly count: number;
  readonly orderPerBit: number;
  /** From the perf-ref README; null for cases it does not list (opb 9). */
  readonly traceSha256: string | null;
  readonly bytes: number | null;
  readonly bitmapSha256: string | null;
  /** In --quick runs. */
  readonly quick: boolean;
  /** A 64 GiB case: the plain scan is capped there. */
  readonly big: boolean;
}

const G1 = ['--base-pfn', '0x80000', '--count', '262144'];
const G64 = ['--base-pfn', '0x100000', '--count', '16777216'];
const common = ['--events', '1000000', '--fill', '0.8'];

function c(
  id: string,
  args: string[],
  known: [string, number, string] | null,
  opts: { quick?: boolean } = {},
): BenchCase {
  const basePfn = Number(args[args.indexOf('--base-pfn') + 1]);
  const count = Number(args[args.indexOf('--count') + 1]);
  const o = args.indexOf('--order-per-bit');
  return {
    id,
    args,
    basePfn,
    count,
    orderPerBit: o >= 0 ? Number(args[o + 1]) : 0,
    traceSha256: known?.[0] ?? null,
    bytes: known?.[1] ?? null,
    bitmapSha256: known?.[2] ?? null,
    quick: opts.quick ?? false,
    big: count > 1_000_000,
  };
}

export const CASES: readonly BenchCase[] = [
  c(
    'gpu-1g',
    ['--workload', 'gpu', '--seed', '1', ...common.slice(0, 2), ...G1, ...common.slice(2)],
    [
      '074187eef45833d3b98587f8219da5d4f8521474e4d922ec9d0c28f7945e00a5',
      118471056,
      '1437f57edae70bfa4cc8a7f365c92c7500ca00262f93a0a0c230b39f93ced262',
    ],
    { quick: true },
  ),
  c(
    'camera-1g',
    ['--workload', 'camera', '--seed', '1', ...common.slice(0, 2), ...G1, ...common.slice(2)],
    [
      '3c5aa0a058f04746ac9ec32b40ec7e5bf2e0e5e6ec34525eb282c090ac331db9',
      120330427,
      '5217932aa36099c072c23e3ecc946de9bcd6eb23b1cda0139aa6f373ce55a6a4',
    ],
  ),
  c(
    'random-1g',
    ['--workload', 'random', '--seed', '1', ...common.slice(0, 2), ...G1, ...common.slice(2)],
    [
      'dc3d90e6fb0625bb9001795a63ed7e0d988ecfcb5f08a2554308cf901a3d5565',
      120094317,
      '3a0f6e31c07856038a37b5b601cb8568cfa56e56dae63fe28f1773c708606bcb',
    ],
  ),
  c(
    'gpu-busy-1g',
    [
      '--workload',
      'gpu',
      '--seed',
      '2',
      ...common.slice(0, 2),
      ...G1,
      ...common.slice(2),
      '--busy',
      '0.05',
      '--acr-fail',
      '0.005',
      '--concurrency',
      '4',
    ],
    [
      '27dc865ee1d4102d296d2e970fb5ed979f7a936f541c8431eef16312dcc1f194',
      118810299,
      '822e191636c17619f47dd488a632c49f57294d8a932e3194b7325447cd797d2d',
    ],
  ),
  c(
    'gpu-64g',
    ['--workload', 'gpu', '--seed', '1', ...common.slice(0, 2), ...G64, ...common.slice(2)],
    [
      '67a1763944fe7ee74084f9f080eb5a2a7ab21dd47fb0cbcdae9a29aca3350682',
      119051354,
      '16d6d9c2e6b523cf891f5719feea890aa25f6f76f4ef0049485172ba5f7c40c6',
    ],
    { quick: true },
  ),
  c(
    'camera-64g',
    ['--workload', 'camera', '--seed', '1', ...common.slice(0, 2), ...G64, ...common.slice(2)],
    [
      'd2456da7699d2cc1d326e12611c20cf650923c9c19b4a05779ca0165f3fc3db8',
      120225851,
      'f0da40438da88a1369ef113fd06393f95ec414b023f8cb52c6c50bf151821736',
    ],
  ),
  // order_per_bit 9 (hugetlb_cma's granularity): not in the perf-ref table, checked against ref-replay
  c(
    'random-1g-opb9',
    [
      '--workload',
      'random',
      '--seed',
      '1',
      ...common.slice(0, 2),
      ...G1,
      '--order-per-bit',
      '9',
      ...common.slice(2),
    ],
    null,
  ),
  c(
    'gpu-64g-opb9',
    [
      '--workload',
      'gpu',
      '--seed',
      '1',
      ...common.slice(0, 2),
      ...G64,
      '--order-per-bit',
      '9',
      ...common.slice(2),
    ],
    null,
  ),
];
