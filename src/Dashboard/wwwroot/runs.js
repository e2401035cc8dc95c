// The runs page: every sweep's progress and best trial (/api/sweeps, marked in the runs table), every run (table with
// filter and sort, live over /api/stream's `runs` event), one run's page
// (runs.html#run=ID), and a comparison of picked runs (runs.html#compare=A,B,C): one chart per metric with the runs
// overlaid, the settings that differ, a metric against a setting, and exports. Histories come downsampled by the
// server (/api/compare), so the page never holds more than the points it draws. No inline script: the CSP forbids it.
'use strict';
(() => {
  const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#be185d', '#4d7c0f', '#7c3aed', '#b45309'];
  const $ = (id) => document.getElementById(id);
  const picked = new Set();
  let compareView = null;
  let charts = [];
  let scatter = null;

  const num = (v, digits = 4) => (v === null || v === undefined ? '–' : Number.isFinite(v) ? Number(v.toPrecision(digits)).toString() : String(v));
  const duration = (s) => {
    if (s === null || s === undefined || !Number.isFinite(s)) return '–';
    s = Math.max(0, Math.round(s));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    return h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${sec}s` : `${sec}s`;
  };
  const cell = (row, text, className) => { const td = document.createElement('td'); td.textContent = text; if (className) td.className = className; row.appendChild(td); return td; };
  const pairs = (map) => Object.entries(map || {}).map(([k, v]) => `${k}=${typeof v === 'number' ? num(v) : JSON.stringify(v)}`).join(', ');

  async function getJson(url) {
    const response = await fetch(url, { credentials: 'same-origin', cache: 'no-store' });
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return response.json();
  }

  // ---- the runs table -----------------------------------------------------------------------------
  function listUrl() {
    const query = new URLSearchParams();
    if ($('filter-experiment').value.trim()) query.set('experiment', $('filter-experiment').value.trim());
    if ($('filter-state').value) query.set('state', $('filter-state').value);
    query.set('sort', $('sort').value);
    query.set('order', $('sort-ascending').checked ? 'asc' : 'desc');
    return `api/runs?${query}`;
  }

  async function loadRuns() { renderRuns(await getJson(listUrl())); }

  function renderRuns(view) {
    $('runs-count').textContent = `${view.total} runs`;
    const tbody = $('runs').tBodies[0];
    tbody.replaceChildren();
    if (view.runs.length === 0) { const row = tbody.insertRow(); const td = cell(row, 'no runs match'); td.colSpan = 10; td.className = 'muted'; }
    for (const run of view.runs) {
      const row = tbody.insertRow();
      row.dataset.runId = run.run_id;
      const box = document.createElement('input');
      box.type = 'checkbox'; box.className = 'pick'; box.value = run.run_id; box.checked = picked.has(run.run_id);
      box.addEventListener('change', () => { if (box.checked) picked.add(run.run_id); else picked.delete(run.run_id); updateCompareButton(); });
      row.insertCell().appendChild(box);
      const link = document.createElement('a');
      link.href = `#run=${encodeURIComponent(run.run_id)}`; link.textContent = run.run_id;
      row.insertCell().appendChild(link);
      cell(row, run.service);
      cell(row, run.experiment || '–');
      const state = document.createElement('span'); state.className = 'badge'; state.dataset.state = run.state; state.textContent = run.state;
      row.insertCell().appendChild(state);
      cell(row, run.started ? new Date(run.started).toLocaleString() : '–');
      cell(row, duration(run.duration_seconds));
      cell(row, pairs(run.key_settings), 'settings');
      cell(row, pairs(run.final), 'metrics');
      cell(row, pairs(run.best), 'metrics');
    }
    markBest();
  }

  // ---- sweeps: progress, and the best trial marked in the runs table --------------------------------
  const bestRuns = new Map(); // run id → the sweep it is the best trial of

  async function loadSweeps() { renderSweeps(await getJson('api/sweeps')); }

  function renderSweeps(view) {
    $('sweeps-card').hidden = view.sweeps.length === 0;
    $('sweeps-count').textContent = `${view.sweeps.length} sweeps`;
    const tbody = $('sweeps').tBodies[0];
    tbody.replaceChildren();
    bestRuns.clear();
    for (const sweep of view.sweeps) {
      const row = tbody.insertRow();
      row.dataset.sweep = sweep.name;
      cell(row, sweep.name);
      const state = document.createElement('span'); state.className = 'badge'; state.dataset.state = sweep.state; state.textContent = sweep.state;
      row.insertCell().appendChild(state);
      const done = sweep.total - sweep.pending - sweep.running;
      const progressCell = row.insertCell();
      const bar = document.createElement('progress'); bar.max = sweep.total; bar.value = done;
      const text = document.createElement('span'); text.className = 'sweep-done'; text.textContent = ` ${done}/${sweep.total}`;
      progressCell.append(bar, text);
      cell(row, String(sweep.running));
      cell(row, String(sweep.pruned));
      cell(row, String(sweep.failed));
      cell(row, `${sweep.metric} (${sweep.goal})`);
      cell(row, sweep.best ? num(sweep.best.value) : '–', 'metrics');
      const bestCell = row.insertCell();
      if (sweep.best && sweep.best.run_id) {
        bestRuns.set(sweep.best.run_id, sweep.name);
        const link = document.createElement('a');
        link.href = `#run=${encodeURIComponent(sweep.best.run_id)}`;
        link.className = 'best-trial';
        link.textContent = `${sweep.best.service} ${pairs(sweep.best.parameters)}`;
        bestCell.appendChild(link);
      } else bestCell.textContent = '–';
    }
    markBest();
  }

  function markBest() {
    for (const row of $('runs').tBodies[0].rows) {
      const sweep = row.dataset.runId ? bestRuns.get(row.dataset.runId) : undefined;
      const old = row.querySelector('.badge.best');
      if (old) old.remove();
      if (sweep) {
        const badge = document.createElement('span'); badge.className = 'badge best'; badge.textContent = `best of ${sweep}`;
        row.cells[1].append(' ', badge);
        row.dataset.best = sweep;
      } else delete row.dataset.best;
    }
  }

  function updateCompareButton() {
    $('compare-button').disabled = picked.size < 1;
    $('compare-button').textContent = `Compare picked runs (${picked.size})`;
  }

  // ---- one run -----------------------------------------------------------------------------------
  async function showRun(id) {
    const view = await getJson(`api/runs/${encodeURIComponent(id)}`);
    const run = view.run;
    $('run-detail').hidden = false;
    $('run-id').textContent = run.run_id;
    const badge = $('run-state'); badge.dataset.state = run.state; badge.textContent = run.state;
    const figures = $('run-figures');
    figures.replaceChildren();
    const status = view.training.document;
    for (const [label, value] of [['Service', run.service], ['Experiment', run.experiment || '–'], ['Epochs', String(run.epochs)],
      ['Attempts', String(run.attempts)], ['Duration', duration(view.duration_seconds)], ['Device', run.device || '–'], ['Host', run.host || '–'],
      ['Status file', view.training.state], ['Epoch now', status ? `${status.current_epoch} / ${status.total_epochs}` : '–']]) {
      const div = document.createElement('div'); const dt = document.createElement('dt'); const dd = document.createElement('dd');
      dt.textContent = label; dd.textContent = value; div.append(dt, dd); figures.appendChild(div);
    }
    const settings = $('run-settings').tBodies[0];
    settings.replaceChildren();
    for (const [name, value] of Object.entries(run.parameters || {})) { const row = settings.insertRow(); cell(row, name); cell(row, JSON.stringify(value)); }
    const checkpoints = $('run-checkpoints').tBodies[0];
    checkpoints.replaceChildren();
    for (const file of view.checkpoints) { const row = checkpoints.insertRow(); cell(row, file.file); cell(row, `${num(file.bytes / 1048576, 3)} MB`); cell(row, new Date(file.modified).toLocaleString()); }
    const events = $('run-events');
    events.replaceChildren();
    for (const e of view.events) { const li = document.createElement('li'); li.dataset.severity = e.severity; li.textContent = `${new Date(e.time).toLocaleTimeString()} ${e.type}: ${e.message}`; events.appendChild(li); }
    $('run-log').textContent = view.log_tail.join('\n');
    $('run-log-note').textContent = view.logs_are_current ? '' : `(${run.service}'s log: the service works on another run now)`;
  }

  // ---- comparison ----------------------------------------------------------------------------------
  function compareQuery(ids, format) {
    const query = new URLSearchParams({ runs: ids.join(','), x: $('x-axis').value, max_points: '1000' });
    if (format) { query.set('format', format); query.set('download', '1'); }
    return `api/compare?${query}`;
  }

  async function showCompare(ids) {
    compareView = await getJson(compareQuery(ids));
    $('compare').hidden = false;
    $('compare-runs').textContent = compareView.runs.map((r) => r.run_id).join(', ');
    $('export-csv').href = compareQuery(ids, 'csv');
    $('export-json').href = compareQuery(ids, 'json');
    renderDiffering();
    drawCompareCharts();
    renderScatterChoices();
  }

  function renderDiffering() {
    const table = $('differing');
    const head = table.tHead.rows[0];
    head.replaceChildren();
    const th = document.createElement('th'); th.textContent = 'Setting'; head.appendChild(th);
    for (const run of compareView.runs) { const h = document.createElement('th'); h.textContent = run.run_id; head.appendChild(h); }
    const tbody = table.tBodies[0];
    tbody.replaceChildren();
    if (compareView.differing_parameters.length === 0) { const row = tbody.insertRow(); const td = cell(row, 'every setting is the same'); td.colSpan = compareView.runs.length + 1; td.className = 'muted'; }
    for (const p of compareView.differing_parameters) {
      const row = tbody.insertRow();
      row.dataset.parameter = p.name;
      cell(row, p.name);
      for (const run of compareView.runs) cell(row, p.values[run.run_id] === undefined ? '–' : JSON.stringify(p.values[run.run_id]));
    }
  }

  function smooth(values, weight) {
    // TensorBoard-style exponential moving average with debiasing, as on the live page; gaps stay gaps.
    if (weight <= 0) return values;
    let last = 0, n = 0;
    return values.map((v) => {
      if (v === null || !Number.isFinite(v)) return null;
      last = last * weight + (1 - weight) * v; n++;
      return last / (1 - Math.pow(weight, n));
    });
  }

  // One [x, y1, y2, ...] table from each run's [[x, y], ...]: uPlot needs one ascending x for all series.
  function align(tables) {
    const xs = [...new Set(tables.flatMap((t) => t.map((p) => p[0])))].sort((a, b) => a - b);
    const index = new Map(xs.map((x, i) => [x, i]));
    return [xs, ...tables.map((t) => { const ys = new Array(xs.length).fill(null); for (const [x, y] of t) ys[index.get(x)] = y; return ys; })];
  }

  // Each metric charted once, from the kind of record that carries it most (step records for a noisy train loss,
  // epoch records for validation metrics).
  function metricsToChart() {
    const best = new Map();
    for (const history of compareView.histories) {
      for (const s of history.series) {
        const known = best.get(s.metric);
        if (!known || s.total > known.total) best.set(s.metric, { kind: s.kind, total: s.total });
      }
    }
    const rank = (m) => (/loss/.test(m) ? 0 : /acc/.test(m) ? 1 : 2);
    return [...best.entries()].sort((a, b) => rank(a[0]) - rank(b[0]) || a[0].localeCompare(b[0])).map(([metric, v]) => ({ metric, kind: v.kind }));
  }

  function drawCompareCharts() {
    if (!compareView) return;
    for (const chart of charts) chart.destroy();
    charts = [];
    const container = $('compare-charts');
    container.replaceChildren();
    const weight = Number($('smoothing').value);
    const log = $('log-scale').checked;
    const axis = compareView.x;
    // Every chart's cell first, then the charts: a chart sized while it is the grid's only cell would take the whole row.
    const cells = metricsToChart().map(({ metric, kind }) => {
      const el = document.createElement('div');
      el.className = 'chart compare-chart';
      el.dataset.metric = metric;
      el.dataset.series = String(compareView.histories.length);
      container.appendChild(el);
      return { metric, kind, el };
    });
    for (const { metric, kind, el } of cells) {
      const tables = compareView.histories.map((h) => {
        const s = h.series.find((x) => x.metric === metric && x.kind === kind);
        if (!s) return [];
        const ys = smooth(s.points.map((p) => p[1]), weight);
        return s.points.map((p, i) => [axis === 'wall' ? p[0] / 1000 : p[0], log && !(ys[i] > 0) ? null : ys[i]]);
      });
      const options = {
        title: `${metric} (${kind})`, width: Math.max(300, el.clientWidth || 380), height: 240,
        scales: { x: { time: axis === 'wall' }, y: log ? { distr: 3 } : { auto: true } },
        series: [{ label: axis }].concat(compareView.histories.map((h, i) => ({ label: h.run_id, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true }))),
      };
      charts.push(new uPlot(options, align(tables), el));
    }
  }

  function renderScatterChoices() {
    const metrics = [...new Set(compareView.runs.flatMap((r) => Object.keys(r.final || {})))].sort();
    const parameters = compareView.differing_parameters.filter((p) => Object.values(p.values).every((v) => typeof v === 'number')).map((p) => p.name);
    for (const [id, names] of [['scatter-metric', metrics], ['scatter-parameter', parameters]]) {
      const select = $(id);
      const before = select.value;
      select.replaceChildren(...names.map((n) => { const o = document.createElement('option'); o.value = n; o.textContent = n; return o; }));
      if (names.includes(before)) select.value = before;
    }
    drawScatter();
  }

  function drawScatter() {
    if (scatter) { scatter.destroy(); scatter = null; }
    const metric = $('scatter-metric').value, parameter = $('scatter-parameter').value;
    const el = $('scatter-chart');
    el.replaceChildren();
    if (!metric || !parameter) { el.textContent = 'No numeric setting differs among these runs.'; return; }
    const p = compareView.differing_parameters.find((d) => d.name === parameter);
    const points = compareView.runs.filter((r) => r.final && r.final[metric] !== undefined && p.values[r.run_id] !== undefined)
      .map((r) => [p.values[r.run_id], r.final[metric]]).sort((a, b) => a[0] - b[0]);
    scatter = new uPlot({
      title: `final ${metric} against ${parameter}`, width: Math.max(300, el.clientWidth || 600), height: 240,
      scales: { x: { time: false } },
      series: [{ label: parameter }, { label: metric, stroke: COLORS[0], paths: () => null, points: { show: true, size: 8 } }],
    }, [points.map((q) => q[0]), points.map((q) => q[1])], el);
  }

  // ---- navigation and live updates -------------------------------------------------------------------
  async function route() {
    const hash = new URLSearchParams(location.hash.slice(1));
    $('run-detail').hidden = !hash.get('run');
    $('compare').hidden = !hash.get('compare');
    if (hash.get('run')) await showRun(hash.get('run'));
    if (hash.get('compare')) {
      const ids = hash.get('compare').split(',').filter(Boolean);
      ids.forEach((id) => picked.add(id));
      updateCompareButton();
      await showCompare(ids);
    }
  }

  function startStream() {
    const source = new EventSource('api/stream');
    source.addEventListener('open', () => { $('connection').dataset.mode = 'live'; $('connection').textContent = 'live (SSE)'; });
    // The stream's `runs` event is the first page, newest first: with a filter or another sort the table asks again.
    source.addEventListener('runs', (e) => {
      if (!$('filter-experiment').value.trim() && !$('filter-state').value && $('sort').value === 'created' && !$('sort-ascending').checked) renderRuns(JSON.parse(e.data));
      else loadRuns().catch(report);
      // A run's change is where a sweep's progress shows first (a trial started, an epoch logged, a run ended).
      loadSweeps().catch(report);
    });
    source.addEventListener('error', () => { $('connection').dataset.mode = 'offline'; $('connection').textContent = 'reconnecting…'; });
  }

  function report(error) { console.warn(error); }

  function start() {
    for (const id of ['filter-state', 'sort', 'sort-ascending']) $(id).addEventListener('change', () => loadRuns().catch(report));
    $('filter-experiment').addEventListener('input', () => loadRuns().catch(report));
    $('compare-button').addEventListener('click', () => { location.hash = `compare=${[...picked].map(encodeURIComponent).join(',')}`; });
    $('x-axis').addEventListener('change', () => { const ids = compareView ? compareView.runs.map((r) => r.run_id) : []; if (ids.length) showCompare(ids).catch(report); });
    $('smoothing').addEventListener('input', () => { $('smoothing-value').textContent = Number($('smoothing').value).toFixed(2); drawCompareCharts(); });
    $('log-scale').addEventListener('change', drawCompareCharts);
    $('scatter-metric').addEventListener('change', drawScatter);
    $('scatter-parameter').addEventListener('change', drawScatter);
    window.addEventListener('hashchange', () => route().catch(report));
    document.addEventListener('securitypolicyviolation', () => {
      document.body.dataset.cspViolations = String(Number(document.body.dataset.cspViolations || 0) + 1);
    });
    updateCompareButton();
    loadRuns().then(route).catch(report);
    loadSweeps().catch(report);
    startStream();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
})();
