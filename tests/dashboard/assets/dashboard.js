// The test dashboard's page script. It renders what tests/dashboard/server.ts answers at
// /api/reports (suites from vitest's JSON reports, load-run summaries with the seed's criteria
// already checked) and /api/live (figures from the running stack's database).
'use strict';

const REFRESH_MS = 10_000;
// A figure the run did not measure shows as "unknown" and fails its criterion.
const known = (format) => (v) => (v === null || v === undefined ? 'unknown' : format(v));
const ms = known((v) => `${v.toFixed(1)} ms`);
const CRITERIA = [
  { key: 'p95_ms', label: 'p95', limit: '< 500 ms', format: ms },
  { key: 'error_rate', label: 'errors', limit: '< 1 %', format: known((v) => `${(v * 100).toFixed(2)} %`) },
  { key: 'rps', label: 'throughput', limit: '> 100 req/s', format: known((v) => `${v.toFixed(1)} req/s`) },
  { key: 'balance_mismatches', label: 'mismatches', limit: '= 0', format: known(String) },
];

let selectedRun;
let chart;

const integer = (v) => v.toLocaleString('en-US');
const won = (v) => `₩${v.toLocaleString('en-US')}`;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'class') node.className = value;
    else if (name === 'text') node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function badge(state) {
  const text = { passed: 'PASS', pass: 'PASS', failed: 'FAIL', fail: 'FAIL', skipped: 'SKIPPED' }[state];
  const tone = { passed: 'pass', pass: 'pass', failed: 'fail', fail: 'fail', skipped: 'skip' }[state];
  return el('span', { class: `badge ${tone}`, text });
}

function renderSuites(suites) {
  const body = document.getElementById('suites-body');
  body.className = '';
  if (suites.length === 0) {
    body.replaceChildren(el('p', { class: 'muted', text: 'No vitest report yet: run npm test (it writes reports/vitest.json).' }));
    return;
  }
  const rows = [];
  for (const suite of suites) {
    rows.push(
      el('tr', { class: `suite ${suite.status}`, 'data-suite': suite.name },
        el('td', {}, el('strong', { text: suite.name })),
        el('td', { 'data-field': 'status' }, badge(suite.status)),
        el('td', { class: 'num', 'data-field': 'passed', text: String(suite.passed) }),
        el('td', { class: 'num', 'data-field': 'failed', text: String(suite.failed) }),
        el('td', { class: 'num', 'data-field': 'skipped', text: String(suite.skipped) }),
        el('td', { class: 'num', text: `${(suite.duration_ms / 1000).toFixed(1)} s` }),
        el('td', { class: 'muted small', text: `${new Date(suite.run_started_at).toLocaleString('en-GB')} · ${suite.report_file}` }),
      ),
    );
    if (suite.failures.length) {
      const list = el('ul', { class: 'failures' });
      for (const failure of suite.failures) {
        list.append(el('li', { class: 'failure', 'data-suite': suite.name },
          el('strong', { class: 'failure-test', text: failure.test }),
          el('span', { class: 'muted small', text: ` — ${failure.file}` }),
          el('pre', { class: 'failure-message', text: failure.message })));
      }
      rows.push(el('tr', { class: `suite-failures ${suite.status}` }, el('td', { colspan: '7' }, list)));
    }
  }
  body.replaceChildren(el('table', { id: 'suites-table' },
    el('thead', {}, el('tr', {},
      el('th', { text: 'suite' }), el('th', { text: 'result' }), el('th', { class: 'num', text: 'passed' }),
      el('th', { class: 'num', text: 'failed' }), el('th', { class: 'num', text: 'skipped' }),
      el('th', { class: 'num', text: 'time' }), el('th', { text: 'run' }))),
    el('tbody', {}, ...rows)));
}

function renderLoad(runs) {
  const body = document.getElementById('load-body');
  body.className = '';
  if (runs.length === 0) {
    body.replaceChildren(el('p', { class: 'muted', text: 'No load run yet: k6 and npm run bench write reports/load/*.json.' }));
    drawChart(undefined);
    return;
  }
  if (!runs.some((run) => run.file === selectedRun)) selectedRun = runs[0].file;
  const rows = runs.map((run) => {
    const s = run.summary;
    const row = el('tr', { class: `load-run ${run.pass ? 'pass' : 'fail'}`, 'data-file': run.file, 'data-scenario': s.scenario },
      el('td', {}, el('strong', { text: s.scenario }),
        el('div', { class: 'muted small', text: [s.tool, s.shape, run.file].filter(Boolean).join(' · ') })),
      el('td', { 'data-field': 'verdict' }, badge(run.pass ? 'pass' : 'fail')),
      el('td', { class: 'muted small', text: new Date(s.started_at).toLocaleString('en-GB') }),
      el('td', { class: 'num', 'data-field': 'requests', text: integer(s.requests) }),
      el('td', { class: 'num', 'data-field': 'p50_ms', text: ms(s.p50_ms) }),
      ...CRITERIA.slice(0, 1).map((c) => criterionCell(run, c)),
      el('td', { class: 'num', 'data-field': 'p99_ms', text: ms(s.p99_ms) }),
      ...CRITERIA.slice(1).map((c) => criterionCell(run, c)),
    );
    if (run.file === selectedRun) row.classList.add('selected');
    row.addEventListener('click', () => {
      selectedRun = run.file;
      for (const other of body.querySelectorAll('tr.load-run')) other.classList.toggle('selected', other === row);
      drawChart(run);
    });
    return row;
  });
  body.replaceChildren(el('table', { id: 'load-table' },
    el('thead', {}, el('tr', {},
      el('th', { text: 'scenario' }), el('th', { text: 'criteria' }), el('th', { text: 'started' }),
      el('th', { class: 'num', text: 'requests' }), el('th', { class: 'num', text: 'p50' }),
      el('th', { class: 'num', text: 'p95 (< 500 ms)' }), el('th', { class: 'num', text: 'p99' }),
      el('th', { class: 'num', text: 'errors (< 1 %)' }), el('th', { class: 'num', text: 'req/s (> 100)' }),
      el('th', { class: 'num', text: 'mismatches (0)' }))),
    el('tbody', {}, ...rows)));
  drawChart(runs.find((run) => run.file === selectedRun));
}

