import { readFileSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ENV_NAMES, loadConfig } from '../src/config.js';
import { QDRANT_VERIFIED_VERSION } from '../src/vectors/adapters/qdrant-index.js';

// docker-compose.yml and the Dockerfile cannot be run here (no Docker engine in CI), so this
// file checks what can drift silently: env var names against the config schema, values against
// loadConfig, and the health, ordering and pinning rules the compose file promises.

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const KNOWN_SETTINGS: ReadonlySet<string> = new Set(Object.values(ENV_NAMES));

/**
 * Env vars biovec honours that are not config keys of their own. Each needs a reason;
 * anything else set on a biovec container is a typo or a setting that does not exist.
 */
const KNOWN_EXCEPTIONS: Readonly<Record<string, string>> = {
  HF_HOME: 'loadConfig derives HF_HUB_CACHE from it ($HF_HOME/hub) as huggingface_hub does',
};
const BIOVEC_SERVICES = ['api', 'worker'] as const;
/** What biovec needs in compose: Postgres, Qdrant, and a bind address reachable from other containers. */
const REQUIRED_IN_COMPOSE = ['DATABASE_URL', 'QDRANT_URL', 'BIOVEC_HOST'];

interface Healthcheck { test?: string | string[]; disable?: boolean }
interface Service {
  image?: string;
  build?: unknown;
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | { target?: number })[];
  volumes?: (string | { source?: string; type?: string })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: Healthcheck;
}
interface ComposeFile { services: Record<string, Service>; volumes?: Record<string, unknown> }

const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as ComposeFile;
const dockerfile = parseDockerfile(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'));

/** A service's environment as compose passes it: map or `KEY=value` list; a bare `KEY` passes the host's value (undefined here). */
function environmentOf(service: Service): Record<string, string | undefined> {
  const env = service.environment;
  if (env === undefined) return {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((entry) => {
      const eq = entry.indexOf('=');
      return eq === -1 ? [entry, undefined] : [entry.slice(0, eq), entry.slice(eq + 1)];
    }));
  }
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, value === null ? undefined : String(value)]));
}

