import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

// Flags that keep a browser from reaching the network or asking for a display.
const OFFLINE_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

const SYSTEM_BROWSERS = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function systemBrowser(): string | undefined {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const name of SYSTEM_BROWSERS) {
    for (const dir of dirs) {
      const file = path.join(dir, name);
      if (executable(file)) return file;
    }
  }
  return undefined;
}

/**
 * A headless Chromium for browser tests, never downloaded at run time. In order: `CHROMIUM_PATH`, a
 * Chromium or Chrome on `PATH`, then the Chromium that the `@sparticuz/chromium` devDependency carries
 * inside its npm tarball (unpacked once to the OS's temporary folder), so `npm ci && npm test` needs
 * nothing from apt.
 */
export async function launchChromium(): Promise<Browser> {
  const chosen = process.env.CHROMIUM_PATH || systemBrowser();
  if (chosen) {
    if (!executable(chosen)) throw new Error(`CHROMIUM_PATH=${chosen} is not an executable file`);
    return chromium.launch({ executablePath: chosen, headless: true, args: OFFLINE_ARGS });
  }
  // Imported only when needed: unpacking its brotli archives takes a few seconds the first time.
  const { default: packaged } = await import('@sparticuz/chromium');
  return chromium.launch({
    executablePath: await packaged.executablePath(),
    headless: true,
    args: [...packaged.args, ...OFFLINE_ARGS],
  });
}
