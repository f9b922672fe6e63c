import { useState } from 'preact/hooks';
import { api, type Page } from '../api';
import type { Session } from '../session';
import {
  AsyncView,
  CursorPager,
  DataTable,
  Field,
  formatTime,
  PageTitle,
  useAsync,
  useCursorPages,
} from '../ui';

interface AuditEntry {
  requestId: string;
  actor: string;
  route: string;
  deviceId: string;
  rows: number;
  action: 'write' | 'query' | 'export';
  at: string;
}

export function AuditPage({ session }: { session: Session }) {
  const pages = useCursorPages();
  const [device, setDevice] = useState('');
  const [action, setAction] = useState<'' | 'write' | 'query' | 'export'>('');
  const result = useAsync(
    (signal) =>
      api(session).get<Page<AuditEntry>>('/api/audit', { limit: 100, cursor: pages.cursor }, signal),
    [session, pages.cursor],
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
          <Field id="audit-device" label="Device" type="search" value={device} onValue={setDevice} />
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
              <option value="export">export</option>
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
                  <DataTable
                    caption="Audit entries, newest first"
                    columns={['When', 'Action', 'Device', 'Actor', 'Route', 'Rows']}
                  >
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
                  </DataTable>
                )}
                <CursorPager pages={pages} next={page.next} labels={['Newer', 'Older']} />
              </>
            );
          }}
        </AsyncView>
      </section>
    </>
  );
}
