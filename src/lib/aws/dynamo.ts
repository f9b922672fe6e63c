import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { UnavailableError } from '../errors';
import { timeCalls } from './call-timings';
import { clientOptions } from './client-options';
import { defaultRetryPolicy, retryRemaining } from './retry';

// Created once per container. Endpoint overrides come from AWS_ENDPOINT_URL_DYNAMODB offline.
export const dynamoClient = timeCalls(new DynamoDBClient(clientOptions));
export const dynamo = DynamoDBDocumentClient.from(dynamoClient, {
  marshallOptions: { removeUndefinedValues: true },
});

const isConditionFailure = (error: unknown) => {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'ConditionalCheckFailedException' || name === 'TransactionCanceledException';
};

/**
 * Awaits a conditional write (or transaction): true when it was applied, false when its condition
 * failed (a cancelled transaction counts as that); any other error is thrown.
 */
export async function writtenIf(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** Cancelled only because another transaction touched one of its items at the same moment. */
const isTransactionConflict = (error: unknown) => {
  const { name, CancellationReasons } = error as {
    name?: unknown;
    CancellationReasons?: Array<{ Code?: string }>;
  };
  return (
    name === 'TransactionCanceledException' &&
    (CancellationReasons ?? []).some((reason) => reason.Code === 'TransactionConflict') &&
    !(CancellationReasons ?? []).some((reason) => reason.Code === 'ConditionalCheckFailed')
  );
};

/**
 * A conditional TransactWriteItems: true when applied, false when a condition failed. A cancellation
 * caused only by a concurrent transaction on the same items (say, a shared counter) is not a failed
 * condition: it is tried again; still conflicting after the retries, it is a retryable 503.
 */
export async function transactWrittenIf(input: TransactWriteCommandInput): Promise<boolean> {
  let applied = false;
  const left = await retryRemaining(
    [input],
    async (pending) => {
      try {
        await dynamo.send(new TransactWriteCommand(input));
        applied = true;
        return [];
      } catch (error) {
        if (isTransactionConflict(error)) return pending;
        if (isConditionFailure(error)) return [];
        throw error;
      }
    },
    defaultRetryPolicy,
  );
  if (left.length > 0) throw new UnavailableError('Another change is being made at the same moment; retry');
  return applied;
}
