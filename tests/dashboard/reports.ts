import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { checkCriteria, loadSummaryProblems, summariesIn, type CriterionCheck, type CriterionName, type LoadSummary } from './load_summary.ts';

/** The part of vitest's JSON reporter output (Jest's format) the dashboard reads. */
interface VitestReport {
  startTime: number;
  testResults: {
    name: string;
    status: string;
    message: string;
    startTime?: number;
    endTime?: number;
    assertionResults: {
      fullName: string;
      status: 'passed' | 'failed' | 'skipped' | 'pending' | 'todo' | 'disabled';
      duration?: number | null;
      failureMessages: string[];
    }[];
  }[];
}

export interface SuiteFailure {
  test: string;
  file: string;
  message: string;
}

export interface SuiteSummary {
  /** The folder under tests/ the files live in: what the tests prove (database, functions, ...). */
  name: string;
  status: 'passed' | 'failed' | 'skipped';
  run_started_at: string;
  report_file: string;
  files: number;
  passed: number;
  failed: number;
  skipped: number;
  duration_ms: number;
  failures: SuiteFailure[];
}

export interface LoadRunView {
  file: string;
  summary: LoadSummary;
  checks: Record<CriterionName, CriterionCheck>;
  pass: boolean;
}

export interface ReportsView {
  generated_at: string;
  reports_dir: string;
  suites: SuiteSummary[];
  load_runs: LoadRunView[];
  /** Files that could not be read or do not have the documented shape: shown, never silently skipped. */
  problems: { file: string; problem: string }[];
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: an ANSI colour code starts with ESC, which is what this strips
const ANSI = /\u001b\[[0-9;]*m/g;

function firstLines(message: string): string {
  const text = message.replace(ANSI, '').trim();
  const lines = text.split('\n').filter((line) => !/^\s+at /.test(line));
  const short = lines.slice(0, 6).join('\n');
  return short.length > 600 ? `${short.slice(0, 599)}…` : short;
}

export function suiteOf(file: string): string {
  const parts = file.split(/[\\/]/);
  const at = parts.lastIndexOf('tests');
  if (at === -1 || at >= parts.length - 1) return path.basename(file);
  return at === parts.length - 2 ? path.basename(file).replace(/\.test\.[cm]?[jt]s$/, '') : parts[at + 1]!;
}

/** The suites of one vitest report, each file grouped under the folder it lives in. */
export function summariseVitest(report: VitestReport, reportFile: string): SuiteSummary[] {
  const suites = new Map<string, SuiteSummary>();
  for (const file of report.testResults) {
    const name = suiteOf(file.name);
    let suite = suites.get(name);
    if (!suite) {
      suite = {
        name,
        status: 'skipped',
        run_started_at: new Date(report.startTime).toISOString(),
        report_file: reportFile,
        files: 0,
        passed: 0,
        failed: 0,
        skipped: 0,
        duration_ms: 0,
        failures: [],
      };
      suites.set(name, suite);
    }
    suite.files += 1;
    if (file.startTime !== undefined && file.endTime !== undefined) suite.duration_ms += file.endTime - file.startTime;
    const relative = file.name.includes(`${path.sep}tests${path.sep}`)
      ? file.name.slice(file.name.lastIndexOf(`${path.sep}tests${path.sep}`) + 1)
      : file.name;
    for (const test of file.assertionResults) {
      if (test.status === 'passed') suite.passed += 1;
      else if (test.status === 'failed') {
        suite.failed += 1;
        suite.failures.push({ test: test.fullName, file: relative, message: firstLines(test.failureMessages.join('\n')) });
      } else suite.skipped += 1;
    }
    // A file that failed before any test ran (an import error, a failing beforeAll) has no
    // assertion results, only its message: it is a failure all the same.
    if (file.status === 'failed' && !file.assertionResults.some((test) => test.status === 'failed')) {
      suite.failed += 1;
      suite.failures.push({ test: `${relative} (file)`, file: relative, message: firstLines(file.message || 'failed') });
    }
  }
  for (const suite of suites.values()) {
    suite.status = suite.failed > 0 ? 'failed' : suite.passed > 0 ? 'passed' : 'skipped';
  }
  return [...suites.values()];
}

async function readJson(file: string): Promise<unknown> {
  return JSON.parse(await readFile(file, 'utf8'));
}

async function listJson(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((name) => name.endsWith('.json')).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/**
 * Reads reports/vitest*.json (vitest.json from `npm test`; any vitest-<name>.json from a partial run
 * written with --outputFile.json) and reports/load/*.json. For each suite the latest run that
 * contains it wins, so running one folder again updates that suite and keeps the others.
 */
export async function readReports(reportsDir: string): Promise<ReportsView> {
  const problems: ReportsView['problems'] = [];
  const latest = new Map<string, SuiteSummary>();
  for (const name of (await listJson(reportsDir)).filter((n) => /^vitest([-.].*)?\.json$/.test(n))) {
    try {
      const report = (await readJson(path.join(reportsDir, name))) as VitestReport;
      if (!Array.isArray(report.testResults) || typeof report.startTime !== 'number') {
        throw new Error('not a vitest JSON report (testResults, startTime)');
      }
      for (const suite of summariseVitest(report, name)) {
        const known = latest.get(suite.name);
        if (!known || Date.parse(known.run_started_at) < Date.parse(suite.run_started_at)) latest.set(suite.name, suite);
      }
    } catch (error) {
      problems.push({ file: name, problem: (error as Error).message });
    }
  }

  const loadRuns: LoadRunView[] = [];
  const loadDir = path.join(reportsDir, 'load');
  for (const name of await listJson(loadDir)) {
    const file = `load/${name}`;
    try {
      const content = await readJson(path.join(loadDir, name));
      const summaries = summariesIn(content);
      summaries.forEach((summary: unknown, index) => {
        const wrong = loadSummaryProblems(summary);
        const label = summaries.length > 1 ? `${file}[${index}]` : file;
        if (wrong.length) {
          problems.push({ file: label, problem: wrong.join('; ') });
          return;
        }
        const checks = checkCriteria(summary as LoadSummary);
        loadRuns.push({ file: label, summary: summary as LoadSummary, checks, pass: Object.values(checks).every((c) => c.pass) });
      });
    } catch (error) {
      problems.push({ file, problem: (error as Error).message });
    }
  }
  loadRuns.sort((a, b) => Date.parse(b.summary.started_at) - Date.parse(a.summary.started_at) || a.file.localeCompare(b.file));

  return {
    generated_at: new Date().toISOString(),
    reports_dir: reportsDir,
    suites: [...latest.values()].sort((a, b) => a.name.localeCompare(b.name)),
    load_runs: loadRuns,
    problems,
  };
}