function service(name: string): Service {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service "${name}"`);
  return found;
}

/** What the container sees: the image's ENV, overridden by the compose environment. */
function containerEnv(name: string): Record<string, string | undefined> {
  return { ...dockerfile.finalStage.env, ...environmentOf(service(name)) };
}

describe('docker-compose.yml: biovec services', () => {
  it.each(BIOVEC_SERVICES)('%s sets only known biovec settings', (name) => {
    const unknown = Object.keys(environmentOf(service(name))).filter((key) => !KNOWN_SETTINGS.has(key) && !(key in KNOWN_EXCEPTIONS));
    expect(unknown, `not in ENV_NAMES of src/config.ts nor in KNOWN_EXCEPTIONS`).toEqual([]);
  });

  it.each(BIOVEC_SERVICES)('%s sets literal values (no ${...} interpolation), so this test sees what the container gets', (name) => {
    const env = environmentOf(service(name));
    for (const [key, value] of Object.entries(env)) {
      expect(value, `${key} must have a value`).toBeTypeOf('string');
      expect(value, key).not.toContain('$');
    }
  });

  it.each(BIOVEC_SERVICES)('%s sets what biovec needs in compose', (name) => {
    const env = environmentOf(service(name));
    for (const key of REQUIRED_IN_COMPOSE) expect(env[key], `${name}: ${key}`).toBeTruthy();
  });

  it.each(BIOVEC_SERVICES)('loadConfig accepts the environment of %s and selects Postgres + Qdrant', (name) => {
    const env = containerEnv(name);
    expect(() => loadConfig(env)).not.toThrow();
    const config = loadConfig(env);
    expect(config.databaseUrl).toMatch(/^postgres(ql)?:\/\/[^/]*@postgres:5432\//);
    expect(config.qdrantUrl).toMatch(/^http:\/\/qdrant:6333\/?$/);
    // Model caches and data on the volumes the service mounts, not in the container layer.
    const mounts = mountTargets(service(name));
    for (const dir of [config.hfHubCache, config.cacheDir, config.dataDir]) {
      expect(mounts.some((target) => dir === target || dir.startsWith(`${target}/`)), `${dir} is on a volume`).toBe(true);
    }
  });

  it('api binds 0.0.0.0 on the port it publishes and health-checks', () => {
    const api = service('api');
    const config = loadConfig(containerEnv('api'));
    expect(config.host).toBe('0.0.0.0');
    const published = (api.ports ?? []).map((port) => (typeof port === 'string' ? Number(port.split(':').at(-1)) : port.target));
    expect(published).toContain(config.port);
    expect(healthcheckCommand(api.healthcheck)).toContain(`127.0.0.1:${config.port}/ready`);
  });

  it('api serves and worker applies the outbox, from the same image', () => {
    expect(commandOf(service('api'))).toEqual(['serve']);
    expect(commandOf(service('worker'))).toEqual(['worker']);
    expect(service('worker').image).toBe(service('api').image);
  });

  it('worker can be scaled: no fixed container name and no published port', () => {
    const worker = service('worker') as Service & { container_name?: string };
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports ?? []).toEqual([]);
  });
});

describe('docker-compose.yml: every service', () => {
  const names = Object.keys(compose.services);

  it('has the four services', () => {
    expect(names).toEqual(expect.arrayContaining(['postgres', 'qdrant', 'api', 'worker']));
  });

  it.each(names)('%s has a healthcheck', (name) => {
    const check = service(name).healthcheck;
    expect(check?.disable).not.toBe(true);
    expect(healthcheckCommand(check).length).toBeGreaterThan(0);
  });

  it.each(names)('%s waits for its dependencies to be healthy, not just started', (name) => {
    const deps = service(name).depends_on;
    if (deps === undefined) return;
    // The list form means condition: service_started.
    expect(Array.isArray(deps), 'depends_on must be the map form with a condition').toBe(false);
    for (const [dep, spec] of Object.entries(deps as Record<string, { condition?: string }>)) {
      expect(names, `depends on unknown service ${dep}`).toContain(dep);
      expect(spec.condition, `${name} → ${dep}`).toBe('service_healthy');
    }
  });

  it('api and worker start after postgres and qdrant are healthy', () => {
    for (const name of BIOVEC_SERVICES) {
      expect(Object.keys(service(name).depends_on ?? {})).toEqual(expect.arrayContaining(['postgres', 'qdrant']));
    }
  });

  it.each(names)('%s uses an image pinned to a tag other than latest', (name) => {
    const image = service(name).image;
    expect(image, `${name} needs an image (services with build: name the image they build)`).toBeTypeOf('string');
    expect(isPinned(image!), image).toBe(true);
  });

  it('pins the Qdrant release the conformance suite was verified against', () => {
    expect(service('qdrant').image).toBe(`qdrant/qdrant:v${QDRANT_VERIFIED_VERSION}`);
  });

  it('postgres settings agree with DATABASE_URL', () => {
    const pg = environmentOf(service('postgres'));
    const url = new URL(environmentOf(service('api')).DATABASE_URL!);
    expect(decodeURIComponent(url.username)).toBe(pg.POSTGRES_USER);
    expect(decodeURIComponent(url.password)).toBe(pg.POSTGRES_PASSWORD);
    expect(url.pathname).toBe(`/${pg.POSTGRES_DB}`);
  });

  it('named volumes are declared', () => {
    const declared = Object.keys(compose.volumes ?? {});
    for (const name of names) {
      for (const volume of service(name).volumes ?? []) {
        const source = typeof volume === 'string' ? volume.split(':')[0]! : volume.source ?? '';
        const isNamed = source !== '' && !source.startsWith('.') && !source.startsWith('/') && !source.startsWith('~');
        if (isNamed) expect(declared, `${name}: volume ${source}`).toContain(source);
      }
    }
  });
});

describe('Dockerfile', () => {
  it('is multi-stage from pinned images', () => {
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of dockerfile.stages) {
      const isPreviousStage = dockerfile.stages.some((s) => s.name !== undefined && s.name === stage.from);
      if (!isPreviousStage) expect(isPinned(stage.from), stage.from).toBe(true);
    }
  });

  it('runs as a non-root user, set before the entrypoint', () => {
    const { instructions } = dockerfile.finalStage;
    const userAt = instructions.findLastIndex((i) => i.keyword === 'USER');
    const entrypointAt = instructions.findLastIndex((i) => i.keyword === 'ENTRYPOINT');
    expect(userAt, 'USER in the final stage').toBeGreaterThanOrEqual(0);
    expect(entrypointAt, 'ENTRYPOINT in the final stage').toBeGreaterThan(userAt);
    const user = instructions[userAt]!.args.split(':')[0]!.trim();
    expect(['root', '0']).not.toContain(user);
  });

  it('sets only known biovec settings with ENV, and loadConfig accepts them', () => {
    const names = Object.keys(dockerfile.finalStage.env);
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((key) => !KNOWN_SETTINGS.has(key) && !(key in KNOWN_EXCEPTIONS))).toEqual([]);
    expect(loadConfig(dockerfile.finalStage.env).host).toBe('0.0.0.0');
  });

  it('puts migrations/ where src/db/migrate.ts looks for it: two levels above dist/db/', () => {
    const dist = copiedPath('dist');
    expect(posix.join(dist, 'db', '..', '..', 'migrations')).toBe(copiedPath('migrations'));
    // package.json ("type": "module") must sit beside dist/ and bin/ for them to load as ESM.
    expect(posix.dirname(copiedPath('package.json'))).toBe(posix.dirname(dist));
    expect(posix.dirname(copiedPath('bin'))).toBe(posix.dirname(dist));
  });

  it('has a healthcheck that needs no curl', () => {
    const check = dockerfile.finalStage.instructions.find((i) => i.keyword === 'HEALTHCHECK');
    expect(check?.args).toMatch(/"node"/);
    expect(check?.args).toContain('/health');
  });
});

function commandOf(s: Service): string[] {
  return typeof s.command === 'string' ? s.command.split(/\s+/) : s.command ?? [];
}

function healthcheckCommand(check: Healthcheck | undefined): string {
  const test = check?.test;
  if (test === undefined) return '';
  if (typeof test === 'string') return test;
  return test[0] === 'NONE' ? '' : test.slice(1).join(' ');
}

function mountTargets(s: Service): string[] {
  return (s.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':')[1] ?? v : (v as { target?: string }).target ?? ''));
}

/** A tag other than latest, or a digest. `postgres` and `postgres:latest` are not pinned. */
function isPinned(image: string): boolean {
  if (image.includes('@sha256:')) return true;
  const lastSegment = image.split('/').at(-1)!;
  const colon = lastSegment.indexOf(':');
  if (colon === -1) return false;
  const tag = lastSegment.slice(colon + 1);
  return tag !== '' && tag !== 'latest';
}

interface Instruction { keyword: string; args: string }
interface Stage { from: string; name?: string; instructions: Instruction[]; env: Record<string, string> }

/** Enough of the Dockerfile grammar for these checks: continuations, comments, stages, ENV in both forms. */
function parseDockerfile(text: string): { stages: Stage[]; finalStage: Stage } {
  const logical = text.replace(/\\\r?\n(?:[ \t]*#[^\n]*\n)*/g, ' ').split(/\r?\n/);
  const stages: Stage[] = [];
  for (const line of logical) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const match = /^(\S+)\s*(.*)$/.exec(trimmed)!;
    const keyword = match[1]!.toUpperCase();
    const args = match[2]!.trim();
    if (keyword === 'FROM') {
      const [from, as, name] = args.split(/\s+/).filter((w) => !w.startsWith('--'));
      stages.push({ from: from!, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [], env: {} });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) continue; // ARG before the first FROM
    stage.instructions.push({ keyword, args });
    if (keyword === 'ENV') Object.assign(stage.env, parseEnv(args));
  }
  const finalStage = stages.at(-1);
  if (!finalStage) throw new Error('Dockerfile has no FROM');
  return { stages, finalStage };
}

function parseEnv(args: string): Record<string, string> {
  const words = [...args.matchAll(/(?:[^\s"']+|"(?:\\.|[^"])*"|'[^']*')+/g)].map((m) => m[0]);
  const unquote = (v: string) => v.replace(/^"(.*)"$/s, '$1').replace(/^'(.*)'$/s, '$1');
  if (words[0] && !words[0].includes('=')) return { [words[0]]: unquote(words.slice(1).join(' ')) }; // legacy `ENV KEY value`
  return Object.fromEntries(words.map((w) => {
    const eq = w.indexOf('=');
    return [w.slice(0, eq), unquote(w.slice(eq + 1))];
  }));
}

/** Where the final stage puts `name` (matched by the source's last path segment). */
function copiedPath(name: string): string {
  const { instructions } = dockerfile.finalStage;
  const workdir = instructions.findLast((i) => i.keyword === 'WORKDIR')?.args ?? '/';
  const copy = instructions
    .filter((i) => i.keyword === 'COPY')
    .map((i) => copyArgs(i.args))
    .find((c) => c.sources.some((s) => posix.basename(s.replace(/\/$/, '')) === name));
  if (!copy) throw new Error(`the final stage does not COPY ${name}`);
  const destination = posix.resolve(workdir, copy.destination);
  return copy.destination.endsWith('/') || copy.destination === '.' ? posix.join(destination, name) : destination;
}

function copyArgs(args: string): { sources: string[]; destination: string } {
  const words = args.trim().startsWith('[') ? (JSON.parse(args) as string[]) : args.split(/\s+/).filter((w) => !w.startsWith('--'));
  return { sources: words.slice(0, -1), destination: words.at(-1)! };
}
