import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startStack, type RunningStack } from '../../stack/stack.ts';
import { fromProcessEnv } from '../support/env.ts';

/**
 * Tests run against the stack the environment names (e.g. `supabase start`'s, or `npm start`'s via
 * `npm run -s status -- -o env`), else against an isolated stack of their own: a temporary data
 * folder and free ports, so a developer's running stack and its data are never touched.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = fromProcessEnv();
  if (given) {
    project.provide('stackEnv', given);
    console.log(`[global-setup] using the stack at ${given.API_URL}`);
    return async () => undefined;
  }

  const dataDir = await mkdtemp(path.join(tmpdir(), 'comings-test-stack-'));
  let stack: RunningStack;
  try {
    stack = await startStack({ dataDir, ports: 'free' });
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  console.log(
    `[global-setup] isolated stack at ${stack.apiUrl} (db ${stack.dbUrl}) started in ${stack.startupMs} ms; logs in ${dataDir}/logs`,
  );
  let broken = false;
  void stack.died.then((exit) => {
    broken = true;
    console.error(
      `[global-setup] !!! ${exit.name} died during the tests (code ${exit.code}, signal ${exit.signal}); see ${dataDir}/logs/${exit.name}.log`,
    );
  });
  project.provide('stackEnv', {
    API_URL: stack.apiUrl,
    ANON_KEY: stack.keys.anonKey,
    SERVICE_ROLE_KEY: stack.keys.serviceRoleKey,
    DB_URL: stack.dbUrl,
    JWT_SECRET: stack.keys.jwtSecret,
  });

  return async () => {
    await stack.stop();
    // A broken run keeps its logs for the post-mortem; a clean one leaves nothing behind.
    if (broken) console.error(`[global-setup] logs kept in ${dataDir}/logs`);
    else await rm(dataDir, { recursive: true, force: true });
  };
}
