import { DetectLabelsCommand, type RekognitionClient } from '@aws-sdk/client-rekognition';
import type { Labeller } from './labeller';
import { mergeLabels } from './labeller';

/**
 * Rekognition DetectLabels on the largest JPEG thumbnail (sent as bytes: always JPEG, already
 * auto-oriented, far below the 5 MB limit, and no S3 permission needed by Rekognition).
 * Errors propagate: the event is retried rather than the image stored without labels.
 */
export function rekognitionLabeller(
  client: RekognitionClient,
  options: { maxLabels: number; minConfidence: number },
): Labeller {
  return {
    name: 'rekognition',
    detect: async (input) => {
      const response = await client.send(
        new DetectLabelsCommand({
          Image: { Bytes: input.jpeg },
          MaxLabels: options.maxLabels,
          MinConfidence: options.minConfidence,
        }),
      );
      const labels = (response.Labels ?? []).flatMap((label) =>
        label.Name && label.Confidence !== undefined && label.Confidence >= options.minConfidence
          ? [{ name: label.Name, confidence: label.Confidence }]
          : [],
      );
      return mergeLabels(labels).slice(0, options.maxLabels);
    },
  };
}
