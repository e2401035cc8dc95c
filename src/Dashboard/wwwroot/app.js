// StabilityTools dashboard page. Live updates come over Server-Sent Events (/api/stream); when the stream
// cannot be kept open the page falls back to polling the same JSON API. No inline script: the CSP forbids it.
'use strict';
(() => {
  const POLL_MS = 2000;
  const SSE_RETRY_MS = 30000;
  const MAX_EVENTS = 300;
  const $ = (id) => document.getElementById(id);

  const model = {
    metrics: [],          // MetricRecord objects, time order
    metricsTotal: 0,
    lastEventSeq: 0,
    training: null,
    trainingReceivedAt: 0,
    mode: 'connecting',
  };

  // ---- formatting -------------------------------------------------------------------------------
  const num = (v, digits = 4) => (v === null || v === undefined || v === '' ? '–'
    : typeof v === 'string' ? v : Number.isFinite(v) ? Number(v.toPrecision(digits)).toString() : String(v));
  const pct = (v) => (v === null || v === undefined ? '–' : (100 * v).toFixed(1) + ' %');
  const duration = (s) => {
    if (s === null || s === undefined || !Number.isFinite(s)) return '–';
    s = Math.max(0, Math.round(s));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    return h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${sec}s` : `${sec}s`;
  };
  const setText = (id, text) => { const el = $(id); if (el && el.textContent !== text) el.textContent = text; };
  const setBadge = (id, state) => { const el = $(id); el.dataset.state = state; el.textContent = state; };
  const cell = (row, text) => { const td = document.createElement('td'); td.textContent = text; row.appendChild(td); return td; };
  const emptyRow = (tbody, columns, text) => {
    const row = document.createElement('tr'); const td = cell(row, text); td.colSpan = columns; td.className = 'muted'; tbody.appendChild(row);
  };

  async function getJson(url) {
    const response = await fetch(url, { credentials: 'same-origin', cache: 'no-store' });
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return response.json();
  }

  function setMode(mode) {
    model.mode = mode;
    const el = $('connection');
    el.dataset.mode = mode;
    el.textContent = mode === 'live' ? 'live (SSE)' : mode === 'polling' ? `polling every ${POLL_MS / 1000} s` : mode;
  }

  // ---- training card ----------------------------------------------------------------------------
  function renderTraining(view) {
    model.training = view;
    model.trainingReceivedAt = Date.now();
    setBadge('training-state', view.state);
    const doc = view.status.document;
    const problem = $('training-problem');
    const fileState = view.status.state;
    if (fileState !== 'ok') {
      problem.hidden = false;
      problem.textContent = `${view.status.file}: ${fileState}${view.status.error ? ' – ' + view.status.error : ''}`;
    } else {
      problem.hidden = true;
    }
    setText('training-epoch', doc ? `${doc.current_epoch} / ${doc.total_epochs}` : '–');
    setText('training-step', doc ? (doc.total_steps ? `${doc.step} / ${doc.total_steps}` : String(doc.step)) : '–');
    setText('training-loss', doc ? num(doc.loss) : '–');
    setText('training-accuracy', doc ? pct(doc.accuracy) : '–');
    setText('training-throughput', doc ? num(doc.samples_per_sec, 3) : '–');
    setText('training-eta', doc && doc.eta_seconds !== null && doc.eta_seconds !== undefined ? duration(doc.eta_seconds) : '–');
    setText('training-device', doc && doc.device ? doc.device : '–');
    setText('training-run', doc && doc.run_id ? doc.run_id : '–');
    tickHeartbeat();
  }

  function tickHeartbeat() {
    const view = model.training;
    if (!view || view.heartbeat_age_seconds === null || view.heartbeat_age_seconds === undefined) { setText('training-heartbeat', '–'); return; }
    const age = view.heartbeat_age_seconds + (Date.now() - model.trainingReceivedAt) / 1000;
    setText('training-heartbeat', `${duration(age)} ago`);
  }

  // ---- loss / accuracy charts -------------------------------------------------------------------
  let lossChart = null;
  let accuracyChart = null;
  let chartsDirty = false;

  function smooth(values, weight) {
    // TensorBoard-style exponential moving average with debiasing; gaps (null) stay gaps.
    if (weight <= 0) return values;
    let last = 0, n = 0;
    return values.map((v) => {
      if (v === null || v === undefined || !Number.isFinite(v)) return null;
      last = last * weight + (1 - weight) * v; n++;
      return last / (1 - Math.pow(weight, n));
    });
  }

  function chartWidth(id) { return Math.max(300, $(id).clientWidth || 600); }

  function makeChart(id, title, series, yScale) {
    const el = $(id);
    el.replaceChildren();
    const options = {
      title, width: chartWidth(id), height: 240,
      scales: { x: { time: true }, y: yScale },
      series: [{}].concat(series.map(([label, stroke]) => ({ label, stroke, width: 1.5, spanGaps: true }))),
      axes: [{}, {}],
    };
    return new uPlot(options, [[], ...series.map(() => [])], el);
  }

  function buildCharts() {
    const log = $('log-scale').checked;
    lossChart = makeChart('loss-chart', 'Loss', [['train loss', '#2563eb'], ['val loss', '#dc2626']], log ? { distr: 3 } : { auto: true });
    accuracyChart = makeChart('accuracy-chart', 'Accuracy', [['train accuracy', '#16a34a'], ['val accuracy', '#9333ea']], { auto: true });
    chartsDirty = true;
  }

  function drawCharts() {
    if (!chartsDirty || !lossChart) return;
    chartsDirty = false;
    const weight = Number($('smoothing').value);
    const records = model.metrics;
    const x = records.map((r) => Date.parse(r.time) / 1000);
    const log = $('log-scale').checked;
    const positive = (values) => (log ? values.map((v) => (v !== null && v > 0 ? v : null)) : values);
    const field = (name) => records.map((r) => (r[name] === undefined ? null : r[name]));
    lossChart.setData([x, positive(smooth(field('train_loss'), weight)), positive(smooth(field('val_loss'), weight))]);
    accuracyChart.setData([x, smooth(field('train_accuracy'), weight), smooth(field('val_accuracy'), weight)]);
    setText('metrics-count', `${model.metricsTotal} records`);
  }

  function scheduleDraw() { chartsDirty = true; requestAnimationFrame(drawCharts); }

  async function loadMetrics() {
    const view = await getJson('api/metrics?max_points=2000');
    model.metrics = view.records;
    model.metricsTotal = view.total;
    scheduleDraw();
  }

  function appendMetrics(delta) {
    if (delta.reset) { loadMetrics().catch(reportError); return; }
    const last = model.metrics.length ? model.metrics[model.metrics.length - 1].time : null;
    model.metrics = model.metrics.concat(delta.records);
    // uPlot needs ascending x; a resumed run can append records older than the newest shown.
    if (last !== null && delta.records.length && Date.parse(delta.records[0].time) < Date.parse(last)) {
      model.metrics.sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
    }
    model.metricsTotal = delta.total;
    if (model.metrics.length > 4000) model.metrics = model.metrics.slice(-4000);
    scheduleDraw();
  }

  // ---- market chart -----------------------------------------------------------------------------
  let marketChart = null;
  function renderMarket(view) {
    setBadge('market-state', view.state);
    const doc = view.document;
    setText('market-symbol', doc ? `${doc.symbol}${doc.source ? ' (' + doc.source + ')' : ''}` : '');
    if (!marketChart) {
      const el = $('market-chart');
      marketChart = new uPlot({
        title: 'Close and predicted P(up)', width: chartWidth('market-chart'), height: 260,
        scales: { x: { time: true }, p: { range: [0, 1] } },
        series: [{}, { label: 'close', stroke: '#0f766e', width: 1.5 }, { label: 'P(up)', stroke: '#f59e0b', width: 1, scale: 'p', spanGaps: true }],
        axes: [{}, {}, { scale: 'p', side: 1, grid: { show: false } }],
      }, [[], [], []], el);
    }
    if (!doc) { marketChart.setData([[], [], []]); return; }
    const predictions = new Map(doc.predictions.map((p) => [Date.parse(p.time), p.probability_up]));
    const bars = doc.bars;
    marketChart.setData([
      bars.map((b) => Date.parse(b.time) / 1000),
      bars.map((b) => b.close),
      bars.map((b) => (predictions.has(Date.parse(b.time)) ? predictions.get(Date.parse(b.time)) : null)),
    ]);
  }

  // ---- processes, resources, events -------------------------------------------------------------
  function renderProcesses(view) {
    document.dispatchEvent(new CustomEvent('stability:processes', { detail: view }));
    const tbody = $('processes').tBodies[0];
    tbody.replaceChildren();
    if (view.services.length === 0) { emptyRow(tbody, 10, 'no services yet'); return; }
    for (const p of view.services) {
      const row = document.createElement('tr');
      row.dataset.service = p.name;
      cell(row, p.name);
      const state = cell(row, ''); const badge = document.createElement('span'); badge.className = 'badge'; badge.dataset.state = p.state; badge.textContent = p.state; state.appendChild(badge);
      cell(row, p.pid ? String(p.pid) : '–');
      cell(row, duration(p.uptime_seconds));
      cell(row, String(p.restarts));
      cell(row, num(p.cpu_percent, 3));
      cell(row, num(p.memory_mb, 4));
      cell(row, p.gpu_memory_mb === null || p.gpu_memory_mb === undefined ? '–' : num(p.gpu_memory_mb, 4));
      cell(row, p.heartbeat_age_seconds === null || p.heartbeat_age_seconds === undefined ? '–' : `${duration(p.heartbeat_age_seconds)} ago`);
      // A Slurm service: its job, node and why it waits, from the state directory (the dashboard never calls Slurm: the
      // state and reason are what the last command that asked Slurm recorded, so they say when).
      cell(row, [slurmText(p.slurm), p.error_message || p.file_error || (p.file_state !== 'ok' ? p.file_state : '')].filter(Boolean).join('; '));
      tbody.appendChild(row);
    }
  }

  function slurmText(job) {
    if (!job) return '';
    const seen = job.observed_at ? `, as of ${new Date(job.observed_at).toLocaleTimeString()}` : '';
    if (job.reason) return `Slurm job ${job.job_id} pending: ${job.reason}${seen}`;
    if (job.state && job.state !== 'RUNNING') return `Slurm job ${job.job_id} ${job.state.toLowerCase()}${job.node ? ` on ${job.node}` : ''}${seen}`;
    return `Slurm job ${job.job_id}${job.node ? ` on ${job.node}` : ' (not running: queued, or ended)'}`;
  }

  function renderResources(view) {
    setBadge('resources-state', view.state);
    const gpus = $('gpus').tBodies[0];
    gpus.replaceChildren();
    if (view.devices.length === 0) emptyRow(gpus, 6, 'no GPU reported (training runs on CPU)');
    for (const d of view.devices) {
      const row = document.createElement('tr');
      [String(d.index), d.name || '–', num(d.memory_used_mb, 6), num(d.memory_total_mb, 6), num(d.utilization_percent, 3), num(d.temperature_c, 3)].forEach((t) => cell(row, t));
      gpus.appendChild(row);
    }
    const quotas = $('quotas').tBodies[0];
    quotas.replaceChildren();
    if (view.quotas.length === 0) emptyRow(quotas, 5, 'no quotas');
    for (const q of view.quotas) {
      const row = document.createElement('tr');
      [q.service, q.device === null || q.device === undefined ? 'any' : String(q.device), num(q.memory_mb, 6), q.used_mb === null || q.used_mb === undefined ? '–' : num(q.used_mb, 6), q.action].forEach((t) => cell(row, t));
      quotas.appendChild(row);
    }
  }

  function addEvents(view) {
    if (view.events.some((e) => e.seq > model.lastEventSeq)) document.dispatchEvent(new CustomEvent('stability:events', { detail: view }));
    const list = $('events');
    for (const e of view.events) {
      if (e.seq <= model.lastEventSeq) continue;
      model.lastEventSeq = e.seq;
      const item = document.createElement('li');
      item.dataset.severity = e.severity;
      const time = document.createElement('time'); time.dateTime = e.time; time.textContent = new Date(e.time).toLocaleTimeString();
      item.appendChild(time);
      item.appendChild(document.createTextNode(`${e.service ? e.service + ': ' : ''}${e.type} – ${e.message}`));
      list.insertBefore(item, list.firstChild);
    }
    while (list.children.length > MAX_EVENTS) list.removeChild(list.lastChild);
  }

  async function loadEvents() { addEvents(await getJson(`api/events?since_seq=${model.lastEventSeq}&limit=200`)); }

  async function loadSelf() {
    const status = await getJson('api/status');
    const d = status.dashboard;
    setText('server-time', new Date(status.server_time).toLocaleString());
    setText('dashboard-self', `dashboard ${d.name} · ${d.watch_mode} · ${d.active_connections} connections · ${d.stream_clients} streams · ` +
      `latency p50 ${d.request_latency_p50_ms} ms, p95 ${d.request_latency_p95_ms} ms · update lag p50 ${d.update_lag_p50_ms} ms · errors ${d.error_count}`);
    return status;
  }

  function reportError(error) { console.warn(error); }

  // ---- live updates: SSE, with polling as the fallback ------------------------------------------
  let source = null;
  let pollTimer = null;
  let failures = 0;

  function startStream() {
    if (typeof EventSource === 'undefined') { startPolling(); return; }
    source = new EventSource('api/stream');
    source.addEventListener('open', () => { failures = 0; stopPolling(); setMode('live'); });
    source.addEventListener('hello', () => { loadMetrics().catch(reportError); loadEvents().catch(reportError); });
    source.addEventListener('training', (e) => renderTraining(JSON.parse(e.data)));
    source.addEventListener('processes', (e) => renderProcesses(JSON.parse(e.data)));
    source.addEventListener('market', (e) => renderMarket(JSON.parse(e.data)));
    source.addEventListener('resources', (e) => renderResources(JSON.parse(e.data)));
    source.addEventListener('metrics', (e) => appendMetrics(JSON.parse(e.data)));
    source.addEventListener('events', (e) => addEvents(JSON.parse(e.data)));
    source.addEventListener('error', () => {
      // EventSource reconnects by itself after a dropped stream, but gives up for good on an error answer
      // (503 at the stream cap, 401): then, or after repeated drops, poll instead and try the stream later.
      if (source.readyState === EventSource.CLOSED || ++failures >= 3) {
        source.close(); source = null;
        startPolling();
        setTimeout(startStream, SSE_RETRY_MS);
      }
    });
  }

  async function pollOnce() {
    try {
      const [status, processes, market, resources] = await Promise.all([
        loadSelf(), getJson('api/processes'), getJson('api/market'), getJson('api/resources')]);
      renderTraining(status.training);
      renderProcesses(processes);
      renderMarket(market);
      renderResources(resources);
      await Promise.all([loadEvents(), loadMetrics()]);
      if (model.mode !== 'live') setMode('polling');
    } catch (error) {
      if (model.mode !== 'live') setMode('offline');
      reportError(error);
    }
  }

  function startPolling() {
    if (pollTimer) return;
    setMode('polling');
    pollOnce();
    pollTimer = setInterval(pollOnce, POLL_MS);
  }

  function stopPolling() { if (pollTimer) { clearInterval(pollTimer); pollTimer = null; } }

  // ---- start ------------------------------------------------------------------------------------
  // Counted where tests (and people with devtools) can see them: a CSP violation means a broken page.
  document.addEventListener('securitypolicyviolation', (e) => {
    document.body.dataset.cspViolations = String(Number(document.body.dataset.cspViolations || 0) + 1);
    console.warn('CSP violation', e.violatedDirective, e.blockedURI);
  });

  function start() {
    buildCharts();
    $('smoothing').addEventListener('input', () => { setText('smoothing-value', Number($('smoothing').value).toFixed(2)); scheduleDraw(); });
    $('log-scale').addEventListener('change', () => { buildCharts(); drawCharts(); });
    window.addEventListener('resize', () => {
      for (const [chart, id] of [[lossChart, 'loss-chart'], [accuracyChart, 'accuracy-chart'], [marketChart, 'market-chart']]) {
        if (chart) chart.setSize({ width: chartWidth(id), height: chart.height });
      }
    });
    setInterval(tickHeartbeat, 1000);
    setInterval(() => loadSelf().catch(reportError), 10000);
    loadSelf().catch(reportError);
    startStream();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
})();
