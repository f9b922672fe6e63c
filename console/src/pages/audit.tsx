import { useState } from 'preact/hooks';
import { api, type Page } from '../api';
import type { Session } from '../session';
import { AsyncView, formatTime, PageTitle, useAsync } from '../ui';

interface AuditEntry {
  requestId: string;
  actor: string;
  route: string;
  deviceId: string;
  rows: number;
  action: 'write' | 'query';
  at: string;
}

export function AuditPage({ session }: { session: Session }) {
  const [cursors, setCursors] = useState<string[]>(['']);
  const [device, setDevice] = useState('');
  const [action, setAction] = useState<'' | 'write' | 'query'>('');
  const cursor = cursors[cursors.length - 1];
  const result = useAsync(
    (signal) =>
      api(session).get<Page<AuditEntry>>('/api/audit', { limit: 100, cursor: cursor || undefined }, signal),
    [session, cursor],
  );
  const needle = device.trim().toLowerCase();
  return (
    <>
      <PageTitle>Audit log</PageTitle>
      <section class="card">
        <form
          class="inline-form"
          onSubmit={(event) => event.preventDefault()}
          aria-label="Filter the audit log"
        >
          <div class="field">
            <label for="audit-device">Device</label>
            <input
              id="audit-device"
              type="search"
              value={device}
              onInput={(event) => setDevice(event.currentTarget.value)}
            />
          </div>
          <div class="field">
            <label for="audit-action">Action</label>
            <select
              id="audit-action"
              value={action}
              onChange={(event) => setAction(event.currentTarget.value as typeof action)}
            >
              <option value="">Any</option>
              <option value="write">write</option>
              <option value="query">query</option>
            </select>
          </div>
        </form>
        <AsyncView
          result={result}
          what="audit entries"
          isEmpty={(page) => page.data.length === 0}
          empty="No audit entries in the last 30 days."
        >
          {(page) => {
            const shown = page.data.filter(
              (entry) =>
                (!needle || entry.deviceId.toLowerCase().includes(needle)) &&
                (!action || entry.action === action),
            );
            return (
              <>
                {shown.length === 0 ? (
                  <p class="state empty">No entry on this page matches the filter.</p>
                ) : (
                  <div class="table-wrap">
                    <table>
                      <caption class="sr-only">Audit entries, newest first</caption>
                      <thead>
                        <tr>
                          <th scope="col">When</th>
                          <th scope="col">Action</th>
                          <th scope="col">Device</th>
                          <th scope="col">Actor</th>
                          <th scope="col">Route</th>
                          <th scope="col">Rows</th>
                        </tr>
                      </thead>
                      <tbody>
                        {shown.map((entry) => (
                          <tr key={`${entry.requestId}-${entry.at}`}>
                            <td>{formatTime(entry.at)}</td>
                            <td>{entry.action}</td>
                            <td class="mono">{entry.deviceId}</td>
                            <td class="mono">{entry.actor}</td>
                            <td class="mono">{entry.route}</td>
                            <td>{entry.rows}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                )}
                <div class="pager">
                  <button
                    type="button"
                    disabled={cursors.length < 2}
                    onClick={() => setCursors(cursors.slice(0, -1))}
                  >
                    Newer
                  </button>
                  <button
                    type="button"
                    disabled={!page.next}
                    onClick={() => page.next && setCursors([...cursors, page.next])}
                  >
                    Older
                  </button>
                </div>
              </>
            );
          }}
        </AsyncView>
      </section>
    </>
  );
}
