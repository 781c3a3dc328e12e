import path from 'node:path';
import { PROJECT_ROOT } from './database.ts';
import { DEFAULT_PORTS, type StackPorts } from './stack.ts';

/** `npm start`'s data folder and ports, each overridable from the environment. */
export function cliStackOptions(env: NodeJS.ProcessEnv = process.env): { dataDir: string; ports: StackPorts } {
  const port = (name: string, fallback: number) => {
    const value = env[name];
    if (value === undefined || value === '') return fallback;
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < 1 || parsed > 65535) throw new Error(`${name}=${value} is not a port`);
    return parsed;
  };
  return {
    dataDir: path.resolve(env.STACK_DATA_DIR ?? path.join(PROJECT_ROOT, '.stack')),
    ports: {
      api: port('STACK_API_PORT', DEFAULT_PORTS.api),
      db: port('STACK_DB_PORT', DEFAULT_PORTS.db),
      rest: port('STACK_REST_PORT', DEFAULT_PORTS.rest),
      functions: port('STACK_FUNCTIONS_PORT', DEFAULT_PORTS.functions),
    },
  };
}
