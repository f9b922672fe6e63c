// The signed-in identity lives in sessionStorage only: gone when the tab closes, never in a URL or
// localStorage, and cleared on sign-out.
export type Role = 'admin' | 'device';

export interface Session {
  token: string;
  role: Role;
  /** The device's own id (device tokens are `<deviceId>.<secret>`). */
  deviceId?: string;
}

const KEY = 'sensorcloud.session';

export function loadSession(): Session | undefined {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return undefined;
    const parsed = JSON.parse(raw) as Partial<Session>;
    if (typeof parsed.token !== 'string' || (parsed.role !== 'admin' && parsed.role !== 'device'))
      return undefined;
    return { token: parsed.token, role: parsed.role, deviceId: parsed.deviceId };
  } catch {
    return undefined;
  }
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
}

export const deviceIdOfToken = (token: string): string | undefined => {
  const id = token.split('.')[0];
  return id && /^[A-Za-z0-9_-]{3,64}$/.test(id) && token.includes('.') ? id : undefined;
};
