// One workload of the real-program corpus on Node.js: memory held in the V8 heap, or descriptors.
//
//   node workload.js --window 50 --base 20 --retain 30 --churn 60 --pattern sawtooth --cycle 12
//
// The shape is laid out over the recording window (--window seconds): --base is held from the start,
// --retain is added between --ramp-start and --ramp-end (fractions of the window; at cycle ends only
// with --retain-at-cycle), and --churn comes and goes by --pattern (sawtooth: grows over each
// --cycle and is dropped; waves: uneven waves with gaps; random: a new random amount every --cycle).
// Memory is in MiB of JS arrays of doubles, which V8's collector frees; descriptors are /dev/null.
// With --gc (node --expose-gc) the heap is collected when churn is dropped, as a program that calls gc() does.
'use strict';
const fs = require('fs');

const options = {
  window: 80, seconds: 0, resource: 'memory', base: 0, retain: 0, rampStart: 0, rampEnd: 1,
  retainAtCycle: false, churn: 0, pattern: 'none', cycle: 10, churnTrend: 0, chunkKib: 64, seed: 1,
  tick: 0.05, gc: false,
};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const key = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
  if (!(key in options)) throw new Error(`unknown option ${argv[i]}`);
  if (typeof options[key] === 'boolean') options[key] = true;
  else options[key] = typeof options[key] === 'number' ? Number(argv[++i]) : argv[++i];
}
if (!options.seconds) options.seconds = options.window + 30;

// A small seeded generator (mulberry32), so that one seed gives one shape.
let state = options.seed >>> 0;
function random() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const unitsPer = options.resource === 'memory' ? 1024 / options.chunkKib : 1;
const doubles = (options.chunkKib * 1024) / 8;
function make() {
  if (options.resource === 'fds') return fs.openSync('/dev/null', 'r');
  const a = new Array(doubles);
  for (let i = 0; i < doubles; i++) a[i] = i + 0.5;
  return a;
}
function release(unit) {
  if (options.resource === 'fds') fs.closeSync(unit);
}
function resize(list, count) {
  while (list.length < count) list.push(make());
  while (list.length > count) release(list.pop());
}

// One object holds every pool, and the timer's closure uses it: a pool that no closure names would be
// garbage once this module's code has run, and V8 would free --base at its first full collection.
const pools = { base: [], retained: [], transient: [] };
resize(pools.base, Math.round(options.base * unitsPer));

function retainTarget(fraction) {
  const span = Math.max(options.rampEnd - options.rampStart, 1e-9);
  const share = Math.min(Math.max((fraction - options.rampStart) / span, 0), 1);
  return Math.round(options.retain * unitsPer * share);
}

// The churn's schedule: the amount wanted at time s, and whether a cycle ended since the last tick.
let waveEnd = 0;
let nextWave = 0;
let waveHeight = 0;
let lastCycle = 0;
let randomAmount = 0;
let nextRandom = 0;
function churnTarget(s) {
  const scale = Math.max(1 + (options.churnTrend * s) / options.window, 0);
  if (options.pattern === 'sawtooth') {
    const cycle = Math.floor(s / options.cycle);
    const ended = cycle !== lastCycle;
    lastCycle = cycle;
    return [options.churn * scale * ((s % options.cycle) / options.cycle), ended];
  }
  if (options.pattern === 'waves') {
    let ended = false;
    if (s >= nextWave) {
      waveHeight = options.churn * scale * (0.3 + 0.7 * random());
      waveEnd = s + options.cycle * (0.5 + random());
      nextWave = waveEnd + options.cycle * (0.15 + 0.35 * random());
    }
    if (s >= waveEnd && waveHeight > 0) {
      waveHeight = 0;
      ended = true;
    }
    return [waveHeight, ended];
  }
  if (options.pattern === 'random') {
    if (s >= nextRandom) {
      randomAmount = options.churn * scale * random();
      nextRandom = s + options.cycle;
    }
    return [randomAmount, false];
  }
  return [0, false];
}

const started = Date.now();
function step() {
  const s = (Date.now() - started) / 1000;
  if (s >= options.seconds) process.exit(0);
  const [amount, ended] = churnTarget(s);
  const wanted = Math.round(amount * unitsPer);
  if (ended || wanted < pools.transient.length) {
    if (options.resource === 'fds') resize(pools.transient, wanted);
    else pools.transient = pools.transient.slice(0, wanted);
    if (ended && options.gc && global.gc) global.gc();
  } else {
    resize(pools.transient, wanted);
  }
  if (!options.retainAtCycle || ended) resize(pools.retained, retainTarget(s / options.window));
  setTimeout(step, options.tick * 1000);
}
step();
