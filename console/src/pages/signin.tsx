import { useState } from 'preact/hooks';
import { ApiError, messageOf, request } from '../api';
import { deviceIdOfToken, type Session, saveSession } from '../session';
import { PageTitle } from '../ui';

/**
 * Which role a token has. Device tokens name their device (`<deviceId>.<secret>`); admin tokens have
 * no '.'. Each is checked with a route its role may call, so no sign-in provokes a 403.
 */
async function identify(token: string): Promise<Session> {
  const deviceId = deviceIdOfToken(token);
  try {
    if (deviceId) {
      await request(token, 'GET', '/api/stats', { query: { minutes: 1 } });
      return { token, role: 'device', deviceId };
    }
    await request(token, 'GET', '/api/devices', { query: { limit: 1 } });
    return { token, role: 'admin' };
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403))
      throw new Error('This token was not accepted: check it and try again.');
    throw error;
  }
}

export function SignInPage({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const session = await identify(token.trim());
      saveSession(session);
      onSignedIn(session);
    } catch (failure) {
      setError(messageOf(failure));
      setBusy(false);
    }
  };
  return (
    <section class="card signin-card">
      <PageTitle>Sign in to sensorcloud</PageTitle>
      <p>Use the administrator token or a device token. It is kept for this browser tab only.</p>
      <form onSubmit={submit}>
        <label for="token">Token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          spellcheck={false}
          required
          value={token}
          onInput={(event) => setToken(event.currentTarget.value)}
          aria-describedby={error ? 'signin-error' : undefined}
        />
        <button type="submit" disabled={busy || token.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {error && (
          <p id="signin-error" class="notice error" role="alert">
            {error}
          </p>
        )}
      </form>
    </section>
  );
}
