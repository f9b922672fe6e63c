import { useState } from 'preact/hooks';
import type { Device } from '../../../src/lib/devices/device';
import { api, messageOf, type Page } from '../api';
import type { Session } from '../session';
import { formatClockOffset } from '../text';
import {
  AsyncView,
  CursorPager,
  DataTable,
  Field,
  formatTime,
  Notice,
  PageTitle,
  useAsync,
  useCursorPages,
} from '../ui';
import { ReadingsExplorer } from './readings';

export type { Device };

export const deviceHref = (deviceId: string) => `/devices/${encodeURIComponent(deviceId)}`;

/** A new token (or provisioning key) is shown once, with a copy button: only its hash is stored. */
export function TokenOnce({
  token,
  onDone,
  label = 'Device token',
}: {
  token: string;
  onDone: () => void;
  label?: string;
}) {
  const [copied, setCopied] = useState<string>();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(token);
      setCopied('Copied to the clipboard.');
    } catch {
      setCopied(`Copying is not allowed here: select the ${label.toLowerCase()} and copy it.`);
    }
  };
  return (
    <section class="token-once" aria-label={`New ${label.toLowerCase()}`}>
      <p>
        <strong>Copy this {label.toLowerCase()} now.</strong> It is shown only once; only its hash is stored.
      </p>
      <label for="new-token">{label}</label>
      <input
        id="new-token"
        class="mono"
        readOnly
        value={token}
        onFocus={(event) => event.currentTarget.select()}
      />
      <div class="row">
        <button type="button" onClick={copy}>
          Copy {label === 'Device token' ? 'token' : label.toLowerCase()}
        </button>
        <button type="button" class="secondary" onClick={onDone}>
          Done
        </button>
      </div>
      {copied && <p role="status">{copied}</p>}
    </section>
  );
}

function RegisterForm({ session, onRegistered }: { session: Session; onRegistered: () => void }) {
  const [name, setName] = useState('');
  const [interval, setInterval] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [created, setCreated] = useState<{ deviceId: string; token: string }>();
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const body: Record<string, unknown> = {};
      if (name.trim()) body.name = name.trim();
      if (interval.trim()) body.expectedIntervalSeconds = Number(interval);
      const device = await api(session).post<Device & { token: string }>('/api/devices', body);
      setCreated({ deviceId: device.deviceId, token: device.token });
      setName('');
      setInterval('');
      onRegistered();
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card" aria-labelledby="register-title">
      <h2 id="register-title">Register a device</h2>
      {created ? (
        <>
          <Notice kind="ok">
            Registered <a href={deviceHref(created.deviceId)}>{created.deviceId}</a>.
          </Notice>
          <TokenOnce token={created.token} onDone={() => setCreated(undefined)} />
        </>
      ) : (
        <form class="inline-form" onSubmit={submit}>
          <Field id="device-name" label="Name (optional)" value={name} maxLength={200} onValue={setName} />
          <Field
            id="device-interval"
            label="Expected interval, seconds (optional)"
            type="number"
            min={1}
            value={interval}
            onValue={setInterval}
          />
          <button type="submit" disabled={busy}>
            {busy ? 'Registering…' : 'Register'}
          </button>
          {error && <Notice kind="error">{error}</Notice>}
        </form>
      )}
    </section>
  );
}

const statusText = (device: Device) =>
  device.status === 'revoked' ? 'revoked' : (device.reportingState ?? 'active');

export function DevicesPage({ session }: { session: Session }) {
  const pages = useCursorPages();
  const [filter, setFilter] = useState('');
  const [version, setVersion] = useState(0);
  const result = useAsync(
    (signal) => api(session).get<Page<Device>>('/api/devices', { limit: 50, cursor: pages.cursor }, signal),
    [session, pages.cursor, version],
  );
  const needle = filter.trim().toLowerCase();
  const matches = (device: Device) =>
    !needle ||
    [device.deviceId, device.name ?? '', statusText(device)].some((text) =>
      text.toLowerCase().includes(needle),
    );
  return (
    <>
      <PageTitle>Devices</PageTitle>
      <RegisterForm session={session} onRegistered={() => setVersion((value) => value + 1)} />
      <section class="card" aria-labelledby="devices-title">
        <h2 id="devices-title">All devices</h2>
        <Field
          id="device-filter"
          label="Filter by id, name or status"
          type="search"
          value={filter}
          onValue={setFilter}
        />
        <AsyncView
          result={result}
          what="devices"
          isEmpty={(page) => page.data.length === 0}
          empty="No devices registered yet."
        >
          {(page) => {
            const shown = page.data.filter(matches);
            return (
              <>
                {shown.length === 0 ? (
                  <p class="state empty">No device on this page matches “{filter}”.</p>
                ) : (
                  <DataTable
                    caption="Devices"
                    columns={['Device', 'Name', 'Status', 'Since', 'Clock', 'Registered']}
                  >
                    {shown.map((device) => (
                      <tr key={device.deviceId}>
                        <td>
                          <a class="mono" href={deviceHref(device.deviceId)}>
                            {device.deviceId}
                          </a>
                        </td>
                        <td>{device.name ?? '—'}</td>
                        <td>
                          <span class={`badge ${statusText(device)}`}>{statusText(device)}</span>
                        </td>
                        <td>{formatTime(device.stateChangedAt ?? device.revokedAt)}</td>
                        <td>{formatClockOffset(device.clock?.offsetMs)}</td>
                        <td>{formatTime(device.createdAt)}</td>
                      </tr>
                    ))}
                  </DataTable>
                )}
                <CursorPager pages={pages} next={page.next} />
              </>
            );
          }}
        </AsyncView>
      </section>
    </>
  );
}

