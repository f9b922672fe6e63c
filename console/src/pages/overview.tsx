import { useMemo, useState } from 'preact/hooks';
import { api, messageOf } from '../api';
import { TimeChart } from '../chart';
import type { Session } from '../session';
import {
  column,
  type DeviceRollup,
  type GlobalRollup,
  type StatsSeries,
  seconds,
  sumSince,
} from '../stats-types';
import { AsyncView, formatNumber, formatTime, Notice, PageTitle, useAsync } from '../ui';

function Tile({ label, value, hint }: { label: string; value: string; hint?: string }) {
  return (
    <div class="tile">
      <dt>{label}</dt>
      <dd>
        {value}
        {hint && <span class="hint"> {hint}</span>}
      </dd>
    </div>
  );
}

interface RedriveReport {
  moved: number;
  failed: number;
  remaining: number;
}

/** Moves dead letters back to the readings queue now (the redrive-dlq job does it daily). */
function RedriveButton({ session }: { session: Session }) {
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string }>();
  const redrive = async () => {
    setBusy(true);
    setMessage(undefined);
    try {
      const report = await api(session).post<RedriveReport>('/api/dead-letters/redrive');
      setMessage({
        kind: report.failed > 0 ? 'error' : 'ok',
        text: `Moved ${report.moved} dead letter(s) back to the queue; ${report.failed} could not be moved; ${report.remaining} left.`,
      });
    } catch (error) {
      setMessage({ kind: 'error', text: messageOf(error) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="actions">
      <button type="button" disabled={busy} onClick={() => void redrive()}>
        Redrive dead letters
      </button>
      {message && <Notice kind={message.kind}>{message.text}</Notice>}
    </div>
  );
}

function AdminOverview({ series }: { series: StatsSeries<GlobalRollup> }) {
  const rows = series.data;
  const latest = rows[rows.length - 1];
  const lastHour = useMemo(
    () => rows.filter((row) => Date.parse(row.intervalStart) >= Date.now() - 3_600_000),
    [rows],
  );
  const chart = useMemo(
    () => ({
      x: lastHour.map((row) => seconds(row.intervalStart)),
      series: [{ label: 'readings / min', values: column(lastHour, 'ingestRatePerMinute') }],
    }),
    [lastHour],
  );
  return (
    <>
      <dl class="tiles">
        <Tile label="Devices active" value={formatNumber(latest?.devices)} />
        <Tile label="Devices reporting" value={formatNumber(latest?.devicesReporting)} />
        <Tile label="Devices silent" value={formatNumber(latest?.silentDevices)} />
        <Tile
          label="Readings / min, last hour"
          value={formatNumber(Math.round(sumSince(rows, 'readingsStored', 60) / 60))}
        />
        <Tile
          label="Readings / min, last day"
          value={formatNumber(Math.round(sumSince(rows, 'readingsStored', 1440) / 1440))}
        />
        <Tile
          label="Queue depth"
          value={formatNumber(latest?.queueVisible)}
          hint={latest?.queueInFlight ? `(${latest.queueInFlight} in flight)` : undefined}
        />
        <Tile
          label="Oldest message age"
          value={latest?.oldestMessageAgeSeconds == null ? '—' : `${latest.oldestMessageAgeSeconds} s`}
        />
        <Tile
          label="Dead letters"
          value={formatNumber(latest?.dlqDepth)}
          hint={latest?.dlqDepth ? '(redriven daily by the redrive-dlq job, or now below)' : undefined}
        />
        <Tile
          label="Images processed, last day"
          value={formatNumber(sumSince(rows, 'imagesProcessed', 1440))}
        />
        <Tile
          label="Images rejected, last day"
          value={formatNumber(sumSince(rows, 'imagesRejected', 1440))}
        />
      </dl>
      <p class="muted">Latest rollup: {formatTime(latest?.intervalEnd)}</p>
      {lastHour.length > 0 ? <TimeChart title="Readings per minute, last hour" {...chart} /> : null}
    </>
  );
}

function DeviceOverview({ series }: { series: StatsSeries<DeviceRollup> }) {
  const rows = series.data;
  const latest = rows[rows.length - 1];
  return (
    <dl class="tiles">
      <Tile label="Readings, last hour" value={formatNumber(sumSince(rows, 'readingsStored', 60))} />
      <Tile label="Readings, last day" value={formatNumber(sumSince(rows, 'readingsStored', 1440))} />
      <Tile label="Readings in total" value={formatNumber(latest?.total)} />
      <Tile label="Last seen" value={formatTime(latest?.lastSeenAt)} />
    </dl>
  );
}

export function OverviewPage({ session }: { session: Session }) {
  const result = useAsync(
    (signal) =>
      api(session).get<StatsSeries<GlobalRollup & DeviceRollup>>('/api/stats', { minutes: 1440 }, signal),
    [session],
  );
  return (
    <>
      <PageTitle>Overview</PageTitle>
      <AsyncView
        result={result}
        what="statistics"
        isEmpty={(series) => series.data.length === 0}
        empty="No statistics yet: the rollup job runs every minute."
      >
        {(series) =>
          session.role === 'admin' ? <AdminOverview series={series} /> : <DeviceOverview series={series} />
        }
      </AsyncView>
      {session.role === 'admin' && <RedriveButton session={session} />}
    </>
  );
}
