import { inject } from 'vitest';
import { stackKeys } from '../../stack/keys.ts';

/** Where the stack under test lives: the names `supabase status -o env` prints. */
export interface StackEnv {
  API_URL: string;
  ANON_KEY: string;
  SERVICE_ROLE_KEY: string;
  DB_URL: string;
  JWT_SECRET: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    stackEnv: StackEnv;
  }
}

const REQUIRED = ['API_URL', 'ANON_KEY', 'SERVICE_ROLE_KEY', 'DB_URL'] as const;

/** The stack the environment names, or undefined when any of the required names is missing. */
export function fromProcessEnv(): StackEnv | undefined {
  const env = process.env;
  if (!REQUIRED.every((name) => env[name])) return undefined;
  return {
    API_URL: env.API_URL!,
    ANON_KEY: env.ANON_KEY!,
    SERVICE_ROLE_KEY: env.SERVICE_ROLE_KEY!,
    DB_URL: env.DB_URL!,
    // The local stack's default; a real project's secret must be given to run the forgery tests.
    JWT_SECRET: stackKeys(env).jwtSecret,
  };
}

let cached: StackEnv | undefined;

/**
 * Inside vitest the global setup decides (its own isolated stack, or the one named by the
 * environment) and hands the values over with provide/inject, which reaches every worker
 * whatever the pool. Outside vitest (scripts such as the data generator) the environment decides.
 */
export function stackEnv(): StackEnv {
  if (cached) return cached;
  const provided = process.env.VITEST ? inject('stackEnv') : undefined;
  cached = provided ?? fromProcessEnv();
  if (!cached) {
    throw new Error(
      `No stack to talk to: set ${REQUIRED.join(', ')} (e.g. from \`npm run status -- -o env\`) or run under vitest.`,
    );
  }
  return cached;
}
