import { useState } from 'preact/hooks';
import type { ProvisioningKey } from '../../../src/lib/provisioning/key-types';
import { api, messageOf, type Page } from '../api';
import type { Session } from '../session';
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
import { TokenOnce } from './devices';

function CreateKeyForm({ session, onCreated }: { session: Session; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [maxDevices, setMaxDevices] = useState('10');
  const [days, setDays] = useState('7');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [key, setKey] = useState<string>();
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const created = await api(session).post<ProvisioningKey & { key: string }>('/api/provisioning-keys', {
        name: name.trim(),
        maxDevices: Number(maxDevices),
        expiresInSeconds: Math.round(Number(days) * 86_400),
      });
      setKey(created.key);
      setName('');
      onCreated();
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card" aria-labelledby="create-key-title">
      <h2 id="create-key-title">Create a provisioning key</h2>
      {key ? (
        <TokenOnce token={key} label="Provisioning key" onDone={() => setKey(undefined)} />
      ) : (
        <form class="inline-form" onSubmit={submit}>
          <Field id="key-name" label="Name" value={name} maxLength={200} required onValue={setName} />
          <Field
            id="key-max-devices"
            label="Devices it may create"
            type="number"
            min={1}
            max={100_000}
            required
            value={maxDevices}
            onValue={setMaxDevices}
          />
          <Field
            id="key-days"
            label="Valid for, days"
            type="number"
            min={1}
            max={366}
            required
            value={days}
            onValue={setDays}
          />
          <button type="submit" disabled={busy}>
            {busy ? 'Creating…' : 'Create key'}
          </button>
          {error && <Notice kind="error">{error}</Notice>}
        </form>
      )}
    </section>
  );
}

// Provisioning keys (admin): devices exchange one at POST /api/provision for their own id and token.
export function ProvisioningPage({ session }: { session: Session }) {
  const pages = useCursorPages();
  const [version, setVersion] = useState(0);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string }>();
  const result = useAsync(
    (signal) =>
      api(session).get<Page<ProvisioningKey>>(
        '/api/provisioning-keys',
        { limit: 50, cursor: pages.cursor },
        signal,
      ),
    [session, pages.cursor, version],
  );
  const revoke = async (key: ProvisioningKey) => {
    if (!window.confirm(`Revoke the provisioning key “${key.name}”? Devices can no longer use it.`)) return;
    try {
      await api(session).delete(`/api/provisioning-keys/${encodeURIComponent(key.keyId)}`);
      setMessage({ kind: 'ok', text: `Revoked ${key.keyId}.` });
      setVersion((value) => value + 1);
    } catch (failure) {
      setMessage({ kind: 'error', text: messageOf(failure) });
    }
  };
  return (
    <>
      <PageTitle>Provisioning keys</PageTitle>
      <CreateKeyForm session={session} onCreated={() => setVersion((value) => value + 1)} />
      <section class="card" aria-labelledby="keys-title">
        <h2 id="keys-title">Keys</h2>
        {message && <Notice kind={message.kind}>{message.text}</Notice>}
        <AsyncView
          result={result}
          what="provisioning keys"
          isEmpty={(page) => page.data.length === 0}
          empty="No provisioning keys yet."
        >
          {(page) => (
            <>
              <DataTable
                caption="Provisioning keys"
                columns={['Key', 'Name', 'Devices created', 'Expires', 'Status', '']}
              >
                {page.data.map((key) => (
                  <tr key={key.keyId}>
                    <td class="mono">{key.keyId}</td>
                    <td>{key.name}</td>
                    <td>
                      {key.used} of {key.maxDevices}
                    </td>
                    <td>{formatTime(key.expiresAt)}</td>
                    <td>
                      <span class={`badge ${key.status}`}>{key.status}</span>
                    </td>
                    <td>
                      {!key.revoked && (
                        <button type="button" class="secondary" onClick={() => revoke(key)}>
                          Revoke <span class="sr-only">{key.name}</span>
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </DataTable>
              <CursorPager pages={pages} next={page.next} />
            </>
          )}
        </AsyncView>
      </section>
    </>
  );
}
