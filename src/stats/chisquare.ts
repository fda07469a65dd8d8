// Pearson's chi-square goodness-of-fit test: are observed counts consistent with expected weights?
// Used by `meshwork traffic`, the demo and the tests to judge a traffic split properly, not by eye.

export interface ChiSquareResult {
  statistic: number;
  degreesOfFreedom: number;
  /** Probability of a deviation at least this large if the traffic really follows the weights. */
  pValue: number;
  /** pValue > alpha: the split is consistent with the weights. */
  pass: boolean;
  expected: number[];
}

/**
 * Categories with weight 0 must have 0 observations (else pValue 0); they add no degree of freedom.
 * `alpha` defaults to 0.001: a correct split fails one run in a thousand.
 */
/**
 * The false-alarm rate the test suite uses. One CI run makes about a hundred split checks (conformance
 * distributions on both data planes, the gRPC clients, the e2e suites twice); at 0.001 a correct build
 * would fail about one run in ten. At 1e-5 it fails one in a thousand, and a wrong split (80/20 served as
 * 50/50, a retry that never re-picks) still fails by orders of magnitude with the suites' request counts.
 */
export const SUITE_ALPHA = 1e-5;

export function chiSquareTest(observed: readonly number[], weights: readonly number[], alpha = 0.001): ChiSquareResult {
  if (observed.length !== weights.length || observed.length === 0) {
    throw new Error(`chi-square: ${observed.length} observed counts for ${weights.length} weights`);
  }
  const total = observed.reduce((a, b) => a + b, 0);
  const weightSum = weights.reduce((a, b) => a + b, 0);
  if (weightSum <= 0) throw new Error('chi-square: weights sum to 0');
  const expected = weights.map((w) => (total * w) / weightSum);
  let statistic = 0;
  let categories = 0;
  let impossible = false;
  for (let i = 0; i < observed.length; i++) {
    if (expected[i] === 0) {
      if (observed[i] > 0) impossible = true;
      continue;
    }
    categories++;
    statistic += (observed[i] - expected[i]) ** 2 / expected[i];
  }
  const degreesOfFreedom = Math.max(categories - 1, 0);
  let pValue: number;
  if (impossible) pValue = 0;
  else if (degreesOfFreedom === 0) pValue = 1;
  else pValue = upperRegularizedGamma(degreesOfFreedom / 2, statistic / 2);
  return { statistic, degreesOfFreedom, pValue, pass: pValue > alpha, expected };
}

/** Q(a, x) = Γ(a, x) / Γ(a): the chi-square survival function is Q(k/2, x/2). */
export function upperRegularizedGamma(a: number, x: number): number {
  if (x <= 0) return 1;
  if (x < a + 1) return 1 - lowerSeries(a, x);
  return upperContinuedFraction(a, x);
}

function lowerSeries(a: number, x: number): number {
  let term = 1 / a;
  let sum = term;
  for (let n = 1; n < 1000; n++) {
    term *= x / (a + n);
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
  }
  return sum * Math.exp(-x + a * Math.log(x) - logGamma(a));
}

// Lentz's method for the continued fraction of Γ(a, x).
function upperContinuedFraction(a: number, x: number): number {
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return Math.exp(-x + a * Math.log(x) - logGamma(a)) * h;
}

// Lanczos approximation (g = 7, n = 9), accurate to ~15 digits for a > 0.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

export function logGamma(z: number): number {
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - logGamma(1 - z);
  const x = z - 1;
  let sum = LANCZOS[0];
  for (let i = 1; i < 9; i++) sum += LANCZOS[i] / (x + i);
  const t = x + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(sum);
}
