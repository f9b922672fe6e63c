import { useMemo, useRef, useState } from 'preact/hooks';
import { api, messageOf, type Page } from '../api';
import { TimeChart } from '../chart';
import { navigate } from '../router';
import type { Session } from '../session';
import { toCsv } from '../text';
import { Empty, ErrorMessage, Field, Loading, PageTitle, useAsync } from '../ui';
import type { Device } from './devices';

export interface Reading {
  id: string;
  absolute_timestamp: string;
  relative_timestamp: number;
  interrogator_timestamp: number;
  freeform: unknown;
}

type WindowKind = 'recent' | 'between' | 'all';

const TABLE_PAGE = 50;
const QUERY_PAGE = 5000;

/** Top-level freeform fields holding numbers (or numeric strings) in at least one row. */
export function numericFields(rows: Reading[]): string[] {
  const fields = new Set<string>();
  for (const row of rows.slice(0, 5000)) {
    if (!row.freeform || typeof row.freeform !== 'object' || Array.isArray(row.freeform)) continue;
    for (const [name, value] of Object.entries(row.freeform))
      if (
        typeof value === 'number' ||
        (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
      )
        fields.add(name);
  }
  return [...fields].sort();
}

const fieldValue = (row: Reading, field: string): number | null => {
  const value = (row.freeform as Record<string, unknown> | null)?.[field];
  const number = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  return Number.isFinite(number) ? number : null;
};

/** Time of a reading in seconds: the interrogator's clock (µs) when it sent one, else its relative time. */
const readingSeconds = (row: Reading): number =>
  row.interrogator_timestamp > 0 ? row.interrogator_timestamp / 1_000_000 : row.relative_timestamp;

function downloadCsv(rows: Reading[], name: string) {
  const url = URL.createObjectURL(new Blob([toCsv(rows)], { type: 'text/csv' }));
  const anchor = document.createElement('a');
  anchor.href = url;
  anchor.download = name;
  anchor.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function windowPath(base: string, kind: WindowKind, seconds: string, start: string, end: string): string {
  if (kind === 'recent') return `${base}/seconds/${encodeURIComponent(seconds)}`;
  if (kind === 'between') return `${base}/${encodeURIComponent(start)}/${encodeURIComponent(end)}`;
  return base;
}

function DevicePicker({
  session,
  value,
  onChange,
}: {
  session: Session;
  value: string;
  onChange: (id: string) => void;
}) {
  const devices = useAsync(
    (signal) => api(session).get<Page<Device>>('/api/devices', { limit: 200 }, signal),
    [session],
  );
  return (
    <div class="field">
      <label for="readings-device">Device</label>
      <input
        id="readings-device"
        list="readings-devices"
        value={value}
        required
        onInput={(event) => onChange(event.currentTarget.value.trim())}
      />
      <datalist id="readings-devices">
        {devices.data?.data.map((device) => (
          <option key={device.deviceId} value={device.deviceId}>
            {device.name ?? device.deviceId}
          </option>
        ))}
      </datalist>
    </div>
  );
}

export function ReadingsExplorer({ session, fixedDeviceId }: { session: Session; fixedDeviceId?: string }) {
  const initialDevice = fixedDeviceId ?? new URLSearchParams(location.search).get('device') ?? '';
  const [deviceId, setDeviceId] = useState(initialDevice);
  const [kind, setKind] = useState<WindowKind>('recent');
  const [seconds, setSeconds] = useState('3600');
  const [start, setStart] = useState('0');
  const [end, setEnd] = useState('');
  // Held only in this component while the page is open: never stored anywhere.
  const [password, setPassword] = useState('');
  const [rows, setRows] = useState<Reading[]>();
  const [next, setNext] = useState<string>();
  const [state, setState] = useState<{ loading: boolean; error?: string }>({ loading: false });
  const [tablePage, setTablePage] = useState(0);
  const [field, setField] = useState<string>();
  const query = useRef<{ path: string; body: unknown }>(undefined);

  const base = session.role === 'admin' ? `/api/devices/${encodeURIComponent(deviceId)}/iot` : '/api/iot';
  const fetchPage = async (cursor?: string) => {
    const current = query.current;
    if (!current) return;
    setState({ loading: true });
    try {
      const page = await api(session).post<Page<Reading>>(current.path, current.body, {
        limit: QUERY_PAGE,
        cursor,
      });
      setRows((previous) => (cursor && previous ? [...previous, ...page.data] : page.data));
      setNext(page.next);
      setState({ loading: false });
    } catch (failure) {
      setState({ loading: false, error: messageOf(failure) });
    }
  };
  const submit = (event: Event) => {
    event.preventDefault();
    if (session.role === 'admin' && !fixedDeviceId)
      navigate(`/readings?device=${encodeURIComponent(deviceId)}`, { replace: true });
    query.current = {
      path: windowPath(base, kind, seconds, start, end),
      body: password ? { data: { db_password: password } } : undefined,
    };
    setTablePage(0);
    setField(undefined);
    void fetchPage();
  };

  const fields = useMemo(() => (rows ? numericFields(rows) : []), [rows]);
  const chosen = field ?? fields[0];
  const chart = useMemo(() => {
    if (!rows || !chosen) return undefined;
    const sorted = rows
      .map((row) => [readingSeconds(row), fieldValue(row, chosen)] as const)
      .sort((a, b) => a[0] - b[0]);
    return { x: sorted.map(([x]) => x), series: [{ label: chosen, values: sorted.map(([, y]) => y) }] };
  }, [rows, chosen]);
  const pageCount = rows ? Math.max(1, Math.ceil(rows.length / TABLE_PAGE)) : 0;
  const shown = rows?.slice(tablePage * TABLE_PAGE, (tablePage + 1) * TABLE_PAGE) ?? [];

  return (
    <section class="card" aria-labelledby="explorer-title">
      <h2 id="explorer-title">Readings</h2>
      <form class="inline-form" onSubmit={submit}>
        {session.role === 'admin' && !fixedDeviceId && (
          <DevicePicker session={session} value={deviceId} onChange={setDeviceId} />
        )}
        <div class="field">
          <label for="readings-window">Time window</label>
          <select
            id="readings-window"
            value={kind}
            onChange={(event) => setKind(event.currentTarget.value as WindowKind)}
          >
            <option value="recent">Arrived in the last N seconds</option>
            <option value="between">Relative time between</option>
            <option value="all">All readings</option>
          </select>
        </div>
        {kind === 'recent' && (
          <Field
            id="readings-seconds"
            label="N seconds"
            type="number"
            min={1}
            required
            value={seconds}
            onValue={setSeconds}
          />
        )}
        {kind === 'between' && (
          <>
            <Field
              id="readings-start"
              label="From (relative time)"
              type="number"
              required
              value={start}
              onValue={setStart}
            />
            <Field
              id="readings-end"
              label="To (relative time)"
              type="number"
              required
              value={end}
              onValue={setEnd}
            />
          </>
        )}
        <Field
          id="readings-password"
          label="db_password (optional, never stored)"
          type="password"
          autoComplete="off"
          value={password}
          onValue={setPassword}
        />
        <button type="submit" disabled={state.loading || (session.role === 'admin' && !deviceId)}>
          Show readings
        </button>
      </form>
      {state.error && <ErrorMessage message={state.error} retry={() => void fetchPage()} />}
      {state.loading && <Loading what="readings" />}
      {!rows && !state.loading && !state.error && <Empty>Choose a window and press “Show readings”.</Empty>}
      {rows && rows.length === 0 && !state.loading && <Empty>No readings in this window.</Empty>}
      {rows && rows.length > 0 && (
        <>
          <div class="row wrap">
            <p role="status">
              {rows.length.toLocaleString()} reading(s) shown{next ? ', more available' : ''}.
            </p>
            {next && (
              <button type="button" disabled={state.loading} onClick={() => void fetchPage(next)}>
                Load more
              </button>
            )}
            <button
              type="button"
              class="secondary"
              onClick={() => downloadCsv(rows, `readings-${deviceId || session.deviceId}.csv`)}
            >
              Export CSV
            </button>
          </div>
          {fields.length > 0 ? (
            <>
              <div class="field">
                <label for="readings-field">Chart field</label>
                <select
                  id="readings-field"
                  value={chosen}
                  onChange={(event) => setField(event.currentTarget.value)}
                >
                  {fields.map((name) => (
                    <option key={name} value={name}>
                      {name}
                    </option>
                  ))}
                </select>
              </div>
              {chart && <TimeChart title={`${chosen} over time`} x={chart.x} series={chart.series} />}
            </>
          ) : (
            <p class="muted">No numeric freeform field to chart.</p>
          )}
          <div class="table-wrap">
            <table class="readings">
              <caption class="sr-only">
                Readings, page {tablePage + 1} of {pageCount}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Arrived (UTC)</th>
                  <th scope="col">Relative time</th>
                  <th scope="col">Interrogator time</th>
                  <th scope="col">Freeform</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((row) => (
                  <tr key={row.id}>
                    <td>{row.absolute_timestamp}</td>
                    <td>{row.relative_timestamp}</td>
                    <td>{row.interrogator_timestamp}</td>
                    <td class="mono freeform">
                      {typeof row.freeform === 'string' ? row.freeform : JSON.stringify(row.freeform)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div class="pager">
            <button type="button" disabled={tablePage === 0} onClick={() => setTablePage(tablePage - 1)}>
              Previous rows
            </button>
            <span>
              Page {tablePage + 1} of {pageCount}
            </span>
            <button
              type="button"
              disabled={tablePage + 1 >= pageCount}
              onClick={() => setTablePage(tablePage + 1)}
            >
              Next rows
            </button>
          </div>
        </>
      )}
    </section>
  );
}

export function ReadingsPage({ session }: { session: Session }) {
  return (
    <>
      <PageTitle>Readings explorer</PageTitle>
      <ReadingsExplorer session={session} />
    </>
  );
}
