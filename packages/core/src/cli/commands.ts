import { createInterface } from 'node:readline/promises';
import { relative } from 'node:path';
import { PgworkError } from '../shared/errors';
import { carryOut, planClean, type CleanPlan } from './clean';
import { doctor, type Check } from './doctor';
import { objectSizes, takeInventory, type ServerInventory } from './inventory';
import { describeSince, describeSize, table } from './output';
import { describeCliProject, type CliProject } from './project';
import { distinctServers, eachServer, type OpenServer } from './servers';

// The four commands. Each returns what `--json` prints, and writes its human
// form through `out`; the exit code is 1 when the command did not do its job.

export interface CommandContext {
  readonly cwd: string;
  readonly projects: readonly CliProject[];
  readonly out: (text: string) => void;
  readonly json: boolean;
}

export interface CommandResult {
  readonly json: unknown;
  readonly exitCode: number;
}

/** Per base name, the template its project clones from now (undefined when the adapter cannot say). */
async function currentTemplates(projects: readonly CliProject[]): Promise<Map<string, string | undefined>> {
  const current = new Map<string, string | undefined>();
  for (const project of projects) {
    if (!project.options) {
      current.set(project.baseName, undefined);
      continue;
    }
    const described = await describeCliProject(project, project.options);
    current.set(project.baseName, described.template.name);
  }
  return current;
}

export async function ls(context: CommandContext, allBaseNames: boolean): Promise<CommandResult> {
  const templates = await currentTemplates(context.projects);
  const current = new Set([...templates.values()].filter((name): name is string => !!name));
  // Other projects on a shared server are theirs to list: --all-base-names shows them too.
  const every = allBaseNames || context.projects.some((project) => project.anyBaseName);
  const ours = (item: { baseName: string }) => every || templates.has(item.baseName);
  const servers: Array<ServerInventory | { server: string; absent: string }> = [];
  for (const project of distinctServers(context.projects)) {
    for (const found of await eachServer(project, (server) => takeInventory(server, current))) {
      const inventory = found.result;
      servers.push(
        inventory
          ? { ...inventory, runs: inventory.runs.filter(ours), templates: inventory.templates.filter(ours) }
          : { server: found.label, absent: found.absent! },
      );
    }
  }
  for (const server of servers) context.out(renderInventory(server));
  return { json: { projects: context.projects.map((p) => describeProjectLine(p, context.cwd)), servers }, exitCode: 0 };
}

function renderInventory(inventory: ServerInventory | { server: string; absent: string }): string {
  if ('absent' in inventory) return `${inventory.server}: ${inventory.absent}\n`;
  const lines = [`${inventory.server} (PostgreSQL ${inventory.version})`];
  // A PROJECT column only where a multi-project config's runs are listed.
  const projects = inventory.runs.some((run) => run.project);
  const objects = inventory.runs.flatMap((run) =>
    run.objects.map((o) => [
      run.run,
      ...(projects ? [run.project ?? '-'] : []),
      run.alive ? 'live' : run.kept ? 'kept' : 'died',
      o.unit,
      o.name,
      describeSize(o.sizeBytes),
      describeSince(o.created),
    ]),
  );
  const header = ['RUN', ...(projects ? ['PROJECT'] : []), 'STATE', 'KIND', 'NAME', 'SIZE', 'AGE'];
  lines.push(objects.length ? table([header, ...objects], '  ') : '  no runs');
  const templates = inventory.templates.map((t) => [
    t.name,
    t.adapter ?? '?',
    describeSize(t.sizeBytes),
    describeSince(t.created),
    describeSince(t.lastUsed),
    [t.current && 'current', t.inUse && 'in use', t.state === 'building' && (t.inUse ? 'building' : 'build died')]
      .filter(Boolean)
      .join(', '),
  ]);
  lines.push(
    templates.length
      ? table([['TEMPLATE', 'ADAPTER', 'SIZE', 'CREATED', 'LAST USED', ''], ...templates], '  ')
      : '  no templates',
  );
  return `${lines.join('\n\n')}\n`;
}

export interface CleanOptions {
  readonly templates: boolean;
  readonly olderThanMs: number | undefined;
  readonly allBaseNames: boolean;
  readonly yes: boolean;
  readonly dryRun: boolean;
}

