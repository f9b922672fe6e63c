import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { tracer } from '../observability';

// Created once per container. Endpoint overrides come from AWS_ENDPOINT_URL_DYNAMODB offline.
export const dynamoClient = tracer.captureAWSv3Client(new DynamoDBClient({ maxAttempts: 3 }));
export const dynamo = DynamoDBDocumentClient.from(dynamoClient, {
  marshallOptions: { removeUndefinedValues: true },
});
