import { type LatestReadingView, latestReading } from '../readings/latest';
import type { Device } from './device';
import { getDevice, publicDevice } from './devices';

/** A device as an admin sees it, with its latest reading (one GetItem; null when it has none). */
export async function deviceStatus(
  deviceId: string,
): Promise<Device & { latestReading: LatestReadingView | null }> {
  const [device, latest] = await Promise.all([getDevice(deviceId), latestReading(deviceId)]);
  return { ...publicDevice(device), latestReading: latest };
}
