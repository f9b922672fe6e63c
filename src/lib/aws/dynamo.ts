import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { timeCalls } from './call-timings';
import { clientOptions } from './client-options';

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
