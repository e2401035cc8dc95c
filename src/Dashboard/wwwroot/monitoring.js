// StabilityTools dashboard page, monitoring panels (issue #24): each service's CPU, memory and GPU memory over its run
// (/api/system-metrics), restarts, failures, hangs and limit events over a window (/api/errors), and a log panel that
// tails, filters and follows a service's captured output (/api/logs). app.js tells these panels which services exist
// (the 'stability:processes' event) and when events arrive ('stability:events'); nothing else is shared.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const SYSTEM_REFRESH_MS = 10000;   // the supervisor samples once per heartbeat (5 s by default)
  const ERRORS_REFRESH_MS = 60000;   // the buckets slide with time even without new events
  const ERRORS_THROTTLE_MS = 3000;
  const LOG_POLL_MS = 2000;
  const LOG_TAIL = 200;
  const LOG_KEEP = 1000;

  async function fetchJson(url) {
    const response = await fetch(url, { credentials: 'same-origin', cache: 'no-store' });
    if (!response.ok) {
      // A problem document says what was wrong (a 400 names the parameter); show it rather than a bare status.
      let detail = `HTTP ${response.status}`;
      try {
        const problem = await response.json();
        detail = problem.errors ? Object.values(problem.errors).flat().join(' ') : problem.detail || problem.title || detail;
      } catch { /* not JSON */ }
      throw new Error(detail);
    }
    return response.json();
  }

  const query = (params) => Object.entries(params).filter(([, v]) => v !== '' && v !== null && v !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  const width = (id) => Math.max(300, $(id).clientWidth || 600);

  // ---- which services: the selects follow the processes table ------------------------------------
  let serviceNames = [];
  let preferred = '';

  function fillSelect(select, names, allLabel) {
    const current = select.value;
    select.replaceChildren();
    if (allLabel !== undefined) select.add(new Option(allLabel, ''));
    else if (names.length === 0) select.add(new Option('no services yet', ''));
    for (const name of names) select.add(new Option(name, name));
    select.value = names.includes(current) || (allLabel !== undefined && current === '') ? current : (allLabel !== undefined ? '' : preferred);
  }

  document.addEventListener('stability:processes', (e) => {
    const services = e.detail.services;
    const names = services.map((s) => s.name).sort();
    if (names.join('\n') === serviceNames.join('\n')) return;
    serviceNames = names;
    // The trainer first: its run's history is what sits beside loss and accuracy.
    const trainer = services.find((s) => s.kind === 'training') || services[0];
    preferred = trainer ? trainer.name : '';
    const systemBefore = $('system-service').value;
    const logsBefore = $('logs-service').value;
    fillSelect($('system-service'), names);
    fillSelect($('errors-service'), names, 'all');
    fillSelect($('logs-service'), names);
    if ($('system-service').value !== systemBefore) loadSystem();
    if ($('logs-service').value !== logsBefore) loadLogs();
  });

  // ---- system metrics ---------------------------------------------------------------------------
  let systemChart = null;

  function buildSystemChart() {
    systemChart = new uPlot({
      title: 'CPU, memory and GPU memory', width: width('system-chart'), height: 240,
      scales: { x: { time: true }, pct: { auto: true, range: (u, min, max) => [0, Math.max(100, max)] }, mb: { auto: true, range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
      series: [{},
        { label: 'CPU %', stroke: '#2563eb', width: 1.5, scale: 'pct', spanGaps: false },
        { label: 'memory MB', stroke: '#16a34a', width: 1.5, scale: 'mb', spanGaps: false },
        { label: 'GPU memory MB', stroke: '#9333ea', width: 1.5, scale: 'mb', spanGaps: false }],
      axes: [{}, { scale: 'pct', label: '% of a core' }, { scale: 'mb', side: 1, grid: { show: false }, label: 'MB' }],
    }, [[], [], [], []], $('system-chart'));
  }

  async function loadSystem() {
    const service = $('system-service').value;
    if (!service) { systemChart.setData([[], [], [], []]); $('system-count').textContent = ''; return; }
    try {
      const view = await fetchJson(`api/system-metrics?${query({ service, max_points: 600 })}`);
      const points = view.points;
      systemChart.setData([
        points.map((p) => Date.parse(p.time) / 1000),
        points.map((p) => p.cpu_percent),
        points.map((p) => p.memory_mb),
        points.map((p) => (p.gpu_memory_mb === null || p.gpu_memory_mb === undefined ? null : p.gpu_memory_mb)),
      ]);
      const samples = points.reduce((n, p) => n + p.samples, 0);
      $('system-count').textContent = points.length
        ? `${samples} samples${view.run_id ? ` of run ${view.run_id}` : ''}, peak memory ${Math.max(...points.map((p) => p.memory_max_mb)).toFixed(0)} MB`
        : 'no samples yet';
    } catch (error) {
      $('system-count').textContent = `system metrics: ${error.message}`;
    }
  }

  // ---- errors chart -----------------------------------------------------------------------------
  let errorsChart = null;
  let errorsTimer = null;
  const ERROR_SERIES = [['restarts', 'restarts', '#f59e0b'], ['failures', 'failures', '#dc2626', [5, 3]], ['hangs', 'hangs', '#9333ea'], ['limit_events', 'limit events', '#2563eb']];

  function buildErrorsChart() {
    const stepped = uPlot.paths && uPlot.paths.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined;
    errorsChart = new uPlot({
      title: 'Restarts, failures, hangs and limit events', width: width('errors-chart'), height: 220,
      scales: { x: { time: true }, y: { auto: true, range: (u, min, max) => [0, Math.max(1, max)] } },
      // A dashed failures line keeps a restart under it visible (every crash is both).
      series: [{}].concat(ERROR_SERIES.map(([, label, stroke, dash]) => ({ label, stroke, dash, width: 1.5, paths: stepped, points: { show: false } }))),
      axes: [{}, { label: 'per bucket' }],
    }, [[], [], [], [], []], $('errors-chart'));
  }

  async function loadErrors() {
    try {
      const view = await fetchJson(`api/errors?${query({ window: $('errors-window').value, service: $('errors-service').value })}`);
      const buckets = view.buckets;
      // Each count drawn over its bucket: the last step is closed at the window's end.
      const x = buckets.map((b) => Date.parse(b.start) / 1000);
      if (x.length) x.push(x[x.length - 1] + view.bucket_seconds);
      errorsChart.setData([x].concat(ERROR_SERIES.map(([key]) => {
        const values = buckets.map((b) => b[key]);
        return values.concat(values.length ? [values[values.length - 1]] : []);
      })));
      const totals = $('errors-totals');
      totals.replaceChildren(...ERROR_SERIES.map(([key, label]) => {
        const span = document.createElement('span'); span.dataset.kind = key; span.textContent = `${label}: ${view.totals[key]}`; return span;
      }), Object.assign(document.createElement('span'), { textContent: `fatal: ${view.totals.fatal}` }));
    } catch (error) {
      $('errors-totals').textContent = `errors: ${error.message}`;
    }
  }

  document.addEventListener('stability:events', () => {
    // A burst of events (a restart storm) redraws once per few seconds, not once per event.
    if (errorsTimer) return;
    errorsTimer = setTimeout(() => { errorsTimer = null; loadErrors(); }, ERRORS_THROTTLE_MS);
  });

  // ---- log panel --------------------------------------------------------------------------------
  const log = { lines: [], offset: null, generation: 0, busy: false };

  function logParams() {
    return { service: $('logs-service').value, stream: $('logs-stream').value, pattern: $('logs-filter').value, case_sensitive: $('logs-case').checked ? 1 : '' };
  }

  function setLogState(state, text) { const el = $('logs-state'); el.dataset.state = state; el.textContent = text; }

  function showLogProblem(text) { const el = $('logs-problem'); el.hidden = !text; el.textContent = text || ''; }

  function renderLog() {
    const pre = $('logs');
    const atBottom = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 24;
    pre.replaceChildren(...log.lines.map((line) => {
      if (typeof line === 'string') return document.createTextNode(line + '\n');
      const marker = document.createElement('span'); marker.className = 'marker'; marker.textContent = line.marker + '\n'; return marker;
    }));
    if (atBottom) pre.scrollTop = pre.scrollHeight;
    const shown = log.lines.filter((l) => typeof l === 'string').length;
    const pattern = $('logs-filter').value;
    $('logs-count').textContent = `${shown} lines${pattern ? ` matching /${pattern}/` : ''}`;
  }

  function validPattern(pattern) {
    // Checked here first, so a half-typed expression costs no request; the server checks again (.NET syntax).
    try { new RegExp(pattern); return null; } catch (error) { return error.message; }
  }

  async function loadLogs() {
    const params = logParams();
    const generation = ++log.generation;
    log.offset = null;
    if (!params.service) { log.lines = []; renderLog(); setLogState('unknown', 'idle'); return; }
    const bad = params.pattern ? validPattern(params.pattern) : null;
    if (bad) { showLogProblem(`Filter: ${bad}`); setLogState('failed', 'bad filter'); return; }
    try {
      const view = await fetchJson(`api/logs?${query({ ...params, tail: LOG_TAIL })}`);
      if (generation !== log.generation) return;
      log.lines = view.lines.slice();
      log.offset = view.next_offset;
      showLogProblem('');
      setLogState($('logs-live').checked ? 'running' : 'ok', $('logs-live').checked ? 'live' : 'paused');
      renderLog();
    } catch (error) {
      if (generation !== log.generation) return;
      showLogProblem(`${params.service} ${params.stream}: ${error.message}`);
      setLogState('failed', 'error');
    }
  }

  async function followLogs() {
    if (!$('logs-live').checked || document.hidden || log.offset === null || log.busy) return;
    const params = logParams();
    const generation = log.generation;
    log.busy = true;
    try {
      const view = await fetchJson(`api/logs?${query({ ...params, tail: LOG_KEEP, after: log.offset })}`);
      if (generation !== log.generation) return;
      if (view.restarted) log.lines.push({ marker: '— the log was rotated; this is the new file —' });
      if (view.skipped_bytes > 0) log.lines.push({ marker: `— ${view.skipped_bytes} bytes skipped to keep up —` });
      log.offset = view.next_offset;
      if (view.lines.length === 0 && !view.restarted && !view.skipped_bytes) return;
      log.lines.push(...view.lines);
      if (log.lines.length > LOG_KEEP) log.lines = log.lines.slice(-LOG_KEEP);
      showLogProblem('');
      renderLog();
    } catch (error) {
      if (generation === log.generation) { showLogProblem(`${params.service} ${params.stream}: ${error.message}`); setLogState('failed', 'error'); }
    } finally {
      log.busy = false;
    }
  }

  // ---- start ------------------------------------------------------------------------------------
  function start() {
    buildSystemChart();
    buildErrorsChart();
    $('system-service').addEventListener('change', loadSystem);
    $('errors-window').addEventListener('change', loadErrors);
    $('errors-service').addEventListener('change', loadErrors);
    let filterTimer = null;
    $('logs-filter').addEventListener('input', () => { clearTimeout(filterTimer); filterTimer = setTimeout(loadLogs, 400); });
    for (const id of ['logs-service', 'logs-stream', 'logs-case']) $(id).addEventListener('change', loadLogs);
    $('logs-live').addEventListener('change', () => {
      if ($('logs-live').checked) loadLogs(); else setLogState('ok', 'paused');
    });
    window.addEventListener('resize', () => {
      systemChart.setSize({ width: width('system-chart'), height: systemChart.height });
      errorsChart.setSize({ width: width('errors-chart'), height: errorsChart.height });
    });
    setInterval(loadSystem, SYSTEM_REFRESH_MS);
    setInterval(loadErrors, ERRORS_REFRESH_MS);
    setInterval(followLogs, LOG_POLL_MS);
    loadErrors();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
})();
