'use strict';
// genkit explore: the page. It knows no model by name: /api/runs says what each run offers and,
// where a run cannot do something, the command line's refusal, which the page shows instead of
// the control. Every picture comes from a job in the server's one queue.

const OPTIONS = [
  {name: 'temperature', label: 'Temperature', step: '0.05', min: '0'},
  {name: 'steps', label: 'Steps', step: '1', min: '1'},
  {name: 'guidance', label: 'Guidance', step: '0.1', min: '0'},
];
const MANIFOLD_SIDE = 16;
const client = Math.random().toString(36).slice(2, 10);
const columns = [];
let limits = {};

function $(id) { return document.getElementById(id); }

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('data-') || key.startsWith('aria-')) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of [].concat(children)) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function intValue(id, fallback) {
  const value = parseInt($(id).value, 10);
  return Number.isFinite(value) ? value : fallback;
}

async function api(path, init) {
  const response = await fetch(path, init);
  let body;
  try { body = await response.json(); } catch (e) { body = {error: `${response.status} ${response.statusText}`}; }
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

// Submits a job and follows it to its end: its result, or null when a newer request with the same
// slot replaced it while it waited.
async function runJob(params, slot, panel) {
  let snap = await api('/api/jobs', {
    method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({...params, slot}),
  });
  for (;;) {
    if (snap.state === 'done') {
      if (panel) panel.node.dataset.computeMs = (1000 * snap.seconds).toFixed(1); // the worker's share
      return snap.result;
    }
    if (snap.state === 'error') throw new Error(snap.error);
    if (snap.state === 'superseded') return null;
    if (panel) panel.waiting(snap);
    snap = await api(`/api/jobs/${snap.job}?after=${snap.version}`);
  }
}

function nextFrame() { return new Promise((resolve) => requestAnimationFrame(() => resolve())); }

async function decoded(images) {
  await Promise.all(images.map((img) => img.decode().catch(() => null)));
}

// A section of a run's column: a heading, a status line (waiting, progress, time, error), a body.
// data-state is idle, busy, ready or error; data-ms the time from the request to the new picture.
class Panel {
  constructor(title, cls) {
    this.heading = el('h3', {text: title});
    this.status = el('p', {class: 'status'});
    this.body = el('div', {class: 'body'});
    this.node = el('section', {class: cls, 'data-state': 'idle'}, [this.heading, this.status, this.body]);
    this.started = 0;
    this.token = 0;
  }

  // Starts a request; returns a token that is current until the next begin().
  begin(text) {
    this.started = performance.now();
    this.node.dataset.state = 'busy';
    this.status.classList.remove('error');
    this.status.textContent = text;
    this.token += 1;
    return this.token;
  }

  current(token) { return token === this.token; }

  waiting(snap) {
    this.status.replaceChildren();
    if (snap.state === 'queued') {
      this.status.textContent = snap.ahead ? `waiting (${snap.ahead} ahead)` : 'waiting';
    } else if (snap.progress) {
      const {done, total} = snap.progress;
      this.status.append(`working: ${done} of ${total} `, el('progress', {max: total, value: done}));
    } else {
      this.status.textContent = 'working';
    }
  }

  done(text) {
    const ms = performance.now() - this.started;
    this.node.dataset.ms = ms.toFixed(1);
    this.node.dataset.state = 'ready';
    this.status.textContent = text ? `${text} (${Math.round(ms)} ms)` : '';
  }

  fail(error) {
    this.node.dataset.state = 'error';
    this.status.classList.add('error');
    this.status.textContent = `error: ${error.message || error}`;
  }
}

// One served run: its panels, built from what /api/runs says it offers.
class Column {
  constructor(run) {
    this.run = run;
    this.key = run.key;
    this.sampler = run.sampling.default;
    this.grid = null; // seed, n and temperature of the samples shown
    this.picked = [];
    this.base = null; // where the latent sliders start
    this.offsets = [];
    this.refused = el('ul', {class: 'not-offered', 'aria-label': 'not offered for this run'});
    const meta = [run.model, run.dataset, run.epochs ? `epoch ${run.epochs}` : null, run.capabilities.join(', ')]
      .filter(Boolean).join(' · ');
    this.node = el('article', {class: 'run', 'data-run': run.key}, [
      el('h2', {text: run.name}), el('p', {class: 'meta', text: meta}),
    ]);
    this.buildSamples();
    this.buildPath();
    this.buildLatent();
    this.buildManifold();
    this.buildTestImages();
    this.buildScore();
    this.buildCompletion();
    if (this.refused.childElementCount) {
      this.node.append(el('h3', {text: 'Not offered for this run'}), this.refused);
    }
  }

  refuse(what, why) { this.refused.append(el('li', {}, [el('strong', {text: what}), `: ${why}`])); }

  can(part) { return this.run[part].refusal === null; }

  // -- samples ------------------------------------------------------------------------------
  buildSamples() {
    const sampling = this.run.sampling;
    if (sampling.refusal !== null) { this.refuse('Samples', sampling.refusal); return; }
    this.samples = new Panel('Samples', 'samples');
    if (sampling.samplers.length > 1) {
      const select = el('select', {class: 'sampler', 'aria-label': 'sampler'});
      for (const s of sampling.samplers) select.append(el('option', {value: s.name, text: s.name, title: s.description}));
      select.value = this.sampler;
      select.addEventListener('change', () => { this.sampler = select.value; refreshOptions(); this.draw(); });
      this.samples.heading.append(' · sampler ', select);
    } else {
      this.samples.heading.append(` · sampler ${this.sampler}`);
    }
    this.samples.grid = el('div', {class: 'grid'});
    this.samples.body.append(this.samples.grid);
    if (this.can('latent')) {
      this.samples.body.append(el('p', {
        class: 'note', text: 'Click a sample to start the latent sliders from it; click a second to interpolate.',
      }));
    }
    this.node.append(this.samples.node);
  }

  samplerInfo() { return this.run.sampling.samplers.find((s) => s.name === this.sampler); }

  samplingParams() {
    const params = {action: 'sample', run: this.key, seed: intValue('seed', 0), n: intValue('count', 16)};
    params.sampler = this.sampler;
    const takes = this.samplerInfo().options;
    for (const option of OPTIONS) {
      const input = $(`option-${option.name}`);
      if (input && input.value !== '' && takes.includes(option.name)) params[option.name] = Number(input.value);
    }
    const label = $('option-label');
    if (label && label.value !== '' && this.can('label')) params.label = Number(label.value);
    return params;
  }

  async draw() {
    if (!this.samples) return;
    const params = this.samplingParams();
    const token = this.samples.begin(`drawing ${params.n} samples with seed ${params.seed}`);
    try {
      const result = await runJob(params, `${client}:${this.key}:samples`, this.samples);
      if (!result || !this.samples.current(token)) return;
      const tiles = result.images.map((src, i) => {
        const img = el('img', {class: 'px', src, alt: `sample ${i + 1}`});
        const tile = el('button', {class: 'tile', type: 'button', title: `sample ${i + 1}`}, img);
        tile.addEventListener('click', () => this.pickSample(i));
        return tile;
      });
      await decoded(tiles.map((t) => t.firstChild));
      this.grid = {seed: params.seed, n: params.n, temperature: params.temperature ?? null};
      this.picked = [];
      this.samples.grid.replaceChildren(...tiles);
      this.samples.node.dataset.seed = String(params.seed);
      await nextFrame();
      this.samples.done(`seed ${params.seed}`);
    } catch (error) {
      if (this.samples.current(token)) this.samples.fail(error);
    }
  }

  pickSample(index) {
    if (!this.grid || !this.can('latent')) return;
    if (this.picked.length >= 2 || this.picked[0] === index) this.picked = [];
    this.picked.push(index);
    this.samples.grid.querySelectorAll('.tile').forEach((tile, i) => {
      tile.classList.toggle('picked', this.picked.includes(i));
    });
    const {seed, n, temperature} = this.grid;
    if (this.picked.length === 1) {
      this.setBase({sample: {seed, n, temperature, index}});
    } else {
      this.interpolate({samples: {seed, n, temperature, first: this.picked[0], second: this.picked[1]}});
    }
  }

  // -- interpolation ------------------------------------------------------------------------
  buildPath() {
    if (!this.can('latent')) { this.refuse('Interpolation and latent space', this.run.latent.refusal); return; }
    this.path = new Panel('Interpolation', 'interpolation');
    this.path.strip = el('div', {class: 'strip'});
    this.path.note = el('p', {class: 'note', text: 'Click two samples, or interpolate between two classes above.'});
    this.path.body.append(this.path.strip, this.path.note);
    this.node.append(this.path.node);
  }

  async interpolate(ends) {
    if (!this.path) return;
    const params = {action: 'interpolate', run: this.key, method: $('method').value,
      steps: intValue('path-steps', 7), ...ends};
    const token = this.path.begin('interpolating');
    try {
      const result = await runJob(params, `${client}:${this.key}:path`, this.path);
      if (!result || !this.path.current(token)) return;
      const images = result.images.map((src, i) => el('img', {class: 'px', src, alt: `path image ${i + 1}`}));
      await decoded(images);
      this.path.strip.replaceChildren(...images);
      this.path.note.textContent = result.note;
      await nextFrame();
      this.path.done(`${images.length} images`);
    } catch (error) {
      if (this.path.current(token)) this.path.fail(error);
    }
  }

  // -- latent sliders -----------------------------------------------------------------------
  buildLatent() {
    if (!this.can('latent')) return;
    this.latent = new Panel('Latent space', 'latent');
    this.latent.image = el('img', {class: 'big', alt: 'decoded latent code', hidden: true});
    this.latent.base = el('p', {class: 'note', text: 'Click a sample, a test image or the manifold to start here.'});
    this.latent.sliders = el('div', {class: 'sliders'});
    this.latent.body.append(el('div', {class: 'moved'}, [this.latent.image, el('div', {}, [this.latent.base])]),
      this.latent.sliders);
    if (!this.can('directions')) {
      this.latent.body.append(el('p', {class: 'note', text: `No sliders: ${this.run.directions.refusal}`}));
    }
    this.node.append(this.latent.node);
  }

  async loadDirections() {
    if (!this.latent || !this.can('directions')) return;
    const token = this.latent.begin('estimating directions from encoded test images');
    try {
      const result = await runJob({action: 'directions', run: this.key}, null, this.latent);
      if (!result || !this.latent.current(token)) return;
      this.offsets = result.directions.map(() => 0);
      const rows = [];
      result.directions.forEach((d, k) => {
        const slider = el('input', {type: 'range', min: '-3', max: '3', step: '0.1', value: '0',
          'aria-label': `direction ${k + 1}`, 'data-direction': String(k)});
        slider.addEventListener('input', () => { this.offsets[k] = Number(slider.value); this.move(); });
        rows.push(el('label', {text: `${k + 1} (${(100 * d.share).toFixed(1)}%)`, title:
          `principal direction ${k + 1}: ${(100 * d.share).toFixed(1)}% of the variance of ${result.count} codes; ` +
          'the slider moves by standard deviations along it'}), slider);
      });
      const reset = el('button', {type: 'button', text: 'Reset sliders'});
      reset.addEventListener('click', () => {
        this.latent.sliders.querySelectorAll('input').forEach((s) => { s.value = '0'; });
        this.offsets = this.offsets.map(() => 0);
        this.move();
      });
      this.latent.sliders.replaceChildren(...rows);
      this.latent.sliders.after(reset);
      this.setBase({mean: true});
    } catch (error) {
      if (this.latent.current(token)) this.latent.fail(error);
    }
  }

  setBase(base) {
    if (!this.latent) return;
    this.base = base;
    this.move();
  }

  async move() {
    if (!this.latent || !this.base) return;
    const offsets = this.can('directions') ? this.offsets : [];
    const token = this.latent.begin('decoding');
    try {
      const result = await runJob({action: 'move', run: this.key, base: this.base, offsets},
        `${client}:${this.key}:move`, this.latent);
      if (!result || !this.latent.current(token)) return;
      const img = el('img', {src: result.image});
      await decoded([img]);
      this.latent.image.src = result.image;
      this.latent.image.hidden = false;
      this.latent.base.textContent = `from ${result.base}` +
        (offsets.some((o) => o !== 0) ? `, moved ${offsets.map((o) => o.toFixed(1)).join(' / ')}` : '');
      await nextFrame();
      this.latent.done('decoded');
    } catch (error) {
      if (this.latent.current(token)) this.latent.fail(error);
    }
  }

  // -- manifold -----------------------------------------------------------------------------
  buildManifold() {
    if (!this.can('manifold')) {
      if (this.can('latent')) this.refuse('Manifold', this.run.manifold.refusal);
      return;
    }
    this.manifold = new Panel('Manifold (click a point)', 'manifold');
    this.manifold.image = el('img', {class: 'map', alt: 'the 2-D latent manifold'});
    this.manifold.image.addEventListener('click', (event) => {
      const box = this.manifold.image.getBoundingClientRect();
      const x = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
      const y = Math.min(1, Math.max(0, (event.clientY - box.top) / box.height));
      this.setBase({point: {x, y, side: MANIFOLD_SIDE}});
    });
    this.manifold.body.append(this.manifold.image);
    this.node.append(this.manifold.node);
  }

  async loadManifold() {
    if (!this.manifold) return;
    const token = this.manifold.begin('decoding the manifold');
    try {
      const result = await runJob({action: 'manifold', run: this.key, side: MANIFOLD_SIDE}, null, this.manifold);
      if (!result || !this.manifold.current(token)) return;
      this.manifold.image.src = result.image;
      await decoded([this.manifold.image]);
      this.manifold.done(`${result.side} x ${result.side} codes`);
    } catch (error) {
      if (this.manifold.current(token)) this.manifold.fail(error);
    }
  }

  // -- test images, scores, completion ------------------------------------------------------
  usesImages() { return this.can('likelihood') || this.can('completion') || this.can('encoder'); }

  buildTestImages() {
    if (!this.usesImages()) return;
    if (!this.can('test_images')) { this.refuse('Test images', this.run.test_images.refusal); return; }
    this.tests = new Panel(`Test images (${this.run.test_images.dataset}): click one`, 'test-images');
    this.tests.strip = el('div', {class: 'strip'});
    const more = el('button', {type: 'button', text: 'Other test images'});
    this.testSeed = 0;
    more.addEventListener('click', () => { this.testSeed += 1; this.loadTestImages(); });
    this.tests.body.append(this.tests.strip, more);
    this.node.append(this.tests.node);
  }

  async loadTestImages() {
    if (!this.tests) return;
    const token = this.tests.begin('picking test images');
    try {
      const result = await runJob({action: 'test_images', run: this.key, n: 12, seed: this.testSeed},
        `${client}:${this.key}:tests`, this.tests);
      if (!result || !this.tests.current(token)) return;
      const tiles = result.images.map((image) => {
        const title = `test image ${image.index}` + (image.label === null ? '' : `, class ${image.label}`);
        const img = el('img', {class: 'px', src: image.src, alt: title});
        const tile = el('button', {class: 'tile', type: 'button', title, 'data-index': String(image.index)}, img);
        tile.addEventListener('click', () => {
          this.tests.strip.querySelectorAll('.tile').forEach((t) => t.classList.toggle('picked', t === tile));
          this.pick({test: image.index});
        });
        return tile;
      });
      await decoded(tiles.map((t) => t.firstChild));
      this.tests.strip.replaceChildren(...tiles);
      this.tests.done('');
    } catch (error) {
      if (this.tests.current(token)) this.tests.fail(error);
    }
  }

  // An image (a test image or an upload) picked: everything this run can do with one.
  pick(ref) {
    if (this.can('likelihood')) this.score(ref);
    if (this.can('completion')) this.complete(ref);
    if (this.can('encoder')) this.setBase({image: ref});
  }

  buildScore() {
    if (!this.can('likelihood')) { this.refuse('Likelihood', this.run.likelihood.refusal); return; }
    const {unit, samples} = this.run.likelihood;
    this.likelihood = new Panel(`Likelihood (${unit.replace(/_/g, ' ')}, K = ${samples})`, 'likelihood');
    this.likelihood.value = el('p', {class: 'value', text: 'Drop an image above or click a test image.'});
    this.likelihood.histogram = el('img', {class: 'histogram', alt: 'histogram of the test images\' scores',
      hidden: true});
    this.likelihood.body.append(this.likelihood.value, this.likelihood.histogram);
    this.node.append(this.likelihood.node);
  }

  async score(ref) {
    const panel = this.likelihood;
    const token = panel.begin('scoring');
    try {
      const result = await runJob({action: 'score', run: this.key, image: ref}, `${client}:${this.key}:score`, panel);
      if (!result || !panel.current(token)) return;
      const unit = result.unit.replace(/_/g, ' ');
      panel.value.replaceChildren(el('img', {class: 'px', src: result.image, alt: 'the scored image'}),
        ` ${result.value.toFixed(4)} ${unit}: ${(100 * result.below).toFixed(1)}% of ${result.count} test images ` +
        `score lower (their mean ${result.mean.toFixed(4)}; lower is more likely)`);
      panel.node.dataset.value = String(result.value);
      panel.histogram.src = result.histogram;
      panel.histogram.hidden = false;
      await decoded([panel.histogram]);
      panel.done('scored');
    } catch (error) {
      if (panel.current(token)) panel.fail(error);
    }
  }

  buildCompletion() {
    if (!this.can('completion')) {
      if (this.run.capabilities.some((c) => c.startsWith('conditional'))) {
        this.refuse('Completion', this.run.completion.refusal);
      }
      return;
    }
    this.completion = new Panel('Completion from what the model observes', 'completion');
    this.completion.strip = el('div', {class: 'strip'});
    this.completion.body.append(this.completion.strip,
      el('p', {class: 'note', text: 'observed | completions | the image itself; drop an image or click a test image'}));
    this.node.append(this.completion.node);
  }

  async complete(ref) {
    const panel = this.completion;
    const token = panel.begin('completing');
    try {
      const result = await runJob({action: 'complete', run: this.key, image: ref, k: 5, seed: intValue('seed', 0)},
        `${client}:${this.key}:complete`, panel);
      if (!result || !panel.current(token)) return;
      const images = [
        el('img', {class: 'px', src: result.observed, alt: 'observed', title: 'what the model observes'}),
        ...result.completions.map((src, i) => el('img', {class: 'px', src, alt: `completion ${i + 1}`})),
        el('img', {class: 'px', src: result.truth, alt: 'the image', title: 'the image itself'}),
      ];
      await decoded(images);
      panel.strip.replaceChildren(...images);
      panel.done(`${result.completions.length} completions`);
    } catch (error) {
      if (panel.current(token)) panel.fail(error);
    }
  }
}

// -- controls shared by every run ---------------------------------------------------------------
function refreshOptions() {
  const holder = $('options');
  const refusals = $('refusals');
  const kept = {};
  holder.querySelectorAll('input, select').forEach((input) => { kept[input.id] = input.value; });
  holder.replaceChildren();
  refusals.replaceChildren();
  const sampling = columns.filter((c) => c.samples);
  for (const option of OPTIONS) {
    const takers = sampling.filter((c) => c.samplerInfo().options.includes(option.name));
    if (!takers.length) continue;
    const input = el('input', {id: `option-${option.name}`, type: 'number', min: option.min, step: option.step,
      placeholder: 'default', value: kept[`option-${option.name}`] ?? ''});
    input.addEventListener('change', drawAll);
    holder.append(el('label', {title: `for ${takers.map((c) => c.key).join(', ')}`}, [`${option.label} `, input]));
    for (const column of sampling) {
      if (!takers.includes(column)) {
        refusals.append(el('li', {text: `${column.key}: ${column.samplerInfo().refusals[option.name]}`}));
      }
    }
  }
  const labelled = sampling.filter((c) => c.can('label'));
  if (labelled.length) {
    const classes = Math.max(...labelled.map((c) => c.run.label.classes || 0));
    const names = labelled.map((c) => c.run.label.names).find((n) => n.length) || [];
    const select = el('select', {id: 'option-label'}, [el('option', {value: '', text: 'every class in turn'})]);
    for (let k = 0; k < classes; k += 1) select.append(el('option', {value: String(k), text: names[k] || String(k)}));
    select.value = kept['option-label'] ?? '';
    select.addEventListener('change', drawAll);
    holder.append(el('label', {}, ['Label ', select]));
    for (const column of sampling) {
      if (!labelled.includes(column)) refusals.append(el('li', {text: `${column.key}: ${column.run.label.refusal}`}));
    }
  }
}

function buildClassEnds() {
  const walkable = columns.filter((c) => c.can('latent'));
  if (!walkable.length) { $('path-controls').hidden = true; return; }
  const classes = Math.max(0, ...walkable.map((c) => c.run.label.classes || 0));
  if (!classes) { $('class-ends').hidden = true; return; }
  for (const id of ['from-class', 'to-class']) {
    const select = $(id);
    select.replaceChildren(el('option', {value: '', text: 'any'}));
    for (let k = 0; k < classes; k += 1) select.append(el('option', {value: String(k), text: String(k)}));
  }
  $('interpolate-classes').addEventListener('click', () => {
    const pick = (id) => ($(id).value === '' ? null : Number($(id).value));
    const ends = {classes: {first: pick('from-class'), second: pick('to-class'), seed: intValue('seed', 0)}};
    walkable.forEach((c) => c.interpolate(ends));
  });
}

function drawAll() { columns.forEach((c) => c.draw()); }

async function upload(file) {
  const status = $('upload-status');
  status.classList.remove('error');
  status.dataset.state = 'busy';
  status.textContent = `sending ${file.name || 'the image'} (${Math.ceil(file.size / 1024)} KiB)`;
  try {
    const result = await api('/api/images', {
      method: 'POST', headers: {'Content-Type': 'application/octet-stream'}, body: file,
    });
    status.textContent = `${file.name || 'image'}: ${result.width} x ${result.height} pixels`;
    status.dataset.state = 'ready';
    columns.forEach((c) => { if (c.usesImages()) c.pick({upload: result.image}); });
  } catch (error) {
    status.dataset.state = 'error';
    status.classList.add('error');
    status.textContent = `error: ${error.message}`;
  }
}

function wireDrop() {
  const drop = $('drop');
  drop.addEventListener('dragover', (event) => { event.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('over');
    const file = event.dataTransfer && event.dataTransfer.files[0];
    if (file) upload(file);
  });
  $('file').addEventListener('change', (event) => {
    const file = event.target.files[0];
    if (file) upload(file);
    event.target.value = '';
  });
}

async function start() {
  let served;
  try {
    served = await api('/api/runs');
  } catch (error) {
    $('summary').textContent = `error: ${error.message}`;
    document.body.dataset.state = 'error';
    return;
  }
  limits = served.limits;
  for (const run of served.runs) {
    const column = new Column(run);
    columns.push(column);
    $('runs').append(column.node);
  }
  $('summary').textContent = (columns.length === 1 ? '1 run; ' : `${columns.length} runs side by side; `) +
    `images up to ${Math.round(limits.upload_bytes / 1024)} KiB`;
  refreshOptions();
  buildClassEnds();
  wireDrop();
  $('new-seed').addEventListener('click', () => {
    let seed = intValue('seed', 0);
    while (seed === intValue('seed', 0)) seed = Math.floor(Math.random() * 1000000);
    $('seed').value = String(seed);
    drawAll();
  });
  for (const id of ['seed', 'count']) $(id).addEventListener('change', drawAll);
  document.body.dataset.state = 'ready';
  drawAll(); // samples first: they wait in the queue ahead of the rest
  columns.forEach((c) => { c.loadManifold(); c.loadDirections(); c.loadTestImages(); });
}

start();