export async function clean(context: CommandContext, options: CleanOptions): Promise<CommandResult> {
  // Only --templates needs the current templates (and the adapters to name them).
  const baseNames = options.templates
    ? await currentTemplates(context.projects)
    : new Map(context.projects.map((project) => [project.baseName, undefined]));
  if (options.templates && options.olderThanMs === undefined && [...baseNames.values()].some((name) => !name)) {
    throw new PgworkError(
      'INVALID_OPTION',
      "clean --templates keeps the current template, which only the project's config can say; run it in your project's folder (or pass --config), or add --older-than 7d to drop by age alone.",
    );
  }
  const results: unknown[] = [];
  let exitCode = 0;
  for (const project of distinctServers(context.projects)) {
    for (const found of await eachServer(project, (server) => cleanServer(context, server, options, baseNames))) {
      if (found.absent) context.out(`${found.label}: ${found.absent}\n`);
      results.push(found.result ?? { server: found.label, absent: found.absent });
      if (found.result?.refused) exitCode = 1;
    }
  }
  return { json: { servers: results }, exitCode };
}

async function cleanServer(
  context: CommandContext,
  server: OpenServer,
  options: CleanOptions,
  baseNames: Map<string, string | undefined>,
) {
  const allBaseNames = options.allBaseNames || context.projects.some((project) => project.anyBaseName);
  const plan = await planClean(server, { ...options, allBaseNames, baseNames });
  // Sizes of what the plan names only: listing everything again (leases, template locks) is not needed here.
  const named = [...plan.drops, ...plan.kept];
  const sizes = await objectSizes(
    server,
    named.filter((o) => !('unit' in o) || o.unit !== 'schema').map((o) => o.name),
    plan.drops.filter((d) => d.unit === 'schema').map((d) => d.name),
  );
  const total = plan.drops.reduce((sum, drop) => sum + (sizes.get(drop.name) ?? 0), 0);
  context.out(`${server.label} (PostgreSQL ${server.version})\n${renderPlan(plan, sizes)}\n`);
  const summary = { server: server.label, planned: plan.drops.map(({ marker, ...drop }) => drop), kept: plan.kept };
  if (plan.drops.length === 0 || options.dryRun) return { ...summary, dropped: [], skipped: [], refused: false };
  const what = `${plan.drops.length} object(s) (${describeSize(total)})`;
  if (!options.yes) {
    const refusal = await confirm(`Drop ${what}? [y/N] `);
    if (refusal) {
      process.stderr.write(`${refusal}\n`);
      return { ...summary, dropped: [], skipped: [], refused: true };
    }
  }
  const done = await carryOut(server, plan);
  context.out(
    `dropped ${done.dropped.length} of ${what}${done.skipped.map((s) => `\n  skipped ${s.name}: ${s.reason}`).join('')}\n`,
  );
  return { ...summary, ...done, refused: false };
}

function renderPlan(plan: CleanPlan, sizes: ReadonlyMap<string, number>): string {
  const rows = [
    ...plan.drops.map((d) => ['drop', d.unit, d.name, describeSize(sizes.get(d.name)), d.reason]),
    ...plan.kept.map((k) => ['keep', '', k.name, describeSize(sizes.get(k.name)), k.reason]),
  ];
  return rows.length ? table(rows, '  ') : '  nothing to drop';
}

/** Asks on the terminal; undefined when the answer is yes, else why nothing was dropped. */
async function confirm(question: string): Promise<string | undefined> {
  if (!process.stdin.isTTY)
    return 'pgwork: nothing dropped: no terminal to ask on; pass --yes to drop these, or --dry-run to only list them.';
  const terminal = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await terminal.question(question);
    return /^y(es)?$/i.test(answer.trim()) ? undefined : 'nothing dropped.';
  } finally {
    terminal.close();
  }
}

export async function doctorCommand(context: CommandContext): Promise<CommandResult> {
  const results: Array<Check & { project: string | null }> = [];
  for (const project of context.projects) {
    if (context.projects.length > 1) context.out(`project ${project.name ?? '(unnamed)'}\n`);
    const checks = await doctor(project, context.cwd);
    context.out(`${table(checks.map((c) => [c.ok ? 'ok' : 'FAIL', c.check, c.detail]))}\n`);
    results.push(...checks.map((check) => ({ ...check, project: project.name ?? null })));
  }
  const failed = results.filter((check) => !check.ok).length;
  context.out(failed ? `${failed} check(s) failed\n` : 'all checks passed\n');
  return { json: { ok: failed === 0, checks: results }, exitCode: failed ? 1 : 0 };
}

function describeProjectLine(project: CliProject, cwd: string) {
  return {
    name: project.name ?? null,
    config: project.configFile ? relative(cwd, project.configFile) || project.configFile : null,
    baseName: project.baseName,
    isolation: project.isolation,
  };
}
