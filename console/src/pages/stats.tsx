import { useMemo, useState } from 'preact/hooks';
import { api } from '../api';
import { TimeChart } from '../chart';
import type { Session } from '../session';
import { column, type StatsSeries, seconds } from '../stats-types';
import { AsyncView, PageTitle, useAsync } from '../ui';

export interface ChartSpec {
  title: string;
  fields: Array<[field: string, label: string]>;
}

const GLOBAL_CHARTS: ChartSpec[] = [
  { title: 'Readings stored per interval', fields: [['readingsStored', 'readings']] },
  { title: 'Ingest rate (readings / min)', fields: [['ingestRatePerMinute', 'readings / min']] },
  {
    title: 'Devices',
    fields: [
      ['devices', 'active'],
      ['devicesReporting', 'reporting'],
      ['silentDevices', 'silent'],
    ],
  },
  {
    title: 'Queue',
    fields: [
      ['queueVisible', 'visible'],
      ['queueInFlight', 'in flight'],
      ['dlqDepth', 'dead letters'],
    ],
  },
  { title: 'Oldest message age (s)', fields: [['oldestMessageAgeSeconds', 'seconds']] },
  {
    title: 'Images',
    fields: [
      ['imagesProcessed', 'processed'],
      ['imagesRejected', 'rejected'],
    ],
  },
];

const DEVICE_CHARTS: ChartSpec[] = [
  { title: 'Readings stored per interval', fields: [['readingsStored', 'readings']] },
  { title: 'Readings in total', fields: [['total', 'total']] },
];

/** Charts of chosen fields of a stats series, one chart per spec. */
export function StatsCharts({ rows, charts }: { rows: Array<Record<string, unknown>>; charts: ChartSpec[] }) {
  const data = useMemo(
    () =>
      charts.map((chart) => ({
        title: chart.title,
        x: rows.map((row) => seconds(String(row.intervalStart))),
        series: chart.fields.map(([field, label]) => ({ label, values: column(rows, field) })),
      })),
    [rows, charts],
  );
  return (
    <div class="charts">
      {data.map((chart) => (
        <TimeChart key={chart.title} title={chart.title} x={chart.x} series={chart.series} height={200} />
      ))}
    </div>
  );
}

export function StatsPage({ session }: { session: Session }) {
  const [minutes, setMinutes] = useState(60);
  const result = useAsync(
    (signal) => api(session).get<StatsSeries<Record<string, unknown>>>('/api/stats', { minutes }, signal),
    [session, minutes],
  );
  return (
    <>
      <PageTitle>Stats</PageTitle>
      <div class="field narrow">
        <label for="stats-minutes">Period</label>
        <select
          id="stats-minutes"
          value={minutes}
          onChange={(event) => setMinutes(Number(event.currentTarget.value))}
        >
          <option value={60}>Last hour</option>
          <option value={360}>Last 6 hours</option>
          <option value={1440}>Last day</option>
        </select>
      </div>
      <AsyncView
        result={result}
        what="statistics"
        isEmpty={(series) => series.data.length === 0}
        empty="No statistics in this period yet: the rollup job runs every minute."
      >
        {(series) => (
          <StatsCharts
            rows={series.data}
            charts={series.series === 'global' ? GLOBAL_CHARTS : DEVICE_CHARTS}
          />
        )}
      </AsyncView>
    </>
  );
}
