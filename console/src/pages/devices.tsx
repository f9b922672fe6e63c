import { useState } from 'preact/hooks';
import { api, messageOf, type Page } from '../api';
import type { Session } from '../session';
import { AsyncView, formatTime, Notice, PageTitle, useAsync } from '../ui';
import { ReadingsExplorer } from './readings';

export interface Device {
  deviceId: string;
  name?: string;
  status: 'active' | 'revoked';
  createdAt: string;
  tokenRotatedAt?: string;
  revokedAt?: string;
  expectedIntervalSeconds?: number;
  reportingState?: 'reporting' | 'silent';
  stateChangedAt?: string;
}

export const deviceHref = (deviceId: string) => `/devices/${encodeURIComponent(deviceId)}`;

/** A new token is shown once, with a copy button: only its hash is stored. */
function TokenOnce({ token, onDone }: { token: string; onDone: () => void }) {
  const [copied, setCopied] = useState<string>();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(token);
      setCopied('Copied to the clipboard.');
    } catch {
      setCopied('Copying is not allowed here: select the token and copy it.');
    }
  };
  return (
    <section class="token-once" aria-label="New device token">
      <p>
        <strong>Copy this token now.</strong> It is shown only once; only its hash is stored.
      </p>
      <label for="new-token">Device token</label>
      <input
        id="new-token"
        class="mono"
        readOnly
        value={token}
        onFocus={(event) => event.currentTarget.select()}
      />
      <div class="row">
        <button type="button" onClick={copy}>
          Copy token
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
          <div class="field">
            <label for="device-name">Name (optional)</label>
            <input
              id="device-name"
              value={name}
              maxLength={200}
              onInput={(event) => setName(event.currentTarget.value)}
            />
          </div>
          <div class="field">
            <label for="device-interval">Expected interval, seconds (optional)</label>
            <input
              id="device-interval"
              type="number"
              min={1}
              inputMode="numeric"
              value={interval}
              onInput={(event) => setInterval(event.currentTarget.value)}
            />
          </div>
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
  const [pages, setPages] = useState<string[]>(['']);
  const cursor = pages[pages.length - 1];
  const [filter, setFilter] = useState('');
  const [version, setVersion] = useState(0);
  const result = useAsync(
    (signal) =>
      api(session).get<Page<Device>>('/api/devices', { limit: 50, cursor: cursor || undefined }, signal),
    [session, cursor, version],
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
        <div class="field">
          <label for="device-filter">Filter by id, name or status</label>
          <input
            id="device-filter"
            type="search"
            value={filter}
            onInput={(event) => setFilter(event.currentTarget.value)}
          />
        </div>
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
                  <div class="table-wrap">
                    <table>
                      <caption class="sr-only">Devices</caption>
                      <thead>
                        <tr>
                          <th scope="col">Device</th>
                          <th scope="col">Name</th>
                          <th scope="col">Status</th>
                          <th scope="col">Since</th>
                          <th scope="col">Registered</th>
                        </tr>
                      </thead>
                      <tbody>
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
                            <td>{formatTime(device.createdAt)}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                )}
                <div class="pager">
                  <button
                    type="button"
                    disabled={pages.length < 2}
                    onClick={() => setPages(pages.slice(0, -1))}
                  >
                    Previous page
                  </button>
                  <button
                    type="button"
                    disabled={!page.next}
                    onClick={() => page.next && setPages([...pages, page.next])}
                  >
                    Next page
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
