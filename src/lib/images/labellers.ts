import { rekognition } from '../aws/rekognition';
import { config } from '../config';
import type { Labeller } from './labeller';
import { localLabeller } from './local-labeller';
import { rekognitionLabeller } from './rekognition-labeller';

/** The labeller the stage is configured with (LABELLER). */
export const labeller: Labeller =
  config.LABELLER === 'rekognition'
    ? rekognitionLabeller(rekognition, {
        maxLabels: config.LABEL_MAX,
        minConfidence: config.LABEL_MIN_CONFIDENCE,
      })
    : localLabeller;
