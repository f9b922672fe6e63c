// The stats table: one partition per series, items keyed by the start of their interval.
//   series = "global"               | at = <interval start ms, 13 digits>   the global rollup
//   series = "device#<deviceId>"    | at = <interval start ms, 13 digits>   a device's rollup
//   series = "images#<minute ms>"   | at = <object key>#<S3 sequencer>      one image outcome
//   series = "cache#<minute ms>"    | at = <container id>                   a container's image-cache counters
//   series = "settings"             | at = "image-cache"                    the image cache's settings (no TTL)
// Every item but the settings expires (TTL `expiresAt`) after STATS_RETENTION_DAYS.
export const GLOBAL_SERIES = 'global';
export const deviceSeries = (deviceId: string) => `device#${deviceId}`;
export const imageMinuteSeries = (minuteMs: number) => `images#${timeKey(minuteMs)}`;
export const cacheMinuteSeries = (minuteMs: number) => `cache#${timeKey(minuteMs)}`;
export const SETTINGS_SERIES = 'settings';
export const timeKey = (ms: number) => String(ms).padStart(13, '0');

export const retentionExpiry = (fromMs: number, days: number) => Math.floor(fromMs / 1000) + days * 86_400;
