// Reading payloads shaped like an RFID interrogator's (the original clients' freeform fields).

export const freeformOf = (index: number) => ({
  rssi: -40 - (index % 50),
  epc96: `e28011606000020${String(index % 1_000_000_000).padStart(9, '0')}`,
  antenna: 1 + (index % 4),
  phase: (index * 37) % 4096,
  doppler: ((index * 13) % 2001) - 1000,
  channelindex: 1 + (index % 50),
});

/** The original wire format: a list of {"data": {...}} with consecutive relative times. */
export function readingsBody(count: number, firstRelativeTime: number, password?: string): string {
  return JSON.stringify(
    Array.from({ length: count }, (_, index) => ({
      data: {
        ...(password ? { db_password: password } : {}),
        relative_time: firstRelativeTime + index,
        interrogator_time: 1_700_000_000_000_000 + firstRelativeTime + index,
        freeform: freeformOf(firstRelativeTime + index),
      },
    })),
  );
}
