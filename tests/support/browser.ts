// The one way the suites start a browser: headless Chromium driven by playwright-core, never a browser
// downloaded by Playwright. Found, in order: CHROMIUM_PATH, a system Chromium (Debian's `chromium`),
// or the Chromium shipped in the npm package @sparticuz/chromium when it is installed
// (`npm install --no-save @sparticuz/chromium`), which unpacks itself and its libraries into /tmp.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const SYSTEM_CHROMIUMS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

// Flags that keep the browser from reaching the network on its own.
const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];

interface Sparticuz {
  executablePath(): Promise<string>;
}

async function chromiumPath(): Promise<string> {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return fromEnv;
  const system = SYSTEM_CHROMIUMS.find((candidate) => existsSync(candidate));
  if (system) return system;
  // Not a dependency of the project: its name is a variable so that type-checking never needs it.
  const packageName = '@sparticuz/chromium';
  try {
    const loaded = (await import(packageName)) as { default: Sparticuz };
    return await loaded.default.executablePath();
  } catch (error) {
    throw new Error(
      'No Chromium found: set CHROMIUM_PATH, `apt-get install -y chromium`, or `npm install --no-save @sparticuz/chromium` ' +
        `(${(error as Error).message})`,
    );
  }
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: await chromiumPath(), headless: true, args: CHROMIUM_ARGS });
}
