import { type AlertPublisher, alertPublisher } from '../alerts/alerts';
import { type Allowance, isRefusal, releaseAttempt, reserveAttempt } from '../attempts/allowance';
import { config } from '../config';
import { NotFoundError, TooManyRequestsError } from '../errors';
import { logger } from '../logger';
import { count, MetricName } from '../observability';

// At most MAX_PASSWORD_GUESSES wrong db_password values per device per window, however many requests
// run at once (the allowance mechanism of src/lib/attempts/allowance.ts, on the device item): a right
// password gives its guess back, a wrong one keeps it, and a correct password sent while the window
// is spent is refused too (429), which tells a guesser nothing.
export interface GuessReservation {
  deviceId: string;
  /** Guesses held in this window, this one included. */
  held: number;
  /** Epoch seconds when this window ends. */
  windowEnds: number;
}

const guessesOf = (deviceId: string): Allowance => ({
  table: config.DEVICES_TABLE,
  key: { deviceId },
  countAttribute: 'passwordGuesses',
  windowEndsAttribute: 'passwordGuessWindowEnds',
  max: config.MAX_PASSWORD_GUESSES,
  windowSeconds: config.PASSWORD_GUESS_WINDOW_SECONDS,
  existingKeyAttribute: 'deviceId',
});

/** One guess of the device's allowance, or TooManyRequestsError (429 + Retry-After) when spent. */
export async function reservePasswordGuess(deviceId: string): Promise<GuessReservation> {
  const result = await reserveAttempt(guessesOf(deviceId));
  if (!isRefusal(result)) return { deviceId, ...result };
  if ('missing' in result) throw new NotFoundError(`No device ${deviceId}`);
  count(MetricName.PasswordGuessesRefused);
  logger.warn('password query refused: guesses spent', { deviceId });
  throw new TooManyRequestsError(
    `Too many wrong db_password values for this device; retry after the window ends`,
    result.retryAfterSeconds,
  );
}

/** A right password: its guess is given back (unless its window has already ended). */
export async function releasePasswordGuess(reservation: GuessReservation): Promise<void> {
  await releaseAttempt(guessesOf(reservation.deviceId), reservation);
}

/** A wrong password keeps its guess; the one that spends the allowance alerts the operators. */
export async function recordWrongPassword(
  reservation: GuessReservation,
  publisher: AlertPublisher = alertPublisher(),
): Promise<void> {
  count(MetricName.PasswordMismatches);
  if (reservation.held < config.MAX_PASSWORD_GUESSES) return;
  logger.warn('db_password guesses spent', { deviceId: reservation.deviceId });
  try {
    await publisher.publish({
      type: 'device.password-guessing',
      deviceId: reservation.deviceId,
      at: new Date().toISOString(),
      guesses: config.MAX_PASSWORD_GUESSES,
      windowSeconds: config.PASSWORD_GUESS_WINDOW_SECONDS,
      refusedUntil: new Date(reservation.windowEnds * 1000).toISOString(),
    });
  } catch (error) {
    // The caller still gets its 403; the metric above carries the signal if the alert cannot.
    logger.error('password-guessing alert not published', {
      deviceId: reservation.deviceId,
      errorName: (error as Error).name,
    });
  }
}
