import { readFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { projectRoot } from '../../scripts/local/service-config';

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, string>;
  env?: Record<string, string>;
}
interface Job {
  if?: string;
  needs?: string | string[];
  uses?: string;
  environment?: string;
  permissions?: Record<string, string>;
  concurrency?: { group: string; 'cancel-in-progress': boolean | string };
  env?: Record<string, string>;
  steps?: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

const workflowFile = (name: string) => path.join(projectRoot, '.github', 'workflows', name);
// `on` is a YAML 1.1 boolean to some parsers; js-yaml (YAML 1.2 core schema) keeps it a string key.
const load = (name: string) => yaml.load(readFileSync(workflowFile(name), 'utf8')) as Workflow;
const runs = (job: Job) => (job.steps ?? []).map((step) => step.run ?? '').filter(Boolean);
/** A GitHub expression as written in a workflow, e.g. `${{ vars.AWS_REGION }}`. */
const gh = (expression: string) => `\${{ ${expression} }}`;
const indexOfStep = (job: Job, predicate: (step: Step) => boolean) => (job.steps ?? []).findIndex(predicate);

describe('GitHub workflows', () => {
  it('ci: installs with npm ci, typechecks, lints and tests on every push and pull request', () => {
    const ci = load('ci.yml');
    expect(Object.keys(ci.on).sort()).toEqual(['pull_request', 'push', 'workflow_call']);
    expect(ci.on.push).toEqual({ branches: ['**'] });
    expect(ci.permissions).toEqual({ contents: 'read' });
    const [job] = Object.values(ci.jobs);
    if (!job) throw new Error('ci.yml has no job');
    const commands = runs(job);
    const order = ['npm ci', 'npm run typecheck', 'npm run lint', 'npx jest'].map((command) =>
      commands.findIndex((run) => run.startsWith(command)),
    );
    expect(order.every((index) => index >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(commands).toContain('npm audit --omit=dev --audit-level=high');
  });

  describe.each([
    { stage: 'dev', job: 'deploy-dev', condition: "github.ref == 'refs/heads/main'" },
    { stage: 'prod', job: 'deploy-prod', condition: "startsWith(github.ref, 'refs/tags/v')" },
  ])('deploy to $stage', ({ stage, job: jobName, condition }) => {
    const deploy = load('deploy.yml');
    const job = deploy.jobs[jobName] as Job;

    it('runs on main and version tags, only after the tests pass, for its own trigger', () => {
      expect(deploy.on).toEqual({ push: { branches: ['main'], tags: ['v*.*.*'] } });
      expect(deploy.jobs.test?.uses).toBe('./.github/workflows/ci.yml');
      expect(job.needs).toBe('test');
      expect(job.if).toBe(condition);
      expect(job.environment).toBe(stage);
    });

    it('assumes its role through GitHub OIDC, with no long-lived keys', () => {
      expect(deploy.permissions).toEqual({ contents: 'read' });
      expect(job.permissions).toEqual({ contents: 'read', 'id-token': 'write' });
      const credentials = (job.steps ?? []).find((step) =>
        step.uses?.startsWith('aws-actions/configure-aws-credentials@'),
      );
      expect(credentials?.with).toMatchObject({
        'role-to-assume': gh('vars.AWS_DEPLOY_ROLE_ARN'),
        'aws-region': gh('vars.AWS_REGION'),
      });
      expect(Object.keys(credentials?.with ?? {})).not.toEqual(
        expect.arrayContaining([expect.stringMatching(/access-key|secret|session-token/)]),
      );
      for (const file of ['deploy.yml', 'ci.yml']) {
        const text = readFileSync(workflowFile(file), 'utf8');
        expect(text).not.toMatch(/AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|aws-access-key-id|secrets\./i);
      }
    });

    it('installs with npm ci and deploys with the project osls CLI, never two at once', () => {
      const install = indexOfStep(job, (step) => step.run?.startsWith('npm ci') ?? false);
      const credentials = indexOfStep(
        job,
        (step) => step.uses?.startsWith('aws-actions/configure-aws-credentials@') ?? false,
      );
      const deployStep = indexOfStep(
        job,
        (step) => step.run?.startsWith(`npx serverless deploy --stage ${stage}`) ?? false,
      );
      expect(install).toBeGreaterThanOrEqual(0);
      expect(credentials).toBeGreaterThan(install);
      expect(deployStep).toBeGreaterThan(credentials);
      expect(runs(job).filter((run) => /serverless deploy|sls deploy/.test(run))).toHaveLength(1);
      expect(job.concurrency).toEqual({ group: `deploy-${stage}`, 'cancel-in-progress': false });
      expect(job.env?.SENSORCLOUD_BUCKET_SUFFIX).toBe(gh('vars.SENSORCLOUD_BUCKET_SUFFIX'));
    });
  });

  it('resolves `npx serverless` to the pinned osls CLI', () => {
    const pkg = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as {
      overrides: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    expect(pkg.overrides.serverless).toMatch(/^npm:osls@/);
    expect(pkg.devDependencies.osls).toBeDefined();
  });
});
