import { useEffect, useState } from 'preact/hooks';
import { api, messageOf } from '../api';
import type { Session } from '../session';
import type { StatsSeries } from '../stats-types';
import { AsyncView, Field, formatTime, Notice, PageTitle, useAsync } from '../ui';
import { type ChartSpec, StatsCharts } from './stats';

interface CacheSettings {
  capacityMb: number;
  policy: 'lru' | 'random';
  clearedAt?: string;
  updatedAt?: string;
}

const CACHE_CHARTS: ChartSpec[] = [
  {
    title: 'Cache requests',
    fields: [
      ['cacheHits', 'hits'],
      ['cacheMisses', 'misses'],
    ],
  },
  { title: 'Cache evictions', fields: [['cacheEvictions', 'evictions']] },
  { title: 'Cached items', fields: [['cacheItems', 'items']] },
  { title: 'Cached bytes', fields: [['cacheBytes', 'bytes']] },
];

function SettingsForm({
  session,
  settings,
  onSaved,
}: {
  session: Session;
  settings: CacheSettings;
  onSaved: () => void;
}) {
  const [capacity, setCapacity] = useState(String(settings.capacityMb));
  const [policy, setPolicy] = useState(settings.policy);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string }>();
  const [busy, setBusy] = useState(false);
  const run = async (action: () => Promise<unknown>, done: string) => {
    setBusy(true);
    setMessage(undefined);
    try {
      await action();
      setMessage({ kind: 'ok', text: done });
      onSaved();
    } catch (failure) {
      setMessage({ kind: 'error', text: messageOf(failure) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card" aria-labelledby="cache-settings-title">
      <h2 id="cache-settings-title">Settings</h2>
      <form
        class="inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          void run(
            () => api(session).put('/api/image-cache', { capacityMb: Number(capacity), policy }),
            'Saved: running containers pick the settings up within seconds.',
          );
        }}
      >
        <Field
          id="cache-capacity"
          label="Capacity (MB)"
          type="number"
          min={0}
          max={1024}
          required
          value={capacity}
          onValue={setCapacity}
        />
        <div class="field">
          <label for="cache-policy">Replacement policy</label>
          <select
            id="cache-policy"
            value={policy}
            onChange={(event) => setPolicy(event.currentTarget.value as CacheSettings['policy'])}
          >
            <option value="lru">Least recently used</option>
            <option value="random">Random</option>
          </select>
        </div>
        <button type="submit" disabled={busy}>
          Save settings
        </button>
        <button
          type="button"
          class="danger"
          disabled={busy}
          onClick={() =>
            void run(
              () => api(session).post('/api/image-cache/clear'),
              'Cleared: every container empties its cache within seconds.',
            )
          }
        >
          Clear the cache
        </button>
      </form>
      {message && <Notice kind={message.kind}>{message.text}</Notice>}
      <p class="muted">
        Last changed {formatTime(settings.updatedAt)}; last cleared {formatTime(settings.clearedAt)}.
      </p>
    </section>
  );
}

export function CachePage({ session }: { session: Session }) {
  const [version, setVersion] = useState(0);
  const settings = useAsync(
    (signal) => api(session).get<CacheSettings>('/api/image-cache', undefined, signal),
    [session, version],
  );
  const stats = useAsync(
    (signal) => api(session).get<StatsSeries<Record<string, unknown>>>('/api/stats', { minutes: 60 }, signal),
    [session, version],
  );
  // The statistics are rolled up every minute: refresh them while the page is open.
  useEffect(() => {
    const timer = setInterval(() => stats.reload(), 30_000);
    return () => clearInterval(timer);
  }, [stats.reload]);
  return (
    <>
      <PageTitle>Image cache</PageTitle>
      <p>
        Image bytes served by <code>GET /api/images/{'{key}'}/content</code> pass through an in-memory cache
        in each serving container.
      </p>
      <AsyncView result={settings} what="cache settings">
        {(current) => (
          <SettingsForm
            session={session}
            settings={current}
            onSaved={() => setVersion((value) => value + 1)}
          />
        )}
      </AsyncView>
      <section class="card" aria-labelledby="cache-stats-title">
        <h2 id="cache-stats-title">Statistics, last hour</h2>
        <AsyncView
          result={stats}
          what="cache statistics"
          isEmpty={(series) => series.data.length === 0}
          empty="No statistics yet: the rollup job runs every minute."
        >
          {(series) => <StatsCharts rows={series.data} charts={CACHE_CHARTS} />}
        </AsyncView>
      </section>
    </>
  );
}
