// cma-debug/analysis: pure functions over an area's bitmap — free runs and histograms, the
// largest request per alignment, summaries, and where the kernel's next allocation lands.

export type { Explanation, Verdict } from './explain.ts';
export { cloneArea, explainAlloc } from './explain.ts';
export type { FreeRun, HistogramBucket } from './free-runs.ts';
export {
  freePagesFromBitmap,
  freeRuns,
  largestUsableByOrder,
  largestUsablePages,
  runHistogram,
  usedPagesFromBitmap,
} from './free-runs.ts';
export type { AreaPlan, FailedPolicy, PlanChoice, PlanOptions, PlanResult, SetAsideRequest } from './plan.ts';
export { planTrace } from './plan.ts';
export type { AreaSummary } from './summary.ts';
export { summarizeArea } from './summary.ts';
