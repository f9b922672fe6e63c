import { render } from 'preact';
import { useState } from 'preact/hooks';
import './styles.css';
import { AuditPage } from './pages/audit';
import { CachePage } from './pages/cache';
import { DevicePage, DevicesPage } from './pages/devices';
import { ImagePage, ImagesPage } from './pages/images';
import { OverviewPage } from './pages/overview';
import { ProvisioningPage } from './pages/provisioning';
import { ReadingsPage } from './pages/readings';
import { SignInPage } from './pages/signin';
import { StatsPage } from './pages/stats';
import { navigate, onLinkClick, useLocation } from './router';
import { clearSession, loadSession, type Session } from './session';
import { Empty, PageTitle } from './ui';

interface NavItem {
  path: string;
  label: string;
  adminOnly?: boolean;
}

const NAV: NavItem[] = [
  { path: '/', label: 'Overview' },
  { path: '/devices', label: 'Devices', adminOnly: true },
  { path: '/provisioning', label: 'Provisioning', adminOnly: true },
  { path: '/readings', label: 'Readings' },
  { path: '/images', label: 'Images' },
  { path: '/cache', label: 'Image cache', adminOnly: true },
  { path: '/audit', label: 'Audit', adminOnly: true },
  { path: '/stats', label: 'Stats' },
];

function Page({ session, path }: { session: Session; path: string }) {
  const admin = session.role === 'admin';
  const segments = path.split('/').filter(Boolean).map(decodeURIComponent);
  const [section, id] = segments;
  if (section === undefined) return <OverviewPage session={session} />;
  if (section === 'readings') return <ReadingsPage session={session} />;
  if (section === 'images' && id !== undefined) return <ImagePage session={session} imageKey={id} />;
  if (section === 'images') return <ImagesPage session={session} />;
  if (section === 'stats') return <StatsPage session={session} />;
  // Admin-only pages do not exist for a device: the same answer as an unknown address.
  if (admin && section === 'devices' && id !== undefined)
    return <DevicePage session={session} deviceId={id} />;
  if (admin && section === 'devices') return <DevicesPage session={session} />;
  if (admin && section === 'provisioning') return <ProvisioningPage session={session} />;
  if (admin && section === 'audit') return <AuditPage session={session} />;
  if (admin && section === 'cache') return <CachePage session={session} />;
  return (
    <>
      <PageTitle>Page not found</PageTitle>
      <Empty>
        There is no page at this address. <a href="/">Go to the overview</a>.
      </Empty>
    </>
  );
}

function App() {
  const location = useLocation();
  const [session, setSession] = useState(loadSession);
  if (!session) {
    return (
      <main id="main" class="signin">
        <SignInPage
          onSignedIn={(signedIn) => {
            setSession(signedIn);
            if (location.path === '/signin') navigate('/', { replace: true });
          }}
        />
      </main>
    );
  }
  const signOut = () => {
    clearSession();
    setSession(undefined);
    navigate('/signin', { replace: true });
  };
  const current = (path: string) =>
    path === '/' ? location.path === '/' : location.path === path || location.path.startsWith(`${path}/`);
  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: delegates clicks of real links (keyboard works natively)
    // biome-ignore lint/a11y/useKeyWithClickEvents: links already answer Enter with a click
    <div class="shell" onClick={onLinkClick}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">sensorcloud</span>
        <nav aria-label="Main">
          <ul>
            {NAV.filter((item) => !item.adminOnly || session.role === 'admin').map((item) => (
              <li key={item.path}>
                <a href={item.path} aria-current={current(item.path) ? 'page' : undefined}>
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span>{session.role === 'admin' ? 'Administrator' : `Device ${session.deviceId ?? ''}`}</span>
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" key={location.path}>
        <Page session={session} path={location.path === '/signin' ? '/' : location.path} />
      </main>
    </div>
  );
}

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(<App />, root);
}