export function DevicePage({ session, deviceId }: { session: Session; deviceId: string }) {
  const [version, setVersion] = useState(0);
  const [token, setToken] = useState<string>();
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string }>();
  const result = useAsync(
    (signal) => api(session).get<Device>(`/api/devices/${encodeURIComponent(deviceId)}`, undefined, signal),
    [session, deviceId, version],
  );
  const rotate = async () => {
    if (!window.confirm(`Rotate the token of ${deviceId}? The current token stops working.`)) return;
    try {
      const answer = await api(session).post<{ token: string }>(
        `/api/devices/${encodeURIComponent(deviceId)}/token`,
      );
      setToken(answer.token);
      setMessage({ kind: 'ok', text: 'Token rotated: the old token no longer works.' });
      setVersion((value) => value + 1);
    } catch (failure) {
      setMessage({ kind: 'error', text: messageOf(failure) });
    }
  };
  const revoke = async () => {
    if (!window.confirm(`Revoke ${deviceId}? Its token stops working at once.`)) return;
    try {
      await api(session).delete(`/api/devices/${encodeURIComponent(deviceId)}`);
      setMessage({ kind: 'ok', text: 'Device revoked.' });
      setVersion((value) => value + 1);
    } catch (failure) {
      setMessage({ kind: 'error', text: messageOf(failure) });
    }
  };
  return (
    <>
      <p class="crumbs">
        <a href="/devices">Devices</a> /
      </p>
      <PageTitle>
        Device <span class="mono">{deviceId}</span>
      </PageTitle>
      {message && <Notice kind={message.kind}>{message.text}</Notice>}
      {token && <TokenOnce token={token} onDone={() => setToken(undefined)} />}
      <AsyncView result={result} what="the device">
        {(device) => (
          <section class="card" aria-labelledby="settings-title">
            <h2 id="settings-title">Settings and status</h2>
            <dl class="facts">
              <dt>Name</dt>
              <dd>{device.name ?? '—'}</dd>
              <dt>Status</dt>
              <dd>
                <span class={`badge ${statusText(device)}`}>{statusText(device)}</span>
              </dd>
              <dt>Expected interval</dt>
              <dd>
                {device.expectedIntervalSeconds ? `${device.expectedIntervalSeconds} s` : 'platform default'}
              </dd>
              <dt>Clock skew window</dt>
              <dd>
                {device.clockSkewWindowSeconds ? `± ${device.clockSkewWindowSeconds} s` : 'platform default'},{' '}
                {device.clockSkewAction ?? 'platform default action'}
              </dd>
              <dt>Clock (measured)</dt>
              <dd>
                {device.clock
                  ? `${formatClockOffset(device.clock.offsetMs)} at ${formatTime(device.clock.measuredAt)}; ${device.clock.flaggedReadings} readings flagged, ${device.clock.rejectedRequests} requests refused`
                  : 'no reading with a time yet'}
              </dd>
              <dt>Registered</dt>
              <dd>{formatTime(device.createdAt)}</dd>
              <dt>Token rotated</dt>
              <dd>{formatTime(device.tokenRotatedAt)}</dd>
              <dt>Reporting state changed</dt>
              <dd>{formatTime(device.stateChangedAt)}</dd>
              <dt>Revoked</dt>
              <dd>{formatTime(device.revokedAt)}</dd>
            </dl>
            {device.status === 'active' && (
              <div class="row">
                <button type="button" onClick={rotate}>
                  Rotate token
                </button>
                <button type="button" class="danger" onClick={revoke}>
                  Revoke
                </button>
              </div>
            )}
          </section>
        )}
      </AsyncView>
      <ReadingsExplorer session={session} fixedDeviceId={deviceId} />
    </>
  );
}
