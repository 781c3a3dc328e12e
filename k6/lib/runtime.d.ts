// Globals that k6's JavaScript runtime provides but @types/k6 does not declare. The scripts are
// type-checked without the DOM and Node libraries on purpose, so these few are spelled out here.

declare var console: {
  log(...values: unknown[]): void;
  info(...values: unknown[]): void;
  warn(...values: unknown[]): void;
  error(...values: unknown[]): void;
  debug(...values: unknown[]): void;
};

