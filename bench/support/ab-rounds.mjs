// bench/support/ab-rounds: the loop shared by the A/B scripts that time one
// operation of two builds in one process: warm-up, then rounds of N calls a
// side alternated call by call (the order alternates too, so neither side
// always runs first), each round's median per side, the median over rounds
// and the rounds B won.
import { median } from './compare.mjs';

/**
 * `sides` are [A, B], each `{ prepare?, run }`: `prepare()` runs untimed
 * before each call and its result is passed to `run`, the timed call.
 * Prints `title`, a line a round and the summary; returns the rounds' medians.
 */
export function abRounds(title, { n, rounds, warmup }, sides) {
  const call = (s) => s.run(s.prepare?.());
  for (let i = 0; i < warmup; i++) for (const s of sides) call(s);
  const perRound = [[], []];
  console.log(`${title}, ${rounds} rounds of ${n} a side alternated (medians, µs)`);
  for (let r = 0; r < rounds; r++) {
    const t = [new Array(n), new Array(n)];
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < 2; k++) {
        const side = (i + k) & 1;
        const s = sides[side];
        const input = s.prepare?.();
        const start = process.hrtime.bigint();
        s.run(input);
        t[side][i] = Number(process.hrtime.bigint() - start) / 1000;
      }
    }
    perRound[0].push(median(t[0]));
    perRound[1].push(median(t[1]));
    console.log(`round ${r + 1}: A ${perRound[0][r].toFixed(2)}   B ${perRound[1][r].toFixed(2)}`);
  }
  const wins = perRound[0].filter((a, r) => perRound[1][r] < a).length;
  console.log(`median over rounds: A ${median(perRound[0]).toFixed(2)} µs   B ${median(perRound[1]).toFixed(2)} µs; B faster in ${wins} of ${rounds} rounds`);
  return perRound;
}