function criterionCell(run, criterion) {
  const check = run.checks[criterion.key];
  return el('td', {
    class: `num check ${check.pass ? 'pass' : 'fail'}`,
    'data-field': criterion.key,
    'data-pass': String(check.pass),
    title: `${criterion.label} ${criterion.limit}`,
    text: criterion.format(check.value),
  });
}

function drawChart(run) {
  const title = document.getElementById('chart-title');
  const canvas = document.getElementById('latency-chart');
  const series = run?.summary.latency_series ?? [];
  title.textContent = !run
    ? 'Latency'
    : series.length
      ? `Latency of ${run.summary.scenario} (${run.file}), ms per second of the run`
      : `Latency of ${run.summary.scenario} (${run.file}): the run wrote no latency series`;
  const data = {
    labels: series.map((p) => p.t_s),
    datasets: [
      { label: 'p50', data: series.map((p) => p.p50_ms), borderColor: '#2563eb', backgroundColor: '#2563eb', tension: 0.2 },
      { label: 'p95', data: series.map((p) => p.p95_ms), borderColor: '#f59e0b', backgroundColor: '#f59e0b', tension: 0.2 },
      { label: 'p99', data: series.map((p) => p.p99_ms), borderColor: '#7c3aed', backgroundColor: '#7c3aed', tension: 0.2 },
      { label: 'p95 limit (500 ms)', data: series.map(() => 500), borderColor: '#b91c1c', borderDash: [6, 4], pointRadius: 0 },
    ],
  };
  if (typeof Chart === 'undefined') throw new Error('chart.js did not load from /assets/chart.umd.min.js');
  if (!chart) {
    chart = new Chart(canvas, {
      type: 'line',
      data,
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: 'index', intersect: false },
        scales: {
          x: { title: { display: true, text: 'seconds since start' } },
          y: { title: { display: true, text: 'ms' }, beginAtZero: true },
        },
      },
    });
  } else {
    chart.data = data;
    chart.update();
  }
}

function renderProblems(problems) {
  const section = document.getElementById('problems');
  section.hidden = problems.length === 0;
  document.getElementById('problems-list').replaceChildren(
    ...problems.map((p) => el('li', {}, el('code', { text: p.file }), ` ${p.problem}`)));
}

function renderLive(live) {
  const body = document.getElementById('live-body');
  if (!live.available) {
    body.className = 'muted';
    body.replaceChildren(el('p', { id: 'live-unavailable', text: `No stack answering (${live.reason}). Start one with npm start.` }));
    return;
  }
  body.className = '';
  const figure = (key, label, value, tone) =>
    el('div', { class: `figure ${tone ?? ''}`, 'data-figure': key },
      el('div', { class: 'label', text: label }), el('div', { class: 'value', text: value }));
  body.replaceChildren(
    el('div', { class: 'figures' },
      figure('customers', 'customers', integer(live.customers)),
      figure('transactions', 'transactions', integer(live.transactions)),
      figure('outstanding_balance', 'total outstanding balance', won(live.outstanding_balance)),
      figure('outstanding_paid_balance', 'of which paid (liability)', won(live.outstanding_paid_balance)),
      figure('outstanding_bonus_balance', 'of which bonus', won(live.outstanding_bonus_balance)),
      figure('mismatches', 'balance mismatches', integer(live.mismatches), live.mismatches === 0 ? 'pass' : 'fail')),
    el('p', { class: 'muted small', text: `Read at ${new Date(live.checked_at).toLocaleTimeString('en-GB')}` }));
}

async function getJson(url) {
  const response = await fetch(url, { cache: 'no-store' });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

async function refresh() {
  try {
    const reports = await getJson('/api/reports');
    document.getElementById('reports-dir').textContent = reports.reports_dir;
    document.getElementById('generated-at').textContent = new Date(reports.generated_at).toLocaleTimeString('en-GB');
    renderSuites(reports.suites);
    renderLoad(reports.load_runs);
    renderProblems(reports.problems);
    document.body.dataset.state = 'ready';
  } catch (error) {
    document.body.dataset.state = 'error';
    document.getElementById('suites-body').textContent = `Could not read the reports: ${error.message}`;
  }
  try {
    renderLive(await getJson('/api/live'));
  } catch (error) {
    renderLive({ available: false, reason: error.message });
  }
  document.body.dataset.live = 'ready';
}

refresh();
setInterval(refresh, REFRESH_MS);
