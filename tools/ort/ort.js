// ONNX Runtime (the npm package onnxruntime-node, CPU, one thread) for linklab's parity tests
// and `linklab bench runtime`: an independent implementation to hold ours to.
//
//   node ort.js run MODEL INPUT.f32 DIMS OUT_PREFIX
//       runs MODEL on the float32 little-endian input of shape DIMS ("1,10,6"), writes each
//       output to OUT_PREFIX.<name>.f32 and prints {"outputs": [{"name", "dims"}]} as JSON
//   node ort.js bench MODEL DIMS SECONDS
//       times session.run on random inputs of shape DIMS for about SECONDS and prints
//       {"calls", "median_us", "mean_us", "p90_us", "version"} as JSON
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));

const options = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
};

function fail(message) {
  process.stderr.write('ort.js: ' + message + '\n');
  process.exit(1);
}

function parseDims(text) {
  const dims = text.split(',').map(Number);
  if (dims.some((d) => !Number.isInteger(d) || d < 1)) fail('bad dims ' + text);
  return dims;
}

async function main() {
  const [command, model, ...rest] = process.argv.slice(2);
  if (!model) fail('usage: ort.js run|bench MODEL ...');
  const session = await ort.InferenceSession.create(model, options);
  const inputName = session.inputNames[0];
  if (command === 'run') {
    const [inputFile, dimsText, prefix] = rest;
    const dims = parseDims(dimsText);
    const bytes = fs.readFileSync(inputFile);
    const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    if (data.length !== dims.reduce((a, b) => a * b, 1)) fail('input size does not match dims');
    const results = await session.run({[inputName]: new ort.Tensor('float32', data, dims)});
    const outputs = [];
    for (const name of session.outputNames) {
      const t = results[name];
      const values = t.type === 'float32' ? t.data : Float32Array.from(t.data, Number);
      fs.writeFileSync(prefix + '.' + name + '.f32', Buffer.from(values.buffer, values.byteOffset, values.byteLength));
      outputs.push({name, dims: t.dims.map(Number)});
    }
    process.stdout.write(JSON.stringify({outputs}) + '\n');
  } else if (command === 'bench') {
    const [dimsText, secondsText] = rest;
    const dims = parseDims(dimsText);
    const n = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; ++i) data[i] = Math.sin(i * 0.7);
    const feeds = {[inputName]: new ort.Tensor('float32', data, dims)};
    for (let i = 0; i < 20; ++i) await session.run(feeds);  // warm-up
    const times = [];
    const end = process.hrtime.bigint() + BigInt(Math.round(Number(secondsText) * 1e9));
    while (process.hrtime.bigint() < end || times.length < 50) {
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      times.push(Number(process.hrtime.bigint() - t0) / 1e3);
    }
    times.sort((a, b) => a - b);
    const mean = times.reduce((a, b) => a + b, 0) / times.length;
    const version = require(path.join(__dirname, 'node_modules', 'onnxruntime-node', 'package.json')).version;
    process.stdout.write(JSON.stringify({
      calls: times.length,
      median_us: times[Math.floor(times.length / 2)],
      mean_us: mean,
      p90_us: times[Math.floor(times.length * 0.9)],
      version,
    }) + '\n');
  } else {
    fail('unknown command ' + command);
  }
}

main().catch((e) => fail(String(e && e.message ? e.message : e)));
