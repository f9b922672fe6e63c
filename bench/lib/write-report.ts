import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FigureOutput } from './figure';
import type { Machine } from './machine';
import { Report } from './report';

export function writeReport(options: {
  outDir: string;
  outputs: FigureOutput[];
  machine: Machine;
  quick: boolean;
  totalSeconds: number;
  url?: string;
}): string {
  const { machine, outputs } = options;
  const report = new Report();
  const when = new Date().toISOString().replace('T', ' ').slice(0, 16);
  report
    .raw(`# sensorcloud benchmark report${options.quick ? ' (quick mode)' : ''}`)
    .paragraph('')
    .paragraph(
      `Measured ${when} UTC by \`npm run bench${options.quick ? ' -- --quick' : ''}\` in ${Math.round(options.totalSeconds)} s,`,
      options.url
        ? `against the running stack at ${options.url}.`
        : 'against a private local stack (DynamoDB Local, SQS and S3 emulators, serverless-offline) started for the run.',
    );
  if (options.quick) {
    report.paragraph(
      '**Quick mode**: fewer and shorter runs and far fewer stored rows. It checks that every figure can be produced; its numbers are not for comparison.',
    );
  }
  report.table(
    ['machine', ''],
    [
      ['CPU', `${machine.cpuModel} × ${machine.cores} cores`],
      [
        'CPU probe (one core; lower is faster)',
        `${machine.cpuProbeMs.toFixed(0)} ms for 100,000 SHA-256 hashes`,
      ],
      ['memory', `${machine.memoryGiB} GiB`],
      ['OS', machine.os],
      ['Node', machine.node],
      ['Java (DynamoDB Local)', machine.java],
      [
        'git commit',
        `${machine.commit}${machine.dirty ? ' (with uncommitted changes)' : ''} on ${machine.branch}`,
      ],
    ],
  );

  report.heading(2, 'Headline numbers');
  report.bullets(outputs.flatMap((output) => output.headline));
  const targets = outputs.flatMap((output) => output.targets);
  if (targets.length) {
    report.heading(2, 'Targets');
    report.paragraph('Reported against, not asserted: a miss is a finding, not a failed run.');
    report.table(
      ['target', 'goal', 'measured', 'met'],
      targets.map((target) => [
        target.name,
        target.target,
        target.measured,
        target.met === null ? 'not measured' : target.met ? 'yes' : '**no**',
      ]),
    );
  }

  report.heading(2, 'How to read this report');
  report.bullets([
    'Every number is measured on the machine above; none is estimated except the cost model, which prices measured quantities.',
    'A chart point or bar is the **median of several runs**; its error bar spans the **min–max** of those runs. Tables print `median (min–max)`.',
    'Latency percentiles (p50/p95/p99) are exact, computed from every response of a run; the figure then takes the median of each percentile across runs.',
    'Everything runs on one machine: the load generator, the emulators (DynamoDB Local is a Java emulator) and the functions share its cores, so absolute rates are far below AWS. Compare runs on the same machine, and look at shapes and ratios (flat query latency, cost vs floor, handler time) more than at absolute throughput.',
    'Load average (1 min) at the start and end of each figure is printed below its title: a high value means other work shared the CPU. On a virtual machine, "CPU steal" is the share of CPU time the hypervisor gave to other guests during the figure: a few % already slows every number, and it varies from run to run, so compare runs with similar steal.',
    'Each chart links to its SVG; `<chart>.vl.json` next to it is the Vega-Lite spec, and `results.json` holds the raw numbers.',
  ]);

  for (const output of outputs) {
    report.heading(2, output.title);
    report.paragraph(
      `_${output.seconds.toFixed(0)} s; load average ${output.load[0].toFixed(2)} → ${output.load[1].toFixed(2)} on ${machine.cores} cores${output.stealPercent === undefined ? '' : `; CPU steal ${output.stealPercent.toFixed(1)} %`}._`,
    );
    output.write(report);
  }
  const file = path.join(options.outDir, 'report.md');
  writeFileSync(file, report.toString());
  return file;
}
