import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type AlertPublisher, alertPublisher } from '../alerts/alerts';
import { dynamo, writtenIf } from '../aws/dynamo';
import { config } from '../config';
import { NotFoundError, TooManyRequestsError } from '../errors';
import { logger } from '../logger';
import { count, MetricName } from '../observability';

// At most MAX_PASSWORD_GUESSES wrong db_password values per device per window, however many requests
// run at once. A password check first reserves one guess with a conditional update on the device
// item (passwordGuesses < max within the window); a right password gives its guess back, a wrong one
// keeps it. So the count can never pass the limit, and a correct password sent while the window is
// spent is refused too (429), which tells a guesser nothing.
const GUESSES = 'passwordGuesses';
const WINDOW_ENDS = 'passwordGuessWindowEnds';

export interface GuessReservation {
  deviceId: string;
  /** Guesses held in this window, this one included. */
  held: number;
  /** Epoch seconds when this window ends. */
  windowEnds: number;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

async function update(
  deviceId: string,
  expression: string,
  condition: string,
  values: Record<string, unknown>,
): Promise<Record<string, unknown> | undefined> {
  let attributes: Record<string, unknown> = {};
  const applied = await writtenIf(
    dynamo
      .send(
        new UpdateCommand({
          TableName: config.DEVICES_TABLE,
          Key: { deviceId },
          UpdateExpression: expression,
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#guesses': GUESSES, '#ends': WINDOW_ENDS },
          ExpressionAttributeValues: values,
          ReturnValues: 'UPDATED_NEW',
        }),
      )
      .then(({ Attributes }) => {
        attributes = Attributes ?? {};
      }),
  );
  return applied ? attributes : undefined;
}

/** One guess of the device's allowance, or TooManyRequestsError (429 + Retry-After) when spent. */
export async function reservePasswordGuess(deviceId: string): Promise<GuessReservation> {
  const max = config.MAX_PASSWORD_GUESSES;
  // Two rounds: a window another request opened between our two updates is joined on the second.
  for (let round = 0; round < 2; round += 1) {
    const now = nowSeconds();
    const joined = await update(
      deviceId,
      'SET #guesses = #guesses + :one, #ends = #ends',
      'attribute_exists(deviceId) AND #ends > :now AND #guesses < :max',
      { ':one': 1, ':now': now, ':max': max },
    );
    if (joined)
      return { deviceId, held: joined[GUESSES] as number, windowEnds: joined[WINDOW_ENDS] as number };
    const windowEnds = now + config.PASSWORD_GUESS_WINDOW_SECONDS;
    const opened = await update(
      deviceId,
      'SET #guesses = :one, #ends = :ends',
      'attribute_exists(deviceId) AND (attribute_not_exists(#ends) OR #ends <= :now)',
      { ':one': 1, ':now': now, ':ends': windowEnds },
    );
    if (opened) return { deviceId, held: 1, windowEnds };
  }
  const { Item } = await dynamo.send(
    new GetCommand({
      TableName: config.DEVICES_TABLE,
      Key: { deviceId },
      ProjectionExpression: '#ends',
      ExpressionAttributeNames: { '#ends': WINDOW_ENDS },
      ConsistentRead: true,
    }),
  );
  if (!Item) throw new NotFoundError(`No device ${deviceId}`);
  count(MetricName.PasswordGuessesRefused);
  logger.warn('password query refused: guesses spent', { deviceId });
  throw new TooManyRequestsError(
    `Too many wrong db_password values for this device; retry after the window ends`,
    Math.max(1, (Item[WINDOW_ENDS] as number) - nowSeconds()),
  );
}

/** A right password: its guess is given back (unless its window has already ended). */
export async function releasePasswordGuess(reservation: GuessReservation): Promise<void> {
  await update(reservation.deviceId, 'SET #guesses = #guesses - :one', '#ends = :ends AND #guesses > :zero', {
    ':one': 1,
    ':zero': 0,
    ':ends': reservation.windowEnds,
  });
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
