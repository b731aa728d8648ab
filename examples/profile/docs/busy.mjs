// A Node process with a few kinds of work, profiled for docs/flame.svg:
// node --perf-basic-prof docs/busy.mjs
import { createHash } from 'node:crypto';

function parseAndStringify() {
  const doc = { items: Array.from({ length: 200 }, (_, i) => ({ id: i, name: `item-${i}`, tags: ['a', 'b', 'c'] })) };
  return JSON.parse(JSON.stringify(doc)).items.length;
}

function hashSome() {
  let h = 'seed';
  for (let i = 0; i < 50; i++) h = createHash('sha256').update(h).digest('hex');
  return h;
}

function primesBelow(n) {
  const out = [];
  for (let i = 2; i < n; i++) {
    let prime = true;
    for (let d = 2; d * d <= i; d++)
      if (i % d === 0) {
        prime = false;
        break;
      }
    if (prime) out.push(i);
  }
  return out.length;
}

function matchLines() {
  const text = Array.from({ length: 300 }, (_, i) => `GET /api/v1/items/${i}?q=${i * 7} 200`).join('\n');
  return [...text.matchAll(/^GET \/api\/v1\/items\/(\d+)\?q=(\d+) (\d{3})$/gm)].length;
}

function handleRequest() {
  return parseAndStringify() + hashSome().length + primesBelow(20000) + matchLines();
}

const stopAt = Date.now() + Number(process.argv[2] ?? 30) * 1000;
(function loop() {
  if (Date.now() < stopAt) {
    handleRequest();
    setImmediate(loop);
  }
})();
console.log(`pid ${process.pid}`);
