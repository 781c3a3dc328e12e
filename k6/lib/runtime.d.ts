// Globals that k6's JavaScript runtime provides but @types/k6 does not declare. The scripts are
// type-checked without the DOM and Node libraries on purpose, so these few are spelled out here.

declare var console: {
  log(...values: unknown[]): void;
  info(...values: unknown[]): void;
  warn(...values: unknown[]): void;
  error(...values: unknown[]): void;
  debug(...values: unknown[]): void;
};

// The standard end-of-test text summary, which k6 publishes as a remote jslib module.
declare module 'https://jslib.k6.io/k6-summary/0.1.0/index.js' {
  export function textSummary(data: unknown, options?: { indent?: string; enableColors?: boolean }): string;
}
