import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { cloudwatch } from '../aws/cloudwatch';
import { sqs } from '../aws/sqs';
import { config } from '../config';

export interface QueueDepth {
  /** Waiting to be received. */
  visible: number;
  /** Received and not yet deleted (being processed, or waiting out a failed attempt). */
  inFlight: number;
}

/** Message counts of a queue. Offline, the emulator's ApproximateNumberOfMessages includes in-flight ones. */
export async function queueDepth(queueUrl: string): Promise<QueueDepth> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  const listed = Number(Attributes.ApproximateNumberOfMessages ?? 0);
  const inFlight = Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
  const emulated = config.AWS_ENDPOINT_URL_SQS !== undefined;
  return { visible: emulated ? Math.max(0, listed - inFlight) : listed, inFlight };
}

export const queueName = (queueUrl: string) => queueUrl.split('/').pop() ?? queueUrl;

/**
 * Age in seconds of the oldest message, or null when unknown. SQS does not offer it as a queue
 * attribute, only as its CloudWatch metric (1-minute resolution); offline there is no source at all.
 */
export async function oldestMessageAgeSeconds(queueUrl: string, at: Date): Promise<number | null> {
  if (config.QUEUE_AGE_SOURCE === 'none') return null;
  const { MetricDataResults = [] } = await cloudwatch.send(
    new GetMetricDataCommand({
      StartTime: new Date(at.getTime() - 5 * 60_000),
      EndTime: at,
      ScanBy: 'TimestampDescending',
      MetricDataQueries: [
        {
          Id: 'age',
          MetricStat: {
            Metric: {
              Namespace: 'AWS/SQS',
              MetricName: 'ApproximateAgeOfOldestMessage',
              Dimensions: [{ Name: 'QueueName', Value: queueName(queueUrl) }],
            },
            Period: 60,
            Stat: 'Maximum',
          },
        },
      ],
    }),
  );
  const latest = MetricDataResults[0]?.Values?.[0];
  return latest === undefined ? null : latest;
}
