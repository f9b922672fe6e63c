import { RekognitionClient } from '@aws-sdk/client-rekognition';
import { timeCalls } from './call-timings';
import { clientOptions } from './client-options';

// Created once per container; only the image processor uses it, and only when LABELLER=rekognition.
export const rekognition = timeCalls(new RekognitionClient(clientOptions));
