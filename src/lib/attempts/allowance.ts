import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo, writtenIf } from '../aws/dynamo';

// A failure allowance per window on one DynamoDB item, however many requests run at once: a check
// first reserves one attempt with a conditional update (count < max within the window); a success gives
// its attempt back, a failure keeps it. So the count can never pass the limit, and a right answer sent
// while the window is spent is refused too, which tells a guesser nothing. Used for db_password guesses
// (per device) and provisioning keys (per source IP and per key).

export interface Allowance {
  table: string;
  key: Record<string, string>;
  /** Attribute names of the count and of the window's end (epoch seconds) on the item. */
  countAttribute: string;
  windowEndsAttribute: string;
  max: number;
  windowSeconds: number;
  /**
   * The item must exist already (a device, a key): its key attribute. Without it, the first
   * reservation creates the item, with `purgeAttribute` set to the window's end for DynamoDB's TTL.
   */
  existingKeyAttribute?: string;
  purgeAttribute?: string;
}

export interface Reservation {
  /** Attempts held in this window, this one included. */
  held: number;
  /** Epoch seconds when this window ends. */
  windowEnds: number;
}

/** No attempt left: retry after this many seconds; `missing` when the item to count on does not exist. */
export type Refusal = { refused: true; retryAfterSeconds: number } | { refused: true; missing: true };

const nowSeconds = () => Math.floor(Date.now() / 1000);

async function update(
  allowance: Allowance,
  expression: string,
  condition: string,
  values: Record<string, unknown>,
): Promise<Record<string, unknown> | undefined> {
  let attributes: Record<string, unknown> = {};
  // DynamoDB refuses names an expression does not use.
  const candidates: Record<string, string | undefined> = {
    '#count': allowance.countAttribute,
    '#ends': allowance.windowEndsAttribute,
    '#key': allowance.existingKeyAttribute,
    '#purge': allowance.purgeAttribute,
  };
  const names = Object.fromEntries(
    Object.entries(candidates).filter(
      (entry): entry is [string, string] =>
        entry[1] !== undefined && `${expression} ${condition}`.includes(entry[0]),
    ),
  );
  const applied = await writtenIf(
    dynamo
      .send(
        new UpdateCommand({
          TableName: allowance.table,
          Key: allowance.key,
          UpdateExpression: expression,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
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

/** One attempt of the allowance, or a refusal saying when the window ends. */
export async function reserveAttempt(allowance: Allowance): Promise<Reservation | Refusal> {
  const exists = allowance.existingKeyAttribute ? 'attribute_exists(#key) AND ' : '';
  const purge = allowance.purgeAttribute ? ', #purge = :ends' : '';
  // Two rounds: a window another request opened between our two updates is joined on the second.
  for (let round = 0; round < 2; round += 1) {
    const now = nowSeconds();
    const joined = await update(
      allowance,
      'SET #count = #count + :one, #ends = #ends',
      `${exists}#ends > :now AND #count < :max`,
      { ':one': 1, ':now': now, ':max': allowance.max },
    );
    if (joined)
      return {
        held: joined[allowance.countAttribute] as number,
        windowEnds: joined[allowance.windowEndsAttribute] as number,
      };
    const windowEnds = now + allowance.windowSeconds;
    const opened = await update(
      allowance,
      `SET #count = :one, #ends = :ends${purge}`,
      `${exists}(attribute_not_exists(#ends) OR #ends <= :now)`,
      { ':one': 1, ':now': now, ':ends': windowEnds },
    );
    if (opened) return { held: 1, windowEnds };
  }
  const { Item } = await dynamo.send(
    new GetCommand({
      TableName: allowance.table,
      Key: allowance.key,
      ProjectionExpression: '#ends',
      ExpressionAttributeNames: { '#ends': allowance.windowEndsAttribute },
      ConsistentRead: true,
    }),
  );
  if (!Item) return { refused: true, missing: true };
  const windowEnds = Item[allowance.windowEndsAttribute] as number | undefined;
  return { refused: true, retryAfterSeconds: Math.max(1, (windowEnds ?? 0) - nowSeconds()) };
}

export const isRefusal = (result: Reservation | Refusal): result is Refusal => 'refused' in result;

/** A success: its attempt is given back (unless its window has already ended). */
export async function releaseAttempt(allowance: Allowance, reservation: Reservation): Promise<void> {
  await update(allowance, 'SET #count = #count - :one', '#ends = :ends AND #count > :zero', {
    ':one': 1,
    ':zero': 0,
    ':ends': reservation.windowEnds,
  });
}

/**
 * Seconds until the window ends when its attempts are all spent, else undefined: a read, for checks
 * whose success should cost no write (a failure then reserves its attempt, which a spent window refuses).
 */
export async function spentFor(allowance: Allowance): Promise<number | undefined> {
  const { Item } = await dynamo.send(
    new GetCommand({
      TableName: allowance.table,
      Key: allowance.key,
      ProjectionExpression: '#count, #ends',
      ExpressionAttributeNames: {
        '#count': allowance.countAttribute,
        '#ends': allowance.windowEndsAttribute,
      },
      ConsistentRead: true,
    }),
  );
  const count = Item?.[allowance.countAttribute] as number | undefined;
  const windowEnds = Item?.[allowance.windowEndsAttribute] as number | undefined;
  const now = nowSeconds();
  if (count === undefined || windowEnds === undefined || windowEnds <= now || count < allowance.max)
    return undefined;
  return windowEnds - now;
}
